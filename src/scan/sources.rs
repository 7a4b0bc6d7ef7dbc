//! What to scan: files and folders (hidden files included, `.gitignore` honoured unless told
//! otherwise) and standard input, read and scanned in parallel.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{CreationRules, Engine, Error, Finding, scan_text};

/// How to walk folders.
#[derive(Clone, Debug, Default)]
pub struct WalkSettings {
    /// Scan files that `.gitignore`, `.ignore` and `.git/info/exclude` leave out.
    pub no_ignore: bool,
    /// The `.sops.yaml` to use instead of the nearest one (`--config`).
    pub config: Option<PathBuf>,
}

/// The outcome of a scan.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    pub bytes_scanned: u64,
    pub binary_skipped: usize,
    pub errors: Vec<Error>,
    /// For `--staged` and `--history`: what was looked at.
    pub scope: Option<Scope>,
}

/// What a Git scan covered, stated in every report (an empty set is never passed silently).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `staged` or `history`.
    pub mode: &'static str,
    /// One line for people.
    pub summary: String,
    /// History: the refs walked.
    pub refs: Vec<String>,
    /// History: the commits walked.
    pub commits: Option<usize>,
    /// The blobs to scan (before the path allowlist).
    pub blobs: usize,
    /// Nothing was there to scan.
    pub empty: bool,
}

/// Files under `paths` (a path of `-` is standard input, listed as `None`).
pub fn collect(paths: &[PathBuf], settings: &WalkSettings) -> (Vec<Option<PathBuf>>, Vec<Error>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(None);
            continue;
        }
        if path.is_file() {
            files.push(Some(path.clone()));
            continue;
        }
        if !path.exists() {
            errors.push(Error::Read {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
            continue;
        }
        // Walked on every core: on a large tree the walk (directory reads, `.gitignore` files)
        // is a good share of the work, and done alone it left a core idle before the scan.
        let walker = ignore::WalkBuilder::new(path)
            .hidden(false)
            .parents(!settings.no_ignore)
            .ignore(!settings.no_ignore)
            .git_ignore(!settings.no_ignore)
            .git_exclude(!settings.no_ignore)
            .git_global(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .threads(rayon::current_num_threads())
            .build_parallel();
        let found = std::sync::Mutex::new((Vec::new(), Vec::new()));
        walker.run(|| {
            let found = &found;
            Box::new(move |entry| {
                let mut found = found
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                match entry {
                    Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                        found.0.push(Some(e.into_path()));
                    }
                    Ok(_) => {}
                    Err(err) => found.1.push(Error::Walk {
                        path: path.clone(),
                        message: err.to_string(),
                    }),
                }
                ignore::WalkState::Continue
            })
        });
        let (walked, walk_errors) = found
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        files.extend(walked);
        errors.extend(walk_errors);
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// A file is binary when its first 8 KiB hold a NUL byte or it is not UTF-8.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

enum One {
    Scanned(Vec<Finding>, u64),
    Binary,
    Failed(Error),
}

fn scan_one(engine: &Engine, rules: &CreationRules, path: Option<&Path>) -> One {
    let (bytes, name) = match path {
        None => {
            let mut buf = Vec::new();
            if let Err(source) = std::io::stdin().lock().read_to_end(&mut buf) {
                return One::Failed(Error::Read {
                    path: PathBuf::from("<stdin>"),
                    source,
                });
            }
            (buf, "<stdin>".to_string())
        }
        Some(p) => match fs_err::read(p) {
            Ok(b) => (b, p.display().to_string()),
            Err(source) => {
                return One::Failed(Error::Read {
                    path: p.to_path_buf(),
                    source,
                });
            }
        },
    };
    if is_binary(&bytes) {
        return One::Binary;
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut findings = Vec::new();
    if let Some(p) = path {
        match rules.check(p, &bytes, &name) {
            Ok(Some(f)) => findings.push(f),
            Ok(None) => {}
            Err(e) => return One::Failed(e),
        }
    }
    findings.extend(scan_text(engine, &name, &text));
    One::Scanned(findings, bytes.len() as u64)
}

/// Scan the files in parallel; findings come back in file order.
pub fn scan(files: &[Option<PathBuf>], settings: &WalkSettings, engine: &Engine) -> Outcome {
    let rules = CreationRules::new(settings.config.clone());
    let results: Vec<One> = files
        .par_iter()
        .map(|p| scan_one(engine, &rules, p.as_deref()))
        .collect();
    let mut outcome = Outcome::default();
    for r in results {
        match r {
            One::Scanned(f, n) => {
                outcome.files_scanned += 1;
                outcome.bytes_scanned += n;
                outcome.findings.extend(f);
            }
            One::Binary => outcome.binary_skipped += 1,
            One::Failed(e) => outcome.errors.push(e),
        }
    }
    outcome
}
