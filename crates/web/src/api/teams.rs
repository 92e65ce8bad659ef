//! Teams.

use anliegen_core::{Role, TeamId};
use anliegen_store::{Command, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{IdempotencyHeader, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::{CreateTeam, TeamDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team))
}

/// All teams by name.
#[utoipa::path(get, path = "/teams", tag = "teams", security(("bearer" = [])), responses((status = 200, body = Vec<TeamDto>)))]
async fn list_teams(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TeamDto>>> {
    auth.require(Scope::Read)?;
    Ok(Json(
        state
            .store()
            .teams()
            .await?
            .iter()
            .map(TeamDto::from)
            .collect(),
    ))
}

/// One team.
#[utoipa::path(get, path = "/teams/{id}", tag = "teams", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = TeamDto), (status = 404, body = Problem)))]
async fn get_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TeamDto>> {
    auth.require(Scope::Read)?;
    let id = TeamId(uuid_field("id", &id)?);
    let t = state
        .store()
        .team(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("team {id} was not found")))?;
    Ok(Json(TeamDto::from(&t)))
}

/// Creates a team (admins).
#[utoipa::path(post, path = "/teams", tag = "teams", request_body = CreateTeam, params(IdempotencyHeader), security(("bearer" = [])),
    responses((status = 201, body = TeamDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_team(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateTeam>,
) -> ApiResult<Response> {
    auth.require_role(Role::Admin)?;
    let cmd = Command::CreateTeam {
        name: body.value.name.clone(),
        description: anliegen_core::contact::clean_text(&body.value.description),
    };
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Team(t) => Some(TeamDto::from(t)),
        _ => None,
    });
    execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/teams", &body.raw),
        cmd,
        out,
    )
    .await
}
