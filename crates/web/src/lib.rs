//! Anliegen's HTTP face: the REST API under `/api/v1` with its OpenAPI document, token and
//! password authentication, `Idempotency-Key` handling, problem+json errors, health and
//! metrics. Only this crate knows HTTP and JSON; every change goes through the store's writer.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::indexing_slicing
)]

pub mod api;
pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod ops;
pub mod ui;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anliegen_store::Store;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ApiResult, Problem};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Workspace cookies get `Secure` (set when served over TLS; a proxy's
    /// `X-Forwarded-Proto: https` sets it per request as well).
    pub secure_cookies: bool,
    /// The mail settings from the configuration, for the admin pages (no secrets).
    pub mail_settings: Vec<(String, String)>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            body_limit: 40 * 1024 * 1024,
            secure_cookies: false,
            mail_settings: Vec::new(),
        }
    }
}

struct Inner {
    store: Store,
    concerns: anliegen_store::concern::Concerns,
    metrics: Option<PrometheusHandle>,
    config: WebConfig,
    tokens: auth::TokenCache,
    logins: auth::LoginGuard,
    inflight: Mutex<HashSet<(String, String)>>,
    draining: AtomicBool,
    started: Instant,
    live: Arc<ui::live::Live>,
    search: anliegen_search::Search,
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// State over `store`; `metrics` renders `/metrics` when a recorder is installed.
    pub fn new(
        store: Store,
        search: anliegen_search::Search,
        metrics: Option<PrometheusHandle>,
        config: WebConfig,
    ) -> Self {
        let live = ui::live::Live::start(store.clone());
        Self(Arc::new(Inner {
            search,
            concerns: anliegen_store::concern::Concerns::new(store.clone()),
            live,
            store,
            metrics,
            config,
            tokens: auth::TokenCache::default(),
            logins: auth::LoginGuard::default(),
            inflight: Mutex::new(HashSet::new()),
            draining: AtomicBool::new(false),
            started: Instant::now(),
        }))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Full-text search.
    pub fn search(&self) -> &anliegen_search::Search {
        &self.0.search
    }

    /// Concern matching, routing and escalation settings.
    pub fn concerns(&self) -> &anliegen_store::concern::Concerns {
        &self.0.concerns
    }

    /// The live hub of the workspace.
    pub fn live(&self) -> &Arc<ui::live::Live> {
        &self.0.live
    }

    /// Token cache.
    pub fn tokens(&self) -> &auth::TokenCache {
        &self.0.tokens
    }

    /// Sign-in lockout.
    pub fn logins(&self) -> &auth::LoginGuard {
        &self.0.logins
    }

    /// Marks the node as going away: `/readyz` turns 503 so balancers drain it.
    pub fn set_draining(&self) {
        self.0.draining.store(true, Ordering::Relaxed);
    }

    fn inflight(&self) -> &Mutex<HashSet<(String, String)>> {
        &self.0.inflight
    }
}

/// The OpenAPI document's frame; paths are added by the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Anliegen API",
        description = "Self-hosted customer service for online shops and marketplaces. Every POST accepts an \
                       `Idempotency-Key` header (kept 24 h per token). Errors are RFC 9457 problem documents.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "auth", description = "Sign-in and tokens"),
        (name = "customers", description = "Customers, identities, organisations"),
        (name = "cases", description = "Cases, contacts and their timeline"),
        (name = "teams", description = "Teams"),
        (name = "mailboxes", description = "Mailboxes of the mail channel"),
        (name = "agents", description = "Agents"),
        (name = "events", description = "The event log"),
        (name = "search", description = "Full-text search with filters"),
        (name = "calendars", description = "Public holidays and business calendars"),
        (name = "sla", description = "SLA policies and the SLA clocks of cases"),
        (name = "automations", description = "Automation rules: triggers, timers, dry-run"),
        (name = "promises", description = "Promises made to customers"),
        (name = "admin", description = "Jobs and dead letters"),
        (name = "ops", description = "Health and metrics")
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("anl_…")
                    .build(),
            ),
        );
    }
}

/// The whole application: API, OpenAPI document, health and metrics.
pub fn app(state: AppState) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api::router())
        .merge(ops::router())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let doc = Arc::new(doc);
    let body_limit = state.0.config.body_limit;
    api.merge(ui::router().with_state(state.clone()))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .fallback(|| async { ApiError::not_found("there is nothing at this address") })
        .method_not_allowed_fallback(|| async {
            ApiError::bad_request("this method is not allowed here")
                .with_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(problem_for_rejections))
        .layer(middleware::from_fn(track))
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::unavailable("the request failed unexpectedly")
                .with_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }))
        .with_state(state)
}

/// The OpenAPI document, for tools and tests that want it without a server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api::router())
        .merge(ops::router())
        .split_for_parts();
    doc
}

/// Request count and latency per route and status.
async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("anliegen_http_requests_total", &labels).increment(1);
    metrics::histogram!("anliegen_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Rejections that axum answers itself (a path that does not decode, say) become problem+json
/// like every other client error.
async fn problem_for_rejections(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/problem+json") || ct.starts_with("text/html")
        });
    if !status.is_client_error() || is_problem {
        return res;
    }
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).trim().to_owned();
    let detail = if detail.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("client error")
            .to_owned()
    } else {
        detail
    };
    ApiError::bad_request(detail)
        .with_status(status)
        .into_response()
}

/// One place for security headers.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The mail frame of the workspace allows its own origin; everything else is never framed.
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    // Workspace pages send `same-origin` (a form POST under `no-referrer` carries `Origin:
    // null`, which the workspace's same-origin check refuses); everything else sends none.
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    // A handler may set a stricter policy (attachments are sandboxed); keep it.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
