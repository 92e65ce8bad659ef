//! Email addresses as they arrive from forms, APIs and mail headers.

use std::fmt;

use crate::ParseError;

/// A syntactically valid mailbox address (`local@domain`). The domain is kept in lower case;
/// the local part as given (RFC 5321 says it may be case-sensitive), but identities match on
/// [`EmailAddress::normalised`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";

impl EmailAddress {
    /// Parses an address such as `Verlag@Example.DE`. Display names and angle brackets are not
    /// accepted here; mail headers are taken apart by the mail channel first.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = |m: &str| {
            ParseError::new(
                "email address",
                format!("'{raw}' is not a valid email address: {m}"),
            )
        };
        let s = raw.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.len() > 254 {
            return Err(err("it is longer than 254 characters"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| err("it has no '@'"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(err("the part before '@' must have 1 to 64 characters"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(err(
                "dots may not start, end or repeat in the part before '@'",
            ));
        }
        if !local.chars().all(|c| {
            c.is_alphanumeric()
                || LOCAL_SPECIALS.contains(c)
                || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
        }) {
            return Err(err(
                "the part before '@' contains a character that is not allowed",
            ));
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(err("the domain needs a dot, as in example.de"));
        }
        for label in &labels {
            if label.is_empty() || label.len() > 63 {
                return Err(err("a domain label is empty or too long"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(err("a domain label may not start or end with '-'"));
            }
            if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
                return Err(err("the domain contains a character that is not allowed"));
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(err("the top-level domain may not be numeric"));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address as given, with the domain in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form identities are matched on: all lower case.
    pub fn normalised(&self) -> String {
        self.0.to_lowercase()
    }

    /// The form a customer's email identity is matched on: Unicode NFC, lower case, without a
    /// plus tag (`anna+shop@` is `anna@`), `googlemail.com` as `gmail.com`, and Gmail's
    /// insignificant dots dropped (`a.nna@gmail.com` is `anna@gmail.com`). Agents' and
    /// mailboxes' addresses keep [`EmailAddress::normalised`]: for them a plus part matters.
    pub fn identity_key(&self) -> String {
        use unicode_normalization::UnicodeNormalization;
        let nfc: String = self.0.nfc().collect::<String>().to_lowercase();
        let Some((local, domain)) = nfc.rsplit_once('@') else {
            return nfc;
        };
        let local = match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => base,
            _ => local,
        };
        let domain = match domain {
            "googlemail.com" => "gmail.com",
            d => d,
        };
        if domain == "gmail.com" {
            let local: String = local.chars().filter(|c| *c != '.').collect();
            return format!("{local}@{domain}");
        }
        format!("{local}@{domain}")
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for EmailAddress {
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
    fn identity_keys_meet() {
        let key = |s: &str| EmailAddress::parse(s).unwrap().identity_key();
        assert_eq!(key("Verlag@Example.DE"), "verlag@example.de");
        assert_eq!(key("verlag+shop@example.de"), "verlag@example.de");
        assert_eq!(
            key("Anna.Mueller+bestellung@googlemail.com"),
            "annamueller@gmail.com"
        );
        assert_eq!(key("anna.mueller@gmail.com"), "annamueller@gmail.com");
        // Dots matter outside Gmail.
        assert_eq!(key("anna.mueller@web.de"), "anna.mueller@web.de");
        // NFC: "u" + combining diaeresis is "ü".
        assert_eq!(key("mu\u{308}ller@example.de"), key("Müller@example.de"));
        // A local part that is only a plus tag stays as it is.
        assert_eq!(key("+shop@example.de"), "+shop@example.de");
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "verlag@example.de",
            "Max.Mustermann+shop@Example.DE",
            "jürgen@müller.de",
            "a@b.co",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EmailAddress::parse(" Max@Example.DE ").map(|e| e.to_string()),
            Ok("Max@example.de".to_owned())
        );
        assert_eq!(
            EmailAddress::parse("Max@Example.DE").map(|e| e.normalised()),
            Ok("max@example.de".to_owned())
        );
    }

    #[test]
    fn rejects_broken_addresses() {
        for bad in [
            "",
            "plain",
            "@example.de",
            "a@",
            "a@localhost",
            "a..b@example.de",
            "a b@example.de",
            "a@-x.de",
            "a@x.123",
            "a@@x.de",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_roundtrips(s in "\\PC{0,80}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
                prop_assert!(e.as_str().contains('@'));
            }
        }

        #[test]
        fn generated_addresses_parse(local in "[a-z0-9]{1,20}(\\.[a-z0-9]{1,10})?", domain in "[a-z0-9]{1,20}\\.(de|com|at)") {
            let raw = format!("{local}@{domain}");
            prop_assert_eq!(EmailAddress::parse(&raw).map(|e| e.to_string()), Ok(raw));
        }
    }
}
