//! Quoted history and signatures: what the customer newly wrote, so the case view can show it
//! first. The full text is always kept; this only finds where the new part ends.
//!
//! Recognised: `>` quotes (top-, bottom- and interleaved posting), attribution lines
//! (`Am … schrieb …:`, `On … wrote:`, also wrapped over two lines), Outlook and webmail header
//! blocks (`Von:/Gesendet:/An:/Betreff:`, GMX/web.de's `Gesendet:` first, T-Online's
//! `-----Original-Nachricht-----`), separator lines, forwarded messages, the `-- ` signature
//! delimiter and the footers of mobile mail apps. HTML quotes (`blockquote type=cite`, Gmail's
//! `gmail_quote`, Outlook's `divRplyFwdMsg` and border-top separator, Thunderbird's
//! `moz-cite-prefix`) are cut before the HTML is turned into text.

use crate::html::html_to_text;

/// The new part of a message and what was cut off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// What the sender newly wrote: no quoted history, no signature.
    pub new_text: String,
    /// Whether quoted history was found.
    pub has_quote: bool,
    /// The signature, where one was recognised.
    pub signature: Option<String>,
}

/// Splits a plain-text body.
pub fn split_text(text: &str) -> Split {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let (mut kept, has_quote) = without_quotes(&lines);
    let signature = cut_signature(&mut kept);
    Split {
        new_text: join_trimmed(&kept),
        has_quote,
        signature,
    }
}

/// Splits an HTML body: quote containers are cut first, the rest is read as text.
pub fn split_html(html: &str) -> Split {
    let (head, cut) = match html_quote_start(html) {
        Some(at) => (html.get(..at).unwrap_or(html), true),
        None => (html, false),
    };
    let mut split = split_text(&html_to_text(head));
    split.has_quote |= cut;
    split
}

/// Byte offset of the first HTML quote container.
fn html_quote_start(html: &str) -> Option<usize> {
    const MARKERS: [&str; 12] = [
        "<div class=\"gmail_quote",
        "<blockquote class=\"gmail_quote",
        "<blockquote type=\"cite\"",
        "<div id=\"divrplyfwdmsg\"",
        "<div id=\"appendonsend\"",
        "<div class=\"moz-cite-prefix\"",
        "<hr id=\"stopspelling\"",
        "<div class=\"yahoo_quoted\"",
        "<div name=\"quote\"",
        "<div class=\"protonmail_quote\"",
        "<div style=\"border:none;border-top:solid #e1e1e1",
        "<div style=\"border:none;border-top:solid #b5c4df",
    ];
    let lower = html.to_ascii_lowercase();
    MARKERS.iter().filter_map(|m| lower.find(m)).min()
}

/// Whether a line opens quoted history: a separator, a header block or an attribution line.
fn opens_history(lines: &[&str], i: usize) -> bool {
    let Some(line) = lines.get(i) else {
        return false;
    };
    is_separator(line) || is_header_block(lines, i) || attribution_len(lines, i).is_some()
}

fn is_separator(line: &str) -> bool {
    const NAMES: [&str; 12] = [
        "ursprüngliche nachricht",
        "original message",
        "original-nachricht",
        "originalnachricht",
        "forwarded message",
        "weitergeleitete nachricht",
        "begin forwarded message:",
        "anfang der weitergeleiteten nachricht:",
        "weitergeleitete nachricht:",
        "message d'origine",
        "ursprungliche nachricht",
        "reply message",
    ];
    let t = line.trim();
    let inner = t
        .trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c == '*' || c == ' ')
        .to_lowercase();
    let framed =
        t.starts_with("--") || t.starts_with("__") || t.starts_with("==") || inner.ends_with(':');
    framed && NAMES.contains(&inner.as_str())
}

/// The key of a header-like line (`Von:`, `*From:*`), lower case.
fn header_key(line: &str) -> Option<&'static str> {
    const KEYS: [(&str, &str); 17] = [
        ("von", "from"),
        ("from", "from"),
        ("gesendet", "sent"),
        ("sent", "sent"),
        ("an", "to"),
        ("to", "to"),
        ("betreff", "subject"),
        ("subject", "subject"),
        ("datum", "date"),
        ("date", "date"),
        ("cc", "cc"),
        ("kopie", "cc"),
        ("bcc", "cc"),
        ("antwort an", "reply"),
        ("reply-to", "reply"),
        ("gesendet am", "sent"),
        ("sent on", "sent"),
    ];
    let t = line
        .trim()
        .trim_start_matches('*')
        .trim_start_matches(['>', ' ']);
    let (key, _) = t.split_once(':')?;
    let key = key.trim().trim_end_matches('*').trim().to_lowercase();
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, canonical)| *canonical)
}

/// A block of at least three different mail headers, one of them the sender, starting at `i`.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    // An Outlook rule line may stand right above the block.
    let start = match lines.get(i) {
        Some(l) if l.trim().len() >= 10 && l.trim().chars().all(|c| c == '_' || c == '-') => i + 1,
        _ => i,
    };
    let Some(first) = lines.get(start).and_then(|l| header_key(l)) else {
        return false;
    };
    let mut keys = vec![first];
    let mut misses = 0;
    for line in lines.iter().skip(start + 1).take(8) {
        match header_key(line) {
            Some(k) => {
                if !keys.contains(&k) {
                    keys.push(k);
                }
                misses = 0;
            }
            None if line.trim().is_empty() && keys.len() >= 3 => break,
            None => {
                misses += 1;
                if misses > 1 {
                    break;
                }
            }
        }
    }
    keys.len() >= 3 && keys.contains(&"from")
}

/// Lines an attribution (`Am … schrieb …:`) spans at `i`, if one starts there.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let line = lines.get(i)?.trim();
    if line.starts_with('>') || line.is_empty() {
        return None;
    }
    let lower = line.to_lowercase();
    if ends_attribution(&lower) {
        let opener = starts_attribution(&lower);
        let next_quoted = lines
            .iter()
            .skip(i + 1)
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with('>'));
        if opener || next_quoted || lower.contains('@') {
            return Some(1);
        }
        return None;
    }
    // Any language: a line (or two) naming an address and ending in ':' right above quoted
    // lines ("… пользователь "bob@x" <bob@x> написал:").
    let quoted_after = |from: usize| {
        lines
            .iter()
            .skip(from)
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with('>'))
    };
    if lower.ends_with(':')
        && lower.contains('@')
        && quoted_after(i + 1)
        && line.chars().count() < 250
    {
        return Some(1);
    }
    if let Some(next) = lines.get(i + 1) {
        let next = next.trim();
        if next.ends_with(':')
            && !next.starts_with('>')
            && format!("{line} {next}").contains('@')
            && quoted_after(i + 2)
            && line.chars().count() + next.chars().count() < 250
        {
            return Some(2);
        }
    }
    if starts_attribution(&lower) && line.chars().count() < 200 {
        let next = lines.get(i + 1)?.trim().to_lowercase();
        let verb =
            |s: &str| s.contains("schrieb") || s.contains("wrote") || s.contains("geschrieben");
        if ends_attribution(&next)
            || ((verb(&next) || verb(&lower)) && next.ends_with(':') && next.chars().count() < 120)
        {
            return Some(2);
        }
    }
    None
}

fn starts_attribution(lower: &str) -> bool {
    lower.starts_with("am ") || lower.starts_with("on ") || lower.starts_with("le ")
}

fn ends_attribution(lower: &str) -> bool {
    let t = lower.trim_end();
    t.ends_with("schrieb:")
        || t.ends_with("wrote:")
        || t.ends_with("geschrieben:")
        || t.ends_with("a écrit :")
        || t.ends_with("a écrit:")
        || (t.ends_with(':') && t.contains(" schrieb "))
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The lines that are not quoted history, and whether any history was found.
fn without_quotes<'a>(lines: &[&'a str]) -> (Vec<&'a str>, bool) {
    let Some(cut) = (0..lines.len())
        .find(|&i| opens_history(lines, i) || is_quoted(lines.get(i).unwrap_or(&"")))
    else {
        return (lines.to_vec(), false);
    };
    let head: Vec<&str> = lines.iter().take(cut).copied().collect();
    let rest = lines.get(cut..).unwrap_or_default();
    // Outlook-style history (separator or header block) runs to the end: nothing after it is new.
    let by_marker = rest.first().is_some_and(|l| is_separator(l)) || is_header_block(lines, cut);
    if by_marker {
        return (head, true);
    }
    // `>` quotes: answers may stand between and below the quoted lines (interleaved or bottom
    // posting). Keep every unquoted line that is not itself an attribution or a later history.
    let mut kept = head;
    let mut i = cut;
    let mut answered = false;
    while let Some(line) = lines.get(i) {
        if is_quoted(line) {
            i += 1;
            continue;
        }
        if let Some(n) = attribution_len(lines, i) {
            i += n;
            continue;
        }
        if is_separator(line) || is_header_block(lines, i) {
            break;
        }
        if !line.trim().is_empty() {
            answered = true;
        }
        if answered || !kept.is_empty() {
            kept.push(line);
        }
        i += 1;
    }
    (kept, true)
}

/// Removes a trailing signature from `lines` and returns it.
fn cut_signature(lines: &mut Vec<&str>) -> Option<String> {
    let at = lines
        .iter()
        .position(|l| *l == "-- " || l.trim_end() == "--")
        .or_else(|| lines.iter().position(|l| is_app_footer(l)))?;
    let sig = join_trimmed(lines.get(at..).unwrap_or_default());
    lines.truncate(at);
    Some(sig)
}

fn is_app_footer(line: &str) -> bool {
    const FOOTERS: [&str; 22] = [
        "gesendet von meinem",
        "von meinem iphone gesendet",
        "von meinem ipad gesendet",
        "von meinem samsung",
        "von meinem huawei",
        "von meinem xiaomi",
        "gesendet vom iphone",
        "gesendet mit der web.de mail app",
        "gesendet mit der gmx mail app",
        "gesendet mit der t-online",
        "diese nachricht wurde von meinem android",
        "gesendet von outlook für",
        "holen sie sich outlook für",
        "von mail für windows gesendet",
        "sent from my",
        "sent from outlook for",
        "sent from mail for windows",
        "get outlook for",
        "sent via the samsung",
        "sent with proton mail",
        "gesendet mit proton mail",
        "von meinem android",
    ];
    let l = line.trim().to_lowercase();
    !l.is_empty() && l.chars().count() < 120 && FOOTERS.iter().any(|f| l.starts_with(f))
}

/// Joins lines, dropping blank lines at both ends and trailing spaces, and collapsing runs of
/// blank lines to one.
fn join_trimmed(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank_run = false;
    for line in lines {
        let l = line.trim_end();
        if l.is_empty() {
            blank_run = !out.is_empty();
            continue;
        }
        if blank_run {
            out.push_str("\n\n");
        } else if !out.is_empty() {
            out.push('\n');
        }
        blank_run = false;
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_german() {
        let s = split_text(
            "Hallo,\n\ndas Paket ist immer noch nicht da.\n\nGruß\nAnna\n\n-----Ursprüngliche Nachricht-----\nVon: Shop <s@x.de>\nGesendet: Montag, 9. November 2026 10:00\nAn: anna@x.de\nBetreff: Ihre Bestellung\n\nAlter Text",
        );
        assert_eq!(
            s.new_text,
            "Hallo,\n\ndas Paket ist immer noch nicht da.\n\nGruß\nAnna"
        );
        assert!(s.has_quote);
    }

    #[test]
    fn header_block_without_separator() {
        let s = split_text(
            "Danke!\n\nVon: Shop <s@x.de>\nGesendet: Montag\nAn: a@x.de\nBetreff: x\n\nalt",
        );
        assert_eq!(s.new_text, "Danke!");
    }

    #[test]
    fn a_single_von_line_is_text() {
        let s = split_text("Von: Maria habe ich gehört, dass es klappt.\nDanke.");
        assert_eq!(
            s.new_text,
            "Von: Maria habe ich gehört, dass es klappt.\nDanke."
        );
        assert!(!s.has_quote);
    }

    #[test]
    fn attribution_and_quotes() {
        let s = split_text(
            "Ja, bitte.\n\nAm 12.11.2026 um 14:03 schrieb Kundenservice <s@x.de>:\n> Sollen wir?\n> Gruß",
        );
        assert_eq!(s.new_text, "Ja, bitte.");
        let s = split_text(
            "Yes.\n\nOn Tue, Nov 10, 2026 at 9:14 AM Shop Support <\nsupport@shop.example> wrote:\n> Shall we?",
        );
        assert_eq!(s.new_text, "Yes.");
    }

    #[test]
    fn interleaved_answers_are_kept() {
        let s = split_text(
            "Am 1.1.2026 schrieb Shop <s@x.de>:\n> Welche Farbe?\nRot.\n> Welche Größe?\nXL.\n\n-- \nAnna",
        );
        assert_eq!(s.new_text, "Rot.\nXL.");
        assert_eq!(s.signature.as_deref(), Some("--\nAnna"));
    }

    #[test]
    fn footers_are_signatures() {
        let s = split_text("Wo bleibt mein Geld?\n\nVon meinem iPhone gesendet");
        assert_eq!(s.new_text, "Wo bleibt mein Geld?");
        assert!(s.signature.is_some());
    }

    #[test]
    fn html_quotes_are_cut() {
        let s = split_html(
            "<div>Neu &amp; wichtig</div><div class=\"gmail_quote\"><div>Am Mo. schrieb X:</div><blockquote>alt</blockquote></div>",
        );
        assert_eq!(s.new_text, "Neu & wichtig");
        assert!(s.has_quote);
    }
}
