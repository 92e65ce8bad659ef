//! Workspace benchmark (issue 4): seeds a store with many open cases and one case with many
//! contacts, signs in through the login form like a browser, then measures sequential requests
//! for the first page of a queue and for the long case's view. Prints one JSON line with
//! latency percentiles and page sizes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Base URL of the server.
    #[arg(long)]
    url: String,
    /// API token with the write scope (for seeding).
    #[arg(long)]
    token: String,
    /// Sign-in address and password of an agent (for the pages).
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    /// Open cases to seed.
    #[arg(long, default_value_t = 100_000)]
    cases: u64,
    /// Contacts on the long case.
    #[arg(long, default_value_t = 500)]
    contacts: u64,
    /// Requests per measured page.
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Concurrent seeding clients.
    #[arg(long, default_value_t = 32)]
    clients: u64,
    /// `seed` (prints the long case's reference), `measure` (needs `--case`) or `all`.
    #[arg(long, default_value = "all")]
    phase: String,
    /// The long case (for `--phase measure`).
    #[arg(long)]
    case: Option<String>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    n: usize,
) -> anyhow::Result<serde_json::Value> {
    let mut ms = Vec::with_capacity(n);
    let mut size = 0;
    for _ in 0..n {
        let t = Instant::now();
        let res = client.get(url).header("cookie", cookie).send().await?;
        anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
        let body = res.bytes().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        size = body.len();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok(
        json!({"p50_ms": pct(&ms, 0.5), "p95_ms": pct(&ms, 0.95), "p99_ms": pct(&ms, 0.99), "bytes": size}),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()?;
    let (reference, seeded_s) = if a.phase == "measure" {
        (a.case.clone().unwrap_or_default(), 0.0)
    } else {
        seed(&a, &client).await?
    };
    if a.phase == "seed" {
        println!("{reference}");
        return Ok(());
    }
    measure_pages(&a, &client, &reference, seeded_s).await
}

async fn seed(a: &Args, client: &reqwest::Client) -> anyhow::Result<(String, f64)> {
    // Seed open cases.
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..a.clients {
        let (client, url, token, next) =
            (client.clone(), a.url.clone(), a.token.clone(), next.clone());
        let total = a.cases;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                let prio = ["low", "normal", "normal", "normal", "high", "urgent"][(i % 6) as usize];
                let body = json!({
                    "customer": {"email": format!("kunde{}@example.de", i % 40_000), "name": format!("Kundin {i}")},
                    "subject": format!("Bestellung {i}: Lieferung unvollständig"),
                    "priority": prio,
                    "contact": {"channel": "email", "text": "Guten Tag, von meiner Bestellung ist nur ein Paket angekommen. Bitte prüfen Sie das."}
                });
                let res = client
                    .post(format!("{url}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?;
                anyhow::ensure!(res.status().as_u16() == 201, "seeding: {}", res.status());
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seeded_s = started.elapsed().as_secs_f64();
    // The long case.
    let res: serde_json::Value = client
        .post(format!("{}/api/v1/cases", a.url))
        .bearer_auth(&a.token)
        .json(&json!({"customer": {"email": "lang@example.de", "name": "Lena Lang"}, "subject": "Lange Geschichte", "contact": {"channel": "email", "text": "Erster Kontakt"}}))
        .send()
        .await?
        .json()
        .await?;
    let reference = res["reference"].as_str().unwrap_or_default().to_owned();
    for i in 1..a.contacts {
        let kind = if i % 2 == 0 { "customer" } else { "note" };
        let text = format!(
            "Kontakt {i}: {}",
            "Ich warte noch immer auf die zweite Hälfte meines Sofas. ".repeat(4)
        );
        let res = client
            .post(format!("{}/api/v1/cases/{reference}/contacts", a.url))
            .bearer_auth(&a.token)
            .json(&json!({"kind": kind, "text": text}))
            .send()
            .await?;
        anyhow::ensure!(res.status().as_u16() == 201, "contacts: {}", res.status());
    }
    Ok((reference, seeded_s))
}

async fn measure_pages(
    a: &Args,
    client: &reqwest::Client,
    reference: &str,
    seeded_s: f64,
) -> anyhow::Result<()> {
    // Sign in like a browser.
    let res = client
        .post(format!("{}/login", a.url))
        .form(&[
            ("email", a.email.as_str()),
            ("password", a.password.as_str()),
        ])
        .send()
        .await?;
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(!cookie.is_empty(), "sign-in failed: {}", res.status());
    // Warm up, then measure.
    let queue_url = format!("{}/cases?view=open", a.url);
    let case_url = format!("{}/cases/{reference}", a.url);
    measure(client, &queue_url, &cookie, 20).await?;
    measure(client, &case_url, &cookie, 20).await?;
    let queue = measure(client, &queue_url, &cookie, a.requests).await?;
    let unassigned = measure(
        client,
        &format!("{}/cases?view=unassigned", a.url),
        &cookie,
        a.requests,
    )
    .await?;
    let case = measure(client, &case_url, &cookie, a.requests).await?;
    let css = client
        .get(format!("{}/assets/app.css", a.url))
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let js = client
        .get(format!("{}/assets/app.js", a.url))
        .send()
        .await?
        .bytes()
        .await?
        .len();
    println!(
        "{}",
        json!({
            "open_cases": a.cases + 1, "seeded_in_s": seeded_s, "long_case_contacts": a.contacts,
            "queue_first_page": queue, "unassigned_first_page": unassigned, "case_view": case,
            "css_bytes": css, "js_bytes": js, "css_js_bytes": css + js,
        })
    );
    Ok(())
}
