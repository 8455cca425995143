//! Fail early: what `analyze` (and `collect -o`) can know is wrong before minutes of
//! collection and simulation, checked first, each with the one-line fix.
//!
//! - the output folder: must be new or empty ([`empty_out_dir`]), in a folder that exists
//!   (only the last folder of `--out` is created: a mistyped path is an error, not a tree of
//!   new folders), and writable: a probe file is created there (unnamed, so nothing is left)
//!   — a permission error is reported as one, never as "free space";
//! - the Django project: the folder must hold `manage.py`, and a `--python` given must exist;
//! - the role: EXPLAIN needs SELECT on every table the workload reads; a role that cannot read
//!   every user table (no `pg_read_all_data`) stops with the fix, as `check` reports it;
//! - the analysed database: HypoPG must be installed there (the what-if stage needs it, and
//!   would otherwise stop only after the observation window); every `--hot-values` table and
//!   column must exist; an `--exclude-table` that names no table is a warning (a typo excludes
//!   nothing).
//!
//! Must not change the database or leave a file behind.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The hint for an I/O error while writing output: what to do about this kind of failure.
pub fn write_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            "the folder is not writable for this user: choose another --out, or fix its permissions"
        }
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "the disk is full: free space or choose another --out"
        }
        std::io::ErrorKind::NotFound => {
            "a folder on the way does not exist: create it, or choose another --out"
        }
        _ => "choose another --out, then run again",
    }
}

/// The output folder must not exist, or be empty: nothing is ever overwritten.
pub fn empty_out_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "the output folder {:?} is not empty; idxadvise never overwrites files\n(choose another --out, or remove the folder)",
                    dir.display().to_string()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() && !dir.is_dir() => Err(Error::Usage(format!(
            "--out {:?} is a file; --out names a folder, new or empty\n(choose another --out)",
            dir.display().to_string()
        ))),
        Err(e) => Err(Error::output(dir, e)),
    }
}

/// The nearest existing folder at or above `dir` (where a new output folder would be made).
fn existing_ancestor(dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut p = abs.as_path();
    loop {
        if p.is_dir() {
            return p.to_path_buf();
        }
        match p.parent() {
            Some(up) => p = up,
            None => return abs,
        }
    }
}

/// The output folder can be written: it exists, or the folder it would be created in does
/// (idxadvise creates only the last folder of `--out`); a probe file is created (and
/// removed) in it, or in that parent.
pub fn writable_folder(dir: &Path) -> Result<()> {
    if !dir.exists() {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(parent) = abs.parent().filter(|p| !p.is_dir()) {
            return Err(Error::Output {
                message: format!(
                    "the folder {:?} does not exist (for --out {:?})\n(create it first, or choose another --out: idxadvise creates only the last folder of --out; nothing was collected)",
                    parent.display().to_string(),
                    dir.display().to_string()
                ),
                source: None,
            });
        }
    }
    let at = existing_ancestor(dir);
    match tempfile::tempfile_in(&at) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Output {
            message: format!(
                "cannot write into {:?} (for --out {:?}): {e}\n({}; nothing was collected)",
                at.display().to_string(),
                dir.display().to_string(),
                write_hint(&e)
            ),
            source: Some(e),
        }),
    }
}

/// `--django-project` holds `manage.py`, and `--python` (when given) exists.
pub fn django_project(project: &Path, python: Option<&Path>) -> Result<()> {
    if !project.is_dir() {
        return Err(Error::Usage(format!(
            "--django-project {:?} is not a folder\n(give the folder that holds manage.py)",
            project.display().to_string()
        )));
    }
    if !project.join("manage.py").is_file() {
        return Err(Error::Usage(format!(
            "--django-project {:?} has no manage.py\n(give the folder that holds manage.py)",
            project.display().to_string()
        )));
    }
    if let Some(py) = python {
        if !py.is_file() {
            return Err(Error::Usage(format!(
                "--python {:?} does not exist\n(give the project's Python, e.g. .venv/bin/python)",
                py.display().to_string()
            )));
        }
    }
    Ok(())
}

/// `collect -o FILE`: the file must not exist (idxadvise never overwrites a file), and its
/// folder must be writable; checked before collecting.
pub fn new_file(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(Error::Usage(format!(
            "{:?} exists; idxadvise never overwrites a file\n(choose another -o, or remove it)",
            path.display().to_string()
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::output(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "its folder does not exist"),
        ));
    }
    tempfile::tempfile_in(dir)
        .map(|_| ())
        .map_err(|e| Error::output(path, e))
}

/// The role can SELECT from every user table (and use its schema): EXPLAIN needs it.
/// Otherwise a [`Error::Prerequisite`] with the GRANT that fixes it, as `check` gives.
async fn readable_tables(conn: &crate::pg::Connection) -> Result<()> {
    let r = conn
        .client
        .query_one(crate::collect::sql::CHECK_SETTINGS, &[])
        .await
        .map_err(|e| crate::pg::PgError::query("reading the role's privileges", e))?;
    let unreadable: i64 = r.get("unreadable_tables");
    if unreadable == 0 {
        return Ok(());
    }
    let role: String = r.get("role");
    let example: Option<String> = r.get("unreadable_example");
    let server = crate::collect::server::read(&conn.client).await?;
    let fix = if server.has_read_all_data_role() {
        format!(
            "GRANT pg_read_all_data TO {};",
            crate::pg::quote::ident(&role)
        )
    } else {
        format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}; (for each schema)",
            crate::pg::quote::ident(&role)
        )
    };
    Err(Error::Prerequisite(format!(
        "role {} cannot SELECT from {unreadable} table(s) (e.g. {}): EXPLAIN needs it, so their statements could not be planned\n(fix: {fix})",
        crate::pg::quote::ident(&role),
        example.as_deref().unwrap_or("?")
    )))
}

/// What the analysed database must have before the window opens, on one connection: SELECT
/// on every user table (`readable_tables`), HypoPG, and the tables and columns
/// `--hot-values` names. Returns warnings: `--exclude-table` names that match no table.
pub async fn analysed_database(
    opts: &crate::pg::ConnectOptions,
    hot_values: &[crate::config::HotValues],
    exclude_tables: &[String],
) -> Result<Vec<String>> {
    let conn = crate::pg::connect(opts).await?;
    readable_tables(&conn).await?;
    if crate::whatif::hypo::hypopg_version(&conn.client)
        .await?
        .is_none()
    {
        return Err(crate::whatif::WhatIfError::NoHypoPg.into());
    }
    // `to_regclass` resolves an unqualified name through the search_path, as the catalog does.
    let column_exists = |name: String, column: Option<String>| {
        let client = &conn.client;
        async move {
            let row = client
                .query_one(
                    "SELECT c.oid IS NOT NULL AS has_table, \
                            EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a \
                                    WHERE a.attrelid = c.oid AND a.attname = $2 \
                                      AND a.attnum > 0 AND NOT a.attisdropped) AS has_column \
                     FROM (SELECT to_regclass($1)::oid AS oid) c",
                    &[&name, &column.unwrap_or_default()],
                )
                .await
                .map_err(|e| {
                    crate::pg::PgError::query("looking up a table named on the command line", e)
                })?;
            Ok::<(bool, bool), Error>((row.get("has_table"), row.get("has_column")))
        }
    };
    for h in hot_values {
        let name = match &h.schema {
            Some(sc) => format!(
                "{}.{}",
                crate::pg::quote::ident(sc),
                crate::pg::quote::ident(&h.table)
            ),
            None => crate::pg::quote::ident(&h.table),
        };
        let label = match &h.schema {
            Some(sc) => format!("{sc}.{}", h.table),
            None => h.table.clone(),
        };
        let (table, column) = column_exists(name, Some(h.column.clone())).await?;
        if !table {
            return Err(Error::Usage(format!("--hot-values: no table {label}")));
        }
        if !column {
            return Err(Error::Usage(format!(
                "--hot-values: table {label} has no column {}",
                h.column
            )));
        }
    }
    let mut warnings = vec![];
    for e in exclude_tables {
        let name = e
            .split('.')
            .map(crate::pg::quote::ident)
            .collect::<Vec<_>>()
            .join(".");
        let (table, _) = column_exists(name, None).await?;
        if !table {
            warnings.push(format!(
                "--exclude-table {e}: no such table in this database, nothing is excluded by it"
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_cause() {
        use std::io::{Error as E, ErrorKind as K};
        assert!(write_hint(&E::from(K::PermissionDenied)).contains("not writable"));
        assert!(!write_hint(&E::from(K::PermissionDenied)).contains("free space"));
        assert!(write_hint(&E::from(K::StorageFull)).contains("free space"));
    }

    #[test]
    fn new_files_and_projects() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("snap.json");
        new_file(&f).unwrap();
        std::fs::write(&f, "{}").unwrap();
        let e = new_file(&f).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(e.to_string().contains("never overwrites"), "{e}");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no probe left"
        );
        let e = empty_out_dir(&f).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(e.to_string().contains("is a file"), "{e}");
        let e = django_project(d.path(), None).unwrap_err();
        assert!(e.to_string().contains("has no manage.py"), "{e}");
        std::fs::write(d.path().join("manage.py"), "").unwrap();
        django_project(d.path(), None).unwrap();
        let e = django_project(d.path(), Some(&d.path().join("nope/python"))).unwrap_err();
        assert!(e.to_string().contains("--python"), "{e}");
        writable_folder(&d.path().join("new")).unwrap();
        assert!(!d.path().join("new").exists());
        // Only the last folder is made: a missing parent is the documented error (exit 6).
        let e = writable_folder(&d.path().join("new/deeper")).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_OUTPUT);
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(!d.path().join("new").exists());
    }
}
