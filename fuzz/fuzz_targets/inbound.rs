//! Bytes → inbound contact: `RUSTC_BOOTSTRAP=1 cargo fuzz run inbound` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    anliegen_mail::fuzz::inbound(data);
});
