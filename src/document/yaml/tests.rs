use super::*;
use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
use crate::document::metadata::{AgeKey, KeyGroup, Metadata, RuleKind};

fn meta() -> MetaValue {
    Metadata {
        key_groups: vec![KeyGroup {
            age: vec![AgeKey {
                recipient: "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq".into(),
                enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3Yx\n-----END AGE ENCRYPTED FILE-----\n".into(),
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

/// Encrypt with `rule`, check the result re-parses with the same metadata, decrypt, and check
/// every byte came back. Returns the encrypted text.
fn round_trip_with(source: &str, rule: &Rule) -> String {
    let doc = YamlDocument::parse(source).unwrap_or_else(|e| panic!("parse: {e}\n{source}"));
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, rule, false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    let doc2 =
        YamlDocument::parse(&encrypted).unwrap_or_else(|e| panic!("re-parse: {e}\n{encrypted}"));
    assert_eq!(doc2.metadata(), Some(&meta()), "{encrypted}");
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, rule, false)
        .unwrap_or_else(|e| panic!("decrypt: {e}\n{encrypted}"));
    assert_eq!(*dec.mac, *enc.mac, "MAC differs\n{encrypted}");
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(back, source, "round trip differs; encrypted:\n{encrypted}");
    encrypted
}

fn round_trip(source: &str) -> String {
    round_trip_with(source, &Rule::default())
}

fn leaf_values(source: &str) -> Vec<(String, Value)> {
    YamlDocument::parse(source)
        .unwrap()
        .leaves
        .iter()
        .map(|l| (l.path.join("."), l.value.clone()))
        .collect()
}

fn value_debug(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool:{b}"),
        Value::Int(n) => format!("int:{n}"),
        Value::Float(f) => format!("float:{f}"),
        Value::Time(t) => format!("time:{t}"),
        Value::Str(s) => format!("str:{s}"),
        Value::Bytes(_) => "bytes".into(),
    }
}

const K8S_SECRET: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: prod
  labels:
    app.kubernetes.io/name: postgres
type: Opaque
stringData:
  username: admin
  password: "s3cr3t!"
  url: postgres://admin@db:5432/app?sslmode=require
data:
  token: c2VjcmV0LXRva2Vu
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: "nginx:1.25"
          args: ["--port", "8080", --verbose]
          ports:
            - containerPort: 8080
              protocol: TCP
          env:
            - name: API_KEY
              value: abc123
            - name: DEBUG
              value: "false"
          resources:
            limits: {cpu: 500m, memory: 128Mi}
"#;

const HELM_VALUES: &str = r#"# Default values for myapp.
# This is a YAML-formatted file.

replicaCount: 1

image:
  repository: nginx   # the image
  pullPolicy: IfNotPresent
  # Overrides the image tag.
  tag: ""

imagePullSecrets: []
nameOverride: ""

serviceAccount:
  create: true
  annotations: {}
  name:

podAnnotations: {}

ingress:
  enabled: false
  hosts:
    - host: chart-example.local
      paths:
        - path: /
          pathType: ImplementationSpecific
  tls: []
  #  - secretName: chart-example-tls
  #    hosts:
  #      - chart-example.local

resources: {}
  # limits:
  #   cpu: 100m

nodeSelector: {}
"#;

const WORKFLOW: &str = r#"name: CI

on:
  push:
    branches: [ main ]
  pull_request:
    branches: [ main, "release/**" ]

env:
  CARGO_TERM_COLOR: always

jobs:
  test:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, windows-latest, macos-latest]
        rust: [stable, "1.80"]
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: cargo build --verbose
      - name: Test
        run: |
          cargo test --all
          echo "done: ${{ secrets.TOKEN }}"
"#;

const COMPOSE: &str = r#"version: "3.9"
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
      POSTGRES_DB: 'app'
    ports:
      - "5432:5432"
    volumes:
      - db-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 10s
      retries: 5
  web:
    build: .
    depends_on:
      - db
volumes:
  db-data:
"#;

const SCALARS: &str = r#"int: 42
octal: 010
hex: 0x1F
under: 1_000
float: 3.0
exp: 1e3
pad: 1.50
inf: .inf
ninf: -.inf
nan: .nan
bools: [true, False, TRUE]
yes: yes
date: 2024-01-15
stamp: 2001-12-14T21:59:43.10-05:00
nul: ~
empty:
str: !!str 12
ref: !Ref my-bucket
sub: !Sub "arn:${AWS::Region}"
unicode: "héllo wörld ✓"
emoji: 🎉 party
single: 'it''s'
double: "tab\there \"q\""
literal: |
  line one
    indented
  line three
strip: |-
  no newline
keep: |+
  kept


indicator: |2
    two extra
folded: >
  folded
  text
multi: plain that
  continues here
"#;

/// The scalars of [`SCALARS`] that come back byte for byte.
const EXACT_SCALARS: &str = r#"int: 42
float: 3.0
exp: 1e3
pad: 1.50
neg: -7
inf: .inf
ninf: -.inf
nan: .nan
bools: [true, False, TRUE]
yes: yes
nul: ~
empty:
str: !!str 12
ref: !Ref my-bucket
sub: !Sub "arn:${AWS::Region}"
unicode: "héllo wörld ✓"
emoji: 🎉 party
single: 'it''s'
double: "tab\there \"q\""
literal: |
  line one
    indented
  line three
strip: |-
  no newline
keep: |+
  kept


indicator: |2
    two extra
literal_comment: |-  # a comment
   three spaces
flow: {a: [x, y], "b": "c", d: 1.5}
list:
- plain
- 'single'
- "double"
- |
  block in list
last: value
"#;

const MULTI_DOC: &str = r#"# first
a: 1
b: secret
---
# second
a: 2
c: [x, y]
...
---
d: last
"#;

const ANCHORS: &str = r#"defaults: &defaults
  adapter: postgres
  host: localhost
  password: hunter2

development:
  <<: *defaults
  database: dev

test:
  <<: *defaults
  database: test

names: &names [a, b]
copy: *names
scalar: &s value
again: *s
"#;

#[test]
fn realistic_files_round_trip_byte_for_byte() {
    for sample in [
        K8S_SECRET,
        DEPLOYMENT,
        HELM_VALUES,
        WORKFLOW,
        COMPOSE,
        EXACT_SCALARS,
        MULTI_DOC,
    ] {
        round_trip(sample);
    }
}

#[test]
fn values_are_typed_as_sops_types_them() {
    let got: Vec<String> = leaf_values(SCALARS)
        .iter()
        .map(|(p, v)| format!("{p}={}", value_debug(v)))
        .collect();
    let want = [
        "int=int:42",
        "octal=int:8",
        "hex=int:31",
        "under=int:1000",
        "float=float:3",
        "exp=float:1000",
        "pad=float:1.5",
        "inf=float:inf",
        "ninf=float:-inf",
        "nan=float:NaN",
        "bools=bool:true",
        "bools=bool:false",
        "bools=bool:true",
        "yes=str:yes",
        "date=time:2024-01-15T00:00:00Z",
        "stamp=time:2001-12-14T21:59:43.1-05:00",
        "nul=null",
        "empty=null",
        "str=str:12",
        "ref=str:my-bucket",
        "sub=str:arn:${AWS::Region}",
        "unicode=str:héllo wörld ✓",
        "emoji=str:🎉 party",
        "single=str:it's",
        "double=str:tab\there \"q\"",
        "literal=str:line one\n  indented\nline three\n",
        "strip=str:no newline",
        "keep=str:kept\n\n\n",
        "indicator=str:  two extra\n",
        "folded=str:folded text\n",
        "multi=str:plain that continues here",
    ];
    assert_eq!(got, want);
    let doc = YamlDocument::parse(SCALARS).unwrap();
    let spelling = |path: &str| {
        doc.leaves
            .iter()
            .find(|l| l.path == [path])
            .unwrap()
            .spelling
            .clone()
    };
    assert_eq!(spelling("pad").as_deref(), Some("1.50"));
    assert_eq!(spelling("exp").as_deref(), Some("1e3"));
    assert_eq!(spelling("int").as_deref(), Some("42"));
    assert_eq!(spelling("hex"), None);
    assert_eq!(spelling("octal"), None);
    assert_eq!(spelling("under"), None);
    assert_eq!(spelling("inf"), None);
}

#[test]
fn encrypted_values_keep_their_quoting_style() {
    let enc = round_trip(EXACT_SCALARS);
    for want in [
        "int: ENC[AES256_GCM,",
        "\nsingle: 'ENC[AES256_GCM,",
        "\nunicode: \"ENC[AES256_GCM,",
        "\nliteral: |\n  ENC[AES256_GCM,",
        "\nstrip: |-\n  ENC[AES256_GCM,",
        "\nliteral_comment: |-  # a comment\n   ENC[AES256_GCM,",
        "\nref: !Ref ENC[AES256_GCM,",
        "\nbools: ['ENC[AES256_GCM,",
        "\nflow: {a: ['ENC[AES256_GCM,",
        "\"b\": \"ENC[AES256_GCM,",
        "\n- 'ENC[AES256_GCM,",
        "\n- |\n  ENC[AES256_GCM,",
        "\nnul: ~\nempty:\n",
    ] {
        assert!(enc.contains(want), "{want}\n{enc}");
    }
}

#[test]
fn non_canonical_spellings_come_back_canonical() {
    let source = "octal: 010\nhex: 0x1F\nunder: 1_000\nstamp: 2001-12-14T21:59:43.10-05:00\nmulti: plain that\n  continues\nflow: ['q', \"d\", p]\n";
    let doc = YamlDocument::parse(source).unwrap();
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    let doc2 = YamlDocument::parse(&encrypted).unwrap();
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false).unwrap();
    assert_eq!(*dec.mac, *enc.mac);
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(
        back,
        "octal: 8\nhex: 31\nunder: 1000\nstamp: 2001-12-14T21:59:43.1-05:00\nmulti: plain that continues\nflow: [q, \"d\", p]\n"
    );
}

#[test]
fn folded_scalars_and_timestamps_come_back_in_sops_form() {
    let source = "a: >\n  folded\n  text\nd: 2024-01-15\n";
    let doc = YamlDocument::parse(source).unwrap();
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    assert!(encrypted.starts_with("a: ENC[AES256_GCM,"), "{encrypted}");
    let doc2 = YamlDocument::parse(&encrypted).unwrap();
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false).unwrap();
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(back, "a: |\n    folded text\nd: 2024-01-15T00:00:00Z\n");
}

#[test]
fn metadata_is_appended_to_every_document_in_the_file_style() {
    let enc = round_trip(MULTI_DOC);
    let block_start = enc.find("sops:\n").unwrap();
    assert_eq!(enc.matches("\nsops:\n").count(), 3, "{enc}");
    assert!(
        enc[block_start..].starts_with("sops:\n    age:\n        - recipient: age1"),
        "{enc}"
    );
    assert!(
        enc.contains("\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{enc}"
    );
    assert!(
        enc.contains("\n    lastmodified: \"2026-01-01T00:00:00Z\"\n"),
        "{enc}"
    );
    assert!(enc.contains("    version: 3.11.0\n...\n---\nd: "), "{enc}");
    // Two-space files get a two-space block.
    let enc = round_trip(K8S_SECRET);
    assert!(
        enc.contains("\nsops:\n  age:\n    - recipient: age1"),
        "{enc}"
    );
    assert!(enc.contains("\n      enc: |\n        -----BEGIN"), "{enc}");
}

#[test]
fn a_missing_final_newline_is_added_before_the_block() {
    let source = "a: 1";
    let doc = YamlDocument::parse(source).unwrap();
    let out = String::from_utf8(
        doc.render(&mut Vec::<Option<Replacement>>::new(), Some(&meta()))
            .unwrap(),
    )
    .unwrap();
    assert!(out.starts_with("a: 1\nsops:\n"), "{out}");
    let back = YamlDocument::parse(&out)
        .unwrap()
        .render(&mut Vec::<Option<Replacement>>::new(), None)
        .unwrap();
    assert_eq!(String::from_utf8(back).unwrap(), "a: 1\n");
}

#[test]
fn aliases_are_walked_as_copies_and_expanded_when_encrypted() {
    let doc = YamlDocument::parse(ANCHORS).unwrap();
    let paths: Vec<String> = doc.leaves.iter().map(|l| l.path.join(":")).collect();
    assert_eq!(
        paths,
        [
            "defaults:adapter",
            "defaults:host",
            "defaults:password",
            "development:<<:adapter",
            "development:<<:host",
            "development:<<:password",
            "development:database",
            "test:<<:adapter",
            "test:<<:host",
            "test:<<:password",
            "test:database",
            "names",
            "names",
            "copy",
            "copy",
            "scalar",
            "again",
        ]
    );
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    assert!(
        encrypted.contains("\n  <<: {\"adapter\": \"ENC[AES256_GCM,"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("type:str]\"} # secrets:alias *defaults\n  database: "),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("\ncopy: [\"ENC[AES256_GCM,"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("type:str]\"] # secrets:alias *names\n"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("\nnames: &names ['ENC[AES256_GCM,"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("\nagain: \"ENC[AES256_GCM,"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("type:str]\" # secrets:alias *s\n"),
        "{encrypted}"
    );
    let doc2 = YamlDocument::parse(&encrypted).unwrap();
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false).unwrap();
    assert_eq!(*dec.mac, *enc.mac);
    // Decryption writes the aliases back.
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(back, ANCHORS);
    // Unencrypted aliases stay aliases.
    round_trip_with(
        ANCHORS,
        &Rule::EncryptedRegex(regex::Regex::new("^database$").unwrap()),
    );
}

#[test]
fn partial_encryption_leaves_the_rest_untouched() {
    let rule = Rule::EncryptedRegex(regex::Regex::new("^(password|data|stringData)$").unwrap());
    let enc = round_trip_with(K8S_SECRET, &rule);
    assert!(enc.contains("\n  name: db-credentials\n"));
    assert!(enc.contains("\n  password: \"ENC[AES256_GCM,"));
    round_trip_with(HELM_VALUES, &Rule::UnencryptedSuffix("Override".into()));
}

#[test]
fn decrypted_strings_fall_back_to_quotes_or_literal_blocks() {
    // A sops-written file has every value plain.
    let source = "a: x\nb: y\nc: z\nd: w\n";
    let doc = YamlDocument::parse(source).unwrap();
    let plain = |s: &str| {
        Some(Replacement::Decrypted(crate::document::Plaintext {
            kind: ValueType::Str,
            bytes: zeroize::Zeroizing::new(s.as_bytes().to_vec()),
        }))
    };
    let mut edits = vec![
        plain("line1\nline2\n"),
        plain("true"),
        plain("a: b"),
        plain("é ok"),
    ];
    let out = String::from_utf8(doc.render(&mut edits, None).unwrap()).unwrap();
    assert_eq!(
        out,
        "a: |\n    line1\n    line2\nb: \"true\"\nc: \"a: b\"\nd: é ok\n"
    );
}

#[test]
fn errors_point_at_lines_not_values() {
    let err = YamlDocument::parse("a: 1\nb:\n  c: 1\n  c: hunter2\n")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("[\"b\"][\"c\"]") && err.contains("line 4"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    let err = YamlDocument::parse("- a\n- b\n").err().unwrap().to_string();
    assert!(err.contains("mapping"), "{err}");
    let err = YamlDocument::parse("a: 1\n---\n- x\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("document 2"), "{err}");
    let err = YamlDocument::parse("a: b\n c: d\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    let err = YamlDocument::parse("a: 18446744073709551615\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[\"a\"]"), "{err}");
}

#[test]
fn metadata_is_read_with_types() {
    let source = "a: 1\nsops:\n    shamir_threshold: 2\n    mac_only_encrypted: true\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    age:\n        - recipient: r\n          enc: |\n            X\n";
    let doc = YamlDocument::parse(source).unwrap();
    assert_eq!(doc.leaves.len(), 1);
    let m = doc.metadata().unwrap();
    assert_eq!(m.get("shamir_threshold"), Some(&MetaValue::Int(2)));
    assert_eq!(m.get("mac_only_encrypted"), Some(&MetaValue::Bool(true)));
    assert_eq!(
        m.get("age"),
        Some(&MetaValue::List(vec![MetaValue::Map(vec![
            ("recipient".into(), MetaValue::Str("r".into())),
            ("enc".into(), MetaValue::Str("X\n".into())),
        ])]))
    );
    let out = doc
        .render(&mut Vec::<Option<Replacement>>::new(), None)
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "a: 1\n");
}

#[test]
fn encrypted_comments_are_leaves_of_their_mapping() {
    let enc = "ENC[AES256_GCM,data:x,iv:y,tag:z,type:comment]";
    let source = format!(
        "#{enc}\na: 1\nb:\n    #{enc}\n    c: 2\n    l:\n        - x\n        #{enc}\n        - y\n"
    );
    let doc = YamlDocument::parse(&source).unwrap();
    let comments: Vec<String> = doc
        .leaves
        .iter()
        .filter(|l| l.comment)
        .map(|l| l.path.join(":"))
        .collect();
    assert_eq!(comments, ["", "b", "b:l"]);
    // sops writes a comment in a list as an item, and a comment trailing a block at its indentation.
    let source = format!("l:\n    - x\n    - {enc}\nb:\n    c: 1\n    #{enc}\ne: 2\n");
    let doc = YamlDocument::parse(&source).unwrap();
    let comments: Vec<String> = doc
        .leaves
        .iter()
        .filter(|l| l.comment)
        .map(|l| l.path.join(":"))
        .collect();
    assert_eq!(comments, ["l", "b"]);
}

#[test]
fn trees_load_and_emit() {
    let tree = load_tree(SCALARS).unwrap();
    let out = emit_tree(&tree);
    assert_eq!(emit_tree(&load_tree(&out).unwrap()), out);
    let tree = load_tree(ANCHORS).unwrap();
    let out = emit_tree(&tree);
    // sops's indent of 4.
    assert!(
        out.starts_with("defaults:\n    adapter: postgres\n"),
        "{out}"
    );
    assert_eq!(load_tree(&out).unwrap(), tree);
}

/// Encrypt and decrypt with a fresh key; Ok(decrypted text) or the first error.
fn try_round_trip(source: &str) -> Result<String, String> {
    let doc = YamlDocument::parse(source).map_err(|e| format!("parse: {e}"))?;
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc =
        encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).map_err(|e| e.to_string())?;
    let encrypted = String::from_utf8(
        doc.render(&mut enc.edits, Some(&meta()))
            .map_err(|e| e.to_string())?,
    )
    .unwrap();
    let doc2 = YamlDocument::parse(&encrypted).map_err(|e| format!("re-parse: {e}"))?;
    if doc2.metadata() != Some(&meta()) {
        return Err("metadata not read back".into());
    }
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false)
        .map_err(|e| format!("decrypt: {e}"))?;
    if *dec.mac != *enc.mac {
        return Err("MAC differs".into());
    }
    Ok(String::from_utf8(
        doc2.render(&mut dec.edits, None)
            .map_err(|e| e.to_string())?,
    )
    .unwrap())
}

/// Round-trips every YAML file on this machine that sops could encrypt: the data must always
/// come back; the bytes must too unless a documented exception applies (listed for review).
/// Run with `cargo test --lib yaml::tests::machine_files -- --ignored --nocapture`.
#[test]
#[ignore]
#[allow(clippy::print_stdout)]
fn machine_files() {
    let list = std::process::Command::new("sh")
        .arg("-c")
        .arg("find / \\( -path /proc -o -path /sys \\) -prune -o \\( -name '*.yaml' -o -name '*.yml' \\) -size -200k -print 2>/dev/null | head -300")
        .output()
        .unwrap();
    let (mut exact, mut data_only, mut skipped, mut failed) = (0, 0, 0, 0);
    for path in String::from_utf8_lossy(&list.stdout).lines() {
        let Ok(text) = std::fs::read_to_string(path) else {
            skipped += 1;
            continue;
        };
        match YamlDocument::parse(&text) {
            Ok(doc) if doc.metadata().is_none() => {}
            _ => {
                skipped += 1;
                continue;
            }
        }
        match try_round_trip(&text) {
            Ok(back) if back == text => exact += 1,
            Ok(back) => {
                let same_data = load_tree(&back).map(|t| emit_tree(&t)).ok()
                    == load_tree(&text).map(|t| emit_tree(&t)).ok();
                let first = text.lines().zip(back.lines()).find(|(a, b)| a != b);
                if same_data {
                    data_only += 1;
                    println!("NOT EXACT: {path}: {first:?}");
                } else {
                    failed += 1;
                    println!("DATA DIFFERS: {path}: {first:?}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAILED: {path}: {e}");
            }
        }
    }
    println!(
        "machine files: {exact} byte-exact, {data_only} same data but not byte-exact, {skipped} skipped, {failed} failed"
    );
    assert_eq!(failed, 0);
}

#[test]
fn a_top_level_flow_mapping_gets_a_sops_member_in_its_layout() {
    // Multi-line, trailing comma, comments, several documents.
    let source = "---\n{\n  apiVersion: \"v1\",\n  data: {\n    user: \"admin\", # required\n    port: 5432,\n  },\n}\n---\n{\n  b: [1, 2],\n}\n";
    let enc = round_trip(source);
    assert_eq!(
        enc.matches("\n  \"sops\": {\"age\": [{\"recipient\": \"age1")
            .count(),
        2,
        "{enc}"
    );
    assert!(enc.contains("\"version\": \"3.11.0\"},\n}\n---\n"), "{enc}");
    assert!(
        enc.contains("\"enc\": \"-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl"),
        "{enc}"
    );
    assert!(
        enc.contains("\"lastmodified\": \"2026-01-01T00:00:00Z\""),
        "{enc}"
    );
    assert!(enc.contains("user: \"ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("port: 'ENC[AES256_GCM,"), "{enc}");
    // Multi-line without a trailing comma: a comma is added after the last member (before its comment).
    let source = "{\n    a: 1,\n    b: x # note\n}\n";
    let enc = round_trip(source);
    assert!(enc.contains("'ENC[AES256_GCM,"), "{enc}");
    let lines: Vec<&str> = enc.lines().collect();
    assert!(
        lines[2].starts_with("    b: 'ENC[") && lines[2].ends_with("', # note"),
        "{enc}"
    );
    assert!(
        lines[3].starts_with("    \"sops\": {") && lines[3].ends_with('}') && lines[4] == "}",
        "{enc}"
    );
    // One line, with and without a trailing comma; empty; CRLF; no final newline.
    for source in [
        "{a: 1, b: [x, {c: d}]}\n",
        "{ a: 1, }",
        "{a: 1,\n b: 2 }\n",
        "{}\n",
        "{\r\n  a: 1\r\n}\r\n",
        "&x {a: b}",
    ] {
        let enc = round_trip(source);
        assert!(enc.contains("\"sops\": {\"age\""), "{enc}");
    }
    let enc = round_trip("{a: 1, b: 2}\n");
    assert!(
        enc.starts_with("{a: 'ENC[")
            && enc.contains("', \"sops\": {\"age\"")
            && enc.ends_with("\"version\": \"3.11.0\"}}\n"),
        "{enc}"
    );
    let enc = round_trip("{a: 1, }\n");
    assert!(
        enc.contains("', \"sops\": {") && enc.ends_with("\"3.11.0\"}, }\n"),
        "{enc}"
    );
    // Replacing an existing member keeps it in place.
    let doc = YamlDocument::parse(&enc).unwrap();
    let mut m = meta();
    if let MetaValue::Map(items) = &mut m {
        items.retain(|(k, _)| k != "unencrypted_suffix");
    }
    let out = String::from_utf8(
        doc.render(&mut Vec::<Option<Replacement>>::new(), Some(&m))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(YamlDocument::parse(&out).unwrap().metadata(), Some(&m));
    assert_eq!(
        out.len(),
        enc.len() - ", \"unencrypted_suffix\": \"_unencrypted\"".len(),
        "{out}"
    );
}

#[test]
fn flow_collections_end_at_their_bracket_with_a_trailing_comma() {
    let src = "{\n  a: [1, 2, ],\n  b: {\n    c: 1,\n  },\n  d: [e: 1],\n}\n";
    let p = parse::parse(src).unwrap();
    let texts: Vec<&str> = p
        .nodes
        .iter()
        .filter(|n| !matches!(n.kind, Kind::Scalar(_)))
        .map(|n| &src[n.start..n.end])
        .collect();
    assert_eq!(
        texts,
        [
            &src[..src.len() - 1],
            "[1, 2, ]",
            "{\n    c: 1,\n  }",
            "[e: 1]",
            "e: 1"
        ]
    );
}

#[test]
fn under_indented_flow_content_is_accepted_as_go_yaml_does() {
    // A closing bracket at its key's column (circleci), flow content left of the block's
    // indentation, a non-ASCII value on a shifted line; the spans stay exact.
    let source = "jobs:\n  - build:\n      params:\n        img: [\n          # comment\n          \"rust:1.48\"\n        ]\n        tc: [\n          \"a\", # why\n    \"é\",\n        ]\n        m: {\n  k: \"v\"\n}\n        n: 1\n";
    let leaves = leaf_values(source);
    let got: Vec<String> = leaves
        .iter()
        .map(|(p, v)| format!("{p}={}", value_debug(v)))
        .collect();
    assert_eq!(
        got,
        [
            "jobs.build.params.img=str:rust:1.48",
            "jobs.build.params.tc=str:a",
            "jobs.build.params.tc=str:é",
            "jobs.build.params.m.k=str:v",
            "jobs.build.params.n=int:1"
        ]
    );
    let p = parse::parse(source).unwrap();
    let seqs: Vec<&str> = p
        .nodes
        .iter()
        .filter(|n| n.flow && !matches!(n.kind, Kind::Scalar(_)))
        .map(|n| &source[n.start..n.end])
        .collect();
    assert_eq!(
        seqs,
        [
            "[\n          # comment\n          \"rust:1.48\"\n        ]",
            "[\n          \"a\", # why\n    \"é\",\n        ]",
            "{\n  k: \"v\"\n}"
        ]
    );
    let e_node = p
        .nodes
        .iter()
        .find(|n| matches!(&n.kind, Kind::Scalar(s) if s.value == "é"))
        .unwrap();
    assert_eq!((e_node.line, e_node.col), (10, 4));
    let enc = round_trip(source);
    assert!(enc.contains("\n    \"ENC[AES256_GCM,"), "{enc}");
    // Errors after a shifted line point at the source's line and column.
    let err = YamlDocument::parse("a:\n  k: [\n  x\n  ]\n  b: 1\n   c: 2\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("line 6"), "{err}");
    let err = YamlDocument::parse("a:\n  k: [x,\n y]\n  b: [\n\"z\n w\"]\n   c: 2\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("line 7, column 4"), "{err}");
    // So are continuation lines of a quoted scalar (their leading blanks are not in the value).
    let got: Vec<String> = leaf_values("a:\n  k: [x,\n y, \"z\n w\"]\n  l: 'p\nq'\n")
        .iter()
        .map(|(_, v)| value_debug(v))
        .collect();
    assert_eq!(got, ["str:x", "str:y", "str:z w", "str:p q"]);
    let back = try_round_trip("a:\n  k: [x,\n y, \"z\n w\"]\n  l: 'p\nq'\n").unwrap();
    assert_eq!(back, "a:\n  k: [x,\n y, \"z w\"]\n  l: 'p q'\n");
    // Indentation outside flow collections is still checked.
    assert!(YamlDocument::parse("a:\n  b: 1\n c: 2\n").is_err());
}

/// Encrypt with `rule`, decrypt, and return (encrypted, decrypted), checking the MAC.
fn encrypt_decrypt(source: &str, rule: &Rule) -> (String, String) {
    let doc = YamlDocument::parse(source).unwrap();
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, rule, false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    let doc2 = YamlDocument::parse(&encrypted).unwrap_or_else(|e| panic!("{e}\n{encrypted}"));
    let mut dec = decrypt_leaves(&doc2.leaves, &cipher, rule, false).unwrap();
    assert_eq!(*dec.mac, *enc.mac, "{encrypted}");
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    assert_eq!(
        load_tree(&back).unwrap(),
        load_tree(source).unwrap(),
        "{back}"
    );
    (encrypted, back)
}

#[test]
fn decryption_writes_expanded_aliases_back() {
    // Nested aliases, a trailing comment, a redefined anchor, a sequence item, several documents.
    let source = "base: &b {x: 1, y: [a, \"b\"]}\nmid: &m\n  inner: *b # why\n  z: 2.50\nlast: *m\nv: &x one\nw: *x\nv2: &x two\nw2: *x\nl:\n  - *x\n  - &n\n    k: v\n  - *n\n---\nv: &x three\nw: *x\n";
    let (enc, back) = encrypt_decrypt(source, &Rule::default());
    assert_eq!(back, source, "{enc}");
    assert!(enc.contains("]} # secrets:alias *b # why\n"), "{enc}");
    assert!(enc.contains("\n  - {\"k\": \"ENC[AES256_GCM,"), "{enc}");
    assert_eq!(enc.matches(" # secrets:alias *").count(), 7, "{enc}");
    // Aliases inside flow collections have no room for the marker and stay expanded.
    let source = "a: &a s3cr3t\nb: [*a, *a]\nc: {k: *a}\n";
    let (enc, back) = encrypt_decrypt(source, &Rule::default());
    assert!(!enc.contains("secrets:alias"), "{enc}");
    assert_eq!(
        back,
        "a: &a s3cr3t\nb: [\"s3cr3t\", \"s3cr3t\"]\nc: {k: \"s3cr3t\"}\n"
    );
    // Only the copy encrypted (its path matches the rule): the anchor is plaintext, still restored.
    let source = "defaults: &d\n  port: 5432\n  user: app\nprod:\n  <<: *d\n";
    let (enc, back) = encrypt_decrypt(
        source,
        &Rule::EncryptedRegex(regex::Regex::new("^prod$").unwrap()),
    );
    assert!(
        enc.contains("\n  port: 5432\n") && enc.contains("# secrets:alias *d\n"),
        "{enc}"
    );
    assert_eq!(back, source);
}

#[test]
fn a_marked_copy_that_differs_from_its_anchor_stays_expanded() {
    let source = "d: &d\n  k: v\ne: *d\n";
    let doc = YamlDocument::parse(source).unwrap();
    let cipher = ValueCipher::new(&DataKey::generate());
    let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).unwrap();
    let encrypted = String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
    assert!(
        encrypted.contains("type:str]\"} # secrets:alias *d\n"),
        "{encrypted}"
    );
    let doc2 = YamlDocument::parse(&encrypted).unwrap();
    assert_eq!(doc2.leaves.len(), 2);
    let plain = |s: &str| {
        Some(Replacement::Decrypted(crate::document::Plaintext {
            kind: ValueType::Str,
            bytes: zeroize::Zeroizing::new(s.as_bytes().to_vec()),
        }))
    };
    // The anchored value was changed (say by `sops set`): the copy keeps its own value.
    let out = String::from_utf8(
        doc2.render(&mut vec![plain("changed"), plain("v")], None)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, "d: &d\n  k: changed\ne: {\"k\": \"v\"}\n");
    let out = String::from_utf8(
        doc2.render(&mut vec![plain("v"), plain("v")], None)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, source);
    // In an encrypted file, a marker naming an unknown anchor is left alone (and dropped on
    // decryption); a plaintext file may not hold one at all.
    let doc3 =
        YamlDocument::parse("e: x # secrets:alias *nope\nsops:\n    version: 3.11.0\n").unwrap();
    let out = String::from_utf8(doc3.render(&mut vec![plain("x")], None).unwrap()).unwrap();
    assert_eq!(out, "e: x\n");
}

#[test]
fn columns_count_characters_and_stay_linear_on_a_long_line() {
    let p = parse::parse("k: [é, ü, x]\nm: {ä: 1, b: 2}\n").unwrap();
    let at = |v: &str| {
        p.nodes
            .iter()
            .find(|n| matches!(&n.kind, Kind::Scalar(s) if s.value == v))
            .map(|n| (n.line, n.col))
            .unwrap()
    };
    assert_eq!(at("x"), (1, 10));
    assert_eq!(at("b"), (2, 10));
    // 200,000 values on one line: each column used to be counted from the line's start, which
    // made this quadratic (minutes); it is an index lookup now.
    let line = format!("k: [{}]\n", vec!["ab"; 200_000].join(", "));
    let p = parse::parse(&line).unwrap();
    assert_eq!(p.nodes.last().unwrap().col, 4 + 4 * 199_999);
}

#[test]
fn alias_bombs_and_deep_nesting_are_errors() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10u8 {
        let (p, c) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        bomb.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{p}"); 9].join(", ")
        ));
    }
    let err = YamlDocument::parse(&bomb).err().unwrap().to_string();
    assert!(
        err.contains("aliases expand to more than 100000 nodes"),
        "{err}"
    );
    let err = load_tree(&bomb).err().unwrap().to_string();
    assert!(
        err.contains("aliases expand to more than 100000 nodes"),
        "{err}"
    );
    // Block nesting past the limit, deep enough to have overflowed saphyr's recursive loader.
    let mut deep = String::new();
    for i in 0..2_100 {
        deep.push_str(&format!("{}k:\n", " ".repeat(i)));
    }
    deep.push_str(&format!("{}k: v\n", " ".repeat(2_100)));
    let err = YamlDocument::parse(&deep).err().unwrap().to_string();
    assert!(
        err.contains("line 257") && err.contains("nesting is too deep"),
        "{err}"
    );
    // At the limit, it parses.
    let mut ok = String::new();
    for i in 0..255 {
        ok.push_str(&format!("{}k:\n", " ".repeat(i)));
    }
    ok.push_str(&format!("{}k: v\n", " ".repeat(255)));
    assert_eq!(YamlDocument::parse(&ok).unwrap().leaves().len(), 1);
    assert!(load_tree(&ok).is_ok());
    // Aliases may not take the walk past the nesting limit either.
    let mut chain = String::from("a0: &a0 [x]\n");
    for i in 1..40 {
        let inner = format!("{}*a{}{}", "[".repeat(30), i - 1, "]".repeat(30));
        chain.push_str(&format!("a{i}: &a{i} {inner}\n"));
    }
    let err = YamlDocument::parse(&chain).err().unwrap().to_string();
    assert!(err.contains("deeper than 256 levels"), "{err}");
}

/// Found by fuzzing (yaml): an `#ENC[...]` comment inside the `sops` block became a comment
/// leaf whose span lay inside the block the writer replaces, and rendering panicked on the
/// overlapping edits (reachable with a comment that decrypts, moved into the block).
#[test]
fn an_encrypted_comment_inside_the_sops_block_is_not_a_leaf() {
    let cipher = ValueCipher::new(&DataKey::generate());
    let comment = cipher.encrypt(b" note", b":", crate::document::ValueType::Comment);
    for source in [
        format!("\nsops: #{comment}\n"),
        format!("a_unencrypted: 1\nsops:\n    #{comment}\n    version: 3.11.0\n"),
        "\nsops: #ENC[AES256_GCM,data:".to_string(),
    ] {
        let doc = YamlDocument::parse(&source).unwrap();
        assert!(doc.leaves().iter().all(|l| !l.comment), "{source}");
        let mut dec = decrypt_leaves(doc.leaves(), &cipher, &Rule::default(), false).unwrap();
        doc.render(&mut dec.edits, Some(&meta())).unwrap();
    }
}

/// Found by fuzzing (metadata): a block scalar header at the very end of the input (` |`)
/// made the block-scalar reader slice past the end and panic.
#[test]
fn a_block_scalar_header_at_the_end_of_the_input_does_not_panic() {
    for source in [" |", "|", "a: |", "- >", "a: !t |", " |\n", "k: >-"] {
        let _ = YamlDocument::parse(source);
        let _ = crate::document::tree::load(crate::document::Format::Yaml, source);
    }
}

#[test]
fn a_plaintext_comment_spelled_like_the_alias_marker_is_refused() {
    // Found by fuzzing: after encryption the comment would read as our marker, and decryption
    // would put an alias where the value was.
    let source = "a: &x one\ndescription: text # secrets:alias *x\n";
    let err = YamlDocument::parse(source).err().expect("refused");
    let message = err.to_string();
    assert!(
        message.contains("line 2") && message.contains("reserved"),
        "{message}"
    );
    assert!(
        !message.contains("text"),
        "no value in the message: {message}"
    );
}

#[test]
fn a_tagged_root_mapping_gets_its_sops_block_at_its_keys_column() {
    // Found by fuzzing: the block went to column 0, under a root whose keys sit at column 2,
    // and the encrypted file did not parse.
    let source = "!tag\n  a: 1\n  b: x\n";
    let (enc, back) = encrypt_decrypt(source, &Rule::default());
    assert!(enc.contains("\n  sops:\n"), "{enc}");
    assert_eq!(back, source);
}

#[test]
fn control_characters_are_refused_as_sops_refuses_them() {
    // Found by fuzzing: saphyr read a value holding backspaces, and the encrypted file did not
    // parse again. go-yaml (sops) refuses such a file: so do we, naming the place.
    let err = YamlDocument::parse("k: a\u{8}b\n")
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("line 1, column 5") && err.contains("control characters"),
        "{err}"
    );
    assert!(YamlDocument::parse("k: \"tab\there\"\nu: é\n").is_ok());
}
