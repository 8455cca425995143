//! Arbitrary text through the SQL text lexer and repairs (`parse::fuzz_text` checks its
//! invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    idxadvise::parse::fuzz_text(&text);
});
