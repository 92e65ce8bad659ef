//! The agent workspace in a real browser: headless Debian Chromium driven over WebDriver
//! (chromedriver + fantoccini). Screenshots of the main pages land in `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mail::{Sink, send};

/// Browser tests share two cores with the build: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub(crate) const DEMO_PASSWORD: &str = "anliegen-demo";
pub(crate) const JANA: &str = "jana.becker@demo.anliegen.example";
pub(crate) const SABINE: &str = "sabine.krueger@demo.anliegen.example";
pub(crate) const AYLIN: &str = "aylin.demir@demo.anliegen.example";

fn missing() -> bool {
    if std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists() {
        return false;
    }
    eprintln!(
        "browser tests did not run: Debian's chromium and chromium-driver are missing \
         (apt-get install chromium chromium-driver; .ci/run installs them)"
    );
    true
}

pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub(crate) async fn start() -> Self {
        // fantoccini speaks plain HTTP to chromedriver, but its client wants a TLS provider.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }

    /// A new browser window (its own profile: no shared cookies).
    pub(crate) async fn browser(&self, javascript: bool) -> Browser {
        let mut caps = serde_json::Map::new();
        let mut prefs = json!({ "intl.accept_languages": "de-DE,de" });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1366,768", "--lang=de-DE"],
                "prefs": prefs,
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session");
        Browser { c: client }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Browser {
    pub c: Client,
}

impl Browser {
    pub(crate) async fn goto(&self, url: &str) {
        self.c.goto(url).await.expect("navigates");
    }

    pub(crate) async fn login(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("button[type=submit]").await;
        self.wait_for("nav.queues").await;
    }

    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let el = self
            .c
            .wait()
            .for_element(Locator::Css(css))
            .await
            .expect(css);
        el.clear().await.ok();
        el.send_keys(text).await.expect("types");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.c
            .wait()
            .for_element(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("clicks");
    }

    pub(crate) async fn wait_for(&self, css: &str) {
        if let Err(e) = self
            .c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            let page = self.source().await;
            let path = self.path().await;
            panic!("{css} did not appear on {path}: {e}\n{page}");
        }
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap_or_default()
    }

    pub(crate) async fn source(&self) -> String {
        self.c.source().await.unwrap_or_default()
    }

    /// Waits until `js` (an expression) is truthy.
    pub(crate) async fn until(&self, js: &str, what: &str) {
        for _ in 0..150 {
            let v = self
                .c
                .execute(&format!("return !!({js});"), vec![])
                .await
                .unwrap_or(Value::Bool(false));
            if v == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let seq = self
            .js("return document.body.dataset.liveSeq || 'none'")
            .await;
        let main = self.js("return (document.getElementById('presence') || {}).outerHTML + '\\n' + (document.querySelector('main') ? document.querySelector('main').innerText : '')").await;
        panic!(
            "timed out waiting for {what} (last live refresh: {seq}) on {}:\n{}",
            self.path().await,
            main.as_str().unwrap_or("")
        );
    }

    pub(crate) async fn js(&self, js: &str) -> Value {
        self.c.execute(js, vec![]).await.expect("script runs")
    }

    /// Presses one key as a user would (to whatever has focus).
    pub(crate) async fn key(&self, k: char) {
        let keys = KeyActions::new(format!("k{}", k as u32))
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
        self.c.perform_actions(keys).await.expect("key press");
    }

    pub(crate) async fn path(&self) -> String {
        let u = self.c.current_url().await.expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub(crate) async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// `target/screenshots/` of this build.
fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// A demo node whose mail leaves through `sink`.
async fn demo_with_sink(sink: &Sink) -> TestApp {
    let port = sink.port;
    TestApp::spawn_demo(|s| {
        s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
        s.relay_host = Some("127.0.0.1".into());
        s.relay_port = port;
        s.relay_security = "none".into();
        s.mail_acknowledge = false;
    })
    .await
}

/// The reference of the first case in an agent's queue of all open cases.
async fn first_open_case(b: &Browser, base: &str) -> String {
    open_case_on(b, base, "").await
}

/// The first open case whose channel is `channel` (any when empty).
async fn open_case_on(b: &Browser, base: &str, channel: &str) -> String {
    b.goto(&format!("{base}/cases?view=open")).await;
    b.wait_for("table.queue tbody tr").await;
    let css = if channel.is_empty() {
        "table.queue tbody tr".to_owned()
    } else {
        format!("table.queue tbody tr[data-channel={channel}]")
    };
    b.js(&format!(
        "return document.querySelector('{css}').dataset.ref"
    ))
    .await
    .as_str()
    .unwrap()
    .to_owned()
}

/// Sign in, see the queue, open a demo case, reply — and the reply arrives at a real SMTP sink.
/// Screenshots: login, queue, case view.
#[tokio::test]
async fn sign_in_open_a_demo_case_and_reply_by_mail() {
    if missing() || crate::mail::skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let sink = Sink::start();
    let app = demo_with_sink(&sink).await;
    let driver = Driver::start().await;
    let b = driver.browser(true).await;

    b.goto(&format!("{}/cases", app.url)).await;
    assert!(
        b.path().await.starts_with("/login"),
        "signed-out visitors are sent to sign in"
    );
    b.wait_for("#email").await;
    b.screenshot("login").await;
    // A wrong password is refused with a clear message.
    b.fill("#email", JANA).await;
    b.fill("#password", "falsch-falsch").await;
    b.click("button[type=submit]").await;
    b.wait_for("#login-error").await;
    assert!(b.text("#login-error").await.contains("falsch"));
    b.login(&app.url, SABINE, DEMO_PASSWORD).await;
    assert_eq!(b.path().await, "/cases");
    let reference = open_case_on(&b, &app.url, "email").await;
    b.screenshot("queue").await;

    b.goto(&format!("{}/cases/{reference}", app.url)).await;
    b.wait_for("#entries li.contact").await;
    b.screenshot("case").await;
    let heading = b.text("h1").await;
    assert!(heading.contains(&reference), "{heading}");

    let text = format!(
        "Guten Tag, Ihre Erstattung ist veranlasst. Test {}",
        uuid::Uuid::new_v4().simple()
    );
    b.fill("#body", &text).await;
    b.click("#send").await;
    b.until(
        &format!("document.querySelector('#entries') && document.querySelector('#entries').innerText.includes({})", json!(text)),
        "the reply in the timeline",
    )
    .await;
    let mail = sink.wait_for(1).await;
    assert!(mail.contains("Erstattung ist veranlasst"), "{mail}");
    assert!(
        mail.contains(&format!("[{reference}]")) || mail.contains(&reference),
        "{mail}"
    );

    b.close().await;
}

/// A mail arriving over SMTP appears in the open queue without a reload.
#[tokio::test]
async fn new_inbound_mail_appears_live_in_the_queue() {
    if missing() || crate::mail::skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let sink = Sink::start();
    let app = demo_with_sink(&sink).await;
    let driver = Driver::start().await;
    let b = driver.browser(true).await;
    // Aylin is in the team of the demo mailbox.
    b.login(&app.url, AYLIN, DEMO_PASSWORD).await;
    b.goto(&format!("{}/cases?view=unassigned", app.url)).await;
    b.wait_for("nav.queues").await;
    // A marker that a reload would lose.
    b.js("window.__still_here = true; return 1").await;
    let subject = format!("Lieferung fehlt {}", uuid::Uuid::new_v4().simple());
    let raw = format!(
        "From: Erika Musterfrau <erika@example.de>\nTo: service@beispiel-shop.de\nSubject: {subject}\nMessage-ID: <{}@example.de>\nDate: Mon, 30 Nov 2026 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\n\nMeine Lieferung ist nicht vollständig.\n",
        uuid::Uuid::new_v4().simple()
    );
    assert_eq!(send(&app, "service@beispiel-shop.de", &raw).await, "250");
    b.until(
        &format!(
            "document.querySelector('#queue-body').innerText.includes({})",
            json!(subject)
        ),
        "the new case in the queue",
    )
    .await;
    assert_eq!(
        b.js("return window.__still_here === true").await,
        Value::Bool(true),
        "no reload"
    );
    b.close().await;
}

/// j/k move, o opens, ? shows the help, r and n pick reply or note, a focuses the assignee,
/// u goes back.
#[tokio::test]
async fn keyboard_shortcuts() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_demo(|_| {}).await;
    let driver = Driver::start().await;
    let b = driver.browser(true).await;
    b.login(&app.url, JANA, DEMO_PASSWORD).await;
    b.goto(&format!("{}/cases?view=open", app.url)).await;
    b.wait_for("table.queue tbody tr").await;
    let refs = b
        .js("return Array.from(document.querySelectorAll('table.queue tbody tr')).map(r => r.dataset.ref)")
        .await;
    let refs: Vec<String> = serde_json::from_value(refs).unwrap();
    assert!(refs.len() >= 3);
    b.key('j').await;
    b.key('j').await;
    b.key('j').await;
    b.key('k').await;
    let selected = b
        .js("return document.querySelector('tr.selected').dataset.ref")
        .await;
    assert_eq!(selected, json!(refs[1]));
    b.key('?').await;
    assert_eq!(
        b.js("return document.getElementById('help').open").await,
        json!(true)
    );
    b.key('\u{e00c}').await; // Escape closes the dialog
    b.key('o').await;
    b.until(
        &format!("location.pathname === '/cases/{}'", refs[1]),
        "the case opens",
    )
    .await;
    b.wait_for("#body").await;
    b.key('n').await;
    assert_eq!(
        b.js("return document.getElementById('kind-note').checked")
            .await,
        json!(true)
    );
    assert_eq!(
        b.js("return document.activeElement.id").await,
        json!("body")
    );
    b.key('\u{e00c}').await; // Escape leaves the text field
    b.key('r').await;
    assert_eq!(
        b.js("return document.getElementById('kind-reply').checked")
            .await,
        json!(true)
    );
    b.key('\u{e00c}').await;
    b.key('a').await;
    assert_eq!(
        b.js("return document.activeElement.id").await,
        json!("assignee")
    );
    b.key('\u{e00c}').await;
    b.key('u').await;
    b.until("location.pathname === '/cases'", "back to the queue")
        .await;
    b.close().await;
}

/// Two agents on one case (an agent and her supervisor): each sees the other, and typing shows.
#[tokio::test]
async fn presence_of_another_agent_on_the_same_case() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_demo(|_| {}).await;
    let driver = Driver::start().await;
    let a = driver.browser(true).await;
    let b = driver.browser(true).await;
    a.login(&app.url, JANA, DEMO_PASSWORD).await;
    b.login(&app.url, SABINE, DEMO_PASSWORD).await;
    let reference = first_open_case(&a, &app.url).await;
    a.goto(&format!("{}/cases/{reference}", app.url)).await;
    b.goto(&format!("{}/cases/{reference}", app.url)).await;
    a.until(
        "!document.getElementById('presence').hidden && document.getElementById('presence').innerText.includes('Sabine')",
        "Sabine's presence on Jana's page",
    )
    .await;
    b.fill("#body", "Ich schaue mir das an").await;
    a.until(
        "document.getElementById('presence').innerText.includes('schreibt gerade')",
        "Sabine typing",
    )
    .await;
    // A customer's new message appears in the open case view without a reload, and the
    // draft being written stays.
    a.fill("#body", "Mein Entwurf").await;
    a.js("window.__still_here = true; return 1").await;
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{reference}/contacts"),
            json!({"kind": "customer", "text": "Nachtrag vom Kunden: bitte dringend"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    a.until(
        "document.getElementById('entries').innerText.includes('Nachtrag vom Kunden')",
        "the new contact in the case view",
    )
    .await;
    assert_eq!(
        a.js("return window.__still_here === true").await,
        Value::Bool(true),
        "no reload"
    );
    assert_eq!(
        a.js("return document.getElementById('body').value").await,
        json!("Mein Entwurf")
    );
    a.close().await;
    b.close().await;
}

/// The session ends while the agent writes: after signing in again the text is there.
#[tokio::test]
async fn a_draft_survives_an_expired_session() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_demo(|_| {}).await;
    let driver = Driver::start().await;
    let b = driver.browser(true).await;
    b.login(&app.url, JANA, DEMO_PASSWORD).await;
    let reference = first_open_case(&b, &app.url).await;
    b.goto(&format!("{}/cases/{reference}", app.url)).await;
    let text = "Sehr geehrte Frau Weber, zu Ihrer Frage nach der Rücksendung: ";
    b.fill("#body", text).await;
    // The session expires (revoked on the server, as at the end of its lifetime).
    let (s, tokens) = app.get("/api/v1/tokens").await;
    assert_eq!(s, StatusCode::OK);
    for t in tokens.as_array().unwrap() {
        if t["name"] == "web session" {
            let path = format!("/api/v1/tokens/{}", t["id"].as_str().unwrap());
            let (s, _, _) = app.req(reqwest::Method::DELETE, &path, None).await;
            assert!(s.is_success(), "{s}");
        }
    }
    b.click("#send").await;
    b.wait_for("#password").await;
    assert!(b.source().await.contains("nicht verloren"));
    b.fill("#email", JANA).await;
    b.fill("#password", DEMO_PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for("#body").await;
    assert_eq!(b.path().await, format!("/cases/{reference}"));
    let kept = b.js("return document.getElementById('body').value").await;
    assert_eq!(kept, json!(text));
    b.close().await;
}

/// Without JavaScript an agent reads a case (timeline, folded quotes) and sends a reply.
#[tokio::test]
async fn without_javascript_read_a_case_and_reply() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_demo(|_| {}).await;
    let driver = Driver::start().await;
    let b = driver.browser(false).await;
    b.login(&app.url, JANA, DEMO_PASSWORD).await;
    assert_eq!(
        b.js("return 1").await,
        json!(1),
        "webdriver scripts still run"
    );
    b.goto(&format!("{}/cases?view=open", app.url)).await;
    b.click("table.queue tbody tr a.ref").await;
    b.wait_for("#entries li.contact").await;
    let reference = b.text("h1 .ref").await;
    let text = format!("Antwort ohne JavaScript {}", uuid::Uuid::new_v4().simple());
    b.fill("#body", &text).await;
    b.click("#send").await;
    b.wait_for("#entries").await;
    assert!(b.path().await.starts_with(&format!("/cases/{reference}")));
    assert!(b.text("#entries").await.contains(&text));
    b.close().await;
}

/// Classic stored-XSS vectors in a mail's HTML, subject and sender name.
const PAYLOAD_HTML: &str = r#"<p>Hallo, hier ist meine Reklamation.</p>
<script>top.__xss=1;window.__xss=1</script>
<img src=x onerror="top.__xss=2;window.__xss=2">
<a href="javascript:top.__xss=3">klick</a>
<svg onload="top.__xss=4"><script>top.__xss=5</script></svg>
<div style="background:url(javascript:top.__xss=6);width:expression(top.__xss=7)">css</div>
<iframe srcdoc="<script>top.__xss=8</script>"></iframe>
<object data="javascript:top.__xss=9"></object>
<embed src="javascript:top.__xss=10">
<form action="javascript:top.__xss=11"><button>senden</button></form>
<math><mtext><table><mglyph><style><img src=x onerror="top.__xss=12;window.__xss=12">
<meta http-equiv="refresh" content="0;url=javascript:top.__xss=13">
<base href="javascript:top.__xss=14//">
<details open ontoggle="top.__xss=15;window.__xss=15">d</details>
<a href="data:text/html,<script>top.__xss=17</script>">daten</a>
<noscript><p title="</noscript><img src=x onerror=window.__xss=18>"></noscript>
<style>@import 'javascript:top.__xss=19';</style>"#;

fn payload_mail() -> String {
    let svg = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>top.__xss=30</script></svg>",
    );
    format!(
        "From: \"<script>top.__xss=21</script>\" <angreifer@example.net>\r\nTo: service@shop.example\r\nSubject: <img src=x onerror=top.__xss=20> Reklamation\r\nMessage-ID: <xss-1@example.net>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{PAYLOAD_HTML}\r\n--b1\r\nContent-Type: image/svg+xml; name=bild.svg\r\nContent-Disposition: inline; filename=bild.svg\r\nContent-Transfer-Encoding: base64\r\n\r\n{svg}\r\n--b1--\r\n"
    )
}

fn html_corpus() -> Vec<PathBuf> {
    let root = std::env::var("ANLIEGEN_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    let mut out = Vec::new();
    let mut stack = vec![root.join("mail")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .to_ascii_lowercase()
                        .contains("text/html")
                })
                .unwrap_or(false)
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Stored XSS: the HTML parts of the shared mail corpus and classic vectors are rendered in the
/// case view (mail frames opened) and nothing executes — neither in the page nor in a frame.
#[tokio::test]
async fn stored_xss_nothing_executes() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_with(|s| s.mail_acknowledge = false).await;
    let (s, mb) = app
        .post(
            "/api/v1/mailboxes",
            json!({"address": "service@shop.example", "display_name": "Shop"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mb}");
    let intake = app.running.as_ref().unwrap().intake.clone();
    let mut cases = std::collections::BTreeSet::new();
    let mut raws = vec![payload_mail().into_bytes()];
    let corpus = html_corpus();
    if corpus.is_empty() {
        eprintln!("the shared mail corpus is missing: only the classic vectors are checked");
    }
    for p in &corpus {
        raws.push(std::fs::read(p).unwrap());
    }
    for raw in raws {
        match intake
            .deliver(raw, &anliegen_mail::intake::Envelope::default())
            .await
            .expect("stored")
        {
            anliegen_mail::intake::Outcome::Stored { case_id, .. }
            | anliegen_mail::intake::Outcome::Duplicate { case_id, .. } => {
                cases.insert(case_id.to_string());
            }
        }
    }
    let driver = Driver::start().await;
    let b = driver.browser(true).await;
    let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
    b.login(&app.url, &first.email, &first.password).await;
    let mut frames_checked = 0;
    for id in &cases {
        let (_, d) = app.get(&format!("/api/v1/cases/{id}")).await;
        let reference = d["case"]["reference"].as_str().unwrap().to_owned();
        b.goto(&format!("{}/cases/{reference}", app.url)).await;
        b.wait_for("#entries").await;
        // Open every fold and load every mail frame now.
        let n = b
            .js(
                "document.querySelectorAll('details').forEach(d => d.open = true); \
                 const fs = document.querySelectorAll('iframe'); \
                 fs.forEach(f => { f.loading = 'eager'; f.src = f.src; }); return fs.length;",
            )
            .await
            .as_u64()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            b.js("return typeof window.__xss").await,
            json!("undefined"),
            "{reference}: script ran in the page"
        );
        let page = b.source().await;
        assert!(
            !page.contains("<script>top.__xss"),
            "{reference}: unescaped script in the page"
        );
        for i in 0..n {
            b.c.enter_frame(i as u16).await.expect("frame");
            let dom = b
                .js("return { scripts: document.querySelectorAll('script').length, \
                      handlers: Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length, \
                      js_urls: Array.from(document.querySelectorAll('[href],[src],[action],[data]')).filter(e => /^\\s*(javascript|data:text)/i.test(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || e.getAttribute('data') || '')).length, \
                      flag: typeof window.__xss }")
                .await;
            assert_eq!(dom["scripts"], json!(0), "{reference} frame {i}: {dom}");
            assert_eq!(dom["handlers"], json!(0), "{reference} frame {i}: {dom}");
            assert_eq!(dom["js_urls"], json!(0), "{reference} frame {i}: {dom}");
            assert_eq!(
                dom["flag"],
                json!("undefined"),
                "{reference} frame {i}: {dom}"
            );
            b.c.enter_parent_frame().await.expect("back to the page");
            frames_checked += 1;
        }
        assert_eq!(
            b.js("return typeof window.__xss").await,
            json!("undefined"),
            "{reference}"
        );
    }
    assert!(
        frames_checked > corpus.len() / 2,
        "{frames_checked} frames checked"
    );
    // The admin pages, for the reviewer's screenshots.
    b.goto(&format!("{}/admin/mailboxes", app.url)).await;
    b.wait_for("#mb-form-title").await;
    b.screenshot("admin").await;
    b.goto(&format!("{}/admin/agents", app.url)).await;
    b.wait_for("#agent-form-title").await;
    b.screenshot("admin-agents").await;
    b.close().await;
}

/// Merge a repeat case into the first, see the redirect, undo it; split a contact into a new
/// case and undo that (as a supervisor).
#[tokio::test]
async fn merge_and_split_with_undo() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn().await;
    let open = |subject: &str, text: &str| json!({"customer": {"email": "verlag@example.de", "name": "Petra Hoffmann"}, "subject": subject, "contact": {"channel": "email", "text": text}});
    let (_, a) = app
        .post(
            "/api/v1/cases",
            open("Preis falsch", "Erste Meldung: der Preis stimmt nicht"),
        )
        .await;
    let (_, b) = app
        .post(
            "/api/v1/cases",
            open("Preis immer noch falsch", "Zweite Meldung zum selben Preis"),
        )
        .await;
    let (ar, br) = (
        a["reference"].as_str().unwrap().to_owned(),
        b["reference"].as_str().unwrap().to_owned(),
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/cases/{br}/contacts"),
            json!({"kind": "customer", "text": "Und übrigens: meine Rechnung fehlt"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let driver = Driver::start().await;
    let b_ = driver.browser(true).await;
    let first = app.running.as_ref().unwrap().first_login.clone().unwrap();
    b_.login(&app.url, &first.email, &first.password).await;

    // Merge B into A.
    b_.goto(&format!("{}/cases/{br}", app.url)).await;
    b_.fill("#merge-target", &ar).await;
    b_.click("#merge-form button[type=submit]").await;
    b_.until(
        &format!("location.pathname === '/cases/{ar}'"),
        "the surviving case",
    )
    .await;
    let timeline = b_.text("#entries").await;
    assert!(
        timeline.contains("Zweite Meldung") && timeline.contains("Erste Meldung"),
        "{timeline}"
    );
    assert!(
        b_.source()
            .await
            .contains(&format!("{br} wurde in diesen Fall zusammengeführt"))
    );
    b_.goto(&format!("{}/cases/{br}", app.url)).await;
    assert!(
        b_.path().await.starts_with(&format!("/cases/{ar}")),
        "the merged case redirects"
    );

    // Undo it.
    b_.click(&format!("button[data-unmerge='{br}']")).await;
    b_.until(
        &format!("location.pathname === '/cases/{br}'"),
        "back on the restored case",
    )
    .await;
    let restored = b_.text("#entries").await;
    assert!(
        restored.contains("Zweite Meldung") && !restored.contains("Erste Meldung"),
        "{restored}"
    );

    // Split the invoice question off.
    let id = b_
        .js("return Array.from(document.querySelectorAll('li.contact')).find(li => li.innerText.includes('Rechnung fehlt')).dataset.contact")
        .await;
    b_.click(&format!("button[data-split='{}']", id.as_str().unwrap()))
        .await;
    b_.until(
        &format!("location.pathname !== '/cases/{br}'"),
        "the new case",
    )
    .await;
    let new_ref = b_.text("h1 .ref").await;
    assert_ne!(new_ref, br);
    assert!(b_.text("#entries").await.contains("Rechnung fehlt"));
    b_.screenshot("case-split").await;
    b_.click("#undo-split").await;
    b_.until(
        &format!("location.pathname === '/cases/{br}'"),
        "back after undoing the split",
    )
    .await;
    assert!(b_.text("#entries").await.contains("Rechnung fehlt"));
    b_.close().await;
}

/// The global search box: `/` focuses it, results appear as you type, arrow keys and Enter
/// open one; the results page offers filters by status and team.
#[tokio::test]
async fn global_search_as_you_type_and_results_page() {
    if missing() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let app = TestApp::spawn_demo(|_| {}).await;
    // The demo's cases are searchable once the index caught up.
    for _ in 0..200 {
        let (_, v) = app.get("/api/v1/search?q=*&facets=false&limit=1").await;
        if v["lag"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let driver = Driver::start().await;
    let b = driver.browser(true).await;
    b.login(&app.url, SABINE, DEMO_PASSWORD).await;
    b.goto(&format!("{}/cases?view=open", app.url)).await;
    b.wait_for("table.queue").await;
    b.key('/').await;
    assert_eq!(
        b.js("return document.activeElement.id").await,
        json!("search-q")
    );
    b.fill("#search-q", "Sofa hal").await;
    b.wait_for("#search-suggest .suggestion").await;
    let first = b
        .js("return document.querySelector('#search-suggest .suggestion').textContent")
        .await;
    assert!(first.as_str().unwrap_or("").contains("Sofa"), "{first}");
    assert_eq!(
        b.js("return document.getElementById('search-q').getAttribute('aria-expanded')")
            .await,
        json!("true")
    );
    b.screenshot("search-suggest").await;
    b.key('\u{e015}').await; // ArrowDown into the results
    b.key('\u{e007}').await; // Enter opens
    b.until(
        "location.pathname.startsWith('/cases/A-')",
        "the case opens",
    )
    .await;
    // The results page: Enter in the box, then a status filter.
    b.fill("#search-q", "Paket").await;
    b.key('\u{e007}').await;
    b.until("location.pathname === '/search'", "the results page")
        .await;
    b.wait_for("#search-results li").await;
    assert!(b.source().await.contains("<mark>"), "hits are marked");
    b.click(".facets a").await;
    b.until("location.search.includes('status%3A')", "a status filter")
        .await;
    b.wait_for("#search-results").await;
    b.close().await;
}
