//! The agent workspace: server-rendered HTML (askama templates under `crates/web/templates`),
//! German and English, usable without JavaScript for reading and replying; our own small script
//! (`assets/app.js`) adds keyboard shortcuts, live updates over Server-Sent Events, presence and
//! draft autosave.
//!
//! Sign-in makes a session: an API token of the agent (name `web session`) whose secret lives
//! only in an `HttpOnly; SameSite=Lax` cookie. Every form carries a CSRF token derived from the
//! session secret, and every state-changing request must come from our own origin
//! (`Sec-Fetch-Site` / `Origin`).

mod admin;
mod assets;
mod automations_admin;
mod calendar_admin;
mod callbacks;
mod case;
pub mod i18n;
pub mod live;
pub mod notify;
mod queue;
mod routing;
mod search;
mod session;
mod sla_admin;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Auth;
use i18n::{Lang, Tr};

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "anliegen_session";

/// The page CSP: only our own script and style; mail HTML lives in sandboxed frames.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The workspace's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/cases") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route(
            "/settings/password",
            get(session::password_page).post(session::change_password),
        )
        .route("/lang", post(session::switch_lang))
        .route("/availability", post(routing::set_availability))
        .route("/cases", get(queue::queue))
        .route("/search", get(search::page))
        .route("/search/suggest", get(search::suggest))
        .route("/views", post(queue::save_view))
        .route("/views/{id}/delete", post(queue::delete_view))
        .route("/cases/{case}", get(case::view))
        .route(
            "/cases/{case}/contacts",
            post(case::add_contact).layer(axum::extract::DefaultBodyLimit::max(case::MAX_FORM)),
        )
        .route("/cases/{case}/update", post(case::update))
        .route("/cases/{case}/draft", post(case::save_draft))
        .route("/cases/{case}/presence", post(live::presence))
        .route("/contacts/{id}/mail", get(case::mail_frame))
        .route("/contacts/{id}/files/{index}", get(case::file))
        .route("/contacts/{id}/raw", get(case::raw_mail))
        .route("/cases/{case}/macro", post(case::apply_macro))
        .route("/cases/{case}/merge", post(case::merge))
        .route("/cases/{case}/escalate", post(case::escalate))
        .route("/cases/{case}/promises/{id}", post(case::promise))
        .route("/cases/{case}/calls", post(case::log_call))
        .route("/cases/{case}/offers/{offer}", post(case::decide_offer))
        .route("/cases/{case}/merge-customer", post(case::merge_customer))
        .route(
            "/cases/{case}/unmerge-customer",
            post(case::unmerge_customer),
        )
        .route("/cases/{case}/unmerge", post(case::unmerge))
        .route("/cases/{case}/split", post(case::split))
        .route("/cases/{case}/undo-split", post(case::undo_split))
        .route("/live", get(live::stream))
        .route("/notifications", get(notify::list))
        .route("/callbacks", get(callbacks::list))
        .route("/notifications/{id}", post(notify::open))
        .route(
            "/settings/notifications",
            get(notify::settings).post(notify::save_settings),
        )
        .route("/admin", get(|| async { Redirect::to("/admin/agents") }))
        .route("/admin/agents", get(admin::agents).post(admin::save_agent))
        .route(
            "/admin/agents/{id}",
            get(admin::agent).post(admin::save_agent),
        )
        .route("/admin/teams", get(admin::teams).post(admin::create_team))
        .route("/admin/tags", get(admin::tags).post(admin::define_tag))
        .route(
            "/admin/routing",
            get(routing::routing).post(routing::save_rule),
        )
        .route("/admin/routing/{id}", get(routing::rule))
        .route("/admin/routing/{id}/delete", post(routing::delete_rule))
        .route(
            "/admin/routing/teams/{id}",
            post(routing::save_team_assignment),
        )
        .route(
            "/admin/escalation",
            get(routing::escalation).post(routing::save_escalation),
        )
        .route("/admin/tags/{name}/delete", post(admin::remove_tag))
        .route("/admin/calendars", get(calendar_admin::list))
        .route(
            "/admin/calendars/{id}",
            get(calendar_admin::edit).post(calendar_admin::save),
        )
        .route("/admin/sla", get(sla_admin::list).post(sla_admin::save))
        .route("/admin/sla/{id}", get(sla_admin::edit))
        .route("/admin/sla/{id}/delete", post(sla_admin::delete))
        .route(
            "/admin/automations",
            get(automations_admin::list).post(automations_admin::save),
        )
        .route("/admin/automations/{id}", get(automations_admin::edit))
        .route(
            "/admin/automations/{id}/delete",
            post(automations_admin::delete),
        )
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/jobs/{id}/retry", post(admin::retry_job))
        .route("/admin/macros", get(admin::macros).post(admin::save_macro))
        .route(
            "/admin/macros/{id}",
            get(admin::macro_edit).post(admin::save_macro),
        )
        .route(
            "/admin/mailboxes",
            get(admin::mailboxes).post(admin::save_mailbox),
        )
        .route(
            "/admin/mailboxes/{id}",
            get(admin::mailbox).post(admin::save_mailbox),
        )
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(same_origin_writes))
        .layer(middleware::from_fn(request_language))
}

tokio::task_local! {
    /// The language of the request being handled (for error pages, which have no session).
    static LANG: Lang;
}

/// Runs the request with its language known to error pages.
async fn request_language(req: Request, next: Next) -> Response {
    let lang = Lang::of_request(req.headers());
    LANG.scope(lang, next.run(req)).await
}

/// A cookie's value.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// Whether cookies get `Secure`: behind TLS (the proxy says so) or when configured.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.0.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("x=; Max-Age=0"))
}

/// The CSRF token of a session: derived from its secret, so it needs no storage.
fn csrf_of(secret: &str) -> String {
    let d = Sha256::new()
        .chain_update(b"anliegen csrf v1:")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(d.get(..16).unwrap_or_default())
}

/// A signed-in agent on a workspace page.
#[derive(Clone)]
pub(crate) struct Session {
    /// Who, with the session's token.
    pub auth: Auth,
    /// The token every form must echo.
    pub csrf: String,
    /// Interface language.
    pub lang: Lang,
}

impl Session {
    /// Text lookup.
    pub fn tr(&self) -> Tr {
        Tr { lang: self.lang }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), UiError> {
        let a = Sha256::digest(sent.as_bytes());
        let b = Sha256::digest(self.csrf.as_bytes());
        if a == b {
            Ok(())
        } else {
            Err(UiError::new(StatusCode::FORBIDDEN, "error-csrf"))
        }
    }

    /// The agent's time zone.
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(self.auth.agent.time_zone.as_str())
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// The session of a request, if any is valid.
pub(crate) async fn session_of(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    let auth = crate::auth::authenticate(state, &secret).await.ok()?;
    Some(Session {
        csrf: csrf_of(&secret),
        lang: Lang::of_request(headers),
        auth,
    })
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(s) = session_of(state, &parts.headers).await {
            return Ok(s);
        }
        // After sign-in the browser GETs `next`: for a form that was posted, that is the page
        // the form was on.
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into())
        } else {
            referer_path(&parts.headers).unwrap_or_else(|| "/cases".into())
        };
        let next = next.as_str();
        let live = parts.uri.path() == "/live"
            || parts
                .headers
                .get("x-requested-with")
                .is_some_and(|v| v == "fetch");
        if live {
            return Err(
                UiError::new(StatusCode::UNAUTHORIZED, "error-session-expired").into_response(),
            );
        }
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        Err(Redirect::to(&format!("/login?{q}")).into_response())
    }
}

/// An error shown as a page.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    key: &'static str,
    detail: Option<String>,
}

impl UiError {
    pub fn new(status: StatusCode, key: &'static str) -> Self {
        Self {
            status,
            key,
            detail: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "error-not-found")
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl From<anliegen_store::StoreError> for UiError {
    fn from(e: anliegen_store::StoreError) -> Self {
        let api = crate::ApiError::from(e);
        let status = api.status();
        if status.is_server_error() {
            tracing::error!(error = api.detail(), "workspace request failed");
            Self::new(status, "error-server")
        } else {
            Self::new(status, "error-invalid").with_detail(api.detail().to_owned())
        }
    }
}

impl From<crate::ApiError> for UiError {
    fn from(api: crate::ApiError) -> Self {
        let status = api.status();
        if status.is_server_error() {
            Self::new(status, "error-server")
        } else {
            Self::new(status, "error-invalid").with_detail(api.detail().to_owned())
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr,
    title: String,
    detail: Option<&'a str>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let t = Tr {
            lang: LANG.try_with(|l| *l).unwrap_or(Lang::De),
        };
        let page = ErrorPage {
            t,
            title: t.s(self.key),
            detail: self.detail.as_deref(),
        };
        let mut res = render(&page);
        *res.status_mut() = self.status;
        res
    }
}

/// Renders a page with the workspace's headers.
pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = Html(html).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template failed").into_response()
        }
    }
}

/// Refuses state-changing requests from other sites: `Sec-Fetch-Site` must be same-origin (or
/// absent), and an `Origin` must be ours. The per-form CSRF token is checked by each handler.
async fn same_origin_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let site_ok = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none");
    let origin_ok = match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some("null") => false,
        Some(origin) => {
            let host = h
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
        }
    };
    if site_ok && origin_ok {
        next.run(req).await
    } else {
        UiError::new(StatusCode::FORBIDDEN, "error-csrf").into_response()
    }
}

/// A navigation entry with its count.
pub(crate) struct NavItem {
    pub key: &'static str,
    pub label: String,
    pub href: String,
    pub count: String,
    pub current: bool,
}

/// A saved view in the navigation.
pub(crate) struct ViewLink {
    pub name: String,
    pub href: String,
    pub id: String,
    pub query: String,
}

/// The frame every workspace page shares.
pub(crate) struct Frame {
    pub t: Tr,
    pub agent_name: String,
    /// Available for automatic assignment.
    pub available: bool,
    pub agent_id: String,
    pub is_admin: bool,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub views: Vec<ViewLink>,
    pub lang: &'static str,
    /// What the search box shows.
    pub q: String,
}

/// Counts above this show as `999+`.
const COUNT_CAP: i64 = 1000;

fn show_count(n: i64) -> String {
    if n >= COUNT_CAP {
        format!("{}+", COUNT_CAP - 1)
    } else {
        n.to_string()
    }
}

/// The frame for `s`, with `current` the active queue.
pub(crate) async fn frame(state: &AppState, s: &Session, current: &str) -> Result<Frame, UiError> {
    let t = s.tr();
    let mut nav = Vec::new();
    for view in queue::View::ALL {
        if view == queue::View::Team && s.auth.agent.teams.is_empty() {
            continue;
        }
        let filter = view.filter(&s.auth.agent);
        let count = state.store().count_cases(&filter, COUNT_CAP).await?;
        nav.push(NavItem {
            key: view.key(),
            label: t.s(&format!("queue-{}", view.key())),
            href: format!("/cases?view={}", view.key()),
            count: if view.counted() {
                show_count(count)
            } else {
                String::new()
            },
            current: current == view.key(),
        });
    }
    let unread = state
        .store()
        .unread_notifications(s.auth.agent.id, COUNT_CAP)
        .await?;
    nav.push(NavItem {
        key: "notifications",
        label: t.s("notify-title"),
        href: "/notifications".into(),
        count: if unread > 0 {
            show_count(unread)
        } else {
            String::new()
        },
        current: current == "notifications",
    });
    nav.push(NavItem {
        key: "callbacks",
        label: t.s("callbacks-title"),
        href: "/callbacks".into(),
        count: String::new(),
        current: current == "callbacks",
    });
    let views = state
        .store()
        .views(s.auth.agent.id)
        .await?
        .into_iter()
        .map(|v| ViewLink {
            href: format!("/cases?{}", v.query),
            name: v.name,
            id: v.id.to_string(),
            query: v.query,
        })
        .collect();
    Ok(Frame {
        t,
        agent_name: s.auth.agent.name.clone(),
        available: s.auth.agent.available,
        agent_id: s.auth.agent.id.to_string(),
        is_admin: s.auth.agent.role == anliegen_core::Role::Admin,
        csrf: s.csrf.clone(),
        nav,
        views,
        lang: s.lang.code(),
        q: String::new(),
    })
}

/// Whether `agent` may see `case` (the rule is [`anliegen_core::agent::can_see`]).
pub fn can_see(agent: &anliegen_core::Agent, case: &anliegen_core::Case) -> bool {
    anliegen_core::agent::can_see(agent, case)
}

/// The queue restriction of an agent's role (see [`can_see`]).
pub fn visibility(
    agent: &anliegen_core::Agent,
) -> Option<(anliegen_core::AgentId, Vec<anliegen_core::TeamId>)> {
    queue::visibility(agent)
}

/// The local path of the page a request came from (`Referer`), made safe by [`safe_next`].
pub(crate) fn referer_path(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').and_then(|i| rest.get(i..)))
        .map(|p| safe_next(Some(p)))
}

/// A local path to go to after sign-in (never another site): printable ASCII only (a TAB or
/// CR/LF would let `/\t/evil.example` become `//evil.example` in a browser), no `//` or `/\`.
pub(crate) fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_owned()
        }
        _ => "/cases".to_owned(),
    }
}
