//! Business calendars (issue 7, item 1): public holidays through the real binary and the API.

use reqwest::{Method, StatusCode};

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_anliegen");

fn holidays(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .arg("holidays")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_holidays_command_prints_one_line_per_holiday_of_the_whole_state() {
    let (ok, out, err) = holidays(&["--region", "DE-BY", "--year", "2028"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "2028-01-01 Neujahr\n2028-01-06 Heilige Drei Könige\n2028-04-14 Karfreitag\n2028-04-17 Ostermontag\n\
         2028-05-01 Erster Mai\n2028-05-25 Christi Himmelfahrt\n2028-06-05 Pfingstmontag\n2028-06-15 Fronleichnam\n\
         2028-10-03 Tag der Deutschen Einheit\n2028-11-01 Allerheiligen\n2028-12-25 Erster Weihnachtstag\n\
         2028-12-26 Zweiter Weihnachtstag\n"
    );
    // Brandenburg's Easter and Whit Sundays are listed; English names on request.
    let (ok, out, _) = holidays(&["--region", "DE-BB", "--year", "2028", "--lang", "en"]);
    assert!(ok);
    assert!(out.contains("2028-04-16 Easter Sunday\n"), "{out}");
    assert!(out.contains("2028-06-04 Whit Sunday\n"), "{out}");
    assert!(out.contains("2028-10-31 Reformation Day\n"), "{out}");
    // Berlin: Frauentag since 2019, and the one-off 8 May 2025.
    let (_, out, _) = holidays(&["--region", "DE-BE", "--year", "2025"]);
    assert!(out.contains("2025-03-08 Frauentag\n"));
    assert!(out.contains("2025-05-08 80. Jahrestag der Befreiung"));
    let (_, out, _) = holidays(&["--region", "DE-BE", "--year", "2026"]);
    assert!(!out.contains("05-08"));
    // Every line of the shared table's format: `BY` means `DE-BY`.
    let (ok, by, _) = holidays(&["--region", "BY", "--year", "2028"]);
    assert!(ok);
    assert_eq!(by.lines().count(), 12);
    // Bad input is explained, not a panic.
    let (ok, _, err) = holidays(&["--region", "DE-XX", "--year", "2028"]);
    assert!(!ok);
    assert!(err.contains("not a region we know"), "{err}");
    let (ok, _, err) = holidays(&["--region", "DE-BY", "--year", "1800"]);
    assert!(!ok);
    assert!(err.contains("1991"), "{err}");
}

#[tokio::test]
async fn the_api_offers_the_same_table() {
    let app = TestApp::spawn().await;
    let (s, v) = app.get("/api/v1/holidays?region=DE-BE&year=2025").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let days: Vec<(String, String)> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|h| {
            (
                h["date"].as_str().unwrap_or("").to_owned(),
                h["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        days.iter()
            .any(|(d, n)| d == "2025-05-08" && n.starts_with("80. Jahrestag"))
    );
    assert!(
        days.iter()
            .any(|(d, n)| d == "2025-03-08" && n == "Frauentag")
    );
    assert_eq!(days.len(), 11);
    let (s, v) = app
        .get("/api/v1/holidays?region=AT&year=2028&lang=en")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_array().is_some_and(|a| {
        a.iter()
            .any(|h| h["name"] == "National Day" && h["date"] == "2028-10-26")
    }));
    for bad in [
        "region=DE-XX&year=2025",
        "region=DE-BY&year=1800",
        "region=DE-BY&year=abc",
        "region=DE-BY&year=2025&lang=fr",
        "region=DE-BY",
    ] {
        let (s, _) = app.get(&format!("/api/v1/holidays?{bad}")).await;
        assert!(s.is_client_error(), "{bad}: {s}");
    }
    let (s, _, _) = app
        .req_as(
            "anl_wrong",
            Method::GET,
            "/api/v1/holidays?region=DE-BY&year=2025",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_team_calendar_is_checked_stored_and_counts_business_time() {
    use serde_json::json;
    let app = TestApp::spawn().await;
    let (_, team) = app.post("/api/v1/teams", json!({"name": "Verlage"})).await;
    let id = team["id"].as_str().expect("id").to_owned();
    // Until one is set: Monday to Friday 8–18 in Berlin.
    let (s, v) = app.get(&format!("/api/v1/teams/{id}/calendar")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["time_zone"], "Europe/Berlin");
    assert_eq!(v["hours"].as_array().map(Vec::len), Some(5));
    let days = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    let hours: Vec<_> = days
        .iter()
        .flat_map(|d| {
            [
                json!({"day": d, "from": "09:00", "to": "12:00"}),
                json!({"day": d, "from": "13:00", "to": "17:00"}),
            ]
        })
        .collect();
    let cal = json!({"time_zone": "Europe/Berlin", "hours": hours, "region": "DE-BY",
        "extra_days": [{"date": "2026-12-31", "name": "Silvester (Betriebsruhe)"}],
        "closures": [{"from": "2026-12-21T09:00:00+01:00", "to": "2026-12-21T12:00:00+01:00", "reason": "Betriebsversammlung"}]});
    let (s, _, v) = app
        .req(
            Method::PUT,
            &format!("/api/v1/teams/{id}/calendar"),
            Some(cal.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get(&format!("/api/v1/teams/{id}/calendar")).await;
    assert_eq!(v["region"], "DE-BY");
    let due = |from: &str, minutes: i64| {
        let path = format!(
            "/api/v1/teams/{id}/calendar/due?from={}&minutes={minutes}",
            from.replace('+', "%2B")
        );
        let app = &app;
        async move {
            let (s, v) = app.get(&path).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["due_local"].as_str().unwrap_or_default().to_owned()
        }
    };
    // Christmas Eve 16:00 + 2 h: one hour that day, then the holidays and the weekend.
    assert_eq!(
        due("2026-12-24T16:00:00+01:00", 120).await,
        "2026-12-28T10:00:00+01:00[Europe/Berlin]"
    );
    // The lunch break does not count.
    assert_eq!(
        due("2026-12-01T11:00:00+01:00", 120).await,
        "2026-12-01T14:00:00+01:00[Europe/Berlin]"
    );
    // The closure on 21 December morning does not count.
    assert_eq!(
        due("2026-12-21T08:00:00+01:00", 60).await,
        "2026-12-21T14:00:00+01:00[Europe/Berlin]"
    );
    // The company's extra day: 30 Dec 16:00 + 2 h → 4 January (1 Jan holiday, weekend).
    assert_eq!(
        due("2026-12-30T16:00:00+01:00", 120).await,
        "2027-01-04T10:00:00+01:00[Europe/Berlin]"
    );
    // Good Friday and Easter Monday 2027 (26 and 29 March) around the switch to summer time.
    assert_eq!(
        due("2027-03-25T16:00:00+01:00", 120).await,
        "2027-03-30T10:00:00+02:00[Europe/Berlin]"
    );
    // Across the switch to summer time (Sunday 26 March 2028).
    assert_eq!(
        due("2028-03-24T16:00:00+01:00", 120).await,
        "2028-03-27T10:00:00+02:00[Europe/Berlin]"
    );
    // Back in time.
    assert_eq!(
        due("2026-12-28T10:00:00+01:00", -120).await,
        "2026-12-24T16:00:00+01:00[Europe/Berlin]"
    );

    // Bad calendars are refused with the reason; nothing is stored.
    let mut no_hours = cal.clone();
    no_hours["hours"] = json!([]);
    let mut overlapping = cal.clone();
    overlapping["closures"] = json!([
        {"from": "2026-12-21T09:00:00+01:00", "to": "2026-12-21T12:00:00+01:00"},
        {"from": "2026-12-21T11:00:00+01:00", "to": "2026-12-21T15:00:00+01:00"}]);
    let mut backwards = cal.clone();
    backwards["hours"] = json!([{"day": "monday", "from": "17:00", "to": "09:00"}]);
    let mut zone = cal.clone();
    zone["time_zone"] = json!("Europe/Atlantis");
    for (bad, says) in [
        (no_hours, "opening hours"),
        (overlapping, "overlap"),
        (backwards, "after"),
        (zone, "time zone"),
        (json!({"hours": 5}), "not a calendar"),
    ] {
        let (s, _, v) = app
            .req(
                Method::PUT,
                &format!("/api/v1/teams/{id}/calendar"),
                Some(bad),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["detail"].as_str().unwrap_or_default().contains(says),
            "{says}: {v}"
        );
    }
    let (_, v) = app.get(&format!("/api/v1/teams/{id}/calendar")).await;
    assert_eq!(v["region"], "DE-BY", "the good calendar stays");
    // Only admins change calendars.
    let (_, agent) = app
        .agent_token("kalender@shop.example", "supervisor", &["read", "write"])
        .await;
    let (s, _, _) = app
        .req_as(
            &agent,
            Method::PUT,
            &format!("/api/v1/teams/{id}/calendar"),
            Some(cal),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
