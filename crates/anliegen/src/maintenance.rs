//! Housekeeping jobs and their schedule: each firing is a job with a unique dedupe key, so it
//! runs once per occurrence even with several nodes.

use std::sync::Arc;
use std::time::Duration;

use anliegen_store::jobs::{JobHandler, JobRunner};
use anliegen_store::{Job, NewJob, Store};
use tokio::sync::watch;

/// Deletes idempotency records older than 24 h and finished jobs older than a week.
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
        // Finished jobs are kept a week for the admin page (the timers job alone adds 2,880 a
        // day); dead letters stay until an admin retries them.
        let n = store
            .purge_done_jobs(store.now() - jiff::SignedDuration::from_hours(7 * 24))
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 {
            tracing::info!(deleted = n, "purged finished jobs older than a week");
        }
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

/// The timers job: what falls due with the clock rather than with an event — SLA warnings and
/// breaches, timer rules of automations. One per slot of [`TIMER_SLOT_SECONDS`], whichever node enqueues it first.
pub const TIMERS: &str = "timers";

/// Length of a timer slot: anything due is handled within this (plus the tick).
pub const TIMER_SLOT_SECONDS: i64 = 30;

struct Timers;

#[async_trait::async_trait]
impl JobHandler for Timers {
    async fn run(&self, store: &Store, _job: &Job) -> Result<(), String> {
        let n = anliegen_store::sla::sweep(store)
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 {
            tracing::info!(recorded = n, "SLA warnings and breaches recorded");
        }
        let n = crate::automation::run_timers(store)
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 {
            tracing::info!(cases = n, "timer rules ran");
        }
        Ok(())
    }
}

/// Recomputes every open case's SLA due times after policies or calendars changed.
struct SlaRecompute;

#[async_trait::async_trait]
impl JobHandler for SlaRecompute {
    async fn run(&self, store: &Store, _job: &Job) -> Result<(), String> {
        let started = std::time::Instant::now();
        let n = anliegen_store::sla::recompute_all(store)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            saved = n,
            seconds = started.elapsed().as_secs_f64(),
            "SLA due times recomputed"
        );
        Ok(())
    }
}

/// Registers the housekeeping and promise handlers on `runner`.
pub fn register(runner: JobRunner) -> JobRunner {
    runner
        .handle(PURGE_IDEMPOTENCY, Arc::new(PurgeIdempotency))
        .handle(TIMERS, Arc::new(Timers))
        .handle(anliegen_store::sla::RECOMPUTE_JOB, Arc::new(SlaRecompute))
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

/// Enqueues the timers job once per slot of the store's clock; checks every `tick`.
pub async fn tick(store: Store, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = store.now();
        let slot = now.as_second().div_euclid(TIMER_SLOT_SECONDS);
        let job = NewJob::new(TIMERS, serde_json::json!({}))
            .dedupe(format!("{TIMERS}:{slot}"))
            .attempts(3);
        if let Err(e) = store.enqueue(&job, now).await {
            tracing::warn!(error = %e, "could not schedule the timers");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}
