//! SMTP load driver for BENCHMARKS.md (issue 3): N concurrent connections deliver the messages
//! of an mbox (from bench/gen_mail.py) to the listener, pipelining MAIL/RCPT/DATA (RFC 2920),
//! each message once. Counts only `250` answers (sent after the durable commit) and prints
//! throughput and latency percentiles as one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Parser)]
struct Args {
    /// Listener address.
    #[arg(long, default_value = "127.0.0.1:2525")]
    addr: String,
    /// Recipient (a mailbox of the server).
    #[arg(long, default_value = "service@shop.example")]
    rcpt: String,
    /// mbox file with the messages.
    #[arg(long)]
    mbox: std::path::PathBuf,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds to run (or until the messages run out).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut prev_blank = true;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if prev_blank && line.starts_with(b"From ") {
            out.push(Vec::new());
            prev_blank = false;
            continue;
        }
        if let Some(m) = out.last_mut() {
            let depth = line.iter().take_while(|b| **b == b'>').count();
            let l = if depth > 0 && line[depth..].starts_with(b"From ") {
                &line[1..]
            } else {
                line
            };
            m.extend_from_slice(l);
        }
        prev_blank = line == b"\n" || line == b"\r\n";
    }
    out
}

/// Dot-stuffed DATA with CRLF line ends and the final dot.
fn data_of(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    for line in msg.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let messages: Arc<Vec<Vec<u8>>> = Arc::new(
        split_mbox(&std::fs::read(&args.mbox)?)
            .iter()
            .map(|m| data_of(m))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (messages, next, ok, failed, bytes) = (
            messages.clone(),
            next.clone(),
            ok.clone(),
            failed.clone(),
            bytes.clone(),
        );
        let addr = args.addr.clone();
        let rcpt = args.rcpt.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let s = tokio::net::TcpStream::connect(&addr).await?;
            s.set_nodelay(true)?;
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            let mut line = String::new();
            let reply = async |r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
                               line: &mut String|
                   -> anyhow::Result<String> {
                loop {
                    line.clear();
                    if r.read_line(line).await? == 0 {
                        anyhow::bail!("closed");
                    }
                    if line.as_bytes().get(3) != Some(&b'-') {
                        return Ok(line.clone());
                    }
                }
            };
            reply(&mut r, &mut line).await?;
            w.write_all(b"EHLO bench.example\r\n").await?;
            reply(&mut r, &mut line).await?;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(m) = messages.get(i) else { break };
                let t = Instant::now();
                w.write_all(
                    format!(
                        "MAIL FROM:<bench{}@example.de>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n",
                        i % 5000
                    )
                    .as_bytes(),
                )
                .await?;
                let a = reply(&mut r, &mut line).await?;
                let b = reply(&mut r, &mut line).await?;
                let c = reply(&mut r, &mut line).await?;
                if !(a.starts_with("250") && b.starts_with("250") && c.starts_with("354")) {
                    failed.fetch_add(1, Ordering::Relaxed);
                    w.write_all(b"RSET\r\n").await?;
                    reply(&mut r, &mut line).await?;
                    continue;
                }
                w.write_all(m).await?;
                let d = reply(&mut r, &mut line).await?;
                if d.starts_with("250") {
                    ok.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(m.len() as u64, Ordering::Relaxed);
                    lat.push(t.elapsed());
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            w.write_all(b"QUIT\r\n").await.ok();
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let n = ok.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "delivered": n, "failed": failed.load(Ordering::Relaxed), "seconds": (secs * 100.0).round() / 100.0,
            "messages_per_s": (n as f64 / secs).round(), "mb_per_s": ((bytes.load(Ordering::Relaxed) as f64 / 1e6 / secs) * 10.0).round() / 10.0,
            "p50_ms": (pct(0.5) * 10.0).round() / 10.0, "p99_ms": (pct(0.99) * 10.0).round() / 10.0,
            "connections": args.connections,
        })
    );
    Ok(())
}
