//! Queues: the agent's standard views, filters, saved views and keyset pages.

use std::collections::HashMap;

use anliegen_core::{Agent, AgentId, CaseStatus, Channel, Priority, Tag, TeamId};
use anliegen_store::{CaseFilter, Cursor, QueueOrder, SavedView};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

/// Rows per page.
const PAGE: i64 = 50;

/// The standard queues of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Mine,
    Team,
    Unassigned,
    Open,
    WaitingCustomer,
    WaitingThirdParty,
    Solved,
}

impl View {
    pub const ALL: [Self; 7] = [
        Self::Mine,
        Self::Team,
        Self::Unassigned,
        Self::Open,
        Self::WaitingCustomer,
        Self::WaitingThirdParty,
        Self::Solved,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Mine => "mine",
            Self::Team => "team",
            Self::Unassigned => "unassigned",
            Self::Open => "open",
            Self::WaitingCustomer => "waiting-customer",
            Self::WaitingThirdParty => "waiting-third-party",
            Self::Solved => "solved",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == raw)
    }

    /// Whether the navigation shows a count (recently solved grows without end).
    pub fn counted(self) -> bool {
        self != Self::Solved
    }

    fn order(self) -> QueueOrder {
        if self == Self::Solved {
            QueueOrder::RecentlyUpdated
        } else {
            QueueOrder::Due
        }
    }

    /// The view's filter for `agent` (including what the agent may see).
    pub fn filter(self, agent: &Agent) -> CaseFilter {
        let mut f = CaseFilter {
            visible_to: visibility(agent),
            ..Default::default()
        };
        match self {
            Self::Mine => {
                f.assignee_id = Some(Some(agent.id));
                f.unsolved = Some(true);
            }
            Self::Team => {
                // All of the agent's teams; an agent in no team has no team queue.
                f.team_ids = if agent.teams.is_empty() {
                    vec![TeamId(uuid::Uuid::nil())]
                } else {
                    agent.teams.clone()
                };
                f.unsolved = Some(true);
            }
            Self::Unassigned => {
                f.assignee_id = Some(None);
                f.unsolved = Some(true);
            }
            Self::Open => f.unsolved = Some(true),
            Self::WaitingCustomer => f.status = vec![CaseStatus::WaitingOnCustomer],
            Self::WaitingThirdParty => f.status = vec![CaseStatus::WaitingOnThirdParty],
            Self::Solved => f.status = vec![CaseStatus::Solved],
        }
        f
    }
}

/// The visibility restriction of an agent's role (see [`super::can_see`]).
pub(crate) fn visibility(agent: &Agent) -> Option<(AgentId, Vec<TeamId>)> {
    (agent.role == anliegen_core::Role::Agent && !agent.teams.is_empty())
        .then(|| (agent.id, agent.teams.clone()))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    view: Option<String>,
    status: Option<String>,
    team: Option<String>,
    assignee: Option<String>,
    tag: Option<String>,
    channel: Option<String>,
    priority: Option<String>,
    after: Option<String>,
    /// `sla`: by SLA due time (default: by urgency).
    sort: Option<String>,
}

/// One row of a queue.
pub(crate) struct Row {
    pub reference: String,
    pub subject: String,
    pub customer: String,
    pub status: String,
    pub status_key: &'static str,
    pub priority: String,
    pub priority_key: &'static str,
    pub team: String,
    pub assignee: String,
    pub waiting: String,
    pub updated: String,
    pub channel: String,
    pub channel_key: &'static str,
    /// The SLA due time: RFC 3339, words, past due.
    pub sla: Option<SlaCell>,
}

/// An SLA due time in a queue row or on a case, kept current by the script.
pub(crate) struct SlaCell {
    pub iso: String,
    pub label: String,
    pub overdue: bool,
    /// The server's clock (ms), so the script counts from the same now.
    pub now_ms: i64,
}

impl SlaCell {
    pub fn new(t: &super::i18n::Tr, due: jiff::Timestamp, now: jiff::Timestamp) -> Self {
        Self {
            iso: due.to_string(),
            label: t.countdown(due, now),
            overdue: due <= now,
            now_ms: now.as_millisecond(),
        }
    }
}

/// A choice in a filter select.
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    f: Frame,
    /// The newest event when the page was read (its live stream starts there).
    since: i64,
    title: String,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    query: String,
    statuses: Vec<Choice>,
    teams: Vec<Choice>,
    assignees: Vec<Choice>,
    channels: Vec<Choice>,
    priorities: Vec<Choice>,
    tag: String,
    view: String,
    filtered: bool,
    /// Sorted by SLA due time.
    by_sla: bool,
    /// The same queue sorted the other way.
    sort_href: String,
}

fn choices<T: Copy>(
    all: impl IntoIterator<Item = T>,
    value: impl Fn(T) -> String,
    label: impl Fn(T) -> String,
    selected: Option<&str>,
) -> Vec<Choice> {
    all.into_iter()
        .map(|x| {
            let v = value(x);
            Choice {
                selected: selected == Some(v.as_str()),
                label: label(x),
                value: v,
            }
        })
        .collect()
}

/// A query string with only the keys `keep` accepts.
fn query_keeping(raw: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if keep(&k) {
            ser.append_pair(&k, &v);
        }
    }
    ser.finish()
}

fn bad(field: &'static str) -> UiError {
    UiError::new(StatusCode::BAD_REQUEST, "error-invalid").with_detail(format!("{field}?"))
}

pub(crate) async fn queue(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<QueueQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let since = state.store().last_seq().await?;
    let t = s.tr();
    let agent = &s.auth.agent;
    let explicit = q.status.is_some()
        || q.team.is_some()
        || q.assignee.is_some()
        || q.tag.is_some()
        || q.channel.is_some()
        || q.priority.is_some();
    let view = match q.view.as_deref() {
        Some(v) => Some(View::parse(v).ok_or_else(|| bad("view"))?),
        None if explicit => None,
        None => Some(View::Mine),
    };
    let mut filter = view.map_or_else(
        || CaseFilter {
            visible_to: visibility(agent),
            ..Default::default()
        },
        |v| v.filter(agent),
    );
    let nonempty = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(st) = nonempty(&q.status) {
        if st == "unsolved" {
            filter.unsolved = Some(true);
            filter.status.clear();
        } else {
            filter.status = vec![CaseStatus::parse(&st).map_err(|_| bad("status"))?];
        }
    }
    if let Some(team) = nonempty(&q.team) {
        filter.team_id = Some(TeamId(
            uuid::Uuid::parse_str(&team).map_err(|_| bad("team"))?,
        ));
    }
    match nonempty(&q.assignee).as_deref() {
        None => {}
        Some("me") => filter.assignee_id = Some(Some(agent.id)),
        Some("none") => filter.assignee_id = Some(None),
        Some(id) => {
            filter.assignee_id = Some(Some(AgentId(
                uuid::Uuid::parse_str(id).map_err(|_| bad("assignee"))?,
            )));
        }
    }
    if let Some(tag) = nonempty(&q.tag) {
        filter.tag = Some(Tag::parse(&tag).map_err(|_| bad("tag"))?);
    }
    if let Some(ch) = nonempty(&q.channel) {
        filter.channel = Some(Channel::parse(&ch).map_err(|_| bad("channel"))?);
    }
    if let Some(p) = nonempty(&q.priority) {
        filter.priority = Some(Priority::parse(&p).map_err(|_| bad("priority"))?);
    }
    let by_sla = match nonempty(&q.sort).as_deref() {
        None | Some("due") => false,
        Some("sla") => true,
        Some(_) => return Err(bad("sort")),
    };
    let order = match view.map_or(QueueOrder::Due, View::order) {
        QueueOrder::Due if by_sla => QueueOrder::SlaDue,
        o => o,
    };
    let after = match nonempty(&q.after) {
        Some(a) => Some(Cursor::decode(&a).ok_or_else(|| bad("after"))?),
        None => None,
    };
    let page = state.store().queue(&filter, order, after, PAGE).await?;

    let teams = state.store().teams().await?;
    let agents = state.store().agents().await?;
    let team_names: HashMap<TeamId, String> =
        teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let agent_names: HashMap<AgentId, String> =
        agents.iter().map(|a| (a.id, a.name.clone())).collect();
    let now = state.store().now();
    let tz = s.tz();
    let mut ids: Vec<_> = page.items.iter().map(|c| c.customer_id).collect();
    ids.sort();
    ids.dedup();
    let customers = state.store().customer_labels(&ids).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for c in &page.items {
        rows.push(Row {
            reference: c.reference.to_string(),
            subject: c.subject.clone(),
            customer: customers.get(&c.customer_id).cloned().unwrap_or_default(),
            status: t.status(c.status),
            status_key: c.status.as_str(),
            priority: t.priority(c.priority),
            priority_key: c.priority.as_str(),
            team: c
                .team_id
                .and_then(|id| team_names.get(&id).cloned())
                .unwrap_or_default(),
            assignee: c
                .assignee_id
                .and_then(|id| agent_names.get(&id).cloned())
                .unwrap_or_default(),
            waiting: c.waiting_since.map(|w| t.ago(w, now)).unwrap_or_default(),
            sla: c.sla_due.map(|d| SlaCell::new(&t, d, now)),
            updated: t.time(c.updated_at, now, &tz),
            channel: t.channel(c.channel),
            channel_key: c.channel.as_str(),
        });
    }

    let raw = raw.unwrap_or_default();
    let base = query_keeping(&raw, |k| k != "after");
    let next = page.next.map(|c| {
        let mut ser = form_urlencoded::Serializer::new(base.clone());
        ser.append_pair("after", &c.encode());
        format!("/cases?{}", ser.finish())
    });
    let first = after.map(|_| format!("/cases?{base}"));
    let title = match view {
        Some(v) if !explicit => t.s(&format!("queue-{}", v.key())),
        _ => t.s("queue-filtered"),
    };
    let sel = |o: &Option<String>| nonempty(o);
    let status_sel = sel(&q.status);
    let mut statuses = vec![Choice {
        value: "unsolved".into(),
        label: t.s("filter-unsolved"),
        selected: status_sel.as_deref() == Some("unsolved"),
    }];
    statuses.extend(choices(
        [
            CaseStatus::New,
            CaseStatus::Open,
            CaseStatus::WaitingOnCustomer,
            CaseStatus::WaitingOnThirdParty,
            CaseStatus::Solved,
            CaseStatus::Closed,
        ],
        |s| s.as_str().to_owned(),
        |s| t.status(s),
        status_sel.as_deref(),
    ));
    let team_sel = sel(&q.team);
    let team_choices = teams
        .iter()
        .map(|tm| Choice {
            value: tm.id.to_string(),
            label: tm.name.clone(),
            selected: team_sel.as_deref() == Some(tm.id.to_string().as_str()),
        })
        .collect();
    let assignee_sel = sel(&q.assignee);
    let mut assignees = vec![
        Choice {
            value: "me".into(),
            label: t.s("filter-me"),
            selected: assignee_sel.as_deref() == Some("me"),
        },
        Choice {
            value: "none".into(),
            label: t.s("filter-nobody"),
            selected: assignee_sel.as_deref() == Some("none"),
        },
    ];
    assignees.extend(agents.iter().filter(|a| a.active).map(|a| Choice {
        value: a.id.to_string(),
        label: a.name.clone(),
        selected: assignee_sel.as_deref() == Some(a.id.to_string().as_str()),
    }));
    let channels = choices(
        [
            Channel::Email,
            Channel::Form,
            Channel::Portal,
            Channel::Phone,
            Channel::Chat,
            Channel::Api,
        ],
        |c| c.as_str().to_owned(),
        |c| t.channel(c),
        sel(&q.channel).as_deref(),
    );
    let priorities = choices(
        [
            Priority::Urgent,
            Priority::High,
            Priority::Normal,
            Priority::Low,
        ],
        |p| p.as_str().to_owned(),
        |p| t.priority(p),
        sel(&q.priority).as_deref(),
    );
    let current = if explicit {
        ""
    } else {
        view.map_or("", View::key)
    };
    let sort_href = {
        let mut rest = query_keeping(&raw, |k| k != "sort" && k != "after");
        if !by_sla {
            if !rest.is_empty() {
                rest.push('&');
            }
            rest.push_str("sort=sla");
        }
        format!("/cases?{rest}")
    };
    let f = frame(&state, &s, current).await?;
    Ok(render(&QueuePage {
        since,
        f,
        title,
        rows,
        next,
        first,
        query: base,
        statuses,
        teams: team_choices,
        assignees,
        channels,
        priorities,
        tag: sel(&q.tag).unwrap_or_default(),
        view: view
            .filter(|_| !explicit)
            .map(|v| v.key().to_owned())
            .unwrap_or_default(),
        filtered: explicit,
        by_sla,
        sort_href,
    }))
}

#[derive(Deserialize)]
pub(crate) struct SaveView {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// Saves the current filter under a name (the navigation lists it).
pub(crate) async fn save_view(
    State(state): State<AppState>,
    s: Session,
    Form(form): Form<SaveView>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(UiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-view-name",
        ));
    }
    // Only the filter keys are kept: a saved view never carries a page position.
    let query = query_keeping(&form.query, |k| {
        matches!(
            k,
            "view" | "status" | "team" | "assignee" | "tag" | "channel" | "priority"
        )
    });
    state
        .store()
        .save_view(&SavedView {
            id: uuid::Uuid::now_v7(),
            agent_id: s.auth.agent.id,
            name: name.to_owned(),
            query: query.clone(),
            created_at: state.store().now(),
        })
        .await?;
    Ok(Redirect::to(&format!("/cases?{query}")).into_response())
}

/// Deletes one of the agent's saved views.
pub(crate) async fn delete_view(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(form): Form<super::session::CsrfFormPub>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| UiError::not_found())?;
    if !state.store().delete_view(s.auth.agent.id, id).await? {
        return Err(UiError::not_found());
    }
    Ok(Redirect::to("/cases").into_response())
}
