//! Public holidays of a region and year (the same table `anliegen holidays` prints).

use anliegen_core::holiday::{Region, holidays};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_holidays))
        .routes(routes!(get_team_calendar, put_team_calendar))
        .routes(routes!(team_due))
}

/// Which holidays.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HolidayQuery {
    /// ISO 3166-2 region: `DE-BW` … `DE-TH` (the 16 German states), `DE` (nationwide) or `AT`.
    region: String,
    /// Year (1991–2999).
    year: i16,
    /// Names in `de` (default) or `en`.
    lang: Option<String>,
}

/// A public holiday.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayDto {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Stable key (`good_friday`).
    pub key: String,
    /// Name in the requested language.
    pub name: String,
}

/// The statutory public holidays of the whole region in a year, in date order (Sundays that are
/// holidays, like Brandenburg's Easter Sunday, included).
#[utoipa::path(get, path = "/holidays", tag = "calendars", params(HolidayQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<HolidayDto>), (status = 422, body = Problem)))]
async fn list_holidays(
    auth: Auth,
    ApiQuery(q): ApiQuery<HolidayQuery>,
) -> ApiResult<Json<Vec<HolidayDto>>> {
    auth.require(Scope::Read)?;
    let region =
        Region::parse(&q.region).map_err(|e| ApiError::invalid("region", e.to_string()))?;
    let lang = match q.lang.as_deref() {
        None => anliegen_core::Language::De,
        Some(l) => anliegen_core::Language::parse(l)
            .map_err(|_| ApiError::invalid("lang", "lang is de or en"))?,
    };
    let list = holidays(region, q.year).map_err(|e| ApiError::invalid("year", e.to_string()))?;
    Ok(Json(
        list.into_iter()
            .map(|h| HolidayDto {
                date: h.date.to_string(),
                key: h.key.to_owned(),
                name: h.name(lang).to_owned(),
            })
            .collect(),
    ))
}

/// A team's business calendar (Monday to Friday 8:00–18:00 Europe/Berlin until one is set).
pub(crate) async fn team_calendar(
    state: &AppState,
    team: anliegen_core::TeamId,
) -> Result<anliegen_core::calendar::CalendarSpec, ApiError> {
    Ok(anliegen_store::sla::team_calendar_spec(state.store(), team).await?)
}

async fn team_of(state: &AppState, raw: &str) -> Result<anliegen_core::Team, ApiError> {
    let id = anliegen_core::TeamId(super::uuid_field("id", raw)?);
    state
        .store()
        .team(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such team"))
}

/// A team's business calendar: time zone, weekly opening hours (several a day for breaks),
/// whose public holidays count, extra closed days and closures.
#[utoipa::path(get, path = "/teams/{id}/calendar", tag = "calendars", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_team_calendar(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(Scope::Read)?;
    let team = team_of(&state, &id).await?;
    Ok(Json(
        serde_json::to_value(team_calendar(&state, team.id).await?).unwrap_or_default(),
    ))
}

/// Sets a team's business calendar (admins). Checked first: a calendar without opening hours,
/// an opening that ends before it starts, overlapping openings or closures, an unknown time
/// zone or region are refused with the reason.
#[utoipa::path(put, path = "/teams/{id}/calendar", tag = "calendars", params(("id" = String, Path)), request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_team_calendar(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: crate::extract::ApiJson<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require_role(anliegen_core::Role::Admin)?;
    let team = team_of(&state, &id).await?;
    let spec: anliegen_core::calendar::CalendarSpec = serde_json::from_value(body.value.clone())
        .map_err(|e| ApiError::invalid("calendar", format!("not a calendar: {e}")))?;
    anliegen_core::calendar::BusinessCalendar::new(&spec)
        .map_err(|e| ApiError::invalid("calendar", e.to_string()))?;
    let value = serde_json::to_value(&spec).unwrap_or_default();
    state
        .store()
        .exec(
            auth.actor(),
            anliegen_store::Command::SetSetting {
                key: anliegen_store::sla::team_calendar_key(team.id),
                value: value.clone(),
            },
        )
        .await?;
    Ok(Json(value))
}

/// When does business time run out?
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DueQuery {
    /// Start (RFC 3339; default now).
    from: Option<String>,
    /// Business minutes (negative: back in time).
    minutes: i64,
}

/// The moment `minutes` of the team's business time after `from` end.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueDto {
    /// Start.
    pub from: String,
    /// End of the business time.
    pub due: String,
    /// The same in the calendar's time zone.
    pub due_local: String,
}

/// Business-time arithmetic in a team's calendar: when an SLA of `minutes` started at `from`
/// is due (holidays, breaks, closures and DST switches included).
#[utoipa::path(get, path = "/teams/{id}/calendar/due", tag = "calendars", params(("id" = String, Path), DueQuery), security(("bearer" = [])),
    responses((status = 200, body = DueDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn team_due(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> ApiResult<Json<DueDto>> {
    auth.require(Scope::Read)?;
    let team = team_of(&state, &id).await?;
    let spec = team_calendar(&state, team.id).await?;
    let cal = anliegen_core::calendar::BusinessCalendar::new(&spec)
        .map_err(|e| ApiError::invalid("calendar", e.to_string()))?;
    let from = match q.from.as_deref() {
        None => state.store().now(),
        Some(raw) => raw.parse::<jiff::Timestamp>().map_err(|_| {
            ApiError::invalid(
                "from",
                "from is an RFC 3339 time, e.g. 2026-12-04T16:00:00+01:00",
            )
        })?,
    };
    if q.minutes.abs() > 366 * 24 * 60 {
        return Err(ApiError::invalid(
            "minutes",
            "at most a year of business minutes",
        ));
    }
    let due = cal
        .add(from, q.minutes)
        .map_err(|e| ApiError::invalid("minutes", e.to_string()))?;
    Ok(Json(DueDto {
        from: from.to_string(),
        due: due.to_string(),
        due_local: due.to_zoned_datetime(cal.time_zone().clone()).to_string(),
    }))
}
