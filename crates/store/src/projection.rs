//! Projections follow the event log by sequence number from a stored checkpoint, each on its
//! own, and catch up by themselves after a crash. They are disposable: `reset` + catch-up
//! rebuilds one from the log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Event, EventKind};
use tokio::sync::watch;

use crate::Store;
use crate::error::Result;

/// Events read per step.
const STEP: i64 = 1000;

/// How long a follower gathers commits before it applies them.
const COALESCE: Duration = Duration::from_millis(50);

/// A read model kept from the event log.
#[async_trait::async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name (checkpoint key).
    fn name(&self) -> &'static str;
    /// Applies `events` (in order) and records `upto` as the new checkpoint. Must be safe to
    /// call again with events it has already seen (after a crash between effect and checkpoint)
    /// or, better, store effect and checkpoint atomically.
    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()>;
    /// Forgets everything so the next run rebuilds from the start of the log.
    async fn reset(&self, store: &Store) -> Result<()>;
}

/// Counters kept from the log: cases by status, contacts by channel and direction, customers.
/// Counts and checkpoint commit together, so a crash never double-counts.
pub struct Stats;

impl Stats {
    /// Checkpoint name.
    pub const NAME: &'static str = "stats";

    fn deltas(events: &[Event]) -> HashMap<String, i64> {
        let mut d: HashMap<String, i64> = HashMap::new();
        let mut add = |k: String, n: i64| *d.entry(k).or_default() += n;
        for e in events {
            match &e.kind {
                EventKind::CaseOpened { .. } => {
                    add("cases.opened".into(), 1);
                    add("cases.status.new".into(), 1);
                }
                EventKind::StatusChanged { from, to } => {
                    add(format!("cases.status.{from}"), -1);
                    add(format!("cases.status.{to}"), 1);
                }
                EventKind::CaseReopened { .. } => add("cases.reopened".into(), 1),
                EventKind::ContactAdded {
                    channel, direction, ..
                } => add(
                    format!("contacts.{}.{}", channel.as_str(), direction.as_str()),
                    1,
                ),
                EventKind::CustomerCreated { .. } => add("customers".into(), 1),
                EventKind::CustomerMerged { source, .. } if e.customer_id == Some(*source) => {
                    add("customers".into(), -1)
                }
                _ => {}
            }
        }
        d.retain(|_, v| *v != 0);
        d
    }
}

#[async_trait::async_trait]
impl Projection for Stats {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        store
            .apply_stat_deltas(
                Self::NAME,
                &Self::deltas(events),
                events.first().map(|e| e.seq).unwrap_or(upto),
                upto,
                store.now(),
            )
            .await
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        store.reset_stats(Self::NAME, store.now()).await
    }
}

/// Applies whatever the projection has not seen yet; returns how many events it applied.
pub async fn catch_up(store: &Store, projection: &dyn Projection) -> Result<usize> {
    let mut total = 0;
    loop {
        let from = store.checkpoint(projection.name()).await?;
        let events = store.events_after(from, STEP).await?;
        let Some(last) = events.last() else {
            return Ok(total);
        };
        let upto = last.seq;
        projection.apply(store, &events, upto).await?;
        total += events.len();
        if (events.len() as i64) < STEP {
            return Ok(total);
        }
    }
}

/// Lag of a projection: committed events it has not applied yet.
pub async fn lag(store: &Store, name: &str) -> Result<i64> {
    let last = store.last_seq().await?;
    let at = store.checkpoint(name).await?;
    Ok((last - at).max(0))
}

/// Follows the log until `shutdown` turns true: wakes on every commit of this node, and at
/// least every `poll` for commits of other nodes. Errors are logged and retried.
pub async fn follow(
    store: Store,
    projection: Arc<dyn Projection>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = store.commits();
    loop {
        if *shutdown.borrow() {
            return;
        }
        match catch_up(&store, &*projection).await {
            Ok(_) => {}
            Err(e) => {
                tracing::error!(projection = projection.name(), error = %e, "projection step failed; retrying")
            }
        }
        tokio::select! {
            _ = commits.changed() => {
                // Under load, commits come every few milliseconds: gather them for a moment so the
                // projection writes once per burst, not once per commit.
                tokio::time::sleep(COALESCE).await;
            }
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}
