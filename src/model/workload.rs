//! The workload: statements from `pg_stat_statements`, weighted by calls and time.

use serde::{Deserialize, Serialize};

/// One `pg_stat_statements` entry of the analysed database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `queryid`; the key of a statement everywhere (printing a parsed statement drops comments).
    pub queryid: i64,
    /// Normalised text with `$n` placeholders.
    pub query: String,
    /// Number of executions.
    pub calls: i64,
    /// Total execution time in milliseconds.
    pub total_time_ms: f64,
    /// Mean execution time in milliseconds.
    pub mean_time_ms: f64,
    /// Rows returned or affected, in total.
    pub rows: i64,
    /// Shared blocks hit, in total.
    pub shared_blks_hit: i64,
    /// Shared blocks read, in total.
    pub shared_blks_read: i64,
    /// Standard deviation of the execution time, ms (pg_stat_statements' population
    /// `stddev_exec_time`), when known: `verify` weighs a change of the mean against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev_time_ms: Option<f64>,
}

impl Statement {
    /// A statement known only by its text: every counter zero (parsing a text on its own, or
    /// the start of a sum of counters).
    pub fn text(queryid: i64, query: &str) -> Statement {
        Statement {
            queryid,
            query: query.to_string(),
            calls: 0,
            total_time_ms: 0.0,
            mean_time_ms: 0.0,
            rows: 0,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        }
    }
}

#[cfg(test)]
impl Statement {
    /// A statement called once for 1 ms (unit tests of matching and observation).
    pub fn once(queryid: i64, query: &str) -> Statement {
        Statement {
            queryid,
            query: query.into(),
            calls: 1,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        }
    }
}

/// The statements of the workload, sorted by total time descending, then queryid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Workload {
    /// The statements kept after filtering.
    pub statements: Vec<Statement>,
    /// Statements `collect` left out, with why (own statements, utility, FK checks, filters).
    #[serde(default)]
    pub excluded: Vec<Excluded>,
    /// `pg_stat_statements_info.stats_reset`, as text, when known.
    #[serde(default)]
    pub stats_since: Option<String>,
    /// Seconds the pg_stat_statements counters cover (now − `stats_reset`), when known.
    #[serde(default)]
    pub window_seconds: Option<f64>,
    /// What the observation window saw and which counters became `statements` (none for
    /// snapshots taken before the window existed, or of one statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<super::Observation>,
}

/// A statement `collect` left out of the workload, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    /// The statement's queryid.
    pub queryid: i64,
    /// Why it was left out, e.g. `django foreign-key check`.
    pub reason: String,
}

impl Workload {
    /// Sum of total execution time over the kept statements, in milliseconds.
    pub fn total_time_ms(&self) -> f64 {
        self.statements.iter().map(|s| s.total_time_ms).sum()
    }

    /// Find a statement by queryid.
    pub fn get(&self, queryid: i64) -> Option<&Statement> {
        self.statements.iter().find(|s| s.queryid == queryid)
    }
}
