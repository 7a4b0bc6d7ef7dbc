//! The streaming paths (line-shaped YAML and pretty-printed JSON) through the binary: the same
//! output and the same errors as the full path, which `secrets` takes for standard input.

use crate::util::*;

/// Pretty-printed JSON with nested objects, arrays of scalars, every type and an escape.
const PRETTY: &str = "{\n  \"name\": \"billing\",\n  \"port\": 8080,\n  \"ratio\": 0.75,\n  \"on\": true,\n  \"none\": null,\n  \"empty\": \"\",\n  \"db\": {\n    \"user\": \"admin\",\n    \"password\": \"s3cr3t \\\"quoted\\\" é\",\n    \"hosts\": [\n      \"db1\",\n      2\n    ],\n    \"opts\": {}\n  },\n  \"api_unencrypted\": \"visible\"\n}\n";

/// Decrypt through the full path (standard input).
fn full(env: &Env, name: &str) -> std::process::Output {
    env.secrets_with_key()
        .args(["decrypt", "--input-type", "json", "-"])
        .stdin(std::fs::File::open(env.path(name)).unwrap())
        .output()
        .unwrap()
}

#[test]
fn pretty_json_decrypts_as_the_full_path_decrypts_it() {
    let env = Env::new();
    env.write("p.json", PRETTY);
    let ours = ok(env
        .secrets_with_key()
        .args(["encrypt", "--age", &env.recipient, "p.json"]));
    env.write("ours.json", &ours);
    let theirs = ok(env
        .sops()
        .args(["encrypt", "--age", &env.recipient, "p.json"]));
    env.write("theirs.json", &theirs);
    for name in ["ours.json", "theirs.json"] {
        let streamed = ok(env.secrets_with_key().args(["decrypt", name]));
        let expected = full(&env, name);
        assert!(expected.status.success());
        assert_same(&streamed, &expected.stdout, name);
        if name == "ours.json" {
            assert_same(&streamed, PRETTY.as_bytes(), "round trip");
        }
        ok(env
            .secrets_with_key()
            .args(["decrypt", name, "--output", "out.json"]));
        assert_same(
            &std::fs::read(env.path("out.json")).unwrap(),
            &streamed,
            "--output",
        );
    }
    ok(env.secrets_with_key().args(["decrypt", "-i", "ours.json"]));
    assert_same(
        &std::fs::read(env.path("ours.json")).unwrap(),
        PRETTY.as_bytes(),
        "--in-place",
    );
}

#[test]
fn a_tampered_pretty_json_file_fails_as_on_the_full_path() {
    let env = Env::new();
    env.write("p.json", PRETTY);
    let enc = String::from_utf8(ok(env.secrets_with_key().args([
        "encrypt",
        "--age",
        &env.recipient,
        "p.json",
    ])))
    .unwrap();
    // Two ciphertexts swapped (their AAD no longer matches), a member removed (the MAC no longer
    // matches), and a value left in plaintext where it should be encrypted.
    let value = |key: &str| {
        let line = enc.lines().find(|l| l.contains(key)).unwrap();
        line.split_once(": ")
            .unwrap()
            .1
            .trim_end_matches(',')
            .to_string()
    };
    let (user, name) = (value("\"user\""), value("\"name\""));
    let swapped = enc
        .replacen(&user, "@", 1)
        .replacen(&name, &user, 1)
        .replacen('@', &name, 1);
    let removed = enc.replacen(&format!("  \"name\": {name},\n"), "", 1);
    let plain = enc.replacen(&name, "\"billing\"", 1);
    for (what, text) in [("swapped", swapped), ("removed", removed), ("plain", plain)] {
        env.write("t.json", &text);
        let streamed = env
            .secrets_with_key()
            .args(["decrypt", "t.json"])
            .output()
            .unwrap();
        let expected = full(&env, "t.json");
        assert!(!expected.status.success(), "{what}");
        assert_eq!(streamed.status.code(), expected.status.code(), "{what}");
        assert!(streamed.stdout.is_empty(), "{what}");
        assert_eq!(
            stderr(&streamed).replace("t.json", "-"),
            stderr(&expected).replace("<stdin>", "-"),
            "{what}"
        );
    }
}

/// `set` of an existing string on the streamed path, in files written by `secrets` and by sops:
/// sops reads the result (MAC included), only the target changes, and setting the value it
/// already has leaves the file byte for byte as it was.
#[test]
fn streamed_set_is_readable_by_sops() {
    // No comments: sops encrypts them, which sends its file to the tree path.
    let yaml = "a: x\nb:\n  c: 'q'\n  d: 1\n  l:\n  - p\n";
    for (name, plain, target) in [
        ("p.json", PRETTY, r#"["db"]["user"]"#),
        ("p.yaml", yaml, r#"["b"]["c"]"#),
    ] {
        let env = Env::new();
        env.write(name, plain);
        let ext = name.rsplit('.').next().unwrap();
        for tool in ["secrets", "sops"] {
            let mut cmd = if tool == "sops" {
                env.sops()
            } else {
                env.secrets_with_key()
            };
            let enc = ok(cmd.args(["encrypt", "--age", &env.recipient, name]));
            let file = format!("{tool}.{ext}");
            env.write(&file, &enc);
            let before = sops_data_of_encrypted(&env, &env.path(&file));
            ok(env
                .secrets_with_key()
                .args(["set", &file, target, "\"n3w value\""]));
            let after = String::from_utf8(sops_data_of_encrypted(&env, &env.path(&file))).unwrap();
            let old = if ext == "json" { "admin" } else { "q" };
            let expected = String::from_utf8(before).unwrap().replacen(
                &format!("\"{old}\""),
                "\"n3w value\"",
                1,
            );
            assert_eq!(after, expected, "{file}");
            let written = std::fs::read(env.path(&file)).unwrap();
            ok(env
                .secrets_with_key()
                .args(["set", &file, target, "n3w value"]));
            assert_same(
                &std::fs::read(env.path(&file)).unwrap(),
                &written,
                "setting the current value",
            );
        }
    }
}
