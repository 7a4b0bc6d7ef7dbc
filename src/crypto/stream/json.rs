//! The streaming fast path for line-shaped (pretty-printed) JSON decryption (see
//! [`crate::document::json::lines`]): the `sops` member is read from the end of the file, the
//! file is streamed a batch at a time, values are decrypted in parallel, and the plaintext is
//! held in zeroized pieces until the MAC is verified. Every function answers `None` when the
//! input is not of that shape or anything fails; callers then run the full path.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use zeroize::Zeroizing;

use super::{Batched, Decided, decrypt_batches, push_aad, supported};
use crate::crypto::{
    DataKey, ValueCipher, canonical, canonical_plaintext_of, mac, rule_of, verify_mac,
};
use crate::document::json::lines::{self, JsonLines, Line};
use crate::document::metadata::Metadata;
use crate::document::{Format, MetaValue, Value};

/// A value to decrypt: its range in the batch's text and its AAD in the batch's AAD buffer.
struct Item {
    range: Range<usize>,
    aad: Range<usize>,
    encrypted: bool,
}

/// An encrypted line-shaped JSON file, its metadata read from its end.
pub struct JsonSource {
    file: std::fs::File,
    /// The metadata, as the full reader reads it.
    pub meta: MetaValue,
    /// Where the line of the top-level `"sops"` member starts.
    meta_offset: u64,
    /// What stays of the file after that member once it is removed (the closing `}`, ...).
    rest: String,
}

/// Open an encrypted JSON file for streaming decryption: find its `sops` member at its end.
/// None when it is not a regular file or does not end with that member on lines of its own.
pub fn open_json(path: &std::path::Path) -> Option<JsonSource> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok().filter(|m| m.is_file())?.len();
    let mut window: u64 = 1 << 16;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut tail = Vec::with_capacity((len - start) as usize);
        (&mut file).take(len - start).read_to_end(&mut tail).ok()?;
        // The last `"sops"` at the start of a line (after its indentation).
        let found = tail
            .windows(6)
            .enumerate()
            .rev()
            .filter(|(_, w)| *w == b"\"sops\"")
            .find_map(|(i, _)| {
                let line = tail[..i].iter().rposition(|&b| b == b'\n')? + 1;
                tail[line..i]
                    .iter()
                    .all(|&b| b == b' ' || b == b'\t')
                    .then_some(line)
            });
        match found {
            Some(i) => {
                let text = std::str::from_utf8(&tail[i..]).ok()?;
                let (meta, rest) = lines::metadata_tail(text)?;
                file.seek(SeekFrom::Start(0)).ok()?;
                return Some(JsonSource {
                    file,
                    meta,
                    meta_offset: start + i as u64,
                    rest,
                });
            }
            None if start == 0 || window >= 1 << 24 => return None,
            None => window *= 4,
        }
    }
}

/// Decrypt a line-shaped JSON file with its data key, checking the MAC unless told not to. The
/// plaintext comes back in pieces (to be written in order) only once the MAC is verified. None
/// when the file is not line-shaped or anything fails (the full path then says why).
pub fn decrypt_json(
    source: JsonSource,
    meta: &Metadata,
    key: &DataKey,
    check_mac: bool,
) -> Option<Vec<Zeroizing<Vec<u8>>>> {
    let cipher = ValueCipher::new(key);
    let rule = rule_of(meta, Format::Json).ok()?;
    if !supported(&rule) {
        return None;
    }
    let mac_only = meta.mac_only_encrypted;
    let mut reader = JsonLines::new();
    let mut hasher = mac::MacHasher::new(mac_only);
    let classify = |line: &str, start: usize, aads: &mut Vec<u8>| {
        Some(match reader.line(line).ok()? {
            Line::Verbatim => Batched::Verbatim,
            // `"sops"` must be a member of the top-level object.
            Line::Meta if reader.depth() != 1 => return None,
            Line::Meta => Batched::Meta,
            Line::Value(range) => {
                let encrypted = rule.encrypts(reader.path()) == Some(true);
                let aad = push_aad(aads, reader.path());
                Batched::Value(Item {
                    range: start + range.start..start + range.end,
                    aad,
                    encrypted,
                })
            }
        })
    };
    let mut pieces = decrypt_batches(
        std::io::BufReader::with_capacity(1 << 16, source.file),
        source.meta_offset,
        classify,
        |item: &Item| item.range.clone(),
        |chunk: &str, item: &Item, aads: &[u8]| decrypt_item(chunk, item, aads, &cipher, mac_only),
        true,
        &mut hasher,
    )?;
    // The member before `"sops"` loses its comma (and the whitespace after it), as the full
    // writer removes the member.
    remove_trailing_comma(&mut pieces)?;
    pieces.push(Zeroizing::new(source.rest.into_bytes()));
    if check_mac {
        verify_mac(&cipher, meta, &hasher.finish()).ok()?;
    }
    Some(pieces)
}

/// Remove the whitespace, one comma and the whitespace at the end of `pieces`; None when there
/// is no comma there (`sops` is the only member: the full path handles it).
fn remove_trailing_comma(pieces: &mut Vec<Zeroizing<Vec<u8>>>) -> Option<()> {
    let mut comma = false;
    loop {
        let last = pieces.last_mut()?;
        while let Some(&b) = last.last() {
            match b {
                b' ' | b'\t' | b'\n' => {}
                b',' if !comma => comma = true,
                _ => return comma.then_some(()),
            }
            last.pop();
        }
        pieces.pop();
    }
}

fn decrypt_item(
    text: &str,
    item: &Item,
    aads: &[u8],
    cipher: &ValueCipher,
    mac_only: bool,
) -> Option<Decided> {
    let (_, (value, _)) = lines::scalar(&text[item.range.clone()]).ok()?;
    let owned = |c: crate::crypto::Canonical<'_>| Zeroizing::new(c.to_vec());
    if !item.encrypted {
        let mac_bytes = if mac_only {
            None
        } else {
            canonical(&value).map(|(c, _)| owned(c))
        };
        return Some((None, mac_bytes));
    }
    let enc = match &value {
        Value::Null => return Some((None, None)),
        Value::Str(s) if s.is_empty() => return Some((None, None)),
        Value::Str(s) if crate::document::envelope::claims_encryption(s) => s,
        // Plaintext where a value should be encrypted: the full path reports it.
        _ => return None,
    };
    let plain = cipher.decrypt(enc, &aads[item.aad.clone()]).ok()?;
    let mac_bytes = owned(canonical_plaintext_of(&plain)?);
    let text = crate::document::json::decrypted_text(&plain).ok()?;
    Some((Some(Zeroizing::new(text)), Some(mac_bytes)))
}

#[cfg(test)]
pub(in crate::crypto::stream) mod tests {
    //! Differential tests: on every file the fast path takes, it reads the same leaves as the
    //! full reader, and decrypts to the same bytes (the MAC checked on both paths).

    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;
    use crate::crypto::{
        EncryptOptions, LazyEncryption, Rule, decrypt_with_key, keys, new_metadata, plaintext_mac,
    };
    use crate::document::json::JsonDocument;
    use crate::document::{Document, Leaf};

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

    fn options(rule: Rule, mac_only: bool) -> EncryptOptions {
        let text = std::fs::read_to_string(root().join("fixtures/keys/test-key.txt")).unwrap();
        let recipient = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .trim()
            .to_string();
        EncryptOptions {
            key_groups: vec![vec![recipient]],
            shamir_threshold: 0,
            rule,
            mac_only_encrypted: mac_only,
        }
    }

    /// The leaves the line reader finds (path and value), or None when it declines the text.
    fn line_leaves(text: &str) -> Option<Vec<Found>> {
        let mut reader = JsonLines::new();
        let mut out = Vec::new();
        for line in text.split('\n') {
            let range = match reader.line(line).ok()? {
                Line::Value(range) => range,
                Line::Verbatim => continue,
                // The reader stops at the metadata.
                Line::Meta => return None,
            };
            {
                let (len, (value, spelling)) = lines::scalar(&line[range.clone()]).ok()?;
                assert_eq!(len, range.len());
                out.push((reader.path().to_vec(), value, spelling));
            }
        }
        reader.finished().then_some(out)
    }

    /// A leaf's path, value and spelling.
    type Found = (Vec<String>, Value, Option<String>);

    fn full_leaves(leaves: &[Leaf]) -> Vec<Found> {
        leaves
            .iter()
            .map(|l| (l.path.clone(), l.value.clone(), l.spelling.clone()))
            .collect()
    }

    fn full_encrypt(doc: &JsonDocument, key: &DataKey, rule: Rule, mac_only: bool) -> String {
        let options = options(rule, mac_only);
        let mac = plaintext_mac(doc.leaves(), &options.rule, mac_only).unwrap();
        let (cipher, metadata) =
            new_metadata(key, &options, &options.rule, mac_only, &mac).unwrap();
        let mut edits = LazyEncryption::new(doc.leaves(), &cipher, &options.rule);
        String::from_utf8(doc.render(&mut edits, Some(&metadata.to_meta())).unwrap()).unwrap()
    }

    fn full_decrypt(enc: &str, key: &DataKey) -> Vec<u8> {
        let doc = JsonDocument::parse(enc).unwrap();
        let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
        let mut d = decrypt_with_key(&doc, &meta, key, true).unwrap();
        doc.render(&mut d.edits, None).unwrap()
    }

    fn fast_decrypt_file(path: &Path, key: Option<&DataKey>) -> Option<Vec<u8>> {
        let source = open_json(path)?;
        let meta = Metadata::from_meta(&source.meta).ok()?;
        let recovered;
        let key = match key {
            Some(k) => k,
            None => {
                recovered = keys::recover_data_key(&meta, &identities()).unwrap();
                &recovered
            }
        };
        let pieces = decrypt_json(source, &meta, key, true)?;
        Some(pieces.iter().flat_map(|p| p.iter().copied()).collect())
    }

    fn fast_decrypt(enc: &str, key: &DataKey) -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::fs::write(&path, enc).unwrap();
        fast_decrypt_file(&path, Some(key))
    }

    /// Check the line reader against the full reader on `text`, then encrypt it with the full
    /// path and decrypt it with both; false when the fast path declines it.
    fn differential(text: &str, rule: Rule, mac_only: bool) -> bool {
        let full = JsonDocument::parse(text);
        let Some(leaves) = line_leaves(text) else {
            return false;
        };
        let doc = full.expect("the line reader takes only what the full parser reads");
        assert!(leaves == full_leaves(doc.leaves()), "leaves of {text:?}");
        if doc.metadata().is_some() || doc.leaves().is_empty() {
            return false;
        }
        let key = DataKey::generate();
        let enc = full_encrypt(&doc, &key, rule, mac_only);
        let expected = full_decrypt(&enc, &key);
        let Some(fast) = fast_decrypt(&enc, &key) else {
            return false;
        };
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&expected),
            "decryption of {text:?}"
        );
        true
    }

    #[test]
    fn the_benchmark_shape_and_typed_values_match_the_full_path() {
        let mut bench = String::from("{\n");
        for i in 0..3000 {
            if i % 100 == 0 {
                if i > 0 {
                    bench.push_str("  },\n");
                }
                bench.push_str(&format!("  \"service_{:04}\": {{\n", i / 100));
            }
            let comma = if i % 100 == 99 { "" } else { "," };
            bench.push_str(&format!("    \"key_{i:06}\": \"value-{i:06}\"{comma}\n"));
        }
        bench.push_str("  }\n}\n");
        assert!(differential(&bench, Rule::default(), false));
        let typed = "{\n\t\"a\": 1,\n\t\"b\": {\n\t\t\"c\": \"x\\\"y\\u00e9\",\n\t\t\"d\": [\n\t\t\t1.50,\n\t\t\t-0,\n\t\t\ttrue,\n\t\t\tnull,\n\t\t\t\"\"\n\t\t],\n\t\t\"e\": {},\n\t\t\"f\": []\n\t},\n\t\"g_unencrypted\": 1e3,\n\t\"h\": false\n}";
        assert!(differential(typed, Rule::default(), false));
        assert!(differential(typed, Rule::default(), true));
        let suffix = Rule::EncryptedSuffix("_secret".into());
        assert!(differential(
            "{\n  \"a_secret\": 1,\n  \"b\": {\n    \"c_secret\": \"x\",\n    \"d\": \"y\"\n  }\n}\n",
            suffix,
            true
        ));
    }

    #[test]
    fn files_sops_wrote_decrypt_as_the_full_path_decrypts_them() {
        let mut taken = 0;
        for entry in std::fs::read_dir(root().join("fixtures/sops")).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".sops.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = JsonDocument::parse(&text).unwrap();
            let meta = Metadata::from_meta(doc.metadata().unwrap()).unwrap();
            let key = keys::recover_data_key(&meta, &identities()).unwrap();
            let mut d = decrypt_with_key(&doc, &meta, &key, true).unwrap();
            let full = doc.render(&mut d.edits, None).unwrap();
            if let Some(streamed) = fast_decrypt_file(&path, None) {
                assert_eq!(streamed, full, "{}", path.display());
                taken += 1;
            }
        }
        assert!(taken >= 2, "the fast path took {taken} sops files");
    }

    #[test]
    fn corpus_and_example_files_match_the_full_path() {
        let mut taken = Vec::new();
        for dir in ["fixtures/corpus", "fixtures/examples", "fixtures/sops"] {
            for entry in std::fs::read_dir(root().join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.to_string_lossy().to_string();
                if !name.ends_with(".json") || name.contains(".sops.") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                if differential(&text, Rule::default(), false) {
                    taken.push(name);
                }
            }
        }
        assert!(taken.len() >= 3, "the fast path took {taken:?}");
    }

    /// A scalar for generated documents: every JSON type, and (rarely) some the fast path
    /// refuses.
    fn scalar() -> impl Strategy<Value = String> {
        let taken = prop::sample::select(vec![
            "\"x\"",
            "\"\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\n\"",
            "\"é€\"",
            "\"ENC[AES256_GCM,data:x]\"",
            "0",
            "-0",
            "1.50",
            "1e3",
            "-2.5E-3",
            "123456789012345678901234567890",
            "true",
            "false",
            "null",
        ]);
        let refused = prop::sample::select(vec![
            "01",
            "1e999",
            "tru",
            "[1, 2]",
            "{\"a\": 1}",
            "\"x\" \"y\"",
        ]);
        prop_oneof![30 => taken, 1 => refused].prop_map(str::to_string)
    }

    fn key() -> impl Strategy<Value = String> {
        let taken = prop::sample::select(vec!["a", "b", "c_unencrypted", "d", ""]);
        let refused = prop::sample::select(vec!["sops", "e\\u0041"]);
        prop_oneof![30 => taken, 1 => refused].prop_map(str::to_string)
    }

    /// Members: (levels closed before it, key, scalar, kind), laid out one per line.
    pub(in crate::crypto::stream) fn document() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((0usize..3, key(), scalar(), 0u8..6), 1..14),
            prop::sample::select(vec!["  ", "\t", "    "]),
        )
            .prop_map(|(members, unit)| {
                // Each open object's members so far, to place commas; keys made unique by
                // their position unless the generator repeats one on purpose (index 5).
                let mut out = String::from("{\n");
                let mut open: Vec<bool> = vec![false];
                for (i, (up, key, value, kind)) in members.into_iter().enumerate() {
                    for _ in 0..up.min(open.len() - 1) {
                        open.pop();
                        let pad = unit.repeat(open.len());
                        out.push_str(&format!("\n{pad}}}"));
                        *open.last_mut().unwrap() = true;
                    }
                    let pad = unit.repeat(open.len());
                    if *open.last().unwrap() {
                        out.push(',');
                    }
                    out.push('\n');
                    let key = if i == 5 { key } else { format!("{key}{i}") };
                    match kind {
                        0 => {
                            out.push_str(&format!("{pad}\"{key}\": {{"));
                            open.push(false);
                            continue;
                        }
                        1 => {
                            let inner = unit.repeat(open.len() + 1);
                            out.push_str(&format!(
                                "{pad}\"{key}\": [\n{inner}{value},\n{inner}\"x\"\n{pad}]"
                            ));
                        }
                        2 => out.push_str(&format!("{pad}\"{key}\": {{}}")),
                        3 => out.push_str(&format!("\n{pad}\"{key}\":{value}  ")),
                        _ => out.push_str(&format!("{pad}\"{key}\": {value}")),
                    }
                    *open.last_mut().unwrap() = true;
                }
                while open.len() > 1 {
                    open.pop();
                    out.push_str(&format!("\n{}}}", unit.repeat(open.len())));
                }
                out.push_str("\n}\n");
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn generated_documents_match_the_full_path(text in document(), mac_only in any::<bool>()) {
            differential(&text, Rule::default(), mac_only);
        }
    }

    #[test]
    fn a_tampered_file_is_left_to_the_full_path() {
        let text = "{\n  \"a\": \"x\",\n  \"b\": \"y\"\n}\n";
        let doc = JsonDocument::parse(text).unwrap();
        let key = DataKey::generate();
        let enc = full_encrypt(&doc, &key, Rule::default(), false);
        assert!(fast_decrypt(&enc, &key).is_some());
        let lines: Vec<&str> = enc.lines().collect();
        let value = |l: &str| {
            l.split_once(": ")
                .unwrap()
                .1
                .trim_end_matches(',')
                .to_string()
        };
        let (a, b) = (value(lines[1]), value(lines[2]));
        // Swapping two values' ciphertexts breaks their AAD; reordering the members, the MAC.
        let swapped = enc
            .replacen(&a, "A", 1)
            .replacen(&b, &a, 1)
            .replacen("A", &b, 1);
        assert!(fast_decrypt(&swapped, &key).is_none());
        let reordered = format!(
            "{{\n  \"b\": {b},\n  \"a\": {a},\n{}\n",
            lines[3..].join("\n")
        );
        assert!(JsonDocument::parse(&reordered).is_ok());
        assert!(fast_decrypt(&reordered, &key).is_none());
        // Content after the top-level object, or a `sops` member that is not the last one.
        assert!(fast_decrypt(&format!("{enc}{{}}\n"), &key).is_none());
    }
}
