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
