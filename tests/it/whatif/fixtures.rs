//! Fixtures for the what-if tests and the benchmark: a catalog read straight from the test
//! database (the collect stage is built elsewhere), and hand-made query shapes for the example
//! workload, with texts exactly as pg_stat_statements normalises them.

#![allow(dead_code)]

use std::collections::HashMap;

use idxadvise::candidates::candidate::{Candidate, CandidateSet};
use idxadvise::model::{
    Catalog, Column, ColumnStats, IndexKey, IndexSpec, KeyExpr, PredTerm, Predicate, ServerInfo,
    Table,
};
use idxadvise::parse::shape::{Limit, ParamOp, ParamUse, QueryShape, StatementKind, TableAccess};
use idxadvise::pg::ConnectOptions;
use idxadvise::whatif::EngineOptions;

/// A runtime for one test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Engine options for a URL: `connections` sessions, generic plans on.
pub fn options(url: &str, connections: usize) -> EngineOptions {
    EngineOptions {
        connect: ConnectOptions {
            url: Some(url.to_string()),
            ..ConnectOptions::default()
        },
        connections,
        value_sets: 4,
        generic: true,
        progress: false,
        lean_cache: false,
        stand_ins: true,
    }
}

/// What `collect` reads about the server of a database (its version, HypoPG's, …).
pub async fn load_server(url: &str) -> ServerInfo {
    let conn = idxadvise::pg::connect(&ConnectOptions {
        url: Some(url.to_string()),
        ..ConnectOptions::default()
    })
    .await
    .expect("connect for the server facts");
    idxadvise::collect::server::read(&conn.client)
        .await
        .expect("server facts")
}

/// The engine over the example's statements and candidates, with `connections` sessions.
pub async fn example_engine(
    url: &str,
    catalog: &Catalog,
    connections: usize,
) -> idxadvise::whatif::Engine {
    idxadvise::whatif::Engine::new(
        options(url, connections),
        &load_server(url).await,
        catalog,
        &shapes(),
        &candidates(),
    )
    .await
    .expect("engine")
}

/// Read the user tables, columns and `pg_stats` of a database into a [`Catalog`].
pub async fn load_catalog(url: &str) -> Catalog {
    let conn = idxadvise::pg::connect(&ConnectOptions {
        url: Some(url.to_string()),
        ..ConnectOptions::default()
    })
    .await
    .expect("connect for the catalog");
    let c = &conn.client;
    let tables = c
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.reltuples::float8, c.relpages::int8 \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') \
             AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 2, 3",
            &[],
        )
        .await
        .expect("tables");
    let cols = c
        .query(
            "SELECT a.attrelid, a.attname::text, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','p') ORDER BY 1, 3",
            &[],
        )
        .await
        .expect("columns");
    let stats = c
        .query(
            "SELECT schemaname::text, tablename::text, attname::text, null_frac::float8, avg_width, n_distinct::float8, \
             coalesce(most_common_vals::text::text[], '{}'), coalesce(most_common_freqs::float8[], '{}'), \
             coalesce(histogram_bounds::text::text[], '{}'), correlation::float8 FROM pg_stats WHERE NOT inherited",
            &[],
        )
        .await
        .expect("pg_stats");
    let mut by_col: HashMap<(String, String, String), ColumnStats> = HashMap::new();
    for r in stats {
        by_col.insert(
            (r.get(0), r.get(1), r.get(2)),
            ColumnStats {
                null_frac: r.get(3),
                avg_width: r.get(4),
                n_distinct: r.get(5),
                most_common_vals: r.get(6),
                most_common_freqs: r.get(7),
                histogram_bounds: r.get(8),
                correlation: r.get(9),
                workload_values: vec![],
            },
        );
    }
    let mut out = Catalog {
        tables: vec![],
        search_path: vec!["public".into()],
    };
    for t in tables {
        let oid: u32 = t.get(0);
        let schema: String = t.get(1);
        let name: String = t.get(2);
        let columns = cols
            .iter()
            .filter(|c| c.get::<_, u32>(0) == oid)
            .map(|c| {
                let col: String = c.get(1);
                Column {
                    stats: by_col
                        .get(&(schema.clone(), name.clone(), col.clone()))
                        .cloned(),
                    name: col,
                    attnum: c.get(2),
                    type_name: c.get(3),
                    not_null: c.get(4),
                    collation: None,
                }
            })
            .collect();
        out.tables.push(Table {
            oid,
            schema: schema.clone(),
            name: name.clone(),
            rows: t.get(3),
            pages: t.get(4),
            all_visible_frac: 0.0,
            size_bytes: 0,
            fillfactor: 100,
            columns,
            indexes: vec![],
            constraints: vec![],
        });
    }
    out
}

fn access(table: &str) -> TableAccess {
    TableAccess {
        schema: "public".into(),
        table: table.into(),
        ..TableAccess::default()
    }
}

/// Parameter `$param` compared with `table.column` (in `public`) by `op`.
pub fn p(param: u32, col: Option<(&str, &str)>, op: ParamOp) -> ParamUse {
    ParamUse {
        param,
        schema: col.map(|_| "public".to_string()),
        table: col.map(|(t, _)| t.to_string()),
        column: col.map(|(_, c)| c.to_string()),
        op,
    }
}

/// A shape by hand.
pub fn shape(queryid: i64, text: &str, tables: &[&str], params: Vec<ParamUse>) -> QueryShape {
    let limit = params
        .iter()
        .find(|u| u.op == ParamOp::Limit)
        .map(|u| Limit::Param(u.param));
    QueryShape {
        queryid,
        kind: if text.starts_with("UPDATE") {
            StatementKind::Update
        } else {
            StatementKind::Select
        },
        plan_text: text.to_string(),
        param_count: params.iter().map(|u| u.param).max().unwrap_or(0),
        tables: tables.iter().map(|t| access(t)).collect(),
        params,
        limit,
        offset: false,
    }
}

const ORDER_COLS: &str = "\"shop_order\".\"id\", \"shop_order\".\"customer_id\", \"shop_order\".\"status\", \"shop_order\".\"created_at\", \"shop_order\".\"total\", \"shop_order\".\"deleted_at\"";
const CUSTOMER_COLS: &str = "\"shop_customer\".\"id\", \"shop_customer\".\"email\", \"shop_customer\".\"name\", \"shop_customer\".\"is_active\", \"shop_customer\".\"created_at\", \"shop_customer\".\"deleted_at\"";

/// Statement ids of the example workload's shapes.
pub const ORDER_HISTORY: i64 = 1;
/// `status = $1 ORDER BY created_at LIMIT $2` (the pending dashboard).
pub const PENDING_DASHBOARD: i64 = 2;
/// `UPPER(email) = UPPER($1)` (iexact login).
pub const IEXACT_LOGIN: i64 = 3;
/// Newest active customers (ORDER BY created_at DESC).
pub const NEWEST_CUSTOMERS: i64 = 4;
/// `SELECT $1 AS "a" … customer_id = $2 AND status = $3` (exists()).
pub const ORDER_EXISTS: i64 = 5;
/// Reviews of a product, newest first.
pub const PRODUCT_REVIEWS: i64 = 6;
/// Orders in a week (COUNT with a range).
pub const WEEK_COUNT: i64 = 7;
/// Status update by primary key (a write).
pub const STATUS_UPDATE: i64 = 8;

/// The example statements, as pg_stat_statements shows them after `replay_workload`.
pub fn shapes() -> Vec<QueryShape> {
    use ParamOp::*;
    vec![
        shape(
            ORDER_HISTORY,
            &format!("SELECT {ORDER_COLS} FROM \"shop_order\" WHERE (\"shop_order\".\"customer_id\" = $1 AND \"shop_order\".\"deleted_at\" IS NULL) ORDER BY \"shop_order\".\"created_at\" DESC LIMIT $2"),
            &["shop_order"],
            vec![p(1, Some(("shop_order", "customer_id")), Eq), p(2, None, Limit)],
        ),
        shape(
            PENDING_DASHBOARD,
            &format!("SELECT {ORDER_COLS} FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2"),
            &["shop_order"],
            vec![p(1, Some(("shop_order", "status")), Eq), p(2, None, Limit)],
        ),
        shape(
            IEXACT_LOGIN,
            &format!("SELECT {CUSTOMER_COLS} FROM \"shop_customer\" WHERE (\"shop_customer\".\"deleted_at\" IS NULL AND UPPER(\"shop_customer\".\"email\"::text) = UPPER($1)) ORDER BY \"shop_customer\".\"id\" ASC LIMIT $2"),
            &["shop_customer"],
            vec![p(1, Some(("shop_customer", "email")), Eq), p(2, None, Limit)],
        ),
        shape(
            IEXACT_COUNT,
            "SELECT COUNT(*) AS \"__count\" FROM \"shop_customer\" WHERE UPPER(\"shop_customer\".\"email\"::text) = UPPER($1)",
            &["shop_customer"],
            vec![p(1, Some(("shop_customer", "email")), Eq)],
        ),
        shape(
            NEWEST_CUSTOMERS,
            &format!("SELECT {CUSTOMER_COLS} FROM \"shop_customer\" WHERE (\"shop_customer\".\"deleted_at\" IS NULL AND \"shop_customer\".\"is_active\") ORDER BY \"shop_customer\".\"created_at\" DESC LIMIT $1"),
            &["shop_customer"],
            vec![p(1, None, Limit)],
        ),
        shape(
            ORDER_EXISTS,
            "SELECT $1 AS \"a\" FROM \"shop_order\" WHERE (\"shop_order\".\"customer_id\" = $2 AND \"shop_order\".\"status\" = $3) LIMIT $4",
            &["shop_order"],
            vec![
                p(1, None, Other),
                p(2, Some(("shop_order", "customer_id")), Eq),
                p(3, Some(("shop_order", "status")), Eq),
                p(4, None, Limit),
            ],
        ),
        shape(
            PRODUCT_REVIEWS,
            "SELECT \"reviews\".\"id\", \"reviews\".\"product_id\", \"reviews\".\"author_id\", \"reviews\".\"rating\", \"reviews\".\"body\", \"reviews\".\"created_at\" FROM \"reviews\" WHERE \"reviews\".\"product_id\" = $1 ORDER BY \"reviews\".\"created_at\" DESC LIMIT $2",
            &["reviews"],
            vec![p(1, Some(("reviews", "product_id")), Eq), p(2, None, Limit)],
        ),
        shape(
            WEEK_COUNT,
            "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE (\"shop_order\".\"created_at\" >= $1::timestamptz AND \"shop_order\".\"created_at\" < $2::timestamptz)",
            &["shop_order"],
            vec![
                p(1, Some(("shop_order", "created_at")), Upper),
                p(2, Some(("shop_order", "created_at")), Lower),
            ],
        ),
        shape(
            STATUS_UPDATE,
            "UPDATE \"shop_order\" SET \"status\" = $1 WHERE \"shop_order\".\"id\" = $2",
            &["shop_order"],
            vec![
                p(1, Some(("shop_order", "status")), Value),
                p(2, Some(("shop_order", "id")), Eq),
            ],
        ),
    ]
}

/// `SELECT COUNT(*) … WHERE UPPER(email) = UPPER($1)` (iexact count).
pub const IEXACT_COUNT: i64 = 9;

/// Candidate ids in [`candidates`].
pub const C_CUSTOMER_CREATED_DESC: usize = 0;
/// `shop_order(created_at) WHERE status = 'pending'`.
pub const C_PENDING_PARTIAL: usize = 1;
/// `shop_customer(upper(email))`.
pub const C_UPPER_EMAIL: usize = 2;
/// `shop_customer(created_at DESC)`.
pub const C_CUSTOMER_NEWEST: usize = 3;
/// `shop_order(customer_id) INCLUDE (status)`.
pub const C_COVERING: usize = 4;
/// `reviews(product_id, created_at DESC)`.
pub const C_REVIEWS: usize = 5;
/// `shop_order(created_at)`.
pub const C_ORDER_CREATED: usize = 6;
/// `shop_order(status)`.
pub const C_STATUS: usize = 7;

fn cand(spec: IndexSpec) -> Candidate {
    Candidate {
        spec,
        sources: vec![],
    }
}

/// One candidate of each kind.
pub fn candidates() -> CandidateSet {
    let pending = Predicate {
        terms: vec![PredTerm::Eq {
            column: "status".into(),
            value: "pending".into(),
            type_name: "text".into(),
        }],
    };
    CandidateSet {
        candidates: vec![
            cand(IndexSpec::on(
                "public",
                "shop_order",
                vec![
                    IndexKey::col("customer_id"),
                    IndexKey::col_desc("created_at"),
                ],
            )),
            cand(IndexSpec {
                predicate: Some(pending),
                ..IndexSpec::on("public", "shop_order", vec![IndexKey::col("created_at")])
            }),
            cand(IndexSpec::on(
                "public",
                "shop_customer",
                vec![IndexKey {
                    expr: KeyExpr::Upper("email".into()),
                    desc: false,
                    nulls_first: None,
                    opclass: None,
                }],
            )),
            cand(IndexSpec::on(
                "public",
                "shop_customer",
                vec![IndexKey::col_desc("created_at")],
            )),
            cand(IndexSpec {
                include: vec!["status".into()],
                ..IndexSpec::on("public", "shop_order", vec![IndexKey::col("customer_id")])
            }),
            cand(IndexSpec::on(
                "public",
                "reviews",
                vec![
                    IndexKey::col("product_id"),
                    IndexKey::col_desc("created_at"),
                ],
            )),
            cand(IndexSpec::on(
                "public",
                "shop_order",
                vec![IndexKey::col("created_at")],
            )),
            cand(IndexSpec::on(
                "public",
                "shop_order",
                vec![IndexKey::col("status")],
            )),
        ],
        advice: vec![],
    }
}
