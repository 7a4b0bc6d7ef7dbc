//! Tamper matrix: flip one byte of an encrypted file at a time (in every `ENC[...]` value, the
//! MAC, and the armored body of the age stanza) and check that the file no longer decrypts.
//!
//! The matrix runs at library level (parse, recover the data key, decrypt and check the MAC, as
//! `secrets decrypt` does) for speed; a sample of the same flips is then run through the binary,
//! which must exit non-zero with nothing on stdout.
//!
//! A flip that still decrypts must give back the original plaintext byte for byte and be one of
//! the harmless cases named in [`harmless`], with its reason; anything else fails the test.

#![allow(clippy::print_stderr)] // the matrix's figures, shown with --nocapture

use std::path::Path;

use secrets::crypto::{self, keys};
use secrets::document::{self, Format, metadata::Metadata};

use crate::util::{Env, ok};

const SAMPLES: &[(&str, &str)] = &[
    (
        "s.yaml",
        "# comment\ndb:\n  user: admin\n  password: hunter2 # trailing\n  port: 5432\nlist:\n  - 1.5\n  - true\n",
    ),
    (
        "s.json",
        "{\n  \"db\": {\"user\": \"admin\", \"password\": \"hunter2\", \"port\": 5432},\n  \"ok\": false\n}\n",
    ),
    ("s.env", "# c\nDB_USER=admin\nDB_PASSWORD=hunter2\n"),
    ("s.ini", "[db]\nuser = admin\npassword = hunter2\n"),
    ("s.bin", "\x00\x01binary payload\n"),
];

/// The flip applied to a byte: the lowest bit, so the byte stays ASCII (a flip to non-UTF-8 would
/// only test the parser).
fn flip(b: u8) -> u8 {
    b ^ 0x01
}

/// Decrypt as `secrets decrypt` does (MAC checked); `None` on any error.
fn decrypt(format: Format, bytes: &[u8], ids: &keys::age::Identities) -> Option<Vec<u8>> {
    let doc = document::parse(format, bytes).ok()?;
    let meta = Metadata::from_meta(doc.metadata()?).ok()?;
    let key = keys::recover_data_key(&meta, ids).ok()?;
    let mut d = crypto::decrypt_with_key(doc.as_ref(), &meta, &key, true).ok()?;
    doc.render(&mut d.edits, None).ok()
}

/// The byte ranges to tamper with: every `ENC[...]` (values and the MAC) and the base64 body of
/// every age armor block.
fn targets(text: &str) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find("ENC[") {
        let start = at + i;
        let end = start + text[start..].find(']').unwrap() + 1;
        let key_start = text[..start].rfind(['\n', ',', '{']).map_or(0, |k| k + 1);
        let what = if text[key_start..start].contains("mac") {
            "mac"
        } else {
            "value"
        };
        out.push((start, end, what));
        at = end;
    }
    const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
    const END: &str = "-----END AGE ENCRYPTED FILE-----";
    let mut at = 0;
    while let Some(i) = text[at..].find(BEGIN) {
        let start = at + i + BEGIN.len();
        let end = start + text[start..].find(END).unwrap();
        out.push((start, end, "age stanza"));
        at = end;
    }
    out
}

/// Whether a flip at `pos` that still decrypts to the original plaintext is a known harmless
/// case, and why.
fn harmless(text: &str, pos: usize) -> Option<&'static str> {
    // Inside an ENC[...] field: the field's name and the position in its base64 text.
    let enc_start = text[..pos].rfind("ENC[")?;
    if text[enc_start..pos].contains(']') {
        return None;
    }
    let field_start = text[..pos].rfind([',', '[']).filter(|&s| s >= enc_start)? + 1;
    let field_end = pos + text[pos..].find([',', ']'])?;
    let field = &text[field_start..field_end];
    let (name, b64) = field.split_once(':')?;
    let offset = pos.checked_sub(field_start + name.len() + 1)?;
    let unpadded = b64.trim_end_matches('=').len();
    // The last base64 character before the padding carries 2 or 4 bits that are not part of
    // the decoded bytes (32-byte IV: 4 bits; 16-byte tag: 4 bits; data: 2 or 4). A decoder that
    // ignores them would decode the same IV, tag or ciphertext, and GCM would verify. Ours
    // rejects non-canonical base64, so with this matrix no flip is harmless: the case stays
    // listed so that a laxer decoder is not taken for a detection failure.
    if matches!(name, "data" | "iv" | "tag") && offset + 1 == unpadded && unpadded != b64.len() {
        return Some("base64 padding bits of the last character (not part of the decoded bytes)");
    }
    None
}

/// Flip every byte of each value and MAC, every `stanza_step`-th of the age stanzas; return the positions whose flip went undetected.
fn matrix(
    format: Format,
    text: &str,
    ids: &keys::age::Identities,
    plain: &[u8],
    stanza_step: usize,
) -> Vec<usize> {
    let mut undetected = Vec::new();
    let mut bytes = text.as_bytes().to_vec();
    let mut count = 0;
    let mut kinds = std::collections::BTreeMap::new();
    for (start, end, what) in targets(text) {
        let positions: Vec<usize> = (start..end)
            .filter(|&p| {
                what != "age stanza"
                    || bytes[p].is_ascii_alphanumeric()
                    || b"+/=".contains(&bytes[p])
            })
            .collect();
        let step = if what == "age stanza" { stanza_step } else { 1 };
        for &pos in positions.iter().step_by(step) {
            let orig = bytes[pos];
            bytes[pos] = flip(orig);
            count += 1;
            *kinds.entry(what).or_insert(0) += 1;
            if let Some(out) = decrypt(format, &bytes, ids) {
                assert_eq!(
                    out, plain,
                    "{format:?}: flipping byte {pos} ({what}) gave a different plaintext"
                );
                assert!(
                    harmless(text, pos).is_some(),
                    "{format:?}: flipping byte {pos} ({what}, {:?}) was not detected",
                    &text[pos.saturating_sub(20)..(pos + 20).min(text.len())]
                );
                undetected.push(pos);
            }
            bytes[pos] = orig;
        }
    }
    assert!(count > 100, "{format:?}: only {count} flips tried");
    assert_eq!(kinds.len(), 3, "{format:?}: flips per target {kinds:?}");
    eprintln!(
        "{format:?}: {count} flips {kinds:?}, {} undetected",
        undetected.len()
    );
    undetected
}

fn setup(env: &Env) -> Vec<(Format, String, Vec<u8>)> {
    let mut ids = Vec::new();
    for (name, plain) in SAMPLES {
        env.write(name, plain);
        let mut cmd = env.secrets();
        cmd.args(["encrypt", "--age", &env.recipient]);
        if name.ends_with(".bin") {
            cmd.args(["--input-type", "binary"]);
        }
        let enc = String::from_utf8(ok(cmd.arg(name))).unwrap();
        let format = if name.ends_with(".bin") {
            Format::Binary
        } else {
            Format::from_path(Path::new(name))
        };
        ids.push((format, enc, plain.as_bytes().to_vec()));
    }
    ids
}

fn identities(env: &Env) -> keys::age::Identities {
    let mut ids = keys::age::Identities::default();
    ids.add_keys_file(&std::fs::read_to_string(&env.key_file).unwrap(), "key.txt")
        .unwrap();
    ids
}

#[test]
fn every_flipped_byte_is_detected_or_harmless() {
    let env = Env::new();
    let ids = identities(&env);
    for (format, enc, plain) in setup(&env) {
        assert_eq!(
            decrypt(format, enc.as_bytes(), &ids).as_deref(),
            Some(&plain[..])
        );
        // Every byte of every value and of the MAC; every 3rd byte of the age stanza (each
        // flip costs an X25519 unwrap, and the armor's base64 is one checked block).
        let undetected = matrix(format, &enc, &ids, &plain, 3);
        for pos in undetected {
            eprintln!(
                "{format:?}: harmless flip at {pos}: {}",
                harmless(&enc, pos).unwrap()
            );
        }
    }
}

/// The same flips through the binary (a sample: every 25th byte): non-zero exit, empty stdout.
#[test]
fn flipped_bytes_fail_through_the_binary() {
    let env = Env::new();
    let ids = identities(&env);
    for (format, enc, _) in setup(&env) {
        let name = format!("t.{}", format.name());
        let mut tried = 0;
        for (start, end, _) in targets(&enc) {
            for pos in (start..end).step_by(25) {
                if harmless(&enc, pos).is_some() {
                    continue;
                }
                let mut bytes = enc.clone().into_bytes();
                bytes[pos] = flip(bytes[pos]);
                if decrypt(format, &bytes, &ids).is_some() {
                    continue;
                }
                env.write(&name, &bytes);
                let out = env
                    .secrets_with_key()
                    .args(["decrypt", "--input-type", format.name(), &name])
                    .output()
                    .unwrap();
                assert!(!out.status.success(), "{format:?}: flip at {pos} decrypted");
                assert!(
                    out.stdout.is_empty(),
                    "{format:?}: flip at {pos} printed to stdout"
                );
                tried += 1;
            }
        }
        assert!(tried >= 5, "{format:?}: {tried}");
    }
}
