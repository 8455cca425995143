//! Stage `naming`: one name for each index to create, chosen right after `select` and before
//! any output, so the report, every output target (`emit`) and `verify`'s baseline all use the
//! same one.
//!
//! Pure, and target-neutral: it never looks at an output target's files. Invariant: a name is
//! chosen once per index ([`scheme`]: Django's own name where Django gives one), and is unique
//! against the catalog's relations, indexes and constraints and every name the output target
//! reserves (Django: each `Meta.indexes` entry of the project), except a name the target
//! declares for exactly that index where nothing creates it yet ([`name_declared`]).

pub mod scheme;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Catalog, IndexSpec};
use crate::select::{Proposed, Recommendation};

/// A recommendation whose indexes to create have their names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Named {
    /// What `select` chose.
    pub rec: Recommendation,
    /// `names[i]` is the name of `rec.create[i]`.
    pub names: Vec<String>,
}

impl Named {
    /// Each index to create with its name, in the recommendation's order.
    pub fn creates(&self) -> impl Iterator<Item = (&Proposed, &str)> {
        self.rec
            .create
            .iter()
            .zip(self.names.iter().map(String::as_str))
    }

    /// Candidate → name (what the plan diffs and the report look names up by).
    pub fn by_candidate(&self) -> BTreeMap<usize, String> {
        self.creates()
            .map(|(p, n)| (p.candidate, n.to_string()))
            .collect()
    }
}

/// Name every index `rec` creates, avoiding the catalog's names and `reserved` (names an output
/// target already uses, e.g. the Django project's `Meta.indexes` entries).
pub fn name<'a>(
    rec: Recommendation,
    catalog: &Catalog,
    reserved: impl IntoIterator<Item = &'a str>,
) -> Named {
    name_declared(rec, catalog, reserved, |_| None)
}

/// [`name`], except that an index for which `declared` gives a name (one the output target
/// already declares for exactly that index and nothing creates yet, see
/// [`crate::emit::Target::declared_name`]) gets that name, once.
pub fn name_declared<'a>(
    rec: Recommendation,
    catalog: &Catalog,
    reserved: impl IntoIterator<Item = &'a str>,
    declared: impl Fn(&IndexSpec) -> Option<String>,
) -> Named {
    let reserved: Vec<&str> = reserved.into_iter().collect();
    let mut namer = scheme::Namer::new(catalog.relation_names().chain(reserved));
    let mut given: BTreeSet<String> = BTreeSet::new();
    let names = rec
        .create
        .iter()
        .map(|p| match declared(&p.spec) {
            Some(d) if given.insert(d.clone()) => d,
            _ => namer.name(&p.spec),
        })
        .collect();
    Named { rec, names }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IndexKey, IndexSpec};

    fn proposed(candidate: usize, table: &str, column: &str) -> Proposed {
        Proposed::of(
            candidate,
            IndexSpec::on("public", table, vec![IndexKey::col(column)]),
        )
    }

    #[test]
    fn names_avoid_reserved_names_and_each_other() {
        let rec = Recommendation {
            create: vec![
                proposed(4, "shop_order", "status"),
                proposed(9, "shop_order", "status"),
            ],
            ..Recommendation::default()
        };
        let plain = scheme::base_name(&rec.create[0].spec, 0);
        assert_eq!(plain, "shop_order_status_63c2c0_idx");
        let free = name(rec.clone(), &Catalog::default(), []);
        assert_eq!(free.names[0], plain);
        assert_ne!(free.names[1], plain);
        let taken = name(rec, &Catalog::default(), [plain.as_str()]);
        assert!(!taken.names.contains(&plain), "{:?}", taken.names);
        assert_eq!(taken.names.len(), 2);
        assert_ne!(taken.names[0], taken.names[1]);
        let by = taken.by_candidate();
        assert_eq!(by[&4], taken.names[0]);
        assert_eq!(by[&9], taken.names[1]);
    }

    /// A name declared for exactly the spec is given once, even though it is reserved; a
    /// second identical spec gets a name of its own.
    #[test]
    fn a_declared_name_is_given_once() {
        let rec = Recommendation {
            create: vec![
                proposed(4, "shop_order", "status"),
                proposed(9, "shop_order", "status"),
            ],
            ..Recommendation::default()
        };
        let declared = "shop_order_status_declared_idx";
        let named = name_declared(rec, &Catalog::default(), [declared], |s| {
            (s.table == "shop_order").then(|| declared.to_string())
        });
        assert_eq!(named.names[0], declared);
        assert_ne!(named.names[1], declared);
    }
}
