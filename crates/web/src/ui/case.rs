//! The case view: customer panel, timeline (newest 30 contacts, older on demand), mail HTML in
//! sandboxed frames, attachments, and the actions reply, note, assign, status, priority, tags.

use std::collections::HashMap;

use anliegen_core::{
    Actor, AgentId, Author, Case, CaseId, CaseRef, CaseStatus, Contact, ContactId, Direction,
    EventKind, MailFlag, Priority, Tag, TeamId, Visibility,
};
use anliegen_store::{CaseFilter, CasePatch, Command, Cursor, Draft, Output, Write};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;

use super::i18n::Tr;
use super::queue::Choice;
use super::session::LoginPage;
use super::{Frame, Session, UiError, can_see, frame, render};
use crate::AppState;

/// Contacts shown at once; older ones load on demand.
const WINDOW: i64 = 30;

/// The case a path names, if the agent may see it (otherwise "not found": a restricted agent
/// does not learn that it exists).
pub(crate) async fn visible_case(
    state: &AppState,
    s: &Session,
    raw: &str,
) -> Result<Case, UiError> {
    let r = CaseRef::parse(raw).map_err(|_| UiError::not_found())?;
    let case = state
        .store()
        .case_by_ref(r)
        .await?
        .ok_or_else(UiError::not_found)?;
    if !can_see(&s.auth.agent, &case) {
        return Err(UiError::new(StatusCode::NOT_FOUND, "error-no-access"));
    }
    Ok(case)
}

/// An attachment in the timeline.
pub(crate) struct FileView {
    pub href: String,
    pub name: String,
    pub size: String,
    pub preview: Option<String>,
}

/// A contact in the timeline.
pub(crate) struct ContactView {
    pub id: String,
    pub kind: &'static str,
    pub channel: String,
    pub direction: String,
    pub author: String,
    pub time: String,
    pub iso: String,
    pub subject: String,
    pub new_text: String,
    pub full_text: Option<String>,
    pub mail_frame: Option<String>,
    pub files: Vec<FileView>,
    pub notes: Vec<String>,
    pub raw: Option<String>,
}

/// One line of the timeline: a contact or a quiet event.
pub(crate) enum Entry {
    Contact(Box<ContactView>),
    Event {
        text: String,
        by: String,
        time: String,
    },
}

pub(crate) struct CustomerPanel {
    pub name: String,
    pub organisation: String,
    pub identities: Vec<(String, String)>,
    pub tier: String,
    pub notes: String,
    pub language: String,
    pub other_cases: Vec<(String, String, String, &'static str)>,
    /// Customers that may be the same: (id, name, evidence).
    pub suggestions: Vec<(String, String, String)>,
    /// Customers merged into this one: (id, name).
    pub merged_from: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    f: Frame,
    /// The newest event when the page was read (its live stream starts there).
    since: i64,
    c: CaseHead,
    customer: CustomerPanel,
    entries: Vec<Entry>,
    older: Option<String>,
    composer: Composer,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    teams: Vec<Choice>,
    assignees: Vec<Choice>,
    tags: String,
    merged_in: Vec<String>,
    split_from: Option<String>,
    can_undo: bool,
    can_split: bool,
    macros: Vec<Choice>,
    tag_suggestions: Vec<String>,
    /// Identities offered for linking: (offer id, kind, value).
    offers: Vec<(String, String, String)>,
    /// The case's SLA clock.
    sla: Option<SlaPanel>,
    /// The case's promises.
    promises: Vec<PromiseRow>,
    /// Tomorrow at this hour, as the form's suggestion (`YYYY-MM-DDTHH:MM`, local).
    promise_default: String,
}

/// A case's SLA as shown in the case view.
struct SlaPanel {
    policy: String,
    /// Why it is paused (words), empty while running.
    paused: String,
    rows: Vec<SlaRow>,
}

/// One SLA target in the case view.
struct SlaRow {
    label: String,
    /// `running`, `paused`, `breached`, `met`, `missed`, `dropped`.
    state: &'static str,
    state_label: String,
    /// A running target's due time.
    due: Option<super::queue::SlaCell>,
    /// When it was met or dropped, or what is left while paused.
    detail: String,
}

/// A promise as shown in the case view.
pub(crate) struct PromiseRow {
    id: String,
    what: String,
    owner: String,
    due: String,
    /// `open`, `overdue`, `kept`, `late`, `cancelled`.
    state: &'static str,
    note: String,
}

/// The case's header facts.
pub(crate) struct CaseHead {
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub status_key: &'static str,
    pub priority: String,
    pub priority_key: &'static str,
    pub assignee: String,
    pub team: String,
    pub channel: String,
    pub created: String,
    pub contact_count: i64,
    pub follow_up_of: Option<String>,
    /// The n-th customer contact about this concern (repeats + 1), when repeated.
    pub repeat_ordinal: Option<i64>,
    pub escalation_level: i64,
}

/// The reply/note form's state.
pub(crate) struct Composer {
    pub kind: String,
    pub body: String,
    pub seen: String,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub reply_channel: String,
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{} KB", bytes / 1024),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

/// Raster images are previewed inline; SVG (which can carry script) never is.
fn previewable(content_type: &str) -> bool {
    matches!(
        content_type.to_ascii_lowercase().as_str(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

fn flag_key(f: MailFlag) -> &'static str {
    match f {
        MailFlag::Unreadable => "flag-unreadable",
        MailFlag::DuplicateMessageId => "flag-duplicate-message-id",
        MailFlag::AutoSubmitted => "flag-auto-submitted",
        MailFlag::Bounce => "flag-bounce",
        MailFlag::Winmail => "flag-winmail",
        MailFlag::RemoteImagesBlocked => "flag-remote-images",
        MailFlag::DmarcFail => "flag-dmarc-fail",
        MailFlag::Malformed => "flag-malformed",
    }
}

struct Names {
    agents: HashMap<AgentId, String>,
    teams: HashMap<TeamId, String>,
    customer: String,
}

impl Names {
    fn agent(&self, t: &Tr, id: Option<AgentId>) -> String {
        id.and_then(|id| self.agents.get(&id).cloned())
            .unwrap_or_else(|| t.s("nobody"))
    }

    fn team(&self, t: &Tr, id: Option<TeamId>) -> String {
        id.and_then(|id| self.teams.get(&id).cloned())
            .unwrap_or_else(|| t.s("no-team"))
    }
}

fn contact_view(
    t: &Tr,
    names: &Names,
    c: &Contact,
    now: Timestamp,
    tz: &jiff::tz::TimeZone,
) -> ContactView {
    let author = match &c.author {
        Author::Customer { .. } => c
            .mail
            .as_ref()
            .and_then(|m| m.from_name.clone().or_else(|| m.from.clone()))
            .unwrap_or_else(|| names.customer.clone()),
        Author::Agent { id } => names.agent(t, Some(*id)),
        Author::ThirdParty { name } => name.clone(),
        Author::System => "Anliegen".to_owned(),
    };
    let kind = match (c.visibility, c.direction) {
        (Visibility::Internal, _) => "note",
        (_, Direction::Inbound) => "inbound",
        (_, Direction::Outbound) => "outbound",
        (_, Direction::Internal) => "note",
    };
    let direction = t.s(&format!("dir-{kind}"));
    let (new_text, full_text) = match &c.mail {
        Some(m) if m.has_quote && !m.new_text.trim().is_empty() => {
            (m.new_text.clone(), Some(c.text.clone()))
        }
        _ => (c.text.clone(), None),
    };
    let mut notes = Vec::new();
    if let Some(m) = &c.mail {
        for f in &m.flags {
            notes.push(t.s(flag_key(*f)));
        }
        match &m.delivery {
            Some(anliegen_core::mail::Delivery::Queued) => notes.push(t.s("delivery-queued")),
            Some(anliegen_core::mail::Delivery::Sent { .. }) => notes.push(t.s("delivery-sent")),
            Some(anliegen_core::mail::Delivery::Retrying { error, .. }) => {
                notes.push(t.a("delivery-retrying", "error", error));
            }
            Some(anliegen_core::mail::Delivery::Failed { error }) => {
                notes.push(t.a("delivery-failed", "error", error));
            }
            None => {}
        }
        if let Some(anliegen_core::mail::ThreadMatch::PossiblyBelongsTo { .. }) = &m.thread {
            notes.push(t.s("thread-possibly"));
        }
    }
    if let Some(call) = &c.call {
        let key = if c.direction == Direction::Inbound {
            "call-in"
        } else {
            "call-out"
        };
        let secs = u64::from(call.seconds);
        let length = if secs < 60 {
            t.a("call-seconds", "n", secs.to_string())
        } else {
            t.span(secs)
        };
        let mut line = t.args(
            key,
            &[
                ("length", length),
                ("time", t.time(call.started_at, now, tz)),
            ],
        );
        if let Some(n) = &call.number {
            line.push_str(" · ");
            line.push_str(n);
        }
        notes.push(line);
    }
    if let Some(why) = &c.concern {
        notes.push(match t.lang {
            super::i18n::Lang::De => why.describe_de(),
            super::i18n::Lang::En => why.describe_en(),
        });
    }
    let id = c.id.to_string();
    ContactView {
        files: c
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| FileView {
                href: format!("/contacts/{id}/files/{i}"),
                name: a.filename.clone(),
                size: human_size(a.size),
                preview: previewable(&a.content_type)
                    .then(|| format!("/contacts/{id}/files/{i}?inline=1")),
            })
            .collect(),
        mail_frame: c.html.as_ref().map(|_| format!("/contacts/{id}/mail")),
        raw: c
            .mail
            .as_ref()
            .and_then(|m| m.raw_blob.as_ref())
            .map(|_| format!("/contacts/{id}/raw")),
        id,
        kind,
        channel: t.channel(c.channel),
        direction,
        author,
        time: t.time(c.created_at, now, tz),
        iso: c.created_at.to_string(),
        subject: c.subject.clone().unwrap_or_default(),
        new_text,
        full_text,
        notes,
    }
}

/// The text of an event recorded on two cases, as seen from the one being shown.
fn seen_from(t: &Tr, first: bool, a: (&str, &CaseRef), b: (&str, &CaseRef)) -> String {
    let (key, reference) = if first { a } else { b };
    t.a(key, "reference", reference)
}

/// A quiet line for an event; who did it follows separately.
fn event_text(t: &Tr, names: &Names, kind: &EventKind, here: Option<CaseId>) -> Option<String> {
    Some(match kind {
        EventKind::StatusChanged { from, to } => t.args(
            "ev-status",
            &[("from", t.status(*from)), ("to", t.status(*to))],
        ),
        EventKind::PriorityChanged { from, to } => t.args(
            "ev-priority",
            &[("from", t.priority(*from)), ("to", t.priority(*to))],
        ),
        EventKind::AssigneeChanged { to: None, .. } => t.s("ev-unassigned"),
        EventKind::AssigneeChanged { to, .. } => t.a("ev-assignee", "to", names.agent(t, *to)),
        EventKind::TeamChanged { to: None, .. } => t.s("ev-team-removed"),
        EventKind::TeamChanged { to, .. } => t.a("ev-team", "to", names.team(t, *to)),
        EventKind::TagsChanged { added, removed } => t.args(
            "ev-tags",
            &[
                (
                    "added",
                    if added.is_empty() {
                        "–".into()
                    } else {
                        added.join(", ")
                    },
                ),
                (
                    "removed",
                    if removed.is_empty() {
                        "–".into()
                    } else {
                        removed.join(", ")
                    },
                ),
            ],
        ),
        EventKind::CaseReopened { .. } => t.s("ev-reopened"),
        EventKind::FollowUpOpened { reference, .. } => t.a("ev-follow-up", "reference", reference),
        EventKind::SubjectChanged { to, .. } => t.a("ev-subject", "to", to),
        EventKind::CaseCustomerChanged { .. } => t.s("ev-customer"),
        EventKind::MailDeliveryFailed { error, .. } => t.a("ev-mail-failed", "error", error),
        EventKind::CaseMerged {
            source,
            source_ref,
            target_ref,
            contacts,
            ..
        } => {
            if Some(*source) == here {
                t.a("ev-merged-away", "reference", target_ref)
            } else {
                t.args(
                    "ev-merged-in",
                    &[
                        ("reference", source_ref.to_string()),
                        ("count", contacts.len().to_string()),
                    ],
                )
            }
        }
        EventKind::CaseUnmerged {
            source,
            source_ref,
            target_ref,
            ..
        } => seen_from(
            t,
            Some(*source) == here,
            ("ev-unmerged-back", target_ref),
            ("ev-unmerged-out", source_ref),
        ),
        EventKind::ContactSplit {
            from,
            from_ref,
            to_ref,
            ..
        } => seen_from(
            t,
            Some(*from) == here,
            ("ev-split-out", to_ref),
            ("ev-split-from", from_ref),
        ),
        EventKind::SplitUndone {
            from,
            from_ref,
            to_ref,
            ..
        } => seen_from(
            t,
            Some(*from) == here,
            ("ev-split-undone-back", to_ref),
            ("ev-split-undone-out", from_ref),
        ),
        EventKind::MacroApplied { name, .. } => t.a("ev-macro", "name", name),
        EventKind::SlaWarning { metric, .. } => t.a(
            "ev-sla-warning",
            "metric",
            t.s(&format!("sla-{}", metric.as_str().replace('_', "-"))),
        ),
        EventKind::SlaBreached { metric, .. } => t.a(
            "ev-sla-breached",
            "metric",
            t.s(&format!("sla-{}", metric.as_str().replace('_', "-"))),
        ),
        EventKind::ConcernMatched {
            repeat: Some(n), ..
        } => t.args("ev-repeat", &[("n", (n + 1).to_string())]),
        EventKind::CaseRouted { rule, .. } => t.a("ev-routed", "rule", rule),
        EventKind::CaseAssigned {
            decision: anliegen_core::routing::Assignment::Assigned { agent_id, .. },
            ..
        } => t.a("ev-auto-assigned", "to", names.agent(t, Some(*agent_id))),
        EventKind::CaseAssigned {
            decision: anliegen_core::routing::Assignment::NobodyFree,
            ..
        } => t.s("ev-nobody-free"),
        EventKind::CaseEscalated {
            level,
            tier,
            trigger,
            ..
        } => t.args(
            "ev-escalated",
            &[
                ("level", level.to_string()),
                ("tier", tier.clone()),
                (
                    "why",
                    trigger.describe(match t.lang {
                        super::i18n::Lang::De => anliegen_core::Language::De,
                        super::i18n::Lang::En => anliegen_core::Language::En,
                    }),
                ),
            ],
        ),
        EventKind::IdentityOffered { identity, .. } => {
            t.a("ev-identity-offered", "value", &identity.value)
        }
        EventKind::IdentityOfferResolved {
            identity,
            accepted: true,
            ..
        } => t.a("ev-identity-linked", "value", &identity.value),
        EventKind::IdentityOfferResolved {
            identity,
            accepted: false,
            ..
        } => t.a("ev-identity-declined", "value", &identity.value),
        EventKind::FieldsChanged { changes } => t.args(
            "ev-fields",
            &[(
                "fields",
                changes.keys().cloned().collect::<Vec<_>>().join(", "),
            )],
        ),
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ViewQuery {
    before: Option<String>,
    merged_from: Option<String>,
}

/// The case page.
pub(crate) async fn view(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, UiError> {
    let case = visible_case(&state, &s, &raw).await?;
    // A merged case lives on in the surviving one.
    if let Some(target) = state.store().merged_into(case.id).await?
        && let Some(t) = state.store().case(target).await?
    {
        return Ok(Redirect::to(&format!(
            "/cases/{}?merged_from={}",
            t.reference, case.reference
        ))
        .into_response());
    }
    let before = q.before.as_deref().and_then(Cursor::decode);
    let draft = state.store().draft(s.auth.agent.id, case.id).await?;
    let merged_notice = q
        .merged_from
        .as_deref()
        .and_then(|r| CaseRef::parse(r).ok())
        .map(|r| s.tr().a("merge-notice", "reference", r));
    let composer = Composer {
        kind: draft.as_ref().map_or("reply".into(), |d| d.kind.clone()),
        notice: merged_notice.or_else(|| draft.as_ref().map(|_| s.tr().s("draft-restored"))),
        body: draft.map(|d| d.body).unwrap_or_default(),
        seen: String::new(),
        warning: None,
        error: None,
        reply_channel: String::new(),
    };
    case_page(&state, &s, case, before, composer, StatusCode::OK).await
}

async fn case_page(
    state: &AppState,
    s: &Session,
    case: Case,
    before: Option<Cursor>,
    mut composer: Composer,
    status: StatusCode,
) -> Result<Response, UiError> {
    let t = s.tr();
    let store = state.store();
    let since_seq = store.last_seq().await?;
    let now = store.now();
    let tz = s.tz();
    let (agents, teams) = (store.agents().await?, store.teams().await?);
    let customer = store.customer(case.customer_id).await?;
    let customer_name = customer
        .as_ref()
        .and_then(|c| c.name.clone().filter(|n| !n.is_empty()))
        .or_else(|| {
            customer
                .as_ref()
                .and_then(|c| c.identities.first().map(|i| i.value.clone()))
        })
        .unwrap_or_else(|| t.s("unknown-customer"));
    let names = Names {
        agents: agents.iter().map(|a| (a.id, a.name.clone())).collect(),
        teams: teams.iter().map(|t| (t.id, t.name.clone())).collect(),
        customer: customer_name.clone(),
    };
    let page = store.contacts_page(case.id, true, before, WINDOW).await?;
    let since = page.items.first().map_or(case.created_at, |c| c.created_at);
    let since = if page.next.is_none() {
        case.created_at
    } else {
        since
    };
    let events = store.case_events_since(case.id, since, 500).await?;
    // The composer remembers the newest contact it was written over (collision warning); on
    // an older window that is still the case's newest contact.
    if composer.seen.is_empty() {
        let newest = if before.is_some() {
            store.contacts_page(case.id, true, None, 1).await?.items
        } else {
            page.items.last().cloned().into_iter().collect()
        };
        composer.seen = newest.last().map(|c| c.id.to_string()).unwrap_or_default();
    }
    let mut entries: Vec<(Timestamp, i64, Entry)> = Vec::new();
    for (i, c) in page.items.iter().enumerate() {
        entries.push((
            c.created_at,
            i as i64,
            Entry::Contact(Box::new(contact_view(&t, &names, c, now, &tz))),
        ));
    }
    for e in &events {
        // An older window ends where the newer one begins (its oldest contact is `before`).
        if before.is_some_and(|b| e.at.as_microsecond() >= b.created_us) {
            continue;
        }
        // Only an agent's own doing names them; rules and the customer's first contact stay
        // impersonal.
        let by = match &e.actor {
            Actor::Agent { id } => Some(t.a("ev-by", "who", names.agent(&t, Some(*id)))),
            Actor::Automation { name, .. } => Some(t.a("ev-by-rule", "rule", name)),
            _ => None,
        };
        if let Some(text) = event_text(&t, &names, &e.kind, e.case_id) {
            entries.push((
                e.at,
                i64::MAX,
                Entry::Event {
                    text,
                    by: by.unwrap_or_default(),
                    time: t.time(e.at, now, &tz),
                },
            ));
        }
    }
    entries.sort_by_key(|(at, order, _)| (*at, *order));
    let older = page
        .next
        .map(|c| format!("/cases/{}?before={}", case.reference, c.encode()));

    let other_cases = store
        .cases(
            &CaseFilter {
                customer_id: Some(case.customer_id),
                visible_to: super::queue::visibility(&s.auth.agent),
                ..Default::default()
            },
            None,
            20,
        )
        .await?
        .items
        .into_iter()
        .filter(|c| c.id != case.id)
        .map(|c| {
            (
                c.reference.to_string(),
                c.subject.clone(),
                t.status(c.status),
                c.status.as_str(),
            )
        })
        .collect();
    let organisation = match customer.as_ref().and_then(|c| c.organisation_id) {
        Some(id) => store
            .organisation(id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let customer_panel = CustomerPanel {
        organisation,
        name: customer_name,
        identities: customer
            .as_ref()
            .map(|c| {
                c.identities
                    .iter()
                    .map(|i| {
                        (
                            t.s(&format!("identity-{}", i.kind.as_str().replace('_', "-"))),
                            i.value.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        tier: customer
            .as_ref()
            .map(|c| c.tier.as_str().to_owned())
            .filter(|t| t != "standard")
            .unwrap_or_default(),
        notes: customer
            .as_ref()
            .map(|c| c.notes.clone())
            .unwrap_or_default(),
        language: customer
            .as_ref()
            .and_then(|c| c.language)
            .map(|l| l.code().to_owned())
            .unwrap_or_default(),
        other_cases,
        suggestions: store
            .merge_suggestions(case.customer_id)
            .await?
            .into_iter()
            .map(|m| (m.customer_id.to_string(), m.name, m.evidence.join(", ")))
            .collect(),
        merged_from: store
            .merged_customers(case.customer_id)
            .await?
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
    };
    composer.reply_channel = t.channel(case.channel);
    let statuses = [
        CaseStatus::New,
        CaseStatus::Open,
        CaseStatus::WaitingOnCustomer,
        CaseStatus::WaitingOnThirdParty,
        CaseStatus::Solved,
        CaseStatus::Closed,
    ]
    .into_iter()
    .filter(|st| *st == case.status || case.status.transition(*st).is_ok())
    .map(|st| Choice {
        value: st.as_str().into(),
        label: t.status(st),
        selected: st == case.status,
    })
    .collect();
    let priorities = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ]
    .into_iter()
    .map(|p| Choice {
        value: p.as_str().into(),
        label: t.priority(p),
        selected: p == case.priority,
    })
    .collect();
    let mut team_choices = vec![Choice {
        value: String::new(),
        label: t.s("no-team"),
        selected: case.team_id.is_none(),
    }];
    team_choices.extend(teams.iter().map(|tm| Choice {
        value: tm.id.to_string(),
        label: tm.name.clone(),
        selected: case.team_id == Some(tm.id),
    }));
    let mut assignees = vec![Choice {
        value: String::new(),
        label: t.s("nobody"),
        selected: case.assignee_id.is_none(),
    }];
    assignees.extend(
        agents
            .iter()
            .filter(|a| a.active || case.assignee_id == Some(a.id))
            .map(|a| Choice {
                value: a.id.to_string(),
                label: a.name.clone(),
                selected: case.assignee_id == Some(a.id),
            }),
    );
    let head = CaseHead {
        reference: case.reference.to_string(),
        subject: case.subject.clone(),
        status: t.status(case.status),
        status_key: case.status.as_str(),
        priority: t.priority(case.priority),
        priority_key: case.priority.as_str(),
        assignee: names.agent(&t, case.assignee_id),
        team: names.team(&t, case.team_id),
        channel: t.channel(case.channel),
        created: t.time(case.created_at, now, &tz),
        contact_count: case.contact_count,
        follow_up_of: match case.follow_up_of {
            Some(id) => store.case(id).await?.map(|c| c.reference.to_string()),
            None => None,
        },
        repeat_ordinal: (case.repeat_count > 0).then_some(case.repeat_count + 1),
        escalation_level: case.escalation_level,
    };
    let now = store.now();
    let names: std::collections::HashMap<anliegen_core::AgentId, String> = store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let promises = store
        .promises(case.id)
        .await?
        .into_iter()
        .map(|p| PromiseRow {
            id: p.id.to_string(),
            owner: names.get(&p.owner_id).cloned().unwrap_or_default(),
            due: t.time(p.due_at, now, &s.tz()),
            state: match (p.status, p.on_time) {
                (anliegen_core::promise::PromiseStatus::Open, _) if p.due_at <= now => "overdue",
                (anliegen_core::promise::PromiseStatus::Open, _) => "open",
                (anliegen_core::promise::PromiseStatus::Kept, Some(false)) => "late",
                (anliegen_core::promise::PromiseStatus::Kept, _) => "kept",
                (anliegen_core::promise::PromiseStatus::Cancelled, _) => "cancelled",
            },
            what: p.what,
            note: p.note,
        })
        .collect();
    let sla = match anliegen_store::sla::case_clock(store, case.id).await? {
        Some((_, clock, cal)) if clock.policy_id.is_some() => Some(SlaPanel {
            policy: clock.policy_name.clone(),
            paused: match clock.pause {
                anliegen_core::sla::SlaPause::Customer => t.s("sla-paused-customer"),
                anliegen_core::sla::SlaPause::ThirdParty => t.s("sla-paused-third-party"),
                _ => String::new(),
            },
            rows: clock
                .metrics()
                .filter(|(_, m)| m.target_min.is_some())
                .map(|(metric, m)| {
                    let state = crate::api::sla::metric_state(m, now);
                    let detail = match (m.done_at, state) {
                        (Some(at), _) => t.time(at, now, &s.tz()),
                        (None, "paused") => m
                            .remaining(now, &cal)
                            .map(|left| {
                                t.a(
                                    "sla-left-business",
                                    "span",
                                    t.span(left.as_secs().max(0).unsigned_abs()),
                                )
                            })
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    SlaRow {
                        label: t.s(&format!("sla-{}", metric.as_str().replace('_', "-"))),
                        state,
                        state_label: t.s(&format!("sla-state-{state}")),
                        due: m
                            .due_at
                            .filter(|_| m.active())
                            .map(|d| super::queue::SlaCell::new(&t, d, now)),
                        detail,
                    }
                })
                .collect(),
        }),
        _ => None,
    };
    let promise_default = (now + jiff::SignedDuration::from_hours(24))
        .to_zoned_datetime(s.tz())
        .strftime("%Y-%m-%dT%H:00")
        .to_string();
    let offers = store
        .identity_offers(case.id)
        .await?
        .into_iter()
        .filter(|o| o.accepted.is_none())
        .map(|o| {
            (
                o.id.to_string(),
                t.s(&format!(
                    "identity-{}",
                    o.identity.kind.as_str().replace('_', "-")
                )),
                o.identity.value,
            )
        })
        .collect();
    let (merged, split) = store.merge_links(case.id).await?;
    let mut merged_in = Vec::new();
    for id in merged {
        if let Some(c) = store.case(id).await? {
            merged_in.push(c.reference.to_string());
        }
    }
    let split_from = match split {
        Some(id) => store.case(id).await?.map(|c| c.reference.to_string()),
        None => None,
    };
    let f = frame(state, s, "").await?;
    let mut res = render(&CasePage {
        since: since_seq,
        merged_in,
        split_from,
        offers,
        sla,
        promises,
        promise_default,
        can_undo: s.auth.agent.role.includes(anliegen_core::Role::Supervisor),
        can_split: case.contact_count > 1,
        f,
        c: head,
        customer: customer_panel,
        entries: entries.into_iter().map(|(_, _, e)| e).collect(),
        older,
        composer,
        statuses,
        priorities,
        teams: team_choices,
        assignees,
        tags: case
            .tags
            .iter()
            .map(Tag::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        macros: store
            .macros()
            .await?
            .into_iter()
            .filter(|m| m.active)
            .map(|m| Choice {
                value: m.id.to_string(),
                label: m.name,
                selected: false,
            })
            .collect(),
        tag_suggestions: store
            .tag_catalog()
            .await?
            .into_iter()
            .map(|(n, _, _)| n)
            .collect(),
    });
    *res.status_mut() = status;
    Ok(res)
}

/// Largest file attached to a reply or note.
pub(crate) const MAX_FILE: usize = 25 * 1024 * 1024;
/// Largest reply form read (text plus files). A form with a file over [`MAX_FILE`] is still
/// read to its end up to here, so the browser gets the answer (with the text kept) instead of
/// a connection reset.
pub(crate) const MAX_FORM: usize = 100 * 1024 * 1024;

/// The composer's form: its fields, its files, whether a file was too large (the fields
/// before it are kept either way, so the text is never lost), and the session it came with.
pub(crate) struct ContactBody {
    session: Option<Session>,
    form: ContactForm,
    files: Vec<anliegen_store::NewAttachment>,
    too_big: bool,
}

impl axum::extract::FromRequest<AppState> for ContactBody {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        // Without a valid session only the text fields are kept (for the draft); file bytes
        // are read and dropped, so nobody without a session makes us hold uploads in memory.
        let session = super::session_of(state, req.headers()).await;
        let signed_in = session.is_some();
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !is_multipart {
            let Form(form) = Form::<ContactForm>::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(Self {
                session,
                form,
                files: Vec::new(),
                too_big: false,
            });
        }
        let mut mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut form = ContactForm::default();
        let mut files = Vec::new();
        let mut too_big = false;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                // The body limit cut the stream (a file far too large): keep what arrived.
                Err(_) => {
                    too_big = true;
                    break;
                }
            };
            let name = field.name().unwrap_or("").to_owned();
            if name == "files" {
                let filename = field.file_name().unwrap_or("").to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_ascii_lowercase();
                let mut data = Vec::new();
                let mut field = field;
                let mut cut = false;
                loop {
                    match field.chunk().await {
                        Ok(Some(_)) if !signed_in => {}
                        // Over the limit: read on without keeping (see MAX_FORM).
                        Ok(Some(c)) if too_big || data.len() + c.len() > MAX_FILE => {
                            too_big = true;
                            data = Vec::new();
                        }
                        Ok(Some(c)) => data.extend_from_slice(&c),
                        Ok(None) => break,
                        Err(_) => {
                            too_big = true;
                            cut = true;
                            break;
                        }
                    }
                }
                if cut {
                    break;
                }
                if too_big {
                    continue;
                }
                if filename.is_empty() && data.is_empty() {
                    continue; // the empty file input of a form sent without a file
                }
                let valid_type = content_type.split_once('/').is_some_and(|(t, s)| {
                    !t.is_empty()
                        && !s.is_empty()
                        && content_type.len() <= 127
                        && content_type
                            .bytes()
                            .all(|b| b.is_ascii_graphic() && b != b';')
                });
                files.push(anliegen_store::NewAttachment {
                    filename: anliegen_core::contact::clean_filename(&filename),
                    content_type: if valid_type {
                        content_type
                    } else {
                        "application/octet-stream".into()
                    },
                    content_id: None,
                    data: std::sync::Arc::new(data),
                });
                continue;
            }
            let value = match field.text().await {
                Ok(v) => v,
                Err(_) => {
                    too_big = true;
                    break;
                }
            };
            match name.as_str() {
                "csrf" => form.csrf = value,
                "kind" => form.kind = value,
                "body" => form.body = value,
                "status_after" => form.status_after = value,
                "seen" => form.seen = value,
                "confirm" => form.confirm = value,
                _ => {}
            }
        }
        Ok(Self {
            session,
            form,
            files,
            too_big,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    status_after: String,
    #[serde(default)]
    seen: String,
    #[serde(default)]
    confirm: String,
}

/// Reply (by the case's channel) or internal note.
pub(crate) async fn add_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: ContactBody,
) -> Result<Response, UiError> {
    let ContactBody {
        session,
        form,
        files,
        too_big,
    } = body;
    let note = form.kind == "note";
    let Some(s) = session else {
        // The session ended while the agent was writing: the text comes back through sign-in
        // and waits on the case as a draft.
        let lang = super::i18n::Lang::of_request(&headers);
        let mut page = LoginPage::new(lang, &format!("/cases/{raw}"));
        page.notice = page.t.s("login-draft-kept");
        page.draft_case = raw.clone();
        page.draft_kind = if note { "note".into() } else { "reply".into() };
        page.draft_body = form.body.clone();
        let mut res = render(&page);
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(res);
    };
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let t = s.tr();
    let again = |composer: Composer, status: StatusCode| {
        let (state, s, case) = (state.clone(), s.clone(), case.clone());
        async move { case_page(&state, &s, case, None, composer, status).await }
    };
    let mut composer = Composer {
        kind: if note { "note".into() } else { "reply".into() },
        body: form.body.clone(),
        seen: form.seen.clone(),
        warning: None,
        error: None,
        notice: None,
        reply_channel: String::new(),
    };
    if too_big {
        composer.error = Some(t.a("composer-file-too-big", "mb", MAX_FILE / (1024 * 1024)));
        return again(composer, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let text = anliegen_core::contact::clean_text(&form.body);
    if text.trim().is_empty() {
        composer.error = Some(t.s("composer-empty"));
        return again(composer, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if text.len() > 200_000 {
        composer.error = Some(t.s("composer-too-long"));
        return again(composer, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    // Sending over a contact that arrived after the page was loaded warns first.
    if form.confirm != "1" {
        let newest = state.store().contacts_page(case.id, true, None, 1).await?;
        if let Some(latest) = newest.items.last()
            && latest.id.to_string() != form.seen
            && latest.author
                != (Author::Agent {
                    id: s.auth.agent.id,
                })
        {
            composer.seen = latest.id.to_string();
            composer.warning = Some(t.s("composer-newer"));
            return again(composer, StatusCode::CONFLICT).await;
        }
    }
    let status_after = match form.status_after.as_str() {
        "" => None,
        st => Some(CaseStatus::parse(st).map_err(|_| {
            UiError::new(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid")
                .with_detail("status_after")
        })?),
    };
    let mut contact = anliegen_store::NewContact {
        channel: if note {
            anliegen_core::Channel::Note
        } else {
            case.channel
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
        text,
        html: None,
        attachments: files,
        mail: None,
        concern: None,
        offer_identity: None,
        call: None,
    };
    let jobs = crate::api::cases::outbound_jobs(&state, &case, &mut contact).await?;
    let write = Write {
        actor: s.auth.actor(),
        command: Command::AddContact {
            case_id: case.id,
            contact,
            status_after: if note { None } else { status_after },
        },
        jobs,
        idempotency: None,
    };
    let out = match state.store().write(write).await {
        Ok(out) => out,
        Err(e) => {
            let ui = UiError::from(e);
            if ui.status.is_server_error() {
                return Err(ui);
            }
            composer.error = Some(ui.detail.unwrap_or_else(|| t.s(ui.key)));
            return again(composer, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    state.store().delete_draft(s.auth.agent.id, case.id).await?;
    let anchor = match &out {
        Output::Contact { contact, .. } => format!("#c-{}", contact.id),
        _ => String::new(),
    };
    Ok(Redirect::to(&format!("/cases/{}{anchor}", case.reference)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpdateForm {
    #[serde(default)]
    csrf: String,
    status: Option<String>,
    priority: Option<String>,
    team: Option<String>,
    assignee: Option<String>,
    tags: Option<String>,
    /// What the form showed (`orig_status` …): a field left as shown is not sent as a change,
    /// so saving one field never undoes what a colleague changed in another meanwhile.
    orig_status: Option<String>,
    orig_priority: Option<String>,
    orig_team: Option<String>,
    orig_assignee: Option<String>,
    orig_tags: Option<String>,
}

impl UpdateForm {
    /// Drops every field the agent left as the form showed it.
    fn changed_only(mut self) -> Self {
        fn keep(v: Option<String>, orig: &Option<String>) -> Option<String> {
            match (v, orig) {
                (Some(v), Some(o)) if v.trim() == o.trim() => None,
                (v, _) => v,
            }
        }
        self.status = keep(self.status.take(), &self.orig_status);
        self.priority = keep(self.priority.take(), &self.orig_priority);
        self.team = keep(self.team.take(), &self.orig_team);
        self.assignee = keep(self.assignee.take(), &self.orig_assignee);
        self.tags = keep(self.tags.take(), &self.orig_tags);
        self
    }
}

/// Status, priority, team, assignee and tags in one form (each field only when sent).
pub(crate) async fn update(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let form = form.changed_only();
    let case = visible_case(&state, &s, &raw).await?;
    let invalid = |field: &str| {
        UiError::new(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid")
            .with_detail(field.to_owned())
    };
    let mut patch = CasePatch::default();
    if let Some(st) = form.status.as_deref().filter(|v| !v.is_empty()) {
        let st = CaseStatus::parse(st).map_err(|_| invalid("status"))?;
        if st != case.status {
            patch.status = Some(st);
        }
    }
    if let Some(p) = form.priority.as_deref().filter(|v| !v.is_empty()) {
        let p = Priority::parse(p).map_err(|_| invalid("priority"))?;
        if p != case.priority {
            patch.priority = Some(p);
        }
    }
    if let Some(team) = form.team.as_deref() {
        let team = match team {
            "" => None,
            id => Some(TeamId(
                uuid::Uuid::parse_str(id).map_err(|_| invalid("team"))?,
            )),
        };
        if team != case.team_id {
            patch.team_id = Some(team);
        }
    }
    if let Some(a) = form.assignee.as_deref() {
        let a = match a {
            "" => None,
            "me" => Some(s.auth.agent.id),
            id => Some(AgentId(
                uuid::Uuid::parse_str(id).map_err(|_| invalid("assignee"))?,
            )),
        };
        if a != case.assignee_id {
            patch.assignee_id = Some(a);
        }
    }
    if let Some(tags) = form.tags.as_deref() {
        let mut want = Vec::new();
        for raw in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            want.push(
                Tag::parse(raw).map_err(|e| invalid(&format!("tags: {raw}: {}", e.message)))?,
            );
        }
        patch.add_tags = want
            .iter()
            .filter(|t| !case.tags.contains(t))
            .cloned()
            .collect();
        patch.remove_tags = case
            .tags
            .iter()
            .filter(|t| !want.contains(t))
            .cloned()
            .collect();
    }
    let unchanged = patch.status.is_none()
        && patch.priority.is_none()
        && patch.team_id.is_none()
        && patch.assignee_id.is_none()
        && patch.add_tags.is_empty()
        && patch.remove_tags.is_empty();
    if !unchanged {
        state
            .store()
            .exec(s.auth.actor(), Command::UpdateCase { id: case.id, patch })
            .await?;
    }
    Ok(Redirect::to(&format!("/cases/{}", case.reference)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DraftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
}

/// Autosave of the composer (the script calls it while the agent types).
pub(crate) async fn save_draft(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<DraftForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    if form.body.trim().is_empty() {
        state.store().delete_draft(s.auth.agent.id, case.id).await?;
    } else {
        if form.body.len() > 200_000 {
            return Err(UiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "composer-too-long",
            ));
        }
        state
            .store()
            .save_draft(
                s.auth.agent.id,
                case.id,
                &Draft {
                    kind: if form.kind == "note" {
                        "note".into()
                    } else {
                        "reply".into()
                    },
                    body: form.body,
                    updated_at: state.store().now(),
                },
            )
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn visible_contact(state: &AppState, s: &Session, raw: &str) -> Result<Contact, UiError> {
    let id = ContactId(uuid::Uuid::parse_str(raw).map_err(|_| UiError::not_found())?);
    let contact = state
        .store()
        .contact(id)
        .await?
        .ok_or_else(UiError::not_found)?;
    let case = state
        .store()
        .case(contact.case_id)
        .await?
        .ok_or_else(UiError::not_found)?;
    if !can_see(&s.auth.agent, &case) {
        return Err(UiError::new(StatusCode::NOT_FOUND, "error-no-access"));
    }
    Ok(contact)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FrameQuery {
    #[serde(default)]
    remote_images: Option<String>,
}

/// A mail's HTML for the sandboxed frame of the timeline.
pub(crate) async fn mail_frame(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Query(q): Query<FrameQuery>,
) -> Result<Response, UiError> {
    let contact = visible_contact(&state, &s, &raw).await?;
    let remote = q.remote_images.as_deref() == Some("1");
    Ok(crate::api::cases::mail_document(&state, &contact, remote, true).await?)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FileQuery {
    #[serde(default)]
    inline: Option<String>,
}

/// An attachment: always a download, except the inline preview of raster images.
pub(crate) async fn file(
    State(state): State<AppState>,
    s: Session,
    Path((raw, index)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, UiError> {
    let contact = visible_contact(&state, &s, &raw).await?;
    let index: usize = index.parse().map_err(|_| UiError::not_found())?;
    let a = contact
        .attachments
        .get(index)
        .ok_or_else(UiError::not_found)?;
    let data = state
        .store()
        .blob(&a.blob)
        .await?
        .ok_or_else(UiError::not_found)?;
    let mut res = crate::api::cases::download(data, &a.content_type, &a.filename);
    if q.inline.as_deref() == Some("1") && previewable(&a.content_type) {
        res.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        );
    }
    Ok(res)
}

/// The original message of a mail contact, as a download.
pub(crate) async fn raw_mail(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let contact = visible_contact(&state, &s, &raw).await?;
    let hash = contact
        .mail
        .as_ref()
        .and_then(|m| m.raw_blob.clone())
        .ok_or_else(UiError::not_found)?;
    let data = state
        .store()
        .blob(&hash)
        .await?
        .ok_or_else(UiError::not_found)?;
    Ok(crate::api::cases::download(
        data,
        "message/rfc822",
        &format!("{}.eml", contact.id.0.simple()),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MacroForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    macro_id: String,
}

/// Applies a macro: its case changes at once (one event each, and `macro_applied`), its text —
/// in the customer's language, placeholders filled — into the agent's composer as a draft.
pub(crate) async fn apply_macro(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<MacroForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let id = uuid::Uuid::parse_str(&form.macro_id)
        .map(anliegen_core::MacroId)
        .map_err(|_| {
            UiError::new(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid").with_detail("macro_id")
        })?;
    let mac = state
        .store()
        .macro_by_id(id)
        .await?
        .filter(|m| m.active)
        .ok_or_else(UiError::not_found)?;
    // A macro writes a reply: it never lands on an internal note being written.
    if let Some(d) = state.store().draft(s.auth.agent.id, case.id).await?
        && d.kind == "note"
        && !d.body.trim().is_empty()
    {
        let mut c = empty_composer(None);
        c.kind = "note".into();
        c.body = d.body;
        c.error = Some(s.tr().s("macro-note-draft"));
        return case_page(&state, &s, case, None, c, StatusCode::CONFLICT).await;
    }
    state
        .store()
        .exec(
            s.auth.actor(),
            Command::ApplyMacro {
                case_id: case.id,
                macro_id: mac.id,
            },
        )
        .await?;
    // A macro's promise is the applying agent's, due in the team's business time.
    if let Some(p) = &mac.actions.promise {
        let mut calendars = anliegen_store::sla::Calendars::default();
        let now = state.store().now();
        let due = calendars
            .get(state.store(), case.team_id)
            .await?
            .add(now, i64::from(p.due_in_minutes))
            .map_err(|e| {
                UiError::new(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid")
                    .with_detail(e.message)
            })?;
        let promise = anliegen_core::promise::Promise::new(
            case.id,
            s.auth.agent.id,
            p.what.clone(),
            due,
            now,
        );
        crate::api::promises::record(&state, s.auth.actor(), promise).await?;
    }
    let customer = state.store().customer(case.customer_id).await?;
    let lang = case
        .language
        .or_else(|| customer.as_ref().and_then(|c| c.language))
        .unwrap_or(anliegen_core::Language::De);
    let agent = &s.auth.agent;
    let values =
        anliegen_store::automation::placeholders(state.store(), &case, &agent.name).await?;
    let text = anliegen_store::automation::fill(mac.body(lang), &values);
    if !text.trim().is_empty() {
        let existing = state.store().draft(agent.id, case.id).await?;
        let body = match existing {
            Some(d) if !d.body.trim().is_empty() => format!("{}\n\n{text}", d.body.trim_end()),
            _ => text,
        };
        state
            .store()
            .save_draft(
                agent.id,
                case.id,
                &Draft {
                    kind: "reply".into(),
                    body,
                    updated_at: state.store().now(),
                },
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/cases/{}#composer", case.reference)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    target: String,
}

/// Merges this case into another (`target`, a reference); goes to the surviving case.
pub(crate) async fn merge(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let target = match visible_case(&state, &s, form.target.trim()).await {
        Ok(t) => t,
        Err(_) => {
            let composer = empty_composer(None);
            let mut c = composer;
            c.error = Some(s.tr().a("merge-no-target", "reference", form.target.trim()));
            return case_page(&state, &s, case, None, c, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let out = state
        .store()
        .exec(
            s.auth.actor(),
            Command::MergeCases {
                source: case.id,
                target: target.id,
            },
        )
        .await;
    match out {
        Ok(_) => Ok(Redirect::to(&format!(
            "/cases/{}?merged_from={}",
            target.reference, case.reference
        ))
        .into_response()),
        Err(e) => refused(&state, &s, case, e).await,
    }
}

fn empty_composer(notice: Option<String>) -> Composer {
    Composer {
        kind: "reply".into(),
        body: String::new(),
        seen: String::new(),
        warning: None,
        error: None,
        notice,
        reply_channel: String::new(),
    }
}

fn supervisor_only(s: &Session) -> Result<(), UiError> {
    if s.auth.agent.role.includes(anliegen_core::Role::Supervisor) {
        Ok(())
    } else {
        Err(UiError::new(StatusCode::FORBIDDEN, "error-forbidden"))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UnmergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    source: String,
}

/// Undoes the merge of `source` into this case (supervisors).
pub(crate) async fn unmerge(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<UnmergeForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    supervisor_only(&s)?;
    let here = visible_case(&state, &s, &raw).await?;
    let r = CaseRef::parse(form.source.trim()).map_err(|_| UiError::not_found())?;
    let source = state
        .store()
        .case_by_ref(r)
        .await?
        .ok_or_else(UiError::not_found)?;
    if state.store().merged_into(source.id).await? != Some(here.id) {
        return Err(UiError::not_found());
    }
    state
        .store()
        .exec(s.auth.actor(), Command::UnmergeCase { source: source.id })
        .await?;
    Ok(Redirect::to(&format!("/cases/{}", source.reference)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SplitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contact: String,
}

/// Moves one contact of this case into a new case; goes there.
pub(crate) async fn split(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<SplitForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let contact = visible_contact(&state, &s, &form.contact).await?;
    if contact.case_id != case.id {
        return Err(UiError::not_found());
    }
    match state
        .store()
        .exec(
            s.auth.actor(),
            Command::SplitContact {
                contact_id: contact.id,
            },
        )
        .await?
    {
        Output::Case(new) => Ok(Redirect::to(&format!("/cases/{}", new.reference)).into_response()),
        _ => Ok(Redirect::to(&format!("/cases/{}", case.reference)).into_response()),
    }
}

/// Undoes the split that made this case (supervisors).
pub(crate) async fn undo_split(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<super::session::CsrfFormPub>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    supervisor_only(&s)?;
    let case = visible_case(&state, &s, &raw).await?;
    match state
        .store()
        .exec(s.auth.actor(), Command::UndoSplit { case_id: case.id })
        .await?
    {
        Output::Case(back) => {
            Ok(Redirect::to(&format!("/cases/{}", back.reference)).into_response())
        }
        _ => Ok(Redirect::to(&format!("/cases/{}", case.reference)).into_response()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct EscalateForm {
    csrf: String,
    reason: String,
}

/// An agent escalates the case one tier up, with a reason for the hand-off summary.
pub(crate) async fn escalate(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<EscalateForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let reason = anliegen_core::contact::clean_text(&form.reason);
    if reason.trim().is_empty() || reason.chars().count() > 1000 {
        let why = s.tr().s("escalate-need-reason");
        return refuse(&state, &s, case, why, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let done = anliegen_store::concern::escalate(
        state.store(),
        s.auth.actor(),
        case.id,
        anliegen_core::escalation::Trigger::Agent { reason },
    )
    .await?;
    if done.is_none() {
        let why = s.tr().s("escalate-top");
        return refuse(&state, &s, case, why, StatusCode::CONFLICT).await;
    }
    Ok(Redirect::to(&format!("/cases/{}", case.reference)).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct PromiseForm {
    csrf: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    due: String,
    /// `keep` or `cancel` for an existing promise.
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
}

/// Records a promise from the case view (`what`, `due` as local date and time in the agent's
/// time zone), or keeps or cancels one (`action`).
pub(crate) async fn promise(
    State(state): State<AppState>,
    s: Session,
    Path((raw, id)): Path<(String, String)>,
    Form(form): Form<PromiseForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let command = if id == "new" {
        let due = form
            .due
            .parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|d| d.to_zoned_datetime(s.tz()).ok())
            .map(|z| z.timestamp());
        let Some(due_at) = due else {
            let why = s.tr().s("promise-bad-due");
            return refuse(&state, &s, case, why, unprocessable).await;
        };
        let now = state.store().now();
        let problem = if anliegen_core::promise::parse_what(&form.what).is_err() {
            Some("promise-bad-what")
        } else if due_at <= now {
            Some("promise-past")
        } else if anliegen_core::promise::check_due(due_at, now).is_err() {
            Some("promise-too-far")
        } else {
            None
        };
        if let Some(key) = problem {
            let why = s.tr().s(key);
            return refuse(&state, &s, case, why, unprocessable).await;
        }
        let p = anliegen_core::promise::Promise::new(
            case.id,
            s.auth.agent.id,
            form.what.clone(),
            due_at,
            now,
        );
        let out = crate::api::promises::record(&state, s.auth.actor(), p)
            .await
            .map(|p| anliegen_store::Output::Promise(Box::new(p)));
        return back_to_case(&state, &s, case, out).await;
    } else {
        let pid: anliegen_core::PromiseId = id.parse().map_err(|_| UiError::not_found())?;
        let p = state
            .store()
            .promise(pid)
            .await?
            .ok_or_else(UiError::not_found)?;
        if p.case_id != case.id {
            return Err(UiError::not_found());
        }
        match form.action.as_str() {
            "keep" => anliegen_store::Command::KeepPromise {
                id: pid,
                note: form.note.trim().to_owned(),
            },
            "cancel" if !form.note.trim().is_empty() => anliegen_store::Command::CancelPromise {
                id: pid,
                reason: form.note.trim().to_owned(),
            },
            _ => {
                let why = s.tr().s("promise-need-reason");
                return refuse(&state, &s, case, why, unprocessable).await;
            }
        }
    };
    let out = state.store().exec(s.auth.actor(), command).await;
    back_to_case(&state, &s, case, out).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct CallForm {
    csrf: String,
    /// `inbound` (the customer called) or `outbound` (we called).
    direction: String,
    /// Duration: minutes (`12`) or minutes and seconds (`12:30`).
    duration: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    status_after: String,
}

/// `12` → 720 s, `12:30` → 750 s, `0:45` → 45 s.
fn call_seconds(raw: &str) -> Option<u32> {
    let raw = raw.trim().replace(',', ".");
    match raw.split_once(':') {
        Some((m, s)) => m
            .trim()
            .parse::<u32>()
            .ok()?
            .checked_mul(60)?
            .checked_add(s.trim().parse::<u32>().ok()?),
        None => {
            let m: f64 = raw.parse().ok()?;
            (0.0..=1440.0)
                .contains(&m)
                .then(|| (m * 60.0).round() as u32)
        }
    }
}

/// Logs a phone call on the case: who called whom, how long, which number, and its summary
/// (the contact's text); the status may change with it, as with a reply.
pub(crate) async fn log_call(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<CallForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let t = s.tr();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let direction = match form.direction.as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => return refuse(&state, &s, case, t.s("call-bad-direction"), unprocessable).await,
    };
    let Some(seconds) = call_seconds(&form.duration) else {
        return refuse(&state, &s, case, t.s("call-bad-duration"), unprocessable).await;
    };
    let summary = anliegen_core::contact::clean_text(&form.summary);
    if summary.trim().is_empty() {
        return refuse(&state, &s, case, t.s("call-no-summary"), unprocessable).await;
    }
    let dto = crate::dto::CallDto {
        started_at: None,
        duration_seconds: seconds,
        number: Some(form.number.clone()),
    };
    let call = match dto.parse(state.store().now()) {
        Ok(c) => c,
        Err(e) => return refuse(&state, &s, case, e.detail().to_owned(), unprocessable).await,
    };
    let status_after = match form.status_after.as_str() {
        "" => None,
        st => Some(CaseStatus::parse(st).map_err(|_| {
            UiError::new(unprocessable, "error-invalid").with_detail("status_after")
        })?),
    };
    let mut contact = anliegen_store::NewContact::plain(
        anliegen_core::Channel::Phone,
        direction,
        Visibility::Public,
        summary,
    );
    contact.call = Some(Box::new(call));
    let out = state
        .store()
        .exec(
            s.auth.actor(),
            Command::AddContact {
                case_id: case.id,
                contact,
                status_after,
            },
        )
        .await;
    back_to_case(&state, &s, case, out).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct OfferForm {
    csrf: String,
    link: String,
}

/// Links (or declines) an identity offered on the case.
pub(crate) async fn decide_offer(
    State(state): State<AppState>,
    s: Session,
    Path((raw, offer)): Path<(String, String)>,
    Form(form): Form<OfferForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    let offer_id = uuid::Uuid::parse_str(&offer).map_err(|_| UiError::not_found())?;
    let found = state.store().identity_offer(offer_id).await?;
    if found.is_none_or(|o| o.case_id != case.id) {
        return Err(UiError::not_found());
    }
    let out = state
        .store()
        .exec(
            s.auth.actor(),
            Command::ResolveIdentityOffer {
                offer_id,
                accept: form.link == "1",
            },
        )
        .await;
    back_to_case(&state, &s, case, out).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct MergeCustomerForm {
    csrf: String,
    source: String,
}

/// Merges a suggested customer into the case's customer (supervisors and admins).
pub(crate) async fn merge_customer(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<MergeCustomerForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    if !s.auth.agent.role.includes(anliegen_core::Role::Supervisor) {
        return Err(UiError::new(StatusCode::FORBIDDEN, "error-forbidden"));
    }
    let source = uuid::Uuid::parse_str(form.source.trim())
        .map(anliegen_core::CustomerId)
        .map_err(|_| UiError::not_found())?;
    let out = state
        .store()
        .exec(
            s.auth.actor(),
            Command::MergeCustomers {
                source,
                target: case.customer_id,
            },
        )
        .await;
    back_to_case(&state, &s, case, out).await
}

/// Undoes the merge of a customer into the case's customer (supervisors and admins).
pub(crate) async fn unmerge_customer(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<MergeCustomerForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let case = visible_case(&state, &s, &raw).await?;
    if !s.auth.agent.role.includes(anliegen_core::Role::Supervisor) {
        return Err(UiError::new(StatusCode::FORBIDDEN, "error-forbidden"));
    }
    let source = uuid::Uuid::parse_str(form.source.trim())
        .map(anliegen_core::CustomerId)
        .map_err(|_| UiError::not_found())?;
    if state.store().customer_merge(source).await? != Some(case.customer_id) {
        return Err(UiError::not_found());
    }
    let out = state
        .store()
        .exec(s.auth.actor(), Command::UnmergeCustomer { source })
        .await;
    back_to_case(&state, &s, case, out).await
}

/// The case page again with the store's refusal as the composer's error (422); server errors
/// pass on.
async fn refused(
    state: &AppState,
    s: &Session,
    case: Case,
    e: anliegen_store::StoreError,
) -> Result<Response, UiError> {
    let ui = UiError::from(e);
    if ui.status.is_server_error() {
        return Err(ui);
    }
    let why = ui.detail.unwrap_or_else(|| s.tr().s(ui.key));
    refuse(state, s, case, why, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The case page again with `why` as the composer's error, answered with `status`.
async fn refuse(
    state: &AppState,
    s: &Session,
    case: Case,
    why: String,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut c = empty_composer(None);
    c.error = Some(why);
    case_page(state, s, case, None, c, status).await
}

/// After an action on a case: back to it, or its page with the refusal.
async fn back_to_case(
    state: &AppState,
    s: &Session,
    case: Case,
    out: Result<anliegen_store::Output, anliegen_store::StoreError>,
) -> Result<Response, UiError> {
    match out {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{}", case.reference)).into_response()),
        Err(e) => refused(state, s, case, e).await,
    }
}
