//! `Idempotency-Key`: replay, mismatch, in flight, scope per token.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

fn body(text: &str) -> serde_json::Value {
    json!({"customer": {"email": "retry@example.de"}, "subject": "Retry", "contact": {"text": text}})
}

#[tokio::test]
async fn a_retry_returns_the_first_result_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let (s1, h1, a) = app
        .req_as(
            &app.token,
            Method::POST,
            "/api/v1/cases",
            Some(body("Erster Versuch")),
            Some("key-1"),
        )
        .await;
    assert_eq!(s1, StatusCode::CREATED);
    assert!(!h1.contains_key("idempotent-replayed"));
    let (s2, h2, b) = app
        .req_as(
            &app.token,
            Method::POST,
            "/api/v1/cases",
            Some(body("Erster Versuch")),
            Some("key-1"),
        )
        .await;
    assert_eq!(s2, StatusCode::CREATED);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(a, b, "the very same response");
    let (_, list) = app.get("/api/v1/cases").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let (s, _, p) = app
        .req_as(
            &app.token,
            Method::POST,
            "/api/v1/cases",
            Some(body("Anderer Text")),
            Some("key-1"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "Idempotency-Key");

    // Another token has its own key space.
    let (_, other) = app
        .agent_token("zweiter@example.de", "agent", &["read", "write"])
        .await;
    let (s, _, c) = app
        .req_as(
            &other,
            Method::POST,
            "/api/v1/cases",
            Some(body("Erster Versuch")),
            Some("key-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(c["id"], a["id"]);

    // Contacts and customers honour keys too.
    let path = format!("/api/v1/cases/{}/contacts", a["id"].as_str().unwrap());
    let note = json!({"kind": "note", "text": "einmal"});
    let (s, _, n1) = app
        .req_as(
            &app.token,
            Method::POST,
            &path,
            Some(note.clone()),
            Some("note-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, n2) = app
        .req_as(&app.token, Method::POST, &path, Some(note), Some("note-1"))
        .await;
    assert_eq!(n1["contact"]["id"], n2["contact"]["id"]);
    let (_, d) = app
        .get(&format!("/api/v1/cases/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(d["contacts"].as_array().unwrap().len(), 2);

    let (s, _, _) = app
        .req_as(
            &app.token,
            Method::POST,
            "/api/v1/cases",
            Some(body("x")),
            Some("bad key with spaces"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_case() {
    let app = TestApp::spawn().await;
    let results = join_all((0..12).map(|_| {
        app.req_as(
            &app.token,
            Method::POST,
            "/api/v1/cases",
            Some(body("gleichzeitig")),
            Some("same"),
        )
    }))
    .await;
    let created: Vec<_> = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty());
    for (s, _, v) in &results {
        assert!(
            *s == StatusCode::CREATED || *s == StatusCode::CONFLICT,
            "{s}: {v}"
        );
    }
    let ids: std::collections::HashSet<_> = created
        .iter()
        .map(|(_, _, v)| v["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every success is the same case");
    let (_, list) = app.get("/api/v1/cases").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
