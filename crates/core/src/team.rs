//! Teams: groups of agents with a queue.

use jiff::Timestamp;

use crate::{ParseError, TeamId};

/// A group of agents with a queue (e.g. "vendor services", "carriers", "trust & safety").
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Team {
    /// Its id.
    pub id: TeamId,
    /// Its unique name.
    pub name: String,
    /// What the team handles.
    pub description: String,
    /// How it hands out cases.
    #[serde(default)]
    pub assignment: crate::routing::TeamAssignment,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Checks a display name (team, agent, customer): trimmed, 1 to 200 printable characters.
pub fn parse_name(what: &'static str, raw: &str) -> Result<String, ParseError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(ParseError::new(
            what,
            format!("a {what} must have 1 to 200 printable characters"),
        ));
    }
    Ok(n.to_owned())
}
