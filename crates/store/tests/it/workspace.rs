//! Reads and side writes of the agent workspace: queue order and keyset pages, capped counts,
//! the visibility filter, contact windows, events since a time, drafts and saved views.

use anliegen_core::{CaseStatus, Priority};
use anliegen_store::{CaseFilter, Command, Cursor, Draft, QueueOrder, SavedView, Store};
use jiff::SignedDuration;

use crate::harness::*;

crate::conformance!(
    queue_order_pages_and_counts,
    contact_windows_and_events,
    drafts_and_views
);

async fn add(store: &Store, case: &anliegen_core::Case, text: &str) -> anyhow::Result<()> {
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: case.id,
                contact: inbound(text),
                status_after: None,
            },
        )
        .await?;
    Ok(())
}

async fn queue_order_pages_and_counts(store: Store, env: Env) -> anyhow::Result<()> {
    // Ten normal cases a minute apart, one urgent (the newest), one low, one solved.
    let mut normal = Vec::new();
    for i in 0..10 {
        normal.push(
            open(
                &store,
                new_case(by_email(&format!("k{i}@example.de")), &format!("n{i}")),
            )
            .await?,
        );
        env.advance(SignedDuration::from_mins(1));
    }
    let mut low = new_case(by_email("low@example.de"), "low");
    low.priority = Priority::Low;
    let low = open(&store, low).await?;
    let mut urgent = new_case(by_email("urgent@example.de"), "urgent");
    urgent.priority = Priority::Urgent;
    open(&store, urgent).await?;
    let solved = open(&store, new_case(by_email("s@example.de"), "solved")).await?;
    set_status(&store, &solved, CaseStatus::Open).await?;
    set_status(&store, &solved, CaseStatus::Solved).await?;
    // Answering n0 moves it behind the unanswered normal cases.
    store
        .exec(
            system(),
            Command::AddContact {
                case_id: normal[0].id,
                contact: outbound("Wir kümmern uns."),
                status_after: Some(CaseStatus::WaitingOnCustomer),
            },
        )
        .await?;

    let unsolved = CaseFilter {
        unsolved: Some(true),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store.queue(&unsolved, QueueOrder::Due, after, 4).await?;
        seen.extend(page.items.iter().map(|c| c.subject.clone()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let want: Vec<String> = [
        "urgent", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n0", "low",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(
        seen, want,
        "due first: priority, then the oldest unanswered contact"
    );
    assert_eq!(store.count_cases(&unsolved, 1000).await?, 12);
    assert_eq!(
        store.count_cases(&unsolved, 5).await?,
        5,
        "counts are capped"
    );
    let solved_q = CaseFilter {
        status: vec![CaseStatus::Solved],
        ..Default::default()
    };
    let page = store
        .queue(&solved_q, QueueOrder::RecentlyUpdated, None, 10)
        .await?;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, solved.id);
    // Priority changes move a case in the queue.
    set_priority(&store, &low, Priority::Urgent).await?;
    let first = store.queue(&unsolved, QueueOrder::Due, None, 2).await?;
    assert_eq!(
        first.items[0].subject, "low",
        "urgent and older than the other urgent case"
    );
    Ok(())
}

async fn set_priority(
    store: &Store,
    case: &anliegen_core::Case,
    p: Priority,
) -> anyhow::Result<()> {
    store
        .exec(
            system(),
            Command::UpdateCase {
                id: case.id,
                patch: anliegen_store::CasePatch {
                    priority: Some(p),
                    ..Default::default()
                },
            },
        )
        .await?;
    Ok(())
}

async fn contact_windows_and_events(store: Store, env: Env) -> anyhow::Result<()> {
    let case = open(&store, new_case(by_email("lang@example.de"), "long")).await?;
    for i in 1..45 {
        env.advance(SignedDuration::from_secs(30));
        add(&store, &case, &format!("c{i}")).await?;
    }
    let newest = store.contacts_page(case.id, true, None, 30).await?;
    assert_eq!(newest.items.len(), 30);
    assert_eq!(newest.items.last().map(|c| c.text.as_str()), Some("c44"));
    assert_eq!(newest.items.first().map(|c| c.text.as_str()), Some("c15"));
    let older = store.contacts_page(case.id, true, newest.next, 30).await?;
    assert_eq!(older.items.len(), 15);
    assert!(older.next.is_none());
    assert!(
        older
            .items
            .first()
            .is_some_and(|c| c.text.starts_with("Hello"))
    );
    let since = newest.items[0].created_at;
    let events = store.case_events_since(case.id, since, 500).await?;
    assert!(events.iter().all(|e| e.at >= since));
    assert_eq!(
        events.len(),
        30,
        "one contact_added per contact in the window"
    );
    Ok(())
}

async fn drafts_and_views(store: Store, _env: Env) -> anyhow::Result<()> {
    let case = open(&store, new_case(by_email("d@example.de"), "draft")).await?;
    let agent = match store
        .exec(
            system(),
            Command::CreateAgent(anliegen_store::NewAgent {
                email: anliegen_core::EmailAddress::parse("a@shop.example")?,
                name: "A".into(),
                role: anliegen_core::Role::Agent,
                password_hash: None,
                skills: vec![],
                languages: vec![],
                ui_language: anliegen_core::Language::De,
                time_zone: anliegen_core::TimeZoneName::berlin(),
                teams: vec![],
            }),
        )
        .await?
    {
        anliegen_store::Output::Agent(a) => a.id,
        other => panic!("{other:?}"),
    };
    assert!(store.draft(agent, case.id).await?.is_none());
    let d = Draft {
        kind: "reply".into(),
        body: "Sehr geehrte …".into(),
        updated_at: store.now(),
    };
    store.save_draft(agent, case.id, &d).await?;
    let d2 = Draft {
        body: "Sehr geehrte Frau Weber".into(),
        ..d
    };
    store.save_draft(agent, case.id, &d2).await?;
    assert_eq!(
        store.draft(agent, case.id).await?.map(|d| d.body),
        Some(d2.body)
    );
    store.delete_draft(agent, case.id).await?;
    assert!(store.draft(agent, case.id).await?.is_none());

    let v = SavedView {
        id: uuid::Uuid::now_v7(),
        agent_id: agent,
        name: "Rückrufe".into(),
        query: "tag=r%C3%BCckruf".into(),
        created_at: store.now(),
    };
    store.save_view(&v).await?;
    assert_eq!(store.views(agent).await?, vec![v.clone()]);
    assert!(store.delete_view(agent, v.id).await?);
    assert!(!store.delete_view(agent, v.id).await?);
    assert!(store.views(agent).await?.is_empty());
    Ok(())
}
