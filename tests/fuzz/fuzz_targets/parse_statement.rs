//! Arbitrary text as a pg_stat_statements entry, parsed against the example shop's catalog:
//! a shape or a skip, never a panic or a stack overflow.
#![no_main]

use std::sync::OnceLock;

use idxadvise::model::{Catalog, Statement};

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/shop_catalog.json")).expect("catalog")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let stmt = Statement {
        queryid: 1,
        query: String::from_utf8_lossy(data).into_owned(),
        calls: 1,
        total_time_ms: 1.0,
        mean_time_ms: 1.0,
        rows: 1,
        shared_blks_hit: 0,
        shared_blks_read: 0,
        stddev_time_ms: None,
    };
    let _ = idxadvise::parse::parse_statement(&stmt, catalog());
});
