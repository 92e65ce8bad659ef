//! Interface text in German and English (Fluent files under `crates/web/locales`), chosen by an
//! explicit switch (cookie `lang`), else the browser's `Accept-Language`, else German.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::HeaderMap;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "de",
        // No Unicode isolation marks around arguments: they would end up in HTML attributes.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static DE: LanguageIdentifier = langid!("de");
static EN: LanguageIdentifier = langid!("en");

/// The interface language of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Deutsch.
    De,
    /// English.
    En,
}

impl Lang {
    /// `de` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// Parses `de`/`en` (and regional forms like `de-AT`).
    pub fn parse(raw: &str) -> Option<Self> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language of a request: the `lang` cookie, else the best of `Accept-Language`.
    pub fn of_request(headers: &HeaderMap) -> Self {
        if let Some(l) = super::cookie(headers, "lang").and_then(|v| Self::parse(&v)) {
            return l;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut best: Option<(f32, Self)> = None;
        for part in accept.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Self::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map_or(Self::De, |(_, l)| l)
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Self::De => &DE,
            Self::En => &EN,
        }
    }
}

/// Text lookup for one language, handed to every template as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// The text for `key`.
    pub fn s(&self, key: &str) -> String {
        LOCALES.lookup(self.lang.id(), key)
    }

    /// The text for `key` with one argument.
    pub fn a(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.args(key, &[(name, value.to_string())])
    }

    /// The text for `key` with several arguments.
    pub fn args(&self, key: &str, values: &[(&str, String)]) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        for (k, v) in values {
            // Counts are numbers, so plural rules apply.
            let value = match (*k, v.parse::<i64>()) {
                ("count", Ok(n)) => FluentValue::from(n),
                _ => FluentValue::from(v.clone()),
            };
            args.insert(Cow::Owned((*k).to_owned()), value);
        }
        LOCALES.lookup_with_args(self.lang.id(), key, &args)
    }

    /// The text for `key` with a number (plural rules apply).
    pub fn n(&self, key: &str, count: i64) -> String {
        self.args(key, &[("count", count.to_string())])
    }

    /// A point in time for people in `tz`: `25.11.2026, 14:05` / `25 Nov 2026, 14:05`;
    /// today only the time.
    pub fn time(&self, at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
        let z = at.to_zoned_datetime(tz.clone());
        let today = now.to_zoned_datetime(tz.clone()).date() == z.date();
        match (self.lang, today) {
            (_, true) => format!("{}, {}", self.s("today"), z.strftime("%H:%M")),
            (Lang::De, false) => z.strftime("%d.%m.%Y, %H:%M").to_string(),
            (Lang::En, false) => z.strftime("%-d %b %Y, %H:%M").to_string(),
        }
    }

    /// How long something has waited: `seit 5 Min.` / `5 min`.
    pub fn ago(&self, at: Timestamp, now: Timestamp) -> String {
        let secs = now.as_second().saturating_sub(at.as_second()).max(0);
        let (key, n) = match secs {
            0..60 => ("ago-now", 0),
            60..3600 => ("ago-minutes", secs / 60),
            3600..86_400 => ("ago-hours", secs / 3600),
            _ => ("ago-days", secs / 86_400),
        };
        self.n(key, n)
    }

    /// An SLA due time from `now`: "noch 2 Std. 5 Min." or "seit 10 Min. überfällig" (the
    /// script keeps it current with the same words).
    pub fn countdown(&self, due: Timestamp, now: Timestamp) -> String {
        let secs = due.as_second() - now.as_second();
        let span = self.span(secs.unsigned_abs());
        if secs >= 0 {
            self.a("sla-left", "span", span)
        } else {
            self.a("sla-over", "span", span)
        }
    }

    /// A duration in days, hours and minutes (the two largest parts).
    pub fn span(&self, secs: u64) -> String {
        let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
        let unit = |k: &str, n: u64| self.a(k, "n", n.to_string());
        match (d, h) {
            (0, 0) => unit("span-m", m.max(1)),
            (0, _) if m > 0 => format!("{} {}", unit("span-h", h), unit("span-m", m)),
            (0, _) => unit("span-h", h),
            (_, 0) => unit("span-d", d),
            _ => format!("{} {}", unit("span-d", d), unit("span-h", h)),
        }
    }

    /// A case status in words.
    pub fn status(&self, s: anliegen_core::CaseStatus) -> String {
        self.s(&format!("status-{}", s.as_str().replace('_', "-")))
    }

    /// A priority in words.
    pub fn priority(&self, p: anliegen_core::Priority) -> String {
        self.s(&format!("priority-{}", p.as_str()))
    }

    /// A channel in words.
    pub fn channel(&self, c: anliegen_core::Channel) -> String {
        self.s(&format!("channel-{}", c.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(file: &str) -> BTreeSet<String> {
        file.lines()
            .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" ="))
            .filter_map(|l| l.split(" =").next().map(str::to_owned))
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let de = keys(include_str!("../../locales/de/ui.ftl"));
        let en = keys(include_str!("../../locales/en/ui.ftl"));
        let only_de: Vec<_> = de.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&de).collect();
        assert!(
            only_de.is_empty() && only_en.is_empty(),
            "de only: {only_de:?}; en only: {only_en:?}"
        );
    }

    /// Every `call"key"` in the templates and the workspace code: (file, key).
    fn lookups(calls: &[&str]) -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut out = Vec::new();
        for sub in ["templates", "src/ui"] {
            for entry in std::fs::read_dir(format!("{dir}{sub}"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                for call in calls {
                    for piece in text.split(call).skip(1) {
                        if let Some(key) = piece.split('"').next() {
                            out.push((entry.path().display().to_string(), key.to_owned()));
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_key_used_exists() {
        let de = keys(include_str!("../../locales/de/ui.ftl"));
        let calls = [
            "t.s(\"", "t.a(\"", "t.n(\"", "tr.s(\"", "tr.a(\"", "tr.n(\"",
        ];
        let missing: Vec<String> = lookups(&calls)
            .into_iter()
            .filter(|(_, key)| !key.contains('{') && !de.contains(key))
            .map(|(file, key)| format!("{file}: {key}"))
            .collect();
        assert!(missing.is_empty(), "keys without text: {missing:#?}");
    }

    /// A text with arguments looked up without them renders as an error text.
    #[test]
    fn texts_with_arguments_get_them() {
        let de = include_str!("../../locales/de/ui.ftl");
        let mut with_args = BTreeSet::new();
        let mut current = String::new();
        for l in de.lines() {
            if !l.starts_with([' ', '#', '\t']) && l.contains(" =") {
                current = l.split(" =").next().unwrap_or("").to_owned();
            }
            if l.contains("{ $") && !l.contains("$count") {
                with_args.insert(current.clone());
            }
        }
        let wrong: Vec<String> = lookups(&["t.s(\""])
            .into_iter()
            .filter(|(_, key)| with_args.contains(key))
            .map(|(file, key)| format!("{file}: {key}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "texts with arguments looked up without: {wrong:#?}"
        );
        let t = Tr { lang: Lang::En };
        assert!(!t.a("presence-typing", "name", "Jana").contains("Unknown"));
    }

    #[test]
    fn language_from_accept_language() {
        let mut h = HeaderMap::new();
        h.insert(
            "accept-language",
            "en-GB,en;q=0.9,de;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::of_request(&h), Lang::En);
        h.insert(
            "accept-language",
            "fr-FR, de-AT;q=0.7, en;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::of_request(&h), Lang::De);
        h.insert("cookie", "lang=en".parse().unwrap());
        assert_eq!(Lang::of_request(&h), Lang::En);
        assert_eq!(Lang::of_request(&HeaderMap::new()), Lang::De);
    }

    #[test]
    fn texts_read_naturally() {
        let t = Tr { lang: Lang::De };
        assert_eq!(t.n("ago-minutes", 5), "seit 5 Min.");
        assert_eq!(t.n("ago-days", 1), "seit 1 Tag");
        assert_eq!(
            t.status(anliegen_core::CaseStatus::WaitingOnCustomer),
            "Wartet auf Kunde"
        );
        let t = Tr { lang: Lang::En };
        assert_eq!(t.n("ago-minutes", 1), "1 min");
        assert_eq!(
            t.args(
                "ev-merged-in",
                &[("reference", "A-1".into()), ("count", "1".into())]
            ),
            "A-1 was merged into this case (1 contact)"
        );
    }
}
