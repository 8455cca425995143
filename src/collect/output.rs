//! Writing a snapshot file atomically, and reading one back.
//!
//! Stage: collect (file I/O only). Invariants: an existing file is never overwritten, and the
//! target path is either absent or holds the complete snapshot, never a partial one: we write a
//! temporary file in the same folder, flush it to disk, then link it to the target name (which
//! fails when the name exists, also when it appeared meanwhile).

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Kind};
use crate::model::Snapshot;

/// Write `bytes` to `path` atomically (temp file in the same folder, fsync, link without
/// replacing): an existing `path` is an error, never overwritten.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".idxadvise-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::output(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::output(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::output(path, e))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!(
                "{:?} exists; idxadvise never overwrites a file\n(choose another -o, or remove it)",
                path.display().to_string()
            ))
        } else {
            Error::output(path, e.error)
        }
    })?;
    Ok(())
}

/// The snapshot as pretty JSON with a trailing newline.
pub fn to_json(snapshot: &Snapshot) -> Result<String, Error> {
    let mut s = serde_json::to_string_pretty(snapshot).map_err(|e| {
        Error::caused(
            Kind::Internal,
            format!("cannot serialise the snapshot: {e}"),
            e,
        )
    })?;
    s.push('\n');
    Ok(s)
}

/// Read a snapshot written by `idxadvise collect` (`--snapshot FILE`).
pub fn load_snapshot(path: &Path) -> Result<Snapshot, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::caused(
            Kind::Usage,
            format!("cannot read snapshot {}: {e}", path.display()),
            e,
        )
    })?;
    Snapshot::from_json(&text)
        .map_err(|e| Error::caused(Kind::Usage, format!("{}: {e}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overwrites_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("snap.json");
        write_atomic(&p, b"one").expect("write");
        let e = write_atomic(&p, b"two").expect_err("an existing file is kept");
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(e.to_string().contains("never overwrites"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "one");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "only the target: {names:?}");
    }

    #[test]
    fn missing_folder_is_an_output_error() {
        let e = write_atomic(Path::new("/nonexistent-dir/x/snap.json"), b"x").expect_err("fails");
        assert_eq!(e.exit_code(), crate::error::EXIT_OUTPUT);
    }

    #[test]
    fn loading_refuses_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.json");
        std::fs::write(&p, "{\"format_version\": 99}").expect("write");
        let e = load_snapshot(&p).expect_err("refused");
        assert!(e.to_string().contains("format_version 99"));
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(load_snapshot(&dir.path().join("missing.json")).is_err());
    }
}
