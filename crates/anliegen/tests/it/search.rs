//! Search (issue 6), on the backend the suite runs on: relevance on a German/English fixture
//! set, the query language with filters, facets, sorting and snippets, permissions (team-limited
//! agents, internal notes, customer-scoped tokens), catching up after a crash, a damaged
//! embedded index rebuilt, `anliegen search reindex`, and bad input.

use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_anliegen");

fn enc(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

async fn open(app: &TestApp, customer: Value, subject: &str, text: &str, extra: Value) -> Value {
    let mut body = json!({"customer": customer, "subject": subject, "contact": {"channel": "email", "text": text}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (s, v) = app.post("/api/v1/cases", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn search_as(app: &TestApp, token: &str, q: &str, more: &str) -> (StatusCode, Value) {
    let (s, _, v) = app
        .req_as(
            token,
            Method::GET,
            &format!("/api/v1/search?q={}{more}", enc(q)),
            None,
            None,
        )
        .await;
    (s, v)
}

async fn search(app: &TestApp, q: &str) -> Value {
    let (s, v) = search_as(app, &app.token, q, "").await;
    assert_eq!(s, StatusCode::OK, "{q}: {v}");
    v
}

/// References of the hits, in order.
fn refs(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|h| h["kind"] == "case")
                .map(|h| h["reference"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until every committed event is searchable.
async fn indexed(app: &TestApp) {
    for _ in 0..200 {
        let v = search(app, "*").await;
        if v["lag"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the search index did not catch up");
}

fn r(case: &Value) -> String {
    case["reference"].as_str().expect("reference").to_owned()
}

#[tokio::test]
async fn relevance_german_and_english_folding_stemming_phrases_and_exact_identifiers() {
    let app = TestApp::spawn().await;
    let a = open(&app, json!({"email": "hans@example.de", "name": "Hans Müller"}), "Paket fehlt",
        "Guten Tag, mein Paket mit der Sendungsnummer 00340434161094042557 ist nicht angekommen. Lieferadresse: Hauptstraße 5, Berlin. Viele Grüße, Hans Müller", json!({})).await;
    let b = open(&app, json!({"email": "verlag@example.de"}), "Rücksendung ohne Erstattung",
        "Ich habe die Rücksendungen letzte Woche abgeschickt, aber noch keine Erstattung erhalten. Bitte prüfen Sie das.", json!({})).await;
    let c = open(&app, json!({"email": "jane@example.com"}), "Damaged parcels",
        "The parcels arrived damaged and I would like to return them. Please refund to my IBAN DE89 3704 0044 0532 0130 00.", json!({})).await;
    let d = open(&app, json!({"email": "abo@example.de"}), "Kündigung",
        "Bitte bestätigen Sie meine Kündigung des Abos. Die letzte Lieferung ist angekommen, danke.", json!({})).await;
    let e = open(
        &app,
        json!({"email": "petra@example.de", "name": "Petra Mueller"}),
        "Frage zur Rechnung",
        "Wo finde ich meine Rechnung für den Gutschein?",
        json!({}),
    )
    .await;
    indexed(&app).await;
    let (ra, rb, rc, rd, re) = (r(&a), r(&b), r(&c), r(&d), r(&e));

    // Umlauts and ß fold: Müller/Mueller/Muller meet, Straße/Strasse meet.
    for q in ["Müller", "Mueller", "Muller", "MÜLLER"] {
        let got = refs(&search(&app, q).await);
        assert!(got.contains(&ra) && got.contains(&re), "{q}: {got:?}");
        assert_eq!(got.len(), 2, "{q}: {got:?}");
    }
    assert_eq!(refs(&search(&app, "Hauptstrasse").await), vec![ra.clone()]);
    // Stemming, both directions, and as-you-type prefixes.
    for q in [
        "Rücksendung",
        "Rücksendungen",
        "ruecksendung",
        "Rücksend*",
        "Rücksendu*",
    ] {
        assert_eq!(refs(&search(&app, q).await), vec![rb.clone()], "{q}");
    }
    // English stems; German words do not meet English ones by accident.
    assert_eq!(
        refs(&search(&app, "parcel returns").await),
        vec![rc.clone()]
    );
    assert_eq!(refs(&search(&app, "Paket").await), vec![ra.clone()]);
    // Compound-ish queries: every word must match.
    assert_eq!(
        refs(&search(&app, "Rücksendung Erstattung").await),
        vec![rb.clone()]
    );
    assert!(refs(&search(&app, "Rücksendung Kündigung").await).is_empty());
    // Phrases keep their negation; a single word matches both.
    assert_eq!(
        refs(&search(&app, "\"nicht angekommen\"").await),
        vec![ra.clone()]
    );
    let got = refs(&search(&app, "angekommen").await);
    assert!(
        got.contains(&ra) && got.contains(&rd) && got.len() == 2,
        "{got:?}"
    );
    assert_eq!(
        refs(&search(&app, "angekommen -Kündigung").await),
        vec![ra.clone()]
    );
    // Exact identifiers: tracking number, one digit short finds nothing; case reference; IBAN
    // written with or without spaces; an address.
    assert_eq!(
        refs(&search(&app, "00340434161094042557").await),
        vec![ra.clone()]
    );
    assert!(refs(&search(&app, "0034043416109404255").await).is_empty());
    assert_eq!(refs(&search(&app, &rd).await), vec![rd.clone()]);
    assert_eq!(
        refs(&search(&app, &rd.to_lowercase()).await),
        vec![rd.clone()]
    );
    assert_eq!(
        refs(&search(&app, "DE89370400440532013000").await),
        vec![rc.clone()]
    );
    assert_eq!(
        refs(&search(&app, "\"DE89 3704 0044 0532 0130 00\"").await),
        vec![rc.clone()]
    );
    assert_eq!(
        refs(&search(&app, "verlag@example.de").await),
        vec![rb.clone()]
    );
    // Snippets mark the hit and escape the rest; the subject weighs more than the body.
    let v = search(&app, "Erstattung").await;
    let snippet = v["hits"][0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("<mark>Erstattung</mark>"), "{snippet}");
    // Customers are found by name and address too.
    let v = search(&app, "is:customer Mueller").await;
    let mut names: Vec<&str> = v["hits"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|h| h["title"].as_str().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert_eq!(names, vec!["Hans Müller", "Petra Mueller"], "{v}");
    assert!(
        v["hits"]
            .as_array()
            .is_some_and(|h| h.iter().all(|h| h["kind"] == "customer"))
    );
}

#[tokio::test]
async fn phrases_need_their_words_in_order_and_excluded_phrases_keep_the_rest() {
    let app = TestApp::spawn().await;
    let a = open(
        &app,
        json!({"email": "phrase1@example.de"}),
        "Lieferung",
        "Das Paket ist leider nicht angekommen.",
        json!({}),
    )
    .await;
    let b = open(
        &app,
        json!({"email": "phrase2@example.de"}),
        "Rechnung",
        "Nicht die Rechnung fehlt, das Paket ist angekommen, aber beschädigt.",
        json!({}),
    )
    .await;
    indexed(&app).await;
    // Both hold both words; only one in this order.
    assert_eq!(
        refs(&search(&app, "\"nicht angekommen\"").await),
        vec![r(&a)]
    );
    assert_eq!(
        refs(&search(&app, "Paket \"nicht angekommen\"").await),
        vec![r(&a)]
    );
    assert_eq!(
        refs(&search(&app, "angekommen -\"nicht angekommen\"").await),
        vec![r(&b)]
    );
    let v = search(&app, "\"Rechnung fehlt\" Paket").await;
    assert_eq!(refs(&v), vec![r(&b)]);
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["total_capped"], false, "{v}");
}

#[tokio::test]
async fn a_word_every_case_holds_pages_newest_first() {
    // On PostgreSQL, once its statistics say most cases hold a word, the newest documents are
    // checked one by one instead of visiting every match: the pages must be the same.
    let app = TestApp::spawn().await;
    let mut opened = Vec::new();
    for i in 0..6 {
        let c = open(
            &app,
            json!({"email": format!("reklamation{i}@example.de")}),
            &format!("Reklamation {i}"),
            &format!("Reklamation wegen Artikel Nummer {i}, bitte um Rückmeldung."),
            json!({}),
        )
        .await;
        opened.push(r(&c));
    }
    indexed(&app).await;
    if let Some(url) = &app.settings.database_url {
        let out = std::process::Command::new("psql")
            .arg(url)
            .args(["-qAtc", "ANALYZE search_docs_case; SELECT count(*) FROM pg_stats WHERE tablename = 'search_docs_case' AND attname = 'agent_tsv' AND most_common_elems IS NOT NULL"])
            .output()
            .expect("psql runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.trim(), "1", "statistics of the lexemes: {stdout}");
    }
    let newest: Vec<String> = opened.iter().rev().cloned().collect();
    let (s, v) = search_as(&app, &app.token, "Reklamation", "&sort=newest&limit=3").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(refs(&v), newest[..3].to_vec(), "{v}");
    let (s, v) = search_as(
        &app,
        &app.token,
        "Reklamation",
        "&sort=newest&limit=3&offset=3",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(refs(&v), newest[3..].to_vec(), "{v}");
    // With an excluded word the index answers (the newest-first walk is for words alone).
    let (s, v) = search_as(
        &app,
        &app.token,
        "Reklamation -Nummer",
        "&sort=newest&limit=3",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(refs(&v).is_empty(), "{v}");
}

#[tokio::test]
async fn filters_facets_sorting_and_the_issue_example_query() {
    let app = TestApp::spawn().await;
    let (s, team) = app
        .post(
            "/api/v1/teams",
            json!({"name": "Vendor", "description": "Händler"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().expect("id").to_owned();
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 Lieferschein");
    let hit = open(
        &app,
        json!({"email": "verlag@example.de"}),
        "Anhänger beschädigt",
        "Der Anhänger ist nicht angekommen, nur die Hälfte der Lieferung.",
        json!({"team_id": team_id, "tags": ["trailer"]}),
    )
    .await;
    // Same words, but another channel, tag or team each: must not match the full query.
    let other_team = open(
        &app,
        json!({"email": "verlag@example.de"}),
        "Anhänger",
        "Der Anhänger ist nicht angekommen.",
        json!({"tags": ["trailer"]}),
    )
    .await;
    let other_sender = open(
        &app,
        json!({"email": "someone@example.de"}),
        "Anhänger",
        "Der Anhänger ist nicht angekommen.",
        json!({"team_id": team_id, "tags": ["trailer"]}),
    )
    .await;
    for c in [&hit, &other_team, &other_sender] {
        let (s, v) = app
            .patch(
                &format!("/api/v1/cases/{}", c["id"].as_str().unwrap_or_default()),
                json!({"status": "open"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let id = hit["id"].as_str().expect("id");
    // A phone call logged with a photo.
    let (s, v) = app
        .post(
            &format!("/api/v1/cases/{id}/contacts"),
            json!({"kind": "customer", "channel": "phone", "text": "Rückruf: Kunde schickt Foto vom Lieferschein.",
                   "attachments": [{"filename": "lieferschein-2026.pdf", "content_type": "application/pdf", "data_base64": pdf}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    indexed(&app).await;

    let q = "status:open team:vendor tag:trailer from:verlag@example.de created:>2026-11-01 has:attachment channel:phone \"nicht angekommen\"";
    let v = search(&app, q).await;
    assert_eq!(refs(&v), vec![r(&hit)], "{v}");
    // Each filter alone narrows as it says.
    assert_eq!(
        refs(&search(&app, "team:vendor -tag:trailer").await),
        Vec::<String>::new()
    );
    let got = refs(&search(&app, "team:vendor Anhänger").await);
    assert!(
        got.contains(&r(&hit)) && got.contains(&r(&other_sender)) && got.len() == 2,
        "{got:?}"
    );
    assert_eq!(
        refs(&search(&app, "from:Verlag@Example.de has:attachment").await),
        vec![r(&hit)]
    );
    assert_eq!(refs(&search(&app, "channel:phone").await), vec![r(&hit)]);
    // Excluded filters, with words and alone (PostgreSQL keeps these as lexemes).
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(refs(&search(&app, "Anhänger -channel:phone").await)),
        sorted(vec![r(&other_team), r(&other_sender)])
    );
    assert_eq!(
        sorted(refs(&search(&app, "-channel:phone -tag:none").await)),
        sorted(vec![r(&other_team), r(&other_sender)])
    );
    assert_eq!(
        refs(&search(&app, "Anhänger -from:verlag@example.de").await),
        vec![r(&other_sender)]
    );
    assert_eq!(
        refs(&search(&app, "tag:trailer priority:normal channel:phone").await),
        vec![r(&hit)]
    );
    assert!(refs(&search(&app, "created:<2026-11-01 Anhänger").await).is_empty());
    assert_eq!(
        refs(&search(&app, "status:new Anhänger").await),
        Vec::<String>::new()
    );
    // Attachment names are searchable.
    assert_eq!(refs(&search(&app, "lieferschein").await), vec![r(&hit)]);
    // Facets: counts by status and team.
    let v = search(&app, "Anhänger").await;
    assert_eq!(v["total"], 3);
    assert_eq!(
        v["by_status"],
        json!([{"value": "open", "label": null, "count": 3}])
    );
    let teams = v["by_team"].as_array().cloned().unwrap_or_default();
    assert!(
        teams.contains(&json!({"value": team_id, "label": "Vendor", "count": 2})),
        "{teams:?}"
    );
    assert!(
        teams.contains(&json!({"value": null, "label": null, "count": 1})),
        "{teams:?}"
    );
    // Sorting by date, both ways.
    let (s, newest) = search_as(&app, &app.token, "Anhänger", "&sort=newest").await;
    assert_eq!(s, StatusCode::OK);
    let (_, oldest) = search_as(&app, &app.token, "Anhänger", "&sort=oldest").await;
    let mut rev = refs(&oldest);
    rev.reverse();
    assert_eq!(refs(&newest), rev);
    assert_eq!(
        refs(&newest)[0],
        r(&hit),
        "the case with the latest contact is newest"
    );
    // Paging.
    let (_, page) = search_as(
        &app,
        &app.token,
        "Anhänger",
        "&sort=newest&limit=1&offset=1",
    )
    .await;
    assert_eq!(refs(&page), vec![refs(&newest)[1].clone()]);
    // Unknown team names explain themselves.
    let (s, v) = search_as(&app, &app.token, "team:nobody", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["detail"].as_str().unwrap_or_default().contains("Vendor"),
        "{v}"
    );
}

#[tokio::test]
async fn permissions_team_limited_agents_internal_notes_and_customer_scoped_tokens() {
    let app = TestApp::spawn().await;
    let (_, t1) = app.post("/api/v1/teams", json!({"name": "Retouren"})).await;
    let (_, t2) = app.post("/api/v1/teams", json!({"name": "Betrug"})).await;
    let (t1, t2) = (t1["id"].clone(), t2["id"].clone());
    let mine = open(
        &app,
        json!({"email": "kundin@example.de"}),
        "Retoure Quokka",
        "Meine Retoure Quokka ist unterwegs.",
        json!({"team_id": t1}),
    )
    .await;
    let hidden = open(
        &app,
        json!({"email": "other@example.de"}),
        "Betrugsverdacht Quokka",
        "Quokka-Händler verlangt Vorkasse per Überweisung.",
        json!({"team_id": t2}),
    )
    .await;
    let unteamed = open(
        &app,
        json!({"email": "kundin@example.de"}),
        "Zweite Frage Quokka",
        "Noch eine Frage zu Quokka.",
        json!({}),
    )
    .await;
    // An internal note on the customer's own case.
    let (s, v) = app
        .post(&format!("/api/v1/cases/{}/contacts", mine["id"].as_str().unwrap_or_default()),
            json!({"kind": "note", "text": "Intern: Kundin hat schon dreimal angerufen, Wombat-Gutschein angeboten."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    indexed(&app).await;

    // An agent of team 1 sees team 1's and unteamed cases, not team 2's.
    let (s, agent) = app
        .post("/api/v1/agents", json!({"email": "jana@shop.example", "name": "Jana", "role": "agent", "password": "ein-gutes-passwort", "teams": [t1]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    let (s, tok) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "t", "agent_id": agent["id"], "scopes": ["read"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{tok}");
    let jana = tok["token"].as_str().expect("token").to_owned();
    let (s, v) = search_as(&app, &jana, "Quokka", "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got = refs(&v);
    assert!(
        got.contains(&r(&mine)) && got.contains(&r(&unteamed)),
        "{got:?}"
    );
    assert!(!got.contains(&r(&hidden)), "a team-2 case leaked: {got:?}");
    assert_eq!(
        v["total"], 2,
        "facets count only what the agent may see: {v}"
    );
    // The admin sees all three.
    assert_eq!(refs(&search(&app, "Quokka").await).len(), 3);
    // Agents find internal notes, with the snippet marked internal.
    let v = search(&app, "Wombat").await;
    assert_eq!(refs(&v), vec![r(&mine)]);
    assert_eq!(v["hits"][0]["snippet_internal"], true, "{v}");

    // A customer-scoped token: only that customer's cases, no notes.
    let customer = mine["customer_id"]
        .as_str()
        .expect("customer_id")
        .to_owned();
    let (s, ct) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "portal", "scopes": [format!("customer:{customer}")]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ct}");
    let ct = ct["token"].as_str().expect("token").to_owned();
    let (s, v) = search_as(&app, &ct, "Quokka", "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut got = refs(&v);
    got.sort();
    let mut want = vec![r(&mine), r(&unteamed)];
    want.sort();
    assert_eq!(got, want);
    assert!(v["by_team"].as_array().is_some_and(Vec::is_empty), "{v}");
    assert!(
        refs(&search_as(&app, &ct, "Wombat", "").await.1).is_empty(),
        "notes are for agents"
    );
    assert!(refs(&search_as(&app, &ct, "Vorkasse", "").await.1).is_empty());
    assert!(refs(&search_as(&app, &ct, "is:customer kundin", "").await.1).is_empty());
    let (s, v) = search_as(&app, &ct, "has:note", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["hits"].as_array().is_some_and(|h| {
        h.iter()
            .all(|h| !h["snippet"].as_str().unwrap_or("").contains("Wombat"))
    }));
    // Everything else is closed to it.
    for path in [
        "/api/v1/cases",
        "/api/v1/auth/me",
        "/api/v1/customers",
        "/api/v1/tokens",
    ] {
        let (s, _, _) = app.req_as(&ct, Method::GET, path, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    // Nor does it open the workspace as a session cookie.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/cases", app.url))
        .header("cookie", format!("anliegen_session={ct}"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sent to sign in");
    let res = reqwest::Client::new()
        .get(format!("{}/search/suggest?q=Quokka", app.url))
        .header("cookie", format!("anliegen_session={ct}"))
        .header("x-requested-with", "fetch")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Only supervisors make them; the scope stands alone and names a real customer.
    let (s, _) = search_as(&app, &jana, "x", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = app
        .req_as(
            &jana,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "scopes": [format!("customer:{customer}")]})),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "x", "scopes": ["read", format!("customer:{customer}")]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "x", "scopes": [format!("customer:{}", uuid::Uuid::new_v4())]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_commit_the_index_never_saw_is_found_after_restart_and_lag_is_reported() {
    // The node dies between commit and index: here it never indexes at all.
    let mut app = TestApp::spawn_with(|s| s.search_index = false).await;
    let c = open(
        &app,
        json!({"email": "crash@example.de"}),
        "Gürtel verloren",
        "Mein Gürtel mit Sendung 1Z999AA10123456784 ist verloren gegangen.",
        json!({}),
    )
    .await;
    let v = search(&app, "Gürtel").await;
    assert!(refs(&v).is_empty());
    assert!(
        v["lag"].as_i64().unwrap_or(0) > 0,
        "the lag is reported: {v}"
    );
    app.stop().await;
    app.settings.search_index = true;
    app.restart().await;
    indexed(&app).await;
    assert_eq!(refs(&search(&app, "Gürtel").await), vec![r(&c)]);
    assert_eq!(refs(&search(&app, "1Z999AA10123456784").await), vec![r(&c)]);

    // Later changes are followed from where the index stood.
    let (s, _) = app
        .patch(
            &format!("/api/v1/cases/{}", c["id"].as_str().unwrap_or_default()),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    indexed(&app).await;
    assert_eq!(
        refs(&search(&app, "status:solved Gürtel").await),
        vec![r(&c)]
    );
}

#[tokio::test]
async fn a_damaged_embedded_index_is_rebuilt_and_reindex_rebuilds_from_the_store() {
    let mut app = TestApp::spawn().await;
    let c = open(
        &app,
        json!({"email": "index@example.de"}),
        "Sofa halb geliefert",
        "Die zweite Hälfte des Sofas fehlt.",
        json!({}),
    )
    .await;
    indexed(&app).await;
    app.stop().await;
    if app.settings.database_url.is_none() {
        // Damage every file of the index.
        let dir = app.settings.data_dir.join("search");
        let mut damaged = 0;
        for e in std::fs::read_dir(&dir).expect("index dir").flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if p.is_file()
                && !name.starts_with('.')
                && name != "meta.json"
                && name != "managed.json"
            {
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                if len > 8 {
                    std::fs::write(&p, vec![0u8; len as usize]).expect("damage");
                    damaged += 1;
                }
            }
        }
        assert!(damaged > 0, "no index files found to damage");
        app.restart().await;
        indexed(&app).await;
        assert_eq!(
            refs(&search(&app, "Sofa").await),
            vec![r(&c)],
            "rebuilt after damage"
        );
        assert!(
            std::fs::read_dir(&app.settings.data_dir)
                .expect("data dir")
                .flatten()
                .any(|e| e
                    .file_name()
                    .to_string_lossy()
                    .starts_with("search.corrupt-")),
            "the damaged index is kept aside"
        );
        app.stop().await;
    }
    // `anliegen search reindex` rebuilds from the store.
    let store: Vec<String> = match &app.settings.database_url {
        Some(u) => vec!["--database-url".into(), u.clone()],
        None => vec![
            "--data-dir".into(),
            app.settings.data_dir.display().to_string(),
        ],
    };
    let out = std::process::Command::new(BIN)
        .args(["search", "reindex"])
        .args(&store)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Search index rebuilt:"), "{stdout}");
    app.restart().await;
    indexed(&app).await;
    assert_eq!(refs(&search(&app, "Hälfte").await), vec![r(&c)]);
}

#[tokio::test]
async fn bad_queries_get_a_helpful_error_or_a_sane_result_never_a_500() {
    let app = TestApp::spawn().await;
    open(
        &app,
        json!({"email": "x@example.de"}),
        "Paket",
        "Paket kam nicht an.",
        json!({}),
    )
    .await;
    indexed(&app).await;
    let huge = "Paket ".repeat(400);
    let cases: Vec<(&str, StatusCode)> = vec![
        ("\"unbalanced quote", StatusCode::OK),
        ("colour:red", StatusCode::UNPROCESSABLE_ENTITY),
        ("status:sleeping", StatusCode::UNPROCESSABLE_ENTITY),
        ("created:yesterday", StatusCode::UNPROCESSABLE_ENTITY),
        (huge.as_str(), StatusCode::UNPROCESSABLE_ENTITY),
        (".*[a-z]+(((?:", StatusCode::OK),
        ("*", StatusCode::OK),
        ("**** *", StatusCode::OK),
        ("a*", StatusCode::UNPROCESSABLE_ENTITY),
        ("\\ ' ; DROP TABLE search_docs; --", StatusCode::OK),
        ("'''", StatusCode::OK),
        ("&|!:*<->()", StatusCode::OK),
        ("-", StatusCode::OK),
        ("\u{0}\u{1}", StatusCode::OK),
        ("", StatusCode::OK),
    ];
    for (q, want) in cases {
        let (s, v) = search_as(&app, &app.token, q, "").await;
        assert_eq!(s, want, "{q:?}: {v}");
        if s == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
        }
    }
    let (_, v) = search_as(&app, &app.token, "colour:red", "").await;
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("known fields"),
        "{v}"
    );
    // `*` alone lists everything; garbage says it had nothing to search for.
    assert_eq!(refs(&search(&app, "*").await).len(), 1);
    let v = search(&app, ".*[]((").await;
    assert!(v["notice"].as_str().is_some(), "{v}");
    // Parameters are checked too.
    for more in [
        "&limit=0",
        "&limit=1000",
        "&sort=sideways",
        "&offset=5000",
        "&colour=red",
    ] {
        let (s, _) = search_as(&app, &app.token, "Paket", more).await;
        assert!(s.is_client_error(), "{more}: {s}");
    }
    // And the index survived all of it.
    assert_eq!(refs(&search(&app, "Paket").await).len(), 1);
}
