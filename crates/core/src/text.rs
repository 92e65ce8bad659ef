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
    let mut lower = [' '; 3];
    for raw in text.chars() {
        // ASCII needs no case tables.
        if raw.is_ascii() {
            if raw.is_ascii_alphanumeric() {
                out.push(raw.to_ascii_lowercase());
                space = false;
            } else if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        let mut n = 0;
        for (slot, l) in lower.iter_mut().zip(raw.to_lowercase()) {
            *slot = l;
            n += 1;
        }
        for &c in lower.iter().take(n) {
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
    }
    let trimmed = out.trim_end();
    // Transliterated umlauts meet the folded ones: "mueller" → "muller". (One pass per pair,
    // in this order, as `str::replace` would.)
    if !trimmed.contains('e') {
        return trimmed.to_owned();
    }
    let mut bytes = trimmed.as_bytes().to_vec();
    for v in [b'a', b'o', b'u'] {
        let mut prev_kept = false;
        let mut last = 0u8;
        bytes.retain(|&c| {
            // Drop an `e` that directly follows a kept `v`, as one replace pass would.
            let drop = c == b'e' && last == v && prev_kept;
            prev_kept = !drop;
            last = if drop { 0 } else { c };
            !drop
        });
    }
    // Only ASCII bytes were removed, so the text is still UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
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
        .filter(|w| !is_stop(w))
        .map(str::to_owned)
        .collect()
}

/// Whether a folded word is a stop word (carries no concern).
pub fn is_stop(word: &str) -> bool {
    static SET: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| STOP.iter().copied().collect());
    SET.contains(word)
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
    /// A book's ISBN-13 (`978…`/`979…`, 13 digits), as publishers quote it.
    Isbn,
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

/// Upper-case tokens of letters, digits and inner separators (`-`, `/`, `.`). Numbers that
/// customers write in spaced groups are joined first: a shop number `BE 2026 108559` and a
/// nine-digit number `401 207 784`.
fn id_tokens(text: &str) -> Vec<String> {
    let upper = text.to_uppercase().replace('Ü', "UE");
    // (token, separated from the previous token by exactly one space)
    let mut raw: Vec<(&str, bool)> = Vec::new();
    let keep = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '/' || c == '.';
    // The separators before the next token: how many, all spaces, and no lone `-`/`/`/`.`.
    let mut gap = (0usize, true);
    for part in upper.split_inclusive(|c: char| !keep(c)) {
        let (word, sep) = match part.char_indices().last() {
            Some((k, c)) if !keep(c) => (part.get(..k).unwrap_or(""), Some(c)),
            _ => (part, None),
        };
        let t = word.trim_matches(|c| c == '-' || c == '/' || c == '.');
        if t.is_empty() {
            gap.1 &= word.is_empty();
        } else {
            raw.push((t, gap == (1, true)));
            gap = (0, true);
        }
        if let Some(c) = sep {
            gap.0 += 1;
            gap.1 &= c == ' ';
        }
    }
    let digits_of = |t: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&t.len()) && t.chars().all(|c| c.is_ascii_digit())
    };
    let tok = |j: usize| raw.get(j).map(|(t, _)| *t).unwrap_or("");
    let spaced = |j: usize| raw.get(j).is_some_and(|(_, s)| *s);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let t = tok(i);
        // A number spelled out digit by digit, as agents note it from a call ("vier null
        // sechs, sieben sieben zwei, …"): six or more digit words in a row.
        let run: String = raw
            .iter()
            .skip(i)
            .map_while(|(w, _)| spelled_digit(w))
            .collect();
        if run.len() >= 6 {
            i += run.len();
            out.push(run);
            continue;
        }
        let prev_digits = i > 0 && tok(i - 1).chars().any(|c| c.is_ascii_digit());
        if (1..=4).contains(&t.len())
            && t.chars().all(|c| c.is_ascii_uppercase())
            && digits_of(tok(i + 1), 4..=4)
            && digits_of(tok(i + 2), 5..=6)
            && spaced(i + 1)
            && spaced(i + 2)
        {
            out.push(format!("{t}-{}-{}", tok(i + 1), tok(i + 2)));
            i += 3;
            continue;
        }
        if !prev_digits
            && digits_of(t, 3..=3)
            && digits_of(tok(i + 1), 3..=3)
            && digits_of(tok(i + 2), 3..=3)
            && spaced(i + 1)
            && spaced(i + 2)
            && !(spaced(i + 3) && tok(i + 3).chars().all(|c| c.is_ascii_digit()))
        {
            out.push(format!("{t}{}{}", tok(i + 1), tok(i + 2)));
            i += 3;
            continue;
        }
        out.push(t.to_owned());
        i += 1;
    }
    out
}

/// The digit an upper-case German or English digit word stands for.
fn spelled_digit(word: &str) -> Option<char> {
    Some(match word {
        "NULL" | "ZERO" => '0',
        "EINS" | "ONE" => '1',
        "ZWEI" | "ZWO" | "TWO" => '2',
        "DREI" | "THREE" => '3',
        "VIER" | "FOUR" => '4',
        "FUENF" | "FIVE" => '5',
        "SECHS" | "SIX" => '6',
        "SIEBEN" | "SEVEN" => '7',
        "ACHT" | "EIGHT" => '8',
        "NEUN" | "NINE" => '9',
        _ => return None,
    })
}

/// Whether the number at `tokens[i]` is labelled as a customer, phone or Packstation number
/// ("Kundennummer 5518273", "Tel. 0160 9328174").
fn not_an_order(tokens: &[String], i: usize) -> bool {
    const LABELS: &[&str] = &[
        "KUNDENNUMMER",
        "KUNDENNR",
        "KUNDEN-NR",
        "KD-NR",
        "KDNR",
        "CUSTOMER",
        "TEL",
        "TELEFON",
        "TELEFONNUMMER",
        "HANDY",
        "MOBIL",
        "PHONE",
        "POSTNUMMER",
        "FESTNETZ",
    ];
    let mut j = i;
    for _ in 0..2 {
        let Some(prev) = j.checked_sub(1).and_then(|k| tokens.get(k)) else {
            return false;
        };
        if LABELS.contains(&prev.as_str())
            || prev == "NUMBER" && j >= 2 && tokens.get(j - 2).is_some_and(|t| t == "CUSTOMER")
        {
            return true;
        }
        if !prev.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        j -= 1;
    }
    false
}

/// Order, tracking and IBAN-like tokens and case references in `text`. Separators inside a
/// token (`BE-2026-104233`, `DE89 3704 0044 …`, `0034 0434 …`) are joined first.
pub fn identifiers(text: &str) -> BTreeSet<Identifier> {
    let mut out = BTreeSet::new();
    let tokens = id_tokens(text);
    // Tokens already joined into an earlier one.
    let mut skip = 0;
    for (i, t) in tokens.iter().enumerate() {
        if i < skip {
            continue;
        }
        // Every identifier has a digit.
        if !t.bytes().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let mut joined: String = t.chars().filter(char::is_ascii_alphanumeric).collect();
        let mut digits = joined.chars().filter(char::is_ascii_digit).count();
        let mut letters = joined.len() - digits;
        // Dates, times and amounts ("24.11.2026", "49.99") are no identifiers.
        if letters == 0 && t.contains('.') {
            continue;
        }
        // A letter O typed for a zero inside a number ("4O5391806").
        if letters > 0
            && letters <= 2
            && digits >= 5
            && joined.chars().all(|c| c == 'O' || c.is_ascii_digit())
        {
            joined = joined.replace('O', "0");
            digits = joined.len();
            letters = 0;
        }
        // Customer, phone and Packstation numbers are no order numbers.
        if letters == 0 && not_an_order(&tokens, i) {
            continue;
        }
        // ISBN-13 ("978-3-947215-38-6", "9783866471902").
        if letters == 0 && digits == 13 && (joined.starts_with("978") || joined.starts_with("979"))
        {
            out.insert(Identifier {
                kind: IdKind::Isbn,
                value: joined,
            });
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
        let jb = joined.as_bytes();
        if jb.len() >= 4
            && jb.iter().take(2).all(u8::is_ascii_uppercase)
            && jb.iter().skip(2).take(2).all(u8::is_ascii_digit)
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
            // Shaped like an IBAN in groups but the check digits fail (a typo, or a made-up
            // account): its digit groups are no tracking or order number either.
            let b = joined.as_bytes();
            if joined.len() == 4
                && b.iter().take(2).all(u8::is_ascii_uppercase)
                && b.iter().skip(2).all(u8::is_ascii_digit)
                && iban.len() >= 15
            {
                skip = j;
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
    fn identifiers_as_customers_write_them() {
        assert_eq!(
            ids("Bestellnr. BE 2026 108559"),
            vec![(IdKind::Order, "BE2026108559".into())]
        );
        assert_eq!(
            ids("Order 403 918 624 - missing manual"),
            vec![(IdKind::Order, "403918624".into())]
        );
        assert_eq!(
            ids("bestellung nr 4O5391806"),
            vec![(IdKind::Order, "405391806".into())]
        );
        assert_eq!(
            ids("Bestellung 'vier null sechs, sieben sieben zwei, null acht eins'"),
            vec![(IdKind::Order, "406772081".into())]
        );
        assert_eq!(
            ids("ISBN 978-3-947215-38-6"),
            vec![(IdKind::Isbn, "9783947215386".into())]
        );
        assert!(ids("Kundennummer 5518273, Tel. 0160 9328174").is_empty());
        // An IBAN with wrong check digits is no tracking number.
        assert!(ids("IBAN PL62 1090 1014 0000 0712 1981 2874").is_empty());
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
