//! The REST API under `/api/v1`. Each module is one area of the domain.

mod agents;
pub(crate) mod automations;
mod calendar;
pub(crate) mod cases;
mod concerns;
mod customers;
mod events;
mod jobs;
mod mailboxes;
pub mod promises;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod sla;
mod teams;

use std::sync::Arc;

use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::ApiError;
use crate::idempotency::{Render, unexpected};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::router())
        .merge(customers::router())
        .merge(cases::router())
        .merge(teams::router())
        .merge(agents::router())
        .merge(events::router())
        .merge(jobs::router())
        .merge(mailboxes::router())
        .merge(concerns::router())
        .merge(search::router())
        .merge(calendar::router())
        .merge(promises::router())
        .merge(sla::router())
        .merge(automations::router())
}

/// Parses a UUID path or body value, naming the field on failure.
pub(crate) fn uuid_field(field: &str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError::invalid(field, format!("'{raw}' is not a valid id")))
}

/// A renderer answering `status` with what `pick` makes of the output.
pub(crate) fn render<T: serde::Serialize>(
    status: StatusCode,
    pick: impl Fn(&anliegen_store::Output) -> Option<T> + Send + Sync + 'static,
) -> Render {
    Arc::new(move |out| match pick(out) {
        Some(v) => (status, serde_json::to_value(v).unwrap_or_default()),
        None => unexpected(out),
    })
}

/// Page size from a query: 1 to 200, default 50.
pub(crate) fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 200",
        )),
    }
}

/// Parses an optional cursor.
pub(crate) fn cursor(raw: Option<&str>) -> Result<Option<anliegen_store::Cursor>, ApiError> {
    raw.map(|c| {
        anliegen_store::Cursor::decode(c).ok_or_else(|| {
            ApiError::invalid(
                "cursor",
                "this cursor is not valid; use next_cursor from a previous page",
            )
        })
    })
    .transpose()
}

/// Documentation of the `Idempotency-Key` header, for `params(...)`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct IdempotencyHeader {
    /// Makes retries safe: the same key and body within 24 h returns the first response
    /// (`Idempotent-Replayed: true`); another body with the same key is refused (422); while
    /// the first request runs, 409.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}
