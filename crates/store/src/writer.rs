//! The group-commit writer: concurrent writes queue here and are applied many per transaction,
//! each answered only after its transaction committed. Throughput comes from batching, not
//! from weaker durability. If a batch fails as a whole, each write is retried on its own, so
//! one bad write never takes others down with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anliegen_core::Clock;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use crate::Backend;
use crate::error::{Result, StoreError};
use crate::model::{Output, Write};

/// Most writes in one transaction.
const MAX_BATCH: usize = 256;

struct Pending {
    write: Write,
    reply: oneshot::Sender<Result<Output>>,
}

#[derive(Clone)]
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Pending>,
    commits: watch::Receiver<u64>,
    queued: Arc<AtomicUsize>,
    stop: Arc<watch::Sender<bool>>,
    /// Resolves when every writer loop has ended.
    done: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

impl WriterHandle {
    pub(crate) fn start(backend: Arc<dyn Backend>, clock: Arc<dyn Clock>, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Pending>(8192);
        let (commit_tx, commits) = watch::channel(0u64);
        let rx = Arc::new(Mutex::new(rx));
        let commit_tx = Arc::new(commit_tx);
        let queued = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(watch::Sender::new(false));
        let loops: Vec<_> = (0..writers.max(1))
            .map(|_| {
                run(
                    backend.clone(),
                    clock.clone(),
                    rx.clone(),
                    commit_tx.clone(),
                    queued.clone(),
                    stop.subscribe(),
                )
            })
            .collect();
        // The writers get a thread and runtime of their own: on the shared runtime every await
        // of a batch would queue behind the HTTP tasks, and the single writer is the path every
        // write takes.
        let (done_tx, done) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(rt) => {
                let spawned = std::thread::Builder::new()
                    .name("anliegen-writer".into())
                    .spawn(move || {
                        rt.block_on(futures::future::join_all(loops));
                        done_tx.send(()).ok();
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "could not start the writer thread");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no runtime for the writer; running it on the shared one");
                tokio::spawn(async move {
                    futures::future::join_all(loops).await;
                    done_tx.send(()).ok();
                });
            }
        }
        Self {
            tx,
            commits,
            queued,
            stop,
            done: Arc::new(Mutex::new(Some(done))),
        }
    }

    pub(crate) async fn submit(&self, write: Write) -> Result<Output> {
        let (reply, answer) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Pending { write, reply }).await.is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?
    }

    pub(crate) fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    pub(crate) async fn shutdown(&self) {
        self.stop.send_replace(true);
        let done = self.done.lock().await.take();
        if let Some(done) = done {
            done.await.ok();
        }
    }
}

async fn next_batch(
    rx: &Mutex<mpsc::Receiver<Pending>>,
    stop: &mut watch::Receiver<bool>,
    stopping: &mut bool,
) -> Option<Vec<Pending>> {
    let mut rx = rx.lock().await;
    let first = if *stopping {
        rx.recv().await?
    } else {
        tokio::select! {
            p = rx.recv() => p?,
            _ = async { let _ = stop.wait_for(|s| *s).await.is_ok(); } => {
                // Take no new writes; finish what is queued.
                *stopping = true;
                rx.close();
                rx.recv().await?
            }
        }
    };
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
    // New cases and mail first, everything else after them. The writes of one batch were all
    // in flight together, so any order is one they could have had; this one lets the new cases
    // share the batch's identity lookup and their inserts, where each other command in between
    // would flush the rows buffered so far and make the following new cases look up on their own.
    batch.sort_by_key(|p| !p.write.command.is_intake());
    Some(batch)
}

async fn run(
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    commits: Arc<watch::Sender<u64>>,
    queued: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let mut stopping = false;
    // Batches committed and waiting for their sync (see `Backend::make_durable`).
    let mut syncing = tokio::task::JoinSet::new();
    while let Some(batch) = next_batch(&rx, &mut stop, &mut stopping).await {
        while syncing.try_join_next().is_some() {}
        queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let (writes, replies): (Vec<Write>, Vec<oneshot::Sender<Result<Output>>>) =
            batch.into_iter().map(|p| (p.write, p.reply)).unzip();
        let started = std::time::Instant::now();
        metrics::histogram!("anliegen_write_batch_size").record(writes.len() as f64);
        match backend.run_batch(&writes, clock.now()).await {
            Ok(results) if backend.syncs_after_commit() => {
                // The next batch is applied while this one's sync runs; its writers hear
                // only after it.
                let backend = backend.clone();
                let commits = commits.clone();
                syncing.spawn(async move {
                    let synced = backend.make_durable().await;
                    commits.send_modify(|n| *n += 1);
                    for (reply, result) in replies.into_iter().zip(results) {
                        reply.send(durable(&synced, result)).ok();
                    }
                });
            }
            Ok(results) => {
                commits.send_modify(|n| *n += 1);
                for (reply, result) in replies.into_iter().zip(results) {
                    reply.send(result).ok();
                }
            }
            Err(e) if writes.len() == 1 => {
                let result = match writes.first() {
                    Some(write) if retryable(&e) => run_alone(&*backend, write, &*clock).await,
                    _ => Err(e),
                };
                if let Some(reply) = replies.into_iter().next() {
                    reply.send(result).ok();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = writes.len(), "batch rolled back; retrying its writes one by one");
                for (write, reply) in writes.iter().zip(replies) {
                    let result = run_alone(&*backend, write, &*clock).await;
                    commits.send_modify(|n| *n += 1);
                    reply.send(result).ok();
                }
            }
        }
        metrics::histogram!("anliegen_write_batch_seconds").record(started.elapsed().as_secs_f64());
    }
    // Every committed batch is answered before the writer ends.
    while syncing.join_next().await.is_some() {}
}

/// A write's result once its batch's sync finished: a failed sync fails the write (it was
/// committed but may not survive a crash; a retry with its idempotency key gets the stored answer).
fn durable(synced: &Result<()>, result: Result<Output>) -> Result<Output> {
    match synced {
        Ok(()) => result,
        Err(e) => Err(StoreError::Unavailable(format!(
            "the commit could not be made durable: {e}"
        ))),
    }
}

/// Runs one write in a transaction of its own (durable when it returns).
async fn run_one(backend: &dyn Backend, write: &Write, clock: &dyn Clock) -> Result<Output> {
    let mut results = backend
        .run_batch(std::slice::from_ref(write), clock.now())
        .await?;
    let result = results
        .pop()
        .unwrap_or_else(|| Err(StoreError::Unavailable("empty batch result".into())));
    let synced = backend.make_durable().await;
    durable(&synced, result)
}

/// Runs one write alone; a conflict with another writer's transaction (a unique key both
/// inserted, a serialisation failure) is tried again, up to three times in all.
async fn run_alone(backend: &dyn Backend, write: &Write, clock: &dyn Clock) -> Result<Output> {
    let mut tries = 0;
    loop {
        tries += 1;
        match run_one(backend, write, clock).await {
            Err(e) if tries < 3 && retryable(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(2 * tries)).await;
            }
            other => return other,
        }
    }
}

/// A failure that another transaction caused and that a second try resolves.
fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) => {
            matches!(d.code().as_deref(), Some("23505" | "40001" | "40P01"))
        }
        _ => false,
    }
}
