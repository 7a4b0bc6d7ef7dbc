//! `secrets git setup|textconv|merge-driver` and `secrets diff`, driven through real Git in a
//! scratch repository (fixed authors and dates), with the drivers pointing at the test binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::util::{Env, ok, run, sops_data_of_encrypted};

const BIN: &str = env!("CARGO_BIN_EXE_secrets");

/// A scratch repository inside an [`Env`].
struct Repo {
    env: Env,
    top: PathBuf,
}

/// PATH without any folder holding a `secrets` binary, so setup writes the test binary's path.
fn path_without_secrets() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("secrets").exists())
        .collect();
    std::env::join_paths(dirs).unwrap()
}

impl Repo {
    fn new() -> Repo {
        let env = Env::new();
        let top = env.path("repo");
        std::fs::create_dir(&top).unwrap();
        let repo = Repo { env, top };
        repo.git_ok(&["init", "-q", "-b", "main", "."]);
        std::fs::write(
            repo.top.join(".sops.yaml"),
            format!(
                "creation_rules:\n  - path_regex: \\.enc\\.(yaml|json)$\n    age: {}\n",
                repo.env.recipient
            ),
        )
        .unwrap();
        repo
    }

    fn scrub(&self, cmd: &mut Command, key: bool) {
        cmd.env_clear()
            .env("PATH", path_without_secrets())
            .env("HOME", self.env.dir.path().join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(&self.top);
        if key {
            cmd.env("SOPS_AGE_KEY_FILE", &self.env.key_file);
        }
    }

    fn git(&self, key: bool) -> Command {
        let mut cmd = Command::new("git");
        self.scrub(&mut cmd, key);
        cmd
    }

    fn git_ok(&self, args: &[&str]) -> String {
        String::from_utf8(ok(self.git(true).args(args))).unwrap()
    }

    fn secrets(&self, key: bool) -> Command {
        let mut cmd = Command::new(BIN);
        self.scrub(&mut cmd, key);
        cmd
    }

    fn path(&self, name: &str) -> PathBuf {
        self.top.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// Write a plaintext file and encrypt it in place.
    fn encrypt(&self, name: &str, plaintext: &str) {
        std::fs::write(self.path(name), plaintext).unwrap();
        ok(self.secrets(true).args(["encrypt", "-i", name]));
    }

    fn set(&self, name: &str, path: &str, value: &str) {
        ok(self.secrets(true).args(["set", name, path, value]));
    }

    fn commit(&self, message: &str) {
        self.git_ok(&["add", "-A"]);
        self.git_ok(&["commit", "-q", "-m", message]);
    }

    fn decrypt(&self, name: &str) -> String {
        String::from_utf8(ok(self.secrets(true).args(["decrypt", name]))).unwrap()
    }

    /// A repository with an encrypted YAML and JSON file committed, and the drivers set up.
    fn with_files() -> Repo {
        let repo = Repo::new();
        repo.encrypt(
            "app.enc.yaml",
            "db:\n    user: admin\n    password: p1\n    host: h1\napi:\n    token: t1\n",
        );
        repo.encrypt(
            "app.enc.json",
            "{\n  \"a\": \"a1\",\n  \"b\": \"b1\",\n  \"c\": \"c1\"\n}\n",
        );
        repo.commit("init");
        run(repo.secrets(false).args(["git", "setup"]), 0);
        repo.commit("attributes");
        repo
    }

    fn merge(&self, key: bool, branch: &str) -> Output {
        self.git(key)
            .args(["merge", "--no-edit", "-m", "merge", branch])
            .output()
            .unwrap()
    }
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

fn sops_reads(repo: &Repo, name: &str) -> serde_json::Value {
    let data = sops_data_of_encrypted(&repo.env, &repo.path(name));
    serde_json::from_slice(&data).unwrap()
}

#[test]
fn setup_writes_attributes_and_drivers_check_passes_and_remove_restores() {
    let repo = Repo::new();
    repo.encrypt("prod.enc.yaml", "a: 1\n");
    std::fs::write(repo.path(".gitattributes"), "*.png binary\n").unwrap();
    repo.commit("init");

    let before = run(repo.secrets(false).args(["git", "setup", "--check"]), 1);
    let report = String::from_utf8_lossy(&before.stdout);
    assert!(
        report.contains("prod.enc.yaml: attribute diff=secrets is not set"),
        "{report}"
    );
    assert!(
        report.contains("merge.secrets.driver is not set"),
        "{report}"
    );

    run(repo.secrets(false).args(["git", "setup"]), 0);
    let attrs = repo.read(".gitattributes");
    assert!(attrs.starts_with("*.png binary\n"), "{attrs}");
    assert!(attrs.contains("# managed by secrets git setup\n*.enc.yaml diff=secrets merge=secrets\n*.enc.json diff=secrets merge=secrets\n# end\n"), "{attrs}");
    assert_eq!(
        repo.git_ok(&["config", "--local", "diff.secrets.cachetextconv"]),
        "false\n"
    );
    let textconv = repo.git_ok(&["config", "--local", "diff.secrets.textconv"]);
    assert_eq!(textconv, format!("{BIN} git textconv\n"));
    assert_eq!(
        repo.git_ok(&["config", "--local", "merge.secrets-base.driver"]),
        format!("{BIN} git merge-driver --keyless %O %A %B %L %P\n")
    );
    assert_eq!(
        repo.git_ok(&["config", "--local", "merge.secrets.recursive"]),
        "secrets-base\n"
    );
    let checked = run(repo.secrets(false).args(["git", "setup", "--check"]), 0);
    assert!(String::from_utf8_lossy(&checked.stdout).starts_with("ok: 1 file(s) covered"));
    // Setting up twice changes nothing.
    run(repo.secrets(false).args(["git", "setup"]), 0);
    assert_eq!(repo.read(".gitattributes"), attrs);

    // A textconv cache, or caching switched on, is reported.
    let head = repo.git_ok(&["rev-parse", "HEAD"]);
    repo.git_ok(&["update-ref", "refs/notes/textconv/secrets", head.trim()]);
    let cached = run(repo.secrets(false).args(["git", "setup", "--check"]), 1);
    assert!(String::from_utf8_lossy(&cached.stdout).contains("refs/notes/textconv/secrets exists"));
    repo.git_ok(&["update-ref", "-d", "refs/notes/textconv/secrets"]);
    repo.git_ok(&["config", "--local", "diff.secrets.cachetextconv", "true"]);
    let caching = run(repo.secrets(false).args(["git", "setup", "--check"]), 1);
    assert!(
        String::from_utf8_lossy(&caching.stdout).contains("diff.secrets.cachetextconv is true")
    );

    run(repo.secrets(false).args(["git", "setup", "--remove"]), 0);
    assert_eq!(repo.read(".gitattributes"), "*.png binary\n");
    let config = repo.git_ok(&["config", "--local", "--list"]);
    assert!(!config.contains("secrets"), "{config}");
    run(repo.secrets(false).args(["git", "setup", "--check"]), 1);
}

#[test]
fn setup_lists_files_when_a_regex_has_no_glob() {
    let repo = Repo::new();
    std::fs::write(
        repo.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: ^s\\d+\\.yaml$\n    age: {}\n",
            repo.env.recipient
        ),
    )
    .unwrap();
    repo.encrypt("s1.yaml", "a: 1\n");
    std::fs::write(repo.path("plain.yaml"), "b: 2\n").unwrap();
    repo.commit("init");
    let out = run(repo.secrets(false).args(["git", "setup"]), 0);
    assert!(crate::util::stderr(&out).contains("has no glob equivalent"));
    let attrs = repo.read(".gitattributes");
    assert!(
        attrs.contains("\n/s1.yaml diff=secrets merge=secrets\n"),
        "{attrs}"
    );
    assert!(!attrs.contains("plain.yaml"));
    run(repo.secrets(false).args(["git", "setup", "--check"]), 0);
}

#[test]
fn textconv_shows_decrypted_sorted_values_with_a_key_and_fingerprints_without() {
    let repo = Repo::with_files();
    repo.set("app.enc.yaml", r#"["db"]["password"]"#, "p2");
    repo.commit("rotate password");

    let with_key = repo.git_ok(&["log", "-p", "-1", "--", "app.enc.yaml"]);
    assert!(
        with_key.contains("\n-db.password: p1\n+db.password: p2\n"),
        "{with_key}"
    );
    assert!(with_key.contains("\n api.token: t1\n"), "{with_key}");
    assert!(!with_key.contains("ENC["), "{with_key}");
    assert!(
        !with_key.contains("mac") && !with_key.contains("lastmodified"),
        "{with_key}"
    );

    let keyless = String::from_utf8(ok(repo.git(false).args([
        "log",
        "-p",
        "-1",
        "--",
        "app.enc.yaml",
    ])))
    .unwrap();
    let changed: Vec<&str> = keyless
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(changed.len(), 2, "{keyless}");
    assert!(
        changed[0].starts_with("-db.password: <enc ")
            && changed[1].starts_with("+db.password: <enc "),
        "{keyless}"
    );
    assert!(
        !keyless.contains("p1") && !keyless.contains("p2"),
        "{keyless}"
    );

    // Forced redaction, even with a key.
    let forced = String::from_utf8(ok(repo
        .git(true)
        .env("SECRETS_TEXTCONV", "redacted")
        .args(["log", "-p", "-1", "--", "app.enc.yaml"])))
    .unwrap();
    assert!(
        forced.contains("+db.password: <enc ") && !forced.contains("p2"),
        "{forced}"
    );

    // Nothing decrypted was cached as notes.
    assert_eq!(repo.git_ok(&["for-each-ref", "refs/notes/"]), "");
}

#[test]
fn textconv_prints_other_input_as_it_is_and_always_exits_0() {
    let repo = Repo::new();
    let garbage: &[u8] = b"\x00\xffnot: [valid\n\x01";
    for (name, bytes) in [
        ("g.yaml", garbage),
        ("plain.yaml", b"a: 1\n".as_slice()),
        ("broken.json", b"{\"sops\": ".as_slice()),
    ] {
        std::fs::write(repo.path(name), bytes).unwrap();
        let out = run(repo.secrets(true).args(["git", "textconv", name]), 0);
        assert_eq!(out.stdout, bytes, "{name}");
    }
    run(
        repo.secrets(true).args(["git", "textconv", "missing.yaml"]),
        0,
    );
}

#[test]
fn secrets_diff_shows_decrypted_lines_or_fingerprints() {
    let repo = Repo::with_files();
    repo.set("app.enc.json", r#"["b"]"#, "b2");
    let out = String::from_utf8(ok(repo.secrets(true).args(["diff", "app.enc.json"]))).unwrap();
    assert!(
        out.starts_with("--- a/app.enc.json (HEAD)\n+++ b/app.enc.json (working tree)\n@@"),
        "{out}"
    );
    assert!(
        out.contains("\n-b: b1\n+b: b2\n") && out.contains("\n a: a1\n"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "no colour into a pipe");
    let keyless =
        String::from_utf8(ok(repo.secrets(false).args(["diff", "app.enc.json"]))).unwrap();
    assert!(
        keyless.contains("\n-b: <enc ") && !keyless.contains(": b2"),
        "{keyless}"
    );
    run(
        repo.secrets(true)
            .args(["diff", "--exit-code", "app.enc.json"]),
        1,
    );
    // Staged: nothing yet; then the change.
    assert!(
        ok(repo
            .secrets(true)
            .args(["diff", "--staged", "app.enc.json"]))
        .is_empty()
    );
    repo.git_ok(&["add", "app.enc.json"]);
    let staged = String::from_utf8(ok(repo.secrets(true).args([
        "diff",
        "--staged",
        "app.enc.json",
    ])))
    .unwrap();
    assert!(staged.contains("+b: b2"), "{staged}");
}

/// Two branches changing different (and adjacent) keys of both files.
fn diverge(repo: &Repo) {
    repo.git_ok(&["checkout", "-q", "-b", "feat"]);
    repo.set("app.enc.yaml", r#"["db"]["password"]"#, "p-feat");
    repo.set("app.enc.json", r#"["b"]"#, "b-feat");
    repo.commit("feat: password and b");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.set("app.enc.yaml", r#"["db"]["host"]"#, "h-main");
    repo.set("app.enc.yaml", r#"["added"]"#, "new-main");
    repo.set("app.enc.json", r#"["a"]"#, "a-main");
    repo.commit("main: host, added, a");
}

#[test]
fn a_real_merge_of_different_keys_is_clean_and_sops_verifies_the_result() {
    let repo = Repo::with_files();
    diverge(&repo);
    let feat_yaml =
        String::from_utf8(ok(repo.git(true).args(["show", "feat:app.enc.yaml"]))).unwrap();
    let out = repo.merge(true, "feat");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert_eq!(repo.git_ok(&["status", "--porcelain"]), "");

    assert_eq!(
        repo.decrypt("app.enc.yaml"),
        "db:\n    user: admin\n    password: p-feat\n    host: h-main\napi:\n    token: t1\nadded: new-main\n"
    );
    assert_eq!(
        repo.decrypt("app.enc.json"),
        "{\n  \"a\": \"a-main\",\n  \"b\": \"b-feat\",\n  \"c\": \"c1\"\n}\n"
    );
    // sops 3.11 checks the recomputed MAC.
    let yaml = sops_reads(&repo, "app.enc.yaml");
    assert_eq!(yaml["db"]["password"], "p-feat");
    assert_eq!(yaml["db"]["host"], "h-main");
    assert_eq!(sops_reads(&repo, "app.enc.json")["b"], "b-feat");
    // Theirs' ciphertext was taken verbatim: the merge made no new ciphertext for it.
    let merged = repo.read("app.enc.yaml");
    let theirs_line = lines_with(&feat_yaml, "password:")[0];
    assert!(merged.contains(theirs_line));
    assert!(!merged.contains("<<<<<<<"));
}

#[test]
fn the_same_key_changed_on_both_sides_conflicts_on_that_key_only() {
    let repo = Repo::with_files();
    repo.git_ok(&["checkout", "-q", "-b", "feat"]);
    repo.set("app.enc.yaml", r#"["api"]["token"]"#, "t-feat");
    repo.set("app.enc.yaml", r#"["db"]["user"]"#, "root");
    repo.commit("feat");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.set("app.enc.yaml", r#"["api"]["token"]"#, "t-main");
    repo.commit("main");
    let ours = repo.read("app.enc.yaml");

    let out = repo.merge(true, "feat");
    assert_eq!(out.status.code(), Some(1), "{}", crate::util::stderr(&out));
    let text = repo.read("app.enc.yaml");
    assert_eq!(lines_with(&text, "<<<<<<<").len(), 1, "{text}");
    assert_eq!(
        lines_with(&text, "<<<<<<< ours: api.token = \"t-main\"").len(),
        1,
        "{text}"
    );
    assert_eq!(
        lines_with(&text, ">>>>>>> theirs: api.token = \"t-feat\"").len(),
        1,
        "{text}"
    );
    // Between the markers: one ciphertext line from each side, nothing else.
    let start = text.find("<<<<<<<").unwrap();
    let block: Vec<&str> = text[start..].lines().take(5).collect();
    assert!(block[1].trim_start().starts_with("token: ENC[") && block[2] == "=======");
    assert!(block[3].trim_start().starts_with("token: ENC[") && block[4].starts_with(">>>>>>>"));
    assert_eq!(block[1], lines_with(&ours, "token:")[0]);
    // The other key merged: theirs' db.user ciphertext is in the file.
    let feat = String::from_utf8(ok(repo.git(true).args(["show", "feat:app.enc.yaml"]))).unwrap();
    assert!(text.contains(lines_with(&feat, "user:")[0]));
}

#[test]
fn without_a_key_the_values_merge_but_the_mac_is_left_in_conflict() {
    let repo = Repo::with_files();
    diverge(&repo);
    let out = repo.merge(false, "feat");
    assert_eq!(out.status.code(), Some(1));
    assert!(crate::util::stderr(&out).contains("MAC not recomputed: no key"));
    let text = repo.read("app.enc.yaml");
    let feat = String::from_utf8(ok(repo.git(false).args(["show", "feat:app.enc.yaml"]))).unwrap();
    // Exactly one marker block, around the MAC line; both sides' value changes are present.
    assert_eq!(lines_with(&text, "<<<<<<<").len(), 1, "{text}");
    let start = text.find("<<<<<<<").unwrap();
    let block: Vec<&str> = text[start..].lines().take(5).collect();
    assert!(block[0].contains("MAC not recomputed"), "{text}");
    assert!(
        block[1].trim_start().starts_with("mac: ENC[")
            && block[3].trim_start().starts_with("mac: ENC[")
    );
    assert!(text.contains(lines_with(&feat, "password:")[0]));
    // Merging again with a key gives a clean, verified result.
    repo.git_ok(&["merge", "--abort"]);
    let again = repo.merge(true, "feat");
    assert!(again.status.success(), "{}", crate::util::stderr(&again));
    assert_eq!(
        sops_reads(&repo, "app.enc.yaml")["db"]["password"],
        "p-feat"
    );
}

#[test]
fn a_side_whose_mac_does_not_verify_is_not_resealed() {
    let repo = Repo::with_files();
    repo.git_ok(&["checkout", "-q", "-b", "feat"]);
    // Theirs swaps in a ciphertext by hand: a different value's ENC string under another key
    // would fail decryption, so swap the order-independent MAC instead: reuse an old MAC.
    let old = repo.read("app.enc.yaml");
    repo.set("app.enc.yaml", r#"["db"]["password"]"#, "p-feat");
    let new = repo.read("app.enc.yaml");
    let old_mac = lines_with(&old, "mac:")[0];
    let new_mac = lines_with(&new, "mac:")[0];
    let old_lm = lines_with(&old, "lastmodified:")[0];
    let new_lm = lines_with(&new, "lastmodified:")[0];
    std::fs::write(
        repo.path("app.enc.yaml"),
        new.replace(new_mac, old_mac).replace(new_lm, old_lm),
    )
    .unwrap();
    repo.commit("feat: tampered");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.set("app.enc.yaml", r#"["db"]["host"]"#, "h-main");
    repo.commit("main");
    let out = repo.merge(true, "feat");
    assert_eq!(out.status.code(), Some(1));
    let err = crate::util::stderr(&out);
    assert!(err.contains("theirs: MAC mismatch"), "{err}");
    assert!(
        repo.read("app.enc.yaml")
            .contains("MAC not recomputed: a side does not authenticate")
    );
}

#[test]
fn unparseable_sides_fall_back_to_a_line_merge() {
    let repo = Repo::with_files();
    let dir = repo.env.dir.path();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = write("o", "a: 1\nx: 0\ny: 0\nb: 1\n");
    let ours = write("a", "a: 2\nx: 0\ny: 0\nb: 1\n");
    let theirs = write("b", "a: 1\nx: 0\ny: 0\nb: 3\n: [\n");
    let out = run(
        repo.secrets(true)
            .args(["git", "merge-driver"])
            .args([&base, &ours, &theirs].map(|p| p.as_os_str()))
            .args(["7", "x.yaml"]),
        0,
    );
    assert!(crate::util::stderr(&out).contains("falling back to a line merge"));
    assert_eq!(
        std::fs::read_to_string(&ours).unwrap(),
        "a: 2\nx: 0\ny: 0\nb: 3\n: [\n"
    );
    // Overlapping line changes conflict, with Git's markers.
    std::fs::write(&ours, "a: 5\nx: 0\ny: 0\nb: 4\n").unwrap();
    run(
        repo.secrets(true)
            .args(["git", "merge-driver"])
            .args([&base, &ours, &theirs].map(|p| p.as_os_str()))
            .args(["7", "x.yaml"]),
        1,
    );
    assert!(
        std::fs::read_to_string(&ours)
            .unwrap()
            .contains("<<<<<<< ours\n")
    );
}

#[test]
fn the_keyless_driver_for_virtual_bases_merges_ciphertexts_and_keeps_ours_mac() {
    let repo = Repo::with_files();
    diverge(&repo);
    let dir = repo.env.dir.path();
    let show = |rev: &str, name: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            ok(repo
                .git(false)
                .args(["show", &format!("{rev}:app.enc.yaml")])),
        )
        .unwrap();
        p
    };
    let (base, ours, theirs) = (show("main~1", "o"), show("main", "a"), show("feat", "b"));
    let ours_text = std::fs::read_to_string(&ours).unwrap();
    let feat = std::fs::read_to_string(&theirs).unwrap();
    run(
        repo.secrets(false)
            .args(["git", "merge-driver", "--keyless"])
            .args([&base, &ours, &theirs].map(|p| p.as_os_str()))
            .args(["7", "app.enc.yaml"]),
        0,
    );
    let merged = std::fs::read_to_string(&ours).unwrap();
    assert!(!merged.contains("<<<<<<<"));
    assert!(merged.contains(lines_with(&feat, "password:")[0]));
    assert!(merged.contains(lines_with(&ours_text, "host:")[0]));
    assert_eq!(lines_with(&merged, "mac:"), lines_with(&ours_text, "mac:"));
}

#[test]
fn a_hand_resolved_conflict_is_resealed_by_resolve() {
    let repo = Repo::with_files();
    repo.git_ok(&["checkout", "-q", "-b", "feat"]);
    repo.set("app.enc.yaml", r#"["api"]["token"]"#, "t-feat");
    repo.commit("feat");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.set("app.enc.yaml", r#"["api"]["token"]"#, "t-main");
    repo.commit("main");
    assert_eq!(repo.merge(true, "feat").status.code(), Some(1));
    // Keep theirs: drop the marker lines and ours' line.
    let text = repo.read("app.enc.yaml");
    let mut kept = String::new();
    let mut state = 0; // 0 outside, 1 ours, 2 theirs
    for line in text.split_inclusive('\n') {
        match (state, &line[..line.len().min(7)]) {
            (0, "<<<<<<<") => state = 1,
            (1, "=======") => state = 2,
            (2, ">>>>>>>") => state = 0,
            (1, _) => {}
            _ => kept.push_str(line),
        }
    }
    std::fs::write(repo.path("app.enc.yaml"), &kept).unwrap();
    // A value from neither side is refused.
    let forged = kept.replace(
        lines_with(&kept, "user:")[0],
        lines_with(&kept, "host:")[0]
            .replace("host", "user")
            .as_str(),
    );
    std::fs::write(repo.path("app.enc.yaml"), &forged).unwrap();
    let refused = run(
        repo.secrets(true).args(["git", "resolve", "app.enc.yaml"]),
        2,
    );
    assert!(crate::util::stderr(&refused).contains("db.user is neither ours nor theirs"));
    std::fs::write(repo.path("app.enc.yaml"), &kept).unwrap();
    run(
        repo.secrets(true).args(["git", "resolve", "app.enc.yaml"]),
        0,
    );
    assert_eq!(sops_reads(&repo, "app.enc.yaml")["api"]["token"], "t-feat");
    repo.git_ok(&["add", "app.enc.yaml"]);
    repo.git_ok(&["commit", "-q", "--no-edit"]);
}

/// `git setup` reads its creation rules from SOPS_CONFIG (resolved once for every command), as
/// from `--config`, when the repository has no `.sops.yaml`.
#[test]
fn setup_honours_sops_config() {
    let repo = Repo::new();
    let rules = repo.top.join("ci-rules.yaml");
    std::fs::rename(repo.top.join(".sops.yaml"), &rules).unwrap();
    run(repo.secrets(false).args(["git", "setup"]), 15);
    run(
        repo.secrets(false)
            .env("SOPS_CONFIG", &rules)
            .args(["git", "setup"]),
        0,
    );
    let attributes = std::fs::read_to_string(repo.top.join(".gitattributes")).unwrap();
    assert!(attributes.contains("enc"), "{attributes}");
}
