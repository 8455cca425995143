//! What the observation window saw: which counters became the workload (the window's deltas or
//! the cumulative figures) and why, the traffic in the window, where each statement runs
//! (replica, primary, both) and where the write rates came from.
//!
//! Plain data, written by `collect` (see `collect::window`), read by `select`, `report`, `emit`
//! and `verify`. Invariant: every field is deterministic for a given pair of readings (sorted
//! by queryid), and old snapshots without an observation still load (`Option`, serde default).

use serde::{Deserialize, Serialize};

use super::Statement;

/// Which counters became the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// pg_stat_statements deltas over the observation window: today's mix.
    Window,
    /// The cumulative counters since pg_stat_statements was last reset.
    Cumulative,
}

/// Where a statement runs, when the primary's pg_stat_statements was read with the replica's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunsOn {
    /// Only on the analysed server (the replica).
    Replica,
    /// Only on the primary.
    Primary,
    /// On both.
    Both,
}

impl RunsOn {
    /// `replica`, `primary`, `both`.
    pub fn label(self) -> &'static str {
        match self {
            RunsOn::Replica => "replica",
            RunsOn::Primary => "primary",
            RunsOn::Both => "both",
        }
    }
}

/// The share of the workload that runs in one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerShare {
    /// Where.
    pub runs_on: RunsOn,
    /// Statements.
    pub statements: usize,
    /// Calls (over the basis).
    pub calls: i64,
    /// Execution time, ms (over the basis).
    pub total_time_ms: f64,
}

/// Whose pg_stat_statements was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryStatements {
    /// The analysed server is the primary: its statements are the whole workload.
    Analysed,
    /// A replica with `--primary-url`: both servers' statements, merged.
    Merged,
    /// A replica without `--primary-url`: the primary's own statements were not seen.
    NotSeen,
    /// `--primary-url` was given but its pg_stat_statements could not be read.
    Unreadable,
}

/// Where the write rates of the write-cost model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WriteRates {
    /// `pg_stat_user_tables` deltas over the observation window, on the primary.
    Window {
        /// Seconds watched.
        seconds: f64,
    },
    /// The cumulative counters since the database's statistics were reset.
    SinceReset {
        /// Seconds the counters cover.
        seconds: f64,
    },
    /// The rows of INSERT/UPDATE/DELETE statements in pg_stat_statements over its own window
    /// (the table counters have no reset time).
    Statements {
        /// Seconds pg_stat_statements covers.
        seconds: f64,
    },
    /// No rate can be known: write cost is unknown, never 0.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl WriteRates {
    /// Whether rates are known.
    pub fn known(&self) -> bool {
        !matches!(self, WriteRates::Unknown { .. })
    }

    /// One line for reports and migration headers.
    pub fn describe(&self) -> String {
        match self {
            WriteRates::Window { seconds } => format!(
                "measured on the primary over the {} observation window (pg_stat_user_tables deltas)",
                seconds_label(*seconds)
            ),
            WriteRates::SinceReset { seconds } => format!(
                "the primary's cumulative counters since their last reset ({} ago)",
                seconds_label(*seconds)
            ),
            WriteRates::Statements { seconds } => format!(
                "rows of the INSERT/UPDATE/DELETE statements in pg_stat_statements over {} (the table counters were never reset)",
                seconds_label(*seconds)
            ),
            WriteRates::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

/// `60 s`, `2.5 min`, `3.1 h`, `4.2 days`.
pub fn seconds_label(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}

/// What the observation window saw and decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Seconds watched (0: no window, `--window 0`).
    pub window_s: f64,
    /// Which counters became the workload.
    pub basis: Basis,
    /// Why, in one sentence.
    pub why: String,
    /// Calls of the kept statements in the window.
    pub window_calls: i64,
    /// Statements with calls in the window.
    pub window_statements: usize,
    /// Whose pg_stat_statements was read.
    pub primary_statements: PrimaryStatements,
    /// Per statement, where it runs (only when both servers were read), sorted by queryid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs_on: Vec<(i64, RunsOn)>,
    /// The workload split by where it runs (only when both servers were read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<ServerShare>,
    /// The cumulative counters of the workload's statements at the end of the window (what
    /// `verify` takes deltas from), sorted by queryid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cumulative: Vec<Statement>,
}

impl Observation {
    /// Where a statement runs, when known.
    pub fn runs_on(&self, queryid: i64) -> Option<RunsOn> {
        self.runs_on
            .binary_search_by_key(&queryid, |(q, _)| *q)
            .ok()
            .map(|i| self.runs_on[i].1)
    }

    /// One line for the terminal and the report: the window, its traffic and the basis.
    pub fn summary(&self) -> String {
        let watched = if self.window_s > 0.0 {
            format!(
                "watched {}: {} calls of {} statements",
                seconds_label(self.window_s),
                self.window_calls,
                self.window_statements
            )
        } else {
            "no observation window (--window 0)".to_string()
        };
        let basis = match self.basis {
            Basis::Window => "the workload is the window's deltas",
            Basis::Cumulative => "the workload is the cumulative counters",
        };
        if self.window_s <= 0.0 && self.basis == Basis::Cumulative {
            // The reason would only repeat "--window 0".
            return format!("{watched}; {basis}");
        }
        format!("{watched}; {basis} ({})", self.why)
    }

    /// The note about the primary's statements, when there is one to make.
    pub fn primary_note(&self) -> Option<String> {
        match self.primary_statements {
            PrimaryStatements::Analysed => None,
            PrimaryStatements::Merged => {
                let part = |r: RunsOn| {
                    self.split
                        .iter()
                        .find(|s| s.runs_on == r)
                        .map(|s| format!("{} statements, {:.1} s", s.statements, s.total_time_ms / 1000.0))
                        .unwrap_or_else(|| "none".into())
                };
                Some(format!(
                    "the primary's pg_stat_statements was read with the replica's and merged (indexes are built on the primary and serve both): replica only {}; primary only {}; both {}",
                    part(RunsOn::Replica),
                    part(RunsOn::Primary),
                    part(RunsOn::Both)
                ))
            }
            PrimaryStatements::NotSeen => Some(
                "the analysed server is a replica and no --primary-url was given: the statements that run on the primary were not seen (add --primary-url to analyse them too)".into(),
            ),
            PrimaryStatements::Unreadable => Some(
                "the primary's pg_stat_statements could not be read: the statements that run on the primary were not seen".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(seconds_label(60.0), "60 s");
        assert_eq!(seconds_label(600.0), "10.0 min");
        assert!(WriteRates::Unknown { reason: "x".into() }
            .describe()
            .starts_with("unknown"));
        let o = Observation {
            window_s: 0.0,
            basis: Basis::Cumulative,
            why: "--window 0".into(),
            window_calls: 0,
            window_statements: 0,
            primary_statements: PrimaryStatements::NotSeen,
            runs_on: vec![(1, RunsOn::Primary), (5, RunsOn::Both)],
            split: vec![],
            cumulative: vec![],
        };
        assert_eq!(o.runs_on(5), Some(RunsOn::Both));
        assert_eq!(o.runs_on(2), None);
        assert!(o.primary_note().expect("note").contains("--primary-url"));
        // Without a window the reason is not repeated (a new user read "(--window 0)" twice).
        assert_eq!(
            o.summary(),
            "no observation window (--window 0); the workload is the cumulative counters"
        );
    }
}
