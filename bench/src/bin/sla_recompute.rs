//! Benchmark of issue 7's SLA recompute: `--cases` open cases (default 1,000,000) with running
//! SLA clocks, then the policies change and every open case's due times are recomputed by the
//! same function the `sla.recompute` job runs (`anliegen_store::sla::recompute_all`): pages
//! of cases with what chooses their policy, the policy chosen again, due times computed in the
//! team's business calendar, the clocks and the cases' due times saved many rows per statement.
//!
//! The cases are inserted with bulk SQL (a million cases through the single writer would take
//! longer than the measurement); the store, its migrations and the recompute are the node's.
//!
//!   cargo run --release -p anliegen-bench --bin sla_recompute -- --cases 1000000
//!   cargo run --release -p anliegen-bench --bin sla_recompute -- --cases 1000000 \
//!       --database-url postgres://postgres@127.0.0.1/sla_bench

use std::sync::Arc;
use std::time::Instant;

use anliegen_core::calendar::{BusinessCalendar, CalendarSpec};
use anliegen_core::sla::{SlaClock, SlaConditions, SlaPolicy, SlaTargets};
use anliegen_core::{CaseStatus, Priority, SystemClock, TeamId};
use anliegen_store::{Command, Output, Store, StoreConfig};
use clap::Parser;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Open cases.
    #[arg(long, default_value_t = 1_000_000)]
    cases: u64,
    /// PostgreSQL (a fresh database) instead of the embedded store.
    #[arg(long)]
    database_url: Option<String>,
    /// On PostgreSQL: keep cases a previous run inserted (the policies change again).
    #[arg(long)]
    reuse: bool,
}

fn policies(teams: &[TeamId], scale: u32) -> Vec<SlaPolicy> {
    let urgent = SlaPolicy {
        id: uuid::Uuid::from_u128(1),
        name: "Dringend".into(),
        active: true,
        conditions: SlaConditions {
            priorities: vec![Priority::Urgent, Priority::High],
            ..Default::default()
        },
        targets: SlaTargets {
            first_response: Some(30 * scale),
            next_response: Some(60 * scale),
            resolution: Some(480 * scale),
        },
        warn_percent: 75,
    };
    let team = SlaPolicy {
        id: uuid::Uuid::from_u128(2),
        name: "Verlage".into(),
        active: true,
        conditions: SlaConditions {
            teams: teams.iter().take(1).copied().collect(),
            ..Default::default()
        },
        targets: SlaTargets {
            first_response: Some(120 * scale),
            next_response: Some(240 * scale),
            resolution: Some(1440 * scale),
        },
        warn_percent: 80,
    };
    let standard = SlaPolicy {
        id: uuid::Uuid::from_u128(3),
        name: "Standard".into(),
        active: true,
        conditions: SlaConditions::default(),
        targets: SlaTargets {
            first_response: Some(480 * scale),
            next_response: Some(480 * scale),
            resolution: Some(2400 * scale),
        },
        warn_percent: 75,
    };
    vec![urgent, team, standard]
}

struct Row {
    case_id: String,
    customer_id: String,
    number: i64,
    status: CaseStatus,
    priority: Priority,
    team: Option<String>,
    created_us: i64,
    clock: String,
}

macro_rules! insert_rows {
    ($db:ty, $tx:expr, $rows:expr) => {{
        let rows: &[Row] = $rows;
        for chunk in rows.chunks(2000) {
            let mut qb: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO customers (id, tier, created_at, updated_at) ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.customer_id)
                    .push_bind("standard")
                    .push_bind(r.created_us)
                    .push_bind(r.created_us);
            });
            qb.build().execute(&mut *$tx).await?;
            let mut qb: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                "INSERT INTO cases (id, number, subject, customer_id, status, priority, team_id, channel, created_at, updated_at, unsolved, queue_due) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.case_id)
                    .push_bind(r.number)
                    .push_bind("Bestellung nicht angekommen")
                    .push_bind(&r.customer_id)
                    .push_bind(r.status.as_str())
                    .push_bind(r.priority.as_str())
                    .push_bind(r.team.as_deref())
                    .push_bind("email")
                    .push_bind(r.created_us)
                    .push_bind(r.created_us)
                    .push_bind(1i32)
                    .push_bind(r.created_us);
            });
            qb.build().execute(&mut *$tx).await?;
            let mut qb: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                "INSERT INTO case_sla (case_id, clock, seq, next_check, active, saved_at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.case_id)
                    .push_bind(&r.clock)
                    .push_bind(0i64)
                    .push_bind(None::<i64>)
                    .push_bind(1i32)
                    .push_bind(r.created_us);
            });
            qb.build().execute(&mut *$tx).await?;
        }
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = std::env::temp_dir().join(format!("anliegen-sla-bench-{}", std::process::id()));
    let config = match &args.database_url {
        Some(url) => StoreConfig::Postgres {
            url: url.clone(),
            writers: 2,
        },
        None => {
            std::fs::create_dir_all(&tmp)?;
            StoreConfig::Sqlite {
                data_dir: tmp.clone(),
            }
        }
    };
    let store = Store::open(&config, Arc::new(SystemClock)).await?;
    let existing = store.teams().await?;
    if args.reuse && existing.len() >= 4 {
        let teams: Vec<TeamId> = existing.iter().map(|t| t.id).collect();
        let current = anliegen_store::sla::policies(&store).await?;
        let scale = if current.first().and_then(|p| p.targets.first_response) == Some(60) {
            3
        } else {
            2
        };
        return recompute(&store, &teams, scale, args.cases).await;
    }
    let mut teams = Vec::new();
    for name in ["Verlage", "Versand", "Zahlungen", "Marktplatz"] {
        if let Output::Team(t) = store
            .exec(
                anliegen_core::Actor::System,
                Command::CreateTeam {
                    name: name.into(),
                    description: String::new(),
                },
            )
            .await?
        {
            teams.push(t.id);
        }
    }
    // One team works in Bavaria with its holidays.
    if let Some(t) = teams.first() {
        store
            .exec(
                anliegen_core::Actor::System,
                Command::SetSetting {
                    key: anliegen_store::sla::team_calendar_key(*t),
                    value: serde_json::to_value(CalendarSpec::office(Some("DE-BY")))?,
                },
            )
            .await?;
    }
    let old = policies(&teams, 1);
    store
        .exec(
            anliegen_core::Actor::System,
            Command::SetSetting {
                key: anliegen_store::sla::POLICIES_KEY.into(),
                value: serde_json::to_value(&old)?,
            },
        )
        .await?;

    // Open cases of the last three weeks, a third of them waiting on the customer (paused).
    let cal = BusinessCalendar::new(&CalendarSpec::office(None))?;
    let now = jiff::Timestamp::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let started = Instant::now();
    let mut rows = Vec::with_capacity(10_000);
    let mut inserted = 0u64;
    while inserted < args.cases {
        rows.clear();
        for _ in 0..10_000.min(args.cases - inserted) {
            inserted += 1;
            let created = now - jiff::SignedDuration::from_secs(rng.random_range(60..21 * 86_400));
            let status = match rng.random_range(0..6) {
                0 => CaseStatus::New,
                1 | 2 => CaseStatus::WaitingOnCustomer,
                3 => CaseStatus::WaitingOnThirdParty,
                _ => CaseStatus::Open,
            };
            let priority = [
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
                Priority::Urgent,
            ][rng.random_range(0..5)];
            let team =
                (rng.random_range(0..5) < 4).then(|| teams[rng.random_range(0..teams.len())]);
            let mut clock = SlaClock::open(created, CaseStatus::New);
            if status != CaseStatus::New {
                let at = created + jiff::SignedDuration::from_secs(rng.random_range(60..3600));
                clock.on_status(status, at.min(now), &cal);
            }
            let policy = old.iter().find(|p| {
                p.conditions.priorities.is_empty() || p.conditions.priorities.contains(&priority)
            });
            clock.set_policy(policy, &cal);
            rows.push(Row {
                case_id: uuid::Uuid::now_v7().to_string(),
                customer_id: uuid::Uuid::now_v7().to_string(),
                number: 10_000 + inserted as i64,
                status,
                priority,
                team: team.map(|t| t.to_string()),
                created_us: created.as_microsecond(),
                clock: serde_json::to_string(&clock)?,
            });
        }
        match store.pg_pool() {
            Some(pool) => {
                let mut tx = pool.begin().await?;
                insert_rows!(sqlx::Postgres, tx, &rows);
                tx.commit().await?;
            }
            None => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(tmp.join("anliegen.db"))
                    .busy_timeout(std::time::Duration::from_secs(30));
                let mut conn = sqlx::ConnectOptions::connect(&opts).await?;
                let mut tx = sqlx::Connection::begin(&mut conn).await?;
                insert_rows!(sqlx::Sqlite, tx, &rows);
                tx.commit().await?;
            }
        }
    }
    println!(
        "{} open cases with SLA clocks inserted in {:.1} s",
        inserted,
        started.elapsed().as_secs_f64()
    );

    recompute(&store, &teams, 2, inserted).await?;
    store.close().await;
    if args.database_url.is_none() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    Ok(())
}

/// The admin scales every target: every open case's due times change; timed.
async fn recompute(store: &Store, teams: &[TeamId], scale: u32, cases: u64) -> anyhow::Result<()> {
    let inserted = cases;
    let new = policies(teams, scale);
    store
        .exec(
            anliegen_core::Actor::System,
            Command::SetSetting {
                key: anliegen_store::sla::POLICIES_KEY.into(),
                value: serde_json::to_value(&new)?,
            },
        )
        .await?;
    let started = Instant::now();
    let saved = anliegen_store::sla::recompute_all(store).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "recomputed SLA due times of {inserted} open cases: {saved} clocks saved in {secs:.1} s ({:.0} cases/s)",
        inserted as f64 / secs
    );
    Ok(())
}
