//! The job runner: claims due jobs under a lease, keeps the lease alive while a job runs and
//! aborts the job if the lease is lost (so one job never runs twice at the same time), retries
//! failures with exponential backoff, and leaves dead letters for admins. Execution is
//! at-least-once; handlers make their effects idempotent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use rand::Rng as _;
use tokio::sync::watch;

use crate::Store;
use crate::model::Job;

/// Does the work of one job kind.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Runs `job`; `Err` holds a message for the dead-letter list.
    async fn run(&self, store: &Store, job: &Job) -> Result<(), String>;
}

/// Settings of a runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How long a claim holds before another worker may take the job.
    pub lease: Duration,
    /// Jobs claimed and run at once.
    pub concurrency: usize,
    /// How often to look for due jobs when idle.
    pub poll: Duration,
    /// First retry delay; doubles per attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            concurrency: 4,
            poll: Duration::from_millis(500),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// Claims and runs jobs with the handlers registered for their kinds.
#[derive(Clone)]
pub struct JobRunner {
    store: Store,
    handlers: Arc<HashMap<String, Arc<dyn JobHandler>>>,
    config: RunnerConfig,
    worker: String,
}

impl JobRunner {
    /// A runner with no handlers yet.
    pub fn new(store: Store, config: RunnerConfig) -> Self {
        Self {
            store,
            handlers: Arc::new(HashMap::new()),
            config,
            worker: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Registers the handler of `kind`.
    pub fn handle(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Self {
        Arc::make_mut(&mut self.handlers).insert(kind.to_owned(), handler);
        self
    }

    /// Delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, ±20 % jitter.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let raw = self
            .config
            .backoff_base
            .saturating_mul(2u32.saturating_pow(exp));
        let capped = raw.min(self.config.backoff_max);
        let jitter = rand::rng().random_range(0.8..1.2);
        capped.mul_f64(jitter)
    }

    /// Claims one round of due jobs and runs them to the end; returns how many ran.
    pub async fn run_once(&self) -> crate::Result<usize> {
        let now = self.store.now();
        let lease_token = format!("{}:{}", self.worker, uuid::Uuid::now_v7());
        let until = now
            .checked_add(
                SignedDuration::try_from(self.config.lease)
                    .unwrap_or(SignedDuration::from_secs(60)),
            )
            .unwrap_or(now);
        let jobs = self
            .store
            .claim_jobs(&lease_token, self.config.concurrency as i64, until, now)
            .await?;
        let n = jobs.len();
        let mut tasks = Vec::with_capacity(n);
        for job in jobs {
            let me = self.clone();
            let token = lease_token.clone();
            tasks.push(tokio::spawn(async move { me.execute(job, token).await }));
        }
        for t in tasks {
            t.await.ok();
        }
        Ok(n)
    }

    async fn execute(&self, job: Job, token: String) {
        let started = std::time::Instant::now();
        let outcome = if job.attempts > job.max_attempts {
            Err("lease expired on every attempt".to_owned())
        } else if let Some(handler) = self.handlers.get(&job.kind).cloned() {
            self.run_leased(&job, &token, handler).await
        } else {
            Err(format!("no handler for job kind '{}'", job.kind))
        };
        let now = self.store.now();
        match outcome {
            Ok(()) => {
                if let Err(e) = self.store.complete_job(job.id, &token, now).await {
                    tracing::error!(job = %job.id, error = %e, "could not mark job done");
                }
                metrics::counter!("anliegen_jobs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
            }
            Err(msg) => {
                let delay = SignedDuration::try_from(self.backoff(job.attempts))
                    .unwrap_or(SignedDuration::from_secs(5));
                let retry_at = now.checked_add(delay).unwrap_or(now);
                match self
                    .store
                    .fail_job(job.id, &token, &msg, retry_at, now)
                    .await
                {
                    Ok(Some(crate::JobStatus::Dead)) => {
                        tracing::warn!(job = %job.id, kind = %job.kind, error = %msg, "job is a dead letter");
                        metrics::counter!("anliegen_jobs_total", "kind" => job.kind.clone(), "outcome" => "dead").increment(1);
                    }
                    Ok(_) => {
                        tracing::info!(job = %job.id, kind = %job.kind, error = %msg, attempt = job.attempts, "job failed; will retry");
                        metrics::counter!("anliegen_jobs_total", "kind" => job.kind.clone(), "outcome" => "retry").increment(1);
                    }
                    Err(e) => {
                        tracing::error!(job = %job.id, error = %e, "could not record job failure")
                    }
                }
            }
        }
        metrics::histogram!("anliegen_job_seconds", "kind" => job.kind)
            .record(started.elapsed().as_secs_f64());
    }

    /// Runs the handler while renewing the lease; aborts it when the lease is lost.
    async fn run_leased(
        &self,
        job: &Job,
        token: &str,
        handler: Arc<dyn JobHandler>,
    ) -> Result<(), String> {
        let store = self.store.clone();
        let j = job.clone();
        let mut work = tokio::spawn(async move { handler.run(&store, &j).await });
        let beat = (self.config.lease / 3).max(Duration::from_millis(50));
        // Until when we surely hold the lease; past it another worker may have the job.
        let mut held_until = std::time::Instant::now() + self.config.lease;
        loop {
            tokio::select! {
                r = &mut work => {
                    return r.unwrap_or_else(|e| Err(format!("job task failed: {e}")));
                }
                _ = tokio::time::sleep(beat) => {
                    let now = self.store.now();
                    let until = now.checked_add(SignedDuration::try_from(self.config.lease).unwrap_or(SignedDuration::from_secs(60))).unwrap_or(now);
                    match self.store.extend_lease(job.id, token, until).await {
                        Ok(true) => held_until = std::time::Instant::now() + self.config.lease,
                        Ok(false) => {
                            work.abort();
                            tracing::warn!(job = %job.id, "lease lost; job aborted so it cannot run twice at once");
                            return Err("lease lost".into());
                        }
                        Err(e) => {
                            tracing::warn!(job = %job.id, error = %e, "could not extend lease");
                            if std::time::Instant::now() + beat >= held_until {
                                work.abort();
                                return Err("lease could not be renewed".into());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let ran = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "claiming jobs failed");
                    0
                }
            };
            if ran == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}
