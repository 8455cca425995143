//! Reading the workload from pg_stat_statements and deciding which statements to keep.
//!
//! Stage: collect. Must not parse SQL beyond its first keyword (that is `parse`'s job).
//! Invariant: every row read is either kept in `Workload::statements` or recorded in
//! `Workload::excluded` with why; kept statements are sorted by total time descending, then
//! queryid.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::config::WorkloadFilter;
use crate::error::Error;
use crate::model::workload::Excluded;
use crate::model::{ServerInfo, Statement, Workload};
use crate::pg::PgError;

use super::sql;

/// The text pg_stat_statements shows for other roles' statements without `pg_monitor`.
pub const HIDDEN_TEXT: &str = "<insufficient privilege>";

/// One pg_stat_statements row as read (queryid is null for hidden rows).
#[derive(Debug, Clone, PartialEq)]
pub struct RawStatement {
    /// `queryid`, `None` when hidden.
    pub queryid: Option<i64>,
    /// The text.
    pub query: String,
    /// Calls.
    pub calls: i64,
    /// Total execution time, ms.
    pub total_time_ms: f64,
    /// Rows.
    pub rows: i64,
    /// Shared blocks hit.
    pub shared_blks_hit: i64,
    /// Shared blocks read.
    pub shared_blks_read: i64,
    /// Sum over the calls of the squared execution time, ms² (`calls × (stddev² + mean²)`):
    /// additive over rows and readings, so deltas keep the spread.
    pub sum_sq_time_ms2: f64,
}

/// Read the current database's pg_stat_statements rows.
pub async fn read(client: &Client, server: &ServerInfo) -> Result<Vec<RawStatement>, PgError> {
    let rows = client
        .query(sql::workload_for(server), &[])
        .await
        .map_err(|e| PgError::query("reading pg_stat_statements", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let calls: i64 = r.get("calls");
            let total_time_ms: f64 = r.get("total_time_ms");
            let stddev: f64 = r.get::<_, Option<f64>>("stddev_time_ms").unwrap_or(0.0);
            RawStatement {
                queryid: r.get("queryid"),
                query: r.get::<_, Option<String>>("query").unwrap_or_default(),
                calls,
                total_time_ms,
                rows: r.get("rows"),
                shared_blks_hit: r.get("shared_blks_hit"),
                shared_blks_read: r.get("shared_blks_read"),
                sum_sq_time_ms2: sum_of_squares(calls, total_time_ms, stddev),
            }
        })
        .collect())
}

/// `calls × (stddev² + mean²)`: the sum of the squared times of `calls` executions whose total
/// is `total_ms` and population standard deviation `stddev_ms`.
pub fn sum_of_squares(calls: i64, total_ms: f64, stddev_ms: f64) -> f64 {
    if calls <= 0 {
        return 0.0;
    }
    let n = calls as f64;
    let mean = total_ms / n;
    n * (stddev_ms * stddev_ms + mean * mean)
}

/// The population standard deviation of `calls` executions from their total and sum of
/// squares (`None` without calls; never negative).
pub fn stddev_of(calls: i64, total_ms: f64, sum_sq_ms2: f64) -> Option<f64> {
    if calls <= 0 {
        return None;
    }
    let n = calls as f64;
    let mean = total_ms / n;
    Some((sum_sq_ms2 / n - mean * mean).max(0.0).sqrt())
}

/// The first SQL keyword of a text, upper-cased, after leading comments, blanks and `(`.
pub fn first_keyword(text: &str) -> String {
    let mut s = text.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = s.strip_prefix('(') {
            s = rest.trim_start();
        } else {
            break;
        }
    }
    s.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Why a statement is not part of the workload, or `None` to keep it.
///
/// Problem: pg_stat_statements holds more than the application's queries. What we do: leave out
/// idxadvise's own statements (marker comment), hidden texts, utility statements (anything not
/// SELECT/INSERT/UPDATE/DELETE/WITH/VALUES/TABLE/MERGE/DECLARE (a cursor's query)) and Django's
/// foreign-key checks (`SELECT 1 FROM ONLY "t" x WHERE … FOR KEY SHARE OF x`, recognised by
/// text: docs/postgres-facts.md §1).
pub fn exclusion(text: &str) -> Option<String> {
    if text == HIDDEN_TEXT {
        return Some("text hidden: <insufficient privilege> (grant pg_monitor)".into());
    }
    if sql::is_ours(text) {
        return Some("idxadvise's own statement".into());
    }
    let kw = first_keyword(text);
    match kw.as_str() {
        "SELECT" | "WITH" => {}
        // DECLARE: a cursor's query (Django's `.iterator()`) exists only inside its
        // `DECLARE … CURSOR FOR SELECT …` text; `parse` plans the query after FOR.
        "INSERT" | "UPDATE" | "DELETE" | "VALUES" | "TABLE" | "MERGE" | "DECLARE" => return None,
        "" => return Some("utility statement".into()),
        other => return Some(format!("utility statement ({other})")),
    }
    if is_fk_check(text) {
        return Some("foreign-key check".into());
    }
    None
}

/// A referential-integrity check as PostgreSQL's RI triggers send it.
pub fn is_fk_check(text: &str) -> bool {
    let t = text.trim_end().trim_end_matches(';');
    t.contains(" FROM ONLY ") && t.contains(" FOR KEY SHARE OF ")
}

/// Merge rows of one queryid (top-level and nested entries, several users) into one statement.
fn merge(rows: Vec<RawStatement>) -> Vec<Statement> {
    let mut by_id: BTreeMap<i64, Statement> = BTreeMap::new();
    let mut sum_sq: BTreeMap<i64, f64> = BTreeMap::new();
    for r in rows {
        let Some(id) = r.queryid else { continue };
        let e = by_id
            .entry(id)
            .or_insert_with(|| Statement::text(id, &r.query));
        e.calls += r.calls;
        e.total_time_ms += r.total_time_ms;
        e.rows += r.rows;
        e.shared_blks_hit += r.shared_blks_hit;
        e.shared_blks_read += r.shared_blks_read;
        *sum_sq.entry(id).or_insert(0.0) += r.sum_sq_time_ms2;
    }
    let mut out: Vec<Statement> = by_id
        .into_values()
        .map(|mut s| {
            s.stddev_time_ms = stddev_of(
                s.calls,
                s.total_time_ms,
                sum_sq.get(&s.queryid).copied().unwrap_or(0.0),
            );
            s.mean_time_ms = if s.calls > 0 {
                s.total_time_ms / s.calls as f64
            } else {
                0.0
            };
            s
        })
        .collect();
    sort(&mut out);
    out
}

fn sort(v: &mut [Statement]) {
    v.sort_by(|a, b| {
        b.total_time_ms
            .total_cmp(&a.total_time_ms)
            .then(a.queryid.cmp(&b.queryid))
    });
}

/// Turn raw rows into a workload: exclusions, then `--min-calls`, `--top-share`, `--top`.
///
/// Errors when rows exist but every one is hidden (the role lacks `pg_monitor`).
pub fn build(rows: Vec<RawStatement>, filter: &WorkloadFilter) -> Result<Workload, Error> {
    let mut excluded = vec![];
    let total_rows = rows.len();
    let mut hidden = 0usize;
    let mut own = 0usize;
    let mut kept_rows = vec![];
    for r in rows {
        match exclusion(&r.query) {
            Some(reason) => {
                if r.query == HIDDEN_TEXT {
                    hidden += 1;
                } else if sql::is_ours(&r.query) {
                    own += 1;
                }
                excluded.push(Excluded {
                    queryid: r.queryid.unwrap_or(0),
                    reason,
                });
            }
            None => kept_rows.push(r),
        }
    }
    // Our own statements are visible to us even without pg_monitor: they do not count.
    if total_rows > own && hidden == total_rows - own {
        return Err(Error::Prerequisite(format!(
            "all {hidden} statements in pg_stat_statements read <insufficient privilege>: this role may not see other roles' statements\n(as a superuser: GRANT pg_monitor TO <role>;)"
        )));
    }
    let mut statements = merge(kept_rows);
    let mut kept = vec![];
    for s in statements.drain(..) {
        if s.calls < filter.min_calls {
            excluded.push(Excluded {
                queryid: s.queryid,
                reason: format!("fewer calls than --min-calls {}", filter.min_calls),
            });
        } else {
            kept.push(s);
        }
    }
    if let Some(share) = filter.top_share {
        let total: f64 = kept.iter().map(|s| s.total_time_ms).sum();
        let mut acc = 0.0;
        let mut n = 0;
        for s in &kept {
            if total > 0.0 && acc / total >= share {
                break;
            }
            acc += s.total_time_ms;
            n += 1;
        }
        for s in kept.drain(n..) {
            excluded.push(Excluded {
                queryid: s.queryid,
                reason: format!("beyond --top-share {share}"),
            });
        }
    }
    if let Some(top) = filter.top {
        if kept.len() > top {
            for s in kept.drain(top..) {
                excluded.push(Excluded {
                    queryid: s.queryid,
                    reason: format!("beyond --top {top}"),
                });
            }
        }
    }
    excluded.sort_by(|a, b| a.queryid.cmp(&b.queryid).then(a.reason.cmp(&b.reason)));
    Ok(Workload {
        statements: kept,
        excluded,
        stats_since: None,
        window_seconds: None,
        observation: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: i64, q: &str, calls: i64, ms: f64) -> RawStatement {
        RawStatement {
            queryid: Some(id),
            query: q.into(),
            calls,
            total_time_ms: ms,
            rows: calls,
            shared_blks_hit: 1,
            shared_blks_read: 0,
            sum_sq_time_ms2: 0.0,
        }
    }

    #[test]
    fn classifies_statements() {
        assert_eq!(exclusion("SELECT * FROM t WHERE id = $1"), None);
        assert_eq!(exclusion("  (SELECT 1) UNION (SELECT 2)"), None);
        assert_eq!(exclusion("/* app */ UPDATE t SET x = $1"), None);
        assert_eq!(
            exclusion("SAVEPOINT \"s1\"").as_deref(),
            Some("utility statement (SAVEPOINT)")
        );
        assert_eq!(
            exclusion("BEGIN").as_deref(),
            Some("utility statement (BEGIN)")
        );
        assert_eq!(
            exclusion("SET TIME ZONE 'UTC'").as_deref(),
            Some("utility statement (SET)")
        );
        assert_eq!(
            exclusion("SELECT 1 FROM ONLY \"public\".\"shop_customer\" x WHERE \"id\" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x")
                .as_deref(),
            Some("foreign-key check")
        );
        assert_eq!(
            exclusion("SELECT $2 FROM ONLY \"shop_order\" x WHERE \"id\" = $1 FOR KEY SHARE OF x")
                .as_deref(),
            Some("foreign-key check")
        );
        // A cursor's query (Django's `.iterator()`) is kept for `parse`.
        assert_eq!(
            exclusion("DECLARE \"c\" NO SCROLL CURSOR WITH HOLD FOR SELECT 1"),
            None
        );
        assert_eq!(
            exclusion("-- idxadvise: tables\nSELECT 1").as_deref(),
            Some("idxadvise's own statement")
        );
        assert!(exclusion(HIDDEN_TEXT)
            .expect("hidden")
            .contains("pg_monitor"));
    }

    #[test]
    fn merges_filters_and_records_why() {
        let rows = vec![
            raw(1, "SELECT a FROM t", 100, 500.0),
            raw(1, "SELECT a FROM t", 10, 100.0),
            raw(2, "SELECT b FROM t", 5, 300.0),
            raw(3, "SELECT c FROM t", 1, 90.0),
            raw(4, "SELECT d FROM t", 50, 10.0),
            raw(5, "BEGIN", 500, 1.0),
        ];
        let f = WorkloadFilter {
            min_calls: 2,
            top: Some(2),
            top_share: None,
        };
        let w = build(rows.clone(), &f).expect("ok");
        let ids: Vec<i64> = w.statements.iter().map(|s| s.queryid).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(w.statements[0].calls, 110);
        assert!((w.statements[0].mean_time_ms - 600.0 / 110.0).abs() < 1e-9);
        let why: Vec<(i64, &str)> = w
            .excluded
            .iter()
            .map(|e| (e.queryid, e.reason.as_str()))
            .collect();
        assert_eq!(
            why,
            vec![
                (3, "fewer calls than --min-calls 2"),
                (4, "beyond --top 2"),
                (5, "utility statement (BEGIN)")
            ]
        );
        let f = WorkloadFilter {
            min_calls: 1,
            top: None,
            top_share: Some(0.6),
        };
        let w = build(rows, &f).expect("ok");
        // 600 of 1000 ms is reached by the first statement alone.
        assert_eq!(w.statements.len(), 1);
        assert_eq!(w.excluded.len(), 4);
    }

    #[test]
    fn all_hidden_is_a_prerequisite_error() {
        let mut r = raw(0, HIDDEN_TEXT, 3, 1.0);
        r.queryid = None;
        let own = raw(9, "-- idxadvise: server facts\nSELECT 1", 1, 0.1);
        let e = build(vec![r.clone(), own, r], &WorkloadFilter::default()).expect_err("hidden");
        assert!(matches!(e, Error::Prerequisite(ref m) if m.contains("GRANT pg_monitor")));
    }
}
