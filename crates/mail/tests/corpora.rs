//! The shared corpora (`ANLIEGEN_CORPORA`, default `../shared/corpora`): talon's standard replies
//! with their expected reply text, and snapshots of the parsed result of a representative
//! selection of real-world messages. Says plainly when the corpora are missing.

use std::path::{Path, PathBuf};

use anliegen_mail::parse::{ParseOptions, parse};

fn corpora() -> Option<PathBuf> {
    let root = std::env::var("ANLIEGEN_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    if root.join("mail").is_dir() {
        Some(root)
    } else {
        eprintln!(
            "corpus tests did not run: {} is missing (set ANLIEGEN_CORPORA)",
            root.display()
        );
        None
    }
}

/// talon's expectation: the reply text is "Hello" unless a `*_reply_text` file says otherwise.
/// Our new part also drops app footers ("Sent from my iPhone"), so the expectation is read
/// through the same footer rule.
#[test]
fn talon_standard_replies() {
    let Some(root) = corpora() else { return };
    let dir = root.join("mail/reply-quoting/talon/standard_replies");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    let mut failures = Vec::new();
    for p in &names {
        let expected_file = p.with_file_name(format!(
            "{}_reply_text",
            p.file_stem().unwrap().to_string_lossy()
        ));
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_else(|_| "Hello".into());
        let expected = anliegen_mail::quote::split_text(expected.trim()).new_text;
        let got = parse(&std::fs::read(p).unwrap(), &ParseOptions::default())
            .details
            .new_text;
        if got.trim() != expected.trim() {
            failures.push(format!(
                "{}: expected {expected:?}, got {got:?}",
                p.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A compact, stable summary of a parsed message for snapshots.
fn summary(raw: &[u8]) -> String {
    let m = parse(raw, &ParseOptions::default());
    let short = |s: &str, n: usize| {
        let t: String = s.chars().take(n).collect();
        if s.chars().count() > n {
            format!("{t}…")
        } else {
            t
        }
    };
    let mut out = String::new();
    out.push_str(&format!("subject: {:?}\n", m.subject));
    out.push_str(&format!(
        "from: {:?} {:?}\n",
        m.from.as_ref().map(ToString::to_string),
        m.details.from_name
    ));
    out.push_str(&format!("message_id: {:?}\n", m.details.message_id));
    out.push_str(&format!("in_reply_to: {:?}\n", m.details.in_reply_to));
    out.push_str(&format!("text: {:?}\n", short(&m.text, 300)));
    out.push_str(&format!(
        "new_text: {:?}\n",
        short(&m.details.new_text, 200)
    ));
    out.push_str(&format!("has_quote: {}\n", m.details.has_quote));
    out.push_str(&format!(
        "html: {}\n",
        m.html.as_ref().map_or(0, |h| h.as_str().len())
    ));
    for a in &m.attachments {
        out.push_str(&format!(
            "attachment: {:?} {} {} bytes cid={:?}\n",
            a.filename,
            a.content_type,
            a.data.len(),
            a.content_id
        ));
    }
    out.push_str(&format!("flags: {:?}\n", m.details.flags));
    out.push_str(&format!("auto: {:?}\n", m.auto));
    if let Some(b) = &m.bounce {
        out.push_str(&format!(
            "bounce: {:?} {:?} {:?}\n",
            b.original_message_id,
            b.recipient,
            short(&b.diagnostic, 120)
        ));
    }
    out
}

#[test]
fn parsed_snapshots_of_a_representative_selection() {
    let Some(root) = corpora() else { return };
    let selection = [
        "mail/cpython-email/data/msg_02.txt",
        "mail/cpython-email/data/msg_07.txt",
        "mail/cpython-email/data/msg_16.txt",
        "mail/cpython-email/data/msg_23.txt",
        "mail/cpython-email/data/msg_35.txt",
        "mail/cpython-email/data/msg_41.txt",
        "mail/cpython-email/data/msg_45.txt",
        "mail/ruby-mail/multi_charset/japanese_shift_jis.eml",
        "mail/ruby-mail/multi_charset/ks_c_5601-1987.eml",
        "mail/ruby-mail/attachment_emails/attachment_with_encoded_name.eml",
        "mail/ruby-mail/attachment_emails/attachment_message_rfc822.eml",
        "mail/ruby-mail/attachment_emails/attachment_nonascii_filename.eml",
        "mail/ruby-mail/error_emails/bad_encoded_subject.eml",
        "mail/ruby-mail/error_emails/cant_parse_from.eml",
        "mail/flanker/messages/bounce/no-mx.eml",
        "mail/flanker/messages/bounce/office365.eml",
        "mail/flanker/messages/enclosed-broken.eml",
        "mail/flanker/messages/missing-boundaries.eml",
        "mail/flanker/messages/russian-attachment-yahoo.eml",
        "mail/reply-quoting/talon/standard_replies/outlook.eml",
        "mail/reply-quoting/talon/standard_replies/gmail.eml",
    ];
    let mut all = String::new();
    for rel in selection {
        let p = root.join(rel);
        let Ok(raw) = std::fs::read(&p) else {
            all.push_str(&format!("== {rel}: missing\n"));
            continue;
        };
        all.push_str(&format!("== {rel}\n{}\n", summary(&raw)));
    }
    insta::assert_snapshot!(all);
}

/// github/email_reply_parser's plain-text replies: the new part is found without a panic, is never
/// empty when the text has any unquoted content first, and only holds lines of the original.
#[test]
fn email_reply_parser_texts_split_sanely() {
    let Some(root) = corpora() else { return };
    let dir = root.join("mail/reply-quoting/email_reply_parser/emails");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let split = anliegen_mail::quote::split_text(&text);
        let original: std::collections::HashSet<&str> =
            text.lines().map(|l| l.trim_end()).collect();
        for line in split.new_text.lines() {
            assert!(
                original.contains(line.trim_end()),
                "{}: {line:?} is not a line of the original",
                p.display()
            );
        }
        let starts_with_text = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| !l.trim_start().starts_with('>'));
        if starts_with_text && !split.has_quote && split.signature.is_none() {
            assert!(!split.new_text.is_empty(), "{}", p.display());
        }
        n += 1;
    }
    assert!(n >= 20, "{n} texts");
}
