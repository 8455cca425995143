//! Skipped statements: one statement that cannot be parsed, prepared or planned is recorded with
//! its reason and the run goes on.

use serde::{Deserialize, Serialize};

/// Why a statement was skipped. The report counts skips by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// SAVEPOINT, DEALLOCATE, SET, BEGIN, … : nothing an index changes.
    Utility,
    /// The text was cut at `track_activity_query_size`.
    Truncated,
    /// sqlparser could not parse it.
    Unparseable,
    /// It names a table that is not in the catalog (dropped since, or temporary).
    UnknownTable,
    /// It only reads system catalogs.
    SystemCatalog,
    /// No user table is involved (e.g. `SELECT $1`).
    NoTable,
    /// The server could not prepare it (parameter types, syntax the server refuses).
    PrepareFailed,
    /// The server could not plan it.
    PlanFailed,
    /// EXPLAIN took longer than `statement_timeout`.
    Timeout,
    /// Several statements in one text.
    MultiStatement,
}

impl SkipReason {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Utility => "utility statement",
            SkipReason::Truncated => "truncated text",
            SkipReason::Unparseable => "cannot be parsed",
            SkipReason::UnknownTable => "unknown table",
            SkipReason::SystemCatalog => "system catalog",
            SkipReason::NoTable => "no table",
            SkipReason::PrepareFailed => "cannot be prepared",
            SkipReason::PlanFailed => "cannot be planned",
            SkipReason::Timeout => "timed out",
            SkipReason::MultiStatement => "several statements",
        }
    }
}

/// A statement left out of the analysis, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The statement's queryid.
    pub queryid: i64,
    /// The category.
    pub reason: SkipReason,
    /// The precise message (the parser's or the server's), one line.
    pub detail: String,
}
