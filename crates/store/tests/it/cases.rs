//! Case lifecycle: opening, references, events in the same transaction as the state, illegal
//! transitions refused without a trace, reopen on a customer reply, follow-ups of closed cases.

use anliegen_core::{CaseRef, CaseStatus, Direction, EventKind, Priority};
use anliegen_store::{CasePatch, Command, Output, Store, StoreError};
use anyhow::ensure;

use crate::harness::*;

crate::conformance!(
    case_lifecycle,
    state_changes_write_their_events,
    illegal_transitions_write_nothing,
    solved_case_reopens_on_customer_reply,
    closed_case_gets_a_follow_up,
);

async fn case_lifecycle(store: Store, _env: Env) -> anyhow::Result<()> {
    let first = open(
        &store,
        new_case(by_email("Alice@Example.com"), "Where is my parcel?"),
    )
    .await?;
    assert_eq!(first.reference, CaseRef::from_number(CaseRef::FIRST));
    assert_eq!(first.reference.to_string(), "A-10001");
    assert_eq!(first.status, CaseStatus::New);
    assert_eq!(first.contact_count, 1);

    // A new customer was created and the identity links to it.
    let alice = store
        .customer_by_identity(&email("alice@example.com"))
        .await?
        .expect("customer by identity");
    assert_eq!(alice.id, first.customer_id);
    assert_eq!(alice.identities, vec![email("alice@example.com")]);
    assert_eq!(
        types(&store.customer_events(alice.id).await?),
        [
            "customer_created",
            "identity_added",
            "case_opened",
            "contact_added"
        ]
    );

    // Same identity (spelled differently): same customer, next reference.
    let second = open(
        &store,
        new_case(by_email("ALICE@example.com"), "And a refund"),
    )
    .await?;
    assert_eq!(second.customer_id, alice.id);
    assert_eq!(second.reference.number(), CaseRef::FIRST + 1);
    let third = open(&store, new_case(by_email("bob@example.com"), "Hello")).await?;
    assert_ne!(third.customer_id, alice.id);
    assert_eq!(third.reference.number(), CaseRef::FIRST + 2);
    assert_eq!(store.totals().await?.customers, 2);
    assert_eq!(store.totals().await?.cases, 3);

    // What is stored is what was returned.
    assert_eq!(store.case(first.id).await?.as_ref(), Some(&first));
    assert_eq!(
        store.case_by_ref(second.reference).await?.map(|c| c.id),
        Some(second.id)
    );

    // The case's events, in order.
    let events = store.case_events(first.id).await?;
    assert_eq!(types(&events), ["case_opened", "contact_added"]);
    assert!(
        events.windows(2).all(|w| w[0].seq < w[1].seq),
        "case events out of order"
    );
    assert!(
        events
            .iter()
            .all(|e| e.at == store.now() && e.actor == system()),
        "event time or actor"
    );
    match &events[0].kind {
        EventKind::CaseOpened {
            reference, subject, ..
        } => {
            assert_eq!(*reference, first.reference);
            assert_eq!(subject, "Where is my parcel?");
        }
        other => panic!("unexpected {other:?}"),
    }
    let contacts = store.contacts(first.id, true).await?;
    assert_eq!(contacts.len(), 1);
    match &events[1].kind {
        EventKind::ContactAdded {
            contact_id,
            direction,
            ..
        } => {
            assert_eq!(*contact_id, contacts[0].id);
            assert_eq!(*direction, Direction::Inbound);
        }
        other => panic!("unexpected {other:?}"),
    }
    // The global log holds exactly these writes' events.
    let all = all_events(&store).await?;
    assert_eq!(all.len(), 4 + 2 + 4);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        store.last_seq().await?,
        all.last().map(|e| e.seq).unwrap_or(0)
    );
    Ok(())
}

/// Runs `command` and checks that exactly the events `expected` were appended, all for `case`.
async fn expect_events(
    store: &Store,
    command: Command,
    case: &anliegen_core::Case,
    expected: &[&str],
) -> anyhow::Result<Output> {
    let before = store.last_seq().await?;
    let out = store.exec(system(), command).await?;
    let new = store.events_after(before, 100).await?;
    assert_eq!(types(&new), expected, "events of the write");
    ensure!(
        new.iter()
            .all(|e| e.case_id == Some(case.id) && e.customer_id == Some(case.customer_id))
    );
    Ok(out)
}

async fn state_changes_write_their_events(store: Store, env: Env) -> anyhow::Result<()> {
    let case = open(
        &store,
        new_case(by_email("carla@example.com"), "Broken kettle"),
    )
    .await?;
    env.advance(jiff::SignedDuration::from_secs(60));

    let patch = CasePatch {
        status: Some(CaseStatus::Open),
        priority: Some(Priority::High),
        ..Default::default()
    };
    let out = expect_events(
        &store,
        Command::UpdateCase { id: case.id, patch },
        &case,
        &["status_changed", "priority_changed"],
    )
    .await?;
    let c = case_of(out);
    assert_eq!((c.status, c.priority), (CaseStatus::Open, Priority::High));
    let stored = store.case(case.id).await?.expect("case");
    assert_eq!(stored, c);
    assert_eq!(stored.updated_at, store.now());

    // A no-op patch writes nothing.
    let patch = CasePatch {
        status: Some(CaseStatus::Open),
        ..Default::default()
    };
    expect_events(
        &store,
        Command::UpdateCase { id: case.id, patch },
        &case,
        &[],
    )
    .await?;

    // An agent reply asking the customer something: contact + status in one write.
    let reply = Command::AddContact {
        case_id: case.id,
        contact: outbound("Which model is it?"),
        status_after: Some(CaseStatus::WaitingOnCustomer),
    };
    let out = expect_events(&store, reply, &case, &["contact_added", "status_changed"]).await?;
    assert_eq!(case_of(out).status, CaseStatus::WaitingOnCustomer);
    let stored = store.case(case.id).await?.expect("case");
    assert_eq!(stored.status, CaseStatus::WaitingOnCustomer);
    assert_eq!(stored.contact_count, 2);
    assert_eq!(
        stored.waiting_since, None,
        "an agent reply stops the customer's wait"
    );

    // The customer answers: the waiting case becomes open again.
    let answer = Command::AddContact {
        case_id: case.id,
        contact: inbound("It is the KX-200"),
        status_after: None,
    };
    expect_events(&store, answer, &case, &["contact_added", "status_changed"]).await?;
    let stored = store.case(case.id).await?.expect("case");
    assert_eq!(stored.status, CaseStatus::Open);
    assert_eq!(stored.waiting_since, Some(store.now()));

    // A note changes nothing but the contact list.
    let n = Command::AddContact {
        case_id: case.id,
        contact: note("Checked the warranty"),
        status_after: None,
    };
    expect_events(&store, n, &case, &["contact_added"]).await?;
    assert_eq!(
        store.case(case.id).await?.expect("case").status,
        CaseStatus::Open
    );

    // The status history in the log matches the state.
    let statuses: Vec<(CaseStatus, CaseStatus)> = store
        .case_events(case.id)
        .await?
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::StatusChanged { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (CaseStatus::New, CaseStatus::Open),
            (CaseStatus::Open, CaseStatus::WaitingOnCustomer),
            (CaseStatus::WaitingOnCustomer, CaseStatus::Open)
        ]
    );

    // The actor of a change is recorded with its event.
    let agent = anliegen_core::Actor::Agent {
        id: anliegen_core::AgentId::new(),
    };
    let seq = store.last_seq().await?;
    let patch = CasePatch {
        priority: Some(Priority::Low),
        ..Default::default()
    };
    store
        .exec(agent.clone(), Command::UpdateCase { id: case.id, patch })
        .await?;
    let new = store.events_after(seq, 10).await?;
    assert_eq!(
        new.iter()
            .map(|e| (&e.actor, e.kind.type_name()))
            .collect::<Vec<_>>(),
        [(&agent, "priority_changed")]
    );
    Ok(())
}

async fn expect_refused(store: &Store, command: Command, field: &str) -> anyhow::Result<()> {
    let seq = store.last_seq().await?;
    let totals = store.totals().await?;
    match store.exec(system(), command).await {
        Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected Invalid on {field}, got {other:?}"),
    }
    assert_eq!(
        store.last_seq().await?,
        seq,
        "a refused write left an event"
    );
    let after = store.totals().await?;
    assert_eq!(
        (after.cases, after.customers),
        (totals.cases, totals.customers)
    );
    Ok(())
}

async fn illegal_transitions_write_nothing(store: Store, _env: Env) -> anyhow::Result<()> {
    let case = open(
        &store,
        new_case(by_email("dora@example.com"), "Login fails"),
    )
    .await?;
    let update = |status| Command::UpdateCase {
        id: case.id,
        patch: CasePatch {
            status: Some(status),
            ..Default::default()
        },
    };

    expect_refused(&store, update(CaseStatus::Closed), "status").await?;
    assert_eq!(
        store.case(case.id).await?.expect("case").status,
        CaseStatus::New
    );

    // A refused status in a patch also refuses the rest of the patch.
    let mixed = CasePatch {
        status: Some(CaseStatus::Closed),
        priority: Some(Priority::Urgent),
        ..Default::default()
    };
    expect_refused(
        &store,
        Command::UpdateCase {
            id: case.id,
            patch: mixed,
        },
        "status",
    )
    .await?;
    assert_eq!(
        store.case(case.id).await?.expect("case").priority,
        Priority::Normal
    );

    set_status(&store, &case, CaseStatus::Open).await?;
    expect_refused(&store, update(CaseStatus::New), "status").await?;
    assert_eq!(
        store.case(case.id).await?.expect("case").status,
        CaseStatus::Open
    );

    // A reply with an impossible status afterwards is refused with its contact.
    let contacts = store.contacts(case.id, true).await?.len();
    let reply = Command::AddContact {
        case_id: case.id,
        contact: outbound("Done"),
        status_after: Some(CaseStatus::New),
    };
    expect_refused(&store, reply, "status").await?;
    assert_eq!(store.contacts(case.id, true).await?.len(), contacts);

    // Closed is final; a reply on a closed case needs a new case.
    set_status(&store, &case, CaseStatus::Solved).await?;
    set_status(&store, &case, CaseStatus::Closed).await?;
    expect_refused(&store, update(CaseStatus::Open), "status").await?;
    let reply = Command::AddContact {
        case_id: case.id,
        contact: outbound("One more thing"),
        status_after: None,
    };
    expect_refused(&store, reply, "case").await?;
    let stored = store.case(case.id).await?.expect("case");
    assert_eq!(stored.status, CaseStatus::Closed);
    assert_eq!(store.contacts(case.id, true).await?.len(), contacts);

    // Not found is its own error and also leaves nothing.
    let seq = store.last_seq().await?;
    let missing = Command::UpdateCase {
        id: anliegen_core::CaseId::new(),
        patch: CasePatch {
            priority: Some(Priority::Low),
            ..Default::default()
        },
    };
    assert!(matches!(
        store.exec(system(), missing).await,
        Err(StoreError::NotFound { what: "case", .. })
    ));
    assert_eq!(store.last_seq().await?, seq);
    Ok(())
}

async fn solved_case_reopens_on_customer_reply(store: Store, _env: Env) -> anyhow::Result<()> {
    let case = open(
        &store,
        new_case(by_email("emil@example.com"), "Invoice missing"),
    )
    .await?;
    set_status(&store, &case, CaseStatus::Open).await?;
    set_status(&store, &case, CaseStatus::Solved).await?;

    let before = store.last_seq().await?;
    let out = store
        .exec(
            system(),
            Command::AddContact {
                case_id: case.id,
                contact: inbound("Still no invoice!"),
                status_after: None,
            },
        )
        .await?;
    let Output::Contact {
        case: reopened,
        contact,
        follow_up_of,
    } = out
    else {
        panic!("expected a contact")
    };
    assert_eq!(follow_up_of, None);
    assert_eq!(reopened.id, case.id);
    assert_eq!(reopened.status, CaseStatus::Open);
    assert_eq!(contact.case_id, case.id);

    let new = store.events_after(before, 100).await?;
    assert_eq!(
        types(&new),
        ["contact_added", "case_reopened", "status_changed"]
    );
    assert_eq!(
        new[1].kind,
        EventKind::CaseReopened {
            contact_id: contact.id
        }
    );
    assert_eq!(
        new[2].kind,
        EventKind::StatusChanged {
            from: CaseStatus::Solved,
            to: CaseStatus::Open
        }
    );
    let stored = store.case(case.id).await?.expect("case");
    assert_eq!(stored.status, CaseStatus::Open);
    assert_eq!(stored.contact_count, 2);
    assert_eq!(store.totals().await?.cases, 1, "a reopen is not a new case");
    Ok(())
}

async fn closed_case_gets_a_follow_up(store: Store, _env: Env) -> anyhow::Result<()> {
    let case = open(
        &store,
        new_case(by_email("fritz@example.com"), "Damaged sofa"),
    )
    .await?;
    set_status(&store, &case, CaseStatus::Solved).await?;
    set_status(&store, &case, CaseStatus::Closed).await?;

    // A customer reply on a closed case cannot ask for a status.
    let seq = store.last_seq().await?;
    let with_status = Command::AddContact {
        case_id: case.id,
        contact: inbound("Hello?"),
        status_after: Some(CaseStatus::Open),
    };
    assert!(matches!(
        store.exec(system(), with_status).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.last_seq().await?, seq);

    let out = store
        .exec(
            system(),
            Command::AddContact {
                case_id: case.id,
                contact: inbound("The sofa broke again"),
                status_after: None,
            },
        )
        .await?;
    let Output::Contact {
        case: follow,
        contact,
        follow_up_of,
    } = out
    else {
        panic!("expected a contact")
    };
    assert_eq!(follow_up_of, Some(case.id));
    assert_ne!(follow.id, case.id);
    assert_eq!(follow.follow_up_of, Some(case.id));
    assert_eq!(follow.customer_id, case.customer_id);
    assert_eq!(follow.status, CaseStatus::New);
    assert_eq!(follow.reference.number(), case.reference.number() + 1);
    assert_eq!(contact.case_id, follow.id);

    let stored = store.case(follow.id).await?.expect("follow-up stored");
    assert_eq!(stored, *follow);
    let old = store.case(case.id).await?.expect("old case");
    assert_eq!(old.status, CaseStatus::Closed);
    assert_eq!(old.contact_count, 1);
    assert_eq!(store.contacts(case.id, true).await?.len(), 1);
    assert_eq!(
        store
            .contacts(follow.id, true)
            .await?
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [contact.id]
    );

    let old_events = store.case_events(case.id).await?;
    let last = old_events.last().expect("events");
    assert_eq!(
        last.kind,
        EventKind::FollowUpOpened {
            follow_up: follow.id,
            reference: follow.reference
        }
    );
    let new_events = store.case_events(follow.id).await?;
    assert_eq!(types(&new_events), ["case_opened", "contact_added"]);
    match &new_events[0].kind {
        EventKind::CaseOpened { follow_up_of, .. } => assert_eq!(*follow_up_of, Some(case.id)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(last.seq < new_events[0].seq);
    Ok(())
}
