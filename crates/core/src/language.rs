//! Languages we serve and time zones customers and agents live in.

use std::fmt;

use crate::ParseError;

/// A language Anliegen speaks. German first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Deutsch.
    De,
    /// English.
    En,
}

/// Language detection over the languages customers of German shops write in. Scoring only
/// these (not whatlang's ~70) is several times cheaper, and detection runs for every contact.
/// The others stay candidates so that a French text is not taken for English.
static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![
        Deu, Eng, Fra, Spa, Ita, Nld, Por, Pol, Tur, Dan, Swe, Nob, Ces, Rus, Ukr, Ara,
    ])
});

impl Language {
    /// Parses `de`, `en`, and tags such as `de-AT` or `en_GB`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let primary = raw
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "de" => Ok(Self::De),
            "en" => Ok(Self::En),
            _ => Err(ParseError::new(
                "language",
                format!("'{raw}' is not a supported language (de, en)"),
            )),
        }
    }

    /// Guesses the language of a text; `None` when the text is too short or neither German
    /// nor English with confidence.
    pub fn detect(text: &str) -> Option<Self> {
        // The first ~500 bytes decide as well as the whole text and cost a fraction.
        let mut end = text.len().min(500);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = text.get(..end).unwrap_or(text);
        let info = DETECTOR.detect(text)?;
        if !info.is_reliable() && text.split_whitespace().count() < 4 {
            return None;
        }
        match info.lang() {
            whatlang::Lang::Deu => Some(Self::De),
            whatlang::Lang::Eng => Some(Self::En),
            _ => None,
        }
    }

    /// The ISO 639-1 code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An IANA time-zone name known to the bundled time-zone database (`Europe/Berlin`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Parses and checks a zone name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(ParseError::new(
                "time zone",
                format!("'{raw}' is not a time zone"),
            ));
        }
        jiff::tz::TimeZone::get(name)
            .map(|_| Self(name.to_owned()))
            .map_err(|_| {
                ParseError::new(
                    "time zone",
                    format!("'{raw}' is not a known time zone such as Europe/Berlin"),
                )
            })
    }

    /// Europe/Berlin, where most of our users are.
    pub fn berlin() -> Self {
        Self("Europe/Berlin".to_owned())
    }

    /// The zone name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone itself (checked when parsed; UTC should the database ever lack it).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// Europe/Berlin as a zone: the default where a customer's own is unknown.
pub fn berlin_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC)
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_german_and_english() {
        assert_eq!(
            Language::detect(
                "Guten Tag, mein Paket ist leider immer noch nicht angekommen und ich warte seit zwei Wochen."
            ),
            Some(Language::De)
        );
        assert_eq!(
            Language::detect(
                "Hello, my parcel still has not arrived and I have been waiting for two weeks now."
            ),
            Some(Language::En)
        );
        assert_eq!(
            Language::detect(
                "Bonjour, mon colis n'est toujours pas arrivé, j'attends depuis deux semaines."
            ),
            None
        );
        assert_eq!(Language::parse("de-AT"), Ok(Language::De));
        assert!(Language::parse("fr").is_err());
    }

    #[test]
    fn time_zones_are_checked() {
        assert!(TimeZoneName::parse("Europe/Berlin").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }
}
