//! pg_qualstats' printed constants (`'pending'::text`, `(-5)`, …): never a panic; a value, when
//! read, never keeps a cast.
#![no_main]

use idxadvise::parse::literals::constant_value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(v) = constant_value(s) {
            assert!(v.len() <= s.len());
        }
    }
});
