//! Anliegen's storage: one interface ([`Backend`]) with an embedded SQLite implementation and a
//! PostgreSQL one, the group-commit writer in front of them, the event log, jobs (outbox) and
//! projections. Every state change and its events commit in one transaction; nothing here
//! knows HTTP or JSON APIs.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::indexing_slicing
)]

pub mod automation;
pub mod blob;
pub mod concern;
pub mod error;
pub mod jobs;
mod log_cache;
pub mod model;
pub mod projection;
pub mod sla;
mod sql;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anliegen_core::{
    Agent, AgentId, Case, CaseId, CaseRef, CaseStatus, Clock, Contact, ContactId, Customer,
    CustomerId, EmailAddress, Event, Identity, Team, TeamId,
};
use jiff::Timestamp;

pub use error::{Result, StoreError};

/// `items` by the key each has: what a follower's batch read (`cases_by_ids` …) gives, for
/// looking rows up per event.
pub fn keyed<K: std::hash::Hash + Eq, T>(items: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, T> {
    items.into_iter().map(|t| (key(&t), t)).collect()
}
pub use model::*;

/// Idempotency keys are kept this long (24 h), in microseconds.
pub const IDEMPOTENCY_TTL_US: i64 = 24 * 3600 * 1_000_000;

/// Which implementation is behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The embedded SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Counts used to tell an empty store from a used one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    /// Cases.
    pub cases: i64,
    /// Customers.
    pub customers: i64,
    /// Agents.
    pub agents: i64,
}

/// What a storage implementation offers. Writes go through [`Backend::run_batch`] only (the
/// writer calls it); everything else reads or touches jobs and projection bookkeeping.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Which implementation this is.
    fn kind(&self) -> BackendKind;
    /// Applies `writes` in one transaction; `Err` means it was rolled back as a whole.
    async fn run_batch(&self, writes: &[Write], now: Timestamp) -> Result<Vec<Result<Output>>>;

    /// A customer by id (also a merged one; see `merged_into`).
    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>>;
    /// The customer an identity leads to.
    async fn customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>>;
    /// Customers, newest first.
    async fn customers(&self, cursor: Option<Cursor>, limit: i64) -> Result<Page<Customer>>;
    /// A case by id.
    async fn case(&self, id: CaseId) -> Result<Option<Case>>;
    /// These cases (those that exist), in no particular order: one query for a follower's
    /// whole step instead of one per case.
    async fn cases_by_ids(&self, ids: &[CaseId]) -> Result<Vec<Case>>;
    /// These customers with their identities (those that exist), in no particular order.
    async fn customers_by_ids(&self, ids: &[CustomerId]) -> Result<Vec<Customer>>;
    /// A case by reference.
    async fn case_by_ref(&self, r: CaseRef) -> Result<Option<Case>>;
    /// Cases matching `filter`, newest first.
    async fn cases(
        &self,
        filter: &CaseFilter,
        cursor: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Case>>;
    /// A queue: cases matching `filter` in `order`, keyset-paged by `after`.
    async fn queue(
        &self,
        filter: &CaseFilter,
        order: QueueOrder,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Case>>;
    /// The case `id` was merged into, while the merge stands.
    async fn merged_into(&self, id: CaseId) -> Result<Option<CaseId>>;
    /// Cases merged into `id` (undoable), and the case `id` was split off from, if any.
    async fn merge_links(&self, id: CaseId) -> Result<(Vec<CaseId>, Option<CaseId>)>;
    /// Stores notifications and their mail jobs with the projection's checkpoint, once.
    async fn apply_notifications(
        &self,
        name: &str,
        rows: &[Notification],
        jobs: &[NewJob],
        first: i64,
        upto: i64,
        now: Timestamp,
    ) -> Result<()>;
    /// Forgets every notification (rebuild).
    async fn reset_notifications(&self, name: &str, now: Timestamp) -> Result<()>;
    /// An agent's newest notifications.
    async fn notifications(&self, agent: AgentId, limit: i64) -> Result<Vec<Notification>>;
    /// One notification.
    async fn notification(&self, id: uuid::Uuid) -> Result<Option<Notification>>;
    /// How many an agent has not read (at most `cap`).
    async fn unread_notifications(&self, agent: AgentId, cap: i64) -> Result<i64>;
    /// Marks one (or, with `None`, all) of an agent's notifications read.
    async fn mark_read(&self, agent: AgentId, id: Option<uuid::Uuid>, now: Timestamp)
    -> Result<()>;
    /// An agent's notification choices (defaults when never saved).
    async fn notification_settings(&self, agent: AgentId) -> Result<NotificationSettings>;
    /// Saves an agent's notification choices.
    async fn save_notification_settings(
        &self,
        agent: AgentId,
        s: &NotificationSettings,
    ) -> Result<()>;
    /// An organisation.
    async fn organisation(
        &self,
        id: anliegen_core::OrganisationId,
    ) -> Result<Option<anliegen_core::Organisation>>;
    /// Every macro, by name.
    async fn macros(&self) -> Result<Vec<anliegen_core::Macro>>;
    /// One macro.
    async fn macro_by_id(&self, id: anliegen_core::MacroId)
    -> Result<Option<anliegen_core::Macro>>;
    /// The tag catalogue with each tag's description and how many cases carry it.
    async fn tag_catalog(&self) -> Result<Vec<(String, String, i64)>>;
    /// Display labels of customers: the name, or else their first identity (for lists).
    async fn customer_labels(&self, ids: &[CustomerId]) -> Result<HashMap<CustomerId, String>>;
    /// How many cases match `filter`, counting at most `cap` (cheap at any size).
    async fn count_cases(&self, filter: &CaseFilter, cap: i64) -> Result<i64>;
    /// The newest `limit` contacts of a case older than `before`, oldest first; `next` points
    /// further back when there are more.
    async fn contacts_page(
        &self,
        case_id: CaseId,
        include_internal: bool,
        before: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Contact>>;
    /// A case's events at or after `since`, in order (at most `limit`, the newest).
    async fn case_events_since(
        &self,
        case_id: CaseId,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<Event>>;
    /// Keeps an agent's draft on a case (one per agent and case).
    async fn save_draft(&self, agent: AgentId, case_id: CaseId, draft: &Draft) -> Result<()>;
    /// An agent's draft on a case.
    async fn draft(&self, agent: AgentId, case_id: CaseId) -> Result<Option<Draft>>;
    /// Drops an agent's draft on a case.
    async fn delete_draft(&self, agent: AgentId, case_id: CaseId) -> Result<()>;
    /// Saves a queue view.
    async fn save_view(&self, view: &SavedView) -> Result<()>;
    /// An agent's saved views, by name.
    async fn views(&self, agent: AgentId) -> Result<Vec<SavedView>>;
    /// Deletes an agent's saved view; false when there was none.
    async fn delete_view(&self, agent: AgentId, id: uuid::Uuid) -> Result<bool>;
    /// A case's contacts in order; internal notes only when asked.
    async fn contacts(&self, case_id: CaseId, include_internal: bool) -> Result<Vec<Contact>>;
    /// One contact.
    async fn contact(&self, id: ContactId) -> Result<Option<Contact>>;
    /// These contacts (those that exist), in no particular order: one query for a follower's
    /// whole step instead of one per contact.
    async fn contacts_by_ids(&self, ids: &[ContactId]) -> Result<Vec<Contact>>;
    /// The contacts of these cases, each case's in order; internal notes only when asked.
    async fn contacts_of_cases(
        &self,
        ids: &[CaseId],
        include_internal: bool,
    ) -> Result<Vec<Contact>>;
    /// A case's events in order.
    async fn case_events(&self, case_id: CaseId) -> Result<Vec<Event>>;
    /// A customer's events in order.
    async fn customer_events(&self, customer_id: CustomerId) -> Result<Vec<Event>>;
    /// Events after `seq`, in order, at most `limit`.
    async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<Event>>;
    /// The highest committed sequence number (0 when empty).
    async fn last_seq(&self) -> Result<i64>;
    /// All teams by name.
    async fn teams(&self) -> Result<Vec<Team>>;
    /// One team.
    async fn team(&self, id: TeamId) -> Result<Option<Team>>;
    /// All agents by name.
    async fn agents(&self) -> Result<Vec<Agent>>;
    /// One agent.
    async fn agent(&self, id: AgentId) -> Result<Option<Agent>>;
    /// An agent with its password hash, for sign-in.
    async fn agent_credentials(&self, email: &EmailAddress) -> Result<Option<AgentCredentials>>;
    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>>;
    /// Tokens, of one agent or all.
    async fn tokens(&self, agent: Option<AgentId>) -> Result<Vec<TokenInfo>>;
    /// The stored response for an idempotency key younger than 24 h.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<StoredResponse>>;
    /// Deletes idempotency records older than 24 h.
    async fn purge_idempotency(&self, now: Timestamp) -> Result<u64>;
    /// Deletes finished jobs last changed at or before `before` (dead letters stay); returns
    /// how many. Their dedupe keys were for moments that have passed.
    async fn purge_done_jobs(&self, before: Timestamp) -> Result<u64>;
    /// A blob's bytes.
    async fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>>;
    /// A meta value.
    async fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Row counts.
    async fn totals(&self) -> Result<Totals>;

    /// Enqueues a job outside any other change (dedupe key respected).
    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> Result<Option<uuid::Uuid>>;
    /// Claims up to `limit` due jobs (or running ones whose lease ran out) for `lease_token`.
    async fn claim_jobs(
        &self,
        lease_token: &str,
        limit: i64,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Job>>;
    /// Extends a lease; `false` when the lease was lost.
    async fn extend_lease(
        &self,
        id: uuid::Uuid,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<bool>;
    /// Marks a job done; `false` when the lease was lost.
    async fn complete_job(&self, id: uuid::Uuid, lease_token: &str, now: Timestamp)
    -> Result<bool>;
    /// Records a failure: retried at `retry_at`, or dead after the last attempt.
    async fn fail_job(
        &self,
        id: uuid::Uuid,
        lease_token: &str,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<JobStatus>>;
    /// Jobs, newest first.
    async fn jobs(&self, status: Option<JobStatus>, limit: i64) -> Result<Vec<Job>>;
    /// One job.
    async fn job(&self, id: uuid::Uuid) -> Result<Option<Job>>;
    /// Puts a dead job back in the queue with fresh attempts.
    async fn retry_job(&self, id: uuid::Uuid, now: Timestamp) -> Result<bool>;
    /// Jobs by status.
    async fn job_counts(&self) -> Result<JobCounts>;

    /// A projection's checkpoint (0 when new).
    async fn checkpoint(&self, name: &str) -> Result<i64>;
    /// Sets a projection's checkpoint.
    async fn set_checkpoint(&self, name: &str, seq: i64, now: Timestamp) -> Result<()>;
    /// Adds counter deltas and moves the checkpoint to `upto`, in one transaction.
    async fn apply_stat_deltas(
        &self,
        name: &str,
        deltas: &HashMap<String, i64>,
        first: i64,
        upto: i64,
        now: Timestamp,
    ) -> Result<()>;
    /// These cases as their SLA sees them (missing ones are left out).
    async fn sla_cases(&self, ids: &[CaseId]) -> Result<Vec<SlaCase>>;
    /// Cases in one of `statuses` whose timer moment (`since`) is at or before `threshold`
    /// and that `rule_id` has not acted on for that moment yet, oldest moment first, with the
    /// moment (µs).
    async fn timer_due(
        &self,
        rule_id: uuid::Uuid,
        statuses: &[CaseStatus],
        since: anliegen_core::automation::Since,
        threshold: Timestamp,
        limit: i64,
    ) -> Result<Vec<(CaseId, i64)>>;
    /// Cases with an active SLA clock after `after` in id order (a recompute's pages).
    async fn sla_open_cases(&self, after: Option<CaseId>, limit: i64) -> Result<Vec<SlaCase>>;
    /// Saves SLA clocks and moves the projection `name` to `upto`, in one transaction; does
    /// nothing if another runner already applied `first`. Returns whether it saved.
    async fn apply_sla(
        &self,
        name: &str,
        clocks: &[SlaRecord],
        first: i64,
        upto: i64,
        now: Timestamp,
    ) -> Result<bool>;
    /// Saves recomputed clocks that nothing changed since they were read (same `seq`);
    /// returns how many were saved.
    async fn save_sla_recomputed(&self, clocks: &[SlaRecord], now: Timestamp) -> Result<u64>;
    /// Clocks whose next warning or breach is due by `now`, earliest first.
    async fn sla_checks(&self, now: Timestamp, limit: i64) -> Result<Vec<SlaRecord>>;
    /// Moves a clock's next check, unless the clock changed since `seq`.
    async fn set_sla_next_check(
        &self,
        case_id: CaseId,
        seq: i64,
        next: Option<Timestamp>,
    ) -> Result<()>;
    /// Empties the counters and rewinds the checkpoint, in one transaction.
    async fn reset_stats(&self, name: &str, now: Timestamp) -> Result<()>;
    /// All counters.
    async fn stats(&self) -> Result<Vec<(String, i64)>>;
    /// Every mailbox.
    async fn mailboxes(&self) -> Result<Vec<anliegen_core::Mailbox>>;
    /// One mailbox.
    async fn mailbox(&self, id: anliegen_core::MailboxId)
    -> Result<Option<anliegen_core::Mailbox>>;
    /// The mailbox of an address.
    async fn mailbox_by_address(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<anliegen_core::Mailbox>>;
    /// The case and contact an inbound mail with this intake key was stored as.
    async fn mail_intake(&self, key: &str) -> Result<Option<(CaseId, ContactId)>>;
    /// Which of these Message-IDs we received or sent, and on which case.
    async fn mail_threads(&self, message_ids: &[String]) -> Result<Vec<MailThreadHit>>;
    /// Takes the right to send `sender` an automatic mail: `true` (and remembered) when the
    /// last one went out before `not_since` or never (RFC 3834: one per sender per period).
    async fn claim_auto_reply(
        &self,
        sender: &str,
        now: Timestamp,
        not_since: Timestamp,
    ) -> Result<bool>;
    /// IMAP position of a mailbox: (UIDVALIDITY, last UID stored).
    async fn imap_position(&self, mailbox: anliegen_core::MailboxId) -> Result<Option<(i64, i64)>>;
    /// Remembers the IMAP position of a mailbox.
    async fn set_imap_position(
        &self,
        mailbox: anliegen_core::MailboxId,
        validity: i64,
        last_uid: i64,
        now: Timestamp,
    ) -> Result<()>;
    /// Closes the pools.
    /// Routing rules, by position.
    async fn routing_rules(&self) -> Result<Vec<anliegen_core::routing::RoutingRule>>;
    /// An admin setting (`matching`, `escalation`), if set.
    async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>>;
    /// A customer's cases that concern matching compares with: not closed, and unsolved or
    /// changed since `since`; newest first, each with its newest customer contacts.
    async fn prior_cases(
        &self,
        customer: CustomerId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<anliegen_core::resolve::PriorCase>>;
    /// Identities offered on a case (open and decided).
    async fn identity_offers(&self, case_id: CaseId) -> Result<Vec<IdentityOffer>>;
    /// One identity offer.
    async fn identity_offer(&self, id: uuid::Uuid) -> Result<Option<IdentityOffer>>;
    /// Customers that may be the same as `customer`: the same name and a shared order,
    /// tracking number or IBAN in their messages.
    async fn merge_suggestions(&self, customer: CustomerId) -> Result<Vec<MergeSuggestion>>;
    /// Whether a customer was merged and can be unmerged (the target).
    async fn customer_merge(&self, source: CustomerId) -> Result<Option<CustomerId>>;
    /// Customers merged into `target` that can be unmerged: (id, name), oldest merge first.
    async fn merged_customers(&self, target: CustomerId) -> Result<Vec<(CustomerId, String)>>;
    /// Closes the pools.
    async fn close(&self);
    /// Makes every batch committed before this call durable, when committing alone does not
    /// (the SQLite writer commits without fsync and syncs the log here, for several batches at
    /// once, while the next batch is already being applied). The writer answers a batch's
    /// writes only after this returned.
    async fn make_durable(&self) -> Result<()> {
        Ok(())
    }
    /// Whether [`Backend::make_durable`] does anything (the writer then answers from a task).
    fn syncs_after_commit(&self) -> bool {
        false
    }
    /// A case's promises, by due time.
    async fn promises(&self, case_id: CaseId) -> Result<Vec<anliegen_core::promise::Promise>>;
    /// Open call-back requests, earliest window first.
    async fn callbacks(&self, limit: i64) -> Result<Vec<anliegen_core::promise::Promise>>;
    /// One promise.
    async fn promise(
        &self,
        id: anliegen_core::PromiseId,
    ) -> Result<Option<anliegen_core::promise::Promise>>;
    /// How each owner keeps promises, as of `now`.
    async fn promise_stats(&self, now: Timestamp) -> Result<Vec<PromiseStats>>;
    /// The PostgreSQL pool, for features that speak PostgreSQL themselves (search); `None` on
    /// the embedded store.
    fn pg_pool(&self) -> Option<sqlx::PgPool> {
        None
    }
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// Embedded: a SQLite file and pack files in this folder.
    Sqlite {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// PostgreSQL at this URL.
    Postgres {
        /// Connection URL.
        url: String,
        /// Concurrent group-commit writers (connections).
        writers: u32,
    },
}

/// The store handle the rest of Anliegen holds: reads through [`std::ops::Deref`] to the
/// backend, writes through [`Store::write`] (group commit).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    writer: writer::WriterHandle,
    clock: Arc<dyn Clock>,
    log: Arc<log_cache::LogCache>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Opens the store (running migrations) and starts its writer.
    pub async fn open(config: &StoreConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let (backend, writers): (Arc<dyn Backend>, u32) = match config {
            StoreConfig::Sqlite { data_dir } => {
                (Arc::new(sql::sqlite::Backend::open(data_dir).await?), 1)
            }
            StoreConfig::Postgres { url, writers } => (
                Arc::new(sql::postgres::Backend::open(url, *writers).await?),
                *writers,
            ),
        };
        let writer = writer::WriterHandle::start(backend.clone(), clock.clone(), writers as usize);
        Ok(Self {
            backend,
            writer,
            clock,
            log: Arc::default(),
        })
    }

    /// Applies one change; returns when it has committed (or was refused).
    pub async fn write(&self, write: Write) -> Result<Output> {
        self.writer.submit(write).await
    }

    /// Shorthand for a write with no jobs and no idempotency key.
    pub async fn exec(&self, actor: anliegen_core::Actor, command: Command) -> Result<Output> {
        self.write(Write::new(actor, command)).await
    }

    /// The events after `seq`, up to `limit`, for the log's followers (projections, live
    /// updates): the newest events come from memory, read from the database once for all of
    /// them (see `log_cache`). Same answer as [`Backend::events_after`].
    pub async fn follow_log(&self, seq: i64, limit: i64) -> Result<Vec<Event>> {
        let want = usize::try_from(limit.max(0)).unwrap_or(0);
        let (mut events, after) = match self.log.read(seq, want) {
            log_cache::Hit::Full(events) => return Ok(events),
            log_cache::Hit::Partial { events, after } => (events, after),
            log_cache::Hit::Miss => (Vec::new(), seq),
        };
        let rest = want - events.len();
        let more = self.backend.events_after(after, rest as i64).await?;
        self.log.record(after, &more);
        events.extend(more);
        Ok(events)
    }

    /// The clock domain rules use.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Ticks once per committed batch; followers wait on it instead of polling hard.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.commits()
    }

    /// Requests currently waiting for the writer.
    pub fn writer_queue(&self) -> usize {
        self.writer.queued()
    }

    /// Finishes queued writes, stops the writer and closes the pools.
    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.backend.close().await;
    }
}

/// A turn between nodes: on PostgreSQL a transaction-scoped advisory lock, held until
/// [`Turn::end`] (or drop, which rolls the empty transaction back); on the embedded store (one
/// node) nothing.
pub struct Turn(Option<sqlx::Transaction<'static, sqlx::Postgres>>);

impl Turn {
    /// Ends the turn.
    pub async fn end(self) {
        if let Some(tx) = self.0 {
            tx.rollback().await.ok();
        }
    }
}

impl Store {
    /// Waits for the turn named `key` (nodes doing the same work take turns).
    pub async fn turn(&self, key: &str) -> Result<Turn> {
        match self.pg_pool() {
            Some(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                Ok(Turn(Some(tx)))
            }
            None => Ok(Turn(None)),
        }
    }
}
