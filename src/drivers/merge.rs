//! Three-way merge of encrypted documents, key by key, on the stored ciphertexts.
//!
//! Every writer of this tool (and sops inside `edit`) keeps an unchanged value's exact
//! `ENC[...]` text, so comparing stored texts tells which values each side changed without any
//! key. A *unit* is a scalar at a key path, or a whole list (lists are merged as one unit: a
//! list changed on both sides is a conflict), or an empty mapping. Per unit:
//!
//! | base / ours / theirs | result |
//! |---|---|
//! | ours = theirs | ours (unchanged, or the same change on both sides) |
//! | base = ours | theirs, verbatim (changed, added or deleted by theirs only) |
//! | base = theirs | ours |
//! | otherwise | a conflict on that key only |
//!
//! The merged document starts from ours: theirs' changed ciphertexts are written into it,
//! theirs' deletions removed, theirs' additions inserted (at the end of their parent mapping).
//! The `sops` block is set aside while editing and written back by [`finish`], with the MAC the
//! caller gives (recomputed with the data key, or ours' when there is none).
//!
//! Recipients merge too: the base with both sides' additions and removals. That is only sound
//! while both sides share the data key (a recipient common to both has the same wrapped key);
//! when one side rotated it, every ciphertext differs and [`Error::DataKeyDiffers`] says so.

use crate::document::edit::{self, NewValue};
use crate::document::metadata::{KeyGroup, Metadata};
use crate::document::tree::{self, Node, PathStep};
use crate::document::{self, Document, Format, Replacement};
use crate::history::keymap::join_key;

use super::view::is_metadata_key;

/// Why a key-level merge cannot be done; the caller falls back to a line merge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the {side} version cannot be read: {source}")]
    Unreadable {
        side: &'static str,
        source: document::Error,
    },
    #[error("the {side} version is not an encrypted file")]
    NotEncrypted { side: &'static str },
    #[error(
        "the data key differs between the sides (one branch rotated it): every value was \
         re-encrypted, so the values cannot be merged key by key"
    )]
    DataKeyDiffers,
    #[error("the encryption settings (partial-encryption rule, key groups) changed on both sides")]
    SettingsDiffer,
    #[error("{0}")]
    Unsupported(String),
    #[error("key path {path}: {source}")]
    Apply {
        path: String,
        source: document::Error,
    },
}

/// One version: its text, parsed document, tree and metadata.
pub struct Version {
    pub text: String,
    pub doc: Box<dyn Document>,
    pub root: Node,
    pub meta: Metadata,
}

impl Version {
    pub fn parse(format: Format, bytes: &[u8], side: &'static str) -> Result<Version, Error> {
        let unreadable = |source| Error::Unreadable { side, source };
        let text = document::utf8(bytes).map_err(unreadable)?.to_string();
        let doc = document::parse(format, bytes).map_err(unreadable)?;
        let meta = doc
            .metadata()
            .map(Metadata::from_meta)
            .transpose()
            .map_err(unreadable)?
            .filter(Metadata::looks_encrypted)
            .ok_or(Error::NotEncrypted { side })?;
        let root = tree::load(format, &text).map_err(unreadable)?;
        Ok(Version {
            text,
            doc,
            root,
            meta,
        })
    }
}

/// A key whose value both sides changed differently (or one changed and the other deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Mapping keys from the root to the unit.
    pub steps: Vec<String>,
    /// Printable key path, `db.password`.
    pub path: String,
    pub in_ours: bool,
    pub in_theirs: bool,
}

/// The merged document before its `sops` block is written back.
pub struct Merged {
    /// The values document, without the `sops` block.
    pub body: String,
    /// Recipients merged; `lastmodified` and `mac` are ours'.
    pub meta: Metadata,
    pub conflicts: Vec<Conflict>,
    /// Values taken from theirs (changed, added or deleted there).
    pub from_theirs: usize,
}

/// The units of a tree, in document order: (mapping keys, value).
fn units(format: Format, root: &Node) -> Result<Vec<(Vec<String>, &Node)>, Error> {
    fn walk<'a>(node: &'a Node, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Node)>) {
        match node {
            Node::Map(items) if !items.is_empty() => {
                for (k, v) in items {
                    at.push(k.clone());
                    walk(v, at, out);
                    at.pop();
                }
            }
            other => out.push((at.clone(), other)),
        }
    }
    let Node::Map(items) = root else {
        return Err(Error::Unsupported(
            "the document's top level is not a mapping".into(),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in items {
        if is_metadata_key(format, k) {
            continue;
        }
        walk(v, &mut vec![k.clone()], &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    if out.iter().any(|(p, _)| !seen.insert(p.clone())) {
        return Err(Error::Unsupported(
            "a key appears twice (several YAML documents in one file?)".into(),
        ));
    }
    Ok(out)
}

/// `db.password` for mapping keys.
pub fn printable(steps: &[String]) -> String {
    steps.iter().fold(String::new(), |acc, k| join_key(&acc, k))
}

fn find<'a>(units: &[(Vec<String>, &'a Node)], steps: &[String]) -> Option<&'a Node> {
    units.iter().find(|(p, _)| p == steps).map(|(_, n)| *n)
}

fn key_steps(steps: &[String]) -> Vec<PathStep> {
    steps.iter().cloned().map(PathStep::Key).collect()
}

fn json_of(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match node {
        Node::Null => J::Null,
        Node::Bool(b) => J::Bool(*b),
        Node::Int(n) => J::from(*n),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Node::Str(s) => J::String(s.clone()),
        Node::List(items) => J::Array(items.iter().map(json_of).collect()),
        Node::Map(items) => J::Object(items.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
    }
}

fn new_value(node: &Node) -> NewValue {
    match node {
        Node::Str(s) => NewValue::string(s),
        other => NewValue::parse(&json_of(other).to_string()),
    }
}

/// Whether the sides share their data key: every recipient present on both has the same
/// wrapped key, and other master keys are identical.
pub fn same_data_key(a: &Metadata, b: &Metadata) -> bool {
    if a.key_groups.len() != b.key_groups.len() || a.shamir_threshold != b.shamir_threshold {
        return false;
    }
    let mut common = 0;
    for (ga, gb) in a.key_groups.iter().zip(&b.key_groups) {
        if !same_non_age_keys(ga, gb) {
            return false;
        }
        for ka in &ga.age {
            if let Some(kb) = gb.age.iter().find(|k| k.recipient == ka.recipient) {
                if kb.enc != ka.enc {
                    return false;
                }
                common += 1;
            }
        }
        common += ga.others.len() + ga.pgp.len() + ga.kms.len() + ga.vault.len();
    }
    common > 0
}

/// PGP, KMS, Vault and kept-verbatim keys: compared whole (a change is a settings change).
fn same_non_age_keys(a: &KeyGroup, b: &KeyGroup) -> bool {
    a.others == b.others && a.pgp == b.pgp && a.kms == b.kms && a.vault == b.vault
}

/// The recipients: base with both sides' additions and removals applied.
fn merge_groups(
    base: &Metadata,
    ours: &Metadata,
    theirs: &Metadata,
) -> Result<Vec<KeyGroup>, Error> {
    let (o, a, b) = (&base.key_groups, &ours.key_groups, &theirs.key_groups);
    if a == b || o == b {
        return Ok(a.clone());
    }
    if o == a {
        return Ok(b.clone());
    }
    if o.len() != a.len() || a.len() != b.len() {
        return Err(Error::SettingsDiffer);
    }
    let mut out = Vec::new();
    for ((go, ga), gb) in o.iter().zip(a).zip(b) {
        if !same_non_age_keys(ga, gb) {
            return Err(Error::SettingsDiffer);
        }
        let has = |g: &KeyGroup, r: &str| g.age.iter().any(|k| k.recipient == r);
        let mut group = ga.clone();
        group
            .age
            .retain(|k| !has(go, &k.recipient) || has(gb, &k.recipient));
        for k in &gb.age {
            if !has(go, &k.recipient) && !has(&group, &k.recipient) {
                group.age.push(k.clone());
            }
        }
        out.push(group);
    }
    Ok(out)
}

/// Merge theirs into ours, per key, keylessly.
pub fn merge(
    format: Format,
    base: &Version,
    ours: &Version,
    theirs: &Version,
) -> Result<Merged, Error> {
    if format == Format::Binary {
        return Err(Error::Unsupported("a binary file is one value".into()));
    }
    if !same_data_key(&ours.meta, &theirs.meta) {
        return Err(Error::DataKeyDiffers);
    }
    let settings = |m: &Metadata| (m.rule.clone(), m.mac_only_encrypted, m.shamir_threshold);
    if settings(&ours.meta) != settings(&theirs.meta) {
        return Err(Error::SettingsDiffer);
    }
    let mut meta = ours.meta.clone();
    meta.key_groups = merge_groups(&base.meta, &ours.meta, &theirs.meta)?;

    let (uo, ua, ub) = (
        units(format, &base.root)?,
        units(format, &ours.root)?,
        units(format, &theirs.root)?,
    );
    // Every unit path, ours' order first, then theirs' additions, then base-only ones.
    let mut paths: Vec<&Vec<String>> = ua.iter().map(|(p, _)| p).collect();
    for (p, _) in ub.iter().chain(&uo) {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }

    let mut replace_enc = Vec::new(); // (steps, ENC text): an existing encrypted value
    let mut replace_other = Vec::new(); // (steps, node): other in-place changes
    let mut delete = Vec::new();
    let mut insert = Vec::new(); // in theirs' order
    let mut conflicts = Vec::new();
    let mut from_theirs = 0;
    for steps in paths {
        let (o, a, b) = (find(&uo, steps), find(&ua, steps), find(&ub, steps));
        let result = if a == b || o == b {
            continue;
        } else if o == a {
            from_theirs += 1;
            b
        } else {
            conflicts.push(Conflict {
                steps: steps.clone(),
                path: printable(steps),
                in_ours: a.is_some(),
                in_theirs: b.is_some(),
            });
            // Ours deleted it, theirs changed it: show theirs' value inside the markers.
            if let (None, Some(b)) = (a, b) {
                insert.push((steps.clone(), b));
            }
            continue;
        };
        match (a, result) {
            (Some(Node::Str(old)), Some(Node::Str(new)))
                if crate::document::envelope::is_encrypted(old)
                    && crate::document::envelope::is_encrypted(new) =>
            {
                replace_enc.push((steps.clone(), new.clone()))
            }
            (Some(_), Some(new)) => replace_other.push((steps.clone(), new)),
            (Some(_), None) => delete.push(steps.clone()),
            (None, Some(new)) => insert.push((steps.clone(), new)),
            (None, None) => {}
        }
    }
    // Theirs' insertions in theirs' document order.
    insert.sort_by_key(|(steps, _)| ub.iter().position(|(p, _)| p == steps));

    // 1. Encrypted values replaced through the adapter (as encryption writes them), and the
    //    `sops` block set aside.
    let leaves = ours.doc.leaves();
    let mut edits: Vec<Option<Replacement>> = (0..leaves.len()).map(|_| None).collect();
    for (steps, enc) in replace_enc {
        let mut at = leaves
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.comment && l.path == steps);
        match (at.next(), at.next()) {
            (Some((i, _)), None) => edits[i] = Some(Replacement::Encrypted(enc)),
            _ => {
                let node = find(&ub, &steps).expect("theirs has it");
                replace_other.push((steps, node))
            }
        }
    }
    let body = ours
        .doc
        .render(&mut edits, None)
        .map_err(|source| Error::Apply {
            path: "(the whole document)".into(),
            source,
        })?;
    let mut body = String::from_utf8(body).map_err(|_| Error::Apply {
        path: "(the whole document)".into(),
        source: document::Error::NotUtf8 { offset: 0 },
    })?;

    // 2. The other changes as small text edits, each checked by the editor.
    let apply = |text: &str, steps: &[String], node: Option<&Node>| -> Result<String, Error> {
        let path = key_steps(steps);
        let err = |source| Error::Apply {
            path: printable(steps),
            source,
        };
        match node {
            Some(node) => Ok(edit::set(format, text, &path, &new_value(node))
                .map_err(err)?
                .unwrap_or_else(|| text.to_string())),
            None => edit::unset(format, text, &path).map_err(err),
        }
    };
    for (steps, node) in &replace_other {
        body = apply(&body, steps, Some(node))?;
    }
    for steps in deletion_roots(&delete, &ua, &theirs.root) {
        body = apply(&body, &steps, None)?;
    }
    for (steps, node) in &insert {
        body = apply(&body, steps, Some(node))?;
    }
    // 3. Inserted ciphertexts written as encryption writes them (the editor may quote them).
    let inserted: Vec<&str> = insert
        .iter()
        .flat_map(|(_, n)| enc_strings(n))
        .chain(replace_other.iter().flat_map(|(_, n)| enc_strings(n)))
        .collect();
    if !inserted.is_empty() {
        body = rewrite_as_encrypted(format, &body, &inserted)?;
    }
    Ok(Merged {
        body,
        meta,
        conflicts,
        from_theirs,
    })
}

/// The `ENC[...]` strings in a subtree.
fn enc_strings(node: &Node) -> Vec<&str> {
    match node {
        Node::Str(s) if crate::document::envelope::is_encrypted(s) => vec![s.as_str()],
        Node::List(items) => items.iter().flat_map(enc_strings).collect(),
        Node::Map(items) => items.iter().flat_map(|(_, v)| enc_strings(v)).collect(),
        _ => Vec::new(),
    }
}

/// In YAML the editor quotes a new `ENC[...]` string; sops writes it plain. Unquote it where it
/// is a whole block value (`key: "ENC[...]"` or `- "ENC[...]"` at the end of a line); the
/// result is checked to hold the same tree.
fn rewrite_as_encrypted(format: Format, body: &str, encs: &[&str]) -> Result<String, Error> {
    if format != Format::Yaml {
        return Ok(body.to_string());
    }
    let mut out = body.to_string();
    for enc in encs {
        for lead in [": ", "- "] {
            out = out.replace(&format!("{lead}\"{enc}\"\n"), &format!("{lead}{enc}\n"));
        }
    }
    let same = matches!(
        (tree::load(format, &out), tree::load(format, body)),
        (Ok(a), Ok(b)) if a == b
    );
    Ok(if same { out } else { body.to_string() })
}

/// The paths to remove: for each deleted unit, its highest ancestor that theirs no longer has
/// and whose units in ours are all deleted (so a mapping theirs removed goes with its key).
fn deletion_roots(
    deleted: &[Vec<String>],
    ours: &[(Vec<String>, &Node)],
    theirs: &Node,
) -> Vec<Vec<String>> {
    let mut roots: Vec<Vec<String>> = Vec::new();
    for steps in deleted {
        let mut chosen = steps.clone();
        for len in 1..steps.len() {
            let prefix = &steps[..len];
            let gone = tree::extract(theirs, &key_steps(prefix)).is_err();
            let all_deleted = ours
                .iter()
                .filter(|(p, _)| p.starts_with(prefix))
                .all(|(p, _)| deleted.contains(p));
            if gone && all_deleted {
                chosen = prefix.to_vec();
                break;
            }
        }
        if !roots.iter().any(|r| chosen.starts_with(r)) {
            roots.push(chosen);
        }
    }
    roots
}

/// Write the `sops` block back onto a merged body.
pub fn finish(format: Format, body: &str, meta: &Metadata) -> Result<String, Error> {
    let err = |source| Error::Apply {
        path: "(the sops block)".into(),
        source,
    };
    let doc = document::parse(format, body.as_bytes()).map_err(err)?;
    let mut none: Vec<Option<Replacement>> = Vec::new();
    let out = doc.render(&mut none, Some(&meta.to_meta())).map_err(err)?;
    String::from_utf8(out).map_err(|_| err(document::Error::NotUtf8 { offset: 0 }))
}

/// The lines (0-based, inclusive) holding a unit's values in `text`.
fn unit_lines(format: Format, text: &str, steps: &[String]) -> Option<(usize, usize)> {
    let doc = document::parse(format, text.as_bytes()).ok()?;
    let lines: Vec<usize> = doc
        .leaves()
        .iter()
        .filter(|l| !l.comment && l.path.starts_with(steps))
        .map(|l| l.line - 1)
        .collect();
    Some((*lines.iter().min()?, *lines.iter().max()?))
}

/// The 0-based line holding `needle` (the first one).
fn line_with(text: &str, needle: &str) -> Option<usize> {
    let at = text.find(needle)?;
    Some(text[..at].matches('\n').count())
}

fn line_range(text: &str, (first, last): (usize, usize)) -> String {
    text.split_inclusive('\n')
        .skip(first)
        .take(last - first + 1)
        .map(|l| {
            if l.ends_with('\n') {
                l.to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// A block of conflict markers to put in place of some lines.
pub struct Marked {
    /// Lines (0-based, inclusive) of the merged text the block replaces; `None`: insert before
    /// line `insert_at`.
    pub replaces: Option<(usize, usize)>,
    pub insert_at: usize,
    pub ours: String,
    pub theirs: String,
    pub ours_label: String,
    pub theirs_label: String,
}

/// The marker blocks for the conflicting keys of a merged text (ours' values, or theirs' where
/// ours deleted the key); `label` gives each side's label for a conflict.
pub fn conflict_blocks(
    format: Format,
    merged: &str,
    ours: &str,
    theirs: &str,
    conflicts: &[Conflict],
    label: impl Fn(&Conflict, bool) -> String,
) -> Vec<Marked> {
    let mut out = Vec::new();
    for c in conflicts {
        let Some(at) = unit_lines(format, merged, &c.steps) else {
            continue;
        };
        let side = |text: &str, present: bool| {
            if present {
                unit_lines(format, text, &c.steps)
                    .map(|r| line_range(text, r))
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        out.push(Marked {
            replaces: Some(at),
            insert_at: at.0,
            ours: side(ours, c.in_ours),
            theirs: side(theirs, c.in_theirs),
            ours_label: label(c, true),
            theirs_label: label(c, false),
        });
    }
    out
}

/// A marker block around the MAC line: ours' MAC against theirs', for a merge whose MAC could
/// not be recomputed.
pub fn mac_block(
    merged: &str,
    ours: &str,
    theirs: &str,
    ours_mac: &str,
    theirs_mac: &str,
    why: &str,
) -> Option<Marked> {
    let at = line_with(merged, ours_mac)?;
    let theirs_line = line_with(theirs, theirs_mac)?;
    Some(Marked {
        replaces: Some((at, at)),
        insert_at: at,
        ours: line_range(merged, (at, at)),
        theirs: line_range(theirs, (theirs_line, theirs_line)),
        ours_label: format!("ours: {why}"),
        theirs_label: "theirs".into(),
    })
    .filter(|_| !ours.is_empty())
}

/// Put the marker blocks into `text` (markers `size` characters long).
pub fn insert_markers(text: &str, mut blocks: Vec<Marked>, size: usize) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    blocks.sort_by_key(|b| b.insert_at);
    let mut out = String::with_capacity(text.len() + blocks.len() * 200);
    let mut at = 0;
    for b in blocks {
        let (start, end) = b
            .replaces
            .unwrap_or((b.insert_at, b.insert_at.wrapping_sub(1)));
        if start < at {
            continue; // overlapping blocks (nested units): keep the first
        }
        for l in &lines[at..start.min(lines.len())] {
            out.push_str(l);
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{} {}\n", "<".repeat(size), b.ours_label));
        out.push_str(&b.ours);
        out.push_str(&format!("{}\n", "=".repeat(size)));
        out.push_str(&b.theirs);
        out.push_str(&format!("{} {}\n", ">".repeat(size), b.theirs_label));
        at = end.wrapping_add(1).max(start);
    }
    for l in lines.iter().skip(at) {
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(tag: &str) -> String {
        format!("ENC[AES256_GCM,data:{tag}==,iv:AA==,tag:AA==,type:str]")
    }

    fn yaml(values: &[(&str, &str)]) -> String {
        let mut s = String::new();
        for (k, v) in values {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&format!(
            "sops:\n    age:\n        - recipient: age1abc\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            xyz\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: {}\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n",
            enc("MAC")
        ));
        s
    }

    fn v(text: &str, side: &'static str) -> Version {
        Version::parse(Format::Yaml, text.as_bytes(), side).unwrap()
    }

    #[test]
    fn different_keys_merge_and_the_same_key_conflicts() {
        let (a, b, c, d) = (enc("A"), enc("B"), enc("C"), enc("D"));
        let base = v(&yaml(&[("a", &a), ("b", &b), ("c", &c)]), "base");
        let ours = v(&yaml(&[("a", &d), ("b", &b), ("c", &c)]), "ours");
        let theirs = v(&yaml(&[("a", &a), ("b", &d), ("new", &a)]), "theirs");
        let m = merge(Format::Yaml, &base, &ours, &theirs).unwrap();
        assert!(m.conflicts.is_empty());
        assert_eq!(m.body, format!("a: {d}\nb: {d}\nnew: {a}\n"));
        assert_eq!(m.from_theirs, 3);

        let theirs = v(&yaml(&[("a", &c), ("b", &b), ("c", &c)]), "theirs");
        let m = merge(Format::Yaml, &base, &ours, &theirs).unwrap();
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].path, "a");
        let full = finish(Format::Yaml, &m.body, &m.meta).unwrap();
        let blocks = conflict_blocks(
            Format::Yaml,
            &full,
            &ours.text,
            &theirs.text,
            &m.conflicts,
            |_, o| {
                if o { "ours".into() } else { "theirs".into() }
            },
        );
        let marked = insert_markers(&full, blocks, 7);
        assert!(
            marked.starts_with(&format!(
                "<<<<<<< ours\na: {d}\n=======\na: {c}\n>>>>>>> theirs\nb: {b}\nc: {c}\nsops:\n"
            )),
            "{marked}"
        );
    }

    #[test]
    fn a_mapping_deleted_by_theirs_goes_with_its_key() {
        let (a, b) = (enc("A"), enc("B"));
        let base = v(
            &format!("db:\n    user: {a}\n    pw: {b}\nx: {a}\n{}", yaml(&[])),
            "base",
        );
        let ours = v(
            &format!("db:\n    user: {a}\n    pw: {b}\nx: {b}\n{}", yaml(&[])),
            "ours",
        );
        let theirs = v(&format!("x: {a}\n{}", yaml(&[])), "theirs");
        let m = merge(Format::Yaml, &base, &ours, &theirs).unwrap();
        assert_eq!(m.body, format!("x: {b}\n"));
    }

    #[test]
    fn a_rotated_data_key_is_refused() {
        let a = enc("A");
        let base = v(&yaml(&[("a", &a)]), "base");
        let rotated = yaml(&[("a", &a)]).replace("xyz", "zzz");
        let theirs = v(&rotated, "theirs");
        assert!(matches!(
            merge(Format::Yaml, &base, &base, &theirs),
            Err(Error::DataKeyDiffers)
        ));
    }
}
