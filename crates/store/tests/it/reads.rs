//! Reads: case filters and keyset pagination, contacts without internal notes, customers by
//! identity.

use std::collections::HashSet;

use anliegen_core::{
    AgentId, Case, CaseId, CaseStatus, Channel, Direction, EmailAddress, Identity, IdentityKind,
    Priority, Tag, TeamId,
};
use anliegen_store::{
    CaseFilter, CasePatch, Command, Cursor, CustomerRef, NewCustomer, Output, Store,
};
use jiff::SignedDuration;

use crate::harness::*;

crate::conformance!(
    case_filters_and_pagination,
    contacts_hide_internal_notes,
    batch_reads_match_single_reads,
    customers_by_identity_and_pages,
    agents_teams_and_tokens
);

struct Made {
    case: Case,
    team: Option<TeamId>,
    assignee: Option<AgentId>,
    tags: Vec<&'static str>,
}

async fn team(store: &Store, name: &str) -> anyhow::Result<TeamId> {
    match store
        .exec(
            system(),
            Command::CreateTeam {
                name: name.into(),
                description: String::new(),
            },
        )
        .await?
    {
        Output::Team(t) => Ok(t.id),
        other => panic!("{other:?}"),
    }
}

fn ids<'a>(cases: impl IntoIterator<Item = &'a Case>) -> HashSet<CaseId> {
    cases.into_iter().map(|c| c.id).collect()
}

async fn listed(store: &Store, filter: &CaseFilter) -> anyhow::Result<HashSet<CaseId>> {
    let page = store.cases(filter, None, 1000).await?;
    assert!(page.next.is_none());
    let set = ids(&page.items);
    assert_eq!(set.len(), page.items.len(), "duplicates in a list");
    Ok(set)
}

async fn case_filters_and_pagination(store: Store, env: Env) -> anyhow::Result<()> {
    let t1 = team(&store, "Carriers").await?;
    let t2 = team(&store, "Vendor services").await?;
    let ada = agent(&store, "ada@anliegen.example", vec![t1]).await?;
    let regular_case = open(&store, new_case(by_email("regular@example.com"), "Regular")).await?;
    let regular = regular_case.customer_id;

    let mut made: Vec<Made> = Vec::new();
    for i in 0..24usize {
        // Six cases at a time share their creation time: ties on created_at, split by both
        // page boundaries below (pages end inside the groups 12..17 and 0..5).
        if i % 6 == 0 {
            env.advance(SignedDuration::from_millis(1500));
        }
        let team = [Some(t1), Some(t2), None][i % 3];
        let assignee = (i % 4 == 0).then_some(ada);
        let tags: Vec<&'static str> = match i % 5 {
            0 => vec!["vip"],
            1 => vec!["vip", "refund"],
            _ => vec![],
        };
        let mut nc = new_case(
            if i % 7 == 0 {
                CustomerRef::Id(regular)
            } else {
                by_email(&format!("r{i}@example.com"))
            },
            &format!("Case {i}"),
        );
        nc.team_id = team;
        nc.assignee_id = assignee;
        nc.tags = tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<_, _>>()?;
        nc.priority = if i % 6 == 0 {
            Priority::High
        } else {
            Priority::Normal
        };
        if i % 2 == 1 {
            nc.contact = message(Channel::Form, Direction::Inbound, "Sent through the form");
        }
        let mut case = open(&store, nc).await?;
        match i % 4 {
            1 => case = set_status(&store, &case, CaseStatus::Open).await?,
            2 => {
                set_status(&store, &case, CaseStatus::Open).await?;
                case = set_status(&store, &case, CaseStatus::Solved).await?;
            }
            _ => {}
        }
        made.push(Made {
            case,
            team,
            assignee,
            tags,
        });
    }
    let all_cases = store.cases(&CaseFilter::default(), None, 1000).await?.items;
    assert_eq!(all_cases.len(), 25);

    // Pagination: 25 cases, 10 a page: 10, 10, 5, newest first, no duplicates, nothing left out.
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store.cases(&CaseFilter::default(), cursor, 10).await?;
        pages.push(page.items.clone());
        match page.next {
            Some(next) => {
                // The opaque form survives a round trip through an API.
                assert_eq!(Cursor::decode(&next.encode()), Some(next));
                cursor = Some(next);
            }
            None => break,
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    // Both page boundaries fall inside a group of cases created at the same instant.
    for w in pages.windows(2) {
        assert_eq!(
            w[0].last().map(|c| c.created_at),
            w[1].first().map(|c| c.created_at),
            "the fixture should split a tie at each page boundary"
        );
    }
    let flat: Vec<&Case> = pages.iter().flatten().collect();
    assert_eq!(
        ids(flat.iter().copied()).len(),
        25,
        "a case showed up on two pages"
    );
    assert_eq!(ids(flat.iter().copied()), ids(&all_cases));
    assert!(
        flat.windows(2)
            .all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)),
        "not newest first"
    );
    assert_eq!(
        flat.iter().map(|c| c.id).collect::<Vec<_>>(),
        all_cases.iter().map(|c| c.id).collect::<Vec<_>>()
    );

    // Filters, each against the cases that match by construction.
    let want = |f: &dyn Fn(&Made) -> bool| ids(made.iter().filter(|m| f(m)).map(|m| &m.case));
    let st = |s: CaseStatus| CaseFilter {
        status: vec![s],
        ..Default::default()
    };
    let mut want_new = want(&|m| m.case.status == CaseStatus::New);
    want_new.insert(regular_case.id);
    assert_eq!(listed(&store, &st(CaseStatus::New)).await?, want_new);
    assert_eq!(
        listed(&store, &st(CaseStatus::Solved)).await?,
        want(&|m| m.case.status == CaseStatus::Solved)
    );
    let open_or_solved = CaseFilter {
        status: vec![CaseStatus::Open, CaseStatus::Solved],
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &open_or_solved).await?,
        want(&|m| matches!(m.case.status, CaseStatus::Open | CaseStatus::Solved))
    );
    assert!(listed(&store, &st(CaseStatus::Closed)).await?.is_empty());
    let by_team = CaseFilter {
        team_id: Some(t2),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &by_team).await?,
        want(&|m| m.team == Some(t2))
    );
    let mine = CaseFilter {
        assignee_id: Some(Some(ada)),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &mine).await?,
        want(&|m| m.assignee == Some(ada))
    );
    let mut unassigned_want = want(&|m| m.assignee.is_none());
    unassigned_want.insert(regular_case.id);
    let unassigned = CaseFilter {
        assignee_id: Some(None),
        ..Default::default()
    };
    assert_eq!(listed(&store, &unassigned).await?, unassigned_want);
    let refund = CaseFilter {
        tag: Some(Tag::parse("refund")?),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &refund).await?,
        want(&|m| m.tags.contains(&"refund"))
    );
    let vip = CaseFilter {
        tag: Some(Tag::parse("VIP")?),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &vip).await?,
        want(&|m| m.tags.contains(&"vip"))
    );
    let form = CaseFilter {
        channel: Some(Channel::Form),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &form).await?,
        want(&|m| m.case.channel == Channel::Form)
    );
    let high = CaseFilter {
        priority: Some(Priority::High),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &high).await?,
        want(&|m| m.case.priority == Priority::High)
    );
    let of_regular = CaseFilter {
        customer_id: Some(regular),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &of_regular).await?.len(),
        1 + made
            .iter()
            .filter(|m| m.case.customer_id == regular)
            .count()
    );
    let combined = CaseFilter {
        status: vec![CaseStatus::New],
        team_id: Some(t1),
        tag: Some(Tag::parse("vip")?),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, &combined).await?,
        want(&|m| m.case.status == CaseStatus::New
            && m.team == Some(t1)
            && m.tags.contains(&"vip"))
    );
    assert!(
        !listed(&store, &combined).await?.is_empty(),
        "the combined filter should match something"
    );

    // Filters follow updates: tags, assignee and team changes are visible at once.
    let first_vip = made
        .iter()
        .find(|m| m.tags.contains(&"vip") && m.assignee.is_none() && m.team.is_some())
        .expect("a vip case");
    let patch = CasePatch {
        remove_tags: vec![Tag::parse("vip")?],
        assignee_id: Some(Some(ada)),
        team_id: Some(None),
        ..Default::default()
    };
    store
        .exec(
            system(),
            Command::UpdateCase {
                id: first_vip.case.id,
                patch,
            },
        )
        .await?;
    assert!(!listed(&store, &vip).await?.contains(&first_vip.case.id));
    assert!(listed(&store, &mine).await?.contains(&first_vip.case.id));
    assert!(
        !listed(
            &store,
            &CaseFilter {
                team_id: first_vip.team,
                ..Default::default()
            }
        )
        .await?
        .contains(&first_vip.case.id)
    );

    // A filtered list pages just as well.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.cases(&unassigned, cursor, 4).await?;
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let seen_set: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen_set.len(), seen.len());
    assert_eq!(seen_set, listed(&store, &unassigned).await?);
    Ok(())
}

async fn contacts_hide_internal_notes(store: Store, env: Env) -> anyhow::Result<()> {
    let case = open(&store, new_case(by_email("notes@example.com"), "Notes")).await?;
    for (i, contact) in [
        note("Customer is known to us"),
        outbound("We will check"),
        note("Asked the warehouse"),
        inbound("Thanks"),
    ]
    .into_iter()
    .enumerate()
    {
        if i % 2 == 0 {
            env.advance(SignedDuration::from_secs(1));
        }
        store
            .exec(
                system(),
                Command::AddContact {
                    case_id: case.id,
                    contact,
                    status_after: None,
                },
            )
            .await?;
    }
    let public = store.contacts(case.id, false).await?;
    assert_eq!(
        public.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        ["Hello, this is about: Notes", "We will check", "Thanks"]
    );
    let all = store.contacts(case.id, true).await?;
    assert_eq!(
        all.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        [
            "Hello, this is about: Notes",
            "Customer is known to us",
            "We will check",
            "Asked the warehouse",
            "Thanks"
        ]
    );
    assert!(
        all.iter()
            .filter(|c| c.channel == Channel::Note)
            .all(|c| c.visibility == anliegen_core::Visibility::Internal)
    );
    assert_eq!(store.contact(all[1].id).await?.as_ref(), Some(&all[1]));
    // A note marked public is refused.
    let mut bad = note("oops");
    bad.visibility = anliegen_core::Visibility::Public;
    assert!(
        store
            .exec(
                system(),
                Command::AddContact {
                    case_id: case.id,
                    contact: bad,
                    status_after: None
                }
            )
            .await
            .is_err()
    );
    assert_eq!(store.contacts(case.id, true).await?.len(), 5);
    Ok(())
}

async fn customers_by_identity_and_pages(store: Store, env: Env) -> anyhow::Result<()> {
    let phone = Identity::parse(IdentityKind::Phone, "+43 1 234 5678")?;
    let shop = Identity::parse(IdentityKind::ShopCustomerId, "C-0042")?;
    let nc = NewCustomer {
        name: Some("Greta".into()),
        identities: vec![email("Greta@Example.com"), phone.clone(), shop.clone()],
        ..Default::default()
    };
    let greta = match store.exec(system(), Command::CreateCustomer(nc)).await? {
        Output::Customer(c) => *c,
        other => panic!("{other:?}"),
    };
    for identity in [
        email("greta@example.com"),
        email("GRETA@EXAMPLE.COM"),
        phone,
        shop,
    ] {
        let found = store
            .customer_by_identity(&identity)
            .await?
            .expect("found by identity");
        assert_eq!(found.id, greta.id, "{identity}");
        assert_eq!(found.identities.len(), 3);
    }
    assert_eq!(
        store
            .customer_by_identity(&email("nobody@example.com"))
            .await?,
        None
    );
    assert_eq!(
        store
            .customer_by_identity(&Identity::parse(IdentityKind::ShopCustomerId, "c-0042")?)
            .await?,
        None,
        "shop ids are case-sensitive"
    );

    for i in 0..4 {
        env.advance(SignedDuration::from_secs(1));
        open(
            &store,
            new_case(by_email(&format!("page{i}@example.com")), "Page"),
        )
        .await?;
    }
    let first = store.customers(None, 3).await?;
    assert_eq!(first.items.len(), 3);
    let rest = store.customers(first.next, 3).await?;
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next.is_none());
    let all: HashSet<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|c| c.id)
        .collect();
    assert_eq!(all.len(), 5);
    assert_eq!(
        rest.items.last().map(|c| c.id),
        Some(greta.id),
        "oldest last"
    );
    Ok(())
}

async fn agents_teams_and_tokens(store: Store, _env: Env) -> anyhow::Result<()> {
    let carriers = team(&store, "Carriers").await?;
    let dup = store
        .exec(
            system(),
            Command::CreateTeam {
                name: "CARRIERS".into(),
                description: String::new(),
            },
        )
        .await;
    assert!(
        matches!(dup, Err(anliegen_store::StoreError::Conflict { .. })),
        "{dup:?}"
    );
    assert_eq!(store.teams().await?.len(), 1);
    assert_eq!(
        store.team(carriers).await?.map(|t| t.name),
        Some("Carriers".to_owned())
    );

    let ada = agent(&store, "ada@anliegen.example", vec![carriers]).await?;
    let dup = agent(&store, "ADA@anliegen.example", vec![]).await;
    assert!(
        dup.is_err(),
        "a second agent with the same address was created"
    );
    let creds = store
        .agent_credentials(&EmailAddress::parse("Ada@Anliegen.example")?)
        .await?
        .expect("credentials");
    assert_eq!(
        (creds.agent.id, creds.agent.teams.clone()),
        (ada, vec![carriers])
    );
    assert_eq!(store.agents().await?.len(), 1);

    let nt = |hash: &str| anliegen_store::NewToken {
        agent_id: ada,
        name: "CI".into(),
        hash: hash.into(),
        scopes: vec!["cases:read".into()],
        expires_at: None,
    };
    let token = match store.exec(system(), Command::CreateToken(nt("h1"))).await? {
        Output::Token(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(store.token_by_hash("h1").await?.as_ref(), Some(&token));
    assert_eq!(store.token_by_hash("h2").await?, None);
    store.exec(system(), Command::CreateToken(nt("h2"))).await?;
    assert_eq!(store.tokens(Some(ada)).await?.len(), 2);
    assert_eq!(store.tokens(None).await?.len(), 2);
    assert!(store.tokens(Some(AgentId::new())).await?.is_empty());
    let unknown = anliegen_store::NewToken {
        agent_id: AgentId::new(),
        ..nt("h3")
    };
    assert!(
        store
            .exec(system(), Command::CreateToken(unknown))
            .await
            .is_err()
    );

    let seq = store.last_seq().await?;
    store
        .exec(system(), Command::RevokeToken { id: token.id })
        .await?;
    assert_eq!(
        store.token_by_hash("h1").await?.and_then(|t| t.revoked_at),
        Some(store.now())
    );
    assert_eq!(
        types(&store.events_after(seq, 10).await?),
        ["token_revoked"]
    );
    // Revoking twice changes nothing; an unknown token is not found.
    store
        .exec(system(), Command::RevokeToken { id: token.id })
        .await?;
    assert_eq!(store.last_seq().await?, seq + 1);
    let missing = store
        .exec(
            system(),
            Command::RevokeToken {
                id: uuid::Uuid::now_v7(),
            },
        )
        .await;
    assert!(
        matches!(missing, Err(anliegen_store::StoreError::NotFound { .. })),
        "{missing:?}"
    );
    Ok(())
}

/// The followers' batch reads (cases, customers with identities, contacts of many cases) give
/// what the single reads give, leave out what does not exist, and keep each case's contacts in
/// order.
async fn batch_reads_match_single_reads(store: Store, env: Env) -> anyhow::Result<()> {
    let a = open(&store, new_case(by_email("batch-a@example.com"), "First")).await?;
    let b = open(&store, new_case(by_email("batch-b@example.com"), "Second")).await?;
    let c = open(&store, new_case(by_email("batch-a@example.com"), "Third")).await?;
    for (case, contact) in [
        (a.id, note("Internal on A")),
        (b.id, inbound("More on B")),
        (a.id, inbound("More on A")),
    ] {
        env.advance(SignedDuration::from_secs(1));
        store
            .exec(
                system(),
                Command::AddContact {
                    case_id: case,
                    contact,
                    status_after: None,
                },
            )
            .await?;
    }
    store
        .exec(
            system(),
            Command::AddIdentity {
                customer_id: a.customer_id,
                identity: Identity::parse(IdentityKind::ShopCustomerId, "K-100")?,
            },
        )
        .await?;
    let missing = CaseId(uuid::Uuid::now_v7());
    let mut cases = store.cases_by_ids(&[c.id, missing, a.id, b.id]).await?;
    cases.sort_by_key(|x| x.id);
    let mut single = Vec::new();
    for id in [a.id, b.id, c.id] {
        single.push(store.case(id).await?.expect("the case"));
    }
    single.sort_by_key(|x| x.id);
    assert_eq!(cases, single);

    let customers = store
        .customers_by_ids(&[
            a.customer_id,
            b.customer_id,
            anliegen_core::CustomerId(uuid::Uuid::now_v7()),
        ])
        .await?;
    assert_eq!(customers.len(), 2);
    for got in &customers {
        let want = store.customer(got.id).await?.expect("the customer");
        assert_eq!(got, &want, "same identities in the same order");
    }
    assert!(customers.iter().any(|x| x.identities.len() == 2));

    for internal in [false, true] {
        let all = store
            .contacts_of_cases(&[a.id, b.id, c.id, missing], internal)
            .await?;
        let mut want = Vec::new();
        for id in [a.id, b.id, c.id] {
            want.extend(store.contacts(id, internal).await?);
        }
        let mut got_by_case = all.clone();
        got_by_case.sort_by_key(|x| x.case_id);
        want.sort_by_key(|x| x.case_id);
        assert_eq!(got_by_case, want, "internal notes: {internal}");
        // Each case's contacts in their order.
        for id in [a.id, b.id, c.id] {
            let mine: Vec<_> = all.iter().filter(|x| x.case_id == id).cloned().collect();
            assert_eq!(mine, store.contacts(id, internal).await?);
        }
    }
    assert!(store.cases_by_ids(&[]).await?.is_empty());
    assert!(store.customers_by_ids(&[]).await?.is_empty());
    assert!(store.contacts_of_cases(&[], true).await?.is_empty());
    Ok(())
}
