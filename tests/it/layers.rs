//! The import graph between the crate's top-level modules (`src/<m>.rs`, `src/<m>/`) has no
//! cycle: every stage depends only on the stages before it and on the shared vocabulary.
//!
//! How: an edge `a → b` is any `crate::b` written in a file of `a` outside comments and outside
//! test-only code (a file included with `#[cfg(test)] mod x;`, or an inline
//! `#[cfg(test)] mod x { … }`, which by our convention closes the file). The crate writes no
//! grouped `use crate::{…}` imports; the test fails if one appears, so the graph stays complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo_root;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The folder a file's `mod x;` declarations resolve in.
fn child_dir(file: &Path) -> PathBuf {
    let parent = file.parent().expect("parent");
    let stem = file.file_stem().expect("stem").to_string_lossy();
    if stem == "mod" || stem == "lib" || stem == "main" {
        parent.to_path_buf()
    } else {
        parent.join(&*stem)
    }
}

/// The non-test lines of a file, and the files it includes only under `#[cfg(test)]`.
fn library_lines(file: &Path, text: &str) -> (Vec<(usize, String)>, Vec<PathBuf>) {
    let mut lines = vec![];
    let mut test_only = vec![];
    let mut cfg_test = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t == "#[cfg(test)]" {
            cfg_test = true;
            continue;
        }
        if cfg_test && !t.starts_with("#[") {
            cfg_test = false;
            let decl = t.strip_prefix("pub ").unwrap_or(t);
            if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                let dir = child_dir(file);
                test_only.push(dir.join(format!("{name}.rs")));
                test_only.push(dir.join(name));
                continue;
            }
            if decl.starts_with("mod ") && decl.ends_with('{') {
                break;
            }
        }
        if t.starts_with("//") {
            continue;
        }
        lines.push((i + 1, line.to_string()));
    }
    (lines, test_only)
}

/// `crate::<name>` references in a line (not `$crate::`, not part of a longer identifier).
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = vec![];
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find("crate::") {
        let at = from + pos;
        from = at + "crate::".len();
        let before = at.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$') {
            continue;
        }
        let name: String = line[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push(if name.is_empty() {
            line[from..].chars().take(1).collect()
        } else {
            name
        });
    }
    out
}

/// Top-level module → (module it names → first place it does).
fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = repo_root().join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(&src).expect("src") {
        let p = e.expect("entry").path();
        let stem = p.file_stem().expect("stem").to_string_lossy().to_string();
        if p.is_dir() {
            let mut files = vec![];
            rust_files(&p, &mut files);
            modules.entry(stem).or_default().extend(files);
        } else if p.extension().is_some_and(|x| x == "rs") && stem != "lib" && stem != "main" {
            modules.entry(stem).or_default().push(p);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (module, files) in &modules {
        let mut test_only: Vec<PathBuf> = vec![];
        let mut parsed = vec![];
        for f in files {
            let text = std::fs::read_to_string(f).expect("read");
            let (lines, tests) = library_lines(f, &text);
            test_only.extend(tests);
            parsed.push((f, lines));
        }
        let edges = graph.entry(module.clone()).or_default();
        for (f, lines) in parsed {
            if test_only.iter().any(|t| f.starts_with(t)) {
                continue;
            }
            for (n, line) in lines {
                for r in crate_refs(&line) {
                    assert!(
                        r != "{",
                        "{}:{n}: grouped `crate::{{…}}` import; write one path per module so the layering test sees it",
                        f.display()
                    );
                    if r != *module && names.contains(&r) {
                        edges.entry(r).or_insert_with(|| {
                            format!("{}:{n}", f.strip_prefix(repo_root()).unwrap_or(f).display())
                        });
                    }
                }
            }
        }
    }
    graph
}

/// A cycle through `start`, as the list of modules, if there is one.
fn cycle_through(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                let mut p = path.clone();
                p.push(start.to_string());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn top_level_modules_import_without_cycles() {
    let graph = import_graph();
    assert!(graph.len() >= 15, "{:?}", graph.keys());
    // The test sees real edges: the sequencer uses the stages.
    assert!(graph["analyze"].contains_key("select"), "{graph:?}");
    let mut cycles = vec![];
    for module in graph.keys() {
        if let Some(c) = cycle_through(&graph, module) {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            cycles.push(steps.join(", "));
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_layering_check_finds_references() {
    assert_eq!(
        crate_refs("use crate::model::Snapshot; let x = crate::select::select(y);"),
        vec!["model".to_string(), "select".to_string()]
    );
    assert!(crate_refs("macro_rules! m { () => { $crate::x } }").is_empty());
    assert_eq!(crate_refs("use crate::{a, b};"), vec!["{".to_string()]);
    let (lines, tests) = library_lines(
        Path::new("src/x/mod.rs"),
        "use crate::a::B;\n// crate::c\n#[cfg(test)]\nmod y_tests;\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::d;\n}\n",
    );
    let kept: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(kept, vec!["use crate::a::B;", "fn f() {}"]);
    assert_eq!(
        tests,
        vec![
            PathBuf::from("src/x/y_tests.rs"),
            PathBuf::from("src/x/y_tests")
        ]
    );
}
