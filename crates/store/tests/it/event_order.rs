//! The event log is gap-safe: a follower that reads `events_after(cursor)` and moves its cursor
//! to the highest sequence number it saw never skips an event that committed later with a lower
//! number. On PostgreSQL this runs with several group-commit writers on two "nodes". Three
//! followers read side by side: one straight from the database (`events_after`), two through the
//! node's cache of the newest events (`follow_log`, what projections and live updates read; the
//! second is served from what the first read).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anliegen_core::CaseStatus;
use anliegen_store::{CustomerRef, Store};

use crate::harness::*;

crate::conformance!(follower_sees_every_event_exactly_once);

const TASKS: usize = 16;
const WRITES_PER_TASK: usize = 25;

async fn follower_sees_every_event_exactly_once(store: Store, env: Env) -> anyhow::Result<()> {
    // Two nodes on PostgreSQL (each with several writers); one embedded store on SQLite.
    let nodes: Vec<Store> = match env.kind {
        Kind::Postgres => vec![store.clone(), env.open_store().await?],
        Kind::Sqlite => vec![store.clone()],
    };
    let customer = open(&store, new_case(by_email("steady@example.com"), "Warm-up"))
        .await?
        .customer_id;

    let done = Arc::new(AtomicBool::new(false));
    let follower = |cached: bool| {
        let reader = nodes.last().cloned().expect("a node");
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = 0i64;
            let mut seen = Vec::new();
            let mut reads = 0usize;
            loop {
                // Decide on "done" before reading, so the last read starts after every commit.
                let finished = done.load(Ordering::SeqCst);
                let page = if cached {
                    reader.follow_log(cursor, 100).await?
                } else {
                    reader.events_after(cursor, 100).await?
                };
                reads += 1;
                for e in &page {
                    anyhow::ensure!(
                        e.seq > cursor,
                        "reading after {cursor} returned seq {}",
                        e.seq
                    );
                    cursor = e.seq;
                    seen.push(e.id);
                }
                if page.is_empty() {
                    if finished {
                        return Ok::<_, anyhow::Error>((seen, reads));
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let followers = [follower(false), follower(true), follower(true)];

    let mut writers = Vec::new();
    for t in 0..TASKS {
        let node = nodes[t % nodes.len()].clone();
        writers.push(tokio::spawn(async move {
            for i in 0..WRITES_PER_TASK {
                let nc = if i % 3 == 0 {
                    new_case(by_email(&format!("w{t}-{i}@example.com")), "New customer")
                } else {
                    new_case(CustomerRef::Id(customer), "Known customer")
                };
                let case = open(&node, nc).await?;
                if i % 5 == 0 {
                    set_status(&node, &case, CaseStatus::Open).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in writers {
        tokio::time::timeout(Duration::from_secs(120), w).await???;
    }
    done.store(true, Ordering::SeqCst);
    let all = all_events(&store).await?;
    let all_ids: HashSet<_> = all.iter().map(|e| e.id).collect();
    for (follower, how) in
        followers
            .into_iter()
            .zip(["events_after", "follow_log", "follow_log (second)"])
    {
        let (seen, reads) = tokio::time::timeout(Duration::from_secs(60), follower).await???;
        let seen_ids: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(
            seen_ids.len(),
            seen.len(),
            "{how}: the follower saw an event twice"
        );
        let missed: Vec<_> = all
            .iter()
            .filter(|e| !seen_ids.contains(&e.id))
            .map(|e| e.seq)
            .collect();
        assert!(
            missed.is_empty(),
            "{how}: the follower skipped events with seq {missed:?} (after {reads} reads)"
        );
        assert_eq!(seen_ids, all_ids);
        // Several reads happened while writes were going on, or the test proved nothing.
        assert!(reads > 3, "{how}: the follower read only {reads} times");
    }
    let raw: i64 = env.scalar("SELECT COUNT(*) FROM events").await?;
    assert_eq!(raw as usize, all.len());
    let expected = 4 /* warm-up */
        + TASKS * (0..WRITES_PER_TASK).map(|i| if i % 3 == 0 { 4 } else { 2 } + if i % 5 == 0 { 1 } else { 0 }).sum::<usize>();
    assert_eq!(all.len(), expected);
    Ok(())
}
