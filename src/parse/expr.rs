//! The statement walker, part 2: expressions and predicates.
//!
//! Stage `parse`. Must not decide anything about indexes. Invariant: only top-level AND
//! conjuncts of WHERE and JOIN … ON become sargable facts (equality, ranges, null tests,
//! booleans, LIKE); everything else only adds columns read and parameter uses. AND/OR chains are
//! walked iteratively, other nesting is bounded by the walker's depth guard.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, InTarget, UnaryOperator, Value,
};

use super::param::{fn_name, is_upper_or_lower, param_of, single_arg};
use super::scope::{ident_name, ColRef, Resolved};
use super::shape::{LikeUse, ParamOp};
use super::walk::Walker;

/// How a column appears in an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// The column itself (through binary-compatible casts such as Django's `::text`).
    Plain,
    /// `UPPER(col)`.
    Upper,
    /// Any other function of it (`(col AT TIME ZONE $1)::date`): no plain B-tree serves it.
    Derived,
}

/// Casts that keep a B-tree on the column usable: to text-like types (Django's `::text`).
fn is_text_cast(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Text
            | DataType::Varchar(_)
            | DataType::CharacterVarying(_)
            | DataType::Char(_)
            | DataType::Character(_)
    )
}

/// A string literal's value.
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Nested(x) => string_literal(x),
        Expr::Cast { expr, .. } => string_literal(expr),
        Expr::Function(f) if is_upper_or_lower(f) => single_arg(f).and_then(string_literal),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Problem: a LIKE pattern is usually `$n`, so its shape is unknown; a constant pattern tells.
/// What we do: a literal (or the left end of a `||` chain) starting with `%`/`_` is a leading
/// wildcard; any other literal start is a prefix; a parameter is unknown (both false).
/// Example: `'abc%'` → prefix; `'%' || $1` → leading wildcard; `UPPER($1)` → unknown.
fn pattern_shape(p: &Expr) -> (bool, bool) {
    let mut cur = p;
    for _ in 0..64 {
        match cur {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::StringConcat,
                ..
            } => cur = left,
            Expr::Nested(x) => cur = x,
            _ => break,
        }
    }
    match string_literal(cur) {
        Some(s) if s.starts_with(['%', '_']) => (false, true),
        Some(s) if !s.is_empty() => (true, false),
        _ => (false, false),
    }
}

/// `OPERATOR(pg_catalog.=)` (Django's foreign-key checks) is the plain operator.
fn norm_op(op: &BinaryOperator) -> BinaryOperator {
    if let BinaryOperator::PGCustomBinaryOperator(parts) = op {
        match parts.last().map(String::as_str) {
            Some("=") => return BinaryOperator::Eq,
            Some("<") => return BinaryOperator::Lt,
            Some("<=") => return BinaryOperator::LtEq,
            Some(">") => return BinaryOperator::Gt,
            Some(">=") => return BinaryOperator::GtEq,
            _ => {}
        }
    }
    op.clone()
}

fn flip(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        o => o.clone(),
    }
}

fn param_op(op: &BinaryOperator, wrap: Wrap) -> ParamOp {
    if wrap == Wrap::Derived {
        return ParamOp::Other;
    }
    match op {
        BinaryOperator::Eq => ParamOp::Eq,
        BinaryOperator::Lt | BinaryOperator::LtEq => ParamOp::Lower,
        BinaryOperator::Gt | BinaryOperator::GtEq => ParamOp::Upper,
        _ => ParamOp::Other,
    }
}

/// False for operators that compute a value from their operands (arithmetic, concatenation,
/// JSON access, bit operations) rather than compare a column with a value.
fn compares_values(op: &BinaryOperator) -> bool {
    !matches!(
        op,
        BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
            | BinaryOperator::StringConcat
            | BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow
            | BinaryOperator::BitwiseOr
            | BinaryOperator::BitwiseAnd
            | BinaryOperator::BitwiseXor
            | BinaryOperator::PGBitwiseXor
            | BinaryOperator::PGBitwiseShiftLeft
            | BinaryOperator::PGBitwiseShiftRight
            | BinaryOperator::PGExp
    )
}

fn is_containment(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
            | BinaryOperator::Question
            | BinaryOperator::QuestionAnd
            | BinaryOperator::QuestionPipe
            | BinaryOperator::AtAt
            | BinaryOperator::PGOverlap
    )
}

impl Walker<'_> {
    fn resolve(&self, e: &Expr) -> Resolved {
        match e {
            Expr::Identifier(i) => self.scopes.column(&[ident_name(i)]),
            Expr::CompoundIdentifier(v) => {
                let parts: Vec<String> = v.iter().map(ident_name).collect();
                self.scopes.column(&parts)
            }
            _ => Resolved::Unknown,
        }
    }

    /// The column an expression is, through parentheses and text casts.
    pub(crate) fn plain_column(&self, e: &Expr) -> Option<ColRef> {
        match self.col_target(e) {
            Some((c, Wrap::Plain)) => Some(c),
            _ => None,
        }
    }

    /// The column an expression is built on, and how.
    pub(crate) fn col_target(&self, e: &Expr) -> Option<(ColRef, Wrap)> {
        let mut cur = e;
        let mut wrap = Wrap::Plain;
        for _ in 0..16 {
            match cur {
                Expr::Nested(x) => cur = x,
                Expr::Collate { expr, .. } => cur = expr,
                Expr::Cast {
                    expr,
                    data_type,
                    kind,
                    ..
                } => {
                    if !(is_text_cast(data_type) && *kind != CastKind::TryCast) {
                        wrap = Wrap::Derived;
                    }
                    cur = expr;
                }
                Expr::AtTimeZone { timestamp, .. } => {
                    wrap = Wrap::Derived;
                    cur = timestamp;
                }
                Expr::Function(f) => {
                    let inner = single_arg(f)?;
                    wrap = match (fn_name(f).as_str(), wrap) {
                        ("upper", Wrap::Plain) => Wrap::Upper,
                        _ => Wrap::Derived,
                    };
                    cur = inner;
                }
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                    return match self.resolve(cur) {
                        Resolved::Col(c) => Some((c, wrap)),
                        _ => None,
                    }
                }
                _ => return None,
            }
        }
        None
    }

    /// True for expressions that are constant for one scan: literals, parameters, functions of
    /// them, scalar subqueries. Column references (also outer ones) are not.
    fn is_valueish(&self, e: &Expr, budget: usize) -> bool {
        if budget == 0 {
            return false;
        }
        match e {
            Expr::Value(_) | Expr::TypedString(_) | Expr::Interval(_) | Expr::Subquery(_) => true,
            Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } | Expr::Cast { expr: x, .. } => {
                self.is_valueish(x, budget - 1)
            }
            Expr::BinaryOp { left, right, .. } => {
                self.is_valueish(left, budget - 1) && self.is_valueish(right, budget - 1)
            }
            Expr::Function(f) => match &f.args {
                FunctionArguments::None => true,
                FunctionArguments::List(l) => l.args.iter().all(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => {
                        self.is_valueish(x, budget - 1)
                    }
                    _ => false,
                }),
                FunctionArguments::Subquery(_) => false,
            },
            Expr::Tuple(v) => v.iter().all(|x| self.is_valueish(x, budget - 1)),
            Expr::Array(a) => a.elem.iter().all(|x| self.is_valueish(x, budget - 1)),
            _ => false,
        }
    }

    fn read(&mut self, c: &ColRef) {
        if let Some(a) = self.occs.get_mut(c.occ) {
            a.columns_read.push(c.column.clone());
        }
    }

    /// A WHERE / ON clause: split the AND chain (iteratively) and record each conjunct.
    pub(crate) fn predicate(&mut self, e: &Expr) {
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            match x {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::And,
                    right,
                } => {
                    stack.push(right);
                    stack.push(left);
                }
                Expr::Nested(inner) => stack.push(inner),
                _ => {
                    self.conjunct(x);
                    self.expr(x);
                }
            }
        }
    }

    /// Record the sargable fact a top-level conjunct states, if any.
    fn conjunct(&mut self, e: &Expr) {
        match e {
            Expr::BinaryOp { left, op, right } => {
                let op = &norm_op(op);
                if is_containment(op) {
                    if let Some(c) = self.plain_column(left) {
                        if let Some(a) = self.occs.get_mut(c.occ) {
                            a.containment.push(c.column);
                        }
                    }
                    return;
                }
                if !matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                ) {
                    return;
                }
                let (l, r) = (self.col_target(left), self.col_target(right));
                match (l, r) {
                    (Some((a, Wrap::Plain)), Some((b, Wrap::Plain)))
                        if a.occ != b.occ && *op == BinaryOperator::Eq =>
                    {
                        self.join(&a);
                        self.join(&b);
                    }
                    (Some((a, w)), None) if self.is_valueish(right, 32) => self.fact(&a, w, op),
                    (None, Some((b, w))) if self.is_valueish(left, 32) => {
                        self.fact(&b, w, &flip(op))
                    }
                    _ => {}
                }
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => {
                if let (Some(c), true) = (self.plain_column(left), self.is_valueish(right, 32)) {
                    self.fact(&c, Wrap::Plain, &BinaryOperator::Eq);
                }
            }
            Expr::In {
                expr,
                target: InTarget::List(items),
                negated: false,
                ..
            } => {
                if let Some((c, w)) = self.col_target(expr) {
                    if items.iter().all(|i| self.is_valueish(i, 32)) {
                        self.fact(&c, w, &BinaryOperator::Eq);
                    }
                }
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                if let Some((c, w)) = self.col_target(expr) {
                    if self.is_valueish(low, 32) && self.is_valueish(high, 32) {
                        self.fact(&c, w, &BinaryOperator::GtEq);
                    }
                }
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                if let Some(c) = self.plain_column(x) {
                    let is_null = matches!(e, Expr::IsNull(_));
                    if let Some(a) = self.occs.get_mut(c.occ) {
                        a.null_tests.push((c.column, is_null));
                    }
                }
            }
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::IsTrue(_) => {
                let x = match e {
                    Expr::IsTrue(x) => x,
                    other => other,
                };
                self.boolean(x, true);
            }
            Expr::IsFalse(x)
            | Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: x,
            } => self.boolean(x, false),
            Expr::Like {
                negated: false,
                expr,
                pattern,
                ..
            }
            | Expr::ILike {
                negated: false,
                expr,
                pattern,
                ..
            } => {
                if let Some((c, w)) = self.col_target(expr) {
                    if w == Wrap::Derived {
                        return;
                    }
                    let (prefix, leading_wildcard) = pattern_shape(pattern);
                    let like = LikeUse {
                        column: c.column.clone(),
                        upper: w == Wrap::Upper,
                        ilike: matches!(e, Expr::ILike { .. }),
                        prefix,
                        leading_wildcard,
                    };
                    if let Some(a) = self.occs.get_mut(c.occ) {
                        a.likes.push(like);
                    }
                }
            }
            _ => {}
        }
    }

    fn boolean(&mut self, x: &Expr, value: bool) {
        if let Some(c) = self.plain_column(x) {
            let is_bool = self
                .scopes
                .occ_tables
                .get(c.occ)
                .and_then(|t| t.column(&c.column))
                .is_some_and(|col| col.type_name == "boolean");
            if let (true, Some(a)) = (is_bool, self.occs.get_mut(c.occ)) {
                a.booleans.push((c.column, value));
            }
        }
    }

    fn join(&mut self, c: &ColRef) {
        if let Some(a) = self.occs.get_mut(c.occ) {
            a.join_columns.push(c.column.clone());
        }
    }

    fn fact(&mut self, c: &ColRef, w: Wrap, op: &BinaryOperator) {
        let Some(a) = self.occs.get_mut(c.occ) else {
            return;
        };
        match (w, op) {
            (Wrap::Plain, BinaryOperator::Eq) => a.equality.push(c.column.clone()),
            (Wrap::Plain, _) => a.ranges.push(c.column.clone()),
            (Wrap::Upper, BinaryOperator::Eq) => a.upper_equality.push(c.column.clone()),
            _ => {}
        }
    }

    /// Walk an expression: columns read, parameter uses, subqueries.
    pub(crate) fn expr(&mut self, e: &Expr) {
        if self.enter() {
            if self.inferring {
                self.expr_inner(e);
            } else {
                self.inferring = true;
                self.infer_root(e, None);
                self.expr_inner(e);
                self.inferring = false;
            }
        }
        self.depth -= 1;
    }

    fn expr_inner(&mut self, e: &Expr) {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                if let Resolved::Col(c) = self.resolve(e) {
                    self.read(&c);
                }
            }
            Expr::BinaryOp { left, op, right } => {
                if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                    // Walk the left spine iteratively: Django's long OR/AND chains are deep.
                    let mut cur: &Expr = e;
                    let mut rights = Vec::new();
                    while let Expr::BinaryOp {
                        left,
                        op: BinaryOperator::And | BinaryOperator::Or,
                        right,
                    } = cur
                    {
                        rights.push(right.as_ref());
                        cur = left;
                    }
                    self.expr(cur);
                    for r in rights.into_iter().rev() {
                        self.expr(r);
                    }
                    return;
                }
                self.compare(left, &norm_op(op), right);
                self.expr(left);
                self.expr(right);
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                self.compare(left, compare_op, right);
                self.expr(left);
                self.expr(right);
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.compare(a, &BinaryOperator::Eq, b);
                self.expr(a);
                self.expr(b);
            }
            Expr::In { expr, target, .. } => {
                let col = self.col_target(expr);
                self.expr(expr);
                match target {
                    InTarget::List(items) => {
                        for i in items {
                            match (param_of(i), &col) {
                                (Some(p), Some((c, w))) => {
                                    self.param_use(p, Some(c), param_op(&BinaryOperator::Eq, *w))
                                }
                                _ => self.expr(i),
                            }
                        }
                    }
                    InTarget::Subquery(q) => {
                        let outs = self.query(q, false);
                        if let (Some((c, Wrap::Plain)), [(_, Some(inner))]) =
                            (&col, outs.as_slice())
                        {
                            if c.occ != inner.occ {
                                let (c, inner) = (c.clone(), inner.clone());
                                self.join(&c);
                                self.join(&inner);
                            }
                        }
                    }
                    InTarget::Unnest(x) => {
                        if let (Some(p), Some((c, w))) = (param_of(x), &col) {
                            self.param_use(p, Some(c), param_op(&BinaryOperator::Eq, *w));
                        }
                        self.expr(x)
                    }
                    InTarget::Table { args, .. } => {
                        if let Some(a) = args {
                            self.function_args(a);
                        }
                    }
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.compare(expr, &BinaryOperator::GtEq, low);
                self.compare(expr, &BinaryOperator::LtEq, high);
                self.expr(expr);
                self.expr(low);
                self.expr(high);
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                if let (Some(p), Some((c, w))) = (param_of(pattern), self.col_target(expr)) {
                    let op = if w == Wrap::Derived {
                        ParamOp::Other
                    } else {
                        ParamOp::Like
                    };
                    self.param_use(p, Some(&c), op);
                }
                self.expr(expr);
                self.expr(pattern);
            }
            Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x)
            | Expr::Nested(x)
            | Expr::UnaryOp { expr: x, .. }
            | Expr::Cast { expr: x, .. }
            | Expr::Collate { expr: x, .. }
            | Expr::Extract { expr: x, .. }
            | Expr::Ceil { expr: x, .. }
            | Expr::Floor { expr: x, .. }
            | Expr::OuterJoin(x)
            | Expr::Prior(x)
            | Expr::Named { expr: x, .. }
            | Expr::IsJson { expr: x, .. }
            | Expr::IsNormalized { expr: x, .. }
            | Expr::JsonAccess { value: x, .. }
            | Expr::CompoundFieldAccess { root: x, .. } => self.expr(x),
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                self.expr(timestamp);
                self.expr(time_zone);
            }
            Expr::Position { expr, r#in } => {
                self.expr(expr);
                self.expr(r#in);
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr);
                for x in [substring_from, substring_for].into_iter().flatten() {
                    self.expr(x);
                }
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr);
                if let Some(x) = trim_what {
                    self.expr(x);
                }
                for x in trim_characters.iter().flatten() {
                    self.expr(x);
                }
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.expr(expr);
                self.expr(overlay_what);
                self.expr(overlay_from);
                if let Some(x) = overlay_for {
                    self.expr(x);
                }
            }
            Expr::Function(f) => self.function(f),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    self.expr(o);
                }
                for cw in conditions {
                    self.expr(&cw.condition);
                    self.expr(&cw.result);
                }
                if let Some(x) = else_result {
                    self.expr(x);
                }
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => {
                self.query(subquery, false);
            }
            Expr::Tuple(v) => {
                for x in v {
                    self.expr(x);
                }
            }
            Expr::Array(a) => {
                for x in &a.elem {
                    self.expr(x);
                }
            }
            _ => {}
        }
    }

    fn function(&mut self, f: &Function) {
        match &f.args {
            FunctionArguments::List(l) => self.function_args(&l.args),
            FunctionArguments::Subquery(q) => {
                self.query(q, false);
            }
            FunctionArguments::None => {}
        }
        if let Some(x) = &f.filter {
            self.expr(x);
        }
        for o in &f.within_group {
            self.expr(&o.expr);
        }
    }

    /// Parameter use of one comparison, either way round.
    ///
    /// Problem: arithmetic, concatenation and JSON access are binary operators too, but their
    /// parameter is not a value of the column (`"created_at" + $1::interval`, Django's
    /// `F("created_at") + timedelta(…)`; binding a timestamp there fails to plan). What we do:
    /// such a parameter is not tied to the column (it stays `Other` without a column).
    fn compare(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) {
        if !compares_values(op) {
            return;
        }
        if let (Some(p), Some((c, w))) = (param_of(right), self.col_target(left)) {
            self.param_use(p, Some(&c), param_op(op, w));
        } else if let (Some(p), Some((c, w))) = (param_of(left), self.col_target(right)) {
            self.param_use(p, Some(&c), param_op(&flip(op), w));
        }
    }
}
