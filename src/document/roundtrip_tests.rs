//! Property tests shared by every adapter: parsing never panics, and decrypt(encrypt(x)) == x
//! byte for byte, with the MAC computed on encryption equal to the one recomputed on decryption.

use proptest::prelude::*;

use super::{Format, parse};
use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
use crate::document::metadata::{AgeKey, KeyGroup, Metadata, SOPS_VERSION};

fn sample_metadata() -> Metadata {
    Metadata {
        key_groups: vec![KeyGroup {
            age: vec![AgeKey {
                recipient: "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq".into(),
                enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
                    .into(),
            }],
            others: vec![],
        }],
        shamir_threshold: 0,
        lastmodified: "2026-11-25T10:00:00Z".into(),
        mac: "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]".into(),
        rule: Some((
            crate::document::metadata::RuleKind::UnencryptedSuffix,
            "_unencrypted".into(),
        )),
        mac_only_encrypted: false,
        version: SOPS_VERSION.into(),
    }
}

/// Encrypt and decrypt `text` in memory; return the decrypted bytes.
pub fn round_trip(format: Format, text: &[u8]) -> Vec<u8> {
    let doc = parse(format, text).expect("parse plaintext");
    let key = DataKey::generate();
    let cipher = ValueCipher::new(&key);
    let rule = if format == Format::Binary {
        Rule::Everything
    } else {
        Rule::default()
    };
    let mut enc = encrypt_leaves(doc.leaves(), &cipher, &rule, false).unwrap();
    let meta = sample_metadata();
    let encrypted = doc
        .render(&mut enc.edits, Some(&meta.to_meta()))
        .expect("render encrypted");
    let doc2 = parse(format, &encrypted).expect("parse encrypted");
    let read_back = Metadata::from_meta(doc2.metadata().expect("metadata present")).unwrap();
    assert_eq!(read_back.key_groups, meta.key_groups);
    assert_eq!(doc2.leaves().len(), doc.leaves().len());
    let mut dec = decrypt_leaves(doc2.leaves(), &cipher, &rule, false).unwrap();
    assert_eq!(
        *dec.mac, *enc.mac,
        "MAC differs between encryption and decryption"
    );
    doc2.render(&mut dec.edits, None).expect("render decrypted")
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

fn dotenv_value() -> impl Strategy<Value = String> {
    "[^\n]{0,40}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dotenv_round_trips(lines in proptest::collection::vec((key(), dotenv_value(), any::<bool>()), 0..12)) {
        let mut text = String::new();
        for (k, v, comment) in &lines {
            if *comment {
                text.push_str("# note\n\n");
            }
            text.push_str(&format!("{k}={v}\n"));
        }
        prop_assume!(!lines.iter().any(|(k, _, _)| k.starts_with("sops_")));
        prop_assert_eq!(String::from_utf8(round_trip(Format::Dotenv, text.as_bytes())).unwrap(), text);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for format in [Format::Yaml, Format::Json, Format::Toml, Format::Dotenv, Format::Ini, Format::Binary] {
            let _ = parse(format, &bytes);
        }
    }
}
