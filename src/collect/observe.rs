//! Observing parameter values: every source that can tell which values the application sends
//! for a statement's `$n`, run against one server and gathered in one [`ObservedValues`].
//!
//! Stage: collect (I/O at the edge). Must not change the server. Invariant: a source that
//! cannot run (not installed, no privilege) leaves a note with the fix and the run goes on.

use std::time::Instant;

use tokio_postgres::Client;

use super::activity::{self, ActivitySampler, DEFAULT_INTERVAL};
use crate::model::observed::{ObservationBuilder, ObservedValues, ValueSource};
use crate::model::Workload;
use crate::parse::literals::{Matched, ShapeIndex};
use crate::pg::PgError;

/// Read pg_qualstats (when installed) on `client`'s server, for the statements of `workload`,
/// without a window (`--window 0`: nothing is sampled). Notes land in `warnings`.
pub async fn observe(
    client: &Client,
    workload: &Workload,
    warnings: &mut Vec<String>,
) -> ObservedValues {
    let index = ShapeIndex::new(workload);
    let mut out = ObservationBuilder::default();
    super::qualstats::read(client, &index, &mut out).await;
    warnings.extend(out.summary.notes.iter().cloned());
    out.finish()
}

/// Sample `pg_stat_activity` on `client`'s server until `deadline` (the observation window),
/// matching what it sees against the statements of `workload` (the first reading of the
/// window), into `out`. A server that cannot be sampled leaves a note in `out` and nothing else.
pub async fn sample_until(
    client: &Client,
    server: &crate::model::ServerInfo,
    workload: &Workload,
    deadline: Instant,
    out: &mut ObservationBuilder,
) -> Result<(), PgError> {
    let index = ShapeIndex::new(workload);
    let settings = activity::settings(client, server).await?;
    let mut sampler = ActivitySampler::new(&index, settings, server, DEFAULT_INTERVAL);
    sampler.run_until(client, deadline, out).await
}

/// Finish an observation sampled during the window: read pg_qualstats (when installed) for
/// the final `workload`, and gather the notes into `warnings`.
pub async fn finish(
    client: &Client,
    workload: &Workload,
    mut out: ObservationBuilder,
    warnings: &mut Vec<String>,
) -> ObservedValues {
    let index = ShapeIndex::new(workload);
    // A statement that first ran during the window was not in the first reading the sampler
    // matched against: its held samples are matched against this (the last) reading now.
    out.resolve_pending(ValueSource::Activity, |query_id, text, cut| {
        index.match_text(text, query_id, cut).map(Matched::sighting)
    });
    super::qualstats::read(client, &index, &mut out).await;
    warnings.extend(out.summary.notes.iter().cloned());
    out.finish()
}

/// Finish what was sampled on another server during the window (the primary, with
/// `--primary-url`): held texts are matched against the final `workload`, its notes land in
/// `warnings`, each prefixed with `server`.
pub fn finish_sampled(
    workload: &Workload,
    mut out: ObservationBuilder,
    server: &str,
    warnings: &mut Vec<String>,
) -> ObservedValues {
    let index = ShapeIndex::new(workload);
    out.resolve_pending(ValueSource::Activity, |query_id, text, cut| {
        index.match_text(text, query_id, cut).map(Matched::sighting)
    });
    warnings.extend(out.summary.notes.iter().map(|n| format!("{server}: {n}")));
    let mut v = out.finish();
    v.summary.notes.clear();
    v
}

/// The parameter values in server-log entries (`--log`), matched to the statements of
/// `workload` as sampled texts are: a `statement:` entry by its literals, an `execute` entry by
/// its `parameters:` values, an auto_explain entry only from files that logged no statement
/// entries (the same execution is often logged both ways). Returns the values and how many
/// entries matched a statement.
pub fn observe_logs(
    workload: &Workload,
    logs: &crate::model::log::LogReading,
) -> (ObservedValues, usize) {
    use crate::model::log::LogEntryKind;
    let index = ShapeIndex::new(workload);
    let mut out = ObservationBuilder::default();
    let logged_statements: std::collections::BTreeSet<usize> = logs
        .entries
        .iter()
        .filter(|e| e.kind != LogEntryKind::AutoExplain)
        .map(|e| e.file)
        .collect();
    let mut matched = 0;
    for e in &logs.entries {
        if e.kind == LogEntryKind::AutoExplain && logged_statements.contains(&e.file) {
            continue;
        }
        let n = e.parameters.iter().map(|p| p.position).max().unwrap_or(0) as usize;
        let mut parameters: Vec<Option<String>> = vec![None; n];
        for p in &e.parameters {
            if p.position >= 1 {
                parameters[p.position as usize - 1].clone_from(&p.value);
            }
        }
        if record_text(
            &index,
            &mut out,
            &e.text,
            e.query_id,
            &parameters,
            ValueSource::Log,
        ) {
            matched += 1;
        }
    }
    (out.finish(), matched)
}

/// Count one text seen outside sampling (a log entry): `text` as the server logged it, with
/// literals, or with `$n` and the `parameters:` values in `parameters` (`parameters[i]` is
/// `$i+1`). The same matching as the sampler's: by `query_id` when given, else by shape. Returns
/// whether the text matched a statement of the workload.
pub fn record_text(
    index: &ShapeIndex,
    out: &mut ObservationBuilder,
    text: &str,
    query_id: Option<i64>,
    parameters: &[Option<String>],
    source: ValueSource,
) -> bool {
    let Some(m) = index.match_text(text, query_id, false) else {
        return false;
    };
    let seen = m.extracted.seen();
    let mut values = m.extracted.values;
    for (v, p) in values.iter_mut().zip(parameters) {
        if v.is_none() {
            v.clone_from(p);
        }
    }
    out.add_tuple(m.queryid, values, source, 1, seen);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Statement;

    #[test]
    fn log_entries_with_literals_or_parameters_feed_the_same_counts() {
        let wl = Workload {
            statements: vec![Statement::once(9, "SELECT * FROM t WHERE s = $1 LIMIT $2")],
            ..Default::default()
        };
        let ix = ShapeIndex::new(&wl);
        let mut b = ObservationBuilder::default();
        assert!(record_text(
            &ix,
            &mut b,
            "SELECT * FROM t WHERE s = 'pending' LIMIT 50",
            None,
            &[],
            ValueSource::Log
        ));
        assert!(record_text(
            &ix,
            &mut b,
            "SELECT * FROM t WHERE s = $1 LIMIT $2",
            None,
            &[Some("pending".into()), Some("50".into())],
            ValueSource::Log
        ));
        assert!(!record_text(
            &ix,
            &mut b,
            "SELECT 2",
            None,
            &[],
            ValueSource::Log
        ));
        let o = b.finish();
        let st = o.get(9).expect("statement");
        assert_eq!(st.param_values(1), vec![("pending".to_string(), 2)]);
        assert_eq!(st.samples.get(&ValueSource::Log), Some(&2));
    }

    #[test]
    fn log_entries_become_observed_values_merged_with_the_samples() {
        use crate::model::log::{LogEntry, LogEntryKind, LogFormat, LogReading, LoggedParameter};
        let wl = Workload {
            statements: vec![Statement::once(9, "SELECT * FROM t WHERE s = $1 LIMIT $2")],
            ..Default::default()
        };
        let entry = |kind, text: &str, params: &[(u32, &str)]| LogEntry {
            file: 0,
            line: 1,
            format: LogFormat::Csvlog,
            kind,
            database: None,
            duration_ms: Some(1.0),
            text: text.into(),
            parameters: params
                .iter()
                .map(|(p, v)| LoggedParameter {
                    position: *p,
                    value: Some(v.to_string()),
                })
                .collect(),
            query_id: None,
        };
        let logs = LogReading {
            files: vec![],
            entries: vec![
                entry(
                    LogEntryKind::Statement,
                    "SELECT * FROM t WHERE s = 'pending' LIMIT 50",
                    &[],
                ),
                entry(
                    LogEntryKind::Execute,
                    "SELECT * FROM t WHERE s = $1 LIMIT $2",
                    &[(1, "pending"), (2, "50")],
                ),
                // The same execution again, as auto_explain logged it: not counted twice.
                entry(
                    LogEntryKind::AutoExplain,
                    "SELECT * FROM t WHERE s = 'pending' LIMIT 50",
                    &[],
                ),
            ],
            warnings: vec![],
        };
        let (from_logs, matched) = observe_logs(&wl, &logs);
        assert_eq!(matched, 2);
        // Merged into what sampling saw: the same statement's counts add up.
        let mut b = ObservationBuilder::default();
        let ix = ShapeIndex::new(&wl);
        assert!(record_text(
            &ix,
            &mut b,
            "SELECT * FROM t WHERE s = 'shipped' LIMIT 50",
            None,
            &[],
            ValueSource::Activity
        ));
        let mut all = b.finish();
        all.merge(from_logs);
        let st = all.get(9).expect("statement");
        assert_eq!(st.samples.get(&ValueSource::Log), Some(&2));
        assert_eq!(st.samples.get(&ValueSource::Activity), Some(&1));
        assert_eq!(
            st.param_values(1),
            vec![("pending".to_string(), 2), ("shipped".to_string(), 1)]
        );
    }
}
