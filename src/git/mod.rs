//! Reading Git, never writing it: the repository around a file, the versions of a file through
//! history, a file's content at a revision or in the index, and what the index stages against
//! HEAD. Every `gix` call of the crate lives in this module, so a gix upgrade touches one place;
//! gix errors become [`Error`] here.
//!
//! Paths inside the repository are `/`-separated strings relative to its top level, as Git
//! spells them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use gix::ObjectId;
use gix::bstr::ByteSlice;

mod date;
mod scan;
pub use scan::{BlobId, History, HistoryOptions, IntroducedBlob};

pub use date::format_date;

/// What reading Git can fail with. Messages name the path or revision, never file content.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: not inside a Git repository")]
    NotARepository { path: String },
    #[error("{path}: the repository has no working tree (bare repository)")]
    Bare { path: String },
    #[error("{path}: outside the repository at {workdir}")]
    OutsideRepository { path: String, workdir: String },
    #[error("{rev}: no such revision")]
    RevNotFound { rev: String },
    #[error("{path}: not in Git's history (never committed)")]
    NeverTracked { path: String },
    #[error("{path}: does not exist at {rev}")]
    NotAtRevision { path: String, rev: String },
    #[error("Git: {0}")]
    Gix(String),
}

pub type Result<T> = std::result::Result<T, Error>;

fn gix_err(e: impl std::fmt::Display) -> Error {
    Error::Gix(e.to_string())
}

/// The pseudo-revision naming what is staged in the index.
pub const STAGED: &str = ":staged";

/// An open repository with a working tree.
pub struct Repo {
    repo: gix::Repository,
    workdir: PathBuf,
}

/// Who made a commit, when and how it is described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full hexadecimal object id.
    pub id: String,
    pub author_name: String,
    pub author_email: String,
    /// Author time: seconds since the Unix epoch, and the author's UTC offset in seconds.
    pub author_time: i64,
    pub author_offset: i32,
    pub committer_name: String,
    pub committer_time: i64,
    pub committer_offset: i32,
    /// The first line of the message.
    pub summary: String,
    /// The whole message (for trailers such as `Secrets-Rollback:`).
    pub message: String,
    /// `Some("gpg" | "x509" | "ssh")` when the commit carries a signature (not verified).
    pub signature: Option<&'static str>,
    pub parents: Vec<String>,
}

impl CommitInfo {
    /// The abbreviated id Git shows by default.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(7)]
    }
}

/// One version of a file: a commit that changed it (Git's TREESAME rule), with the path it had
/// there and its blob.
#[derive(Clone, Debug)]
pub struct Version {
    pub commit: CommitInfo,
    pub path: String,
    pub blob: ObjectId,
    /// The file's blob in each parent, in parent order (`None`: absent there). A rename is
    /// followed, so a renamed file's parent blob is the one under its old name.
    pub parent_blobs: Vec<Option<ObjectId>>,
    /// Set on the commit where the file got its current name.
    pub renamed_from: Option<String>,
}

/// Limits of a history walk.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Stop after this many versions.
    pub max_versions: Option<usize>,
    /// Ignore commits older than this (committer time, Unix seconds).
    pub since: Option<i64>,
    /// Follow only first parents (the mainline of merges).
    pub first_parent: bool,
    /// Start from this revision instead of HEAD.
    pub start: Option<String>,
}

/// How a staged path differs from HEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StagedKind {
    Added,
    Modified,
    Deleted,
}

/// One path the index stages differently from HEAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedChange {
    pub path: String,
    pub kind: StagedKind,
    /// The blob in HEAD (`None` when added).
    pub head: Option<ObjectId>,
    /// The staged blob (`None` when deleted).
    pub staged: Option<ObjectId>,
}

impl Repo {
    /// The repository containing `path` (a file or folder), honouring `GIT_DIR`,
    /// `GIT_WORK_TREE`, `GIT_INDEX_FILE` and `GIT_CEILING_DIRECTORIES` as Git does in hooks.
    pub fn discover(path: &Path) -> Result<Repo> {
        let start = if path.is_dir() {
            path.to_path_buf()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let mut repo = gix::discover_with_environment_overrides(&start).map_err(|_| {
            Error::NotARepository {
                path: path.display().to_string(),
            }
        })?;
        repo.object_cache_size_if_unset(8 << 20);
        let workdir = repo.workdir().ok_or_else(|| Error::Bare {
            path: path.display().to_string(),
        })?;
        let workdir = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        Ok(Repo { repo, workdir })
    }

    /// The repository's top-level folder.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The `.git` folder (or the worktree's private Git folder).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The repository-relative, `/`-separated spelling of a user's path (which need not exist
    /// any more in the working tree).
    pub fn relative_path(&self, user_path: &Path) -> Result<String> {
        let absolute = if user_path.is_absolute() {
            user_path.to_path_buf()
        } else {
            std::env::current_dir().map_err(gix_err)?.join(user_path)
        };
        // Canonicalize the deepest existing ancestor, then re-append the rest.
        let mut existing = absolute.as_path();
        let mut rest = Vec::new();
        let canonical = loop {
            match existing.canonicalize() {
                Ok(c) => break c,
                Err(_) => match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name.to_owned());
                        existing = parent;
                    }
                    _ => break absolute.clone(),
                },
            }
        };
        let mut full = canonical;
        for name in rest.iter().rev() {
            full.push(name);
        }
        let relative = full
            .strip_prefix(&self.workdir)
            .map_err(|_| Error::OutsideRepository {
                path: user_path.display().to_string(),
                workdir: self.workdir.display().to_string(),
            })?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Ok(parts.join("/"))
    }

    /// The commit a revision names (any `git rev-parse` spelling that leads to a commit).
    pub fn resolve_commit(&self, rev: &str) -> Result<ObjectId> {
        let not_found = || Error::RevNotFound {
            rev: rev.to_string(),
        };
        let id = self.repo.rev_parse_single(rev).map_err(|_| not_found())?;
        let object = id.object().map_err(|_| not_found())?;
        let commit = object.peel_to_commit().map_err(|_| not_found())?;
        Ok(commit.id)
    }

    /// HEAD's commit, or `None` before the first commit.
    pub fn head_commit(&self) -> Result<Option<ObjectId>> {
        let head = self.repo.head().map_err(gix_err)?;
        Ok(head.id().map(|id| id.detach()))
    }

    /// The blob of `path` in `commit`'s tree, if the path is a file there.
    pub fn blob_id_in_commit(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let commit = self.repo.find_commit(commit).map_err(gix_err)?;
        let tree = commit.tree().map_err(gix_err)?;
        let entry = tree.lookup_entry_by_path(path).map_err(gix_err)?;
        Ok(entry.filter(|e| e.mode().is_blob()).map(|e| e.object_id()))
    }

    /// The staged blob of `path` (stage 0), if any.
    pub fn staged_blob_id(&self, path: &str) -> Result<Option<ObjectId>> {
        let index = self.repo.index_or_empty().map_err(gix_err)?;
        Ok(index.entry_by_path(path.as_bytes().as_bstr()).map(|e| e.id))
    }

    /// The content of `path` at `rev` (`:staged` for the index), or `None` when the path does
    /// not exist there. A revision that does not resolve is an error.
    pub fn file_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let blob = if rev == STAGED {
            self.staged_blob_id(path)?
        } else {
            let commit = self.resolve_commit(rev)?;
            self.blob_id_in_commit(commit, path)?
        };
        blob.map(|id| self.read_blob(id)).transpose()
    }

    /// A blob's bytes.
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let mut blob = self.repo.find_blob(id).map_err(gix_err)?;
        Ok(blob.take_data())
    }

    /// Author, committer, message and signature kind of a commit.
    pub fn commit_info(&self, id: ObjectId) -> Result<CommitInfo> {
        let commit = self.repo.find_commit(id).map_err(gix_err)?;
        let author = commit.author().map_err(gix_err)?;
        let committer = commit.committer().map_err(gix_err)?;
        let author_time = author.time().map_err(gix_err)?;
        let committer_time = committer.time().map_err(gix_err)?;
        let message = commit
            .message_raw()
            .map_err(gix_err)?
            .to_str_lossy()
            .into_owned();
        let summary = commit
            .message()
            .map_err(gix_err)?
            .summary()
            .to_str_lossy()
            .into_owned();
        let signature = commit
            .signature()
            .map_err(gix_err)?
            .map(|(sig, _)| signature_kind(sig.as_ref()));
        Ok(CommitInfo {
            id: id.to_string(),
            author_name: author.name.to_str_lossy().into_owned(),
            author_email: author.email.to_str_lossy().into_owned(),
            author_time: author_time.seconds,
            author_offset: author_time.offset,
            committer_name: committer.name.to_str_lossy().into_owned(),
            committer_time: committer_time.seconds,
            committer_offset: committer_time.offset,
            summary,
            message,
            signature,
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
        })
    }

    /// The versions of `path`, newest first: every commit whose blob for the file differs from
    /// the blob in each of its parents (Git's TREESAME rule, as `git log -- PATH`), following
    /// exact renames (`git mv`) back to the file's first name.
    pub fn file_versions(&self, path: &str, options: &WalkOptions) -> Result<Vec<Version>> {
        let tip = match &options.start {
            Some(rev) => self.resolve_commit(rev)?,
            None => match self.head_commit()? {
                Some(id) => id,
                None => return Ok(Vec::new()),
            },
        };
        let sorting = match options.since {
            Some(seconds) => gix::revision::walk::Sorting::ByCommitTimeCutoff {
                order: Default::default(),
                seconds,
            },
            None => gix::revision::walk::Sorting::ByCommitTime(Default::default()),
        };
        let mut walk = self.repo.rev_walk([tip]).sorting(sorting);
        if options.first_parent {
            walk = walk.first_parent_only();
        }
        let walk = walk.all().map_err(gix_err)?;

        let mut path_of: HashMap<ObjectId, String> = HashMap::from([(tip, path.to_string())]);
        let mut blob_cache: HashMap<(ObjectId, String), Option<ObjectId>> = HashMap::new();
        let mut versions = Vec::new();
        for info in walk {
            let info = info.map_err(gix_err)?;
            let id = info.id;
            let here = path_of
                .get(&id)
                .cloned()
                .unwrap_or_else(|| path.to_string());
            let blob = self.cached_blob(&mut blob_cache, id, &here)?;
            let parents: Vec<ObjectId> = info.parent_ids.iter().copied().collect();
            let mut parent_blobs = Vec::with_capacity(parents.len());
            let mut renamed_from = None;
            for &parent in &parents {
                let mut parent_path = here.clone();
                let mut parent_blob = self.cached_blob(&mut blob_cache, parent, &here)?;
                if parent_blob.is_none()
                    && let Some(blob) = blob
                    && let Some(old) = self.renamed_from(parent, id, blob)?
                {
                    parent_blob = Some(blob);
                    renamed_from = Some(old.clone());
                    parent_path = old;
                }
                path_of.entry(parent).or_insert(parent_path);
                parent_blobs.push(parent_blob);
            }
            let Some(blob) = blob else { continue };
            let treesame = parent_blobs.contains(&Some(blob));
            if treesame && renamed_from.is_none() {
                continue;
            }
            versions.push(Version {
                commit: self.commit_info(id)?,
                path: here,
                blob,
                parent_blobs,
                renamed_from,
            });
            if options.max_versions.is_some_and(|n| versions.len() >= n) {
                break;
            }
        }
        Ok(versions)
    }

    fn cached_blob(
        &self,
        cache: &mut HashMap<(ObjectId, String), Option<ObjectId>>,
        commit: ObjectId,
        path: &str,
    ) -> Result<Option<ObjectId>> {
        let key = (commit, path.to_string());
        if let Some(found) = cache.get(&key) {
            return Ok(*found);
        }
        let found = self.blob_id_in_commit(commit, path)?;
        cache.insert(key, found);
        Ok(found)
    }

    /// When `child` has `blob` at a path its `parent` lacks: the parent's path of the same blob
    /// if the child deleted it there (an exact rename).
    fn renamed_from(
        &self,
        parent: ObjectId,
        child: ObjectId,
        blob: ObjectId,
    ) -> Result<Option<String>> {
        let changes = self.tree_changes(Some(parent), child)?;
        Ok(changes.into_iter().find_map(|c| match c {
            TreeChange::Deleted { path, blob: b } if b == blob => Some(path),
            _ => None,
        }))
    }

    /// The file-level changes from `from`'s tree (the empty tree when `None`) to `to`'s.
    pub fn tree_changes(&self, from: Option<ObjectId>, to: ObjectId) -> Result<Vec<TreeChange>> {
        let to_tree = self
            .repo
            .find_commit(to)
            .map_err(gix_err)?
            .tree()
            .map_err(gix_err)?;
        let from_data = match from {
            Some(id) => self
                .repo
                .find_commit(id)
                .map_err(gix_err)?
                .tree()
                .map_err(gix_err)?
                .data
                .clone(),
            None => Vec::new(),
        };
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&from_data, self.repo.object_hash()),
            gix::objs::TreeRefIter::from_bytes(&to_tree.data, self.repo.object_hash()),
            &mut gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut recorder,
        )
        .map_err(gix_err)?;
        use gix::diff::tree::recorder::Change;
        Ok(recorder
            .records
            .into_iter()
            .filter_map(|change| match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => Some(TreeChange::Added {
                    path: path.to_str_lossy().into_owned(),
                    blob: oid,
                }),
                Change::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => Some(TreeChange::Deleted {
                    path: path.to_str_lossy().into_owned(),
                    blob: oid,
                }),
                Change::Modification {
                    entry_mode,
                    previous_oid,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => Some(TreeChange::Modified {
                    path: path.to_str_lossy().into_owned(),
                    old: previous_oid,
                    new: oid,
                }),
                _ => None,
            })
            .collect())
    }

    /// Every file the index tracks (stage 0), sorted by path, with its staged blob.
    pub fn tracked_files(&self) -> Result<Vec<(String, ObjectId)>> {
        let index = self.repo.index_or_empty().map_err(gix_err)?;
        Ok(file_entries(&index))
    }

    /// What the index stages against HEAD (the empty tree before the first commit): the
    /// content `git commit` would record. Conflicted and intent-to-add entries are skipped.
    pub fn staged_changes(&self) -> Result<Vec<StagedChange>> {
        let index = self.repo.index_or_empty().map_err(gix_err)?;
        let head_tree = self.repo.head_tree_id_or_empty().map_err(gix_err)?;
        let head = self.repo.index_from_tree(&head_tree).map_err(gix_err)?;
        let staged = file_entries(&index);
        let committed = file_entries(&head);
        let mut changes = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < staged.len() || j < committed.len() {
            let order = match (staged.get(i), committed.get(j)) {
                (Some(s), Some(c)) => s.0.cmp(&c.0),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    let (path, id) = &staged[i];
                    changes.push(StagedChange {
                        path: path.clone(),
                        kind: StagedKind::Added,
                        head: None,
                        staged: Some(*id),
                    });
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    let (path, id) = &committed[j];
                    changes.push(StagedChange {
                        path: path.clone(),
                        kind: StagedKind::Deleted,
                        head: Some(*id),
                        staged: None,
                    });
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let ((path, new), (_, old)) = (&staged[i], &committed[j]);
                    if new != old {
                        changes.push(StagedChange {
                            path: path.clone(),
                            kind: StagedKind::Modified,
                            head: Some(*old),
                            staged: Some(*new),
                        });
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(changes)
    }
}

/// A file-level change between two trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeChange {
    Added {
        path: String,
        blob: ObjectId,
    },
    Deleted {
        path: String,
        blob: ObjectId,
    },
    Modified {
        path: String,
        old: ObjectId,
        new: ObjectId,
    },
}

/// The stage-0 file entries of an index, sorted by path: (path, blob).
fn file_entries(state: &gix::index::State) -> Vec<(String, ObjectId)> {
    let mut entries: Vec<(String, ObjectId)> = state
        .entries()
        .iter()
        .filter(|e| e.stage_raw() == 0)
        .filter(|e| !e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD))
        .filter(|e| {
            matches!(
                e.mode,
                gix::index::entry::Mode::FILE
                    | gix::index::entry::Mode::FILE_EXECUTABLE
                    | gix::index::entry::Mode::SYMLINK
            )
        })
        .map(|e| (e.path(state).to_str_lossy().into_owned(), e.id))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

fn signature_kind(signature: &[u8]) -> &'static str {
    if signature.starts_with(b"-----BEGIN SSH SIGNATURE") {
        "ssh"
    } else if signature.starts_with(b"-----BEGIN SIGNED MESSAGE") {
        "x509"
    } else {
        "gpg"
    }
}

#[cfg(test)]
mod tests;
