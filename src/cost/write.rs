//! Write cost of new indexes: what maintaining them costs the primary, in milliseconds of
//! database time per second, comparable with the read gain (docs/postgres-facts.md §5–§6).
//!
//! Pure: works from the snapshot's write counters and the statements' shapes. Must not guess
//! when counters are missing: [`WriteModel::available`] is false and callers say so.
//! Invariant: cost is a function of the whole set of new indexes on a table (losing HOT updates
//! happens once, then every index pays), so the marginal cost of an index is
//! `cost(S ∪ {i}) − cost(S)`, never a fixed per-index number.
//!
//! The model, per table, from `pg_stat_user_tables` rates (counters ÷ `write_stats.seconds`):
//! - every inserted row writes one entry into each new index (a partial index only for the
//!   share of rows its predicate matches, from `pg_stats`);
//! - every non-HOT updated row writes one entry into each new index;
//! - lost HOT: when a new index contains a column an UPDATE statement sets
//!   (`IndexSpec::columns() ∩ set_columns`), those updates, HOT today at the table's HOT share,
//!   become non-HOT: each pays the non-HOT overhead and writes one entry into EVERY index of the
//!   table, existing and new;
//! - VACUUM scans every index in full each time it runs (autovacuum runs about every
//!   `50 + 0.2 × rows` dead rows), so each index costs `vacuums/s × pages × ms/page`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{IndexSpec, PredTerm, Snapshot, Table, TableWrites, WriteRates};
use crate::parse::shape::{QueryShape, StatementKind};

/// Calibration constants of the write model (ms of database time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WriteCalibration {
    /// One B-tree entry written for an inserted row, WAL included.
    pub entry_ms: f64,
    /// One B-tree entry written by a non-HOT UPDATE (random heap positions: dearer than an
    /// insert's), WAL included.
    pub update_entry_ms: f64,
    /// What a non-HOT update costs beyond its index entries (new heap version on another page,
    /// more WAL), compared with a HOT update.
    pub nonhot_extra_ms: f64,
    /// VACUUM's scan of one 8 kB index page.
    pub vacuum_ms_per_page: f64,
}

/// Measured with `cargo run --example calibrate_writes` on the test cluster (PostgreSQL 15.18,
/// 2 shared cores, fsync off, 200,000-row table of 9 columns, fillfactor 50, batches of 1,000
/// rows). The machine was shared with other builds, so single points are noisy; two runs:
///
/// | extra indexes | 0 | 1 | 2 | 3 | 4 | 5 | 6 |
/// |---|---|---|---|---|---|---|---|
/// | insert µs/row, run 1 | 15.3 | 19.0 | 24.3 | 34.1 | 37.7 | 38.2 | 44.2 |
/// | insert µs/row, run 2 | 10.6 | 10.6 | 18.4 | 17.6 | 20.1 | 43.5 | 44.6 |
/// | insert rate (relative), run 1 | 1.00 | 0.81 | 0.63 | 0.45 | 0.41 | 0.40 | 0.35 |
/// | HOT update µs/row (100% HOT), run 1 / 2 | 4.4 / 2.4 | 3.8 / 2.6 | 4.3 / 3.1 | 4.0 / 2.3 | 5.8 / 2.6 | 3.6 / 2.6 | 4.8 / 3.7 |
/// | non-HOT update µs/row (0% HOT), run 1 / 2 | 15.5 / 7.7 | 27.0 / 24.7 | 46.0 / 22.3 | 62.5 / 29.0 | 58.5 / 43.1 | 69.4 / 67.0 | 107.1 / 63.4 |
///
/// - insert: +4.95 / +6.05 µs per extra index entry (least squares per run; the 5th index, on
///   a random 32-character text, costs most, as the WAL figures of docs/postgres-facts.md §6
///   predict). That page's batch-insert rates (1.00/0.48/0.36/0.17 with 0/1/3/6 extra
///   indexes) have the same shape.
/// - update: HOT costs 2.4–5.8 µs/row whatever the number of indexes; non-HOT costs 3–22×
///   more (docs/postgres-facts.md §6: 0.43–0.55× the speed on a bigger table): 9.5 / 6.2 µs
///   per index entry written (mean of (non-HOT − HOT) ÷ entries; each non-HOT update writes
///   into every index: here the primary key, the index on the set column and the extras). The
///   per-entry figure includes the heap overhead of a non-HOT update (the two runs'
///   intercepts were −15 and +4 µs: not distinguishable from zero), so `nonhot_extra_ms` is 0.
/// - VACUUM after deleting 10% of the rows: 53 / 56 µs per index page (least squares over
///   1,086 to 6,300 index pages).
///
/// The constants are the means of the two runs. A cached, fsync-off cluster understates write
/// cost compared with production (fsync, full-page writes, replicas): the ranking leans
/// towards building indexes, and `--min-benefit` absorbs part of the error.
pub const CALIBRATION: WriteCalibration = WriteCalibration {
    entry_ms: 0.0055,
    update_entry_ms: 0.0079,
    nonhot_extra_ms: 0.0,
    vacuum_ms_per_page: 0.054,
};

/// Autovacuum's default trigger: `autovacuum_vacuum_threshold + scale_factor × rows`.
const VACUUM_THRESHOLD: f64 = 50.0;
const VACUUM_SCALE: f64 = 0.2;

/// One group of updates: the rows one UPDATE statement changes, and the columns it sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateGroup {
    /// The statement.
    pub queryid: i64,
    /// Rows updated per second.
    pub rows_per_s: f64,
    /// Columns set.
    pub set_columns: Vec<String>,
}

/// The write activity of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableWriteModel {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Rows inserted per second.
    pub ins_per_s: f64,
    /// Rows updated per second (HOT included).
    pub upd_per_s: f64,
    /// Share of updates that are HOT today.
    pub hot_share: f64,
    /// Rows deleted per second.
    pub del_per_s: f64,
    /// Rows in the table.
    pub rows: f64,
    /// Existing indexes on the table.
    pub existing_indexes: usize,
    /// UPDATE statements on the table.
    pub updates: Vec<UpdateGroup>,
}

/// The write cost of a set of new indexes on one table.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct WriteCost {
    /// ms of database time per second.
    pub ms_per_s: f64,
    /// Index entries written per second.
    pub entries_per_s: f64,
    /// Updates per second that stop being HOT.
    pub lost_hot_per_s: f64,
}

/// The write model of a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteModel {
    /// Whether write counters were available (not a replica without `--primary-url`, and the
    /// window is known).
    pub available: bool,
    /// Why not, when not.
    pub unavailable_reason: Option<String>,
    /// A caveat about where the rates came from, for the report.
    pub note: Option<String>,
    /// Seconds the counters cover.
    pub window_s: Option<f64>,
    /// Per table, keyed by (schema, table).
    pub tables: BTreeMap<(String, String), TableWriteModel>,
    /// Constants.
    pub calibration: WriteCalibration,
    /// Where the rates came from (`Unknown` exactly when not `available`).
    pub rates: WriteRates,
}

/// Share of a table's rows a partial-index predicate matches, from `pg_stats` (1.0 without a
/// predicate; 0.5 for a term without statistics).
pub fn predicate_selectivity(spec: &IndexSpec, table: Option<&Table>) -> f64 {
    let Some(pred) = &spec.predicate else {
        return 1.0;
    };
    let mut sel = 1.0;
    for term in &pred.terms {
        let stats = table
            .and_then(|t| t.column(term.column()))
            .and_then(|c| c.stats.as_ref());
        let s = match (term, stats) {
            (_, None) => 0.5,
            (PredTerm::IsNull { .. }, Some(st)) => st.null_frac,
            (PredTerm::IsNotNull { .. }, Some(st)) => 1.0 - st.null_frac,
            (PredTerm::IsTrue { .. }, Some(st)) => mcv_freq(st, &["t", "true"]).unwrap_or(0.5),
            (PredTerm::IsFalse { .. }, Some(st)) => mcv_freq(st, &["f", "false"]).unwrap_or(0.5),
            (PredTerm::Eq { value, .. }, Some(st)) => mcv_freq(st, &[value.as_str()])
                .unwrap_or_else(|| {
                    let rest: f64 = 1.0 - st.null_frac - st.most_common_freqs.iter().sum::<f64>();
                    let rows = table.map(|t| t.rows.max(1.0)).unwrap_or(1.0);
                    let others = (st.distinct(rows) - st.most_common_vals.len() as f64).max(1.0);
                    (rest / others).max(0.0)
                }),
        };
        sel *= s.clamp(0.0, 1.0);
    }
    sel
}

fn mcv_freq(st: &crate::model::ColumnStats, values: &[&str]) -> Option<f64> {
    st.most_common_vals
        .iter()
        .zip(&st.most_common_freqs)
        .find(|(v, _)| values.contains(&v.as_str()))
        .map(|(_, f)| *f)
}

impl WriteModel {
    /// Build from the snapshot and the statements' shapes (UPDATE shapes give the set columns;
    /// their rows in pg_stat_statements, or calls, give each update group's rate).
    pub fn new(
        snapshot: &Snapshot,
        shapes: &[QueryShape],
        calibration: WriteCalibration,
    ) -> WriteModel {
        let ws = &snapshot.write_stats;
        let counters_window = ws.seconds.filter(|s| s.is_finite() && *s > 0.0);
        // Problem: cumulative counters mix old and new behaviour, and often have no reset time
        // (a database whose statistics were never reset), so their rates are unknown. What we
        // do: take the counters' deltas over the observation window (rates without any reset)
        // whenever the workload is the window's, so read gain and write cost cover the same
        // seconds. Example: a primary never reset, watched for 60 s, gets its real UPDATE rate.
        let basis_window = snapshot
            .workload
            .observation
            .as_ref()
            .is_some_and(|o| o.basis == crate::model::Basis::Window);
        let observed = ws
            .window
            .as_ref()
            .filter(|w| w.seconds.is_finite() && w.seconds > 0.0)
            .filter(|_| basis_window);
        // Otherwise fall back to the INSERT/UPDATE/DELETE statements of pg_stat_statements
        // (rows over its own window), keeping only the HOT share from the counters. Example: a
        // fresh database whose counters include the initial data load still gets the
        // workload's write rates.
        let pgss_window = snapshot
            .workload
            .window_seconds
            .filter(|s| s.is_finite() && *s > 0.0);
        let from_statements =
            observed.is_none() && counters_window.is_none() && pgss_window.is_some();
        let window = observed
            .map(|w| w.seconds)
            .or(counters_window)
            .or(pgss_window);
        let reason = if !ws.available() {
            Some("write statistics are unavailable (a replica was analysed without --primary-url): indexes are ranked by read gain alone, their write cost is unknown".to_string())
        } else if window.is_none() {
            Some("the period the write counters cover is unknown (no statistics reset time, no observation window): indexes are ranked by read gain alone, their write cost is unknown".to_string())
        } else {
            None
        };
        let rates = match (&reason, window) {
            (Some(r), _) => WriteRates::Unknown { reason: r.clone() },
            (None, None) => WriteRates::Unknown {
                reason: "no window".into(),
            },
            (None, Some(seconds)) if observed.is_some() => WriteRates::Window { seconds },
            (None, Some(seconds)) if from_statements => WriteRates::Statements { seconds },
            (None, Some(seconds)) => WriteRates::SinceReset { seconds },
        };
        let (counter_tables, write_statements): (&[TableWrites], &[crate::model::Statement]) =
            match observed {
                Some(w) => (&w.tables, &w.statements),
                None => (&ws.tables, &ws.statements),
            };
        let mut tables = BTreeMap::new();
        if let (None, Some(secs)) = (&reason, window) {
            for tw in counter_tables {
                let cat = snapshot.catalog.table(&tw.schema, &tw.table);
                let mut updates = Vec::new();
                for sh in shapes.iter().filter(|s| s.kind == StatementKind::Update) {
                    let Some(acc) = sh
                        .tables
                        .iter()
                        .find(|a| a.is_target && a.schema == tw.schema && a.table == tw.table)
                    else {
                        continue;
                    };
                    let stmt = write_statements
                        .iter()
                        .find(|s| s.queryid == sh.queryid)
                        .or_else(|| snapshot.workload.get(sh.queryid));
                    let rows = stmt
                        .map(|s| if s.rows > 0 { s.rows } else { s.calls })
                        .unwrap_or(0);
                    updates.push(UpdateGroup {
                        queryid: sh.queryid,
                        rows_per_s: rows.max(0) as f64 / secs,
                        set_columns: acc.set_columns.clone(),
                    });
                }
                updates.sort_by_key(|u| u.queryid);
                let (ins, upd, del) = if from_statements {
                    let rows_of = |kind: StatementKind| -> f64 {
                        shapes
                            .iter()
                            .filter(|sh| sh.kind == kind)
                            .filter(|sh| {
                                sh.tables.iter().any(|a| {
                                    a.is_target && a.schema == tw.schema && a.table == tw.table
                                })
                            })
                            .filter_map(|sh| {
                                write_statements
                                    .iter()
                                    .find(|s| s.queryid == sh.queryid)
                                    .or_else(|| snapshot.workload.get(sh.queryid))
                            })
                            .map(|s| if s.rows > 0 { s.rows } else { s.calls }.max(0) as f64)
                            .sum()
                    };
                    (
                        rows_of(StatementKind::Insert),
                        rows_of(StatementKind::Update),
                        rows_of(StatementKind::Delete),
                    )
                } else {
                    (
                        tw.n_tup_ins.max(0) as f64,
                        tw.n_tup_upd.max(0) as f64,
                        tw.n_tup_del.max(0) as f64,
                    )
                };
                let m = TableWriteModel {
                    schema: tw.schema.clone(),
                    table: tw.table.clone(),
                    ins_per_s: ins / secs,
                    upd_per_s: upd / secs,
                    hot_share: tw
                        .hot_share()
                        .or_else(|| ws.table(&tw.schema, &tw.table).and_then(|c| c.hot_share()))
                        .unwrap_or(1.0),
                    del_per_s: del / secs,
                    rows: cat
                        .map(|t| t.rows.max(0.0))
                        .unwrap_or(tw.n_live_tup.max(0) as f64),
                    existing_indexes: cat.map(|t| t.indexes.len()).unwrap_or(0),
                    updates,
                };
                tables.insert((tw.schema.clone(), tw.table.clone()), m);
            }
        }
        let note = (reason.is_none() && from_statements).then(|| {
            "write rates come from the INSERT/UPDATE/DELETE statements in pg_stat_statements (the table counters have no statistics reset time); HOT shares from the table counters".to_string()
        });
        WriteModel {
            available: reason.is_none(),
            unavailable_reason: reason,
            note,
            window_s: window,
            tables,
            calibration,
            rates,
        }
    }

    /// A model that weighs nothing (write statistics unavailable), with the reason.
    pub fn unavailable(reason: &str) -> WriteModel {
        WriteModel {
            available: false,
            unavailable_reason: Some(reason.to_string()),
            note: None,
            window_s: None,
            tables: BTreeMap::new(),
            calibration: CALIBRATION,
            rates: WriteRates::Unknown {
                reason: reason.to_string(),
            },
        }
    }

    /// The write cost of the new indexes `new` (spec, selectivity, size in bytes), all on the
    /// table (`schema`, `table`). Zero when unavailable or the table has no writes.
    pub fn set_cost(&self, schema: &str, table: &str, new: &[(&IndexSpec, f64, i64)]) -> WriteCost {
        if !self.available || new.is_empty() {
            return WriteCost::default();
        }
        let Some(t) = self.tables.get(&(schema.to_string(), table.to_string())) else {
            return WriteCost::default();
        };
        let cal = &self.calibration;
        let sel_sum: f64 = new.iter().map(|(_, s, _)| s.clamp(0.0, 1.0)).sum();
        let nonhot_now = t.upd_per_s * (1.0 - t.hot_share);
        // Updates that stop being HOT: the HOT part of every update group whose set columns a
        // new index contains.
        let mut lost = 0.0;
        for g in &t.updates {
            let broken = new.iter().any(|(spec, _, _)| {
                let cols = spec.columns();
                g.set_columns.iter().any(|c| cols.contains(c))
            });
            if broken {
                lost += g.rows_per_s * t.hot_share;
            }
        }
        // Never more than the table's HOT updates.
        lost = lost.min(t.upd_per_s * t.hot_share);
        let ins_entries = t.ins_per_s * sel_sum;
        let upd_entries = nonhot_now * sel_sum + lost * (t.existing_indexes as f64 + sel_sum);
        let entries = ins_entries + upd_entries;
        let vacuums_per_s =
            (nonhot_now + lost + t.del_per_s) / (VACUUM_THRESHOLD + VACUUM_SCALE * t.rows);
        let pages: f64 = new
            .iter()
            .map(|(_, _, b)| (*b).max(0) as f64 / 8192.0)
            .sum();
        let ms = ins_entries * cal.entry_ms
            + upd_entries * cal.update_entry_ms
            + lost * cal.nonhot_extra_ms
            + vacuums_per_s * pages * cal.vacuum_ms_per_page;
        WriteCost {
            ms_per_s: ms,
            entries_per_s: entries,
            lost_hot_per_s: lost,
        }
    }

    /// The columns of `spec` (keys, expression inputs, INCLUDE and predicate columns) that an
    /// UPDATE of the table sets, while some of the table's updates are HOT: each such update
    /// stops being HOT once the index exists. Sorted; empty when unavailable.
    pub fn hot_columns(&self, schema: &str, table: &str, spec: &IndexSpec) -> Vec<String> {
        let Some(t) = self
            .tables
            .get(&(schema.to_string(), table.to_string()))
            .filter(|t| self.available && t.hot_share > 0.0)
        else {
            return vec![];
        };
        let cols = spec.columns();
        let mut out: Vec<String> = t
            .updates
            .iter()
            .filter(|g| g.rows_per_s > 0.0)
            .flat_map(|g| g.set_columns.iter())
            .filter(|c| cols.contains(c))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What dropping an existing index saves per second: its entries for inserts and non-HOT
    /// updates, and its VACUUM scans (ms/s). An index whose columns no UPDATE sets frees no HOT
    /// updates, so this is a lower bound.
    pub fn drop_saving(&self, schema: &str, table: &str, size_bytes: i64) -> f64 {
        if !self.available {
            return 0.0;
        }
        let Some(t) = self.tables.get(&(schema.to_string(), table.to_string())) else {
            return 0.0;
        };
        let cal = &self.calibration;
        let nonhot = t.upd_per_s * (1.0 - t.hot_share);
        let vac = (nonhot + t.del_per_s) / (VACUUM_THRESHOLD + VACUUM_SCALE * t.rows);
        t.ins_per_s * cal.entry_ms
            + nonhot * cal.update_entry_ms
            + vac * size_bytes.max(0) as f64 / 8192.0 * cal.vacuum_ms_per_page
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{IndexKey, Predicate};

    pub(crate) fn order_table(upd_per_s: f64, hot_share: f64) -> TableWriteModel {
        TableWriteModel {
            schema: "public".into(),
            table: "shop_order".into(),
            ins_per_s: 5.0,
            upd_per_s,
            hot_share,
            del_per_s: 0.0,
            rows: 300_000.0,
            existing_indexes: 3,
            updates: vec![UpdateGroup {
                queryid: 7,
                rows_per_s: upd_per_s,
                set_columns: vec!["status".into()],
            }],
        }
    }

    fn model(t: TableWriteModel) -> WriteModel {
        let mut tables = BTreeMap::new();
        tables.insert((t.schema.clone(), t.table.clone()), t);
        WriteModel {
            available: true,
            unavailable_reason: None,
            note: None,
            window_s: Some(3600.0),
            tables,
            calibration: CALIBRATION,
            rates: WriteRates::SinceReset { seconds: 3600.0 },
        }
    }

    #[test]
    fn indexing_a_set_column_loses_hot_and_pays_for_every_index() {
        let m = model(order_table(200.0, 0.95));
        let status = IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]);
        let created = IndexSpec::on("public", "shop_order", vec![IndexKey::col("created_at")]);
        let a = m.set_cost("public", "shop_order", &[(&status, 1.0, 6_000_000)]);
        let b = m.set_cost("public", "shop_order", &[(&created, 1.0, 6_000_000)]);
        assert!((a.lost_hot_per_s - 190.0).abs() < 1e-9, "{a:?}");
        assert_eq!(b.lost_hot_per_s, 0.0);
        // 190 lost-HOT updates × (3 existing + 1 new) entries + (5 inserts + 10 non-HOT) × 1.
        assert!(
            (a.entries_per_s - (190.0 * 4.0 + 15.0)).abs() < 1e-9,
            "{a:?}"
        );
        assert!(a.ms_per_s > 20.0 * b.ms_per_s, "{a:?} vs {b:?}");
        // Once HOT is lost, a second index on the table pays one entry per non-HOT update.
        let both = m.set_cost(
            "public",
            "shop_order",
            &[(&status, 1.0, 6_000_000), (&created, 1.0, 6_000_000)],
        );
        assert!((both.entries_per_s - a.entries_per_s - (190.0 + 15.0)).abs() < 1e-9);
    }

    #[test]
    fn partial_index_pays_for_matching_rows_only() {
        let m = model(order_table(0.0, 1.0));
        let spec = IndexSpec {
            predicate: Some(Predicate {
                terms: vec![PredTerm::IsNull {
                    column: "deleted_at".into(),
                }],
            }),
            ..IndexSpec::on("public", "shop_order", vec![IndexKey::col("customer_id")])
        };
        let full = m.set_cost("public", "shop_order", &[(&spec, 1.0, 0)]);
        let part = m.set_cost("public", "shop_order", &[(&spec, 0.1, 0)]);
        assert!((part.ms_per_s * 10.0 - full.ms_per_s).abs() < 1e-12);
    }

    #[test]
    fn unavailable_costs_nothing() {
        let m = WriteModel::unavailable("replica");
        let spec = IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]);
        assert_eq!(
            m.set_cost("public", "shop_order", &[(&spec, 1.0, 1)]),
            WriteCost::default()
        );
    }
}
