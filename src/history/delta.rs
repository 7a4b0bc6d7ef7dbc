//! What changed between two versions of a file, without any key: key paths added, removed or
//! written again (their stored text differs), recipients added or removed, and whole-file
//! re-encryptions told apart from value changes.

use std::collections::{HashMap, HashSet};

use super::Parsed;
use crate::document::metadata::{MetaValue, Metadata};

/// How one key path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
    /// With decryption only: the value moved from another key path.
    Renamed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed => "renamed",
        }
    }

    pub fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Changed => '~',
            ChangeKind::Removed => '-',
            ChangeKind::Renamed => '>',
        }
    }
}

/// One key path's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChange {
    pub path: String,
    pub kind: ChangeKind,
    /// For `Renamed`: the old key path.
    pub from: Option<String>,
}

/// A version in which every value present on both sides was written again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    /// Same wrapped data key: values encrypted again under the same key (a round trip through
    /// another tool, or a decrypt → encrypt).
    ReEncrypted,
    /// The wrapped data key of recipients present on both sides changed too: a new data key.
    DataKeyRotated,
}

impl Bulk {
    pub fn name(self) -> &'static str {
        match self {
            Bulk::ReEncrypted => "re-encrypted",
            Bulk::DataKeyRotated => "data key rotated",
        }
    }
}

/// A recipient of a version's data key and its wrapped-key stanza.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// `age1...`, or `kms:ARN`, `pgp:FINGERPRINT`, ... for other key types.
    pub id: String,
    /// The wrapped data key as stored (compared as bytes).
    pub stanza: String,
}

/// Every recipient of a version, across its key groups, in order.
pub fn recipients(meta: &Metadata) -> Vec<Recipient> {
    group_recipients(meta).into_iter().flatten().collect()
}

/// The recipients of each key group of a version, in order.
pub fn group_recipients(meta: &Metadata) -> Vec<Vec<Recipient>> {
    let mut groups = Vec::new();
    for group in &meta.key_groups {
        let mut out = Vec::new();
        for age in &group.age {
            out.push(Recipient {
                id: age.recipient.clone(),
                stanza: age.enc.clone(),
            });
        }
        for pgp in &group.pgp {
            out.push(Recipient {
                id: format!("pgp:{}", pgp.fp),
                stanza: pgp.enc.clone(),
            });
        }
        for k in &group.kms {
            out.push(Recipient {
                id: format!("kms:{}", k.arn),
                stanza: k.enc.clone(),
            });
        }
        for v in &group.vault {
            out.push(Recipient {
                id: format!("hc_vault:{}/{}", v.vault_address, v.key_name),
                stanza: v.enc.clone(),
            });
        }
        for (kind, value) in &group.others {
            let entries: Vec<&MetaValue> = match value {
                MetaValue::List(items) => items.iter().collect(),
                other => vec![other],
            };
            for entry in entries {
                let field = |name: &str| entry.get(name).and_then(MetaValue::as_str);
                let id = [
                    "arn",
                    "fp",
                    "resource_id",
                    "key_id",
                    "vaultUrl",
                    "vault_address",
                ]
                .iter()
                .find_map(|f| field(f))
                .unwrap_or("?");
                let name = field("name").or_else(|| field("key_name"));
                let id = match name {
                    Some(n) => format!("{kind}:{id}/{n}"),
                    None => format!("{kind}:{id}"),
                };
                out.push(Recipient {
                    id,
                    stanza: field("enc").unwrap_or_default().to_string(),
                });
            }
        }
        groups.push(out);
    }
    groups
}

/// What a version changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// No earlier version to compare with (the file was created here).
    pub created: bool,
    /// Per key path, in the new version's order (removed ones after). During a bulk
    /// re-encryption only additions and removals are listed.
    pub changes: Vec<KeyChange>,
    pub bulk: Option<Bulk>,
    /// How many values a bulk re-encryption wrote again.
    pub bulk_values: usize,
    pub recipients_added: Vec<String>,
    pub recipients_removed: Vec<String>,
    /// The wrapped-key stanzas of recipients on both sides changed while values kept their
    /// ciphertext: the same data key wrapped again (e.g. `updatekeys`).
    pub rewrapped: bool,
    /// Partial-encryption settings changed.
    pub settings_changed: bool,
}

impl Delta {
    /// Compare two versions by their stored texts.
    pub fn between(old: Option<&Parsed>, new: &Parsed) -> Delta {
        let Some(old) = old else {
            return Delta {
                created: true,
                changes: new
                    .map
                    .entries
                    .iter()
                    .map(|e| KeyChange {
                        path: e.path.clone(),
                        kind: ChangeKind::Added,
                        from: None,
                    })
                    .collect(),
                recipients_added: new
                    .map
                    .metadata
                    .as_ref()
                    .map(|m| recipients(m).into_iter().map(|r| r.id).collect())
                    .unwrap_or_default(),
                ..Delta::default()
            };
        };
        let mut delta = Delta::default();
        let (old_r, new_r) = (
            old.map
                .metadata
                .as_ref()
                .map(recipients)
                .unwrap_or_default(),
            new.map
                .metadata
                .as_ref()
                .map(recipients)
                .unwrap_or_default(),
        );
        let old_ids: HashMap<&str, &str> = old_r
            .iter()
            .map(|r| (r.id.as_str(), r.stanza.as_str()))
            .collect();
        let new_ids: HashSet<&str> = new_r.iter().map(|r| r.id.as_str()).collect();
        let mut stanzas_changed = false;
        for r in &new_r {
            match old_ids.get(r.id.as_str()) {
                None => delta.recipients_added.push(r.id.clone()),
                Some(s) if *s != r.stanza => stanzas_changed = true,
                Some(_) => {}
            }
        }
        for r in &old_r {
            if !new_ids.contains(r.id.as_str()) {
                delta.recipients_removed.push(r.id.clone());
            }
        }
        delta.settings_changed = match (&old.map.metadata, &new.map.metadata) {
            (Some(a), Some(b)) => a.rule != b.rule || a.mac_only_encrypted != b.mac_only_encrypted,
            (a, b) => a.is_some() != b.is_some(),
        };

        let (mut common_enc, mut changed_enc) = (0usize, 0usize);
        // (path, kind, both sides encrypted), in the new document's order.
        let mut listed: Vec<(String, ChangeKind, bool)> = Vec::new();
        for e in &new.map.entries {
            match old.get(&e.path) {
                None => listed.push((e.path.clone(), ChangeKind::Added, false)),
                Some(before) => {
                    let both_enc = e.is_encrypted() && is_enc(before);
                    if both_enc {
                        common_enc += 1;
                    }
                    if before != e.stored {
                        if both_enc {
                            changed_enc += 1;
                        }
                        listed.push((e.path.clone(), ChangeKind::Changed, both_enc));
                    }
                }
            }
        }
        let bulk = common_enc > 0 && changed_enc == common_enc;
        if bulk && stanzas_changed {
            delta.bulk = Some(Bulk::DataKeyRotated);
        } else if bulk && common_enc >= 3 {
            // With one or two values, all of them changing is as likely an edit.
            delta.bulk = Some(Bulk::ReEncrypted);
        } else if stanzas_changed {
            delta.rewrapped = true;
        }
        if delta.bulk.is_some() {
            delta.bulk_values = changed_enc;
        }
        for (path, kind, both_enc) in listed {
            if delta.bulk.is_some() && kind == ChangeKind::Changed && both_enc {
                continue;
            }
            delta.changes.push(KeyChange {
                path,
                kind,
                from: None,
            });
        }
        for e in &old.map.entries {
            if new.get(&e.path).is_none() {
                delta.changes.push(KeyChange {
                    path: e.path.clone(),
                    kind: ChangeKind::Removed,
                    from: None,
                });
            }
        }
        delta
    }

    /// A merge's delta: what differs from every parent (a key changed on one branch only is
    /// that branch's change, not the merge's).
    pub fn intersect(mut deltas: Vec<Delta>) -> Delta {
        if deltas.len() <= 1 {
            return deltas.pop().unwrap_or_default();
        }
        let mut first = deltas.remove(0);
        for other in &deltas {
            let keys: HashSet<&str> = other.changes.iter().map(|c| c.path.as_str()).collect();
            first.changes.retain(|c| keys.contains(c.path.as_str()));
            first
                .recipients_added
                .retain(|r| other.recipients_added.contains(r));
            first
                .recipients_removed
                .retain(|r| other.recipients_removed.contains(r));
            if other.bulk.is_none() {
                first.bulk = None;
                first.bulk_values = 0;
            }
            first.rewrapped &= other.rewrapped;
            first.settings_changed &= other.settings_changed;
            first.created &= other.created;
        }
        first
    }

    /// Nothing but `mac`/`lastmodified` (or layout) changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.bulk.is_none()
            && self.recipients_added.is_empty()
            && self.recipients_removed.is_empty()
            && !self.rewrapped
            && !self.settings_changed
    }
}

fn is_enc(stored: &str) -> bool {
    crate::document::envelope::is_closed_envelope(stored)
}

/// With both versions decrypted (key path → plaintext): the exact changes, renamed keys found
/// by equal plaintexts under a new path.
pub fn decrypted_changes(
    old: Option<&[(String, String)]>,
    new: &[(String, String)],
) -> Vec<KeyChange> {
    let old = old.unwrap_or_default();
    let old_map: HashMap<&str, &str> = old.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let new_map: HashMap<&str, &str> = new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut removed: Vec<&str> = old
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !new_map.contains_key(k))
        .collect();
    let mut changes = Vec::new();
    for (k, v) in new {
        match old_map.get(k.as_str()) {
            Some(before) if before == v => {}
            Some(_) => changes.push(KeyChange {
                path: k.clone(),
                kind: ChangeKind::Changed,
                from: None,
            }),
            None => {
                // A renamed key: exactly one removed path held this plaintext.
                let mut same = removed.iter().filter(|r| old_map[**r] == v.as_str());
                match (same.next(), same.next()) {
                    (Some(from), None) if !v.is_empty() => {
                        let from = from.to_string();
                        removed.retain(|r| *r != from);
                        changes.push(KeyChange {
                            path: k.clone(),
                            kind: ChangeKind::Renamed,
                            from: Some(from),
                        });
                    }
                    _ => changes.push(KeyChange {
                        path: k.clone(),
                        kind: ChangeKind::Added,
                        from: None,
                    }),
                }
            }
        }
    }
    for r in removed {
        changes.push(KeyChange {
            path: r.to_string(),
            kind: ChangeKind::Removed,
            from: None,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Format;
    use crate::history::parse;

    fn enc(data: &str) -> String {
        format!("ENC[AES256_GCM,data:{data},iv:AA==,tag:AA==,type:str]")
    }

    fn doc(values: &[(&str, &str)], stanza: &str, recipients: &[&str]) -> String {
        let mut s = String::new();
        for (k, v) in values {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str("sops:\n    age:\n");
        for r in recipients {
            s.push_str(&format!(
                "        - recipient: {r}\n          enc: {stanza}-{r}\n"
            ));
        }
        s.push_str("    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: x\n    version: 3.11.0\n");
        s
    }

    fn delta(a: &str, b: &str) -> Delta {
        let a = parse(Format::Yaml, a.as_bytes()).unwrap();
        let b = parse(Format::Yaml, b.as_bytes()).unwrap();
        Delta::between(Some(&a), &b)
    }

    #[test]
    fn single_value_changes_are_listed() {
        let a = doc(&[("a", &enc("AA==")), ("b", &enc("AQ=="))], "s", &["r1"]);
        let b = doc(
            &[("a", &enc("Ag==")), ("b", &enc("AQ==")), ("c", "1")],
            "s",
            &["r1"],
        );
        let d = delta(&a, &b);
        let got: Vec<(&str, ChangeKind)> = d
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect();
        assert_eq!(got, [("a", ChangeKind::Changed), ("c", ChangeKind::Added)]);
        assert_eq!(d.bulk, None);
    }

    #[test]
    fn whole_file_reencryption_and_rotation_are_labelled() {
        let a = doc(
            &[
                ("a", &enc("AA==")),
                ("b", &enc("AQ==")),
                ("c", &enc("BQ==")),
            ],
            "s",
            &["r1", "r2"],
        );
        let same_key = doc(
            &[
                ("a", &enc("Ag==")),
                ("b", &enc("Aw==")),
                ("c", &enc("Bg==")),
            ],
            "s",
            &["r1", "r2"],
        );
        let d = delta(&a, &same_key);
        assert_eq!(d.bulk, Some(Bulk::ReEncrypted));
        assert!(d.changes.is_empty());
        assert_eq!(d.bulk_values, 3);

        let rotated = doc(
            &[
                ("a", &enc("Ag==")),
                ("b", &enc("Aw==")),
                ("c", &enc("Bg==")),
            ],
            "t",
            &["r1"],
        );
        let d = delta(&a, &rotated);
        assert_eq!(d.bulk, Some(Bulk::DataKeyRotated));
        assert_eq!(d.recipients_removed, ["r2"]);

        let rewrapped = doc(
            &[
                ("a", &enc("AA==")),
                ("b", &enc("AQ==")),
                ("c", &enc("BQ==")),
            ],
            "t",
            &["r1", "r2"],
        );
        let d = delta(&a, &rewrapped);
        assert!(d.rewrapped && d.bulk.is_none() && d.changes.is_empty());
    }

    #[test]
    fn merges_report_only_what_no_parent_has() {
        let base = doc(&[("a", &enc("AA==")), ("b", &enc("AQ=="))], "s", &["r1"]);
        let ours = doc(&[("a", &enc("Ag==")), ("b", &enc("AQ=="))], "s", &["r1"]);
        let theirs = doc(&[("a", &enc("AA==")), ("b", &enc("Aw=="))], "s", &["r1"]);
        let merged = doc(&[("a", &enc("Ag==")), ("b", &enc("Aw=="))], "s", &["r1"]);
        let d = Delta::intersect(vec![delta(&ours, &merged), delta(&theirs, &merged)]);
        assert!(d.is_empty(), "{d:?}");
        let resolved = doc(&[("a", &enc("BA==")), ("b", &enc("Aw=="))], "s", &["r1"]);
        let d = Delta::intersect(vec![delta(&ours, &resolved), delta(&theirs, &resolved)]);
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].path, "a");
        // Against the base, both branch changes are ordinary changes.
        assert_eq!(delta(&base, &merged).changes.len(), 2);
    }

    #[test]
    fn decrypted_changes_find_renames() {
        let old = vec![("a".to_string(), "x".to_string()), ("b".into(), "y".into())];
        let new = vec![("a".to_string(), "x".to_string()), ("c".into(), "y".into())];
        let c = decrypted_changes(Some(&old), &new);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].kind, ChangeKind::Renamed);
        assert_eq!(c[0].from.as_deref(), Some("b"));
    }
}
