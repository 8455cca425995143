//! Parameter types from context: what type each `$n` of a statement must have, read from the
//! expression around it, for the statements the server cannot prepare on its own.
//!
//! Stage `parse` (pure, part of the walker so names resolve through the same scopes). Must not
//! decide anything about indexes or values. Invariant: a type is recorded only where the
//! context states it (a column, a typed operand, a cast, a function's signature) or where
//! PostgreSQL itself could not choose (arithmetic between two parameters: numeric); the first
//! type recorded for a parameter wins, and inference never recurses deeper than
//! [`MAX_INFER_DEPTH`].
//!
//! Heuristic (problem / what we do / example):
//! - Problem: pg_stat_statements replaces every constant with `$n`, so `l_discount BETWEEN
//!   0.06 - 0.01 AND …` becomes `l_discount BETWEEN $4 - $5 AND …` (`operator is not unique:
//!   unknown - unknown`), `sum(CASE … THEN 1 ELSE 0 END)` becomes `sum(CASE … THEN $3 ELSE $4
//!   END)` (`function sum(text) does not exist`), and `date '…' + 60` becomes `$2::date + $3`
//!   (`operator is not unique: date + unknown`).
//! - What we do: walk each expression top-down with the type its context expects and
//!   bottom-up with the types its operands have: a comparison, `BETWEEN`, `IN` or `CASE` gives
//!   a parameter the other side's type; arithmetic with a typed side gives the partner that
//!   type (numbers), `integer` (date ± n), `interval` (timestamp ± interval) or `double
//!   precision` (interval × n); arithmetic between two parameters takes the expected type,
//!   else numeric; `sum`/`avg` over parameters are numeric; `LIKE` patterns are text; `LIMIT`
//!   and `OFFSET` are bigint.
//! - Example: `l_discount BETWEEN $4 - $5 AND $6 + $7` on a `numeric(15,2)` column gives
//!   `$4..$7` the type `numeric`.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, InTarget, UnaryOperator, Value,
};

use super::scope::{ident_name, Resolved};
use super::walk::Walker;

/// How deep one expression is followed for inference (deeper parts keep the server's own
/// inference).
pub(crate) const MAX_INFER_DEPTH: usize = 64;

/// The families of types the rules tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Int,
    Num,
    Date,
    Timestamp,
    Interval,
    Text,
    Bool,
    Other,
}

fn family(ty: &str) -> Family {
    let t = ty.trim();
    if t.ends_with("[]") {
        return Family::Other;
    }
    match t {
        "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" => Family::Int,
        "numeric" | "decimal" | "real" | "double precision" | "float4" | "float8" | "float"
        | "money" => Family::Num,
        "date" => Family::Date,
        "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name"
        | "citext" => Family::Text,
        "boolean" | "bool" => Family::Bool,
        _ if t.starts_with("timestamp") => Family::Timestamp,
        _ if t.starts_with("interval") => Family::Interval,
        _ => Family::Other,
    }
}

fn is_number(ty: &str) -> bool {
    matches!(family(ty), Family::Int | Family::Num)
}

/// A type name as a cast target: without type modifiers (`numeric(15,2)` → `numeric`,
/// `character varying(55)` → `character varying`), and `character` (which means `char(1)`
/// without a length) as `bpchar`.
pub(crate) fn cast_target(ty: &str) -> String {
    if ty.contains('"') {
        // A quoted user type: its name is exact and may hold anything.
        return ty.trim().to_string();
    }
    let mut out = String::with_capacity(ty.len());
    let mut rest = ty.trim();
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        if inner
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
        {
            out.push_str(rest[..open].trim_end());
            rest = &rest[open + close + 1..];
        } else {
            out.push_str(&rest[..open + close + 1]);
            rest = &rest[open + close + 1..];
        }
    }
    out.push_str(rest);
    let out = out.to_ascii_lowercase();
    match out.as_str() {
        "character" | "char" => "bpchar".to_string(),
        "character[]" | "char[]" => "bpchar[]".to_string(),
        _ => out,
    }
}

fn data_type(dt: &DataType) -> String {
    cast_target(&dt.to_string())
}

fn placeholder(e: &Expr) -> Option<u32> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.strip_prefix('$').and_then(|n| n.parse().ok()),
            _ => None,
        },
        _ => None,
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    match op {
        BinaryOperator::Eq
        | BinaryOperator::NotEq
        | BinaryOperator::Lt
        | BinaryOperator::LtEq
        | BinaryOperator::Gt
        | BinaryOperator::GtEq => true,
        BinaryOperator::PGCustomBinaryOperator(parts) => matches!(
            parts.last().map(String::as_str),
            Some("=" | "<>" | "<" | "<=" | ">" | ">=")
        ),
        _ => false,
    }
}

fn is_arithmetic(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
    )
}

/// The type the unknown side of `known op ?` (or `? op known`, `known_left` false) must have.
fn partner(known: &str, op: &BinaryOperator, known_left: bool) -> Option<String> {
    if *op == BinaryOperator::StringConcat {
        return Some("text".into());
    }
    let additive = matches!(op, BinaryOperator::Plus | BinaryOperator::Minus);
    let minus = *op == BinaryOperator::Minus;
    let t = match family(known) {
        Family::Int | Family::Num => known,
        // `date ± n`: a bare number was the constant (an interval constant keeps its
        // `interval` keyword, repaired to a cast); `? - date` is a date, `? + date` a number.
        Family::Date if additive => {
            if !known_left && minus {
                "date"
            } else {
                "integer"
            }
        }
        Family::Timestamp if additive => {
            if !known_left && minus {
                known
            } else {
                "interval"
            }
        }
        Family::Interval if additive => "interval",
        Family::Interval => "double precision",
        _ => return None,
    };
    Some(t.to_string())
}

/// The types of both sides of `? op ?` when the result should be `want`.
fn both_unknown(op: &BinaryOperator, want: Option<&str>) -> (String, String) {
    if *op == BinaryOperator::StringConcat {
        return ("text".into(), "text".into());
    }
    let additive = matches!(op, BinaryOperator::Plus | BinaryOperator::Minus);
    match want.map(|w| (w, family(w))) {
        Some((w, Family::Int | Family::Num)) => (w.to_string(), w.to_string()),
        Some((_, Family::Date)) if additive => ("date".into(), "integer".into()),
        Some((w, Family::Timestamp)) if additive => (w.to_string(), "interval".into()),
        Some((_, Family::Interval)) if additive => ("interval".into(), "interval".into()),
        Some((_, Family::Interval)) => ("interval".into(), "double precision".into()),
        _ => ("numeric".into(), "numeric".into()),
    }
}

/// The result type of `l op r` for arithmetic, where known.
fn arithmetic_result(l: Option<&str>, op: &BinaryOperator, r: Option<&str>) -> Option<String> {
    if *op == BinaryOperator::StringConcat {
        return Some("text".into());
    }
    let (l, r) = match (l, r) {
        (Some(l), Some(r)) => (l, r),
        // One side unknown: it takes the partner type the rules give it.
        (Some(k), None) => {
            return match partner(k, op, true) {
                Some(p) => arithmetic_result(Some(k), op, Some(&p)),
                None => Some(k.to_string()),
            }
        }
        (None, Some(k)) => {
            return match partner(k, op, false) {
                Some(p) => arithmetic_result(Some(&p), op, Some(k)),
                None => Some(k.to_string()),
            }
        }
        (None, None) => return None,
    };
    let t = match (family(l), family(r)) {
        (Family::Int, Family::Int) => {
            if l == "bigint" || r == "bigint" {
                "bigint"
            } else {
                "integer"
            }
        }
        (Family::Int | Family::Num, Family::Int | Family::Num) => {
            if l == "numeric" || r == "numeric" || l == "decimal" || r == "decimal" {
                "numeric"
            } else {
                "double precision"
            }
        }
        (Family::Date, Family::Int) | (Family::Int, Family::Date) => "date",
        (Family::Date, Family::Date) => "integer",
        (Family::Date, Family::Interval) | (Family::Interval, Family::Date) => "timestamp",
        (Family::Timestamp, Family::Interval) => l,
        (Family::Interval, Family::Timestamp) => r,
        (Family::Timestamp, Family::Timestamp) => "interval",
        (Family::Interval, _) | (_, Family::Interval) => "interval",
        _ => return None,
    };
    Some(t.to_string())
}

fn args(f: &Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                }
                | FunctionArg::ExprNamed {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => Some(e),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn fn_name(f: &Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident_name)
        .unwrap_or_default()
}

impl Walker<'_> {
    /// Record that `$n` has type `ty` (the first type recorded wins).
    pub(crate) fn note_param_type(&mut self, n: u32, ty: &str) {
        self.param_types.entry(n).or_insert_with(|| cast_target(ty));
    }

    /// Infer the parameter types of one whole expression (a root: a conjunct, a select item,
    /// a sort key…), with what its place expects.
    pub(crate) fn infer_root(&mut self, e: &Expr, want: Option<&str>) {
        self.push(e, want.map(str::to_string), MAX_INFER_DEPTH);
    }

    /// The type of an expression where its operands tell, without recording anything.
    fn type_of(&self, e: &Expr, budget: usize) -> Option<String> {
        if budget == 0 {
            return None;
        }
        let b = budget - 1;
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let parts: Vec<String> = match e {
                    Expr::Identifier(i) => vec![ident_name(i)],
                    Expr::CompoundIdentifier(v) => v.iter().map(ident_name).collect(),
                    _ => vec![],
                };
                match self.scopes.column(&parts) {
                    Resolved::Col(c) => self
                        .scopes
                        .occ_tables
                        .get(c.occ)
                        .and_then(|t| t.column(&c.column))
                        .map(|col| cast_target(&col.type_name)),
                    _ => None,
                }
            }
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => Some(
                    if n.contains(['.', 'e', 'E']) {
                        "numeric"
                    } else {
                        "integer"
                    }
                    .into(),
                ),
                Value::Boolean(_) => Some("boolean".into()),
                Value::Placeholder(p) => p
                    .strip_prefix('$')
                    .and_then(|n| n.parse::<u32>().ok())
                    .and_then(|n| self.param_types.get(&n).cloned()),
                _ => None,
            },
            Expr::Cast {
                data_type: dt,
                kind,
                ..
            } if *kind != CastKind::TryCast && *kind != CastKind::SafeCast => Some(data_type(dt)),
            Expr::TypedString(ts) => Some(data_type(&ts.data_type)),
            Expr::Interval(_) => Some("interval".into()),
            Expr::Nested(x)
            | Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr: x,
            }
            | Expr::Collate { expr: x, .. } => self.type_of(x, b),
            Expr::BinaryOp { left, op, right } if is_arithmetic(op) => arithmetic_result(
                self.type_of(left, b).as_deref(),
                op,
                self.type_of(right, b).as_deref(),
            ),
            Expr::BinaryOp {
                op: BinaryOperator::StringConcat,
                ..
            } => Some("text".into()),
            Expr::BinaryOp { op, .. }
                if is_comparison(op) || matches!(op, BinaryOperator::And | BinaryOperator::Or) =>
            {
                Some("boolean".into())
            }
            Expr::Between { .. }
            | Expr::In { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::Exists { .. }
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::UnaryOp {
                op: UnaryOperator::Not,
                ..
            } => Some("boolean".into()),
            Expr::Case {
                conditions,
                else_result,
                ..
            } => conditions
                .iter()
                .map(|c| &c.result)
                .chain(else_result.as_deref())
                .find_map(|r| self.type_of(r, b)),
            Expr::Function(f) => self.function_type(f, b),
            Expr::Extract { .. } => Some("numeric".into()),
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => self.type_of(expr, b),
            Expr::Substring { .. } | Expr::Trim { .. } | Expr::Overlay { .. } => {
                Some("text".into())
            }
            Expr::AtTimeZone { timestamp, .. } => match self.type_of(timestamp, b).as_deref() {
                Some("timestamp with time zone" | "timestamptz") => {
                    Some("timestamp without time zone".into())
                }
                Some(_) => Some("timestamp with time zone".into()),
                None => None,
            },
            _ => None,
        }
    }

    fn function_type(&self, f: &Function, b: usize) -> Option<String> {
        let a = args(f);
        let first = || a.first().and_then(|x| self.type_of(x, b));
        match fn_name(f).as_str() {
            "count" => Some("bigint".into()),
            "sum" => match first() {
                Some(t) if family(&t) == Family::Int => Some("numeric".into()),
                Some(t) => Some(t),
                None => Some("numeric".into()),
            },
            "avg" => match first() {
                Some(t) if family(&t) == Family::Interval => Some(t),
                Some(t) if family(&t) == Family::Num && t != "numeric" => {
                    Some("double precision".into())
                }
                _ => Some("numeric".into()),
            },
            "min" | "max" | "abs" | "round" | "trunc" | "ceil" | "ceiling" | "floor" => first(),
            "coalesce" | "nullif" | "greatest" | "least" => {
                a.iter().find_map(|x| self.type_of(x, b))
            }
            "upper" | "lower" | "concat" | "substr" | "btrim" | "ltrim" | "rtrim" | "replace"
            | "left" | "right" | "md5" | "to_char" => Some("text".into()),
            "length" | "char_length" | "strpos" => Some("integer".into()),
            "date_part" => Some("double precision".into()),
            "date_trunc" => a.get(1).and_then(|x| self.type_of(x, b)),
            "now" | "current_timestamp" | "statement_timestamp" | "clock_timestamp" => {
                Some("timestamp with time zone".into())
            }
            "current_date" => Some("date".into()),
            _ => None,
        }
    }

    /// Record the parameter types inside `e`, which its context expects to be `want`.
    fn push(&mut self, e: &Expr, want: Option<String>, budget: usize) {
        if budget == 0 {
            return;
        }
        let b = budget - 1;
        if let Some(n) = placeholder(e) {
            if let Some(w) = want {
                self.note_param_type(n, &w);
            }
            return;
        }
        match e {
            Expr::Nested(x)
            | Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr: x,
            } => self.push(x, want, b),
            Expr::UnaryOp { expr: x, .. } => self.push(x, Some("boolean".into()), b),
            Expr::Collate { expr: x, .. } => self.push(x, Some("text".into()), b),
            Expr::Cast {
                expr,
                data_type: dt,
                ..
            } => self.push(expr, Some(data_type(dt)), b),
            Expr::BinaryOp {
                op: BinaryOperator::And | BinaryOperator::Or,
                ..
            } => {
                // Django's long OR/AND chains: walk the spine iteratively.
                let mut cur = e;
                let mut operands = Vec::new();
                while let Expr::BinaryOp {
                    left,
                    op: BinaryOperator::And | BinaryOperator::Or,
                    right,
                } = cur
                {
                    operands.push(right.as_ref());
                    cur = left;
                }
                operands.push(cur);
                for x in operands.into_iter().rev() {
                    self.push(x, Some("boolean".into()), b);
                }
            }
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                self.pair(left, right, b);
            }
            Expr::IsDistinctFrom(l, r) | Expr::IsNotDistinctFrom(l, r) => self.pair(l, r, b),
            Expr::BinaryOp { left, op, right }
                if is_arithmetic(op) || *op == BinaryOperator::StringConcat =>
            {
                let (lt, rt) = (self.type_of(left, b), self.type_of(right, b));
                let (lw, rw) = match (&lt, &rt) {
                    (Some(_), Some(_)) => (None, None),
                    (Some(l), None) => (None, partner(l, op, true)),
                    (None, Some(r)) => (partner(r, op, false), None),
                    (None, None) => {
                        let (l, r) = both_unknown(op, want.as_deref());
                        (Some(l), Some(r))
                    }
                };
                self.push(left, lw, b);
                self.push(right, rw, b);
            }
            Expr::BinaryOp { left, right, .. } => {
                self.push(left, None, b);
                self.push(right, None, b);
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                self.push(left, None, b);
                self.push(right, None, b);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let t = [expr, low, high].iter().find_map(|x| self.type_of(x, b));
                for x in [expr, low, high] {
                    self.push(x, t.clone(), b);
                }
            }
            Expr::In { expr, target, .. } => match target {
                InTarget::List(items) => {
                    let t = std::iter::once(expr.as_ref())
                        .chain(items.iter())
                        .find_map(|x| self.type_of(x, b));
                    self.push(expr, t.clone(), b);
                    for i in items {
                        self.push(i, t.clone(), b);
                    }
                }
                _ => self.push(expr, None, b),
            },
            Expr::Like {
                expr,
                pattern,
                escape_char: _,
                ..
            }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                self.push(expr, Some("text".into()), b);
                self.push(pattern, Some("text".into()), b);
            }
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x)
            | Expr::Extract { expr: x, .. } => self.push(x, None, b),
            Expr::IsTrue(x) | Expr::IsFalse(x) | Expr::IsNotTrue(x) | Expr::IsNotFalse(x) => {
                self.push(x, Some("boolean".into()), b)
            }
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                let w = want.filter(|w| is_number(w)).unwrap_or("numeric".into());
                self.push(expr, Some(w), b)
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                self.push(timestamp, None, b);
                self.push(time_zone, Some("text".into()), b);
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                match operand {
                    Some(o) => {
                        let t = std::iter::once(o.as_ref())
                            .chain(conditions.iter().map(|c| &c.condition))
                            .find_map(|x| self.type_of(x, b));
                        self.push(o, t.clone(), b);
                        for c in conditions {
                            self.push(&c.condition, t.clone(), b);
                        }
                    }
                    None => {
                        for c in conditions {
                            self.push(&c.condition, Some("boolean".into()), b);
                        }
                    }
                }
                let t = conditions
                    .iter()
                    .map(|c| &c.result)
                    .chain(else_result.as_deref())
                    .find_map(|x| self.type_of(x, b))
                    .or(want);
                for c in conditions {
                    self.push(&c.result, t.clone(), b);
                }
                if let Some(x) = else_result {
                    self.push(x, t, b);
                }
            }
            Expr::Function(f) => self.push_function(f, want, b),
            Expr::Tuple(v) => {
                for x in v {
                    self.push(x, None, b);
                }
            }
            _ => {}
        }
    }

    /// Both sides of a comparison: each expects the other's type.
    fn pair(&mut self, l: &Expr, r: &Expr, b: usize) {
        let (lt, rt) = (self.type_of(l, b), self.type_of(r, b));
        self.push(l, rt, b);
        self.push(r, lt, b);
    }

    fn push_function(&mut self, f: &Function, want: Option<String>, b: usize) {
        let a = args(f);
        let known = |w: &Walker<'_>, x: &Expr| w.type_of(x, b);
        match fn_name(f).as_str() {
            "sum" | "avg" => {
                for x in &a {
                    let w = match known(self, x) {
                        Some(_) => None,
                        None => Some(
                            want.clone()
                                .filter(|w| is_number(w) || family(w) == Family::Interval)
                                .unwrap_or("numeric".into()),
                        ),
                    };
                    self.push(x, w, b);
                }
            }
            "min" | "max" | "abs" | "round" | "trunc" | "ceil" | "ceiling" | "floor" => {
                let numeric = !matches!(fn_name(f).as_str(), "min" | "max");
                for (i, x) in a.iter().enumerate() {
                    let w = if i == 0 {
                        known(self, x).map(|_| None).unwrap_or_else(|| {
                            want.clone()
                                .or_else(|| numeric.then(|| "numeric".to_string()))
                        })
                    } else {
                        Some("integer".into())
                    };
                    self.push(x, w, b);
                }
            }
            "coalesce" | "nullif" | "greatest" | "least" => {
                let t = a.iter().find_map(|x| known(self, x)).or(want);
                for x in &a {
                    self.push(x, t.clone(), b);
                }
            }
            "date_part" | "date_trunc" => {
                for (i, x) in a.iter().enumerate() {
                    let w = (i == 0).then(|| "text".to_string());
                    self.push(x, w, b);
                }
            }
            "upper" | "lower" | "length" | "char_length" | "btrim" | "ltrim" | "rtrim" | "md5" => {
                for x in &a {
                    self.push(x, Some("text".into()), b);
                }
            }
            _ => {
                for x in &a {
                    self.push(x, None, b);
                }
            }
        }
        if let Some(x) = &f.filter {
            self.push(x, Some("boolean".into()), b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_targets_drop_modifiers() {
        assert_eq!(cast_target("numeric(15,2)"), "numeric");
        assert_eq!(cast_target("character varying(55)"), "character varying");
        assert_eq!(cast_target("character(25)"), "bpchar");
        assert_eq!(
            cast_target("timestamp(3) with time zone"),
            "timestamp with time zone"
        );
        assert_eq!(cast_target("integer[]"), "integer[]");
        assert_eq!(cast_target("INTERVAL DAY"), "interval day");
        assert_eq!(cast_target("\"My(1)Type\""), "\"My(1)Type\"");
    }
}

#[cfg(test)]
mod inference_tests {
    use std::collections::BTreeMap;

    use crate::model::{Catalog, Column, Table};

    fn table(name: &str, cols: &[(&str, &str)]) -> Table {
        Table {
            oid: 1,
            rows: 1000.0,
            pages: 10,
            all_visible_frac: 1.0,
            columns: cols
                .iter()
                .enumerate()
                .map(|(i, (c, t))| Column {
                    name: c.to_string(),
                    attnum: i as i16 + 1,
                    type_name: t.to_string(),
                    not_null: false,
                    collation: None,
                    stats: None,
                })
                .collect(),
            ..Table::named("public", name)
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            tables: vec![
                table(
                    "lineitem",
                    &[
                        ("l_quantity", "numeric(15,2)"),
                        ("l_discount", "numeric(15,2)"),
                        ("l_extendedprice", "numeric(15,2)"),
                        ("l_shipdate", "date"),
                        ("l_shipmode", "character(10)"),
                        ("l_orderkey", "integer"),
                    ],
                ),
                table(
                    "orders",
                    &[
                        ("o_orderkey", "integer"),
                        ("o_orderpriority", "character(15)"),
                        ("o_created", "timestamp with time zone"),
                        ("o_comment", "character varying(79)"),
                    ],
                ),
            ],
            search_path: vec!["public".into()],
        }
    }

    fn types(sql: &str) -> BTreeMap<u32, String> {
        crate::parse::param_types(sql, &catalog())
    }

    fn t(v: &[(u32, &str)]) -> BTreeMap<u32, String> {
        v.iter().map(|(n, s)| (*n, s.to_string())).collect()
    }

    /// TPC-H Q6 and Q19 as pg_stat_statements keeps them: arithmetic between two parameters
    /// takes the compared column's type.
    #[test]
    fn arithmetic_between_parameters_takes_the_columns_type() {
        assert_eq!(
            types(
                "select sum(l_extendedprice * l_discount) from lineitem where l_shipdate >= $1::date \
                 and l_shipdate < $2::date + $3::interval year \
                 and l_discount between $4 - $5 and $6 + $7 and l_quantity < $8"
            ),
            t(&[
                (1, "date"),
                (2, "date"),
                (3, "interval year"),
                (4, "numeric"),
                (5, "numeric"),
                (6, "numeric"),
                (7, "numeric"),
                (8, "numeric"),
            ])
        );
        assert_eq!(
            types("select 1 from lineitem where l_quantity >= $1 and l_quantity <= $2 + $3"),
            t(&[(1, "numeric"), (2, "numeric"), (3, "numeric")])
        );
        // Nothing to compare with: numeric.
        assert_eq!(
            types("select $1 * $2 from lineitem"),
            t(&[(1, "numeric"), (2, "numeric")])
        );
    }

    /// TPC-H Q12: `sum(CASE … THEN $3 ELSE $4 END)`; the WHEN side takes the column's type.
    #[test]
    fn aggregates_over_parameters_are_numeric() {
        assert_eq!(
            types(
                "select l_shipmode, sum(case when o_orderpriority = $1 or o_orderpriority = $2 \
                 then $3 else $4 end) from orders, lineitem where o_orderkey = l_orderkey \
                 and l_shipmode in ($5, $6) group by l_shipmode"
            ),
            t(&[
                (1, "bpchar"),
                (2, "bpchar"),
                (3, "numeric"),
                (4, "numeric"),
                (5, "bpchar"),
                (6, "bpchar"),
            ])
        );
        assert_eq!(
            types("select sum(l_quantity * $1) filter (where l_shipdate > $2) from lineitem"),
            t(&[(1, "numeric"), (2, "date")])
        );
    }

    /// Date and timestamp arithmetic: `date ± $n` is a number of days, `timestamp ± $n` an
    /// interval; `interval $n` (repaired to a cast) keeps its type.
    #[test]
    fn date_arithmetic() {
        assert_eq!(
            types("select 1 from lineitem where l_shipdate between $1 and (cast($2 as date) + $3)"),
            t(&[(1, "date"), (2, "date"), (3, "integer")])
        );
        assert_eq!(
            types("select 1 from orders where o_created > now() - $1"),
            t(&[(1, "interval")])
        );
        assert_eq!(
            types("select 1 from orders where o_created >= $1 + $2"),
            t(&[(1, "timestamp with time zone"), (2, "interval")])
        );
        assert_eq!(
            types("select 1 from orders where o_created >= now() - $1::interval * $2"),
            t(&[(1, "interval"), (2, "double precision")])
        );
        assert_eq!(
            types("select 1 from lineitem where $1 - l_shipdate > $2 and $3 + l_shipdate > $4"),
            t(&[(1, "date"), (2, "integer"), (3, "integer"), (4, "date")])
        );
        assert_eq!(
            types("select l_orderkey || $1 from lineitem"),
            t(&[(1, "text")])
        );
    }

    #[test]
    fn like_limit_coalesce_case_operand_and_subqueries() {
        assert_eq!(
            types(
                "select coalesce(o_comment, $1), case o_orderpriority when $2 then 1 else 0 end \
                 from orders where o_comment like $3 and o_orderkey in \
                 (select l_orderkey from lineitem where l_quantity > $4 + $5) limit $6 offset $7"
            ),
            t(&[
                (1, "character varying"),
                (2, "bpchar"),
                (3, "text"),
                (4, "numeric"),
                (5, "numeric"),
                (6, "bigint"),
                (7, "bigint"),
            ])
        );
        assert!(types("not sql at all").is_empty());
    }
}
