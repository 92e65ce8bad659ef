//! SLA policies (ordered; the first whose conditions a case meets applies) and a case's SLA
//! clock: each target with its due time, what is left of it, paused, met or missed.

use anliegen_core::sla::{MetricClock, SlaMetric, SlaPolicy, validate_policies};
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, put_policies))
        .routes(routes!(case_sla))
}

/// Targets in business minutes of the case team's calendar; leave one out to not measure it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsDto {
    /// From the first contact to the first public reply of an agent.
    pub first_response: Option<u32>,
    /// From a customer's contact to the next public reply (after the first).
    pub next_response: Option<u32>,
    /// From opening to solved.
    pub resolution: Option<u32>,
}

/// Which cases a policy is for; a missing or empty list means any.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsDto {
    /// Priorities (`low`, `normal`, `high`, `urgent`).
    #[serde(default)]
    pub priorities: Vec<String>,
    /// Team ids.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Channels the case was opened on (`email`, `form`, `portal`, `phone`, `chat`, `api`).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Customer tiers (`premium`).
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Organisation ids.
    #[serde(default)]
    pub organisations: Vec<String>,
}

/// An SLA policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDto {
    /// Its id (made when left out).
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// Switched off policies are never chosen (default on).
    pub active: Option<bool>,
    /// Which cases.
    #[serde(default)]
    pub conditions: ConditionsDto,
    /// The targets.
    pub targets: TargetsDto,
    /// Agents are warned when this share (percent, 1–99) of a target is used (default 75).
    pub warn_percent: Option<u8>,
}

fn to_dto(p: &SlaPolicy) -> PolicyDto {
    let c = &p.conditions;
    PolicyDto {
        id: Some(p.id.to_string()),
        name: p.name.clone(),
        active: Some(p.active),
        conditions: ConditionsDto {
            priorities: c.priorities.iter().map(|x| x.as_str().to_owned()).collect(),
            teams: c.teams.iter().map(ToString::to_string).collect(),
            channels: c.channels.iter().map(|x| x.as_str().to_owned()).collect(),
            tiers: c.tiers.iter().map(|x| x.as_str().to_owned()).collect(),
            organisations: c.organisations.iter().map(ToString::to_string).collect(),
        },
        targets: TargetsDto {
            first_response: p.targets.first_response,
            next_response: p.targets.next_response,
            resolution: p.targets.resolution,
        },
        warn_percent: Some(p.warn_percent),
    }
}

fn each<T>(
    field: &str,
    raw: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> ApiResult<Vec<T>> {
    raw.iter()
        .map(|r| parse(r).map_err(|e| ApiError::invalid(field, e)))
        .collect()
}

/// A policy from its DTO (`at`: its place in the list, for field names).
pub(crate) fn from_dto(d: &PolicyDto, at: usize) -> ApiResult<SlaPolicy> {
    let f = |name: &str| format!("[{at}].{name}");
    let id = match &d.id {
        Some(raw) => {
            uuid::Uuid::parse_str(raw).map_err(|_| ApiError::invalid(f("id"), "id is a UUID"))?
        }
        None => uuid::Uuid::now_v7(),
    };
    let c = &d.conditions;
    let uuid = |r: &str| uuid::Uuid::parse_str(r).map_err(|_| format!("'{r}' is not an id"));
    let p = SlaPolicy {
        id,
        name: d.name.trim().to_owned(),
        active: d.active.unwrap_or(true),
        conditions: anliegen_core::sla::SlaConditions {
            priorities: each(&f("conditions.priorities"), &c.priorities, |r| {
                anliegen_core::Priority::parse(r).map_err(|e| e.message)
            })?,
            teams: each(&f("conditions.teams"), &c.teams, |r| {
                uuid(r).map(anliegen_core::TeamId)
            })?,
            channels: each(&f("conditions.channels"), &c.channels, |r| {
                anliegen_core::Channel::parse(r).map_err(|e| e.message)
            })?,
            tiers: each(&f("conditions.tiers"), &c.tiers, |r| {
                anliegen_core::Tier::parse(r).map_err(|e| e.message)
            })?,
            organisations: each(&f("conditions.organisations"), &c.organisations, |r| {
                uuid(r).map(anliegen_core::OrganisationId)
            })?,
        },
        targets: anliegen_core::sla::SlaTargets {
            first_response: d.targets.first_response,
            next_response: d.targets.next_response,
            resolution: d.targets.resolution,
        },
        warn_percent: d.warn_percent.unwrap_or(75),
    };
    p.validate()
        .map_err(|e| ApiError::invalid(f(e.what), e.message))?;
    Ok(p)
}

/// Checks and stores the ordered policies (their teams must exist); the SLA projection then
/// recomputes the due times of every open case.
pub(crate) async fn save_policies(
    state: &AppState,
    actor: anliegen_core::Actor,
    policies: &[SlaPolicy],
) -> ApiResult<()> {
    validate_policies(policies).map_err(|e| ApiError::invalid(e.what, e.message))?;
    let teams = state.store().teams().await?;
    for (i, p) in policies.iter().enumerate() {
        if let Some(t) = p
            .conditions
            .teams
            .iter()
            .find(|t| !teams.iter().any(|x| x.id == **t))
        {
            return Err(ApiError::invalid(
                format!("[{i}].conditions.teams"),
                format!("there is no team {t}"),
            ));
        }
    }
    state
        .store()
        .exec(
            actor,
            anliegen_store::Command::SetSetting {
                key: anliegen_store::sla::POLICIES_KEY.into(),
                value: serde_json::to_value(policies).unwrap_or_default(),
            },
        )
        .await?;
    Ok(())
}

/// The SLA policies in the order they are tried.
#[utoipa::path(get, path = "/sla/policies", tag = "sla", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyDto>)))]
async fn list_policies(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    auth.require(Scope::Read)?;
    let list = anliegen_store::sla::policies(state.store()).await?;
    Ok(Json(list.iter().map(to_dto).collect()))
}

/// Replaces the SLA policies (admins): the whole ordered list, so order changes are one
/// request. Open cases' due times follow within seconds.
#[utoipa::path(put, path = "/sla/policies", tag = "sla", request_body = Vec<PolicyDto>, security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyDto>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_policies(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<Vec<PolicyDto>>,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    auth.require_role(anliegen_core::Role::Admin)?;
    let policies = body
        .value
        .iter()
        .enumerate()
        .map(|(i, d)| from_dto(d, i))
        .collect::<ApiResult<Vec<_>>>()?;
    save_policies(&state, auth.actor(), &policies).await?;
    Ok(Json(policies.iter().map(to_dto).collect()))
}

/// One SLA target of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricDto {
    /// `first_response`, `next_response` or `resolution`.
    pub metric: String,
    /// `running`, `paused`, `breached` (running past due), `met`, `missed` (done late),
    /// `dropped` (solved without it) or `untargeted` (no target in the policy).
    pub state: String,
    /// The target in business minutes.
    pub target_minutes: Option<u32>,
    /// When this run started.
    pub started_at: String,
    /// When the target runs out (while running).
    pub due_at: Option<String>,
    /// When agents are warned (while running).
    pub warn_at: Option<String>,
    /// Business seconds left (negative: past due); none without a target.
    pub remaining_seconds: Option<i64>,
    /// When it was met or dropped.
    pub done_at: Option<String>,
}

/// A case's SLA.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSlaDto {
    /// The policy that applies (none: no policy matches).
    pub policy: Option<String>,
    /// Its name.
    pub policy_name: Option<String>,
    /// Why the clock is paused: `none`, `customer`, `third_party`, `solved`.
    pub paused: String,
    /// The earliest due time of a running target.
    pub next_due_at: Option<String>,
    /// The targets.
    pub metrics: Vec<MetricDto>,
}

/// A metric's state at `now`, for the API and the case view.
pub(crate) fn metric_state(m: &MetricClock, now: jiff::Timestamp) -> &'static str {
    match (m.done_at, m.met, m.target_min) {
        (_, _, None) => "untargeted",
        (Some(_), Some(true), _) => "met",
        (Some(_), Some(false), _) => "missed",
        (Some(_), None, _) => "dropped",
        (None, _, _) if m.due_at.is_some_and(|d| d <= now) => "breached",
        (None, _, _) if m.running() => "running",
        (None, _, _) => "paused",
    }
}

/// A case's SLA clock: the policy, each target's due time and what is left of it in business
/// time, and whether it is paused. 404 for a case one may not see or one without a clock yet.
#[utoipa::path(get, path = "/cases/{id}/sla", tag = "sla", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = CaseSlaDto), (status = 404, body = Problem)))]
async fn case_sla(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseSlaDto>> {
    auth.require(Scope::Read)?;
    let case = super::cases::find_case(&state, &auth, &id).await?;
    let Some((_, clock, cal)) = anliegen_store::sla::case_clock(state.store(), case.id).await?
    else {
        return Err(ApiError::not_found("this case has no SLA clock yet"));
    };
    let now = state.store().now();
    let pause = match clock.pause {
        anliegen_core::sla::SlaPause::None => "none",
        anliegen_core::sla::SlaPause::Customer => "customer",
        anliegen_core::sla::SlaPause::ThirdParty => "third_party",
        anliegen_core::sla::SlaPause::Solved => "solved",
    };
    let metrics = SlaMetric::ALL
        .iter()
        .filter_map(|k| clock.metrics().find(|(m, _)| m == k))
        .map(|(metric, m)| MetricDto {
            metric: metric.as_str().to_owned(),
            state: metric_state(m, now).to_owned(),
            target_minutes: m.target_min,
            started_at: m.started_at.to_string(),
            due_at: m.due_at.map(|t| t.to_string()),
            warn_at: m.warn_at.map(|t| t.to_string()),
            remaining_seconds: m
                .remaining(now, &cal)
                .filter(|_| m.active())
                .map(|d| d.as_secs()),
            done_at: m.done_at.map(|t| t.to_string()),
        })
        .collect();
    Ok(Json(CaseSlaDto {
        policy: clock.policy_id.map(|p| p.to_string()),
        policy_name: clock.policy_id.map(|_| clock.policy_name.clone()),
        paused: pause.to_owned(),
        next_due_at: clock.next_due().map(|t| t.to_string()),
        metrics,
    }))
}
