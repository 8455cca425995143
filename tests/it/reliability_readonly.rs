//! The database is never changed: every command runs on a hot standby (where any write would
//! fail), and on a primary an event trigger recording DDL, the table write counters and
//! pg_stat_statements show that idxadvise issued no DDL, no DML and left no statement behind
//! (`check` excepted: see [`check_leaves_only_its_marked_probes`]).

use crate::cli::{idxadvise, Run};
use crate::support::{cluster, example_database, replay_workload, reset_statements, Cluster};

const ORDERS_QUERY: &str = "SELECT \"shop_order\".\"id\", \"shop_order\".\"status\" FROM \"shop_order\" WHERE (\"shop_order\".\"customer_id\" = 42 AND \"shop_order\".\"deleted_at\" IS NULL) ORDER BY \"shop_order\".\"created_at\" DESC LIMIT 20";

/// Every command against `url`; returns the runs (check, collect, analyze, explain).
fn every_command(url: &str, extra: &[&str]) -> Vec<(&'static str, Run)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    let out = dir.path().join("out");
    fn args<'a>(mut v: Vec<&'a str>, extra: &[&'a str]) -> Vec<&'a str> {
        v.extend_from_slice(extra);
        v
    }
    vec![
        (
            "check",
            idxadvise(&args(vec!["check", "--database-url", url], extra)),
        ),
        (
            "collect",
            idxadvise(&args(vec![
                "collect",
                "--database-url",
                url,
                "-o",
                snap.to_str().expect("path"),
            ], extra)),
        ),
        (
            "analyze",
            idxadvise(&args(vec![
                "analyze",
                "--database-url",
                url,
                "--out",
                out.to_str().expect("path"),
                "--quiet",
            ], extra)),
        ),
        (
            "explain",
            idxadvise(&args(vec![
                "explain",
                "--database-url",
                url,
                "--quiet",
                "SELECT id FROM shop_order WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
            ], extra)),
        ),
    ]
}

#[test]
fn every_command_runs_on_a_hot_standby() {
    let c = cluster();
    let db = example_database("reliability_standby");
    let s = c.start_standby();
    c.wait_replayed(&s);
    reset_statements(&s, &db);
    for _ in 0..5 {
        s.psql(&db, ORDERS_QUERY);
    }
    let runs = every_command(&s.url(&db), &["--primary-url", &c.url(&db)]);
    for (cmd, run) in &runs {
        let ok = match *cmd {
            "analyze" | "explain" => run.code == 0 || run.code == 1,
            _ => run.code == 0,
        };
        assert!(
            ok,
            "{cmd} on the standby: exit {}\n{}\n{}",
            run.code, run.stdout, run.stderr
        );
    }
    assert!(
        runs[2].1.code == 1,
        "analyze on the standby recommends the orders index: {}",
        runs[2].1.stdout
    );
    s.stop();
}

fn counters(c: &Cluster, db: &str) -> String {
    c.psql(
        db,
        "SELECT string_agg(relname || ':' || n_tup_ins || '/' || n_tup_upd || '/' || n_tup_del || '/' || n_tup_hot_upd, ',' ORDER BY relname) FROM pg_stat_user_tables",
    )
}

/// The texts pg_stat_statements holds for `db` (read from another database).
fn entries(c: &Cluster, db: &str) -> Vec<String> {
    let out = c.psql(
        "postgres",
        &format!(
            "SELECT regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{db}' ORDER BY 1"
        ),
    );
    out.lines()
        .map(String::from)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn no_ddl_no_dml_no_statements_left_on_a_primary() {
    let c = cluster();
    let db = example_database("reliability_primary_untouched");
    c.psql(
        &db,
        "CREATE TABLE ddl_log (at timestamptz DEFAULT now(), tag text, app text);
         CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO ddl_log (tag, app) VALUES (tg_tag, current_setting('application_name')); END $$;
         CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION log_ddl();",
    );
    // The trigger works: a DDL statement is logged.
    c.psql(&db, "CREATE TABLE probe (x int); DROP TABLE probe");
    assert_eq!(c.psql(&db, "SELECT count(*) FROM ddl_log").trim(), "2");
    c.psql(&db, "TRUNCATE ddl_log");
    replay_workload(&db);
    // Let the replay's counters settle (psql sessions have ended), then read them.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let before = counters(c, &db);
    reset_statements(c, &db);

    let url = c.url(&db);
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    // collect has a workload to read only before the reset; give it the replayed one again.
    let runs: Vec<(&str, Run)> = {
        let mut v = vec![];
        // analyze and explain read the catalog and plan; the snapshot path needs a workload.
        c.psql(&db, ORDERS_QUERY);
        let run = idxadvise(&[
            "collect",
            "--database-url",
            &url,
            "-o",
            snap.to_str().expect("path"),
        ]);
        v.push(("collect", run));
        let run = idxadvise(&[
            "analyze",
            "--database-url",
            &url,
            "--out",
            dir.path().join("out").to_str().expect("path"),
            "--quiet",
        ]);
        v.push(("analyze", run));
        let run = idxadvise(&[
            "analyze",
            "--database-url",
            &url,
            "--snapshot",
            snap.to_str().expect("path"),
            "--out",
            dir.path().join("out2").to_str().expect("path"),
            "--quiet",
        ]);
        v.push(("analyze --snapshot", run));
        let run = idxadvise(&[
            "explain",
            "--database-url",
            &url,
            "--quiet",
            "SELECT id FROM shop_order WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
        ]);
        v.push(("explain", run));
        v
    };
    for (cmd, run) in &runs {
        assert!(
            run.code == 0 || run.code == 1,
            "{cmd}: {}\n{}",
            run.code,
            run.stderr
        );
    }
    // No statement of idxadvise is left in pg_stat_statements: only the one the test sent.
    let left = entries(c, &db);
    assert_eq!(left.len(), 1, "{left:#?}");
    assert!(
        left[0].starts_with("SELECT \"shop_order\".\"id\""),
        "{left:?}"
    );
    // No DDL.
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM ddl_log").trim(),
        "0",
        "{}",
        c.psql(&db, "SELECT tag, app FROM ddl_log")
    );
    // No DML: the write counters of every table are unchanged (the ORDERS_QUERY is a read).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(counters(c, &db), before);
    c.psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
}

/// `check` proves pg_stat_statements records statements by sending a few probes marked
/// `-- idxadvise:` and `/* idxadvise */` (PostgreSQL 18 keeps only the second, the text from
/// the first keyword on); it leaves those and nothing else. `collect`, `analyze` and `explain` leave
/// nothing (previous test).
#[test]
fn check_leaves_only_its_marked_probes() {
    let c = cluster();
    let db = c.create_database("reliability_check_probes");
    reset_statements(c, &db);
    let run = idxadvise(&["check", "--database-url", &c.url(&db)]);
    assert!(run.code == 0 || run.code == 4, "{}", run.stderr);
    let left = entries(c, &db);
    eprintln!("check leaves: {left:#?}");
    for q in &left {
        assert!(idxadvise::collect::sql::is_ours(q), "{q}");
        if crate::support::pg_major() >= 18 {
            assert!(q.starts_with("SELECT /* idxadvise */"), "{q}");
        } else {
            assert!(q.starts_with("-- idxadvise:"), "{q}");
        }
    }
}
