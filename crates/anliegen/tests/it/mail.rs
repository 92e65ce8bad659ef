//! The mail channel end to end with real peers: Python's `smtplib` delivers to our SMTP
//! listener, an `aiosmtpd` sink receives what we send, and the customer's answer to our reply
//! threads back onto the case.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const SINK: &str = r#"
import sys, asyncio, os, time
from aiosmtpd.controller import Controller
out = sys.argv[2]
class H:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(out, "%d-%d.eml" % (time.time_ns(), os.getpid()))
        with open(name + ".tmp", "wb") as f:
            f.write(("X-Envelope-From: %s\r\n" % envelope.mail_from).encode())
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name)
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"#;

const SEND: &str = r#"
import sys, smtplib
host, port, rcpt, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(path, "rb").read()
try:
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.ehlo("client.example")
        s.sendmail("kunde@example.de", [rcpt], data)
    print("250")
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
except smtplib.SMTPSenderRefused as e:
    print(e.smtp_code)
"#;

fn python_has(module: &str) -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("import {module}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) struct Sink {
    child: std::process::Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    pub(crate) fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("python3")
            .arg("-c")
            .arg(SINK)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        Self { child, port, dir }
    }

    /// Waits for the `n`th message and returns it.
    pub(crate) async fn wait_for(&self, n: usize) -> String {
        for _ in 0..200 {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            files.sort();
            if files.len() >= n {
                return String::from_utf8_lossy(&std::fs::read(&files[n - 1]).unwrap())
                    .into_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the sink did not receive message {n}");
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub(crate) fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    head.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub(crate) async fn send(app: &TestApp, rcpt: &str, raw: &str) -> String {
    let addr = app
        .running
        .as_ref()
        .unwrap()
        .smtp_addr
        .expect("smtp listener");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, raw.replace('\n', "\r\n")).unwrap();
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(SEND)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(rcpt)
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn cases(app: &TestApp) -> Vec<Value> {
    let (s, page) = app.get("/api/v1/cases?limit=200").await;
    assert_eq!(s, StatusCode::OK);
    page["items"].as_array().unwrap().clone()
}

async fn contacts(app: &TestApp, case_id: &str) -> Vec<Value> {
    let (s, case) = app.get(&format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(s, StatusCode::OK, "{case}");
    case["contacts"].as_array().unwrap().clone()
}

pub(crate) async fn mail_app(sink: &Sink) -> TestApp {
    let port = sink.port;
    // A DKIM key, as for an installation that sends directly.
    let key = sink.dir.path().join("dkim.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .is_ok_and(|o| o.status.success());
    let app = TestApp::spawn_with(|s| {
        s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
        s.relay_host = Some("127.0.0.1".into());
        s.relay_port = port;
        s.relay_security = "none".into();
        s.mail_token_secret = Some("a test secret of some length".into());
        s.mail_trusted_authserv_ids = vec!["mx.shop.example".into()];
        if made {
            s.mail_dkim_selector = Some("anliegen".into());
            s.mail_dkim_key = Some(key.clone());
        }
    })
    .await;
    let (s, mb) = app.post("/api/v1/mailboxes", json!({"address": "service@shop.example", "display_name": "Beispiel-Shop Kundenservice"})).await;
    assert_eq!(s, StatusCode::CREATED, "{mb}");
    app
}

/// A node with the mailbox `service@shop.example`, its settings changed by `tweak`.
async fn shop_app(tweak: impl FnOnce(&mut anliegen::config::Settings)) -> TestApp {
    let app = TestApp::spawn_with(tweak).await;
    let (s, mb) = app
        .post(
            "/api/v1/mailboxes",
            json!({"address": "service@shop.example", "display_name": "Shop"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mb}");
    app
}

pub(crate) fn skip() -> bool {
    if python_has("aiosmtpd") {
        return false;
    }
    eprintln!(
        "mail peer tests did not run: Python's aiosmtpd is missing (pip install aiosmtpd; .ci/run installs it)"
    );
    true
}

#[tokio::test]
async fn smtp_intake_acknowledgement_reply_and_threading() {
    if skip() {
        return;
    }
    let sink = Sink::start();
    let mut app = mail_app(&sink).await;

    // 1. A customer writes; the case appears; the raw message is kept.
    let first = "From: Jürgen Müller <juergen@example.de>\nTo: service@shop.example\nSubject: Paket nicht angekommen\nMessage-ID: <kunde-1@example.de>\nDate: Tue, 24 Nov 2026 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHallo,\nmein Paket ist nicht angekommen.\n\nGruß\nJürgen\n\n-- \nJürgen Müller, Musterstraße 1\n";
    assert_eq!(send(&app, "service@shop.example", first).await, "250");
    let all = cases(&app).await;
    assert_eq!(all.len(), 1);
    let case = &all[0];
    let case_id = case["id"].as_str().unwrap().to_owned();
    let reference = case["reference"].as_str().unwrap().to_owned();
    let cs = contacts(&app, &case_id).await;
    let mail = &cs[0]["mail"];
    assert_eq!(mail["message_id"], "kunde-1@example.de");
    assert_eq!(
        mail["new_text"],
        "Hallo,\nmein Paket ist nicht angekommen.\n\nGruß\nJürgen"
    );
    assert_eq!(mail["thread"]["kind"], "new_case");
    let raw = app
        .client
        .get(format!(
            "{}/api/v1/contacts/{}/raw",
            app.url,
            cs[0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert!(
        raw.text()
            .await
            .unwrap()
            .contains("Message-ID: <kunde-1@example.de>")
    );

    // 2. The acknowledgement: German, automatic, in the thread, with the case reference.
    let ack = sink.wait_for(1).await;
    assert_eq!(header(&ack, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(&ack, "In-Reply-To"), Some("<kunde-1@example.de>"));
    assert!(
        header(&ack, "Subject").unwrap().contains(&reference),
        "{ack}"
    );

    // 3. The same mail again (a retrying MTA): one contact, not two.
    assert_eq!(send(&app, "service@shop.example", first).await, "250");
    assert_eq!(
        contacts(&app, &case_id).await.len(),
        2,
        "customer mail + acknowledgement"
    );

    // 4. An agent replies: it leaves by mail with threading headers and the signed reply-to.
    let (s, out) = app.post(&format!("/api/v1/cases/{case_id}/contacts"), json!({"kind": "reply", "text": "Wir haben beim Versand nachgefragt und melden uns bis morgen."})).await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let our_id = out["contact"]["mail"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = sink.wait_for(2).await;
    assert_eq!(
        header(&reply, "Message-ID"),
        Some(format!("<{our_id}>").as_str())
    );
    assert_eq!(header(&reply, "In-Reply-To"), Some("<kunde-1@example.de>"));
    assert!(
        header(&reply, "References")
            .unwrap()
            .contains("<kunde-1@example.de>")
    );
    let reply_to = header(&reply, "Reply-To").unwrap();
    assert!(
        reply_to.contains(&format!("service+{reference}.")),
        "{reply_to}"
    );
    assert!(
        header(&reply, "X-Envelope-From")
            .unwrap()
            .starts_with("service+b."),
        "VERP envelope sender"
    );
    assert!(header(&reply, "Subject").unwrap().contains(&reference));
    if let Some(sig) = header(&reply, "DKIM-Signature") {
        assert!(
            sig.contains("d=shop.example") && sig.contains("s=anliegen"),
            "{sig}"
        );
    } else {
        assert!(
            std::process::Command::new("openssl")
                .arg("version")
                .output()
                .is_err(),
            "signed when a DKIM key is configured"
        );
    }
    // Delivery is recorded on the contact.
    for _ in 0..100 {
        let cs = contacts(&app, &case_id).await;
        if cs.iter().any(|c| {
            c["mail"]["message_id"] == our_id.as_str() && c["mail"]["delivery"]["state"] == "sent"
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cs = contacts(&app, &case_id).await;
    assert!(
        cs.iter().any(|c| c["mail"]["message_id"] == our_id.as_str()
            && c["mail"]["delivery"]["state"] == "sent"),
        "{cs:?}"
    );

    // 5. The customer answers our reply from another address (a colleague): it threads back by
    // In-Reply-To, because it answers a Message-ID we sent on this case.
    let answer = format!(
        "From: Büro Müller <buero@example.de>\nTo: service@shop.example\nSubject: AW: Paket nicht angekommen\nMessage-ID: <kunde-2@example.de>\nIn-Reply-To: <{our_id}>\nReferences: <kunde-1@example.de> <{our_id}>\nContent-Type: text/plain; charset=utf-8\n\nDanke, wir warten.\n\nAm 24.11.2026 um 11:00 schrieb Beispiel-Shop Kundenservice <service@shop.example>:\n> Wir haben beim Versand nachgefragt\n"
    );
    assert_eq!(send(&app, "service@shop.example", &answer).await, "250");
    assert_eq!(cases(&app).await.len(), 1, "the answer joined the case");
    let cs = contacts(&app, &case_id).await;
    let joined = cs
        .iter()
        .find(|c| c["mail"]["message_id"] == "kunde-2@example.de")
        .expect("joined");
    assert_eq!(joined["mail"]["thread"]["kind"], "headers");
    assert_eq!(joined["mail"]["new_text"], "Danke, wir warten.");

    // 6. A stranger naming the case in the subject gets a new case marked as possibly related,
    // and never joins the existing one.
    let stranger = format!(
        "From: fremd@example.org\nTo: service@shop.example\nSubject: Re: [{reference}] Frage\nMessage-ID: <fremd-1@example.org>\n\nWas ist mit meinem Paket?\n"
    );
    assert_eq!(send(&app, "service@shop.example", &stranger).await, "250");
    let all = cases(&app).await;
    assert_eq!(all.len(), 2);
    let other = all.iter().find(|c| c["id"] != case_id.as_str()).unwrap();
    let cs = contacts(&app, other["id"].as_str().unwrap()).await;
    assert_eq!(cs[0]["mail"]["thread"]["kind"], "possibly_belongs_to");
    assert_eq!(cs[0]["mail"]["thread"]["reference"], reference.as_str());

    // 7. The known customer writes with the reference in the subject: joins.
    let known = format!(
        "From: juergen@example.de\nTo: service@shop.example\nSubject: Noch eine Frage [{reference}]\nMessage-ID: <kunde-3@example.de>\n\nUnd die Rechnung?\n"
    );
    assert_eq!(send(&app, "service@shop.example", &known).await, "250");
    assert_eq!(cases(&app).await.len(), 2);

    // 8. A DMARC failure from the known customer's address never joins silently.
    let spoofed = format!(
        "Authentication-Results: mx.shop.example; spf=fail; dkim=none; dmarc=fail header.from=example.de\nFrom: juergen@example.de\nTo: service@shop.example\nSubject: Re: [{reference}] Bitte Geld auf anderes Konto\nMessage-ID: <spoof-1@evil.example>\nIn-Reply-To: <{our_id}>\n\nBitte überweisen Sie auf DE02...\n"
    );
    assert_eq!(send(&app, "service@shop.example", &spoofed).await, "250");
    assert_eq!(cases(&app).await.len(), 3);

    // 9. Mail for an address that is not ours is refused.
    let nobody = "From: a@example.de\nTo: wer@anders.example\nSubject: x\n\ny\n";
    assert_eq!(send(&app, "wer@anders.example", nobody).await, "550");

    app.stop().await;
}

#[tokio::test]
async fn import_mail_is_idempotent_and_keeps_unreadable_mail() {
    let mut app = shop_app(|s| s.mail_acknowledge = false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.eml"),
        "From: a@example.de\nSubject: Eins\nMessage-ID: <m1@example.de>\n\nText eins\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("garbage.eml"),
        [0u8, 159, 146, 150, 1, 2, 3],
    )
    .unwrap();
    std::fs::write(
        dir.path().join("box.mbox"),
        "From a@example.de Sat Jan  1 00:00:00 2026\nFrom: b@example.de\nSubject: Zwei\nMessage-ID: <m2@example.de>\n\n>From here\n\nFrom c@example.de Sat Jan  1 00:00:00 2026\nFrom: c@example.de\nSubject: Drei\nMessage-ID: <m3@example.de>\n\nText drei\n",
    )
    .unwrap();
    let intake = app.running.as_ref().unwrap().intake.clone();
    let paths = vec![dir.path().to_path_buf()];
    let s = anliegen::mail::import(&intake, &paths, 8, false)
        .await
        .unwrap();
    assert_eq!(
        (s.messages, s.stored, s.unreadable, s.duplicates),
        (4, 4, 1, 0),
        "{s:?}"
    );
    let again = anliegen::mail::import(&intake, &paths, 8, false)
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 4), "{again:?}");
    let all = cases(&app).await;
    assert_eq!(all.len(), 4);
    let unreadable = all
        .iter()
        .find(|c| c["subject"] == "Nicht lesbare E-Mail")
        .expect("kept and flagged");
    let cs = contacts(&app, unreadable["id"].as_str().unwrap()).await;
    assert!(
        cs[0]["mail"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "unreadable")
    );
    assert_eq!(cs[0]["attachments"][0]["filename"], "original.eml");
    app.stop().await;
}

/// Every raw message of the shared corpora imports without a panic and becomes exactly one
/// contact.
#[tokio::test]
async fn corpora_messages_each_become_one_contact() {
    let root = std::env::var("ANLIEGEN_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    let mail = root.join("mail");
    if !mail.is_dir() {
        eprintln!(
            "corpus tests did not run: {} is missing (set ANLIEGEN_CORPORA)",
            mail.display()
        );
        return;
    }
    let mut files = Vec::new();
    collect(&mail, &mut files);
    assert!(files.len() > 200, "found {} messages", files.len());
    let mut app = shop_app(|s| s.mail_acknowledge = false).await;
    let intake = app.running.as_ref().unwrap().intake.clone();
    let mut stored = 0;
    let mut same = 0;
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let contact = match intake
            .deliver(raw, &anliegen_mail::intake::Envelope::default())
            .await
        {
            Ok(anliegen_mail::intake::Outcome::Stored { contact_id, .. }) => {
                stored += 1;
                contact_id
            }
            // Variants of one message (same Message-ID, From, Date, Subject and body, other
            // headers differing) are one mail by the intake key: they map to its contact.
            Ok(anliegen_mail::intake::Outcome::Duplicate { contact_id, .. }) => {
                same += 1;
                contact_id
            }
            Err(e) => panic!("{}: {e}", f.display()),
        };
        assert!(
            app.store().contact(contact).await.unwrap().is_some(),
            "{}",
            f.display()
        );
    }
    eprintln!(
        "corpora: {} messages, {stored} stored, {same} variants of stored ones",
        files.len()
    );
    let events = app.store().events_after(0, 1_000_000).await.unwrap();
    let contacts = events
        .iter()
        .filter(|e| e.kind.type_name() == "contact_added")
        .count();
    // Angry or urgent messages escalate, and each escalation adds its hand-off note.
    let escalations = events
        .iter()
        .filter(|e| e.kind.type_name() == "case_escalated")
        .count();
    assert_eq!(
        contacts - escalations,
        stored,
        "one contact per stored message"
    );
    app.stop().await;
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let s = p.to_string_lossy().replace('\\', "/");
        if p.is_dir() {
            if s.ends_with("flanker/messages/dkim")
                || s.ends_with("flanker/messages/attachments")
                || s.ends_with("flanker/addresses")
            {
                continue;
            }
            collect(&p, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let is_msg = name.ends_with(".eml")
                || (s.contains("cpython-email/data/")
                    && name.starts_with("msg_")
                    && name.ends_with(".txt"));
            if is_msg {
                out.push(p);
            }
        }
    }
}

/// A raw SMTP conversation: sends `script` lines (each answered before the next unless it is
/// DATA content) and returns every reply line.
struct RawSmtp {
    r: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl RawSmtp {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (r, w) = s.into_split();
        let mut c = Self {
            r: tokio::io::BufReader::new(r),
            w,
        };
        assert!(c.reply().await.starts_with("220"));
        c
    }

    /// The last line of the next reply.
    async fn reply(&mut self) -> String {
        use tokio::io::AsyncBufReadExt as _;
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(30), self.r.read_line(&mut line))
                .await
                .unwrap()
                .unwrap();
            if n == 0 {
                return String::new();
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_owned();
            }
        }
    }

    async fn send(&mut self, data: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        self.w.write_all(data).await.unwrap();
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    async fn envelope(&mut self) {
        assert!(self.cmd("EHLO test.example").await.starts_with("250"));
        assert!(
            self.cmd("MAIL FROM:<kunde@example.de>")
                .await
                .starts_with("250")
        );
        assert!(
            self.cmd("RCPT TO:<service@shop.example>")
                .await
                .starts_with("250")
        );
        assert!(self.cmd("DATA").await.starts_with("354"));
    }
}

#[tokio::test]
async fn smtp_bad_input_is_refused_clearly_or_stored_whole() {
    let mut app = shop_app(|s| {
        s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
        s.smtp_max_message = 3 * 1024 * 1024;
        s.mail_acknowledge = false;
    })
    .await;
    let addr = app.running.as_ref().unwrap().smtp_addr.unwrap();

    // A client that disconnects in the middle of DATA: nothing is stored.
    let mut c = RawSmtp::connect(addr).await;
    c.envelope().await;
    c.send(b"From: a@example.de\r\nSubject: halb\r\n\r\nnur die H")
        .await;
    drop(c);
    // Oversize (announced and not announced): 552, and the session goes on.
    let mut c = RawSmtp::connect(addr).await;
    assert!(c.cmd("EHLO x").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<a@example.de> SIZE=999999999")
            .await
            .starts_with("552")
    );
    assert!(c.cmd("MAIL FROM:<a@example.de>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<service@shop.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    let big = format!(
        "From: a@example.de\r\nSubject: gross\r\n\r\n{}\r\n.\r\n",
        "x".repeat(998)
            .repeat(4000)
            .as_str()
            .chars()
            .collect::<Vec<_>>()
            .chunks(998)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("\r\n")
    );
    c.send(big.as_bytes()).await;
    assert!(c.reply().await.starts_with("552 5.3.4"));
    // Unknown recipient, commands out of order, too many recipients.
    assert!(c.cmd("RCPT TO:<x@y.example>").await.starts_with("503"));
    assert!(c.cmd("MAIL FROM:<a@example.de>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<niemand@anders.example>")
            .await
            .starts_with("550 5.1.1")
    );
    for _ in 0..100 {
        assert!(
            c.cmd("RCPT TO:<service@shop.example>")
                .await
                .starts_with("250")
        );
    }
    assert!(
        c.cmd("RCPT TO:<service@shop.example>")
            .await
            .starts_with("452")
    );
    assert!(c.cmd("RSET").await.starts_with("250"));
    // An empty message is refused.
    assert!(c.cmd("MAIL FROM:<a@example.de>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<service@shop.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    assert!(c.cmd(".").await.starts_with("554"));
    assert_eq!(
        app.store().totals().await.unwrap().cases,
        0,
        "nothing half-stored"
    );

    // Hostile but deliverable: NUL bytes, a 1 MB header line, 10,000 recipients in To,
    // 1,000 nested multiparts, a truncated MIME part, an unknown charset. Each is stored.
    let mut nested = String::from(
        "From: a@example.de\r\nSubject: tief\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n",
    );
    for i in 0..1000 {
        nested.push_str(&format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        ));
    }
    nested.push_str("--b1000\r\nContent-Type: text/plain\r\n\r\nganz unten\r\n");
    let to: Vec<String> = (0..10_000).map(|i| format!("k{i}@example.de")).collect();
    let cases = [
        "From: a@example.de\r\nSubject: nul\r\n\r\nText\0mit\0NUL\r\n".to_owned(),
        format!("From: a@example.de\r\nSubject: lang\r\nX-Long: {}\r\n\r\nText\r\n", "y".repeat(1024 * 1024)),
        format!("From: a@example.de\r\nTo: {}\r\nSubject: viele\r\n\r\nText\r\n", to.join(", ")),
        nested,
        "From: a@example.de\r\nSubject: kaputt\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n--q\r\nContent-Type: text/plain; charset=x-unbekannt\r\nContent-Transfer-Encoding: base64\r\n\r\nSGFsbG8=\r\n--q\r\nContent-Type: application/pdf\r\n\r\nJVBER".to_owned(),
    ];
    for (i, m) in cases.iter().enumerate() {
        let mut c = RawSmtp::connect(addr).await;
        c.envelope().await;
        // Dot-stuffing as a real client does it.
        let stuffed = m
            .split("\r\n")
            .map(|l| {
                if l.starts_with('.') {
                    format!(".{l}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        c.send(stuffed.as_bytes()).await;
        c.send(b"\r\n.\r\n").await;
        let r = c.reply().await;
        assert!(r.starts_with("250"), "message {i}: {r}");
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    // Every message is stored; the same sender's near-identical texts ("Text") may join one
    // case by concern matching, so count the contacts.
    let customer = app
        .store()
        .customer_by_identity(
            &anliegen_core::Identity::parse(anliegen_core::IdentityKind::Email, "a@example.de")
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let mut stored = 0;
    for case in app
        .store()
        .cases(
            &anliegen_store::CaseFilter {
                customer_id: Some(customer.id),
                ..Default::default()
            },
            None,
            50,
        )
        .await
        .unwrap()
        .items
    {
        stored += app.store().contacts(case.id, false).await.unwrap().len();
    }
    assert_eq!(stored, cases.len());
    app.stop().await;
}

/// A Dovecot instance of `.ci/dovecot.sh` for one test.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
}

impl Dovecot {
    fn start() -> Option<Self> {
        if !Path::new("/usr/sbin/dovecot").exists() {
            eprintln!(
                "IMAP tests did not run: Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/dovecot.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path())
            .arg(port.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dovecot: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Self { dir, port })
    }

    fn imap(&self, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/imap_append.py");
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(&script);
        let (flags, rest): (Vec<&str>, Vec<&str>) = args.iter().partition(|a| a.starts_with("--"));
        cmd.args(&flags)
            .arg("127.0.0.1")
            .arg(self.port.to_string())
            .arg("service@shop.example")
            .arg("geheim")
            .args(&rest);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "imap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/dovecot.sh");
        std::process::Command::new("bash")
            .arg(&script)
            .arg("stop")
            .arg(self.dir.path())
            .output()
            .ok();
    }
}

async fn wait_for_cases(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let c = cases(app).await;
        if c.len() >= n {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cases(app).await
}

#[tokio::test]
async fn imap_polling_reads_each_mail_once_and_moves_it() {
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, body.replace('\n', "\r\n")).unwrap();
        p.to_string_lossy().into_owned()
    };
    let a = write(
        "a.eml",
        "From: anna@example.de\nTo: service@shop.example\nSubject: Rücksendung\nMessage-ID: <imap-a@example.de>\n\nWie schicke ich das zurück?\n",
    );
    let b = write(
        "b.eml",
        "From: bernd@example.de\nTo: service@shop.example\nSubject: Rechnung\nMessage-ID: <imap-b@example.de>\n\nBitte Rechnung schicken.\n",
    );
    dovecot.imap(&["INBOX", &a, &b]);
    dovecot.imap(&["--create", "Archiv"]);

    let port = dovecot.port;
    let mut app = TestApp::spawn_with(|s| {
        s.mail_acknowledge = false;
        s.mail_imap_poll_seconds = 1;
        s.mail_imap_passwords
            .insert("service@shop.example".into(), "geheim".into());
    })
    .await;
    let (s, mb) = app
        .post(
            "/api/v1/mailboxes",
            json!({"address": "service@shop.example", "display_name": "Shop",
                   "imap": {"host": "127.0.0.1", "port": port, "security": "none", "username": "service@shop.example", "folder": "INBOX", "move_to": "Archiv"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mb}");
    assert_eq!(mb["imap"]["after_fetch"]["folder"], "Archiv");
    assert_eq!(wait_for_cases(&app, 2).await.len(), 2);
    // Moved only after they were stored.
    for _ in 0..100 {
        if dovecot.imap(&["--list", "INBOX"]).trim().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dovecot.imap(&["--list", "INBOX"]).trim(), "");
    assert_eq!(dovecot.imap(&["--list", "Archiv"]).lines().count(), 2);

    // After a restart nothing is read twice; a new mail is read (IDLE or the next poll).
    app.restart().await;
    let c = write(
        "c.eml",
        "From: anna@example.de\nTo: service@shop.example\nSubject: Noch was\nMessage-ID: <imap-c@example.de>\n\nUnd noch eine Frage.\n",
    );
    dovecot.imap(&["INBOX", &c]);
    let all = wait_for_cases(&app, 3).await;
    assert_eq!(all.len(), 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(cases(&app).await.len(), 3, "nothing read twice");
    app.stop().await;
}

const SEND_TLS: &str = r#"
import sys, smtplib, ssl
host, port, rcpt, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP(host, port, timeout=30) as s:
    s.ehlo("client.example")
    assert s.has_extn("starttls"), "STARTTLS offered"
    s.starttls(context=ctx)
    s.ehlo("client.example")
    assert not s.has_extn("starttls"), "not offered twice"
    s.sendmail("kunde@example.de", [rcpt], open(path, "rb").read())
print("250")
"#;

#[tokio::test]
async fn starttls_and_the_per_sender_limit() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("STARTTLS test did not run: openssl is missing");
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=mx.shop.example",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut app = shop_app(|s| {
        s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
        s.smtp_tls_cert = Some(cert.clone());
        s.smtp_tls_key = Some(key.clone());
        s.smtp_sender_limit = 3;
        s.mail_acknowledge = false;
    })
    .await;
    let addr = app.running.as_ref().unwrap().smtp_addr.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, "From: kunde@example.de\r\nSubject: verschluesselt\r\nMessage-ID: <tls-1@example.de>\r\n\r\nGeheim.\r\n").unwrap();
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(SEND_TLS)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg("service@shop.example")
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(cases(&app).await.len(), 1);
    // The same sender again and again (a loop): after the limit, 451 (try later), not lost.
    let mut answers = Vec::new();
    for i in 0..4 {
        let raw = format!(
            "From: kunde@example.de\nSubject: Schleife {i}\nMessage-ID: <loop-{i}@example.de>\n\nx\n"
        );
        answers.push(send(&app, "service@shop.example", &raw).await);
    }
    assert_eq!(answers, ["250", "250", "451", "451"]);
    app.stop().await;
}

#[tokio::test]
async fn mail_html_is_sandboxed_and_remote_images_wait_for_an_agent() {
    let mut app = shop_app(|s| s.mail_acknowledge = false).await;
    let raw = "From: a@example.de\r\nTo: service@shop.example\r\nSubject: Bild\r\nMessage-ID: <img-1@example.de>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onmouseover=\"x()\">Siehe Foto <img src=\"cid:foto1@example.de\"> und <img src=\"https://tracker.example/pixel.gif\"></p><script>alert(1)</script>\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <foto1@example.de>\r\nContent-Disposition: inline; filename=\"foto.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n";
    let intake = app.running.as_ref().unwrap().intake.clone();
    let out = anliegen::mail::deliver(&intake, raw.as_bytes().to_vec(), "service@shop.example")
        .await
        .unwrap();
    let anliegen_mail::intake::Outcome::Stored { contact_id, .. } = out else {
        panic!("{out:?}")
    };
    let get = |q: &'static str| {
        let url = format!("{}/api/v1/contacts/{contact_id}/html{q}", app.url);
        let c = app.client.clone();
        let t = app.token.clone();
        async move { c.get(url).bearer_auth(t).send().await.unwrap() }
    };
    let res = get("").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox") && !csp.contains("https:"),
        "{csp}"
    );
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("tracker.example"),
        "remote image blocked: {body}"
    );
    assert!(!body.contains("script") && !body.contains("onmouseover"));
    assert!(
        body.contains(&format!("/api/v1/contacts/{contact_id}/attachments/0")),
        "cid image points at the attachment: {body}"
    );
    let res = get("?remote_images=true").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("https:"));
    let body = res.text().await.unwrap();
    assert!(body.contains("https://tracker.example/pixel.gif"), "{body}");
    assert!(!body.contains("script"));
    let (s, c) = app
        .get(&format!("/api/v1/contacts/{contact_id}/html?bogus=1"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{c}");
    app.stop().await;
}
