//! The example shop (`examples/shop`: Django project, schema, data generator, API workload),
//! embedded in the binary so `idxadvise demo` works from any folder, also after `pip install`.
//!
//! I/O only in [`extract`]: it writes the files into a fresh folder. Invariant: [`FILES`] is
//! every file of `examples/shop` (a test compares it with the folder), so the demo a user runs
//! is the one in the repository.

use std::path::Path;

/// `include_str!` of each listed file under `examples/shop`, with its relative path.
macro_rules! shop_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shop/", $path)))),*]
    };
}

/// Every file of the example shop: (path relative to `examples/shop`, contents).
pub const FILES: &[(&str, &str)] = shop_files![
    "manage.py",
    "schema.sql",
    "data.sql",
    "workload.sql",
    "patterns.sql",
    "shop/__init__.py",
    "shop/apps.py",
    "shop/models.py",
    "shop/migrations/__init__.py",
    "shop/migrations/0001_initial.py",
    "shop/management/__init__.py",
    "shop/management/commands/__init__.py",
    "shop/management/commands/run_workload.py",
    "shop/management/commands/run_patterns.py",
    "shop/management/commands/measure_overhead.py",
    "shopsite/__init__.py",
    "shopsite/settings.py",
];

/// Write the example shop into `dir` (created if missing).
pub fn extract(dir: &Path) -> std::io::Result<()> {
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn on_disk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name == "__pycache__" || name.ends_with(".pyc") {
                continue;
            }
            if p.is_dir() {
                on_disk(root, &p, out);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }

    #[test]
    fn every_file_of_the_example_is_embedded() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        let mut disk = vec![];
        on_disk(&root, &root, &mut disk);
        disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(
            embedded, disk,
            "examples/shop and example::FILES differ: list every file of examples/shop in FILES"
        );
    }

    #[test]
    fn extract_writes_a_runnable_project_layout() {
        let dir = tempfile::tempdir().unwrap();
        extract(dir.path()).unwrap();
        for (rel, text) in FILES {
            assert_eq!(
                &std::fs::read_to_string(dir.path().join(rel)).unwrap(),
                text,
                "{rel}"
            );
        }
        assert!(dir.path().join("manage.py").is_file());
        assert!(dir.path().join("shop/migrations/0001_initial.py").is_file());
    }
}
