//! Text-level work on a pg_stat_statements text, before and beside the parser: a light lexer
//! that knows literals, quoted identifiers, comments and `$n`; the leading keyword; the highest
//! parameter; truncation signs; and the repairs that make a normalised text plannable.
//!
//! Stage `parse`. Must not touch `sqlparser::ast` (this is plain text) and must not panic on any
//! input: every index is a char boundary found by the lexer itself. Invariant: a repair never
//! changes the text inside string literals, quoted identifiers or comments.

/// One lexical token with its byte span in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    /// What it is.
    pub kind: TokKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

/// Token kinds the repairs and checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// An unquoted word (keyword or identifier).
    Word,
    /// `$n`, with n.
    Param(u32),
    /// A quoted identifier, string literal or dollar-quoted string.
    Quoted,
    /// A number.
    Number,
    /// Punctuation or an operator character.
    Punct(char),
}

/// What the lexer saw: tokens plus the signs of a text cut short.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lexed {
    /// Tokens, in order (comments and whitespace dropped).
    pub toks: Vec<Tok>,
    /// A literal, quoted identifier or comment is still open at the end.
    pub unterminated: bool,
    /// Open parentheses minus closed ones, at the end (negative when more closed).
    pub paren_depth: i64,
    /// Top-level `;` followed by more tokens: several statements.
    pub semicolons: usize,
}

/// The byte offset of the `)` that closes a parenthesis opened before byte `from` of `text`:
/// the first `)` from there with as many `(` as `)` between, string literals, quoted
/// identifiers and comments left out. The one parenthesis matcher of the crate.
pub(crate) fn closing_paren(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for t in lex(text).toks.iter().filter(|t| t.start >= from) {
        match t.kind {
            TokKind::Punct('(') => depth += 1,
            TokKind::Punct(')') if depth == 0 => return Some(t.start),
            TokKind::Punct(')') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Lex a text. Linear time, no allocation besides the token vector.
pub(crate) fn lex(text: &str) -> Lexed {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Lexed::default();
    let mut i = 0;
    while i < n {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    out.unterminated = true;
                }
            }
            b'\'' | b'"' => {
                let start = i;
                let backslash = c == b'\''
                    && i > 0
                    && matches!(b[i - 1], b'e' | b'E')
                    && (i < 2 || !is_word_byte(b[i - 2]));
                i += 1;
                let mut closed = false;
                while i < n {
                    if backslash && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        closed = true;
                        break;
                    }
                    i += 1;
                }
                if !closed {
                    out.unterminated = true;
                    i = n;
                }
                // An E'…' prefix was lexed as a word; fold it into this token.
                push(&mut out, TokKind::Quoted, start, i.min(n));
            }
            b'$' => {
                let start = i;
                let mut j = i + 1;
                while j < n && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > i + 1 && (j >= n || !is_word_byte(b[j])) {
                    let num = text
                        .get(i + 1..j)
                        .and_then(|s| s.parse::<u32>().ok())
                        .unwrap_or(u32::MAX);
                    push(&mut out, TokKind::Param(num), start, j);
                    i = j;
                    continue;
                }
                // Dollar quote: $tag$ … $tag$ (tag empty or an identifier).
                let mut k = i + 1;
                while k < n && (b[k].is_ascii_alphanumeric() || b[k] == b'_' || b[k] >= 0x80) {
                    k += 1;
                }
                if k < n && b[k] == b'$' && (k == i + 1 || !b[i + 1].is_ascii_digit()) {
                    let tag = &b[i..=k];
                    let mut m = k + 1;
                    let mut closed = false;
                    while m + tag.len() <= n {
                        if &b[m..m + tag.len()] == tag {
                            m += tag.len();
                            closed = true;
                            break;
                        }
                        m += 1;
                    }
                    if !closed {
                        out.unterminated = true;
                        m = n;
                    }
                    push(&mut out, TokKind::Quoted, start, m);
                    i = m;
                } else {
                    push(&mut out, TokKind::Punct('$'), start, i + 1);
                    i += 1;
                }
            }
            b'0'..=b'9' => {
                let start = i;
                while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                    i += 1;
                }
                push(&mut out, TokKind::Number, start, i);
            }
            _ if is_word_byte(c) => {
                let start = i;
                while i < n && (is_word_byte(b[i]) || b[i] == b'$') {
                    i += 1;
                }
                push(&mut out, TokKind::Word, start, i);
            }
            _ => {
                let start = i;
                // Advance by one whole UTF-8 character.
                let len = utf8_len(c);
                i = (i + len).min(n);
                let ch = if c < 0x80 { c as char } else { '?' };
                match ch {
                    '(' => out.paren_depth += 1,
                    ')' => out.paren_depth -= 1,
                    _ => {}
                }
                push(&mut out, TokKind::Punct(ch), start, i);
            }
        }
    }
    // Count `;` that have something after them (a trailing `;` is harmless).
    let toks = &out.toks;
    out.semicolons = toks
        .iter()
        .enumerate()
        .filter(|(k, t)| t.kind == TokKind::Punct(';') && *k + 1 < toks.len())
        .filter(|(k, _)| toks[k + 1..].iter().any(|t| t.kind != TokKind::Punct(';')))
        .count();
    out
}

fn push(out: &mut Lexed, kind: TokKind, start: usize, end: usize) {
    // Fold an `E` / `e` / `U&` word directly before a quote into the quoted token.
    if kind == TokKind::Quoted {
        if let Some(last) = out.toks.last() {
            if last.kind == TokKind::Word && last.end == start {
                let start = last.start;
                out.toks.pop();
                out.toks.push(Tok { kind, start, end });
                return;
            }
        }
    }
    out.toks.push(Tok { kind, start, end });
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// The text of a token.
pub(crate) fn tok_text<'a>(text: &'a str, t: &Tok) -> &'a str {
    text.get(t.start..t.end).unwrap_or("")
}

fn word_is(text: &str, t: Option<&Tok>, w: &str) -> bool {
    t.is_some_and(|t| t.kind == TokKind::Word && tok_text(text, t).eq_ignore_ascii_case(w))
}

/// The first keyword of the statement, upper-cased (`WITH`, `SELECT`, `SAVEPOINT`…), skipping
/// opening parentheses; `None` for an empty text.
pub(crate) fn leading_keyword(text: &str, lx: &Lexed) -> Option<String> {
    lx.toks
        .iter()
        .find(|t| t.kind != TokKind::Punct('('))
        .filter(|t| t.kind == TokKind::Word)
        .map(|t| tok_text(text, t).to_ascii_uppercase())
}

/// The query of a cursor declaration: `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO]
/// SCROLL] CURSOR [{WITH | WITHOUT} HOLD] FOR <query>` gives the byte offset of `<query>`.
///
/// Problem: Django's `.iterator()` (and psycopg 3 server-side cursors) send their SELECT only
/// inside a `DECLARE … CURSOR … FOR SELECT …`; pg_stat_statements has no other entry for it.
/// What we do: parse and plan the query after `FOR`. Example: `DECLARE "_django_curs_1_sync_1"
/// NO SCROLL CURSOR WITH HOLD FOR SELECT … WHERE "t"."flag"` → the SELECT.
pub(crate) fn cursor_query(text: &str, lx: &Lexed) -> Option<usize> {
    let mut toks = lx.toks.iter();
    let word = |t: &Tok| (t.kind == TokKind::Word).then(|| tok_text(text, t).to_ascii_uppercase());
    if word(toks.next()?)?.as_str() != "DECLARE" {
        return None;
    }
    let name = toks.next()?;
    if !matches!(name.kind, TokKind::Word | TokKind::Quoted) {
        return None;
    }
    let mut seen_cursor = false;
    for t in toks.by_ref() {
        let w = word(t)?;
        match (seen_cursor, w.as_str()) {
            (false, "BINARY" | "ASENSITIVE" | "INSENSITIVE" | "NO" | "SCROLL") => {}
            (false, "CURSOR") => seen_cursor = true,
            (true, "WITH" | "WITHOUT" | "HOLD") => {}
            (true, "FOR") => break,
            _ => return None,
        }
    }
    let first = toks.next()?;
    Some(first.start)
}

/// Statements that are never worth an index: transaction control, session settings, DDL,
/// maintenance. Matched on the leading keyword, before parsing, because sqlparser refuses
/// several of the forms pg_stat_statements stores (`SAVEPOINT $1`, `DEALLOCATE $1`).
pub(crate) const UTILITY_KEYWORDS: &[&str] = &[
    "ABORT",
    "ALTER",
    "ANALYZE",
    "ANALYSE",
    "BEGIN",
    "CALL",
    "CHECKPOINT",
    "CLOSE",
    "CLUSTER",
    "COMMENT",
    "COMMIT",
    "COPY",
    "CREATE",
    "DEALLOCATE",
    "DECLARE",
    "DISCARD",
    "DO",
    "DROP",
    "END",
    "EXECUTE",
    "EXPLAIN",
    "FETCH",
    "GRANT",
    "IMPORT",
    "LISTEN",
    "LOAD",
    "LOCK",
    "MOVE",
    "NOTIFY",
    "PREPARE",
    "REASSIGN",
    "REFRESH",
    "REINDEX",
    "RELEASE",
    "RESET",
    "REVOKE",
    "ROLLBACK",
    "SAVEPOINT",
    "SECURITY",
    "SET",
    "SHOW",
    "START",
    "TRUNCATE",
    "UNLISTEN",
    "VACUUM",
];

/// The highest `$n` in the text (0 when none).
pub(crate) fn max_param(lx: &Lexed) -> u32 {
    lx.toks
        .iter()
        .filter_map(|t| match t.kind {
            TokKind::Param(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// How many binary-operator tokens the text has: a bound on how deep a left-deep expression
/// tree the parser can build without recursing (it builds `a AND b AND …` iteratively, and
/// dropping a tree that deep overflows the stack).
pub(crate) fn operator_count(text: &str, lx: &Lexed) -> usize {
    lx.toks
        .iter()
        .filter(|t| match t.kind {
            TokKind::Punct(c) => matches!(
                c,
                '=' | '<' | '>' | '+' | '-' | '*' | '/' | '|' | '%' | '^' | ':'
            ),
            TokKind::Word => {
                let w = tok_text(text, t);
                w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or")
            }
            _ => false,
        })
        .count()
}

/// Problem: pg_stat_statements replaces the literal of a typed literal with `$n`, leaving text
/// the server cannot prepare (`interval $2`, `date $1`, `timestamptz $1`) and `extract($1 from
/// x)`, which neither the server nor sqlparser accepts.
/// What we do: rewrite `<type> $n` to `$n::<type>` for the date/time types and
/// `extract($n from` to `date_part($n,` (same value, a plannable form), and a squashed list
/// `IN ($n /*, ... */)` (PostgreSQL 18) to `= ANY($n)` (`NOT IN` to `<> ALL($n)`), so `$n` is
/// bound to an array of as many values as the application sends; nothing inside literals,
/// quoted identifiers or comments is touched.
/// Example: `now() - interval $2` → `now() - $2::interval`;
/// `extract($1 from "t"."d")` → `date_part($1, "t"."d")`;
/// `"o"."id" IN ($1 /*, ... */)` → `"o"."id" = ANY($1)`.
pub(crate) fn repair_for_planning(text: &str, lx: &Lexed) -> String {
    let toks = &lx.toks;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        if t.kind == TokKind::Word {
            let w = tok_text(text, t).to_ascii_lowercase();
            // Not a typed literal when preceded by `::` (already a cast) or AT (… TIME ZONE).
            let after_cast = k >= 1
                && toks[k - 1].kind == TokKind::Punct(':')
                && k >= 2
                && toks[k - 2].kind == TokKind::Punct(':');
            match w.as_str() {
                "interval" | "date" | "timestamp" | "timestamptz" | "time" | "timetz"
                    if !after_cast =>
                {
                    // Optional `with[out] time zone`.
                    let (ty, next) = if (w == "timestamp" || w == "time")
                        && (word_is(text, toks.get(k + 1), "with")
                            || word_is(text, toks.get(k + 1), "without"))
                        && word_is(text, toks.get(k + 2), "time")
                        && word_is(text, toks.get(k + 3), "zone")
                    {
                        let with = word_is(text, toks.get(k + 1), "with");
                        let ty = match (w.as_str(), with) {
                            ("timestamp", true) => "timestamptz",
                            ("time", true) => "timetz",
                            _ => w.as_str(),
                        };
                        (ty.to_string(), k + 4)
                    } else {
                        (w.clone(), k + 1)
                    };
                    if let Some(p) = toks.get(next) {
                        if let TokKind::Param(_) = p.kind {
                            let param = tok_text(text, p);
                            // `$n` may be followed directly by `$` (`$2$$…`), which would
                            // continue the type name (`interval$$…` is one word) and turn a
                            // dollar quote into plain text: keep them apart.
                            let joins = |c: Option<&u8>| {
                                c.is_some_and(|&c| {
                                    c == b'$' || c.is_ascii_digit() || is_word_byte(c)
                                })
                            };
                            let sep = if joins(text.as_bytes().get(p.end)) {
                                " "
                            } else {
                                ""
                            };
                            // Likewise a `$` right before the type (`-$interval $2`) would
                            // open a dollar quote with the `$n` that replaces it.
                            let before =
                                t.start.checked_sub(1).and_then(|i| text.as_bytes().get(i));
                            let lead = if joins(before) { " " } else { "" };
                            edits.push((t.start, p.end, format!("{lead}{param}::{ty}{sep}")));
                            k = next + 1;
                            continue;
                        }
                    }
                }
                // `[NOT] IN ($n /*, ... */)`: a squashed list (see [`squashed_after`]).
                "in" | "not" => {
                    let not = w == "not";
                    let at = if not { k + 1 } else { k };
                    if (!not || word_is(text, toks.get(at), "in"))
                        && toks.get(at + 1).map(|x| x.kind) == Some(TokKind::Punct('('))
                        && toks.get(at + 3).map(|x| x.kind) == Some(TokKind::Punct(')'))
                    {
                        if let Some(p) = toks
                            .get(at + 2)
                            .filter(|_| squashed_after(text, toks, at + 2))
                        {
                            let param = tok_text(text, p);
                            let op = if not { "<> ALL" } else { "= ANY" };
                            edits.push((t.start, toks[at + 3].end, format!("{op}({param})")));
                            k = at + 4;
                            continue;
                        }
                    }
                }
                "extract"
                    if toks.get(k + 1).map(|x| x.kind) == Some(TokKind::Punct('('))
                        && matches!(toks.get(k + 2).map(|x| x.kind), Some(TokKind::Param(_)))
                        && word_is(text, toks.get(k + 3), "from") =>
                {
                    if let (Some(p), Some(f)) = (toks.get(k + 2), toks.get(k + 3)) {
                        let param = tok_text(text, p);
                        edits.push((t.start, f.end, format!("date_part({param},")));
                        k += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        k += 1;
    }
    apply(text, &edits)
}

/// The comment PostgreSQL 18's pg_stat_statements writes after the one `$n` it keeps of a
/// squashed list of constants or parameters: `IN ($1 /*, ... */)`.
pub(crate) const SQUASHED_MARK: &str = "/*, ... */";

/// Whether `toks[k]` is a `$n` that stands for a squashed list: the text between it and the
/// next token is the mark PostgreSQL 18 writes (`$1 /*, ... */)`).
pub(crate) fn squashed_after(text: &str, toks: &[Tok], k: usize) -> bool {
    let Some(p) = toks.get(k).filter(|p| matches!(p.kind, TokKind::Param(_))) else {
        return false;
    };
    let end = toks.get(k + 1).map_or(text.len(), |n| n.start);
    text.get(p.end..end)
        .is_some_and(|gap| gap.trim() == SQUASHED_MARK)
}

/// The `$n` of a text that stand for squashed lists (`IN ($1 /*, ... */)`, PostgreSQL 18+).
pub(crate) fn squashed_params(text: &str, lx: &Lexed) -> Vec<u32> {
    (0..lx.toks.len())
        .filter(|k| squashed_after(text, &lx.toks, *k))
        .filter_map(|k| match lx.toks[k].kind {
            TokKind::Param(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Problem: sqlparser 0.64 refuses the row-lock strengths `FOR KEY SHARE` and
/// `FOR NO KEY UPDATE` (Django's deferred foreign-key checks use the first).
/// What we do: for parsing only, read them as `FOR SHARE` / `FOR UPDATE`; the plan text keeps
/// the original.
/// Example: `… FOR KEY SHARE OF x` is parsed as `… FOR SHARE OF x`.
pub(crate) fn parser_input(text: &str, lx: &Lexed) -> Option<String> {
    let toks = &lx.toks;
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        if !word_is(text, toks.get(k), "for") {
            continue;
        }
        if word_is(text, toks.get(k + 1), "key") && word_is(text, toks.get(k + 2), "share") {
            if let (Some(a), Some(b)) = (toks.get(k + 1), toks.get(k + 2)) {
                edits.push((a.start, b.end, "SHARE".to_string()));
            }
        } else if word_is(text, toks.get(k + 1), "no")
            && word_is(text, toks.get(k + 2), "key")
            && word_is(text, toks.get(k + 3), "update")
        {
            if let (Some(a), Some(b)) = (toks.get(k + 1), toks.get(k + 3)) {
                edits.push((a.start, b.end, "UPDATE".to_string()));
            }
        }
    }
    (!edits.is_empty()).then(|| apply(text, &edits))
}

fn apply(text: &str, edits: &[(usize, usize, String)]) -> String {
    if edits.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut pos = 0;
    for (s, e, r) in edits {
        if *s < pos {
            continue;
        }
        out.push_str(text.get(pos..*s).unwrap_or(""));
        out.push_str(r);
        pos = *e;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_paren_skips_literals_identifiers_and_comments() {
        let t = "f(a, ')', \")\", /* ) */ g(b)) + c)";
        assert_eq!(closing_paren(t, 2), Some(t.len() - 6));
        assert_eq!(closing_paren(t, 25), Some(26));
        // Unclosed: none.
        assert_eq!(closing_paren("f(a, (b)", 2), None);
    }

    fn repair(t: &str) -> String {
        repair_for_planning(t, &lex(t))
    }

    /// PostgreSQL 18's squashed list becomes `= ANY($n)` (`NOT IN`: `<> ALL($n)`); a list
    /// of one parameter without the mark, a mark inside a string and PostgreSQL 15's
    /// `IN ($1, $2)` stay as they are.
    #[test]
    fn squashed_in_lists_become_any() {
        let t = r#"SELECT 1 FROM "t" WHERE "t"."a" IN ($1 /*, ... */) AND "t"."b" NOT IN ($2 /*, ... */) AND c = $3"#;
        assert_eq!(
            repair(t),
            r#"SELECT 1 FROM "t" WHERE "t"."a" = ANY($1) AND "t"."b" <> ALL($2) AND c = $3"#
        );
        assert_eq!(squashed_params(t, &lex(t)), vec![1, 2]);
        for same in [
            "SELECT 1 FROM t WHERE a IN ($1)",
            "SELECT 1 FROM t WHERE a IN ($1, $2)",
            "SELECT 1 FROM t WHERE a IN ($1 /* other */)",
            "SELECT '/*, ... */' FROM t WHERE a IN ($1)",
        ] {
            assert_eq!(repair(same), same);
            assert!(squashed_params(same, &lex(same)).is_empty(), "{same}");
        }
    }

    #[test]
    fn repairs_typed_literal_placeholders() {
        assert_eq!(
            repair("SELECT now() - interval $2"),
            "SELECT now() - $2::interval"
        );
        assert_eq!(repair("WHERE d = date $1"), "WHERE d = $1::date");
        assert_eq!(
            repair("WHERE d > timestamptz $1"),
            "WHERE d > $1::timestamptz"
        );
        assert_eq!(
            repair("WHERE d > timestamp with time zone $1"),
            "WHERE d > $1::timestamptz"
        );
        assert_eq!(
            repair(r#"SELECT extract($1 from "t"."d") FROM t"#),
            r#"SELECT date_part($1, "t"."d") FROM t"#
        );
        assert_eq!(repair("SELECT $1::interval"), "SELECT $1::interval");
        assert_eq!(repair("SELECT 'interval $1'"), "SELECT 'interval $1'");
        assert_eq!(repair(r#"SELECT "date" FROM t"#), r#"SELECT "date" FROM t"#);
        assert_eq!(
            repair("SELECT x AT TIME ZONE $1 FROM t"),
            "SELECT x AT TIME ZONE $1 FROM t"
        );
    }

    /// Fuzz finding `sql_text-crash-3b9ac8f8`: `interval $2` directly followed by `$$` was
    /// repaired to `$2::interval$$…`, where `$$` continues the word, so the dollar-quoted
    /// string after it became plain text with its own `$n`.
    #[test]
    fn fuzz_typed_literal_before_a_dollar_quote() {
        let t = "SELECT now() - interval $2$$ AND x = $7 $$";
        let fixed = repair(t);
        assert_eq!(fixed, "SELECT now() - $2::interval $$ AND x = $7 $$");
        assert_eq!(max_param(&lex(&fixed)), max_param(&lex(t)));
        assert_eq!(max_param(&lex(t)), 2);
        let crash = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/sql_text-crash-3b9ac8f8"
        ))
        .expect("the fuzz regression input");
        crate::parse::fuzz_text(&String::from_utf8_lossy(&crash));
    }

    /// Fuzz finding `sql_text-crash-47d8bc0a`: a `$` right before the type word
    /// (`-$interval $2`) made `$$2::interval…` a dollar quote that swallowed the rest.
    #[test]
    fn fuzz_dollar_before_a_typed_literal() {
        let t = "SELECT 1 -$interval $2 AND x = $4";
        let fixed = repair(t);
        assert_eq!(fixed, "SELECT 1 -$ $2::interval AND x = $4");
        assert_eq!(max_param(&lex(&fixed)), 4);
        let crash = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/sql_text-crash-47d8bc0a"
        ))
        .expect("the fuzz regression input");
        crate::parse::fuzz_text(&String::from_utf8_lossy(&crash));
    }

    #[test]
    fn lexes_params_quotes_and_truncation() {
        let t = r#"SELECT $1, $$a$1$$, $tag$x$tag$, E'it\'s', "q""x" FROM t WHERE a = $12"#;
        let lx = lex(t);
        assert_eq!(max_param(&lx), 12);
        assert!(!lx.unterminated);
        assert_eq!(lx.paren_depth, 0);
        let cut = lex(r#"SELECT "a" FROM "t" WHERE "t"."x" IN ($1, $2"#);
        assert_eq!(cut.paren_depth, 1);
        assert!(lex("SELECT 'abc").unterminated);
        assert!(lex("SELECT \"abc").unterminated);
        assert_eq!(lex("SELECT 1; SELECT 2").semicolons, 1);
        assert_eq!(lex("SELECT 1;").semicolons, 0);
    }

    #[test]
    fn leading_keyword_and_lock_rewrite() {
        let t = "  (SELECT 1)";
        assert_eq!(leading_keyword(t, &lex(t)).as_deref(), Some("SELECT"));
        let t = "savepoint $1";
        assert_eq!(leading_keyword(t, &lex(t)).as_deref(), Some("SAVEPOINT"));
        let t = r#"SELECT $2 FROM ONLY "c" x WHERE "id" = $1 FOR KEY SHARE OF x"#;
        assert_eq!(
            parser_input(t, &lex(t)).as_deref(),
            Some(r#"SELECT $2 FROM ONLY "c" x WHERE "id" = $1 FOR SHARE OF x"#)
        );
    }

    #[test]
    fn cursor_declarations_give_their_query() {
        let t = r#"DECLARE "_django_curs_1_sync_1" NO SCROLL CURSOR WITH HOLD FOR SELECT "a" FROM "t" WHERE "t"."f""#;
        let at = cursor_query(t, &lex(t)).expect("a cursor");
        assert_eq!(&t[at..], r#"SELECT "a" FROM "t" WHERE "t"."f""#);
        let t = "declare c binary insensitive scroll cursor without hold for (select 1)";
        assert_eq!(
            cursor_query(t, &lex(t)).map(|a| &t[a..]),
            Some("(select 1)")
        );
        for t in [
            "DECLARE c CURSOR FOR",
            "DECLARE c FOR SELECT 1",
            "DECLARE c CURSOR SCROLL FOR SELECT 1",
            "DECLARE",
            "SELECT 1",
            "DECLARE $1 CURSOR FOR SELECT 1",
        ] {
            assert_eq!(cursor_query(t, &lex(t)), None, "{t}");
        }
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for t in [
            "$",
            "$$",
            "$a",
            "é$1é",
            "'",
            "/*",
            "E'\\",
            "\u{10348}$1",
            "--",
        ] {
            let lx = lex(t);
            let _ = repair_for_planning(t, &lx);
            let _ = parser_input(t, &lx);
        }
    }
}
