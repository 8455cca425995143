//! report.md on a workload of many statements on one wide table: every row tells its statement
//! apart (no column list), carries its queryid and links its plan diff.

use super::document::{Report, ReportIndex, ReportStatement, WorkloadSummary};
use super::render::markdown;
use super::{triage, TriageInput, REPORT_FORMAT_VERSION};
use crate::model::WriteSource;
use crate::parse::shape::{QueryShape, StatementKind, TableAccess};
use crate::select::Helped;

const COLUMNS: &str = r#""tickets_ticket"."id", "tickets_ticket"."queue_id", "tickets_ticket"."reporter_id", "tickets_ticket"."assignee_id", "tickets_ticket"."status", "tickets_ticket"."priority", "tickets_ticket"."title", "tickets_ticket"."body", "tickets_ticket"."created", "tickets_ticket"."updated_at", "tickets_ticket"."due""#;

/// (queryid, the part after the column list).
const STATEMENTS: [(i64, &str); 8] = [
    (
        -3402277432495319414,
        r#"WHERE "tickets_ticket"."queue_id" = $1 ORDER BY "tickets_ticket"."created" DESC LIMIT 21"#,
    ),
    (
        1181,
        r#"WHERE ("tickets_ticket"."queue_id" = $1 AND "tickets_ticket"."status" = $2) ORDER BY "tickets_ticket"."created" DESC LIMIT 21"#,
    ),
    (
        2272,
        r#"WHERE "tickets_ticket"."assignee_id" = $1 ORDER BY "tickets_ticket"."updated_at" DESC LIMIT 50"#,
    ),
    (
        3363,
        r#"WHERE ("tickets_ticket"."assignee_id" = $1 AND "tickets_ticket"."status" IN ($2, $3)) ORDER BY "tickets_ticket"."updated_at" DESC"#,
    ),
    (
        -4454,
        r#"WHERE "tickets_ticket"."reporter_id" = $1 ORDER BY "tickets_ticket"."created" DESC LIMIT 21 OFFSET 21"#,
    ),
    (
        5545,
        r#"WHERE "tickets_ticket"."due" < $1 AND "tickets_ticket"."status" <> $2 ORDER BY "tickets_ticket"."due" ASC"#,
    ),
    (6636, r#"WHERE "tickets_ticket"."id" = $1 LIMIT 21"#),
    (
        7727,
        r#"WHERE upper("tickets_ticket"."title"::text) LIKE upper($1) ORDER BY "tickets_ticket"."created" DESC LIMIT 21"#,
    ),
];

fn wide_report() -> Report {
    let shape = |queryid: i64| QueryShape {
        queryid,
        kind: StatementKind::Select,
        plan_text: String::new(),
        param_count: 2,
        tables: vec![TableAccess {
            schema: "public".into(),
            table: "tickets_ticket".into(),
            ..Default::default()
        }],
        params: vec![],
        limit: None,
        offset: false,
    };
    let shapes: Vec<QueryShape> = STATEMENTS.iter().map(|(q, _)| shape(*q)).collect();
    let inputs: Vec<TriageInput<'_>> = STATEMENTS
        .iter()
        .zip(&shapes)
        .enumerate()
        .map(|(i, ((q, _), sh))| TriageInput {
            queryid: *q,
            calls: 100 + 10 * i as i64,
            total_time_ms: 1000.0 - 50.0 * i as f64,
            rows: 2000,
            shape: Some(sh),
            baseline: None,
            before_after: Some((5000.0, if i < 5 { 40.0 + i as f64 } else { 5000.0 })),
            key_lookup: false,
            table_rows: 200_000.0,
            left_out: None,
            skip: None,
            date_range: None,
            per_row: None,
        })
        .collect();
    let statements: Vec<ReportStatement> = STATEMENTS
        .iter()
        .enumerate()
        .map(|(i, (q, tail))| ReportStatement {
            queryid: *q,
            query: format!("SELECT {COLUMNS} FROM \"tickets_ticket\" {tail}"),
            calls: 100 + 10 * i as i64,
            mean_ms: 10.0,
            total_time_ms: 1000.0 - 50.0 * i as f64,
            plan_diff: (i < 5).then(|| format!("plans/q{q}.diff")),
            values: None,
            risk: None,
            runs_on: None,
        })
        .collect();
    let helped = |i: usize| Helped {
        queryid: STATEMENTS[i].0,
        calls: 100 + 10 * i as i64,
        before_cost: 5000.0,
        after_cost: 40.0 + i as f64,
        before_ms: 10.0,
        after_ms: 0.1,
    };
    let index = |name: &str, cols: &str, helps: Vec<Helped>| {
        ReportIndex {
        name: name.into(),
        table: "public.tickets_ticket".into(),
        sql: format!("CREATE INDEX CONCURRENTLY \"{name}\" ON \"public\".\"tickets_ticket\" USING btree ({cols})"),
        saving_ms: helps.iter().map(|h| h.calls as f64 * 9.9).sum(),
        saving_share: 0.1,
        size_bytes: 3_774_873,
        write_cost_ms_per_s: Some(0.01),
        migration: None,
        meta_index: None,
        rules: vec![],
        lost_hot_updates_per_s: None,
        hot_columns: vec![],
        helps,
    }
    };
    Report {
        format_version: REPORT_FORMAT_VERSION,
        created_by: "idxadvise 0.0.0-test".into(),
        server_version: "15.18".into(),
        replica: false,
        database: "tracker".into(),
        workload: WorkloadSummary {
            statements: STATEMENTS.len(),
            analysed: STATEMENTS.len(),
            total_time_ms: 6600.0,
            skipped: vec![],
            skipped_by_reason: vec![],
        },
        write_stats: WriteSource::Local,
        triage: triage(&inputs),
        findings: Default::default(),
        indexes: vec![
            index(
                "tickets_tic_queue_i_3c2a1b_idx",
                "\"queue_id\", \"created\" DESC",
                vec![helped(0), helped(1)],
            ),
            index(
                "tickets_tic_assigne_9d8e7f_idx",
                "\"assignee_id\", \"updated_at\" DESC",
                vec![helped(2), helped(3)],
            ),
            index(
                "tickets_tic_reporte_1a2b3c_idx",
                "\"reporter_id\", \"created\" DESC",
                vec![helped(4)],
            ),
        ],
        drops: vec![],
        kept: vec![],
        advice: vec![],
        statements,
        notes: vec![],
        whatif: Default::default(),
        limits: crate::select::LimitsUsed {
            budget_bytes: 64 << 20,
            budget_rule: "25% of the database (pg_database_size 256.0 MiB), at least 16.0 MiB"
                .into(),
            database_bytes: 256 << 20,
            max_indexes: 10,
            max_per_table: 3,
            min_improvement: 0.1,
            min_benefit: 0.005,
        },
        left_out: vec![],
        made_slower: vec![],
        observation: None,
        write_rates: None,
        frontier: vec![],
    }
}

#[test]
fn r14_rows_on_one_wide_table_are_distinct_and_link_their_diffs() {
    let md = markdown(&wide_report());
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("tickets_ticket WHERE"))
        .collect();
    assert_eq!(
        rows.len(),
        STATEMENTS.len() + 5,
        "triage rows + index rows:\n{md}"
    );
    let mut distinct = rows.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), rows.len(), "a row repeats:\n{md}");
    for (i, (q, _)) in STATEMENTS.iter().enumerate() {
        let link = format!("[diff](plans/q{q}.diff)");
        let mine: Vec<&&str> = rows
            .iter()
            .filter(|r| r.contains(&format!("`{q}`")))
            .collect();
        assert!(!mine.is_empty(), "queryid {q} has no row");
        assert!(mine
            .iter()
            .all(|r| !r.contains("queue_id\", ") && !r.contains("\"id\",")));
        assert_eq!(mine.iter().all(|r| r.contains(&link)), i < 5, "{mine:?}");
    }
    assert!(!md.contains("](plans/-"), "no diff name starts with '-'");
    insta::assert_snapshot!(md);
}

/// Review 3 (F7): "Observed parameter values" cut each statement at 80 characters without its
/// queryid, so four rows read `SELECT "order_order"."id", "order_order"."number", …`. Each row
/// now carries its queryid and the statement's label (tables, WHERE, ORDER BY, LIMIT).
#[test]
fn observed_values_rows_are_distinct_and_carry_their_queryid() {
    let mut r = wide_report();
    for st in &mut r.statements {
        st.values = Some("status = 'open': 100% of 12 samples (pg_stat_activity samples)".into());
    }
    assert_rows_are_distinct(
        &markdown(&r),
        "## Observed parameter values and derived limits",
        "| queryid | statement | values |",
        "samples",
    );
}

/// The "Where values decide" rows had the same cut as the observed values: each now carries
/// its queryid and the statement's label.
#[test]
fn values_decide_rows_are_distinct_and_carry_their_queryid() {
    let mut r = wide_report();
    for st in &mut r.statements {
        st.risk = Some("status = 'closed': 40× dearer than today (rare value)".into());
    }
    assert_rows_are_distinct(
        &markdown(&r),
        "## Where values decide",
        "| queryid | statement | risk |",
        "dearer",
    );
}

/// In the section under `heading` (with table header `header`), the rows holding `marker`:
/// one per statement, all different, each led by its queryid and showing its label.
fn assert_rows_are_distinct(md: &str, heading: &str, header: &str, marker: &str) {
    let section = md
        .split(heading)
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no section {heading}:\n{md}"));
    assert!(section.contains(header), "{section}");
    let rows: Vec<&str> = section.lines().filter(|l| l.contains(marker)).collect();
    assert_eq!(rows.len(), STATEMENTS.len(), "{section}");
    let mut distinct = rows.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), rows.len(), "a row repeats:\n{section}");
    for (q, _) in STATEMENTS {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{q}` |")))
            .unwrap_or_else(|| panic!("queryid {q} has no row:\n{section}"));
        assert!(row.contains("`SELECT … FROM tickets_ticket WHERE"), "{row}");
    }
    assert!(
        rows.iter()
            .any(|r| r.contains("WHERE assignee_id = $1 ORDER BY updated_at DESC LIMIT 50")),
        "{section}"
    );
}
