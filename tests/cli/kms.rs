//! AWS KMS keys against a real `moto` server on 127.0.0.1 (installed under target/moto-venv by
//! scripts/install-test-tools.sh), one per test, and the reference sops.
//!
//! As for OpenBao, the server runs under `sh`, which kills it when its standard input closes.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pgp::Gpg;
use crate::util::{Env, assert_same, ok, root, run, stderr};

const PLAIN: &str = "db:\n    password: hunter2\n    port: 5432\nname: app\n";
const SECRET_KEY: &str = "secret-Kx93-do-not-leak";

fn moto_bin() -> PathBuf {
    let path = root().join("target/moto-venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto is missing at {}: run `bash scripts/install-test-tools.sh` (as .ci/run does)",
        path.display()
    );
    path
}

/// A moto server; killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = format!(
            "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; read _; kill $pid; wait $pid",
            moto_bin().display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// Call the KMS API (moto tells the service by the Authorization header's scope).
    fn kms(&self, target: &str, body: &str) -> String {
        self.api(
            "kms",
            &[("X-Amz-Target", &format!("TrentService.{target}"))],
            "application/x-amz-json-1.1",
            body,
        )
    }

    fn api(
        &self,
        service: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &str,
    ) -> String {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-X",
            "POST",
            "-H",
            &format!("Content-Type: {content_type}"),
        ]);
        cmd.args([
            "-H",
            &format!("Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        ]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        let out = cmd
            .args(["-d", body, &format!("{}/", self.url)])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    fn create_key(&self) -> String {
        let answer = self.kms("CreateKey", "{}");
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
        v["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
    }

    fn with(&self, mut cmd: Command) -> Command {
        cmd.env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        cmd
    }

    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}

/// Ours encrypts for a KMS key with an encryption context (flag, SOPS_KMS_ARN, `.sops.yaml`
/// key-group object), sops decrypts; sops encrypts, ours decrypts; a profile from the shared
/// credentials file, and `ARN+ROLE_ARN` through STS.
#[test]
fn kms_files_go_both_ways_with_sops() {
    let env = Env::new();
    let moto = Moto::start();
    let arn = moto.create_key();
    env.write("p.yaml", PLAIN);
    let ours = ok(moto.with(env.secrets()).args([
        "encrypt",
        "--kms",
        &arn,
        "--encryption-context",
        "env:prod,app:web",
        "p.yaml",
    ]));
    let text = String::from_utf8(ours.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "    kms:\n        - arn: {arn}\n          context:\n            app: web\n            env: prod\n          created_at: \""
        )) && text.contains("          aws_profile: \"\"\n"),
        "{text}"
    );
    env.write("ours.yaml", &ours);
    assert_same(
        &ok(moto.with(env.sops()).args(["decrypt", "ours.yaml"])),
        PLAIN.as_bytes(),
        "sops decrypts ours",
    );
    let theirs = ok(moto
        .with(env.sops())
        .args(["encrypt", "--kms", &arn, "p.yaml"]));
    env.write("theirs.yaml", theirs);
    assert_same(
        &ok(moto.with(env.secrets()).args(["decrypt", "theirs.yaml"])),
        PLAIN.as_bytes(),
        "ours decrypts sops's",
    );
    // A profile in the shared credentials file, no keys in the environment.
    env.write(
        "home/creds",
        format!("[default]\naws_access_key_id = nope\n\n[team]\naws_access_key_id = testing\naws_secret_access_key = {SECRET_KEY}\n"),
    );
    let profiled = ok(env
        .secrets()
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_SHARED_CREDENTIALS_FILE", env.path("home/creds"))
        .args(["encrypt", "--kms", &arn, "--aws-profile", "team", "p.yaml"]));
    assert!(String::from_utf8_lossy(&profiled).contains("aws_profile: team"));
    env.write("profiled.yaml", profiled);
    ok(env
        .secrets()
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_SHARED_CREDENTIALS_FILE", env.path("home/creds"))
        .args(["decrypt", "profiled.yaml"]));
    // ARN+ROLE_ARN (STS AssumeRole) from SOPS_KMS_ARN, and a key-group object in .sops.yaml.
    let role = "arn:aws:iam::123456789012:role/sops";
    let assumed = ok(moto
        .with(env.secrets())
        .env("SOPS_KMS_ARN", format!("{arn}+{role}"))
        .args(["encrypt", "p.yaml"]));
    assert!(String::from_utf8_lossy(&assumed).contains(&format!("role: {role}")));
    env.write("assumed.yaml", assumed);
    ok(moto.with(env.sops()).args(["decrypt", "assumed.yaml"]));
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: {arn}\n            context:\n              team: ops\n"
        ),
    );
    env.write("rule.yaml", PLAIN);
    ok(moto
        .with(env.secrets())
        .args(["encrypt", "-i", "rule.yaml"]));
    assert!(
        std::fs::read_to_string(env.path("rule.yaml"))
            .unwrap()
            .contains("team: ops")
    );
    assert_same(
        &ok(moto.with(env.sops()).args(["decrypt", "rule.yaml"])),
        PLAIN.as_bytes(),
        "sops reads the rule's file",
    );
}

/// Shamir across age, PGP and KMS groups, threshold 2, read by sops; `rotate --add-kms
/// --rm-pgp` and `updatekeys` read back by sops.
#[test]
fn shamir_groups_mix_age_pgp_and_kms() {
    let env = Env::new();
    let moto = Moto::start();
    let gpg = Gpg::new(&env);
    let (k1, k2) = (moto.create_key(), moto.create_key());
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - pgp: [{}]\n      - kms:\n          - arn: {k1}\n",
            env.recipient, gpg.a
        ),
    );
    env.write("s.yaml", PLAIN);
    ok(gpg
        .with(moto.with(env.secrets()))
        .args(["encrypt", "-i", "s.yaml"]));
    assert_same(
        &ok(gpg
            .with(moto.with(env.sops()))
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops reads our Shamir file with PGP and KMS",
    );
    assert_same(
        &ok(moto
            .with(env.secrets_with_key())
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "ours with age and KMS",
    );
    // A plain (one group) file: rotate --add-kms --rm-pgp.
    env.write("r.yaml", PLAIN);
    let r = ok(gpg.with(env.secrets()).args([
        "encrypt",
        "--pgp",
        &gpg.a,
        "--age",
        &env.recipient,
        "r.yaml",
    ]));
    env.write("r.yaml", r);
    ok(gpg.with(moto.with(env.secrets_with_key())).args([
        "rotate",
        "--add-kms",
        &k2,
        "--rm-pgp",
        &gpg.a,
        "r.yaml",
    ]));
    let text = std::fs::read_to_string(env.path("r.yaml")).unwrap();
    assert!(text.contains(&k2) && !text.contains(&gpg.a), "{text}");
    assert_same(
        &ok(moto
            .with(env.sops())
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "r.yaml"])),
        PLAIN.as_bytes(),
        "sops opens the added KMS key",
    );
    // updatekeys: the rule for s.yaml swaps the PGP group for a second KMS key.
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - kms:\n          - arn: {k2}\n      - kms:\n          - arn: {k1}\n",
            env.recipient
        ),
    );
    ok(gpg
        .with(moto.with(env.secrets_with_key()))
        .args(["updatekeys", "-y", "s.yaml"]));
    let text = std::fs::read_to_string(env.path("s.yaml")).unwrap();
    assert!(!text.contains(&gpg.a) && text.contains(&k2), "{text}");
    assert_same(
        &ok(moto
            .with(env.sops())
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["decrypt", "s.yaml"])),
        PLAIN.as_bytes(),
        "sops after updatekeys",
    );
}

/// A missing key, missing credentials and a killed server: each named
/// per key, the next key tried, exit 8, and no credential in any message.
#[test]
fn kms_failures_are_named_and_the_next_key_is_tried() {
    let env = Env::new();
    let mut moto = Moto::start();
    let arn = moto.create_key();
    env.write("p.yaml", PLAIN);
    let both = ok(moto.with(env.secrets()).args([
        "encrypt",
        "--kms",
        &arn,
        "--age",
        &env.recipient,
        "p.yaml",
    ]));
    env.write("both.yaml", &both);
    // A key the server does not have (moto does not enforce DisableKey on Decrypt, so the
    // "key is disabled" reason is covered by a unit test on KMS's error type only).
    let missing = arn.replace(
        arn.rsplit('/').next().unwrap(),
        "00000000-0000-0000-0000-000000000000",
    );
    let err = stderr(&run(
        moto.with(env.secrets())
            .args(["encrypt", "--kms", &missing, "p.yaml"]),
        8,
    ));
    assert!(
        err.contains(&missing) && err.contains("no such key") && !err.contains(SECRET_KEY),
        "{err}"
    );
    // No credentials at all.
    let err = stderr(&run(
        env.secrets()
            .env("AWS_ENDPOINT_URL", &moto.url)
            .args(["decrypt", "both.yaml"]),
        8,
    ));
    assert!(err.contains("no AWS credentials"), "{err}");
    moto.stop();
    let err = stderr(&run(
        moto.with(env.secrets()).args(["decrypt", "both.yaml"]),
        8,
    ));
    assert!(
        err.contains(&format!("KMS key {arn}: {} is unreachable", moto.url))
            && !err.contains(SECRET_KEY),
        "{err}"
    );
    assert_same(
        &ok(moto
            .with(env.secrets_with_key())
            .env("SOPS_DECRYPTION_ORDER", "kms,age")
            .args(["decrypt", "both.yaml"])),
        PLAIN.as_bytes(),
        "age after a dead server",
    );
}
