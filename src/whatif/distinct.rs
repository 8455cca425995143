//! How many distinct values an index key holds, from what the catalog proves and what ANALYZE
//! measured (the input of the B-tree size model's deduplication, `whatif::size`). The count
//! depends on the key's columns only, not on the index's method: a later method's size model
//! can use it as it is.
//!
//! Stage `whatif` (pure). Must not query the database. Invariant: the answer is between 1 and
//! the number of rows; a proof from a constraint wins over any statistic.
//!
//! Rules, strongest first:
//! - a primary key, a UNIQUE constraint or a valid unique index (not partial, plain columns)
//!   whose columns are all among the key's columns proves every key distinct: distinct = rows;
//! - per column, `pg_stats.n_distinct`, corrected upwards where ANALYZE is known to
//!   underestimate (a column stored in its own order, or one whose most common values hold
//!   most rows: [`corrected_distinct`]), and capped by the referenced table's rows when the
//!   column alone is a foreign key;
//! - several columns: the product of their counts (independence), capped by the rows. Columns
//!   that depend on each other make the product too large, which only costs the estimate some
//!   deduplication credit: the safe side for a budget.

use crate::model::{Catalog, ColumnStats, Table};

/// ANALYZE samples 300 rows per unit of statistics target (`std_typanalyze`).
const ROWS_PER_TARGET: f64 = 300.0;
/// The default `default_statistics_target`.
const DEFAULT_TARGET: f64 = 100.0;
/// At or above this |correlation| a column's rows are taken as stored in value order.
const CLUSTERED: f64 = 0.9;
/// The correction below holds while duplicate pairs are rare in the sample: at most this share
/// of the sample's rows (beyond, triples dominate and ANALYZE has seen most values anyway).
const MAX_PAIR_SHARE: f64 = 0.5;

/// Whether a constraint or a unique index proves that `columns` (a key's plain columns, in any
/// order) never repeat together.
pub fn proven_unique(table: &Table, columns: &[&str]) -> bool {
    let covers =
        |cols: &[String]| !cols.is_empty() && cols.iter().all(|c| columns.contains(&c.as_str()));
    table
        .constraints
        .iter()
        .any(|c| (c.kind == "p" || c.kind == "u") && covers(&c.columns))
        || table.indexes.iter().any(|i| {
            i.unique
                && i.valid
                && i.predicate.is_none()
                && i.keys.iter().all(|k| !k.is_expression)
                && covers(&i.keys.iter().map(|k| k.expr.clone()).collect::<Vec<_>>())
        })
}

/// The foreign keys whose columns are all among `columns`, each with its referenced table's
/// rows: those columns together hold no more distinct values than that.
/// `pg_get_constraintdef` prints `FOREIGN KEY (a, b) REFERENCES t(x, y) …`, the table
/// qualified only when it is not on the search path.
pub fn foreign_keys_within(
    table: &Table,
    columns: &[&str],
    catalog: &Catalog,
) -> Vec<(Vec<String>, f64)> {
    table
        .constraints
        .iter()
        .filter(|c| {
            c.kind == "f"
                && !c.columns.is_empty()
                && c.columns.iter().all(|k| columns.contains(&k.as_str()))
        })
        .filter_map(|c| {
            let after = c.definition.split_once("REFERENCES ")?.1;
            let name = after.split('(').next()?.trim();
            let parts: Vec<String> = split_qualified(name);
            let referenced = match parts.as_slice() {
                [schema, name] => catalog.table(schema, name),
                [name] => catalog
                    .table(&table.schema, name)
                    .or_else(|| catalog.resolve(name)),
                _ => None,
            }?;
            (referenced.rows > 0.0).then(|| (c.columns.clone(), referenced.rows))
        })
        .collect()
}

/// The referenced table's rows when `column` alone is a foreign key.
pub fn foreign_key_cap(table: &Table, column: &str, catalog: &Catalog) -> Option<f64> {
    foreign_keys_within(table, &[column], catalog)
        .into_iter()
        .map(|(_, rows)| rows)
        .reduce(f64::min)
}

/// `a.b`, `"A"."b.c"` → its parts, quotes removed.
fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('"');
                }
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            _ => {
                if let Some(p) = parts.last_mut() {
                    p.push(ch);
                }
            }
        }
    }
    parts
}

/// Distinct values of one column in a table of `rows` rows stored in `pages` pages:
/// `n_distinct`, corrected for clustered columns (`clustered_distinct`) and for columns
/// whose most common values hold most of the rows ([`skew_corrected_distinct`]). Each
/// correction only ever raises ANALYZE's count; the larger one is taken.
pub fn corrected_distinct(stats: &ColumnStats, rows: f64, pages: i64) -> f64 {
    clustered_distinct(stats, rows, pages).max(skew_corrected_distinct(stats, rows))
}

/// The rows ANALYZE sampled from a table of `rows` rows: 300 × the statistics target, read
/// off the histogram's length (the default target without a histogram), at most the table.
fn sample_rows(stats: &ColumnStats, rows: f64) -> f64 {
    let target = if stats.histogram_bounds.len() >= 2 {
        (stats.histogram_bounds.len() - 1) as f64
    } else {
        DEFAULT_TARGET
    };
    (ROWS_PER_TARGET * target).min(rows)
}

/// Distinct values of a column whose most common values (`pg_stats.most_common_vals`) hold a
/// large share of the rows, corrected for the way ANALYZE's estimator mixes them with the
/// others.
///
/// Problem: ANALYZE's estimator (Haas and Stokes' "Duj1", D = n·d / (n − f1 + f1·n/N): n
/// sample rows, d distinct values among them, f1 of them seen once, N rows) reads the values
/// seen once as the sign of many unseen values, in proportion to the share of the sample they
/// make up. When one value holds 90% of the rows (`guest_email = ''` for the orders placed
/// with an account), the other values are 10% of the sample, every one seen once, and the
/// estimator answers about a fifteenth of their number: 3,277 for 50,001 on 500,000 rows, and
/// the size model then credits every value with 150 rows of deduplication.
///
/// What we do: run the estimator again on the rows outside the most common values only. From
/// ANALYZE's answer D and the m common values (each seen more than once) we recover f1,
/// taking every other value of the sample as seen once (the estimator's largest reading of
/// D): D·(n − f1·(1 − n/N)) = n·(m + f1). Those values come from n_r = n·(1 − common share)
/// sample rows standing for N_r table rows; Duj1 on them alone gives
/// D_r = n_r·f1 / (n_r − f1·(1 − n/N)), at most N_r, and the column holds m + D_r values.
/// Without common values, D_r = D: the correction is exactly neutral. When the other values
/// do repeat in the table (each three times, say), the sample still sees most of them once
/// and the answer is too large (by about 40% there): fewer deduplicated rows, the safe side of
/// a budget. It only ever raises ANALYZE's count, and is skipped when the sample was the
/// whole table (ANALYZE's count is then exact).
///
/// Example: the 500,000 orders above, n = 30,000, m = 1 holding 90.1%: f1 = 2,971 of
/// n_r = 2,971 rows, D_r = 49,515, 49,516 values in all (50,001 in truth).
pub fn skew_corrected_distinct(stats: &ColumnStats, rows: f64) -> f64 {
    let measured = stats.distinct(rows);
    let m = stats.most_common_vals.len() as f64;
    let present = 1.0 - stats.null_frac.clamp(0.0, 1.0);
    if m == 0.0 || rows <= 0.0 || present <= 0.0 {
        return measured;
    }
    let big_n = rows * present;
    let n = sample_rows(stats, rows) * present;
    if n >= big_n || measured >= big_n {
        return measured;
    }
    let common: f64 = stats.most_common_freqs.iter().sum();
    let rest = ((present - common) / present).clamp(0.0, 1.0);
    let (n_r, big_n_r) = (n * rest, big_n * rest);
    let unseen = 1.0 - n / big_n;
    let f1 = (n * (measured - m) / (n + measured * unseen)).clamp(0.0, n_r);
    if f1 < 1.0 {
        return measured;
    }
    let denominator = n_r - f1 * unseen;
    let rest_distinct = if denominator > 0.0 {
        (n_r * f1 / denominator).min(big_n_r)
    } else {
        big_n_r
    };
    (m + rest_distinct).clamp(measured, big_n)
}

/// Distinct values of a clustered column: `n_distinct`, corrected for the neighbours
/// ANALYZE's block sample sees.
///
/// Problem: ANALYZE first picks blocks (as many as it wants rows, 30,000 by default), then
/// samples rows uniformly among the rows of those blocks only. When a column is stored in its
/// own order (correlation near ±1: an `order_id` of order lines inserted with their order,
/// TPC-H's `l_orderkey`), the rows sharing a value sit in the same block, and a sample
/// concentrated on a fraction of the blocks catches more of those pairs than a uniform sample
/// would. The sample shows too many repeats, and the Haas–Stokes estimator ANALYZE uses answers
/// several times too few (TPC-H SF1 `l_orderkey`: 374,485 against 1,500,000).
///
/// What we do: undo the estimator. From its answer D we recover the number of repeated pairs
/// the sample held, p = n²(1 − D/N) / (2D(1 − n/N) + n) (n sample rows, N table rows, repeats
/// mostly pairs). With b blocks read of r rows each, the sample holds each row with
/// probability n/(b·r); the pairs of rows sharing a value, all within blocks, number about
/// b·r·(V − 1)/2 among the blocks read (V: rows per value, weighted by size); so
/// p ≈ n²(V − 1)/(2·b·r), and the mean rows per value is about V − 1 = 2·b·r·p/n² (exact for
/// Poisson-like counts, one too few for constant ones: the safe side). The distinct count is
/// N over that. It is skipped when the column is not clustered (|correlation| < 0.9), when
/// ANALYZE read every block (its sample is then uniform), when the sample held no repeat, and
/// when a value spans more than a block (the sample cannot tell how far; deduplication's gain
/// then hardly depends on it). It only ever raises ANALYZE's count.
///
/// Example: `l_orderkey`, N = 6.0M rows in 112,503 pages (r = 53.3), n = b = 30,000,
/// D = 374,485: p = 1,089 pairs, 3.87 rows per value, 1.55M distinct values (true: 1.5M).
fn clustered_distinct(stats: &ColumnStats, rows: f64, pages: i64) -> f64 {
    let measured = stats.distinct(rows);
    let clustered = stats.correlation.is_some_and(|c| c.abs() >= CLUSTERED);
    if !clustered || stats.n_distinct == -1.0 || rows <= 0.0 || pages <= 0 {
        return measured;
    }
    let non_null = rows * (1.0 - stats.null_frac);
    let sampled = sample_rows(stats, f64::INFINITY);
    let n = (sampled * (1.0 - stats.null_frac)).min(non_null);
    let per_page = rows / pages as f64;
    let blocks_read = sampled.min(pages as f64);
    if n >= non_null || blocks_read >= pages as f64 || measured >= non_null {
        // ANALYZE read every row, or every block: a uniform sample.
        return measured;
    }
    let d = measured;
    let pairs = n * n * (1.0 - d / non_null) / (2.0 * d * (1.0 - n / non_null) + n);
    if pairs <= 0.0 || pairs > MAX_PAIR_SHARE * n {
        return measured;
    }
    let per_value = 2.0 * blocks_read * per_page * (1.0 - stats.null_frac) * pairs / (n * n);
    if per_value >= per_page {
        return measured;
    }
    (non_null / per_value.max(1.0)).clamp(measured, non_null)
}

/// Distinct values of one column for the size model: [`corrected_distinct`], capped by a
/// single-column foreign key's referenced rows, at least 1.
pub fn column_distinct(table: &Table, column: &str, catalog: &Catalog) -> Option<f64> {
    let stats = table.column(column)?.stats.as_ref()?;
    let mut d = corrected_distinct(stats, table.rows, table.pages);
    if let Some(cap) = foreign_key_cap(table, column, catalog) {
        d = d.min(cap);
    }
    Some(d.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Constraint;
    use crate::model::{Column, ExistingIndex};

    fn stats(n_distinct: f64, correlation: f64) -> ColumnStats {
        ColumnStats {
            avg_width: 4,
            n_distinct,
            correlation: Some(correlation),
            histogram_bounds: (0..101).map(|i| i.to_string()).collect(),
            ..Default::default()
        }
    }

    fn table(name: &str, rows: f64, pages: i64, cols: Vec<(&str, ColumnStats)>) -> Table {
        Table {
            oid: 1,
            rows,
            pages,
            columns: cols
                .into_iter()
                .enumerate()
                .map(|(i, (n, s))| Column {
                    name: n.into(),
                    attnum: i as i16 + 1,
                    type_name: "integer".into(),
                    not_null: true,
                    collation: None,
                    stats: Some(s),
                })
                .collect(),
            ..Table::named("public", name)
        }
    }

    #[test]
    fn clustered_column_undoes_analyzes_underestimate() {
        // TPC-H SF1 lineitem.l_orderkey as ANALYZE saw it; 1,500,000 in truth.
        let d = corrected_distinct(&stats(374_485.0, 0.9999995), 6_000_910.0, 112_503);
        assert!((1_500_000.0..1_650_000.0).contains(&d), "{d}");
        // Descending order is as clustered.
        let d = corrected_distinct(&stats(374_485.0, -0.9999), 6_000_910.0, 112_503);
        assert!(d > 1_350_000.0, "{d}");
    }

    #[test]
    fn unclustered_unique_and_well_sampled_columns_keep_analyzes_figure() {
        // Not clustered: ANALYZE's sample is as good as random.
        assert_eq!(
            corrected_distinct(&stats(193_275.0, 0.001), 6_000_910.0, 112_503),
            193_275.0
        );
        // No repeat in the sample.
        assert_eq!(
            corrected_distinct(&stats(-1.0, 1.0), 1_500_000.0, 26_095),
            1_500_000.0
        );
        // Repeats everywhere (a date loaded in date order): ANALYZE saw every value.
        assert_eq!(
            corrected_distinct(&stats(2_500.0, 0.99), 6_000_910.0, 112_503),
            2_500.0
        );
        // A table smaller than the sample: ANALYZE read every row.
        assert_eq!(corrected_distinct(&stats(900.0, 1.0), 20_000.0, 100), 900.0);
        // Fewer pages than the sample wants blocks: every block read, a uniform sample.
        assert_eq!(
            corrected_distinct(&stats(80_000.0, 1.0), 400_000.0, 5_000),
            80_000.0
        );
    }

    /// `guest_email` of 500,000 orders as ANALYZE saw it: `''` on 90.1% of the sample, 50,000
    /// distinct addresses on the others, each seen once; ANALYZE says 3,277.
    fn dominated(n_distinct: f64, mcv: &[(&str, f64)]) -> ColumnStats {
        ColumnStats {
            avg_width: 3,
            n_distinct,
            most_common_vals: mcv.iter().map(|(v, _)| v.to_string()).collect(),
            most_common_freqs: mcv.iter().map(|(_, f)| *f).collect(),
            correlation: Some(0.82),
            ..stats(n_distinct, 0.82)
        }
    }

    #[test]
    fn a_dominant_value_no_longer_hides_the_others() {
        let s = dominated(3_277.0, &[("", 0.900_966_6)]);
        let d = corrected_distinct(&s, 500_000.0, 3_000);
        assert!((45_000.0..=50_001.0).contains(&d), "{d}");
        // With nulls: the same values on fewer rows.
        let nulls = ColumnStats {
            null_frac: 0.5,
            most_common_freqs: vec![0.45],
            ..s.clone()
        };
        let d = skew_corrected_distinct(&nulls, 1_000_000.0);
        assert!((45_000.0..=50_001.0).contains(&d), "{d}");
    }

    #[test]
    fn the_skew_correction_is_neutral_where_it_has_nothing_to_correct() {
        // No common values: Duj1 on the rest is Duj1 on the whole.
        let plain = stats(193_275.0, 0.001);
        let d = skew_corrected_distinct(&plain, 6_000_910.0);
        assert!((d - 193_275.0).abs() < 1.0, "{d}");
        // Every value common (a status column): nothing outside them.
        let status = dominated(2.0, &[("account", 0.9), ("guest", 0.1)]);
        assert_eq!(skew_corrected_distinct(&status, 500_000.0), 2.0);
        // The sample was the whole table: ANALYZE's count is exact.
        let small = dominated(301.0, &[("", 0.9)]);
        assert_eq!(skew_corrected_distinct(&small, 3_000.0), 301.0);
        // The other values repeat (a long tail seen mostly in pairs): little to add.
        let tail = dominated(10_000.0, &[("a", 0.01), ("b", 0.01)]);
        let d = skew_corrected_distinct(&tail, 6_000_000.0);
        assert!((10_000.0..10_600.0).contains(&d), "{d}");
    }

    #[test]
    fn constraints_and_unique_indexes_prove_uniqueness() {
        let mut t = table(
            "t",
            1000.0,
            10,
            vec![("a", stats(10.0, 0.0)), ("b", stats(10.0, 0.0))],
        );
        assert!(!proven_unique(&t, &["a", "b"]));
        t.constraints.push(Constraint {
            name: "t_a_key".into(),
            kind: "u".into(),
            columns: vec!["a".into()],
            definition: "UNIQUE (a)".into(),
        });
        assert!(proven_unique(&t, &["a"]));
        assert!(proven_unique(&t, &["b", "a"]), "a superset of a unique key");
        assert!(!proven_unique(&t, &["b"]));
        t.constraints.clear();
        t.indexes.push(ExistingIndex::btree("t_b_uniq", "b", true));
        assert!(proven_unique(&t, &["b"]));
        t.indexes[0].predicate = Some("b > 0".into());
        assert!(
            !proven_unique(&t, &["b"]),
            "a partial unique index proves nothing"
        );
    }

    #[test]
    fn foreign_key_caps_by_the_referenced_rows() {
        let parent = table("Shop Customer", 500.0, 5, vec![("id", stats(-1.0, 1.0))]);
        let mut child = table(
            "shop_order",
            10_000.0,
            100,
            vec![("customer_id", stats(-0.2, 0.0))],
        );
        child.constraints.push(Constraint {
            name: "fk".into(),
            kind: "f".into(),
            columns: vec!["customer_id".into()],
            definition: "FOREIGN KEY (customer_id) REFERENCES \"Shop Customer\"(id) DEFERRABLE INITIALLY DEFERRED".into(),
        });
        let catalog = Catalog {
            tables: vec![parent, child.clone()],
            search_path: vec![],
        };
        assert_eq!(
            foreign_key_cap(&child, "customer_id", &catalog),
            Some(500.0)
        );
        assert_eq!(
            column_distinct(&child, "customer_id", &catalog),
            Some(500.0)
        );
        assert_eq!(split_qualified("s.\"a\"\"b.c\""), vec!["s", "a\"b.c"]);
        // A two-column foreign key bounds the pair.
        child.constraints[0].columns = vec!["customer_id".into(), "region".into()];
        assert_eq!(foreign_key_cap(&child, "customer_id", &catalog), None);
        let within = foreign_keys_within(&child, &["region", "customer_id", "x"], &catalog);
        assert_eq!(within.len(), 1);
        assert_eq!(within[0].1, 500.0);
    }
}
