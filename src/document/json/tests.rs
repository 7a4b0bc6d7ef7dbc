use super::*;
use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
use crate::document::Plaintext;
use crate::document::metadata::{AgeKey, KeyGroup, Metadata, RuleKind};
use zeroize::Zeroizing;

fn sample_meta() -> MetaValue {
    Metadata {
        key_groups: vec![KeyGroup {
            age: vec![AgeKey {
                recipient: "age1qqq".into(),
                enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl<&>\n-----END AGE ENCRYPTED FILE-----\n".into(),
            }],
            pgp: vec![],
            vault: vec![],
            kms: vec![],
            others: vec![],
        }],
        shamir_threshold: 0,
        lastmodified: "2026-01-01T00:00:00Z".into(),
        mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
        rule: Some((RuleKind::UnencryptedSuffix, "_unencrypted".into())),
        mac_only_encrypted: false,
        version: "3.11.0".into(),
    }
    .to_meta()
}

/// Encrypt, check the result is valid JSON with the metadata read back, decrypt, and return the
/// encrypted text. Asserts decrypt(encrypt(x)) == x byte for byte.
fn round_trip(plain: &str) -> String {
    let doc = JsonDocument::parse(plain).unwrap();
    assert!(doc.metadata().is_none());
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(doc.leaves(), &cipher, &Rule::default(), false).unwrap();
    let encrypted =
        String::from_utf8(doc.render(&mut enc.edits, Some(&sample_meta())).unwrap()).unwrap();
    serde_json::from_str::<serde_json::Value>(&encrypted)
        .expect("the encrypted file is valid JSON");
    let doc2 = JsonDocument::parse(&encrypted).unwrap();
    assert_eq!(doc2.metadata(), Some(&sample_meta()));
    assert_eq!(doc2.leaves().len(), doc.leaves().len());
    let mut dec = decrypt_leaves(doc2.leaves(), &cipher, &Rule::default(), false).unwrap();
    assert_eq!(*dec.mac, *enc.mac);
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(back, plain);
    // Re-encrypting an encrypted file's metadata in place (rotate) keeps it parseable.
    let again = String::from_utf8(
        doc2.render(&mut Vec::<Option<Replacement>>::new(), Some(&sample_meta()))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(again, encrypted);
    encrypted
}

const PACKAGE_JSON: &str = r#"{
  "name": "@acme/web",
  "version": "1.4.0",
  "private": true,
  "scripts": {
    "build": "tsc -p . && vite build",
    "test": "jest --coverage"
  },
  "dependencies": {
    "react": "^18.2.0",
    "left-pad": null
  },
  "workspaces": ["packages/*", "apps/*"],
  "engines": { "node": ">=18" },
  "port": 8080,
  "ratio": 1.50,
  "tiny": -1.5e-7
}
"#;

const TSCONFIG: &str = "{\n    \"compilerOptions\": {\n        \"target\": \"ES2022\",\n        \"lib\": [\"dom\", \"dom.iterable\", \"esnext\"],\n        \"paths\": {\n            \"@/*\": [\"./src/*\"],\n            \"~/*\": [[\"./a\"], [\"./b\", [\"./c\"]]]\n        },\n        \"strict\": false,\n        \"empty\": \"\",\n        \"objs\": [{}, [], {\"k\": [1, 2.0, {\"deep\": true}]}]\n    },\n    \"include\": [],\n    \"exclude\": [\"node_modules\"]\n}";

const COMPOSER: &str = "{\n\t\"name\": \"acme/caf\u{e9}\",\n\t\"description\": \"Ein sch\u{f6}nes Paket \u{2014} \u{65e5}\u{672c}\u{8a9e} \u{1f680} a/b\",\n\t\"authors\": [\n\t\t{\"name\": \"J\u{fc}rgen \\\"Q\\\" M\u{fc}ller\", \"email\": \"j@example.org\"}\n\t],\n\t\"escapes\": \"tab\\there\\nnewline\\\\ back \\u0001\",\n\t\"require\": {\"php\": \">=8.1\"}\n}\n";

const MINIFIED: &str = r#"{"a":{"b":[1,2,{"c":"d"}]},"e":"f","g":true,"h":null,"i":-0,"j":123456789012345678901234567890}"#;

#[test]
fn values_are_typed_as_sops_types_them() {
    let doc = JsonDocument::parse(PACKAGE_JSON).unwrap();
    let find = |path: &[&str]| {
        doc.leaves()
            .iter()
            .find(|l| l.path == path)
            .unwrap_or_else(|| panic!("{path:?}"))
    };
    assert!(matches!(find(&["port"]).value, Value::Float(f) if f == 8080.0));
    assert_eq!(find(&["port"]).spelling.as_deref(), Some("8080"));
    assert_eq!(find(&["ratio"]).spelling.as_deref(), Some("1.50"));
    assert_eq!(find(&["tiny"]).spelling.as_deref(), Some("-1.5e-7"));
    assert!(matches!(find(&["private"]).value, Value::Bool(true)));
    assert_eq!(find(&["private"]).spelling.as_deref(), Some("true"));
    assert!(matches!(
        find(&["dependencies", "left-pad"]).value,
        Value::Null
    ));
    assert!(
        matches!(&find(&["scripts", "build"]).value, Value::Str(s) if s == "tsc -p . && vite build")
    );
    assert_eq!(find(&["scripts", "build"]).line, 6);
    // List elements share the list's path.
    let workspaces: Vec<_> = doc
        .leaves()
        .iter()
        .filter(|l| l.path == ["workspaces"])
        .collect();
    assert_eq!(workspaces.len(), 2);
    // Walk order is document order.
    let first: Vec<_> = doc
        .leaves()
        .iter()
        .take(3)
        .map(|l| l.path.join("."))
        .collect();
    assert_eq!(first, ["name", "version", "private"]);

    let doc = JsonDocument::parse(COMPOSER).unwrap();
    let esc = doc.leaves().iter().find(|l| l.path == ["escapes"]).unwrap();
    assert!(matches!(&esc.value, Value::Str(s) if s == "tab\there\nnewline\\ back \u{1}"));
    let nested: Vec<_> = doc
        .leaves()
        .iter()
        .filter(|l| l.path == ["authors", "name"])
        .collect();
    assert!(matches!(&nested[0].value, Value::Str(s) if s == "J\u{fc}rgen \"Q\" M\u{fc}ller"));

    let doc = JsonDocument::parse(MINIFIED).unwrap();
    let big = doc.leaves().iter().find(|l| l.path == ["j"]).unwrap();
    assert!(matches!(big.value, Value::Float(f) if f == 1.2345678901234568e29));
}

#[test]
fn realistic_files_round_trip_byte_for_byte() {
    let enc = round_trip(PACKAGE_JSON);
    assert!(
        enc.contains("\n  \"port\": \"ENC[AES256_GCM,data:"),
        "{enc}"
    );
    assert!(enc.contains(",type:float]\",\n  \"ratio\""), "{enc}");
    assert!(enc.contains("\"left-pad\": null"));
    assert!(enc.contains("\"private\": \"ENC[AES256_GCM,") && enc.contains(",type:bool]\""));
    round_trip(TSCONFIG);
    round_trip(COMPOSER);
    round_trip(MINIFIED);
    round_trip("{\r\n  \"crlf\": \"yes\",\r\n  \"n\": 1\r\n}\r\n");
    round_trip("  {\"padded\" : [ ] , \"x\" : \"y\" }  \n\n");
}

#[test]
fn empty_objects_and_missing_final_newlines_round_trip() {
    let enc = round_trip("{}");
    assert!(
        enc.starts_with(
            "{\n\t\"sops\": {\n\t\t\"age\": [\n\t\t\t{\n\t\t\t\t\"recipient\": \"age1qqq\","
        ),
        "{enc}"
    );
    assert!(enc.ends_with("\n\t}\n}"), "{enc}");
    round_trip("{}\n");
    round_trip("{\n}\n");
    round_trip("{ }");
    round_trip("{\"a\": \"b\"}");
    round_trip("{\n\t\"a\": \"b\"\n}");
    round_trip("{\"only\": {}}\n");
}

#[test]
fn metadata_is_written_in_the_files_own_style() {
    let two = round_trip("{\n  \"a\": \"x\",\n  \"b\": [\n    1\n  ]\n}\n");
    assert!(
        two.contains(
            "\n  ],\n  \"sops\": {\n    \"age\": [\n      {\n        \"recipient\": \"age1qqq\",\n"
        ),
        "{two}"
    );
    // Go's json.Marshal: `\n` escapes, HTML characters escaped.
    assert!(
        two.contains(
            "\"enc\": \"-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\u003c\\u0026\\u003e\\n-----END"
        ),
        "{two}"
    );
    assert!(
        two.ends_with("    \"version\": \"3.11.0\"\n  }\n}\n"),
        "{two}"
    );

    let tab = round_trip("{\n\t\"a\": \"x\"\n}\n");
    assert!(
        tab.contains(",\n\t\"sops\": {\n\t\t\"age\": [\n\t\t\t{\n"),
        "{tab}"
    );

    let min = round_trip("{\"a\":\"x\",\"n\":1}");
    assert!(
        min.contains(",\"sops\":{\"age\":[{\"recipient\":\"age1qqq\",\"enc\":"),
        "{min}"
    );
    assert!(min.ends_with("\"version\":\"3.11.0\"}}"), "{min}");

    let crlf = round_trip("{\r\n    \"a\": \"x\"\r\n}\r\n");
    assert!(
        crlf.contains(",\r\n    \"sops\": {\r\n        \"age\": [\r\n"),
        "{crlf}"
    );
}

#[test]
fn metadata_written_by_sops_is_read_and_removed() {
    let sops_written = "{\n\t\"data\": \"ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\",\n\t\"sops\": {\n\t\t\"age\": [\n\t\t\t{\n\t\t\t\t\"recipient\": \"age1x\",\n\t\t\t\t\"enc\": \"a\\nb\\n\"\n\t\t\t}\n\t\t],\n\t\t\"lastmodified\": \"2026-11-25T11:47:41Z\",\n\t\t\"mac\": \"ENC[m]\",\n\t\t\"shamir_threshold\": 2,\n\t\t\"version\": \"3.11.0\"\n\t}\n}\n";
    let doc = JsonDocument::parse(sops_written).unwrap();
    assert_eq!(doc.leaves().len(), 1, "the sops block holds no leaves");
    let meta = doc.metadata().unwrap();
    assert_eq!(meta.get("shamir_threshold"), Some(&MetaValue::Int(2)));
    let MetaValue::List(age) = meta.get("age").unwrap() else {
        panic!()
    };
    assert_eq!(
        age[0].get("enc").and_then(MetaValue::as_str),
        Some("a\nb\n")
    );
    let plain = String::from_utf8(
        doc.render(&mut Vec::<Option<Replacement>>::new(), None)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        plain,
        "{\n\t\"data\": \"ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\"\n}\n"
    );
    // `sops` first, or alone.
    let first = JsonDocument::parse("{\"sops\": {\"version\": \"3.11.0\"}, \"a\": 1}").unwrap();
    assert_eq!(
        first
            .render(&mut Vec::<Option<Replacement>>::new(), None)
            .unwrap(),
        b"{\"a\": 1}"
    );
    let alone =
        JsonDocument::parse("{\n\t\"sops\": {\n\t\t\"version\": \"3.11.0\"\n\t}\n}\n").unwrap();
    assert_eq!(
        alone
            .render(&mut Vec::<Option<Replacement>>::new(), None)
            .unwrap(),
        b"{}\n"
    );
}

fn plaintext(kind: ValueType, text: &str) -> Option<Replacement> {
    Some(Replacement::Decrypted(Plaintext {
        kind,
        bytes: Zeroizing::new(text.as_bytes().to_vec()),
    }))
}

#[test]
fn decrypted_values_are_written_as_json_of_their_type() {
    let doc = JsonDocument::parse("{\"s\": 0, \"i\": 0, \"f\": 0, \"b\": 0, \"t\": 0, \"c\": 0}")
        .unwrap();
    let mut edits = vec![
        plaintext(ValueType::Str, "q\"uote\\ caf\u{e9} a/b\n\u{1}<&>"),
        plaintext(ValueType::Int, "8080"),
        plaintext(ValueType::Float, "1.5"),
        plaintext(ValueType::Bool, "True"),
        plaintext(ValueType::Time, "2024-01-15T00:00:00Z"),
        plaintext(ValueType::Float, "12345678901234567000"),
    ];
    let out = String::from_utf8(doc.render(&mut edits, None).unwrap()).unwrap();
    assert_eq!(
        out,
        "{\"s\": \"q\\\"uote\\\\ caf\u{e9} a/b\\n\\u0001<&>\", \"i\": 8080, \"f\": 1.5, \"b\": true, \"t\": \"2024-01-15T00:00:00Z\", \"c\": 12345678901234567000}"
    );
    let bad = doc
        .render(
            &mut vec![None, None, plaintext(ValueType::Float, "+Inf")],
            None,
        )
        .unwrap_err();
    assert!(bad.to_string().contains("[\"f\"]"), "{bad}");
    let bad = doc
        .render(
            &mut vec![None, None, None, plaintext(ValueType::Bool, "maybe")],
            None,
        )
        .unwrap_err();
    assert!(!bad.to_string().contains("maybe"), "{bad}");
}

fn syntax_error(text: &str) -> (usize, usize, String) {
    match JsonDocument::parse(text) {
        Err(Error::Syntax {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("parsed: {text}"),
    }
}

#[test]
fn syntax_errors_point_at_line_and_column_without_quoting_the_input() {
    let canary = "hunter2-secret";
    let cases: Vec<(String, usize, usize)> = vec![
        (format!("{{\n  \"a\": \"{canary}\",\n}}"), 3, 1),
        (format!("{{\n  \"a\": {canary}\n}}"), 2, 8),
        (format!("{{\"a\": \"{canary}\"\n  \"b\": 1}}"), 2, 3),
        (format!("{{\"a\": \"{canary}"), 1, 7),
        (format!("{{\"a\": \"x\tb{canary}\"}}"), 1, 9),
        (format!("{{\"a\": \"\\x{canary}\"}}"), 1, 7),
        ("{\"a\": 01}".into(), 1, 8),
        ("{\"a\": 1.}".into(), 1, 9),
        ("{\"a\": -}".into(), 1, 8),
        ("{\"a\": 1e400}".into(), 1, 7),
        (format!("{{\"a\": 1}} {canary}"), 1, 10),
        (format!("{{\"\u{e9}\u{e9}\": tru{canary}}}"), 1, 8),
        (format!("{{\"a\": [1, 2 \"{canary}\"]}}"), 1, 13),
        (format!("{{'a': \"{canary}\"}}"), 1, 2),
    ];
    for (text, line, column) in cases {
        let (l, c, message) = syntax_error(&text);
        assert_eq!((l, c), (line, column), "{text}: {message}");
        assert!(
            !message.contains(canary) && !message.contains("hunter"),
            "{message}"
        );
    }
    assert!(
        syntax_error("[1, 2]")
            .2
            .contains("top level must be an object")
    );
    assert!(
        syntax_error("\"str\"")
            .2
            .contains("top level must be an object")
    );
    assert!(matches!(JsonDocument::parse(" \n "), Err(Error::Empty)));
    assert!(matches!(JsonDocument::parse(""), Err(Error::Empty)));
}

#[test]
fn duplicate_keys_are_named_with_their_path_and_line() {
    let (line, column, message) =
        syntax_error("{\n  \"db\": {\n    \"user\": \"a\",\n    \"user\": \"b\"\n  }\n}");
    assert_eq!((line, column), (4, 5));
    assert_eq!(message, "duplicate key [\"db\"][\"user\"]");
    // Many keys (the hashed set) and escaped spellings of the same key.
    let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
    let text = format!("{{{}, \"k\\u0033\": 0}}", many.join(", "));
    assert!(syntax_error(&text).2.contains("[\"k3\"]"));
    // The same key in different objects is fine.
    JsonDocument::parse("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}, \"c\": [{\"x\": 1}, {\"x\": 2}]}")
        .unwrap();
}

#[test]
fn trees_load_with_order_and_integers_and_emit_like_sops() {
    let root = load_tree("{\"z\": 1, \"a\": [1.0, 2e3, -3, 12345678901234567890, null, true], \"m\": {\"k\": \"<v>\"}}").unwrap();
    let Node::Map(items) = &root else { panic!() };
    assert_eq!(
        items.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["z", "a", "m"]
    );
    assert_eq!(items[0].1, Node::Int(1));
    assert_eq!(
        items[1].1,
        Node::List(vec![
            Node::Float(1.0),
            Node::Float(2000.0),
            Node::Int(-3),
            Node::Float(12345678901234567890.0),
            Node::Null,
            Node::Bool(true)
        ])
    );
    let out = emit_tree(&root).unwrap();
    assert_eq!(
        out,
        "{\n\t\"z\": 1,\n\t\"a\": [\n\t\t1,\n\t\t2000,\n\t\t-3,\n\t\t12345678901234567000,\n\t\tnull,\n\t\ttrue\n\t],\n\t\"m\": {\n\t\t\"k\": \"\\u003cv\\u003e\"\n\t}\n}\n"
    );
    assert_eq!(
        emit_tree(&Node::Map(vec![
            ("e".into(), Node::Float(1e21)),
            ("s".into(), Node::Float(1.5e-7))
        ]))
        .unwrap(),
        "{\n\t\"e\": 1e+21,\n\t\"s\": 1.5e-7\n}\n"
    );
    assert_eq!(emit_tree(&Node::Map(vec![])).unwrap(), "{}\n");
    assert!(load_tree("[1]").is_err());
}

/// 100,000 values parse quickly (run in release to see the real figure).
#[test]
#[ignore]
#[allow(clippy::print_stderr)]
fn parsing_is_fast() {
    let mut text = String::from("{\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "  \"item{i}\": {{\"id\": {i}, \"name\": \"name {i}\", \"ok\": true, \"v\": [1.5, 2, 3, \"x\", null], \"n\": {{\"a\": \"b\", \"c\": 1}}}},\n"
        ));
    }
    text.push_str("  \"last\": 0\n}\n");
    let start = std::time::Instant::now();
    let doc = JsonDocument::parse(&text).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(doc.leaves().len(), 100_001);
    eprintln!(
        "parsed {} leaves ({} bytes) in {elapsed:?}",
        doc.leaves().len(),
        text.len()
    );
}

/// Every `*.json` file under 1 MB on this machine that is a JSON object: encrypt, decrypt, compare.
#[test]
#[ignore]
#[allow(clippy::print_stderr)]
fn every_json_file_on_this_machine_round_trips() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("find / -name '*.json' -size -1000k -type f 2>/dev/null | head -500")
        .output()
        .unwrap();
    let (mut exact, mut escapes, mut not_object, mut invalid, mut unreadable) = (0, 0, 0, 0, 0);
    let cipher = ValueCipher::new(&DataKey::generate());
    for path in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(text) = std::fs::read_to_string(path) else {
            unreadable += 1;
            continue;
        };
        if serde_json::from_str::<serde_json::Value>(&text).is_err() {
            invalid += 1;
            continue;
        }
        let doc = match JsonDocument::parse(&text) {
            Ok(doc) => doc,
            Err(Error::Syntax { message, .. })
                if message.contains("top level must be an object") =>
            {
                not_object += 1;
                continue;
            }
            Err(Error::Empty) => {
                invalid += 1;
                continue;
            }
            Err(e) => panic!("{path}: serde_json accepts it but we fail: {e}"),
        };
        if doc.metadata().is_some() {
            continue;
        }
        let mut enc = encrypt_leaves(doc.leaves(), &cipher, &Rule::default(), false).unwrap();
        let encrypted =
            String::from_utf8(doc.render(&mut enc.edits, Some(&sample_meta())).unwrap()).unwrap();
        let reference: serde_json::Value =
            serde_json::from_str(&encrypted).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(reference.get("sops").is_some(), "{path}");
        let doc2 = JsonDocument::parse(&encrypted).unwrap();
        let mut dec = decrypt_leaves(doc2.leaves(), &cipher, &Rule::default(), false).unwrap();
        assert_eq!(*dec.mac, *enc.mac, "{path}");
        let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
        if back != text {
            // The only allowed difference: escapes in strings that are written back minimally.
            let a: serde_json::Value = serde_json::from_str(&back).unwrap();
            let b: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(a, b, "{path}: data differs");
            eprintln!("{path}: same data, different escapes");
            escapes += 1;
        } else {
            exact += 1;
        }
    }
    eprintln!(
        "byte-exact {exact}, same data with string escapes normalised {escapes}, not an object {not_object}, invalid {invalid}, unreadable {unreadable}"
    );
}
