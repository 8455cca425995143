//! The harness itself: the cluster has what every other test relies on.

use crate::support::cluster;

#[test]
fn cluster_has_pg_stat_statements_and_hypopg() {
    let c = cluster();
    let db = c.create_database("harness_ext");
    let out = c.psql(
        &db,
        "select string_agg(extname || '=' || extversion, ',' order by extname) from pg_extension where extname in ('hypopg','pg_stat_statements')",
    );
    assert!(out.contains("hypopg=1."), "hypopg missing: {out}");
    assert!(
        out.contains("pg_stat_statements=1."),
        "pg_stat_statements missing: {out}"
    );
    let preload = c.psql(&db, "show shared_preload_libraries");
    assert_eq!(preload.trim(), "pg_stat_statements");
    let v = c.psql(&db, "show server_version_num");
    assert!(
        v.trim().starts_with("15"),
        "expected PostgreSQL 15, got {v}"
    );
}

#[test]
fn standby_is_in_recovery_and_replays() {
    let c = cluster();
    let db = c.create_database("harness_standby");
    c.psql(
        &db,
        "create table t(x int); insert into t select generate_series(1,100)",
    );
    let s = c.start_standby();
    c.wait_replayed(&s);
    assert_eq!(s.psql(&db, "select pg_is_in_recovery()").trim(), "t");
    assert_eq!(s.psql(&db, "select count(*) from t").trim(), "100");
    s.stop();
}
