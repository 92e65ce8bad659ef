//! One concern, one case, the parts that read the store: the admin settings (cached), concern
//! matching rules 2–4 of [`anliegen_core::resolve`] for every inbound contact, routing of new
//! cases, and escalation (a projection of the event log, so that a repeat or an angry message
//! escalates even if the process stops right after the commit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anliegen_core::concern::{Prepared, prepare};
use anliegen_core::escalation::{EscalationSettings, HandoffFacts, Tier, Trigger, handoff_summary};
use anliegen_core::resolve::{ConcernMatch, MatchSettings, RefSource, match_or_maybe};
use anliegen_core::routing::{Facts, RoutingRule, route};
use anliegen_core::{
    Actor, Case, CaseRef, CaseStatus, Channel, Customer, CustomerId, Direction, Event, EventKind,
    Language, Priority, RuleId, TeamId,
};
use tokio::sync::RwLock;

use crate::error::Result;
use crate::projection::Projection;
use crate::{Command, Escalation, Store, StoreError, Write};

/// The admin settings concern matching, routing and escalation work with.
#[derive(Debug, Clone, Default)]
pub struct ConcernSettings {
    /// Matching thresholds.
    pub matching: MatchSettings,
    /// Escalation.
    pub escalation: EscalationSettings,
    /// Routing rules, by position.
    pub rules: Vec<RoutingRule>,
}

/// The note on a contact that named a case reference of no case of its customer (unknown and
/// foreign references read the same, so the note tells nobody which cases exist).
const FOREIGN_REFERENCE: &str =
    "nennt eine Fallnummer, die zu keinem Fall dieser Kundin oder dieses Kunden gehört";

/// The tier used when an admin configured none: the supervisors, at high priority.
pub fn default_tier() -> Tier {
    Tier {
        name: "Teamleitung".into(),
        team_id: None,
        priority: Priority::High,
        notify_supervisors: true,
    }
}

/// Reads the settings from the store (every caller shares a two-second cache).
#[derive(Clone)]
pub struct Concerns {
    store: Store,
    cache: Arc<RwLock<Option<Cached>>>,
    /// Analyses of earlier contacts (their texts never change), bounded.
    prepared:
        Arc<std::sync::Mutex<std::collections::HashMap<anliegen_core::ContactId, Arc<Prepared>>>>,
}

/// Analysed contacts kept for matching; beyond this the cache starts afresh.
/// (20,000 analyses of 1–2 KB texts are ~30 MB.)
const PREPARED_MAX: usize = 20_000;

type Cached = (Instant, Arc<ConcernSettings>);

/// What a routing rule decided for a new case.
#[derive(Debug, Clone)]
pub struct Routed {
    /// Team to send it to.
    pub team_id: Option<TeamId>,
    /// Priority to set.
    pub priority: Option<Priority>,
    /// The rule (recorded as an event).
    pub rule: (RuleId, String),
}

/// What rules 2–4 found.
#[derive(Debug, Clone)]
pub enum Found {
    /// The contact joins this case.
    Case(Box<Case>, ConcernMatch),
    /// A new case; the note says why an apparent match was not taken, and `maybe` names an
    /// open case of the customer that is perhaps the same concern (for the agent to judge).
    New(Option<String>, Option<anliegen_core::CaseRef>),
}

impl Concerns {
    /// Over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::new(RwLock::new(None)),
            prepared: Arc::default(),
        }
    }

    /// The settings, at most two seconds old.
    pub async fn settings(&self) -> Result<Arc<ConcernSettings>> {
        if let Some((at, s)) = &*self.cache.read().await
            && at.elapsed() < Duration::from_secs(2)
        {
            return Ok(Arc::clone(s));
        }
        let s = Arc::new(load_settings(&self.store).await?);
        *self.cache.write().await = Some((Instant::now(), Arc::clone(&s)));
        Ok(s)
    }

    /// Forgets the cached settings (after an admin changed them).
    pub async fn invalidate(&self) {
        *self.cache.write().await = None;
    }

    /// Rules 2–4 for an inbound contact of `customer` (`None`: unknown sender, only a new case):
    /// a case reference in a form field, the subject or the text (of the customer's own case;
    /// another customer's case counts as no match and is not revealed); an open case about the
    /// same order or parcel; a near-duplicate within the window.
    pub async fn find(
        &self,
        customer: Option<CustomerId>,
        subject: &str,
        text: &str,
        field_ref: Option<CaseRef>,
    ) -> Result<Found> {
        let Some(customer) = customer else {
            return Ok(Found::New(None, None));
        };
        let settings = self.settings().await?;
        let mut refs: Vec<(CaseRef, RefSource)> = Vec::new();
        refs.extend(field_ref.map(|r| (r, RefSource::Field)));
        refs.extend(
            anliegen_core::mail::case_refs_in(subject)
                .into_iter()
                .map(|r| (r, RefSource::Subject)),
        );
        refs.extend(
            anliegen_core::mail::case_refs_in(text)
                .into_iter()
                .take(5)
                .map(|r| (r, RefSource::Text)),
        );
        let mut note = None;
        for (reference, source) in refs {
            let Some(mut case) = self.store.case_by_ref(reference).await? else {
                note = Some(FOREIGN_REFERENCE.into());
                continue;
            };
            // A merged case redirects to the case it was merged into.
            let mut hops = 0;
            while let Some(into) = self.store.merged_into(case.id).await? {
                match self.store.case(into).await? {
                    Some(c) if hops < 10 => case = c,
                    _ => break,
                }
                hops += 1;
            }
            if case.customer_id != customer {
                // Not revealed to the customer; the agent learns that a foreign reference was
                // named, not which case it is.
                note = Some(FOREIGN_REFERENCE.into());
                continue;
            }
            return Ok(Found::Case(
                Box::new(case.clone()),
                ConcernMatch::Reference {
                    reference: case.reference,
                    source,
                },
            ));
        }
        if !settings.matching.enabled {
            return Ok(Found::New(note, None));
        }
        let now = self.store.now();
        let since =
            now - jiff::SignedDuration::from_hours(24 * settings.matching.window_days.max(0));
        let prior = self.store.prior_cases(customer, since, now).await?;
        let probe = format!("{subject}\n{}", text.chars().take(4000).collect::<String>());
        // Cached analyses are taken under the lock; missing ones are made outside it, so that
        // concurrent intakes never wait for each other's text analysis.
        let mut have: std::collections::HashMap<anliegen_core::ContactId, Arc<Prepared>> = {
            let cache = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
            prior
                .iter()
                .flat_map(|c| &c.contacts)
                .filter_map(|p| cache.get(&p.id).map(|a| (p.id, Arc::clone(a))))
                .collect()
        };
        let mut made = Vec::new();
        for p in prior.iter().flat_map(|c| &c.contacts) {
            if let std::collections::hash_map::Entry::Vacant(slot) = have.entry(p.id) {
                let a = Arc::new(prepare(&p.text));
                made.push((p.id, Arc::clone(&a)));
                slot.insert(a);
            }
        }
        if !made.is_empty() {
            let mut cache = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() + made.len() > PREPARED_MAX {
                cache.clear();
            }
            cache.extend(made);
        }
        let (found, maybe) = match_or_maybe(&probe, &prior, &settings.matching, &mut |p| {
            have.get(&p.id)
                .cloned()
                .unwrap_or_else(|| Arc::new(prepare(&p.text)))
        });
        if let Some((case_id, why)) = found
            && let Some(case) = self.store.case(case_id).await?
        {
            return Ok(Found::Case(Box::new(case), why));
        }
        let maybe = match maybe {
            Some(id) => self.store.case(id).await?.map(|c| c.reference),
            None => None,
        };
        Ok(Found::New(note, maybe))
    }

    /// The routing rule for a new case, if one holds: (team, priority, rule).
    pub fn route(settings: &ConcernSettings, facts: &Facts<'_>) -> Option<Routed> {
        route(&settings.rules, facts).map(|r| Routed {
            team_id: r.team_id,
            priority: r.priority,
            rule: (r.id, r.name.clone()),
        })
    }
}

/// Routing facts of a new case's customer.
pub fn customer_facts(
    c: Option<&Customer>,
) -> (Option<anliegen_core::OrganisationId>, Option<String>) {
    match c {
        Some(c) => (c.organisation_id, Some(c.tier.as_str().to_owned())),
        None => (None, None),
    }
}

async fn load_settings(store: &Store) -> Result<ConcernSettings> {
    let matching = match store.setting("matching").await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Corrupt(format!("setting matching: {e}")))?,
        None => MatchSettings::default(),
    };
    Ok(ConcernSettings {
        matching,
        escalation: load_escalation(store).await?,
        rules: store.routing_rules().await?,
    })
}

/// The escalation settings as stored (defaults until an admin changed them).
pub async fn load_escalation(store: &Store) -> Result<EscalationSettings> {
    Ok(match store.setting("escalation").await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Corrupt(format!("setting escalation: {e}")))?,
        None => EscalationSettings::default(),
    })
}

/// Escalates `case_id` one tier up for `trigger` with a hand-off summary; `Ok(None)` when there
/// is no tier above the case's level (or the case is closed). The time-and-promises features
/// call this for overdue promises and SLA breaches.
pub async fn escalate(
    store: &Store,
    actor: Actor,
    case_id: anliegen_core::CaseId,
    trigger: Trigger,
) -> Result<Option<Case>> {
    escalate_with(
        store,
        &load_escalation(store).await?,
        actor,
        case_id,
        trigger,
    )
    .await
}

/// [`escalate`] with settings read before.
async fn escalate_with(
    store: &Store,
    settings: &EscalationSettings,
    actor: Actor,
    case_id: anliegen_core::CaseId,
    trigger: Trigger,
) -> Result<Option<Case>> {
    let Some(case) = store.case(case_id).await? else {
        return Err(StoreError::not_found("case", case_id));
    };
    escalate_case(store, settings, actor, case, trigger).await
}

/// [`escalate_with`] on the case as read just before.
async fn escalate_case(
    store: &Store,
    settings: &EscalationSettings,
    actor: Actor,
    case: Case,
    trigger: Trigger,
) -> Result<Option<Case>> {
    let case_id = case.id;
    if case.status == CaseStatus::Closed {
        return Ok(None);
    }
    let level = case.escalation_level + 1;
    let tier = if settings.tiers.is_empty() {
        (level == 1).then(default_tier)
    } else {
        settings
            .next_tier(u32::try_from(case.escalation_level).unwrap_or(u32::MAX))
            .cloned()
    };
    let Some(tier) = tier else {
        return Ok(None);
    };
    let summary = summary_of(store, &case, &trigger).await?;
    let out = store
        .write(Write::new(
            actor,
            Command::EscalateCase(Box::new(Escalation {
                case_id,
                level,
                tier,
                trigger,
                summary,
            })),
        ))
        .await?;
    match out {
        crate::Output::Case(c) => Ok(Some(*c)),
        _ => Ok(None),
    }
}

fn channel_de(c: Channel) -> &'static str {
    match c {
        Channel::Email => "E-Mail",
        Channel::Form => "Kontaktformular",
        Channel::Portal => "Kundenportal",
        Channel::Phone => "Telefon",
        Channel::Chat => "Chat",
        Channel::Api => "API",
        Channel::Note => "Notiz",
    }
}

/// The hand-off summary of a case (German: the agents' first language).
pub async fn summary_of(store: &Store, case: &Case, trigger: &Trigger) -> Result<String> {
    let contacts = store.contacts(case.id, true).await?;
    let customer = store.customer(case.customer_id).await?;
    let mut by_channel: Vec<(String, u32)> = Vec::new();
    let mut first = String::new();
    let mut tried = Vec::new();
    for c in &contacts {
        let text = c
            .mail
            .as_ref()
            .map(|m| m.new_text.as_str())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&c.text);
        match c.direction {
            Direction::Inbound => {
                if first.is_empty() {
                    first = text.to_owned();
                }
                let name = channel_de(c.channel).to_owned();
                match by_channel.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, k)) => *k += 1,
                    None => by_channel.push((name, 1)),
                }
            }
            Direction::Outbound => {
                let auto = c
                    .mail
                    .as_ref()
                    .is_some_and(|m| m.has(anliegen_core::MailFlag::AutoSubmitted));
                if !auto {
                    tried.push(format!(
                        "Antwort: {}",
                        anliegen_core::escalation::shorten(text, 160)
                    ));
                }
            }
            Direction::Internal => {
                if !matches!(c.author, anliegen_core::Author::System) {
                    tried.push(format!(
                        "Notiz: {}",
                        anliegen_core::escalation::shorten(text, 160)
                    ));
                }
            }
        }
    }
    let facts = HandoffFacts {
        reference: case.reference.to_string(),
        subject: case.subject.clone(),
        customer: customer
            .as_ref()
            .and_then(|c| c.name.clone())
            .or_else(|| {
                customer
                    .as_ref()
                    .and_then(|c| c.identities.first().map(|i| i.value.clone()))
            })
            .unwrap_or_else(|| "unbekannt".into()),
        first_message: first,
        contacts_by_channel: by_channel,
        repeats: u32::try_from(case.repeat_count).unwrap_or(0),
        promises: {
            let tz = anliegen_core::language::berlin_zone();
            store
                .promises(case.id)
                .await?
                .iter()
                .filter(|p| p.status == anliegen_core::promise::PromiseStatus::Open)
                .map(|p| {
                    format!(
                        "{} {}{}",
                        p.what,
                        anliegen_core::promise::due_phrase(
                            p.due_at,
                            store.now(),
                            &tz,
                            Language::De
                        ),
                        if p.due_at < store.now() {
                            " (überfällig)"
                        } else {
                            ""
                        }
                    )
                })
                .collect()
        },
        tried,
        trigger: trigger.describe(Language::De),
    };
    Ok(handoff_summary(&facts, Language::De))
}

/// Escalates a case for its overdue promise, once: the promise's overdue job calls this (one
/// node runs a job at a time), and a retry after a crash finds the escalation already made.
pub async fn escalate_overdue_promise(
    store: &Store,
    promise: &anliegen_core::promise::Promise,
) -> Result<Option<Case>> {
    let settings = load_escalation(store).await?;
    if !settings.on_overdue_promise
        || !promise.overdue
        || promise.status != anliegen_core::promise::PromiseStatus::Open
    {
        return Ok(None);
    }
    let events = store.case_events(promise.case_id).await?;
    let marked = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::PromiseOverdue { promise_id, .. } if *promise_id == promise.id => Some(e.seq),
        _ => None,
    });
    let Some(marked) = marked else {
        return Ok(None);
    };
    let done = events.iter().any(|x| {
        x.seq > marked
            && matches!(&x.kind, EventKind::CaseEscalated { trigger: Trigger::OverduePromise { what }, .. } if *what == promise.what)
    });
    if done {
        return Ok(None);
    }
    escalate_with(
        store,
        &settings,
        Actor::System,
        promise.case_id,
        Trigger::OverduePromise {
            what: promise.what.clone(),
        },
    )
    .await
}

/// Escalates a case whose SLA target ran out, once per breach: the sweep calls this after
/// recording the breach (sweeps take turns), and a retry finds the escalation already made.
pub async fn escalate_sla_breach(
    store: &Store,
    case_id: anliegen_core::CaseId,
    metric: anliegen_core::sla::SlaMetric,
    due_at: jiff::Timestamp,
) -> Result<Option<Case>> {
    let settings = load_escalation(store).await?;
    if !settings.on_sla_breach {
        return Ok(None);
    }
    let events = store.case_events(case_id).await?;
    let marked = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::SlaBreached {
            metric: m,
            due_at: d,
        } if *m == metric && *d == due_at => Some(e.seq),
        _ => None,
    });
    let Some(marked) = marked else {
        return Ok(None);
    };
    let target = metric.as_str().to_owned();
    let done = events.iter().any(|x| {
        x.seq > marked
            && matches!(&x.kind, EventKind::CaseEscalated { trigger: Trigger::SlaBreach { target: t }, .. } if *t == target)
    });
    if done {
        return Ok(None);
    }
    match escalate_with(
        store,
        &settings,
        Actor::System,
        case_id,
        Trigger::SlaBreach { target },
    )
    .await
    {
        Ok(c) => Ok(c),
        // A case that cannot go further up (or was closed meanwhile) is not an error here.
        Err(e) if e.is_domain() => {
            tracing::warn!(case = %case_id, error = %e, "escalation of an SLA breach skipped");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Escalates automatically from the event log: on the configured repeat contact, and on words
/// of urgency or anger in a customer's message. Idempotent: a case never goes to a tier it has
/// reached, so a replay after a crash changes nothing.
pub struct AutoEscalation;

impl AutoEscalation {
    /// Checkpoint name.
    pub const NAME: &'static str = "escalation";
}

#[async_trait::async_trait]
impl Projection for AutoEscalation {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        // Every node follows the log, and escalating twice is not harmless: on PostgreSQL the
        // nodes take turns (a transaction-scoped lock, released even if this task is dropped),
        // and whoever comes second skips what the first already applied.
        let turn = store.turn("projection:escalation").await?;
        let done = store.checkpoint(Self::NAME).await?;
        let fresh: Vec<Event> = events.iter().filter(|e| e.seq > done).cloned().collect();
        let result = if fresh.is_empty() {
            Ok(())
        } else {
            self.apply_turn(store, &fresh, upto).await
        };
        turn.end().await;
        result
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        // Rebuilding would escalate old cases again: only the checkpoint moves to the end.
        let last = store.last_seq().await?;
        store.set_checkpoint(Self::NAME, last, store.now()).await
    }
}

impl AutoEscalation {
    async fn apply_turn(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        // Events older than a day are history (a store from before this projection existed, or
        // a rebuild): escalating them now would help nobody.
        let horizon = store.now() - jiff::SignedDuration::from_hours(24);
        let fresh = |e: &&Event| e.case_id.is_some() && e.at >= horizon;
        // Only repeats and inbound contacts can escalate: without them, nothing to read.
        if !events.iter().filter(fresh).any(|e| {
            matches!(
                e.kind,
                EventKind::ConcernMatched {
                    repeat: Some(_),
                    ..
                } | EventKind::ContactAdded {
                    direction: Direction::Inbound,
                    ..
                }
            )
        }) {
            return store.set_checkpoint(Self::NAME, upto, store.now()).await;
        }
        let s = &load_escalation(store).await?;
        // The step's inbound contacts, read in one query when keywords may escalate.
        let contacts = if s.on_keywords {
            let inbound: Vec<anliegen_core::ContactId> = events
                .iter()
                .filter(fresh)
                .filter_map(|e| match &e.kind {
                    EventKind::ContactAdded {
                        contact_id,
                        direction: Direction::Inbound,
                        ..
                    } => Some(*contact_id),
                    _ => None,
                })
                .collect();
            crate::keyed(store.contacts_by_ids(&inbound).await?, |c| c.id)
        } else {
            std::collections::HashMap::new()
        };
        // What each case's events ask for, in order. Levels are checked against the case as it
        // is when its turn comes (an earlier escalation in this step raised it).
        let mut chains: Vec<(anliegen_core::CaseId, Vec<Candidate>)> = Vec::new();
        let mut at: std::collections::HashMap<anliegen_core::CaseId, usize> =
            std::collections::HashMap::new();
        for e in events.iter().filter(fresh) {
            let Some(case_id) = e.case_id else { continue };
            let candidate = match &e.kind {
                EventKind::ConcernMatched {
                    repeat: Some(n), ..
                } => {
                    let every = i64::from(s.after_repeats);
                    if every == 0 || *n < every || *n % every != 0 {
                        continue;
                    }
                    // The k-th multiple of the threshold reaches tier k.
                    Candidate {
                        below: *n / every,
                        trigger: Trigger::Repeats {
                            count: u32::try_from(*n).unwrap_or(u32::MAX),
                        },
                    }
                }
                EventKind::ContactAdded {
                    contact_id,
                    direction: Direction::Inbound,
                    ..
                } => {
                    if !s.on_keywords {
                        continue;
                    }
                    let Some(c) = contacts.get(contact_id) else {
                        continue;
                    };
                    // Auto-replies ("for urgent matters…"), bounces and mail that failed DMARC
                    // never escalate.
                    if c.mail.as_ref().is_some_and(|m| {
                        m.has(anliegen_core::MailFlag::AutoSubmitted)
                            || m.has(anliegen_core::MailFlag::DmarcFail)
                            || m.has(anliegen_core::MailFlag::Bounce)
                    }) {
                        continue;
                    }
                    let text = format!(
                        "{}\n{}",
                        c.subject.as_deref().unwrap_or(""),
                        c.mail
                            .as_ref()
                            .map(|m| m.new_text.as_str())
                            .filter(|t| !t.is_empty())
                            .unwrap_or(&c.text)
                    );
                    let Some(word) = s.keyword(&text) else {
                        continue;
                    };
                    // Words escalate to the first tier only; more takes a person or repeats.
                    Candidate {
                        below: 1,
                        trigger: Trigger::Keyword { word },
                    }
                }
                _ => continue,
            };
            match at.get(&case_id).and_then(|&i| chains.get_mut(i)) {
                Some((_, list)) => list.push(candidate),
                None => {
                    at.insert(case_id, chains.len());
                    chains.push((case_id, vec![candidate]));
                }
            }
        }
        // A few cases escalate side by side (their writes share the writer's batches); one
        // case's candidates one after the other. Few, because an escalation costs the writer
        // several new cases' worth: under a surge new cases go first.
        use futures::StreamExt;
        let mut runs = futures::stream::iter(chains)
            .map(|(case_id, list)| escalate_chain(store, s, case_id, list))
            .buffer_unordered(ESCALATING_AT_ONCE);
        while let Some(r) = runs.next().await {
            r?;
        }
        store.set_checkpoint(Self::NAME, upto, store.now()).await
    }
}

/// How many cases the escalation follower escalates at once.
const ESCALATING_AT_ONCE: usize = 4;

/// An escalation a step's event asks for: to the tier above `below - 1`, unless the case is
/// there already.
struct Candidate {
    below: i64,
    trigger: Trigger,
}

/// One case's candidates, in order, each checked against the case as it is then.
async fn escalate_chain(
    store: &Store,
    settings: &EscalationSettings,
    case_id: anliegen_core::CaseId,
    list: Vec<Candidate>,
) -> Result<()> {
    for c in list {
        let Some(case) = store.case(case_id).await? else {
            return Ok(());
        };
        if case.escalation_level >= c.below {
            continue;
        }
        match escalate_case(store, settings, Actor::System, case, c.trigger).await {
            Ok(_) => {}
            // A case that cannot be escalated (closed meanwhile) is not a reason to stop.
            Err(err) if err.is_domain() => {
                tracing::warn!(case = %case_id, error = %err, "escalation skipped");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Hands out a team's waiting cases when room appears: an agent comes back (available again),
/// a case of the team is solved or closed, or the team switches automatic assignment on.
/// Idempotent: it only ever assigns cases that are still unassigned, within capacity.
pub struct Backlog;

impl Backlog {
    /// Checkpoint name.
    pub const NAME: &'static str = "backlog";
}

#[async_trait::async_trait]
impl Projection for Backlog {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        let horizon = store.now() - jiff::SignedDuration::from_hours(24);
        let mut teams: Vec<TeamId> = Vec::new();
        for e in events.iter().filter(|e| e.at >= horizon) {
            match &e.kind {
                EventKind::AvailabilityChanged {
                    agent_id,
                    available: true,
                } => {
                    if let Some(a) = store.agent(*agent_id).await? {
                        teams.extend(a.teams);
                    }
                }
                EventKind::StatusChanged {
                    to: CaseStatus::Solved | CaseStatus::Closed,
                    ..
                } => {
                    if let Some(case_id) = e.case_id
                        && let Some(c) = store.case(case_id).await?
                        && let Some(t) = c.team_id
                    {
                        teams.push(t);
                    }
                }
                EventKind::TeamAssignmentChanged { team_id, .. } => teams.push(*team_id),
                _ => {}
            }
        }
        teams.sort();
        teams.dedup();
        for team_id in teams {
            let Some(team) = store.team(team_id).await? else {
                continue;
            };
            if team.assignment.mode == anliegen_core::routing::AssignMode::Manual {
                continue;
            }
            store
                .write(Write::new(
                    Actor::System,
                    Command::AssignWaiting {
                        team_id,
                        limit: 200,
                    },
                ))
                .await?;
        }
        store.set_checkpoint(Self::NAME, upto, store.now()).await
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        let last = store.last_seq().await?;
        store.set_checkpoint(Self::NAME, last, store.now()).await
    }
}
