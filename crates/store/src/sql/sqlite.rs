//! The embedded backend: one SQLite file in WAL mode, plus pack files for large blobs. One
//! connection writes (the group-commit writer); readers run beside it. The writer commits with
//! `synchronous=NORMAL` (the commit appends to the WAL without fsync) and [`WalSync`] then
//! fsyncs the WAL for every batch committed so far, beside the next batch; the writer answers a
//! batch only after that. Other connections (checkpoints) keep `synchronous=FULL`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::blob::{INLINE_MAX, Packs};

type Db = sqlx::Sqlite;

const KIND: crate::BackendKind = crate::BackendKind::Sqlite;

/// No lock needed: the single writer runs one transaction at a time.
const ASSIGN_LOCK_SQL: Option<&str> = None;

const CLAIM_JOBS_SQL: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = $1, \
     lease_until = $2, updated_at = $3 WHERE id IN (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $3) \
     OR (status = 'running' AND lease_until < $3) ORDER BY run_at LIMIT $4)";

/// The SQLite store.
pub struct Backend {
    pool: sqlx::SqlitePool,
    write_pool: sqlx::SqlitePool,
    packs: Packs,
    /// Side writes waiting for the writer's next batch (see [`Backend::side`]).
    side_jobs: std::sync::Mutex<Vec<SideJob>>,
    /// Batches in progress (a side write waits for the next one only while there are).
    batches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Makes the writer's commits durable (see the module comment).
    wal: WalSync,
}

impl Backend {
    /// Opens (creating) the store in `dir` and runs migrations.
    pub async fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("anliegen.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-8000");
        // The writer never checkpoints the WAL itself (that would stall the commit it happens
        // in); a background task checkpoints passively beside it.
        let write_opts = opts
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .synchronous(SqliteSynchronous::Normal);
        let write_pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .connect_with(write_opts)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&write_pool).await?;
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(4)
            .connect_with(opts)
            .await?;
        tokio::spawn(checkpoint_wal(pool.clone()));
        Ok(Self {
            pool,
            write_pool,
            packs: Packs::open(dir.join("blobs"))?,
            side_jobs: std::sync::Mutex::new(Vec::new()),
            batches: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            wal: WalSync::new(dir.join("anliegen.db-wal")),
        })
    }
}

/// Group fsync of the WAL. Each call makes durable what was committed before it: it takes a
/// ticket, waits for the sync in progress, and returns at once when a sync that began after its
/// ticket has finished (one fsync serves every batch committed while the previous one ran).
struct WalSync {
    path: std::path::PathBuf,
    /// Tickets handed out (one per call).
    issued: std::sync::atomic::AtomicU64,
    /// The highest ticket a finished sync covers.
    synced: tokio::sync::Mutex<u64>,
}

impl WalSync {
    fn new(path: std::path::PathBuf) -> Self {
        Self {
            path,
            issued: std::sync::atomic::AtomicU64::new(0),
            synced: tokio::sync::Mutex::new(0),
        }
    }

    async fn sync(&self) -> Result<()> {
        let ticket = self
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            return Ok(());
        }
        // Everything committed up to here is covered by this sync.
        let upto = self.issued.load(std::sync::atomic::Ordering::Acquire);
        let path = self.path.clone();
        let t = std::time::Instant::now();
        tokio::task::spawn_blocking(move || {
            match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(f) => f.sync_data(),
                // No WAL: the last connection closed and checkpointed it into the database file,
                // which that checkpoint synced (`synchronous=FULL` there).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("WAL sync: {e}")))??;
        metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "sync")
            .record(t.elapsed().as_secs_f64());
        *synced = upto;
        Ok(())
    }
}

async fn make_durable_of(b: &Backend) -> Result<()> {
    b.wal.sync().await
}

fn syncs_after_commit_of(_b: &Backend) -> bool {
    true
}

/// Copies committed WAL frames into the database file every second without blocking the
/// writer (`PASSIVE`), so the WAL stays small and commits stay cheap.
async fn checkpoint_wal(pool: sqlx::SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        {
            Ok(row) => {
                // Under constant load a passive checkpoint never gets to restart the WAL; past
                // ~256 MB, restart it (this waits for readers and briefly holds the writer).
                let frames: i64 = sqlx::Row::try_get(&row, 1).unwrap_or(0);
                if frames > 64_000
                    && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(&pool)
                        .await
                {
                    tracing::warn!(error = %e, "WAL truncation failed");
                }
            }
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }
}

async fn begin_write(pool: &sqlx::SqlitePool) -> Result<sqlx::Transaction<'static, Db>> {
    let t = std::time::Instant::now();
    let conn = pool.acquire().await?;
    metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "acquire")
        .record(t.elapsed().as_secs_f64());
    begin_on(conn).await
}

async fn begin_on(conn: sqlx::pool::PoolConnection<Db>) -> Result<sqlx::Transaction<'static, Db>> {
    // IMMEDIATE takes the write lock up front: a deferred transaction that read first could
    // fail with SQLITE_BUSY_SNAPSHOT when another connection wrote in between.
    Ok(sqlx::Transaction::begin(
        conn,
        Some(sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE")),
    )
    .await?)
}

/// How long a side write waits, while the writer is busy, for it to take the write into a
/// batch before running it on its own.
const SIDE_WAIT: Duration = Duration::from_millis(25);

/// The batch's known identities with their customers (`kind`, `value`, `id`, `language`,
/// `merged_into`).
async fn identity_rows(
    conn: &mut Conn,
    pairs: &[(&str, &str)],
) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
        "SELECT i.kind, i.value, c.id, c.language, c.merged_into FROM identities i \
         JOIN customers c ON c.id = i.customer_id WHERE (i.kind, i.value) IN ",
    );
    qb.push_tuples(pairs, |mut b, (kind, value)| {
        b.push_bind(kind.to_string()).push_bind(value.to_string());
    });
    Ok(qb.build().fetch_all(&mut *conn).await?)
}

/// The stored answers for the batch's idempotency claims.
async fn idempotency_rows(
    conn: &mut Conn,
    claims: &[(&str, &str)],
) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
        "SELECT scope, key, request_hash, status, body, created_at FROM idempotency WHERE (scope, key) IN ",
    );
    qb.push_tuples(claims, |mut b, (scope, key)| {
        b.push_bind(scope.to_string()).push_bind(key.to_string());
    });
    Ok(qb.build().fetch_all(&mut *conn).await?)
}

/// Counts a batch in progress until dropped.
struct Busy(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn writer_busy(b: &Backend) -> Busy {
    b.batches.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    Busy(b.batches.clone())
}

fn take_side_jobs(b: &Backend) -> Vec<SideJob> {
    b.side_jobs
        .lock()
        .map(|mut q| std::mem::take(&mut *q))
        .unwrap_or_default()
}

impl Backend {
    /// Runs a side write (a projection's step, a checkpoint). SQLite has one writer: a side
    /// write of its own would wait for the connection, hold it for its statements and pay a
    /// commit (fsync) of its own, all while the group-commit writer waits. So it is queued and,
    /// while the writer is busy, its next batch runs it in its transaction; when the writer is
    /// idle (or no batch takes it within `SIDE_WAIT`), it runs here with whatever is queued.
    async fn side<T: Send + 'static>(&self, f: impl SideWrite<T>) -> Result<T> {
        let (job, mut answer) = SideJob::new(f);
        if let Ok(mut q) = self.side_jobs.lock() {
            q.push(job);
        }
        let lost = |_| StoreError::Unavailable("a side write was dropped".into());
        if self.batches.load(std::sync::atomic::Ordering::Acquire) > 0 {
            tokio::select! {
                biased;
                r = &mut answer => return r.map_err(lost)?,
                _ = tokio::time::sleep(SIDE_WAIT) => {}
            }
        }
        let conn = tokio::select! {
            biased;
            r = &mut answer => return r.map_err(lost)?,
            c = self.write_pool.acquire() => c?,
        };
        let jobs = take_side_jobs(self);
        if !jobs.is_empty() {
            let mut tx = begin_on(conn).await?;
            match run_side_jobs(&mut tx, jobs).await {
                Ok(done) => {
                    let committed = tx.commit().await;
                    finish_side_jobs(done, committed.map_err(|e| e.to_string()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "side writes failed");
                    tx.rollback().await.ok();
                }
            }
        } else {
            drop(conn);
        }
        answer.await.map_err(lost)?
    }
}

/// Case numbers are counted in memory within a batch (the single writer holds the write lock)
/// and stored once at its end by [`finish_batch`].
async fn next_case_number(conn: &mut Conn, ctx: &mut BatchCtx) -> Result<i64> {
    let last = match ctx.case_number {
        Some(n) => n,
        None => {
            sqlx::query_scalar("SELECT value FROM counters WHERE name = 'case_number'")
                .fetch_one(&mut *conn)
                .await?
        }
    };
    ctx.case_number = Some(last + 1);
    Ok(last + 1)
}

async fn finish_batch(conn: &mut Conn, ctx: &BatchCtx) -> Result<()> {
    if let Some(n) = ctx.case_number {
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'case_number'")
            .bind(n)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn prefetch_case_numbers(_conn: &mut Conn, ctx: &mut BatchCtx, _n: usize) -> Result<()> {
    // Counted in memory; see `next_case_number`.
    debug_assert!(ctx.case_pool.is_empty());
    Ok(())
}

async fn lock_event_log(_conn: &mut Conn) -> Result<()> {
    // One writer at a time holds SQLite's write lock: sequence order is commit order already.
    Ok(())
}

fn pg_pool_of(_b: &Backend) -> Option<sqlx::PgPool> {
    None
}

async fn lock_checkpoint(_conn: &mut Conn, _name: &str) -> Result<()> {
    Ok(())
}

async fn prepare_blobs(b: &Backend, writes: &[Write]) -> Result<PreparedBlobs> {
    let mut prepared = PreparedBlobs::default();
    let mut hashes = Vec::new();
    let mut datas = Vec::new();
    for w in writes {
        for data in w.command.blobs() {
            if data.len() <= INLINE_MAX {
                continue;
            }
            let h = crate::blob::hash(data);
            if hashes.contains(&h) {
                continue;
            }
            let known: Option<String> =
                sqlx::query_scalar("SELECT hash FROM blobs WHERE hash = $1")
                    .bind(&h)
                    .fetch_optional(&b.pool)
                    .await?;
            if known.is_none() {
                hashes.push(h);
                datas.push(Arc::clone(data));
            }
        }
    }
    if !datas.is_empty() {
        let locs = b.packs.append(datas).await?;
        for (h, loc) in hashes.into_iter().zip(locs) {
            prepared.insert(h, loc);
        }
    }
    Ok(prepared)
}

async fn read_pack(b: &Backend, pack: i64, offset: i64, size: i64) -> Result<Vec<u8>> {
    Ok(b.packs.read(pack, offset, size).await?)
}

impl Backend {
    /// Writes beside the group-commit writer (jobs, checkpoints, housekeeping) share its one
    /// connection: they then wait their turn in the pool instead of in SQLite's busy handler,
    /// whose millisecond sleeps would stall the writer.
    fn side_pool(&self) -> &sqlx::SqlitePool {
        &self.write_pool
    }
}

include!("common.rs");
