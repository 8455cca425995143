//! A running statement's text (as pg_stat_activity shows it, possibly cut mid-token) against a
//! pg_stat_statements text: value extraction and shape matching must never panic, and a match
//! has one value slot per `$n` of the normalised text.
#![no_main]

use idxadvise::model::{Statement, Workload};
use idxadvise::parse::literals::{extract_values, shape_key, ShapeIndex};
use libfuzzer_sys::fuzz_target;

const NORMALISED: &[&str] = &[
    r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" ASC LIMIT $2"#,
    "SELECT count(*) FROM t WHERE s = $1 AND x > $2::timestamptz AND y IN ($3, $4)",
    "UPDATE t SET a = $1 WHERE id = $2 AND note = E'x'",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Either "literal\0normalised" or a literal against the fixed texts.
    let (literal, own) = match text.split_once('\0') {
        Some((l, n)) => (l, Some(n)),
        None => (text, None),
    };
    for norm in own.into_iter().chain(NORMALISED.iter().copied()) {
        for cut in [false, true] {
            if let Some(e) = extract_values(literal, norm, cut) {
                assert!(e.values.len() <= 10_000);
            }
        }
        let _ = shape_key(norm, true);
    }
    let _ = shape_key(literal, false);
    let wl = Workload {
        statements: NORMALISED
            .iter()
            .enumerate()
            .map(|(i, q)| Statement {
                queryid: i as i64 + 1,
                query: q.to_string(),
                calls: 1,
                total_time_ms: 1.0,
                mean_time_ms: 1.0,
                rows: 1,
                shared_blks_hit: 0,
                shared_blks_read: 0,
                stddev_time_ms: None,
            })
            .collect(),
        ..Default::default()
    };
    let ix = ShapeIndex::new(&wl);
    for cut in [false, true] {
        let _ = ix.match_text(literal, None, cut);
        let _ = ix.match_text(literal, Some(1), cut);
    }
});
