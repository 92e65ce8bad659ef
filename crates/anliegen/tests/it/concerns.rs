//! One concern, one case (issue 5), end to end as real clients: mail over SMTP (Python's
//! smtplib), the REST API over HTTP, an aiosmtpd sink for what we send, a clock the test moves.

use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mail::{Sink, header, send, skip};

async fn app_with_clock(sink: Option<&Sink>, clock: Arc<ManualClock>) -> TestApp {
    let port = sink.map(|s| s.port);
    let app = TestApp::spawn_clock(
        |s| {
            s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
            if let Some(port) = port {
                s.relay_host = Some("127.0.0.1".into());
                s.relay_port = port;
                s.relay_security = "none".into();
            }
            s.mail_token_secret = Some("a test secret of some length".into());
        },
        clock as Arc<dyn Clock>,
    )
    .await;
    let (s, mb) = app
        .post(
            "/api/v1/mailboxes",
            json!({"address": "service@shop.example", "display_name": "Buchhandel Kundenservice"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mb}");
    app
}

async fn wait_until<F: Fn(&Value) -> bool>(app: &TestApp, path: &str, ok: F) -> Value {
    for _ in 0..200 {
        let (s, v) = app.get(path).await;
        if s == StatusCode::OK && ok(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, v) = app.get(path).await;
    panic!("{path} never got there: {v:#}");
}

fn day(clock: &ManualClock, n: i64) {
    clock.advance(jiff::SignedDuration::from_hours(24 * n));
}

/// The publisher of our stories: an email, then four more contacts over days — a reworded
/// mail without reference, a logged phone call, a colleague answering our mail, a mail naming
/// the reference — end in exactly one case, counted as four repeats, escalated to the
/// specialist team after the second repeat with a hand-off summary, every decision an event.
#[tokio::test]
async fn publisher_story_one_case_counted_escalated() {
    if skip() {
        return;
    }
    let sink = Sink::start();
    let clock = Arc::new(ManualClock::new("2026-11-02T09:00:00Z".parse().unwrap()));
    let mut app = app_with_clock(Some(&sink), clock.clone()).await;
    // An API token without expiry: the test moves the clock by days.
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;

    // The specialist team and the escalation settings.
    let (s, team) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Verlagsservice", "description": "Verlage und Preise"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();
    let (s, esc) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/settings/escalation",
            Some(json!({
                "after_repeats": 2, "on_keywords": true,
                "keywords_de": ["anwalt"], "keywords_en": ["lawyer"],
                "on_overdue_promise": true, "on_sla_breach": true,
                "tiers": [{"name": "Fachteam Verlage", "team_id": team_id, "priority": "high", "notify_supervisors": true}]
            })),
        )
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::OK, "{esc}");
    let (s, customer) = app
        .post(
            "/api/v1/customers",
            json!({"name": "Sonnenberg Verlag", "identities": [
                {"kind": "email", "value": "verlag@sonnenberg-verlag.de"},
                {"kind": "phone", "value": "+49 30 1234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{customer}");
    let customer_id = customer["id"].as_str().unwrap().to_owned();

    // 1. The first mail opens a case and is acknowledged.
    let first = "From: Sonnenberg Verlag <verlag@sonnenberg-verlag.de>\nTo: service@shop.example\nSubject: Falscher Preis für unseren Titel\nMessage-ID: <v-1@sonnenberg-verlag.de>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGuten Tag,\nunser Titel „Die Gärten von Sonnenberg“ wird in Ihrem Shop zu 14,99 € angeboten. Der gebundene Ladenpreis ist 19,90 €. Bitte korrigieren Sie den Preis, die Buchpreisbindung gilt.\n\nMit freundlichen Grüßen\nAnna Sommer, Sonnenberg Verlag\n";
    assert_eq!(send(&app, "service@shop.example", first).await, "250");
    let (_, page) = app
        .get(&format!("/api/v1/cases?customer_id={customer_id}"))
        .await;
    let case = page["items"][0].clone();
    let case_id = case["id"].as_str().unwrap().to_owned();
    let reference = case["reference"].as_str().unwrap().to_owned();
    let ack = sink.wait_for(1).await;
    assert!(
        header(&ack, "Subject").unwrap().contains(&reference),
        "{ack}"
    );

    // 2. Two days later: new wording, no reference: a near-duplicate joins and is answered
    //    with "we already have your concern" instead of a new ticket number.
    day(&clock, 2);
    let second = "From: Sonnenberg Verlag <verlag@sonnenberg-verlag.de>\nTo: service@shop.example\nSubject: Preis immer noch falsch\nMessage-ID: <v-2@sonnenberg-verlag.de>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHallo,\nich hatte Ihnen schon geschrieben: der Preis unseres Titels „Die Gärten von Sonnenberg“ ist immer noch falsch. Nach der Buchpreisbindung muss er 19,90 € kosten.\n\nAnna Sommer\n";
    assert_eq!(send(&app, "service@shop.example", second).await, "250");
    let repeat_ack = sink.wait_for(2).await;
    let subject = header(&repeat_ack, "Subject").unwrap();
    assert!(subject.contains(&reference), "{repeat_ack}");
    assert!(repeat_ack.contains("bereits"), "{repeat_ack}");
    let ack_id = header(&repeat_ack, "Message-ID").unwrap().to_owned();

    // 3. She calls; the agent logs the call with her phone number in national form.
    day(&clock, 2);
    let (s, call) = app
        .post(
            "/api/v1/contacts",
            json!({"customer": {"phone": "030 1234567"}, "channel": "phone",
                   "text": "Frau Sommer vom Sonnenberg Verlag ruft an: der Preis des Titels Die Gärten von Sonnenberg ist immer noch falsch (14,99 statt 19,90 €), sie hatte schon zweimal geschrieben."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{call}");
    assert_eq!(call["case"]["id"], case_id.as_str(), "{call}");
    assert_eq!(call["new_case"], false);
    assert_eq!(call["case"]["repeat_count"], 2);

    // ... and after the second repeat the case goes to the specialist team with a summary.
    let detail = wait_until(&app, &format!("/api/v1/cases/{case_id}"), |v| {
        v["escalation_level"] == 1 || v["case"]["escalation_level"] == 1
    })
    .await;
    let case_now = if detail.get("case").is_some() {
        &detail["case"]
    } else {
        &detail
    };
    assert_eq!(case_now["team_id"], team_id.as_str(), "{detail:#}");
    assert_eq!(case_now["priority"], "high");
    let contacts = detail["contacts"].as_array().unwrap();
    let summary = contacts
        .iter()
        .find(|c| {
            c["visibility"] == "internal" && c["text"].as_str().unwrap().starts_with("Übergabe")
        })
        .unwrap_or_else(|| panic!("a hand-off summary: {detail:#}"));
    let text = summary["text"].as_str().unwrap();
    assert!(
        text.contains("Anliegen: Falscher Preis für unseren Titel"),
        "{text}"
    );
    assert!(
        text.contains("Kontakte bisher: 3 (2× E-Mail, 1× Telefon), davon 2 Wiederholungen"),
        "{text}"
    );
    assert!(text.contains("Zugesagt:"), "{text}");

    // 4. A colleague answers our mail from her own address: it joins through our Message-ID,
    //    and her address is offered for linking, not linked silently.
    day(&clock, 1);
    let colleague = format!(
        "From: Jonas Krüger <jonas.krueger@sonnenberg-verlag.de>\nTo: service@shop.example\nSubject: Re: {subject}\nMessage-ID: <v-3@sonnenberg-verlag.de>\nIn-Reply-To: {ack_id}\nReferences: {ack_id}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGuten Tag, ich vertrete Frau Sommer. Wann wird der Preis korrigiert?\n\nJonas Krüger\n"
    );
    assert_eq!(send(&app, "service@shop.example", &colleague).await, "250");
    let (_, offers) = app
        .get(&format!("/api/v1/cases/{case_id}/identity-offers"))
        .await;
    let offers = offers.as_array().unwrap();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(
        offers[0]["identity"]["value"],
        "jonas.krueger@sonnenberg-verlag.de"
    );
    assert_eq!(offers[0]["state"], "open");
    let (_, before) = app.get(&format!("/api/v1/customers/{customer_id}")).await;
    assert!(
        !before.to_string().contains("jonas.krueger"),
        "not linked silently"
    );
    let (s, linked) = app
        .post(
            &format!(
                "/api/v1/identity-offers/{}",
                offers[0]["id"].as_str().unwrap()
            ),
            json!({"link": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{linked}");
    assert_eq!(linked["state"], "linked");
    let (_, after) = app.get(&format!("/api/v1/customers/{customer_id}")).await;
    assert!(
        after
            .to_string()
            .contains("jonas.krueger@sonnenberg-verlag.de"),
        "{after}"
    );

    // 5. A mail naming the reference in its text.
    day(&clock, 2);
    let fifth = format!(
        "From: verlag@sonnenberg-verlag.de\nTo: service@shop.example\nSubject: Nachfrage\nMessage-ID: <v-4@sonnenberg-verlag.de>\nContent-Type: text/plain; charset=utf-8\n\nBitte geben Sie uns Bescheid zu Vorgang {reference}.\n"
    );
    assert_eq!(send(&app, "service@shop.example", &fifth).await, "250");

    // Exactly one case, four repeats, every decision an event with its reason.
    let (_, page) = app
        .get(&format!("/api/v1/cases?customer_id={customer_id}"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page:#}");
    let (_, detail) = app.get(&format!("/api/v1/cases/{case_id}")).await;
    let case_now = if detail.get("case").is_some() {
        &detail["case"]
    } else {
        &detail
    };
    assert_eq!(case_now["repeat_count"], 4, "{detail:#}");
    let (_, events) = app.get(&format!("/api/v1/cases/{case_id}/events")).await;
    let events = events.as_array().unwrap();
    let rules: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "concern_matched")
        .map(|e| e["data"]["reason"]["rule"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        rules,
        [
            "new_case",
            "similar_text",
            "similar_text",
            "thread_headers",
            "reference"
        ],
        "{events:#?}"
    );
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for k in [
        "case_escalated",
        "identity_offered",
        "identity_offer_resolved",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}
