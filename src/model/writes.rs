//! Write statistics per table: what index maintenance will cost.

use serde::{Deserialize, Serialize};

/// Where write statistics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteSource {
    /// Read from the analysed server, which is a primary.
    Local,
    /// Read from the primary given with `--primary-url` while analysing a replica.
    Primary,
    /// The analysed server is a replica and no primary was given: counters are all zero there,
    /// so write cost cannot be weighed.
    Unavailable,
}

/// Cumulative write counters of one table (`pg_stat_user_tables`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableWrites {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Rows inserted.
    pub n_tup_ins: i64,
    /// Rows updated (HOT included).
    pub n_tup_upd: i64,
    /// Rows updated heap-only (no index entries written).
    pub n_tup_hot_upd: i64,
    /// Rows deleted.
    pub n_tup_del: i64,
    /// Estimated live rows.
    pub n_live_tup: i64,
    /// Estimated dead rows.
    pub n_dead_tup: i64,
}

impl TableWrites {
    /// Share of updates that were HOT, or `None` without updates.
    pub fn hot_share(&self) -> Option<f64> {
        (self.n_tup_upd > 0).then(|| self.n_tup_hot_upd as f64 / self.n_tup_upd as f64)
    }
}

/// Write statistics of the database, sorted by schema and table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteStats {
    /// Where the counters were read.
    pub source: WriteSource,
    /// Statistics reset time of the database (`pg_stat_database.stats_reset`), as text.
    pub since: Option<String>,
    /// Seconds the counters cover, when `since` is known.
    pub seconds: Option<f64>,
    /// Per-table counters.
    pub tables: Vec<TableWrites>,
    /// The write statements (INSERT/UPDATE/DELETE) of the primary's pg_stat_statements,
    /// when read from a primary given with `--primary-url`.
    #[serde(default)]
    pub statements: Vec<crate::model::Statement>,
    /// The counters' deltas over the observation window, when there was one (`tables` keep
    /// the cumulative values, which `verify` takes its own deltas from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowWrites>,
}

/// Write counters' deltas over the observation window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowWrites {
    /// Seconds between the two readings.
    pub seconds: f64,
    /// Per-table deltas (`n_live_tup`/`n_dead_tup`: the second reading's values).
    pub tables: Vec<TableWrites>,
    /// The primary's write statements' pg_stat_statements deltas over the window.
    #[serde(default)]
    pub statements: Vec<crate::model::Statement>,
}

impl WriteStats {
    /// Counters of one table.
    pub fn table(&self, schema: &str, table: &str) -> Option<&TableWrites> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.table == table)
    }

    /// Whether write cost can be weighed at all.
    pub fn available(&self) -> bool {
        self.source != WriteSource::Unavailable
    }
}
