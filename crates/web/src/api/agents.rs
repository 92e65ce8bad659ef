//! Agents: admins manage them; every agent may change their own name, languages, time zone and
//! password.

use anliegen_core::agent::parse_skill;
use anliegen_core::{AgentId, EmailAddress, Language, Role, TeamId, TimeZoneName};
use anliegen_store::{AgentPatch, Command, NewAgent, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{IdempotencyHeader, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope, check_new_password, hash_password, verify_password};
use crate::dto::{AgentDto, CreateAgent, UpdateAgent};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent))
}

fn parse_languages(field: &str, raw: &[String]) -> ApiResult<Vec<Language>> {
    let mut out = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let l = Language::parse(l)
            .map_err(|e| ApiError::invalid(format!("{field}[{i}]"), e.message))?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

fn parse_skills(raw: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = raw
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_skill(s).map_err(|e| ApiError::invalid(format!("skills[{i}]"), e.message))
        })
        .collect::<ApiResult<_>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

async fn hash(password: String) -> ApiResult<String> {
    check_new_password(&password)?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&std::io::Error::other(e.to_string())))
}

/// All agents.
#[utoipa::path(get, path = "/agents", tag = "agents", security(("bearer" = [])), responses((status = 200, body = Vec<AgentDto>)))]
async fn list_agents(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<AgentDto>>> {
    auth.require(Scope::Read)?;
    Ok(Json(
        state
            .store()
            .agents()
            .await?
            .iter()
            .map(AgentDto::from)
            .collect(),
    ))
}

/// One agent.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AgentDto), (status = 404, body = Problem)))]
async fn get_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentDto>> {
    auth.require(Scope::Read)?;
    let id = AgentId(uuid_field("id", &id)?);
    let a = state
        .store()
        .agent(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("agent {id} was not found")))?;
    Ok(Json(AgentDto::from(&a)))
}

/// Creates an agent (admins).
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = CreateAgent, params(IdempotencyHeader), security(("bearer" = [])),
    responses((status = 201, body = AgentDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateAgent>,
) -> ApiResult<Response> {
    auth.require_role(Role::Admin)?;
    let r = &body.value;
    let email = EmailAddress::parse(&r.email).map_err(|e| ApiError::invalid("email", e.message))?;
    let name = anliegen_core::team::parse_name("name", &r.name)
        .map_err(|e| ApiError::invalid("name", e.message))?;
    let role = r
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("role", e.message))?
        .unwrap_or(Role::Agent);
    let languages = if r.languages.is_empty() {
        vec![Language::De]
    } else {
        parse_languages("languages", &r.languages)?
    };
    let ui_language = r
        .ui_language
        .as_deref()
        .map(Language::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("ui_language", e.message))?
        .unwrap_or(Language::De);
    let time_zone = r
        .time_zone
        .as_deref()
        .map(TimeZoneName::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("time_zone", e.message))?
        .unwrap_or_else(TimeZoneName::berlin);
    let skills = parse_skills(&r.skills)?;
    let password_hash = match &r.password {
        Some(p) => Some(hash(p.clone()).await?),
        None => None,
    };
    let cmd = Command::CreateAgent(NewAgent {
        email,
        name,
        role,
        password_hash,
        skills,
        languages,
        ui_language,
        time_zone,
        teams: r.teams.iter().map(|t| TeamId(*t)).collect(),
    });
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Agent(a) => Some(AgentDto::from(&**a)),
        _ => None,
    });
    execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/agents", &body.raw),
        cmd,
        out,
    )
    .await
}

/// Changes an agent. Agents may change their own name, skills, languages, UI language, time
/// zone and password (with the current one); role, teams and active only by admins.
#[utoipa::path(patch, path = "/agents/{id}", tag = "agents", request_body = UpdateAgent, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AgentDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<UpdateAgent>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let id = AgentId(uuid_field("id", &id)?);
    let r = &body.value;
    let is_admin = auth.require_role(Role::Admin).is_ok();
    if id != auth.agent.id && !is_admin {
        return Err(ApiError::forbidden("only admins change other agents"));
    }
    if !is_admin
        && (r.role.is_some() || r.teams.is_some() || r.active.is_some() || r.max_open.is_some())
    {
        return Err(ApiError::forbidden(
            "only admins change roles, teams, capacity and whether an agent is active",
        ));
    }
    if let Some(Some(m)) = r.max_open
        && !(1..=10_000).contains(&m)
    {
        return Err(ApiError::invalid(
            "max_open",
            "an agent holds 1 to 10000 open cases",
        ));
    }
    let mut patch = AgentPatch {
        available: r.available,
        max_open: r.max_open,
        name: r.name.clone(),
        role: r
            .role
            .as_deref()
            .map(Role::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("role", e.message))?,
        skills: r.skills.as_deref().map(parse_skills).transpose()?,
        languages: r
            .languages
            .as_deref()
            .map(|l| parse_languages("languages", l))
            .transpose()?,
        ui_language: r
            .ui_language
            .as_deref()
            .map(Language::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("ui_language", e.message))?,
        time_zone: r
            .time_zone
            .as_deref()
            .map(TimeZoneName::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("time_zone", e.message))?,
        teams: r
            .teams
            .as_ref()
            .map(|t| t.iter().map(|t| TeamId(*t)).collect()),
        active: r.active,
        password_hash: None,
    };
    if id == auth.agent.id && patch.active == Some(false) {
        return Err(ApiError::invalid(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    if let Some(pw) = &r.password {
        if id == auth.agent.id {
            let current = r.current_password.clone().ok_or_else(|| {
                ApiError::invalid(
                    "current_password",
                    "give your current password to set a new one",
                )
            })?;
            let creds = state.store().agent_credentials(&auth.agent.email).await?;
            let stored = creds.and_then(|c| c.password_hash).unwrap_or_default();
            let ok = tokio::task::spawn_blocking(move || verify_password(&stored, &current))
                .await
                .unwrap_or(false);
            if !ok {
                return Err(ApiError::invalid(
                    "current_password",
                    "the current password is wrong",
                ));
            }
        }
        patch.password_hash = Some(hash(pw.clone()).await?);
    }
    let out = render(StatusCode::OK, |o| match o {
        Output::Agent(a) => Some(AgentDto::from(&**a)),
        _ => None,
    });
    let res = execute(
        &state,
        &auth,
        IdempotencyKey(None),
        ("PATCH", "", &[]),
        Command::UpdateAgent { id, patch },
        out,
    )
    .await?;
    state.tokens().forget(None, Some(id));
    Ok(res)
}
