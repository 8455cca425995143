//! `check`: a preflight report a DBA can act on: is the server ready for idxadvise, and the
//! exact SQL or setting for every missing piece.
//!
//! Stage: check (I/O at the edge, read-only). Must not change the server. Invariant: reading
//! facts never fails on a missing extension or privilege (those become findings); only a
//! connection failure or a broken session is an error.

pub mod activity;
pub mod finding;
pub mod prewarm;
pub mod provider;
pub mod qualstats;

pub use finding::{evaluate, ready, Facts, Finding, Level, PrimaryProbe};

use crate::collect::{server, sql};
use crate::config::ConnectionConfig;
use crate::error::Error;
use crate::pg::{self, PgError};

/// Read every fact `check` reports on.
///
/// The session keeps pg_stat_statements tracking on, so that `pg_stat_statements.track` shows
/// the server's own setting; its few statements carry idxadvise's marker and `collect` leaves
/// them out of the workload.
pub async fn facts(config: &ConnectionConfig) -> Result<Facts, Error> {
    let opts = pg::ConnectOptions {
        untracked: false,
        ..config.target.clone()
    };
    let conn = pg::connect(&opts).await?;
    let client = &conn.client;
    let server = server::read(client).await?;
    let r = client
        .query_one(sql::CHECK_SETTINGS, &[])
        .await
        .map_err(|e| PgError::query("reading settings and privileges", e))?;
    let mut x = Facts {
        target: conn.target.clone(),
        preload: r.get("preload"),
        pgss_loaded: r.get("pgss_loaded"),
        pgss_track: r.get("pgss_track"),
        pgss_max: r.get("pgss_max"),
        hypopg_available: r.get("hypopg_available"),
        role: r.get("role"),
        superuser: r.get::<_, Option<bool>>("is_superuser").unwrap_or(false),
        pg_monitor: r.get("pg_monitor"),
        pg_read_all_data: r
            .get::<_, Option<bool>>("pg_read_all_data")
            .unwrap_or(false),
        unreadable_tables: r.get("unreadable_tables"),
        unreadable_example: r.get("unreadable_example"),
        ..Facts::default()
    };
    if x.pgss_loaded && server.pgss_version.is_some() {
        if let Ok(r) = client.query_one(sql::PGSS_COUNT, &[]).await {
            x.pgss_entries = Some((r.get("entries"), r.get("this_database"), r.get("hidden")));
        }
        if let Some((reset, dealloc)) = server::pgss_info(client, &server).await {
            x.pgss_reset = reset;
            x.pgss_dealloc = Some(dealloc);
        }
    }
    if x.pgss_loaded && server.pgss_version.is_some() {
        // Only the statements idxadvise would analyse count (check::activity).
        if let Ok(rows) = client.query(sql::CHECK_ACTIVITY, &[]).await {
            if let Some(size) = rows
                .first()
                .and_then(|r| r.get::<_, Option<i32>>("track_activity_query_size"))
            {
                x.activity_text = Some(activity::measure(
                    size,
                    rows.iter().map(|r| r.get::<_, Option<&str>>("query")),
                ));
            }
        }
    }
    if server.has_parameter_privileges() && x.pgss_loaded {
        x.can_set_track = client
            .query_one(sql::CHECK_TRACK_PRIVILEGE, &[])
            .await
            .ok()
            .map(|r| r.get("can_set"));
    }
    // pg_qualstats (optional): a failed read only leaves the finding out.
    if let Ok(r) = client.query_one(sql::CHECK_QUALSTATS, &[]).await {
        x.qualstats = Some(qualstats::Qualstats {
            available: r.get("available"),
            installed: r.get("installed"),
            loaded: r.get("loaded"),
            sample_rate: r.get("sample_rate"),
        });
    }
    // pg_prewarm (optional): a failed read only leaves the finding out.
    if let Ok(r) = client.query_one(sql::CHECK_PREWARM, &[]).await {
        x.prewarm = Some(prewarm::Prewarm {
            available: r.get("available"),
            installed: r.get("installed"),
        });
    }
    // Which managed service, if any: a failed read only means none is named.
    if let Ok(r) = client.query_one(sql::CHECK_PROVIDER, &[]).await {
        x.provider = provider::detect(&provider::Signals {
            roles: r.get("roles"),
            settings: r.get("settings"),
            aurora: r.get("aurora"),
        });
    }
    if server.in_recovery {
        if let Some(p) = &config.primary {
            x.primary = Some(match pg::connect(p).await {
                Ok(pc) => {
                    let probe = match server::read(&pc.client).await {
                        Ok(ps) => PrimaryProbe::Reached {
                            target: pc.target.clone(),
                            in_recovery: ps.in_recovery,
                        },
                        Err(e) => PrimaryProbe::Failed(first_line(&e.to_string())),
                    };
                    pc.close().await;
                    probe
                }
                Err(e) => PrimaryProbe::Failed(first_line(&e.to_string())),
            });
        }
    }
    x.server = server;
    conn.close().await;
    Ok(x)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}
