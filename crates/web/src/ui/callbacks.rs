//! The call-back list: open call-back requests ordered by their window, with the number to
//! dial, the case and who calls back; missed windows first and marked.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

struct Row {
    reference: String,
    window: String,
    phone: String,
    what: String,
    owner: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "callbacks.html")]
struct Page {
    f: Frame,
    rows: Vec<Row>,
}

pub(crate) async fn list(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    let store = state.store();
    let now = store.now();
    let tz = s.tz();
    let names: std::collections::HashMap<anliegen_core::AgentId, String> = store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let fmt = |t: jiff::Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%d.%m. %H:%M")
            .to_string()
    };
    let mut rows = Vec::new();
    for p in store.callbacks(500).await? {
        let Some(case) = store.case(p.case_id).await? else {
            continue;
        };
        if !super::can_see(&s.auth.agent, &case) {
            continue;
        }
        rows.push(Row {
            reference: case.reference.to_string(),
            window: format!(
                "{} – {}",
                p.window_from.map(fmt).unwrap_or_default(),
                fmt(p.due_at)
            ),
            phone: p.phone.clone().unwrap_or_default(),
            what: case.subject.clone(),
            owner: names.get(&p.owner_id).cloned().unwrap_or_default(),
            overdue: p.due_at <= now,
        });
    }
    let f = frame(&state, &s, "callbacks").await?;
    Ok(render(&Page { f, rows }))
}
