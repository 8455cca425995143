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
}

impl ServerInfo {
    /// Major version (15 for 150018).
    pub fn major(&self) -> u32 {
        self.version_num / 10000
    }

    /// B-tree skip scan (PostgreSQL 18+): an index can serve a statement that does not
    /// constrain its leading column, by skipping through that column's distinct values.
    pub fn has_btree_skip_scan(&self) -> bool {
        self.version_num >= 180000
    }

    /// HypoPG can hide existing indexes (1.4+), which lets us verify a drop's read impact.
    pub fn hypopg_can_hide(&self) -> bool {
        self.hypopg_version
            .as_deref()
            .map(|v| version_at_least(v, 1, 4))
            .unwrap_or(false)
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
        assert!(!s.hypopg_can_hide());
        s.hypopg_version = Some("1.4.0".into());
        assert!(s.hypopg_can_hide());
        s.hypopg_version = Some("2.0".into());
        assert!(s.hypopg_can_hide());
        s.version_num = 150018;
        assert_eq!(s.major(), 15);
        assert!(!s.has_btree_skip_scan());
        s.version_num = 180001;
        assert!(s.has_btree_skip_scan());
    }
}
