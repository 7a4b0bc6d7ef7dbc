//! Scanning what Git holds, read through [`crate::git`] and never from the working tree:
//! the staged blobs (`--staged`, what `git commit` would record) and every blob reachable from
//! HEAD or all refs (`--history`).
//!
//! Blobs are read on one thread (a `gix` repository is not `Send`) in batches of a bounded size
//! and scanned on rayon while the next batch is read.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc;

use rayon::prelude::*;

use super::sources::{Outcome, Scope, is_binary};
use super::{
    CreationRules, Engine, Error, Finding, ScanConfig, scan_text, scan_text_at, scan_text_where,
};
use crate::git::{self, HistoryOptions, Repo, StagedKind};

/// Bytes read before a batch is handed to the scanning threads.
const BATCH_BYTES: usize = 16 << 20;
/// Blobs per batch at most.
const BATCH_BLOBS: usize = 4096;
/// Renames with edits: pair an added file with a deleted one only while the product of their
/// counts stays below this (beyond, only exact renames are paired).
const RENAME_PAIRS: usize = 10_000;
/// Similar enough to be a rename: this share of lines in common.
const RENAME_SIMILARITY: f64 = 0.5;

enum One {
    Scanned(Vec<Finding>, u64),
    Binary,
    Failed(Error),
}

/// Read payloads on this thread and scan them on rayon, batch by batch, keeping their order.
fn pipeline<T: Send, P: Send>(
    items: Vec<T>,
    mut read: impl FnMut(T) -> (P, usize),
    scan: impl Fn(P) -> One + Sync,
) -> Vec<One> {
    let (tx, rx) = mpsc::sync_channel::<Vec<P>>(1);
    std::thread::scope(|s| {
        let scan = &scan;
        let worker = s.spawn(move || {
            let mut results = Vec::new();
            for batch in rx {
                let mut done: Vec<One> = batch.into_par_iter().map(scan).collect();
                results.append(&mut done);
            }
            results
        });
        let mut batch = Vec::new();
        let mut bytes = 0;
        for item in items {
            let (payload, size) = read(item);
            batch.push(payload);
            bytes += size;
            if bytes >= BATCH_BYTES || batch.len() >= BATCH_BLOBS {
                if tx.send(std::mem::take(&mut batch)).is_err() {
                    break;
                }
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        worker.join().expect("the scanning thread does not panic")
    })
}

fn collect(results: Vec<One>, outcome: &mut Outcome) {
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
}

/// The byte ranges of the lines of `text` (without their `\n`).
fn lines(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        out.push(start..nl);
        start = nl + 1;
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// The lines of `new` that `old` lacks, compared as multisets: a line moved or kept is not
/// added, a line whose copies grew in number is added once per extra copy (the later ones).
fn added_lines(old: &str, new: &str) -> Vec<Range<usize>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in lines(old) {
        *counts.entry(&old[l]).or_default() += 1;
    }
    lines(new)
        .into_iter()
        .filter(|l| match counts.get_mut(&new[l.clone()]) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// The share of lines two texts have in common (0 to 1).
fn similarity(old: &str, new: &str) -> f64 {
    let total = lines(old).len().max(lines(new).len());
    if total == 0 {
        return 1.0;
    }
    let added = added_lines(old, new).len();
    let common = lines(new).len() - added;
    common as f64 / total as f64
}

/// Whether `span` touches one of the sorted, disjoint `ranges`.
fn touches(ranges: &[Range<usize>], span: &Range<usize>) -> bool {
    let i = ranges.partition_point(|r| r.end < span.start);
    ranges.get(i).is_some_and(|r| r.start < span.end)
}

struct Staged {
    path: String,
    blob: git::BlobId,
    /// The version the staged one is compared with: HEAD's for a modified file, the deleted
    /// file's for a rename; `None` for a new file (every line is added).
    base: Option<git::BlobId>,
}

/// Scan what the index stages against HEAD (the empty tree before the first commit).
///
/// New files are scanned whole. A modified or renamed file is scanned whole too, so that a
/// multi-line secret is seen with its context, but only the secrets touching a line the staged
/// version adds are reported. A path that a `.sops.yaml` creation rule says must be encrypted
/// is reported (`unencrypted-file`) when its staged content is plaintext.
pub fn scan_staged(
    repo: &Repo,
    engine: &Engine,
    scan_config: &ScanConfig,
    sops_config: Option<&Path>,
) -> Result<Outcome, Error> {
    let changes = repo.staged_changes_fast()?;
    let head = repo.head_commit()?;
    let deleted: Vec<(String, git::BlobId)> = changes
        .iter()
        .filter(|c| c.kind == StagedKind::Deleted)
        .filter_map(|c| Some((c.path.clone(), c.head?)))
        .collect();
    let mut staged: Vec<Staged> = Vec::new();
    for c in &changes {
        let Some(blob) = c.staged else { continue };
        let base = match c.kind {
            StagedKind::Modified => c.head,
            _ => deleted.iter().find(|(_, d)| *d == blob).map(|(_, d)| *d),
        };
        staged.push(Staged {
            path: c.path.clone(),
            blob,
            base,
        });
    }
    // Renames with edits: an added file most like a deleted one is compared with it.
    let added_count = staged.iter().filter(|s| s.base.is_none()).count();
    if !deleted.is_empty() && added_count * deleted.len() <= RENAME_PAIRS {
        let mut old_texts: Vec<Option<String>> = Vec::with_capacity(deleted.len());
        for (_, id) in &deleted {
            let bytes = repo.read_blob(*id)?;
            old_texts
                .push((!is_binary(&bytes)).then(|| String::from_utf8_lossy(&bytes).into_owned()));
        }
        for s in staged.iter_mut().filter(|s| s.base.is_none()) {
            let bytes = repo.read_blob(s.blob)?;
            if is_binary(&bytes) {
                continue;
            }
            let new = String::from_utf8_lossy(&bytes);
            let best = old_texts
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((i, similarity(t.as_deref()?, &new))))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, sim)) = best
                && sim >= RENAME_SIMILARITY
            {
                s.base = Some(deleted[i].1);
            }
        }
    }
    let workdir = repo.workdir().to_path_buf();
    staged.retain(|s| !scan_config.allows_relative(&s.path));
    let rules = CreationRules::new(sops_config.map(Path::to_path_buf));
    let results = pipeline(
        staged,
        |s| {
            let read = repo.read_blob(s.blob).and_then(|new| {
                let old = match s.base {
                    Some(id) if id == s.blob => Some(new.clone()),
                    Some(id) => Some(repo.read_blob(id)?),
                    None => None,
                };
                Ok((new, old))
            });
            let size = read.as_ref().map_or(0, |(n, _)| n.len());
            ((s.path, read), size)
        },
        |(path, read)| {
            let (new, old) = match read {
                Ok(r) => r,
                Err(e) => return One::Failed(e.into()),
            };
            if is_binary(&new) {
                return One::Binary;
            }
            let mut findings = Vec::new();
            match rules.check(&workdir.join(&path), &new, &path) {
                Ok(Some(f)) => findings.push(f),
                Ok(None) => {}
                Err(e) => return One::Failed(e),
            }
            let text = String::from_utf8_lossy(&new);
            match old {
                None => findings.extend(scan_text(engine, &path, &text)),
                Some(old) => {
                    let old = String::from_utf8_lossy(&old);
                    let added = added_lines(&old, &text);
                    if !added.is_empty() {
                        findings.extend(scan_text_where(engine, &path, &text, |span| {
                            touches(&added, span)
                        }));
                    }
                }
            }
            One::Scanned(findings, new.len() as u64)
        },
    );
    let mut outcome = Outcome::default();
    collect(results, &mut outcome);
    let against = match head {
        Some(id) => format!("HEAD ({})", &id.to_string()[..7]),
        None => "the empty tree (no commit yet)".to_string(),
    };
    let staged_files = changes.iter().filter(|c| c.staged.is_some()).count();
    outcome.scope = Some(Scope {
        mode: "staged",
        summary: format!(
            "staged: {} change{} against {against}, {staged_files} staged blob{}",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            if staged_files == 1 { "" } else { "s" },
        ),
        refs: Vec::new(),
        commits: None,
        blobs: staged_files,
        empty: staged_files == 0,
    });
    Ok(outcome)
}

/// Scan every unique blob reachable from HEAD (or every ref with `all`), minus `since`'s
/// ancestors, once; each finding names the first commit and path that introduced its blob.
pub fn scan_history(
    repo: &Repo,
    engine: &Engine,
    scan_config: &ScanConfig,
    options: &HistoryOptions,
) -> Result<Outcome, Error> {
    let mut history = repo.history_blobs(options)?;
    let total_blobs = history.blobs.len();
    history
        .blobs
        .retain(|b| !scan_config.allows_relative(&b.path));
    let results = pipeline(
        history.blobs,
        |b| {
            let read = repo.read_blob(b.blob);
            let size = read.as_ref().map_or(0, Vec::len);
            ((b, read), size)
        },
        |(b, read)| {
            let bytes = match read {
                Ok(r) => r,
                Err(e) => return One::Failed(e.into()),
            };
            if is_binary(&bytes) {
                return One::Binary;
            }
            let text = String::from_utf8_lossy(&bytes);
            let commit = b.commit.to_string();
            let findings = scan_text_at(engine, &b.path, &text, Some(&commit), |_| true);
            One::Scanned(findings, bytes.len() as u64)
        },
    );
    let mut outcome = Outcome::default();
    collect(results, &mut outcome);
    let since = options
        .since
        .as_deref()
        .map(|r| format!(" since {r}"))
        .unwrap_or_default();
    outcome.scope = Some(Scope {
        mode: "history",
        summary: format!(
            "history of {}{since}: {} commit{} walked, {total_blobs} unique blob{}",
            if history.refs.is_empty() {
                "no ref".to_string()
            } else {
                history.refs.join(", ")
            },
            history.commits,
            if history.commits == 1 { "" } else { "s" },
            if total_blobs == 1 { "" } else { "s" },
        ),
        refs: history.refs,
        commits: Some(history.commits),
        blobs: total_blobs,
        empty: history.commits == 0,
    });
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_are_the_ones_head_lacks() {
        let old = "a\nb\nc\n";
        let new = "b\na\nx\nc\nc\n";
        let added: Vec<&str> = added_lines(old, new).into_iter().map(|r| &new[r]).collect();
        assert_eq!(added, ["x", "c"]);
        assert!(similarity("a\nb\nc\nd\n", "a\nb\nc\nz\n") >= 0.75);
    }

    #[test]
    fn spans_touch_added_lines() {
        let ranges = [2..5, 10..12];
        assert!(touches(&ranges, &(4..8)));
        assert!(touches(&ranges, &(0..3)));
        assert!(!touches(&ranges, &(6..9)));
        assert!(touches(&ranges, &(6..30)));
    }
}
