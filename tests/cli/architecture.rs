//! The import rules of the code base, checked on its sources: imports run one way. `document`
//! (formats, the `ENC[...]` envelope, Go number spelling), `git` and `history` never import from
//! `crypto`; `time` (the calendar) imports nothing from the crate; `document` imports nothing
//! from the layers above it. Test modules are exempt (round-trip tests encrypt).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself when it is a file), test-only files left out.
fn sources(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
            out.push(path);
        }
    }
    out
}

/// The non-test code of a file: everything before its `#[cfg(test)] mod tests` block, without
/// comment lines.
fn code(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// Where the files under `dir` name one of the `forbidden` crate modules.
fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for path in sources(&root.join(dir)) {
        for (n, line) in code(&path) {
            for module in forbidden {
                let direct = format!("crate::{module}");
                let grouped = line.contains("crate::{") && line.contains(module);
                if line.contains(&direct) || grouped {
                    let rel = path.strip_prefix(root).unwrap().display();
                    found.push(format!("{rel}:{n}: {}", line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn imports_run_one_way() {
    let rules: &[(&str, &[&str])] = &[
        (
            "src/document",
            &["crypto", "cli", "git", "history", "scan", "store", "ops"],
        ),
        (
            "src/git",
            &["crypto", "cli", "history", "scan", "store", "ops"],
        ),
        ("src/history", &["crypto", "cli", "scan", "store", "ops"]),
        (
            "src/time.rs",
            &[
                "crypto", "document", "cli", "git", "history", "config", "error",
            ],
        ),
    ];
    let found: Vec<String> = rules
        .iter()
        .flat_map(|(dir, forbidden)| violations(dir, forbidden))
        .collect();
    assert!(
        found.is_empty(),
        "imports against the grain:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_check_sees_a_violation() {
    // The check itself finds imports: crypto does import document.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(!sources(&root.join("src/document")).is_empty());
    assert!(
        !violations("src/crypto", &["document"]).is_empty(),
        "crypto does import document, so the scan must report it"
    );
}
