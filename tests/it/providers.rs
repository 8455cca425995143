//! `check` on clusters dressed up as each managed service: the provider's roles and settings
//! (created here: role names, placeholder settings through ALTER DATABASE, ALTER ROLE and
//! postgresql.conf; PostgreSQL 15's ALTER SYSTEM refuses an unknown placeholder), pg_stat_statements not preloaded, and the provider's own
//! fix for it. Roles are cluster-wide, so each provider gets its own cluster.

use crate::cli::idxadvise;
use crate::support::{Cluster, ClusterOptions};

/// A cluster without pg_stat_statements preloaded (HypoPG and the pg_stat_statements view
/// created), `conf` appended to postgresql.conf, `sql` run in a fresh database.
fn dressed(conf: &str, sql: &str) -> (Cluster, String) {
    let c = Cluster::start_with(&ClusterOptions {
        extra_conf: conf.to_string(),
        preload_pg_stat_statements: false,
        ..ClusterOptions::default()
    });
    let db = c.create_database("provider");
    if !sql.is_empty() {
        c.psql(&db, sql);
    }
    (c, db)
}

fn check(c: &Cluster, url: &str) -> String {
    let run = idxadvise(&["check", "--database-url", url]);
    assert_eq!(
        run.code,
        idxadvise::error::EXIT_PREREQUISITE,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    c.stop();
    run.stdout
}

fn assert_has(out: &str, needles: &[&str]) {
    for n in needles {
        assert!(out.contains(n), "missing {n:?} in:\n{out}");
    }
}

#[test]
fn amazon_rds_and_aurora() {
    let (c, db) = dressed(
        "",
        "CREATE ROLE rds_superuser NOLOGIN; ALTER DATABASE provider SET rds.extensions = 'hypopg,pg_stat_statements'",
    );
    let out = idxadvise(&["check", "--database-url", &c.url(&db)]).stdout;
    assert_has(
        &out,
        &[
            "info     managed service: Amazon RDS for PostgreSQL (recognised by role rds_superuser, setting rds.extensions)",
            "fix: add pg_stat_statements to shared_preload_libraries in the instance's custom DB parameter group",
            "Amazon RDS for PostgreSQL logs: the RDS console",
        ],
    );
    assert!(!out.contains("postgresql.conf"), "{out}");
    // Aurora has its own function, aurora_version().
    c.psql(
        &db,
        "CREATE FUNCTION aurora_version() RETURNS text LANGUAGE sql AS $$ SELECT '16.4.1' $$",
    );
    let out = check(&c, &c.url(&db));
    assert_has(
        &out,
        &[
            "managed service: Amazon Aurora PostgreSQL (recognised by role rds_superuser, setting rds.extensions, function aurora_version())",
            "fix: add pg_stat_statements to shared_preload_libraries in the cluster's custom DB cluster parameter group",
        ],
    );
}

#[test]
fn google_cloud_sql() {
    let (c, db) = dressed(
        "",
        "CREATE ROLE cloudsqlsuperuser NOLOGIN; ALTER ROLE postgres IN DATABASE provider SET cloudsql.iam_authentication = 'on'",
    );
    let out = check(&c, &c.url(&db));
    assert_has(
        &out,
        &[
            "managed service: Google Cloud SQL for PostgreSQL (recognised by role cloudsqlsuperuser, setting cloudsql.iam_authentication)",
            "fix: set it through the instance's database flags",
            "logs: Cloud Logging",
        ],
    );
}

#[test]
fn azure_flexible_server() {
    // A server-wide setting (PostgreSQL 15's ALTER SYSTEM refuses an unknown placeholder).
    let (c, db) = dressed(
        "azure.extensions = 'pg_stat_statements'\n",
        "CREATE ROLE azure_pg_admin NOLOGIN; DROP EXTENSION hypopg",
    );
    let out = check(&c, &c.url(&db));
    assert_has(
        &out,
        &[
            "managed service: Azure Database for PostgreSQL flexible server (recognised by role azure_pg_admin, setting azure.extensions)",
            "az postgres flexible-server parameter set --name shared_preload_libraries",
            "HypoPG is not installed",
            "fix: allow it first: add hypopg to the azure.extensions server parameter",
        ],
    );
}

#[test]
fn supabase() {
    let (c, db) = dressed(
        "",
        "CREATE ROLE supabase_admin NOLOGIN; CREATE ROLE authenticator NOLOGIN; CREATE ROLE service_role NOLOGIN; CREATE ROLE anon NOLOGIN",
    );
    let out = check(&c, &c.url(&db));
    assert_has(
        &out,
        &[
            "managed service: Supabase (recognised by role authenticator, role service_role, role supabase_admin)",
            "fix: Supabase preloads pg_stat_statements",
            "Supabase logs: the dashboard's Logs Explorer",
        ],
    );
}

#[test]
fn neon() {
    let (c, db) = dressed(
        "neon.tenant_id = 'c1a0b2d3e4f5'\n",
        "CREATE ROLE neon_superuser NOLOGIN",
    );
    let out = check(&c, &c.url(&db));
    assert_has(
        &out,
        &[
            "managed service: Neon (recognised by role neon_superuser, setting neon.tenant_id)",
            "fix: Neon preloads pg_stat_statements",
        ],
    );
}

#[test]
fn crunchy_bridge() {
    let (c, db) = dressed(
        "",
        "CREATE ROLE crunchy_read NOLOGIN; CREATE ROLE crunchy_write NOLOGIN; \
         CREATE ROLE application LOGIN IN ROLE crunchy_write; CREATE TABLE secret(x int)",
    );
    // The application role: no pg_monitor, no SELECT on the table; the postgres role grants.
    let url = c.url(&db).replace("postgres@", "application@");
    let out = check(&c, &url);
    assert_has(
        &out,
        &[
            "managed service: Crunchy Bridge (recognised by role crunchy_read, role crunchy_write)",
            "fix: GRANT pg_monitor TO \"application\"; (as the postgres role (a superuser))",
            "fix: change shared_preload_libraries in the cluster's configuration parameters",
        ],
    );
}

/// A plain cluster names no provider.
#[test]
fn a_self_managed_server_names_no_provider() {
    let c = crate::support::cluster();
    let db = c.create_database("provider_none");
    let run = idxadvise(&["check", "--database-url", &c.url(&db)]);
    assert!(!run.stdout.contains("managed service"), "{}", run.stdout);
}
