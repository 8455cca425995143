//! Stage `emit/django`: the project's names for its tables, from what its own Django said
//! ([`super::introspect`]): each concrete model's class, its fields by column and how each
//! foreign key is reached from the model it points at. For the triage's examples
//! ([`crate::model::AppNames`]); exact, unlike the guesses from `django_content_type`.
//!
//! Pure. Invariant: nothing is guessed here; an auto-created many-to-many table has no model
//! and no entry, and a proxy model never names a table.

use std::collections::BTreeMap;

use super::introspect::DjangoProject;
use crate::model::app_names::{AppNames, ModelName, NameSource, Reverse};

/// The names of every concrete model's table.
pub fn app_names(project: &DjangoProject) -> AppNames {
    let mut tables = BTreeMap::new();
    for m in project.models.iter().filter(|m| !m.proxy) {
        let fields = m
            .fields
            .iter()
            .map(|f| (f.column.clone(), f.name.clone()))
            .collect();
        let reverse = m
            .fields
            .iter()
            .filter(|f| f.is_relation)
            .filter_map(|f| {
                Some((
                    f.column.clone(),
                    Reverse {
                        query_name: f.related_query_name.clone()?,
                        accessor: f.accessor.clone(),
                    },
                ))
            })
            .collect();
        tables.entry(m.db_table.clone()).or_insert(ModelName {
            class: m.model_name.clone(),
            source: NameSource::Project,
            fields,
            reverse,
        });
    }
    AppNames { tables }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> DjangoProject {
        serde_json::from_str(include_str!("../../../tests/fixtures/django/shop.json"))
            .expect("shop fixture")
    }

    #[test]
    fn classes_fields_and_relations_come_from_the_project() {
        let mut project = shop();
        for m in &mut project.models {
            for f in m.fields.iter_mut().filter(|f| f.is_relation) {
                f.related_query_name = Some(m.model_name.to_lowercase());
                f.accessor = Some(format!("{}_set", m.model_name.to_lowercase()));
            }
        }
        let names = app_names(&project);
        let item = names.model("shop_orderitem").expect("shop_orderitem");
        assert_eq!(item.class, "OrderItem");
        assert_eq!(item.source, NameSource::Project);
        assert_eq!(item.field("order_id"), "order");
        assert_eq!(
            item.reverse("order_id").map(|r| r.query_name.as_str()),
            Some("orderitem")
        );
        // A db_table of its own, a db_column of its own.
        assert_eq!(
            names.model("reviews").map(|m| m.class.as_str()),
            Some("Review")
        );
        assert_eq!(
            names.model("shop_product").map(|m| m.field("sku_code")),
            Some("sku")
        );
        // The auto-created many-to-many table has no model.
        assert_eq!(names.model("shop_product_tags"), None);
    }
}
