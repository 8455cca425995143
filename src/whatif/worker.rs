//! One what-if session: a connection, its HypoPG state and its prepared statements, and the
//! EXPLAINs that cost a statement under the session's current configuration.
//!
//! Stage `whatif` (I/O). Must not run anything but EXPLAIN, PREPARE/DEALLOCATE and `hypopg_*`
//! (never ANALYZE). Invariant: a prepared `EXPLAIN` is re-planned on every execution, so it sees
//! the current hypothetical indexes; a generic plan is always PREPAREd under a fresh name (a
//! cached generic plan is not invalidated by HypoPG, docs/postgres-facts.md §3).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::future::join_all;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{SimpleQueryMessage, Statement};

use super::error::WhatIfError;
use super::hypo::{stable_name, HypoSession};
use super::limit_value::{self, Calls};
use super::observed_sets::observed_value_sets;
use super::oracle::PlanSummary;
use super::params::{value_sets, ParamType, TextParam, ValueSet};
use super::plan::{parse_explain, PlanNode};
use crate::model::{Catalog, IndexSpec, ObservedStatement, SkipReason, Skipped};
use crate::parse::shape::{ParamOp, QueryShape};
use crate::pg::connect::db_message;
use crate::pg::quote::ident;
use crate::pg::Connection;

/// The plan for one set of parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePlan {
    /// The set's weight (the sets of a statement sum to 1).
    pub weight: f64,
    /// The values bound (`$1..$n`, text form; `None` is NULL).
    pub values: Vec<Option<String>>,
    /// The plan.
    pub plan: PlanSummary,
    /// Candidate ids it uses.
    pub used: Vec<usize>,
}

/// The generic plan (secondary signal).
#[derive(Debug, Clone, PartialEq)]
pub struct GenericPlan {
    /// The plan.
    pub plan: PlanSummary,
    /// Candidate ids it uses.
    pub used: Vec<usize>,
}

/// Everything one (statement, configuration) EXPLAIN round produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// One plan per value set, in the value sets' order (same order for every configuration).
    pub custom: Vec<ValuePlan>,
    /// The generic plan, when asked for and when it could be made.
    pub generic: Option<Result<GenericPlan, Skipped>>,
}

/// A statement ready to EXPLAIN on one connection.
pub(crate) struct Prepared {
    custom: Statement,
    sets: Vec<ValueSet>,
    /// The text the server accepted (with casts added when inference failed).
    text: String,
    nparams: usize,
}

/// The raw bytes of a column (EXPLAIN's json comes as text bytes in either format).
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// One session.
pub(crate) struct Worker {
    pub conn: Connection,
    pub hypo: HypoSession,
    prepared: HashMap<i64, Result<Arc<Prepared>, Skipped>>,
    generic_seq: AtomicU64,
    pub explains: AtomicU64,
    /// [`crate::model::ServerInfo::has_generic_plan`]: `EXPLAIN (GENERIC_PLAN)`.
    generic_plan_option: bool,
    id: usize,
    /// Rows per table name, for [`PlanNode::ranking_cost`] (EXPLAIN names relations without
    /// their schema; the first schema's table wins).
    pub table_rows: Arc<HashMap<String, f64>>,
}

/// Rows per table name for [`Worker::table_rows`].
pub(crate) fn table_rows(catalog: &Catalog) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for t in &catalog.tables {
        m.entry(t.name.clone()).or_insert(t.rows);
    }
    m
}

fn skip(queryid: i64, reason: SkipReason, detail: String) -> Skipped {
    Skipped {
        queryid,
        reason,
        detail: detail.lines().next().unwrap_or("").to_string(),
    }
}

/// A statement-level error: skip it, unless the connection itself is gone.
fn classify(
    queryid: i64,
    e: &tokio_postgres::Error,
    otherwise: SkipReason,
) -> Result<Skipped, WhatIfError> {
    if e.is_closed() {
        return Err(WhatIfError::Session {
            context: "the connection was closed".into(),
            message: db_message(e),
            source: None,
        });
    }
    let reason = if e.code() == Some(&SqlState::QUERY_CANCELED) {
        SkipReason::Timeout
    } else {
        otherwise
    };
    Ok(skip(queryid, reason, db_message(e)))
}

/// The type to cast `$n` to when the server cannot infer it: the compared column's type, a
/// bigint for LIMIT/OFFSET, else text.
fn cast_types(shape: &QueryShape, catalog: &Catalog) -> HashMap<u32, String> {
    shape
        .params
        .iter()
        .map(|u| {
            let from_column = u.column.as_deref().and_then(|c| {
                let t = match (u.schema.as_deref(), u.table.as_deref()) {
                    (Some(s), Some(t)) => catalog.table(s, t),
                    (None, Some(t)) => catalog.resolve(t),
                    _ => None,
                }?;
                Some(t.column(c)?.type_name.clone())
            });
            let ty = match (u.op, from_column) {
                (ParamOp::Limit | ParamOp::Offset, _) => "bigint".to_string(),
                (ParamOp::Like, _) => "text".to_string(),
                // `col = ANY($n)` (a squashed list): an array of the column's type.
                (ParamOp::InList, Some(t)) => format!("{t}[]"),
                (ParamOp::InList, None) => "text[]".to_string(),
                (_, Some(t)) => t,
                (_, None) => "text".to_string(),
            };
            (u.param, ty)
        })
        .collect()
}

/// The texts to try, in order, when the server cannot type a statement's parameters alone:
/// (1) only the parameters whose type the context states ([`crate::parse::param_types`]) cast,
/// the others left to the server; (2) those, and every other parameter cast to its compared
/// column's type (else text); (3) the latter alone (what worked before the inference).
fn cast_attempts(shape: &QueryShape, catalog: &Catalog) -> Vec<String> {
    let inferred: HashMap<u32, String> = crate::parse::param_types(&shape.plan_text, catalog)
        .into_iter()
        .collect();
    let fallback = cast_types(shape, catalog);
    let mut merged = fallback.clone();
    merged.extend(inferred.iter().map(|(k, v)| (*k, v.clone())));
    let mut out: Vec<String> = Vec::with_capacity(3);
    for (types, all) in [(&inferred, false), (&merged, true), (&fallback, true)] {
        let t = add_casts(&shape.plan_text, types, all);
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Rewrite `$n` outside strings, quoted identifiers and comments as `($n::type)`: those with a
/// type in `types`, and when `all`, every other one as `($n::text)`.
pub fn add_casts(text: &str, types: &HashMap<u32, String>, all: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let q = c;
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == q {
                        if i + 1 < chars.len() && chars[i + 1] == q {
                            out.push(q);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    out.push(chars[i]);
                    i += 1;
                }
                for _ in 0..2 {
                    if i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
            }
            '$' if chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
                && !(i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) =>
            {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let digits: String = chars[start..j].iter().collect();
                let n: u32 = digits.parse().unwrap_or(0);
                match types.get(&n) {
                    Some(t) => out.push_str(&format!("(${digits}::{t})")),
                    None if all => out.push_str(&format!("(${digits}::text)")),
                    None => {
                        out.push('$');
                        out.push_str(&digits);
                    }
                }
                i = j;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn may_retry_with_casts(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::INDETERMINATE_DATATYPE
            || *c == SqlState::AMBIGUOUS_FUNCTION
            || *c == SqlState::UNDEFINED_FUNCTION
            || *c == SqlState::DATATYPE_MISMATCH
    )
}

impl Worker {
    /// Open a session (read-only, untracked) with a clean HypoPG state.
    pub async fn open(
        opts: &crate::pg::ConnectOptions,
        id: usize,
        server: &crate::model::ServerInfo,
    ) -> Result<Worker, WhatIfError> {
        let conn = crate::pg::connect(opts).await?;
        let hypo = HypoSession::new(&conn.client).await?;
        Ok(Worker {
            conn,
            hypo,
            prepared: HashMap::new(),
            generic_seq: AtomicU64::new(0),
            explains: AtomicU64::new(0),
            generic_plan_option: server.has_generic_plan(),
            id,
            table_rows: Arc::new(HashMap::new()),
        })
    }

    /// Prepare `EXPLAIN (FORMAT JSON) <plan_text>` once for this connection, retrying with casts
    /// when parameter types cannot be inferred. A failure is remembered as a skip.
    pub async fn prepare(
        &mut self,
        shape: &QueryShape,
        catalog: &Catalog,
        max_sets: usize,
        observed: Option<&ObservedStatement>,
        calls: Option<Calls>,
    ) -> Result<(), WhatIfError> {
        if self.prepared.contains_key(&shape.queryid) {
            return Ok(());
        }
        let client = &self.conn.client;
        let mut text = shape.plan_text.clone();
        let mut res = client
            .prepare(&format!("EXPLAIN (FORMAT JSON) {text}"))
            .await;
        if let Err(e) = &res {
            if may_retry_with_casts(e) {
                // When every attempt fails, the reason is the first retry's (the parameters
                // typed from context): the server's own error on untyped parameters
                // (`sum(text)` for `sum(CASE … THEN $1 …)`) hides the real obstacle.
                let mut typed_err = None;
                for cast in cast_attempts(shape, catalog) {
                    let retry = client
                        .prepare(&format!("EXPLAIN (FORMAT JSON) {cast}"))
                        .await;
                    match retry {
                        Ok(_) => {
                            text = cast;
                            res = retry;
                            break;
                        }
                        Err(e) => {
                            typed_err.get_or_insert(e);
                        }
                    }
                }
                if let (Err(_), Some(e)) = (&res, typed_err) {
                    res = Err(e);
                }
            }
        }
        let entry = match res {
            Ok(stmt) => {
                let types: Vec<ParamType> = stmt.params().iter().map(ParamType::of).collect();
                let from_observed =
                    observed.and_then(|o| observed_value_sets(shape, catalog, &types, max_sets, o));
                let seen = from_observed.is_some().then_some(observed).flatten();
                let sets =
                    from_observed.unwrap_or_else(|| value_sets(shape, catalog, &types, max_sets));
                // The risk rule applies where nothing was observed: probe a guessed limit then.
                let probe = observed.is_none_or(|o| o.total() == 0);
                let sets = limit_value::apply(
                    shape,
                    &types,
                    sets,
                    &limit_value::choose(shape, calls),
                    seen,
                    probe,
                );
                Ok(Arc::new(Prepared {
                    nparams: types.len(),
                    custom: stmt,
                    sets,
                    text,
                }))
            }
            Err(e) => Err(classify(shape.queryid, &e, SkipReason::PrepareFailed)?),
        };
        self.prepared.insert(shape.queryid, entry);
        Ok(())
    }

    fn to_summary(&self, mut node: PlanNode, text: bool) -> (PlanSummary, Vec<usize>) {
        let mut used = vec![];
        for name in node.index_names() {
            if let Some(id) = self.hypo.candidate_of(&name) {
                used.push(id);
            }
        }
        used.sort_unstable();
        used.dedup();
        // A stand-in for an existing index the planner does not use yet reads as that index.
        node.rename_indexes(&|n| {
            self.hypo
                .candidate_of(n)
                .map(|id| stable_name(n, id))
                .or_else(|| self.hypo.stand_in_of(n).map(str::to_string))
        });
        let rows = |t: &str| self.table_rows.get(t).copied();
        (node.summary(&rows, text), used)
    }

    /// Cost a prepared statement under the current HypoPG state; `text` renders each plan's
    /// EXPLAIN text (a lean cache never reads it).
    pub async fn explain(
        &self,
        queryid: i64,
        generic: bool,
        text: bool,
    ) -> Result<Result<Outcome, Skipped>, WhatIfError> {
        let p = match self.prepared.get(&queryid) {
            Some(Ok(p)) => p.clone(),
            Some(Err(s)) => return Ok(Err(s.clone())),
            None => {
                return Err(WhatIfError::UnknownRequest {
                    what: "statement",
                    id: queryid,
                })
            }
        };
        let client = &self.conn.client;
        let stmt = &p.custom;
        let params: Vec<Vec<TextParam>> = p
            .sets
            .iter()
            .map(|s| s.values.iter().cloned().map(TextParam).collect())
            .collect();
        let runs = join_all(params.iter().map(|vals| {
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vals
                .iter()
                .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            async move { client.query_one(stmt, &refs).await }
        }))
        .await;
        self.explains
            .fetch_add(runs.len() as u64, Ordering::Relaxed);
        let mut custom = Vec::with_capacity(runs.len());
        for (run, set) in runs.into_iter().zip(&p.sets) {
            let row = match run {
                Ok(r) => r,
                Err(e) => return Ok(Err(classify(queryid, &e, SkipReason::PlanFailed)?)),
            };
            let raw: Raw = match row.try_get(0) {
                Ok(r) => r,
                Err(e) => return Ok(Err(skip(queryid, SkipReason::PlanFailed, e.to_string()))),
            };
            let node = match parse_explain(raw.0) {
                Ok(n) => n,
                Err(m) => return Ok(Err(skip(queryid, SkipReason::PlanFailed, m))),
            };
            let (plan, used) = self.to_summary(node, text);
            custom.push(ValuePlan {
                weight: set.weight,
                values: set.values.clone(),
                plan,
                used,
            });
        }
        let generic = if generic {
            Some(self.explain_generic(queryid, &p, text).await?)
        } else {
            None
        };
        Ok(Ok(Outcome { custom, generic }))
    }

    /// The generic plan under a fresh statement name (PG15), or `EXPLAIN (GENERIC_PLAN)` (PG16+).
    async fn explain_generic(
        &self,
        queryid: i64,
        p: &Prepared,
        text: bool,
    ) -> Result<Result<GenericPlan, Skipped>, WhatIfError> {
        let client = &self.conn.client;
        let seq = self.generic_seq.fetch_add(1, Ordering::Relaxed);
        let name = ident(&format!("idxadvise_g{}_{seq}", self.id));
        let sql = if self.generic_plan_option {
            format!("EXPLAIN (GENERIC_PLAN, FORMAT JSON) {}", p.text)
        } else {
            let nulls = vec!["NULL"; p.nparams].join(", ");
            let args = if p.nparams == 0 {
                String::new()
            } else {
                format!("({nulls})")
            };
            format!(
                "SET LOCAL plan_cache_mode = force_generic_plan; PREPARE {name} AS {}; EXPLAIN (FORMAT JSON) EXECUTE {name}{args}; DEALLOCATE {name}",
                p.text
            )
        };
        self.explains.fetch_add(1, Ordering::Relaxed);
        let msgs = match client.simple_query(&sql).await {
            Ok(m) => m,
            Err(e) => {
                let s = classify(queryid, &e, SkipReason::PlanFailed)?;
                if !self.generic_plan_option {
                    // PREPARE is not transactional: remove it if it was made before the error.
                    let _ = client.simple_query(&format!("DEALLOCATE {name}")).await;
                }
                return Ok(Err(s));
            }
        };
        let json = msgs.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        let Some(json) = json else {
            return Ok(Err(skip(
                queryid,
                SkipReason::PlanFailed,
                "EXPLAIN returned no plan".into(),
            )));
        };
        match parse_explain(json.as_bytes()) {
            Ok(node) => {
                let (plan, used) = self.to_summary(node, text);
                Ok(Ok(GenericPlan { plan, used }))
            }
            Err(m) => Ok(Err(skip(queryid, SkipReason::PlanFailed, m))),
        }
    }

    /// Make the HypoPG state exactly `config`.
    pub async fn set_config(
        &mut self,
        config: &[usize],
        specs: &[IndexSpec],
    ) -> Result<(), WhatIfError> {
        self.hypo.set(&self.conn.client, config, specs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_params_outside_strings_and_comments() {
        let types: HashMap<u32, String> = [
            (1, "integer".to_string()),
            (2, "timestamp with time zone".to_string()),
        ]
        .into();
        let got = add_casts(
            "SELECT '$1', \"a$1\" FROM t WHERE x = $1 OR $2 IS NULL -- $1\n AND y = $10 /* $2 */",
            &types,
            true,
        );
        assert_eq!(
            got,
            "SELECT '$1', \"a$1\" FROM t WHERE x = ($1::integer) OR ($2::timestamp with time zone) IS NULL -- $1\n AND y = ($10::text) /* $2 */"
        );
        let only_known = add_casts("SELECT $1 + $10 FROM t", &types, false);
        assert_eq!(only_known, "SELECT ($1::integer) + $10 FROM t");
    }
}
