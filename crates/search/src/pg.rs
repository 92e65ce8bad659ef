//! PostgreSQL full-text search over our own terms: every document's terms become a tsvector
//! literal (positions kept, title weighted `A`), every query a tsquery literal, so PostgreSQL
//! matches exactly what the embedded index matches — no text-search configuration, stop list or
//! extension of PostgreSQL is involved. GIN indexes serve any number of app nodes. Relevance is
//! ranked over the newest [`crate::RANK_WINDOW`] matches and facet counts stop at
//! [`crate::FACET_CAP`], so very common words stay fast.

use std::collections::{BTreeMap, HashMap};

use anliegen_core::search::{DocKind, TextTerm, Token, WordMatch};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::{
    Cond, Doc, Engine, FACET_CAP, Found, PHRASE_WINDOW, PROJECTION, Plan, RANK_WINDOW, Result,
    Sort, StoredHit,
};

/// The highest position PostgreSQL keeps.
const MAX_POS: u32 = 16_383;

/// PostgreSQL search.
pub struct PgEngine {
    pool: sqlx::PgPool,
    /// Two connections of its own for applying documents, so a burst of searches on the
    /// shared pool never holds the index back.
    apply_pool: sqlx::PgPool,
    /// Connections for counting facets beside a search's page (one per running search).
    count_pool: sqlx::PgPool,
    /// The share of cases each common lexeme is in (PostgreSQL's statistics), and when read.
    common: tokio::sync::Mutex<Option<(std::time::Instant, HashMap<String, f32>)>>,
}

/// Documents checked one by one, newest first, for a word most documents hold.
const WALK_WINDOW: i64 = 4 * RANK_WINDOW;

/// The share of cases a query's words must be estimated in before the newest documents are
/// checked one by one instead of visiting every match.
const DENSE_SHARE: f32 = 0.5;

impl PgEngine {
    /// Search over `pool` (the store's).
    pub fn new(pool: sqlx::PgPool) -> Self {
        let apply_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with((*pool.connect_options()).clone());
        let count_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(crate::CONCURRENT_SEARCHES as u32)
            .connect_lazy_with((*pool.connect_options()).clone());
        Self {
            pool,
            apply_pool,
            count_pool,
            common: tokio::sync::Mutex::new(None),
        }
    }
}

fn quote(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('\'');
    for c in term.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A tsvector literal of `parts` (tokens, position offset, weighted `A`) and of `bare`
/// lexemes without positions (filters).
pub fn tsvector(parts: &[(&[Token], u32, bool)], bare: &[String]) -> String {
    let mut lexemes: BTreeMap<&str, Vec<(u32, bool)>> = BTreeMap::new();
    for b in bare {
        if !b.is_empty() && b.len() <= 2000 {
            lexemes.entry(b.as_str()).or_default();
        }
    }
    for (tokens, offset, a) in parts {
        for t in *tokens {
            if t.term.is_empty() || t.term.len() > 2000 {
                continue;
            }
            let pos = (t.pos + offset + 1).min(MAX_POS);
            let v = lexemes.entry(t.term.as_str()).or_default();
            if v.len() < 256 {
                v.push((pos, *a));
            }
        }
    }
    let mut out = String::new();
    for (term, mut ps) in lexemes {
        ps.sort_unstable();
        ps.dedup_by_key(|p| p.0);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&quote(term));
        if !ps.is_empty() {
            out.push(':');
        }
        for (i, (p, a)) in ps.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&p.to_string());
            if *a {
                out.push('A');
            }
        }
    }
    out
}

fn max_pos(tokens: &[Token]) -> u32 {
    tokens
        .iter()
        .map(|t| t.pos)
        .max()
        .map(|p| p + 1)
        .unwrap_or(0)
}

fn alts(w: &WordMatch) -> String {
    let q: Vec<String> = w.terms.iter().map(|t| quote(t)).collect();
    if q.len() == 1 {
        q.join("")
    } else {
        format!("( {} )", q.join(" | "))
    }
}

/// The tsquery literal of one text clause.
pub fn tsquery(t: &TextTerm) -> String {
    match t {
        TextTerm::Word(w) => alts(w),
        TextTerm::Prefix(p) => format!("{}:*", quote(p)),
        TextTerm::Phrase(ws) => {
            let mut out = String::from("( ");
            let mut prev = None;
            for (o, w) in ws {
                if let Some(p) = prev {
                    let d = o - p;
                    if d == 1 {
                        out.push_str(" <-> ");
                    } else {
                        out.push_str(&format!(" <{d}> "));
                    }
                }
                out.push_str(&alts(w));
                prev = Some(*o);
            }
            out.push_str(" )");
            out
        }
    }
}

fn push_cond(qb: &mut QueryBuilder<Postgres>, c: &Cond) {
    match c {
        Cond::Kind(k) => {
            qb.push("kind = ").push_bind(k.as_str().to_owned());
        }
        Cond::Status(s) => {
            qb.push("status = ").push_bind(s.as_str().to_owned());
        }
        Cond::Team(None) => {
            qb.push("(team_id IS NULL AND kind = 'case')");
        }
        Cond::Team(Some(t)) => {
            qb.push("team_id = ")
                .push_bind(t.to_string())
                .push("::uuid");
        }
        // In the tsquery (see `filter_query`); `push_where` never asks for these.
        Cond::Tag(_) | Cond::Channel(_) | Cond::Priority(_) | Cond::Sender(_) => {
            qb.push("TRUE");
        }
        Cond::Assignee(None) => {
            qb.push("(assignee_id IS NULL AND kind = 'case')");
        }
        Cond::Assignee(Some(a)) => {
            qb.push("assignee_id = ")
                .push_bind(a.to_string())
                .push("::uuid");
        }
        Cond::Created(lo, hi) | Cond::Updated(lo, hi) => {
            let col = if matches!(c, Cond::Created(..)) {
                "created_us"
            } else {
                "updated_us"
            };
            qb.push("(TRUE");
            if let Some(lo) = lo {
                qb.push(format!(" AND {col} >= ")).push_bind(*lo);
            }
            if let Some(hi) = hi {
                qb.push(format!(" AND {col} < ")).push_bind(*hi);
            }
            qb.push(")");
        }
        Cond::HasAttachment => {
            qb.push("has_attachment");
        }
        Cond::HasNote => {
            qb.push("has_note");
        }
        Cond::Customer(c) => {
            qb.push("customer_id = ")
                .push_bind(c.to_string())
                .push("::uuid");
        }
        Cond::Visible { teams, me } => {
            qb.push("(kind = 'customer' OR team_id IS NULL OR team_id = ANY(")
                .push_bind(teams.iter().map(|t| t.to_string()).collect::<Vec<_>>())
                .push("::uuid[]) OR assignee_id = ")
                .push_bind(me.to_string())
                .push("::uuid)");
        }
    }
}

/// Filters kept as lexemes in the tsvectors rather than as columns: they keep the rows narrow
/// (every match of a common word is a row visit) and let the GIN index intersect them with the
/// words. `§` never occurs in a term of text, so they meet nothing a person typed.
const FILTER_MARK: &str = "§";

/// The filter lexemes of a document.
fn filter_lexemes(d: &Doc) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(d.tags.iter().map(|t| format!("{FILTER_MARK}tag:{t}")));
    out.extend(
        d.channels
            .iter()
            .map(|c| format!("{FILTER_MARK}channel:{c}")),
    );
    out.extend(d.senders.iter().map(|k| format!("{FILTER_MARK}from:{k}")));
    if let Some(p) = &d.priority {
        out.push(format!("{FILTER_MARK}priority:{p}"));
    }
    out
}

/// The tsquery of a filter kept as lexemes.
fn filter_query(c: &Cond) -> Option<String> {
    Some(match c {
        Cond::Tag(t) => quote(&format!("{FILTER_MARK}tag:{t}")),
        Cond::Channel(ch) => quote(&format!("{FILTER_MARK}channel:{ch}")),
        Cond::Priority(p) => quote(&format!("{FILTER_MARK}priority:{p}")),
        Cond::Sender(keys) if keys.is_empty() => quote(&format!("{FILTER_MARK}from:")),
        Cond::Sender(keys) => format!(
            "( {} )",
            keys.iter()
                .map(|k| quote(&format!("{FILTER_MARK}from:{k}")))
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        _ => return None,
    })
}

/// Whether a text clause needs word positions (a phrase): PostgreSQL then checks each
/// candidate's tsvector instead of answering from the GIN index alone.
fn positional(t: &TextTerm) -> bool {
    matches!(t, TextTerm::Phrase(ws) if ws.len() > 1)
}

/// The tsquery of a plan's text: every clause, and none of the excluded ones. With `loose`,
/// phrases count as their words (any order, anywhere) and excluded phrases are left out, so the
/// GIN index answers alone; the exact query is then checked over the newest of those.
fn text_query(plan: &Plan, loose: bool) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for t in &plan.text {
        match t {
            TextTerm::Phrase(ws) if loose && positional(t) => {
                parts.extend(ws.iter().map(|(_, w)| alts(w)));
            }
            t => parts.push(tsquery(t)),
        }
    }
    parts.extend(plan.must.iter().filter_map(filter_query));
    if parts.is_empty() {
        return None;
    }
    for t in &plan.not_text {
        if !(loose && positional(t)) {
            parts.push(format!("!( {} )", tsquery(t)));
        }
    }
    for q in plan.not.iter().filter_map(filter_query) {
        parts.push(format!("!{q}"));
    }
    Some(parts.join(" & "))
}

/// The tsquery that ranks: the words alone.
fn rank_query(plan: &Plan) -> Option<String> {
    if plan.text.is_empty() {
        return None;
    }
    Some(
        plan.text
            .iter()
            .map(tsquery)
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

/// Appends ` WHERE …` for a plan, matching the text with `text` (a tsquery literal).
fn push_where(qb: &mut QueryBuilder<Postgres>, plan: &Plan, tsv: &str, text: Option<&str>) {
    qb.push(" WHERE TRUE");
    match text {
        Some(q) => {
            qb.push(format!(" AND {tsv} @@ "))
                .push_bind(q.to_owned())
                .push("::tsquery");
        }
        // Only exclusions: the excluded documents come from the index, not from reading
        // every document's tsvector.
        None => {
            let excluded = plan
                .not_text
                .iter()
                .map(tsquery)
                .chain(plan.not.iter().filter_map(filter_query));
            for q in excluded {
                qb.push(format!(
                    " AND id NOT IN (SELECT id FROM search_docs WHERE {tsv} @@ "
                ))
                .push_bind(q)
                .push("::tsquery)");
            }
        }
    }
    for c in plan.must.iter().filter(|c| filter_query(c).is_none()) {
        qb.push(" AND ");
        push_cond(qb, c);
    }
    // Only cases have these: the other kinds' partitions are not read.
    if plan.must.iter().any(|c| {
        matches!(
            c,
            Cond::Status(_)
                | Cond::Team(_)
                | Cond::Tag(_)
                | Cond::Channel(_)
                | Cond::Priority(_)
                | Cond::Assignee(_)
                | Cond::HasAttachment
        )
    }) {
        qb.push(" AND kind = 'case'");
    }
    for c in plan.not.iter().filter(|c| filter_query(c).is_none()) {
        qb.push(" AND NOT COALESCE(");
        push_cond(qb, c);
        qb.push(", FALSE)");
    }
}

/// A match read for the phrase path.
struct Candidate {
    id: String,
    updated: i64,
    status: Option<String>,
    team: Option<String>,
    rank: f32,
}

/// Settings for a search's transaction. With words or filter lexemes, matches come from the
/// GIN index: otherwise a common word (or a LIMIT) leads the planner to a sequential scan that
/// reads every document's tsvector, ten times slower, because the planner does not count the
/// cost of reading values kept out of line. A search never waits long for a lock: its page and
/// its facets run on two connections, and a lock queued between them must end in an error,
/// not in two waits for each other.
async fn settings(conn: &mut sqlx::PgConnection, indexed: bool) -> Result<()> {
    sqlx::query(
        "SELECT set_config('enable_seqscan', $1, true), set_config('lock_timeout', '5s', true), \
         set_config('statement_timeout', '30s', true)",
    )
    .bind(if indexed { "off" } else { "on" })
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts by status and team, as the facets show them.
fn facet_counts(
    rows: impl IntoIterator<Item = (Option<String>, Option<String>, u64)>,
    found: &mut Found,
) -> u64 {
    let mut by_status = HashMap::new();
    let mut by_team = HashMap::new();
    let mut total = 0u64;
    for (status, team, n) in rows {
        total += n;
        let Some(status) = status.and_then(|s| anliegen_core::CaseStatus::parse(&s).ok()) else {
            continue;
        };
        *by_status.entry(status).or_insert(0u64) += n;
        *by_team
            .entry(team.and_then(|t| uuid::Uuid::parse_str(&t).ok()))
            .or_insert(0u64) += n;
    }
    found.by_status = crate::sorted_counts(by_status);
    found.by_team = crate::sorted_counts(by_team);
    total
}

impl PgEngine {
    /// The page of `(id, score)` for a plan whose text (`text`, its [`text_query`]) the GIN
    /// index answers alone.
    async fn search_indexed(
        &self,
        conn: &mut sqlx::PgConnection,
        plan: &Plan,
        tsv: &str,
        text: Option<&str>,
    ) -> Result<Vec<(String, f32)>> {
        // Matches found through the index (words, filter lexemes) are sorted afterwards;
        // without them, walking the date index and filtering is the fast way to the newest.
        let indexed = text.is_some();
        let rank = rank_query(plan);
        let ranked = plan.sort == Sort::Relevance && rank.is_some();
        if let Some(q) = text
            && plan.sort != Sort::Oldest
            && self.share(plan).await >= DENSE_SHARE
        {
            let need = if ranked {
                RANK_WINDOW
            } else {
                (plan.offset + plan.limit) as i64
            };
            if let Some(page) = Self::newest_walk(conn, plan, tsv, q, rank.as_deref(), need).await?
            {
                return Ok(page);
            }
        }
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("");
        if ranked {
            // The tsvector goes through the sort as a pointer to its out-of-line value; only
            // the window's are read, by ts_rank.
            qb.push(format!(
                "WITH m AS (SELECT id, updated_us, {tsv} AS tsv FROM search_docs"
            ));
            push_where(&mut qb, plan, tsv, text);
            // The newest matches come from the GIN index, sorted afterwards: `+ 0` keeps the
            // planner from walking the date index and reading every tsvector on the way.
            qb.push(format!(
                " ORDER BY updated_us + 0 DESC LIMIT {RANK_WINDOW}) "
            ));
            qb.push("SELECT id::text, ts_rank(tsv, ")
                .push_bind(rank.unwrap_or_default())
                .push("::tsquery)::real AS r FROM m ORDER BY r DESC, updated_us DESC");
        } else {
            qb.push("SELECT id::text, 0::real AS r FROM search_docs");
            push_where(&mut qb, plan, tsv, text);
            qb.push(match (plan.sort, indexed) {
                (Sort::Oldest, true) => " ORDER BY updated_us + 0 ASC",
                (Sort::Oldest, false) => " ORDER BY updated_us ASC",
                (_, true) => " ORDER BY updated_us + 0 DESC",
                (_, false) => " ORDER BY updated_us DESC",
            });
        }
        qb.push(" LIMIT ")
            .push_bind(plan.limit as i64)
            .push(" OFFSET ")
            .push_bind(plan.offset as i64);
        let rows = qb.build().fetch_all(&mut *conn).await?;
        let page: Vec<(String, f32)> = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<f32, _>(1)?)))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
        Ok(page)
    }

    /// For a word most documents hold: the newest [`WALK_WINDOW`] documents, checked one by one
    /// (about 9 µs each), hold the newest `need` matches, which is far cheaper than visiting
    /// every match the GIN index returns. `None` when the window held fewer (the caller then
    /// asks the index).
    async fn newest_walk(
        conn: &mut sqlx::PgConnection,
        plan: &Plan,
        tsv: &str,
        q: &str,
        rank: Option<&str>,
        need: i64,
    ) -> Result<Option<Vec<(String, f32)>>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "WITH m AS (SELECT id, updated_us, {tsv} AS tsv FROM \
             (SELECT * FROM search_docs ORDER BY updated_us DESC LIMIT {WALK_WINDOW}) d"
        ));
        push_where(&mut qb, plan, tsv, Some(q));
        qb.push(" ORDER BY updated_us DESC LIMIT ")
            .push_bind(need)
            .push(") SELECT id::text, ");
        match rank {
            Some(r) => {
                qb.push("ts_rank(tsv, ")
                    .push_bind(r.to_owned())
                    .push("::tsquery)::real AS r");
            }
            None => {
                qb.push("0::real AS r");
            }
        }
        qb.push(", (SELECT count(*) FROM m) AS n FROM m ORDER BY r DESC, updated_us DESC LIMIT ")
            .push_bind(plan.limit as i64)
            .push(" OFFSET ")
            .push_bind(plan.offset as i64);
        let rows = qb.build().fetch_all(&mut *conn).await?;
        let found = match rows.first() {
            Some(r) => r.try_get::<i64, _>(2)?,
            None => 0,
        };
        if found < need {
            return Ok(None);
        }
        let page = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<f32, _>(1)?)))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
        Ok(Some(page))
    }

    /// The share of cases a plan's words match, from PostgreSQL's own statistics of the
    /// lexemes (its most common elements, refreshed every ten minutes); 0 when unknown.
    async fn share(&self, plan: &Plan) -> f32 {
        if plan.text.is_empty() || !plan.not_text.is_empty() {
            return 0.0;
        }
        let mut cached = self.common.lock().await;
        let stale = cached
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() > std::time::Duration::from_secs(600));
        if stale {
            let rows: Vec<(Vec<String>, Vec<f32>)> = sqlx::query_as(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats \
                 WHERE schemaname = current_schema() AND tablename = 'search_docs_case' \
                 AND attname = 'agent_tsv' AND most_common_elems IS NOT NULL",
            )
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default();
            let mut map = HashMap::new();
            for (elems, freqs) in rows {
                for (e, f) in elems.into_iter().zip(freqs) {
                    map.insert(e, f);
                }
            }
            *cached = Some((std::time::Instant::now(), map));
        }
        let Some((_, freq)) = cached.as_ref() else {
            return 0.0;
        };
        let mut share = 1.0f32;
        for t in &plan.text {
            let s = match t {
                TextTerm::Word(w) => w
                    .terms
                    .iter()
                    .map(|t| freq.get(t).copied().unwrap_or(0.0))
                    .sum::<f32>()
                    .min(1.0),
                _ => 0.0,
            };
            share *= s;
        }
        share
    }

    /// Counts by status and team for a plan the GIN index answers alone, on a connection of
    /// its own (so it runs beside the page's query), stopping at [`FACET_CAP`].
    async fn facets_indexed(
        &self,
        plan: &Plan,
        tsv: &str,
        text: Option<&str>,
        found: &mut Found,
    ) -> Result<()> {
        let mut tx = self.count_pool.begin().await?;
        settings(&mut tx, text.is_some()).await?;
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT status, team_id::text, count(*) FROM (SELECT status, team_id FROM search_docs",
        );
        push_where(&mut qb, plan, tsv, text);
        qb.push(format!(" LIMIT {}) s GROUP BY 1, 2", FACET_CAP + 1));
        let rows = qb.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let counts = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>(0)?,
                    r.try_get::<Option<String>, _>(1)?,
                    r.try_get::<i64, _>(2)?.max(0) as u64,
                ))
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        let total = facet_counts(counts, found);
        found.capped = total > FACET_CAP;
        found.total = total.min(FACET_CAP);
        Ok(())
    }

    /// The page for a plan with phrases: the GIN index finds the documents with all the words,
    /// and the newest [`PHRASE_WINDOW`] of them are checked for the phrases (their tsvectors
    /// read); when there were more candidates, the counts say "at least" (`capped`).
    async fn search_phrases(
        conn: &mut sqlx::PgConnection,
        plan: &Plan,
        tsv: &str,
        found: &mut Found,
    ) -> Result<Vec<(String, f32)>> {
        let exact = text_query(plan, false).unwrap_or_default();
        let loose = text_query(plan, true);
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT c.id::text, c.updated_us, c.status, c.team_id::text, c.n, ts_rank(c.tsv, ",
        );
        // The window function keeps the phrase check outside the window: only the newest
        // candidates' tsvectors are read.
        qb.push_bind(rank_query(plan).unwrap_or_default())
            .push(format!(
                "::tsquery)::real FROM (SELECT w.*, count(*) OVER () AS n FROM \
             (SELECT id, updated_us, status, team_id, {tsv} AS tsv FROM search_docs"
            ));
        push_where(&mut qb, plan, tsv, loose.as_deref());
        qb.push(format!(
            " ORDER BY updated_us + 0 DESC LIMIT {PHRASE_WINDOW}) w) c WHERE c.tsv @@ "
        ));
        qb.push_bind(exact).push("::tsquery");
        let rows = qb.build().fetch_all(&mut *conn).await?;
        let mut candidates = 0i64;
        let mut hits = Vec::with_capacity(rows.len());
        for r in &rows {
            candidates = candidates.max(r.try_get::<i64, _>(4)?);
            hits.push(Candidate {
                id: r.try_get(0)?,
                updated: r.try_get(1)?,
                status: r.try_get(2)?,
                team: r.try_get(3)?,
                rank: r.try_get(5)?,
            });
        }
        match plan.sort {
            Sort::Relevance => {
                hits.sort_by(|a, b| b.rank.total_cmp(&a.rank).then(b.updated.cmp(&a.updated)))
            }
            Sort::Newest => hits.sort_by_key(|h| std::cmp::Reverse(h.updated)),
            Sort::Oldest => hits.sort_by_key(|h| h.updated),
        }
        let window_full = candidates >= PHRASE_WINDOW;
        if plan.facets {
            let total = facet_counts(
                hits.iter()
                    .map(|h| (h.status.clone(), h.team.clone(), 1u64)),
                found,
            );
            found.total = total;
        } else {
            found.total = hits.len() as u64;
        }
        found.capped = window_full;
        let page = hits
            .into_iter()
            .skip(plan.offset)
            .take(plan.limit)
            .map(|h| {
                let score = if plan.sort == Sort::Relevance {
                    h.rank
                } else {
                    0.0
                };
                (h.id, score)
            })
            .collect();
        Ok(page)
    }
}

#[async_trait::async_trait]
impl Engine for PgEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn apply(&self, docs: Vec<Doc>, deletes: Vec<uuid::Uuid>, upto: i64) -> Result<()> {
        let mut tx = self.apply_pool.begin().await?;
        // One runner at a time per node set: the checkpoint row is the lock.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('projection:search'))")
            .execute(&mut *tx)
            .await?;
        for chunk in docs.chunks(100) {
            let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO search_docs (id, kind, customer_id, team_id, assignee_id, status, has_attachment, has_note, created_us, updated_us, public_tsv, agent_tsv) ",
            );
            qb.push_values(chunk, |mut b, d| {
                let pub_off = max_pos(&d.title_terms) + 8;
                let notes_off = pub_off + max_pos(&d.public_terms) + 8;
                let filters = filter_lexemes(d);
                let public = tsvector(
                    &[(&d.title_terms, 0, true), (&d.public_terms, pub_off, false)],
                    &filters,
                );
                let agent = tsvector(
                    &[
                        (&d.title_terms, 0, true),
                        (&d.public_terms, pub_off, false),
                        (&d.notes_terms, notes_off, false),
                    ],
                    &filters,
                );
                b.push_bind(d.id.to_string())
                    .push_unseparated("::uuid")
                    .push_bind(d.kind.as_str())
                    .push_bind(d.customer.map(|u| u.to_string()))
                    .push_unseparated("::uuid")
                    .push_bind(d.team.map(|u| u.to_string()))
                    .push_unseparated("::uuid")
                    .push_bind(d.assignee.map(|u| u.to_string()))
                    .push_unseparated("::uuid")
                    .push_bind(d.status.map(|s| s.as_str().to_owned()))
                    .push_bind(d.has_attachment)
                    .push_bind(d.has_note)
                    .push_bind(d.created)
                    .push_bind(d.updated)
                    .push_bind(public)
                    .push_unseparated("::tsvector")
                    .push_bind(agent)
                    .push_unseparated("::tsvector");
            });
            qb.push(
                " ON CONFLICT (id, kind) DO UPDATE SET customer_id = excluded.customer_id, team_id = excluded.team_id, \
                 assignee_id = excluded.assignee_id, status = excluded.status, has_attachment = excluded.has_attachment, \
                 has_note = excluded.has_note, created_us = excluded.created_us, updated_us = excluded.updated_us, \
                 public_tsv = excluded.public_tsv, agent_tsv = excluded.agent_tsv",
            );
            qb.build().execute(&mut *tx).await?;
            let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO search_texts (id, reference, title, public_text, notes_text) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.id.to_string())
                    .push_unseparated("::uuid")
                    .push_bind(d.reference.clone())
                    .push_bind(d.title.replace('\0', ""))
                    .push_bind(d.public_text.replace('\0', ""))
                    .push_bind(d.notes_text.replace('\0', ""));
            });
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET reference = excluded.reference, title = excluded.title, \
                 public_text = excluded.public_text, notes_text = excluded.notes_text",
            );
            qb.build().execute(&mut *tx).await?;
        }
        if !deletes.is_empty() {
            let ids: Vec<String> = deletes.iter().map(|d| d.to_string()).collect();
            sqlx::query("DELETE FROM search_docs WHERE id = ANY($1::uuid[])")
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM search_texts WHERE id = ANY($1::uuid[])")
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
        }
        if upto > 0 {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, seq, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET seq = GREATEST(projection_checkpoints.seq, excluded.seq), updated_at = excluded.updated_at",
            )
            .bind(PROJECTION)
            .bind(upto)
            .bind(jiff::Timestamp::now().as_microsecond())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn checkpoint(&self) -> Result<i64> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM projection_checkpoints WHERE name = $1")
                .bind(PROJECTION)
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.unwrap_or(0))
    }

    async fn reset(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('projection:search'))")
            .execute(&mut *tx)
            .await?;
        // DELETE, not TRUNCATE: TRUNCATE's exclusive lock would queue between the two
        // connections of a running search (its page holds a share lock while its facets ask
        // for one) and neither could go on.
        sqlx::query("DELETE FROM search_docs")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM search_texts")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, seq, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (name) DO UPDATE SET seq = 0, updated_at = excluded.updated_at",
        )
        .bind(PROJECTION)
        .bind(jiff::Timestamp::now().as_microsecond())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search(&self, plan: &Plan) -> Result<Found> {
        let tsv = if plan.notes {
            "agent_tsv"
        } else {
            "public_tsv"
        };
        let mut found = Found::default();
        let text = text_query(plan, false);
        let mut tx = self.pool.begin().await?;
        settings(&mut tx, text.is_some()).await?;
        let with_phrases =
            !plan.text.is_empty() && plan.text.iter().chain(&plan.not_text).any(positional);
        let page = if with_phrases {
            Self::search_phrases(&mut tx, plan, tsv, &mut found).await?
        } else if plan.facets {
            let (page, ()) = tokio::try_join!(
                self.search_indexed(&mut tx, plan, tsv, text.as_deref()),
                self.facets_indexed(plan, tsv, text.as_deref(), &mut found)
            )?;
            page
        } else {
            let page = self
                .search_indexed(&mut tx, plan, tsv, text.as_deref())
                .await?;
            found.total = page.len() as u64 + plan.offset as u64;
            page
        };
        let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
        let rows = sqlx::query(
            "SELECT d.id::text AS id, d.kind, t.reference, t.title, d.status, d.team_id::text AS team_id, d.updated_us, \
             t.public_text, t.notes_text FROM search_docs d JOIN search_texts t ON t.id = d.id WHERE d.id = ANY($1::uuid[])",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut by_id: HashMap<String, StoredHit> = HashMap::new();
        for r in rows {
            let id: String = r.try_get("id")?;
            let hit = StoredHit {
                kind: DocKind::parse(&r.try_get::<String, _>("kind")?).unwrap_or(DocKind::Case),
                id: uuid::Uuid::parse_str(&id).unwrap_or_default(),
                reference: r.try_get("reference")?,
                title: r.try_get("title")?,
                status: r
                    .try_get::<Option<String>, _>("status")?
                    .and_then(|s| anliegen_core::CaseStatus::parse(&s).ok()),
                team: r
                    .try_get::<Option<String>, _>("team_id")?
                    .and_then(|s| uuid::Uuid::parse_str(&s).ok()),
                updated: r.try_get("updated_us")?,
                score: 0.0,
                public_text: r.try_get("public_text")?,
                notes_text: if plan.notes {
                    r.try_get("notes_text")?
                } else {
                    String::new()
                },
            };
            by_id.insert(id, hit);
        }
        found.hits = page
            .into_iter()
            .filter_map(|(id, score)| {
                by_id.remove(&id).map(|mut h| {
                    h.score = score;
                    h
                })
            })
            .collect();
        Ok(found)
    }

    async fn doc_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_docs")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }
}
