//! Running the built `idxadvise` binary, for tests of exit codes and messages.

use std::path::Path;
use std::process::{Command, Output};

/// What a run of the binary gave.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

/// Run `idxadvise` with `args`, without DATABASE_URL or PG* variables from the environment.
pub fn idxadvise(args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .args(args)
        // The cumulative counters at once: only the window tests watch (with --window).
        .env("IDXADVISE_WINDOW", "0")
        .env_remove("DATABASE_URL")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .env_remove("PGPASSWORD")
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .env_remove("PGSSLMODE")
        .output()
        .expect("run the idxadvise binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Assert a failure with `code` whose error is one message starting `error: ` and containing
    /// every string of `contains`, with no panic or backtrace.
    pub fn assert_error(&self, code: i32, contains: &[&str]) {
        assert_eq!(
            self.code, code,
            "exit code; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "one error line:\n{}", self.stderr);
        assert!(
            self.stderr.starts_with("error: ") || self.stderr.contains("\nerror: "),
            "{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{}", self.stderr);
        for c in contains {
            assert!(
                self.stderr.contains(c),
                "stderr lacks {c:?}:\n{}",
                self.stderr
            );
        }
    }
}

/// A JSON file (a snapshot, a report).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// `collect [extra…] --database-url URL -o PATH`, which must succeed; the snapshot.
pub fn collect_snapshot(url: &str, path: &Path, extra: &[&str]) -> serde_json::Value {
    let path_arg = path.to_str().expect("utf-8 path");
    let args: Vec<&str> = std::iter::once("collect")
        .chain(extra.iter().copied())
        .chain(["--database-url", url, "-o", path_arg])
        .collect();
    let r = idxadvise(&args);
    assert_eq!(r.code, 0, "collect failed:\n{}", r.stderr);
    read_json(path)
}

/// `analyze -q --database-url URL [--snapshot SNAP] --out OUT`, which must run (exit 0: nothing
/// to recommend, 1: recommendations); the run and its report.json.
pub fn analyze_into(url: &str, snap: Option<&Path>, out: &Path) -> (Run, serde_json::Value) {
    let out_arg = out.to_str().expect("utf-8 path");
    let mut args = vec!["analyze", "-q", "--database-url", url, "--out", out_arg];
    if let Some(s) = snap {
        args.extend(["--snapshot", s.to_str().expect("utf-8 path")]);
    }
    let r = idxadvise(&args);
    assert!(
        r.code == 0 || r.code == 1,
        "analyze failed ({}):\n{}",
        r.code,
        r.stderr
    );
    let report = read_json(&out.join("report.json"));
    (r, report)
}
