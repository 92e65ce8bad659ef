//! Administration of business calendars: each team's time zone, opening hours per weekday
//! (several ranges for breaks), whose public holidays count, extra closed days and closures;
//! the page lists the coming closed days so the admin sees what the calendar means. SLA due
//! times follow a change within seconds.

use anliegen_core::TeamId;
use anliegen_core::calendar::{BusinessCalendar, CalendarSpec, Closure, Day, ExtraDay, Opening};
use anliegen_core::holiday::{GERMAN_STATES, Region};
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::{Fields, admin_only, unprocessable};
use super::queue::Choice;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;

const DAYS: [Day; 7] = [
    Day::Monday,
    Day::Tuesday,
    Day::Wednesday,
    Day::Thursday,
    Day::Friday,
    Day::Saturday,
    Day::Sunday,
];

fn day_key(d: Day) -> &'static str {
    match d {
        Day::Monday => "monday",
        Day::Tuesday => "tuesday",
        Day::Wednesday => "wednesday",
        Day::Thursday => "thursday",
        Day::Friday => "friday",
        Day::Saturday => "saturday",
        Day::Sunday => "sunday",
    }
}

struct TeamRow {
    id: String,
    name: String,
    summary: String,
}

struct DayRow {
    key: &'static str,
    label: String,
    hours: String,
}

#[derive(Template)]
#[template(path = "admin_calendars.html")]
struct CalendarsPage {
    f: Frame,
    teams: Vec<TeamRow>,
    /// The team being edited: (id, name).
    team: Option<(String, String)>,
    error: Option<String>,
    time_zone: String,
    regions: Vec<Choice>,
    days: Vec<DayRow>,
    extra_days: String,
    closures: String,
    /// The coming closed days (date, name).
    coming: Vec<(String, String)>,
}

fn hhmm(t: jiff::civil::Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `08:00–12:00, 13:00–18:00` of one weekday.
fn hours_of(spec: &CalendarSpec, day: Day) -> String {
    spec.hours
        .iter()
        .filter(|o| o.day == day)
        .map(|o| format!("{}–{}", hhmm(o.from), hhmm(o.to)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_time(raw: &str) -> Option<jiff::civil::Time> {
    let raw = raw.trim().trim_end_matches("Uhr").trim();
    let (h, m) = raw.split_once(':').unwrap_or((raw, "0"));
    let (h, m): (i8, i8) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    if h == 24 && m == 0 {
        return Some(jiff::civil::Time::MAX);
    }
    jiff::civil::Time::new(h, m, 0, 0).ok()
}

fn parse_hours(day: Day, raw: &str, label: &str) -> Result<Vec<Opening>, String> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (a, b) = r
                .split_once(['–', '-'])
                .ok_or_else(|| format!("{label}: „{r}“ ist keine Zeitspanne wie 08:00–12:00"))?;
            let (from, to) = (parse_time(a), parse_time(b));
            match (from, to) {
                (Some(from), Some(to)) => Ok(Opening { day, from, to }),
                _ => Err(format!(
                    "{label}: „{r}“ ist keine Zeitspanne wie 08:00–12:00"
                )),
            }
        })
        .collect()
}

fn spec_of(f: &Fields, t: &super::i18n::Tr) -> Result<CalendarSpec, String> {
    let mut hours = Vec::new();
    for d in DAYS {
        hours.extend(parse_hours(
            d,
            &f.get(day_key(d)),
            &t.s(&format!("day-{}", day_key(d))),
        )?);
    }
    let region = match f.get("region").trim() {
        "" => None,
        r => Some(Region::parse(r).map_err(|e| e.message)?.code().to_owned()),
    };
    let mut extra_days = Vec::new();
    for line in f
        .get("extra_days")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (date, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let date = date
            .parse::<jiff::civil::Date>()
            .map_err(|_| format!("„{line}“: bitte als „2026-12-24 Heiligabend“"))?;
        extra_days.push(ExtraDay {
            date,
            name: name.trim().to_owned(),
        });
    }
    let time_zone = f.get("time_zone").trim().to_owned();
    let tz = jiff::tz::TimeZone::get(&time_zone)
        .map_err(|_| format!("„{time_zone}“ ist keine Zeitzone (z. B. Europe/Berlin)"))?;
    let mut closures = Vec::new();
    for line in f
        .get("closures")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        // `2026-12-27 08:00 – 2026-12-31 18:00 Inventur`
        let bad = || format!("„{line}“: bitte als „2026-12-27 08:00 – 2026-12-31 18:00 Inventur“");
        let (a, rest) = line
            .split_once(['–'])
            .or_else(|| line.split_once(" - "))
            .ok_or_else(bad)?;
        let rest = rest.trim();
        let mut parts = rest.splitn(3, char::is_whitespace);
        let (d, time) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let reason = parts.next().unwrap_or("").trim().to_owned();
        let at = |s: &str| -> Option<jiff::Timestamp> {
            let dt: jiff::civil::DateTime = s.trim().replace(' ', "T").parse().ok()?;
            dt.to_zoned_datetime(tz.clone()).ok().map(|z| z.timestamp())
        };
        let from = at(a).ok_or_else(bad)?;
        let to = at(&format!("{d} {time}")).ok_or_else(bad)?;
        closures.push(Closure { from, to, reason });
    }
    let spec = CalendarSpec {
        time_zone,
        hours,
        region,
        extra_days,
        closures,
    };
    BusinessCalendar::new(&spec).map_err(|e| e.message)?;
    Ok(spec)
}

fn closures_text(spec: &CalendarSpec) -> String {
    let tz = jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    spec.closures
        .iter()
        .map(|c| {
            let f = |t: jiff::Timestamp| {
                t.to_zoned_datetime(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            };
            format!("{} – {} {}", f(c.from), f(c.to), c.reason)
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn summary(spec: &CalendarSpec, t: &super::i18n::Tr) -> String {
    let days: Vec<String> = DAYS
        .iter()
        .filter(|d| spec.hours.iter().any(|o| o.day == **d))
        .map(|d| {
            format!(
                "{} {}",
                t.s(&format!("day-{}-short", day_key(*d))),
                hours_of(spec, *d)
            )
        })
        .collect();
    let mut s = days.join(" · ");
    if let Some(r) = &spec.region {
        s.push_str(&format!(" · {}: {r}", t.s("cal-holidays")));
    }
    s
}

async fn page(
    state: &AppState,
    s: &Session,
    team: Option<TeamId>,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let teams = state.store().teams().await?;
    let mut rows = Vec::with_capacity(teams.len());
    for tm in &teams {
        let spec = anliegen_store::sla::team_calendar_spec(state.store(), tm.id).await?;
        rows.push(TeamRow {
            id: tm.id.to_string(),
            name: tm.name.clone(),
            summary: summary(&spec, &t),
        });
    }
    let editing = team.and_then(|id| teams.iter().find(|x| x.id == id));
    let spec = match editing {
        Some(tm) => anliegen_store::sla::team_calendar_spec(state.store(), tm.id).await?,
        None => CalendarSpec::office(None),
    };
    let get = |key: &str, from: String| form.map_or(from, |f| f.get(key));
    let region = get("region", spec.region.clone().unwrap_or_default());
    let mut regions = vec![Choice {
        value: String::new(),
        label: t.s("cal-no-holidays"),
        selected: region.is_empty(),
    }];
    regions.push(Choice {
        value: "DE".into(),
        label: t.s("cal-de-nationwide"),
        selected: region == "DE",
    });
    regions.extend(GERMAN_STATES.iter().map(|(code, name)| Choice {
        value: format!("DE-{code}"),
        label: (*name).to_owned(),
        selected: region == format!("DE-{code}"),
    }));
    regions.push(Choice {
        value: "AT".into(),
        label: t.s("cal-austria"),
        selected: region == "AT",
    });
    // The coming closed days of the stored calendar (weekends without opening hours aside).
    let mut coming = Vec::new();
    if editing.is_some()
        && let Ok(cal) = BusinessCalendar::new(&spec)
    {
        let today = state
            .store()
            .now()
            .to_zoned_datetime(cal.time_zone().clone())
            .date();
        for year in [today.year(), today.year() + 1] {
            for (date, name) in cal.closed_days(year) {
                if date >= today && coming.len() < 12 {
                    coming.push((date.strftime("%d.%m.%Y").to_string(), name));
                }
            }
        }
    }
    let f = frame(state, s, "").await?;
    Ok(render(&CalendarsPage {
        f,
        teams: rows,
        team: editing.map(|tm| (tm.id.to_string(), tm.name.clone())),
        error,
        time_zone: get("time_zone", spec.time_zone.clone()),
        regions,
        days: DAYS
            .iter()
            .map(|d| DayRow {
                key: day_key(*d),
                label: t.s(&format!("day-{}", day_key(*d))),
                hours: get(day_key(*d), hours_of(&spec, *d)),
            })
            .collect(),
        extra_days: get(
            "extra_days",
            spec.extra_days
                .iter()
                .map(|e| format!("{} {}", e.date, e.name).trim_end().to_owned())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        closures: get("closures", closures_text(&spec)),
        coming,
    }))
}

/// The teams and their calendars.
pub(crate) async fn list(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    page(&state, &s, None, None, None).await
}

fn team_id(raw: &str) -> Result<TeamId, UiError> {
    uuid::Uuid::parse_str(raw)
        .map(TeamId)
        .map_err(|_| UiError::not_found())
}

/// One team's calendar in the form.
pub(crate) async fn edit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = team_id(&id)?;
    state
        .store()
        .team(id)
        .await?
        .ok_or_else(UiError::not_found)?;
    page(&state, &s, Some(id), None, None).await
}

/// Saves a team's calendar (checked first: a calendar without opening hours, overlapping
/// ranges or closures are refused with the reason).
pub(crate) async fn save(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let id = team_id(&id)?;
    state
        .store()
        .team(id)
        .await?
        .ok_or_else(UiError::not_found)?;
    let spec = match spec_of(&f, &s.tr()) {
        Ok(spec) => spec,
        Err(e) => {
            return Ok(unprocessable(
                page(&state, &s, Some(id), Some(&f), Some(e)).await?,
            ));
        }
    };
    state
        .store()
        .exec(
            s.auth.actor(),
            anliegen_store::Command::SetSetting {
                key: anliegen_store::sla::team_calendar_key(id),
                value: serde_json::to_value(&spec).unwrap_or_default(),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/calendars/{id}")).into_response())
}
