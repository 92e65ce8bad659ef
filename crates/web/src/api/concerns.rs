//! One concern, one case: inbound contacts through concern matching, routing rules, team
//! assignment, matching and escalation settings, escalation by hand, identity offers,
//! suggested merges and undoing a customer merge.

use anliegen_core::escalation::{EscalationSettings, Trigger};
use anliegen_core::resolve::{ConcernMatch, MatchSettings};
use anliegen_core::routing::{Conditions, RoutingRule, TeamAssignment};
use anliegen_core::{Channel, CustomerId, Direction, Role, RuleId, TeamId, Visibility};
use anliegen_store::concern::{Concerns, Found, customer_facts};
use anliegen_store::{Command, CustomerRef, MailTarget, NewCase, NewContact, Output};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cases::{find_case, parse_case_customer};
use super::{IdempotencyHeader, render, uuid_field};
use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::dto::{
    CaseDto, EscalateCase, EscalationSettingsDto, IdentityDto, IdentityOfferDto, InboundContact,
    MatchSettingsDto, MergeSuggestionDto, ResolvedContact, RoutingRuleDto, SaveRoutingRule,
    TeamAssignmentDto, TeamDto, via_json,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::idempotency::{IdempotencyKey, execute};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbound_contact))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(get_matching, put_matching))
        .routes(routes!(get_escalation, put_escalation))
        .routes(routes!(put_team_assignment))
        .routes(routes!(escalate))
        .routes(routes!(identity_offers))
        .routes(routes!(resolve_offer))
        .routes(routes!(merge_suggestions))
        .routes(routes!(unmerge))
}

/// Takes an inbound contact from any channel (a logged phone call, a form, a chat, another
/// system), finds the customer and the concern it belongs to, and stores it there: a case
/// reference in the field, subject or text (of the customer's own case), an open case about the
/// same order or parcel, a near-duplicate from the last days; otherwise a new case, routed by
/// the routing rules. The reason is recorded on the contact and as an event.
#[utoipa::path(post, path = "/contacts", tag = "concerns", request_body = InboundContact, params(IdempotencyHeader),
    security(("bearer" = [])),
    responses((status = 201, body = ResolvedContact), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn inbound_contact(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<InboundContact>,
) -> ApiResult<Response> {
    auth.require(Scope::Write)?;
    let r = &body.value;
    let customer = parse_case_customer(&r.customer)?;
    let channel = match r.channel.as_deref() {
        None => Channel::Api,
        Some(c) => Channel::parse(c).map_err(|e| ApiError::invalid("channel", e.message))?,
    };
    if channel == Channel::Note {
        return Err(ApiError::invalid(
            "channel",
            "an internal note belongs on a case: POST /cases/{id}/contacts",
        ));
    }
    let text = anliegen_core::contact::clean_text(&r.text);
    if text.trim().is_empty() {
        return Err(ApiError::invalid("text", "the contact needs a text"));
    }
    if text.chars().count() > 100_000 {
        return Err(ApiError::invalid("text", "at most 100,000 characters"));
    }
    let subject = anliegen_core::case::parse_subject(&r.subject)
        .map_err(|e| ApiError::invalid("subject", e.message))?;
    let field_ref = r
        .case_reference
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            anliegen_core::CaseRef::parse(s.trim())
                .map_err(|e| ApiError::invalid("case_reference", e.message))
        })
        .transpose()?;
    let topic = r
        .topic
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= 64);
    // Who: a known customer, or the owner of the identity (none yet: a new customer).
    let known = match &customer {
        CustomerRef::Id(id) => Some(state.store().customer(*id).await?.ok_or_else(|| {
            ApiError::invalid("customer.id", format!("customer {id} does not exist"))
        })?),
        CustomerRef::Identity { identity, .. } => {
            state.store().customer_by_identity(identity).await?
        }
        CustomerRef::New { .. } => None,
    };
    let concerns = state.concerns();
    let found = concerns
        .find(known.as_ref().map(|c| c.id), &subject, &text, field_ref)
        .await?;
    let language = anliegen_core::Language::detect(&text);
    let mut contact = NewContact {
        subject: (!subject.is_empty()).then(|| subject.clone()),
        ..NewContact::plain(
            channel,
            Direction::Inbound,
            Visibility::Public,
            text.clone(),
        )
    };
    let target = match found {
        Found::Case(case, why) => {
            contact.concern = Some(why);
            MailTarget::Case {
                case_id: case.id,
                contact: Box::new(contact),
            }
        }
        Found::New(note, maybe) => {
            contact.concern = Some(ConcernMatch::NewCase { note, maybe });
            let settings = concerns.settings().await?;
            let (organisation_id, tier) = customer_facts(known.as_ref());
            let route_text = format!("{subject}\n{text}");
            let routed = Concerns::route(
                &settings,
                &anliegen_core::routing::Facts {
                    channel: Some(channel),
                    language,
                    form_topic: topic,
                    text: &route_text,
                    organisation_id,
                    tier: tier.as_deref(),
                    mailbox_id: None,
                },
            );
            let subject = if subject.is_empty() {
                anliegen_core::escalation::shorten(&text, 80)
            } else {
                subject.clone()
            };
            MailTarget::NewCase(Box::new(NewCase {
                customer: match known.as_ref() {
                    Some(c) => CustomerRef::Id(c.id),
                    None => customer,
                },
                subject,
                priority: routed.as_ref().and_then(|r| r.priority).unwrap_or_default(),
                team_id: routed.as_ref().and_then(|r| r.team_id),
                assignee_id: None,
                tags: Vec::new(),
                fields: Default::default(),
                language,
                contact,
                routed_by: routed.map(|r| r.rule),
                auto_assign: true,
            }))
        }
    };
    let lang = auth.agent.ui_language;
    let agent = auth.agent.clone();
    let out = render(StatusCode::CREATED, move |o| match o {
        Output::Contact {
            case,
            contact,
            follow_up_of,
        } => {
            let reason = contact.concern.clone().unwrap_or(ConcernMatch::Chosen);
            // A caller who may not see the case learns only that the contact was stored.
            let visible = crate::ui::can_see(&agent, case);
            let new_case = follow_up_of.is_some() || matches!(reason, ConcernMatch::NewCase { .. });
            if !visible {
                return Some(ResolvedContact {
                    case: None,
                    contact_id: contact.id.0,
                    new_case,
                    reason_text: match lang {
                        anliegen_core::Language::De => {
                            "Einem Fall zugeordnet, den Sie nicht sehen".into()
                        }
                        anliegen_core::Language::En => "Added to a case you cannot see".into(),
                    },
                    reason: serde_json::json!({ "rule": "hidden" }),
                });
            }
            Some(ResolvedContact {
                case: Some(CaseDto::from(&**case)),
                contact_id: contact.id.0,
                new_case,
                reason_text: match lang {
                    anliegen_core::Language::De => reason.describe_de(),
                    anliegen_core::Language::En => reason.describe_en(),
                },
                reason: serde_json::to_value(&reason).unwrap_or_default(),
            })
        }
        _ => None,
    });
    // A repeat by form is answered by mail like one by mail: "we already have your concern".
    let mut jobs = Vec::new();
    if let MailTarget::Case { case_id, contact } = &target
        && channel == Channel::Form
        && matches!(
            contact.concern,
            Some(ConcernMatch::SameIdentifier { .. } | ConcernMatch::SimilarText { .. })
        )
        && concerns.settings().await?.matching.acknowledge_repeats
    {
        jobs.push(anliegen_store::NewJob::new(
            "mail.acknowledge",
            serde_json::json!({ "case_id": case_id.to_string(), "repeat": true }),
        ));
    }
    crate::idempotency::execute_with_jobs(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/contacts", &body.raw),
        Command::Inbound(Box::new(target)),
        jobs,
        out,
    )
    .await
}

fn rule_dto(r: &RoutingRule) -> RoutingRuleDto {
    via_json(r)
}

fn parse_rule(
    id: RuleId,
    position: i64,
    active: bool,
    b: &SaveRoutingRule,
) -> ApiResult<RoutingRule> {
    let conditions: Conditions = serde_json::to_value(&b.conditions)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "conditions",
                "channels, languages, topics, organisation_ids, tiers, keywords and mailbox_ids are lists of valid values",
            )
        })?;
    conditions
        .validate()
        .map_err(|e| ApiError::invalid("conditions", e.message))?;
    Ok(RoutingRule {
        id,
        position: b.position.unwrap_or(position),
        name: b.name.clone(),
        active: b.active.unwrap_or(active),
        conditions,
        team_id: b.team_id.map(TeamId),
        priority: b
            .priority
            .as_deref()
            .map(anliegen_core::Priority::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("priority", e.message))?,
    })
}

/// Routing rules, by position (admins).
#[utoipa::path(get, path = "/routing-rules", tag = "concerns", security(("bearer" = [])),
    responses((status = 200, body = Vec<RoutingRuleDto>), (status = 403, body = Problem)))]
async fn list_rules(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<RoutingRuleDto>>> {
    auth.require_role(Role::Admin)?;
    Ok(Json(
        state
            .store()
            .routing_rules()
            .await?
            .iter()
            .map(rule_dto)
            .collect(),
    ))
}

/// Creates a routing rule (admins). The first active rule whose conditions all hold sends a
/// new case to its team and priority.
#[utoipa::path(post, path = "/routing-rules", tag = "concerns", request_body = SaveRoutingRule, params(IdempotencyHeader),
    security(("bearer" = [])),
    responses((status = 201, body = RoutingRuleDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_rule(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    body: ApiJson<SaveRoutingRule>,
) -> ApiResult<Response> {
    auth.require_role(Role::Admin)?;
    let next = state
        .store()
        .routing_rules()
        .await?
        .iter()
        .map(|r| r.position)
        .max()
        .map_or(10, |p| p + 10);
    let rule = parse_rule(RuleId::new(), next, true, &body.value)?;
    let res = execute(
        &state,
        &auth,
        key,
        ("POST", "/api/v1/routing-rules", &body.raw),
        Command::SaveRoutingRule(Box::new(rule)),
        render(StatusCode::CREATED, |o| match o {
            Output::RoutingRule(r) => Some(rule_dto(r)),
            _ => None,
        }),
    )
    .await;
    state.concerns().invalidate().await;
    res
}

/// Changes a routing rule (admins; every field given).
#[utoipa::path(put, path = "/routing-rules/{id}", tag = "concerns", request_body = SaveRoutingRule, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = RoutingRuleDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<SaveRoutingRule>,
) -> ApiResult<Json<RoutingRuleDto>> {
    auth.require_role(Role::Admin)?;
    let id = RuleId(uuid_field("id", &id)?);
    let old = state
        .store()
        .routing_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found(format!("routing rule {id} was not found")))?;
    let rule = parse_rule(id, old.position, old.active, &body.value)?;
    let out = state
        .store()
        .exec(auth.actor(), Command::SaveRoutingRule(Box::new(rule)))
        .await?;
    state.concerns().invalidate().await;
    match out {
        Output::RoutingRule(r) => Ok(Json(rule_dto(&r))),
        _ => Err(ApiError::bad_request("unexpected result")),
    }
}

/// Deletes a routing rule (admins).
#[utoipa::path(delete, path = "/routing-rules/{id}", tag = "concerns", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require_role(Role::Admin)?;
    let id = RuleId(uuid_field("id", &id)?);
    state
        .store()
        .exec(auth.actor(), Command::DeleteRoutingRule { id })
        .await?;
    state.concerns().invalidate().await;
    Ok(StatusCode::NO_CONTENT)
}

/// Concern matching settings (admins).
#[utoipa::path(get, path = "/settings/matching", tag = "concerns", security(("bearer" = [])),
    responses((status = 200, body = MatchSettingsDto), (status = 403, body = Problem)))]
async fn get_matching(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<MatchSettingsDto>> {
    auth.require_role(Role::Admin)?;
    state.concerns().invalidate().await;
    Ok(Json(via_json(&state.concerns().settings().await?.matching)))
}

/// Changes the concern matching settings (admins; every field given).
#[utoipa::path(put, path = "/settings/matching", tag = "concerns", request_body = MatchSettingsDto, security(("bearer" = [])),
    responses((status = 200, body = MatchSettingsDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_matching(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<MatchSettingsDto>,
) -> ApiResult<Json<MatchSettingsDto>> {
    auth.require_role(Role::Admin)?;
    let s: MatchSettings = serde_json::to_value(&body.value)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| ApiError::invalid("matching", "not valid matching settings"))?;
    s.validate()
        .map_err(|e| ApiError::invalid("matching", e.message))?;
    save_setting(
        &state,
        &auth,
        "matching",
        serde_json::to_value(&s).unwrap_or_default(),
    )
    .await?;
    Ok(Json(via_json(&s)))
}

/// Escalation settings (admins).
#[utoipa::path(get, path = "/settings/escalation", tag = "concerns", security(("bearer" = [])),
    responses((status = 200, body = EscalationSettingsDto), (status = 403, body = Problem)))]
async fn get_escalation(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<EscalationSettingsDto>> {
    auth.require_role(Role::Admin)?;
    state.concerns().invalidate().await;
    Ok(Json(via_json(
        &state.concerns().settings().await?.escalation,
    )))
}

/// Changes the escalation settings (admins; every field given).
#[utoipa::path(put, path = "/settings/escalation", tag = "concerns", request_body = EscalationSettingsDto, security(("bearer" = [])),
    responses((status = 200, body = EscalationSettingsDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_escalation(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<EscalationSettingsDto>,
) -> ApiResult<Json<EscalationSettingsDto>> {
    auth.require_role(Role::Admin)?;
    let s: EscalationSettings = serde_json::to_value(&body.value)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "escalation",
                "not valid escalation settings (a tier's priority is low, normal, high or urgent)",
            )
        })?;
    s.validate()
        .map_err(|e| ApiError::invalid("escalation", e.message))?;
    for t in &s.tiers {
        if let Some(team) = t.team_id
            && state.store().team(team).await?.is_none()
        {
            return Err(ApiError::invalid(
                "tiers",
                format!("team {team} does not exist"),
            ));
        }
    }
    save_setting(
        &state,
        &auth,
        "escalation",
        serde_json::to_value(&s).unwrap_or_default(),
    )
    .await?;
    Ok(Json(via_json(&s)))
}

async fn save_setting(
    state: &AppState,
    auth: &Auth,
    key: &str,
    value: serde_json::Value,
) -> ApiResult<()> {
    state
        .store()
        .exec(
            auth.actor(),
            Command::SetSetting {
                key: key.to_owned(),
                value,
            },
        )
        .await?;
    state.concerns().invalidate().await;
    Ok(())
}

/// Changes how a team hands out new cases (admins).
#[utoipa::path(put, path = "/teams/{id}/assignment", tag = "teams", request_body = TeamAssignmentDto, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = TeamDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_team_assignment(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<TeamAssignmentDto>,
) -> ApiResult<Json<TeamDto>> {
    auth.require_role(Role::Admin)?;
    let team_id = TeamId(uuid_field("id", &id)?);
    let mode = anliegen_core::routing::AssignMode::parse(&body.value.mode)
        .map_err(|e| ApiError::invalid("mode", e.message))?;
    let assignment = TeamAssignment {
        mode,
        max_open: body.value.max_open,
        skills: body.value.skills.clone(),
    };
    match state
        .store()
        .exec(
            auth.actor(),
            Command::SetTeamAssignment {
                team_id,
                assignment,
            },
        )
        .await?
    {
        Output::Team(t) => Ok(Json(TeamDto::from(&t))),
        _ => Err(ApiError::bad_request("unexpected result")),
    }
}

/// Escalates a case one tier up by hand, with a hand-off summary built from the case (concern,
/// contacts so far, promises, what was tried) so the next person does not ask again.
#[utoipa::path(post, path = "/cases/{id}/escalate", tag = "concerns", request_body = EscalateCase, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn escalate(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<EscalateCase>,
) -> ApiResult<Json<CaseDto>> {
    auth.require(Scope::Write)?;
    let case = find_case(&state, &auth, &id).await?;
    let reason = anliegen_core::contact::clean_text(&body.value.reason);
    if reason.trim().is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "reason",
            "say why in 1 to 1000 characters",
        ));
    }
    match anliegen_store::concern::escalate(
        state.store(),
        auth.actor(),
        case.id,
        Trigger::Agent { reason },
    )
    .await?
    {
        Some(c) => Ok(Json(CaseDto::from(&c))),
        None => Err(ApiError::conflict(format!(
            "case {} is at the highest escalation tier already (or closed)",
            case.reference
        ))),
    }
}

fn offer_dto(o: &anliegen_store::IdentityOffer) -> IdentityOfferDto {
    IdentityOfferDto {
        id: o.id,
        case_id: o.case_id.0,
        customer_id: o.customer_id.0,
        identity: IdentityDto {
            kind: o.identity.kind.as_str().to_owned(),
            value: o.identity.value.clone(),
        },
        contact_id: o.contact_id.0,
        created_at: o.created_at.to_string(),
        state: match o.accepted {
            None => "open",
            Some(true) => "linked",
            Some(false) => "declined",
        }
        .to_owned(),
    }
}

/// Identities that came in on a case and are offered for linking to its customer.
#[utoipa::path(get, path = "/cases/{id}/identity-offers", tag = "concerns", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<IdentityOfferDto>), (status = 404, body = Problem)))]
async fn identity_offers(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<IdentityOfferDto>>> {
    auth.require(Scope::Read)?;
    let case = find_case(&state, &auth, &id).await?;
    Ok(Json(
        state
            .store()
            .identity_offers(case.id)
            .await?
            .iter()
            .map(offer_dto)
            .collect(),
    ))
}

/// Decides an identity offer.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideOffer {
    /// Link the identity to the case's customer (`false`: decline).
    pub link: bool,
}

/// Links an offered identity to the case's customer, or declines it. Every step is an event.
#[utoipa::path(post, path = "/identity-offers/{id}", tag = "concerns", request_body = DecideOffer, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = IdentityOfferDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resolve_offer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: ApiJson<DecideOffer>,
) -> ApiResult<Json<IdentityOfferDto>> {
    auth.require(Scope::Write)?;
    let offer_id = uuid_field("id", &id)?;
    let missing = || ApiError::not_found(format!("identity offer {offer_id} was not found"));
    let offer = state
        .store()
        .identity_offer(offer_id)
        .await?
        .ok_or_else(missing)?;
    let case = state
        .store()
        .case(offer.case_id)
        .await?
        .ok_or_else(missing)?;
    if !crate::ui::can_see(&auth.agent, &case) {
        return Err(missing());
    }
    state
        .store()
        .exec(
            auth.actor(),
            Command::ResolveIdentityOffer {
                offer_id,
                accept: body.value.link,
            },
        )
        .await?;
    let offer = state
        .store()
        .identity_offer(offer_id)
        .await?
        .ok_or_else(missing)?;
    Ok(Json(offer_dto(&offer)))
}

/// Customers that may be the same as this one: the same name and a shared order, tracking
/// number or IBAN in their messages. Merge them with `POST /customers/{id}/merge`.
#[utoipa::path(get, path = "/customers/{id}/merge-suggestions", tag = "customers", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<MergeSuggestionDto>), (status = 404, body = Problem)))]
async fn merge_suggestions(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MergeSuggestionDto>>> {
    auth.require(Scope::Read)?;
    let id = CustomerId(uuid_field("id", &id)?);
    if state.store().customer(id).await?.is_none() {
        return Err(ApiError::not_found(format!("customer {id} was not found")));
    }
    Ok(Json(
        state
            .store()
            .merge_suggestions(id)
            .await?
            .into_iter()
            .map(|s| MergeSuggestionDto {
                customer_id: s.customer_id.0,
                name: s.name,
                evidence: s.evidence,
            })
            .collect(),
    ))
}

/// Undoes the merge of this (merged-away) customer: its identities and cases go back
/// (supervisors and admins).
#[utoipa::path(post, path = "/customers/{id}/unmerge", tag = "customers", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = crate::dto::CustomerDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn unmerge(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::dto::CustomerDto>> {
    auth.require(Scope::Write)?;
    auth.require_role(Role::Supervisor)?;
    let source = CustomerId(uuid_field("id", &id)?);
    match state
        .store()
        .exec(auth.actor(), Command::UnmergeCustomer { source })
        .await?
    {
        Output::Customer(c) => Ok(Json(crate::dto::CustomerDto::from(&*c))),
        _ => Err(ApiError::bad_request("unexpected result")),
    }
}
