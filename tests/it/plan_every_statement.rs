//! Issue 18, "plan every statement": the texts pg_stat_statements keeps (every constant a `$n`)
//! are prepared and planned by the what-if engine, parameter types inferred from context.
//!
//! TPC-H's 19 queries of the Kossmann et al. set (tests/fixtures/tpch) run on empty tables with
//! the benchmark's schema; their normalised texts are read back and each must parse and plan.
//! So must date and interval arithmetic shapes (`date $1 + interval $2`, `date + 60`,
//! `now() - interval $1 * $2`).

use std::collections::BTreeMap;

use idxadvise::candidates::candidate::CandidateSet;
use idxadvise::model::Statement;
use idxadvise::parse::parse_statement;
use idxadvise::whatif::{Engine, Request, WhatIf};

use crate::support::{cluster, repo_root};
use crate::whatif::fixtures::{load_catalog, load_server, options, rt};

const TPCH_QUERIES: [u32; 19] = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 21, 22,
];

/// Date/time arithmetic around typed literals, as a star-schema or Django workload sends it.
const DATE_ARITHMETIC: [&str; 7] = [
    "select count(*) from orders where o_orderdate between cast('2000-02-01' as date) and (cast('2000-02-01' as date) + interval '60 days')",
    "select count(*) from orders where o_orderdate between '2000-02-01' and (cast('2000-02-01' as date) + 60)",
    "select count(*) from orders where o_orderdate > date '2000-01-01' - interval '30 days' and o_orderdate <= '2000-01-01'::date + '30 days'::interval",
    "select count(*) from lineitem where l_shipdate <= date '1998-12-01' - interval '90' day",
    "select count(*) from orders where o_orderdate >= now() - interval '1 day' * 7",
    "select count(*) from orders where o_orderdate + 30 > date '1998-01-01'",
    "select count(*) from orders where o_orderdate::timestamp >= timestamp '1998-01-01 00:00' - interval '2 hours'",
];

/// Run each text in `db` and read back the one pg_stat_statements entry it makes (entries are
/// reset before each).
async fn normalised(db: &str, client: &tokio_postgres::Client, texts: &[String]) -> Vec<Statement> {
    let c = cluster();
    let mut out = Vec::new();
    for t in texts {
        crate::support::reset_statements(c, db);
        c.psql(db, t);
        let rows = client
            .query(
                "select queryid, query from pg_stat_statements s \
                 join pg_database d on d.oid = s.dbid where d.datname = current_database() \
                 and query not like '%pg_stat_statements%'",
                &[],
            )
            .await
            .expect("read pg_stat_statements");
        assert_eq!(rows.len(), 1, "one entry for {t}");
        out.push(Statement {
            queryid: rows[0].get(0),
            query: rows[0].get(1),
            calls: 1,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        });
    }
    out
}

/// Parse and plan (baseline, no hypothetical index) every statement; the failures, by label.
async fn plan_all(
    url: &str,
    labels: &[String],
    statements: &[Statement],
) -> BTreeMap<String, String> {
    let catalog = load_catalog(url).await;
    let mut failures = BTreeMap::new();
    let mut shapes = Vec::new();
    let mut label_of = BTreeMap::new();
    for (label, st) in labels.iter().zip(statements) {
        assert!(
            st.query.contains('$'),
            "{label}: pg_stat_statements kept its constants: {}",
            st.query
        );
        match parse_statement(st, &catalog) {
            Ok(shape) => {
                label_of.insert(shape.queryid, label.clone());
                shapes.push(shape);
            }
            Err(s) => {
                failures.insert(
                    label.clone(),
                    format!("parse: {}: {}", s.reason.label(), s.detail),
                );
            }
        }
    }
    let empty = CandidateSet {
        candidates: vec![],
        advice: vec![],
    };
    let mut engine = Engine::new(
        options(url, 1),
        &load_server(url).await,
        &catalog,
        &shapes,
        &empty,
    )
    .await
    .expect("engine");
    let requests: Vec<Request> = shapes
        .iter()
        .map(|s| Request {
            queryid: s.queryid,
            config: vec![],
        })
        .collect();
    let answers = engine.evaluate(&requests).await.expect("evaluate");
    for (r, a) in requests.iter().zip(answers) {
        let label = label_of[&r.queryid].clone();
        match a {
            Ok(e) => {
                if e.plan.is_none() || !e.cost.is_finite() || e.cost <= 0.0 {
                    failures.insert(label, format!("no plan: {e:?}"));
                }
            }
            Err(s) => {
                failures.insert(label, format!("{}: {}", s.reason.label(), s.detail));
            }
        }
    }
    engine.close().await.expect("close");
    failures
}

async fn tpch_database(name: &str) -> (String, String, tokio_postgres::Client) {
    fixture_database(name, "tests/fixtures/tpch/schema.sql").await
}

async fn fixture_database(name: &str, schema: &str) -> (String, String, tokio_postgres::Client) {
    let c = cluster();
    let db = c.create_database(name);
    let schema = std::fs::read_to_string(repo_root().join(schema)).expect(schema);
    c.psql(&db, &schema);
    c.psql(&db, "ANALYZE");
    let url = c.url(&db);
    let conn = idxadvise::pg::connect(&idxadvise::pg::ConnectOptions {
        url: Some(url.clone()),
        ..Default::default()
    })
    .await
    .expect("connect");
    (db, url, conn.client)
}

#[test]
fn r18_every_tpch_query_plans_from_its_pg_stat_statements_text() {
    rt().block_on(async {
        let (db, url, client) = tpch_database("r18_tpch").await;
        let labels: Vec<String> = TPCH_QUERIES.iter().map(|q| format!("Q{q}")).collect();
        let texts: Vec<String> = TPCH_QUERIES
            .iter()
            .map(|q| {
                let p = repo_root().join(format!("tests/fixtures/tpch/q{q}.sql"));
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            })
            .collect();
        let statements = normalised(&db, &client, &texts).await;
        let failures = plan_all(&url, &labels, &statements).await;
        assert!(
            failures.is_empty(),
            "{} of {} TPC-H queries do not plan from their pg_stat_statements text:\n{failures:#?}",
            failures.len(),
            TPCH_QUERIES.len()
        );
    });
}

#[test]
fn r18_date_and_interval_arithmetic_plans() {
    rt().block_on(async {
        let (db, url, client) = tpch_database("r18_dates").await;
        let texts: Vec<String> = DATE_ARITHMETIC.iter().map(|s| s.to_string()).collect();
        let statements = normalised(&db, &client, &texts).await;
        let labels: Vec<String> = statements.iter().map(|s| s.query.clone()).collect();
        let failures = plan_all(&url, &labels, &statements).await;
        assert!(failures.is_empty(), "not planned:\n{failures:#?}");
    });
}

/// TPC-DS Q62 and Q99: pg_stat_statements gives the select item `substr(w_warehouse_name, $1,
/// $2)` parameters but keeps `GROUP BY substr(w_warehouse_name, 1, 20)` (the server stores one
/// expression for both, so the constants are recorded once); both must plan.
#[test]
fn r18_tpcds_group_by_constants_kept_by_pg_stat_statements_plan() {
    rt().block_on(async {
        let (db, url, client) =
            fixture_database("r18_tpcds", "tests/fixtures/tpcds/schema.sql").await;
        let labels: Vec<String> = vec!["Q62".into(), "Q99".into()];
        let texts: Vec<String> = ["q62", "q99"]
            .iter()
            .map(|q| {
                let p = repo_root().join(format!("tests/fixtures/tpcds/{q}.sql"));
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            })
            .collect();
        let statements = normalised(&db, &client, &texts).await;
        for st in &statements {
            assert!(
                st.query.contains("substr(w_warehouse_name,$1,$2)")
                    && st
                        .query
                        .contains("group by\n   substr(w_warehouse_name,1,20)"),
                "pg_stat_statements no longer keeps the GROUP BY constants: {}",
                st.query
            );
        }
        let failures = plan_all(&url, &labels, &statements).await;
        assert!(failures.is_empty(), "not planned:\n{failures:#?}");
    });
}

/// A statement that still cannot be planned says what stops it once its parameters are typed,
/// not the server's complaint about the untyped ones (`function sum(text) does not exist`).
#[test]
fn r18_the_skip_reason_is_the_one_left_after_typing_the_parameters() {
    rt().block_on(async {
        let (_db, url, _client) =
            fixture_database("r18_reason", "tests/fixtures/tpcds/schema.sql").await;
        let statements = vec![Statement {
            queryid: 62,
            query: "select substr(w_warehouse_name, $1, $2), sum(case when w_warehouse_sq_ft > $3 \
                    then $4 else $5 end) from warehouse group by substr(w_warehouse_name, $6, $7)"
                .into(),
            calls: 1,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        }];
        let failures = plan_all(&url, &["grouped".to_string()], &statements).await;
        let reason = failures.get("grouped").expect("it cannot be planned");
        assert!(
            reason.contains("must appear in the GROUP BY clause"),
            "reason: {reason}"
        );
    });
}
