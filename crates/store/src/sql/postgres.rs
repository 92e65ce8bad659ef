//! The scale-out backend: PostgreSQL holds state, events, jobs and blobs; any number of app
//! nodes share it. Event sequence numbers are drawn under a transaction-level advisory lock
//! taken just before commit, so they are assigned in commit order (gap-safe for followers).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

type Db = sqlx::Postgres;

const KIND: crate::BackendKind = crate::BackendKind::Postgres;

/// Key of the advisory lock that serialises event-sequence assignment.
const EVENT_LOG_LOCK: i64 = 0x616e_6c69_6567_0001;

/// Serialises automatic assignment across concurrent writers and nodes (one transaction-scoped
/// advisory lock: no lock-order deadlocks between teams that share agents).
const ASSIGN_LOCK_SQL: Option<&str> = Some("SELECT pg_advisory_xact_lock(7311734653186261)");

const CLAIM_JOBS_SQL: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = $1, \
     lease_until = $2, updated_at = $3 WHERE id IN (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $3) \
     OR (status = 'running' AND lease_until < $3) ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED)";

/// The PostgreSQL store.
pub struct Backend {
    pool: sqlx::PgPool,
    write_pool: sqlx::PgPool,
}

impl Backend {
    /// Connects to `url`, with `writers` connections for the group-commit writers, and runs
    /// migrations (safe with several nodes starting at once: sqlx takes a lock).
    pub async fn open(url: &str, writers: u32) -> Result<Self> {
        let opts: PgConnectOptions = url.parse()?;
        let opts = opts.application_name("anliegen");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        let write_pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(writers.max(1))
            .connect_with(opts)
            .await?;
        Ok(Self { pool, write_pool })
    }
}

async fn begin_write(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

async fn next_case_number(conn: &mut Conn, ctx: &mut BatchCtx) -> Result<i64> {
    match ctx.case_pool.pop() {
        Some(n) => Ok(n),
        None => Ok(sqlx::query_scalar("SELECT nextval('case_numbers')")
            .fetch_one(&mut *conn)
            .await?),
    }
}

async fn finish_batch(_conn: &mut Conn, ctx: &BatchCtx) -> Result<()> {
    // Case numbers come from a sequence here; nothing is counted in memory.
    debug_assert!(ctx.case_number.is_none());
    Ok(())
}

/// Draws the batch's case numbers in one round trip.
async fn prefetch_case_numbers(conn: &mut Conn, ctx: &mut BatchCtx, n: usize) -> Result<()> {
    if n > 0 {
        let mut numbers: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('case_numbers') FROM generate_series(1, $1)")
                .bind(n as i64)
                .fetch_all(&mut *conn)
                .await?;
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        ctx.case_pool = numbers;
    }
    Ok(())
}

async fn lock_event_log(conn: &mut Conn) -> Result<()> {
    // Held until commit. PostgreSQL makes a transaction visible before it releases its locks,
    // so the next writer draws its numbers only after ours are visible.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENT_LOG_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn pg_pool_of(b: &Backend) -> Option<sqlx::PgPool> {
    Some(b.pool.clone())
}

async fn lock_checkpoint(conn: &mut Conn, name: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("projection:{name}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn prepare_blobs(_b: &Backend, _writes: &[Write]) -> Result<PreparedBlobs> {
    // Every blob is stored in the database (bytea) so all nodes see it.
    Ok(PreparedBlobs::default())
}

async fn read_pack(_b: &Backend, pack: i64, _offset: i64, _size: i64) -> Result<Vec<u8>> {
    Err(StoreError::Corrupt(format!(
        "a PostgreSQL store has no pack files (pack {pack} referenced)"
    )))
}

/// The batch's known identities with their customers (`kind`, `value`, `id`, `language`,
/// `merged_into`). One statement text whatever the batch's size (arrays, not a list of
/// tuples), so PostgreSQL parses and plans it once per connection, not once per batch.
async fn identity_rows(
    conn: &mut Conn,
    pairs: &[(&str, &str)],
) -> Result<Vec<sqlx::postgres::PgRow>> {
    let kinds: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    Ok(sqlx::query(
        "SELECT i.kind, i.value, c.id, c.language, c.merged_into FROM unnest($1::text[], $2::text[]) AS w(kind, value) \
         JOIN identities i ON i.kind = w.kind AND i.value = w.value JOIN customers c ON c.id = i.customer_id",
    )
    .bind(kinds)
    .bind(values)
    .fetch_all(&mut *conn)
    .await?)
}

/// The stored answers for the batch's idempotency claims (one statement text, as above).
async fn idempotency_rows(
    conn: &mut Conn,
    claims: &[(&str, &str)],
) -> Result<Vec<sqlx::postgres::PgRow>> {
    let scopes: Vec<&str> = claims.iter().map(|(s, _)| *s).collect();
    let keys: Vec<&str> = claims.iter().map(|(_, k)| *k).collect();
    Ok(sqlx::query(
        "SELECT i.scope, i.key, i.request_hash, i.status, i.body, i.created_at FROM unnest($1::text[], $2::text[]) AS w(scope, key) \
         JOIN idempotency i ON i.scope = w.scope AND i.key = w.key",
    )
    .bind(scopes)
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?)
}

/// (Nothing to count: side writes do not wait for the writer here.)
struct Busy;

/// PostgreSQL's commit is durable itself (`synchronous_commit` on).
async fn make_durable_of(_b: &Backend) -> Result<()> {
    Ok(())
}

fn syncs_after_commit_of(_b: &Backend) -> bool {
    false
}

fn writer_busy(_b: &Backend) -> Busy {
    Busy
}

fn take_side_jobs(_b: &Backend) -> Vec<SideJob> {
    Vec::new()
}

impl Backend {
    /// Runs a side write (a projection's step, a checkpoint) in a transaction of its own:
    /// PostgreSQL locks rows, not the database, so it need not wait for the writer.
    async fn side<T: Send + 'static>(&self, f: impl SideWrite<T>) -> Result<T> {
        let mut tx = self.pool.begin().await?;
        let v = f(&mut tx).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Writes beside the group-commit writer use the general pool; PostgreSQL locks rows, not
    /// the database.
    fn side_pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

include!("common.rs");
