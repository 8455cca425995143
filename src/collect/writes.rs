//! Write statistics: per-table counters from `pg_stat_user_tables`, from the analysed server
//! when it is a primary, from the primary given with `--primary-url` when it is a replica.
//!
//! Stage: collect. Must not write anything (the primary session is read-only and untracked).
//! Invariant: a replica without a primary gives [`WriteSource::Unavailable`] with no counters,
//! never a table of zeros that would read as "never written".

use tokio_postgres::Client;

use crate::model::{Statement, TableWrites, WriteSource, WriteStats};
use crate::pg::PgError;

use super::sql;

/// Read the counters of the database `client` is connected to.
pub async fn read(client: &Client, source: WriteSource) -> Result<WriteStats, PgError> {
    let tables = client
        .query(sql::WRITE_STATS, &[])
        .await
        .map_err(|e| PgError::query("reading pg_stat_user_tables", e))?
        .iter()
        .map(|r| TableWrites {
            schema: r.get("schema"),
            table: r.get("table_name"),
            n_tup_ins: r.get::<_, Option<i64>>("n_tup_ins").unwrap_or(0),
            n_tup_upd: r.get::<_, Option<i64>>("n_tup_upd").unwrap_or(0),
            n_tup_hot_upd: r.get::<_, Option<i64>>("n_tup_hot_upd").unwrap_or(0),
            n_tup_del: r.get::<_, Option<i64>>("n_tup_del").unwrap_or(0),
            n_live_tup: r.get::<_, Option<i64>>("n_live_tup").unwrap_or(0),
            n_dead_tup: r.get::<_, Option<i64>>("n_dead_tup").unwrap_or(0),
        })
        .collect();
    let (since, seconds) = match client
        .query_opt(sql::STATS_RESET, &[])
        .await
        .map_err(|e| PgError::query("reading pg_stat_database", e))?
    {
        Some(r) => (r.get("since"), r.get("seconds")),
        None => (None, None),
    };
    Ok(WriteStats {
        source,
        since,
        seconds,
        tables,
        statements: vec![],
        window: None,
    })
}

/// What a replica without a primary gets.
pub fn unavailable() -> WriteStats {
    WriteStats {
        source: WriteSource::Unavailable,
        since: None,
        seconds: None,
        tables: vec![],
        statements: vec![],
        window: None,
    }
}

/// The write statements (INSERT/UPDATE/DELETE/MERGE, also behind a WITH) of a workload.
pub fn write_statements(statements: &[Statement]) -> Vec<Statement> {
    statements
        .iter()
        .filter(|s| is_write(&s.query))
        .cloned()
        .collect()
}

fn is_write(text: &str) -> bool {
    match super::workload::first_keyword(text).as_str() {
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => true,
        "WITH" => {
            let up = text.to_ascii_uppercase();
            ["INSERT INTO", "UPDATE ", "DELETE FROM"]
                .iter()
                .any(|k| up.contains(k))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_writes() {
        assert!(is_write("INSERT INTO \"shop_order\" (\"x\") VALUES ($1)"));
        assert!(is_write("UPDATE t SET a = $1"));
        assert!(is_write(
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
        ));
        assert!(!is_write("SELECT * FROM t"));
        assert!(!is_write("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!unavailable().available());
    }
}
