//! `log`, `show`, `stale` and `rollback` on the scratch repository of
//! `fixtures/repos/history.sh` (fixed authors and dates; a rename, a rotation removing Carol, a
//! merge, an SSH-signed commit, a commit that does not parse).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Env, ok, root, run, stderr};

const CAROL: &str = "age16ecs7u3fg7hzxkkumqzrtmkf3mtf7vfeyew8t4wqaz000ud4mdaq9gf0yh";

fn repo(env: &Env) -> PathBuf {
    let dir = env.path("repo");
    let out = Command::new("bash")
        .arg(root().join("fixtures/repos/history.sh"))
        .arg(&dir)
        .env("SECRETS", env!("CARGO_BIN_EXE_secrets"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "history.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn git(dir: &Path, args: &[&str]) -> String {
    crate::util::git_as_dana(dir, args, None)
}

/// The full id of the commit with this subject.
fn commit_of(dir: &Path, subject: &str) -> String {
    git(
        dir,
        &[
            "log",
            "--all",
            "--format=%H",
            "--fixed-strings",
            "--grep",
            subject,
        ],
    )
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// The block of `log` output that starts with the commit `short`.
fn block<'a>(log: &'a str, subject: &str) -> &'a str {
    let start = log
        .lines()
        .position(|l| !l.starts_with(' ') && l.ends_with(subject))
        .unwrap_or_else(|| panic!("no version {subject:?} in\n{log}"));
    let lines: Vec<&str> = log.lines().collect();
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.starts_with(' '))
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    let from = log.find(lines[start]).unwrap();
    let to = if end < lines.len() {
        log.find(lines[end]).unwrap()
    } else {
        log.len()
    };
    &log[from..to]
}

#[test]
fn log_lists_key_changes_without_a_key() {
    let env = Env::new();
    let dir = repo(&env);
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["log", "config/prod.yaml"]),
        0,
    );
    let log = text(out.stdout.clone());
    let subjects: Vec<&str> = log
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.rsplit("  ").next().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "new db password",
            "merge feature",
            "add api url",
            "feature: new db user",
            "offboard carol",
            "move secrets",
            "change api token",
            "create secrets"
        ],
        "{log}"
    );
    assert!(log.starts_with(&commit_of(&dir, "new db password")[..7]));
    assert!(block(&log, "new db password").contains("Alice <alice@example.com>  ssh-signed"));
    assert_eq!(
        block(&log, "new db password").lines().nth(1),
        Some("    ~ db.password")
    );
    assert!(block(&log, "change api token").contains("Bob <bob@example.com>  unsigned"));
    assert!(block(&log, "change api token").contains("    ~ api.token\n"));
    assert!(block(&log, "add api url").contains("    + api.url\n"));
    // The merge wrote db.user again (its resolution); api.url came from its first parent.
    let merge = block(&log, "merge feature");
    assert!(
        merge.contains("~ db.user") && !merge.contains("api.url"),
        "{merge}"
    );
    assert!(block(&log, "move secrets").contains("renamed from secrets.yaml"));
    let offboard = block(&log, "offboard carol");
    assert!(
        offboard.contains("data key rotated: 3 values"),
        "{offboard}"
    );
    assert!(offboard.contains(&format!("recipients: - {CAROL}")));
    assert!(!offboard.contains("~ "), "a rotation is not three changes");
    assert!(block(&log, "create secrets").contains("created with 3 values"));
    // The unparseable version is reported and skipped; the fix after it changed nothing.
    assert!(stderr(&out).contains("cannot read this version, skipped"));
    assert!(!log.contains("broken by hand") && !log.contains("restore the file"));
    // Date as the author wrote it.
    assert!(block(&log, "create secrets").contains("2025-01-01 10:00 +01:00"));

    let limited = text(ok(env.secrets().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "-n",
        "2",
    ])));
    assert_eq!(limited.lines().filter(|l| !l.starts_with(' ')).count(), 2);
    let since = text(ok(env.secrets().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "--since",
        "2025-06-02",
    ])));
    assert!(since.contains("add api url") && !since.contains("feature: new db user"));
}

#[test]
fn log_filters_by_key_path_in_both_spellings() {
    let env = Env::new();
    let dir = repo(&env);
    let api = text(ok(env.secrets().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "api.*",
    ])));
    assert!(api.contains("change api token") && api.contains("add api url"));
    assert!(
        api.contains("offboard carol"),
        "a rotation may have changed it"
    );
    assert!(!api.contains("new db password") && !api.contains("db.user"));
    let db = text(ok(env.secrets().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        r#"["db"]["password"]"#,
    ])));
    assert!(db.contains("new db password") && !db.contains("change api token"));
}

#[test]
fn log_decrypt_is_exact_and_values_need_asking() {
    let env = Env::new();
    let dir = repo(&env);
    let log = text(ok(env.secrets_with_key().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "--decrypt",
    ])));
    // The merge set db.user to the value its second parent had: no change with plaintexts.
    assert!(!log.contains("merge feature"), "{log}");
    assert!(!log.contains("hunter2") && !log.contains("tok-1"));
    let values = text(ok(env.secrets_with_key().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "--decrypt",
        "--show-values",
    ])));
    assert!(
        values.contains("~ db.password: hunter2 → correct-horse"),
        "{values}"
    );
    assert!(values.contains("~ api.token: tok-1 → tok-2"));

    let json = ok(env.secrets_with_key().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "--decrypt",
        "--json",
    ]));
    let json_text = String::from_utf8_lossy(&json);
    assert!(!json_text.contains("hunter2") && !json_text.contains("correct-horse"));
    let list: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let first = &list[0];
    assert_eq!(first["summary"], "new db password");
    assert_eq!(first["signature"], "ssh");
    assert_eq!(first["changes"][0]["key"], "db.password");
    assert_eq!(first["changes"][0]["kind"], "changed");
    assert_eq!(first["mac_verified"], true);
    let with_values = ok(env.secrets_with_key().current_dir(&dir).args([
        "log",
        "config/prod.yaml",
        "--decrypt",
        "--json",
        "--show-values",
    ]));
    let list: serde_json::Value = serde_json::from_slice(&with_values).unwrap();
    assert_eq!(list[0]["changes"][0]["new"], "correct-horse");
}

#[test]
fn log_decrypt_finds_renamed_keys() {
    let env = Env::new();
    let dir = repo(&env);
    let file = "config/prod.yaml";
    let plain = ok(env
        .secrets_with_key()
        .current_dir(&dir)
        .args(["decrypt", file]));
    let plain = String::from_utf8(plain)
        .unwrap()
        .replace("    url:", "    endpoint:");
    std::fs::write(dir.join("plain.yaml"), plain).unwrap();
    let enc = ok(env.secrets_with_key().current_dir(&dir).args([
        "encrypt",
        "--reuse",
        file,
        "plain.yaml",
    ]));
    std::fs::remove_file(dir.join("plain.yaml")).unwrap();
    std::fs::write(dir.join(file), enc).unwrap();
    git(&dir, &["commit", "-qam", "rename url"]);
    let keyless = text(ok(env
        .secrets()
        .current_dir(&dir)
        .args(["log", file, "-n", "1"])));
    assert!(
        keyless.contains("+ api.endpoint") && keyless.contains("- api.url"),
        "{keyless}"
    );
    let exact = text(ok(env.secrets_with_key().current_dir(&dir).args([
        "log",
        file,
        "-n",
        "1",
        "--decrypt",
    ])));
    assert!(
        exact.contains("> api.endpoint (renamed from api.url)"),
        "{exact}"
    );
}

#[test]
fn show_decrypts_old_versions_or_shows_their_structure() {
    let env = Env::new();
    let dir = repo(&env);
    // The file was called secrets.yaml then: the rename is followed.
    let old = text(ok(env.secrets_with_key().current_dir(&dir).args([
        "show",
        "config/prod.yaml",
        "--rev",
        "created",
    ])));
    assert!(old.contains("password: hunter2") && old.contains("# service credentials"));
    let token = ok(env.secrets_with_key().current_dir(&dir).args([
        "show",
        "config/prod.yaml",
        "--rev",
        "HEAD~9",
        "--extract",
        "api.token",
    ]));
    assert_eq!(token, b"tok-1");
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["show", "config/prod.yaml", "--rev", "created"]),
        0,
    );
    let view = text(out.stdout.clone());
    assert!(
        view.contains("db.password: <enc ") && !view.contains("ENC["),
        "{view}"
    );
    assert!(view.contains(CAROL));
    assert!(stderr(&out).contains("keyless"));
    // The index.
    ok(env.secrets_with_key().current_dir(&dir).args([
        "set",
        "config/prod.yaml",
        r#"["db"]["password"]"#,
        "staged-pw",
    ]));
    git(&dir, &["add", "config/prod.yaml"]);
    let staged = text(ok(env.secrets_with_key().current_dir(&dir).args([
        "show",
        "config/prod.yaml",
        "--rev",
        ":staged",
        "--extract",
        r#"["db"]["password"]"#,
    ])));
    assert_eq!(staged, "staged-pw");
}

#[test]
fn bad_input_is_reported() {
    let env = Env::new();
    let dir = repo(&env);
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["show", "config/prod.yaml", "--rev", "no-such-rev"]),
        17,
    );
    assert!(stderr(&out).contains("no-such-rev: no such revision"));
    std::fs::write(dir.join("new.yaml"), "a: 1\n").unwrap();
    let out = run(
        env.secrets().current_dir(&dir).args(["log", "new.yaml"]),
        17,
    );
    assert!(stderr(&out).contains("never committed"), "{}", stderr(&out));
    let outside = env.write("loose.yaml", "a: 1\n");
    let out = run(env.secrets().arg("log").arg(&outside), 17);
    assert!(stderr(&out).contains("not inside a Git repository"));
    run(
        env.secrets()
            .current_dir(&dir)
            .args(["show", "config/prod.yaml", "--rev", "created~1"]),
        17,
    );
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["show", "config/prod.yaml", "--rev", "HEAD~1"]),
        5,
    );
    assert!(stderr(&out).contains("invalid yaml"));
}

#[test]
fn stale_dates_each_value_and_flags_exposure() {
    let env = Env::new();
    let dir = repo(&env);
    let json = ok(env
        .secrets()
        .current_dir(&dir)
        .args(["stale", "config/prod.yaml", "--json"]));
    let list: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let row = |key: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .clone()
    };
    // The rotation re-encrypted api.token but did not change it.
    let token = row("api.token");
    assert_eq!(token["commit"], commit_of(&dir, "change api token"));
    assert_eq!(token["author"], "Bob <bob@example.com>");
    assert_eq!(
        token["reencrypted"]["commit"],
        commit_of(&dir, "offboard carol")
    );
    assert_eq!(token["exposed_to"][0]["recipient"], CAROL);
    assert_eq!(
        row("db.password")["commit"],
        commit_of(&dir, "new db password")
    );
    assert_eq!(row("db.password")["exposed_to"], serde_json::json!([]));
    assert_eq!(row("api.url")["commit"], commit_of(&dir, "add api url"));
    assert_eq!(row("db.user")["commit"], commit_of(&dir, "merge feature"));
    assert_eq!(list[0]["key"], "api.token", "oldest first");

    // Limits and --fail: every value is older than a day; api.token is exposed at any limit.
    run(
        env.secrets()
            .current_dir(&dir)
            .args(["stale", "--older-than", "1d", "--fail"]),
        1,
    );
    let out = run(
        env.secrets()
            .current_dir(&dir)
            .args(["stale", "--older-than", "36500d", "--fail"]),
        1,
    );
    let text = text(out.stdout);
    assert!(
        text.contains("4 values: 0 unchanged for more than 36500d, 1 readable"),
        "{text}"
    );
    assert!(text.contains(&format!("EXPOSED: readable by {CAROL}")));
    ok(env
        .secrets()
        .current_dir(&dir)
        .args(["stale", "--older-than", "36500d"]));

    // A value changed in the working tree is fresh.
    ok(env.secrets_with_key().current_dir(&dir).args([
        "set",
        "config/prod.yaml",
        r#"["api"]["token"]"#,
        "tok-3",
    ]));
    let text = String::from_utf8(ok(env
        .secrets()
        .current_dir(&dir)
        .args(["stale", "config/prod.yaml"])))
    .unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("pending  api.token")),
        "{text}"
    );
}

#[test]
fn rollback_restores_values_for_todays_recipients() {
    let env = Env::new();
    let dir = repo(&env);
    let file = dir.join("config/prod.yaml");
    let before = std::fs::read_to_string(&file).unwrap();

    // At `created`, Carol could read api.token: restoring it needs --force.
    let out = run(
        env.secrets_with_key().current_dir(&dir).args([
            "rollback",
            "config/prod.yaml",
            "--to",
            "created",
            "--key",
            "api.token",
        ]),
        2,
    );
    assert!(stderr(&out).contains(CAROL) && stderr(&out).contains("Rotate instead"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    ok(env.secrets_with_key().current_dir(&dir).args([
        "rollback",
        "config/prod.yaml",
        "--to",
        "offboarded",
        "--key",
        "db.password",
        "--dry-run",
    ]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    let out = run(
        env.secrets_with_key().current_dir(&dir).args([
            "rollback",
            "config/prod.yaml",
            "--to",
            "offboarded",
            "--key",
            "db.password",
        ]),
        0,
    );
    assert!(stderr(&out).contains("Secrets-Rollback: "));
    let after = std::fs::read_to_string(&file).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    let mut names: Vec<&str> = changed
        .iter()
        .map(|(a, _)| a.trim_start().split(':').next().unwrap())
        .collect();
    // Only the restored value and the seal change (lastmodified may be the same second).
    names.retain(|n| *n != "lastmodified");
    assert_eq!(names, ["password", "mac"], "{after}");
    let value = ok(env.secrets_with_key().current_dir(&dir).args([
        "decrypt",
        "config/prod.yaml",
        "--extract",
        r#"["db"]["password"]"#,
    ]));
    assert_eq!(value, b"hunter2");
    // sops reads the result (the MAC is right).
    let sops = ok(env.sops().arg("decrypt").arg(&file));
    assert!(String::from_utf8_lossy(&sops).contains("password: hunter2"));

    // Now the file has uncommitted changes: refused without --force.
    let out = run(
        env.secrets_with_key().current_dir(&dir).args([
            "rollback",
            "config/prod.yaml",
            "--to",
            "offboarded",
        ]),
        2,
    );
    assert!(stderr(&out).contains("uncommitted changes"));
    git(&dir, &["commit", "-qam", "roll back db.password"]);

    // The whole file: api.url did not exist then.
    ok(env.secrets_with_key().current_dir(&dir).args([
        "rollback",
        "config/prod.yaml",
        "--to",
        "offboarded",
    ]));
    let plain = text(ok(env
        .secrets_with_key()
        .current_dir(&dir)
        .args(["decrypt", "config/prod.yaml"])));
    assert!(
        !plain.contains("url:") && plain.contains("user: app\n"),
        "{plain}"
    );
}

/// `rollback` writes through the shared writer: a file with a second hard link (owned by
/// nobody:nogroup, 0640) is rewritten in place, so both names hold the rolled-back file and the
/// inode, owner, group and mode are kept (issue 20).
#[test]
fn rollback_of_a_hard_linked_file_rewrites_every_name() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::new();
    let dir = repo(&env);
    let file = dir.join("config/prod.yaml");
    let alias = env.path("alias.yaml");
    std::fs::hard_link(&file, &alias).unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::read(&file).unwrap();
    let ino = std::fs::metadata(&file).unwrap().ino();
    ok(env.secrets_with_key().current_dir(&dir).args([
        "rollback",
        "config/prod.yaml",
        "--to",
        "offboarded",
        "--key",
        "db.password",
    ]));
    let after = std::fs::read(&file).unwrap();
    assert_ne!(after, before);
    assert_eq!(std::fs::read(&alias).unwrap(), after);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.ino(), meta.nlink()), (ino, 2));
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("config"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".secrets-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
