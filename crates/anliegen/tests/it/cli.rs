//! The real `anliegen` binary: first start, demo, token creation while serving, agents,
//! migrations, configuration file, shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_anliegen");

struct Serve {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

fn store_args(dir: &std::path::Path, pg: &Option<(String, String)>) -> Vec<String> {
    match pg {
        Some((url, _)) => vec!["--database-url".into(), url.clone()],
        None => vec!["--data-dir".into(), dir.join("data").display().to_string()],
    }
}

/// Starts `anliegen serve` and reads stdout up to the demo/first-start lines.
fn serve(args: &[String], extra: &[&str]) -> Serve {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .args(extra)
        .env("ANLIEGEN_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let mut url = String::new();
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.split("is running: ").nth(1) {
            url = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let done = !url.is_empty();
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(!url.is_empty(), "no URL printed: {seen:?}");
    std::thread::spawn(move || for _ in lines {});
    Serve {
        child,
        url,
        stdout: seen,
    }
}

impl Serve {
    fn stop(self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let out = self.child.wait_with_output().expect("exits");
        assert!(
            out.status.success(),
            "SIGTERM ends serve cleanly: {:?}",
            out.status
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn run(args: &[&str], store: &[String]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(store)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn login(url: &str, email: &str, password: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "login {email}");
    res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn first_start_prints_the_admin_login_to_the_terminal_only_and_cli_tokens_work_while_serving()
{
    let dir = tempfile::tempdir().unwrap();
    let pg = crate::helpers::fresh_database().await;
    let store = store_args(dir.path(), &pg);
    let (ok, out, err) = run(&["migrate"], &store);
    assert!(ok, "{err}");
    assert!(out.contains("up to date"));
    let s = serve(&store, &[]);
    let first = s
        .stdout
        .iter()
        .find(|l| l.starts_with("First start"))
        .expect("admin login printed")
        .clone();
    let password = first
        .split("password ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    login(&s.url, "admin@anliegen.local", &password).await;

    let (ok, out, err) = run(
        &["token", "create", "--agent", "ADMIN@anliegen.local"],
        &store,
    );
    assert!(ok, "token create while the server runs: {err}");
    let token = out.trim().to_owned();
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/auth/me", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (ok, _, err) = run(&["token", "create", "--agent", "nobody@example.de"], &store);
    assert!(!ok && err.contains("no agent"), "{err}");

    let (ok, out, err) = run(
        &[
            "agent",
            "add",
            "--email",
            "neu@example.de",
            "--name",
            "Neue Kollegin",
            "--role",
            "supervisor",
        ],
        &store,
    );
    assert!(ok, "{err}");
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("generated password printed")
        .to_owned();
    login(&s.url, "neu@example.de", &pw).await;

    let log = s.stop();
    assert!(
        !log.contains(&password),
        "the admin password never reaches the log"
    );
    assert!(!log.contains(&token), "tokens never reach the log");
    assert!(log.contains("shutting down"));

    let s = serve(&store, &[]);
    assert!(
        !s.stdout.iter().any(|l| l.starts_with("First start")),
        "only the first start makes an admin"
    );
    s.stop();
}

#[tokio::test]
async fn demo_data_shows_the_stories_and_refuses_a_real_store() {
    let dir = tempfile::tempdir().unwrap();
    let pg = crate::helpers::fresh_database().await;
    let store = store_args(dir.path(), &pg);
    let s = serve(&store, &["--demo"]);
    assert!(
        s.stdout
            .iter()
            .any(|l| l.contains("jana.becker@demo.anliegen.example")),
        "{:?}",
        s.stdout
    );
    // A supervisor sees every case (an agent only their teams').
    let token = login(
        &s.url,
        "sabine.krueger@demo.anliegen.example",
        anliegen::demo::DEMO_PASSWORD,
    )
    .await;
    let client = reqwest::Client::new();
    let list: serde_json::Value = client
        .get(format!("{}/api/v1/cases?limit=200", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cases = list["items"].as_array().unwrap();
    assert!(cases.len() >= 25, "{}", cases.len());
    let mailboxes: serde_json::Value = client
        .get(format!("{}/api/v1/mailboxes", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        mailboxes[0]["address"], "service@beispiel-shop.de",
        "the demo has a mailbox"
    );
    let text = list.to_string();
    for story in ["Sofa", "flash-sale", "betrug"] {
        assert!(
            text.to_lowercase().contains(&story.to_lowercase()),
            "the {story} story is there"
        );
    }
    let publisher: serde_json::Value = client
        .get(format!("{}/api/v1/cases/A-10001", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        publisher["contacts"].as_array().unwrap().len() >= 10,
        "the publisher's concern has many contacts"
    );
    let first_at = publisher["contacts"][0]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let last_at = publisher["contacts"].as_array().unwrap().last().unwrap()["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first_at < last_at, "the timeline spans weeks");
    s.stop();
    // Loading again is a no-op.
    let s = serve(&store, &["--demo"]);
    assert!(
        s.stdout
            .iter()
            .any(|l| l.starts_with("Demo data:") && !l.contains("loaded"))
    );
    s.stop();

    // A store with real data is refused.
    let dir2 = tempfile::tempdir().unwrap();
    let pg2 = crate::helpers::fresh_database().await;
    let real = store_args(dir2.path(), &pg2);
    let s = serve(&real, &[]);
    let (_, token, _) = run(
        &["token", "create", "--agent", "admin@anliegen.local"],
        &real,
    );
    let res = client
        .post(format!("{}/api/v1/cases", s.url))
        .bearer_auth(token.trim())
        .json(
            &json!({"customer": {"email": "echt@example.de"}, "contact": {"text": "Echte Daten"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    s.stop();
    let out = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(&real)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not demo data"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (_, name) in [pg, pg2].into_iter().flatten() {
        crate::helpers::psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

#[tokio::test]
async fn settings_come_from_a_toml_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("anliegen.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n",
            dir.path().join("d").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .map(|l| l.unwrap())
        .find(|l| l.contains("is running"))
        .unwrap();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(dir.path().join("d").join("anliegen.db").exists());
    child.kill().ok();
    child.wait().ok();

    let out = Command::new(BIN)
        .args(["serve"])
        .env("ANLIEGEN_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
}
