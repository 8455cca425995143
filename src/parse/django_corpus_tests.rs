//! Tests of `parse` and `candidates` over the REAL Django corpus: what pg_stat_statements held
//! after tests/django_corpus ran its ORM workload through Django 4.2 LTS and the newest Django
//! (`tests/fixtures/django_corpus_<version>.json`, written by tests/django_corpus/capture.sh),
//! with the schema `idxadvise collect` read from that database
//! (`tests/fixtures/django_corpus_catalog.json`).
//!
//! Stage `parse`, tests only. Invariant: every statement of every corpus is accounted for: left
//! out by `collect` for a listed reason, a shape, or a listed skip; at least 97 % of the
//! statements `collect` keeps become shapes. Snapshots use the statement's position in the
//! fixture (sorted by text) as its queryid, so they do not change when a re-capture only
//! changes queryids (which depend on table OIDs).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::*;
use crate::candidates::generate;
use crate::collect::workload::exclusion;
use crate::model::{Catalog, SkipReason, Statement};

/// What `manage.py capture_corpus` writes.
#[derive(Debug, Deserialize)]
pub(crate) struct CorpusFile {
    pub django: String,
    pub python: String,
    pub statements: Vec<CorpusStatement>,
}

/// One pg_stat_statements entry of the corpus.
#[derive(Debug, Deserialize)]
pub(crate) struct CorpusStatement {
    pub queryid: i64,
    pub query: String,
    pub calls: i64,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every stored corpus, `(file stem, corpus)`, by file name (`django_corpus_4.2`, …).
pub(crate) fn corpora() -> Vec<(String, CorpusFile)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixtures()).expect("tests/fixtures exists") {
        let name = e.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name
            .strip_prefix("django_corpus_")
            .and_then(|s| s.strip_suffix(".json"))
        else {
            continue;
        };
        if !stem.starts_with(|c: char| c.is_ascii_digit()) {
            continue; // the catalog
        }
        let text = std::fs::read_to_string(fixtures().join(name.as_ref())).expect("read corpus");
        let corpus: CorpusFile = serde_json::from_str(&text).expect("corpus JSON");
        out.push((format!("django_corpus_{stem}"), corpus));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 2,
        "expected corpora of Django 4.2 and the newest Django"
    );
    out
}

/// The corpus schema as `idxadvise collect` read it.
pub(crate) fn corpus_catalog() -> Catalog {
    let text = std::fs::read_to_string(fixtures().join("django_corpus_catalog.json"))
        .expect("tests/fixtures/django_corpus_catalog.json");
    serde_json::from_str(&text).expect("a serialised model::Catalog")
}

/// The corpus as statements, queryid = 1-based position in the (text-sorted) fixture.
fn statements(c: &CorpusFile) -> Vec<Statement> {
    c.statements
        .iter()
        .enumerate()
        .map(|(k, s)| Statement {
            queryid: k as i64 + 1,
            query: s.query.clone(),
            calls: s.calls,
            total_time_ms: 0.0,
            mean_time_ms: 0.0,
            rows: 0,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        })
        .collect()
}

/// Entries pg_stat_statements holds that are not application queries: `collect` leaves them
/// out before `parse`. (text prefix, collect's reason, why a person agrees)
const LEFT_OUT_BY_COLLECT: &[(&str, &str, &str)] = &[
    ("BEGIN", "utility statement (BEGIN)", "transaction control"),
    (
        "COMMIT",
        "utility statement (COMMIT)",
        "transaction control",
    ),
    (
        "SAVEPOINT ",
        "utility statement (SAVEPOINT)",
        "atomic()/get_or_create savepoint, one entry per name",
    ),
    (
        "RELEASE SAVEPOINT ",
        "utility statement (RELEASE)",
        "savepoint release",
    ),
    (
        "ROLLBACK TO SAVEPOINT ",
        "utility statement (ROLLBACK)",
        "savepoint rollback after IntegrityError",
    ),
    (
        "FETCH FORWARD ",
        "utility statement (FETCH)",
        "iterator() chunk fetch",
    ),
    (
        "CLOSE ",
        "utility statement (CLOSE)",
        "iterator() cursor close",
    ),
    (
        "SELECT $2 FROM ONLY \"public\".",
        "foreign-key check",
        "PostgreSQL's RI trigger query, not Django's (docs/postgres-facts.md §1)",
    ),
];

/// Statements `collect` keeps that `parse` skips. (text prefix, reason, why a person agrees)
const SKIPPED_BY_PARSE: &[(&str, SkipReason, &str)] = &[
    (
        "SELECT oid, typarray FROM pg_type WHERE typname = $1",
        SkipReason::SystemCatalog,
        "django.contrib.postgres looks up the hstore/citext type oids on connect",
    ),
    (
        "SELECT set_config($1, $2, $3)",
        SkipReason::NoTable,
        "Django sets the session time zone on connect",
    ),
];

/// One statement in the shapes snapshot: the shape's facts with empty lists left out and
/// parameters summarised per (column, use), since a bulk_create INSERT has thousands.
#[derive(Serialize)]
struct ShapeEntry {
    n: i64,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<StatementKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tables: Vec<CompactTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<Limit>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    offset: bool,
}

/// [`TableAccess`] without its empty lists.
#[derive(Serialize)]
struct CompactTable {
    table: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    equality: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    null_tests: Vec<(String, bool)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    booleans: Vec<(String, bool)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    upper_equality: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    likes: Vec<LikeUse>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    join_columns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    order_by: Vec<OrderKey>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    distinct: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    set_columns: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_target: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    containment: Vec<String>,
    /// How many columns it reads (the list itself is long and follows from the text).
    columns_read: usize,
}

impl ShapeEntry {
    fn new(n: i64, text: &str, r: &Result<QueryShape, crate::model::Skipped>) -> ShapeEntry {
        let mut e = ShapeEntry {
            n,
            text: crate::parse::stable_cursor_names(text)
                .chars()
                .take(160)
                .collect(),
            skipped: None,
            kind: None,
            plan_text: None,
            tables: Vec::new(),
            params: Vec::new(),
            limit: None,
            offset: false,
        };
        let shape = match r {
            Ok(s) => s,
            Err(skip) => {
                e.skipped = Some(format!("{:?}: {}", skip.reason, skip.detail));
                return e;
            }
        };
        e.kind = Some(shape.kind);
        if shape.plan_text != text {
            e.plan_text = Some(shape.plan_text.clone());
        }
        e.limit = shape.limit.clone();
        e.offset = shape.offset;
        e.tables = shape
            .tables
            .iter()
            .map(|t| CompactTable {
                table: t.table.clone(),
                aliases: t.aliases.clone(),
                equality: t.equality.clone(),
                ranges: t.ranges.clone(),
                null_tests: t.null_tests.clone(),
                booleans: t.booleans.clone(),
                upper_equality: t.upper_equality.clone(),
                likes: t.likes.clone(),
                join_columns: t.join_columns.clone(),
                order_by: t.order_by.clone(),
                group_by: t.group_by.clone(),
                distinct: t.distinct,
                set_columns: t.set_columns.clone(),
                is_target: t.is_target,
                containment: t.containment.clone(),
                columns_read: t.columns_read.len(),
            })
            .collect();
        // Parameters grouped by (column, use), in order of first appearance.
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        for p in &shape.params {
            let key = format!(
                "{:?} {}.{}",
                p.op,
                p.table.as_deref().unwrap_or("-"),
                p.column.as_deref().unwrap_or("-")
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(p.param),
                None => groups.push((key, vec![p.param])),
            }
        }
        e.params = groups
            .into_iter()
            .map(|(k, v)| {
                let first: Vec<String> = v.iter().take(3).map(|n| format!("${n}")).collect();
                if v.len() > 3 {
                    format!("{k}: {}, … ({} params)", first.join(", "), v.len())
                } else {
                    format!("{k}: {}", first.join(", "))
                }
            })
            .collect();
        e
    }
}

/// Parse one corpus: (shapes, entries for the snapshot, number kept by collect).
fn run(corpus: &CorpusFile, catalog: &Catalog) -> (Vec<QueryShape>, Vec<ShapeEntry>, usize) {
    let mut shapes = Vec::new();
    let mut entries = Vec::new();
    let mut kept = 0;
    for s in statements(corpus) {
        if let Some(why) = exclusion(&s.query) {
            let listed = LEFT_OUT_BY_COLLECT
                .iter()
                .any(|(p, r, _)| s.query.starts_with(p) && why == *r);
            assert!(listed, "unlisted collect exclusion {why:?}: {}", s.query);
            continue;
        }
        kept += 1;
        let r = parse_statement(&s, catalog);
        match &r {
            Ok(shape) => shapes.push(shape.clone()),
            Err(e) => {
                let listed = SKIPPED_BY_PARSE
                    .iter()
                    .any(|(p, reason, _)| s.query.starts_with(p) && e.reason == *reason);
                assert!(listed, "unlisted skip {e:?}: {}", s.query);
            }
        }
        entries.push(ShapeEntry::new(s.queryid, &s.query, &r));
    }
    (shapes, entries, kept)
}

#[test]
fn real_django_corpus_parses() {
    let catalog = corpus_catalog();
    let mut used_skips = vec![false; SKIPPED_BY_PARSE.len()];
    for (name, corpus) in corpora() {
        let n = corpus.statements.len();
        assert!(n >= 150, "{name}: only {n} statements");
        assert!(
            !corpus.django.is_empty() && !corpus.python.is_empty(),
            "{name}: Django and Python versions recorded"
        );
        let mut ids: Vec<i64> = corpus.statements.iter().map(|s| s.queryid).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "{name}: one entry per queryid");
        let (shapes, entries, kept) = run(&corpus, &catalog);
        let rate = shapes.len() as f64 / kept as f64;
        assert!(
            rate >= 0.97,
            "{name}: {} of {kept} statements parsed",
            shapes.len()
        );
        for e in &entries {
            if let Some(skip) = &e.skipped {
                if let Some(k) = SKIPPED_BY_PARSE.iter().position(|(p, r, _)| {
                    e.text.starts_with(p) && skip.starts_with(&format!("{r:?}:"))
                }) {
                    used_skips[k] = true;
                }
            }
        }
        // Every pg_stat_statements entry is accounted for.
        assert_eq!(
            entries.len() + (n - kept),
            n,
            "{name}: every statement accounted for"
        );
        insta::assert_yaml_snapshot!(format!("{name}_shapes"), entries);
        let set = generate(&shapes, &catalog);
        assert!(
            set.candidates.len() >= 40,
            "{name}: only {} candidates",
            set.candidates.len()
        );
        insta::assert_yaml_snapshot!(format!("{name}_candidates"), set);
    }
    for (k, used) in used_skips.iter().enumerate() {
        assert!(
            used,
            "stale entry in SKIPPED_BY_PARSE: {:?}",
            SKIPPED_BY_PARSE[k]
        );
    }
}

/// Finds the one statement of the newest corpus whose text starts with `prefix` and contains
/// every one of `needles`, parsed.
fn newest_shape(prefix: &str, needles: &[&str]) -> QueryShape {
    let (_, corpus) = corpora().pop().expect("a corpus");
    let catalog = corpus_catalog();
    let found: Vec<Statement> = statements(&corpus)
        .into_iter()
        .filter(|s| s.query.starts_with(prefix) && needles.iter().all(|n| s.query.contains(n)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one statement like {prefix}… {needles:?}, found {}",
        found.len()
    );
    parse_statement(&found[0], &catalog).expect("a shape")
}

fn table<'a>(s: &'a QueryShape, name: &str) -> &'a TableAccess {
    s.tables
        .iter()
        .find(|t| t.table == name)
        .unwrap_or_else(|| panic!("expected table {name} in {:?}", s.tables))
}

#[test]
fn admin_changelist_search_is_or_of_upper_likes() {
    let s = newest_shape(
        "SELECT COUNT(*) AS \"__count\" FROM \"accounts_user\"",
        &["UPPER(\"accounts_user\".\"username\"::text) LIKE UPPER($1)"],
    );
    // An OR of four columns: no conjunctive fact a single B-tree could serve, but each
    // parameter is typed by the column it is matched against.
    let u = table(&s, "accounts_user");
    assert!(u.likes.is_empty() && u.equality.is_empty(), "{u:?}");
    let cols: Vec<&str> = s
        .params
        .iter()
        .filter_map(|p| p.column.as_deref())
        .collect();
    assert_eq!(cols, ["username", "first_name", "last_name", "email"]);
    assert!(s.params.iter().all(|p| p.op == ParamOp::Like));
}

#[test]
fn soft_deleted_manager_and_prefetch_in_lists() {
    // The default manager adds `deleted_at IS NULL` to every issue query.
    let s = newest_shape(
        "SELECT \"tracker_issue\".\"id\", ",
        &[
            "\"tracker_issue\".\"project_id\" IN ($1, $2)",
            "deleted_at\" IS NULL",
        ],
    );
    let t = table(&s, "tracker_issue");
    assert_eq!(t.equality, vec!["project_id"]);
    assert_eq!(t.null_tests, vec![("deleted_at".to_string(), true)]);
}

#[test]
fn iterator_cursor_query_is_parsed() {
    // `.iterator()` sends its SELECT only inside `DECLARE … CURSOR WITH HOLD FOR …`.
    let s = newest_shape("DECLARE \"_django_curs_", &[]);
    assert!(s
        .plan_text
        .starts_with("SELECT \"tracker_comments\".\"id\""));
    let c = table(&s, "tracker_comments");
    assert_eq!(c.booleans, vec![("is_internal".to_string(), true)]);
    assert_eq!(
        crate::parse::stable_cursor_names(
            r#"DECLARE "_django_curs_1403_sync_1" CURSOR FOR SELECT 1"#
        ),
        r#"DECLARE "_django_curs_N_sync_1" CURSOR FOR SELECT 1"#
    );
}

#[test]
fn f_expression_arithmetic_parameter_is_not_a_column_value() {
    // `updated_at__gt=F("created_at") + timedelta(hours=1)`: `$1` is an interval, not a
    // created_at value; binding a timestamp to it made the what-if plan fail.
    let s = newest_shape(
        "SELECT \"tracker_issue\".\"id\", ",
        &["\"updated_at\" > (\"tracker_issue\".\"created_at\" + $1::interval)"],
    );
    assert_eq!(s.params[0].param, 1);
    assert_eq!(s.params[0].column, None);
    assert_eq!(s.params[0].op, ParamOp::Other);
    // The column-to-column comparison is still seen on the table.
    assert!(table(&s, "tracker_issue")
        .columns_read
        .contains(&"updated_at".to_string()));
}

#[test]
fn json_key_lookup_and_db_table_override() {
    let s = newest_shape("SELECT \"audit_log\".\"id\"", &["\"payload\" ->> $1"]);
    assert_eq!(s.tables.len(), 1);
    assert_eq!(s.tables[0].table, "audit_log");
    let s = newest_shape(
        "SELECT \"tracker_comments\".\"id\", ",
        &["WHERE \"tracker_comments\".\"issue_id\" = $1 ORDER BY"],
    );
    let c = table(&s, "tracker_comments");
    assert_eq!(c.equality, vec!["issue_id"]);
    assert_eq!(c.order_by[0].column, "created_at");
}
