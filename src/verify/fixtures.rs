//! Test fixtures for `verify`: a baseline and a second snapshot of a small shop.
//!
//! Statement 101 (orders of a customer) was predicted 20× faster with
//! `shop_order_custome_da1929_idx`; statement 102 was predicted unchanged. In the second
//! snapshot, 101 ran 50 more times at 1 ms per call, the index exists (10% larger than
//! estimated, 40 scans), and `shop_order` had 600 writes in 60 s with 10% HOT updates.

use super::baseline::*;
use crate::model::*;

fn stmt(queryid: i64, calls: i64, total: f64) -> Statement {
    Statement {
        queryid,
        query: format!("SELECT {queryid}"),
        calls,
        total_time_ms: total,
        mean_time_ms: total / calls as f64,
        rows: calls,
        shared_blks_hit: 0,
        shared_blks_read: 0,
        stddev_time_ms: None,
    }
}

fn writes(ins: i64, upd: i64, hot: i64, del: i64) -> TableWrites {
    TableWrites {
        schema: "public".into(),
        table: "shop_order".into(),
        n_tup_ins: ins,
        n_tup_upd: upd,
        n_tup_hot_upd: hot,
        n_tup_del: del,
        n_live_tup: 300_000,
        n_dead_tup: 0,
    }
}

const SINCE: &str = "2026-01-01 00:00:00+00";
const INDEX: &str = "shop_order_custome_da1929_idx";

/// The baseline `analyze` saved.
pub fn baseline() -> Baseline {
    Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        created_by: "idxadvise test".into(),
        database: "shop".into(),
        server_version: "15.18".into(),
        stats_since: Some(SINCE.into()),
        statements: vec![stmt(101, 100, 1000.0), stmt(102, 10, 200.0)],
        predictions: vec![
            StatementPrediction {
                queryid: 101,
                before_cost: 2000.0,
                after_cost: 100.0,
                before_ms: 10.0,
                after_ms: 0.5,
                uses: vec![INDEX.into()],
                before_calls: 0,
                before_stddev_ms: None,
            },
            StatementPrediction {
                queryid: 102,
                before_cost: 50.0,
                after_cost: 50.0,
                before_ms: 20.0,
                after_ms: 20.0,
                uses: vec![],
                before_calls: 0,
                before_stddev_ms: None,
            },
        ],
        indexes: vec![IndexPrediction {
            name: INDEX.into(),
            schema: "public".into(),
            table: "shop_order".into(),
            sql: format!("CREATE INDEX CONCURRENTLY {INDEX} ON public.shop_order USING btree (customer_id, created_at DESC)"),
            size_bytes: 1_000_000,
            write_cost_ms_per_s: 0.02,
            lost_hot_updates_per_s: 0.5,
            helps: vec![101],
            table_rows: None,
        }],
        writes: WriteBaseline {
            source: WriteSource::Local,
            since: Some(SINCE.into()),
            seconds: Some(100.0),
            tables: vec![writes(500, 100, 90, 400)],
            window: None,
        },
        drops: vec![],
    }
}

/// The server after the index was applied and traffic ran again.
pub fn now() -> Snapshot {
    let index = ExistingIndex {
        name: INDEX.into(),
        definition: "CREATE INDEX … (customer_id, created_at DESC)".into(),
        method: "btree".into(),
        keys: vec![],
        include: vec![],
        predicate: None,
        unique: false,
        primary: false,
        constraint: None,
        valid: true,
        planner_ready: true,
        size_bytes: 1_100_000,
        scans: 40,
    };
    Snapshot {
        format_version: SNAPSHOT_FORMAT_VERSION,
        created_by: "idxadvise test".into(),
        server: ServerInfo {
            version_num: 150018,
            version: "15.18".into(),
            database: "shop".into(),
            ..Default::default()
        },
        catalog: Catalog {
            tables: vec![Table {
                oid: 1,
                schema: "public".into(),
                name: "shop_order".into(),
                rows: 300_000.0,
                pages: 3000,
                all_visible_frac: 1.0,
                size_bytes: 24_000_000,
                fillfactor: 100,
                columns: vec![],
                indexes: vec![index],
                constraints: vec![],
            }],
            search_path: vec![],
        },
        workload: Workload {
            statements: vec![stmt(101, 150, 1050.0), stmt(102, 20, 400.0)],
            excluded: vec![],
            stats_since: Some(SINCE.into()),
            window_seconds: None,
            observation: None,
        },
        write_stats: WriteStats {
            source: WriteSource::Local,
            since: Some(SINCE.into()),
            seconds: Some(160.0),
            tables: vec![writes(800, 200, 100, 600)],
            statements: vec![],
            window: None,
        },
        observed: Default::default(),
        logs: Default::default(),
        content_types: vec![],
    }
}
