//! Stage `parse`: from a pg_stat_statements text to a [`QueryShape`] or a [`Skipped`] record.
//!
//! Must not do I/O. The only module that touches `sqlparser::ast`. Invariant: every statement of
//! the workload ends as exactly one shape or one skip, and no input (however long, deep or
//! malformed) makes it panic or overflow the stack.
//!
//! Steps, in order, each with its own skip reason:
//! 1. text checks ([`text`]): empty or too long, a cursor declaration (`DECLARE c CURSOR FOR
//!    SELECT …`, Django's `.iterator()`: the SELECT after `FOR` is parsed and planned instead),
//!    a utility leading keyword (`SAVEPOINT $1`,
//!    `DEALLOCATE $1`, `SET`, `BEGIN`…, which sqlparser partly refuses), several statements,
//!    too many operators (a left-deep tree that deep would overflow the stack when dropped);
//! 2. repair for planning (`interval $2` → `$2::interval`, `extract($1 from …)` →
//!    `date_part($1, …)`): that text is [`QueryShape::plan_text`] and is what gets parsed
//!    (an UPDATE or DELETE is then planned as the SELECT of its rows: [`read_equivalent`]; a
//!    GROUP BY or ORDER BY that kept constants where its select item got `$n` takes the
//!    item's parameters: [`grouping`]);
//! 3. sqlparser with [`PostgreSqlDialect`]; an error is `truncated` when the text ends inside a
//!    literal or parenthesis, or the parser hit the end of a long text, else `unparseable`;
//! 4. the walk ([`walk`], [`expr`], [`scope`]): tables resolved through the catalog, facts per
//!    table occurrence, parameter uses, parameter types from context ([`param_types`], used by
//!    `whatif` when the server cannot type a text alone); unknown, temporary and system tables
//!    are reported.

mod expr;
mod grouping;
pub mod literals;
mod param;
mod param_types;
mod read_equivalent;
mod scope;
pub mod shape;
pub(crate) mod text;
mod walk;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::model::{Catalog, SkipReason, Skipped, Statement, Workload};

pub use shape::{
    LikeUse, Limit, OrderKey, ParamOp, ParamUse, QueryShape, StatementKind, TableAccess,
};

/// The text without the per-process part of Django's cursor names
/// (`_django_curs_140365684732480_sync_1` → `_django_curs_N_sync_1`): the same `.iterator()`
/// query from two processes compares equal (captured corpora, tests).
pub fn stable_cursor_names(text: &str) -> String {
    const CURSOR: &str = "_django_curs_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CURSOR) {
        let after = &rest[at + CURSOR.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&rest[..at + CURSOR.len()]);
        out.push_str(if digits > 0 { "N" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Texts longer than this are skipped unparsed (pg_stat_statements texts of real applications
/// are far shorter; this bounds parse time and memory).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Texts with more binary-operator tokens than this are skipped: sqlparser builds `a AND b AND
/// …` chains iteratively, and a tree that deep overflows the stack when it is dropped.
pub const MAX_OPERATORS: usize = 5_000;

/// A parse error at the end of a text at least this long is read as truncation
/// (`track_activity_query_size` cuts texts at 1 kB by default).
pub const TRUNCATION_HINT_BYTES: usize = 500;

/// Understand one statement, or say precisely why not.
///
/// ```
/// use idxadvise::model::{Catalog, Statement};
/// use idxadvise::parse::parse_statement;
/// let stmt = Statement { queryid: 7, query: "SAVEPOINT $1".into(), calls: 1,
///     total_time_ms: 0.0, mean_time_ms: 0.0, rows: 0, shared_blks_hit: 0, shared_blks_read: 0,
///     stddev_time_ms: None };
/// let skip = parse_statement(&stmt, &Catalog::default()).unwrap_err();
/// assert_eq!(skip.reason, idxadvise::model::SkipReason::Utility);
/// ```
pub fn parse_statement(stmt: &Statement, catalog: &Catalog) -> Result<QueryShape, Skipped> {
    let skip = |reason: SkipReason, detail: String| Skipped {
        queryid: stmt.queryid,
        reason,
        detail: one_line(&detail),
    };
    let sql = stmt.query.as_str();
    if sql.trim().is_empty() {
        return Err(skip(SkipReason::Unparseable, "empty text".into()));
    }
    if sql.len() > MAX_TEXT_BYTES {
        return Err(skip(
            SkipReason::Unparseable,
            format!(
                "text of {} bytes is longer than {MAX_TEXT_BYTES}",
                sql.len()
            ),
        ));
    }
    let lx = text::lex(sql);
    if let Some(at) = text::cursor_query(sql, &lx) {
        // `DECLARE … CURSOR FOR <query>` (Django's `.iterator()`): the query is the statement.
        let inner = Statement {
            query: sql[at..].to_string(),
            ..stmt.clone()
        };
        return parse_statement(&inner, catalog);
    }
    if let Some(kw) = text::leading_keyword(sql, &lx) {
        if text::UTILITY_KEYWORDS.contains(&kw.as_str()) {
            return Err(skip(SkipReason::Utility, format!("{kw} statement")));
        }
    }
    if lx.semicolons > 0 {
        return Err(skip(
            SkipReason::MultiStatement,
            format!("{} statements in one text", lx.semicolons + 1),
        ));
    }
    let ops = text::operator_count(sql, &lx);
    if ops > MAX_OPERATORS {
        return Err(skip(
            SkipReason::Unparseable,
            format!("{ops} operators (more than {MAX_OPERATORS}): expression too deep"),
        ));
    }
    let plan_text = text::repair_for_planning(sql, &lx);
    let parse_src = if plan_text == sql {
        text::parser_input(sql, &lx)
    } else {
        text::parser_input(&plan_text, &text::lex(&plan_text))
    };
    let parsed = Parser::parse_sql(
        &PostgreSqlDialect {},
        parse_src.as_deref().unwrap_or(&plan_text),
    );
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            let at_eof = msg.contains("EOF");
            if lx.unterminated
                || lx.paren_depth > 0
                || (at_eof && sql.len() >= TRUNCATION_HINT_BYTES)
            {
                return Err(skip(
                    SkipReason::Truncated,
                    format!(
                        "text ends mid-statement after {} bytes (cut at track_activity_query_size?): {msg}",
                        sql.len()
                    ),
                ));
            }
            return Err(skip(SkipReason::Unparseable, msg));
        }
    };
    let st = match statements.as_slice() {
        [one] => one,
        [] => return Err(skip(SkipReason::Unparseable, "no statement".into())),
        many => {
            return Err(skip(
                SkipReason::MultiStatement,
                format!("{} statements in one text", many.len()),
            ))
        }
    };
    let mut w = walk::Walker::new(catalog);
    let kind = w.statement(st);
    let Some(kind) = kind else {
        let kw = text::leading_keyword(sql, &lx).unwrap_or_default();
        return Err(skip(SkipReason::Utility, format!("{kw} statement")));
    };
    if w.too_deep {
        return Err(skip(
            SkipReason::Unparseable,
            format!("nested deeper than {} levels", walk::MAX_DEPTH),
        ));
    }
    if let Some(t) = w.temp.first() {
        return Err(skip(
            SkipReason::UnknownTable,
            format!("temporary table \"{t}\""),
        ));
    }
    if let Some(t) = w.unknown.first() {
        return Err(skip(
            SkipReason::UnknownTable,
            format!(
                "table \"{t}\" is not in the catalog (dropped since the snapshot, or temporary)"
            ),
        ));
    }
    if w.occs.is_empty() {
        return Err(if w.system {
            skip(
                SkipReason::SystemCatalog,
                "reads only system catalogs".into(),
            )
        } else {
            skip(SkipReason::NoTable, "no user table".into())
        });
    }
    let param_count = text::max_param(&lx);
    // GROUP BY / ORDER BY constants pg_stat_statements kept where the select item has `$n`.
    let plan_text = match &parse_src {
        None if ops <= grouping::MAX_OPERATORS => {
            grouping::with_grouping_params(st).unwrap_or(plan_text)
        }
        _ => plan_text,
    };
    // UPDATE/DELETE: plan the read that finds their rows (no write privilege needed).
    let plan_text = read_equivalent::read_equivalent(st).unwrap_or(plan_text);
    // Row locks (`select_for_update()`): planned without them (no UPDATE privilege needed).
    let plan_text = read_equivalent::without_row_locks(&plan_text).unwrap_or(plan_text);
    let mut shape = finish(stmt.queryid, kind, plan_text, param_count, w);
    // PostgreSQL 18's squashed lists: the `$n` the walk saw as `col = ANY($n)` is a list.
    let squashed = text::squashed_params(sql, &lx);
    for u in &mut shape.params {
        if u.op == ParamOp::Eq && squashed.contains(&u.param) {
            u.op = ParamOp::InList;
        }
    }
    Ok(shape)
}

/// Whether `text` is a statement idxadvise would analyse, whatever tables it names: one
/// SELECT, INSERT, UPDATE or DELETE the parser accepts, on tables that are not system
/// catalogs. Utility and DDL statements (`CREATE TABLE …` from `migrate`, `SET`, `SAVEPOINT`),
/// several statements in one text and unparseable texts are not. For checks made without a
/// catalog (`check`): every table is unknown there, which is no reason to leave a text out.
///
/// ```
/// use idxadvise::parse::analysable_text;
/// assert!(analysable_text("SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1"));
/// assert!(!analysable_text("CREATE TABLE \"shop_order\" (\"id\" bigint NOT NULL PRIMARY KEY)"));
/// assert!(!analysable_text("SAVEPOINT $1"));
/// ```
pub fn analysable_text(text: &str) -> bool {
    match parse_statement(&Statement::text(0, text), &Catalog::default()) {
        Ok(_) => true,
        Err(skip) => {
            skip.reason == SkipReason::UnknownTable && !skip.detail.starts_with("temporary table")
        }
    }
}

/// The parameter types a plan text's context states (see [`param_types`]'s heuristic): `$n` →
/// a type name usable as a cast target (`numeric`, `date`, `interval`, `bpchar`). For the
/// statements the server cannot prepare alone; empty when the text does not parse.
///
/// ```
/// use idxadvise::model::Catalog;
/// let types = idxadvise::parse::param_types("SELECT $1 + $2 > 0", &Catalog::default());
/// assert_eq!(types.get(&1).map(String::as_str), Some("integer"));
/// ```
pub fn param_types(plan_text: &str, catalog: &Catalog) -> std::collections::BTreeMap<u32, String> {
    let lx = text::lex(plan_text);
    let input = text::parser_input(plan_text, &lx);
    let Ok(statements) =
        Parser::parse_sql(&PostgreSqlDialect {}, input.as_deref().unwrap_or(plan_text))
    else {
        return Default::default();
    };
    let [st] = statements.as_slice() else {
        return Default::default();
    };
    let mut w = walk::Walker::new(catalog);
    w.statement(st);
    w.param_types
}

/// Parse every statement of a workload: shapes and skips, each in workload order.
pub fn parse_workload(workload: &Workload, catalog: &Catalog) -> (Vec<QueryShape>, Vec<Skipped>) {
    let mut shapes = Vec::new();
    let mut skipped = Vec::new();
    for s in &workload.statements {
        match parse_statement(s, catalog) {
            Ok(shape) => shapes.push(shape),
            Err(skip) => skipped.push(skip),
        }
    }
    (shapes, skipped)
}

/// Run every text-level step (lexer, leading keyword, cursor query, highest `$n`, operator
/// count, the repairs) on any text and check what must hold whatever the input: offsets are char
/// boundaries, a repaired text lexes again with the same highest `$n`. For the fuzz targets
/// under `tests/fuzz/`; returns the token count. Panics when an invariant is broken.
#[doc(hidden)]
pub fn fuzz_text(text: &str) -> usize {
    let lx = text::lex(text);
    for t in &lx.toks {
        assert!(text.get(t.start..t.end).is_some(), "token span {t:?}");
    }
    let _ = text::leading_keyword(text, &lx);
    if let Some(at) = text::cursor_query(text, &lx) {
        assert!(text.get(at..).is_some(), "cursor query offset {at}");
    }
    let max = text::max_param(&lx);
    let _ = text::operator_count(text, &lx);
    let repaired = text::repair_for_planning(text, &lx);
    let rlx = text::lex(&repaired);
    assert_eq!(
        text::max_param(&rlx),
        max,
        "a repair changed the parameters"
    );
    if let Some(input) = text::parser_input(&repaired, &rlx) {
        let _ = text::lex(&input);
    }
    let _ = stable_cursor_names(text);
    lx.toks.len()
}

/// Sort and deduplicate the collected facts; give every `$n` at least one [`ParamUse`].
fn finish(
    queryid: i64,
    kind: StatementKind,
    plan_text: String,
    param_count: u32,
    w: walk::Walker<'_>,
) -> QueryShape {
    fn tidy<T: Ord>(v: &mut Vec<T>) {
        v.sort();
        v.dedup();
    }
    let mut tables = w.occs;
    for a in &mut tables {
        tidy(&mut a.equality);
        tidy(&mut a.ranges);
        tidy(&mut a.null_tests);
        tidy(&mut a.booleans);
        tidy(&mut a.upper_equality);
        tidy(&mut a.likes);
        tidy(&mut a.join_columns);
        tidy(&mut a.columns_read);
        tidy(&mut a.set_columns);
        tidy(&mut a.containment);
    }
    let mut params = w.params;
    let key = |p: &ParamUse| {
        (
            p.param,
            p.column.is_none(),
            p.schema.clone(),
            p.table.clone(),
            p.column.clone(),
            p.op as u8,
        )
    };
    params.sort_by_key(key);
    params.dedup_by_key(|p| key(p));
    // Params that never met a column: one `Other` entry each, so every `$n` is described.
    let mut known: Vec<u32> = params.iter().map(|p| p.param).collect();
    known.dedup();
    for n in 1..=param_count.min(65_535) {
        if known.binary_search(&n).is_err() {
            params.push(ParamUse {
                param: n,
                schema: None,
                table: None,
                column: None,
                op: ParamOp::Other,
            });
        }
    }
    params.sort_by_key(key);
    QueryShape {
        queryid,
        kind,
        plan_text,
        param_count,
        tables,
        params,
        limit: w.limit,
        offset: w.offset,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
pub(crate) mod corpus_tests;

#[cfg(test)]
mod django_corpus_tests;

#[cfg(test)]
mod prop_tests;
