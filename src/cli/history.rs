//! `secrets log`, `secrets show` and `secrets stale`: a file's versions through Git, read-only.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::json;
use zeroize::Zeroize;

use super::{decrypt_to_plaintext, recover_key, write_output};
use crate::crypto::{self, DataKey};
use crate::document::{self, Format};
use crate::drivers::view;
use crate::error::Error;
use crate::git::{self, CommitInfo, Repo, WalkOptions};
use crate::history::delta::decrypted_changes;
use crate::history::{self, Bulk, Delta, History, KeyChange, keymap};

#[derive(clap::Args)]
pub struct LogArgs {
    /// The encrypted file (its current name; renames are followed back).
    file: PathBuf,
    /// Only versions touching these key paths: `db.password`, `db.*`, `db`, '["db"]["password"]'.
    keypaths: Vec<String>,
    /// Show at most N versions.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// Only commits since this date (YYYY-MM-DD) or this long ago (90d, 12w, 1y).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Follow only the first parent of merges.
    #[arg(long)]
    first_parent: bool,
    /// Decrypt each version: "changed" becomes exact and renamed keys are found.
    #[arg(long)]
    decrypt: bool,
    /// With --decrypt: print the values (old → new). Never without this flag.
    #[arg(long, requires = "decrypt")]
    show_values: bool,
    /// Also list versions where no value changed (only the MAC or the layout).
    #[arg(long)]
    all: bool,
    /// One JSON array of versions (values only with --show-values).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The encrypted file (its current name; a renamed file is found under its old name).
    file: PathBuf,
    /// The revision: any `git rev-parse` spelling (HEAD~2, a tag, a hash), or :staged.
    #[arg(long, value_name = "REV")]
    rev: String,
    /// Print only the value at this key path (`db.password` or '["db"]["password"]').
    #[arg(long, value_name = "PATH")]
    extract: Option<String>,
    /// The keyless structural view even when a key is available.
    #[arg(long)]
    redacted: bool,
}

/// `--by`: whose time counts for a value's age.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// When the change landed (committer time).
    Committer,
    /// When it was written (author time).
    Author,
}

#[derive(clap::Args)]
pub struct StaleArgs {
    /// Encrypted files (default: every tracked file with sops metadata).
    files: Vec<PathBuf>,
    /// Flag values unchanged for longer than this: 90d, 12w, 1y, 36h.
    #[arg(long, value_name = "AGE", default_value = "90d")]
    older_than: String,
    /// Exit with status 1 when any value is flagged (for CI).
    #[arg(long)]
    fail: bool,
    /// Whose time counts.
    #[arg(long, value_enum, default_value = "committer")]
    by: By,
    /// One JSON object per value.
    #[arg(long)]
    json: bool,
}

use crate::time::now;

/// `YYYY-MM-DD`, or a duration ago.
fn parse_since(text: &str) -> Result<i64, Error> {
    crate::time::parse_date(text)
        .ok()
        .or_else(|| crate::time::parse_duration(text).ok().map(|d| now() - d))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--since {text:?}: expected a date (2026-01-31) or a duration (90d, 12w, 1y)"
            ))
        })
}

fn open(file: &Path) -> Result<(Repo, String), Error> {
    let repo = Repo::discover(file)?;
    let rel = repo.relative_path(file)?;
    Ok((repo, rel))
}

fn signed(c: &CommitInfo) -> String {
    match c.signature {
        Some(kind) => format!("{kind}-signed"),
        None => "unsigned".into(),
    }
}

/// Plaintext values of a version by key path, wiped when dropped.
struct Plain {
    values: Vec<(String, String)>,
    mac_ok: bool,
}

impl Drop for Plain {
    fn drop(&mut self) {
        for (_, v) in &mut self.values {
            v.zeroize();
        }
    }
}

/// Decrypts versions, unwrapping each distinct data key once.
struct Decryptor<'a> {
    identities: &'a [PathBuf],
    keys: HashMap<String, Option<DataKey>>,
}

impl Decryptor<'_> {
    /// `Err`: why the version cannot be decrypted (no key of ours, malformed).
    fn decrypt(&mut self, format: Format, bytes: &[u8], name: &str) -> Result<Plain, String> {
        let doc = document::parse(format, bytes).map_err(|e| e.to_string())?;
        let meta = super::metadata_of(doc.as_ref(), name).map_err(|e| e.to_string())?;
        let stanzas: Vec<String> = history::recipients(&meta)
            .into_iter()
            .map(|r| r.stanza)
            .collect();
        let cache_key = stanzas.join("\n");
        let key = self
            .keys
            .entry(cache_key)
            .or_insert_with(|| recover_key(&meta, self.identities, name).ok());
        let Some(key) = key.as_ref() else {
            return Err("not decryptable with your keys".into());
        };
        let cipher = crypto::ValueCipher::new(key);
        let rule = crypto::rule_of(&meta, format).map_err(|e| e.to_string())?;
        let mac_only = meta.mac_only_encrypted && format != Format::Binary;
        let mut decrypted = crypto::decrypt_leaves(doc.leaves(), &cipher, &rule, mac_only)
            .map_err(|e| e.to_string())?;
        let mac_ok = crypto::verify_mac(&cipher, &meta, &decrypted.mac).is_ok();
        let plaintext = zeroize::Zeroizing::new(
            doc.render(&mut decrypted.edits, None)
                .map_err(|e| e.to_string())?,
        );
        let values = if format == Format::Binary {
            vec![(
                "data".to_string(),
                String::from_utf8_lossy(&plaintext).into_owned(),
            )]
        } else {
            keymap::key_map(format, &plaintext)
                .map_err(|e| e.to_string())?
                .entries
                .into_iter()
                .map(|e| (e.path, e.stored))
                .collect()
        };
        Ok(Plain { values, mac_ok })
    }
}

/// One printed version.
struct Shown<'a> {
    version: &'a git::Version,
    delta: Delta,
    note: Option<String>,
    /// With --decrypt: whether this version decrypted and its MAC verified.
    decrypted: Option<bool>,
    mac_ok: Option<bool>,
    /// With --show-values: old and new plaintext per changed key path.
    values: HashMap<String, (Option<String>, Option<String>)>,
}

impl Drop for Shown<'_> {
    fn drop(&mut self) {
        for (a, b) in self.values.values_mut() {
            a.zeroize();
            b.zeroize();
        }
    }
}

pub fn log(args: LogArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let (repo, rel) = open(&args.file)?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let filtered = !args.keypaths.is_empty();
    let options = WalkOptions {
        max_versions: (!filtered && args.all).then_some(args.max_count).flatten(),
        since,
        first_parent: args.first_parent,
        start: None,
    };
    let history = History::load(&repo, &rel, &options)?;
    if history.versions.is_empty() && since.is_none() {
        return Err(git::Error::NeverTracked { path: rel }.into());
    }
    let keep = |path: &str| args.keypaths.iter().any(|f| history::path_matches(f, path));
    let mut decryptor = Decryptor {
        identities,
        keys: HashMap::new(),
    };
    let mut plains: HashMap<git::ObjectId, Result<Plain, String>> = HashMap::new();
    let mut shown: Vec<Shown> = Vec::new();
    for step in history.steps() {
        let v = step.version;
        if let Some(Err(e)) = history.parsed(&v.blob) {
            eprintln!(
                "warning: {} at {}: cannot read this version, skipped: {e}",
                v.path,
                v.commit.short_id()
            );
            continue;
        }
        let (mut delta, note) = match step.delta {
            Ok(d) => (d, None),
            Err(e) => (Delta::default(), Some(e)),
        };
        let mut item = Shown {
            version: v,
            delta: Delta::default(),
            note,
            decrypted: None,
            mac_ok: None,
            values: HashMap::new(),
        };
        if args.decrypt {
            let (pblobs, _) = history.readable_parents(v);
            let (format, parent_format) = history::formats_of(v);
            for (blob, fmt) in std::iter::once((v.blob, format))
                .chain(pblobs.iter().flatten().map(|b| (*b, parent_format)))
            {
                if let std::collections::hash_map::Entry::Vacant(slot) = plains.entry(blob) {
                    let bytes = repo.read_blob(blob)?;
                    let name = format!("{} at {}", v.path, v.commit.short_id());
                    slot.insert(decryptor.decrypt(fmt, &bytes, &name));
                }
            }
            match &plains[&v.blob] {
                Err(e) => {
                    item.decrypted = Some(false);
                    item.note = Some(e.clone());
                }
                Ok(new) => {
                    item.decrypted = Some(true);
                    item.mac_ok = Some(new.mac_ok);
                    let parents: Vec<Option<&Plain>> = pblobs
                        .iter()
                        .map(|b| match b {
                            None => None,
                            Some(b) => plains[b].as_ref().ok(),
                        })
                        .collect();
                    let all_parents_ok = pblobs.iter().flatten().all(|b| plains[b].is_ok());
                    if all_parents_ok {
                        let mut lists: Vec<Vec<KeyChange>> = parents
                            .iter()
                            .map(|p| decrypted_changes(p.map(|p| p.values.as_slice()), &new.values))
                            .collect();
                        if lists.is_empty() {
                            lists.push(decrypted_changes(None, &new.values));
                        }
                        let mut changes = lists.remove(0);
                        for other in &lists {
                            changes.retain(|c| other.iter().any(|o| o.path == c.path));
                        }
                        delta.changes = changes;
                        if args.show_values {
                            let old = parents.first().copied().flatten();
                            for c in &delta.changes {
                                let get = |p: &Plain, k: &str| {
                                    p.values
                                        .iter()
                                        .find(|(kk, _)| kk == k)
                                        .map(|(_, v)| v.clone())
                                };
                                let old_key = c.from.as_deref().unwrap_or(&c.path);
                                item.values.insert(
                                    c.path.clone(),
                                    (old.and_then(|o| get(o, old_key)), get(new, &c.path)),
                                );
                            }
                        }
                    } else {
                        item.note = Some(
                            "the previous version is not decryptable with your keys: changes are keyless"
                                .into(),
                        );
                    }
                }
            }
        }
        let touched_bulk = delta.bulk.is_some()
            && history
                .parsed(&v.blob)
                .and_then(|p| p.as_ref().ok())
                .is_some_and(|p| p.map.entries.iter().any(|e| keep(&e.path)));
        if filtered {
            delta
                .changes
                .retain(|c| keep(&c.path) || c.from.as_deref().is_some_and(keep));
            let touches = !delta.changes.is_empty() || touched_bulk;
            if !touches && !args.all {
                continue;
            }
        } else if delta.is_empty() && v.renamed_from.is_none() && item.note.is_none() && !args.all {
            continue;
        }
        item.delta = delta;
        shown.push(item);
        if args.max_count.is_some_and(|n| shown.len() >= n) {
            break;
        }
    }
    let out = if args.json {
        let list: Vec<serde_json::Value> = shown.iter().map(|s| shown_json(s, &args)).collect();
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        text
    } else {
        let mut text = String::new();
        for s in &shown {
            text.push_str(&shown_text(s, &args, filtered));
        }
        text
    };
    write_output(out.as_bytes(), None, None, 0o600)
}

fn shown_text(s: &Shown, args: &LogArgs, filtered: bool) -> String {
    let c = &s.version.commit;
    let mut out = format!(
        "{}  {}  {} <{}>  {}  {}\n",
        c.short_id(),
        git::format_date(c.author_time, c.author_offset),
        c.author_name,
        c.author_email,
        signed(c),
        c.summary
    );
    let d = &s.delta;
    if let Some(from) = &s.version.renamed_from {
        out.push_str(&format!("    renamed from {from}\n"));
    }
    if let Some(note) = &s.note {
        out.push_str(&format!("    note: {note}\n"));
    }
    if s.mac_ok == Some(false) {
        out.push_str(
            "    warning: the MAC of this version does not verify (edited without the key?)\n",
        );
    }
    if let Some(rb) = rollback_trailer(&c.message) {
        out.push_str(&format!("    rollback to {rb}\n"));
    }
    if d.created && !filtered && !args.decrypt {
        out.push_str(&format!("    created with {} values\n", d.changes.len()));
    } else {
        for ch in &d.changes {
            let mut line = format!("    {} {}", ch.kind.sign(), ch.path);
            if let Some(from) = &ch.from {
                line.push_str(&format!(" (renamed from {from})"));
            }
            if let Some((old, new)) = s.values.get(&ch.path) {
                match (old, new) {
                    (Some(o), Some(n)) => line.push_str(&format!(": {o} → {n}")),
                    (None, Some(n)) => line.push_str(&format!(": {n}")),
                    (Some(o), None) => line.push_str(&format!(": {o}")),
                    (None, None) => {}
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(bulk) = d.bulk {
        let what = match bulk {
            Bulk::DataKeyRotated => "data key rotated",
            Bulk::ReEncrypted => "whole file re-encrypted",
        };
        let tail = if s.decrypted == Some(true) {
            "value changes listed above"
        } else {
            "value changes unknown without --decrypt"
        };
        out.push_str(&format!(
            "    {what}: {} values encrypted again ({tail})\n",
            d.bulk_values
        ));
    }
    if !d.recipients_added.is_empty() || !d.recipients_removed.is_empty() {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(d.recipients_added.iter().map(|r| format!("+ {r}")));
        parts.extend(d.recipients_removed.iter().map(|r| format!("- {r}")));
        let label = if d.created {
            "recipients"
        } else {
            "recipients:"
        };
        out.push_str(&format!("    {label} {}\n", parts.join(", ")));
    }
    if d.rewrapped {
        out.push_str(
            "    data key wrapped again for the recipients (same data key, values unchanged)\n",
        );
    }
    if d.settings_changed {
        out.push_str("    encryption settings changed (which values are encrypted)\n");
    }
    if d.is_empty() && s.version.renamed_from.is_none() && s.note.is_none() {
        out.push_str("    no value changed\n");
    }
    out
}

fn shown_json(s: &Shown, args: &LogArgs) -> serde_json::Value {
    let c = &s.version.commit;
    let d = &s.delta;
    let changes: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|ch| {
            let mut o = json!({"key": ch.path, "kind": ch.kind.name()});
            if let Some(from) = &ch.from {
                o["from"] = json!(from);
            }
            if args.show_values
                && let Some((old, new)) = s.values.get(&ch.path)
            {
                o["old"] = json!(old);
                o["new"] = json!(new);
            }
            o
        })
        .collect();
    json!({
        "commit": c.id,
        "author": {"name": c.author_name, "email": c.author_email, "time": c.author_time, "offset": c.author_offset},
        "committer": {"name": c.committer_name, "time": c.committer_time, "offset": c.committer_offset},
        "signature": c.signature,
        "summary": c.summary,
        "path": s.version.path,
        "renamed_from": s.version.renamed_from,
        "created": d.created,
        "changes": changes,
        "bulk": d.bulk.map(|b| json!({"kind": b.name(), "values": d.bulk_values})),
        "recipients": {"added": d.recipients_added, "removed": d.recipients_removed},
        "rewrapped": d.rewrapped,
        "settings_changed": d.settings_changed,
        "rollback_to": rollback_trailer(&c.message),
        "decrypted": s.decrypted,
        "mac_verified": s.mac_ok,
        "note": s.note,
    })
}

/// The revision of a `Secrets-Rollback: REV KEYS` trailer.
fn rollback_trailer(message: &str) -> Option<String> {
    message.lines().find_map(|l| {
        l.strip_prefix("Secrets-Rollback:")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    })
}

/// The file's bytes at a revision, under its current name or, if it was renamed since, under
/// an earlier name. Returns the bytes and the name.
pub(super) fn file_at_rev(repo: &Repo, rev: &str, rel: &str) -> Result<(Vec<u8>, String), Error> {
    if let Some(bytes) = repo.file_at(rev, rel)? {
        return Ok((bytes, rel.to_string()));
    }
    if rev != git::STAGED {
        let mut names: Vec<String> = Vec::new();
        for v in repo.file_versions(rel, &WalkOptions::default())? {
            for name in std::iter::once(v.path).chain(v.renamed_from) {
                if name != rel && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        for name in names {
            if let Some(bytes) = repo.file_at(rev, &name)? {
                return Ok((bytes, name));
            }
        }
    }
    Err(git::Error::NotAtRevision {
        path: rel.to_string(),
        rev: rev.to_string(),
    }
    .into())
}

pub fn show(args: ShowArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let (repo, rel) = open(&args.file)?;
    let (bytes, name) = file_at_rev(&repo, &args.rev, &rel)?;
    let format = Format::from_path(Path::new(&name));
    let file = format!("{name} at {}", args.rev);
    let extract = args
        .extract
        .as_deref()
        .map(history::parse_key_path)
        .transpose()
        .map_err(|message| Error::Path {
            file: file.clone(),
            message: format!("invalid --extract path: {message}"),
        })?;
    let redacted_view = |note: Option<String>| -> Result<(), Error> {
        if let Some(note) = note {
            eprintln!("note: {note}; showing the keyless structural view");
        }
        // The same view `secrets git textconv` gives Git, so `git log -p` and `show` agree.
        let Some(found) = view::detect(Path::new(&name), &bytes) else {
            keymap::key_map(format, &bytes).map_err(|source| Error::Document {
                file: file.clone(),
                source,
            })?;
            return Err(Error::NotEncrypted { file: file.clone() });
        };
        let text = view::redacted(&found, &bytes).map_err(|source| Error::Document {
            file: file.clone(),
            source,
        })?;
        let kept: String = text
            .lines()
            .filter(|line| match (&args.extract, line.split_once(": ")) {
                (Some(f), Some((path, _))) => {
                    path.starts_with("sops.") || history::path_matches(f, path)
                }
                _ => true,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        write_output(kept.as_bytes(), None, None, 0o600)
    };
    if args.redacted {
        return redacted_view(None);
    }
    let doc = document::parse(format, &bytes).map_err(|source| Error::Document {
        file: file.clone(),
        source,
    })?;
    let Some(_) = doc.metadata() else {
        eprintln!("note: {file} is not encrypted");
        return write_output(&bytes, None, None, 0o600);
    };
    let meta = super::metadata_of(doc.as_ref(), &file)?;
    let key = match recover_key(&meta, identities, &file) {
        Ok(key) => key,
        Err(Error::Keys { source, .. }) => {
            return redacted_view(Some(format!("no usable key for {file} ({source})")));
        }
        Err(e) => return Err(e),
    };
    let plaintext = decrypt_to_plaintext(doc.as_ref(), &meta, &key, super::Verify::Mac, &file)?;
    match extract {
        None => write_output(&plaintext, None, None, 0o600),
        Some(steps) => {
            let out = zeroize::Zeroizing::new(super::decrypt::convert(
                &plaintext,
                format,
                format,
                Some(&steps),
                &file,
            )?);
            write_output(&out, None, None, 0o600)
        }
    }
}

/// One value's line in `stale`.
struct StaleRow {
    file: String,
    key: String,
    change: Option<history::LastChange>,
    pending: bool,
    age: i64,
    stale: bool,
}

pub fn stale(args: StaleArgs) -> Result<u8, Error> {
    let limit = crate::time::parse_duration(&args.older_than)
        .ok()
        .ok_or_else(|| {
            Error::Usage(format!(
                "--older-than {:?}: expected a duration such as 90d, 12w, 1y, 36h",
                args.older_than
            ))
        })?;
    let now = now();
    // (repository, repository-relative path, working-tree path)
    let mut targets: Vec<(Repo, String, PathBuf)> = Vec::new();
    if args.files.is_empty() {
        let repo = Repo::discover(Path::new("."))?;
        let candidates: Vec<(String, git::ObjectId)> = repo.tracked_files()?;
        let mut found = Vec::new();
        for (path, blob) in candidates {
            let format = Format::from_path(Path::new(&path));
            let bytes = repo.read_blob(blob)?;
            if memchr::memmem::find(&bytes, b"sops").is_none()
                || memchr::memmem::find(&bytes, crate::document::envelope::MARKER.as_bytes())
                    .is_none()
            {
                continue;
            }
            if let Ok(map) = keymap::key_map(format, &bytes)
                && map.metadata.is_some()
            {
                found.push(path);
            }
        }
        let top = repo.workdir().to_path_buf();
        for path in found {
            let repo = Repo::discover(&top)?;
            let full = top.join(&path);
            targets.push((repo, path, full));
        }
    } else {
        for file in &args.files {
            let (repo, rel) = open(file)?;
            targets.push((repo, rel, file.clone()));
        }
    }

    let mut rows: Vec<StaleRow> = Vec::new();
    for (repo, rel, full) in &targets {
        let history = History::load(repo, rel, &WalkOptions::default())?;
        if history.versions.is_empty() {
            return Err(git::Error::NeverTracked { path: rel.clone() }.into());
        }
        let changes = history.last_changes()?;
        let head = history.versions[0].blob;
        let committed = match history.parsed(&head) {
            Some(Ok(p)) => Some(p.clone()),
            _ => None,
        };
        // Values changed in the working tree (or index) but not committed count as fresh.
        let format = Format::from_path(Path::new(rel));
        let worktree = fs_err::read(full)
            .ok()
            .and_then(|b| keymap::key_map(format, &b).ok());
        let keys: Vec<String> = match (&worktree, &committed) {
            (Some(w), _) => w.entries.iter().map(|e| e.path.clone()).collect(),
            (None, Some(c)) => c.map.entries.iter().map(|e| e.path.clone()).collect(),
            (None, None) => Vec::new(),
        };
        for key in keys {
            let pending = match (&worktree, &committed) {
                (Some(w), Some(c)) => w.get(&key) != c.get(&key),
                _ => false,
            };
            let change = changes.get(&key).cloned();
            let time = change
                .as_ref()
                .map(|c| match args.by {
                    By::Committer => c.time,
                    By::Author => c.author_time,
                })
                .unwrap_or(now);
            let age = if pending { 0 } else { now - time };
            rows.push(StaleRow {
                file: rel.clone(),
                key,
                stale: !pending && age > limit,
                change: if pending { None } else { change },
                pending,
                age,
            });
        }
    }
    rows.sort_by(|a, b| b.age.cmp(&a.age).then(a.key.cmp(&b.key)));
    let exposed = |r: &StaleRow| r.change.as_ref().is_some_and(|c| !c.exposed_to.is_empty());
    let flagged = rows.iter().filter(|r| r.stale || exposed(r)).count();
    let out = if args.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let c = r.change.as_ref();
                json!({
                    "file": r.file,
                    "key": r.key,
                    "pending": r.pending,
                    "commit": c.map(|c| &c.commit),
                    "author": c.map(|c| &c.author),
                    "time": c.map(|c| c.time),
                    "author_time": c.map(|c| c.author_time),
                    "age_days": r.age / 86_400,
                    "stale": r.stale,
                    "reencrypted": c.and_then(|c| c.reencrypted.as_ref()).map(|(id, t)| json!({"commit": id, "time": t})),
                    "exposed_to": c.map(|c| c.exposed_to.iter().map(|e| json!({
                        "recipient": e.recipient, "removed_in": e.removed_in, "removed_at": e.removed_at
                    })).collect::<Vec<_>>()).unwrap_or_default(),
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        text
    } else {
        let mut text = String::new();
        let mut files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
        files.dedup();
        let files: HashSet<&str> = files.into_iter().collect();
        let width = rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
        for r in &rows {
            let flag = if r.pending {
                "pending"
            } else if r.stale {
                "STALE"
            } else {
                "ok"
            };
            let prefix = if files.len() > 1 {
                format!("{}: ", r.file)
            } else {
                String::new()
            };
            match &r.change {
                None => text.push_str(&format!(
                    "{flag:<7}  {prefix}{:<width$}  changed in the working tree, not committed\n",
                    r.key
                )),
                Some(c) => {
                    text.push_str(&format!(
                        "{flag:<7}  {prefix}{:<width$}  {}  {:>5}d  {}  {}  {}\n",
                        r.key,
                        crate::time::format_date(match args.by {
                            By::Committer => c.time,
                            By::Author => c.author_time,
                        }),
                        r.age / 86_400,
                        &c.commit[..7.min(c.commit.len())],
                        c.author,
                        c.summary
                    ));
                    if let Some((id, t)) = &c.reencrypted {
                        text.push_str(&format!(
                            "         re-encrypted {} in {} (a change there is unknown without the key)\n",
                            crate::time::format_date(*t),
                            &id[..7.min(id.len())]
                        ));
                    }
                    for e in &c.exposed_to {
                        text.push_str(&format!(
                            "         EXPOSED: readable by {}, removed {} in {}: rotate this value\n",
                            e.recipient,
                            crate::time::format_date(e.removed_at),
                            &e.removed_in[..7.min(e.removed_in.len())]
                        ));
                    }
                }
            }
        }
        let stale_n = rows.iter().filter(|r| r.stale).count();
        let exposed_n = rows.iter().filter(|r| exposed(r)).count();
        text.push_str(&format!(
            "{} values: {stale_n} unchanged for more than {}, {exposed_n} readable by removed recipients\n",
            rows.len(),
            args.older_than
        ));
        text
    };
    write_output(out.as_bytes(), None, None, 0o600)?;
    Ok(if args.fail && flagged > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_trailers_name_the_revision() {
        assert_eq!(
            rollback_trailer("roll back\n\nSecrets-Rollback: a9f0e1d db.password\n").as_deref(),
            Some("a9f0e1d")
        );
        assert_eq!(rollback_trailer("nothing"), None);
    }

    #[test]
    fn since_takes_dates_and_durations() {
        assert_eq!(parse_since("2026-01-02").unwrap(), 1_767_312_000);
        assert!(parse_since("90d").unwrap() < now());
        assert!(parse_since("soon").is_err());
    }
}
