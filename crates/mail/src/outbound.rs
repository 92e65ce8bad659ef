//! Outbound mail: agent replies and automatic acknowledgements leave through the job outbox.
//! The Message-ID is made and stored with the contact before the first attempt, so a retry
//! sends the same one; `In-Reply-To`/`References` continue the customer's thread; the reply-to
//! address carries the signed case token and the envelope sender a signed bounce address.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::mail::{Delivery, MailDetails, MailFlag};
use anliegen_core::{
    Actor, Case, Channel, Contact, Direction, EmailAddress, IdentityKind, Language, Mailbox,
    Visibility,
};
use anliegen_store::jobs::JobHandler;
use anliegen_store::model::Job;
use anliegen_store::{Command, NewContact, NewJob, Store, StoreError, Write};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::intake::ACK_JOB;
use crate::token::Tokens;

/// The job that sends one outbound mail contact.
pub const SEND_JOB: &str = "mail.send";

/// Transport security towards a relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelaySecurity {
    /// Plain SMTP (a relay on the same host).
    None,
    /// STARTTLS required.
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

/// An SMTP relay (an outbound route).
#[derive(Clone, serde::Deserialize, serde::Serialize)]
pub struct Relay {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub security: RelaySecurity,
    /// Login.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (never logged).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Sends outbound mail and acknowledges new cases.
#[derive(Clone)]
pub struct Outbound {
    tokens: Tokens,
    routes: Arc<HashMap<String, AsyncSmtpTransport<Tokio1Executor>>>,
    /// Period within which a sender gets at most one automatic mail (RFC 3834).
    pub auto_reply_period: Duration,
    /// DKIM signing (selector, PKCS#1 PEM RSA key) for installations that send directly; the
    /// domain is the sending mailbox's.
    pub dkim: Option<Arc<(String, String)>>,
}

impl Outbound {
    /// With routes by name ("default" is used for mailboxes whose route is not configured).
    pub fn new(
        tokens: Tokens,
        relays: &HashMap<String, Relay>,
        hello: &str,
    ) -> Result<Self, String> {
        let mut routes = HashMap::new();
        for (name, r) in relays {
            let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(r.host.clone())
                .port(r.port)
                .timeout(Some(Duration::from_secs(60)));
            b = b.hello_name(lettre::transport::smtp::extension::ClientId::Domain(
                hello.to_owned(),
            ));
            match r.security {
                RelaySecurity::None => b = b.tls(Tls::None),
                RelaySecurity::Starttls | RelaySecurity::Tls => {
                    let params = TlsParameters::new(r.host.clone())
                        .map_err(|e| format!("route {name}: {e}"))?;
                    b = b.tls(if r.security == RelaySecurity::Tls {
                        Tls::Wrapper(params)
                    } else {
                        Tls::Required(params)
                    });
                }
            }
            if let (Some(u), Some(p)) = (&r.username, &r.password) {
                b = b.credentials(Credentials::new(u.clone(), p.clone()));
            }
            routes.insert(name.clone(), b.build());
        }
        Ok(Self {
            tokens,
            routes: Arc::new(routes),
            auto_reply_period: Duration::from_secs(24 * 3600),
            dkim: None,
        })
    }
}

impl Outbound {
    /// Sends a plain-text notice (agents' notification mails) by the default route.
    pub async fn send_notice(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        text: &str,
        message_id: &str,
    ) -> Result<(), String> {
        let route = self
            .routes
            .get("default")
            .ok_or_else(|| "no default relay is configured (relay_host)".to_owned())?;
        let from: lettre::message::Mailbox =
            from.parse().map_err(|e| format!("from {from}: {e}"))?;
        let to: lettre::message::Mailbox = to.parse().map_err(|e| format!("to {to}: {e}"))?;
        let msg = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_owned()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text.to_owned())
            .map_err(|e| e.to_string())?;
        route.send(msg).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Why a reply cannot go out by mail.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// No mailbox to send from.
    #[error("no active mailbox to send from; create one under /api/v1/mailboxes")]
    NoMailbox,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The last inbound mail of a case.
fn last_inbound(contacts: &[Contact]) -> Option<&Contact> {
    contacts
        .iter()
        .rev()
        .find(|c| c.direction == Direction::Inbound && c.mail.is_some())
}

/// Turns an outbound contact on `case` into a mail when the case is a mail conversation (it
/// came in by mail, or the customer has an email address and the case's channel is email):
/// fills in the mail details and returns the send job to enqueue in the same write.
pub async fn prepare_mail(
    store: &Store,
    case: &Case,
    contact: &mut NewContact,
    auto: bool,
) -> Result<Option<NewJob>, PrepareError> {
    prepare_mail_to(store, case, contact, auto, None).await
}

/// [`prepare_mail`], to `to` when given (an answer by mail to a contact that came another way).
pub async fn prepare_mail_to(
    store: &Store,
    case: &Case,
    contact: &mut NewContact,
    auto: bool,
    to: Option<String>,
) -> Result<Option<NewJob>, PrepareError> {
    if contact.direction != Direction::Outbound {
        return Ok(None);
    }
    let contacts = store.contacts(case.id, false).await?;
    let inbound = last_inbound(&contacts);
    let inbound_mail = inbound.and_then(|c| c.mail.as_deref());
    let customer = store.customer(case.customer_id).await?;
    let to = match to.or_else(|| inbound_mail.and_then(|m| m.from.clone())) {
        Some(a) => Some(a),
        None if case.channel == Channel::Email => customer.as_ref().and_then(|c| {
            c.identities
                .iter()
                .find(|i| i.kind == IdentityKind::Email)
                .map(|i| i.value.clone())
        }),
        None => None,
    };
    let Some(to) = to else { return Ok(None) };
    let mailboxes: Vec<Mailbox> = store
        .mailboxes()
        .await?
        .into_iter()
        .filter(|m| m.active)
        .collect();
    let mailbox = inbound_mail
        .and_then(|m| m.mailbox_id)
        .and_then(|id| mailboxes.iter().find(|m| m.id == id))
        .or_else(|| {
            mailboxes
                .iter()
                .find(|m| m.team_id.is_some() && m.team_id == case.team_id)
        })
        .or(mailboxes.first())
        .ok_or(PrepareError::NoMailbox)?;
    let domain = mailbox.address.domain().to_owned();
    let mut details = MailDetails {
        message_id: Some(format!("{}@{domain}", uuid::Uuid::now_v7().simple())),
        from: Some(mailbox.address.to_string()),
        from_name: Some(mailbox.display_name.clone()),
        to: vec![to],
        mailbox_id: Some(mailbox.id),
        delivery: Some(Delivery::Queued),
        new_text: contact.text.clone(),
        ..MailDetails::default()
    };
    if let Some(m) = inbound_mail
        && let Some(id) = &m.message_id
    {
        details.in_reply_to = vec![id.clone()];
        let mut refs: Vec<String> = m.references.iter().rev().take(19).rev().cloned().collect();
        refs.push(id.clone());
        details.references = refs;
    }
    if auto {
        details.flag(MailFlag::AutoSubmitted);
    }
    let reference = case.reference.to_string();
    let base = contact
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| case.subject.clone());
    let mut subject =
        if auto || base.to_lowercase().starts_with("re:") || base.to_lowercase().starts_with("aw:")
        {
            base
        } else {
            format!("Re: {base}")
        };
    if !subject.contains(&reference) {
        subject = format!("{subject} [{reference}]");
    }
    contact.subject = Some(subject);
    let job = send_job(&details);
    contact.mail = Some(Box::new(details));
    Ok(Some(job))
}

/// The Message-ID a send job names: the job is enqueued in the same write as its contact,
/// before the contact has an id, so the Message-ID identifies it.
fn job_message_id(job: &Job) -> Option<String> {
    job.payload
        .get("message_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// Makes the payload of a send job: the Message-ID identifies the contact.
pub fn send_job(details: &MailDetails) -> NewJob {
    let mid = details.message_id.clone().unwrap_or_default();
    NewJob::new(SEND_JOB, serde_json::json!({ "message_id": mid }))
        .dedupe(format!("send:{mid}"))
        .attempts(8)
}

fn header(name: &str, value: String) -> HeaderValue {
    let name = HeaderName::new_from_ascii(name.to_owned())
        .unwrap_or_else(|_| HeaderName::new_from_ascii_str("X-Anliegen"));
    // No line breaks can reach a header: values are single lines.
    HeaderValue::new(name, value.replace(['\r', '\n'], " "))
}

/// "Unsere offenen Zusagen an Sie: – Rückruf … – bis Freitag, 14:00 Uhr" for the case's
/// promises that were open when the message was written.
async fn open_promises(store: &Store, case: &Case, contact: &Contact) -> Result<String, String> {
    let promises = store.promises(case.id).await.map_err(|e| e.to_string())?;
    let open: Vec<_> = promises
        .iter()
        .filter(|p| {
            p.created_at <= contact.created_at
                && p.due_at > contact.created_at
                && p.closed_at.is_none_or(|c| c > contact.created_at)
                && p.status != anliegen_core::promise::PromiseStatus::Cancelled
        })
        .collect();
    if open.is_empty() {
        return Ok(String::new());
    }
    let customer = store
        .customer(case.customer_id)
        .await
        .map_err(|e| e.to_string())?;
    let (lang, tz) = anliegen_core::promise::customer_locale(customer.as_ref(), case.language);
    let mut out = match lang {
        anliegen_core::Language::De => String::from("Unsere offenen Zusagen an Sie:"),
        anliegen_core::Language::En => String::from("What we have promised you:"),
    };
    for p in open {
        out.push_str(&format!(
            "\n– {} – {}",
            p.what,
            anliegen_core::promise::due_phrase(p.due_at, contact.created_at, &tz, lang)
        ));
    }
    Ok(out)
}

fn html_of_text(text: &str) -> String {
    let mut out = String::from("<div style=\"font-family:sans-serif\">");
    for line in text.lines() {
        let esc = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        out.push_str(&esc);
        out.push_str("<br>\n");
    }
    out.push_str("</div>");
    out
}

impl Outbound {
    async fn send(&self, store: &Store, job: &Job) -> Result<(), String> {
        let mid = job_message_id(job).ok_or("send job without message_id")?;
        let hit = store
            .mail_threads(std::slice::from_ref(&mid))
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|h| h.direction == Direction::Outbound);
        let Some(hit) = hit else {
            return Err(format!("no outbound mail {mid}"));
        };
        let contact = store
            .contact(hit.contact_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("contact gone")?;
        let details = contact.mail.clone().unwrap_or_default();
        if matches!(details.delivery, Some(Delivery::Sent { .. })) {
            return Ok(());
        }
        let case = store
            .case(contact.case_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("case gone")?;
        let fail = |error: String| async move {
            store
                .write(Write::new(
                    Actor::System,
                    Command::SetDelivery {
                        contact_id: contact.id,
                        delivery: Delivery::Failed { error },
                    },
                ))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let Some(mailbox) = (match details.mailbox_id {
            Some(id) => store.mailbox(id).await.map_err(|e| e.to_string())?,
            None => None,
        }) else {
            return fail("Kein Postfach zum Versand gefunden.".into()).await;
        };
        let Some(transport) = self
            .routes
            .get(&mailbox.outbound_route)
            .or_else(|| self.routes.get("default"))
        else {
            return fail(format!(
                "Kein Versandweg „{}“ konfiguriert.",
                mailbox.outbound_route
            ))
            .await;
        };
        let message = match self.build(store, &case, &contact, &details, &mailbox).await {
            Ok(m) => m,
            Err(e) => return fail(e).await,
        };
        let from: lettre::Address = self
            .tokens
            .bounce_address(&mailbox.address, contact.id)
            .parse()
            .map_err(|e| format!("{e}"))?;
        let to: Vec<lettre::Address> = details.to.iter().filter_map(|t| t.parse().ok()).collect();
        if to.is_empty() {
            return fail("Keine gültige Empfängeradresse.".into()).await;
        }
        let envelope = lettre::address::Envelope::new(Some(from), to).map_err(|e| e.to_string())?;
        match transport.send_raw(&envelope, &message.formatted()).await {
            Ok(_) => {
                let delivery = Delivery::Sent { at: store.now() };
                store
                    .write(Write::new(
                        Actor::System,
                        Command::SetDelivery {
                            contact_id: contact.id,
                            delivery,
                        },
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                metrics::counter!("anliegen_mail_sent_total").increment(1);
                Ok(())
            }
            Err(e) if e.is_permanent() || job.attempts >= job.max_attempts => {
                metrics::counter!("anliegen_mail_failed_total").increment(1);
                fail(format!("Zustellung abgelehnt: {e}")).await
            }
            Err(e) => {
                let delivery = Delivery::Retrying {
                    error: e.to_string(),
                    attempts: job.attempts,
                };
                store
                    .write(Write::new(
                        Actor::System,
                        Command::SetDelivery {
                            contact_id: contact.id,
                            delivery,
                        },
                    ))
                    .await
                    .ok();
                Err(format!("sending {mid}: {e}"))
            }
        }
    }

    async fn build(
        &self,
        store: &Store,
        case: &Case,
        contact: &Contact,
        details: &MailDetails,
        mailbox: &Mailbox,
    ) -> Result<lettre::Message, String> {
        let from = lettre::message::Mailbox::new(
            Some(mailbox.display_name.clone()),
            mailbox
                .address
                .to_string()
                .parse()
                .map_err(|e| format!("{e}"))?,
        );
        let reply_to: lettre::Address = self
            .tokens
            .reply_address(&mailbox.address, case.reference)
            .parse()
            .map_err(|e| format!("{e}"))?;
        let mut b = lettre::Message::builder()
            .from(from)
            .reply_to(lettre::message::Mailbox::new(
                Some(mailbox.display_name.clone()),
                reply_to,
            ))
            .subject(
                contact
                    .subject
                    .clone()
                    .unwrap_or_else(|| case.subject.clone())
                    .replace(['\r', '\n'], " "),
            )
            .message_id(details.message_id.as_ref().map(|m| format!("<{m}>")))
            .date(
                std::time::SystemTime::UNIX_EPOCH
                    + Duration::from_micros(
                        u64::try_from(contact.created_at.as_microsecond()).unwrap_or(0),
                    ),
            );
        for t in &details.to {
            b = b.to(lettre::message::Mailbox::new(
                None,
                t.parse().map_err(|e| format!("{t}: {e}"))?,
            ));
        }
        if let Some(irt) = details.in_reply_to.first() {
            b = b.in_reply_to(format!("<{irt}>"));
        }
        if !details.references.is_empty() {
            b = b.references(
                details
                    .references
                    .iter()
                    .map(|r| format!("<{r}>"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        let auto = details.has(MailFlag::AutoSubmitted);
        let mut text = contact.text.clone();
        // The customer sees what we promised and by when, in their language and time zone.
        let promised = open_promises(store, case, contact).await?;
        if !promised.is_empty() {
            text = format!("{text}\n\n{promised}");
        }
        if !auto && !mailbox.signature.trim().is_empty() {
            text = format!("{text}\n\n-- \n{}", mailbox.signature);
        }
        let html = match &contact.html {
            Some(h) if !auto => {
                let mut h = h.as_str().to_owned();
                if !promised.is_empty() {
                    h.push_str(&html_of_text(&promised));
                }
                h
            }
            _ => html_of_text(&text),
        };
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(text))
            .singlepart(SinglePart::html(html));
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &contact.attachments {
            let data = store
                .blob(&a.blob)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("attachment {} is missing", a.filename))?;
            let ct = ContentType::parse(&a.content_type).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| e.to_string())?,
            );
            mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(data, ct));
        }
        let mut msg = b.multipart(mixed).map_err(|e| e.to_string())?;
        if auto {
            msg.headers_mut()
                .insert_raw(header("Auto-Submitted", "auto-replied".into()));
            msg.headers_mut()
                .insert_raw(header("X-Auto-Response-Suppress", "All".into()));
        }
        msg.headers_mut()
            .insert_raw(header("X-Anliegen-Case", case.reference.to_string()));
        if let Some(d) = &self.dkim {
            let (selector, pem) = d.as_ref();
            let key = lettre::message::dkim::DkimSigningKey::new(
                pem,
                lettre::message::dkim::DkimSigningAlgorithm::Rsa,
            )
            .map_err(|e| format!("DKIM key: {e}"))?;
            let config = lettre::message::dkim::DkimConfig::default_config(
                selector.clone(),
                mailbox.address.domain().to_owned(),
                key,
            );
            msg.sign(&config);
        }
        Ok(msg)
    }

    /// Acknowledges a new case: at most one automatic mail per sender and period, never to
    /// `noreply`/`mailer-daemon`, in the customer's language.
    async fn acknowledge(&self, store: &Store, job: &Job) -> Result<(), String> {
        // A contact from another channel (a form) on a known case: answer its customer's
        // email address, from the first mailbox.
        if let Some(case_id) = job.payload.get("case_id").and_then(|v| v.as_str()) {
            return self.acknowledge_case(store, case_id).await;
        }
        let key = job
            .payload
            .get("intake_key")
            .and_then(|v| v.as_str())
            .ok_or("acknowledge job without intake_key")?;
        let Some((case_id, contact_id)) =
            store.mail_intake(key).await.map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let (Some(case), Some(inbound)) = (
            store.case(case_id).await.map_err(|e| e.to_string())?,
            store.contact(contact_id).await.map_err(|e| e.to_string())?,
        ) else {
            return Ok(());
        };
        let Some(sender) = inbound.mail.as_ref().and_then(|m| m.from.clone()) else {
            return Ok(());
        };
        if EmailAddress::parse(&sender)
            .map(|a| crate::parse::is_no_reply(&a))
            .unwrap_or(true)
        {
            return Ok(());
        }
        if !self.claim_auto_reply(store, &sender).await? {
            return Ok(());
        }
        let name = inbound.mail.as_ref().and_then(|m| m.from_name.clone());
        let mailbox = match inbound.mail.as_ref().and_then(|m| m.mailbox_id) {
            Some(id) => store.mailbox(id).await.map_err(|e| e.to_string())?,
            None => None,
        };
        let Some(mailbox) = mailbox else {
            return Ok(());
        };
        let language = case.language.unwrap_or(mailbox.language);
        let repeat = job
            .payload
            .get("repeat")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let (subject, text) = if repeat {
            repeat_acknowledgement(language, &case, name.as_deref(), &mailbox.display_name)
        } else {
            acknowledgement(
                language,
                case.reference,
                name.as_deref(),
                &mailbox.display_name,
            )
        };
        send_automatic(store, &case, subject, text, None).await
    }
}

impl Outbound {
    /// "We already have your concern" for a repeat that came by form (job payload `case_id`).
    async fn acknowledge_case(&self, store: &Store, case_id: &str) -> Result<(), String> {
        let Ok(case_id) = case_id.parse::<anliegen_core::CaseId>() else {
            return Ok(());
        };
        let Some(case) = store.case(case_id).await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        let Some(customer) = store
            .customer(case.customer_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let Some(address) = customer
            .identities
            .iter()
            .find(|i| i.kind == anliegen_core::IdentityKind::Email)
            .and_then(|i| EmailAddress::parse(&i.value).ok())
        else {
            return Ok(());
        };
        if crate::parse::is_no_reply(&address) {
            return Ok(());
        }
        let Some(mailbox) = store
            .mailboxes()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|m| m.active)
        else {
            return Ok(());
        };
        if !self.claim_auto_reply(store, address.as_str()).await? {
            return Ok(());
        }
        let language = case.language.unwrap_or(mailbox.language);
        let (subject, text) = repeat_acknowledgement(
            language,
            &case,
            customer.name.as_deref(),
            &mailbox.display_name,
        );
        send_automatic(store, &case, subject, text, Some(address.to_string())).await
    }

    /// The RFC 3834 rule: at most one automatic mail per sender and period.
    async fn claim_auto_reply(&self, store: &Store, sender: &str) -> Result<bool, String> {
        let now = store.now();
        let since = now
            - jiff::SignedDuration::try_from(self.auto_reply_period)
                .unwrap_or(jiff::SignedDuration::from_hours(24));
        store
            .claim_auto_reply(sender, now, since)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Stores an automatic mail on `case` and enqueues its sending in the same write (to `to`, or
/// to whoever the case's conversation is with).
async fn send_automatic(
    store: &Store,
    case: &Case,
    subject: String,
    text: String,
    to: Option<String>,
) -> Result<(), String> {
    let mut contact = NewContact {
        subject: Some(subject),
        ..NewContact::plain(
            Channel::Email,
            Direction::Outbound,
            Visibility::Public,
            text,
        )
    };
    prepare_mail_to(store, case, &mut contact, true, to)
        .await
        .map_err(|e| e.to_string())?;
    let Some(details) = contact.mail.as_deref() else {
        return Ok(());
    };
    let send = send_job(details);
    let mut w = Write::new(
        Actor::System,
        Command::AddContact {
            case_id: case.id,
            contact,
            status_after: None,
        },
    );
    w.jobs.push(send);
    store.write(w).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Subject and text of the acknowledgement of a new case.
pub fn acknowledgement(
    language: Language,
    reference: anliegen_core::CaseRef,
    name: Option<&str>,
    signer: &str,
) -> (String, String) {
    let greeting_name = name.map(|n| format!(" {n}")).unwrap_or_default();
    match language {
        Language::De => (
            format!("Ihre Anfrage ist bei uns eingegangen [{reference}]"),
            format!(
                "Guten Tag{greeting_name},\n\nvielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen unter der Vorgangsnummer {reference} aufgenommen und melden uns so schnell wie möglich bei Ihnen.\n\nWenn Sie noch etwas ergänzen möchten, antworten Sie einfach auf diese E-Mail. So bleibt alles in einem Vorgang, und Sie müssen nichts doppelt erklären.\n\nFreundliche Grüße\n{signer}\n\nDies ist eine automatische Bestätigung."
            ),
        ),
        Language::En => (
            format!("We have received your message [{reference}]"),
            format!(
                "Hello{greeting_name},\n\nthank you for your message. We have recorded your request under the reference {reference} and will get back to you as soon as we can.\n\nIf you would like to add anything, simply reply to this email. That way everything stays in one case and you will not need to explain anything twice.\n\nKind regards\n{signer}\n\nThis is an automatic confirmation."
            ),
        ),
    }
}

/// Subject and text of the answer to a repeat contact: we have the concern already, here is
/// where it stands (instead of a new ticket number).
pub fn repeat_acknowledgement(
    language: Language,
    case: &anliegen_core::Case,
    name: Option<&str>,
    signer: &str,
) -> (String, String) {
    use anliegen_core::CaseStatus as S;
    let greeting_name = name.map(|n| format!(" {n}")).unwrap_or_default();
    let reference = case.reference;
    match language {
        Language::De => {
            let status = match case.status {
                S::New => "Ihr Anliegen ist eingegangen und wird als Nächstes bearbeitet.",
                S::Open => "Wir bearbeiten Ihr Anliegen gerade.",
                S::WaitingOnCustomer => {
                    "Wir haben Ihnen eine Rückfrage geschickt und warten auf Ihre Antwort."
                }
                S::WaitingOnThirdParty => {
                    "Wir warten auf eine Rückmeldung eines Partners (zum Beispiel des Paketdienstes) und melden uns, sobald sie da ist."
                }
                S::Solved | S::Closed => {
                    "Wir hatten Ihr Anliegen als erledigt betrachtet und schauen es uns nun noch einmal an."
                }
            };
            (
                format!("Ihr Anliegen {reference} liegt uns bereits vor"),
                format!(
                    "Guten Tag{greeting_name},\n\nvielen Dank für Ihre Nachricht. Ihr Anliegen liegt uns bereits unter der Vorgangsnummer {reference} vor, und wir haben Ihre neue Nachricht dort ergänzt. Sie müssen nichts noch einmal erklären.\n\nStand: {status}\n\nWenn Sie noch etwas ergänzen möchten, antworten Sie einfach auf diese E-Mail.\n\nFreundliche Grüße\n{signer}\n\nDies ist eine automatische Nachricht."
                ),
            )
        }
        Language::En => {
            let status = match case.status {
                S::New => "Your request has arrived and is next in line.",
                S::Open => "We are working on your request.",
                S::WaitingOnCustomer => {
                    "We have sent you a question and are waiting for your answer."
                }
                S::WaitingOnThirdParty => {
                    "We are waiting for a partner (such as the carrier) and will be in touch as soon as we hear back."
                }
                S::Solved | S::Closed => {
                    "We had considered your request solved and are now looking at it again."
                }
            };
            (
                format!("We already have your request {reference}"),
                format!(
                    "Hello{greeting_name},\n\nthank you for your message. We already have your request under the reference {reference} and have added your new message to it, so you do not need to explain anything again.\n\nWhere it stands: {status}\n\nIf you would like to add anything, simply reply to this email.\n\nKind regards\n{signer}\n\nThis is an automatic message."
                ),
            )
        }
    }
}

/// Runs [`SEND_JOB`] jobs.
pub struct SendHandler(pub Outbound);

#[async_trait::async_trait]
impl JobHandler for SendHandler {
    async fn run(&self, store: &Store, job: &Job) -> Result<(), String> {
        self.0.send(store, job).await
    }
}

/// Runs [`ACK_JOB`] jobs.
pub struct AckHandler(pub Outbound);

#[async_trait::async_trait]
impl JobHandler for AckHandler {
    async fn run(&self, store: &Store, job: &Job) -> Result<(), String> {
        self.0.acknowledge(store, job).await
    }
}

/// The job kinds this module handles.
pub const JOB_KINDS: [&str; 2] = [SEND_JOB, ACK_JOB];
