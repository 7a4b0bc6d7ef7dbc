//! decrypt(encrypt(file)) gives back the file byte for byte, and the encrypted file keeps the
//! input's layout with only values replaced.

use std::path::{Path, PathBuf};

use crate::util::{
    Env, assert_same, fixture, ok, run, sops_data_of_encrypted, sops_data_of_plaintext,
};

/// Files where byte-exactness yields to sops compatibility (docs/sops-compatibility.md): their
/// decryption holds the same data, checked through sops, but not the same bytes.
const SAME_DATA_ONLY: &[(&str, &str)] = &[
    ("basic.yaml", "a YAML timestamp comes back in RFC 3339 form"),
    (
        "circleci-base64.yml",
        "single-quoted scalars inside flow collections come back plain",
    ),
    (
        "k8s-prometheus-adapter-multidoc-rbac-configmap.yaml",
        "no final newline: YAML gains one before the sops block",
    ),
    (
        "minified-launchpad-person.json",
        "JSON string escapes such as \\/ come back minimal",
    ),
];

fn round_trip(env: &Env, plain: &Path, extra: &[&str]) -> Vec<u8> {
    let original = std::fs::read(plain).unwrap();
    let name = plain.file_name().unwrap().to_string_lossy().into_owned();
    let enc_path = env.path(&format!("enc-{name}"));
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient])
        .args(extra)
        .arg(plain));
    assert_ne!(enc, original, "{name}: encryption changed nothing");
    std::fs::write(&enc_path, &enc).unwrap();
    let dec = ok(env.secrets_with_key().arg("decrypt").arg(&enc_path));
    assert_same(&dec, &original, &format!("{name}: decrypt(encrypt(x))"));
    enc
}

fn plain_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("sops"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.contains(".sops.") && !matches!(name.as_ref(), "MANIFEST" | "make.sh")
        })
        .collect();
    files.extend(
        std::fs::read_dir(fixture("examples"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    files.sort();
    files
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let env = Env::new();
    let files = plain_fixtures();
    assert!(files.len() >= 8, "fixtures missing: {files:?}");
    for plain in files {
        let name = plain.file_name().unwrap().to_string_lossy().into_owned();
        if SAME_DATA_ONLY.iter().any(|(n, _)| *n == name) {
            continue; // checked in same_data_exceptions_keep_their_data
        }
        round_trip(&env, &plain, &[]);
    }
}

/// Fixtures with a documented exception to byte-exactness decrypt to the same data (per sops).
#[test]
fn same_data_exceptions_keep_their_data() {
    let env = Env::new();
    for plain in plain_fixtures() {
        let name = plain.file_name().unwrap().to_string_lossy().into_owned();
        if !SAME_DATA_ONLY.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let enc = env.write(
            &format!("enc-{name}"),
            ok(env
                .secrets()
                .args(["encrypt", "--age", &env.recipient])
                .arg(&plain)),
        );
        let back = env.write(
            &format!("back-{name}"),
            ok(env.secrets_with_key().arg("decrypt").arg(&enc)),
        );
        assert_same(
            &sops_data_of_plaintext(&env, &back),
            &sops_data_of_plaintext(&env, &plain),
            &name,
        );
        assert_same(
            &sops_data_of_encrypted(&env, &enc),
            &sops_data_of_plaintext(&env, &plain),
            &name,
        );
    }
}

#[test]
fn partial_encryption_flags_round_trip_and_leave_the_chosen_values_readable() {
    let env = Env::new();
    let enc = round_trip(
        &env,
        &fixture("sops/basic.env"),
        &["--encrypted-regex", "PASSWORD|TOKEN"],
    );
    let text = String::from_utf8(enc).unwrap();
    assert!(text.contains("\nDB_USER=admin\n"), "{text}");
    assert!(text.contains("\nDB_PASSWORD=ENC[AES256_GCM,"), "{text}");
    assert!(
        text.contains("sops_encrypted_regex=PASSWORD|TOKEN\n"),
        "{text}"
    );
    for flags in [
        ["--unencrypted-suffix", "_USER"],
        ["--encrypted-suffix", "_PASSWORD"],
        ["--unencrypted-regex", "^MULTI$"],
    ] {
        round_trip(&env, &fixture("sops/basic.env"), &flags);
    }
    round_trip(
        &env,
        &fixture("sops/basic.env"),
        &["--encrypted-regex", "PASSWORD", "--mac-only-encrypted"],
    );
}

#[test]
fn in_place_output_and_stdin_modes() {
    let env = Env::new();
    let original = std::fs::read(fixture("sops/basic.env")).unwrap();
    let file = env.write("app.env", &original);
    ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "-i", "app.env"]));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("sops_mac=ENC[")
    );
    ok(env
        .secrets_with_key()
        .args(["decrypt", "--output", "out.env", "app.env"]));
    assert_same(
        &std::fs::read(env.path("out.env")).unwrap(),
        &original,
        "--output",
    );
    ok(env.secrets_with_key().args(["decrypt", "-i", "app.env"]));
    assert_same(&std::fs::read(&file).unwrap(), &original, "-i");

    let mut child = env.secrets();
    child.args([
        "encrypt",
        "--age",
        &env.recipient,
        "--input-type",
        "dotenv",
        "-",
    ]);
    let enc = {
        use std::io::Write;
        let mut p = child
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(&original).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
    };
    env.write("stdin.enc.env", enc);
    assert_same(
        &ok(env.secrets_with_key().args(["decrypt", "stdin.enc.env"])),
        &original,
        "stdin",
    );
}

#[test]
fn extract_prints_one_value_raw() {
    let env = Env::new();
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient])
        .arg(fixture("sops/basic.env")));
    env.write("x.env", enc);
    let value =
        ok(env
            .secrets_with_key()
            .args(["decrypt", "--extract", "[\"DB_PASSWORD\"]", "x.env"]));
    assert_eq!(value, b"s3cr3t p@ss");
    let out = run(
        env.secrets_with_key()
            .args(["decrypt", "--extract", "[\"NOPE\"]", "x.env"]),
        12,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[\"NOPE\"] not found; keys here: DB_USER, DB_PASSWORD"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"));
}

/// One key-path parser everywhere: `decrypt --extract`, `set` and `unset` read the printed
/// `db.password` / `servers[1].token` spelling as well as sops's `["db"]["password"]`.
#[test]
fn every_command_reads_both_key_path_spellings() {
    let env = Env::new();
    env.write(
        "p.yaml",
        "db:\n    password: hunter2-kp\n    user: app\nservers:\n    - token: t0\n    - token: t1-kp\n",
    );
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "p.yaml"]));
    env.write("f.yaml", enc);
    let extract = |path: &str| {
        ok(env
            .secrets_with_key()
            .args(["decrypt", "--extract", path, "f.yaml"]))
    };
    assert_eq!(extract("db.password"), b"hunter2-kp");
    assert_eq!(extract(r#"["db"]["password"]"#), b"hunter2-kp");
    assert_eq!(extract("servers[1].token"), b"t1-kp");
    ok(env
        .secrets_with_key()
        .args(["set", "f.yaml", "db.password", r#""changed-kp""#]));
    assert_eq!(extract("db.password"), b"changed-kp");
    ok(env.secrets_with_key().args(["unset", "f.yaml", "db.user"]));
    let out = run(
        env.secrets_with_key()
            .args(["decrypt", "--extract", "db.user", "f.yaml"]),
        12,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found"), "{err}");
}

/// Real files nobody here wrote (fixtures/corpus, see its SOURCES.md): byte-exact round trip,
/// and sops reads our encryption as the same data it reads from its own.
#[test]
fn corpus_round_trips_and_sops_agrees_on_the_data() {
    let dir = fixture("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "the corpus has only {} files",
        files.len()
    );
    let env = Env::new();
    let mut sops_checked = 0;
    for plain in files {
        let name = plain.file_name().unwrap().to_string_lossy().into_owned();
        let exact = !SAME_DATA_ONLY.iter().any(|(n, _)| *n == name);
        let enc = if exact {
            round_trip(&env, &plain, &[])
        } else {
            ok(env
                .secrets()
                .args(["encrypt", "--age", &env.recipient])
                .arg(&plain))
        };
        let ext = plain.extension().unwrap().to_string_lossy().into_owned();
        if ext == "toml" {
            continue; // sops has no TOML store
        }
        let ours = env.write(&format!("ours-{name}"), enc);
        // sops itself refuses some valid files (e.g. integer keys); nothing to compare with then.
        let theirs = env
            .sops()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)
            .output()
            .unwrap();
        if !theirs.status.success() {
            continue;
        }
        let ours_data = sops_data_of_encrypted(&env, &ours);
        let sops_data = sops_data_of_plaintext(&env, &plain);
        assert_same(
            &ours_data,
            &sops_data,
            &format!("{name}: sops decrypt of our encryption vs of its own"),
        );
        if !exact {
            let ours_plain = env.write(
                &format!("ours-plain-{name}"),
                ok(env.secrets_with_key().arg("decrypt").arg(&ours)),
            );
            assert_same(
                &sops_data_of_plaintext(&env, &ours_plain),
                &sops_data,
                &format!("{name}: data of our decryption"),
            );
        }
        sops_checked += 1;
    }
    assert!(
        sops_checked >= 25,
        "only {sops_checked} corpus files were checked against sops"
    );
}

#[test]
fn output_type_converts_and_extract_reaches_into_nested_documents() {
    let env = Env::new();
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient])
        .arg(fixture("examples/app.yaml")));
    env.write("app.enc.yaml", enc);
    let json = String::from_utf8(ok(env.secrets_with_key().args([
        "decrypt",
        "--output-type",
        "json",
        "app.enc.yaml",
    ])))
    .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["database"]["password"],
        "correct-horse-battery-staple"
    );
    assert_eq!(parsed["service"]["replicas"], 3);
    assert_eq!(parsed["features"][1], "refunds");
    let value = ok(env.secrets_with_key().args([
        "decrypt",
        "--extract",
        "[\"database\"][\"password\"]",
        "app.enc.yaml",
    ]));
    assert_eq!(value, b"correct-horse-battery-staple");
    let item = ok(env.secrets_with_key().args([
        "decrypt",
        "--extract",
        "[\"features\"][0]",
        "app.enc.yaml",
    ]));
    assert_eq!(item, b"invoices");
    let sub = String::from_utf8(ok(env.secrets_with_key().args([
        "decrypt",
        "--extract",
        "[\"database\"]",
        "app.enc.yaml",
    ])))
    .unwrap();
    assert!(
        sub.contains("port: 5432") && sub.contains("user: billing"),
        "{sub}"
    );
    let toml = String::from_utf8(ok(env.secrets_with_key().args([
        "decrypt",
        "--output-type",
        "toml",
        "app.enc.yaml",
    ])))
    .unwrap();
    assert!(
        toml.contains("[database]") && toml.contains("password = \"correct-horse-battery-staple\""),
        "{toml}"
    );
    let out = run(
        env.secrets_with_key().args([
            "decrypt",
            "--extract",
            "[\"database\"][\"pass\"]",
            "app.enc.yaml",
        ]),
        12,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[\"database\"][\"pass\"] not found; keys here: host, port, user, password"),
        "{err}"
    );
}
