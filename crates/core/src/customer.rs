//! Customers, their identities and organisations.

use std::fmt;

use jiff::Timestamp;

use crate::{
    CustomerId, EmailAddress, Language, OrganisationId, ParseError, PhoneNumber, TimeZoneName,
};

/// What kind of handle an identity is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An email address.
    Email,
    /// A phone number (E.164).
    Phone,
    /// The customer's id in the shop.
    ShopCustomerId,
    /// A login name for the customer portal.
    PortalLogin,
}

impl IdentityKind {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::ShopCustomerId => "shop_customer_id",
            Self::PortalLogin => "portal_login",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "email" => Ok(Self::Email),
            "phone" => Ok(Self::Phone),
            "shop_customer_id" => Ok(Self::ShopCustomerId),
            "portal_login" => Ok(Self::PortalLogin),
            _ => Err(ParseError::new(
                "identity kind",
                format!(
                    "'{raw}' is not an identity kind (email, phone, shop_customer_id, portal_login)"
                ),
            )),
        }
    }
}

/// One handle that leads to a customer, in normalised form so equal handles compare equal.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Identity {
    /// What kind of handle.
    pub kind: IdentityKind,
    /// The normalised value: lower-case email, E.164 phone, trimmed ids.
    pub value: String,
}

impl Identity {
    /// Parses and normalises `raw` as an identity of `kind`.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Self, ParseError> {
        let value = match kind {
            IdentityKind::Email => EmailAddress::parse(raw)?.identity_key(),
            IdentityKind::Phone => PhoneNumber::parse(raw)?.as_str().to_owned(),
            IdentityKind::ShopCustomerId | IdentityKind::PortalLogin => {
                let v = raw.trim();
                if v.is_empty() || v.chars().count() > 128 || v.chars().any(char::is_control) {
                    return Err(ParseError::new(
                        "identity",
                        format!(
                            "a {} must have 1 to 128 printable characters",
                            kind.as_str()
                        ),
                    ));
                }
                if kind == IdentityKind::PortalLogin {
                    v.to_lowercase()
                } else {
                    v.to_owned()
                }
            }
        };
        Ok(Self { kind, value })
    }

    /// An email identity.
    pub fn email(address: &EmailAddress) -> Self {
        Self {
            kind: IdentityKind::Email,
            value: address.identity_key(),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

/// A customer tier such as `standard` or `premium`; routing and SLAs look at it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Tier(String);

impl Tier {
    /// Parses a tier name: lower-case letters, digits, `-` and `_`, up to 32.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let t = raw.trim().to_lowercase();
        if t.is_empty()
            || t.len() > 32
            || !t
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(ParseError::new(
                "tier",
                format!("'{raw}' is not a tier name (letters, digits, - and _, as in 'premium')"),
            ));
        }
        Ok(Self(t))
    }

    /// The default tier.
    pub fn standard() -> Self {
        Self("standard".to_owned())
    }

    /// The tier name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Tier {
    fn default() -> Self {
        Self::standard()
    }
}

impl<'de> serde::Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A person or business who contacts us.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    /// Its id.
    pub id: CustomerId,
    /// Display name, if known.
    pub name: Option<String>,
    /// The organisation it belongs to.
    pub organisation_id: Option<OrganisationId>,
    /// Preferred language, detected from its first contact or set.
    pub language: Option<Language>,
    /// Its time zone.
    pub time_zone: Option<TimeZoneName>,
    /// Its tier.
    pub tier: Tier,
    /// Notes agents keep about the customer.
    pub notes: String,
    /// Every identity that leads here.
    pub identities: Vec<Identity>,
    /// Set when this customer was merged into another one.
    pub merged_into: Option<CustomerId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A business grouping several customers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Organisation {
    /// Its id.
    pub id: OrganisationId,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_normalise() {
        assert_eq!(
            Identity::parse(IdentityKind::Email, "Verlag@Example.DE").map(|i| i.value),
            Ok("verlag@example.de".into())
        );
        assert_eq!(
            Identity::parse(IdentityKind::Phone, "030 1234567").map(|i| i.value),
            Ok("+49301234567".into())
        );
        assert_eq!(
            Identity::parse(IdentityKind::PortalLogin, " MaxM ").map(|i| i.value),
            Ok("maxm".into())
        );
        assert!(Identity::parse(IdentityKind::ShopCustomerId, "  ").is_err());
        assert!(Tier::parse("Premium Member").is_err());
        assert_eq!(
            Tier::parse("Premium").map(|t| t.as_str().to_owned()),
            Ok("premium".into())
        );
    }
}
