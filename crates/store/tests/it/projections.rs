//! Projections: the `Stats` projection catches up from its checkpoint, survives a crash in the
//! middle without double counting, rebuilds after `reset`, and reports its lag.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{CaseStatus, Channel, Direction};
use anliegen_store::projection::{self, Projection, Stats};
use anliegen_store::{CaseFilter, Command, CustomerRef, NewCustomer, Output, Store};

use crate::harness::*;

crate::conformance!(
    stats_catch_up_and_rebuild,
    stats_survive_a_crash,
    follow_keeps_up
);
crate::conformance!(
    stats_apply_is_safe_on_seen_events,
    concurrent_catch_up_counts_once,
    notifications_follow_the_assignee_of_the_time,
);

/// A projection may run late: a case's first message, assigned only afterwards, is no
/// "customer replied" for the new assignee, while a reply after the assignment is.
async fn notifications_follow_the_assignee_of_the_time(
    store: Store,
    _env: Env,
) -> anyhow::Result<()> {
    use anliegen_store::CasePatch;
    use anliegen_store::projection::Notifications;
    let anna = agent(&store, "anna@shop.example", vec![]).await?;
    let case = open(
        &store,
        new_case(by_email("kundin@example.com"), "Sofa halb geliefert"),
    )
    .await?;
    store
        .exec(
            system(),
            Command::UpdateCase {
                id: case.id,
                patch: CasePatch {
                    assignee_id: Some(Some(anna)),
                    ..Default::default()
                },
            },
        )
        .await?;
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: case.id,
                contact: inbound("Wann kommt das zweite Paket?"),
                status_after: None,
            },
        )
        .await?;
    // All of it in one step, after the fact.
    projection::catch_up(&store, &Notifications).await?;
    let kinds: Vec<String> = store
        .notifications(anna, 50)
        .await?
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "customer_replied").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "assigned").count(),
        1,
        "{kinds:?}"
    );
    Ok(())
}

/// A little history: customers, cases in every status, replies, notes, a reopen, a merge.
async fn history(store: &Store, round: usize) -> anyhow::Result<()> {
    let mut cases = Vec::new();
    for i in 0..6 {
        cases.push(
            open(
                store,
                new_case(
                    by_email(&format!("p{round}-{i}@example.com")),
                    &format!("Case {i}"),
                ),
            )
            .await?,
        );
    }
    let reply = |case: &anliegen_core::Case, status| Command::AddContact {
        case_id: case.id,
        contact: outbound("We are on it"),
        status_after: Some(status),
    };
    store
        .exec(system(), reply(&cases[1], CaseStatus::Open))
        .await?;
    store
        .exec(system(), reply(&cases[2], CaseStatus::WaitingOnCustomer))
        .await?;
    store
        .exec(system(), reply(&cases[3], CaseStatus::Solved))
        .await?;
    set_status(store, &cases[4], CaseStatus::Solved).await?;
    set_status(store, &cases[4], CaseStatus::Closed).await?;
    set_status(store, &cases[5], CaseStatus::WaitingOnThirdParty).await?;
    // Solved + customer reply: reopened. Closed + customer reply: a follow-up case.
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: cases[3].id,
                contact: inbound("Not solved!"),
                status_after: None,
            },
        )
        .await?;
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: cases[4].id,
                contact: inbound("Again"),
                status_after: None,
            },
        )
        .await?;
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: cases[0].id,
                contact: note("VIP"),
                status_after: None,
            },
        )
        .await?;
    let phone = message(Channel::Phone, Direction::Inbound, "Called about it");
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: cases[5].id,
                contact: phone,
                status_after: None,
            },
        )
        .await?;
    // A merge takes one customer away.
    let dup = match store
        .exec(
            system(),
            Command::CreateCustomer(NewCustomer {
                name: Some("Dup".into()),
                ..Default::default()
            }),
        )
        .await?
    {
        Output::Customer(c) => c,
        other => panic!("{other:?}"),
    };
    open(
        store,
        new_case(CustomerRef::Id(dup.id), "From the duplicate"),
    )
    .await?;
    store
        .exec(
            system(),
            Command::MergeCustomers {
                source: dup.id,
                target: cases[0].customer_id,
            },
        )
        .await?;
    Ok(())
}

/// The counters the stats projection must arrive at, computed from state (not from events).
async fn expected_stats(store: &Store, reopened: i64) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    let cases = store
        .cases(&CaseFilter::default(), None, 10_000)
        .await?
        .items;
    for c in &cases {
        *want.entry("cases.opened".into()).or_default() += 1;
        *want
            .entry(format!("cases.status.{}", c.status))
            .or_default() += 1;
        for contact in store.contacts(c.id, true).await? {
            *want
                .entry(format!(
                    "contacts.{}.{}",
                    contact.channel.as_str(),
                    contact.direction.as_str()
                ))
                .or_default() += 1;
        }
    }
    want.insert(
        "customers".into(),
        store.customers(None, 10_000).await?.items.len() as i64,
    );
    if reopened > 0 {
        want.insert("cases.reopened".into(), reopened);
    }
    Ok(want)
}

async fn stats(store: &Store) -> anyhow::Result<BTreeMap<String, i64>> {
    Ok(store
        .stats()
        .await?
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .collect())
}

async fn stats_catch_up_and_rebuild(store: Store, _env: Env) -> anyhow::Result<()> {
    assert_eq!(projection::lag(&store, Stats::NAME).await?, 0);
    assert_eq!(projection::catch_up(&store, &Stats).await?, 0);
    history(&store, 0).await?;
    let last = store.last_seq().await?;
    assert_eq!(projection::lag(&store, Stats::NAME).await?, last);
    assert!(stats(&store).await?.is_empty());

    let applied = projection::catch_up(&store, &Stats).await?;
    assert_eq!(applied as i64, all_events(&store).await?.len() as i64);
    assert_eq!(projection::lag(&store, Stats::NAME).await?, 0);
    assert_eq!(store.checkpoint(Stats::NAME).await?, last);
    let want = expected_stats(&store, 1).await?;
    assert_eq!(stats(&store).await?, want);
    // Spot checks, so the oracle itself cannot drift.
    assert_eq!(want.get("cases.opened"), Some(&8));
    assert_eq!(want.get("cases.status.new"), Some(&3));
    assert_eq!(want.get("cases.status.closed"), Some(&1));
    assert_eq!(want.get("customers"), Some(&6));

    // Nothing new: a no-op.
    assert_eq!(projection::catch_up(&store, &Stats).await?, 0);
    assert_eq!(stats(&store).await?, want);

    // More history: lag shows it, catch-up adds exactly it.
    history(&store, 1).await?;
    assert!(projection::lag(&store, Stats::NAME).await? > 0);
    projection::catch_up(&store, &Stats).await?;
    let want = expected_stats(&store, 2).await?;
    assert_eq!(stats(&store).await?, want);

    // Reset empties it; catch-up rebuilds the same counts from the log.
    Stats.reset(&store).await?;
    assert!(stats(&store).await?.is_empty());
    assert_eq!(store.checkpoint(Stats::NAME).await?, 0);
    assert_eq!(
        projection::lag(&store, Stats::NAME).await?,
        store.last_seq().await?
    );
    projection::catch_up(&store, &Stats).await?;
    assert_eq!(stats(&store).await?, want);
    assert_eq!(projection::lag(&store, Stats::NAME).await?, 0);
    Ok(())
}

async fn stats_survive_a_crash(store: Store, env: Env) -> anyhow::Result<()> {
    history(&store, 0).await?;
    let events = all_events(&store).await?;
    let half = events.len() / 2;
    // Apply part of the log, as a runner would before dying.
    let part = &events[..half];
    Stats
        .apply(&store, part, part.last().map(|e| e.seq).unwrap_or(0))
        .await?;
    assert_eq!(store.checkpoint(Stats::NAME).await?, events[half - 1].seq);
    assert_eq!(
        projection::lag(&store, Stats::NAME).await?,
        events.last().map(|e| e.seq).unwrap_or(0) - events[half - 1].seq
    );
    // Replaying exactly what was applied (effect done, runner died before moving on) is a no-op.
    Stats
        .apply(&store, part, part.last().map(|e| e.seq).unwrap_or(0))
        .await?;

    let store = restart(&env, store).await?;
    assert_eq!(
        store.checkpoint(Stats::NAME).await?,
        events[half - 1].seq,
        "the checkpoint was not durable"
    );
    projection::catch_up(&store, &Stats).await?;
    assert_eq!(stats(&store).await?, expected_stats(&store, 1).await?);
    assert_eq!(projection::lag(&store, Stats::NAME).await?, 0);

    // And once more after another restart with new history.
    history(&store, 1).await?;
    let store = restart(&env, store).await?;
    assert!(projection::lag(&store, Stats::NAME).await? > 0);
    projection::catch_up(&store, &Stats).await?;
    assert_eq!(stats(&store).await?, expected_stats(&store, 2).await?);
    Ok(())
}

async fn stats_apply_is_safe_on_seen_events(store: Store, _env: Env) -> anyhow::Result<()> {
    // `Projection::apply` must be safe to call again with events it has already seen. A runner
    // that read the log before another runner moved the checkpoint hands over a batch that
    // starts before the checkpoint and ends after it.
    history(&store, 0).await?;
    let events = all_events(&store).await?;
    let third = events.len() / 3;
    let first = &events[..third];
    Stats
        .apply(&store, first, first.last().map(|e| e.seq).unwrap_or(0))
        .await?;
    let overlapping = &events[..2 * third];
    Stats
        .apply(
            &store,
            overlapping,
            overlapping.last().map(|e| e.seq).unwrap_or(0),
        )
        .await?;
    projection::catch_up(&store, &Stats).await?;
    assert_eq!(
        stats(&store).await?,
        expected_stats(&store, 1).await?,
        "events before the checkpoint were counted twice"
    );
    Ok(())
}

async fn concurrent_catch_up_counts_once(store: Store, env: Env) -> anyhow::Result<()> {
    // Several nodes follow the same projection while writes go on (every `anliegen serve` runs
    // its projections). The counters must still match the state.
    let other = match env.kind {
        Kind::Postgres => env.open_store().await?,
        Kind::Sqlite => store.clone(),
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut followers = Vec::new();
    for node in [store.clone(), store.clone(), other.clone(), other.clone()] {
        let stop = stop.clone();
        followers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                projection::catch_up(&node, &Stats).await?;
                tokio::task::yield_now().await;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..30 {
                let c = open(
                    &store,
                    new_case(by_email(&format!("cc{w}-{i}@example.com")), "Concurrent"),
                )
                .await?;
                if i % 2 == 0 {
                    set_status(&store, &c, CaseStatus::Open).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in writers {
        w.await??;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for f in followers {
        f.await??;
    }
    projection::catch_up(&store, &Stats).await?;
    assert_eq!(
        stats(&store).await?,
        expected_stats(&store, 0).await?,
        "concurrent catch-up counted events twice"
    );
    Ok(())
}

async fn follow_keeps_up(store: Store, _env: Env) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(projection::follow(
        store.clone(),
        Arc::new(Stats),
        Duration::from_millis(50),
        stop_rx,
    ));
    history(&store, 0).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while projection::lag(&store, Stats::NAME).await? > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "follow did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats(&store).await?, expected_stats(&store, 1).await?);
    stop_tx.send(true)?;
    tokio::time::timeout(Duration::from_secs(10), task).await??;
    Ok(())
}
