//! A fresh store per test (a temp dir, or a new PostgreSQL database), a manual clock, raw SQL
//! access for counting what the store API does not show, and fixtures for the common commands.

use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{
    Actor, Case, CaseStatus, Channel, Direction, Event, Identity, IdentityKind, ManualClock,
    Priority, Visibility,
};
use anliegen_store::{
    CasePatch, Command, CustomerRef, NewCase, NewContact, Output, Store, StoreConfig,
};
use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};

/// The variable that turns the PostgreSQL variants on.
pub const PG_ENV: &str = "ANLIEGEN_TEST_DATABASE_URL";

/// Group-commit writers of a PostgreSQL test store.
pub const PG_WRITERS: u32 = 4;

/// Which backend a test variant runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A temp dir.
    Sqlite,
    /// A fresh database on the server in [`PG_ENV`].
    Postgres,
}

enum Location {
    Sqlite { dir: Arc<tempfile::TempDir> },
    Postgres { url: String },
}

/// What a test gets besides its store: the clock, a way to open more stores on the same data
/// ("a restart", "a second node"), and raw SQL counts.
#[derive(Clone)]
pub struct Env {
    /// The clock every store of this test uses.
    pub clock: Arc<ManualClock>,
    /// Which backend.
    pub kind: Kind,
    location: Arc<Location>,
    opened: Arc<std::sync::Mutex<Vec<Store>>>,
}

/// Where every test clock starts.
pub fn start_time() -> Timestamp {
    "2026-12-01T09:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Env {
    /// The configuration of this test's data.
    pub fn config(&self) -> StoreConfig {
        match &*self.location {
            Location::Sqlite { dir } => StoreConfig::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            Location::Postgres { url } => StoreConfig::Postgres {
                url: url.clone(),
                writers: PG_WRITERS,
            },
        }
    }

    /// Opens another store on the same data (after a close: a restart; otherwise a second
    /// node). It is closed at the end of the test.
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.config(), self.clock.clone())
            .await
            .context("opening the store")?;
        self.opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(store.clone());
        Ok(store)
    }

    /// The SQLite data directory (`None` on PostgreSQL).
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &*self.location {
            Location::Sqlite { dir } => Some(dir.path().to_path_buf()),
            Location::Postgres { .. } => None,
        }
    }

    /// Moves the clock.
    pub fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    /// Runs a `SELECT COUNT(*)`-like query returning one integer, beside the store.
    pub async fn scalar(&self, sql: &'static str) -> anyhow::Result<i64> {
        match &*self.location {
            Location::Sqlite { dir } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.path().join("anliegen.db"))
                    .read_only(true);
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await?;
                let v: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await?;
                pool.close().await;
                Ok(v)
            }
            Location::Postgres { url } => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await?;
                let v: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await?;
                pool.close().await;
                Ok(v)
            }
        }
    }
}

/// Runs one test body on `kind`: sets the store up, runs the body, tears everything down
/// (also when the body panics), then reports the body's outcome.
pub async fn run<F, Fut>(kind: Kind, name: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Store, Env) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let clock = Arc::new(ManualClock::new(start_time()));
    let mut cleanup_db: Option<(String, String)> = None;
    let location = match kind {
        Kind::Sqlite => Location::Sqlite {
            dir: Arc::new(tempfile::tempdir()?),
        },
        Kind::Postgres => {
            let Some(admin) = std::env::var(PG_ENV).ok().filter(|v| !v.trim().is_empty()) else {
                // Straight to the process's stderr: the test harness would swallow eprintln!.
                writeln!(
                    std::io::stderr(),
                    "{name}::postgres: PostgreSQL suite did not run: set {PG_ENV}=postgres://postgres@127.0.0.1/postgres to run it"
                )
                .ok();
                return Ok(());
            };
            let db = format!("anliegen_t_{}", uuid::Uuid::new_v4().simple());
            let url = create_database(&admin, &db).await?;
            cleanup_db = Some((admin, db));
            Location::Postgres { url }
        }
    };
    let env = Env {
        clock: clock.clone(),
        kind,
        location: Arc::new(location),
        opened: Arc::default(),
    };
    let outcome = match env.open_store().await {
        Ok(store) => tokio::spawn(body(store, env.clone())).await,
        Err(e) => Ok(Err(e)),
    };
    let stores: Vec<Store> =
        std::mem::take(&mut *env.opened.lock().unwrap_or_else(|e| e.into_inner()));
    for s in stores {
        if tokio::time::timeout(Duration::from_secs(15), s.close())
            .await
            .is_err()
        {
            writeln!(std::io::stderr(), "{name}: closing a store timed out").ok();
        }
    }
    if let Some((admin, db)) = cleanup_db {
        drop_database(&admin, &db).await;
    }
    match outcome {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => bail!("test task failed: {e}"),
    }
}

async fn create_database(admin: &str, db: &str) -> anyhow::Result<String> {
    use sqlx::ConnectOptions as _;
    let opts: sqlx::postgres::PgConnectOptions = admin.parse().context("parsing the admin URL")?;
    let mut conn = opts
        .connect()
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await?;
    sqlx::Connection::close(conn).await.ok();
    let mut url = url_with_database(admin, db);
    if url.is_empty() {
        url = admin.to_owned();
    }
    Ok(url)
}

/// `admin` with its database name replaced by `db` (query string kept).
fn url_with_database(admin: &str, db: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

async fn drop_database(admin: &str, db: &str) {
    use sqlx::ConnectOptions as _;
    let Ok(opts) = admin.parse::<sqlx::postgres::PgConnectOptions>() else {
        return;
    };
    let Ok(mut conn) = opts.connect().await else {
        return;
    };
    let sql = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
    {
        writeln!(std::io::stderr(), "could not drop test database {db}: {e}").ok();
    }
    sqlx::Connection::close(conn).await.ok();
}

/// Closes `store` as a crash-free shutdown would and opens a new one on the same data.
pub async fn restart(env: &Env, store: Store) -> anyhow::Result<Store> {
    tokio::time::timeout(Duration::from_secs(20), store.close())
        .await
        .map_err(|_| anyhow::anyhow!("Store::close hung"))?;
    env.open_store().await
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// The actor of fixture writes.
pub fn system() -> Actor {
    Actor::System
}

/// An email identity.
pub fn email(addr: &str) -> Identity {
    Identity::parse(IdentityKind::Email, addr)
        .unwrap_or_else(|e| panic!("bad test address {addr}: {e}"))
}

/// Whoever owns `addr` (created if new).
pub fn by_email(addr: &str) -> CustomerRef {
    CustomerRef::Identity {
        identity: email(addr),
        name: None,
        language: None,
    }
}

/// A public contact on `channel` in `direction`.
pub fn message(channel: Channel, direction: Direction, text: &str) -> NewContact {
    NewContact::plain(channel, direction, Visibility::Public, text.to_owned())
}

/// An inbound customer email.
pub fn inbound(text: &str) -> NewContact {
    message(Channel::Email, Direction::Inbound, text)
}

/// An agent's outbound email.
pub fn outbound(text: &str) -> NewContact {
    message(Channel::Email, Direction::Outbound, text)
}

/// An internal note.
pub fn note(text: &str) -> NewContact {
    NewContact::plain(
        Channel::Note,
        Direction::Internal,
        Visibility::Internal,
        text.to_owned(),
    )
}

/// A new case of `customer` opened by an inbound email.
pub fn new_case(customer: CustomerRef, subject: &str) -> NewCase {
    NewCase {
        customer,
        subject: subject.to_owned(),
        priority: Priority::Normal,
        team_id: None,
        assignee_id: None,
        tags: Vec::new(),
        fields: Default::default(),
        language: None,
        contact: inbound(&format!("Hello, this is about: {subject}")),
        routed_by: None,
        auto_assign: false,
    }
}

/// Unpacks a case output.
pub fn case_of(out: Output) -> Case {
    match out {
        Output::Case(c) => *c,
        Output::Contact { case, .. } => *case,
        other => panic!("expected a case, got {other:?}"),
    }
}

/// Opens a case; panics on failure.
pub async fn open(store: &Store, nc: NewCase) -> anyhow::Result<Case> {
    Ok(case_of(
        store
            .exec(system(), Command::OpenCase(Box::new(nc)))
            .await?,
    ))
}

/// Sets a case's status.
pub async fn set_status(store: &Store, case: &Case, status: CaseStatus) -> anyhow::Result<Case> {
    let patch = CasePatch {
        status: Some(status),
        ..Default::default()
    };
    Ok(case_of(
        store
            .exec(system(), Command::UpdateCase { id: case.id, patch })
            .await?,
    ))
}

/// Every committed event, in order.
pub async fn all_events(store: &Store) -> anyhow::Result<Vec<Event>> {
    let mut out: Vec<Event> = Vec::new();
    loop {
        let from = out.last().map(|e| e.seq).unwrap_or(0);
        let page = store.events_after(from, 500).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Type names of `events`.
pub fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.type_name()).collect()
}

/// Deterministic pseudo-random bytes (xorshift), so large blobs do not compress or collide.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Creates an agent (role agent, German) in `teams`.
pub async fn agent(
    store: &Store,
    addr: &str,
    teams: Vec<anliegen_core::TeamId>,
) -> anyhow::Result<anliegen_core::AgentId> {
    let na = anliegen_store::NewAgent {
        email: anliegen_core::EmailAddress::parse(addr)?,
        name: addr.to_owned(),
        role: anliegen_core::Role::Agent,
        password_hash: None,
        skills: vec![],
        languages: vec![anliegen_core::Language::De],
        ui_language: anliegen_core::Language::De,
        time_zone: anliegen_core::TimeZoneName::berlin(),
        teams,
    };
    match store.exec(system(), Command::CreateAgent(na)).await? {
        Output::Agent(a) => Ok(a.id),
        other => panic!("{other:?}"),
    }
}
