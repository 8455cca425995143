//! Findings that need the rest of the workload as evidence, on a real cluster: a reviewer's
//! shop (2026-12-06) where every filtered `.count()` was called a paginator count, a `__date`
//! count was "already well indexed", and a count run once per product page was "likely N+1".
//! The statements are Django's texts with literals, run through psql, so pg_stat_statements
//! normalises them as it does the application's.

use std::fmt::Write as _;
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{cluster, reset_statements};

struct Run {
    report: serde_json::Value,
    url: String,
    _tmp: tempfile::TempDir,
}

const SCHEMA: &str = r#"
CREATE TABLE shop_user (id serial PRIMARY KEY, email varchar(254) NOT NULL,
  date_joined timestamptz NOT NULL);
INSERT INTO shop_user (email, date_joined)
  SELECT 'u' || g || '@example.org', timestamptz '2024-01-01' + g * interval '10 minutes'
  FROM generate_series(1, 20000) g;
CREATE TABLE shop_product (id serial PRIMARY KEY, slug varchar(50) NOT NULL UNIQUE,
  title varchar(200) NOT NULL);
INSERT INTO shop_product (slug, title)
  SELECT 'product-' || g, 'Product ' || g FROM generate_series(1, 5000) g;
CREATE TABLE shop_order (id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES shop_user (id) DEFERRABLE INITIALLY DEFERRED,
  status varchar(32) NOT NULL, total numeric(12, 2) NOT NULL, discount numeric(12, 2) NOT NULL,
  date_placed timestamptz NOT NULL, notes text NOT NULL);
CREATE INDEX shop_order_user_id_5e2f3b1c ON shop_order (user_id);
CREATE INDEX shop_order_date_placed_8a1b2c3d ON shop_order (date_placed);
INSERT INTO shop_order (user_id, status, total, discount, date_placed, notes)
  SELECT 1 + (g * 7919) % 20000,
         (ARRAY['Open', 'Pending', 'Complete', 'Complete', 'Complete', 'Complete', 'Complete',
                'Complete', 'Complete', 'Cancelled'])[1 + g % 10],
         g % 500, (g * 31) % 1000, timestamptz '2026-01-01' + g * interval '2 minutes',
         repeat('n', 60)
  FROM generate_series(1, 200000) g;
CREATE TABLE shop_orderline (id serial PRIMARY KEY,
  order_id integer NOT NULL REFERENCES shop_order (id) DEFERRABLE INITIALLY DEFERRED,
  product_id integer NOT NULL REFERENCES shop_product (id) DEFERRABLE INITIALLY DEFERRED,
  quantity integer NOT NULL);
CREATE INDEX shop_orderline_order_id_1a2b3c4d ON shop_orderline (order_id);
CREATE INDEX shop_orderline_product_id_2b3c4d5e ON shop_orderline (product_id);
INSERT INTO shop_orderline (order_id, product_id, quantity)
  SELECT 1 + g % 200000, 1 + (g * 13) % 5000, 1 + g % 3 FROM generate_series(1, 300000) g;
CREATE TABLE shop_viewevent (id serial PRIMARY KEY,
  product_id integer NOT NULL REFERENCES shop_product (id) DEFERRABLE INITIALLY DEFERRED,
  viewed_at timestamptz NOT NULL);
CREATE INDEX shop_viewevent_product_id_3c4d5e6f ON shop_viewevent (product_id);
CREATE TABLE shop_ticket (id serial PRIMARY KEY, created timestamptz NOT NULL, body text NOT NULL);
CREATE INDEX shop_ticket_created_4d5e6f7a ON shop_ticket (created);
INSERT INTO shop_ticket (created, body)
  SELECT timestamptz '2026-01-01' + g * interval '3 minutes', repeat('b', 400)
  FROM generate_series(1, 100000) g;
INSERT INTO shop_viewevent (product_id, viewed_at)
  SELECT 1 + (g * 17) % 5000, timestamptz '2026-09-01' + g * interval '60 seconds'
  FROM generate_series(1, 100000) g;
"#;

const ORDER_COLUMNS: &str = r#""shop_order"."id", "shop_order"."user_id", "shop_order"."status", "shop_order"."total", "shop_order"."date_placed""#;

/// The dashboard and list pages, a product page (three statements per request) and an
/// account page that counts the lines of each listed order.
fn workload() -> String {
    let mut w = String::new();
    for i in 0..20 {
        // A paginated list: Django's Paginator counts, then fetches the page.
        let _ = writeln!(
            w,
            r#"SELECT COUNT(*) AS "__count" FROM "shop_order" WHERE NOT ("shop_order"."status" = 'Cancelled');"#
        );
        let _ = writeln!(
            w,
            r#"SELECT {ORDER_COLUMNS} FROM "shop_order" WHERE NOT ("shop_order"."status" = 'Cancelled') ORDER BY "shop_order"."date_placed" DESC LIMIT 25 OFFSET {};"#,
            25 * (i % 4 + 1)
        );
        // Dashboard counts with no list page: plain counts.
        let _ = writeln!(
            w,
            r#"SELECT COUNT(*) AS "__count" FROM "shop_order" WHERE "shop_order"."total" < ("shop_order"."discount");"#
        );
        // `Ticket.objects.filter(created__date=today).count()` on a wide table: the planner
        // reads the whole narrow `created` index instead of the table.
        let _ = writeln!(
            w,
            r#"SELECT COUNT(*) AS "__count" FROM "shop_ticket" WHERE ("shop_ticket"."created" AT TIME ZONE 'UTC')::date = '2026-03-{:02}'::date;"#,
            1 + i % 28
        );
        // `ViewEvent.objects.filter(viewed_at__date=today).count()`: no index on `viewed_at`,
        // so a sequential scan whatever the visibility map says.
        let _ = writeln!(
            w,
            r#"SELECT COUNT(*) AS "__count" FROM "shop_viewevent" WHERE ("shop_viewevent"."viewed_at" AT TIME ZONE 'UTC')::date = '2026-11-{:02}'::date;"#,
            1 + i % 28
        );
    }
    // The catalogue's product list: 30 pages of 20.
    for i in 0..30 {
        let _ = writeln!(
            w,
            r#"SELECT "shop_product"."id", "shop_product"."slug", "shop_product"."title" FROM "shop_product" ORDER BY "shop_product"."id" ASC LIMIT 20 OFFSET {};"#,
            20 * i
        );
    }
    // The product page, 300 requests: the product by slug, then its views this week.
    for i in 0..300 {
        let p = 1 + (i * 37) % 5000;
        let _ = writeln!(
            w,
            r#"SELECT "shop_product"."id", "shop_product"."slug", "shop_product"."title" FROM "shop_product" WHERE "shop_product"."slug" = 'product-{p}' LIMIT 21;"#
        );
        let _ = writeln!(
            w,
            r#"SELECT COUNT(*) AS "__count" FROM "shop_viewevent" WHERE ("shop_viewevent"."product_id" = {p} AND "shop_viewevent"."viewed_at" >= '2026-11-20T00:00:00+00:00'::timestamptz);"#
        );
    }
    // The account page, 48 requests: a user's 10 latest orders, then `order.lines.count()`
    // for each (the N+1).
    for i in 0..48 {
        let user = 1 + (i * 409) % 20000;
        let _ = writeln!(
            w,
            r#"SELECT {ORDER_COLUMNS} FROM "shop_order" WHERE "shop_order"."user_id" = {user} ORDER BY "shop_order"."date_placed" DESC LIMIT 10;"#
        );
        // Every user has exactly ten orders (g * 7919 mod 20000 runs over all users).
        for k in 0..10 {
            let order = 1 + (i * 10 + k) * 401 % 200_000;
            let _ = writeln!(
                w,
                r#"SELECT COUNT(*) AS "__count" FROM "shop_orderline" WHERE "shop_orderline"."order_id" = {order};"#
            );
        }
    }
    w
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let c = cluster();
        let db = c.create_database("triage_siblings");
        c.psql(&db, SCHEMA);
        c.psql(&db, "VACUUM ANALYZE");
        reset_statements(c, &db);
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("workload.sql");
        std::fs::write(&file, workload()).expect("write workload");
        c.psql_file(&db, &file);
        let out = tmp.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
            .env_remove("DATABASE_URL")
            .args(["analyze", "--quiet", "--window", "0", "--database-url"])
            .arg(c.url(&db))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run analyze");
        let code = o.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "analyze failed ({code}):\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let report = serde_json::from_str(
            &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
        )
        .expect("report.json is JSON");
        Run {
            report,
            url: c.url(&db),
            _tmp: tmp,
        }
    })
}

/// The queryid of the one reported statement whose text contains every needle.
fn queryid(needles: &[&str]) -> i64 {
    let r = &run().report;
    let ids: Vec<i64> = r["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| {
            let q = s["query"].as_str().unwrap_or("");
            needles.iter().all(|n| q.contains(n))
        })
        .filter_map(|s| s["queryid"].as_i64())
        .collect();
    assert_eq!(ids.len(), 1, "one statement contains {needles:?}: {ids:?}");
    ids[0]
}

/// The pattern of the finding on a statement, if any.
fn pattern(q: i64) -> Option<String> {
    run().report["findings"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["queryid"].as_i64() == Some(q))
        .and_then(|f| f["pattern"].as_str().map(String::from))
}

/// The finding's evidence on a statement ("" without a finding).
fn evidence(q: i64) -> String {
    run().report["findings"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["queryid"].as_i64() == Some(q))
        .and_then(|f| f["evidence"].as_str().map(String::from))
        .unwrap_or_default()
}

/// The triage entry of a statement.
fn entry(q: i64) -> serde_json::Value {
    run().report["triage"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["queryid"].as_i64() == Some(q))
        .cloned()
        .unwrap_or_else(|| panic!("{q} is triaged"))
}

/// A count whose list page (same FROM and WHERE, LIMIT/OFFSET) is in the workload is the
/// paginator's; the evidence names the page.
#[test]
fn a_count_with_its_list_page_is_a_paginator_count() {
    let count = queryid(&["COUNT(*)", "NOT (\"shop_order\".\"status\" = $1)"]);
    let page = queryid(&["NOT (\"shop_order\".\"status\" = $1)", "OFFSET"]);
    assert_eq!(pattern(count).as_deref(), Some("paginator_count"));
    assert!(
        evidence(count).contains(&format!("its list page is queryid {page}")),
        "{}",
        evidence(count)
    );
    // Review 3 (F7): what the count's scan reads, from its real plan, not the table's size.
    let e = evidence(count);
    assert!(
        e.starts_with("paginator count: ")
            && e.contains(" of shop_order ")
            && !e.contains("not known"),
        "{e}"
    );
}

/// The reviewer's stock alert, `filter(total__lt=F("discount")).count()`: no list page, so
/// not a paginator count (it was, with "DRF CursorPagination" as the fix).
#[test]
fn a_filtered_count_without_a_list_page_is_not_a_paginator_count() {
    let q = queryid(&[
        "COUNT(*)",
        "\"shop_order\".\"total\" < (\"shop_order\".\"discount\")",
    ]);
    assert_ne!(
        pattern(q).as_deref(),
        Some("paginator_count"),
        "{}",
        evidence(q)
    );
}

/// `Ticket.objects.filter(created__date=d).count()`: the date-lookup finding with its range
/// rewrite (pg_stat_statements made the zone a parameter), and the plan, an index-only scan of
/// the whole `created` index through a filter (the reviewer's `date_placed` plan), is "index
/// walked through a filter", not "already well indexed".
#[test]
fn a_counted_date_lookup_gets_the_date_finding_and_no_well_indexed() {
    let q = queryid(&[
        "COUNT(*)",
        "\"shop_ticket\".\"created\" AT TIME ZONE $1)::date",
    ]);
    assert_eq!(
        pattern(q).as_deref(),
        Some("date_lookup"),
        "{}",
        evidence(q)
    );
    assert!(evidence(q).contains("created__date"), "{}", evidence(q));
    // The table has an index on `created`: the finding names it, not "then a candidate".
    assert!(
        evidence(q).ends_with(
            "a range on created does (with the existing index shop_ticket_created_4d5e6f7a)"
        ),
        "{}",
        evidence(q)
    );
    let e = entry(q);
    assert_eq!(e["verdict"], "filtered_walk", "{e}");
    assert!(
        e["evidence"].as_str().unwrap_or("").contains(
            "plan reads all of shop_ticket_created_4d5e6f7a on shop_ticket through a filter"
        ),
        "{e}"
    );
    // Review 3 (F7): a count has no ORDER BY, so no order key in its advice.
    let action = e["action"].as_str().unwrap_or("");
    assert!(
        action.starts_with("an index led by the filtered column or expression")
            && !action.contains("order key"),
        "{e}"
    );
}

/// The same `__date` count where the plan is a sequential scan (no index on `viewed_at`): the
/// filter hides the column from any index, and as a range an index on it serves the count, so
/// the verdict is "index serves it as a range", never "no index helps" (one day is a small
/// share of the table), and the date finding is there.
#[test]
fn a_scanned_date_lookup_is_served_as_a_range_not_no_index_helps() {
    let q = queryid(&[
        "COUNT(*)",
        "\"shop_viewevent\".\"viewed_at\" AT TIME ZONE $1)::date",
    ]);
    assert_eq!(
        pattern(q).as_deref(),
        Some("date_lookup"),
        "{}",
        evidence(q)
    );
    let e = entry(q);
    assert_eq!(e["verdict"], "range_rewrite", "{e}");
    let evidence = e["evidence"].as_str().unwrap_or("");
    assert!(
        evidence.starts_with("aggregate over 100000 rows filtering (viewed_at AT TIME ZONE $")
            || evidence.starts_with(
                "sequential scan over 100000 rows filtering (viewed_at AT TIME ZONE $"
            ),
        "{e}"
    );
    // 100,000 views a minute apart: about 1,440 a day, 1.4% of the table (pg_stats).
    assert!(
        evidence.contains("one day holds at most 1.")
            && evidence.ends_with("so as a range on viewed_at an index led by viewed_at serves it"),
        "{e}"
    );
}

/// A count run once per product page, as often as the page's product lookup (with a product
/// list elsewhere in the workload), is neither "likely N+1" nor a count per row.
#[test]
fn a_count_once_per_request_is_not_n_plus_one() {
    let q = queryid(&["COUNT(*)", "\"shop_viewevent\".\"product_id\" = $1"]);
    assert_ne!(entry(q)["verdict"], "likely_n_plus_one", "{}", entry(q));
    assert_ne!(
        pattern(q).as_deref(),
        Some("count_per_row"),
        "{}",
        evidence(q)
    );
    assert_ne!(pattern(q).as_deref(), Some("n_plus_one"), "{}", evidence(q));
}

/// `order.lines.count()` for each listed order: ten counts per list, still an N+1, with the
/// list named as evidence.
#[test]
fn a_count_per_listed_order_is_still_n_plus_one() {
    let q = queryid(&["COUNT(*)", "\"shop_orderline\".\"order_id\" = $1"]);
    let list = queryid(&["\"shop_order\".\"user_id\" = $1", "LIMIT"]);
    let e = entry(q);
    assert_eq!(e["verdict"], "likely_n_plus_one", "{e}");
    assert_eq!(
        pattern(q).as_deref(),
        Some("count_per_row"),
        "{}",
        evidence(q)
    );
    assert!(
        evidence(q).contains(&format!("(queryid {list},")),
        "{}",
        evidence(q)
    );
}

/// `explain` of the scanned `__date` count, as a new user ran it (review, 2026-12-07): it said
/// "no B-tree candidate serves this statement's filters … as written" next to a finding that
/// offers an expression index. It now says that no index on the date expression is
/// simulated, points to the range, and gives the range verdict.
#[test]
fn explain_of_a_date_lookup_says_what_was_not_simulated_and_gives_the_range() {
    let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .env_remove("DATABASE_URL")
        .args(["explain", "--quiet", "--database-url", &run().url])
        .arg(r#"SELECT COUNT(*) AS "__count" FROM "shop_viewevent" WHERE ("shop_viewevent"."viewed_at" AT TIME ZONE 'UTC')::date = '2026-10-01'::date"#)
        .output()
        .expect("run explain");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.code() == Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("No index was simulated: idxadvise simulates no index on the date expression"),
        "{out}"
    );
    assert!(!out.contains("no B-tree candidate serves"), "{out}");
    assert!(
        out.contains(
            "Not well indexed: sequential scan over 100000 rows filtering (viewed_at AT TIME ZONE"
        ) && out.contains("so as a range on viewed_at an index led by viewed_at serves it"),
        "{out}"
    );
}
