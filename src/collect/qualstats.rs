//! pg_qualstats: the constants of the predicates the server evaluated, per pg_stat_statements
//! queryid (sampled at `pg_qualstats.sample_rate`).
//!
//! Stage: collect (I/O at the edge, one read-only query). Must not fail the run: without the
//! extension (not preloaded, not created) it says so in the observation notes and reads
//! nothing. Invariant: only equality constants of the workload's statements are kept, each as
//! `table.column = value` weighted by occurrences.

use tokio_postgres::Client;

use super::sql;
use crate::model::observed::{ObservationBuilder, ObservedValue, ValueSource};
use crate::parse::literals::{constant_value, ShapeIndex};

/// Read pg_qualstats' constants into `out` when the extension is there; returns how many
/// constants were kept.
pub async fn read(client: &Client, index: &ShapeIndex, out: &mut ObservationBuilder) -> usize {
    let installed = client
        .query_opt(
            "-- idxadvise: is pg_qualstats created\nSELECT 1 FROM pg_extension WHERE extname = 'pg_qualstats'",
            &[],
        )
        .await
        .ok()
        .flatten()
        .is_some();
    if !installed {
        return 0;
    }
    let rows = match client.query(sql::QUALSTATS, &[]).await {
        Ok(r) => r,
        Err(e) => {
            out.summary.notes.push(format!(
                "pg_qualstats is created but could not be read: {}\n(add pg_qualstats to shared_preload_libraries and restart)",
                crate::pg::connect::db_message(&e)
            ));
            return 0;
        }
    };
    out.summary.qualstats = true;
    let mut kept = 0;
    for r in rows {
        let queryid: Option<i64> = r.get("queryid");
        let (Some(queryid), Some(op), Some(constant)) = (
            queryid,
            r.get::<_, Option<String>>("operator"),
            r.get::<_, Option<String>>("constvalue"),
        ) else {
            continue;
        };
        if op != "=" || !index.contains(queryid) {
            continue;
        }
        let Some(value) = constant_value(&constant) else {
            continue;
        };
        let table: String = r.get("table");
        let column: String = r.get("column");
        let weight: i64 = r.get::<_, Option<i64>>("occurences").unwrap_or(0);
        if weight <= 0 {
            continue;
        }
        out.add_value(
            queryid,
            ObservedValue {
                param: None,
                column: Some(format!("{table}.{column}")),
                value,
                weight: weight as u64,
                source: ValueSource::Qualstats,
            },
        );
        kept += 1;
    }
    kept
}
