//! The csvlog format: one CSV record per message (a record spans lines when a field holds a
//! newline), the columns in PostgreSQL's fixed order.
//!
//! Stage `collect` (reads a stream). Must not panic on any bytes. Invariant: a record is
//! complete when it holds an even number of `"` (in CSV every quote opens, closes or is half
//! of an escaped `""`), so a quoted newline never ends a record.
//!
//! Columns used (0-based): 2 `database_name`, 3 `process_id`, 11 `error_severity`,
//! 13 `message`, 14 `detail`, 25 `query_id` (PostgreSQL 14+; 23 columns before 13, 24 in 13,
//! 26 since 14).

use std::io::BufRead;

use super::message::Message;
use super::{next_line, reason, Sink, MAX_RECORD_BYTES};

const DATABASE: usize = 2;
const PID: usize = 3;
const SEVERITY: usize = 11;
const MESSAGE: usize = 13;
const DETAIL: usize = 14;
const QUERY_ID: usize = 25;
/// PostgreSQL 12 and older write 23 columns.
const MIN_COLUMNS: usize = 23;
/// Room for columns later releases may add.
const MAX_COLUMNS: usize = 40;

/// The fields of one CSV record (no line break outside quotes expected).
pub fn fields(record: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut field));
        } else {
            field.push(c);
        }
    }
    out.push(field);
    out
}

fn is_csvlog(f: &[String]) -> bool {
    (MIN_COLUMNS..=MAX_COLUMNS).contains(&f.len())
        && !f[SEVERITY].is_empty()
        && f[SEVERITY]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && f[0].starts_with(|c: char| c.is_ascii_digit())
}

/// Whether the first record of `head` (the file's first bytes) is a csvlog record.
pub fn looks_like_csvlog(head: &str) -> bool {
    let mut quotes = 0usize;
    let mut end = head.len();
    for (i, c) in head.char_indices() {
        match c {
            '"' => quotes += 1,
            '\n' if quotes % 2 == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    is_csvlog(&fields(head[..end].trim_end_matches('\r')))
}

/// Read a csvlog stream.
pub(crate) fn read<R: BufRead>(reader: &mut R, sink: &mut Sink) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    let mut buf = String::new();
    let mut record = String::new();
    let mut no = 0u64;
    loop {
        record.clear();
        let mut quotes = 0usize;
        let mut lines = 0u64;
        let mut whole = true;
        let start = no + 1;
        let mut ended = false;
        loop {
            let Some(ok) = next_line(reader, &mut bytes, &mut buf)? else {
                ended = true;
                break;
            };
            no += 1;
            lines += 1;
            whole &= ok;
            if lines > 1 {
                record.push('\n');
            }
            if record.len() + buf.len() <= MAX_RECORD_BYTES {
                record.push_str(&buf);
            } else {
                whole = false;
            }
            quotes += buf.bytes().filter(|b| *b == b'"').count();
            if quotes % 2 == 0 {
                break;
            }
        }
        if lines == 0 {
            return Ok(());
        }
        if !whole {
            sink.skip(reason::TOO_LONG, lines);
        } else if record.is_empty() {
            sink.skip(reason::NOT_CSVLOG, lines);
        } else {
            let f = fields(&record);
            if is_csvlog(&f) {
                let get = |i: usize| f.get(i).map(String::as_str).filter(|s| !s.is_empty());
                sink.message(
                    Message {
                        line: start,
                        severity: &f[SEVERITY],
                        message: f.get(MESSAGE).map_or("", String::as_str),
                        detail: get(DETAIL),
                        database: get(DATABASE),
                        pid: get(PID).and_then(|p| p.parse().ok()),
                        query_id: get(QUERY_ID).and_then(|q| q.parse().ok()),
                    },
                    lines,
                );
            } else {
                sink.skip(reason::NOT_CSVLOG, lines);
            }
        }
        if ended {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read_bytes_as, reason, LogEntryKind, LogFormat};
    use super::*;

    #[test]
    fn fields_with_quotes_commas_and_newlines() {
        assert_eq!(
            fields("a,\"b,\"\"c\"\"\nd\",,e"),
            vec!["a", "b,\"c\"\nd", "", "e"]
        );
        assert_eq!(fields(""), vec![""]);
        assert_eq!(fields("\"open"), vec!["open"]);
    }

    fn rec(severity: &str, message: &str, detail: &str, qid: &str) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        format!(
            "2026-12-06 10:00:00.001 UTC,\"app\",\"shop\",4711,\"127.0.0.1:5000\",65a.1,1,\"SELECT\",2026-12-06 10:00:00 UTC,3/4,0,{severity},00000,{},{},,,,,,,,\"psql\",\"client backend\",,{qid}\n",
            q(message),
            if detail.is_empty() { String::new() } else { q(detail) }
        )
    }

    #[test]
    fn reads_entries_with_multi_line_fields() {
        let log = [
            rec(
                "LOG",
                "duration: 1.250 ms  statement: SELECT 'a\"b'\n  FROM t",
                "",
                "-77",
            ),
            rec(
                "LOG",
                "duration: 0.300 ms  execute s1: SELECT $1",
                "parameters: $1 = 'x, \"y\"\nz'",
                "0",
            ),
            rec("ERROR", "relation \"nope\" does not exist", "", "0"),
            "not,a,csvlog,record\n".to_string(),
        ]
        .concat();
        assert!(looks_like_csvlog(&log));
        let r = read_bytes_as(LogFormat::Csvlog, log.as_bytes(), None);
        assert_eq!(r.entries.len(), 2);
        let e = &r.entries[0];
        assert_eq!(
            (
                e.text.as_str(),
                e.duration_ms,
                e.query_id,
                e.database.as_deref(),
                e.line
            ),
            (
                "SELECT 'a\"b'\n  FROM t",
                Some(1.25),
                Some(-77),
                Some("shop"),
                1
            )
        );
        let e = &r.entries[1];
        assert_eq!(e.kind, LogEntryKind::Execute);
        assert_eq!(e.query_id, None);
        assert_eq!(e.line, 3);
        assert_eq!(e.parameters[0].value.as_deref(), Some("x, \"y\"\nz"));
        let sk = r.skipped();
        assert_eq!(sk.get(reason::OTHER_MESSAGE), Some(&1));
        assert_eq!(sk.get(reason::NOT_CSVLOG), Some(&1));
    }

    #[test]
    fn an_unterminated_quote_ends_at_the_end_of_the_file() {
        let log = format!(
            "{}\"never closed\n,,,\n",
            rec("LOG", "statement: SELECT 1", "", "0")
        );
        let r = read_bytes_as(LogFormat::Csvlog, log.as_bytes(), None);
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.skipped().get(reason::NOT_CSVLOG), Some(&2));
    }
}
