//! One concern, one case (issue 5), end to end as real clients: mail over SMTP (Python's
//! smtplib), the REST API over HTTP, an aiosmtpd sink for what we send, a clock the test moves.

use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mail::{Sink, header, send, skip};

/// A node with SMTP in and out (to `sink`), the mailbox `service@shop.example`, a clock the test
/// moves, and an admin API token that does not expire when the clock moves by days.
async fn app_with_clock(sink: &Sink, clock: Arc<ManualClock>) -> TestApp {
    let port = sink.port;
    let mut app = TestApp::spawn_clock(
        |s| {
            s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
            s.relay_host = Some("127.0.0.1".into());
            s.relay_port = port;
            s.relay_security = "none".into();
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
    let (_, token) = app
        .agent_token("leitung@shop.example", "admin", &["read", "write", "admin"])
        .await;
    app.token = token;
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
    let app = app_with_clock(&sink, clock.clone()).await;

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
        v["case"]["escalation_level"] == 1
    })
    .await;
    let case_now = &detail["case"];
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
    let case_now = &detail["case"];
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

async fn customer(app: &TestApp, body: Value) -> Value {
    let (s, c) = app.post("/api/v1/customers", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c
}

async fn inbound(app: &TestApp, body: Value) -> Value {
    let (s, v) = app.post("/api/v1/contacts", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Item 1 and its bad input: addresses and numbers normalise, two customers cannot claim one
/// identity, merges are events and can be undone, merge cycles are refused, customers of the
/// same name who share an order are suggested for merging.
#[tokio::test]
async fn identities_normalise_collide_merge_and_unmerge() {
    let app = TestApp::spawn().await;
    let anna = customer(
        &app,
        json!({"name": "Anna Müller", "identities": [
            {"kind": "email", "value": "Anna.Mueller+shop@googlemail.com"},
            {"kind": "phone", "value": "0171 2345678"}]}),
    )
    .await;
    let ids = anna["identities"].to_string();
    assert!(ids.contains("annamueller@gmail.com"), "{ids}");
    assert!(ids.contains("+491712345678"), "{ids}");
    // The same mailbox written differently is the same identity: a second customer is refused.
    let (s, p) = app
        .post("/api/v1/customers", json!({"name": "A. M.", "identities": [{"kind": "email", "value": "anna.mueller@GMAIL.com"}]}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    let (s, p) = app
        .post(
            "/api/v1/customers",
            json!({"identities": [{"kind": "phone", "value": "12345"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("phone"), "{p}");

    // A contact by the plus-tag address finds Anna.
    let first = inbound(
        &app,
        json!({"customer": {"email": "anna.mueller+newsletter@gmail.com"}, "channel": "form",
               "subject": "Bestellung BE-2026-104233", "text": "Meine Bestellung BE-2026-104233 ist nicht angekommen."}),
    )
    .await;
    assert_eq!(first["case"]["customer_id"], anna["id"]);

    // Another "Anna Müller" with another address writes about the same order: suggested.
    let other = customer(
        &app,
        json!({"name": "Anna Mueller", "identities": [{"kind": "email", "value": "a.mueller@web.de"}]}),
    )
    .await;
    inbound(
        &app,
        json!({"customer": {"id": other["id"]}, "text": "Wo bleibt die Bestellung BE-2026-104233? Die Lieferung fehlt."}),
    )
    .await;
    let (_, sugg) = app
        .get(&format!(
            "/api/v1/customers/{}/merge-suggestions",
            anna["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sugg[0]["customer_id"], other["id"], "{sugg}");
    assert!(
        sugg[0]["evidence"].to_string().contains("BE2026104233"),
        "{sugg}"
    );
    // A different name is never suggested, even with the same order.
    let stranger = customer(&app, json!({"name": "Bernd Lau", "identities": [{"kind": "email", "value": "bernd@example.de"}]})).await;
    inbound(
        &app,
        json!({"customer": {"id": stranger["id"]}, "text": "Bestellung BE-2026-104233 fehlt."}),
    )
    .await;
    let (_, sugg) = app
        .get(&format!(
            "/api/v1/customers/{}/merge-suggestions",
            anna["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sugg.as_array().unwrap().len(), 1, "{sugg}");

    // Merge, refuse the cycle, undo.
    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{}/merge", other["id"].as_str().unwrap()),
            json!({"into": anna["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert!(
        merged["identities"]
            .to_string()
            .contains("a.mueller@web.de")
    );
    let (s, cycle) = app
        .post(
            &format!("/api/v1/customers/{}/merge", anna["id"].as_str().unwrap()),
            json!({"into": other["id"]}),
        )
        .await;
    assert!(s.is_client_error(), "{s} {cycle}");
    let (s, back) = app
        .post(
            &format!(
                "/api/v1/customers/{}/unmerge",
                other["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert!(
        back["identities"].to_string().contains("a.mueller@web.de"),
        "{back}"
    );
    let (_, anna_now) = app
        .get(&format!(
            "/api/v1/customers/{}",
            anna["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        !anna_now.to_string().contains("a.mueller@web.de"),
        "{anna_now}"
    );
    let (_, their_cases) = app
        .get(&format!(
            "/api/v1/cases?customer_id={}",
            other["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        their_cases["items"].as_array().unwrap().len(),
        1,
        "the case went back"
    );
    let (s, again) = app
        .post(
            &format!(
                "/api/v1/customers/{}/unmerge",
                other["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{again}");
    let (_, events) = app.get("/api/v1/events?limit=500").await;
    let text = events.to_string();
    assert!(text.contains("customer_merged") && text.contains("customer_unmerged"));
}

/// Items 2 and 5 with their bad input: the order of the rules; a reference to another
/// customer's case is no match and is not revealed; a merged case's reference leads to the case
/// it was merged into; the same order with a new problem is a new case.
#[tokio::test]
async fn matching_order_safety_and_merged_references() {
    let app = TestApp::spawn().await;
    let a = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "channel": "form", "subject": "Paket fehlt",
               "text": "Meine Bestellung BE-2026-200001 ist nicht angekommen."}),
    )
    .await;
    let a_ref = a["case"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(a["reason"]["rule"], "new_case");

    // Another customer naming A's reference: a new case of their own, nothing revealed.
    let b = inbound(
        &app,
        json!({"customer": {"email": "kunde.b@example.de"}, "case_reference": a_ref, "text": "Wie ist der Stand?"}),
    )
    .await;
    assert_eq!(b["new_case"], true);
    assert_ne!(b["case"]["reference"], a_ref.as_str());
    assert!(
        !b.to_string().contains(&a_ref),
        "the other case is not revealed: {b}"
    );
    let b_text = inbound(
        &app,
        json!({"customer": {"email": "kunde.b@example.de"}, "text": format!("Bitte um Rückmeldung zu {a_ref}.")}),
    )
    .await;
    assert_ne!(b_text["case"]["reference"], a_ref.as_str());

    // The same customer: the reference in the field wins over everything else.
    let again = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "case_reference": a_ref, "text": "Noch etwas ganz anderes."}),
    )
    .await;
    assert_eq!(again["case"]["reference"], a_ref.as_str());
    assert_eq!(again["reason"]["rule"], "reference");
    assert_eq!(again["reason"]["source"], "field");
    // The same order number, written differently, on the open case: joins by identifier.
    let same = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "channel": "phone", "text": "Ruft an wegen be2026200001, immer noch nicht angekommen."}),
    )
    .await;
    assert_eq!(same["case"]["reference"], a_ref.as_str(), "{same}");
    assert_eq!(same["reason"]["rule"], "same_identifier", "{same}");
    // A different order number vetoes a similar text.
    let other_order = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "text": "Meine Bestellung BE-2026-299999 ist nicht angekommen."}),
    )
    .await;
    assert_eq!(other_order["new_case"], true, "{other_order}");

    // A merged case's reference leads to the case it was merged into.
    let c = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "text": "Ich möchte meine Adresse für künftige Lieferungen ändern: Hauptstraße 5, 10115 Berlin."}),
    )
    .await;
    let c_ref = c["case"]["reference"].as_str().unwrap().to_owned();
    assert_ne!(c_ref, a_ref);
    let (s, m) = app
        .post("/api/v1/cases", json!({"customer": {"email": "kunde.a@example.de"}, "subject": "x", "contact": {"text": "Rechnung fehlt"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let m_ref = m["reference"].as_str().unwrap().to_owned();
    let store = app.store();
    let src = store
        .case_by_ref(anliegen_core::CaseRef::parse(&m_ref).unwrap())
        .await
        .unwrap()
        .unwrap();
    let dst = store
        .case_by_ref(anliegen_core::CaseRef::parse(&c_ref).unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .exec(
            anliegen_core::Actor::System,
            anliegen_store::Command::MergeCases {
                source: src.id,
                target: dst.id,
            },
        )
        .await
        .unwrap();
    let via_merged = inbound(
        &app,
        json!({"customer": {"email": "kunde.a@example.de"}, "case_reference": m_ref, "text": "Nachtrag"}),
    )
    .await;
    assert_eq!(
        via_merged["case"]["reference"],
        c_ref.as_str(),
        "{via_merged}"
    );

    // An agent who may not see the case still logs the call onto it, but learns nothing of it.
    let (_, other_team) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Andere", "description": ""}),
        )
        .await;
    let (_, own_team) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Eigene", "description": ""}),
        )
        .await;
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{a_ref}"),
            json!({"team_id": other_team["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, agent) = app
        .post("/api/v1/agents", json!({"email": "eva@shop.example", "name": "Eva", "role": "agent", "password": "ein-gutes-passwort", "teams": [own_team["id"]]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    let (s, t) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "t", "agent_id": agent["id"], "scopes": ["read", "write"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (s, _, hidden) = app
        .req_as(
            t["token"].as_str().unwrap(),
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some(json!({"customer": {"email": "kunde.a@example.de"}, "channel": "phone", "case_reference": a_ref, "text": "Rückruf erbeten"})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hidden}");
    assert_eq!(hidden["case"], Value::Null, "{hidden}");
    assert!(!hidden.to_string().contains(&a_ref), "{hidden}");

    // Bad input: a malformed reference is a clear 422, never a 500.
    let (s, p) = app
        .post("/api/v1/contacts", json!({"customer": {"email": "kunde.a@example.de"}, "case_reference": "A-", "text": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (s, _) = app
        .post(
            "/api/v1/contacts",
            json!({"customer": {"email": "kunde.a@example.de"}, "channel": "note", "text": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Item 3: ordered rules choose team and priority (an event with the rule); within the team,
/// round-robin among available agents below their capacity; away agents get nothing; a full
/// team leaves the case unassigned and says so.
#[tokio::test]
async fn routing_rules_and_assignment() {
    let app = TestApp::spawn().await;
    let (_, premium) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Premium", "description": ""}),
        )
        .await;
    let premium_id = premium["id"].as_str().unwrap().to_owned();
    let (_, general) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Allgemein", "description": ""}),
        )
        .await;
    let mut agents = Vec::new();
    for who in ["p1@shop.example", "p2@shop.example"] {
        let (s, a) = app
            .post("/api/v1/agents", json!({"email": who, "name": who, "role": "agent", "password": "ein-gutes-passwort", "teams": [premium_id], "languages": ["de"]}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        agents.push(a["id"].as_str().unwrap().to_owned());
    }
    let (s, t) = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/teams/{premium_id}/assignment"),
            Some(json!({"mode": "round_robin", "max_open": 2, "skills": []})),
        )
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["assignment"]["mode"], "round_robin");
    let (s, bad) = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/teams/{premium_id}/assignment"),
            Some(json!({"mode": "lottery", "max_open": 2})),
        )
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, r1) = app
        .post("/api/v1/routing-rules", json!({"name": "Premium zuerst", "conditions": {"tiers": ["premium"]}, "team_id": premium_id, "priority": "high"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r1}");
    let (s, r2) = app
        .post("/api/v1/routing-rules", json!({"name": "Telefon", "conditions": {"channels": ["phone"], "keywords": ["Rücksendung"]}, "team_id": general["id"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r2}");
    let (s, bad) = app
        .post(
            "/api/v1/routing-rules",
            json!({"name": "nichts", "conditions": {}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rule sets something: {bad}"
    );
    let (s, bad) = app
        .post(
            "/api/v1/routing-rules",
            json!({"name": "x", "conditions": {"channels": ["fax"]}, "priority": "low"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (_, rules) = app.get("/api/v1/routing-rules").await;
    assert_eq!(rules.as_array().unwrap().len(), 2);

    // Keywords fold: "Ruecksendung" on the phone goes to the general team.
    let phone = inbound(&app, json!({"customer": {"email": "egal@example.de"}, "channel": "phone", "text": "Frage zur Ruecksendung eines Mantels"})).await;
    assert_eq!(phone["case"]["team_id"], general["id"]);

    // Premium customers: round-robin within capacity.
    let mut assigned = Vec::new();
    let mut case_ids = Vec::new();
    let texts = [
        "Die Lampe kam zerbrochen an.",
        "Bitte senden Sie mir eine Rechnungskopie für März.",
        "Mein Gutschein SOMMER10 funktioniert nicht.",
        "Ich möchte meine Adresse ändern.",
        "Das Sofa ist nur zur Hälfte geliefert worden.",
    ];
    for (i, text) in texts.iter().enumerate() {
        let c = customer(&app, json!({"name": format!("Premium {i}"), "tier": "premium", "identities": [{"kind": "email", "value": format!("vip{i}@example.de")}]})).await;
        let r = inbound(&app, json!({"customer": {"id": c["id"]}, "text": text})).await;
        assert_eq!(r["case"]["team_id"], premium_id.as_str(), "{r}");
        assert_eq!(r["case"]["priority"], "high");
        assigned.push(r["case"]["assignee_id"].as_str().map(str::to_owned));
        case_ids.push(r["case"]["id"].as_str().unwrap().to_owned());
        if i == 0 {
            let (_, ev) = app
                .get(&format!(
                    "/api/v1/cases/{}/events",
                    r["case"]["id"].as_str().unwrap()
                ))
                .await;
            let routed = ev
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "case_routed")
                .expect("routed event");
            assert_eq!(routed["data"]["rule"], "Premium zuerst");
            assert!(ev.to_string().contains("case_assigned"));
        }
    }
    // Two agents, two open cases each: 4 assigned in turn, the fifth waits in the team queue.
    let got: Vec<Option<String>> = assigned.clone();
    assert!(
        got[0]
            .as_deref()
            .is_some_and(|a| agents.iter().any(|x| x == a)),
        "{got:?}"
    );
    assert_ne!(got[0], got[1], "in turn: {got:?}");
    assert_eq!(got[0], got[2], "{got:?}");
    assert_eq!(got[1], got[3], "{got:?}");
    assert_eq!(got[4], None, "capacity: {got:?}");

    // Room appears: agent 1 solves a case, and the waiting fifth case goes to them by itself.
    let first_case = case_ids[0].clone();
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{first_case}"),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let waiting = case_ids[4].clone();
    let took = wait_until(&app, &format!("/api/v1/cases/{waiting}"), |v| {
        !v["case"]["assignee_id"].is_null()
    })
    .await;
    assert_eq!(
        took["case"]["assignee_id"],
        got[0].as_deref().unwrap(),
        "{took:#}"
    );

    // An agent away gets nothing even with room; back, the waiting case goes to them.
    let (s, v) = app
        .patch(
            &format!("/api/v1/agents/{}", agents[0]),
            json!({"available": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .patch(
            &format!("/api/v1/agents/{}", agents[1]),
            json!({"available": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = customer(&app, json!({"name": "Premium X", "tier": "premium", "identities": [{"kind": "email", "value": "vipx@example.de"}]})).await;
    let r = inbound(
        &app,
        json!({"customer": {"id": c["id"]}, "text": "Wann kommt meine Bestellung BE-2026-123456?"}),
    )
    .await;
    assert_eq!(r["case"]["assignee_id"], Value::Null, "away: {r}");
    let x = r["case"]["id"].as_str().unwrap().to_owned();
    // Room while away changes nothing.
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{}", case_ids[1]),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, still) = app.get(&format!("/api/v1/cases/{x}")).await;
    assert_eq!(still["case"]["assignee_id"], Value::Null, "{still:#}");
    let back = got[1].as_deref().unwrap().to_owned();
    let back_idx = agents.iter().position(|a| *a == back).unwrap();
    let (s, _) = app
        .patch(
            &format!("/api/v1/agents/{}", agents[back_idx]),
            json!({"available": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let took = wait_until(&app, &format!("/api/v1/cases/{x}"), |v| {
        !v["case"]["assignee_id"].is_null()
    })
    .await;
    assert_eq!(took["case"]["assignee_id"], back.as_str(), "{took:#}");

    // Deleting a rule takes it out of routing.
    let (s, _) = app
        .req(
            reqwest::Method::DELETE,
            &format!("/api/v1/routing-rules/{}", r1["id"].as_str().unwrap()),
            None,
        )
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let c = customer(&app, json!({"name": "Premium Z", "tier": "premium", "identities": [{"kind": "email", "value": "vipz@example.de"}]})).await;
    let r = inbound(
        &app,
        json!({"customer": {"id": c["id"]}, "text": "Die Farbe ist anders als bestellt."}),
    )
    .await;
    assert_eq!(r["case"]["team_id"], Value::Null, "{r}");
}

/// Item 4: words of anger escalate by themselves; an agent escalates by hand up the configured
/// tiers; above the last tier the API says so; the settings refuse nonsense.
#[tokio::test]
async fn escalation_by_words_and_by_hand() {
    let app = TestApp::spawn().await;
    let (_, t1) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Fachteam", "description": ""}),
        )
        .await;
    let (s, bad) = app
        .req(reqwest::Method::PUT, "/api/v1/settings/escalation", Some(json!({"after_repeats": 500, "on_keywords": true, "keywords_de": [], "keywords_en": [], "on_overdue_promise": true, "on_sla_breach": true, "tiers": []})))
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, bad) = app
        .req(reqwest::Method::PUT, "/api/v1/settings/matching", Some(json!({"enabled": true, "window_days": 30, "min_score": 1.5, "near_duplicate": 0.9, "acknowledge_repeats": true})))
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, esc) = app
        .req(
            reqwest::Method::PUT,
            "/api/v1/settings/escalation",
            Some(json!({"after_repeats": 2, "on_keywords": true, "keywords_de": ["Anwalt", "Frechheit"], "keywords_en": ["lawyer"],
                "on_overdue_promise": true, "on_sla_breach": true,
                "tiers": [{"name": "Fachteam", "team_id": t1["id"], "priority": "high", "notify_supervisors": true},
                          {"name": "Leitung", "team_id": null, "priority": "urgent", "notify_supervisors": true}]})),
        )
        .await
        .pipe(|(s, _, v)| (s, v));
    assert_eq!(s, StatusCode::OK, "{esc}");
    let (_, got) = app.get("/api/v1/settings/escalation").await;
    assert_eq!(got["tiers"][1]["name"], "Leitung");

    let angry = inbound(&app, json!({"customer": {"email": "wuetend@example.de"}, "text": "Das ist eine FRECHHEIT! Ich schalte meinen Anwalt ein."})).await;
    let id = angry["case"]["id"].as_str().unwrap().to_owned();
    let detail = wait_until(&app, &format!("/api/v1/cases/{id}"), |v| {
        v["case"]["escalation_level"] == 1
    })
    .await;
    assert_eq!(detail["case"]["team_id"], t1["id"]);
    assert_eq!(detail["case"]["priority"], "high");
    let ev = detail["events"].to_string();
    assert!(ev.contains("\"trigger\":\"keyword\""), "{ev}");
    // The supervisors (here: the first admin) are told.
    let (_, agents) = app.get("/api/v1/agents").await;
    let admin: anliegen_core::AgentId = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut told = false;
    for _ in 0..100 {
        let n = app.store().notifications(admin, 20).await.unwrap();
        if n.iter()
            .any(|n| n.kind == "escalated" && n.excerpt.contains("Anwalt"))
        {
            told = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(told, "an escalation notification for the supervisors");

    // By hand: one tier up, then no further.
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/escalate"),
            json!({"reason": "Kunde droht mit Klage"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["escalation_level"], 2);
    assert_eq!(v["priority"], "urgent");
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/escalate"),
            json!({"reason": "noch höher"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/escalate"),
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, detail) = app.get(&format!("/api/v1/cases/{id}")).await;
    let notes: Vec<&Value> = detail["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["visibility"] == "internal")
        .collect();
    assert_eq!(notes.len(), 2, "one hand-off note per escalation");
    assert!(
        notes[1]["text"]
            .as_str()
            .unwrap()
            .contains("Von Hand eskaliert: Kunde droht mit Klage")
    );

    // A calm message does not escalate.
    let calm = inbound(
        &app,
        json!({"customer": {"email": "ruhig@example.de"}, "text": "Vielen Dank, alles bestens."}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, d) = app
        .get(&format!(
            "/api/v1/cases/{}",
            calm["case"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(d["case"]["escalation_level"], 0);
}

/// Item 2: a repeat by form is answered by mail with the case's reference and status instead
/// of a new ticket number.
#[tokio::test]
async fn form_repeat_is_answered_with_the_existing_case() {
    if skip() {
        return;
    }
    let sink = Sink::start();
    let clock = Arc::new(ManualClock::new("2026-11-02T09:00:00Z".parse().unwrap()));
    let app = app_with_clock(&sink, clock.clone()).await;
    let first = inbound(
        &app,
        json!({"customer": {"email": "petra@example.de", "name": "Petra Lang"}, "channel": "form", "subject": "Sofa",
               "text": "Mein Sofa aus der Bestellung BE-2026-777001 ist nur zur Hälfte geliefert worden, der zweite Karton fehlt."}),
    )
    .await;
    let reference = first["case"]["reference"].as_str().unwrap().to_owned();
    day(&clock, 2);
    let second = inbound(
        &app,
        json!({"customer": {"email": "petra@example.de"}, "channel": "form", "subject": "Zweiter Karton",
               "text": "Wo bleibt der zweite Karton vom Sofa? Bestellung BE-2026-777001, ich warte immer noch."}),
    )
    .await;
    assert_eq!(second["case"]["reference"], reference.as_str(), "{second}");
    assert_eq!(second["new_case"], false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let jobs = app.store().jobs(None, 50).await.unwrap();
    eprintln!("reason {} jobs {jobs:#?}", second["reason"]);
    let mail = sink.wait_for(1).await;
    assert!(
        header(&mail, "Subject").unwrap().contains(&reference),
        "{mail}"
    );
    assert!(
        header(&mail, "To").unwrap().contains("petra@example.de"),
        "{mail}"
    );
    assert!(mail.contains("bereits"), "{mail}");
}

/// Item 2: a contact whose score falls just short of joining opens a new case that names the
/// customer's open case it is perhaps about, for the agent to judge (never joined silently).
#[tokio::test]
async fn a_near_miss_opens_a_case_that_names_the_other() {
    let app = TestApp::spawn().await;
    let first = inbound(
        &app,
        json!({"customer": {"email": "lampe@example.de"}, "channel": "form", "text": "Die Lampe flackert seit gestern."}),
    )
    .await;
    let reference = first["case"]["reference"].as_str().unwrap().to_owned();
    let second = inbound(
        &app,
        json!({"customer": {"email": "lampe@example.de"}, "channel": "form", "text": "Die Lampe geht jetzt gar nicht mehr an."}),
    )
    .await;
    assert_eq!(second["new_case"], true, "{second}");
    assert_eq!(second["reason"]["rule"], "new_case");
    assert_eq!(second["reason"]["maybe"], reference.as_str(), "{second}");
    assert!(
        second["reason_text"].as_str().unwrap().contains(&reference),
        "{second}"
    );
    // Another customer's case is never named.
    let stranger = inbound(
        &app,
        json!({"customer": {"email": "fremd@example.de"}, "channel": "form", "text": "Die Lampe geht jetzt gar nicht mehr an."}),
    )
    .await;
    assert!(stranger["reason"].get("maybe").is_none(), "{stranger}");
}
