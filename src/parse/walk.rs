//! The statement walker, part 1: statements, query blocks, FROM items, ORDER BY, LIMIT.
//!
//! Stage `parse`. Must not decide anything about indexes (that is `candidates`); it only
//! records facts. Invariant: recursion is bounded by [`MAX_DEPTH`] (a deeper statement is
//! reported, never a stack overflow), and every user table occurrence gets one
//! [`TableAccess`].

use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, Distinct, Expr, FromTable, FunctionArg, FunctionArgExpr,
    GroupByExpr, Insert, JoinConstraint, JoinOperator, LimitClause, OnConflictAction, OnInsert,
    OrderBy, OrderByKind, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    Statement, TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind, Value,
};

use super::scope::{ident_name, object_parts, Binding, ColRef, Frame, Scopes, Target};
use super::shape::{Limit, OrderKey, ParamOp, ParamUse, StatementKind, TableAccess};
use crate::model::Catalog;

/// Deepest expression/query nesting the walker follows; deeper statements are skipped.
pub(crate) const MAX_DEPTH: usize = 200;

/// Output column of a query block: its name and, when it is a plain column, which.
pub(crate) type Output = (String, Option<ColRef>);

/// Walks one parsed statement and collects its facts.
pub(crate) struct Walker<'c> {
    pub catalog: &'c Catalog,
    pub scopes: Scopes<'c>,
    /// One entry per user table occurrence.
    pub occs: Vec<TableAccess>,
    pub params: Vec<ParamUse>,
    /// CTE names visible, innermost last: (name, exposed columns).
    pub ctes: Vec<Vec<(String, Vec<String>)>>,
    /// A system catalog was read.
    pub system: bool,
    /// Tables not in the catalog.
    pub unknown: Vec<String>,
    /// Temporary tables named.
    pub temp: Vec<String>,
    pub depth: usize,
    pub too_deep: bool,
    pub limit: Option<Limit>,
    pub offset: bool,
    /// Parameter types read from context ([`super::param_types`]).
    pub param_types: std::collections::BTreeMap<u32, String>,
    /// Inside an expression whose parameter types were inferred already.
    pub inferring: bool,
}

impl<'c> Walker<'c> {
    /// A walker over a catalog.
    pub fn new(catalog: &'c Catalog) -> Walker<'c> {
        Walker {
            catalog,
            scopes: Scopes {
                frames: vec![],
                occ_tables: vec![],
            },
            occs: vec![],
            params: vec![],
            ctes: vec![],
            system: false,
            unknown: vec![],
            temp: vec![],
            depth: 0,
            too_deep: false,
            limit: None,
            offset: false,
            param_types: Default::default(),
            inferring: false,
        }
    }

    /// Walk a top-level statement; `None` for a statement that is not DML.
    pub fn statement(&mut self, st: &Statement) -> Option<StatementKind> {
        match st {
            Statement::Query(q) => {
                let kind = match q.body.as_ref() {
                    SetExpr::Insert(_) => StatementKind::Insert,
                    SetExpr::Update(_) => StatementKind::Update,
                    SetExpr::Delete(_) => StatementKind::Delete,
                    _ => StatementKind::Select,
                };
                self.query(q, true);
                Some(kind)
            }
            Statement::Insert(i) => {
                self.insert(i);
                Some(StatementKind::Insert)
            }
            Statement::Update(u) => {
                self.update(u);
                Some(StatementKind::Update)
            }
            Statement::Delete(d) => {
                self.delete(d);
                Some(StatementKind::Delete)
            }
            _ => None,
        }
    }

    fn nested_statement(&mut self, st: &Statement) {
        if self.enter() {
            self.statement(st);
        }
        self.depth -= 1;
    }

    /// Count one level of nesting; false (and `too_deep`) past [`MAX_DEPTH`].
    pub(crate) fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.too_deep = true;
            false
        } else {
            true
        }
    }

    /// Walk a query; returns its output columns.
    pub(crate) fn query(&mut self, q: &Query, outer: bool) -> Vec<Output> {
        // A subquery's expressions are roots of their own, in the subquery's scope.
        let inferring = std::mem::replace(&mut self.inferring, false);
        let out = if self.enter() {
            self.query_inner(q, outer)
        } else {
            vec![]
        };
        self.depth -= 1;
        self.inferring = inferring;
        out
    }

    fn query_inner(&mut self, q: &Query, outer: bool) -> Vec<Output> {
        let has_with = q.with.is_some();
        if let Some(with) = &q.with {
            // Names first: a recursive CTE sees itself.
            let names = with
                .cte_tables
                .iter()
                .map(|c| {
                    let cols = c
                        .alias
                        .columns
                        .iter()
                        .map(|d| ident_name(&d.name))
                        .collect();
                    (ident_name(&c.alias.name), cols)
                })
                .collect();
            self.ctes.push(names);
            for (k, cte) in with.cte_tables.iter().enumerate() {
                let outs = self.query(&cte.query, false);
                if let Some(entry) = self.ctes.last_mut().and_then(|f| f.get_mut(k)) {
                    if entry.1.is_empty() {
                        entry.1 = outs.into_iter().map(|(n, _)| n).collect();
                    }
                }
            }
        }
        let out = self.set_expr(&q.body, q.order_by.as_ref());
        let mut limit = None;
        let mut offset = false;
        match &q.limit_clause {
            Some(LimitClause::LimitOffset {
                limit: l,
                offset: o,
                ..
            }) => {
                if let Some(l) = l {
                    limit = self.limit_value(l, ParamOp::Limit);
                }
                if let Some(o) = o {
                    offset = true;
                    self.limit_value(&o.value, ParamOp::Offset);
                }
            }
            Some(LimitClause::OffsetCommaLimit {
                offset: o,
                limit: l,
            }) => {
                limit = self.limit_value(l, ParamOp::Limit);
                offset = true;
                self.limit_value(o, ParamOp::Offset);
            }
            None => {}
        }
        if let Some(f) = &q.fetch {
            if let Some(qty) = &f.quantity {
                limit = self.limit_value(qty, ParamOp::Limit);
            }
        }
        if outer {
            self.limit = limit;
            self.offset = offset;
        }
        if has_with {
            self.ctes.pop();
        }
        out
    }

    fn limit_value(&mut self, e: &Expr, op: ParamOp) -> Option<Limit> {
        if let Some(p) = super::param::param_of(e) {
            self.note_param_type(p, "bigint");
            self.param_use(p, None, op);
            return Some(Limit::Param(p));
        }
        if let Expr::Value(v) = e {
            if let Value::Number(n, _) = &v.value {
                return n.parse::<u64>().ok().map(Limit::Const);
            }
        }
        self.expr(e);
        None
    }

    fn set_expr(&mut self, body: &SetExpr, order_by: Option<&OrderBy>) -> Vec<Output> {
        match body {
            SetExpr::Select(s) => self.select(s, order_by),
            SetExpr::Query(q) => {
                let out = self.query(q, false);
                self.loose_order_by(order_by);
                out
            }
            SetExpr::SetOperation { left, right, .. } => {
                let out = if self.enter() {
                    let out = self.set_expr(left, None);
                    self.set_expr(right, None);
                    out
                } else {
                    vec![]
                };
                self.depth -= 1;
                self.loose_order_by(order_by);
                out
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    for e in &row.content {
                        self.expr(e);
                    }
                }
                vec![]
            }
            SetExpr::Insert(st) | SetExpr::Update(st) | SetExpr::Delete(st) => {
                self.nested_statement(st);
                vec![]
            }
            _ => vec![],
        }
    }

    /// ORDER BY over a set operation: output names only; walk it for parameters.
    fn loose_order_by(&mut self, order_by: Option<&OrderBy>) {
        if let Some(OrderBy {
            kind: OrderByKind::Expressions(v),
            ..
        }) = order_by
        {
            self.scopes.frames.push(Frame::default());
            for o in v {
                if !matches!(o.expr, Expr::Identifier(_)) {
                    self.expr(&o.expr);
                }
            }
            self.scopes.frames.pop();
        }
    }

    fn select(&mut self, s: &Select, order_by: Option<&OrderBy>) -> Vec<Output> {
        self.scopes.frames.push(Frame::default());
        for twj in &s.from {
            self.table_with_joins(twj);
        }
        let mut outputs: Vec<Output> = Vec::new();
        for item in &s.projection {
            self.select_item(item, &mut outputs);
        }
        if let Some(f) = self.scopes.frames.last_mut() {
            f.output = outputs.clone();
        }
        if let Some(w) = &s.selection {
            self.predicate(w);
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                let col = match e {
                    Expr::Value(v) => match &v.value {
                        Value::Number(n, _) => n
                            .parse::<usize>()
                            .ok()
                            .and_then(|k| outputs.get(k.wrapping_sub(1)))
                            .and_then(|o| o.1.clone()),
                        _ => None,
                    },
                    _ => {
                        self.expr(e);
                        self.plain_column(e)
                    }
                };
                if let Some(c) = col {
                    if let Some(a) = self.occs.get_mut(c.occ) {
                        if !a.group_by.contains(&c.column) {
                            a.group_by.push(c.column);
                        }
                    }
                }
            }
        }
        if let Some(h) = &s.having {
            self.expr(h);
        }
        match &s.distinct {
            Some(Distinct::Distinct) => self.mark_distinct(&outputs),
            Some(Distinct::On(exprs)) => {
                for e in exprs {
                    self.expr(e);
                }
                self.mark_distinct(&outputs);
            }
            _ => {}
        }
        if let Some(ob) = order_by {
            self.order_by(ob, &outputs);
        }
        self.scopes.frames.pop();
        outputs
    }

    fn mark_distinct(&mut self, outputs: &[Output]) {
        for (_, c) in outputs {
            if let Some(c) = c {
                if let Some(a) = self.occs.get_mut(c.occ) {
                    a.distinct = true;
                }
            }
        }
    }

    fn select_item(&mut self, item: &SelectItem, outputs: &mut Vec<Output>) {
        match item {
            SelectItem::UnnamedExpr(e) => {
                self.expr(e);
                let name = match e {
                    Expr::Identifier(i) => ident_name(i),
                    Expr::CompoundIdentifier(v) => v.last().map(ident_name).unwrap_or_default(),
                    _ => String::new(),
                };
                outputs.push((name, self.plain_column(e)));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                self.expr(expr);
                outputs.push((ident_name(alias), self.plain_column(expr)));
            }
            SelectItem::ExprWithAliases { expr, .. } => {
                self.expr(expr);
            }
            SelectItem::Wildcard(_) => {
                for o in self.scopes.innermost_occs() {
                    self.read_all(o);
                }
            }
            SelectItem::QualifiedWildcard(kind, _) => match kind {
                SelectItemQualifiedWildcardKind::ObjectName(n) => {
                    let occ = object_parts(n)
                        .and_then(|p| p.last().cloned())
                        .and_then(|name| self.scopes.binding_occ(&name));
                    if let Some(o) = occ {
                        self.read_all(o);
                    }
                }
                SelectItemQualifiedWildcardKind::Expr(e) => self.expr(e),
            },
        }
    }

    fn read_all(&mut self, occ: usize) {
        if let (Some(t), Some(a)) = (self.scopes.occ_tables.get(occ), self.occs.get_mut(occ)) {
            a.columns_read
                .extend(t.columns.iter().map(|c| c.name.clone()));
        }
    }

    /// Problem: an index gives rows in key order only for a leading run of ORDER BY keys that
    /// all belong to one table.
    /// What we do: record on a table only the longest prefix of ORDER BY keys that are plain
    /// columns of that one occurrence (resolving output aliases and positions).
    /// Example: `ORDER BY "o"."created_at" DESC, "c"."name"` gives `shop_order` the key
    /// `created_at DESC` and `shop_customer` nothing.
    fn order_by(&mut self, ob: &OrderBy, outputs: &[Output]) {
        let OrderByKind::Expressions(v) = &ob.kind else {
            return;
        };
        let mut keys: Vec<(ColRef, OrderKey)> = Vec::new();
        let mut prefix_open = true;
        for o in v {
            let by_output = match &o.expr {
                Expr::Identifier(i) => {
                    let n = ident_name(i);
                    outputs
                        .iter()
                        .find(|(name, _)| *name == n)
                        .map(|o| o.1.clone())
                }
                Expr::Value(val) => match &val.value {
                    Value::Number(n, _) => Some(
                        n.parse::<usize>()
                            .ok()
                            .and_then(|k| outputs.get(k.wrapping_sub(1)))
                            .and_then(|o| o.1.clone()),
                    ),
                    _ => None,
                },
                _ => None,
            };
            let col = match by_output {
                Some(c) => c,
                None => {
                    self.expr(&o.expr);
                    self.plain_column(&o.expr)
                }
            };
            if !prefix_open {
                continue;
            }
            match col {
                Some(c) if keys.first().is_none_or(|k| k.0.occ == c.occ) => {
                    let desc = matches!(o.options.sort, Some(sqlparser::ast::OrderBySort::Desc));
                    let key = OrderKey {
                        column: c.column.clone(),
                        desc,
                        nulls_first: o.options.nulls_first,
                    };
                    keys.push((c, key));
                }
                _ => prefix_open = false,
            }
        }
        if let Some(occ) = keys.first().map(|k| k.0.occ) {
            if let Some(a) = self.occs.get_mut(occ) {
                if a.order_by.is_empty() {
                    a.order_by = keys.into_iter().map(|k| k.1).collect();
                }
            }
        }
    }

    pub(crate) fn table_with_joins(&mut self, twj: &TableWithJoins) {
        if !self.enter() {
            self.depth -= 1;
            return;
        }
        self.table_factor(&twj.relation);
        for j in &twj.joins {
            self.table_factor(&j.relation);
            match join_constraint(&j.join_operator) {
                Some(JoinConstraint::On(e)) => self.predicate(e),
                Some(JoinConstraint::Using(names)) => {
                    for n in names {
                        if let Some(col) = object_parts(n).and_then(|p| p.last().cloned()) {
                            self.join_using(&col);
                        }
                    }
                }
                _ => {}
            }
        }
        self.depth -= 1;
    }

    fn join_using(&mut self, col: &str) {
        for o in self.scopes.innermost_occs() {
            let has = self
                .scopes
                .occ_tables
                .get(o)
                .is_some_and(|t| t.column(col).is_some());
            if let (true, Some(a)) = (has, self.occs.get_mut(o)) {
                a.join_columns.push(col.to_string());
                a.columns_read.push(col.to_string());
            }
        }
    }

    fn table_factor(&mut self, tf: &TableFactor) {
        match tf {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let alias_name = alias.as_ref().map(|a| ident_name(&a.name));
                if let Some(args) = args {
                    self.function_args(&args.args);
                    self.bind_opaque(alias_name.unwrap_or_default(), vec![]);
                    return;
                }
                match object_parts(name) {
                    Some(parts) => {
                        self.bind_table(&parts, alias_name);
                    }
                    None => self.bind_opaque(alias_name.unwrap_or_default(), vec![]),
                }
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let outs = self.query(subquery, false);
                let (name, cols) = match alias {
                    Some(a) if !a.columns.is_empty() => (
                        ident_name(&a.name),
                        a.columns.iter().map(|c| ident_name(&c.name)).collect(),
                    ),
                    Some(a) => (ident_name(&a.name), outs.into_iter().map(|o| o.0).collect()),
                    None => (String::new(), outs.into_iter().map(|o| o.0).collect()),
                };
                self.bind_opaque(name, cols);
            }
            TableFactor::TableFunction { expr, alias } => {
                self.expr(expr);
                self.bind_opaque(alias_or_empty(alias), vec![]);
            }
            TableFactor::Function { args, alias, .. } => {
                self.function_args(args);
                self.bind_opaque(alias_or_empty(alias), vec![]);
            }
            TableFactor::UNNEST {
                alias, array_exprs, ..
            } => {
                for e in array_exprs {
                    self.expr(e);
                }
                self.bind_opaque(alias_or_empty(alias), vec![]);
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.table_with_joins(table_with_joins),
            _ => self.bind_opaque(String::new(), vec![]),
        }
    }

    pub(crate) fn function_args(&mut self, args: &[FunctionArg]) {
        for a in args {
            let fe = match a {
                FunctionArg::Named { arg, .. } | FunctionArg::Unnamed(arg) => arg,
                FunctionArg::ExprNamed { arg, .. } => arg,
            };
            if let FunctionArgExpr::Expr(e) = fe {
                self.expr(e);
            }
        }
    }

    fn bind_opaque(&mut self, name: String, columns: Vec<String>) {
        if let Some(f) = self.scopes.frames.last_mut() {
            f.bindings.push(Binding {
                name,
                schema: None,
                target: Target::Opaque { columns },
            });
        }
    }

    /// Resolve a table name (CTE, catalog through the search path, system, temporary,
    /// unknown), create its occurrence and bind it in the innermost frame.
    fn bind_table(&mut self, parts: &[String], alias: Option<String>) -> Option<usize> {
        let (schema, name) = match parts {
            [n] => (None, n.as_str()),
            [.., s, n] => (Some(s.as_str()), n.as_str()),
            [] => return None,
        };
        if schema.is_none() {
            let cte = self
                .ctes
                .iter()
                .rev()
                .find_map(|f| f.iter().find(|c| c.0 == name).map(|c| c.1.clone()));
            if let Some(cols) = cte {
                self.bind_opaque(alias.unwrap_or_else(|| name.to_string()), cols);
                return None;
            }
        }
        let table = match schema {
            Some(s) => self.catalog.table(s, name),
            None => self.catalog.resolve(name),
        };
        let bound = alias.clone().unwrap_or_else(|| name.to_string());
        let Some(t) = table else {
            match schema {
                Some("pg_catalog" | "information_schema") => self.system = true,
                Some(s) if s.starts_with("pg_temp") => self.temp.push(format!("{s}.{name}")),
                None if name.starts_with("pg_") => self.system = true,
                Some(s) => self.unknown.push(format!("{s}.{name}")),
                None => self.unknown.push(name.to_string()),
            }
            self.bind_opaque(bound, vec![]);
            return None;
        };
        let occ = self.occs.len();
        self.occs.push(TableAccess {
            schema: t.schema.clone(),
            table: t.name.clone(),
            aliases: alias.iter().cloned().collect(),
            ..TableAccess::default()
        });
        self.scopes.occ_tables.push(t);
        if let Some(f) = self.scopes.frames.last_mut() {
            f.bindings.push(Binding {
                name: bound,
                schema: if alias.is_none() {
                    schema.map(str::to_string)
                } else {
                    None
                },
                target: Target::Occ(occ),
            });
        }
        Some(occ)
    }

    fn insert(&mut self, ins: &Insert) {
        let TableObject::TableName(name) = &ins.table else {
            return;
        };
        self.scopes.frames.push(Frame::default());
        let alias = ins.table_alias.as_ref().map(|a| ident_name(&a.alias));
        let target = object_parts(name).and_then(|p| self.bind_table(&p, alias));
        if let Some(a) = target.and_then(|o| self.occs.get_mut(o)) {
            a.is_target = true;
        }
        let columns: Vec<Option<String>> = ins
            .columns
            .iter()
            .map(|c| object_parts(c).and_then(|p| p.last().cloned()))
            .collect();
        if let Some(src) = &ins.source {
            match src.body.as_ref() {
                SetExpr::Values(v) if src.with.is_none() => {
                    for row in &v.rows {
                        for (k, e) in row.content.iter().enumerate() {
                            let col = target.zip(columns.get(k).cloned().flatten());
                            self.value_into(e, col);
                        }
                    }
                }
                _ => {
                    // INSERT … SELECT: the source does not see the target.
                    let saved = self.scopes.frames.pop();
                    self.query(src, false);
                    if let Some(f) = saved {
                        self.scopes.frames.push(f);
                    }
                }
            }
        }
        if let Some(OnInsert::OnConflict(oc)) = &ins.on {
            if let OnConflictAction::DoUpdate(du) = &oc.action {
                self.assignments(&du.assignments, target);
                if let Some(sel) = &du.selection {
                    self.expr(sel);
                }
            }
        }
        self.returning(ins.returning.as_deref());
        self.scopes.frames.pop();
    }

    /// A value written into a column: a bare `$n` is a [`ParamOp::Value`] of that column.
    fn value_into(&mut self, e: &Expr, target: Option<(usize, String)>) {
        match (super::param::param_of(e), target) {
            (Some(p), Some((occ, col))) => {
                let c = ColRef { occ, column: col };
                self.param_use(p, Some(&c), ParamOp::Value);
            }
            _ => self.expr(e),
        }
    }

    fn assignments(&mut self, assignments: &[Assignment], target: Option<usize>) {
        for a in assignments {
            let cols: Vec<String> = match &a.target {
                AssignmentTarget::ColumnName(n) => object_parts(n)
                    .and_then(|p| p.last().cloned())
                    .into_iter()
                    .collect(),
                AssignmentTarget::Tuple(v) => v
                    .iter()
                    .filter_map(|n| object_parts(n).and_then(|p| p.last().cloned()))
                    .collect(),
            };
            if let Some(acc) = target.and_then(|o| self.occs.get_mut(o)) {
                acc.set_columns.extend(cols.iter().cloned());
            }
            let single = if cols.len() == 1 {
                cols.first().cloned()
            } else {
                None
            };
            self.value_into(&a.value, target.zip(single));
        }
    }

    fn returning(&mut self, items: Option<&[SelectItem]>) {
        let mut outs = Vec::new();
        for item in items.unwrap_or_default() {
            self.select_item(item, &mut outs);
        }
    }

    fn update(&mut self, u: &Update) {
        self.scopes.frames.push(Frame::default());
        let first = self.occs.len();
        self.table_with_joins(&u.table);
        let target = (self.occs.len() > first).then_some(first);
        if let Some(a) = target.and_then(|o| self.occs.get_mut(o)) {
            a.is_target = true;
        }
        match &u.from {
            Some(UpdateTableFromKind::BeforeSet(v)) | Some(UpdateTableFromKind::AfterSet(v)) => {
                for twj in v {
                    self.table_with_joins(twj);
                }
            }
            None => {}
        }
        self.assignments(&u.assignments, target);
        if let Some(w) = &u.selection {
            self.predicate(w);
        }
        self.returning(u.returning.as_deref());
        self.scopes.frames.pop();
    }

    fn delete(&mut self, d: &Delete) {
        self.scopes.frames.push(Frame::default());
        let first = self.occs.len();
        let (FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v)) = &d.from;
        for twj in v {
            self.table_with_joins(twj);
        }
        if let Some(a) = self.occs.get_mut(first) {
            a.is_target = true;
        }
        for twj in d.using.iter().flatten() {
            self.table_with_joins(twj);
        }
        if let Some(w) = &d.selection {
            self.predicate(w);
        }
        self.returning(d.returning.as_deref());
        self.scopes.frames.pop();
    }

    /// Record what a parameter is compared with.
    pub(crate) fn param_use(&mut self, param: u32, col: Option<&ColRef>, op: ParamOp) {
        let (schema, table, column) = match col.and_then(|c| self.occs.get(c.occ).map(|a| (a, c))) {
            Some((a, c)) => (
                Some(a.schema.clone()),
                Some(a.table.clone()),
                Some(c.column.clone()),
            ),
            None => (None, None, None),
        };
        self.params.push(ParamUse {
            param,
            schema,
            table,
            column,
            op,
        });
    }
}

fn alias_or_empty(alias: &Option<sqlparser::ast::TableAlias>) -> String {
    alias
        .as_ref()
        .map(|a| ident_name(&a.name))
        .unwrap_or_default()
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    use JoinOperator::*;
    match op {
        Join(c) | Inner(c) | Left(c) | LeftOuter(c) | Right(c) | RightOuter(c) | FullOuter(c)
        | CrossJoin(c) | Semi(c) | LeftSemi(c) | RightSemi(c) | Anti(c) | LeftAnti(c)
        | RightAnti(c) | StraightJoin(c) => Some(c),
        AsOf { constraint, .. } => Some(constraint),
        _ => None,
    }
}
