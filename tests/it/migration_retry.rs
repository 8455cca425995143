//! Generated migrations are safe to run (issue 8 item 7): one index per file, built
//! CONCURRENTLY outside a transaction, and the recovery recipe in the file's header really
//! recovers from a failed concurrent build (INVALID index left behind, retry "already exists").

use idxadvise::emit;

use crate::django::{catalog, copy_project, manage, must, plan_django, python, rec, Planned};
use crate::support::cluster;

/// `indisvalid` of the index named `name`, or "" when there is none.
fn validity(db: &str, name: &str) -> String {
    cluster()
        .psql(
            db,
            &format!(
                "select x.indisvalid::text from pg_index x join pg_class i on i.oid = x.indexrelid where i.relname = '{name}'"
            ),
        )
        .trim()
        .to_string()
}

#[test]
fn migration_retry_after_failed_concurrent_build_recovers_with_header_recipe() {
    let (py, _) = python("newest");
    let c = cluster();
    let db = c.create_database("migration_retry");
    let url = c.url(&db);
    let project = copy_project();
    let root = project.path();
    must(&py, root, &url, &["migrate", "-v", "0"]);
    c.psql(
        &db,
        "insert into shop_customer (email, name, is_active, created_at) select 'c' || g || '@x.test', 'c' || g, true, now() from generate_series(1, 50) g; \
         insert into shop_order (status, created_at, total, customer_id) select 'delivered', now() - g * interval '1 minute', 10, (select min(id) from shop_customer) + g % 50 from generate_series(1, 2000) g",
    );

    // One index: shop_order(customer_id, created_at DESC).
    let mut rec = rec();
    rec.create.truncate(1);
    rec.drop.clear();
    let django = emit::django::introspect(root, Some(&py), None).expect("introspect");
    let Planned { named, plan, .. } =
        plan_django(&rec, &catalog(&db), &django, Some("shop")).expect("plan");
    let migrations = plan.migrations();
    assert_eq!(migrations.len(), 1, "one index, one file");
    let name = named.names[0].clone();
    let text = migrations[0].contents.clone();
    let migration = migrations[0]
        .path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .to_string();

    // CONCURRENTLY, outside a transaction, exactly one operation, no IF NOT EXISTS.
    assert!(text.contains("AddIndexConcurrently("), "{text}");
    assert!(text.contains("    atomic = False\n"), "{text}");
    assert_eq!(text.matches("AddIndexConcurrently(").count(), 1, "{text}");
    assert_eq!(text.matches("models.Index(").count(), 2, "{text}"); // header copy + operation
    assert_eq!(text.matches("    operations = [").count(), 1, "{text}");
    assert!(!text.to_uppercase().contains("IF NOT EXISTS"), "{text}");
    emit::write_files(root, &migrations).expect("write into the project");

    // A failed concurrent build: the index exists by name but is INVALID.
    c.psql(
        &db,
        &format!("CREATE INDEX \"{name}\" ON shop_order (customer_id, created_at DESC)"),
    );
    c.psql(
        &db,
        &format!(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = '\"{name}\"'::regclass"
        ),
    );
    assert_eq!(validity(&db, &name), "false");

    // The retry fails, as the header says.
    let (ok, out) = manage(&py, root, &url, &["migrate", "-v", "1"]);
    assert!(!ok, "migrate over an INVALID index should fail:\n{out}");
    assert!(out.contains("already exists"), "{out}");
    let shown = must(&py, root, &url, &["showmigrations", "shop"]);
    assert!(shown.contains(&format!("[ ] {migration}")), "{shown}");

    // The recovery recipe, taken from the header, run as written (outside a transaction).
    let recipe: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("DROP INDEX CONCURRENTLY IF EXISTS"))
        .collect();
    assert_eq!(recipe.len(), 1, "{text}");
    assert!(
        recipe[0].starts_with('#'),
        "recipe outside the header: {text}"
    );
    let sql = recipe[0].trim_start_matches('#').trim();
    assert_eq!(
        sql,
        format!("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"{name}\";")
    );
    c.psql(&db, sql);
    assert_eq!(validity(&db, &name), "", "recipe left the index behind");

    // The retry now succeeds: the index is there and valid, the migration applied.
    let out = must(&py, root, &url, &["migrate", "-v", "1"]);
    assert!(out.contains(&migration), "{out}");
    assert_eq!(validity(&db, &name), "true");
    let shown = must(&py, root, &url, &["showmigrations", "shop"]);
    assert!(shown.contains(&format!("[X] {migration}")), "{shown}");
}
