//! Signed addresses: a reply-to address carrying the case reference (`service+A-10042.k3f9x2ab@…`)
//! and a VERP bounce address carrying the outbound contact. The tag is an HMAC over the value, so
//! neither can be guessed or forged from a case number.

use anliegen_core::{CaseRef, ContactId, EmailAddress};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs and checks address tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(…)")
    }
}

/// What a plus-address carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressToken {
    /// A case token; `valid` says whether its signature checks.
    Case {
        /// The case.
        reference: CaseRef,
        /// Signature matches.
        valid: bool,
    },
    /// A signed bounce address of an outbound contact.
    Bounce {
        /// The contact.
        contact_id: ContactId,
    },
}

impl Tokens {
    /// With `secret` (at least 16 bytes make sense; the store generates 32).
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    fn tag(&self, purpose: &str, value: &str) -> String {
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        let out = mac.finalize().into_bytes();
        data_encoding::BASE32_NOPAD
            .encode(out.get(..5).unwrap_or_default())
            .to_ascii_lowercase()
    }

    /// `local+A-10042.tag@domain` for a mailbox address.
    pub fn reply_address(&self, mailbox: &EmailAddress, reference: CaseRef) -> String {
        let (local, domain) = split(mailbox);
        format!(
            "{local}+{reference}.{}@{domain}",
            self.tag("case", &reference.to_string())
        )
    }

    /// `local+b.<contact>.tag@domain`: the envelope sender of an outbound mail, so a bounce names
    /// the contact it belongs to.
    pub fn bounce_address(&self, mailbox: &EmailAddress, contact: ContactId) -> String {
        let (local, domain) = split(mailbox);
        let id = contact.0.simple().to_string();
        format!("{local}+b.{id}.{}@{domain}", self.tag("bounce", &id))
    }

    /// The mailbox address without its plus part, and what the plus part carried.
    pub fn read(&self, address: &str) -> (String, Option<AddressToken>) {
        let lower = address.trim().to_lowercase();
        let Some((local, domain)) = lower.rsplit_once('@') else {
            return (lower, None);
        };
        let Some((base, extension)) = local.split_once('+') else {
            return (lower, None);
        };
        let base_address = format!("{base}@{domain}");
        if let Some(rest) = extension.strip_prefix("b.") {
            if let Some((id, tag)) = rest.split_once('.')
                && let Ok(uuid) = uuid::Uuid::parse_str(id)
                && constant_eq(&self.tag("bounce", id), tag)
            {
                return (
                    base_address,
                    Some(AddressToken::Bounce {
                        contact_id: ContactId(uuid),
                    }),
                );
            }
            return (base_address, None);
        }
        let (reference, tag) = extension.split_once('.').unwrap_or((extension, ""));
        match CaseRef::parse(reference) {
            Ok(r) => {
                let valid = !tag.is_empty() && constant_eq(&self.tag("case", &r.to_string()), tag);
                (
                    base_address,
                    Some(AddressToken::Case {
                        reference: r,
                        valid,
                    }),
                )
            }
            Err(_) => (base_address, None),
        }
    }
}

fn split(a: &EmailAddress) -> (String, String) {
    let s = a.to_string();
    match s.rsplit_once('@') {
        Some((l, d)) => (l.split('+').next().unwrap_or(l).to_owned(), d.to_owned()),
        None => (s, String::new()),
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_tokens_round_trip_and_resist_forgery() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let mb = EmailAddress::parse("service@shop.example").unwrap();
        let r = CaseRef::parse("A-10042").unwrap();
        let addr = t.reply_address(&mb, r);
        assert!(addr.starts_with("service+A-10042."), "{addr}");
        let (base, tok) = t.read(&addr);
        assert_eq!(base, "service@shop.example");
        assert_eq!(
            tok,
            Some(AddressToken::Case {
                reference: r,
                valid: true
            })
        );
        let (_, forged) = t.read("service+A-10042.aaaaaaaa@shop.example");
        assert_eq!(
            forged,
            Some(AddressToken::Case {
                reference: r,
                valid: false
            })
        );
        let (_, bare) = t.read("service+A-10042@shop.example");
        assert_eq!(
            bare,
            Some(AddressToken::Case {
                reference: r,
                valid: false
            })
        );
        let other = Tokens::new(b"another secret, another tag!!!!!".to_vec());
        assert_eq!(
            other.read(&addr).1,
            Some(AddressToken::Case {
                reference: r,
                valid: false
            })
        );
    }

    #[test]
    fn bounce_addresses() {
        let t = Tokens::new(b"k".repeat(32));
        let mb = EmailAddress::parse("service@shop.example").unwrap();
        let c = ContactId::new();
        let a = t.bounce_address(&mb, c);
        assert_eq!(
            t.read(&a),
            (
                "service@shop.example".into(),
                Some(AddressToken::Bounce { contact_id: c })
            )
        );
        let forged = a.replace(
            &c.0.simple().to_string(),
            &ContactId::new().0.simple().to_string(),
        );
        assert_eq!(t.read(&forged).1, None);
    }
}
