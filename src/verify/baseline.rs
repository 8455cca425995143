//! `baseline.json`: what `analyze` predicted from, saved in its output folder so that
//! `idxadvise verify` can later measure the real effect of the applied indexes against it.
//!
//! Stage: written by `analyze` (pure: built from the snapshot, the recommendation and the
//! what-if evaluations), read by `verify`. Must not do I/O (the caller writes and reads the
//! file). Invariants: versioned ([`BASELINE_FORMAT_VERSION`]); deterministic (statements sorted
//! by queryid, indexes in the order chosen); counters are the raw cumulative pg_stat_statements
//! and pg_stat_user_tables values, so `verify` can take deltas.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Snapshot, TableWrites, WindowWrites, WriteSource};
use crate::naming::Named;
use crate::whatif::Evaluation;

/// Version of the `baseline.json` schema. Bump on incompatible changes.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// The file name in the analyze output folder.
pub const BASELINE_FILE: &str = "baseline.json";

/// Everything `verify` compares against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`BASELINE_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// `idxadvise <version>`.
    pub created_by: String,
    /// Database name.
    pub database: String,
    /// Server version string.
    pub server_version: String,
    /// `pg_stat_statements_info.stats_reset` at the baseline, as text, when known: a later value
    /// means pg_stat_statements was reset in between.
    pub stats_since: Option<String>,
    /// The pg_stat_statements counters the prediction was made from, by queryid.
    pub statements: Vec<StatementCounters>,
    /// Per analysed statement: planner cost before → after the recommendation, and the
    /// predicted mean time.
    pub predictions: Vec<StatementPrediction>,
    /// The recommended indexes.
    pub indexes: Vec<IndexPrediction>,
    /// Write counters per table at the baseline (from the primary), for write-side deltas.
    pub writes: WriteBaseline,
    /// The recommended drops, with the statements whose plan used each (baselines written
    /// before drops were verified have none).
    #[serde(default)]
    pub drops: Vec<DropPrediction>,
}

/// One recommended drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropPrediction {
    /// Index name.
    pub name: String,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Why it was proposed (`unused`, `duplicate`, `redundant`).
    pub reason: String,
    /// The statements whose baseline plan used it (queryids, sorted): after the drop they
    /// must not get slower.
    pub used_by: Vec<i64>,
}

/// One pg_stat_statements entry: cumulative counters at the time of the snapshot (the
/// workload's own statement, same JSON fields).
pub type StatementCounters = crate::model::Statement;

/// The prediction for one analysed statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementPrediction {
    /// queryid.
    pub queryid: i64,
    /// Planner cost with the existing indexes.
    pub before_cost: f64,
    /// Planner cost with the recommended indexes.
    pub after_cost: f64,
    /// Measured mean time at the baseline, ms.
    pub before_ms: f64,
    /// Predicted mean time, ms: `before_ms × after_cost / before_cost`.
    pub after_ms: f64,
    /// Names of the recommended indexes the predicted plan uses.
    pub uses: Vec<String>,
    /// Calls behind `before_ms` (0 in baselines written before it was kept).
    #[serde(default)]
    pub before_calls: i64,
    /// Standard deviation of the time per call behind `before_ms`, ms, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_stddev_ms: Option<f64>,
}

impl StatementPrediction {
    /// Predicted speedup `before / after` (1 when unchanged or unknown).
    pub fn speedup(&self) -> f64 {
        if self.after_cost > 0.0 && self.before_cost > 0.0 {
            self.before_cost / self.after_cost
        } else {
            1.0
        }
    }
}

/// One recommended index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexPrediction {
    /// Name (as in the migration and indexes.sql).
    pub name: String,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// `CREATE INDEX CONCURRENTLY …`.
    pub sql: String,
    /// Estimated size, bytes.
    pub size_bytes: i64,
    /// Estimated write cost, ms of database time per second.
    pub write_cost_ms_per_s: f64,
    /// Updates per second predicted to stop being HOT.
    pub lost_hot_updates_per_s: f64,
    /// Statements it was predicted to help (queryids).
    pub helps: Vec<i64>,
    /// The planner's row estimate of its table at the baseline (`pg_class.reltuples`), so
    /// `verify` can tell when a real plan differs because the statistics did (none in
    /// baselines written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_rows: Option<f64>,
}

/// Write counters at the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBaseline {
    /// Where they were read.
    pub source: WriteSource,
    /// `pg_stat_database.stats_reset` of the database, as text.
    pub since: Option<String>,
    /// Seconds the counters covered at the baseline.
    pub seconds: Option<f64>,
    /// Counters of the tables that get a new index.
    pub tables: Vec<TableWrites>,
    /// The same tables' counter deltas over `analyze`'s observation window, when it watched
    /// one: write rates at the baseline for a database whose statistics were never reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowWrites>,
}

/// Build the baseline from what `analyze` knows: the snapshot, the recommendation with its
/// indexes named, and the evaluations without and with the recommended indexes (by queryid).
pub fn build(
    snapshot: &Snapshot,
    named: &Named,
    before: &BTreeMap<i64, Evaluation>,
    after: &BTreeMap<i64, Evaluation>,
) -> Baseline {
    // Cumulative counters (what `verify` takes deltas from), also when the prediction was made
    // from the observation window's deltas.
    let mut statements: Vec<StatementCounters> = match &snapshot.workload.observation {
        Some(o) if !o.cumulative.is_empty() => o.cumulative.clone(),
        _ => snapshot.workload.statements.to_vec(),
    };
    statements.sort_by_key(|s| s.queryid);
    let names = named.by_candidate();
    let predictions: Vec<StatementPrediction> = before
        .iter()
        .filter_map(|(q, b)| {
            let a = after.get(q)?;
            let measured = snapshot.workload.get(*q)?;
            let mean = measured.mean_time_ms;
            let mut uses: Vec<String> = a
                .used
                .iter()
                .filter_map(|c| names.get(c).cloned())
                .collect();
            uses.sort();
            uses.dedup();
            Some(StatementPrediction {
                queryid: *q,
                before_cost: b.cost,
                after_cost: a.cost,
                before_ms: mean,
                after_ms: crate::cost::read::predicted_mean_ms(mean, b.cost, a.cost),
                uses,
                before_calls: measured.calls,
                before_stddev_ms: measured.stddev_time_ms,
            })
        })
        .collect();
    let indexes: Vec<IndexPrediction> = named
        .creates()
        .map(|(p, name)| {
            let name = name.to_string();
            let mut helps: Vec<i64> = p.helps.iter().map(|h| h.queryid).collect();
            helps.sort_unstable();
            helps.dedup();
            IndexPrediction {
                sql: p.spec.create_sql(&name, true),
                name,
                schema: p.spec.schema.clone(),
                table: p.spec.table.clone(),
                size_bytes: p.size_bytes,
                write_cost_ms_per_s: p.write_cost_ms_per_s,
                lost_hot_updates_per_s: p.lost_hot_updates_per_s,
                helps,
                table_rows: snapshot
                    .catalog
                    .table(&p.spec.schema, &p.spec.table)
                    .map(|t| t.rows),
            }
        })
        .collect();
    let indexed = |tables: &[TableWrites]| -> Vec<TableWrites> {
        tables
            .iter()
            .filter(|t| {
                indexes
                    .iter()
                    .any(|i| i.schema == t.schema && i.table == t.table)
            })
            .cloned()
            .collect()
    };
    let tables = indexed(&snapshot.write_stats.tables);
    let window = snapshot.write_stats.window.as_ref().map(|w| WindowWrites {
        seconds: w.seconds,
        tables: indexed(&w.tables),
        statements: vec![],
    });
    let drops: Vec<DropPrediction> = named
        .rec
        .drop
        .iter()
        .map(|d| DropPrediction {
            name: d.index.clone(),
            schema: d.schema.clone(),
            table: d.table.clone(),
            reason: format!("{:?}", d.reason).to_lowercase(),
            used_by: before
                .iter()
                .filter(|(_, e)| {
                    e.plan
                        .as_ref()
                        .is_some_and(|p| p.indexes.contains(&d.index))
                })
                .map(|(q, _)| *q)
                .collect(),
        })
        .collect();
    Baseline {
        drops,
        format_version: BASELINE_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        database: snapshot.server.database.clone(),
        server_version: snapshot.server.version.clone(),
        stats_since: snapshot.workload.stats_since.clone(),
        statements,
        predictions,
        indexes,
        writes: WriteBaseline {
            source: snapshot.write_stats.source,
            since: snapshot.write_stats.since.clone(),
            seconds: snapshot.write_stats.seconds,
            tables,
            window,
        },
    }
}

impl Baseline {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }

    /// Parse `baseline.json`, refusing other format versions with a clear message.
    pub fn from_json(text: &str) -> Result<Baseline, crate::model::versioned::FormatError> {
        crate::model::versioned::from_json(text, "baseline", BASELINE_FORMAT_VERSION)
    }

    /// The counters of one statement.
    pub fn statement(&self, queryid: i64) -> Option<&StatementCounters> {
        self.statements
            .binary_search_by_key(&queryid, |s| s.queryid)
            .ok()
            .and_then(|i| self.statements.get(i))
    }

    /// The prediction for one statement.
    pub fn prediction(&self, queryid: i64) -> Option<&StatementPrediction> {
        self.predictions.iter().find(|p| p.queryid == queryid)
    }

    /// A statement's mean time per call "before", ms: the mean the prediction was made from
    /// (the observation window's when `analyze` watched one), else the cumulative counters'.
    /// The cumulative mean mixes in everything since pg_stat_statements' last reset, so it is
    /// only the fallback.
    pub fn before_ms(&self, counters: &StatementCounters) -> f64 {
        self.prediction(counters.queryid)
            .map(|p| p.before_ms)
            .filter(|m| *m > 0.0)
            .unwrap_or(counters.mean_time_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_from_the_analysis() {
        use crate::model::{IndexKey, IndexSpec};
        use crate::select::{Helped, Proposed, Recommendation};
        let mut snapshot = super::super::fixtures::now();
        // analyze watched a window: deltas of the indexed table and of another.
        let order = snapshot.write_stats.tables[0].clone();
        let other = TableWrites {
            table: "other".into(),
            ..order.clone()
        };
        snapshot.write_stats.window = Some(WindowWrites {
            seconds: 60.0,
            tables: vec![order, other],
            statements: vec![],
        });
        let spec = IndexSpec::on("public", "shop_order", vec![IndexKey::col("customer_id")]);
        let rec = Recommendation {
            create: vec![Proposed {
                candidate: 7,
                spec,
                size_bytes: 1234,
                write_cost_ms_per_s: 0.5,
                read_gain_ms: 1.0,
                helps: vec![Helped {
                    queryid: 101,
                    calls: 150,
                    before_cost: 100.0,
                    after_cost: 10.0,
                    before_ms: 7.0,
                    after_ms: 0.7,
                }],
                rules: vec![],
                read_gain_cost: 0.0,
                net_benefit_ms_per_s: 0.0,
                lost_hot_updates_per_s: 0.25,
                hot_columns: vec!["status".into()],
                displaces: vec![],
            }],
            ..Recommendation::default()
        };
        let named = Named {
            rec,
            names: vec!["ix".to_string()],
        };
        let eval = |cost: f64, used: Vec<usize>| Evaluation {
            cost,
            generic_cost: None,
            used,
            plan: None,
        };
        let before: BTreeMap<i64, Evaluation> =
            [(101, eval(100.0, vec![])), (102, eval(5.0, vec![]))].into();
        let after: BTreeMap<i64, Evaluation> =
            [(101, eval(10.0, vec![7])), (102, eval(5.0, vec![]))].into();
        let b = build(&snapshot, &named, &before, &after);
        assert_eq!(b.statements.len(), 2);
        assert_eq!(b.statement(101).unwrap().calls, 150);
        let p = b.prediction(101).unwrap();
        assert_eq!(p.uses, vec!["ix".to_string()]);
        assert!((p.before_ms - 7.0).abs() < 1e-9 && (p.after_ms - 0.745).abs() < 1e-9);
        assert!((p.speedup() - 10.0).abs() < 1e-9);
        assert!(b.prediction(102).unwrap().uses.is_empty());
        let ix = &b.indexes[0];
        assert_eq!((ix.name.as_str(), ix.size_bytes), ("ix", 1234));
        assert_eq!(ix.helps, vec![101]);
        assert!(
            ix.sql.starts_with("CREATE INDEX CONCURRENTLY \"ix\""),
            "{}",
            ix.sql
        );
        // Only the tables that get an index keep their write counters, and their window's.
        assert_eq!(b.writes.tables.len(), 1);
        let w = b.writes.window.as_ref().expect("the window's deltas");
        assert_eq!((w.seconds, w.tables.len()), (60.0, 1));
        assert_eq!(w.tables[0].table, "shop_order");
        assert_eq!(b.stats_since, snapshot.workload.stats_since);
    }

    #[test]
    fn refuses_other_versions_and_round_trips() {
        let b = super::super::fixtures::baseline();
        let text = b.to_json();
        assert_eq!(Baseline::from_json(&text).unwrap(), b);
        let other = text.replace("\"format_version\": 1", "\"format_version\": 9");
        assert!(Baseline::from_json(&other)
            .unwrap_err()
            .to_string()
            .contains("format_version 9"));
        assert!(Baseline::from_json("{}")
            .unwrap_err()
            .to_string()
            .contains("no format_version"));
        assert!(b.statement(101).is_some());
        assert!(b.statement(7).is_none());
    }
}
