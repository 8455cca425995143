//! Representative parameter values for `$n` statements (docs/postgres-facts.md §3, main path),
//! and the text-format parameter wrapper that lets any type accept them.
//!
//! Stage `whatif` (pure but for the `ToSql` glue). Must not query the database: values come from
//! the snapshot's `pg_stats`. Invariant: the value sets of a statement depend only on its shape,
//! the catalog and the inferred parameter types, and their weights sum to 1.
//!
//! Heuristic (problem / what we do / example):
//! - Problem: pg_stat_statements keeps `$n`, and one value can plan very differently from
//!   another (skew).
//! - What we do: the first equality parameter with statistics drives the sets: up to
//!   `max_sets` values, the most common values with their frequencies (all of them for a
//!   low-cardinality column) and histogram quantiles sharing the rest of the mass. Every other
//!   equality parameter takes the value of the same rank from its own column. Range parameters
//!   take a window of the newest ~5% (`col > $n` at the 95th percentile, `col < $n` at the top
//!   of the histogram when paired, else at the 5th); `LIMIT` 20 and `OFFSET` 0 here, replaced
//!   by what the statement's Django shape or its rows per call tell ([`super::limit_value`]);
//!   `LIKE` a 3-character prefix of a representative value plus `%`; anything else a type
//!   default.
//! - Example: `status = $1` on shop_order gives delivered 0.90, shipped 0.06, cancelled 0.03,
//!   pending 0.01, so a partial index `WHERE status = 'pending'` is seen for the 1%.

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

use crate::model::{Catalog, ColumnStats};
use crate::parse::shape::{ParamOp, ParamUse, QueryShape};

/// `LIMIT $n` gets this value here; [`super::limit_value::apply`] replaces it with what the
/// statement tells ([`super::limit_value::DEFAULT_LIMIT`] when nothing does).
pub const LIMIT_VALUE: &str = "20";
/// A squashed list (`IN ($n /*, ... */)`, PostgreSQL 18) for which no list was observed is
/// costed with this many values: Django's `__in` and `prefetch_related` send one value per row
/// of a page (Django REST framework's and the admin's default page sizes are 10 to 100), and a
/// shorter list would flatter the leading-column index (one value gives ordered output, several
/// do not).
pub const DEFAULT_LIST_LEN: usize = 10;
/// The range window: `col > $n` sits at this quantile.
pub const RANGE_QUANTILE: f64 = 0.95;

/// A parameter value sent in text format, so the server's input function of whatever type it
/// inferred parses it (no quoting, any type). `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextParam(pub Option<String>);

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// What the server inferred for one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamType {
    /// Type name (`int8`, `text`, `timestamptz`, …); for arrays the element type.
    pub name: String,
    /// The parameter is an array (`= ANY($1)`).
    pub array: bool,
}

impl ParamType {
    /// From the driver's type.
    pub fn of(ty: &Type) -> ParamType {
        match ty.kind() {
            tokio_postgres::types::Kind::Array(elem) => ParamType {
                name: elem.name().to_string(),
                array: true,
            },
            _ => ParamType {
                name: ty.name().to_string(),
                array: false,
            },
        }
    }
}

/// One set of parameter values and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSet {
    /// Share of executions this set stands for (the sets of a statement sum to 1).
    pub weight: f64,
    /// Values for `$1..$n`, text form; `None` is NULL.
    pub values: Vec<Option<String>>,
}

/// A value for a type when nothing better is known.
pub fn type_default(name: &str) -> Option<String> {
    let v = match name {
        "int2" | "int4" | "int8" | "oid" | "numeric" | "float4" | "float8" | "money" => "1",
        "bool" => "true",
        "text" | "varchar" | "bpchar" | "name" | "citext" | "char" => "a",
        "date" => "2025-01-01",
        "timestamp" | "timestamptz" => "2025-01-01 00:00:00+00",
        "time" | "timetz" => "00:00:00",
        "interval" => "1 day",
        "uuid" => "00000000-0000-0000-0000-000000000000",
        "json" | "jsonb" => "{}",
        "bytea" => "\\x00",
        "inet" | "cidr" => "127.0.0.1",
        _ => return None,
    };
    Some(v.to_string())
}

/// The representative values of a column with their weights (summing to the non-null share,
/// then normalised by the caller), at most `k` of them.
pub fn distribution(stats: &ColumnStats, k: usize) -> Vec<(String, f64)> {
    let k = k.max(1);
    if !stats.workload_values.is_empty() {
        let n = stats.workload_values.len().min(k);
        return stats.workload_values[..n]
            .iter()
            .map(|v| (v.clone(), 1.0 / n as f64))
            .collect();
    }
    let mcv: Vec<(String, f64)> = stats
        .most_common_vals
        .iter()
        .cloned()
        .zip(stats.most_common_freqs.iter().copied())
        .collect();
    let hist = &stats.histogram_bounds;
    let n_mcv = if hist.is_empty() {
        mcv.len().min(k)
    } else {
        mcv.len().min(k.div_ceil(2))
    };
    let mut out: Vec<(String, f64)> = mcv[..n_mcv].to_vec();
    let non_null = (1.0 - stats.null_frac).max(0.0);
    let picked: f64 = out.iter().map(|(_, f)| f).sum();
    let rest = (non_null - picked).max(0.0);
    if !hist.is_empty() {
        let h = (k - n_mcv).max(1);
        for j in 0..h {
            let q = (j as f64 + 0.5) / h as f64;
            out.push((quantile(hist, q).to_string(), rest / h as f64));
        }
    } else if mcv.len() > n_mcv && rest > 0.0 {
        let remaining = &mcv[n_mcv..];
        out.push((remaining[remaining.len() / 2].0.clone(), rest));
    }
    out
}

/// Up to `k` distinct values of a column for a list parameter nothing was observed for: the
/// column's representative values ([`distribution`]: common values, then histogram quantiles
/// spread over the whole range), each once. Fewer when the column has fewer.
pub fn list_values(stats: &ColumnStats, k: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(k);
    for (v, _) in distribution(stats, k) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    // A histogram with fewer distinct bounds than asked for: take its bounds in order.
    for v in &stats.histogram_bounds {
        if out.len() >= k {
            break;
        }
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out.truncate(k);
    out
}

fn quantile(hist: &[String], q: f64) -> &str {
    let i = ((hist.len() - 1) as f64 * q).round() as usize;
    &hist[i.min(hist.len() - 1)]
}

pub(crate) fn column_stats<'a>(
    catalog: &'a Catalog,
    shape: &QueryShape,
    u: &ParamUse,
) -> Option<&'a ColumnStats> {
    let col = u.column.as_deref()?;
    let table = u.table.as_deref()?;
    let t = match u.schema.as_deref() {
        Some(s) => catalog.table(s, table),
        None => shape
            .tables
            .iter()
            .find(|t| t.table == table)
            .and_then(|t| catalog.table(&t.schema, &t.table))
            .or_else(|| catalog.resolve(table)),
    }?;
    t.column(col)?.stats.as_ref()
}

pub(crate) fn array_literal(v: &str) -> String {
    let mut s = String::from("{\"");
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push_str("\"}");
    s
}

/// The weighted value sets for a statement whose parameters the server typed as `types`
/// (`types[i]` is `$i+1`). Always at least one set.
pub fn value_sets(
    shape: &QueryShape,
    catalog: &Catalog,
    types: &[ParamType],
    max_sets: usize,
) -> Vec<ValueSet> {
    let n = types.len();
    let use_of = |p: usize| shape.params.iter().find(|u| u.param as usize == p + 1);
    let driver: Option<Vec<(String, f64)>> = (0..n).find_map(|p| {
        let u = use_of(p)?;
        if u.op != ParamOp::Eq {
            return None;
        }
        let d = distribution(column_stats(catalog, shape, u)?, max_sets);
        (!d.is_empty()).then_some(d)
    });
    let weights: Vec<f64> = match &driver {
        Some(d) => {
            let total: f64 = d.iter().map(|(_, w)| w).sum();
            if total > 0.0 {
                d.iter().map(|(_, w)| w / total).collect()
            } else {
                vec![1.0 / d.len() as f64; d.len()]
            }
        }
        None => vec![1.0],
    };
    let sets: Vec<ValueSet> = (0..weights.len())
        .map(|rank| ValueSet {
            weight: weights[rank],
            values: (0..n)
                .map(|p| value_for(shape, catalog, p, rank, &types[p], max_sets))
                .collect(),
        })
        .collect();
    contains_too(shape, sets)
}

/// Problem: Django sends a `LIKE` parameter as `'abc%'` (`startswith`) or `'%abc%'`
/// (`contains`, `icontains`, the admin's search), and pg_stat_statements cannot tell which; only
/// the prefix form can use a B-tree. What we do: each value set becomes two of half the weight,
/// one with the prefix patterns and one with the same text as a contains pattern, so an index
/// that serves only the prefix form is credited with half its gain. Example: `UPPER("name")
/// LIKE UPPER($1)` costed with `'Cus%'` (weight 0.5) and `'%Cus%'` (weight 0.5).
fn contains_too(shape: &QueryShape, sets: Vec<ValueSet>) -> Vec<ValueSet> {
    let likes: Vec<usize> = shape
        .params
        .iter()
        .filter(|u| u.op == ParamOp::Like && u.param >= 1)
        .map(|u| u.param as usize - 1)
        .collect();
    if likes.is_empty() {
        return sets;
    }
    sets.into_iter()
        .flat_map(|set| {
            let mut contains = set.clone();
            for &p in &likes {
                if let Some(Some(v)) = contains.values.get_mut(p) {
                    if !v.starts_with('%') {
                        v.insert(0, '%');
                    }
                }
            }
            let half = set.weight / 2.0;
            [
                ValueSet {
                    weight: half,
                    ..set
                },
                ValueSet {
                    weight: half,
                    ..contains
                },
            ]
        })
        .collect()
}

/// The statistics-based value of `$p+1` for the set of `rank` (what a position nothing was
/// observed for gets).
pub(crate) fn fallback_value(
    shape: &QueryShape,
    catalog: &Catalog,
    p: usize,
    rank: usize,
    ty: &ParamType,
    max_sets: usize,
) -> Option<String> {
    value_for(shape, catalog, p, rank, ty, max_sets)
}

fn value_for(
    shape: &QueryShape,
    catalog: &Catalog,
    p: usize,
    rank: usize,
    ty: &ParamType,
    max_sets: usize,
) -> Option<String> {
    let u = shape.params.iter().find(|u| u.param as usize == p + 1);
    let stats = u.and_then(|u| column_stats(catalog, shape, u));
    let op = u.map(|u| u.op).unwrap_or(ParamOp::Other);
    let ranked = |s: &ColumnStats| {
        let d = distribution(s, max_sets);
        d.get(rank.min(d.len().saturating_sub(1)))
            .map(|(v, _)| v.clone())
    };
    if op == ParamOp::InList {
        let list = stats
            .map(|s| list_values(s, DEFAULT_LIST_LEN))
            .filter(|l| !l.is_empty())
            .or_else(|| type_default(&ty.name).map(|v| vec![v]))?;
        return Some(if ty.array {
            crate::parse::literals::list_literal(&list)
        } else {
            list[0].clone()
        });
    }
    let v = match op {
        ParamOp::Limit => Some(LIMIT_VALUE.to_string()),
        ParamOp::Offset => Some("0".to_string()),
        ParamOp::Upper => stats
            .filter(|s| !s.histogram_bounds.is_empty())
            .map(|s| quantile(&s.histogram_bounds, RANGE_QUANTILE).to_string()),
        ParamOp::Lower => stats.filter(|s| !s.histogram_bounds.is_empty()).map(|s| {
            let paired = u.is_some_and(|u| {
                shape
                    .params
                    .iter()
                    .any(|o| o.op == ParamOp::Upper && o.column == u.column && o.table == u.table)
            });
            let q = if paired { 1.0 } else { 1.0 - RANGE_QUANTILE };
            quantile(&s.histogram_bounds, q).to_string()
        }),
        ParamOp::Like => stats.and_then(ranked).map(|v| {
            let prefix: String = v.chars().take(3).collect();
            format!("{prefix}%")
        }),
        ParamOp::Eq | ParamOp::InList | ParamOp::Value | ParamOp::Other => stats.and_then(ranked),
    };
    let v = v.or_else(|| type_default(&ty.name));
    if ty.array {
        v.map(|v| array_literal(&v))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Table};
    use crate::parse::shape::StatementKind;

    fn stats(mcv: &[(&str, f64)], hist: &[&str]) -> ColumnStats {
        ColumnStats {
            null_frac: 0.0,
            avg_width: 8,
            n_distinct: -0.01,
            most_common_vals: mcv.iter().map(|(v, _)| v.to_string()).collect(),
            most_common_freqs: mcv.iter().map(|(_, f)| *f).collect(),
            histogram_bounds: hist.iter().map(|s| s.to_string()).collect(),
            correlation: None,
            workload_values: vec![],
        }
    }

    fn catalog() -> Catalog {
        let col = |name: &str, s: ColumnStats| Column {
            name: name.into(),
            attnum: 1,
            type_name: "text".into(),
            not_null: true,
            collation: None,
            stats: Some(s),
        };
        Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 300000.0,
                pages: 100,
                all_visible_frac: 1.0,
                columns: vec![
                    col(
                        "status",
                        stats(
                            &[
                                ("delivered", 0.9),
                                ("shipped", 0.06),
                                ("cancelled", 0.03),
                                ("pending", 0.01),
                            ],
                            &[],
                        ),
                    ),
                    col(
                        "customer_id",
                        stats(&[("7", 0.002), ("9", 0.001)], &["1", "2", "3", "4", "5"]),
                    ),
                ],
                ..Table::named("public", "shop_order")
            }],
            search_path: vec![],
        }
    }

    fn shape(params: Vec<(u32, Option<&str>, ParamOp)>) -> QueryShape {
        QueryShape {
            queryid: 1,
            kind: StatementKind::Select,
            plan_text: String::new(),
            param_count: params.len() as u32,
            tables: vec![],
            params: params
                .into_iter()
                .map(|(param, col, op)| ParamUse {
                    param,
                    schema: col.map(|_| "public".into()),
                    table: col.map(|_| "shop_order".into()),
                    column: col.map(String::from),
                    op,
                })
                .collect(),
            limit: None,
            offset: false,
        }
    }

    /// `$1` of each set with its weight to two decimals.
    fn first_values_and_weights(sets: &[ValueSet]) -> Vec<(Option<String>, String)> {
        sets.iter()
            .map(|v| (v.values[0].clone(), format!("{:.2}", v.weight)))
            .collect()
    }

    fn ty(name: &str) -> ParamType {
        ParamType {
            name: name.into(),
            array: false,
        }
    }

    #[test]
    fn low_cardinality_column_gives_every_value_weighted() {
        let s = shape(vec![
            (1, Some("status"), ParamOp::Eq),
            (2, None, ParamOp::Limit),
        ]);
        let sets = value_sets(&s, &catalog(), &[ty("text"), ty("int8")], 4);
        let got = first_values_and_weights(&sets);
        assert_eq!(
            got,
            vec![
                (Some("delivered".into()), "0.90".into()),
                (Some("shipped".into()), "0.06".into()),
                (Some("cancelled".into()), "0.03".into()),
                (Some("pending".into()), "0.01".into()),
            ]
        );
        assert!(sets.iter().all(|v| v.values[1].as_deref() == Some("20")));
    }

    /// `--hot-values shop_order.status=pending`: the values the application uses replace the
    /// table's common values, equally weighted.
    #[test]
    fn hot_values_replace_the_common_values() {
        let mut c = catalog();
        crate::config::HotValues::parse("shop_order.status=pending,cancelled")
            .expect("valid")
            .apply(&mut c)
            .expect("applies");
        let s = shape(vec![
            (1, Some("status"), ParamOp::Eq),
            (2, None, ParamOp::Limit),
        ]);
        let sets = value_sets(&s, &c, &[ty("text"), ty("int8")], 4);
        let got = first_values_and_weights(&sets);
        assert_eq!(
            got,
            vec![
                (Some("pending".into()), "0.50".into()),
                (Some("cancelled".into()), "0.50".into()),
            ]
        );
    }

    /// A LIKE parameter is costed half as a prefix (`startswith`) and half as a contains
    /// pattern (`icontains`): pg_stat_statements cannot tell which the app sends.
    #[test]
    fn a_like_parameter_is_costed_as_prefix_and_as_contains() {
        let s = shape(vec![
            (1, Some("status"), ParamOp::Like),
            (2, None, ParamOp::Limit),
        ]);
        let sets = value_sets(&s, &catalog(), &[ty("text"), ty("int8")], 4);
        let got: Vec<(Option<String>, String)> = sets
            .iter()
            .map(|v| (v.values[0].clone(), format!("{:.2}", v.weight)))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("del%".into()), "0.50".into()),
                (Some("%del%".into()), "0.50".into()),
            ]
        );
        assert!(sets.iter().all(|v| v.values[1].as_deref() == Some("20")));
    }

    /// A squashed list nothing was observed for: one array of distinct values spread over the
    /// column (its common values, then histogram bounds), at most [`DEFAULT_LIST_LEN`], never
    /// the same value twice; an equality parameter beside it still drives the sets.
    #[test]
    fn a_list_parameter_gets_distinct_values_spread_over_the_column() {
        let s = shape(vec![
            (1, Some("customer_id"), ParamOp::InList),
            (2, Some("status"), ParamOp::Eq),
        ]);
        let arr = ParamType {
            name: "int8".into(),
            array: true,
        };
        let sets = value_sets(&s, &catalog(), &[arr, ty("text")], 4);
        assert_eq!(sets.len(), 4, "the status drives the sets");
        for set in &sets {
            assert_eq!(
                set.values[0].as_deref(),
                Some(r#"{"7","9","1","2","3","4","5"}"#),
                "every value of the column once (7 < the default length)"
            );
        }
        let many = stats(
            &[],
            &(0..200)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        let l = list_values(&many, DEFAULT_LIST_LEN);
        assert_eq!(l.len(), DEFAULT_LIST_LEN);
        let mut d = l.clone();
        d.dedup();
        assert_eq!(d.len(), DEFAULT_LIST_LEN, "{l:?}");
        assert_eq!(l.first().map(String::as_str), Some("10"), "{l:?}");
        assert_eq!(l.last().map(String::as_str), Some("189"), "{l:?}");
    }

    #[test]
    fn skewed_key_mixes_mcvs_and_histogram_mass() {
        let s = shape(vec![(1, Some("customer_id"), ParamOp::Eq)]);
        let sets = value_sets(&s, &catalog(), &[ty("int8")], 4);
        let vals: Vec<&str> = sets
            .iter()
            .map(|v| v.values[0].as_deref().unwrap())
            .collect();
        assert_eq!(vals, vec!["7", "9", "2", "4"]);
        let total: f64 = sets.iter().map(|v| v.weight).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(sets[2].weight > 0.49 && sets[0].weight < 0.01);
    }

    #[test]
    fn unknown_columns_get_type_defaults_and_arrays_are_wrapped() {
        let s = shape(vec![
            (1, None, ParamOp::Other),
            (2, Some("status"), ParamOp::Eq),
        ]);
        let sets = value_sets(
            &s,
            &catalog(),
            &[
                ty("timestamptz"),
                ParamType {
                    name: "text".into(),
                    array: true,
                },
            ],
            2,
        );
        assert_eq!(sets[0].values[0].as_deref(), Some("2025-01-01 00:00:00+00"));
        assert_eq!(sets[0].values[1].as_deref(), Some("{\"delivered\"}"));
        assert_eq!(array_literal("a\"b\\"), "{\"a\\\"b\\\\\"}");
        assert_eq!(type_default("no_such_type"), None);
    }

    #[test]
    fn ranges_take_the_newest_window() {
        let s = shape(vec![
            (1, Some("customer_id"), ParamOp::Upper),
            (2, Some("customer_id"), ParamOp::Lower),
        ]);
        let sets = value_sets(&s, &catalog(), &[ty("int8"), ty("int8")], 4);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].values, vec![Some("5".into()), Some("5".into())]);
    }
}
