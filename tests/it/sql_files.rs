//! Every statement in sql/ runs on the test cluster (PostgreSQL 15).
//!
//! How: each file is sent as it is with psql (they are all parameterless) in a copy of the
//! example database, unless its header's `min_server_version`/`max_server_version` excludes the
//! cluster's version (e.g. `workload_pre13.sql`); such files are listed and must be the only
//! ones skipped.

use crate::support::{cluster, example_database, repo_root};

fn header_version(text: &str, key: &str) -> Option<u32> {
    text.lines()
        .take_while(|l| l.starts_with("--"))
        .find_map(|l| l.strip_prefix(&format!("-- {key}: ")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn every_sql_file_runs_on_the_test_cluster() {
    let c = cluster();
    let db = example_database("sql_files");
    let version: u32 = c
        .psql(&db, "show server_version_num")
        .trim()
        .parse()
        .expect("version");
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join("sql"))
        .expect("sql/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut skipped = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        let min = header_version(&text, "min_server_version").expect("min_server_version header");
        let max = header_version(&text, "max_server_version").unwrap_or(u32::MAX);
        if version < min || version > max {
            skipped.push(name);
            continue;
        }
        // A file that needs an extension the test cluster does not preload runs in the test
        // of that extension (pg_qualstats: tests/it/observe.rs).
        if text
            .lines()
            .take_while(|l| l.starts_with("--"))
            .any(|l| l.starts_with("-- requires_extension: "))
        {
            skipped.push(name);
            continue;
        }
        let out = c.psql(&db, &text);
        if [
            "tables.sql",
            "columns.sql",
            "indexes.sql",
            "constraints.sql",
            "column_stats.sql",
            "write_stats.sql",
            "server.sql",
            "check_settings.sql",
        ]
        .contains(&name.as_str())
        {
            assert!(!out.trim().is_empty(), "{name} returned nothing");
        }
    }
    assert_eq!(
        skipped,
        vec!["activity_pre14.sql", "qualstats.sql", "workload_pre13.sql"]
    );
}
