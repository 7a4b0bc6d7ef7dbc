//! What a file looked like through its versions, read without any key: each version's key map
//! (key path → stored value text) and metadata, what changed between two versions, and for each
//! current value the commit that last changed it.
//!
//! Sound without a key because every writer of this tool keeps an unchanged value's exact
//! ciphertext: a value whose `ENC[...]` text differs between two versions was written again.
//! A version where *every* value was written again is a whole-file re-encryption (`rotate`, or
//! a round trip through another tool) and is labelled as such instead of "everything changed".

pub mod delta;
pub mod keymap;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::document::{Format, envelope};
use crate::git::{self, ObjectId, Repo, Version, WalkOptions};
pub use delta::{Bulk, ChangeKind, Delta, KeyChange, recipients};
use keymap::KeyMap;

/// What the history of a file can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Git(#[from] git::Error),
    #[error("{path} at {rev}: cannot read the file: {message}")]
    Unparseable {
        path: String,
        rev: String,
        message: String,
    },
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Git(g) => crate::error::Error::Git(g),
            Error::Unparseable { path, rev, message } => crate::error::Error::Document {
                file: format!("{path} at {rev}"),
                source: crate::document::Error::Invalid {
                    format: Format::from_path(Path::new(&path)),
                    message,
                },
            },
        }
    }
}

/// A parsed version, with an index from key path to entry.
#[derive(Debug)]
pub struct Parsed {
    pub map: KeyMap,
    index: HashMap<String, usize>,
}

impl Parsed {
    pub fn new(map: KeyMap) -> Parsed {
        let index = map
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        Parsed { map, index }
    }

    /// The stored text at a key path.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.index
            .get(path)
            .map(|&i| self.map.entries[i].stored.as_str())
    }
}

/// A version's key map, or why it could not be read (a message naming the line, never content).
pub type ParseResult = Result<Arc<Parsed>, String>;

/// The versions of one file, newest first, with every blob they and their parents hold parsed.
pub struct History {
    pub path: String,
    pub versions: Vec<Version>,
    parsed: HashMap<ObjectId, ParseResult>,
    /// The newest version holding each blob.
    by_blob: HashMap<ObjectId, usize>,
}

/// One version and what it changed against its parents.
pub struct Step<'a> {
    pub version: &'a Version,
    /// `Err`: the version, or every parent it could be compared with, does not parse.
    pub delta: Result<Delta, String>,
}

impl History {
    /// Walk the file's versions and parse each distinct blob (in parallel: blobs are read on
    /// this thread, since gix's repository is not `Send`, and parsed on rayon's threads).
    pub fn load(repo: &Repo, path: &str, options: &WalkOptions) -> Result<History, Error> {
        let versions = repo.file_versions(path, options)?;
        let mut wanted: Vec<(ObjectId, Format)> = Vec::new();
        let mut seen = HashSet::new();
        for v in &versions {
            let (format, parent_format) = formats_of(v);
            if seen.insert(v.blob) {
                wanted.push((v.blob, format));
            }
            for b in v.parent_blobs.iter().flatten() {
                if seen.insert(*b) {
                    wanted.push((*b, parent_format));
                }
            }
        }
        let mut blobs: HashMap<ObjectId, (Format, Vec<u8>)> = HashMap::new();
        for (id, format) in wanted {
            let bytes = repo.read_blob(id)?;
            blobs.insert(id, (format, bytes));
        }
        let parsed = parse_all(&versions, &blobs);
        let mut by_blob = HashMap::new();
        for (i, v) in versions.iter().enumerate() {
            by_blob.entry(v.blob).or_insert(i);
        }
        Ok(History {
            path: path.to_string(),
            versions,
            parsed,
            by_blob,
        })
    }

    /// The parsed blob.
    pub fn parsed(&self, blob: &ObjectId) -> Option<&ParseResult> {
        self.parsed.get(blob)
    }

    /// Each version with its keyless delta. A merge is compared with each parent: only what
    /// differs from every parent is reported (what the merge itself introduced).
    pub fn steps(&self) -> Vec<Step<'_>> {
        self.versions
            .iter()
            .map(|version| Step {
                version,
                delta: self.delta_of(version),
            })
            .collect()
    }

    /// The parents' blobs to compare a version with: a parent that does not parse is replaced
    /// by its own parents (the last versions that do), so one broken commit does not make the
    /// next one look like a rewrite of everything. The flag tells whether that happened.
    pub fn readable_parents(&self, version: &Version) -> (Vec<Option<ObjectId>>, bool) {
        let mut out = Vec::new();
        let mut skipped = false;
        for parent in &version.parent_blobs {
            self.resolve_parent(*parent, 0, &mut out, &mut skipped);
        }
        (out, skipped)
    }

    fn resolve_parent(
        &self,
        blob: Option<ObjectId>,
        depth: usize,
        out: &mut Vec<Option<ObjectId>>,
        skipped: &mut bool,
    ) {
        let Some(b) = blob else {
            out.push(None);
            return;
        };
        if matches!(self.parsed.get(&b), Some(Ok(_))) || depth >= 16 {
            out.push(Some(b));
            return;
        }
        *skipped = true;
        match self.by_blob.get(&b) {
            Some(&i) => {
                for p in &self.versions[i].parent_blobs {
                    self.resolve_parent(*p, depth + 1, out, skipped);
                }
            }
            None => out.push(Some(b)),
        }
    }

    fn delta_of(&self, version: &Version) -> Result<Delta, String> {
        let new = self.get(&version.blob)?;
        if version.parent_blobs.is_empty() {
            return Ok(Delta::between(None, &new));
        }
        let (parents, _) = self.readable_parents(version);
        let mut deltas = Vec::new();
        let mut failed = None;
        for parent in &parents {
            match parent {
                None => deltas.push(Delta::between(None, &new)),
                Some(b) => match self.get(b) {
                    Ok(old) => deltas.push(Delta::between(Some(&old), &new)),
                    Err(e) => failed = Some(e),
                },
            }
        }
        match failed {
            Some(e) if deltas.is_empty() => Err(format!(
                "the previous version does not parse ({e}); changes unknown"
            )),
            _ => Ok(Delta::intersect(deltas)),
        }
    }

    fn get(&self, blob: &ObjectId) -> Result<Arc<Parsed>, String> {
        match self.parsed.get(blob) {
            Some(Ok(p)) => Ok(p.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not read".into()),
        }
    }

    /// For every key of the newest version: the version that last changed its value.
    /// Re-encryptions of the whole file do not count as changes; they are recorded in
    /// [`LastChange::reencrypted`]. Recipients removed after that change (still able to read
    /// the value from history) are listed in [`LastChange::exposed_to`].
    pub fn last_changes(&self) -> Result<HashMap<String, LastChange>, Error> {
        let Some(head) = self.versions.first() else {
            return Ok(HashMap::new());
        };
        let current = self.get(&head.blob).map_err(|message| Error::Unparseable {
            path: self.path.clone(),
            rev: head.commit.short_id().to_string(),
            message,
        })?;
        let current_recipients: HashSet<String> = current
            .map
            .metadata
            .as_ref()
            .map(|m| recipients(m).into_iter().map(|r| r.id).collect())
            .unwrap_or_default();

        // Recipient removals, by version index (newest first).
        let mut removals: Vec<(usize, String)> = Vec::new();
        let steps = self.steps();
        for (i, step) in steps.iter().enumerate() {
            if let Ok(d) = &step.delta {
                for r in &d.recipients_removed {
                    if !current_recipients.contains(r) {
                        removals.push((i, r.clone()));
                    }
                }
            }
        }

        // Keys being traced back, by the blob that holds their current value; a blob is taken
        // by the newest version that has it (the walk is newest first).
        type Chase = (String, Option<usize>); // key, newest bulk re-encryption seen
        let mut live: HashMap<ObjectId, Vec<Chase>> = HashMap::new();
        live.insert(
            head.blob,
            current
                .map
                .entries
                .iter()
                .map(|e| (e.path.clone(), None))
                .collect(),
        );
        let mut found: HashMap<String, (usize, Option<usize>)> = HashMap::new();
        let mut oldest_seen: HashMap<String, (usize, Option<usize>)> = HashMap::new();
        for (i, version) in self.versions.iter().enumerate() {
            let Some(chased) = live.remove(&version.blob) else {
                continue;
            };
            let here = match self.get(&version.blob) {
                Ok(p) => p,
                Err(_) => {
                    for (key, bulk) in chased {
                        found.entry(key).or_insert((i, bulk));
                    }
                    continue;
                }
            };
            let parents: Vec<Option<(ObjectId, Arc<Parsed>, bool)>> = self
                .readable_parents(version)
                .0
                .iter()
                .map(|b| {
                    let b = (*b)?;
                    let p = self.get(&b).ok()?;
                    let bulk = Delta::between(Some(&p), &here).bulk.is_some();
                    Some((b, p, bulk))
                })
                .collect();
            for (key, bulk) in chased {
                oldest_seen.insert(key.clone(), (i, bulk));
                let stored = here.get(&key);
                let mut followed = false;
                for (b, p, is_bulk) in parents.iter().flatten() {
                    let Some(old) = p.get(&key) else { continue };
                    let same = Some(old) == stored;
                    if same || *is_bulk {
                        let bulk = if same { bulk } else { bulk.or(Some(i)) };
                        live.entry(*b).or_default().push((key.clone(), bulk));
                        followed = true;
                        break;
                    }
                }
                if !followed {
                    found.entry(key).or_insert((i, bulk));
                }
            }
        }
        // Keys whose trail left the walked versions: the oldest version that had them.
        for (key, at) in oldest_seen {
            found.entry(key).or_insert(at);
        }

        let mut out = HashMap::new();
        for (key, (i, bulk)) in found {
            let v = &self.versions[i];
            let mut exposed_to: Vec<Exposure> = Vec::new();
            for (j, r) in &removals {
                if *j < i && !exposed_to.iter().any(|e| &e.recipient == r) {
                    let c = &self.versions[*j].commit;
                    exposed_to.push(Exposure {
                        recipient: r.clone(),
                        removed_in: c.id.clone(),
                        removed_at: c.committer_time,
                    });
                }
            }
            out.insert(
                key,
                LastChange {
                    commit: v.commit.id.clone(),
                    author: format!("{} <{}>", v.commit.author_name, v.commit.author_email),
                    time: v.commit.committer_time,
                    author_time: v.commit.author_time,
                    summary: v.commit.summary.clone(),
                    reencrypted: bulk.map(|j| {
                        let c = &self.versions[j].commit;
                        (c.id.clone(), c.committer_time)
                    }),
                    exposed_to,
                },
            );
        }
        Ok(out)
    }
}

/// The last change of one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastChange {
    /// Full id of the commit that last changed the value.
    pub commit: String,
    /// `Name <email>` of its author.
    pub author: String,
    /// Its committer time, Unix seconds (when the change landed).
    pub time: i64,
    /// Its author time, Unix seconds.
    pub author_time: i64,
    pub summary: String,
    /// The newest whole-file re-encryption since (commit, committer time): the value may have
    /// changed there too, which only decryption could tell.
    pub reencrypted: Option<(String, i64)>,
    /// Recipients removed since the value last changed: they could read it, and still can
    /// from history.
    pub exposed_to: Vec<Exposure>,
}

/// A recipient removed after a value was last changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    pub recipient: String,
    /// The commit that removed it, and its committer time.
    pub removed_in: String,
    pub removed_at: i64,
}

/// For every key path of `path` at HEAD: the last commit that changed its value (whole-file
/// re-encryptions do not count). The core of `secrets stale`.
pub fn last_changes(repo: &Repo, path: &str) -> Result<HashMap<String, LastChange>, Error> {
    let history = History::load(repo, path, &WalkOptions::default())?;
    if history.versions.is_empty() {
        return Err(git::Error::NeverTracked {
            path: path.to_string(),
        }
        .into());
    }
    history.last_changes()
}

/// The format of a version's file, and of its parents' (under the old name when it was renamed).
pub fn formats_of(v: &Version) -> (Format, Format) {
    let format = Format::from_path(Path::new(&v.path));
    let parent_format = v
        .renamed_from
        .as_deref()
        .map(|p| Format::from_path(Path::new(p)))
        .unwrap_or(format);
    (format, parent_format)
}

/// Parse every blob. Most versions differ from their first parent only by a few `ENC[...]`
/// strings (one value, the MAC) and `lastmodified`: those are derived from the parent's key map
/// by swapping the stored texts, without parsing; all others are parsed in full, in parallel.
fn parse_all(
    versions: &[Version],
    blobs: &HashMap<ObjectId, (Format, Vec<u8>)>,
) -> HashMap<ObjectId, ParseResult> {
    // (child, parent) pairs, oldest first, so a chain resolves in one pass.
    let mut pairs: Vec<(ObjectId, ObjectId)> = Vec::new();
    let mut paired = HashSet::new();
    for v in versions.iter().rev() {
        if let Some(Some(p)) = v.parent_blobs.first()
            && *p != v.blob
            && blobs.get(p).map(|b| b.0) == blobs.get(&v.blob).map(|b| b.0)
            && paired.insert(v.blob)
        {
            pairs.push((v.blob, *p));
        }
    }
    type Swaps = Option<Vec<(String, String)>>;
    let swaps: Vec<(ObjectId, ObjectId, Swaps)> = pairs
        .into_par_iter()
        .map(|(c, p)| (c, p, token_swaps(&blobs[&p].1, &blobs[&c].1)))
        .collect();
    let derivable: HashSet<ObjectId> = swaps
        .iter()
        .filter(|s| s.2.is_some())
        .map(|s| s.0)
        .collect();
    let full = |ids: Vec<&ObjectId>| -> Vec<(ObjectId, ParseResult)> {
        ids.into_par_iter()
            .map(|id| {
                let (format, bytes) = &blobs[id];
                (*id, parse(*format, bytes))
            })
            .collect()
    };
    let mut parsed: HashMap<ObjectId, ParseResult> =
        full(blobs.keys().filter(|id| !derivable.contains(*id)).collect())
            .into_iter()
            .collect();
    let mut fallback = Vec::new();
    for (child, parent, swaps) in &swaps {
        let Some(swaps) = swaps else { continue };
        let derived = match parsed.get(parent) {
            Some(Ok(p)) => apply_swaps(p, swaps),
            _ => None,
        };
        match derived {
            Some(d) => {
                parsed.insert(*child, Ok(Arc::new(d)));
            }
            None => fallback.push(child),
        }
    }
    parsed.extend(full(fallback));
    parsed
}

/// When `new` differs from `old` only in lines where one `ENC[...]` string replaces another
/// (the rest of the line identical) or in the `lastmodified` line: the (old, new) strings.
fn token_swaps(old: &[u8], new: &[u8]) -> Option<Vec<(String, String)>> {
    let old_lines: Vec<&[u8]> = old.split(|b| *b == b'\n').collect();
    let new_lines: Vec<&[u8]> = new.split(|b| *b == b'\n').collect();
    if old_lines.len() != new_lines.len() {
        return None;
    }
    let token = |line: &[u8]| -> Option<(usize, usize)> {
        let start = memchr::memmem::find(line, envelope::MARKER.as_bytes())?;
        let end = start + memchr::memchr(b']', &line[start..])? + 1;
        memchr::memmem::find(&line[end..], envelope::MARKER.as_bytes())
            .is_none()
            .then_some((start, end))
    };
    let mut swaps = Vec::new();
    for (a, b) in old_lines.iter().zip(&new_lines) {
        if a == b {
            continue;
        }
        if let (Some((sa, ea)), Some((sb, eb))) = (token(a), token(b))
            && a[..sa] == b[..sb]
            && a[ea..] == b[eb..]
        {
            swaps.push((
                String::from_utf8(a[sa..ea].to_vec()).ok()?,
                String::from_utf8(b[sb..eb].to_vec()).ok()?,
            ));
            continue;
        }
        let is_lastmodified = |l: &[u8]| {
            let t = l.trim_ascii_start();
            let t = t.strip_prefix(b"\"").unwrap_or(t);
            let t = t.strip_prefix(b"sops_").unwrap_or(t);
            t.starts_with(b"lastmodified")
        };
        if is_lastmodified(a) && is_lastmodified(b) {
            continue;
        }
        return None;
    }
    Some(swaps)
}

/// The parent's key map with the swapped stored texts (and MAC) replaced; `None` when a swap
/// does not name exactly one stored value or the MAC (then the version is parsed in full).
/// The derived metadata keeps the parent's `lastmodified`.
fn apply_swaps(parent: &Parsed, swaps: &[(String, String)]) -> Option<Parsed> {
    let mut map = parent.map.clone();
    for (old, new) in swaps {
        let mut hits = map.entries.iter_mut().filter(|e| &e.stored == old);
        match (hits.next(), hits.next()) {
            (Some(e), None) => e.stored = new.clone(),
            (None, _) => match map.metadata.as_mut() {
                Some(m) if &m.mac == old => m.mac = new.clone(),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(Parsed {
        map,
        index: parent.index.clone(),
    })
}

/// Parse one blob's key map.
pub fn parse(format: Format, bytes: &[u8]) -> ParseResult {
    keymap::key_map(format, bytes)
        .map(|m| Arc::new(Parsed::new(m)))
        .map_err(|e| e.to_string())
}

/// Whether a printed key path matches a user's filter: the same path, a path below it
/// (`db` matches `db.password`), or a glob (`*` any run of characters, `?` one). Filters in
/// sops's `["db"]["password"]` spelling are accepted too.
pub fn path_matches(filter: &str, path: &str) -> bool {
    let filter = normalize_filter(filter);
    if filter.contains(['*', '?']) {
        return glob(filter.as_bytes(), path.as_bytes());
    }
    path == filter
        || path
            .strip_prefix(filter.as_str())
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// A filter in the printed spelling (`["db"]["password"]` → `db.password`).
pub fn normalize_filter(filter: &str) -> String {
    let trimmed = filter.trim();
    if trimmed.starts_with('[')
        && let Ok(steps) = crate::document::tree::parse_path(trimmed)
    {
        let mut out = String::new();
        for step in steps {
            match step {
                crate::document::tree::PathStep::Key(k) => out = keymap::join_key(&out, &k),
                crate::document::tree::PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        return out;
    }
    trimmed.to_string()
}

/// Parse a printed key path (`db.password`, `servers[2].token`, `"a.b".c`) or a sops path
/// (`["db"]["password"]`) into tree steps.
pub fn parse_key_path(spec: &str) -> Result<Vec<crate::document::tree::PathStep>, String> {
    use crate::document::tree::PathStep;
    let spec = spec.trim();
    if spec.starts_with('[') {
        return crate::document::tree::parse_path(spec);
    }
    if spec.is_empty() {
        return Err("the key path is empty".into());
    }
    let mut steps = Vec::new();
    let mut rest = spec;
    loop {
        // One key segment: quoted (JSON string) or plain up to `.` or `[`.
        let (key, after) = if rest.starts_with('"') {
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let key = de
                .next()
                .and_then(Result::ok)
                .ok_or("a quoted key is not closed")?;
            let used = de.byte_offset();
            (key, &rest[used..])
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("an empty key in {spec:?}"));
            }
            (rest[..end].to_string(), &rest[end..])
        };
        steps.push(PathStep::Key(key));
        rest = after;
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').ok_or("a list index is not closed with ]")?;
            let index = inner[..end]
                .trim()
                .parse()
                .map_err(|_| format!("{:?} is not a list index", &inner[..end]))?;
            steps.push(PathStep::Index(index));
            rest = &inner[end + 1..];
        }
        if rest.is_empty() {
            return Ok(steps);
        }
        rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("unexpected text in the key path {spec:?}"))?;
    }
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::tree::PathStep;

    #[test]
    fn versions_differing_by_ciphertexts_are_derived_not_parsed() {
        let e = |d: &str| format!("ENC[AES256_GCM,data:{d},iv:AA==,tag:AA==,type:str]");
        let doc = |a: &str, mac: &str, lm: &str| {
            format!(
                "db:\n    a: {}\n    b: {}\nsops:\n    lastmodified: \"{lm}\"\n    mac: {}\n    version: 3.11.0\n",
                e(a),
                e("Bw=="),
                e(mac)
            )
        };
        let old = doc("AA==", "MA==", "2026-01-01T00:00:00Z");
        let new = doc("AQ==", "MQ==", "2026-01-02T00:00:00Z");
        let swaps = token_swaps(old.as_bytes(), new.as_bytes()).unwrap();
        assert_eq!(swaps.len(), 2);
        let parent = parse(Format::Yaml, old.as_bytes()).unwrap();
        let derived = apply_swaps(&parent, &swaps).unwrap();
        let full = parse(Format::Yaml, new.as_bytes()).unwrap();
        assert_eq!(derived.map.entries, full.map.entries);
        assert_eq!(
            derived.map.metadata.unwrap().mac,
            full.map.metadata.as_ref().unwrap().mac
        );
        // A structural change is parsed in full.
        let moved = new.replace("    b:", "    c:");
        assert!(token_swaps(old.as_bytes(), moved.as_bytes()).is_none());
    }

    #[test]
    fn filters_match_paths_subtrees_globs_and_sops_spelling() {
        assert!(path_matches("db.password", "db.password"));
        assert!(path_matches("db", "db.password"));
        assert!(path_matches("db", "db[0]"));
        assert!(!path_matches("db", "dbx"));
        assert!(path_matches("db.*", "db.password"));
        assert!(!path_matches("db.*", "api.token"));
        assert!(path_matches("*token", "api.token"));
        assert!(path_matches(r#"["db"]["password"]"#, "db.password"));
        assert!(path_matches(r#"["servers"][1]"#, "servers[1].token"));
    }

    #[test]
    fn key_paths_parse_in_both_spellings() {
        let k = |s: &str| PathStep::Key(s.into());
        assert_eq!(
            parse_key_path("db.password").unwrap(),
            [k("db"), k("password")]
        );
        assert_eq!(
            parse_key_path("servers[2].token").unwrap(),
            [k("servers"), PathStep::Index(2), k("token")]
        );
        assert_eq!(parse_key_path(r#""a.b".c"#).unwrap(), [k("a.b"), k("c")]);
        assert_eq!(
            parse_key_path(r#"["db"]["password"]"#).unwrap(),
            [k("db"), k("password")]
        );
        assert!(parse_key_path("a..b").is_err());
    }
}
