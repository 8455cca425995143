//! Candidate kinds, custom vs generic plans, the stale generic plan trap, 1 vs 2 sessions.

use idxadvise::whatif::{Engine, Request, WhatIf};

use super::fixtures::*;
use crate::support::{cluster, example_database, replay_workload};

fn req(queryid: i64, config: &[usize]) -> Request {
    Request {
        queryid,
        config: config.to_vec(),
    }
}

/// A regex matching `text` with each `$n` replaced by a literal or a `$n`: when an entry is
/// evicted between parse analysis and execution, pg_stat_statements re-creates it with the raw
/// text, constants and all.
fn literal_pattern(text: &str) -> String {
    let mut out = String::from("^");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
            out.push_str("('[^']*'|[0-9.]+|\\$[0-9]+)");
        } else {
            if "\\.^$|?*+()[]{}".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('$');
    out
}

#[test]
fn hand_made_shapes_match_pg_stat_statements() {
    let db = example_database("whatif_shapes_match_pgss");
    replay_workload(&db);
    for s in shapes().into_iter().filter(|s| s.queryid != IEXACT_COUNT) {
        let n = cluster().psql(
            &db,
            &format!(
                "select count(*) from pg_stat_statements s join pg_database d on d.oid = s.dbid \
                 where d.datname = current_database() and (s.query = {} or s.query ~ {})",
                idxadvise::pg::quote::literal(&s.plan_text),
                idxadvise::pg::quote::literal(&literal_pattern(&s.plan_text))
            ),
        );
        if n.trim() == "0" {
            let like = cluster().psql(
                &db,
                "select query from pg_stat_statements s join pg_database d on d.oid = s.dbid \
                 where d.datname = current_database() and query like '%status%'",
            );
            panic!(
                "not in pg_stat_statements: {}\nwhat is there:\n{like}",
                s.plan_text
            );
        }
    }
}

#[test]
fn every_candidate_kind_is_used_and_cheaper() {
    let db = example_database("whatif_candidate_kinds");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut e = example_engine(&url, &catalog, 1).await;
        let cases = [
            (
                ORDER_HISTORY,
                C_CUSTOMER_CREATED_DESC,
                "composite (customer_id, created_at DESC)",
            ),
            (
                NEWEST_CUSTOMERS,
                C_CUSTOMER_NEWEST,
                "DESC (created_at DESC)",
            ),
            (
                PENDING_DASHBOARD,
                C_PENDING_PARTIAL,
                "partial WHERE status = 'pending'",
            ),
            (ORDER_EXISTS, C_COVERING, "covering INCLUDE (status)"),
            (IEXACT_COUNT, C_UPPER_EMAIL, "expression UPPER(email)"),
            (
                PRODUCT_REVIEWS,
                C_REVIEWS,
                "composite (product_id, created_at DESC)",
            ),
        ];
        // Baselines first: the EXPLAINs are prepared here, before any hypothetical index exists,
        // and the same prepared statements must see the indexes created afterwards.
        let base: Vec<_> = cases.iter().map(|(q, _, _)| req(*q, &[])).collect();
        let before = e.evaluate(&base).await.expect("baseline");
        let with: Vec<_> = cases.iter().map(|(q, c, _)| req(*q, &[*c])).collect();
        let after = e.evaluate(&with).await.expect("with candidates");
        for ((case, b), a) in cases.iter().zip(&before).zip(&after) {
            let b = b.as_ref().expect("baseline planned");
            let a = a.as_ref().expect("planned with candidate");
            eprintln!(
                "{}: {:.2} -> {:.2} ({:.1}x), generic {:?} -> {:?}",
                case.2,
                b.cost,
                a.cost,
                b.cost / a.cost,
                b.generic_cost,
                a.generic_cost
            );
            assert!(
                b.used.is_empty(),
                "{}: baseline uses nothing hypothetical",
                case.2
            );
            assert_eq!(
                a.used,
                vec![case.1],
                "{}: the planner uses the candidate",
                case.2
            );
            assert!(a.cost < b.cost, "{}: cheaper with the candidate", case.2);
            let plan = a.plan.as_ref().expect("plan kept");
            if case.1 != C_PENDING_PARTIAL {
                assert!(
                    plan.indexes
                        .iter()
                        .any(|i| i.starts_with(&format!("<hypo:{}>", case.1))),
                    "{}: stable hypothetical name in {:?}",
                    case.2,
                    plan.indexes
                );
                assert!(
                    plan.text.contains(&format!("<hypo:{}>", case.1)),
                    "{}",
                    plan.text
                );
            }
        }
        // The partial index: used by the custom plan for 'pending', never by the generic plan.
        let out = e
            .outcomes(&[req(PENDING_DASHBOARD, &[C_PENDING_PARTIAL])])
            .await
            .expect("outcomes");
        let o = out[0].as_ref().expect("planned");
        let pending = o
            .custom
            .iter()
            .find(|v| v.values[0].as_deref() == Some("pending"))
            .expect("a value set for 'pending'");
        assert_eq!(
            pending.used,
            vec![C_PENDING_PARTIAL],
            "{}",
            pending.plan.text
        );
        assert!(
            (pending.weight - 0.01).abs() < 0.01,
            "pending weighs its frequency"
        );
        let delivered = o
            .custom
            .iter()
            .find(|v| v.values[0].as_deref() == Some("delivered"))
            .expect("delivered");
        assert!(
            delivered.used.is_empty(),
            "not for 'delivered': {}",
            delivered.plan.text
        );
        let generic = o
            .generic
            .as_ref()
            .expect("generic asked")
            .as_ref()
            .expect("generic planned");
        assert!(
            generic.used.is_empty(),
            "generic plan cannot use a partial index: {}",
            generic.plan.text
        );
        // Skew: the heaviest customer gains far more than the typical one.
        let out = e
            .outcomes(&[
                req(ORDER_HISTORY, &[]),
                req(ORDER_HISTORY, &[C_CUSTOMER_CREATED_DESC]),
            ])
            .await
            .expect("outcomes");
        let (b, a) = (out[0].as_ref().unwrap(), out[1].as_ref().unwrap());
        for (vb, va) in b.custom.iter().zip(&a.custom) {
            eprintln!(
                "order history {:?} w={:.4}: {:.2} -> {:.2}",
                vb.values, vb.weight, vb.plan.total_cost, va.plan.total_cost
            );
        }
        let c = e.counters();
        assert!(
            c.cache_hits >= 2,
            "repeated requests come from the cache: {c:?}"
        );
        assert!(c.explains > 0);
        e.close().await.expect("close");
    });
}

#[test]
fn stale_generic_plan_trap_is_avoided() {
    let db = example_database("whatif_stale_generic");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut e = example_engine(&url, &catalog, 1).await;
        // with, without, with again: a reused generic plan would keep (or error on) the dropped index.
        let seq = [
            vec![C_CUSTOMER_CREATED_DESC],
            vec![],
            vec![C_CUSTOMER_CREATED_DESC, C_ORDER_CREATED],
        ];
        let mut generic_used = vec![];
        for cfg in &seq {
            let out = e
                .outcomes(&[req(ORDER_HISTORY, cfg)])
                .await
                .expect("outcomes");
            let g = out[0]
                .as_ref()
                .expect("planned")
                .generic
                .clone()
                .expect("generic")
                .expect("generic planned");
            generic_used.push(g.used.clone());
            eprintln!("{cfg:?}:\n{}", g.plan.text);
        }
        // PostgreSQL 16+ plans `$n` directly with EXPLAIN (GENERIC_PLAN); 15 prepares afresh.
        assert_eq!(
            e.server().has_generic_plan(),
            crate::support::pg_major() >= 16
        );
        assert_eq!(generic_used[0], vec![C_CUSTOMER_CREATED_DESC]);
        assert!(generic_used[1].is_empty(), "no stale index after the drop");
        assert_eq!(generic_used[2], vec![C_CUSTOMER_CREATED_DESC]);
    });
}

#[test]
fn one_or_two_sessions_give_identical_results() {
    let db = example_database("whatif_split");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let configs: Vec<Vec<usize>> = vec![
            vec![],
            vec![C_CUSTOMER_CREATED_DESC],
            vec![C_COVERING, C_STATUS],
            vec![C_PENDING_PARTIAL, C_ORDER_CREATED, C_UPPER_EMAIL],
            (0..8).collect(),
            vec![C_STATUS],
        ];
        let requests: Vec<Request> = configs
            .iter()
            .flat_map(|c| shapes().into_iter().map(move |s| req(s.queryid, c)))
            .collect();
        let mut results = vec![];
        for n in [1, 2] {
            let mut e = example_engine(&url, &catalog, n).await;
            let out = e.outcomes(&requests).await.expect("outcomes");
            results.push(out);
        }
        assert_eq!(results[0].len(), requests.len());
        assert_eq!(results[0], results[1]);
        assert!(
            results[0].iter().all(|r| r.is_ok()),
            "every example statement plans"
        );
    });
}

#[test]
fn unplannable_statements_are_skipped_and_the_run_goes_on() {
    let db = example_database("whatif_skips");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut more = shapes();
        // `$1 IS NULL` alone cannot be typed: retried with the column's type.
        more.push(shape(
            100,
            "SELECT \"id\" FROM \"shop_order\" WHERE ($1 IS NULL OR \"customer_id\" = $1) LIMIT 5",
            &["shop_order"],
            vec![p(
                1,
                Some(("shop_order", "customer_id")),
                idxadvise::parse::shape::ParamOp::Eq,
            )],
        ));
        // One parameter that would have to be two types: no cast helps. (`SELECT $1 + $2`,
        // the example here before issue 18, now plans: arithmetic between parameters is
        // numeric.)
        more.push(shape(
            101,
            "SELECT \"id\" FROM \"shop_order\" WHERE \"id\" = $1 AND \"status\" = $1",
            &["shop_order"],
            vec![],
        ));
        // Arithmetic between two parameters: typed numeric from context, it plans.
        more.push(shape(
            103,
            "SELECT $1 + $2 FROM \"shop_order\"",
            &["shop_order"],
            vec![],
        ));
        // A table that does not exist.
        more.push(shape(
            102,
            "SELECT * FROM \"no_such_table\" WHERE \"x\" = $1",
            &["no_such_table"],
            vec![],
        ));
        let mut e = Engine::new(
            options(&url, 1),
            &load_server(&url).await,
            &catalog,
            &more,
            &candidates(),
        )
        .await
        .expect("engine");
        let out = e
            .evaluate(&[
                req(100, &[]),
                req(101, &[]),
                req(102, &[]),
                req(ORDER_HISTORY, &[]),
                req(103, &[]),
            ])
            .await
            .expect("the run goes on");
        assert!(out[0].is_ok(), "{:?}", out[0]);
        let s = out[1].as_ref().expect_err("skipped");
        assert_eq!(s.reason, idxadvise::model::SkipReason::PrepareFailed);
        assert!(s.detail.contains("operator"), "{}", s.detail);
        let s = out[2].as_ref().expect_err("skipped");
        assert_eq!(s.reason, idxadvise::model::SkipReason::PrepareFailed);
        assert!(s.detail.contains("no_such_table"), "{}", s.detail);
        assert!(out[3].is_ok());
        assert!(out[4].is_ok(), "{:?}", out[4]);
    });
}

#[test]
fn a_statement_that_times_out_is_skipped_and_hidden_indexes_need_hypopg_1_4() {
    let db = example_database("whatif_timeout");
    // An immutable function with constant arguments is folded while planning: a slow plan.
    cluster().psql(
        &db,
        "CREATE FUNCTION slow_id(x bigint) RETURNS bigint IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN x; END $$",
    );
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let mut more = shapes();
        more.push(shape(
            200,
            "SELECT \"id\" FROM \"shop_order\" WHERE \"customer_id\" = slow_id($1)",
            &["shop_order"],
            vec![p(1, Some(("shop_order", "customer_id")), idxadvise::parse::shape::ParamOp::Eq)],
        ));
        let mut opts = options(&url, 1);
        opts.connect.statement_timeout = std::time::Duration::from_millis(500);
        opts.value_sets = 1;
        let mut e = Engine::new(opts, &load_server(&url).await, &catalog, &more, &candidates())
            .await
            .expect("engine");
        let out = e
            .evaluate(&[req(200, &[]), req(ORDER_HISTORY, &[])])
            .await
            .expect("the run goes on");
        let s = out[0].as_ref().expect_err("timed out");
        assert_eq!(s.reason, idxadvise::model::SkipReason::Timeout, "{s:?}");
        assert!(out[1].is_ok());
        let h = e
            .evaluate_hidden(ORDER_HISTORY, &[], &[("public".into(), "shop_order_customer_id_f638df20".into())])
            .await
            .expect("evaluate_hidden");
        if crate::support::pg_major() >= 17 {
            // HypoPG 1.4: the customer's index is hidden and the order history costs more.
            assert!(e.hypopg_version().starts_with("1.4"), "{}", e.hypopg_version());
            assert!(e.can_hide());
            let visible = e.evaluate(&[req(ORDER_HISTORY, &[])]).await.expect("evaluate");
            let visible = visible[0].as_ref().expect("costed").cost;
            match &h {
                idxadvise::whatif::HiddenEvaluation::Verified(Ok(hidden)) => {
                    let hidden = idxadvise::whatif::evaluation_of(hidden);
                    assert!(hidden.cost > visible * 2.0, "{} vs {visible}", hidden.cost)
                }
                other => panic!("expected a verified evaluation, got {other:?}"),
            }
        } else {
            assert_eq!(e.hypopg_version(), "1.3.1");
            assert!(!e.can_hide());
            assert!(
                matches!(&h, idxadvise::whatif::HiddenEvaluation::Unverified { reason } if reason.contains("not verified")),
                "{h:?}"
            );
        }
    });
}

/// The lean cache `analyze` uses keeps only evaluations: it ranks exactly as the full cache
/// (same costs, generic costs, candidates used, node types and indexes; no plan text), a
/// repeated request is still a cache hit, and `outcomes` still gives every value set's plan by
/// EXPLAINing again, identical to the full cache's.
#[test]
fn lean_cache_ranks_as_the_full_cache_and_still_gives_every_plan() {
    let db = example_database("whatif_lean");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let requests: Vec<Request> = [vec![], vec![C_CUSTOMER_CREATED_DESC, C_PENDING_PARTIAL]]
            .iter()
            .flat_map(|c| shapes().into_iter().map(move |s| req(s.queryid, c)))
            .collect();
        let mut full = example_engine(&url, &catalog, 2).await;
        let mut lean_opts = options(&url, 2);
        lean_opts.lean_cache = true;
        let mut lean = Engine::new(
            lean_opts,
            &load_server(&url).await,
            &catalog,
            &shapes(),
            &candidates(),
        )
        .await
        .expect("engine");
        let f = full.evaluate(&requests).await.expect("full");
        let l = lean.evaluate(&requests).await.expect("lean");
        for (f, l) in f.iter().zip(&l) {
            let (f, l) = (f.as_ref().expect("planned"), l.as_ref().expect("planned"));
            assert_eq!(
                (f.cost, f.generic_cost, &f.used),
                (l.cost, l.generic_cost, &l.used)
            );
            let (fp, lp) = (
                f.plan.as_ref().expect("plan"),
                l.plan.as_ref().expect("plan"),
            );
            assert_eq!(
                (fp.total_cost, &fp.node_types, &fp.indexes),
                (lp.total_cost, &lp.node_types, &lp.indexes)
            );
            assert!(!fp.text.is_empty() && lp.text.is_empty(), "{}", fp.text);
        }
        let explains = lean.counters().explains;
        lean.evaluate(&requests).await.expect("again");
        assert_eq!(
            lean.counters().explains,
            explains,
            "answered from the cache"
        );
        let fo = full.outcomes(&requests).await.expect("full outcomes");
        let lo = lean.outcomes(&requests).await.expect("lean outcomes");
        assert!(
            lean.counters().explains > explains,
            "plans are EXPLAINed again"
        );
        assert_eq!(fo, lo);
        assert!(lo
            .iter()
            .flat_map(|o| &o.as_ref().expect("planned").custom)
            .all(|v| !v.plan.text.is_empty()));
    });
}

#[test]
fn r18_a_session_setting_reaches_every_session() {
    let db = example_database("whatif_session_setting");
    let url = cluster().url(&db);
    rt().block_on(async {
        let catalog = load_catalog(&url).await;
        let requests: Vec<Request> = shapes().into_iter().map(|s| req(s.queryid, &[])).collect();
        let mut costs = vec![];
        for setting in [None, Some("1.0")] {
            let mut e = example_engine(&url, &catalog, 2).await;
            if let Some(v) = setting {
                e.set_session("cpu_tuple_cost", v).await.expect("setting");
            }
            let out = e.evaluate(&requests).await.expect("evaluate");
            let c: Vec<f64> = out
                .iter()
                .map(|r| r.as_ref().expect("plans").cost)
                .collect();
            costs.push(c);
            assert!(
                e.set_session("no_such_setting", "1").await.is_err(),
                "an unknown setting is an error"
            );
            e.close().await.expect("close");
        }
        // cpu_tuple_cost 0.01 → 1.0: every plan (both sessions answered part) costs more.
        for (i, (a, b)) in costs[0].iter().zip(&costs[1]).enumerate() {
            assert!(b > a, "{}: {a} then {b}", requests[i].queryid);
        }
    });
}
