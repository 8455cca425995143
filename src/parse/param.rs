//! Reading a parameter (`$n`) and simple function calls out of an expression: the small pure
//! helpers both halves of the statement walker (`walk`, `expr`) use.
//!
//! Stage `parse`. Must not walk statements or decide anything about indexes. Invariant: only
//! `$n` through parentheses, casts and `UPPER()`/`LOWER()` counts as a parameter.

use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value};

use super::scope::ident_name;

/// `$n` inside casts, parentheses, `UPPER()`/`LOWER()`.
pub(crate) fn param_of(e: &Expr) -> Option<u32> {
    let mut cur = e;
    for _ in 0..16 {
        match cur {
            Expr::Nested(x) => cur = x,
            Expr::Cast { expr, .. } => cur = expr,
            Expr::Value(v) => {
                return match &v.value {
                    Value::Placeholder(p) => p.strip_prefix('$').and_then(|n| n.parse().ok()),
                    _ => None,
                }
            }
            Expr::Function(f) if is_upper_or_lower(f) => cur = single_arg(f)?,
            _ => return None,
        }
    }
    None
}

pub(super) fn fn_name(f: &Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident_name)
        .unwrap_or_default()
}

pub(super) fn is_upper_or_lower(f: &Function) -> bool {
    matches!(fn_name(f).as_str(), "upper" | "lower")
}

pub(super) fn single_arg(f: &Function) -> Option<&Expr> {
    match &f.args {
        FunctionArguments::List(l) if l.args.len() == 1 => match l.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => Some(e),
            _ => None,
        },
        _ => None,
    }
}
