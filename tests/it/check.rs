//! `idxadvise check` on the test cluster: everything present; HypoPG dropped; pg_stat_statements
//! not preloaded; a role without pg_monitor. (The standby case is in `collect.rs`.)

use crate::cli::idxadvise;
use crate::support::cluster;

#[test]
fn check_reports_everything_present() {
    let c = cluster();
    let db = c.create_database("check_ok");
    let run = idxadvise(&["check", "--database-url", &c.url(&db)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(
        out.starts_with("idxadvise check: postgres@127.0.0.1:"),
        "{out}"
    );
    let major = crate::support::pg_major();
    assert!(
        out.contains(&format!("ok       PostgreSQL {major}.")),
        "{out}"
    );
    assert!(out.contains("on a primary"), "{out}");
    // pg_stat_statements' version follows the server: 1.10 on 15, 1.11 on 17, 1.12 on 18.
    let pgss = match major {
        15 => "1.10",
        17 => "1.11",
        _ => "1.12",
    };
    assert!(
        out.contains(&format!(
            "pg_stat_statements {pgss} loaded and created, track = all"
        )),
        "{out}"
    );
    assert!(out.contains("HypoPG 1."), "{out}");
    assert!(out.contains("is a superuser"), "{out}");
    assert!(out.contains("info     pg_stat_statements holds "), "{out}");
    assert!(!out.contains("MISSING"), "{out}");
    assert!(
        out.contains("\nready: everything idxadvise needs is present"),
        "{out}"
    );

    let run = idxadvise(&["check", "--database-url", &c.url(&db), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v["ready"], true);
    assert_eq!(v["server"]["database"], db.as_str());
    assert!(v["findings"].as_array().expect("findings").len() >= 4);
    assert!(v["findings"][0]["what"]
        .as_str()
        .expect("what")
        .starts_with(&format!("PostgreSQL {major}")));
}

#[test]
fn check_without_hypopg_names_it_and_the_fix() {
    let c = cluster();
    let db = c.create_database("check_no_hypopg");
    c.psql(&db, "DROP EXTENSION hypopg");
    let run = idxadvise(&["check", "--database-url", &c.url(&db)]);
    assert_eq!(
        run.code,
        idxadvise::error::EXIT_PREREQUISITE,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "MISSING  HypoPG is not installed in database \"{db}\": candidate indexes cannot be simulated\n         fix: CREATE EXTENSION hypopg;\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("not ready: 1 missing piece"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_without_preloaded_pg_stat_statements() {
    let b = crate::faults::bare();
    let db = b.create_database("check_no_preload");
    let run = idxadvise(&["check", "--database-url", &b.url(&db)]);
    assert_eq!(
        run.code,
        idxadvise::error::EXIT_PREREQUISITE,
        "{}",
        run.stdout
    );
    let out = &run.stdout;
    assert!(
        out.contains("MISSING  pg_stat_statements is not loaded (shared_preload_libraries = '')"),
        "{out}"
    );
    assert!(
        out.contains("fix: in postgresql.conf: shared_preload_libraries = 'pg_stat_statements', then restart the server"),
        "{out}"
    );
    assert!(out.contains("MISSING  HypoPG is not installed"), "{out}");
    assert!(out.contains("not ready: 2 missing pieces"), "{out}");

    // collect says the same in one line, and writes nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("snap.json");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &b.url(&db),
        "-o",
        p.to_str().expect("path"),
    ]);
    run.assert_error(
        idxadvise::error::EXIT_PREREQUISITE,
        &[
            "pg_stat_statements is not loaded",
            "shared_preload_libraries",
        ],
    );
    assert!(!p.exists());
}

#[test]
fn role_without_pg_monitor_sees_insufficient_privilege() {
    let c = cluster();
    let db = c.create_database("check_lowpriv");
    c.psql(
        &db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lowpriv') THEN CREATE ROLE lowpriv LOGIN; END IF; END $$",
    );
    c.psql(
        &db,
        "CREATE TABLE secret(x int); SELECT * FROM secret WHERE x = 1",
    );
    let url = c.url(&db).replace("postgres@", "lowpriv@");
    let run = idxadvise(&["check", "--database-url", &url]);
    assert_eq!(
        run.code,
        idxadvise::error::EXIT_PREREQUISITE,
        "{}",
        run.stdout
    );
    let out = &run.stdout;
    assert!(
        out.contains("fix: GRANT pg_monitor TO \"lowpriv\";"),
        "{out}"
    );
    assert!(
        out.contains("cannot SELECT from 1 tables (e.g. public.secret)"),
        "{out}"
    );
    assert!(
        out.contains("fix: GRANT pg_read_all_data TO \"lowpriv\";"),
        "{out}"
    );
    assert!(
        out.contains("fix: GRANT SET ON PARAMETER pg_stat_statements.track TO \"lowpriv\";"),
        "{out}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("snap.json");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &url,
        "-o",
        p.to_str().expect("path"),
    ]);
    run.assert_error(
        idxadvise::error::EXIT_PREREQUISITE,
        &["<insufficient privilege>", "GRANT pg_monitor TO"],
    );
    assert!(!p.exists(), "no snapshot");
}

/// `check` ends its sessions the way a client should (a Terminate message), so a preflight
/// leaves no "connection to client lost" or "connection reset by peer" in the server's log: on
/// a monitored server that reads as an incident. Its own cluster, so no other test's sessions
/// are in the log.
#[test]
fn check_closes_its_sessions_cleanly() {
    let c = crate::support::Cluster::start_primary("log_disconnections = on");
    c.psql(
        "postgres",
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg",
    );
    for args in [&["check"][..], &["check", "--format", "json"][..]] {
        let mut a: Vec<&str> = args.to_vec();
        let url = c.url("postgres");
        a.extend(["--database-url", &url]);
        let run = idxadvise(&a);
        assert!(matches!(run.code, 0 | 3), "{}\n{}", run.stdout, run.stderr);
    }
    // The server logs a disconnection once the backend has gone: wait for both sessions.
    let log_path = c.data.join("server.log");
    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.matches("disconnection: session time").count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    c.stop();
    assert!(
        log.matches("disconnection: session time").count() >= 2,
        "both sessions ended: {log}"
    );
    for bad in [
        "connection to client lost",
        "Connection reset by peer",
        "Broken pipe",
        "unexpected EOF on client connection",
    ] {
        assert!(!log.contains(bad), "{bad} in the server log:\n{log}");
    }
}
