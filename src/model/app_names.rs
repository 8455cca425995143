//! The application's names for the analysed tables: which model class a table belongs to,
//! which field each column is, and how a foreign key is named from the model it points at —
//! for the examples the triage shows ("`Line.objects.filter(…)`" rather than a generic
//! `Order`).
//!
//! Stage: none (plain data, pure). Two sources, best first:
//! 1. the Django project (`--django-project`), read by its own Django
//!    (`emit::django::names`): exact class, field and relation names;
//! 2. the database's `django_content_type` rows (`app_label`, `model`), read by `collect`,
//!    matched to tables by Django's default `db_table` rule `<app_label>_<model>`.
//!
//! Problem: `django_content_type.model` is the class name lower-cased (`orderline` for
//! `OrderLine`), so the class name cannot be recovered exactly, and tables with a
//! `Meta.db_table` of their own do not match at all. What we do: a matched table's class is
//! the model name with its first letter capitalised (`Line`, `Orderline`), marked
//! [`NameSource::ContentTypes`] so the report can say it is a guess; fields are Django's
//! defaults (a single-column foreign key `customer_id` is the field `customer`, other columns
//! are named as the column); a relation is reached back by the referencing model's name
//! (`Count("order")`, `prefetch_related("order_set")`, Django's defaults without
//! `related_name`). Invariant: a table neither source knows has no entry, and its example
//! stays generic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Catalog;

/// One row of `django_content_type`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentType {
    /// `app_label` (`order`).
    pub app_label: String,
    /// `model`: the model's class name, lower-cased (`line`).
    pub model: String,
}

/// Where a model's names come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// The project's own Django: exact.
    Project,
    /// `django_content_type` and Django's default `db_table`: the class name's capitals are
    /// a guess.
    ContentTypes,
}

/// A foreign key as seen from the model it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverse {
    /// The name in lookups and aggregates (`Count("order")`, `filter(order__status=…)`).
    pub query_name: String,
    /// The reverse accessor (`order_set`), for `prefetch_related()`; `None` when hidden
    /// (`related_name="+"`).
    pub accessor: Option<String>,
}

/// One table's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelName {
    /// The class name (`Order`).
    pub class: String,
    /// Where it comes from.
    pub source: NameSource,
    /// Column → field name (`customer_id` → `customer`); a column not listed is named as it is.
    pub fields: BTreeMap<String, String>,
    /// Foreign-key column → how the model it points at reaches this one.
    pub reverse: BTreeMap<String, Reverse>,
}

impl ModelName {
    /// The field name of `column` (the column itself when unknown).
    pub fn field<'a>(&'a self, column: &'a str) -> &'a str {
        self.fields.get(column).map_or(column, String::as_str)
    }

    /// How the model that foreign-key `column` points at reaches this one.
    pub fn reverse(&self, column: &str) -> Option<&Reverse> {
        self.reverse.get(column)
    }
}

/// The models of the analysed tables, by table name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AppNames {
    /// Table name → its model.
    pub tables: BTreeMap<String, ModelName>,
}

impl AppNames {
    /// The model of `table`, when known.
    pub fn model(&self, table: &str) -> Option<&ModelName> {
        self.tables.get(table)
    }

    /// Nothing known.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Add `better`'s models, replacing this one's for the same tables.
    pub fn extend(&mut self, better: AppNames) {
        self.tables.extend(better.tables);
    }

    /// The best source any model comes from.
    pub fn best_source(&self) -> Option<NameSource> {
        self.tables.values().map(|m| m.source).min()
    }

    /// Match `django_content_type` rows to the catalog's tables by Django's default
    /// `db_table` (`<app_label>_<model>`); see the module header for what is guessed.
    pub fn from_content_types(rows: &[ContentType], catalog: &Catalog) -> AppNames {
        let mut by_table: BTreeMap<String, &ContentType> = BTreeMap::new();
        for ct in rows {
            by_table
                .entry(format!("{}_{}", ct.app_label, ct.model))
                .or_insert(ct);
        }
        let mut tables = BTreeMap::new();
        for t in &catalog.tables {
            let Some(ct) = by_table.get(&t.name) else {
                continue;
            };
            if tables.contains_key(&t.name) {
                continue;
            }
            let mut fields = BTreeMap::new();
            let mut reverse = BTreeMap::new();
            for c in t
                .constraints
                .iter()
                .filter(|c| c.kind == "f" && c.columns.len() == 1)
            {
                let col = &c.columns[0];
                if let Some(name) = col.strip_suffix("_id").filter(|n| !n.is_empty()) {
                    fields.insert(col.clone(), name.to_string());
                }
                reverse.insert(
                    col.clone(),
                    Reverse {
                        query_name: ct.model.clone(),
                        accessor: Some(format!("{}_set", ct.model)),
                    },
                );
            }
            tables.insert(
                t.name.clone(),
                ModelName {
                    class: capitalised(&ct.model),
                    source: NameSource::ContentTypes,
                    fields,
                    reverse,
                },
            );
        }
        AppNames { tables }
    }
}

/// `line` → `Line`, `orderline` → `Orderline` (the real capitals are not in the database).
fn capitalised(model: &str) -> String {
    let mut c = model.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Constraint;
    use crate::model::Table;

    fn table(name: &str, fks: &[(&str, &str)]) -> Table {
        Table {
            oid: 1,
            constraints: fks
                .iter()
                .map(|(col, target)| Constraint {
                    name: format!("{name}_{col}_fk"),
                    kind: "f".into(),
                    columns: vec![col.to_string()],
                    definition: format!(
                        "FOREIGN KEY ({col}) REFERENCES {target}(id) DEFERRABLE INITIALLY DEFERRED"
                    ),
                })
                .collect(),
            ..Table::named("public", name)
        }
    }

    fn ct(app: &str, model: &str) -> ContentType {
        ContentType {
            app_label: app.into(),
            model: model.into(),
        }
    }

    #[test]
    fn content_types_name_oscar_style_tables_by_the_default_db_table() {
        let catalog = Catalog {
            tables: vec![
                table(
                    "order_line",
                    &[
                        ("order_id", "order_order"),
                        ("product_id", "catalogue_product"),
                    ],
                ),
                table("order_order", &[]),
                table("legacy_things", &[]),
            ],
            search_path: vec![],
        };
        let names = AppNames::from_content_types(
            &[
                ct("order", "line"),
                ct("order", "order"),
                ct("shop", "orderitem"),
            ],
            &catalog,
        );
        let line = names.model("order_line").expect("order_line");
        assert_eq!(line.class, "Line");
        assert_eq!(line.source, NameSource::ContentTypes);
        assert_eq!(line.field("order_id"), "order");
        assert_eq!(line.field("quantity"), "quantity");
        assert_eq!(
            line.reverse("order_id"),
            Some(&Reverse {
                query_name: "line".into(),
                accessor: Some("line_set".into())
            })
        );
        assert_eq!(
            names.model("order_order").map(|m| m.class.as_str()),
            Some("Order")
        );
        // A table with its own db_table, and a content type without a table: nothing.
        assert_eq!(names.model("legacy_things"), None);
        assert_eq!(names.tables.len(), 2);
        assert_eq!(names.best_source(), Some(NameSource::ContentTypes));
        // A lower-cased multi-word class cannot be recovered: the guess keeps one capital.
        assert_eq!(capitalised("orderitem"), "Orderitem");
    }

    #[test]
    fn the_project_replaces_the_guesses() {
        let catalog = Catalog {
            tables: vec![table("shop_orderitem", &[("order_id", "shop_order")])],
            search_path: vec![],
        };
        let mut names = AppNames::from_content_types(&[ct("shop", "orderitem")], &catalog);
        let exact = ModelName {
            class: "OrderItem".into(),
            source: NameSource::Project,
            fields: [("order_id".to_string(), "order".to_string())].into(),
            reverse: BTreeMap::new(),
        };
        names.extend(AppNames {
            tables: [("shop_orderitem".to_string(), exact.clone())].into(),
        });
        assert_eq!(names.model("shop_orderitem"), Some(&exact));
        assert_eq!(names.best_source(), Some(NameSource::Project));
    }
}
