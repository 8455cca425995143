//! Bad input and faults: each gives one clear error line, the documented exit code, no panic,
//! no partial snapshot, and never a password.

use std::sync::OnceLock;

use idxadvise::error::{EXIT_CONNECT, EXIT_OUTPUT, EXIT_USAGE, EXIT_WORKLOAD};

use crate::cli::idxadvise;
use crate::support::{cluster, free_port, Cluster, ClusterOptions};

/// A second cluster without pg_stat_statements preloaded (created, not loaded) and without
/// HypoPG, where role `pwuser` must log in with a password (scram-sha-256).
pub fn bare() -> &'static Cluster {
    static BARE: OnceLock<Cluster> = OnceLock::new();
    BARE.get_or_init(|| {
        let c = Cluster::start_with(&ClusterOptions {
            preload_pg_stat_statements: false,
            extensions_sql: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;".into(),
            hba_first: "host all pwuser 127.0.0.1/32 scram-sha-256".into(),
            ..ClusterOptions::default()
        });
        c.psql(
            "postgres",
            "SET password_encryption = 'scram-sha-256'; CREATE ROLE pwuser LOGIN PASSWORD 'right-horse-battery'",
        );
        c
    })
}

fn collect_to(url: &str) -> (crate::cli::Run, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("snap.json");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        url,
        "-o",
        p.to_str().expect("path"),
    ]);
    (run, dir, p)
}

#[test]
fn refused_connection() {
    let port = free_port();
    let (run, _d, p) = collect_to(&format!(
        "postgres://postgres@127.0.0.1:{port}/x?sslmode=disable"
    ));
    run.assert_error(
        EXIT_CONNECT,
        &[
            "cannot connect to postgres@127.0.0.1:",
            "refused",
            "is the server running",
        ],
    );
    assert!(!p.exists());
    let run = idxadvise(&[
        "check",
        "--database-url",
        &format!("postgres://127.0.0.1:{port}/x"),
    ]);
    run.assert_error(EXIT_CONNECT, &["refused"]);
}

#[test]
fn unreachable_host() {
    // TEST-NET-1: never routed; the connect timeout ends the attempt.
    let (run, _d, p) =
        collect_to("postgres://postgres@192.0.2.1:5439/x?sslmode=disable&connect_timeout=1");
    run.assert_error(
        EXIT_CONNECT,
        &["cannot connect to postgres@192.0.2.1:5439/x"],
    );
    assert!(!p.exists());
}

#[test]
fn wrong_password_is_named_and_never_printed() {
    let b = bare();
    let url = format!(
        "postgres://pwuser:wrong-pony-staple@127.0.0.1:{}/postgres?sslmode=disable",
        b.port
    );
    let (run, _d, p) = collect_to(&url);
    run.assert_error(
        EXIT_CONNECT,
        &[
            "password authentication failed for user \"pwuser\"",
            "check the password",
        ],
    );
    assert!(!run.stderr.contains("wrong-pony-staple"), "{}", run.stderr);
    assert!(!p.exists());
    // The right password gets in (and is never printed either).
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url.replace("wrong-pony-staple", "right-horse-battery"),
    ]);
    assert!(
        run.stdout.starts_with("idxadvise check: pwuser@127.0.0.1"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        !run.stdout.contains("right-horse-battery") && !run.stderr.contains("right-horse-battery")
    );
}

#[test]
fn missing_database() {
    let c = cluster();
    let (run, _d, p) = collect_to(&c.url("no_such_db"));
    run.assert_error(
        EXIT_CONNECT,
        &[
            "database \"no_such_db\" does not exist",
            "check the database name",
        ],
    );
    assert!(!p.exists());
}

#[test]
fn tls_required_but_not_offered() {
    let c = cluster();
    let url = c
        .url("postgres")
        .replace("sslmode=disable", "sslmode=require");
    let (run, _d, p) = collect_to(&url);
    run.assert_error(EXIT_CONNECT, &["TLS", "sslmode"]);
    assert!(!p.exists());
}

#[test]
fn malformed_urls_and_arguments() {
    let (run, _d, p) = collect_to("postgres://u:pw-in-url@127.0.0.1:notaport/db");
    run.assert_error(EXIT_USAGE, &["invalid connection string"]);
    assert!(!run.stderr.contains("pw-in-url"), "{}", run.stderr);
    assert!(!p.exists());
    let run = idxadvise(&[
        "collect",
        "--database-url",
        "postgres://h/db?sslmode=sometimes",
    ]);
    run.assert_error(EXIT_USAGE, &["invalid sslmode \"sometimes\""]);
    let run = idxadvise(&[
        "collect",
        "--database-url",
        "postgres://h/db",
        "--top-share",
        "1.5",
    ]);
    run.assert_error(EXIT_USAGE, &["--top-share 1.5"]);
    let run = idxadvise(&[
        "check",
        "--database-url",
        "postgres://h/db",
        "--format",
        "yaml",
    ]);
    run.assert_error(EXIT_USAGE, &["invalid --format \"yaml\""]);
    let run = idxadvise(&["collect", "--statement-timeout", "soon"]);
    run.assert_error(EXIT_USAGE, &["invalid duration"]);
}

#[test]
fn empty_workload_writes_nothing() {
    let c = cluster();
    let db = c.create_database("faults_empty");
    crate::support::reset_statements(c, &db);
    let (run, _d, p) = collect_to(&c.url(&db));
    run.assert_error(
        EXIT_WORKLOAD,
        &[&format!("no statements to analyse in database \"{db}\"")],
    );
    assert!(!p.exists());
}

#[test]
fn unwritable_output() {
    let c = cluster();
    let db = crate::support::example_database("faults_output");
    crate::support::replay_workload(&db);
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &c.url(&db),
        "-o",
        "/nonexistent-dir/snap.json",
    ]);
    run.assert_error(EXIT_OUTPUT, &["cannot write", "/nonexistent-dir/snap.json"]);
}
