//! Stage `emit/django`: a recommended index that a model already declares in `Meta.indexes`
//! under a name that no migration creates yet (a pending model change).
//!
//! Pure. Invariant: a declared name is given to a recommended index only when Django would
//! build exactly that index from the entry (same table, same fields in the same order and
//! direction, no expression, condition, INCLUDE, operator class or other option), the
//! migrations on disk do not create it, and the database has no relation, index or constraint
//! of that name. Every other declared name stays reserved.
//!
//! Problem: `Meta.indexes` declares `models.Index(fields=["product", "viewed_at"],
//! name="storefront__product_619176_idx")` but `makemigrations` was never run for it, and the
//! recommended index is exactly that one. A new name for it leaves the index declared twice,
//! and the next `makemigrations` adds the declared one as a duplicate.
//! What we do: name the recommended index with the declared name, so its
//! `AddIndexConcurrently` brings the migration state in line with the model, and tell the user
//! that the model already declares it (no second `Meta.indexes` entry).
//! Example: the entry above, no migration adding it, no such index in the database →
//! the migration `…_storefront__product_619176_idx.py` creates `storefront__product_619176_idx`.

use std::collections::BTreeSet;

use super::introspect::{DjangoIndex, DjangoModel, DjangoProject};
use super::mapping::{map_index, model_for, Mapping};
use crate::model::{Catalog, IndexSpec, KeyExpr};
use crate::naming::scheme::is_plain_field_index;

/// The name under which the model of `spec`'s table declares exactly this index, when no
/// migration creates it and the database has nothing of that name; `None` otherwise (also when
/// the migrations' state is not known).
pub fn declared_name(
    project: &DjangoProject,
    catalog: &Catalog,
    spec: &IndexSpec,
) -> Option<String> {
    if !is_plain_field_index(spec) || !spec.method.is_btree() {
        return None;
    }
    if !matches!(
        map_index(project, spec, ""),
        Mapping::Index { split: false, .. }
    ) {
        return None;
    }
    let model = model_for(project, spec)?;
    let migrated = model.migrated_indexes.as_ref()?;
    let same: Vec<&DjangoIndex> = model
        .indexes
        .iter()
        .filter(|ix| declares(model, ix, spec))
        .collect();
    // One already created by a migration: that one is the model's, never a second.
    if same.iter().any(|ix| migrated.contains(&ix.name)) {
        return None;
    }
    let taken: BTreeSet<&str> = catalog.relation_names().collect();
    same.into_iter()
        .find(|ix| !taken.contains(ix.name.as_str()))
        .map(|ix| ix.name.clone())
}

/// Whether the `Meta.indexes` entry `ix` of `model` builds exactly `spec` (a plain field
/// index: each key a column, ascending or descending).
pub fn declares(model: &DjangoModel, ix: &DjangoIndex, spec: &IndexSpec) -> bool {
    if !ix.expressions.is_empty()
        || ix.condition.is_some()
        || !ix.include.is_empty()
        || !ix.opclasses.is_empty()
        || !ix.other.is_empty()
        || ix.fields.len() != spec.keys.len()
        || model.db_table != spec.table
        || !is_plain_field_index(spec)
    {
        return false;
    }
    ix.fields.iter().zip(&spec.keys).all(|(f, k)| {
        let (desc, name) = match f.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, f.as_str()),
        };
        let KeyExpr::Column(column) = &k.expr else {
            return false;
        };
        k.desc == desc
            && model
                .fields
                .iter()
                .any(|fd| fd.name == name && &fd.column == column)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExistingIndex, IndexKey, Table};

    /// `storefront.ProductView` declaring `entries` (name, fields), its migrations creating
    /// `migrated` (`None`: not known).
    fn project(entries: &[(&str, &[&str])], migrated: Option<&[&str]>) -> DjangoProject {
        let field = |name: &str, column: &str| {
            serde_json::json!({"name": name, "attname": column, "column": column,
                "is_relation": name == "product", "internal_type": "X"})
        };
        let indexes: Vec<serde_json::Value> = entries
            .iter()
            .map(|(n, f)| {
                serde_json::json!({"name": n, "fields": f, "expressions": [], "condition": null,
                    "include": [], "opclasses": []})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "root": "/p", "django_version": "5.2", "m2m_tables": [], "apps": [],
            "models": [{
                "app_label": "storefront", "model_name": "ProductView",
                "db_table": "storefront_productview", "managed": true, "proxy": false,
                "source_file": "/p/storefront/models.py", "source_line": 3,
                "fields": [field("id", "id"), field("product", "product_id"),
                           field("viewed_at", "viewed_at")],
                "indexes": indexes, "constraints": [],
                "migrated_indexes": migrated,
            }],
        }))
        .expect("fixture project")
    }

    fn spec(keys: &[(&str, bool)]) -> IndexSpec {
        IndexSpec::on(
            "public",
            "storefront_productview",
            keys.iter()
                .map(|(c, desc)| IndexKey {
                    desc: *desc,
                    ..IndexKey::col(c)
                })
                .collect(),
        )
    }

    const NAME: &str = "storefront__product_619176_idx";

    #[test]
    fn a_pending_declared_index_gives_its_name() {
        let p = project(&[(NAME, &["product", "viewed_at"])], Some(&[]));
        let s = spec(&[("product_id", false), ("viewed_at", false)]);
        assert_eq!(
            declared_name(&p, &Catalog::default(), &s).as_deref(),
            Some(NAME)
        );
    }

    #[test]
    fn anything_else_keeps_the_name_reserved() {
        let cat = Catalog::default();
        let s = spec(&[("product_id", false), ("viewed_at", false)]);
        // Created by a migration already, or the migrations' state not known.
        let p = project(&[(NAME, &["product", "viewed_at"])], Some(&[NAME]));
        assert_eq!(declared_name(&p, &cat, &s), None);
        let p = project(&[(NAME, &["product", "viewed_at"])], None);
        assert_eq!(declared_name(&p, &cat, &s), None);
        // Another order, direction or length.
        let pending = project(&[(NAME, &["product", "viewed_at"])], Some(&[]));
        for other in [
            spec(&[("viewed_at", false), ("product_id", false)]),
            spec(&[("product_id", false), ("viewed_at", true)]),
            spec(&[("product_id", false)]),
        ] {
            assert_eq!(declared_name(&pending, &cat, &other), None, "{other:?}");
        }
        // A descending entry matches only a descending key.
        let desc = project(&[(NAME, &["product", "-viewed_at"])], Some(&[]));
        assert_eq!(
            declared_name(
                &desc,
                &cat,
                &spec(&[("product_id", false), ("viewed_at", true)])
            )
            .as_deref(),
            Some(NAME)
        );
        assert_eq!(declared_name(&desc, &cat, &s), None);
        // A partial or INCLUDE variant of the spec is not the plain entry.
        let mut partial = s.clone();
        partial.include = vec!["id".into()];
        assert_eq!(declared_name(&pending, &cat, &partial), None);
        // An entry with a condition or another option is not the plain index.
        let mut cond = pending.clone();
        cond.models[0].indexes[0].condition =
            Some("<Q: (AND: ('viewed_at__isnull', False))>".into());
        assert_eq!(declared_name(&cond, &cat, &s), None);
        let mut space = pending.clone();
        space.models[0].indexes[0].other = vec!["db_tablespace".into()];
        assert_eq!(declared_name(&space, &cat, &s), None);
        // The database already has something of that name.
        let taken = Catalog {
            tables: vec![Table {
                oid: 1,
                indexes: vec![ExistingIndex::btree_on(NAME, &[])],
                ..Table::named("public", "storefront_productview")
            }],
            search_path: vec!["public".into()],
        };
        assert_eq!(declared_name(&pending, &taken, &s), None);
    }
}
