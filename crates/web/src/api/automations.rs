//! Automation rules (ordered): triggers on what happens to a case and timers on how long it
//! has been so; and the dry-run that shows which cases a rule would touch.

use anliegen_core::automation::{Action, Automation, Condition, validate_all};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_automations, put_automations))
        .routes(routes!(dry_run_automation))
}

/// A rule from JSON (an id is made when left out); `at` names it in errors.
pub(crate) fn parse_rule(mut v: serde_json::Value, at: Option<usize>) -> ApiResult<Automation> {
    let prefix = at.map(|i| format!("[{i}].")).unwrap_or_default();
    if let Some(o) = v.as_object_mut()
        && !o.contains_key("id")
    {
        o.insert("id".into(), serde_json::json!(uuid::Uuid::now_v7()));
    }
    let rule: Automation = serde_json::from_value(v)
        .map_err(|e| ApiError::invalid(format!("{prefix}rule"), format!("not a rule: {e}")))?;
    rule.validate()
        .map_err(|e| ApiError::invalid(format!("{prefix}{}", e.what), e.message))?;
    Ok(rule)
}

async fn check_teams(state: &AppState, rules: &[Automation]) -> ApiResult<()> {
    let teams = state.store().teams().await?;
    let known = |t: &anliegen_core::TeamId| teams.iter().any(|x| x.id == *t);
    for (i, r) in rules.iter().enumerate() {
        let mut used = Vec::new();
        for c in &r.conditions {
            if let Condition::Team { any, .. } = c {
                used.extend(any.iter().copied());
            }
        }
        for a in &r.actions {
            if let Action::SetTeam { team_id: Some(t) } = a {
                used.push(*t);
            }
        }
        if let Some(t) = used.iter().find(|t| !known(t)) {
            return Err(ApiError::invalid(
                format!("[{i}].team"),
                format!("there is no team {t}"),
            ));
        }
    }
    Ok(())
}

/// The automation rules in the order they run.
#[utoipa::path(get, path = "/automations", tag = "automations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Object>)))]
async fn list_automations(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Automation>>> {
    auth.require(Scope::Read)?;
    let mut rules = anliegen_store::automation::rules(state.store()).await?;
    // Webhook secrets are for admins.
    if auth.require_role(anliegen_core::Role::Admin).is_err() {
        for a in rules.iter_mut().flat_map(|r| r.actions.iter_mut()) {
            if let Action::Webhook { secret, .. } = a {
                secret.clear();
            }
        }
    }
    Ok(Json(rules))
}

/// Replaces the automation rules (admins): the whole ordered list. Each rule is checked:
/// a trigger needs happenings (`case_opened`, `customer_replied`, `agent_replied`,
/// `note_added`, `status_changed`, `priority_changed`, `team_changed`, `assignee_changed`,
/// `tags_changed`, `sla_warning`, `sla_breached`, `promise_overdue`, `case_escalated`); a timer
/// `{"type": "timer", "since": "status_changed", "minutes": 10080}` fires neither at once
/// (0) nor never (over five years); conditions must be able to hold; templates may use only
/// the known placeholders; webhooks need an http(s) URL. A webhook without a `secret` keeps the
/// one its rule had for the same URL, or gets a new one (returned here; only admins see them).
#[utoipa::path(put, path = "/automations", tag = "automations", request_body = Vec<Object>, security(("bearer" = [])),
    responses((status = 200, body = Vec<Object>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_automations(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<Vec<serde_json::Value>>,
) -> ApiResult<Json<Vec<Automation>>> {
    auth.require_role(anliegen_core::Role::Admin)?;
    let rules = body
        .value
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_rule(v, Some(i)))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut rules = rules;
    validate_all(&rules).map_err(|e| ApiError::invalid(e.what, e.message))?;
    check_and_save(&state, auth.actor(), &mut rules).await?;
    Ok(Json(rules))
}

/// Checks that the teams the rules name exist, gives every webhook its signing secret and
/// stores them (the API and the admin page).
pub(crate) async fn check_and_save(
    state: &AppState,
    actor: anliegen_core::Actor,
    rules: &mut [Automation],
) -> ApiResult<()> {
    check_teams(state, rules).await?;
    let stored = anliegen_store::automation::rules(state.store()).await?;
    for rule in rules.iter_mut() {
        let before = stored.iter().find(|r| r.id == rule.id);
        for a in &mut rule.actions {
            let Action::Webhook { url, secret } = a else {
                continue;
            };
            if !secret.is_empty() {
                continue;
            }
            let kept = before
                .into_iter()
                .flat_map(|r| r.actions.iter())
                .find_map(|b| match b {
                    Action::Webhook { url: u, secret: s } if u == url && !s.is_empty() => {
                        Some(s.clone())
                    }
                    _ => None,
                });
            *secret = kept.unwrap_or_else(new_secret);
        }
    }
    save(state, actor, rules).await
}

/// A new webhook signing secret: 256 random bits, hex.
fn new_secret() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// Stores the ordered rules.
async fn save(
    state: &AppState,
    actor: anliegen_core::Actor,
    rules: &[Automation],
) -> ApiResult<()> {
    state
        .store()
        .exec(
            actor,
            anliegen_store::Command::SetSetting {
                key: anliegen_store::automation::RULES_KEY.into(),
                value: serde_json::to_value(rules).unwrap_or_default(),
            },
        )
        .await?;
    Ok(())
}

/// A case a rule would touch.
#[derive(Debug, Serialize, ToSchema)]
pub struct TouchedCase {
    /// Id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: String,
}

/// What a rule would touch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    /// The first cases (at most 100).
    pub cases: Vec<TouchedCase>,
    /// How many cases were looked at.
    pub looked_at: usize,
}

/// Which cases a rule would touch now, without changing anything: for a timer the cases it is
/// due for, for a trigger the unsolved cases whose conditions hold.
#[utoipa::path(post, path = "/automations/dry-run", tag = "automations", request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = DryRun), (status = 422, body = Problem)))]
async fn dry_run_automation(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<Json<DryRun>> {
    auth.require(Scope::Read)?;
    let rule = parse_rule(body.value, None)?;
    let (cases, looked_at) = anliegen_store::automation::dry_run(state.store(), &rule, 100).await?;
    Ok(Json(DryRun {
        cases: cases
            .into_iter()
            .filter(|c| crate::ui::can_see(&auth.agent, c))
            .map(|c| TouchedCase {
                id: c.id.to_string(),
                reference: c.reference.to_string(),
                subject: c.subject,
                status: c.status.as_str().to_owned(),
            })
            .collect(),
        looked_at,
    }))
}
