//! Index access methods: which kind of index a spec is, and what each kind can do.
//!
//! Stage: none (plain data). Must not do I/O. Invariant: a method serialises as PostgreSQL's
//! own name for it (`pg_am.amname`: `btree`, `hash`, `gin`, …), so a snapshot's existing
//! indexes keep whatever method the catalog said, including an extension's.
//!
//! idxadvise generates B-tree candidates only. HypoPG also simulates hash and BRIN indexes
//! (and bloom, an extension), not GIN, GiST or SP-GiST; each method a later rule proposes
//! needs its own size model (`whatif::size`) and its own rendering in every output target.

use serde::{Deserialize, Serialize};

use crate::pg::quote::ident;

/// An index access method.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum IndexMethod {
    /// `btree`: ordered, multi-column, UNIQUE, INCLUDE; the only method candidates use today.
    #[default]
    Btree,
    /// `hash`: equality on one column.
    Hash,
    /// `gist`.
    Gist,
    /// `spgist`.
    SpGist,
    /// `gin`: containment, full text, trigrams.
    Gin,
    /// `brin`: block ranges of a column stored in its own order.
    Brin,
    /// Any other access method (an extension's, e.g. `bloom`), by its name.
    Other(String),
}

impl IndexMethod {
    /// PostgreSQL's name for the method (`pg_am.amname`).
    pub fn name(&self) -> &str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gist => "gist",
            IndexMethod::SpGist => "spgist",
            IndexMethod::Gin => "gin",
            IndexMethod::Brin => "brin",
            IndexMethod::Other(name) => name,
        }
    }

    /// The method as it follows `USING` in `CREATE INDEX`: a built-in's name as is, any other
    /// quoted as an identifier.
    pub fn sql(&self) -> String {
        match self {
            IndexMethod::Other(name) => ident(name),
            m => m.name().to_string(),
        }
    }

    /// A B-tree.
    pub fn is_btree(&self) -> bool {
        *self == IndexMethod::Btree
    }

    /// The index keeps its keys in order: a key has a direction and NULLS placement, the
    /// index serves ORDER BY and ranges, and it can be read backwards (B-tree only).
    pub fn is_ordered(&self) -> bool {
        self.is_btree()
    }

    /// HypoPG can create a hypothetical index of this method (B-tree, hash, BRIN, bloom).
    pub fn hypopg_simulates(&self) -> bool {
        match self {
            IndexMethod::Btree | IndexMethod::Hash | IndexMethod::Brin => true,
            IndexMethod::Other(name) => name == "bloom",
            IndexMethod::Gist | IndexMethod::SpGist | IndexMethod::Gin => false,
        }
    }
}

impl std::fmt::Display for IndexMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<&str> for IndexMethod {
    fn from(name: &str) -> IndexMethod {
        match name {
            "btree" => IndexMethod::Btree,
            "hash" => IndexMethod::Hash,
            "gist" => IndexMethod::Gist,
            "spgist" => IndexMethod::SpGist,
            "gin" => IndexMethod::Gin,
            "brin" => IndexMethod::Brin,
            other => IndexMethod::Other(other.to_string()),
        }
    }
}

impl From<String> for IndexMethod {
    fn from(name: String) -> IndexMethod {
        IndexMethod::from(name.as_str())
    }
}

impl From<IndexMethod> for String {
    fn from(m: IndexMethod) -> String {
        m.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for name in ["btree", "hash", "gist", "spgist", "gin", "brin", "bloom"] {
            let m = IndexMethod::from(name);
            assert_eq!(m.name(), name);
            let json = serde_json::to_string(&m).expect("serialises");
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<IndexMethod>(&json).expect("parses"),
                m
            );
        }
        assert_eq!(
            IndexMethod::from("bloom"),
            IndexMethod::Other("bloom".into())
        );
    }

    #[test]
    fn what_each_method_can_do() {
        assert!(IndexMethod::Btree.is_ordered() && IndexMethod::Btree.hypopg_simulates());
        assert!(!IndexMethod::Hash.is_ordered() && IndexMethod::Hash.hypopg_simulates());
        assert!(IndexMethod::Brin.hypopg_simulates());
        assert!(IndexMethod::from("bloom").hypopg_simulates());
        assert!(!IndexMethod::Gin.hypopg_simulates() && !IndexMethod::Gist.hypopg_simulates());
        assert_eq!(IndexMethod::Gin.sql(), "gin");
        assert_eq!(IndexMethod::from("my\"am").sql(), "\"my\"\"am\"");
    }
}
