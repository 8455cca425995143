//! Stage `emit/django`: a tiny Python expression tree printed the way black leaves it.
//!
//! Pure. Invariant: the output is black-stable: a node is either on one line that fits in 88
//! columns (no trailing comma), or exploded one element per line with a trailing comma (black's
//! "magic trailing comma" keeps it exploded). Strings come from [`super::pystr::python_str_black`]
//! by the caller; this module never quotes anything itself.

/// Black's default line length.
pub const LINE_LENGTH: usize = 88;

/// A Python expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    /// Text printed as is (a literal, a name).
    Atom(String),
    /// `func(args)`.
    Call {
        /// Callee, e.g. `models.Index`.
        func: String,
        /// Arguments.
        args: Vec<Arg>,
        /// Always one argument per line.
        explode: bool,
    },
    /// `[items]`.
    List {
        /// Items.
        items: Vec<Py>,
        /// Always one item per line.
        explode: bool,
    },
    /// `(a, b)`, always on one line (short tuples only).
    Tuple(Vec<Py>),
    /// `base.method(args)` chained on an expression, e.g. `models.F("x").desc()`.
    Method {
        /// Receiver.
        base: Box<Py>,
        /// Method name.
        name: String,
        /// Arguments (kept on one line).
        args: Vec<Arg>,
    },
}

/// One argument: positional or keyword.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Keyword, if any.
    pub kw: Option<String>,
    /// Value.
    pub value: Py,
}

impl Arg {
    /// Positional.
    pub fn pos(value: Py) -> Arg {
        Arg { kw: None, value }
    }
    /// Keyword.
    pub fn kw(kw: &str, value: Py) -> Arg {
        Arg {
            kw: Some(kw.to_string()),
            value,
        }
    }
}

impl Py {
    /// An atom.
    pub fn atom(s: impl Into<String>) -> Py {
        Py::Atom(s.into())
    }

    /// A call that explodes only when too long.
    pub fn call(func: &str, args: Vec<Arg>) -> Py {
        Py::Call {
            func: func.to_string(),
            args,
            explode: false,
        }
    }

    /// The one-line form.
    pub fn flat(&self) -> String {
        fn args_flat(args: &[Arg]) -> String {
            args.iter()
                .map(|a| match &a.kw {
                    Some(k) => format!("{k}={}", a.value.flat()),
                    None => a.value.flat(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        match self {
            Py::Atom(s) => s.clone(),
            Py::Call { func, args, .. } => format!("{func}({})", args_flat(args)),
            Py::List { items, .. } => format!(
                "[{}]",
                items.iter().map(Py::flat).collect::<Vec<_>>().join(", ")
            ),
            Py::Tuple(items) => format!(
                "({})",
                items.iter().map(Py::flat).collect::<Vec<_>>().join(", ")
            ),
            Py::Method { base, name, args } => {
                format!("{}.{name}({})", base.flat(), args_flat(args))
            }
        }
    }

    /// Render at `indent` spaces, with `prefix` before (e.g. `index=`) and `suffix` after
    /// (e.g. `,`), as lines without newlines.
    pub fn render(&self, indent: usize, prefix: &str, suffix: &str) -> Vec<String> {
        let pad = " ".repeat(indent);
        let flat = format!("{pad}{prefix}{}{suffix}", self.flat());
        let (explode, open, close, children): (bool, String, &str, Vec<(String, &Py)>) = match self
        {
            Py::Call {
                func,
                args,
                explode,
            } => (
                *explode,
                format!("{func}("),
                ")",
                args.iter()
                    .map(|a| {
                        (
                            a.kw.as_ref().map(|k| format!("{k}=")).unwrap_or_default(),
                            &a.value,
                        )
                    })
                    .collect(),
            ),
            Py::List { items, explode } => (
                *explode,
                "[".to_string(),
                "]",
                items.iter().map(|i| (String::new(), i)).collect(),
            ),
            _ => return vec![flat],
        };
        if !explode && flat.chars().count() <= LINE_LENGTH {
            return vec![flat];
        }
        if children.is_empty() {
            return vec![flat];
        }
        let mut lines = vec![format!("{pad}{prefix}{open}")];
        for (p, child) in children {
            lines.extend(child.render(indent + 4, &p, ","));
        }
        lines.push(format!("{pad}{close}{suffix}"));
        lines
    }
}

/// A string list on one line when it fits.
pub fn str_list(items: &[String]) -> Py {
    Py::List {
        items: items
            .iter()
            .map(|s| Py::atom(super::pystr::python_str_black(s)))
            .collect(),
        explode: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explodes_with_trailing_commas_or_stays_flat() {
        let ix = Py::Call {
            func: "models.Index".into(),
            args: vec![
                Arg::kw(
                    "fields",
                    str_list(&["customer".into(), "-created_at".into()]),
                ),
                Arg::kw("name", Py::atom("\"shop_order_custome_da1929_idx\"")),
            ],
            explode: true,
        };
        assert_eq!(
            ix.render(12, "index=", ",").join("\n"),
            "            index=models.Index(\n                fields=[\"customer\", \"-created_at\"],\n                name=\"shop_order_custome_da1929_idx\",\n            ),"
        );
        let long = str_list(&vec!["abcdefghij".to_string(); 9]);
        let lines = long.render(12, "fields=", ",");
        assert_eq!(lines.len(), 11, "{lines:?}");
        assert!(lines[1].ends_with("\"abcdefghij\","));
        let short = Py::call("models.Q", vec![Arg::kw("a__isnull", Py::atom("True"))]);
        assert_eq!(short.render(0, "", ""), vec!["models.Q(a__isnull=True)"]);
    }
}
