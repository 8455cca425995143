//! The snapshot: everything `collect` reads, as one versioned JSON document.

use serde::{Deserialize, Serialize};

use super::{Catalog, LogReading, ObservedValues, ServerInfo, Workload, WriteStats};

/// Current snapshot format. Bump on any incompatible change.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// What every stage after `collect` works from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// `idxadvise <version>`.
    pub created_by: String,
    /// The analysed server.
    pub server: ServerInfo,
    /// Schema and planner statistics.
    pub catalog: Catalog,
    /// Statements from pg_stat_statements.
    pub workload: Workload,
    /// Write rates.
    pub write_stats: WriteStats,
    /// Parameter values observed while collecting (left out of the JSON when no source ran).
    #[serde(default, skip_serializing_if = "ObservedValues::is_unused")]
    pub observed: ObservedValues,
    /// Statements read from server log files (`--log`); empty when none were given.
    #[serde(default, skip_serializing_if = "LogReading::is_empty")]
    pub logs: LogReading,
}

impl Snapshot {
    /// Parse a snapshot, refusing other format versions with a clear message.
    pub fn from_json(text: &str) -> Result<Snapshot, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON snapshot: {e}"))?;
        let fv = v.get("format_version").and_then(|f| f.as_u64());
        match fv {
            Some(n) if n == SNAPSHOT_FORMAT_VERSION as u64 => {}
            Some(n) => {
                return Err(format!(
                    "snapshot format_version {n} is not supported (this build reads {SNAPSHOT_FORMAT_VERSION})"
                ))
            }
            None => return Err("not an idxadvise snapshot: no format_version".into()),
        }
        serde_json::from_value(v).map_err(|e| format!("malformed snapshot: {e}"))
    }
}
