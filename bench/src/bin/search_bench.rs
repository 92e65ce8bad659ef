//! Benchmark of search (issue 6): a generated corpus of `--cases` cases with
//! `--contacts-per-case` contacts each (German and English retail text: templates with order
//! and tracking numbers, names and addresses, mixed with real German complaint language from
//! ../shared/corpora/text/germeval2017), indexed through the same document building and the
//! same engine the node uses, then 50 realistic agent queries run through `Search::search`
//! (query language, permissions, engine, snippets) — embedded index or PostgreSQL.
//!
//! The documents are built in memory from generated cases and contacts (`doc::case_doc`, the
//! function the projection uses on what it reads from the store) because a million contacts
//! through the single writer would take longer than the measurement itself; the store holds the
//! teams the queries name.
//!
//!   cargo run --release -p anliegen-bench --bin search_bench -- --cases 200000
//!   cargo run --release -p anliegen-bench --bin search_bench -- --cases 200000 \
//!       --database-url postgres://postgres@127.0.0.1/search_bench

use std::sync::Arc;
use std::time::Instant;

use anliegen_core::search::DocKind;
use anliegen_core::{
    Agent, AgentId, Author, Case, CaseId, CaseRef, CaseStatus, Channel, Contact, ContactId,
    Customer, CustomerId, Direction, EmailAddress, Identity, IdentityKind, Language, Priority,
    Role, SystemClock, Tag, TeamId, TimeZoneName, Visibility,
};
use anliegen_search::{Request, Search, Sort, Viewer, doc};
use anliegen_store::{Command, Output, Store, StoreConfig};
use clap::Parser;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Cases generated.
    #[arg(long, default_value_t = 200_000)]
    cases: u64,
    /// Contacts per case.
    #[arg(long, default_value_t = 5)]
    contacts_per_case: u64,
    /// Rounds over the 50 queries.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// PostgreSQL (a fresh database) instead of the embedded index.
    #[arg(long)]
    database_url: Option<String>,
    /// Keep the embedded data here (reused when it holds an index) instead of a temporary one.
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const NAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
];
const FIRST: &[&str] = &[
    "Hans", "Petra", "Jana", "Thomas", "Sabine", "Michael", "Aylin", "Lukas", "Anna", "Paul",
    "Emma", "Jonas", "Laura", "Felix", "Sarah", "John", "Mary",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenstraße",
    "Schillerstraße",
    "Goethestraße",
    "Lindenallee",
    "Marktplatz",
    "Kirchweg",
];
const SUBJECTS: &[&str] = &[
    "Paket nicht angekommen",
    "Rücksendung ohne Erstattung",
    "Falscher Artikel geliefert",
    "Ware beschädigt",
    "Rechnungskopie",
    "Doppelte Abbuchung",
    "Gutscheincode funktioniert nicht",
    "Lieferadresse ändern",
    "Sofa nur zur Hälfte geliefert",
    "Kündigung meines Abos",
    "Order not received",
    "Damaged item",
    "Return label please",
    "Refund still missing",
    "Frage zur Lieferzeit",
    "Reklamation Waschmaschine",
    "Anhänger fehlt",
    "Zahlung per Überweisung",
];
const CUSTOMER: &[&str] = &[
    "Guten Tag, meine Bestellung {o} ist immer noch nicht angekommen. Laut Sendungsverfolgung {t} liegt das Paket seit Tagen im Paketzentrum.",
    "Hallo, in der Lieferung zu {o} war die Vase zerbrochen. Fotos hänge ich an. Bitte schicken Sie Ersatz.",
    "Ich habe zu Bestellung {o} einen falschen Artikel bekommen: blau statt grün. Wie geht die Rücksendung?",
    "Bitte erstatten Sie mir den Betrag für die Rücksendung {o}, das Paket {t} ist seit zwei Wochen bei Ihnen.",
    "Können Sie mir eine Rechnungskopie für die Bestellung {o} schicken? Ich brauche sie für die Steuererklärung.",
    "Mir wurde für {o} zweimal Geld abgebucht, bitte korrigieren Sie das umgehend. IBAN {i}.",
    "Hello, my order {o} has not arrived yet. Tracking {t} has not changed for a week.",
    "The lamp from order {o} arrived damaged, the glass is cracked. Please send a replacement.",
    "I would like to return the jacket from order {o}, it is too small. How do I get a return label?",
    "Mein Gutscheincode wurde bei der Bestellung {o} nicht abgezogen. Das ist ärgerlich.",
    "Bitte ändern Sie die Lieferadresse für {o}: {s} 12, 10115 Berlin.",
    "Das Sofa aus {o} kam nur zur Hälfte, der zweite Karton fehlt. Sendung {t}.",
    "Ich warte seit drei Wochen auf meine Erstattung für {o}. Niemand ruft zurück, obwohl es versprochen wurde!",
    "Der Händler verlangt Vorkasse per Überweisung außerhalb der Plattform. Ist das seriös? Bestellung {o}.",
    "Die Waschmaschine aus {o} macht laute Geräusche und verliert Wasser. Ich möchte reklamieren.",
];
const AGENT: &[&str] = &[
    "Guten Tag, vielen Dank für Ihre Nachricht. Wir haben beim Versanddienstleister nachgefragt und melden uns bis Freitag.",
    "Hallo, die Erstattung für {o} ist veranlasst und sollte in drei bis fünf Werktagen auf Ihrem Konto sein.",
    "Ein kostenloses Rücksendeetikett für {o} finden Sie im Anhang.",
    "Hello, we are sorry for the trouble. A replacement for {o} is on its way, tracking {t}.",
    "Wir haben Ihnen einen Gutschein über 10 Euro als Entschuldigung gutgeschrieben.",
    "Der fehlende Karton wurde im Lager gefunden und geht heute mit {t} auf den Weg.",
];
const NOTES: &[&str] = &[
    "Intern: Kunde hat schon dreimal angerufen, Rückruf zugesagt.",
    "Verdacht auf Betrug: Händlerkonto verlangt Überweisung, an Trust & Safety gegeben.",
    "Lager fragt nach, Karton 2 von 2 fehlt im Wareneingang.",
];

fn germeval() -> Vec<String> {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/text/germeval2017/data/Germeval/2017");
    let mut out = Vec::new();
    for f in ["dev.tsv", "test.tsv"] {
        if let Ok(s) = std::fs::read_to_string(base.join(f)) {
            for line in s.lines() {
                if let Some(t) = line.split('\t').nth(1)
                    && t.len() > 40
                {
                    out.push(t.chars().take(400).collect());
                }
            }
        }
    }
    out
}

struct Gen {
    rng: rand::rngs::StdRng,
    germeval: Vec<String>,
}

impl Gen {
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }

    fn fill(&mut self, t: &str, case: u64) -> String {
        let street = self.pick(STREETS);
        let t = t
            .replace("{o}", &format!("BE-2026-{:06}", case % 1_000_000))
            .replace("{t}", &tracking(case))
            .replace("{i}", "DE89 3704 0044 0532 0130 00")
            .replace("{s}", street);
        if self.rng.random_range(0..4) == 0 && !self.germeval.is_empty() {
            let g = self.germeval[self.rng.random_range(0..self.germeval.len())].clone();
            format!("{t}\n\n{g}")
        } else {
            t
        }
    }
}

fn tracking(case: u64) -> String {
    format!("00340434{:012}", case * 7919 % 1_000_000_000_000)
}

fn now_minus(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)
}

#[allow(clippy::too_many_arguments)]
fn build_case(
    g: &mut Gen,
    n: u64,
    per_case: u64,
    teams: &[TeamId],
    agent: AgentId,
) -> (Case, Customer, Vec<Contact>) {
    let customer_id = CustomerId::new();
    let last = g.pick(NAMES);
    let first = g.pick(FIRST);
    let email = format!("{}.{}{}@example.de", first.to_lowercase(), n, "")
        .replace('ü', "ue")
        .replace('ö', "oe");
    let created = now_minus(g.rng.random_range(0..400));
    let customer = Customer {
        id: customer_id,
        name: Some(format!("{first} {last}")),
        organisation_id: None,
        language: Some(Language::De),
        time_zone: None,
        tier: anliegen_core::customer::Tier::default(),
        notes: String::new(),
        identities: vec![Identity {
            kind: IdentityKind::Email,
            value: email,
        }],
        merged_into: None,
        created_at: created,
        updated_at: created,
    };
    let case_id = CaseId::new();
    let statuses = [
        CaseStatus::New,
        CaseStatus::Open,
        CaseStatus::WaitingOnCustomer,
        CaseStatus::Solved,
        CaseStatus::Closed,
        CaseStatus::Closed,
    ];
    let mut contacts = Vec::new();
    let mut at = created;
    for k in 0..per_case {
        at += jiff::SignedDuration::from_mins(g.rng.random_range(5..3000));
        let (direction, visibility, author, tpl) = match k % 3 {
            0 => (
                Direction::Inbound,
                Visibility::Public,
                Author::Customer { id: customer_id },
                g.pick(CUSTOMER),
            ),
            1 => (
                Direction::Outbound,
                Visibility::Public,
                Author::Agent { id: agent },
                g.pick(AGENT),
            ),
            _ if g.rng.random_range(0..3) == 0 => (
                Direction::Internal,
                Visibility::Internal,
                Author::Agent { id: agent },
                g.pick(NOTES),
            ),
            _ => (
                Direction::Inbound,
                Visibility::Public,
                Author::Customer { id: customer_id },
                g.pick(CUSTOMER),
            ),
        };
        contacts.push(Contact {
            id: ContactId::new(),
            case_id,
            channel: if k == 0 && n.is_multiple_of(5) {
                Channel::Phone
            } else {
                Channel::Email
            },
            direction,
            visibility,
            author,
            subject: None,
            text: g.fill(tpl, n),
            html: None,
            attachments: Vec::new(),
            mail: None,
            concern: None,
            call: None,
            created_at: at,
        });
    }
    let case = Case {
        id: case_id,
        reference: CaseRef::from_number(CaseRef::FIRST + n),
        subject: g.pick(SUBJECTS).to_owned(),
        customer_id,
        status: statuses[g.rng.random_range(0..statuses.len())],
        priority: if n.is_multiple_of(10) {
            Priority::High
        } else {
            Priority::Normal
        },
        team_id: (!n.is_multiple_of(4)).then(|| teams[(n as usize) % teams.len()]),
        assignee_id: n.is_multiple_of(3).then_some(agent),
        tags: if n.is_multiple_of(7) {
            vec![Tag::parse("trailer").expect("tag")]
        } else {
            Vec::new()
        },
        fields: Default::default(),
        channel: Channel::Email,
        language: Some(Language::De),
        follow_up_of: None,
        contact_count: per_case as i64,
        created_at: created,
        updated_at: at,
        waiting_since: None,
        repeat_count: 0,
        escalation_level: 0,
        sla_due: None,
    };
    (case, customer, contacts)
}

fn queries(cases: u64) -> Vec<String> {
    let some = |k: u64| (k * 7_919) % cases.max(1);
    let mut q: Vec<String> = [
        "Paket nicht angekommen",
        "\"nicht angekommen\"",
        "Rücksendung",
        "Rücksendungen Erstattung",
        "Müller",
        "Mueller Rechnung",
        "Sofa Hälfte",
        "Gutschein",
        "Gutscheincode nicht abgezogen",
        "status:open Paket",
        "team:retouren Rücksendung",
        "team:versand status:new",
        "tag:trailer Anhänger",
        "Waschmaschine Wasser",
        "Vorkasse Überweisung",
        "Betrug",
        "has:note Rückruf",
        "Rückruf versprochen",
        "Erstattung -Gutschein",
        "damaged replacement",
        "return label",
        "order not arrived",
        "Rücksend*",
        "Liefer*",
        "Rechnungskopie Steuer",
        "Lieferadresse Hauptstrasse",
        "channel:phone status:open",
        "priority:high Reklamation",
        "created:>2026-06-01 Erstattung",
        "updated:<2026-03-01 status:solved",
        "\"zweiter Karton fehlt\"",
        "Karton Lager",
        "is:customer Schmidt",
        "Krüger",
        "Schröder Rücksendung",
        "status:closed Sofa",
        "assignee:none status:new",
        "Bahn",
        "Deutsche Bahn Verspätung",
        "zerbrochen Vase Fotos",
        "*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Exact identifiers of real cases.
    q.push(format!("A-{}", CaseRef::FIRST + some(1)));
    q.push(format!("A-{}", CaseRef::FIRST + some(2)));
    q.push(tracking(some(3)));
    q.push(tracking(some(4)));
    q.push(format!("BE-2026-{:06}", some(5) % 1_000_000));
    q.push(format!("BE-2026-{:06} Erstattung", some(6) % 1_000_000));
    q.push("DE89370400440532013000".into());
    q.push(format!("from:hans.{}@example.de", some(7)));
    q.push(format!("paul.{}@example.de", some(8)));
    q
}

fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kb("VmRSS:") / 1024, kb("VmHWM:") / 1024)
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let m = e.metadata().ok();
                    if m.as_ref().is_some_and(|m| m.is_dir()) {
                        dir_size(&e.path())
                    } else {
                        m.map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = tempfile_dir(&args)?;
    let config = match &args.database_url {
        Some(url) => StoreConfig::Postgres {
            url: url.clone(),
            writers: 2,
        },
        None => StoreConfig::Sqlite {
            data_dir: tmp.clone(),
        },
    };
    let store = Store::open(&config, Arc::new(SystemClock)).await?;
    let search = Search::open(store.clone(), &tmp).await?;
    let engine = search.engine().clone();
    let mut teams = Vec::new();
    for name in ["Retouren", "Versand", "Zahlungen", "Trust & Safety"] {
        let existing = store.teams().await?.into_iter().find(|t| t.name == name);
        let id = match existing {
            Some(t) => t.id,
            None => match store
                .exec(
                    anliegen_core::Actor::System,
                    Command::CreateTeam {
                        name: name.into(),
                        description: String::new(),
                    },
                )
                .await?
            {
                Output::Team(t) => t.id,
                _ => anyhow::bail!("no team"),
            },
        };
        teams.push(id);
    }
    let agent_id = AgentId::new();
    let have = engine.doc_count().await?;
    let mut index_secs = 0.0;
    if have < args.cases {
        engine.reset().await?;
        let mut g = Gen {
            rng: rand::rngs::StdRng::seed_from_u64(42),
            germeval: germeval(),
        };
        eprintln!("germeval sentences: {}", g.germeval.len());
        let started = Instant::now();
        let mut batch = Vec::with_capacity(1000);
        let mut built = 0.0;
        for n in 0..args.cases {
            let t0 = Instant::now();
            let (case, customer, contacts) =
                build_case(&mut g, n, args.contacts_per_case, &teams, agent_id);
            batch.push(doc::case_doc(&case, Some(&customer), &contacts));
            batch.push(doc::customer_doc(&customer));
            built += t0.elapsed().as_secs_f64();
            if batch.len() >= 2000 {
                engine
                    .apply(std::mem::take(&mut batch), Vec::new(), 0)
                    .await?;
            }
            if n > 0 && n % 20_000 == 0 {
                eprintln!(
                    "{n} cases, {:.0} contacts/s",
                    (n * args.contacts_per_case) as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        engine.apply(batch, Vec::new(), 1).await?;
        index_secs = started.elapsed().as_secs_f64();
        eprintln!(
            "indexed in {index_secs:.1} s ({built:.1} s of it generating and analysing documents)"
        );
    }
    let contacts = args.cases * args.contacts_per_case;
    let admin = Agent {
        id: agent_id,
        email: EmailAddress::parse("bench@shop.example")?,
        name: "Bench".into(),
        role: Role::Admin,
        skills: vec![],
        languages: vec![Language::De],
        ui_language: Language::De,
        time_zone: TimeZoneName::berlin(),
        teams: vec![],
        active: true,
        available: true,
        max_open: None,
        created_at: jiff::Timestamp::now(),
    };
    let limited = Agent {
        role: Role::Agent,
        teams: vec![teams[0]],
        ..admin.clone()
    };
    // What autovacuum does to a table that took a bulk load (statistics for the planner, the
    // GIN indexes' pending lists merged), done now so the measurement sees the steady state.
    if let Some(pool) = store.pg_pool() {
        // (One statement each: VACUUM refuses to run in the implicit transaction of several.)
        sqlx::raw_sql("VACUUM ANALYZE search_docs")
            .execute(&pool)
            .await?;
        sqlx::raw_sql("VACUUM ANALYZE search_texts")
            .execute(&pool)
            .await?;
    }
    let qs = queries(args.cases);
    assert_eq!(qs.len(), 50, "the query set has 50 queries");
    let mut lat = Vec::new();
    let mut per_query: Vec<(String, Vec<f64>, u64)> =
        qs.iter().map(|q| (q.clone(), Vec::new(), 0)).collect();
    // One warm-up round, then the measured rounds; every fifth query as a team-limited agent.
    for round in 0..=args.rounds {
        for (i, q) in qs.iter().enumerate() {
            let viewer = if i % 5 == 4 {
                Viewer::Agent(limited.clone())
            } else {
                Viewer::Agent(admin.clone())
            };
            let req = Request {
                q: q.clone(),
                sort: if i % 7 == 3 {
                    Sort::Newest
                } else {
                    Sort::Relevance
                },
                limit: 20,
                offset: 0,
                facets: true,
            };
            let t0 = Instant::now();
            let res = search.search(&viewer, &req).await?;
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if round > 0 {
                lat.push(ms);
                per_query[i].1.push(ms);
                per_query[i].2 = res.total;
            }
        }
    }
    // As-you-type (no facets) and a customer's own search.
    let mut typing = Vec::new();
    for round in 0..args.rounds {
        for q in [
            "Rü",
            "Rück",
            "Rücks",
            "Rücksend",
            "Sofa ha",
            "Sofa hal",
            "Paket ni",
            "Paket nicht ang",
        ] {
            let req = Request {
                q: format!("{q}*"),
                sort: Sort::Relevance,
                limit: 8,
                offset: 0,
                facets: false,
            };
            let t0 = Instant::now();
            search.search(&Viewer::Agent(admin.clone()), &req).await?;
            if round > 0 {
                typing.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    typing.sort_by(|a, b| a.total_cmp(b));
    let size = match &args.database_url {
        Some(_) => {
            let pool = store.pg_pool().expect("pg");
            let n: i64 = sqlx::query_scalar(
                "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits \
                 WHERE inhparent = 'search_docs'::regclass)::bigint + pg_total_relation_size('search_texts')",
            )
                .fetch_one(&pool)
                .await?;
            n as u64
        }
        None => dir_size(&tmp.join("search")),
    };
    let (rss_now, rss_peak) = rss();
    let mut slowest: Vec<(String, f64, u64)> = per_query
        .iter()
        .map(|(q, v, n)| {
            let mut v = v.clone();
            v.sort_by(|a, b| a.total_cmp(b));
            (q.clone(), pct(&v, 0.5), *n)
        })
        .collect();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let out = serde_json::json!({
        "engine": engine.name(),
        "cases": args.cases,
        "contacts": contacts,
        "documents": engine.doc_count().await?,
        "index_seconds": index_secs,
        "contacts_per_second": if index_secs > 0.0 { contacts as f64 / index_secs } else { 0.0 },
        "queries": lat.len(),
        "p50_ms": pct(&lat, 0.5),
        "p95_ms": pct(&lat, 0.95),
        "p99_ms": pct(&lat, 0.99),
        "max_ms": lat.last().copied().unwrap_or(0.0),
        "as_you_type_p50_ms": pct(&typing, 0.5),
        "as_you_type_p95_ms": pct(&typing, 0.95),
        "index_bytes": size,
        "rss_mib": rss_now,
        "rss_peak_mib": rss_peak,
        "slowest_p50": slowest.iter().take(8).map(|(q, ms, n)| serde_json::json!({"q": q, "p50_ms": ms, "total": n})).collect::<Vec<_>>(),
        "kinds": DocKind::Case.as_str(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    store.close().await;
    Ok(())
}

fn tempfile_dir(args: &Args) -> anyhow::Result<std::path::PathBuf> {
    match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            Ok(d.clone())
        }
        None => {
            let d =
                std::env::temp_dir().join(format!("anliegen-search-bench-{}", std::process::id()));
            std::fs::create_dir_all(&d)?;
            Ok(d)
        }
    }
}
