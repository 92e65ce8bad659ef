//! The event log: every change, globally ordered.

use anliegen_core::{CaseId, CustomerId};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::uuid_field;
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::EventDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

/// Reading the log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    /// Only events after this sequence number (for following the log).
    after: Option<i64>,
    /// At most this many (1–1000, default 100).
    limit: Option<i64>,
    /// Only this case's events.
    case_id: Option<String>,
    /// Only this customer's events.
    customer_id: Option<String>,
}

/// Events in sequence order. Follow the log with `after` = the last `seq` you saw: the order
/// is gap-safe, so nothing that commits later appears below a number you already read.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<EventDto>), (status = 422, body = Problem)))]
async fn list_events(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<Vec<EventDto>>> {
    auth.require(Scope::Read)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let after = q.after.unwrap_or(0);
    let events = match (&q.case_id, &q.customer_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "case_id",
                "filter by case or by customer, not both",
            ));
        }
        (Some(c), None) => {
            let id = CaseId(uuid_field("case_id", c)?);
            state
                .store()
                .case_events(id)
                .await?
                .into_iter()
                .filter(|e| e.seq > after)
                .take(limit as usize)
                .collect()
        }
        (None, Some(c)) => {
            let id = CustomerId(uuid_field("customer_id", c)?);
            state
                .store()
                .customer_events(id)
                .await?
                .into_iter()
                .filter(|e| e.seq > after)
                .take(limit as usize)
                .collect()
        }
        (None, None) => state.store().events_after(after, limit).await?,
    };
    Ok(Json(events.iter().map(EventDto::from).collect()))
}
