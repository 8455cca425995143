//! Reading parameter values out of a statement text with literals (a running statement in
//! `pg_stat_activity`, a log line) by aligning it with its pg_stat_statements text, where every
//! constant is a `$n`.
//!
//! Stage `parse` (pure text, through the crate's own lexer). Must not panic on any input: the
//! texts are untrusted and often cut mid-token at `track_activity_query_size`. Invariant: a
//! value is reported only where the two texts agree token for token up to it; a value at the
//! very end of a cut text is dropped (it may be cut itself).
//!
//! Heuristic (problem / what we do / example):
//! - Problem: pg_stat_statements keeps no constants; the running text does, but without
//!   `query_id` (before PG14, or `compute_query_id = off`) we must find its entry ourselves.
//! - What we do: a *shape key* drops every constant (numbers, string literals, `true`/`false`,
//!   `$n`, minus signs) from both texts; equal keys (or, for a cut text, a key that starts the
//!   entry's key) name the candidate entries, and the token-by-token alignment decides.
//! - Example: `… WHERE "status" = 'pending' … LIMIT 100` aligned with `… WHERE "status" = $1 …
//!   LIMIT $2` gives `$1 = pending`, `$2 = 100`.

use std::collections::HashMap;

use super::text::{lex, squashed_after, tok_text, Tok, TokKind};
use crate::model::Workload;

/// The values read from one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// `values[i]` is `$i+1`; `None` where not visible (after a cut, or bound server-side).
    pub values: Vec<Option<String>>,
    /// The text ended before the statement did (cut at `track_activity_query_size`).
    pub truncated: bool,
    /// The text itself has a `$n` where a value would be: the application bound the value
    /// server-side (extended protocol), so the text never shows it. Set only where the text
    /// shows the `$n` itself: a text cut before its values says nothing about how they were
    /// bound (psycopg2 binds on the client, and its long texts are cut, not bound).
    pub bound: bool,
}

impl Extracted {
    /// How much of its values the text showed: cut, bound server-side, or whole.
    pub fn seen(&self) -> crate::model::observed::Seen {
        crate::model::observed::Seen::of(self.truncated, self.bound)
    }
}

fn is_string_literal(text: &str, t: &Tok) -> bool {
    t.kind == TokKind::Quoted && !tok_text(text, t).starts_with('"')
}

fn is_constant(text: &str, t: &Tok) -> bool {
    match t.kind {
        TokKind::Param(_) | TokKind::Number => true,
        TokKind::Quoted => is_string_literal(text, t),
        TokKind::Word => {
            let w = tok_text(text, t);
            w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false")
        }
        TokKind::Punct('-') => true,
        TokKind::Punct(_) => false,
    }
}

/// The value of a string-literal token, text form: quotes removed, doubled quotes and (for
/// `E'…'`) backslash escapes undone. `None` for a literal cut short.
fn unquote(raw: &str) -> Option<String> {
    let (escapes, body) = match raw.as_bytes().first()? {
        b'e' | b'E' => (true, raw.get(1..)?),
        b'$' => {
            let close = raw[1..].find('$')? + 2;
            let tag = &raw[..close];
            let inner = raw.get(close..raw.len().checked_sub(tag.len())?)?;
            if raw.len() < 2 * tag.len() || !raw.ends_with(tag) {
                return None;
            }
            return Some(inner.to_string());
        }
        b'\'' => (false, raw),
        // B'0101', X'1F', U&'…': keep the literal as written; it is still the value's text.
        _ => return Some(raw.to_string()),
    };
    if body.len() < 2 || !body.starts_with('\'') || !body.ends_with('\'') {
        return None;
    }
    let inner = &body[1..body.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\\' if escapes => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => return None,
            },
            o => out.push(o),
        }
    }
    Some(out)
}

/// Align `literal` (a text as sent) with `normalised` (its pg_stat_statements text) and read
/// each `$n`'s value. `None` when the texts are not the same statement. When the text `may_be_cut`
/// (it is as long as `track_activity_query_size` allows), a text that ends early is accepted as
/// cut short (`truncated`), with the values seen before the cut, and a value in its very last
/// token is not trusted.
pub fn extract_values(literal: &str, normalised: &str, may_be_cut: bool) -> Option<Extracted> {
    let lt = lex(literal);
    let nt = lex(normalised);
    let params = nt
        .toks
        .iter()
        .filter_map(|t| match t.kind {
            TokKind::Param(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0) as usize;
    if params > 10_000 {
        return None;
    }
    let mut values: Vec<Option<String>> = vec![None; params];
    let l = &lt.toks;
    let mut j = 0;
    // Which $n was read last and where its token ends (dropped if the text was cut there).
    let mut last_value_at: Option<(usize, usize)> = None;
    // A `$n` stood where a value would be (bound server-side).
    let mut bound = false;
    let at_end = |end: usize| end >= literal.len();
    for (k, nt_tok) in nt.toks.iter().enumerate() {
        let Some(lt_tok) = l.get(j) else {
            // The literal text ended first: cut short, if anything was aligned at all.
            if j == 0 || k == 0 || !may_be_cut {
                return None;
            }
            if let Some((p, end)) = last_value_at {
                if at_end(end) {
                    values[p] = None;
                }
            }
            return Some(Extracted {
                values,
                truncated: true,
                bound,
            });
        };
        match nt_tok.kind {
            TokKind::Param(n) if squashed_after(normalised, &nt.toks, k) => {
                // A squashed list (`IN ($1 /*, ... */)`): every constant of the list is `$n`'s.
                let (list, used) = list_at(literal, l, j)?;
                bound |= l[j..j + used]
                    .iter()
                    .any(|t| matches!(t.kind, TokKind::Param(_)));
                let p = (n as usize).checked_sub(1)?;
                if j + used >= l.len()
                    || (j + used + 1 == l.len() && l[j + used].kind == TokKind::Punct(','))
                {
                    // The text ends inside the list: cut short, the list's length unknown.
                    if !may_be_cut {
                        return None;
                    }
                    return Some(Extracted {
                        values,
                        truncated: true,
                        bound,
                    });
                }
                if p < values.len() {
                    values[p] = list;
                    last_value_at = Some((p, l[j + used - 1].end));
                }
                j += used;
            }
            TokKind::Param(n) => {
                let (value, used) = constant_at(literal, l, j)?;
                bound |= matches!(l[j].kind, TokKind::Param(_));
                let p = (n as usize).checked_sub(1)?;
                if p < values.len() {
                    values[p] = value;
                    last_value_at = Some((p, l[j + used - 1].end));
                }
                j += used;
            }
            _ => {
                let a = tok_text(normalised, nt_tok);
                let b = tok_text(literal, lt_tok);
                let same = nt_tok.kind == lt_tok.kind
                    && (a == b || (nt_tok.kind == TokKind::Word && a.eq_ignore_ascii_case(b)));
                if !same {
                    // The very last token of a cut text may be cut itself.
                    let cut = j + 1 == l.len() && a.len() > b.len() && a.starts_with(b);
                    if cut && k > 0 && may_be_cut {
                        return Some(Extracted {
                            values,
                            truncated: true,
                            bound,
                        });
                    }
                    return None;
                }
                j += 1;
            }
        }
    }
    // Anything left in the literal text must be a trailing `;`.
    if l[j.min(l.len())..]
        .iter()
        .any(|t| t.kind != TokKind::Punct(';'))
    {
        return None;
    }
    // An unterminated literal at the very end was cut (its value is not reliable), and so may be
    // any value ending exactly where a cut text ends.
    if lt.unterminated || may_be_cut {
        if let Some((p, end)) = last_value_at {
            if at_end(end) {
                values[p] = None;
            }
        }
    }
    Some(Extracted {
        values,
        truncated: lt.unterminated && may_be_cut,
        bound,
    })
}

/// The constant at `l[j]`: its value (`None` for a server-side `$n`) and how many tokens it
/// spans. `None` when no constant is there.
fn constant_at(text: &str, l: &[Tok], j: usize) -> Option<(Option<String>, usize)> {
    let t = l.get(j)?;
    match t.kind {
        TokKind::Param(_) => Some((None, 1)),
        TokKind::Number => Some((Some(tok_text(text, t).to_string()), 1)),
        TokKind::Quoted if is_string_literal(text, t) => Some((unquote(tok_text(text, t)), 1)),
        TokKind::Word if is_constant(text, t) => {
            Some((Some(tok_text(text, t).to_ascii_lowercase()), 1))
        }
        TokKind::Punct('-') => {
            let n = l.get(j + 1)?;
            (n.kind == TokKind::Number).then(|| (Some(format!("-{}", tok_text(text, n))), 2))
        }
        _ => None,
    }
}

/// The constants of a list at `l[j]` (`1, 2, 3` up to the closing parenthesis; each may carry
/// a `::type` cast), as a [`list_literal`] (`None` when one of them is a server-side `$n`),
/// and how many tokens they span. `None` when no constant is there.
fn list_at(text: &str, l: &[Tok], j: usize) -> Option<(Option<String>, usize)> {
    let mut vals = Vec::new();
    let mut unknown = false;
    let mut at = j;
    loop {
        let (v, used) = constant_at(text, l, at)?;
        at += used;
        let punct = |i: usize, c: char| l.get(i).is_some_and(|t| t.kind == TokKind::Punct(c));
        if punct(at, ':')
            && punct(at + 1, ':')
            && l.get(at + 2).is_some_and(|t| t.kind == TokKind::Word)
        {
            at += 3;
        }
        match v {
            Some(v) => vals.push(v),
            None => unknown = true,
        }
        if punct(at, ',') && constant_at(text, l, at + 1).is_some() {
            at += 1;
            continue;
        }
        break;
    }
    Some(((!unknown).then(|| list_literal(&vals)), at - j))
}

/// The value of a constant as PostgreSQL prints an expression (`'pending'::text`,
/// `'2025-01-01 00:00:00+00'::timestamp with time zone`, `42`, `(-5)`, `true`): the literal
/// without quotes and casts. `None` for anything else (an array, a function call, a cut text).
pub fn constant_value(printed: &str) -> Option<String> {
    let lx = lex(printed);
    if lx.unterminated {
        return None;
    }
    let toks = &lx.toks;
    let mut j = 0;
    while toks.get(j).is_some_and(|t| t.kind == TokKind::Punct('(')) {
        j += 1;
    }
    let (value, used) = constant_at(printed, toks, j)?;
    let rest = &toks[j + used..];
    // What may follow: closing parentheses and `::type name` casts.
    let mut k = 0;
    while k < rest.len() {
        match rest[k].kind {
            TokKind::Punct(')') => k += 1,
            TokKind::Punct(':')
                if rest
                    .get(k + 1)
                    .is_some_and(|t| t.kind == TokKind::Punct(':')) =>
            {
                k += 2;
                while rest
                    .get(k)
                    .is_some_and(|t| matches!(t.kind, TokKind::Word | TokKind::Quoted))
                {
                    k += 1;
                }
            }
            _ => return None,
        }
    }
    value
}

/// A list of values as a PostgreSQL array literal (`{"1","2"}`): what a squashed list
/// parameter (`= ANY($n)`) is bound to, and how its observed lists are kept.
pub fn list_literal(values: &[String]) -> String {
    let mut s = String::from("{");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// The number of elements of an array literal made by [`list_literal`] (`None` for anything
/// else): the length of an observed list.
pub fn list_len(literal: &str) -> Option<usize> {
    let inner = literal.strip_prefix('{')?.strip_suffix('}')?;
    if inner.is_empty() {
        return Some(0);
    }
    let mut n = 1;
    let mut quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => n += 1,
            _ => {}
        }
    }
    Some(n)
}

/// The shape key of a text: its tokens without constants, space-separated (see the module
/// header). For a text cut short, the key of what remains minus its last token.
pub fn shape_key(text: &str, cut: bool) -> String {
    let lx = lex(text);
    let all = &lx.toks;
    // A `,` between two constants goes too: a list of constants (`IN (1, 2, 3)`) has the key of
    // the one `$n` PostgreSQL 18 keeps of it (`IN ($1 /*, ... */)`); entries of other lengths
    // (PostgreSQL 17 and older) share the key and the alignment tells them apart.
    let between_constants = |k: usize| {
        all[k].kind == TokKind::Punct(',')
            && k > 0
            && is_constant(text, &all[k - 1])
            && all.get(k + 1).is_some_and(|n| is_constant(text, n))
    };
    let mut toks: Vec<&Tok> = all
        .iter()
        .enumerate()
        .filter(|(k, t)| !is_constant(text, t) && !between_constants(*k))
        .map(|(_, t)| t)
        .collect();
    while toks.last().is_some_and(|t| t.kind == TokKind::Punct(';')) {
        toks.pop();
    }
    if cut || lx.unterminated {
        toks.pop();
    }
    let mut key = String::with_capacity(text.len() / 2);
    for t in toks {
        if !key.is_empty() {
            key.push(' ');
        }
        let w = tok_text(text, t);
        if t.kind == TokKind::Word {
            key.push_str(&w.to_ascii_lowercase());
        } else {
            key.push_str(w);
        }
    }
    key
}

/// The workload's statements by shape key, to match texts that come without `query_id`.
#[derive(Debug, Default)]
pub struct ShapeIndex {
    by_key: HashMap<String, Vec<i64>>,
    keys: Vec<(String, i64)>,
    texts: HashMap<i64, String>,
    calls: HashMap<i64, i64>,
}

/// A text matched to its statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The pg_stat_statements entry.
    pub queryid: i64,
    /// Its values.
    pub extracted: Extracted,
}

impl Matched {
    /// The statement's queryid, its values and how much of them the text showed (what
    /// [`crate::model::observed::ObservationBuilder::add_tuple`] counts).
    pub fn sighting(self) -> (i64, Vec<Option<String>>, crate::model::observed::Seen) {
        let seen = self.extracted.seen();
        (self.queryid, self.extracted.values, seen)
    }
}

impl ShapeIndex {
    /// Index the workload's statements.
    pub fn new(workload: &Workload) -> ShapeIndex {
        let mut ix = ShapeIndex::default();
        for s in &workload.statements {
            let key = shape_key(&s.query, false);
            ix.by_key.entry(key.clone()).or_default().push(s.queryid);
            ix.keys.push((key, s.queryid));
            ix.texts.insert(s.queryid, s.query.clone());
            ix.calls.insert(s.queryid, s.calls);
        }
        ix.keys.sort();
        ix
    }

    /// Whether the workload has this entry.
    pub fn contains(&self, queryid: i64) -> bool {
        self.texts.contains_key(&queryid)
    }

    /// Match a text with literals: by `query_id` when given (the server's own match), else by
    /// shape key (a prefix of the key for a text that may be `cut`). Among several entries of
    /// the same shape, the one whose text aligns with the most calls wins.
    pub fn match_text(&self, text: &str, query_id: Option<i64>, cut: bool) -> Option<Matched> {
        if let Some(q) = query_id.filter(|q| *q != 0) {
            let normalised = self.texts.get(&q)?;
            return extract_values(text, normalised, cut).map(|extracted| Matched {
                queryid: q,
                extracted,
            });
        }
        let key = shape_key(text, cut);
        if key.is_empty() {
            return None;
        }
        let mut ids: Vec<i64> = self.by_key.get(&key).cloned().unwrap_or_default();
        if cut {
            let from = self
                .keys
                .partition_point(|(k, _)| k.as_str() < key.as_str());
            ids = self.keys[from..]
                .iter()
                .take_while(|(k, _)| k.starts_with(&key))
                .map(|(_, q)| *q)
                .collect();
        }
        ids.sort_by_key(|q| {
            (
                std::cmp::Reverse(self.calls.get(q).copied().unwrap_or(0)),
                *q,
            )
        });
        ids.into_iter().find_map(|q| {
            let normalised = self.texts.get(&q)?;
            extract_values(text, normalised, cut).map(|extracted| Matched {
                queryid: q,
                extracted,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Statement;

    const PAGE: &str = r#"SELECT "shop_order"."id", "shop_order"."status" FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" ASC LIMIT $2"#;
    const PAGE_LIT: &str = r#"SELECT "shop_order"."id", "shop_order"."status" FROM "shop_order" WHERE "shop_order"."status" = 'pending' ORDER BY "shop_order"."created_at" ASC LIMIT 100"#;

    fn v(s: &[Option<&str>]) -> Vec<Option<String>> {
        s.iter().map(|x| x.map(String::from)).collect()
    }

    #[test]
    fn values_are_read_at_their_placeholders() {
        let e = extract_values(PAGE_LIT, PAGE, false).expect("aligned");
        assert_eq!(e.values, v(&[Some("pending"), Some("100")]));
        assert!(!e.truncated);
        let e = extract_values(
            "select * from t where a = -5 and b = E'it\\'s' and c = 'o''k' and d = true and e = $$x$$;",
            "select * from t where a = $1 and b = $2 and c = $3 and d = $4 and e = $5",
            false,
        )
        .expect("aligned");
        assert_eq!(
            e.values,
            v(&[
                Some("-5"),
                Some("it's"),
                Some("o'k"),
                Some("true"),
                Some("x")
            ])
        );
        // A binary minus stays an operator.
        let e =
            extract_values("select a - 1 from t", "select a - $1 from t", false).expect("aligned");
        assert_eq!(e.values, v(&[Some("1")]));
    }

    #[test]
    fn other_statements_do_not_align() {
        assert_eq!(extract_values(PAGE_LIT, "SELECT 1", true), None);
        assert_eq!(
            extract_values(
                "select * from t where a = 1 and b = 2",
                "select * from t where a = $1",
                true
            ),
            None
        );
        assert_eq!(extract_values("", PAGE, true), None);
        // Without a possible cut, a shorter text is another statement.
        assert_eq!(
            extract_values(
                "select * from t where a = 1",
                "select * from t where a = $1 and b = $2",
                false
            ),
            None
        );
    }

    #[test]
    fn server_side_parameters_are_not_visible() {
        let e = extract_values(PAGE, PAGE, false).expect("aligned");
        assert_eq!(e.values, v(&[None, None]));
        assert!(e.bound && !e.truncated);
        // Literals are not bound server-side.
        assert!(
            !extract_values(PAGE_LIT, PAGE, false)
                .expect("aligned")
                .bound
        );
    }

    /// Review 3's moderation queue: psycopg2 sent its values in the text, which was cut at
    /// `track_activity_query_size` before them. Cut, not bound server-side.
    #[test]
    fn a_text_cut_before_its_values_is_cut_not_bound() {
        let cut = &PAGE_LIT[..PAGE_LIT.find("WHERE").expect("WHERE") + 3];
        let e = extract_values(cut, PAGE, true).expect("aligned");
        assert_eq!(e.values, v(&[None, None]));
        assert!(e.truncated && !e.bound, "{e:?}");
        // A server-side text cut after its first `$n`: both, as seen.
        let cut = &PAGE[..PAGE.find("ORDER").expect("ORDER")];
        let e = extract_values(cut, PAGE, true).expect("aligned");
        assert!(e.truncated && e.bound, "{e:?}");
    }

    #[test]
    fn cut_texts_keep_the_values_before_the_cut() {
        // Cut inside ORDER BY: the status is visible, the LIMIT is not.
        let cut = &PAGE_LIT[..PAGE_LIT.find("ASC").expect("ASC") + 1];
        let e = extract_values(cut, PAGE, true).expect("aligned");
        assert_eq!(e.values, v(&[Some("pending"), None]));
        assert!(e.truncated);
        // Cut inside the literal: its value is not trusted.
        let cut = &PAGE_LIT[..PAGE_LIT.find("pend").expect("pend") + 4];
        let e = extract_values(cut, PAGE, true).expect("aligned");
        assert_eq!(e.values, v(&[None, None]));
        // Cut inside a number at the very end.
        let e = extract_values(&PAGE_LIT[..PAGE_LIT.len() - 1], PAGE, true).expect("aligned");
        assert_eq!(e.values, v(&[Some("pending"), None]));
    }

    #[test]
    fn printed_constants_lose_quotes_and_casts() {
        assert_eq!(constant_value("'pending'::text"), Some("pending".into()));
        assert_eq!(
            constant_value("'2025-01-01 00:00:00+00'::timestamp with time zone"),
            Some("2025-01-01 00:00:00+00".into())
        );
        assert_eq!(constant_value("42"), Some("42".into()));
        assert_eq!(constant_value("(-5)"), Some("-5".into()));
        assert_eq!(constant_value("'{1,2}'::integer[]"), None);
        assert_eq!(
            constant_value("'it''s'::character varying"),
            Some("it's".into())
        );
        assert_eq!(constant_value("now()"), None);
        assert_eq!(constant_value("'cut"), None);
        assert_eq!(constant_value(""), None);
    }

    #[test]
    fn unquote_handles_odd_literals() {
        assert_eq!(unquote("'a''b'"), Some("a'b".into()));
        assert_eq!(unquote("'abc"), None);
        assert_eq!(unquote("$t$a$b$t$"), Some("a$b".into()));
        assert_eq!(unquote("$t$ab"), None);
        assert_eq!(unquote("E'\\"), None);
        assert_eq!(unquote("X'1F'"), Some("X'1F'".into()));
    }

    fn stmt(queryid: i64, query: &str, calls: i64) -> Statement {
        Statement {
            queryid,
            query: query.into(),
            calls,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        }
    }

    #[test]
    fn shape_index_matches_by_query_id_key_and_prefix() {
        let wl = Workload {
            statements: vec![
                stmt(1, PAGE, 10),
                stmt(2, "SELECT count(*) FROM t WHERE s = $1", 5),
                stmt(3, "SELECT count(*) FROM t WHERE s = $1 AND x > $2", 5),
            ],
            ..Default::default()
        };
        let ix = ShapeIndex::new(&wl);
        let m = ix.match_text(PAGE_LIT, None, false).expect("by key");
        assert_eq!(m.queryid, 1);
        let m = ix
            .match_text("SELECT count(*) FROM t WHERE s = 'x'", Some(2), false)
            .expect("by id");
        assert_eq!(m.extracted.values, v(&[Some("x")]));
        assert_eq!(
            ix.match_text("SELECT count(*) FROM t WHERE s = 'x'", Some(3), false),
            None
        );
        let cut = &PAGE_LIT[..PAGE_LIT.find("ORDER").expect("ORDER") + 3];
        let m = ix.match_text(cut, None, true).expect("by prefix");
        assert_eq!(m.queryid, 1);
        assert_eq!(m.extracted.values, v(&[Some("pending"), None]));
        assert_eq!(ix.match_text("SELECT 2", None, false), None);
    }

    const LINES: &str = r#"SELECT "order_line"."id" FROM "order_line" WHERE ("order_line"."order_id" IN ($1 /*, ... */) AND "order_line"."quantity" >= $2) ORDER BY "order_line"."id" ASC"#;

    /// PostgreSQL 18's squashed list: every constant of the sent list is `$1`'s, kept as an
    /// array literal; a list bound server-side has no value; a text cut inside the list keeps
    /// what came before it; PostgreSQL 15's one-entry-per-length texts still align one to one.
    #[test]
    fn a_squashed_list_reads_every_constant_of_the_sent_list() {
        let sent = r#"SELECT "order_line"."id" FROM "order_line" WHERE ("order_line"."order_id" IN (17, 4, -2, 90) AND "order_line"."quantity" >= 3) ORDER BY "order_line"."id" ASC"#;
        let e = extract_values(sent, LINES, false).expect("aligned");
        assert_eq!(e.values, v(&[Some(r#"{"17","4","-2","90"}"#), Some("3")]));
        assert_eq!(list_len(e.values[0].as_deref().unwrap()), Some(4));
        let one = sent.replace("17, 4, -2, 90", "'a''b'::text");
        let e = extract_values(&one, LINES, false).expect("one value, cast");
        assert_eq!(e.values[0].as_deref(), Some(r#"{"a'b"}"#));
        let bound = sent
            .replace("17, 4, -2, 90", "$1, $2")
            .replace(">= 3", ">= $3");
        let e = extract_values(&bound, LINES, false).expect("server-side");
        assert_eq!(e.values, v(&[None, None]));
        assert!(e.bound);
        let cut = &sent[..sent.find("-2").expect("-2")];
        assert_eq!(extract_values(cut, LINES, false), None);
        let e = extract_values(cut, LINES, true).expect("cut");
        assert!(e.truncated && !e.bound);
        assert_eq!(e.values, v(&[None, None]));
        // Not a list there: no match.
        assert_eq!(
            extract_values(&sent.replace("IN (17, 4, -2, 90)", "= 5"), LINES, false),
            None
        );
        assert_eq!(
            extract_values(
                "SELECT 1 FROM t WHERE a IN (1, 2, 3)",
                "SELECT 1 FROM t WHERE a IN ($1, $2)",
                false
            ),
            None
        );
        assert_eq!(
            list_len(&list_literal(&["a,\"b".into(), "c".into()])),
            Some(2)
        );
        assert_eq!(list_len("{}"), Some(0));
        assert_eq!(list_len("17"), None);
    }

    /// Without `query_id`, a sent list finds its squashed entry by shape (the list collapses
    /// to the one `$n`); on PostgreSQL 15 the entry of the sent length wins.
    #[test]
    fn a_sent_list_matches_its_squashed_entry_by_shape() {
        let sent = r#"SELECT "order_line"."id" FROM "order_line" WHERE ("order_line"."order_id" IN (17, 4, 9) AND "order_line"."quantity" >= 3) ORDER BY "order_line"."id" ASC"#;
        assert_eq!(shape_key(sent, false), shape_key(LINES, false));
        let wl = Workload {
            statements: vec![stmt(8, LINES, 10)],
            ..Default::default()
        };
        let m = ShapeIndex::new(&wl)
            .match_text(sent, None, false)
            .expect("by shape");
        assert_eq!(m.queryid, 8);
        assert_eq!(m.extracted.values[0].as_deref(), Some(r#"{"17","4","9"}"#));
        let wl = Workload {
            statements: vec![
                stmt(2, "SELECT 1 FROM t WHERE a IN ($1, $2)", 50),
                stmt(3, "SELECT 1 FROM t WHERE a IN ($1, $2, $3)", 5),
            ],
            ..Default::default()
        };
        let m = ShapeIndex::new(&wl)
            .match_text("SELECT 1 FROM t WHERE a IN (7, 8, 9)", None, false)
            .expect("by shape");
        assert_eq!(m.queryid, 3);
        assert_eq!(m.extracted.values, v(&[Some("7"), Some("8"), Some("9")]));
    }
}
