//! The JSON shapes of the API. Requests are converted to domain types by hand (parse at the
//! edge); responses are built from domain types. Enum mirrors exist only for the OpenAPI
//! schema.

use std::collections::BTreeMap;

use anliegen_core::{
    Agent, Case, Contact, Customer, Event, Identity, IdentityKind, Organisation, Team,
};
use anliegen_store::{Job, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::double_option;

/// Case status.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = CaseStatus)]
pub enum CaseStatusSchema {
    new,
    open,
    waiting_on_customer,
    waiting_on_third_party,
    solved,
    closed,
}

/// Priority.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = Priority)]
pub enum PrioritySchema {
    low,
    normal,
    high,
    urgent,
}

/// Channel of a contact.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = Channel)]
pub enum ChannelSchema {
    email,
    form,
    portal,
    phone,
    chat,
    api,
    note,
}

/// Identity kind.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = IdentityKind)]
pub enum IdentityKindSchema {
    email,
    phone,
    shop_customer_id,
    portal_login,
}

/// Agent role.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = Role)]
pub enum RoleSchema {
    agent,
    supervisor,
    admin,
}

/// Language.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
#[schema(as = Language)]
pub enum LanguageSchema {
    de,
    en,
}

/// An identity as sent and shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    /// Kind.
    #[schema(value_type = IdentityKindSchema)]
    pub kind: String,
    /// Value; normalised on the way in (lower-case email, E.164 phone).
    pub value: String,
}

impl IdentityDto {
    /// Parses into a domain identity.
    pub fn parse(&self, field: &str) -> Result<Identity, crate::error::ApiError> {
        let kind = IdentityKind::parse(&self.kind)
            .map_err(|e| crate::error::ApiError::invalid(format!("{field}.kind"), e.message))?;
        Identity::parse(kind, &self.value)
            .map_err(|e| crate::error::ApiError::invalid(format!("{field}.value"), e.message))
    }
}

impl From<&Identity> for IdentityDto {
    fn from(i: &Identity) -> Self {
        Self {
            kind: i.kind.as_str().to_owned(),
            value: i.value.clone(),
        }
    }
}

/// A customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: Option<String>,
    /// Organisation.
    pub organisation_id: Option<uuid::Uuid>,
    /// Language.
    #[schema(value_type = Option<LanguageSchema>)]
    pub language: Option<String>,
    /// Time zone (IANA).
    pub time_zone: Option<String>,
    /// Tier.
    pub tier: String,
    /// Notes agents keep.
    pub notes: String,
    /// Identities.
    pub identities: Vec<IdentityDto>,
    /// Set when merged into another customer.
    pub merged_into: Option<uuid::Uuid>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Updated (RFC 3339).
    pub updated_at: String,
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id.0,
            name: c.name.clone(),
            organisation_id: c.organisation_id.map(|o| o.0),
            language: c.language.map(|l| l.code().to_owned()),
            time_zone: c.time_zone.as_ref().map(|t| t.as_str().to_owned()),
            tier: c.tier.as_str().to_owned(),
            notes: c.notes.clone(),
            identities: c.identities.iter().map(IdentityDto::from).collect(),
            merged_into: c.merged_into.map(|m| m.0),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
        }
    }
}

/// Create a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    /// Name.
    pub name: Option<String>,
    /// Organisation id.
    pub organisation_id: Option<uuid::Uuid>,
    /// Language (`de`, `en`).
    #[schema(value_type = Option<LanguageSchema>)]
    pub language: Option<String>,
    /// Time zone (IANA, e.g. Europe/Berlin).
    pub time_zone: Option<String>,
    /// Tier (default `standard`).
    pub tier: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Identities.
    #[serde(default)]
    pub identities: Vec<IdentityDto>,
}

/// Change a customer; absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    /// Name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Organisation.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub organisation_id: Option<Option<uuid::Uuid>>,
    /// Language.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<LanguageSchema>)]
    pub language: Option<Option<String>>,
    /// Time zone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// Tier.
    pub tier: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// Merge this customer into another one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomer {
    /// The customer that survives.
    pub into: uuid::Uuid,
}

/// Create an organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    /// Name.
    pub name: String,
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
}

impl From<&Organisation> for OrganisationDto {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.0,
            name: o.name.clone(),
            created_at: o.created_at.to_string(),
        }
    }
}

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Reference, e.g. `A-10042`.
    pub reference: String,
    /// Subject.
    pub subject: String,
    /// Customer.
    pub customer_id: uuid::Uuid,
    /// Status.
    #[schema(value_type = CaseStatusSchema)]
    pub status: String,
    /// Priority.
    #[schema(value_type = PrioritySchema)]
    pub priority: String,
    /// Team.
    pub team_id: Option<uuid::Uuid>,
    /// Assignee.
    pub assignee_id: Option<uuid::Uuid>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom fields.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Channel of the first contact.
    #[schema(value_type = ChannelSchema)]
    pub channel: String,
    /// Language.
    #[schema(value_type = Option<LanguageSchema>)]
    pub language: Option<String>,
    /// The closed case this follows up on.
    pub follow_up_of: Option<uuid::Uuid>,
    /// Number of contacts.
    pub contact_count: i64,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Oldest unanswered customer contact.
    pub waiting_since: Option<String>,
    /// How often the customer came back about it unasked.
    pub repeat_count: i64,
    /// Escalation tier reached (0: none).
    pub escalation_level: i64,
    /// The earliest due time of its running SLA targets.
    pub sla_due_at: Option<String>,
}

impl From<&Case> for CaseDto {
    fn from(c: &Case) -> Self {
        Self {
            id: c.id.0,
            reference: c.reference.to_string(),
            subject: c.subject.clone(),
            customer_id: c.customer_id.0,
            status: c.status.as_str().to_owned(),
            priority: c.priority.as_str().to_owned(),
            team_id: c.team_id.map(|t| t.0),
            assignee_id: c.assignee_id.map(|a| a.0),
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            fields: c.fields.clone(),
            channel: c.channel.as_str().to_owned(),
            language: c.language.map(|l| l.code().to_owned()),
            follow_up_of: c.follow_up_of.map(|f| f.0),
            contact_count: c.contact_count,
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            waiting_since: c.waiting_since.map(|w| w.to_string()),
            repeat_count: c.repeat_count,
            escalation_level: c.escalation_level,
            sla_due_at: c.sla_due.map(|t| t.to_string()),
        }
    }
}

/// Who a new case is for: a known customer id, or an identity (the customer is found or created).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseCustomer {
    /// A known customer.
    pub id: Option<uuid::Uuid>,
    /// Or: email address.
    pub email: Option<String>,
    /// Or: phone number.
    pub phone: Option<String>,
    /// Or: any identity.
    pub identity: Option<IdentityDto>,
    /// Name, for a new customer.
    pub name: Option<String>,
    /// Language, for a new customer (otherwise detected from the text).
    #[schema(value_type = Option<LanguageSchema>)]
    pub language: Option<String>,
}

/// A file sent with a contact, base64-encoded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentIn {
    /// File name.
    pub filename: String,
    /// Media type (default application/octet-stream).
    pub content_type: Option<String>,
    /// Content, standard base64.
    pub data_base64: String,
}

/// The first contact of a new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstContact {
    /// Channel (default `api`).
    #[schema(value_type = Option<ChannelSchema>)]
    pub channel: Option<String>,
    /// `inbound` (from the customer, default) or `outbound` (we contacted them).
    pub direction: Option<String>,
    /// Text.
    pub text: String,
    /// HTML (sanitised on the way in).
    pub html: Option<String>,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
    /// A phone call (phone contacts only): when, how long, which number; the text is its
    /// summary.
    pub call: Option<CallDto>,
}

/// Open a case with its first contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    /// Whose concern.
    pub customer: CaseCustomer,
    /// Subject (may be empty).
    #[serde(default)]
    pub subject: String,
    /// Priority (default `normal`).
    #[schema(value_type = Option<PrioritySchema>)]
    pub priority: Option<String>,
    /// Team.
    pub team_id: Option<uuid::Uuid>,
    /// Assignee.
    pub assignee_id: Option<uuid::Uuid>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom fields (string, number or boolean values).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The first contact.
    pub contact: FirstContact,
}

/// Change a case; absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    /// New status (lifecycle enforced).
    #[schema(value_type = Option<CaseStatusSchema>)]
    pub status: Option<String>,
    /// New priority.
    #[schema(value_type = Option<PrioritySchema>)]
    pub priority: Option<String>,
    /// New team; `null`: none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<Option<uuid::Uuid>>,
    /// New assignee; `null`: unassigned.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub assignee_id: Option<Option<uuid::Uuid>>,
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Replace all tags with these.
    pub tags: Option<Vec<String>>,
    /// Fields to set; `null` clears one.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// New subject.
    pub subject: Option<String>,
}

/// Add a contact: an agent's reply, an internal note, or a message from the customer
/// (logged phone call, forwarded message).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddContact {
    /// `reply` (to the customer), `note` (internal) or `customer` (from the customer).
    pub kind: String,
    /// Channel; default: the case's channel for replies and customer messages.
    #[schema(value_type = Option<ChannelSchema>)]
    pub channel: Option<String>,
    /// Text.
    pub text: String,
    /// HTML (sanitised).
    pub html: Option<String>,
    /// Status afterwards (lifecycle enforced).
    #[schema(value_type = Option<CaseStatusSchema>)]
    pub status: Option<String>,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
    /// A phone call (channel phone only): when, how long, which number; the text is its
    /// summary.
    pub call: Option<CallDto>,
}

/// An attachment as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// File name.
    pub filename: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Where to download it.
    pub url: String,
}

/// A contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Case.
    pub case_id: uuid::Uuid,
    /// Channel.
    #[schema(value_type = ChannelSchema)]
    pub channel: String,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    /// `public` or `internal`.
    pub visibility: String,
    /// Author.
    #[schema(value_type = Object)]
    pub author: serde_json::Value,
    /// Subject.
    pub subject: Option<String>,
    /// Text.
    pub text: String,
    /// Sanitised HTML.
    pub html: Option<String>,
    /// Files.
    pub attachments: Vec<AttachmentDto>,
    /// Mail details (mail contacts): Message-ID, In-Reply-To, References, from, to, cc,
    /// `new_text` (the new part without quoted history and signature), `has_quote`, `auth`
    /// (SPF/DKIM/DMARC), `flags`, `thread` (how it found its case), `delivery` (outbound).
    #[schema(value_type = Option<Object>)]
    pub mail: Option<serde_json::Value>,
    /// Why it is on its case (inbound contacts): `{"rule": "thread_headers" | "signed_token" |
    /// "reference" | "same_identifier" | "similar_text" | "chosen" | "new_case", …}`.
    #[schema(value_type = Option<Object>)]
    pub concern: Option<serde_json::Value>,
    /// A logged phone call.
    pub call: Option<CallDto>,
    /// When.
    pub created_at: String,
}

/// A phone call as logged.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallDto {
    /// When it began (RFC 3339; default: its duration before now).
    pub started_at: Option<String>,
    /// How long it took, in seconds (1 to 86,400).
    pub duration_seconds: u32,
    /// The other side's number (any common German or international notation; stored E.164).
    pub number: Option<String>,
}

impl From<&anliegen_core::Call> for CallDto {
    fn from(c: &anliegen_core::Call) -> Self {
        Self {
            started_at: Some(c.started_at.to_string()),
            duration_seconds: c.seconds,
            number: c.number.clone(),
        }
    }
}

impl CallDto {
    /// The call, checked at `now` (field names as in the request).
    pub fn parse(&self, now: jiff::Timestamp) -> Result<anliegen_core::Call, crate::ApiError> {
        let seconds = self.duration_seconds;
        let started_at = match self.started_at.as_deref() {
            Some(raw) => raw.parse::<jiff::Timestamp>().map_err(|_| {
                crate::ApiError::invalid(
                    "call.started_at",
                    "started_at is an RFC 3339 time, e.g. 2026-12-04T14:05:00+01:00",
                )
            })?,
            None => now - jiff::SignedDuration::from_secs(i64::from(seconds)),
        };
        let number = match self
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(raw) => Some(
                anliegen_core::PhoneNumber::parse(raw)
                    .map_err(|e| crate::ApiError::invalid("call.number", e.message))?
                    .to_string(),
            ),
            None => None,
        };
        let call = anliegen_core::Call {
            started_at,
            seconds,
            number,
        };
        call.check(now)
            .map_err(|e| crate::ApiError::invalid(e.what, e.message))?;
        Ok(call)
    }
}

impl From<&Contact> for ContactDto {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.0,
            case_id: c.case_id.0,
            channel: c.channel.as_str().to_owned(),
            direction: c.direction.as_str().to_owned(),
            visibility: c.visibility.as_str().to_owned(),
            author: serde_json::to_value(&c.author).unwrap_or_default(),
            subject: c.subject.clone(),
            text: c.text.clone(),
            html: c.html.as_ref().map(|h| h.as_str().to_owned()),
            attachments: c
                .attachments
                .iter()
                .enumerate()
                .map(|(i, a)| AttachmentDto {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    sha256: a.blob.clone(),
                    url: format!("/api/v1/contacts/{}/attachments/{i}", c.id),
                })
                .collect(),
            mail: c.mail.as_ref().and_then(|m| serde_json::to_value(m).ok()),
            concern: c
                .concern
                .as_ref()
                .and_then(|m| serde_json::to_value(m).ok()),
            call: c.call.as_ref().map(CallDto::from),
            created_at: c.created_at.to_string(),
        }
    }
}

/// A mailbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Address customers write to.
    pub address: String,
    /// Display name in `From:`.
    pub display_name: String,
    /// Team of new cases.
    pub team_id: Option<uuid::Uuid>,
    /// Language of automatic mails (`de`, `en`).
    pub language: String,
    /// Signature of replies.
    pub signature: String,
    /// IMAP account (the password comes from the configuration).
    #[schema(value_type = Option<Object>)]
    pub imap: Option<serde_json::Value>,
    /// Outbound route (SMTP relay) named in the configuration.
    pub outbound_route: String,
    /// Receives and sends.
    pub active: bool,
    /// Created.
    pub created_at: String,
    /// Changed.
    pub updated_at: String,
}

impl From<&anliegen_core::Mailbox> for MailboxDto {
    fn from(m: &anliegen_core::Mailbox) -> Self {
        Self {
            id: m.id.0,
            address: m.address.to_string(),
            display_name: m.display_name.clone(),
            team_id: m.team_id.map(|t| t.0),
            language: m.language.code().to_owned(),
            signature: m.signature.clone(),
            imap: m.imap.as_ref().and_then(|i| serde_json::to_value(i).ok()),
            outbound_route: m.outbound_route.clone(),
            active: m.active,
            created_at: m.created_at.to_string(),
            updated_at: m.updated_at.to_string(),
        }
    }
}

/// An IMAP account of a mailbox.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImapIn {
    /// Host.
    pub host: String,
    /// Port (993 for `tls`, 143 for `starttls`).
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// Login.
    pub username: String,
    /// Folder to poll.
    #[serde(default = "inbox")]
    pub folder: String,
    /// Move processed mail to this folder; without it, processed mail is flagged `\\Seen`.
    #[serde(default)]
    pub move_to: Option<String>,
}

fn inbox() -> String {
    "INBOX".to_owned()
}

fn default_route() -> String {
    "default".to_owned()
}

/// Create a mailbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMailbox {
    /// Address.
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// Team of new cases.
    #[serde(default)]
    pub team_id: Option<uuid::Uuid>,
    /// `de` (default) or `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// Signature.
    #[serde(default)]
    pub signature: String,
    /// IMAP account.
    #[serde(default)]
    pub imap: Option<ImapIn>,
    /// Outbound route; default `default`.
    #[serde(default = "default_route")]
    pub outbound_route: String,
}

/// Change a mailbox; absent fields stay, `null` clears `team_id` and `imap`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMailbox {
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Team.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<Option<uuid::Uuid>>,
    /// Language.
    #[serde(default)]
    pub language: Option<String>,
    /// Signature.
    #[serde(default)]
    pub signature: Option<String>,
    /// IMAP account.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<ImapIn>)]
    pub imap: Option<Option<ImapIn>>,
    /// Outbound route.
    #[serde(default)]
    pub outbound_route: Option<String>,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
}

/// An event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Global sequence number.
    pub seq: i64,
    /// Id.
    pub id: uuid::Uuid,
    /// When.
    pub at: String,
    /// Who.
    #[schema(value_type = Object)]
    pub actor: serde_json::Value,
    /// Case.
    pub case_id: Option<uuid::Uuid>,
    /// Customer.
    pub customer_id: Option<uuid::Uuid>,
    /// Type, e.g. `status_changed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's data (includes `type`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<&Event> for EventDto {
    fn from(e: &Event) -> Self {
        Self {
            seq: e.seq,
            id: e.id,
            at: e.at.to_string(),
            actor: serde_json::to_value(&e.actor).unwrap_or_default(),
            case_id: e.case_id.map(|c| c.0),
            customer_id: e.customer_id.map(|c| c.0),
            kind: e.kind.type_name().to_owned(),
            data: serde_json::to_value(&e.kind).unwrap_or_default(),
        }
    }
}

/// A case with its customer and whole timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseDto,
    /// Its customer.
    pub customer: CustomerDto,
    /// Contacts in order (internal notes included for agents).
    pub contacts: Vec<ContactDto>,
    /// Events in order.
    pub events: Vec<EventDto>,
}

/// The result of adding a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactAdded {
    /// The case holding the contact (a new follow-up case when the original was closed).
    pub case: CaseDto,
    /// The contact.
    pub contact: ContactDto,
    /// Set when the contact opened a follow-up case for this closed case.
    pub follow_up_of: Option<uuid::Uuid>,
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    /// Cases, newest first.
    pub items: Vec<CaseDto>,
    /// Pass as `cursor` to get the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// Customers, newest first.
    pub items: Vec<CustomerDto>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// A team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Created.
    pub created_at: String,
    /// How it hands out new cases.
    pub assignment: TeamAssignmentDto,
}

impl From<&Team> for TeamDto {
    fn from(t: &Team) -> Self {
        Self {
            id: t.id.0,
            name: t.name.clone(),
            description: t.description.clone(),
            created_at: t.created_at.to_string(),
            assignment: via_json(&t.assignment),
        }
    }
}

/// Create a team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// Unique name.
    pub name: String,
    /// What it handles.
    #[serde(default)]
    pub description: String,
}

/// An agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    #[schema(value_type = RoleSchema)]
    pub role: String,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    #[schema(value_type = Vec<LanguageSchema>)]
    pub languages: Vec<String>,
    /// UI language.
    #[schema(value_type = LanguageSchema)]
    pub ui_language: String,
    /// Time zone.
    pub time_zone: String,
    /// Teams.
    pub teams: Vec<uuid::Uuid>,
    /// Active.
    pub active: bool,
    /// Available for automatic assignment (`false`: away).
    pub available: bool,
    /// Own limit of open cases for automatic assignment (`null`: the team's).
    pub max_open: Option<u32>,
    /// Created.
    pub created_at: String,
}

impl From<&Agent> for AgentDto {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.0,
            email: a.email.to_string(),
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            skills: a.skills.clone(),
            languages: a.languages.iter().map(|l| l.code().to_owned()).collect(),
            ui_language: a.ui_language.code().to_owned(),
            time_zone: a.time_zone.as_str().to_owned(),
            teams: a.teams.iter().map(|t| t.0).collect(),
            active: a.active,
            available: a.available,
            max_open: a.max_open,
            created_at: a.created_at.to_string(),
        }
    }
}

/// Create an agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// Login address.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role (default `agent`).
    #[schema(value_type = Option<RoleSchema>)]
    pub role: Option<String>,
    /// Initial password (10+ characters); without one the agent cannot sign in yet.
    pub password: Option<String>,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Languages (default `de`).
    #[serde(default)]
    #[schema(value_type = Vec<LanguageSchema>)]
    pub languages: Vec<String>,
    /// UI language (default `de`).
    #[schema(value_type = Option<LanguageSchema>)]
    pub ui_language: Option<String>,
    /// Time zone (default Europe/Berlin).
    pub time_zone: Option<String>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<uuid::Uuid>,
}

/// Change an agent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// Name.
    pub name: Option<String>,
    /// Role (admins only).
    #[schema(value_type = Option<RoleSchema>)]
    pub role: Option<String>,
    /// New password (own, or admins for anyone).
    pub password: Option<String>,
    /// Current password, needed to change your own.
    pub current_password: Option<String>,
    /// Skills.
    pub skills: Option<Vec<String>>,
    /// Languages.
    #[schema(value_type = Option<Vec<LanguageSchema>>)]
    pub languages: Option<Vec<String>>,
    /// UI language.
    #[schema(value_type = Option<LanguageSchema>)]
    pub ui_language: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// Teams (admins only).
    pub teams: Option<Vec<uuid::Uuid>>,
    /// Active (admins only).
    pub active: Option<bool>,
    /// Available for automatic assignment (`false`: away). Agents set their own.
    pub available: Option<bool>,
    /// Most open cases automatic assignment gives this agent (`null`: the team's limit;
    /// admins only).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub max_open: Option<Option<u32>>,
}

/// Sign in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Agent email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A new token: the secret is shown only here, once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenDto {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token's record.
    pub info: TokenDto,
}

/// A token's record (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Owner.
    pub agent_id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Scopes: read, write, admin.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: String,
    /// Expires.
    pub expires_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
}

impl From<&TokenInfo> for TokenDto {
    fn from(t: &TokenInfo) -> Self {
        Self {
            id: t.id,
            agent_id: t.agent_id.0,
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.map(|e| e.to_string()),
            revoked_at: t.revoked_at.map(|e| e.to_string()),
        }
    }
}

/// Create a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for.
    pub name: String,
    /// Scopes (default read, write); never more than the caller has. `customer:<id>` alone
    /// makes a token that searches (and later sees in the portal) only that customer's cases.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// For another agent (admins only).
    pub agent_id: Option<uuid::Uuid>,
    /// Lifetime in days (default: no expiry).
    pub expires_in_days: Option<u32>,
}

/// A job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Handler.
    pub kind: String,
    /// Input.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// pending, running, done or dead.
    pub status: String,
    /// Due.
    pub run_at: String,
    /// Attempts made.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Last failure.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: String,
}

impl From<&Job> for JobDto {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind.clone(),
            payload: j.payload.clone(),
            status: j.status.as_str().to_owned(),
            run_at: j.run_at.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            created_at: j.created_at.to_string(),
        }
    }
}

/// Converts between a domain type and its documented mirror (same serde form).
pub(crate) fn via_json<A: Serialize, B: serde::de::DeserializeOwned + Default>(a: &A) -> B {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// A team's assignment settings.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamAssignmentDto {
    /// `manual` (the team queue), `round_robin` or `least_loaded`.
    pub mode: String,
    /// Most open cases per agent (an agent's own limit wins).
    pub max_open: u32,
    /// Skills preferred for this team's cases.
    #[serde(default)]
    pub skills: Vec<String>,
}

/// Conditions of a routing rule: every list given must hold (an empty list always holds).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionsDto {
    /// Channels (`email`, `form`, `portal`, `phone`, `chat`, `api`).
    pub channels: Vec<String>,
    /// Languages (`de`, `en`).
    pub languages: Vec<String>,
    /// Topics: the form's topic, or a kind of problem in the text (`missing`, `damaged`,
    /// `wrong_item`, `refund`, `return`, `invoice`, `payment`, `voucher`, `address`, `cancel`,
    /// `account`, `fraud`, `price`, `callback`, `customs`, `warranty`, `size`).
    pub topics: Vec<String>,
    /// Organisations.
    pub organisation_ids: Vec<uuid::Uuid>,
    /// Customer tiers (`premium`).
    pub tiers: Vec<String>,
    /// Words or phrases in subject or text (any; umlauts fold).
    pub keywords: Vec<String>,
    /// Mailboxes.
    pub mailbox_ids: Vec<uuid::Uuid>,
}

/// A routing rule.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct RoutingRuleDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Position: lower first.
    pub position: i64,
    /// Name.
    pub name: String,
    /// Switched on.
    pub active: bool,
    /// When it applies.
    pub conditions: ConditionsDto,
    /// Team it sends the case to.
    pub team_id: Option<uuid::Uuid>,
    /// Priority it sets.
    #[schema(value_type = Option<PrioritySchema>)]
    pub priority: Option<String>,
}

/// A new or changed routing rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRoutingRule {
    /// Position: lower first (default: after the last).
    pub position: Option<i64>,
    /// Name.
    pub name: String,
    /// Switched on (new rules: default true; changes: unchanged when absent).
    pub active: Option<bool>,
    /// When it applies.
    #[serde(default)]
    pub conditions: ConditionsDto,
    /// Team to send the case to.
    pub team_id: Option<uuid::Uuid>,
    /// Priority to set.
    #[schema(value_type = Option<PrioritySchema>)]
    pub priority: Option<String>,
}

/// Concern matching settings.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchSettingsDto {
    /// Match repeat contacts at all.
    pub enabled: bool,
    /// Near-duplicates only within this many days (0–365, default 30).
    pub window_days: i64,
    /// The matcher's score (0–1, default 0.5) from which a contact joins an earlier concern:
    /// higher joins fewer contacts wrongly and lets more repeats open cases of their own.
    pub min_score: f64,
    /// Share of word stems (0–1, default 0.9) from which a contact is a near-duplicate of an
    /// earlier one (the same form sent again) and joins it whatever the score says.
    pub near_duplicate: f64,
    /// Tell the customer "we already have your concern" on a repeat by mail.
    pub acknowledge_repeats: bool,
}

/// One escalation tier.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierDto {
    /// Name ("Fachteam Verlage").
    pub name: String,
    /// Team that takes the case over (`null`: it stays; supervisors are told).
    pub team_id: Option<uuid::Uuid>,
    /// Priority at least this high.
    #[schema(value_type = PrioritySchema)]
    pub priority: String,
    /// Tell supervisors and admins.
    pub notify_supervisors: bool,
}

/// Escalation settings.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettingsDto {
    /// Escalate on this repeat contact (2: the third contact about one concern); 0: never.
    pub after_repeats: u32,
    /// Escalate on words of urgency or anger.
    pub on_keywords: bool,
    /// German words and phrases.
    pub keywords_de: Vec<String>,
    /// English words and phrases.
    pub keywords_en: Vec<String>,
    /// Escalate on an overdue promise.
    pub on_overdue_promise: bool,
    /// Escalate on an SLA breach.
    pub on_sla_breach: bool,
    /// Tiers, lowest first (none: one tier, the supervisors, at high priority).
    pub tiers: Vec<TierDto>,
}

/// An inbound contact whose case Anliegen finds (or opens): a logged phone call, a form, a
/// chat transcript, a message from another system.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundContact {
    /// Who: exactly one of id, email, phone, identity.
    pub customer: CaseCustomer,
    /// `phone`, `form`, `portal`, `chat`, `api` (default) or `email`.
    pub channel: Option<String>,
    /// Subject, where the channel has one.
    #[serde(default)]
    pub subject: String,
    /// What the customer said or wrote (for a call: the summary).
    pub text: String,
    /// A case reference the customer gave in a field (`A-10042`).
    pub case_reference: Option<String>,
    /// The topic chosen in a form (routing).
    pub topic: Option<String>,
}

/// Where an inbound contact went, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedContact {
    /// The case that holds it now (absent when the caller's role may not see that case).
    pub case: Option<CaseDto>,
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// Whether a case was opened for it.
    pub new_case: bool,
    /// The rule that decided (`{"rule": …}`), as recorded on the contact (`{"rule": "hidden"}`
    /// when the caller may not see the case).
    #[schema(value_type = Object)]
    pub reason: serde_json::Value,
    /// The rule in words.
    pub reason_text: String,
}

/// An agent escalates a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateCase {
    /// Why (shown in the hand-off summary).
    pub reason: String,
}

/// An identity offered for linking.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityOfferDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Case it came in on.
    pub case_id: uuid::Uuid,
    /// The case's customer when offered.
    pub customer_id: uuid::Uuid,
    /// The identity.
    pub identity: IdentityDto,
    /// The contact it came with.
    pub contact_id: uuid::Uuid,
    /// When.
    pub created_at: String,
    /// `open`, `linked` or `declined`.
    pub state: String,
}

/// A customer that may be the same person or business.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeSuggestionDto {
    /// The other customer.
    pub customer_id: uuid::Uuid,
    /// Their name.
    pub name: String,
    /// What both share besides the name.
    pub evidence: Vec<String>,
}
