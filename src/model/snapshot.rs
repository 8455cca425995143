//! The snapshot: everything `collect` reads, as one versioned JSON document.

use serde::{Deserialize, Serialize};

use super::{Catalog, ContentType, LogReading, ObservedValues, ServerInfo, Workload, WriteStats};

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
    /// The rows of Django's `django_content_type`, when the database has that table (the
    /// models' names when no project is given: [`super::AppNames::from_content_types`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_types: Vec<ContentType>,
}

impl Snapshot {
    /// Parse a snapshot, refusing other format versions with a clear message.
    pub fn from_json(text: &str) -> Result<Snapshot, super::versioned::FormatError> {
        super::versioned::from_json(text, "snapshot", SNAPSHOT_FORMAT_VERSION)
    }
}
