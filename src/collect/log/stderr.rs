//! The stderr log format: `<log_line_prefix>SEVERITY:  message`, continuation lines of a
//! multi-line message starting with a tab, `DETAIL:`/`HINT:`/`CONTEXT:`/`STATEMENT:` lines of
//! the same message following it with the same prefix.
//!
//! Stage `collect` (reads a stream). Must not panic on any bytes (invalid UTF-8 is read
//! lossily). Invariant: a message is handed over only when all its lines were read: at the
//! next message, or at the end of the file.
//!
//! The end of the prefix is found without knowing the prefix: it is the first
//! `SEVERITY:  ` (a known severity word, a colon, two spaces) on a line that does not start
//! with a tab. The `log_line_prefix` (given, else detected from the first lines among the
//! common ones) is only needed to read the database, process id and query id out of it.

use std::io::BufRead;

use super::message::Message;
use super::prefix::{self, LinePrefix, PrefixFields};
use super::{next_line, reason, Sink, MAX_RECORD_BYTES};

/// Lines looked at to detect the `log_line_prefix`.
const DETECT_LINES: usize = 500;

const SEVERITIES: &[&str] = &[
    "LOG",
    "DETAIL",
    "STATEMENT",
    "HINT",
    "CONTEXT",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "FATAL",
    "PANIC",
    "QUERY",
    "LOCATION",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
];

/// Severities whose line belongs to the message before it.
const PARTS: &[&str] = &[
    "DETAIL",
    "HINT",
    "CONTEXT",
    "STATEMENT",
    "QUERY",
    "LOCATION",
];

/// What reading a stderr log found out about its prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrRead {
    /// The `log_line_prefix` used (given or detected).
    pub prefix: Option<String>,
    /// Messages whose prefix the template did not read (all, without a template); 0 when the
    /// file gave no entries.
    pub unmatched: u64,
}

/// Split a line into (prefix, severity, text) at its first `SEVERITY:  `.
pub fn split(line: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(at) = line[from..].find(":  ") {
        let colon = from + at;
        let before = &line[..colon];
        // After the last character that cannot be in a severity word (which may be wider
        // than one byte: `é`, or U+FFFD from invalid UTF-8).
        let word_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit()))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[word_start..];
        if SEVERITIES.contains(&word) {
            return Some((&line[..word_start], word, &line[colon + 3..]));
        }
        from = colon + 1;
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Message,
    Detail,
    Other,
}

#[derive(Debug)]
struct Record {
    line: u64,
    lines: u64,
    severity: String,
    message: String,
    detail: Option<String>,
    part: Part,
    fields: PrefixFields,
    too_long: bool,
}

impl Record {
    fn push_continuation(&mut self, text: &str) {
        let target = match self.part {
            Part::Message => &mut self.message,
            Part::Detail => match self.detail.as_mut() {
                Some(d) => d,
                None => return,
            },
            Part::Other => return,
        };
        if target.len() + text.len() > MAX_RECORD_BYTES {
            self.too_long = true;
            return;
        }
        target.push('\n');
        target.push_str(text);
    }
}

struct State<'p> {
    template: Option<&'p LinePrefix>,
    current: Option<Record>,
    unmatched: u64,
}

impl State<'_> {
    fn flush(&mut self, sink: &mut Sink) {
        if let Some(r) = self.current.take() {
            if r.too_long {
                sink.skip(reason::TOO_LONG, r.lines);
                return;
            }
            sink.message(
                Message {
                    line: r.line,
                    severity: &r.severity,
                    message: &r.message,
                    detail: r.detail.as_deref(),
                    database: r.fields.database.as_deref(),
                    pid: r.fields.pid,
                    query_id: r.fields.query_id,
                },
                r.lines,
            );
        }
    }

    fn line(&mut self, no: u64, line: &str, whole: bool, sink: &mut Sink) {
        if !whole {
            self.flush(sink);
            sink.skip(reason::TOO_LONG, 1);
            return;
        }
        if let Some(rest) = line.strip_prefix('\t') {
            match self.current.as_mut() {
                Some(r) => {
                    r.lines += 1;
                    r.push_continuation(rest);
                }
                None => sink.skip(reason::STRAY_CONTINUATION, 1),
            }
            return;
        }
        let Some((pre, severity, text)) = split(line) else {
            self.flush(sink);
            sink.skip(reason::NOT_A_LOG_LINE, 1);
            return;
        };
        let fields = self.template.and_then(|t| t.read(pre));
        if PARTS.contains(&severity) {
            if let Some(r) = self.current.as_mut() {
                let same = match (&fields, r.fields.pid) {
                    (Some(f), Some(pid)) => f.pid.is_none_or(|p| p == pid),
                    _ => true,
                };
                if same {
                    r.lines += 1;
                    if severity == "DETAIL" && r.detail.is_none() {
                        r.detail = Some(text.to_string());
                        r.part = Part::Detail;
                    } else {
                        r.part = Part::Other;
                    }
                    return;
                }
            }
        }
        self.flush(sink);
        if fields.is_none() {
            self.unmatched += 1;
        }
        self.current = Some(Record {
            line: no,
            lines: 1,
            severity: severity.to_string(),
            message: text.to_string(),
            detail: None,
            part: Part::Message,
            fields: fields.unwrap_or_default(),
            too_long: false,
        });
    }
}

/// Read a stderr log. `given` is the server's `log_line_prefix` when the user gave it;
/// otherwise it is detected from the first lines.
pub(crate) fn read<R: BufRead>(
    reader: &mut R,
    given: Option<&LinePrefix>,
    sink: &mut Sink,
) -> std::io::Result<StderrRead> {
    let mut bytes = Vec::new();
    let mut buf = String::new();
    let mut no = 0u64;
    // The first lines, kept until the prefix is known.
    let mut head: Vec<(u64, String, bool)> = Vec::new();
    let mut prefixed = 0;
    let mut more = true;
    if given.is_none() {
        while prefixed < DETECT_LINES {
            let Some(whole) = next_line(reader, &mut bytes, &mut buf)? else {
                more = false;
                break;
            };
            no += 1;
            if !buf.starts_with('\t') && split(&buf).is_some() {
                prefixed += 1;
            }
            head.push((no, std::mem::take(&mut buf), whole));
        }
    }
    let detected = if given.is_none() {
        prefix::detect(
            head.iter()
                .filter(|(_, l, _)| !l.starts_with('\t'))
                .filter_map(|(_, l, _)| split(l).map(|(p, _, _)| p)),
        )
    } else {
        None
    };
    let template = given.or(detected.as_ref());
    let mut state = State {
        template,
        current: None,
        unmatched: 0,
    };
    for (n, l, whole) in &head {
        state.line(*n, l, *whole, sink);
    }
    drop(head);
    if more {
        while let Some(whole) = next_line(reader, &mut bytes, &mut buf)? {
            no += 1;
            state.line(no, &buf, whole, sink);
        }
    }
    state.flush(sink);
    Ok(StderrRead {
        prefix: template.map(|t| t.as_str().to_string()),
        unmatched: if sink.entries.is_empty() {
            0
        } else {
            state.unmatched
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::{read_bytes_as, reason, LogEntryKind, LogFormat, LoggedParameter};

    fn read(text: &str, prefix: Option<&str>) -> super::super::LogReading {
        read_bytes_as(LogFormat::Stderr, text.as_bytes(), prefix)
    }

    #[test]
    fn splits_at_the_first_severity() {
        assert_eq!(
            super::split(
                "2026-01-01 00:00:00 UTC [1] LOG:  duration: 1 ms  statement: SELECT 'ERROR:  x'"
            ),
            Some((
                "2026-01-01 00:00:00 UTC [1] ",
                "LOG",
                "duration: 1 ms  statement: SELECT 'ERROR:  x'"
            ))
        );
        assert_eq!(super::split("LOGS:  x"), None);
        assert_eq!(super::split("no marker"), None);
        assert_eq!(super::split("DETAIL:  x"), Some(("", "DETAIL", "x")));
    }

    /// Found while writing the fuzz targets: a severity word after a multi-byte character
    /// (`é`, or U+FFFD from invalid UTF-8) sliced inside that character and panicked.
    #[test]
    fn fuzz_split_after_a_multi_byte_character() {
        assert_eq!(super::split("éLOG:  x"), Some(("é", "LOG", "x")));
        assert_eq!(
            super::split("\u{fffd}DETAIL:  y"),
            Some(("\u{fffd}", "DETAIL", "y"))
        );
        let r = read_bytes_as(LogFormat::Stderr, b"\xffLOG:  statement: SELECT 1\n", None);
        assert_eq!(r.entries[0].text, "SELECT 1");
    }

    #[test]
    fn default_prefix_multi_line_statement_and_parameters() {
        let log = "\
2026-12-06 10:00:00.001 UTC [100] LOG:  duration: 2.500 ms  statement: SELECT *
\t  FROM t
\t WHERE s = 'a
\tb'
2026-12-06 10:00:00.002 UTC [101] LOG:  duration: 0.100 ms  parse <unnamed>: SELECT $1
2026-12-06 10:00:00.003 UTC [101] LOG:  duration: 0.100 ms  bind <unnamed>: SELECT $1
2026-12-06 10:00:00.003 UTC [101] DETAIL:  parameters: $1 = 'x'
2026-12-06 10:00:00.004 UTC [101] LOG:  duration: 0.300 ms  execute <unnamed>: SELECT $1, $2
2026-12-06 10:00:00.004 UTC [101] DETAIL:  parameters: $1 = 'it''s
\t\tindented', $2 = NULL
2026-12-06 10:00:00.005 UTC [102] LOG:  checkpoint starting: time
garbage
\tstray?
";
        let r = read(log, None);
        assert_eq!(r.files[0].line_prefix.as_deref(), Some("%m [%p] "));
        assert_eq!(r.entries.len(), 2, "{:?}", r.entries);
        assert_eq!(r.entries[0].text, "SELECT *\n  FROM t\n WHERE s = 'a\nb'");
        assert_eq!(r.entries[0].line, 1);
        assert_eq!(r.entries[0].duration_ms, Some(2.5));
        assert_eq!(r.entries[1].kind, LogEntryKind::Execute);
        assert_eq!(
            r.entries[1].parameters,
            vec![
                LoggedParameter {
                    position: 1,
                    value: Some("it's\n\tindented".into())
                },
                LoggedParameter {
                    position: 2,
                    value: None
                }
            ]
        );
        let sk = r.skipped();
        assert_eq!(sk.get(reason::PARSE_STEP), Some(&1));
        assert_eq!(sk.get(reason::BIND_STEP), Some(&2));
        assert_eq!(sk.get(reason::OTHER_MESSAGE), Some(&1));
        // `garbage` ends the message before it; the tab line after it belongs to no message.
        assert_eq!(sk.get(reason::NOT_A_LOG_LINE), Some(&1));
        assert_eq!(sk.get(reason::STRAY_CONTINUATION), Some(&1));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn pgbadger_prefix_gives_the_database_and_log_statement_pairs_durations() {
        let log = "\
2026-12-06 10:00:00 UTC [7]: [1-1] user=app,db=shop,app=web,client=10.0.0.1 LOG:  statement: SELECT 1
2026-12-06 10:00:00 UTC [8]: [1-1] user=app,db=blog,app=web,client=10.0.0.1 LOG:  statement: SELECT 2
2026-12-06 10:00:00 UTC [7]: [2-1] user=app,db=shop,app=web,client=10.0.0.1 LOG:  duration: 4.000 ms
2026-12-06 10:00:00 UTC [9]: [1-1] user=app,db=shop,app=web,client=10.0.0.1 LOG:  duration: 5.000 ms
";
        let r = read(log, None);
        assert_eq!(
            r.files[0].line_prefix.as_deref(),
            Some("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")
        );
        let got: Vec<_> = r
            .entries
            .iter()
            .map(|e| (e.database.as_deref(), e.text.as_str(), e.duration_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("shop"), "SELECT 1", Some(4.0)),
                (Some("blog"), "SELECT 2", None)
            ]
        );
        assert_eq!(r.skipped().get(reason::LONE_DURATION), Some(&1));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_given_prefix_that_does_not_match_warns_and_still_reads() {
        let log =
            "2026-12-06 10:00:00.001 UTC [100] LOG:  duration: 1.000 ms  statement: SELECT 1\n";
        let r = read(log, Some("%t [%p]: db=%d "));
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].database, None);
        assert!(r.warnings[0].contains("did not match"), "{:?}", r.warnings);
    }

    #[test]
    fn query_id_from_the_prefix() {
        let log = "2026-12-06 10:00:00.001 UTC [100] 4242 shop LOG:  duration: 1.000 ms  statement: SELECT 1\n";
        let r = read(log, Some("%m [%p] %Q %d "));
        assert_eq!(r.entries[0].query_id, Some(4242));
        assert_eq!(r.entries[0].database.as_deref(), Some("shop"));
    }

    #[test]
    fn crlf_and_invalid_utf8_are_read() {
        let mut log =
            b"2026-12-06 10:00:00.001 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT '"
                .to_vec();
        log.extend_from_slice(&[0xff, 0xfe]);
        log.extend_from_slice(b"'\r\n");
        let r = read_bytes_as(LogFormat::Stderr, &log, None);
        assert_eq!(r.entries[0].text, "SELECT '\u{fffd}\u{fffd}'");
    }
}
