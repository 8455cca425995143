//! pg_stat_statements' rows per call as a witness of the value an application uses.
//!
//! Stage `whatif` (pure: workload, catalog and shapes in, observations out). Must not replace
//! anything observed: only statements with no observed value get one. Invariant: a value is
//! inferred only when the statement's single filter is `column = $n` (no LIMIT, one table), so
//! its rows per call are the value's row count.
//!
//! Heuristic (problem / what we do / example):
//! - Problem: with no sample of a statement, `status = $1` is costed with the table's mix.
//! - What we do: rows per call ≈ table rows × the value's frequency; the most common value whose
//!   expected count is within 1.5× of the measured rows per call, and the only one so close,
//!   is taken as the value the application asks for, weighted by the statement's calls.
//! - Example: 2,990 rows per call of `status = $1` on 300,000 orders where 'pending' is 1.0%
//!   (3,000 rows) and every other status is ≥ 3%: `$1 = pending`.

use crate::model::observed::{ObservedStatement, ObservedValue, ValueSource};
use crate::model::{Catalog, ObservedValues, Workload};
use crate::parse::shape::{ParamOp, QueryShape, StatementKind};

/// How close expected and measured rows per call must be (factor).
const CLOSE: f64 = 1.5;

/// The value of one statement's `$n`, when its rows per call tell it.
fn infer(shape: &QueryShape, workload: &Workload, catalog: &Catalog) -> Option<ObservedValue> {
    if shape.kind != StatementKind::Select || shape.limit.is_some() || shape.tables.len() != 1 {
        return None;
    }
    let t = &shape.tables[0];
    let only_eq = t.equality.len() == 1
        && t.ranges.is_empty()
        && t.null_tests.is_empty()
        && t.booleans.is_empty()
        && t.likes.is_empty()
        && t.upper_equality.is_empty()
        && t.group_by.is_empty()
        && !t.distinct;
    if !only_eq || shape.params.len() != 1 {
        return None;
    }
    let u = &shape.params[0];
    if u.op != ParamOp::Eq || u.column.as_deref() != Some(t.equality[0].as_str()) {
        return None;
    }
    let st = workload.get(shape.queryid)?;
    if st.calls <= 0 {
        return None;
    }
    let rpc = st.rows as f64 / st.calls as f64;
    if rpc < 2.0 {
        return None;
    }
    let table = catalog.table(&t.schema, &t.table)?;
    let stats = table.column(&t.equality[0])?.stats.as_ref()?;
    let close: Vec<&String> = stats
        .most_common_vals
        .iter()
        .zip(&stats.most_common_freqs)
        .filter(|(_, f)| {
            let expected = table.rows * **f;
            expected > 0.0 && (rpc / expected).max(expected / rpc) <= CLOSE
        })
        .map(|(v, _)| v)
        .collect();
    let [value] = close.as_slice() else {
        return None;
    };
    Some(ObservedValue {
        param: Some(u.param),
        column: Some(format!("{}.{}", t.table, t.equality[0])),
        value: (*value).clone(),
        weight: st.calls as u64,
        source: ValueSource::RowsPerCall,
    })
}

/// Problem: a squashed list (`col IN ($1 /*, ... */)`, PostgreSQL 18) nothing was sampled for
/// has no known length, and the length decides the plan.
/// What we do: when the list is the statement's single filter (no LIMIT, one table), rows per
/// call ÷ rows per value of the column (table rows ÷ distinct values) is the list's length
/// (at least 1, at most [`MAX_LIST_LEN`]); the list is that many distinct values of the column
/// ([`crate::whatif::params::list_values`]), weighted by the statement's calls.
/// Example: 12 rows per call of `order_id IN (…)` on 1.2M order lines with 500k distinct
/// orders (2.4 lines each): a list of 5 orders.
fn infer_list(shape: &QueryShape, workload: &Workload, catalog: &Catalog) -> Option<ObservedValue> {
    if shape.kind != StatementKind::Select || shape.limit.is_some() || shape.tables.len() != 1 {
        return None;
    }
    let t = &shape.tables[0];
    let [u] = shape.params.as_slice() else {
        return None;
    };
    let only_list = t.equality.len() == 1
        && u.op == ParamOp::InList
        && u.column.as_deref() == Some(t.equality[0].as_str())
        && t.ranges.is_empty()
        && t.null_tests.is_empty()
        && t.booleans.is_empty()
        && t.likes.is_empty()
        && t.upper_equality.is_empty()
        && t.group_by.is_empty()
        && !t.distinct;
    if !only_list {
        return None;
    }
    let st = workload.get(shape.queryid)?;
    if st.calls <= 0 || st.rows <= 0 {
        return None;
    }
    let rpc = st.rows as f64 / st.calls as f64;
    let table = catalog.table(&t.schema, &t.table)?;
    let stats = table.column(&t.equality[0])?.stats.as_ref()?;
    let distinct = if stats.n_distinct < 0.0 {
        -stats.n_distinct * table.rows
    } else {
        stats.n_distinct
    };
    if distinct < 1.0 || table.rows < 1.0 {
        return None;
    }
    let per_value = table.rows * (1.0 - stats.null_frac).max(0.0) / distinct;
    if per_value <= 0.0 {
        return None;
    }
    let k = ((rpc / per_value).round() as usize).clamp(1, MAX_LIST_LEN);
    let list = crate::whatif::params::list_values(stats, k);
    if list.is_empty() {
        return None;
    }
    Some(ObservedValue {
        param: Some(u.param),
        column: Some(format!("{}.{}", t.table, t.equality[0])),
        value: crate::parse::literals::list_literal(&list),
        weight: st.calls as u64,
        source: ValueSource::RowsPerCall,
    })
}

/// The longest list [`infer_list`] gives.
pub const MAX_LIST_LEN: usize = 1000;

/// Add what rows per call tell to `observed`, for statements nothing was observed for.
pub fn add_inferred(
    observed: &mut ObservedValues,
    shapes: &[QueryShape],
    workload: &Workload,
    catalog: &Catalog,
) {
    for shape in shapes {
        if observed.get(shape.queryid).is_some() {
            continue;
        }
        let inferred =
            infer(shape, workload, catalog).or_else(|| infer_list(shape, workload, catalog));
        let Some(v) = inferred else {
            continue;
        };
        let mut st = ObservedStatement {
            queryid: shape.queryid,
            ..Default::default()
        };
        st.samples.insert(ValueSource::RowsPerCall, v.weight);
        st.values.push(v);
        let at = observed
            .statements
            .partition_point(|s| s.queryid < shape.queryid);
        observed.statements.insert(at, st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnStats, Statement, Table};
    use crate::parse::shape::{ParamUse, TableAccess};

    fn catalog() -> Catalog {
        Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 300000.0,
                pages: 100,
                all_visible_frac: 1.0,
                columns: vec![Column {
                    name: "status".into(),
                    attnum: 1,
                    type_name: "text".into(),
                    not_null: true,
                    collation: None,
                    stats: Some(ColumnStats {
                        null_frac: 0.0,
                        avg_width: 8,
                        n_distinct: 4.0,
                        most_common_vals: vec![
                            "delivered".into(),
                            "shipped".into(),
                            "cancelled".into(),
                            "pending".into(),
                        ],
                        most_common_freqs: vec![0.9, 0.06, 0.03, 0.01],
                        histogram_bounds: vec![],
                        correlation: None,
                        workload_values: vec![],
                    }),
                }],
                ..Table::named("public", "shop_order")
            }],
            search_path: vec![],
        }
    }

    fn shape(limit: bool) -> QueryShape {
        QueryShape {
            queryid: 5,
            kind: StatementKind::Select,
            plan_text: String::new(),
            param_count: 1,
            tables: vec![TableAccess {
                schema: "public".into(),
                table: "shop_order".into(),
                equality: vec!["status".into()],
                ..Default::default()
            }],
            params: vec![ParamUse {
                param: 1,
                schema: Some("public".into()),
                table: Some("shop_order".into()),
                column: Some("status".into()),
                op: ParamOp::Eq,
            }],
            limit: limit.then_some(crate::parse::shape::Limit::Param(2)),
            offset: false,
        }
    }

    fn workload(rows: i64) -> Workload {
        Workload {
            statements: vec![Statement {
                queryid: 5,
                query: "SELECT * FROM shop_order WHERE status = $1".into(),
                calls: 10,
                total_time_ms: 1.0,
                mean_time_ms: 0.1,
                rows,
                shared_blks_hit: 0,
                shared_blks_read: 0,
                stddev_time_ms: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn rows_per_call_name_the_rare_value() {
        let mut o = ObservedValues::default();
        add_inferred(&mut o, &[shape(false)], &workload(29_900), &catalog());
        let st = o.get(5).expect("inferred");
        assert_eq!(st.values[0].value, "pending");
        assert_eq!(st.values[0].param, Some(1));
        assert_eq!(st.samples.get(&ValueSource::RowsPerCall), Some(&10));
        // 9,000 rows per call: 'cancelled' (3%) alone is that close.
        let mut o = ObservedValues::default();
        add_inferred(&mut o, &[shape(false)], &workload(90_000), &catalog());
        assert_eq!(o.get(5).expect("inferred").values[0].value, "cancelled");
    }

    #[test]
    fn no_inference_under_a_limit_or_when_ambiguous() {
        let mut o = ObservedValues::default();
        add_inferred(&mut o, &[shape(true)], &workload(29_900), &catalog());
        assert!(o.is_empty());
        // Between 'shipped' (18,000) and 'cancelled' (9,000): both within 1.5×.
        add_inferred(&mut o, &[shape(false)], &workload(128_000), &catalog());
        assert!(o.is_empty());
        // 1 row per call (a count): nothing to tell.
        add_inferred(&mut o, &[shape(false)], &workload(10), &catalog());
        assert!(o.is_empty());
    }

    /// A squashed list that is the statement's only filter: rows per call ÷ rows per value is
    /// its length. 4 statuses of 75,000 rows each; 150,000 rows per call: a list of 2.
    #[test]
    fn rows_per_call_give_a_squashed_list_its_length() {
        let mut sh = shape(false);
        sh.params[0].op = ParamOp::InList;
        let mut o = ObservedValues::default();
        add_inferred(&mut o, &[sh.clone()], &workload(1_500_000), &catalog());
        let st = o.get(5).expect("inferred");
        assert_eq!(st.values[0].value, r#"{"delivered","shipped"}"#);
        assert_eq!(st.values[0].source, ValueSource::RowsPerCall);
        // Never longer than the column has values.
        let mut o = ObservedValues::default();
        add_inferred(&mut o, &[sh], &workload(30_000_000), &catalog());
        assert_eq!(
            crate::parse::literals::list_len(&o.get(5).expect("inferred").values[0].value),
            Some(4)
        );
    }
}
