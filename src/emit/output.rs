//! Stage `emit`: putting planned files on disk.
//!
//! The only writer of `emit`. Invariants: never overwrites an existing file; everything is
//! written to a temp folder first and then linked into place, and a failure removes what was
//! placed, so nothing half-written is left.

use std::path::{Path, PathBuf};

use super::{EmitError, EmittedFile};

/// Write `files` (paths relative to `out_dir`) under `out_dir`, refusing to overwrite anything.
pub fn write_files(out_dir: &Path, files: &[EmittedFile]) -> Result<Vec<PathBuf>, EmitError> {
    let io = |path: &Path, e: std::io::Error| EmitError::Io {
        path: path.display().to_string(),
        source: e,
    };
    for f in files {
        let dest = out_dir.join(&f.path);
        if dest.exists() {
            return Err(EmitError::Exists(dest.display().to_string()));
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".idxadvise-")
        .tempdir_in(out_dir)
        .map_err(|e| io(out_dir, e))?;
    for (i, f) in files.iter().enumerate() {
        let p = tmp.path().join(i.to_string());
        std::fs::write(&p, &f.contents).map_err(|e| io(&p, e))?;
    }
    let mut placed: Vec<PathBuf> = vec![];
    let mut result = Ok(());
    for (i, f) in files.iter().enumerate() {
        let src = tmp.path().join(i.to_string());
        let dest = out_dir.join(&f.path);
        if let Some(parent) = dest.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                result = Err(io(parent, e));
                break;
            }
        }
        // A hard link never replaces an existing file (unlike rename).
        match std::fs::hard_link(&src, &dest) {
            Ok(()) => placed.push(dest),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                result = Err(EmitError::Exists(dest.display().to_string()));
                break;
            }
            Err(e) => {
                result = Err(io(&dest, e));
                break;
            }
        }
    }
    if let Err(e) = result {
        for p in &placed {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::FileKind;

    fn file(path: &str, text: &str) -> EmittedFile {
        EmittedFile {
            path: path.into(),
            contents: text.into(),
            kind: FileKind::SqlScript,
        }
    }

    #[test]
    fn writes_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let placed = write_files(
            dir.path(),
            &[file("a/b/one.py", "1"), file("indexes.sql", "2")],
        )
        .unwrap();
        assert_eq!(placed.len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b/one.py")).unwrap(),
            "1"
        );
        let err = write_files(
            dir.path(),
            &[file("new.sql", "x"), file("indexes.sql", "3")],
        )
        .unwrap_err();
        assert!(matches!(err, EmitError::Exists(_)), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("indexes.sql")).unwrap(),
            "2"
        );
        assert!(!dir.path().join("new.sql").exists());
        // No temp folder left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".idxadvise-"))
            .collect();
        assert!(left.is_empty());
    }
}
