//! Agents: staff users with roles, skills, languages and capacity.

use std::fmt;

use jiff::Timestamp;

use crate::{AgentId, EmailAddress, Language, ParseError, TeamId, TimeZoneName};

/// What an agent may do. Ordered: each role can do everything the ones below it can.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works cases.
    Agent,
    /// Also oversees teams, undoes merges, sees escalations.
    Supervisor,
    /// Also manages agents, teams, tokens and settings.
    Admin,
}

impl Role {
    /// Parses `agent`, `supervisor` or `admin`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "agent" => Ok(Self::Agent),
            "supervisor" => Ok(Self::Supervisor),
            "admin" => Ok(Self::Admin),
            _ => Err(ParseError::new(
                "role",
                format!("'{raw}' is not a role (agent, supervisor, admin)"),
            )),
        }
    }

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    /// Whether this role includes `other`.
    pub fn includes(&self, other: Role) -> bool {
        *self >= other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Login and notification address.
    pub email: EmailAddress,
    /// Display name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Skills used for routing ("carriers", "refunds").
    pub skills: Vec<String>,
    /// Languages it answers in.
    pub languages: Vec<Language>,
    /// Language of its user interface.
    pub ui_language: Language,
    /// Its time zone.
    pub time_zone: TimeZoneName,
    /// Teams it works in.
    pub teams: Vec<TeamId>,
    /// Inactive agents cannot sign in and get no work.
    pub active: bool,
    /// Online for automatic assignment (away: none).
    #[serde(default = "yes")]
    pub available: bool,
    /// Most open cases automatic assignment gives it (`None`: the team's limit).
    #[serde(default)]
    pub max_open: Option<u32>,
    /// When it was created.
    pub created_at: Timestamp,
}

fn yes() -> bool {
    true
}

/// Checks a skill name: lower-case words joined by `-`/`_`, up to 48 characters.
pub fn parse_skill(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty()
        || s.chars().count() > 48
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ParseError::new(
            "skill",
            format!("'{raw}' is not a skill name (letters, digits, - and _)"),
        ));
    }
    Ok(s)
}

/// Whether `agent` may see `case`: supervisors and admins see every case; an agent in teams
/// sees their teams' cases, cases without a team and cases assigned to them; an agent in no
/// team sees every case. Pages, the API and notifications apply this one rule.
pub fn can_see(agent: &Agent, case: &crate::Case) -> bool {
    agent.role != Role::Agent
        || agent.teams.is_empty()
        || case.assignee_id == Some(agent.id)
        || case.team_id.is_none_or(|t| agent.teams.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.includes(Role::Supervisor));
        assert!(Role::Supervisor.includes(Role::Agent));
        assert!(!Role::Agent.includes(Role::Supervisor));
        assert_eq!(Role::parse("Admin"), Ok(Role::Admin));
        assert!(Role::parse("root").is_err());
        assert_eq!(parse_skill("Carriers"), Ok("carriers".into()));
        assert!(parse_skill("two words").is_err());
    }

    #[test]
    fn who_sees_which_case() {
        use crate::{Case, CaseId, CaseRef, CaseStatus, Channel, CustomerId, Priority, TeamId};
        let (t1, t2) = (TeamId::new(), TeamId::new());
        let agent = |role: Role, teams: Vec<TeamId>| Agent {
            id: AgentId::new(),
            email: crate::EmailAddress::parse("a@shop.example").unwrap(),
            name: "A".into(),
            role,
            skills: vec![],
            languages: vec![],
            ui_language: crate::Language::De,
            time_zone: crate::TimeZoneName::berlin(),
            teams,
            active: true,
            available: true,
            max_open: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let case = |team: Option<TeamId>, assignee: Option<AgentId>| Case {
            id: CaseId::new(),
            reference: CaseRef::from_number(10001),
            subject: "x".into(),
            customer_id: CustomerId::new(),
            status: CaseStatus::Open,
            priority: Priority::Normal,
            team_id: team,
            assignee_id: assignee,
            tags: vec![],
            fields: Default::default(),
            channel: Channel::Email,
            language: None,
            follow_up_of: None,
            contact_count: 1,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            waiting_since: None,
            repeat_count: 0,
            escalation_level: 0,
            sla_due: None,
        };
        let a = agent(Role::Agent, vec![t1]);
        assert!(can_see(&a, &case(Some(t1), None)));
        assert!(can_see(&a, &case(None, None)));
        assert!(!can_see(&a, &case(Some(t2), None)));
        assert!(can_see(&a, &case(Some(t2), Some(a.id))));
        assert!(can_see(
            &agent(Role::Supervisor, vec![t1]),
            &case(Some(t2), None)
        ));
        assert!(can_see(&agent(Role::Agent, vec![]), &case(Some(t2), None)));
    }
}
