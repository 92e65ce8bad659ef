//! Benchmark of business-time arithmetic (issue 7): `BusinessCalendar::add` for random starts
//! over two years (weekends, Bavarian holidays, both DST switches) and random SLA lengths from
//! 15 minutes to 5 business days, one call at a time; prints the latency distribution as JSON.
//!
//!   cargo run --release -p anliegen-bench --bin business_time -- --calls 1000000

use std::time::Instant;

use anliegen_core::calendar::{BusinessCalendar, CalendarSpec};
use clap::Parser;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// Calls measured.
    #[arg(long, default_value_t = 1_000_000)]
    calls: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cal = BusinessCalendar::new(&CalendarSpec::office(Some("DE-BY")))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let base = jiff::Timestamp::from_second(1_767_222_000)?; // 2026-01-01
    let inputs: Vec<(jiff::Timestamp, i64)> = (0..args.calls)
        .map(|_| {
            let start =
                base + jiff::SignedDuration::from_secs(rng.random_range(0..2 * 365 * 86_400));
            let minutes = match rng.random_range(0..4) {
                0 => rng.random_range(15..120),
                1 => rng.random_range(120..600),
                2 => rng.random_range(600..1_800),
                _ => rng.random_range(1_800..3_000),
            };
            (start, minutes)
        })
        .collect();
    // Warm-up.
    let mut sink = 0i64;
    for (s, m) in inputs.iter().take(10_000) {
        sink ^= cal.add(*s, *m)?.as_second();
    }
    let mut lat = Vec::with_capacity(inputs.len());
    let started = Instant::now();
    for (s, m) in &inputs {
        let t0 = Instant::now();
        let due = cal.add(*s, *m)?;
        lat.push(t0.elapsed().as_nanos() as u64);
        sink ^= due.as_second();
    }
    let total = started.elapsed();
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize] as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "calls": args.calls,
            "p50_us": p(0.5),
            "p99_us": p(0.99),
            "p999_us": p(0.999),
            "max_us": p(1.0),
            "calls_per_second": args.calls as f64 / total.as_secs_f64(),
            "checksum": sink,
        })
    );
    Ok(())
}
