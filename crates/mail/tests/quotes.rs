//! The new part of real-world replies: every fixture in `tests/fixtures/quotes` (`NN-name.eml`
//! with its expected `NN-name.new.txt`) is parsed as the intake path parses it.

use std::path::Path;

use anliegen_mail::parse::{ParseOptions, parse};

/// Compares texts the way a reader does: non-breaking spaces are spaces, trailing spaces and
/// repeated blank lines do not count.
fn norm(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in s.replace('\u{a0}', " ").replace('\u{feff}', "").lines() {
        let l = line.trim_end().to_owned();
        if l.is_empty() && out.last().is_none_or(String::is_empty) {
            continue;
        }
        out.push(l);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

#[test]
fn new_parts_of_replies_match_the_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quotes");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "at least 40 fixtures, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for path in &names {
        let raw = std::fs::read(path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("new.txt")).unwrap();
        let mail = parse(&raw, &ParseOptions::default());
        let got = norm(&mail.details.new_text);
        if got != norm(&expected) {
            failures.push(format!(
                "== {}\n-- expected:\n{}\n-- got:\n{}\n",
                path.file_name().unwrap().to_string_lossy(),
                norm(&expected),
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
