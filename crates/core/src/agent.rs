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
    /// When it was created.
    pub created_at: Timestamp,
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
}
