//! What the server log files (`--log`) gave: statement executions with their texts, values and
//! durations, and what was skipped. Read by `collect::log`, kept in the [`super::Snapshot`].
//!
//! Stage: none (plain data). Must not do I/O. Invariant: entries keep the text and values
//! exactly as the server logged them; matching them to pg_stat_statements is the consumer's job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The three formats of PostgreSQL's server log (`log_destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Plain text lines, each behind `log_line_prefix`; continuation lines start with a tab.
    Stderr,
    /// `csvlog`: one CSV record per message.
    Csvlog,
    /// `jsonlog` (PostgreSQL 15+): one JSON object per line.
    Jsonlog,
}

impl LogFormat {
    /// The name PostgreSQL uses for it (`log_destination`).
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Stderr => "stderr",
            LogFormat::Csvlog => "csvlog",
            LogFormat::Jsonlog => "jsonlog",
        }
    }
}

/// Which kind of log message an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogEntryKind {
    /// `statement: …` (simple protocol: the text carries its literals).
    Statement,
    /// `execute <name>: …` (extended protocol: `$n` in the text, values in
    /// [`LogEntry::parameters`]).
    Execute,
    /// auto_explain's `plan:` entry (its `Query Text`). The same execution may also have a
    /// `Statement`/`Execute` entry when `log_min_duration_statement` logged it too.
    AutoExplain,
}

/// One value of a `parameters: $1 = '…'` detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedParameter {
    /// `n` of `$n`.
    pub position: u32,
    /// The value as the server logged it (quotes removed, `''` read as `'`); `None` is `NULL`.
    /// A value cut by `log_parameter_max_length` ends in `...`.
    pub value: Option<String>,
}

/// One statement execution read from a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The file's index in [`LogReading::files`].
    pub file: usize,
    /// The line the message starts on (1-based).
    pub line: u64,
    /// The file's format.
    pub format: LogFormat,
    /// Which message it came from.
    pub kind: LogEntryKind,
    /// The database, when the format or `log_line_prefix` (`%d`) carries it.
    pub database: Option<String>,
    /// The server's duration in milliseconds; `None` for a `log_statement` line whose duration
    /// was not logged.
    pub duration_ms: Option<f64>,
    /// The statement text as sent: with literals (simple protocol) or `$n` (extended).
    pub text: String,
    /// Server-side parameter values (extended protocol), in the order logged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<LoggedParameter>,
    /// The query identifier (same as pg_stat_statements' `queryid`) when logged: jsonlog and
    /// csvlog (PostgreSQL 14+) or `%Q` in `log_line_prefix`; `None` when not logged or 0.
    pub query_id: Option<i64>,
}

/// What was read from one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    /// The path as given.
    pub path: String,
    /// Its format (detected).
    pub format: LogFormat,
    /// For stderr: the `log_line_prefix` used to read database names (given or detected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_prefix: Option<String>,
    /// Entries read from it.
    pub entries: usize,
    /// Lines not turned into entries, by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// Everything read from the `--log` files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogReading {
    /// The files, in the order given.
    pub files: Vec<LogFile>,
    /// Entries of all files, in file order then line order.
    pub entries: Vec<LogEntry>,
    /// Warnings for the user (one line each, with the fix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl LogReading {
    /// No file was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.entries.is_empty()
    }

    /// One line for the user: `logs: 12 entries from 2 files (340 lines skipped: 300 other
    /// message, 40 extended-protocol bind step)`.
    pub fn summary(&self) -> String {
        let skipped = self.skipped();
        let total: u64 = skipped.values().sum();
        let mut s = format!(
            "logs: {} entries from {} file{}",
            self.entries.len(),
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" }
        );
        if total > 0 {
            let mut by: Vec<(&String, &u64)> = skipped.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = by.iter().map(|(r, n)| format!("{n} {r}")).collect();
            s.push_str(&format!(" ({total} skipped: {})", parts.join(", ")));
        }
        s
    }

    /// Skipped lines of all files, by reason.
    pub fn skipped(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for f in &self.files {
            for (r, n) in &f.skipped {
                *all.entry(r.clone()).or_insert(0) += n;
            }
        }
        all
    }
}
