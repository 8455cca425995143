//! The catalog: tables, columns, existing indexes and planner statistics.
//!
//! Invariant: tables are sorted by (schema, name), columns by attnum, indexes by name, so a
//! snapshot is deterministic.

use serde::{Deserialize, Serialize};

use super::method::IndexMethod;

/// All user tables of the analysed database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Catalog {
    /// User tables (ordinary and partitioned), sorted by schema then name.
    pub tables: Vec<Table>,
    /// The schemas on the session's `search_path`, in order, to resolve unqualified names.
    #[serde(default)]
    pub search_path: Vec<String>,
}

impl Catalog {
    /// Every name in use by a table, an index or a constraint: what a new index's name must
    /// not be.
    pub fn relation_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().flat_map(|t| {
            std::iter::once(t.name.as_str())
                .chain(t.indexes.iter().map(|i| i.name.as_str()))
                .chain(t.constraints.iter().map(|c| c.name.as_str()))
        })
    }

    /// Find a table by schema and name (exact, case-sensitive, as stored in the catalog).
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }

    /// Resolve an unqualified table name through the search path (`public` when empty).
    pub fn resolve(&self, name: &str) -> Option<&Table> {
        let default = ["public".to_string()];
        let path: &[String] = if self.search_path.is_empty() {
            &default
        } else {
            &self.search_path
        };
        path.iter().find_map(|s| self.table(s, name))
    }

    /// Whether `schema.name` is an existing index the planner leaves out for now
    /// ([`ExistingIndex::waiting`]).
    pub fn index_waits(&self, schema: &str, name: &str) -> bool {
        self.tables
            .iter()
            .filter(|t| t.schema == schema)
            .flat_map(|t| &t.indexes)
            .any(|i| i.name == name && i.waiting())
    }

    /// Every existing index name, across tables, for uniqueness checks.
    pub fn index_names(&self) -> impl Iterator<Item = &str> {
        self.tables
            .iter()
            .flat_map(|t| t.indexes.iter().map(|i| i.name.as_str()))
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `pg_class.oid`.
    pub oid: u32,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// `pg_class.reltuples` (planner's row estimate; -1 means never analysed).
    pub rows: f64,
    /// `pg_class.relpages`.
    pub pages: i64,
    /// `pg_class.relallvisible / relpages` (0 when no pages).
    pub all_visible_frac: f64,
    /// `pg_total_relation_size` minus indexes: the heap (and TOAST) size in bytes.
    pub size_bytes: i64,
    /// Heap fillfactor (100 unless set).
    pub fillfactor: u8,
    /// Columns, sorted by attnum.
    pub columns: Vec<Column>,
    /// Existing indexes, sorted by name.
    pub indexes: Vec<ExistingIndex>,
    /// Constraints (primary key, unique, foreign key, check, exclusion), sorted by name.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

impl Table {
    /// Find a column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `schema.name` for messages (unquoted).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// `attnum`.
    pub attnum: i16,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(254)`.
    pub type_name: String,
    /// `attnotnull`.
    pub not_null: bool,
    /// Column collation name when not the type default (e.g. `C`), else `None`.
    pub collation: Option<String>,
    /// Planner statistics from `pg_stats`, when the table was analysed.
    pub stats: Option<ColumnStats>,
}

/// `pg_stats` for one column. Values are kept as text (their output form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ColumnStats {
    /// Fraction of nulls.
    pub null_frac: f64,
    /// Average width in bytes.
    pub avg_width: i32,
    /// Distinct values: positive is a count, negative is minus a fraction of the rows.
    pub n_distinct: f64,
    /// Most common values (text form).
    pub most_common_vals: Vec<String>,
    /// Their frequencies, same length.
    pub most_common_freqs: Vec<f64>,
    /// Histogram bounds (text form), excluding the most common values.
    pub histogram_bounds: Vec<String>,
    /// Physical order correlation.
    pub correlation: Option<f64>,
    /// Values the application is known to compare this column with (`--hot-values`): when set,
    /// the what-if engine binds these, equally weighted, instead of the common values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workload_values: Vec<String>,
}

impl ColumnStats {
    /// Estimated number of distinct values for a table of `rows` rows.
    pub fn distinct(&self, rows: f64) -> f64 {
        if self.n_distinct >= 0.0 {
            self.n_distinct.max(1.0)
        } else {
            (-self.n_distinct * rows).max(1.0)
        }
    }
}

/// Snapshots written before `planner_ready` was collected: an index was taken as usable.
fn planner_ready_default() -> bool {
    true
}

/// One existing index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingIndex {
    /// Index name.
    pub name: String,
    /// `pg_get_indexdef`.
    pub definition: String,
    /// Access method, as the catalog says (`btree`, `gin`, `hash`, an extension's, …).
    pub method: IndexMethod,
    /// Key columns in order; an expression key is its text, with `is_expression`.
    pub keys: Vec<ExistingKey>,
    /// `INCLUDE` columns.
    pub include: Vec<String>,
    /// Partial predicate (`pg_get_expr(indpred)`), if any.
    pub predicate: Option<String>,
    /// `indisunique`.
    pub unique: bool,
    /// `indisprimary`.
    pub primary: bool,
    /// Backs a constraint (primary key, unique or exclusion).
    pub constraint: Option<String>,
    /// `indisvalid`.
    pub valid: bool,
    /// The planner may use it now. False for a while after a plain `CREATE INDEX` that met
    /// broken HOT chains (`pg_index.indcheckxmin`): until every transaction older than the
    /// index ends, the planner leaves it out of every plan (docs/postgres-facts.md §14).
    #[serde(default = "planner_ready_default")]
    pub planner_ready: bool,
    /// `pg_relation_size` in bytes.
    pub size_bytes: i64,
    /// `pg_stat_user_indexes.idx_scan`.
    pub scans: i64,
}

#[cfg(test)]
impl Table {
    /// An empty table (no rows, columns or indexes) named `schema.name` (tests).
    pub fn named(schema: &str, name: &str) -> Table {
        Table {
            oid: 0,
            schema: schema.into(),
            name: name.into(),
            rows: 0.0,
            pages: 0,
            all_visible_frac: 0.0,
            size_bytes: 0,
            fillfactor: 100,
            columns: vec![],
            indexes: vec![],
            constraints: vec![],
        }
    }
}

impl ExistingIndex {
    /// Valid but left out by the planner until older transactions end (`indcheckxmin`,
    /// `planner_ready` false).
    pub fn waiting(&self) -> bool {
        self.valid && !self.planner_ready
    }
}

#[cfg(test)]
impl ExistingIndex {
    /// A valid single-column B-tree (tests).
    pub fn btree(name: &str, column: &str, unique: bool) -> ExistingIndex {
        ExistingIndex {
            unique,
            ..ExistingIndex::btree_on(name, &[column])
        }
    }

    /// A valid, non-unique B-tree on `columns`, with no size and no scans (tests).
    pub fn btree_on(name: &str, columns: &[&str]) -> ExistingIndex {
        ExistingIndex {
            name: name.into(),
            definition: String::new(),
            method: IndexMethod::Btree,
            keys: columns.iter().map(|c| ExistingKey::column(c)).collect(),
            include: vec![],
            predicate: None,
            unique: false,
            primary: false,
            constraint: None,
            valid: true,
            planner_ready: true,
            size_bytes: 0,
            scans: 0,
        }
    }
}

#[cfg(test)]
impl ExistingKey {
    /// An ascending key on a plain column with the default operator class (tests).
    pub fn column(name: &str) -> ExistingKey {
        ExistingKey {
            expr: name.into(),
            is_expression: false,
            desc: false,
            nulls_first: false,
            opclass: None,
        }
    }
}

/// One key of an existing index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingKey {
    /// Column name, or the expression's text (`upper((email)::text)`).
    pub expr: String,
    /// True when `expr` is an expression rather than a column name.
    pub is_expression: bool,
    /// DESC.
    pub desc: bool,
    /// NULLS FIRST.
    pub nulls_first: bool,
    /// Operator class when not the default one.
    pub opclass: Option<String>,
}

/// One table constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Constraint name.
    pub name: String,
    /// `p`, `u`, `f`, `c`, `x` (pg_constraint.contype).
    pub kind: String,
    /// Columns of the constraint, in order.
    pub columns: Vec<String>,
    /// `pg_get_constraintdef`.
    pub definition: String,
}
