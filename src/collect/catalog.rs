//! Reading the catalog: tables, columns, existing indexes, constraints and `pg_stats`.
//!
//! Stage: collect. Must not write anything. Invariant: the result is sorted as
//! [`crate::model::Catalog`] requires (tables by schema and name, columns by attnum, indexes
//! and constraints by name), so two runs on the same database give the same JSON.

use std::collections::HashMap;

use tokio_postgres::Client;

use crate::model::catalog::{Constraint, ExistingKey};
use crate::model::{Catalog, Column, ColumnStats, ExistingIndex, IndexMethod, Table};
use crate::pg::PgError;

use super::sql;

async fn query(
    client: &Client,
    text: &str,
    what: &str,
) -> Result<Vec<tokio_postgres::Row>, PgError> {
    client
        .query(text, &[])
        .await
        .map_err(|e| PgError::query(what, e))
}

/// Read the whole catalog of the current database.
pub async fn read(client: &Client) -> Result<Catalog, PgError> {
    let search_path: Vec<String> = query(client, sql::SEARCH_PATH, "reading the search path")
        .await?
        .first()
        .map(|r| r.get("schemas"))
        .unwrap_or_default();
    let mut tables: Vec<Table> = query(client, sql::TABLES, "reading tables")
        .await?
        .iter()
        .map(|r| {
            let pages: i64 = r.get("pages");
            let all_visible: i64 = r.get("all_visible");
            Table {
                oid: r.get("oid"),
                schema: r.get("schema"),
                name: r.get("name"),
                rows: r.get("rows"),
                pages,
                all_visible_frac: if pages > 0 {
                    (all_visible as f64 / pages as f64).min(1.0)
                } else {
                    0.0
                },
                size_bytes: r.get("size_bytes"),
                fillfactor: r.get::<_, i32>("fillfactor").clamp(10, 100) as u8,
                columns: vec![],
                indexes: vec![],
                constraints: vec![],
            }
        })
        .collect();
    let pos: HashMap<u32, usize> = tables.iter().enumerate().map(|(i, t)| (t.oid, i)).collect();

    let mut stats: HashMap<(String, String, String), ColumnStats> = HashMap::new();
    for r in query(client, sql::COLUMN_STATS, "reading pg_stats").await? {
        let key = (
            r.get::<_, String>("schema"),
            r.get::<_, String>("table_name"),
            r.get::<_, String>("column_name"),
        );
        let mcv: Option<String> = r.get("most_common_vals");
        let hist: Option<String> = r.get("histogram_bounds");
        stats.insert(
            key,
            ColumnStats {
                null_frac: r.get::<_, Option<f64>>("null_frac").unwrap_or(0.0),
                avg_width: r.get::<_, Option<i32>>("avg_width").unwrap_or(0),
                n_distinct: r.get::<_, Option<f64>>("n_distinct").unwrap_or(0.0),
                most_common_vals: mcv.as_deref().map(parse_array).unwrap_or_default(),
                most_common_freqs: r
                    .get::<_, Option<Vec<Option<f64>>>>("most_common_freqs")
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| f.unwrap_or(0.0))
                    .collect(),
                histogram_bounds: hist.as_deref().map(parse_array).unwrap_or_default(),
                correlation: r.get("correlation"),
                workload_values: vec![],
            },
        );
    }

    for r in query(client, sql::COLUMNS, "reading columns").await? {
        let Some(&i) = pos.get(&r.get::<_, u32>("table_oid")) else {
            continue;
        };
        let t = &mut tables[i];
        let name: String = r.get("name");
        let st = stats.remove(&(t.schema.clone(), t.name.clone(), name.clone()));
        t.columns.push(Column {
            name,
            attnum: r.get("attnum"),
            type_name: r.get("type_name"),
            not_null: r.get("not_null"),
            collation: r.get("collation"),
            stats: st,
        });
    }

    for r in query(client, sql::INDEXES, "reading indexes").await? {
        let Some(&i) = pos.get(&r.get::<_, u32>("table_oid")) else {
            continue;
        };
        tables[i].indexes.push(index_from_row(&r));
    }

    for r in query(client, sql::CONSTRAINTS, "reading constraints").await? {
        let Some(&i) = pos.get(&r.get::<_, u32>("table_oid")) else {
            continue;
        };
        tables[i].constraints.push(Constraint {
            name: r.get("name"),
            kind: r.get("kind"),
            columns: r
                .get::<_, Option<Vec<String>>>("columns")
                .unwrap_or_default(),
            definition: r.get("definition"),
        });
    }

    for t in &mut tables {
        t.columns.sort_by_key(|c| c.attnum);
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
    }
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(Catalog {
        tables,
        search_path,
    })
}

fn index_from_row(r: &tokio_postgres::Row) -> ExistingIndex {
    let nkey = r.get::<_, i32>("nkeyatts").max(0) as usize;
    let columns: Vec<Option<String>> = r.get("columns");
    let attnums: Vec<Option<i16>> = r.get("attnums");
    let options: Vec<Option<i16>> = r.get("options");
    let opclasses: Vec<Option<String>> = r.get("opclasses");
    let keys = columns
        .iter()
        .take(nkey)
        .enumerate()
        .map(|(k, c)| {
            let opt = options.get(k).copied().flatten().unwrap_or(0);
            ExistingKey {
                expr: c.clone().unwrap_or_default(),
                is_expression: attnums.get(k).copied().flatten().unwrap_or(0) == 0,
                desc: opt & 1 != 0,
                nulls_first: opt & 2 != 0,
                opclass: opclasses.get(k).cloned().flatten(),
            }
        })
        .collect();
    ExistingIndex {
        name: r.get("name"),
        definition: r.get("definition"),
        method: IndexMethod::from(r.get::<_, String>("method")),
        keys,
        include: columns.iter().skip(nkey).flatten().cloned().collect(),
        predicate: r.get("predicate"),
        unique: r.get("unique"),
        primary: r.get("primary"),
        constraint: r.get("constraint_name"),
        valid: r.get("valid"),
        planner_ready: r.get("planner_ready"),
        size_bytes: r.get("size_bytes"),
        scans: r.get("scans"),
    }
}

/// The rows of Django's `django_content_type`, sorted; empty when the database has no such
/// table on the search path, the role may not read it, or reading fails (the models' names are
/// for examples only: never a reason to stop).
pub async fn content_types(client: &Client) -> Vec<crate::model::ContentType> {
    let readable = client
        .query_opt(sql::CONTENT_TYPES_READABLE, &[])
        .await
        .ok()
        .flatten()
        .is_some_and(|r| r.get::<_, bool>("readable"));
    if !readable {
        return vec![];
    }
    match client.query(sql::CONTENT_TYPES, &[]).await {
        Ok(rows) => rows
            .iter()
            .map(|r| crate::model::ContentType {
                app_label: r.get("app_label"),
                model: r.get("model"),
            })
            .collect(),
        Err(_) => vec![],
    }
}

/// Parse a one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) into its elements'
/// text. `NULL` elements become the text `NULL`; nested arrays are kept as their literal text.
/// Never fails: malformed input gives what could be read.
pub fn parse_array(s: &str) -> Vec<String> {
    let s = s.trim();
    let inner = match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(i) => i,
        None => return vec![],
    };
    let mut out = vec![];
    let mut chars = inner.chars().peekable();
    if inner.is_empty() {
        return out;
    }
    loop {
        let mut item = String::new();
        match chars.peek() {
            Some('"') => {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                item.push(n);
                            }
                        }
                        '"' => break,
                        c => item.push(c),
                    }
                }
                // Skip to the separator.
                for c in chars.by_ref() {
                    if c == ',' {
                        break;
                    }
                }
                out.push(item);
            }
            Some('{') => {
                let mut depth = 0;
                let mut quoted = false;
                while let Some(c) = chars.next() {
                    item.push(c);
                    match c {
                        '\\' if quoted => {
                            if let Some(n) = chars.next() {
                                item.push(n);
                            }
                        }
                        '"' => quoted = !quoted,
                        '{' if !quoted => depth += 1,
                        '}' if !quoted => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                for c in chars.by_ref() {
                    if c == ',' {
                        break;
                    }
                }
                out.push(item);
            }
            Some(_) => {
                for c in chars.by_ref() {
                    if c == ',' {
                        break;
                    }
                    item.push(c);
                }
                out.push(item.trim().to_string());
            }
            None => break,
        }
        if chars.peek().is_none() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_array_literals() {
        assert_eq!(
            parse_array("{delivered,shipped}"),
            vec!["delivered", "shipped"]
        );
        assert_eq!(
            parse_array(r#"{"a b","it's","q\"uote",NULL,"2024-01-01 00:00:00+00"}"#),
            vec!["a b", "it's", "q\"uote", "NULL", "2024-01-01 00:00:00+00"]
        );
        assert_eq!(parse_array("{}"), Vec::<String>::new());
        assert_eq!(parse_array("{{1,2},{3,4}}"), vec!["{1,2}", "{3,4}"]);
        assert_eq!(parse_array("not an array"), Vec::<String>::new());
        assert_eq!(parse_array(r#"{"unterminated"#), Vec::<String>::new());
    }
}
