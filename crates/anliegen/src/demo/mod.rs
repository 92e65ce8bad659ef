//! Demo data modelled on our users' stories (a publisher's repeated concern, a misdelivered
//! sofa, a fraud attempt, a flash-sale outage, and everyday cases), loaded through the normal
//! write path with the clock set back so timelines look real. Refuses a store that holds
//! anything but demo data.

use std::collections::{BTreeMap, HashMap};

use anliegen_core::{
    Actor, AgentId, CaseStatus, Channel, CustomerId, Direction, EmailAddress, Identity,
    IdentityKind, Language, OffsetClock, OrganisationId, Priority, Role, Tag, TeamId, Tier,
    TimeZoneName, Visibility,
};
use anliegen_store::{
    CasePatch, Command, CustomerRef, NewAgent, NewCase, NewContact, NewCustomer, Output, Store,
};
use anyhow::{Context as _, anyhow, bail};
use jiff::SignedDuration;
use serde::Deserialize;

/// Password of every demo agent (demo data only; printed at start).
pub const DEMO_PASSWORD: &str = "anliegen-demo";

const STORIES: &str = include_str!("stories.json");
const MARKER: &str = "demo";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stories {
    teams: Vec<TeamIn>,
    agents: Vec<AgentIn>,
    organisations: Vec<OrgIn>,
    customers: Vec<CustomerIn>,
    cases: Vec<CaseIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamIn {
    key: String,
    name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentIn {
    key: String,
    email: String,
    name: String,
    role: String,
    skills: Vec<String>,
    languages: Vec<String>,
    ui_language: String,
    time_zone: String,
    teams: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgIn {
    key: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityIn {
    kind: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    key: String,
    name: String,
    organisation: Option<String>,
    language: String,
    time_zone: Option<String>,
    tier: String,
    notes: String,
    identities: Vec<IdentityIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactIn {
    by: String,
    channel: Option<String>,
    days_ago: f64,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseIn {
    customer: String,
    subject: String,
    priority: String,
    team: Option<String>,
    assignee: Option<String>,
    tags: Vec<String>,
    fields: BTreeMap<String, serde_json::Value>,
    contacts: Vec<ContactIn>,
    status: String,
}

/// What was loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// False when the demo was there already.
    pub fresh: bool,
    /// Demo agents' logins (all with [`DEMO_PASSWORD`]).
    pub agents: Vec<(String, String)>,
    /// Cases in the store.
    pub cases: i64,
}

fn set_back(clock: &OffsetClock, days_ago: f64) {
    let micros = (days_ago * 86_400_000_000.0) as i64;
    clock.set_offset(SignedDuration::from_micros(-micros));
}

/// Loads the demo into `store`, unless it is there already. Fails on a store with real data.
pub async fn load(store: &Store, clock: &OffsetClock) -> anyhow::Result<Loaded> {
    let stories: Stories =
        serde_json::from_str(STORIES).context("the built-in demo data is broken")?;
    let agents: Vec<(String, String)> = stories
        .agents
        .iter()
        .map(|a| (a.name.clone(), a.email.clone()))
        .collect();
    let totals = store.totals().await?;
    if store.meta(MARKER).await?.as_deref() == Some("true") {
        return Ok(Loaded {
            fresh: false,
            agents,
            cases: totals.cases,
        });
    }
    if totals.cases > 0 || totals.customers > 0 || totals.agents > 1 {
        bail!(
            "this store already holds data that is not demo data ({} cases, {} customers, {} agents); \
             the demo is only loaded into an empty store — use another --data-dir",
            totals.cases,
            totals.customers,
            totals.agents
        );
    }
    let result = load_stories(store, clock, &stories).await;
    clock.set_offset(SignedDuration::ZERO);
    result?;
    store
        .exec(
            Actor::System,
            Command::SetMeta {
                key: MARKER.into(),
                value: "true".into(),
            },
        )
        .await?;
    Ok(Loaded {
        fresh: true,
        agents,
        cases: store.totals().await?.cases,
    })
}

async fn load_stories(store: &Store, clock: &OffsetClock, s: &Stories) -> anyhow::Result<()> {
    let sys = Actor::System;
    let oldest = s
        .cases
        .iter()
        .filter_map(|c| c.contacts.first())
        .map(|c| c.days_ago)
        .fold(0.0, f64::max);
    set_back(clock, oldest + 30.0);

    let mut teams: HashMap<&str, TeamId> = HashMap::new();
    for t in &s.teams {
        match store
            .exec(
                sys.clone(),
                Command::CreateTeam {
                    name: t.name.clone(),
                    description: t.description.clone(),
                },
            )
            .await?
        {
            Output::Team(team) => teams.insert(&t.key, team.id),
            _ => bail!("unexpected result creating team {}", t.key),
        };
    }
    // A mailbox, so mail to the demo (SMTP listener, `anliegen import mail`) has somewhere to go.
    store
        .exec(
            sys.clone(),
            Command::CreateMailbox(anliegen_store::NewMailbox {
                address: EmailAddress::parse("service@beispiel-shop.de")?,
                display_name: "Beispiel-Shop Kundenservice".into(),
                team_id: teams.get("kundenservice").copied(),
                language: Language::De,
                signature: "Beispiel-Shop GmbH · Kundenservice\nMo–Fr 8–18 Uhr · 030 1234567"
                    .into(),
                imap: None,
                outbound_route: "default".into(),
            }),
        )
        .await?;
    let hash =
        anliegen_web::auth::hash_password(DEMO_PASSWORD).map_err(|e| anyhow!("hashing: {e}"))?;
    let mut agents: HashMap<&str, AgentId> = HashMap::new();
    for a in &s.agents {
        let languages = a
            .languages
            .iter()
            .map(|l| Language::parse(l))
            .collect::<Result<Vec<_>, _>>()?;
        let team_ids = a
            .teams
            .iter()
            .map(|t| {
                teams
                    .get(t.as_str())
                    .copied()
                    .ok_or_else(|| anyhow!("unknown team {t}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let cmd = Command::CreateAgent(NewAgent {
            email: EmailAddress::parse(&a.email)?,
            name: a.name.clone(),
            role: Role::parse(&a.role)?,
            password_hash: Some(hash.clone()),
            skills: a.skills.clone(),
            languages,
            ui_language: Language::parse(&a.ui_language)?,
            time_zone: TimeZoneName::parse(&a.time_zone)?,
            teams: team_ids,
        });
        match store.exec(sys.clone(), cmd).await? {
            Output::Agent(agent) => agents.insert(&a.key, agent.id),
            _ => bail!("unexpected result creating agent {}", a.key),
        };
    }
    let mut orgs: HashMap<&str, OrganisationId> = HashMap::new();
    for o in &s.organisations {
        match store
            .exec(
                sys.clone(),
                Command::CreateOrganisation {
                    name: o.name.clone(),
                },
            )
            .await?
        {
            Output::Organisation(org) => orgs.insert(&o.key, org.id),
            _ => bail!("unexpected result creating organisation {}", o.key),
        };
    }
    let mut customers: HashMap<&str, CustomerId> = HashMap::new();
    for c in &s.customers {
        let identities = c
            .identities
            .iter()
            .map(|i| Ok(Identity::parse(IdentityKind::parse(&i.kind)?, &i.value)?))
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("customer {}", c.key))?;
        let nc = NewCustomer {
            name: Some(c.name.clone()),
            organisation_id: c.organisation.as_deref().and_then(|o| orgs.get(o).copied()),
            language: Some(Language::parse(&c.language)?),
            time_zone: c
                .time_zone
                .as_deref()
                .map(TimeZoneName::parse)
                .transpose()?,
            tier: Tier::parse(&c.tier)?,
            notes: c.notes.clone(),
            identities,
        };
        match store.exec(sys.clone(), Command::CreateCustomer(nc)).await? {
            Output::Customer(cust) => customers.insert(&c.key, cust.id),
            _ => bail!("unexpected result creating customer {}", c.key),
        };
    }
    for (n, case) in s.cases.iter().enumerate() {
        load_case(store, clock, case, &teams, &agents, &customers)
            .await
            .with_context(|| format!("demo case {n}: {}", case.subject))?;
    }
    Ok(())
}

async fn load_case(
    store: &Store,
    clock: &OffsetClock,
    c: &CaseIn,
    teams: &HashMap<&str, TeamId>,
    agents: &HashMap<&str, AgentId>,
    customers: &HashMap<&str, CustomerId>,
) -> anyhow::Result<()> {
    let customer = *customers
        .get(c.customer.as_str())
        .ok_or_else(|| anyhow!("unknown customer {}", c.customer))?;
    let team_id = c
        .team
        .as_deref()
        .map(|t| {
            teams
                .get(t)
                .copied()
                .ok_or_else(|| anyhow!("unknown team {t}"))
        })
        .transpose()?;
    let assignee_id = c
        .assignee
        .as_deref()
        .map(|a| {
            agents
                .get(a)
                .copied()
                .ok_or_else(|| anyhow!("unknown agent {a}"))
        })
        .transpose()?;
    let mut contacts = c.contacts.iter();
    let first = contacts
        .next()
        .ok_or_else(|| anyhow!("a case without contacts"))?;
    set_back(clock, first.days_ago);
    let channel = Channel::parse(first.channel.as_deref().unwrap_or("email"))?;
    let nc = NewCase {
        customer: CustomerRef::Id(customer),
        subject: c.subject.clone(),
        priority: Priority::parse(&c.priority)?,
        team_id,
        assignee_id,
        tags: c
            .tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<_, _>>()?,
        fields: c.fields.clone(),
        language: None,
        contact: NewContact {
            channel,
            direction: Direction::Inbound,
            visibility: Visibility::Public,
            subject: Some(c.subject.clone()),
            text: first.text.clone(),
            html: None,
            attachments: vec![],
            mail: None,
            concern: None,
            offer_identity: None,
            call: None,
        },
        routed_by: None,
        auto_assign: false,
    };
    let case_id = match store
        .exec(
            Actor::Customer { id: customer },
            Command::OpenCase(Box::new(nc)),
        )
        .await?
    {
        Output::Case(case) => case.id,
        _ => bail!("unexpected result opening a case"),
    };
    let mut last = first.days_ago;
    for ct in contacts {
        set_back(clock, ct.days_ago);
        last = ct.days_ago;
        let (actor, contact) = match ct.by.split_once(':') {
            None if ct.by == "customer" => (
                Actor::Customer { id: customer },
                NewContact {
                    channel: Channel::parse(ct.channel.as_deref().unwrap_or("email"))?,
                    direction: Direction::Inbound,
                    visibility: Visibility::Public,
                    subject: None,
                    text: ct.text.clone(),
                    html: None,
                    attachments: vec![],
                    mail: None,
                    concern: None,
                    offer_identity: None,
                    call: None,
                },
            ),
            Some((kind @ ("agent" | "note"), who)) => {
                let id = *agents
                    .get(who)
                    .ok_or_else(|| anyhow!("unknown agent {who}"))?;
                let note = kind == "note";
                (
                    Actor::Agent { id },
                    NewContact {
                        channel: if note {
                            Channel::Note
                        } else {
                            Channel::parse(ct.channel.as_deref().unwrap_or("email"))?
                        },
                        direction: if note {
                            Direction::Internal
                        } else {
                            Direction::Outbound
                        },
                        visibility: if note {
                            Visibility::Internal
                        } else {
                            Visibility::Public
                        },
                        subject: None,
                        text: ct.text.clone(),
                        html: None,
                        attachments: vec![],
                        mail: None,
                        concern: None,
                        offer_identity: None,
                        call: None,
                    },
                )
            }
            _ => bail!("unknown author '{}'", ct.by),
        };
        store
            .exec(
                actor,
                Command::AddContact {
                    case_id,
                    contact,
                    status_after: None,
                },
            )
            .await?;
    }
    set_back(clock, (last - 0.01).max(0.0));
    let target = CaseStatus::parse(&c.status)?;
    let actor = assignee_id
        .map(|id| Actor::Agent { id })
        .unwrap_or(Actor::System);
    let current = store
        .case(case_id)
        .await?
        .ok_or_else(|| anyhow!("case vanished"))?
        .status;
    let path: &[CaseStatus] = match (current, target) {
        (from, to) if from == to => &[],
        (_, CaseStatus::New) => &[],
        (CaseStatus::Solved, CaseStatus::Closed) => &[CaseStatus::Closed],
        (_, CaseStatus::Closed) => &[CaseStatus::Solved, CaseStatus::Closed],
        _ => std::slice::from_ref(&target),
    };
    for status in path {
        let patch = CasePatch {
            status: Some(*status),
            ..CasePatch::default()
        };
        store
            .exec(actor.clone(), Command::UpdateCase { id: case_id, patch })
            .await?;
    }
    Ok(())
}
