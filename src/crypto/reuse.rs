//! Re-encryption against a previous version of a file: every value whose plaintext and type are
//! unchanged keeps its exact `ENC[...]` string; every new or changed value gets a fresh random IV.
//!
//! sops keeps unchanged ciphertexts by re-using the IV of an equal (plaintext, path) pair, which
//! makes equal values under one key path encrypt identically (an equality leak). Here an old
//! ciphertext is only ever carried over to the one leaf it is matched to (same key path, same
//! position among the leaves with that path), and never to two leaves, so no two values of a
//! file we write share a ciphertext.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::{
    DataKey, Error, ValueCipher, aad, canonical, decrypt_leaves, plaintext_mac, rule_of, seal_mac,
    verify_mac,
};
use crate::document::metadata::Metadata;
use crate::document::{Document, Format, Leaf, Replacement, Value};

/// How a re-encryption went: the file's new bytes and how many values kept their ciphertext.
pub struct Reencrypted {
    pub bytes: Vec<u8>,
    /// Values whose `ENC[...]` string was carried over.
    pub kept: usize,
    /// Values encrypted afresh (new or changed).
    pub fresh: usize,
}

/// Encrypt the plaintext document `new` with the data key and settings of the encrypted document
/// `old` (whose metadata is `meta`), carrying over the ciphertext of every unchanged value.
///
/// The old file's MAC is checked first. The result has a new `lastmodified` and MAC; callers that
/// want an unchanged file left byte for byte as it was check for "no change" before calling this.
pub fn reencrypt_document(
    new: &dyn Document,
    old: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
) -> Result<Reencrypted, Error> {
    let cipher = ValueCipher::new(key);
    let rule = rule_of(meta, old.format())?;
    let mac_only = meta.mac_only_encrypted && old.format() != Format::Binary;
    let previous = decrypt_leaves(old.leaves(), &cipher, &rule, mac_only)?;
    verify_mac(&cipher, meta, &previous.mac)?;

    // The old encrypted values, by key path, in walk order.
    let mut by_path: HashMap<&[String], Vec<usize>> = HashMap::new();
    for (i, leaf) in old.leaves().iter().enumerate() {
        if !leaf.comment {
            by_path.entry(&leaf.path).or_default().push(i);
        }
    }
    let mut seen: HashMap<&[String], usize> = HashMap::new();
    let mut used: HashSet<&str> = HashSet::new();
    let leaves = new.leaves();
    // For each new leaf: the old ciphertext it keeps, if any.
    let mut carried: Vec<Option<&str>> = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        if leaf.comment {
            carried.push(None);
            continue;
        }
        let nth = seen.entry(&leaf.path).or_insert(0);
        let old_index = by_path.get(leaf.path.as_slice()).and_then(|v| v.get(*nth));
        *nth += 1;
        let keep = old_index.and_then(|&j| {
            let Some(Replacement::Decrypted(plain)) = &previous.edits[j] else {
                return None;
            };
            let Value::Str(enc) = &old.leaves()[j].value else {
                return None;
            };
            let (bytes, kind) = canonical(&leaf.value)?;
            let text = leaf
                .spelling
                .as_deref()
                .map(str::as_bytes)
                .unwrap_or(&bytes);
            (rule.encrypts(&leaf.path) == Some(true)
                && plain.kind == kind
                && plain.bytes.as_slice() == text)
                .then_some(enc.as_str())
        });
        // A ciphertext is carried to one leaf at most (an old file written by sops may hold
        // the same ciphertext twice).
        carried.push(keep.filter(|enc| used.insert(enc)));
    }
    let mac = plaintext_mac(leaves, &rule, mac_only)?;
    let lastmodified = crate::time::now_rfc3339();
    let mut metadata = meta.clone();
    metadata.mac = seal_mac(&cipher, &mac, &lastmodified)?;
    metadata.lastmodified = lastmodified;
    let mut edits: Vec<Option<Replacement>> = leaves
        .par_iter()
        .zip(carried.par_iter())
        .map(|(leaf, keep)| match keep {
            Some(enc) => Some(Replacement::Encrypted((*enc).to_string())),
            None => encrypt_fresh(leaf, &cipher, &rule),
        })
        .collect();
    let kept = carried.iter().filter(|c| c.is_some()).count();
    let fresh = edits.iter().filter(|e| e.is_some()).count() - kept;
    let bytes = new.render(&mut edits, Some(&metadata.to_meta()))?;
    Ok(Reencrypted { bytes, kept, fresh })
}

fn encrypt_fresh(leaf: &Leaf, cipher: &ValueCipher, rule: &super::Rule) -> Option<Replacement> {
    if leaf.comment || rule.encrypts(&leaf.path) != Some(true) {
        return None;
    }
    let (bytes, kind) = canonical(&leaf.value)?;
    let text = leaf
        .spelling
        .as_deref()
        .map(str::as_bytes)
        .unwrap_or(&bytes);
    Some(Replacement::Encrypted(cipher.encrypt(
        text,
        &aad(&leaf.path),
        kind,
    )))
}
