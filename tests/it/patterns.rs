//! The triage's Django patterns end to end: the example shop's workload plus the patterns it
//! plants (`examples/shop/patterns.sql`, captured from `manage.py run_patterns`), analysed on
//! a real cluster: each planted pattern is found on its statement with its fix, the serializer
//! N+1 ranks among the top findings before and after the indexes, and the report leads with
//! "after these indexes, the time goes to".

use std::process::Command;
use std::sync::OnceLock;

use crate::support::{cluster, example_database, replays, repo_root, reset_statements};

struct Run {
    report: serde_json::Value,
    markdown: String,
    stdout: String,
    _tmp: tempfile::TempDir,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let c = cluster();
        let db = example_database("patterns_example");
        // Write rates from now on only: the data load is not the application's writes.
        c.psql(&db, "SELECT pg_stat_reset()");
        reset_statements(c, &db);
        {
            // A timed replay, as `replay_workload`'s: never under another test's heavy load.
            let _quiet = replays().read().unwrap_or_else(|p| p.into_inner());
            c.psql_file(&db, &repo_root().join("examples/shop/workload.sql"));
            c.psql_file(&db, &repo_root().join("examples/shop/patterns.sql"));
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
            .env_remove("DATABASE_URL")
            .args(["analyze", "--quiet", "--window", "0", "--database-url"])
            .arg(c.url(&db))
            .arg("--out")
            .arg(&out)
            // Django in the cloud: a round trip to the database costs ~0.5 ms.
            .args(["--per-call-overhead", "0.5"])
            .output()
            .expect("run analyze");
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let code = o.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "analyze failed ({code}):\n{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report = serde_json::from_str(
            &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
        )
        .expect("report.json is JSON");
        let markdown = std::fs::read_to_string(out.join("report.md")).expect("report.md");
        Run {
            report,
            markdown,
            stdout,
            _tmp: tmp,
        }
    })
}

/// The finding on the statement whose text contains every needle.
fn finding(needles: &[&str]) -> serde_json::Value {
    let r = &run().report;
    let statements = r["statements"].as_array().expect("statements");
    let ids: Vec<i64> = statements
        .iter()
        .filter(|s| {
            let q = s["query"].as_str().unwrap_or("");
            needles.iter().all(|n| q.contains(n))
        })
        .filter_map(|s| s["queryid"].as_i64())
        .collect();
    assert!(
        !ids.is_empty(),
        "no reported statement contains {needles:?}"
    );
    r["findings"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| ids.contains(&f["queryid"].as_i64().unwrap_or(0)))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no finding for {needles:?}; findings: {}",
                serde_json::to_string_pretty(&r["findings"]).unwrap_or_default()
            )
        })
}

fn assert_pattern(needles: &[&str], pattern: &str, fix_mentions: &str) {
    let f = finding(needles);
    assert_eq!(f["pattern"], pattern, "{f}");
    let fix = f["fix"].as_str().unwrap_or("");
    assert!(
        fix.contains(fix_mentions),
        "fix {fix:?} should mention {fix_mentions:?}"
    );
}

#[test]
fn the_serializer_n_plus_one_is_found_and_ranks_among_the_top_before_and_after() {
    assert_pattern(
        &["FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT"],
        "n_plus_one",
        "select_related()",
    );
    let f = finding(&["FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT"]);
    assert!(
        f["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("select_related(\"customer\")"),
        "the relation is named: {f}"
    );
    let all = run().report["findings"]["findings"]
        .as_array()
        .expect("findings");
    let rank_before = all
        .iter()
        .position(|x| x["queryid"] == f["queryid"])
        .expect("ranked");
    assert!(
        rank_before < 3,
        "N+1 should be a top finding, is #{}",
        rank_before + 1
    );
    let after = run().report["findings"]["after"].as_array().expect("after");
    let rank_after = after
        .iter()
        .position(|g| g["what"] == "N+1 queries")
        .expect("N+1 is still there after the indexes");
    assert!(
        rank_after < 3,
        "N+1 should lead what remains, is #{}",
        rank_after + 1
    );
}

#[test]
fn the_count_per_customer_is_count_per_row() {
    assert_pattern(
        &["COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1"],
        "count_per_row",
        "annotate(Count(...))",
    );
}

#[test]
fn the_paginator_count_over_all_orders_is_found() {
    assert_pattern(
        &["SELECT COUNT(*) AS \"__count\" FROM \"shop_order\""],
        "paginator_count",
        "CursorPagination",
    );
}

#[test]
fn the_deep_page_is_deep_offset() {
    assert_pattern(
        &["FROM \"shop_order\" ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $1 OFFSET $2"],
        "deep_offset",
        "keyset pagination",
    );
}

#[test]
fn the_icontains_search_is_contains_search() {
    assert_pattern(
        &["UPPER(\"shop_customer\".\"name\"::text) LIKE UPPER($1)"],
        "contains_search",
        "trigram GIN",
    );
}

#[test]
fn the_review_list_with_long_bodies_is_over_fetching() {
    assert_pattern(
        &["FROM \"reviews\" WHERE \"reviews\".\"rating\" = $1"],
        "over_fetching",
        "defer()",
    );
}

#[test]
fn popular_tags_sorted_after_the_join_is_fan_out_sort() {
    assert_pattern(
        &["COUNT(\"shop_orderitem\".\"id\") AS \"n\" FROM \"shop_tag\""],
        "fan_out_sort",
        "denormalise the sort key",
    );
}

#[test]
fn order_by_question_mark_is_random_order() {
    assert_pattern(&["ORDER BY RANDOM()"], "random_order", "order_by(\"?\")");
}

#[test]
fn distinct_over_order_items_is_distinct_join() {
    assert_pattern(
        &["SELECT DISTINCT \"shop_order\".\"id\""],
        "distinct_join",
        "Exists()",
    );
}

#[test]
fn the_product_badge_count_is_a_cache_candidate() {
    assert_pattern(
        &["COUNT(*) AS \"__count\" FROM \"shop_product\" WHERE \"shop_product\".\"is_active\""],
        "cacheable",
        "cache the result",
    );
}

#[test]
fn the_report_leads_with_what_remains_after_the_indexes() {
    let md = &run().markdown;
    let after = md
        .find("## After these indexes, the time goes to")
        .expect("after section in report.md");
    let triage = md.find("## Triage").expect("triage section");
    assert!(after < triage, "the after section leads the report");
    assert!(md.contains("## Django findings"), "findings section");
    let f = &run().report["findings"];
    let ratio = f["after_ratio"].as_f64().expect("after_ratio");
    assert!(
        ratio > 0.0 && ratio < 1.0,
        "indexes lower the weight: {ratio}"
    );
    let sum: f64 = f["after"]
        .as_array()
        .expect("after")
        .iter()
        .map(|g| g["share"].as_f64().unwrap_or(0.0))
        .sum();
    assert!((sum - 1.0).abs() < 1e-6, "after shares add up to 1: {sum}");
    assert!(
        f["weighting"]
            .as_str()
            .unwrap_or("")
            .contains("ms per call"),
        "the weighting is stated"
    );
    assert!(
        run().stdout.contains("After these indexes") && run().stdout.contains("Django findings"),
        "terminal shows both:\n{}",
        run().stdout
    );
}

#[test]
fn explain_gives_the_same_verdict_for_one_statement() {
    let c = cluster();
    let db = example_database("patterns_explain");
    let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .env_remove("DATABASE_URL")
        .args(["explain", "--quiet", "--database-url"])
        .arg(c.url(&db))
        .arg("SELECT \"shop_product\".\"id\", \"shop_product\".\"name\" FROM \"shop_product\" WHERE \"shop_product\".\"is_active\" ORDER BY RANDOM() ASC LIMIT 3")
        .output()
        .expect("run explain");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("Django: ORDER BY RANDOM(): order_by(\"?\") sorts")
            && stdout.contains("fix: pick random ids in Python"),
        "{stdout}"
    );
}

/// The example database has Django's `django_content_type` table but no rows in it, and no
/// project is given: the examples stay generic, and the report says why.
#[test]
fn without_model_names_the_examples_stay_generic() {
    let r = &run().report;
    assert!(
        r["findings"]["names"]
            .as_str()
            .unwrap_or("")
            .starts_with("generic model names"),
        "{}",
        r["findings"]["names"]
    );
    let f = finding(&[
        "FROM \"shop_order\" ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $1 OFFSET $2",
    ]);
    assert_eq!(
        f["example"],
        "Order.objects.filter(created_at__lt=last_seen).order_by(\"-created_at\")[:50]"
    );
    assert!(f.get("names").is_none(), "{f}");
    assert!(run().markdown.contains("Examples: generic model names"));
}
