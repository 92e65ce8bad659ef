//! SLA policies (issue 7, item 2): chosen by conditions, measured in business time of the
//! team's calendar, paused while waiting on the customer (a third party pauses only the
//! answer), a warning at the configured share, a breach event that escalates — with an
//! injected clock — and due times that follow a policy change.

use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The case's SLA once `ok` holds for it.
async fn sla_until(app: &TestApp, case: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (s, v) = app.get(&format!("/api/v1/cases/{case}/sla")).await;
        if s == StatusCode::OK && ok(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the SLA of {case} never got there: {last}");
}

fn metric<'a>(sla: &'a Value, name: &str) -> &'a Value {
    sla["metrics"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["metric"] == name))
        .unwrap_or(&Value::Null)
}

async fn admin(app: &mut TestApp) -> String {
    let (id, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
    id
}

async fn phone_case(app: &TestApp, email: &str, text: &str) -> String {
    let (s, v) = app
        .post("/api/v1/cases", json!({"customer": {"email": email}, "subject": "Anruf", "contact": {"channel": "phone", "text": text}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn policies_are_validated_and_chosen_by_conditions() {
    let mut app = TestApp::spawn().await;
    admin(&mut app).await;
    let (_, team) = app.post("/api/v1/teams", json!({"name": "Verlage"})).await;
    for (bad, field) in [
        (json!([{"name": "Leer", "targets": {}}]), "targets"),
        (
            json!([{"name": "Null", "targets": {"first_response": 0}}]),
            "targets.first_response",
        ),
        (
            json!([{"name": "Warnung", "targets": {"resolution": 60}, "warn_percent": 100}]),
            "warn_percent",
        ),
        (
            json!([{"name": "Fremd", "conditions": {"teams": [uuid::Uuid::new_v4()]}, "targets": {"resolution": 60}}]),
            "conditions.teams",
        ),
        (
            json!([{"name": "Prio", "conditions": {"priorities": ["sofort"]}, "targets": {"resolution": 60}}]),
            "conditions.priorities",
        ),
        (
            json!([{"name": "A", "targets": {"resolution": 60}}, {"name": "a", "targets": {"resolution": 60}}]),
            "name",
        ),
    ] {
        let (s, _, v) = app
            .req(
                reqwest::Method::PUT,
                "/api/v1/sla/policies",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(
            v["field"].as_str().unwrap_or("").ends_with(field),
            "{bad}: {v}"
        );
    }
    // Urgent cases of the publishers' team first, then everything else.
    let (s, _, saved) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([
                {"name": "Verlage dringend", "conditions": {"priorities": ["urgent", "high"], "teams": [team["id"]]}, "targets": {"first_response": 30, "resolution": 240}},
                {"name": "Standard", "targets": {"first_response": 480, "next_response": 480, "resolution": 2400}}
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    let (_, list) = app.get("/api/v1/sla/policies").await;
    assert_eq!(list[0]["name"], "Verlage dringend");
    assert_eq!(list[1]["warn_percent"], 75);

    let plain = phone_case(&app, "kundin@example.de", "Wo bleibt meine Lieferung?").await;
    let sla = sla_until(&app, &plain, |v| v["policy_name"] == "Standard").await;
    assert_eq!(metric(&sla, "first_response")["target_minutes"], 480);
    let urgent = phone_case(&app, "verlag@example.de", "Alle Titel sind verschwunden!").await;
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{urgent}"),
            json!({"priority": "urgent", "team_id": team["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &urgent, |v| v["policy_name"] == "Verlage dringend").await;
    assert_eq!(metric(&sla, "first_response")["target_minutes"], 30);
    assert_eq!(metric(&sla, "next_response")["state"], Value::Null);
    // The case carries its earliest due time.
    let (_, c) = app.get(&format!("/api/v1/cases/{urgent}")).await;
    assert_eq!(c["case"]["sla_due_at"], sla["next_due_at"], "{c}");
    assert!(c["case"]["sla_due_at"].is_string());
}

#[tokio::test]
async fn the_clock_pauses_warns_breaches_escalates_and_follows_a_new_policy() {
    // Monday 7 December 2026, 9:00 in Berlin; the office calendar (Mon–Fri 8–18).
    let clock = Arc::new(ManualClock::new(
        "2026-12-07T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    let me = admin(&mut app).await;
    let (s, _, v) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([{"name": "Standard", "targets": {"first_response": 60, "next_response": 120, "resolution": 480}, "warn_percent": 50}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = phone_case(
        &app,
        "verlag@example.de",
        "Unsere Titel sind nicht lieferbar.",
    )
    .await;
    let (s, v) = app
        .patch(&format!("/api/v1/cases/{id}"), json!({"assignee_id": me}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &id, |v| v["policy_name"] == "Standard").await;
    let first = metric(&sla, "first_response");
    assert_eq!(first["state"], "running");
    assert_eq!(first["due_at"], "2026-12-07T09:00:00Z");
    assert_eq!(first["warn_at"], "2026-12-07T08:30:00Z");
    assert_eq!(metric(&sla, "resolution")["due_at"], "2026-12-07T16:00:00Z");

    // 9:20: we ask the customer; the clock stops with 40 minutes left.
    clock.set("2026-12-07T08:20:00Z".parse().expect("time"));
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            json!({"status": "waiting_on_customer"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &id, |v| v["paused"] == "customer").await;
    assert_eq!(metric(&sla, "first_response")["state"], "paused");
    assert_eq!(metric(&sla, "first_response")["remaining_seconds"], 2400);
    assert_eq!(metric(&sla, "resolution")["state"], "paused");
    assert!(sla["next_due_at"].is_null());

    // Tuesday 8:00: the customer answers; 40 minutes of the first response are left.
    clock.set("2026-12-08T07:00:00Z".parse().expect("time"));
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "customer", "text": "Hier die ISBN-Liste."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sla = sla_until(&app, &id, |v| v["paused"] == "none").await;
    assert_eq!(
        metric(&sla, "first_response")["due_at"],
        "2026-12-08T07:40:00Z"
    );
    assert!(
        !app.event_types(&id)
            .await
            .contains(&"sla_warning".to_owned())
    );

    // 8:15: half of the hour is used — the assignee is warned, once.
    clock.set("2026-12-08T07:15:00Z".parse().expect("time"));
    app.until_event(&id, "sla_warning").await;
    // 8:41: breached; the breach escalates the case.
    clock.set("2026-12-08T07:41:00Z".parse().expect("time"));
    app.until_event(&id, "sla_breached").await;
    app.until_event(&id, "case_escalated").await;
    let sla = sla_until(&app, &id, |v| {
        metric(v, "first_response")["state"] == "breached"
    })
    .await;
    assert!(metric(&sla, "first_response")["remaining_seconds"].as_i64() < Some(0));
    let agent = anliegen_core::AgentId(me.parse().expect("uuid"));
    let mut kinds = Vec::new();
    for _ in 0..100 {
        kinds = app
            .store()
            .notifications(agent, 20)
            .await
            .expect("notifications")
            .into_iter()
            .filter(|n| n.kind == "sla")
            .map(|n| n.excerpt)
            .collect::<Vec<_>>();
        if kinds.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["breached:first_response", "warning:first_response"],
        "one warning and one breach"
    );

    // The agent answers late: missed; the next sweeps record nothing more.
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "reply", "channel": "phone", "text": "Rückruf: Die Titel sind wieder lieferbar."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sla = sla_until(&app, &id, |v| {
        metric(v, "first_response")["state"] == "missed"
    })
    .await;
    assert_eq!(metric(&sla, "resolution")["state"], "running");
    clock.set("2026-12-08T08:30:00Z".parse().expect("time"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let types = app.event_types(&id).await;
    assert_eq!(
        types.iter().filter(|t| *t == "sla_breached").count(),
        1,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "sla_warning").count(),
        1,
        "{types:?}"
    );

    // A waiting on a third party pauses the answer but not the resolution.
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "customer", "text": "Und was ist mit Band 2?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sla = sla_until(&app, &id, |v| {
        metric(v, "next_response")["state"] == "running"
    })
    .await;
    assert_eq!(
        metric(&sla, "next_response")["due_at"],
        "2026-12-08T10:30:00Z"
    );
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            json!({"status": "waiting_on_third_party"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &id, |v| v["paused"] == "third_party").await;
    assert_eq!(metric(&sla, "next_response")["state"], "paused");
    assert_eq!(metric(&sla, "resolution")["state"], "running");

    // The admin tightens the policy: the open case's due time follows.
    let before = metric(&sla, "resolution")["due_at"].clone();
    let (s, _, v) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([{"name": "Streng", "targets": {"first_response": 30, "next_response": 60, "resolution": 240}}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &id, |v| v["policy_name"] == "Streng").await;
    assert_ne!(metric(&sla, "resolution")["due_at"], before);
    assert_eq!(metric(&sla, "resolution")["target_minutes"], 240);

    // Solved: resolution is done; the case has no due time any more.
    let (s, v) = app
        .patch(&format!("/api/v1/cases/{id}"), json!({"status": "solved"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sla = sla_until(&app, &id, |v| v["paused"] == "solved").await;
    assert!(sla["next_due_at"].is_null());
    assert!(
        ["met", "missed"].contains(&metric(&sla, "resolution")["state"].as_str().unwrap_or("")),
        "{sla}"
    );
    let (_, c) = app.get(&format!("/api/v1/cases/{id}")).await;
    assert!(c["case"]["sla_due_at"].is_null(), "{c}");
}

#[tokio::test]
async fn a_breach_due_while_the_node_was_down_is_recorded_after_the_restart() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-07T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    admin(&mut app).await;
    let (s, _, v) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([{"name": "Standard", "targets": {"first_response": 15}}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = phone_case(&app, "kunde@example.de", "Rückruf bitte.").await;
    sla_until(&app, &id, |v| v["policy_name"] == "Standard").await;
    app.stop().await;
    clock.set("2026-12-07T09:00:00Z".parse().expect("time"));
    app.restart().await;
    app.until_event(&id, "sla_breached").await;
    let types = app.event_types(&id).await;
    assert_eq!(types.iter().filter(|t| *t == "sla_breached").count(), 1);
}
