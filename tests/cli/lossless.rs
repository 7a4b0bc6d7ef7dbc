//! Issue 13: every construct the issue names comes back byte for byte through the real binary,
//! sops 3.11 decrypts our files to the data of its own encryption, and the layout record
//! follows `set`, `rotate` and sops's own rewrites.

use crate::util::{Env, assert_same, ok, run, sops_age_data, sops_data_of_encrypted, stderr};

/// (file name, contents): the constructs the issue lists, each where a user meets it.
const CASES: &[(&str, &str)] = &[
    ("no-final-newline.yaml", "a: x\nb: y"),
    ("bom.yaml", "\u{feff}a: x\nb: 1\n"),
    (
        "binary.yaml",
        "blob: !!binary SGVsbG8=\nblock: !!binary |\n  SGVs\n  bG8=\n",
    ),
    (
        "tags.yaml",
        "ref: !Ref bucket\nstr: !!str 12\nanchored: !!str &a text\nuse: *a\n",
    ),
    (
        "blocks.yaml",
        "lit: |\n  one\n  two\nkeep: |+\n  kept\n\nstrip: |-\n  s\nind: |2\n    two\nlast: x\n",
    ),
    (
        "folded.yaml",
        "f: >\n  a b\n  c\n\n  d\nfs: >-\n  x\n  y\nplain: one\n  two\nq: \"fold\n  ed\"\n",
    ),
    (
        "flow.yaml",
        "langs: ['go', 'python', \"rust\"]\nmap: {'a': x, \"b\": 'y'}\n",
    ),
    (
        "quotes.yaml",
        "lead: ' space'\nesc: \"\\U0001F680 \\u00e9 \\x41\\t\"\nsq: 'it''s'\n",
    ),
    ("crlf-block.yaml", "k: |\r\n  l1\r\n  l2\r\nn: 1\r\n"),
    (
        "numbers.yaml",
        "mode: 0755\nhex: 0x1F\noct: 0o17\nbig: 1_000\nwhen: 2024-01-15\nat: 2001-12-14t21:59:43.10-05:00\n",
    ),
    ("docs.yaml", "%YAML 1.1\n---\na: 1\n...\n---\nb: 2\n"),
    (
        "escapes.json",
        "{\"a\": \"\\u00e9\\/x\", \"b\": \"\\uD83D\\uDE80\", \"n\": 1.50E+01}",
    ),
    (
        "crlf.json",
        "{\r\n  \"a\": \"x\",\r\n  \"b\": [1, 2.0]\r\n}\r\n",
    ),
    (
        "strings.toml",
        "a = \"\\U0001F680\"\nb = 0x1F\nc = 1979-05-27\nd = \"\"\"\nmulti\\\n  line\"\"\"\ne = 'lit'\n[t]\nx.y = 1_000\n",
    ),
];

/// Cases sops-age 4.0.2 cannot read even from sops's own encryption: it knows no `type:time`
/// (YAML timestamps), which sops 3.11 writes; it reads no multi-document YAML file.
const SOPS_AGE_CANNOT: &[&str] = &["numbers.yaml", "docs.yaml"];

/// Each case: our encryption decrypts to the file byte for byte, and sops reads it to the data
/// of its own encryption of the same plaintext, and so does sops-age (TOML: sops has no TOML
/// store).
#[test]
fn every_listed_construct_round_trips_and_sops_reads_it() {
    let env = Env::new();
    for (name, text) in CASES {
        let plain = env.write(name, text);
        let enc = env.write(
            &format!("enc-{name}"),
            ok(env
                .secrets()
                .args(["encrypt", "--age", &env.recipient])
                .arg(&plain)),
        );
        let back = ok(env.secrets_with_key().arg("decrypt").arg(&enc));
        assert_same(
            &back,
            text.as_bytes(),
            &format!("{name}: decrypt(encrypt(f))"),
        );
        let encrypted = std::fs::read_to_string(&enc).unwrap();
        assert!(
            !encrypted.contains("!!binary ENC") && !encrypted.contains("!Ref ENC"),
            "{name}: a tag in front of ENC[...]\n{encrypted}"
        );
        if name.ends_with(".toml") {
            continue;
        }
        let theirs = env.write(
            &format!("sops-{name}"),
            ok(env
                .sops()
                .args(["encrypt", "--age", &env.recipient])
                .arg(&plain)),
        );
        let sops_data = sops_data_of_encrypted(&env, &theirs);
        assert_same(
            &sops_data_of_encrypted(&env, &enc),
            &sops_data,
            &format!("{name}: sops decrypt of ours vs of its own"),
        );
        if SOPS_AGE_CANNOT.contains(name) {
            // sops-age's bug, not ours: it refuses sops's own file too.
            assert!(
                sops_age_data(&env, &theirs).is_err(),
                "{name}: sops-age reads it now"
            );
            continue;
        }
        let expected: serde_json::Value = serde_json::from_slice(&sops_data).unwrap();
        assert_eq!(
            sops_age_data(&env, &enc).unwrap_or_else(|e| panic!("{name}: {e}")),
            expected,
            "{name}: sops-age's data of ours vs sops's data of its own"
        );
    }
}

/// A value inside a block scalar reads as exactly `ENC[...]` (sops's JSON output shows what its
/// YAML reader saw: no trailing newline).
#[test]
fn block_scalar_values_read_without_a_line_break() {
    let env = Env::new();
    let plain = env.write("b.yaml", "k: |\n  one\n  two\n");
    let enc = env.write(
        "enc.yaml",
        ok(env
            .secrets()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)),
    );
    let text = std::fs::read_to_string(&enc).unwrap();
    assert!(text.starts_with("k: |-\n  ENC[AES256_GCM,"), "{text}");
}

const SPELLED: &str = "mode: 0755\nesc: \"\\u00e9\"\nwhen: 2024-01-15\nlast: x";

/// `set` and `rotate` keep every byte they do not change, in a file that needs the record.
#[test]
fn set_and_rotate_keep_the_spelling() {
    let env = Env::new();
    let plain = env.write("s.yaml", SPELLED);
    let enc = env.write(
        "enc.yaml",
        ok(env
            .secrets()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)),
    );
    assert!(
        std::fs::read_to_string(&enc)
            .unwrap()
            .contains("secrets_layout: ENC[")
    );
    ok(env
        .secrets_with_key()
        .args(["set"])
        .arg(&enc)
        .args(["[\"last\"]", "\"y\""]));
    let back = ok(env.secrets_with_key().arg("decrypt").arg(&enc));
    assert_same(
        &back,
        SPELLED.replace("last: x", "last: y").as_bytes(),
        "after set",
    );
    ok(env.secrets_with_key().arg("rotate").arg(&enc));
    let back = ok(env.secrets_with_key().arg("decrypt").arg(&enc));
    assert_same(
        &back,
        SPELLED.replace("last: x", "last: y").as_bytes(),
        "after rotate",
    );
}

/// sops drops the record when it rewrites the file (it keeps no unknown metadata key); the
/// file then decrypts with ours to sops's data, never to a garbled mix.
#[test]
fn sops_rewrites_drop_the_record_cleanly() {
    let env = Env::new();
    let plain = env.write("s.yaml", SPELLED);
    let enc = env.write(
        "enc.yaml",
        ok(env
            .secrets()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)),
    );
    ok(env
        .sops()
        .args(["set"])
        .arg(&enc)
        .args(["[\"last\"]", "\"z\""]));
    assert!(
        !std::fs::read_to_string(&enc)
            .unwrap()
            .contains("secrets_layout")
    );
    let ours = ok(env.secrets_with_key().arg("decrypt").arg(&enc));
    let theirs = ok(env.sops().arg("decrypt").arg(&enc));
    assert_same(&ours, &theirs, "after sops set: ours vs sops decrypt");
}

/// A record whose file was changed by hand around it is ignored: the decryption is the plain
/// one (every value right), not the record applied to other bytes.
#[test]
fn a_stale_record_is_ignored() {
    let env = Env::new();
    let plain = env.write("s.yaml", SPELLED);
    let enc = env.write(
        "enc.yaml",
        ok(env
            .secrets()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)),
    );
    let text = std::fs::read_to_string(&enc).unwrap();
    std::fs::write(&enc, format!("# added by hand\n{text}")).unwrap();
    let back = String::from_utf8(ok(env.secrets_with_key().arg("decrypt").arg(&enc))).unwrap();
    assert_eq!(
        back,
        "# added by hand\nmode: 493\nesc: \"é\"\nwhen: 2024-01-15T00:00:00Z\nlast: x\n"
    );
}

/// What cannot be read is refused by name, nothing written.
#[test]
fn unreadable_input_is_refused_by_name() {
    let env = Env::new();
    let bom = env.write("bom.json", "\u{feff}{\"a\": \"x\"}");
    let out = run(
        env.secrets()
            .args(["encrypt", "--age", &env.recipient, "--output", "out.json"])
            .arg(&bom),
        5,
    );
    assert!(stderr(&out).contains("byte order mark"), "{}", stderr(&out));
    assert!(!env.path("out.json").exists());
}
