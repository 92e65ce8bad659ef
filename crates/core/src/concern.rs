//! Concern matching: is a new contact about the same concern as an earlier one of the same
//! customer? Signals, strongest first: the customer (another customer's contact never joins),
//! the identifiers both quote (the same order or parcel joins unless the problem differs; two
//! different ones veto), the kind of problem (missing, damaged, refund, …) from German and
//! English word classes, and the words both use.

use std::collections::BTreeSet;

use crate::text::{IdKind, fold, identifiers, overlap};

/// Settings of the matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// Contacts further apart than this never match on text alone (days).
    pub window_days: i64,
    /// Word overlap that makes two texts about the same kind of problem one concern.
    pub same_topic_overlap: f64,
    /// Word overlap that makes two texts without a recognised problem one concern.
    pub no_topic_overlap: f64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            window_days: 30,
            same_topic_overlap: 0.08,
            no_topic_overlap: 0.3,
        }
    }
}

/// Why the matcher decided as it did (recorded on the contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Another customer.
    OtherCustomer,
    /// Both name this order or parcel and the same kind of problem.
    SameIdentifier(String),
    /// The same order or parcel, but another problem.
    SameIdentifierOtherProblem(String),
    /// They name different orders or parcels.
    DifferentIdentifiers,
    /// Too far apart in time.
    OutsideWindow,
    /// Similar text about the same kind of problem.
    SimilarText,
    /// Nothing that ties them.
    Unrelated,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// One concern?
    pub same: bool,
    /// Why.
    pub reason: Reason,
}

/// Kinds of problem and the folded word stems that signal them ("missing" also covers late:
/// for a customer both are "where is my parcel").
const TOPICS: &[(&str, &[&str])] = &[
    (
        "missing",
        &[
            "fehlt",
            "fehlen",
            "nicht angekommen",
            "nicht ankam",
            "nie angekommen",
            "nicht erhalten",
            "nicht bekommen",
            "verschwunden",
            "verloren",
            "wo bleibt",
            "noch nicht da",
            "nicht geliefert",
            "missing",
            "not arrived",
            "never arrived",
            "not received",
            "never received",
            "lost",
            "hasnt arrived",
            "has not arrived",
            "didnt arrive",
            "did not arrive",
            "where is",
            "zugestellt",
            "delivered",
            "kam nur",
            "only one",
            "nur ein",
            "nur eins",
            "nur die",
            "nur das",
            "nur der",
            "halfte",
            "half",
            "lieferzeit",
            "verspat",
            "verzoger",
            "dauert",
            "spedition",
            "liefertermin",
            "termin",
            "late",
            "delay",
            "delayed",
            "taking so long",
            "still waiting",
            "noch immer",
            "immer noch",
            "warte",
            "waiting",
            "wann kommt",
            "when will",
            "nichts angekommen",
            "nichts gekommen",
            "nicht da",
            "nichts da",
        ],
    ),
    (
        "damaged",
        &[
            "kaputt",
            "beschadigt",
            "defekt",
            "zerbrochen",
            "gebrochen",
            "zerkratzt",
            "kratzer",
            "delle",
            "riss",
            "broken",
            "damaged",
            "cracked",
            "scratched",
            "dent",
            "faulty",
            "defective",
            "funktioniert nicht",
            "geht nicht",
            "ladt nicht",
            "doesnt work",
            "does not work",
            "stopped working",
            "not working",
            "lauft aus",
            "leaking",
            "scherben",
        ],
    ),
    (
        "wrong_item",
        &[
            "falsch",
            "falsche",
            "falschen",
            "statt",
            "anstatt",
            "verwechselt",
            "anderen artikel",
            "andere farbe",
            "wrong",
            "instead of",
            "not what i ordered",
            "different colour",
            "different color",
        ],
    ),
    (
        "refund",
        &[
            "erstattung",
            "erstatten",
            "geld zuruck",
            "gutschrift",
            "ruckzahlung",
            "zuruckuberweis",
            "refund",
            "money back",
            "reimburse",
            "credited",
            "geld",
        ],
    ),
    (
        "return",
        &[
            "rucksend",
            "retoure",
            "zuruckschick",
            "zuruck schick",
            "zurucksend",
            "umtausch",
            "umtauschen",
            "return label",
            "return",
            "send back",
            "send it back",
            "exchange",
            "widerruf",
        ],
    ),
    (
        "invoice",
        &[
            "rechnung",
            "rechnungskopie",
            "beleg",
            "quittung",
            "invoice",
            "receipt",
            "vat",
            "mwst",
            "ust",
        ],
    ),
    (
        "payment",
        &[
            "abgebucht",
            "doppelt",
            "zweimal",
            "belastet",
            "abbuchung",
            "charged",
            "charge",
            "twice",
            "double",
            "lastschrift",
            "klarna",
            "paypal",
            "kreditkarte",
            "credit card",
            "zahlung",
            "mahnung",
            "payment",
            "reminder",
        ],
    ),
    (
        "voucher",
        &[
            "gutschein",
            "rabatt",
            "aktionscode",
            "coupon",
            "voucher",
            "discount",
            "promo",
            "code",
        ],
    ),
    (
        "address",
        &[
            "adresse",
            "lieferadresse",
            "anschrift",
            "address",
            "postleitzahl",
            "plz",
            "postcode",
            "zip",
        ],
    ),
    (
        "cancel",
        &["storn", "abbestell", "cancel", "cancellation", "widerrufen"],
    ),
    (
        "account",
        &[
            "konto",
            "kundenkonto",
            "passwort",
            "login",
            "anmelden",
            "einloggen",
            "gesperrt",
            "account",
            "password",
            "locked",
            "log in",
            "newsletter",
            "abmelden",
            "unsubscribe",
        ],
    ),
    (
        "fraud",
        &[
            "uberweisung",
            "iban",
            "betrug",
            "betruger",
            "fake",
            "scam",
            "bank transfer",
            "outside",
            "auserhalb",
            "verdachtig",
            "suspicious",
        ],
    ),
    (
        "price",
        &[
            "preis",
            "buchpreisbindung",
            "price",
            "pricing",
            "nicht verfugbar",
            "unavailable",
            "listing",
        ],
    ),
    (
        "callback",
        &[
            "ruckruf",
            "zuruckrufen",
            "anrufen",
            "angerufen",
            "call back",
            "callback",
            "call me",
            "phone me",
        ],
    ),
    (
        "customs",
        &[
            "zoll",
            "zollgebuhr",
            "schweiz",
            "customs",
            "duty",
            "duties",
            "switzerland",
            "import",
        ],
    ),
    (
        "warranty",
        &[
            "garantie",
            "gewahrleistung",
            "reparatur",
            "reparier",
            "warranty",
            "repair",
            "guarantee",
        ],
    ),
    (
        "size",
        &[
            "grosse",
            "zu klein",
            "zu gross",
            "passt nicht",
            "size",
            "too small",
            "too big",
            "too large",
            "doesnt fit",
            "does not fit",
        ],
    ),
];

/// Phrases of a contact that refers back to an earlier one ("ich hatte geschrieben", "still").
const FOLLOW_UP: &[&str] = &[
    "nochmal",
    "noch einmal",
    "erneut",
    "immer noch",
    "weiterhin",
    "wie besprochen",
    "wie telefonisch",
    "wie im chat",
    "im chat",
    "hatte geschrieben",
    "hatte ich",
    "ich hatte",
    "habe geschrieben",
    "geschrieben",
    "angerufen",
    "nachfrage",
    "nachfragen",
    "keine antwort",
    "bis heute",
    "zugesagt",
    "versprochen",
    "seit tagen",
    "seit wochen",
    "following up",
    "follow up",
    "i wrote",
    "wrote",
    "i called",
    "called",
    "still",
    "again",
    "any news",
    "as discussed",
    "spoke to",
    "chat agent",
    "promised",
    "no answer",
    "nobody answered",
    "no reply",
];

/// Phrases that open a new matter ("anderes Problem", "different thing", "hat geklappt").
const NEW_MATTER: &[&str] = &[
    "anderes problem",
    "neues problem",
    "andere sache",
    "etwas anderes",
    "anderes anliegen",
    "different thing",
    "another issue",
    "something else",
    "new problem",
    "different issue",
    "another thing",
    "hat geklappt",
    "hat funktioniert",
    "worked in the end",
    "wieder entsperrt",
    "arrived thanks",
    "angekommen danke",
    "ist angekommen",
    "ist da danke",
    "kam an danke",
    "got it thanks",
    "arrived today thanks",
    "jetzt habe ich aber",
    "now i have",
];

fn has(folded: &str, phrases: &[&str]) -> bool {
    phrases
        .iter()
        .any(|p| folded.contains(&format!(" {} ", fold(p))))
}

/// The kinds of problem a text is about.
pub fn topics(text: &str) -> BTreeSet<&'static str> {
    let folded = format!(" {} ", fold(text));
    TOPICS
        .iter()
        .filter(|(_, stems)| {
            stems.iter().any(|s| {
                let stem = fold(s);
                // A stem matches at a word start ("rucksend" in "rucksendung").
                folded.contains(&format!(" {stem}"))
            })
        })
        .map(|(t, _)| *t)
        .collect()
}

/// Decides whether `b` (the new contact) is about the same concern as `a`.
pub fn decide(
    a: &str,
    b: &str,
    same_customer: bool,
    days_apart: i64,
    cfg: &MatchConfig,
) -> Decision {
    let no = |reason| Decision {
        same: false,
        reason,
    };
    if !same_customer {
        return no(Reason::OtherCustomer);
    }
    let wanted = |t: &str| {
        identifiers(t)
            .into_iter()
            .filter(|i| matches!(i.kind, IdKind::Order | IdKind::Tracking | IdKind::CaseRef))
            .collect::<BTreeSet<_>>()
    };
    let (ia, ib) = (wanted(a), wanted(b));
    let (ta, tb) = (topics(a), topics(b));
    let topics_meet = ta.intersection(&tb).next().is_some();
    let topics_clash = !ta.is_empty() && !tb.is_empty() && !topics_meet;
    if let Some(shared) = ia.intersection(&ib).next() {
        let new_matter = has(&format!(" {} ", fold(b)), NEW_MATTER);
        return if topics_clash || new_matter {
            no(Reason::SameIdentifierOtherProblem(shared.value.clone()))
        } else {
            Decision {
                same: true,
                reason: Reason::SameIdentifier(shared.value.clone()),
            }
        };
    }
    for kind in [IdKind::Order, IdKind::Tracking] {
        if ia.iter().any(|i| i.kind == kind) && ib.iter().any(|i| i.kind == kind) {
            return no(Reason::DifferentIdentifiers);
        }
    }
    if days_apart.abs() > cfg.window_days {
        return no(Reason::OutsideWindow);
    }
    let fb = format!(" {} ", fold(b));
    if has(&fb, NEW_MATTER) {
        return no(Reason::Unrelated);
    }
    // A contact that refers back to an earlier one, about the same kind of problem (or one
    // we cannot tell), continues it.
    if has(&fb, FOLLOW_UP) && !topics_clash {
        return Decision {
            same: true,
            reason: Reason::SimilarText,
        };
    }
    let words = overlap(a, b);
    let similar = if topics_meet {
        words >= cfg.same_topic_overlap
    } else if ta.is_empty() || tb.is_empty() {
        words >= cfg.no_topic_overlap
    } else {
        false
    };
    if similar {
        Decision {
            same: true,
            reason: Reason::SimilarText,
        }
    } else {
        no(Reason::Unrelated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_from_german_and_english() {
        assert!(topics("Mein Paket ist nicht angekommen").contains("missing"));
        assert!(topics("Die Lampe kam kaputt an").contains("damaged"));
        assert!(topics("I'd like a refund please").contains("refund"));
        assert!(topics("Bitte schicken Sie mir ein Rücksendeetikett").contains("return"));
    }

    #[test]
    fn same_order_new_problem_is_a_new_concern() {
        let cfg = MatchConfig::default();
        let a = "Meine Bestellung BE-2026-104233 ist nicht angekommen.";
        let b = "Die Lampe aus Bestellung BE-2026-104233 ist jetzt da, aber kaputt.";
        let d = decide(a, b, true, 3, &cfg);
        assert!(!d.same, "{d:?}");
        let c = "Bestellung be2026104233: immer noch nichts angekommen!";
        assert!(decide(a, c, true, 5, &cfg).same);
        assert_eq!(decide(a, c, false, 5, &cfg).reason, Reason::OtherCustomer);
    }
}
