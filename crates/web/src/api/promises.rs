//! Promises on cases: record one (what, due when, owner), keep or cancel it, see how each agent
//! and team keeps theirs. Making a promise schedules its reminder (an hour before) and its
//! overdue check (at the due time) as jobs in the same transaction.

use std::collections::HashMap;

use anliegen_core::language::berlin_zone;
use anliegen_core::promise::{Promise, PromiseStatus, customer_locale, due_phrase};
use anliegen_core::{AgentId, PromiseId};
use anliegen_store::{Command, NewJob, Output, Write};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::uuid_field;
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;

/// Job kind of a promise's scheduled moments (payload `{"promise": id, "overdue": bool}`).
pub const PROMISE_JOB: &str = "promise.due";

/// How long before its due time the owner is reminded.
pub const REMIND_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(make_promise, list_promises))
        .routes(routes!(keep_promise))
        .routes(routes!(cancel_promise))
        .routes(routes!(promise_stats))
        .routes(routes!(request_callback, list_callbacks))
}

/// Record a promise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakePromise {
    /// What was promised ("Rückruf mit dem Ergebnis der Lagersuche").
    pub what: String,
    /// By when (RFC 3339).
    pub due_at: String,
    /// Who answers for it (default: you).
    pub owner_id: Option<uuid::Uuid>,
}

/// Keep or cancel a promise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosePromise {
    /// What was done / why it is withdrawn.
    #[serde(default)]
    pub note: String,
}

/// A promise.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromiseDto {
    /// Id.
    pub id: uuid::Uuid,
    /// The case.
    pub case_id: uuid::Uuid,
    /// Who answers for it.
    pub owner_id: uuid::Uuid,
    /// What.
    pub what: String,
    /// By when.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: jiff::Timestamp,
    /// As the customer reads it, in their language and time zone ("bis Freitag, 14:00 Uhr").
    pub due_for_customer: String,
    /// `open`, `kept` or `cancelled`.
    pub status: String,
    /// Past its due time while open.
    pub overdue: bool,
    /// Kept by its due time.
    pub on_time: Option<bool>,
    /// Made.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// Kept or cancelled.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<jiff::Timestamp>,
    /// How it ended.
    pub note: String,
    /// `promise` or `callback`.
    pub kind: String,
    /// A call-back's window starts.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub window_from: Option<jiff::Timestamp>,
    /// A call-back's number.
    pub phone: Option<String>,
}

/// How the customer of `case` reads due times.
async fn locale_of(
    state: &AppState,
    case: &anliegen_core::Case,
) -> ApiResult<(anliegen_core::Language, jiff::tz::TimeZone)> {
    let customer = state.store().customer(case.customer_id).await?;
    Ok(customer_locale(customer.as_ref(), case.language))
}

/// A promise on `case` as the API shows it.
async fn dto(state: &AppState, case: &anliegen_core::Case, p: &Promise) -> ApiResult<PromiseDto> {
    let (lang, tz) = locale_of(state, case).await?;
    Ok(dto_in(p, state.store().now(), &tz, lang))
}

fn dto_in(
    p: &Promise,
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    lang: anliegen_core::Language,
) -> PromiseDto {
    PromiseDto {
        id: p.id.0,
        case_id: p.case_id.0,
        owner_id: p.owner_id.0,
        what: p.what.clone(),
        due_at: p.due_at,
        due_for_customer: due_phrase(p.due_at, now, tz, lang),
        status: p.status.as_str().to_owned(),
        overdue: p.overdue || (p.status == PromiseStatus::Open && p.due_at < now),
        on_time: p.on_time,
        created_at: p.created_at,
        closed_at: p.closed_at,
        note: p.note.clone(),
        kind: p.kind.as_str().to_owned(),
        window_from: p.window_from,
        phone: p.phone.clone(),
    }
}

/// Records `promise` with its reminder and overdue jobs in one transaction (API, case view and
/// call-back requests alike).
pub(crate) async fn record(
    state: &AppState,
    actor: anliegen_core::Actor,
    promise: Promise,
) -> Result<Promise, anliegen_store::StoreError> {
    record_in(state.store(), actor, promise).await
}

/// [`record`] on a store (automations make promises without a request).
pub async fn record_in(
    store: &anliegen_store::Store,
    actor: anliegen_core::Actor,
    promise: Promise,
) -> Result<Promise, anliegen_store::StoreError> {
    let jobs = jobs_for(&promise, store.now());
    let mut write = Write::new(actor, Command::MakePromise(Box::new(promise)));
    write.jobs = jobs;
    match store.write(write).await? {
        Output::Promise(p) => Ok(*p),
        _ => Err(anliegen_store::StoreError::Corrupt(
            "recording a promise returned something else".into(),
        )),
    }
}

/// The jobs of a new promise: its reminder (an hour before, if that is still ahead) and its
/// overdue check, each once (dedupe key per promise and moment).
pub fn jobs_for(promise: &Promise, now: jiff::Timestamp) -> Vec<NewJob> {
    let mut jobs = vec![
        NewJob::new(
            PROMISE_JOB,
            serde_json::json!({"promise": promise.id, "overdue": true}),
        )
        .dedupe(format!("promise.overdue:{}", promise.id))
        .at(promise.due_at),
    ];
    let remind = promise.due_at - REMIND_BEFORE;
    if remind > now {
        jobs.push(
            NewJob::new(
                PROMISE_JOB,
                serde_json::json!({"promise": promise.id, "overdue": false}),
            )
            .dedupe(format!("promise.remind:{}", promise.id))
            .at(remind),
        );
    }
    jobs
}

/// Records a promise on a case. The owner gets a reminder an hour before it is due; if it is
/// still open at its due time it is marked overdue, the case escalates and supervisors hear.
#[utoipa::path(post, path = "/cases/{id}/promises", tag = "promises", request_body = MakePromise,
    params(("id" = String, Path, description = "Case id or reference")), security(("bearer" = [])),
    responses((status = 201, body = PromiseDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn make_promise(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<MakePromise>,
) -> ApiResult<(StatusCode, Json<PromiseDto>)> {
    auth.require(Scope::Write)?;
    let case = super::cases::find_case(&state, &auth, &id).await?;
    let req = &body.value;
    let due_at: jiff::Timestamp = req.due_at.parse().map_err(|_| {
        ApiError::invalid(
            "due_at",
            "due_at is an RFC 3339 time, e.g. 2026-12-04T14:00:00+01:00",
        )
    })?;
    let now = state.store().now();
    anliegen_core::promise::check_due(due_at, now)
        .map_err(|e| ApiError::invalid("due_at", e.to_string()))?;
    let what = anliegen_core::promise::parse_what(&req.what)
        .map_err(|e| ApiError::invalid("what", e.to_string()))?;
    let owner = req.owner_id.map(AgentId).unwrap_or(auth.agent.id);
    let p = record(
        &state,
        auth.actor(),
        Promise::new(case.id, owner, what, due_at, now),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(dto(&state, &case, &p).await?)))
}

/// A case's promises, by due time.
#[utoipa::path(get, path = "/cases/{id}/promises", tag = "promises",
    params(("id" = String, Path, description = "Case id or reference")), security(("bearer" = [])),
    responses((status = 200, body = Vec<PromiseDto>), (status = 404, body = Problem)))]
async fn list_promises(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PromiseDto>>> {
    auth.require(Scope::Read)?;
    let case = super::cases::find_case(&state, &auth, &id).await?;
    let (lang, tz) = locale_of(&state, &case).await?;
    let now = state.store().now();
    Ok(Json(
        state
            .store()
            .promises(case.id)
            .await?
            .iter()
            .map(|p| dto_in(p, now, &tz, lang))
            .collect(),
    ))
}

async fn close(
    state: &AppState,
    auth: &Auth,
    id: &str,
    keep: bool,
    note: &str,
) -> ApiResult<Json<PromiseDto>> {
    auth.require(Scope::Write)?;
    let id = PromiseId(uuid_field("id", id)?);
    let p = state
        .store()
        .promise(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such promise"))?;
    // Only promises on cases the caller may see.
    let case = super::cases::find_case(state, auth, &p.case_id.to_string()).await?;
    let command = if keep {
        Command::KeepPromise {
            id,
            note: note.to_owned(),
        }
    } else {
        if note.trim().is_empty() {
            return Err(ApiError::invalid(
                "note",
                "say why the promise is withdrawn",
            ));
        }
        Command::CancelPromise {
            id,
            reason: note.trim().to_owned(),
        }
    };
    let Output::Promise(p) = state.store().exec(auth.actor(), command).await? else {
        return Err(ApiError::unavailable("unexpected result"));
    };
    Ok(Json(dto(state, &case, &p).await?))
}

/// Marks a promise kept (on time or late, recorded).
#[utoipa::path(post, path = "/promises/{id}/keep", tag = "promises", request_body = ClosePromise,
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = PromiseDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn keep_promise(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<ClosePromise>,
) -> ApiResult<Json<PromiseDto>> {
    close(&state, &auth, &id, true, &body.value.note).await
}

/// Withdraws a promise (a reason is required).
#[utoipa::path(post, path = "/promises/{id}/cancel", tag = "promises", request_body = ClosePromise,
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = PromiseDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn cancel_promise(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<ClosePromise>,
) -> ApiResult<Json<PromiseDto>> {
    close(&state, &auth, &id, false, &body.value.note).await
}

/// How an agent or team keeps promises.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromiseStatsDto {
    /// Agent or team id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Kept by the due time.
    pub kept_on_time: i64,
    /// Kept late.
    pub kept_late: i64,
    /// Open and overdue.
    pub open_overdue: i64,
    /// Open, not due yet.
    pub open: i64,
    /// Withdrawn.
    pub cancelled: i64,
    /// Kept on time, in percent of those that came due (null before any did).
    pub kept_on_time_percent: Option<f64>,
}

/// Promise statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromiseStatsReport {
    /// Per agent.
    pub agents: Vec<PromiseStatsDto>,
    /// Per team (an agent's promises count for each of their teams).
    pub teams: Vec<PromiseStatsDto>,
}

/// "Promises kept on time %" per agent and team (supervisors).
#[utoipa::path(get, path = "/promises/stats", tag = "promises", security(("bearer" = [])),
    responses((status = 200, body = PromiseStatsReport), (status = 403, body = Problem)))]
async fn promise_stats(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<PromiseStatsReport>> {
    auth.require(Scope::Read)?;
    auth.require_role(anliegen_core::Role::Supervisor)?;
    let stats = state.store().promise_stats(state.store().now()).await?;
    let agents = state.store().agents().await?;
    let teams = state.store().teams().await?;
    let name_of: HashMap<AgentId, &anliegen_core::Agent> =
        agents.iter().map(|a| (a.id, a)).collect();
    let mut by_team: HashMap<anliegen_core::TeamId, anliegen_store::PromiseStats> = HashMap::new();
    let row = |id: uuid::Uuid, name: String, s: &anliegen_store::PromiseStats| PromiseStatsDto {
        id,
        name,
        kept_on_time: s.kept_on_time,
        kept_late: s.kept_late,
        open_overdue: s.open_overdue,
        open: s.open,
        cancelled: s.cancelled,
        kept_on_time_percent: s.kept_on_time_percent(),
    };
    let mut out = PromiseStatsReport {
        agents: Vec::new(),
        teams: Vec::new(),
    };
    for s in &stats {
        let agent = name_of.get(&s.owner_id);
        out.agents.push(row(
            s.owner_id.0,
            agent.map(|a| a.name.clone()).unwrap_or_default(),
            s,
        ));
        for t in agent.map(|a| a.teams.clone()).unwrap_or_default() {
            let e = by_team.entry(t).or_insert(anliegen_store::PromiseStats {
                owner_id: s.owner_id,
                kept_on_time: 0,
                kept_late: 0,
                open_overdue: 0,
                open: 0,
                cancelled: 0,
            });
            e.kept_on_time += s.kept_on_time;
            e.kept_late += s.kept_late;
            e.open_overdue += s.open_overdue;
            e.open += s.open;
            e.cancelled += s.cancelled;
        }
    }
    for t in &teams {
        if let Some(s) = by_team.get(&t.id) {
            out.teams.push(row(t.id.0, t.name.clone(), s));
        }
    }
    Ok(Json(out))
}

/// A customer asks to be called back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCallback {
    /// Who (default: the customer with this phone number).
    pub customer: Option<crate::dto::CaseCustomer>,
    /// The number to call (German numbers without +49 are understood).
    pub phone: String,
    /// What it is about.
    pub concern: String,
    /// The earliest time that suits (RFC 3339).
    pub window_from: String,
    /// The latest time that suits (RFC 3339): the call-back is due then.
    pub window_to: String,
    /// Who calls back (default: the case's assignee after routing, else you).
    pub owner_id: Option<uuid::Uuid>,
}

/// A call-back request as created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackCreated {
    /// The case it opened.
    pub case_id: uuid::Uuid,
    /// Its reference.
    pub reference: String,
    /// The promise to call back.
    pub promise: PromiseDto,
}

/// Records a call-back request: a new case on the phone channel with the concern, and a
/// promise to call back within the window (due at its end), owned by the case's assignee.
#[utoipa::path(post, path = "/callbacks", tag = "promises", request_body = RequestCallback, security(("bearer" = [])),
    responses((status = 201, body = CallbackCreated), (status = 422, body = Problem)))]
async fn request_callback(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<RequestCallback>,
) -> ApiResult<(StatusCode, Json<CallbackCreated>)> {
    auth.require(Scope::Write)?;
    let req = &body.value;
    let phone = anliegen_core::PhoneNumber::parse(&req.phone)
        .map_err(|e| ApiError::invalid("phone", e.message))?;
    let time = |field: &str, raw: &str| -> ApiResult<jiff::Timestamp> {
        raw.parse().map_err(|_| {
            ApiError::invalid(
                field,
                format!("{field} is an RFC 3339 time, e.g. 2026-12-04T14:00:00+01:00"),
            )
        })
    };
    let from = time("window_from", &req.window_from)?;
    let to = time("window_to", &req.window_to)?;
    let now = state.store().now();
    if to <= from {
        return Err(ApiError::invalid(
            "window_to",
            "the window ends after it starts",
        ));
    }
    if to.duration_since(from) > jiff::SignedDuration::from_hours(14 * 24) {
        return Err(ApiError::invalid(
            "window_to",
            "a call-back window is at most 14 days long",
        ));
    }
    anliegen_core::promise::check_due(to, now)
        .map_err(|e| ApiError::invalid("window_to", e.message))?;
    let concern = req.concern.trim();
    if concern.is_empty() || concern.chars().count() > 5000 {
        return Err(ApiError::invalid(
            "concern",
            "say what the call is about (1 to 5,000 characters)",
        ));
    }
    let customer = match &req.customer {
        Some(c) => super::cases::parse_case_customer(c)?,
        None => anliegen_store::CustomerRef::Identity {
            identity: anliegen_core::Identity {
                kind: anliegen_core::IdentityKind::Phone,
                value: phone.as_str().to_owned(),
            },
            name: None,
            language: None,
        },
    };
    let short: String = concern.chars().take(60).collect();
    let open = crate::dto::OpenCase {
        customer: crate::dto::CaseCustomer {
            id: None,
            email: None,
            phone: Some(phone.as_str().to_owned()),
            identity: None,
            name: None,
            language: None,
        },
        subject: format!("Rückrufbitte: {short}"),
        priority: None,
        team_id: None,
        assignee_id: None,
        tags: vec!["rueckruf".into()],
        fields: Default::default(),
        contact: crate::dto::FirstContact {
            channel: Some("phone".into()),
            direction: Some("inbound".into()),
            text: format!(
                "Rückrufbitte an {}, zwischen {} und {}:\n\n{concern}",
                phone.as_str(),
                from.to_zoned_datetime(berlin_zone())
                    .strftime("%d.%m.%Y %H:%M"),
                to.to_zoned_datetime(berlin_zone())
                    .strftime("%d.%m.%Y %H:%M"),
            ),
            html: None,
            attachments: Vec::new(),
            call: None,
        },
    };
    let new_case = super::cases::open_case_rest(&open, customer, state.store().now())?;
    let Output::Case(case) = state
        .store()
        .exec(auth.actor(), Command::OpenCase(Box::new(new_case)))
        .await?
    else {
        return Err(ApiError::unavailable("unexpected result"));
    };
    let owner = req
        .owner_id
        .map(AgentId)
        .or(case.assignee_id)
        .unwrap_or(auth.agent.id);
    let promise = Promise {
        kind: anliegen_core::promise::PromiseKind::Callback,
        window_from: Some(from),
        phone: Some(phone.as_str().to_owned()),
        ..Promise::new(
            case.id,
            owner,
            format!("Rückruf unter {}", phone.as_str()),
            to,
            now,
        )
    };
    let p = record(&state, auth.actor(), promise).await?;
    Ok((
        StatusCode::CREATED,
        Json(CallbackCreated {
            case_id: case.id.0,
            reference: case.reference.to_string(),
            promise: dto(&state, &case, &p).await?,
        }),
    ))
}

/// An open call-back.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackDto {
    /// The case's reference.
    pub reference: String,
    /// The promise.
    #[serde(flatten)]
    pub promise: PromiseDto,
}

/// Open call-backs, earliest window first (what agents work through).
#[utoipa::path(get, path = "/callbacks", tag = "promises", security(("bearer" = [])),
    responses((status = 200, body = Vec<CallbackDto>)))]
async fn list_callbacks(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<CallbackDto>>> {
    auth.require(Scope::Read)?;
    let mut out = Vec::new();
    for p in state.store().callbacks(500).await? {
        let Some(case) = state.store().case(p.case_id).await? else {
            continue;
        };
        if !crate::ui::can_see(&auth.agent, &case) {
            continue;
        }
        out.push(CallbackDto {
            reference: case.reference.to_string(),
            promise: dto(&state, &case, &p).await?,
        });
    }
    Ok(Json(out))
}
