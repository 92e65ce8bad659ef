//! Authentication and authorisation: tokens, scopes, roles, sign-in, lockout.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn every_api_route_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/cases",
        "/api/v1/customers",
        "/api/v1/teams",
        "/api/v1/agents",
        "/api/v1/events",
        "/api/v1/auth/me",
        "/api/v1/tokens",
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{path} without a token"
        );
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let (s, _, _) = app
            .req_as("anl_not-a-real-token", Method::GET, path, None, None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} with a bad token");
    }
    let (s, me) = app.get("/api/v1/auth/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["agent"]["role"], "admin");
}

#[tokio::test]
async fn scopes_and_roles_are_enforced() {
    let app = TestApp::spawn().await;
    let (_, read_only) = app
        .agent_token("leser@example.de", "agent", &["read"])
        .await;
    let (s, _, _) = app
        .req_as(&read_only, Method::GET, "/api/v1/cases", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"customer": {"email": "x@example.de"}, "contact": {"text": "hallo"}});
    let (s, _, p) = app
        .req_as(&read_only, Method::POST, "/api/v1/cases", Some(body), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{p}");

    let (agent_id, agent) = app
        .agent_token("agent@example.de", "agent", &["read", "write"])
        .await;
    let (s, _, _) = app
        .req_as(
            &agent,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "X"})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only admins create teams");
    let (s, _, _) = app
        .req_as(
            &agent,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "t", "scopes": ["admin"]})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no scope beyond one's own");
    let (s, _, _) = app
        .req_as(
            &agent,
            Method::PATCH,
            &format!("/api/v1/agents/{agent_id}"),
            Some(json!({"role": "admin"})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no self-promotion");
    let (s, _, me) = app
        .req_as(
            &agent,
            Method::PATCH,
            &format!("/api/v1/agents/{agent_id}"),
            Some(json!({"name": "Jana B."})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["name"], "Jana B.");

    // Revoking takes effect at once.
    let (_, _, me) = app
        .req_as(&agent, Method::GET, "/api/v1/auth/me", None, None)
        .await;
    let token_id = me["token"]["id"].as_str().unwrap().to_owned();
    let (s, _, _) = app
        .req(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = app
        .req_as(&agent, Method::GET, "/api/v1/cases", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Deactivated agents are locked out.
    let (s, _) = app
        .patch(
            &format!("/api/v1/agents/{agent_id}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "agent@example.de", "password": "ein-gutes-passwort"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_in_uses_argon2id_and_locks_out_after_failures() {
    let app = TestApp::spawn().await;
    app.agent_token("sabine@example.de", "supervisor", &["read"])
        .await;
    let login = |pw: &str| {
        app.client
            .post(format!("{}/api/v1/auth/login", app.url))
            .json(&json!({"email": "Sabine@Example.de", "password": pw}))
            .send()
    };
    let res = login("ein-gutes-passwort").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: serde_json::Value = res.json().await.unwrap();
    assert!(t["info"]["expires_at"].is_string(), "sign-in tokens expire");
    assert_eq!(t["info"]["scopes"], json!(["read", "write"]));
    let (s, _, _) = app
        .req_as(
            t["token"].as_str().unwrap(),
            Method::POST,
            "/api/v1/auth/logout",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = app
        .req_as(
            t["token"].as_str().unwrap(),
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "logout revokes");

    for _ in 0..5 {
        assert_eq!(
            login("falsch").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = login("ein-gutes-passwort").await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked out even with the right password"
    );
    assert!(res.headers().contains_key("retry-after"));
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "niemand@example.de", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Stored as argon2id, never in clear.
    let creds = app
        .store()
        .agent_credentials(&anliegen_core::EmailAddress::parse("sabine@example.de").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(creds.password_hash.unwrap().starts_with("$argon2id$"));
}

#[tokio::test]
async fn tokens_are_stored_only_as_sha256() {
    let app = TestApp::spawn().await;
    let (s, t) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "shop-sync", "scopes": ["read"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = t["token"].as_str().unwrap();
    assert!(
        secret.starts_with("anl_") && secret.len() == 47,
        "256 bits, base64url"
    );
    use sha2::Digest as _;
    let hash = hex::encode(sha2::Sha256::digest(secret.as_bytes()));
    let stored = app
        .store()
        .token_by_hash(&hash)
        .await
        .unwrap()
        .expect("found by its hash");
    assert_eq!(stored.name, "shop-sync");
    assert!(
        app.store().token_by_hash(secret).await.unwrap().is_none(),
        "the secret itself is not stored"
    );
    let (_, list) = app.get("/api/v1/tokens").await;
    assert!(!list.to_string().contains(secret));
}

/// Every operation in the OpenAPI document, called without a token, is refused with 401
/// (except signing in). New routes are covered without editing this test.
#[tokio::test]
async fn every_documented_operation_refuses_anonymous_callers() {
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
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            // Signing in, the API description and the operations endpoints are public.
            if path == "/api/v1/auth/login"
                || path == "/api/v1/openapi.json"
                || !path.starts_with("/api/v1/")
            {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0190e7a0-0000-7000-8000-000000000000".to_owned()
                    } else {
                        seg.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(m, format!("{}{concrete}", app.url))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "checked {checked} operations");
}
