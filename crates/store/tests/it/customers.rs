//! Customers: an identity belongs to one customer only; merging moves identities and cases.

use std::sync::Arc;

use anliegen_core::{CaseStatus, EventKind, Identity, IdentityKind};
use anliegen_store::{CaseFilter, Command, CustomerRef, NewCustomer, Output, Store, StoreError};

use crate::harness::*;

crate::conformance!(
    identity_conflicts_write_nothing,
    merge_moves_identities_and_cases
);
crate::conformance!(
    mails_from_a_new_address_at_once,
    concurrent_create_customer_conflicts,
);

fn customer_of(out: Output) -> anliegen_core::Customer {
    match out {
        Output::Customer(c) => *c,
        other => panic!("expected a customer, got {other:?}"),
    }
}

async fn create(
    store: &Store,
    name: &str,
    identities: Vec<Identity>,
) -> anyhow::Result<anliegen_core::Customer> {
    let nc = NewCustomer {
        name: Some(name.to_owned()),
        identities,
        ..Default::default()
    };
    Ok(customer_of(
        store.exec(system(), Command::CreateCustomer(nc)).await?,
    ))
}

async fn identity_conflicts_write_nothing(store: Store, _env: Env) -> anyhow::Result<()> {
    let anna = create(&store, "Anna", vec![email("anna@example.com")]).await?;
    assert_eq!(store.customer(anna.id).await?.as_ref(), Some(&anna));
    let seq = store.last_seq().await?;
    let customers = store.totals().await?.customers;

    // Someone else's identity, next to a free one: refused as a whole.
    let fresh = email("ben@example.com");
    let taken = NewCustomer {
        name: Some("Ben".into()),
        identities: vec![fresh.clone(), email("ANNA@example.com")],
        ..Default::default()
    };
    match store.exec(system(), Command::CreateCustomer(taken)).await {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field.as_deref(), Some("identities")),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.last_seq().await?,
        seq,
        "a refused customer left events"
    );
    assert_eq!(
        store.totals().await?.customers,
        customers,
        "a refused customer was stored"
    );
    assert_eq!(
        store.customer_by_identity(&fresh).await?,
        None,
        "the free identity was linked anyway"
    );
    assert_eq!(
        store
            .customer_by_identity(&email("anna@example.com"))
            .await?
            .map(|c| c.id),
        Some(anna.id)
    );

    // Adding someone else's identity is refused too; adding one's own is a no-op.
    let ben = create(&store, "Ben", vec![fresh.clone()]).await?;
    let seq = store.last_seq().await?;
    let steal = Command::AddIdentity {
        customer_id: ben.id,
        identity: email("anna@example.com"),
    };
    assert!(matches!(
        store.exec(system(), steal).await,
        Err(StoreError::Conflict { .. })
    ));
    let again = Command::AddIdentity {
        customer_id: ben.id,
        identity: fresh.clone(),
    };
    assert_eq!(
        customer_of(store.exec(system(), again).await?).identities,
        vec![fresh.clone()]
    );
    assert_eq!(store.last_seq().await?, seq);
    assert_eq!(
        store.customer(ben.id).await?.map(|c| c.identities),
        Some(vec![fresh.clone()])
    );

    // A new identity is linked with its event.
    let phone = Identity::parse(IdentityKind::Phone, "+49 30 1234567")?;
    let out = store
        .exec(
            system(),
            Command::AddIdentity {
                customer_id: ben.id,
                identity: phone.clone(),
            },
        )
        .await?;
    assert!(customer_of(out).identities.contains(&phone));
    let new = store.events_after(seq, 10).await?;
    assert_eq!(
        new.iter().map(|e| &e.kind).collect::<Vec<_>>(),
        [&EventKind::IdentityAdded {
            identity: phone.clone()
        }]
    );
    assert_eq!(
        store.customer_by_identity(&phone).await?.map(|c| c.id),
        Some(ben.id)
    );

    // A case opened through an identity of an existing customer does not create one.
    let case = open(
        &store,
        new_case(
            CustomerRef::Identity {
                identity: phone,
                name: Some("Other".into()),
                language: None,
            },
            "Call me",
        ),
    )
    .await?;
    assert_eq!(case.customer_id, ben.id);
    assert_eq!(store.totals().await?.customers, 2);
    Ok(())
}

async fn merge_moves_identities_and_cases(store: Store, _env: Env) -> anyhow::Result<()> {
    let phone = Identity::parse(IdentityKind::Phone, "+49 170 5555555")?;
    let source = create(
        &store,
        "Clara (old)",
        vec![email("clara@old.example"), phone.clone()],
    )
    .await?;
    let target = create(&store, "Clara", vec![email("clara@example.com")]).await?;
    let c1 = open(&store, new_case(CustomerRef::Id(source.id), "First")).await?;
    let c2 = open(&store, new_case(CustomerRef::Id(source.id), "Second")).await?;
    set_status(&store, &c2, CaseStatus::Open).await?;
    let c3 = open(&store, new_case(CustomerRef::Id(target.id), "Third")).await?;

    let seq = store.last_seq().await?;
    let merged = customer_of(
        store
            .exec(
                system(),
                Command::MergeCustomers {
                    source: source.id,
                    target: target.id,
                },
            )
            .await?,
    );
    assert_eq!(merged.id, target.id);
    let mut want = vec![
        email("clara@example.com"),
        email("clara@old.example"),
        phone.clone(),
    ];
    want.sort();
    let mut got = merged.identities.clone();
    got.sort();
    assert_eq!(got, want);

    // The source points to the target and keeps no identities.
    let old = store
        .customer(source.id)
        .await?
        .expect("merged customer is kept");
    assert_eq!(old.merged_into, Some(target.id));
    assert!(old.identities.is_empty());
    assert_eq!(
        store.customer_by_identity(&phone).await?.map(|c| c.id),
        Some(target.id)
    );
    assert_eq!(
        store
            .customer_by_identity(&email("clara@old.example"))
            .await?
            .map(|c| c.id),
        Some(target.id)
    );

    // Cases moved.
    let of = |id| CaseFilter {
        customer_id: Some(id),
        ..Default::default()
    };
    assert!(
        store
            .cases(&of(source.id), None, 50)
            .await?
            .items
            .is_empty()
    );
    let mut moved: Vec<_> = store
        .cases(&of(target.id), None, 50)
        .await?
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    moved.sort();
    let mut expected = vec![c1.id, c2.id, c3.id];
    expected.sort();
    assert_eq!(moved, expected);
    assert_eq!(
        store.case(c2.id).await?.map(|c| (c.customer_id, c.status)),
        Some((target.id, CaseStatus::Open))
    );

    // Events: one case_customer_changed per moved case, customer_merged on both customers.
    let new = store.events_after(seq, 100).await?;
    assert_eq!(
        types(&new),
        [
            "case_customer_changed",
            "case_customer_changed",
            "customer_merged",
            "customer_merged"
        ]
    );
    let mut moved_in_events: Vec<_> = new
        .iter()
        .take(2)
        .map(|e| e.case_id.expect("case id"))
        .collect();
    moved_in_events.sort();
    let mut source_cases = vec![c1.id, c2.id];
    source_cases.sort();
    assert_eq!(moved_in_events, source_cases);
    match &new[2].kind {
        EventKind::CustomerMerged {
            source: s,
            target: t,
            identities,
            cases,
        } => {
            assert_eq!((*s, *t), (source.id, target.id));
            assert_eq!(identities.len(), 2);
            assert_eq!(cases.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        store
            .customer_events(source.id)
            .await?
            .last()
            .map(|e| e.kind.type_name()),
        Some("customer_merged")
    );
    assert_eq!(
        store
            .customer_events(target.id)
            .await?
            .last()
            .map(|e| e.kind.type_name()),
        Some("customer_merged")
    );

    // The merged customer is out of the list, cannot be merged or changed again, and a case
    // opened for it lands on the survivor.
    let listed: Vec<_> = store
        .customers(None, 50)
        .await?
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![target.id]);
    let seq = store.last_seq().await?;
    let again = store
        .exec(
            system(),
            Command::MergeCustomers {
                source: source.id,
                target: target.id,
            },
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let back = store
        .exec(
            system(),
            Command::MergeCustomers {
                source: target.id,
                target: source.id,
            },
        )
        .await;
    // Merging into a customer that was merged away names the target as the problem.
    assert!(
        matches!(&back, Err(StoreError::Invalid { field, .. }) if field == "into"),
        "{back:?}"
    );
    let itself = store
        .exec(
            system(),
            Command::MergeCustomers {
                source: target.id,
                target: target.id,
            },
        )
        .await;
    assert!(
        matches!(itself, Err(StoreError::Invalid { .. })),
        "{itself:?}"
    );
    assert_eq!(store.last_seq().await?, seq);
    let late = open(&store, new_case(CustomerRef::Id(source.id), "Late")).await?;
    assert_eq!(late.customer_id, target.id);
    Ok(())
}

/// This test's "nodes": on PostgreSQL two stores on one database (their writes can never share
/// a batch), on SQLite the one store twice.
async fn two_nodes(store: &Store, env: &Env) -> anyhow::Result<Vec<Store>> {
    Ok(match env.kind {
        Kind::Postgres => vec![store.clone(), env.open_store().await?],
        Kind::Sqlite => vec![store.clone(), store.clone()],
    })
}

const ROUNDS: usize = 12;

async fn mails_from_a_new_address_at_once(store: Store, env: Env) -> anyhow::Result<()> {
    // Two mails from the same new address arriving at the same moment: both are stored, on one
    // customer.
    let nodes = two_nodes(&store, &env).await?;
    for round in 0..ROUNDS {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for node in &nodes {
            let (node, barrier) = (node.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                open(
                    &node,
                    new_case(by_email(&format!("race{round}@example.com")), "Same moment"),
                )
                .await
            }));
        }
        let mut owners = Vec::new();
        for t in tasks {
            owners.push(
                t.await?
                    .map_err(|e| {
                        anyhow::anyhow!("round {round}: a mail from a new address was refused: {e}")
                    })?
                    .customer_id,
            );
        }
        assert_eq!(
            owners[0], owners[1],
            "round {round}: one address became two customers"
        );
    }
    assert_eq!(store.totals().await?.customers as usize, ROUNDS);
    assert_eq!(store.totals().await?.cases as usize, 2 * ROUNDS);
    Ok(())
}

async fn concurrent_create_customer_conflicts(store: Store, env: Env) -> anyhow::Result<()> {
    // Of two concurrent CreateCustomer calls with one identity, one wins and the other gets the
    // same Conflict it would get a moment later, not a database error.
    let nodes = two_nodes(&store, &env).await?;
    for round in 0..ROUNDS {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for node in &nodes {
            let (node, barrier) = (node.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let nc = NewCustomer {
                    identities: vec![email(&format!("create{round}@example.com"))],
                    ..Default::default()
                };
                node.exec(system(), Command::CreateCustomer(nc)).await
            }));
        }
        let mut created = 0;
        for t in tasks {
            match t.await? {
                Ok(_) => created += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => panic!(
                    "round {round}: a concurrent CreateCustomer failed with {e:?} instead of a Conflict"
                ),
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
    assert_eq!(store.totals().await?.customers as usize, ROUNDS);
    Ok(())
}
