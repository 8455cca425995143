//! Hypothetical vs real: the same index built for real gives the same plan shape and a cost
//! within 20% (the expression index too, simulated as unique on a distinct column: HypoPG has no
//! statistics for the expression); our size estimate is within 20% of `pg_relation_size` (HypoPG's own estimate is
//! printed for comparison).

use idxadvise::model::{IndexKey, IndexSpec};
use idxadvise::pg::ConnectOptions;
use idxadvise::whatif::hypo::HypoSession;
use idxadvise::whatif::{estimate_index_size, Engine, Request};

use super::fixtures::*;
use crate::support::{cluster, example_database};

/// Tolerance for costs and sizes, both ways.
const TOLERANCE: f64 = 0.20;

#[test]
fn hypothetical_plans_match_real_indexes() {
    let db = example_database("whatif_accuracy_plans");
    let url = cluster().url(&db);
    let cases = [
        (ORDER_HISTORY, C_CUSTOMER_CREATED_DESC),
        (NEWEST_CUSTOMERS, C_CUSTOMER_NEWEST),
        (PENDING_DASHBOARD, C_PENDING_PARTIAL),
        (ORDER_EXISTS, C_COVERING),
        (PRODUCT_REVIEWS, C_REVIEWS),
        (WEEK_COUNT, C_ORDER_CREATED),
        // Django's iexact + first(): HypoPG has no statistics for UPPER(email), so the engine
        // simulates it as unique (email is distinct); without that the planner kept the primary
        // key walk and the candidate looked useless (`whatif::hypo::simulated`).
        (IEXACT_LOGIN, C_UPPER_EMAIL),
    ];
    let cands = candidates();
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut report = vec![];
        for (q, c) in cases {
            let name = format!("whatif_real_{c}");
            cluster().psql(&db, &cands.candidates[c].spec.create_sql(&name, false));
            // Expression indexes get their statistics from ANALYZE, as in production.
            cluster().psql(
                &db,
                &format!("ANALYZE {}", cands.candidates[c].spec.qualified_table()),
            );
            let mut real = Engine::new(
                options(&url, 1),
                &load_server(&url).await,
                &catalog,
                &shapes(),
                &cands,
            )
            .await
            .expect("engine");
            let r = real
                .outcomes(&[Request {
                    queryid: q,
                    config: vec![],
                }])
                .await
                .expect("real");
            let r = r[0].clone().expect("planned");
            real.close().await.expect("close");
            cluster().psql(
                &db,
                &format!("DROP INDEX {}", idxadvise::pg::quote::ident(&name)),
            );
            // The hypothetical plan is costed after the real index is gone, on the statistics
            // the ANALYZE above left: ANALYZE samples at random, and a fresh sample moved a row
            // estimate by 9% (15,739 against 14,439 on PostgreSQL 17), which is not what this
            // test measures.
            let mut hypo = Engine::new(
                options(&url, 1),
                &load_server(&url).await,
                &catalog,
                &shapes(),
                &cands,
            )
            .await
            .expect("engine");
            let h = hypo
                .outcomes(&[Request {
                    queryid: q,
                    config: vec![c],
                }])
                .await
                .expect("hypothetical");
            let h = h[0].clone().expect("planned");
            hypo.close().await.expect("close");
            for (hv, rv) in h.custom.iter().zip(&r.custom) {
                assert_eq!(hv.values, rv.values);
                let err = hv.plan.total_cost / rv.plan.total_cost - 1.0;
                report.push(format!(
                    "q{q} c{c} {:?}: hypothetical {:.2} real {:.2} ({:+.1}%) same shape: {}",
                    hv.values,
                    hv.plan.total_cost,
                    rv.plan.total_cost,
                    err * 100.0,
                    hv.plan.node_types == rv.plan.node_types
                ));
                assert_eq!(
                    hv.plan.node_types, rv.plan.node_types,
                    "q{q} c{c} {:?}\nhypothetical:\n{}\nreal:\n{}",
                    hv.values, hv.plan.text, rv.plan.text
                );
                // Below one cost unit apart the relative error says nothing: a Limit over a
                // few index pages, where HypoPG's estimated tree is a level lower than the
                // real one (PostgreSQL 18: 0.96 against 1.31, same plan).
                let apart = (hv.plan.total_cost - rv.plan.total_cost).abs();
                assert!(
                    err.abs() <= TOLERANCE || apart < 1.0,
                    "q{q} c{c}: cost off by {:.1}%\n{}\n{}",
                    err * 100.0,
                    hv.plan.text,
                    rv.plan.text
                );
            }
        }
        eprintln!("{}", report.join("\n"));
    });
}

#[test]
fn size_estimate_matches_real_indexes() {
    let db = example_database("whatif_accuracy_sizes");
    let url = cluster().url(&db);
    let cands = candidates();
    let mut specs: Vec<(&str, IndexSpec)> = vec![(
        "single int",
        IndexSpec::on("public", "shop_order", vec![IndexKey::col("customer_id")]),
    )];
    for (label, id) in [
        ("composite", C_CUSTOMER_CREATED_DESC),
        ("DESC", C_CUSTOMER_NEWEST),
        ("low-cardinality status", C_STATUS),
        ("partial", C_PENDING_PARTIAL),
        ("INCLUDE", C_COVERING),
        ("UPPER expression", C_UPPER_EMAIL),
        ("composite reviews", C_REVIEWS),
        ("timestamp", C_ORDER_CREATED),
    ] {
        specs.push((label, cands.candidates[id].spec.clone()));
    }
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let conn = idxadvise::pg::connect(&ConnectOptions {
            url: Some(url.clone()),
            ..ConnectOptions::default()
        })
        .await
        .expect("connect");
        let mut hypo = HypoSession::new(&conn.client).await.expect("hypopg");
        let only: Vec<IndexSpec> = specs.iter().map(|(_, s)| s.clone()).collect();
        let mut lines = vec![];
        let mut worst: f64 = 0.0;
        for (i, (label, spec)) in specs.iter().enumerate() {
            let name = format!("whatif_size_{i}");
            cluster().psql(&db, &spec.create_sql(&name, false));
            let real: i64 = cluster()
                .psql(
                    &db,
                    &format!(
                        "select pg_relation_size({})",
                        idxadvise::pg::quote::literal(&name)
                    ),
                )
                .trim()
                .parse()
                .expect("size");
            cluster().psql(
                &db,
                &format!("DROP INDEX {}", idxadvise::pg::quote::ident(&name)),
            );
            let ours = estimate_index_size(spec, &catalog).expect("B-tree");
            hypo.set(&conn.client, &[i], &only)
                .await
                .expect("hypothetical");
            let oid = hypo.current()[0].oid;
            let theirs = hypo
                .hypopg_size(&conn.client, oid)
                .await
                .expect("hypopg size");
            let err = ours as f64 / real as f64 - 1.0;
            let herr = theirs as f64 / real as f64 - 1.0;
            worst = worst.max(err.abs());
            lines.push(format!(
                "{label:24} real {:>9} ours {:>9} ({:+6.1}%) hypopg {:>9} ({:+6.1}%)",
                real,
                ours,
                err * 100.0,
                theirs,
                herr * 100.0
            ));
        }
        eprintln!("{}", lines.join("\n"));
        assert!(
            worst <= TOLERANCE,
            "worst size error {:.1}%:\n{}",
            worst * 100.0,
            lines.join("\n")
        );
    });
}
