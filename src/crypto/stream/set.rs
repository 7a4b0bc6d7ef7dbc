//! `set` of one existing encrypted string in a line-shaped YAML or JSON file, without a tree:
//! every value is decrypted (in parallel) only to hash it for the MAC, the target's `ENC[...]`
//! text is replaced (fresh IV), and the metadata gets the new MAC and `lastmodified`; every
//! other byte of the file is copied. Every function answers `None` when the case does not apply
//! or anything fails; callers then run the general path.

use std::ops::Range;
use std::sync::Mutex;

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{push_aad, supported};
use crate::crypto::{
    DataKey, Rule, ValueCipher, canonical, canonical_plaintext_of, mac, rule_of, seal_mac,
    verify_mac,
};
use crate::document::json::lines::{self as json_lines, JsonLines};
use crate::document::metadata::Metadata;
use crate::document::yaml::lines::{self as yaml_lines, Site, Style, Typed, YamlLines};
use crate::document::{Format, MetaValue, Value, ValueType};

/// The metadata at the end of an encrypted file held in memory.
pub struct Tail {
    /// The metadata, as the full reader reads it.
    pub meta: MetaValue,
    /// Where the line of the top-level `sops` key starts.
    offset: usize,
    format: Format,
}

/// Find the metadata at the end of `text` (a YAML `sops:` block, or a JSON `"sops"` member on
/// lines of its own). None when it is not there or `format` has no line-shaped reader.
pub fn tail_of(text: &str, format: Format) -> Option<Tail> {
    let offset = match format {
        Format::Yaml => match text.rfind("\nsops:") {
            Some(i) => i + 1,
            None if text.starts_with("sops:") => 0,
            None => return None,
        },
        Format::Json => {
            let mut end = text.len();
            loop {
                let i = text[..end].rfind("\"sops\"")?;
                let line = text[..i].rfind('\n')? + 1;
                if text[line..i].bytes().all(|b| b == b' ' || b == b'\t') {
                    break line;
                }
                end = i;
            }
        }
        _ => return None,
    };
    let meta = match format {
        Format::Yaml => yaml_lines::metadata_tail(&text[offset..])?.0,
        _ => json_lines::metadata_tail(&text[offset..])?.0,
    };
    Some(Tail {
        meta,
        offset,
        format,
    })
}

/// What `set` comes to.
pub enum Set<'a> {
    /// The value is already the new one (the MAC verified): nothing to write.
    Unchanged,
    /// The new file.
    Changed(Rewrite<'a>),
}

/// A value of the file: where it is, how it is written (YAML), its AAD, whether it is encrypted.
struct Item {
    range: Range<usize>,
    style: Option<Style>,
    aad: Range<usize>,
    encrypted: bool,
}

/// Set the encrypted string at `target` (a key path naming one mapping value, not a list) to
/// `new` in `text`, an encrypted line-shaped file whose metadata `tail_of` found. The old MAC is
/// verified first; `lastmodified` is the new timestamp.
pub fn set_string<'a>(
    text: &'a str,
    tail: &Tail,
    meta: &Metadata,
    key: &DataKey,
    target: &[String],
    new: &str,
    lastmodified: &str,
) -> Option<Set<'a>> {
    let format = tail.format;
    let rule = rule_of(meta, format).ok()?;
    if !supported(&rule) || new.is_empty() || rule.encrypts(target) != Some(true) {
        return None;
    }
    let body = &text[..tail.offset];
    let cipher = ValueCipher::new(key);
    let mac_only = meta.mac_only_encrypted;
    let done = Mutex::new(Vec::new());
    // The lines are read on one thread while batches already read are decrypted on the others.
    let read = rayon::scope(|scope| {
        let mut values = Values {
            scope,
            done: &done,
            cipher: &cipher,
            text,
            mac_only,
            target,
            batch: Batch::default(),
            sent: 0,
            batches: 0,
            found: None,
        };
        read_lines(body, format, &rule, &mut values).map(|read| (read, values.found, values.sent))
    });
    let (read, (target_index, target_item, target_aad), sent) = match read {
        Some((read, Some(found), sent)) => (read, found, sent),
        _ => return None,
    };
    let mut batches = done.into_inner().ok()?;
    batches.sort_by_key(|(k, _)| *k);
    let hashed: Vec<Option<Hashed>> = batches.into_iter().flat_map(|(_, h)| h).collect();
    if hashed.len() != sent {
        return None;
    }
    let mut hashed = hashed.into_iter().collect::<Option<Vec<Hashed>>>()?;
    // Only an encrypted string is replaced here.
    let old = match &mut hashed[target_index] {
        (bytes, Some(ValueType::Str)) => bytes.take()?,
        _ => return None,
    };
    let unchanged = old[..] == *new.as_bytes();
    // The old MAC (to verify) and the new one, side by side.
    let mac_of = |target: &[u8]| {
        let mut hasher = mac::MacHasher::new(mac_only);
        for (i, (bytes, _)) in hashed.iter().enumerate() {
            if i == target_index {
                hasher.update(target);
            } else if let Some(bytes) = bytes {
                hasher.update(bytes);
            }
        }
        hasher.finish()
    };
    let (old_mac, new_mac) = rayon::join(|| mac_of(&old), || mac_of(new.as_bytes()));
    verify_mac(&cipher, meta, &old_mac).ok()?;
    if unchanged {
        return Some(Set::Unchanged);
    }
    let sealed = seal_mac(&cipher, &new_mac, lastmodified).ok()?;
    let new_meta = Metadata {
        lastmodified: lastmodified.to_string(),
        mac: sealed,
        ..meta.clone()
    }
    .to_meta();
    let tail_text = &text[tail.offset..];
    let new_tail = match format {
        Format::Yaml => yaml_lines::replace_metadata(tail_text, read.step, &new_meta)?,
        _ => json_lines::replace_metadata(tail_text, read.indent.as_deref()?, &new_meta)?,
    };
    let item = &target_item;
    let enc = cipher.encrypt(new.as_bytes(), &target_aad, ValueType::Str);
    let enc_text = match item.style {
        Some(style) => yaml_lines::encrypted_text(style, &enc).into_owned(),
        None => format!("\"{enc}\""),
    };
    Some(Set::Changed(Rewrite {
        before: &text[..item.range.start],
        value: enc_text,
        after: &body[item.range.end..],
        tail: new_tail,
    }))
}

/// Values read and not yet sent for decryption, with their AADs.
#[derive(Default)]
struct Batch {
    items: Vec<Item>,
    aads: Vec<u8>,
}

/// Values per batch sent for decryption while the lines are read.
const BATCH: usize = 4096;

/// The decrypted batches: their number and each value's MAC bytes (None: something failed).
type Done = Mutex<Vec<(usize, Vec<Option<Hashed>>)>>;

/// Where the values of the file go as they are read: batches sent for decryption, and the target.
struct Values<'s, 'scope> {
    scope: &'s rayon::Scope<'scope>,
    done: &'scope Done,
    cipher: &'scope ValueCipher,
    text: &'scope str,
    mac_only: bool,
    target: &'s [String],
    batch: Batch,
    /// Values sent so far, and batches.
    sent: usize,
    batches: usize,
    /// The target: its index among all values, the value, and its AAD.
    found: Option<(usize, Item, Vec<u8>)>,
}

impl Values<'_, '_> {
    /// A value at `range` of the text with key path `path`; false when the target is a list
    /// item or appears twice (the tree path then decides).
    fn push(
        &mut self,
        range: Range<usize>,
        style: Option<Style>,
        path: &[String],
        list: bool,
        encrypted: bool,
    ) -> bool {
        let aad = push_aad(&mut self.batch.aads, path);
        let item = Item {
            range,
            style,
            aad,
            encrypted,
        };
        if path == self.target {
            if list || self.found.is_some() {
                return false;
            }
            let aad = self.batch.aads[item.aad.clone()].to_vec();
            let copy = Item {
                range: item.range.clone(),
                style,
                aad: 0..aad.len(),
                encrypted,
            };
            self.found = Some((self.sent + self.batch.items.len(), copy, aad));
        }
        self.batch.items.push(item);
        if self.batch.items.len() >= BATCH {
            self.send();
        }
        true
    }

    /// Send the batch for decryption.
    fn send(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.sent += batch.items.len();
        let number = self.batches;
        self.batches += 1;
        let (done, cipher, text, mac_only) = (self.done, self.cipher, self.text, self.mac_only);
        self.scope.spawn(move |_| {
            let hashed = batch
                .items
                .par_iter()
                .map(|item| hash_item(text, item, &batch.aads, cipher, mac_only))
                .collect();
            if let Ok(mut done) = done.lock() {
                done.push((number, hashed));
            }
        });
    }
}

/// What reading the lines found besides the values: the metadata's indentation.
struct Read {
    indent: Option<String>,
    step: Option<usize>,
}

/// Read the lines of `body` (the file before its metadata), handing the values to `values`.
fn read_lines(
    body: &str,
    format: Format,
    rule: &Rule,
    values: &mut Values<'_, '_>,
) -> Option<Read> {
    let mut at = 0;
    let read = match format {
        Format::Yaml => {
            let mut reader = YamlLines::new();
            for line in body.split_inclusive('\n') {
                let start = at;
                at += line.len();
                let line = line.strip_suffix('\n').unwrap_or(line);
                match reader.line(line).ok()? {
                    yaml_lines::Line::Verbatim => {}
                    yaml_lines::Line::Meta => return None,
                    yaml_lines::Line::Value(site) => {
                        let range = start + site.range.start..start + site.range.end;
                        let path = reader.path();
                        let encrypted = rule.encrypts(path) == Some(true);
                        if !values.push(range, Some(site.style), path, reader.in_list(), encrypted)
                        {
                            return None;
                        }
                    }
                }
            }
            // The `sops:` line itself, so the reader has seen every top-level key.
            if reader.line("sops:").ok()? != yaml_lines::Line::Meta {
                return None;
            }
            Read {
                indent: None,
                step: reader.step(),
            }
        }
        _ => {
            let mut reader = JsonLines::new();
            for line in body.split_inclusive('\n') {
                let start = at;
                at += line.len();
                let line = line.strip_suffix('\n').unwrap_or(line);
                match reader.line(line).ok()? {
                    json_lines::Line::Verbatim => {}
                    json_lines::Line::Meta => return None,
                    json_lines::Line::Value(range) => {
                        let range = start + range.start..start + range.end;
                        let path = reader.path();
                        let encrypted = rule.encrypts(path) == Some(true);
                        if !values.push(range, None, path, reader.in_array(), encrypted) {
                            return None;
                        }
                    }
                }
            }
            if reader.line("  \"sops\": {").ok()? != json_lines::Line::Meta || reader.depth() != 1 {
                return None;
            }
            Read {
                indent: Some(reader.first_indent()?.to_string()),
                step: None,
            }
        }
    };
    if !values.batch.items.is_empty() {
        values.send();
    }
    Some(read)
}

/// The new file: the old one with the target's text and the metadata replaced.
pub struct Rewrite<'a> {
    before: &'a str,
    value: String,
    after: &'a str,
    tail: String,
}

impl Rewrite<'_> {
    /// Write the new file to `out`.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for part in [self.before, &self.value, self.after, &self.tail] {
            out.write_all(part.as_bytes())?;
        }
        Ok(())
    }
}

/// A value's MAC bytes (None: not hashed) and, when it was decrypted, its type.
type Hashed = (Option<Zeroizing<Vec<u8>>>, Option<ValueType>);

fn hash_item(
    text: &str,
    item: &Item,
    aads: &[u8],
    cipher: &ValueCipher,
    mac_only: bool,
) -> Option<Hashed> {
    let value = match item.style {
        Some(style) => match yaml_lines::typed(
            text,
            &Site {
                range: item.range.clone(),
                style,
            },
        )
        .ok()?
        {
            Typed::Str(s) => Value::Str(s.into_owned()),
            Typed::Other(v, _) => v,
        },
        None => json_lines::scalar(&text[item.range.clone()]).ok()?.1.0,
    };
    let owned = |c: crate::crypto::Canonical<'_>| Zeroizing::new(c.to_vec());
    if !item.encrypted {
        if mac_only {
            return Some((None, None));
        }
        return Some((canonical(&value).map(|(c, _)| owned(c)), None));
    }
    let enc = match &value {
        Value::Null => return Some((None, None)),
        Value::Str(s) if s.is_empty() => return Some((None, None)),
        Value::Str(s)
            if crate::document::envelope::claims_encryption(s)
                && !(item.style.is_some() && s.ends_with(",type:comment]")) =>
        {
            s
        }
        _ => return None,
    };
    let plain = cipher.decrypt(enc, &aads[item.aad.clone()]).ok()?;
    let bytes = owned(canonical_plaintext_of(&plain)?);
    Some((Some(bytes), Some(plain.kind)))
}

#[cfg(test)]
mod tests {
    //! Differential tests: where the streamed `set` applies, its file equals the one the tree
    //! path writes (the same text once the random `ENC[...]` fields are masked, the same
    //! plaintext, a MAC that verifies), given the same timestamp.

    use std::path::PathBuf;

    use proptest::prelude::*;

    use super::*;
    use crate::crypto::{
        EncryptOptions, LazyEncryption, Rule, aad, decrypt_with_key, decrypted_mac, keys,
        new_metadata, plaintext_mac,
    };
    use crate::document::{Document, Plaintext, Replacement};

    const WHEN: &str = "2030-01-02T03:04:05Z";

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn identities() -> keys::age::Identities {
        let mut ids = keys::age::Identities::default();
        for name in ["test-key.txt", "group1.txt", "group2.txt", "group3.txt"] {
            let text = std::fs::read_to_string(root().join("fixtures/keys").join(name)).unwrap();
            ids.add_keys_file(&text, name).unwrap();
        }
        ids
    }

    fn parse(format: Format, text: &str) -> Option<Box<dyn Document>> {
        crate::document::parse(format, text.as_bytes()).ok()
    }

    /// Encrypt a plaintext document with the full path.
    fn encrypt(format: Format, text: &str, key: &DataKey, mac_only: bool) -> Option<String> {
        let doc = parse(format, text)?;
        if doc.metadata().is_some() {
            return None;
        }
        let recipient = std::fs::read_to_string(root().join("fixtures/keys/test-key.txt"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .trim()
            .to_string();
        let options = EncryptOptions {
            key_groups: vec![vec![recipient]],
            shamir_threshold: 0,
            rule: Rule::default(),
            mac_only_encrypted: mac_only,
        };
        let mac = plaintext_mac(doc.leaves(), &options.rule, mac_only).ok()?;
        let (cipher, metadata) =
            new_metadata(key, &options, &options.rule, mac_only, &mac).unwrap();
        let mut edits = LazyEncryption::new(doc.leaves(), &cipher, &options.rule);
        String::from_utf8(doc.render(&mut edits, Some(&metadata.to_meta())).ok()?).ok()
    }

    /// `set` through the tree, as `secrets set` does it without the streamed path.
    fn tree_set(
        format: Format,
        enc: &str,
        key: &DataKey,
        target: &[String],
        new: &str,
    ) -> Option<Vec<u8>> {
        let doc = parse(format, enc).unwrap();
        let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
        let index = doc
            .leaves()
            .iter()
            .position(|l| !l.comment && l.path == target)
            .unwrap();
        let mut decrypted = decrypt_with_key(doc.as_ref(), &meta, key, true).unwrap();
        match &decrypted.edits[index] {
            Some(Replacement::Decrypted(p)) if p.kind == ValueType::Str => {
                if p.bytes[..] == *new.as_bytes() {
                    return None;
                }
            }
            _ => panic!("the streamed path set a value that is not an encrypted string"),
        }
        decrypted.edits[index] = Some(Replacement::Decrypted(Plaintext {
            kind: ValueType::Str,
            bytes: Zeroizing::new(new.as_bytes().to_vec()),
        }));
        let mac = decrypted_mac(doc.leaves(), &decrypted.edits, meta.mac_only_encrypted).unwrap();
        let cipher = ValueCipher::new(key);
        let meta = Metadata {
            lastmodified: WHEN.into(),
            mac: seal_mac(&cipher, &mac, WHEN).unwrap(),
            ..meta
        };
        let mut edits: Vec<Option<Replacement>> = (0..doc.leaves().len()).map(|_| None).collect();
        edits[index] = Some(Replacement::Encrypted(cipher.encrypt(
            new.as_bytes(),
            &aad(target),
            ValueType::Str,
        )));
        Some(doc.render(&mut edits, Some(&meta.to_meta())).unwrap())
    }

    fn mask(s: &[u8]) -> String {
        regex::Regex::new(r"ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:")
            .unwrap()
            .replace_all(&String::from_utf8_lossy(s), "ENC[masked,type:")
            .into_owned()
    }

    fn plaintext(format: Format, enc: &[u8], key: &DataKey) -> Vec<u8> {
        let doc = crate::document::parse(format, enc).unwrap();
        let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
        let mut d = decrypt_with_key(doc.as_ref(), &meta, key, true).expect("the MAC verifies");
        doc.render(&mut d.edits, None).unwrap()
    }

    /// Set `target` to `new` both ways; false when the streamed path declines.
    fn differential(
        format: Format,
        enc: &str,
        key: &DataKey,
        target: &[String],
        new: &str,
    ) -> bool {
        let Some(tail) = tail_of(enc, format) else {
            return false;
        };
        let meta = Metadata::from_meta(&tail.meta).unwrap();
        let Some(fast) = set_string(enc, &tail, &meta, key, target, new, WHEN) else {
            return false;
        };
        match (fast, tree_set(format, enc, key, target, new)) {
            (Set::Unchanged, None) => {}
            (Set::Changed(rewrite), Some(full)) => {
                let mut fast = Vec::new();
                rewrite.write_to(&mut fast).unwrap();
                assert_eq!(mask(&fast), mask(&full), "{target:?} in {enc}");
                assert_eq!(plaintext(format, &fast, key), plaintext(format, &full, key));
            }
            _ => panic!("{target:?} in {enc}: one path changed the file, the other did not"),
        }
        true
    }

    /// Try every leaf of `enc` as the target, with a new value and with its current one.
    fn every_leaf(format: Format, enc: &str, key: &DataKey) -> usize {
        let doc = parse(format, enc).unwrap();
        let mut taken = 0;
        for leaf in doc.leaves() {
            for new in ["new value: 'x' \"y\" é", "value-42"] {
                taken += usize::from(differential(format, enc, key, &leaf.path, new));
            }
        }
        let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
        let mut d = decrypt_with_key(doc.as_ref(), &meta, key, true).unwrap();
        for (leaf, edit) in doc.leaves().iter().zip(&mut d.edits) {
            if let Some(Replacement::Decrypted(p)) = edit.take()
                && let Ok(current) = std::str::from_utf8(&p.bytes)
            {
                taken += usize::from(differential(format, enc, key, &leaf.path, current));
            }
        }
        taken
    }

    #[test]
    fn files_sops_wrote_and_fixtures_match_the_tree_path() {
        let mut taken = 0;
        for entry in std::fs::read_dir(root().join("fixtures/sops")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().to_string();
            let format = if name.ends_with(".sops.yaml") {
                Format::Yaml
            } else if name.ends_with(".sops.json") {
                Format::Json
            } else {
                continue;
            };
            let enc = std::fs::read_to_string(&path).unwrap();
            let doc = parse(format, &enc).unwrap();
            let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
            let key = keys::recover_data_key(&meta, &identities()).unwrap();
            taken += every_leaf(format, &enc, &key);
        }
        for dir in ["fixtures/corpus", "fixtures/examples"] {
            for entry in std::fs::read_dir(root().join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let format = match path.extension().and_then(|e| e.to_str()) {
                    Some("yaml" | "yml") => Format::Yaml,
                    Some("json") => Format::Json,
                    _ => continue,
                };
                let key = DataKey::generate();
                let text = std::fs::read_to_string(&path).unwrap();
                if let Some(enc) = encrypt(format, &text, &key, false) {
                    taken += every_leaf(format, &enc, &key);
                }
            }
        }
        assert!(taken >= 20, "the streamed set took {taken} cases");
    }

    #[test]
    fn values_in_later_batches_match_the_tree_path() {
        let n = 2 * BATCH + 100;
        let mut yaml = String::from("# generated\n");
        let mut json = String::from("{\n");
        for i in 0..n {
            if i % 100 == 0 {
                yaml.push_str(&format!("s{:04}:\n", i / 100));
                if i > 0 {
                    json.push_str("  },\n");
                }
                json.push_str(&format!("  \"s{:04}\": {{\n", i / 100));
            }
            yaml.push_str(&format!("  k{i}: value-{i}\n"));
            let comma = if i % 100 == 99 || i + 1 == n { "" } else { "," };
            json.push_str(&format!("    \"k{i}\": \"value-{i}\"{comma}\n"));
        }
        json.push_str("  }\n}\n");
        let key = DataKey::generate();
        for (format, text) in [(Format::Yaml, yaml), (Format::Json, json)] {
            let enc = encrypt(format, &text, &key, false).unwrap();
            for i in [0, BATCH - 1, BATCH, n - 1] {
                let target = [format!("s{:04}", i / 100), format!("k{i}")];
                assert!(differential(format, &enc, &key, &target, "new"), "{i}");
                assert!(differential(
                    format,
                    &enc,
                    &key,
                    &target,
                    &format!("value-{i}")
                ));
            }
        }
    }

    #[test]
    fn lists_missing_keys_and_plaintext_values_are_declined() {
        let key = DataKey::generate();
        let enc = encrypt(
            Format::Yaml,
            "a: x\nl:\n- p\nb_unencrypted: y\n",
            &key,
            false,
        )
        .unwrap();
        let p = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(differential(Format::Yaml, &enc, &key, &p(&["a"]), "z"));
        for target in [p(&["l"]), p(&["missing"]), p(&["b_unencrypted"]), p(&[])] {
            assert!(
                !differential(Format::Yaml, &enc, &key, &target, "z"),
                "{target:?}"
            );
        }
        let enc = encrypt(
            Format::Json,
            "{\n  \"a\": 1,\n  \"l\": [\n    \"p\"\n  ],\n  \"s\": \"x\"\n}\n",
            &key,
            false,
        )
        .unwrap();
        assert!(differential(Format::Json, &enc, &key, &p(&["s"]), "z"));
        for target in [p(&["l"]), p(&["a"]), p(&["missing"])] {
            assert!(
                !differential(Format::Json, &enc, &key, &target, "z"),
                "{target:?}"
            );
        }
        // A tampered MAC: the tree path reports it.
        let tampered = regex::Regex::new(r#""lastmodified": "[^"]*""#)
            .unwrap()
            .replace(&enc, r#""lastmodified": "2001-01-01T00:00:00Z""#)
            .into_owned();
        assert_ne!(tampered, enc);
        let tail = tail_of(&tampered, Format::Json).unwrap();
        let meta = Metadata::from_meta(&tail.meta).unwrap();
        assert!(set_string(&tampered, &tail, &meta, &key, &p(&["s"]), "z", WHEN).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn generated_yaml_matches_the_tree_path(
            text in crate::crypto::stream::tests::document(),
            mac_only in any::<bool>(),
        ) {
            let key = DataKey::generate();
            if let Some(enc) = encrypt(Format::Yaml, &text, &key, mac_only) {
                every_leaf(Format::Yaml, &enc, &key);
            }
        }

        #[test]
        fn generated_json_matches_the_tree_path(
            text in crate::crypto::stream::json::tests::document(),
            mac_only in any::<bool>(),
        ) {
            let key = DataKey::generate();
            if let Some(enc) = encrypt(Format::Json, &text, &key, mac_only) {
                every_leaf(Format::Json, &enc, &key);
            }
        }
    }
}
