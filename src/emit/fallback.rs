//! When the project cannot hold some migrations without `--migrations-app`: write everything
//! else, and say in one line which flag to add.
//!
//! Problem: indexes on tables no app of the project owns (django.contrib, third-party apps)
//! go into `RunSQL` migrations of one of the project's own apps. With several such apps and no
//! `--migrations-app`, planning refuses — but which indexes are recommended is known only
//! after the observation window and the analysis, so the run used to end there, with nothing
//! written.
//! What we do: the run keeps its work: `indexes.sql`, the report, the plan diffs and
//! `baseline.json` are written, without migrations (or `Meta.indexes` lines), and one line
//! (stderr and the report's notes) says to run again with `--migrations-app <label>`.
//! Example: a django-oscar shop with apps `storefront` and `catalogue` and an index on
//! `auth_user`: `indexes.sql` and the report are written, and the line names both labels.
//!
//! Pure: must not do I/O. Only [`EmitError::MigrationsAppNeeded`] falls back; every other
//! refusal stays an error.

use super::{plan_files, EmitError, Plan, Target};
use crate::model::Catalog;
use crate::naming::Named;

/// [`plan_files`] with the project, or, when it needs `--migrations-app` and `sql_only_ok`
/// (there is an output folder for the other files), the plan without the project and the
/// one line that says which flag to add (also in the plan's notes).
pub fn plan_or_sql_only(
    named: &Named,
    catalog: &Catalog,
    target: Option<&dyn Target>,
    version: &str,
    sql_only_ok: bool,
) -> Result<(Plan, Option<String>), EmitError> {
    match plan_files(named, catalog, target, version) {
        Err(EmitError::MigrationsAppNeeded {
            creates,
            drops,
            tables,
            apps,
        }) if sql_only_ok => {
            let mut plan = plan_files(named, catalog, None, version)?;
            let line = migrations_app_line(creates + drops, tables.len(), &apps);
            // Replace the "no Django project was given" note: one was given.
            plan.notes.retain(|n| !n.starts_with("SQL only:"));
            plan.notes.push(line.clone());
            Ok((plan, Some(line)))
        }
        other => other.map(|p| (p, None)),
    }
}

/// The one line: what was not written, and the flag that writes it.
pub fn migrations_app_line(migrations: usize, tables: usize, apps: &[String]) -> String {
    let mut apps = apps.to_vec();
    apps.sort();
    format!(
        "no migrations written: {migrations} migration(s) on {tables} table(s) without a model of this project need an app to hold them; indexes.sql and the report were written; run again with --migrations-app <{}>",
        apps.join("|")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_flag_and_every_label_on_one_line() {
        let l = migrations_app_line(3, 2, &["storefront".into(), "catalogue".into()]);
        assert!(!l.contains('\n'), "{l}");
        assert!(
            l.ends_with("run again with --migrations-app <catalogue|storefront>"),
            "{l}"
        );
        assert!(l.len() < 250, "{}", l.len());
    }
}
