//! Facts about the server: version, recovery, database, extension versions.
//!
//! Stage: collect (also used by `check`). Must not write anything.

use tokio_postgres::Client;

use crate::model::ServerInfo;
use crate::pg::PgError;

use super::sql;

/// Read the server's facts.
pub async fn read(client: &Client) -> Result<ServerInfo, PgError> {
    let r = client
        .query_one(sql::SERVER, &[])
        .await
        .map_err(|e| PgError::query("reading server facts", e))?;
    Ok(ServerInfo {
        version_num: r.get::<_, i32>("version_num").max(0) as u32,
        version: r.get("version"),
        in_recovery: r.get("in_recovery"),
        database: r.get("database"),
        hypopg_version: r.get("hypopg_version"),
        pgss_version: r.get("pgss_version"),
        database_size_bytes: r.get::<_, Option<i64>>("database_size"),
        shared_buffers_bytes: r.get::<_, Option<i64>>("shared_buffers"),
    })
}

/// `pg_stat_statements_info.stats_reset` and `dealloc` (PG14+; `None` before, or when the
/// extension's SQL objects are older than 1.9).
pub async fn pgss_info(client: &Client, server: &ServerInfo) -> Option<(Option<String>, i64)> {
    pgss_window(client, server)
        .await
        .map(|(since, dealloc, _)| (since, dealloc))
}

/// Like [`pgss_info`], with the seconds pg_stat_statements' counters cover.
pub async fn pgss_window(
    client: &Client,
    server: &ServerInfo,
) -> Option<(Option<String>, i64, Option<f64>)> {
    if !server.has_pgss_info() {
        return None;
    }
    let r = client.query_opt(sql::PGSS_INFO, &[]).await.ok()??;
    Some((r.get("stats_reset"), r.get("dealloc"), r.get("seconds")))
}
