//! Server log files (`--log`): a dedicated cluster logs every statement (log_min_duration_statement
//! = 0) to stderr, csvlog and jsonlog at once, through the logging collector; real statements run
//! with client-side literals (psql), server-side parameters (tokio-postgres, extended protocol)
//! and auto_explain; each of the three files is then read and its entries checked.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use idxadvise::collect::log::{
    read_logs, LogEntry, LogEntryKind, LogFormat, LogOptions, LogReading, LoggedParameter,
};
use idxadvise::error::EXIT_USAGE;

use crate::cli::idxadvise;
use crate::support::{Cluster, ClusterOptions};

const PREFIX: &str = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";
const DB: &str = "logs_db";
/// The value with an apostrophe and a newline, sent as a server-side parameter.
const HOSTILE: &str = "it's\nnew";

struct Logged {
    cluster: Cluster,
    stderr: PathBuf,
    csv: PathBuf,
    json: PathBuf,
    /// pg_stat_statements' queryid of the parameterised statement.
    execute_queryid: i64,
}

/// The cluster, the workload run once, the three log files complete.
fn logged() -> &'static Logged {
    static L: OnceLock<Logged> = OnceLock::new();
    L.get_or_init(|| {
        let cluster = Cluster::start_with(&ClusterOptions {
            extra_conf: format!(
                "logging_collector = on\nlog_destination = 'stderr,csvlog,jsonlog'\n\
                 log_directory = 'log'\nlog_filename = 'postgresql.log'\n\
                 log_rotation_age = 0\nlog_rotation_size = 0\n\
                 log_min_duration_statement = 0\nlog_line_prefix = '{PREFIX}'\n"
            ),
            ..ClusterOptions::default()
        });
        let db = cluster.create_database(DB);
        cluster.psql(
            &db,
            "CREATE TABLE items (id int PRIMARY KEY, name text, note text, qty int);\n\
             INSERT INTO items SELECT g, 'n' || g, NULL, g % 10 FROM generate_series(1, 100) g;",
        );
        // Client-side literals, a statement over several lines.
        cluster.psql(
            &db,
            "SELECT count(*)\n  FROM items\n WHERE name = 'O''Brien\nline2' AND qty = 3",
        );
        // Server-side parameters (extended protocol): a quote and a newline, a NULL, a number.
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&cluster.url(&db), tokio_postgres::NoTls)
                .await
                .expect("connect");
            let task = tokio::spawn(conn);
            let rows = client
                .query(
                    "SELECT id FROM items WHERE name = $1 AND note IS NOT DISTINCT FROM $2 AND qty > $3::int",
                    &[&HOSTILE, &None::<String>, &5i32],
                )
                .await
                .expect("parameterised query");
            assert!(rows.is_empty());
            // auto_explain in this session only.
            client
                .batch_execute("LOAD 'auto_explain'")
                .await
                .expect("load auto_explain");
            client
                .batch_execute("SET auto_explain.log_min_duration = 0")
                .await
                .expect("set auto_explain");
            client
                .simple_query("SELECT max(id) FROM items WHERE qty = 7")
                .await
                .expect("explained query");
            client
                .simple_query("SELECT 'end-of-test-marker'")
                .await
                .expect("marker");
            drop(client);
            let _ = task.await;
        });
        let execute_queryid: i64 = cluster
            .psql(
                &db,
                "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT id FROM items WHERE name = $1%'",
            )
            .trim()
            .parse()
            .expect("queryid of the parameterised statement");
        let dir = cluster.data.join("log");
        let files = [
            dir.join("postgresql.log"),
            dir.join("postgresql.csv"),
            dir.join("postgresql.json"),
        ];
        // The logging collector writes asynchronously: wait for the marker in every file.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = files.iter().all(|f| {
                std::fs::read_to_string(f).is_ok_and(|t| t.contains("end-of-test-marker"))
            });
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server logs did not show the marker within 60 s: {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let [stderr, csv, json] = files;
        Logged {
            cluster,
            stderr,
            csv,
            json,
            execute_queryid,
        }
    })
}

fn read(path: &std::path::Path) -> LogReading {
    let opts = LogOptions::new(vec![path.to_path_buf()], None).expect("log file readable");
    read_logs(&opts).expect("read log")
}

fn one<'a>(r: &'a LogReading, kind: LogEntryKind, contains: &str) -> &'a LogEntry {
    let found: Vec<&LogEntry> = r
        .entries
        .iter()
        .filter(|e| e.kind == kind && e.text.contains(contains))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} entry with {contains:?}, found {found:#?}\namong {:#?}",
        r.entries
    );
    found[0]
}

/// What every format must give; returns the execute entry's query id.
fn check(r: &LogReading, format: LogFormat) -> Option<i64> {
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].format, format);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let lit = one(
        r,
        LogEntryKind::Statement,
        "WHERE name = 'O''Brien\nline2' AND qty = 3",
    );
    assert_eq!(
        lit.text,
        "SELECT count(*)\n  FROM items\n WHERE name = 'O''Brien\nline2' AND qty = 3"
    );
    assert_eq!(lit.database.as_deref(), Some(DB));
    assert!(lit.duration_ms.is_some_and(|d| d > 0.0), "{lit:?}");
    assert!(lit.parameters.is_empty());

    let ex = one(r, LogEntryKind::Execute, "note IS NOT DISTINCT FROM $2");
    assert_eq!(
        ex.text,
        "SELECT id FROM items WHERE name = $1 AND note IS NOT DISTINCT FROM $2 AND qty > $3::int"
    );
    assert_eq!(ex.database.as_deref(), Some(DB));
    assert!(ex.duration_ms.is_some_and(|d| d > 0.0), "{ex:?}");
    assert_eq!(
        ex.parameters,
        vec![
            LoggedParameter {
                position: 1,
                value: Some(HOSTILE.into())
            },
            LoggedParameter {
                position: 2,
                value: None
            },
            LoggedParameter {
                position: 3,
                value: Some("5".into())
            },
        ]
    );

    let plan = one(r, LogEntryKind::AutoExplain, "qty = 7");
    assert_eq!(plan.text, "SELECT max(id) FROM items WHERE qty = 7");
    assert_eq!(plan.database.as_deref(), Some(DB));
    assert!(plan.duration_ms.is_some(), "{plan:?}");
    // The same execution, logged by log_min_duration_statement too.
    one(
        r,
        LogEntryKind::Statement,
        "SELECT max(id) FROM items WHERE qty = 7",
    );

    // The extended protocol's parse and bind steps are counted, not entries.
    let skipped = r.skipped();
    assert!(
        skipped
            .get(idxadvise::collect::log::reason::BIND_STEP)
            .is_some_and(|n| *n >= 1),
        "{skipped:?}"
    );
    ex.query_id
}

#[test]
fn log_stderr_with_a_detected_prefix() {
    let l = logged();
    let r = read(&l.stderr);
    assert_eq!(r.files[0].line_prefix.as_deref(), Some(PREFIX));
    assert_eq!(check(&r, LogFormat::Stderr), None, "no %Q in the prefix");
}

#[test]
fn log_csvlog() {
    let l = logged();
    let r = read(&l.csv);
    let qid = check(&r, LogFormat::Csvlog);
    assert_eq!(
        qid,
        Some(l.execute_queryid),
        "csvlog's query_id is pgss' queryid"
    );
}

#[test]
fn log_jsonlog() {
    let l = logged();
    let r = read(&l.json);
    let qid = check(&r, LogFormat::Jsonlog);
    assert_eq!(
        qid,
        Some(l.execute_queryid),
        "jsonlog's query_id is pgss' queryid"
    );
}

#[test]
fn log_collect_keeps_entries_in_the_snapshot() {
    let l = logged();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snap.json");
    let run = idxadvise(&[
        "collect",
        "--window",
        "0",
        "--database-url",
        &l.cluster.url(DB),
        "--log",
        l.json.to_str().expect("path"),
        "--log",
        l.stderr.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("logs: "), "{}", run.stderr);
    let snap = idxadvise::collect::load_snapshot(&out).expect("snapshot");
    assert_eq!(snap.logs.files.len(), 2);
    assert_eq!(snap.logs.files[0].format, LogFormat::Jsonlog);
    assert_eq!(snap.logs.files[1].format, LogFormat::Stderr);
    let hostile: Vec<_> = snap
        .logs
        .entries
        .iter()
        .filter(|e| {
            e.parameters
                .first()
                .is_some_and(|p| p.value.as_deref() == Some(HOSTILE))
        })
        .map(|e| e.file)
        .collect();
    assert_eq!(hostile, vec![0, 1], "the execute entry of each file");
}

#[test]
fn log_missing_file_fails_before_connecting() {
    // An unreachable server: had it connected first, the exit code would be 3.
    let run = idxadvise(&[
        "collect",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x?connect_timeout=1",
        "--log",
        "/nonexistent/postgresql.log",
    ]);
    run.assert_error(
        EXIT_USAGE,
        &["cannot read log file \"/nonexistent/postgresql.log\""],
    );
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x?connect_timeout=1",
        "--log",
        "/nonexistent/postgresql.log",
    ]);
    run.assert_error(EXIT_USAGE, &["cannot read log file"]);
}
