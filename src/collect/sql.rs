//! The SQL `collect` and `check` send, from `sql/*.sql` (each file's header names the minimum
//! server version and the columns it returns).
//!
//! Stage: collect (data only). Invariant: every statement is parameterless and starts with the
//! marker comment `-- idxadvise:`, which pg_stat_statements keeps in its text, so the tool's own
//! statements can be recognised there even when tracking could not be turned off.

/// Server facts.
pub const SERVER: &str = include_str!("../../sql/server.sql");
/// `check`: settings and privileges.
pub const CHECK_SETTINGS: &str = include_str!("../../sql/check_settings.sql");
/// `check`: SET privilege on `pg_stat_statements.track` (PG15+).
pub const CHECK_TRACK_PRIVILEGE: &str = include_str!("../../sql/check_track_privilege.sql");
/// `check`: how full pg_stat_statements is.
pub const PGSS_COUNT: &str = include_str!("../../sql/pgss_count.sql");
/// pg_stat_statements_info (PG14+).
pub const PGSS_INFO: &str = include_str!("../../sql/pgss_info.sql");
/// The workload (PG13+).
pub const WORKLOAD: &str = include_str!("../../sql/workload.sql");
/// The workload before PG13 (`total_time`).
pub const WORKLOAD_PRE13: &str = include_str!("../../sql/workload_pre13.sql");
/// The search path.
pub const SEARCH_PATH: &str = include_str!("../../sql/search_path.sql");
/// User tables.
pub const TABLES: &str = include_str!("../../sql/tables.sql");
/// Columns.
pub const COLUMNS: &str = include_str!("../../sql/columns.sql");
/// pg_stats.
pub const COLUMN_STATS: &str = include_str!("../../sql/column_stats.sql");
/// Existing indexes.
pub const INDEXES: &str = include_str!("../../sql/indexes.sql");
/// Constraints.
pub const CONSTRAINTS: &str = include_str!("../../sql/constraints.sql");
/// Whether Django's `django_content_type` can be read.
pub const CONTENT_TYPES_READABLE: &str = include_str!("../../sql/content_types_readable.sql");
/// Django's content types.
pub const CONTENT_TYPES: &str = include_str!("../../sql/content_types.sql");
/// Write counters.
pub const WRITE_STATS: &str = include_str!("../../sql/write_stats.sql");
/// Statistics reset time of the database.
pub const STATS_RESET: &str = include_str!("../../sql/stats_reset.sql");

/// A round of activity sampling (PG14+, with `query_id`).
pub const ACTIVITY: &str = include_str!("../../sql/activity.sql");
/// A round of activity sampling before PG14.
pub const ACTIVITY_PRE14: &str = include_str!("../../sql/activity_pre14.sql");
/// What activity sampling can see.
pub const ACTIVITY_SETTINGS: &str = include_str!("../../sql/activity_settings.sql");
/// `check`: track_activity_query_size and the texts of this database's statements (which of
/// them count is `check::activity`'s decision).
pub const CHECK_ACTIVITY: &str = include_str!("../../sql/check_activity.sql");
/// `verify`: the index builds running in this database, to tell a build still in progress from
/// one that failed.
pub const INDEX_BUILDS: &str = include_str!("../../sql/index_builds.sql");
/// `check`: is pg_qualstats offered, created and loaded.
pub const CHECK_QUALSTATS: &str = include_str!("../../sql/check_qualstats.sql");
/// `check`: is pg_prewarm offered and created.
pub const CHECK_PREWARM: &str = include_str!("../../sql/check_prewarm.sql");
/// pg_qualstats' constants per queryid.
pub const QUALSTATS: &str = include_str!("../../sql/qualstats.sql");
/// Check: the roles and settings that tell which managed service runs the server.
pub const CHECK_PROVIDER: &str = include_str!("../../sql/check_provider.sql");

/// The marker every statement of ours starts with.
pub const MARKER: &str = "-- idxadvise:";

/// The marker every statement of ours carries after its first keyword. PostgreSQL 18's
/// pg_stat_statements keeps a statement's text from its first token, without the comments
/// before it, so [`MARKER`] is gone there; a comment inside the statement stays.
pub const INLINE_MARKER: &str = "/* idxadvise */";

/// Whether a pg_stat_statements text is one of ours (either marker, on any version).
pub fn is_ours(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with(MARKER)
        || t.split_once(char::is_whitespace)
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(INLINE_MARKER))
}

/// Every statement, by file name (for tests).
pub const ALL: &[(&str, &str)] = &[
    ("server.sql", SERVER),
    ("check_settings.sql", CHECK_SETTINGS),
    ("check_track_privilege.sql", CHECK_TRACK_PRIVILEGE),
    ("check_provider.sql", CHECK_PROVIDER),
    ("pgss_count.sql", PGSS_COUNT),
    ("pgss_info.sql", PGSS_INFO),
    ("workload.sql", WORKLOAD),
    ("workload_pre13.sql", WORKLOAD_PRE13),
    ("search_path.sql", SEARCH_PATH),
    ("tables.sql", TABLES),
    ("columns.sql", COLUMNS),
    ("column_stats.sql", COLUMN_STATS),
    ("indexes.sql", INDEXES),
    ("constraints.sql", CONSTRAINTS),
    ("content_types_readable.sql", CONTENT_TYPES_READABLE),
    ("content_types.sql", CONTENT_TYPES),
    ("write_stats.sql", WRITE_STATS),
    ("stats_reset.sql", STATS_RESET),
    ("activity.sql", ACTIVITY),
    ("activity_pre14.sql", ACTIVITY_PRE14),
    ("activity_settings.sql", ACTIVITY_SETTINGS),
    ("qualstats.sql", QUALSTATS),
    ("check_activity.sql", CHECK_ACTIVITY),
    ("index_builds.sql", INDEX_BUILDS),
    ("check_qualstats.sql", CHECK_QUALSTATS),
    ("check_prewarm.sql", CHECK_PREWARM),
];

/// The workload statement for what the server's pg_stat_statements has.
pub fn workload_for(server: &crate::model::ServerInfo) -> &'static str {
    if server.has_pgss_exec_time() {
        WORKLOAD
    } else {
        WORKLOAD_PRE13
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServerInfo;

    fn version(version_num: u32) -> ServerInfo {
        ServerInfo {
            version_num,
            ..ServerInfo::default()
        }
    }

    #[test]
    fn every_statement_has_the_marker_and_a_version_header() {
        for (name, text) in ALL {
            assert!(text.starts_with(MARKER), "{name} lacks the marker");
            assert!(
                text.contains(&format!("\nSELECT {INLINE_MARKER} ")),
                "{name} lacks the inline marker"
            );
            // What PostgreSQL 18 keeps: the text from the first keyword.
            let kept = &text[text.find("\nSELECT ").expect("SELECT") + 1..];
            assert!(is_ours(kept), "{name}");
            assert!(
                text.contains("-- min_server_version: "),
                "{name} lacks a minimum version"
            );
            assert!(text.contains("-- columns: "), "{name} lacks its columns");
            assert!(!text.contains("$1"), "{name} must be parameterless");
        }
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql"))
            .expect("sql dir")
            .count();
        assert_eq!(files, ALL.len(), "every file in sql/ is listed in ALL");
    }

    #[test]
    fn other_statements_are_not_ours() {
        assert!(!is_ours("SELECT \"shop_order\".\"id\" FROM \"shop_order\""));
        assert!(!is_ours("SELECT $1 /* idxadvise */"));
        assert!(is_ours("SELECT /* idxadvise */ $1 AS a"));
    }

    #[test]
    fn workload_column_names_follow_the_version() {
        assert!(workload_for(&version(150018)).contains("total_exec_time"));
        assert!(workload_for(&version(130000)).contains("total_exec_time"));
        assert!(workload_for(&version(120010)).contains("s.total_time AS"));
    }
}
