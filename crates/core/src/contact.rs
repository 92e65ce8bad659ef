//! Contacts: one communication on a case, on one channel.

use std::fmt;

use jiff::Timestamp;

use crate::{AgentId, CaseId, ContactId, CustomerId, ParseError};

/// Where a contact came from or goes to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Email.
    Email,
    /// The web contact form.
    Form,
    /// The customer portal.
    Portal,
    /// A phone call, logged by an agent.
    Phone,
    /// Chat.
    Chat,
    /// The REST API.
    Api,
    /// An internal note.
    Note,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 7] = [
        Self::Email,
        Self::Form,
        Self::Portal,
        Self::Phone,
        Self::Chat,
        Self::Api,
        Self::Note,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Form => "form",
            Self::Portal => "portal",
            Self::Phone => "phone",
            Self::Chat => "chat",
            Self::Api => "api",
            Self::Note => "note",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new(
                    "channel",
                    format!(
                        "'{raw}' is not a channel (email, form, portal, phone, chat, api, note)"
                    ),
                )
            })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a contact went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer (or a third party) to us.
    Inbound,
    /// From us to the customer (or a third party).
    Outbound,
    /// Stays inside (notes).
    Internal,
}

impl Direction {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Internal => "internal",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "inbound" => Ok(Self::Inbound),
            "outbound" => Ok(Self::Outbound),
            "internal" => Ok(Self::Internal),
            _ => Err(ParseError::new(
                "direction",
                format!("'{raw}' is not a direction"),
            )),
        }
    }
}

/// Who may see a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The customer sees it.
    Public,
    /// Only agents see it.
    Internal,
}

impl Visibility {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "public" => Ok(Self::Public),
            "internal" => Ok(Self::Internal),
            _ => Err(ParseError::new(
                "visibility",
                format!("'{raw}' is not a visibility (public, internal)"),
            )),
        }
    }
}

/// Who wrote a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Customer {
        /// Which customer.
        id: CustomerId,
    },
    /// An agent.
    Agent {
        /// Which agent.
        id: AgentId,
    },
    /// A third party (carrier, warehouse, seller) in a side conversation.
    ThirdParty {
        /// Its name or address.
        name: String,
    },
    /// Anliegen itself.
    System,
}

/// HTML that has been through the sanitiser: no scripts, event handlers, forms, frames or
/// `javascript:` URLs, and no remote images (they are dropped until the mail channel learns
/// to hold them for an agent's consent). Only [`SanitisedHtml::from_untrusted`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct SanitisedHtml(String);

impl SanitisedHtml {
    /// Cleans untrusted HTML.
    pub fn from_untrusted(html: &str) -> Self {
        Self::clean(html, false)
    }

    /// Cleans untrusted HTML but keeps remote images (`http`/`https`), for an agent who chose
    /// to load them. Everything else is removed as in [`SanitisedHtml::from_untrusted`].
    pub fn from_untrusted_with_remote_images(html: &str) -> Self {
        Self::clean(html, true)
    }

    fn clean(html: &str, remote_images: bool) -> Self {
        let mut b = ammonia::Builder::default();
        b.url_schemes(
            ["http", "https", "mailto", "tel", "cid"]
                .into_iter()
                .collect(),
        )
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(move |element, attribute, value| {
            let remote_ok =
                remote_images && (value.starts_with("https://") || value.starts_with("http://"));
            if element == "img" && attribute == "src" && !value.starts_with("cid:") && !remote_ok {
                None
            } else {
                Some(value.into())
            }
        });
        Self(b.clean(html).to_string())
    }

    /// Wraps HTML that was sanitised before it was stored.
    pub fn from_stored(html: String) -> Self {
        Self(html)
    }

    /// The clean HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for SanitisedHtml {
    /// Anything read from outside goes through the sanitiser again.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from_untrusted(&s))
    }
}

/// A file on a contact; its bytes are a content-addressed blob.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachmentRef {
    /// SHA-256 of the content, hex.
    pub blob: String,
    /// The file name as sent (cleaned of path parts).
    pub filename: String,
    /// The declared media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// `Content-ID` of an inline part (`cid:` references in the HTML), without brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

/// Cleans a file name from outside: no directories, no control characters, at most 255.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// One communication on a case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// Its channel.
    pub channel: Channel,
    /// Which way it went.
    pub direction: Direction,
    /// Who may see it.
    pub visibility: Visibility,
    /// Who wrote it.
    pub author: Author,
    /// Its subject, where the channel has one.
    pub subject: Option<String>,
    /// The text (for mail: the text part or the text made from the HTML).
    pub text: String,
    /// Sanitised HTML, where the contact had HTML.
    pub html: Option<SanitisedHtml>,
    /// Files.
    pub attachments: Vec<AttachmentRef>,
    /// Mail headers, new part, verdicts and flags (mail contacts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<Box<crate::MailDetails>>,
    /// Why it is on its case (inbound contacts).
    #[serde(default)]
    pub concern: Option<crate::resolve::ConcernMatch>,
    /// The call, for a logged phone contact (when, how long, which number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
    /// When it happened.
    pub created_at: Timestamp,
}

/// A phone call as logged by the agent who took or made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Call {
    /// When it began.
    pub started_at: Timestamp,
    /// How long it took, in seconds.
    pub seconds: u32,
    /// The other side's number (E.164), where known.
    #[serde(default)]
    pub number: Option<String>,
}

impl Call {
    /// The longest call we believe: a day.
    pub const MAX_SECONDS: u32 = 24 * 3600;

    /// Checks a call logged at `now`: it lasted 1 s to a day, began in the last 90 days and
    /// not in the future (a minute of clock skew allowed), and ended by now.
    pub fn check(&self, now: Timestamp) -> Result<(), crate::ParseError> {
        if self.seconds == 0 || self.seconds > Self::MAX_SECONDS {
            return Err(crate::ParseError::new(
                "call.duration_seconds",
                "a call lasts 1 second to 24 hours",
            ));
        }
        let skew = jiff::SignedDuration::from_mins(1);
        let end = self.started_at + jiff::SignedDuration::from_secs(i64::from(self.seconds));
        if end > now + skew {
            return Err(crate::ParseError::new(
                "call.started_at",
                "a logged call has ended already: its start plus its duration is in the future",
            ));
        }
        if self.started_at < now - jiff::SignedDuration::from_hours(90 * 24) {
            return Err(crate::ParseError::new(
                "call.started_at",
                "calls are logged within 90 days",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_sanitised() {
        let h = SanitisedHtml::from_untrusted(
            r#"<p onclick="x()">Hallo <script>alert(1)</script><a href="javascript:alert(1)">x</a><img src="https://track.example/p.gif"><img src="cid:logo"><form><input></form></p>"#,
        );
        let s = h.as_str();
        assert!(!s.contains("script"), "{s}");
        assert!(!s.contains("onclick"), "{s}");
        assert!(!s.contains("javascript"), "{s}");
        assert!(!s.contains("track.example"), "{s}");
        assert!(s.contains("cid:logo"), "{s}");
        assert!(!s.contains("<form"), "{s}");
        assert!(s.contains("Hallo"));
    }

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_filename("C:\\Users\\x\\Rechnung März.pdf"),
            "Rechnung März.pdf"
        );
        assert_eq!(clean_filename(""), "attachment");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
    }
}

/// Text from outside, made safe to store and show: NUL and other control characters are
/// removed (tab, line feed and carriage return stay). PostgreSQL refuses NUL in text, and no
/// person meant to send one.
pub fn clean_text(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

#[cfg(test)]
mod clean_tests {
    #[test]
    fn control_characters_go_line_breaks_stay() {
        assert_eq!(super::clean_text("a\u{0}b\u{7}c\nd\te"), "abc\nd\te");
    }
}
