//! What one server-log message means, the same for the three log formats: a statement entry,
//! a bare duration, or a skip reason.
//!
//! Stage `collect` (pure). Must not panic on any text; it only slices at positions found by
//! `find`/`strip_prefix`, which are char boundaries. The message texts are PostgreSQL's own
//! (`postgres.c`, auto_explain), not translated: a server with `lc_messages` other than English
//! logs other words, and its messages are counted as "other message".

use super::reason;
use super::{LogEntryKind, LoggedParameter};

/// One whole message, as the format readers hand it over.
#[derive(Debug, Clone, Default)]
pub struct Message<'a> {
    /// The line it starts on (1-based).
    pub line: u64,
    /// `LOG`, `ERROR`, …
    pub severity: &'a str,
    /// The primary message, continuation lines joined with `\n`.
    pub message: &'a str,
    /// The `DETAIL` text, if any.
    pub detail: Option<&'a str>,
    /// The database, when known.
    pub database: Option<&'a str>,
    /// The backend's process id, when known (pairs a later bare `duration:` with its statement).
    pub pid: Option<i64>,
    /// The query identifier, when logged.
    pub query_id: Option<i64>,
}

/// A statement found in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Which message form.
    pub kind: LogEntryKind,
    /// The logged duration, if any.
    pub duration_ms: Option<f64>,
    /// The statement text.
    pub text: String,
    /// Parameter values.
    pub parameters: Vec<LoggedParameter>,
    /// Set when a `parameters:` detail was there but could not be read.
    pub parameters_unread: Option<&'static str>,
}

/// What a message means.
#[derive(Debug, Clone, PartialEq)]
pub enum Meaning {
    /// A statement execution.
    Entry(Found),
    /// `duration: X ms` alone: the statement was logged before by `log_statement`.
    Duration(f64),
    /// Not a statement entry, with the reason.
    Skip(&'static str),
}

/// Interpret one message.
pub fn interpret(m: &Message<'_>) -> Meaning {
    if m.severity != "LOG" {
        return Meaning::Skip(reason::OTHER_MESSAGE);
    }
    let msg = m.message;
    if let Some(rest) = msg.strip_prefix("duration: ") {
        let Some((number, after)) = rest.split_once(" ms") else {
            return Meaning::Skip(reason::UNKNOWN_DURATION);
        };
        let ms = match number.trim().parse::<f64>() {
            Ok(ms) if ms.is_finite() && ms >= 0.0 => ms,
            _ => return Meaning::Skip(reason::UNKNOWN_DURATION),
        };
        if after.trim().is_empty() {
            return Meaning::Duration(ms);
        }
        let Some(after) = after.strip_prefix("  ") else {
            return Meaning::Skip(reason::UNKNOWN_DURATION);
        };
        return statement(after, Some(ms), m.detail);
    }
    statement(msg, None, m.detail)
}

fn statement(s: &str, duration_ms: Option<f64>, detail: Option<&str>) -> Meaning {
    let found = |kind, text: &str, detail: Option<&str>| {
        let (parameters, parameters_unread) =
            match detail.and_then(|d| d.strip_prefix("parameters: ")) {
                Some(p) => match parse_parameters(p) {
                    Some(v) => (v, None),
                    None => (vec![], Some(reason::PARAMETERS_UNREAD)),
                },
                None => (vec![], None),
            };
        Meaning::Entry(Found {
            kind,
            duration_ms,
            text: text.to_string(),
            parameters,
            parameters_unread,
        })
    };
    if let Some(text) = s.strip_prefix("statement: ") {
        return found(LogEntryKind::Statement, text, None);
    }
    if let Some(rest) = s.strip_prefix("execute ") {
        // `execute <name>: text`, `execute <stmt>/<portal>: text`,
        // `execute fetch from <stmt>/<portal>: text`.
        return match rest.split_once(": ") {
            Some((_, text)) => found(LogEntryKind::Execute, text, detail),
            None => Meaning::Skip(unknown(duration_ms)),
        };
    }
    if s.starts_with("parse ") {
        return Meaning::Skip(reason::PARSE_STEP);
    }
    if s.starts_with("bind ") {
        return Meaning::Skip(reason::BIND_STEP);
    }
    if let (Some(body), Some(ms)) = (s.strip_prefix("plan:"), duration_ms) {
        return match auto_explain(body) {
            Some((text, parameters)) => Meaning::Entry(Found {
                kind: LogEntryKind::AutoExplain,
                duration_ms: Some(ms),
                text,
                parameters,
                parameters_unread: None,
            }),
            None => Meaning::Skip(reason::AUTO_EXPLAIN_UNREAD),
        };
    }
    Meaning::Skip(unknown(duration_ms))
}

fn unknown(duration_ms: Option<f64>) -> &'static str {
    if duration_ms.is_some() {
        reason::UNKNOWN_DURATION
    } else {
        reason::OTHER_MESSAGE
    }
}

/// The query text (and PostgreSQL 16's `Query Parameters`) of an auto_explain plan, text or
/// JSON format.
///
/// Problem: in text format the query text may span lines and nothing marks its end.
/// What we do: the plan's top node is the first line with `  (cost=` (auto_explain always
/// prints costs); the text is every line from `Query Text: ` up to it, or up to a
/// `Query Parameters: ` line. Example: `Query Text: SELECT *\nFROM t\nSeq Scan on t  (cost=…`
/// gives `SELECT *\nFROM t`.
fn auto_explain(body: &str) -> Option<(String, Vec<LoggedParameter>)> {
    let body = body.trim_start();
    if body.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let text = v.get("Query Text")?.as_str()?.to_string();
        let params = v
            .get("Query Parameters")
            .and_then(|p| p.as_str())
            .and_then(parse_parameters)
            .unwrap_or_default();
        return Some((text, params));
    }
    let start = body.find("Query Text: ")?;
    let rest = &body[start + "Query Text: ".len()..];
    let mut text_lines: Vec<&str> = Vec::new();
    let mut params = Vec::new();
    for (i, line) in rest.split('\n').enumerate() {
        if i > 0 {
            if let Some(p) = line.trim_start().strip_prefix("Query Parameters: ") {
                params = parse_parameters(p).unwrap_or_default();
                break;
            }
            if line.contains("  (cost=") {
                break;
            }
        }
        text_lines.push(line);
    }
    Some((text_lines.join("\n").trim_end().to_string(), params))
}

/// Read `$1 = '42', $2 = NULL, $3 = 'it''s'` (PostgreSQL's `parameters:` detail). `None` when
/// the text does not have that form.
pub fn parse_parameters(s: &str) -> Option<Vec<LoggedParameter>> {
    let mut out = Vec::new();
    let mut rest = s.trim_end();
    loop {
        rest = rest.strip_prefix('$')?;
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let position: u32 = rest[..digits].parse().ok()?;
        rest = rest[digits..].strip_prefix(" = ")?;
        let value = if let Some(r) = rest.strip_prefix("NULL") {
            rest = r;
            None
        } else {
            let (v, r) = quoted(rest)?;
            rest = r;
            Some(v)
        };
        out.push(LoggedParameter { position, value });
        if rest.is_empty() {
            return Some(out);
        }
        rest = rest.strip_prefix(", ")?;
    }
}

/// A `'…'` literal with `''` for a quote, and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if body[i + 1..].starts_with('\'') {
                value.push('\'');
                chars.next();
            } else {
                return Some((value, &body[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(message: &str, detail: Option<&str>) -> Meaning {
        interpret(&Message {
            line: 1,
            severity: "LOG",
            message,
            detail,
            ..Message::default()
        })
    }

    fn entry(m: Meaning) -> Found {
        match m {
            Meaning::Entry(f) => f,
            other => panic!("expected an entry, got {other:?}"),
        }
    }

    fn p(position: u32, value: Option<&str>) -> LoggedParameter {
        LoggedParameter {
            position,
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn simple_statement_with_duration() {
        let f = entry(log(
            "duration: 12.345 ms  statement: SELECT * FROM t WHERE s = 'x'",
            None,
        ));
        assert_eq!(f.kind, LogEntryKind::Statement);
        assert_eq!(f.duration_ms, Some(12.345));
        assert_eq!(f.text, "SELECT * FROM t WHERE s = 'x'");
        assert!(f.parameters.is_empty());
    }

    #[test]
    fn execute_with_parameters_of_every_kind() {
        let f = entry(log(
            "duration: 0.051 ms  execute s0/p1: SELECT $1, $2, $3",
            Some("parameters: $1 = 'it''s', $2 = NULL, $3 = 'two\nlines, $4 = ''x'''"),
        ));
        assert_eq!(f.kind, LogEntryKind::Execute);
        assert_eq!(f.text, "SELECT $1, $2, $3");
        assert_eq!(
            f.parameters,
            vec![
                p(1, Some("it's")),
                p(2, None),
                p(3, Some("two\nlines, $4 = 'x'"))
            ]
        );
        let f = entry(log(
            "duration: 1 ms  execute fetch from <unnamed>/c1: SELECT 1",
            None,
        ));
        assert_eq!(f.text, "SELECT 1");
    }

    #[test]
    fn phases_and_other_messages_are_skipped_with_reasons() {
        assert_eq!(
            log("duration: 0.1 ms  parse <unnamed>: SELECT 1", None),
            Meaning::Skip(reason::PARSE_STEP)
        );
        assert_eq!(
            log("duration: 0.1 ms  bind <unnamed>: SELECT $1", None),
            Meaning::Skip(reason::BIND_STEP)
        );
        assert_eq!(log("duration: 3.5 ms", None), Meaning::Duration(3.5));
        assert_eq!(
            log("duration: x ms  statement: SELECT 1", None),
            Meaning::Skip(reason::UNKNOWN_DURATION)
        );
        assert_eq!(
            log("duration: NaN ms  statement: SELECT 1", None),
            Meaning::Skip(reason::UNKNOWN_DURATION)
        );
        assert_eq!(
            log("checkpoint starting: time", None),
            Meaning::Skip(reason::OTHER_MESSAGE)
        );
        let err = interpret(&Message {
            severity: "ERROR",
            message: "statement: x",
            ..Message::default()
        });
        assert_eq!(err, Meaning::Skip(reason::OTHER_MESSAGE));
    }

    #[test]
    fn log_statement_lines_have_no_duration() {
        let f = entry(log("statement: SELECT 1", None));
        assert_eq!(f.duration_ms, None);
        let f = entry(log(
            "execute <unnamed>: SELECT $1",
            Some("parameters: $1 = '5'"),
        ));
        assert_eq!(f.parameters, vec![p(1, Some("5"))]);
    }

    #[test]
    fn unreadable_parameters_keep_the_entry() {
        let f = entry(log(
            "duration: 1 ms  execute x: SELECT $1",
            Some("parameters: $1 = 'unterminated"),
        ));
        assert!(f.parameters.is_empty());
        assert_eq!(f.parameters_unread, Some(reason::PARAMETERS_UNREAD));
    }

    #[test]
    fn auto_explain_text_and_json() {
        let f = entry(log(
            "duration: 0.020 ms  plan:\nQuery Text: SELECT *\n  FROM t WHERE a = 1\nSeq Scan on t  (cost=0.00..1.01 rows=1 width=4)\n  Filter: (a = 1)",
            None,
        ));
        assert_eq!(f.kind, LogEntryKind::AutoExplain);
        assert_eq!(f.text, "SELECT *\n  FROM t WHERE a = 1");
        let f = entry(log(
            "duration: 0.020 ms  plan:\nQuery Text: SELECT $1\nQuery Parameters: $1 = 'a'\nResult  (cost=0.00..0.01 rows=1 width=4)",
            None,
        ));
        assert_eq!(
            (f.text.as_str(), f.parameters),
            ("SELECT $1", vec![p(1, Some("a"))])
        );
        let f = entry(log(
            "duration: 0.020 ms  plan:\n{\n  \"Query Text\": \"SELECT 'a'\",\n  \"Plan\": {}\n}",
            None,
        ));
        assert_eq!(f.text, "SELECT 'a'");
        assert_eq!(
            log("duration: 0.020 ms  plan:\n<explain/>", None),
            Meaning::Skip(reason::AUTO_EXPLAIN_UNREAD)
        );
    }

    #[test]
    fn parameters_edge_cases() {
        assert_eq!(parse_parameters("$1 = ''"), Some(vec![p(1, Some(""))]));
        assert_eq!(
            parse_parameters("$10 = 'a...'"),
            Some(vec![p(10, Some("a..."))])
        );
        assert_eq!(
            parse_parameters("$1 = 'é''ü'"),
            Some(vec![p(1, Some("é'ü"))])
        );
        assert_eq!(parse_parameters("$1 = 'a' $2 = 'b'"), None);
        assert_eq!(parse_parameters("$ = 'a'"), None);
        assert_eq!(parse_parameters("$99999999999 = 'a'"), None);
        assert_eq!(parse_parameters(""), None);
    }
}
