//! The store-reading half of SLAs: the policies and team calendars as stored, the `SlaClocks`
//! projection that keeps every case's clock from the event log, the sweep that records
//! warnings and breaches when they fall due, and the recompute after a policy or calendar
//! changed.

use std::collections::HashMap;

use crate::error::Result;
use crate::projection::Projection;
use crate::{Command, Output, SlaCase, SlaRecord, Store};
use anliegen_core::calendar::{BusinessCalendar, CalendarSpec};
use anliegen_core::sla::{SlaClock, SlaPolicy, choose};
use anliegen_core::{Actor, CaseId, CaseStatus, Direction, Event, EventKind, TeamId, Visibility};

/// The setting that holds the ordered SLA policies.
pub const POLICIES_KEY: &str = "sla.policies";

/// The settings key of a team's business calendar.
pub fn team_calendar_key(team: TeamId) -> String {
    format!("calendar.team.{team}")
}

/// The ordered SLA policies (none until an admin sets them).
pub async fn policies(store: &Store) -> Result<Vec<SlaPolicy>> {
    Ok(store
        .setting(POLICIES_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// A team's calendar spec (Monday to Friday 8:00–18:00 Europe/Berlin until one is set).
pub async fn team_calendar_spec(store: &Store, team: TeamId) -> Result<CalendarSpec> {
    Ok(store
        .setting(&team_calendar_key(team))
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_else(|| CalendarSpec::office(None)))
}

/// Business calendars by team, each built once.
#[derive(Default)]
pub struct Calendars {
    by_team: HashMap<Option<TeamId>, BusinessCalendar>,
}

impl Calendars {
    /// The calendar of `team` (cases without a team: the office default).
    pub async fn get(&mut self, store: &Store, team: Option<TeamId>) -> Result<&BusinessCalendar> {
        let cal = match self.by_team.entry(team) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let spec = match team {
                    Some(t) => team_calendar_spec(store, t).await?,
                    None => CalendarSpec::office(None),
                };
                let cal = BusinessCalendar::new(&spec).or_else(|err| {
                    tracing::warn!(team = ?team, error = %err, "a stored calendar is invalid; using office hours");
                    BusinessCalendar::new(&CalendarSpec::office(None))
                });
                e.insert(cal.map_err(|err| crate::StoreError::Corrupt(err.to_string()))?)
            }
        };
        Ok(cal)
    }
}

/// Keeps every case's SLA clock from the log: opening starts it, statuses pause and resume
/// it, customer contacts and agents' public replies start and meet the response targets, and
/// whatever chooses the policy (priority, team, customer) re-chooses it. Clocks and checkpoint
/// commit together, so a crash or a second node never applies an event twice.
pub struct SlaClocks;

impl SlaClocks {
    /// Checkpoint name.
    pub const NAME: &'static str = "sla";
}

/// Whether an event moves a case's clock or may change its policy.
fn relevant(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::CaseOpened { .. }
            | EventKind::StatusChanged { .. }
            | EventKind::ContactAdded { .. }
            | EventKind::PriorityChanged { .. }
            | EventKind::TeamChanged { .. }
            | EventKind::CaseCustomerChanged { .. }
            | EventKind::CaseReopened { .. }
    )
}

/// Applies one event to a clock.
fn step(clock: &mut SlaClock, e: &Event, cal: &BusinessCalendar) {
    match &e.kind {
        EventKind::StatusChanged { to, .. } => clock.on_status(*to, e.at, cal),
        EventKind::ContactAdded {
            direction: Direction::Inbound,
            visibility: Visibility::Public,
            ..
        } => clock.on_customer_contact(e.at, cal),
        EventKind::ContactAdded {
            direction: Direction::Outbound,
            visibility: Visibility::Public,
            ..
        } if matches!(e.actor, Actor::Agent { .. }) => clock.on_agent_reply(e.at, cal),
        _ => {}
    }
}

#[async_trait::async_trait]
impl Projection for SlaClocks {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn apply(&self, store: &Store, events: &[Event], upto: i64) -> Result<()> {
        let first = events.first().map(|e| e.seq).unwrap_or(upto);
        let mut ids: Vec<CaseId> = Vec::new();
        let mut by_case: HashMap<CaseId, Vec<&Event>> = HashMap::new();
        let mut recompute = false;
        for e in events {
            if let EventKind::SettingChanged { key, .. } = &e.kind
                && (key == POLICIES_KEY || key.starts_with("calendar.team."))
            {
                recompute = true;
            }
            let Some(case_id) = e.case_id else { continue };
            if !relevant(&e.kind) {
                continue;
            }
            by_case
                .entry(case_id)
                .or_insert_with(|| {
                    ids.push(case_id);
                    Vec::new()
                })
                .push(e);
        }
        let mut clocks = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let policies = policies(store).await?;
            let mut calendars = Calendars::default();
            for case in store.sla_cases(&ids).await? {
                let Some(evs) = by_case.get(&case.case_id) else {
                    continue;
                };
                let cal = calendars.get(store, case.team_id).await?;
                let mut clock = match &case.record {
                    Some(r) => r.clock.clone(),
                    // A case from before SLAs: its clock starts from what it is now.
                    None => match evs.first().map(|e| &e.kind) {
                        Some(EventKind::CaseOpened { .. }) => SlaClock::open(
                            evs.first().map_or(case.created_at, |e| e.at),
                            CaseStatus::New,
                        ),
                        _ => SlaClock::open(case.created_at, case.status),
                    },
                };
                // Policy first, so that what follows is measured against its targets (each step
                // keeps the due times of what it touches current).
                clock.set_policy(choose(&policies, &case.subject()), cal);
                for e in evs {
                    step(&mut clock, e, cal);
                }
                clocks.push(SlaRecord {
                    case_id: case.case_id,
                    clock,
                    seq: upto,
                });
            }
        }
        let saved = store
            .apply_sla(Self::NAME, &clocks, first, upto, store.now())
            .await?;
        if saved && recompute {
            // Every open case's due times follow the new policies or calendar: a job, so a
            // million cases never hold the log up.
            let job = crate::NewJob::new(RECOMPUTE_JOB, serde_json::json!({ "seq": upto }))
                .dedupe(format!("{RECOMPUTE_JOB}:{upto}"))
                .attempts(5);
            store.enqueue(&job, store.now()).await?;
        }
        Ok(())
    }

    async fn reset(&self, store: &Store) -> Result<()> {
        store.set_checkpoint(Self::NAME, 0, store.now()).await
    }
}

/// The job that recomputes every open case's SLA due times.
pub const RECOMPUTE_JOB: &str = "sla.recompute";

/// Cases per page of a recompute.
const RECOMPUTE_PAGE: i64 = 2000;

/// Re-chooses the policy of every case with an active clock and recomputes its due times;
/// returns how many clocks were saved. A clock the projection changed meanwhile is left as it
/// is (it was computed with the new policies already).
pub async fn recompute_all(store: &Store) -> Result<u64> {
    let policies = policies(store).await?;
    let mut calendars = Calendars::default();
    let mut after: Option<CaseId> = None;
    let mut saved = 0;
    // Pages are read and computed in order while earlier pages are written: up to
    // RECOMPUTE_WRITERS saves at once (PostgreSQL writes them in parallel; the embedded store's
    // single writer takes them in turn).
    let mut writes: tokio::task::JoinSet<Result<u64>> = tokio::task::JoinSet::new();
    loop {
        let page = store.sla_open_cases(after, RECOMPUTE_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.case_id);
        let mut changed = Vec::with_capacity(page.len());
        for case in &page {
            let Some(record) = &case.record else { continue };
            let cal = calendars.get(store, case.team_id).await?;
            let mut clock = record.clock.clone();
            clock.set_policy(choose(&policies, &case.subject()), cal);
            if clock != record.clock {
                changed.push(SlaRecord {
                    case_id: case.case_id,
                    clock,
                    seq: record.seq,
                });
            }
        }
        while writes.len() >= RECOMPUTE_WRITERS {
            if let Some(done) = writes.join_next().await {
                saved += joined(done)?;
            }
        }
        let s = store.clone();
        writes.spawn(async move { s.save_sla_recomputed(&changed, s.now()).await });
        if (page.len() as i64) < RECOMPUTE_PAGE {
            break;
        }
    }
    while let Some(done) = writes.join_next().await {
        saved += joined(done)?;
    }
    Ok(saved)
}

/// Concurrent page saves of a recompute.
const RECOMPUTE_WRITERS: usize = 4;

fn joined(r: std::result::Result<Result<u64>, tokio::task::JoinError>) -> Result<u64> {
    r.map_err(|e| crate::StoreError::Corrupt(format!("a recompute write stopped: {e}")))?
}

/// Records the warnings and breaches that fell due by now (each once per metric run, as an
/// event that notifies and escalates) and moves each clock's next check; returns how many
/// were recorded.
pub async fn sweep(store: &Store) -> Result<usize> {
    // Sweeps of two nodes take turns (a transaction-scoped lock, released even if this task is
    // dropped), so a breach escalates once.
    let turn = store.turn("sla:sweep").await?;
    let result = sweep_turn(store).await;
    turn.end().await;
    result
}

async fn sweep_turn(store: &Store) -> Result<usize> {
    let mut recorded = 0;
    loop {
        let now = store.now();
        let due = store.sla_checks(now, 500).await?;
        let n = due.len();
        for r in &due {
            for (metric, m) in r.clock.metrics() {
                if !m.active() {
                    continue;
                }
                let breach = m.due_at.filter(|t| *t <= now);
                let warn = m.warn_at.filter(|t| *t <= now);
                let (breach, due_at) = match (breach, warn, m.due_at) {
                    (Some(d), _, _) => (true, d),
                    (None, Some(_), Some(d)) => (false, d),
                    _ => continue,
                };
                let out = store
                    .exec(
                        Actor::System,
                        Command::SlaMark {
                            case_id: r.case_id,
                            metric,
                            breach,
                            started_at: m.started_at,
                            due_at,
                        },
                    )
                    .await;
                match out {
                    Ok(Output::Recorded(true)) => recorded += 1,
                    Ok(_) => {}
                    Err(e) if e.is_domain() => {
                        tracing::warn!(case = %r.case_id, error = %e, "SLA mark skipped");
                    }
                    Err(e) => return Err(e),
                }
                if breach {
                    crate::concern::escalate_sla_breach(store, r.case_id, metric, due_at).await?;
                }
            }
            store
                .set_sla_next_check(r.case_id, r.seq, r.clock.next_check(now))
                .await?;
        }
        if n < 500 {
            return Ok(recorded);
        }
    }
}

/// A case's clock with the calendar it is measured in, for showing it.
pub async fn case_clock(
    store: &Store,
    case_id: CaseId,
) -> Result<Option<(SlaCase, SlaClock, BusinessCalendar)>> {
    let Some(case) = store.sla_cases(&[case_id]).await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(record) = case.record.clone() else {
        return Ok(None);
    };
    let cal = Calendars::default().get(store, case.team_id).await?.clone();
    Ok(Some((case, record.clock, cal)))
}
