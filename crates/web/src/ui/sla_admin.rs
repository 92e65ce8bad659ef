//! Administration of SLA policies: the ordered list (the first whose conditions a case meets
//! applies), a form to add or change one, removal. Admins only; a refused form comes back with
//! what was entered and the reason.

use anliegen_core::sla::{SlaConditions, SlaPolicy, SlaTargets};
use anliegen_core::{Channel, Priority, TeamId, Tier};
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::{Fields, admin_only, team_choices, unprocessable};
use super::queue::Choice;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

struct PolicyRow {
    id: String,
    position: usize,
    name: String,
    conditions: String,
    targets: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin_sla.html")]
struct SlaPage {
    f: Frame,
    rows: Vec<PolicyRow>,
    editing: Option<String>,
    error: Option<String>,
    name: String,
    position: String,
    active: bool,
    priorities: Vec<Choice>,
    teams: Vec<Choice>,
    channels: Vec<Choice>,
    tiers: String,
    first_response: String,
    next_response: String,
    resolution: String,
    warn_percent: String,
}

/// Business minutes as admins write them: `90`, `90 min`, `8 h`, `1,5 h`.
pub(crate) fn parse_minutes(raw: &str) -> Result<Option<u32>, String> {
    let s = raw.trim().to_lowercase().replace(',', ".");
    if s.is_empty() {
        return Ok(None);
    }
    let (num, factor) = if let Some(n) = s.strip_suffix("min") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("std").or_else(|| s.strip_suffix('h')) {
        (n, 60.0)
    } else {
        (s.as_str(), 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("„{raw}“ ist keine Dauer (z. B. 90, 90 min, 8 h)"))?;
    let m = (v * factor).round();
    if !(1.0..=f64::from(u32::MAX)).contains(&m) {
        return Err(format!("„{raw}“ ist keine Dauer (z. B. 90, 90 min, 8 h)"));
    }
    Ok(Some(m as u32))
}

/// Minutes as `8 h`, `1 h 30 min` or `45 min`.
pub(crate) fn show_minutes(m: u32) -> String {
    match (m / 60, m % 60) {
        (0, r) => format!("{r} min"),
        (h, 0) => format!("{h} h"),
        (h, r) => format!("{h} h {r} min"),
    }
}

fn describe(p: &SlaPolicy, t: &super::i18n::Tr, teams: &[anliegen_core::Team]) -> String {
    let c = &p.conditions;
    let mut parts = Vec::new();
    if !c.priorities.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-priority"),
            c.priorities
                .iter()
                .map(|x| t.priority(*x))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.teams.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-team"),
            c.teams
                .iter()
                .map(|id| teams
                    .iter()
                    .find(|x| x.id == *id)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| id.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.channels.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-channels"),
            c.channels
                .iter()
                .map(|x| t.channel(*x))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.tiers.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-tiers"),
            c.tiers
                .iter()
                .map(Tier::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.organisations.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-organisations"),
            c.organisations.len()
        ));
    }
    if parts.is_empty() {
        t.s("routing-always")
    } else {
        parts.join(" · ")
    }
}

async fn page(
    state: &AppState,
    s: &Session,
    editing: Option<uuid::Uuid>,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let policies = anliegen_store::sla::policies(state.store()).await?;
    let teams = state.store().teams().await?;
    let rows = policies
        .iter()
        .enumerate()
        .map(|(i, p)| PolicyRow {
            id: p.id.to_string(),
            position: i + 1,
            name: p.name.clone(),
            conditions: describe(p, &t, &teams),
            targets: anliegen_core::sla::SlaMetric::ALL
                .iter()
                .filter_map(|m| {
                    p.targets.get(*m).map(|v| {
                        format!(
                            "{} {}",
                            t.s(&format!("sla-{}", m.as_str().replace('_', "-"))),
                            show_minutes(v)
                        )
                    })
                })
                .collect::<Vec<_>>()
                .join(" · "),
            active: p.active,
        })
        .collect();
    let current = editing.and_then(|id| policies.iter().find(|p| p.id == id));
    let c = current.map(|p| p.conditions.clone()).unwrap_or_default();
    let get = |key: &str, from: String| form.map_or(from, |f| f.get(key));
    let picked = |key: &str, from: Vec<String>| form.map_or(from, |f| f.all(key));
    let prio_on = picked(
        "priorities",
        c.priorities.iter().map(|x| x.as_str().to_owned()).collect(),
    );
    let team_on = picked("teams", c.teams.iter().map(ToString::to_string).collect());
    let chan_on = picked(
        "channels",
        c.channels.iter().map(|x| x.as_str().to_owned()).collect(),
    );
    let target = |m: anliegen_core::sla::SlaMetric| {
        current
            .and_then(|p| p.targets.get(m))
            .map(show_minutes)
            .unwrap_or_default()
    };
    let f = frame(state, s, "").await?;
    Ok(render(&SlaPage {
        f,
        rows,
        editing: editing
            .filter(|_| current.is_some())
            .map(|id| id.to_string()),
        error,
        name: get("name", current.map(|p| p.name.clone()).unwrap_or_default()),
        position: get(
            "position",
            current
                .and_then(|p| policies.iter().position(|x| x.id == p.id))
                .map(|i| (i + 1).to_string())
                .unwrap_or_default(),
        ),
        active: form.map_or(current.is_none_or(|p| p.active), |f| f.on("active")),
        priorities: Priority::ALL
            .iter()
            .rev()
            .map(|p| Choice {
                value: p.as_str().into(),
                label: t.priority(*p),
                selected: prio_on.iter().any(|x| x == p.as_str()),
            })
            .collect(),
        teams: team_choices(&teams, &team_on, None),
        channels: [
            Channel::Email,
            Channel::Form,
            Channel::Portal,
            Channel::Phone,
            Channel::Chat,
            Channel::Api,
        ]
        .into_iter()
        .map(|ch| Choice {
            value: ch.as_str().into(),
            label: t.channel(ch),
            selected: chan_on.iter().any(|x| x == ch.as_str()),
        })
        .collect(),
        tiers: get(
            "tiers",
            c.tiers
                .iter()
                .map(Tier::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        first_response: get(
            "first_response",
            target(anliegen_core::sla::SlaMetric::FirstResponse),
        ),
        next_response: get(
            "next_response",
            target(anliegen_core::sla::SlaMetric::NextResponse),
        ),
        resolution: get(
            "resolution",
            target(anliegen_core::sla::SlaMetric::Resolution),
        ),
        warn_percent: get(
            "warn_percent",
            current.map_or_else(|| "75".into(), |p| p.warn_percent.to_string()),
        ),
    }))
}

/// The SLA policies page.
pub(crate) async fn list(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    page(&state, &s, None, None, None).await
}

/// One policy in the form.
pub(crate) async fn edit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| UiError::not_found())?;
    page(&state, &s, Some(id), None, None).await
}

fn policy_of(f: &Fields, id: uuid::Uuid) -> Result<SlaPolicy, String> {
    let parse_each = |key: &str| f.all(key);
    let priorities = parse_each("priorities")
        .iter()
        .map(|p| Priority::parse(p).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    let teams = parse_each("teams")
        .iter()
        .map(|t| {
            uuid::Uuid::parse_str(t)
                .map(TeamId)
                .map_err(|_| format!("„{t}“ ist kein Team"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let channels = parse_each("channels")
        .iter()
        .map(|c| Channel::parse(c).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    let tiers = f
        .get("tiers")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|t| Tier::parse(t).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    let warn_percent = f
        .get("warn_percent")
        .trim()
        .parse::<u8>()
        .map_err(|_| "Die Warnung kommt bei 1 bis 99 % der Frist.".to_owned())?;
    let p = SlaPolicy {
        id,
        name: f.get("name").trim().to_owned(),
        active: f.on("active"),
        conditions: SlaConditions {
            priorities,
            teams,
            channels,
            tiers,
            organisations: Vec::new(),
        },
        targets: SlaTargets {
            first_response: parse_minutes(&f.get("first_response"))?,
            next_response: parse_minutes(&f.get("next_response"))?,
            resolution: parse_minutes(&f.get("resolution"))?,
        },
        warn_percent,
    };
    p.validate().map_err(|e| e.message)?;
    Ok(p)
}

/// Adds or changes a policy (at the position given, else at the end or where it was).
pub(crate) async fn save(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let editing = uuid::Uuid::parse_str(&f.get("id")).ok();
    let mut policies = anliegen_store::sla::policies(state.store()).await?;
    let existing = editing.and_then(|id| policies.iter().position(|p| p.id == id));
    // Conditions the form does not show (organisations) stay as they were.
    let kept_orgs = existing
        .and_then(|i| policies.get(i))
        .map(|p| p.conditions.organisations.clone())
        .unwrap_or_default();
    let id = existing.and(editing).unwrap_or_else(uuid::Uuid::now_v7);
    let mut policy = match policy_of(&f, id) {
        Ok(p) => p,
        Err(e) => {
            return Ok(unprocessable(
                page(&state, &s, existing.and(editing), Some(&f), Some(e)).await?,
            ));
        }
    };
    policy.conditions.organisations = kept_orgs;
    let at = existing.unwrap_or(policies.len());
    if existing.is_some() {
        policies.remove(at);
    }
    let position = f
        .get("position")
        .trim()
        .parse::<usize>()
        .ok()
        .map(|p| p.saturating_sub(1))
        .unwrap_or(at)
        .min(policies.len());
    policies.insert(position, policy);
    match crate::api::sla::save_policies(&state, s.auth.actor(), &policies).await {
        Ok(()) => Ok(Redirect::to("/admin/sla").into_response()),
        Err(e) if e.status().is_client_error() => Ok(unprocessable(
            page(
                &state,
                &s,
                existing.and(editing),
                Some(&f),
                Some(e.detail().to_owned()),
            )
            .await?,
        )),
        Err(e) => Err(UiError::new(e.status(), "error-server")),
    }
}

/// Removes a policy.
pub(crate) async fn delete(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| UiError::not_found())?;
    let mut policies = anliegen_store::sla::policies(state.store()).await?;
    let before = policies.len();
    policies.retain(|p| p.id != id);
    if policies.len() == before {
        return Err(UiError::not_found());
    }
    crate::api::sla::save_policies(&state, s.auth.actor(), &policies)
        .await
        .map_err(|e| UiError::new(e.status(), "error-server"))?;
    Ok(Redirect::to("/admin/sla").into_response())
}
