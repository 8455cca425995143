//! Stage `emit/django`: Python string literals for the generated migrations and `Meta.indexes`
//! lines, the one place a name or a value becomes Python text.
//!
//! Pure. Invariant: the literal means exactly the value (nothing in it can end or change it),
//! the file stays plain ASCII, and [`python_str_black`] is what `black --check` leaves as is.

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

/// A Python string literal quoted the way black leaves it: [`python_str`]'s double quotes,
/// unless the value holds more `"` than `'`, then single quotes (black prefers double quotes
/// only when that does not add escapes). Use it for generated Python that must pass
/// `black --check`.
pub fn python_str_black(value: &str) -> String {
    let doubles = value.matches('"').count();
    let singles = value.matches('\'').count();
    if singles >= doubles {
        return python_str(value);
    }
    let double = python_str(value);
    let body = &double[1..double.len() - 1];
    let mut s = String::with_capacity(body.len() + 2);
    s.push('\'');
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('"') => s.push('"'),
                Some(n) => {
                    s.push('\\');
                    s.push(n);
                }
                None => s.push('\\'),
            },
            '\'' => s.push_str("\\'"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_strings_cannot_escape() {
        assert_eq!(python_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(python_str("é"), "\"\\u00e9\"");
        assert_eq!(python_str("😀"), "\"\\U0001f600\"");
    }

    #[test]
    fn black_quotes() {
        assert_eq!(python_str_black("plain"), "\"plain\"");
        assert_eq!(python_str_black("it's"), "\"it's\"");
        assert_eq!(python_str_black("a\"b\\c"), "'a\"b\\\\c'");
        assert_eq!(python_str_black("\"x\" 'y'"), "\"\\\"x\\\" 'y'\"");
        assert_eq!(python_str_black("\"x\" 'y\n"), "'\"x\" \\'y\\n'");
    }
}
