//! Jobs: the outbox (jobs commit with their command or not at all), dedupe keys, leases,
//! retries with backoff, dead letters, the runner, and claims that never hand a job out twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anliegen_core::TeamId;
use anliegen_store::jobs::{JobHandler, JobRunner, RunnerConfig};
use anliegen_store::{Command, Job, JobStatus, NewJob, Store, StoreError, Write};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::harness::*;

crate::conformance!(
    jobs_commit_with_their_command,
    dedupe_keys_make_enqueue_a_no_op,
    leases_retries_and_dead_letters,
    runner_runs_and_dead_letters,
    concurrent_claims_never_share_a_job,
    finished_jobs_are_purged_after_a_while,
);

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn after(t: Timestamp, by: i64) -> Timestamp {
    t.checked_add(secs(by)).expect("time in range")
}

async fn job_with_key(store: &Store, key: &str) -> anyhow::Result<Option<Job>> {
    Ok(store
        .jobs(None, 1000)
        .await?
        .into_iter()
        .find(|j| j.dedupe_key.as_deref() == Some(key)))
}

async fn jobs_commit_with_their_command(store: Store, _env: Env) -> anyhow::Result<()> {
    let nc = new_case(by_email("jobs@example.com"), "Send me a confirmation");
    let write = Write {
        actor: system(),
        command: Command::OpenCase(Box::new(nc)),
        jobs: vec![
            NewJob::new("mail.ack", json!({"to": "jobs@example.com"})).dedupe("ack:1"),
            NewJob::new("index", json!({})),
        ],
        idempotency: None,
    };
    let case = case_of(store.write(write).await?);
    let job = job_with_key(&store, "ack:1")
        .await?
        .expect("job enqueued with its command");
    assert_eq!(job.kind, "mail.ack");
    assert_eq!(job.payload, json!({"to": "jobs@example.com"}));
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.max_attempts, 5);
    assert_eq!(job.run_at, store.now());
    assert_eq!(job.lease_token, None);
    assert_eq!(store.job(job.id).await?.as_ref(), Some(&job));
    assert_eq!(store.jobs(None, 100).await?.len(), 2);
    assert_eq!(store.job_counts().await?.pending, 2);
    assert!(store.case(case.id).await?.is_some());

    // A refused command takes its jobs with it.
    let mut bad = new_case(by_email("jobs2@example.com"), "Bad team");
    bad.team_id = Some(TeamId::new());
    let write = Write {
        actor: system(),
        command: Command::OpenCase(Box::new(bad)),
        jobs: vec![NewJob::new("mail.ack", json!({})).dedupe("ack:2")],
        idempotency: None,
    };
    assert!(matches!(
        store.write(write).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(
        job_with_key(&store, "ack:2").await?,
        None,
        "a refused command's job was enqueued"
    );
    assert_eq!(store.jobs(None, 100).await?.len(), 2);

    // A job due later, enqueued alone.
    let later = after(store.now(), 3600);
    let write = Write {
        actor: system(),
        command: Command::EnqueueOnly,
        jobs: vec![NewJob::new("remind", json!(1)).at(later).attempts(2)],
        idempotency: None,
    };
    store.write(write).await?;
    let remind = store
        .jobs(Some(JobStatus::Pending), 100)
        .await?
        .into_iter()
        .find(|j| j.kind == "remind")
        .expect("remind job");
    assert_eq!((remind.run_at, remind.max_attempts), (later, 2));
    assert!(
        store
            .claim_jobs("w", 10, after(store.now(), 60), store.now())
            .await?
            .iter()
            .all(|j| j.kind != "remind"),
        "a job ran before its time"
    );
    Ok(())
}

async fn dedupe_keys_make_enqueue_a_no_op(store: Store, _env: Env) -> anyhow::Result<()> {
    let now = store.now();
    let first = store
        .enqueue(
            &NewJob::new("webhook", json!({"n": 1})).dedupe("hook:42"),
            now,
        )
        .await?;
    assert!(first.is_some());
    let second = store
        .enqueue(
            &NewJob::new("webhook", json!({"n": 2})).dedupe("hook:42"),
            now,
        )
        .await?;
    assert_eq!(
        second, None,
        "a second job with the same dedupe key was enqueued"
    );
    let job = job_with_key(&store, "hook:42").await?.expect("job");
    assert_eq!(Some(job.id), first);
    assert_eq!(
        job.payload,
        json!({"n": 1}),
        "the first job must stay as it was"
    );

    // Through the writer, in the same transaction as a command: also a no-op.
    let write = Write {
        actor: system(),
        command: Command::EnqueueOnly,
        jobs: vec![NewJob::new("webhook", json!({"n": 3})).dedupe("hook:42")],
        idempotency: None,
    };
    store.write(write).await?;
    assert_eq!(store.jobs(None, 100).await?.len(), 1);

    // Still a no-op after the job is done: at most one job per key, ever.
    let claimed = store.claim_jobs("w", 10, after(now, 60), now).await?;
    assert_eq!(claimed.len(), 1);
    assert!(store.complete_job(job.id, "w", now).await?);
    assert_eq!(
        store
            .enqueue(&NewJob::new("webhook", json!({})).dedupe("hook:42"), now)
            .await?,
        None
    );

    // Jobs without a key never collide.
    assert!(
        store
            .enqueue(&NewJob::new("index", json!({})), now)
            .await?
            .is_some()
    );
    assert!(
        store
            .enqueue(&NewJob::new("index", json!({})), now)
            .await?
            .is_some()
    );
    assert_eq!(store.jobs(None, 100).await?.len(), 3);
    Ok(())
}

async fn leases_retries_and_dead_letters(store: Store, env: Env) -> anyhow::Result<()> {
    let id = store
        .enqueue(&NewJob::new("sync", json!({})).attempts(3), store.now())
        .await?
        .expect("id");

    // First claim takes the lease.
    let now = store.now();
    let claimed = store.claim_jobs("w1", 10, after(now, 60), now).await?;
    assert_eq!(claimed.len(), 1);
    let j = &claimed[0];
    assert_eq!((j.id, j.status, j.attempts), (id, JobStatus::Running, 1));
    assert_eq!(j.lease_token.as_deref(), Some("w1"));
    assert_eq!(j.lease_until, Some(after(now, 60)));
    assert!(
        store
            .claim_jobs("w2", 10, after(now, 60), now)
            .await?
            .is_empty(),
        "a leased job was claimed twice"
    );
    env.advance(secs(59));
    let now = store.now();
    assert!(
        store
            .claim_jobs("w2", 10, after(now, 60), now)
            .await?
            .is_empty(),
        "claimed before the lease ran out"
    );
    assert!(
        !store.extend_lease(id, "w2", after(now, 60)).await?,
        "a stranger extended the lease"
    );

    // The lease runs out: another worker gets the job, as attempt 2.
    env.advance(secs(2));
    let now = store.now();
    let claimed = store.claim_jobs("w2", 10, after(now, 60), now).await?;
    assert_eq!(
        claimed
            .iter()
            .map(|j| (j.id, j.attempts))
            .collect::<Vec<_>>(),
        [(id, 2)]
    );
    assert!(
        !store.complete_job(id, "w1", now).await?,
        "the stale lease holder completed the job"
    );
    assert!(
        store
            .fail_job(id, "w1", "stale", after(now, 1), now)
            .await?
            .is_none(),
        "the stale lease holder failed the job"
    );
    let j = store.job(id).await?.expect("job");
    assert_eq!(
        (j.status, j.lease_token.as_deref()),
        (JobStatus::Running, Some("w2"))
    );
    assert!(store.extend_lease(id, "w2", after(now, 120)).await?);

    // A failure schedules a retry at the given time.
    assert_eq!(
        store
            .fail_job(id, "w2", "timeout", after(now, 30), now)
            .await?,
        Some(JobStatus::Pending)
    );
    let j = store.job(id).await?.expect("job");
    assert_eq!(
        (j.status, j.run_at, j.last_error.as_deref(), j.lease_token),
        (JobStatus::Pending, after(now, 30), Some("timeout"), None)
    );
    assert!(
        store
            .claim_jobs("w3", 10, after(now, 60), now)
            .await?
            .is_empty(),
        "retried before its backoff"
    );
    env.advance(secs(30));
    let now = store.now();
    let claimed = store.claim_jobs("w3", 10, after(now, 60), now).await?;
    assert_eq!(claimed.iter().map(|j| j.attempts).collect::<Vec<_>>(), [3]);

    // The last attempt fails: a dead letter, never claimed again.
    assert_eq!(
        store
            .fail_job(id, "w3", "still broken", after(now, 30), now)
            .await?,
        Some(JobStatus::Dead)
    );
    let j = store.job(id).await?.expect("job");
    assert_eq!(
        (j.status, j.attempts, j.last_error.as_deref()),
        (JobStatus::Dead, 3, Some("still broken"))
    );
    env.advance(secs(3600));
    let now = store.now();
    assert!(
        store
            .claim_jobs("w4", 10, after(now, 60), now)
            .await?
            .is_empty(),
        "a dead job was claimed"
    );
    assert_eq!(store.job_counts().await?.dead, 1);
    assert_eq!(
        store
            .jobs(Some(JobStatus::Dead), 10)
            .await?
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        [id]
    );

    // An admin revives it with fresh attempts; it runs to the end.
    assert!(store.retry_job(id, now).await?);
    let j = store.job(id).await?.expect("job");
    assert_eq!(
        (j.status, j.attempts, j.run_at),
        (JobStatus::Pending, 0, now)
    );
    let claimed = store.claim_jobs("w5", 10, after(now, 60), now).await?;
    assert_eq!(claimed.iter().map(|j| j.attempts).collect::<Vec<_>>(), [1]);
    assert!(store.complete_job(id, "w5", now).await?);
    assert!(!store.complete_job(id, "w5", now).await?, "completed twice");
    assert_eq!(
        store.job(id).await?.map(|j| j.status),
        Some(JobStatus::Done)
    );
    assert!(!store.retry_job(id, now).await?, "a done job was retried");
    let counts = store.job_counts().await?;
    assert_eq!(
        (counts.pending, counts.running, counts.dead, counts.done),
        (0, 0, 0, 1)
    );
    Ok(())
}

struct Record(Arc<Mutex<Vec<serde_json::Value>>>);

#[async_trait::async_trait]
impl JobHandler for Record {
    async fn run(&self, _store: &Store, job: &Job) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job.payload.clone());
        Ok(())
    }
}

struct Fail;

#[async_trait::async_trait]
impl JobHandler for Fail {
    async fn run(&self, _store: &Store, _job: &Job) -> Result<(), String> {
        Err("the carrier API said no".into())
    }
}

async fn runner_runs_and_dead_letters(store: Store, env: Env) -> anyhow::Result<()> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = RunnerConfig {
        lease: Duration::from_secs(30),
        concurrency: 4,
        poll: Duration::from_millis(20),
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(60),
    };
    let runner = JobRunner::new(store.clone(), config)
        .handle("record", Arc::new(Record(seen.clone())))
        .handle("fail", Arc::new(Fail));
    let now = store.now();
    let ok = store
        .enqueue(&NewJob::new("record", json!({"n": 1})), now)
        .await?
        .expect("id");
    let bad = store
        .enqueue(&NewJob::new("fail", json!({})).attempts(2), now)
        .await?
        .expect("id");
    let unknown = store
        .enqueue(
            &NewJob::new("nobody-handles-this", json!({})).attempts(1),
            now,
        )
        .await?
        .expect("id");

    assert_eq!(runner.run_once().await?, 3);
    assert_eq!(
        *seen.lock().unwrap_or_else(|e| e.into_inner()),
        vec![json!({"n": 1})]
    );
    assert_eq!(
        store.job(ok).await?.map(|j| j.status),
        Some(JobStatus::Done)
    );
    let j = store.job(bad).await?.expect("job");
    assert_eq!(
        (j.status, j.attempts, j.last_error.as_deref()),
        (JobStatus::Pending, 1, Some("the carrier API said no"))
    );
    // Backoff: base 10 s ± 20 %.
    let delay = j.run_at.duration_since(now);
    assert!(delay >= secs(8) && delay <= secs(12), "backoff {delay:?}");
    let j = store.job(unknown).await?.expect("job");
    assert_eq!(j.status, JobStatus::Dead);
    assert!(
        j.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no handler"),
        "{:?}",
        j.last_error
    );

    // Nothing is due until the backoff has passed.
    assert_eq!(runner.run_once().await?, 0);
    env.advance(secs(13));
    assert_eq!(runner.run_once().await?, 1);
    let j = store.job(bad).await?.expect("job");
    assert_eq!(
        (j.status, j.attempts),
        (JobStatus::Dead, 2),
        "the failing job is a dead letter after its attempts"
    );
    let counts = store.job_counts().await?;
    assert_eq!(
        (counts.done, counts.dead, counts.pending, counts.running),
        (1, 2, 0, 0)
    );

    // The long-running loop picks up new work and stops when told.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let looping = tokio::spawn(runner.clone().run(stop_rx));
    let later = store
        .enqueue(&NewJob::new("record", json!({"n": 2})), store.now())
        .await?
        .expect("id");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.job(later).await?.map(|j| j.status) != Some(JobStatus::Done) {
        assert!(
            std::time::Instant::now() < deadline,
            "the runner loop did not run the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true)?;
    tokio::time::timeout(Duration::from_secs(10), looping).await??;
    assert_eq!(seen.lock().unwrap_or_else(|e| e.into_inner()).len(), 2);
    Ok(())
}

async fn concurrent_claims_never_share_a_job(store: Store, env: Env) -> anyhow::Result<()> {
    const JOBS: usize = 120;
    let now = store.now();
    let jobs: Vec<NewJob> = (0..JOBS).map(|i| NewJob::new("work", json!(i))).collect();
    store
        .write(Write {
            actor: system(),
            command: Command::EnqueueOnly,
            jobs,
            idempotency: None,
        })
        .await?;

    // Claimers on this node and, on PostgreSQL, on a second one.
    let nodes = match env.kind {
        Kind::Postgres => vec![store.clone(), env.open_store().await?],
        Kind::Sqlite => vec![store.clone()],
    };
    let mut tasks = Vec::new();
    for w in 0..8 {
        let node = nodes[w % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = node
                    .claim_jobs(&format!("w{w}"), 3, after(now, 60), now)
                    .await?;
                if got.is_empty() {
                    return Ok::<_, anyhow::Error>(mine);
                }
                for j in got {
                    anyhow::ensure!(j.lease_token.as_deref() == Some(format!("w{w}").as_str()));
                    mine.push(j.id);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    let mut workers_with_jobs = 0;
    for t in tasks {
        let mine = t.await??;
        workers_with_jobs += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job was handed to two claimers");
    assert_eq!(all.len(), JOBS, "not every job was claimed");
    assert!(workers_with_jobs > 1, "claims did not run concurrently");
    let running = store.jobs(Some(JobStatus::Running), 1000).await?;
    assert_eq!(running.len(), JOBS);
    assert!(
        running.iter().all(|j| j.attempts == 1),
        "a job was claimed more than once"
    );
    Ok(())
}

/// Finished jobs older than the cut-off go; pending ones and dead letters stay.
async fn finished_jobs_are_purged_after_a_while(store: Store, env: Env) -> anyhow::Result<()> {
    let done = store
        .enqueue(
            &NewJob::new("tick", json!({})).dedupe("tick:1"),
            store.now(),
        )
        .await?
        .expect("id");
    let dead = store
        .enqueue(&NewJob::new("broken", json!({})).attempts(1), store.now())
        .await?
        .expect("id");
    let now = store.now();
    for j in store.claim_jobs("w", 10, after(now, 60), now).await? {
        if j.id == done {
            store.complete_job(j.id, "w", now).await?;
        } else {
            store.fail_job(j.id, "w", "kaputt", now, now).await?;
        }
    }
    let waiting = store
        .enqueue(&NewJob::new("later", json!({})), after(now, 86_400))
        .await?
        .expect("id");
    env.advance(secs(3600));
    assert_eq!(store.purge_done_jobs(now - secs(1)).await?, 0, "too young");
    assert_eq!(store.purge_done_jobs(store.now()).await?, 1);
    assert!(store.job(done).await?.is_none());
    assert_eq!(
        store.job(dead).await?.map(|j| j.status),
        Some(JobStatus::Dead)
    );
    assert_eq!(
        store.job(waiting).await?.map(|j| j.status),
        Some(JobStatus::Pending)
    );
    Ok(())
}
