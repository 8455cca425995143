//! Where one run's workload comes from: the server now (over the observation window), a
//! snapshot file, or one statement given by the user (`idxadvise explain`), plus the server log
//! files whose entries become observed parameter values.
//!
//! Stage: collect (I/O at the edge). Must not change the server. Invariant: whatever the
//! source, the result is one [`Snapshot`] the later stages read the same way.

use std::path::PathBuf;

use crate::config::{CollectConfig, ConnectionConfig};
use crate::error::Error;
use crate::model::Snapshot;

/// Where the workload comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Collect from the server now.
    Live(CollectConfig),
    /// A snapshot file written by `idxadvise collect` (the what-if stage still needs the server).
    Snapshot(PathBuf),
    /// One statement given by the user (`idxadvise explain`): the catalog is read from the
    /// server, the workload is this statement alone.
    Statement {
        /// Where to read the catalog.
        connection: ConnectionConfig,
        /// The statement's text.
        text: String,
    },
}

/// Blocking work run on a worker thread during the observation window (see
/// [`super::window`]).
#[derive(Clone)]
pub struct DuringWindow(pub std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for DuringWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuringWindow(..)")
    }
}

/// Read the workload from `source` (running `during_window` while a live window is open), then
/// merge the values of the log files in `logs`. `say` receives one progress line at a time.
pub async fn gather(
    source: &Source,
    during_window: Option<DuringWindow>,
    logs: &super::log::LogOptions,
    say: &dyn Fn(&str),
) -> Result<Snapshot, Error> {
    let mut snapshot = match source {
        Source::Live(c) => {
            say("collect: reading pg_stat_statements, the catalog and write statistics");
            let (collected, ()) = super::collect_observed(c, |_clock| async move {
                if let Some(t) = during_window {
                    let _ = tokio::task::spawn_blocking(move || (t.0)()).await;
                }
            })
            .await?;
            if let Some(o) = &collected.snapshot.workload.observation {
                say(&format!("observe: {}", o.summary()));
            }
            for w in &collected.warnings {
                say(&format!("warning: {w}"));
            }
            collected.snapshot
        }
        Source::Snapshot(p) => {
            say(&format!("collect: reading snapshot {}", p.display()));
            super::load_snapshot(p)?
        }
        Source::Statement { connection, text } => {
            say("collect: reading the catalog");
            statement_snapshot(connection, text).await?
        }
    };
    if !logs.paths.is_empty() {
        let read = super::log::read_logs(logs)?;
        for w in &read.warnings {
            say(&format!("warning: {w}"));
        }
        say(&format!("collect: {}", read.summary()));
        let (values, matched) = super::observe::observe_logs(&snapshot.workload, &read);
        say(&format!(
            "collect: {matched} log entries matched a statement of the workload (their values are observed values)"
        ));
        snapshot.observed.merge(values);
        snapshot.logs = read;
    }
    Ok(snapshot)
}

/// A snapshot for one statement: the server's catalog, no write statistics, a workload of one.
pub async fn statement_snapshot(
    connection: &ConnectionConfig,
    text: &str,
) -> Result<Snapshot, Error> {
    let conn = crate::pg::connect(&connection.target).await?;
    let server = super::server::read(&conn.client).await?;
    let catalog = super::catalog::read(&conn.client).await?;
    let content_types = super::catalog::content_types(&conn.client).await;
    let text = text.trim().trim_end_matches(';').trim().to_string();
    if text.is_empty() {
        return Err(Error::Usage("the statement is empty".into()));
    }
    Ok(Snapshot {
        format_version: crate::model::SNAPSHOT_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        server,
        catalog,
        workload: crate::model::Workload {
            statements: vec![crate::model::Statement {
                queryid: 1,
                query: text,
                calls: 1,
                total_time_ms: 1.0,
                mean_time_ms: 1.0,
                rows: 0,
                shared_blks_hit: 0,
                shared_blks_read: 0,
                stddev_time_ms: None,
            }],
            excluded: vec![],
            stats_since: None,
            window_seconds: None,
            observation: None,
        },
        write_stats: super::writes::unavailable(),
        observed: Default::default(),
        logs: Default::default(),
        content_types,
    })
}
