//! Idempotency keys: the response is stored with the change; a repeat gets it back and changes
//! nothing; scopes never meet; keys expire after 24 h and are purged.

use std::sync::Arc;

use anliegen_store::{
    Command, IdempotencyClaim, NewJob, Output, Store, StoreError, StoredResponse, Write,
};
use jiff::SignedDuration;

use crate::harness::*;

crate::conformance!(
    replays_return_the_stored_response,
    keys_expire_after_a_day,
    concurrent_repeats_apply_once
);

fn claim(scope: &str, key: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: format!("hash-of-{scope}-{key}"),
        render: Arc::new(|out: &Output| match out {
            Output::Case(c) => StoredResponse {
                status: 201,
                body: format!("{{\"reference\":\"{}\"}}", c.reference),
                request_hash: String::new(),
            },
            _ => StoredResponse {
                status: 200,
                body: "{}".into(),
                request_hash: String::new(),
            },
        }),
    }
}

fn write(scope: &str, key: &str, who: &str) -> Write {
    Write {
        actor: system(),
        command: Command::OpenCase(Box::new(new_case(by_email(who), "Idempotent"))),
        jobs: vec![NewJob::new("mail.ack", serde_json::json!({ "to": who }))],
        idempotency: Some(claim(scope, key)),
    }
}

fn replayed(r: anliegen_store::Result<Output>) -> StoredResponse {
    match r {
        Err(StoreError::Replay(stored)) => stored,
        other => panic!("expected a replay, got {other:?}"),
    }
}

async fn replays_return_the_stored_response(store: Store, _env: Env) -> anyhow::Result<()> {
    let first = case_of(
        store
            .write(write("token-a", "key-1", "i1@example.com"))
            .await?,
    );
    let stored = store
        .idempotent_response("token-a", "key-1", store.now())
        .await?
        .expect("response stored");
    assert_eq!(stored.status, 201);
    assert_eq!(
        stored.body,
        format!("{{\"reference\":\"{}\"}}", first.reference)
    );
    // The store keeps the request hash of the claim (the renderer does not know it).
    assert_eq!(stored.request_hash, "hash-of-token-a-key-1");

    // The same key again, even with another body: the old answer, nothing new.
    let seq = store.last_seq().await?;
    let totals = store.totals().await?;
    let jobs = store.jobs(None, 100).await?.len();
    let again = replayed(
        store
            .write(write("token-a", "key-1", "other@example.com"))
            .await,
    );
    assert_eq!(again, stored);
    assert_eq!(store.last_seq().await?, seq, "a replay wrote events");
    assert_eq!(store.totals().await?.cases, totals.cases);
    assert_eq!(store.totals().await?.customers, totals.customers);
    assert_eq!(
        store.jobs(None, 100).await?.len(),
        jobs,
        "a replay enqueued jobs"
    );
    assert_eq!(
        store
            .customer_by_identity(&email("other@example.com"))
            .await?,
        None
    );

    // The same key in another scope is another request.
    let other = case_of(
        store
            .write(write("token-b", "key-1", "i2@example.com"))
            .await?,
    );
    assert_ne!(other.id, first.id);
    let b = store
        .idempotent_response("token-b", "key-1", store.now())
        .await?
        .expect("stored");
    assert_eq!(b.body, format!("{{\"reference\":\"{}\"}}", other.reference));
    assert_eq!(
        store
            .idempotent_response("token-a", "key-1", store.now())
            .await?,
        Some(stored)
    );
    assert_eq!(
        store
            .idempotent_response("token-a", "key-2", store.now())
            .await?,
        None
    );

    // A refused command stores no response: the key stays free for a corrected request.
    let mut bad = write("token-a", "key-3", "i3@example.com");
    if let Command::OpenCase(nc) = &mut bad.command {
        nc.team_id = Some(anliegen_core::TeamId::new());
    }
    assert!(matches!(
        store.write(bad).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(
        store
            .idempotent_response("token-a", "key-3", store.now())
            .await?,
        None
    );
    store
        .write(write("token-a", "key-3", "i3@example.com"))
        .await?;
    Ok(())
}

async fn keys_expire_after_a_day(store: Store, env: Env) -> anyhow::Result<()> {
    store
        .write(write("token-a", "day", "d1@example.com"))
        .await?;
    env.advance(SignedDuration::from_hours(12));
    store
        .write(write("token-b", "day", "d2@example.com"))
        .await?;
    assert_eq!(
        store.purge_idempotency(store.now()).await?,
        0,
        "purged keys younger than a day"
    );

    // Just before 24 h: still a replay.
    env.advance(SignedDuration::from_hours(12) - SignedDuration::from_secs(1));
    replayed(store.write(write("token-a", "day", "d3@example.com")).await);

    // After 24 h the key is free again and answers with the new response.
    env.advance(SignedDuration::from_secs(2));
    assert_eq!(
        store
            .idempotent_response("token-a", "day", store.now())
            .await?,
        None
    );
    let cases = store.totals().await?.cases;
    let fresh = case_of(
        store
            .write(write("token-a", "day", "d3@example.com"))
            .await?,
    );
    assert_eq!(store.totals().await?.cases, cases + 1);
    let stored = store
        .idempotent_response("token-a", "day", store.now())
        .await?
        .expect("new response");
    assert_eq!(
        stored.body,
        format!("{{\"reference\":\"{}\"}}", fresh.reference)
    );
    replayed(store.write(write("token-a", "day", "d4@example.com")).await);

    // Purge removes only what is older than 24 h: token-b's key (12 h + 1 s old) stays for
    // now, then goes; the renewed token-a key goes a day after its renewal.
    assert_eq!(store.purge_idempotency(store.now()).await?, 0);
    env.advance(SignedDuration::from_hours(12));
    assert_eq!(
        store.purge_idempotency(store.now()).await?,
        1,
        "token-b's key was not purged"
    );
    assert_eq!(
        store
            .idempotent_response("token-a", "day", store.now())
            .await?
            .map(|s| s.body),
        Some(stored.body.clone())
    );
    assert_eq!(env.scalar("SELECT COUNT(*) FROM idempotency").await?, 1);
    env.advance(SignedDuration::from_hours(13));
    assert_eq!(store.purge_idempotency(store.now()).await?, 1);
    assert_eq!(env.scalar("SELECT COUNT(*) FROM idempotency").await?, 0);
    Ok(())
}

async fn concurrent_repeats_apply_once(store: Store, env: Env) -> anyhow::Result<()> {
    // A client retrying hard: the same key many times at once (and other traffic beside it).
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                (
                    true,
                    store
                        .write(write("token-a", "burst", &format!("r{i}@example.com")))
                        .await,
                )
            } else {
                let nc = new_case(by_email(&format!("o{i}@example.com")), "Other");
                (
                    false,
                    store
                        .write(Write::new(system(), Command::OpenCase(Box::new(nc))))
                        .await,
                )
            }
        }));
    }
    let mut applied = Vec::new();
    let mut replays = Vec::new();
    let mut in_flight = 0;
    let mut others = 0;
    for t in tasks {
        match t.await? {
            (true, Ok(out)) => applied.push(case_of(out)),
            (true, Err(StoreError::Replay(s))) => replays.push(s),
            // PostgreSQL with several writers: a repeat that raced the first one is told the key
            // is in use (409); its client retries and gets the replay.
            (true, Err(StoreError::Conflict { field: Some(f), .. })) if f == "Idempotency-Key" => {
                in_flight += 1
            }
            (true, Err(e)) => panic!("a repeat failed: {e:?}"),
            (false, r) => {
                r?;
                others += 1;
            }
        }
    }
    assert_eq!(
        applied.len(),
        1,
        "the same key was applied {} times",
        applied.len()
    );
    assert_eq!(replays.len() + in_flight, 19);
    if env.kind == Kind::Sqlite {
        assert_eq!(
            in_flight, 0,
            "one writer: every repeat sees the committed response"
        );
    }
    assert_eq!(others, 20);
    let body = format!("{{\"reference\":\"{}\"}}", applied[0].reference);
    assert!(replays.iter().all(|r| r.body == body && r.status == 201));
    assert_eq!(store.totals().await?.cases, 21);
    assert_eq!(store.jobs(None, 100).await?.len(), 1);
    Ok(())
}
