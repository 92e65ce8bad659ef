//! Promises (issue 7, item 3): recorded with an owner and a due time, shown as the customer reads
//! it, a reminder before, overdue → escalation and the supervisors told, kept on time or late,
//! cancelled with a reason, and the "kept on time %" per agent and team.

use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_promise_reminds_goes_overdue_escalates_and_is_kept_late() {
    // Tuesday 1 December 2026, 9:00 in Berlin.
    let clock = Arc::new(ManualClock::new(
        "2026-12-01T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    let (s, team) = app.post("/api/v1/teams", json!({"name": "Verlage"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, agent) = app
        .post("/api/v1/agents", json!({"email": "jana@shop.example", "name": "Jana Becker", "role": "agent", "password": "ein-gutes-passwort", "teams": [team["id"]]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    let case = app
        .open_case(
            "verlag@example.de",
            "Unsere Titel werden als nicht lieferbar angezeigt.",
        )
        .await;
    let id = case["id"].as_str().expect("id").to_owned();

    // Promises in the past, without words or for nobody are refused.
    for bad in [
        json!({"what": "Rückruf", "due_at": "2026-11-30T10:00:00+01:00"}),
        json!({"what": "  ", "due_at": "2026-12-04T14:00:00+01:00"}),
        json!({"what": "Rückruf", "due_at": "Freitag"}),
        json!({"what": "Rückruf", "due_at": "2026-12-04T14:00:00+01:00", "owner_id": uuid::Uuid::new_v4()}),
    ] {
        let (s, v) = app
            .post(&format!("/api/v1/cases/{id}/promises"), bad.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    // Jana promises a call-back by Friday 14:00.
    let (s, p) = app
        .post(
            &format!("/api/v1/cases/{id}/promises"),
            json!({"what": "Rückruf mit dem Ergebnis der Prüfung", "due_at": "2026-12-04T14:00:00+01:00", "owner_id": agent["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["due_for_customer"], "bis Freitag, 14:00 Uhr");
    assert_eq!(p["status"], "open");
    let pid = p["id"].as_str().expect("id").to_owned();
    // A second one, kept on time.
    let (_, p2) = app
        .post(&format!("/api/v1/cases/{id}/promises"), json!({"what": "Gutschein per Mail", "due_at": "2026-12-02T12:00:00+01:00", "owner_id": agent["id"]}))
        .await;
    let (s, kept) = app
        .post(
            &format!("/api/v1/promises/{}/keep", p2["id"].as_str().unwrap_or("")),
            json!({"note": "Gutschein GS-2026-118 geschickt"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{kept}");
    assert_eq!(kept["on_time"], true);
    let (s, _) = app
        .post(
            &format!("/api/v1/promises/{}/keep", p2["id"].as_str().unwrap_or("")),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "kept twice");

    // Friday 13:01: the owner is reminded.
    clock.set("2026-12-04T12:01:00Z".parse().expect("time"));
    app.until_event(&id, "promise_due_soon").await;
    let jana = anliegen_core::AgentId(
        agent["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("uuid"),
    );
    for _ in 0..100 {
        if app
            .store()
            .notifications(jana, 10)
            .await
            .expect("notifications")
            .iter()
            .any(|n| n.kind == "reminder")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.store()
            .notifications(jana, 10)
            .await
            .expect("n")
            .iter()
            .any(|n| n.kind == "reminder" && n.excerpt.contains("Rückruf"))
    );
    // Friday 14:01, still open: overdue, the case escalates, supervisors hear.
    clock.set("2026-12-04T13:01:00Z".parse().expect("time"));
    app.until_event(&id, "promise_overdue").await;
    app.until_event(&id, "case_escalated").await;
    let (_, c) = app.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(c["case"]["escalation_level"], 1, "{c}");
    let handoff = c["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .filter_map(|x| x["text"].as_str())
        .find(|t| t.starts_with("Übergabe"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        handoff
            .contains("Rückruf mit dem Ergebnis der Prüfung bis Freitag, 14:00 Uhr (überfällig)"),
        "the hand-off names the promise: {handoff}"
    );
    let (_, list) = app.get(&format!("/api/v1/cases/{id}/promises")).await;
    let open: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["status"] == "open")
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["overdue"], true);
    // The overdue check running again changes nothing.
    app.store()
        .exec(
            anliegen_core::Actor::System,
            anliegen_store::Command::PromiseDue {
                id: pid.parse().expect("id"),
                overdue: true,
            },
        )
        .await
        .expect("idempotent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.event_types(&id)
            .await
            .iter()
            .filter(|k| *k == "promise_overdue")
            .count(),
        1
    );
    assert_eq!(
        app.event_types(&id)
            .await
            .iter()
            .filter(|k| *k == "case_escalated")
            .count(),
        1
    );
    // Kept late, recorded as such.
    clock.set("2026-12-04T15:30:00Z".parse().expect("time"));
    let (s, late) = app
        .post(
            &format!("/api/v1/promises/{pid}/keep"),
            json!({"note": "Angerufen, Titel sind wieder lieferbar"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{late}");
    assert_eq!(late["on_time"], false);
    // Cancelling needs a reason.
    let (_, p3) = app
        .post(
            &format!("/api/v1/cases/{id}/promises"),
            json!({"what": "Ersatzlieferung", "due_at": "2026-12-10T12:00:00+01:00"}),
        )
        .await;
    let p3 = p3["id"].as_str().expect("id").to_owned();
    let (s, _) = app
        .post(&format!("/api/v1/promises/{p3}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, c3) = app
        .post(
            &format!("/api/v1/promises/{p3}/cancel"),
            json!({"note": "Kundin möchte stattdessen erstattet werden"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c3["status"], "cancelled");
    // Kept on time: one of two that came due → 50 %, for Jana and her team.
    let (s, stats) = app.get("/api/v1/promises/stats").await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let row = stats["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|r| r["name"] == "Jana Becker")
        .cloned()
        .expect("jana");
    assert_eq!(
        (row["kept_on_time"].as_i64(), row["kept_late"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(row["kept_on_time_percent"], 50.0);
    let team_row = stats["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .find(|r| r["name"] == "Verlage")
        .cloned()
        .expect("team");
    assert_eq!(team_row["kept_on_time_percent"], 50.0);
    // Agents do not see the league table.
    let (_, agent_token) = app
        .agent_token("ben@shop.example", "agent", &["read", "write"])
        .await;
    let (s, _, _) = app
        .req_as(
            &agent_token,
            reqwest::Method::GET,
            "/api/v1/promises/stats",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn promise_jobs_survive_a_restart() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-01T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    let case = app
        .open_case("kunde@example.de", "Wo bleibt mein Paket?")
        .await;
    let id = case["id"].as_str().expect("id").to_owned();
    let (s, _) = app.post(&format!("/api/v1/cases/{id}/promises"), json!({"what": "Nachforschungsauftrag beim Versand", "due_at": "2026-12-02T10:00:00+01:00"})).await;
    assert_eq!(s, StatusCode::CREATED);
    // The node stops; the due time passes while it is down; after the restart the job runs.
    app.stop().await;
    clock.set("2026-12-02T12:00:00Z".parse().expect("time"));
    let settings = app.settings.clone();
    let running = anliegen::start(
        &settings,
        anliegen::server::StartOptions {
            poll: Duration::from_millis(50),
            clock: Some(clock.clone() as Arc<dyn Clock>),
            ..Default::default()
        },
    )
    .await
    .expect("restart");
    app.url = running.url();
    app.running = Some(running);
    app.until_event(&id, "promise_overdue").await;
    app.until_event(&id, "case_escalated").await;
}

#[tokio::test]
async fn the_customer_reads_open_promises_in_our_replies() {
    use crate::mail::{Sink, send, skip};
    if skip() {
        return;
    }
    let sink = Sink::start();
    let app = crate::mail::mail_app(&sink).await;
    let mail = "From: Petra Hoffmann <verlag@example.de>\nTo: service@shop.example\nSubject: Titel nicht lieferbar\nMessage-ID: <verlag-1@example.de>\nContent-Type: text/plain; charset=utf-8\n\nGuten Tag, unsere Titel werden als nicht lieferbar angezeigt.\n";
    assert_eq!(send(&app, "service@shop.example", mail).await, "250");
    let _ack = sink.wait_for(1).await;
    let (_, cases) = app.get("/api/v1/cases").await;
    let id = cases["items"][0]["id"]
        .as_str()
        .or_else(|| cases[0]["id"].as_str())
        .expect("case")
        .to_owned();
    let due = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(50)).to_string();
    let (s, p) = app
        .post(
            &format!("/api/v1/cases/{id}/promises"),
            json!({"what": "Rückruf mit dem Ergebnis der Prüfung", "due_at": due}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let phrase = p["due_for_customer"].as_str().expect("phrase").to_owned();
    assert!(phrase.starts_with("bis "), "{phrase}");
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "reply", "text": "Wir prüfen das mit dem Lager."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let reply = sink.wait_for(2).await;
    let body = anliegen_mail::parse::parse(reply.as_bytes(), &Default::default()).text;
    assert!(body.contains("Unsere offenen Zusagen an Sie:"), "{body}");
    assert!(
        body.contains(&format!(
            "– Rückruf mit dem Ergebnis der Prüfung – {phrase}"
        )),
        "{body}"
    );
}

#[tokio::test]
async fn a_callback_request_becomes_a_case_with_a_promise_and_the_list_is_ordered_by_window() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-01T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    // Bad windows are refused.
    for (bad, field) in [
        (
            json!({"phone": "0171 1234567", "concern": "Rechnung", "window_from": "2026-12-02T10:00:00+01:00", "window_to": "2026-12-02T09:00:00+01:00"}),
            "window_to",
        ),
        (
            json!({"phone": "0171 1234567", "concern": "Rechnung", "window_from": "2026-11-20T10:00:00+01:00", "window_to": "2026-11-20T12:00:00+01:00"}),
            "window_to",
        ),
        (
            json!({"phone": "keine Nummer", "concern": "Rechnung", "window_from": "2026-12-02T10:00:00+01:00", "window_to": "2026-12-02T12:00:00+01:00"}),
            "phone",
        ),
        (
            json!({"phone": "0171 1234567", "concern": " ", "window_from": "2026-12-02T10:00:00+01:00", "window_to": "2026-12-02T12:00:00+01:00"}),
            "concern",
        ),
    ] {
        let (s, v) = app.post("/api/v1/callbacks", bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    // Two requests; the later window is asked for first.
    let (s, late) = app
        .post("/api/v1/callbacks", json!({"phone": "030 1234567", "concern": "Frage zur Rechnung 4711", "window_from": "2026-12-03T14:00:00+01:00", "window_to": "2026-12-03T16:00:00+01:00"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{late}");
    let (s, early) = app
        .post("/api/v1/callbacks", json!({"phone": "+49 171 7654321", "concern": "Sofa nur halb geliefert", "window_from": "2026-12-02T09:00:00+01:00", "window_to": "2026-12-02T11:00:00+01:00"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{early}");
    assert_eq!(early["promise"]["kind"], "callback");
    assert_eq!(early["promise"]["phone"], "+491717654321");
    assert_eq!(
        early["promise"]["due_for_customer"],
        "bis Mittwoch, 11:00 Uhr"
    );
    let (_, case) = app
        .get(&format!(
            "/api/v1/cases/{}",
            early["reference"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(case["case"]["channel"], "phone");
    assert!(
        case["case"]["subject"]
            .as_str()
            .unwrap_or("")
            .starts_with("Rückrufbitte: Sofa")
    );
    assert!(
        case["contacts"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("zwischen 02.12.2026 09:00 und 02.12.2026 11:00")
    );
    let (_, list) = app.get("/api/v1/callbacks").await;
    let refs: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["reference"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        refs,
        vec![
            early["reference"].as_str().unwrap_or(""),
            late["reference"].as_str().unwrap_or("")
        ]
    );
    // Calling back keeps the promise and takes it off the list.
    let (s, _) = app
        .post(
            &format!(
                "/api/v1/promises/{}/keep",
                early["promise"]["id"].as_str().unwrap_or("")
            ),
            json!({"note": "Angerufen, Ersatzkarton kommt Freitag"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app.get("/api/v1/callbacks").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // A missed window escalates like any overdue promise.
    clock.set("2026-12-03T15:30:00Z".parse().expect("time"));
    app.until_event(late["case_id"].as_str().unwrap_or(""), "promise_overdue")
        .await;
}

/// Two nodes on one PostgreSQL database: each promise moment fires once (one reminder, one
/// overdue mark, one escalation), whichever node claims it.
#[tokio::test]
async fn two_nodes_fire_each_promise_moment_once() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-01T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    if app.settings.database_url.is_none() {
        eprintln!(
            "two_nodes_fire_each_promise_moment_once runs on PostgreSQL only (nodes share a database there)"
        );
        return;
    }
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    let mut second = app.settings.clone();
    second.listen = "127.0.0.1:0".parse().expect("addr");
    second.data_dir = second.data_dir.with_file_name("data-node-2");
    let other = anliegen::start(
        &second,
        anliegen::server::StartOptions {
            poll: Duration::from_millis(20),
            clock: Some(clock.clone() as Arc<dyn Clock>),
            ..Default::default()
        },
    )
    .await
    .expect("second node");
    let mut ids = Vec::new();
    for n in 0..10 {
        let case = app
            .open_case(&format!("kunde{n}@example.de"), "Bitte um Rückruf")
            .await;
        let id = case["id"].as_str().expect("id").to_owned();
        let (s, _) = app
            .post(
                &format!("/api/v1/cases/{id}/promises"),
                json!({"what": format!("Rückruf {n}"), "due_at": "2026-12-01T12:00:00+01:00"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(id);
    }
    clock.set("2026-12-01T11:30:00Z".parse().expect("time"));
    for id in &ids {
        app.until_event(id, "case_escalated").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let kinds = app.event_types(id).await;
        for k in ["promise_due_soon", "promise_overdue", "case_escalated"] {
            assert_eq!(
                kinds.iter().filter(|x| *x == k).count(),
                1,
                "{k} on {id}: {kinds:?}"
            );
        }
    }
    other.stop().await;
}

/// Two nodes on one PostgreSQL database both follow the log: words of anger escalate each case
/// once, not once per node.
#[tokio::test]
async fn two_nodes_escalate_each_angry_case_once() {
    let mut app = TestApp::spawn().await;
    if app.settings.database_url.is_none() {
        eprintln!(
            "two_nodes_escalate_each_angry_case_once runs on PostgreSQL only (nodes share a database there)"
        );
        return;
    }
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    let mut second = app.settings.clone();
    second.listen = "127.0.0.1:0".parse().expect("addr");
    second.data_dir = second.data_dir.with_file_name("data-node-2");
    let other = anliegen::start(
        &second,
        anliegen::server::StartOptions {
            poll: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .await
    .expect("second node");
    let mut ids = Vec::new();
    for n in 0..8 {
        let case = app
            .open_case(
                &format!("wuetend{n}@example.de"),
                "Das ist eine Frechheit, ich schalte jetzt meinen Anwalt ein!",
            )
            .await;
        ids.push(case["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        app.until_event(id, "case_escalated").await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    for id in &ids {
        let kinds = app.event_types(id).await;
        assert_eq!(
            kinds.iter().filter(|x| *x == "case_escalated").count(),
            1,
            "{id}: {kinds:?}"
        );
    }
    other.stop().await;
}

/// Item 4: phone contacts are logged through the API with who, when, how long and the number;
/// bad calls are refused with the field.
#[tokio::test]
async fn phone_calls_are_logged_with_their_duration() {
    let app = TestApp::spawn().await;
    let (s, case) = app
        .post("/api/v1/cases", json!({"customer": {"phone": "0171 2345678"}, "subject": "Anruf", "contact": {"channel": "phone", "text": "Kunde fragt nach dem Liefertermin.", "call": {"duration_seconds": 754, "number": "0171 2345678"}}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().expect("id").to_owned();
    let (_, d) = app.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d["contacts"][0]["call"]["duration_seconds"], 754);
    assert_eq!(d["contacts"][0]["call"]["number"], "+491712345678");
    let started = d["contacts"][0]["call"]["started_at"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(!started.is_empty());
    let earlier = (app.store().now() - jiff::SignedDuration::from_mins(30)).to_string();
    let (s, v) = app
        .post(&format!("/api/v1/cases/{id}/contacts"), json!({"kind": "reply", "channel": "phone", "text": "Rückruf: Liefertermin Freitag.", "call": {"started_at": earlier, "duration_seconds": 120}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["contact"]["call"]["started_at"], earlier);
    let later = (app.store().now() + jiff::SignedDuration::from_mins(30)).to_string();
    for (body, field) in [
        (
            json!({"kind": "reply", "channel": "email", "text": "x", "call": {"duration_seconds": 60}}),
            "call",
        ),
        (
            json!({"kind": "customer", "channel": "phone", "text": "x", "call": {"duration_seconds": 0}}),
            "call.duration_seconds",
        ),
        (
            json!({"kind": "customer", "channel": "phone", "text": "x", "call": {"duration_seconds": 90000}}),
            "call.duration_seconds",
        ),
        (
            json!({"kind": "customer", "channel": "phone", "text": "x", "call": {"duration_seconds": 60, "started_at": later}}),
            "call.started_at",
        ),
        (
            json!({"kind": "customer", "channel": "phone", "text": "x", "call": {"duration_seconds": 60, "number": "keine"}}),
            "call.number",
        ),
    ] {
        let (s, v) = app
            .post(&format!("/api/v1/cases/{id}/contacts"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
}
