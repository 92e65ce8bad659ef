//! Resolve: which concern an inbound contact belongs to. The rules run in this order, and the
//! first that holds decides; the reason is recorded on the contact:
//! 1. thread headers or a signed reply token (mail),
//! 2. a case reference: in the subject, the text or a form field,
//! 3. an open case of the same customer about the same order or parcel,
//! 4. a near-duplicate text from the same customer within the window,
//! 5. a new case.
//!
//! Rules 1 and 2 need lookups and live in the intake path; this module holds the settings, the
//! recorded reason, and rules 3 and 4 over the customer's recent cases.

use crate::concern::{MatchConfig, Reason, decide_prepared, prepare};
use crate::{CaseId, CaseRef, CaseStatus, ContactId, ParseError};

/// Matching settings (admin).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MatchSettings {
    /// Match at all (off: every contact without headers or reference opens a new case).
    pub enabled: bool,
    /// Near-duplicates only within this many days.
    pub window_days: i64,
    /// The matcher's score (0–1) from which a contact joins an earlier concern: higher joins
    /// fewer contacts wrongly and lets more repeats open a case of their own.
    pub min_score: f64,
    /// Share of word stems (0–1) from which a contact is a near-duplicate of an earlier one
    /// (the same form sent again) and joins it.
    pub near_duplicate: f64,
    /// Tell the customer "we already have your concern" on a repeat by mail or form.
    pub acknowledge_repeats: bool,
}

impl Default for MatchSettings {
    fn default() -> Self {
        let c = MatchConfig::default();
        Self {
            enabled: true,
            window_days: c.window_days,
            min_score: c.min_score,
            near_duplicate: c.near_duplicate,
            acknowledge_repeats: true,
        }
    }
}

impl MatchSettings {
    /// Checks an admin's input.
    pub fn validate(&self) -> Result<(), ParseError> {
        let bad = |m: &str| Err(ParseError::new("matching settings", m));
        if !(0..=365).contains(&self.window_days) {
            return bad("window_days is 0 to 365");
        }
        for v in [self.min_score, self.near_duplicate] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                return bad("min_score and near_duplicate are between 0 and 1");
            }
        }
        Ok(())
    }

    /// The matcher's configuration.
    pub fn config(&self) -> MatchConfig {
        MatchConfig {
            window_days: self.window_days,
            min_score: self.min_score,
            near_duplicate: self.near_duplicate,
            ..MatchConfig::default()
        }
    }
}

/// Where a case reference came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefSource {
    /// The subject.
    Subject,
    /// The text.
    Text,
    /// A form or API field.
    Field,
}

/// Why a contact is on its case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ConcernMatch {
    /// A reply in a mail thread we know (`In-Reply-To`/`References`).
    ThreadHeaders {
        /// The Message-ID.
        message_id: String,
    },
    /// A signed reply address.
    SignedToken,
    /// A case reference of the customer's own case.
    Reference {
        /// The reference.
        reference: CaseRef,
        /// Where it was.
        source: RefSource,
    },
    /// An open case of the customer about the same order or parcel.
    SameIdentifier {
        /// The order or tracking number.
        value: String,
        /// The earlier contact naming it.
        contact_id: ContactId,
    },
    /// A near-duplicate of a recent contact of the customer.
    SimilarText {
        /// The earlier contact.
        contact_id: ContactId,
        /// Days between them.
        days_apart: i64,
    },
    /// The sender chose the case (an agent's reply or note, an API call on the case).
    Chosen,
    /// A new case.
    NewCase {
        /// Why no rule held, where it helps an agent ("a reference that is not the customer's").
        note: Option<String>,
        /// An open case of the customer that is perhaps the same concern (the matcher's score
        /// fell just short): named for the agent, who may merge; never joined silently.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maybe: Option<CaseRef>,
    },
}

impl ConcernMatch {
    /// Whether this joined an existing case by recognising the concern (a repeat when the
    /// customer was not asked to answer).
    pub fn joins(&self) -> bool {
        !matches!(self, Self::NewCase { .. } | Self::Chosen)
    }

    /// A short German sentence for agents.
    pub fn describe_de(&self) -> String {
        match self {
            Self::ThreadHeaders { .. } => "Antwort im bekannten E-Mail-Verlauf".into(),
            Self::SignedToken => "Antwortadresse des Falls".into(),
            Self::Reference { reference, source } => format!(
                "Fallnummer {reference} {}",
                match source {
                    RefSource::Subject => "im Betreff",
                    RefSource::Text => "im Text",
                    RefSource::Field => "im Formularfeld",
                }
            ),
            Self::SameIdentifier { value, .. } => {
                format!("Offener Fall zur selben Bestell- oder Sendungsnummer {value}")
            }
            Self::SimilarText { days_apart, .. } => {
                format!("Fast gleicher Text wie ein Kontakt vor {days_apart} Tag(en)")
            }
            Self::Chosen => "Direkt auf dem Fall erfasst".into(),
            Self::NewCase { note, maybe } => new_case_text(
                "Neuer Fall",
                note.as_deref(),
                maybe.map(|r| format!("vielleicht dasselbe Anliegen wie {r}")),
            ),
        }
    }

    /// A short English sentence for agents.
    pub fn describe_en(&self) -> String {
        match self {
            Self::ThreadHeaders { .. } => "Reply in a known mail thread".into(),
            Self::SignedToken => "The case's reply address".into(),
            Self::Reference { reference, source } => format!(
                "Case reference {reference} in the {}",
                match source {
                    RefSource::Subject => "subject",
                    RefSource::Text => "text",
                    RefSource::Field => "form field",
                }
            ),
            Self::SameIdentifier { value, .. } => {
                format!("Open case about the same order or tracking number {value}")
            }
            Self::SimilarText { days_apart, .. } => {
                format!("Nearly the same text as a contact {days_apart} day(s) earlier")
            }
            Self::Chosen => "Logged on the case directly".into(),
            Self::NewCase { note, maybe } => new_case_text(
                "New case",
                note.as_deref(),
                maybe.map(|r| format!("maybe the same concern as {r}")),
            ),
        }
    }
}

/// "New case (why) – maybe …" in either language.
fn new_case_text(head: &str, note: Option<&str>, maybe: Option<String>) -> String {
    let mut s = head.to_owned();
    if let Some(n) = note {
        s.push_str(&format!(" ({n})"));
    }
    if let Some(m) = maybe {
        s.push_str(" – ");
        s.push_str(&m);
    }
    s
}

/// An earlier contact of the customer, as matching sees it.
#[derive(Debug, Clone)]
pub struct PriorContact {
    /// Its id.
    pub id: ContactId,
    /// Subject and text (the new part of a mail is enough).
    pub text: String,
    /// Days before the new contact.
    pub days_before: i64,
}

/// A recent case of the customer with its customer contacts, newest first.
#[derive(Debug, Clone)]
pub struct PriorCase {
    /// Its id.
    pub id: CaseId,
    /// Its status.
    pub status: CaseStatus,
    /// Its customer contacts, newest first.
    pub contacts: Vec<PriorContact>,
}

/// Rules 3 and 4 over the customer's recent cases (newest first): the case and the reason, or
/// `None` for a new case. Closed cases never match (a reply to them opens a follow-up).
pub fn match_concern(
    text: &str,
    cases: &[PriorCase],
    settings: &MatchSettings,
) -> Option<(CaseId, ConcernMatch)> {
    match_concern_with(text, cases, settings, &mut |p| {
        std::sync::Arc::new(prepare(&p.text))
    })
}

/// [`match_concern`] with the earlier contacts' analyses from `prepared` (a cache: contacts
/// never change, and a busy customer's are compared again and again).
pub fn match_concern_with(
    text: &str,
    cases: &[PriorCase],
    settings: &MatchSettings,
    prepared: &mut dyn FnMut(&PriorContact) -> std::sync::Arc<crate::concern::Prepared>,
) -> Option<(CaseId, ConcernMatch)> {
    match_or_maybe(text, cases, settings, prepared).0
}

/// [`match_concern_with`], and when nothing matched, the open case whose best score fell
/// closest short of the threshold (within [`crate::concern::MAYBE_MARGIN`]): a case to name to
/// the agent, not to join.
pub fn match_or_maybe(
    text: &str,
    cases: &[PriorCase],
    settings: &MatchSettings,
    prepared: &mut dyn FnMut(&PriorContact) -> std::sync::Arc<crate::concern::Prepared>,
) -> (Option<(CaseId, ConcernMatch)>, Option<CaseId>) {
    if !settings.enabled {
        return (None, None);
    }
    let cfg = settings.config();
    let new = prepare(text);
    let mut similar = None;
    let mut maybe: Option<(CaseId, f64)> = None;
    for case in cases.iter().filter(|c| c.status != CaseStatus::Closed) {
        let open = !matches!(case.status, CaseStatus::Solved | CaseStatus::Closed);
        for prior in &case.contacts {
            let d = decide_prepared(&prepared(prior), &new, true, prior.days_before, &cfg);
            if open
                && !d.same
                && d.score >= cfg.min_score - crate::concern::MAYBE_MARGIN
                && maybe.is_none_or(|(_, s)| d.score > s)
            {
                maybe = Some((case.id, d.score));
            }
            match d.reason {
                Reason::SameIdentifier(value) if open && d.same => {
                    let found = ConcernMatch::SameIdentifier {
                        value,
                        contact_id: prior.id,
                    };
                    return (Some((case.id, found)), None);
                }
                _ if d.same && similar.is_none() && prior.days_before <= cfg.window_days => {
                    similar = Some((
                        case.id,
                        ConcernMatch::SimilarText {
                            contact_id: prior.id,
                            days_apart: prior.days_before,
                        },
                    ));
                }
                _ => {}
            }
        }
    }
    match similar {
        Some(found) => (Some(found), None),
        None => (None, maybe.map(|(id, _)| id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(text: &str, days: i64) -> PriorContact {
        PriorContact {
            id: ContactId::new(),
            text: text.into(),
            days_before: days,
        }
    }

    #[test]
    fn same_order_on_an_open_case_beats_a_similar_text() {
        let a = PriorCase {
            id: CaseId::new(),
            status: CaseStatus::Open,
            contacts: vec![prior(
                "Meine Bestellung BE-2026-104233 ist nicht angekommen.",
                3,
            )],
        };
        let b = PriorCase {
            id: CaseId::new(),
            status: CaseStatus::WaitingOnCustomer,
            contacts: vec![prior("Wo bleibt mein Paket? Es ist nicht angekommen.", 1)],
        };
        let s = MatchSettings::default();
        let got = match_concern(
            "Bestellung BE-2026-104233 ist immer noch nicht da",
            &[b.clone(), a.clone()],
            &s,
        );
        assert!(
            matches!(&got, Some((id, ConcernMatch::SameIdentifier { value, .. })) if *id == a.id && value.contains("104233")),
            "{got:?}"
        );
        let closed = PriorCase {
            status: CaseStatus::Closed,
            ..a
        };
        let got = match_concern(
            "Bestellung BE-2026-104233 ist immer noch nicht da",
            &[closed],
            &s,
        );
        assert!(got.is_none(), "{got:?}");
        let off = MatchSettings {
            enabled: false,
            ..s
        };
        assert!(match_concern("Wo bleibt mein Paket?", &[b], &off).is_none());
    }

    #[test]
    fn a_near_miss_is_named_not_joined() {
        let lamp = PriorCase {
            id: CaseId::new(),
            status: CaseStatus::Open,
            contacts: vec![prior("Die Lampe flackert seit gestern.", 3)],
        };
        let s = MatchSettings::default();
        let text = "Die Lampe geht jetzt gar nicht mehr an.";
        let (found, maybe) = match_or_maybe(text, std::slice::from_ref(&lamp), &s, &mut |p| {
            std::sync::Arc::new(prepare(&p.text))
        });
        assert!(found.is_none(), "{found:?}");
        assert_eq!(maybe, Some(lamp.id));
        // A solved case is not offered; nor is anything when nothing comes close.
        let solved = PriorCase {
            status: CaseStatus::Solved,
            ..lamp.clone()
        };
        let (_, maybe) = match_or_maybe(text, &[solved], &s, &mut |p| {
            std::sync::Arc::new(prepare(&p.text))
        });
        assert_eq!(maybe, None);
        let (_, maybe) = match_or_maybe(
            "Bitte ändern Sie meine Rechnungsadresse.",
            &[lamp],
            &s,
            &mut |p| std::sync::Arc::new(prepare(&p.text)),
        );
        assert_eq!(maybe, None);
        let note = ConcernMatch::NewCase {
            note: None,
            maybe: CaseRef::parse("A-10042").ok(),
        };
        assert!(
            note.describe_de()
                .contains("vielleicht dasselbe Anliegen wie A-10042")
        );
        assert!(
            note.describe_en()
                .contains("maybe the same concern as A-10042")
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(MatchSettings::default().validate().is_ok());
        let bad = MatchSettings {
            min_score: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
