//! Housekeeping jobs and their schedule: each firing is a job with a unique dedupe key, so it
//! runs once per occurrence even with several nodes.

use std::sync::Arc;
use std::time::Duration;

use anliegen_store::jobs::{JobHandler, JobRunner};
use anliegen_store::{Job, NewJob, Store};
use tokio::sync::watch;

/// Deletes idempotency records older than 24 h.
pub const PURGE_IDEMPOTENCY: &str = "purge_idempotency";

struct PurgeIdempotency;

#[async_trait::async_trait]
impl JobHandler for PurgeIdempotency {
    async fn run(&self, store: &Store, _job: &Job) -> Result<(), String> {
        let n = store
            .purge_idempotency(store.now())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(deleted = n, "purged old idempotency keys");
        Ok(())
    }
}

/// A promise's scheduled moment: the owner's reminder, or the overdue check (which, through
/// the event log, escalates the case). Running twice changes nothing the second time.
struct PromiseDue;

#[async_trait::async_trait]
impl JobHandler for PromiseDue {
    async fn run(&self, store: &Store, job: &Job) -> Result<(), String> {
        let id: anliegen_core::PromiseId = job
            .payload
            .get("promise")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or("payload without a promise id")?;
        let overdue = job
            .payload
            .get("overdue")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let promise = match store
            .exec(
                anliegen_core::Actor::System,
                anliegen_store::Command::PromiseDue { id, overdue },
            )
            .await
        {
            Ok(anliegen_store::Output::Promise(p)) => p,
            Ok(_) => return Ok(()),
            // The promise is gone (never happens) or not due yet (the clock moved back): done.
            Err(e) if e.is_domain() => {
                tracing::warn!(promise = %id, error = %e, "promise job skipped");
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        // Overdue: the case escalates, once, here — one node runs this job at a time, and a
        // retry after a crash finds the escalation already made.
        if overdue {
            match anliegen_store::concern::escalate_overdue_promise(store, &promise).await {
                Ok(_) => {}
                Err(e) if e.is_domain() => {
                    tracing::warn!(promise = %id, error = %e, "escalation of an overdue promise skipped");
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}

/// Registers the housekeeping and promise handlers on `runner`.
pub fn register(runner: JobRunner) -> JobRunner {
    runner
        .handle(PURGE_IDEMPOTENCY, Arc::new(PurgeIdempotency))
        .handle(
            anliegen_web::api::promises::PROMISE_JOB,
            Arc::new(PromiseDue),
        )
}

/// Enqueues the hourly housekeeping jobs (one per hour, whichever node gets there first).
pub async fn schedule(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = store.now();
        let hour = now.as_second() / 3600;
        let job = NewJob::new(PURGE_IDEMPOTENCY, serde_json::json!({}))
            .dedupe(format!("{PURGE_IDEMPOTENCY}:{hour}"))
            .attempts(3);
        if let Err(e) = store.enqueue(&job, now).await {
            tracing::warn!(error = %e, "could not schedule housekeeping");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
