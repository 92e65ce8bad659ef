//! Replays the fuzz corpus and every crash the fuzzer found (`fuzz/corpus/inbound`,
//! `fuzz/artifacts/inbound`) as an ordinary test.

use std::path::Path;

#[test]
fn fuzz_corpus_and_crashes_replay_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["corpus/inbound", "artifacts/inbound"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                anliegen_mail::fuzz::inbound(&std::fs::read(&p).unwrap());
                n += 1;
            }
        }
    }
    assert!(n >= 40, "the committed corpus has {n} inputs");
}
