//! Routing: ordered rules send a new case to a team with a priority; within the team, an agent
//! is chosen by skill and language match, capacity and availability, round-robin or
//! least-loaded. Pure: the store gathers the facts and records the decision as an event.

use std::collections::BTreeSet;

use crate::text::fold;
use crate::{
    AgentId, Channel, Language, MailboxId, OrganisationId, ParseError, Priority, RuleId, TeamId,
};

/// What a rule looks at. Every given condition must hold; an empty list holds always.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Conditions {
    /// Channels of the first contact.
    pub channels: Vec<Channel>,
    /// Languages of the conversation.
    pub languages: Vec<Language>,
    /// Topics: the form's topic field, or the kind of problem the text is about
    /// (`missing`, `damaged`, `refund`, … see [`crate::concern::topics`]).
    pub topics: Vec<String>,
    /// The customer's organisation.
    pub organisation_ids: Vec<OrganisationId>,
    /// The customer's tier (`premium`).
    pub tiers: Vec<String>,
    /// Words or phrases in the subject or text (any of them; folded, so `Rücksendung` finds
    /// `Ruecksendung`).
    pub keywords: Vec<String>,
    /// The mailbox a mail came to.
    pub mailbox_ids: Vec<MailboxId>,
}

/// An ordered routing rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoutingRule {
    /// Its id.
    pub id: RuleId,
    /// Position: lower first.
    pub position: i64,
    /// A name for admins ("Premium-Kunden zuerst").
    pub name: String,
    /// Switched on.
    pub active: bool,
    /// When it applies.
    pub conditions: Conditions,
    /// Team to send the case to (`None`: keep).
    pub team_id: Option<TeamId>,
    /// Priority to set (`None`: keep).
    pub priority: Option<Priority>,
}

/// What routing knows about a new case.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Channel of the first contact.
    pub channel: Option<Channel>,
    /// Language of the conversation.
    pub language: Option<Language>,
    /// The form's topic field.
    pub form_topic: Option<&'a str>,
    /// Subject and text.
    pub text: &'a str,
    /// The customer's organisation.
    pub organisation_id: Option<OrganisationId>,
    /// The customer's tier.
    pub tier: Option<&'a str>,
    /// The mailbox.
    pub mailbox_id: Option<MailboxId>,
}

impl Conditions {
    /// Checks names and sizes of an admin's input.
    pub fn validate(&self) -> Result<(), ParseError> {
        let bad = |m: String| Err(ParseError::new("routing rule", m));
        if self.keywords.len() > 200 || self.topics.len() > 50 {
            return bad("at most 200 keywords and 50 topics".into());
        }
        for k in &self.keywords {
            if fold(k).trim().is_empty() || k.chars().count() > 100 {
                return bad(format!(
                    "'{k}' is not a keyword (1 to 100 characters with a letter or digit)"
                ));
            }
        }
        for t in &self.topics {
            if t.trim().is_empty() || t.chars().count() > 64 {
                return bad(format!("'{t}' is not a topic"));
            }
        }
        Ok(())
    }

    /// Whether every given condition holds for `facts`.
    pub fn hold(&self, facts: &Facts<'_>) -> bool {
        let any = |list_empty: bool, ok: bool| list_empty || ok;
        any(
            self.channels.is_empty(),
            facts.channel.is_some_and(|c| self.channels.contains(&c)),
        ) && any(
            self.languages.is_empty(),
            facts.language.is_some_and(|l| self.languages.contains(&l)),
        ) && any(
            self.organisation_ids.is_empty(),
            facts
                .organisation_id
                .is_some_and(|o| self.organisation_ids.contains(&o)),
        ) && any(
            self.tiers.is_empty(),
            facts
                .tier
                .is_some_and(|t| self.tiers.iter().any(|x| x.eq_ignore_ascii_case(t))),
        ) && any(
            self.mailbox_ids.is_empty(),
            facts
                .mailbox_id
                .is_some_and(|m| self.mailbox_ids.contains(&m)),
        ) && any(self.topics.is_empty(), self.topic_holds(facts))
            && any(
                self.keywords.is_empty(),
                self.keyword_in(facts.text).is_some(),
            )
    }

    fn topic_holds(&self, facts: &Facts<'_>) -> bool {
        let form = facts.form_topic.map(fold);
        let found: BTreeSet<&str> = crate::concern::topics(facts.text);
        self.topics.iter().any(|t| {
            let ft = fold(t);
            form.as_deref() == Some(ft.as_str()) || found.contains(ft.as_str())
        })
    }

    /// The first keyword found in `text`, whole words after folding.
    pub fn keyword_in(&self, text: &str) -> Option<&str> {
        keyword_in(&self.keywords, text)
    }
}

/// The first of `keywords` that occurs in `text` as whole words, after folding both.
pub fn keyword_in<'k>(keywords: &'k [String], text: &str) -> Option<&'k str> {
    let hay = format!(" {} ", fold(text));
    keywords
        .iter()
        .find(|k| {
            let k = fold(k);
            !k.trim().is_empty() && hay.contains(&format!(" {} ", k.trim()))
        })
        .map(String::as_str)
}

/// The first active rule, by position, whose conditions hold.
pub fn route<'r>(rules: &'r [RoutingRule], facts: &Facts<'_>) -> Option<&'r RoutingRule> {
    let mut ordered: Vec<&RoutingRule> = rules.iter().filter(|r| r.active).collect();
    ordered.sort_by_key(|r| (r.position, r.id));
    ordered.into_iter().find(|r| r.conditions.hold(facts))
}

/// How a team hands out its cases.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum AssignMode {
    /// Cases wait in the team queue; agents take them.
    #[default]
    Manual,
    /// In turn, among the best-matching agents with room.
    RoundRobin,
    /// To the best-matching agent with the fewest open cases.
    LeastLoaded,
}

impl AssignMode {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::RoundRobin => "round_robin",
            Self::LeastLoaded => "least_loaded",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim() {
            "manual" => Ok(Self::Manual),
            "round_robin" => Ok(Self::RoundRobin),
            "least_loaded" => Ok(Self::LeastLoaded),
            other => Err(ParseError::new(
                "assignment mode",
                format!("'{other}' is not manual, round_robin or least_loaded"),
            )),
        }
    }
}

/// A team's assignment settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TeamAssignment {
    /// How.
    pub mode: AssignMode,
    /// Most open cases an agent holds (an agent's own limit, where set, wins).
    pub max_open: u32,
    /// Skills a case of this team needs (an agent with them is preferred).
    pub skills: Vec<String>,
}

impl Default for TeamAssignment {
    fn default() -> Self {
        Self {
            mode: AssignMode::Manual,
            max_open: 20,
            skills: Vec::new(),
        }
    }
}

/// An agent as assignment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Who.
    pub id: AgentId,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    pub languages: Vec<Language>,
    /// Open cases assigned now.
    pub open: u32,
    /// Own limit of open cases, if set.
    pub max_open: Option<u32>,
    /// Online (not away, active).
    pub available: bool,
}

/// Why an agent was (or no agent was) chosen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Assignment {
    /// Assigned.
    Assigned {
        /// To whom.
        agent_id: AgentId,
        /// Speaks the case's language.
        language_match: bool,
        /// Has the skills the team asks for.
        skill_match: bool,
        /// Their open cases before this one.
        open_before: u32,
    },
    /// The team assigns by hand.
    Manual,
    /// Nobody available with room.
    NobodyFree,
}

/// Chooses an agent for a new case of a team: only available agents below their capacity; among
/// them those who speak the case's language and have the team's skills are preferred, then the
/// language alone, then the skills alone, then anyone. Round-robin takes the first such agent
/// after `cursor` (the last one assigned) in id order; least-loaded takes the one with the
/// fewest open cases, ties in round-robin order.
pub fn assign(
    settings: &TeamAssignment,
    candidates: &[Candidate],
    language: Option<Language>,
    cursor: Option<AgentId>,
) -> Assignment {
    if settings.mode == AssignMode::Manual {
        return Assignment::Manual;
    }
    let room = |c: &Candidate| c.open < c.max_open.unwrap_or(settings.max_open);
    let speaks = |c: &Candidate| language.is_none_or(|l| c.languages.contains(&l));
    let skilled = |c: &Candidate| settings.skills.iter().all(|s| c.skills.contains(s));
    let mut free: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.available && room(c))
        .collect();
    if free.is_empty() {
        return Assignment::NobodyFree;
    }
    free.sort_by_key(|c| c.id);
    free.dedup_by_key(|c| c.id);
    let score = |c: &Candidate| u8::from(speaks(c)) * 2 + u8::from(skilled(c));
    let best = free.iter().map(|c| score(c)).max().unwrap_or(0);
    let tier: Vec<&Candidate> = free.into_iter().filter(|c| score(c) == best).collect();
    // Round-robin order: the agents after the cursor first, then from the start.
    let start = cursor.map_or(0, |cur| tier.iter().take_while(|c| c.id <= cur).count());
    let mut ordered: Vec<&Candidate> = tier.iter().skip(start).copied().collect();
    ordered.extend(tier.iter().take(start).copied());
    let chosen = match settings.mode {
        AssignMode::LeastLoaded => {
            let min = ordered.iter().map(|c| c.open).min().unwrap_or(0);
            ordered.into_iter().find(|c| c.open == min)
        }
        _ => ordered.into_iter().next(),
    };
    match chosen {
        Some(c) => Assignment::Assigned {
            agent_id: c.id,
            language_match: speaks(c),
            skill_match: skilled(c),
            open_before: c.open,
        },
        None => Assignment::NobodyFree,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(pos: i64, c: Conditions, team: TeamId) -> RoutingRule {
        RoutingRule {
            id: RuleId::new(),
            position: pos,
            name: format!("r{pos}"),
            active: true,
            conditions: c,
            team_id: Some(team),
            priority: None,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_conditions_combine() {
        let (vendor, premium, en) = (TeamId::new(), TeamId::new(), TeamId::new());
        let rules = vec![
            rule(
                3,
                Conditions {
                    languages: vec![Language::En],
                    ..Default::default()
                },
                en,
            ),
            rule(
                1,
                Conditions {
                    tiers: vec!["premium".into()],
                    ..Default::default()
                },
                premium,
            ),
            rule(
                2,
                Conditions {
                    keywords: vec!["Buchpreisbindung".into(), "Verlag".into()],
                    channels: vec![Channel::Email],
                    ..Default::default()
                },
                vendor,
            ),
        ];
        let facts = Facts {
            channel: Some(Channel::Email),
            language: Some(Language::De),
            text: "Als VERLAG möchte ich …",
            ..Default::default()
        };
        assert_eq!(route(&rules, &facts).and_then(|r| r.team_id), Some(vendor));
        let phone = Facts {
            channel: Some(Channel::Phone),
            ..facts.clone()
        };
        assert!(route(&rules, &phone).is_none());
        let premium_en = Facts {
            tier: Some("premium"),
            language: Some(Language::En),
            ..facts
        };
        assert_eq!(
            route(&rules, &premium_en).and_then(|r| r.team_id),
            Some(premium)
        );
    }

    #[test]
    fn topics_from_form_or_text() {
        let c = Conditions {
            topics: vec!["damaged".into()],
            ..Default::default()
        };
        assert!(c.hold(&Facts {
            text: "Die Vase kam zerbrochen an",
            ..Default::default()
        }));
        assert!(c.hold(&Facts {
            form_topic: Some("Damaged"),
            text: "siehe Foto",
            ..Default::default()
        }));
        assert!(!c.hold(&Facts {
            text: "Wo ist meine Rechnung?",
            ..Default::default()
        }));
    }

    fn cand(n: u128, open: u32, langs: &[Language]) -> Candidate {
        Candidate {
            id: AgentId(uuid::Uuid::from_u128(n)),
            skills: vec![],
            languages: langs.to_vec(),
            open,
            max_open: None,
            available: true,
        }
    }

    #[test]
    fn language_match_is_preferred_and_away_agents_get_nothing() {
        let s = TeamAssignment {
            mode: AssignMode::RoundRobin,
            ..Default::default()
        };
        let mut c = vec![cand(1, 0, &[Language::De]), cand(2, 0, &[Language::En])];
        let got = assign(&s, &c, Some(Language::En), None);
        assert!(
            matches!(got, Assignment::Assigned { agent_id, language_match: true, .. } if agent_id == c[1].id)
        );
        c[1].available = false;
        let got = assign(&s, &c, Some(Language::En), None);
        assert!(
            matches!(got, Assignment::Assigned { agent_id, language_match: false, .. } if agent_id == c[0].id)
        );
        c[0].open = 20;
        assert_eq!(
            assign(&s, &c, Some(Language::En), None),
            Assignment::NobodyFree
        );
    }

    proptest! {
        /// However cases arrive, nobody is given more than their capacity.
        #[test]
        fn capacity_is_never_exceeded(
            caps in proptest::collection::vec((0u32..6, proptest::option::of(0u32..6), any::<bool>()), 1..8),
            cases in 1usize..80,
            least in any::<bool>(),
            team_max in 0u32..6,
        ) {
            let s = TeamAssignment {
                mode: if least { AssignMode::LeastLoaded } else { AssignMode::RoundRobin },
                max_open: team_max,
                skills: vec![],
            };
            let mut c: Vec<Candidate> = caps.iter().enumerate().map(|(i, (open, own, avail))| Candidate {
                id: AgentId(uuid::Uuid::from_u128(i as u128 + 1)),
                skills: vec![],
                languages: vec![Language::De],
                open: *open,
                max_open: *own,
                available: *avail,
            }).collect();
            let mut cursor = None;
            for _ in 0..cases {
                match assign(&s, &c, Some(Language::De), cursor) {
                    Assignment::Assigned { agent_id, .. } => {
                        let a = c.iter_mut().find(|x| x.id == agent_id).unwrap();
                        prop_assert!(a.available);
                        a.open += 1;
                        prop_assert!(a.open <= a.max_open.unwrap_or(team_max));
                        cursor = Some(agent_id);
                    }
                    Assignment::NobodyFree => {
                        prop_assert!(c.iter().all(|a| !a.available || a.open >= a.max_open.unwrap_or(team_max)));
                    }
                    Assignment::Manual => prop_assert!(false),
                }
            }
        }

        /// Round-robin among equal agents: after any number of cases, counts differ by one at most.
        #[test]
        fn round_robin_is_fair(n in 1usize..9, cases in 0usize..100) {
            let s = TeamAssignment { mode: AssignMode::RoundRobin, max_open: 1000, skills: vec![] };
            let c: Vec<Candidate> = (0..n).map(|i| cand(i as u128 + 1, 0, &[Language::De])).collect();
            let mut counts = vec![0u32; n];
            let mut cursor = None;
            for _ in 0..cases {
                if let Assignment::Assigned { agent_id, .. } = assign(&s, &c, None, cursor) {
                    let i = c.iter().position(|x| x.id == agent_id).unwrap();
                    counts[i] += 1;
                    cursor = Some(agent_id);
                }
            }
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(max - min <= 1, "{counts:?}");
        }

        /// Least-loaded evens out the load.
        #[test]
        fn least_loaded_levels(opens in proptest::collection::vec(0u32..10, 1..6), cases in 0usize..60) {
            let s = TeamAssignment { mode: AssignMode::LeastLoaded, max_open: 1000, skills: vec![] };
            let mut c: Vec<Candidate> = opens.iter().enumerate().map(|(i, o)| cand(i as u128 + 1, *o, &[])).collect();
            let mut cursor = None;
            for _ in 0..cases {
                let min = c.iter().map(|x| x.open).min().unwrap();
                if let Assignment::Assigned { agent_id, open_before, .. } = assign(&s, &c, None, cursor) {
                    prop_assert_eq!(open_before, min);
                    c.iter_mut().find(|x| x.id == agent_id).unwrap().open += 1;
                    cursor = Some(agent_id);
                }
            }
        }
    }
}
