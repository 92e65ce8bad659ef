//! Jobs for admins: what is queued, what failed for good (dead letters), and retrying it.

use anliegen_core::Role;
use anliegen_store::JobStatus;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::uuid_field;
use crate::AppState;
use crate::auth::Auth;
use crate::dto::JobDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
}

/// Filtering jobs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobQuery {
    /// pending, running, done or dead.
    status: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

/// Jobs, newest first (admins). `status=dead` lists the dead letters.
#[utoipa::path(get, path = "/admin/jobs", tag = "admin", params(JobQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<JobDto>), (status = 403, body = Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> ApiResult<Json<Vec<JobDto>>> {
    auth.require_role(Role::Admin)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!("'{s}' is not pending, running, done or dead"),
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    Ok(Json(
        state
            .store()
            .jobs(status, limit)
            .await?
            .iter()
            .map(JobDto::from)
            .collect(),
    ))
}

/// Puts a dead job back in the queue with fresh attempts (admins).
#[utoipa::path(post, path = "/admin/jobs/{id}/retry", tag = "admin", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = JobDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn retry_job(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<JobDto>> {
    auth.require_role(Role::Admin)?;
    let id = uuid_field("id", &id)?;
    let store = state.store();
    let job = store
        .job(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} was not found")))?;
    if !store.retry_job(id, store.now()).await? {
        return Err(ApiError::conflict(format!(
            "job {id} is {}, not dead",
            job.status.as_str()
        )));
    }
    let job = store
        .job(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} was not found")))?;
    Ok(Json(JobDto::from(&job)))
}
