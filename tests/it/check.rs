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

/// The finding of `check --format json` with this id, if any.
fn check_finding(url: &str, id: &str) -> Option<serde_json::Value> {
    let run = idxadvise(&["check", "--database-url", url, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("check json: {e}\n{}\n{}", run.stdout, run.stderr));
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
}

/// `migrate`'s long DDL in pg_stat_statements is no statement idxadvise analyses: with a
/// short workload under the default 1 kB `track_activity_query_size` there is no warning; a
/// long SELECT still warns.
#[test]
fn track_activity_query_size_ignores_migrate_ddl_but_not_a_long_select() {
    let c = cluster();
    let db = c.create_database("check_activity_ddl");
    crate::support::reset_statements(c, &db);
    let size: usize = c
        .psql(&db, "SHOW track_activity_query_size")
        .trim()
        .trim_end_matches("kB")
        .parse::<usize>()
        .expect("size in kB")
        * 1024;
    // A CREATE TABLE as long as Django's for a wide model, longer than the setting.
    let mut ddl = "CREATE TABLE \"shop_wide\" (\"id\" bigint NOT NULL PRIMARY KEY".to_string();
    let mut i = 0;
    while ddl.len() < size + 500 {
        ddl.push_str(&format!(", \"column_number_{i}\" varchar(200) NULL"));
        i += 1;
    }
    ddl.push(')');
    c.psql(&db, &ddl);
    for n in 0..3 {
        c.psql(
            &db,
            &format!("SELECT \"shop_wide\".\"id\" FROM \"shop_wide\" WHERE \"shop_wide\".\"column_number_0\" = 'v{n}'"),
        );
    }
    let logged = c.psql(
        &db,
        "SELECT max(octet_length(query)) FROM pg_stat_statements WHERE query LIKE 'CREATE TABLE%'",
    );
    assert!(
        logged.trim().parse::<usize>().expect("length") >= size,
        "the DDL is in pg_stat_statements, longer than the setting: {logged}"
    );
    let url = c.url(&db);
    assert!(
        check_finding(&url, "activity_text_cut").is_none(),
        "no warning for DDL"
    );
    let fits = check_finding(&url, "activity_text_fits").expect("the fits finding");
    assert!(
        fits["what"]
            .as_str()
            .unwrap_or("")
            .contains("(1 statements,"),
        "only the SELECT is counted: {fits}"
    );

    // A long SELECT (many columns, as Django lists them) still warns.
    let mut select = "SELECT \"shop_wide\".\"id\"".to_string();
    let mut k = 0;
    while select.len() < size + 200 {
        select.push_str(&format!(", \"shop_wide\".\"column_number_{}\"", k % i));
        k += 1;
    }
    select.push_str(" FROM \"shop_wide\" WHERE \"shop_wide\".\"id\" = 1");
    c.psql(&db, &select);
    let cut = check_finding(&url, "activity_text_cut").expect("a long SELECT warns");
    assert_eq!(cut["level"], "warning", "{cut}");
    assert!(
        cut["what"]
            .as_str()
            .unwrap_or("")
            .starts_with("1 of the 2 statements idxadvise analyses"),
        "{cut}"
    );
}

/// pg_qualstats is optional: on the test cluster (not preloaded) `check` says what it brings
/// and how to enable it, as information, and stays ready.
#[test]
fn check_mentions_pg_qualstats_as_information() {
    let c = cluster();
    let db = c.create_database("check_qualstats");
    let url = c.url(&db);
    let q = check_finding(&url, "qualstats").expect("a pg_qualstats finding");
    assert_eq!(q["level"], "info", "{q}");
    let what = q["what"].as_str().unwrap_or("");
    assert!(what.contains("(optional)"), "{what}");
    assert!(
        what.contains("parameter values that activity sampling misses"),
        "{what}"
    );
    let fix = q["fix"].as_str().unwrap_or("");
    assert!(
        fix.contains("shared_preload_libraries = 'pg_stat_statements,pg_qualstats'")
            && fix.ends_with("CREATE EXTENSION pg_qualstats;"),
        "{fix}"
    );
    let run = idxadvise(&["check", "--database-url", &url]);
    assert_eq!(run.code, 0, "still ready: {}", run.stdout);
    assert!(
        run.stdout.contains("info     pg_qualstats "),
        "{}",
        run.stdout
    );
}

/// Review 4 (G6): the cache advice asks for `pg_prewarm`; `check` says whether the server
/// offers it and whether it is created, as information. PostgreSQL's contrib modules ship it
/// with every server the suite runs, so it is offered; created in one database, it is "ok"
/// there and still "info" in another.
#[test]
fn check_says_whether_pg_prewarm_is_created_as_information() {
    let c = cluster();
    let db = c.create_database("check_prewarm");
    let url = c.url(&db);
    let p = check_finding(&url, "prewarm").expect("a pg_prewarm finding");
    assert_eq!(p["level"], "info", "{p}");
    let what = p["what"].as_str().unwrap_or("");
    assert!(
        what.starts_with("pg_prewarm ")
            && what.contains("is offered by this server but not created in database")
            && what.contains("(optional)"),
        "{what}"
    );
    assert_eq!(p["fix"], "CREATE EXTENSION pg_prewarm;", "{p}");
    let run = idxadvise(&["check", "--database-url", &url]);
    assert_eq!(run.code, 0, "still ready: {}", run.stdout);

    let created = c.create_database("check_prewarm_created");
    c.psql(&created, "CREATE EXTENSION pg_prewarm");
    let p = check_finding(&c.url(&created), "prewarm").expect("a pg_prewarm finding");
    assert_eq!(p["level"], "ok", "{p}");
    assert!(
        p["what"]
            .as_str()
            .is_some_and(|w| w.starts_with("pg_prewarm ")
                && w.contains(" created: SELECT pg_prewarm('<index>')")),
        "{p}"
    );
}
