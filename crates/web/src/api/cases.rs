//! Cases: open with a first contact, list, read with the whole timeline, change, add contacts,
//! and download attachments.

use std::sync::Arc;

use anliegen_core::contact::{clean_filename, clean_text};
use anliegen_core::{
    AgentId, Case, CaseId, CaseRef, CaseStatus, Channel, ContactId, CustomerId, Direction,
    Identity, IdentityKind, Priority, SanitisedHtml, Tag, TeamId, Visibility,
};
use anliegen_store::{
    CaseFilter, CasePatch, Command, CustomerRef, NewAttachment, NewCase, NewContact, Output,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::customers::parse_language;
use super::{IdempotencyHeader, cursor, limit, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::{
    AddContact, AttachmentIn, CaseDetail, CaseDto, CasePage, ContactAdded, ContactDto, CustomerDto,
    EventDto, OpenCase, UpdateCase,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases, open_case))
        .routes(routes!(get_case, update_case))
        .routes(routes!(add_contact))
        .routes(routes!(case_events))
        .routes(routes!(attachment))
        .routes(routes!(raw_mail))
        .routes(routes!(contact_html))
}

/// Finds a case by id or reference (`A-10042`).
pub(crate) async fn find_case(state: &AppState, auth: &Auth, raw: &str) -> ApiResult<Case> {
    let found = if let Ok(r) = CaseRef::parse(raw) {
        state.store().case_by_ref(r).await?
    } else {
        let id = uuid_field("id", raw).map_err(|_| {
            ApiError::not_found(format!(
                "'{raw}' is neither a case id nor a reference like A-10042"
            ))
        })?;
        state.store().case(CaseId(id)).await?
    };
    // A case the caller's role may not see does not exist for them.
    found
        .filter(|c| crate::ui::can_see(&auth.agent, c))
        .ok_or_else(|| ApiError::not_found(format!("case {raw} was not found")))
}

/// A contact whose case the caller may see.
async fn find_contact(
    state: &AppState,
    auth: &Auth,
    id: ContactId,
    missing: impl Fn() -> ApiError,
) -> ApiResult<anliegen_core::Contact> {
    let contact = state.store().contact(id).await?.ok_or_else(&missing)?;
    let case = state.store().case(contact.case_id).await?;
    if !case.is_some_and(|c| crate::ui::can_see(&auth.agent, &c)) {
        return Err(missing());
    }
    Ok(contact)
}

fn parse_tags(field: &str, raw: &[String]) -> ApiResult<Vec<Tag>> {
    if raw.len() > 100 {
        return Err(ApiError::invalid(field, "at most 100 tags"));
    }
    raw.iter()
        .enumerate()
        .map(|(i, t)| {
            Tag::parse(t).map_err(|e| ApiError::invalid(format!("{field}[{i}]"), e.message))
        })
        .collect()
}

fn parse_attachments(raw: &[AttachmentIn]) -> ApiResult<Vec<NewAttachment>> {
    raw.iter()
        .enumerate()
        .map(|(i, a)| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(a.data_base64.trim())
                .map_err(|e| {
                    ApiError::invalid(
                        format!("attachments[{i}].data_base64"),
                        format!("not valid base64: {e}"),
                    )
                })?;
            let content_type = a
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream")
                .trim()
                .to_ascii_lowercase();
            let valid = content_type.split_once('/').is_some_and(|(t, s)| {
                !t.is_empty()
                    && !s.is_empty()
                    && content_type.len() <= 127
                    && content_type
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b';')
            });
            if !valid {
                return Err(ApiError::invalid(
                    format!("attachments[{i}].content_type"),
                    "use a media type such as application/pdf",
                ));
            }
            Ok(NewAttachment {
                content_id: None,
                filename: clean_filename(&a.filename),
                content_type,
                data: Arc::new(data),
            })
        })
        .collect()
}

fn parse_channel(field: &str, raw: Option<&str>, default: Channel) -> ApiResult<Channel> {
    match raw {
        None => Ok(default),
        Some(c) => Channel::parse(c).map_err(|e| ApiError::invalid(field, e.message)),
    }
}

fn parse_status(field: &str, raw: Option<&str>) -> ApiResult<Option<CaseStatus>> {
    raw.map(|s| CaseStatus::parse(s).map_err(|e| ApiError::invalid(field, e.message)))
        .transpose()
}

fn parse_priority(field: &str, raw: Option<&str>) -> ApiResult<Option<Priority>> {
    raw.map(|s| Priority::parse(s).map_err(|e| ApiError::invalid(field, e.message)))
        .transpose()
}

fn parse_open_case(r: &OpenCase, now: jiff::Timestamp) -> ApiResult<NewCase> {
    let customer = parse_case_customer(&r.customer)?;
    open_case_rest(r, customer, now)
}

/// Who a case or contact is from: exactly one of id, email, phone, identity.
pub(crate) fn parse_case_customer(c: &crate::dto::CaseCustomer) -> ApiResult<CustomerRef> {
    let mut ways = Vec::new();
    if let Some(id) = c.id {
        ways.push(CustomerRef::Id(CustomerId(id)));
    }
    let language = parse_language("customer.language", c.language.as_deref())?;
    let name = c
        .name
        .as_deref()
        .map(|n| {
            anliegen_core::team::parse_name("name", n)
                .map_err(|e| ApiError::invalid("customer.name", e.message))
        })
        .transpose()?;
    let mut by_identity = |identity: Identity| {
        ways.push(CustomerRef::Identity {
            identity,
            name: name.clone(),
            language,
        });
    };
    if let Some(e) = &c.email {
        by_identity(
            Identity::parse(IdentityKind::Email, e)
                .map_err(|e| ApiError::invalid("customer.email", e.message))?,
        );
    }
    if let Some(p) = &c.phone {
        by_identity(
            Identity::parse(IdentityKind::Phone, p)
                .map_err(|e| ApiError::invalid("customer.phone", e.message))?,
        );
    }
    if let Some(i) = &c.identity {
        by_identity(i.parse("customer.identity")?);
    }
    if ways.len() != 1 {
        return Err(ApiError::invalid(
            "customer",
            "give exactly one of customer.id, customer.email, customer.phone or customer.identity",
        ));
    }
    ways.pop()
        .ok_or_else(|| ApiError::invalid("customer", "missing"))
}

/// A new case from an `OpenCase` body for `customer` (also for call-back requests).
pub(crate) fn open_case_rest(
    r: &OpenCase,
    customer: CustomerRef,
    now: jiff::Timestamp,
) -> ApiResult<NewCase> {
    let fc = &r.contact;
    let channel = parse_channel("contact.channel", fc.channel.as_deref(), Channel::Api)?;
    let call = match &fc.call {
        Some(_) if channel != Channel::Phone => {
            return Err(ApiError::invalid(
                "contact.call",
                "only phone contacts have a call",
            ));
        }
        Some(c) => Some(Box::new(c.parse(now)?)),
        None => None,
    };
    if channel == Channel::Note {
        return Err(ApiError::invalid(
            "contact.channel",
            "a case starts with a message from or to the customer, not a note",
        ));
    }
    let direction = match fc.direction.as_deref() {
        None | Some("inbound") => Direction::Inbound,
        Some("outbound") => Direction::Outbound,
        Some(other) => {
            return Err(ApiError::invalid(
                "contact.direction",
                format!("'{other}' is not inbound or outbound"),
            ));
        }
    };
    let subject = anliegen_core::case::parse_subject(&r.subject)
        .map_err(|e| ApiError::invalid("subject", e.message))?;
    Ok(NewCase {
        customer,
        subject: subject.clone(),
        priority: parse_priority("priority", r.priority.as_deref())?.unwrap_or_default(),
        team_id: r.team_id.map(TeamId),
        assignee_id: r.assignee_id.map(AgentId),
        tags: parse_tags("tags", &r.tags)?,
        fields: r.fields.clone(),
        language: anliegen_core::Language::detect(&fc.text),
        contact: NewContact {
            channel,
            direction,
            visibility: Visibility::Public,
            subject: (!subject.is_empty()).then(|| subject.clone()),
            text: clean_text(&fc.text),
            html: fc.html.as_deref().map(SanitisedHtml::from_untrusted),
            attachments: parse_attachments(&fc.attachments)?,
            mail: None,
            concern: None,
            offer_identity: None,
            call,
        },
        routed_by: None,
        auto_assign: true,
    })
}

/// Opens a case with its first contact. The customer is given by id or by an identity
/// (found, or created when new).
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = OpenCase, params(IdempotencyHeader), security(("bearer" = [])),
    responses((status = 201, body = CaseDto), (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn open_case(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<OpenCase>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let nc = parse_open_case(&body.value, state.store().now())?;
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Case(c) => Some(CaseDto::from(&**c)),
        _ => None,
    });
    let res = execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/cases", &body.raw),
        Command::OpenCase(Box::new(nc)),
        out,
    )
    .await?;
    if res.status() == StatusCode::CREATED && !res.headers().contains_key("idempotent-replayed") {
        metrics::counter!("anliegen_cases_opened_total").increment(1);
    }
    Ok(res)
}

/// Filters for the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CaseQuery {
    /// Comma-separated statuses, e.g. `new,open`.
    status: Option<String>,
    /// Team id.
    team_id: Option<String>,
    /// Assignee id, or `none` for unassigned.
    assignee_id: Option<String>,
    /// Customer id.
    customer_id: Option<String>,
    /// Tag.
    tag: Option<String>,
    /// Channel of the first contact.
    channel: Option<String>,
    /// Priority.
    priority: Option<String>,
    /// Page size (1–200, default 50).
    limit: Option<i64>,
    /// From `next_cursor`.
    cursor: Option<String>,
}

/// Lists cases, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery), security(("bearer" = [])),
    responses((status = 200, body = CasePage), (status = 422, body = Problem)))]
async fn list_cases(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<CasePage>> {
    auth.require(Scope::Read)?;
    let mut f = CaseFilter {
        visible_to: crate::ui::visibility(&auth.agent),
        ..Default::default()
    };
    if let Some(s) = &q.status {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            f.status
                .push(CaseStatus::parse(part).map_err(|e| ApiError::invalid("status", e.message))?);
        }
    }
    f.team_id = q
        .team_id
        .as_deref()
        .map(|t| uuid_field("team_id", t).map(TeamId))
        .transpose()?;
    f.assignee_id = match q.assignee_id.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(a) => Some(Some(AgentId(uuid_field("assignee_id", a)?))),
    };
    f.customer_id = q
        .customer_id
        .as_deref()
        .map(|c| uuid_field("customer_id", c).map(CustomerId))
        .transpose()?;
    f.tag = q
        .tag
        .as_deref()
        .map(|t| Tag::parse(t).map_err(|e| ApiError::invalid("tag", e.message)))
        .transpose()?;
    f.channel = q
        .channel
        .as_deref()
        .map(|c| Channel::parse(c).map_err(|e| ApiError::invalid("channel", e.message)))
        .transpose()?;
    f.priority = parse_priority("priority", q.priority.as_deref())?;
    let page = state
        .store()
        .cases(&f, cursor(q.cursor.as_deref())?, limit(q.limit)?)
        .await?;
    Ok(Json(CasePage {
        items: page.items.iter().map(CaseDto::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// A case with its customer, every contact (internal notes included) and every event.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = String, Path, description = "Case id or reference (A-10042)")),
    security(("bearer" = [])), responses((status = 200, body = CaseDetail), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDetail>> {
    auth.require(Scope::Read)?;
    let case = find_case(&state, &auth, &id).await?;
    let customer = state
        .store()
        .customer(case.customer_id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(&anliegen_store::StoreError::Corrupt(format!(
                "customer of case {} is missing",
                case.reference
            )))
        })?;
    let contacts = state.store().contacts(case.id, true).await?;
    let events = state.store().case_events(case.id).await?;
    Ok(Json(CaseDetail {
        case: CaseDto::from(&case),
        customer: CustomerDto::from(&customer),
        contacts: contacts.iter().map(ContactDto::from).collect(),
        events: events.iter().map(EventDto::from).collect(),
    }))
}

/// Changes status, priority, team, assignee, tags, fields or subject. Each change is an event;
/// the lifecycle is enforced (illegal transitions are a 422 and change nothing).
#[utoipa::path(patch, path = "/cases/{id}", tag = "cases", request_body = UpdateCase, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_case(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<UpdateCase>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let case = find_case(&state, &auth, &id).await?;
    let r = &body.value;
    let mut patch = CasePatch {
        status: parse_status("status", r.status.as_deref())?,
        priority: parse_priority("priority", r.priority.as_deref())?,
        team_id: r.team_id.map(|t| t.map(TeamId)),
        assignee_id: r.assignee_id.map(|a| a.map(AgentId)),
        add_tags: parse_tags("add_tags", &r.add_tags)?,
        remove_tags: parse_tags("remove_tags", &r.remove_tags)?,
        fields: r.fields.clone(),
        subject: r.subject.clone(),
    };
    if let Some(all) = &r.tags {
        let wanted = parse_tags("tags", all)?;
        patch
            .remove_tags
            .extend(case.tags.iter().filter(|t| !wanted.contains(t)).cloned());
        patch.add_tags.extend(wanted);
    }
    let out = render(StatusCode::OK, |o| match o {
        Output::Case(c) => Some(CaseDto::from(&**c)),
        _ => None,
    });
    execute(
        &state,
        &auth,
        IdempotencyKey(None),
        ("PATCH", "", &[]),
        Command::UpdateCase { id: case.id, patch },
        out,
    )
    .await
}

/// Adds a contact: `reply` goes to the customer on the case's channel, `note` stays
/// internal, `customer` records a message from the customer (a logged call, a forwarded
/// message). A customer message reopens a solved case; on a closed case it opens a follow-up.
#[utoipa::path(post, path = "/cases/{id}/contacts", tag = "cases", request_body = AddContact, params(("id" = String, Path), IdempotencyHeader),
    security(("bearer" = [])), responses((status = 201, body = ContactAdded), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_contact(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<AddContact>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let case = find_case(&state, &auth, &id).await?;
    let r = &body.value;
    let (channel, direction, visibility) = match r.kind.as_str() {
        "reply" => (
            parse_channel("channel", r.channel.as_deref(), case.channel)?,
            Direction::Outbound,
            Visibility::Public,
        ),
        "customer" => (
            parse_channel("channel", r.channel.as_deref(), case.channel)?,
            Direction::Inbound,
            Visibility::Public,
        ),
        "note" => {
            if r.channel.as_deref().is_some_and(|c| c != "note") {
                return Err(ApiError::invalid(
                    "channel",
                    "a note has no channel other than note",
                ));
            }
            (Channel::Note, Direction::Internal, Visibility::Internal)
        }
        other => {
            return Err(ApiError::invalid(
                "kind",
                format!("'{other}' is not reply, note or customer"),
            ));
        }
    };
    if channel == Channel::Note && r.kind != "note" {
        return Err(ApiError::invalid(
            "channel",
            "use kind note for internal notes",
        ));
    }
    let call = match &r.call {
        Some(_) if channel != Channel::Phone => {
            return Err(ApiError::invalid(
                "call",
                "only phone contacts (kind customer or reply with channel phone) have a call",
            ));
        }
        Some(c) => Some(Box::new(c.parse(state.store().now())?)),
        None => None,
    };
    let mut contact = NewContact {
        channel,
        direction,
        visibility,
        subject: None,
        text: clean_text(&r.text),
        html: r.html.as_deref().map(SanitisedHtml::from_untrusted),
        attachments: parse_attachments(&r.attachments)?,
        mail: None,
        concern: None,
        offer_identity: None,
        call,
    };
    // A reply on a mail conversation leaves by mail, through the outbox in the same write.
    let jobs = outbound_jobs(&state, &case, &mut contact).await?;
    let cmd = Command::AddContact {
        case_id: case.id,
        contact,
        status_after: parse_status("status", r.status.as_deref())?,
    };
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Contact {
            case,
            contact,
            follow_up_of,
        } => Some(ContactAdded {
            case: CaseDto::from(&**case),
            contact: ContactDto::from(&**contact),
            follow_up_of: follow_up_of.map(|f| f.0),
        }),
        _ => None,
    });
    let path = format!("/api/v1/cases/{}/contacts", case.id);
    crate::idempotency::execute_with_jobs(
        &state,
        &auth,
        key,
        ("POST", &path, &body.raw),
        cmd,
        jobs,
        out,
    )
    .await
}

/// A case's events in order.
#[utoipa::path(get, path = "/cases/{id}/events", tag = "cases", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<EventDto>), (status = 404, body = Problem)))]
async fn case_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EventDto>>> {
    auth.require(Scope::Read)?;
    let case = find_case(&state, &auth, &id).await?;
    let events = state.store().case_events(case.id).await?;
    Ok(Json(events.iter().map(EventDto::from).collect()))
}

/// Downloads an attachment. Always as a download (`Content-Disposition: attachment`) with
/// `X-Content-Type-Options: nosniff`, so nothing a customer sent runs in the browser.
#[utoipa::path(get, path = "/contacts/{id}/attachments/{index}", tag = "cases",
    params(("id" = String, Path, description = "Contact id"), ("index" = usize, Path, description = "Position in the contact's attachments")),
    security(("bearer" = [])), responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = Problem)))]
async fn attachment(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, index)): Path<(String, String)>,
) -> ApiResult<Response> {
    auth.require(Scope::Read)?;
    let id = ContactId(uuid_field("id", &id)?);
    let missing = || ApiError::not_found("this attachment was not found");
    let index: usize = index.parse().map_err(|_| missing())?;
    let contact = find_contact(&state, &auth, id, missing).await?;
    let a = contact.attachments.get(index).ok_or_else(missing)?;
    let data = state.store().blob(&a.blob).await?.ok_or_else(missing)?;
    Ok(download(data, &a.content_type, &a.filename))
}

/// A file as a download that never runs in the browser: `Content-Disposition: attachment`
/// (ASCII name plus the RFC 5987 UTF-8 name), `nosniff` and a sandboxing CSP.
pub(crate) fn download(data: Vec<u8>, content_type: &str, filename: &str) -> Response {
    let mut res = (StatusCode::OK, data).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    res
}

/// The original bytes of a mail contact, as received (`message/rfc822`, downloaded, never shown).
#[utoipa::path(get, path = "/contacts/{id}/raw", tag = "cases",
    params(("id" = String, Path, description = "Contact id")),
    security(("bearer" = [])), responses((status = 200, description = "The raw message", content_type = "message/rfc822"), (status = 404, body = Problem)))]
async fn raw_mail(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.require(Scope::Read)?;
    let id = ContactId(uuid_field("id", &id)?);
    let missing = || ApiError::not_found("this contact has no raw message");
    let contact = find_contact(&state, &auth, id, missing).await?;
    let hash = contact
        .mail
        .as_ref()
        .and_then(|m| m.raw_blob.clone())
        .ok_or_else(missing)?;
    let data = state.store().blob(&hash).await?.ok_or_else(missing)?;
    Ok(download(
        data,
        "message/rfc822",
        &format!("{}.eml", id.0.simple()),
    ))
}

/// Query of [`contact_html`].
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HtmlQuery {
    /// Load remote images (an agent's explicit choice); off by default.
    #[serde(default)]
    remote_images: bool,
}

/// The sanitised HTML of a contact as a document for a sandboxed frame: no scripts, its own
/// restrictive Content-Security-Policy, `cid:` images pointing at the contact's attachments,
/// remote images only when asked for (re-read from the kept raw message).
#[utoipa::path(get, path = "/contacts/{id}/html", tag = "cases",
    params(("id" = String, Path, description = "Contact id"), HtmlQuery),
    security(("bearer" = [])), responses((status = 200, description = "Sanitised HTML", content_type = "text/html"), (status = 404, body = Problem)))]
async fn contact_html(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<HtmlQuery>,
) -> ApiResult<Response> {
    auth.require(Scope::Read)?;
    let id = ContactId(uuid_field("id", &id)?);
    let missing = || ApiError::not_found("this contact has no HTML");
    let contact = find_contact(&state, &auth, id, missing).await?;
    mail_document(&state, &contact, q.remote_images, false).await
}

/// The sanitised HTML of a mail contact as a document for a sandboxed frame (no scripts, its own
/// restrictive CSP, remote images only when asked for). `inline_images`: the workspace's frame,
/// which may be framed by our own pages and gets `cid:` images as data URLs; otherwise `cid:`
/// images point at the API's attachment URLs.
pub(crate) async fn mail_document(
    state: &AppState,
    contact: &anliegen_core::Contact,
    remote_images: bool,
    inline_images: bool,
) -> ApiResult<Response> {
    let missing = || ApiError::not_found("this contact has no HTML");
    let id = contact.id;
    let mut html = contact
        .html
        .clone()
        .ok_or_else(missing)?
        .as_str()
        .to_owned();
    if remote_images
        && let Some(hash) = contact.mail.as_ref().and_then(|m| m.raw_blob.clone())
        && let Some(raw) = state.store().blob(&hash).await?
        && let Some(with) =
            tokio::task::spawn_blocking(move || anliegen_mail::parse::html_with_remote_images(&raw))
                .await
                .ok()
                .flatten()
    {
        html = with.as_str().to_owned();
    }
    let mut inlined = 0usize;
    for (i, a) in contact.attachments.iter().enumerate() {
        if let Some(cid) = &a.content_id {
            let needle = format!("cid:{cid}");
            if !html.contains(&needle) {
                continue;
            }
            // The workspace's frame is sandboxed (an opaque origin that carries no session
            // cookie), so its inline images travel inside the document, up to 4 MB.
            let src = if inline_images {
                match state.store().blob(&a.blob).await? {
                    Some(data)
                        if inlined + data.len() <= 4 << 20
                            && a.content_type.starts_with("image/")
                            && a.content_type != "image/svg+xml"
                            && a.content_type
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"/+.-".contains(&b)) =>
                    {
                        inlined += data.len();
                        use base64::Engine as _;
                        format!(
                            "data:{};base64,{}",
                            a.content_type,
                            base64::engine::general_purpose::STANDARD.encode(&data)
                        )
                    }
                    _ => String::new(),
                }
            } else {
                format!("/api/v1/contacts/{id}/attachments/{i}")
            };
            html = html.replace(&needle, &src);
        }
    }
    let doc = format!("<!doctype html><meta charset=\"utf-8\"><base target=\"_blank\">{html}");
    let mut res = (StatusCode::OK, doc).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let ancestors = if inline_images {
        h.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        "frame-ancestors 'self'; "
    } else {
        "frame-ancestors 'none'; "
    };
    let img = if remote_images {
        "'self' data: https: http:"
    } else {
        "'self' data:"
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "default-src 'none'; img-src {img}; style-src 'unsafe-inline'; font-src data:; {ancestors}sandbox allow-popups allow-popups-to-escape-sandbox"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

/// A reply on a mail conversation leaves by mail: makes `contact` a mail and returns its send
/// job (outbox, committed with the contact). Other contacts need no job.
pub(crate) async fn outbound_jobs(
    state: &AppState,
    case: &Case,
    contact: &mut NewContact,
) -> ApiResult<Vec<anliegen_store::NewJob>> {
    let mut jobs = Vec::new();
    if contact.direction == Direction::Outbound
        && (contact.channel == Channel::Email || case.channel == Channel::Email)
    {
        match anliegen_mail::outbound::prepare_mail(state.store(), case, contact, false).await {
            Ok(Some(job)) => {
                contact.channel = Channel::Email;
                jobs.push(job);
            }
            Ok(None) => {}
            // No mailbox at all: the installation does not use mail; the reply is recorded
            // without mail details (nothing pretends it was sent).
            Err(anliegen_mail::outbound::PrepareError::NoMailbox) => {}
            Err(anliegen_mail::outbound::PrepareError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(jobs)
}
