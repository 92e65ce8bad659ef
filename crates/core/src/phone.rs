//! Phone numbers in E.164, parsed with German defaults.

use std::fmt;

use crate::ParseError;

/// A phone number in E.164 form (`+4930123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Country calling code used for national numbers (`030 …`) when none is given.
    pub const DEFAULT_COUNTRY_CODE: &'static str = "49";

    /// Parses `+49 30 1234567`, `0049 30 1234567` or the national `030/123 45 67`
    /// (taken as German). Spaces, dashes, slashes, dots and brackets are ignored.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::parse_with_default(raw, Self::DEFAULT_COUNTRY_CODE)
    }

    /// Like [`PhoneNumber::parse`], with another country code for national numbers.
    pub fn parse_with_default(raw: &str, country_code: &str) -> Result<Self, ParseError> {
        let err = |m: &str| {
            ParseError::new(
                "phone number",
                format!("'{raw}' is not a valid phone number: {m}"),
            )
        };
        let trimmed = raw.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '/' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(err("only digits, spaces and + - / ( ) are allowed")),
            }
        }
        let international = if plus {
            digits
        } else if let Some(intl) = digits.strip_prefix("00") {
            intl.to_owned()
        } else if let Some(national) = digits.strip_prefix('0') {
            format!("{country_code}{national}")
        } else {
            return Err(err("start with +, 00 or a national 0"));
        };
        if international.starts_with('0') {
            return Err(err("a country code never starts with 0"));
        }
        if !(8..=15).contains(&international.len()) {
            return Err(err("an international number has 8 to 15 digits"));
        }
        Ok(Self(format!("+{international}")))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn german_forms_become_e164() {
        for (raw, want) in [
            ("+49 30 1234567", "+49301234567"),
            ("0049 (30) 123-4567", "+49301234567"),
            ("030/123 45 67", "+49301234567"),
            ("0171 2345678", "+491712345678"),
            ("+43 1 5321234", "+4315321234"),
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).map(|p| p.to_string()),
                Ok(want.to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "12345",
            "+0 30 1234567",
            "030-CALL-ME",
            "+49 30",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_is_e164(s in "\\PC{0,40}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert!(p.as_str().starts_with('+'));
                prop_assert!(p.as_str()[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
            }
        }

        #[test]
        fn national_numbers_gain_the_default_code(n in "[1-9][0-9]{6,11}") {
            let p = PhoneNumber::parse(&format!("0{n}"));
            prop_assert_eq!(p.map(|p| p.to_string()), Ok(format!("+49{n}")));
        }
    }
}
