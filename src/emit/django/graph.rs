//! Stage `emit/django`: an app's migration graph from the files on disk, its leaf and the next
//! migration number.
//!
//! Pure. Invariant: a new migration depends on the app's single leaf; several leaves are a
//! refusal (Django's own `makemigrations --merge` advice), never a guess.
//!
//! Squashed migrations: a migration with `replaces` stands for the ones it replaces (as
//! Django does when none or all of them are applied; we never read `django_migrations`), so
//! dependencies on a replaced migration point at the squashed one and replaced files are
//! not leaves.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use super::introspect::DjangoApp;

/// Why no leaf could be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The app has no migrations folder.
    #[error("app {0:?} has no migrations\n(run `python manage.py makemigrations {0}` first)")]
    NoMigrations(String),
    /// Several leaves.
    #[error("conflicting migrations in app {app:?}: {} are all leaves\n(run `python manage.py makemigrations --merge {app}` first, then idxadvise again; no file was written)", leaves.join(", "))]
    SeveralLeaves {
        /// App label.
        app: String,
        /// The leaves.
        leaves: Vec<String>,
    },
}

/// The leaf migrations of an app (sorted), from the files' `dependencies` within the app.
pub fn leaves(app: &DjangoApp) -> Vec<String> {
    let replaced_by: BTreeMap<&str, &str> = app
        .migrations
        .iter()
        .flat_map(|m| {
            m.replaces
                .iter()
                .filter(|(a, _)| a == &app.label)
                .map(move |(_, r)| (r.as_str(), m.name.as_str()))
        })
        .collect();
    let resolve = |n: &str| -> String {
        let mut cur = n;
        let mut hops = 0;
        while let Some(next) = replaced_by.get(cur) {
            cur = next;
            hops += 1;
            if hops > 1000 {
                break;
            }
        }
        cur.to_string()
    };
    let mut graph: DiGraph<String, ()> = DiGraph::new();
    let mut nodes: BTreeMap<String, NodeIndex> = BTreeMap::new();
    for m in &app.migrations {
        if replaced_by.contains_key(m.name.as_str()) {
            continue;
        }
        nodes.insert(m.name.clone(), graph.add_node(m.name.clone()));
    }
    for m in &app.migrations {
        let Some(&child) = nodes.get(&resolve(&m.name)) else {
            continue;
        };
        for (dep_app, dep) in &m.dependencies {
            if dep_app != &app.label {
                continue;
            }
            if let Some(&parent) = nodes.get(&resolve(dep)) {
                if parent != child {
                    graph.update_edge(parent, child, ());
                }
            }
        }
    }
    let mut out: Vec<String> = graph
        .node_indices()
        .filter(|&n| {
            graph
                .neighbors_directed(n, Direction::Outgoing)
                .next()
                .is_none()
        })
        .map(|n| graph[n].clone())
        .collect();
    out.sort();
    out
}

/// The app's single leaf, or why not.
pub fn single_leaf(app: &DjangoApp) -> Result<Option<String>, LeafError> {
    if app.migrations_dir.is_none() {
        return Err(LeafError::NoMigrations(app.label.clone()));
    }
    let l = leaves(app);
    match l.len() {
        0 => Ok(None),
        1 => Ok(l.into_iter().next()),
        _ => Err(LeafError::SeveralLeaves {
            app: app.label.clone(),
            leaves: l,
        }),
    }
}

/// The number of a migration name (`0004_x` → 4; `0001_squashed_0004_x` → 4: Django's own
/// `makemigrations` numbers after the last squashed number).
pub fn number(name: &str) -> Option<u32> {
    let tail = match name.find("_squashed_") {
        Some(i) => &name[i + "_squashed_".len()..],
        None => name,
    };
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The next migration number after the leaf (1 when the app has none yet).
pub fn next_number(leaf: Option<&str>) -> u32 {
    leaf.and_then(number).map_or(1, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::django::introspect::DiskMigration;

    fn app(migs: &[(&str, &[&str], &[&str])]) -> DjangoApp {
        DjangoApp {
            label: "shop".into(),
            name: "shop".into(),
            path: "/p/shop".into(),
            migrations_module: Some("shop.migrations".into()),
            migrations_dir: Some("/p/shop/migrations".into()),
            migrations: migs
                .iter()
                .map(|(n, deps, repl)| DiskMigration {
                    name: n.to_string(),
                    dependencies: deps
                        .iter()
                        .map(|d| match d.split_once(':') {
                            Some((a, n)) => (a.to_string(), n.to_string()),
                            None => ("shop".to_string(), d.to_string()),
                        })
                        .collect(),
                    replaces: repl
                        .iter()
                        .map(|r| ("shop".to_string(), r.to_string()))
                        .collect(),
                })
                .collect(),
            leaves: vec![],
        }
    }

    #[test]
    fn linear_chain_has_one_leaf() {
        let a = app(&[
            ("0001_initial", &["auth:0012_x"], &[]),
            ("0002_a", &["0001_initial"], &[]),
            ("0003_b", &["0002_a"], &[]),
        ]);
        assert_eq!(single_leaf(&a), Ok(Some("0003_b".into())));
        assert_eq!(next_number(Some("0003_b")), 4);
    }

    #[test]
    fn two_leaves_refuse_with_merge_advice() {
        let a = app(&[
            ("0001_initial", &[], &[]),
            ("0002_a", &["0001_initial"], &[]),
            ("0002_b", &["0001_initial"], &[]),
        ]);
        let e = single_leaf(&a).unwrap_err();
        assert!(e.to_string().contains("makemigrations --merge shop"), "{e}");
        assert!(e.to_string().contains("0002_a, 0002_b"), "{e}");
    }

    #[test]
    fn squashed_replaces_its_originals() {
        let a = app(&[
            ("0001_initial", &[], &[]),
            ("0002_a", &["0001_initial"], &[]),
            ("0003_b", &["0002_a"], &[]),
            (
                "0001_squashed_0003_b",
                &[],
                &["0001_initial", "0002_a", "0003_b"],
            ),
            ("0004_c", &["0003_b"], &[]),
        ]);
        assert_eq!(leaves(&a), vec!["0004_c"]);
        let only_squashed = app(&[
            ("0001_initial", &[], &[]),
            ("0002_a", &["0001_initial"], &[]),
            ("0001_squashed_0002_a", &[], &["0001_initial", "0002_a"]),
        ]);
        let leaf = single_leaf(&only_squashed).unwrap();
        assert_eq!(leaf.as_deref(), Some("0001_squashed_0002_a"));
        assert_eq!(next_number(leaf.as_deref()), 3);
        assert_eq!(next_number(None), 1);
    }
}
