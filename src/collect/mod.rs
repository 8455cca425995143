//! `collect`: read the workload, catalog and write statistics of a server into a [`Snapshot`].
//!
//! Stage: collect (I/O at the edge). Must not change the server: every session is read-only and
//! untracked by pg_stat_statements when the role may say so (FACTS §2), and the tool's own
//! statements are left out of the workload when it may not. Invariant: a snapshot is either
//! complete or not produced at all (see [`output::write_atomic`]).

pub mod activity;
pub mod catalog;
pub mod observe;
pub mod output;
pub mod qualstats;
pub mod server;
pub mod sql;
pub mod workload;
pub mod writes;

pub use output::{load_snapshot, to_json, write_atomic};

use crate::config::CollectConfig;
use crate::error::Error;
use crate::model::{Snapshot, WriteSource, SNAPSHOT_FORMAT_VERSION};
use crate::pg::{self, PgError};

/// A snapshot and the warnings met while taking it (one line each, with the fix).
#[derive(Debug, Clone)]
pub struct Collected {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Warnings for the user (stderr), e.g. that write cost cannot be weighed.
    pub warnings: Vec<String>,
}

/// Take a snapshot, printing warnings to stderr. See [`collect_with_warnings`].
pub async fn collect(config: &CollectConfig) -> Result<Snapshot, Error> {
    let c = collect_with_warnings(config).await?;
    for w in &c.warnings {
        eprintln!("warning: {w}");
    }
    Ok(c.snapshot)
}

fn pgss_error(database: &str, e: PgError) -> Error {
    let loaded = matches!(&e, PgError::Query { message, .. } if message.contains("shared_preload_libraries"));
    if loaded {
        Error::Prerequisite(format!(
            "pg_stat_statements is not loaded on the server of database {database:?}\n(add it to shared_preload_libraries in postgresql.conf and restart: shared_preload_libraries = 'pg_stat_statements')"
        ))
    } else {
        e.into()
    }
}

/// Take a snapshot of the server in `config`: server facts, workload, catalog, write
/// statistics. Errors: connection ([`Error::Connect`]), missing pg_stat_statements or hidden
/// texts ([`Error::Prerequisite`]), an empty workload ([`Error::Workload`]).
pub async fn collect_with_warnings(config: &CollectConfig) -> Result<Collected, Error> {
    let conn = pg::connect(&config.connection.target).await?;
    let mut warnings = conn.warnings.clone();
    let client = &conn.client;
    let server = server::read(client).await?;
    if server.pgss_version.is_none() {
        return Err(Error::Prerequisite(format!(
            "pg_stat_statements is not created in database {:?}\n(on the primary, in that database: CREATE EXTENSION pg_stat_statements;)",
            server.database
        )));
    }
    let rows = workload::read(client, server.version_num)
        .await
        .map_err(|e| pgss_error(&server.database, e))?;
    let mut wl = workload::build(rows, &config.filter)?;
    let hidden = wl
        .excluded
        .iter()
        .filter(|e| e.reason.starts_with("text hidden"))
        .count();
    if hidden > 0 {
        warnings.push(format!(
            "{hidden} statements of other roles read <insufficient privilege> and were left out\n(as a superuser: GRANT pg_monitor TO <role>;)"
        ));
    }
    if let Some((since, _, seconds)) = server::pgss_window(client, server.version_num).await {
        wl.stats_since = since;
        wl.window_seconds = seconds.filter(|s| s.is_finite() && *s > 0.0);
    }
    if wl.statements.is_empty() {
        return Err(Error::Workload(format!(
            "no statements to analyse in database {:?}: pg_stat_statements holds none for it ({} left out: utility, idxadvise's own, filters)\n(let the application run for a while after the last pg_stat_statements_reset(), or lower --min-calls)",
            server.database,
            wl.excluded.len()
        )));
    }
    let observed = observe::observe(
        client,
        server.version_num,
        &wl,
        config.observe_values,
        &mut warnings,
    )
    .await?;
    let catalog = catalog::read(client).await?;

    let write_stats = if !server.in_recovery {
        writes::read(client, WriteSource::Local).await?
    } else if let Some(primary) = &config.connection.primary {
        let pconn = pg::connect(primary).await?;
        warnings.extend(pconn.warnings.iter().map(|w| format!("primary: {w}")));
        let pserver = server::read(&pconn.client).await?;
        if pserver.in_recovery {
            warnings.push(format!(
                "--primary-url points to {} which is also a replica: its write counters are zero\n(give the primary's URL)",
                pconn.target
            ));
        }
        if pserver.database != server.database {
            warnings.push(format!(
                "--primary-url names database {:?} but the analysed database is {:?}",
                pserver.database, server.database
            ));
        }
        let mut ws = writes::read(&pconn.client, WriteSource::Primary).await?;
        if pserver.pgss_version.is_some() {
            match workload::read(&pconn.client, pserver.version_num).await {
                Ok(rows) => {
                    let all = crate::config::WorkloadFilter::default();
                    if let Ok(pw) = workload::build(rows, &all) {
                        ws.statements = writes::write_statements(&pw.statements);
                    }
                }
                Err(e) => {
                    warnings.push(format!("cannot read the primary's pg_stat_statements: {e}"))
                }
            }
        } else {
            warnings.push(
                "pg_stat_statements is not created on the primary: its write statements are unknown\n(on the primary: CREATE EXTENSION pg_stat_statements;)"
                    .into(),
            );
        }
        ws
    } else {
        warnings.push(
            "the server is a replica and no --primary-url was given: write counters are zero on a replica, so the write cost of new indexes cannot be weighed\n(add --primary-url postgres://…/dbname, read-only, to read them from the primary)"
                .into(),
        );
        writes::unavailable()
    };

    Ok(Collected {
        snapshot: Snapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
            server,
            catalog,
            workload: wl,
            write_stats,
            observed,
        },
        warnings,
    })
}
