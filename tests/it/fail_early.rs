//! Issue 14, item 9: fail early and precisely. Everything knowable at the start is checked
//! before collection (an unreachable server proves the order: its error would come first
//! otherwise), each error says its real cause, and machine-readable output stays
//! machine-readable when something fails.

use std::path::Path;
use std::process::Command;

use crate::cli::{idxadvise, Run};
use crate::support::{cluster, example_database};

/// Nothing listens there: reaching the connection would fail with exit 3.
const UNREACHABLE: &str =
    "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=2";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run the binary as an unprivileged user when we are root (root may write anywhere).
fn idxadvise_unprivileged(args: &[&str]) -> Run {
    if !is_root() {
        return idxadvise(args);
    }
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(env!("CARGO_BIN_EXE_idxadvise"))
        .args(args)
        .env("IDXADVISE_WINDOW", "0")
        .env_remove("DATABASE_URL")
        .current_dir("/")
        .output()
        .expect("run idxadvise as nobody");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn r14_an_unwritable_out_is_a_permission_error_before_collection() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    // Readable and searchable, not writable, for the user idxadvise runs as.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let out = locked.join("out");
    let run = idxadvise_unprivileged(&[
        "analyze",
        "--database-url",
        UNREACHABLE,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    run.assert_error(
        6,
        &["cannot write into", "not writable", "nothing was collected"],
    );
    assert!(!run.stderr.contains("free space"), "{}", run.stderr);
    assert!(!out.exists());
}

#[test]
fn r14_a_django_project_without_manage_py_fails_before_collection() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        UNREACHABLE,
        "--out",
        tmp.path().join("out").to_str().expect("utf-8"),
        "--django-project",
        tmp.path().to_str().expect("utf-8"),
    ]);
    run.assert_error(
        2,
        &["has no manage.py", "give the folder that holds manage.py"],
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn r14_a_role_without_pg_read_all_data_stops_analyze_with_the_fix() {
    let c = cluster();
    let db = example_database("fail_early_lowpriv");
    c.psql(
        "postgres",
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'failearly_monitor') THEN CREATE ROLE failearly_monitor LOGIN; END IF; END $$; GRANT pg_monitor TO failearly_monitor;",
    );
    let url = c.url(&db).replace("postgres@", "failearly_monitor@");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    run.assert_error(
        4,
        &[
            "role \"failearly_monitor\" cannot SELECT from",
            "fix: GRANT pg_read_all_data TO \"failearly_monitor\";",
        ],
    );
    assert!(!out.exists(), "nothing written");
    // The same failure with --format json: the error is JSON on stdout.
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{}", run.stdout));
    assert_eq!(v["error"]["kind"], "prerequisite");
    assert_eq!(v["error"]["exit_code"], 4);
    assert_eq!(
        v["error"]["hint"],
        "fix: GRANT pg_read_all_data TO \"failearly_monitor\";"
    );
    // check says the same, machine-readably.
    let run = idxadvise(&["check", "--database-url", &url, "--format", "json"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("check JSON");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["ready"], false);
    assert!(
        v["missing"]
            .as_array()
            .expect("missing")
            .iter()
            .any(|m| m == "role_unreadable_tables"),
        "{v}"
    );
    for f in v["findings"].as_array().expect("findings") {
        assert!(f["id"].as_str().is_some_and(|s| !s.is_empty()), "{f}");
        assert!(f["level"].as_str().is_some(), "{f}");
    }
}

#[test]
fn r14_json_errors_are_json_for_every_command_with_format_json() {
    for args in [
        vec![
            "analyze",
            "--database-url",
            UNREACHABLE,
            "--format",
            "json",
            "-q",
        ],
        vec![
            "explain",
            "--database-url",
            UNREACHABLE,
            "--format",
            "json",
            "SELECT 1",
        ],
        vec!["check", "--database-url", UNREACHABLE, "--format", "json"],
        vec![
            "verify",
            "--database-url",
            UNREACHABLE,
            "--baseline",
            "/nonexistent",
            "--format",
            "json",
        ],
    ] {
        let run = idxadvise(&args);
        assert!(run.code != 0, "{args:?} fails");
        let v: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is JSON ({e}):\n{}", run.stdout));
        assert_eq!(v["error"]["exit_code"], run.code, "{args:?}: {v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(run.stderr.contains("error: "), "{}", run.stderr);
    }
}

#[test]
fn r14_explain_says_why_and_invents_no_calls_or_times() {
    let c = cluster();
    let db = example_database("fail_early_explain");
    let url = c.url(&db);
    let run = idxadvise(&[
        "explain",
        "--database-url",
        &url,
        "-q",
        "SELECT id FROM no_such_table WHERE x = $1",
    ]);
    run.assert_error(
        7,
        &[
            "the statement cannot be analysed",
            "unknown table",
            "no_such_table",
        ],
    );
    let run = idxadvise(&[
        "explain",
        "--database-url",
        &url,
        "-q",
        "SELECT id FROM shop_order WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    assert!(run.stdout.contains("# predicted: cost"), "{}", run.stdout);
    assert!(!run.stdout.contains("# calls:"), "{}", run.stdout);
    assert!(!run.stdout.contains("mean time"), "{}", run.stdout);
}

#[test]
fn r14_collect_never_overwrites_and_says_so_before_collecting() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("snap.json");
    std::fs::write(&p, "keep me").expect("write");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        UNREACHABLE,
        "-o",
        p.to_str().expect("utf-8"),
    ]);
    run.assert_error(2, &["exists", "never overwrites"]);
    assert_eq!(std::fs::read_to_string(&p).expect("read"), "keep me");
}

#[test]
fn r14_help_says_where_analyze_writes_and_the_readme_documents_every_environment_variable() {
    let run = idxadvise(&["--help"]);
    assert!(run.stdout.contains("./idxadvise-out"), "{}", run.stdout);
    let run = idxadvise(&["analyze", "--help"]);
    assert!(
        run.stdout
            .contains("Default for `analyze`: ./idxadvise-out"),
        "{}",
        run.stdout
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let mut names = vec![];
    for file in [
        "src/cli.rs",
        "src/sandbox.rs",
        "tests/support/mod.rs",
        "src/demo.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("source");
        for (k, _) in text.match_indices("IDXADVISE_") {
            let name: String = text[k..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    assert!(names.len() >= 5, "{names:?}");
    for n in names.iter().chain(&["DATABASE_URL".to_string()]) {
        assert!(
            readme.contains(&format!("`{n}`")),
            "README does not document {n}"
        );
    }
}

/// What the analysed database lacks is known before the observation window opens: no HypoPG
/// (exit 4), a `--hot-values` table or column that does not exist (exit 2); an
/// `--exclude-table` that names no table is a warning. The window asked for is long (600 s):
/// these runs return at once, with no collection line on stderr.
#[test]
fn r14_the_analysed_database_is_checked_before_the_window() {
    let c = cluster();
    let db = c.create_database("fail_early_no_hypopg");
    c.psql(
        &db,
        "DROP EXTENSION IF EXISTS hypopg; CREATE TABLE t (id int PRIMARY KEY, status text);",
    );
    let url = c.url(&db);
    let analyze = |extra: &[&str]| {
        let mut args = vec!["analyze", "--database-url", &url, "--window", "600"];
        args.extend_from_slice(extra);
        idxadvise(&args)
    };
    let run = analyze(&[]);
    run.assert_error(4, &["hypopg"]);
    assert!(!run.stderr.contains("collect"), "{}", run.stderr);

    c.psql(&db, "CREATE EXTENSION hypopg");
    let run = analyze(&["--hot-values", "t.nosuch=1"]);
    run.assert_error(2, &["--hot-values: table t has no column nosuch"]);
    assert!(!run.stderr.contains("collect"), "{}", run.stderr);
    let run = analyze(&["--hot-values", "nosuch.status=1"]);
    run.assert_error(2, &["--hot-values: no table nosuch"]);

    // The warning comes first; the run then goes on (here to the empty workload, exit 4 or
    // 5), so a short window is enough.
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &url,
        "--window",
        "0",
        "--exclude-table",
        "nosuch",
        "--exclude-table",
        "t",
    ]);
    assert!(
        run.stderr
            .contains("warning: --exclude-table nosuch: no such table in this database"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--exclude-table t:"), "{}", run.stderr);
}
