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
    // The server is the major version the matrix asked for (IDXADVISE_TEST_PG), and HypoPG is
    // the one packaged for it: 1.3 on Debian 12's PostgreSQL 15, 1.4 on 17 and 18.
    let v = c.psql(&db, "show server_version_num");
    let major = crate::support::pg_major();
    assert_eq!(
        v.trim().parse::<u32>().expect("version_num") / 10000,
        major,
        "{v}"
    );
    if let Some(asked) = crate::support::requested_major() {
        assert_eq!(major, asked);
    }
    let hypopg = c.psql(
        &db,
        "select extversion from pg_extension where extname = 'hypopg'",
    );
    assert_eq!(
        hypopg.trim().starts_with("1.4"),
        major >= 17,
        "HypoPG {hypopg} on PostgreSQL {major}"
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

#[test]
fn example_database_and_workload_replay() {
    let c = cluster();
    let db = crate::support::example_database("harness_example");
    assert_eq!(
        c.psql(&db, "select count(*) from shop_order").trim(),
        "300000"
    );
    crate::support::replay_workload(&db);
    let n = c.psql(
        &db,
        "select count(*) from pg_stat_statements s join pg_database d on d.oid = s.dbid \
         where d.datname = current_database() and query like 'SELECT \"shop_order\".\"id\"%ORDER BY \"shop_order\".\"created_at\" DESC LIMIT $%'",
    );
    assert_eq!(
        n.trim(),
        "1",
        "the order-history statement is one normalised entry"
    );
}
