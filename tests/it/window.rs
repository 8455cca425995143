//! Issue 13: the observation window. Every test here runs real concurrent traffic (pgbench with
//! a custom script, or the example's replay) while idxadvise watches, and checks what the
//! window's deltas became: the workload, write rates, the primary's statements.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{
    bindir, cluster, example_database, replay_workload, replay_workload_again, Cluster,
};

/// A finished idxadvise run.
struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Start idxadvise with `args`; returns the child and a receiver that gets one message when the
/// window opens (the line printed after the first reading of the counters).
fn start(args: &[&str]) -> (Child, mpsc::Receiver<()>, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .env_remove("IDXADVISE_WINDOW")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start idxadvise");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("observing ") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (child, rx, reader)
}

/// Run `args` and, once the window is open, `during`; wait for the run to end.
fn watch_while(args: &[&str], during: impl FnOnce()) -> Finished {
    let (child, rx, reader) = start(args);
    rx.recv_timeout(Duration::from_secs(60))
        .expect("idxadvise opened its observation window");
    during();
    let out = child.wait_with_output().expect("wait for idxadvise");
    Finished {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: reader.join().unwrap_or_default(),
    }
}

/// pgbench's result: transactions processed and their rate (without connection time).
#[derive(Debug, Clone, Copy)]
struct Bench {
    transactions: f64,
    tps: f64,
}

/// Run pgbench with `script` against `db` on `c` for `seconds`, at most `rate` transactions/s.
fn pgbench(c: &Cluster, db: &str, script: &Path, seconds: u32, rate: u32) -> Bench {
    let out = Command::new(bindir().join("pgbench"))
        .args(["-n", "-h", "127.0.0.1", "-U", "postgres", "-c", "1"])
        .arg("-p")
        .arg(c.port.to_string())
        .arg("-f")
        .arg(script)
        .arg("-T")
        .arg(seconds.to_string())
        .arg("-R")
        .arg(rate.to_string())
        .arg(db)
        .output()
        .expect("run pgbench");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} in pgbench output:\n{text}"))
    };
    Bench {
        transactions: field("number of transactions actually processed:"),
        tps: field("tps ="),
    }
}

/// Wait until pgbench's session runs in `db` (its start can lag on a loaded machine; a fixed
/// pause assumed it never lagged longer than the pause). Asked from database `postgres`, so
/// that `db`'s pg_stat_statements holds only the traffic.
fn wait_for_pgbench(c: &Cluster, db: &str) {
    let started = std::time::Instant::now();
    while c
        .psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = '{db}'"
            ),
        )
        .trim()
        == "0"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "pgbench did not connect within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `collect --window 6` into `snap` while pgbench runs `script` on `db` for `seconds` at `rate`
/// transactions/s, started before the window opens; pgbench must outlast the window, so the
/// window sees the load throughout. Returns pgbench's own figures.
fn collect_during_pgbench(
    c: &'static Cluster,
    db: &str,
    script: &Path,
    seconds: u32,
    rate: u32,
    snap: &Path,
) -> Bench {
    let bench = {
        let (db, script) = (db.to_string(), script.to_path_buf());
        std::thread::spawn(move || pgbench(c, &db, &script, seconds, rate))
    };
    wait_for_pgbench(c, db);
    let url = c.url(db);
    let run = watch_while(
        &[
            "collect",
            "--database-url",
            &url,
            "--window",
            "6",
            "-o",
            snap.to_str().expect("path"),
        ],
        || {},
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !bench.is_finished(),
        "pgbench ended before the window closed: the window did not see the load throughout"
    );
    bench.join().expect("pgbench ran")
}

fn write_script(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write pgbench script");
    p
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("json")
}

/// A fresh database whose statistics were never reset, with a table the script updates (HOT:
/// `bal` is in no index), inserts into, and reads by an unindexed group column.
fn accounts_database(c: &Cluster, name: &str) -> String {
    let db = c.create_database(name);
    c.psql(
        &db,
        "CREATE TABLE acct (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, bal int NOT NULL,
                            grp int NOT NULL, note text NOT NULL) WITH (fillfactor = 70);
         INSERT INTO acct (bal, grp, note) SELECT 0, g % 500, 'n' FROM generate_series(1, 50000) g;",
    );
    c.psql(&db, "VACUUM ANALYZE acct");
    let reset = c.psql(
        &db,
        "SELECT stats_reset IS NULL FROM pg_stat_database WHERE datname = current_database()",
    );
    assert_eq!(
        reset.trim(),
        "t",
        "the database's statistics were never reset"
    );
    db
}

const ACCOUNTS_SCRIPT: &str = "\\set id random(1, 50000)
\\set g random(0, 499)
UPDATE acct SET bal = bal + 1 WHERE id = :id;
INSERT INTO acct (bal, grp, note) VALUES (0, :g, 'n');
SELECT id, bal FROM acct WHERE grp = :g;
";

/// Done when (issue 13): with a primary never reset, write costs are measured from the window
/// and agree with the calibrated model fed the real traffic within 2×.
#[test]
fn r13_window_measures_write_rates_on_a_primary_never_reset() {
    let c = cluster();
    let db = accounts_database(c, "obs_writes");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = write_script(dir.path(), "acct.sql", ACCOUNTS_SCRIPT);
    let snap = dir.path().join("snap.json");
    let url = c.url(&db);
    // pgbench runs before the window opens and after it closes, at a throttled steady rate:
    // on a loaded machine its start can lag by seconds, and the window must not see only part
    // of the load (the rate compared is pgbench's own over its whole run).
    let bench = collect_during_pgbench(c, &db, &script, 18, 150, &snap);
    let snapshot = idxadvise::collect::load_snapshot(&snap).expect("snapshot");
    let obs = snapshot.workload.observation.as_ref().expect("observation");
    assert_eq!(obs.basis, idxadvise::model::Basis::Window, "{}", obs.why);
    assert!(obs.window_s >= 6.0, "{obs:?}");
    let window = snapshot.write_stats.window.as_ref().expect("window deltas");
    let acct = window
        .tables
        .iter()
        .find(|t| t.table == "acct")
        .expect("acct counters");
    let (shapes, _) = idxadvise::parse::parse_workload(&snapshot.workload, &snapshot.catalog);
    let model = idxadvise::cost::WriteModel::new(&snapshot, &shapes, idxadvise::cost::CALIBRATION);
    assert!(model.available, "{:?}", model.unavailable_reason);
    assert!(
        matches!(model.rates, idxadvise::model::WriteRates::Window { .. }),
        "{:?}",
        model.rates
    );
    let t = model
        .tables
        .get(&("public".to_string(), "acct".to_string()))
        .expect("acct modelled");
    // The truth: pgbench ran the whole window at `tps` transactions/s, one update and one insert
    // each.
    let truth = {
        let mut m = model.clone();
        let tt = m
            .tables
            .get_mut(&("public".to_string(), "acct".to_string()))
            .expect("acct");
        tt.upd_per_s = bench.tps;
        tt.ins_per_s = bench.tps;
        for u in &mut tt.updates {
            u.rows_per_s = bench.tps;
        }
        m
    };
    let bal = idxadvise::model::IndexSpec::on(
        "public",
        "acct",
        vec![idxadvise::model::IndexKey::col("bal")],
    );
    let grp = idxadvise::model::IndexSpec::on(
        "public",
        "acct",
        vec![idxadvise::model::IndexKey::col("grp")],
    );
    let mut lines = vec![format!(
        "pgbench: {} transactions, {:.1} tps; window {:.1} s: {} updates ({} HOT), {} inserts counted",
        bench.transactions, bench.tps, window.seconds, acct.n_tup_upd, acct.n_tup_hot_upd, acct.n_tup_ins
    )];
    for (label, spec) in [("(bal), loses HOT", &bal), ("(grp)", &grp)] {
        let measured = model.set_cost("public", "acct", &[(spec, 1.0, 2_000_000)]);
        let real = truth.set_cost("public", "acct", &[(spec, 1.0, 2_000_000)]);
        let ratio = measured.ms_per_s / real.ms_per_s;
        lines.push(format!(
            "index {label}: write cost from the window {:.4} ms/s, from pgbench's real rate {:.4} ms/s (ratio {ratio:.2})",
            measured.ms_per_s, real.ms_per_s
        ));
        assert!(
            (0.5..=2.0).contains(&ratio),
            "not within 2x: {}",
            lines.join("\n")
        );
    }
    assert!(
        (t.upd_per_s / bench.tps - 1.0).abs() < 1.0,
        "{}",
        lines.join("\n")
    );
    eprintln!("{}", lines.join("\n"));

    // The same snapshot through analyze: a real write cost in every artifact, with its source.
    let out = dir.path().join("out");
    let a = crate::cli::idxadvise(&[
        "analyze",
        "--snapshot",
        snap.to_str().expect("path"),
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("path"),
        "-q",
    ]);
    assert!(a.code == 0 || a.code == 1, "{}", a.stderr);
    let report = json(&out.join("report.json"));
    assert_eq!(report["write_rates"]["kind"], "window", "{report}");
    assert_eq!(report["observation"]["basis"], "window");
    let ix = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|i| i["sql"].as_str().unwrap_or("").contains("\"grp\""))
        .unwrap_or_else(|| panic!("an index on grp: {}", a.stdout));
    let w = ix["write_cost_ms_per_s"]
        .as_f64()
        .expect("a number, not null");
    assert!(w > 0.0, "inserts write into the new index: {ix}");
    let sql = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    assert!(
        sql.contains("write rates: measured on the primary over the"),
        "{sql}"
    );
    assert!(
        a.stdout.contains("Write rates: measured on the primary"),
        "{}",
        a.stdout
    );
    assert!(a.stdout.contains("Observed: watched"), "{}", a.stdout);
}

/// Review 3 (F7): on a primary whose statistics were never reset, `verify --window` reports
/// the write rates over its window next to those `analyze` measured over its own, not "no
/// rates".
#[test]
fn verify_reports_write_rates_over_its_window_on_a_primary_never_reset() {
    use idxadvise::verify::compare::RatePeriod;
    use idxadvise::verify::{Baseline, VerifyReport};
    let c = cluster();
    let db = accounts_database(c, "obs_verify_writes");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = write_script(dir.path(), "acct.sql", ACCOUNTS_SCRIPT);
    let (url, out) = (c.url(&db), dir.path().join("out"));
    let out_s = out.to_str().expect("path");
    // pgbench at a steady 50 transactions/s, one UPDATE and one INSERT each (100 rows written
    // per second), from before the window opens until the run ends.
    const TPS: f64 = 50.0;
    let watched = |args: &[&str]| {
        let mut bench = Command::new(bindir().join("pgbench"))
            .args([
                "-n",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                "1",
                "-T",
                "600",
            ])
            .args(["-R", &TPS.to_string(), "-p", &c.port.to_string(), "-f"])
            .arg(&script)
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgbench");
        wait_for_pgbench(c, &db);
        let run = watch_while(args, || {});
        let running = bench.try_wait().expect("pgbench's state").is_none();
        let _ = bench.kill();
        let ended = bench.wait_with_output().expect("pgbench ends");
        assert!(running, "pgbench ran the whole window: {ended:?}");
        run
    };

    let a = watched(&[
        "analyze",
        "--database-url",
        &url,
        "--window",
        "6",
        "--out",
        out_s,
    ]);
    assert_eq!(
        a.code, 1,
        "analyze recommends an index:\n{}{}",
        a.stdout, a.stderr
    );
    let baseline = Baseline::from_json(
        &std::fs::read_to_string(out.join("baseline.json")).expect("baseline.json"),
    )
    .expect("a valid baseline");
    assert_eq!(baseline.writes.seconds, None, "never reset: no period");
    let kept = baseline.writes.window.as_ref().expect("analyze's window");
    assert!(kept.tables.iter().any(|t| t.table == "acct"), "{kept:?}");
    let sql = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    for stmt in sql
        .lines()
        .filter(|l| !l.starts_with("--") && !l.is_empty())
    {
        c.psql(&db, stmt);
    }

    let v = watched(&[
        "verify",
        "--database-url",
        &url,
        "--baseline",
        out_s,
        "--window",
        "6",
    ]);
    assert!(v.code == 0 || v.code == 1, "{}", v.stderr);
    let report: VerifyReport = serde_json::from_str(
        &std::fs::read_to_string(out.join("verify.json")).expect("verify.json"),
    )
    .expect("verify.json");
    let w = report
        .writes
        .iter()
        .find(|w| w.table == "public.acct")
        .unwrap_or_else(|| panic!("acct's writes: {}", v.stdout));
    let line = format!(
        "truth {:.0} rows written/s; analyze's window {:?} s: {:?}/s; verify's window {:?} s: {:?}/s; {} rows written since the baseline",
        2.0 * TPS,
        w.before_seconds,
        w.before_writes_per_s,
        w.window_seconds,
        w.after_writes_per_s,
        w.after_rows_written
    );
    eprintln!("{line}");
    assert_eq!(w.before_rate_over, Some(RatePeriod::Window), "{line}");
    assert_eq!(w.after_rate_over, Some(RatePeriod::Window), "{line}");
    assert!(w.window_seconds.is_some_and(|s| s >= 6.0), "{line}");
    for rate in [w.before_writes_per_s, w.after_writes_per_s] {
        let r = rate.expect("a rate") / (2.0 * TPS);
        assert!(
            (0.5..=2.0).contains(&r),
            "not within 2x of pgbench's: {line}"
        );
    }
    assert!(
        v.stdout.contains("rows written/s (analyze's ")
            && v.stdout.contains(" s window → verify's ")
            && !v.stdout.contains("no rates"),
        "{}",
        v.stdout
    );
}

/// The hot standby of this test binary's cluster, with its own traffic.
fn standby() -> &'static Cluster {
    static S: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
    S.get_or_init(|| cluster().start_standby())
}

const LOGIN_SCRIPT: &str = "\\set u random(1000001, 1040000)
\\set p random(1, 40000)
SELECT id FROM login WHERE code = :u;
UPDATE post SET likes = likes + 1 WHERE id = :p;
";
const FEED_SCRIPT: &str = "\\set a random(1, 2000)
SELECT id, created FROM post WHERE author = :a ORDER BY created DESC LIMIT 20;
";

/// Done when (issue 13): a primary-only statement is analysed when `--primary-url` is given and
/// reported as unseen without it; with no way to know write rates (a replica without the
/// primary), the write cost is "unknown" everywhere, never 0.
#[test]
fn r13_primary_statements_are_merged_with_the_replicas_and_unknown_write_cost_is_said() {
    let c = cluster();
    let db = c.create_database("obs_replica");
    c.psql(
        &db,
        "CREATE TABLE login (id bigint PRIMARY KEY, code int NOT NULL, pw text NOT NULL);
         INSERT INTO login SELECT g, g + 1000000, md5(g::text) FROM generate_series(1, 40000) g;
         CREATE TABLE post (id bigint PRIMARY KEY, author int NOT NULL, created timestamptz NOT NULL,
                            likes int NOT NULL DEFAULT 0, body text NOT NULL);
         INSERT INTO post SELECT g, g % 2000 + 1, now() - g * interval '1 minute', 0, repeat('x', 80)
           FROM generate_series(1, 40000) g;",
    );
    c.psql(&db, "VACUUM ANALYZE login");
    c.psql(&db, "VACUUM ANALYZE post");
    let s = standby();
    c.wait_replayed(s);
    let dir = tempfile::tempdir().expect("tempdir");
    let login = write_script(dir.path(), "login.sql", LOGIN_SCRIPT);
    let feed = write_script(dir.path(), "feed.sql", FEED_SCRIPT);
    let traffic = || {
        std::thread::scope(|sc| {
            sc.spawn(|| pgbench(c, &db, &login, 5, 60));
            sc.spawn(|| pgbench(s, &db, &feed, 5, 60));
        });
    };
    let replica = s.url(&db);
    let primary = c.url(&db);

    // Without --primary-url: the login lookup is not seen, write cost is unknown.
    let out1 = dir.path().join("alone");
    let alone = watch_while(
        &[
            "analyze",
            "--database-url",
            &replica,
            "--window",
            "6",
            "--out",
            out1.to_str().expect("path"),
        ],
        traffic,
    );
    assert!(alone.code == 0 || alone.code == 1, "{}", alone.stderr);
    let report = json(&out1.join("report.json"));
    let text = report.to_string();
    assert!(
        text.contains("the statements that run on the primary were not seen"),
        "{text}"
    );
    assert_eq!(report["observation"]["basis"], "window", "{text}");
    assert_eq!(report["write_rates"]["kind"], "unknown", "{text}");
    let indexes = report["indexes"].as_array().expect("indexes");
    assert!(
        !indexes.is_empty(),
        "the feed needs an index: {}",
        alone.stdout
    );
    for ix in indexes {
        assert!(ix["write_cost_ms_per_s"].is_null(), "unknown is null: {ix}");
        assert!(
            !ix["sql"].as_str().unwrap_or("").contains("\"code\""),
            "the primary-only login lookup was not seen: {ix}"
        );
    }
    assert!(alone.stdout.contains("unknown"), "{}", alone.stdout);
    assert!(!alone.stdout.contains("0.000 ms/s"), "{}", alone.stdout);
    let sql = std::fs::read_to_string(out1.join("indexes.sql")).expect("indexes.sql");
    assert!(sql.contains("write cost unknown ("), "{sql}");
    assert!(!sql.contains("write cost 0.000"), "{sql}");
    let md = std::fs::read_to_string(out1.join("report.md")).expect("report.md");
    assert!(md.contains("write cost unknown ("), "{md}");

    // With --primary-url: both servers' statements, tagged, and the login lookup gets its index.
    let out2 = dir.path().join("both");
    let both = watch_while(
        &[
            "analyze",
            "--database-url",
            &replica,
            "--primary-url",
            &primary,
            "--window",
            "6",
            "--out",
            out2.to_str().expect("path"),
        ],
        traffic,
    );
    assert!(both.code == 0 || both.code == 1, "{}", both.stderr);
    let report = json(&out2.join("report.json"));
    let text = report.to_string();
    let split = report["observation"]["split"].as_array().expect("split");
    assert!(
        split.iter().any(|x| x["runs_on"] == "primary")
            && split.iter().any(|x| x["runs_on"] == "replica"),
        "{text}"
    );
    let email = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|i| i["sql"].as_str().unwrap_or("").contains("\"code\""))
        .unwrap_or_else(|| panic!("the primary's login lookup gets an index: {}", both.stdout));
    let helped = email["helps"][0]["queryid"].as_i64().expect("queryid");
    let st = report["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["queryid"].as_i64() == Some(helped))
        .expect("the login statement");
    assert_eq!(st["runs_on"], "primary", "{st}");
    // Its values were sampled from the primary's pg_stat_activity during the window (the
    // replica never runs it): pgbench sends the codes as literals.
    let values = st["values"].as_str().unwrap_or("");
    assert!(
        values.contains("code = '10") && values.contains("pg_stat_activity samples"),
        "the primary-only lookup's values are observed on the primary: {st}"
    );
    assert_eq!(report["write_rates"]["kind"], "window", "{text}");
    assert!(
        report["indexes"]
            .as_array()
            .expect("indexes")
            .iter()
            .all(|i| i["write_cost_ms_per_s"].is_f64()),
        "{text}"
    );
    assert!(
        both.stdout.contains("Where statements run: "),
        "{}",
        both.stdout
    );
}

/// Done when (issue 13): a second `analyze` after applying the indexes does not re-recommend
/// from stale means. Workload, analyze, build the recommended indexes for real, workload again
/// while a windowed analyze watches: the statements the built indexes serve are ranked from
/// today's means, and get no further index from their old ones.
#[test]
fn r13_after_applying_the_indexes_a_windowed_analyze_ranks_from_todays_means() {
    let c = cluster();
    let db = example_database("obs_stale");
    replay_workload(&db);
    let url = c.url(&db);
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first");
    let a = crate::cli::idxadvise(&[
        "analyze",
        "--database-url",
        &url,
        "--out",
        first.to_str().expect("path"),
        "-q",
    ]);
    assert_eq!(a.code, 1, "the example gets indexes: {}", a.stderr);
    let r1 = json(&first.join("report.json"));
    let mut served: Vec<(i64, f64)> = vec![];
    for ix in r1["indexes"].as_array().expect("indexes") {
        c.psql(&db, ix["sql"].as_str().expect("sql"));
        for h in ix["helps"].as_array().expect("helps") {
            served.push((
                h["queryid"].as_i64().expect("queryid"),
                h["before_ms"].as_f64().expect("before"),
            ));
        }
    }
    c.psql(&db, "ANALYZE");
    assert!(!served.is_empty());

    // The cumulative counters still hold the old means: what a second analyze saw before.
    let stale = dir.path().join("stale");
    let b = crate::cli::idxadvise(&[
        "analyze",
        "--database-url",
        &url,
        "--out",
        stale.to_str().expect("path"),
        "-q",
    ]);
    assert!(b.code == 0 || b.code == 1, "{}", b.stderr);
    let r_stale = json(&stale.join("report.json"));

    let second = dir.path().join("second");
    let run = watch_while(
        &[
            "analyze",
            "--database-url",
            &url,
            "--window",
            "12",
            "--out",
            second.to_str().expect("path"),
        ],
        || replay_workload_again(&db),
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let r2 = json(&second.join("report.json"));
    assert_eq!(
        r2["observation"]["basis"], "window",
        "{}",
        r2["observation"]
    );
    let helps = |r: &serde_json::Value| -> Vec<(i64, f64)> {
        r["indexes"]
            .as_array()
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .flat_map(|ix| ix["helps"].as_array().cloned().unwrap_or_default())
            .map(|h| {
                (
                    h["queryid"].as_i64().unwrap_or(0),
                    h["before_ms"].as_f64().unwrap_or(0.0),
                )
            })
            .collect()
    };
    let mean_of = |r: &serde_json::Value, q: i64| {
        r["statements"]
            .as_array()
            .and_then(|v| v.iter().find(|s| s["queryid"].as_i64() == Some(q)))
            .and_then(|s| s["mean_ms"].as_f64())
    };
    eprintln!(
        "stale (cumulative) second analyze re-recommends for served statements: {:?}",
        helps(&r_stale)
            .iter()
            .filter(|(q, _)| served.iter().any(|(s, _)| s == q))
            .collect::<Vec<_>>()
    );
    // A served statement recommended again is ranked from the window's mean (today's), not
    // from the cumulative one. (It can be recommended again: the first analyze saw no values
    // and gave the rare-status page `(created_at)`, which the window's samples improve on.)
    for (q, before) in helps(&r2) {
        if let Some((_, old)) = served.iter().find(|(s, _)| *s == q) {
            let today = mean_of(&r2, q).expect("the statement ran in the window");
            assert!(
                (before - today).abs() <= 0.01 * today.max(0.001) && before < *old,
                "queryid {q} ranked from a mean of {before:.3} ms; the window's mean is {today:.3} ms, its mean before the index {old:.3} ms: stale"
            );
        }
    }
    // The statements the built indexes serve run faster today, and the report says so.
    let mut compared = 0;
    for (q, old) in &served {
        if let Some(now) = mean_of(&r2, *q) {
            compared += 1;
            eprintln!("queryid {q}: mean {old:.3} ms before the index, {now:.3} ms in the window");
        }
    }
    assert!(compared > 0, "the served statements ran in the window");
    assert!(run.stdout.contains("Observed: watched"), "{}", run.stdout);
}

/// Review 4 (G8): an index recommended on a column an UPDATE sets says so. Real traffic: a
/// ledger whose `bal` every transaction updates (HOT: `bal` is in no index, the pages have
/// room) and looks up by balance. The index on `bal` wins (a scan of 40,000 rows per lookup
/// against a few pages) and costs those HOT updates: the report, `report.md` and the
/// migration header name the column and the updates per second that stop being HOT.
#[test]
fn an_index_on_a_column_an_update_sets_names_the_hot_updates_it_costs() {
    // pgbench's steady load must not time another test's replay.
    let _heavy = crate::support::replays()
        .write()
        .unwrap_or_else(|p| p.into_inner());
    let c = cluster();
    let db = c.create_database("obs_hot_column");
    c.psql(
        &db,
        "CREATE TABLE ledger (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                              bal int NOT NULL, note text NOT NULL) WITH (fillfactor = 70);
         INSERT INTO ledger (bal, note) SELECT g * 10, 'n' FROM generate_series(1, 40000) g;",
    );
    c.psql(&db, "VACUUM ANALYZE ledger");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = write_script(
        dir.path(),
        "ledger.sql",
        "\\set id random(1, 40000)
\\set b random(1, 400000)
UPDATE ledger SET bal = bal + 1 WHERE id = :id;
SELECT id, note FROM ledger WHERE bal = :b;
",
    );
    let snap = dir.path().join("snap.json");
    let url = c.url(&db);
    let bench = collect_during_pgbench(c, &db, &script, 14, 40, &snap);
    let out = dir.path().join("out");
    let a = crate::cli::idxadvise(&[
        "analyze",
        "--snapshot",
        snap.to_str().expect("path"),
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("path"),
        "-q",
    ]);
    assert!(a.code == 0 || a.code == 1, "{}", a.stderr);
    let report = json(&out.join("report.json"));
    let ix = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|i| i["sql"].as_str().unwrap_or("").contains("(\"bal\""))
        .unwrap_or_else(|| panic!("an index on bal ({} tps): {}", bench.tps, a.stdout))
        .clone();
    assert_eq!(ix["hot_columns"], serde_json::json!(["bal"]), "{ix}");
    let lost = ix["lost_hot_updates_per_s"].as_f64().expect("a number");
    assert!(
        lost > 0.0 && lost <= 1.5 * bench.tps,
        "{lost} of {} updates/s: {ix}",
        bench.tps
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("HOT updates: an UPDATE sets `bal`, a column of this index: about"),
        "{md}"
    );
    let sql = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    assert!(
        sql.lines().any(|l| l.starts_with("--")
            && l.contains("HOT updates: an UPDATE sets bal, a column of this index: about")),
        "{sql}"
    );
}
