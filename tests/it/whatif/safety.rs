//! Safety: nothing in pg_stat_statements, works on a hot standby, hostile names stay quoted.

use idxadvise::model::{IndexKey, IndexSpec, PredTerm, Predicate};
use idxadvise::parse::shape::{ParamOp, ParamUse, QueryShape, StatementKind, TableAccess};
use idxadvise::pg::quote::{ident, literal};
use idxadvise::whatif::{Engine, Request, WhatIf};

use super::fixtures::*;
use crate::support::{cluster, example_database};

fn all_requests() -> Vec<Request> {
    let mut r = vec![];
    for cfg in [vec![], vec![0, 1, 4, 6, 7], vec![2, 3], vec![5]] {
        for s in shapes() {
            r.push(Request {
                queryid: s.queryid,
                config: cfg.clone(),
            });
        }
    }
    r
}

#[test]
fn an_engine_run_leaves_nothing_in_pg_stat_statements() {
    let db = example_database("whatif_no_pgss");
    let url = cluster().url(&db);
    let count = "select count(*) || '/' || count(*) filter (where query ilike '%hypopg%' or query ilike '%EXPLAIN%' or query ilike '%PREPARE%') \
                 from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = current_database()";
    // Only this database's entries: a global reset would race with the other tests.
    crate::support::reset_statements(cluster(), &db);
    let before = cluster().psql(&db, count);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut e = example_engine(&url, &catalog, 2).await;
        let out = e.evaluate(&all_requests()).await.expect("evaluate");
        assert!(out.iter().all(|r| r.is_ok()));
        assert!(e.counters().explains >= 32);
        e.close().await.expect("close");
    });
    let after = cluster().psql(&db, count);
    // Only the catalog reads of the test itself and the count query may appear; none of ours.
    assert!(
        after.trim().ends_with("/0"),
        "engine statements tracked: {after}"
    );
    let b: i64 = before.trim().split('/').next().unwrap().parse().unwrap();
    let a: i64 = after.trim().split('/').next().unwrap().parse().unwrap();
    assert!(a <= b + 3, "entries before {before}, after {after}");
}

#[test]
fn works_on_a_hot_standby() {
    let db = example_database("whatif_standby");
    let c = cluster();
    let standby = c.start_standby();
    c.wait_replayed(&standby);
    assert_eq!(standby.psql(&db, "select pg_is_in_recovery()").trim(), "t");
    let url = standby.url(&db);
    let primary_url = c.url(&db);
    let (on_standby, on_primary) = rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut e = Engine::new(
            options(&url, 2),
            &load_server(&url).await,
            &catalog,
            &shapes(),
            &candidates(),
        )
        .await
        .expect("engine on the standby");
        let s = e
            .evaluate(&all_requests())
            .await
            .expect("evaluate on the standby");
        let mut p = Engine::new(
            options(&primary_url, 1),
            &load_server(&primary_url).await,
            &catalog,
            &shapes(),
            &candidates(),
        )
        .await
        .expect("engine on the primary");
        let pr = p
            .evaluate(&all_requests())
            .await
            .expect("evaluate on the primary");
        (s, pr)
    });
    standby.stop();
    assert!(on_standby.iter().all(|r| r.is_ok()), "{on_standby:?}");
    let used: Vec<usize> = on_standby
        .iter()
        .flat_map(|r| r.as_ref().map(|e| e.used.clone()).unwrap_or_default())
        .collect();
    assert!(used.contains(&C_CUSTOMER_CREATED_DESC) && used.contains(&C_UPPER_EMAIL));
    let costs = |v: &Vec<Result<idxadvise::whatif::Evaluation, idxadvise::model::Skipped>>| {
        v.iter()
            .map(|r| {
                r.as_ref()
                    .map(|e| (format!("{:.2}", e.cost), e.used.clone()))
                    .ok()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        costs(&on_standby),
        costs(&on_primary),
        "same answers on the standby"
    );
}

#[test]
fn hostile_names_are_quoted_through_hypopg() {
    let db = cluster().create_database("whatif_hostile");
    let schema = "Shop \"Ü\" 's\\";
    let table = "Or\"der's \\ Tåble";
    let cust = "Cust \"ID' \\ ü";
    let made = "Made At";
    let status = "St'atus\"";
    let odd = "it's \\ \"odd\"";
    cluster().psql(
        &db,
        &format!(
            "CREATE SCHEMA {s}; CREATE TABLE {s}.{t} (id bigserial primary key, {c} int not null, {m} timestamptz not null, {st} text not null); \
             INSERT INTO {s}.{t} ({c}, {m}, {st}) SELECT i % 500, now() - i * interval '1 minute', CASE WHEN i % 100 = 0 THEN {odd} ELSE 'plain' END FROM generate_series(1, 50000) i; \
",
            s = ident(schema),
            t = ident(table),
            c = ident(cust),
            m = ident(made),
            st = ident(status),
            odd = literal(odd),
        ),
    );
    cluster().psql(
        &db,
        &format!("VACUUM ANALYZE {}.{}", ident(schema), ident(table)),
    );
    let url = cluster().url(&db);
    let spec = IndexSpec {
        predicate: Some(Predicate {
            terms: vec![PredTerm::Eq {
                column: status.into(),
                value: odd.into(),
                type_name: "text".into(),
            }],
        }),
        ..IndexSpec::on(
            schema,
            table,
            vec![IndexKey::col(cust), IndexKey::col_desc(made)],
        )
    };
    let text = format!(
        "SELECT {id} FROM {s}.{t} WHERE {c} = $1 AND {st} = $2 ORDER BY {m} DESC LIMIT $3",
        id = ident("id"),
        s = ident(schema),
        t = ident(table),
        c = ident(cust),
        st = ident(status),
        m = ident(made),
    );
    let u = |param, column: Option<&str>, op| ParamUse {
        param,
        schema: column.map(|_| schema.to_string()),
        table: column.map(|_| table.to_string()),
        column: column.map(String::from),
        op,
    };
    let shape = QueryShape {
        queryid: 9,
        kind: StatementKind::Select,
        plan_text: text,
        param_count: 3,
        tables: vec![TableAccess {
            schema: schema.into(),
            table: table.into(),
            ..TableAccess::default()
        }],
        params: vec![
            u(1, Some(cust), ParamOp::Eq),
            u(2, Some(status), ParamOp::Eq),
            u(3, None, ParamOp::Limit),
        ],
        limit: None,
        offset: false,
    };
    let cands = idxadvise::candidates::CandidateSet {
        candidates: vec![idxadvise::candidates::Candidate {
            spec,
            sources: vec![],
        }],
        advice: vec![],
    };
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        assert!(
            catalog.table(schema, table).is_some(),
            "catalog reads the hostile table"
        );
        let mut e = Engine::new(
            options(&url, 1),
            &load_server(&url).await,
            &catalog,
            &[shape],
            &cands,
        )
        .await
        .expect("engine");
        let out = e
            .outcomes(&[Request {
                queryid: 9,
                config: vec![0],
            }])
            .await
            .expect("outcomes");
        let o = out[0].as_ref().expect("planned");
        let odd_set = o
            .custom
            .iter()
            .find(|v| v.values[1].as_deref() == Some(odd))
            .expect("the odd value is an MCV");
        assert_eq!(odd_set.used, vec![0], "{}", odd_set.plan.text);
        assert!(
            odd_set.plan.text.contains("<hypo:0>"),
            "{}",
            odd_set.plan.text
        );
        e.close().await.expect("close");
    });
}
