//! Live updates for the workspace over Server-Sent Events, and presence (who is viewing or
//! typing on a case).
//!
//! One task per node follows the event log (by sequence number, like every projection) while
//! anyone listens, and fans each event out to the open streams: queue pages refresh, case pages
//! fetch what changed. Presence is kept in memory on the node that serves the case page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use anliegen_core::{AgentId, CaseId};
use anliegen_store::Store;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::{Session, UiError};
use crate::AppState;

/// How long a presence lasts without a heartbeat.
const PRESENCE_TTL: Duration = Duration::from_secs(30);
/// How often an open stream checks that its session still holds.
const SESSION_CHECK: Duration = Duration::from_secs(30);
/// How often the log is read while someone listens.
const POLL: Duration = Duration::from_millis(250);
/// How many events a new stream reads to learn whether its page is already out of date.
const CATCH_UP: i64 = 1000;

/// What the streams carry.
#[derive(Debug, Clone)]
pub enum LiveMsg {
    /// Something happened (on a case, when `case` is set).
    Event {
        /// Its sequence number.
        seq: i64,
        /// The case it concerns.
        case: Option<CaseId>,
        /// Its type name.
        kind: &'static str,
    },
    /// Who is on a case now changed.
    Presence {
        /// The case.
        case: CaseId,
    },
}

#[derive(Debug, Clone)]
struct Here {
    name: String,
    typing: bool,
    at: Instant,
}

/// The node's live hub.
pub struct Live {
    tx: broadcast::Sender<LiveMsg>,
    presence: Mutex<HashMap<CaseId, HashMap<AgentId, Here>>>,
    /// The newest event handed to the streams; -1 while the hub does not follow the log.
    position: AtomicI64,
}

impl Live {
    /// A hub that follows `store`'s event log while anyone listens.
    pub fn start(store: Store) -> Arc<Self> {
        let (tx, _) = broadcast::channel(1024);
        let live = Arc::new(Self {
            tx,
            presence: Mutex::new(HashMap::new()),
            position: AtomicI64::new(-1),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(follow(Arc::downgrade(&live), store));
        }
        live
    }

    /// Subscribes to everything.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveMsg> {
        self.tx.subscribe()
    }

    fn set_presence(&self, case: CaseId, agent: AgentId, name: &str, state: &str) {
        {
            let mut map = self.presence.lock().unwrap_or_else(|e| e.into_inner());
            let here = map.entry(case).or_default();
            if state == "left" {
                here.remove(&agent);
            } else {
                here.insert(
                    agent,
                    Here {
                        name: name.to_owned(),
                        typing: state == "typing",
                        at: Instant::now(),
                    },
                );
            }
            here.retain(|_, h| h.at.elapsed() < PRESENCE_TTL);
            if here.is_empty() {
                map.remove(&case);
            }
        }
        let _ = self.tx.send(LiveMsg::Presence { case });
    }

    /// The others on `case`: names and whether they are typing.
    pub fn others(&self, case: CaseId, me: AgentId) -> Vec<(String, bool)> {
        let map = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(String, bool)> = map
            .get(&case)
            .map(|here| {
                here.iter()
                    .filter(|(a, h)| **a != me && h.at.elapsed() < PRESENCE_TTL)
                    .map(|(_, h)| (h.name.clone(), h.typing))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// Follows the event log while the hub lives; reads only while someone listens.
async fn follow(live: Weak<Live>, store: Store) {
    let mut last: Option<i64> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let Some(hub) = live.upgrade() else { return };
        if hub.tx.receiver_count() == 0 {
            last = None;
            hub.position.store(-1, Ordering::Release);
            continue;
        }
        let from = match last {
            Some(l) => l,
            None => match store.last_seq().await {
                Ok(l) => {
                    last = Some(l);
                    hub.position.store(l, Ordering::Release);
                    continue;
                }
                Err(_) => continue,
            },
        };
        match store.follow_log(from, 1000).await {
            Ok(events) => {
                for e in events {
                    last = Some(e.seq);
                    let _ = hub.tx.send(LiveMsg::Event {
                        seq: e.seq,
                        case: e.case_id,
                        kind: e.kind.type_name(),
                    });
                    // After the send: a stream that reads this position and subscribed before
                    // has this event on its receiver, or reads it from the store.
                    hub.position.store(e.seq, Ordering::Release);
                }
            }
            Err(e) => tracing::debug!(error = %e, "live: reading the event log failed"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamQuery {
    case: Option<String>,
    /// The newest event the page had seen when it was rendered (`data-since`).
    since: Option<i64>,
}

/// Whether anything the stream reports happened after `since`: events up to the hub's position
/// are read from the store (they reached the hub before this stream subscribed, or while it
/// did not follow), newer ones arrive through the subscription. Waits for the hub to follow.
async fn missed(state: &AppState, live: &Live, case: Option<CaseId>, since: i64) -> bool {
    let mut position = live.position.load(Ordering::Acquire);
    for _ in 0..40 {
        if position >= 0 {
            break;
        }
        tokio::time::sleep(POLL / 5).await;
        position = live.position.load(Ordering::Acquire);
    }
    if position < 0 {
        // The hub does not follow (the store is unreadable): better one refresh too many.
        return true;
    }
    if position <= since {
        return false;
    }
    match state.store().events_after(since, CATCH_UP).await {
        Ok(events) => {
            events.len() as i64 >= CATCH_UP
                || events.iter().any(|e| {
                    e.seq <= position
                        && match case {
                            Some(mine) => e.case_id == Some(mine),
                            None => e.case_id.is_some(),
                        }
                })
        }
        Err(_) => true,
    }
}

/// `GET /live`: the event stream of a queue page (any case) or a case page (`?case=A-10042`).
pub(crate) async fn stream(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<StreamQuery>,
) -> Result<Response, UiError> {
    let case = match q.case.as_deref() {
        Some(raw) => Some(super::case::visible_case(&state, &s, raw).await?.id),
        None => None,
    };
    let rx = state.live().subscribe();
    let me = s.auth.agent.id;
    let live = state.live().clone();
    // Subscribed first, then asked what the page missed: nothing falls between the two.
    let stale = match q.since {
        Some(since) => missed(&state, &live, case, since).await,
        None => false,
    };
    let name = if case.is_some() { "case" } else { "queue" };
    let catch_up = stale.then(|| Event::default().event(name).data("{}"));
    let first: Vec<Event> = catch_up
        .into_iter()
        .chain(case.map(|c| presence_event(&live, c, me)))
        .collect();
    // The stream ends with the session (signed out, expired, revoked, agent deactivated).
    let (token, st) = (s.auth.token.id, state.clone());
    let ended = async move {
        loop {
            tokio::time::sleep(SESSION_CHECK).await;
            let now = st.store().now();
            let alive = match st.store().tokens(Some(me)).await {
                Ok(ts) => ts.iter().any(|t| {
                    t.id == token && t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now)
                }),
                Err(_) => true,
            };
            let active = match st.store().agent(me).await {
                Ok(a) => a.is_some_and(|a| a.active),
                Err(_) => true,
            };
            if !alive || !active {
                return;
            }
        }
    };
    let stream = futures::StreamExt::take_until(events(rx, live, case, me, first), Box::pin(ended));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn presence_event(live: &Live, case: CaseId, me: AgentId) -> Event {
    let others: Vec<serde_json::Value> = live
        .others(case, me)
        .into_iter()
        .map(|(name, typing)| serde_json::json!({ "name": name, "typing": typing }))
        .collect();
    Event::default()
        .event("presence")
        .data(serde_json::Value::Array(others).to_string())
}

fn events(
    rx: broadcast::Receiver<LiveMsg>,
    live: Arc<Live>,
    case: Option<CaseId>,
    me: AgentId,
    first: Vec<Event>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first: std::collections::VecDeque<Event> = first.into();
    futures::stream::unfold(
        (rx, live, first),
        move |(mut rx, live, mut first)| async move {
            if let Some(ev) = first.pop_front() {
                return Some((Ok(ev), (rx, live, first)));
            }
            loop {
                match rx.recv().await {
                    Ok(LiveMsg::Event { seq, case: c, kind }) => {
                        let data = serde_json::json!({ "seq": seq, "kind": kind }).to_string();
                        match case {
                            Some(mine) if c == Some(mine) => {
                                return Some((
                                    Ok(Event::default().event("case").data(data)),
                                    (rx, live, first),
                                ));
                            }
                            Some(_) => {}
                            None if c.is_some() => {
                                return Some((
                                    Ok(Event::default().event("queue").data(data)),
                                    (rx, live, first),
                                ));
                            }
                            None => {}
                        }
                    }
                    Ok(LiveMsg::Presence { case: c }) => {
                        if case == Some(c) {
                            let ev = presence_event(&live, c, me);
                            return Some((Ok(ev), (rx, live, first)));
                        }
                    }
                    // Missed messages: ask the page to refresh everything.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let name = if case.is_some() { "case" } else { "queue" };
                        return Some((
                            Ok(Event::default().event(name).data("{}")),
                            (rx, live, first),
                        ));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PresenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
}

/// `POST /cases/{case}/presence`: viewing, typing or left.
pub(crate) async fn presence(
    State(state): State<AppState>,
    s: Session,
    Path(raw): Path<String>,
    Form(form): Form<PresenceForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    if !matches!(form.state.as_str(), "viewing" | "typing" | "left") {
        return Err(
            UiError::new(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid").with_detail("state"),
        );
    }
    let case = super::case::visible_case(&state, &s, &raw).await?;
    state
        .live()
        .set_presence(case.id, s.auth.agent.id, &s.auth.agent.name, &form.state);
    Ok(StatusCode::NO_CONTENT.into_response())
}
