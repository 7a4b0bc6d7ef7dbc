//! Bad input: a one-line error naming the file (and key path or line), a distinct exit code,
//! nothing on stdout, no output file written, and never a secret value in any message.

use std::process::Output;

use crate::util::{Env, ok, run, stderr};

const CANARY: &str = "canary-Zq9x7Wv3";

fn plain_env() -> String {
    format!("DB_USER=admin\nDB_PASSWORD={CANARY}\nAPI_TOKEN=tok-{CANARY}\n")
}

/// An encrypted dotenv file holding the canary.
fn encrypted(env: &Env) -> String {
    env.write("plain.env", plain_env());
    String::from_utf8(ok(env.secrets().args([
        "encrypt",
        "--age",
        &env.recipient,
        "plain.env",
    ])))
    .unwrap()
}

/// Run, expect `code`, check stderr names `file` and every line says nothing secret.
fn fails(env: &Env, args: &[&str], code: i32, file: &str, needle: &str) -> Output {
    let out = run(env.secrets_with_key().args(args), code);
    let err = stderr(&out);
    assert!(
        out.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(file), "stderr does not name {file}: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains(CANARY), "a secret leaked into stderr: {err}");
    assert!(
        !err.contains("-----BEGIN AGE"),
        "key material in stderr: {err}"
    );
    out
}

#[test]
fn a_missing_file_is_exit_3() {
    let env = Env::new();
    fails(&env, &["decrypt", "nope.env"], 3, "nope.env", "cannot read");
    fails(
        &env,
        &["encrypt", "--age", &env.recipient, "nope.yaml"],
        3,
        "nope.yaml",
        "cannot read",
    );
}

#[test]
fn an_empty_file_is_exit_13() {
    let env = Env::new();
    for name in ["e.yaml", "e.json", "e.env", "e.toml", "e.ini"] {
        env.write(name, "");
        fails(
            &env,
            &["encrypt", "--age", &env.recipient, name],
            13,
            name,
            "empty",
        );
        fails(&env, &["decrypt", name], 13, name, "empty");
    }
}

#[test]
fn malformed_documents_are_exit_5_with_the_line() {
    let env = Env::new();
    let cases = [
        (
            "bad.yaml",
            format!("a: 1\nb: [unclosed, {CANARY}\n"),
            "line",
        ),
        (
            "bad.json",
            format!("{{\n  \"a\": \"{CANARY}\",\n  \"b\": \n}}\n"),
            "line 4",
        ),
        (
            "bad.toml",
            format!("a = 1\nb = \"{CANARY}\nc = 2\n"),
            "line 2",
        ),
        (
            "bad.env",
            format!("A={CANARY}\nno equals sign here\n"),
            "line 2",
        ),
        (
            "bad.ini",
            format!("[s]\na = {CANARY}\n[unclosed\n"),
            "line 3",
        ),
        (
            "garbage.json",
            "\u{0}\u{1}\u{2}\u{ff}binary".to_string(),
            "invalid",
        ),
    ];
    for (name, text, needle) in cases {
        env.write(name, text);
        fails(
            &env,
            &["encrypt", "--age", &env.recipient, name],
            5,
            name,
            needle,
        );
    }
}

#[test]
fn decrypting_a_plain_file_is_exit_6_and_encrypting_twice_is_exit_7() {
    let env = Env::new();
    env.write("p.env", plain_env());
    let out = fails(&env, &["decrypt", "p.env"], 6, "p.env", "not encrypted");
    assert!(stderr(&out).contains("hint: "));
    env.write("e.env", encrypted(&env));
    fails(
        &env,
        &["encrypt", "--age", &env.recipient, "e.env"],
        7,
        "e.env",
        "already encrypted",
    );
}

#[test]
fn a_wrong_or_missing_key_is_exit_8_and_lists_the_places_searched() {
    let env = Env::new();
    env.write("e.env", encrypted(&env));
    // No key anywhere.
    let out = run(env.secrets().args(["decrypt", "e.env"]), 8);
    let err = stderr(&out);
    for place in [
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY:",
        "SOPS_AGE_KEY_CMD",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
        "keys.txt",
        "id_ed25519",
    ] {
        assert!(err.contains(place), "{place} not listed: {err}");
    }
    assert!(err.contains(&env.recipient), "{err}");
    // Another key.
    env.write(
        "other.txt",
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n",
    );
    let out = run(
        env.secrets()
            .args(["--identity", "other.txt", "decrypt", "e.env"]),
        8,
    );
    assert!(
        stderr(&out).contains("--identity other.txt"),
        "{}",
        stderr(&out)
    );
    // No recipient to encrypt for.
    fails(
        &env,
        &["encrypt", "plain.env"],
        8,
        "plain.env",
        "no recipients",
    );
}

fn tamper(env: &Env, edit: impl Fn(&str) -> String) -> String {
    let text = edit(&encrypted(env));
    env.write("t.env", &text);
    text
}

fn value_of<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap()
}

#[test]
fn tampered_values_are_exit_9_naming_the_key_path() {
    let env = Env::new();
    // A flipped ciphertext character.
    tamper(&env, |t| {
        let v = value_of(t, "DB_PASSWORD");
        let flipped = v
            .replacen("data:", "data:A", 1)
            .replacen("data:A", "data:", 0);
        let mut bytes = flipped.into_bytes();
        let i = "ENC[AES256_GCM,data:".len();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        t.replace(v, &String::from_utf8(bytes).unwrap())
    });
    fails(&env, &["decrypt", "t.env"], 9, "t.env", "[\"DB_PASSWORD\"]");
    // A truncated envelope.
    tamper(&env, |t| {
        let v = value_of(t, "DB_PASSWORD");
        t.replace(v, &v[..40])
    });
    fails(&env, &["decrypt", "t.env"], 9, "t.env", "malformed");
    // Bad base64.
    tamper(&env, |t| {
        let v = value_of(t, "DB_PASSWORD");
        t.replace(v, &v.replacen("data:", "data:*", 1))
    });
    fails(&env, &["decrypt", "t.env"], 9, "t.env", "base64");
    // Two values swapped between keys: the AAD binds each to its key.
    tamper(&env, |t| {
        let (a, b) = (
            value_of(t, "DB_PASSWORD").to_string(),
            value_of(t, "API_TOKEN").to_string(),
        );
        t.replace(&a, "@@A").replace(&b, &a).replace("@@A", &b)
    });
    fails(&env, &["decrypt", "t.env"], 9, "t.env", "[\"");
    // A value replaced by plaintext.
    tamper(&env, |t| t.replace(value_of(t, "DB_PASSWORD"), "injected"));
    fails(
        &env,
        &["decrypt", "t.env"],
        9,
        "t.env",
        "should be encrypted",
    );
}

#[test]
fn tampered_mac_or_metadata_is_caught() {
    let env = Env::new();
    // Reordered values: the MAC covers the order.
    tamper(&env, |t| {
        let lines: Vec<&str> = t.lines().collect();
        let mut v = lines.clone();
        v.swap(1, 2);
        v.join("\n") + "\n"
    });
    let out = fails(&env, &["decrypt", "t.env"], 10, "t.env", "MAC");
    assert!(stderr(&out).contains("--ignore-mac"));
    // ...which --ignore-mac accepts.
    ok(env
        .secrets_with_key()
        .args(["decrypt", "--ignore-mac", "t.env"]));
    // lastmodified changed: the MAC's AAD no longer matches.
    tamper(&env, |t| {
        let lm = value_of(t, "sops_lastmodified").to_string();
        t.replace(&lm, "2001-01-01T00:00:00Z")
    });
    fails(&env, &["decrypt", "t.env"], 10, "t.env", "MAC");
    // MAC removed.
    tamper(&env, |t| {
        t.lines()
            .filter(|l| !l.starts_with("sops_mac="))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    fails(&env, &["decrypt", "t.env"], 10, "t.env", "no MAC");
    // lastmodified garbled.
    tamper(&env, |t| {
        let lm = value_of(t, "sops_lastmodified").to_string();
        t.replace(&lm, "yesterday")
    });
    fails(&env, &["decrypt", "t.env"], 11, "t.env", "lastmodified");
    // The age stanza garbled.
    tamper(&env, |t| {
        t.replace(
            "sops_age__list_0__map_enc=-----BEGIN",
            "sops_age__list_0__map_enc=-----BEGXN",
        )
    });
    fails(
        &env,
        &["decrypt", "t.env"],
        8,
        "t.env",
        "no matching age identity",
    );
}

#[test]
fn failures_never_write_or_truncate_the_output() {
    let env = Env::new();
    let text = tamper(&env, |t| t.replace(value_of(t, "DB_PASSWORD"), "injected"));
    fails(
        &env,
        &["decrypt", "--output", "out.env", "t.env"],
        9,
        "t.env",
        "should be encrypted",
    );
    assert!(!env.path("out.env").exists());
    fails(
        &env,
        &["decrypt", "-i", "t.env"],
        9,
        "t.env",
        "should be encrypted",
    );
    assert_eq!(std::fs::read_to_string(env.path("t.env")).unwrap(), text);
    let names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".secrets-tmp")),
        "temp file left: {names:?}"
    );
}

#[test]
fn bad_extract_paths_are_exit_12() {
    let env = Env::new();
    env.write("e.env", encrypted(&env));
    fails(
        &env,
        &["decrypt", "--extract", "DB..PASSWORD", "e.env"],
        12,
        "e.env",
        "invalid --extract path",
    );
    fails(
        &env,
        &["decrypt", "--extract", "[\"db\"]", "e.env"],
        12,
        "e.env",
        "not found",
    );
}

/// The same checks hold in YAML and JSON files: a flipped ciphertext names its key path, a
/// reordered list fails the MAC, and nothing secret reaches stderr.
#[test]
fn tampering_is_caught_in_yaml_and_json_too() {
    let env = Env::new();
    env.write(
        "p.yaml",
        format!("db:\n  user: admin\n  password: {CANARY}\nlist:\n  - one-{CANARY}\n  - two\n"),
    );
    env.write(
        "p.json",
        format!(
            "{{\n  \"db\": {{\"password\": \"{CANARY}\"}},\n  \"list\": [\"one\", \"two\"]\n}}\n"
        ),
    );
    for name in ["p.yaml", "p.json"] {
        let enc = String::from_utf8(ok(env.secrets().args([
            "encrypt",
            "--age",
            &env.recipient,
            name,
        ])))
        .unwrap();
        // Flip the first character of the password's ciphertext.
        let at = enc.find("password").unwrap();
        let data = at + enc[at..].find("data:").unwrap() + "data:".len();
        let mut bytes = enc.clone().into_bytes();
        bytes[data] = if bytes[data] == b'A' { b'B' } else { b'A' };
        env.write("t", &bytes);
        std::fs::rename(env.path("t"), env.path(&format!("t-{name}"))).unwrap();
        fails(
            &env,
            &["decrypt", &format!("t-{name}")],
            9,
            &format!("t-{name}"),
            "[\"db\"][\"password\"]",
        );
        // Swap the two list items: each still decrypts (same AAD), the MAC does not match.
        let items: Vec<&str> = enc
            .match_indices("ENC[")
            .map(|(i, _)| &enc[i..i + enc[i..].find(']').unwrap() + 1])
            .collect();
        let (one, two) = (items[items.len() - 3], items[items.len() - 2]);
        let swapped = enc.replace(one, "@@").replace(two, one).replace("@@", two);
        env.write(&format!("s-{name}"), swapped);
        fails(
            &env,
            &["decrypt", &format!("s-{name}")],
            10,
            &format!("s-{name}"),
            "MAC mismatch",
        );
    }
}
