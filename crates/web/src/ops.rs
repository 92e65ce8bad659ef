//! Operations: liveness, readiness and Prometheus metrics.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Health report.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Seconds since start.
    pub uptime_seconds: u64,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        uptime_seconds: state.0.started.elapsed().as_secs(),
    })
}

/// Readiness: the store answers and the node is not draining.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = crate::Problem)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.0.draining.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable("this node is shutting down"));
    }
    state.store().last_seq().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check: store unavailable");
        ApiError::unavailable("the store is not reachable")
    })?;
    Ok(Json(Health {
        status: "ok",
        uptime_seconds: state.0.started.elapsed().as_secs(),
    }))
}

/// Prometheus metrics: requests, latencies, cases opened, jobs, writer queue, projection lag.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = state.0.metrics.as_ref() else {
        return ApiError::not_found("metrics are not enabled").into_response();
    };
    if let Err(e) = refresh_gauges(&state).await {
        tracing::warn!(error = %e, "could not refresh metric gauges");
    }
    let mut res = (StatusCode::OK, handle.render()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

async fn refresh_gauges(state: &AppState) -> anliegen_store::Result<()> {
    let store = state.store();
    let jobs = store.job_counts().await?;
    metrics::gauge!("anliegen_jobs", "status" => "pending").set(jobs.pending as f64);
    metrics::gauge!("anliegen_jobs", "status" => "running").set(jobs.running as f64);
    metrics::gauge!("anliegen_jobs", "status" => "dead").set(jobs.dead as f64);
    metrics::gauge!("anliegen_job_queue_depth").set((jobs.pending + jobs.running) as f64);
    metrics::gauge!("anliegen_writer_queue").set(store.writer_queue() as f64);
    let last = store.last_seq().await?;
    metrics::gauge!("anliegen_event_seq").set(last as f64);
    for name in [
        anliegen_store::projection::Stats::NAME,
        anliegen_store::projection::Notifications::NAME,
        anliegen_store::concern::AutoEscalation::NAME,
        anliegen_store::concern::Backlog::NAME,
        anliegen_store::sla::SlaClocks::NAME,
        // The binary's trigger runner (`anliegen::automation::Triggers`).
        "automations",
        anliegen_search::PROJECTION,
    ] {
        let at = store.checkpoint(name).await?;
        metrics::gauge!("anliegen_projection_lag_events", "projection" => name)
            .set((last - at).max(0) as f64);
    }
    for (name, value) in store.stats().await? {
        if let Some(status) = name.strip_prefix("cases.status.") {
            metrics::gauge!("anliegen_cases", "status" => status.to_owned()).set(value as f64);
        } else if name == "customers" {
            metrics::gauge!("anliegen_customers").set(value as f64);
        }
    }
    Ok(())
}
