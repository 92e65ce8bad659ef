//! Cases: one concern of one customer, and the rules of its lifecycle.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

use crate::{AgentId, CaseId, Channel, CustomerId, Language, ParseError, TeamId};

/// The human reference of a case, `A-10042`. Shown to customers and found in subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseRef(u64);

impl CaseRef {
    /// The first number handed out; references look like real ones from the start.
    pub const FIRST: u64 = 10001;

    /// The reference of case number `n`.
    pub fn from_number(n: u64) -> Self {
        Self(n)
    }

    /// Parses `A-10042` (case-insensitive, surrounding space ignored).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = || {
            ParseError::new(
                "case reference",
                format!("'{raw}' is not a case reference like A-10042"),
            )
        };
        let s = raw.trim();
        let digits = s
            .strip_prefix("A-")
            .or_else(|| s.strip_prefix("a-"))
            .ok_or_else(err)?;
        if digits.is_empty()
            || digits.len() > 12
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(err());
        }
        digits.parse().map(Self).map_err(|_| err())
    }

    /// The case number.
    pub fn number(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A-{}", self.0)
    }
}

impl serde::Serialize for CaseRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CaseRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a case stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Nobody has worked on it yet.
    New,
    /// Being worked on.
    Open,
    /// We asked the customer and wait for the answer.
    WaitingOnCustomer,
    /// We wait for a carrier, warehouse, seller…
    WaitingOnThirdParty,
    /// Solved; a customer reply reopens it.
    Solved,
    /// Final; a customer reply opens a follow-up case.
    Closed,
}

/// What a status change is not allowed to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a case cannot go from {from} to {to}")]
pub struct IllegalTransition {
    /// Status before.
    pub from: CaseStatus,
    /// Status asked for.
    pub to: CaseStatus,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 6] = [
        Self::New,
        Self::Open,
        Self::WaitingOnCustomer,
        Self::WaitingOnThirdParty,
        Self::Solved,
        Self::Closed,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::WaitingOnThirdParty => "waiting_on_third_party",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim()).ok_or_else(|| {
            ParseError::new(
                "status",
                format!("'{raw}' is not a status (new, open, waiting_on_customer, waiting_on_third_party, solved, closed)"),
            )
        })
    }

    /// Whether an agent may move a case from `self` to `to`. Staying put is always allowed
    /// (and changes nothing); `closed` is final; nothing goes back to `new`.
    pub fn can_become(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        if self == to {
            return true;
        }
        match (self, to) {
            (_, New) | (Closed, _) => false,
            (Solved, Open | Closed) => true,
            (Solved, _) | (_, Closed) => false,
            _ => true,
        }
    }

    /// The checked transition: `Ok(None)` when nothing changes.
    pub fn transition(self, to: CaseStatus) -> Result<Option<CaseStatus>, IllegalTransition> {
        if self == to {
            Ok(None)
        } else if self.can_become(to) {
            Ok(Some(to))
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Whether the case is still being worked on (not solved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Solved | Self::Closed)
    }

    /// What a new contact from the customer does to a case in this status.
    pub fn on_customer_contact(self) -> CustomerContactEffect {
        match self {
            Self::New | Self::Open => CustomerContactEffect::Stays,
            Self::WaitingOnCustomer | Self::WaitingOnThirdParty => {
                CustomerContactEffect::BecomesOpen
            }
            Self::Solved => CustomerContactEffect::Reopens,
            Self::Closed => CustomerContactEffect::OpensFollowUp,
        }
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The consequence of a customer writing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerContactEffect {
    /// The status stays as it is.
    Stays,
    /// A waiting case becomes open again.
    BecomesOpen,
    /// A solved case is reopened (recorded as its own event).
    Reopens,
    /// The case is closed: the contact opens a follow-up case linked to it.
    OpensFollowUp,
}

/// How urgent a case is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The usual.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new(
                    "priority",
                    format!("'{raw}' is not a priority (low, normal, high, urgent)"),
                )
            })
    }

    /// Sort rank, most urgent first (0).
    pub fn rank(&self) -> i64 {
        match self {
            Self::Urgent => 0,
            Self::High => 1,
            Self::Normal => 2,
            Self::Low => 3,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tag on a case: lower case, no spaces, up to 64 characters (`trailer`, `flash-sale`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Parses a tag; letters (umlauts too), digits and `-_:.` are allowed.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let t = raw.trim().to_lowercase();
        if t.is_empty()
            || t.chars().count() > 64
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        {
            return Err(ParseError::new(
                "tag",
                format!(
                    "'{raw}' is not a tag: use 1 to 64 letters, digits or - _ : . without spaces"
                ),
            ));
        }
        Ok(Self(t))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The key of a custom field: `[a-z][a-z0-9_]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct FieldKey(String);

impl FieldKey {
    /// Parses a field key.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let k = raw.trim();
        let mut chars = k.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok
            || k.len() > 64
            || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ParseError::new(
                "field",
                format!(
                    "'{raw}' is not a field key: start with a-z, then a-z, 0-9 or _ (at most 64)"
                ),
            ));
        }
        Ok(Self(k.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a custom field value: a string (≤ 2000 characters), number or boolean.
pub fn check_field_value(key: &FieldKey, value: &serde_json::Value) -> Result<(), ParseError> {
    match value {
        serde_json::Value::String(s) if s.chars().count() <= 2000 => Ok(()),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Ok(()),
        _ => Err(ParseError::new(
            "field",
            format!(
                "field '{}' must be a string of at most 2000 characters, a number or a boolean",
                key.as_str()
            ),
        )),
    }
}

/// Checks a case subject: trimmed, at most 300 characters, no control characters.
pub fn parse_subject(raw: &str) -> Result<String, ParseError> {
    let s: String = raw
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > 300 {
        return Err(ParseError::new(
            "subject",
            "a subject has at most 300 characters",
        ));
    }
    Ok(s)
}

/// One concern of one customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    /// Its id.
    pub id: CaseId,
    /// Its human reference.
    pub reference: CaseRef,
    /// What it is about.
    pub subject: String,
    /// Whose concern it is.
    pub customer_id: CustomerId,
    /// Where it stands.
    pub status: CaseStatus,
    /// How urgent.
    pub priority: Priority,
    /// The team that owns it.
    pub team_id: Option<TeamId>,
    /// The agent working it.
    pub assignee_id: Option<AgentId>,
    /// Tags, sorted.
    pub tags: Vec<Tag>,
    /// Custom fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The channel of its first contact.
    pub channel: Channel,
    /// Language of the conversation.
    pub language: Option<Language>,
    /// The closed case this one follows up on.
    pub follow_up_of: Option<CaseId>,
    /// Number of contacts on it.
    pub contact_count: i64,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// The oldest customer contact that has not been answered yet.
    pub waiting_since: Option<Timestamp>,
    /// How often the customer came back about it unasked (see [`crate::resolve`]).
    #[serde(default)]
    pub repeat_count: i64,
    /// The escalation tier reached (0: none).
    #[serde(default)]
    pub escalation_level: i64,
    /// The earliest due time of its running SLA targets (kept by the SLA projection).
    #[serde(default)]
    pub sla_due: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_parse_and_print() {
        assert_eq!(CaseRef::parse("A-10042").map(|r| r.number()), Ok(10042));
        assert_eq!(
            CaseRef::parse(" a-7 ").map(|r| r.to_string()),
            Ok("A-7".into())
        );
        for bad in ["10042", "A-", "A-0042", "B-1", "A-1x", "A-99999999999999"] {
            assert!(CaseRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifecycle_rules() {
        use CaseStatus::*;
        assert_eq!(New.transition(Open), Ok(Some(Open)));
        assert_eq!(Open.transition(Open), Ok(None));
        assert!(Open.transition(New).is_err());
        assert!(
            Open.transition(Closed).is_err(),
            "only a solved case can be closed"
        );
        assert_eq!(Solved.transition(Closed), Ok(Some(Closed)));
        assert_eq!(Solved.transition(Open), Ok(Some(Open)));
        assert!(Closed.transition(Open).is_err());
        assert_eq!(Solved.on_customer_contact(), CustomerContactEffect::Reopens);
        assert_eq!(
            Closed.on_customer_contact(),
            CustomerContactEffect::OpensFollowUp
        );
        assert_eq!(
            WaitingOnCustomer.on_customer_contact(),
            CustomerContactEffect::BecomesOpen
        );
    }

    #[test]
    fn tags_and_fields() {
        assert_eq!(
            Tag::parse(" Flash-Sale ").map(|t| t.as_str().to_owned()),
            Ok("flash-sale".into())
        );
        assert!(Tag::parse("two words").is_err());
        assert!(Tag::parse("rücksendung").is_ok());
        assert!(FieldKey::parse("order_number").is_ok());
        assert!(FieldKey::parse("Order").is_err());
        let k = FieldKey::parse("x").unwrap();
        assert!(check_field_value(&k, &serde_json::json!({"a": 1})).is_err());
        assert!(check_field_value(&k, &serde_json::json!(12)).is_ok());
    }

    fn any_status() -> impl Strategy<Value = CaseStatus> {
        proptest::sample::select(CaseStatus::ALL.to_vec())
    }

    proptest! {
        /// Walking any sequence of requested transitions, only allowed ones take effect,
        /// closed is absorbing, and nothing ever returns to new.
        #[test]
        fn state_machine_invariants(steps in proptest::collection::vec(any_status(), 0..40)) {
            let mut status = CaseStatus::New;
            let mut was_closed = false;
            for to in steps {
                match status.transition(to) {
                    Ok(Some(next)) => {
                        prop_assert!(status.can_become(next));
                        prop_assert!(!was_closed);
                        prop_assert_ne!(next, CaseStatus::New);
                        if next == CaseStatus::Closed {
                            prop_assert_eq!(status, CaseStatus::Solved);
                        }
                        status = next;
                    }
                    Ok(None) => prop_assert_eq!(status, to),
                    Err(e) => {
                        prop_assert!(!status.can_become(to));
                        prop_assert_eq!(e.from, status);
                    }
                }
                was_closed |= status == CaseStatus::Closed;
                prop_assert_eq!(CaseStatus::parse(status.as_str()), Ok(status));
            }
        }

        #[test]
        fn references_roundtrip(n in 1u64..999_999_999_999) {
            let r = CaseRef::from_number(n);
            prop_assert_eq!(CaseRef::parse(&r.to_string()), Ok(r));
        }

        #[test]
        fn reference_parser_never_panics(s in "\\PC{0,20}") {
            let _ = CaseRef::parse(&s);
            let _ = Tag::parse(&s);
            let _ = FieldKey::parse(&s);
        }
    }
}
