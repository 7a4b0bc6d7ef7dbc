//! Vault transit keys against a real OpenBao dev server on 127.0.0.1 (installed under
//! target/bao-venv by scripts/install-test-tools.sh), one per test, and the reference sops.
//!
//! The server runs under `sh`, which kills it when its standard input closes: when the test's
//! guard drops, and also when the test process dies without running destructors.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pgp::Gpg;
use crate::util::{Env, assert_same, ok, root, run, stderr};

const PLAIN: &str = "db:\n    password: hunter2\n    port: 5432\nname: app\n";
const TOKEN: &str = "root-token-Zq81-do-not-leak";

fn bao_bin() -> PathBuf {
    let path = root().join("target/bao-venv/bin/bao");
    assert!(
        path.exists(),
        "OpenBao is missing at {}: run `bash scripts/install-test-tools.sh` (as .ci/run does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An OpenBao dev server with the transit engine and key `k1`; killed on drop.
pub struct Bao {
    child: Child,
    pub addr: String,
}

impl Bao {
    pub fn start() -> Bao {
        let port = free_port();
        let addr = format!("http://127.0.0.1:{port}");
        let script = format!(
            "'{}' server -dev -dev-listen-address=127.0.0.1:{port} -dev-root-token-id={TOKEN} >/dev/null 2>&1 & pid=$!; read _; kill $pid; wait $pid",
            bao_bin().display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let bao = Bao { child, addr };
        let start = Instant::now();
        while TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "OpenBao did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bao.cli(&["secrets", "enable", "transit"]);
        bao.cli(&["write", "-f", "transit/keys/k1"]);
        bao
    }

    fn cli(&self, args: &[&str]) {
        let start = Instant::now();
        loop {
            let out = Command::new(bao_bin())
                .env("VAULT_ADDR", &self.addr)
                .env("VAULT_TOKEN", TOKEN)
                .args(args)
                .output()
                .unwrap();
            if out.status.success() {
                return;
            }
            // The listener is up a moment before the core is unsealed.
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "bao {args:?}: {}",
                stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn uri(&self, key: &str) -> String {
        format!("{}/v1/transit/keys/{key}", self.addr)
    }

    pub fn with(&self, mut cmd: Command) -> Command {
        cmd.env("VAULT_ADDR", &self.addr).env("VAULT_TOKEN", TOKEN);
        cmd
    }

    /// Stop the server now (the end of its standard input makes `sh` kill it).
    pub fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}

/// Ours encrypts with a transit key (flag, SOPS_VAULT_URIS, `.sops.yaml`), sops decrypts; sops
/// encrypts, ours decrypts, with the token from `~/.vault-token`.
#[test]
fn vault_files_go_both_ways_with_sops() {
    let env = Env::new();
    let bao = Bao::start();
    env.write("p.yaml", PLAIN);
    let ours = ok(bao.with(env.secrets()).args([
        "encrypt",
        "--hc-vault-transit",
        &bao.uri("k1"),
        "p.yaml",
    ]));
    let text = String::from_utf8(ours.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "    hc_vault:\n        - vault_address: {}\n          engine_path: transit\n          key_name: k1\n          created_at: \"",
            bao.addr
        )) && text.contains("          enc: vault:v1:"),
        "{text}"
    );
    env.write("ours.yaml", &ours);
    assert_same(
        &ok(bao.with(env.sops()).args(["decrypt", "ours.yaml"])),
        PLAIN.as_bytes(),
        "sops decrypts ours",
    );
    let theirs =
        ok(bao
            .with(env.sops())
            .args(["encrypt", "--hc-vault-transit", &bao.uri("k1"), "p.yaml"]));
    env.write("theirs.yaml", theirs);
    // The token from ~/.vault-token, as the vault CLI leaves it.
    env.write("home/.vault-token", format!("{TOKEN}\n"));
    assert_same(
        &ok(env
            .secrets()
            .env("VAULT_ADDR", &bao.addr)
            .args(["decrypt", "theirs.yaml"])),
        PLAIN.as_bytes(),
        "ours decrypts sops's",
    );
    let from_env = ok(bao
        .with(env.secrets())
        .env("SOPS_VAULT_URIS", bao.uri("k2"))
        .args(["encrypt", "p.yaml"]));
    env.write("env.yaml", from_env);
    ok(bao.with(env.sops()).args(["decrypt", "env.yaml"]));
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - hc_vault_transit_uri: {}\n",
            bao.uri("k1")
        ),
    );
    env.write("rule.yaml", PLAIN);
    ok(bao.with(env.secrets()).args(["encrypt", "-i", "rule.yaml"]));
    assert_same(
        &ok(bao.with(env.sops()).args(["decrypt", "rule.yaml"])),
        PLAIN.as_bytes(),
        "sops reads the rule's file",
    );
}

/// Shamir, threshold 2 of 3 groups (age, PGP, Vault), read by sops; then `rotate
/// --rm-pgp` and `updatekeys` read back by sops.
#[test]
fn shamir_groups_mix_age_pgp_and_vault() {
    let env = Env::new();
    let bao = Bao::start();
    let gpg = Gpg::new(&env);
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - pgp: [{}]\n      - hc_vault: [{}]\n",
            env.recipient,
            gpg.a,
            bao.uri("k1")
        ),
    );
    env.write("s.yaml", PLAIN);
    ok(gpg
        .with(bao.with(env.secrets()))
        .args(["encrypt", "-i", "s.yaml"]));
    // sops with PGP and Vault only (no age key).
    assert_same(
        &ok(gpg
            .with(bao.with(env.sops()))
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops reads our Shamir file",
    );
    // Ours with age and Vault (gpg broken).
    assert_same(
        &ok(bao
            .with(env.secrets_with_key())
            .env("SOPS_GPG_EXEC", "/nonexistent/gpg")
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "ours reads it",
    );
    ok(gpg.with(bao.with(env.secrets_with_key())).args([
        "rotate",
        "--add-hc-vault-transit",
        &bao.uri("k2"),
        "s.yaml",
    ]));
    let text = std::fs::read_to_string(env.path("s.yaml")).unwrap();
    assert!(text.contains("key_name: k2"), "{text}");
    assert_same(
        &ok(bao.with(env.sops()).args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops after rotate --add-hc-vault-transit",
    );
    // updatekeys: the PGP group becomes a second Vault key; sops reads it without gpg.
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - hc_vault: [{}]\n      - hc_vault: [{}]\n",
            env.recipient,
            bao.uri("k3"),
            bao.uri("k1")
        ),
    );
    ok(gpg
        .with(bao.with(env.secrets_with_key()))
        .args(["updatekeys", "-y", "s.yaml"]));
    let text = std::fs::read_to_string(env.path("s.yaml")).unwrap();
    assert!(
        !text.contains(&gpg.a) && text.contains("key_name: k3"),
        "{text}"
    );
    assert_same(
        &ok(bao
            .with(env.sops())
            .env("SOPS_GPG_EXEC", "/nonexistent/gpg")
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops after updatekeys",
    );
}

/// A dead server, a wrong token, a missing key, an allowlist and a server that never answers:
/// each named per key, the next key tried, exit 8 at the end, and the token never shown.
#[test]
fn vault_failures_are_named_and_the_next_key_is_tried() {
    let env = Env::new();
    let mut bao = Bao::start();
    env.write("p.yaml", PLAIN);
    let both = ok(bao.with(env.secrets()).args([
        "encrypt",
        "--hc-vault-transit",
        &bao.uri("k1"),
        "--age",
        &env.recipient,
        "p.yaml",
    ]));
    env.write("both.yaml", &both);
    env.write("vault.yaml", {
        let only = ok(bao.with(env.secrets()).args([
            "encrypt",
            "--hc-vault-transit",
            &bao.uri("k1"),
            "p.yaml",
        ]));
        only
    });
    let wrong = stderr(&run(
        bao.with(env.secrets())
            .env("VAULT_TOKEN", "wrong-token-Qx77")
            .args(["decrypt", "vault.yaml"]),
        8,
    ));
    assert!(
        wrong.contains(&format!("Vault key {}: access denied", bao.uri("k1")))
            && !wrong.contains("wrong-token-Qx77"),
        "{wrong}"
    );
    // No such key: the stanza names a key the server does not have.
    let renamed = String::from_utf8(both.clone())
        .unwrap()
        .replace("key_name: k1", "key_name: gone");
    env.write("gone.yaml", renamed);
    let gone = stderr(&run(
        bao.with(env.secrets()).args(["decrypt", "gone.yaml"]),
        8,
    ));
    assert!(gone.contains("no such key"), "{gone}");
    let denied = stderr(&run(
        bao.with(env.secrets())
            .env("SOPS_HC_VAULT_ALLOWLIST", "https://vault.example.com")
            .args(["decrypt", "vault.yaml"]),
        8,
    ));
    assert!(
        denied.contains("not in SOPS_HC_VAULT_ALLOWLIST"),
        "{denied}"
    );
    // A server that accepts and never answers: the timeout, then age.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = format!("http://{}", silent.local_addr().unwrap());
    env.write(
        "slow.yaml",
        String::from_utf8(both.clone())
            .unwrap()
            .replace(&bao.addr, &silent_addr),
    );
    let started = Instant::now();
    let slow = stderr(&run(
        bao.with(env.secrets())
            .env("SECRETS_KEY_SERVICE_TIMEOUT", "1")
            .env("SOPS_DECRYPTION_ORDER", "hc_vault,age")
            .args(["decrypt", "slow.yaml"]),
        8,
    ));
    assert!(slow.contains("did not answer in time"), "{slow}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_same(
        &ok(bao
            .with(env.secrets_with_key())
            .env("SECRETS_KEY_SERVICE_TIMEOUT", "1")
            .env("SOPS_DECRYPTION_ORDER", "hc_vault,age")
            .args(["decrypt", "slow.yaml"])),
        PLAIN.as_bytes(),
        "age after a silent server",
    );
    drop(silent);
    // The server killed: unreachable, and age opens the file.
    bao.stop();
    let dead = stderr(&run(
        bao.with(env.secrets()).args(["decrypt", "both.yaml"]),
        8,
    ));
    assert!(
        dead.contains(&format!(
            "Vault key {}: {} is unreachable",
            bao.uri("k1"),
            bao.addr
        )) && !dead.contains(TOKEN),
        "{dead}"
    );
    assert_same(
        &ok(bao
            .with(env.secrets_with_key())
            .env("SOPS_DECRYPTION_ORDER", "hc_vault,age")
            .args(["decrypt", "both.yaml"])),
        PLAIN.as_bytes(),
        "age after a dead server",
    );
}
