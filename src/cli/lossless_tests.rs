//! The lossless invariant, on generated style variants: for every YAML, JSON and TOML input the
//! parser accepts, `encrypt` (the path the CLI takes, layout record included) writes a file that
//! decrypts to the input byte for byte, whose every `ENC[...]` scalar reads as exactly that
//! string; or it refuses cleanly. Never a file whose decryption differs.

use proptest::prelude::*;

use super::Verify;
use crate::crypto::{self, DataKey, EncryptOptions, Rule};
use crate::document::{self, Format, Value};

const RECIPIENT: &str = "age1zddhkcycwqdueyhxu07c56q8f4evamd9uxjej0v7justsat37ywsf2hws0";

fn options() -> EncryptOptions {
    EncryptOptions {
        key_groups: vec![vec![RECIPIENT.to_string()]],
        shamir_threshold: 0,
        rule: Rule::default(),
        mac_only_encrypted: false,
    }
}

/// Encrypt as `secrets encrypt` does (full path), decrypt as `secrets decrypt` does; the
/// encrypted file, or None when the input does not parse (a clean refusal).
fn check(format: Format, source: &[u8]) -> Option<Vec<u8>> {
    let doc = document::parse(format, source).ok()?;
    let key = DataKey::generate();
    let options = options();
    let encrypted = super::encrypt::checked(source, format, "gen", &key, |layout, out| {
        crypto::encrypt_document_with(doc.as_ref(), &options, &key, layout, out)
    })
    .unwrap_or_else(|e| {
        panic!(
            "encrypt refused a file it parses: {e}\n--- source\n{}",
            String::from_utf8_lossy(source)
        )
    });
    let enc_doc = document::parse(format, &encrypted).expect("the encrypted file parses");
    let meta = super::metadata_of(enc_doc.as_ref(), "gen").expect("metadata");
    let back = super::decrypt_to_plaintext(enc_doc.as_ref(), &meta, &key, Verify::Mac, "gen")
        .expect("decrypts");
    assert!(
        back[..] == source[..],
        "decryption differs\n--- source\n{}\n--- encrypted\n{}\n--- decrypted\n{}",
        String::from_utf8_lossy(source),
        String::from_utf8_lossy(&encrypted),
        String::from_utf8_lossy(&back)
    );
    for leaf in enc_doc.leaves() {
        if let Value::Str(s) = &leaf.value
            && s.contains("ENC[")
        {
            assert!(
                s.starts_with("ENC[") && s.ends_with(']') && !s.contains(['\n', '\\']),
                "an ENC scalar reads as {s:?}\n{}",
                String::from_utf8_lossy(&encrypted)
            );
        }
    }
    Some(encrypted)
}

fn yaml_scalar() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "plain text",
        "0755",
        "0x1F",
        "0o17",
        "1_000",
        "+3",
        "-7",
        "1.50",
        "1e3",
        ".inf",
        "-.Inf",
        ".NaN",
        "yes",
        "TRUE",
        "off",
        "~",
        "null",
        "2024-01-15",
        "2001-12-14t21:59:43.10-05:00",
        "' lead'",
        "'it''s'",
        "'a\n  b'",
        "\"\\u00e9\"",
        "\"\\U0001F680\"",
        "\"a\\tb\"",
        "\"\\x41\\/\"",
        "\"one \\\n  two\"",
        "\"folded\n  line\"",
        "folded\n  plain",
        "!!binary SGVsbG8=",
        "!!str 12",
        "!Ref bucket",
        "!!int 3",
        "[go, 'python', \"rust\"]",
        "{x: 1, 'y': \"z\"}",
        "[]",
        "{}",
    ])
    .prop_map(str::to_string)
}

fn yaml_block() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["|", "|-", "|+", ">", ">-", ">+", "|2", ">1-"]),
        prop::sample::select(vec!["line", "a b", "\u{e9}t\u{e9}", "  more"]),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(header, line, extra, comment)| {
            let mut s = header.to_string();
            if comment {
                s.push_str(" # c");
            }
            s.push('\n');
            for i in 0..=extra {
                s.push_str(&format!("  {line}{i}\n"));
            }
            if header.ends_with('+') {
                s.push('\n');
            }
            s.pop();
            s
        })
}

fn yaml_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![4 => yaml_scalar(), 1 => yaml_block()];
    (
        prop::collection::vec((value, any::<bool>(), any::<bool>()), 1..6),
        any::<bool>(),
        prop::sample::select(vec!["", "---\n", "%YAML 1.2\n---\n", "# head\n"]),
        any::<bool>(),
    )
        .prop_map(|(items, nested, start, anchors)| {
            let mut s = start.to_string();
            if anchors {
                s.push_str("base: &base\n  k: v\nderived:\n  <<: *base\n  own: x\n");
            }
            for (i, (value, comment, list)) in items.into_iter().enumerate() {
                let indent = if nested && i > 0 { "  " } else { "" };
                if nested && i == 1 {
                    s.push_str("nest:\n");
                }
                if list && !value.contains('\n') {
                    s.push_str(&format!("{indent}k{i}:\n{indent}- {value}\n{indent}- x\n"));
                } else {
                    let value = value.replace('\n', &format!("\n{indent}"));
                    s.push_str(&format!("{indent}k{i}: {value}"));
                    if comment && !value.contains('\n') {
                        s.push_str(" # note");
                    }
                    s.push('\n');
                }
                if comment {
                    s.push_str(&format!("{indent}# between\n"));
                }
            }
            s
        })
}

/// Byte-level presentation: BOM, CRLF, final newline or not.
fn presented(text: String, bom: bool, crlf: bool, final_newline: bool) -> String {
    let mut text = if final_newline {
        text
    } else {
        text.trim_end_matches('\n').to_string()
    };
    if crlf {
        text = text.replace('\n', "\r\n");
    }
    if bom {
        text.insert(0, '\u{feff}');
    }
    text
}

fn json_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"plain\"",
        "\"\\u00e9\\u00E9\"",
        "\"\\uD83D\\uDE80\"",
        "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
        "\"\u{e9}\"",
        "1.50",
        "1E+3",
        "-0",
        "0.0",
        "1e-7",
        "12345678901234567890123",
        "true",
        "null",
        "[1, \"a\", {\"b\": 2.0}]",
        "{}",
        "[]",
    ])
    .prop_map(str::to_string)
}

fn json_document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(json_value(), 1..6),
        prop::sample::select(vec![("", " "), ("\n  ", "\n"), ("\n\t", "\n")]),
    )
        .prop_map(|(values, (sep, end))| {
            let members: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{sep}\"k{i}\": {v}"))
                .collect();
            format!("{{{}{end}}}", members.join(","))
        })
}

fn toml_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"basic\"",
        "\"\\U0001F680 \\u00e9 \\t\"",
        "'literal \\n'",
        "\"\"\"\nmulti\\\n  line\"\"\"",
        "'''\nraw\n'''",
        "0x1F",
        "0o17",
        "0b11",
        "1_000",
        "+3",
        "1.50",
        "1e3",
        "inf",
        "-nan",
        "true",
        "1979-05-27",
        "1979-05-27T07:32:00Z",
        "07:32:00",
        "[1, 'a', \"b\"]",
        "{ x = 1, y.z = \"w\" }",
    ])
    .prop_map(str::to_string)
}

fn toml_document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((toml_value(), any::<bool>()), 1..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(values, table, array_tables)| {
            let mut s = String::from("# head\n");
            for (i, (v, dotted)) in values.iter().enumerate() {
                if *dotted {
                    s.push_str(&format!("d{i}.k = {v} # c\n"));
                } else {
                    s.push_str(&format!("k{i} = {v}\n"));
                }
                if table && i == 0 {
                    s.push_str("[table]\n");
                }
            }
            if array_tables {
                s.push_str("[[items]]\nname = \"a\"\n\n[[items]]\nname = 'b'\n");
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn yaml_style_variants_round_trip(
        text in yaml_document(),
        bom: bool,
        crlf: bool,
        final_newline: bool,
    ) {
        check(Format::Yaml, presented(text, bom, crlf, final_newline).as_bytes());
    }

    #[test]
    fn json_style_variants_round_trip(text in json_document(), crlf: bool, final_newline: bool) {
        check(Format::Json, presented(text, false, crlf, final_newline).as_bytes());
    }

    #[test]
    fn toml_style_variants_round_trip(
        text in toml_document(),
        bom: bool,
        crlf: bool,
        final_newline: bool,
    ) {
        check(Format::Toml, presented(text, bom, crlf, final_newline).as_bytes());
    }
}

/// The streaming fast path writes no layout record and skips the read-back: on every input it
/// takes, its output must decrypt (full path) to the input byte for byte.
fn check_fast_path(source: &str) -> bool {
    let options = options();
    let Some(fast) = crypto::stream::prepare_yaml(source, &options) else {
        return false;
    };
    let key = DataKey::generate();
    let mut out = Vec::new();
    fast.write_with(&key, None, &mut out).unwrap();
    let doc = document::parse(Format::Yaml, &out).unwrap();
    let meta = super::metadata_of(doc.as_ref(), "gen").unwrap();
    let back = super::decrypt_to_plaintext(doc.as_ref(), &meta, &key, Verify::Mac, "gen").unwrap();
    assert!(
        back[..] == *source.as_bytes(),
        "the fast path changed the file\n--- source\n{source}\n--- decrypted\n{}",
        String::from_utf8_lossy(&back)
    );
    true
}

fn line_shaped_yaml() -> impl Strategy<Value = String> {
    let value = yaml_scalar().prop_filter("one line", |v| !v.contains('\n'));
    (
        prop::collection::vec((value, any::<bool>()), 1..8),
        any::<bool>(),
    )
        .prop_map(|(values, final_newline)| {
            let mut s = String::from("# head\n");
            for (i, (v, comment)) in values.iter().enumerate() {
                s.push_str(&format!("k{i}: {v}"));
                if *comment {
                    s.push_str(" # c");
                }
                s.push('\n');
            }
            if !final_newline {
                s.pop();
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_path_keeps_every_byte(text in line_shaped_yaml()) {
        check_fast_path(&text);
    }
}

/// The fast path still takes the common case (plain strings, comments).
#[test]
fn the_fast_path_takes_plain_strings() {
    assert!(check_fast_path("# c\na: x # note\nb: 'y'\nc: \"z\"\n"));
    assert!(!check_fast_path("mode: 0755\n"));
    assert!(!check_fast_path("a: x"));
}

/// The generator's inputs are mostly accepted: the oracle is not passing by refusing.
#[test]
fn generated_inputs_are_mostly_accepted() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..40 {
        let text = yaml_document().new_tree(&mut runner).unwrap().current();
        accepted += usize::from(check(Format::Yaml, text.as_bytes()).is_some());
    }
    assert!(
        accepted >= 30,
        "only {accepted} of 40 generated YAML files parse"
    );
}
