//! Canary: a known secret value goes through the error paths of every command, and never shows
//! in stdout (unless asked for), stderr, or a file left behind.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{Env, ok};

/// The secret; also checked in part, so a truncated excerpt would be caught too.
const CANARY: &str = "Canary-Q7xZ9-hunter2-do-not-leak";
const CANARY_CORE: &str = "Q7xZ9";

/// The plaintext of each format, holding the canary as a nested (or sectioned) value.
const PLAIN: &[(&str, &str)] = &[
    (
        "p.yaml",
        "db:\n  password: Canary-Q7xZ9-hunter2-do-not-leak\n  port: 5432\nlist:\n  - x\n",
    ),
    (
        "p.json",
        "{\"db\": {\"password\": \"Canary-Q7xZ9-hunter2-do-not-leak\", \"port\": 5432}}\n",
    ),
    (
        "p.toml",
        "[db]\npassword = \"Canary-Q7xZ9-hunter2-do-not-leak\"\nport = 5432\n",
    ),
    (
        "p.env",
        "DB_PASSWORD=Canary-Q7xZ9-hunter2-do-not-leak\nPORT=5432\n",
    ),
    (
        "p.ini",
        "[db]\npassword = Canary-Q7xZ9-hunter2-do-not-leak\nport = 5432\n",
    ),
];

/// A broken document per format, with the canary on (or next to) the line at fault.
const BROKEN: &[(&str, &str)] = &[
    (
        "b.yaml",
        "db:\n  password: 'Canary-Q7xZ9-hunter2-do-not-leak\n",
    ),
    ("b2.yaml", "db: Canary-Q7xZ9-hunter2-do-not-leak: [x\n"),
    (
        "b3.yaml",
        "k: Canary-Q7xZ9-hunter2-do-not-leak\n\tbad: tab\n",
    ),
    (
        "b.json",
        "{\"k\": \"Canary-Q7xZ9-hunter2-do-not-leak\" \"x\": 1}\n",
    ),
    (
        "b2.json",
        "{\"k\": \"Canary-Q7xZ9-hunter2-do-not-leak\\q\"}\n",
    ),
    ("b.toml", "k = \"Canary-Q7xZ9-hunter2-do-not-leak\" junk\n"),
    ("b2.toml", "k = Canary-Q7xZ9-hunter2-do-not-leak\n"),
    ("b.env", "Canary-Q7xZ9-hunter2-do-not-leak\n"),
    ("b2.env", "K=\"Canary-Q7xZ9-hunter2-do-not-leak\n"),
    ("b.ini", "Canary-Q7xZ9-hunter2-do-not-leak\n[s]\n"),
    ("b2.ini", "[s\nk = Canary-Q7xZ9-hunter2-do-not-leak\n"),
];

struct Canary {
    env: Env,
    /// Files that hold the canary in plaintext on purpose (inputs).
    allowed: Vec<String>,
}

impl Canary {
    fn new() -> Canary {
        let env = Env::new();
        let mut allowed = vec!["value.txt".to_string()];
        env.write("value.txt", CANARY);
        for (name, text) in PLAIN.iter().chain(BROKEN) {
            env.write(name, text);
            allowed.push(name.to_string());
        }
        for (name, _) in PLAIN {
            let enc = ok(env
                .secrets()
                .args(["encrypt", "--age", &env.recipient, name]));
            assert!(!String::from_utf8_lossy(&enc).contains(CANARY_CORE));
            env.write(&name.replacen("p.", "e.", 1), enc);
        }
        std::fs::create_dir(env.path("run")).unwrap();
        Canary { env, allowed }
    }

    /// The encrypted files, by extension.
    fn encrypted(&self) -> impl Iterator<Item = String> {
        PLAIN.iter().map(|(n, _)| n.replacen("p.", "e.", 1))
    }

    fn cmd(&self, with_key: bool) -> Command {
        let mut cmd = if with_key {
            self.env.secrets_with_key()
        } else {
            self.env.secrets()
        };
        cmd.env("XDG_RUNTIME_DIR", self.env.path("run"));
        cmd
    }

    /// Run a command that must fail, and check its output holds no canary.
    #[track_caller]
    fn fails(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{cmd:?} should fail");
        self.clean(cmd, &out);
        out
    }

    /// Run a command that may succeed or fail; stdout is checked unless `asked` (a decrypt that
    /// succeeds prints the canary because it was asked to) and the command succeeded.
    #[track_caller]
    fn tries(&self, cmd: &mut Command, asked: bool) -> Output {
        let out = cmd.output().unwrap();
        if out.status.success() && asked {
            let mut quiet = out.clone();
            quiet.stdout.clear();
            self.clean(cmd, &quiet);
        } else {
            self.clean(cmd, &out);
        }
        out
    }

    #[track_caller]
    fn clean(&self, cmd: &Command, out: &Output) {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(CANARY_CORE),
                "{cmd:?}: the canary is in {stream}:\n{text}"
            );
        }
    }

    /// No file but the inputs holds the canary, anywhere under the test folder.
    #[track_caller]
    fn no_leftovers(&self) {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(self.env.dir.path(), &mut files);
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let input = self.allowed.contains(&name)
                || name.starts_with("t-plain.")
                || name.ends_with(".sh");
            if f.parent() == Some(self.env.dir.path()) && input {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(CANARY_CORE),
                "{} holds the canary",
                f.display()
            );
        }
        let run: Vec<_> = std::fs::read_dir(self.env.path("run")).unwrap().collect();
        assert!(run.is_empty(), "left in the runtime folder: {run:?}");
    }

    /// `f.ext`: a copy of `e.ext` with `edit` applied to its text.
    fn tampered(&self, enc: &str, edit: impl Fn(&str) -> String) -> String {
        let text = std::fs::read_to_string(self.env.path(enc)).unwrap();
        // A file holding the canary in plaintext on purpose is named `t-plain.*` (an input).
        let text = edit(&text);
        let tag = if text.contains(CANARY) {
            "t-plain."
        } else {
            "t."
        };
        let name = enc.replacen("e.", tag, 1);
        self.env.write(&name, text);
        name
    }
}

/// Flip one base64 character of the first `ENC[...]` data field (the canary's value).
fn flip_first_value(text: &str) -> String {
    let at = text.find("ENC[AES256_GCM,data:").unwrap() + "ENC[AES256_GCM,data:".len();
    let mut b = text.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// Change the first value's type so its (correct) plaintext fails to parse as that type.
fn retype_first_value(text: &str) -> String {
    text.replacen("type:str]", "type:int]", 1)
}

/// Swap the canary's ciphertext with the next value's (same AAD only in lists; here it fails
/// AEAD or the MAC).
fn damage_mac(text: &str) -> String {
    let at = text.find("mac").unwrap();
    let data = at + text[at..].find("data:").unwrap() + 5;
    let mut b = text.as_bytes().to_vec();
    b[data] = if b[data] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// Replace the canary's ciphertext with the canary in plaintext (a value that should be
/// encrypted but is not).
fn plaintext_value(text: &str) -> String {
    let start = text.find("ENC[").unwrap();
    let end = start + text[start..].find(']').unwrap() + 1;
    format!("{}{CANARY}{}", &text[..start], &text[end..])
}

#[test]
fn encrypt_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for (name, _) in PLAIN.iter().chain(BROKEN) {
        // No recipient (and, for the broken ones, a parse error first).
        c.fails(c.cmd(false).args(["encrypt", name]));
        c.tries(
            c.cmd(false)
                .args(["encrypt", "--age", &c.env.recipient, name]),
            false,
        );
        c.fails(c.cmd(false).args([
            "encrypt",
            "--age",
            &c.env.recipient,
            "--output",
            "no/such/dir/out",
            name,
        ]));
        c.fails(c.cmd(false).args(["encrypt", "--age", "age1bad", name]));
    }
    for enc in c.encrypted() {
        c.fails(
            c.cmd(false)
                .args(["encrypt", "--age", &c.env.recipient, &enc]),
        );
    }
    // A plaintext read as another format.
    c.fails(c.cmd(false).args([
        "encrypt",
        "--age",
        &c.env.recipient,
        "--input-type",
        "json",
        "p.yaml",
    ]));
    c.no_leftovers();
}

#[test]
fn decrypt_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for enc in c.encrypted() {
        c.fails(c.cmd(false).args(["decrypt", &enc]));
        for edit in [
            flip_first_value,
            retype_first_value,
            damage_mac,
            plaintext_value,
        ] {
            let t = c.tampered(&enc, edit);
            c.fails(c.cmd(true).args(["decrypt", &t]));
            c.fails(c.cmd(true).args(["decrypt", "--strict", &t]));
            c.fails(c.cmd(true).args(["decrypt", "--output", "out.txt", &t]));
        }
        let bad = ["--extract", "[\"nope\"]"];
        c.fails(c.cmd(true).args(["decrypt"]).args(bad).arg(&enc));
        for path in [
            "[\"db\"][\"password\"][\"x\"]",
            "[\"db\"][\"password\"][0]",
            "[\"DB_PASSWORD\"][\"x\"]",
            "[\"db\"][\"port\"][\"x\"]",
            "[\"list\"][7]",
            "[\"db\"",
        ] {
            c.fails(c.cmd(true).args(["decrypt", "--extract", path, &enc]));
        }
        c.fails(
            c.cmd(true)
                .args(["decrypt", "--output", "no/such/dir/x", &enc]),
        );
        c.fails(
            c.cmd(true)
                .args(["decrypt", "--output-type", "binary", &enc]),
        );
        c.fails(c.cmd(true).args(["decrypt", "--format", "github", &enc]));
        c.tries(
            c.cmd(true).args(["decrypt", "--format", "shell", &enc]),
            true,
        );
        c.fails(
            c.cmd(true)
                .args(["decrypt", "--input-type", "binary", &enc]),
        );
    }
    // Files that become null- or empty-holding under --strict.
    let t = c.tampered("e.yaml", |t| {
        t.replacen("port:", "gone: null\n    port:", 1)
    });
    assert!(
        std::fs::read_to_string(c.env.path(&t))
            .unwrap()
            .contains("gone: null")
    );
    c.fails(c.cmd(true).args(["decrypt", "--strict", &t]));
    c.no_leftovers();
}

#[test]
fn set_and_unset_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for enc in c.encrypted() {
        let tampered = c.tampered(&enc, damage_mac);
        let flipped = c.tampered(&enc, flip_first_value);
        // Each case may create what it names (set creates missing mappings), so success is
        // allowed; the streams are checked either way.
        for (file, path, key) in [
            (enc.as_str(), "[\"db\"", true),
            (enc.as_str(), "db.password", true),
            (enc.as_str(), "[\"db\"][\"password\"][\"x\"]", true),
            (enc.as_str(), "[\"DB_PASSWORD\"][\"x\"][\"y\"]", true),
            (enc.as_str(), "[\"list\"][9]", true),
            (enc.as_str(), "[\"db\"][\"new\"]", false),
            (tampered.as_str(), "[\"db\"][\"password\"]", true),
            (flipped.as_str(), "[\"db\"][\"password\"]", true),
            ("p.yaml", "[\"db\"][\"password\"]", true),
            ("no-such.yaml", "[\"db\"][\"password\"]", true),
        ] {
            c.tries(c.cmd(key).args(["set", file, path, CANARY]), false);
            c.tries(
                c.cmd(key)
                    .args(["set", file, path, &format!("{{\"k\": \"{CANARY}\"}}")]),
                false,
            );
            c.tries(
                c.cmd(key)
                    .args(["set", file, path, "--value-file", "value.txt"]),
                false,
            );
            let mut cmd = c.cmd(key);
            cmd.args(["set", file, path, "--value-stdin"]);
            let out = stdin_run(&mut cmd, CANARY);
            c.clean(&cmd, &out);
            c.tries(c.cmd(key).args(["unset", file, path]), false);
        }
        // A nested value where the format has none (dotenv, INI at depth 3).
        c.tries(
            c.cmd(true)
                .args(["set", &enc, "[\"A\"][\"B\"][\"C\"]"])
                .arg(format!("{{\"k\": [\"{CANARY}\"]}}")),
            false,
        );
    }
    c.no_leftovers();
}

fn stdin_run(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit (on an earlier error) before it reads its input.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn edit_errors_do_not_show_the_canary_nor_leave_plaintext() {
    let c = Canary::new();
    // An editor that writes a broken document holding the canary, then one that fails.
    c.env.write(
        "break.sh",
        format!("#!/bin/sh\nprintf 'k: \"{CANARY}\\n[' > \"$1\"\n"),
    );
    c.env.write("fail.sh", "#!/bin/sh\nexit 3\n");
    c.env.write(
        "broken-json.sh",
        format!("#!/bin/sh\nprintf '{{\"k\": \"{CANARY}\" x' > \"$1\"\n"),
    );
    for script in ["break.sh", "fail.sh", "broken-json.sh"] {
        let mut perms = std::fs::metadata(c.env.path(script)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(c.env.path(script), perms).unwrap();
    }
    for enc in c.encrypted() {
        for editor in ["break.sh", "fail.sh", "broken-json.sh", "no-such-editor"] {
            // dotenv and INI read almost anything: a "broken" edit may be a valid one there.
            let before = std::fs::read(c.env.path(&enc)).unwrap();
            let out = c.tries(
                c.cmd(true)
                    .args(["edit", &enc])
                    .env("EDITOR", c.env.path(editor)),
                false,
            );
            if !out.status.success() {
                assert_eq!(std::fs::read(c.env.path(&enc)).unwrap(), before);
            }
        }
        c.fails(
            c.cmd(false)
                .args(["edit", &enc])
                .env("EDITOR", c.env.path("fail.sh")),
        );
        let t = c.tampered(&enc, damage_mac);
        c.fails(
            c.cmd(true)
                .args(["edit", &t])
                .env("EDITOR", c.env.path("fail.sh")),
        );
    }
    // The edit helper removes the private folder after `edit` exits; give it a moment.
    for _ in 0..50 {
        if std::fs::read_dir(c.env.path("run"))
            .unwrap()
            .next()
            .is_none()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    c.no_leftovers();
}

#[test]
fn rekeying_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for enc in c.encrypted() {
        for file in [
            enc.clone(),
            c.tampered(&enc, damage_mac),
            c.tampered(&enc, flip_first_value),
            c.tampered(&enc, plaintext_value),
        ] {
            c.fails(c.cmd(false).args(["rotate", &file]));
            c.fails(c.cmd(false).args(["updatekeys", "-y", &file]));
            c.fails(c.cmd(false).args([
                "groups",
                "add",
                "--file",
                &file,
                "--age",
                &c.env.recipient,
            ]));
            c.fails(
                c.cmd(false)
                    .args(["groups", "delete", "--file", &file, "0"]),
            );
            if file != enc {
                c.fails(c.cmd(true).args(["rotate", &file]));
                // groups only re-wraps the data key: it need not read the values.
                c.tries(
                    c.cmd(true)
                        .args(["groups", "add", "--file", &file, "--age", &c.env.recipient]),
                    false,
                );
            }
            c.fails(c.cmd(true).args(["rotate", "--add-age", "age1bad", &file]));
        }
        // updatekeys without a .sops.yaml
        c.fails(c.cmd(true).args(["updatekeys", "-y", &enc]));
    }
    c.no_leftovers();
}

#[test]
fn exec_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for enc in c.encrypted() {
        let tampered = c.tampered(&enc, damage_mac);
        for cmd in ["exec-env", "exec-file"] {
            c.fails(c.cmd(false).args([cmd, &enc, "--", "true"]));
            c.fails(c.cmd(true).args([cmd, &tampered, "--", "true"]));
            c.fails(c.cmd(true).args([cmd, &enc, "--", "no-such-command-here"]));
            c.fails(c.cmd(true).args([cmd, &enc, "--", "/dev/null"]));
        }
        c.fails(
            c.cmd(true)
                .args(["exec-env", "--pristine", &enc, "--", "false"]),
        );
        c.fails(
            c.cmd(true)
                .args(["exec-file", "--output-type", "binary", &enc, "--", "true"]),
        );
        c.fails(
            c.cmd(true)
                .args(["exec-file", "--filename", "a/b", &enc, "--", "true"]),
        );
    }
    // exec-env refuses a nested value (and, without --flatten, the dotted key).
    c.fails(c.cmd(true).args(["exec-env", "e.yaml", "--", "true"]));
    c.no_leftovers();
}

#[test]
fn filestatus_scan_and_keygen_errors_do_not_show_the_canary() {
    let c = Canary::new();
    for (name, _) in PLAIN.iter().chain(BROKEN) {
        let out = c.cmd(false).args(["filestatus", name]).output().unwrap();
        c.clean(&Command::new("filestatus"), &out);
    }
    for enc in c.encrypted() {
        let out = c.cmd(false).args(["filestatus", &enc]).output().unwrap();
        c.clean(&Command::new("filestatus"), &out);
    }
    // Scan reports the canary password, redacted, in every format.
    for format in ["text", "json", "sarif"] {
        let mut cmd = c.cmd(false);
        cmd.args(["scan", "--no-ignore", "--format", format, "."]);
        let out = cmd.output().unwrap();
        c.clean(&cmd, &out);
        let mut cmd = c.cmd(false);
        cmd.args(["scan", "--format", format, "-"]);
        let out = stdin_run(&mut cmd, &format!("password = \"{CANARY}\"\n"));
        c.clean(&cmd, &out);
    }
    c.env
        .write("bad-baseline.json", format!("{{\"x\": \"{CANARY}\""));
    let mut cmd = c.cmd(false);
    cmd.args(["scan", "--baseline", "bad-baseline.json", "."]);
    let out = cmd.output().unwrap();
    c.clean(&cmd, &out);
    c.env.write(
        ".secrets-scan.toml",
        format!("[allow\npaths = [\"{CANARY}\"\n"),
    );
    c.fails(c.cmd(false).args(["scan", "."]));
    std::fs::remove_file(c.env.path(".secrets-scan.toml")).unwrap();
    std::fs::remove_file(c.env.path("bad-baseline.json")).unwrap();
    // keygen never overwrites, and says so without reading the file out.
    c.fails(c.cmd(false).args(["keygen", "-o", "value.txt"]));
    c.no_leftovers();
}

/// Found by this module: an editor that saves the same broken text each time it is opened (a
/// script, or a user saving without a fix) made `edit` reopen it forever.
#[test]
fn an_editor_saving_the_same_broken_text_again_ends_the_edit() {
    let c = Canary::new();
    c.env.write(
        "break.sh",
        format!("#!/bin/sh\nprintf 'k: \"{CANARY}\\n[' > \"$1\"\n"),
    );
    let mut perms = std::fs::metadata(c.env.path("break.sh"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(c.env.path("break.sh"), perms).unwrap();
    let out = crate::util::run(
        c.cmd(true)
            .args(["edit", "e.yaml"])
            .env("EDITOR", c.env.path("break.sh")),
        2,
    );
    assert!(crate::util::stderr(&out).contains("still does not parse"));
    c.clean(&Command::new("edit"), &out);
}

/// Key service failures (Vault, KMS, gpg) with the canary as every credential: the token, the
/// AWS secret and session token never show, nor the canary value of the files.
#[test]
fn key_service_errors_do_not_show_the_canary_or_credentials() {
    let c = Canary::new();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vault = format!("http://127.0.0.1:{port}/v1/transit/keys/k");
    let arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let with_creds = |cmd: &mut Command| {
        cmd.env("VAULT_TOKEN", CANARY)
            .env("AWS_ACCESS_KEY_ID", CANARY)
            .env("AWS_SECRET_ACCESS_KEY", CANARY)
            .env("AWS_SESSION_TOKEN", CANARY)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("SOPS_GPG_EXEC", "/nonexistent/gpg")
            .env("SECRETS_KEY_SERVICE_TIMEOUT", "2");
    };
    for (name, _) in PLAIN {
        let mut cmd = c.cmd(false);
        with_creds(&mut cmd);
        c.fails(cmd.args(["encrypt", "--hc-vault-transit", &vault, name]));
        let mut cmd = c.cmd(false);
        with_creds(&mut cmd);
        c.fails(cmd.args(["encrypt", "--kms", arn, name]));
        let mut cmd = c.cmd(false);
        with_creds(&mut cmd);
        c.fails(cmd.args([
            "encrypt",
            "--pgp",
            "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4",
            name,
        ]));
    }
    for enc in c.encrypted() {
        let text = std::fs::read_to_string(c.env.path(&enc)).unwrap();
        // The age key swapped for unreachable Vault and KMS keys (the values stay encrypted).
        let stanza = format!(
            "sops_kms__list_0__map_arn={arn}\nsops_kms__list_0__map_enc=AQID\nsops_hc_vault__list_0__map_vault_address=http://127.0.0.1:{port}\nsops_hc_vault__list_0__map_engine_path=transit\nsops_hc_vault__list_0__map_key_name=k\nsops_hc_vault__list_0__map_enc=vault:v1:AQID\n"
        );
        if enc.ends_with(".env") {
            let swapped: String = text
                .lines()
                .filter(|l| !l.starts_with("sops_age__"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                + &stanza;
            c.env.write("svc.env", swapped);
            let mut cmd = c.cmd(false);
            with_creds(&mut cmd);
            let out = c.fails(cmd.args(["decrypt", "svc.env"]));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("unreachable"), "{err}");
        }
    }
    c.no_leftovers();
}
