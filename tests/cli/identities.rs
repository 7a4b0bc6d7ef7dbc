//! Every place sops looks for an age identity works, and so do SSH and multiple recipients.

use std::process::Command;

use crate::util::{Env, assert_same, ok, run, stderr};

const PLAIN: &str = "USER=admin\nPASSWORD=hunter2\n";

fn encrypted_for(env: &Env, recipients: &str) -> std::path::PathBuf {
    env.write("plain.env", PLAIN);
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", recipients, "plain.env"]));
    env.write("enc.env", enc)
}

fn decrypts(env: &Env, mut cmd: Command) {
    let out = ok(cmd.args(["decrypt", "enc.env"]));
    assert_same(&out, PLAIN.as_bytes(), "decrypted");
    let _ = env;
}

#[test]
fn sops_age_key_and_key_file_and_key_cmd() {
    let env = Env::new();
    encrypted_for(&env, &env.recipient);
    let key_text = std::fs::read_to_string(&env.key_file).unwrap();
    let mut c = env.secrets();
    c.env("SOPS_AGE_KEY", &key_text);
    decrypts(&env, c);
    let mut c = env.secrets();
    c.env("SOPS_AGE_KEY_FILE", &env.key_file);
    decrypts(&env, c);
    let mut c = env.secrets();
    c.env(
        "SOPS_AGE_KEY_CMD",
        format!("cat {}", env.key_file.display()),
    );
    decrypts(&env, c);
}

#[test]
fn default_keys_files_under_xdg_config_home_and_home() {
    let env = Env::new();
    encrypted_for(&env, &env.recipient);
    let xdg = env.path("xdg");
    std::fs::create_dir_all(xdg.join("sops/age")).unwrap();
    std::fs::copy(&env.key_file, xdg.join("sops/age/keys.txt")).unwrap();
    let mut c = env.secrets();
    c.env("XDG_CONFIG_HOME", &xdg);
    decrypts(&env, c);
    let home_keys = env.path("home/.config/sops/age");
    std::fs::create_dir_all(&home_keys).unwrap();
    std::fs::copy(&env.key_file, home_keys.join("keys.txt")).unwrap();
    decrypts(&env, env.secrets());
}

fn ssh_keygen(env: &Env, kind: &str, name: &str) -> String {
    let path = env.path(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", "", "-f"]).arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    run(&mut cmd, 0);
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn ssh_ed25519_and_rsa_recipients_both_ways_with_sops() {
    let env = Env::new();
    for (kind, name) in [("ed25519", "id_ed"), ("rsa", "id_rsa_test")] {
        let recipient = ssh_keygen(&env, kind, name);
        encrypted_for(&env, &recipient);
        let mut c = env.secrets();
        c.env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", env.path(name));
        decrypts(&env, c);
        let mut c = env.secrets();
        c.arg("--identity").arg(env.path(name));
        decrypts(&env, c);
        // The reference sops decrypts what we wrote for an SSH recipient.
        let mut sops = env.sops();
        sops.env_remove("SOPS_AGE_KEY_FILE")
            .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", env.path(name));
        assert_same(
            &ok(sops.args(["decrypt", "enc.env"])),
            PLAIN.as_bytes(),
            "sops with an SSH identity",
        );
    }
    // ~/.ssh/id_ed25519 is read by default.
    std::fs::create_dir_all(env.path("home/.ssh")).unwrap();
    let recipient = ssh_keygen(&env, "ed25519", "home/.ssh/id_ed25519");
    encrypted_for(&env, &recipient);
    decrypts(&env, env.secrets());
}

#[test]
fn several_recipients_each_decrypt_and_sops_age_recipients_is_read() {
    let env = Env::new();
    run(env.secrets().args(["keygen", "-o", "second.txt"]), 0);
    let second = std::fs::read_to_string(env.path("second.txt")).unwrap();
    let second_public = second
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    env.write("plain.env", PLAIN);
    let enc = ok(env
        .secrets()
        .env(
            "SOPS_AGE_RECIPIENTS",
            format!("{}, {second_public}", env.recipient),
        )
        .args(["encrypt", "plain.env"]));
    env.write("enc.env", enc);
    let mut c = env.secrets();
    c.env("SOPS_AGE_KEY_FILE", &env.key_file);
    decrypts(&env, c);
    let mut c = env.secrets();
    c.env("SOPS_AGE_KEY_FILE", env.path("second.txt"));
    decrypts(&env, c);
    let out = run(
        env.secrets()
            .args(["encrypt", "--age", "age1notakey", "plain.env"]),
        8,
    );
    assert!(
        stderr(&out).contains("invalid age recipient"),
        "{}",
        stderr(&out)
    );
}
