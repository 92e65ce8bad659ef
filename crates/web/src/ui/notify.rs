//! Agents' notifications: the in-app list, marking read, per-agent settings, and the text of
//! notification mails.

use anliegen_core::Case;
use anliegen_store::{NOTIFICATION_KINDS, Notification, NotificationSettings};
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{Lang, Tr};
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

pub(crate) struct Row {
    pub id: String,
    pub text: String,
    pub excerpt: String,
    pub time: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    f: Frame,
    rows: Vec<Row>,
}

/// The sentence for a notification: "Jana Becker hat Ihnen A-10042 zugewiesen: Preis falsch".
pub fn sentence(t: &Tr, n: &Notification, case: Option<&Case>) -> String {
    let (reference, subject) = case
        .map(|c| (c.reference.to_string(), c.subject.clone()))
        .unwrap_or_default();
    // SLA notifications carry `warning:<metric>` or `breached:<metric>`.
    if n.kind == "sla" {
        let (what, metric) = n.excerpt.split_once(':').unwrap_or(("warning", ""));
        let what = if what == "breached" {
            "breached"
        } else {
            "warning"
        };
        return t.args(
            &format!("notify-sla-{what}"),
            &[
                ("metric", t.s(&format!("sla-{}", metric.replace('_', "-")))),
                ("reference", reference),
                ("subject", subject),
            ],
        );
    }
    t.args(
        &format!("notify-{}", n.kind.replace('_', "-")),
        &[
            ("actor", n.actor.clone()),
            ("reference", reference),
            ("subject", subject),
        ],
    )
}

/// Subject and body of a notification mail in the agent's language; `base` is the address
/// agents reach Anliegen at.
pub fn mail_text(
    lang: &str,
    n: &Notification,
    case: Option<&Case>,
    base: &str,
) -> (String, String) {
    let t = Tr {
        lang: Lang::parse(lang).unwrap_or(Lang::De),
    };
    let line = sentence(&t, n, case);
    let subject = format!("[Anliegen] {line}");
    let mut body = format!("{line}\n");
    if !n.excerpt.is_empty() && n.kind != "sla" {
        body.push_str(&format!("\n„{}“\n", n.excerpt));
    }
    if let Some(c) = case {
        body.push_str(&format!(
            "\n{}/cases/{}\n",
            base.trim_end_matches('/'),
            c.reference
        ));
    }
    body.push_str(&format!("\n-- \n{}\n", t.s("notify-mail-footer")));
    (subject, body)
}

pub(crate) async fn list(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    let t = s.tr();
    let now = state.store().now();
    let tz = s.tz();
    let mut rows = Vec::new();
    for n in state.store().notifications(s.auth.agent.id, 100).await? {
        let case = match n.case_id {
            Some(id) => state.store().case(id).await?,
            None => None,
        };
        // Access can end after a notification was made (another team now).
        if n.case_id.is_some()
            && !case
                .as_ref()
                .is_some_and(|c| super::can_see(&s.auth.agent, c))
        {
            continue;
        }
        rows.push(Row {
            id: n.id.to_string(),
            text: sentence(&t, &n, case.as_ref()),
            excerpt: if n.kind == "sla" {
                String::new()
            } else {
                n.excerpt.clone()
            },
            time: t.time(n.created_at, now, &tz),
            unread: n.read_at.is_none(),
        });
    }
    let f = frame(&state, &s, "notifications").await?;
    Ok(render(&ListPage { f, rows }))
}

/// Marks one notification read and opens its case (`POST /notifications/{id}`), or all read
/// (`POST /notifications/read`).
pub(crate) async fn open(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    let csrf = form_urlencoded::parse(&raw)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    s.check_csrf(&csrf)?;
    if id == "read" {
        state
            .store()
            .mark_read(s.auth.agent.id, None, state.store().now())
            .await?;
        return Ok(Redirect::to("/notifications").into_response());
    }
    let id = uuid::Uuid::parse_str(&id).map_err(|_| UiError::not_found())?;
    let n = state
        .store()
        .notification(id)
        .await?
        .filter(|n| n.agent_id == s.auth.agent.id)
        .ok_or_else(UiError::not_found)?;
    state
        .store()
        .mark_read(s.auth.agent.id, Some(id), state.store().now())
        .await?;
    let to = match n.case_id {
        Some(c) => match state.store().case(c).await? {
            Some(case) => format!("/cases/{}", case.reference),
            None => "/notifications".into(),
        },
        None => "/notifications".into(),
    };
    Ok(Redirect::to(&to).into_response())
}

pub(crate) struct KindRow {
    pub kind: &'static str,
    pub label: String,
    pub in_app: bool,
    pub email: bool,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    f: Frame,
    kinds: Vec<KindRow>,
    saved: bool,
}

fn kind_rows(t: &Tr, s: &NotificationSettings) -> Vec<KindRow> {
    NOTIFICATION_KINDS
        .iter()
        .map(|k| KindRow {
            kind: k,
            label: t.s(&format!("notify-kind-{}", k.replace('_', "-"))),
            in_app: s.in_app.iter().any(|x| x == k),
            email: s.email.iter().any(|x| x == k),
        })
        .collect()
}

pub(crate) async fn settings(
    State(state): State<AppState>,
    s: Session,
) -> Result<Response, UiError> {
    let current = state.store().notification_settings(s.auth.agent.id).await?;
    let f = frame(&state, &s, "notifications").await?;
    Ok(render(&SettingsPage {
        kinds: kind_rows(&s.tr(), &current),
        f,
        saved: false,
    }))
}

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    s.check_csrf(&get("csrf").join(""))?;
    let known = |v: &String| NOTIFICATION_KINDS.contains(&v.as_str());
    let new = NotificationSettings {
        in_app: get("in_app").into_iter().filter(known).collect(),
        email: get("email").into_iter().filter(known).collect(),
    };
    state
        .store()
        .save_notification_settings(s.auth.agent.id, &new)
        .await?;
    let f = frame(&state, &s, "notifications").await?;
    Ok(render(&SettingsPage {
        kinds: kind_rows(&s.tr(), &new),
        f,
        saved: true,
    }))
}
