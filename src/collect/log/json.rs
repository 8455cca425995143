//! The jsonlog format (PostgreSQL 15+): one JSON object per line, with the keys
//! `error_severity`, `message`, `detail`, `dbname`, `pid` and `query_id` among others.
//!
//! Stage `collect` (reads a stream). Must not panic on any bytes. Invariant: one line is one
//! message (PostgreSQL escapes newlines inside the JSON strings).

use std::io::BufRead;

use serde::Deserialize;

use super::message::Message;
use super::{next_line, reason, Sink};

/// The keys read; the others are ignored.
#[derive(Debug, Deserialize)]
struct Line {
    error_severity: String,
    message: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    dbname: Option<String>,
    #[serde(default)]
    pid: Option<i64>,
    #[serde(default)]
    query_id: Option<i64>,
}

/// Read a jsonlog stream.
pub(crate) fn read<R: BufRead>(reader: &mut R, sink: &mut Sink) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    let mut buf = String::new();
    let mut no = 0u64;
    while let Some(whole) = next_line(reader, &mut bytes, &mut buf)? {
        no += 1;
        if !whole {
            sink.skip(reason::TOO_LONG, 1);
            continue;
        }
        match serde_json::from_str::<Line>(&buf) {
            Ok(l) => sink.message(
                Message {
                    line: no,
                    severity: &l.error_severity,
                    message: &l.message,
                    detail: l.detail.as_deref(),
                    database: l.dbname.as_deref(),
                    pid: l.pid,
                    query_id: l.query_id,
                },
                1,
            ),
            Err(_) => sink.skip(reason::NOT_JSONLOG, 1),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{read_bytes_as, reason, LogEntryKind, LogFormat};

    #[test]
    fn reads_entries_and_skips_other_lines() {
        let log = concat!(
            r#"{"timestamp":"2026-12-06 10:00:00.001 UTC","user":"app","dbname":"shop","pid":12,"error_severity":"LOG","message":"duration: 0.500 ms  execute <unnamed>: SELECT $1","detail":"parameters: $1 = 'O''Brien\nJr'","query_id":99}"#,
            "\n",
            r#"{"timestamp":"x","pid":12,"error_severity":"LOG","message":"connection received: host=[local]"}"#,
            "\n",
            "[1,2]\n",
            "{\"error_severity\":\"LOG\"\n",
            r#"{"error_severity":"LOG","message":"duration: 1.000 ms  plan:\nQuery Text: SELECT 1\nResult  (cost=0.00..0.01 rows=1 width=4)","dbname":"shop"}"#,
            "\n"
        );
        let r = read_bytes_as(LogFormat::Jsonlog, log.as_bytes(), None);
        assert_eq!(r.entries.len(), 2);
        let e = &r.entries[0];
        assert_eq!(e.kind, LogEntryKind::Execute);
        assert_eq!(e.query_id, Some(99));
        assert_eq!(e.parameters[0].value.as_deref(), Some("O'Brien\nJr"));
        assert_eq!(r.entries[1].kind, LogEntryKind::AutoExplain);
        assert_eq!(r.entries[1].text, "SELECT 1");
        let sk = r.skipped();
        assert_eq!(sk.get(reason::NOT_JSONLOG), Some(&2));
        assert_eq!(sk.get(reason::OTHER_MESSAGE), Some(&1));
    }
}
