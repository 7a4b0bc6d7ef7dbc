//! Test environment: a temp dir, the fixture key, and commands with a scrubbed environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const FIXTURE_RECIPIENT_FILE: &str = "fixtures/keys/test-key.txt";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The reference sops binary, installed by `.ci/run` (scripts/install-test-tools.sh).
pub fn sops_bin() -> PathBuf {
    let path = std::env::var_os("SECRETS_TEST_SOPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/sops-venv/bin/sops"));
    assert!(
        path.exists(),
        "the reference sops binary is missing at {}: run `bash scripts/install-test-tools.sh` (as .ci/run does)",
        path.display()
    );
    path
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub key_file: PathBuf,
    pub recipient: String,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let key_text = std::fs::read_to_string(root().join(FIXTURE_RECIPIENT_FILE)).unwrap();
        let key_file = dir.path().join("key.txt");
        std::fs::write(&key_file, &key_text).unwrap();
        let recipient = key_text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .trim()
            .to_string();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Env {
            dir,
            key_file,
            recipient,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    fn scrub(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(self.dir.path());
    }

    /// `secrets` with no key configured.
    pub fn secrets(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_secrets"));
        self.scrub(&mut cmd);
        cmd
    }

    /// `secrets` with the fixture identity in SOPS_AGE_KEY_FILE.
    pub fn secrets_with_key(&self) -> Command {
        let mut cmd = self.secrets();
        cmd.env("SOPS_AGE_KEY_FILE", &self.key_file);
        cmd
    }

    /// The reference sops, with the fixture identity.
    pub fn sops(&self) -> Command {
        let mut cmd = Command::new(sops_bin());
        self.scrub(&mut cmd);
        cmd.env("SOPS_AGE_KEY_FILE", &self.key_file);
        cmd
    }
}

/// Run a command; on an unexpected exit code, panic showing the command and both streams.
pub fn run(cmd: &mut Command, expect_code: i32) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let code = out.status.code().unwrap_or(-1);
    if code != expect_code {
        panic!(
            "{cmd:?}\nexpected exit {expect_code}, got {code}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn ok(cmd: &mut Command) -> Vec<u8> {
    run(cmd, 0).stdout
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The data of a plaintext file as sops sees it: `sops encrypt` it, then `sops decrypt` it to JSON.
pub fn sops_data_of_plaintext(env: &Env, plain: &Path) -> Vec<u8> {
    let name = plain.file_name().unwrap().to_string_lossy().into_owned();
    let enc = env.path(&format!("canon-{name}"));
    let bytes = ok(env
        .sops()
        .args(["encrypt", "--age", &env.recipient])
        .arg(plain));
    std::fs::write(&enc, bytes).unwrap();
    sops_data_of_encrypted(env, &enc)
}

/// The data of an encrypted file as sops decrypts it (MAC checked), as JSON.
pub fn sops_data_of_encrypted(env: &Env, enc: &Path) -> Vec<u8> {
    ok(env
        .sops()
        .args(["decrypt", "--output-type", "json"])
        .arg(enc))
}

/// Assert two byte strings are equal, showing them as text on failure.
#[track_caller]
pub fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        panic!(
            "{what}: differs\n--- actual\n{}\n--- expected\n{}",
            String::from_utf8_lossy(actual),
            String::from_utf8_lossy(expected)
        );
    }
}

/// The data of an encrypted file as sops-age 4.0.2 (npm) decrypts it, installed into
/// target/sops-age by scripts/install-test-tools.sh; Err with its message when it refuses.
pub fn sops_age_data(env: &Env, enc: &Path) -> Result<serde_json::Value, String> {
    let pkg = root().join("target/sops-age/node_modules/sops-age");
    assert!(
        pkg.exists(),
        "sops-age is missing at {}: run `bash scripts/install-test-tools.sh` (as .ci/run does)",
        pkg.display()
    );
    let out = Command::new("node")
        .arg(root().join("tests/node/sops-age-decrypt.mjs"))
        .arg(&pkg)
        .arg(enc)
        .arg(&env.key_file)
        .output()
        .expect("node runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("sops-age prints JSON"))
}

/// `git` in `dir` as the fixed author Dana, with an isolated config; at `date` (author and
/// committer) when given. Panics with git's stderr on failure; returns trimmed stdout.
pub fn git_as_dana(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir.join(".home"))
        .env("GIT_AUTHOR_NAME", "Dana")
        .env("GIT_AUTHOR_EMAIL", "dana@example.com")
        .env("GIT_COMMITTER_NAME", "Dana")
        .env("GIT_COMMITTER_EMAIL", "dana@example.com");
    if let Some(date) = date {
        cmd.env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
