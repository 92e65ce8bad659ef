//! Sign-in, sign-out, password change and the language switch.

use anliegen_core::{Actor, CaseRef};
use anliegen_store::{AgentPatch, Command, Draft};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::i18n::{Lang, Tr};
use super::{
    Frame, SESSION_COOKIE, Session, UiError, frame, render, safe_next, secure, set_cookie,
};
use crate::AppState;
use crate::api::session::{SESSION_HOURS, SignInError, sign_in};
use crate::auth::{check_new_password, hash_password, verify_password};

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub t: Tr,
    pub notice: String,
    pub error: Option<String>,
    pub email: String,
    pub next: String,
    pub draft_case: String,
    pub draft_kind: String,
    pub draft_body: String,
}

impl LoginPage {
    pub fn new(lang: Lang, next: &str) -> Self {
        Self {
            t: Tr { lang },
            notice: String::new(),
            error: None,
            email: String::new(),
            next: next.to_owned(),
            draft_case: String::new(),
            draft_kind: String::new(),
            draft_body: String::new(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

pub(crate) async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = Lang::of_request(&headers);
    let mut page = LoginPage::new(lang, &safe_next(q.next.as_deref()));
    if q.next.is_some() {
        page.notice = page.t.s("login-needed");
    }
    render(&page)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    #[serde(default)]
    draft_case: String,
    #[serde(default)]
    draft_kind: String,
    #[serde(default)]
    draft_body: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    let lang = Lang::of_request(&headers);
    let next = safe_next(form.next.as_deref());
    let again = |status: StatusCode, error: String| {
        let mut page = LoginPage::new(lang, &next);
        page.error = Some(error);
        page.email = form.email.clone();
        page.draft_case = form.draft_case.clone();
        page.draft_kind = form.draft_kind.clone();
        page.draft_body = form.draft_body.clone();
        if !form.draft_body.is_empty() {
            page.notice = page.t.s("login-draft-kept");
        }
        let mut res = render(&page);
        *res.status_mut() = status;
        res
    };
    let t = Tr { lang };
    let (secret, agent, _) = match sign_in(&state, &form.email, &form.password, "web session").await
    {
        Ok(ok) => ok,
        Err(SignInError::Locked(secs)) => {
            let mut res = again(
                StatusCode::TOO_MANY_REQUESTS,
                t.a("login-locked", "seconds", secs),
            );
            if let Ok(v) = secs.to_string().parse() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
        Err(SignInError::Wrong) => return Ok(again(StatusCode::UNAUTHORIZED, t.s("login-wrong"))),
        Err(SignInError::Api(e)) if e.status().is_client_error() => {
            return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, t.s("login-wrong")));
        }
        Err(SignInError::Api(e)) => return Err(e.into()),
    };
    // A reply or note written before the session expired comes back as a draft on its case.
    if !form.draft_body.trim().is_empty()
        && let Ok(r) = CaseRef::parse(&form.draft_case)
        && let Some(case) = state.store().case_by_ref(r).await?
        && super::can_see(&agent, &case)
    {
        let kind = if form.draft_kind == "note" {
            "note"
        } else {
            "reply"
        };
        state
            .store()
            .save_draft(
                agent.id,
                case.id,
                &Draft {
                    kind: kind.into(),
                    body: form.draft_body.clone(),
                    updated_at: state.store().now(),
                },
            )
            .await?;
    }
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &secret,
            SESSION_HOURS * 3600,
            secure(&state, &headers),
        ),
    );
    Ok(res)
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfFormPub {
    #[serde(default)]
    pub csrf: String,
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    s: Session,
    Form(form): Form<CsrfFormPub>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    state
        .store()
        .exec(
            s.auth.actor(),
            Command::RevokeToken {
                id: s.auth.token.id,
            },
        )
        .await?;
    state.tokens().forget(Some(s.auth.token.id), None);
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, secure(&state, &headers)),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    f: Frame,
    error: Option<String>,
    done: bool,
}

pub(crate) async fn password_page(
    State(state): State<AppState>,
    s: Session,
) -> Result<Response, UiError> {
    let f = frame(&state, &s, "").await?;
    Ok(render(&PasswordPage {
        f,
        error: None,
        done: false,
    }))
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    s: Session,
    Form(form): Form<PasswordForm>,
) -> Result<Response, UiError> {
    s.check_csrf(&form.csrf)?;
    let t = s.tr();
    let email = s.auth.agent.email.clone();
    // Guessing the current password is throttled like sign-in.
    let guard = format!("password:{}", email.normalised());
    if let Err(secs) = state.logins().check(&guard) {
        let f = frame(&state, &s, "").await?;
        let mut res = render(&PasswordPage {
            f,
            error: Some(t.a("login-locked", "seconds", secs)),
            done: false,
        });
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(res);
    }
    let creds = state.store().agent_credentials(&email).await?;
    let hash = creds.and_then(|c| c.password_hash).unwrap_or_default();
    let current = form.current.clone();
    let ok = !hash.is_empty()
        && tokio::task::spawn_blocking(move || verify_password(&hash, &current))
            .await
            .unwrap_or(false);
    if ok {
        state.logins().succeeded(&guard);
    } else {
        state.logins().failed(&guard);
    }
    let error = if !ok {
        Some(t.s("password-wrong"))
    } else if form.new != form.repeat {
        Some(t.s("password-mismatch"))
    } else if check_new_password(&form.new).is_err() {
        Some(t.s("password-hint"))
    } else {
        None
    };
    if let Some(error) = error {
        let f = frame(&state, &s, "").await?;
        let mut res = render(&PasswordPage {
            f,
            error: Some(error),
            done: false,
        });
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let new = form.new.clone();
    let hashed = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|_| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "error-server"))?
        .map_err(|_| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "error-server"))?;
    state
        .store()
        .exec(
            Actor::Agent {
                id: s.auth.agent.id,
            },
            Command::UpdateAgent {
                id: s.auth.agent.id,
                patch: AgentPatch {
                    password_hash: Some(hashed),
                    ..Default::default()
                },
            },
        )
        .await?;
    // Every other session of this agent ends (on every node: the tokens are revoked).
    end_sessions(&state, s.auth.agent.id, Some(s.auth.token.id)).await?;
    let f = frame(&state, &s, "").await?;
    Ok(render(&PasswordPage {
        f,
        error: None,
        done: true,
    }))
}

#[derive(Deserialize)]
pub(crate) struct LangForm {
    #[serde(default)]
    lang: String,
    next: Option<String>,
}

/// Switches the interface language (a cookie; the choice outlives the session).
pub(crate) async fn switch_lang(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LangForm>,
) -> Response {
    let lang = Lang::parse(&form.lang).unwrap_or(Lang::De);
    let back = form
        .next
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| safe_next(Some(n)))
        .or_else(|| super::referer_path(&headers))
        .unwrap_or_else(|| "/cases".into());
    let mut res = Redirect::to(&back).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie("lang", lang.code(), 365 * 86_400, secure(&state, &headers)),
    );
    res
}

/// Revokes an agent's workspace sessions except `keep`.
pub(crate) async fn end_sessions(
    state: &AppState,
    agent: anliegen_core::AgentId,
    keep: Option<uuid::Uuid>,
) -> Result<(), UiError> {
    for t in state.store().tokens(Some(agent)).await? {
        if t.name == "web session" && t.revoked_at.is_none() && Some(t.id) != keep {
            state
                .store()
                .exec(
                    Actor::Agent { id: agent },
                    Command::RevokeToken { id: t.id },
                )
                .await?;
        }
    }
    state.tokens().forget(None, Some(agent));
    Ok(())
}
