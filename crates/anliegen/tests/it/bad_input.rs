//! Bad input gets a clear 4xx problem+json naming what is wrong — never a 500, never a
//! half-written change.

use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let res = app
        .client
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = res.status();
    assert!(s.is_client_error() || s.is_success(), "{path}: {s}");
    if s.is_client_error() {
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    (s, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn malformed_and_wrongly_typed_bodies_are_named() {
    let app = TestApp::spawn_with(|s| s.body_limit = 64 * 1024).await;
    let (s, p) = raw(
        &app,
        Method::POST,
        "/api/v1/cases",
        "application/json",
        b"{\"customer\": ".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(p["detail"].as_str().unwrap().contains("not valid JSON"));
    let (s, p) = raw(
        &app,
        Method::POST,
        "/api/v1/cases",
        "application/json",
        br#"{"customer": {"email": 42}, "contact": {"text": "x"}}"#.to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "customer.email");
    let (s, p) = raw(
        &app,
        Method::POST,
        "/api/v1/cases",
        "application/json",
        br#"{"customer": {"email": "a@b.de"}, "contact": {"text": "x", "colour": 1}}"#.to_vec(),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    assert_eq!(p["field"], "contact.colour");
    let (s, _) = raw(
        &app,
        Method::POST,
        "/api/v1/cases",
        "text/plain",
        b"hallo".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = json!({"customer": {"email": "a@b.de"}, "contact": {"text": "x".repeat(100 * 1024)}})
        .to_string()
        .into_bytes();
    let (s, _) = raw(&app, Method::POST, "/api/v1/cases", "application/json", big).await;
    assert_eq!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body limit is configurable and enforced"
    );

    for (body, field) in [
        (
            json!({"customer": {"email": "kein-at"}, "contact": {"text": "x"}}),
            "customer.email",
        ),
        (
            json!({"customer": {"phone": "0000"}, "contact": {"text": "x"}}),
            "customer.phone",
        ),
        (
            json!({"customer": {}, "contact": {"text": "x"}}),
            "customer",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "priority": "sofort", "contact": {"text": "x"}}),
            "priority",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "tags": ["zwei worte"], "contact": {"text": "x"}}),
            "tags[0]",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "fields": {"Bad-Key": 1}, "contact": {"text": "x"}}),
            "field",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "contact": {"text": "  "}}),
            "text",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "contact": {"text": "x", "channel": "fax"}}),
            "contact.channel",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "team_id": uuid::Uuid::now_v7(), "contact": {"text": "x"}}),
            "team_id",
        ),
        (
            json!({"customer": {"id": uuid::Uuid::now_v7()}, "contact": {"text": "x"}}),
            "customer_id",
        ),
        (
            json!({"customer": {"email": "a@b.de"}, "contact": {"text": "x", "attachments": [{"filename": "a", "data_base64": "%%%"}]}}),
            "attachments[0].data_base64",
        ),
    ] {
        let (s, _, p) = app
            .req(Method::POST, "/api/v1/cases", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {p}");
        assert_eq!(p["field"], field, "{body} → {p}");
    }
    let (_, list) = app.get("/api/v1/cases").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing was half-written"
    );
    let (_, customers) = app.get("/api/v1/customers").await;
    assert_eq!(
        customers["items"].as_array().unwrap().len(),
        0,
        "no customer was created for a refused case"
    );
}

#[tokio::test]
async fn unknown_ids_routes_and_parameters() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/cases/A-99999",
        "/api/v1/cases/kaputt",
        &format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
        "/api/v1/nothing-here",
        &format!("/api/v1/teams/{}", uuid::Uuid::now_v7()),
    ] {
        let (s, p) = app.get(path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {p}");
    }
    let (s, p) = app.get("/api/v1/customers/not-a-uuid").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "id");
    let (s, p) = app.get("/api/v1/cases?status=offen").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "status");
    let (s, p) = app.get("/api/v1/cases?limit=0").await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (s, p) = app.get("/api/v1/cases?limit=abc").await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (s, _) = app.get("/api/v1/cases?colour=red").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.get("/api/v1/cases?cursor=xyz").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = app.req(Method::DELETE, "/api/v1/cases", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Arbitrary bytes and arbitrary JSON never make the server fail.
    #[test]
    fn garbage_never_causes_a_server_error(bytes in proptest::collection::vec(any::<u8>(), 0..300), s in "\\PC{0,200}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use std::sync::OnceLock;
            static APP: OnceLock<(String, String)> = OnceLock::new();
            // One server for all cases, on its own runtime thread.
            let (url, token) = APP.get_or_init(|| {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Runtime::new().unwrap();
                    rt.block_on(async move {
                        let app = TestApp::spawn().await;
                        tx.send((app.url.clone(), app.token.clone())).unwrap();
                        std::future::pending::<()>().await;
                    });
                });
                rx.recv().unwrap()
            }).clone();
            let client = reqwest::Client::new();
            for (path, body) in [("/api/v1/cases", bytes.clone()), ("/api/v1/customers", s.clone().into_bytes()),
                                 ("/api/v1/cases", format!("{{\"customer\":{{\"email\":{s:?}}},\"contact\":{{\"text\":{s:?}}}}}").into_bytes())] {
                let res = client.post(format!("{url}{path}")).bearer_auth(&token).header("content-type", "application/json").body(body).send().await.unwrap();
                assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
            }
            let res = client.get(format!("{url}/api/v1/cases/{}", urlencode(&s))).bearer_auth(&token).send().await.unwrap();
            assert!(res.status().as_u16() < 500);
        });
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn control_characters_undecodable_paths_and_contradictions() {
    let app = TestApp::spawn().await;
    let (s, c) = app
        .post("/api/v1/cases", json!({"customer": {"email": "nul@example.de"}, "subject": "a\u{0}b", "contact": {"text": "Hallo\u{0} Welt\u{7}\nZeile 2"}}))
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "control characters are removed, not a server error: {c}"
    );
    let (_, d) = app
        .get(&format!("/api/v1/cases/{}", c["id"].as_str().unwrap()))
        .await;
    assert_eq!(d["contacts"][0]["text"], "Hallo Welt\nZeile 2");

    let res = app
        .client
        .get(format!("{}/api/v1/cases/%FF", app.url))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let id = c["id"].as_str().unwrap();
    let (s, p) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "customer", "text": "x", "status": "closed"}),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );

    let customer = c["customer_id"].as_str().unwrap();
    let (s, p) = app
        .post(
            &format!("/api/v1/customers/{customer}/merge"),
            json!({"into": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("into"))
    );
}
