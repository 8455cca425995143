//! `verify`'s I/O: reading `baseline.json`, taking the second snapshot (from the server now, or
//! a file written by `idxadvise collect`), planning the drop migrations through `emit`, and
//! writing `verify.md`/`verify.json` next to the baseline.
//!
//! Must not change the database: the snapshot is taken by `collect` (read-only, untracked
//! sessions). Invariant: never overwrites a file: a second run writes `verify-2.md`, and so on.

use std::path::{Path, PathBuf};

use super::baseline::{Baseline, BASELINE_FILE};
use super::compare::{Suggestion, VerifyReport};
use crate::config::CollectConfig;
use crate::emit::{EmittedFile, FileKind, ProjectConfig, Target};
use crate::error::{Error, Kind, Result};
use crate::model::{Catalog, Snapshot};
use crate::select::{DropProposal, DropReason, Recommendation};

/// Where the second snapshot comes from.
#[derive(Debug, Clone)]
pub enum Measurement {
    /// Read pg_stat_statements, the catalog and the write counters now.
    Live(CollectConfig),
    /// A snapshot file written by `idxadvise collect` after the indexes were applied.
    Snapshot(PathBuf),
}

/// Read `baseline.json` from an analyze output folder (or the file itself).
pub fn load_baseline(dir: &Path) -> Result<Baseline> {
    let path = if dir.is_dir() {
        dir.join(BASELINE_FILE)
    } else {
        dir.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let message = format!(
            "cannot read the baseline {:?}: {e}\n(give the output folder of `idxadvise analyze`, which holds {BASELINE_FILE})",
            path.display().to_string()
        );
        Error::caused(Kind::Usage, message, e)
    })?;
    Baseline::from_json(&text)
        .map_err(|e| Error::caused(Kind::Usage, format!("{}: {e}", path.display()), e))
}

/// Take the second snapshot. Warnings of `collect` go to `warn`.
pub async fn measure(source: &Measurement, warn: &mut dyn FnMut(&str)) -> Result<Snapshot> {
    match source {
        Measurement::Live(c) => {
            let collected = crate::collect::collect_with_warnings(c).await?;
            for w in &collected.warnings {
                warn(w);
            }
            Ok(collected.snapshot)
        }
        Measurement::Snapshot(p) => crate::collect::load_snapshot(p),
    }
}

/// The first free file stem in `dir`: `verify`, else `verify-2`, `verify-3`, …
pub fn free_stem(dir: &Path) -> String {
    let taken = |stem: &str| {
        ["md", "json"]
            .iter()
            .any(|ext| dir.join(format!("{stem}.{ext}")).exists())
            || dir.join(format!("{stem}-drops.sql")).exists()
            || dir.join(format!("{stem}-migrations")).exists()
    };
    if !taken("verify") {
        return "verify".into();
    }
    (2u32..)
        .map(|n| format!("verify-{n}"))
        .find(|s| !taken(s))
        .unwrap_or_else(|| "verify-x".into())
}

/// Read the project before the measurement (its Python, its settings): a project that cannot
/// be read fails the run before the observation window, not after it.
pub fn open_project(project: &ProjectConfig) -> Result<Box<dyn Target>> {
    project.preflight()?;
    Ok(project.open()?)
}

/// Drop migrations for the indexes to drop, planned by `emit` with the project (Django:
/// `RemoveIndexConcurrently` when the index is in a model's `Meta.indexes`, else `RunSQL`),
/// placed under `<stem>-migrations/`. Without drops: nothing.
pub fn drop_migrations(
    report: &VerifyReport,
    catalog: &Catalog,
    target: &dyn Target,
    stem: &str,
) -> Result<(Vec<EmittedFile>, Vec<String>)> {
    let drops = drop_proposals(report, catalog);
    if drops.is_empty() {
        return Ok((vec![], vec![]));
    }
    let rec = Recommendation {
        drop: drops,
        ..Recommendation::default()
    };
    // Nothing to create: no name to choose.
    let named = crate::naming::name(rec, catalog, []);
    let plan = crate::emit::plan_files(&named, catalog, Some(target), env!("CARGO_PKG_VERSION"))?;
    let files = plan
        .files
        .into_iter()
        .filter(|f| matches!(f.kind, FileKind::Migration { .. }))
        .map(|f| EmittedFile {
            path: PathBuf::from(format!("{stem}-migrations")).join(&f.path),
            ..f
        })
        .collect();
    Ok((files, plan.notes))
}

/// The indexes `verify` suggests dropping, as drop proposals for `emit`.
pub fn drop_proposals(report: &VerifyReport, catalog: &Catalog) -> Vec<DropProposal> {
    report
        .indexes
        .iter()
        .filter(|i| i.suggestion == Suggestion::Drop)
        .filter_map(|i| {
            let (schema, table) = i.table.split_once('.')?;
            catalog.table(schema, table)?;
            Some(DropProposal {
                schema: schema.to_string(),
                table: table.to_string(),
                index: i.name.clone(),
                reason: DropReason::Unused,
                covered_by: None,
                size_bytes: i.real_size_bytes.unwrap_or(0),
                verified: false,
                write_saving_ms_per_s: i.predicted_write_cost_ms_per_s,
                superseded_by: None,
                covered_by_size_bytes: None,
                note: Some(format!("idxadvise verify: {}", i.reason)),
            })
        })
        .collect()
}

/// Write the files under `dir`, never overwriting (all or nothing).
pub fn write(dir: &Path, files: &[EmittedFile]) -> Result<Vec<PathBuf>> {
    crate::emit::write_files(dir, files).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_never_reuse_a_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_stem(dir.path()), "verify");
        std::fs::write(dir.path().join("verify.json"), "{}").unwrap();
        assert_eq!(free_stem(dir.path()), "verify-2");
        std::fs::write(dir.path().join("verify-2.md"), "").unwrap();
        assert_eq!(free_stem(dir.path()), "verify-3");
    }

    #[test]
    fn baseline_from_folder_or_file_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_baseline(dir.path()).unwrap_err();
        assert!(err.to_string().contains("baseline.json"), "{err}");
        let b = super::super::fixtures::baseline();
        std::fs::write(dir.path().join(BASELINE_FILE), b.to_json()).unwrap();
        assert_eq!(load_baseline(dir.path()).unwrap(), b);
        assert_eq!(load_baseline(&dir.path().join(BASELINE_FILE)).unwrap(), b);
    }

    #[test]
    fn drops_only_unused_indexes() {
        let b = super::super::fixtures::baseline();
        let mut n = super::super::fixtures::now();
        let r = super::super::compare::compare(&b, &n);
        assert!(drop_proposals(&r, &n.catalog).is_empty());
        n.catalog.tables[0].indexes[0].scans = 0;
        let r = super::super::compare::compare(&b, &n);
        let d = drop_proposals(&r, &n.catalog);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].index, "shop_order_custome_da1929_idx");
        assert_eq!(d[0].table, "shop_order");
    }
}
