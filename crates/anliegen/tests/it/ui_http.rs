//! The agent workspace over plain HTTP, as a browser without JavaScript speaks it: sessions,
//! CSRF, roles, escaping, bad input, drafts, collisions, queues and live events.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A browser-like client: one session cookie, no redirects followed.
struct Agent {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse("input[name=csrf]").unwrap();
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr("value"))
            .expect("a csrf field")
            .to_owned()
    }

    fn select(&self, css: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(css).unwrap();
        doc.select(&sel)
            .map(|e| e.text().collect::<String>())
            .collect()
    }

    fn attr(&self, css: &str, attr: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(css).unwrap();
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_owned))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Agent {
    async fn login(app: &TestApp, email: &str, password: &str) -> Self {
        let mut a = Self {
            client: client(),
            base: app.url.clone(),
            cookie: String::new(),
        };
        let p = a
            .post(
                "/login",
                &[("email", email), ("password", password), ("next", "/cases")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let set = p.headers.get("set-cookie").unwrap().to_str().unwrap();
        a.cookie = set.split(';').next().unwrap().to_owned();
        a
    }

    /// A sign-in that may fail.
    async fn try_login(app: &TestApp, email: &str, password: &str) -> Option<Self> {
        let res = client()
            .post(format!("{}/login", app.url))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        (res.status() == StatusCode::SEE_OTHER).then(|| Self {
            client: client(),
            base: app.url.clone(),
            cookie: res.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned(),
        })
    }

    async fn admin(app: &TestApp) -> Self {
        let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
        Self::login(app, &first.email, &first.password).await
    }

    async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[("origin", &self.base.clone())])
            .await
    }

    async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    /// Writes an internal note from the case page `page` (its CSRF token and newest contact).
    async fn note(&self, r: &str, page: &Page, body: &str) -> Page {
        let (csrf, seen) = (page.csrf(), page.attr("input[name=seen]", "value").unwrap());
        self.post(
            &format!("/cases/{r}/contacts"),
            &[
                ("csrf", &csrf),
                ("kind", "note"),
                ("body", body),
                ("seen", &seen),
            ],
        )
        .await
    }
}

async fn open_case(app: &TestApp, body: Value) -> Value {
    let (s, v) = app.post("/api/v1/cases", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// The API's view of a case (`case`, `customer`, `contacts`, `events`).
async fn detail(app: &TestApp, r: &str) -> Value {
    let (s, v) = app.get(&format!("/api/v1/cases/{r}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn team(app: &TestApp, name: &str) -> String {
    let (s, t) = app
        .post("/api/v1/teams", json!({"name": name, "description": ""}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["id"].as_str().unwrap().to_owned()
}

async fn agent_in(app: &TestApp, email: &str, role: &str, teams: &[&str]) {
    let (s, a) = app
        .post(
            "/api/v1/agents",
            json!({"email": email, "name": "Anna Agentin", "role": role, "password": "ein-gutes-passwort", "teams": teams}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
}

/// Item 1: the session cookie is HttpOnly and SameSite (Secure behind TLS); sign-out ends it;
/// repeated failures lock the address out.
#[tokio::test]
async fn session_cookie_logout_and_lockout() {
    let app = TestApp::spawn().await;
    let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
    let c = client();
    let res = c
        .post(format!("{}/login", app.url))
        .header("x-forwarded-proto", "https")
        .form(&[
            ("email", first.email.as_str()),
            ("password", first.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    let a = Agent::admin(&app).await;
    let page = a.get("/cases").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let out = a.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = a.get("/cases").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(
        after.location().starts_with("/login?next="),
        "{}",
        after.location()
    );

    // Lockout: five failures are free, then 429 with a clear message and Retry-After.
    let mut last = StatusCode::OK;
    let mut body = String::new();
    for _ in 0..7 {
        let res = c
            .post(format!("{}/login", app.url))
            .form(&[("email", first.email.as_str()), ("password", "falsch")])
            .send()
            .await
            .unwrap();
        last = res.status();
        let retry = res.headers().get("retry-after").is_some();
        body = res.text().await.unwrap();
        if last == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry);
            break;
        }
        assert_eq!(last, StatusCode::UNAUTHORIZED);
        assert!(body.contains("falsch"), "{body}");
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("Zu viele Fehlversuche"), "{body}");
}

/// Item 1: password change checks the current password and the repetition.
#[tokio::test]
async fn password_change() {
    let app = TestApp::spawn().await;
    agent_in(&app, "anna@shop.example", "agent", &[]).await;
    let a = Agent::login(&app, "anna@shop.example", "ein-gutes-passwort").await;
    let page = a.get("/settings/password").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let wrong = a
        .post(
            "/settings/password",
            &[
                ("csrf", &csrf),
                ("current", "nope"),
                ("new", "ein-neues-passwort"),
                ("repeat", "ein-neues-passwort"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("aktuelle Passwort ist falsch"));
    let mismatch = a
        .post(
            "/settings/password",
            &[
                ("csrf", &csrf),
                ("current", "ein-gutes-passwort"),
                ("new", "ein-neues-passwort"),
                ("repeat", "ein-anderes-passwort"),
            ],
        )
        .await;
    assert!(mismatch.body.contains("stimmen nicht überein"));
    let short = a
        .post(
            "/settings/password",
            &[
                ("csrf", &csrf),
                ("current", "ein-gutes-passwort"),
                ("new", "kurz"),
                ("repeat", "kurz"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = a
        .post(
            "/settings/password",
            &[
                ("csrf", &csrf),
                ("current", "ein-gutes-passwort"),
                ("new", "ein-neues-passwort"),
                ("repeat", "ein-neues-passwort"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.contains("wurde geändert"));
    let old = client()
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", "anna@shop.example"),
            ("password", "ein-gutes-passwort"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    Agent::login(&app, "anna@shop.example", "ein-neues-passwort").await;
}

/// Bad input: forged cross-site requests and a wrong CSRF token are refused; nothing changes.
#[tokio::test]
async fn forged_requests_are_refused() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, json!({"customer": {"email": "kunde@example.de"}, "subject": "Rechnung", "contact": {"text": "Hallo"}})).await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let csrf = page.csrf();
    let path = format!("/cases/{r}/update");
    let form = [("csrf", csrf.as_str()), ("priority", "urgent")];
    let evil = a
        .post_with(&path, &form, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert!(
        evil.body.contains("nicht aus Anliegen selbst"),
        "{}",
        evil.body
    );
    let cross = a
        .post_with(&path, &form, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let null = a.post_with(&path, &form, &[("origin", "null")]).await;
    assert_eq!(null.status, StatusCode::FORBIDDEN);
    let token = a
        .post(
            &path,
            &[("csrf", "0123456789abcdef"), ("priority", "urgent")],
        )
        .await;
    assert_eq!(token.status, StatusCode::FORBIDDEN);
    let missing = a.post(&path, &[("priority", "urgent")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let now = detail(&app, r).await["case"].clone();
    assert_eq!(now["priority"], "normal", "nothing changed");
    // The real form works.
    let ok = a.post(&path, &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let now = detail(&app, r).await["case"].clone();
    assert_eq!(now["priority"], "urgent");
}

/// Item 1 and bad input: an agent restricted to a team gets "not found" for another team's
/// case on every page and action; supervisors see it.
#[tokio::test]
async fn roles_limit_what_an_agent_sees() {
    let app = TestApp::spawn().await;
    let versand = team(&app, "Versand").await;
    let vendor = team(&app, "Händlerservice").await;
    agent_in(&app, "vera@shop.example", "agent", &[&vendor]).await;
    agent_in(&app, "sven@shop.example", "supervisor", &[&vendor]).await;
    let other = open_case(&app, json!({"customer": {"email": "k1@example.de"}, "subject": "Paket weg", "team_id": versand, "contact": {"text": "Wo ist mein Paket?"}})).await;
    let mine = open_case(&app, json!({"customer": {"email": "k2@example.de"}, "subject": "Katalogdaten", "team_id": vendor, "contact": {"text": "ISBN falsch"}})).await;
    let (or, mr) = (
        other["reference"].as_str().unwrap(),
        mine["reference"].as_str().unwrap(),
    );
    let vera = Agent::login(&app, "vera@shop.example", "ein-gutes-passwort").await;
    let page = vera.get(&format!("/cases/{mr}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let denied = vera.get(&format!("/cases/{or}")).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    assert!(denied.body.contains("keinen Zugriff"));
    let upd = vera
        .post(
            &format!("/cases/{or}/update"),
            &[("csrf", &csrf), ("priority", "low")],
        )
        .await;
    assert_eq!(upd.status, StatusCode::NOT_FOUND);
    let reply = vera
        .post(
            &format!("/cases/{or}/contacts"),
            &[("csrf", &csrf), ("kind", "note"), ("body", "x")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        vera.get(&format!("/live?case={or}")).await.status,
        StatusCode::NOT_FOUND
    );
    let contacts = detail(&app, or).await["contacts"].clone();
    let cid = contacts[0]["id"].as_str().unwrap();
    assert_eq!(
        vera.get(&format!("/contacts/{cid}/mail")).await.status,
        StatusCode::NOT_FOUND
    );
    let queue = vera.get("/cases?view=open").await;
    assert!(
        queue.body.contains(mr) && !queue.body.contains(or),
        "the queue hides other teams' cases"
    );
    // The API applies the same rule to the same agent's token.
    let res = client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "vera@shop.example", "password": "ein-gutes-passwort"}))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _, _) = app
        .req_as(
            &token,
            Method::GET,
            &format!("/api/v1/cases/{or}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = app
        .req_as(
            &token,
            Method::GET,
            &format!("/api/v1/contacts/{cid}/html"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, list) = app
        .req_as(&token, Method::GET, "/api/v1/cases", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![mr]);
    let sven = Agent::login(&app, "sven@shop.example", "ein-gutes-passwort").await;
    assert_eq!(
        sven.get(&format!("/cases/{or}")).await.status,
        StatusCode::OK
    );
    let c = detail(&app, or).await["case"].clone();
    assert_eq!(c["priority"], "normal");
}

/// Bad input: HTML in names and subjects is shown as text.
#[tokio::test]
async fn html_in_names_and_subjects_is_escaped() {
    let app = TestApp::spawn().await;
    let case = open_case(
        &app,
        json!({
            "customer": {"email": "x@example.de", "name": "<img src=x onerror=alert(1)>Eve"},
            "subject": "<script>alert('s')</script> Betreff",
            "contact": {"text": "<b>fett</b> und <script>alert(2)</script>"}
        }),
    )
    .await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    for path in ["/cases?view=open".to_owned(), format!("/cases/{r}")] {
        let p = a.get(&path).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!p.body.contains("<script>alert"), "{path}");
        assert!(!p.body.contains("<img src=x"), "{path}");
        assert!(
            p.body.contains("&lt;script&gt;") || p.body.contains("&#60;script&#62;"),
            "{path}"
        );
    }
    let p = a.get(&format!("/cases/{r}")).await;
    assert!(
        p.select("h1")
            .join(" ")
            .contains("<script>alert('s')</script> Betreff")
    );
}

/// Item 3: a long case shows the newest 30 contacts and the way to older ones; reply, note,
/// status, priority, tags and assignment work as forms.
#[tokio::test]
async fn case_view_window_and_actions() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, json!({"customer": {"email": "lang@example.de", "name": "Lena Lang"}, "subject": "Lange Geschichte", "contact": {"text": "Kontakt 0"}})).await;
    let r = case["reference"].as_str().unwrap().to_owned();
    for i in 1..45 {
        let (s, _) = app
            .post(
                &format!("/api/v1/cases/{r}/contacts"),
                json!({"kind": "customer", "text": format!("Kontakt {i}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let shown = page.select("li.contact");
    assert_eq!(shown.len(), 30);
    assert!(shown.last().unwrap().contains("Kontakt 44"));
    assert!(shown.first().unwrap().contains("Kontakt 15"));
    let older = page
        .attr("#load-older", "href")
        .expect("a link to older contacts");
    let earlier = a.get(&older).await;
    let shown = earlier.select("li.contact");
    assert_eq!(shown.len(), 15);
    assert!(shown.first().unwrap().contains("Kontakt 0"));
    assert!(earlier.attr("#load-older", "href").is_none());
    assert!(
        page.select(".customer .cname")
            .join("")
            .contains("Lena Lang")
    );
    assert!(
        page.select(".identities dd")
            .join(" ")
            .contains("lang@example.de")
    );

    let csrf = page.csrf();
    let note = a.note(&r, &page, "Intern: Kunde ist VIP").await;
    assert_eq!(note.status, StatusCode::SEE_OTHER, "{}", note.body);
    let page = a.get(&format!("/cases/{r}")).await;
    assert!(
        page.select("li.contact.note")
            .join(" ")
            .contains("Kunde ist VIP")
    );
    let seen = page.attr("input[name=seen]", "value").unwrap();
    let reply = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[
                ("csrf", &csrf),
                ("kind", "reply"),
                ("body", "Wir kümmern uns."),
                ("status_after", "waiting_on_customer"),
                ("seen", &seen),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let upd = a
        .post(
            &format!("/cases/{r}/update"),
            &[
                ("csrf", &csrf),
                ("priority", "high"),
                ("tags", "rückruf, vip"),
                ("assignee", "me"),
            ],
        )
        .await;
    assert_eq!(upd.status, StatusCode::SEE_OTHER);
    let c = detail(&app, &r).await["case"].clone();
    assert_eq!(c["status"], "waiting_on_customer");
    assert_eq!(c["priority"], "high");
    assert_eq!(c["tags"], json!(["rückruf", "vip"]));
    assert!(c["assignee_id"].is_string());
    let page = a.get(&format!("/cases/{r}")).await;
    let events = page.select("li.event").join("\n");
    assert!(events.contains("Priorität"), "{events}");
    assert!(events.contains("Zugewiesen an"), "{events}");
    // Empty and oversized texts are refused with the text kept.
    let empty = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[("csrf", &csrf), ("kind", "reply"), ("body", "   ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("zuerst einen Text"));
    let huge = "Ä".repeat(150_000);
    let big = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[("csrf", &csrf), ("kind", "reply"), ("body", &huge)],
        )
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let contacts = detail(&app, &r).await["contacts"].clone();
    assert_eq!(
        contacts.as_array().unwrap().len(),
        47,
        "nothing half-stored"
    );
}

/// Item 3 (collision): replying over a contact that arrived after the page was loaded warns
/// first and keeps the text; confirming sends it.
#[tokio::test]
async fn sending_over_a_newer_contact_warns_first() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Frage", "contact": {"text": "Erste Frage"}})).await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let (csrf, seen) = (page.csrf(), page.attr("input[name=seen]", "value").unwrap());
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{r}/contacts"),
            json!({"kind": "customer", "text": "Nachtrag: hat sich erledigt"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let warned = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[
                ("csrf", &csrf),
                ("kind", "reply"),
                ("body", "Meine Antwort"),
                ("seen", &seen),
            ],
        )
        .await;
    assert_eq!(warned.status, StatusCode::CONFLICT);
    assert!(warned.body.contains("neuer Beitrag hinzugekommen"));
    assert!(warned.body.contains("Nachtrag: hat sich erledigt"));
    assert_eq!(
        warned.select("#body").join(""),
        "Meine Antwort",
        "the text is kept"
    );
    let contacts = detail(&app, r).await["contacts"].clone();
    assert_eq!(contacts.as_array().unwrap().len(), 2);
    let seen2 = warned.attr("input[name=seen]", "value").unwrap();
    let sent = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[
                ("csrf", &csrf),
                ("kind", "reply"),
                ("body", "Meine Antwort"),
                ("seen", &seen2),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let contacts = detail(&app, r).await["contacts"].clone();
    assert_eq!(contacts.as_array().unwrap().len(), 3);
}

/// Bad input: the session expires mid-reply; the text survives sign-in as a draft.
#[tokio::test]
async fn expired_session_mid_reply_keeps_the_draft() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Frage", "contact": {"text": "Hallo"}})).await;
    let r = case["reference"].as_str().unwrap();
    let mut a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let csrf = page.csrf();
    a.cookie = "anliegen_session=anl_expired".into();
    let lost = a
        .post(
            &format!("/cases/{r}/contacts"),
            &[
                ("csrf", &csrf),
                ("kind", "reply"),
                ("body", "Langer Text, der nicht verloren gehen darf"),
            ],
        )
        .await;
    assert_eq!(lost.status, StatusCode::UNAUTHORIZED);
    assert!(lost.body.contains("nicht verloren"));
    let kept = lost.attr("input[name=draft_body]", "value").unwrap();
    assert_eq!(kept, "Langer Text, der nicht verloren gehen darf");
    let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
    let res = client()
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", first.email.as_str()),
            ("password", first.password.as_str()),
            (
                "next",
                lost.attr("input[name=next]", "value").unwrap().as_str(),
            ),
            ("draft_case", r),
            ("draft_kind", "reply"),
            ("draft_body", kept.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/cases/{r}").as_str());
    a.cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let back = a.get(&format!("/cases/{r}")).await;
    assert_eq!(
        back.select("#body").join(""),
        "Langer Text, der nicht verloren gehen darf"
    );
    assert!(back.body.contains("Entwurf wurde wiederhergestellt"));
}

/// Item 2: queues sorted by what is due, filters, counts, pages that do not repeat, saved views.
#[tokio::test]
async fn queues_filters_pages_and_saved_views() {
    let app = TestApp::spawn().await;
    let mut refs = Vec::new();
    for i in 0..55 {
        let prio = if i == 40 { "urgent" } else { "normal" };
        let c = open_case(&app, json!({"customer": {"email": format!("k{i}@example.de")}, "subject": format!("Anliegen {i}"), "priority": prio, "tags": if i % 5 == 0 { vec!["rückruf"] } else { vec![] }, "contact": {"channel": "email", "text": "Hallo"}})).await;
        refs.push(c["reference"].as_str().unwrap().to_owned());
    }
    let a = Agent::admin(&app).await;
    let p1 = a.get("/cases?view=unassigned").await;
    let rows: Vec<String> = p1.select("table.queue tbody tr a.ref");
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0], refs[40], "urgent first");
    assert_eq!(rows[1], refs[0], "then the oldest unanswered");
    let nav = p1
        .select("nav.queues a[data-queue=unassigned] .count")
        .join("");
    assert_eq!(nav, "55");
    let next = p1.attr("a[rel=next]", "href").unwrap();
    let p2 = a.get(&next).await;
    let rows2 = p2.select("table.queue tbody tr a.ref");
    assert_eq!(rows2.len(), 5);
    assert!(rows2.iter().all(|r| !rows.contains(r)), "no repeats");
    let tagged = a.get("/cases?tag=r%C3%BCckruf&status=unsolved").await;
    assert_eq!(tagged.select("table.queue tbody tr").len(), 11);
    let urgent = a.get("/cases?priority=urgent").await;
    assert_eq!(urgent.select("table.queue tbody tr").len(), 1);
    let bad = a.get("/cases?status=kaputt").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let csrf = p1.csrf();
    let saved = a
        .post(
            "/views",
            &[
                ("csrf", &csrf),
                ("name", "Rückrufe"),
                ("query", "tag=r%C3%BCckruf&status=unsolved&after=x"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(
        !saved.location().contains("after"),
        "no page position is saved"
    );
    let page = a.get(saved.location()).await;
    // (The saved views are the list under their heading; "Rückrufe" is also a standard page.)
    assert!(
        page.select("nav.queues h2.navhead + ul a")
            .join("")
            .contains("Rückrufe")
    );
    let del = page.attr("form[action^='/views/']", "action").unwrap();
    assert_eq!(
        a.post(&del, &[("csrf", &csrf)]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        !a.get("/cases")
            .await
            .select("nav.queues h2.navhead + ul a")
            .join("")
            .contains("Rückrufe")
    );
    let noname = a
        .post(
            "/views",
            &[("csrf", &csrf), ("name", ""), ("query", "view=open")],
        )
        .await;
    assert_eq!(noname.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Item 3: attachments download with nosniff; only raster images preview inline, never SVG;
/// mail HTML lives in a sandboxed frame with its own policy.
#[tokio::test]
async fn attachments_and_mail_frames_are_safe() {
    let app = TestApp::spawn().await;
    let png =
        base64::engine::general_purpose::STANDARD.encode([0x89, b'P', b'N', b'G', 13, 10, 26, 10]);
    let svg = base64::engine::general_purpose::STANDARD
        .encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>");
    let case = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Foto", "contact": {
        "text": "Siehe Anhang", "html": "<p>Siehe <b>Anhang</b><script>alert(1)</script></p>",
        "attachments": [{"filename": "schaden.png", "content_type": "image/png", "data_base64": png},
                        {"filename": "böse.svg", "content_type": "image/svg+xml", "data_base64": svg}]}})).await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let imgs: Vec<String> = {
        let doc = scraper::Html::parse_document(&page.body);
        let sel = scraper::Selector::parse("img.thumb").unwrap();
        doc.select(&sel)
            .map(|e| e.value().attr("src").unwrap().to_owned())
            .collect()
    };
    assert_eq!(imgs.len(), 1, "only the PNG previews");
    let inline = a.get(&imgs[0]).await;
    assert_eq!(inline.headers["content-disposition"], "inline");
    assert_eq!(inline.headers["x-content-type-options"], "nosniff");
    let svg_link = page.attr("a[href$='/files/1']", "href").unwrap();
    let svg_inline = a.get(&format!("{svg_link}?inline=1")).await;
    assert!(
        svg_inline.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(svg_inline.headers["x-content-type-options"], "nosniff");
    let frame = page.attr("iframe", "src").unwrap();
    assert_eq!(
        page.attr("iframe", "sandbox").unwrap(),
        "allow-popups allow-popups-to-escape-sandbox"
    );
    let doc = a.get(&frame).await;
    assert_eq!(doc.status, StatusCode::OK);
    let csp = doc.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox")
            && csp.contains("frame-ancestors 'self'")
            && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(doc.headers["x-frame-options"], "SAMEORIGIN");
    assert!(!doc.body.contains("<script"));
}

/// Item 4: the live stream tells a queue page that something changed.
#[tokio::test]
async fn live_stream_reports_new_cases() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let mut res = a
        .client
        .get(format!("{}/live", app.url))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    tokio::time::sleep(Duration::from_millis(400)).await;
    open_case(&app, json!({"customer": {"email": "neu@example.de"}, "subject": "Neu", "contact": {"text": "Hallo"}})).await;
    let mut got = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !got.contains("case_opened") {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(got.contains("event: queue"), "{got}");
    // Without a session there is no stream.
    let anon = client()
        .get(format!("{}/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

/// Item 4: a page's stream starts where the page was rendered: a case opened between rendering
/// and connecting makes the stream ask for a refresh; a page that missed nothing gets none (on a
/// case page only its presence).
#[tokio::test]
async fn live_stream_catches_up_from_the_rendered_page() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let since_of = |body: &str| -> String {
        let at = body
            .find("data-since=\"")
            .expect("the page names its position")
            + 12;
        body[at..].split('"').next().unwrap().to_owned()
    };
    let first = |path: String| {
        let a = &a;
        let url = app.url.clone();
        async move {
            let mut res = a
                .client
                .get(format!("{url}{path}"))
                .header("cookie", &a.cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            // What the stream says in its first 1.5 s (keep-alives are 15 s apart).
            let mut got = String::new();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
            while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, res.chunk()).await {
                got.push_str(&String::from_utf8_lossy(&chunk));
            }
            got
        }
    };
    let queue = a.get("/cases?view=open").await;
    let since = since_of(&queue.body);
    // Nothing happened since: no refresh.
    let got = first(format!("/live?since={since}")).await;
    assert!(!got.contains("event: queue"), "{got}");
    // A case opened after the page was rendered, before its stream connected.
    let c = open_case(&app, json!({"customer": {"email": "dazwischen@example.de"}, "subject": "Dazwischen", "contact": {"text": "Hallo"}})).await;
    let got = first(format!("/live?since={since}")).await;
    assert!(got.contains("event: queue"), "{got}");
    // A case page: a note after rendering is reported to the stream that connects later.
    let r = c["reference"].as_str().unwrap().to_owned();
    let page = a.get(&format!("/cases/{r}")).await;
    let since = since_of(&page.body);
    let got = first(format!("/live?case={r}&since={since}")).await;
    assert!(
        got.contains("event: presence") && !got.contains("event: case"),
        "{got}"
    );
    let note = a.note(&r, &page, "Rückruf vereinbart").await;
    assert_eq!(note.status, StatusCode::SEE_OTHER, "{}", note.body);
    let got = first(format!("/live?case={r}&since={since}")).await;
    assert!(got.contains("event: case"), "{got}");
    // Another case's events do not make a case page stale.
    let other = a.get(&format!("/cases/{r}")).await;
    let since = since_of(&other.body);
    open_case(&app, json!({"customer": {"email": "anders@example.de"}, "subject": "Anders", "contact": {"text": "Hallo"}})).await;
    let got = first(format!("/live?case={r}&since={since}")).await;
    assert!(!got.contains("event: case"), "{got}");
}

/// Item 8: German or English by the browser, with a switch.
#[tokio::test]
async fn language_by_browser_and_switch() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let en = a
        .get_with("/cases", &[("accept-language", "en-US,en;q=0.9")])
        .await;
    assert!(en.body.contains("My cases") && en.body.contains("lang=\"en\""));
    let de = a.get_with("/cases", &[("accept-language", "de-DE")]).await;
    assert!(de.body.contains("Meine Fälle"));
    let switch = a.post("/lang", &[("lang", "en"), ("next", "/cases")]).await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    let cookie = switch.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=en"));
    let mut b = Agent {
        client: client(),
        base: a.base.clone(),
        cookie: format!("{}; lang=en", a.cookie),
    };
    let page = b.get_with("/cases", &[("accept-language", "de-DE")]).await;
    assert!(
        page.body.contains("My cases"),
        "the switch wins over the browser"
    );
    b.cookie.clear();
    let login = b.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
}

/// Item 7: administration is for admins only; forms refuse bad input with a clear message and
/// keep what was entered.
#[tokio::test]
async fn admin_pages_and_their_forms() {
    let app = TestApp::spawn().await;
    agent_in(&app, "anna@shop.example", "agent", &[]).await;
    agent_in(&app, "sven@shop.example", "supervisor", &[]).await;
    for who in ["anna@shop.example", "sven@shop.example"] {
        let a = Agent::login(&app, who, "ein-gutes-passwort").await;
        for path in [
            "/admin/agents",
            "/admin/teams",
            "/admin/tags",
            "/admin/macros",
            "/admin/mailboxes",
        ] {
            let p = a.get(path).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{who} {path}");
        }
        let csrf = a.get("/cases").await.csrf();
        let p = a
            .post("/admin/teams", &[("csrf", &csrf), ("name", "Heimlich")])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(
            !a.get("/cases").await.body.contains("/admin\""),
            "no admin link for {who}"
        );
    }
    let a = Agent::admin(&app).await;
    let csrf = a.get("/admin/teams").await.csrf();
    // Teams.
    assert_eq!(
        a.post(
            "/admin/teams",
            &[
                ("csrf", &csrf),
                ("name", "Versand"),
                ("description", "Pakete")
            ]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let dup = a
        .post(
            "/admin/teams",
            &[("csrf", &csrf), ("name", "versand"), ("description", "x")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        dup.select("#form-error")
            .join("")
            .contains("exists already"),
        "{}",
        dup.body
    );
    assert_eq!(
        dup.attr("#t-name", "value").as_deref(),
        Some("versand"),
        "the entry is kept"
    );
    let teams = a.get("/admin/teams").await;
    assert!(teams.select("table.list").join("").contains("Pakete"));
    // Agents.
    let (_, list) = app.get("/api/v1/teams").await;
    let team_id = list.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = a
        .post(
            "/admin/agents",
            &[
                ("csrf", &csrf),
                ("name", "Olaf"),
                ("email", "kein-at"),
                ("role", "agent"),
                ("password", "ein-gutes-passwort"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.select("#form-error").join("").is_empty());
    assert_eq!(bad.attr("#a-name", "value").as_deref(), Some("Olaf"));
    let nopw = a
        .post(
            "/admin/agents",
            &[
                ("csrf", &csrf),
                ("name", "Olaf"),
                ("email", "olaf@shop.example"),
                ("role", "agent"),
            ],
        )
        .await;
    assert!(nopw.body.contains("erstes Passwort"));
    let ok = a
        .post(
            "/admin/agents",
            &[
                ("csrf", &csrf),
                ("name", "Olaf Ost"),
                ("email", "olaf@shop.example"),
                ("role", "supervisor"),
                ("teams", &team_id),
                ("password", "ein-gutes-passwort"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let (_, agents) = app.get("/api/v1/agents").await;
    let olaf = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "olaf@shop.example")
        .unwrap()
        .clone();
    assert_eq!(olaf["role"], "supervisor");
    assert_eq!(olaf["teams"], json!([team_id]));
    let edit = format!("/admin/agents/{}", olaf["id"].as_str().unwrap());
    assert_eq!(
        a.get(&edit).await.attr("#a-name", "value").as_deref(),
        Some("Olaf Ost")
    );
    let changed = a
        .post(
            &edit,
            &[("csrf", &csrf), ("name", "Olaf Ost"), ("role", "agent")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let (_, agents) = app.get("/api/v1/agents").await;
    let olaf = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "olaf@shop.example")
        .unwrap()
        .clone();
    assert_eq!(olaf["role"], "agent");
    assert_eq!(olaf["active"], false, "unchecked means deactivated");
    assert!(
        Agent::try_login(&app, "olaf@shop.example", "ein-gutes-passwort")
            .await
            .is_none()
    );
    // Tags.
    assert_eq!(
        a.post(
            "/admin/tags",
            &[
                ("csrf", &csrf),
                ("name", "Rückruf"),
                ("description", "Kunde will angerufen werden")
            ]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let badtag = a
        .post(
            "/admin/tags",
            &[
                ("csrf", &csrf),
                ("name", "zwei wörter?"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(badtag.status, StatusCode::UNPROCESSABLE_ENTITY);
    let tags = a.get("/admin/tags").await;
    assert!(tags.select("table.list").join("").contains("rückruf"));
    // Macros: an unknown placeholder is refused.
    let badm = a
        .post(
            "/admin/macros",
            &[
                ("csrf", &csrf),
                ("name", "Gruß"),
                ("body_de", "Hallo {{kunde.name}}"),
                ("body_en", ""),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(badm.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        badm.select("#form-error")
            .join("")
            .contains("{{kunde.name}}"),
        "{}",
        badm.body
    );
    assert_eq!(badm.select("#m-de").join(""), "Hallo {{kunde.name}}");
    // Mailboxes.
    let badmb = a
        .post(
            "/admin/mailboxes",
            &[
                ("csrf", &csrf),
                ("address", "service@shop.example"),
                ("display_name", "Shop"),
                ("imap_host", "imap.shop.example"),
                ("imap_port", "99999"),
                ("imap_username", "service"),
            ],
        )
        .await;
    assert_eq!(badmb.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(badmb.body.contains("Port"));
    let okmb = a
        .post(
            "/admin/mailboxes",
            &[
                ("csrf", &csrf),
                ("address", "service@shop.example"),
                ("display_name", "Shop-Service"),
                ("team", &team_id),
                ("language", "de"),
                ("imap_host", "imap.shop.example"),
                ("imap_port", "993"),
                ("imap_security", "tls"),
                ("imap_username", "service"),
                ("imap_folder", "INBOX"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(okmb.status, StatusCode::SEE_OTHER, "{}", okmb.body);
    let mbs = a.get("/admin/mailboxes").await;
    assert!(
        mbs.select("table.list")
            .join("")
            .contains("service@imap.shop.example:993")
    );
    assert!(mbs.select("#mail-settings-title").len() == 1 && mbs.body.contains("relay_host"));
    let dupmb = a
        .post(
            "/admin/mailboxes",
            &[
                ("csrf", &csrf),
                ("address", "service@shop.example"),
                ("display_name", "Noch einmal"),
            ],
        )
        .await;
    assert_eq!(dupmb.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Item 6: a macro fills the composer in the customer's language with placeholders replaced and
/// changes the case; both are recorded.
#[tokio::test]
async fn macros_with_placeholders_in_both_languages() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let csrf = a.get("/admin/macros").await.csrf();
    let made = a
        .post(
            "/admin/macros",
            &[
                ("csrf", &csrf),
                ("name", "Rücksendung"),
                ("body_de", "Hallo {{customer.first_name}},\nzu Ihrem Anliegen {{case.ref}} schicke ich Ihnen ein Rücksendeetikett.\nViele Grüße\n{{agent.name}}"),
                ("body_en", "Hello {{customer.name}},\nfor your case {{case.ref}} I am sending a return label.\n{{agent.first_name}}"),
                ("status", "waiting_on_customer"),
                ("tags", "retoure"),
                ("assign_to_me", "1"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let de = open_case(&app, json!({"customer": {"email": "petra@example.de", "name": "Petra Hoffmann", "language": "de"}, "subject": "Jacke zu klein", "contact": {"text": "Ich möchte die Jacke zurückschicken."}})).await;
    let en = open_case(&app, json!({"customer": {"email": "james@example.co.uk", "name": "James O'Neill", "language": "en"}, "subject": "Jacket too small", "contact": {"text": "I would like to return the jacket."}})).await;
    for (case, want) in [
        (&de, "Hallo Petra,\nzu Ihrem Anliegen"),
        (&en, "Hello James O'Neill,\nfor your case"),
    ] {
        let r = case["reference"].as_str().unwrap();
        let page = a.get(&format!("/cases/{r}")).await;
        let id = page
            .attr("#macro option", "value")
            .expect("the macro is offered");
        let applied = a
            .post(
                &format!("/cases/{r}/macro"),
                &[("csrf", &page.csrf()), ("macro_id", &id)],
            )
            .await;
        assert_eq!(applied.status, StatusCode::SEE_OTHER);
        let after = a.get(&format!("/cases/{r}")).await;
        let body = after.select("#body").join("");
        assert!(body.starts_with(want), "{body}");
        assert!(body.contains(r), "{body}");
        assert!(!body.contains("{{"), "{body}");
        let c = detail(&app, r).await;
        assert_eq!(c["case"]["status"], "waiting_on_customer");
        assert_eq!(c["case"]["tags"], json!(["retoure"]));
        assert!(c["case"]["assignee_id"].is_string());
        assert!(
            c["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "macro_applied"),
            "{}",
            c["events"]
        );
    }
}

/// Item 3: merging needs a case the agent can see; only supervisors undo.
#[tokio::test]
async fn merge_rules_and_undo_is_for_supervisors() {
    let app = TestApp::spawn().await;
    agent_in(&app, "anna@shop.example", "agent", &[]).await;
    let a = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Eins", "contact": {"text": "eins"}})).await;
    let b = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Zwei", "contact": {"text": "zwei"}})).await;
    let (ar, br) = (
        a["reference"].as_str().unwrap(),
        b["reference"].as_str().unwrap(),
    );
    let anna = Agent::login(&app, "anna@shop.example", "ein-gutes-passwort").await;
    let page = anna.get(&format!("/cases/{br}")).await;
    let csrf = page.csrf();
    let nowhere = anna
        .post(
            &format!("/cases/{br}/merge"),
            &[("csrf", &csrf), ("target", "A-99999")],
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nowhere.body.contains("A-99999"));
    let itself = anna
        .post(
            &format!("/cases/{br}/merge"),
            &[("csrf", &csrf), ("target", br)],
        )
        .await;
    assert_eq!(itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = anna
        .post(
            &format!("/cases/{br}/merge"),
            &[("csrf", &csrf), ("target", ar)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let target = anna.get(&format!("/cases/{ar}")).await;
    assert!(
        target.select("button[data-unmerge]").is_empty(),
        "agents see no undo"
    );
    let undo = anna
        .post(
            &format!("/cases/{ar}/unmerge"),
            &[("csrf", &csrf), ("source", br)],
        )
        .await;
    assert_eq!(undo.status, StatusCode::FORBIDDEN);
    assert_eq!(detail(&app, br).await["case"]["status"], "closed");
    let admin = Agent::admin(&app).await;
    let page = admin.get(&format!("/cases/{ar}")).await;
    assert_eq!(page.select("button[data-unmerge]").len(), 1);
    let undone = admin
        .post(
            &format!("/cases/{ar}/unmerge"),
            &[("csrf", &page.csrf()), ("source", br)],
        )
        .await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER);
    assert_eq!(detail(&app, br).await["case"]["status"], "new");
}

/// Item 5: assignments, mentions and customer replies notify the agent in the app, and by mail
/// when the agent chose so.
#[tokio::test]
async fn notifications_in_the_app_and_by_mail() {
    if crate::mail::skip() {
        return;
    }
    let sink = crate::mail::Sink::start();
    let port = sink.port;
    let app = TestApp::spawn_with(|s| {
        s.relay_host = Some("127.0.0.1".into());
        s.relay_port = port;
        s.relay_security = "none".into();
        s.public_url = Some("https://support.shop.example".into());
    })
    .await;
    agent_in(&app, "anna@shop.example", "agent", &[]).await;
    let case = open_case(&app, json!({"customer": {"email": "k@example.de", "name": "Karl Kunde"}, "subject": "Sofa halb geliefert", "contact": {"text": "Es fehlt ein Paket."}})).await;
    let r = case["reference"].as_str().unwrap();
    let anna = Agent::login(&app, "anna@shop.example", "ein-gutes-passwort").await;
    // Anna wants mentions by mail as well.
    let page = anna.get("/settings/notifications").await;
    let csrf = page.csrf();
    let saved = anna
        .post(
            "/settings/notifications",
            &[
                ("csrf", &csrf),
                ("in_app", "assigned"),
                ("in_app", "mentioned"),
                ("in_app", "customer_replied"),
                ("email", "mentioned"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(saved.body.contains("gespeichert"));

    let admin = Agent::admin(&app).await;
    let (_, agents) = app.get("/api/v1/agents").await;
    let anna_id = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "anna@shop.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acsrf = admin.get(&format!("/cases/{r}")).await.csrf();
    assert_eq!(
        admin
            .post(
                &format!("/cases/{r}/update"),
                &[("csrf", &acsrf), ("assignee", &anna_id)]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        admin
            .post(
                &format!("/cases/{r}/contacts"),
                &[
                    ("csrf", &acsrf),
                    ("kind", "note"),
                    ("body", "@anna bitte die Spedition anrufen"),
                    ("confirm", "1")
                ]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{r}/contacts"),
            json!({"kind": "customer", "text": "Wann kommt das zweite Paket?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let mut list = anna.get("/notifications").await;
    for _ in 0..100 {
        if list.select("#notification-list li").len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        list = anna.get("/notifications").await;
    }
    let items = list.select("#notification-list li").join("\n");
    assert!(
        items.contains(&format!("hat Ihnen {r} zugewiesen")),
        "{items}"
    );
    assert!(
        items.contains(&format!("hat Sie in {r} erwähnt")) && items.contains("Spedition anrufen"),
        "{items}"
    );
    assert!(
        items.contains(&format!("Neue Kundenantwort in {r}")) && items.contains("zweite Paket"),
        "{items}"
    );
    assert_eq!(
        list.select("nav.queues a[data-queue=notifications] .count")
            .join(""),
        "3",
        "{items}"
    );
    // Nobody is notified of their own doing.
    let admin_list = admin.get("/notifications").await;
    assert!(admin_list.select("#notification-list li").is_empty());
    // Opening one marks it read and leads to the case.
    let first = list.attr("#notification-list form", "action").unwrap();
    let opened = anna.post(&first, &[("csrf", &csrf)]).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location(), format!("/cases/{r}"));
    let after = anna.get("/notifications").await;
    assert_eq!(
        after
            .select("nav.queues a[data-queue=notifications] .count")
            .join(""),
        "2"
    );
    assert_eq!(
        anna.post("/notifications/read", &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        anna.get("/notifications")
            .await
            .select("nav.queues a[data-queue=notifications] .count")
            .is_empty()
    );
    // The mention also went out by mail, in German, with a link.
    let mail = sink.wait_for(1).await;
    assert!(mail.contains("anna@shop.example"), "{mail}");
    assert!(
        mail.contains("https://support.shop.example/cases/"),
        "{mail}"
    );
    // The job runs again (as after a lost lease): the same notification keeps its Message-ID,
    // so the agent's mail client shows it once.
    let first_id = crate::mail::header(&mail, "Message-ID")
        .expect("a Message-ID")
        .to_owned();
    // The job is marked done just after the mail left: wait for that.
    let mut job = None;
    for _ in 0..100 {
        let done = app
            .store()
            .jobs(Some(anliegen_store::JobStatus::Done), 200)
            .await
            .unwrap();
        job = done.into_iter().find(|j| j.kind == "notify.mail");
        if job.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = job.expect("the mail job");
    app.store()
        .enqueue(
            &anliegen_store::NewJob::new("notify.mail", job.payload.clone()),
            app.store().now(),
        )
        .await
        .unwrap();
    let again = sink.wait_for(2).await;
    assert_eq!(
        crate::mail::header(&again, "Message-ID"),
        Some(first_id.as_str())
    );
}

/// Item 3 and bad input: files go with a reply; an oversized upload is refused with a clear
/// message and the text kept.
#[tokio::test]
async fn reply_with_files_and_oversized_uploads() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Foto", "contact": {"text": "Hallo"}})).await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let csrf = page.csrf();
    assert_eq!(
        page.attr("#composer", "enctype").as_deref(),
        Some("multipart/form-data")
    );
    let send = |file: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("kind", "reply")
            .text("body", "Anbei das Etikett.")
            .text("confirm", "1")
            .part(
                "files",
                reqwest::multipart::Part::bytes(file)
                    .file_name(name)
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        a.client
            .post(format!("{}/cases/{r}/contacts", app.url))
            .header("cookie", &a.cookie)
            .header("origin", &app.url)
            .multipart(form)
            .send()
    };
    let ok = send(b"%PDF-1.4 ein Etikett".to_vec(), "Rücksendeetikett.pdf")
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let d = detail(&app, r).await;
    let last = d["contacts"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["filename"], "Rücksendeetikett.pdf");
    for size in [26 * 1024 * 1024, 70 * 1024 * 1024] {
        let res = send(vec![b'x'; size], "riesig.pdf").await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{size}");
        let body = res.text().await.unwrap();
        assert!(body.contains("zu groß"), "{size}");
        assert!(
            body.contains("Anbei das Etikett."),
            "the text is kept ({size})"
        );
    }
    assert_eq!(
        detail(&app, r).await["contacts"].as_array().unwrap().len(),
        2,
        "nothing half-stored"
    );
}

/// Item 3: the customer panel names the organisation, every identity and the other cases.
#[tokio::test]
async fn customer_panel_on_a_demo_case() {
    let app = TestApp::spawn_demo(|_| {}).await;
    let a = Agent::login(
        &app,
        "sabine.krueger@demo.anliegen.example",
        anliegen::demo::DEMO_PASSWORD,
    )
    .await;
    let page = a.get("/cases/A-10001").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page
            .select("#customer-organisation")
            .join("")
            .trim()
            .is_empty(),
        "an organisation"
    );
    assert!(!page.select(".identities dd").is_empty());
    assert!(
        page.select(".customer h3")
            .join(" ")
            .contains("Weitere Fälle")
    );
    assert!(
        page.select(".customer h3")
            .join(" ")
            .contains("Bestellungen und Sendungen")
    );
    assert!(!page.select("li.event").is_empty(), "events inline");
    assert!(
        !page.select("li.contact.note").is_empty(),
        "internal notes set apart"
    );
}

/// Item 8: error pages speak the browser's language.
#[tokio::test]
async fn error_pages_in_the_browsers_language() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let de = a
        .get_with("/cases/A-99999", &[("accept-language", "de")])
        .await;
    assert_eq!(de.status, StatusCode::NOT_FOUND);
    assert!(de.body.contains("Nicht gefunden"));
    let en = a
        .get_with("/cases/A-99999", &[("accept-language", "en")])
        .await;
    assert!(en.body.contains("Not found"), "{}", en.body);
    let forged = a
        .post_with(
            "/cases/A-1/update",
            &[("csrf", "x")],
            &[
                ("origin", "https://evil.example"),
                ("accept-language", "en"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("did not come from Anliegen"));
}

/// Bad input and safety: no open redirect after sign-in; saving the case form keeps what a
/// colleague changed meanwhile; a password change ends the other sessions; a macro never
/// turns a note into a reply; nobody is notified about a case they may not see.
#[tokio::test]
async fn redirects_concurrent_edits_sessions_macros_and_hidden_mentions() {
    let app = TestApp::spawn().await;
    let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
    for evil in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/cases\r\nSet-Cookie: x=1",
    ] {
        let res = client()
            .post(format!("{}/login", app.url))
            .form(&[
                ("email", first.email.as_str()),
                ("password", first.password.as_str()),
                ("next", evil),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{evil:?}");
        assert_eq!(res.headers()["location"], "/cases", "{evil:?}");
    }
    // Concurrent edits: a form that only changes the priority keeps the colleague's tag.
    let case = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Eins", "contact": {"text": "eins"}})).await;
    let r = case["reference"].as_str().unwrap();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    let csrf = page.csrf();
    let fields = |name: &str| {
        page.attr(&format!("#props input[name={name}]"), "value")
            .unwrap_or_default()
    };
    let (s, _) = app
        .patch(
            &format!("/api/v1/cases/{r}"),
            json!({"add_tags": ["rückruf"]}),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let form = [
        ("csrf", csrf.clone()),
        ("status", fields("orig_status")),
        ("orig_status", fields("orig_status")),
        ("priority", "high".into()),
        ("orig_priority", fields("orig_priority")),
        ("team", fields("orig_team")),
        ("orig_team", fields("orig_team")),
        ("assignee", fields("orig_assignee")),
        ("orig_assignee", fields("orig_assignee")),
        ("tags", fields("orig_tags")),
        ("orig_tags", fields("orig_tags")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        a.post(&format!("/cases/{r}/update"), &form).await.status,
        StatusCode::SEE_OTHER
    );
    let c = detail(&app, r).await["case"].clone();
    assert_eq!(c["priority"], "high");
    assert_eq!(c["tags"], json!(["rückruf"]), "the colleague's tag stays");
    // A password change ends the agent's other sessions.
    agent_in(&app, "anna@shop.example", "agent", &[]).await;
    let one = Agent::login(&app, "anna@shop.example", "ein-gutes-passwort").await;
    let two = Agent::login(&app, "anna@shop.example", "ein-gutes-passwort").await;
    let pcsrf = one.get("/settings/password").await.csrf();
    let ok = one
        .post(
            "/settings/password",
            &[
                ("csrf", &pcsrf),
                ("current", "ein-gutes-passwort"),
                ("new", "ein-neues-passwort"),
                ("repeat", "ein-neues-passwort"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        one.get("/cases").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        two.get("/cases").await.status,
        StatusCode::SEE_OTHER,
        "the other one ends"
    );
    // A macro over a note draft is refused.
    let mcsrf = a.get("/admin/macros").await.csrf();
    a.post(
        "/admin/macros",
        &[
            ("csrf", &mcsrf),
            ("name", "Gruß"),
            ("body_de", "Hallo {{customer.name}}"),
            ("active", "1"),
        ],
    )
    .await;
    let cp = a.get(&format!("/cases/{r}")).await;
    let mid = cp.attr("#macro option", "value").unwrap();
    assert_eq!(
        a.post(
            &format!("/cases/{r}/draft"),
            &[
                ("csrf", &csrf),
                ("kind", "note"),
                ("body", "Intern: nicht an den Kunden")
            ]
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let refused = a
        .post(
            &format!("/cases/{r}/macro"),
            &[("csrf", &csrf), ("macro_id", &mid)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("interne Notiz"));
    assert_eq!(
        refused.select("#body").join(""),
        "Intern: nicht an den Kunden"
    );
    // A mention on another team's case does not reach an agent outside it.
    let versand = team(&app, "Versand").await;
    let vendor = team(&app, "Händler").await;
    agent_in(&app, "vera@shop.example", "agent", &[&vendor]).await;
    let hidden = open_case(&app, json!({"customer": {"email": "x@example.de"}, "subject": "Geheim", "team_id": versand, "contact": {"text": "x"}})).await;
    let hr = hidden["reference"].as_str().unwrap();
    let hp = a.get(&format!("/cases/{hr}")).await;
    a.post(
        &format!("/cases/{hr}/contacts"),
        &[
            ("csrf", &hp.csrf()),
            ("kind", "note"),
            ("body", "@vera kennst du das?"),
            ("confirm", "1"),
        ],
    )
    .await;
    a.post(
        &format!("/cases/{r}/contacts"),
        &[
            ("csrf", &csrf),
            ("kind", "note"),
            ("body", "@vera hier darfst du rein"),
            ("confirm", "1"),
        ],
    )
    .await;
    let vera = Agent::login(&app, "vera@shop.example", "ein-gutes-passwort").await;
    let mut list = vera.get("/notifications").await;
    for _ in 0..50 {
        if !list.select("#notification-list li").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        list = vera.get("/notifications").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let items = vera
        .get("/notifications")
        .await
        .select("#notification-list li")
        .join("\n");
    assert!(items.contains(r), "{items}");
    assert!(!items.contains(hr) && !items.contains("Geheim"), "{items}");
}

/// Item 2: "My team" holds the cases of all the agent's teams; an agent in no team has no such
/// queue.
#[tokio::test]
async fn team_queue_covers_every_team_of_the_agent() {
    let app = TestApp::spawn().await;
    let (t1, t2, t3) = (
        team(&app, "Versand").await,
        team(&app, "Zahlungen").await,
        team(&app, "Händler").await,
    );
    agent_in(&app, "zwei@shop.example", "agent", &[&t1, &t2]).await;
    agent_in(&app, "keins@shop.example", "agent", &[]).await;
    let mut refs = Vec::new();
    for t in [&t1, &t2, &t3] {
        let c = open_case(&app, json!({"customer": {"email": "k@example.de"}, "subject": "Team", "team_id": t, "contact": {"text": "x"}})).await;
        refs.push(c["reference"].as_str().unwrap().to_owned());
    }
    let a = Agent::login(&app, "zwei@shop.example", "ein-gutes-passwort").await;
    let page = a.get("/cases?view=team").await;
    let rows = page.select("table.queue tbody tr a.ref");
    assert!(
        rows.contains(&refs[0]) && rows.contains(&refs[1]) && !rows.contains(&refs[2]),
        "{rows:?}"
    );
    assert_eq!(
        page.select("nav.queues a[data-queue=team] .count").join(""),
        "2"
    );
    let none = Agent::login(&app, "keins@shop.example", "ein-gutes-passwort").await;
    assert!(
        none.get("/cases")
            .await
            .select("nav.queues a[data-queue=team]")
            .is_empty()
    );
    assert!(
        none.get("/cases?view=team")
            .await
            .select("table.queue tbody tr")
            .is_empty()
    );
}

/// Issue 5, item 6 and the case view: admins manage routing rules, team assignment,
/// escalation and matching settings in forms that refuse nonsense with a message; others get
/// 403. The case view counts repeat contacts, shows why each contact is on the case, offers new
/// identities for linking and escalates by hand.
#[tokio::test]
async fn routing_escalation_and_matching_admin_and_case_view() {
    let app = TestApp::spawn().await;
    let team_id = team(&app, "Verlagsservice").await;
    agent_in(&app, "sven@shop.example", "supervisor", &[]).await;
    let sven = Agent::login(&app, "sven@shop.example", "ein-gutes-passwort").await;
    for path in ["/admin/routing", "/admin/escalation"] {
        assert_eq!(sven.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let a = Agent::admin(&app).await;
    let page = a.get("/admin/routing").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    // A rule through the form.
    let saved = a
        .post(
            "/admin/routing",
            &[
                ("csrf", &csrf),
                ("name", "Verlage"),
                ("channels", "email"),
                ("channels", "form"),
                ("keywords", "Buchpreisbindung\nVerlag"),
                ("team", &team_id),
                ("priority", "high"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let list = a.get("/admin/routing").await;
    let rows = list.select("#routing-rules tbody tr").join("\n");
    assert!(
        rows.contains("Verlage")
            && rows.contains("Buchpreisbindung")
            && rows.contains("Verlagsservice"),
        "{rows}"
    );
    let bad = a
        .post(
            "/admin/routing",
            &[("csrf", &csrf), ("name", "Leer"), ("active", "1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.select("#form-error").join("").is_empty());
    let bad = a
        .post(
            "/admin/routing",
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("position", "zehn"),
                ("priority", "low"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Team assignment.
    let done = a
        .post(
            &format!("/admin/routing/teams/{team_id}"),
            &[
                ("csrf", &csrf),
                ("mode", "least_loaded"),
                ("max_open", "7"),
                ("skills", "verlage"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, t) = app.get(&format!("/api/v1/teams/{team_id}")).await;
    assert_eq!(t["assignment"]["mode"], "least_loaded");
    assert_eq!(t["assignment"]["max_open"], 7);
    let bad = a
        .post(
            &format!("/admin/routing/teams/{team_id}"),
            &[("csrf", &csrf), ("mode", "least_loaded"), ("max_open", "0")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Escalation and matching settings.
    let esc = a.get("/admin/escalation").await;
    assert_eq!(esc.status, StatusCode::OK);
    assert!(esc.body.contains("anwalt"), "the default words are shown");
    let csrf = esc.csrf();
    let ok = a
        .post(
            "/admin/escalation",
            &[
                ("csrf", &csrf),
                ("form", "escalation"),
                ("after_repeats", "3"),
                ("on_keywords", "1"),
                ("keywords_de", "Anwalt\nSkandal"),
                ("keywords_en", "lawyer"),
                ("tier0_name", "Fachteam Verlage"),
                ("tier0_team", &team_id),
                ("tier0_priority", "high"),
                ("tier0_notify", "1"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let (_, got) = app.get("/api/v1/settings/escalation").await;
    assert_eq!(got["after_repeats"], 3);
    assert_eq!(got["tiers"][0]["name"], "Fachteam Verlage");
    assert_eq!(got["on_sla_breach"], false, "an unticked box is off");
    let bad = a
        .post(
            "/admin/escalation",
            &[
                ("csrf", &csrf),
                ("form", "matching"),
                ("enabled", "1"),
                ("window_days", "30"),
                ("min_score", "2"),
                ("near_duplicate", "0,9"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The other form on the page still shows what is stored.
    assert!(bad.body.contains("Fachteam Verlage"), "{}", bad.body);
    let ok = a
        .post(
            "/admin/escalation",
            &[
                ("csrf", &csrf),
                ("form", "matching"),
                ("enabled", "1"),
                ("window_days", "14"),
                ("min_score", "0,7"),
                ("near_duplicate", "0,95"),
                ("acknowledge_repeats", "1"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let (_, m) = app.get("/api/v1/settings/matching").await;
    assert_eq!(m["window_days"], 14);
    assert_eq!(m["min_score"], 0.7);
    assert_eq!(m["near_duplicate"], 0.95);

    // The case view: a repeat is counted and explained; escalation by hand.
    let first = app
        .post("/api/v1/contacts", json!({"customer": {"email": "verlag@example.de"}, "channel": "form", "text": "Unsere Bestellung BE-2026-555001 ist nicht angekommen."}))
        .await
        .1;
    let reference = first["case"]["reference"].as_str().unwrap().to_owned();
    let (s, second) = app
        .post("/api/v1/contacts", json!({"customer": {"email": "verlag@example.de"}, "channel": "phone", "text": "Ruft an: BE-2026-555001 immer noch nicht da."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["case"]["reference"], reference.as_str());
    let view = a.get(&format!("/cases/{reference}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(
        view.select("#case-repeat").join(""),
        "2. Kontakt zu diesem Anliegen"
    );
    assert!(
        view.body
            .contains("Offener Fall zur selben Bestell- oder Sendungsnummer"),
        "the reason is shown"
    );
    let csrf = view.csrf();
    let esc = a
        .post(
            &format!("/cases/{reference}/escalate"),
            &[("csrf", &csrf), ("reason", "Verlag wartet seit Wochen")],
        )
        .await;
    assert_eq!(esc.status, StatusCode::SEE_OTHER, "{}", esc.body);
    let view = a.get(&format!("/cases/{reference}")).await;
    assert_eq!(
        view.select("#case-escalated").join(""),
        "Eskaliert (Stufe 1)"
    );
    assert!(
        view.body.contains("Übergabe"),
        "the hand-off summary is on the timeline"
    );
    let again = a
        .post(
            &format!("/cases/{reference}/escalate"),
            &[("csrf", &csrf), ("reason", "")],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Suggested merge from the customer panel, and its undo.
    let one = app
        .post("/api/v1/contacts", json!({"customer": {"email": "jonas.berg@example.de", "name": "Jonas Berg"}, "text": "Bestellung BE-2026-313131 fehlt."}))
        .await
        .1;
    app.post("/api/v1/contacts", json!({"customer": {"email": "j.berg@firma.example", "name": "Jonas Berg"}, "text": "Wo ist BE-2026-313131?"}))
        .await;
    let r1 = one["case"]["reference"].as_str().unwrap().to_owned();
    let view = a.get(&format!("/cases/{r1}")).await;
    let sugg = view.select("#merge-suggestions li").join("");
    assert!(
        sugg.contains("Jonas Berg") && sugg.contains("BE2026313131"),
        "{sugg}"
    );
    let source = view
        .attr("#merge-suggestions input[name=source]", "value")
        .unwrap();
    let merged = a
        .post(
            &format!("/cases/{r1}/merge-customer"),
            &[("csrf", &view.csrf()), ("source", &source)],
        )
        .await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.body);
    let view = a.get(&format!("/cases/{r1}")).await;
    assert!(
        view.body.contains("j.berg@firma.example"),
        "the identity moved over"
    );
    assert_eq!(view.select("#merged-customers li").len(), 1);
    let undone = a
        .post(
            &format!("/cases/{r1}/unmerge-customer"),
            &[("csrf", &view.csrf()), ("source", &source)],
        )
        .await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    let view = a.get(&format!("/cases/{r1}")).await;
    assert!(
        !view.body.contains("j.berg@firma.example"),
        "the identity went back"
    );
    assert!(view.select("#merged-customers li").is_empty());

    // Skills, spoken languages and capacity of an agent in the admin form.
    let csrf = a.get("/admin/agents").await.csrf();
    let made = a
        .post(
            "/admin/agents",
            &[
                ("csrf", &csrf),
                ("name", "Vera Verlag"),
                ("email", "vera@shop.example"),
                ("role", "agent"),
                ("ui_language", "de"),
                ("spoken", "de"),
                ("spoken", "en"),
                ("skills", "verlage, Preise"),
                ("password", "ein-gutes-passwort"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, agents) = app.get("/api/v1/agents").await;
    let vera = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "vera@shop.example")
        .unwrap()
        .clone();
    assert_eq!(vera["skills"], json!(["verlage", "preise"]));
    assert_eq!(vera["languages"], json!(["de", "en"]));
    let vera_id = vera["id"].as_str().unwrap();
    let edit = a.get(&format!("/admin/agents/{vera_id}")).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Vera Verlag"),
        ("role", "agent"),
        ("ui_language", "de"),
        ("spoken", "de"),
        ("skills", "verlage"),
        ("active", "1"),
    ];
    let mut bad = form.to_vec();
    bad.push(("max_open", "0"));
    let refused = a.post(&format!("/admin/agents/{vera_id}"), &bad).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        edit.body.len()
    );
    let mut good = form.to_vec();
    good.push(("max_open", "3"));
    let saved = a.post(&format!("/admin/agents/{vera_id}"), &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, vera) = app.get(&format!("/api/v1/agents/{vera_id}")).await;
    assert_eq!(vera["max_open"], 3, "{vera}");
    assert_eq!(vera["languages"], json!(["de"]));

    // Away and back: the header's switch, seen by automatic assignment through the agent.
    let page = a.get("/cases").await;
    assert!(page.select("#availability").join("").contains("Verfügbar"));
    let away = a
        .post(
            "/availability",
            &[("csrf", &page.csrf()), ("available", "0")],
        )
        .await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    let page = a.get("/cases").await;
    assert!(
        page.select("#availability").join("").contains("Abwesend"),
        "{}",
        page.body
    );
    let (_, agents) = app.get("/api/v1/agents").await;
    let me = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["role"] == "admin")
        .unwrap();
    assert_eq!(me["available"], false, "{me}");
    let back = a
        .post(
            "/availability",
            &[("csrf", &page.csrf()), ("available", "1")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn search_page_and_suggestions_without_javascript() {
    let app = TestApp::spawn().await;
    let (s, team) = app
        .post("/api/v1/teams", json!({"name": "Großkunden"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    for (i, text) in [
        "Die Rücksendung <script>alert(1)</script> kam nie an.",
        "Rücksendungen bitte abholen",
        "Rechnung fehlt",
    ]
    .iter()
    .enumerate()
    {
        let extra = if i == 0 {
            json!({"team_id": team["id"]})
        } else {
            json!({})
        };
        let mut body = json!({"customer": {"email": format!("k{i}@example.de")}, "subject": format!("Anliegen {i}"), "contact": {"channel": "email", "text": text}});
        body["team_id"] = extra["team_id"].clone();
        let (s, v) = app.post("/api/v1/cases", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    for _ in 0..200 {
        let (_, v) = app.get("/api/v1/search?q=*&facets=false&limit=1").await;
        if v["lag"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let a = Agent::admin(&app).await;
    // Every workspace page carries the search box.
    let p = a.get("/cases").await;
    assert!(
        p.attr("#search-q", "name").is_some_and(|n| n == "q"),
        "the box is there"
    );
    let p = a.get("/search?q=R%C3%BCcksendung").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.select("#search-results li").len(), 2, "{}", p.body);
    assert!(p.body.contains("<mark>Rücksendung</mark>"), "{}", p.body);
    assert!(!p.body.contains("<script>alert"), "snippets are escaped");
    assert!(p.body.contains("&lt;script&gt;"), "{}", p.body);
    assert_eq!(p.attr("#search-q", "value").as_deref(), Some("Rücksendung"));
    // Facets link to the query with the filter added.
    let teams = p.select(".facets a");
    assert!(teams.iter().any(|t| t == "Großkunden"), "{teams:?}");
    let href = p
        .attr(".facets a[href*='team']", "href")
        .expect("a team link");
    let p = a.get(&href).await;
    assert_eq!(p.select("#search-results li").len(), 1, "{}", p.body);
    assert!(p.attr(".facets a.active", "href").is_some());
    // Sorting and a bad query explained on the page.
    let p = a.get("/search?q=R%C3%BCcksendung&sort=oldest").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        p.attr("#search-sort option[selected]", "value").as_deref(),
        Some("oldest")
    );
    let p = a.get("/search?q=farbe%3Arot").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.select("#search-error")
            .first()
            .is_some_and(|e| e.contains("farbe")),
        "{}",
        p.body
    );
    // Suggestions as you type: the word being typed is a prefix.
    let p = a.get("/search/suggest?q=R%C3%BCcksen").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.select(".suggestion").len(), 2, "{}", p.body);
    assert!(
        p.attr(".suggestion", "href")
            .is_some_and(|h| h.starts_with("/cases/A-"))
    );
    let p = a.get("/search/suggest?q=x").await;
    assert!(p.select(".suggestion").is_empty());
    // Without a session: sign in first.
    let res = client()
        .get(format!("{}/search?q=x", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn promises_are_recorded_kept_and_withdrawn_from_the_case_view() {
    let app = TestApp::spawn().await;
    let case = app
        .open_case("kundin@example.de", "Das Sofa kam nur halb.")
        .await;
    let r = case["reference"].as_str().unwrap().to_owned();
    let a = Agent::admin(&app).await;
    let page = a.get(&format!("/cases/{r}")).await;
    assert!(
        page.body.contains("id=\"promise-form\""),
        "the case view has the form"
    );
    let csrf = page.csrf();
    let due = page
        .attr("#promise-due", "value")
        .expect("a suggested due time");
    // A due time in the past is explained.
    let p = a
        .post(
            &format!("/cases/{r}/promises/new"),
            &[
                ("csrf", &csrf),
                ("what", "Rückruf"),
                ("due", "2020-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("in der Zukunft fällig"), "{}", p.body);
    let p = a
        .post(
            &format!("/cases/{r}/promises/new"),
            &[
                ("csrf", &csrf),
                ("what", "Zweiten Karton im Lager suchen & zurückrufen"),
                ("due", &due),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = a.get(&format!("/cases/{r}")).await;
    let items = page.select("#promises li.promise.open strong");
    assert_eq!(
        items,
        vec!["Zweiten Karton im Lager suchen & zurückrufen".to_owned()]
    );
    let pid = page
        .attr("#promises li.promise", "data-promise")
        .expect("id");
    // Withdrawing needs a reason; keeping records what was done.
    let p = a
        .post(
            &format!("/cases/{r}/promises/{pid}"),
            &[("csrf", &csrf), ("action", "cancel"), ("note", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = a
        .post(
            &format!("/cases/{r}/promises/{pid}"),
            &[
                ("csrf", &csrf),
                ("action", "keep"),
                ("note", "Karton gefunden, geht heute raus"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let page = a.get(&format!("/cases/{r}")).await;
    assert_eq!(
        page.select("#promises li.promise.kept").len(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("Karton gefunden"));
    // The API sees the same.
    let (_, list) = app.get(&format!("/api/v1/cases/{r}/promises")).await;
    assert_eq!(list[0]["status"], "kept");
    assert_eq!(list[0]["on_time"], true);
    // Without the form's token nothing happens.
    let p = a
        .post(
            &format!("/cases/{r}/promises/new"),
            &[("csrf", "wrong"), ("what", "x"), ("due", &due)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_callback_list_is_ordered_by_window() {
    let app = TestApp::spawn().await;
    let now = jiff::Timestamp::now();
    let at = |h: i64| (now + jiff::SignedDuration::from_hours(h)).to_string();
    for (phone, from, to) in [("030 1111111", 30, 32), ("030 2222222", 6, 8)] {
        let (s, v) = app
            .post("/api/v1/callbacks", json!({"phone": phone, "concern": "Bitte um Rückruf", "window_from": at(from), "window_to": at(to)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let a = Agent::admin(&app).await;
    let p = a.get("/callbacks").await;
    assert_eq!(p.status, StatusCode::OK);
    let phones = p.select("#callback-list tbody td a[href^='tel:']");
    assert_eq!(
        phones,
        vec!["+49302222222".to_owned(), "+49301111111".to_owned()],
        "{}",
        p.body
    );
    assert!(p.select(".queues a").iter().any(|l| l.contains("Rückrufe")));
}

#[tokio::test]
async fn dead_letters_are_visible_and_retryable_in_admin() {
    let app = TestApp::spawn().await;
    let job = anliegen_store::NewJob::new("no.such.handler", json!({"x": 1})).attempts(1);
    app.store()
        .enqueue(&job, app.store().now())
        .await
        .expect("enqueue");
    let a = Agent::admin(&app).await;
    let mut page = a.get("/admin/jobs").await;
    for _ in 0..100 {
        if !page.select("#dead-letters tbody tr").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        page = a.get("/admin/jobs").await;
    }
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.select("#dead-letters tbody tr");
    assert_eq!(rows.len(), 1, "{}", page.body);
    assert!(
        rows[0].contains("no.such.handler") && rows[0].contains("no handler"),
        "{rows:?}"
    );
    let action = page
        .attr("#dead-letters form", "action")
        .expect("retry form");
    let id: uuid::Uuid = action
        .trim_start_matches("/admin/jobs/")
        .trim_end_matches("/retry")
        .parse()
        .expect("id");
    let before = app.store().job(id).await.expect("job").expect("exists");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let p = a.post(&action, &[("csrf", &page.csrf())]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // Back in the queue, due now: it runs again (and fails again: there is no such handler).
    let after = app.store().job(id).await.expect("job").expect("exists");
    // Waiting for its new run, running it, or it ran again and failed again (a failure
    // schedules from its own time, so the job no longer looks as it did before the retry).
    assert!(
        (after.status == anliegen_store::JobStatus::Pending && after.attempts == 0)
            || after.status == anliegen_store::JobStatus::Running
            || after.run_at != before.run_at,
        "retried: {after:?}"
    );
    // Agents may not see the page.
    let (_, _) = app
        .agent_token("ben@shop.example", "agent", &["read"])
        .await;
    let ben = Agent::login(&app, "ben@shop.example", "ein-gutes-passwort").await;
    assert_eq!(ben.get("/admin/jobs").await.status, StatusCode::FORBIDDEN);
    let p = ben.post(&action, &[("csrf", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

/// Issue 7 item 2: queues show each case's SLA due time as a countdown and sort by it; the
/// case view shows the policy and each target.
#[tokio::test]
async fn queues_sort_by_sla_due_time_and_the_case_shows_its_sla() {
    let app = TestApp::spawn().await;
    let (s, _, v) = app
        .req(
            Method::PUT,
            "/api/v1/sla/policies",
            Some(json!([
                {"name": "Telefon", "conditions": {"channels": ["phone"]}, "targets": {"first_response": 30}},
                {"name": "Standard", "targets": {"first_response": 2400, "resolution": 9600}}
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Urgent by priority, but with a lot of time; normal, but due in half an hour.
    let slow = open_case(&app, json!({"customer": {"email": "verlag@example.de"}, "subject": "Titel fehlen", "priority": "urgent", "contact": {"channel": "email", "text": "Unsere Titel fehlen im Shop."}})).await;
    let fast = open_case(&app, json!({"customer": {"email": "anrufer@example.de"}, "subject": "Rückruf", "contact": {"channel": "phone", "text": "Bitte um Rückruf wegen der Lieferung."}})).await;
    let (slow_ref, fast_ref) = (
        slow["reference"].as_str().unwrap().to_owned(),
        fast["reference"].as_str().unwrap().to_owned(),
    );
    for r in [&slow_ref, &fast_ref] {
        for _ in 0..200 {
            if detail(&app, r).await["case"]["sla_due_at"].is_string() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let a = Agent::admin(&app).await;
    let refs = |p: &Page| {
        let doc = scraper::Html::parse_document(&p.body);
        let sel = scraper::Selector::parse("table.queue tbody tr").unwrap();
        doc.select(&sel)
            .filter_map(|e| e.value().attr("data-ref").map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let by_urgency = a.get("/cases?view=open").await;
    assert_eq!(refs(&by_urgency), [slow_ref.clone(), fast_ref.clone()]);
    assert_eq!(
        by_urgency.select("time[data-countdown]").len(),
        2,
        "{}",
        by_urgency.body
    );
    assert!(by_urgency.select("time[data-countdown]")[1].starts_with("noch "));
    let href = by_urgency.attr("th a.sort", "href").expect("a sort link");
    assert!(href.contains("sort=sla"), "{href}");
    let by_sla = a.get(&href).await;
    assert_eq!(by_sla.status, StatusCode::OK);
    assert_eq!(refs(&by_sla), [fast_ref.clone(), slow_ref.clone()]);
    assert!(by_sla.attr("th a.sort.sorted", "aria-sort").is_some());
    assert_eq!(
        a.get("/cases?view=open&sort=zufall").await.status,
        StatusCode::BAD_REQUEST
    );

    let page = a.get(&format!("/cases/{fast_ref}")).await;
    let sla = page.select("#sla").join(" ");
    assert!(
        sla.contains("Telefon") && sla.contains("Erste Antwort") && sla.contains("läuft"),
        "{sla}"
    );
    assert_eq!(page.select("#sla time[data-countdown]").len(), 1);
    let page = a.get(&format!("/cases/{slow_ref}")).await;
    assert_eq!(
        page.select("#sla li").len(),
        2,
        "first response and resolution"
    );
}

/// Issue 7 items 2 and 6: admins keep SLA policies and automation rules in forms; refusals
/// come back with the reason and what was entered; the dry-run lists what a rule would touch.
#[tokio::test]
async fn admins_keep_sla_policies_and_automations_in_forms() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let page = a.get("/admin/sla").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    // No target at all: refused, the name stays in the form.
    let p = a
        .post(
            "/admin/sla",
            &[
                ("csrf", &csrf),
                ("name", "Premium"),
                ("warn_percent", "75"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.select("#form-error")
            .first()
            .is_some_and(|e| e.contains("at least one target")),
        "{}",
        p.body
    );
    assert_eq!(p.attr("#s-name", "value").as_deref(), Some("Premium"));
    let p = a
        .post(
            "/admin/sla",
            &[
                ("csrf", &csrf),
                ("name", "Premium"),
                ("tiers", "premium"),
                ("priorities", "urgent"),
                ("first_response", "30 min"),
                ("resolution", "1,5 h"),
                ("warn_percent", "80"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (_, list) = app.get("/api/v1/sla/policies").await;
    assert_eq!(list[0]["targets"]["first_response"], 30);
    assert_eq!(list[0]["targets"]["resolution"], 90);
    assert_eq!(list[0]["conditions"]["tiers"], json!(["premium"]));
    let page = a.get("/admin/sla").await;
    assert!(page.select("#sla-policies").join(" ").contains("Premium"));
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let edit = a.get(&format!("/admin/sla/{id}")).await;
    assert_eq!(edit.attr("#s-first", "value").as_deref(), Some("30 min"));
    assert_eq!(
        edit.attr("#s-resolution", "value").as_deref(),
        Some("1 h 30 min")
    );
    let p = a
        .post(&format!("/admin/sla/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/sla/policies").await.1, json!([]));

    // Automations: a timer of no time is refused; the dry-run lists the waiting case.
    let case = app
        .open_case("kundin@example.de", "Bitte um Rückmeldung.")
        .await;
    let r = case["reference"].as_str().unwrap().to_owned();
    let (s, v) = app
        .patch(
            &format!("/api/v1/cases/{r}"),
            json!({"status": "waiting_on_customer"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let page = a.get("/admin/automations").await;
    assert_eq!(page.status, StatusCode::OK);
    let form = |after: &'static str| {
        vec![
            ("csrf", csrf.as_str()),
            ("name", "Erinnern"),
            ("type", "timer"),
            ("since", "status_changed"),
            ("after", after),
            ("status", "waiting_on_customer"),
            ("add_tags", "erinnert"),
            (
                "reply_de",
                "Guten Tag, wir warten noch auf Ihre Antwort zu {{case.ref}}.",
            ),
            ("active", "1"),
        ]
    };
    let p = a.post("/admin/automations", &form("0 min")).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.select("#form-error")
            .first()
            .is_some_and(|e| e.contains("0 minutes")),
        "{}",
        p.body
    );
    // As a trigger on status changes, the rule's conditions hold for the waiting case now.
    let mut dry = form("");
    dry.retain(|(k, _)| *k != "type");
    dry.extend([
        ("type", "trigger"),
        ("on", "status_changed"),
        ("dry_run", "1"),
    ]);
    let p = a.post("/admin/automations", &dry).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.select("#dry-run li").join(" ").contains(&r), "{}", p.body);
    assert_eq!(
        app.get("/api/v1/automations").await.1,
        json!([]),
        "a dry run saves nothing"
    );
    let p = a.post("/admin/automations", &form("7 Tage")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (_, rules) = app.get("/api/v1/automations").await;
    assert_eq!(
        rules[0]["when"],
        json!({"type": "timer", "since": "status_changed", "minutes": 10080})
    );
    let id = rules[0]["id"].as_str().unwrap().to_owned();
    let edit = a.get(&format!("/admin/automations/{id}")).await;
    assert_eq!(edit.attr("#a-after", "value").as_deref(), Some("7 d"));
    assert!(
        a.get("/admin/automations")
            .await
            .select("#automation-rules")
            .join(" ")
            .contains("Erinnern")
    );
}

/// Issue 7 items 3 and 4: a macro records a promise for whoever applies it; a phone call is
/// logged from the case view with its duration and number.
#[tokio::test]
async fn a_macro_makes_a_promise_and_calls_are_logged_from_the_case_view() {
    let app = TestApp::spawn().await;
    let a = Agent::admin(&app).await;
    let csrf = a.get("/admin/macros").await.csrf();
    let fields = |due: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Lagersuche".to_owned()),
            (
                "body_de",
                "Guten Tag {{customer.name}}, wir suchen im Lager und melden uns.".to_owned(),
            ),
            ("body_en", String::new()),
            (
                "promise_what",
                "Rückruf mit dem Ergebnis der Lagersuche".to_owned(),
            ),
            ("promise_due", due.to_owned()),
            ("active", "1".to_owned()),
        ]
    };
    let bad = fields("");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = a.post("/admin/macros", &bad).await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a promise needs a due time"
    );
    let good = fields("4 h");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = a.post("/admin/macros", &good).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);

    let case = open_case(&app, json!({"customer": {"email": "sofa@example.de", "name": "Petra Hoffmann"}, "subject": "Sofa halb geliefert", "contact": {"channel": "phone", "text": "Die zweite Hälfte des Sofas fehlt."}})).await;
    let r = case["reference"].as_str().unwrap().to_owned();
    let page = a.get(&format!("/cases/{r}")).await;
    let id = page
        .attr("#macro option", "value")
        .expect("the macro is offered");
    let applied = a
        .post(
            &format!("/cases/{r}/macro"),
            &[("csrf", &page.csrf()), ("macro_id", &id)],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    let (_, promises) = app.get(&format!("/api/v1/cases/{r}/promises")).await;
    assert_eq!(
        promises[0]["what"], "Rückruf mit dem Ergebnis der Lagersuche",
        "{promises}"
    );
    assert_eq!(promises[0]["status"], "open");

    // A call: duration as minutes:seconds, a German number, a summary.
    let page = a.get(&format!("/cases/{r}")).await;
    let csrf = page.csrf();
    let p = a
        .post(
            &format!("/cases/{r}/calls"),
            &[
                ("csrf", &csrf),
                ("direction", "inbound"),
                ("duration", "zwölf"),
                ("summary", "x"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("Minuten:Sekunden"), "{}", p.body);
    let p = a
        .post(
            &format!("/cases/{r}/calls"),
            &[
                ("csrf", &csrf),
                ("direction", "outbound"),
                ("duration", "12:30"),
                ("number", "030 1234567"),
                (
                    "summary",
                    "Lager hat die zweite Hälfte gefunden, Versand morgen.",
                ),
                ("status_after", "waiting_on_third_party"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let d = detail(&app, &r).await;
    let call = d["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call"].is_object())
        .expect("the call is logged")
        .clone();
    assert_eq!(call["call"]["duration_seconds"], 750);
    assert_eq!(call["call"]["number"], "+49301234567");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(d["case"]["status"], "waiting_on_third_party");
    let page = a.get(&format!("/cases/{r}")).await;
    assert!(
        page.body.contains("Rückruf durch uns, 12 Min."),
        "the timeline shows the call"
    );
}

/// Issue 7 item 1: admins keep each team's business hours in a form (breaks, holidays of a
/// state, extra days, closures); a calendar without opening hours or with overlapping ranges
/// is refused with the reason; the page shows the coming closed days.
#[tokio::test]
async fn admins_keep_business_hours_per_team() {
    let app = TestApp::spawn().await;
    let id = team(&app, "Verlage").await;
    let a = Agent::admin(&app).await;
    let page = a.get("/admin/calendars").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.select("#calendars")
            .join(" ")
            .contains("Mo 08:00–18:00"),
        "{}",
        page.body
    );
    let page = a.get(&format!("/admin/calendars/{id}")).await;
    let csrf = page.csrf();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("time_zone", "Europe/Berlin"),
        ("region", "DE-BY"),
        ("monday", ""),
        ("tuesday", ""),
        ("wednesday", ""),
        ("thursday", ""),
        ("friday", ""),
        ("saturday", ""),
        ("sunday", ""),
        ("extra_days", ""),
        ("closures", ""),
    ];
    let p = a.post(&format!("/admin/calendars/{id}"), &form).await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no opening hours"
    );
    assert!(
        p.select("#form-error")
            .first()
            .is_some_and(|e| !e.is_empty())
    );
    form.retain(|(k, _)| !["monday", "friday", "extra_days", "closures"].contains(k));
    form.extend([
        ("monday", "08:00–12:00, 11:00–18:00"),
        ("friday", "08:00–14:00"),
        ("extra_days", "2026-12-24 Heiligabend"),
        ("closures", ""),
    ]);
    let p = a.post(&format!("/admin/calendars/{id}"), &form).await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "overlapping ranges"
    );
    assert_eq!(
        p.attr("#c-monday", "value").as_deref(),
        Some("08:00–12:00, 11:00–18:00")
    );
    form.retain(|(k, _)| *k != "monday" && *k != "closures");
    form.extend([
        ("monday", "08:00–12:00, 13:00–18:00"),
        ("closures", "2026-12-28 08:00 – 2026-12-30 18:00 Inventur"),
    ]);
    let p = a.post(&format!("/admin/calendars/{id}"), &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (_, cal) = app.get(&format!("/api/v1/teams/{id}/calendar")).await;
    assert_eq!(cal["region"], "DE-BY");
    assert_eq!(cal["hours"].as_array().map(Vec::len), Some(3));
    assert_eq!(cal["extra_days"][0]["date"], "2026-12-24");
    assert_eq!(cal["closures"][0]["reason"], "Inventur");
    let page = a.get(&format!("/admin/calendars/{id}")).await;
    assert_eq!(
        page.attr("#c-monday", "value").as_deref(),
        Some("08:00–12:00, 13:00–18:00")
    );
    let coming = page.select("#coming-closed li").join("\n");
    assert!(coming.contains("24.12.2026 Heiligabend"), "{coming}");
    assert!(
        coming.contains("06.01.2027"),
        "Bavaria's Epiphany: {coming}"
    );
}
