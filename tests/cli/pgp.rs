//! PGP master keys through the real GnuPG, against the reference sops: a throwaway GNUPGHOME
//! per test with keys made by `gpg --quick-gen-key` (no passphrase), its gpg-agent killed when
//! the test ends.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Env, assert_same, ok, run, stderr};

const PLAIN: &str = "db:\n    password: hunter2\n    port: 5432\nname: app\n";

/// A GnuPG home with a secret key `a` and a key `b` whose secret half is deleted (public only).
pub struct Gpg {
    pub home: PathBuf,
    pub a: String,
    pub b: String,
}

impl Gpg {
    pub fn new(env: &Env) -> Gpg {
        let home = env.path("gnupg");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut gpg = Gpg {
            home,
            a: String::new(),
            b: String::new(),
        };
        gpg.a = gpg.generate("Alice <alice@example.com>");
        gpg.b = gpg.generate("Bob <bob@example.com>");
        let out = gpg.gpg(&["--batch", "--yes", "--delete-secret-keys", &gpg.b.clone()]);
        assert!(out.status.success(), "{}", stderr(&out));
        gpg
    }

    pub fn gpg(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(args)
            .output()
            .expect("gpg is installed by scripts/install-test-tools.sh")
    }

    /// A new ed25519/cv25519 key without passphrase; its fingerprint.
    fn generate(&self, uid: &str) -> String {
        let out = self.gpg(&[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "future-default",
            "default",
            "never",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = self.gpg(&["--with-colons", "--list-keys", uid]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.trim_matches(':').rsplit(':').next())
            .unwrap()
            .to_string()
    }

    pub fn with(&self, mut cmd: Command) -> Command {
        cmd.env("GNUPGHOME", &self.home);
        cmd
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Ours encrypts for a PGP key (flag, SOPS_PGP_FP, `.sops.yaml`), sops decrypts; sops encrypts,
/// ours decrypts; the stanza is sops's (created_at, enc armored, fp).
#[test]
fn pgp_files_go_both_ways_with_sops() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write("p.yaml", PLAIN);
    let ours = ok(gpg
        .with(env.secrets())
        .args(["encrypt", "--pgp", &gpg.a, "p.yaml"]));
    let text = String::from_utf8(ours.clone()).unwrap();
    assert!(
        text.contains("    pgp:\n        - created_at: \"")
            && text.contains("          enc: |-\n            -----BEGIN PGP MESSAGE-----\n")
            && text.contains(&format!("          fp: {}\n", gpg.a)),
        "{text}"
    );
    env.write("ours.yaml", &ours);
    assert_same(
        &ok(gpg.with(env.sops()).args(["decrypt", "ours.yaml"])),
        PLAIN.as_bytes(),
        "sops decrypts ours",
    );
    let theirs = ok(gpg
        .with(env.sops())
        .args(["encrypt", "--pgp", &gpg.a, "p.yaml"]));
    env.write("theirs.yaml", theirs);
    assert_same(
        &ok(gpg.with(env.secrets()).args(["decrypt", "theirs.yaml"])),
        PLAIN.as_bytes(),
        "ours decrypts sops's",
    );
    // SOPS_PGP_FP, with spaces in the fingerprint as people paste them.
    let spaced: String = gpg
        .a
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let env_out = ok(gpg
        .with(env.secrets())
        .env("SOPS_PGP_FP", &spaced)
        .args(["encrypt", "p.yaml"]));
    env.write("env.yaml", env_out);
    ok(gpg.with(env.sops()).args(["decrypt", "env.yaml"]));
    // `.sops.yaml` with pgp: and age: in one rule: both keys open it.
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - pgp: {}\n    age: {}\n",
            gpg.a, env.recipient
        ),
    );
    env.write("rule.yaml", PLAIN);
    ok(gpg.with(env.secrets()).args(["encrypt", "-i", "rule.yaml"]));
    assert_same(
        &ok(gpg.with(env.sops()).args(["decrypt", "rule.yaml"])),
        PLAIN.as_bytes(),
        "sops with gpg only",
    );
    assert_same(
        &ok(env.secrets_with_key().args(["decrypt", "rule.yaml"])),
        PLAIN.as_bytes(),
        "ours with age only",
    );
}

/// A Shamir file mixing age and PGP groups with threshold 2 of 3, written by us and read by
/// sops; opens with one PGP group unavailable.
#[test]
fn shamir_groups_mix_age_and_pgp() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - pgp: [{}]\n      - pgp: [{}]\n",
            env.recipient, gpg.a, gpg.b
        ),
    );
    env.write("s.yaml", PLAIN);
    ok(gpg.with(env.secrets()).args(["encrypt", "-i", "s.yaml"]));
    let text = read(&env.path("s.yaml"));
    assert!(
        text.contains("shamir_threshold: 2") && text.matches("- pgp:").count() == 2,
        "{text}"
    );
    // Bob's secret key is gone: age and Alice's groups make the threshold.
    assert_same(
        &ok(gpg.with(env.sops()).args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops reads our Shamir file",
    );
    assert_same(
        &ok(gpg.with(env.secrets_with_key()).args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "ours reads it",
    );
    // Without age, one group is not enough, and each failure is named.
    let out = run(gpg.with(env.secrets()).args(["decrypt", "s.yaml"]), 8);
    let err = stderr(&out);
    assert!(
        err.contains("only 1 of the 3 key groups")
            && err.contains(&format!("PGP key {}: gpg has no secret key", gpg.b)),
        "{err}"
    );
}

/// `rotate --add-pgp/--rm-pgp` and `updatekeys` to a rule's PGP keys, read back by sops.
#[test]
fn rotate_and_updatekeys_change_pgp_keys() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write("r.yaml", PLAIN);
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "r.yaml"]));
    env.write("r.yaml", enc);
    ok(gpg
        .with(env.secrets_with_key())
        .args(["rotate", "--add-pgp", &gpg.a, "r.yaml"]));
    assert_same(
        &ok(gpg
            .with(env.sops())
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "r.yaml"])),
        PLAIN.as_bytes(),
        "sops opens the added PGP key",
    );
    ok(gpg
        .with(env.secrets_with_key())
        .args(["rotate", "--rm-pgp", &gpg.a, "r.yaml"]));
    assert!(!read(&env.path("r.yaml")).contains(&gpg.a));
    // updatekeys: the rule now names Alice's key only.
    env.write(
        ".sops.yaml",
        format!("creation_rules:\n  - pgp: [{}]\n", gpg.a),
    );
    ok(gpg
        .with(env.secrets_with_key())
        .args(["updatekeys", "-y", "r.yaml"]));
    let text = read(&env.path("r.yaml"));
    assert!(
        text.contains(&gpg.a) && !text.contains(&env.recipient),
        "{text}"
    );
    assert_same(
        &ok(gpg
            .with(env.sops())
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "r.yaml"])),
        PLAIN.as_bytes(),
        "sops reads the updated keys",
    );
}

/// Failures name the key and the reason; the decryption order is honoured and a failing key
/// type falls through to the next.
#[test]
fn pgp_failures_are_named_and_the_next_key_is_tried() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write("p.yaml", PLAIN);
    let only_b = ok(gpg
        .with(env.secrets())
        .args(["encrypt", "--pgp", &gpg.b, "p.yaml"]));
    env.write("b.yaml", only_b);
    let err = stderr(&run(gpg.with(env.secrets()).args(["decrypt", "b.yaml"]), 8));
    assert!(
        err.contains(&format!("PGP key {}: gpg has no secret key", gpg.b)),
        "{err}"
    );
    // A key not in the keyring cannot be encrypted to.
    let missing = "0123456789ABCDEF0123456789ABCDEF01234567";
    let err = stderr(&run(
        gpg.with(env.secrets())
            .args(["encrypt", "--pgp", missing, "p.yaml"]),
        8,
    ));
    assert!(
        err.contains(missing) && err.contains("not in the GnuPG keyring"),
        "{err}"
    );
    // age and PGP in one file; gpg broken (SOPS_GPG_EXEC): pgp first fails, age opens it.
    let both = ok(gpg.with(env.secrets()).args([
        "encrypt",
        "--pgp",
        &gpg.a,
        "--age",
        &env.recipient,
        "p.yaml",
    ]));
    env.write("both.yaml", both);
    assert_same(
        &ok(gpg
            .with(env.secrets_with_key())
            .env("SOPS_GPG_EXEC", "/nonexistent/gpg")
            .args(["decrypt", "--decryption-order", "pgp,age", "both.yaml"])),
        PLAIN.as_bytes(),
        "age after a failing gpg",
    );
    let err = stderr(&run(
        gpg.with(env.secrets())
            .env("SOPS_GPG_EXEC", "/nonexistent/gpg")
            .env("SOPS_DECRYPTION_ORDER", "pgp,age")
            .args(["decrypt", "both.yaml"]),
        8,
    ));
    let (pgp_at, age_at) = (
        err.find(&format!("PGP key {}: cannot run", gpg.a)),
        err.find(&format!("{}: no matching age identity", env.recipient)),
    );
    assert!(
        pgp_at.is_some() && age_at.is_some() && pgp_at < age_at,
        "{err}"
    );
    // A bad fingerprint is a usage error, not a gpg call.
    run(env.secrets().args(["encrypt", "--pgp", "XYZ", "p.yaml"]), 2);
}

/// The GitHub action's `pgp-key` input: the armored secret key is imported into a private
/// GNUPGHOME for the step (removed after), and PGP-only files decrypt into GITHUB_ENV.
#[test]
fn the_action_decrypts_with_a_pgp_key_input() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write("app.env", "TOKEN=pgp-only-value\n");
    let enc = ok(gpg
        .with(env.secrets())
        .args(["encrypt", "--pgp", &gpg.a, "app.env"]));
    env.write("app.enc.env", enc);
    let exported = gpg.gpg(&["--batch", "--armor", "--export-secret-keys", &gpg.a]);
    let armored = String::from_utf8(exported.stdout).unwrap();
    assert!(armored.contains("PRIVATE KEY BLOCK"));
    let github_env = env.path("github_env");
    let out = run(
        Command::new("bash")
            .arg(crate::util::root().join(".github/actions/decrypt/decrypt.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.path("home"))
            .env("SECRETS_BIN", env!("CARGO_BIN_EXE_secrets"))
            .env("GITHUB_ENV", &github_env)
            .env("INPUT_PGP_KEY", &armored)
            .env("INPUT_ENV_FILES", env.path("app.enc.env")),
        0,
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("::add-mask::pgp-only-value"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_to_string(&github_env)
            .unwrap()
            .contains("pgp-only-value")
    );
    assert!(!stderr(&out).contains("PRIVATE KEY"), "{}", stderr(&out));
}

/// `groups add --pgp`: a second group holding a PGP key, read back by sops.
#[test]
fn groups_add_takes_a_pgp_group() {
    let env = Env::new();
    let gpg = Gpg::new(&env);
    env.write("g.yaml", PLAIN);
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "g.yaml"]));
    env.write("g.yaml", enc);
    ok(gpg
        .with(env.secrets_with_key())
        .args(["groups", "add", "--file", "g.yaml", "--pgp", &gpg.a]));
    let text = read(&env.path("g.yaml"));
    assert!(
        text.contains("key_groups:") && text.contains(&gpg.a),
        "{text}"
    );
    assert_same(
        &ok(gpg.with(env.sops()).args(["decrypt", "g.yaml"])),
        PLAIN.as_bytes(),
        "sops needs both groups and has both",
    );
}
