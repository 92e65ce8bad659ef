//! Phone numbers in E.164, parsed with German defaults.

use std::fmt;

use crate::ParseError;

/// A phone number in E.164 form (`+4930123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The region national numbers (`030 …`) are read in when none is given.
    pub const DEFAULT_REGION: &'static str = "DE";

    /// Parses `+49 30 1234567`, `0049 30 1234567`, `+49 (0)30 1234567` or the national
    /// `030/123 45 67` (taken as German), and checks the number against the numbering plan of
    /// its country (libphonenumber's metadata, through the `phonenumber` crate). Spaces, dashes,
    /// slashes, dots and brackets are ignored; letters are refused.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::parse_in(raw, Self::DEFAULT_REGION)
    }

    /// Like [`PhoneNumber::parse`], with national numbers read in `region` (ISO 3166-1 alpha-2,
    /// e.g. `AT`).
    pub fn parse_in(raw: &str, region: &str) -> Result<Self, ParseError> {
        let err = |m: &str| {
            ParseError::new(
                "phone number",
                format!("'{raw}' is not a valid phone number: {m}"),
            )
        };
        let trimmed = raw.trim();
        if trimmed.chars().count() > 40 {
            return Err(err("it is too long"));
        }
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        // "+49 (0)30 …": the national trunk 0 in brackets after a country code is dropped.
        let rest = if plus {
            rest.replacen("(0)", "", 1)
        } else {
            rest.to_owned()
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
            Some(digits.clone())
        } else {
            digits.strip_prefix("00").map(str::to_owned)
        };
        if international.as_ref().is_some_and(|d| d.starts_with('0')) {
            return Err(err("a country code never starts with 0"));
        }
        if international.is_none() && !digits.starts_with('0') {
            return Err(err("start with +, 00 or a national 0"));
        }
        let region: phonenumber::country::Id =
            region.parse().map_err(|_| err("unknown default region"))?;
        let text = match &international {
            Some(d) => format!("+{d}"),
            None => digits,
        };
        let number = phonenumber::parse(Some(region), &text)
            .map_err(|_| err("it does not follow any country's numbering plan"))?;
        if !phonenumber::is_valid(&number) {
            return Err(err("no such number exists in its country's numbering plan"));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        if !(9..=16).contains(&e164.len()) {
            return Err(err("an international number has 8 to 15 digits"));
        }
        Ok(Self(e164))
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
            ("+49 (0)30 1234567", "+49301234567"),
            ("0176 39201846", "+4917639201846"),
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
            "+49 30 12",
            "0049 0000 000",
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
        fn national_numbers_gain_the_default_code(n in "17[0-5][0-9]{7}") {
            // German mobile numbers (0170–0175 and seven digits) in national form.
            let p = PhoneNumber::parse(&format!("0{n}"));
            prop_assert_eq!(p.map(|p| p.to_string()), Ok(format!("+49{n}")));
        }
    }
}
