//! The value a `LIMIT $n` is costed with when nothing observed it: what the statement's own
//! Django shape fixes, else what pg_stat_statements' rows per call allow, else the old default
//! with the plausible extremes beside it for the risk rule.
//!
//! Stage `whatif` (pure: a shape and pg_stat_statements' counts in, a choice out). Must not
//! query anything, and must not replace a value observed for the position (pg_stat_activity
//! samples, log entries): those are the application's own. Invariant: the choice depends only
//! on the shape and the statement's `calls` and `rows`; [`apply`] keeps the weights of a
//! statement's value sets summing to 1 and the sets in the same order for every configuration.
//!
//! Heuristic (problem / what we do / example):
//! - Problem: pg_stat_statements keeps `LIMIT $n`, and the limit decides plans: under
//!   `ORDER BY … LIMIT k` an index walk that stops after `k` matches is cheap for `k = 1` and
//!   long for a rare value at `k = 100`; a sequential scan under `LIMIT 1` stops 20 times
//!   sooner than under `LIMIT 20`. Costing every limit at 20 misjudges `exists()` (always 1),
//!   `.first()` (1) and an admin list (100).
//! - What we do, in this order (docs/postgres-facts.md §12 says what Django sends):
//!   1. `SELECT $k AS "a" … LIMIT $n` is Django's `exists()` (also inside `EXISTS(…)`): 1.
//!   2. The outermost `LIMIT $n` with no ORDER BY and no OFFSET, at most one row per call, is
//!      Django's `.get()`, which sends `LIMIT 21` and no ordering: 21.
//!   3. Under ORDER BY, exactly one row per call over at least [`MIN_CALLS`] calls: every call
//!      found a row and kept one, `.first()`, `.last()`, `.latest()` or `[:1]`: 1 (a page whose
//!      filter always matches exactly one row would give the same counts, so the larger limit
//!      stays among the values the risk rule checks).
//!   4. Rows per call is a floor: no call returns more rows than its limit, so a mean above
//!      the default means a limit of at least its ceiling, taken as the limit.
//!   5. Else the old default [`DEFAULT_LIMIT`]. Fewer rows per call than that says little (a
//!      short last page, a filter matching few rows).
//! - Where 3–5 leave the limit a guess, each value set gets up to two more beside it at
//!   [`PROBE_WEIGHT`] of its weight, one at the lowest limit the rows per call allow (1 when
//!   they allow it) and one at [`HIGH_PROBE`], so the risk rule ([`crate::cost::value_risk`])
//!   says when the advice depends on the limit. An OFFSET nothing observed takes the limit's
//!   value (a Paginator's second page; Django sends no `OFFSET 0`).
//! - Example: `SELECT $1 AS "a" FROM "shop_order" WHERE "shop_order"."status" = $2 LIMIT $3`
//!   is costed with `$3 = 1`, not 20; `… ORDER BY "created_at" DESC LIMIT $2` with 300 rows
//!   over 300 calls with `$2 = 1`, and also with 100 for the risk rule.

use super::params::{ParamType, ValueSet};
use crate::model::ObservedStatement;
use crate::parse::shape::{Limit, ParamOp, QueryShape, StatementKind};
use crate::parse::text::{closing_paren, lex, tok_text, TokKind};

/// The limit when nothing tells it (what every `LIMIT $n` was costed with before).
pub const DEFAULT_LIMIT: u64 = 20;

/// Django's `.get()` fetches at most this many rows (`MAX_GET_RESULTS`), to report how many
/// matched when more than one did.
pub const GET_LIMIT: u64 = 21;

/// The larger limit the risk rule also checks: the Django admin's default page size
/// (`ModelAdmin.list_per_page`), and a usual maximum page size of an API.
pub const HIGH_PROBE: u64 = 100;

/// Share of a value set's weight each probe (a limit costed for the risk rule) takes.
pub const PROBE_WEIGHT: f64 = 0.1;

/// Calls from which exactly one row per call is read as a LIMIT 1.
pub const MIN_CALLS: i64 = 5;

/// pg_stat_statements' counts of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    /// Executions.
    pub calls: i64,
    /// Rows returned, in total.
    pub rows: i64,
}

/// Where a limit's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// Django's `exists()`: `SELECT 1 AS "a" … LIMIT 1`.
    Exists,
    /// Django's `.get()`: no ordering, `LIMIT 21`.
    Get,
    /// One row per call under ORDER BY: `.first()`, `.last()`, `.latest()`, `[:1]`.
    OneRowPerCall,
    /// The ceiling of the rows per call, above the default.
    RowsPerCall,
    /// Nothing tells: [`DEFAULT_LIMIT`].
    Default,
}

impl LimitSource {
    /// For the report.
    pub fn label(self) -> &'static str {
        match self {
            LimitSource::Exists => "Django's exists() sends LIMIT 1",
            LimitSource::Get => {
                "no ordering and at most one row per call: Django's get() sends LIMIT 21"
            }
            LimitSource::OneRowPerCall => "one row per call under ORDER BY: first()/last()/[:1]",
            LimitSource::RowsPerCall => "at least the rows per call",
            LimitSource::Default => "not observed, assumed",
        }
    }
}

/// The value one `LIMIT $n` is costed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitChoice {
    /// The parameter (`$n`).
    pub param: u32,
    /// The outermost query's limit (the one rows per call speak of).
    pub outer: bool,
    /// The value.
    pub value: u64,
    /// Where it came from.
    pub source: LimitSource,
    /// Other limits costed beside it for the risk rule (empty when the value is Django's own).
    pub probes: Vec<u64>,
}

/// The byte range of the innermost parenthesised group holding `at` (the whole text at the
/// outermost level), literals, quoted identifiers and comments skipped.
fn group_of(text: &str, at: usize) -> (usize, usize) {
    let mut open: Vec<usize> = vec![];
    for t in lex(text).toks.iter().take_while(|t| t.start < at) {
        match t.kind {
            TokKind::Punct('(') => open.push(t.end),
            TokKind::Punct(')') => {
                open.pop();
            }
            _ => {}
        }
    }
    let start = open.last().copied().unwrap_or(0);
    (start, closing_paren(text, at).unwrap_or(text.len()))
}

/// The tokens of a group with every nested group left out (the group's own clauses), each
/// followed by a space.
fn own_level(group: &str) -> String {
    let mut out = String::with_capacity(group.len());
    let mut depth = 0usize;
    for t in &lex(group).toks {
        match t.kind {
            TokKind::Punct('(') => depth += 1,
            TokKind::Punct(')') => depth = depth.saturating_sub(1),
            _ if depth == 0 => {
                out.push_str(tok_text(group, t));
                out.push(' ');
            }
            _ => {}
        }
    }
    out
}

/// Where `LIMIT $p` is in the text (not `LIMIT $p0`).
fn limit_at(text: &str, p: u32) -> Option<usize> {
    let needle = format!("LIMIT ${p}");
    let upper = text.to_ascii_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find(&needle).map(|i| from + i) {
        let end = at + needle.len();
        if !text[end..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some(at);
        }
        from = end;
    }
    None
}

/// The group selects only Django's `exists()` annotation: `SELECT $k AS "a"` or
/// `SELECT ($k) AS "a"` (`SELECT 1 AS "a"` as sent).
fn is_exists(own: &str) -> bool {
    let s = own.trim_start();
    let Some(rest) = s
        .get(..7)
        .filter(|h| h.eq_ignore_ascii_case("SELECT "))
        .map(|_| &s[7..])
    else {
        return false;
    };
    // `own` has nested groups left out: `SELECT ($1) AS "a"` reads `SELECT  AS "a"`.
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('$') {
        Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest.strip_prefix('1').unwrap_or(rest),
    };
    let rest = rest.trim_start();
    rest.get(..7)
        .is_some_and(|h| h.eq_ignore_ascii_case("AS \"a\" "))
}

fn has_order_by(own: &str) -> bool {
    own.to_ascii_uppercase().contains("ORDER BY")
}

/// The choice for each `LIMIT $n` of a statement (in parameter order); `calls` are its
/// pg_stat_statements counts, when known.
pub fn choose(shape: &QueryShape, calls: Option<Calls>) -> Vec<LimitChoice> {
    let outer = match shape.limit {
        Some(Limit::Param(p)) => Some(p),
        _ => None,
    };
    let mut params: Vec<u32> = shape
        .params
        .iter()
        .filter(|u| u.op == ParamOp::Limit)
        .map(|u| u.param)
        .collect();
    params.sort_unstable();
    params.dedup();
    let text = shape.plan_text.as_str();
    params
        .into_iter()
        .map(|p| {
            let is_outer = outer == Some(p);
            let own = limit_at(text, p)
                .map(|at| {
                    let (s, e) = group_of(text, at);
                    own_level(&text[s..e])
                })
                .or_else(|| is_outer.then(|| own_level(text)));
            let exists = own.as_deref().is_some_and(is_exists);
            let ordered = own.as_deref().is_some_and(has_order_by);
            let (value, source) = if exists {
                (1, LimitSource::Exists)
            } else if is_outer && shape.kind == StatementKind::Select {
                from_calls(calls, ordered, shape.offset)
            } else {
                (DEFAULT_LIMIT, LimitSource::Default)
            };
            let probes = if matches!(source, LimitSource::Exists | LimitSource::Get) || !is_outer {
                vec![]
            } else {
                probes(value, calls)
            };
            LimitChoice {
                param: p,
                outer: is_outer,
                value,
                source,
                probes,
            }
        })
        .collect()
}

/// Rules 2–5 for the outermost limit of a SELECT.
fn from_calls(calls: Option<Calls>, ordered: bool, offset: bool) -> (u64, LimitSource) {
    let Some(c) = calls.filter(|c| c.calls > 0 && c.rows >= 0) else {
        return (DEFAULT_LIMIT, LimitSource::Default);
    };
    let rows_per_call = c.rows as f64 / c.calls as f64;
    if !ordered && !offset && c.rows <= c.calls {
        return (GET_LIMIT, LimitSource::Get);
    }
    if ordered && !offset && c.rows == c.calls && c.calls >= MIN_CALLS {
        return (1, LimitSource::OneRowPerCall);
    }
    let floor = rows_per_call.ceil() as u64;
    if floor > DEFAULT_LIMIT {
        return (floor, LimitSource::RowsPerCall);
    }
    (DEFAULT_LIMIT, LimitSource::Default)
}

/// The limits costed beside a guessed `value`: the lowest the rows per call allow, and
/// [`HIGH_PROBE`], each when it differs from `value` on the right side.
fn probes(value: u64, calls: Option<Calls>) -> Vec<u64> {
    let floor = calls
        .filter(|c| c.calls > 0 && c.rows >= 0)
        .map(|c| (c.rows as f64 / c.calls as f64).ceil() as u64)
        .unwrap_or(0)
        .max(1);
    let mut out = vec![];
    if floor < value {
        out.push(floor);
    }
    if value < HIGH_PROBE {
        out.push(HIGH_PROBE);
    }
    out
}

/// The statement's value sets with each `LIMIT $n` nothing observed set to its choice, an
/// unobserved OFFSET set to the outermost limit, and, when `probe` (the statement's values were
/// not observed, so the risk rule applies), each set split into the chosen limit and its probes.
/// `observed` is what was observed for the statement when its sets came from it: its positions
/// keep their values.
pub fn apply(
    shape: &QueryShape,
    types: &[ParamType],
    sets: Vec<ValueSet>,
    choices: &[LimitChoice],
    observed: Option<&ObservedStatement>,
    probe: bool,
) -> Vec<ValueSet> {
    let seen = |p: u32| observed.is_some_and(|o| !o.param_values(p).is_empty());
    let text = |p: u32, v: u64| {
        let v = v.to_string();
        let array = types.get(p as usize - 1).is_some_and(|t| t.array);
        if array {
            super::params::array_literal(&v)
        } else {
            v
        }
    };
    let fixed: Vec<&LimitChoice> = choices
        .iter()
        .filter(|c| c.param >= 1 && (c.param as usize) <= types.len() && !seen(c.param))
        .collect();
    let outer_value = match shape.limit {
        Some(Limit::Param(p)) => fixed
            .iter()
            .find(|c| c.param == p)
            .map(|c| c.value)
            .or_else(|| {
                // Observed: the value most often seen.
                observed
                    .and_then(|o| o.param_values(p).first().map(|(v, _)| v.clone()))
                    .and_then(|v| v.parse::<u64>().ok())
            }),
        Some(Limit::Const(k)) => Some(k),
        None => None,
    };
    let offsets: Vec<u32> = shape
        .params
        .iter()
        .filter(|u| u.op == ParamOp::Offset && !seen(u.param))
        .filter(|u| u.param >= 1 && (u.param as usize) <= types.len())
        .map(|u| u.param)
        .collect();
    let probing: Vec<&LimitChoice> = if probe {
        fixed
            .iter()
            .copied()
            .filter(|c| !c.probes.is_empty())
            .collect()
    } else {
        vec![]
    };
    sets.into_iter()
        .flat_map(|mut set| {
            for c in &fixed {
                set.values[c.param as usize - 1] = Some(text(c.param, c.value));
            }
            if let Some(k) = outer_value {
                for &p in &offsets {
                    set.values[p as usize - 1] = Some(text(p, k));
                }
            }
            let mut out = vec![];
            let mut main = set.clone();
            for c in &probing {
                for &v in &c.probes {
                    let mut s = set.clone();
                    s.values[c.param as usize - 1] = Some(text(c.param, v));
                    if c.outer {
                        for &p in &offsets {
                            s.values[p as usize - 1] = Some(text(p, v));
                        }
                    }
                    s.weight = set.weight * PROBE_WEIGHT;
                    main.weight -= s.weight;
                    out.push(s);
                }
            }
            out.insert(0, main);
            out
        })
        .collect()
}

/// The report's words for the limits a statement was costed with when they were not observed
/// (`LIMIT 1 (Django's exists() sends LIMIT 1)`), `None` when it has no `LIMIT $n` or all of
/// them were observed. The probes are named only when nothing was observed for the statement
/// (as [`apply`] is told by the engine).
pub fn describe(choices: &[LimitChoice], observed: Option<&ObservedStatement>) -> Option<String> {
    let probe = observed.is_none_or(|o| o.total() == 0);
    let parts: Vec<String> = choices
        .iter()
        .filter(|c| observed.is_none_or(|o| o.param_values(c.param).is_empty()))
        .map(|c| {
            let also = if c.probes.is_empty() || !probe {
                String::new()
            } else {
                let p: Vec<String> = c.probes.iter().map(u64::to_string).collect();
                format!("; also costed at {} for the risk", p.join(" and "))
            };
            format!("LIMIT {} ({}{also})", c.value, c.source.label())
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::observed::{ObservationBuilder, Seen, ValueSource};
    use crate::parse::shape::ParamUse;

    /// A shape for `text` whose parameters are used as `ops` (`$1..`), outermost limit `limit`.
    fn shape(text: &str, ops: &[ParamOp], limit: Option<u32>, offset: bool) -> QueryShape {
        QueryShape {
            queryid: 1,
            kind: StatementKind::Select,
            plan_text: text.into(),
            param_count: ops.len() as u32,
            tables: vec![],
            params: ops
                .iter()
                .enumerate()
                .map(|(i, op)| ParamUse {
                    param: i as u32 + 1,
                    schema: None,
                    table: None,
                    column: None,
                    op: *op,
                })
                .collect(),
            limit: limit.map(Limit::Param),
            offset,
        }
    }

    fn calls(calls: i64, rows: i64) -> Option<Calls> {
        Some(Calls { calls, rows })
    }

    /// (value, source, probes) of the outermost limit.
    fn outer(s: &QueryShape, c: Option<Calls>) -> (u64, LimitSource, Vec<u64>) {
        let ch = choose(s, c);
        let o = ch.iter().find(|c| c.outer).expect("an outer limit");
        (o.value, o.source, o.probes.clone())
    }

    const EXISTS: &str =
        r#"SELECT $1 AS "a" FROM "shop_order" WHERE "shop_order"."status" = $2 LIMIT $3"#;

    /// What pg_qualstats alone gives statement 1: the status column's value, no `$n`.
    fn qualstats_saw_the_status() -> crate::model::observed::ObservedValues {
        let mut b = ObservationBuilder::default();
        b.add_value(
            1,
            crate::model::observed::ObservedValue {
                param: None,
                column: Some("shop_order.status".into()),
                value: "pending".into(),
                weight: 3,
                source: ValueSource::Qualstats,
            },
        );
        b.finish()
    }

    #[test]
    fn exists_is_limit_one_whatever_the_counts() {
        let s = shape(
            EXISTS,
            &[ParamOp::Other, ParamOp::Eq, ParamOp::Limit],
            Some(3),
            false,
        );
        for c in [None, calls(10, 0), calls(10, 10), calls(10, 7)] {
            assert_eq!(outer(&s, c), (1, LimitSource::Exists, vec![]));
        }
        // `SELECT (1) AS "a"` once normalised, lower case.
        let s = shape(
            r#"select ($1) as "a" from "t" where "t"."x" = $2 limit $3"#,
            &[ParamOp::Other, ParamOp::Eq, ParamOp::Limit],
            Some(3),
            false,
        );
        assert_eq!(outer(&s, None).0, 1);
        // A column aliased "a" among others is not exists().
        let s = shape(
            r#"SELECT "t"."id" AS "a", "t"."x" FROM "t" LIMIT $1"#,
            &[ParamOp::Limit],
            Some(1),
            false,
        );
        assert_eq!(outer(&s, None).1, LimitSource::Default);
    }

    /// `Exists()` in a filter: its own LIMIT is 1; the outer one is a guess.
    #[test]
    fn an_exists_subquery_s_limit_is_one() {
        let text = r#"SELECT "c"."id" FROM "shop_customer" "c" WHERE EXISTS(SELECT $1 AS "a" FROM "shop_order" U0 WHERE (U0."customer_id" = ("c"."id") AND U0."status" = $2) LIMIT $3) ORDER BY "c"."name" ASC LIMIT $4"#;
        let s = shape(
            text,
            &[ParamOp::Other, ParamOp::Eq, ParamOp::Limit, ParamOp::Limit],
            Some(4),
            false,
        );
        let ch = choose(&s, None);
        assert_eq!(
            ch.iter()
                .map(|c| (c.param, c.value, c.source, c.outer))
                .collect::<Vec<_>>(),
            vec![
                (3, 1, LimitSource::Exists, false),
                (4, 20, LimitSource::Default, true)
            ]
        );
        assert_eq!(ch[1].probes, vec![1, 100]);
    }

    const GET: &str = r#"SELECT "shop_customer"."id", "shop_customer"."email" FROM "shop_customer" WHERE "shop_customer"."email" = $1 LIMIT $2"#;
    const FIRST: &str = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#;

    #[test]
    fn no_ordering_and_at_most_a_row_per_call_is_get() {
        let s = shape(GET, &[ParamOp::Eq, ParamOp::Limit], Some(2), false);
        assert_eq!(outer(&s, calls(40, 40)), (21, LimitSource::Get, vec![]));
        assert_eq!(outer(&s, calls(40, 3)), (21, LimitSource::Get, vec![]));
        // More rows than calls: a slice, not get().
        assert_eq!(outer(&s, calls(40, 400)).1, LimitSource::Default);
        // Unknown counts: nothing tells.
        assert_eq!(outer(&s, None), (20, LimitSource::Default, vec![1, 100]));
        // An ORDER BY inside a subquery is not the statement's.
        let sub = r#"SELECT "t"."id" FROM "t" WHERE "t"."id" IN (SELECT U0."id" FROM "u" U0 ORDER BY U0."x" LIMIT $1) LIMIT $2"#;
        let s = shape(sub, &[ParamOp::Limit, ParamOp::Limit], Some(2), false);
        assert_eq!(outer(&s, calls(5, 5)).1, LimitSource::Get);
    }

    #[test]
    fn one_row_per_call_under_order_by_is_first() {
        let s = shape(FIRST, &[ParamOp::Eq, ParamOp::Limit], Some(2), false);
        assert_eq!(
            outer(&s, calls(300, 300)),
            (1, LimitSource::OneRowPerCall, vec![100])
        );
        // Too few calls to tell, or some calls found nothing: the default, probed down to 1.
        assert_eq!(
            outer(&s, calls(3, 3)),
            (20, LimitSource::Default, vec![1, 100])
        );
        assert_eq!(
            outer(&s, calls(300, 280)),
            (20, LimitSource::Default, vec![1, 100])
        );
        // A page 2 (OFFSET) is never first().
        let s = shape(
            &format!("{FIRST} OFFSET $3"),
            &[ParamOp::Eq, ParamOp::Limit, ParamOp::Offset],
            Some(2),
            true,
        );
        assert_eq!(outer(&s, calls(300, 300)).1, LimitSource::Default);
    }

    #[test]
    fn rows_per_call_above_the_default_is_a_floor() {
        let s = shape(FIRST, &[ParamOp::Eq, ParamOp::Limit], Some(2), false);
        // An admin list: 100 rows on every call.
        assert_eq!(
            outer(&s, calls(50, 5_000)),
            (100, LimitSource::RowsPerCall, vec![])
        );
        // 49.5 per call: at least 50.
        assert_eq!(
            outer(&s, calls(2, 99)),
            (50, LimitSource::RowsPerCall, vec![100])
        );
        // Fewer rows than the default tell little, but rule out a limit below them.
        assert_eq!(
            outer(&s, calls(10, 55)),
            (20, LimitSource::Default, vec![6, 100])
        );
    }

    fn ty(name: &str) -> ParamType {
        ParamType {
            name: name.into(),
            array: false,
        }
    }

    fn set(weight: f64, values: &[&str]) -> ValueSet {
        ValueSet {
            weight,
            values: values.iter().map(|v| Some(v.to_string())).collect(),
        }
    }

    /// Each set as `values… @weight` (`1 delivered 1 @0.900`).
    fn summary(sets: &[ValueSet]) -> Vec<String> {
        sets.iter()
            .map(|s| {
                let values: Vec<&str> = s
                    .values
                    .iter()
                    .map(|v| v.as_deref().unwrap_or(""))
                    .collect();
                format!("{} @{:.3}", values.join(" "), s.weight)
            })
            .collect()
    }

    #[test]
    fn apply_sets_django_s_limit_without_probes() {
        let s = shape(
            EXISTS,
            &[ParamOp::Other, ParamOp::Eq, ParamOp::Limit],
            Some(3),
            false,
        );
        let ch = choose(&s, None);
        let sets = vec![
            set(0.9, &["1", "delivered", "20"]),
            set(0.1, &["1", "pending", "20"]),
        ];
        let types = [ty("int4"), ty("text"), ty("int8")];
        let out = apply(&s, &types, sets, &ch, None, true);
        assert_eq!(
            summary(&out),
            ["1 delivered 1 @0.900", "1 pending 1 @0.100"]
        );
    }

    /// A guessed limit: each set beside its probes, weights still summing to 1, the OFFSET
    /// following the limit (a Paginator's second page).
    #[test]
    fn apply_probes_a_guess_and_offsets_follow() {
        let text = format!("{FIRST} OFFSET $3");
        let s = shape(
            &text,
            &[ParamOp::Eq, ParamOp::Limit, ParamOp::Offset],
            Some(2),
            true,
        );
        let ch = choose(&s, None);
        let types = [ty("text"), ty("int8"), ty("int8")];
        let sets = vec![
            set(0.75, &["delivered", "20", "0"]),
            set(0.25, &["pending", "20", "0"]),
        ];
        let out = apply(&s, &types, sets.clone(), &ch, None, true);
        let total: f64 = out.iter().map(|s| s.weight).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let got = summary(&out);
        assert_eq!(got.len(), 6);
        assert_eq!(
            got[..3],
            [
                "delivered 20 20 @0.600",
                "delivered 1 1 @0.075",
                "delivered 100 100 @0.075"
            ]
        );
        // Values observed: the risk rule is off, no probes, only the choice.
        let out = apply(&s, &types, sets, &ch, None, false);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].values[1].as_deref(), Some("20"));
    }

    /// A limit pg_stat_activity saw wins over every rule; one it did not see takes the rule's.
    #[test]
    fn observed_limits_win() {
        let s = shape(
            EXISTS,
            &[ParamOp::Other, ParamOp::Eq, ParamOp::Limit],
            Some(3),
            false,
        );
        let ch = choose(&s, None);
        let mut b = ObservationBuilder::default();
        b.add_tuple(
            1,
            vec![Some("1".into()), Some("pending".into()), Some("5".into())],
            ValueSource::Activity,
            10,
            Seen::Whole,
        );
        let o = b.finish();
        let obs = o.get(1);
        let types = [ty("int4"), ty("text"), ty("int8")];
        let out = apply(
            &s,
            &types,
            vec![set(1.0, &["1", "pending", "5"])],
            &ch,
            obs,
            false,
        );
        assert_eq!(out[0].values[2].as_deref(), Some("5"));
        assert_eq!(describe(&ch, obs), None);
        // pg_qualstats saw only the status: the limit is still Django's.
        let o = qualstats_saw_the_status();
        let out = apply(
            &s,
            &types,
            vec![set(1.0, &["1", "pending", "20"])],
            &ch,
            o.get(1),
            false,
        );
        assert_eq!(out[0].values[2].as_deref(), Some("1"));
        assert_eq!(
            describe(&ch, o.get(1)).as_deref(),
            Some("LIMIT 1 (Django's exists() sends LIMIT 1)")
        );
    }

    #[test]
    fn describe_says_the_guess_and_its_probes() {
        let s = shape(FIRST, &[ParamOp::Eq, ParamOp::Limit], Some(2), false);
        assert_eq!(
            describe(&choose(&s, None), None).as_deref(),
            Some("LIMIT 20 (not observed, assumed; also costed at 1 and 100 for the risk)")
        );
        // pg_qualstats saw the status: the risk rule is off, no probes were costed.
        let o = qualstats_saw_the_status();
        assert_eq!(
            describe(&choose(&s, None), o.get(1)).as_deref(),
            Some("LIMIT 20 (not observed, assumed)")
        );
        let no_limit = shape("SELECT 1", &[], None, false);
        assert_eq!(describe(&choose(&no_limit, None), None), None);
    }
}
