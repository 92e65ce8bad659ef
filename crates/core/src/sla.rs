//! Service level agreements: policies say how long the customer may wait (first response, next
//! response, resolution, in business minutes of the team's calendar) for which cases; the clock
//! of a case measures the business time that has run, pausing while the case waits on the
//! customer (and, for the two response targets, on a third party).
//!
//! The clock measures and the policy judges: a case's clock always runs for all three metrics,
//! so choosing another policy (the priority changed, an admin edited the targets) only
//! recomputes due times, never loses history.

use jiff::{SignedDuration, Timestamp};

use crate::calendar::BusinessCalendar;
use crate::{CaseStatus, Channel, OrganisationId, ParseError, Priority, TeamId, Tier};

/// What an SLA measures.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// From the case's first contact to the first public reply of an agent.
    FirstResponse,
    /// From a customer's contact to the agent's next public reply.
    NextResponse,
    /// From opening to solving.
    Resolution,
}

impl SlaMetric {
    /// All three, in display order.
    pub const ALL: [SlaMetric; 3] = [Self::FirstResponse, Self::NextResponse, Self::Resolution];

    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
            Self::Resolution => "resolution",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "first_response" => Ok(Self::FirstResponse),
            "next_response" => Ok(Self::NextResponse),
            "resolution" => Ok(Self::Resolution),
            _ => Err(ParseError::new(
                "metric",
                format!("'{raw}' is not an SLA metric (first_response, next_response, resolution)"),
            )),
        }
    }
}

impl SlaMetric {
    /// The field of its target in a policy.
    pub fn target_field(&self) -> &'static str {
        match self {
            Self::FirstResponse => "targets.first_response",
            Self::NextResponse => "targets.next_response",
            Self::Resolution => "targets.resolution",
        }
    }
}

impl std::fmt::Display for SlaMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Targets in business minutes; a missing one is not measured against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaTargets {
    /// First public reply.
    #[serde(default)]
    pub first_response: Option<u32>,
    /// Every following reply to a customer's contact.
    #[serde(default)]
    pub next_response: Option<u32>,
    /// Solved.
    #[serde(default)]
    pub resolution: Option<u32>,
}

impl SlaTargets {
    /// The target of `metric`.
    pub fn get(&self, metric: SlaMetric) -> Option<u32> {
        match metric {
            SlaMetric::FirstResponse => self.first_response,
            SlaMetric::NextResponse => self.next_response,
            SlaMetric::Resolution => self.resolution,
        }
    }
}

/// Which cases a policy is for; an empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaConditions {
    /// Any of these priorities.
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Any of these teams.
    #[serde(default)]
    pub teams: Vec<TeamId>,
    /// Opened on any of these channels.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// The customer has any of these tiers.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// The customer belongs to any of these organisations.
    #[serde(default)]
    pub organisations: Vec<OrganisationId>,
}

/// What a policy is chosen by: the case and its customer as they are now.
#[derive(Debug, Clone, Copy)]
pub struct SlaSubject<'a> {
    /// The case's priority.
    pub priority: Priority,
    /// The case's team.
    pub team_id: Option<TeamId>,
    /// The channel the case was opened on.
    pub channel: Channel,
    /// The customer's tier.
    pub tier: &'a Tier,
    /// The customer's organisation.
    pub organisation_id: Option<OrganisationId>,
}

fn default_warn() -> u8 {
    75
}

fn default_true() -> bool {
    true
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaPolicy {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name ("Premium", "Dringend").
    pub name: String,
    /// Switched off policies are never chosen.
    #[serde(default = "default_true")]
    pub active: bool,
    /// Which cases.
    #[serde(default)]
    pub conditions: SlaConditions,
    /// The targets.
    pub targets: SlaTargets,
    /// The share of a target (percent) after which agents are warned.
    #[serde(default = "default_warn")]
    pub warn_percent: u8,
}

/// Longest target: a year of business minutes is more than anyone promises.
const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

impl SlaPolicy {
    /// Checks name, targets and warning share.
    pub fn validate(&self) -> Result<(), ParseError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new(
                "name",
                "a policy needs a name of 1 to 100 characters",
            ));
        }
        let mut any = false;
        for m in SlaMetric::ALL {
            if let Some(t) = self.targets.get(m) {
                any = true;
                if t == 0 || t > MAX_TARGET_MINUTES {
                    return Err(ParseError::new(
                        m.target_field(),
                        format!("a target is 1 to {MAX_TARGET_MINUTES} business minutes"),
                    ));
                }
            }
        }
        if !any {
            return Err(ParseError::new(
                "targets",
                "a policy needs at least one target (first_response, next_response, resolution)",
            ));
        }
        if !(1..=99).contains(&self.warn_percent) {
            return Err(ParseError::new(
                "warn_percent",
                "the warning comes at 1 to 99 % of a target",
            ));
        }
        Ok(())
    }

    /// Whether the policy is for `s`.
    pub fn matches(&self, s: &SlaSubject<'_>) -> bool {
        let c = &self.conditions;
        self.active
            && (c.priorities.is_empty() || c.priorities.contains(&s.priority))
            && (c.teams.is_empty() || s.team_id.is_some_and(|t| c.teams.contains(&t)))
            && (c.channels.is_empty() || c.channels.contains(&s.channel))
            && (c.tiers.is_empty() || c.tiers.contains(s.tier))
            && (c.organisations.is_empty()
                || s.organisation_id
                    .is_some_and(|o| c.organisations.contains(&o)))
    }
}

/// Checks an ordered list of policies: each valid, ids and names unique, at most 200.
pub fn validate_policies(policies: &[SlaPolicy]) -> Result<(), ParseError> {
    if policies.len() > 200 {
        return Err(ParseError::new("policies", "at most 200 SLA policies"));
    }
    let mut ids = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for p in policies {
        p.validate()?;
        if !ids.insert(p.id) {
            return Err(ParseError::new("id", format!("policy id {} twice", p.id)));
        }
        if !names.insert(p.name.trim().to_lowercase()) {
            return Err(ParseError::new(
                "name",
                format!("there is already a policy named '{}'", p.name.trim()),
            ));
        }
    }
    Ok(())
}

/// The first active policy (in order) whose conditions `s` meets.
pub fn choose<'a>(policies: &'a [SlaPolicy], s: &SlaSubject<'_>) -> Option<&'a SlaPolicy> {
    policies.iter().find(|p| p.matches(s))
}

/// One metric's clock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetricClock {
    /// When this run of the metric started (the case opened; the customer wrote).
    pub started_at: Timestamp,
    /// Business seconds used before `running_since`.
    pub used_s: i64,
    /// Running since then; `None` while paused or done.
    pub running_since: Option<Timestamp>,
    /// Achieved (answered, solved) or dropped (solved without an answer) at.
    pub done_at: Option<Timestamp>,
    /// Whether it was achieved within its target (`None`: no target, running, or dropped).
    pub met: Option<bool>,
    /// The target in business minutes from the policy (none: not measured).
    pub target_min: Option<u32>,
    /// When the target runs out, while running.
    pub due_at: Option<Timestamp>,
    /// When agents are warned, while running.
    pub warn_at: Option<Timestamp>,
}

impl MetricClock {
    fn start(at: Timestamp, running: bool) -> Self {
        Self {
            started_at: at,
            used_s: 0,
            running_since: running.then_some(at),
            done_at: None,
            met: None,
            target_min: None,
            due_at: None,
            warn_at: None,
        }
    }

    /// Running (not paused, not done).
    pub fn running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Neither achieved nor dropped.
    pub fn active(&self) -> bool {
        self.done_at.is_none()
    }

    /// Business time used by `now`.
    pub fn used(&self, now: Timestamp, cal: &BusinessCalendar) -> SignedDuration {
        let mut used = SignedDuration::from_secs(self.used_s);
        if let Some(since) = self.running_since
            && now > since
        {
            used += cal.between(since, now);
        }
        used
    }

    /// Business time left of the target at `now` (negative once breached).
    pub fn remaining(&self, now: Timestamp, cal: &BusinessCalendar) -> Option<SignedDuration> {
        let target = SignedDuration::from_mins(i64::from(self.target_min?));
        Some(target - self.used(now, cal))
    }

    fn pause(&mut self, at: Timestamp, cal: &BusinessCalendar) {
        if let Some(since) = self.running_since.take()
            && at > since
        {
            self.used_s += cal.between(since, at).as_secs();
        }
        self.due_at = None;
        self.warn_at = None;
    }

    fn resume(&mut self, at: Timestamp) {
        if self.active() && self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    fn finish(&mut self, at: Timestamp, achieved: bool, cal: &BusinessCalendar) {
        if !self.active() {
            return;
        }
        self.pause(at, cal);
        self.done_at = Some(at);
        self.met = match (achieved, self.target_min) {
            (true, Some(t)) => Some(self.used_s <= i64::from(t) * 60),
            _ => None,
        };
    }

    fn retarget(&mut self, target: Option<u32>, warn_percent: u8, cal: &BusinessCalendar) {
        self.target_min = target;
        self.due_at = None;
        self.warn_at = None;
        let (Some(t), Some(since)) = (target, self.running_since) else {
            return;
        };
        let total = i64::from(t) * 60;
        self.due_at = add_seconds(cal, since, total - self.used_s);
        let warn = total * i64::from(warn_percent) / 100;
        self.warn_at = add_seconds(cal, since, warn - self.used_s);
    }
}

/// `start` plus `secs` business seconds; a negative amount (already past) gives `start`'s
/// business time back that far.
fn add_seconds(cal: &BusinessCalendar, start: Timestamp, secs: i64) -> Option<Timestamp> {
    let mins = secs.div_euclid(60);
    let rest = secs.rem_euclid(60);
    let t = if secs >= 0 {
        cal.add(start, mins).ok()?
    } else {
        cal.sub(start, -mins).ok()?
    };
    // Seconds within a minute stay within the opening the minute ends in.
    Some(t + SignedDuration::from_secs(rest))
}

/// Why the clock is paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaPause {
    /// Not paused.
    #[default]
    None,
    /// Waiting on the customer: all metrics pause.
    Customer,
    /// Waiting on a third party: the response metrics pause, resolution runs.
    ThirdParty,
    /// Solved or closed: nothing runs.
    Solved,
}

/// A case's SLA clock: the three metrics and the policy that judges them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaClock {
    /// The policy chosen last (none: no policy applies).
    pub policy_id: Option<uuid::Uuid>,
    /// Its name then.
    #[serde(default)]
    pub policy_name: String,
    /// Its warning share.
    #[serde(default = "default_warn")]
    pub warn_percent: u8,
    /// Its targets.
    #[serde(default)]
    pub targets: SlaTargets,
    /// Why it is paused.
    #[serde(default)]
    pub pause: SlaPause,
    /// First response.
    pub first_response: MetricClock,
    /// The latest run of next response (none before the customer writes after an answer).
    #[serde(default)]
    pub next_response: Option<MetricClock>,
    /// Resolution.
    pub resolution: MetricClock,
}

impl SlaClock {
    /// The clock of a case opened at `at` in status `status`.
    pub fn open(at: Timestamp, status: CaseStatus) -> Self {
        let pause = pause_of(status);
        Self {
            policy_id: None,
            policy_name: String::new(),
            warn_percent: default_warn(),
            targets: SlaTargets::default(),
            pause,
            first_response: MetricClock::start(at, pause == SlaPause::None),
            next_response: None,
            resolution: MetricClock::start(
                at,
                matches!(pause, SlaPause::None | SlaPause::ThirdParty),
            ),
        }
    }

    /// The metrics there are, with their kind.
    pub fn metrics(&self) -> impl Iterator<Item = (SlaMetric, &MetricClock)> {
        [
            Some((SlaMetric::FirstResponse, &self.first_response)),
            self.next_response
                .as_ref()
                .map(|m| (SlaMetric::NextResponse, m)),
            Some((SlaMetric::Resolution, &self.resolution)),
        ]
        .into_iter()
        .flatten()
    }

    fn metrics_mut(&mut self) -> impl Iterator<Item = (SlaMetric, &mut MetricClock)> {
        [
            Some((SlaMetric::FirstResponse, &mut self.first_response)),
            self.next_response
                .as_mut()
                .map(|m| (SlaMetric::NextResponse, m)),
            Some((SlaMetric::Resolution, &mut self.resolution)),
        ]
        .into_iter()
        .flatten()
    }

    /// The case's status changed at `at`.
    pub fn on_status(&mut self, to: CaseStatus, at: Timestamp, cal: &BusinessCalendar) {
        let pause = pause_of(to);
        if pause == self.pause {
            return;
        }
        self.pause = pause;
        match pause {
            SlaPause::Solved => {
                // Solving achieves resolution; an unanswered response target is dropped.
                self.first_response.finish(at, false, cal);
                if let Some(n) = &mut self.next_response {
                    n.finish(at, false, cal);
                }
                self.resolution.finish(at, true, cal);
            }
            SlaPause::Customer => {
                for (_, m) in self.metrics_mut() {
                    m.pause(at, cal);
                }
            }
            SlaPause::ThirdParty => {
                self.first_response.pause(at, cal);
                if let Some(n) = &mut self.next_response {
                    n.pause(at, cal);
                }
                self.resolution.resume(at);
            }
            SlaPause::None => {
                // Reopened: resolution goes on from where it stood.
                if self.resolution.done_at.is_some() {
                    self.resolution.done_at = None;
                    self.resolution.met = None;
                }
                for (_, m) in self.metrics_mut() {
                    m.resume(at);
                }
            }
        }
        self.retarget_all(cal);
    }

    /// The customer wrote at `at`: after an answer this starts the next-response clock.
    pub fn on_customer_contact(&mut self, at: Timestamp, cal: &BusinessCalendar) {
        if self.first_response.active() {
            return;
        }
        if self.next_response.as_ref().is_some_and(MetricClock::active) {
            return;
        }
        let running = matches!(self.pause, SlaPause::None);
        self.next_response = Some(MetricClock::start(at, running));
        self.retarget_all(cal);
    }

    /// An agent answered the customer publicly at `at`.
    pub fn on_agent_reply(&mut self, at: Timestamp, cal: &BusinessCalendar) {
        self.first_response.finish(at, true, cal);
        if let Some(n) = &mut self.next_response {
            n.finish(at, true, cal);
        }
    }

    /// Applies `policy` (or none): targets and due times follow it.
    pub fn set_policy(&mut self, policy: Option<&SlaPolicy>, cal: &BusinessCalendar) {
        self.policy_id = policy.map(|p| p.id);
        self.policy_name = policy.map(|p| p.name.clone()).unwrap_or_default();
        self.warn_percent = policy.map(|p| p.warn_percent).unwrap_or_else(default_warn);
        self.targets = policy.map(|p| p.targets).unwrap_or_default();
        self.retarget_all(cal);
    }

    fn retarget_all(&mut self, cal: &BusinessCalendar) {
        let warn = self.warn_percent;
        let targets = self.targets;
        for (metric, m) in self.metrics_mut() {
            if m.active() {
                m.retarget(targets.get(metric), warn, cal);
            }
        }
    }

    /// The earliest due time of a running metric with a target.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.metrics().filter_map(|(_, m)| m.due_at).min()
    }

    /// The next moment after `after` at which a warning or breach falls due.
    pub fn next_check(&self, after: Timestamp) -> Option<Timestamp> {
        self.metrics()
            .flat_map(|(_, m)| [m.warn_at, m.due_at])
            .flatten()
            .filter(|t| *t > after)
            .min()
    }
}

fn pause_of(status: CaseStatus) -> SlaPause {
    match status {
        CaseStatus::New | CaseStatus::Open => SlaPause::None,
        CaseStatus::WaitingOnCustomer => SlaPause::Customer,
        CaseStatus::WaitingOnThirdParty => SlaPause::ThirdParty,
        CaseStatus::Solved | CaseStatus::Closed => SlaPause::Solved,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::CalendarSpec;
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    fn berlin(d: i8, h: i8, min: i8) -> Timestamp {
        // December 2026: the 7th is a Monday.
        date(2026, 12, d)
            .at(h, min, 0, 0)
            .to_zoned_datetime(TimeZone::get("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
    }

    fn cal() -> BusinessCalendar {
        BusinessCalendar::new(&CalendarSpec::office(Some("DE-BE"))).unwrap()
    }

    fn policy(first: u32, next: u32, resolution: u32) -> SlaPolicy {
        SlaPolicy {
            id: uuid::Uuid::from_u128(1),
            name: "Standard".into(),
            active: true,
            conditions: SlaConditions::default(),
            targets: SlaTargets {
                first_response: Some(first),
                next_response: Some(next),
                resolution: Some(resolution),
            },
            warn_percent: 75,
        }
    }

    fn clock(at: Timestamp) -> SlaClock {
        let mut c = SlaClock::open(at, CaseStatus::New);
        c.set_policy(Some(&policy(60, 120, 600)), &cal());
        c
    }

    #[test]
    fn due_times_count_business_time_only() {
        let c = clock(berlin(7, 17, 30));
        // 30 minutes on Monday, 30 on Tuesday from 8:00.
        assert_eq!(c.first_response.due_at, Some(berlin(8, 8, 30)));
        assert_eq!(c.first_response.warn_at, Some(berlin(8, 8, 15)));
        // Ten hours: half an hour Monday, a whole Tuesday until 17:30.
        assert_eq!(c.resolution.due_at, Some(berlin(8, 17, 30)));
        assert_eq!(c.next_due(), Some(berlin(8, 8, 30)));
        assert_eq!(c.next_check(berlin(7, 17, 30)), Some(berlin(8, 8, 15)));
    }

    #[test]
    fn waiting_on_the_customer_pauses_everything_and_resumes_where_it_stood() {
        let cal = cal();
        let mut c = clock(berlin(7, 10, 0));
        c.on_status(CaseStatus::WaitingOnCustomer, berlin(7, 10, 20), &cal);
        assert_eq!(c.pause, SlaPause::Customer);
        assert!(c.metrics().all(|(_, m)| m.due_at.is_none() && !m.running()));
        assert_eq!(c.first_response.used_s, 20 * 60);
        // Two days later the customer answers: 40 minutes left of the first response.
        c.on_status(CaseStatus::Open, berlin(9, 9, 0), &cal);
        assert_eq!(c.first_response.due_at, Some(berlin(9, 9, 40)));
        // 580 minutes left: nine hours on Wednesday, 40 minutes on Thursday.
        assert_eq!(c.resolution.due_at, Some(berlin(10, 8, 40)));
        c.on_agent_reply(berlin(9, 9, 30), &cal);
        assert_eq!(c.first_response.met, Some(true));
        assert!(c.first_response.due_at.is_none());
    }

    #[test]
    fn a_third_party_pauses_the_answer_but_not_the_resolution() {
        let cal = cal();
        let mut c = clock(berlin(7, 9, 0));
        c.on_status(CaseStatus::WaitingOnThirdParty, berlin(7, 9, 30), &cal);
        assert!(c.first_response.due_at.is_none());
        // Ten business hours from Monday 9:00: nine on Monday (until 18:00), one on Tuesday.
        assert_eq!(c.resolution.due_at, Some(berlin(8, 9, 0)));
        assert!(c.resolution.running());
    }

    #[test]
    fn the_next_response_starts_when_the_customer_writes_after_an_answer() {
        let cal = cal();
        let mut c = clock(berlin(7, 9, 0));
        c.on_customer_contact(berlin(7, 9, 5), &cal);
        assert!(
            c.next_response.is_none(),
            "the first response still covers it"
        );
        c.on_agent_reply(berlin(7, 11, 0), &cal);
        assert_eq!(
            c.first_response.met,
            Some(false),
            "two hours for a one-hour target"
        );
        c.on_customer_contact(berlin(7, 12, 0), &cal);
        let n = c.next_response.as_ref().unwrap();
        assert_eq!(n.due_at, Some(berlin(7, 14, 0)));
        c.on_customer_contact(berlin(7, 12, 30), &cal);
        assert_eq!(
            c.next_response.as_ref().unwrap().started_at,
            berlin(7, 12, 0)
        );
        c.on_agent_reply(berlin(7, 13, 0), &cal);
        assert_eq!(c.next_response.as_ref().unwrap().met, Some(true));
        assert_eq!(c.next_due(), c.resolution.due_at);
    }

    #[test]
    fn solving_achieves_resolution_and_a_reopening_resumes_it() {
        let cal = cal();
        let mut c = clock(berlin(7, 9, 0));
        c.on_status(CaseStatus::Solved, berlin(7, 10, 0), &cal);
        assert_eq!(c.resolution.met, Some(true));
        assert_eq!(c.first_response.met, None, "dropped, not achieved");
        assert_eq!(c.next_due(), None);
        c.on_status(CaseStatus::Open, berlin(8, 9, 0), &cal);
        assert_eq!(c.resolution.met, None);
        assert_eq!(c.resolution.used_s, 3600);
        assert_eq!(c.resolution.due_at, Some(berlin(8, 18, 0)));
    }

    #[test]
    fn another_policy_recomputes_due_times_without_losing_what_was_used() {
        let cal = cal();
        let mut c = clock(berlin(7, 9, 0));
        c.on_status(CaseStatus::WaitingOnCustomer, berlin(7, 9, 30), &cal);
        c.on_status(CaseStatus::Open, berlin(7, 10, 0), &cal);
        let mut urgent = policy(45, 30, 240);
        urgent.name = "Dringend".into();
        c.set_policy(Some(&urgent), &cal);
        assert_eq!(c.policy_name, "Dringend");
        assert_eq!(c.first_response.due_at, Some(berlin(7, 10, 15)));
        c.set_policy(None, &cal);
        assert_eq!(c.next_due(), None);
        assert_eq!(
            c.first_response.used(berlin(7, 10, 30), &cal),
            SignedDuration::from_mins(60)
        );
    }

    #[test]
    fn policies_are_chosen_in_order_by_their_conditions() {
        let premium = Tier::parse("premium").unwrap();
        let standard = Tier::default();
        let mut vip = policy(30, 60, 240);
        vip.id = uuid::Uuid::from_u128(2);
        vip.name = "Premium".into();
        vip.conditions.tiers = vec![premium.clone()];
        let all = [vip.clone(), policy(60, 120, 600)];
        validate_policies(&all).unwrap();
        let s = |tier| SlaSubject {
            priority: Priority::Normal,
            team_id: None,
            channel: Channel::Email,
            tier,
            organisation_id: None,
        };
        assert_eq!(choose(&all, &s(&premium)).unwrap().name, "Premium");
        assert_eq!(choose(&all, &s(&standard)).unwrap().name, "Standard");
        let mut off = vip;
        off.active = false;
        assert!(!off.matches(&s(&premium)));
    }

    #[test]
    fn bad_policies_are_refused_with_the_field() {
        let mut p = policy(60, 60, 60);
        p.targets = SlaTargets::default();
        assert_eq!(p.validate().unwrap_err().what, "targets");
        let mut p = policy(0, 60, 60);
        assert_eq!(p.validate().unwrap_err().what, "targets.first_response");
        p = policy(60, 60, 60);
        p.warn_percent = 100;
        assert_eq!(p.validate().unwrap_err().what, "warn_percent");
        let twice = [policy(1, 1, 1), policy(2, 2, 2)];
        assert!(validate_policies(&twice).is_err());
    }

    proptest! {
        /// However a case moves between statuses, the business time used never exceeds the
        /// business time that passed, and a running metric's due time lies where its remaining
        /// target says.
        #[test]
        fn pauses_never_count_and_due_times_match_the_remaining_target(
            steps in proptest::collection::vec((0u8..5, 1i64..3000), 1..12)
        ) {
            let cal = cal();
            let start = berlin(7, 8, 0);
            let mut c = clock(start);
            let mut at = start;
            for (s, mins) in steps {
                at += SignedDuration::from_mins(mins);
                let status = [CaseStatus::Open, CaseStatus::WaitingOnCustomer,
                    CaseStatus::WaitingOnThirdParty, CaseStatus::Open, CaseStatus::Solved][usize::from(s)];
                c.on_status(status, at, &cal);
                let used = c.resolution.used(at, &cal);
                prop_assert!(used <= cal.between(start, at));
                for (_, m) in c.metrics() {
                    if let (Some(due), Some(left)) = (m.due_at, m.remaining(at, &cal))
                        && left > SignedDuration::ZERO {
                        prop_assert_eq!(cal.between(at, due), left);
                    }
                }
            }
        }
    }
}
