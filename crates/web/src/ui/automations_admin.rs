//! Administration of automations: the ordered rules, a form for a trigger or a timer with the
//! common conditions and actions, a dry-run that lists the cases the rule in the form would
//! touch now (nothing is saved), and removal. Conditions the form does not show (a language,
//! negated lists made through the API) are kept as they were when a rule is saved.

use anliegen_core::automation::{Action, Automation, Condition, On, Since, When, validate_all};
use anliegen_core::{CaseStatus, Channel, Priority, Tag, TeamId, Tier};
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::{Fields, admin_only, unprocessable};
use super::queue::Choice;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

const HAPPENINGS: [On; 13] = [
    On::CaseOpened,
    On::CustomerReplied,
    On::AgentReplied,
    On::NoteAdded,
    On::StatusChanged,
    On::PriorityChanged,
    On::TeamChanged,
    On::AssigneeChanged,
    On::TagsChanged,
    On::SlaWarning,
    On::SlaBreached,
    On::PromiseOverdue,
    On::CaseEscalated,
];

const CHANNELS: [Channel; 6] = [
    Channel::Email,
    Channel::Form,
    Channel::Portal,
    Channel::Phone,
    Channel::Chat,
    Channel::Api,
];

fn on_key(o: On) -> &'static str {
    match o {
        On::CaseOpened => "case_opened",
        On::CustomerReplied => "customer_replied",
        On::AgentReplied => "agent_replied",
        On::NoteAdded => "note_added",
        On::StatusChanged => "status_changed",
        On::PriorityChanged => "priority_changed",
        On::TeamChanged => "team_changed",
        On::AssigneeChanged => "assignee_changed",
        On::TagsChanged => "tags_changed",
        On::SlaWarning => "sla_warning",
        On::SlaBreached => "sla_breached",
        On::PromiseOverdue => "promise_overdue",
        On::CaseEscalated => "case_escalated",
    }
}

struct RuleRow {
    id: String,
    position: usize,
    name: String,
    when: String,
    does: String,
    active: bool,
}

/// A case the dry-run found.
struct Touched {
    reference: String,
    subject: String,
    status: String,
}

#[derive(Template)]
#[template(path = "admin_automations.html")]
struct AutomationsPage {
    f: Frame,
    rows: Vec<RuleRow>,
    editing: Option<String>,
    error: Option<String>,
    /// The dry-run's result, when one was asked for.
    dry: Option<Vec<Touched>>,
    dry_summary: String,
    name: String,
    position: String,
    active: bool,
    timer: bool,
    happenings: Vec<Choice>,
    since: Vec<Choice>,
    after: String,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    teams: Vec<Choice>,
    channels: Vec<Choice>,
    tiers: String,
    has_tag: String,
    lacks_tag: String,
    assigned: Vec<Choice>,
    words: String,
    set_status: Vec<Choice>,
    set_priority: Vec<Choice>,
    set_team: Vec<Choice>,
    add_tags: String,
    remove_tags: String,
    note: String,
    reply_de: String,
    reply_en: String,
    promise_what: String,
    promise_due: String,
    webhook: String,
    webhook_secret: String,
}

/// Wall-clock durations as admins write them: `30 min`, `48 h`, `7 d`, `14 Tage`.
fn parse_duration(raw: &str) -> Result<u32, String> {
    let s = raw.trim().to_lowercase().replace(',', ".");
    let bad = || format!("„{raw}“ ist keine Dauer (z. B. 30 min, 48 h, 7 Tage)");
    let (num, factor) = [
        ("tage", 1440.0),
        ("tag", 1440.0),
        ("days", 1440.0),
        ("day", 1440.0),
        ("d", 1440.0),
        ("std", 60.0),
        ("h", 60.0),
        ("min", 1.0),
    ]
    .iter()
    .find_map(|(suffix, f)| s.strip_suffix(suffix).map(|n| (n.trim().to_owned(), *f)))
    .unwrap_or((s.clone(), 1.0));
    let v: f64 = num.parse().map_err(|_| bad())?;
    let m = (v * factor).round();
    if !(0.0..=f64::from(u32::MAX)).contains(&m) {
        return Err(bad());
    }
    Ok(m as u32)
}

fn show_duration(m: u32) -> String {
    if m > 0 && m.is_multiple_of(1440) {
        format!("{} d", m / 1440)
    } else if m > 0 && m.is_multiple_of(60) {
        format!("{} h", m / 60)
    } else {
        format!("{m} min")
    }
}

fn tags_of(raw: &str) -> Result<Vec<Tag>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Tag::parse(t).map_err(|e| e.message))
        .collect()
}

/// Whether the form shows this condition (the others are kept as they were).
fn in_form(c: &Condition) -> bool {
    match c {
        Condition::Status { not, .. }
        | Condition::Priority { not, .. }
        | Condition::Team { not, .. }
        | Condition::Channel { not, .. }
        | Condition::Tier { not, .. }
        | Condition::Text { not, .. } => !not,
        Condition::Tag { .. } | Condition::Assigned { .. } => true,
        Condition::Language { .. } => false,
    }
}

fn rule_of(f: &Fields, id: uuid::Uuid, kept: Vec<Condition>) -> Result<Automation, String> {
    let when = if f.get("type") == "timer" {
        let since = match f.get("since").as_str() {
            "created" => Since::Created,
            "updated" => Since::Updated,
            _ => Since::StatusChanged,
        };
        When::Timer {
            since,
            minutes: parse_duration(&f.get("after"))?,
        }
    } else {
        When::Trigger {
            on: HAPPENINGS
                .iter()
                .copied()
                .filter(|o| f.all("on").iter().any(|x| x == on_key(*o)))
                .collect(),
        }
    };
    let mut conditions = kept;
    let statuses: Vec<CaseStatus> = f
        .all("status")
        .iter()
        .filter_map(|s| CaseStatus::parse(s).ok())
        .collect();
    if !statuses.is_empty() {
        conditions.push(Condition::Status {
            any: statuses,
            not: false,
        });
    }
    let priorities: Vec<Priority> = f
        .all("priority")
        .iter()
        .filter_map(|s| Priority::parse(s).ok())
        .collect();
    if !priorities.is_empty() {
        conditions.push(Condition::Priority {
            any: priorities,
            not: false,
        });
    }
    let teams: Vec<TeamId> = f
        .all("team")
        .iter()
        .filter_map(|s| uuid::Uuid::parse_str(s).ok().map(TeamId))
        .collect();
    if !teams.is_empty() {
        conditions.push(Condition::Team {
            any: teams,
            not: false,
        });
    }
    let channels: Vec<Channel> = f
        .all("channel")
        .iter()
        .filter_map(|s| Channel::parse(s).ok())
        .collect();
    if !channels.is_empty() {
        conditions.push(Condition::Channel {
            any: channels,
            not: false,
        });
    }
    let tiers = f
        .get("tiers")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|t| Tier::parse(t).map_err(|e| e.message))
        .collect::<Result<Vec<_>, _>>()?;
    if !tiers.is_empty() {
        conditions.push(Condition::Tier {
            any: tiers,
            not: false,
        });
    }
    for tag in tags_of(&f.get("has_tag"))? {
        conditions.push(Condition::Tag { tag, not: false });
    }
    for tag in tags_of(&f.get("lacks_tag"))? {
        conditions.push(Condition::Tag { tag, not: true });
    }
    match f.get("assigned").as_str() {
        "yes" => conditions.push(Condition::Assigned { is: true }),
        "no" => conditions.push(Condition::Assigned { is: false }),
        _ => {}
    }
    let words: Vec<String> = f
        .get("words")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !words.is_empty() {
        conditions.push(Condition::Text {
            any: words,
            not: false,
        });
    }

    let mut actions = Vec::new();
    if let Ok(status) = CaseStatus::parse(&f.get("set_status")) {
        actions.push(Action::SetStatus { status });
    }
    if let Ok(priority) = Priority::parse(&f.get("set_priority")) {
        actions.push(Action::SetPriority { priority });
    }
    match f.get("set_team").as_str() {
        "" => {}
        "none" => actions.push(Action::SetTeam { team_id: None }),
        t => actions.push(Action::SetTeam {
            team_id: Some(TeamId(
                uuid::Uuid::parse_str(t).map_err(|_| format!("„{t}“ ist kein Team"))?,
            )),
        }),
    }
    for tag in tags_of(&f.get("add_tags"))? {
        actions.push(Action::AddTag { tag });
    }
    for tag in tags_of(&f.get("remove_tags"))? {
        actions.push(Action::RemoveTag { tag });
    }
    let note = f.get("note");
    if !note.trim().is_empty() {
        actions.push(Action::AddNote { text: note });
    }
    let (de, en) = (f.get("reply_de"), f.get("reply_en"));
    if !de.trim().is_empty() || !en.trim().is_empty() {
        actions.push(Action::SendReply {
            body_de: de,
            body_en: en,
        });
    }
    let what = f.get("promise_what");
    if !what.trim().is_empty() {
        let due = super::sla_admin::parse_minutes(&f.get("promise_due"))?
            .ok_or("Eine Zusage braucht eine Frist (Geschäftszeit, z. B. 8 h).")?;
        actions.push(Action::CreatePromise {
            what: what.trim().to_owned(),
            due_in_minutes: due,
        });
    }
    let hook = f.get("webhook");
    if !hook.trim().is_empty() {
        actions.push(Action::Webhook {
            url: hook.trim().to_owned(),
            secret: f.get("webhook_secret").trim().to_owned(),
        });
    }
    let rule = Automation {
        id,
        name: f.get("name").trim().to_owned(),
        active: f.on("active"),
        when,
        conditions,
        actions,
    };
    rule.validate().map_err(|e| e.message)?;
    Ok(rule)
}

fn summary(r: &Automation, t: &super::i18n::Tr) -> (String, String) {
    let when = match &r.when {
        When::Trigger { on } => format!(
            "{}: {}",
            t.s("auto-trigger"),
            on.iter()
                .map(|o| t.s(&format!("auto-on-{}", on_key(*o).replace('_', "-"))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        When::Timer { since, minutes } => t.args(
            "auto-timer-summary",
            &[
                ("after", show_duration(*minutes)),
                (
                    "since",
                    t.s(&format!("auto-since-{}", since.as_str().replace('_', "-"))),
                ),
            ],
        ),
    };
    let does = r
        .actions
        .iter()
        .map(|a| match a {
            Action::SetStatus { status } => format!("→ {}", t.status(*status)),
            Action::SetPriority { priority } => format!("→ {}", t.priority(*priority)),
            Action::SetTeam { .. } => t.s("auto-do-team"),
            Action::AddTag { tag } => format!("+{}", tag.as_str()),
            Action::RemoveTag { tag } => format!("−{}", tag.as_str()),
            Action::AddNote { .. } => t.s("auto-do-note"),
            Action::SendReply { .. } => t.s("auto-do-reply"),
            Action::CreatePromise { .. } => t.s("auto-do-promise"),
            Action::Webhook { .. } => t.s("auto-do-webhook"),
        })
        .collect::<Vec<_>>()
        .join(" · ");
    (when, does)
}

async fn page(
    state: &AppState,
    s: &Session,
    editing: Option<uuid::Uuid>,
    form: Option<&Fields>,
    error: Option<String>,
    dry: Option<(Vec<Touched>, usize)>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let rules = anliegen_store::automation::rules(state.store()).await?;
    let teams = state.store().teams().await?;
    let rows = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (when, does) = summary(r, &t);
            RuleRow {
                id: r.id.to_string(),
                position: i + 1,
                name: r.name.clone(),
                when,
                does,
                active: r.active,
            }
        })
        .collect();
    let current = editing.and_then(|id| rules.iter().find(|r| r.id == id));
    // What the current rule says, in the form's words.
    let mut from: Vec<(String, String)> = Vec::new();
    if let Some(r) = current {
        let mut push = |k: &str, v: String| from.push((k.to_owned(), v));
        push("name", r.name.clone());
        if r.active {
            push("active", "1".into());
        }
        match &r.when {
            When::Trigger { on } => {
                push("type", "trigger".into());
                for o in on {
                    push("on", on_key(*o).into());
                }
            }
            When::Timer { since, minutes } => {
                push("type", "timer".into());
                push("since", since.as_str().into());
                push("after", show_duration(*minutes));
            }
        }
        let mut has = Vec::new();
        let mut lacks = Vec::new();
        for c in r.conditions.iter().filter(|c| in_form(c)) {
            match c {
                Condition::Status { any, .. } => {
                    any.iter().for_each(|x| push("status", x.as_str().into()))
                }
                Condition::Priority { any, .. } => {
                    any.iter().for_each(|x| push("priority", x.as_str().into()))
                }
                Condition::Team { any, .. } => any.iter().for_each(|x| push("team", x.to_string())),
                Condition::Channel { any, .. } => {
                    any.iter().for_each(|x| push("channel", x.as_str().into()))
                }
                Condition::Tier { any, .. } => push(
                    "tiers",
                    any.iter().map(Tier::as_str).collect::<Vec<_>>().join(", "),
                ),
                Condition::Tag { tag, not: false } => has.push(tag.as_str().to_owned()),
                Condition::Tag { tag, not: true } => lacks.push(tag.as_str().to_owned()),
                Condition::Assigned { is } => {
                    push("assigned", if *is { "yes" } else { "no" }.into())
                }
                Condition::Text { any, .. } => push("words", any.join(", ")),
                Condition::Language { .. } => {}
            }
        }
        push("has_tag", has.join(", "));
        push("lacks_tag", lacks.join(", "));
        let mut add = Vec::new();
        let mut remove = Vec::new();
        for a in &r.actions {
            match a {
                Action::SetStatus { status } => push("set_status", status.as_str().into()),
                Action::SetPriority { priority } => push("set_priority", priority.as_str().into()),
                Action::SetTeam { team_id } => push(
                    "set_team",
                    team_id.map_or_else(|| "none".into(), |t| t.to_string()),
                ),
                Action::AddTag { tag } => add.push(tag.as_str().to_owned()),
                Action::RemoveTag { tag } => remove.push(tag.as_str().to_owned()),
                Action::AddNote { text } => push("note", text.clone()),
                Action::SendReply { body_de, body_en } => {
                    push("reply_de", body_de.clone());
                    push("reply_en", body_en.clone());
                }
                Action::CreatePromise {
                    what,
                    due_in_minutes,
                } => {
                    push("promise_what", what.clone());
                    push(
                        "promise_due",
                        super::sla_admin::show_minutes(*due_in_minutes),
                    );
                }
                Action::Webhook { url, secret } => {
                    push("webhook", url.clone());
                    push("webhook_secret", secret.clone());
                }
            }
        }
        push("add_tags", add.join(", "));
        push("remove_tags", remove.join(", "));
        if let Some(i) = rules.iter().position(|x| x.id == r.id) {
            push("position", (i + 1).to_string());
        }
    }
    let fields = match form {
        Some(f) => f.clone(),
        None if current.is_some() => Fields(from),
        None => Fields(vec![
            ("active".into(), "1".into()),
            ("type".into(), "trigger".into()),
            ("since".into(), "status_changed".into()),
        ]),
    };
    let picked = |key: &str, value: &str| fields.all(key).iter().any(|x| x == value);
    let choice = |key: &str, value: String, label: String| Choice {
        selected: picked(key, &value),
        value,
        label,
    };
    let with_none = |key: &str, none: String, items: Vec<(String, String)>| {
        let mut out = vec![Choice {
            selected: fields.get(key).is_empty(),
            value: String::new(),
            label: none,
        }];
        out.extend(items.into_iter().map(|(v, l)| choice(key, v, l)));
        out
    };
    let statuses: Vec<(String, String)> = CaseStatus::ALL
        .iter()
        .map(|x| (x.as_str().to_owned(), t.status(*x)))
        .collect();
    let priorities: Vec<(String, String)> = Priority::ALL
        .iter()
        .rev()
        .map(|x| (x.as_str().to_owned(), t.priority(*x)))
        .collect();
    let team_items: Vec<(String, String)> = teams
        .iter()
        .map(|x| (x.id.to_string(), x.name.clone()))
        .collect();
    let mut set_team_items = vec![("none".to_owned(), t.s("auto-no-team"))];
    set_team_items.extend(team_items.iter().cloned());
    let (dry, dry_summary) = match dry {
        Some((cases, n)) => {
            let summary = t.args(
                "auto-dry-summary",
                &[
                    ("count", cases.len().to_string()),
                    ("looked", n.to_string()),
                ],
            );
            (Some(cases), summary)
        }
        None => (None, String::new()),
    };
    let f = frame(state, s, "").await?;
    Ok(render(&AutomationsPage {
        rows,
        editing: editing
            .filter(|_| current.is_some())
            .map(|id| id.to_string()),
        error,
        dry,
        dry_summary,
        name: fields.get("name"),
        position: fields.get("position"),
        active: fields.on("active"),
        timer: fields.get("type") == "timer",
        happenings: HAPPENINGS
            .iter()
            .map(|o| {
                choice(
                    "on",
                    on_key(*o).into(),
                    t.s(&format!("auto-on-{}", on_key(*o).replace('_', "-"))),
                )
            })
            .collect(),
        since: [Since::StatusChanged, Since::Created, Since::Updated]
            .iter()
            .map(|x| {
                choice(
                    "since",
                    x.as_str().into(),
                    t.s(&format!("auto-since-{}", x.as_str().replace('_', "-"))),
                )
            })
            .collect(),
        after: fields.get("after"),
        statuses: statuses
            .iter()
            .cloned()
            .map(|(v, l)| choice("status", v, l))
            .collect(),
        priorities: priorities
            .iter()
            .cloned()
            .map(|(v, l)| choice("priority", v, l))
            .collect(),
        teams: team_items
            .iter()
            .cloned()
            .map(|(v, l)| choice("team", v, l))
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|c| choice("channel", c.as_str().into(), t.channel(*c)))
            .collect(),
        tiers: fields.get("tiers"),
        has_tag: fields.get("has_tag"),
        lacks_tag: fields.get("lacks_tag"),
        assigned: with_none(
            "assigned",
            t.s("auto-any"),
            vec![("yes".into(), t.s("yes")), ("no".into(), t.s("no"))],
        ),
        words: fields.get("words"),
        set_status: with_none("set_status", t.s("auto-keep"), statuses),
        set_priority: with_none("set_priority", t.s("auto-keep"), priorities),
        set_team: with_none("set_team", t.s("auto-keep"), set_team_items),
        add_tags: fields.get("add_tags"),
        remove_tags: fields.get("remove_tags"),
        note: fields.get("note"),
        reply_de: fields.get("reply_de"),
        reply_en: fields.get("reply_en"),
        promise_what: fields.get("promise_what"),
        promise_due: fields.get("promise_due"),
        webhook: fields.get("webhook"),
        webhook_secret: fields.get("webhook_secret"),
        f,
    }))
}

/// The automations page.
pub(crate) async fn list(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    page(&state, &s, None, None, None, None).await
}

/// One rule in the form.
pub(crate) async fn edit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| UiError::not_found())?;
    page(&state, &s, Some(id), None, None, None).await
}

/// Saves the rule in the form, or (the dry-run button) lists what it would touch.
pub(crate) async fn save(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let editing = uuid::Uuid::parse_str(&f.get("id")).ok();
    let mut rules = anliegen_store::automation::rules(state.store()).await?;
    let existing = editing.and_then(|id| rules.iter().position(|r| r.id == id));
    let kept: Vec<Condition> = existing
        .and_then(|i| rules.get(i))
        .map(|r| {
            r.conditions
                .iter()
                .filter(|c| !in_form(c))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let id = existing.and(editing).unwrap_or_else(uuid::Uuid::now_v7);
    let editing = existing.and(editing);
    let rule = match rule_of(&f, id, kept) {
        Ok(r) => r,
        Err(e) => {
            return Ok(unprocessable(
                page(&state, &s, editing, Some(&f), Some(e), None).await?,
            ));
        }
    };
    if f.on("dry_run") {
        let (cases, looked) =
            anliegen_store::automation::dry_run(state.store(), &rule, 100).await?;
        let t = s.tr();
        let touched = cases
            .into_iter()
            .filter(|c| super::can_see(&s.auth.agent, c))
            .map(|c| Touched {
                reference: c.reference.to_string(),
                subject: c.subject,
                status: t.status(c.status),
            })
            .collect();
        return page(&state, &s, editing, Some(&f), None, Some((touched, looked))).await;
    }
    let at = existing.unwrap_or(rules.len());
    if existing.is_some() {
        rules.remove(at);
    }
    let position = f
        .get("position")
        .trim()
        .parse::<usize>()
        .ok()
        .map(|p| p.saturating_sub(1))
        .unwrap_or(at)
        .min(rules.len());
    rules.insert(position, rule);
    if let Err(e) = validate_all(&rules) {
        return Ok(unprocessable(
            page(&state, &s, editing, Some(&f), Some(e.message), None).await?,
        ));
    }
    match crate::api::automations::check_and_save(&state, s.auth.actor(), &mut rules).await {
        Ok(()) => Ok(Redirect::to("/admin/automations").into_response()),
        Err(e) if e.status().is_client_error() => Ok(unprocessable(
            page(
                &state,
                &s,
                editing,
                Some(&f),
                Some(e.detail().to_owned()),
                None,
            )
            .await?,
        )),
        Err(e) => Err(UiError::new(e.status(), "error-server")),
    }
}

/// Removes a rule.
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
    let mut rules = anliegen_store::automation::rules(state.store()).await?;
    let before = rules.len();
    rules.retain(|r| r.id != id);
    if rules.len() == before {
        return Err(UiError::not_found());
    }
    crate::api::automations::check_and_save(&state, s.auth.actor(), &mut rules)
        .await
        .map_err(|e| UiError::new(e.status(), "error-server"))?;
    Ok(Redirect::to("/admin/automations").into_response())
}
