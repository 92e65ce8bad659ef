//! The group-commit writer under a burst of concurrent writes: all good writes commit, bad ones
//! fail alone, numbers stay unique, and writes really share transactions.

use std::collections::HashSet;
use std::time::Duration;

use anliegen_core::{CaseStatus, TeamId};
use anliegen_store::{Command, Store, StoreError};

use crate::harness::*;

crate::conformance!(concurrent_writes_commit_together, bad_writes_fail_alone);
crate::conformance!(close_while_writing,);

const GOOD: usize = 200;

async fn concurrent_writes_commit_together(store: Store, _env: Env) -> anyhow::Result<()> {
    let commits = store.commits();
    let batches_before = *commits.borrow();
    let mut tasks = Vec::new();
    for i in 0..GOOD {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            open(
                &store,
                new_case(
                    by_email(&format!("burst{i}@example.com")),
                    &format!("Burst {i}"),
                ),
            )
            .await
        }));
    }
    let mut cases = Vec::new();
    for t in tasks {
        cases.push(t.await??);
    }
    let batches = *commits.borrow() - batches_before;
    assert!(
        batches < GOOD as u64,
        "{GOOD} writes took {batches} transactions: no group commit"
    );

    let numbers: HashSet<u64> = cases.iter().map(|c| c.reference.number()).collect();
    assert_eq!(numbers.len(), GOOD, "case numbers are not unique");
    let customers: HashSet<_> = cases.iter().map(|c| c.customer_id).collect();
    assert_eq!(customers.len(), GOOD);

    let totals = store.totals().await?;
    assert_eq!((totals.cases, totals.customers), (GOOD as i64, GOOD as i64));
    // customer_created, identity_added, case_opened, contact_added per write.
    let events = all_events(&store).await?;
    assert_eq!(events.len(), GOOD * 4);
    let ids: HashSet<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len(), "duplicate event ids");
    // Each case's own events are complete and in order.
    for c in cases.iter().step_by(17) {
        assert_eq!(
            types(&store.case_events(c.id).await?),
            ["case_opened", "contact_added"]
        );
        assert_eq!(
            store.case(c.id).await?.map(|s| s.reference),
            Some(c.reference)
        );
    }
    assert_eq!(store.writer_queue(), 0);
    Ok(())
}

async fn bad_writes_fail_alone(store: Store, _env: Env) -> anyhow::Result<()> {
    let seed = open(&store, new_case(by_email("seed@example.com"), "Seed")).await?;
    let closed = open(&store, new_case(by_email("closed@example.com"), "Closed")).await?;
    set_status(&store, &closed, CaseStatus::Solved).await?;
    set_status(&store, &closed, CaseStatus::Closed).await?;
    let seq_before = store.last_seq().await?;

    // Good writes with bad ones in between: a team that does not exist, an illegal transition,
    // a case that does not exist. Ten good writes share one new identity.
    enum Want {
        Good,
        Bad(&'static str),
    }
    let mut tasks = Vec::new();
    for i in 0..GOOD + 30 {
        let store = store.clone();
        let (want, command) = if i % 23 == 5 {
            let mut nc = new_case(by_email(&format!("bad{i}@example.com")), "Bad team");
            nc.team_id = Some(TeamId::new());
            (Want::Bad("team_id"), Command::OpenCase(Box::new(nc)))
        } else if i % 23 == 11 {
            let patch = anliegen_store::CasePatch {
                status: Some(CaseStatus::New),
                ..Default::default()
            };
            (
                Want::Bad("status"),
                Command::UpdateCase {
                    id: closed.id,
                    patch,
                },
            )
        } else if i % 23 == 17 {
            let patch = anliegen_store::CasePatch {
                subject: Some("x".into()),
                ..Default::default()
            };
            (
                Want::Bad("not found"),
                Command::UpdateCase {
                    id: anliegen_core::CaseId::new(),
                    patch,
                },
            )
        } else if i % 20 == 0 {
            (
                Want::Good,
                Command::OpenCase(Box::new(new_case(
                    by_email("shared@example.com"),
                    &format!("Shared {i}"),
                ))),
            )
        } else {
            (
                Want::Good,
                Command::OpenCase(Box::new(new_case(
                    by_email(&format!("mix{i}@example.com")),
                    &format!("Mix {i}"),
                ))),
            )
        };
        tasks.push(tokio::spawn(async move {
            (want, store.exec(system(), command).await)
        }));
    }
    let mut good = Vec::new();
    let mut bad = 0;
    for t in tasks {
        let (want, got) = tokio::time::timeout(Duration::from_secs(60), t).await??;
        match (want, got) {
            (Want::Good, Ok(out)) => good.push(case_of(out)),
            (Want::Good, Err(e)) => panic!("a good write failed: {e:?}"),
            (Want::Bad("not found"), Err(StoreError::NotFound { .. })) => bad += 1,
            (Want::Bad(field), Err(StoreError::Invalid { field: f, .. })) if f == field => bad += 1,
            (Want::Bad(field), other) => panic!("a bad write ({field}) gave {other:?}"),
        }
    }
    assert!(bad >= 25, "only {bad} bad writes");
    assert_eq!(good.len() + bad, GOOD + 30);

    let numbers: HashSet<u64> = good.iter().map(|c| c.reference.number()).collect();
    assert_eq!(numbers.len(), good.len(), "case numbers are not unique");
    assert!(
        !numbers.contains(&seed.reference.number())
            && !numbers.contains(&closed.reference.number())
    );

    // The shared identity made one customer, whatever batches its writes fell into.
    let shared = store
        .customer_by_identity(&email("shared@example.com"))
        .await?
        .expect("shared customer");
    let shared_cases = good
        .iter()
        .filter(|c| c.subject.starts_with("Shared"))
        .collect::<Vec<_>>();
    assert!(shared_cases.len() >= 5);
    assert!(
        shared_cases.iter().all(|c| c.customer_id == shared.id),
        "one identity became several customers"
    );

    // Exactly the good writes are stored: state and events.
    let distinct_customers: HashSet<_> = good.iter().map(|c| c.customer_id).collect();
    let totals = store.totals().await?;
    assert_eq!(totals.cases as usize, good.len() + 2);
    assert_eq!(totals.customers as usize, distinct_customers.len() + 2);
    let new = store.events_after(seq_before, 10_000).await?;
    let case_opened = new
        .iter()
        .filter(|e| e.kind.type_name() == "case_opened")
        .count();
    let customer_created = new
        .iter()
        .filter(|e| e.kind.type_name() == "customer_created")
        .count();
    assert_eq!(case_opened, good.len());
    assert_eq!(customer_created, distinct_customers.len());
    assert_eq!(new.len(), 2 * good.len() + 2 * distinct_customers.len());
    assert!(
        new.iter().all(|e| e.kind.type_name() != "status_changed"),
        "an illegal transition left an event"
    );
    assert_eq!(
        store.case(closed.id).await?.map(|c| c.status),
        Some(CaseStatus::Closed)
    );
    Ok(())
}

async fn close_while_writing(store: Store, env: Env) -> anyhow::Result<()> {
    // `Store::close` finishes queued writes and stops the writer, also in the middle of a burst
    // (a shutdown signal arriving under load).
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        let nc = new_case(by_email(&format!("c{i}@example.com")), "Closing");
        tasks.push(tokio::spawn(async move {
            store.exec(system(), Command::OpenCase(Box::new(nc))).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let closed = tokio::time::timeout(Duration::from_secs(20), store.close()).await;
    let mut acknowledged = Vec::new();
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(20), t).await?? {
            Ok(out) => acknowledged.push(case_of(out)),
            Err(StoreError::Unavailable(_)) => {}
            Err(e) => panic!("a write failed with {e:?}"),
        }
    }
    assert!(
        closed.is_ok(),
        "Store::close hung while writes were in flight ({} of 300 acknowledged)",
        acknowledged.len()
    );
    assert!(
        store.exec(system(), Command::EnqueueOnly).await.is_err(),
        "a closed store took a write"
    );
    // Every acknowledged write is durable.
    let store = env.open_store().await?;
    for c in &acknowledged {
        assert!(
            store.case(c.id).await?.is_some(),
            "an acknowledged case is missing after close"
        );
    }
    assert_eq!(store.totals().await?.cases as usize, acknowledged.len());
    Ok(())
}
