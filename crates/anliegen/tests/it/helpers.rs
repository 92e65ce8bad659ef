//! `TestApp`: a real node on port 0 with a fresh store, and typed helpers.

use std::time::Duration;

use anliegen::config::Settings;
use anliegen::server::StartOptions;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestApp {
    pub running: Option<anliegen::Running>,
    pub url: String,
    pub token: String,
    pub settings: Settings,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    /// The clock the test moves (kept across restarts).
    clock: Option<std::sync::Arc<dyn anliegen_core::Clock>>,
}

/// Runs one SQL statement with psql against the admin database.
pub fn psql(sql: &str) {
    let admin = std::env::var("ANLIEGEN_TEST_DATABASE_URL").expect("ANLIEGEN_TEST_DATABASE_URL");
    let out = std::process::Command::new("psql")
        .arg(&admin)
        .arg("-qc")
        .arg(sql)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh PostgreSQL database (url, name) when the suite runs on PostgreSQL; `None` on the
/// embedded store.
pub async fn fresh_database() -> Option<(String, String)> {
    if std::env::var("ANLIEGEN_TEST_BACKEND").ok().as_deref() != Some("postgres") {
        return None;
    }
    let admin = std::env::var("ANLIEGEN_TEST_DATABASE_URL")
        .expect("ANLIEGEN_TEST_BACKEND=postgres needs ANLIEGEN_TEST_DATABASE_URL");
    let name = format!("anliegen_it_{}", uuid::Uuid::new_v4().simple());
    psql(&format!("CREATE DATABASE {name}"));
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin.clone());
    Some((format!("{base}/{name}"), name))
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_opts(tweak, false).await
    }

    /// A node with the demo data loaded.
    pub async fn spawn_demo(tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_opts(tweak, true).await
    }

    pub async fn spawn_opts(tweak: impl FnOnce(&mut Settings), demo: bool) -> Self {
        Self::spawn_full(tweak, demo, None).await
    }

    /// A node whose clock the test moves.
    pub async fn spawn_clock(
        tweak: impl FnOnce(&mut Settings),
        clock: std::sync::Arc<dyn anliegen_core::Clock>,
    ) -> Self {
        Self::spawn_full(tweak, false, Some(clock)).await
    }

    async fn spawn_full(
        tweak: impl FnOnce(&mut Settings),
        demo: bool,
        clock: Option<std::sync::Arc<dyn anliegen_core::Clock>>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = fresh_database().await;
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().join("data"),
            database_url: pg.as_ref().map(|(u, _)| u.clone()),
            ..Settings::default()
        };
        tweak(&mut settings);
        let running = anliegen::start(
            &settings,
            StartOptions {
                poll: Duration::from_millis(50),
                demo,
                clock: clock.clone(),
            },
        )
        .await
        .expect("server starts");
        let first = running
            .first_login
            .clone()
            .expect("a fresh store makes an admin");
        let url = running.url();
        let client = reqwest::Client::new();
        let res = client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"email": first.email, "password": first.password}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::CREATED);
        let token = res.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_owned();

        settings.listen = running.addr;
        Self {
            running: Some(running),
            url,
            token,
            settings,
            client,
            _dir: dir,
            pg,
            clock,
        }
    }

    pub fn store(&self) -> &anliegen_store::Store {
        &self.running.as_ref().expect("running").store
    }

    /// Sends a request with the admin token; returns status, headers and JSON (or Null).
    pub async fn req(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.req_as(&self.token, method, path, body, None).await
    }

    pub async fn req_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(k) = idem {
            r = r.header("Idempotency-Key", k);
        }
        let res = r.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status.as_u16() < 500, "{status} from {path}: {text}");
        if status.is_client_error() {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "4xx must be problem+json: {text}"
            );
        }
        (status, headers, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.req(Method::GET, path, None).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.req(Method::POST, path, Some(body)).await;
        (s, v)
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.req(Method::PATCH, path, Some(body)).await;
        (s, v)
    }

    /// Opens a case for `email` with `text`; asserts 201.
    pub async fn open_case(&self, email: &str, text: &str) -> Value {
        let (s, v) = self
            .post("/api/v1/cases", json!({"customer": {"email": email}, "subject": "Test", "contact": {"channel": "email", "text": text}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Creates an agent and returns its token with `scopes`.
    pub async fn agent_token(&self, email: &str, role: &str, scopes: &[&str]) -> (String, String) {
        let (s, a) = self
            .post("/api/v1/agents", json!({"email": email, "name": "Test Agent", "role": role, "password": "ein-gutes-passwort"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let id = a["id"].as_str().expect("id").to_owned();
        let (s, t) = self
            .post(
                "/api/v1/tokens",
                json!({"name": "t", "agent_id": id, "scopes": scopes}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        (id, t["token"].as_str().expect("token").to_owned())
    }

    /// The types of a case's events, in order (`case_opened`, …).
    pub async fn event_types(&self, case: &str) -> Vec<String> {
        let (_, v) = self.get(&format!("/api/v1/cases/{case}/events")).await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["type"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (up to 15 s) until the case has an event of `kind`.
    pub async fn until_event(&self, case: &str, kind: &str) {
        for _ in 0..300 {
            if self.event_types(case).await.iter().any(|k| k == kind) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{kind} never happened on {case}: {:?}",
            self.event_types(case).await
        );
    }

    /// Stops the node gracefully.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Starts a node again on the same store.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut s = self.settings.clone();
        s.listen = "127.0.0.1:0".parse().expect("addr");
        let running = anliegen::start(
            &s,
            StartOptions {
                poll: Duration::from_millis(50),
                clock: self.clock.clone(),
                ..StartOptions::default()
            },
        )
        .await
        .expect("restart");
        self.url = running.url();
        self.running = Some(running);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((_, name)) = self.pg.take()
            && let Ok(admin) = std::env::var("ANLIEGEN_TEST_DATABASE_URL")
        {
            // Best effort; the server's pools may still hold connections.
            std::process::Command::new("psql")
                .arg(&admin)
                .arg("-qc")
                .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .output()
                .ok();
        }
    }
}
