//! `init`, `updatekeys` and `rotate`.

use std::os::unix::fs::PermissionsExt;

use crate::util::{Env, assert_same, ok, run, stderr};

const PLAIN: &str = "USER=admin\nPASSWORD=hunter2\nTOKEN=t0k3n\n";

fn second_identity(env: &Env) -> (std::path::PathBuf, String) {
    run(env.secrets().args(["keygen", "-o", "second.txt"]), 0);
    let text = std::fs::read_to_string(env.path("second.txt")).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (env.path("second.txt"), public)
}

fn lines_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn updatekeys_rewraps_the_data_key_and_touches_nothing_else() {
    let env = Env::new();
    let (second_key, second) = second_identity(&env);
    std::fs::create_dir_all(env.path("repo/app")).unwrap();
    env.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - age: {}\n", env.recipient),
    );
    env.write("repo/app/a.env", PLAIN);
    ok(env.secrets().args(["encrypt", "-i", "repo/app/a.env"]));
    let before = std::fs::read_to_string(env.path("repo/app/a.env")).unwrap();

    // Up to date: nothing to do.
    let out = run(
        env.secrets_with_key()
            .args(["updatekeys", "-y", "repo/app/a.env"]),
        0,
    );
    assert!(
        stderr(&out).contains("already up to date"),
        "{}",
        stderr(&out)
    );

    env.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - age: {}, {second}\n", env.recipient),
    );
    // Not a terminal and no -y: shows the change, writes nothing.
    let out = run(
        env.secrets_with_key()
            .args(["updatekeys", "repo/app/a.env"]),
        0,
    );
    assert!(
        stderr(&out).contains(&format!("+ {second}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(env.path("repo/app/a.env")).unwrap(),
        before
    );

    let out = run(
        env.secrets_with_key()
            .args(["updatekeys", "-y", "repo/app/a.env"]),
        0,
    );
    assert!(stderr(&out).contains("updated"), "{}", stderr(&out));
    let after = std::fs::read_to_string(env.path("repo/app/a.env")).unwrap();
    for prefix in [
        "USER=",
        "PASSWORD=",
        "TOKEN=",
        "sops_mac=",
        "sops_lastmodified=",
    ] {
        assert_eq!(
            lines_with(&after, prefix),
            lines_with(&before, prefix),
            "{prefix} changed"
        );
    }
    // The new recipient reads it, with ours and with sops.
    let mine = ok(env
        .secrets()
        .env("SOPS_AGE_KEY_FILE", &second_key)
        .args(["decrypt", "repo/app/a.env"]));
    assert_same(&mine, PLAIN.as_bytes(), "decrypt with the added key");
    let theirs = ok(env
        .sops()
        .env("SOPS_AGE_KEY_FILE", &second_key)
        .args(["decrypt", "repo/app/a.env"]));
    assert_same(&theirs, PLAIN.as_bytes(), "sops decrypt with the added key");

    // Removing a recipient warns about Git history.
    env.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - age: {second}\n"),
    );
    let out = run(
        env.secrets_with_key()
            .args(["updatekeys", "-y", "repo/app/a.env"]),
        0,
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("- {}", env.recipient)) && err.contains("Git history"),
        "{err}"
    );
    run(
        env.secrets_with_key().args(["decrypt", "repo/app/a.env"]),
        8,
    );
}

#[test]
fn updatekeys_all_finds_every_encrypted_file_a_rule_matches() {
    let env = Env::new();
    let (second_key, second) = second_identity(&env);
    for dir in ["repo/a", "repo/b/c", "repo/.git"] {
        std::fs::create_dir_all(env.path(dir)).unwrap();
    }
    env.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.env$\n    age: {}\n",
            env.recipient
        ),
    );
    for f in ["repo/a/one.env", "repo/b/c/two.env", "repo/b/plain.env"] {
        env.write(f, PLAIN);
    }
    for f in ["repo/a/one.env", "repo/b/c/two.env"] {
        ok(env.secrets().args(["encrypt", "-i", f]));
    }
    env.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.env$\n    age: {second}\n"),
    );
    let out = run(
        env.secrets_with_key()
            .current_dir(env.path("repo/b"))
            .args(["updatekeys", "--all", "-y"]),
        0,
    );
    assert!(
        stderr(&out).contains("2 encrypted file(s)"),
        "{}",
        stderr(&out)
    );
    for f in ["repo/a/one.env", "repo/b/c/two.env"] {
        assert_same(
            &ok(env
                .secrets()
                .env("SOPS_AGE_KEY_FILE", &second_key)
                .args(["decrypt", f])),
            PLAIN.as_bytes(),
            f,
        );
    }
    assert_eq!(
        std::fs::read_to_string(env.path("repo/b/plain.env")).unwrap(),
        PLAIN
    );
}

#[test]
fn rotate_gives_a_new_data_key_and_adjusts_recipients() {
    let env = Env::new();
    let (second_key, second) = second_identity(&env);
    env.write("a.env", PLAIN);
    ok(env.secrets().args([
        "encrypt",
        "--age",
        &env.recipient,
        "--encrypted-regex",
        "PASSWORD|TOKEN",
        "-i",
        "a.env",
    ]));
    let before = std::fs::read_to_string(env.path("a.env")).unwrap();
    let out = run(
        env.secrets_with_key().args([
            "rotate",
            "--add-age",
            &second,
            "--rm-age",
            &env.recipient,
            "a.env",
        ]),
        0,
    );
    assert!(stderr(&out).contains("Git history"), "{}", stderr(&out));
    let after = std::fs::read_to_string(env.path("a.env")).unwrap();
    for prefix in ["PASSWORD=", "TOKEN=", "sops_mac="] {
        assert_ne!(
            lines_with(&after, prefix),
            lines_with(&before, prefix),
            "{prefix} kept its ciphertext"
        );
    }
    assert!(
        after.starts_with("USER=admin\n")
            && after.contains("sops_encrypted_regex=PASSWORD|TOKEN\n"),
        "{after}"
    );
    run(env.secrets_with_key().args(["decrypt", "a.env"]), 8);
    assert_same(
        &ok(env
            .secrets()
            .env("SOPS_AGE_KEY_FILE", &second_key)
            .args(["decrypt", "a.env"])),
        PLAIN.as_bytes(),
        "rotated",
    );
    assert_same(
        &ok(env
            .sops()
            .env("SOPS_AGE_KEY_FILE", &second_key)
            .args(["decrypt", "a.env"])),
        PLAIN.as_bytes(),
        "sops",
    );
}

#[test]
fn init_creates_an_identity_and_a_config_and_never_overwrites() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("repo/.git")).unwrap();
    std::fs::create_dir_all(env.path("repo/sub")).unwrap();
    let out = run(
        env.secrets().current_dir(env.path("repo/sub")).arg("init"),
        0,
    );
    let err = stderr(&out);
    assert!(
        err.contains("created an age identity") && err.contains("commit .sops.yaml"),
        "{err}"
    );
    let keys = env.path("home/.config/sops/age/keys.txt");
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let config = std::fs::read_to_string(env.path("repo/.sops.yaml")).unwrap();
    let public = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .unwrap();
    assert!(config.contains(&format!("  - age: {public}\n")), "{config}");
    // The config works: encrypt by rule, decrypt with the default keys file.
    env.write("repo/sub/a.env", PLAIN);
    ok(env.secrets().args(["encrypt", "-i", "repo/sub/a.env"]));
    assert_same(
        &ok(env.secrets().args(["decrypt", "repo/sub/a.env"])),
        PLAIN.as_bytes(),
        "init round trip",
    );
    // Never overwrite.
    let out = run(env.secrets().current_dir(env.path("repo")).arg("init"), 14);
    assert!(
        stderr(&out).contains(".sops.yaml: already exists"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(env.path("repo/.sops.yaml")).unwrap();
    let out = run(env.secrets().current_dir(env.path("repo")).arg("init"), 0);
    assert!(
        stderr(&out).contains("using the identity in"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_to_string(env.path("repo/.sops.yaml"))
            .unwrap()
            .contains(&public)
    );
}

/// A teammate's GCP KMS key (which this tool cannot use) stays in the file through `updatekeys`,
/// and a file wrapped only for such keys gets a clear error.
#[test]
fn keys_of_other_types_are_kept_verbatim_and_named_when_needed() {
    let env = Env::new();
    let (_, second) = second_identity(&env);
    env.write(
        ".sops.yaml",
        format!("creation_rules:\n  - age: {}\n", env.recipient),
    );
    env.write("a.env", PLAIN);
    ok(env.secrets().args(["encrypt", "-i", "a.env"]));
    let pgp = "sops_gcp_kms__list_0__map_resource_id=projects/p/locations/global/keyRings/r/cryptoKeys/k\nsops_gcp_kms__list_0__map_created_at=2026-01-01T00:00:00Z\nsops_gcp_kms__list_0__map_enc=CiQAexample\n";
    let with_pgp = std::fs::read_to_string(env.path("a.env")).unwrap() + pgp;
    env.write("a.env", &with_pgp);
    assert_same(
        &ok(env.secrets_with_key().args(["decrypt", "a.env"])),
        PLAIN.as_bytes(),
        "age still works beside gcp_kms",
    );
    env.write(
        ".sops.yaml",
        format!("creation_rules:\n  - age: {}, {second}\n", env.recipient),
    );
    ok(env.secrets_with_key().args(["updatekeys", "-y", "a.env"]));
    let after = std::fs::read_to_string(env.path("a.env")).unwrap();
    for line in pgp.lines() {
        assert!(after.contains(line), "{line} was dropped:\n{after}");
    }
    // Only a PGP key: nothing here can decrypt it, and the error says why.
    let only_pgp: String = with_pgp
        .lines()
        .filter(|l| !l.starts_with("sops_age__"))
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("b.env", only_pgp);
    let out = run(env.secrets_with_key().args(["decrypt", "b.env"]), 8);
    assert!(
        stderr(&out).contains("key types this tool cannot use here (gcp_kms)"),
        "{}",
        stderr(&out)
    );
}
