//! Creation rules from .sops.yaml: chosen as sops chooses them, found from the file's folder,
//! and strict about mistakes.

use crate::util::{Env, ok, run, stderr};

const SECOND: &str = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";

fn repo(env: &Env) {
    std::fs::create_dir_all(env.path("repo/prod")).unwrap();
    std::fs::create_dir_all(env.path("repo/dev")).unwrap();
    env.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^prod/.*\\.env$\n    age: {}\n    encrypted_regex: PASSWORD\n  - path_regex: \\.env$\n    age: {SECOND}\n",
            env.recipient
        ),
    );
    env.write("repo/prod/app.env", "USER=admin\nPASSWORD=hunter2\n");
    env.write("repo/dev/app.env", "USER=admin\nPASSWORD=hunter2\n");
}

fn recipients_of(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("sops_age__list_")
                .and_then(|r| r.split_once("__map_recipient="))
                .map(|(_, v)| v.to_string())
        })
        .collect()
}

#[test]
fn rules_are_picked_like_sops_and_found_from_the_files_folder() {
    let env = Env::new();
    repo(&env);
    // From the temp dir (outside the repo): the config is found by walking up from the file.
    let prod = String::from_utf8(ok(env.secrets().args(["encrypt", "repo/prod/app.env"]))).unwrap();
    assert_eq!(recipients_of(&prod), vec![env.recipient.clone()]);
    assert!(
        prod.starts_with("USER=admin\n"),
        "encrypted_regex from the rule applies: {prod}"
    );
    assert!(prod.contains("sops_encrypted_regex=PASSWORD\n"));
    let dev = String::from_utf8(ok(env.secrets().args(["encrypt", "repo/dev/app.env"]))).unwrap();
    assert_eq!(recipients_of(&dev), vec![SECOND.to_string()]);
    // sops, run from the repository root, picks the same recipients for the same files.
    for (file, ours) in [("prod/app.env", &prod), ("dev/app.env", &dev)] {
        let theirs = String::from_utf8(ok(env
            .sops()
            .current_dir(env.path("repo"))
            .args(["encrypt", file])))
        .unwrap();
        assert_eq!(recipients_of(&theirs), recipients_of(ours), "{file}");
    }
    // The file we wrote for prod decrypts with the fixture key.
    env.write("prod.enc.env", prod);
    assert_eq!(
        ok(env.secrets_with_key().args(["decrypt", "prod.enc.env"])),
        b"USER=admin\nPASSWORD=hunter2\n"
    );
}

#[test]
fn explicit_config_and_sops_config_override_the_search() {
    let env = Env::new();
    repo(&env);
    env.write(
        "other.yaml",
        format!("creation_rules:\n  - age: {SECOND}\n"),
    );
    let out = String::from_utf8(ok(env.secrets().args([
        "--config",
        "other.yaml",
        "encrypt",
        "repo/prod/app.env",
    ])))
    .unwrap();
    assert_eq!(recipients_of(&out), vec![SECOND.to_string()]);
    let out = String::from_utf8(ok(env
        .secrets()
        .env("SOPS_CONFIG", env.path("other.yaml"))
        .args(["encrypt", "repo/prod/app.env"])))
    .unwrap();
    assert_eq!(recipients_of(&out), vec![SECOND.to_string()]);
}

#[test]
fn config_mistakes_are_exit_15_naming_file_and_line() {
    let env = Env::new();
    repo(&env);
    env.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: .*\n    agee: {}\n",
            env.recipient
        ),
    );
    let out = run(env.secrets().args(["encrypt", "repo/prod/app.env"]), 15);
    let err = stderr(&out);
    assert!(
        err.contains(".sops.yaml: line 3: unknown key \"agee\""),
        "{err}"
    );
    env.write(
        "repo/.sops.yaml",
        "creation_rules:\n  - path_regex: '[unclosed'\n    age: x\n",
    );
    let err = stderr(&run(
        env.secrets().args(["encrypt", "repo/prod/app.env"]),
        15,
    ));
    assert!(err.contains("line 2: invalid path_regex"), "{err}");
}

#[test]
fn no_matching_rule_is_exit_15_with_a_hint_and_explicit_age_still_works() {
    let env = Env::new();
    repo(&env);
    env.write("repo/notes.txt", "hello");
    let out = run(env.secrets().args(["encrypt", "repo/notes.txt"]), 15);
    let err = stderr(&out);
    assert!(err.contains("no creation rule matches notes.txt"), "{err}");
    assert!(
        err.contains("hint: ") && err.contains("path_regex: ^notes\\.txt$"),
        "{err}"
    );
    ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "repo/notes.txt"]));
}

#[test]
fn updatekeys_without_a_config_says_how_to_make_one() {
    let env = Env::new();
    env.write("a.env", "A=1\n");
    ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "-i", "a.env"]));
    let out = run(
        env.secrets_with_key().args(["updatekeys", "-y", "a.env"]),
        15,
    );
    assert!(
        stderr(&out).contains("no .sops.yaml found") && stderr(&out).contains("secrets init"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_key_group_without_a_usable_key_is_named() {
    let env = Env::new();
    repo(&env);
    env.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - gcp_kms: [projects/x]\n", env.recipient),
    );
    let err = stderr(&run(
        env.secrets().args(["encrypt", "repo/prod/app.env"]),
        15,
    ));
    assert!(
        err.contains("line 2")
            && err.contains("key group 2 has only key types this tool cannot use here (gcp_kms)"),
        "{err}"
    );
}
