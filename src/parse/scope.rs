//! Name resolution: which table occurrence a name in a statement refers to.
//!
//! Stage `parse`. Must not touch the workload or decide anything about indexes. Invariant: a
//! name resolves to at most one occurrence, searching the innermost scope first (SQL's rule for
//! correlated subqueries); an unqualified column is attributed through the catalog's columns.

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

use crate::model::Table;

/// One `FROM` item visible in a query block.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    /// The name it is referred to by: its alias, else the table's name.
    pub name: String,
    /// The schema written in the statement, when the item is an un-aliased qualified table.
    pub schema: Option<String>,
    /// What it is.
    pub target: Target,
}

/// What a binding stands for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A user table occurrence: index into the walker's occurrences.
    Occ(usize),
    /// A derived table, CTE, table function or system catalog: columns are not tracked.
    /// `columns` lists the names it is known to expose, when known.
    Opaque { columns: Vec<String> },
}

/// A query block's bindings; scopes nest for subqueries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame {
    /// FROM items, in order.
    pub bindings: Vec<Binding>,
    /// Output names of the SELECT list that are plain columns (for ORDER BY "alias").
    pub output: Vec<(String, Option<ColRef>)>,
}

/// A resolved column of a user table occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColRef {
    /// Occurrence index.
    pub occ: usize,
    /// Column name as in the catalog.
    pub column: String,
}

/// Result of resolving a column name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A column of a user table.
    Col(ColRef),
    /// Something we do not track (derived table, CTE, system catalog, output alias).
    Opaque,
    /// No binding has it.
    Unknown,
}

/// PostgreSQL identifier folding: quoted names are kept, unquoted ones are lower-cased.
pub(crate) fn ident_name(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_ascii_lowercase()
    }
}

/// The identifier parts of an object name (function parts give `None`).
pub(crate) fn object_parts(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(ident_name(i)),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

/// The resolver: a stack of frames, innermost last, plus the catalog tables of occurrences.
pub(crate) struct Scopes<'c> {
    /// Frames, innermost last.
    pub frames: Vec<Frame>,
    /// Catalog table of each occurrence.
    pub occ_tables: Vec<&'c Table>,
}

impl<'c> Scopes<'c> {
    /// Resolve a column reference given as identifier parts (`col`, `t.col`, `s.t.col`).
    pub fn column(&self, parts: &[String]) -> Resolved {
        match parts {
            [col] => self.unqualified(col),
            [.., qual, col] => {
                let schema = if parts.len() >= 3 {
                    parts.get(parts.len() - 3)
                } else {
                    None
                };
                for f in self.frames.iter().rev() {
                    let hit = f.bindings.iter().find(|b| {
                        &b.name == qual
                            && match schema {
                                None => true,
                                Some(s) => b.schema.as_deref() == Some(s.as_str()),
                            }
                    });
                    if let Some(b) = hit {
                        return match &b.target {
                            Target::Occ(o) => self.col_of(*o, col),
                            Target::Opaque { .. } => Resolved::Opaque,
                        };
                    }
                }
                Resolved::Unknown
            }
            [] => Resolved::Unknown,
        }
    }

    fn col_of(&self, occ: usize, col: &str) -> Resolved {
        match self.occ_tables.get(occ) {
            Some(t) if t.column(col).is_some() => Resolved::Col(ColRef {
                occ,
                column: col.to_string(),
            }),
            // The name is right but the column is not in the catalog (system column such as
            // ctid, or a column added since the snapshot): not ours to index.
            _ => Resolved::Opaque,
        }
    }

    fn unqualified(&self, col: &str) -> Resolved {
        for f in self.frames.iter().rev() {
            let mut opaque = false;
            for b in &f.bindings {
                match &b.target {
                    Target::Occ(o) => {
                        if let Some(t) = self.occ_tables.get(*o) {
                            if t.column(col).is_some() {
                                return Resolved::Col(ColRef {
                                    occ: *o,
                                    column: col.to_string(),
                                });
                            }
                        }
                    }
                    Target::Opaque { columns } => {
                        if columns.iter().any(|c| c == col) {
                            opaque = true;
                        }
                    }
                }
            }
            if opaque {
                return Resolved::Opaque;
            }
        }
        Resolved::Unknown
    }

    /// Occurrences bound in the innermost frame (for `*`).
    pub fn innermost_occs(&self) -> Vec<usize> {
        self.frames
            .last()
            .map(|f| {
                f.bindings
                    .iter()
                    .filter_map(|b| match b.target {
                        Target::Occ(o) => Some(o),
                        Target::Opaque { .. } => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The occurrence bound to a name (for `t.*`), innermost first.
    pub fn binding_occ(&self, name: &str) -> Option<usize> {
        self.frames.iter().rev().find_map(|f| {
            f.bindings
                .iter()
                .find(|b| b.name == name)
                .and_then(|b| match b.target {
                    Target::Occ(o) => Some(o),
                    Target::Opaque { .. } => None,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Table};

    fn table(name: &str, cols: &[&str]) -> Table {
        Table {
            oid: 1,
            columns: cols
                .iter()
                .enumerate()
                .map(|(i, c)| Column {
                    name: c.to_string(),
                    attnum: i as i16 + 1,
                    type_name: "integer".into(),
                    not_null: false,
                    collation: None,
                    stats: None,
                })
                .collect(),
            ..Table::named("public", name)
        }
    }

    #[test]
    fn resolves_inner_first_then_outer_and_by_catalog_columns() {
        let a = table("a", &["id", "x"]);
        let b = table("b", &["id", "a_id"]);
        let s = Scopes {
            frames: vec![
                Frame {
                    bindings: vec![Binding {
                        name: "a".into(),
                        schema: None,
                        target: Target::Occ(0),
                    }],
                    output: vec![],
                },
                Frame {
                    bindings: vec![Binding {
                        name: "u0".into(),
                        schema: None,
                        target: Target::Occ(1),
                    }],
                    output: vec![],
                },
            ],
            occ_tables: vec![&a, &b],
        };
        let col = |o, c: &str| {
            Resolved::Col(ColRef {
                occ: o,
                column: c.into(),
            })
        };
        assert_eq!(s.column(&["id".into()]), col(1, "id"));
        assert_eq!(s.column(&["x".into()]), col(0, "x"));
        assert_eq!(s.column(&["a".into(), "id".into()]), col(0, "id"));
        assert_eq!(s.column(&["zz".into()]), Resolved::Unknown);
        assert_eq!(s.column(&["u0".into(), "ctid".into()]), Resolved::Opaque);
    }
}
