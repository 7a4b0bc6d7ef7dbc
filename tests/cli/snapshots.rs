//! Snapshots (insta) of what users read: `--help` of every command and subcommand (found by
//! walking the `Commands:` lists, so a new command is covered without editing this file), the
//! scan text report, and a few error messages. Review changes with `cargo insta review`, or
//! rerun with `INSTA_UPDATE=always` and read the diff of tests/cli/snapshots/.

use crate::util::{Env, run};

/// The subcommands listed in a help text's `Commands:` section (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// Snapshot `secrets <path> --help`, then every subcommand's help below it.
fn snapshot_help(env: &Env, path: &[String], seen: &mut Vec<String>) {
    let out = run(env.secrets().args(path).arg("--help"), 0);
    let help = String::from_utf8(out.stdout).unwrap();
    let name = if path.is_empty() {
        "help".to_string()
    } else {
        format!("help_{}", path.join("_"))
    };
    insta::assert_snapshot!(name.clone(), help);
    seen.push(name);
    for sub in subcommands(&help) {
        let mut next = path.to_vec();
        next.push(sub);
        snapshot_help(env, &next, seen);
    }
}

#[test]
fn help_of_every_command() {
    let env = Env::new();
    let mut seen = Vec::new();
    snapshot_help(&env, &[], &mut seen);
    assert!(
        seen.len() > 20,
        "only {} help texts found: {seen:?}",
        seen.len()
    );
}

#[test]
fn scan_text_report() {
    let env = Env::new();
    env.write("app.env", "DB_HOST=db\nDB_PASSWORD=Vq8#rT2!mZ6pLwXe\n");
    env.write("notes.md", "Set DB_PASSWORD=changeme for local runs.\n");
    let out = run(env.secrets().args(["scan", "app.env", "notes.md"]), 1);
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// One error: its exit code and the whole of stderr.
fn error_of(env: &Env, args: &[&str], code: i32) -> String {
    let out = run(env.secrets_with_key().args(args), code);
    format!("exit {code}\n{}", String::from_utf8_lossy(&out.stderr))
}

#[test]
fn error_messages() {
    let env = Env::new();
    env.write("bad.yaml", "a: [1, 2\n");
    env.write("plain.yaml", "db:\n    password: hunter2\n");
    let enc =
        crate::util::ok(
            env.secrets()
                .args(["encrypt", "--age", &env.recipient, "plain.yaml"]),
        );
    env.write("enc.yaml", enc);
    let errors = [
        error_of(&env, &["decrypt", "missing.yaml"], 3),
        error_of(&env, &["encrypt", "--age", &env.recipient, "bad.yaml"], 5),
        error_of(&env, &["decrypt", "plain.yaml"], 6),
        error_of(&env, &["decrypt", "--extract", "db.user", "enc.yaml"], 12),
        error_of(&env, &["decrypt", "--extract", "db..user", "enc.yaml"], 12),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}
