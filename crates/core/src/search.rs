//! Search analysis and the agents' query language, shared by both search backends so that the
//! embedded index and PostgreSQL index and query the very same terms.
//!
//! Analysis is ours, not an engine's: a text is cut into words, each word folded
//! ([`crate::text::fold`]: `Müller`/`Mueller`/`Muller` → `muller`, `Straße` → `strasse`), a
//! short stop list (no negations: "nicht angekommen" must stay a phrase) drops filler, and the
//! Snowball stemmer of the text's language reduces the rest (`Rücksendungen` → `rucksend`).
//! The folded surface form is indexed beside the stem at the same position so prefix queries
//! typed half-way ("Rücksendu…") still meet. Identifiers customers quote (case references,
//! order and tracking numbers, IBANs, email addresses) are indexed whole, so they match exactly.
//! A query word is stemmed with both languages' stemmers (the query's language is unknown).

use std::collections::BTreeSet;

use rust_stemmers::{Algorithm, Stemmer};

use crate::Language;
use crate::text;

/// Positions left between two texts of one document, so a phrase never spans two messages.
pub const TEXT_GAP: u32 = 8;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Most clauses in one query.
pub const MAX_CLAUSES: usize = 24;

/// Longest word indexed (longer runs are noise: base64, hashes).
const MAX_WORD: usize = 40;

/// One indexed term at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The term.
    pub term: String,
    /// Its word position.
    pub pos: u32,
}

/// Filler words of either language that carry nothing for search. Negations and domain words
/// are kept on purpose.
const STOP: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
    "und", "oder", "aber", "ich", "du", "er", "es", "wir", "ihr", "mir", "mich", "dir", "dich",
    "uns", "euch", "ist", "sind", "bin", "war", "zu", "zum", "zur", "mit", "von", "vom", "auf",
    "aus", "an", "am", "im", "in", "bei", "dass", "da", "so", "the", "a", "an", "and", "or", "but",
    "i", "we", "you", "it", "is", "are", "was", "were", "be", "been", "to", "of", "on", "at", "by",
    "with", "this", "that", "me", "us",
];

/// Whether a folded word is a search stop word.
pub fn is_stop(word: &str) -> bool {
    static SET: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| STOP.iter().copied().collect());
    SET.contains(word)
}

fn stemmer(lang: Language) -> &'static Stemmer {
    static DE: std::sync::LazyLock<Stemmer> =
        std::sync::LazyLock::new(|| Stemmer::create(Algorithm::German));
    static EN: std::sync::LazyLock<Stemmer> =
        std::sync::LazyLock::new(|| Stemmer::create(Algorithm::English));
    match lang {
        Language::De => &DE,
        Language::En => &EN,
    }
}

/// The stem of a folded word in `lang`.
pub fn stem(word: &str, lang: Language) -> String {
    if word.bytes().all(|b| b.is_ascii_digit()) || word.len() < 3 {
        return word.to_owned();
    }
    stemmer(lang).stem(word).into_owned()
}

/// The words of a text with their byte ranges: runs of letters and digits.
pub fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start: Option<usize> = None;
    let mut it = text.char_indices().peekable();
    std::iter::from_fn(move || {
        loop {
            match it.next() {
                Some((i, c)) if c.is_alphanumeric() => {
                    if start.is_none() {
                        start = Some(i);
                    }
                }
                Some((i, _)) => {
                    if let Some(s) = start.take() {
                        return Some((s, i));
                    }
                }
                None => return start.take().map(|s| (s, text.len())),
            }
        }
    })
}

/// Email addresses in a text, lower case.
pub fn emails(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for raw in text.split(|c: char| c.is_whitespace() || "<>()[]{},;:\"'".contains(c)) {
        let w = raw.trim_matches(|c: char| c == '.' || c == '!' || c == '?');
        if w.len() > 3
            && w.len() <= 254
            && w.matches('@').count() == 1
            && let Ok(a) = crate::EmailAddress::parse(w)
            && a.as_str()
                .rsplit('@')
                .next()
                .is_some_and(|d| d.contains('.'))
        {
            out.insert(a.as_str().to_lowercase());
        }
    }
    out
}

/// The exact terms of the identifiers in a text: case references, order and tracking numbers,
/// IBANs (normalised, lower case) and email addresses.
pub fn exact_terms(text: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = text::identifiers(text)
        .into_iter()
        .map(|id| id.value.to_lowercase())
        .collect();
    out.extend(emails(text));
    out
}

/// Analyses one text into `out`, starting at position `pos`; returns the position after it
/// (including the gap before a next text). `lang` `None` indexes both languages' stems.
pub fn analyze_into(text: &str, lang: Option<Language>, pos: u32, out: &mut Vec<Token>) -> u32 {
    let mut pos = pos;
    for (s, e) in word_spans(text) {
        let Some(raw) = text.get(s..e) else { continue };
        let w = text::fold(raw);
        let w = w.trim();
        if w.is_empty() || w.len() > MAX_WORD {
            pos += 1;
            continue;
        }
        if is_stop(w) {
            pos += 1;
            continue;
        }
        let push = |term: String, out: &mut Vec<Token>| {
            if !out
                .iter()
                .rev()
                .take(3)
                .any(|t| t.pos == pos && t.term == term)
            {
                out.push(Token { term, pos });
            }
        };
        // A folded word can still hold a space (a letter the folding splits); index its parts.
        for part in w.split(' ') {
            match lang {
                Some(l) => push(stem(part, l), out),
                None => {
                    push(stem(part, Language::De), out);
                    push(stem(part, Language::En), out);
                }
            }
            push(part.to_owned(), out);
        }
        pos += 1;
    }
    for term in exact_terms(text) {
        out.push(Token { term, pos });
        pos += 1;
    }
    pos + TEXT_GAP
}

/// The tokens of one text (language detected).
pub fn analyze(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    analyze_into(text, Language::detect(text), 0, &mut out);
    out
}

/// How one query word matches: any of these terms at its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordMatch {
    /// The alternatives (the stems of both languages, or one exact term).
    pub terms: Vec<String>,
}

/// A free-text part of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTerm {
    /// A word: any of its stems.
    Word(WordMatch),
    /// A word typed half-way: terms starting with this folded prefix.
    Prefix(String),
    /// Words in this order; each with its offset from the first (stop words leave gaps).
    Phrase(Vec<(u32, WordMatch)>),
}

/// A comparison for dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Before.
    Lt,
    /// On or before.
    Le,
    /// That day.
    Eq,
    /// On or after.
    Ge,
    /// After.
    Gt,
}

/// A field filter as typed; names are resolved by the search layer (teams, agents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `status:open`.
    Status(crate::CaseStatus),
    /// `team:vendor` (name, folded).
    Team(String),
    /// `tag:trailer`.
    Tag(String),
    /// `from:verlag@example.de` (address or phone, as typed).
    From(String),
    /// `channel:phone`.
    Channel(crate::Channel),
    /// `priority:high`.
    Priority(crate::Priority),
    /// `assignee:me`, `assignee:none`, `assignee:jana@shop.example`.
    Assignee(String),
    /// `created:>2026-11-01`.
    Created(Cmp, jiff::civil::Date),
    /// `updated:<2026-11-01`.
    Updated(Cmp, jiff::civil::Date),
    /// `has:attachment`.
    HasAttachment,
    /// `has:note` (internal notes).
    HasNote,
    /// `is:case` / `is:customer`: the kind of result.
    Kind(DocKind),
}

/// What a search result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A case with its contacts.
    Case,
    /// A customer with names and identities.
    Customer,
}

impl DocKind {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Case => "case",
            Self::Customer => "customer",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "case" => Some(Self::Case),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }
}

/// One clause of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// Free text.
    Text(TextTerm),
    /// A field filter.
    Filter(Filter),
}

/// A parsed query: clauses that must all hold, and clauses that must not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Must hold.
    pub must: Vec<Clause>,
    /// Must not hold.
    pub not: Vec<Clause>,
    /// Text was typed but none of it is searchable (only stop words or punctuation).
    pub nothing_searchable: bool,
}

impl Query {
    /// Whether any positive free-text clause exists (else results are listed by date).
    pub fn has_text(&self) -> bool {
        self.must.iter().any(|c| matches!(c, Clause::Text(_)))
    }

    /// Every term the text clauses can match (for highlighting).
    pub fn highlighter(&self) -> Highlighter {
        let mut h = Highlighter::default();
        for c in &self.must {
            if let Clause::Text(t) = c {
                match t {
                    TextTerm::Word(w) => h.terms.extend(w.terms.iter().cloned()),
                    TextTerm::Prefix(p) => h.prefixes.push(p.clone()),
                    TextTerm::Phrase(ws) => {
                        for (_, w) in ws {
                            h.terms.extend(w.terms.iter().cloned());
                        }
                    }
                }
            }
        }
        // An identifier matches as a whole term; its digit runs mark it in the text.
        let pieces: Vec<String> = h
            .terms
            .iter()
            .flat_map(|t| {
                t.split(|c: char| !c.is_alphanumeric())
                    .filter(|p| p.len() >= 4)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        h.terms.extend(pieces);
        h
    }
}

/// A query that cannot be run, with a message for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The field names the query language knows.
pub const FIELDS: &[&str] = &[
    "status", "team", "tag", "from", "channel", "priority", "assignee", "created", "updated",
    "has", "is",
];

/// The matcher of one query word.
fn word_match(word: &str) -> Option<WordMatch> {
    // Identifiers match whole.
    let exact = exact_terms(word);
    if let Some(e) = exact.into_iter().next() {
        return Some(WordMatch { terms: vec![e] });
    }
    let folded = text::fold(word);
    let parts: Vec<&str> = folded.split(' ').filter(|p| !p.is_empty()).collect();
    let [w] = parts.as_slice() else {
        return None;
    };
    if is_stop(w) || w.len() > MAX_WORD {
        return None;
    }
    let mut terms = vec![stem(w, Language::De)];
    let en = stem(w, Language::En);
    if !terms.contains(&en) {
        terms.push(en);
    }
    Some(WordMatch { terms })
}

/// The matchers of a run of free text (a phrase or a word with inner punctuation).
fn phrase_of(text: &str) -> Vec<(u32, WordMatch)> {
    // A whole identifier (`A-10042`, `DE89 3704 …`) stays one term.
    let exact = exact_terms(text);
    if exact.len() == 1 && text.split_whitespace().count() <= 6 {
        let term = exact.into_iter().next().unwrap_or_default();
        let only = text::fold(text).replace(' ', "") == text::fold(&term).replace(' ', "");
        if only || !text.contains(' ') {
            return vec![(0, WordMatch { terms: vec![term] })];
        }
    }
    let mut out = Vec::new();
    for (off, (s, e)) in (0u32..).zip(word_spans(text)) {
        if let Some(m) = text.get(s..e).and_then(word_match) {
            out.push((off, m));
        }
    }
    if let Some(first) = out.first().map(|(o, _)| *o) {
        for (o, _) in &mut out {
            *o -= first;
        }
    }
    out
}

fn text_term(raw: &str, quoted: bool) -> Result<Option<TextTerm>, QueryError> {
    if !quoted && let Some(head) = raw.strip_suffix('*') {
        let p = text::fold(head.trim_end_matches('*'));
        let p = p.trim();
        if p.is_empty() {
            return Ok(None);
        }
        if p.contains(' ') {
            return Err(QueryError(format!(
                "'{raw}': a prefix search works on one word, e.g. Rücksend*"
            )));
        }
        if p.chars().count() < 2 {
            return Err(QueryError(format!(
                "'{raw}': type at least two letters before the *"
            )));
        }
        return Ok(Some(TextTerm::Prefix(p.to_owned())));
    }
    let mut ws = phrase_of(raw);
    Ok(match ws.len() {
        0 => None,
        1 if ws.first().is_some_and(|(o, _)| *o == 0) => ws.pop().map(|(_, w)| TextTerm::Word(w)),
        _ => Some(TextTerm::Phrase(ws)),
    })
}

fn date_filter(field: &str, value: &str) -> Result<(Cmp, jiff::civil::Date), QueryError> {
    let (cmp, rest) = if let Some(r) = value.strip_prefix(">=") {
        (Cmp::Ge, r)
    } else if let Some(r) = value.strip_prefix("<=") {
        (Cmp::Le, r)
    } else if let Some(r) = value.strip_prefix('>') {
        (Cmp::Gt, r)
    } else if let Some(r) = value.strip_prefix('<') {
        (Cmp::Lt, r)
    } else {
        (Cmp::Eq, value.strip_prefix('=').unwrap_or(value))
    };
    let date = rest.parse::<jiff::civil::Date>().map_err(|_| {
        QueryError(format!(
            "{field}: expects a date like {field}:>2026-11-01 (also <, >=, <= or the day itself)"
        ))
    })?;
    Ok((cmp, date))
}

fn filter(field: &str, value: &str) -> Result<Filter, QueryError> {
    let bad = |what: &str| QueryError(format!("{field}:{value}: {what}"));
    if value.is_empty() {
        return Err(QueryError(format!(
            "{field}: needs a value, e.g. {}",
            match field {
                "status" => "status:open",
                "team" => "team:vendor",
                "created" => "created:>2026-11-01",
                "has" => "has:attachment",
                "is" => "is:customer",
                _ => "field:value",
            }
        )));
    }
    Ok(match field {
        "status" => Filter::Status(crate::CaseStatus::parse(value).map_err(|_| {
            bad("unknown status (new, open, waiting_on_customer, waiting_on_third_party, solved, closed)")
        })?),
        "team" => Filter::Team(text::fold(value).trim().to_owned()),
        "tag" => Filter::Tag(value.to_lowercase()),
        "from" => Filter::From(value.to_owned()),
        "channel" => Filter::Channel(
            crate::Channel::parse(value)
                .map_err(|_| bad("unknown channel (email, form, portal, phone, chat, api, note)"))?,
        ),
        "priority" => Filter::Priority(
            crate::Priority::parse(value)
                .map_err(|_| bad("unknown priority (low, normal, high, urgent)"))?,
        ),
        "assignee" => Filter::Assignee(value.to_lowercase()),
        "created" => {
            let (c, d) = date_filter(field, value)?;
            Filter::Created(c, d)
        }
        "updated" => {
            let (c, d) = date_filter(field, value)?;
            Filter::Updated(c, d)
        }
        "has" => match value.to_lowercase().as_str() {
            "attachment" | "attachments" | "anhang" => Filter::HasAttachment,
            "note" | "notes" | "notiz" => Filter::HasNote,
            _ => return Err(bad("has: knows attachment and note")),
        },
        "is" => match value.to_lowercase().as_str() {
            "case" | "fall" => Filter::Kind(DocKind::Case),
            "customer" | "kunde" => Filter::Kind(DocKind::Customer),
            _ => return Err(bad("is: knows case and customer")),
        },
        _ => return Err(unknown_field(field)),
    })
}

fn unknown_field(field: &str) -> QueryError {
    QueryError(format!(
        "unknown field '{field}:'; known fields: {}",
        FIELDS.join(", ")
    ))
}

/// Splits a query into raw pieces: (negated, field, value or text, quoted).
fn pieces(q: &str) -> Vec<(bool, Option<String>, String, bool)> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let Some(&c) = chars.get(i) else { break };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let mut neg = false;
        if c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            neg = true;
            i += 1;
        }
        // A quoted phrase; an unbalanced quote runs to the end.
        if chars.get(i) == Some(&'"') {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars.get(j) != Some(&'"') {
                j += 1;
            }
            out.push((
                neg,
                None,
                chars.get(start..j).unwrap_or(&[]).iter().collect(),
                true,
            ));
            i = j + 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        let word: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
        // `field:value`, `field:"quoted value"`: a field name is ASCII letters.
        if let Some((name, value)) = word.split_once(':')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphabetic())
            && !value.starts_with("//")
        {
            let mut value = value.to_owned();
            if value.starts_with('"') {
                value.remove(0);
                if let Some(stripped) = value.strip_suffix('"') {
                    value = stripped.to_owned();
                } else {
                    // The value runs on to the closing quote.
                    let mut j = i;
                    while j < chars.len() && chars.get(j) != Some(&'"') {
                        j += 1;
                    }
                    value.extend(chars.get(i..j).unwrap_or(&[]).iter());
                    i = j + 1;
                }
            }
            out.push((neg, Some(name.to_lowercase()), value, false));
            continue;
        }
        out.push((neg, None, word, false));
    }
    out
}

/// Parses what an agent typed.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError(format!(
            "the query is too long ({} characters; at most {MAX_QUERY_CHARS})",
            q.chars().count()
        )));
    }
    let mut query = Query::default();
    let mut typed_text = false;
    for (neg, field, value, quoted) in pieces(q) {
        let clause = match field {
            Some(f) if FIELDS.contains(&f.as_str()) => Clause::Filter(filter(&f, &value)?),
            Some(f) => {
                // `Hinweis:` or `Re:` as typed text is a word, not a field.
                if value.is_empty() {
                    typed_text = true;
                    match text_term(&f, false)? {
                        Some(t) => Clause::Text(t),
                        None => continue,
                    }
                } else {
                    return Err(unknown_field(&f));
                }
            }
            None => {
                if value.trim_matches('*').is_empty() && !quoted {
                    // `*` alone: everything (filters still apply).
                    continue;
                }
                typed_text = true;
                match text_term(&value, quoted)? {
                    Some(t) => Clause::Text(t),
                    None => continue,
                }
            }
        };
        if neg {
            query.not.push(clause);
        } else {
            query.must.push(clause);
        }
        if query.must.len() + query.not.len() > MAX_CLAUSES {
            return Err(QueryError(format!(
                "the query has too many parts (at most {MAX_CLAUSES})"
            )));
        }
    }
    query.nothing_searchable = typed_text
        && !query
            .must
            .iter()
            .chain(&query.not)
            .any(|c| matches!(c, Clause::Text(_)));
    Ok(query)
}

/// Marks query terms in texts for result snippets.
#[derive(Debug, Clone, Default)]
pub struct Highlighter {
    /// Whole terms (stems, exact identifiers).
    pub terms: BTreeSet<String>,
    /// Folded prefixes.
    pub prefixes: Vec<String>,
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
}

impl Highlighter {
    fn hit(&self, word: &str) -> bool {
        let w = text::fold(word);
        let w = w.trim();
        if w.is_empty() {
            return false;
        }
        if self.terms.contains(w) || self.prefixes.iter().any(|p| w.starts_with(p.as_str())) {
            return true;
        }
        // Stemming only cuts and rewrites endings: a word whose start no term shares cannot
        // stem to one (and stemming every word of a long text is the costly part).
        let head: String = w.chars().take(3).collect();
        if !self
            .terms
            .iter()
            .any(|t| t.starts_with(head.as_str()) || head.starts_with(t.as_str()))
        {
            return false;
        }
        self.terms.contains(&stem(w, Language::De)) || self.terms.contains(&stem(w, Language::En))
    }

    /// An HTML snippet of about `width` characters of `text` around the best cluster of hits,
    /// every hit in `<mark>`; everything else escaped. `None` when nothing in the text matches.
    pub fn snippet(&self, text: &str, width: usize) -> Option<String> {
        // Long texts: the best passage is looked for in the first 50,000 bytes.
        let mut scan = text.len().min(50_000);
        while !text.is_char_boundary(scan) {
            scan -= 1;
        }
        let hits: Vec<(usize, usize)> = word_spans(text.get(..scan).unwrap_or(text))
            .filter(|&(s, e)| text.get(s..e).is_some_and(|w| self.hit(w)))
            .collect();
        let first = *hits.first()?;
        // The window with the most hits.
        let mut best = (first.0, 0usize);
        for (i, &(s, _)) in hits.iter().enumerate() {
            let n = hits
                .iter()
                .skip(i)
                .take_while(|(hs, _)| *hs < s + width)
                .count();
            if n > best.1 {
                best = (s, n);
            }
        }
        let mut start = best.0.saturating_sub(width / 4);
        while start > 0 && !text.is_char_boundary(start) {
            start -= 1;
        }
        // Start at a word.
        if start > 0
            && let Some(sp) = text.get(start..).and_then(|t| t.find(char::is_whitespace))
            && start + sp < best.0
        {
            start += sp + 1;
        }
        let mut end = (start + width).min(text.len());
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        let mut out = String::with_capacity(width + 64);
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for &(s, e) in hits.iter().filter(|(s, e)| *s >= start && *e <= end) {
            escape_into(&mut out, text.get(at..s).unwrap_or(""));
            out.push_str("<mark>");
            escape_into(&mut out, text.get(s..e).unwrap_or(""));
            out.push_str("</mark>");
            at = e;
        }
        escape_into(&mut out, text.get(at..end).unwrap_or(""));
        if end < text.len() {
            out.push('…');
        }
        Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The first `width` characters of `text`, escaped (a result without a hit in this text).
    pub fn head(text: &str, width: usize) -> String {
        let mut end = text.len().min(width);
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        let mut out = String::new();
        escape_into(&mut out, text.get(..end).unwrap_or(""));
        if end < text.len() {
            out.push('…');
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> BTreeSet<String> {
        analyze(text).into_iter().map(|t| t.term).collect()
    }

    fn matches(doc: &str, q: &str) -> bool {
        let t = terms(doc);
        let q = parse(q).unwrap();
        q.must.iter().all(|c| match c {
            Clause::Text(TextTerm::Word(w)) => w.terms.iter().any(|x| t.contains(x)),
            Clause::Text(TextTerm::Prefix(p)) => t.iter().any(|x| x.starts_with(p.as_str())),
            Clause::Text(TextTerm::Phrase(ws)) => ws
                .iter()
                .all(|(_, w)| w.terms.iter().any(|x| t.contains(x))),
            Clause::Filter(_) => true,
        })
    }

    #[test]
    fn umlauts_and_sharp_s_meet() {
        for q in ["Müller", "Mueller", "Muller", "MÜLLER"] {
            assert!(matches("Herr Müller hat angerufen", q), "{q}");
            assert!(matches("Herr Mueller hat angerufen", q), "{q}");
        }
        assert!(matches("Lieferung in die Hauptstraße 5", "Hauptstrasse"));
        assert!(matches("Lieferung in die Hauptstrasse 5", "Hauptstraße"));
    }

    #[test]
    fn stems_meet_in_both_languages() {
        assert!(matches(
            "Ich möchte eine Rücksendung anmelden, bitte.",
            "Rücksendungen"
        ));
        assert!(matches(
            "Alle Rücksendungen sind angekommen, danke.",
            "Rücksendung"
        ));
        assert!(matches(
            "The parcels were returned to the warehouse yesterday.",
            "parcel returns"
        ));
        assert!(matches("Kündigungen bitte schriftlich", "Kündigung"));
    }

    #[test]
    fn prefixes_typed_half_way_meet() {
        assert!(matches("Meine Rücksendungen kamen nie an", "Rücksendu*"));
        assert!(matches("Meine Rücksendungen kamen nie an", "ruecks*"));
        assert!(!matches("Meine Bestellung kam nie an", "ruecks*"));
    }

    #[test]
    fn identifiers_are_exact_terms() {
        let t = terms(
            "Sendung 00340434161094042557 und Fall A-10042, IBAN DE89 3704 0044 0532 0130 00, Mail an Verlag@Example.de",
        );
        assert!(t.contains("00340434161094042557"));
        assert!(t.contains("a-10042"));
        assert!(t.contains("de89370400440532013000"));
        assert!(t.contains("verlag@example.de"));
        let q = parse("A-10042").unwrap();
        assert_eq!(
            q.must,
            vec![Clause::Text(TextTerm::Word(WordMatch {
                terms: vec!["a-10042".into()]
            }))]
        );
        let q = parse("\"DE89 3704 0044 0532 0130 00\"").unwrap();
        assert_eq!(
            q.must,
            vec![Clause::Text(TextTerm::Word(WordMatch {
                terms: vec!["de89370400440532013000".into()]
            }))]
        );
    }

    #[test]
    fn phrases_keep_negations_and_gaps() {
        let q = parse("\"nicht angekommen\"").unwrap();
        let Some(Clause::Text(TextTerm::Phrase(ws))) = q.must.first() else {
            panic!("{q:?}")
        };
        assert_eq!(ws.len(), 2);
        assert_eq!(ws[1].0, 1);
        let q = parse("\"Paket ist nicht angekommen\"").unwrap();
        let Some(Clause::Text(TextTerm::Phrase(ws))) = q.must.first() else {
            panic!("{q:?}")
        };
        let offsets: Vec<u32> = ws.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, vec![0, 2, 3], "'ist' leaves a gap");
        // The same gaps when indexed.
        let toks = analyze("Das Paket ist nicht angekommen");
        let pos = |t: &str| toks.iter().find(|x| x.term == t).map(|x| x.pos).unwrap();
        assert_eq!(pos("nicht") - pos("paket"), 2);
    }

    #[test]
    fn filters_parse_and_unknown_ones_explain() {
        let q = parse("status:open team:vendor tag:trailer from:verlag@example.de created:>2026-11-01 has:attachment channel:phone \"nicht angekommen\"").unwrap();
        assert_eq!(q.must.len(), 8);
        assert!(
            q.must
                .contains(&Clause::Filter(Filter::Status(crate::CaseStatus::Open)))
        );
        assert!(q.must.contains(&Clause::Filter(Filter::Created(
            Cmp::Gt,
            jiff::civil::date(2026, 11, 1)
        ))));
        let e = parse("colour:red").unwrap_err();
        assert!(e.0.contains("unknown field 'colour:'"), "{e}");
        assert!(e.0.contains("status"), "{e}");
        assert!(
            parse("status:sleeping")
                .unwrap_err()
                .0
                .contains("unknown status")
        );
        assert!(
            parse("created:gestern")
                .unwrap_err()
                .0
                .contains("2026-11-01")
        );
        let q = parse("-status:closed paket").unwrap();
        assert_eq!(q.not.len(), 1);
        // Words that end in a colon are text.
        assert!(parse("Hinweis: Paket").unwrap().has_text());
        // Times and URLs are text.
        assert!(parse("14:00 https://shop.example/x").unwrap().has_text());
    }

    #[test]
    fn garbage_is_a_sane_query() {
        assert_eq!(parse("*").unwrap(), Query::default());
        let q = parse("\"unbalanced quote").unwrap();
        assert!(q.has_text());
        let q = parse(".*[]((").unwrap();
        assert!(q.nothing_searchable);
        assert!(parse(&"wort ".repeat(300)).is_err());
        assert!(parse(&"a".repeat(2000)).is_err());
        assert!(
            parse(&"wort ".repeat(30))
                .unwrap_err()
                .0
                .contains("too many")
        );
        assert!(parse("a*").is_err());
        assert!(parse("die das").unwrap().nothing_searchable);
    }

    #[test]
    fn snippets_mark_hits_and_escape() {
        let q = parse("Rücksendung").unwrap();
        let h = q.highlighter();
        let s = h
            .snippet(
                "Guten Tag, <b>meine</b> Rücksendungen sind noch nicht erstattet.",
                200,
            )
            .unwrap();
        assert!(s.contains("<mark>Rücksendungen</mark>"), "{s}");
        assert!(s.contains("&lt;b&gt;"), "{s}");
        assert!(h.snippet("Nichts davon", 200).is_none());
        let long = format!("{} Paket fehlt {}", "x ".repeat(400), "y ".repeat(400));
        let s = parse("Paket")
            .unwrap()
            .highlighter()
            .snippet(&long, 120)
            .unwrap();
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("<mark>Paket</mark>"));
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(q in "\\PC{0,200}") {
            let _ = parse(&q);
        }

        #[test]
        fn analysis_never_panics(t in "\\PC{0,300}") {
            let toks = analyze(&t);
            let h = Highlighter { terms: toks.iter().map(|t| t.term.clone()).collect(), prefixes: vec![] };
            let _ = h.snippet(&t, 50);
        }
    }
}
