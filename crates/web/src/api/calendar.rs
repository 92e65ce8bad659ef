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
    OpenApiRouter::new().routes(routes!(list_holidays))
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
