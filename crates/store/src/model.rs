//! What goes into the store and what comes out: write commands, filters, pages and records
//! that are not domain objects of their own (tokens, jobs, idempotency records).

use std::collections::BTreeMap;
use std::sync::Arc;

use anliegen_core::mail::{Delivery, ImapAccount, MailDetails};
use anliegen_core::{
    Actor, AgentId, CaseId, CaseStatus, Channel, ContactId, CustomerId, Direction, EmailAddress,
    Identity, Language, MailboxId, OrganisationId, Priority, Role, SanitisedHtml, Tag, TeamId,
    Tier, TimeZoneName, Visibility,
};
use jiff::Timestamp;

/// One change, as the writer receives it: who, what, which jobs it schedules (written in the
/// same transaction: the outbox) and, for API requests, the idempotency claim.
pub struct Write {
    /// Who causes it.
    pub actor: Actor,
    /// What to change.
    pub command: Command,
    /// Jobs to enqueue in the same transaction.
    pub jobs: Vec<NewJob>,
    /// The request's idempotency key, stored with its response in the same transaction.
    pub idempotency: Option<IdempotencyClaim>,
}

impl Write {
    /// A write with no jobs and no idempotency key.
    pub fn new(actor: Actor, command: Command) -> Self {
        Self {
            actor,
            command,
            jobs: Vec::new(),
            idempotency: None,
        }
    }
}

/// Turns a command's output into the response stored for replays.
pub type Renderer = Arc<dyn Fn(&Output) -> StoredResponse + Send + Sync>;

/// An `Idempotency-Key` as the writer sees it.
#[derive(Clone)]
pub struct IdempotencyClaim {
    /// Whose key it is (the token id): keys of different tokens never meet.
    pub scope: String,
    /// The key as sent.
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
    /// Makes the response to keep.
    pub render: Renderer,
}

/// A response kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// SHA-256 of the request that produced it.
    pub request_hash: String,
}

/// Everything that changes state goes through one of these.
#[derive(Debug, Clone)]
pub enum Command {
    /// Create a customer with identities.
    CreateCustomer(NewCustomer),
    /// Change a customer's details.
    UpdateCustomer {
        /// Which.
        id: CustomerId,
        /// What.
        patch: CustomerPatch,
    },
    /// Link one more identity.
    AddIdentity {
        /// Which customer.
        customer_id: CustomerId,
        /// The identity.
        identity: Identity,
    },
    /// Merge `source` into `target`: identities and cases move, `source` points to `target`.
    MergeCustomers {
        /// Merged away.
        source: CustomerId,
        /// Survives.
        target: CustomerId,
    },
    /// Create an organisation.
    CreateOrganisation {
        /// Its name.
        name: String,
    },
    /// Open a case with its first contact.
    OpenCase(Box<NewCase>),
    /// Change a case's status, priority, team, assignee, tags, fields or subject.
    UpdateCase {
        /// Which.
        id: CaseId,
        /// What.
        patch: CasePatch,
    },
    /// Add a contact (reply, note, customer message) to a case.
    AddContact {
        /// Which case.
        case_id: CaseId,
        /// The contact.
        contact: NewContact,
        /// Status to set afterwards (agent replies), checked against the lifecycle.
        status_after: Option<CaseStatus>,
    },
    /// Create a team.
    CreateTeam {
        /// Unique name.
        name: String,
        /// What it does.
        description: String,
    },
    /// Create an agent.
    CreateAgent(NewAgent),
    /// Change an agent.
    UpdateAgent {
        /// Which.
        id: AgentId,
        /// What.
        patch: AgentPatch,
    },
    /// Create an API token (the hash only; the secret never reaches the store).
    CreateToken(NewToken),
    /// Revoke a token.
    RevokeToken {
        /// Which.
        id: uuid::Uuid,
    },
    /// Set a value in the store's meta table (demo marker, first-start flags).
    SetMeta {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// Only enqueue the write's jobs.
    EnqueueOnly,
    /// Create a mailbox.
    CreateMailbox(NewMailbox),
    /// Change a mailbox.
    UpdateMailbox {
        /// Which.
        id: MailboxId,
        /// What.
        patch: MailboxPatch,
    },
    /// Store an inbound mail once: its raw bytes, its contact on the case chosen by threading
    /// (or a new case), and its Message-ID for later threading. A mail whose intake key was
    /// stored before changes nothing and yields [`Output::MailDuplicate`].
    IntakeMail(Box<IntakeMail>),
    /// Create a macro.
    CreateMacro(NewMacro),
    /// Change a macro (every field given).
    UpdateMacro {
        /// Which.
        id: anliegen_core::MacroId,
        /// Its new content.
        m: NewMacro,
    },
    /// Apply a macro's case changes to a case (its text goes to the agent's composer).
    ApplyMacro {
        /// The case.
        case_id: CaseId,
        /// The macro.
        macro_id: anliegen_core::MacroId,
    },
    /// Add a tag to the catalogue or change its description.
    DefineTag {
        /// The tag.
        name: Tag,
        /// What it is for.
        description: String,
    },
    /// Remove a tag from the catalogue (cases keep it).
    RemoveTag {
        /// The tag.
        name: Tag,
    },
    /// Merge `source` into `target`: every contact moves, `source` is closed and redirects.
    MergeCases {
        /// Merged away.
        source: CaseId,
        /// Survives.
        target: CaseId,
    },
    /// Undo the merge of `source` (supervisors).
    UnmergeCase {
        /// The merged-away case.
        source: CaseId,
    },
    /// Move one contact into a new case of its own (same customer).
    SplitContact {
        /// The contact.
        contact_id: ContactId,
    },
    /// Undo the split that made `case_id` (supervisors).
    UndoSplit {
        /// The split-off case.
        case_id: CaseId,
    },
    /// Store an inbound contact (not mail) where concern matching sent it: onto an existing
    /// case (a closed one opens a follow-up) or into a new case. Yields [`Output::Contact`].
    Inbound(Box<MailTarget>),
    /// Create or change a routing rule (by its id).
    SaveRoutingRule(Box<anliegen_core::routing::RoutingRule>),
    /// Delete a routing rule.
    DeleteRoutingRule {
        /// Which.
        id: anliegen_core::RuleId,
    },
    /// Set an admin setting (`matching`, `escalation`), validated by the caller.
    SetSetting {
        /// Which.
        key: String,
        /// Its value.
        value: serde_json::Value,
    },
    /// Record a promise on a case (the caller enqueues its reminder and overdue jobs).
    MakePromise(Box<anliegen_core::promise::Promise>),
    /// Mark a promise kept.
    KeepPromise {
        /// Which.
        id: anliegen_core::PromiseId,
        /// What was done.
        note: String,
    },
    /// Withdraw a promise.
    CancelPromise {
        /// Which.
        id: anliegen_core::PromiseId,
        /// Why.
        reason: String,
    },
    /// A promise's scheduled moment came (from its job): remind the owner (`overdue` false) or
    /// mark it overdue. Nothing happens when it is no longer open.
    PromiseDue {
        /// Which.
        id: anliegen_core::PromiseId,
        /// Overdue (else: due soon).
        overdue: bool,
    },
    /// An SLA target's warning or breach moment came (from the sweep): recorded once per
    /// metric run, as an event; nothing happens the second time.
    SlaMark {
        /// The case.
        case_id: CaseId,
        /// Which target.
        metric: anliegen_core::sla::SlaMetric,
        /// Breached (else: warning).
        breach: bool,
        /// When this run of the metric started.
        started_at: Timestamp,
        /// When the target runs out.
        due_at: Timestamp,
    },
    /// A timer rule is about to act on a case for the moment `anchor`: recorded once; the
    /// second time nothing happens (`Output::Recorded(false)`).
    AutomationRun {
        /// The rule.
        rule_id: uuid::Uuid,
        /// The case.
        case_id: CaseId,
        /// The moment the timer counted from (µs).
        anchor: i64,
    },
    /// Change a team's assignment settings.
    SetTeamAssignment {
        /// The team.
        team_id: TeamId,
        /// Its settings.
        assignment: anliegen_core::routing::TeamAssignment,
    },
    /// Escalate a case to the next tier.
    EscalateCase(Box<Escalation>),
    /// Link (or decline) an identity offered on a case.
    ResolveIdentityOffer {
        /// The offer.
        offer_id: uuid::Uuid,
        /// Link it to the case's customer.
        accept: bool,
    },
    /// Hand the oldest unassigned open cases of a team to its agents who have room now (after
    /// an agent came back or closed cases), by the team's assignment settings.
    AssignWaiting {
        /// The team.
        team_id: TeamId,
        /// At most this many cases.
        limit: i64,
    },
    /// Undo the merge of a customer: its identities and cases go back.
    UnmergeCustomer {
        /// The customer that was merged away.
        source: CustomerId,
    },
    /// Record the delivery state of an outbound mail (and an event when it was sent or failed).
    SetDelivery {
        /// The outbound contact.
        contact_id: ContactId,
        /// Its new state.
        delivery: Delivery,
    },
}

/// An escalation, decided and summarised by the caller.
#[derive(Debug, Clone)]
pub struct Escalation {
    /// The case.
    pub case_id: CaseId,
    /// The tier reached (1 = first); the store refuses to go to a level the case has already.
    pub level: i64,
    /// The tier.
    pub tier: anliegen_core::escalation::Tier,
    /// Why.
    pub trigger: anliegen_core::escalation::Trigger,
    /// The hand-off summary (stored in the event and as an internal note).
    pub summary: String,
}

/// A macro's content.
#[derive(Debug, Clone, Default)]
pub struct NewMacro {
    /// Unique name.
    pub name: String,
    /// German text (placeholders checked).
    pub body_de: String,
    /// English text.
    pub body_en: String,
    /// Case changes.
    pub actions: anliegen_core::MacroActions,
    /// Offered to agents.
    pub active: bool,
}

/// An inbound mail, parsed and threaded, ready to store.
#[derive(Debug, Clone)]
pub struct IntakeMail {
    /// Idempotency key (Message-ID plus content digest, or a digest of the whole message).
    pub key: String,
    /// The raw message, stored as a blob.
    pub raw: Arc<Vec<u8>>,
    /// SHA-256 of `raw`, hex (the parser computed it already; the single writer does not
    /// hash again).
    pub raw_hash: String,
    /// Where it goes.
    pub target: MailTarget,
}

/// Where an inbound mail goes.
#[derive(Debug, Clone)]
pub enum MailTarget {
    /// Onto an existing case (a closed one opens a follow-up).
    Case {
        /// Which case.
        case_id: CaseId,
        /// The contact (its `mail` holds the details).
        contact: Box<NewContact>,
    },
    /// A new case.
    NewCase(Box<NewCase>),
}

/// A new mailbox.
#[derive(Debug, Clone)]
pub struct NewMailbox {
    /// Address.
    pub address: EmailAddress,
    /// Display name.
    pub display_name: String,
    /// Team for new cases.
    pub team_id: Option<TeamId>,
    /// Language of automatic mails.
    pub language: Language,
    /// Signature.
    pub signature: String,
    /// IMAP account.
    pub imap: Option<ImapAccount>,
    /// Outbound route.
    pub outbound_route: String,
}

/// Changes to a mailbox; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct MailboxPatch {
    /// Display name.
    pub display_name: Option<String>,
    /// Team (`Some(None)`: none).
    pub team_id: Option<Option<TeamId>>,
    /// Language.
    pub language: Option<Language>,
    /// Signature.
    pub signature: Option<String>,
    /// IMAP account (`Some(None)`: none).
    pub imap: Option<Option<ImapAccount>>,
    /// Outbound route.
    pub outbound_route: Option<String>,
    /// Active.
    pub active: Option<bool>,
}

/// An identity that came in on a known case, offered for linking to the case's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityOffer {
    /// Its id.
    pub id: uuid::Uuid,
    /// The case.
    pub case_id: CaseId,
    /// The customer of the case when it was offered.
    pub customer_id: CustomerId,
    /// The identity.
    pub identity: Identity,
    /// The contact it came with.
    pub contact_id: ContactId,
    /// When.
    pub created_at: Timestamp,
    /// `None`: open; `Some(true)`: linked; `Some(false)`: declined.
    pub accepted: Option<bool>,
}

/// Another customer that may be the same person or business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSuggestion {
    /// The other customer.
    pub customer_id: CustomerId,
    /// Their name.
    pub name: String,
    /// What both share besides the name (order, tracking numbers, IBANs in their messages).
    pub evidence: Vec<String>,
}

/// A Message-ID we know, and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailThreadHit {
    /// The Message-ID.
    pub message_id: String,
    /// Its case.
    pub case_id: CaseId,
    /// Its contact.
    pub contact_id: ContactId,
    /// Whether we received it or sent it.
    pub direction: Direction,
}

impl Command {
    /// A new case or inbound mail: the commands a batch applies from buffered rows (the rest
    /// read and write the database directly).
    pub fn is_intake(&self) -> bool {
        matches!(self, Command::OpenCase(_) | Command::IntakeMail(_))
    }

    /// The byte buffers this command stores as blobs (attachments, raw mail).
    pub fn blobs(&self) -> Vec<&Arc<Vec<u8>>> {
        let contact = match self {
            Command::OpenCase(nc) => &nc.contact,
            Command::AddContact { contact, .. } => contact,
            Command::Inbound(t) => match &**t {
                MailTarget::Case { contact, .. } => contact,
                MailTarget::NewCase(nc) => &nc.contact,
            },
            Command::IntakeMail(m) => {
                let contact = match &m.target {
                    MailTarget::Case { contact, .. } => contact,
                    MailTarget::NewCase(nc) => &nc.contact,
                };
                return std::iter::once(&m.raw)
                    .chain(contact.attachments.iter().map(|a| &a.data))
                    .collect();
            }
            _ => return Vec::new(),
        };
        contact.attachments.iter().map(|a| &a.data).collect()
    }
}

/// A new customer.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Display name.
    pub name: Option<String>,
    /// Organisation.
    pub organisation_id: Option<OrganisationId>,
    /// Language.
    pub language: Option<Language>,
    /// Time zone.
    pub time_zone: Option<TimeZoneName>,
    /// Tier.
    pub tier: Tier,
    /// Notes.
    pub notes: String,
    /// Identities (at least one is usual, none is allowed).
    pub identities: Vec<Identity>,
}

/// Changes to a customer; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    /// Display name.
    pub name: Option<Option<String>>,
    /// Organisation.
    pub organisation_id: Option<Option<OrganisationId>>,
    /// Language.
    pub language: Option<Option<Language>>,
    /// Time zone.
    pub time_zone: Option<Option<TimeZoneName>>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Notes.
    pub notes: Option<String>,
}

/// Whose case: a known customer, or whoever owns an identity (created if new).
#[derive(Debug, Clone)]
pub enum CustomerRef {
    /// A known customer.
    Id(CustomerId),
    /// Find by identity, or create a customer with it.
    Identity {
        /// The identity.
        identity: Identity,
        /// Name for a new customer.
        name: Option<String>,
        /// Language for a new customer (otherwise detected from the text).
        language: Option<Language>,
    },
    /// A new customer without any identity (a mail without a readable sender).
    New {
        /// Name, if known.
        name: Option<String>,
    },
}

/// A new case and its first contact.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Whose concern.
    pub customer: CustomerRef,
    /// Subject.
    pub subject: String,
    /// Priority.
    pub priority: Priority,
    /// Team.
    pub team_id: Option<TeamId>,
    /// Assignee.
    pub assignee_id: Option<AgentId>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Custom fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Language of the conversation, as the caller detected it from the first contact (language
    /// detection is CPU work that belongs in the request, not in the single writer).
    pub language: Option<Language>,
    /// The first contact.
    pub contact: NewContact,
    /// The routing rule that chose team and priority (recorded as an event).
    pub routed_by: Option<(anliegen_core::RuleId, String)>,
    /// Let the team's assignment settings choose an agent (when no assignee is given).
    pub auto_assign: bool,
}

/// A new contact.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Channel.
    pub channel: Channel,
    /// Direction.
    pub direction: Direction,
    /// Visibility.
    pub visibility: Visibility,
    /// Subject, where the channel has one.
    pub subject: Option<String>,
    /// Text.
    pub text: String,
    /// Sanitised HTML.
    pub html: Option<SanitisedHtml>,
    /// Files.
    pub attachments: Vec<NewAttachment>,
    /// Mail details (mail contacts only).
    pub mail: Option<Box<MailDetails>>,
    /// Why it goes to its case (concern matching of inbound contacts; recorded with an event).
    pub concern: Option<anliegen_core::resolve::ConcernMatch>,
    /// A sender identity nobody owns yet that came in on a known case: offered to an agent for
    /// linking, never linked silently.
    pub offer_identity: Option<Identity>,
    /// A logged phone call.
    pub call: Option<Box<anliegen_core::Call>>,
}

impl NewContact {
    /// A contact of text only (no subject, files, mail details or call).
    pub fn plain(
        channel: Channel,
        direction: Direction,
        visibility: Visibility,
        text: String,
    ) -> Self {
        Self {
            channel,
            direction,
            visibility,
            subject: None,
            text,
            html: None,
            attachments: Vec::new(),
            mail: None,
            concern: None,
            offer_identity: None,
            call: None,
        }
    }
}

/// A file to store with a contact.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// File name (already cleaned).
    pub filename: String,
    /// Media type as declared.
    pub content_type: String,
    /// `Content-ID` of an inline part, without brackets.
    pub content_id: Option<String>,
    /// Its bytes.
    pub data: Arc<Vec<u8>>,
}

/// Changes to a case; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    /// New status (checked against the lifecycle).
    pub status: Option<CaseStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New team (`Some(None)`: no team).
    pub team_id: Option<Option<TeamId>>,
    /// New assignee (`Some(None)`: unassigned).
    pub assignee_id: Option<Option<AgentId>>,
    /// Tags to add.
    pub add_tags: Vec<Tag>,
    /// Tags to remove.
    pub remove_tags: Vec<Tag>,
    /// Fields to set (`null` clears).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// New subject.
    pub subject: Option<String>,
}

/// A new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Login address.
    pub email: anliegen_core::EmailAddress,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string; `None`: cannot sign in with a password.
    pub password_hash: Option<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    pub languages: Vec<Language>,
    /// UI language.
    pub ui_language: Language,
    /// Time zone.
    pub time_zone: TimeZoneName,
    /// Teams.
    pub teams: Vec<TeamId>,
}

/// Changes to an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: Option<Role>,
    /// New argon2id hash.
    pub password_hash: Option<String>,
    /// Skills.
    pub skills: Option<Vec<String>>,
    /// Languages.
    pub languages: Option<Vec<Language>>,
    /// UI language.
    pub ui_language: Option<Language>,
    /// Time zone.
    pub time_zone: Option<TimeZoneName>,
    /// Teams.
    pub teams: Option<Vec<TeamId>>,
    /// Active.
    pub active: Option<bool>,
    /// Available for automatic assignment (online) or away.
    pub available: Option<bool>,
    /// Own limit of open cases (`Some(None)`: the team's).
    pub max_open: Option<Option<u32>>,
}

/// A new API token.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Owner.
    pub agent_id: AgentId,
    /// What it is for.
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Expiry; `None` never.
    pub expires_at: Option<Timestamp>,
}

/// A stored API token, without its secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: uuid::Uuid,
    /// Owner.
    pub agent_id: AgentId,
    /// What it is for.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// Revoked at.
    pub revoked_at: Option<Timestamp>,
}

/// How one agent keeps promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseStats {
    /// The owner.
    pub owner_id: AgentId,
    /// Kept by the due time.
    pub kept_on_time: i64,
    /// Kept after the due time.
    pub kept_late: i64,
    /// Open and past the due time.
    pub open_overdue: i64,
    /// Open, not due yet.
    pub open: i64,
    /// Withdrawn.
    pub cancelled: i64,
}

impl PromiseStats {
    /// Promises kept on time, in percent of those that came due (kept, or open and overdue);
    /// `None` before any came due.
    pub fn kept_on_time_percent(&self) -> Option<f64> {
        let due = self.kept_on_time + self.kept_late + self.open_overdue;
        (due > 0).then(|| 100.0 * self.kept_on_time as f64 / due as f64)
    }
}

/// What a command produced.
#[derive(Debug, Clone)]
pub enum Output {
    /// A customer.
    Customer(Box<anliegen_core::Customer>),
    /// An organisation.
    Organisation(anliegen_core::Organisation),
    /// A case.
    Case(Box<anliegen_core::Case>),
    /// A contact, the case it landed on, and whether that case was opened as a follow-up.
    Contact {
        /// The case that holds the contact now (the follow-up, if one was opened).
        case: Box<anliegen_core::Case>,
        /// The contact.
        contact: Box<anliegen_core::Contact>,
        /// The closed case the follow-up was opened for.
        follow_up_of: Option<CaseId>,
    },
    /// A team.
    Team(anliegen_core::Team),
    /// An agent.
    Agent(Box<anliegen_core::Agent>),
    /// A token.
    Token(TokenInfo),
    /// A mailbox.
    Mailbox(Box<anliegen_core::Mailbox>),
    /// A macro.
    Macro(Box<anliegen_core::Macro>),
    /// The mail was stored before: nothing changed.
    MailDuplicate {
        /// Its case.
        case_id: CaseId,
        /// Its contact.
        contact_id: ContactId,
    },
    /// A routing rule.
    RoutingRule(Box<anliegen_core::routing::RoutingRule>),
    /// A promise.
    Promise(Box<anliegen_core::promise::Promise>),
    /// Whether something was recorded.
    Recorded(bool),
    /// Nothing to show.
    Unit,
}

/// Filters for listing cases.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Any of these statuses (empty: any).
    pub status: Vec<CaseStatus>,
    /// This team.
    pub team_id: Option<TeamId>,
    /// Any of these teams (empty: no condition).
    pub team_ids: Vec<TeamId>,
    /// This assignee; `Some(None)`: unassigned.
    pub assignee_id: Option<Option<AgentId>>,
    /// This customer.
    pub customer_id: Option<CustomerId>,
    /// Carrying this tag.
    pub tag: Option<Tag>,
    /// Opened on this channel.
    pub channel: Option<Channel>,
    /// This priority.
    pub priority: Option<Priority>,
    /// Only unsolved cases (new, open, waiting) or only solved and closed ones.
    pub unsolved: Option<bool>,
    /// Only cases this agent may see: of these teams, without a team, or assigned to them.
    pub visible_to: Option<(AgentId, Vec<TeamId>)>,
}

/// How a queue is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueOrder {
    /// What is due first: priority, then the oldest unanswered customer contact.
    #[default]
    Due,
    /// Most recently changed first (recently solved).
    RecentlyUpdated,
    /// Newest first.
    Newest,
    /// The earliest SLA due time first (cases without one last).
    SlaDue,
}

/// An agent's unsent reply or note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// `reply` or `note`.
    pub kind: String,
    /// The text.
    pub body: String,
    /// When it was saved.
    pub updated_at: Timestamp,
}

/// An agent's saved queue filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// Its id.
    pub id: uuid::Uuid,
    /// Whose.
    pub agent_id: AgentId,
    /// Its name.
    pub name: String,
    /// The queue's query string (`view=team&tag=…`).
    pub query: String,
    /// When it was saved.
    pub created_at: Timestamp,
}

/// Keyset position in a list sorted newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time (µs) of the last item seen.
    pub created_us: i64,
    /// Its id, to break ties.
    pub id: uuid::Uuid,
}

impl Cursor {
    /// Opaque text form for APIs.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_us, self.id.simple())
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(raw: &str) -> Option<Self> {
        let (t, id) = raw.split_once('.')?;
        Some(Self {
            created_us: t.parse().ok()?,
            id: uuid::Uuid::parse_str(id).ok()?,
        })
    }
}

/// One page of a list and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where to continue; `None` on the last page.
    pub next: Option<Cursor>,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Handler name.
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// At most one job with this key ever exists (one per occurrence for schedules).
    pub dedupe_key: Option<String>,
    /// Not before; `None`: now.
    pub run_at: Option<Timestamp>,
    /// Attempts before it becomes a dead letter.
    pub max_attempts: i64,
}

impl NewJob {
    /// A job of `kind` with `payload`, five attempts, due now.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            dedupe_key: None,
            run_at: None,
            max_attempts: 5,
        }
    }

    /// With a dedupe key.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Due at `at`.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.run_at = Some(at);
        self
    }

    /// With at most `n` attempts.
    pub fn attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting to run (maybe for a retry).
    Pending,
    /// Claimed by a worker that holds the lease.
    Running,
    /// Finished.
    Done,
    /// Failed every attempt; kept for an admin to look at and retry.
    Dead,
}

impl JobStatus {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    /// Its id.
    pub id: uuid::Uuid,
    /// Handler name.
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// Dedupe key.
    pub dedupe_key: Option<String>,
    /// Status.
    pub status: JobStatus,
    /// Due.
    pub run_at: Timestamp,
    /// Attempts made, including a running one.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Lease holder's token while running.
    #[serde(skip)]
    pub lease_token: Option<String>,
    /// Lease end while running.
    pub lease_until: Option<Timestamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: Timestamp,
}

/// Job counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobCounts {
    /// Pending and due or not yet due.
    pub pending: i64,
    /// Running.
    pub running: i64,
    /// Dead letters.
    pub dead: i64,
    /// Done.
    pub done: i64,
}

/// Agent with its sign-in secret, for authentication only.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    /// The agent.
    pub agent: anliegen_core::Agent,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
}

/// An agent's notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: uuid::Uuid,
    /// For whom.
    pub agent_id: AgentId,
    /// `assigned`, `mentioned`, `customer_replied`, `escalated`, `reminder`.
    pub kind: String,
    /// About which case.
    pub case_id: Option<CaseId>,
    /// Who caused it (a name).
    pub actor: String,
    /// A short excerpt (a mention's or reply's text).
    pub excerpt: String,
    /// The event it came from.
    pub seq: i64,
    /// When.
    pub created_at: Timestamp,
    /// When the agent read it.
    pub read_at: Option<Timestamp>,
}

/// The kinds of notifications, in the order settings show them. `escalated`, `reminder` and
/// `sla` come from the escalation, promise and SLA features.
pub const NOTIFICATION_KINDS: [&str; 6] = [
    "assigned",
    "mentioned",
    "customer_replied",
    "escalated",
    "reminder",
    "sla",
];

/// An agent's notification choices per kind: in the app, by mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotificationSettings {
    /// Kinds shown in the app.
    pub in_app: Vec<String>,
    /// Kinds also sent by mail.
    pub email: Vec<String>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            in_app: NOTIFICATION_KINDS.iter().map(|k| (*k).to_owned()).collect(),
            email: Vec::new(),
        }
    }
}

/// A case's SLA clock as stored, with the log batch that last wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRecord {
    /// The case.
    pub case_id: CaseId,
    /// Its clock.
    pub clock: anliegen_core::sla::SlaClock,
    /// The sequence number of the log batch that wrote it (the sweep's optimistic check).
    pub seq: i64,
}

/// A case as its SLA sees it: what chooses the policy, and the stored clock.
#[derive(Debug, Clone)]
pub struct SlaCase {
    /// The case.
    pub case_id: CaseId,
    /// Its status.
    pub status: CaseStatus,
    /// When it was opened.
    pub created_at: Timestamp,
    /// Its priority.
    pub priority: Priority,
    /// Its team.
    pub team_id: Option<TeamId>,
    /// Its first channel.
    pub channel: Channel,
    /// The customer's tier.
    pub tier: anliegen_core::Tier,
    /// The customer's organisation.
    pub organisation_id: Option<anliegen_core::OrganisationId>,
    /// The stored clock (none before the SLA projection saw the case).
    pub record: Option<SlaRecord>,
}

impl SlaCase {
    /// What the policy is chosen by.
    pub fn subject(&self) -> anliegen_core::sla::SlaSubject<'_> {
        anliegen_core::sla::SlaSubject {
            priority: self.priority,
            team_id: self.team_id,
            channel: self.channel,
            tier: &self.tier,
            organisation_id: self.organisation_id,
        }
    }
}
