//! The one place identifiers and literals become SQL (and Python) text.
//!
//! Invariant: nothing else in the crate `format!`s a name or a value into SQL or Python.

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

/// A Python string literal (double-quoted, as black formats), escaping everything that could end
/// or change it. Non-printable and non-ASCII characters are written as escapes so the file is
/// plain ASCII.
pub fn python_str(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => s.push(c),
            c if (c as u32) <= 0xffff => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    s.push('"');
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

    #[test]
    fn python_strings_cannot_escape() {
        assert_eq!(python_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(python_str("é"), "\"\\u00e9\"");
        assert_eq!(python_str("😀"), "\"\\U0001f600\"");
    }
}
