//! Administration of one concern, one case: routing rules, how each team hands out its cases,
//! escalation settings and the matching thresholds. Admins only; forms re-render with the
//! entered values and a clear message when something is refused.

use anliegen_core::escalation::{EscalationSettings, Tier};
use anliegen_core::resolve::MatchSettings;
use anliegen_core::routing::{AssignMode, Conditions, RoutingRule, TeamAssignment};
use anliegen_core::{Channel, Language, MailboxId, Priority, RuleId, TeamId};
use anliegen_store::Command;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::{Fields, admin_only, message, team_choices, unprocessable};
use super::queue::Choice;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

/// A rule as the list shows it.
struct RuleRow {
    id: String,
    position: i64,
    name: String,
    conditions: String,
    team: String,
    priority: String,
    active: bool,
}

/// A team and its assignment settings.
struct TeamRow {
    id: String,
    name: String,
    modes: Vec<Choice>,
    max_open: u32,
    skills: String,
}

#[derive(Template)]
#[template(path = "admin_routing.html")]
struct RoutingPage {
    f: Frame,
    rows: Vec<RuleRow>,
    teams_rows: Vec<TeamRow>,
    editing: Option<String>,
    error: Option<String>,
    name: String,
    position: String,
    active: bool,
    channels: Vec<Choice>,
    languages: Vec<Choice>,
    mailboxes: Vec<Choice>,
    topics: String,
    tiers: String,
    keywords: String,
    teams: Vec<Choice>,
    priorities: Vec<Choice>,
}

fn split(raw: &str, by: &[char]) -> Vec<String> {
    raw.split(by)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn describe(c: &Conditions, t: &super::i18n::Tr, mailboxes: &[anliegen_core::Mailbox]) -> String {
    let mut parts = Vec::new();
    if !c.channels.is_empty() {
        let names: Vec<String> = c
            .channels
            .iter()
            .map(|ch| t.s(&format!("channel-{}", ch.as_str())))
            .collect();
        parts.push(format!("{}: {}", t.s("routing-channels"), names.join(", ")));
    }
    if !c.languages.is_empty() {
        let names: Vec<&str> = c.languages.iter().map(|l| l.code()).collect();
        parts.push(format!(
            "{}: {}",
            t.s("routing-languages"),
            names.join(", ")
        ));
    }
    if !c.topics.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-topics"),
            c.topics.join(", ")
        ));
    }
    if !c.tiers.is_empty() {
        parts.push(format!("{}: {}", t.s("routing-tiers"), c.tiers.join(", ")));
    }
    if !c.keywords.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-keywords"),
            c.keywords.join(", ")
        ));
    }
    if !c.mailbox_ids.is_empty() {
        let names: Vec<String> = c
            .mailbox_ids
            .iter()
            .map(|id| {
                mailboxes
                    .iter()
                    .find(|m| m.id == *id)
                    .map(|m| m.address.to_string())
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        parts.push(format!(
            "{}: {}",
            t.s("routing-mailboxes"),
            names.join(", ")
        ));
    }
    if !c.organisation_ids.is_empty() {
        parts.push(format!(
            "{}: {}",
            t.s("routing-organisations"),
            c.organisation_ids.len()
        ));
    }
    if parts.is_empty() {
        t.s("routing-always")
    } else {
        parts.join(" · ")
    }
}

async fn routing_page(
    state: &AppState,
    s: &Session,
    editing: Option<RuleId>,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let rules = state.store().routing_rules().await?;
    let teams = state.store().teams().await?;
    let mailboxes = state.store().mailboxes().await?;
    let team_name = |id: Option<TeamId>| {
        id.and_then(|id| teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_else(|| t.s("routing-keep"))
    };
    let rows = rules
        .iter()
        .map(|r| RuleRow {
            id: r.id.to_string(),
            position: r.position,
            name: r.name.clone(),
            conditions: describe(&r.conditions, &t, &mailboxes),
            team: team_name(r.team_id),
            priority: r
                .priority
                .map(|p| t.s(&format!("priority-{}", p.as_str())))
                .unwrap_or_else(|| t.s("routing-keep")),
            active: r.active,
        })
        .collect();
    let teams_rows = teams
        .iter()
        .map(|team| TeamRow {
            id: team.id.to_string(),
            name: team.name.clone(),
            modes: [
                AssignMode::Manual,
                AssignMode::RoundRobin,
                AssignMode::LeastLoaded,
            ]
            .into_iter()
            .map(|m| Choice {
                value: m.as_str().into(),
                label: t.s(&format!("assign-{}", m.as_str())),
                selected: team.assignment.mode == m,
            })
            .collect(),
            max_open: team.assignment.max_open,
            skills: team.assignment.skills.join(", "),
        })
        .collect();
    let current = editing.and_then(|id| rules.iter().find(|r| r.id == id));
    let c = current.map(|r| r.conditions.clone()).unwrap_or_default();
    let get = |key: &str, from: String| match form {
        Some(f) => f.get(key),
        None => from,
    };
    let picked = |key: &str, from: Vec<String>| match form {
        Some(f) => f.all(key),
        None => from,
    };
    let channels_on = picked(
        "channels",
        c.channels.iter().map(|x| x.as_str().to_owned()).collect(),
    );
    let langs_on = picked(
        "languages",
        c.languages.iter().map(|x| x.code().to_owned()).collect(),
    );
    let boxes_on = picked(
        "mailboxes",
        c.mailbox_ids.iter().map(ToString::to_string).collect(),
    );
    let team = get(
        "team",
        current
            .and_then(|r| r.team_id)
            .map(|t| t.to_string())
            .unwrap_or_default(),
    );
    let priority = get(
        "priority",
        current
            .and_then(|r| r.priority)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
    );
    let f = frame(state, s, "").await?;
    Ok(render(&RoutingPage {
        rows,
        teams_rows,
        editing: editing.map(|i| i.to_string()),
        error,
        name: get("name", current.map(|r| r.name.clone()).unwrap_or_default()),
        position: get(
            "position",
            current.map(|r| r.position.to_string()).unwrap_or_default(),
        ),
        active: form.map_or(current.is_none_or(|r| r.active), |f| f.on("active")),
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
            label: t.s(&format!("channel-{}", ch.as_str())),
            selected: channels_on.iter().any(|x| x == ch.as_str()),
        })
        .collect(),
        languages: [("de", "Deutsch"), ("en", "English")]
            .into_iter()
            .map(|(v, l)| Choice {
                value: v.into(),
                label: l.into(),
                selected: langs_on.iter().any(|x| x == v),
            })
            .collect(),
        mailboxes: mailboxes
            .iter()
            .map(|m| Choice {
                value: m.id.to_string(),
                label: m.address.to_string(),
                selected: boxes_on.contains(&m.id.to_string()),
            })
            .collect(),
        topics: get("topics", c.topics.join(", ")),
        tiers: get("tiers", c.tiers.join(", ")),
        keywords: get("keywords", c.keywords.join("\n")),
        teams: team_choices(&teams, &[team], Some(t.s("routing-keep"))),
        priorities: std::iter::once(Choice {
            value: String::new(),
            label: t.s("routing-keep"),
            selected: priority.is_empty(),
        })
        .chain(Priority::ALL.into_iter().map(|p| Choice {
            value: p.as_str().into(),
            label: t.s(&format!("priority-{}", p.as_str())),
            selected: priority == p.as_str(),
        }))
        .collect(),
        f,
    }))
}

pub(crate) async fn routing(
    State(state): State<AppState>,
    s: Session,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    routing_page(&state, &s, None, None, None).await
}

pub(crate) async fn rule(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = uuid::Uuid::parse_str(&id)
        .map(RuleId)
        .map_err(|_| UiError::not_found())?;
    routing_page(&state, &s, Some(id), None, None).await
}

fn parse_rule_form(
    f: &Fields,
    id: RuleId,
    next: i64,
    t: &super::i18n::Tr,
) -> Result<RoutingRule, String> {
    let channels = f
        .all("channels")
        .iter()
        .map(|c| Channel::parse(c).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    let languages = f
        .all("languages")
        .iter()
        .map(|l| Language::parse(l).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    let mailbox_ids = f
        .all("mailboxes")
        .iter()
        .map(|m| {
            uuid::Uuid::parse_str(m)
                .map(MailboxId)
                .map_err(|_| t.s("admin-bad-team"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let conditions = Conditions {
        channels,
        languages,
        topics: split(&f.get("topics"), &[',', '\n']),
        organisation_ids: Vec::new(),
        tiers: split(&f.get("tiers"), &[',', '\n'])
            .into_iter()
            .map(|x| x.to_lowercase())
            .collect(),
        keywords: split(&f.get("keywords"), &['\n', ',']),
        mailbox_ids,
    };
    conditions.validate().map_err(|e| e.message)?;
    let position = match f.get("position").trim() {
        "" => next,
        p => p.parse::<i64>().map_err(|_| t.s("routing-bad-position"))?,
    };
    let team_id = match f.get("team").trim() {
        "" => None,
        x => Some(
            uuid::Uuid::parse_str(x)
                .map(TeamId)
                .map_err(|_| t.s("admin-bad-team"))?,
        ),
    };
    let priority = match f.get("priority").trim() {
        "" => None,
        p => Some(Priority::parse(p).map_err(|e| e.message)?),
    };
    Ok(RoutingRule {
        id,
        position,
        name: f.get("name"),
        active: f.on("active"),
        conditions,
        team_id,
        priority,
    })
}

pub(crate) async fn save_rule(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let t = s.tr();
    let existing = state.store().routing_rules().await?;
    let editing = uuid::Uuid::parse_str(f.get("id").trim()).ok().map(RuleId);
    let next = existing
        .iter()
        .map(|r| r.position)
        .max()
        .map_or(10, |p| p + 10);
    let id = editing.unwrap_or_default();
    let keep = editing
        .and_then(|id| existing.iter().find(|r| r.id == id))
        .map(|r| r.position);
    let rule = match parse_rule_form(&f, id, keep.unwrap_or(next), &t) {
        Ok(mut r) => {
            // The form has no organisation picker: a rule's organisations (set through the
            // API) stay as they are.
            if let Some(old) = editing.and_then(|id| existing.iter().find(|r| r.id == id)) {
                r.conditions.organisation_ids = old.conditions.organisation_ids.clone();
            }
            r
        }
        Err(e) => {
            return Ok(unprocessable(
                routing_page(&state, &s, editing, Some(&f), Some(e)).await?,
            ));
        }
    };
    match state
        .store()
        .exec(s.auth.actor(), Command::SaveRoutingRule(Box::new(rule)))
        .await
    {
        Ok(_) => {
            state.concerns().invalidate().await;
            Ok(Redirect::to("/admin/routing").into_response())
        }
        Err(e) => Ok(unprocessable(
            routing_page(&state, &s, editing, Some(&f), Some(message(e)?)).await?,
        )),
    }
}

pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let id = uuid::Uuid::parse_str(&id)
        .map(RuleId)
        .map_err(|_| UiError::not_found())?;
    state
        .store()
        .exec(s.auth.actor(), Command::DeleteRoutingRule { id })
        .await?;
    state.concerns().invalidate().await;
    Ok(Redirect::to("/admin/routing").into_response())
}

pub(crate) async fn save_team_assignment(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let t = s.tr();
    let team_id = uuid::Uuid::parse_str(&id)
        .map(TeamId)
        .map_err(|_| UiError::not_found())?;
    let assignment = (|| -> Result<TeamAssignment, String> {
        Ok(TeamAssignment {
            mode: AssignMode::parse(&f.get("mode")).map_err(|e| e.message)?,
            max_open: f
                .get("max_open")
                .trim()
                .parse()
                .map_err(|_| t.s("routing-bad-max-open"))?,
            skills: split(&f.get("skills"), &[',', ' ']),
        })
    })();
    let result = match assignment {
        Ok(assignment) => state
            .store()
            .exec(
                s.auth.actor(),
                Command::SetTeamAssignment {
                    team_id,
                    assignment,
                },
            )
            .await
            .map_err(message),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/admin/routing").into_response()),
        Err(e) => Ok(unprocessable(
            routing_page(&state, &s, None, None, Some(e?)).await?,
        )),
    }
}

// ---- escalation and matching ----------------------------------------------------------------

struct TierRow {
    index: usize,
    name: String,
    teams: Vec<Choice>,
    priorities: Vec<Choice>,
    notify: bool,
}

#[derive(Template)]
#[template(path = "admin_escalation.html")]
struct EscalationPage {
    f: Frame,
    error: Option<String>,
    notice: Option<String>,
    after_repeats: String,
    on_keywords: bool,
    keywords_de: String,
    keywords_en: String,
    on_overdue_promise: bool,
    on_sla_breach: bool,
    tiers: Vec<TierRow>,
    enabled: bool,
    window_days: String,
    min_score: String,
    near_duplicate: String,
    acknowledge_repeats: bool,
}

/// Tiers the form offers: the configured ones plus empty rows up to three more.
const TIER_ROWS: usize = 4;

async fn escalation_page(
    state: &AppState,
    s: &Session,
    form: Option<&Fields>,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    state.concerns().invalidate().await;
    let settings = state.concerns().settings().await?;
    let e = &settings.escalation;
    let m = &settings.matching;
    let teams = state.store().teams().await?;
    // A refused form keeps what was entered; the page's other form shows what is stored.
    let matching_form = form.is_some_and(|f| f.get("form") == "matching");
    let esc_form = form.filter(|_| !matching_form);
    let m_form = form.filter(|_| matching_form);
    let get = |key: &str, from: String| match esc_form {
        Some(f) => f.get(key),
        None => from,
    };
    let on = |key: &str, from: bool| esc_form.map_or(from, |f| f.on(key));
    let m_get = |key: &str, from: String| match m_form {
        Some(f) => f.get(key),
        None => from,
    };
    let m_on = |key: &str, from: bool| m_form.map_or(from, |f| f.on(key));
    let tiers = (0..TIER_ROWS.max(e.tiers.len() + 1))
        .map(|i| {
            let tier = e.tiers.get(i);
            let team = get(
                &format!("tier{i}_team"),
                tier.and_then(|t| t.team_id)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            );
            let priority = get(
                &format!("tier{i}_priority"),
                tier.map_or("high", |t| t.priority.as_str()).to_owned(),
            );
            TierRow {
                index: i,
                name: get(
                    &format!("tier{i}_name"),
                    tier.map(|t| t.name.clone()).unwrap_or_default(),
                ),
                teams: team_choices(&teams, &[team], Some(t.s("escalation-supervisors"))),
                priorities: Priority::ALL
                    .into_iter()
                    .map(|p| Choice {
                        value: p.as_str().into(),
                        label: t.s(&format!("priority-{}", p.as_str())),
                        selected: priority == p.as_str(),
                    })
                    .collect(),
                notify: on(
                    &format!("tier{i}_notify"),
                    tier.is_none_or(|t| t.notify_supervisors),
                ),
            }
        })
        .collect();
    let f = frame(state, s, "").await?;
    Ok(render(&EscalationPage {
        f,
        error,
        notice,
        after_repeats: get("after_repeats", e.after_repeats.to_string()),
        on_keywords: on("on_keywords", e.on_keywords),
        keywords_de: get("keywords_de", e.keywords_de.join("\n")),
        keywords_en: get("keywords_en", e.keywords_en.join("\n")),
        on_overdue_promise: on("on_overdue_promise", e.on_overdue_promise),
        on_sla_breach: on("on_sla_breach", e.on_sla_breach),
        tiers,
        enabled: m_on("enabled", m.enabled),
        window_days: m_get("window_days", m.window_days.to_string()),
        min_score: m_get("min_score", m.min_score.to_string()),
        near_duplicate: m_get("near_duplicate", m.near_duplicate.to_string()),
        acknowledge_repeats: m_on("acknowledge_repeats", m.acknowledge_repeats),
    }))
}

pub(crate) async fn escalation(
    State(state): State<AppState>,
    s: Session,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    escalation_page(&state, &s, None, None, None).await
}

fn parse_escalation(f: &Fields, t: &super::i18n::Tr) -> Result<EscalationSettings, String> {
    let mut tiers = Vec::new();
    for i in 0..16 {
        let name = f.get(&format!("tier{i}_name"));
        if name.trim().is_empty() {
            continue;
        }
        let team = f.get(&format!("tier{i}_team"));
        tiers.push(Tier {
            name: name.trim().to_owned(),
            team_id: match team.trim() {
                "" => None,
                x => Some(
                    uuid::Uuid::parse_str(x)
                        .map(TeamId)
                        .map_err(|_| t.s("admin-bad-team"))?,
                ),
            },
            priority: Priority::parse(&f.get(&format!("tier{i}_priority")))
                .map_err(|e| e.message)?,
            notify_supervisors: f.on(&format!("tier{i}_notify")),
        });
    }
    let s = EscalationSettings {
        after_repeats: f
            .get("after_repeats")
            .trim()
            .parse()
            .map_err(|_| t.s("escalation-bad-repeats"))?,
        on_keywords: f.on("on_keywords"),
        keywords_de: split(&f.get("keywords_de"), &['\n']),
        keywords_en: split(&f.get("keywords_en"), &['\n']),
        on_overdue_promise: f.on("on_overdue_promise"),
        on_sla_breach: f.on("on_sla_breach"),
        tiers,
    };
    s.validate().map_err(|e| e.message)?;
    Ok(s)
}

fn parse_matching(f: &Fields, t: &super::i18n::Tr) -> Result<MatchSettings, String> {
    let num = |key: &str| -> Result<f64, String> {
        f.get(key)
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| t.s("matching-bad-number"))
    };
    let s = MatchSettings {
        enabled: f.on("enabled"),
        window_days: f
            .get("window_days")
            .trim()
            .parse()
            .map_err(|_| t.s("matching-bad-number"))?,
        min_score: num("min_score")?,
        near_duplicate: num("near_duplicate")?,
        acknowledge_repeats: f.on("acknowledge_repeats"),
    };
    s.validate().map_err(|e| e.message)?;
    Ok(s)
}

pub(crate) async fn save_escalation(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let t = s.tr();
    let (key, value) = if f.get("form") == "matching" {
        match parse_matching(&f, &t) {
            Ok(m) => ("matching", serde_json::to_value(&m).unwrap_or_default()),
            Err(e) => {
                return Ok(unprocessable(
                    escalation_page(&state, &s, Some(&f), Some(e), None).await?,
                ));
            }
        }
    } else {
        match parse_escalation(&f, &t) {
            Ok(e) => ("escalation", serde_json::to_value(&e).unwrap_or_default()),
            Err(e) => {
                return Ok(unprocessable(
                    escalation_page(&state, &s, Some(&f), Some(e), None).await?,
                ));
            }
        }
    };
    let cmd = Command::SetSetting {
        key: key.to_owned(),
        value,
    };
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(_) => {
            state.concerns().invalidate().await;
            escalation_page(&state, &s, None, None, Some(t.s("admin-saved"))).await
        }
        Err(e) => Ok(unprocessable(
            escalation_page(&state, &s, Some(&f), Some(message(e)?), None).await?,
        )),
    }
}

/// An agent sets themselves available or away (automatic assignment skips away agents).
pub(crate) async fn set_availability(
    State(state): State<AppState>,
    s: Session,
    headers: axum::http::HeaderMap,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let available = f.get("available") == "1";
    let id = s.auth.agent.id;
    state
        .store()
        .exec(
            s.auth.actor(),
            Command::UpdateAgent {
                id,
                patch: anliegen_store::AgentPatch {
                    available: Some(available),
                    ..Default::default()
                },
            },
        )
        .await?;
    state.tokens().forget(None, Some(id));
    let back = super::referer_path(&headers).unwrap_or_else(|| "/cases".to_owned());
    Ok(Redirect::to(&back).into_response())
}
