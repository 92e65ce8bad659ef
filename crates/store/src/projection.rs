//! Projections follow the event log by sequence number from a stored checkpoint, each on its
//! own, and catch up by themselves after a crash. They are disposable: `reset` + catch-up
//! rebuilds one from the log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Event, EventKind};
use tokio::sync::watch;

use crate::Store;
use crate::error::Result;

/// Events read per step.
const STEP: i64 = 1000;

/// How long a follower gathers commits before it applies them.
const COALESCE: Duration = Duration::from_millis(50);

/// A read model kept from the event log.
#[async_trait::async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name (checkpoint key).
    fn name(&self) -> &'static str;
    /// Applies `events` (in order) and records `upto` as the new checkpoint. Must be safe to
    /// call again with events it has already seen (after a crash between effect and checkpoint)
    /// or, better, store effect and checkpoint atomically.
    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()>;
    /// Forgets everything so the next run rebuilds from the start of the log.
    async fn reset(&self, store: &Store) -> Result<()>;
}

/// Counters kept from the log: cases by status, contacts by channel and direction, customers.
/// Counts and checkpoint commit together, so a crash never double-counts.
pub struct Stats;

impl Stats {
    /// Checkpoint name.
    pub const NAME: &'static str = "stats";

    fn deltas(events: &[Event]) -> HashMap<String, i64> {
        let mut d: HashMap<String, i64> = HashMap::new();
        let mut add = |k: String, n: i64| *d.entry(k).or_default() += n;
        for e in events {
            match &e.kind {
                EventKind::CaseOpened { .. } => {
                    add("cases.opened".into(), 1);
                    add("cases.status.new".into(), 1);
                }
                EventKind::StatusChanged { from, to } => {
                    add(format!("cases.status.{from}"), -1);
                    add(format!("cases.status.{to}"), 1);
                }
                EventKind::CaseReopened { .. } => add("cases.reopened".into(), 1),
                EventKind::ContactAdded {
                    channel, direction, ..
                } => add(
                    format!("contacts.{}.{}", channel.as_str(), direction.as_str()),
                    1,
                ),
                EventKind::CustomerCreated { .. } => add("customers".into(), 1),
                EventKind::CustomerMerged { source, .. } if e.customer_id == Some(*source) => {
                    add("customers".into(), -1)
                }
                _ => {}
            }
        }
        d.retain(|_, v| *v != 0);
        d
    }
}

#[async_trait::async_trait]
impl Projection for Stats {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        store
            .apply_stat_deltas(
                Self::NAME,
                &Self::deltas(events),
                events.first().map(|e| e.seq).unwrap_or(upto),
                upto,
                store.now(),
            )
            .await
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        store.reset_stats(Self::NAME, store.now()).await
    }
}

/// Applies whatever the projection has not seen yet; returns how many events it applied.
pub async fn catch_up(store: &Store, projection: &dyn Projection) -> Result<usize> {
    let mut total = 0;
    loop {
        let from = store.checkpoint(projection.name()).await?;
        let events = store.follow_log(from, STEP).await?;
        let Some(last) = events.last() else {
            return Ok(total);
        };
        let upto = last.seq;
        let t = std::time::Instant::now();
        projection.apply(store, &events, upto).await?;
        metrics::histogram!("anliegen_projection_apply_seconds", "projection" => projection.name())
            .record(t.elapsed().as_secs_f64());
        total += events.len();
        if (events.len() as i64) < STEP {
            return Ok(total);
        }
    }
}

/// Lag of a projection: committed events it has not applied yet.
pub async fn lag(store: &Store, name: &str) -> Result<i64> {
    let last = store.last_seq().await?;
    let at = store.checkpoint(name).await?;
    Ok((last - at).max(0))
}

/// Follows the log until `shutdown` turns true: wakes on every commit of this node, and at
/// least every `poll` for commits of other nodes. Errors are logged and retried.
pub async fn follow(
    store: Store,
    projection: Arc<dyn Projection>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = store.commits();
    loop {
        if *shutdown.borrow() {
            return;
        }
        match catch_up(&store, &*projection).await {
            Ok(_) => {}
            Err(e) => {
                tracing::error!(projection = projection.name(), error = %e, "projection step failed; retrying")
            }
        }
        tokio::select! {
            _ = commits.changed() => {
                // Under load, commits come every few milliseconds: gather them for a moment so the
                // projection writes once per burst, not once per commit.
                tokio::time::sleep(COALESCE).await;
            }
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Agents' notifications from the log: assigned to you (by someone else), mentioned in an
/// internal note (`@jana` — the address's local part or a unique first name), a customer replied
/// on your case. Each agent's settings choose the app and/or mail (a `notify.mail` job, enqueued
/// with the rows and the checkpoint in one transaction).
pub struct Notifications;

impl Notifications {
    /// Checkpoint name.
    pub const NAME: &'static str = "notifications";
    /// Job kind of notification mails (payload `{"notification": id}`).
    pub const MAIL_JOB: &'static str = "notify.mail";
}

/// The `@names` in a text, lowercased.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('@') {
        // An address (`x@y`) is not a mention: the `@` must start a word.
        let before = text.get(..i).and_then(|b| b.chars().last());
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            continue;
        }
        let name: String = text
            .get(i + 1..)
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '.' || *c == '_' || *c == '-')
            .collect();
        let name = name.trim_end_matches(['.', '-', '_']).to_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[async_trait::async_trait]
impl Projection for Notifications {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        use anliegen_core::{Actor, Direction, Visibility};
        let mut rows: Vec<crate::Notification> = Vec::new();
        let agents = store.agents().await?;
        let name_of = |actor: &Actor| match actor {
            Actor::Agent { id } => agents
                .iter()
                .find(|a| a.id == *id)
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            Actor::Customer { .. } => "customer".to_owned(),
            _ => "Anliegen".to_owned(),
        };
        let mut push = |agent: anliegen_core::AgentId, kind: &str, e: &Event, excerpt: String| {
            if !rows.iter().any(|r| {
                r.agent_id == agent && r.kind == kind && r.case_id == e.case_id && r.seq == e.seq
            }) {
                rows.push(crate::Notification {
                    id: uuid::Uuid::now_v7(),
                    agent_id: agent,
                    kind: kind.to_owned(),
                    case_id: e.case_id,
                    actor: name_of(&e.actor),
                    excerpt,
                    seq: e.seq,
                    created_at: e.at,
                    read_at: None,
                });
            }
        };
        // What the step reads, read once: the cases and contacts its events name.
        let mut case_ids = Vec::new();
        let mut contact_ids = Vec::new();
        for e in events {
            match &e.kind {
                EventKind::AssigneeChanged { to: Some(_), .. }
                | EventKind::CaseEscalated { .. }
                | EventKind::SlaWarning { .. }
                | EventKind::SlaBreached { .. }
                | EventKind::PromiseDueSoon { .. }
                | EventKind::PromiseOverdue { .. } => case_ids.extend(e.case_id),
                EventKind::ContactAdded { contact_id, .. } => {
                    case_ids.extend(e.case_id);
                    contact_ids.push(*contact_id);
                }
                _ => {}
            }
        }
        case_ids.sort();
        case_ids.dedup();
        let cases = crate::keyed(store.cases_by_ids(&case_ids).await?, |c| c.id);
        let contacts = crate::keyed(store.contacts_by_ids(&contact_ids).await?, |c| c.id);
        for e in events {
            match &e.kind {
                EventKind::AssigneeChanged { to: Some(to), .. }
                    if e.actor != (Actor::Agent { id: *to }) =>
                {
                    push(*to, "assigned", e, String::new());
                }
                // Supervisors and admins hear of every escalation, with its reason.
                EventKind::CaseEscalated {
                    trigger,
                    tier,
                    notify_supervisors: true,
                    ..
                } => {
                    let why = format!("{tier}: {}", trigger.describe(anliegen_core::Language::De));
                    for a in agents
                        .iter()
                        .filter(|a| a.active && a.role.includes(anliegen_core::Role::Supervisor))
                    {
                        if e.actor != (Actor::Agent { id: a.id }) {
                            push(a.id, "escalated", e, excerpt(&why));
                        }
                    }
                }
                // The assignee hears when an SLA target is about to run out, and when it did.
                EventKind::SlaWarning { metric, .. } | EventKind::SlaBreached { metric, .. } => {
                    let Some(case_id) = e.case_id else { continue };
                    if let Some(case) = cases.get(&case_id)
                        && let Some(a) = case.assignee_id
                    {
                        let what = match &e.kind {
                            EventKind::SlaBreached { .. } => "breached",
                            _ => "warning",
                        };
                        push(a, "sla", e, format!("{what}:{metric}"));
                    }
                }
                // The owner of a promise hears before it is due, and when it went overdue.
                EventKind::PromiseDueSoon { owner_id, what, .. }
                | EventKind::PromiseOverdue { owner_id, what, .. } => {
                    push(*owner_id, "reminder", e, excerpt(what));
                }
                EventKind::ContactAdded {
                    contact_id,
                    direction,
                    visibility,
                    ..
                } => {
                    let Some(case_id) = e.case_id else { continue };
                    if *direction == Direction::Inbound && *visibility == Visibility::Public {
                        // The assignee when the customer wrote, not now: a later assignment in
                        // this step (the case's first message, assigned afterwards) is undone.
                        let later = events.iter().find_map(|l| match &l.kind {
                            EventKind::AssigneeChanged { from, .. }
                                if l.seq > e.seq && l.case_id == Some(case_id) =>
                            {
                                Some(*from)
                            }
                            _ => None,
                        });
                        let assignee = match later {
                            Some(from) => from,
                            None => cases.get(&case_id).and_then(|c| c.assignee_id),
                        };
                        if let Some(a) = assignee {
                            let text = contacts
                                .get(contact_id)
                                .map(|c| excerpt(&c.text))
                                .unwrap_or_default();
                            push(a, "customer_replied", e, text);
                        }
                    } else if *visibility == Visibility::Internal
                        && let Some(c) = contacts.get(contact_id)
                        && !matches!(c.author, anliegen_core::Author::System)
                    {
                        for m in mentions(&c.text) {
                            let by_local: Vec<_> = agents
                                .iter()
                                .filter(|a| {
                                    a.active
                                        && a.email
                                            .as_str()
                                            .split('@')
                                            .next()
                                            .is_some_and(|l| l.eq_ignore_ascii_case(&m))
                                })
                                .collect();
                            let by_first: Vec<_> = agents
                                .iter()
                                .filter(|a| {
                                    a.active
                                        && a.name
                                            .split_whitespace()
                                            .next()
                                            .is_some_and(|f| f.to_lowercase() == m)
                                })
                                .collect();
                            let who = if by_local.len() == 1 {
                                by_local.first().map(|a| a.id)
                            } else if by_first.len() == 1 {
                                by_first.first().map(|a| a.id)
                            } else {
                                None
                            };
                            if let Some(id) = who
                                && e.actor != (Actor::Agent { id })
                            {
                                push(id, "mentioned", e, excerpt(&c.text));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // Each agent's choices: rows for the app, jobs for mail.
        let mut kept = Vec::new();
        let mut jobs = Vec::new();
        let mut settings: HashMap<anliegen_core::AgentId, crate::NotificationSettings> =
            HashMap::new();
        // A replay (rebuild) does not mail old news again.
        let fresh_since = store
            .now()
            .checked_sub(jiff::SignedDuration::from_hours(1))
            .unwrap_or(store.now());
        for r in rows {
            // Nobody hears of a case they may not see (a mention on another team's case).
            if let Some(case_id) = r.case_id {
                let Some(agent) = agents.iter().find(|a| a.id == r.agent_id) else {
                    continue;
                };
                if !cases
                    .get(&case_id)
                    .is_some_and(|c| anliegen_core::agent::can_see(agent, c))
                {
                    continue;
                }
            }
            let s = match settings.entry(r.agent_id) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(store.notification_settings(r.agent_id).await?)
                }
            };
            if s.email.contains(&r.kind) && r.created_at >= fresh_since {
                let mut job =
                    crate::NewJob::new(Self::MAIL_JOB, serde_json::json!({ "notification": r.id }));
                job.dedupe_key = Some(format!("notify:{}", r.id));
                jobs.push(job);
            }
            // A mail needs the row to render from; without in-app it is stored read.
            if s.in_app.contains(&r.kind) {
                kept.push(r);
            } else if s.email.contains(&r.kind) {
                kept.push(crate::Notification {
                    read_at: Some(r.created_at),
                    ..r
                });
            }
        }
        store
            .apply_notifications(
                Self::NAME,
                &kept,
                &jobs,
                events.first().map(|e| e.seq).unwrap_or(upto),
                upto,
                store.now(),
            )
            .await
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        store.reset_notifications(Self::NAME, store.now()).await
    }
}

fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(160).collect();
    if one_line.chars().count() > 160 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_are_words_after_an_at() {
        assert_eq!(
            mentions("@jana bitte prüfen, cc @Mehmet."),
            vec!["jana", "mehmet"]
        );
        assert_eq!(mentions("Mail an kunde@example.de"), Vec::<String>::new());
        assert_eq!(mentions("@jana.becker: schau mal"), vec!["jana.becker"]);
        assert_eq!(mentions("@ allein"), Vec::<String>::new());
    }
}
