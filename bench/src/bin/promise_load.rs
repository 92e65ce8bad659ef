//! Fills a node with open promises through the HTTP API, for the scheduler's idle benchmark
//! (issue 7): `--cases` cases with `--promises` promises spread over them, each due 7 to 60
//! days ahead (so its reminder and overdue jobs wait in the queue). Prints one JSON line.
//!
//!   anliegen-bench's promise_load --url http://127.0.0.1:8080 --token … --promises 100000

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Base URL of the server.
    #[arg(long)]
    url: String,
    /// API token (write scope; its agent owns the promises).
    #[arg(long, env = "ANLIEGEN_BENCH_TOKEN")]
    token: String,
    /// Cases to spread the promises over.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Promises.
    #[arg(long, default_value_t = 100_000)]
    promises: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut cases = Vec::new();
    for i in 0..args.cases {
        let res = client
            .post(format!("{}/api/v1/cases", args.url))
            .bearer_auth(&args.token)
            .json(&serde_json::json!({
                "customer": {"email": format!("kunde{i}@example.de")},
                "subject": "Rückruf erbeten",
                "contact": {"channel": "phone", "text": "Bitte rufen Sie mich wegen meiner Bestellung zurück."}
            }))
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "opening a case: {}",
            res.status()
        );
        let v: serde_json::Value = res.json().await?;
        cases.push(v["id"].as_str().unwrap_or_default().to_owned());
    }
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicU64::new(0));
    let now = jiff::Timestamp::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (args, cases, next, client) =
            (args.clone(), cases.clone(), next.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.promises {
                    return anyhow::Ok(());
                }
                let case = &cases[(i % cases.len() as u64) as usize];
                let due = now + jiff::SignedDuration::from_secs(rng.random_range(7 * 86_400..60 * 86_400));
                let res = client
                    .post(format!("{}/api/v1/cases/{case}/promises", args.url))
                    .bearer_auth(&args.token)
                    .json(&serde_json::json!({"what": format!("Rückruf Nr. {i}"), "due_at": due.to_string()}))
                    .send()
                    .await?;
                anyhow::ensure!(res.status().is_success(), "a promise: {}", res.status());
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "{}",
        serde_json::json!({"cases": args.cases, "promises": args.promises, "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}
