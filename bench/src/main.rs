//! Load driver for BENCHMARKS.md: opens cases through the HTTP API with many concurrent
//! clients, each request for a new or existing customer from a fixed pool of identities, with
//! a 1–2 KB German or English text and an `Idempotency-Key`. Prints throughput and latency
//! percentiles of acknowledged (201) requests as one JSON line.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API token (needs the write scope).
    #[arg(long, env = "ANLIEGEN_BENCH_TOKEN")]
    token: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Size of the identity pool.
    #[arg(long, default_value_t = 100_000)]
    identities: u64,
    /// Shared corpora folder (German texts from GermEval 2017).
    #[arg(long, env = "ANLIEGEN_CORPORA", default_value = "../shared/corpora")]
    corpora: PathBuf,
}

const ENGLISH: &[&str] = &[
    "Hello, I ordered a sofa three weeks ago and only one of the two packages has arrived so far.",
    "The tracking page says delivered, but nothing was left at my door or with my neighbours.",
    "During the sale the checkout failed twice and my card was charged both times, please refund one payment.",
    "I was promised a call back yesterday afternoon, but nobody called. This is the third time I am writing.",
    "The seller asked me to pay by bank transfer outside the platform, which seems like a scam to me.",
    "Could you please send me a return label? The jacket is too small and I would like a larger size.",
    "My coupon code was not accepted although the minimum order value was reached.",
    "Please change the delivery address of my order to my office, the parcel has not been shipped yet.",
];

fn german_texts(corpora: &std::path::Path) -> Vec<String> {
    let dir = corpora.join("text/germeval2017/data/Germeval/2017");
    let mut out = Vec::new();
    for f in ["dev.tsv", "test.tsv"] {
        if let Ok(s) = std::fs::read_to_string(dir.join(f)) {
            out.extend(
                s.lines()
                    .filter_map(|l| l.split('\t').nth(1))
                    .filter(|t| t.len() > 40)
                    .map(str::to_owned),
            );
        }
    }
    if out.is_empty() {
        eprintln!(
            "note: no GermEval texts under {} — using built-in German sentences",
            dir.display()
        );
        out = vec![
            "Guten Tag, mein Paket ist immer noch nicht angekommen, obwohl die Sendungsverfolgung seit Tagen zugestellt anzeigt.".into(),
            "Ich habe schon dreimal angerufen und jedes Mal eine andere Auskunft bekommen. Bitte rufen Sie mich zurück.".into(),
            "Beim Sale ist der Checkout abgestürzt, mein Warenkorb war leer, aber die Zahlung wurde trotzdem abgebucht.".into(),
        ];
    }
    out
}

fn body(rng: &mut impl Rng, de: &[String], identities: u64) -> String {
    let english = rng.random_bool(0.3);
    let target = rng.random_range(1024..2048);
    let mut text = String::with_capacity(target + 200);
    while text.len() < target {
        let s: &str = if english {
            ENGLISH.choose(rng).copied().unwrap_or("Hello.")
        } else {
            de.choose(rng).map(String::as_str).unwrap_or("Hallo.")
        };
        text.push_str(s);
        text.push(' ');
    }
    let mut cut = target.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    let id = rng.random_range(0..identities);
    serde_json::json!({
        "customer": { "email": format!("kunde{id}@bench.example.de"), "name": format!("Kunde {id}") },
        "subject": if english { "Question about my order" } else { "Frage zu meiner Bestellung" },
        "contact": { "channel": "email", "text": text },
    })
    .to_string()
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let de = Arc::new(german_texts(&args.corpora));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .tcp_nodelay(true)
        .build()?;
    let url = format!("{}/api/v1/cases", args.url.trim_end_matches('/'));
    let auth = format!("Bearer {}", args.token);
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, url, auth, de, errors) = (
            client.clone(),
            url.clone(),
            auth.clone(),
            de.clone(),
            errors.clone(),
        );
        let identities = args.identities;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut rng = rand::rngs::StdRng::from_os_rng();
            while Instant::now() < deadline {
                let b = body(&mut rng, &de, identities);
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .body(b)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 201 => {
                        r.bytes().await.ok();
                        lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    }
                    Ok(r) => {
                        let n = errors.fetch_add(1, Ordering::Relaxed);
                        if n < 5 {
                            eprintln!(
                                "HTTP {}: {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(e) => {
                        let n = errors.fetch_add(1, Ordering::Relaxed);
                        if n < 5 {
                            eprintln!("request failed: {e}");
                        }
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let result = serde_json::json!({
        "acknowledged": all.len(),
        "errors": errors.load(Ordering::Relaxed),
        "seconds": (elapsed * 100.0).round() / 100.0,
        "cases_per_second": (all.len() as f64 / elapsed).round(),
        "p50_ms": pct(&all, 0.50),
        "p99_ms": pct(&all, 0.99),
        "max_ms": pct(&all, 1.0),
        "clients": args.clients,
    });
    println!("{result}");
    Ok(())
}
