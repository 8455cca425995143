//! Sampling `pg_stat_activity`: the statements the database's backends are running right now,
//! with the literals the application sent, matched to their pg_stat_statements entries.
//!
//! Stage: collect (I/O at the edge; one read-only query per round). Must not hold more than one
//! round's rows: each text is matched as it arrives and only counts are kept
//! ([`ObservationBuilder`] bounds them). Invariant: one sample per active backend per round, so
//! a statement's share of the samples is its share of the database's running time.
//!
//! Memory: one round's rows (the active backends only, each text at most
//! `track_activity_query_size`), the memo of matched texts (at most [`MEMO`] entries and
//! [`MEMO_BYTES`] of texts, cleared when either is reached) and the builder's bounded counts;
//! idle connections cost nothing (the query reads only `state = 'active'`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::sql;
use crate::model::observed::{ObservationBuilder, ValueSource};
use crate::model::ServerInfo;
use crate::parse::literals::{Matched, ShapeIndex};
use crate::pg::PgError;

/// Default time between two rounds.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(15);
/// Texts whose match is remembered (a long statement is seen in many rounds).
pub const MEMO: usize = 4096;
/// Bytes of texts whose match is remembered (a match holds at most its text's bytes of values).
pub const MEMO_BYTES: usize = 16 << 20;

/// What the server allows the sampler to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySettings {
    /// `track_activity_query_size` in bytes: longer texts are cut there.
    pub track_activity_query_size: Option<u32>,
    /// `pg_stat_activity.query_id` is filled (PG14+ with `compute_query_id` on or auto).
    pub query_id: bool,
    /// The role may read other roles' texts (`pg_read_all_stats`, in `pg_monitor`).
    pub read_all_stats: bool,
}

/// Read what the sampler needs to know about the server.
pub async fn settings(client: &Client, server: &ServerInfo) -> Result<ActivitySettings, PgError> {
    let r = client
        .query_one(sql::ACTIVITY_SETTINGS, &[])
        .await
        .map_err(|e| PgError::query("reading activity settings", e))?;
    let compute: Option<String> = r.get("compute_query_id");
    Ok(ActivitySettings {
        track_activity_query_size: r
            .get::<_, Option<i32>>("track_activity_query_size")
            .map(|v| v.max(0) as u32),
        query_id: server.has_activity_query_id() && compute.is_some_and(|c| c != "off"),
        read_all_stats: r.get::<_, Option<bool>>("read_all_stats").unwrap_or(false),
    })
}

/// Samples `pg_stat_activity` into an [`ObservationBuilder`].
pub struct ActivitySampler<'a> {
    index: &'a ShapeIndex,
    settings: ActivitySettings,
    /// `pg_stat_activity.query_id` exists ([`ServerInfo::has_activity_query_id`]).
    has_query_id: bool,
    interval: Duration,
    memo: HashMap<u64, Option<Matched>>,
    memo_bytes: usize,
}

impl<'a> ActivitySampler<'a> {
    /// A sampler matching texts against `index` (the workload's statements).
    pub fn new(
        index: &'a ShapeIndex,
        settings: ActivitySettings,
        server: &ServerInfo,
        interval: Duration,
    ) -> ActivitySampler<'a> {
        ActivitySampler {
            index,
            settings,
            has_query_id: server.has_activity_query_id(),
            interval: interval.max(Duration::from_millis(1)),
            memo: HashMap::new(),
            memo_bytes: 0,
        }
    }

    /// Whether a text of this length may have been cut at `track_activity_query_size` (the
    /// server keeps at most size − 1 bytes, cut on a character boundary).
    fn may_be_cut(&self, len: usize) -> bool {
        self.settings
            .track_activity_query_size
            .is_some_and(|size| len + 4 >= size as usize)
    }

    /// Count one running text (pure: what a round does with each row).
    pub fn record(&mut self, query_id: Option<i64>, text: &str, out: &mut ObservationBuilder) {
        out.summary.activity_samples += 1;
        let cut = self.may_be_cut(text.len());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (query_id, text).hash(&mut h);
        let key = h.finish();
        let matched = match self.memo.get(&key) {
            Some(m) => m.clone(),
            None => {
                let m = self.index.match_text(text, query_id, cut);
                if self.memo.len() >= MEMO || self.memo_bytes + text.len() > MEMO_BYTES {
                    self.memo.clear();
                    self.memo_bytes = 0;
                }
                self.memo_bytes += text.len();
                self.memo.insert(key, m.clone());
                m
            }
        };
        match matched {
            Some(m) => {
                let seen = m.extracted.seen();
                out.add_tuple(
                    m.queryid,
                    m.extracted.values,
                    ValueSource::Activity,
                    1,
                    seen,
                )
            }
            None => out.hold_unmatched(query_id, text, cut),
        }
    }

    /// One round: read the running statements and count them.
    pub async fn round(
        &mut self,
        client: &Client,
        out: &mut ObservationBuilder,
    ) -> Result<(), PgError> {
        let q = if self.has_query_id {
            sql::ACTIVITY
        } else {
            sql::ACTIVITY_PRE14
        };
        let rows = client
            .query(q, &[])
            .await
            .map_err(|e| PgError::query("sampling pg_stat_activity", e))?;
        out.summary.activity_rounds += 1;
        for r in rows {
            let query_id: Option<i64> = r.get(0);
            let text: Option<String> = r.get(1);
            if let Some(text) = text {
                self.record(query_id, &text, out);
            }
        }
        Ok(())
    }

    /// Sample every `interval` until `deadline`; the time sampled lands in `out.summary`.
    pub async fn run_until(
        &mut self,
        client: &Client,
        deadline: Instant,
        out: &mut ObservationBuilder,
    ) -> Result<(), PgError> {
        let start = Instant::now();
        out.summary.track_activity_query_size = self.settings.track_activity_query_size;
        out.summary.query_id = self.settings.query_id;
        if !self.settings.read_all_stats {
            out.summary.notes.push(
                "the role cannot read other roles' running statements: only its own were sampled\n(as a superuser: GRANT pg_monitor TO <role>;)".into(),
            );
        }
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while Instant::now() < deadline {
            tick.tick().await;
            if Instant::now() >= deadline {
                break;
            }
            self.round(client, out).await?;
        }
        out.summary.activity_seconds += start.elapsed().as_secs_f64();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Statement, Workload};

    fn pg15() -> ServerInfo {
        ServerInfo {
            version_num: 150000,
            ..ServerInfo::default()
        }
    }

    #[test]
    fn record_counts_matches_and_misses() {
        let wl = Workload {
            statements: vec![Statement::once(5, "SELECT * FROM t WHERE s = $1 LIMIT $2")],
            ..Default::default()
        };
        let ix = ShapeIndex::new(&wl);
        let settings = ActivitySettings {
            track_activity_query_size: Some(30),
            query_id: false,
            read_all_stats: true,
        };
        let mut s = ActivitySampler::new(&ix, settings, &pg15(), DEFAULT_INTERVAL);
        let mut b = ObservationBuilder::default();
        s.record(None, "SELECT * FROM t WHERE s = 'a' LIMIT 5", &mut b);
        s.record(None, "SELECT * FROM t WHERE s = 'a' LIMIT 5", &mut b);
        // Cut at 30 bytes: the status is still visible.
        s.record(None, "SELECT * FROM t WHERE s = 'b' ", &mut b);
        s.record(None, "SELECT 1", &mut b);
        let o = b.finish();
        assert_eq!(o.summary.activity_samples, 4);
        assert_eq!(o.summary.unmatched_samples, 1);
        let st = o.get(5).expect("statement");
        assert_eq!(st.param_values(1), vec![("a".into(), 2), ("b".into(), 1)]);
        assert_eq!(st.truncated_samples, 1);
    }

    #[test]
    fn a_statement_first_seen_during_the_window_is_matched_at_the_end() {
        // The first reading knows one statement; the queue page starts during the window.
        let first = Workload {
            statements: vec![Statement::once(5, "SELECT * FROM t WHERE s = $1 LIMIT $2")],
            ..Default::default()
        };
        let ix = ShapeIndex::new(&first);
        let settings = ActivitySettings {
            track_activity_query_size: Some(1024),
            query_id: false,
            read_all_stats: true,
        };
        let mut s = ActivitySampler::new(&ix, settings, &pg15(), DEFAULT_INTERVAL);
        let mut b = ObservationBuilder::default();
        let queue = "SELECT * FROM q WHERE status = 'pending' ORDER BY created_at LIMIT 100";
        for _ in 0..3 {
            s.record(None, queue, &mut b);
        }
        s.record(None, "SELECT 1", &mut b);
        let mut last = first.clone();
        last.statements.push(Statement::once(
            7,
            "SELECT * FROM q WHERE status = $1 ORDER BY created_at LIMIT $2",
        ));
        let last_ix = ShapeIndex::new(&last);
        b.resolve_pending(ValueSource::Activity, |qid, text, cut| {
            last_ix.match_text(text, qid, cut).map(Matched::sighting)
        });
        let o = b.finish();
        assert_eq!(o.summary.activity_samples, 4);
        assert_eq!(o.summary.unmatched_samples, 1);
        let st = o.get(7).expect("the late statement's values");
        assert_eq!(st.param_values(1), vec![("pending".into(), 3)]);
    }

    #[test]
    fn held_texts_are_bounded() {
        let ix = ShapeIndex::new(&Workload::default());
        let settings = ActivitySettings {
            track_activity_query_size: Some(1024),
            query_id: false,
            read_all_stats: true,
        };
        let mut s = ActivitySampler::new(&ix, settings, &pg15(), DEFAULT_INTERVAL);
        let mut b = ObservationBuilder::default();
        for i in 0..5000 {
            s.record(None, &format!("SELECT {i} FROM t{i}"), &mut b);
        }
        assert_eq!(b.held_texts(), 1024);
        let o = b.finish();
        assert_eq!(o.summary.activity_samples, 5000);
        assert_eq!(o.summary.unmatched_samples, 5000);
    }
}
