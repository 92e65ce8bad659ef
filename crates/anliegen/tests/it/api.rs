//! The case model through the API: customers and identities, cases and their lifecycle,
//! contacts, timeline, teams, agents, events, attachments.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn open_cases_find_the_customer_by_identity_and_show_the_timeline() {
    let app = TestApp::spawn().await;
    let a = app
        .open_case(
            "Verlag@Example.DE",
            "Guten Tag, unsere Bücher haben den falschen Preis.",
        )
        .await;
    assert!(a["reference"].as_str().unwrap().starts_with("A-"));
    assert_eq!(a["status"], "new");
    assert_eq!(a["language"], "de");
    let b = app
        .open_case(
            "verlag@example.de",
            "Hello, a second concern about our listing in the shop.",
        )
        .await;
    assert_eq!(
        a["customer_id"], b["customer_id"],
        "the same identity leads to the same customer"
    );
    assert_ne!(a["reference"], b["reference"]);

    let (s, c) = app
        .get(&format!("/api/v1/customers?email={}", "VERLAG@example.de"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["items"][0]["id"], a["customer_id"]);
    assert_eq!(c["items"][0]["identities"][0]["value"], "verlag@example.de");

    let reference = a["reference"].as_str().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{reference}/contacts"),
            json!({"kind": "note", "text": "Preis im Katalog prüfen."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = app
        .post(&format!("/api/v1/cases/{reference}/contacts"), json!({"kind": "reply", "text": "Wir kümmern uns darum.", "status": "waiting_on_customer"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["case"]["status"], "waiting_on_customer");
    assert_eq!(r["contact"]["direction"], "outbound");
    assert_eq!(
        r["contact"]["channel"], "email",
        "a reply goes out on the case's channel"
    );

    let (s, d) = app.get(&format!("/api/v1/cases/{reference}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["case"]["id"], a["id"]);
    assert_eq!(d["customer"]["id"], a["customer_id"]);
    let contacts = d["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 3);
    assert_eq!(contacts[1]["visibility"], "internal");
    let types: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "case_opened",
            "contact_added",
            "contact_added",
            "contact_added",
            "status_changed"
        ]
    );
    let seqs: Vec<i64> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "events are ordered: {seqs:?}"
    );
}

#[tokio::test]
async fn the_lifecycle_is_enforced_and_customer_replies_reopen_or_follow_up() {
    let app = TestApp::spawn().await;
    let c = app
        .open_case("kunde@example.de", "Mein Paket ist nicht angekommen.")
        .await;
    let path = format!("/api/v1/cases/{}", c["id"].as_str().unwrap());
    let (s, p) = app.patch(&path, json!({"status": "closed"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "status");
    assert!(
        p["detail"].as_str().unwrap().contains("new to closed"),
        "{p}"
    );
    let (_, unchanged) = app.get(&path).await;
    assert_eq!(unchanged["case"]["status"], "new");
    assert_eq!(
        unchanged["events"].as_array().unwrap().len(),
        2,
        "a refused change writes nothing"
    );

    let (s, p) = app.patch(&path, json!({"status": "solved", "priority": "high", "add_tags": ["Paket"], "fields": {"order_number": "302-4711-0815"}})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "solved");
    assert_eq!(p["tags"], json!(["paket"]));

    let (s, r) = app
        .post(
            &format!("{path}/contacts"),
            json!({"kind": "customer", "text": "Doch nicht gelöst, es fehlt ein Teil."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        r["case"]["status"], "open",
        "a customer reply reopens a solved case"
    );
    let (_, ev) = app.get(&format!("{path}/events")).await;
    assert!(
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "case_reopened")
    );

    app.patch(&path, json!({"status": "solved"})).await;
    let (s, _) = app.patch(&path, json!({"status": "closed"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = app
        .post(
            &format!("{path}/contacts"),
            json!({"kind": "customer", "text": "Noch eine Frage zur Rechnung."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(r["follow_up_of"], c["id"]);
    assert_ne!(
        r["case"]["id"], c["id"],
        "a reply to a closed case opens a follow-up case"
    );
    assert_eq!(r["case"]["follow_up_of"], c["id"]);
    let (s, _) = app
        .post(
            &format!("{path}/contacts"),
            json!({"kind": "reply", "text": "x"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no replies on a closed case"
    );
}

#[tokio::test]
async fn customers_identities_conflicts_and_merge() {
    let app = TestApp::spawn().await;
    let (s, a) = app
        .post(
            "/api/v1/customers",
            json!({"name": "Petra Hoffmann", "tier": "premium", "language": "de", "time_zone": "Europe/Berlin",
                   "identities": [{"kind": "email", "value": "petra@example.de"}, {"kind": "phone", "value": "0951 2976334"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert!(
        a["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["value"] == "+499512976334"),
        "{a}"
    );
    let (s, p) = app
        .post(
            "/api/v1/customers",
            json!({"identities": [{"kind": "email", "value": "PETRA@example.de"}]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an identity belongs to one customer: {p}"
    );
    let (s, p) = app
        .post(
            "/api/v1/customers",
            json!({"identities": [{"kind": "phone", "value": "12"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "identities[0].value");

    let (_, found) = app
        .get("/api/v1/customers?phone=%2B49%20951%202976334")
        .await;
    assert_eq!(found["items"][0]["id"], a["id"]);

    let b = app
        .open_case(
            "petra.privat@example.com",
            "Zweite Adresse, gleiche Person.",
        )
        .await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["customer_id"].as_str().unwrap();
    let (s, m) = app
        .post(
            &format!("/api/v1/customers/{b_id}/merge"),
            json!({"into": a_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["id"], a_id);
    assert_eq!(m["identities"].as_array().unwrap().len(), 3);
    let (_, merged) = app.get(&format!("/api/v1/customers/{b_id}")).await;
    assert_eq!(merged["merged_into"], a_id);
    let (_, cases) = app.get(&format!("/api/v1/cases?customer_id={a_id}")).await;
    assert_eq!(
        cases["items"].as_array().unwrap().len(),
        1,
        "the case moved with the merge"
    );
    let (_, ev) = app.get(&format!("/api/v1/events?customer_id={a_id}")).await;
    assert!(
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "customer_merged")
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/customers/{b_id}/merge"),
            json!({"into": a_id}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a merged customer cannot be merged again"
    );

    let (s, u) = app
        .patch(
            &format!("/api/v1/customers/{a_id}"),
            json!({"name": null, "tier": "standard"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["name"], serde_json::Value::Null);
    assert_eq!(u["tier"], "standard");
}

#[tokio::test]
async fn teams_agents_assignment_and_filters_with_pagination() {
    let app = TestApp::spawn().await;
    let (s, team) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Versand & Spedition", "description": "Carrier"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post("/api/v1/teams", json!({"name": "versand & spedition"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (agent_id, _) = app
        .agent_token("jana@example.de", "agent", &["read", "write"])
        .await;
    let (s, teams) = app.get("/api/v1/teams").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(teams.as_array().unwrap().len(), 1);

    let mut ids = Vec::new();
    for i in 0..25 {
        let c = app
            .open_case(&format!("k{i}@example.de"), "Wo bleibt meine Lieferung?")
            .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let (s, p) = app
        .patch(&format!("/api/v1/cases/{}", ids[3]), json!({"team_id": team["id"], "assignee_id": agent_id, "status": "open", "tags": ["sofa"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, by_team) = app
        .get(&format!(
            "/api/v1/cases?team_id={}",
            team["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_team["items"].as_array().unwrap().len(), 1);
    let (_, by_tag) = app.get("/api/v1/cases?tag=sofa&status=open").await;
    assert_eq!(by_tag["items"][0]["id"], ids[3].as_str());
    let (_, unassigned) = app.get("/api/v1/cases?assignee_id=none&limit=200").await;
    assert_eq!(unassigned["items"].as_array().unwrap().len(), 24);
    let (_, mine) = app
        .get(&format!("/api/v1/cases?assignee_id={agent_id}"))
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (s, p) = app
        .patch(
            &format!("/api/v1/cases/{}", ids[4]),
            json!({"assignee_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    let mut seen = std::collections::HashSet::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let (s, page) = app.get(&format!("/api/v1/cases?limit=10{q}")).await;
        assert_eq!(s, StatusCode::OK);
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        for i in items {
            assert!(
                seen.insert(i["id"].as_str().unwrap().to_owned()),
                "no case twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [10, 10, 5]);
}

#[tokio::test]
async fn attachments_download_safely_and_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    use base64::Engine as _;
    let small = b"%PDF-1.4 Rechnung".to_vec();
    let large: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let enc = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let (s, c) = app
        .post(
            "/api/v1/cases",
            json!({"customer": {"email": "anhang@example.de"}, "contact": {"text": "Rechnung anbei", "html": "<p onclick=\"x()\">Hallo<script>alert(1)</script></p>",
                   "attachments": [{"filename": "../Rechnung März.pdf", "content_type": "application/pdf", "data_base64": enc(&small)},
                                   {"filename": "foto.svg", "content_type": "image/svg+xml", "data_base64": enc(&large)}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (_, d) = app
        .get(&format!("/api/v1/cases/{}", c["id"].as_str().unwrap()))
        .await;
    let contact = &d["contacts"][0];
    let html = contact["html"].as_str().unwrap();
    assert!(
        html.contains("Hallo") && !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert_eq!(contact["attachments"][0]["filename"], "Rechnung März.pdf");
    for (i, expected) in [(0, &small), (1, &large)] {
        let url = contact["attachments"][i]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .client
            .get(format!("{}{url}", app.url))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(
            res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(&res.bytes().await.unwrap()[..], &expected[..]);
    }
    let url = contact["attachments"][1]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    app.restart().await;
    let res = app
        .client
        .get(format!("{}{url}", app.url))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        &res.bytes().await.unwrap()[..],
        &large[..],
        "the large blob is durable across restarts"
    );
    let (s, _, _) = app
        .req(
            Method::GET,
            &format!(
                "/api/v1/contacts/{}/attachments/7",
                contact["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jobs_dead_letters_are_listed_and_retried_by_admins() {
    let app = TestApp::spawn().await;
    let store = app.store();
    let job = anliegen_store::NewJob::new("no_such_kind", json!({"x": 1})).attempts(1);
    let id = store.enqueue(&job, store.now()).await.unwrap().unwrap();
    let mut dead = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, list) = app.get("/api/v1/admin/jobs?status=dead").await;
        if list.as_array().is_some_and(|l| !l.is_empty()) {
            dead = list;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        dead[0]["id"],
        id.to_string(),
        "the runner made it a dead letter"
    );
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no handler")
    );
    let (s, j) = app
        .post(&format!("/api/v1/admin/jobs/{id}/retry"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["attempts"], 0);
    let (_, agent_token) = app
        .agent_token("agent@example.de", "agent", &["read", "write"])
        .await;
    let (s, _, _) = app
        .req_as(&agent_token, Method::GET, "/api/v1/admin/jobs", None, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
