// Backend code shared by SQLite and PostgreSQL. This file is `include!`d by `sqlite.rs` and
// `postgres.rs`; each defines `Db`, the backend struct `Backend` with `pool` (reads and
// side writes) and `write_pool` (the group-commit writer), and the dialect functions used below:
// `begin_write`, `next_case_number`, `lock_event_log`, `prepare_blobs`, `read_pack`,
// `CLAIM_JOBS_SQL`, `KIND`. SQL here is written once for both: `$n` parameters, `ON CONFLICT`,
// `RETURNING`, integers for times (UTC µs) and text for ids and JSON.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use anliegen_core::case::{check_field_value, parse_subject, FieldKey};
use anliegen_core::mail::Delivery;
use anliegen_core::{
    Actor, Agent, AgentId, AttachmentRef, Author, Case, CaseId, CaseRef, CaseStatus, Channel, Contact, ContactId,
    Customer, CustomerContactEffect, CustomerId, Direction, EmailAddress, Event, EventKind, Identity, IdentityKind,
    Language, Mailbox, MailboxId, Organisation, OrganisationId, Priority, Role, SanitisedHtml, Tag, Team, TeamId, Tier,
    TimeZoneName, Visibility,
};
use jiff::Timestamp;
use sqlx::Row;

use crate::blob::{BlobLocation, PreparedBlobs};
use crate::error::{Result, StoreError};
use crate::model::*;

type Conn = <Db as sqlx::Database>::Connection;

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn ts(v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn parse_id<T: FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("bad id '{s}'")))
}

fn opt_id<T: FromStr>(s: Option<&str>) -> Result<Option<T>> {
    s.map(parse_id).transpose()
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("bad JSON '{s}': {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

fn corrupt(e: anliegen_core::ParseError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The state of one batch transaction. Events are inserted together at the end, under the
/// event-log lock, so sequence numbers follow commit order. The rows of the hot path (opening
/// cases: customers, identities, cases, contacts, idempotency records) are buffered too and
/// inserted many per statement by [`flush`]; any other command flushes first, so it reads
/// everything written before it.
struct BatchCtx {
    now: Timestamp,
    events: Vec<PendingEvent>,
    blobs: PreparedBlobs,
    /// The last case number handed out in this batch, where the dialect counts in memory.
    case_number: Option<i64>,
    /// Case numbers drawn up front for this batch, where the dialect draws them from a sequence.
    case_pool: Vec<i64>,
    pending: PendingRows,
    /// Owners of the batch's identities, looked up once at its start; `None` once another
    /// command may have changed who owns what (then each lookup asks the database).
    known: Option<HashMap<Identity, (CustomerId, Option<Language>)>>,
    /// Identities created in this batch.
    created: HashMap<Identity, (CustomerId, Option<Language>)>,
    /// Responses already stored for the batch's idempotency keys.
    replays: HashMap<(String, String), StoredResponse>,
    /// Mail intake keys stored before or in this batch; `None`: ask the database.
    intake_seen: Option<HashMap<String, (CaseId, ContactId)>>,
    /// Cases changed in this batch, as they stand now (a later write reads these, not the
    /// database row the batch has not flushed yet).
    cases: HashMap<CaseId, Case>,
}

#[derive(Default)]
struct PendingRows {
    customers: Vec<Customer>,
    identities: Vec<(Identity, CustomerId)>,
    cases: Vec<Case>,
    contacts: Vec<Contact>,
    idempotency: Vec<(String, String, String, i64, String)>,
    /// Message-IDs of mail contacts: (message id, contact, case, direction).
    message_ids: Vec<(String, ContactId, CaseId, Direction)>,
    /// Intake keys of stored inbound mail: (key, contact, case).
    intake_keys: Vec<(String, ContactId, CaseId)>,
    /// Blobs to insert: (hash, bytes, where).
    blobs: Vec<(String, std::sync::Arc<Vec<u8>>, BlobLocation)>,
}

impl BatchCtx {
    fn new(now: Timestamp, blobs: PreparedBlobs) -> Self {
        Self {
            now,
            events: Vec::new(),
            blobs,
            case_number: None,
            case_pool: Vec::new(),
            pending: PendingRows::default(),
            known: None,
            created: HashMap::new(),
            replays: HashMap::new(),
            intake_seen: None,
            cases: HashMap::new(),
        }
    }
}

struct PendingEvent {
    id: uuid::Uuid,
    at: Timestamp,
    actor: String,
    case_id: Option<String>,
    customer_id: Option<String>,
    kind: &'static str,
    payload: String,
}

impl BatchCtx {
    fn event(&mut self, actor: &Actor, case_id: Option<CaseId>, customer_id: Option<CustomerId>, kind: EventKind) {
        self.events.push(PendingEvent {
            id: uuid::Uuid::now_v7(),
            at: self.now,
            actor: to_json(actor),
            case_id: case_id.map(|c| c.to_string()),
            customer_id: customer_id.map(|c| c.to_string()),
            kind: kind.type_name(),
            payload: to_json(&kind),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Rows and their conversion to domain types.

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: String,
    number: i64,
    subject: String,
    customer_id: String,
    status: String,
    priority: String,
    team_id: Option<String>,
    assignee_id: Option<String>,
    tags: String,
    fields: String,
    channel: String,
    language: Option<String>,
    follow_up_of: Option<String>,
    contact_count: i64,
    created_at: i64,
    updated_at: i64,
    waiting_since: Option<i64>,
    repeat_count: i64,
    escalation_level: i64,
    sla_due: Option<i64>,
}

/// `case_sla.due` of a case without a running SLA target.
const NO_SLA_DUE: i64 = i64::MAX;

const CASE_COLS: &str = "id, number, subject, customer_id, status, priority, team_id, assignee_id, tags, fields, \
     channel, language, follow_up_of, contact_count, created_at, updated_at, waiting_since, repeat_count, escalation_level, \
     (SELECT sla.due FROM case_sla sla WHERE sla.case_id = id) AS sla_due";

impl CaseRow {
    fn into_case(self) -> Result<Case> {
        Ok(Case {
            id: parse_id(&self.id)?,
            reference: CaseRef::from_number(u64::try_from(self.number).map_err(|_| StoreError::Corrupt("case number".into()))?),
            subject: self.subject,
            customer_id: parse_id(&self.customer_id)?,
            status: CaseStatus::parse(&self.status).map_err(corrupt)?,
            priority: Priority::parse(&self.priority).map_err(corrupt)?,
            team_id: opt_id(self.team_id.as_deref())?,
            assignee_id: opt_id(self.assignee_id.as_deref())?,
            tags: json(&self.tags)?,
            fields: json(&self.fields)?,
            channel: Channel::parse(&self.channel).map_err(corrupt)?,
            language: self.language.as_deref().map(Language::parse).transpose().map_err(corrupt)?,
            follow_up_of: opt_id(self.follow_up_of.as_deref())?,
            contact_count: self.contact_count,
            created_at: ts(self.created_at)?,
            updated_at: ts(self.updated_at)?,
            waiting_since: self.waiting_since.map(ts).transpose()?,
            repeat_count: self.repeat_count,
            escalation_level: self.escalation_level,
            sla_due: self.sla_due.filter(|d| *d != NO_SLA_DUE).map(ts).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: String,
    name: Option<String>,
    organisation_id: Option<String>,
    language: Option<String>,
    time_zone: Option<String>,
    tier: String,
    notes: String,
    merged_into: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const CUSTOMER_COLS: &str =
    "id, name, organisation_id, language, time_zone, tier, notes, merged_into, created_at, updated_at";

impl CustomerRow {
    fn into_customer(self, identities: Vec<Identity>) -> Result<Customer> {
        Ok(Customer {
            id: parse_id(&self.id)?,
            name: self.name,
            organisation_id: opt_id(self.organisation_id.as_deref())?,
            language: self.language.as_deref().map(Language::parse).transpose().map_err(corrupt)?,
            time_zone: self.time_zone.as_deref().map(TimeZoneName::parse).transpose().map_err(corrupt)?,
            tier: Tier::parse(&self.tier).map_err(corrupt)?,
            notes: self.notes,
            identities,
            merged_into: opt_id(self.merged_into.as_deref())?,
            created_at: ts(self.created_at)?,
            updated_at: ts(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: String,
    case_id: String,
    channel: String,
    direction: String,
    visibility: String,
    author: String,
    subject: Option<String>,
    text: String,
    html: Option<String>,
    attachments: String,
    mail: Option<String>,
    created_at: i64,
    concern: Option<String>,
    phone_call: Option<String>,
}

const CONTACT_COLS: &str =
    "id, case_id, channel, direction, visibility, author, subject, text, html, attachments, mail, created_at, concern, phone_call";

impl ContactRow {
    fn into_contact(self) -> Result<Contact> {
        Ok(Contact {
            id: parse_id(&self.id)?,
            case_id: parse_id(&self.case_id)?,
            channel: Channel::parse(&self.channel).map_err(corrupt)?,
            direction: Direction::parse(&self.direction).map_err(corrupt)?,
            visibility: Visibility::parse(&self.visibility).map_err(corrupt)?,
            author: json(&self.author)?,
            subject: self.subject,
            text: self.text,
            html: self.html.map(SanitisedHtml::from_stored),
            attachments: json(&self.attachments)?,
            mail: self.mail.as_deref().map(json).transpose()?,
            created_at: ts(self.created_at)?,
            concern: self.concern.as_deref().map(json).transpose()?,
            call: self.phone_call.as_deref().map(json).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: String,
    email: String,
    name: String,
    role: String,
    password_hash: Option<String>,
    skills: String,
    languages: String,
    ui_language: String,
    time_zone: String,
    active: bool,
    created_at: i64,
    available: bool,
    max_open: Option<i64>,
}

const AGENT_COLS: &str =
    "id, email, name, role, password_hash, skills, languages, ui_language, time_zone, active, created_at, available, max_open";

impl AgentRow {
    fn into_agent(self, teams: Vec<TeamId>) -> Result<(Agent, Option<String>)> {
        Ok((
            Agent {
                id: parse_id(&self.id)?,
                email: EmailAddress::parse(&self.email).map_err(corrupt)?,
                name: self.name,
                role: Role::parse(&self.role).map_err(corrupt)?,
                skills: json(&self.skills)?,
                languages: json(&self.languages)?,
                ui_language: Language::parse(&self.ui_language).map_err(corrupt)?,
                time_zone: TimeZoneName::parse(&self.time_zone).map_err(corrupt)?,
                teams,
                active: self.active,
                available: self.available,
                max_open: self.max_open.and_then(|m| u32::try_from(m).ok()),
                created_at: ts(self.created_at)?,
            },
            self.password_hash,
        ))
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    at: i64,
    actor: String,
    case_id: Option<String>,
    customer_id: Option<String>,
    payload: String,
}

const EVENT_COLS: &str = "seq, id, at, actor, case_id, customer_id, payload";

impl EventRow {
    fn into_event(self) -> Result<Event> {
        Ok(Event {
            seq: self.seq,
            id: parse_id(&self.id)?,
            at: ts(self.at)?,
            actor: json(&self.actor)?,
            case_id: opt_id(self.case_id.as_deref())?,
            customer_id: opt_id(self.customer_id.as_deref())?,
            kind: json(&self.payload)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    agent_id: String,
    name: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

const TOKEN_COLS: &str = "id, agent_id, name, scopes, created_at, expires_at, revoked_at";

impl TokenRow {
    fn into_token(self) -> Result<TokenInfo> {
        Ok(TokenInfo {
            id: parse_id(&self.id)?,
            agent_id: parse_id(&self.agent_id)?,
            name: self.name,
            scopes: json(&self.scopes)?,
            created_at: ts(self.created_at)?,
            expires_at: self.expires_at.map(ts).transpose()?,
            revoked_at: self.revoked_at.map(ts).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    payload: String,
    dedupe_key: Option<String>,
    status: String,
    run_at: i64,
    attempts: i64,
    max_attempts: i64,
    lease_token: Option<String>,
    lease_until: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

const JOB_COLS: &str =
    "id, kind, payload, dedupe_key, status, run_at, attempts, max_attempts, lease_token, lease_until, last_error, created_at";

impl JobRow {
    fn into_job(self) -> Result<Job> {
        Ok(Job {
            id: parse_id(&self.id)?,
            kind: self.kind,
            payload: json(&self.payload)?,
            dedupe_key: self.dedupe_key,
            status: JobStatus::parse(&self.status).ok_or_else(|| StoreError::Corrupt(format!("job status {}", self.status)))?,
            run_at: ts(self.run_at)?,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            lease_token: self.lease_token,
            lease_until: self.lease_until.map(ts).transpose()?,
            last_error: self.last_error,
            created_at: ts(self.created_at)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Loading inside a connection or transaction.

async fn load_case(conn: &mut Conn, id: CaseId) -> Result<Option<Case>> {
    let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = $1");
    let row: Option<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.map(CaseRow::into_case).transpose()
}

async fn load_identities(conn: &mut Conn, id: CustomerId) -> Result<Vec<Identity>> {
    let rows = sqlx::query("SELECT kind, value FROM identities WHERE customer_id = $1 ORDER BY kind, value")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(Identity {
                kind: IdentityKind::parse(&kind).map_err(corrupt)?,
                value: r.try_get("value")?,
            })
        })
        .collect()
}

async fn load_customer(conn: &mut Conn, id: CustomerId) -> Result<Option<Customer>> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1");
    let row: Option<CustomerRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let identities = load_identities(conn, id).await?;
            row.into_customer(identities).map(Some)
        }
    }
}

async fn identity_owner(conn: &mut Conn, identity: &Identity) -> Result<Option<CustomerId>> {
    let owner: Option<String> = sqlx::query_scalar("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2")
        .bind(identity.kind.as_str())
        .bind(&identity.value)
        .fetch_optional(&mut *conn)
        .await?;
    opt_id(owner.as_deref())
}

async fn load_agent(conn: &mut Conn, id: AgentId) -> Result<Option<(Agent, Option<String>)>> {
    let sql = format!("SELECT {AGENT_COLS} FROM agents WHERE id = $1");
    let row: Option<AgentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let teams = agent_teams(conn, id).await?;
            row.into_agent(teams).map(Some)
        }
    }
}

async fn agent_teams(conn: &mut Conn, id: AgentId) -> Result<Vec<TeamId>> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|s| parse_id(s)).collect()
}

async fn load_team(conn: &mut Conn, id: TeamId) -> Result<Option<Team>> {
    let row = sqlx::query("SELECT id, name, description, created_at, assignment FROM teams WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| team_from_row(&r)).transpose()
}

fn team_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Team> {
    let id: String = r.try_get("id")?;
    Ok(Team {
        id: parse_id(&id)?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: ts(r.try_get("created_at")?)?,
        assignment: json(&r.try_get::<String, _>("assignment")?)?,
    })
}

async fn require_team(conn: &mut Conn, id: Option<TeamId>) -> Result<()> {
    if let Some(id) = id
        && load_team(conn, id).await?.is_none() {
            return Err(StoreError::invalid("team_id", format!("team {id} does not exist")));
        }
    Ok(())
}

async fn require_assignee(conn: &mut Conn, id: Option<AgentId>) -> Result<()> {
    if let Some(id) = id {
        match load_agent(conn, id).await? {
            Some((a, _)) if a.active => {}
            Some(_) => return Err(StoreError::invalid("assignee_id", format!("agent {id} is not active"))),
            None => return Err(StoreError::invalid("assignee_id", format!("agent {id} does not exist"))),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Commands. Each validates (reads only) before it writes anything, so a refused command leaves
// nothing behind in the shared batch transaction.

async fn apply(conn: &mut Conn, ctx: &mut BatchCtx, write: &Write) -> Result<Output> {
    let actor = &write.actor;
    match &write.command {
        Command::CreateCustomer(nc) => create_customer(conn, ctx, actor, nc).await.map(|c| Output::Customer(Box::new(c))),
        Command::UpdateCustomer { id, patch } => update_customer(conn, ctx, actor, *id, patch).await,
        Command::AddIdentity { customer_id, identity } => add_identity(conn, ctx, actor, *customer_id, identity).await,
        Command::MergeCustomers { source, target } => merge_customers(conn, ctx, actor, *source, *target).await,
        Command::CreateOrganisation { name } => {
            let name = anliegen_core::team::parse_name("name", name)?;
            let org = Organisation { id: OrganisationId::new(), name, created_at: ctx.now };
            sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(org.id.to_string())
                .bind(&org.name)
                .bind(us(org.created_at))
                .execute(&mut *conn)
                .await?;
            ctx.event(actor, None, None, EventKind::OrganisationCreated { organisation_id: org.id, name: org.name.clone() });
            Ok(Output::Organisation(org))
        }
        Command::OpenCase(nc) => open_case(conn, ctx, actor, nc).await,
        Command::UpdateCase { id, patch } => update_case(conn, ctx, actor, *id, patch).await,
        Command::AddContact { case_id, contact, status_after } => {
            add_contact(conn, ctx, actor, *case_id, contact, *status_after).await
        }
        Command::CreateTeam { name, description } => create_team(conn, ctx, actor, name, description).await,
        Command::Inbound(target) => match &**target {
            MailTarget::NewCase(nc) => {
                let (case, contact) = open_case_with_contact(conn, ctx, actor, nc).await?;
                Ok(Output::Contact { case: Box::new(case), contact: Box::new(contact), follow_up_of: None })
            }
            MailTarget::Case { case_id, contact } => add_contact(conn, ctx, actor, *case_id, contact, None).await,
        },
        Command::SaveRoutingRule(rule) => save_routing_rule(conn, ctx, actor, rule).await,
        Command::DeleteRoutingRule { id } => delete_routing_rule(conn, ctx, actor, *id).await,
        Command::SetSetting { key, value } => set_setting(conn, ctx, actor, key, value).await,
        Command::MakePromise(p) => make_promise(conn, ctx, actor, p).await,
        Command::KeepPromise { id, note } => close_promise(conn, ctx, actor, *id, Some(note)).await,
        Command::CancelPromise { id, reason } => close_promise(conn, ctx, actor, *id, None).await.inspect(|o| {
            if let Output::Promise(p) = o {
                ctx.event(actor, Some(p.case_id), None, EventKind::PromiseCancelled { promise_id: p.id, reason: reason.clone() });
            }
        }),
        Command::PromiseDue { id, overdue } => promise_due(conn, ctx, actor, *id, *overdue).await,
        Command::AutomationRun { rule_id, case_id, anchor } => {
            let n = sqlx::query(
                "INSERT INTO automation_runs (rule_id, case_id, anchor, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (rule_id, case_id, anchor) DO NOTHING",
            )
            .bind(rule_id.to_string())
            .bind(case_id.to_string())
            .bind(*anchor)
            .bind(us(ctx.now))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok(Output::Recorded(n == 1))
        }
        Command::SlaMark { case_id, metric, breach, started_at, due_at } => {
            sla_mark(conn, ctx, actor, *case_id, *metric, *breach, *started_at, *due_at).await
        }
        Command::SetTeamAssignment { team_id, assignment } => set_team_assignment(conn, ctx, actor, *team_id, assignment).await,
        Command::EscalateCase(e) => escalate_case(conn, ctx, actor, e).await,
        Command::ResolveIdentityOffer { offer_id, accept } => resolve_identity_offer(conn, ctx, actor, *offer_id, *accept).await,
        Command::UnmergeCustomer { source } => unmerge_customer(conn, ctx, actor, *source).await,
        Command::AssignWaiting { team_id, limit } => assign_waiting(conn, ctx, actor, *team_id, *limit).await,
        Command::CreateAgent(na) => create_agent(conn, ctx, actor, na).await,
        Command::UpdateAgent { id, patch } => update_agent(conn, ctx, actor, *id, patch).await,
        Command::CreateToken(nt) => create_token(conn, ctx, actor, nt).await,
        Command::RevokeToken { id } => {
            let updated = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(us(ctx.now))
                .bind(id.to_string())
                .execute(&mut *conn)
                .await?;
            if updated.rows_affected() == 0 {
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::not_found("token", id));
                }
                return Ok(Output::Unit);
            }
            ctx.event(actor, None, None, EventKind::TokenRevoked { token_id: *id });
            Ok(Output::Unit)
        }
        Command::SetMeta { key, value } => {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(&mut *conn)
                .await?;
            Ok(Output::Unit)
        }
        Command::EnqueueOnly => Ok(Output::Unit),
        Command::CreateMailbox(nm) => create_mailbox(conn, ctx, actor, nm).await,
        Command::UpdateMailbox { id, patch } => update_mailbox(conn, ctx, actor, *id, patch).await,
        Command::IntakeMail(m) => intake_mail(conn, ctx, actor, m).await,
        Command::SetDelivery { contact_id, delivery } => set_delivery(conn, ctx, actor, *contact_id, delivery).await,
        Command::MergeCases { source, target } => merge_cases(conn, ctx, actor, *source, *target).await,
        Command::UnmergeCase { source } => unmerge_case(conn, ctx, actor, *source).await,
        Command::SplitContact { contact_id } => split_contact(conn, ctx, actor, *contact_id).await,
        Command::UndoSplit { case_id } => undo_split(conn, ctx, actor, *case_id).await,
        Command::CreateMacro(m) => save_macro(conn, ctx, actor, None, m).await,
        Command::UpdateMacro { id, m } => save_macro(conn, ctx, actor, Some(*id), m).await,
        Command::ApplyMacro { case_id, macro_id } => apply_macro(conn, ctx, actor, *case_id, *macro_id).await,
        Command::DefineTag { name, description } => {
            let description = description.trim();
            if description.chars().count() > 500 || description.chars().any(|c| c.is_control() && c != '\n') {
                return Err(StoreError::Invalid { field: "description".into(), message: "a description has at most 500 characters".into() });
            }
            sqlx::query(
                "INSERT INTO tag_catalog (name, description, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET description = excluded.description",
            )
            .bind(name.as_str())
            .bind(description)
            .bind(us(ctx.now))
            .execute(&mut *conn)
            .await?;
            ctx.event(actor, None, None, EventKind::TagDefined { name: name.as_str().to_owned() });
            Ok(Output::Unit)
        }
        Command::RemoveTag { name } => {
            let done = sqlx::query("DELETE FROM tag_catalog WHERE name = $1").bind(name.as_str()).execute(&mut *conn).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("tag", name.as_str()));
            }
            ctx.event(actor, None, None, EventKind::TagRemoved { name: name.as_str().to_owned() });
            Ok(Output::Unit)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Notifications.

type NotificationRow = (String, String, String, Option<String>, String, String, i64, i64, Option<i64>);

fn notification_of(r: NotificationRow) -> Result<Notification> {
    let (id, agent, kind, case, actor, excerpt, seq, created, read) = r;
    Ok(Notification {
        id: parse_id(&id)?,
        agent_id: parse_id(&agent)?,
        kind,
        case_id: case.map(|c| parse_id(&c)).transpose()?,
        actor,
        excerpt,
        seq,
        created_at: ts(created)?,
        read_at: read.map(ts).transpose()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Merge and split.

/// Moves contacts (and their Message-IDs, so replies keep threading) to another case.
async fn move_contacts(conn: &mut Conn, ids: &[ContactId], to: CaseId) -> Result<()> {
    for id in ids {
        sqlx::query("UPDATE contacts SET case_id = $1 WHERE id = $2").bind(to.to_string()).bind(id.to_string()).execute(&mut *conn).await?;
        sqlx::query("UPDATE mail_messages SET case_id = $1 WHERE contact_id = $2")
            .bind(to.to_string())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Recounts a case's contacts and its oldest unanswered customer contact after contacts moved.
async fn recount(conn: &mut Conn, case: &mut Case, now: Timestamp) -> Result<()> {
    let id = case.id.to_string();
    case.contact_count = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE case_id = $1").bind(&id).fetch_one(&mut *conn).await?;
    let waiting: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM contacts WHERE case_id = $1 AND direction = 'inbound' AND created_at > \
         COALESCE((SELECT MAX(created_at) FROM contacts WHERE case_id = $1 AND direction = 'outbound' AND visibility = 'public' \
         AND author NOT LIKE '%\"system\"%'), 0)",
    )
    .bind(&id)
    .fetch_one(&mut *conn)
    .await?;
    case.waiting_since = match case.status {
        CaseStatus::New | CaseStatus::Open => waiting.map(ts).transpose()?,
        _ => None,
    };
    case.updated_at = now;
    Ok(())
}

async fn case_or_404(conn: &mut Conn, id: CaseId) -> Result<Case> {
    load_case(conn, id).await?.ok_or_else(|| StoreError::not_found("case", id))
}

async fn merge_cases(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, source: CaseId, target: CaseId) -> Result<Output> {
    if source == target {
        return Err(StoreError::Invalid { field: "target".into(), message: "a case cannot be merged into itself".into() });
    }
    let mut from = case_or_404(conn, source).await?;
    let mut into = case_or_404(conn, target).await?;
    let merged: Option<String> = sqlx::query_scalar("SELECT target FROM case_merges WHERE source = $1 OR source = $2")
        .bind(source.to_string())
        .bind(target.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    if merged.is_some() {
        return Err(StoreError::Conflict { field: Some("target".into()), message: "one of the cases is already merged into another".into() });
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM contacts WHERE case_id = $1 ORDER BY created_at, id")
        .bind(source.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let contacts = ids.iter().map(|i| parse_id(i)).collect::<Result<Vec<ContactId>>>()?;
    move_contacts(conn, &contacts, target).await?;
    sqlx::query("INSERT INTO case_merges (source, target, contacts, status_before, merged_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(source.to_string())
        .bind(target.to_string())
        .bind(to_json(&contacts))
        .bind(from.status.as_str())
        .bind(us(ctx.now))
        .execute(&mut *conn)
        .await?;
    // The surviving case takes the customer's open concern: a solved, closed or waiting one
    // reopens when the merged case had something unanswered or was open.
    let open_concern = matches!(from.status, CaseStatus::New | CaseStatus::Open) || from.waiting_since.is_some();
    if into.status != CaseStatus::New && into.status != CaseStatus::Open && open_concern {
        ctx.event(actor, Some(into.id), Some(into.customer_id), EventKind::StatusChanged { from: into.status, to: CaseStatus::Open });
        into.status = CaseStatus::Open;
    }
    let status_from = from.status;
    from.status = CaseStatus::Closed;
    recount(conn, &mut from, ctx.now).await?;
    recount(conn, &mut into, ctx.now).await?;
    save_case(conn, &from).await?;
    save_case(conn, &into).await?;
    if status_from != CaseStatus::Closed {
        ctx.event(actor, Some(from.id), Some(from.customer_id), EventKind::StatusChanged { from: status_from, to: CaseStatus::Closed });
    }
    let kind = EventKind::CaseMerged { source, target, source_ref: from.reference, target_ref: into.reference, contacts };
    ctx.event(actor, Some(from.id), Some(from.customer_id), kind.clone());
    ctx.event(actor, Some(into.id), Some(into.customer_id), kind);
    Ok(Output::Case(Box::new(into)))
}

async fn unmerge_case(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, source: CaseId) -> Result<Output> {
    let row: Option<(String, String, String)> = sqlx::query_as("SELECT target, contacts, status_before FROM case_merges WHERE source = $1")
        .bind(source.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let (target, contacts, status_before) = row.ok_or_else(|| StoreError::not_found("merge of case", source))?;
    let target: CaseId = parse_id(&target)?;
    let contacts: Vec<ContactId> = serde_json::from_str(&contacts).map_err(|e| StoreError::Corrupt(format!("merge contacts: {e}")))?;
    let mut from = case_or_404(conn, source).await?;
    let mut into = case_or_404(conn, target).await?;
    // Only contacts still on the surviving case go back (one split off meanwhile stays where it is).
    let mut back = Vec::new();
    for c in &contacts {
        let on: Option<String> = sqlx::query_scalar("SELECT case_id FROM contacts WHERE id = $1").bind(c.to_string()).fetch_optional(&mut *conn).await?;
        if on.as_deref() == Some(target.to_string().as_str()) {
            back.push(*c);
        }
    }
    move_contacts(conn, &back, source).await?;
    sqlx::query("DELETE FROM case_merges WHERE source = $1").bind(source.to_string()).execute(&mut *conn).await?;
    let restored = CaseStatus::parse(&status_before).map_err(corrupt)?;
    if restored != from.status {
        ctx.event(actor, Some(from.id), Some(from.customer_id), EventKind::StatusChanged { from: from.status, to: restored });
        from.status = restored;
    }
    recount(conn, &mut from, ctx.now).await?;
    recount(conn, &mut into, ctx.now).await?;
    save_case(conn, &from).await?;
    save_case(conn, &into).await?;
    let kind = EventKind::CaseUnmerged { source, target, source_ref: from.reference, target_ref: into.reference, contacts: back };
    ctx.event(actor, Some(from.id), Some(from.customer_id), kind.clone());
    ctx.event(actor, Some(into.id), Some(into.customer_id), kind);
    Ok(Output::Case(Box::new(from)))
}

async fn split_contact(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, contact_id: ContactId) -> Result<Output> {
    let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1");
    let row: Option<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(contact_id.to_string()).fetch_optional(&mut *conn).await?;
    let contact = row.ok_or_else(|| StoreError::not_found("contact", contact_id))?.into_contact()?;
    let mut from = case_or_404(conn, contact.case_id).await?;
    if from.contact_count <= 1 {
        return Err(StoreError::Invalid { field: "contact_id".into(), message: "the only contact of a case cannot be split off".into() });
    }
    let number = next_case_number(conn, ctx).await?;
    let subject = contact
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| from.subject.clone());
    let mut case = Case {
        id: CaseId::new(),
        reference: CaseRef::from_number(u64::try_from(number).map_err(|_| StoreError::Corrupt("case number".into()))?),
        subject,
        customer_id: from.customer_id,
        status: CaseStatus::Open,
        priority: from.priority,
        team_id: from.team_id,
        assignee_id: from.assignee_id,
        tags: Vec::new(),
        fields: Default::default(),
        channel: contact.channel,
        language: from.language,
        follow_up_of: None,
        contact_count: 0,
        created_at: ctx.now,
        updated_at: ctx.now,
        waiting_since: None,
        repeat_count: 0,
        escalation_level: 0,
        sla_due: None,
    };
    insert_case(ctx, &case);
    flush(conn, ctx).await?;
    move_contacts(conn, &[contact_id], case.id).await?;
    sqlx::query("INSERT INTO case_splits (new_case, source, contact_id, split_at) VALUES ($1, $2, $3, $4)")
        .bind(case.id.to_string())
        .bind(from.id.to_string())
        .bind(contact_id.to_string())
        .bind(us(ctx.now))
        .execute(&mut *conn)
        .await?;
    recount(conn, &mut case, ctx.now).await?;
    recount(conn, &mut from, ctx.now).await?;
    save_case(conn, &case).await?;
    save_case(conn, &from).await?;
    ctx.event(
        actor,
        Some(case.id),
        Some(case.customer_id),
        case_opened(&case, None),
    );
    let kind = EventKind::ContactSplit { contact_id, from: from.id, to: case.id, from_ref: from.reference, to_ref: case.reference };
    ctx.event(actor, Some(from.id), Some(from.customer_id), kind.clone());
    ctx.event(actor, Some(case.id), Some(case.customer_id), kind);
    Ok(Output::Case(Box::new(case)))
}

async fn undo_split(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, case_id: CaseId) -> Result<Output> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT source, contact_id FROM case_splits WHERE new_case = $1")
        .bind(case_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let (source, contact) = row.ok_or_else(|| StoreError::not_found("split of case", case_id))?;
    let (source, contact): (CaseId, ContactId) = (parse_id(&source)?, parse_id(&contact)?);
    let mut split = case_or_404(conn, case_id).await?;
    let mut from = case_or_404(conn, source).await?;
    let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE case_id = $1 AND id <> $2")
        .bind(case_id.to_string())
        .bind(contact.to_string())
        .fetch_one(&mut *conn)
        .await?;
    if others > 0 {
        return Err(StoreError::Conflict {
            field: Some("case_id".into()),
            message: "the split-off case has contacts of its own now; merge it instead".into(),
        });
    }
    move_contacts(conn, &[contact], source).await?;
    sqlx::query("DELETE FROM case_splits WHERE new_case = $1").bind(case_id.to_string()).execute(&mut *conn).await?;
    if split.status != CaseStatus::Closed {
        ctx.event(actor, Some(split.id), Some(split.customer_id), EventKind::StatusChanged { from: split.status, to: CaseStatus::Closed });
        split.status = CaseStatus::Closed;
    }
    recount(conn, &mut split, ctx.now).await?;
    recount(conn, &mut from, ctx.now).await?;
    save_case(conn, &split).await?;
    save_case(conn, &from).await?;
    let kind = EventKind::SplitUndone { contact_id: contact, from: from.id, to: split.id, from_ref: from.reference, to_ref: split.reference };
    ctx.event(actor, Some(from.id), Some(from.customer_id), kind.clone());
    ctx.event(actor, Some(split.id), Some(split.customer_id), kind);
    Ok(Output::Case(Box::new(from)))
}

// ---------------------------------------------------------------------------------------------
// Macros.

type MacroRow = (String, String, String, String, String, i64, i64, i64);
const MACRO_COLS: &str = "id, name, body_de, body_en, actions, active, created_at, updated_at";

fn macro_of(r: MacroRow) -> Result<anliegen_core::Macro> {
    let (id, name, body_de, body_en, actions, active, created, updated) = r;
    Ok(anliegen_core::Macro {
        id: parse_id(&id)?,
        name,
        body_de,
        body_en,
        actions: serde_json::from_str(&actions).map_err(|e| StoreError::Corrupt(format!("macro actions: {e}")))?,
        active: active != 0,
        created_at: ts(created)?,
        updated_at: ts(updated)?,
    })
}

async fn save_macro(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    id: Option<anliegen_core::MacroId>,
    m: &NewMacro,
) -> Result<Output> {
    let name = anliegen_core::team::parse_name("name", &m.name)?;
    anliegen_core::macros::check_template("body_de", &m.body_de)?;
    anliegen_core::macros::check_template("body_en", &m.body_en)?;
    require_team(conn, m.actions.team_id).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM macros WHERE lower(name) = lower($1)")
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some_and(|t| Some(t.as_str()) != id.map(|i| i.to_string()).as_deref()) {
        return Err(StoreError::Conflict { field: Some("name".into()), message: format!("a macro named '{name}' exists already") });
    }
    let (id, created_at) = match id {
        Some(id) => {
            let created: Option<i64> = sqlx::query_scalar("SELECT created_at FROM macros WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
            (id, ts(created.ok_or_else(|| StoreError::not_found("macro", id))?)?)
        }
        None => (anliegen_core::MacroId::new(), ctx.now),
    };
    let mac = anliegen_core::Macro {
        id,
        name,
        body_de: m.body_de.clone(),
        body_en: m.body_en.clone(),
        actions: m.actions.clone(),
        active: m.active,
        created_at,
        updated_at: ctx.now,
    };
    sqlx::query(
        "INSERT INTO macros (id, name, body_de, body_en, actions, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, body_de = excluded.body_de, body_en = excluded.body_en, \
         actions = excluded.actions, active = excluded.active, updated_at = excluded.updated_at",
    )
    .bind(mac.id.to_string())
    .bind(&mac.name)
    .bind(&mac.body_de)
    .bind(&mac.body_en)
    .bind(to_json(&mac.actions))
    .bind(i64::from(mac.active))
    .bind(us(mac.created_at))
    .bind(us(mac.updated_at))
    .execute(&mut *conn)
    .await?;
    let kind = if created_at == ctx.now {
        EventKind::MacroCreated { macro_id: mac.id, name: mac.name.clone() }
    } else {
        EventKind::MacroUpdated { macro_id: mac.id }
    };
    ctx.event(actor, None, None, kind);
    Ok(Output::Macro(Box::new(mac)))
}

async fn apply_macro(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    case_id: CaseId,
    macro_id: anliegen_core::MacroId,
) -> Result<Output> {
    let sql = format!("SELECT {MACRO_COLS} FROM macros WHERE id = $1");
    let row: Option<MacroRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(macro_id.to_string()).fetch_optional(&mut *conn).await?;
    let mac = macro_of(row.ok_or_else(|| StoreError::not_found("macro", macro_id))?)?;
    if !mac.active {
        return Err(StoreError::Invalid { field: "macro_id".into(), message: "this macro is switched off".into() });
    }
    let a = &mac.actions;
    let patch = CasePatch {
        status: a.status,
        priority: a.priority,
        team_id: a.team_id.map(Some),
        assignee_id: match (a.assign_to_me, actor) {
            (true, Actor::Agent { id }) => Some(Some(*id)),
            _ => None,
        },
        add_tags: a.add_tags.clone(),
        ..Default::default()
    };
    let out = update_case(conn, ctx, actor, case_id, &patch).await?;
    ctx.event(actor, Some(case_id), None, EventKind::MacroApplied { macro_id: mac.id, name: mac.name.clone() });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Mail.

const MAILBOX_COLS: &str = "id, address, display_name, team_id, language, signature, imap, outbound_route, active, created_at, updated_at";

fn mailbox_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Mailbox> {
    let address: String = r.try_get("address")?;
    let language: String = r.try_get("language")?;
    let imap: Option<String> = r.try_get("imap")?;
    Ok(Mailbox {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        address: EmailAddress::parse(&address).map_err(corrupt)?,
        display_name: r.try_get("display_name")?,
        team_id: opt_id(r.try_get::<Option<String>, _>("team_id")?.as_deref())?,
        language: Language::parse(&language).map_err(corrupt)?,
        signature: r.try_get("signature")?,
        imap: imap.as_deref().map(json).transpose()?,
        outbound_route: r.try_get("outbound_route")?,
        active: r.try_get("active")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

async fn load_mailbox(conn: &mut Conn, id: MailboxId) -> Result<Option<Mailbox>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(mailbox_from_row).transpose()
}

fn check_signature(sig: &str) -> Result<String> {
    if sig.chars().count() > 5000 {
        return Err(StoreError::invalid("signature", "a signature has at most 5,000 characters"));
    }
    Ok(anliegen_core::contact::clean_text(sig).trim_end().to_owned())
}

async fn save_mailbox(conn: &mut Conn, m: &Mailbox, insert: bool) -> Result<()> {
    let sql = if insert {
        "INSERT INTO mailboxes (id, address, display_name, team_id, language, signature, imap, outbound_route, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE mailboxes SET address = $2, display_name = $3, team_id = $4, language = $5, signature = $6, imap = $7, \
         outbound_route = $8, active = $9, created_at = $10, updated_at = $11 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(m.id.to_string())
        .bind(m.address.to_string())
        .bind(&m.display_name)
        .bind(m.team_id.map(|t| t.to_string()))
        .bind(m.language.code())
        .bind(&m.signature)
        .bind(m.imap.as_ref().map(to_json))
        .bind(&m.outbound_route)
        .bind(m.active)
        .bind(us(m.created_at))
        .bind(us(m.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn create_mailbox(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, nm: &NewMailbox) -> Result<Output> {
    let display_name = anliegen_core::team::parse_name("display_name", &nm.display_name)?;
    let route = anliegen_core::mail::parse_route(&nm.outbound_route)?;
    if let Some(i) = &nm.imap {
        i.check()?;
    }
    let signature = check_signature(&nm.signature)?;
    require_team(conn, nm.team_id).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM mailboxes WHERE address = $1")
        .bind(nm.address.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict { field: Some("address".into()), message: format!("a mailbox for {} exists already", nm.address) });
    }
    let m = Mailbox {
        id: MailboxId::new(),
        address: nm.address.clone(),
        display_name,
        team_id: nm.team_id,
        language: nm.language,
        signature,
        imap: nm.imap.clone(),
        outbound_route: route,
        active: true,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    save_mailbox(conn, &m, true).await?;
    ctx.event(actor, None, None, EventKind::MailboxCreated { mailbox_id: m.id, address: m.address.to_string() });
    Ok(Output::Mailbox(Box::new(m)))
}

async fn update_mailbox(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: MailboxId, p: &MailboxPatch) -> Result<Output> {
    let mut m = load_mailbox(conn, id).await?.ok_or_else(|| StoreError::not_found("mailbox", id))?;
    if let Some(n) = &p.display_name {
        m.display_name = anliegen_core::team::parse_name("display_name", n)?;
    }
    if let Some(t) = p.team_id {
        require_team(conn, t).await?;
        m.team_id = t;
    }
    if let Some(l) = p.language {
        m.language = l;
    }
    if let Some(sig) = &p.signature {
        m.signature = check_signature(sig)?;
    }
    if let Some(i) = &p.imap {
        if let Some(i) = i {
            i.check()?;
        }
        m.imap = i.clone();
    }
    if let Some(r) = &p.outbound_route {
        m.outbound_route = anliegen_core::mail::parse_route(r)?;
    }
    if let Some(a) = p.active {
        m.active = a;
    }
    m.updated_at = ctx.now;
    save_mailbox(conn, &m, false).await?;
    ctx.event(actor, None, None, EventKind::MailboxUpdated { mailbox_id: m.id });
    Ok(Output::Mailbox(Box::new(m)))
}

/// Stores an inbound mail once; see [`Command::IntakeMail`].
async fn intake_mail(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, m: &IntakeMail) -> Result<Output> {
    let seen = match &ctx.intake_seen {
        Some(map) => map.get(&m.key).copied(),
        None => {
            let row = sqlx::query("SELECT case_id, contact_id FROM mail_intake WHERE key = $1")
                .bind(&m.key)
                .fetch_optional(&mut *conn)
                .await?;
            match row {
                Some(r) => Some((parse_id(&r.try_get::<String, _>("case_id")?)?, parse_id(&r.try_get::<String, _>("contact_id")?)?)),
                None => None,
            }
        }
    };
    if let Some((case_id, contact_id)) = seen {
        return Ok(Output::MailDuplicate { case_id, contact_id });
    }
    let out = match &m.target {
        MailTarget::NewCase(nc) => {
            let (case, contact) = open_case_with_contact(conn, ctx, actor, nc).await?;
            Output::Contact { case: Box::new(case), contact: Box::new(contact), follow_up_of: None }
        }
        MailTarget::Case { case_id, contact } => add_contact(conn, ctx, actor, *case_id, contact, None).await?,
    };
        debug_assert_eq!(crate::blob::hash(&m.raw), m.raw_hash);
    let raw_hash = m.raw_hash.clone();
    let loc = ctx.blobs.location(&raw_hash).cloned().unwrap_or(BlobLocation::Inline);
    ctx.pending.blobs.push((raw_hash, std::sync::Arc::clone(&m.raw), loc));
    if let Output::Contact { case, contact, .. } = &out {
        ctx.pending.intake_keys.push((m.key.clone(), contact.id, case.id));
        if let Some(map) = &mut ctx.intake_seen {
            map.insert(m.key.clone(), (case.id, contact.id));
        }
    }
    Ok(out)
}

async fn set_delivery(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, contact_id: ContactId, delivery: &Delivery) -> Result<Output> {
    let row = sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1")))
        .bind(contact_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let contact = row.ok_or_else(|| StoreError::not_found("contact", contact_id))?.into_contact()?;
    let mut details = contact.mail.clone().unwrap_or_default();
    if details.delivery.as_ref() == Some(delivery) {
        return Ok(Output::Unit);
    }
    let was_final = matches!(details.delivery, Some(Delivery::Sent { .. } | Delivery::Failed { .. }));
    details.delivery = Some(delivery.clone());
    sqlx::query("UPDATE contacts SET mail = $1 WHERE id = $2")
        .bind(to_json(&details))
        .bind(contact_id.to_string())
        .execute(&mut *conn)
        .await?;
    let case = load_case(conn, contact.case_id).await?.ok_or_else(|| StoreError::not_found("case", contact.case_id))?;
    match delivery {
        Delivery::Sent { .. } if !was_final => {
            let message_id = details.message_id.clone().unwrap_or_default();
            ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::MailSent { contact_id, message_id });
        }
        Delivery::Failed { error } => {
            ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::MailDeliveryFailed { contact_id, error: error.clone() });
        }
        _ => {}
    }
    Ok(Output::Unit)
}

async fn check_identities_free(conn: &mut Conn, identities: &[Identity], owner: Option<CustomerId>) -> Result<()> {
    for identity in identities {
        if let Some(other) = identity_owner(conn, identity).await?
            && Some(other) != owner {
                return Err(StoreError::Conflict {
                    field: Some("identities".into()),
                    message: format!("{} already belongs to customer {other}", identity),
                });
            }
    }
    Ok(())
}

fn new_customer(ctx: &mut BatchCtx, actor: &Actor, nc: &NewCustomer) -> Customer {
    let mut identities: Vec<Identity> = nc.identities.clone();
    identities.sort();
    identities.dedup();
    let c = Customer {
        id: CustomerId::new(),
        name: nc.name.clone(),
        organisation_id: nc.organisation_id,
        language: nc.language,
        time_zone: nc.time_zone.clone(),
        tier: nc.tier.clone(),
        notes: nc.notes.clone(),
        identities,
        merged_into: None,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    ctx.pending.customers.push(c.clone());
    ctx.event(actor, None, Some(c.id), EventKind::CustomerCreated { name: c.name.clone() });
    for identity in &c.identities {
        insert_identity(ctx, actor, (c.id, c.language), identity);
    }
    c
}

fn insert_identity(ctx: &mut BatchCtx, actor: &Actor, owner: (CustomerId, Option<Language>), identity: &Identity) {
    ctx.pending.identities.push((identity.clone(), owner.0));
    ctx.created.insert(identity.clone(), owner);
    ctx.event(actor, None, Some(owner.0), EventKind::IdentityAdded { identity: identity.clone() });
}

async fn require_organisation(conn: &mut Conn, id: Option<OrganisationId>) -> Result<()> {
    if let Some(id) = id {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid("organisation_id", format!("organisation {id} does not exist")));
        }
    }
    Ok(())
}

async fn create_customer(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, nc: &NewCustomer) -> Result<Customer> {
    check_identities_free(conn, &nc.identities, None).await?;
    require_organisation(conn, nc.organisation_id).await?;
    Ok(new_customer(ctx, actor, nc))
}

/// A customer that can still take changes: exists and was not merged away.
async fn live_customer(conn: &mut Conn, id: CustomerId) -> Result<Customer> {
    let c = load_customer(conn, id).await?.ok_or_else(|| StoreError::not_found("customer", id))?;
    if let Some(target) = c.merged_into {
        return Err(StoreError::Conflict {
            field: Some("customer_id".into()),
            message: format!("customer {id} was merged into {target}"),
        });
    }
    Ok(c)
}

async fn update_customer(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: CustomerId, p: &CustomerPatch) -> Result<Output> {
    let mut c = live_customer(conn, id).await?;
    if let Some(org) = p.organisation_id {
        require_organisation(conn, org).await?;
    }
    let mut fields = Vec::new();
    macro_rules! set {
        ($field:ident, $name:literal) => {
            if let Some(v) = &p.$field {
                if c.$field != *v {
                    c.$field = v.clone();
                    fields.push($name.to_owned());
                }
            }
        };
    }
    set!(name, "name");
    set!(organisation_id, "organisation_id");
    set!(language, "language");
    set!(time_zone, "time_zone");
    if let Some(t) = &p.tier
        && c.tier != *t {
            c.tier = t.clone();
            fields.push("tier".into());
        }
    if let Some(n) = &p.notes
        && c.notes != *n {
            c.notes = n.clone();
            fields.push("notes".into());
        }
    if fields.is_empty() {
        return Ok(Output::Customer(Box::new(c)));
    }
    c.updated_at = ctx.now;
    sqlx::query(
        "UPDATE customers SET name = $1, organisation_id = $2, language = $3, time_zone = $4, tier = $5, notes = $6, \
         updated_at = $7, name_key = $9 WHERE id = $8",
    )
    .bind(c.name.as_deref())
    .bind(c.organisation_id.map(|o| o.to_string()))
    .bind(c.language.map(|l| l.code()))
    .bind(c.time_zone.as_ref().map(|t| t.as_str()))
    .bind(c.tier.as_str())
    .bind(&c.notes)
    .bind(us(ctx.now))
    .bind(id.to_string())
    .bind(name_key(c.name.as_deref()))
    .execute(&mut *conn)
    .await?;
    ctx.event(actor, None, Some(id), EventKind::CustomerUpdated { fields });
    Ok(Output::Customer(Box::new(c)))
}

async fn add_identity(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: CustomerId, identity: &Identity) -> Result<Output> {
    let mut c = live_customer(conn, id).await?;
    check_identities_free(conn, std::slice::from_ref(identity), Some(id)).await?;
    if !c.identities.contains(identity) {
        insert_identity(ctx, actor, (id, c.language), identity);
        c.identities.push(identity.clone());
        c.identities.sort();
    }
    Ok(Output::Customer(Box::new(c)))
}

async fn merge_customers(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, source: CustomerId, target: CustomerId) -> Result<Output> {
    if source == target {
        return Err(StoreError::invalid("source", "a customer cannot be merged into itself"));
    }
    let src = live_customer(conn, source).await?;
    live_customer(conn, target).await.map_err(|e| match e {
        StoreError::NotFound { .. } => StoreError::invalid("into", format!("customer {target} does not exist")),
        StoreError::Conflict { message, .. } => StoreError::invalid("into", message),
        other => other,
    })?;
    let cases: Vec<String> = sqlx::query_scalar("SELECT id FROM cases WHERE customer_id = $1 ORDER BY created_at")
        .bind(source.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let cases: Vec<CaseId> = cases.iter().map(|s| parse_id(s)).collect::<Result<_>>()?;
    sqlx::query("UPDATE identities SET customer_id = $1 WHERE customer_id = $2")
        .bind(target.to_string())
        .bind(source.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE cases SET customer_id = $1, updated_at = $2 WHERE customer_id = $3")
        .bind(target.to_string())
        .bind(us(ctx.now))
        .bind(source.to_string())
        .execute(&mut *conn)
        .await?;
    let redirected: Vec<String> = sqlx::query_scalar("SELECT id FROM customers WHERE merged_into = $1")
        .bind(source.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let redirected: Vec<CustomerId> = redirected.iter().map(|s| parse_id(s)).collect::<Result<_>>()?;
    sqlx::query(
        "INSERT INTO customer_merges (source, target, identities, cases, redirected, merged_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (source) DO UPDATE SET target = $2, identities = $3, cases = $4, redirected = $5, merged_at = $6",
    )
    .bind(source.to_string())
    .bind(target.to_string())
    .bind(to_json(&src.identities))
    .bind(to_json(&cases))
    .bind(to_json(&redirected))
    .bind(us(ctx.now))
    .execute(&mut *conn)
    .await?;
    // Customers merged into the source earlier now point to the target too: no chains.
    sqlx::query("UPDATE customers SET merged_into = $1 WHERE merged_into = $2")
        .bind(target.to_string())
        .bind(source.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE customers SET merged_into = $1, updated_at = $2 WHERE id = $3")
        .bind(target.to_string())
        .bind(us(ctx.now))
        .bind(source.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE customers SET updated_at = $1 WHERE id = $2")
        .bind(us(ctx.now))
        .bind(target.to_string())
        .execute(&mut *conn)
        .await?;
    for case in &cases {
        ctx.event(actor, Some(*case), Some(target), EventKind::CaseCustomerChanged { from: source, to: target });
    }
    let merged = EventKind::CustomerMerged { source, target, identities: src.identities.clone(), cases };
    ctx.event(actor, None, Some(source), merged.clone());
    ctx.event(actor, None, Some(target), merged);
    let c = load_customer(conn, target).await?.ok_or_else(|| StoreError::not_found("customer", target))?;
    Ok(Output::Customer(Box::new(c)))
}

fn contact_author(actor: &Actor, direction: Direction, customer: CustomerId) -> Author {
    match (direction, actor) {
        (Direction::Inbound, _) => Author::Customer { id: customer },
        (_, Actor::Agent { id }) => Author::Agent { id: *id },
        (_, Actor::Customer { id }) => Author::Customer { id: *id },
        (_, Actor::System | Actor::Automation { .. }) => Author::System,
    }
}

/// An automatic mail (acknowledgement): not an answer to the customer.
fn automatic(c: &NewContact) -> bool {
    c.mail.as_ref().is_some_and(|m| m.has(anliegen_core::MailFlag::AutoSubmitted))
}

fn check_contact(c: &NewContact) -> Result<()> {
    let internal = c.channel == Channel::Note || c.direction == Direction::Internal;
    if internal && (c.visibility != Visibility::Internal || c.direction != Direction::Internal || c.channel != Channel::Note) {
        return Err(StoreError::invalid("channel", "an internal note has channel note, direction internal and visibility internal"));
    }
    if !internal && c.visibility == Visibility::Internal {
        return Err(StoreError::invalid("visibility", "only notes are internal"));
    }
    // A mail may be empty: its raw bytes are kept with it.
    if c.text.trim().is_empty() && c.html.is_none() && c.attachments.is_empty() && c.mail.is_none() {
        return Err(StoreError::invalid("text", "a contact needs a text, HTML or an attachment"));
    }
    Ok(())
}

/// Writes a contact row and its blobs; returns the contact.
fn insert_contact(
    ctx: &mut BatchCtx,
    actor: &Actor,
    case: &Case,
    nc: &NewContact,
) -> Result<Contact> {
    let mut attachments = Vec::with_capacity(nc.attachments.len());
    for a in &nc.attachments {
        let hash = crate::blob::hash(&a.data);
        let loc = ctx.blobs.location(&hash).cloned().unwrap_or(BlobLocation::Inline);
        ctx.pending.blobs.push((hash.clone(), std::sync::Arc::clone(&a.data), loc));
        attachments.push(AttachmentRef {
            blob: hash,
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.data.len() as u64,
            content_id: a.content_id.clone(),
        });
    }
    let contact = Contact {
        concern: nc.concern.clone(),
        id: ContactId::new(),
        case_id: case.id,
        channel: nc.channel,
        direction: nc.direction,
        visibility: nc.visibility,
        author: contact_author(actor, nc.direction, case.customer_id),
        subject: nc.subject.clone(),
        text: nc.text.clone(),
        html: nc.html.clone(),
        attachments,
        mail: nc.mail.clone(),
        call: nc.call.as_deref().cloned(),
        created_at: ctx.now,
    };
    if let Some(mid) = contact.mail.as_ref().and_then(|m| m.message_id.clone()) {
        ctx.pending.message_ids.push((mid, contact.id, contact.case_id, contact.direction));
    }
    ctx.pending.contacts.push(contact.clone());
    ctx.event(
        actor,
        Some(case.id),
        Some(case.customer_id),
        EventKind::ContactAdded {
            contact_id: contact.id,
            channel: contact.channel,
            direction: contact.direction,
            visibility: contact.visibility,
        },
    );
    Ok(contact)
}


/// The event of a case that was just opened.
fn case_opened(case: &Case, follow_up_of: Option<CaseId>) -> EventKind {
    EventKind::CaseOpened {
        reference: case.reference,
        subject: case.subject.clone(),
        channel: case.channel,
        priority: case.priority,
        team_id: case.team_id,
        follow_up_of,
    }
}

fn insert_case(ctx: &mut BatchCtx, case: &Case) {
    ctx.pending.cases.push(case.clone());
}

/// 1 while a case is in the agents' queues (new, open, waiting).
fn unsolved(case: &Case) -> i64 {
    i64::from(!matches!(case.status, CaseStatus::Solved | CaseStatus::Closed))
}

/// The queue order as one number: priority first, then the oldest unanswered customer contact;
/// cases with nothing unanswered follow their priority's unanswered ones, oldest first. The
/// migration `20261130120000_workspace.sql` computes the same for existing rows.
fn queue_due(case: &Case) -> i64 {
    let rank: i64 = match case.priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    };
    rank * QUEUE_RANK_STEP + case.waiting_since.map_or(QUEUE_ANSWERED + us(case.created_at), us)
}

/// Distance between two priorities in `queue_due`.
const QUEUE_RANK_STEP: i64 = 100_000_000_000_000_000;
/// Offset of answered cases within a priority in `queue_due`.
const QUEUE_ANSWERED: i64 = 50_000_000_000_000_000;

async fn save_case(conn: &mut Conn, case: &Case) -> Result<()> {
    sqlx::query(
        "UPDATE cases SET subject = $1, customer_id = $2, status = $3, priority = $4, team_id = $5, assignee_id = $6, \
         tags = $7, fields = $8, language = $9, contact_count = $10, updated_at = $11, waiting_since = $12, \
         unsolved = $14, queue_due = $15, repeat_count = $16, escalation_level = $17, \
         status_since = CASE WHEN status = $3 THEN status_since ELSE $11 END WHERE id = $13",
    )
    .bind(&case.subject)
    .bind(case.customer_id.to_string())
    .bind(case.status.as_str())
    .bind(case.priority.as_str())
    .bind(case.team_id.map(|t| t.to_string()))
    .bind(case.assignee_id.map(|a| a.to_string()))
    .bind(to_json(&case.tags))
    .bind(to_json(&case.fields))
    .bind(case.language.map(|l| l.code()))
    .bind(case.contact_count)
    .bind(us(case.updated_at))
    .bind(case.waiting_since.map(us))
    .bind(case.id.to_string())
    .bind(unsolved(case))
    .bind(queue_due(case))
    .bind(case.repeat_count)
    .bind(case.escalation_level)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn check_fields(fields: &BTreeMap<String, serde_json::Value>, allow_null: bool) -> Result<()> {
    for (k, v) in fields {
        let key = FieldKey::parse(k)?;
        if !(allow_null && v.is_null()) {
            check_field_value(&key, v)?;
        }
    }
    Ok(())
}

/// The customer of a new case (id and language): a known one, the owner of the identity, or a
/// new customer. One indexed lookup on the hot path.
async fn resolve_customer(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    r: &CustomerRef,
    detected: Option<Language>,
) -> Result<(CustomerId, Option<Language>)> {
    if let CustomerRef::New { .. } = r {
        return create_for_identity(ctx, actor, r, detected);
    }
    if let CustomerRef::Identity { identity, .. } = r {
        if let Some(found) = ctx.created.get(identity) {
            return Ok(*found);
        }
        if let Some(known) = &ctx.known {
            if let Some(found) = known.get(identity) {
                return Ok(*found);
            }
            return create_for_identity(ctx, actor, r, detected);
        }
    }
    let row = match r {
        CustomerRef::Id(id) => sqlx::query("SELECT id, language, merged_into FROM customers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?,
        CustomerRef::Identity { identity, .. } => sqlx::query(
            "SELECT c.id, c.language, c.merged_into FROM identities i JOIN customers c ON c.id = i.customer_id \
             WHERE i.kind = $1 AND i.value = $2",
        )
        .bind(identity.kind.as_str())
        .bind(&identity.value)
        .fetch_optional(&mut *conn)
        .await?,
        CustomerRef::New { .. } => None,
    };
    if let Some(row) = row {
        let merged: Option<String> = row.try_get("merged_into")?;
        if let Some(target) = merged {
            let target: CustomerId = parse_id(&target)?;
            let c = load_customer(conn, target).await?.ok_or_else(|| StoreError::not_found("customer", target))?;
            return Ok((c.id, c.language));
        }
        let id: String = row.try_get("id")?;
        let lang: Option<String> = row.try_get("language")?;
        return Ok((parse_id(&id)?, lang.as_deref().map(Language::parse).transpose().map_err(corrupt)?));
    }
    create_for_identity(ctx, actor, r, detected)
}

fn create_for_identity(ctx: &mut BatchCtx, actor: &Actor, r: &CustomerRef, detected: Option<Language>) -> Result<(CustomerId, Option<Language>)> {
    match r {
        CustomerRef::Id(id) => Err(StoreError::invalid("customer_id", format!("customer {id} does not exist"))),
        CustomerRef::Identity { identity, name, language } => {
            let nc = NewCustomer {
                name: name.clone(),
                language: language.or(detected),
                identities: vec![identity.clone()],
                ..NewCustomer::default()
            };
            let c = new_customer(ctx, actor, &nc);
            Ok((c.id, c.language))
        }
        CustomerRef::New { name } => {
            let nc = NewCustomer { name: name.clone(), language: detected, ..NewCustomer::default() };
            let c = new_customer(ctx, actor, &nc);
            Ok((c.id, c.language))
        }
    }
}

async fn open_case(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, nc: &NewCase) -> Result<Output> {
    open_case_with_contact(conn, ctx, actor, nc).await.map(|(case, _)| Output::Case(Box::new(case)))
}

async fn open_case_with_contact(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, nc: &NewCase) -> Result<(Case, Contact)> {
    check_contact(&nc.contact)?;
    if nc.contact.direction == Direction::Internal {
        return Err(StoreError::invalid("contact", "a case starts with a message, not a note"));
    }
    check_fields(&nc.fields, false)?;
    let subject = parse_subject(&nc.subject)?;
    require_team(conn, nc.team_id).await?;
    require_assignee(conn, nc.assignee_id).await?;
    if let CustomerRef::Id(id) = &nc.customer
        && load_customer(conn, *id).await?.is_none() {
            return Err(StoreError::invalid("customer_id", format!("customer {id} does not exist")));
        }
    // Validation is done: from here on we write.
    let (customer_id, customer_language) = resolve_customer(conn, ctx, actor, &nc.customer, nc.language).await?;
    let number = next_case_number(conn, ctx).await?;
    let mut tags: Vec<Tag> = nc.tags.clone();
    tags.sort();
    tags.dedup();
    let inbound = nc.contact.direction == Direction::Inbound;
    let language = nc.language.or(customer_language);
    let mut assignment = None;
    let mut assignee_id = nc.assignee_id;
    if nc.auto_assign && assignee_id.is_none()
        && let Some(team) = nc.team_id
    {
        let decision = auto_assign(conn, ctx, team, language).await?;
        if let anliegen_core::routing::Assignment::Assigned { agent_id, .. } = &decision {
            assignee_id = Some(*agent_id);
        }
        assignment = Some((team, decision));
    }
    let mut case = Case {
        id: CaseId::new(),
        reference: CaseRef::from_number(u64::try_from(number).map_err(|_| StoreError::Corrupt("case number".into()))?),
        subject,
        customer_id,
        status: CaseStatus::New,
        priority: nc.priority,
        team_id: nc.team_id,
        assignee_id,
        tags,
        fields: nc.fields.clone(),
        channel: nc.contact.channel,
        language,
        follow_up_of: None,
        contact_count: 1,
        created_at: ctx.now,
        updated_at: ctx.now,
        waiting_since: inbound.then_some(ctx.now),
        repeat_count: 0,
        escalation_level: 0,
        sla_due: None,
    };
    insert_case(ctx, &case);
    ctx.event(
        actor,
        Some(case.id),
        Some(case.customer_id),
        case_opened(&case, None),
    );
    if let Some((rule_id, rule)) = &nc.routed_by {
        ctx.event(
            actor,
            Some(case.id),
            Some(case.customer_id),
            EventKind::CaseRouted { rule_id: *rule_id, rule: rule.clone(), team_id: case.team_id, priority: Some(case.priority) },
        );
    }
    if let Some((team_id, decision)) = assignment {
        ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::CaseAssigned { team_id, decision });
    }
    if let Some(a) = case.assignee_id {
        ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::AssigneeChanged { from: None, to: Some(a) });
    }
    if !case.tags.is_empty() {
        let added = case.tags.iter().map(|t| t.as_str().to_owned()).collect();
        ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::TagsChanged { added, removed: vec![] });
    }
    let contact = insert_contact(ctx, actor, &case, &nc.contact)?;
    if let Some(reason) = &nc.contact.concern {
        ctx.event(
            actor,
            Some(case.id),
            Some(case.customer_id),
            EventKind::ConcernMatched { contact_id: contact.id, reason: reason.clone(), repeat: None },
        );
    }
    case.updated_at = ctx.now;
    Ok((case, contact))
}

async fn add_contact(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    case_id: CaseId,
    nc: &NewContact,
    status_after: Option<CaseStatus>,
) -> Result<Output> {
    check_contact(nc)?;
    let mut case = match ctx.cases.get(&case_id) {
        Some(c) => c.clone(),
        None => load_case(conn, case_id).await?.ok_or_else(|| StoreError::not_found("case", case_id))?,
    };
    let from_customer = nc.direction == Direction::Inbound;
    let effect = if from_customer { case.status.on_customer_contact() } else { CustomerContactEffect::Stays };
    // What the status becomes, checked before anything is written.
    let mut target = case.status;
    match effect {
        CustomerContactEffect::BecomesOpen | CustomerContactEffect::Reopens => target = CaseStatus::Open,
        CustomerContactEffect::Stays | CustomerContactEffect::OpensFollowUp => {}
    }
    if !from_customer {
        if case.status == CaseStatus::Closed && nc.direction == Direction::Outbound {
            return Err(StoreError::invalid("case", format!("case {} is closed; a reply needs a new case", case.reference)));
        }
        // An automatic mail (acknowledgement) is not an answer: status and waiting time stay.
        if nc.direction == Direction::Outbound && case.status == CaseStatus::New && !automatic(nc) {
            target = CaseStatus::Open;
        }
    }
    if let Some(wanted) = status_after {
        if from_customer {
            return Err(StoreError::invalid(
                "status",
                "a message from the customer sets the status by itself (it reopens a solved case); send no status with it",
            ));
        }
        if effect == CustomerContactEffect::OpensFollowUp {
            return Err(StoreError::invalid("status", "the case is closed; the contact opens a follow-up case"));
        }
        if !target.can_become(wanted) && !case.status.can_become(wanted) {
            return Err(StoreError::invalid("status", format!("a case cannot go from {} to {wanted}", case.status)));
        }
        target = wanted;
    }

    if effect == CustomerContactEffect::OpensFollowUp {
        let number = next_case_number(conn, ctx).await?;
        let mut follow = Case {
            id: CaseId::new(),
            reference: CaseRef::from_number(u64::try_from(number).map_err(|_| StoreError::Corrupt("case number".into()))?),
            subject: case.subject.clone(),
            customer_id: case.customer_id,
            status: CaseStatus::New,
            priority: case.priority,
            team_id: case.team_id,
            assignee_id: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
            channel: nc.channel,
            language: case.language,
            follow_up_of: Some(case.id),
            contact_count: 1,
            created_at: ctx.now,
            updated_at: ctx.now,
            waiting_since: Some(ctx.now),
            repeat_count: 0,
            escalation_level: 0,
            sla_due: None,
        };
        insert_case(ctx, &follow);
        ctx.event(
            actor,
            Some(case.id),
            Some(case.customer_id),
            EventKind::FollowUpOpened { follow_up: follow.id, reference: follow.reference },
        );
        ctx.event(
            actor,
            Some(follow.id),
            Some(follow.customer_id),
            case_opened(&follow, Some(case.id)),
        );
        let contact = insert_contact(ctx, actor, &follow, nc)?;
        if let Some(reason) = &nc.concern {
            ctx.event(
                actor,
                Some(follow.id),
                Some(follow.customer_id),
                EventKind::ConcernMatched { contact_id: contact.id, reason: reason.clone(), repeat: None },
            );
        }
        follow.updated_at = ctx.now;
        return Ok(Output::Contact { case: Box::new(follow), contact: Box::new(contact), follow_up_of: Some(case.id) });
    }

    let contact = insert_contact(ctx, actor, &case, nc)?;
    // A repeat: the customer comes back about a concern we recognised without our asking.
    // Writing anew about it (same order, near-duplicate) always is one; a reply in the thread or
    // with the reference is one while their earlier message is unanswered or the case was
    // solved. An answer while the case waits on the customer never is, nor an auto-reply.
    let mut repeat = None;
    let anew = matches!(
        nc.concern,
        Some(anliegen_core::resolve::ConcernMatch::SameIdentifier { .. } | anliegen_core::resolve::ConcernMatch::SimilarText { .. })
    );
    let chasing = case.waiting_since.is_some() || case.status == CaseStatus::Solved;
    if from_customer
        && !automatic(nc)
        && case.status != CaseStatus::WaitingOnCustomer
        && nc.concern.as_ref().is_some_and(|c| c.joins())
        && (anew || chasing)
    {
        case.repeat_count += 1;
        repeat = Some(case.repeat_count);
    }
    if let Some(reason) = &nc.concern {
        ctx.event(
            actor,
            Some(case.id),
            Some(case.customer_id),
            EventKind::ConcernMatched { contact_id: contact.id, reason: reason.clone(), repeat },
        );
    }
    if let Some(identity) = &nc.offer_identity {
        offer_identity(conn, ctx, actor, &case, contact.id, identity).await?;
    }
    if effect == CustomerContactEffect::Reopens {
        ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::CaseReopened { contact_id: contact.id });
    }
    if target != case.status {
        ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::StatusChanged { from: case.status, to: target });
        case.status = target;
    }
    case.contact_count += 1;
    case.updated_at = ctx.now;
    if from_customer {
        case.waiting_since.get_or_insert(ctx.now);
    } else if nc.direction == Direction::Outbound && !automatic(nc) {
        case.waiting_since = None;
    }
    save_case(conn, &case).await?;
    ctx.cases.insert(case.id, case.clone());
    Ok(Output::Contact { case: Box::new(case), contact: Box::new(contact), follow_up_of: None })
}

async fn update_case(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: CaseId, p: &CasePatch) -> Result<Output> {
    let mut case = load_case(conn, id).await?.ok_or_else(|| StoreError::not_found("case", id))?;
    let new_status = match p.status {
        Some(to) => case.status.transition(to).map_err(|e| StoreError::invalid("status", e.to_string()))?,
        None => None,
    };
    if let Some(team) = p.team_id {
        require_team(conn, team).await?;
    }
    if let Some(a) = p.assignee_id {
        require_assignee(conn, a).await?;
    }
    check_fields(&p.fields, true)?;
    let subject = p.subject.as_deref().map(parse_subject).transpose()?;
    if let Some(s) = &subject
        && s.is_empty() {
            return Err(StoreError::invalid("subject", "a subject cannot be empty"));
        }

    let (cid, cust) = (Some(case.id), Some(case.customer_id));
    let mut changed = false;
    if let Some(to) = new_status {
        ctx.event(actor, cid, cust, EventKind::StatusChanged { from: case.status, to });
        case.status = to;
        changed = true;
    }
    if let Some(to) = p.priority.filter(|p| *p != case.priority) {
        ctx.event(actor, cid, cust, EventKind::PriorityChanged { from: case.priority, to });
        case.priority = to;
        changed = true;
    }
    if let Some(to) = p.team_id.filter(|t| *t != case.team_id) {
        ctx.event(actor, cid, cust, EventKind::TeamChanged { from: case.team_id, to });
        case.team_id = to;
        changed = true;
    }
    if let Some(to) = p.assignee_id.filter(|a| *a != case.assignee_id) {
        ctx.event(actor, cid, cust, EventKind::AssigneeChanged { from: case.assignee_id, to });
        case.assignee_id = to;
        changed = true;
    }
    let before: BTreeSet<Tag> = case.tags.iter().cloned().collect();
    let mut after = before.clone();
    after.extend(p.add_tags.iter().cloned());
    for t in &p.remove_tags {
        after.remove(t);
    }
    if after != before {
        let added: Vec<String> = after.difference(&before).map(|t| t.as_str().to_owned()).collect();
        let removed: Vec<String> = before.difference(&after).map(|t| t.as_str().to_owned()).collect();
        for t in &removed {
            sqlx::query("DELETE FROM case_tags WHERE case_id = $1 AND tag = $2")
                .bind(case.id.to_string())
                .bind(t)
                .execute(&mut *conn)
                .await?;
        }
        for t in &added {
            sqlx::query("INSERT INTO case_tags (case_id, tag) VALUES ($1, $2)")
                .bind(case.id.to_string())
                .bind(t)
                .execute(&mut *conn)
                .await?;
        }
        ctx.event(actor, cid, cust, EventKind::TagsChanged { added, removed });
        case.tags = after.into_iter().collect();
        changed = true;
    }
    let mut field_changes = serde_json::Map::new();
    for (k, v) in &p.fields {
        let old = case.fields.get(k);
        if v.is_null() {
            if old.is_some() {
                case.fields.remove(k);
                field_changes.insert(k.clone(), serde_json::Value::Null);
            }
        } else if old != Some(v) {
            case.fields.insert(k.clone(), v.clone());
            field_changes.insert(k.clone(), v.clone());
        }
    }
    if !field_changes.is_empty() {
        ctx.event(actor, cid, cust, EventKind::FieldsChanged { changes: field_changes });
        changed = true;
    }
    if let Some(s) = subject.filter(|s| *s != case.subject) {
        ctx.event(actor, cid, cust, EventKind::SubjectChanged { from: case.subject.clone(), to: s.clone() });
        case.subject = s;
        changed = true;
    }
    if changed {
        case.updated_at = ctx.now;
        save_case(conn, &case).await?;
    }
    Ok(Output::Case(Box::new(case)))
}

async fn create_team(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, name: &str, description: &str) -> Result<Output> {
    let name = anliegen_core::team::parse_name("name", name)?;
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM teams WHERE lower(name) = lower($1)")
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict { field: Some("name".into()), message: format!("a team named '{name}' exists already") });
    }
    let team = Team {
        id: TeamId::new(),
        name,
        description: description.trim().to_owned(),
        created_at: ctx.now,
        assignment: Default::default(),
    };
    sqlx::query("INSERT INTO teams (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
        .bind(team.id.to_string())
        .bind(&team.name)
        .bind(&team.description)
        .bind(us(team.created_at))
        .execute(&mut *conn)
        .await?;
    ctx.event(actor, None, None, EventKind::TeamCreated { name: team.name.clone() });
    Ok(Output::Team(team))
}

async fn set_agent_teams(conn: &mut Conn, id: AgentId, teams: &[TeamId]) -> Result<()> {
    sqlx::query("DELETE FROM agent_teams WHERE agent_id = $1").bind(id.to_string()).execute(&mut *conn).await?;
    let unique: BTreeSet<&TeamId> = teams.iter().collect();
    for t in unique {
        sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(t.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn create_agent(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, na: &NewAgent) -> Result<Output> {
    let name = anliegen_core::team::parse_name("name", &na.name)?;
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM agents WHERE email = $1")
        .bind(na.email.normalised())
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict { field: Some("email".into()), message: format!("an agent with {} exists already", na.email) });
    }
    for t in &na.teams {
        require_team(conn, Some(*t)).await?;
    }
    let id = AgentId::new();
    sqlx::query(
        "INSERT INTO agents (id, email, name, role, password_hash, skills, languages, ui_language, time_zone, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id.to_string())
    .bind(na.email.normalised())
    .bind(&name)
    .bind(na.role.as_str())
    .bind(na.password_hash.as_deref())
    .bind(to_json(&na.skills))
    .bind(to_json(&na.languages))
    .bind(na.ui_language.code())
    .bind(na.time_zone.as_str())
    .bind(true)
    .bind(us(ctx.now))
    .execute(&mut *conn)
    .await?;
    set_agent_teams(conn, id, &na.teams).await?;
    ctx.event(actor, None, None, EventKind::AgentCreated { agent_id: id, role: na.role });
    let (agent, _) = load_agent(conn, id).await?.ok_or_else(|| StoreError::not_found("agent", id))?;
    Ok(Output::Agent(Box::new(agent)))
}

async fn update_agent(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: AgentId, p: &AgentPatch) -> Result<Output> {
    let (mut a, mut hash) = load_agent(conn, id).await?.ok_or_else(|| StoreError::not_found("agent", id))?;
    if let Some(teams) = &p.teams {
        for t in teams {
            require_team(conn, Some(*t)).await?;
        }
    }
    let mut fields = Vec::new();
    if let Some(n) = &p.name {
        let n = anliegen_core::team::parse_name("name", n)?;
        if n != a.name {
            a.name = n;
            fields.push("name".to_owned());
        }
    }
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = &p.$field {
                if a.$field != *v {
                    a.$field = v.clone();
                    fields.push(stringify!($field).to_owned());
                }
            }
        };
    }
    set!(role);
    set!(skills);
    set!(languages);
    set!(ui_language);
    set!(time_zone);
    set!(active);
    set!(max_open);
    let availability_changed = p.available.is_some_and(|v| v != a.available);
    if let Some(v) = p.available
        && v != a.available
    {
        a.available = v;
        fields.push("available".to_owned());
    }
    if let Some(teams) = &p.teams {
        let mut t = teams.clone();
        t.sort();
        t.dedup();
        if t != a.teams {
            a.teams = t;
            fields.push("teams".to_owned());
        }
    }
    if let Some(h) = &p.password_hash {
        hash = Some(h.clone());
        fields.push("password".to_owned());
    }
    if fields.is_empty() {
        return Ok(Output::Agent(Box::new(a)));
    }
    sqlx::query(
        "UPDATE agents SET name = $1, role = $2, password_hash = $3, skills = $4, languages = $5, ui_language = $6, \
         time_zone = $7, active = $8, updated_at = $9, available = $11, max_open = $12 WHERE id = $10",
    )
    .bind(&a.name)
    .bind(a.role.as_str())
    .bind(hash.as_deref())
    .bind(to_json(&a.skills))
    .bind(to_json(&a.languages))
    .bind(a.ui_language.code())
    .bind(a.time_zone.as_str())
    .bind(a.active)
    .bind(us(ctx.now))
    .bind(id.to_string())
    .bind(a.available)
    .bind(a.max_open.map(i64::from))
    .execute(&mut *conn)
    .await?;
    if availability_changed {
        ctx.event(actor, None, None, EventKind::AvailabilityChanged { agent_id: id, available: a.available });
    }
    if fields.iter().any(|f| f == "teams") {
        set_agent_teams(conn, id, &a.teams).await?;
    }
    ctx.event(actor, None, None, EventKind::AgentUpdated { agent_id: id, fields });
    Ok(Output::Agent(Box::new(a)))
}

async fn create_token(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, nt: &NewToken) -> Result<Output> {
    if load_agent(conn, nt.agent_id).await?.is_none() {
        return Err(StoreError::invalid("agent", format!("agent {} does not exist", nt.agent_id)));
    }
    let t = TokenInfo {
        id: uuid::Uuid::now_v7(),
        agent_id: nt.agent_id,
        name: nt.name.clone(),
        scopes: nt.scopes.clone(),
        created_at: ctx.now,
        expires_at: nt.expires_at,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, agent_id, name, token_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.to_string())
    .bind(t.agent_id.to_string())
    .bind(&t.name)
    .bind(&nt.hash)
    .bind(to_json(&t.scopes))
    .bind(us(t.created_at))
    .bind(t.expires_at.map(us))
    .execute(&mut *conn)
    .await?;
    ctx.event(actor, None, None, EventKind::TokenCreated { token_id: t.id, agent_id: t.agent_id, scopes: t.scopes.clone() });
    Ok(Output::Token(t))
}

async fn insert_job(conn: &mut Conn, job: &NewJob, now: Timestamp) -> Result<Option<uuid::Uuid>> {
    let id = uuid::Uuid::now_v7();
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe_key, status, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(&job.kind)
    .bind(to_json(&job.payload))
    .bind(job.dedupe_key.as_deref())
    .bind(us(job.run_at.unwrap_or(now)))
    .bind(job.max_attempts)
    .bind(us(now))
    .execute(&mut *conn)
    .await?;
    Ok((done.rows_affected() > 0).then_some(id))
}

async fn insert_events(conn: &mut Conn, events: &[PendingEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    lock_event_log(conn).await?;
    for chunk in events.chunks(400) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("INSERT INTO events (id, at, actor, case_id, customer_id, type, payload) ");
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(e.id.to_string())
                .push_bind(us(e.at))
                .push_bind(e.actor.as_str())
                .push_bind(e.case_id.as_deref())
                .push_bind(e.customer_id.as_deref())
                .push_bind(e.kind)
                .push_bind(e.payload.as_str());
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The outcome of trying one write inside a batch transaction.
enum Attempt {
    /// Applied (or refused before writing anything): keep the batch going.
    Done(Result<Output>),
    /// Something failed after writing began: the whole transaction must be rolled back.
    Abort(StoreError),
}

async fn attempt(conn: &mut Conn, ctx: &mut BatchCtx, write: &Write) -> Attempt {
    if let Some(claim) = &write.idempotency
        && let Some(stored) = ctx.replays.get(&(claim.scope.clone(), claim.key.clone())) {
            return Attempt::Done(Err(StoreError::Replay(stored.clone())));
        }
    let hot = write.command.is_intake();
    if !hot {
        // Everything buffered so far must be visible to this command's reads.
        if let Err(e) = flush(conn, ctx).await {
            return Attempt::Abort(e);
        }
        // The batch's identity lookup covered only the new cases' identities: this command
        // asks the database.
        ctx.known = None;
        ctx.created.clear();
        ctx.intake_seen = None;
        ctx.cases.clear();
    }
    let events_before = ctx.events.len();
    let out = match apply(conn, ctx, write).await {
        Ok(out) => out,
        Err(e) if e.is_domain() && ctx.events.len() == events_before => return Attempt::Done(Err(e)),
        Err(e) => return Attempt::Abort(e),
    };
    for job in &write.jobs {
        if let Err(e) = insert_job(conn, job, ctx.now).await {
            return Attempt::Abort(e);
        }
    }
    if let Some(claim) = &write.idempotency {
        let stored = (claim.render)(&out);
        ctx.pending.idempotency.push((
            claim.scope.clone(),
            claim.key.clone(),
            claim.request_hash.clone(),
            i64::from(stored.status),
            stored.body.clone(),
        ));
        // A key that repeats within the batch gets the response of its first use.
        ctx.replays.insert((claim.scope.clone(), claim.key.clone()), stored);
    }
    if !hot {
        if let Err(e) = flush(conn, ctx).await {
            return Attempt::Abort(e);
        }
        // The command may have moved identities (merge): look them up afresh from now on.
        ctx.known = None;
        ctx.created.clear();
    }
    Attempt::Done(Ok(out))
}

/// Looks up, for the whole batch at once, who owns the identities its new cases name and which
/// idempotency keys were used before; draws case numbers where the dialect needs to.
async fn prefetch(conn: &mut Conn, ctx: &mut BatchCtx, writes: &[Write]) -> Result<()> {
    let mut identities: Vec<&Identity> = writes
        .iter()
        .filter_map(|w| match &w.command {
            Command::OpenCase(nc) => match &nc.customer {
                CustomerRef::Identity { identity, .. } => Some(identity),
                CustomerRef::Id(_) | CustomerRef::New { .. } => None,
            },
            Command::IntakeMail(m) => match &m.target {
                MailTarget::NewCase(nc) => match &nc.customer {
                    CustomerRef::Identity { identity, .. } => Some(identity),
                    CustomerRef::Id(_) | CustomerRef::New { .. } => None,
                },
                MailTarget::Case { .. } => None,
            },
            _ => None,
        })
        .collect();
    identities.sort();
    identities.dedup();
    let mut known = HashMap::new();
    let mut reliable = true;
    for chunk in identities.chunks(400) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|i| (i.kind.as_str(), i.value.as_str())).collect();
        for r in identity_rows(conn, &pairs).await? {
            let merged: Option<String> = r.try_get("merged_into")?;
            if merged.is_some() {
                reliable = false;
            }
            let kind: String = r.try_get("kind")?;
            let id: String = r.try_get("id")?;
            let lang: Option<String> = r.try_get("language")?;
            let identity = Identity { kind: IdentityKind::parse(&kind).map_err(corrupt)?, value: r.try_get("value")? };
            known.insert(identity, (parse_id(&id)?, lang.as_deref().map(Language::parse).transpose().map_err(corrupt)?));
        }
    }
    ctx.known = reliable.then_some(known);

    let claims: Vec<(&str, &str)> =
        writes.iter().filter_map(|w| w.idempotency.as_ref().map(|c| (c.scope.as_str(), c.key.as_str()))).collect();
    let cutoff = us(ctx.now) - crate::IDEMPOTENCY_TTL_US;
    for chunk in claims.chunks(400) {
        let mut expired = Vec::new();
        for r in idempotency_rows(conn, chunk).await? {
            let scope: String = r.try_get("scope")?;
            let key: String = r.try_get("key")?;
            let created: i64 = r.try_get("created_at")?;
            if created <= cutoff {
                expired.push((scope, key));
                continue;
            }
            let status: i64 = r.try_get("status")?;
            let stored = StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body: r.try_get("body")?,
                request_hash: r.try_get("request_hash")?,
            };
            ctx.replays.insert((scope, key), stored);
        }
        if !expired.is_empty() {
            let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("DELETE FROM idempotency WHERE (scope, key) IN ");
            qb.push_tuples(&expired, |mut b, (scope, key)| {
                b.push_bind(scope.clone()).push_bind(key.clone());
            });
            qb.build().execute(&mut *conn).await?;
        }
    }

    let keys: Vec<&str> = writes
        .iter()
        .filter_map(|w| match &w.command {
            Command::IntakeMail(m) => Some(m.key.as_str()),
            _ => None,
        })
        .collect();
    if !keys.is_empty() {
        let mut seen = HashMap::new();
        for chunk in keys.chunks(400) {
            let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("SELECT key, case_id, contact_id FROM mail_intake WHERE key IN (");
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(k.to_string());
            }
            qb.push(")");
            for r in qb.build().fetch_all(&mut *conn).await? {
                seen.insert(
                    r.try_get::<String, _>("key")?,
                    (parse_id(&r.try_get::<String, _>("case_id")?)?, parse_id(&r.try_get::<String, _>("contact_id")?)?),
                );
            }
        }
        ctx.intake_seen = Some(seen);
    }

    // Mail may open a case (new case, or a follow-up of a closed one).
    let new_cases = writes.iter().filter(|w| w.command.is_intake()).count();
    prefetch_case_numbers(conn, ctx, new_cases).await
}

/// Inserts the buffered rows, many per statement, parents before children.
async fn flush(conn: &mut Conn, ctx: &mut BatchCtx) -> Result<()> {
    let p = std::mem::take(&mut ctx.pending);
    for chunk in p.customers.chunks(300) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO customers (id, name, organisation_id, language, time_zone, tier, notes, created_at, updated_at, name_key) ",
        );
        qb.push_values(chunk, |mut b, c| {
            b.push_bind(c.id.to_string())
                .push_bind(c.name.clone())
                .push_bind(c.organisation_id.map(|o| o.to_string()))
                .push_bind(c.language.map(|l| l.code()))
                .push_bind(c.time_zone.as_ref().map(|t| t.as_str().to_owned()))
                .push_bind(c.tier.as_str().to_owned())
                .push_bind(c.notes.clone())
                .push_bind(us(c.created_at))
                .push_bind(us(c.updated_at))
                .push_bind(name_key(c.name.as_deref()));
        });
        qb.build().execute(&mut *conn).await?;
    }
    let now = us(ctx.now);
    for chunk in p.identities.chunks(500) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("INSERT INTO identities (kind, value, customer_id, created_at) ");
        qb.push_values(chunk, |mut b, (i, c)| {
            b.push_bind(i.kind.as_str()).push_bind(i.value.clone()).push_bind(c.to_string()).push_bind(now);
        });
        qb.build().execute(&mut *conn).await?;
    }
    for chunk in p.cases.chunks(200) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO cases (id, number, subject, customer_id, status, priority, team_id, assignee_id, tags, fields, channel, \
             language, follow_up_of, contact_count, created_at, updated_at, waiting_since, unsolved, queue_due, repeat_count, \
             escalation_level) ",
        );
        qb.push_values(chunk, |mut b, c| {
            b.push_bind(c.id.to_string())
                .push_bind(c.reference.number() as i64)
                .push_bind(c.subject.clone())
                .push_bind(c.customer_id.to_string())
                .push_bind(c.status.as_str())
                .push_bind(c.priority.as_str())
                .push_bind(c.team_id.map(|t| t.to_string()))
                .push_bind(c.assignee_id.map(|a| a.to_string()))
                .push_bind(to_json(&c.tags))
                .push_bind(to_json(&c.fields))
                .push_bind(c.channel.as_str())
                .push_bind(c.language.map(|l| l.code()))
                .push_bind(c.follow_up_of.map(|f| f.to_string()))
                .push_bind(c.contact_count)
                .push_bind(us(c.created_at))
                .push_bind(us(c.updated_at))
                .push_bind(c.waiting_since.map(us))
                .push_bind(unsolved(c))
                .push_bind(queue_due(c))
                .push_bind(c.repeat_count)
                .push_bind(c.escalation_level);
        });
        qb.build().execute(&mut *conn).await?;
    }
    let tags: Vec<(String, String)> =
        p.cases.iter().flat_map(|c| c.tags.iter().map(move |t| (c.id.to_string(), t.as_str().to_owned()))).collect();
    for chunk in tags.chunks(500) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("INSERT INTO case_tags (case_id, tag) ");
        qb.push_values(chunk, |mut b, (c, t)| {
            b.push_bind(c.clone()).push_bind(t.clone());
        });
        qb.build().execute(&mut *conn).await?;
    }
    for chunk in p.contacts.chunks(250) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO contacts (id, case_id, channel, direction, visibility, author, subject, text, html, attachments, mail, created_at, \
             concern, phone_call) ",
        );
        qb.push_values(chunk, |mut b, c| {
            b.push_bind(c.id.to_string())
                .push_bind(c.case_id.to_string())
                .push_bind(c.channel.as_str())
                .push_bind(c.direction.as_str())
                .push_bind(c.visibility.as_str())
                .push_bind(to_json(&c.author))
                .push_bind(c.subject.clone())
                .push_bind(c.text.clone())
                .push_bind(c.html.as_ref().map(|h| h.as_str().to_owned()))
                .push_bind(to_json(&c.attachments))
                .push_bind(c.mail.as_ref().map(to_json))
                .push_bind(us(c.created_at))
                .push_bind(c.concern.as_ref().map(to_json))
                .push_bind(c.call.as_ref().map(to_json));
        });
        qb.build().execute(&mut *conn).await?;
    }
    let mut seen_blobs = BTreeSet::new();
    let blobs: Vec<_> = p.blobs.into_iter().filter(|(h, _, _)| seen_blobs.insert(h.clone())).collect();
    let mut start = 0;
    while start < blobs.len() {
        // Up to 8 MB or 200 rows per statement.
        let mut end = start;
        let mut bytes = 0usize;
        while end < blobs.len() && end - start < 200 && (end == start || bytes < 8 << 20) {
            if let Some((_, d, BlobLocation::Inline)) = blobs.get(end) {
                bytes += d.len();
            }
            end += 1;
        }
        let chunk = blobs.get(start..end).unwrap_or_default();
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("INSERT INTO blobs (hash, size, data, pack, pack_offset, created_at) ");
        qb.push_values(chunk, |mut b, (hash, data, loc)| {
            let (inline, pack, offset): (Option<Vec<u8>>, Option<i64>, Option<i64>) = match loc {
                BlobLocation::Inline => (Some(data.as_ref().clone()), None, None),
                BlobLocation::Pack { pack, offset } => (None, Some(*pack), Some(*offset)),
            };
            b.push_bind(hash.clone()).push_bind(data.len() as i64).push_bind(inline).push_bind(pack).push_bind(offset).push_bind(now);
        });
        qb.push(" ON CONFLICT (hash) DO NOTHING");
        qb.build().execute(&mut *conn).await?;
        start = end;
    }
    for chunk in p.message_ids.chunks(400) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("INSERT INTO mail_messages (message_id, contact_id, case_id, direction, created_at) ");
        qb.push_values(chunk, |mut b, (mid, contact, case, dir)| {
            b.push_bind(mid.clone()).push_bind(contact.to_string()).push_bind(case.to_string()).push_bind(dir.as_str()).push_bind(now);
        });
        qb.push(" ON CONFLICT (message_id, contact_id) DO NOTHING");
        qb.build().execute(&mut *conn).await?;
    }
    for chunk in p.intake_keys.chunks(400) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("INSERT INTO mail_intake (key, contact_id, case_id, created_at) ");
        qb.push_values(chunk, |mut b, (key, contact, case)| {
            b.push_bind(key.clone()).push_bind(contact.to_string()).push_bind(case.to_string()).push_bind(now);
        });
        qb.build().execute(&mut *conn).await?;
    }
    for chunk in p.idempotency.chunks(300) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("INSERT INTO idempotency (scope, key, request_hash, status, body, created_at) ");
        qb.push_values(chunk, |mut b, (scope, key, hash, status, body)| {
            b.push_bind(scope.clone()).push_bind(key.clone()).push_bind(hash.clone()).push_bind(*status).push_bind(body.clone()).push_bind(now);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

const SLA_CASE_SELECT: &str = "SELECT c.id, c.status, c.created_at, c.priority, c.team_id, c.channel, u.tier, u.organisation_id, \
     s.clock, s.seq FROM cases c JOIN customers u ON u.id = c.customer_id LEFT JOIN case_sla s ON s.case_id = c.id";

#[derive(sqlx::FromRow)]
struct SlaCaseRow {
    id: String,
    status: String,
    created_at: i64,
    priority: String,
    team_id: Option<String>,
    channel: String,
    tier: String,
    organisation_id: Option<String>,
    clock: Option<String>,
    seq: Option<i64>,
}

impl SlaCaseRow {
    fn into_sla_case(self) -> Result<SlaCase> {
        let case_id: CaseId = parse_id(&self.id)?;
        let record = match (self.clock, self.seq) {
            (Some(clock), Some(seq)) => Some(SlaRecord { case_id, clock: json(&clock)?, seq }),
            _ => None,
        };
        Ok(SlaCase {
            case_id,
            status: CaseStatus::parse(&self.status).map_err(corrupt)?,
            created_at: ts(self.created_at)?,
            priority: Priority::parse(&self.priority).map_err(corrupt)?,
            team_id: opt_id(self.team_id.as_deref())?,
            channel: Channel::parse(&self.channel).map_err(corrupt)?,
            tier: anliegen_core::Tier::parse(&self.tier).map_err(corrupt)?,
            organisation_id: opt_id(self.organisation_id.as_deref())?,
            record,
        })
    }
}

/// What a clock stores besides itself: the next check, whether it is active, the case's due.
fn sla_columns(clock: &anliegen_core::sla::SlaClock) -> (Option<i64>, i32, i64) {
    let next = clock
        .metrics()
        .filter(|(_, m)| m.active())
        .flat_map(|(_, m)| [m.warn_at, m.due_at])
        .flatten()
        .min()
        .map(us);
    let active = i32::from(clock.metrics().any(|(_, m)| m.active()));
    (next, active, clock.next_due().map(us).unwrap_or(NO_SLA_DUE))
}

/// Whether a projection step starting at `first` was applied already (by another runner or
/// node): its checkpoint is at or past it. Takes the checkpoint's lock on PostgreSQL first.
async fn applied_already(conn: &mut Conn, name: &str, first: i64) -> Result<bool> {
    lock_checkpoint(conn, name).await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT seq FROM projection_checkpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(current.unwrap_or(0) >= first)
}

/// Saves SLA clocks, many rows per statement (a projection step may carry hundreds).
async fn save_sla_clocks(conn: &mut Conn, clocks: &[SlaRecord], seq: i64, now: Timestamp) -> Result<()> {
    // One row per case and statement: a case may have several clocks in one step; the last wins.
    let mut last: HashMap<CaseId, &SlaRecord> = HashMap::with_capacity(clocks.len());
    for c in clocks {
        last.insert(c.case_id, c);
    }
    let mut rows: Vec<&SlaRecord> = last.into_values().collect();
    rows.sort_by_key(|c| c.case_id);
    for chunk in rows.chunks(300) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("INSERT INTO case_sla (case_id, clock, seq, next_check, active, due, saved_at) ");
        qb.push_values(chunk, |mut b, c| {
            let (next, active, due) = sla_columns(&c.clock);
            b.push_bind(c.case_id.to_string())
                .push_bind(to_json(&c.clock))
                .push_bind(seq)
                .push_bind(next)
                .push_bind(active)
                .push_bind(due)
                .push_bind(us(now));
        });
        qb.push(
            " ON CONFLICT (case_id) DO UPDATE SET clock = excluded.clock, seq = excluded.seq, next_check = excluded.next_check, \
             active = excluded.active, due = excluded.due, saved_at = excluded.saved_at",
        );
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// A write beside the group-commit writer (a projection's step, a checkpoint): `run` does its
/// statements inside a transaction it is given, `finish` hears the outcome once that
/// transaction committed or failed. See `Backend::side`.
struct SideJob {
    run: SideRun,
    finish: SideFinish,
}

type SideRun = Box<dyn for<'c> FnOnce(&'c mut Conn) -> futures::future::BoxFuture<'c, Result<()>> + Send>;
type SideFinish = Box<dyn FnOnce(Result<()>) + Send>;

/// The statements of a side write answering `T`, run in a transaction it is given.
trait SideWrite<T>: for<'c> FnOnce(&'c mut Conn) -> futures::future::BoxFuture<'c, Result<T>> + Send + 'static {}

impl<T, F> SideWrite<T> for F where F: for<'c> FnOnce(&'c mut Conn) -> futures::future::BoxFuture<'c, Result<T>> + Send + 'static {}

impl SideJob {
    // Only SQLite queues side jobs; PostgreSQL runs each in a transaction of its own.
    #[allow(dead_code)]
    fn new<T: Send + 'static>(f: impl SideWrite<T>) -> (Self, tokio::sync::oneshot::Receiver<Result<T>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let put = slot.clone();
        let job = SideJob {
            run: Box::new(move |conn| {
                Box::pin(async move {
                    let v = f(conn).await?;
                    if let Ok(mut s) = put.lock() {
                        *s = Some(v);
                    }
                    Ok(())
                })
            }),
            finish: Box::new(move |outcome| {
                let value = slot.lock().ok().and_then(|mut s| s.take());
                let answer = match (outcome, value) {
                    (Ok(()), Some(v)) => Ok(v),
                    (Ok(()), None) => Err(StoreError::Unavailable("a side write lost its result".into())),
                    (Err(e), _) => Err(e),
                };
                tx.send(answer).ok();
            }),
        };
        (job, rx)
    }
}

/// Runs side jobs inside an open transaction, each under a savepoint so that one failing job
/// leaves the others (and the transaction) intact. Returns each job's `finish` with its outcome,
/// to be called after the commit.
async fn run_side_jobs(conn: &mut Conn, jobs: Vec<SideJob>) -> Result<Vec<(SideFinish, Result<()>)>> {
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs {
        sqlx::query("SAVEPOINT side_write").execute(&mut *conn).await?;
        let outcome = (job.run)(&mut *conn).await;
        if outcome.is_err() {
            sqlx::query("ROLLBACK TO SAVEPOINT side_write").execute(&mut *conn).await?;
        }
        sqlx::query("RELEASE SAVEPOINT side_write").execute(&mut *conn).await?;
        done.push((job.finish, outcome));
    }
    Ok(done)
}

/// Tells the side jobs of a transaction how it ended.
fn finish_side_jobs(done: Vec<(SideFinish, Result<()>)>, committed: std::result::Result<(), String>) {
    for (finish, outcome) in done {
        match &committed {
            Ok(()) => finish(outcome),
            Err(e) => finish(Err(StoreError::Unavailable(format!("the transaction of a side write failed: {e}")))),
        }
    }
}

impl Backend {
    /// Runs `writes` in one transaction. `Err` means the transaction was rolled back as a
    /// whole (the writer then retries each write on its own); `Ok` holds one result per write.
    async fn batch(&self, writes: &[Write], blobs: PreparedBlobs, now: Timestamp) -> Result<Vec<Result<Output>>> {
        let _busy = writer_busy(self);
        let mut tx = begin_write(&self.write_pool).await?;
        let mut ctx = BatchCtx::new(now, blobs);
        let mut results = Vec::with_capacity(writes.len());
        let outcome: Result<()> = async {
            let t = std::time::Instant::now();
            prefetch(&mut tx, &mut ctx, writes).await?;
            metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "prefetch").record(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            for w in writes {
                match attempt(&mut tx, &mut ctx, w).await {
                    Attempt::Done(r) => results.push(r),
                    Attempt::Abort(e) => return Err(e),
                }
            }
            metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "apply").record(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            flush(&mut tx, &mut ctx).await?;
            finish_batch(&mut tx, &ctx).await?;
            metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "flush").record(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            insert_events(&mut tx, &ctx.events).await?;
            metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "events").record(t.elapsed().as_secs_f64());
            Ok(())
        }
        .await;
        // Side writes queued meanwhile ride in this transaction (SQLite: one writer, one commit).
        let mut side_done = Vec::new();
        if outcome.is_ok() {
            let jobs = take_side_jobs(self);
            if !jobs.is_empty() {
                let t = std::time::Instant::now();
                let n = jobs.len();
                match run_side_jobs(&mut tx, jobs).await {
                    Ok(done) => side_done = done,
                    Err(e) => {
                        tracing::warn!(error = %e, jobs = n, "side writes could not run in the batch");
                        tx.rollback().await.ok();
                        return Err(e);
                    }
                }
                metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "side").record(t.elapsed().as_secs_f64());
            }
        }
        if let Err(e) = outcome {
            tx.rollback().await.ok();
            // A lone write whose idempotency key another node stored meanwhile: answer with
            // what was stored.
            if let ([w], true) = (writes, is_unique_violation(&e))
                && let Some(claim) = &w.idempotency
                    && let Some(stored) = crate::Backend::idempotent_response(self, &claim.scope, &claim.key, now).await? {
                        return Ok(vec![Err(StoreError::Replay(stored))]);
                    }
            return Err(e);
        }
        let t = std::time::Instant::now();
        let committed = tx.commit().await;
        finish_side_jobs(side_done, committed.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        committed?;
        metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "commit").record(t.elapsed().as_secs_f64());
        Ok(results)
    }
}

#[async_trait::async_trait]
impl crate::Backend for Backend {
    async fn sla_cases(&self, ids: &[CaseId]) -> Result<Vec<SlaCase>> {
        let rows: Vec<SlaCaseRow> = rows_by_ids(&self.pool, &format!("{SLA_CASE_SELECT} WHERE c.id IN ("), ids).await?;
        rows.into_iter().map(SlaCaseRow::into_sla_case).collect()
    }

    async fn timer_due(
        &self,
        rule_id: uuid::Uuid,
        statuses: &[CaseStatus],
        since: anliegen_core::automation::Since,
        threshold: Timestamp,
        limit: i64,
    ) -> Result<Vec<(CaseId, i64)>> {
        use anliegen_core::automation::Since;
        let anchor = match since {
            Since::Created => "c.created_at",
            Since::StatusChanged => "COALESCE(c.status_since, c.created_at)",
            Since::Updated => "c.updated_at",
        };
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!("SELECT c.id, {anchor} FROM cases c WHERE c.status IN ("));
        let mut sep = qb.separated(", ");
        for st in statuses {
            sep.push_bind(st.as_str());
        }
        qb.push(format!(") AND {anchor} <= "))
            .push_bind(us(threshold))
            .push(" AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.rule_id = ")
            .push_bind(rule_id.to_string())
            .push(format!(" AND r.case_id = c.id AND r.anchor = {anchor}) ORDER BY {anchor}, c.id LIMIT "))
            .push_bind(limit.clamp(1, 10_000));
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(|(id, a)| Ok((parse_id(&id)?, a))).collect()
    }

    async fn sla_open_cases(&self, after: Option<CaseId>, limit: i64) -> Result<Vec<SlaCase>> {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(SLA_CASE_SELECT);
        qb.push(" WHERE s.active = 1");
        if let Some(a) = after {
            qb.push(" AND s.case_id > ").push_bind(a.to_string());
        }
        qb.push(" ORDER BY s.case_id LIMIT ").push_bind(limit.clamp(1, 10_000));
        let rows: Vec<SlaCaseRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(SlaCaseRow::into_sla_case).collect()
    }

    async fn apply_sla(&self, name: &str, clocks: &[SlaRecord], first: i64, upto: i64, now: Timestamp) -> Result<bool> {
        let name = name.to_owned();
        let clocks = clocks.to_vec();
        self.side(move |conn: &mut Conn| -> futures::future::BoxFuture<'_, Result<bool>> {
            Box::pin(async move {
                if applied_already(conn, &name, first).await? {
                    return Ok(false);
                }
                save_sla_clocks(conn, &clocks, upto, now).await?;
                write_checkpoint(conn, &name, upto, now).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn save_sla_recomputed(&self, clocks: &[SlaRecord], now: Timestamp) -> Result<u64> {
        // Many rows per statement (a recompute goes over every open case): the new values as a
        // derived table, joined on id and on the batch that wrote the clock (unchanged since).
        let mut tx = begin_write(self.side_pool()).await?;
        let mut saved = 0;
        for chunk in clocks.chunks(400) {
            let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
                "UPDATE case_sla SET clock = v.clock, next_check = v.next_check, active = v.active, due = v.due, saved_at = ",
            );
            qb.push_bind(us(now)).push(" FROM (");
            for (i, c) in chunk.iter().enumerate() {
                let (next, active, due) = sla_columns(&c.clock);
                qb.push(if i == 0 { "SELECT " } else { " UNION ALL SELECT " })
                    .push("CAST(")
                    .push_bind(c.case_id.to_string())
                    .push(" AS TEXT) AS case_id, CAST(")
                    .push_bind(to_json(&c.clock))
                    .push(" AS TEXT) AS clock, CAST(")
                    .push_bind(next)
                    .push(" AS BIGINT) AS next_check, CAST(")
                    .push_bind(active)
                    .push(" AS INTEGER) AS active, CAST(")
                    .push_bind(due)
                    .push(" AS BIGINT) AS due, CAST(")
                    .push_bind(c.seq)
                    .push(" AS BIGINT) AS seq");
            }
            qb.push(") AS v WHERE case_sla.case_id = v.case_id AND case_sla.seq = v.seq");
            saved += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(saved)
    }

    async fn sla_checks(&self, now: Timestamp, limit: i64) -> Result<Vec<SlaRecord>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT case_id, clock, seq FROM case_sla WHERE next_check IS NOT NULL AND next_check <= $1 ORDER BY next_check LIMIT $2",
        )
        .bind(us(now))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, clock, seq)| Ok(SlaRecord { case_id: parse_id(&id)?, clock: json(&clock)?, seq }))
            .collect()
    }

    async fn set_sla_next_check(&self, case_id: CaseId, seq: i64, next: Option<Timestamp>) -> Result<()> {
        let mut conn = self.side_pool().acquire().await?;
        sqlx::query("UPDATE case_sla SET next_check = $1 WHERE case_id = $2 AND seq = $3")
            .bind(next.map(us))
            .bind(case_id.to_string())
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    fn kind(&self) -> crate::BackendKind {
        KIND
    }

    async fn run_batch(&self, writes: &[Write], now: Timestamp) -> Result<Vec<Result<Output>>> {
        let t = std::time::Instant::now();
        let blobs = prepare_blobs(self, writes).await?;
        metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "blobs").record(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let r = self.batch(writes, blobs, now).await;
        metrics::histogram!("anliegen_batch_phase_seconds", "phase" => "batch").record(t.elapsed().as_secs_f64());
        r
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        let mut conn = self.pool.acquire().await?;
        load_customer(&mut conn, id).await
    }

    async fn customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>> {
        let mut conn = self.pool.acquire().await?;
        match identity_owner(&mut conn, identity).await? {
            Some(id) => load_customer(&mut conn, id).await,
            None => Ok(None),
        }
    }

    async fn customers(&self, cursor: Option<Cursor>, limit: i64) -> Result<Page<Customer>> {
        let mut conn = self.pool.acquire().await?;
        let (t, id) = cursor.map(|c| (c.created_us, c.id.to_string())).unwrap_or((i64::MAX, String::new()));
        let sql = format!(
            "SELECT {CUSTOMER_COLS} FROM customers WHERE merged_into IS NULL AND (created_at < $1 OR (created_at = $1 AND id < $2)) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<CustomerRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(t)
            .bind(if cursor.is_some() { id } else { "~".to_owned() })
            .bind(limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let cid: CustomerId = parse_id(&row.id)?;
            let idents = load_identities(&mut conn, cid).await?;
            items.push(row.into_customer(idents)?);
        }
        Ok(page(items, limit, |c: &Customer| Cursor { created_us: us(c.created_at), id: c.id.0 }))
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        let mut conn = self.pool.acquire().await?;
        load_case(&mut conn, id).await
    }

    async fn cases_by_ids(&self, ids: &[CaseId]) -> Result<Vec<Case>> {
        let rows: Vec<CaseRow> = rows_by_ids(&self.pool, &format!("SELECT {CASE_COLS} FROM cases WHERE id IN ("), ids).await?;
        rows.into_iter().map(CaseRow::into_case).collect()
    }

    async fn customers_by_ids(&self, ids: &[CustomerId]) -> Result<Vec<Customer>> {
        let rows: Vec<CustomerRow> =
            rows_by_ids(&self.pool, &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id IN ("), ids).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        #[derive(sqlx::FromRow)]
        struct IdentityRow {
            customer_id: String,
            kind: String,
            value: String,
        }
        let found: Vec<&String> = rows.iter().map(|r| &r.id).collect();
        let mut identities: HashMap<String, Vec<Identity>> = HashMap::new();
        let idents: Vec<IdentityRow> =
            rows_by_ids(&self.pool, "SELECT customer_id, kind, value FROM identities WHERE customer_id IN (", &found).await?;
        for r in idents {
            identities
                .entry(r.customer_id)
                .or_default()
                .push(Identity { kind: IdentityKind::parse(&r.kind).map_err(corrupt)?, value: r.value });
        }
        rows.into_iter()
            .map(|row| {
                let mut mine = identities.remove(&row.id).unwrap_or_default();
                // The order `load_identities` gives.
                mine.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
                row.into_customer(mine)
            })
            .collect()
    }

    async fn case_by_ref(&self, r: CaseRef) -> Result<Option<Case>> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE number = $1");
        let row: Option<CaseRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(r.number() as i64).fetch_optional(&self.pool).await?;
        row.map(CaseRow::into_case).transpose()
    }

    async fn cases(&self, f: &CaseFilter, cursor: Option<Cursor>, limit: i64) -> Result<Page<Case>> {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!("SELECT {CASE_COLS} FROM cases c WHERE 1=1"));
        push_case_filter(&mut qb, f);
        if let Some(cur) = cursor {
            qb.push(" AND (c.created_at < ")
                .push_bind(cur.created_us)
                .push(" OR (c.created_at = ")
                .push_bind(cur.created_us)
                .push(" AND c.id < ")
                .push_bind(cur.id.to_string())
                .push("))");
        }
        qb.push(" ORDER BY c.created_at DESC, c.id DESC LIMIT ").push_bind(limit + 1);
        let rows: Vec<CaseRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let items = rows.into_iter().map(CaseRow::into_case).collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit, |c: &Case| Cursor { created_us: us(c.created_at), id: c.id.0 }))
    }

    async fn queue(&self, f: &CaseFilter, order: QueueOrder, after: Option<Cursor>, limit: i64) -> Result<Page<Case>> {
        // By SLA due time the walk goes along `case_sla (due, case_id)`; a case without a clock
        // yet (its first event not applied) joins the list within a second.
        let from = if order == QueueOrder::SlaDue {
            "FROM cases c JOIN case_sla s ON s.case_id = c.id"
        } else {
            "FROM cases c"
        };
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!("SELECT {CASE_COLS} {from} WHERE 1=1"));
        push_case_filter(&mut qb, f);
        let (key, dir) = match order {
            QueueOrder::Due => ("c.queue_due", ">"),
            QueueOrder::RecentlyUpdated => ("c.updated_at", "<"),
            QueueOrder::Newest => ("c.created_at", "<"),
            QueueOrder::SlaDue => ("s.due", ">"),
        };
        if let Some(cur) = after {
            qb.push(format!(" AND ({key} {dir} "))
                .push_bind(cur.created_us)
                .push(format!(" OR ({key} = "))
                .push_bind(cur.created_us)
                .push(format!(" AND c.id {dir} "))
                .push_bind(cur.id.to_string())
                .push("))");
        }
        let sort = if dir == ">" { "ASC" } else { "DESC" };
        let tie = if order == QueueOrder::SlaDue { "s.case_id" } else { "c.id" };
        qb.push(format!(" ORDER BY {key} {sort}, {tie} {sort} LIMIT ")).push_bind(limit + 1);
        let rows: Vec<CaseRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let items = rows.into_iter().map(CaseRow::into_case).collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit, |c: &Case| Cursor {
            created_us: match order {
                QueueOrder::Due => queue_due(c),
                QueueOrder::RecentlyUpdated => us(c.updated_at),
                QueueOrder::Newest => us(c.created_at),
                QueueOrder::SlaDue => c.sla_due.map(us).unwrap_or(NO_SLA_DUE),
            },
            id: c.id.0,
        }))
    }

    async fn merged_into(&self, id: CaseId) -> Result<Option<CaseId>> {
        let t: Option<String> = sqlx::query_scalar("SELECT target FROM case_merges WHERE source = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        t.map(|t| parse_id(&t)).transpose()
    }

    async fn merge_links(&self, id: CaseId) -> Result<(Vec<CaseId>, Option<CaseId>)> {
        let merged: Vec<String> = sqlx::query_scalar("SELECT source FROM case_merges WHERE target = $1 ORDER BY merged_at")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        let split: Option<String> = sqlx::query_scalar("SELECT source FROM case_splits WHERE new_case = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok((merged.iter().map(|m| parse_id(m)).collect::<Result<_>>()?, split.map(|s| parse_id(&s)).transpose()?))
    }

    async fn organisation(&self, id: anliegen_core::OrganisationId) -> Result<Option<anliegen_core::Organisation>> {
        let row: Option<(String, i64)> = sqlx::query_as("SELECT name, created_at FROM organisations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(name, at)| Ok(anliegen_core::Organisation { id, name, created_at: ts(at)? })).transpose()
    }

    async fn macros(&self) -> Result<Vec<anliegen_core::Macro>> {
        let sql = format!("SELECT {MACRO_COLS} FROM macros ORDER BY lower(name)");
        let rows: Vec<MacroRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.into_iter().map(macro_of).collect()
    }

    async fn macro_by_id(&self, id: anliegen_core::MacroId) -> Result<Option<anliegen_core::Macro>> {
        let sql = format!("SELECT {MACRO_COLS} FROM macros WHERE id = $1");
        let row: Option<MacroRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.map(macro_of).transpose()
    }

    async fn tag_catalog(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT t.name, t.description, (SELECT COUNT(*) FROM case_tags ct WHERE ct.tag = t.name) FROM tag_catalog t ORDER BY t.name",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn customer_labels(&self, ids: &[CustomerId]) -> Result<HashMap<CustomerId, String>> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "SELECT c.id, c.name, (SELECT i.value FROM identities i WHERE i.customer_id = c.id ORDER BY i.created_at LIMIT 1) \
             FROM customers c WHERE c.id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(id.to_string());
        }
        qb.push(")");
        let rows: Vec<(String, Option<String>, Option<String>)> = qb.build_query_as().fetch_all(&self.pool).await?;
        for (id, name, first) in rows {
            let label = name.filter(|n| !n.trim().is_empty()).or(first).unwrap_or_default();
            out.insert(parse_id(&id)?, label);
        }
        Ok(out)
    }

    async fn count_cases(&self, f: &CaseFilter, cap: i64) -> Result<i64> {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM cases c WHERE 1=1");
        push_case_filter(&mut qb, f);
        qb.push(" LIMIT ").push_bind(cap).push(") capped");
        Ok(qb.build_query_scalar().fetch_one(&self.pool).await?)
    }

    async fn contacts_page(&self, case_id: CaseId, include_internal: bool, before: Option<Cursor>, limit: i64) -> Result<Page<Contact>> {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!("SELECT {CONTACT_COLS} FROM contacts WHERE case_id = "));
        qb.push_bind(case_id.to_string());
        if !include_internal {
            qb.push(" AND visibility = 'public'");
        }
        if let Some(cur) = before {
            qb.push(" AND (created_at < ")
                .push_bind(cur.created_us)
                .push(" OR (created_at = ")
                .push_bind(cur.created_us)
                .push(" AND id < ")
                .push_bind(cur.id.to_string())
                .push("))");
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit + 1);
        let rows: Vec<ContactRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let items = rows.into_iter().map(ContactRow::into_contact).collect::<Result<Vec<_>>>()?;
        let mut page = page(items, limit, |c: &Contact| Cursor { created_us: us(c.created_at), id: c.id.0 });
        page.items.reverse();
        Ok(page)
    }

    async fn case_events_since(&self, case_id: CaseId, since: Timestamp, limit: i64) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE case_id = $1 AND at >= $2 ORDER BY seq DESC LIMIT $3");
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(case_id.to_string())
            .bind(us(since))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut events = rows.into_iter().map(EventRow::into_event).collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    async fn save_draft(&self, agent: AgentId, case_id: CaseId, draft: &Draft) -> Result<()> {
        sqlx::query(
            "INSERT INTO drafts (agent_id, case_id, kind, body, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (agent_id, case_id) DO UPDATE SET kind = excluded.kind, body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(agent.to_string())
        .bind(case_id.to_string())
        .bind(&draft.kind)
        .bind(&draft.body)
        .bind(us(draft.updated_at))
        .execute(self.side_pool())
        .await?;
        Ok(())
    }

    async fn draft(&self, agent: AgentId, case_id: CaseId) -> Result<Option<Draft>> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT kind, body, updated_at FROM drafts WHERE agent_id = $1 AND case_id = $2")
                .bind(agent.to_string())
                .bind(case_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(kind, body, at)| Ok(Draft { kind, body, updated_at: ts(at)? })).transpose()
    }

    async fn delete_draft(&self, agent: AgentId, case_id: CaseId) -> Result<()> {
        sqlx::query("DELETE FROM drafts WHERE agent_id = $1 AND case_id = $2")
            .bind(agent.to_string())
            .bind(case_id.to_string())
            .execute(self.side_pool())
            .await?;
        Ok(())
    }

    async fn save_view(&self, view: &SavedView) -> Result<()> {
        sqlx::query(
            "INSERT INTO saved_views (id, agent_id, name, query, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, query = excluded.query",
        )
        .bind(view.id.to_string())
        .bind(view.agent_id.to_string())
        .bind(&view.name)
        .bind(&view.query)
        .bind(us(view.created_at))
        .execute(self.side_pool())
        .await?;
        Ok(())
    }

    async fn views(&self, agent: AgentId) -> Result<Vec<SavedView>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT id, name, query, created_at FROM saved_views WHERE agent_id = $1 ORDER BY name, id")
                .bind(agent.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, name, query, at)| {
                Ok(SavedView { id: parse_id(&id)?, agent_id: agent, name, query, created_at: ts(at)? })
            })
            .collect()
    }

    async fn delete_view(&self, agent: AgentId, id: uuid::Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM saved_views WHERE agent_id = $1 AND id = $2")
            .bind(agent.to_string())
            .bind(id.to_string())
            .execute(self.side_pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn contacts(&self, case_id: CaseId, include_internal: bool) -> Result<Vec<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE case_id = $1 AND (visibility = 'public' OR $2) ORDER BY created_at, id"
        );
        let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(case_id.to_string())
            .bind(include_internal)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(ContactRow::into_contact).collect()
    }

    async fn contact(&self, id: ContactId) -> Result<Option<Contact>> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1");
        let row: Option<ContactRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.map(ContactRow::into_contact).transpose()
    }

    async fn contacts_by_ids(&self, ids: &[ContactId]) -> Result<Vec<Contact>> {
        let rows: Vec<ContactRow> = rows_by_ids(&self.pool, &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id IN ("), ids).await?;
        rows.into_iter().map(ContactRow::into_contact).collect()
    }

    async fn contacts_of_cases(&self, ids: &[CaseId], include_internal: bool) -> Result<Vec<Contact>> {
        let visible = if include_internal { "" } else { "visibility = 'public' AND " };
        let rows: Vec<ContactRow> =
            rows_by_ids(&self.pool, &format!("SELECT {CONTACT_COLS} FROM contacts WHERE {visible}case_id IN ("), ids).await?;
        let mut out = rows.into_iter().map(ContactRow::into_contact).collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| (c.case_id, c.created_at, c.id));
        Ok(out)
    }

    async fn case_events(&self, case_id: CaseId) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE case_id = $1 ORDER BY seq");
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(case_id.to_string()).fetch_all(&self.pool).await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn customer_events(&self, customer_id: CustomerId) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE customer_id = $1 ORDER BY seq");
        let rows: Vec<EventRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(customer_id.to_string()).fetch_all(&self.pool).await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(seq).bind(limit).fetch_all(&self.pool).await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn last_seq(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&self.pool).await?;
        Ok(v.unwrap_or(0))
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        let rows = sqlx::query("SELECT id, name, description, created_at, assignment FROM teams ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(team_from_row).collect()
    }

    async fn team(&self, id: TeamId) -> Result<Option<Team>> {
        let mut conn = self.pool.acquire().await?;
        load_team(&mut conn, id).await
    }

    async fn agents(&self) -> Result<Vec<Agent>> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {AGENT_COLS} FROM agents ORDER BY name, id");
        let rows: Vec<AgentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: AgentId = parse_id(&row.id)?;
            let teams = agent_teams(&mut conn, id).await?;
            out.push(row.into_agent(teams)?.0);
        }
        Ok(out)
    }

    async fn agent(&self, id: AgentId) -> Result<Option<Agent>> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_agent(&mut conn, id).await?.map(|(a, _)| a))
    }

    async fn agent_credentials(&self, email: &EmailAddress) -> Result<Option<AgentCredentials>> {
        let mut conn = self.pool.acquire().await?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM agents WHERE email = $1")
            .bind(email.normalised())
            .fetch_optional(&mut *conn)
            .await?;
        let Some(id) = id else { return Ok(None) };
        Ok(load_agent(&mut conn, parse_id(&id)?).await?.map(|(agent, password_hash)| AgentCredentials { agent, password_hash }))
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1");
        let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(&self.pool).await?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn tokens(&self, agent: Option<AgentId>) -> Result<Vec<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE ($1 IS NULL OR agent_id = $1) ORDER BY created_at");
        let rows: Vec<TokenRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(agent.map(|a| a.to_string())).fetch_all(&self.pool).await?;
        rows.into_iter().map(TokenRow::into_token).collect()
    }

    async fn idempotent_response(&self, scope: &str, key: &str, now: Timestamp) -> Result<Option<StoredResponse>> {
        let r = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE scope = $1 AND key = $2 AND created_at > $3")
            .bind(scope)
            .bind(key)
            .bind(us(now) - crate::IDEMPOTENCY_TTL_US)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| {
            let status: i64 = r.try_get("status")?;
            Ok(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body: r.try_get("body")?,
                request_hash: r.try_get("request_hash")?,
            })
        })
        .transpose()
    }

    async fn purge_idempotency(&self, now: Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM idempotency WHERE created_at <= $1")
            .bind(us(now) - crate::IDEMPOTENCY_TTL_US)
            .execute(self.side_pool())
            .await?;
        Ok(r.rows_affected())
    }

    async fn purge_done_jobs(&self, before: Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND updated_at <= $1")
            .bind(us(before))
            .execute(self.side_pool())
            .await?;
        Ok(r.rows_affected())
    }

    async fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let r = sqlx::query("SELECT size, data, pack, pack_offset FROM blobs WHERE hash = $1").bind(hash).fetch_optional(&self.pool).await?;
        let Some(r) = r else { return Ok(None) };
        let data: Option<Vec<u8>> = r.try_get("data")?;
        if let Some(d) = data {
            return Ok(Some(d));
        }
        let size: i64 = r.try_get("size")?;
        let pack: Option<i64> = r.try_get("pack")?;
        let offset: Option<i64> = r.try_get("pack_offset")?;
        match (pack, offset) {
            (Some(p), Some(o)) => read_pack(self, p, o, size).await.map(Some),
            _ => Err(StoreError::Corrupt(format!("blob {hash} has neither data nor a pack"))),
        }
    }

    async fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {MAILBOX_COLS} FROM mailboxes ORDER BY address"))).fetch_all(&self.pool).await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    async fn mailbox(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        let mut conn = self.pool.acquire().await?;
        load_mailbox(&mut conn, id).await
    }

    async fn mailbox_by_address(&self, address: &EmailAddress) -> Result<Option<Mailbox>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE lower(address) = lower($1)")))
            .bind(address.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    async fn mail_intake(&self, key: &str) -> Result<Option<(CaseId, ContactId)>> {
        let row = sqlx::query("SELECT case_id, contact_id FROM mail_intake WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((parse_id(&r.try_get::<String, _>("case_id")?)?, parse_id(&r.try_get::<String, _>("contact_id")?)?))).transpose()
    }

    async fn mail_threads(&self, message_ids: &[String]) -> Result<Vec<MailThreadHit>> {
        let mut out = Vec::new();
        for chunk in message_ids.chunks(200) {
            let mut qb: sqlx::QueryBuilder<Db> =
                sqlx::QueryBuilder::new("SELECT message_id, contact_id, case_id, direction FROM mail_messages WHERE message_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY created_at");
            for r in qb.build().fetch_all(&self.pool).await? {
                out.push(MailThreadHit {
                    message_id: r.try_get("message_id")?,
                    contact_id: parse_id(&r.try_get::<String, _>("contact_id")?)?,
                    case_id: parse_id(&r.try_get::<String, _>("case_id")?)?,
                    direction: Direction::parse(&r.try_get::<String, _>("direction")?).map_err(corrupt)?,
                });
            }
        }
        Ok(out)
    }

    async fn claim_auto_reply(&self, sender: &str, now: Timestamp, not_since: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO auto_replies (sender, last_at) VALUES ($1, $2) \
             ON CONFLICT (sender) DO UPDATE SET last_at = excluded.last_at WHERE auto_replies.last_at < $3",
        )
        .bind(sender.to_lowercase())
        .bind(us(now))
        .bind(us(not_since))
        .execute(self.side_pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn imap_position(&self, mailbox: MailboxId) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query("SELECT uid_validity, last_uid FROM imap_state WHERE mailbox_id = $1")
            .bind(mailbox.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("uid_validity")?, r.try_get("last_uid")?))).transpose()
    }

    async fn set_imap_position(&self, mailbox: MailboxId, validity: i64, last_uid: i64, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO imap_state (mailbox_id, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox_id) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
        )
        .bind(mailbox.to_string())
        .bind(validity)
        .bind(last_uid)
        .bind(us(now))
        .execute(self.side_pool())
        .await?;
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(&self.pool).await?)
    }

    async fn totals(&self) -> Result<crate::Totals> {
        let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&self.pool).await?;
        let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(&self.pool).await?;
        let agents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM agents").fetch_one(&self.pool).await?;
        Ok(crate::Totals { cases, customers, agents })
    }

    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> Result<Option<uuid::Uuid>> {
        let mut conn = self.side_pool().acquire().await?;
        insert_job(&mut conn, job, now).await
    }

    async fn claim_jobs(&self, lease_token: &str, limit: i64, lease_until: Timestamp, now: Timestamp) -> Result<Vec<Job>> {
        let sql = format!("{CLAIM_JOBS_SQL} RETURNING {JOB_COLS}");
        let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(lease_token)
            .bind(us(lease_until))
            .bind(us(now))
            .bind(limit)
            .fetch_all(self.side_pool())
            .await?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    async fn extend_lease(&self, id: uuid::Uuid, lease_token: &str, until: Timestamp) -> Result<bool> {
        let r = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND status = 'running'")
            .bind(us(until))
            .bind(id.to_string())
            .bind(lease_token)
            .execute(self.side_pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn complete_job(&self, id: uuid::Uuid, lease_token: &str, now: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET status = 'done', lease_token = NULL, lease_until = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_token = $3 AND status = 'running'",
        )
        .bind(us(now))
        .bind(id.to_string())
        .bind(lease_token)
        .execute(self.side_pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn fail_job(&self, id: uuid::Uuid, lease_token: &str, error: &str, retry_at: Timestamp, now: Timestamp) -> Result<Option<JobStatus>> {
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, run_at = $1, \
             last_error = $2, lease_token = NULL, lease_until = NULL, updated_at = $3 \
             WHERE id = $4 AND lease_token = $5 AND status = 'running' RETURNING status",
        )
        .bind(us(retry_at))
        .bind(error)
        .bind(us(now))
        .bind(id.to_string())
        .bind(lease_token)
        .fetch_optional(self.side_pool())
        .await?;
        Ok(status.as_deref().and_then(JobStatus::parse))
    }

    async fn jobs(&self, status: Option<JobStatus>, limit: i64) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC LIMIT $2");
        let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(status.map(|s| s.as_str()))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    async fn job(&self, id: uuid::Uuid) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.map(JobRow::into_job).transpose()
    }

    async fn retry_job(&self, id: uuid::Uuid, now: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET status = 'pending', attempts = 0, run_at = $1, updated_at = $1 WHERE id = $2 AND status = 'dead'",
        )
        .bind(us(now))
        .bind(id.to_string())
        .execute(self.side_pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn job_counts(&self) -> Result<JobCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetch_all(&self.pool).await?;
        let mut c = JobCounts::default();
        for r in rows {
            let s: String = r.try_get("status")?;
            let n: i64 = r.try_get("n")?;
            match JobStatus::parse(&s) {
                Some(JobStatus::Pending) => c.pending = n,
                Some(JobStatus::Running) => c.running = n,
                Some(JobStatus::Dead) => c.dead = n,
                Some(JobStatus::Done) => c.done = n,
                None => {}
            }
        }
        Ok(c)
    }

    async fn checkpoint(&self, name: &str) -> Result<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM projection_checkpoints WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(v.unwrap_or(0))
    }

    async fn set_checkpoint(&self, name: &str, seq: i64, now: Timestamp) -> Result<()> {
        let name = name.to_owned();
        self.side(move |conn: &mut Conn| -> futures::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move { write_checkpoint(conn, &name, seq, now).await })
        })
        .await
    }

    async fn apply_stat_deltas(&self, name: &str, deltas: &HashMap<String, i64>, first: i64, upto: i64, now: Timestamp) -> Result<()> {
        let name = name.to_owned();
        let mut deltas: Vec<(String, i64)> = deltas.iter().map(|(k, d)| (k.clone(), *d)).collect();
        deltas.sort();
        self.side(move |conn: &mut Conn| -> futures::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move {
                if applied_already(conn, &name, first).await? {
                    // Applying twice would double-count.
                    return Ok(());
                }
                for chunk in deltas.chunks(400) {
                    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("INSERT INTO stat_counts (name, value) ");
                    qb.push_values(chunk, |mut b, (k, d)| {
                        b.push_bind(k.clone()).push_bind(*d);
                    });
                    qb.push(" ON CONFLICT (name) DO UPDATE SET value = stat_counts.value + excluded.value");
                    qb.build().execute(&mut *conn).await?;
                }
                write_checkpoint(conn, &name, upto, now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn apply_notifications(
        &self,
        name: &str,
        rows: &[Notification],
        jobs: &[NewJob],
        first: i64,
        upto: i64,
        now: Timestamp,
    ) -> Result<()> {
        let name = name.to_owned();
        let rows = rows.to_vec();
        let jobs = jobs.to_vec();
        self.side(move |conn: &mut Conn| -> futures::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move {
                if applied_already(conn, &name, first).await? {
                    return Ok(());
                }
                for n in &rows {
                    sqlx::query(
                        "INSERT INTO notifications (id, agent_id, kind, case_id, actor, excerpt, seq, created_at, read_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(n.id.to_string())
                    .bind(n.agent_id.to_string())
                    .bind(&n.kind)
                    .bind(n.case_id.map(|c| c.to_string()))
                    .bind(&n.actor)
                    .bind(&n.excerpt)
                    .bind(n.seq)
                    .bind(us(n.created_at))
                    .bind(n.read_at.map(us))
                    .execute(&mut *conn)
                    .await?;
                }
                for job in &jobs {
                    insert_job(conn, job, now).await?;
                }
                write_checkpoint(conn, &name, upto, now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn reset_notifications(&self, name: &str, now: Timestamp) -> Result<()> {
        let mut tx = begin_write(self.side_pool()).await?;
        lock_checkpoint(&mut tx, name).await?;
        sqlx::query("DELETE FROM notifications").execute(&mut *tx).await?;
        write_checkpoint(&mut tx, name, 0, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn notifications(&self, agent: AgentId, limit: i64) -> Result<Vec<Notification>> {
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, agent_id, kind, case_id, actor, excerpt, seq, created_at, read_at FROM notifications \
             WHERE agent_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(agent.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(notification_of).collect()
    }

    async fn notification(&self, id: uuid::Uuid) -> Result<Option<Notification>> {
        let row: Option<NotificationRow> = sqlx::query_as(
            "SELECT id, agent_id, kind, case_id, actor, excerpt, seq, created_at, read_at FROM notifications WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(notification_of).transpose()
    }

    async fn unread_notifications(&self, agent: AgentId, cap: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE agent_id = $1 AND read_at IS NULL LIMIT $2) capped",
        )
        .bind(agent.to_string())
        .bind(cap)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn mark_read(&self, agent: AgentId, id: Option<uuid::Uuid>, now: Timestamp) -> Result<()> {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("UPDATE notifications SET read_at = ");
        qb.push_bind(us(now)).push(" WHERE read_at IS NULL AND agent_id = ").push_bind(agent.to_string());
        if let Some(id) = id {
            qb.push(" AND id = ").push_bind(id.to_string());
        }
        qb.build().execute(self.side_pool()).await?;
        Ok(())
    }

    async fn notification_settings(&self, agent: AgentId) -> Result<NotificationSettings> {
        let raw: Option<String> = sqlx::query_scalar("SELECT settings FROM notification_settings WHERE agent_id = $1")
            .bind(agent.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
    }

    async fn save_notification_settings(&self, agent: AgentId, s: &NotificationSettings) -> Result<()> {
        sqlx::query(
            "INSERT INTO notification_settings (agent_id, settings) VALUES ($1, $2) \
             ON CONFLICT (agent_id) DO UPDATE SET settings = excluded.settings",
        )
        .bind(agent.to_string())
        .bind(to_json(s))
        .execute(self.side_pool())
        .await?;
        Ok(())
    }

    async fn reset_stats(&self, name: &str, now: Timestamp) -> Result<()> {
        let mut tx = begin_write(self.side_pool()).await?;
        lock_checkpoint(&mut tx, name).await?;
        sqlx::query("DELETE FROM stat_counts").execute(&mut *tx).await?;
        write_checkpoint(&mut tx, name, 0, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stats(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, value FROM stat_counts ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("value")?))).collect()
    }

    async fn routing_rules(&self) -> Result<Vec<anliegen_core::routing::RoutingRule>> {
        let rows = sqlx::query_as::<_, RuleRow>(
            "SELECT id, position, name, active, conditions, team_id, priority FROM routing_rules ORDER BY position, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    async fn promises(&self, case_id: CaseId) -> Result<Vec<anliegen_core::promise::Promise>> {
        let rows = sqlx::query_as::<_, PromiseRow>("SELECT id, case_id, owner_id, what, due_at, status, created_at, closed_at, on_time, overdue, note, kind, window_from, phone FROM promises WHERE case_id = $1 ORDER BY due_at, id")
            .bind(case_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(PromiseRow::into_promise).collect()
    }

    async fn callbacks(&self, limit: i64) -> Result<Vec<anliegen_core::promise::Promise>> {
        let rows = sqlx::query_as::<_, PromiseRow>(
            "SELECT id, case_id, owner_id, what, due_at, status, created_at, closed_at, on_time, overdue, note, kind, window_from, phone FROM promises WHERE kind = 'callback' AND status = 'open' ORDER BY window_from, due_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(PromiseRow::into_promise).collect()
    }

    async fn promise(&self, id: anliegen_core::PromiseId) -> Result<Option<anliegen_core::promise::Promise>> {
        let row = sqlx::query_as::<_, PromiseRow>("SELECT id, case_id, owner_id, what, due_at, status, created_at, closed_at, on_time, overdue, note, kind, window_from, phone FROM promises WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(PromiseRow::into_promise).transpose()
    }

    async fn promise_stats(&self, now: Timestamp) -> Result<Vec<PromiseStats>> {
        let now = us(now);
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT owner_id, \
               SUM(CASE WHEN status = 'kept' AND on_time THEN 1 ELSE 0 END), \
               SUM(CASE WHEN status = 'kept' AND NOT on_time THEN 1 ELSE 0 END), \
               SUM(CASE WHEN status = 'open' AND due_at < $1 THEN 1 ELSE 0 END), \
               SUM(CASE WHEN status = 'open' AND due_at >= $1 THEN 1 ELSE 0 END), \
               SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) \
             FROM promises GROUP BY owner_id ORDER BY owner_id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(owner, a, b, c, d, e)| {
                Ok(PromiseStats { owner_id: parse_id(&owner)?, kept_on_time: a, kept_late: b, open_overdue: c, open: d, cancelled: e })
            })
            .collect()
    }

    async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        v.as_deref().map(json).transpose()
    }

    async fn prior_cases(&self, customer: CustomerId, since: Timestamp, now: Timestamp) -> Result<Vec<anliegen_core::resolve::PriorCase>> {
        let rows = sqlx::query(
            "SELECT id, status FROM cases WHERE customer_id = $1 AND status <> 'closed' AND (unsolved = 1 OR updated_at >= $2) \
             ORDER BY updated_at DESC LIMIT 20",
        )
        .bind(customer.to_string())
        .bind(us(since))
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // The newest five customer messages of each case, in one query (a mail's text is cut:
        // its quoted history adds nothing the earlier contacts do not have).
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "SELECT id, case_id, subject, text, created_at FROM (SELECT id, case_id, subject, substr(text, 1, 2000) AS text, \
             created_at, ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY created_at DESC, id DESC) AS rn FROM contacts \
             WHERE direction = 'inbound' AND case_id IN (",
        );
        let mut ids = qb.separated(", ");
        for r in &rows {
            ids.push_bind(r.try_get::<String, _>("id")?);
        }
        qb.push(")) AS newest WHERE rn <= 5 ORDER BY created_at DESC, id DESC");
        let contacts = qb.build().fetch_all(&self.pool).await?;
        let mut by_case: HashMap<String, Vec<anliegen_core::resolve::PriorContact>> = HashMap::new();
        for c in &contacts {
            let subject: Option<String> = c.try_get("subject")?;
            let text: String = c.try_get("text")?;
            let at = ts(c.try_get("created_at")?)?;
            let mut t = subject.unwrap_or_default();
            t.push('\n');
            t.push_str(&text);
            by_case.entry(c.try_get("case_id")?).or_default().push(anliegen_core::resolve::PriorContact {
                id: parse_id(&c.try_get::<String, _>("id")?)?,
                text: t,
                days_before: (now.as_second() - at.as_second()).max(0) / 86_400,
            });
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let status: String = r.try_get("status")?;
            out.push(anliegen_core::resolve::PriorCase {
                id: parse_id(&id)?,
                status: CaseStatus::parse(&status).map_err(corrupt)?,
                contacts: by_case.remove(&id).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn identity_offers(&self, case_id: CaseId) -> Result<Vec<IdentityOffer>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OFFER_COLS} FROM identity_offers WHERE case_id = $1 ORDER BY created_at, id")))
            .bind(case_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(offer_from_row).collect()
    }

    async fn identity_offer(&self, id: uuid::Uuid) -> Result<Option<IdentityOffer>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OFFER_COLS} FROM identity_offers WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    async fn merge_suggestions(&self, customer: CustomerId) -> Result<Vec<MergeSuggestion>> {
        let key: Option<String> = sqlx::query_scalar("SELECT name_key FROM customers WHERE id = $1")
            .bind(customer.to_string())
            .fetch_optional(&self.pool)
            .await?
            .flatten();
        let Some(key) = key else { return Ok(Vec::new()) };
        let others = sqlx::query(
            "SELECT id, name FROM customers WHERE name_key = $1 AND id <> $2 AND merged_into IS NULL ORDER BY created_at LIMIT 20",
        )
        .bind(&key)
        .bind(customer.to_string())
        .fetch_all(&self.pool)
        .await?;
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let mine = self.customer_identifiers(customer).await?;
        let mut out = Vec::new();
        for o in &others {
            let id: CustomerId = parse_id(&o.try_get::<String, _>("id")?)?;
            let theirs = self.customer_identifiers(id).await?;
            let evidence: Vec<String> = mine.intersection(&theirs).cloned().collect();
            if !evidence.is_empty() {
                out.push(MergeSuggestion { customer_id: id, name: o.try_get::<Option<String>, _>("name")?.unwrap_or_default(), evidence });
            }
        }
        Ok(out)
    }

    async fn merged_customers(&self, target: CustomerId) -> Result<Vec<(CustomerId, String)>> {
        let rows = sqlx::query(
            "SELECT m.source, c.name FROM customer_merges m JOIN customers c ON c.id = m.source WHERE m.target = $1 \
             ORDER BY m.merged_at, m.source LIMIT 50",
        )
        .bind(target.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_id(&r.try_get::<String, _>("source")?)?,
                    r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                ))
            })
            .collect()
    }

    async fn customer_merge(&self, source: CustomerId) -> Result<Option<CustomerId>> {
        let t: Option<String> = sqlx::query_scalar("SELECT target FROM customer_merges WHERE source = $1")
            .bind(source.to_string())
            .fetch_optional(&self.pool)
            .await?;
        opt_id(t.as_deref())
    }

    fn pg_pool(&self) -> Option<sqlx::PgPool> {
        pg_pool_of(self)
    }

    async fn close(&self) {
        self.write_pool.close().await;
        self.pool.close().await;
    }

    async fn make_durable(&self) -> Result<()> {
        make_durable_of(self).await
    }

    fn syncs_after_commit(&self) -> bool {
        syncs_after_commit_of(self)
    }
}

/// The rows of `select` (ending in `IN (`) for these ids, 500 ids per statement.
async fn rows_by_ids<R, I>(pool: &sqlx::Pool<Db>, select: &str, ids: &[I]) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    I: ToString,
{
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(select);
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.to_string());
        }
        qb.push(")");
        out.extend(qb.build_query_as::<R>().fetch_all(pool).await?);
    }
    Ok(out)
}

async fn write_checkpoint(conn: &mut Conn, name: &str, seq: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, seq, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(seq)
    .bind(us(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends `AND …` conditions for `f` to a query over `cases c`.
fn push_case_filter(qb: &mut sqlx::QueryBuilder<Db>, f: &CaseFilter) {
    if !f.status.is_empty() {
        qb.push(" AND c.status IN (");
        let mut sep = qb.separated(", ");
        for s in &f.status {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
    }
    if let Some(t) = f.team_id {
        qb.push(" AND c.team_id = ").push_bind(t.to_string());
    }
    if !f.team_ids.is_empty() {
        qb.push(" AND c.team_id IN (");
        let mut sep = qb.separated(", ");
        for t in &f.team_ids {
            sep.push_bind(t.to_string());
        }
        qb.push(")");
    }
    match f.assignee_id {
        Some(Some(a)) => {
            qb.push(" AND c.assignee_id = ").push_bind(a.to_string());
        }
        Some(None) => {
            qb.push(" AND c.assignee_id IS NULL");
        }
        None => {}
    }
    if let Some(cu) = f.customer_id {
        qb.push(" AND c.customer_id = ").push_bind(cu.to_string());
    }
    if let Some(tag) = &f.tag {
        qb.push(" AND c.id IN (SELECT case_id FROM case_tags WHERE tag = ").push_bind(tag.as_str().to_owned()).push(")");
    }
    if let Some(ch) = f.channel {
        qb.push(" AND c.channel = ").push_bind(ch.as_str());
    }
    if let Some(p) = f.priority {
        qb.push(" AND c.priority = ").push_bind(p.as_str());
    }
    if let Some(u) = f.unsolved {
        qb.push(" AND c.unsolved = ").push_bind(i64::from(u));
    }
    if let Some((agent, teams)) = &f.visible_to {
        qb.push(" AND (c.team_id IS NULL OR c.assignee_id = ").push_bind(agent.to_string());
        for t in teams {
            qb.push(" OR c.team_id = ").push_bind(t.to_string());
        }
        qb.push(")");
    }
}

fn page<T>(mut items: Vec<T>, limit: i64, cursor: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&cursor)
    } else {
        None
    };
    Page { items, next }
}

// ---------------------------------------------------------------------------------------------
// One concern, one case: routing, assignment, escalation, identity offers, customer unmerge.

async fn save_routing_rule(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, rule: &anliegen_core::routing::RoutingRule) -> Result<Output> {
    rule.conditions.validate()?;
    let name = anliegen_core::team::parse_name("name", &rule.name)?;
    require_team(conn, rule.team_id).await?;
    if rule.team_id.is_none() && rule.priority.is_none() {
        return Err(StoreError::invalid("team_id", "a rule sets a team, a priority or both"));
    }
    let mut rule = rule.clone();
    rule.name = name;
    sqlx::query(
        "INSERT INTO routing_rules (id, position, name, active, conditions, team_id, priority, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO UPDATE SET position = $2, name = $3, active = $4, \
         conditions = $5, team_id = $6, priority = $7, updated_at = $8",
    )
    .bind(rule.id.to_string())
    .bind(rule.position)
    .bind(&rule.name)
    .bind(rule.active)
    .bind(to_json(&rule.conditions))
    .bind(rule.team_id.map(|t| t.to_string()))
    .bind(rule.priority.map(|p| p.as_str()))
    .bind(us(ctx.now))
    .execute(&mut *conn)
    .await?;
    ctx.event(actor, None, None, EventKind::RoutingRuleSaved { rule: Box::new(rule.clone()) });
    Ok(Output::RoutingRule(Box::new(rule)))
}

async fn delete_routing_rule(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: anliegen_core::RuleId) -> Result<Output> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM routing_rules WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(name) = name else {
        return Err(StoreError::not_found("routing rule", id));
    };
    sqlx::query("DELETE FROM routing_rules WHERE id = $1").bind(id.to_string()).execute(&mut *conn).await?;
    ctx.event(actor, None, None, EventKind::RoutingRuleDeleted { rule_id: id, name });
    Ok(Output::Unit)
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    position: i64,
    name: String,
    active: bool,
    conditions: String,
    team_id: Option<String>,
    priority: Option<String>,
}

impl RuleRow {
    fn into_rule(self) -> Result<anliegen_core::routing::RoutingRule> {
        Ok(anliegen_core::routing::RoutingRule {
            id: parse_id(&self.id)?,
            position: self.position,
            name: self.name,
            active: self.active,
            conditions: json(&self.conditions)?,
            team_id: opt_id(self.team_id.as_deref())?,
            priority: self.priority.as_deref().map(Priority::parse).transpose().map_err(corrupt)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PromiseRow {
    id: String,
    case_id: String,
    owner_id: String,
    what: String,
    due_at: i64,
    status: String,
    created_at: i64,
    closed_at: Option<i64>,
    on_time: Option<bool>,
    overdue: bool,
    note: String,
    kind: String,
    window_from: Option<i64>,
    phone: Option<String>,
}

impl PromiseRow {
    fn into_promise(self) -> Result<anliegen_core::promise::Promise> {
        Ok(anliegen_core::promise::Promise {
            id: parse_id(&self.id)?,
            case_id: parse_id(&self.case_id)?,
            owner_id: parse_id(&self.owner_id)?,
            what: self.what,
            due_at: ts(self.due_at)?,
            status: anliegen_core::promise::PromiseStatus::parse(&self.status).map_err(corrupt)?,
            created_at: ts(self.created_at)?,
            closed_at: self.closed_at.map(ts).transpose()?,
            on_time: self.on_time,
            overdue: self.overdue,
            note: self.note,
            kind: anliegen_core::promise::PromiseKind::parse(&self.kind).map_err(corrupt)?,
            window_from: self.window_from.map(ts).transpose()?,
            phone: self.phone,
        })
    }
}

async fn load_promise(conn: &mut Conn, id: anliegen_core::PromiseId) -> Result<Option<anliegen_core::promise::Promise>> {
    let row = sqlx::query_as::<_, PromiseRow>("SELECT id, case_id, owner_id, what, due_at, status, created_at, closed_at, on_time, overdue, note, kind, window_from, phone FROM promises WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(PromiseRow::into_promise).transpose()
}

async fn make_promise(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, p: &anliegen_core::promise::Promise) -> Result<Output> {
    let what = anliegen_core::promise::parse_what(&p.what)?;
    anliegen_core::promise::check_due(p.due_at, ctx.now)?;
    let Some(case) = load_case(conn, p.case_id).await? else {
        return Err(StoreError::not_found("case", p.case_id));
    };
    let owner: Option<bool> = sqlx::query_scalar("SELECT active FROM agents WHERE id = $1")
        .bind(p.owner_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    if owner != Some(true) {
        return Err(StoreError::invalid("owner_id", "the owner is an active agent"));
    }
    let promise = anliegen_core::promise::Promise {
        what,
        status: anliegen_core::promise::PromiseStatus::Open,
        created_at: ctx.now,
        closed_at: None,
        on_time: None,
        overdue: false,
        note: String::new(),
        ..p.clone()
    };
    sqlx::query(
        "INSERT INTO promises (id, case_id, owner_id, what, due_at, status, created_at, overdue, note, kind, window_from, phone) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, FALSE, '', $7, $8, $9)",
    )
    .bind(promise.id.to_string())
    .bind(case.id.to_string())
    .bind(promise.owner_id.to_string())
    .bind(&promise.what)
    .bind(us(promise.due_at))
    .bind(us(ctx.now))
    .bind(promise.kind.as_str())
    .bind(promise.window_from.map(us))
    .bind(promise.phone.as_deref())
    .execute(&mut *conn)
    .await?;
    ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::PromiseMade { promise: Box::new(promise.clone()) });
    Ok(Output::Promise(Box::new(promise)))
}

/// Keeps (`note` given) or cancels an open promise.
async fn close_promise(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: anliegen_core::PromiseId, note: Option<&String>) -> Result<Output> {
    let Some(mut p) = load_promise(conn, id).await? else {
        return Err(StoreError::not_found("promise", id));
    };
    if p.status != anliegen_core::promise::PromiseStatus::Open {
        return Err(StoreError::invalid("status", format!("this promise is already {}", p.status.as_str())));
    }
    let text = note.map(|n| n.trim().to_owned()).unwrap_or_default();
    if text.chars().count() > 2000 {
        return Err(StoreError::invalid("note", "at most 2,000 characters"));
    }
    p.closed_at = Some(ctx.now);
    match note {
        Some(_) => {
            p.status = anliegen_core::promise::PromiseStatus::Kept;
            p.on_time = Some(ctx.now <= p.due_at);
        }
        None => p.status = anliegen_core::promise::PromiseStatus::Cancelled,
    }
    p.note = text.clone();
    sqlx::query("UPDATE promises SET status = $1, closed_at = $2, on_time = $3, note = $4 WHERE id = $5")
        .bind(p.status.as_str())
        .bind(us(ctx.now))
        .bind(p.on_time)
        .bind(&p.note)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    if note.is_some() {
        ctx.event(actor, Some(p.case_id), None, EventKind::PromiseKept { promise_id: id, on_time: p.on_time.unwrap_or(false), note: text });
    }
    Ok(Output::Promise(Box::new(p)))
}

async fn promise_due(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, id: anliegen_core::PromiseId, overdue: bool) -> Result<Output> {
    let Some(mut p) = load_promise(conn, id).await? else {
        return Err(StoreError::not_found("promise", id));
    };
    // A promise kept or cancelled meanwhile, or already marked: nothing to do (the job may run
    // twice).
    if p.status != anliegen_core::promise::PromiseStatus::Open || (overdue && p.overdue) {
        return Ok(Output::Promise(Box::new(p)));
    }
    if overdue {
        if ctx.now < p.due_at {
            return Err(StoreError::invalid("due_at", "not due yet"));
        }
        sqlx::query("UPDATE promises SET overdue = TRUE WHERE id = $1").bind(id.to_string()).execute(&mut *conn).await?;
        p.overdue = true;
        ctx.event(actor, Some(p.case_id), None, EventKind::PromiseOverdue { promise_id: id, owner_id: p.owner_id, what: p.what.clone(), due_at: p.due_at });
    } else {
        ctx.event(actor, Some(p.case_id), None, EventKind::PromiseDueSoon { promise_id: id, owner_id: p.owner_id, what: p.what.clone(), due_at: p.due_at });
    }
    Ok(Output::Promise(Box::new(p)))
}

#[allow(clippy::too_many_arguments)]
async fn sla_mark(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    case_id: CaseId,
    metric: anliegen_core::sla::SlaMetric,
    breach: bool,
    started_at: Timestamp,
    due_at: Timestamp,
) -> Result<Output> {
    let Some(case) = load_case(conn, case_id).await? else {
        return Err(StoreError::not_found("case", case_id));
    };
    let n = sqlx::query(
        "INSERT INTO sla_marks (case_id, metric, kind, started_at, due_at, at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (case_id, metric, kind, started_at) DO NOTHING",
    )
    .bind(case_id.to_string())
    .bind(metric.as_str())
    .bind(if breach { "breach" } else { "warning" })
    .bind(us(started_at))
    .bind(us(due_at))
    .bind(us(ctx.now))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(Output::Recorded(false));
    }
    let kind = if breach { EventKind::SlaBreached { metric, due_at } } else { EventKind::SlaWarning { metric, due_at } };
    ctx.event(actor, Some(case_id), Some(case.customer_id), kind);
    Ok(Output::Recorded(true))
}

async fn set_setting(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, key: &str, value: &serde_json::Value) -> Result<Output> {
    let team_calendar = key
        .strip_prefix("calendar.team.")
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok());
    if !matches!(key, "matching" | "escalation" | "sla.policies" | "automations") && !team_calendar {
        return Err(StoreError::invalid(
            "key",
            format!("'{key}' is not a setting (matching, escalation, sla.policies, automations, calendar.team.<id>)"),
        ));
    }
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3")
        .bind(key)
        .bind(value.to_string())
        .bind(us(ctx.now))
        .execute(&mut *conn)
        .await?;
    ctx.event(actor, None, None, EventKind::SettingChanged { key: key.to_owned(), value: value.clone() });
    Ok(Output::Unit)
}

async fn set_team_assignment(
    conn: &mut Conn,
    ctx: &mut BatchCtx,
    actor: &Actor,
    team_id: TeamId,
    assignment: &anliegen_core::routing::TeamAssignment,
) -> Result<Output> {
    let mut team = load_team(conn, team_id).await?.ok_or_else(|| StoreError::not_found("team", team_id))?;
    let mut a = assignment.clone();
    a.skills = a.skills.iter().map(|s| anliegen_core::agent::parse_skill(s)).collect::<std::result::Result<_, _>>()?;
    a.skills.sort();
    a.skills.dedup();
    if a.max_open == 0 || a.max_open > 10_000 {
        return Err(StoreError::invalid("max_open", "an agent holds 1 to 10000 open cases"));
    }
    sqlx::query("UPDATE teams SET assignment = $1 WHERE id = $2")
        .bind(to_json(&a))
        .bind(team_id.to_string())
        .execute(&mut *conn)
        .await?;
    ctx.event(actor, None, None, EventKind::TeamAssignmentChanged { team_id, assignment: a.clone() });
    team.assignment = a;
    Ok(Output::Team(team))
}

/// Chooses an agent of `team` for a new or escalated case, by the team's settings, and moves
/// its round-robin cursor. On PostgreSQL an advisory lock held to the end of the transaction
/// serialises assignment across writers and nodes, so that nobody is given more than their
/// capacity; in SQLite the single writer does that.
async fn auto_assign(conn: &mut Conn, ctx: &mut BatchCtx, team: TeamId, language: Option<Language>) -> Result<anliegen_core::routing::Assignment> {
    use anliegen_core::routing::{assign, Assignment, Candidate, TeamAssignment};
    if let Some(lock) = ASSIGN_LOCK_SQL {
        sqlx::query(lock).execute(&mut *conn).await?;
    }
    let row = sqlx::query("SELECT assignment, rr_cursor FROM teams WHERE id = $1")
        .bind(team.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(Assignment::NobodyFree);
    };
    let settings: TeamAssignment = json(&row.try_get::<String, _>("assignment")?)?;
    if settings.mode == anliegen_core::routing::AssignMode::Manual {
        return Ok(Assignment::Manual);
    }
    let cursor: Option<AgentId> = opt_id(row.try_get::<Option<String>, _>("rr_cursor")?.as_deref())?;
    let rows = sqlx::query(
        "SELECT id, skills, languages, available, max_open FROM agents WHERE active = TRUE AND id IN \
         (SELECT agent_id FROM agent_teams WHERE team_id = $1) ORDER BY id",
    )
    .bind(team.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        candidates.push(Candidate {
            id: parse_id(&id)?,
            skills: json(&r.try_get::<String, _>("skills")?)?,
            languages: json(&r.try_get::<String, _>("languages")?)?,
            open: 0,
            max_open: r.try_get::<Option<i64>, _>("max_open")?.and_then(|m| u32::try_from(m).ok()),
            available: r.try_get("available")?,
        });
    }
    if candidates.is_empty() {
        return Ok(Assignment::NobodyFree);
    }
    let counts = sqlx::query(
        "SELECT assignee_id, COUNT(*) AS n FROM cases WHERE unsolved = 1 AND assignee_id IN \
         (SELECT agent_id FROM agent_teams WHERE team_id = $1) GROUP BY assignee_id",
    )
    .bind(team.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut open: HashMap<AgentId, u32> = HashMap::new();
    for r in &counts {
        let id: String = r.try_get("assignee_id")?;
        let n: i64 = r.try_get("n")?;
        open.insert(parse_id(&id)?, u32::try_from(n).unwrap_or(u32::MAX));
    }
    // Cases of this batch that are not in the table yet.
    for c in &ctx.pending.cases {
        if let Some(a) = c.assignee_id
            && unsolved(c) == 1
        {
            *open.entry(a).or_default() += 1;
        }
    }
    for c in &mut candidates {
        c.open = open.get(&c.id).copied().unwrap_or(0);
    }
    let decision = assign(&settings, &candidates, language, cursor);
    if let Assignment::Assigned { agent_id, .. } = &decision {
        sqlx::query("UPDATE teams SET rr_cursor = $1 WHERE id = $2")
            .bind(agent_id.to_string())
            .bind(team.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(decision)
}

async fn escalate_case(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, e: &Escalation) -> Result<Output> {
    let mut case = match ctx.cases.get(&e.case_id) {
        Some(c) => c.clone(),
        None => case_or_404(conn, e.case_id).await?,
    };
    // Escalating to a tier the case has reached already changes nothing (a repeated trigger or
    // a job that ran twice).
    if e.level <= case.escalation_level {
        return Ok(Output::Case(Box::new(case)));
    }
    if case.status == CaseStatus::Closed {
        return Err(StoreError::invalid("case", format!("case {} is closed", case.reference)));
    }
    require_team(conn, e.tier.team_id).await?;
    let who = (Some(case.id), Some(case.customer_id));
    if let Some(team) = e.tier.team_id
        && case.team_id != Some(team)
    {
        ctx.event(actor, who.0, who.1, EventKind::TeamChanged { from: case.team_id, to: Some(team) });
        case.team_id = Some(team);
        if let Some(a) = case.assignee_id {
            let teams = agent_teams(conn, a).await?;
            if !teams.contains(&team) {
                ctx.event(actor, who.0, who.1, EventKind::AssigneeChanged { from: Some(a), to: None });
                case.assignee_id = None;
            }
        }
        if case.assignee_id.is_none() {
            let decision = auto_assign(conn, ctx, team, case.language).await?;
            if let anliegen_core::routing::Assignment::Assigned { agent_id, .. } = &decision {
                ctx.event(actor, who.0, who.1, EventKind::AssigneeChanged { from: None, to: Some(*agent_id) });
                case.assignee_id = Some(*agent_id);
            }
            if decision != anliegen_core::routing::Assignment::Manual {
                ctx.event(actor, who.0, who.1, EventKind::CaseAssigned { team_id: team, decision });
            }
        }
    }
    if e.tier.priority > case.priority {
        ctx.event(actor, who.0, who.1, EventKind::PriorityChanged { from: case.priority, to: e.tier.priority });
        case.priority = e.tier.priority;
    }
    case.escalation_level = e.level;
    let note = NewContact::plain(Channel::Note, Direction::Internal, Visibility::Internal, e.summary.clone());
    insert_contact(ctx, &Actor::System, &case, &note)?;
    ctx.event(
        actor,
        who.0,
        who.1,
        EventKind::CaseEscalated {
            level: e.level,
            tier: e.tier.name.clone(),
            team_id: e.tier.team_id,
            trigger: e.trigger.clone(),
            summary: e.summary.clone(),
            notify_supervisors: e.tier.notify_supervisors,
        },
    );
    case.contact_count += 1;
    case.updated_at = ctx.now;
    save_case(conn, &case).await?;
    ctx.cases.insert(case.id, case.clone());
    Ok(Output::Case(Box::new(case)))
}

async fn offer_identity(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, case: &Case, contact_id: ContactId, identity: &Identity) -> Result<()> {
    // Offered once per case and identity, and only while nobody owns it.
    if identity_owner(conn, identity).await?.is_some() {
        return Ok(());
    }
    let open: Option<String> = sqlx::query_scalar(
        "SELECT id FROM identity_offers WHERE case_id = $1 AND kind = $2 AND value = $3 AND resolution IS NULL",
    )
    .bind(case.id.to_string())
    .bind(identity.kind.as_str())
    .bind(&identity.value)
    .fetch_optional(&mut *conn)
    .await?;
    if open.is_some() {
        return Ok(());
    }
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO identity_offers (id, case_id, customer_id, kind, value, contact_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(case.id.to_string())
    .bind(case.customer_id.to_string())
    .bind(identity.kind.as_str())
    .bind(&identity.value)
    .bind(contact_id.to_string())
    .bind(us(ctx.now))
    .execute(&mut *conn)
    .await?;
    ctx.event(actor, Some(case.id), Some(case.customer_id), EventKind::IdentityOffered { offer_id: id, identity: identity.clone(), contact_id });
    Ok(())
}

fn offer_from_row(r: &<Db as sqlx::Database>::Row) -> Result<IdentityOffer> {
    let kind: String = r.try_get("kind")?;
    let resolution: Option<String> = r.try_get("resolution")?;
    Ok(IdentityOffer {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        case_id: parse_id(&r.try_get::<String, _>("case_id")?)?,
        customer_id: parse_id(&r.try_get::<String, _>("customer_id")?)?,
        identity: Identity { kind: IdentityKind::parse(&kind).map_err(corrupt)?, value: r.try_get("value")? },
        contact_id: parse_id(&r.try_get::<String, _>("contact_id")?)?,
        created_at: ts(r.try_get("created_at")?)?,
        accepted: resolution.map(|r| r == "linked"),
    })
}

const OFFER_COLS: &str = "id, case_id, customer_id, kind, value, contact_id, created_at, resolution";

async fn resolve_identity_offer(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, offer_id: uuid::Uuid, accept: bool) -> Result<Output> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OFFER_COLS} FROM identity_offers WHERE id = $1")))
        .bind(offer_id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("identity offer", offer_id))?;
    let offer = offer_from_row(&row)?;
    if offer.accepted.is_some() {
        return Err(StoreError::Conflict { field: Some("offer".into()), message: "this offer was decided already".into() });
    }
    // The case's customer now (a merge may have moved the case).
    let case = case_or_404(conn, offer.case_id).await?;
    let mut out = Output::Unit;
    if accept {
        if let Some(owner) = identity_owner(conn, &offer.identity).await? {
            if owner != case.customer_id {
                return Err(StoreError::Conflict {
                    field: Some("identity".into()),
                    message: format!(
                        "{} belongs to another customer by now; merge the two customers instead",
                        offer.identity.value
                    ),
                });
            }
        } else {
            out = add_identity(conn, ctx, actor, case.customer_id, &offer.identity).await?;
        }
    }
    sqlx::query("UPDATE identity_offers SET resolution = $1, resolved_at = $2 WHERE id = $3")
        .bind(if accept { "linked" } else { "declined" })
        .bind(us(ctx.now))
        .bind(offer_id.to_string())
        .execute(&mut *conn)
        .await?;
    ctx.event(
        actor,
        Some(case.id),
        Some(case.customer_id),
        EventKind::IdentityOfferResolved { offer_id, identity: offer.identity.clone(), accepted: accept },
    );
    Ok(out)
}

async fn unmerge_customer(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, source: CustomerId) -> Result<Output> {
    let row = sqlx::query("SELECT target, identities, cases, redirected FROM customer_merges WHERE source = $1")
        .bind(source.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid("customer", format!("customer {source} was not merged (or the merge was undone)")))?;
    let target: CustomerId = parse_id(&row.try_get::<String, _>("target")?)?;
    let identities: Vec<Identity> = json(&row.try_get::<String, _>("identities")?)?;
    let cases: Vec<CaseId> = json(&row.try_get::<String, _>("cases")?)?;
    let redirected: Vec<CustomerId> = json(&row.try_get::<String, _>("redirected")?)?;
    // The target may have been merged on in the meantime: the things go back from wherever
    // they are now, as long as they are still with the customer the source was merged into.
    let now_with: Option<String> = sqlx::query_scalar("SELECT merged_into FROM customers WHERE id = $1")
        .bind(target.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    let holder: CustomerId = match now_with {
        Some(h) => parse_id(&h)?,
        None => target,
    };
    let mut moved_identities = Vec::new();
    for i in &identities {
        let done = sqlx::query("UPDATE identities SET customer_id = $1 WHERE kind = $2 AND value = $3 AND customer_id = $4")
            .bind(source.to_string())
            .bind(i.kind.as_str())
            .bind(&i.value)
            .bind(holder.to_string())
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() > 0 {
            moved_identities.push(i.clone());
        }
    }
    let mut moved_cases = Vec::new();
    for c in &cases {
        let done = sqlx::query("UPDATE cases SET customer_id = $1, updated_at = $2 WHERE id = $3 AND customer_id = $4")
            .bind(source.to_string())
            .bind(us(ctx.now))
            .bind(c.to_string())
            .bind(holder.to_string())
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() > 0 {
            ctx.cases.remove(c);
            ctx.event(actor, Some(*c), Some(source), EventKind::CaseCustomerChanged { from: holder, to: source });
            moved_cases.push(*c);
        }
    }
    for r in &redirected {
        sqlx::query("UPDATE customers SET merged_into = $1 WHERE id = $2 AND merged_into = $3")
            .bind(source.to_string())
            .bind(r.to_string())
            .bind(holder.to_string())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE customers SET merged_into = NULL, updated_at = $1 WHERE id = $2")
        .bind(us(ctx.now))
        .bind(source.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM customer_merges WHERE source = $1").bind(source.to_string()).execute(&mut *conn).await?;
    // The known-owner cache of this batch may now be wrong.
    ctx.known = None;
    let ev = EventKind::CustomerUnmerged { source, target: holder, identities: moved_identities, cases: moved_cases };
    ctx.event(actor, None, Some(source), ev.clone());
    ctx.event(actor, None, Some(holder), ev);
    let c = load_customer(conn, source).await?.ok_or_else(|| StoreError::not_found("customer", source))?;
    Ok(Output::Customer(Box::new(c)))
}

/// The key suggested merges compare names on: folded, words in order (`Müller, Anna` is not
/// `Anna Müller`, but `Anna Mueller` is).
fn name_key(name: Option<&str>) -> Option<String> {
    let k = anliegen_core::text::fold(name?).split_whitespace().collect::<Vec<_>>().join(" ");
    (k.chars().count() >= 3).then_some(k)
}

impl Backend {
    /// Order, tracking numbers and IBANs in a customer's newest messages (suggested merges).
    async fn customer_identifiers(&self, customer: CustomerId) -> Result<BTreeSet<String>> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT substr(t.text, 1, 2000) FROM contacts t JOIN cases c ON c.id = t.case_id WHERE c.customer_id = $1 \
             AND t.direction = 'inbound' ORDER BY t.created_at DESC LIMIT 20",
        )
        .bind(customer.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(texts
            .iter()
            .flat_map(|t| anliegen_core::text::identifiers(t))
            .filter(|i| !matches!(i.kind, anliegen_core::text::IdKind::CaseRef))
            .map(|i| i.value)
            .collect())
    }
}

/// Assigns a team's waiting cases (unassigned, unsolved; most due first) while its agents have
/// room; stops at the first case nobody can take.
async fn assign_waiting(conn: &mut Conn, ctx: &mut BatchCtx, actor: &Actor, team: TeamId, limit: i64) -> Result<Output> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM cases WHERE team_id = $1 AND unsolved = 1 AND assignee_id IS NULL ORDER BY queue_due, id LIMIT $2",
    )
    .bind(team.to_string())
    .bind(limit.clamp(1, 500))
    .fetch_all(&mut *conn)
    .await?;
    for id in ids {
        let Some(mut case) = load_case(conn, parse_id(&id)?).await? else { continue };
        let decision = auto_assign(conn, ctx, team, case.language).await?;
        let anliegen_core::routing::Assignment::Assigned { agent_id, .. } = &decision else {
            break;
        };
        let who = (Some(case.id), Some(case.customer_id));
        ctx.event(actor, who.0, who.1, EventKind::AssigneeChanged { from: None, to: Some(*agent_id) });
        case.assignee_id = Some(*agent_id);
        ctx.event(actor, who.0, who.1, EventKind::CaseAssigned { team_id: team, decision: decision.clone() });
        save_case(conn, &case).await?;
    }
    Ok(Output::Unit)
}
