//! `log_line_prefix`: read the fields a stderr log line's prefix carries (database, process id,
//! query id), given the setting or detected among the common ones.
//!
//! Stage `collect` (pure). Must not panic on any prefix or line; it slices only at positions
//! found by `find`/`strip_prefix` or after ASCII characters. Invariant: a template matches a
//! prefix only when it accounts for all of it (no partial matches), so detection can compare
//! candidates by how many lines each reads.

/// Common settings tried when none is given: PostgreSQL's default, Debian's, the form pgBadger
/// recommends, Amazon RDS's, and a few frequent variants. Simpler ones first: on a tie (both
/// read the same lines) the simpler is the truer guess.
pub const COMMON: &[&str] = &[
    "%m [%p] ",
    "%t [%p] ",
    "%t [%p]: [%l-1] ",
    "< %m > ",
    "%m ",
    "%t ",
    "%m [%p] %q%u@%d ",
    "%t [%p] %q%u@%d ",
    "%t [%p-%l] %q%u@%d ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] %q[user=%u,db=%d,app=%a] ",
    "%t:%r:%u@%d:[%p]:",
    "",
];

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text.
    Lit(String),
    /// An escape (`%d`, `%p`, …), and whether it is padded (`%-10u`, `%5p`: spaces around the
    /// value are read as part of it).
    Esc(char, bool),
    /// `%q`: background processes print nothing after it.
    Stop,
}

/// Fields read from one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixFields {
    /// `%d`.
    pub database: Option<String>,
    /// `%p`.
    pub pid: Option<i64>,
    /// `%Q`.
    pub query_id: Option<i64>,
}

/// A parsed `log_line_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePrefix {
    text: String,
    pieces: Vec<Piece>,
}

impl LinePrefix {
    /// Parse a setting. Never fails: an unknown escape matches any text up to what follows it.
    pub fn parse(setting: &str) -> LinePrefix {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = setting.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            // Padding: %-10u, %5p.
            let mut padded = false;
            if chars.peek() == Some(&'-') {
                chars.next();
                padded = true;
            }
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
                padded = true;
            }
            match chars.next() {
                None => lit.push('%'),
                Some('%') => lit.push('%'),
                Some(e) => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(if e == 'q' {
                        Piece::Stop
                    } else {
                        Piece::Esc(e, padded)
                    });
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        LinePrefix {
            text: setting.to_string(),
            pieces,
        }
    }

    /// The setting as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Read `prefix` (the text before the severity) with this template; `None` when it does
    /// not match all of it.
    pub fn read(&self, prefix: &str) -> Option<PrefixFields> {
        let all: Vec<&Piece> = self.pieces.iter().filter(|p| **p != Piece::Stop).collect();
        if let Some(f) = read_pieces(&all, prefix) {
            return Some(f);
        }
        let stop = self.pieces.iter().position(|p| *p == Piece::Stop)?;
        let before: Vec<&Piece> = self.pieces[..stop].iter().collect();
        read_pieces(&before, prefix)
    }
}

fn read_pieces(pieces: &[&Piece], mut s: &str) -> Option<PrefixFields> {
    let mut f = PrefixFields::default();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Stop => {}
            Piece::Lit(l) => s = s.strip_prefix(l.as_str())?,
            Piece::Esc(e, padded) => {
                let next = match pieces.get(i + 1) {
                    Some(Piece::Lit(l)) => Some(l.as_str()),
                    _ => None,
                };
                if *padded {
                    s = s.trim_start_matches(' ');
                }
                let len = extent(*e, s, next)?;
                let value = s[..len].trim();
                s = &s[len..];
                if *padded && next.is_none_or(|l| !l.starts_with(' ')) {
                    s = s.trim_start_matches(' ');
                }
                match e {
                    'd' if !value.is_empty() && value != "[unknown]" => {
                        f.database = Some(value.to_string())
                    }
                    'p' => f.pid = value.parse().ok(),
                    'Q' => f.query_id = value.parse().ok(),
                    _ => {}
                }
            }
        }
    }
    s.is_empty().then_some(f)
}

/// How many bytes of `s` the escape `e` takes, given the literal that follows it.
fn extent(e: char, s: &str, next: Option<&str>) -> Option<usize> {
    let digits = |s: &str, signed: bool| {
        let body = if signed {
            s.strip_prefix('-').unwrap_or(s)
        } else {
            s
        };
        let n = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        n + (s.len() - body.len())
    };
    let len = match e {
        'p' | 'l' | 'P' | 'x' => s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len(),
        'Q' => digits(s, true),
        'm' | 't' | 's' => timestamp(s)?,
        'n' => {
            s.len()
                - s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .len()
        }
        'c' | 'v' => {
            s.len()
                - s.trim_start_matches(|c: char| c.is_ascii_hexdigit() || c == '.' || c == '/')
                    .len()
        }
        'e' => {
            s.len()
                - s.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
                    .len()
        }
        // Free text (%u %d %a %h %r %b %i and unknown escapes): up to the next literal.
        _ => match next {
            Some(l) => s.find(l)?,
            None => s.find(' ').unwrap_or(s.len()),
        },
    };
    Some(len)
}

/// `2024-05-06 07:08:09[.123] TZ`: the date and time, then a space and a zone without spaces.
fn timestamp(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd";
    if b.len() < shape.len() {
        return None;
    }
    for (x, want) in b.iter().zip(shape) {
        let ok = match want {
            b'd' => x.is_ascii_digit(),
            w => x == w,
        };
        if !ok {
            return None;
        }
    }
    let mut i = shape.len();
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let zone = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'/' | b'_');
    if b.get(i) == Some(&b' ') && b.get(i + 1).is_some_and(zone) {
        i += 1;
        while b.get(i).is_some_and(zone) {
            i += 1;
        }
    }
    Some(i)
}

/// The candidate of [`COMMON`] that reads the most of these prefixes (at least half of them);
/// the first such in the list on a tie.
pub fn detect<'a>(prefixes: impl Iterator<Item = &'a str> + Clone) -> Option<LinePrefix> {
    let total = prefixes.clone().count();
    if total == 0 {
        return None;
    }
    let mut best: Option<(usize, LinePrefix)> = None;
    for c in COMMON {
        let p = LinePrefix::parse(c);
        let n = prefixes.clone().filter(|l| p.read(l).is_some()).count();
        if n * 2 >= total && best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, p));
        }
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(setting: &str, prefix: &str) -> Option<PrefixFields> {
        LinePrefix::parse(setting).read(prefix)
    }

    #[test]
    fn default_prefix() {
        let f = read("%m [%p] ", "2026-12-06 11:04:34.123 UTC [4711] ").unwrap();
        assert_eq!(f.pid, Some(4711));
        assert_eq!(f.database, None);
        assert!(read("%m [%p] ", "2026-12-06 11:04:34.123 UTC [4711] x@y ").is_none());
    }

    #[test]
    fn pgbadger_prefix_with_spaces_and_empty_fields() {
        let s = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";
        let f = read(
            s,
            "2026-12-06 11:04:34 CET [12]: [3-1] user=app,db=shop,app=my app, v2,client=10.0.0.1 ",
        )
        .unwrap();
        assert_eq!((f.pid, f.database.as_deref()), (Some(12), Some("shop")));
        let f = read(
            s,
            "2026-12-06 11:04:34 CET [12]: [1-1] user=,db=,app=,client= ",
        )
        .unwrap();
        assert_eq!(f.database, None);
    }

    #[test]
    fn stop_escape_for_background_processes() {
        let s = "%m [%p] %q%u@%d ";
        let f = read(s, "2026-12-06 11:04:34.123 UTC [9] postgres@shop ").unwrap();
        assert_eq!(f.database.as_deref(), Some("shop"));
        let f = read(s, "2026-12-06 11:04:34.123 UTC [9] ").unwrap();
        assert_eq!(f.database, None);
    }

    #[test]
    fn query_id_padding_and_percent() {
        let f = read(
            "%m [%-5p] %Q %% ",
            "2026-12-06 11:04:34.1 +03 [7    ] -123 % ",
        )
        .unwrap();
        assert_eq!((f.pid, f.query_id), (Some(7), Some(-123)));
    }

    #[test]
    fn rds_prefix() {
        let f = read(
            "%t:%r:%u@%d:[%p]:",
            "2026-12-06 11:04:34 UTC:10.1.2.3(5432):app@shop:[77]:",
        )
        .unwrap();
        assert_eq!((f.pid, f.database.as_deref()), (Some(77), Some("shop")));
    }

    #[test]
    fn detection_prefers_the_template_that_reads_most_lines() {
        let lines = [
            "2026-12-06 11:04:34.123 UTC [9] ",
            "2026-12-06 11:04:34.123 UTC [10] app@shop ",
            "2026-12-06 11:04:34.123 UTC [10] app@shop ",
        ];
        let p = detect(lines.iter().copied()).unwrap();
        assert_eq!(p.as_str(), "%m [%p] %q%u@%d ");
        let p = detect(["2026-12-06 11:04:34.123 UTC [9] "].iter().copied()).unwrap();
        assert_eq!(p.as_str(), "%m [%p] ");
        assert!(detect(["garbage here "].iter().copied()).is_none());
    }

    #[test]
    fn hostile_input_never_panics() {
        for s in ["%", "%-", "%-9", "%q%q", "%d%d%d", "é%é", ""] {
            let p = LinePrefix::parse(s);
            for l in ["", "é", "2026-12-06 11:04:34", "%%%%", "[", "é@é "] {
                let _ = p.read(l);
            }
        }
    }
}
