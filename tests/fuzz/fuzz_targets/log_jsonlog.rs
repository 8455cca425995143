//! Arbitrary bytes as a jsonlog server log: no panic, and the checks of [`common::check`].
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(idxadvise::collect::log::LogFormat::Jsonlog, data);
});
