//! The one intake path of every inbound mail (SMTP/LMTP, IMAP, file import): parse, pick the
//! mailbox, find the case by the threading rules, store once with the raw bytes. The caller
//! acknowledges (SMTP `250`, IMAP flag, import count) only after [`Intake::deliver`] returned
//! `Ok`, which means the contact is committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anliegen_core::mail::{MailFlag, ThreadMatch};
use anliegen_core::resolve::ConcernMatch;
use anliegen_core::{
    Actor, Case, CaseId, Channel, ContactId, Direction, EmailAddress, Identity, Mailbox, Priority,
    Visibility,
};
use anliegen_store::concern::{Concerns, Found};
use anliegen_store::{
    Command, CustomerRef, MailTarget, NewAttachment, NewCase, NewContact, NewJob, Output, Store,
    StoreError, Write,
};
use tokio::sync::RwLock;

use crate::parse::{InboundMail, ParseOptions, parse};
use crate::token::{AddressToken, Tokens};

/// The job that acknowledges a new case by mail.
pub const ACK_JOB: &str = "mail.acknowledge";

/// The SMTP envelope, where there is one.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// `MAIL FROM`.
    pub mail_from: Option<String>,
    /// `RCPT TO`, in order.
    pub recipients: Vec<String>,
}

/// What became of a delivered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a new contact.
    Stored {
        /// Its case.
        case_id: CaseId,
        /// Its contact.
        contact_id: ContactId,
        /// Whether a case was opened for it.
        new_case: bool,
        /// Whether it could not be read (stored raw and flagged).
        unreadable: bool,
    },
    /// Stored before (same intake key): nothing changed.
    Duplicate {
        /// Its case.
        case_id: CaseId,
        /// Its contact.
        contact_id: ContactId,
    },
}

/// Why a mail was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// None of the recipients is a mailbox of ours.
    #[error("no mailbox for {0}")]
    UnknownRecipient(String),
    /// The message is empty.
    #[error("the message is empty")]
    Empty,
    /// The store failed; try again later.
    #[error("temporary store failure: {0}")]
    Store(#[from] StoreError),
}

impl IntakeError {
    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Store(_))
    }
}

/// Settings of the intake path.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// What the parser may trust.
    pub parse: ParseOptions,
    /// Acknowledge new cases by mail.
    pub acknowledge: bool,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            parse: ParseOptions::default(),
            acknowledge: true,
        }
    }
}

/// The intake path; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    store: Store,
    concerns: Concerns,
    tokens: Tokens,
    config: Arc<IntakeConfig>,
    mailboxes: Arc<RwLock<(Option<Instant>, Vec<Mailbox>)>>,
}

impl Intake {
    /// An intake path over `store`.
    pub fn new(store: Store, tokens: Tokens, config: IntakeConfig) -> Self {
        Self {
            concerns: Concerns::new(store.clone()),
            store,
            tokens,
            config: Arc::new(config),
            mailboxes: Arc::new(RwLock::new((None, Vec::new()))),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Shares `concerns` (and its settings cache) with other parts, e.g. the API, so that an
    /// admin's change reaches the intake path at once.
    pub fn with_concerns(mut self, concerns: Concerns) -> Self {
        self.concerns = concerns;
        self
    }

    /// Concern matching and routing settings.
    pub fn concerns(&self) -> &Concerns {
        &self.concerns
    }

    /// The address tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Active mailboxes, read at most every two seconds.
    pub async fn mailboxes(&self) -> Result<Vec<Mailbox>, StoreError> {
        {
            let cached = self.mailboxes.read().await;
            if cached
                .0
                .is_some_and(|at| at.elapsed() < Duration::from_secs(2))
            {
                return Ok(cached.1.clone());
            }
        }
        let fresh: Vec<Mailbox> = self
            .store
            .mailboxes()
            .await?
            .into_iter()
            .filter(|m| m.active)
            .collect();
        *self.mailboxes.write().await = (Some(Instant::now()), fresh.clone());
        Ok(fresh)
    }

    /// Forgets the cached mailboxes (after an admin changed them).
    pub async fn refresh(&self) {
        self.mailboxes.write().await.0 = None;
    }

    /// The mailbox an address (with or without a plus part) belongs to.
    pub async fn mailbox_for(&self, address: &str) -> Result<Option<Mailbox>, StoreError> {
        let (base, _) = self.tokens.read(address);
        Ok(self
            .mailboxes()
            .await?
            .into_iter()
            .find(|m| m.address.normalised() == base))
    }

    /// Parses, threads and stores `raw`. `Ok` means committed.
    pub async fn deliver(&self, raw: Vec<u8>, envelope: &Envelope) -> Result<Outcome, IntakeError> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(IntakeError::Empty);
        }
        let raw = Arc::new(raw);
        let t = std::time::Instant::now();
        let mail = if raw.len() <= 128 * 1024 {
            // A typical mail parses in well under a millisecond: a hand-off to a blocking thread
            // would cost more than it saves.
            parse(&raw, &self.config.parse)
        } else {
            let raw = Arc::clone(&raw);
            let opts = self.config.parse.clone();
            // Large messages are CPU work; keep them off the I/O threads.
            tokio::task::spawn_blocking(move || parse(&raw, &opts))
                .await
                .map_err(|e| {
                    IntakeError::Store(StoreError::Unavailable(format!("parser task failed: {e}")))
                })?
        };
        metrics::histogram!("anliegen_mail_intake_seconds", "phase" => "parse")
            .record(t.elapsed().as_secs_f64());
        self.store_parsed(raw, mail, envelope).await
    }

    /// Threads and stores a mail parsed before.
    pub async fn store_parsed(
        &self,
        raw: Arc<Vec<u8>>,
        mut mail: InboundMail,
        envelope: &Envelope,
    ) -> Result<Outcome, IntakeError> {
        let t = std::time::Instant::now();
        let mailboxes = self.mailboxes().await?;
        // The mailbox: the envelope's recipients first, then the headers'.
        let mut tokens = Vec::new();
        let mut mailbox = None;
        for r in envelope.recipients.iter().chain(mail.recipients.iter()) {
            let (base, token) = self.tokens.read(r);
            if let Some(t) = token {
                tokens.push(t);
            }
            if mailbox.is_none() {
                mailbox = mailboxes
                    .iter()
                    .find(|m| m.address.normalised() == base)
                    .cloned();
            }
        }
        if mailbox.is_none() && !envelope.recipients.is_empty() {
            return Err(IntakeError::UnknownRecipient(
                envelope.recipients.join(", "),
            ));
        }
        // Files without envelope (import) fall back to the first mailbox.
        let mailbox = mailbox.or_else(|| mailboxes.first().cloned());
        mail.details.mailbox_id = mailbox.as_ref().map(|m| m.id);

        let sender = mail.from.clone();
        let sender_record = match &sender {
            Some(a) => self.store.customer_by_identity(&Identity::email(a)).await?,
            None => None,
        };
        let sender_customer = sender_record.as_ref().map(|c| c.id);

        // A bounce of one of our mails goes onto that mail's case as a note.
        let mut bounced = None;
        if mail.bounce.is_some()
            || tokens
                .iter()
                .any(|t| matches!(t, AddressToken::Bounce { .. }))
        {
            bounced = self.bounced_contact(&mail, &tokens).await?;
        }

        // One lookup for every Message-ID this mail names: its own (a repeat with another body?)
        // and those it answers (threading).
        let mut wanted: Vec<String> = mail.details.in_reply_to.clone();
        wanted.extend(mail.details.references.iter().rev().cloned());
        wanted.dedup();
        let mut ids = wanted.clone();
        ids.extend(mail.details.message_id.iter().cloned());
        let hits = if ids.is_empty() {
            Vec::new()
        } else {
            self.store.mail_threads(&ids).await?
        };
        if let Some(mid) = &mail.details.message_id
            && hits
                .iter()
                .any(|h| &h.message_id == mid && h.direction == Direction::Inbound)
        {
            mail.details.flag(MailFlag::DuplicateMessageId);
        }

        let (mut target_case, thread) = match &bounced {
            Some((case, _)) => (
                Some(case.clone()),
                ThreadMatch::Headers {
                    message_id: mail
                        .bounce
                        .as_ref()
                        .and_then(|b| b.original_message_id.clone())
                        .unwrap_or_default(),
                },
            ),
            None if mail.unreadable() => (None, ThreadMatch::NewCase),
            None => {
                self.thread(&mail, &tokens, sender_customer, &wanted, &hits)
                    .await?
            }
        };
        // Rules 2–4 of concern matching when the threading rules found no case: a reference in
        // the text, an open case about the same order or parcel, a near-duplicate.
        let mut concern = match &thread {
            ThreadMatch::Headers { message_id } if bounced.is_none() => {
                Some(ConcernMatch::ThreadHeaders {
                    message_id: message_id.clone(),
                })
            }
            ThreadMatch::SignedToken => Some(ConcernMatch::SignedToken),
            ThreadMatch::SubjectReference => {
                target_case.as_ref().map(|c| ConcernMatch::Reference {
                    reference: c.reference,
                    source: anliegen_core::resolve::RefSource::Subject,
                })
            }
            _ => None,
        };
        let auto = mail.auto.is_some() || mail.bounce.is_some();
        if target_case.is_none()
            && bounced.is_none()
            && !mail.unreadable()
            && !auto
            && !mail.details.has(MailFlag::DmarcFail)
            // A second copy of a message we have (same Message-ID, another body) stays apart,
            // flagged for an agent, as before: it is not the customer coming back.
            && !mail.details.has(MailFlag::DuplicateMessageId)
        {
            let body = if mail.details.new_text.trim().is_empty() {
                mail.text.as_str()
            } else {
                mail.details.new_text.as_str()
            };
            match self
                .concerns
                .find(sender_customer, &mail.subject, body, None)
                .await?
            {
                Found::Case(case, why) => {
                    target_case = Some(*case);
                    concern = Some(why);
                }
                Found::New(note, maybe) => {
                    let note = note.or_else(|| match &thread {
                        ThreadMatch::PossiblyBelongsTo { reason, .. } => Some(reason.clone()),
                        _ => None,
                    });
                    concern = Some(ConcernMatch::NewCase { note, maybe });
                }
            }
        } else if target_case.is_none() && bounced.is_none() {
            concern = Some(ConcernMatch::NewCase {
                note: None,
                maybe: None,
            });
        }
        // A sender nobody owns yet who answers in a known thread (a colleague) is offered to
        // the agent for linking, never linked silently.
        let offer = match (&thread, &sender, sender_customer, &target_case) {
            (ThreadMatch::Headers { .. } | ThreadMatch::SignedToken, Some(a), None, Some(_))
                if bounced.is_none() && !auto =>
            {
                Some(Identity::email(a))
            }
            _ => None,
        };
        let repeat_ack = matches!(
            concern,
            Some(ConcernMatch::SameIdentifier { .. } | ConcernMatch::SimilarText { .. })
        );
        mail.details.thread = Some(thread);

        let key = mail.intake_key.clone();
        let language = mail.language.or(mailbox.as_ref().map(|m| m.language));
        let unreadable = mail.unreadable();
        let from_name = mail.details.from_name.clone();
        let subject = subject_of(&mail);
        let raw_hash = mail
            .details
            .raw_blob
            .clone()
            .unwrap_or_else(|| crate::parse::sha256_hex(&raw));
        let mailbox_id = mail.details.mailbox_id;
        let route_text = format!("{}\n{}", mail.subject, mail.details.new_text);
        let mut contact = contact_of(mail, &raw, bounced.is_some());
        contact.concern = concern;
        contact.offer_identity = offer;
        let new_case = target_case.is_none();
        let settings = self.concerns.settings().await?;
        let (organisation_id, tier) =
            anliegen_store::concern::customer_facts(sender_record.as_ref());
        let routed = if new_case {
            Concerns::route(
                &settings,
                &anliegen_core::routing::Facts {
                    channel: Some(Channel::Email),
                    language,
                    form_topic: None,
                    text: &route_text,
                    organisation_id,
                    tier: tier.as_deref(),
                    mailbox_id,
                },
            )
        } else {
            None
        };
        let target = match target_case {
            Some(case) => MailTarget::Case {
                case_id: case.id,
                contact: Box::new(contact),
            },
            None => MailTarget::NewCase(Box::new(NewCase {
                customer: match &sender {
                    Some(a) => CustomerRef::Identity {
                        identity: Identity::email(a),
                        name: from_name,
                        language,
                    },
                    None => CustomerRef::New { name: from_name },
                },
                subject,
                priority: routed
                    .as_ref()
                    .and_then(|r| r.priority)
                    .unwrap_or(Priority::Normal),
                team_id: routed
                    .as_ref()
                    .and_then(|r| r.team_id)
                    .or(mailbox.as_ref().and_then(|m| m.team_id)),
                assignee_id: None,
                tags: Vec::new(),
                fields: Default::default(),
                language,
                contact,
                routed_by: routed.map(|r| r.rule),
                auto_assign: true,
            })),
        };
        let ack_key = key.clone();

        let mut write = Write::new(
            Actor::System,
            Command::IntakeMail(Box::new(anliegen_store::IntakeMail {
                key,
                raw,
                raw_hash,
                target,
            })),
        );
        let wants_ack = self.config.acknowledge
            && new_case
            && !auto
            && !unreadable
            && sender
                .as_ref()
                .is_some_and(|s| !crate::parse::is_no_reply(s))
            && mailbox.is_some();
        let wants_repeat_ack = self.config.acknowledge
            && repeat_ack
            && settings.matching.acknowledge_repeats
            && !auto
            && !unreadable
            && sender
                .as_ref()
                .is_some_and(|s| !crate::parse::is_no_reply(s))
            && mailbox.is_some();
        if wants_repeat_ack {
            write.jobs.push(
                NewJob::new(
                    ACK_JOB,
                    serde_json::json!({ "intake_key": ack_key.clone(), "repeat": true }),
                )
                .dedupe(format!("ack:{ack_key}")),
            );
        }
        if wants_ack {
            // The job learns the contact from the case; dedupe on the intake key.
            write.jobs.push(
                NewJob::new(ACK_JOB, serde_json::json!({ "intake_key": ack_key }))
                    .dedupe(format!("ack:{ack_key}")),
            );
        }
        metrics::histogram!("anliegen_mail_intake_seconds", "phase" => "resolve")
            .record(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let out = self.store.write(write).await?;
        metrics::histogram!("anliegen_mail_intake_seconds", "phase" => "write")
            .record(t.elapsed().as_secs_f64());
        let outcome = match out {
            Output::MailDuplicate {
                case_id,
                contact_id,
            } => Outcome::Duplicate {
                case_id,
                contact_id,
            },
            Output::Contact {
                case,
                contact,
                follow_up_of,
            } => Outcome::Stored {
                case_id: case.id,
                contact_id: contact.id,
                new_case: new_case || follow_up_of.is_some(),
                unreadable,
            },
            _ => {
                return Err(IntakeError::Store(StoreError::Corrupt(
                    "mail intake produced no contact".into(),
                )));
            }
        };
        if let (Some((_, outbound)), Outcome::Stored { .. }) = (&bounced, &outcome) {
            let error =
                "Die E-Mail konnte nicht zugestellt werden (Unzustellbarkeitsmeldung).".to_owned();
            self.store
                .write(Write::new(
                    Actor::System,
                    Command::SetDelivery {
                        contact_id: *outbound,
                        delivery: anliegen_core::Delivery::Failed { error },
                    },
                ))
                .await?;
        }
        metrics::counter!("anliegen_mail_received_total", "outcome" => match &outcome { Outcome::Stored { .. } => "stored", Outcome::Duplicate { .. } => "duplicate" }).increment(1);
        Ok(outcome)
    }

    /// The case and outbound contact a bounce belongs to.
    async fn bounced_contact(
        &self,
        mail: &InboundMail,
        tokens: &[AddressToken],
    ) -> Result<Option<(Case, ContactId)>, StoreError> {
        let mut contact = tokens.iter().find_map(|t| match t {
            AddressToken::Bounce { contact_id } => Some(*contact_id),
            AddressToken::Case { .. } => None,
        });
        if contact.is_none()
            && let Some(mid) = mail
                .bounce
                .as_ref()
                .and_then(|b| b.original_message_id.clone())
        {
            contact = self
                .store
                .mail_threads(&[mid])
                .await?
                .into_iter()
                .find(|h| h.direction == Direction::Outbound)
                .map(|h| h.contact_id);
        }
        let Some(contact_id) = contact else {
            return Ok(None);
        };
        let Some(c) = self.store.contact(contact_id).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .case(c.case_id)
            .await?
            .map(|case| (case, contact_id)))
    }

    /// The threading rules: headers → signed token → subject reference → new case.
    async fn thread(
        &self,
        mail: &InboundMail,
        tokens: &[AddressToken],
        sender_customer: Option<anliegen_core::CustomerId>,
        wanted: &[String],
        hits: &[anliegen_store::MailThreadHit],
    ) -> Result<(Option<Case>, ThreadMatch), StoreError> {
        let dmarc_failed = mail.details.has(MailFlag::DmarcFail);
        let refuse = |case: &Case, reason: &str| {
            Ok((
                None,
                ThreadMatch::PossiblyBelongsTo {
                    reference: case.reference,
                    reason: reason.to_owned(),
                },
            ))
        };
        // 1. In-Reply-To, then References from the newest.
        for id in wanted {
            let mine: Vec<_> = hits.iter().filter(|h| &h.message_id == id).collect();
            let Some(hit) = mine
                .iter()
                .find(|h| h.direction == Direction::Outbound)
                .or(mine.first())
            else {
                continue;
            };
            let Some(case) = self.store.case(hit.case_id).await? else {
                continue;
            };
            if dmarc_failed {
                return refuse(&case, "DMARC-Prüfung des Absenders fehlgeschlagen");
            }
            let own = sender_customer == Some(case.customer_id);
            if own || hit.direction == Direction::Outbound {
                return Ok((
                    Some(case),
                    ThreadMatch::Headers {
                        message_id: id.clone(),
                    },
                ));
            }
            return refuse(&case, "Absender ist für diesen Vorgang nicht bekannt");
        }
        // 2. A signed token in a recipient address.
        for t in tokens {
            if let AddressToken::Case {
                reference,
                valid: true,
            } = t
                && let Some(case) = self.store.case_by_ref(*reference).await?
            {
                if dmarc_failed {
                    return refuse(&case, "DMARC-Prüfung des Absenders fehlgeschlagen");
                }
                return Ok((Some(case), ThreadMatch::SignedToken));
            }
        }
        // 3. The case reference in the subject (or an unsigned token), from the case's customer.
        let mut refs = anliegen_core::mail::case_refs_in(&mail.subject);
        refs.extend(tokens.iter().filter_map(|t| match t {
            AddressToken::Case { reference, .. } => Some(*reference),
            AddressToken::Bounce { .. } => None,
        }));
        for r in refs {
            let Some(case) = self.store.case_by_ref(r).await? else {
                continue;
            };
            if sender_customer != Some(case.customer_id) {
                return refuse(&case, "Absender ist für diesen Vorgang nicht bekannt");
            }
            if dmarc_failed {
                return refuse(&case, "DMARC-Prüfung des Absenders fehlgeschlagen");
            }
            return Ok((Some(case), ThreadMatch::SubjectReference));
        }
        Ok((None, ThreadMatch::NewCase))
    }
}

fn subject_of(mail: &InboundMail) -> String {
    let s = mail.subject.trim();
    let s = if s.is_empty() {
        if mail.unreadable() {
            "Nicht lesbare E-Mail"
        } else {
            "(ohne Betreff)"
        }
    } else {
        s
    };
    s.chars().take(300).collect()
}

/// The contact of a mail. A bounce is an internal note: it must not reopen the case or count
/// as the customer's answer. An unreadable mail carries its raw bytes as an attachment.
fn contact_of(mail: InboundMail, raw: &Arc<Vec<u8>>, bounce_note: bool) -> NewContact {
    let unreadable = mail.unreadable();
    let mut attachments: Vec<NewAttachment> = mail
        .attachments
        .into_iter()
        .map(|a| NewAttachment {
            filename: a.filename,
            content_type: a.content_type,
            content_id: a.content_id,
            data: Arc::new(a.data),
        })
        .collect();
    let mut text = mail.text;
    if unreadable {
        attachments.push(NewAttachment {
            filename: "original.eml".into(),
            content_type: "message/rfc822".into(),
            content_id: None,
            data: Arc::clone(raw),
        });
        text = "Diese E-Mail konnte nicht gelesen werden. Die Originaldatei ist angehängt.".into();
    }
    if bounce_note {
        let diag = mail
            .bounce
            .as_ref()
            .map(|b| b.diagnostic.clone())
            .unwrap_or_default();
        let who = mail
            .bounce
            .as_ref()
            .and_then(|b| b.recipient.clone())
            .unwrap_or_default();
        text = format!(
            "Unzustellbar{}{}: {diag}\n\n{text}",
            if who.is_empty() { "" } else { " an " },
            who
        );
    }
    let (channel, direction, visibility) = if bounce_note {
        (Channel::Note, Direction::Internal, Visibility::Internal)
    } else {
        (Channel::Email, Direction::Inbound, Visibility::Public)
    };
    NewContact {
        channel,
        direction,
        visibility,
        subject: Some(mail.subject),
        text,
        html: mail.html,
        attachments,
        mail: Some(Box::new(mail.details)),
        concern: None,
        offer_identity: None,
        call: None,
    }
}

/// Whether an address is one of ours (a mailbox, with or without a plus part).
pub fn is_own(mailboxes: &[Mailbox], tokens: &Tokens, address: &EmailAddress) -> bool {
    let (base, _) = tokens.read(&address.to_string());
    mailboxes.iter().any(|m| m.address.normalised() == base)
}
