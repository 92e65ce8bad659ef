//! The global search: a box in every workspace page with results as you type
//! (`/search/suggest`, an HTML fragment) and a results page (`/search`) with filters by status
//! and team, sorting, snippets and paging. Same engine and permissions as `GET /api/v1/search`.

use anliegen_search::{Request, Sort, Viewer};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::i18n::Tr;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;
use crate::api::search::{SearchHitDto, run};

/// Results per page.
const PAGE: usize = 25;

/// One result as shown.
struct Row {
    href: String,
    reference: String,
    title: String,
    kind: &'static str,
    status: String,
    team: String,
    when: String,
    snippet: String,
    internal: bool,
}

/// A filter link (status or team) with its count.
struct FacetLink {
    label: String,
    count: String,
    href: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    f: Frame,
    q: String,
    sort: &'static str,
    error: Option<String>,
    notice: Option<String>,
    total: String,
    capped: bool,
    lag: i64,
    rows: Vec<Row>,
    statuses: Vec<FacetLink>,
    teams: Vec<FacetLink>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "search_suggest.html")]
struct Suggest {
    t: Tr,
    q: String,
    rows: Vec<Row>,
    error: Option<String>,
}

fn params(raw: &Option<String>) -> (String, Sort, usize) {
    let mut q = String::new();
    let mut sort = Sort::Relevance;
    let mut offset = 0usize;
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "q" => q = v.into_owned(),
            "sort" => sort = Sort::parse(&v).unwrap_or_default(),
            "offset" => offset = v.parse().unwrap_or(0).min(1000),
            _ => {}
        }
    }
    (q, sort, offset)
}

fn sort_name(s: Sort) -> &'static str {
    match s {
        Sort::Relevance => "relevance",
        Sort::Newest => "newest",
        Sort::Oldest => "oldest",
    }
}

fn link(q: &str, sort: Sort, offset: usize) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    ser.append_pair("q", q);
    if sort != Sort::Relevance {
        ser.append_pair("sort", sort_name(sort));
    }
    if offset > 0 {
        ser.append_pair("offset", &offset.to_string());
    }
    format!("/search?{}", ser.finish())
}

/// `q` with `filter` added, or taken out when it is already there.
fn toggle(q: &str, filter: &str) -> (String, bool) {
    let parts: Vec<&str> = q.split_whitespace().collect();
    if parts.contains(&filter) {
        let rest: Vec<&str> = parts.into_iter().filter(|p| *p != filter).collect();
        (rest.join(" "), true)
    } else {
        (format!("{} {filter}", q.trim()).trim().to_owned(), false)
    }
}

fn rows(t: &Tr, s: &Session, hits: Vec<SearchHitDto>, now: jiff::Timestamp) -> Vec<Row> {
    let tz = s.tz();
    hits.into_iter()
        .map(|h| {
            let case = h.kind == "case";
            Row {
                href: if case {
                    format!("/cases/{}", h.reference)
                } else {
                    let ser = form_urlencoded::Serializer::new(String::new())
                        .append_pair("q", &format!("from:{}", h.reference))
                        .finish();
                    format!("/search?{ser}")
                },
                kind: if case { "case" } else { "customer" },
                status: h
                    .status
                    .as_deref()
                    .and_then(|st| anliegen_core::CaseStatus::parse(st).ok())
                    .map(|st| t.status(st))
                    .unwrap_or_else(|| t.s("search-kind-customer")),
                team: h.team.unwrap_or_default(),
                when: t.time(h.updated_at, now, &tz),
                reference: h.reference,
                title: h.title,
                snippet: h.snippet,
                internal: h.snippet_internal,
            }
        })
        .collect()
}

fn count(t: &Tr, n: u64, capped: bool) -> String {
    let s = if t.lang.code() == "de" {
        // 10.000 in German, 10,000 in English.
        group(n, '.')
    } else {
        group(n, ',')
    };
    if capped { format!("{s}+") } else { s }
}

fn group(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// The results page.
pub(crate) async fn page(
    State(state): State<AppState>,
    s: Session,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let t = s.tr();
    let (q, sort, offset) = params(&raw);
    let mut f = frame(&state, &s, "search").await?;
    f.q = q.clone();
    let mut page = SearchPage {
        f,
        q: q.clone(),
        sort: sort_name(sort),
        error: None,
        notice: None,
        total: String::new(),
        capped: false,
        lag: 0,
        rows: Vec::new(),
        statuses: Vec::new(),
        teams: Vec::new(),
        prev: None,
        next: None,
    };
    if q.trim().is_empty() {
        return Ok(render(&page));
    }
    let req = Request {
        q: q.clone(),
        sort,
        limit: PAGE,
        offset,
        facets: true,
    };
    let viewer = Viewer::Agent(s.auth.agent.clone());
    match run(&state, &viewer, &req).await {
        Err(e) if e.status().is_client_error() => {
            page.error = Some(e.detail().to_owned());
        }
        Err(e) => return Err(e.into()),
        Ok(res) => {
            let now = state.store().now();
            page.total = count(&t, res.total, res.total_capped);
            page.capped = res.total_capped;
            page.lag = res.lag;
            page.notice = res.notice.map(|_| t.s("search-nothing-searchable"));
            let more = res.hits.len() == PAGE && offset + PAGE <= 1000;
            page.rows = rows(&t, &s, res.hits, now);
            page.statuses = res
                .by_status
                .iter()
                .filter_map(|c| {
                    let value = c.value.as_deref()?;
                    let st = anliegen_core::CaseStatus::parse(value).ok()?;
                    let (nq, active) = toggle(&q, &format!("status:{value}"));
                    Some(FacetLink {
                        label: t.status(st),
                        count: count(&t, c.count, false),
                        href: link(&nq, sort, 0),
                        active,
                    })
                })
                .collect();
            page.teams = res
                .by_team
                .iter()
                .map(|c| {
                    let name = c.label.clone().unwrap_or_default();
                    let filter = match &c.value {
                        None => "team:none".to_owned(),
                        Some(_) if name.contains(char::is_whitespace) => {
                            format!("team:\"{name}\"")
                        }
                        Some(_) => format!("team:{name}"),
                    };
                    let (nq, active) = toggle(&q, &filter);
                    FacetLink {
                        label: if c.value.is_none() {
                            t.s("search-no-team")
                        } else {
                            name
                        },
                        count: count(&t, c.count, false),
                        href: link(&nq, sort, 0),
                        active,
                    }
                })
                .collect();
            page.prev = (offset > 0).then(|| link(&q, sort, offset.saturating_sub(PAGE)));
            page.next = more.then(|| link(&q, sort, offset + PAGE));
        }
    }
    Ok(render(&page))
}

/// Results as you type: an HTML fragment of the best few.
pub(crate) async fn suggest(
    State(state): State<AppState>,
    s: Session,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let t = s.tr();
    let (q, _, _) = params(&raw);
    let mut out = Suggest {
        t,
        q: q.clone(),
        rows: Vec::new(),
        error: None,
    };
    if q.trim().chars().count() >= 2 {
        // The word being typed counts as a prefix.
        let typed = if q.ends_with(char::is_alphanumeric)
            && q.split_whitespace()
                .last()
                .is_some_and(|w| w.chars().count() >= 2 && !w.contains(':') && !w.contains('"'))
            && q.matches('"').count() % 2 == 0
        {
            format!("{q}*")
        } else {
            q.clone()
        };
        let req = Request {
            q: typed,
            sort: Sort::Relevance,
            limit: 8,
            offset: 0,
            facets: false,
        };
        let viewer = Viewer::Agent(s.auth.agent.clone());
        match run(&state, &viewer, &req).await {
            Ok(res) => out.rows = rows(&t, &s, res.hits, state.store().now()),
            Err(e) if e.status().is_client_error() => out.error = Some(e.detail().to_owned()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render(&out).into_response())
}
