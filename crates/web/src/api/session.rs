//! Sign-in, sign-out, the caller's own record, and API tokens.

use anliegen_core::{AgentId, EmailAddress, Role};
use anliegen_store::{Command, NewToken, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{IdempotencyHeader, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope, hash_password, new_token, verify_password};
use crate::dto::{AgentDto, CreateToken, Login, NewTokenDto, TokenDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Sign-in tokens live this long.
pub(crate) const SESSION_HOURS: i64 = 12;

/// A real argon2id hash of a random password, verified for unknown addresses so that their
/// answer takes as long as a known address's.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&crate::auth::new_password()).unwrap_or_default())
        .clone()
}

/// Signs an agent in with email and password; returns a bearer token valid for 12 hours.
/// Repeated failures lock the address out for growing periods (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 201, body = NewTokenDto), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn login(State(state): State<AppState>, body: ApiJson<Login>) -> ApiResult<Response> {
    match sign_in(&state, &body.value.email, &body.value.password, "sign-in").await {
        Ok((secret, _, t)) => Ok((
            StatusCode::CREATED,
            Json(NewTokenDto {
                token: secret,
                info: TokenDto::from(&t),
            }),
        )
            .into_response()),
        Err(SignInError::Locked(secs)) => {
            let mut res = ApiError::too_many(format!(
                "too many failed sign-ins; try again in {secs} seconds"
            ))
            .into_response();
            if let Ok(v) = secs.to_string().parse() {
                res.headers_mut().insert("retry-after", v);
            }
            Ok(res)
        }
        Err(SignInError::Wrong) => Err(ApiError::unauthorized(
            "the email address or password is wrong",
        )),
        Err(SignInError::Api(e)) => Err(e),
    }
}

/// Why a sign-in failed.
pub(crate) enum SignInError {
    /// Locked out for this many seconds.
    Locked(u64),
    /// Unknown address, wrong password or deactivated agent (indistinguishable on purpose).
    Wrong,
    /// Bad input or a store failure.
    Api(ApiError),
}

impl From<ApiError> for SignInError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// Checks email and password (argon2id, constant work for unknown addresses, lockout with
/// growing delays) and creates a token valid for 12 hours; returns its secret.
pub(crate) async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    token_name: &str,
) -> Result<(String, anliegen_core::Agent, anliegen_store::TokenInfo), SignInError> {
    let email = EmailAddress::parse(email).map_err(|e| ApiError::invalid("email", e.message))?;
    let lock_key = email.normalised();
    if let Err(secs) = state.logins().check(&lock_key) {
        return Err(SignInError::Locked(secs));
    }
    let creds = state
        .store()
        .agent_credentials(&email)
        .await
        .map_err(ApiError::from)?;
    let password = password.to_owned();
    let hash = creds
        .as_ref()
        .and_then(|c| c.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let agent = match creds {
        Some(c) if ok && c.password_hash.is_some() && c.agent.active => c.agent,
        _ => {
            state.logins().failed(&lock_key);
            return Err(SignInError::Wrong);
        }
    };
    state.logins().succeeded(&lock_key);
    let (secret, hash) = new_token();
    let now = state.store().now();
    let cmd = Command::CreateToken(NewToken {
        agent_id: agent.id,
        name: token_name.into(),
        hash,
        scopes: Scope::for_role(agent.role),
        expires_at: now
            .checked_add(SignedDuration::from_hours(SESSION_HOURS))
            .ok(),
    });
    match state
        .store()
        .exec(anliegen_core::Actor::Agent { id: agent.id }, cmd)
        .await
        .map_err(ApiError::from)?
    {
        Output::Token(t) => Ok((secret, agent, t)),
        _ => Err(SignInError::Api(ApiError::unavailable(
            "the sign-in could not be recorded",
        ))),
    }
}

/// Revokes the token used for this request.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    state
        .store()
        .exec(auth.actor(), Command::RevokeToken { id: auth.token.id })
        .await?;
    state.tokens().forget(Some(auth.token.id), None);
    Ok(StatusCode::NO_CONTENT)
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The agent.
    pub agent: AgentDto,
    /// The token in use.
    pub token: TokenDto,
}

/// Who am I: the agent and token of this request.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(auth: Auth) -> Json<Me> {
    Json(Me {
        agent: AgentDto::from(&auth.agent),
        token: TokenDto::from(&auth.token),
    })
}

/// Tokens: your own; admins see everyone's.
#[utoipa::path(get, path = "/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenDto>), (status = 401, body = Problem)))]
async fn list_tokens(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenDto>>> {
    auth.require(Scope::Read)?;
    let of = if auth.require_role(Role::Admin).is_ok() {
        None
    } else {
        Some(auth.agent.id)
    };
    let tokens = state.store().tokens(of).await?;
    Ok(Json(tokens.iter().map(TokenDto::from).collect()))
}

/// Creates an API token. The secret is in this response only; an idempotent replay returns
/// the record with the secret withheld (it is never stored).
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = CreateToken, params(IdempotencyHeader), security(("bearer" = [])),
    responses((status = 201, body = NewTokenDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateToken>,
) -> ApiResult<Response> {
    let req = &body.value;
    let agent_id = match req.agent_id {
        Some(id) if id != auth.agent.id.0 => {
            auth.require_role(Role::Admin)?;
            AgentId(id)
        }
        _ => auth.agent.id,
    };
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            "a token name has 1 to 100 characters",
        ));
    }
    let mut scopes: Vec<String> = if req.scopes.is_empty() {
        vec!["read".into(), "write".into()]
    } else {
        req.scopes.clone()
    };
    scopes.sort();
    scopes.dedup();
    if scopes
        .iter()
        .any(|s| s.starts_with(crate::auth::CUSTOMER_SCOPE))
    {
        // A token that speaks for one customer: only that scope, made by a supervisor.
        let [only] = scopes.as_slice() else {
            return Err(ApiError::invalid(
                "scopes",
                "a customer:<id> scope stands alone",
            ));
        };
        let id = crate::auth::customer_scope(std::slice::from_ref(only)).ok_or_else(|| {
            ApiError::invalid(
                "scopes",
                format!("'{only}': customer:<id> needs a customer id"),
            )
        })?;
        auth.require_role(Role::Supervisor)?;
        auth.require(Scope::Write)?;
        if state.store().customer(id).await?.is_none() {
            return Err(ApiError::invalid("scopes", format!("no customer {id}")));
        }
    }
    for s in scopes
        .iter()
        .filter(|s| !s.starts_with(crate::auth::CUSTOMER_SCOPE))
    {
        let scope = Scope::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "scopes",
                format!("'{s}' is not a scope (read, write, admin, customer:<id>)"),
            )
        })?;
        auth.require(scope).map_err(|_| {
            ApiError::forbidden(format!("you cannot grant the '{s}' scope you do not have"))
        })?;
    }
    let expires_at = match req.expires_in_days {
        Some(0) | Some(3651..) => {
            return Err(ApiError::invalid(
                "expires_in_days",
                "choose 1 to 3650 days",
            ));
        }
        Some(d) => state
            .store()
            .now()
            .checked_add(SignedDuration::from_hours(24 * i64::from(d)))
            .ok(),
        None => None,
    };
    let (secret, hash) = new_token();
    let cmd = Command::CreateToken(NewToken {
        agent_id,
        name: name.to_owned(),
        hash,
        scopes,
        expires_at,
    });
    let stored = render(StatusCode::CREATED, |o| match o {
        Output::Token(t) => Some(NewTokenDto {
            token: "(shown only in the first response)".into(),
            info: TokenDto::from(t),
        }),
        _ => None,
    });
    let res = execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/tokens", &body.raw),
        cmd,
        stored,
    )
    .await?;
    if res.headers().contains_key("idempotent-replayed") || res.status() != StatusCode::CREATED {
        return Ok(res);
    }
    // First answer: put the secret in (it never reached the store).
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(&e))?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("token".into(), serde_json::Value::String(secret));
    }
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Revokes a token (your own; admins any).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(Scope::Write)?;
    let id = uuid_field("id", &id)?;
    let mine = state
        .store()
        .tokens(Some(auth.agent.id))
        .await?
        .iter()
        .any(|t| t.id == id);
    if !mine {
        auth.require_role(Role::Admin)
            .map_err(|_| ApiError::not_found(format!("token {id} was not found")))?;
    }
    state
        .store()
        .exec(auth.actor(), Command::RevokeToken { id })
        .await?;
    state.tokens().forget(Some(id), None);
    Ok(StatusCode::NO_CONTENT)
}
