//! Stage `emit/django`: a recommended [`IndexSpec`] in Django's words: app, model, field names
//! and a `models.Index(...)`, or the reason it has to be `migrations.RunSQL`.
//!
//! Pure. Invariants: columns become field names only through the introspection (FK
//! `customer`, never `customer_id`; `sku` for `db_column="sku_code"`), never guessed; lists
//! everywhere (Django compares `deconstruct()`, and a tuple is not a list); keyword arguments
//! in the order Django's migration writer uses (sorted), expressions first.

use std::collections::{BTreeMap, BTreeSet};

use super::introspect::{DjangoField, DjangoModel, DjangoProject};
use super::pyfmt::{str_list, Arg, Py};
use super::pystr::python_str_black;
use crate::model::{IndexKey, IndexSpec, KeyExpr, PredTerm};

/// Where and how an index goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    /// An editable model: `AddIndexConcurrently` in its app, plus a `Meta.indexes` line.
    Index {
        /// App label.
        app_label: String,
        /// Model class name.
        model_name: String,
        /// The `models.Index(...)` expression.
        index: Py,
        /// Import lines the expression needs besides `from django.db import models`.
        imports: BTreeSet<String>,
        /// Build it with SQL and record `AddIndex` in the state only
        /// (`SeparateDatabaseAndState`): the index has an `OpClass` expression, which Django
        /// renders as invalid SQL unless `django.contrib.postgres` is installed.
        split: bool,
    },
    /// Plain SQL in a migration (`migrations.RunSQL`, no state operations).
    RunSql {
        /// The app whose migrations hold the file: the model's own app when the user can edit
        /// it, else `None` (the one chosen with `--migrations-app`).
        host_app: Option<String>,
        /// The app that owns the table (its leaf becomes a dependency), if Django knows it.
        owner_app: Option<String>,
        /// Why not `AddIndexConcurrently`, for the file header and the report.
        reason: String,
    },
}

/// The model of a table, if Django has one (concrete, not proxy).
pub fn model_for<'a>(project: &'a DjangoProject, spec: &IndexSpec) -> Option<&'a DjangoModel> {
    project
        .models
        .iter()
        .find(|m| m.db_table == spec.table && !m.proxy)
}

/// Map a spec named `name` onto the project.
pub fn map_index(project: &DjangoProject, spec: &IndexSpec, name: &str) -> Mapping {
    if let Some(m2m) = project.m2m_tables.iter().find(|t| t.db_table == spec.table) {
        return Mapping::RunSql {
            host_app: project
                .is_own_app(&m2m.app_label)
                .then(|| m2m.app_label.clone()),
            owner_app: Some(m2m.app_label.clone()),
            reason: format!(
                "{} is the auto-created many-to-many table of {}.{}: it has no Meta.indexes",
                spec.table, m2m.owner_app, m2m.owner_model
            ),
        };
    }
    let Some(model) = model_for(project, spec) else {
        return Mapping::RunSql {
            host_app: None,
            owner_app: None,
            reason: format!("no Django model has db_table {:?}", spec.table),
        };
    };
    let label = format!("{}.{}", model.app_label, model.model_name);
    if !project.is_editable(model) {
        return Mapping::RunSql {
            host_app: None,
            owner_app: Some(model.app_label.clone()),
            reason: format!(
                "model {label} is not part of this project ({}): its Meta.indexes cannot be edited",
                model
                    .source_file
                    .as_ref()
                    .map_or("source unknown".to_string(), |p| p.display().to_string())
            ),
        };
    }
    let run_sql = |reason: String| Mapping::RunSql {
        host_app: Some(model.app_label.clone()),
        owner_app: Some(model.app_label.clone()),
        reason,
    };
    if !model.managed {
        return run_sql(format!(
            "model {label} is unmanaged (managed = False): Django does not migrate its table"
        ));
    }
    if !spec.method.is_btree() {
        return run_sql(format!(
            "a {} index: models.Index is a B-tree, so the SQL is run as it is",
            spec.method
        ));
    }
    match index_expr(model, spec, name) {
        Ok((index, imports)) => Mapping::Index {
            app_label: model.app_label.clone(),
            model_name: model.model_name.clone(),
            split: imports.iter().any(|i| i.ends_with(" OpClass"))
                && !project.has_contrib_postgres(),
            index,
            imports,
        },
        Err(why) => run_sql(format!("models.Index cannot express it: {why}")),
    }
}

fn field<'a>(model: &'a DjangoModel, column: &str) -> Result<&'a DjangoField, String> {
    model
        .fields
        .iter()
        .find(|f| f.column == column)
        .ok_or_else(|| {
            format!(
                "column {column:?} is not a field of {}.{}",
                model.app_label, model.model_name
            )
        })
}

/// Non-default NULLS order of a key: `Some(true)` NULLS FIRST on ASC, `Some(false)` NULLS LAST
/// on DESC.
fn nulls(k: &IndexKey) -> Option<bool> {
    match (k.desc, k.nulls_first) {
        (false, Some(true)) => Some(true),
        (true, Some(false)) => Some(false),
        _ => None,
    }
}

/// `models.Index(...)` for a spec on an editable model, or why not.
pub fn index_expr(
    model: &DjangoModel,
    spec: &IndexSpec,
    name: &str,
) -> Result<(Py, BTreeSet<String>), String> {
    if spec.unique {
        return Err("a unique index is a UniqueConstraint in Django".into());
    }
    if spec.keys.is_empty() {
        return Err("no key".into());
    }
    let mut imports = BTreeSet::new();
    let mut args: Vec<Arg> = vec![];
    let mut kwargs: BTreeMap<&str, Py> = BTreeMap::new();
    let field_mode = spec
        .keys
        .iter()
        .all(|k| matches!(k.expr, KeyExpr::Column(_)) && nulls(k).is_none())
        && (spec.keys.iter().all(|k| k.opclass.is_none())
            || spec.keys.iter().all(|k| k.opclass.is_some()));
    if field_mode {
        let mut fields = vec![];
        let mut opclasses = vec![];
        for k in &spec.keys {
            let f = field(model, k.expr.column())?;
            fields.push(format!("{}{}", if k.desc { "-" } else { "" }, f.name));
            if let Some(op) = &k.opclass {
                opclasses.push(op.clone());
            }
        }
        kwargs.insert("fields", str_list(&fields));
        if !opclasses.is_empty() {
            kwargs.insert("opclasses", str_list(&opclasses));
        }
    } else {
        for k in &spec.keys {
            let f = field(model, k.expr.column())?;
            let mut e = match &k.expr {
                KeyExpr::Column(_) => Py::call(
                    "models.F",
                    vec![Arg::pos(Py::atom(python_str_black(&f.name)))],
                ),
                KeyExpr::Upper(_) => {
                    imports.insert("from django.db.models.functions import Upper".to_string());
                    Py::call("Upper", vec![Arg::pos(Py::atom(python_str_black(&f.name)))])
                }
            };
            if let Some(op) = &k.opclass {
                imports.insert("from django.contrib.postgres.indexes import OpClass".to_string());
                e = Py::call(
                    "OpClass",
                    vec![Arg::pos(e), Arg::kw("name", Py::atom(python_str_black(op)))],
                );
            }
            e = match (k.desc, nulls(k)) {
                (false, None) => e,
                (true, None) => method(e, "desc", vec![]),
                (false, Some(_)) => {
                    method(e, "asc", vec![Arg::kw("nulls_first", Py::atom("True"))])
                }
                (true, Some(_)) => method(e, "desc", vec![Arg::kw("nulls_last", Py::atom("True"))]),
            };
            args.push(Arg::pos(e));
        }
    }
    if !spec.include.is_empty() {
        let inc = spec
            .include
            .iter()
            .map(|c| field(model, c).map(|f| f.name.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        kwargs.insert("include", str_list(&inc));
    }
    if let Some(p) = &spec.predicate {
        let mut lookups: BTreeMap<String, Py> = BTreeMap::new();
        for t in &p.terms {
            let f = field(model, t.column())?;
            let (key, value) = match t {
                PredTerm::IsNull { .. } => (format!("{}__isnull", f.name), Py::atom("True")),
                PredTerm::IsNotNull { .. } => (format!("{}__isnull", f.name), Py::atom("False")),
                PredTerm::IsTrue { .. } => (f.name.clone(), Py::atom("True")),
                PredTerm::IsFalse { .. } => (f.name.clone(), Py::atom("False")),
                PredTerm::Eq { value, .. } => (f.name.clone(), py_value(f, value)?),
            };
            if lookups.insert(key.clone(), value).is_some() {
                return Err(format!("two conditions on {key}"));
            }
        }
        kwargs.insert(
            "condition",
            Py::call(
                "models.Q",
                lookups
                    .into_iter()
                    .map(|(k, v)| Arg {
                        kw: Some(k),
                        value: v,
                    })
                    .collect(),
            ),
        );
    }
    kwargs.insert("name", Py::atom(python_str_black(name)));
    args.extend(kwargs.into_iter().map(|(k, v)| Arg::kw(k, v)));
    Ok((
        Py::Call {
            func: "models.Index".into(),
            args,
            explode: true,
        },
        imports,
    ))
}

fn method(base: Py, name: &str, args: Vec<Arg>) -> Py {
    Py::Method {
        base: Box::new(base),
        name: name.to_string(),
        args,
    }
}

/// A condition value as a Python literal Django adapts to the same SQL constant.
fn py_value(f: &DjangoField, value: &str) -> Result<Py, String> {
    const TEXT: &[&str] = &[
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
    ];
    const INT: &[&str] = &[
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "ForeignKey",
        "OneToOneField",
    ];
    let t = f.internal_type.as_str();
    if TEXT.contains(&t) {
        return Ok(Py::atom(python_str_black(value)));
    }
    if INT.contains(&t) {
        if let Ok(n) = value.parse::<i64>() {
            return Ok(Py::atom(n.to_string()));
        }
    }
    if t == "BooleanField" {
        match value {
            "t" | "true" => return Ok(Py::atom("True")),
            "f" | "false" => return Ok(Py::atom("False")),
            _ => {}
        }
    }
    Err(format!(
        "a condition on a {t} value ({})",
        python_str_black(value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PredTerm, Predicate};

    fn f(name: &str, column: &str, t: &str) -> DjangoField {
        DjangoField {
            name: name.into(),
            attname: column.into(),
            column: column.into(),
            is_relation: t == "ForeignKey",
            internal_type: t.into(),
            db_index: t == "ForeignKey",
            index_names: vec![],
            without_index: None,
            related_query_name: None,
            accessor: None,
        }
    }

    fn order() -> DjangoModel {
        DjangoModel {
            app_label: "shop".into(),
            model_name: "Order".into(),
            db_table: "shop_order".into(),
            managed: true,
            proxy: false,
            source_file: Some("/p/shop/models.py".into()),
            source_line: Some(36),
            fields: vec![
                f("id", "id", "BigAutoField"),
                f("customer", "customer_id", "ForeignKey"),
                f("status", "status", "CharField"),
                f("created_at", "created_at", "DateTimeField"),
                f("sku", "sku_code", "CharField"),
                f("is_active", "is_active", "BooleanField"),
                f("deleted_at", "deleted_at", "DateTimeField"),
            ],
            indexes: vec![],
            migrated_indexes: None,
            constraints: vec![],
            meta: None,
        }
    }

    fn flat(spec: &IndexSpec) -> String {
        index_expr(&order(), spec, "n")
            .map(|(p, _)| p.flat())
            .unwrap_or_else(|e| e)
    }

    /// `models.Index` is a B-tree: a spec of another method is run as its SQL.
    #[test]
    fn a_non_btree_spec_is_run_as_sql() {
        let project: DjangoProject =
            serde_json::from_str(include_str!("../../../tests/fixtures/django/shop.json"))
                .expect("fixture");
        let btree = IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]);
        assert!(matches!(
            map_index(&project, &btree, "n"),
            Mapping::Index { .. }
        ));
        let hash = IndexSpec {
            method: crate::model::IndexMethod::Hash,
            ..btree
        };
        match map_index(&project, &hash, "n") {
            Mapping::RunSql { reason, .. } => {
                assert!(reason.starts_with("a hash index"), "{reason}")
            }
            Mapping::Index { .. } => panic!("a hash index must not become models.Index"),
        }
    }

    #[test]
    fn fields_use_field_names_and_lists() {
        let s = IndexSpec::on(
            "public",
            "shop_order",
            vec![
                IndexKey::col("customer_id"),
                IndexKey::col_desc("created_at"),
            ],
        );
        assert_eq!(
            flat(&s),
            r#"models.Index(fields=["customer", "-created_at"], name="n")"#
        );
        let mut ops = IndexSpec::on("public", "shop_order", vec![IndexKey::col("sku_code")]);
        ops.keys[0].opclass = Some("varchar_pattern_ops".into());
        assert_eq!(
            flat(&ops),
            r#"models.Index(fields=["sku"], name="n", opclasses=["varchar_pattern_ops"])"#
        );
    }

    #[test]
    fn expressions_conditions_and_include() {
        let s = IndexSpec {
            include: vec!["status".into()],
            predicate: Some(Predicate {
                terms: vec![
                    PredTerm::IsNull {
                        column: "deleted_at".into(),
                    },
                    PredTerm::IsTrue {
                        column: "is_active".into(),
                    },
                    PredTerm::Eq {
                        column: "status".into(),
                        value: "pen\"ding".into(),
                        type_name: "text".into(),
                    },
                ],
            }),
            ..IndexSpec::on(
                "public",
                "shop_order",
                vec![
                    IndexKey {
                        expr: KeyExpr::Upper("sku_code".into()),
                        desc: false,
                        nulls_first: None,
                        opclass: Some("text_pattern_ops".into()),
                    },
                    IndexKey {
                        nulls_first: Some(false),
                        ..IndexKey::col_desc("created_at")
                    },
                ],
            )
        };
        assert_eq!(
            flat(&s),
            r#"models.Index(OpClass(Upper("sku"), name="text_pattern_ops"), models.F("created_at").desc(nulls_last=True), condition=models.Q(deleted_at__isnull=True, is_active=True, status='pen"ding'), include=["status"], name="n")"#
        );
    }

    #[test]
    fn what_django_cannot_say_is_an_error() {
        let mut u = IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]);
        u.unique = true;
        assert!(flat(&u).contains("UniqueConstraint"));
        let unknown = IndexSpec::on("public", "shop_order", vec![IndexKey::col("nope")]);
        assert!(flat(&unknown).contains("not a field"));
        let date = IndexSpec {
            predicate: Some(Predicate {
                terms: vec![PredTerm::Eq {
                    column: "created_at".into(),
                    value: "2024-01-01".into(),
                    type_name: "timestamptz".into(),
                }],
            }),
            ..IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")])
        };
        assert!(
            flat(&date).contains("DateTimeField value"),
            "{}",
            flat(&date)
        );
    }
}
