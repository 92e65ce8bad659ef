//! Full-text search over cases (subject, every contact's text and attachment names, internal
//! notes for agents) and customers (names, identities), German and English, on both backends.
//!
//! Text analysis and the query language are `anliegen_core::search` — the same terms on both
//! backends. Here: documents built from the store ([`doc`]), the two engines behind
//! [`Engine`] (the embedded tantivy index in the data directory, [`embedded`]; PostgreSQL
//! full-text search over our own terms, [`pg`]), permissions turned into filters, snippets, and
//! the projection that keeps an engine behind the event log ([`SearchProjection`]).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::indexing_slicing
)]

pub mod doc;
pub mod embedded;
pub mod pg;

use std::collections::HashMap;
use std::sync::Arc;

use anliegen_core::search::{self as analysis, Clause, Cmp, DocKind, Filter, Query, TextTerm};
use anliegen_core::{Agent, CaseStatus, CustomerId, Role};
use anliegen_store::Store;
use anliegen_store::projection::Projection;
pub use doc::Doc;

/// What can go wrong in search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be run; the message says why, for the person who typed it.
    #[error("{0}")]
    Query(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anliegen_store::StoreError),
    /// The embedded index failed.
    #[error("search index: {0}")]
    Index(String),
    /// PostgreSQL failed.
    #[error("search (PostgreSQL): {0}")]
    Database(#[from] sqlx::Error),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        Self::Index(e.to_string())
    }
}

/// Search results.
pub type Result<T> = std::result::Result<T, SearchError>;

/// The projection's checkpoint name.
pub const PROJECTION: &str = "search";

/// Case statuses in their stored order (the embedded index keeps their position).
pub const STATUSES: [CaseStatus; 6] = [
    CaseStatus::New,
    CaseStatus::Open,
    CaseStatus::WaitingOnCustomer,
    CaseStatus::WaitingOnThirdParty,
    CaseStatus::Solved,
    CaseStatus::Closed,
];

/// Facet counts are exact up to this many matches, then shown as "10,000+".
pub const FACET_CAP: u64 = 10_000;

/// Relevance is ranked over the newest this-many matches on PostgreSQL.
pub const RANK_WINDOW: i64 = 1_000;

/// Phrases are checked over the newest this-many documents holding all their words on
/// PostgreSQL (the words come from the index; the positions need each document read).
pub const PHRASE_WINDOW: i64 = 2_000;

/// Who is searching: the filter every query gets.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// An agent: sees what their role allows, internal notes included.
    Agent(Agent),
    /// A customer (portal, customer-scoped token): only their own cases, no notes.
    Customer(CustomerId),
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (newest first without text).
    #[default]
    Relevance,
    /// Last activity, newest first.
    Newest,
    /// Last activity, oldest first.
    Oldest,
}

impl Sort {
    /// Parses `relevance`, `newest`, `oldest`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "relevance" => Some(Self::Relevance),
            "newest" | "date" => Some(Self::Newest),
            "oldest" => Some(Self::Oldest),
            _ => None,
        }
    }
}

/// A filter resolved to stored values.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Kind of document.
    Kind(DocKind),
    /// Case status.
    Status(CaseStatus),
    /// Team (`None`: no team).
    Team(Option<uuid::Uuid>),
    /// Tag.
    Tag(String),
    /// A contact on this channel.
    Channel(String),
    /// Priority.
    Priority(String),
    /// Any of these sender keys.
    Sender(Vec<String>),
    /// Assignee (`None`: unassigned).
    Assignee(Option<uuid::Uuid>),
    /// Created in `[lo, hi)` (µs).
    Created(Option<i64>, Option<i64>),
    /// Last activity in `[lo, hi)` (µs).
    Updated(Option<i64>, Option<i64>),
    /// Has an attachment.
    HasAttachment,
    /// Has an internal note.
    HasNote,
    /// Belongs to this customer.
    Customer(uuid::Uuid),
    /// Visible to an agent limited to teams: no team, one of the teams, or assigned to them.
    Visible {
        /// The agent's teams.
        teams: Vec<uuid::Uuid>,
        /// The agent.
        me: uuid::Uuid,
    },
}

/// A query ready for an engine.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Text that must match.
    pub text: Vec<TextTerm>,
    /// Text that must not match.
    pub not_text: Vec<TextTerm>,
    /// Conditions that must hold.
    pub must: Vec<Cond>,
    /// Conditions that must not hold.
    pub not: Vec<Cond>,
    /// Whether internal notes are searched.
    pub notes: bool,
    /// Order.
    pub sort: Sort,
    /// Page size.
    pub limit: usize,
    /// Offset.
    pub offset: usize,
    /// Whether facet counts are wanted.
    pub facets: bool,
    /// Every team's id (to name facet counts).
    pub teams: Vec<uuid::Uuid>,
}

/// One result as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHit {
    /// Case or customer.
    pub kind: DocKind,
    /// Its id.
    pub id: uuid::Uuid,
    /// `A-10042` or the customer's first identity.
    pub reference: String,
    /// Subject or name.
    pub title: String,
    /// Case status.
    pub status: Option<CaseStatus>,
    /// Team.
    pub team: Option<uuid::Uuid>,
    /// Last activity (µs).
    pub updated: i64,
    /// Relevance.
    pub score: f32,
    /// Public text (for the snippet).
    pub public_text: String,
    /// Internal notes (for the snippet; empty unless the viewer may see notes).
    pub notes_text: String,
}

/// What an engine found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Matches (capped at [`FACET_CAP`] when `capped`).
    pub total: u64,
    /// Whether `total` and the facets stopped counting at the cap.
    pub capped: bool,
    /// The page.
    pub hits: Vec<StoredHit>,
    /// Matches by case status.
    pub by_status: Vec<(CaseStatus, u64)>,
    /// Matches by team (`None`: no team).
    pub by_team: Vec<(Option<uuid::Uuid>, u64)>,
}

/// A search engine: one of the two backends.
#[async_trait::async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Short name for logs and `/metrics`: `embedded` or `postgres`.
    fn name(&self) -> &'static str;
    /// Replaces `docs` (by id) and removes `deletes`, and records `upto` as seen, atomically.
    async fn apply(&self, docs: Vec<Doc>, deletes: Vec<uuid::Uuid>, upto: i64) -> Result<()>;
    /// The last event sequence number the engine has applied.
    async fn checkpoint(&self) -> Result<i64>;
    /// Forgets everything (the next catch-up rebuilds).
    async fn reset(&self) -> Result<()>;
    /// Runs a plan.
    async fn search(&self, plan: &Plan) -> Result<Found>;
    /// Documents held.
    async fn doc_count(&self) -> Result<u64>;
}

/// One result for a viewer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// Case or customer.
    pub kind: DocKind,
    /// Its id.
    pub id: uuid::Uuid,
    /// `A-10042` for a case, the first identity for a customer.
    pub reference: String,
    /// Subject or name.
    pub title: String,
    /// Case status.
    pub status: Option<CaseStatus>,
    /// Team.
    pub team_id: Option<uuid::Uuid>,
    /// Last activity.
    pub updated_at: jiff::Timestamp,
    /// Relevance score (0 when sorted by date).
    pub score: f32,
    /// HTML: the best passage with hits in `<mark>`, everything else escaped.
    pub snippet: String,
    /// Whether the snippet comes from an internal note.
    pub snippet_internal: bool,
}

/// Results for a viewer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Matches (capped).
    pub total: u64,
    /// Whether counting stopped at [`FACET_CAP`] ("10,000+").
    pub capped: bool,
    /// The page.
    pub hits: Vec<Hit>,
    /// Counts by status.
    pub by_status: Vec<(CaseStatus, u64)>,
    /// Counts by team (`None`: no team).
    pub by_team: Vec<(Option<uuid::Uuid>, u64)>,
    /// Events committed but not yet searchable (bulk import); 0 normally.
    pub lag: i64,
    /// A hint when the query had nothing searchable.
    pub notice: Option<String>,
}

/// A request.
#[derive(Debug, Clone)]
pub struct Request {
    /// What was typed.
    pub q: String,
    /// Order.
    pub sort: Sort,
    /// Page size (1–100).
    pub limit: usize,
    /// Offset (at most 1,000).
    pub offset: usize,
    /// Whether facet counts are wanted (off for as-you-type).
    pub facets: bool,
}

/// Search for the rest of Anliegen: the engine, the store for names and the lag.
#[derive(Clone)]
pub struct Search {
    engine: Arc<dyn Engine>,
    store: Store,
    /// Searches running at once on this node: a burst of searches queues here instead of
    /// taking every database connection from the writers, projections and page loads.
    running: Arc<tokio::sync::Semaphore>,
}

/// Searches run at once per node.
pub const CONCURRENT_SEARCHES: usize = 6;

fn team_code(id: uuid::Uuid) -> u64 {
    (id.as_u128() & u128::from(u64::MAX)) as u64
}

fn day_start(d: jiff::civil::Date, tz: &jiff::tz::TimeZone) -> Option<i64> {
    d.to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_microsecond())
}

fn date_range(
    cmp: Cmp,
    d: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> (Option<i64>, Option<i64>) {
    let start = day_start(d, tz);
    let next = d.tomorrow().ok().and_then(|n| day_start(n, tz));
    match cmp {
        Cmp::Lt => (None, start),
        Cmp::Le => (None, next),
        Cmp::Eq => (start, next),
        Cmp::Ge => (start, None),
        Cmp::Gt => (next, None),
    }
}

impl Search {
    /// Search over `engine`.
    pub fn new(engine: Arc<dyn Engine>, store: Store) -> Self {
        Self {
            engine,
            store,
            running: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SEARCHES)),
        }
    }

    /// The engine for this store: PostgreSQL full-text search when the store is PostgreSQL,
    /// else the embedded index in `data_dir/search` (opened, checked, rebuilt if corrupt).
    pub async fn open(store: Store, data_dir: &std::path::Path) -> Result<Self> {
        let engine: Arc<dyn Engine> = match store.pg_pool() {
            Some(pool) => Arc::new(pg::PgEngine::new(pool)),
            None => Arc::new(embedded::EmbeddedEngine::open(&data_dir.join("search"))?),
        };
        Ok(Self::new(engine, store))
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// The projection that keeps the engine behind the log.
    pub fn projection(&self) -> Arc<dyn Projection> {
        Arc::new(SearchProjection {
            engine: self.engine.clone(),
        })
    }

    /// Committed events the index has not seen.
    /// (The store's checkpoint of the projection, which follows the engine's own after every
    /// batch: no index file is read per search.)
    pub async fn lag(&self) -> Result<i64> {
        Ok(anliegen_store::projection::lag(&self.store, PROJECTION).await?)
    }

    /// Turns what a viewer typed into a plan for an engine.
    pub async fn plan(&self, viewer: &Viewer, req: &Request) -> Result<(Plan, Query)> {
        let query = analysis::parse(&req.q).map_err(|e| SearchError::Query(e.0))?;
        let tz = match viewer {
            Viewer::Agent(a) => a.time_zone.zone(),
            Viewer::Customer(_) => anliegen_core::language::berlin_zone(),
        };
        let mut plan = Plan {
            sort: req.sort,
            limit: req.limit.clamp(1, 100),
            offset: req.offset.min(1000),
            facets: req.facets,
            ..Plan::default()
        };
        let mut teams = None;
        let mut agents = None;
        for (negated, clause) in query
            .must
            .iter()
            .map(|c| (false, c))
            .chain(query.not.iter().map(|c| (true, c)))
        {
            let cond = match clause {
                Clause::Text(t) => {
                    if negated {
                        plan.not_text.push(t.clone());
                    } else {
                        plan.text.push(t.clone());
                    }
                    continue;
                }
                Clause::Filter(f) => match f {
                    Filter::Status(s) => Cond::Status(*s),
                    Filter::Team(name) => {
                        if name == "none" || name == "keins" || name == "keines" {
                            Cond::Team(None)
                        } else {
                            if teams.is_none() {
                                teams = Some(self.store.teams().await?);
                            }
                            let all = teams.as_deref().unwrap_or(&[]);
                            let folded = |t: &anliegen_core::Team| {
                                anliegen_core::text::fold(&t.name).trim().to_owned()
                            };
                            let exact: Vec<_> = all.iter().filter(|t| folded(t) == *name).collect();
                            let prefix: Vec<_> = all
                                .iter()
                                .filter(|t| folded(t).starts_with(name.as_str()))
                                .collect();
                            let pick = if exact.len() == 1 { exact } else { prefix };
                            match pick.as_slice() {
                                [t] => Cond::Team(Some(t.id.0)),
                                [] => {
                                    return Err(SearchError::Query(format!(
                                        "team:{name}: no team of that name (teams: {})",
                                        all.iter()
                                            .map(|t| t.name.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )));
                                }
                                many => {
                                    return Err(SearchError::Query(format!(
                                        "team:{name}: more than one team fits ({})",
                                        many.iter()
                                            .map(|t| t.name.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )));
                                }
                            }
                        }
                    }
                    Filter::Tag(t) => Cond::Tag(t.clone()),
                    Filter::From(raw) => Cond::Sender(doc::sender_keys(raw)),
                    Filter::Channel(c) => Cond::Channel(c.as_str().to_owned()),
                    Filter::Priority(p) => Cond::Priority(p.as_str().to_owned()),
                    Filter::Assignee(who) => match who.as_str() {
                        "none" | "niemand" => Cond::Assignee(None),
                        "me" | "ich" | "mir" => match viewer {
                            Viewer::Agent(a) => Cond::Assignee(Some(a.id.0)),
                            Viewer::Customer(_) => {
                                return Err(SearchError::Query("assignee: is for agents".into()));
                            }
                        },
                        other => {
                            if agents.is_none() {
                                agents = Some(self.store.agents().await?);
                            }
                            let all = agents.as_deref().unwrap_or(&[]);
                            let hit = all.iter().find(|a| {
                                a.email.as_str().eq_ignore_ascii_case(other)
                                    || a.email
                                        .as_str()
                                        .split('@')
                                        .next()
                                        .is_some_and(|l| l.eq_ignore_ascii_case(other))
                                    || a.name.to_lowercase() == other
                                    || a.name
                                        .split_whitespace()
                                        .next()
                                        .is_some_and(|f| f.to_lowercase() == other)
                            });
                            match hit {
                                Some(a) => Cond::Assignee(Some(a.id.0)),
                                None => {
                                    return Err(SearchError::Query(format!(
                                        "assignee:{other}: no agent of that name or address"
                                    )));
                                }
                            }
                        }
                    },
                    Filter::Created(c, d) => {
                        let (lo, hi) = date_range(*c, *d, &tz);
                        Cond::Created(lo, hi)
                    }
                    Filter::Updated(c, d) => {
                        let (lo, hi) = date_range(*c, *d, &tz);
                        Cond::Updated(lo, hi)
                    }
                    Filter::HasAttachment => Cond::HasAttachment,
                    Filter::HasNote => Cond::HasNote,
                    Filter::Kind(k) => Cond::Kind(*k),
                },
            };
            if negated {
                plan.not.push(cond);
            } else {
                plan.must.push(cond);
            }
        }
        // Permissions, enforced here for every engine.
        match viewer {
            Viewer::Agent(a) => {
                plan.notes = true;
                if a.role == Role::Agent && !a.teams.is_empty() {
                    plan.must.push(Cond::Visible {
                        teams: a.teams.iter().map(|t| t.0).collect(),
                        me: a.id.0,
                    });
                }
            }
            Viewer::Customer(c) => {
                plan.notes = false;
                plan.must.push(Cond::Kind(DocKind::Case));
                plan.must.push(Cond::Customer(c.0));
                // What a customer cannot see cannot be asked about either.
                plan.must
                    .retain(|c| !matches!(c, Cond::HasNote | Cond::Assignee(_)));
                plan.not
                    .retain(|c| !matches!(c, Cond::HasNote | Cond::Assignee(_)));
            }
        }
        Ok((plan, query))
    }

    /// Searches for a viewer.
    pub async fn search(&self, viewer: &Viewer, req: &Request) -> Result<Results> {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|_| SearchError::Index("search is shutting down".into()))?;
        let (plan, query) = self.plan(viewer, req).await?;
        let notice = query.nothing_searchable.then(|| {
            "Nothing in the query can be searched (only punctuation or filler words); showing everything that fits the filters.".to_owned()
        });
        let mut plan = plan;
        if plan.facets {
            plan.teams = self.store.teams().await?.iter().map(|t| t.id.0).collect();
        }
        let found = self.engine.search(&plan).await?;
        let h = query.highlighter();
        let hits = found
            .hits
            .into_iter()
            .map(|s| {
                let (snippet, internal) = match h.snippet(&s.public_text, 220) {
                    Some(x) => (x, false),
                    None => match plan.notes.then(|| h.snippet(&s.notes_text, 220)).flatten() {
                        Some(x) => (x, true),
                        None => (analysis::Highlighter::head(&s.public_text, 220), false),
                    },
                };
                Hit {
                    kind: s.kind,
                    id: s.id,
                    reference: s.reference,
                    title: s.title,
                    status: s.status,
                    team_id: s.team,
                    updated_at: jiff::Timestamp::from_microsecond(s.updated)
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                    score: s.score,
                    snippet,
                    snippet_internal: internal,
                }
            })
            .collect();
        let lag = self.lag().await.unwrap_or(0);
        metrics::counter!("anliegen_search_queries_total", "engine" => self.engine.name())
            .increment(1);
        Ok(Results {
            total: found.total,
            capped: found.capped,
            hits,
            by_status: found.by_status,
            by_team: found.by_team,
            lag,
            notice,
        })
    }

    /// Rebuilds the whole index from the store's current state (`anliegen search reindex`):
    /// forgets everything, indexes every case and customer in pages, and records the log
    /// position read before it started, so events during the rebuild are applied again after.
    pub async fn reindex(&self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<u64> {
        let upto = self.store.last_seq().await?;
        self.engine.reset().await?;
        let mut done = 0u64;
        let mut cursor = None;
        loop {
            let page = self
                .store
                .cases(&anliegen_store::CaseFilter::default(), cursor, 500)
                .await?;
            let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
            let docs = doc::case_docs(&self.store, &ids).await?;
            done += docs.len() as u64;
            self.engine.apply(docs, Vec::new(), 0).await?;
            progress(done);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut cursor = None;
        loop {
            let page = self.store.customers(cursor, 500).await?;
            let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
            let docs = doc::customer_docs(&self.store, &ids).await?;
            done += docs.len() as u64;
            self.engine.apply(docs, Vec::new(), 0).await?;
            progress(done);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        self.engine.apply(Vec::new(), Vec::new(), upto).await?;
        Ok(done)
    }
}

/// Keeps an engine behind the event log: every event names the cases and customers whose
/// documents it changes; each is rebuilt whole from the store's current state, so applying an
/// event twice is harmless and documents never drift from the store.
pub struct SearchProjection {
    engine: Arc<dyn Engine>,
}

/// The cases and customers whose documents a batch of events changes.
pub fn touched(events: &[anliegen_core::Event]) -> (Vec<anliegen_core::CaseId>, Vec<CustomerId>) {
    use anliegen_core::EventKind as K;
    let mut cases = Vec::new();
    let mut customers = Vec::new();
    for e in events {
        if let Some(c) = e.case_id {
            cases.push(c);
        }
        match &e.kind {
            K::CaseMerged { source, target, .. } | K::CaseUnmerged { source, target, .. } => {
                cases.push(*source);
                cases.push(*target);
            }
            K::ContactSplit { from, to, .. } | K::SplitUndone { from, to, .. } => {
                cases.push(*from);
                cases.push(*to);
            }
            K::CustomerMerged {
                source,
                target,
                cases: moved,
                ..
            }
            | K::CustomerUnmerged {
                source,
                target,
                cases: moved,
                ..
            } => {
                customers.push(*source);
                customers.push(*target);
                cases.extend(moved.iter().copied());
            }
            K::CustomerCreated { .. } | K::CustomerUpdated { .. } | K::IdentityAdded { .. } => {
                if let Some(c) = e.customer_id {
                    customers.push(c);
                }
            }
            _ => {}
        }
    }
    cases.sort();
    cases.dedup();
    customers.sort();
    customers.dedup();
    (cases, customers)
}

#[async_trait::async_trait]
impl Projection for SearchProjection {
    fn name(&self) -> &'static str {
        PROJECTION
    }

    async fn apply(
        &self,
        store: &Store,
        events: &[anliegen_core::Event],
        upto: i64,
    ) -> anliegen_store::Result<()> {
        let started = std::time::Instant::now();
        let (cases, customers) = touched(events);
        let run = async {
            let mut docs = doc::case_docs(store, &cases).await?;
            // A customer's name and identities are in their cases' documents too.
            let renamed: Vec<CustomerId> = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        anliegen_core::EventKind::CustomerUpdated { .. }
                            | anliegen_core::EventKind::IdentityAdded { .. }
                    )
                })
                .filter_map(|e| e.customer_id)
                .collect();
            for c in renamed {
                let page = store
                    .cases(
                        &anliegen_store::CaseFilter {
                            customer_id: Some(c),
                            ..Default::default()
                        },
                        None,
                        500,
                    )
                    .await?;
                let ids: Vec<_> = page
                    .items
                    .iter()
                    .map(|c| c.id)
                    .filter(|id| !cases.contains(id))
                    .collect();
                docs.extend(doc::case_docs(store, &ids).await?);
            }
            let found: std::collections::HashSet<uuid::Uuid> = docs.iter().map(|d| d.id).collect();
            let mut deletes: Vec<uuid::Uuid> = cases
                .iter()
                .map(|c| c.0)
                .filter(|id| !found.contains(id))
                .collect();
            let cdocs = doc::customer_docs(store, &customers).await?;
            let cfound: std::collections::HashSet<uuid::Uuid> =
                cdocs.iter().map(|d| d.id).collect();
            deletes.extend(
                customers
                    .iter()
                    .map(|c| c.0)
                    .filter(|id| !cfound.contains(id)),
            );
            docs.extend(cdocs);
            self.engine.apply(docs, deletes, upto).await
        };
        run.await.map_err(|e| match e {
            SearchError::Store(s) => s,
            other => anliegen_store::StoreError::Corrupt(other.to_string()),
        })?;
        // The store's checkpoint mirrors the engine's, for `/metrics` and the runner.
        store.set_checkpoint(PROJECTION, upto, store.now()).await?;
        metrics::histogram!("anliegen_search_apply_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn reset(&self, store: &Store) -> anliegen_store::Result<()> {
        self.engine
            .reset()
            .await
            .map_err(|e| anliegen_store::StoreError::Corrupt(e.to_string()))?;
        store.set_checkpoint(PROJECTION, 0, store.now()).await
    }
}

/// Brings the store's checkpoint of the search projection in line with the engine's own
/// (the engine's is authoritative: an embedded index records it in its commit), so the
/// runner continues where the index really is — after a crash, a restore or a rebuild.
pub async fn align_checkpoint(search: &Search) -> Result<i64> {
    let at = search.engine.checkpoint().await?;
    search
        .store
        .set_checkpoint(PROJECTION, at, search.store.now())
        .await?;
    Ok(at)
}

/// Counts as `(key, n)` sorted by count, largest first.
fn sorted_counts<K: Clone + Ord>(m: HashMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}
