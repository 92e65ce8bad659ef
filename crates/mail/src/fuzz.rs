//! What the fuzz target (`fuzz/fuzz_targets/inbound.rs`) and its corpus replay test run: bytes
//! → inbound mail → the contact's texts, checking what must always hold.

use crate::parse::{ParseOptions, parse};

/// Parses `data` as an inbound mail and splits its texts; panics only when an invariant breaks.
pub fn inbound(data: &[u8]) {
    let opts = ParseOptions {
        trusted_authserv_ids: vec!["mx.shop.example".into()],
    };
    let mail = parse(data, &opts);
    // The raw bytes are always accounted for, and the key is stable.
    assert_eq!(mail.details.raw_size, data.len() as u64);
    assert!(mail.details.raw_blob.is_some());
    assert_eq!(mail.intake_key, parse(data, &opts).intake_key);
    // Stored text never carries NUL or other control characters but line breaks and tabs.
    for t in [&mail.text, &mail.details.new_text, &mail.subject] {
        assert!(
            !t.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
            "control character in {t:?}"
        );
    }
    assert!(!mail.subject.contains('\n'));
    let _ = crate::quote::split_text(&mail.text);
    if let Some(h) = &mail.html {
        let _ = crate::quote::split_html(h.as_str());
        let lower = h.as_str().to_ascii_lowercase();
        assert!(!lower.contains("<script"), "script survived sanitising");
    }
    let _ = crate::html::html_to_text(&String::from_utf8_lossy(data));
}
