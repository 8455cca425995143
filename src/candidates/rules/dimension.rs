//! Candidate rule `dimension`: star and snowflake joins.
//!
//! Stage `candidates`. Must not do I/O or judge cost (the what-if engine does). Invariant:
//! proposals only for statements that join a table to a much larger one; every proposal names
//! columns of the catalog table; at most [`MAX_PER_STATEMENT`] per statement, in priority order.
//!
//! Problem: an analytical statement joins a big fact table to small dimension tables and filters
//! the dimensions (`d_year = 2000`, `i_category IN (…)`, `ca_state = 'TN'`). The per-table rules
//! propose one composite of all of a table's equality columns (`(d_moy, d_year)`), the join
//! column (usually the dimension's primary key, already indexed) and the GROUP BY, and stop at
//! the statement's cap, which the fact table's proposals (first in the FROM list) often fill.
//! What a star join needs is different: a single-column index on each dimension filter column
//! (one `date_dim(d_year)` serves every statement that filters on the year, whatever else it
//! filters on), so that a selective dimension drives a nested loop into the fact table, or
//! shrinks the hash join's build side; and on the fact table, an index on each join key
//! (the inner side of that nested loop).
//! What we do: in a statement with at least two tables, a table occurrence is a *dimension*
//! when it is joined and some other table of the statement has at least [`FACT_RATIO`] times
//! its rows; the largest joined table is the *fact*. We propose, most selective first: each
//! dimension filter column alone (equality, range, prefix LIKE), and when an occurrence reads
//! nothing but its filter and join columns, the filters with the join columns INCLUDEd (an
//! index-only scan gives the join keys); then each join key alone, the largest table's first
//! (the fact's keys, then a dimension's keys to its own dimensions: snowflake). Columns that
//! already lead a valid index (the dimensions' primary keys) are skipped.
//! Example: `store_sales ⋈ date_dim ⋈ item WHERE d_moy = $1 AND i_manufact_id = $2` (2.9 M,
//! 73 k and 18 k rows) → `item(i_manufact_id)`, `date_dim(d_moy)`,
//! `store_sales(ss_sold_date_sk)`.

use std::collections::BTreeSet;

use crate::model::{Catalog, IndexKey, IndexSpec, Table};
use crate::parse::{QueryShape, TableAccess};

use super::Rule;

/// A table is a dimension of a statement when another table of it has this many times its rows.
pub const FACT_RATIO: f64 = 10.0;
/// Most proposals of this rule per statement.
pub const MAX_PER_STATEMENT: usize = 10;

/// The rule's proposals for one statement, in priority order, deduplicated.
pub(crate) fn for_shape(shape: &QueryShape, catalog: &Catalog) -> Vec<(IndexSpec, Rule)> {
    let occ: Vec<(&TableAccess, &Table)> = shape
        .tables
        .iter()
        .filter_map(|a| catalog.table(&a.schema, &a.table).map(|t| (a, t)))
        .collect();
    let joined: Vec<&(&TableAccess, &Table)> = occ
        .iter()
        .filter(|(a, _)| !a.join_columns.is_empty())
        .collect();
    if occ.len() < 2 || joined.is_empty() {
        return vec![];
    }
    let biggest = occ.iter().map(|(_, t)| t.rows).fold(0.0, f64::max);
    // Dimension filters, each with its selectivity (rows kept per value: lower is better).
    let mut filters: Vec<(f64, IndexSpec)> = Vec::new();
    let mut covering: Vec<IndexSpec> = Vec::new();
    for (a, t) in joined.iter().copied() {
        if t.rows <= 0.0 || t.rows * FACT_RATIO > biggest {
            continue;
        }
        let cols = filter_columns(a, t);
        for c in &cols {
            let per_value = t.rows / distinct(t, c).max(1.0);
            filters.push((
                per_value,
                IndexSpec::on(&t.schema, &t.name, vec![IndexKey::col(c)]),
            ));
        }
        let keys: BTreeSet<&str> = cols
            .iter()
            .map(String::as_str)
            .chain(a.join_columns.iter().map(String::as_str))
            .collect();
        let reads_only_keys = a.columns_read.iter().all(|c| keys.contains(c.as_str()));
        let include: Vec<String> = a
            .join_columns
            .iter()
            .filter(|j| !cols.contains(j) && t.column(j).is_some())
            .cloned()
            .collect();
        if !cols.is_empty() && !include.is_empty() && reads_only_keys {
            let mut s = IndexSpec::on(
                &t.schema,
                &t.name,
                cols.iter()
                    .take(super::MAX_KEYS)
                    .map(|c| IndexKey::col(c))
                    .collect(),
            );
            s.include = include;
            s.include.sort();
            covering.push(s);
        }
    }
    if filters.is_empty() {
        return vec![];
    }
    filters.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    // Join keys, largest table first: the fact's are the inner side of the nested loops a
    // selective dimension drives; a dimension's own (customer → customer_address) are the
    // snowflake's.
    let mut by_size: Vec<&(&TableAccess, &Table)> = joined.clone();
    by_size.sort_by(|x, y| y.1.rows.total_cmp(&x.1.rows));
    let mut keys: Vec<IndexSpec> = Vec::new();
    for (a, t) in by_size.into_iter().copied() {
        for j in &a.join_columns {
            if t.column(j).is_some() && !leads_index(t, j) {
                keys.push(IndexSpec::on(&t.schema, &t.name, vec![IndexKey::col(j)]));
            }
        }
    }
    let mut out: Vec<(IndexSpec, Rule)> = Vec::new();
    for s in filters
        .into_iter()
        .map(|(_, s)| s)
        .chain(covering)
        .chain(keys)
    {
        if out.len() >= MAX_PER_STATEMENT {
            break;
        }
        if !out.iter().any(|(o, _)| *o == s) {
            out.push((s, Rule::DimensionFilter));
        }
    }
    out
}

/// The occurrence's filter columns: equality first (most distinct values first), then ranges,
/// then prefix LIKE; not its join columns, not a column that already leads a valid index.
fn filter_columns(a: &TableAccess, t: &Table) -> Vec<String> {
    let mut eq: Vec<&String> = a.equality.iter().collect();
    eq.sort_by(|x, y| {
        distinct(t, y)
            .total_cmp(&distinct(t, x))
            .then_with(|| x.cmp(y))
    });
    let mut out: Vec<String> = Vec::new();
    let likes = a.likes.iter().filter(|l| l.prefix && !l.ilike && !l.upper);
    for c in eq
        .into_iter()
        .chain(&a.ranges)
        .chain(likes.map(|l| &l.column))
    {
        if !a.join_columns.contains(c)
            && t.column(c).is_some()
            && !leads_index(t, c)
            && !out.contains(c)
        {
            out.push(c.clone());
        }
    }
    out
}

/// A valid, non-partial B-tree already has this column as its first key.
fn leads_index(t: &Table, col: &str) -> bool {
    t.indexes.iter().any(|i| {
        i.valid
            && i.method.is_btree()
            && i.predicate.is_none()
            && i.keys
                .first()
                .is_some_and(|k| !k.is_expression && k.expr == col)
    })
}

/// Estimated distinct values of a column (0 when unknown).
fn distinct(t: &Table, col: &str) -> f64 {
    t.column(col)
        .and_then(|c| c.stats.as_ref())
        .map(|s| s.distinct(t.rows.max(1.0)))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnStats, ExistingIndex, Statement};

    fn col(name: &str, attnum: i16, type_name: &str, n_distinct: f64) -> Column {
        Column {
            name: name.into(),
            attnum,
            type_name: type_name.into(),
            not_null: false,
            collation: None,
            stats: Some(ColumnStats {
                avg_width: 4,
                n_distinct,
                ..Default::default()
            }),
        }
    }

    fn table(name: &str, rows: f64, cols: &[(&str, &str, f64)], pk: &str) -> Table {
        Table {
            rows,
            pages: (rows / 50.0) as i64,
            all_visible_frac: 1.0,
            size_bytes: (rows * 160.0) as i64,
            columns: cols
                .iter()
                .enumerate()
                .map(|(i, (n, ty, d))| col(n, i as i16 + 1, ty, *d))
                .collect(),
            indexes: vec![ExistingIndex::btree(&format!("{name}_pkey"), pk, true)],
            ..Table::named("public", name)
        }
    }

    /// A TPC-DS-like star: a 2.9 M-row fact, a 73 k-row date and an 18 k-row item dimension.
    fn star() -> Catalog {
        Catalog {
            tables: vec![
                table(
                    "date_dim",
                    73_049.0,
                    &[
                        ("d_date_sk", "integer", -1.0),
                        ("d_date", "date", -1.0),
                        ("d_year", "integer", 201.0),
                        ("d_moy", "integer", 12.0),
                    ],
                    "d_date_sk",
                ),
                table(
                    "item",
                    18_000.0,
                    &[
                        ("i_item_sk", "integer", -1.0),
                        ("i_category", "character(50)", 10.0),
                        ("i_manufact_id", "integer", 997.0),
                        ("i_brand", "character(50)", 700.0),
                    ],
                    "i_item_sk",
                ),
                table(
                    "store_sales",
                    2_880_404.0,
                    &[
                        ("ss_item_sk", "integer", 18_000.0),
                        ("ss_sold_date_sk", "integer", 1_823.0),
                        ("ss_ticket_number", "integer", -0.08),
                        ("ss_net_profit", "numeric(7,2)", -0.1),
                    ],
                    "ss_item_sk",
                ),
                table(
                    "store_returns",
                    287_514.0,
                    &[
                        ("sr_item_sk", "integer", 18_000.0),
                        ("sr_returned_date_sk", "integer", 2_000.0),
                    ],
                    "sr_item_sk",
                ),
            ],
            search_path: vec!["public".into()],
        }
    }

    fn labels(text: &str) -> Vec<String> {
        let catalog = star();
        let stmt = Statement {
            queryid: 1,
            query: text.into(),
            calls: 1,
            total_time_ms: 1000.0,
            mean_time_ms: 1000.0,
            rows: 100,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        };
        let shape = crate::parse::parse_statement(&stmt, &catalog).expect("the text parses");
        for_shape(&shape, &catalog)
            .into_iter()
            .map(|(s, r)| {
                assert_eq!(r, Rule::DimensionFilter);
                s.label()
            })
            .collect()
    }

    /// TPC-DS query 3's shape as pg_stat_statements shows it: the dimension filters, most
    /// selective first (a manufacturer is 18 items, a month 6,000 days), then the fact's join
    /// keys. The dimensions' primary keys and the fact's `ss_item_sk` already lead an index.
    #[test]
    fn star_join_proposes_dimension_filters_then_fact_keys() {
        let got = labels(
            "select dt.d_year, item.i_brand, sum(ss_net_profit) from date_dim dt, store_sales, item \
             where dt.d_date_sk = store_sales.ss_sold_date_sk and store_sales.ss_item_sk = item.i_item_sk \
             and item.i_manufact_id = $1 and dt.d_moy = $2 group by dt.d_year, item.i_brand limit $3",
        );
        insta::assert_snapshot!(got.join("\n"), @r"
        item(i_manufact_id)
        date_dim(d_moy)
        store_sales(ss_sold_date_sk)
        ");
    }

    /// A dimension that reads only its filter and join columns gets the covering variant: an
    /// index-only scan yields the join keys.
    #[test]
    fn covering_when_the_dimension_reads_only_keys() {
        let got = labels(
            "select sum(ss_net_profit) from store_sales join date_dim on ss_sold_date_sk = d_date_sk \
             where d_year = $1 and d_moy between $2 and $3",
        );
        assert!(
            got.contains(&"date_dim(d_year, d_moy) INCLUDE (d_date_sk)".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"date_dim(d_year)".to_string()), "{got:?}");
        assert!(got.contains(&"date_dim(d_moy)".to_string()), "{got:?}");
    }

    /// Snowflake/returns: store_returns (288 k) is a dimension of store_sales (2.9 M) here, but
    /// not of date_dim (73 k): only tables with a 10× larger partner count.
    #[test]
    fn only_tables_much_smaller_than_another_are_dimensions() {
        let got = labels(
            "select count(*) from store_returns, date_dim where sr_returned_date_sk = d_date_sk and d_year = $1",
        );
        assert!(got.is_empty(), "{got:?}");
        let got = labels(
            "select count(*) from store_sales, store_returns where ss_item_sk = sr_item_sk \
             and sr_returned_date_sk = $1",
        );
        // `count(*)` reads nothing else: the covering variant too.
        assert_eq!(
            got,
            vec![
                "store_returns(sr_returned_date_sk)".to_string(),
                "store_returns(sr_returned_date_sk) INCLUDE (sr_item_sk)".to_string()
            ]
        );
    }

    /// One table, or no join: the per-table rules cover it.
    #[test]
    fn nothing_without_a_join() {
        assert!(labels("select * from item where i_category = $1").is_empty());
        assert!(
            labels("select * from date_dim, item where d_year = $1 and i_category = $2").is_empty()
        );
    }

    /// Through `generate`: the candidates carry the rule, and existing indexes still win.
    #[test]
    fn generate_includes_the_rule() {
        let catalog = star();
        let stmt = Statement {
            queryid: 7,
            query: "select i_brand, sum(ss_net_profit) from store_sales, item \
                    where ss_item_sk = i_item_sk and i_category = $1 group by i_brand"
                .into(),
            calls: 1,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        };
        let shape = crate::parse::parse_statement(&stmt, &catalog).expect("parses");
        let set = crate::candidates::generate(&[shape], &catalog);
        let c = set
            .candidates
            .iter()
            .find(|c| c.spec.label() == "item(i_category)")
            .expect("item(i_category) is a candidate");
        assert!(c.sources.iter().any(|s| s.rule == Rule::DimensionFilter));
        assert!(!set
            .candidates
            .iter()
            .any(|c| c.spec.label() == "item(i_item_sk)"));
    }
}
