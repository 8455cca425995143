//! Hostile identifiers end to end through `idxadvise analyze`: a schema other than `public`,
//! tables and columns named with quotes, backslashes, spaces, `%`, newlines, unicode, reserved
//! words, mixed case and 63 bytes. The workload runs through psql (so pg_stat_statements holds
//! it), `analyze --out` writes `indexes.sql`, the script is applied to a copy of the database,
//! and each created index must be exactly the recommended one: nothing can escape a literal or
//! an identifier, nothing else is created.

use std::collections::BTreeMap;

use idxadvise::error::EXIT_RECOMMENDATIONS;
use idxadvise::pg::quote::{ident, literal};

use crate::cli::idxadvise;
use crate::support::{cluster, reset_statements};

const SCHEMA: &str = "Sales \"Dept\" 'Q'\\ 100%s";
const ORDERS: &str = "order";
const ITEMS: &str = "Line\nItems ü 🚀 'x'";
const USER: &str = "user";
const CREATED: &str = "Created At";
const ODD: &str = "it's \"odd\" \\ 100%";
/// 63 bytes: the longest name PostgreSQL keeps.
const LONG: &str = "A_Very_Long_Mixed_Case_Column_Name_That_Is_Exactly_63_Bytes_Lon";
const REF: &str = "Order\"Ref";

/// Split SQL text into tokens, turning every double-quoted identifier into `Ident(name)`.
fn requote(sql: &str, quote_ident: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        let mut name = String::new();
        loop {
            match chars.next() {
                Some('"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    name.push('"');
                }
                Some('"') | None => break,
                Some(ch) => name.push(ch),
            }
        }
        let q = quote_ident
            .get(&name)
            .unwrap_or_else(|| panic!("unexpected identifier {name:?} in {sql:?}"));
        out.push_str(q);
    }
    out
}

#[test]
fn hostile_identifiers_end_to_end_through_analyze() {
    assert_eq!(LONG.len(), 63);
    let c = cluster();
    let db = c.create_database("reliability_hostile_names");
    let (s, o, i) = (ident(SCHEMA), ident(ORDERS), ident(ITEMS));
    c.psql(
        &db,
        &format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.{o} (id bigserial PRIMARY KEY, {u} int NOT NULL, {ca} timestamptz NOT NULL, {odd} text NOT NULL);
             INSERT INTO {s}.{o} ({u}, {ca}, {odd})
               SELECT g % 2000, now() - g * interval '1 minute', CASE WHEN g % 500 = 0 THEN {odd_v} ELSE 'plain' END
               FROM generate_series(1, 200000) g;
             CREATE TABLE {s}.{i} (id bigserial PRIMARY KEY, {r} bigint NOT NULL, {long} text NOT NULL);
             INSERT INTO {s}.{i} ({r}, {long}) SELECT g % 40000, 'v' || (g % 997) FROM generate_series(1, 200000) g;",
            u = ident(USER),
            ca = ident(CREATED),
            odd = ident(ODD),
            odd_v = literal(ODD),
            r = ident(REF),
            long = ident(LONG),
        ),
    );
    c.psql(&db, &format!("VACUUM ANALYZE {s}.{o}"));
    c.psql(&db, &format!("VACUUM ANALYZE {s}.{i}"));
    reset_statements(c, &db);
    // The workload, as an application would send it (constants: pg_stat_statements turns them
    // into $n).
    let mut workload = String::new();
    for k in 0..30 {
        workload.push_str(&format!(
            "SELECT id, {ca} FROM {s}.{o} WHERE {u} = {k} ORDER BY {ca} DESC LIMIT 20;\n\
             SELECT count(*) FROM {s}.{o} WHERE {odd} = {odd_v};\n\
             SELECT id FROM {s}.{i} WHERE {r} = {k};\n\
             SELECT {r} FROM {s}.{i} WHERE {long} = 'v{k}';\n",
            ca = ident(CREATED),
            u = ident(USER),
            odd = ident(ODD),
            odd_v = literal(ODD),
            r = ident(REF),
            long = ident(LONG),
        ));
    }
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), workload).expect("write workload");
    c.psql_file(&db, file.path());

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &c.url(&db),
        "--out",
        out.to_str().expect("path"),
        "--quiet",
        "--max-per-table",
        "5",
        "--min-benefit",
        "0",
    ]);
    assert_eq!(
        run.code, EXIT_RECOMMENDATIONS,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    // Every statement on the hostile tables was understood and planned (none skipped).
    let skipped = report["workload"]["skipped"].as_array().expect("skipped");
    assert!(skipped.is_empty(), "{skipped:#?}");
    assert!(
        report["workload"]["analysed"].as_u64().expect("analysed") >= 4,
        "{}",
        report["workload"]
    );
    let indexes = report["indexes"].as_array().expect("indexes");
    let tables: Vec<&str> = indexes
        .iter()
        .map(|ix| ix["table"].as_str().expect("table"))
        .collect();
    assert!(
        tables.contains(&format!("{SCHEMA}.{ORDERS}").as_str())
            && tables.contains(&format!("{SCHEMA}.{ITEMS}").as_str()),
        "indexes on both hostile tables: {tables:?}"
    );

    // Apply indexes.sql to a copy (psql runs each CREATE INDEX CONCURRENTLY on its own,
    // outside a transaction block).
    let copy = c.create_database("reliability_hostile_names_copy");
    c.psql("postgres", &format!("DROP DATABASE {copy}"));
    c.psql("postgres", &format!("CREATE DATABASE {copy} TEMPLATE {db}"));
    let before: i64 = c
        .psql(&copy, "SELECT count(*) FROM pg_class WHERE relkind = 'i'")
        .trim()
        .parse()
        .expect("count");
    c.psql_file(&copy, &out.join("indexes.sql"));
    let after: i64 = c
        .psql(&copy, "SELECT count(*) FROM pg_class WHERE relkind = 'i'")
        .trim()
        .parse()
        .expect("count");
    assert_eq!(
        after - before,
        indexes.len() as i64,
        "exactly the recommended indexes are created, nothing else"
    );

    // Each created index is exactly the recommended one: its definition as the server prints it
    // (pg_get_indexdef, which quotes with quote_ident) equals the report's SQL with the same
    // quoting and without CONCURRENTLY.
    for ix in indexes {
        let name = ix["name"].as_str().expect("name");
        let sql = ix["sql"].as_str().expect("sql");
        assert!(sql.starts_with("CREATE INDEX CONCURRENTLY "), "{sql}");
        let def = c.psql(
            &copy,
            &format!(
                "SELECT pg_get_indexdef(x.indexrelid) || '|' || x.indisvalid FROM pg_index x JOIN pg_class ci ON ci.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = ci.relnamespace WHERE ci.relname = {} AND n.nspname = {}",
                literal(name),
                literal(SCHEMA)
            ),
        );
        let def = def.strip_suffix('\n').unwrap_or(&def);
        let (def, valid) = def.rsplit_once('|').expect("one index of that name");
        assert_eq!(valid, "true", "{name} is valid");
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for n in [
            SCHEMA, ORDERS, ITEMS, USER, CREATED, ODD, LONG, REF, name, "id",
        ] {
            let q = c.psql(&copy, &format!("SELECT quote_ident({})", literal(n)));
            names.insert(
                n.to_string(),
                q.strip_suffix('\n').unwrap_or(&q).to_string(),
            );
        }
        let expected = requote(&sql.replacen(" CONCURRENTLY", "", 1), &names);
        assert_eq!(def, expected, "index {name:?}");
    }
    let script = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    // Comments hold no raw newline or hostile text that could end them.
    for line in script.lines().filter(|l| l.starts_with("--")) {
        assert!(!line.contains('\r'), "{line:?}");
    }
    for d in [&db, &copy] {
        c.psql("postgres", &format!("DROP DATABASE {d} WITH (FORCE)"));
    }
}
