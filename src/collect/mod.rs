//! `collect`: read the workload, catalog and write statistics of a server into a [`Snapshot`].
//!
//! Stage: collect (I/O at the edge). Must not change the server: every session is read-only and
//! untracked by pg_stat_statements when the role may say so (docs/postgres-facts.md §2), and
//! the tool's own statements are left out of the workload when it may not. Invariant: a
//! snapshot is either complete or not produced at all (see [`output::write_atomic`]).

pub mod activity;
pub mod catalog;
pub mod log;
pub mod observe;
pub mod output;
pub mod qualstats;
pub mod server;
pub mod source;
pub mod sql;
pub mod window;
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
        let message = format!(
            "pg_stat_statements is not loaded on the server of database {database:?}\n(add it to shared_preload_libraries in postgresql.conf and restart: shared_preload_libraries = 'pg_stat_statements')"
        );
        Error::caused(crate::error::Kind::Prerequisite, message, e)
    } else {
        e.into()
    }
}

/// Take a snapshot of the server in `config`: server facts, workload, catalog, write
/// statistics, over the observation window of `config.window` (see [`window`]). Errors:
/// connection ([`Error::Connect`]), missing pg_stat_statements or hidden texts
/// ([`Error::Prerequisite`]), an empty workload ([`Error::Workload`]).
pub async fn collect_with_warnings(config: &CollectConfig) -> Result<Collected, Error> {
    Ok(collect_observed(config, |_| async {}).await?.0)
}

/// The primary given with `--primary-url` while analysing a replica.
struct Primary {
    conn: pg::Connection,
    server: crate::model::ServerInfo,
}

/// One reading of the counters.
struct Reading {
    target: Vec<workload::RawStatement>,
    pgss_reset: Option<String>,
    primary: Option<Vec<workload::RawStatement>>,
    writes: Option<crate::model::WriteStats>,
}

async fn read_counters(
    client: &tokio_postgres::Client,
    server: &crate::model::ServerInfo,
    primary: Option<&Primary>,
    warnings: &mut Vec<String>,
) -> Result<Reading, Error> {
    let target = workload::read(client, server)
        .await
        .map_err(|e| pgss_error(&server.database, e))?;
    let pgss_reset = server::pgss_window(client, server)
        .await
        .and_then(|(since, _, _)| since);
    let mut reading = Reading {
        target,
        pgss_reset,
        primary: None,
        writes: None,
    };
    if !server.in_recovery {
        reading.writes = Some(writes::read(client, WriteSource::Local).await?);
    } else if let Some(p) = primary {
        reading.writes = Some(writes::read(&p.conn.client, WriteSource::Primary).await?);
        if p.server.pgss_version.is_some() {
            match workload::read(&p.conn.client, &p.server).await {
                Ok(rows) => reading.primary = Some(rows),
                Err(e) => {
                    warnings.push(format!("cannot read the primary's pg_stat_statements: {e}"))
                }
            }
        }
    }
    Ok(reading)
}

/// [`collect_with_warnings`], running `observer` during the observation window: it gets the
/// window's [`window::WindowClock`] and its output is returned with the snapshot (the seam for
/// other observers, such as an activity sampler; see the [`window`] module).
pub async fn collect_observed<O, F, Fut>(
    config: &CollectConfig,
    observer: F,
) -> Result<(Collected, O), Error>
where
    F: FnOnce(window::WindowClock) -> Fut,
    Fut: std::future::Future<Output = O>,
{
    use crate::model::{Basis, Observation, PrimaryStatements, RunsOn, ServerShare};
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
    let primary = match (&config.connection.primary, server.in_recovery) {
        (Some(p), true) => {
            let pconn = pg::connect(p).await?;
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
            if pserver.pgss_version.is_none() {
                warnings.push(
                    "pg_stat_statements is not created on the primary: its statements (reads and writes) are unknown\n(on the primary: CREATE EXTENSION pg_stat_statements;)"
                        .into(),
                );
            }
            Some(Primary {
                conn: pconn,
                server: pserver,
            })
        }
        _ => None,
    };

    // The window: a first reading, the wait (with the observers), the second reading.
    let length = config.window.length;
    let first = if length.is_zero() {
        None
    } else {
        Some(read_counters(client, &server, primary.as_ref(), &mut warnings).await?)
    };
    let clock = window::WindowClock::start(length);
    let started = std::time::Instant::now();
    let what = if primary.is_some() {
        "the replica and the primary"
    } else {
        "the server"
    };
    // The parameter values the application sends, sampled from pg_stat_activity during the
    // window, matched against the statements of the first reading.
    let mut values = crate::model::observed::ObservationBuilder::default();
    let prelim = match &first {
        Some(f) => {
            let mut rows = f.target.clone();
            rows.extend(f.primary.iter().flatten().cloned());
            workload::build(rows, &crate::config::WorkloadFilter::default()).ok()
        }
        None => None,
    };
    let deadline = std::time::Instant::now() + length;
    // The primary's running statements too (indexes built there serve both servers).
    let mut primary_values = crate::model::observed::ObservationBuilder::default();
    let ((), observed, sampled, primary_sampled) = tokio::join!(
        async {
            if !length.is_zero() {
                window::wait(clock, config.window.quiet, what).await
            }
        },
        observer(clock),
        async {
            match &prelim {
                Some(wl) if config.window.sample_values => {
                    observe::sample_until(client, &server, wl, deadline, &mut values).await
                }
                _ => Ok(()),
            }
        },
        async {
            match (&prelim, &primary) {
                (Some(wl), Some(p)) if config.window.sample_values => {
                    observe::sample_until(
                        &p.conn.client,
                        &p.server,
                        wl,
                        deadline,
                        &mut primary_values,
                    )
                    .await
                }
                _ => Ok(()),
            }
        }
    );
    if let Err(e) = sampled {
        warnings.push(format!(
            "pg_stat_activity could not be sampled for parameter values: {e}\n(grant pg_monitor to the role; values then come from pg_stat_statements' statistics only)"
        ));
    }
    if let Err(e) = primary_sampled {
        warnings.push(format!(
            "the primary's pg_stat_activity could not be sampled for parameter values: {e}\n(grant pg_monitor to the role on the primary)"
        ));
    }
    let window_s = if length.is_zero() {
        0.0
    } else {
        started.elapsed().as_secs_f64()
    };
    let last = read_counters(client, &server, primary.as_ref(), &mut warnings).await?;

    // The cumulative workload: the replica's statements, and the primary's when read.
    let mut cumulative_rows = last.target.clone();
    cumulative_rows.extend(last.primary.iter().flatten().cloned());
    let mut wl = workload::build(cumulative_rows, &config.filter)?;
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
    if let Some((since, _, seconds)) = server::pgss_window(client, &server).await {
        wl.stats_since = since;
        wl.window_seconds = seconds.filter(|s| s.is_finite() && *s > 0.0);
    }

    // The window's workload, and the decision between the two.
    let (target_d, primary_d) = match &first {
        Some(f) => (
            window::statement_deltas(&f.target, &last.target),
            match (&f.primary, &last.primary) {
                (Some(a), Some(b)) => Some(window::statement_deltas(a, b)),
                (None, Some(b)) => Some(b.clone()),
                _ => None,
            },
        ),
        None => (vec![], None),
    };
    let mut window_rows = target_d.clone();
    window_rows.extend(primary_d.iter().flatten().cloned());
    let window_wl = (first.is_some())
        .then(|| workload::build(window_rows, &config.filter).ok())
        .flatten();
    let window_calls: i64 = window_wl
        .as_ref()
        .map(|w| w.statements.iter().map(|s| s.calls).sum())
        .unwrap_or(0);
    let window_statements = window_wl.as_ref().map(|w| w.statements.len()).unwrap_or(0);
    let pgss_reset = first
        .as_ref()
        .is_some_and(|f| f.pgss_reset != last.pgss_reset);
    let (basis, why) = window::decide(window_s, window_calls, pgss_reset);
    let (target_set, primary_set): (Vec<i64>, Vec<i64>) = {
        let ids = |rows: &[workload::RawStatement]| {
            let mut v: Vec<i64> = rows
                .iter()
                .filter(|r| r.calls > 0)
                .filter_map(|r| r.queryid)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        match basis {
            Basis::Window => (
                ids(&target_d),
                primary_d.as_deref().map(ids).unwrap_or_default(),
            ),
            Basis::Cumulative => (
                ids(&last.target),
                last.primary.as_deref().map(ids).unwrap_or_default(),
            ),
        }
    };
    let mut cumulative = vec![];
    if basis == Basis::Window {
        if let Some(mut w) = window_wl {
            let mut c: Vec<crate::model::Statement> = w
                .statements
                .iter()
                .filter_map(|s| wl.get(s.queryid).cloned())
                .collect();
            c.sort_by_key(|s| s.queryid);
            cumulative = c;
            w.stats_since = wl.stats_since.clone();
            w.window_seconds = Some(window_s);
            wl = w;
        }
    }
    let primary_statements = if !server.in_recovery {
        PrimaryStatements::Analysed
    } else if primary.is_none() {
        PrimaryStatements::NotSeen
    } else if last.primary.is_some() {
        PrimaryStatements::Merged
    } else {
        PrimaryStatements::Unreadable
    };
    if primary_statements == PrimaryStatements::NotSeen {
        warnings.push(
            "the server is a replica and no --primary-url was given: write counters are zero on a replica, so the write cost of new indexes cannot be weighed, and the statements that run on the primary were not seen\n(add --primary-url postgres://…/dbname, read-only, to read them from the primary)"
                .into(),
        );
    }
    let mut runs_on = vec![];
    let mut split: Vec<ServerShare> = vec![];
    if primary_statements == PrimaryStatements::Merged {
        for s in &wl.statements {
            let r = target_set.binary_search(&s.queryid).is_ok();
            let p = primary_set.binary_search(&s.queryid).is_ok();
            let where_ = match (r, p) {
                (true, true) => RunsOn::Both,
                (false, true) => RunsOn::Primary,
                _ => RunsOn::Replica,
            };
            runs_on.push((s.queryid, where_));
            match split.iter_mut().find(|x| x.runs_on == where_) {
                Some(x) => {
                    x.statements += 1;
                    x.calls += s.calls;
                    x.total_time_ms += s.total_time_ms;
                }
                None => split.push(ServerShare {
                    runs_on: where_,
                    statements: 1,
                    calls: s.calls,
                    total_time_ms: s.total_time_ms,
                }),
            }
        }
        runs_on.sort_unstable();
        split.sort_by_key(|x| x.runs_on);
    }
    if wl.statements.is_empty() {
        return Err(Error::Workload(format!(
            "no statements to analyse in database {:?}: pg_stat_statements holds none for it ({} left out: utility, idxadvise's own, filters)\n(let the application run for a while after the last pg_stat_statements_reset(), or lower --min-calls)",
            server.database,
            wl.excluded.len()
        )));
    }
    let values_observed = if first.is_some() && config.window.sample_values {
        let mut v = observe::finish(client, &wl, values, &mut warnings).await;
        if primary.is_some() {
            v.merge_sampled(observe::finish_sampled(
                &wl,
                primary_values,
                "primary",
                &mut warnings,
            ));
        }
        v
    } else {
        observe::observe(client, &wl, &mut warnings).await
    };
    wl.observation = Some(Observation {
        window_s,
        basis,
        why,
        window_calls,
        window_statements,
        primary_statements,
        runs_on,
        split,
        cumulative,
    });
    let catalog = catalog::read(client).await?;
    let content_types = catalog::content_types(client).await;

    let write_stats = match last.writes {
        Some(mut ws) => {
            let all = crate::config::WorkloadFilter::default();
            if let Some(rows) = &last.primary {
                if let Ok(pw) = workload::build(rows.clone(), &all) {
                    ws.statements = writes::write_statements(&pw.statements);
                }
            }
            if let (Some(f), true) = (&first, window_s > 0.0) {
                let before = f
                    .writes
                    .as_ref()
                    .map(|w| w.tables.as_slice())
                    .unwrap_or(&[]);
                let statements = match &primary_d {
                    Some(rows) => workload::build(rows.clone(), &all)
                        .map(|w| writes::write_statements(&w.statements))
                        .unwrap_or_default(),
                    None => vec![],
                };
                ws.window = Some(crate::model::WindowWrites {
                    seconds: window_s,
                    tables: window::table_deltas(before, &ws.tables),
                    statements,
                });
            }
            ws
        }
        None => writes::unavailable(),
    };
    drop(primary);

    Ok((
        Collected {
            snapshot: Snapshot {
                format_version: SNAPSHOT_FORMAT_VERSION,
                created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
                server,
                catalog,
                workload: wl,
                write_stats,
                observed: values_observed,
                logs: Default::default(),
                content_types,
            },
            warnings,
        },
        observed,
    ))
}
