//! The one place identifiers and literals become SQL text (Python string literals are the
//! Django target's: `emit::django::pystr`).
//!
//! Invariant: nothing else in the crate `format!`s a name or a value into SQL.

/// Quote an identifier: always double-quoted, inner `"` doubled. `ident("a\"b")` is `"a""b"`.
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        if c == '"' {
            s.push('"');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// Quote a string literal: single-quoted, inner `'` doubled; a backslash makes it an `E''`
/// literal with backslashes doubled, so the text means the same whatever
/// `standard_conforming_strings` says.
pub fn literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        s.push('E');
    }
    s.push('\'');
    for c in value.chars() {
        match c {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            _ => s.push(c),
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_double_quotes() {
        assert_eq!(ident("shop_order"), "\"shop_order\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident("Mixed Case"), "\"Mixed Case\"");
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), "E'a\\\\b'");
        // A literal inside a literal (HypoPG DDL): quoting twice stays unambiguous.
        assert_eq!(literal(&literal("x'")), "'''x'''''''");
    }
}
