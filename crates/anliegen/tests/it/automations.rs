//! Automations (issue 7, item 6): triggers run in order once per change and never loop, timers
//! fire once per case and moment within the timers' slot, the dry-run shows what a rule would
//! touch, bad rules are refused, and a webhook that is down never holds intake up (it is
//! retried until the receiver answers).

use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Clock, ManualClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestApp;

async fn admin(app: &mut TestApp) {
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
}

async fn put_rules(app: &TestApp, rules: Value) -> (StatusCode, Value) {
    let (s, _, v) = app
        .req(Method::PUT, "/api/v1/automations", Some(rules))
        .await;
    (s, v)
}

async fn detail(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/cases/{id}")).await.1
}

async fn case(app: &TestApp, id: &str) -> Value {
    detail(app, id).await["case"].clone()
}

async fn until_case(app: &TestApp, id: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = case(app, id).await;
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("case {id} never got there: {last}");
}

async fn contacts(app: &TestApp, id: &str) -> Vec<Value> {
    detail(app, id).await["contacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    let (_, v) = app.get(&format!("/api/v1/cases/{id}/events")).await;
    v.as_array().cloned().unwrap_or_default()
}

fn tags(c: &Value) -> Vec<String> {
    c["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a webhook receiver got: the raw body and its `Anliegen-Signature` header.
struct Delivery {
    body: String,
    signature: Option<String>,
}

/// A webhook receiver that answers 503 to the first request and 200 afterwards, and hands
/// over every delivery it got.
async fn receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Delivery>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            n += 1;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let Ok(k) = sock.read(&mut chunk).await else {
                    break None;
                };
                if k == 0 {
                    break None;
                }
                buf.extend_from_slice(chunk.get(..k).unwrap_or_default());
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        let signature = head.lines().find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("anliegen-signature")
                                .then(|| v.trim().to_owned())
                        });
                        break Some(Delivery {
                            body: body.to_owned(),
                            signature,
                        });
                    }
                }
            };
            let status = if n == 1 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            sock.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .ok();
            if n > 1
                && let Some(d) = body
            {
                tx.send(d).ok();
            }
        }
    });
    (format!("http://{addr}/hooks/anliegen"), rx)
}

#[tokio::test]
async fn triggers_run_in_order_once_per_change_and_never_loop() {
    let mut app = TestApp::spawn().await;
    admin(&mut app).await;
    let (_, team) = app
        .post("/api/v1/teams", json!({"name": "Erstattungen"}))
        .await;
    let (hook, mut hooks) = receiver().await;
    // A receiver that is down: its deliveries fail and are retried, nothing waits for it.
    let dead = "http://127.0.0.1:9/nobody-listens";
    let rules = json!([
        {"name": "Erstattung dringend", "when": {"type": "trigger", "on": ["case_opened", "customer_replied"]},
         "conditions": [{"field": "text", "any": ["Rückerstattung"]}],
         "actions": [{"action": "set_priority", "priority": "urgent"}, {"action": "set_team", "team_id": team["id"]},
                     {"action": "add_tag", "tag": "geld"}, {"action": "add_note", "text": "Erstattungsfrage von {{customer.email}} ({{case.ref}})"},
                     {"action": "webhook", "url": dead}, {"action": "webhook", "url": hook}]},
        {"name": "Dringend markieren", "when": {"type": "trigger", "on": ["priority_changed"]},
         "conditions": [{"field": "priority", "any": ["urgent"]}],
         "actions": [{"action": "add_tag", "tag": "dringend"}]},
        {"name": "Ping", "when": {"type": "trigger", "on": ["tags_changed"]}, "actions": [{"action": "remove_tag", "tag": "geld"}]},
        {"name": "Pong", "when": {"type": "trigger", "on": ["tags_changed"]}, "actions": [{"action": "add_tag", "tag": "geld"}]}
    ]);
    let (s, saved) = put_rules(&app, rules).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved.as_array().map(Vec::len), Some(4));
    assert!(saved[0]["id"].is_string(), "ids are made");

    let started = std::time::Instant::now();
    let c = app
        .open_case(
            "leserin@example.de",
            "Wo bleibt meine Rückerstattung für Bestellung 4711?",
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "intake never waits for webhooks"
    );
    let id = c["id"].as_str().expect("id").to_owned();
    let done = until_case(&app, &id, |c| {
        c["priority"] == "urgent" && tags(c).contains(&"dringend".to_owned())
    })
    .await;
    assert_eq!(done["team_id"], team["id"]);
    // Ping removed "geld", Pong added it back, each once: the cycle ends. The rules' writes
    // land one after another, so wait for all four tag changes before looking.
    for _ in 0..200 {
        let by_rules = events(&app, &id)
            .await
            .iter()
            .filter(|e| e["type"] == "tags_changed" && e["actor"]["kind"] == "automation")
            .count();
        if by_rules >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = case(&app, &id).await;
    assert!(tags(&done).contains(&"geld".to_owned()), "{done}");
    let note = contacts(&app, &id)
        .await
        .into_iter()
        .find(|c| c["visibility"] == "internal")
        .expect("a note");
    assert_eq!(
        note["text"],
        format!(
            "Erstattungsfrage von leserin@example.de ({})",
            c["reference"].as_str().unwrap_or("")
        )
    );
    // What the rules did is theirs in the log, and did not start further cycles.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let evs = events(&app, &id).await;
    let by_rules = evs
        .iter()
        .filter(|e| e["actor"]["kind"] == "automation")
        .count();
    assert!(by_rules >= 4, "{evs:?}");
    let tag_changes = evs.iter().filter(|e| e["type"] == "tags_changed").count();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        events(&app, &id)
            .await
            .iter()
            .filter(|e| e["type"] == "tags_changed")
            .count(),
        tag_changes,
        "no loop"
    );
    // The working receiver got the case after one refused attempt (retried with backoff).
    let delivery = tokio::time::timeout(Duration::from_secs(30), hooks.recv())
        .await
        .expect("webhook retried")
        .expect("a body");
    let got: Value = serde_json::from_str(&delivery.body).expect("JSON");
    assert_eq!(got["rule"]["name"], "Erstattung dringend");
    assert_eq!(got["case"]["reference"], c["reference"]);
    // Signed with the secret the rule got when it was saved (shown to admins only).
    let secret = saved[0]["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["url"] == hook.as_str()))
        .and_then(|a| a["secret"].as_str())
        .expect("a secret was made")
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");
    let sig = delivery.signature.expect("an Anliegen-Signature header");
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|r| r.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, format!("{t}.{}", delivery.body).as_bytes());
    assert_eq!(
        v1,
        hex::encode(hmac::Mac::finalize(mac).into_bytes()),
        "the signature is HMAC-SHA256 of t.body"
    );
    // Saving the rules again without the secret keeps it; a non-admin never sees it.
    let (_, listed) = app.get("/api/v1/automations").await;
    let mut again = listed.clone();
    for a in again[0]["actions"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("secret");
    }
    let (s, resaved) = put_rules(&app, again).await;
    assert_eq!(s, StatusCode::OK, "{resaved}");
    let kept = resaved[0]["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["url"] == hook.as_str()))
        .and_then(|a| a["secret"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(kept, secret);
    let admin_token = app.token.clone();
    let (_, reader) = app
        .agent_token("leser-team@shop.example", "agent", &["read"])
        .await;
    app.token = reader;
    let (s, seen) = app.get("/api/v1/automations").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        seen[0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("secret").is_none()),
        "{seen}"
    );
    app.token = admin_token;

    // Without the word nothing happens.
    let other = app
        .open_case("leser@example.de", "Danke für die schnelle Lieferung!")
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let other = case(&app, other["id"].as_str().unwrap_or("")).await;
    assert_eq!(other["priority"], "normal");
    assert!(tags(&other).is_empty());
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_field() {
    let mut app = TestApp::spawn().await;
    admin(&mut app).await;
    let solve = json!([{"action": "set_status", "status": "solved"}]);
    for (rule, field) in [
        (
            json!({"name": "Sofort", "when": {"type": "timer", "since": "status_changed", "minutes": 0}, "actions": solve}),
            "when.minutes",
        ),
        (
            json!({"name": "Nie", "when": {"type": "timer", "since": "created", "minutes": 4_000_000}, "actions": solve}),
            "when.minutes",
        ),
        (
            json!({"name": "Widerspruch", "when": {"type": "timer", "since": "created", "minutes": 60},
                "conditions": [{"field": "status", "any": ["open"]}, {"field": "status", "any": ["open"], "not": true}], "actions": solve}),
            "conditions",
        ),
        (
            json!({"name": "Leer", "when": {"type": "trigger", "on": []}, "actions": solve}),
            "when.on",
        ),
        (
            json!({"name": "Nichts", "when": {"type": "trigger", "on": ["case_opened"]}, "actions": []}),
            "actions",
        ),
        (
            json!({"name": "Haken", "when": {"type": "trigger", "on": ["case_opened"]}, "actions": [{"action": "webhook", "url": "javascript:alert(1)"}]}),
            "actions.url",
        ),
        (
            json!({"name": "Vorlage", "when": {"type": "trigger", "on": ["case_opened"]}, "actions": [{"action": "send_reply", "body_de": "Hallo {{kunde}}", "body_en": ""}]}),
            "actions.body_de",
        ),
        (
            json!({"name": "Team", "when": {"type": "trigger", "on": ["case_opened"]}, "actions": [{"action": "set_team", "team_id": uuid::Uuid::new_v4()}]}),
            "team",
        ),
        (
            json!({"name": "Unbekannt", "when": {"type": "trigger", "on": ["vollmond"]}, "actions": solve}),
            "rule",
        ),
    ] {
        let (s, v) = put_rules(&app, json!([rule.clone()])).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{rule}: {v}");
        assert!(
            v["field"].as_str().unwrap_or("").ends_with(field),
            "{rule}: {v}"
        );
    }
    let (_, list) = app.get("/api/v1/automations").await;
    assert_eq!(list, json!([]), "nothing was stored");
}

#[tokio::test]
async fn timers_fire_once_per_moment_and_the_dry_run_shows_the_cases() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-07T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    admin(&mut app).await;
    let waiting = json!([{"field": "status", "any": ["waiting_on_customer"]}]);
    let remind = json!({"name": "Erinnerung nach 7 Tagen", "when": {"type": "timer", "since": "status_changed", "minutes": 7 * 24 * 60},
        "conditions": waiting,
        "actions": [{"action": "send_reply", "body_de": "Guten Tag {{customer.name}}, wir warten noch auf Ihre Antwort zu {{case.ref}}.", "body_en": "Hello, we are still waiting for your answer on {{case.ref}}."},
                    {"action": "add_tag", "tag": "erinnert"}]});
    let solve = json!({"name": "Lösen nach 14 Tagen", "when": {"type": "timer", "since": "status_changed", "minutes": 14 * 24 * 60},
        "conditions": waiting, "actions": [{"action": "set_status", "status": "solved"}]});
    let (s, v) = put_rules(&app, json!([remind.clone(), solve])).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let wait = |id: String| {
        let app = &app;
        async move {
            let (s, v) = app
                .patch(
                    &format!("/api/v1/cases/{id}"),
                    json!({"status": "waiting_on_customer"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    let open = |email: &'static str, text: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app
                .post("/api/v1/cases", json!({"customer": {"email": email, "name": "Petra Hoffmann"}, "subject": "Sofa", "contact": {"channel": "phone", "text": text}}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["id"].as_str().expect("id").to_owned()
        }
    };
    let a = open("petra@example.de", "Die zweite Hälfte des Sofas fehlt.").await;
    wait(a.clone()).await;
    clock.set("2026-12-10T08:00:00Z".parse().expect("time"));
    let b = open("p.hoffmann@example.de", "Bitte Lieferadresse ändern.").await;
    wait(b.clone()).await;

    // Dry-run: nothing yet after a day; after a week and a minute, case A only.
    clock.set("2026-12-08T08:00:00Z".parse().expect("time"));
    let (s, dry) = app
        .post("/api/v1/automations/dry-run", remind.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(dry["cases"], json!([]));
    clock.set("2026-12-14T08:01:00Z".parse().expect("time"));
    let (_, dry) = app
        .post("/api/v1/automations/dry-run", remind.clone())
        .await;
    let refs: Vec<&str> = dry["cases"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(refs, [a.as_str()], "{dry}");

    // The timer fires within the slot: case A is reminded, once.
    until_case(&app, &a, |c| tags(c).contains(&"erinnert".to_owned())).await;
    let replies = |cs: Vec<Value>| cs.iter().filter(|c| c["direction"] == "outbound").count();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let cs = contacts(&app, &a).await;
    assert_eq!(replies(cs.clone()), 1, "{cs:?}");
    assert!(
        cs.iter().any(|c| c["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Guten Tag Petra Hoffmann, wir warten")),
        "{cs:?}"
    );
    assert_eq!(replies(contacts(&app, &b).await), 0);

    // Two weeks: A is solved; B has had its week and is reminded, not solved.
    clock.set("2026-12-21T08:01:00Z".parse().expect("time"));
    until_case(&app, &a, |c| c["status"] == "solved").await;
    until_case(&app, &b, |c| tags(c).contains(&"erinnert".to_owned())).await;
    assert_eq!(case(&app, &b).await["status"], "waiting_on_customer");
    assert_eq!(replies(contacts(&app, &a).await), 1, "reminded once");
}

/// Two nodes on one PostgreSQL database: a trigger runs once per change, a timer once per case
/// and moment, and each SLA warning and breach is recorded (and escalates) once, whichever
/// node's projection or timers job gets there.
#[tokio::test]
async fn two_nodes_run_rules_and_sla_marks_once() {
    let clock = Arc::new(ManualClock::new(
        "2026-12-07T08:00:00Z".parse().expect("time"),
    ));
    let mut app = TestApp::spawn_clock(|_| {}, clock.clone() as Arc<dyn Clock>).await;
    if app.settings.database_url.is_none() {
        eprintln!(
            "two_nodes_run_rules_and_sla_marks_once runs on PostgreSQL only (nodes share a database there)"
        );
        return;
    }
    admin(&mut app).await;
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
    let (s, _, v) = app
        .req(
            Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([{"name": "Standard", "targets": {"first_response": 60}, "warn_percent": 50}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = put_rules(&app, json!([
        {"name": "Notiz", "when": {"type": "trigger", "on": ["case_opened"]}, "actions": [{"action": "add_note", "text": "Neu: {{case.ref}}"}]},
        {"name": "Nach einer Stunde", "when": {"type": "timer", "since": "created", "minutes": 60},
         "conditions": [{"field": "status", "any": ["new", "open"]}], "actions": [{"action": "add_tag", "tag": "alt"}, {"action": "add_note", "text": "Eine Stunde offen."}]}
    ])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut ids = Vec::new();
    for n in 0..6 {
        let c = app
            .post("/api/v1/cases", json!({"customer": {"email": format!("kunde{n}@example.de")}, "subject": "Frage", "contact": {"channel": "phone", "text": "Wo bleibt mein Paket?"}}))
            .await
            .1;
        ids.push(c["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        until_case(&app, id, |c| c["contact_count"] == 2).await;
    }
    clock.set("2026-12-07T09:05:00Z".parse().expect("time"));
    for id in &ids {
        until_case(&app, id, |c| tags(c).contains(&"alt".to_owned())).await;
        for _ in 0..200 {
            if events(&app, id)
                .await
                .iter()
                .any(|e| e["type"] == "case_escalated")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for id in &ids {
        let notes = contacts(&app, id)
            .await
            .iter()
            .filter(|c| c["visibility"] == "internal" && c["author"]["kind"] != "agent")
            .map(|c| c["text"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>();
        assert_eq!(
            notes.iter().filter(|t| t.starts_with("Neu: ")).count(),
            1,
            "{id}: {notes:?}"
        );
        assert_eq!(
            notes.iter().filter(|t| *t == "Eine Stunde offen.").count(),
            1,
            "{id}: {notes:?}"
        );
        let evs = events(&app, id).await;
        // The clock jumped past the due time: a breach, no warning before it.
        for (k, n) in [
            ("sla_warning", 0),
            ("sla_breached", 1),
            ("case_escalated", 1),
        ] {
            assert_eq!(
                evs.iter().filter(|e| e["type"] == k).count(),
                n,
                "{k} on {id}"
            );
        }
    }
    other.stop().await;
}
