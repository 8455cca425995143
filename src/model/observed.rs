//! Observed parameter values: what the application really sends for each `$n` of a
//! pg_stat_statements entry, with where each value was seen and how often.
//!
//! Stage: none (plain data, kept in the [`super::Snapshot`] so `collect -o` keeps it). Must not
//! do I/O. Invariant: every collection is sorted (statements by queryid, tuples and values by
//! weight descending then value) and bounded ([`MAX_TUPLES`], [`MAX_VALUES`],
//! [`MAX_VALUE_BYTES`]), so the same observations give byte-identical JSON and a busy server
//! cannot grow it without limit.
//!
//! # Memory, whatever the server's traffic
//! Held while observing: statements of the workload only (a text that matches none is counted,
//! not kept); per statement at most [`MAX_TUPLES`] × 4 distinct value tuples and [`MAX_VALUES`]
//! × 4 distinct per-parameter values (the lightest half is folded into `other_samples` when the
//! bound is reached); each value at most [`MAX_VALUE_BYTES`] (a longer one is kept as not
//! visible, like a value past a cut). So a server with thousands of connections sending a new
//! value each call holds at most statements × (256 tuples × parameters + 128 values) ×
//! 1 KiB, whatever the number of connections or samples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Distinct value tuples kept per statement; rarer ones are counted in `other_samples`.
pub const MAX_TUPLES: usize = 64;
/// Distinct values kept per parameter.
pub const MAX_VALUES: usize = 32;
/// Longest value kept, in bytes; a longer one counts as not visible (an equality on a value
/// that long is never what an index choice turns on).
pub const MAX_VALUE_BYTES: usize = 1024;

/// Where an observed value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// Sampling `pg_stat_activity` (time-weighted: one sample per active backend per tick).
    Activity,
    /// pg_qualstats' constants per queryid (weighted by occurrences).
    Qualstats,
    /// A server log file (`--log`): texts with literals or `parameters:` detail lines.
    Log,
    /// pg_stat_statements rows per call, matched to the column statistics.
    RowsPerCall,
    /// The user's `--hot-values`.
    HotValues,
}

impl ValueSource {
    /// How the report names it (`pg_stat_activity samples`, …).
    pub fn label(self) -> &'static str {
        match self {
            ValueSource::Activity => "pg_stat_activity samples",
            ValueSource::Qualstats => "pg_qualstats occurrences",
            ValueSource::Log => "log entries",
            ValueSource::RowsPerCall => "rows per call",
            ValueSource::HotValues => "--hot-values",
        }
    }
}

/// One execution's values as seen (a sample of a running statement, a log entry): `values[i]`
/// is `$i+1` in text form; `None` where it was not visible (text cut short, bound server-side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedTuple {
    /// Values of `$1..$n`.
    pub values: Vec<Option<String>>,
    /// How many samples (or log entries) showed exactly these values.
    pub weight: u64,
    /// Where they were seen.
    pub source: ValueSource,
}

/// A value seen for one parameter (or one column of the statement, for pg_qualstats which
/// knows the column but not the `$n`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedValue {
    /// `$n` when known.
    pub param: Option<u32>,
    /// `table.column` the value is compared with, when known.
    pub column: Option<String>,
    /// The value, text form.
    pub value: String,
    /// Samples or occurrences.
    pub weight: u64,
    /// Where it was seen.
    pub source: ValueSource,
}

/// Everything observed for one pg_stat_statements entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObservedStatement {
    /// The entry.
    pub queryid: i64,
    /// Samples (or entries) matched to it, by source.
    pub samples: BTreeMap<ValueSource, u64>,
    /// Distinct value tuples, heaviest first (at most [`MAX_TUPLES`]).
    pub tuples: Vec<ObservedTuple>,
    /// Samples whose tuple did not fit in `tuples`.
    #[serde(default)]
    pub other_samples: u64,
    /// Samples whose text was cut at `track_activity_query_size` (values after the cut unknown).
    #[serde(default)]
    pub truncated_samples: u64,
    /// Samples whose values were bound server-side (`$n` in the running text, which was not
    /// cut: not visible). A sample counts here or in `truncated_samples`, never both.
    #[serde(default)]
    pub hidden_samples: u64,
    /// Per-parameter values (pg_qualstats, or derived from `tuples`), heaviest first.
    #[serde(default)]
    pub values: Vec<ObservedValue>,
}

impl ObservedStatement {
    /// Samples with visible values, over every source.
    pub fn total(&self) -> u64 {
        self.samples.values().sum()
    }

    /// The values seen for `$param` (from the tuples, then the per-parameter values), merged,
    /// heaviest first, with their total weight.
    pub fn param_values(&self, param: u32) -> Vec<(String, u64)> {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        let i = param as usize;
        if i == 0 {
            return vec![];
        }
        for t in &self.tuples {
            if let Some(Some(v)) = t.values.get(i - 1) {
                *m.entry(v.clone()).or_default() += t.weight;
            }
        }
        for v in &self.values {
            if v.param == Some(param) {
                *m.entry(v.value.clone()).or_default() += v.weight;
            }
        }
        sorted_desc(m)
    }
}

fn sorted_desc(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// How the values were observed (for the report's evidence).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObservationSummary {
    /// `pg_stat_activity` sampling rounds taken.
    pub activity_rounds: u64,
    /// Seconds sampled.
    pub activity_seconds: f64,
    /// Active backends seen over all rounds (one per backend per round).
    pub activity_samples: u64,
    /// Samples matched to no statement of the workload.
    pub unmatched_samples: u64,
    /// `track_activity_query_size` of the sampled server, in bytes, when read.
    pub track_activity_query_size: Option<u32>,
    /// Whether pg_stat_activity had `query_id` (PG14+, `compute_query_id`).
    pub query_id: bool,
    /// Whether pg_qualstats was read.
    pub qualstats: bool,
    /// Of `activity_samples`, those taken on the primary (`--primary-url`).
    #[serde(default)]
    pub primary_samples: u64,
    /// Why a source could not be used (one line each, with the fix).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The values observed for the workload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObservedValues {
    /// Per statement, by queryid.
    pub statements: Vec<ObservedStatement>,
    /// How they were observed.
    pub summary: ObservationSummary,
}

impl ObservedValues {
    /// The observations of one statement.
    pub fn get(&self, queryid: i64) -> Option<&ObservedStatement> {
        self.statements
            .binary_search_by_key(&queryid, |s| s.queryid)
            .ok()
            .map(|i| &self.statements[i])
    }

    /// Whether nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// [`ObservedValues::merge`] for what was sampled on another server during the same
    /// window (the primary): its sampling counts add up too (the seconds sampled are the
    /// window's, not added).
    pub fn merge_sampled(&mut self, other: ObservedValues) {
        let o = &other.summary;
        let s = &mut self.summary;
        s.activity_rounds += o.activity_rounds;
        s.activity_samples += o.activity_samples;
        s.unmatched_samples += o.unmatched_samples;
        s.activity_seconds = s.activity_seconds.max(o.activity_seconds);
        s.primary_samples += o.activity_samples;
        self.merge(other);
    }

    /// Add what another source observed (log entries read after collection): samples,
    /// tuples and values of the same statement are added up, heaviest first, within the
    /// same bounds as [`ObservationBuilder::finish`].
    pub fn merge(&mut self, other: ObservedValues) {
        for o in other.statements {
            match self
                .statements
                .binary_search_by_key(&o.queryid, |s| s.queryid)
            {
                Err(i) => self.statements.insert(i, o),
                Ok(i) => {
                    let s = &mut self.statements[i];
                    for (k, v) in o.samples {
                        *s.samples.entry(k).or_default() += v;
                    }
                    s.tuples.extend(o.tuples);
                    s.tuples.sort_by(|a, b| {
                        b.weight
                            .cmp(&a.weight)
                            .then_with(|| a.values.cmp(&b.values))
                            .then_with(|| a.source.cmp(&b.source))
                    });
                    let over: u64 = s.tuples.iter().skip(MAX_TUPLES).map(|t| t.weight).sum();
                    s.tuples.truncate(MAX_TUPLES);
                    s.other_samples += o.other_samples + over;
                    s.truncated_samples += o.truncated_samples;
                    s.hidden_samples += o.hidden_samples;
                    s.values.extend(o.values);
                    s.values.sort_by(|a, b| {
                        b.weight
                            .cmp(&a.weight)
                            .then_with(|| a.column.cmp(&b.column))
                            .then_with(|| a.param.cmp(&b.param))
                            .then_with(|| a.value.cmp(&b.value))
                    });
                    s.values.truncate(MAX_VALUES);
                }
            }
        }
        self.summary.notes.extend(other.summary.notes);
    }

    /// Whether no source even ran (the snapshot then leaves the field out).
    pub fn is_unused(&self) -> bool {
        self.statements.is_empty() && self.summary == ObservationSummary::default()
    }
}

/// How much of its values one sighting's text showed ([`ObservationBuilder::add_tuple`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The whole text, with its values as literals (or filled from a log's `parameters:`).
    Whole,
    /// Cut at `track_activity_query_size`: the values after the cut are unknown. A cut text
    /// counts as cut only, whatever it showed before the cut.
    Cut,
    /// Whole, with `$n` where values would be: bound server-side (extended protocol).
    Bound,
}

impl Seen {
    /// Cut when `truncated`, else bound when the text had `$n` placeholders, else whole.
    pub fn of(truncated: bool, bound: bool) -> Seen {
        if truncated {
            Seen::Cut
        } else if bound {
            Seen::Bound
        } else {
            Seen::Whole
        }
    }
}

/// Builds [`ObservedValues`] from single sightings, with bounded memory: at most
/// [`MAX_TUPLES`] × 4 distinct tuples per statement are held while counting (the rarest are
/// folded into `other_samples` when the bound is reached), and only statements of the workload.
#[derive(Debug, Default)]
pub struct ObservationBuilder {
    statements: BTreeMap<i64, Counting>,
    /// Sampled texts that matched no statement known when they were seen (a statement that
    /// first ran during the window), held to be matched against the window's last reading.
    pending: std::collections::HashMap<(Option<i64>, String, bool), u64>,
    /// Bytes of text in `pending`.
    pending_bytes: usize,
    /// The summary, filled by the sources.
    pub summary: ObservationSummary,
}

#[derive(Debug, Default)]
struct Counting {
    samples: BTreeMap<ValueSource, u64>,
    tuples: BTreeMap<(Vec<Option<String>>, ValueSource), u64>,
    other: u64,
    truncated: u64,
    hidden: u64,
    values: BTreeMap<(Option<u32>, Option<String>, String, ValueSource), u64>,
}

const HOLD_TUPLES: usize = MAX_TUPLES * 4;
/// At most this many distinct unmatched texts are held for the last reading, and at most this
/// much text: beyond, a sample is counted unmatched at once (memory stays bounded however many
/// connections run however many statements).
const PENDING_TEXTS: usize = 1024;
const PENDING_BYTES: usize = 4 << 20;
const HOLD_VALUES: usize = MAX_VALUES * 4;

/// Fold the lightest half of `m` into the returned weight (bounded counting).
fn fold_lightest<K: Ord>(m: &mut BTreeMap<K, u64>) -> u64 {
    let mut ws: Vec<u64> = m.values().copied().collect();
    ws.sort_unstable();
    let cut = ws.get(ws.len() / 2).copied().unwrap_or(0);
    let before: u64 = m.values().sum();
    m.retain(|_, w| *w > cut);
    before - m.values().sum::<u64>()
}

impl ObservationBuilder {
    /// Count one execution of `queryid` seen with `values` (`None` where not visible), its
    /// text `seen` whole, cut or with `$n` placeholders. A sample is counted once: cut (also a
    /// value too long to keep, or no value left visible in a whole text: its last value was
    /// dropped because the text may end at the cut), else bound server-side when no value
    /// is visible, else with its values.
    pub fn add_tuple(
        &mut self,
        queryid: i64,
        values: Vec<Option<String>>,
        source: ValueSource,
        weight: u64,
        seen: Seen,
    ) {
        let c = self.statements.entry(queryid).or_default();
        let long = values
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.len() > MAX_VALUE_BYTES));
        let values: Vec<Option<String>> = values
            .into_iter()
            .map(|v| v.filter(|v| v.len() <= MAX_VALUE_BYTES))
            .collect();
        let none_visible = !values.is_empty() && values.iter().all(|v| v.is_none());
        let cut = seen == Seen::Cut || long || (none_visible && seen == Seen::Whole);
        if cut {
            c.truncated += weight;
        }
        if none_visible {
            if !cut {
                c.hidden += weight;
            }
            return;
        }
        *c.samples.entry(source).or_default() += weight;
        let key = (values, source);
        if let Some(w) = c.tuples.get_mut(&key) {
            *w += weight;
            return;
        }
        if c.tuples.len() >= HOLD_TUPLES {
            // Fold the lightest half into `other` so counting goes on in bounded memory.
            c.other += fold_lightest(&mut c.tuples);
        }
        c.tuples.insert(key, weight);
    }

    /// Hold a sampled text that matched no statement yet (`cut`: it may have been cut at
    /// `track_activity_query_size`), to be matched by [`ObservationBuilder::resolve_pending`]
    /// against a later reading. Counted unmatched at once when the bounds are reached.
    pub fn hold_unmatched(&mut self, query_id: Option<i64>, text: &str, cut: bool) {
        let key = (query_id, text.to_string(), cut);
        if let Some(n) = self.pending.get_mut(&key) {
            *n += 1;
        } else if self.pending.len() < PENDING_TEXTS
            && self.pending_bytes + text.len() <= PENDING_BYTES
        {
            self.pending_bytes += text.len();
            self.pending.insert(key, 1);
        } else {
            self.summary.unmatched_samples += 1;
        }
    }

    /// How many distinct unmatched texts are held.
    pub fn held_texts(&self) -> usize {
        self.pending.len()
    }

    /// Match the held texts with `matcher` (query_id, text, cut → the statement's queryid, its
    /// extracted values and how much of them the text showed); what still matches nothing is
    /// counted unmatched.
    pub fn resolve_pending(
        &mut self,
        source: ValueSource,
        mut matcher: impl FnMut(Option<i64>, &str, bool) -> Option<(i64, Vec<Option<String>>, Seen)>,
    ) {
        let mut held: Vec<_> = std::mem::take(&mut self.pending).into_iter().collect();
        self.pending_bytes = 0;
        held.sort();
        for ((query_id, text, cut), n) in held {
            match matcher(query_id, &text, cut) {
                Some((queryid, values, seen)) => self.add_tuple(queryid, values, source, n, seen),
                None => self.summary.unmatched_samples += n,
            }
        }
    }

    /// Count a value of one parameter or column (pg_qualstats).
    pub fn add_value(&mut self, queryid: i64, value: ObservedValue) {
        let c = self.statements.entry(queryid).or_default();
        if value.value.len() > MAX_VALUE_BYTES {
            c.truncated += value.weight;
            return;
        }
        *c.samples.entry(value.source).or_default() += value.weight;
        let key = (value.param, value.column, value.value, value.source);
        if let Some(w) = c.values.get_mut(&key) {
            *w += value.weight;
            return;
        }
        if c.values.len() >= HOLD_VALUES {
            c.other += fold_lightest(&mut c.values);
        }
        c.values.insert(key, value.weight);
    }

    /// The sorted, bounded result.
    pub fn finish(mut self) -> ObservedValues {
        self.resolve_pending(ValueSource::Activity, |_, _, _| None);
        let statements = self
            .statements
            .into_iter()
            .filter(|(_, c)| {
                !c.tuples.is_empty() || !c.values.is_empty() || c.hidden > 0 || c.truncated > 0
            })
            .map(|(queryid, c)| {
                let mut tuples: Vec<ObservedTuple> = c
                    .tuples
                    .into_iter()
                    .map(|((values, source), weight)| ObservedTuple {
                        values,
                        weight,
                        source,
                    })
                    .collect();
                tuples.sort_by(|a, b| {
                    b.weight
                        .cmp(&a.weight)
                        .then_with(|| a.values.cmp(&b.values))
                        .then_with(|| a.source.cmp(&b.source))
                });
                let other: u64 = tuples.iter().skip(MAX_TUPLES).map(|t| t.weight).sum();
                tuples.truncate(MAX_TUPLES);
                let mut values: Vec<ObservedValue> = c
                    .values
                    .into_iter()
                    .map(|((param, column, value, source), weight)| ObservedValue {
                        param,
                        column,
                        value,
                        weight,
                        source,
                    })
                    .collect();
                values.sort_by(|a, b| {
                    b.weight
                        .cmp(&a.weight)
                        .then_with(|| a.column.cmp(&b.column))
                        .then_with(|| a.param.cmp(&b.param))
                        .then_with(|| a.value.cmp(&b.value))
                });
                let over: u64 = values.iter().skip(MAX_VALUES).map(|v| v.weight).sum();
                values.truncate(MAX_VALUES);
                ObservedStatement {
                    queryid,
                    samples: c.samples,
                    tuples,
                    other_samples: c.other + other + over,
                    truncated_samples: c.truncated,
                    hidden_samples: c.hidden,
                    values,
                }
            })
            .collect();
        ObservedValues {
            statements,
            summary: self.summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn tuples_are_counted_sorted_and_bounded() {
        let mut b = ObservationBuilder::default();
        for _ in 0..5 {
            b.add_tuple(
                7,
                vec![s("pending"), s("100")],
                ValueSource::Activity,
                1,
                Seen::Whole,
            );
        }
        b.add_tuple(
            7,
            vec![s("shipped"), s("100")],
            ValueSource::Activity,
            1,
            Seen::Cut,
        );
        b.add_tuple(7, vec![None, None], ValueSource::Activity, 1, Seen::Bound);
        for i in 0..1000 {
            b.add_tuple(
                9,
                vec![s(&i.to_string())],
                ValueSource::Activity,
                1,
                Seen::Whole,
            );
        }
        let o = b.finish();
        let st = o.get(7).expect("statement 7");
        assert_eq!(st.total(), 6);
        assert_eq!(st.hidden_samples, 1);
        assert_eq!(st.truncated_samples, 1);
        assert_eq!(st.tuples[0].values[0].as_deref(), Some("pending"));
        assert_eq!(st.tuples[0].weight, 5);
        assert_eq!(
            st.param_values(1),
            vec![("pending".to_string(), 5), ("shipped".to_string(), 1)]
        );
        let nine = o.get(9).expect("statement 9");
        assert_eq!(nine.tuples.len(), MAX_TUPLES);
        assert_eq!(
            nine.tuples.iter().map(|t| t.weight).sum::<u64>() + nine.other_samples,
            1000
        );
        assert!(o.get(8).is_none());
    }

    /// Memory bounded by construction: values past [`MAX_VALUE_BYTES`] are not kept, and
    /// per-parameter values (pg_qualstats) are folded like tuples.
    #[test]
    fn long_values_and_many_distinct_values_stay_bounded() {
        let mut b = ObservationBuilder::default();
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        b.add_tuple(
            1,
            vec![s(&long), s("7")],
            ValueSource::Activity,
            1,
            Seen::Whole,
        );
        b.add_tuple(1, vec![s(&long)], ValueSource::Activity, 1, Seen::Whole);
        for i in 0..10_000 {
            b.add_value(
                2,
                ObservedValue {
                    param: None,
                    column: Some("t.c".into()),
                    value: format!("v{i}"),
                    weight: 1,
                    source: ValueSource::Qualstats,
                },
            );
            assert!(b.statements[&2].values.len() <= HOLD_VALUES);
        }
        b.add_value(
            2,
            ObservedValue {
                param: None,
                column: Some("t.c".into()),
                value: long.clone(),
                weight: 1,
                source: ValueSource::Qualstats,
            },
        );
        let o = b.finish();
        let one = o.get(1).expect("statement 1");
        assert_eq!(one.tuples.len(), 1, "{one:?}");
        assert_eq!(one.tuples[0].values, vec![None, s("7")]);
        assert_eq!(
            one.hidden_samples, 0,
            "a long value is not bound server-side"
        );
        assert_eq!(one.truncated_samples, 2);
        let two = o.get(2).expect("statement 2");
        assert!(!two.values.is_empty() && two.values.len() <= MAX_VALUES);
        assert_eq!(
            two.values.iter().map(|v| v.weight).sum::<u64>() + two.other_samples,
            10_000
        );
        assert_eq!(two.truncated_samples, 1);
        assert!(!serde_json::to_string(&o).expect("json").contains(&long));
    }

    /// Review 3: 163 samples of a psycopg2 statement cut at 1 kB before its values read "163
    /// samples cut …; 163 samples bound server-side". Each sample counts once: cut, or bound
    /// (only with `$n` in a text that was not cut).
    #[test]
    fn a_sample_counts_as_cut_or_bound_never_both() {
        let mut b = ObservationBuilder::default();
        b.add_tuple(1, vec![None, None], ValueSource::Activity, 163, Seen::Cut);
        b.add_tuple(2, vec![None, None], ValueSource::Activity, 4, Seen::Bound);
        b.add_tuple(2, vec![s("a"), None], ValueSource::Activity, 1, Seen::Cut);
        // No value left visible in a whole text: its last value was dropped at a possible cut.
        b.add_tuple(3, vec![None], ValueSource::Activity, 2, Seen::Whole);
        let o = b.finish();
        let one = o
            .get(1)
            .expect("a statement seen only cut is still reported");
        assert_eq!((one.truncated_samples, one.hidden_samples), (163, 0));
        assert_eq!(one.total(), 0);
        let two = o.get(2).expect("statement 2");
        assert_eq!((two.truncated_samples, two.hidden_samples), (1, 4));
        assert_eq!(two.param_values(1), vec![("a".to_string(), 1)]);
        let three = o.get(3).expect("statement 3");
        assert_eq!((three.truncated_samples, three.hidden_samples), (2, 0));
        assert_eq!(Seen::of(true, true), Seen::Cut);
        assert_eq!(Seen::of(false, true), Seen::Bound);
        assert_eq!(Seen::of(false, false), Seen::Whole);
    }

    #[test]
    fn serde_round_trip() {
        let mut b = ObservationBuilder::default();
        b.add_value(
            3,
            ObservedValue {
                param: None,
                column: Some("shop_order.status".into()),
                value: "pending".into(),
                weight: 2,
                source: ValueSource::Qualstats,
            },
        );
        let o = b.finish();
        let j = serde_json::to_string(&o).expect("json");
        let back: ObservedValues = serde_json::from_str(&j).expect("parse");
        assert_eq!(back, o);
        assert!(j.contains("\"qualstats\""));
    }
}
