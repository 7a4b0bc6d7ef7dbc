//! `secrets scan`: the labeled fixture set (recall and precision floors), exit codes, reports,
//! ignore rules, standard input, binary files and creation-rule awareness.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;

use crate::util::{Env, root, run, stderr};

/// A test folder `repo/` beside (not holding) the fixture key file that `Env` writes.
fn repo(env: &Env) -> std::path::PathBuf {
    let dir = env.path("repo");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Files (by name) with at least one finding in a JSON report.
fn flagged(report: &[u8]) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_slice(report).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            file.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

fn names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join("fixtures/scan").join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The labeled set: `positives/` holds one secret per file, `negatives/` none. File-level
/// recall and precision must both reach 0.95 (issue 7). Run with `--nocapture` to see them.
#[test]
fn labeled_set_recall_and_precision() {
    let env = Env::new();
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json"])
            .arg(root().join("fixtures/scan/positives"))
            .arg(root().join("fixtures/scan/negatives")),
        1,
    );
    let found = flagged(&out.stdout);
    let positives = names("positives");
    let negatives = names("negatives");
    let tp = positives.intersection(&found).count();
    let fp = negatives.intersection(&found).count();
    let recall = tp as f64 / positives.len() as f64;
    let precision = tp as f64 / (tp + fp) as f64;
    let missed: Vec<_> = positives.difference(&found).collect();
    let false_alarms: Vec<_> = negatives.intersection(&found).collect();
    #[allow(clippy::print_stdout)] // the figures the issue asks for, shown with --nocapture
    let () = println!(
        "labeled set: {tp}/{} positives found, {fp}/{} negatives flagged: recall {recall:.3}, precision {precision:.3}",
        positives.len(),
        negatives.len()
    );
    assert!(recall >= 0.95, "recall {recall:.3}; missed {missed:?}");
    assert!(
        precision >= 0.95,
        "precision {precision:.3}; false alarms {false_alarms:?}"
    );
}

#[test]
fn clean_tree_exits_0_and_secrets_exit_1_never_printing_them() {
    let env = Env::new();
    let dir = repo(&env);
    env.write(
        "repo/README.md",
        "Set DB_PASSWORD=changeme for local runs.\n",
    );
    let out = run(env.secrets().args(["scan", "."]).current_dir(&dir), 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0 findings in 0 files; 1 file scanned, 0 binary files skipped\n"
    );
    let secret = "Vq8#rT2!mZ6pLwXe";
    env.write(
        "repo/app.env",
        format!("DB_HOST=db\nDB_PASSWORD={secret}\n"),
    );
    let out = run(env.secrets().args(["scan", "app.env"]).current_dir(&dir), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(secret), "{text}");
    assert!(!stderr(&out).contains(secret));
    assert!(
        text.starts_with(
            "app.env:2:13: Secret assigned to a password, secret or token setting (generic-secret, medium confidence)\n    DB_PASSWORD=[REDACTED]\n    fingerprint: "
        ),
        "{text}"
    );
    assert!(text.contains("hint: revoke the credential"), "{text}");
    assert!(text.ends_with("1 finding in 1 file; 1 file scanned, 0 binary files skipped\n"));
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "app.env"])
            .current_dir(&dir),
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert_eq!(v["findings"][0]["rule"], "generic-secret");
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(v["files_scanned"], 1);
}

#[test]
fn sarif_report_names_rules_and_locations_without_secrets() {
    let env = Env::new();
    let dir = repo(&env);
    let token = github_token();
    env.write("repo/ci.env", format!("X=1\nGITHUB_TOKEN={token}\n"));
    let out = run(
        env.secrets()
            .args(["scan", "--format", "sarif", "."])
            .current_dir(&dir),
        1,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(&token));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["rules"][0]["id"], "github-token");
    let result = &run0["results"][0];
    assert_eq!(result["ruleId"], "github-token");
    assert_eq!(result["ruleIndex"], 0);
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "ci.env");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 14);
    assert_eq!(
        result["partialFingerprints"]["secretFingerprint/v1"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn baseline_accepts_known_findings_and_reports_new_ones() {
    let env = Env::new();
    let dir = repo(&env);
    let old = "Vq8#rT2!mZ6pLwXe";
    env.write("repo/a.env", format!("DB_PASSWORD={old}\n"));
    let out = run(
        env.secrets()
            .args(["scan", "--update-baseline", "."])
            .current_dir(&dir),
        0,
    );
    assert_eq!(stderr(&out), ".secrets-baseline: 1 finding accepted\n");
    let baseline = std::fs::read_to_string(dir.join(".secrets-baseline")).unwrap();
    assert!(!baseline.contains(old));
    assert!(
        !baseline.contains("a.env"),
        "no paths in the baseline: {baseline}"
    );
    assert!(baseline.ends_with(" generic-secret\n"), "{baseline}");
    // Moving the secret to another line keeps it accepted.
    env.write("repo/a.env", format!("# moved\n\nDB_PASSWORD={old}\n"));
    run(env.secrets().args(["scan", "."]).current_dir(&dir), 0);
    // A new secret is reported.
    env.write("repo/b.env", "API_TOKEN=Zk3$pW9!qR7tLm2X\n");
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    assert_eq!(flagged(&out.stdout), BTreeSet::from(["b.env".to_string()]));
    // An explicit baseline that does not exist is an error.
    run(
        env.secrets()
            .args(["scan", "--baseline", "missing", "."])
            .current_dir(&dir),
        2,
    );
}

#[test]
fn scan_config_allows_paths_by_glob() {
    let env = Env::new();
    let dir = repo(&env);
    std::fs::create_dir_all(dir.join("testdata/keys")).unwrap();
    let token = github_token();
    env.write("repo/testdata/keys/a.env", format!("GH={token}\n"));
    env.write("repo/real.env", format!("GH={token}\n"));
    env.write(
        "repo/.secrets-scan.toml",
        "[allow]\npaths = [\"testdata/**\"]\n",
    );
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    assert_eq!(
        flagged(&out.stdout),
        BTreeSet::from(["real.env".to_string()])
    );
    env.write("repo/.secrets-scan.toml", "[allow]\npath = []\n");
    let out = run(env.secrets().args(["scan", "."]).current_dir(&dir), 2);
    assert_eq!(
        stderr(&out),
        "error: .secrets-scan.toml:2: unknown key allow.path (known: paths)\n"
    );
}

#[test]
fn hidden_files_scanned_gitignore_honoured_unless_no_ignore() {
    let env = Env::new();
    let token = github_token();
    let dir = repo(&env);
    std::fs::create_dir(dir.join("sub")).unwrap();
    env.write(
        "repo/sub/.npmrc",
        format!("//npm.pkg.github.com/:_authToken={token}\n"),
    );
    env.write("repo/.gitignore", "ignored.env\n");
    env.write("repo/ignored.env", format!("GH={token}\n"));
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    assert_eq!(flagged(&out.stdout), BTreeSet::from([".npmrc".to_string()]));
    let out = run(
        env.secrets()
            .args(["scan", "--no-ignore", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    assert_eq!(
        flagged(&out.stdout),
        BTreeSet::from([".npmrc".to_string(), "ignored.env".to_string()])
    );
}

#[test]
fn stdin_binary_files_and_missing_paths() {
    let env = Env::new();
    let mut child = env
        .secrets()
        .args(["scan", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let key = format!("AKIA{}", "Q7W3ERT5YUI2OPLZ");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("aws_access_key_id={key}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("<stdin>:1:19: AWS access key id (aws-access-key-id, high confidence)"),
        "{text}"
    );
    assert!(!text.contains(&key));

    env.write("blob.bin", b"\x00\x01ghp_notscanned\x00");
    let out = run(env.secrets().args(["scan", "blob.bin"]), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 binary file skipped"));

    let out = run(env.secrets().args(["scan", "missing.txt"]), 2);
    assert!(stderr(&out).contains("missing.txt"), "{}", stderr(&out));
}

#[test]
fn creation_rules_flag_plaintext_files_that_must_be_encrypted() {
    let env = Env::new();
    let dir = repo(&env);
    env.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {}\n",
            env.recipient
        ),
    );
    std::fs::create_dir(dir.join("secrets")).unwrap();
    env.write("repo/secrets/db.yaml", "db:\n  port: 5432\n");
    std::fs::copy(
        root().join("fixtures/sops/basic.sops.yaml"),
        dir.join("secrets/enc.yaml"),
    )
    .unwrap();
    env.write("repo/other.yaml", "db:\n  port: 5432\n");
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v}");
    assert_eq!(findings[0]["rule"], "unencrypted-file");
    assert_eq!(findings[0]["file"], "./secrets/db.yaml");
    assert!(
        findings[0]["description"]
            .as_str()
            .unwrap()
            .contains(".sops.yaml:2"),
        "{v}"
    );
    assert!(
        findings[0]["hint"]
            .as_str()
            .unwrap()
            .contains("secrets encrypt -i ./secrets/db.yaml")
    );
}

/// A GitHub token with a valid checksum, made here (never a real credential).
fn github_token() -> String {
    let random = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0";
    let sum = secrets::scan::rules::base62_6(crc32fast::hash(random.as_bytes()));
    format!("ghp_{random}{}", std::str::from_utf8(&sum).unwrap())
}
