//! Running automations: the `Triggers` projection (one update cycle per change a person or
//! the customer made, from the event log), the timers (from the timers job, once per case and
//! moment), and the actions themselves — field changes, notes, replies by mail, promises and
//! webhooks (a job of their own, so a receiver that is down never holds anything up).
//!
//! Everything a rule does is written as `Actor::Automation`; such events start no cycle, which
//! together with "each rule once per cycle" is the loop protection.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::automation::{Action, Automation, On, When, cycle};
use anliegen_core::{
    Actor, Case, CaseId, Channel, Direction, Event, EventKind, Language, Visibility,
};
use anliegen_store::jobs::JobHandler;
use anliegen_store::projection::Projection;
use anliegen_store::{
    CasePatch, Command, Job, NewContact, NewJob, Output, Store, StoreError, Write,
};

/// The webhook job.
pub const WEBHOOK_JOB: &str = "automation.webhook";

/// Candidates a timer rule looks at per run (the next run continues).
const TIMER_BATCH: i64 = 500;

/// Runs trigger rules from the log. On PostgreSQL the nodes take turns and skip what another
/// applied, so a rule fires once per change however many nodes run.
pub struct Triggers;

impl Triggers {
    /// Checkpoint name.
    pub const NAME: &'static str = "automations";
}

/// What an event means to triggers.
fn happening(e: &Event, opened: bool) -> Option<On> {
    Some(match &e.kind {
        EventKind::CaseOpened { .. } => On::CaseOpened,
        EventKind::ContactAdded {
            direction: Direction::Inbound,
            ..
        } if !opened => On::CustomerReplied,
        EventKind::ContactAdded {
            direction: Direction::Outbound,
            visibility: Visibility::Public,
            ..
        } if matches!(e.actor, Actor::Agent { .. }) => On::AgentReplied,
        EventKind::ContactAdded {
            visibility: Visibility::Internal,
            ..
        } => On::NoteAdded,
        EventKind::StatusChanged { .. } => On::StatusChanged,
        EventKind::PriorityChanged { .. } => On::PriorityChanged,
        EventKind::TeamChanged { .. } => On::TeamChanged,
        EventKind::AssigneeChanged { .. } => On::AssigneeChanged,
        EventKind::TagsChanged { .. } => On::TagsChanged,
        EventKind::SlaWarning { .. } => On::SlaWarning,
        EventKind::SlaBreached { .. } => On::SlaBreached,
        EventKind::PromiseOverdue { .. } => On::PromiseOverdue,
        EventKind::CaseEscalated { .. } => On::CaseEscalated,
        _ => return None,
    })
}

#[async_trait::async_trait]
impl Projection for Triggers {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(
        &self,
        store: &Store,
        events: &[Event],
        upto: i64,
    ) -> anliegen_store::Result<()> {
        let turn = store.turn("projection:automations").await?;
        let done = store.checkpoint(Self::NAME).await?;
        let fresh: Vec<&Event> = events.iter().filter(|e| e.seq > done).collect();
        let result = if fresh.is_empty() {
            Ok(())
        } else {
            apply_turn(store, &fresh, upto).await
        };
        turn.end().await;
        result
    }

    async fn reset(&self, store: &Store) -> anliegen_store::Result<()> {
        // Replaying would run rules on old changes again: only the checkpoint moves.
        let last = store.last_seq().await?;
        store.set_checkpoint(Self::NAME, last, store.now()).await
    }
}

async fn apply_turn(store: &Store, events: &[&Event], upto: i64) -> anliegen_store::Result<()> {
    let rules = anliegen_store::automation::rules(store).await?;
    let triggers: Vec<Automation> = rules
        .into_iter()
        .filter(|r| r.active && matches!(r.when, When::Trigger { .. }))
        .collect();
    if !triggers.is_empty() {
        let horizon = store.now() - jiff::SignedDuration::from_hours(24);
        // One change is the events one write made for one case: same case, actor and time.
        let mut i = 0;
        while let Some(first) = events.get(i) {
            let mut j = i + 1;
            while events.get(j).is_some_and(|e| {
                e.case_id == first.case_id && e.actor == first.actor && e.at == first.at
            }) {
                j += 1;
            }
            let group = events.get(i..j).unwrap_or_default();
            i = j;
            let Some(case_id) = first.case_id else {
                continue;
            };
            if first.at < horizon || matches!(first.actor, Actor::Automation { .. }) {
                continue;
            }
            if let Err(e) = run_cycle(store, &triggers, case_id, group).await {
                if e.is_domain() {
                    tracing::warn!(case = %case_id, error = %e, "automation cycle skipped");
                } else {
                    return Err(e);
                }
            }
        }
    }
    store
        .set_checkpoint(Triggers::NAME, upto, store.now())
        .await
}

async fn run_cycle(
    store: &Store,
    triggers: &[Automation],
    case_id: CaseId,
    group: &[&Event],
) -> anliegen_store::Result<()> {
    let opened = group
        .iter()
        .any(|e| matches!(e.kind, EventKind::CaseOpened { .. }));
    let happened: BTreeSet<On> = group.iter().filter_map(|e| happening(e, opened)).collect();
    if happened.is_empty() {
        return Ok(());
    }
    let Some(case) = store.case(case_id).await? else {
        return Ok(());
    };
    let mut text = String::new();
    for e in group {
        if let EventKind::ContactAdded {
            contact_id,
            direction: Direction::Inbound,
            ..
        } = &e.kind
            && let Some(c) = store.contact(*contact_id).await?
        {
            text.push_str(
                c.mail
                    .as_ref()
                    .map(|m| m.new_text.as_str())
                    .filter(|t| !t.is_empty())
                    .unwrap_or(&c.text),
            );
            text.push('\n');
        }
    }
    let facts = anliegen_store::automation::facts(store, &case, &text).await?;
    let trigger_event = group.first().map(|e| e.kind.type_name()).unwrap_or("");
    for i in cycle(triggers, &happened, &facts) {
        let Some(rule) = triggers.get(i) else {
            continue;
        };
        execute(store, rule, case_id, trigger_event).await?;
    }
    Ok(())
}

/// Runs the timer rules: every case a timer is due for, once per moment (claimed before the
/// actions run, so two nodes or a retry never act twice). Returns how many cases were acted on.
pub async fn run_timers(store: &Store) -> anliegen_store::Result<usize> {
    let rules = anliegen_store::automation::rules(store).await?;
    let mut acted = 0;
    for rule in rules
        .iter()
        .filter(|r| r.active && matches!(r.when, When::Timer { .. }))
    {
        let now = store.now();
        for (case, anchor) in
            anliegen_store::automation::timer_cases(store, rule, now, TIMER_BATCH).await?
        {
            let claimed = store
                .exec(
                    Actor::System,
                    Command::AutomationRun {
                        rule_id: rule.id,
                        case_id: case.id,
                        anchor,
                    },
                )
                .await?;
            if !matches!(claimed, Output::Recorded(true)) {
                continue;
            }
            match execute(store, rule, case.id, "timer").await {
                Ok(()) => acted += 1,
                Err(e) if e.is_domain() => {
                    tracing::warn!(rule = %rule.name, case = %case.id, error = %e, "timer rule skipped")
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(acted)
}

fn actor(rule: &Automation) -> Actor {
    Actor::Automation {
        rule_id: rule.id,
        name: rule.name.clone(),
    }
}

/// Runs `rule`'s actions on the case: field changes first (one write), then notes, replies,
/// promises and webhooks in order. A refused action (the lifecycle forbids the status, nobody
/// to own a promise) is noted on the case and the rest still runs.
async fn execute(
    store: &Store,
    rule: &Automation,
    case_id: CaseId,
    happening: &str,
) -> anliegen_store::Result<()> {
    let who = actor(rule);
    let mut patch = CasePatch::default();
    let mut fields = false;
    for a in &rule.actions {
        match a {
            Action::SetStatus { status } => patch.status = Some(*status),
            Action::SetPriority { priority } => patch.priority = Some(*priority),
            Action::SetTeam { team_id } => patch.team_id = Some(*team_id),
            Action::AddTag { tag } => {
                patch.remove_tags.retain(|t| t != tag);
                patch.add_tags.push(tag.clone());
            }
            Action::RemoveTag { tag } => {
                patch.add_tags.retain(|t| t != tag);
                patch.remove_tags.push(tag.clone());
            }
            _ => continue,
        }
        fields = true;
    }
    let mut problems: Vec<String> = Vec::new();
    if fields {
        match store
            .exec(who.clone(), Command::UpdateCase { id: case_id, patch })
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_domain() => problems.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    for a in &rule.actions {
        let step = match a {
            Action::AddNote { text } => note(store, &who, case_id, text).await,
            Action::SendReply { body_de, body_en } => {
                reply(store, &who, case_id, body_de, body_en).await
            }
            Action::CreatePromise {
                what,
                due_in_minutes,
            } => promise(store, &who, case_id, what, *due_in_minutes).await,
            Action::Webhook { url, secret } => {
                webhook(store, rule, case_id, (url, secret), happening).await
            }
            _ => Ok(()),
        };
        match step {
            Ok(()) => {}
            Err(e) if e.is_domain() => problems.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        let text = format!(
            "Die Regel „{}“ konnte nicht alles ausführen: {}",
            rule.name,
            problems.join("; ")
        );
        tracing::warn!(rule = %rule.name, case = %case_id, problems = ?problems, "automation partly refused");
        add_note(store, &who, case_id, text).await?;
    }
    Ok(())
}

async fn case_of(store: &Store, id: CaseId) -> anliegen_store::Result<Case> {
    store
        .case(id)
        .await?
        .ok_or_else(|| StoreError::not_found("case", id))
}

/// Placeholder values of a case, signed by its assignee (the same names as in macros).
async fn values(store: &Store, case: &Case) -> anliegen_store::Result<Vec<(&'static str, String)>> {
    let agent = match case.assignee_id {
        Some(a) => store.agent(a).await?.map(|a| a.name).unwrap_or_default(),
        None => String::new(),
    };
    anliegen_store::automation::placeholders(store, case, &agent).await
}

async fn add_note(
    store: &Store,
    who: &Actor,
    case_id: CaseId,
    text: String,
) -> anliegen_store::Result<()> {
    store
        .exec(
            who.clone(),
            Command::AddContact {
                case_id,
                contact: NewContact::plain(
                    Channel::Note,
                    Direction::Internal,
                    Visibility::Internal,
                    text,
                ),
                status_after: None,
            },
        )
        .await?;
    Ok(())
}

async fn note(
    store: &Store,
    who: &Actor,
    case_id: CaseId,
    template: &str,
) -> anliegen_store::Result<()> {
    let case = case_of(store, case_id).await?;
    let text = anliegen_store::automation::fill(template, &values(store, &case).await?);
    add_note(store, who, case_id, text).await
}

/// A reply in the customer's language; on a mail case it leaves by mail (the send job commits
/// with the contact).
async fn reply(
    store: &Store,
    who: &Actor,
    case_id: CaseId,
    body_de: &str,
    body_en: &str,
) -> anliegen_store::Result<()> {
    let case = case_of(store, case_id).await?;
    let lang = match case.language {
        Some(l) => l,
        None => store
            .customer(case.customer_id)
            .await?
            .and_then(|c| c.language)
            .unwrap_or(Language::De),
    };
    let template = match lang {
        Language::En if !body_en.trim().is_empty() => body_en,
        _ if body_de.trim().is_empty() => body_en,
        _ => body_de,
    };
    let text = anliegen_store::automation::fill(template, &values(store, &case).await?);
    let mut c = NewContact::plain(case.channel, Direction::Outbound, Visibility::Public, text);
    if c.channel == Channel::Note {
        c.channel = Channel::Email;
    }
    let mut jobs = Vec::new();
    if case.channel == Channel::Email {
        match anliegen_mail::outbound::prepare_mail(store, &case, &mut c, false).await {
            Ok(Some(job)) => jobs.push(job),
            Ok(None) | Err(anliegen_mail::outbound::PrepareError::NoMailbox) => {}
            Err(anliegen_mail::outbound::PrepareError::Store(e)) => return Err(e),
        }
    }
    let mut write = Write::new(
        who.clone(),
        Command::AddContact {
            case_id,
            contact: c,
            status_after: None,
        },
    );
    write.jobs = jobs;
    store.write(write).await?;
    Ok(())
}

/// A promise owned by the case's assignee, due after business minutes of the team's calendar.
async fn promise(
    store: &Store,
    who: &Actor,
    case_id: CaseId,
    what: &str,
    minutes: u32,
) -> anliegen_store::Result<()> {
    let case = case_of(store, case_id).await?;
    let Some(owner) = case.assignee_id else {
        return Err(StoreError::invalid(
            "owner",
            format!("nobody is assigned, so nobody could own the promise „{what}“"),
        ));
    };
    let mut calendars = anliegen_store::sla::Calendars::default();
    let cal = calendars.get(store, case.team_id).await?;
    let now = store.now();
    let due = cal
        .add(now, i64::from(minutes))
        .map_err(|e| StoreError::invalid("due_in_minutes", e.message))?;
    let p = anliegen_core::promise::Promise::new(case_id, owner, what.trim().to_owned(), due, now);
    anliegen_web::api::promises::record_in(store, who.clone(), p).await?;
    Ok(())
}

async fn webhook(
    store: &Store,
    rule: &Automation,
    case_id: CaseId,
    (url, secret): (&str, &str),
    happening: &str,
) -> anliegen_store::Result<()> {
    let case = case_of(store, case_id).await?;
    let body = serde_json::json!({
        "rule": {"id": rule.id, "name": rule.name},
        "happening": happening,
        "at": store.now().to_string(),
        "case": {
            "id": case.id,
            "reference": case.reference.to_string(),
            "subject": case.subject,
            "status": case.status.as_str(),
            "priority": case.priority.as_str(),
            "team_id": case.team_id,
            "assignee_id": case.assignee_id,
            "tags": case.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        },
    });
    // The secret travels with the job: a delivery is signed as the rule was when it fired.
    let job = NewJob::new(
        WEBHOOK_JOB,
        serde_json::json!({"url": url, "body": body, "secret": secret}),
    )
    .attempts(8);
    store.enqueue(&job, store.now()).await?;
    Ok(())
}

/// The `Anliegen-Signature` header of a webhook body sent at `t` (Unix seconds): `t=<t>,v1=<hex
/// HMAC-SHA256 over "<t>.<body>">`. A receiver recomputes it with the rule's secret, compares in
/// constant time and refuses old timestamps (replays).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts a webhook; anything but 2xx is retried with backoff, then a dead letter.
pub struct Webhook {
    client: reqwest::Client,
}

impl Webhook {
    /// A handler with a 10 s timeout per attempt.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("Anliegen/", env!("CARGO_PKG_VERSION")))
                .build()?,
        })
    }
}

#[async_trait::async_trait]
impl JobHandler for Webhook {
    async fn run(&self, store: &Store, job: &Job) -> Result<(), String> {
        let url = job
            .payload
            .get("url")
            .and_then(|v| v.as_str())
            .ok_or("payload without a url")?;
        let body = job.payload.get("body").cloned().unwrap_or_default();
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let secret = job
            .payload
            .get("secret")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let mut req = self
            .client
            .post(url)
            .header("Idempotency-Key", job.id.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        // Rules saved before webhooks were signed have no secret until they are saved again.
        if !secret.is_empty() {
            req = req.header(
                "Anliegen-Signature",
                signature(secret, store.now().as_second(), &bytes),
            );
        }
        let res = req
            .body(bytes)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("POST {url}: {}", res.status()))
        }
    }
}

/// The handlers automations need.
pub fn register(
    runner: anliegen_store::jobs::JobRunner,
) -> anyhow::Result<anliegen_store::jobs::JobRunner> {
    Ok(runner.handle(WEBHOOK_JOB, Arc::new(Webhook::new()?)))
}
