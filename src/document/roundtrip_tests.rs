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
            pgp: vec![],
            vault: vec![],
            kms: vec![],
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

/// A scalar in a form every structured format can hold: words, numbers, booleans, unicode.
fn scalar_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9 _.-]{0,16}",
        "[A-Za-z0-9+/=]{8,40}",
        any::<i32>().prop_map(|n| n.to_string()),
        (any::<i16>(), 0u8..99).prop_map(|(a, b)| format!("{a}.{b}5")),
        Just("true".to_string()),
        Just("héllo wörld ✓".to_string()),
    ]
}

/// A small nested document: (key, value or nested map) pairs.
#[derive(Clone, Debug)]
enum Gen {
    Leaf(String),
    List(Vec<String>),
    Map(Vec<(String, Gen)>),
}

fn gen_doc() -> impl Strategy<Value = Vec<(String, Gen)>> {
    let leaf = prop_oneof![
        scalar_text().prop_map(Gen::Leaf),
        proptest::collection::vec(scalar_text(), 0..4).prop_map(Gen::List),
    ];
    let node = leaf.prop_recursive(3, 24, 4, |inner| {
        proptest::collection::vec((key(), inner), 1..4).prop_map(|items| Gen::Map(dedup(items)))
    });
    proptest::collection::vec((key(), node), 1..6).prop_map(dedup)
}

fn dedup(items: Vec<(String, Gen)>) -> Vec<(String, Gen)> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|(k, _)| k != "sops" && seen.insert(k.clone()))
        .collect()
}

fn json_scalar(s: &str) -> String {
    if s.parse::<f64>().is_ok() || s == "true" {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn to_json(items: &[(String, Gen)], depth: usize) -> String {
    let pad = "  ".repeat(depth + 1);
    let body: Vec<String> = items
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Gen::Leaf(s) => json_scalar(s),
                Gen::List(l) => format!(
                    "[{}]",
                    l.iter()
                        .map(|s| json_scalar(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Gen::Map(m) => to_json(m, depth + 1),
            };
            format!("{pad}{}: {value}", serde_json::Value::String(k.clone()))
        })
        .collect();
    format!("{{\n{}\n{}}}", body.join(",\n"), "  ".repeat(depth))
}

fn yaml_scalar(s: &str) -> String {
    // Quote what YAML would read as something else or cannot hold plain.
    if s.is_empty()
        || s.contains(": ")
        || s.contains(" #")
        || s.starts_with(|c: char| !c.is_alphanumeric())
        || s.ends_with(' ')
    {
        serde_json::Value::String(s.to_string()).to_string()
    } else {
        s.to_string()
    }
}

fn to_yaml(items: &[(String, Gen)], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for (k, v) in items {
        match v {
            Gen::Leaf(s) => out.push_str(&format!("{pad}{k}: {}\n", yaml_scalar(s))),
            Gen::List(l) if l.is_empty() => out.push_str(&format!("{pad}{k}: []\n")),
            Gen::List(l) => {
                out.push_str(&format!("{pad}{k}:\n"));
                for s in l {
                    out.push_str(&format!("{pad}  - {}\n", yaml_scalar(s)));
                }
            }
            Gen::Map(m) => {
                out.push_str(&format!("{pad}# section {k}\n{pad}{k}:\n"));
                to_yaml(m, depth + 1, out);
            }
        }
    }
}

fn toml_scalar(s: &str) -> String {
    if s.parse::<i64>().is_ok() || s == "true" {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn to_toml(items: &[(String, Gen)], prefix: &str, out: &mut String) {
    for (k, v) in items {
        match v {
            Gen::Leaf(s) => out.push_str(&format!("{k} = {}\n", toml_scalar(s))),
            Gen::List(l) => out.push_str(&format!(
                "{k} = [{}]\n",
                l.iter()
                    .map(|s| toml_scalar(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Gen::Map(_) => {}
        }
    }
    for (k, v) in items {
        if let Gen::Map(m) = v {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push_str(&format!("\n# table {name}\n[{name}]\n"));
            to_toml(m, &name, out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn json_round_trips(doc in gen_doc()) {
        let text = to_json(&doc, 0) + "\n";
        prop_assert_eq!(String::from_utf8(round_trip(Format::Json, text.as_bytes())).unwrap(), text);
    }

    #[test]
    fn yaml_round_trips(doc in gen_doc()) {
        let mut text = String::from("# generated\n");
        to_yaml(&doc, 0, &mut text);
        prop_assert_eq!(String::from_utf8(round_trip(Format::Yaml, text.as_bytes())).unwrap(), text);
    }

    #[test]
    fn toml_round_trips(doc in gen_doc()) {
        let mut text = String::new();
        to_toml(&doc, "", &mut text);
        prop_assume!(!text.trim().is_empty());
        prop_assert_eq!(String::from_utf8(round_trip(Format::Toml, text.as_bytes())).unwrap(), text);
    }
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
    fn ini_round_trips(sections in proptest::collection::vec(
        (key(), proptest::collection::vec((key(), "[^\"`#;\\\\\\p{Cc}]{0,30}", 0u8..4), 1..6)),
        1..4,
    )) {
        // Values spelled bare, "quoted", `backticked` and """tripled""".
        let mut text = String::new();
        let mut seen = std::collections::HashSet::new();
        for (name, items) in &sections {
            prop_assume!(seen.insert(name.clone()) && !name.starts_with("sops"));
            text.push_str(&format!("[{name}]\n"));
            let mut keys = std::collections::HashSet::new();
            for (k, v, quote) in items {
                prop_assume!(keys.insert(k.clone()));
                let v = v.trim();
                let v = match quote {
                    0 => v.to_string(),
                    1 => format!("\"{v}\""),
                    2 => format!("`{v}`"),
                    _ => format!("\"\"\"{v}\"\"\""),
                };
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        prop_assert_eq!(String::from_utf8(round_trip(Format::Ini, text.as_bytes())).unwrap(), text);
    }

    #[test]
    fn key_paths_written_back_parse_the_same(
        keys in proptest::collection::vec("[^\"'\\p{Cc}]{0,8}|[^'\\p{Cc}]{0,8}|[^\"\\p{Cc}]{0,8}", 1..5),
        index in 0usize..100,
    ) {
        use crate::document::tree::{PathStep, format_steps, parse_path};
        let mut steps: Vec<PathStep> = keys.into_iter().map(PathStep::Key).collect();
        steps.push(PathStep::Index(index));
        prop_assert_eq!(parse_path(&format_steps(&steps)).unwrap(), steps);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for format in [Format::Yaml, Format::Json, Format::Toml, Format::Dotenv, Format::Ini, Format::Binary] {
            let _ = parse(format, &bytes);
        }
    }
}
