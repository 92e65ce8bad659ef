//! Benchmark of concern matching (issue 5): the cost of finding the concern of one inbound
//! contact — case references, the customer's open cases about the same order or parcel,
//! near-duplicates within the window — in an embedded store holding `--contacts` contacts.
//!
//! The store is made by the real migrations; the bulk rows (customers, identities, cases,
//! contacts with realistic German and English complaint texts) are inserted with plain SQL in
//! large transactions, because a million contacts through the single writer would take longer
//! than the measurement. Then `Concerns::find` runs for `--probes` inbound contacts of random
//! customers (a third of them about an order the customer already wrote about), in-process,
//! and the latency distribution is printed as JSON.
//!
//!   cargo run --release -p anliegen-bench --bin concern_match -- --contacts 1000000

use std::sync::Arc;
use std::time::Instant;

use anliegen_core::{CustomerId, SystemClock};
use anliegen_store::concern::{Concerns, Found};
use anliegen_store::{Store, StoreConfig};
use clap::Parser;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Stored contacts.
    #[arg(long, default_value_t = 1_000_000)]
    contacts: u64,
    /// Contacts per customer on average (cases hold two contacts on average).
    #[arg(long, default_value_t = 5)]
    per_customer: u64,
    /// Matching calls measured.
    #[arg(long, default_value_t = 20_000)]
    probes: u64,
    /// Keep the store here (reused when it exists) instead of a temporary folder.
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const TEXTS: &[&str] = &[
    "Hallo, meine Bestellung {o} ist immer noch nicht angekommen. Laut Sendungsverfolgung liegt sie seit Tagen im Paketzentrum.",
    "Guten Tag, in der Lieferung zu {o} war die Vase zerbrochen. Fotos hänge ich an. Bitte um Ersatz.",
    "Ich habe zu Bestellung {o} einen falschen Artikel bekommen: blau statt grün.",
    "Bitte erstatten Sie mir den Betrag für die Rücksendung {o}, das Paket ist seit zwei Wochen bei Ihnen.",
    "Können Sie mir eine Rechnungskopie für die Bestellung {o} schicken? Ich brauche sie für die Steuer.",
    "Mir wurde für {o} zweimal Geld abgebucht, bitte korrigieren.",
    "Hello, my order {o} has not arrived yet. Tracking has not changed for a week.",
    "The lamp from order {o} arrived damaged, the glass is cracked. Please send a replacement.",
    "I would like to return the jacket from order {o}, it is too small. How do I get a return label?",
    "Mein Gutscheincode wurde bei der Bestellung {o} nicht abgezogen.",
    "Bitte ändern Sie die Lieferadresse für {o}: Hauptstraße 12, 10115 Berlin.",
    "Das Sofa aus {o} kam nur zur Hälfte, der zweite Karton fehlt.",
];

fn text(rng: &mut impl Rng, order: u64) -> String {
    let t = TEXTS[rng.random_range(0..TEXTS.len())];
    t.replace("{o}", &format!("BE-2026-{order:06}"))
}

async fn load(dir: &std::path::Path, args: &Args) -> anyhow::Result<u64> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("anliegen.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
        .fetch_one(&pool)
        .await?;
    let customers = (args.contacts / args.per_customer).max(1);
    if have as u64 >= args.contacts {
        pool.close().await;
        return Ok(customers);
    }
    sqlx::query("PRAGMA synchronous = OFF")
        .execute(&pool)
        .await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let now = jiff::Timestamp::now().as_microsecond();
    let day = 86_400_000_000i64;
    let started = Instant::now();
    let mut number = 10_000i64;
    let mut contacts = 0u64;
    let mut tx = pool.begin().await?;
    for c in 0..customers {
        let cid = format!("00000000-0000-7000-8000-{c:012}");
        sqlx::query("INSERT INTO customers (id, name, tier, notes, created_at, updated_at, name_key) VALUES ($1, $2, 'standard', '', $3, $3, $4)")
            .bind(&cid)
            .bind(format!("Kundin {c}"))
            .bind(now - 400 * day)
            .bind(format!("kundin {c}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO identities (kind, value, customer_id, created_at) VALUES ('email', $1, $2, $3)")
            .bind(format!("kundin{c}@example.de"))
            .bind(&cid)
            .bind(now - 400 * day)
            .execute(&mut *tx)
            .await?;
        let mut left = args.per_customer;
        while left > 0 {
            let n = left.min(rng.random_range(1..=3));
            left -= n;
            number += 1;
            let case_id = format!("00000000-0000-7000-9000-{number:012}");
            let opened = now - rng.random_range(0..180) * day;
            let unsolved = rng.random_bool(0.4);
            let order = rng.random_range(0..900_000);
            sqlx::query(
                "INSERT INTO cases (id, number, subject, customer_id, status, priority, tags, fields, channel, contact_count, \
                 created_at, updated_at, unsolved, queue_due) VALUES ($1, $2, $3, $4, $5, 'normal', '[]', '{}', 'email', $6, $7, $8, $9, $10)",
            )
            .bind(&case_id)
            .bind(number)
            .bind(format!("Bestellung BE-2026-{order:06}"))
            .bind(&cid)
            .bind(if unsolved { "open" } else { "closed" })
            .bind(n as i64)
            .bind(opened)
            .bind(opened + day)
            .bind(i64::from(unsolved))
            .bind(opened)
            .execute(&mut *tx)
            .await?;
            for k in 0..n {
                contacts += 1;
                sqlx::query(
                    "INSERT INTO contacts (id, case_id, channel, direction, visibility, author, subject, text, attachments, created_at) \
                     VALUES ($1, $2, 'email', 'inbound', 'public', $3, $4, $5, '[]', $6)",
                )
                .bind(format!("00000000-0000-7000-a000-{contacts:012}"))
                .bind(&case_id)
                .bind(format!("{{\"kind\":\"customer\",\"id\":\"{cid}\"}}"))
                .bind(format!("Bestellung BE-2026-{order:06}"))
                .bind(text(&mut rng, order))
                .bind(opened + k as i64 * 3_600_000_000)
                .execute(&mut *tx)
                .await?;
            }
        }
        if c % 20_000 == 19_999 {
            tx.commit().await?;
            tx = pool.begin().await?;
            eprintln!(
                "{contacts} contacts loaded ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    // One heavy customer (a marketplace seller or publisher): 300 open cases of 3 contacts.
    let heavy = "00000000-0000-7000-8000-ffffffffffff";
    sqlx::query("INSERT INTO customers (id, name, tier, notes, created_at, updated_at, name_key) VALUES ($1, 'Großkunde', 'standard', '', $2, $2, 'grosskunde')")
        .bind(heavy)
        .bind(now - 400 * day)
        .execute(&mut *tx)
        .await?;
    for i in 0..300i64 {
        number += 1;
        let case_id = format!("00000000-0000-7000-9000-{number:012}");
        let opened = now - rng.random_range(0..30) * day;
        let order = rng.random_range(0..900_000);
        sqlx::query(
            "INSERT INTO cases (id, number, subject, customer_id, status, priority, tags, fields, channel, contact_count, \
             created_at, updated_at, unsolved, queue_due) VALUES ($1, $2, $3, $4, 'open', 'normal', '[]', '{}', 'email', 3, $5, $6, 1, $5)",
        )
        .bind(&case_id)
        .bind(number)
        .bind(format!("Bestellung BE-2026-{order:06}"))
        .bind(heavy)
        .bind(opened)
        .bind(opened + i)
        .execute(&mut *tx)
        .await?;
        for k in 0..3 {
            contacts += 1;
            sqlx::query(
                "INSERT INTO contacts (id, case_id, channel, direction, visibility, author, subject, text, attachments, created_at) \
                 VALUES ($1, $2, 'email', 'inbound', 'public', $3, $4, $5, '[]', $6)",
            )
            .bind(format!("00000000-0000-7000-a000-{contacts:012}"))
            .bind(&case_id)
            .bind(format!("{{\"kind\":\"customer\",\"id\":\"{heavy}\"}}"))
            .bind(format!("Bestellung BE-2026-{order:06}"))
            .bind(text(&mut rng, order))
            .bind(opened + k * 3_600_000_000)
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'case_number'")
        .bind(number)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    eprintln!(
        "{contacts} contacts loaded in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(customers)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = tempfile_dir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.clone());
    let config = StoreConfig::Sqlite {
        data_dir: dir.clone(),
    };
    // The real migrations make the schema.
    Store::open(&config, Arc::new(SystemClock))
        .await?
        .close()
        .await;
    let customers = load(&dir, &args).await?;
    let store = Store::open(&config, Arc::new(SystemClock)).await?;
    let concerns = Concerns::new(store.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut times = Vec::with_capacity(args.probes as usize);
    let (mut joined, mut new) = (0u64, 0u64);
    // Warm the settings cache and the page cache a little, as a running node has them.
    for _ in 0..200 {
        let c = rng.random_range(0..customers);
        let cid: CustomerId = format!("00000000-0000-7000-8000-{c:012}").parse()?;
        concerns.find(Some(cid), "Frage", "Hallo", None).await?;
    }
    for _ in 0..args.probes {
        let c = rng.random_range(0..customers);
        let cid: CustomerId = format!("00000000-0000-7000-8000-{c:012}").parse()?;
        // A third write again about one of their orders, the rest about something new.
        let order = if rng.random_bool(0.33) {
            let subject: Option<String> = store
                .prior_cases(
                    cid,
                    jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 365),
                    jiff::Timestamp::now(),
                )
                .await?
                .first()
                .and_then(|p| p.contacts.first().map(|c| c.text.clone()));
            subject
                .and_then(|s| {
                    s.split("BE-2026-")
                        .nth(1)
                        .and_then(|x| x.get(..6))
                        .and_then(|x| x.parse().ok())
                })
                .unwrap_or(1)
        } else {
            rng.random_range(0..900_000)
        };
        let body = text(&mut rng, order);
        let t = Instant::now();
        let found = concerns.find(Some(cid), "Nachfrage", &body, None).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        match found {
            Found::Case(..) => joined += 1,
            Found::New(..) => new += 1,
        }
    }
    // The heavy customer: every probe compares with the newest 20 of 300 open cases.
    let heavy: CustomerId = "00000000-0000-7000-8000-ffffffffffff".parse()?;
    let mut heavy_times = Vec::new();
    for _ in 0..1000 {
        let order = rng.random_range(0..900_000);
        let body = text(&mut rng, order);
        let t = Instant::now();
        concerns.find(Some(heavy), "Nachfrage", &body, None).await?;
        heavy_times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    heavy_times.sort_by(f64::total_cmp);
    let heavy_p99 = heavy_times[(heavy_times.len() * 99 / 100).min(heavy_times.len() - 1)];
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{}",
        serde_json::json!({
            "contacts": args.contacts,
            "customers": customers,
            "probes": args.probes,
            "joined": joined,
            "new_case": new,
            "p50_ms": (q(0.50) * 1000.0).round() / 1000.0,
            "p95_ms": (q(0.95) * 1000.0).round() / 1000.0,
            "p99_ms": (q(0.99) * 1000.0).round() / 1000.0,
            "max_ms": (times[times.len() - 1] * 1000.0).round() / 1000.0,
            "heavy_customer_300_open_cases_p50_ms": (heavy_times[heavy_times.len() / 2] * 1000.0).round() / 1000.0,
            "heavy_customer_300_open_cases_p99_ms": (heavy_p99 * 1000.0).round() / 1000.0,
        })
    );
    store.close().await;
    if args.dir.is_none() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("anliegen-concern-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
