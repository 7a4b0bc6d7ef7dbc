//! `edit`, `set`, `unset` and `encrypt --reuse`: quiet diffs, sops compatibility, no plaintext
//! left behind, no lost writes, and no two values sharing a ciphertext.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Env, ok, run, sops_data_of_encrypted, stderr};

const PLAIN: &str = "# service config\ndb:\n  user: app\n  password: hunter2\n  port: 5432\nsame_a: repeated\nsame_b: repeated\nlist:\n  - repeated\n  - repeated\n";

fn encrypted(env: &Env, name: &str, plain: &str) -> PathBuf {
    let p = env.write(name, plain);
    ok(env
        .secrets()
        .args(["encrypt", "-i", "--age", &env.recipient])
        .arg(&p));
    p
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn decrypt(env: &Env, p: &Path) -> String {
    String::from_utf8(ok(env.secrets_with_key().arg("decrypt").arg(p))).unwrap()
}

/// The keys of the lines that differ between two versions (same line count expected), besides
/// `lastmodified`.
fn changed_lines(a: &str, b: &str) -> Vec<String> {
    assert_eq!(
        a.lines().count(),
        b.lines().count(),
        "line count changed:\n{a}\n---\n{b}"
    );
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.trim_start().split(':').next().unwrap().to_string())
        // Within the same second as the previous write, lastmodified may stay as it was.
        .filter(|k| k != "lastmodified")
        .collect()
}

fn all_ciphertexts(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"ENC\[AES256_GCM,data:[^\]]*\]").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

#[track_caller]
fn assert_unique_ciphertexts(text: &str) {
    let all = all_ciphertexts(text);
    let set: HashSet<_> = all.iter().collect();
    assert_eq!(
        set.len(),
        all.len(),
        "two values share a ciphertext:\n{text}"
    );
}

#[test]
fn set_changes_only_that_value_and_sops_reads_it() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let before = read(&f);
    ok(env
        .secrets_with_key()
        .args(["set"])
        .arg(&f)
        .args([r#"["db"]["password"]"#, "s3cret"]));
    let after = read(&f);
    assert_eq!(changed_lines(&before, &after), ["password", "mac"]);
    assert_eq!(decrypt(&env, &f), PLAIN.replace("hunter2", "s3cret"));
    let data: serde_json::Value =
        serde_json::from_slice(&sops_data_of_encrypted(&env, &f)).unwrap();
    assert_eq!(data["db"]["password"], "s3cret");
    assert_eq!(data["db"]["port"], 5432);
    assert_unique_ciphertexts(&after);

    // Setting the value it already has leaves the file byte for byte as it was.
    ok(env
        .secrets_with_key()
        .args(["set"])
        .arg(&f)
        .args([r#"["db"]["port"]"#, "5432"]));
    assert_eq!(read(&f), after);
    // A number as JSON, and --string.
    ok(env
        .secrets_with_key()
        .args(["set", "--string"])
        .arg(&f)
        .args([r#"["db"]["port"]"#, "5433"]));
    let data: serde_json::Value =
        serde_json::from_slice(&sops_data_of_encrypted(&env, &f)).unwrap();
    assert_eq!(data["db"]["port"], "5433");
}

#[test]
fn set_creates_missing_maps_and_unset_removes() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    ok(env
        .secrets_with_key()
        .args(["set"])
        .arg(&f)
        .args([r#"["api"]["token"]"#, r#"{"a": [1, "x"]}"#]));
    ok(env
        .secrets_with_key()
        .args(["unset"])
        .arg(&f)
        .arg(r#"["db"]["user"]"#));
    let data: serde_json::Value =
        serde_json::from_slice(&sops_data_of_encrypted(&env, &f)).unwrap();
    assert_eq!(data["api"]["token"]["a"][1], "x");
    assert!(data["db"].get("user").is_none());
    assert_eq!(data["db"]["password"], "hunter2");
    let out = run(
        env.secrets_with_key()
            .args(["unset"])
            .arg(&f)
            .arg(r#"["nope"]"#),
        5,
    );
    assert!(stderr(&out).contains("[\"nope\"]"), "{}", stderr(&out));
}

#[test]
fn set_in_every_format_is_readable_by_sops() {
    let cases = [
        ("j.json", "{\n  \"a\": \"x\",\n  \"b\": {\"c\": 1}\n}\n"),
        ("t.toml", "[b]\nc = 1\na = \"x\"\n"),
        ("e.env", "A=x\nB=y\n"),
        ("i.ini", "[b]\nc = 1\na = x\n"),
    ];
    for (name, plain) in cases {
        let env = Env::new();
        let f = encrypted(&env, name, plain);
        let path = if name.ends_with(".env") {
            r#"["NEW"]"#
        } else {
            r#"["b"]["new"]"#
        };
        ok(env
            .secrets_with_key()
            .args(["set"])
            .arg(&f)
            .args([path, "v4lue"]));
        // sops has no TOML store: our own decrypt checks that file.
        let data = if name.ends_with(".toml") {
            decrypt(&env, &f)
        } else {
            String::from_utf8(sops_data_of_encrypted(&env, &f)).unwrap()
        };
        assert!(data.contains("v4lue"), "{name}: {data}");
        assert_unique_ciphertexts(&read(&f));
    }
}

#[test]
fn value_stdin_and_value_file() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let mut cmd = env.secrets_with_key();
    cmd.args(["set", "--value-stdin"])
        .arg(&f)
        .arg(r#"["db"]["password"]"#);
    let out = assert_cmd::Command::from_std(cmd)
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(decrypt(&env, &f).contains("password: from stdin"));
    let v = env.write("v.txt", "from-file");
    ok(env
        .secrets_with_key()
        .args(["set", "--value-file"])
        .arg(&v)
        .arg(&f)
        .arg(r#"["db"]["user"]"#));
    assert!(decrypt(&env, &f).contains("user: from-file"));
}

/// An editor script: `sed` expression applied to the file.
fn editor(env: &Env, name: &str, body: &str) -> String {
    let p = env.write(name, format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[test]
fn edit_keeps_unchanged_ciphertexts_and_no_change_leaves_the_file() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let before = read(&f);
    ok(env
        .secrets_with_key()
        .env("EDITOR", "true")
        .arg("edit")
        .arg(&f));
    assert_eq!(read(&f), before);
    let ed = editor(&env, "ed.sh", r#"sed -i 's/user: app/user: admin/' "$1""#);
    ok(env
        .secrets_with_key()
        .env("SOPS_EDITOR", &ed)
        .env("EDITOR", "false")
        .arg("edit")
        .arg(&f));
    let after = read(&f);
    assert_eq!(changed_lines(&before, &after), ["user", "mac"]);
    assert_eq!(decrypt(&env, &f), PLAIN.replace("user: app", "user: admin"));
    sops_data_of_encrypted(&env, &f);
    assert_unique_ciphertexts(&after);
}

#[test]
fn edit_of_a_new_file_uses_the_creation_rule() {
    let env = Env::new();
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n",
            env.recipient
        ),
    );
    let ed = editor(&env, "ed.sh", r#"printf 'token: abc\n' > "$1""#);
    ok(env
        .secrets_with_key()
        .env("EDITOR", &ed)
        .args(["edit", "new.yaml"]));
    assert_eq!(decrypt(&env, &env.path("new.yaml")), "token: abc\n");
}

#[test]
fn an_edit_that_does_not_parse_reopens_and_quitting_leaves_the_file() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let before = read(&f);
    // First run breaks the file; the second sees the error on top and quits without saving.
    let log = env.path("seen.txt");
    let ed = editor(
        &env,
        "ed.sh",
        &format!(
            r#"if [ -e {log} ]; then head -1 "$1" >> {log}; exit 0; fi; echo first > {log}; printf 'a: [\n' >> "$1""#,
            log = log.display()
        ),
    );
    let out = run(
        env.secrets_with_key()
            .env("EDITOR", &ed)
            .arg("edit")
            .arg(&f),
        2,
    );
    assert!(stderr(&out).contains("left unchanged"), "{}", stderr(&out));
    assert!(
        read(&log).contains("# secrets edit: ") && read(&log).contains("invalid yaml: line 12"),
        "{}",
        read(&log)
    );
    assert_eq!(read(&f), before);
    // Fixing it on the second run saves.
    std::fs::remove_file(&log).unwrap();
    let ed = editor(
        &env,
        "ed2.sh",
        &format!(
            r#"if [ -e {log} ]; then sed -i '$d' "$1"; exit 0; fi; echo first > {log}; printf 'a: [\n' >> "$1""#,
            log = log.display()
        ),
    );
    ok(env
        .secrets_with_key()
        .env("EDITOR", &ed)
        .arg("edit")
        .arg(&f));
    assert_eq!(decrypt(&env, &f), PLAIN);
}

#[test]
fn edit_refuses_to_clobber_a_file_changed_meanwhile() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let secrets = env!("CARGO_BIN_EXE_secrets");
    let ed = editor(
        &env,
        "ed.sh",
        &format!(
            r#"SOPS_AGE_KEY_FILE={key} {secrets} set {f} '["db"]["user"]' other; sed -i 's/port: 5432/port: 1/' "$1""#,
            key = env.key_file.display(),
            f = f.display()
        ),
    );
    let out = run(
        env.secrets_with_key()
            .env("EDITOR", &ed)
            .arg("edit")
            .arg(&f),
        2,
    );
    assert!(stderr(&out).contains("changed on disk"), "{}", stderr(&out));
    assert!(decrypt(&env, &f).contains("user: other"));
    let kept: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".conflict-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(read(&kept[0]).contains("ENC[") && !read(&kept[0]).contains("hunter2"));
    assert!(decrypt(&env, &kept[0]).contains("port: 1"));
}

fn killed_mid_edit(signal: &str) {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let seen = env.path("tmp-path.txt");
    let pid = env.path("editor.pid");
    let ed = editor(
        &env,
        "ed.sh",
        &format!(
            r#"echo $$ > {}; echo "$1" > {}; exec sleep 30"#,
            pid.display(),
            seen.display()
        ),
    );
    let runtime = env.path("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let mut child = env
        .secrets_with_key()
        .env("EDITOR", &ed)
        .env("XDG_RUNTIME_DIR", &runtime)
        .arg("edit")
        .arg(&f)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !seen.exists() || read(&seen).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the editor never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let tmp = PathBuf::from(read(&seen).trim());
    assert!(tmp.starts_with(&runtime), "{}", tmp.display());
    assert!(read(&tmp).contains("hunter2"));
    ok(Command::new("kill").args([signal, &child.id().to_string()]));
    child.wait().unwrap();
    let start = Instant::now();
    while tmp.parent().unwrap().exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "plaintext left at {}",
            tmp.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stop the editor we left sleeping, by its id.
    let _ = Command::new("kill").arg(read(&pid).trim()).status();
}

#[test]
fn sigterm_mid_edit_leaves_no_plaintext() {
    killed_mid_edit("-TERM");
}

#[test]
fn sigkill_mid_edit_leaves_no_plaintext() {
    killed_mid_edit("-KILL");
}

#[test]
fn twenty_parallel_sets_all_land() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let children: Vec<_> = (0..20)
        .map(|i| {
            env.secrets_with_key()
                .arg("set")
                .arg(&f)
                .args([format!(r#"["k{i}"]"#), format!("v{i}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let data: serde_json::Value =
        serde_json::from_slice(&sops_data_of_encrypted(&env, &f)).unwrap();
    for i in 0..20 {
        assert_eq!(data[format!("k{i}")], format!("v{i}"));
    }
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".secrets-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn equal_values_never_share_a_ciphertext_after_edits() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let steps: [&[&str]; 6] = [
        &["set", r#"["same_a"]"#, "other"],
        &["set", r#"["same_a"]"#, "repeated"],
        &["set", r#"["same_c"]"#, "repeated"],
        &["unset", r#"["same_b"]"#],
        &["set", r#"["same_b"]"#, "repeated"],
        &["set", r#"["db"]["password"]"#, "repeated"],
    ];
    for args in steps {
        ok(env.secrets_with_key().arg(args[0]).arg(&f).args(&args[1..]));
        assert_unique_ciphertexts(&read(&f));
    }
    // An edit that swaps the two list items and copies a value.
    let ed = editor(
        &env,
        "ed.sh",
        r#"sed -i 's/user: app/user: repeated/' "$1""#,
    );
    ok(env
        .secrets_with_key()
        .env("EDITOR", &ed)
        .arg("edit")
        .arg(&f));
    let text = read(&f);
    assert_unique_ciphertexts(&text);
    assert!(decrypt(&env, &f).matches("repeated").count() >= 6);
    sops_data_of_encrypted(&env, &f);
}

#[test]
fn encrypt_reuse_keeps_unchanged_ciphertexts() {
    let env = Env::new();
    let f = encrypted(&env, "s.yaml", PLAIN);
    let before = read(&f);
    let plain = env.write("plain.yaml", PLAIN);
    let same = ok(env
        .secrets_with_key()
        .args(["encrypt", "--reuse"])
        .arg(&f)
        .arg(&plain));
    assert_eq!(String::from_utf8(same).unwrap(), before);
    std::fs::write(&plain, PLAIN.replace("5432", "6543")).unwrap();
    let out = String::from_utf8(ok(env
        .secrets_with_key()
        .args(["encrypt", "--reuse"])
        .arg(&f)
        .arg(&plain)))
    .unwrap();
    assert_eq!(changed_lines(&before, &out), ["port", "mac"]);
    let out_path = env.write("out.yaml", &out);
    let data: serde_json::Value =
        serde_json::from_slice(&sops_data_of_encrypted(&env, &out_path)).unwrap();
    assert_eq!(data["db"]["port"], 6543);
}
