//! Text analysis shared by concern matching (and, later, search): folding German and English
//! text to comparable words, the identifiers customers quote (order numbers, tracking numbers,
//! IBANs, case references), and a similarity fingerprint of the words.
//!
//! Folding is ours, not a stemmer's: `Müller`, `Mueller` and `Muller` all become `muller`,
//! `Straße` and `Strasse` become `strasse`, on both sides of any comparison.

use std::collections::BTreeSet;

/// Lower case, German letters folded (`ä`/`ae` → `a`, `ö`/`oe` → `o`, `ü`/`ue` → `u`,
/// `ß` → `ss`), accents dropped, everything that is not a letter or digit a single space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        let mapped: &str = match c {
            'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
            'ü' | 'ù' | 'ú' | 'û' => "u",
            'ß' => "ss",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ç' => "c",
            'ñ' => "n",
            'ş' => "s",
            'ğ' => "g",
            c if c.is_alphanumeric() => {
                out.push(c);
                space = false;
                continue;
            }
            _ => {
                if !space {
                    out.push(' ');
                    space = true;
                }
                continue;
            }
        };
        out.push_str(mapped);
        space = false;
    }
    let trimmed = out.trim_end();
    // Transliterated umlauts meet the folded ones: "mueller" → "muller".
    trimmed
        .replace("ae", "a")
        .replace("oe", "o")
        .replace("ue", "u")
}

/// Words that carry no concern (German and English, folded).
const STOP: &[&str] = &[
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einen",
    "einem",
    "einer",
    "und",
    "oder",
    "aber",
    "ich",
    "wir",
    "sie",
    "er",
    "es",
    "ihr",
    "ihre",
    "ihren",
    "ihrem",
    "mein",
    "meine",
    "meinen",
    "meinem",
    "meiner",
    "mir",
    "mich",
    "uns",
    "unser",
    "unsere",
    "ist",
    "sind",
    "war",
    "hat",
    "habe",
    "haben",
    "hatte",
    "wird",
    "wurde",
    "bin",
    "zu",
    "zum",
    "zur",
    "mit",
    "von",
    "vom",
    "fur",
    "auf",
    "aus",
    "an",
    "am",
    "im",
    "in",
    "bei",
    "nach",
    "noch",
    "nicht",
    "kein",
    "keine",
    "auch",
    "schon",
    "nur",
    "wie",
    "was",
    "wann",
    "dass",
    "da",
    "so",
    "bitte",
    "danke",
    "hallo",
    "guten",
    "tag",
    "sehr",
    "geehrte",
    "geehrter",
    "damen",
    "herren",
    "gruss",
    "grussen",
    "grusse",
    "freundlichen",
    "vielen",
    "dank",
    "mfg",
    "lg",
    "vg",
    "hi",
    "hello",
    "dear",
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "i",
    "we",
    "you",
    "it",
    "my",
    "our",
    "your",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "be",
    "been",
    "to",
    "of",
    "for",
    "on",
    "in",
    "at",
    "by",
    "with",
    "from",
    "not",
    "no",
    "also",
    "just",
    "still",
    "please",
    "thanks",
    "thank",
    "regards",
    "best",
    "kind",
    "this",
    "that",
    "there",
    "here",
    "me",
    "us",
    "do",
    "did",
    "does",
    "can",
    "could",
    "would",
];

/// The folded words of a text that say something (no stop words, no pure numbers, at least two
/// letters).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(' ')
        .filter(|w| w.chars().count() >= 2 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP.contains(w))
        .map(str::to_owned)
        .collect()
}

/// A kind of identifier a customer may quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    /// A case reference like `A-10042`.
    CaseRef,
    /// An order number.
    Order,
    /// A parcel's tracking number.
    Tracking,
    /// An IBAN (checked with ISO 13616 MOD-97).
    Iban,
}

/// An identifier found in a text, normalised (upper case, no separators).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identifier {
    /// What it is.
    pub kind: IdKind,
    /// Its normalised value.
    pub value: String,
}

fn iban_ok(s: &str) -> bool {
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let b = s.as_bytes();
    if !(b.first().is_some_and(u8::is_ascii_uppercase)
        && b.get(1).is_some_and(u8::is_ascii_uppercase)
        && b.get(2).is_some_and(u8::is_ascii_digit)
        && b.get(3).is_some_and(u8::is_ascii_digit))
    {
        return false;
    }
    let rotated = s.chars().skip(4).chain(s.chars().take(4));
    let mut rem: u32 = 0;
    for c in rotated {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        let digits = if v >= 10 { 100 } else { 10 };
        rem = (rem * digits + v) % 97;
    }
    rem == 1
}

/// Order, tracking and IBAN-like tokens and case references in `text`. Separators inside a
/// token (`BE-2026-104233`, `DE89 3704 0044 …`, `0034 0434 …`) are joined first.
pub fn identifiers(text: &str) -> BTreeSet<Identifier> {
    let mut out = BTreeSet::new();
    let upper = text.to_uppercase();
    // Tokens of letters, digits and inner separators.
    let tokens: Vec<String> = upper
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/' || c == '.'))
        .map(|t| {
            t.trim_matches(|c| c == '-' || c == '/' || c == '.')
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .collect();
    // Tokens already joined into an earlier one.
    let mut skip = 0;
    for (i, t) in tokens.iter().enumerate() {
        if i < skip {
            continue;
        }
        let joined: String = t.chars().filter(char::is_ascii_alphanumeric).collect();
        let digits = joined.chars().filter(char::is_ascii_digit).count();
        let letters = joined.len() - digits;
        // Dates, times and amounts ("24.11.2026", "49.99") are no identifiers.
        if letters == 0 && t.contains('.') {
            continue;
        }
        // Case references.
        if let Some(n) = joined.strip_prefix('A')
            && t.contains('-')
            && !n.is_empty()
            && n.len() <= 9
            && n.chars().all(|c| c.is_ascii_digit())
        {
            out.insert(Identifier {
                kind: IdKind::CaseRef,
                value: format!("A-{n}"),
            });
            continue;
        }
        // IBANs, possibly written in groups of four ("DE89 3704 0044 0532 0130 00").
        if joined.len() >= 4
            && joined
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_uppercase)
        {
            let mut iban = joined.clone();
            let mut j = i + 1;
            while iban.len() < 34 && j < tokens.len() {
                let next = tokens.get(j).map(String::as_str).unwrap_or("");
                if next.len() > 4 || !next.chars().all(|c| c.is_ascii_alphanumeric()) {
                    break;
                }
                iban.push_str(next);
                j += 1;
                if iban_ok(&iban) {
                    break;
                }
            }
            if iban_ok(&iban) {
                out.insert(Identifier {
                    kind: IdKind::Iban,
                    value: iban,
                });
                skip = j;
                continue;
            }
            if iban_ok(&joined) {
                out.insert(Identifier {
                    kind: IdKind::Iban,
                    value: joined.clone(),
                });
                continue;
            }
        }
        // Tracking numbers: UPS 1Z…, DHL JJD…/JVGL…, S10 (RR123456789DE), long digit runs.
        let tracking = (joined.starts_with("1Z") && joined.len() == 18)
            || ((joined.starts_with("JJD") || joined.starts_with("JVGL")) && joined.len() >= 18)
            || (joined.len() == 13
                && letters == 4
                && joined.chars().take(2).all(|c| c.is_ascii_alphabetic())
                && joined.chars().skip(11).all(|c| c.is_ascii_alphabetic()))
            || (letters == 0 && (11..=22).contains(&digits) && digits != 13);
        // Digits split in groups ("0034 0434 1612 3456 7890"): join a run of digit groups.
        if letters == 0 && (3..=5).contains(&digits) {
            let mut run = joined.clone();
            let mut j = i + 1;
            while let Some(next) = tokens.get(j) {
                if next.chars().all(|c| c.is_ascii_digit()) && (3..=5).contains(&next.len()) {
                    run.push_str(next);
                    j += 1;
                } else {
                    break;
                }
            }
            if run.len() >= 12 && j > i + 2 {
                out.insert(Identifier {
                    kind: IdKind::Tracking,
                    value: run,
                });
                skip = j;
                continue;
            }
        }
        if tracking {
            out.insert(Identifier {
                kind: IdKind::Tracking,
                value: joined,
            });
            continue;
        }
        // Order numbers: shop formats with letters and at least five digits ("BE-2026-104233",
        // "be2026104233"), or a run of 6 to 10 digits.
        let order = ((1..=4).contains(&letters) && digits >= 5 && joined.len() <= 20)
            || (letters == 0 && (6..=10).contains(&digits));
        if order {
            out.insert(Identifier {
                kind: IdKind::Order,
                value: joined,
            });
        }
    }
    out
}

/// A 64-bit SimHash of a text's words and word pairs: near-duplicate texts have fingerprints a
/// few bits apart.
pub fn simhash(text: &str) -> u64 {
    let ws = words(text);
    let mut acc = [0i32; 64];
    let mut add = |feature: &str, weight: i32| {
        let h = fnv(feature);
        for (bit, slot) in acc.iter_mut().enumerate() {
            if (h >> bit) & 1 == 1 {
                *slot += weight;
            } else {
                *slot -= weight;
            }
        }
    };
    for w in &ws {
        add(w, 2);
    }
    for pair in ws.windows(2) {
        if let [a, b] = pair {
            add(&format!("{a} {b}"), 1);
        }
    }
    acc.iter()
        .enumerate()
        .fold(0u64, |h, (bit, v)| if *v > 0 { h | (1 << bit) } else { h })
}

/// Bits in which two fingerprints differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Share of words two texts have in common (Jaccard over their folded word sets).
pub fn overlap(a: &str, b: &str) -> f64 {
    let wa: BTreeSet<String> = words(a).into_iter().collect();
    let wb: BTreeSet<String> = words(b).into_iter().collect();
    let union = wa.union(&wb).count();
    if union == 0 {
        return 0.0;
    }
    wa.intersection(&wb).count() as f64 / union as f64
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(IdKind, String)> {
        identifiers(text)
            .into_iter()
            .map(|i| (i.kind, i.value))
            .collect()
    }

    #[test]
    fn folding_meets_transliterations() {
        assert_eq!(fold("Müller"), fold("Mueller"));
        assert_eq!(fold("Müller"), fold("Muller"));
        assert_eq!(fold("Straße"), fold("Strasse"));
        assert_eq!(fold("  Größe: XL!! "), "grosse xl");
    }

    #[test]
    fn words_drop_stop_words_and_numbers() {
        assert_eq!(
            words("Hallo, mein Paket 12345 ist nicht angekommen."),
            vec!["paket", "angekommen"]
        );
    }

    #[test]
    fn identifiers_in_customer_text() {
        assert_eq!(
            ids("Bestellung BE-2026-104233, bitte prüfen"),
            vec![(IdKind::Order, "BE2026104233".into())]
        );
        assert_eq!(
            ids("Bestellung be2026104233"),
            vec![(IdKind::Order, "BE2026104233".into())]
        );
        assert_eq!(
            ids("Auftrag 402817735"),
            vec![(IdKind::Order, "402817735".into())]
        );
        assert_eq!(
            ids("Sendung 00340434161234567890"),
            vec![(IdKind::Tracking, "00340434161234567890".into())]
        );
        assert_eq!(
            ids("DHL 0034 0434 1612 3456 7890"),
            vec![(IdKind::Tracking, "00340434161234567890".into())]
        );
        assert_eq!(
            ids("UPS 1Z999AA10123456784"),
            vec![(IdKind::Tracking, "1Z999AA10123456784".into())]
        );
        assert_eq!(
            ids("Einschreiben RR123456785DE"),
            vec![(IdKind::Tracking, "RR123456785DE".into())]
        );
        assert_eq!(
            ids("IBAN DE89 3704 0044 0532 0130 00 bitte"),
            vec![(IdKind::Iban, "DE89370400440532013000".into())]
        );
        assert_eq!(
            ids("zu Ihrem Fall A-10042"),
            vec![(IdKind::CaseRef, "A-10042".into())]
        );
        assert!(
            ids("am 24.11.2026 um 14:30 für 49,99 €").is_empty(),
            "{:?}",
            ids("am 24.11.2026 um 14:30 für 49,99 €")
        );
    }

    #[test]
    fn near_duplicates_are_near() {
        let a = "Mein Paket ist laut Sendungsverfolgung zugestellt, aber bei mir ist nichts angekommen.";
        let b = "Laut Sendungsverfolgung wurde mein Paket zugestellt, angekommen ist bei mir aber nichts!";
        let c = "Ich möchte meine Rechnung für den Staubsauger als PDF bekommen.";
        assert!(distance(simhash(a), simhash(b)) < distance(simhash(a), simhash(c)));
        assert!(overlap(a, b) > overlap(a, c));
    }
}
