//! Automations: ordered rules of conditions and actions. A **trigger** runs when something
//! happens to a case (opened, customer replied, status changed, SLA breached…); a **timer**
//! runs when a case has been in a state for a while ("waiting on the customer for 7 days →
//! reminder; 14 days → solve").
//!
//! Loop protection is built in, as in an update cycle of a help desk: the triggers of one
//! change are evaluated in order, repeatedly, each firing at most once, with the changes of
//! earlier rules visible to later ones; what the cycle changes does not start another cycle.
//! A timer fires once per case and moment it counts from (a new status change is a new moment).

use std::collections::BTreeSet;

use crate::macros::check_template;
use crate::{CaseStatus, Channel, Language, ParseError, Priority, Tag, TeamId, Tier};

/// What happened to a case, as triggers see it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum On {
    /// A case was opened.
    CaseOpened,
    /// The customer wrote (a new case's first contact counts as `case_opened`).
    CustomerReplied,
    /// An agent answered the customer.
    AgentReplied,
    /// An internal note was added.
    NoteAdded,
    /// The status changed.
    StatusChanged,
    /// The priority changed.
    PriorityChanged,
    /// The team changed.
    TeamChanged,
    /// The assignee changed.
    AssigneeChanged,
    /// Tags changed.
    TagsChanged,
    /// An SLA target is about to run out.
    SlaWarning,
    /// An SLA target ran out.
    SlaBreached,
    /// A promise went overdue.
    PromiseOverdue,
    /// The case was escalated.
    CaseEscalated,
}

/// What a timer counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Since {
    /// The case was opened.
    Created,
    /// Its status last changed.
    StatusChanged,
    /// It last changed at all.
    Updated,
}

impl Since {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::StatusChanged => "status_changed",
            Self::Updated => "updated",
        }
    }
}

/// When a rule runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum When {
    /// When any of these happens.
    Trigger {
        /// The happenings.
        on: Vec<On>,
    },
    /// When a case has been like this for `minutes` since the moment `since`.
    Timer {
        /// What it counts from.
        since: Since,
        /// How long (wall-clock minutes).
        minutes: u32,
    },
}

/// A condition on the case (and, for text, on the contact that triggered the rule).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Condition {
    /// The status is one of (or, with `not`, none of) these.
    Status {
        /// Statuses.
        any: Vec<CaseStatus>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The priority is one of these.
    Priority {
        /// Priorities.
        any: Vec<Priority>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The team is one of these (an empty list: the case has no team).
    Team {
        /// Teams.
        any: Vec<TeamId>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The case was opened on one of these channels.
    Channel {
        /// Channels.
        any: Vec<Channel>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The customer has one of these tiers.
    Tier {
        /// Tiers.
        any: Vec<Tier>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The case's language is one of these.
    Language {
        /// Languages.
        any: Vec<Language>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The case carries the tag (with `not`: does not).
    Tag {
        /// The tag.
        tag: Tag,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
    /// The case is assigned (`true`) or not (`false`).
    Assigned {
        /// Assigned or not.
        is: bool,
    },
    /// The subject or the triggering contact contains any of these words (folded, so
    /// `Rückerstattung` meets `Rueckerstattung`).
    Text {
        /// Words or phrases.
        any: Vec<String>,
        /// Negated.
        #[serde(default)]
        not: bool,
    },
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Set the status (the lifecycle decides whether it may).
    SetStatus {
        /// The status.
        status: CaseStatus,
    },
    /// Set the priority.
    SetPriority {
        /// The priority.
        priority: Priority,
    },
    /// Hand the case to a team (none: no team).
    SetTeam {
        /// The team.
        team_id: Option<TeamId>,
    },
    /// Add a tag.
    AddTag {
        /// The tag.
        tag: Tag,
    },
    /// Remove a tag.
    RemoveTag {
        /// The tag.
        tag: Tag,
    },
    /// Add an internal note.
    AddNote {
        /// Its text (placeholders as in macros).
        text: String,
    },
    /// Answer the customer with a template in their language (placeholders as in macros).
    SendReply {
        /// German text.
        body_de: String,
        /// English text.
        body_en: String,
    },
    /// Record a promise owned by the case's assignee, due this many business minutes later.
    CreatePromise {
        /// What is promised.
        what: String,
        /// Due in business minutes of the team's calendar.
        due_in_minutes: u32,
    },
    /// POST the case and the happening as JSON to a URL (retried with backoff; never holds
    /// anything up), signed with the rule's secret (`Anliegen-Signature: t=<unix time>,v1=<hex
    /// HMAC-SHA256 of "<t>.<body>">`) so that the receiver can tell it came from us.
    Webhook {
        /// `http://` or `https://` URL.
        url: String,
        /// The signing secret (16–128 visible ASCII characters); made when a rule is saved
        /// without one. Only admins see it.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        secret: String,
    },
}

impl Action {
    /// Whether it changes the case's fields (applied together, visible to later rules).
    pub fn changes_fields(&self) -> bool {
        matches!(
            self,
            Self::SetStatus { .. }
                | Self::SetPriority { .. }
                | Self::SetTeam { .. }
                | Self::AddTag { .. }
                | Self::RemoveTag { .. }
        )
    }
}

/// An automation rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Automation {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name.
    pub name: String,
    /// Switched off rules never run.
    #[serde(default = "yes")]
    pub active: bool,
    /// When it runs.
    pub when: When,
    /// All must hold.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What it does, in order.
    pub actions: Vec<Action>,
}

fn yes() -> bool {
    true
}

/// The longest a timer may wait: beyond five years it would never fire in practice.
pub const MAX_TIMER_MINUTES: u32 = 5 * 366 * 24 * 60;

fn err(what: &'static str, message: impl Into<String>) -> ParseError {
    ParseError::new(what, message)
}

impl Automation {
    /// Checks the rule: a name, something that runs it, conditions that can hold, actions
    /// that make sense, a timer that fires neither at once nor never.
    pub fn validate(&self) -> Result<(), ParseError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(err("name", "a rule needs a name of 1 to 100 characters"));
        }
        match &self.when {
            When::Trigger { on } if on.is_empty() => {
                return Err(err(
                    "when.on",
                    "a trigger needs at least one happening it runs on",
                ));
            }
            When::Timer { minutes, .. } if *minutes == 0 => {
                return Err(err(
                    "when.minutes",
                    "a timer of 0 minutes would fire at every check; use a trigger for what should happen at once",
                ));
            }
            When::Timer { minutes, .. } if *minutes > MAX_TIMER_MINUTES => {
                return Err(err(
                    "when.minutes",
                    "a timer longer than five years would never fire",
                ));
            }
            _ => {}
        }
        if self.conditions.len() > 30 {
            return Err(err("conditions", "at most 30 conditions"));
        }
        for c in &self.conditions {
            let empty = match c {
                Condition::Status { any, .. } => any.is_empty(),
                Condition::Priority { any, .. } => any.is_empty(),
                Condition::Channel { any, .. } => any.is_empty(),
                Condition::Tier { any, .. } => any.is_empty(),
                Condition::Language { any, .. } => any.is_empty(),
                Condition::Text { any, .. } => any.iter().all(|w| w.trim().is_empty()),
                Condition::Team { .. } | Condition::Tag { .. } | Condition::Assigned { .. } => {
                    false
                }
            };
            if empty {
                return Err(err(
                    "conditions",
                    "a condition with an empty list never holds: the rule would never run",
                ));
            }
        }
        // Two status conditions that exclude each other: the rule would never run.
        let mut allowed: BTreeSet<CaseStatus> = CaseStatus::ALL.into_iter().collect();
        for c in &self.conditions {
            if let Condition::Status { any, not } = c {
                allowed.retain(|s| any.contains(s) != *not);
            }
        }
        if allowed.is_empty() {
            return Err(err(
                "conditions",
                "the status conditions exclude each other: the rule would never run",
            ));
        }
        if self.actions.is_empty() {
            return Err(err("actions", "a rule needs at least one action"));
        }
        if self.actions.len() > 20 {
            return Err(err("actions", "at most 20 actions"));
        }
        for a in &self.actions {
            match a {
                Action::AddNote { text } => {
                    if text.trim().is_empty() {
                        return Err(err("actions", "a note needs text"));
                    }
                    check_template("actions.text", text)?;
                }
                Action::SendReply { body_de, body_en } => {
                    if body_de.trim().is_empty() && body_en.trim().is_empty() {
                        return Err(err("actions", "a reply needs a German or English text"));
                    }
                    check_template("actions.body_de", body_de)?;
                    check_template("actions.body_en", body_en)?;
                }
                Action::CreatePromise {
                    what,
                    due_in_minutes,
                } => {
                    if what.trim().is_empty() {
                        return Err(err("actions", "a promise needs words"));
                    }
                    if *due_in_minutes == 0 || *due_in_minutes > 366 * 24 * 60 {
                        return Err(err(
                            "actions.due_in_minutes",
                            "a promise is due 1 minute to a year of business time later",
                        ));
                    }
                }
                Action::Webhook { url, secret } => {
                    check_url(url)?;
                    check_secret(secret)?;
                }
                _ => {}
            }
        }
        // A timer whose own action keeps its condition true would fire again at every new
        // moment; that is allowed (once per moment), but a timer that sets the status its
        // condition excludes is the common, intended pattern.
        Ok(())
    }

    /// Whether the rule may run on `happened` (triggers) at all.
    pub fn runs_on(&self, happened: &BTreeSet<On>) -> bool {
        self.active
            && matches!(&self.when, When::Trigger { on } if on.iter().any(|o| happened.contains(o)))
    }
}

fn check_url(url: &str) -> Result<(), ParseError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && !url.contains(char::is_whitespace)
        && url.split("://").nth(1).is_some_and(|rest| {
            rest.split(['/', '?', '#'])
                .next()
                .is_some_and(|host| !host.is_empty())
        });
    if ok {
        Ok(())
    } else {
        Err(err(
            "actions.url",
            format!("'{url}' is not an http:// or https:// URL"),
        ))
    }
}

fn check_secret(secret: &str) -> Result<(), ParseError> {
    let ok = secret.is_empty()
        || ((16..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic()));
    if ok {
        Ok(())
    } else {
        Err(err(
            "actions.secret",
            "a webhook secret is 16 to 128 visible ASCII characters",
        ))
    }
}

/// Checks an ordered list of rules: each valid, ids and names unique, at most 500.
pub fn validate_all(rules: &[Automation]) -> Result<(), ParseError> {
    if rules.len() > 500 {
        return Err(err("rules", "at most 500 rules"));
    }
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for r in rules {
        r.validate()?;
        if !ids.insert(r.id) {
            return Err(err("id", format!("rule id {} twice", r.id)));
        }
        if !names.insert(r.name.trim().to_lowercase()) {
            return Err(err(
                "name",
                format!("there is already a rule named '{}'", r.name.trim()),
            ));
        }
    }
    Ok(())
}

/// What conditions look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Status.
    pub status: CaseStatus,
    /// Priority.
    pub priority: Priority,
    /// Team.
    pub team_id: Option<TeamId>,
    /// First channel.
    pub channel: Channel,
    /// The customer's tier.
    pub tier: Tier,
    /// Language.
    pub language: Option<Language>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Assigned.
    pub assigned: bool,
    /// Folded subject and text of the contact that triggered (if any).
    pub text: String,
}

impl Facts {
    /// Whether `c` holds.
    pub fn holds(&self, c: &Condition) -> bool {
        let (yes, not) = match c {
            Condition::Status { any, not } => (any.contains(&self.status), *not),
            Condition::Priority { any, not } => (any.contains(&self.priority), *not),
            Condition::Team { any, not } => (
                match self.team_id {
                    Some(t) => any.contains(&t),
                    None => any.is_empty(),
                },
                *not,
            ),
            Condition::Channel { any, not } => (any.contains(&self.channel), *not),
            Condition::Tier { any, not } => (any.contains(&self.tier), *not),
            Condition::Language { any, not } => {
                (self.language.is_some_and(|l| any.contains(&l)), *not)
            }
            Condition::Tag { tag, not } => (self.tags.contains(tag), *not),
            Condition::Assigned { is } => (self.assigned == *is, false),
            Condition::Text { any, not } => (
                any.iter().any(|w| {
                    let w = crate::text::fold(w);
                    !w.trim().is_empty() && self.text.contains(w.trim())
                }),
                *not,
            ),
        };
        yes != not
    }

    /// Whether all of `rule`'s conditions hold.
    pub fn matches(&self, rule: &Automation) -> bool {
        rule.conditions.iter().all(|c| self.holds(c))
    }

    /// Applies a field action; returns what it made happen (if it changed anything).
    fn apply(&mut self, a: &Action) -> Option<On> {
        match a {
            Action::SetStatus { status } if *status != self.status => {
                self.status = *status;
                Some(On::StatusChanged)
            }
            Action::SetPriority { priority } if *priority != self.priority => {
                self.priority = *priority;
                Some(On::PriorityChanged)
            }
            Action::SetTeam { team_id } if *team_id != self.team_id => {
                self.team_id = *team_id;
                Some(On::TeamChanged)
            }
            Action::AddTag { tag } if !self.tags.contains(tag) => {
                self.tags.push(tag.clone());
                Some(On::TagsChanged)
            }
            Action::RemoveTag { tag } if self.tags.contains(tag) => {
                self.tags.retain(|t| t != tag);
                Some(On::TagsChanged)
            }
            _ => None,
        }
    }
}

/// The update cycle of one change: the triggers (in order) that fire on `happened` given
/// `facts`, each at most once, later passes seeing earlier rules' field changes and the
/// happenings they caused. Returns the indexes of the rules that fired, in firing order.
pub fn cycle(rules: &[Automation], happened: &BTreeSet<On>, facts: &Facts) -> Vec<usize> {
    let mut facts = facts.clone();
    let mut happened = happened.clone();
    let mut fired: Vec<usize> = Vec::new();
    // Each pass fires at least one rule or ends the cycle, so there are at most as many
    // passes as rules.
    for _ in 0..=rules.len() {
        let mut any = false;
        for (i, rule) in rules.iter().enumerate() {
            if fired.contains(&i) || !rule.runs_on(&happened) || !facts.matches(rule) {
                continue;
            }
            fired.push(i);
            any = true;
            for a in &rule.actions {
                if let Some(on) = facts.apply(a) {
                    happened.insert(on);
                }
            }
        }
        if !any {
            break;
        }
    }
    fired
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(
        name: &str,
        when: When,
        conditions: Vec<Condition>,
        actions: Vec<Action>,
    ) -> Automation {
        Automation {
            id: uuid::Uuid::now_v7(),
            name: name.into(),
            active: true,
            when,
            conditions,
            actions,
        }
    }

    fn facts() -> Facts {
        Facts {
            status: CaseStatus::New,
            priority: Priority::Normal,
            team_id: None,
            channel: Channel::Email,
            tier: Tier::default(),
            language: Some(Language::De),
            tags: vec![],
            assigned: false,
            text: crate::text::fold("Wo ist meine Rückerstattung?"),
        }
    }

    fn tag(t: &str) -> Tag {
        Tag::parse(t).unwrap()
    }

    #[test]
    fn a_cycle_fires_each_rule_once_and_later_rules_see_earlier_changes() {
        let trigger = |on: Vec<On>| When::Trigger { on };
        let rules = vec![
            // Refund questions are urgent …
            rule(
                "Erstattung",
                trigger(vec![On::CaseOpened]),
                vec![Condition::Text {
                    any: vec!["Rueckerstattung".into()],
                    not: false,
                }],
                vec![
                    Action::SetPriority {
                        priority: Priority::Urgent,
                    },
                    Action::AddTag { tag: tag("geld") },
                ],
            ),
            // … urgent cases are tagged (runs on the priority change the first rule made) …
            rule(
                "Dringend markieren",
                trigger(vec![On::PriorityChanged]),
                vec![Condition::Priority {
                    any: vec![Priority::Urgent],
                    not: false,
                }],
                vec![Action::AddTag {
                    tag: tag("dringend"),
                }],
            ),
            // … and two rules that would ping-pong forever fire once each.
            rule(
                "Ping",
                trigger(vec![On::TagsChanged]),
                vec![],
                vec![Action::RemoveTag { tag: tag("geld") }],
            ),
            rule(
                "Pong",
                trigger(vec![On::TagsChanged]),
                vec![],
                vec![Action::AddTag { tag: tag("geld") }],
            ),
        ];
        let happened = [On::CaseOpened].into_iter().collect();
        assert_eq!(cycle(&rules, &happened, &facts()), vec![0, 1, 2, 3]);
        // Without the word nothing happens.
        let mut f = facts();
        f.text = crate::text::fold("Danke!");
        assert!(cycle(&rules, &happened, &f).is_empty());
    }

    #[test]
    fn conditions_hold_as_written() {
        let f = facts();
        assert!(
            f.holds(&Condition::Team {
                any: vec![],
                not: false
            }),
            "no team"
        );
        assert!(f.holds(&Condition::Assigned { is: false }));
        assert!(f.holds(&Condition::Status {
            any: vec![CaseStatus::Solved],
            not: true
        }));
        assert!(!f.holds(&Condition::Tag {
            tag: tag("vip"),
            not: false
        }));
        assert!(f.holds(&Condition::Language {
            any: vec![Language::De],
            not: false
        }));
        assert!(f.holds(&Condition::Text {
            any: vec!["rückerstattung".into()],
            not: false
        }));
    }

    #[test]
    fn rules_that_would_never_or_always_fire_are_refused() {
        let timer = |minutes| When::Timer {
            since: Since::StatusChanged,
            minutes,
        };
        let solve = vec![Action::SetStatus {
            status: CaseStatus::Solved,
        }];
        let waiting = vec![Condition::Status {
            any: vec![CaseStatus::WaitingOnCustomer],
            not: false,
        }];
        assert!(
            rule("ok", timer(14 * 24 * 60), waiting.clone(), solve.clone())
                .validate()
                .is_ok()
        );
        assert_eq!(
            rule("x", timer(0), waiting.clone(), solve.clone())
                .validate()
                .unwrap_err()
                .what,
            "when.minutes"
        );
        assert_eq!(
            rule("x", timer(u32::MAX), waiting.clone(), solve.clone())
                .validate()
                .unwrap_err()
                .what,
            "when.minutes"
        );
        let never = vec![
            Condition::Status {
                any: vec![CaseStatus::Open],
                not: false,
            },
            Condition::Status {
                any: vec![CaseStatus::Open],
                not: true,
            },
        ];
        assert_eq!(
            rule("x", timer(60), never, solve.clone())
                .validate()
                .unwrap_err()
                .what,
            "conditions"
        );
        assert_eq!(
            rule("x", When::Trigger { on: vec![] }, vec![], solve.clone())
                .validate()
                .unwrap_err()
                .what,
            "when.on"
        );
        assert_eq!(
            rule("x", timer(60), vec![], vec![])
                .validate()
                .unwrap_err()
                .what,
            "actions"
        );
        let hook = vec![Action::Webhook {
            url: "ftp://x".into(),
            secret: String::new(),
        }];
        assert_eq!(
            rule("x", timer(60), vec![], hook)
                .validate()
                .unwrap_err()
                .what,
            "actions.url"
        );
        let weak = vec![Action::Webhook {
            url: "https://x.example/hook".into(),
            secret: "kurz".into(),
        }];
        assert_eq!(
            rule("x", timer(60), vec![], weak)
                .validate()
                .unwrap_err()
                .what,
            "actions.secret"
        );
        let bad_reply = vec![Action::SendReply {
            body_de: "Hallo {{kunde}}".into(),
            body_en: String::new(),
        }];
        assert!(rule("x", timer(60), vec![], bad_reply).validate().is_err());
        let twice = [
            rule("A", timer(60), vec![], solve.clone()),
            rule("a", timer(60), vec![], solve),
        ];
        assert_eq!(validate_all(&twice).unwrap_err().what, "name");
    }
}
