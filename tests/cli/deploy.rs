//! Deploys and CI (issue 5): `decrypt --format shell|github|mask`, `exec-env`, `exec-file`, and
//! the GitHub action's script, driven through the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Env, ok, root, run, stderr};

/// A value that must never show up in stderr or on disk outside the encrypted file.
const CANARY: &str = "canary-7f3a9c-s3cr3t";

const APP: &str = "\
DB_PASSWORD: \"it's canary-7f3a9c-s3cr3t $HOME `x`\"
PORT: 5432
RATIO: 1.5
DEBUG: true
EMPTY: \"\"
CERT: |
  line 1
  100% line 2
";

/// Encrypt `plain` (named `name`) for the fixture key; return the encrypted file's path.
fn encrypted(env: &Env, name: &str, plain: &str) -> PathBuf {
    let src = env.write(&format!("plain-{name}"), plain);
    let bytes = ok(env
        .secrets()
        .args([
            "encrypt",
            "--age",
            &env.recipient,
            "--filename-override",
            name,
        ])
        .arg("-")
        .stdin(std::fs::File::open(&src).unwrap()));
    std::fs::remove_file(src).unwrap();
    env.write(name, bytes)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn shell_format_round_trips_through_sh_eval() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let exports = text(ok(env
        .secrets_with_key()
        .args(["decrypt", "--format", "shell"])
        .arg(&f)));
    assert!(
        exports.starts_with("export DB_PASSWORD='it'\\''s "),
        "{exports}"
    );
    let script = format!(
        "{exports}\nprintf '%s|%s|%s|%s|%s|%s' \"$DB_PASSWORD\" \"$PORT\" \"$RATIO\" \"$DEBUG\" \"$EMPTY\" \"$CERT\""
    );
    let out = text(ok(Command::new("sh").arg("-c").arg(script)));
    assert_eq!(
        out,
        format!("it's {CANARY} $HOME `x`|5432|1.5|true||line 1\n100% line 2\n")
    );
}

#[test]
fn shell_format_refuses_names_a_shell_cannot_assign() {
    let env = Env::new();
    let f = encrypted(&env, "bad.yaml", &format!("my-key: {CANARY}\n"));
    let out = run(
        env.secrets_with_key()
            .args(["decrypt", "--format", "shell"])
            .arg(&f),
        16,
    );
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("key \"my-key\" is not a valid shell variable name"));
}

#[test]
fn github_env_masks_every_line_and_appends_delimited_variables() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let github_env = env.write("github_env", "EARLIER=1\n");
    let masks = text(ok(env
        .secrets_with_key()
        .env("GITHUB_ENV", &github_env)
        .arg("decrypt")
        .arg("--github-env")
        .arg(&f)));
    assert_eq!(
        masks,
        format!(
            "::add-mask::it's {CANARY} $HOME `x`\n::add-mask::5432\n::add-mask::1.5\n\
             ::add-mask::true\n::add-mask::line 1\n::add-mask::100%25 line 2\n"
        )
    );
    let written = std::fs::read_to_string(&github_env).unwrap();
    let vars = parse_github_env(written.strip_prefix("EARLIER=1\n").unwrap());
    assert_eq!(
        vars,
        [
            ("DB_PASSWORD", format!("it's {CANARY} $HOME `x`")),
            ("PORT", "5432".into()),
            ("RATIO", "1.5".into()),
            ("DEBUG", "true".into()),
            ("EMPTY", "".into()),
            ("CERT", "line 1\n100% line 2\n".into()),
        ]
        .map(|(k, v)| (k.to_string(), v))
    );
    // --format github is the same thing.
    ok(env
        .secrets_with_key()
        .env("GITHUB_ENV", &github_env)
        .args(["decrypt", "--format", "github"])
        .arg(&f));
}

/// Parse `NAME<<DELIM\nvalue\nDELIM\n` entries as the runner does.
fn parse_github_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    while let Some(head) = lines.next() {
        if head.is_empty() {
            continue;
        }
        let (name, delimiter) = head.split_once("<<").expect("multi-line form");
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delimiter {
                break;
            }
            value.push(line);
        }
        out.push((name.to_string(), value.join("\n")));
    }
    out
}

#[test]
fn github_env_unset_is_a_usage_error() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let out = run(
        env.secrets_with_key()
            .arg("decrypt")
            .arg("--github-env")
            .arg(&f),
        2,
    );
    assert!(stderr(&out).contains("--github-env needs GITHUB_ENV"));
    assert!(out.stdout.is_empty());
}

#[test]
fn exec_env_gives_values_and_passes_the_exit_status() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let out = run(
        env.secrets_with_key().arg("exec-env").arg(&f).args([
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$DB_PASSWORD\" \"$PORT\" \"$HOME\"; exit 7",
        ]),
        7,
    );
    let home = env.path("home");
    assert_eq!(
        text(out.stdout),
        format!("it's {CANARY} $HOME `x`|5432|{}", home.display())
    );
}

#[test]
fn exec_env_pristine_gives_only_the_file_values() {
    let env = Env::new();
    let f = encrypted(&env, "flat.env", "A=1\nB=two words\n");
    let out = text(ok(env
        .secrets_with_key()
        .args(["exec-env", "--pristine"])
        .arg(&f)
        .args(["--", "env"])));
    let mut lines: Vec<_> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["A=1", "B=two words"]);
}

#[test]
fn exec_env_converts_scalars_as_sops_does() {
    let env = Env::new();
    let plain = env.write("types.yaml", "i: 5432\nf: 1.5\nb: true\ns: text\nn: null\n");
    let f = env.path("types.enc.yaml");
    std::fs::write(
        &f,
        ok(env
            .sops()
            .args(["encrypt", "--age", &env.recipient])
            .arg(&plain)),
    )
    .unwrap();
    let script = "printf '%s|%s|%s|%s|%s' \"$i\" \"$f\" \"$b\" \"$s\" \"$n\"";
    let ours = ok(env
        .secrets_with_key()
        .arg("exec-env")
        .arg(&f)
        .args(["--", "sh", "-c", script]));
    let theirs = ok(env.sops().arg("exec-env").arg(&f).arg(script));
    // sops writes a null as Go's "<nil>"; we give the empty string (documented in docs/ci.md).
    assert_eq!(text(ours), "5432|1.5|true|text|");
    assert_eq!(text(theirs), "5432|1.5|true|text|<nil>");
}

#[test]
fn exec_env_refuses_nested_values_unless_flatten() {
    let env = Env::new();
    let f = encrypted(
        &env,
        "nested.yaml",
        &format!("db:\n  password: {CANARY}\n  hosts: [a, b]\ntop: x\n"),
    );
    let out = run(
        env.secrets_with_key()
            .arg("exec-env")
            .arg(&f)
            .args(["--", "true"]),
        16,
    );
    assert!(stderr(&out).contains("key \"db\" holds a nested value"));
    assert!(stderr(&out).contains("hint: pass --flatten"));
    let out = text(ok(env
        .secrets_with_key()
        .args(["exec-env", "--flatten"])
        .arg(&f)
        .args([
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s|%s' \"$DB_PASSWORD\" \"$DB_HOSTS_0\" \"$DB_HOSTS_1\" \"$top\"",
        ])));
    assert_eq!(out, format!("{CANARY}|a|b|x"));
}

#[test]
fn exec_env_missing_or_unrunnable_command_exits_like_a_shell() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let out = run(
        env.secrets_with_key()
            .arg("exec-env")
            .arg(&f)
            .args(["--", "no-such-command-here"]),
        127,
    );
    assert!(stderr(&out).contains("no-such-command-here: command not found"));
    let not_exec = env.write("not-exec.sh", "#!/bin/sh\n");
    let out = run(
        env.secrets_with_key()
            .arg("exec-env")
            .arg(&f)
            .arg("--")
            .arg(&not_exec),
        126,
    );
    assert!(stderr(&out).contains("cannot run the command"));
    // No command at all is a usage error.
    run(env.secrets_with_key().arg("exec-env").arg(&f), 2);
}

#[test]
fn exec_env_takes_the_key_from_sops_age_key() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let key_text = std::fs::read_to_string(&env.key_file).unwrap();
    std::fs::remove_file(&env.key_file).unwrap();
    let out = text(ok(env
        .secrets()
        .env("SOPS_AGE_KEY", key_text.trim())
        .arg("exec-env")
        .arg(&f)
        .args(["--", "sh", "-c", "printf %s \"$PORT\""])));
    assert_eq!(out, "5432");
}

/// Start `secrets` with stdout piped, wait for the child to print "ready", then send `signal`
/// to the `secrets` process; return its exit code.
fn signal_after_ready(mut cmd: Command, signal: &str) -> i32 {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap().code().unwrap_or(-1)
}

const TRAPPING: &str = "trap 'exit 42' TERM HUP INT; echo ready; while :; do sleep 0.05; done";

#[test]
fn exec_env_signals_reach_the_command() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    for signal in ["TERM", "HUP", "INT"] {
        let mut cmd = env.secrets_with_key();
        cmd.arg("exec-env")
            .arg(&f)
            .args(["--", "sh", "-c", TRAPPING]);
        assert_eq!(signal_after_ready(cmd, signal), 42, "{signal}");
    }
}

#[test]
fn exec_file_signals_are_passed_on_and_the_folder_removed() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    for (signal, no_fifo) in [("TERM", false), ("HUP", true), ("INT", true)] {
        let mut cmd = env.secrets_with_key();
        cmd.env("TMPDIR", &tmp).arg("exec-file");
        if no_fifo {
            cmd.arg("--no-fifo");
        }
        cmd.arg(&f).args(["--", "sh", "-c", TRAPPING, "sh", "{}"]);
        assert_eq!(signal_after_ready(cmd, signal), 42, "{signal}");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "{signal}");
    }
    // A command that does not trap the signal dies of it: 128 + 15.
    let mut cmd = env.secrets_with_key();
    cmd.env("TMPDIR", &tmp).arg("exec-file").arg(&f).args([
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 30",
    ]);
    assert_eq!(signal_after_ready(cmd, "TERM"), 143);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn exec_file_hands_a_fifo_with_the_decrypted_file() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = text(ok(env
        .secrets_with_key()
        .env("TMPDIR", &tmp)
        .arg("exec-file")
        .arg(&f)
        .args([
            "--",
            "sh",
            "-c",
            "test -p \"$1\" && stat -c %a \"$1\" \"${1%/*}\" && cat \"$1\"",
            "sh",
            "{}",
        ])));
    assert_eq!(out, format!("600\n700\n{APP}"));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    // The exit status is the command's.
    run(
        env.secrets_with_key()
            .env("TMPDIR", &tmp)
            .arg("exec-file")
            .arg(&f)
            .args(["--", "sh", "-c", "exit 5"]),
        5,
    );
    // A command that never opens the pipe does not hang us.
    ok(env
        .secrets_with_key()
        .env("TMPDIR", &tmp)
        .arg("exec-file")
        .arg(&f)
        .args(["--", "true", "{}"]));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn exec_file_no_fifo_output_type_and_filename() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = text(ok(env
        .secrets_with_key()
        .env("TMPDIR", &tmp)
        .args([
            "exec-file",
            "--no-fifo",
            "--output-type",
            "json",
            "--filename",
            "app.json",
        ])
        .arg(&f)
        .args([
            "--",
            "sh",
            "-c",
            "test -f \"$1\" && stat -c %a \"$1\" \"${1%/*}\" && echo \"${1##*/}\" && cat \"$1\"",
            "sh",
            "{}",
        ])));
    let expected_json = text(ok(env
        .secrets_with_key()
        .args(["decrypt", "--output-type", "json"])
        .arg(&f)));
    assert_eq!(out, format!("600\n700\napp.json\n{expected_json}"));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    run(
        env.secrets_with_key()
            .args(["exec-file", "--filename", "../x"])
            .arg(&f)
            .args(["--", "true"]),
        2,
    );
}

/// Every error path of these commands: the exit code, and no decrypted value in stderr (or
/// stdout), and nothing left in the temporary folder.
#[test]
fn errors_never_show_a_decrypted_value() {
    let env = Env::new();
    let f = encrypted(&env, "app.yaml", APP);
    let nested = encrypted(&env, "nested.yaml", &format!("db:\n  pw: {CANARY}\n"));
    let badname = encrypted(&env, "bad.yaml", &format!("bad-name: {CANARY}\n"));
    let plain = env.write("plain.yaml", format!("DB_PASSWORD: {CANARY}\n"));
    let tampered = env.write(
        "tampered.yaml",
        std::fs::read_to_string(&f).unwrap().replacen(
            "PORT: ENC[AES256_GCM,data:",
            "PORT: ENC[AES256_GCM,data:AA",
            1,
        ),
    );
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, bool, i32)> = vec![
        (
            vec!["decrypt".into(), "--format".into(), "shell".into(), p(&f)],
            false,
            8,
        ),
        (
            vec!["exec-env".into(), p(&f), "--".into(), "true".into()],
            false,
            8,
        ),
        (
            vec![
                "exec-file".into(),
                p(&f),
                "--".into(),
                "cat".into(),
                "{}".into(),
            ],
            false,
            8,
        ),
        (
            vec![
                "decrypt".into(),
                "--extract".into(),
                "[\"nope\"]".into(),
                p(&f),
            ],
            true,
            12,
        ),
        (
            vec![
                "decrypt".into(),
                "--format".into(),
                "shell".into(),
                "--extract".into(),
                "[\"DB_PASSWORD\"]".into(),
                p(&f),
            ],
            true,
            16,
        ),
        (
            vec![
                "decrypt".into(),
                "--format".into(),
                "shell".into(),
                p(&badname),
            ],
            true,
            16,
        ),
        (
            vec!["decrypt".into(), "--github-env".into(), p(&f)],
            true,
            2,
        ),
        (
            vec!["exec-env".into(), p(&nested), "--".into(), "true".into()],
            true,
            16,
        ),
        (
            vec![
                "exec-env".into(),
                p(&f),
                "--".into(),
                "no-such-command-here".into(),
            ],
            true,
            127,
        ),
        (
            vec![
                "exec-file".into(),
                p(&f),
                "--".into(),
                "no-such-command-here".into(),
                "{}".into(),
            ],
            true,
            127,
        ),
        (
            vec!["exec-env".into(), p(&plain), "--".into(), "true".into()],
            true,
            6,
        ),
        (
            vec![
                "exec-file".into(),
                p(&plain),
                "--".into(),
                "cat".into(),
                "{}".into(),
            ],
            true,
            6,
        ),
        (
            vec![
                "decrypt".into(),
                "--format".into(),
                "shell".into(),
                p(&plain),
            ],
            true,
            6,
        ),
        (
            vec!["exec-env".into(), p(&tampered), "--".into(), "true".into()],
            true,
            9,
        ),
    ];
    for (args, with_key, code) in cases {
        let mut cmd = if with_key {
            env.secrets_with_key()
        } else {
            env.secrets()
        };
        cmd.env("TMPDIR", &tmp).args(&args);
        let out = run(&mut cmd, code);
        let err = stderr(&out);
        assert!(!err.contains(CANARY), "{args:?}: {err}");
        assert!(!err.contains("5432"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "{args:?}");
    }
}

#[test]
fn action_script_decrypts_into_a_fake_github_env_and_files() {
    let env = Env::new();
    let github_env = env.path("github_env");
    let dest = env.path("out/settings.json");
    std::fs::create_dir(env.path("out")).unwrap();
    let key_text = std::fs::read_to_string(&env.key_file).unwrap();
    let fixtures = root().join("fixtures/deploy");
    let out = run(
        Command::new("bash")
            .arg(root().join(".github/actions/decrypt/decrypt.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.path("home"))
            .env("SECRETS_BIN", env!("CARGO_BIN_EXE_secrets"))
            .env("GITHUB_ENV", &github_env)
            .env("SOPS_AGE_KEY", key_text.trim())
            .env(
                "INPUT_ENV_FILES",
                format!("{}\n", fixtures.join("app.enc.env").display()),
            )
            .env(
                "INPUT_FILES",
                format!(
                    "\n{} {}\n",
                    fixtures.join("settings.enc.json").display(),
                    dest.display()
                ),
            ),
        0,
    );
    let masks = text(out.stdout);
    for value in [
        "postgres://billing:pw@db.internal/billing",
        "sk_test_1234567890",
        "correct-horse-battery-staple",
        "db.internal",
    ] {
        assert!(
            masks.contains(&format!("::add-mask::{value}\n")),
            "{value}: {masks}"
        );
    }
    assert!(
        masks.lines().all(|l| l.starts_with("::add-mask::")),
        "{masks}"
    );
    let vars = parse_github_env(&std::fs::read_to_string(&github_env).unwrap());
    assert_eq!(
        vars,
        [
            ("DATABASE_URL", "postgres://billing:pw@db.internal/billing"),
            ("STRIPE_KEY", "sk_test_1234567890"),
            ("DEBUG", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(root().join("fixtures/examples/settings.json")).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Without GITHUB_ENV the script stops before decrypting anything.
    let out = run(
        Command::new("bash")
            .arg(root().join(".github/actions/decrypt/decrypt.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default()),
        1,
    );
    assert!(stderr(&out).contains("GITHUB_ENV is not set"));
}
