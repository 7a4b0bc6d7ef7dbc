//! `secrets scan --staged` and `--history`, `secrets hook install` and user rules, on scratch
//! repositories made with the `git` command line (fixed author and dates).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{Env, run, stderr};

/// A GitLab token the scanner reports; `tag` makes each one distinct.
fn token(tag: &str) -> String {
    format!("glpat-{tag}Xk29dkLmQ2xxPq8Zr4Tw")
}

fn git_cmd(env: &Env, dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.path("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T10:00:00Z");
    cmd
}

fn git(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = run(git_cmd(env, dir).args(args), 0);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

/// A fresh repository `repo/` with branch `main` and no commit.
fn repo(env: &Env) -> PathBuf {
    let dir = env.path("repo");
    std::fs::create_dir_all(&dir).unwrap();
    git(env, &dir, &["init", "-q", "-b", "main"]);
    dir
}

fn commit(env: &Env, dir: &Path, message: &str) -> String {
    git(env, dir, &["add", "-A"]);
    git(env, dir, &["commit", "-q", "--no-verify", "-m", message]);
    git(env, dir, &["rev-parse", "HEAD"])
}

/// `secrets scan ARGS --format json` in `dir`, expecting `code`; the parsed report.
fn scan_json(env: &Env, dir: &Path, args: &[&str], code: i32) -> serde_json::Value {
    let out = run(
        env.secrets()
            .arg("scan")
            .args(args)
            .args(["--format", "json"])
            .current_dir(dir),
        code,
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (file, line) of each finding.
fn found(report: &serde_json::Value) -> BTreeSet<(String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn files(report: &serde_json::Value) -> BTreeSet<String> {
    found(report).into_iter().map(|(f, _)| f).collect()
}

/// Regression for gitleaks#585: the commit records the index, not the working copy.
#[test]
fn staged_reports_the_index_not_the_working_copy() {
    let env = Env::new();
    let dir = repo(&env);
    write(&dir, "app.py", "print('hello')\n");
    commit(&env, &dir, "first");
    // S1: a new staged file. S3: staged, then deleted from the working copy.
    write(&dir, "s1.py", &format!("token = \"{}\"\n", token("S1")));
    write(&dir, "s3.py", &format!("token = \"{}\"\n", token("S3")));
    git(&env, &dir, &["add", "s1.py", "s3.py"]);
    std::fs::remove_file(dir.join("s3.py")).unwrap();
    // S2: only in the working copy. S4: appended to a staged file after staging.
    write(&dir, "s2.py", &format!("token = \"{}\"\n", token("S2")));
    write(&dir, "app.py", "print('hello')\nprint('more')\n");
    git(&env, &dir, &["add", "app.py"]);
    write(
        &dir,
        "app.py",
        &format!("print('hello')\nprint('more')\nt = \"{}\"\n", token("S4")),
    );
    let report = scan_json(&env, &dir, &["--staged"], 1);
    assert_eq!(
        found(&report),
        BTreeSet::from([("s1.py".to_string(), 1), ("s3.py".to_string(), 1)])
    );
    assert_eq!(report["scope"]["mode"], "staged");
    // The same from a subfolder: the repository is found upwards.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let report = scan_json(&env, &dir.join("sub"), &["--staged"], 1);
    assert_eq!(
        files(&report),
        BTreeSet::from(["s1.py".into(), "s3.py".into()])
    );
}

#[test]
fn staged_on_the_first_commit_compares_with_the_empty_tree() {
    let env = Env::new();
    let dir = repo(&env);
    write(
        &dir,
        "conf/.env",
        &format!("GITLAB_TOKEN={}\n", token("F1")),
    );
    git(&env, &dir, &["add", "-A"]);
    let report = scan_json(&env, &dir, &["--staged"], 1);
    assert_eq!(files(&report), BTreeSet::from(["conf/.env".to_string()]));
    assert!(
        report["scope"]["summary"]
            .as_str()
            .unwrap()
            .contains("empty tree"),
        "{report}"
    );
}

#[test]
fn nothing_staged_is_said_not_passed_silently() {
    let env = Env::new();
    let dir = repo(&env);
    write(&dir, "a.txt", "a\n");
    commit(&env, &dir, "first");
    let out = run(
        env.secrets().args(["scan", "--staged"]).current_dir(&dir),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing to scan"), "{text}");
    assert!(
        stderr(&out).contains("warning: staged: 0 changes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn staged_honours_git_index_file() {
    let env = Env::new();
    let dir = repo(&env);
    write(&dir, "a.txt", "a\n");
    commit(&env, &dir, "first");
    write(&dir, "alt.py", &format!("t = \"{}\"\n", token("I1")));
    let alt = env.path("alt-index");
    std::fs::copy(dir.join(".git/index"), &alt).unwrap();
    run(
        git_cmd(&env, &dir)
            .env("GIT_INDEX_FILE", &alt)
            .args(["add", "alt.py"]),
        0,
    );
    // The regular index stages nothing; the alternate one stages the secret.
    scan_json(&env, &dir, &["--staged"], 0);
    let out = run(
        env.secrets()
            .args(["scan", "--staged", "--format", "json"])
            .env("GIT_INDEX_FILE", &alt)
            .current_dir(&dir),
        1,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(files(&report), BTreeSet::from(["alt.py".to_string()]));
}

#[test]
fn staged_in_a_linked_worktree_reads_that_worktrees_index() {
    let env = Env::new();
    let dir = repo(&env);
    write(&dir, "a.txt", "a\n");
    commit(&env, &dir, "first");
    let wt = env.path("wt");
    git(
        &env,
        &dir,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ],
    );
    write(&wt, "w.py", &format!("t = \"{}\"\n", token("W1")));
    git(&env, &wt, &["add", "w.py"]);
    let report = scan_json(&env, &wt, &["--staged"], 1);
    assert_eq!(files(&report), BTreeSet::from(["w.py".to_string()]));
    scan_json(&env, &dir, &["--staged"], 0);
}

#[test]
fn renames_and_edits_report_only_added_lines() {
    let env = Env::new();
    let dir = repo(&env);
    let body: String = (0..20).map(|i| format!("line_{i} = {i}\n")).collect();
    write(&dir, "old.py", &format!("t = \"{}\"\n{body}", token("R1")));
    commit(&env, &dir, "first");
    // A rename with an edit: the committed secret is not new.
    git(&env, &dir, &["mv", "old.py", "new.py"]);
    write(
        &dir,
        "new.py",
        &format!("t = \"{}\"\n{body}extra = 1\n", token("R1")),
    );
    git(&env, &dir, &["add", "new.py"]);
    let report = scan_json(&env, &dir, &["--staged"], 0);
    assert_eq!(report["files_scanned"], 1, "{report}");
    // A secret on an added line is, at its line in the staged blob.
    write(
        &dir,
        "new.py",
        &format!(
            "t = \"{}\"\n{body}extra = 1\nu = \"{}\"\n",
            token("R1"),
            token("R2")
        ),
    );
    git(&env, &dir, &["add", "new.py"]);
    let report = scan_json(&env, &dir, &["--staged"], 1);
    assert_eq!(found(&report), BTreeSet::from([("new.py".to_string(), 23)]));
}

#[test]
fn staged_plaintext_under_a_creation_rule_is_unencrypted_file() {
    let env = Env::new();
    let dir = repo(&env);
    write(
        &dir,
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: secret\\.yaml$\n    age: {}\n",
            env.recipient
        ),
    );
    write(&dir, "app/secret.yaml", "db_host: localhost\n");
    git(&env, &dir, &["add", "-A"]);
    let report = scan_json(&env, &dir, &["--staged"], 1);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["unencrypted-file"]);
    // Encrypted and staged again: clean, even though the working copy is removed.
    run(
        env.secrets_with_key()
            .args(["encrypt", "-i", "app/secret.yaml"])
            .current_dir(&dir),
        0,
    );
    git(&env, &dir, &["add", "-A"]);
    std::fs::remove_file(dir.join("app/secret.yaml")).unwrap();
    scan_json(&env, &dir, &["--staged"], 0);
}

/// H1 committed then deleted, C1 in HEAD, B1 only on another branch, S1 staged only.
#[test]
fn history_scans_reachable_blobs_and_names_the_introducing_commit() {
    let env = Env::new();
    let dir = repo(&env);
    write(&dir, "old/creds.py", &format!("t = \"{}\"\n", token("H1")));
    let h1 = commit(&env, &dir, "add creds");
    std::fs::remove_file(dir.join("old/creds.py")).unwrap();
    write(&dir, "app.py", &format!("t = \"{}\"\n", token("C1")));
    let c1 = commit(&env, &dir, "remove creds, add app");
    git(&env, &dir, &["checkout", "-q", "-b", "feature/x"]);
    write(&dir, "b.py", &format!("t = \"{}\"\n", token("B1")));
    commit(&env, &dir, "branch");
    git(&env, &dir, &["checkout", "-q", "main"]);
    write(&dir, "s.py", &format!("t = \"{}\"\n", token("S1")));
    git(&env, &dir, &["add", "s.py"]);

    let report = scan_json(&env, &dir, &["--history"], 1);
    assert_eq!(
        files(&report),
        BTreeSet::from(["app.py".into(), "old/creds.py".into()])
    );
    let commit_of = |file: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == file)
            .map(|f| f["commit"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(commit_of("old/creds.py"), h1);
    assert_eq!(commit_of("app.py"), c1);
    assert_eq!(report["scope"]["commits"], 2);
    assert_eq!(report["scope"]["refs"][0], "HEAD (refs/heads/main)");

    let all = scan_json(&env, &dir, &["--history", "--all"], 1);
    assert_eq!(
        files(&all),
        BTreeSet::from(["app.py".into(), "b.py".into(), "old/creds.py".into()])
    );
    assert_eq!(all["scope"]["commits"], 3);

    // Since the first commit: only what came after it.
    let since = scan_json(&env, &dir, &["--history", "--since", &h1], 1);
    assert_eq!(files(&since), BTreeSet::from(["app.py".to_string()]));

    // Nothing to walk is reported, never passed silently.
    let out = run(
        env.secrets()
            .args(["scan", "--history", "--since", "HEAD"])
            .current_dir(&dir),
        0,
    );
    assert!(
        stderr(&out).contains("0 commits walked"),
        "{}",
        stderr(&out)
    );
    let text = run(
        env.secrets().args(["scan", "--history"]).current_dir(&dir),
        1,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("introduced in commit {h1}")),
        "{text}"
    );
    assert!(!text.contains(&token("H1")), "a secret was printed");
}

#[test]
fn history_without_commits_is_an_error() {
    let env = Env::new();
    let dir = repo(&env);
    let out = run(
        env.secrets().args(["scan", "--history"]).current_dir(&dir),
        2,
    );
    assert!(
        stderr(&out).contains("no commit to walk"),
        "{}",
        stderr(&out)
    );
}

fn hook_install(env: &Env, dir: &Path, extra: &[&str], code: i32) -> Output {
    run(
        env.secrets()
            .args(["hook", "install"])
            .args(extra)
            .current_dir(dir),
        code,
    )
}

#[test]
fn hook_install_respects_core_hooks_path_and_never_clobbers() {
    let env = Env::new();
    let dir = repo(&env);
    git(&env, &dir, &["config", "core.hooksPath", "githooks"]);
    hook_install(&env, &dir, &[], 0);
    let installed = dir.join("githooks/pre-commit");
    let text = std::fs::read_to_string(&installed).unwrap();
    assert!(text.contains("scan --staged"), "{text}");
    assert!(!dir.join(".git/hooks/pre-commit").exists());
    // Installing twice is fine; replacing someone else's hook needs --force.
    hook_install(&env, &dir, &[], 0);
    std::fs::write(&installed, "#!/bin/sh\necho mine\n").unwrap();
    let out = hook_install(&env, &dir, &[], 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&installed).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    hook_install(&env, &dir, &["--force"], 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("githooks/pre-commit.secrets-backup")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    assert!(
        std::fs::read_to_string(&installed)
            .unwrap()
            .contains("scan --staged")
    );
}

#[test]
fn the_installed_hook_blocks_a_commit_with_a_secret_and_lets_a_clean_one_through() {
    let env = Env::new();
    let dir = repo(&env);
    hook_install(&env, &dir, &[], 0);
    write(&dir, "ok.txt", "fine\n");
    git(&env, &dir, &["add", "ok.txt"]);
    run(git_cmd(&env, &dir).args(["commit", "-q", "-m", "clean"]), 0);
    write(&dir, "leak.py", &format!("t = \"{}\"\n", token("K1")));
    git(&env, &dir, &["add", "leak.py"]);
    let out = run(git_cmd(&env, &dir).args(["commit", "-q", "-m", "leak"]), 1);
    // Git passes a hook's output on to its own stderr.
    let shown = stderr(&out);
    assert!(shown.contains("leak.py:1"), "{shown}");
    assert_eq!(git(&env, &dir, &["rev-list", "--count", "HEAD"]), "1");
    // `git commit -a` stages through a temporary index (GIT_INDEX_FILE): still caught.
    git(&env, &dir, &["reset", "-q"]);
    write(&dir, "ok.txt", &format!("fine\nt = \"{}\"\n", token("K2")));
    run(
        git_cmd(&env, &dir).args(["commit", "-q", "-a", "-m", "leak"]),
        1,
    );
    assert_eq!(git(&env, &dir, &["rev-list", "--count", "HEAD"]), "1");
}

#[test]
fn user_rules_from_the_config_file_are_found() {
    let env = Env::new();
    let dir = repo(&env);
    write(
        &dir,
        ".secrets-scan.toml",
        "[[rules]]\nid = \"acme-key\"\ndescription = \"ACME API key\"\n\
         regex = 'acme_(?P<s>[a-z0-9]{16})'\nkeywords = [\"acme_\"]\nentropy = 3.0\n\
         allow = ['^0{16}$']\n",
    );
    write(
        &dir,
        "a.py",
        "k = 'acme_q8w7e6r5t4y3u2i1'\nz = 'acme_0000000000000000'\nl = 'acme_aaaaaaaaaaaaaaab'\n",
    );
    let report = scan_json(&env, &dir, &["."], 1);
    let hits: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(hits, [("a.py".to_string(), 1, "acme-key".to_string())]);
    // The same rules apply to staged blobs (the config is read at the top of the repository).
    git(&env, &dir, &["add", "a.py"]);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let report = scan_json(&env, &dir.join("sub"), &["--staged"], 1);
    assert_eq!(report["findings"][0]["rule"], "acme-key");
}

#[test]
fn config_errors_name_the_file_and_line() {
    let env = Env::new();
    let dir = repo(&env);
    write(
        &dir,
        ".secrets-scan.toml",
        "[allow]\npaths = []\n\n[[rules]]\nid = \"acme\"\nregex = 'acme_([a-z'\nkeywords = [\"acme_\"]\n",
    );
    let out = run(env.secrets().args(["scan", "."]).current_dir(&dir), 2);
    let err = stderr(&out);
    assert!(
        err.contains(".secrets-scan.toml:6: rule \"acme\": invalid regex"),
        "{err}"
    );
}
