//! `check`'s findings: what the server has and lacks, each with the fix, as plain data.
//!
//! Stage: check (pure). Must not do I/O. Invariant: every [`Level::Missing`] and
//! [`Level::Warning`] finding carries a fix a DBA can run or apply as written.

use serde::{Deserialize, Serialize};

use crate::model::ServerInfo;
use crate::pg::quote::ident;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Present and fine.
    Ok,
    /// Worth knowing.
    Info,
    /// idxadvise works, with a limitation.
    Warning,
    /// idxadvise cannot work until this is fixed.
    Missing,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warning => "WARNING",
            Level::Missing => "MISSING",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// A stable machine-readable name (`pgss_not_loaded`, `role_unreadable_tables`, …), the
    /// same whatever the wording of `what`.
    pub id: String,
    /// Severity.
    pub level: Level,
    /// What was found, one line.
    pub what: String,
    /// The SQL or setting that fixes it.
    pub fix: Option<String>,
}

/// The primary given with `--primary-url`, as probed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PrimaryProbe {
    /// Connected; whether it is itself in recovery.
    Reached {
        /// Redacted target.
        target: String,
        /// `pg_is_in_recovery()` there.
        in_recovery: bool,
    },
    /// Could not connect: the message.
    Failed(String),
}

/// Everything `check` read from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Facts {
    /// Where we connected (password removed).
    pub target: String,
    /// Server facts.
    pub server: ServerInfo,
    /// `shared_preload_libraries`, when the role may read it.
    pub preload: Option<String>,
    /// pg_stat_statements' library is loaded (its settings exist).
    pub pgss_loaded: bool,
    /// `pg_stat_statements.track`.
    pub pgss_track: Option<String>,
    /// `pg_stat_statements.max`.
    pub pgss_max: Option<i32>,
    /// Entries in pg_stat_statements (all databases), this database's, hidden texts.
    pub pgss_entries: Option<(i64, i64, i64)>,
    /// `pg_stat_statements_info.stats_reset`.
    pub pgss_reset: Option<String>,
    /// `pg_stat_statements_info.dealloc`: entries evicted since the reset.
    pub pgss_dealloc: Option<i64>,
    /// HypoPG's default version when its package is installed on the server.
    pub hypopg_available: Option<String>,
    /// The role.
    pub role: String,
    /// Superuser.
    pub superuser: bool,
    /// Member of `pg_monitor`.
    pub pg_monitor: bool,
    /// Member of `pg_read_all_data`.
    pub pg_read_all_data: bool,
    /// User tables the role may not SELECT from.
    pub unreadable_tables: i64,
    /// One of them, qualified.
    pub unreadable_example: Option<String>,
    /// SET privilege on `pg_stat_statements.track` (`None` before PG15 or when unknown).
    pub can_set_track: Option<bool>,
    /// The primary, when `--primary-url` was given.
    pub primary: Option<PrimaryProbe>,
    /// Why pg_stat_statements could not be read, when it could not.
    #[serde(default)]
    pub pgss_error: Option<String>,
    /// `track_activity_query_size` (bytes) and this database's statements: how many are longer,
    /// how many in all, the longest (bytes). Running texts are cut at that size.
    #[serde(default)]
    pub activity_text: Option<(i32, i64, i64, i64)>,
    /// The managed service running the server, when its roles or settings show one.
    #[serde(default)]
    pub provider: Option<super::provider::Detected>,
    /// pg_qualstats: offered, created, loaded (optional), when read.
    #[serde(default)]
    pub qualstats: Option<super::qualstats::Qualstats>,
    /// pg_prewarm: offered, created (optional), when read.
    #[serde(default)]
    pub prewarm: Option<super::prewarm::Prewarm>,
}

fn f(id: &'static str, level: Level, what: impl Into<String>, fix: Option<String>) -> Finding {
    Finding {
        id: id.to_string(),
        level,
        what: what.into(),
        fix,
    }
}

/// Turn facts into findings, in a fixed order (server, pg_stat_statements, HypoPG, role).
pub fn evaluate(x: &Facts) -> Vec<Finding> {
    let s = &x.server;
    let db = ident(&s.database);
    let role = ident(&x.role);
    let mut out = vec![];
    let kind = if s.in_recovery {
        "a replica (in recovery)"
    } else {
        "a primary"
    };
    out.push(f(
        "server",
        Level::Ok,
        format!("PostgreSQL {} on {kind}, database {db}", s.version),
        None,
    ));
    if !s.is_tested_version() {
        out.push(f(
            "server_old",
            Level::Info,
            format!(
                "PostgreSQL {}: idxadvise's test suite runs on 15, 17 and 18{}",
                s.major(),
                if s.has_pgss_exec_time() {
                    ""
                } else {
                    " (before 13 pg_stat_statements has other column names; they are read, untested)"
                }
            ),
            None,
        ));
    }
    if s.in_recovery {
        match &x.primary {
            None => out.push(f(
                "primary_missing",
                Level::Warning,
                "replica: write counters (pg_stat_user_tables) are zero here, so the write cost of new indexes cannot be weighed",
                Some("pass --primary-url postgres://user@primary/dbname (read-only) to collect and analyze".into()),
            )),
            Some(PrimaryProbe::Reached { target, in_recovery: false }) => out.push(f(
                "primary_reached",
                Level::Ok,
                format!("primary {target} reached: write statistics will be read there"),
                None,
            )),
            Some(PrimaryProbe::Reached { target, in_recovery: true }) => out.push(f(
                "primary_is_replica",
                Level::Missing,
                format!("--primary-url {target} is a replica too: its write counters are zero"),
                Some("give the URL of the primary (pg_is_in_recovery() = false there)".into()),
            )),
            Some(PrimaryProbe::Failed(msg)) => out.push(f(
                "primary_unreachable",
                Level::Missing,
                format!("cannot reach the primary: {msg}"),
                Some("check --primary-url (host, port, credentials)".into()),
            )),
        }
    }

    // pg_stat_statements.
    if !x.pgss_loaded {
        let libs = match x.preload.as_deref().map(str::trim) {
            Some("") | None => "'pg_stat_statements'".to_string(),
            Some(l) => format!("'{l},pg_stat_statements'"),
        };
        out.push(f(
            "pgss_not_loaded",
            Level::Missing,
            format!(
                "pg_stat_statements is not loaded (shared_preload_libraries = {})",
                x.preload
                    .as_deref()
                    .map(|p| format!("'{p}'"))
                    .unwrap_or_else(|| "unknown".into())
            ),
            Some(format!(
                "in postgresql.conf: shared_preload_libraries = {libs}, then restart the server{}",
                if s.in_recovery {
                    " (on this replica)"
                } else {
                    ""
                }
            )),
        ));
    }
    match &s.pgss_version {
        None => out.push(f(
            "pgss_not_created",
            Level::Missing,
            format!("pg_stat_statements is not created in database {db}"),
            Some(format!(
                "{}CREATE EXTENSION pg_stat_statements;",
                if s.in_recovery {
                    "on the primary, in this database: "
                } else {
                    ""
                }
            )),
        )),
        Some(v) if x.pgss_loaded => {
            let track = x.pgss_track.as_deref().unwrap_or("unknown");
            if track == "none" {
                out.push(f(
                    "pgss_track_none",
                    Level::Missing,
                    format!("pg_stat_statements {v} records nothing: pg_stat_statements.track = none"),
                    Some("ALTER SYSTEM SET pg_stat_statements.track = 'top'; SELECT pg_reload_conf();".into()),
                ));
            } else {
                out.push(f(
                    "pgss_ready",
                    Level::Ok,
                    format!("pg_stat_statements {v} loaded and created, track = {track}"),
                    None,
                ));
            }
        }
        Some(_) => {}
    }
    if let Some(e) = &x.pgss_error {
        out.push(f(
            "pgss_unreadable",
            Level::Missing,
            format!("cannot read pg_stat_statements: {e}"),
            Some(format!("GRANT pg_monitor TO {role};")),
        ));
    }
    if let Some((entries, here, hidden)) = x.pgss_entries {
        let since = x
            .pgss_reset
            .as_deref()
            .map(|r| format!(", statistics since {r}"))
            .unwrap_or_default();
        out.push(f(
            "pgss_entries",
            Level::Info,
            format!(
                "pg_stat_statements holds {entries} statements{} ({here} in this database){since}",
                x.pgss_max
                    .map(|m| format!(" of at most {m}"))
                    .unwrap_or_default()
            ),
            None,
        ));
        if let Some(max) = x.pgss_max {
            let evicted = x.pgss_dealloc.unwrap_or(0);
            if max > 0 && (entries as f64 >= 0.9 * max as f64 || evicted > 0) {
                out.push(f(
                    "pgss_near_limit",
                    Level::Warning,
                    format!(
                        "pg_stat_statements is near its limit ({entries} of {max}; {evicted} entries evicted since the reset): rare statements are lost"
                    ),
                    Some(format!(
                        "ALTER SYSTEM SET pg_stat_statements.max = {}; then restart the server",
                        (max as i64 * 2).max(10000)
                    )),
                ));
            }
        }
        if here == 0 {
            out.push(f(
                "pgss_empty_database",
                Level::Warning,
                format!("pg_stat_statements holds no statement of database {db} yet"),
                Some("let the application run against this database, then run idxadvise".into()),
            ));
        }
        if hidden > 0 && !(x.superuser || x.pg_monitor) {
            out.push(f(
                "pgss_hidden_texts",
                Level::Info,
                format!("{hidden} statement texts read <insufficient privilege> for this role"),
                None,
            ));
        }
    }

    // HypoPG.
    match &s.hypopg_version {
        None => out.push(f(
            "hypopg_missing",
            Level::Missing,
            format!("HypoPG is not installed in database {db}: candidate indexes cannot be simulated"),
            Some(match &x.hypopg_available {
                Some(_) => format!(
                    "{}CREATE EXTENSION hypopg;",
                    if s.in_recovery { "on the primary, in this database: " } else { "" }
                ),
                None => format!(
                    "install HypoPG on the server (Debian/Ubuntu: apt-get install postgresql-{}-hypopg), then CREATE EXTENSION hypopg;",
                    s.major()
                ),
            }),
        )),
        Some(v) if !s.can_hide_index() => {
            out.push(f("hypopg_installed", Level::Ok, format!("HypoPG {v} installed"), None));
            out.push(f(
                "hypopg_cannot_hide",
                Level::Warning,
                format!("HypoPG {v} cannot hide existing indexes (needs 1.4+): proposed index drops cannot be verified with the planner"),
                Some("install HypoPG 1.4 or newer on the server, then ALTER EXTENSION hypopg UPDATE;".into()),
            ));
        }
        Some(v) => out.push(f(
            "hypopg_ready",
            Level::Ok,
            format!("HypoPG {v} installed (can hide indexes)"),
            None,
        )),
    }

    // The role.
    if x.superuser {
        out.push(f(
            "role_superuser",
            Level::Ok,
            format!("role {role} is a superuser (a role with pg_monitor and pg_read_all_data is enough)"),
            None,
        ));
    } else {
        if x.pg_monitor {
            out.push(f(
                "role_pg_monitor",
                Level::Ok,
                format!("role {role} is a member of pg_monitor"),
                None,
            ));
        } else {
            out.push(f(
                "role_no_pg_monitor",
                Level::Missing,
                format!("role {role} is not a member of pg_monitor: other roles' statements read <insufficient privilege>"),
                Some(format!("GRANT pg_monitor TO {role};")),
            ));
        }
        if x.unreadable_tables == 0 {
            out.push(f(
                "role_reads_all_tables",
                Level::Ok,
                format!(
                    "role {role} can read every table{}",
                    if x.pg_read_all_data {
                        " (pg_read_all_data)"
                    } else {
                        ""
                    }
                ),
                None,
            ));
        } else {
            out.push(f(
                "role_unreadable_tables",
                Level::Missing,
                format!(
                    "role {role} cannot SELECT from {} tables (e.g. {}): EXPLAIN needs it",
                    x.unreadable_tables,
                    x.unreadable_example.as_deref().unwrap_or("?")
                ),
                Some(if s.has_read_all_data_role() {
                    format!("GRANT pg_read_all_data TO {role};")
                } else {
                    format!(
                        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; (for each schema)"
                    )
                }),
            ));
        }
    }
    if let Some(f_) = activity_text_finding(x) {
        out.push(f_);
    }
    if let Some(f_) = super::qualstats::finding(x) {
        out.push(f_);
    }
    if let Some(f_) = super::prewarm::finding(x) {
        out.push(f_);
    }
    match x.can_set_track {
        Some(true) => out.push(f(
            "role_can_untrack",
            Level::Ok,
            format!("role {role} may turn pg_stat_statements tracking off for its own sessions"),
            None,
        )),
        Some(false) => out.push(f(
            "role_cannot_untrack",
            Level::Warning,
            format!("role {role} may not SET pg_stat_statements.track: idxadvise's own statements will be recorded in pg_stat_statements (it leaves them out of its workload)"),
            Some(format!("GRANT SET ON PARAMETER pg_stat_statements.track TO {role};")),
        )),
        None if !x.superuser && !s.has_parameter_privileges() => out.push(f(
            "role_cannot_untrack_pre15",
            Level::Info,
            "before PostgreSQL 15 only a superuser may turn pg_stat_statements tracking off per session: idxadvise's own statements will be recorded (it leaves them out of its workload)",
            None,
        )),
        None => {}
    }
    if let Some(d) = &x.provider {
        super::provider::adapt(&mut out, d);
    }
    out
}

/// Running statements are sampled for their parameter values; a text longer than
/// `track_activity_query_size` is cut there, and the values after the cut are not seen.
fn activity_text_finding(x: &Facts) -> Option<Finding> {
    let (size, longer, total, longest) = x.activity_text?;
    if longer == 0 {
        return Some(f(
            "activity_text_fits",
            Level::Ok,
            format!("track_activity_query_size ({size} bytes) holds the text of every statement idxadvise analyses ({total} statements, longest {longest} bytes; utility and DDL statements not counted): their parameter values can be observed"),
            None,
        ));
    }
    let mut want: i64 = 1024;
    while want <= longest && want < 1_048_576 {
        want *= 2;
    }
    Some(f(
        "activity_text_cut",
        Level::Warning,
        format!("{longer} of the {total} statements idxadvise analyses are longer than track_activity_query_size ({size} bytes; longest {longest}): their running texts are cut, and parameter values after the cut cannot be observed"),
        Some(format!(
            "ALTER SYSTEM SET track_activity_query_size = '{}kB'; -- then restart the server",
            want / 1024
        )),
    ))
}

/// Whether nothing needed is missing.
pub fn ready(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.level != Level::Missing)
}

/// The report as text: one line per finding, its fix indented under it, a summary line.
pub fn render_text(target: &str, findings: &[Finding]) -> String {
    let mut s = format!("idxadvise check: {target}\n");
    for x in findings {
        s.push_str(&format!("{:<8} {}\n", x.level.label(), x.what));
        if let Some(fix) = &x.fix {
            s.push_str(&format!("{:<8} fix: {fix}\n", ""));
        }
    }
    let missing = findings
        .iter()
        .filter(|f| f.level == Level::Missing)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.level == Level::Warning)
        .count();
    if missing == 0 {
        s.push_str(&format!(
            "ready: everything idxadvise needs is present ({warnings} warning{})\n",
            if warnings == 1 { "" } else { "s" }
        ));
    } else {
        s.push_str(&format!(
            "not ready: {missing} missing piece{} ({warnings} warning{}); fix them and run idxadvise check again\n",
            if missing == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
    }
    s
}

/// Version of `check --format json`. Bump on incompatible changes.
pub const CHECK_FORMAT_VERSION: u32 = 1;

/// The report as JSON: `{format_version, target, server, ready, missing, warnings, findings}`,
/// `missing` and `warnings` listing the finding ids of those levels; each finding is `{id,
/// level, what, fix}`.
pub fn render_json(facts: &Facts, findings: &[Finding]) -> String {
    let v = serde_json::json!({
        "format_version": CHECK_FORMAT_VERSION,
        "target": facts.target,
        "server": facts.server,
        "ready": ready(findings),
        "missing": findings.iter().filter(|f| f.level == Level::Missing).map(|f| f.id.as_str()).collect::<Vec<_>>(),
        "warnings": findings.iter().filter(|f| f.level == Level::Warning).map(|f| f.id.as_str()).collect::<Vec<_>>(),
        "findings": findings,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Facts {
        Facts {
            target: "advisor@db:5432/shop".into(),
            server: ServerInfo {
                version_num: 150018,
                version: "15.18".into(),
                in_recovery: false,
                database: "shop".into(),
                hypopg_version: Some("1.4.1".into()),
                pgss_version: Some("1.10".into()),
                database_size_bytes: None,
                shared_buffers_bytes: None,
            },
            preload: Some("pg_stat_statements".into()),
            pgss_loaded: true,
            pgss_track: Some("top".into()),
            pgss_max: Some(5000),
            pgss_entries: Some((120, 80, 0)),
            pgss_reset: Some("2026-11-01 00:00:00+00".into()),
            pgss_dealloc: Some(0),
            hypopg_available: Some("1.4.1".into()),
            role: "advisor".into(),
            superuser: false,
            pg_monitor: true,
            pg_read_all_data: true,
            unreadable_tables: 0,
            unreadable_example: None,
            can_set_track: Some(true),
            primary: None,
            pgss_error: None,
            activity_text: None,
            provider: None,
            qualstats: None,
            prewarm: None,
        }
    }

    fn missing(fs: &[Finding]) -> Vec<String> {
        fs.iter()
            .filter(|f| f.level == Level::Missing)
            .map(|f| f.fix.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn short_track_activity_query_size_warns_with_the_fix() {
        let mut x = healthy();
        x.activity_text = Some((1024, 3, 40, 2300));
        let w = activity_text_finding(&x).expect("finding");
        assert_eq!(w.level, Level::Warning);
        assert!(
            w.what
                .starts_with("3 of the 40 statements idxadvise analyses are longer"),
            "{}",
            w.what
        );
        assert_eq!(
            w.fix.as_deref(),
            Some("ALTER SYSTEM SET track_activity_query_size = '4kB'; -- then restart the server")
        );
        x.activity_text = Some((4096, 0, 40, 2300));
        assert_eq!(activity_text_finding(&x).expect("finding").level, Level::Ok);
        assert!(ready(&evaluate(&x)));
    }

    #[test]
    fn healthy_server_is_ready() {
        let fs = evaluate(&healthy());
        assert!(ready(&fs), "{fs:#?}");
        assert!(fs.iter().all(|f| f.level <= Level::Info), "{fs:#?}");
    }

    #[test]
    fn every_missing_piece_has_its_fix() {
        let mut x = healthy();
        x.preload = Some("auto_explain".into());
        x.pgss_loaded = false;
        x.server.hypopg_version = None;
        x.hypopg_available = None;
        x.pg_monitor = false;
        x.unreadable_tables = 3;
        x.unreadable_example = Some("public.shop_order".into());
        x.can_set_track = Some(false);
        x.role = "Ad\"visor".into();
        let fs = evaluate(&x);
        assert!(!ready(&fs));
        assert_eq!(
            missing(&fs),
            vec![
                "in postgresql.conf: shared_preload_libraries = 'auto_explain,pg_stat_statements', then restart the server".to_string(),
                "install HypoPG on the server (Debian/Ubuntu: apt-get install postgresql-15-hypopg), then CREATE EXTENSION hypopg;".to_string(),
                "GRANT pg_monitor TO \"Ad\"\"visor\";".to_string(),
                "GRANT pg_read_all_data TO \"Ad\"\"visor\";".to_string(),
            ]
        );
        let text = render_text(&x.target, &fs);
        assert!(
            text.contains("GRANT SET ON PARAMETER pg_stat_statements.track TO \"Ad\"\"visor\";")
        );
        assert!(
            text.ends_with(
                "not ready: 4 missing pieces (1 warning); fix them and run idxadvise check again\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn text_report_of_a_fresh_replica() {
        let mut x = healthy();
        x.server.in_recovery = true;
        x.server.hypopg_version = None;
        x.hypopg_available = Some("1.3.1".into());
        x.pg_monitor = false;
        x.pgss_entries = Some((9500, 0, 40));
        x.pgss_max = Some(10000);
        x.pgss_dealloc = Some(12);
        let fs = evaluate(&x);
        insta::assert_snapshot!(render_text(&x.target, &fs));
    }

    #[test]
    fn replica_warns_about_write_statistics_and_old_hypopg() {
        let mut x = healthy();
        x.server.in_recovery = true;
        x.server.hypopg_version = Some("1.3.1".into());
        let fs = evaluate(&x);
        assert!(ready(&fs));
        assert!(fs[0].what.contains("replica"));
        let warns: Vec<&str> = fs
            .iter()
            .filter(|f| f.level == Level::Warning)
            .map(|f| f.what.as_str())
            .collect();
        assert_eq!(warns.len(), 2, "{warns:?}");
        assert!(warns[0].contains("write cost"));
        assert!(warns[1].contains("cannot hide"));
        x.primary = Some(PrimaryProbe::Failed("refused".into()));
        assert!(!ready(&evaluate(&x)));
    }

    #[test]
    fn full_pg_stat_statements_and_track_none() {
        let mut x = healthy();
        x.pgss_entries = Some((4900, 10, 0));
        x.pgss_track = Some("none".into());
        let fs = evaluate(&x);
        assert!(!ready(&fs));
        assert!(fs.iter().any(|f| f.fix.as_deref()
            == Some("ALTER SYSTEM SET pg_stat_statements.max = 10000; then restart the server")));
        let json = render_json(&x, &fs);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["ready"], false);
        assert_eq!(v["findings"][0]["level"], "ok");
    }
}
