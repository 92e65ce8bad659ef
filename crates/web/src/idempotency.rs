//! `Idempotency-Key` on POST: scoped per token, kept 24 h. A retry with the same key and body
//! gets the first response again; the same key with another body is a 422; the same key while
//! the first request is still running is a 409. The response is stored in the same
//! transaction as the change it answers, so a crash can never separate them.

use std::sync::Arc;

use anliegen_store::{Command, IdempotencyClaim, Output, StoreError, StoredResponse, Write};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};

/// The `Idempotency-Key` header, if sent.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "an Idempotency-Key has 1 to 255 visible ASCII characters",
                )
            })?;
        Ok(Self(Some(key.to_owned())))
    }
}

/// Makes the JSON response of a command's output.
pub type Render = Arc<dyn Fn(&Output) -> (StatusCode, serde_json::Value) + Send + Sync>;

fn respond(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

fn replay(stored: StoredResponse, request_hash: &str) -> ApiResult<Response> {
    if stored.request_hash != request_hash {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "this Idempotency-Key was used with a different request; use a new key for a new request",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok(respond(status, stored.body, true))
}

/// Removes the in-flight mark when the request ends, however it ends.
struct InflightGuard<'a> {
    state: &'a AppState,
    key: (String, String),
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.state
            .inflight()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// Runs `command` for `auth`, honouring the idempotency key, and answers with `render`.
pub async fn execute(
    state: &AppState,
    auth: &Auth,
    key: IdempotencyKey,
    request: (&str, &str, &[u8]),
    command: Command,
    render: Render,
) -> ApiResult<Response> {
    execute_with_jobs(state, auth, key, request, command, Vec::new(), render).await
}

/// [`execute`], enqueueing `jobs` in the same transaction (outbox).
pub async fn execute_with_jobs(
    state: &AppState,
    auth: &Auth,
    key: IdempotencyKey,
    request: (&str, &str, &[u8]),
    command: Command,
    jobs: Vec<anliegen_store::NewJob>,
    render: Render,
) -> ApiResult<Response> {
    let (method, path, body) = request;
    let mut write = Write::new(auth.actor(), command);
    write.jobs = jobs;
    let mut _guard = None;
    let mut request_hash = String::new();
    if let Some(key) = key.0 {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update([0]);
        h.update(path.as_bytes());
        h.update([0]);
        h.update(body);
        request_hash = hex::encode(h.finalize());
        let scope = auth.idempotency_scope();
        let mark = (scope.clone(), key.clone());
        if !state
            .inflight()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(mark.clone())
        {
            return Err(ApiError::conflict(
                "a request with this Idempotency-Key is still being processed; retry later",
            )
            .field("Idempotency-Key"));
        }
        _guard = Some(InflightGuard { state, key: mark });
        // No read of the stored response here: the writer looks up the batch's keys in one
        // query and answers a repeat with `StoreError::Replay` (below), so a first use — nearly
        // every request — costs no extra round trip to the database.
        let r = render.clone();
        let hash = request_hash.clone();
        write.idempotency = Some(IdempotencyClaim {
            scope,
            key,
            request_hash: request_hash.clone(),
            render: Arc::new(move |out| {
                let (status, body) = r(out);
                StoredResponse {
                    status: status.as_u16(),
                    body: body.to_string(),
                    request_hash: hash.clone(),
                }
            }),
        });
    }
    match state.store().write(write).await {
        Ok(out) => {
            let (status, body) = render(&out);
            Ok(respond(status, body.to_string(), false))
        }
        Err(StoreError::Replay(stored)) => replay(stored, &request_hash),
        Err(e) => Err(e.into()),
    }
}

/// A renderer for outputs that should not happen for a command: answers 500 and logs.
pub fn unexpected(out: &Output) -> (StatusCode, serde_json::Value) {
    tracing::error!(?out, "a command produced an unexpected output");
    let p = ApiError::unavailable("unexpected result")
        .with_status(StatusCode::INTERNAL_SERVER_ERROR)
        .problem();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::to_value(p).unwrap_or_default(),
    )
}
