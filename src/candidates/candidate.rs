//! The candidate type: an index spec and why it was proposed.

use serde::{Deserialize, Serialize};

use crate::model::IndexSpec;

/// The rule that produced a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Equality columns, then ORDER BY columns in matching directions.
    EqualityThenSort,
    /// Equality columns, then one range column.
    EqualityThenRange,
    /// Equality columns only.
    Equality,
    /// Inner side of a join: join column first, then local equality columns.
    JoinInner,
    /// ORDER BY alone (top-N without filters).
    SortOnly,
    /// GROUP BY columns.
    GroupBy,
    /// A covering variant with INCLUDE of the columns read.
    Covering,
    /// A partial variant from a parameter-free predicate (`deleted_at IS NULL`, booleans).
    PartialPredicate,
    /// A partial variant for a rare value of a skewed column.
    PartialSkew,
    /// `UPPER(col)` for `iexact`/`istartswith`.
    UpperExpression,
    /// `text_pattern_ops`/`varchar_pattern_ops` for prefix LIKE under a non-C collation.
    PatternOps,
    /// A single column.
    SingleColumn,
    /// A dimension table's filter column, or a fact table's join key, in a star join.
    DimensionFilter,
}

/// Where a candidate came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// The statement.
    pub queryid: i64,
    /// The rule.
    pub rule: Rule,
}

/// One candidate index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// What to build.
    pub spec: IndexSpec,
    /// Why: every (statement, rule) that proposed it, sorted.
    pub sources: Vec<Source>,
}

/// Advice for shapes no B-tree serves (not simulated: HypoPG cannot simulate GIN/GiST).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Advice {
    /// The statement.
    pub queryid: i64,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// The advice, e.g. `a trigram GIN index (pg_trgm) serves icontains`.
    pub message: String,
}

/// All candidates of a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CandidateSet {
    /// Candidates, sorted by spec; a candidate's index in this list is its id everywhere.
    pub candidates: Vec<Candidate>,
    /// Not-simulated advice.
    pub advice: Vec<Advice>,
}
