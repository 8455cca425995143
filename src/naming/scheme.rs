//! Stage `naming`: the name scheme, Django's own (every output target uses the same name).
//!
//! Pure. Invariant: a name is at most 30 characters (Django's `models.E034`), does not start
//! with `_` or a digit (`E033`), and is unique against every name given as taken (the catalog's
//! relations and indexes, every `Meta.indexes` entry, names already chosen in this run).
//!
//! Problem: the same index must get the same name wherever it appears (migration, Meta.indexes,
//! SQL script), and the name Django would give it where Django gives one.
//! What we do: a plain field index gets Django's own automatic name
//! (`Index.set_name_with_model`): `table[:11] + "_" + column0[:7] + "_" +
//! md5(table + "".join(columns, "-" for DESC) + "idx")[:6] + "_idx"`, columns being database
//! columns. Any other index (partial, expression, INCLUDE, operator class, NULLS order,
//! unique) has the same shape with the hash taken over its whole definition, so variants never
//! collide with each other or with the plain index.
//! Example: `shop_order (customer_id, created_at DESC)` → `shop_order_custome_da1929_idx`.

use std::collections::BTreeSet;

use md5::{Digest, Md5};

use crate::model::{IndexSpec, KeyExpr};

/// Django's `max_name_length` for indexes.
pub const MAX_NAME_LEN: usize = 30;

/// Whether Django would name this index itself from `fields` alone (plain columns, default
/// NULLS order, no predicate, INCLUDE, operator class or uniqueness).
pub fn is_plain_field_index(spec: &IndexSpec) -> bool {
    spec.predicate.is_none()
        && spec.include.is_empty()
        && !spec.unique
        && !spec.keys.is_empty()
        && spec.keys.iter().all(|k| {
            matches!(k.expr, KeyExpr::Column(_)) && k.opclass.is_none() && k.nulls_first.is_none()
        })
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn digest(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    hex[..6].to_string()
}

fn shape(table: &str, column0: &str, hash: &str) -> String {
    let name = format!("{}_{}_{hash}_idx", prefix(table, 11), prefix(column0, 7));
    match name.chars().next() {
        Some(c) if c == '_' || c.is_ascii_digit() => format!("D{}", &name[c.len_utf8()..]),
        _ => name,
    }
}

/// The name for `spec` before uniqueness: Django's own for a plain field index, else the same
/// shape with a hash over the whole definition. `salt` > 0 re-hashes after a collision.
pub fn base_name(spec: &IndexSpec, salt: u32) -> String {
    let column0 = spec
        .keys
        .first()
        .map(|k| k.expr.column().to_string())
        .unwrap_or_default();
    let salt_text = salt.to_string();
    let hash = if is_plain_field_index(spec) {
        let cols: Vec<String> = spec
            .keys
            .iter()
            .map(|k| {
                if k.desc {
                    format!("-{}", k.expr.column())
                } else {
                    k.expr.column().to_string()
                }
            })
            .collect();
        let mut parts: Vec<&str> = vec![&spec.table];
        parts.extend(cols.iter().map(String::as_str));
        parts.push("idx");
        if salt > 0 {
            parts.push(&salt_text);
        }
        digest(&parts)
    } else {
        let def = format!(
            "{}{}",
            if spec.unique { "UNIQUE " } else { "" },
            spec.definition_tail()
        );
        let mut parts: Vec<&str> = vec![&spec.table, &def, "idx"];
        if salt > 0 {
            parts.push(&salt_text);
        }
        digest(&parts)
    };
    shape(&spec.table, &column0, &hash)
}

/// Names in use, for uniqueness.
#[derive(Debug, Clone, Default)]
pub struct Namer {
    taken: BTreeSet<String>,
}

impl Namer {
    /// A namer that avoids these names.
    pub fn new<'a>(taken: impl IntoIterator<Item = &'a str>) -> Namer {
        Namer {
            taken: taken.into_iter().map(str::to_string).collect(),
        }
    }

    /// A unique name for `spec` (then taken). The same spec asked twice gets two names, so
    /// ask once per index.
    pub fn name(&mut self, spec: &IndexSpec) -> String {
        let mut salt = 0;
        loop {
            let n = base_name(spec, salt);
            if !self.taken.contains(&n) {
                self.taken.insert(n.clone());
                return n;
            }
            salt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IndexKey, PredTerm, Predicate};

    fn spec(table: &str, keys: Vec<IndexKey>) -> IndexSpec {
        IndexSpec::on("public", table, keys)
    }

    /// Vectors computed by Django 5.2 (docs/postgres-facts.md §7); the Django e2e test
    /// recomputes them with Django itself on 4.2 and the newest.
    #[test]
    fn django_vectors() {
        let cases = [
            (
                spec(
                    "shop_order",
                    vec![
                        IndexKey::col("customer_id"),
                        IndexKey::col_desc("created_at"),
                    ],
                ),
                "shop_order_custome_da1929_idx",
            ),
            (
                spec("shop_order", vec![IndexKey::col("status")]),
                "shop_order_status_63c2c0_idx",
            ),
            (
                spec("shop_order", vec![IndexKey::col_desc("created_at")]),
                "shop_order_created_da5569_idx",
            ),
            (
                spec("shop_customer", vec![IndexKey::col("email")]),
                "shop_custom_email_5770bc_idx",
            ),
            (
                spec("auth_user", vec![IndexKey::col("last_login")]),
                "auth_user_last_lo_5f5610_idx",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(base_name(&s, 0), want, "{}", s.label());
        }
    }

    #[test]
    fn variants_never_collide() {
        let plain = spec("shop_customer", vec![IndexKey::col("email")]);
        let partial = IndexSpec {
            predicate: Some(Predicate {
                terms: vec![PredTerm::IsNull {
                    column: "deleted_at".into(),
                }],
            }),
            ..plain.clone()
        };
        let upper = spec(
            "shop_customer",
            vec![IndexKey {
                expr: KeyExpr::Upper("email".into()),
                desc: false,
                nulls_first: None,
                opclass: None,
            }],
        );
        let names: BTreeSet<String> = [&plain, &partial, &upper]
            .iter()
            .map(|s| base_name(s, 0))
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        for n in &names {
            assert!(
                n.len() <= MAX_NAME_LEN && n.starts_with("shop_custom_email_"),
                "{n}"
            );
        }
    }

    #[test]
    fn unique_and_valid_start() {
        let s = spec("_tmp", vec![IndexKey::col("9col")]);
        let first = base_name(&s, 0);
        assert!(first.starts_with("Dtmp_9col_"), "{first}");
        let mut namer = Namer::new([first.as_str()]);
        let second = namer.name(&s);
        assert_ne!(first, second);
        assert!(second.len() <= MAX_NAME_LEN);
        assert_ne!(namer.name(&s), second);
    }
}
