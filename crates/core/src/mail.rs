//! The mail channel's domain words: mailboxes we receive at and send from, and what we keep
//! about each mail (headers for threading, the new part, the verdicts, the flags).

use jiff::Timestamp;

use crate::{CaseRef, EmailAddress, Language, MailboxId, ParseError, TeamId};

/// An address customers write to (`service@shop.example`), with its defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mailbox {
    /// Its id.
    pub id: MailboxId,
    /// The address; replies to mail that arrived here leave from it.
    pub address: EmailAddress,
    /// Display name in `From:` ("Beispiel-Shop Kundenservice").
    pub display_name: String,
    /// Team new cases from this mailbox go to.
    pub team_id: Option<TeamId>,
    /// Language of automatic mails when the customer's is unknown.
    pub language: Language,
    /// Signature appended to replies (plain text).
    pub signature: String,
    /// IMAP account polled for new mail, if any.
    pub imap: Option<ImapAccount>,
    /// Name of the outbound route (SMTP relay) in the configuration.
    pub outbound_route: String,
    /// Receives and sends mail.
    pub active: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Transport security of an IMAP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapSecurity {
    /// Implicit TLS (IMAPS, port 993).
    Tls,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
    /// No encryption (only for a server on the same host).
    None,
}

/// What happens to a mail once it is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum AfterFetch {
    /// Mark it `\Seen` and leave it.
    Flag,
    /// Move it to a folder.
    Move {
        /// Target folder.
        folder: String,
    },
}

/// An IMAP account of a mailbox. The password comes from the configuration, never the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImapAccount {
    /// Server host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub security: ImapSecurity,
    /// Login name.
    pub username: String,
    /// Folder to poll.
    pub folder: String,
    /// What to do with processed mail.
    pub after_fetch: AfterFetch,
}

impl ImapAccount {
    /// Checks host, port, user name and folders.
    pub fn check(&self) -> Result<(), ParseError> {
        let bad = |m: &str| ParseError::new("imap", m.to_owned());
        if self.host.trim().is_empty()
            || self
                .host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("imap.host must be a host name"));
        }
        if self.port == 0 {
            return Err(bad("imap.port must be between 1 and 65535"));
        }
        if self.username.trim().is_empty() || self.username.chars().any(char::is_control) {
            return Err(bad("imap.username must not be empty"));
        }
        let folder_ok = |f: &str| !f.trim().is_empty() && !f.chars().any(char::is_control);
        if !folder_ok(&self.folder) {
            return Err(bad("imap.folder must name a folder, e.g. INBOX"));
        }
        if let AfterFetch::Move { folder } = &self.after_fetch
            && !folder_ok(folder)
        {
            return Err(bad("imap.after_fetch.folder must name a folder"));
        }
        Ok(())
    }
}

/// Name of an outbound route: letters, digits, `-` and `_`.
pub fn parse_route(raw: &str) -> Result<String, ParseError> {
    let r = raw.trim();
    if r.is_empty()
        || r.len() > 64
        || !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ParseError::new(
            "outbound_route",
            format!("'{raw}' is not a route name (letters, digits, '-' and '_')"),
        ));
    }
    Ok(r.to_owned())
}

/// How an inbound mail found its case; recorded on the contact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThreadMatch {
    /// `In-Reply-To`/`References` named a message we received or sent on the case.
    Headers {
        /// The Message-ID that matched.
        message_id: String,
    },
    /// The reply-to address carried a valid signed case token.
    SignedToken,
    /// The case reference in the subject, from an address of the case's customer.
    SubjectReference,
    /// A new case.
    NewCase,
    /// A new case that may belong to an existing one; the sender was not allowed to join it.
    PossiblyBelongsTo {
        /// The case it may belong to.
        reference: CaseRef,
        /// Why it did not join.
        reason: String,
    },
}

/// Verdict of one mail authentication method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Soft failure (SPF `~all`).
    Softfail,
    /// Neutral.
    Neutral,
    /// Temporary error while checking.
    Temperror,
    /// Permanent error in the sender's records.
    Permerror,
    /// No policy or signature.
    None,
    /// Not checked.
    #[default]
    Unknown,
}

impl AuthResult {
    /// Parses a verdict word of an `Authentication-Results` header.
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pass" => Self::Pass,
            "fail" | "hardfail" => Self::Fail,
            "softfail" => Self::Softfail,
            "neutral" => Self::Neutral,
            "temperror" => Self::Temperror,
            "permerror" => Self::Permerror,
            "none" => Self::None,
            _ => Self::Unknown,
        }
    }
}

/// SPF, DKIM and DMARC verdicts of an inbound mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct AuthVerdict {
    /// SPF.
    pub spf: AuthResult,
    /// DKIM.
    pub dkim: AuthResult,
    /// DMARC.
    pub dmarc: AuthResult,
}

/// Something an agent should know about a mail.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MailFlag {
    /// The message could not be read; the raw file is attached.
    Unreadable,
    /// Another message with the same Message-ID but different content was received before.
    DuplicateMessageId,
    /// An automatic mail (auto-reply, out of office, list, bulk).
    AutoSubmitted,
    /// A bounce or delivery status notification.
    Bounce,
    /// Carries a `winmail.dat` (Outlook TNEF) that mail clients cannot open.
    Winmail,
    /// Remote images were removed from the HTML.
    RemoteImagesBlocked,
    /// DMARC failed for the sender's domain.
    DmarcFail,
    /// Parts of the message were malformed and may be incomplete.
    Malformed,
}

/// Delivery state of a mail we send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting in the outbox.
    Queued,
    /// Accepted by the relay.
    Sent {
        /// When.
        at: Timestamp,
    },
    /// The last attempt failed; another follows.
    Retrying {
        /// Why.
        error: String,
        /// Attempts so far.
        attempts: i64,
    },
    /// Given up, or bounced.
    Failed {
        /// Why.
        error: String,
    },
}

/// What we keep about a mail on its contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MailDetails {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids.
    pub in_reply_to: Vec<String>,
    /// `References` ids.
    pub references: Vec<String>,
    /// Sender address (`From:`).
    pub from: Option<String>,
    /// Sender display name.
    pub from_name: Option<String>,
    /// `To:` addresses.
    pub to: Vec<String>,
    /// `Cc:` addresses.
    pub cc: Vec<String>,
    /// `Date:` as sent.
    pub date: Option<Timestamp>,
    /// The mailbox it arrived at or left from.
    pub mailbox_id: Option<MailboxId>,
    /// SHA-256 of the raw message (a blob).
    pub raw_blob: Option<String>,
    /// Size of the raw message.
    pub raw_size: u64,
    /// The newly written part of the text (no quoted history, no signature).
    pub new_text: String,
    /// Whether quoted history was found and folded away.
    pub has_quote: bool,
    /// The sender's signature, where one was recognised.
    pub signature: Option<String>,
    /// SPF, DKIM and DMARC.
    pub auth: AuthVerdict,
    /// Flags for the agent.
    pub flags: Vec<MailFlag>,
    /// How it found its case (inbound).
    pub thread: Option<ThreadMatch>,
    /// Delivery state (outbound).
    pub delivery: Option<Delivery>,
}

impl MailDetails {
    /// Whether `flag` is set.
    pub fn has(&self, flag: MailFlag) -> bool {
        self.flags.contains(&flag)
    }

    /// Sets `flag` once.
    pub fn flag(&mut self, flag: MailFlag) {
        if !self.has(flag) {
            self.flags.push(flag);
            self.flags.sort();
        }
    }
}

/// Takes a Message-ID apart from its angle brackets and spaces; `None` when nothing is left.
pub fn clean_message_id(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if s.is_empty() || s.len() > 998 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    Some(s.to_owned())
}

/// Finds case references (`A-10042`) in a subject, in order, without repeats.
pub fn case_refs_in(text: &str) -> Vec<CaseRef> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 2 < bytes.len() {
        let starts_word = i == 0 || !bytes.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        if starts_word
            && bytes.get(i).is_some_and(|b| *b == b'A' || *b == b'a')
            && bytes.get(i + 1) == Some(&b'-')
        {
            let digits: usize = bytes.get(i + 2..).map_or(0, |rest| {
                rest.iter().take_while(|b| b.is_ascii_digit()).count()
            });
            let ends_word = !bytes
                .get(i + 2 + digits)
                .is_some_and(u8::is_ascii_alphanumeric);
            if (5..=12).contains(&digits) && ends_word {
                if let Some(raw) = text.get(i..i + 2 + digits)
                    && let Ok(r) = CaseRef::parse(raw)
                    && !found.contains(&r)
                {
                    found.push(r);
                }
                i += 2 + digits;
                continue;
            }
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_case_references_in_subjects() {
        let refs = case_refs_in("AW: [A-10042] Paket fehlt, siehe auch a-10043 und XA-10044");
        let s: Vec<String> = refs.iter().map(ToString::to_string).collect();
        assert_eq!(s, vec!["A-10042", "A-10043"]);
        assert!(case_refs_in("Bestellung 4711-12345").is_empty());
        assert!(case_refs_in("A-1").is_empty());
    }

    #[test]
    fn message_ids_lose_their_brackets() {
        assert_eq!(
            clean_message_id(" <abc@x.example> ").as_deref(),
            Some("abc@x.example")
        );
        assert_eq!(clean_message_id("<>"), None);
        assert_eq!(clean_message_id("a b@c"), None);
    }

    #[test]
    fn imap_accounts_are_checked() {
        let mut a = ImapAccount {
            host: "imap.example.de".into(),
            port: 993,
            security: ImapSecurity::Tls,
            username: "service".into(),
            folder: "INBOX".into(),
            after_fetch: AfterFetch::Move {
                folder: "Archiv".into(),
            },
        };
        assert!(a.check().is_ok());
        a.after_fetch = AfterFetch::Move { folder: " ".into() };
        assert!(a.check().is_err());
        a.after_fetch = AfterFetch::Flag;
        a.port = 0;
        assert!(a.check().is_err());
    }
}
