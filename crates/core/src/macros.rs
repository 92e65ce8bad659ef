//! Macros: a named reply template (German and English) plus case changes an agent applies in
//! one step. Templates know a fixed set of placeholders (`{{customer.name}}`, `{{case.ref}}`,
//! `{{agent.name}}`, …); an unknown or unclosed placeholder is refused when the macro is saved,
//! so a typo never reaches a customer.

use jiff::Timestamp;

use crate::{CaseStatus, Language, MacroId, ParseError, Priority, Tag, TeamId};

/// Placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.name",
    "customer.first_name",
    "customer.email",
    "case.ref",
    "case.subject",
    "agent.name",
    "agent.first_name",
];

/// The case changes of a macro.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MacroActions {
    /// Set this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CaseStatus>,
    /// Set this priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Add these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<Tag>,
    /// Hand the case to this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// Assign the case to the agent applying the macro.
    #[serde(default)]
    pub assign_to_me: bool,
    /// Record a promise owned by the agent applying the macro ("Rückruf bis morgen").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise: Option<MacroPromise>,
}

/// A promise a macro records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MacroPromise {
    /// What is promised.
    pub what: String,
    /// Due this many business minutes (of the case team's calendar) after the macro is applied.
    pub due_in_minutes: u32,
}

impl MacroPromise {
    /// Checks words and due time (1 minute to a year of business time).
    pub fn check(&self) -> Result<(), ParseError> {
        crate::promise::parse_what(&self.what)?;
        if self.due_in_minutes == 0 || self.due_in_minutes > 366 * 24 * 60 {
            return Err(ParseError::new(
                "promise_due",
                "a promise is due 1 minute to a year of business time later",
            ));
        }
        Ok(())
    }
}

/// A macro.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Macro {
    /// Its id.
    pub id: MacroId,
    /// Its name (unique).
    pub name: String,
    /// German reply text (may be empty: the macro only changes the case).
    pub body_de: String,
    /// English reply text.
    pub body_en: String,
    /// Case changes.
    pub actions: MacroActions,
    /// Offered to agents.
    pub active: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl Macro {
    /// The reply text in `lang` (the other language when that one is empty).
    pub fn body(&self, lang: Language) -> &str {
        let (first, other) = match lang {
            Language::En => (&self.body_en, &self.body_de),
            _ => (&self.body_de, &self.body_en),
        };
        if first.trim().is_empty() {
            other
        } else {
            first
        }
    }
}

/// Checks a template: every `{{ … }}` is closed and names a known placeholder.
pub fn check_template(what: &'static str, body: &str) -> Result<(), ParseError> {
    if body.chars().count() > 20_000 {
        return Err(ParseError::new(
            what,
            "a template has at most 20,000 characters",
        ));
    }
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find("}}") else {
            return Err(ParseError::new(what, "a placeholder is not closed with }}"));
        };
        let name = after.get(..end).unwrap_or("").trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(ParseError::new(
                what,
                format!(
                    "unknown placeholder {{{{{name}}}}}; known are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        rest = after.get(end + 2..).unwrap_or("");
    }
    Ok(())
}

/// Fills a template's placeholders with `value(name)` (empty when unknown).
pub fn render(body: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        match after.find("}}") {
            Some(end) => {
                let name = after.get(..end).unwrap_or("").trim();
                out.push_str(&value(name).unwrap_or_default());
                rest = after.get(end + 2..).unwrap_or("");
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first word of a name ("Petra" of "Petra Hoffmann").
pub fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_checked_and_rendered() {
        assert!(
            check_template(
                "body_de",
                "Hallo {{customer.name}}, Ihr Fall {{ case.ref }}."
            )
            .is_ok()
        );
        let e = check_template("body_de", "Hallo {{kunde.name}}").unwrap_err();
        assert!(
            e.message.contains("unknown placeholder {{kunde.name}}"),
            "{}",
            e.message
        );
        assert!(check_template("body_de", "Hallo {{customer.name").is_err());
        let out = render(
            "Hallo {{customer.first_name}}, zu {{case.ref}}: {{x}}",
            |n| match n {
                "customer.first_name" => Some("Petra".into()),
                "case.ref" => Some("A-10042".into()),
                _ => None,
            },
        );
        assert_eq!(out, "Hallo Petra, zu A-10042: ");
        assert_eq!(render("{{ offen", |_| None), "{{ offen");
        assert_eq!(first_name("Petra Hoffmann"), "Petra");
    }
}
