//! Merge and split: every contact and event is kept, the merged case redirects, and both can
//! be undone.

use anliegen_core::{CaseStatus, Direction};
use anliegen_store::{Command, Output, Store};
use jiff::SignedDuration;

use crate::harness::*;

crate::conformance!(merge_and_undo, split_and_undo);

async fn contact_texts(store: &Store, case: anliegen_core::CaseId) -> anyhow::Result<Vec<String>> {
    Ok(store
        .contacts(case, true)
        .await?
        .into_iter()
        .map(|c| c.text)
        .collect())
}

async fn merge_and_undo(store: Store, env: Env) -> anyhow::Result<()> {
    let a = open(
        &store,
        new_case(by_email("verlag@example.de"), "Preis falsch"),
    )
    .await?;
    env.advance(SignedDuration::from_mins(5));
    let b = open(
        &store,
        new_case(by_email("verlag@example.de"), "Preis immer noch falsch"),
    )
    .await?;
    env.advance(SignedDuration::from_mins(5));
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: b.id,
                contact: inbound("Dritte Nachricht"),
                status_after: None,
            },
        )
        .await?;
    let events_before = store.case_events(b.id).await?.len();
    let out = store
        .exec(
            system(),
            Command::MergeCases {
                source: b.id,
                target: a.id,
            },
        )
        .await?;
    let Output::Case(merged) = out else {
        panic!("{out:?}")
    };
    assert_eq!(merged.contact_count, 3);
    assert_eq!(contact_texts(&store, a.id).await?.len(), 3);
    assert!(contact_texts(&store, b.id).await?.is_empty());
    let b_now = store.case(b.id).await?.unwrap();
    assert_eq!(b_now.status, CaseStatus::Closed);
    assert_eq!(store.merged_into(b.id).await?, Some(a.id));
    assert_eq!(store.merge_links(a.id).await?.0, vec![b.id]);
    let b_events = store.case_events(b.id).await?;
    assert!(
        b_events.len() > events_before,
        "the merged case keeps its events and gains the merge"
    );
    assert!(types(&b_events).contains(&"case_merged"));
    assert!(types(&store.case_events(a.id).await?).contains(&"case_merged"));
    // Twice is refused, as is merging into itself.
    assert!(
        store
            .exec(
                system(),
                Command::MergeCases {
                    source: b.id,
                    target: a.id
                }
            )
            .await
            .is_err()
    );
    assert!(
        store
            .exec(
                system(),
                Command::MergeCases {
                    source: a.id,
                    target: a.id
                }
            )
            .await
            .is_err()
    );

    store
        .exec(system(), Command::UnmergeCase { source: b.id })
        .await?;
    assert_eq!(contact_texts(&store, b.id).await?.len(), 2);
    assert_eq!(contact_texts(&store, a.id).await?.len(), 1);
    let b_now = store.case(b.id).await?.unwrap();
    assert_eq!(
        b_now.status,
        CaseStatus::New,
        "the status before the merge is back"
    );
    assert_eq!(b_now.contact_count, 2);
    assert!(b_now.waiting_since.is_some());
    assert_eq!(store.merged_into(b.id).await?, None);
    assert!(types(&store.case_events(b.id).await?).contains(&"case_unmerged"));
    assert!(
        store
            .exec(system(), Command::UnmergeCase { source: b.id })
            .await
            .is_err(),
        "nothing left to undo"
    );
    Ok(())
}

async fn split_and_undo(store: Store, env: Env) -> anyhow::Result<()> {
    let a = open(
        &store,
        new_case(by_email("kunde@example.de"), "Sofa und Rechnung"),
    )
    .await?;
    env.advance(SignedDuration::from_mins(1));
    let out = store
        .exec(
            system(),
            Command::AddContact {
                case_id: a.id,
                contact: inbound("Ganz anderes Thema: meine Rechnung"),
                status_after: None,
            },
        )
        .await?;
    let Output::Contact { contact, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(contact.direction, Direction::Inbound);
    let out = store
        .exec(
            system(),
            Command::SplitContact {
                contact_id: contact.id,
            },
        )
        .await?;
    let Output::Case(new) = out else {
        panic!("{out:?}")
    };
    assert_ne!(new.id, a.id);
    assert_eq!(new.customer_id, a.customer_id);
    assert_eq!(new.contact_count, 1);
    assert_eq!(
        contact_texts(&store, new.id).await?,
        vec!["Ganz anderes Thema: meine Rechnung".to_owned()]
    );
    assert_eq!(store.case(a.id).await?.unwrap().contact_count, 1);
    assert_eq!(store.merge_links(new.id).await?.1, Some(a.id));
    assert!(types(&store.case_events(new.id).await?).contains(&"contact_split"));
    // The only contact of a case cannot be split off.
    let only = store.contacts(a.id, true).await?[0].id;
    assert!(
        store
            .exec(system(), Command::SplitContact { contact_id: only })
            .await
            .is_err()
    );

    store
        .exec(system(), Command::UndoSplit { case_id: new.id })
        .await?;
    assert_eq!(store.case(a.id).await?.unwrap().contact_count, 2);
    let new_now = store.case(new.id).await?.unwrap();
    assert_eq!(new_now.status, CaseStatus::Closed);
    assert_eq!(new_now.contact_count, 0);
    assert!(types(&store.case_events(a.id).await?).contains(&"split_undone"));
    Ok(())
}
