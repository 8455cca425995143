//! The structured shape of one statement: what the candidate generator, the what-if engine and
//! the write-cost model need to know about it.

use serde::{Deserialize, Serialize};

/// What kind of statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// SELECT (also WITH … SELECT, UNION, VALUES).
    Select,
    /// INSERT.
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
}

/// One statement, understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryShape {
    /// The statement's queryid.
    pub queryid: i64,
    /// Kind.
    pub kind: StatementKind,
    /// The text to prepare and EXPLAIN: the original with typed-literal placeholders repaired
    /// (`interval $2` → `$2::interval`); for an UPDATE or DELETE, the SELECT of the rows it
    /// writes (what an index changes for it, plannable without the write privilege).
    pub plan_text: String,
    /// Highest `$n` in the text.
    pub param_count: u32,
    /// Every user table the statement touches, in order of appearance: one entry per
    /// occurrence (a self-join or a table read again in a subquery gives several entries, each
    /// with only its own predicates, so facts of different scans are never mixed).
    pub tables: Vec<TableAccess>,
    /// What each parameter is compared with, so representative values can be bound.
    pub params: Vec<ParamUse>,
    /// The outermost LIMIT.
    pub limit: Option<Limit>,
    /// The outermost query has an OFFSET.
    pub offset: bool,
}

/// A LIMIT clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `LIMIT $n`.
    Param(u32),
    /// `LIMIT 20`.
    Const(u64),
}

/// How one statement uses one table. Column lists are sorted and deduplicated unless noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TableAccess {
    /// Schema (resolved against the catalog).
    pub schema: String,
    /// Table.
    pub table: String,
    /// Aliases used for it in the statement (the alias of this occurrence, if any).
    pub aliases: Vec<String>,
    /// Columns compared for equality: `= $n`, `= const`, `IN (…)`, `= ANY($n)`.
    pub equality: Vec<String>,
    /// Columns compared by range: `<`, `<=`, `>`, `>=`, `BETWEEN`.
    pub ranges: Vec<String>,
    /// `col IS NULL` (true) / `col IS NOT NULL` (false).
    pub null_tests: Vec<(String, bool)>,
    /// Bare boolean `col` (true) / `NOT col` (false).
    pub booleans: Vec<(String, bool)>,
    /// `UPPER(col::text) = UPPER($n)` (Django `iexact`).
    pub upper_equality: Vec<String>,
    /// `LIKE`/`ILIKE` with a pattern that may be a prefix.
    pub likes: Vec<LikeUse>,
    /// Columns this table is joined on.
    pub join_columns: Vec<String>,
    /// ORDER BY keys on this table's columns, in order (not sorted): the longest leading run of
    /// the query block's ORDER BY keys that are plain columns of this occurrence (a key on
    /// another table or an expression ends the run, since an index cannot give that order).
    pub order_by: Vec<OrderKey>,
    /// GROUP BY columns, in order (not sorted).
    pub group_by: Vec<String>,
    /// SELECT DISTINCT over this table's columns.
    pub distinct: bool,
    /// Every column of this table the statement reads (for covering indexes).
    pub columns_read: Vec<String>,
    /// UPDATE only: the columns it SETs (a changed indexed column makes the update non-HOT).
    pub set_columns: Vec<String>,
    /// This is the table the statement writes (INSERT/UPDATE/DELETE target).
    pub is_target: bool,
    /// Columns compared with an operator only GIN/GiST serve (`@>`, `<@`, `?`, `?|`, `?&`,
    /// `@@`, `&&`): jsonb/array containment, full-text search. Added for `candidates` advice;
    /// absent in older JSON (defaults to empty).
    #[serde(default)]
    pub containment: Vec<String>,
}

/// A `LIKE`-style use of a column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LikeUse {
    /// Column.
    pub column: String,
    /// Wrapped in `UPPER(...)` on both sides (Django `istartswith`).
    pub upper: bool,
    /// `ILIKE`.
    pub ilike: bool,
    /// The pattern is known to be a prefix (`'abc%'`), or is a parameter (Django appends `%`
    /// inside the parameter for `startswith`, so we cannot tell and mark it `false`).
    pub prefix: bool,
    /// The pattern is known to start with `%` (`icontains`): no B-tree can serve it.
    pub leading_wildcard: bool,
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderKey {
    /// Column.
    pub column: String,
    /// DESC.
    pub desc: bool,
    /// Explicit NULLS FIRST/LAST.
    pub nulls_first: Option<bool>,
}

/// What one `$n` is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamUse {
    /// The parameter number (`$3` → 3).
    pub param: u32,
    /// Schema of the compared column, when known.
    pub schema: Option<String>,
    /// Table of the compared column, when known.
    pub table: Option<String>,
    /// The compared column, when known.
    pub column: Option<String>,
    /// How it is used.
    pub op: ParamOp,
}

/// How a parameter is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamOp {
    /// `col = $n`, `col IN ($n, …)`, `col = ANY($n)`.
    Eq,
    /// `col IN ($n /*, ... */)`: a list of values pg_stat_statements folded into one `$n`
    /// (PostgreSQL 18+ squashes an IN list of any length into one entry). The plan text has
    /// `col = ANY($n)` there, and `$n` is bound to an array (docs/postgres-facts.md §13).
    /// The column is an equality column of its table, as for `Eq`.
    InList,
    /// `col < $n` and friends: the lower side of a range. Precisely: the column is on the lower
    /// side, the parameter bounds it from above (`col < $n`, `col <= $n`, `$n > col`, the
    /// high end of `BETWEEN`); bind a value from the upper part of the histogram.
    Lower,
    /// `col > $n` and friends: the upper side of a range. Precisely: the parameter bounds the
    /// column from below (`col > $n`, `col >= $n`, the low end of `BETWEEN`).
    Upper,
    /// `col LIKE $n`.
    Like,
    /// `LIMIT $n`.
    Limit,
    /// `OFFSET $n`.
    Offset,
    /// A value in INSERT VALUES or UPDATE SET.
    Value,
    /// Anything else (`SELECT $1 AS "a"`, function arguments). `column` may still be set when
    /// the parameter is compared with a function of a column (`(col AT TIME ZONE $1)::date =
    /// $2`: `$2` is `Other` on `col`) or with `<>`.
    Other,
}
