//! Escalation: a case goes up a tier (a specialist team or the supervisors) when the customer
//! keeps coming back, writes with urgency or anger, a promise is overdue or an SLA is breached,
//! or an agent decides so; the next person gets a short hand-off summary and need not ask again.

use crate::routing::keyword_in;
use crate::{Language, Priority, TeamId};

/// One step up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tier {
    /// A name ("Fachteam Verlage", "Teamleitung").
    pub name: String,
    /// The team that takes the case over (`None`: it stays, supervisors are told).
    pub team_id: Option<TeamId>,
    /// Priority at least this high.
    pub priority: Priority,
    /// Tell the supervisors and admins.
    pub notify_supervisors: bool,
}

/// Escalation settings (admin).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EscalationSettings {
    /// Escalate on this repeat contact (the 2nd repeat is the third contact); 0: never.
    pub after_repeats: u32,
    /// Escalate on words of urgency or anger.
    pub on_keywords: bool,
    /// German words and phrases of urgency or anger.
    pub keywords_de: Vec<String>,
    /// English ones.
    pub keywords_en: Vec<String>,
    /// Escalate when a promise is overdue (time and promises).
    pub on_overdue_promise: bool,
    /// Escalate on an SLA breach.
    pub on_sla_breach: bool,
    /// The tiers, lowest first; a further escalation goes one tier up.
    pub tiers: Vec<Tier>,
}

impl Default for EscalationSettings {
    fn default() -> Self {
        let words = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Self {
            after_repeats: 2,
            on_keywords: true,
            keywords_de: words(&[
                "anwalt",
                "rechtsanwalt",
                "verbraucherzentrale",
                "verbraucherschutz",
                "klage",
                "frechheit",
                "unverschämt",
                "skandal",
                "betrug",
                "letzte frist",
                "schlechte bewertung",
            ]),
            keywords_en: words(&[
                "lawyer",
                "attorney",
                "legal action",
                "consumer protection",
                "outrageous",
                "unacceptable",
                "disgrace",
                "scam",
                "final notice",
                "bad review",
            ]),
            on_overdue_promise: true,
            on_sla_breach: true,
            tiers: Vec::new(),
        }
    }
}

impl EscalationSettings {
    /// Checks an admin's input.
    pub fn validate(&self) -> Result<(), crate::ParseError> {
        let bad = |m: &str| Err(crate::ParseError::new("escalation settings", m));
        if self.after_repeats > 100 {
            return bad("after_repeats is 0 (never) to 100");
        }
        if self.keywords_de.len() + self.keywords_en.len() > 500 {
            return bad("at most 500 keywords");
        }
        if self
            .keywords_de
            .iter()
            .chain(&self.keywords_en)
            .any(|k| crate::text::fold(k).trim().is_empty() || k.chars().count() > 100)
        {
            return bad("every keyword has 1 to 100 characters with a letter or digit");
        }
        if self.tiers.len() > 10 {
            return bad("at most 10 tiers");
        }
        if self
            .tiers
            .iter()
            .any(|t| t.name.trim().is_empty() || t.name.chars().count() > 100)
        {
            return bad("every tier has a name of 1 to 100 characters");
        }
        Ok(())
    }

    /// The word of urgency or anger in `text`, if escalation on keywords is on.
    pub fn keyword(&self, text: &str) -> Option<String> {
        if !self.on_keywords {
            return None;
        }
        keyword_in(&self.keywords_de, text)
            .or_else(|| keyword_in(&self.keywords_en, text))
            .map(str::to_owned)
    }

    /// The tier above `level` (0: not escalated), if there is one.
    pub fn next_tier(&self, level: u32) -> Option<&Tier> {
        self.tiers.get(level as usize)
    }
}

/// Why a case was escalated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "trigger")]
pub enum Trigger {
    /// The customer came back this often about the same concern.
    Repeats {
        /// Repeat contacts so far.
        count: u32,
    },
    /// A word of urgency or anger.
    Keyword {
        /// The word.
        word: String,
    },
    /// A promise to the customer is overdue.
    OverduePromise {
        /// What was promised.
        what: String,
    },
    /// An SLA target was missed.
    SlaBreach {
        /// Which target.
        target: String,
    },
    /// An agent escalated.
    Agent {
        /// Their reason.
        reason: String,
    },
}

impl Trigger {
    /// A sentence for the timeline, in `lang`.
    pub fn describe(&self, lang: Language) -> String {
        match (self, lang) {
            (Self::Repeats { count }, Language::De) => {
                format!("Die Kundin oder der Kunde hat sich {count}× erneut gemeldet")
            }
            (Self::Repeats { count }, Language::En) => {
                format!("The customer came back {count} times")
            }
            (Self::Keyword { word }, Language::De) => format!("Dringlichkeit oder Ärger: „{word}“"),
            (Self::Keyword { word }, Language::En) => format!("Urgency or anger: \"{word}\""),
            (Self::OverduePromise { what }, Language::De) => format!("Zusage überfällig: {what}"),
            (Self::OverduePromise { what }, Language::En) => format!("Promise overdue: {what}"),
            (Self::SlaBreach { target }, Language::De) => format!("SLA verletzt: {target}"),
            (Self::SlaBreach { target }, Language::En) => format!("SLA breached: {target}"),
            (Self::Agent { reason }, Language::De) => format!("Von Hand eskaliert: {reason}"),
            (Self::Agent { reason }, Language::En) => format!("Escalated by hand: {reason}"),
        }
    }
}

/// What the hand-off summary is built from.
#[derive(Debug, Clone, Default)]
pub struct HandoffFacts {
    /// The case reference.
    pub reference: String,
    /// Its subject.
    pub subject: String,
    /// The customer's name.
    pub customer: String,
    /// The start of the customer's first message (the concern in their words).
    pub first_message: String,
    /// Customer contacts by channel name ("E-Mail", "Telefon"), in order of first use.
    pub contacts_by_channel: Vec<(String, u32)>,
    /// Repeat contacts.
    pub repeats: u32,
    /// Open promises ("Rückruf bis Freitag 14:00").
    pub promises: Vec<String>,
    /// What agents did or said so far, newest last (first lines of replies, notes, changes).
    pub tried: Vec<String>,
    /// Why now.
    pub trigger: String,
}

/// A plain-text hand-off summary: concern, contacts so far, what was promised, what was tried.
pub fn handoff_summary(f: &HandoffFacts, lang: Language) -> String {
    let de = lang == Language::De;
    let mut out = String::new();
    let line = |out: &mut String, s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line(
        &mut out,
        &if de {
            format!("Übergabe {} – {}", f.reference, f.trigger)
        } else {
            format!("Hand-off {} – {}", f.reference, f.trigger)
        },
    );
    line(&mut out, "");
    line(
        &mut out,
        &format!(
            "{}: {} ({})",
            if de { "Anliegen" } else { "Concern" },
            f.subject,
            f.customer
        ),
    );
    let first = shorten(&f.first_message, 300);
    if !first.is_empty() {
        line(&mut out, &format!("„{first}“"));
    }
    let total: u32 = f.contacts_by_channel.iter().map(|(_, n)| n).sum();
    let channels: Vec<String> = f
        .contacts_by_channel
        .iter()
        .map(|(c, n)| format!("{n}× {c}"))
        .collect();
    line(
        &mut out,
        &if de {
            format!(
                "Kontakte bisher: {total} ({}), davon {} Wiederholungen",
                channels.join(", "),
                f.repeats
            )
        } else {
            format!(
                "Contacts so far: {total} ({}), {} of them repeats",
                channels.join(", "),
                f.repeats
            )
        },
    );
    line(&mut out, if de { "Zugesagt:" } else { "Promised:" });
    if f.promises.is_empty() {
        line(
            &mut out,
            if de {
                "– nichts erfasst"
            } else {
                "– nothing recorded"
            },
        );
    }
    for p in &f.promises {
        line(&mut out, &format!("– {}", shorten(p, 200)));
    }
    line(
        &mut out,
        if de {
            "Bisher versucht:"
        } else {
            "Tried so far:"
        },
    );
    if f.tried.is_empty() {
        line(
            &mut out,
            if de {
                "– noch keine Antwort an die Kundin oder den Kunden"
            } else {
                "– no answer to the customer yet"
            },
        );
    }
    let skip = f.tried.len().saturating_sub(8);
    for t in f.tried.iter().skip(skip) {
        line(&mut out, &format!("– {}", shorten(t, 200)));
    }
    out.trim_end().to_owned()
}

/// The first `max` characters of the first lines of `s`, on one line.
pub fn shorten(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max).collect();
    if let Some(i) = cut.rfind(' ') {
        cut.truncate(i);
    }
    cut.push_str(" …");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_fold_and_respect_the_switch() {
        let mut s = EscalationSettings::default();
        assert_eq!(
            s.keyword("Das ist eine FRECHHEIT, ich gehe zur Verbraucherzentrale!"),
            Some("verbraucherzentrale".into())
        );
        assert_eq!(
            s.keyword("This is unacceptable."),
            Some("unacceptable".into())
        );
        assert_eq!(s.keyword("Vielen Dank für die schnelle Hilfe"), None);
        // "unverschämt" folds to "unverschamt": typed without umlaut, still found.
        assert!(s.keyword("Unverschaemt ist das").is_some());
        s.on_keywords = false;
        assert_eq!(s.keyword("Anwalt"), None);
    }

    #[test]
    fn summary_has_concern_contacts_promises_and_attempts() {
        let f = HandoffFacts {
            reference: "A-10042".into(),
            subject: "Falscher Preis im Shop".into(),
            customer: "Verlag Sonnenberg".into(),
            first_message: "Unser Titel wird seit Wochen zu einem falschen Preis angeboten.".into(),
            contacts_by_channel: vec![("E-Mail".into(), 3), ("Telefon".into(), 1)],
            repeats: 3,
            promises: vec!["Rückruf bis Freitag, 14:00 Uhr".into()],
            tried: vec!["Antwort: Wir prüfen den Preis.".into()],
            trigger: "Die Kundin oder der Kunde hat sich 2× erneut gemeldet".into(),
        };
        let s = handoff_summary(&f, Language::De);
        assert!(s.starts_with("Übergabe A-10042"), "{s}");
        assert!(s.contains("Kontakte bisher: 4 (3× E-Mail, 1× Telefon), davon 3 Wiederholungen"));
        assert!(s.contains("– Rückruf bis Freitag, 14:00 Uhr"));
        assert!(s.contains("– Antwort: Wir prüfen den Preis."));
        let en = handoff_summary(&HandoffFacts::default(), Language::En);
        assert!(
            en.contains("– nothing recorded") && en.contains("– no answer to the customer yet")
        );
    }
}
