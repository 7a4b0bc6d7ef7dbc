//! `secrets access`: named recipients, Shamir thresholds, drift from the creation rules, `--fix`
//! and `updatekeys --all`, and who could read what over Git history (fixed authors and dates).

use std::path::Path;

use crate::util::{Env, ok, run, stderr};

/// Bob and Carol: public keys only (nobody in the tests decrypts as them).
const BOB: &str = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
const CAROL: &str = "age16ecs7u3fg7hzxkkumqzrtmkf3mtf7vfeyew8t4wqaz000ud4mdaq9gf0yh";

fn git(dir: &Path, args: &[&str], date: &str) -> String {
    crate::util::git_as_dana(dir, args, Some(date))
}

/// The config: three named people, a rule for prod/ (Alice and Bob), a Shamir rule for vault/
/// (any 2 of Alice, Bob, Carol), nothing for legacy/.
fn config(alice: &str, prod: &str) -> String {
    format!(
        "recipients:\n  alice: [{alice}]\n  bob: {BOB}\n  carol:\n    - {CAROL}\ncreation_rules:\n  - path_regex: ^prod/\n    age: {prod}\n  - path_regex: ^vault/\n    shamir_threshold: 2\n    key_groups:\n      - age: [{alice}]\n      - age: [{BOB}]\n      - age: [{CAROL}]\n"
    )
}

/// A scratch repository: prod/db.yaml, vault/root.yaml (Shamir) and legacy/old.env (no rule),
/// committed on 2024-01-10.
fn scratch(env: &Env) -> std::path::PathBuf {
    let dir = env.path("repo");
    std::fs::create_dir_all(dir.join("prod")).unwrap();
    std::fs::create_dir_all(dir.join("vault")).unwrap();
    std::fs::create_dir_all(dir.join("legacy")).unwrap();
    std::fs::write(
        dir.join(".sops.yaml"),
        config(&env.recipient, &format!("{},{BOB}", env.recipient)),
    )
    .unwrap();
    std::fs::write(
        dir.join("prod/db.yaml"),
        "db:\n  password: hunter2\n  user: app\n",
    )
    .unwrap();
    std::fs::write(dir.join("vault/root.yaml"), "root_token: s.abc\n").unwrap();
    std::fs::write(dir.join("legacy/old.env"), "TOKEN=abc\n").unwrap();
    git(
        &dir,
        &["init", "-q", "-b", "main", "."],
        "2024-01-10T10:00:00Z",
    );
    for f in ["prod/db.yaml", "vault/root.yaml"] {
        ok(env.secrets().current_dir(&dir).args(["encrypt", "-i", f]));
    }
    ok(env
        .secrets()
        .current_dir(&dir)
        .args(["encrypt", "-i", "--age", CAROL, "legacy/old.env"]));
    git(&dir, &["add", "-A"], "2024-01-10T10:00:00Z");
    git(
        &dir,
        &["commit", "-q", "-m", "secrets"],
        "2024-01-10T10:00:00Z",
    );
    dir
}

fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn access_names_who_can_open_each_file_with_thresholds_and_drift() {
    let env = Env::new();
    let dir = scratch(&env);
    let out = run(env.secrets().current_dir(&dir).arg("access"), 0);
    let c = ".sops.yaml";
    assert_eq!(
        text(&out.stdout),
        format!(
            "legacy/old.env  (no creation rule in {c})\n  readers: carol\n  DRIFT: no creation rule matches\n\
prod/db.yaml  (rule {c} line 7)\n  readers: alice, bob\n\
vault/root.yaml  (rule {c} line 9)\n  any 2 of 3 key groups:\n    group 1: alice\n    group 2: bob\n    group 3: carol\n  alone: nobody\n\
3 encrypted files, 1 with drift\n"
        )
    );
    // --fail: drift (a file no rule matches) exits 1.
    run(
        env.secrets().current_dir(&dir).args(["access", "--fail"]),
        1,
    );
    // Scoped to a folder without drift: 0.
    run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--fail", "prod", "vault"]),
        0,
    );

    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--by", "person"]),
        0,
    );
    assert_eq!(
        text(&out.stdout),
        "alice\n  prod/db.yaml     opens\n  vault/root.yaml  share: 1 of 2 key groups needed\n\
bob\n  prod/db.yaml     opens\n  vault/root.yaml  share: 1 of 2 key groups needed\n\
carol\n  legacy/old.env   opens\n  vault/root.yaml  share: 1 of 2 key groups needed\n"
    );

    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--by", "person", "--format", "md"]),
        0,
    );
    assert_eq!(
        text(&out.stdout),
        "| file | alice | bob | carol |\n|---|---|---|---|\n\
| `legacy/old.env` |  |  | yes |\n\
| `prod/db.yaml` | yes | yes |  |\n\
| `vault/root.yaml` | 1 of 2 groups | 1 of 2 groups | 1 of 2 groups |\n"
    );

    let out = run(
        env.secrets().current_dir(&dir).args(["access", "--json"]),
        0,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["drifted"], 1);
    let vault = &v["files"][2];
    assert_eq!(vault["file"], "vault/root.yaml");
    assert_eq!(vault["groups_needed"], 2);
    assert_eq!(vault["groups"][2]["members"][0]["name"], "carol");
    assert_eq!(vault["groups"][2]["keys"][0], CAROL);
    assert_eq!(vault["can_open_alone"], serde_json::json!([]));
    assert_eq!(v["files"][0]["drift"]["no_rule"], true);
    assert_eq!(v["people"][0]["name"], "alice");
    assert_eq!(v["people"][0]["files"][1]["groups_held"], 1);
}

#[test]
fn a_rule_change_shows_as_drift_by_name_and_fix_closes_it() {
    let env = Env::new();
    let dir = scratch(&env);
    // Bob leaves prod, Carol joins.
    std::fs::write(
        dir.join(".sops.yaml"),
        config(&env.recipient, &format!("{},{CAROL}", env.recipient)),
    )
    .unwrap();
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--fail", "prod"]),
        1,
    );
    assert!(
        text(&out.stdout).contains("prod/db.yaml  (rule ")
            && text(&out.stdout)
                .contains("  readers: alice, bob\n  DRIFT: missing carol; extra bob\n"),
        "{}",
        text(&out.stdout)
    );
    // --fix re-wraps the data key for the rule's recipients (needs Alice's key).
    let out = run(
        env.secrets_with_key()
            .current_dir(&dir)
            .args(["access", "--fix", "prod"]),
        0,
    );
    let err = stderr(&out);
    assert!(err.contains(&format!("+ carol ({CAROL})")), "{err}");
    assert!(err.contains(&format!("- bob ({BOB})")), "{err}");
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--fail", "prod"]),
        0,
    );
    assert!(text(&out.stdout).contains("  readers: alice, carol\n"));
    // The values are unchanged and still open.
    let plain = ok(env
        .secrets_with_key()
        .current_dir(&dir)
        .args(["decrypt", "prod/db.yaml"]));
    assert_eq!(text(&plain), "db:\n  password: hunter2\n  user: app\n");
}

#[test]
fn updatekeys_all_closes_drift_across_the_tree() {
    let env = Env::new();
    let dir = scratch(&env);
    std::fs::write(dir.join("prod/api.yaml"), "token: t0k3n\n").unwrap();
    ok(env
        .secrets()
        .current_dir(&dir)
        .args(["encrypt", "-i", "prod/api.yaml"]));
    // Bob leaves prod, Carol joins: both prod files drift.
    std::fs::write(
        dir.join(".sops.yaml"),
        config(&env.recipient, &format!("{},{CAROL}", env.recipient)),
    )
    .unwrap();
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "prod", "vault"]),
        0,
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("DRIFT: missing carol; extra bob"),
        "{report}"
    );
    assert!(
        report.contains("3 encrypted files, 2 with drift"),
        "{report}"
    );
    ok(env
        .secrets_with_key()
        .current_dir(&dir)
        .args(["updatekeys", "--all", "-y"]));
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--fail", "prod", "vault"]),
        0,
    );
    assert!(
        text(&out.stdout).contains("3 encrypted files, 0 with drift"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn history_says_who_could_read_each_version_and_what_a_removed_person_still_knows() {
    let env = Env::new();
    let dir = scratch(&env);
    let first = git(
        &dir,
        &["rev-parse", "--short", "HEAD"],
        "2024-01-10T10:00:00Z",
    );
    // 2024-03-01: Bob leaves prod; the data key is re-wrapped, the values are not changed.
    std::fs::write(
        dir.join(".sops.yaml"),
        config(&env.recipient, &env.recipient),
    )
    .unwrap();
    ok(env
        .secrets_with_key()
        .current_dir(&dir)
        .args(["updatekeys", "-y", "prod/db.yaml"]));
    git(
        &dir,
        &["commit", "-q", "-am", "bob leaves"],
        "2024-03-01T09:00:00Z",
    );
    let removed = git(
        &dir,
        &["rev-parse", "--short", "HEAD"],
        "2024-03-01T09:00:00Z",
    );
    // 2024-04-02: the password is changed; the user name is not.
    ok(env.secrets_with_key().current_dir(&dir).args([
        "set",
        "prod/db.yaml",
        r#"["db"]["password"]"#,
        "rotated",
    ]));
    git(
        &dir,
        &["commit", "-q", "-am", "rotate password"],
        "2024-04-02T09:00:00Z",
    );

    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["access", "--history", "--fail", "prod/db.yaml"]),
        1,
    );
    assert_eq!(
        text(&out.stdout),
        format!(
            "prod/db.yaml: who could read it\n  alice  {first} 2024-01-10 .. now\n  bob    {first} 2024-01-10 .. {removed} 2024-03-01 (removed)\n  values a removed recipient could read, unchanged since (rotate them):\n    db.user  bob  removed in {removed} 2024-03-01; value last changed in {first} 2024-01-10\n\n"
        )
    );
    let out = run(
        env.secrets().current_dir(&dir).args([
            "access",
            "--history",
            "--who",
            "alice",
            "--json",
            "prod/db.yaml",
        ]),
        0,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let periods = v["files"][0]["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0]["member"]["name"], "alice");
    assert_eq!(periods[0]["until_commit"], serde_json::Value::Null);
    assert_eq!(v["files"][0]["exposed"], serde_json::json!([]));
}

#[test]
fn sops_encrypts_and_decrypts_with_a_recipients_section() {
    let env = Env::new();
    env.write(".sops.yaml", config(&env.recipient, &env.recipient));
    std::fs::create_dir(env.path("prod")).unwrap();
    env.write("prod/app.yaml", "api_key: abc123\n");
    ok(env.sops().args(["encrypt", "-i", "prod/app.yaml"]));
    let plain = ok(env.sops().args(["decrypt", "prod/app.yaml"]));
    assert_eq!(text(&plain), "api_key: abc123\n");
    let out = run(env.secrets().args(["access", "prod"]), 0);
    assert!(
        text(&out.stdout).contains("prod/app.yaml  (rule "),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("  readers: alice\n"));
}

#[test]
fn a_bad_recipients_section_is_an_error_naming_the_line() {
    let env = Env::new();
    env.write(
        ".sops.yaml",
        format!("recipients:\n  alice: [{BOB}]\n  bob:\n    nested: x\ncreation_rules:\n  - age: {BOB}\n"),
    );
    env.write("a.yaml", "a: 1\n");
    let out = run(env.secrets().args(["encrypt", "a.yaml"]), 15);
    let err = stderr(&out);
    assert!(err.contains(".sops.yaml: line 4:"), "{err}");
    assert!(
        err.contains("bob must be a string or a list of strings"),
        "{err}"
    );
}
