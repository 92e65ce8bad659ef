//! Health, readiness, metrics, the OpenAPI document, graceful shutdown.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    app.open_case("m@example.de", "Zählt das?").await;
    let res = app
        .client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut text = String::new();
    for _ in 0..100 {
        text = app
            .client
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("anliegen_cases{status=\"new\"}")
            && text.contains("anliegen_projection_lag_events{projection=\"stats\"} 0")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for needle in [
        "anliegen_http_requests_total",
        "anliegen_http_request_seconds_bucket",
        "anliegen_cases_opened_total",
        "anliegen_job_queue_depth",
        "anliegen_projection_lag_events{projection=\"stats\"} 0",
        "anliegen_cases{status=\"new\"}",
        "anliegen_writer_queue",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_covers_the_api() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/v1/cases", "post"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases/{id}", "get"),
        ("/api/v1/cases/{id}", "patch"),
        ("/api/v1/cases/{id}/contacts", "post"),
        ("/api/v1/customers", "post"),
        ("/api/v1/customers/{id}/merge", "post"),
        ("/api/v1/teams", "post"),
        ("/api/v1/agents", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/tokens", "post"),
        ("/healthz", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let params = doc["paths"]["/api/v1/cases"]["post"]["parameters"].to_string();
    assert!(params.contains("Idempotency-Key"));
}

#[tokio::test]
async fn graceful_shutdown_answers_requests_in_flight_and_loses_nothing() {
    let mut app = TestApp::spawn().await;
    let url = format!("{}/api/v1/cases", app.url);
    let client = app.client.clone();
    let token = app.token.clone();
    let requests = (0..40).map(|i| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"customer": {"email": format!("s{i}@example.de")}, "contact": {"text": "Kurz vor dem Herunterfahren"}}))
                .send()
                .await
                .map(|r| r.status())
        })
    });
    let requests: Vec<_> = requests.collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.stop().await;
    let mut acknowledged = 0;
    for r in join_all(requests).await {
        match r.unwrap() {
            Ok(s) => {
                assert_eq!(
                    s,
                    StatusCode::CREATED,
                    "a request the server took was answered fully"
                );
                acknowledged += 1;
            }
            Err(e) => assert!(
                e.is_connect() || e.is_request(),
                "refused, not cut off: {e}"
            ),
        }
    }
    app.restart().await;
    let (_, list) = app.get("/api/v1/cases?limit=200").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        acknowledged,
        "every acknowledged case is stored"
    );
}
