//! Credentials: a password given in the URL never appears in stdout, stderr, the snapshot or any
//! output file (report.json, report.md, indexes.sql, plan diffs), also when a run fails; a
//! `~/.pgpass` is honoured. (TLS verify-full: tests/it/tls.rs.)

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::cli::{idxadvise, Run};
use crate::support::{Cluster, ClusterOptions};

const PASSWORD: &str = "Sw0rdf1sh-Ch4rge-Zebra";

/// A cluster where role `secretive` must log in with a scram-sha-256 password, with the
/// privileges idxadvise asks for, and a database with a workload.
fn scram() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let c = Cluster::start_with(&ClusterOptions {
            hba_first: "host all secretive 127.0.0.1/32 scram-sha-256".into(),
            ..ClusterOptions::default()
        });
        c.psql(
            "postgres",
            &format!(
                "SET password_encryption = 'scram-sha-256'; CREATE ROLE secretive LOGIN PASSWORD '{PASSWORD}';
                 GRANT pg_monitor, pg_read_all_data TO secretive;
                 GRANT SET ON PARAMETER pg_stat_statements.track TO secretive;"
            ),
        );
        c.psql("postgres", "CREATE DATABASE app");
        c.psql(
            "app",
            "CREATE TABLE account (id bigserial PRIMARY KEY, email text NOT NULL, team int NOT NULL);
             INSERT INTO account (email, team) SELECT 'u' || g || '@x.org', g % 300 FROM generate_series(1, 100000) g;",
        );
        c.psql("app", "VACUUM ANALYZE account");
        // The data load is not the workload (its 100,000 inserted rows in a few seconds would
        // rightly make any index too expensive to maintain).
        c.psql("app", "SELECT pg_stat_statements_reset()");
        for t in 0..20 {
            c.psql(
                "app",
                &format!("SELECT id, email FROM account WHERE team = {t} ORDER BY email LIMIT 10"),
            );
        }
        c
    })
}

/// Every file under `dir` and its text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned(),
                ));
            }
        }
    }
    out
}

fn assert_no_password(what: &str, run: &Run) {
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "{what} printed the password:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn passwords_never_appear_in_output_logs_reports_or_snapshots() {
    let c = scram();
    let url = format!(
        "postgres://secretive:{PASSWORD}@127.0.0.1:{}/app?sslmode=disable",
        c.port
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    let out = dir.path().join("out");
    let conninfo = format!(
        "host=127.0.0.1 port={} dbname=app user=secretive password='{PASSWORD}' sslmode=disable",
        c.port
    );
    let runs = [
        ("check", idxadvise(&["check", "--database-url", &url])),
        (
            "collect",
            idxadvise(&[
                "collect",
                "--database-url",
                &url,
                "-o",
                snap.to_str().expect("path"),
            ]),
        ),
        (
            "analyze",
            idxadvise(&[
                "analyze",
                "--database-url",
                &url,
                "--out",
                out.to_str().expect("path"),
            ]),
        ),
        (
            "analyze --snapshot (conninfo)",
            idxadvise(&[
                "analyze",
                "--database-url",
                &conninfo,
                "--snapshot",
                snap.to_str().expect("path"),
                "--format",
                "json",
                "--out",
                dir.path().join("out2").to_str().expect("path"),
            ]),
        ),
        (
            "explain",
            idxadvise(&[
                "explain",
                "--database-url",
                &url,
                "SELECT id FROM account WHERE team = $1 ORDER BY email LIMIT 10",
            ]),
        ),
    ];
    for (what, run) in &runs {
        assert!(
            run.code == 0 || run.code == 1,
            "{what}: {}\n{}",
            run.code,
            run.stderr
        );
        assert_no_password(what, run);
    }
    assert!(
        runs[2].1.code == 1,
        "analyze recommends an index: {}",
        runs[2].1.stdout
    );
    let written = files(dir.path());
    assert!(written.iter().any(|(p, _)| p.ends_with("report.json")));
    assert!(written.iter().any(|(p, _)| p.ends_with("snap.json")));
    for (path, text) in &written {
        assert!(!text.contains(PASSWORD), "{path} holds the password");
    }
    // Failing runs: unknown database, a bad flag, an output folder that cannot be written.
    let fails = [
        idxadvise(&["collect", "--database-url", &url.replace("/app?", "/nodb?")]),
        idxadvise(&[
            "analyze",
            "--database-url",
            &url,
            "--format",
            "yaml",
            "--out",
            dir.path().join("out3").to_str().expect("path"),
        ]),
        idxadvise(&[
            "analyze",
            "--database-url",
            &url,
            "--out",
            snap.join("under-a-file").to_str().expect("path"),
        ]),
        idxadvise(&[
            "check",
            "--database-url",
            &url.replace("secretive:", "nobody:"),
        ]),
    ];
    for run in &fails {
        assert!(run.code > 1, "{}", run.stderr);
        assert_no_password("a failing run", run);
    }
}

#[test]
fn pgpass_is_honoured() {
    let c = scram();
    let home = tempfile::tempdir().expect("home");
    let pgpass = home.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:secretive:{PASSWORD}\n", c.port),
    )
    .expect("write .pgpass");
    let chmod = |mode: &str| {
        Command::new("chmod")
            .arg(mode)
            .arg(&pgpass)
            .status()
            .expect("chmod");
    };
    chmod("600");
    let url = format!(
        "postgres://secretive@127.0.0.1:{}/app?sslmode=disable",
        c.port
    );
    let run_home = || {
        let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
            .args(["check", "--database-url", &url])
            .env("HOME", home.path())
            .env_remove("PGPASSFILE")
            .env_remove("PGPASSWORD")
            .env_remove("DATABASE_URL")
            .output()
            .expect("run");
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    let run = run_home();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_no_password("check with .pgpass", &run);
    // Without the file the password is missing: the .pgpass was what let it in.
    std::fs::remove_file(&pgpass).expect("rm");
    let run = run_home();
    run.assert_error(idxadvise::error::EXIT_CONNECT, &["password"]);
}
