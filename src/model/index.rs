//! Index specifications: what a candidate or recommendation is, independent of any name.
//!
//! Invariant: an [`IndexSpec`] renders to exactly one SQL definition ([`IndexSpec::create_sql`])
//! and every identifier and literal in it goes through [`crate::pg::quote`].

use serde::{Deserialize, Serialize};

use super::method::IndexMethod;
use crate::pg::quote::{ident, literal};

/// An index to simulate, recommend or emit (a B-tree unless [`IndexSpec::method`] says
/// otherwise; candidates are B-trees today).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexSpec {
    /// Schema of the table.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Key columns or expressions, in order.
    pub keys: Vec<IndexKey>,
    /// `INCLUDE` columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Partial-index predicate (terms ANDed), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Predicate>,
    /// `UNIQUE`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// Access method (`USING …`). Absent from JSON for a B-tree, so specs serialise as before
    /// the method was part of the model.
    #[serde(default, skip_serializing_if = "IndexMethod::is_btree")]
    pub method: IndexMethod,
}

/// One key of an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexKey {
    /// The column or expression.
    pub expr: KeyExpr,
    /// Descending.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub desc: bool,
    /// Explicit `NULLS FIRST` (`Some(true)`) or `NULLS LAST` (`Some(false)`); `None` is the
    /// default for the direction (LAST for ASC, FIRST for DESC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls_first: Option<bool>,
    /// Operator class, e.g. `varchar_pattern_ops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opclass: Option<String>,
}

impl IndexKey {
    /// An ascending key on a column.
    pub fn col(name: &str) -> IndexKey {
        IndexKey {
            expr: KeyExpr::Column(name.to_string()),
            desc: false,
            nulls_first: None,
            opclass: None,
        }
    }

    /// A descending key on a column.
    pub fn col_desc(name: &str) -> IndexKey {
        IndexKey {
            desc: true,
            ..IndexKey::col(name)
        }
    }

    /// The key as it appears inside `CREATE INDEX … (here)`.
    pub fn sql(&self) -> String {
        let mut s = match &self.expr {
            KeyExpr::Column(c) => ident(c),
            KeyExpr::Upper(c) => format!("(upper(({})::text))", ident(c)),
        };
        if let Some(op) = &self.opclass {
            s.push(' ');
            s.push_str(&ident(op));
        }
        if self.desc {
            s.push_str(" DESC");
        }
        match (self.desc, self.nulls_first) {
            (false, Some(true)) => s.push_str(" NULLS FIRST"),
            (true, Some(false)) => s.push_str(" NULLS LAST"),
            _ => {}
        }
        s
    }
}

/// What a key indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyExpr {
    /// A plain column.
    Column(String),
    /// `upper(col::text)`: Django's `iexact`/`istartswith` (`Upper("col")` in Django).
    Upper(String),
}

impl KeyExpr {
    /// The column the key reads.
    pub fn column(&self) -> &str {
        match self {
            KeyExpr::Column(c) | KeyExpr::Upper(c) => c,
        }
    }
}

/// A partial-index predicate: its terms ANDed, sorted for determinism.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Predicate {
    /// The terms, all of which must hold.
    pub terms: Vec<PredTerm>,
}

/// One term of a partial-index predicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum PredTerm {
    /// `col IS NULL`.
    IsNull {
        /// Column.
        column: String,
    },
    /// `col IS NOT NULL`.
    IsNotNull {
        /// Column.
        column: String,
    },
    /// Bare boolean `col` (Django `filter(flag=True)`).
    IsTrue {
        /// Column.
        column: String,
    },
    /// `NOT col`.
    IsFalse {
        /// Column.
        column: String,
    },
    /// `col = 'value'` with a constant (a skewed value from the most common values).
    Eq {
        /// Column.
        column: String,
        /// The value's text form.
        value: String,
        /// The column's type, for the cast (`'pending'::text`).
        type_name: String,
    },
}

impl PredTerm {
    /// The column the term reads.
    pub fn column(&self) -> &str {
        match self {
            PredTerm::IsNull { column }
            | PredTerm::IsNotNull { column }
            | PredTerm::IsTrue { column }
            | PredTerm::IsFalse { column }
            | PredTerm::Eq { column, .. } => column,
        }
    }

    /// SQL text of the term.
    pub fn sql(&self) -> String {
        match self {
            PredTerm::IsNull { column } => format!("{} IS NULL", ident(column)),
            PredTerm::IsNotNull { column } => format!("{} IS NOT NULL", ident(column)),
            PredTerm::IsTrue { column } => ident(column),
            PredTerm::IsFalse { column } => format!("NOT {}", ident(column)),
            PredTerm::Eq {
                column,
                value,
                type_name,
            } => format!("{} = {}::{}", ident(column), literal(value), type_name),
        }
    }
}

impl Predicate {
    /// SQL text of the whole predicate (terms joined by AND).
    pub fn sql(&self) -> String {
        self.terms
            .iter()
            .map(|t| t.sql())
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl IndexSpec {
    /// A plain B-tree on columns of a table.
    pub fn on(schema: &str, table: &str, keys: Vec<IndexKey>) -> IndexSpec {
        IndexSpec {
            schema: schema.to_string(),
            table: table.to_string(),
            keys,
            include: vec![],
            predicate: None,
            unique: false,
            method: IndexMethod::Btree,
        }
    }

    /// `"schema"."table"`.
    pub fn qualified_table(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.table))
    }

    /// Every column the index reads: keys, expression inputs, INCLUDE and predicate columns.
    /// An UPDATE that changes any of them cannot be HOT.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self
            .keys
            .iter()
            .map(|k| k.expr.column().to_string())
            .chain(self.include.iter().cloned())
            .chain(
                self.predicate
                    .iter()
                    .flat_map(|p| p.terms.iter().map(|t| t.column().to_string())),
            )
            .collect();
        cols.sort();
        cols.dedup();
        cols
    }

    /// The part after the index name: `ON … USING <method> (…) [INCLUDE (…)] [WHERE …]`.
    pub fn definition_tail(&self) -> String {
        let keys = self
            .keys
            .iter()
            .map(|k| k.sql())
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = format!(
            "ON {} USING {} ({keys})",
            self.qualified_table(),
            self.method.sql()
        );
        if !self.include.is_empty() {
            let inc = self
                .include
                .iter()
                .map(|c| ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            s.push_str(&format!(" INCLUDE ({inc})"));
        }
        if let Some(p) = &self.predicate {
            s.push_str(" WHERE ");
            s.push_str(&p.sql());
        }
        s
    }

    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] "name" ON …`.
    pub fn create_sql(&self, name: &str, concurrently: bool) -> String {
        format!(
            "CREATE {}INDEX {}{} {}",
            if self.unique { "UNIQUE " } else { "" },
            if concurrently { "CONCURRENTLY " } else { "" },
            ident(name),
            self.definition_tail()
        )
    }

    /// `ANALYZE` of the table, when the index needs it before the planner will use it: a
    /// non-partial index on an expression. The planner takes the selectivity of
    /// `UPPER(email) = …` from the statistics ANALYZE gathers for the index's expression; until
    /// then (autovacuum may not analyse a quiet table for days) it assumes 0.5% of the rows match
    /// and, measured on the example, keeps walking the primary key behind `ORDER BY id LIMIT 1`.
    /// A partial index's statistics are never used, so it gets none.
    pub fn analyze_sql(&self) -> Option<String> {
        let expression = self
            .keys
            .iter()
            .any(|k| !matches!(k.expr, KeyExpr::Column(_)));
        (expression && self.predicate.is_none())
            .then(|| format!("ANALYZE {}", self.qualified_table()))
    }

    /// The definition without a name, as HypoPG takes it (`CREATE INDEX ON …`).
    pub fn hypothetical_sql(&self) -> String {
        format!(
            "CREATE {}INDEX {}",
            if self.unique { "UNIQUE " } else { "" },
            self.definition_tail()
        )
    }

    /// A short human label, e.g. `shop_order(customer_id, created_at DESC) WHERE …`.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{}({})",
            self.table,
            self.keys
                .iter()
                .map(|k| {
                    let mut t = match &k.expr {
                        KeyExpr::Column(c) => c.clone(),
                        KeyExpr::Upper(c) => format!("upper({c})"),
                    };
                    if k.desc {
                        t.push_str(" DESC");
                    }
                    t
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !self.include.is_empty() {
            s.push_str(&format!(" INCLUDE ({})", self.include.join(", ")));
        }
        if let Some(p) = &self.predicate {
            s.push_str(" WHERE ");
            s.push_str(&p.sql());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_composite_desc_partial_include() {
        let spec = IndexSpec {
            include: vec!["total".into()],
            predicate: Some(Predicate {
                terms: vec![PredTerm::IsNull {
                    column: "deleted_at".into(),
                }],
            }),
            ..IndexSpec::on(
                "public",
                "shop_order",
                vec![
                    IndexKey::col("customer_id"),
                    IndexKey::col_desc("created_at"),
                ],
            )
        };
        assert_eq!(
            spec.create_sql("shop_order_custome_da1929_idx", true),
            "CREATE INDEX CONCURRENTLY \"shop_order_custome_da1929_idx\" ON \"public\".\"shop_order\" USING btree (\"customer_id\", \"created_at\" DESC) INCLUDE (\"total\") WHERE \"deleted_at\" IS NULL"
        );
        assert_eq!(
            spec.columns(),
            vec!["created_at", "customer_id", "deleted_at", "total"]
        );
    }

    /// The method is rendered after `USING`, and serialised only when it is not a B-tree (so
    /// B-tree specs serialise as they did before the method was in the model).
    #[test]
    fn the_method_follows_using_and_is_serialised_when_not_btree() {
        let btree = IndexSpec::on("public", "t", vec![IndexKey::col("x")]);
        let json = serde_json::to_string(&btree).expect("serialises");
        assert!(!json.contains("method"), "{json}");
        let back: IndexSpec = serde_json::from_str(&json).expect("parses");
        assert_eq!(back.method, IndexMethod::Btree);
        let hash = IndexSpec {
            method: IndexMethod::Hash,
            ..btree
        };
        assert_eq!(
            hash.create_sql("t_x_hash", true),
            "CREATE INDEX CONCURRENTLY \"t_x_hash\" ON \"public\".\"t\" USING hash (\"x\")"
        );
        let json = serde_json::to_string(&hash).expect("serialises");
        assert!(json.contains(r#""method":"hash""#), "{json}");
        assert_eq!(
            serde_json::from_str::<IndexSpec>(&json).expect("parses"),
            hash
        );
    }

    #[test]
    fn renders_upper_and_hostile_literal() {
        let spec = IndexSpec {
            predicate: Some(Predicate {
                terms: vec![PredTerm::Eq {
                    column: "st\"atus".into(),
                    value: "it's".into(),
                    type_name: "text".into(),
                }],
            }),
            ..IndexSpec::on("public", "t", vec![IndexKey::col("x")])
        };
        assert_eq!(
            spec.hypothetical_sql(),
            "CREATE INDEX ON \"public\".\"t\" USING btree (\"x\") WHERE \"st\"\"atus\" = 'it''s'::text"
        );
        let up = IndexSpec::on(
            "public",
            "c",
            vec![IndexKey {
                expr: KeyExpr::Upper("email".into()),
                desc: false,
                nulls_first: None,
                opclass: None,
            }],
        );
        assert_eq!(
            up.definition_tail(),
            "ON \"public\".\"c\" USING btree ((upper((\"email\")::text)))"
        );
    }
}
