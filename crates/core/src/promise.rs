//! Promises: what an agent told a customer would happen, by when, and who answers for it. Every
//! promise is an object with an owner and a due time; it ends kept (on time or late) or
//! cancelled, and an open one past its due time is overdue — which escalates the case.

use jiff::Timestamp;

use crate::{AgentId, CaseId, ParseError, PromiseId};

/// Where a promise stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseStatus {
    /// Not kept yet (overdue once past its due time).
    Open,
    /// Kept.
    Kept,
    /// Withdrawn (with a reason), e.g. the customer no longer needs it.
    Cancelled,
}

impl PromiseStatus {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Kept => "kept",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "open" => Ok(Self::Open),
            "kept" => Ok(Self::Kept),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(ParseError::new(
                "status",
                format!("'{raw}' is not a promise status (open, kept, cancelled)"),
            )),
        }
    }
}

/// What kind of promise.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PromiseKind {
    /// Anything an agent promised.
    #[default]
    Promise,
    /// A call-back the customer asked for (a number and a time window).
    Callback,
}

impl PromiseKind {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Promise => "promise",
            Self::Callback => "callback",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "promise" => Ok(Self::Promise),
            "callback" => Ok(Self::Callback),
            _ => Err(ParseError::new(
                "kind",
                format!("'{raw}' is not a kind of promise"),
            )),
        }
    }
}

/// A promise on a case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Promise {
    /// Its id.
    pub id: PromiseId,
    /// The case.
    pub case_id: CaseId,
    /// Who answers for it.
    pub owner_id: AgentId,
    /// What was promised ("Rückruf mit dem Ergebnis der Lagersuche").
    pub what: String,
    /// By when.
    pub due_at: Timestamp,
    /// Where it stands.
    pub status: PromiseStatus,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was kept or cancelled.
    pub closed_at: Option<Timestamp>,
    /// Whether it was kept by its due time (kept promises only).
    pub on_time: Option<bool>,
    /// Whether it went past its due time while open (escalated).
    pub overdue: bool,
    /// How it ended (a note on keeping, the reason for cancelling).
    pub note: String,
    /// A promise or a call-back.
    #[serde(default)]
    pub kind: PromiseKind,
    /// A call-back's window starts (it is due at the window's end).
    #[serde(default)]
    pub window_from: Option<Timestamp>,
    /// A call-back's number (E.164).
    #[serde(default)]
    pub phone: Option<String>,
}

impl Promise {
    /// A new open promise of `kind` Promise; set `kind`, `window_from` and `phone` for a
    /// call-back.
    pub fn new(
        case_id: CaseId,
        owner_id: AgentId,
        what: String,
        due_at: Timestamp,
        now: Timestamp,
    ) -> Self {
        Self {
            id: PromiseId::new(),
            case_id,
            owner_id,
            what,
            due_at,
            status: PromiseStatus::Open,
            created_at: now,
            closed_at: None,
            on_time: None,
            overdue: false,
            note: String::new(),
            kind: PromiseKind::Promise,
            window_from: None,
            phone: None,
        }
    }
}

/// The language and time zone a customer reads due times in: their own, else the case's
/// language and Europe/Berlin.
pub fn customer_locale(
    customer: Option<&crate::Customer>,
    case_language: Option<crate::Language>,
) -> (crate::Language, jiff::tz::TimeZone) {
    let lang = customer
        .and_then(|c| c.language)
        .or(case_language)
        .unwrap_or(crate::Language::De);
    let tz = customer
        .and_then(|c| c.time_zone.as_ref())
        .map(crate::TimeZoneName::zone)
        .unwrap_or_else(crate::language::berlin_zone);
    (lang, tz)
}

/// Checks what is promised: 1–500 characters, no control characters but line breaks.
pub fn parse_what(raw: &str) -> Result<String, ParseError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 500 {
        return Err(ParseError::new(
            "what",
            "say what was promised in 1 to 500 characters",
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ParseError::new(
            "what",
            "control characters are not allowed",
        ));
    }
    Ok(t.to_owned())
}

/// Checks a due time: after `now` and within two years.
pub fn check_due(due: Timestamp, now: Timestamp) -> Result<(), ParseError> {
    if due <= now {
        return Err(ParseError::new(
            "due_at",
            "a promise is due in the future; record what already happened as a note",
        ));
    }
    if due.duration_since(now) > jiff::SignedDuration::from_hours(2 * 366 * 24) {
        return Err(ParseError::new(
            "due_at",
            "a promise is due within two years",
        ));
    }
    Ok(())
}

/// "bis Freitag, 14:00 Uhr" / "by Friday, 2:00 pm": a due time as customers read it, in their
/// language and time zone (the date too when it is more than six days away).
pub fn due_phrase(
    due: Timestamp,
    now: Timestamp,
    tz: &jiff::tz::TimeZone,
    lang: crate::Language,
) -> String {
    let z = due.to_zoned_datetime(tz.clone());
    let days = due.duration_since(now).as_hours() / 24;
    let (de, en) = match z.weekday() {
        jiff::civil::Weekday::Monday => ("Montag", "Monday"),
        jiff::civil::Weekday::Tuesday => ("Dienstag", "Tuesday"),
        jiff::civil::Weekday::Wednesday => ("Mittwoch", "Wednesday"),
        jiff::civil::Weekday::Thursday => ("Donnerstag", "Thursday"),
        jiff::civil::Weekday::Friday => ("Freitag", "Friday"),
        jiff::civil::Weekday::Saturday => ("Samstag", "Saturday"),
        jiff::civil::Weekday::Sunday => ("Sonntag", "Sunday"),
    };
    let (h, m) = (z.hour(), z.minute());
    match lang {
        crate::Language::De => {
            let date = if days >= 6 {
                format!(" {}.{}.{}", z.day(), z.month(), z.year())
            } else {
                String::new()
            };
            format!("bis {de}{date}, {h}:{m:02} Uhr")
        }
        crate::Language::En => {
            let date = if days >= 6 {
                format!(" {} {}", z.day(), month_en(z.month()))
            } else {
                String::new()
            };
            let (h12, ampm) = match h {
                0 => (12, "am"),
                1..=11 => (h, "am"),
                12 => (12, "pm"),
                _ => (h - 12, "pm"),
            };
            format!("by {en}{date}, {h12}:{m:02} {ampm}")
        }
    }
}

fn month_en(m: i8) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(usize::try_from(m - 1).unwrap_or(0))
    .copied()
    .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_phrases_read_naturally() {
        let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let now: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        let fri: Timestamp = "2026-12-04T13:00:00Z".parse().unwrap();
        assert_eq!(
            due_phrase(fri, now, &tz, crate::Language::De),
            "bis Freitag, 14:00 Uhr"
        );
        assert_eq!(
            due_phrase(fri, now, &tz, crate::Language::En),
            "by Friday, 2:00 pm"
        );
        let later: Timestamp = "2026-12-15T08:30:00Z".parse().unwrap();
        assert_eq!(
            due_phrase(later, now, &tz, crate::Language::De),
            "bis Dienstag 15.12.2026, 9:30 Uhr"
        );
        assert_eq!(
            due_phrase(later, now, &tz, crate::Language::En),
            "by Tuesday 15 December, 9:30 am"
        );
    }

    #[test]
    fn promises_are_checked() {
        let now: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        assert!(check_due(now, now).is_err());
        assert!(check_due(now - jiff::SignedDuration::from_hours(1), now).is_err());
        assert!(check_due(now + jiff::SignedDuration::from_hours(1), now).is_ok());
        assert!(check_due(now + jiff::SignedDuration::from_hours(24 * 800), now).is_err());
        assert!(parse_what("  ").is_err());
        assert!(parse_what(&"x".repeat(501)).is_err());
        assert_eq!(parse_what(" Rückruf ").unwrap(), "Rückruf");
        assert_eq!(PromiseStatus::parse("kept").unwrap(), PromiseStatus::Kept);
        assert!(PromiseStatus::parse("broken").is_err());
    }
}
