//! Server log files as a workload source: the statements PostgreSQL logged with their real
//! values (`--log FILE`).
//!
//! Stage `collect` (file I/O only, no database). Reads the three log formats of PostgreSQL:
//! stderr ([`stderr`], with a `log_line_prefix` given or detected), csvlog ([`csv`]) and jsonlog
//! ([`json`]); what a message means is decided in one place for all three ([`message`]):
//!
//! - `log_min_duration_statement` entries: `duration: 1.2 ms  statement: …` (texts with
//!   literals, simple protocol) and `duration: 1.2 ms  execute <name>: …` with a
//!   `DETAIL:  parameters: $1 = '…', $2 = NULL` (extended protocol, server-side parameters);
//! - `log_statement` entries (`statement: …`, `execute …:`) without a duration, completed by the
//!   bare `duration: 1.2 ms` line the same process logs after them when both settings are on;
//! - auto_explain entries (`duration: 1.2 ms  plan:` with `Query Text:`), text or JSON format.
//!
//! Must not panic on any input (the fuzz targets under `tests/fuzz/` feed it arbitrary bytes)
//! and must not hold a whole file in memory: files are read line by line. Invariant: every
//! message (or line outside a message) that does not end in an entry is counted under a skip
//! reason; nothing is dropped silently. It does not match texts to pg_stat_statements entries: that is the consumer's
//! job, with [`LogEntry::query_id`] where the server logged it.

pub mod csv;
pub mod json;
pub mod message;
pub mod prefix;
pub mod stderr;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Kind};

pub use crate::model::log::{
    LogEntry, LogEntryKind, LogFile, LogFormat, LogReading, LoggedParameter,
};
pub use prefix::LinePrefix;

/// Which files to read and how (validated: every file could be opened).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    /// The files (`--log`, repeatable).
    pub paths: Vec<PathBuf>,
    /// The server's `log_line_prefix` for stderr files (`--log-line-prefix`); detected when
    /// `None`.
    pub line_prefix: Option<String>,
}

impl LogOptions {
    /// Check that every file can be opened for reading, before any other work is done.
    /// Errors: [`Error::Usage`] naming the file.
    pub fn new(paths: Vec<PathBuf>, line_prefix: Option<String>) -> Result<LogOptions, Error> {
        for p in &paths {
            open(p)?;
        }
        Ok(LogOptions { paths, line_prefix })
    }
}

fn open(path: &Path) -> Result<std::fs::File, Error> {
    let message = |e: &dyn std::fmt::Display| {
        format!("cannot read log file {:?}: {e}", path.display().to_string())
    };
    let unreadable = |e: std::io::Error| Error::caused(Kind::Usage, message(&e), e);
    let f = std::fs::File::open(path).map_err(unreadable)?;
    let meta = f.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(Error::Usage(message(&"it is a directory")));
    }
    Ok(f)
}

/// Longest record or line read (bytes); longer ones are skipped. Statements of real
/// applications are far shorter; this bounds memory on a damaged file.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Skip reasons, as counted in [`LogFile::skipped`].
pub mod reason {
    /// A stderr line without a `SEVERITY:  ` marker and not a continuation (tab) line.
    pub const NOT_A_LOG_LINE: &str = "not a log line";
    /// A continuation line with no message before it.
    pub const STRAY_CONTINUATION: &str = "continuation line without a message";
    /// A csvlog record that does not have the csvlog columns.
    pub const NOT_CSVLOG: &str = "not a csvlog record";
    /// A jsonlog line that is not a JSON object with a message.
    pub const NOT_JSONLOG: &str = "not a jsonlog object";
    /// A line or record longer than [`super::MAX_RECORD_BYTES`].
    pub const TOO_LONG: &str = "record too long";
    /// A message that is not about a statement (connections, checkpoints, errors…).
    pub const OTHER_MESSAGE: &str = "other message";
    /// The extended protocol's parse step (its execute entry carries the statement).
    pub const PARSE_STEP: &str = "extended-protocol parse step";
    /// The extended protocol's bind step (its execute entry carries the values).
    pub const BIND_STEP: &str = "extended-protocol bind step";
    /// A `duration:` alone with no earlier statement of that process to attach it to.
    pub const LONE_DURATION: &str = "duration without a statement";
    /// A `duration:` message of a form not known.
    pub const UNKNOWN_DURATION: &str = "duration message not understood";
    /// An auto_explain plan in YAML or XML, or without a `Query Text`.
    pub const AUTO_EXPLAIN_UNREAD: &str = "auto_explain plan not read (use text or json format)";
    /// A `parameters:` detail that could not be read; the entry is kept without values.
    pub const PARAMETERS_UNREAD: &str = "parameters detail not understood (entry kept)";
    /// A compressed file.
    pub const COMPRESSED: &str = "compressed file (decompress it first)";
}

/// Counts skips and gathers entries while a file is read.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub file: usize,
    pub format: Option<LogFormat>,
    pub entries: Vec<LogEntry>,
    pub skipped: BTreeMap<String, u64>,
    /// Per process id: the index of its last entry still without a duration.
    pending: BTreeMap<i64, usize>,
}

impl Sink {
    pub(crate) fn new(file: usize, format: LogFormat) -> Sink {
        Sink {
            file,
            format: Some(format),
            ..Sink::default()
        }
    }

    pub(crate) fn skip(&mut self, reason: &str, lines: u64) {
        *self.skipped.entry(reason.to_string()).or_insert(0) += lines;
    }

    /// Take one whole message (all its lines) and record what it means.
    pub(crate) fn message(&mut self, m: message::Message<'_>, lines: u64) {
        let format = self.format.unwrap_or(LogFormat::Stderr);
        match message::interpret(&m) {
            message::Meaning::Entry(e) => {
                if let Some(r) = e.parameters_unread {
                    self.skip(r, 1);
                }
                let entry = LogEntry {
                    file: self.file,
                    line: m.line,
                    format,
                    kind: e.kind,
                    database: m.database.filter(|d| !d.is_empty()).map(str::to_string),
                    duration_ms: e.duration_ms,
                    text: e.text,
                    parameters: e.parameters,
                    query_id: m.query_id.filter(|q| *q != 0),
                };
                let idx = self.entries.len();
                match (m.pid, entry.duration_ms) {
                    (Some(pid), None) => {
                        self.pending.insert(pid, idx);
                    }
                    (Some(pid), Some(_)) => {
                        self.pending.remove(&pid);
                    }
                    _ => {}
                }
                self.entries.push(entry);
            }
            message::Meaning::Duration(ms) => {
                let waiting = m.pid.and_then(|pid| self.pending.remove(&pid));
                match waiting.and_then(|i| self.entries.get_mut(i)) {
                    Some(e) => e.duration_ms = Some(ms),
                    None => self.skip(reason::LONE_DURATION, lines),
                }
            }
            message::Meaning::Skip(r) => {
                if let Some(pid) = m.pid {
                    self.pending.remove(&pid);
                }
                self.skip(r, lines)
            }
        }
    }
}

/// Read the files of `options`, in order. Errors: a file that cannot be opened or read
/// ([`Error::Usage`]); everything inside a file that cannot be understood is counted, never
/// an error.
pub fn read_logs(options: &LogOptions) -> Result<LogReading, Error> {
    let given = options.line_prefix.as_deref().map(LinePrefix::parse);
    let mut reading = LogReading::default();
    for (i, path) in options.paths.iter().enumerate() {
        let file = open(path)?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let shown = path.display().to_string();
        let (summary, entries, warning) = read_one(i, &shown, &mut reader, given.as_ref())
            .map_err(|e| {
                Error::caused(
                    Kind::Usage,
                    format!("cannot read log file {shown:?}: {e}"),
                    e,
                )
            })?;
        reading.entries.extend(entries);
        reading.files.push(summary);
        reading.warnings.extend(warning);
    }
    Ok(reading)
}

/// Read one log held in memory (tests, fuzzing). The format is detected as for a file named
/// `name`.
pub fn read_bytes(name: &str, bytes: &[u8], line_prefix: Option<&str>) -> LogReading {
    let given = line_prefix.map(LinePrefix::parse);
    let mut reader = std::io::Cursor::new(bytes);
    let mut reading = LogReading::default();
    // Reading from memory cannot fail.
    if let Ok((summary, entries, warning)) = read_one(0, name, &mut reader, given.as_ref()) {
        reading.entries = entries;
        reading.files.push(summary);
        reading.warnings.extend(warning);
    }
    reading
}

/// Read one log of a known format held in memory (fuzzing each format on its own).
pub fn read_bytes_as(format: LogFormat, bytes: &[u8], line_prefix: Option<&str>) -> LogReading {
    let given = line_prefix.map(LinePrefix::parse);
    let mut reader = std::io::Cursor::new(bytes);
    let mut reading = LogReading::default();
    if let Ok((summary, entries, warning)) =
        read_format(0, "memory", format, &mut reader, given.as_ref())
    {
        reading.entries = entries;
        reading.files.push(summary);
        reading.warnings.extend(warning);
    }
    reading
}

type OneFile = (LogFile, Vec<LogEntry>, Option<String>);

fn read_one<R: BufRead>(
    index: usize,
    name: &str,
    reader: &mut R,
    given: Option<&LinePrefix>,
) -> std::io::Result<OneFile> {
    let head = reader.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(b"\x28\xb5\x2f\xfd") {
        let mut sink = Sink::new(index, LogFormat::Stderr);
        sink.skip(reason::COMPRESSED, 1);
        let summary = LogFile {
            path: name.to_string(),
            format: LogFormat::Stderr,
            line_prefix: None,
            entries: 0,
            skipped: sink.skipped,
        };
        return Ok((
            summary,
            vec![],
            Some(format!(
                "{name}: the file is compressed and was not read\n(decompress it first, e.g. gunzip)"
            )),
        ));
    }
    let format = detect(name, head);
    read_format(index, name, format, reader, given)
}

fn read_format<R: BufRead>(
    index: usize,
    name: &str,
    format: LogFormat,
    reader: &mut R,
    given: Option<&LinePrefix>,
) -> std::io::Result<OneFile> {
    let mut sink = Sink::new(index, format);
    let mut line_prefix = None;
    let mut warning = None;
    match format {
        LogFormat::Stderr => {
            let read = stderr::read(reader, given, &mut sink)?;
            line_prefix = read.prefix;
            if read.unmatched > 0 {
                warning = Some(format!(
                    "{name}: {} message(s) did not match {}, their database is unknown\n(give the server's setting: --log-line-prefix \"$(psql -Atc 'SHOW log_line_prefix')\")",
                    read.unmatched,
                    match &line_prefix {
                        Some(p) => format!("log_line_prefix {p:?}"),
                        None => "any known log_line_prefix".to_string(),
                    }
                ));
            }
        }
        LogFormat::Csvlog => csv::read(reader, &mut sink)?,
        LogFormat::Jsonlog => json::read(reader, &mut sink)?,
    }
    let summary = LogFile {
        path: name.to_string(),
        format,
        line_prefix,
        entries: sink.entries.len(),
        skipped: sink.skipped,
    };
    Ok((summary, sink.entries, warning))
}

/// The format of a file: by its name (`.csv`, `.json`), else by its first bytes.
pub fn detect(name: &str, head: &[u8]) -> LogFormat {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        return LogFormat::Csvlog;
    }
    if lower.ends_with(".json") {
        return LogFormat::Jsonlog;
    }
    let text = String::from_utf8_lossy(head);
    let first = text.trim_start();
    if first.starts_with('{') {
        LogFormat::Jsonlog
    } else if csv::looks_like_csvlog(first) {
        LogFormat::Csvlog
    } else {
        LogFormat::Stderr
    }
}

/// Read one line (without its `\n`/`\r\n`) into `buf`, as lossy UTF-8. `Ok(None)` at the end;
/// `Ok(Some(false))` when the line was longer than [`MAX_RECORD_BYTES`] (its rest is dropped).
pub(crate) fn next_line<R: BufRead>(
    reader: &mut R,
    bytes: &mut Vec<u8>,
    buf: &mut String,
) -> std::io::Result<Option<bool>> {
    bytes.clear();
    buf.clear();
    let limit = (MAX_RECORD_BYTES + 1) as u64;
    let n = reader.by_ref().take(limit).read_until(b'\n', bytes)?;
    if n == 0 {
        return Ok(None);
    }
    let mut ok = true;
    if bytes.len() > MAX_RECORD_BYTES && bytes.last() != Some(&b'\n') {
        ok = false;
        // Drop the rest of this line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let m = reader.by_ref().take(1 << 20).read_until(b'\n', &mut sink)?;
            if m == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    buf.push_str(&String::from_utf8_lossy(bytes));
    Ok(Some(ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_name_and_content() {
        assert_eq!(detect("postgresql.csv", b""), LogFormat::Csvlog);
        assert_eq!(detect("postgresql.json", b""), LogFormat::Jsonlog);
        assert_eq!(
            detect("x.log", b"\n{\"timestamp\":1}\n"),
            LogFormat::Jsonlog
        );
        assert_eq!(
            detect(
                "x.log",
                b"2024-01-01 00:00:00.000 UTC,\"u\",\"d\",12,\"[local]\",65a.1,1,\"SELECT\",2024-01-01 00:00:00 UTC,3/4,0,LOG,00000,\"duration: 1 ms\",,,,,,,,,\"psql\",\"client backend\",,0\n"
            ),
            LogFormat::Csvlog
        );
        assert_eq!(
            detect("x.log", b"2024-01-01 00:00:00.000 UTC [12] LOG:  x\n"),
            LogFormat::Stderr
        );
    }

    #[test]
    fn a_missing_file_is_a_usage_error_naming_it() {
        let e = LogOptions::new(vec![PathBuf::from("/nonexistent/pg.log")], None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(
            e.to_string()
                .starts_with("cannot read log file \"/nonexistent/pg.log\": "),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'));
        let dir = tempfile::tempdir().unwrap();
        let e = LogOptions::new(vec![dir.path().to_path_buf()], None).unwrap_err();
        assert!(e.to_string().ends_with("it is a directory"), "{e}");
    }

    #[test]
    fn a_compressed_file_is_counted_and_warned_about() {
        let r = read_bytes("postgresql.log.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3], None);
        assert!(r.entries.is_empty());
        assert_eq!(r.skipped().get(reason::COMPRESSED), Some(&1));
        assert!(r.warnings[0].contains("compressed"));
    }

    #[test]
    fn reads_files_in_order_with_file_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.json");
        std::fs::write(
            &a,
            "2024-01-01 00:00:00.000 UTC [7] LOG:  duration: 1.500 ms  statement: SELECT 1\n",
        )
        .unwrap();
        std::fs::write(
            &b,
            "{\"pid\":8,\"dbname\":\"shop\",\"error_severity\":\"LOG\",\"message\":\"duration: 2.000 ms  statement: SELECT 2\",\"query_id\":-5}\n",
        )
        .unwrap();
        let opts = LogOptions::new(vec![a, b], None).unwrap();
        let r = read_logs(&opts).unwrap();
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.files[0].format, LogFormat::Stderr);
        assert_eq!(r.files[0].line_prefix.as_deref(), Some("%m [%p] "));
        assert_eq!(r.files[1].format, LogFormat::Jsonlog);
        let got: Vec<_> = r
            .entries
            .iter()
            .map(|e| (e.file, e.text.as_str(), e.duration_ms, e.query_id))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "SELECT 1", Some(1.5), None),
                (1, "SELECT 2", Some(2.0), Some(-5))
            ]
        );
        assert_eq!(r.entries[1].database.as_deref(), Some("shop"));
    }
}
