//! Facts about the server a snapshot was taken from.

use serde::{Deserialize, Serialize};

/// What `collect` learned about the server and its extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. `150018`.
    pub version_num: u32,
    /// `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub version: String,
    /// `pg_is_in_recovery()`: true on a hot standby.
    pub in_recovery: bool,
    /// Database the snapshot was taken in.
    pub database: String,
    /// Installed HypoPG version, if the extension exists in this database.
    pub hypopg_version: Option<String>,
    /// Installed pg_stat_statements version, if created.
    pub pgss_version: Option<String>,
    /// `pg_database_size(current_database())`, bytes: what a share budget is a share of
    /// (absent in snapshots from before it was collected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_size_bytes: Option<i64>,
    /// `shared_buffers`, bytes: the cache the recommended indexes compete for with the data
    /// (absent in snapshots from before it was collected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_buffers_bytes: Option<i64>,
}

impl ServerInfo {
    /// Major version (15 for 150018).
    pub fn major(&self) -> u32 {
        self.version_num / 10000
    }

    // What each server version can do. Every version difference the code depends on is one
    // named check here, never a version number compared in place.

    /// `EXPLAIN (GENERIC_PLAN)` plans a statement with `$n` parameters directly (PostgreSQL 16+).
    /// Before, a generic plan needs `PREPARE` + `plan_cache_mode = force_generic_plan`.
    pub fn has_generic_plan(&self) -> bool {
        self.version_num >= 160000
    }

    /// HypoPG can hide an existing index from the planner (`hypopg_hide_index`, HypoPG 1.4+),
    /// which lets a drop's read impact be measured.
    pub fn can_hide_index(&self) -> bool {
        self.hypopg_version
            .as_deref()
            .is_some_and(|v| version_at_least(v, 1, 4))
    }

    /// `pg_stat_activity.query_id` exists (PostgreSQL 14+; filled when `compute_query_id` is on)
    /// and equals pg_stat_statements' `queryid`.
    pub fn has_activity_query_id(&self) -> bool {
        self.version_num >= 140000
    }

    /// pg_stat_statements has `total_exec_time`/`mean_exec_time` (1.8, PostgreSQL 13+); before,
    /// `total_time`/`mean_time`.
    pub fn has_pgss_exec_time(&self) -> bool {
        self.version_num >= 130000
    }

    /// `pg_stat_statements_info` (`stats_reset`, `dealloc`) exists (1.9, PostgreSQL 14+).
    pub fn has_pgss_info(&self) -> bool {
        self.version_num >= 140000
    }

    /// Each pg_stat_statements entry carries `stats_since` and `minmax_stats_since`
    /// (pg_stat_statements 1.11, PostgreSQL 17+). The same version renamed the block timing
    /// columns: `blk_read_time`/`blk_write_time` became `shared_blk_read_time`/
    /// `shared_blk_write_time` (and `local_blk_*_time` were added); idxadvise reads neither.
    pub fn has_pgss_stats_since(&self) -> bool {
        match self.pgss_version.as_deref() {
            Some(v) => version_at_least(v, 1, 11),
            None => self.version_num >= 170000,
        }
    }

    /// pg_stat_statements folds a list of constants into one entry whatever its length, with
    /// the text `IN ($1 /*, ... */)` (PostgreSQL 18+). Before, each length is its own entry.
    pub fn squashes_in_lists(&self) -> bool {
        self.version_num >= 180000
    }

    /// The B-tree skip scan (PostgreSQL 18+): a multi-column index can serve a condition on a
    /// later column when the leading columns have few distinct values, so an existing index
    /// `(a, b)` may already serve `WHERE b = $1`. The planner's what-if answers include it.
    pub fn has_btree_skip_scan(&self) -> bool {
        self.version_num >= 180000
    }

    /// `GRANT SET ON PARAMETER` exists (PostgreSQL 15+), so a role that is not a superuser
    /// can be allowed to turn pg_stat_statements tracking off for its own sessions.
    pub fn has_parameter_privileges(&self) -> bool {
        self.version_num >= 150000
    }

    /// The predefined role `pg_read_all_data` exists (PostgreSQL 14+).
    pub fn has_read_all_data_role(&self) -> bool {
        self.version_num >= 140000
    }

    /// A major version idxadvise's test suite runs on (15, 17 and 18; 13, 14 and 16 are
    /// expected to work: nothing version-specific differs from their neighbours).
    pub fn is_tested_version(&self) -> bool {
        matches!(self.major(), 15 | 17 | 18)
    }
}

/// Whether a dotted version string such as `1.3.1` is at least `major.minor`.
pub fn version_at_least(v: &str, major: u32, minor: u32) -> bool {
    let mut parts = v.split('.').map(|p| {
        p.chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let ma = parts.next().unwrap_or(0);
    let mi = parts.next().unwrap_or(0);
    (ma, mi) >= (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypopg_hide_needs_1_4() {
        let mut s = ServerInfo {
            hypopg_version: Some("1.3.1".into()),
            ..Default::default()
        };
        assert!(!s.can_hide_index());
        s.hypopg_version = Some("1.4.0".into());
        assert!(s.can_hide_index());
        s.hypopg_version = Some("2.0".into());
        assert!(s.can_hide_index());
        s.hypopg_version = None;
        assert!(!s.can_hide_index());
        s.version_num = 150018;
        assert_eq!(s.major(), 15);
        assert!(!s.has_btree_skip_scan());
        s.version_num = 180001;
        assert!(s.has_btree_skip_scan());
    }

    /// The capabilities of the three versions the test suite runs on.
    #[test]
    fn capabilities_of_15_17_and_18() {
        let v = |num: u32, pgss: &str| ServerInfo {
            version_num: num,
            pgss_version: Some(pgss.into()),
            ..Default::default()
        };
        let pg15 = v(150018, "1.10");
        let pg17 = v(170010, "1.11");
        let pg18 = v(180006, "1.12");
        let row = |s: &ServerInfo| {
            [
                s.has_generic_plan(),
                s.has_activity_query_id(),
                s.has_pgss_stats_since(),
                s.squashes_in_lists(),
                s.has_btree_skip_scan(),
                s.has_parameter_privileges(),
            ]
        };
        assert_eq!(row(&pg15), [false, true, false, false, false, true]);
        assert_eq!(row(&pg17), [true, true, true, false, false, true]);
        assert_eq!(row(&pg18), [true, true, true, true, true, true]);
        assert!(!v(160004, "1.10").has_pgss_stats_since());
        assert!(v(160004, "1.10").has_generic_plan());
        // An old extension's SQL objects on a new server: the installed version decides.
        assert!(!v(170010, "1.10").has_pgss_stats_since());
        assert!(!v(130000, "1.8").has_pgss_info());
        assert!(v(130000, "1.8").has_pgss_exec_time());
        assert!(!v(120010, "1.7").has_pgss_exec_time());
        assert!(pg15.is_tested_version() && pg18.is_tested_version());
        assert!(!v(160004, "1.10").is_tested_version());
    }
}
