//! What the secret scanner reads from Git: every blob reachable from a set of refs, each mapped
//! to the first commit and path that introduced it, and where hooks are installed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::{Repo, Result, StagedChange, StagedKind, TreeChange, gix_err};

/// A blob's id, as the scanner names it.
pub type BlobId = ObjectId;

/// Which commits a history scan walks.
#[derive(Clone, Debug, Default)]
pub struct HistoryOptions {
    /// Every ref (branches, tags, remotes, stash) and HEAD, instead of HEAD alone.
    pub all: bool,
    /// Leave out this revision and its ancestors (`REV..HEAD`).
    pub since: Option<String>,
}

/// A blob met for the first time in a walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntroducedBlob {
    pub blob: ObjectId,
    /// The oldest walked commit whose tree adds the blob (against its first parent).
    pub commit: ObjectId,
    /// Where that commit put it.
    pub path: String,
}

/// What a history walk covered.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The refs walked, as Git spells them (`HEAD`, `refs/heads/main`...).
    pub refs: Vec<String>,
    /// The commits walked.
    pub commits: usize,
    /// Each unique blob once, parents' blobs before their children's.
    pub blobs: Vec<IntroducedBlob>,
}

impl Repo {
    /// The Git folder shared by every worktree of the repository (where `hooks/` lives).
    pub fn common_dir(&self) -> PathBuf {
        self.repo.common_dir().to_path_buf()
    }

    /// The folder Git runs hooks from: `core.hooksPath` (relative to the top of the working
    /// tree, as Git resolves it) or `hooks/` in the common Git folder.
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(gix_err)?;
        Ok(match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self.workdir.join(p),
            None => self.repo.common_dir().join("hooks"),
        })
    }

    /// Walk the commits reachable from HEAD (or every ref), minus `since`'s ancestors, and list
    /// each blob their trees introduce once, with the oldest commit and path that added it.
    pub fn history_blobs(&self, options: &HistoryOptions) -> Result<History> {
        let mut tips: Vec<ObjectId> = Vec::new();
        let mut refs = Vec::new();
        if let Some(head) = self.head_commit()? {
            tips.push(head);
            let head_ref = self.repo.head_name().map_err(gix_err)?;
            refs.push(match head_ref {
                Some(name) => format!("HEAD ({})", name.as_bstr().to_str_lossy()),
                None => "HEAD (detached)".to_string(),
            });
        }
        if options.all {
            let platform = self.repo.references().map_err(gix_err)?;
            for reference in platform.all().map_err(gix_err)? {
                let mut reference = reference.map_err(gix_err)?;
                let name = reference.name().as_bstr().to_str_lossy().into_owned();
                // Tags may point at blobs or trees; only commits start a walk.
                let Ok(commit) = reference.peel_to_commit() else {
                    continue;
                };
                tips.push(commit.id);
                refs.push(name);
            }
        }
        let hidden = match &options.since {
            Some(rev) => vec![self.resolve_commit(rev)?],
            None => Vec::new(),
        };
        if tips.is_empty() {
            return Ok(History {
                refs,
                ..History::default()
            });
        }
        let walk = self
            .repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden)
            .all()
            .map_err(gix_err)?;
        let mut parents: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
        for info in walk {
            let info = info.map_err(gix_err)?;
            parents.insert(info.id, info.parent_ids.iter().copied().collect());
        }
        let order = parents_first(&tips, &parents);
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut blobs = Vec::new();
        for &commit in &order {
            let first_parent = parents[&commit]
                .first()
                .copied()
                .filter(|p| self.repo.has_object(p));
            for change in self.tree_changes(first_parent, commit)? {
                let (path, blob) = match change {
                    TreeChange::Added { path, blob } => (path, blob),
                    TreeChange::Modified { path, new, .. } => (path, new),
                    TreeChange::Deleted { .. } => continue,
                };
                if seen.insert(blob) {
                    blobs.push(IntroducedBlob { blob, commit, path });
                }
            }
        }
        Ok(History {
            refs,
            commits: order.len(),
            blobs,
        })
    }

    /// What the index stages against HEAD, as [`Repo::staged_changes`], without reading the
    /// whole of HEAD's tree: a folder whose entry in the index's cache-tree extension (which
    /// Git keeps up to date on `git add`) is valid and names the same tree as HEAD is skipped,
    /// with its index entries. On a one-file change in a 50,000-file repository this reads a
    /// handful of tree objects instead of thousands.
    ///
    /// The index's trailing checksum is not verified (Git does not verify it on reads either,
    /// only `git fsck` does): hashing a 4 MB index would take a third of the time.
    pub fn staged_changes_fast(&self) -> Result<Vec<StagedChange>> {
        let path = self.repo.index_path();
        let index = gix::index::File::at_or_default(
            path,
            self.repo.object_hash(),
            true,
            gix::index::decode::Options::default(),
        )
        .map_err(gix_err)?;
        let mut head: Vec<(Vec<u8>, ObjectId)> = Vec::new();
        let mut skipped: Vec<Vec<u8>> = Vec::new();
        if let Some(commit) = self.head_commit()? {
            let root = self
                .repo
                .find_commit(commit)
                .map_err(gix_err)?
                .tree_id()
                .map_err(gix_err)?
                .detach();
            let mut prefix = Vec::new();
            self.head_entries(root, index.tree(), &mut prefix, &mut head, &mut skipped)?;
        }
        head.sort();
        skipped.sort();
        let mut staged: Vec<(&[u8], ObjectId)> = Vec::new();
        let mut si = 0;
        for e in index.entries() {
            if e.stage_raw() != 0
                || e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD)
                || !matches!(
                    e.mode,
                    gix::index::entry::Mode::FILE
                        | gix::index::entry::Mode::FILE_EXECUTABLE
                        | gix::index::entry::Mode::SYMLINK
                )
            {
                continue;
            }
            let path: &[u8] = e.path(&index).as_ref();
            while si < skipped.len()
                && skipped[si].as_slice() < path
                && !path.starts_with(&skipped[si])
            {
                si += 1;
            }
            if si < skipped.len() && path.starts_with(&skipped[si]) {
                continue;
            }
            staged.push((path, e.id));
        }
        staged.sort();
        let mut changes = Vec::new();
        let (mut i, mut j) = (0, 0);
        let text = |p: &[u8]| p.to_str_lossy().into_owned();
        while i < staged.len() || j < head.len() {
            let order = match (staged.get(i), head.get(j)) {
                (Some(s), Some(h)) => s.0.cmp(h.0.as_slice()),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    changes.push(StagedChange {
                        path: text(staged[i].0),
                        kind: StagedKind::Added,
                        head: None,
                        staged: Some(staged[i].1),
                    });
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    changes.push(StagedChange {
                        path: text(&head[j].0),
                        kind: StagedKind::Deleted,
                        head: Some(head[j].1),
                        staged: None,
                    });
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    if staged[i].1 != head[j].1 {
                        changes.push(StagedChange {
                            path: text(staged[i].0),
                            kind: StagedKind::Modified,
                            head: Some(head[j].1),
                            staged: Some(staged[i].1),
                        });
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(changes)
    }

    /// The file entries of HEAD's tree `id` under `prefix`, except the folders the cache-tree
    /// node `cache` shows unchanged (their `prefix/` goes to `skipped`).
    fn head_entries(
        &self,
        id: ObjectId,
        cache: Option<&gix::index::extension::Tree>,
        prefix: &mut Vec<u8>,
        out: &mut Vec<(Vec<u8>, ObjectId)>,
        skipped: &mut Vec<Vec<u8>>,
    ) -> Result<()> {
        if let Some(c) = cache
            && c.num_entries.is_some()
            && c.id == id
        {
            skipped.push(prefix.clone());
            return Ok(());
        }
        let tree = self.repo.find_tree(id).map_err(gix_err)?;
        let data = tree.data.clone();
        for entry in gix::objs::TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
            let entry = entry.map_err(gix_err)?;
            let len = prefix.len();
            prefix.extend_from_slice(entry.filename);
            if entry.mode.is_tree() {
                prefix.push(b'/');
                let child = cache.and_then(|c| {
                    c.children
                        .iter()
                        .find(|t| t.name.as_slice() == entry.filename.as_bytes())
                });
                self.head_entries(entry.oid.to_owned(), child, prefix, out, skipped)?;
            } else if entry.mode.is_blob_or_symlink() {
                out.push((prefix.clone(), entry.oid.to_owned()));
            }
            prefix.truncate(len);
        }
        Ok(())
    }

    /// A blob's size without reading its content, for batching reads.
    pub fn blob_size(&self, id: ObjectId) -> Result<u64> {
        let header = self.repo.find_header(id).map_err(gix_err)?;
        Ok(header.size())
    }
}

/// The walked commits, every parent before its children (iterative depth-first post-order, so
/// a long history cannot overflow the stack).
fn parents_first(tips: &[ObjectId], parents: &HashMap<ObjectId, Vec<ObjectId>>) -> Vec<ObjectId> {
    let mut order = Vec::with_capacity(parents.len());
    let mut done: HashSet<ObjectId> = HashSet::with_capacity(parents.len());
    for &tip in tips {
        if !parents.contains_key(&tip) || done.contains(&tip) {
            continue;
        }
        // (commit, index of the next parent to visit)
        let mut stack = vec![(tip, 0usize)];
        done.insert(tip);
        while let Some((commit, next)) = stack.last_mut() {
            let ps = &parents[commit];
            if let Some(&p) = ps.get(*next) {
                *next += 1;
                if parents.contains_key(&p) && done.insert(p) {
                    stack.push((p, 0));
                }
            } else {
                order.push(*commit);
                stack.pop();
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// The cache-tree shortcut gives exactly what the full comparison gives.
    #[test]
    fn fast_staged_changes_match_the_full_comparison() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let repo_changes = |dir: &Path| {
            let repo = Repo::discover(dir).unwrap();
            let fast = repo.staged_changes_fast().unwrap();
            assert_eq!(fast, repo.staged_changes().unwrap());
            fast.into_iter()
                .map(|c| (c.path, c.kind))
                .collect::<Vec<_>>()
        };
        write(dir, "a/b/c.txt", "1");
        write(dir, "a.txt", "1");
        assert_eq!(repo_changes(dir), []);
        git(dir, &["add", "-A"]);
        assert_eq!(repo_changes(dir).len(), 2);
        for d in ["x", "y/z", "a-b", "a0"] {
            write(dir, &format!("{d}/f.txt"), d);
        }
        write(dir, "gone/g.txt", "g");
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "one"]);
        assert_eq!(repo_changes(dir), []);
        write(dir, "y/z/f.txt", "changed");
        write(dir, "y/new.txt", "new");
        std::fs::remove_dir_all(dir.join("gone")).unwrap();
        std::fs::remove_dir_all(dir.join("a/b")).unwrap();
        write(dir, "a/b", "now a file");
        git(dir, &["add", "-A"]);
        assert_eq!(
            repo_changes(dir),
            [
                ("a/b".to_string(), StagedKind::Added),
                ("a/b/c.txt".to_string(), StagedKind::Deleted),
                ("gone/g.txt".to_string(), StagedKind::Deleted),
                ("y/new.txt".to_string(), StagedKind::Added),
                ("y/z/f.txt".to_string(), StagedKind::Modified),
            ]
        );
        // A removal with plumbing invalidates one more folder of the cache-tree: same answer.
        git(dir, &["update-index", "--force-remove", "a0/f.txt"]);
        assert_eq!(repo_changes(dir).len(), 6);
    }
}
