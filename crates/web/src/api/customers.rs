//! Customers, their identities, merges and organisations.

use anliegen_core::{
    CustomerId, Identity, IdentityKind, Language, OrganisationId, Tier, TimeZoneName,
};
use anliegen_store::{Command, CustomerPatch, NewCustomer, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{IdempotencyHeader, cursor, limit, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::{
    CreateCustomer, CreateOrganisation, CustomerDto, CustomerPage, IdentityDto, MergeCustomer,
    OrganisationDto, UpdateCustomer,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(add_identity))
        .routes(routes!(merge_customer))
        .routes(routes!(create_organisation))
}

fn customer_out(status: StatusCode) -> crate::idempotency::Render {
    render(status, |o| match o {
        Output::Customer(c) => Some(CustomerDto::from(&**c)),
        _ => None,
    })
}

pub(crate) fn parse_language(field: &str, raw: Option<&str>) -> ApiResult<Option<Language>> {
    raw.map(|l| Language::parse(l).map_err(|e| ApiError::invalid(field, e.message)))
        .transpose()
}

fn parse_tz(raw: Option<&str>) -> ApiResult<Option<TimeZoneName>> {
    raw.map(|t| TimeZoneName::parse(t).map_err(|e| ApiError::invalid("time_zone", e.message)))
        .transpose()
}

fn parse_name(raw: Option<&str>) -> ApiResult<Option<String>> {
    raw.map(|n| {
        anliegen_core::team::parse_name("name", n).map_err(|e| ApiError::invalid("name", e.message))
    })
    .transpose()
}

/// Creates a customer with its identities. An identity that belongs to someone else is a 409.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CreateCustomer, params(IdempotencyHeader),
    security(("bearer" = [])),
    responses((status = 201, body = CustomerDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_customer(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateCustomer>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let r = &body.value;
    let identities = r
        .identities
        .iter()
        .enumerate()
        .map(|(i, d)| d.parse(&format!("identities[{i}]")))
        .collect::<ApiResult<Vec<Identity>>>()?;
    let nc = NewCustomer {
        name: parse_name(r.name.as_deref())?,
        organisation_id: r.organisation_id.map(OrganisationId),
        language: parse_language("language", r.language.as_deref())?,
        time_zone: parse_tz(r.time_zone.as_deref())?,
        tier: r
            .tier
            .as_deref()
            .map(Tier::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("tier", e.message))?
            .unwrap_or_default(),
        notes: r
            .notes
            .as_deref()
            .map(anliegen_core::contact::clean_text)
            .unwrap_or_default(),
        identities,
    };
    execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/customers", &body.raw),
        Command::CreateCustomer(nc),
        customer_out(StatusCode::CREATED),
    )
    .await
}

/// Finding customers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CustomerQuery {
    /// Find the customer with this email address.
    email: Option<String>,
    /// Find the customer with this phone number.
    phone: Option<String>,
    /// Find the customer with this shop customer id.
    shop_customer_id: Option<String>,
    /// Find the customer with this portal login.
    portal_login: Option<String>,
    /// Page size (1–200, default 50).
    limit: Option<i64>,
    /// From `next_cursor`.
    cursor: Option<String>,
}

/// Lists customers, newest first, or finds the one an identity leads to.
#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerQuery), security(("bearer" = [])),
    responses((status = 200, body = CustomerPage), (status = 422, body = Problem)))]
async fn list_customers(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<CustomerPage>> {
    auth.require(Scope::Read)?;
    let by = [
        (IdentityKind::Email, "email", &q.email),
        (IdentityKind::Phone, "phone", &q.phone),
        (
            IdentityKind::ShopCustomerId,
            "shop_customer_id",
            &q.shop_customer_id,
        ),
        (IdentityKind::PortalLogin, "portal_login", &q.portal_login),
    ];
    let given: Vec<_> = by
        .iter()
        .filter_map(|(k, f, v)| v.as_ref().map(|v| (*k, *f, v)))
        .collect();
    if given.len() > 1 {
        return Err(ApiError::invalid("email", "find by one identity at a time"));
    }
    if let Some((kind, field, value)) = given.first() {
        let identity =
            Identity::parse(*kind, value).map_err(|e| ApiError::invalid(*field, e.message))?;
        let found = state.store().customer_by_identity(&identity).await?;
        return Ok(Json(CustomerPage {
            items: found.iter().map(CustomerDto::from).collect(),
            next_cursor: None,
        }));
    }
    let page = state
        .store()
        .customers(cursor(q.cursor.as_deref())?, limit(q.limit)?)
        .await?;
    Ok(Json(CustomerPage {
        items: page.items.iter().map(CustomerDto::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerDto>> {
    auth.require(Scope::Read)?;
    let id = CustomerId(uuid_field("id", &id)?);
    let c = state
        .store()
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("customer {id} was not found")))?;
    Ok(Json(CustomerDto::from(&c)))
}

/// Changes a customer's details; absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", request_body = UpdateCustomer, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_customer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<UpdateCustomer>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let id = CustomerId(uuid_field("id", &id)?);
    let r = &body.value;
    let patch = CustomerPatch {
        name: r
            .name
            .as_ref()
            .map(|n| parse_name(n.as_deref()))
            .transpose()?,
        organisation_id: r.organisation_id.map(|o| o.map(OrganisationId)),
        language: r
            .language
            .as_ref()
            .map(|l| parse_language("language", l.as_deref()))
            .transpose()?,
        time_zone: r
            .time_zone
            .as_ref()
            .map(|t| parse_tz(t.as_deref()))
            .transpose()?,
        tier: r
            .tier
            .as_deref()
            .map(Tier::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("tier", e.message))?,
        notes: r.notes.as_deref().map(anliegen_core::contact::clean_text),
    };
    execute(
        &state,
        &auth,
        IdempotencyKey(None),
        ("PATCH", "", &[]),
        Command::UpdateCustomer { id, patch },
        customer_out(StatusCode::OK),
    )
    .await
}

/// Links one more identity to a customer. One that belongs to someone else is a 409.
#[utoipa::path(post, path = "/customers/{id}/identities", tag = "customers", request_body = IdentityDto,
    params(("id" = String, Path), IdempotencyHeader), security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_identity(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<IdentityDto>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let customer_id = CustomerId(uuid_field("id", &id)?);
    let identity = body.value.parse("identity")?;
    let path = format!("/api/v1/customers/{customer_id}/identities");
    execute(
        &state,
        &auth,
        key,
        ("POST", &path, &body.raw),
        Command::AddIdentity {
            customer_id,
            identity,
        },
        customer_out(StatusCode::OK),
    )
    .await
}

/// Merges this customer into another: its identities and cases move there, and it points to
/// the survivor. Recorded as events on both.
#[utoipa::path(post, path = "/customers/{id}/merge", tag = "customers", request_body = MergeCustomer,
    params(("id" = String, Path), IdempotencyHeader), security(("bearer" = [])),
    responses((status = 200, body = CustomerDto, description = "The surviving customer"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn merge_customer(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<MergeCustomer>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let source = CustomerId(uuid_field("id", &id)?);
    let target = CustomerId(body.value.into);
    let path = format!("/api/v1/customers/{source}/merge");
    execute(
        &state,
        &auth,
        key,
        ("POST", &path, &body.raw),
        Command::MergeCustomers { source, target },
        customer_out(StatusCode::OK),
    )
    .await
}

/// Creates an organisation customers can belong to.
#[utoipa::path(post, path = "/organisations", tag = "customers", request_body = CreateOrganisation, params(IdempotencyHeader),
    security(("bearer" = [])), responses((status = 201, body = OrganisationDto), (status = 422, body = Problem)))]
async fn create_organisation(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateOrganisation>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let cmd = Command::CreateOrganisation {
        name: body.value.name.clone(),
    };
    let out = render(StatusCode::CREATED, |o| match o {
        Output::Organisation(org) => Some(OrganisationDto::from(org)),
        _ => None,
    });
    execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/organisations", &body.raw),
        cmd,
        out,
    )
    .await
}
