//! Freshness of search under normal load (issue 6): opens cases at `--rate` contacts per second
//! through the HTTP API of a running node for `--seconds`, each with a unique word, and for
//! every `--sample`-th one polls `GET /api/v1/search` until it is found. Prints the time from
//! the acknowledged commit (201) to the first search that finds it, as JSON.
//!
//!   bench/search_fresh.sh sqlite | bench/search_fresh.sh postgres URL

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    token: String,
    /// New contacts per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Check every n-th case (10 checks a second at 200/s: agents searching meanwhile).
    #[arg(long, default_value_t = 20)]
    sample: u64,
    /// How often a check searches until it finds its case, ms.
    #[arg(long, default_value_t = 50)]
    poll_ms: u64,
}

fn word(n: u64) -> String {
    // Letters only, so it is one plain word: "frischq…".
    let mut s = String::from("frisch");
    let mut x = n + 1;
    while x > 0 {
        s.push((b'a' + (x % 26) as u8) as char);
        x /= 26;
    }
    s
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let args = Arc::new(args);
    let started = Instant::now();
    let total = args.rate * args.seconds;
    let mut tasks = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    for n in 0..total {
        tick.tick().await;
        let (client, args) = (client.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            let w = word(n);
            let body = json!({"customer": {"email": format!("fresh{n}@example.de")}, "subject": "Lieferung",
                "contact": {"channel": "email", "text": format!("Meine Lieferung {w} ist nicht angekommen, bitte prüfen.")}});
            let res = client
                .post(format!("{}/api/v1/cases", args.url))
                .bearer_auth(&args.token)
                .json(&body)
                .send()
                .await
                .ok()?;
            if res.status().as_u16() != 201 {
                return None;
            }
            let acked = Instant::now();
            if n % args.sample != 0 {
                return Some(None);
            }
            loop {
                let v: serde_json::Value = client
                    .get(format!("{}/api/v1/search?q={w}&facets=false&limit=1", args.url))
                    .bearer_auth(&args.token)
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                if v["hits"].as_array().is_some_and(|h| !h.is_empty()) {
                    return Some(Some(acked.elapsed().as_secs_f64() * 1000.0));
                }
                if acked.elapsed() > Duration::from_secs(30) {
                    return Some(Some(f64::INFINITY));
                }
                tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
            }
        }));
    }
    let mut lat = Vec::new();
    let mut ok = 0u64;
    for t in tasks {
        if let Ok(Some(r)) = t.await {
            ok += 1;
            if let Some(ms) = r {
                lat.push(ms);
            }
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{}",
        json!({
            "rate_per_s": args.rate,
            "seconds": started.elapsed().as_secs_f64(),
            "acknowledged": ok,
            "sampled": lat.len(),
            "fresh_p50_ms": p(0.5),
            "fresh_p95_ms": p(0.95),
            "fresh_p99_ms": p(0.99),
            "fresh_max_ms": lat.last().copied().unwrap_or(0.0),
            "within_1s_share": lat.iter().filter(|&&l| l <= 1000.0).count() as f64 / lat.len().max(1) as f64,
        })
    );
    Ok(())
}
