//! What the secret scanner reads from Git: every blob reachable from a set of refs, each mapped
//! to the first commit and path that introduced it, and where hooks are installed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::{Repo, Result, TreeChange, gix_err};

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
