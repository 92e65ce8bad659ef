//! Mailboxes: the addresses customers write to. Stored in the database and managed here (and
//! in the admin UI); only listen addresses and secrets (IMAP passwords, relay credentials) come
//! from the configuration.

use anliegen_core::mail::{AfterFetch, ImapAccount, ImapSecurity};
use anliegen_core::{EmailAddress, Language, MailboxId, Role, TeamId};
use anliegen_store::{Command, MailboxPatch, NewMailbox, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::customers::parse_language;
use super::{IdempotencyHeader, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::{CreateMailbox, ImapIn, MailboxDto, UpdateMailbox};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(get_mailbox, update_mailbox))
}

fn imap(raw: &ImapIn) -> ApiResult<ImapAccount> {
    let security = match raw.security.trim() {
        "tls" => ImapSecurity::Tls,
        "starttls" => ImapSecurity::Starttls,
        "none" => ImapSecurity::None,
        other => {
            return Err(ApiError::invalid(
                "imap.security",
                format!("'{other}' is not tls, starttls or none"),
            ));
        }
    };
    let account = ImapAccount {
        host: raw.host.trim().to_owned(),
        port: raw.port,
        security,
        username: raw.username.trim().to_owned(),
        folder: raw.folder.trim().to_owned(),
        after_fetch: match &raw.move_to {
            Some(f) => AfterFetch::Move {
                folder: f.trim().to_owned(),
            },
            None => AfterFetch::Flag,
        },
    };
    account.check().map_err(|e| {
        let field = e
            .message
            .split_whitespace()
            .next()
            .unwrap_or("imap")
            .to_owned();
        ApiError::invalid(field, e.message)
    })?;
    Ok(account)
}

/// All mailboxes by address.
#[utoipa::path(get, path = "/mailboxes", tag = "mailboxes", security(("bearer" = [])), responses((status = 200, body = Vec<MailboxDto>)))]
async fn list_mailboxes(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<MailboxDto>>> {
    auth.require(Scope::Read)?;
    Ok(Json(
        state
            .store()
            .mailboxes()
            .await?
            .iter()
            .map(MailboxDto::from)
            .collect(),
    ))
}

/// One mailbox.
#[utoipa::path(get, path = "/mailboxes/{id}", tag = "mailboxes", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MailboxDto), (status = 404, body = Problem)))]
async fn get_mailbox(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<MailboxDto>> {
    auth.require(Scope::Read)?;
    let id = MailboxId(uuid_field("id", &id)?);
    let m = state
        .store()
        .mailbox(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("mailbox {id} was not found")))?;
    Ok(Json(MailboxDto::from(&m)))
}

/// Creates a mailbox (admins).
#[utoipa::path(post, path = "/mailboxes", tag = "mailboxes", request_body = CreateMailbox, params(IdempotencyHeader), security(("bearer" = [])),
    responses((status = 201, body = MailboxDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_mailbox(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateMailbox>,
) -> ApiResult<Response> {
    auth.require_role(Role::Admin)?;
    let b = &body.value;
    let cmd = Command::CreateMailbox(NewMailbox {
        address: EmailAddress::parse(&b.address)
            .map_err(|e| ApiError::invalid("address", e.message))?,
        display_name: b.display_name.clone(),
        team_id: b.team_id.map(TeamId),
        language: parse_language("language", b.language.as_deref())?.unwrap_or(Language::De),
        signature: b.signature.clone(),
        imap: b.imap.as_ref().map(imap).transpose()?,
        outbound_route: b.outbound_route.clone(),
    });
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Mailbox(m) => Some(MailboxDto::from(m.as_ref())),
        _ => None,
    });
    execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/mailboxes", &body.raw),
        cmd,
        out,
    )
    .await
}

/// Changes a mailbox (admins).
#[utoipa::path(patch, path = "/mailboxes/{id}", tag = "mailboxes", request_body = UpdateMailbox, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MailboxDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_mailbox(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<UpdateMailbox>,
) -> ApiResult<Json<MailboxDto>> {
    auth.require_role(Role::Admin)?;
    let id = MailboxId(uuid_field("id", &id)?);
    let b = &body.value;
    let patch = MailboxPatch {
        display_name: b.display_name.clone(),
        team_id: b.team_id.map(|t| t.map(TeamId)),
        language: parse_language("language", b.language.as_deref())?,
        signature: b.signature.clone(),
        imap: match &b.imap {
            None => None,
            Some(None) => Some(None),
            Some(Some(i)) => Some(Some(imap(i)?)),
        },
        outbound_route: b.outbound_route.clone(),
        active: b.active,
    };
    match state
        .store()
        .exec(auth.actor(), Command::UpdateMailbox { id, patch })
        .await?
    {
        Output::Mailbox(m) => Ok(Json(MailboxDto::from(m.as_ref()))),
        _ => Err(ApiError::unavailable("unexpected result")
            .with_status(StatusCode::INTERNAL_SERVER_ERROR)),
    }
}
