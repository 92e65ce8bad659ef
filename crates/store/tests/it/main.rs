//! The store conformance suite: every test body runs once on SQLite and once on PostgreSQL.
//! PostgreSQL runs only when `ANLIEGEN_TEST_DATABASE_URL` is set; otherwise its variants say so
//! on stderr (never silently skipped).

mod harness;

mod blobs;
mod cases;
mod customers;
mod event_order;
mod group_commit;
mod idempotency;
mod jobs;
mod merge;
mod projections;
mod reads;
mod workspace;

/// `conformance!(a, b)` turns each `async fn a(store: Store, env: Env) -> anyhow::Result<()>` of
/// the calling module into `mod a { sqlite, postgres }`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                $crate::harness::run($crate::harness::Kind::Sqlite, stringify!($name), super::$name).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                $crate::harness::run($crate::harness::Kind::Postgres, stringify!($name), super::$name).await
            }
        }
    )*};
}
