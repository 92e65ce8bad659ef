//! The embedded engine: a tantivy index in the data directory, fed our own terms
//! (pre-tokenized), so it matches exactly what PostgreSQL matches. The last applied event
//! sequence number is the payload of every commit: documents and checkpoint are one atomic
//! step, and after a crash the index knows where it stands. An index that cannot be opened or
//! fails its checksums is moved aside and rebuilt, never a reason not to start.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anliegen_core::search::{DocKind, TextTerm, Token};
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, RegexPhraseQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::PreTokenizedString;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, SegmentReader,
    TantivyDocument, Term,
};

use crate::{
    Cond, Doc, Engine, Found, Plan, Result, STATUSES, SearchError, Sort, StoredHit, team_code,
};

/// Schema generation: a payload of another generation means the index is rebuilt.
const GENERATION: &str = "anliegen-search-1";

/// Status code of documents without a status (customers).
const NO_STATUS: u64 = 99;

struct Fields {
    id: Field,
    kind: Field,
    customer: Field,
    team: Field,
    team_code: Field,
    assignee: Field,
    status: Field,
    status_code: Field,
    priority: Field,
    tag: Field,
    channel: Field,
    sender: Field,
    flag: Field,
    created: Field,
    updated: Field,
    title: Field,
    public: Field,
    notes: Field,
    reference_s: Field,
    title_s: Field,
    public_s: Field,
    notes_s: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        customer: b.add_text_field("customer", STRING),
        team: b.add_text_field("team", STRING | STORED),
        team_code: b.add_u64_field("team_code", FAST),
        assignee: b.add_text_field("assignee", STRING),
        status: b.add_text_field("status", STRING | STORED),
        status_code: b.add_u64_field("status_code", FAST),
        priority: b.add_text_field("priority", STRING),
        tag: b.add_text_field("tag", STRING),
        channel: b.add_text_field("channel", STRING),
        sender: b.add_text_field("sender", STRING),
        flag: b.add_text_field("flag", STRING),
        created: b.add_i64_field("created", INDEXED | FAST),
        updated: b.add_i64_field("updated", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        public: b.add_text_field("public", text.clone()),
        notes: b.add_text_field("notes", text),
        reference_s: b.add_text_field("reference_s", STORED),
        title_s: b.add_text_field("title_s", STORED),
        public_s: b.add_text_field("public_s", STORED),
        notes_s: b.add_text_field("notes_s", STORED),
    };
    (b.build(), f)
}

fn none_or(id: Option<uuid::Uuid>) -> String {
    id.map(|u| u.to_string()).unwrap_or_else(|| "none".into())
}

fn status_code(s: Option<anliegen_core::CaseStatus>) -> u64 {
    s.and_then(|s| STATUSES.iter().position(|x| *x == s))
        .map(|p| p as u64)
        .unwrap_or(NO_STATUS)
}

fn pretokenized(tokens: &[Token]) -> PreTokenizedString {
    PreTokenizedString {
        text: String::new(),
        tokens: tokens
            .iter()
            .map(|t| tantivy::tokenizer::Token {
                offset_from: 0,
                offset_to: 0,
                position: t.pos as usize,
                text: t.term.clone(),
                position_length: 1,
            })
            .collect(),
    }
}

/// The embedded engine.
pub struct EmbeddedEngine {
    dir: PathBuf,
    state: Mutex<Option<Open>>,
}

struct Open {
    index: Index,
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
    fields: Arc<Fields>,
}

fn open_index(dir: &Path) -> Result<Open> {
    let (schema, fields) = schema();
    std::fs::create_dir_all(dir).map_err(|e| SearchError::Index(e.to_string()))?;
    let exists = dir.join("meta.json").exists();
    let index = if exists {
        let index = Index::open_in_dir(dir)?;
        if index.schema() != schema {
            return Err(SearchError::Index("the index has another schema".into()));
        }
        let metas = index.load_metas()?;
        if let Some(p) = &metas.payload
            && !p.starts_with(GENERATION)
        {
            return Err(SearchError::Index(format!("unknown index generation {p}")));
        }
        let bad = index.validate_checksum()?;
        if !bad.is_empty() {
            return Err(SearchError::Index(format!(
                "files fail their checksums: {bad:?}"
            )));
        }
        index
    } else {
        Index::create_in_dir(dir, schema)?
    };
    // 32 MB of indexing buffer: commits come every second or so, far below it; a larger
    // budget only raised the node's memory under load (RSS 158 MB with 64 MB).
    let writer: IndexWriter = index.writer_with_num_threads(1, 32_000_000)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Open {
        index,
        reader,
        writer: Arc::new(Mutex::new(writer)),
        fields: Arc::new(fields),
    })
}

impl EmbeddedEngine {
    /// Opens (or creates) the index in `dir`. A damaged index is moved to
    /// `dir.corrupt-<time>` and a new, empty one created; the caller rebuilds it.
    pub fn open(dir: &Path) -> Result<Self> {
        let open = match open_index(dir) {
            Ok(o) => o,
            Err(e) => {
                let aside =
                    dir.with_extension(format!("corrupt-{}", jiff::Timestamp::now().as_second()));
                tracing::error!(error = %e, index = %dir.display(), moved_to = %aside.display(), "the search index is damaged; moving it aside and rebuilding");
                metrics::counter!("anliegen_search_rebuilds_total").increment(1);
                std::fs::rename(dir, &aside).map_err(|e| SearchError::Index(e.to_string()))?;
                open_index(dir)?
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            state: Mutex::new(Some(open)),
        })
    }

    fn parts(&self) -> Result<Parts> {
        let g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let o = g
            .as_ref()
            .ok_or_else(|| SearchError::Index("the index is closed".into()))?;
        Ok((
            o.index.clone(),
            o.reader.clone(),
            o.writer.clone(),
            o.fields.clone(),
        ))
    }

    /// Where the index lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn payload_seq(index: &Index) -> Result<i64> {
    let metas = index.load_metas()?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| p.strip_prefix(GENERATION))
        .and_then(|p| p.strip_prefix(':'))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

fn to_doc(f: &Fields, d: &Doc) -> TantivyDocument {
    let mut t = TantivyDocument::new();
    t.add_text(f.id, d.id.to_string());
    t.add_text(f.kind, d.kind.as_str());
    t.add_text(f.customer, none_or(d.customer));
    // Customers have no team or assignee: neither `team:none` nor a team matches them.
    let case = d.kind == DocKind::Case;
    t.add_text(f.team, if case { none_or(d.team) } else { "n/a".into() });
    t.add_u64(f.team_code, d.team.map(team_code).unwrap_or(0));
    t.add_text(
        f.assignee,
        if case {
            none_or(d.assignee)
        } else {
            "n/a".into()
        },
    );
    if let Some(s) = d.status {
        t.add_text(f.status, s.as_str());
    }
    t.add_u64(f.status_code, status_code(d.status));
    if let Some(p) = &d.priority {
        t.add_text(f.priority, p);
    }
    for x in &d.tags {
        t.add_text(f.tag, x);
    }
    for x in &d.channels {
        t.add_text(f.channel, x);
    }
    for x in &d.senders {
        t.add_text(f.sender, x);
    }
    if d.has_attachment {
        t.add_text(f.flag, "attachment");
    }
    if d.has_note {
        t.add_text(f.flag, "note");
    }
    t.add_i64(f.created, d.created);
    t.add_i64(f.updated, d.updated);
    t.add_pre_tokenized_text(f.title, pretokenized(&d.title_terms));
    t.add_pre_tokenized_text(f.public, pretokenized(&d.public_terms));
    t.add_pre_tokenized_text(f.notes, pretokenized(&d.notes_terms));
    t.add_text(f.reference_s, &d.reference);
    t.add_text(f.title_s, &d.title);
    t.add_text(f.public_s, &d.public_text);
    t.add_text(f.notes_s, &d.notes_text);
    t
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

fn term_query(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn text_query(t: &TextTerm, fields: &[Field]) -> Result<Box<dyn Query>> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for &field in fields {
        match t {
            TextTerm::Word(w) => {
                for term in &w.terms {
                    should.push((
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, term),
                            IndexRecordOption::WithFreqs,
                        )),
                    ));
                }
            }
            TextTerm::Prefix(p) => {
                should.push((
                    Occur::Should,
                    Box::new(RegexQuery::from_pattern(
                        &format!("{}.*", regex_escape(p)),
                        field,
                    )?),
                ));
            }
            TextTerm::Phrase(ws) => {
                if ws.iter().all(|(_, w)| w.terms.len() == 1) {
                    let terms = ws
                        .iter()
                        .filter_map(|(o, w)| {
                            w.terms
                                .first()
                                .map(|t| (*o as usize, Term::from_field_text(field, t)))
                        })
                        .collect();
                    should.push((Occur::Should, Box::new(PhraseQuery::new_with_offset(terms))));
                } else {
                    let terms = ws
                        .iter()
                        .map(|(o, w)| {
                            let alts: Vec<String> =
                                w.terms.iter().map(|t| regex_escape(t)).collect();
                            (*o as usize, format!("({})", alts.join("|")))
                        })
                        .collect();
                    should.push((
                        Occur::Should,
                        Box::new(RegexPhraseQuery::new_with_offset(field, terms)),
                    ));
                }
            }
        }
    }
    Ok(Box::new(BooleanQuery::new(should)))
}

fn i64_range(field: Field, lo: Option<i64>, hi: Option<i64>) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        lo.map(|v| Bound::Included(Term::from_field_i64(field, v)))
            .unwrap_or(Bound::Unbounded),
        hi.map(|v| Bound::Excluded(Term::from_field_i64(field, v)))
            .unwrap_or(Bound::Unbounded),
    ))
}

fn cond_query(f: &Fields, c: &Cond) -> Box<dyn Query> {
    match c {
        Cond::Kind(k) => term_query(f.kind, k.as_str()),
        Cond::Status(s) => term_query(f.status, s.as_str()),
        Cond::Team(t) => term_query(f.team, &none_or(*t)),
        Cond::Tag(t) => term_query(f.tag, t),
        Cond::Channel(c) => term_query(f.channel, c),
        Cond::Priority(p) => term_query(f.priority, p),
        Cond::Sender(keys) => Box::new(BooleanQuery::new(
            keys.iter()
                .map(|k| (Occur::Should, term_query(f.sender, k)))
                .collect(),
        )),
        Cond::Assignee(a) => term_query(f.assignee, &none_or(*a)),
        Cond::Created(lo, hi) => i64_range(f.created, *lo, *hi),
        Cond::Updated(lo, hi) => i64_range(f.updated, *lo, *hi),
        Cond::HasAttachment => term_query(f.flag, "attachment"),
        Cond::HasNote => term_query(f.flag, "note"),
        Cond::Customer(c) => term_query(f.customer, &c.to_string()),
        Cond::Visible { teams, me } => {
            let mut should: Vec<(Occur, Box<dyn Query>)> = vec![
                (Occur::Should, term_query(f.team, "none")),
                (Occur::Should, term_query(f.assignee, &me.to_string())),
                // Customers are not confined to teams.
                (
                    Occur::Should,
                    term_query(f.kind, DocKind::Customer.as_str()),
                ),
            ];
            for t in teams {
                should.push((Occur::Should, term_query(f.team, &t.to_string())));
            }
            Box::new(BooleanQuery::new(should))
        }
    }
}

fn build(f: &Fields, plan: &Plan) -> Result<Box<dyn Query>> {
    let text_fields: Vec<Field> = if plan.notes {
        vec![f.title, f.public, f.notes]
    } else {
        vec![f.title, f.public]
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for t in &plan.text {
        clauses.push((Occur::Must, text_query(t, &text_fields)?));
    }
    for t in &plan.not_text {
        clauses.push((Occur::MustNot, text_query(t, &text_fields)?));
    }
    for c in &plan.must {
        clauses.push((Occur::Must, cond_query(f, c)));
    }
    for c in &plan.not {
        clauses.push((Occur::MustNot, cond_query(f, c)));
    }
    if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// Counts matches by status and team.
struct Facets;

#[derive(Default)]
struct FacetFruit {
    total: u64,
    status: HashMap<u64, u64>,
    team: HashMap<u64, u64>,
}

struct FacetSegment {
    status: Column<u64>,
    team: Column<u64>,
    fruit: FacetFruit,
}

impl Collector for Facets {
    type Fruit = FacetFruit;
    type Child = FacetSegment;

    fn for_segment(&self, _id: u32, reader: &SegmentReader) -> tantivy::Result<FacetSegment> {
        Ok(FacetSegment {
            status: reader.fast_fields().u64("status_code")?,
            team: reader.fast_fields().u64("team_code")?,
            fruit: FacetFruit::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut out = FacetFruit::default();
        for f in fruits {
            out.total += f.total;
            for (k, v) in f.status {
                *out.status.entry(k).or_default() += v;
            }
            for (k, v) in f.team {
                *out.team.entry(k).or_default() += v;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: u32, _score: tantivy::Score) {
        self.fruit.total += 1;
        if let Some(s) = self.status.first(doc)
            && s != NO_STATUS
        {
            *self.fruit.status.entry(s).or_default() += 1;
            let t = self.team.first(doc).unwrap_or(0);
            *self.fruit.team.entry(t).or_default() += 1;
        }
    }

    fn harvest(self) -> FacetFruit {
        self.fruit
    }
}

fn stored(
    searcher: &tantivy::Searcher,
    f: &Fields,
    addr: DocAddress,
    score: f32,
    notes: bool,
) -> Result<StoredHit> {
    let d: TantivyDocument = searcher.doc(addr)?;
    let s = |field: Field| {
        d.get_first(field)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let id = uuid::Uuid::parse_str(&s(f.id)).map_err(|e| SearchError::Index(e.to_string()))?;
    Ok(StoredHit {
        kind: DocKind::parse(&s(f.kind)).unwrap_or(DocKind::Case),
        id,
        reference: s(f.reference_s),
        title: s(f.title_s),
        status: anliegen_core::CaseStatus::parse(&s(f.status)).ok(),
        team: uuid::Uuid::parse_str(&s(f.team)).ok(),
        updated: d.get_first(f.updated).and_then(|v| v.as_i64()).unwrap_or(0),
        score,
        public_text: s(f.public_s),
        notes_text: if notes { s(f.notes_s) } else { String::new() },
    })
}

type Parts = (Index, IndexReader, Arc<Mutex<IndexWriter>>, Arc<Fields>);

fn join_err(e: tokio::task::JoinError) -> SearchError {
    SearchError::Index(format!("index task failed: {e}"))
}

impl EmbeddedEngine {
    fn search_blocking(parts: Parts, plan: &Plan) -> Result<Found> {
        let (_index, reader, _writer, f) = parts;
        let searcher = reader.searcher();
        let query = build(&f, plan)?;
        let top = TopDocs::with_limit(plan.limit).and_offset(plan.offset);
        let mut addrs: Vec<(f32, DocAddress)> = Vec::new();
        let fruit = if !plan.facets {
            // As you type: the best few, no counting.
            if plan.sort == Sort::Relevance && !plan.text.is_empty() {
                addrs.extend(searcher.search(&query, &top.order_by_score())?);
            } else {
                let order = if plan.sort == Sort::Oldest {
                    Order::Asc
                } else {
                    Order::Desc
                };
                let hits =
                    searcher.search(&query, &top.order_by_fast_field::<i64>("updated", order))?;
                addrs.extend(hits.into_iter().map(|(_, a)| (0.0, a)));
            }
            FacetFruit {
                total: (plan.offset + addrs.len()) as u64,
                ..FacetFruit::default()
            }
        } else if plan.sort == Sort::Relevance && !plan.text.is_empty() {
            let (hits, facets) = searcher.search(&query, &(top.order_by_score(), Facets))?;
            addrs.extend(hits);
            facets
        } else {
            let order = if plan.sort == Sort::Oldest {
                Order::Asc
            } else {
                Order::Desc
            };
            let (hits, facets) = searcher.search(
                &query,
                &(top.order_by_fast_field::<i64>("updated", order), Facets),
            )?;
            addrs.extend(hits.into_iter().map(|(_, a)| (0.0, a)));
            facets
        };
        let mut hits = Vec::with_capacity(addrs.len());
        for (score, addr) in addrs {
            hits.push(stored(&searcher, &f, addr, score, plan.notes)?);
        }
        let by_status = fruit
            .status
            .iter()
            .filter_map(|(k, v)| STATUSES.get(*k as usize).map(|s| (*s, *v)))
            .collect::<HashMap<_, _>>();
        let by_team = fruit
            .team
            .iter()
            .filter_map(|(k, v)| {
                if *k == 0 {
                    return Some((None, *v));
                }
                plan.teams
                    .iter()
                    .find(|t| team_code(**t) == *k)
                    .map(|t| (Some(*t), *v))
            })
            .collect::<HashMap<_, _>>();
        Ok(Found {
            total: fruit.total,
            capped: false,
            hits,
            by_status: crate::sorted_counts(by_status),
            by_team: crate::sorted_counts(by_team),
        })
    }

    fn apply_blocking(
        parts: Parts,
        docs: Vec<Doc>,
        deletes: Vec<uuid::Uuid>,
        upto: i64,
    ) -> Result<()> {
        let (index, reader, writer, f) = parts;
        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
        for d in &docs {
            w.delete_term(Term::from_field_text(f.id, &d.id.to_string()));
            w.add_document(to_doc(&f, d))?;
        }
        for id in deletes {
            w.delete_term(Term::from_field_text(f.id, &id.to_string()));
        }
        let at = if upto > 0 { upto } else { payload_seq(&index)? };
        let mut commit = w.prepare_commit()?;
        commit.set_payload(&format!("{GENERATION}:{at}"));
        commit.commit()?;
        drop(w);
        reader.reload()?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Engine for EmbeddedEngine {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn apply(&self, docs: Vec<Doc>, deletes: Vec<uuid::Uuid>, upto: i64) -> Result<()> {
        let parts = self.parts()?;
        tokio::task::spawn_blocking(move || Self::apply_blocking(parts, docs, deletes, upto))
            .await
            .map_err(join_err)?
    }

    async fn checkpoint(&self) -> Result<i64> {
        let (index, ..) = self.parts()?;
        payload_seq(&index)
    }

    async fn reset(&self) -> Result<()> {
        let (_index, reader, writer, _f) = self.parts()?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
            w.delete_all_documents()?;
            let mut commit = w.prepare_commit()?;
            commit.set_payload(&format!("{GENERATION}:0"));
            commit.commit()?;
            drop(w);
            reader.reload()?;
            Ok(())
        })
        .await
        .map_err(join_err)?
    }

    async fn search(&self, plan: &Plan) -> Result<Found> {
        let parts = self.parts()?;
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || Self::search_blocking(parts, &plan))
            .await
            .map_err(join_err)?
    }

    async fn doc_count(&self) -> Result<u64> {
        let (_index, reader, ..) = self.parts()?;
        Ok(reader.searcher().num_docs())
    }
}
