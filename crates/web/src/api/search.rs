//! `GET /search`: the agents' query language over cases and customers; a customer-scoped token
//! searches only that customer's own cases.

use std::collections::HashMap;

use anliegen_search::{Request, SearchError, Sort, Viewer};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// A search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// What to find: words (`Rücksendung`), phrases (`"nicht angekommen"`), prefixes
    /// (`Rücksend*`), exclusions (`-storniert`), case references, order and tracking numbers,
    /// addresses and IBANs, and filters: `status:open team:vendor tag:trailer
    /// from:verlag@example.de created:>2026-11-01 updated:<2026-11-20 has:attachment has:note
    /// channel:phone priority:high assignee:me is:customer`. `*` alone lists everything.
    q: String,
    /// `relevance` (default), `newest` or `oldest`.
    sort: Option<String>,
    /// Results per page (1–100, default 20).
    limit: Option<usize>,
    /// Skip this many (at most 1,000).
    offset: Option<usize>,
    /// Whether to count by status and team (default true; turn off for as-you-type).
    facets: Option<bool>,
}

/// One result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDto {
    /// `case` or `customer`.
    pub kind: String,
    /// The case's or customer's id.
    pub id: uuid::Uuid,
    /// `A-10042`, or the customer's first identity.
    pub reference: String,
    /// Subject or name.
    pub title: String,
    /// Case status.
    pub status: Option<String>,
    /// Team.
    pub team_id: Option<uuid::Uuid>,
    /// Team name.
    pub team: Option<String>,
    /// Last activity.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// Relevance (0 when sorted by date).
    pub score: f32,
    /// HTML: the best passage, hits in `<mark>`, all else escaped.
    pub snippet: String,
    /// Whether the snippet is from an internal note.
    pub snippet_internal: bool,
}

/// A count in a facet.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    /// The value (a status; a team id, or null for no team).
    pub value: Option<String>,
    /// A label for people (team name).
    pub label: Option<String>,
    /// Matches with it.
    pub count: u64,
}

/// Search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultsDto {
    /// Matches.
    pub total: u64,
    /// Whether counting stopped early (show "10,000+"): at 10,000 matches, or, on PostgreSQL,
    /// when a quoted phrase was checked among the newest 2,000 documents holding its words.
    pub total_capped: bool,
    /// The page.
    pub hits: Vec<SearchHitDto>,
    /// Counts by status.
    pub by_status: Vec<FacetCount>,
    /// Counts by team.
    pub by_team: Vec<FacetCount>,
    /// Committed events not yet searchable (during a bulk import or rebuild).
    pub lag: i64,
    /// A hint about the query, if any.
    pub notice: Option<String>,
}

/// Searches cases and customers. Agents see what their role allows (internal notes included);
/// a customer-scoped token sees only its customer's cases and no notes.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchQuery), security(("bearer" = [])),
    responses((status = 200, body = SearchResultsDto), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResultsDto>> {
    let viewer = match auth.customer_scope() {
        Some(c) => Viewer::Customer(c),
        None => {
            auth.require(Scope::Read)?;
            Viewer::Agent(auth.agent.clone())
        }
    };
    let sort = match q.sort.as_deref() {
        None => Sort::Relevance,
        Some(s) => Sort::parse(s)
            .ok_or_else(|| ApiError::invalid("sort", "sort is relevance, newest or oldest"))?,
    };
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset > 1000 {
        return Err(ApiError::invalid(
            "offset",
            "offset is at most 1000; narrow the query",
        ));
    }
    let req = Request {
        q: q.q,
        sort,
        limit,
        offset,
        facets: q.facets.unwrap_or(true),
    };
    let results = run(&state, &viewer, &req).await?;
    Ok(Json(results))
}

/// Runs a search and names teams (shared with the workspace pages).
pub(crate) async fn run(
    state: &AppState,
    viewer: &Viewer,
    req: &Request,
) -> Result<SearchResultsDto, ApiError> {
    let results = state
        .search()
        .search(viewer, req)
        .await
        .map_err(|e| match e {
            SearchError::Query(m) => ApiError::invalid("q", m),
            SearchError::Store(s) => ApiError::from(s),
            other => {
                tracing::error!(error = %other, "search failed");
                ApiError::unavailable("search is not available right now; try again shortly")
            }
        })?;
    let customer = matches!(viewer, Viewer::Customer(_));
    let teams: HashMap<uuid::Uuid, String> = if customer {
        HashMap::new()
    } else {
        state
            .store()
            .teams()
            .await?
            .into_iter()
            .map(|t| (t.id.0, t.name))
            .collect()
    };
    let team_name = |t: &Option<uuid::Uuid>| t.and_then(|t| teams.get(&t).cloned());
    Ok(SearchResultsDto {
        total: results.total,
        total_capped: results.capped,
        hits: results
            .hits
            .into_iter()
            .map(|h| SearchHitDto {
                kind: h.kind.as_str().to_owned(),
                id: h.id,
                reference: h.reference,
                title: h.title,
                status: h.status.map(|s| s.as_str().to_owned()),
                team_id: if customer { None } else { h.team_id },
                team: if customer {
                    None
                } else {
                    team_name(&h.team_id)
                },
                updated_at: h.updated_at,
                score: h.score,
                snippet: h.snippet,
                snippet_internal: h.snippet_internal,
            })
            .collect(),
        by_status: results
            .by_status
            .iter()
            .map(|(s, n)| FacetCount {
                value: Some(s.as_str().to_owned()),
                label: None,
                count: *n,
            })
            .collect(),
        by_team: if customer {
            Vec::new()
        } else {
            results
                .by_team
                .iter()
                .map(|(t, n)| FacetCount {
                    value: t.map(|t| t.to_string()),
                    label: team_name(t),
                    count: *n,
                })
                .collect()
        },
        lag: results.lag,
        notice: results.notice,
    })
}
