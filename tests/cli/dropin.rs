//! The drop-in for sops (issue 15): the same scripted invocations run once with sops 3.11 as
//! `sops` and once with this binary symlinked as `sops` (each first on PATH in its own folder);
//! exit status and standard output must match. Encrypted output differs by design (fresh data
//! keys and IVs), so scripts that encrypt decrypt again and compare the plaintext.

use std::path::Path;
use std::process::Command;

use crate::util::{Env, ok, run, sops_bin};

const PLAIN_YAML: &str = "a: 1\nb:\n    c: x\nl:\n    - 1\n    - two\n";
const PLAIN_JSON: &str = "{\n\t\"a\": 1,\n\t\"b\": {\n\t\t\"c\": \"x\"\n\t},\n\t\"n\": \"y\"\n}\n";
const FLAT_YAML: &str = "x: 1\n\"y\": two\n";

/// (what it checks, shell script). `$R` is the fixture recipient, `$R2` a second one whose
/// identity is in key2.txt.
const CASES: &[(&str, &str)] = &[
    ("legacy -d", "sops -d e.yaml"),
    ("decrypt subcommand", "sops decrypt e.json"),
    ("-s ignored outside the editor", "sops -d -s e.yaml"),
    ("yaml to json", "sops -d --output-type json e.yaml"),
    ("json to yaml", "sops -d --output-type yaml e.json"),
    (
        "yaml to dotenv, flat",
        "sops -d --output-type dotenv flat.yaml",
    ),
    (
        "dotenv of a nested value",
        "sops -d --output-type dotenv e.yaml",
    ),
    (
        "yaml to ini of a scalar",
        "sops -d --output-type ini e.yaml",
    ),
    ("--indent 2", "sops -d --indent 2 --output-type yaml e.json"),
    (
        "--indent 3 json",
        "sops -d --indent 3 --output-type json e.yaml",
    ),
    (
        "--indent is not a decrypt flag",
        "sops decrypt --indent 2 e.yaml > /dev/null",
    ),
    (
        "--extract a string",
        "sops -d --extract '[\"b\"][\"c\"]' e.yaml",
    ),
    ("--extract a subtree", "sops -d --extract '[\"b\"]' e.yaml"),
    ("--extract bad path", "sops -d --extract 'zz' e.yaml"),
    ("--extract missing", "sops -d --extract '[\"nope\"]' e.yaml"),
    (
        "flags after the file are ignored",
        "sops -d e.yaml --output-type json",
    ),
    (
        "--output",
        "sops -d --output out.yaml e.yaml && cat out.yaml",
    ),
    ("tampered value", "sops -d t_value.yaml"),
    ("no MAC", "sops -d t_nomac.yaml"),
    ("MAC of another file", "sops -d t_mac.yaml"),
    ("--ignore-mac", "sops -d --ignore-mac t_mac.yaml"),
    ("wrong key", "SOPS_AGE_KEY_FILE=key2.txt sops -d e.yaml"),
    ("already encrypted", "sops -e --age $R e.yaml"),
    ("no such file", "sops -d missing.yaml"),
    ("no file", "sops"),
    ("-d without a file", "sops -d"),
    ("not encrypted", "sops -d p.yaml"),
    // sops prints its whole help on stdout there; we name the flag on stderr.
    ("unknown flag", "sops --bogus e.yaml > /dev/null"),
    ("unchanged edit", "EDITOR=true sops e.yaml"),
    ("unchanged edit subcommand", "EDITOR=true sops edit e.yaml"),
    (
        "legacy -e",
        "sops -e --age $R p.yaml > x.yaml && sops -d x.yaml",
    ),
    (
        "encrypt yaml as json",
        "sops -e --age $R --output-type json p.yaml > x.json && sops -d x.json",
    ),
    (
        "encrypt from stdin as json",
        "sops encrypt --age $R --filename-override p.yaml --output-type json < p.yaml > x.json && sops decrypt x.json",
    ),
    (
        "encrypt json",
        "sops encrypt --age $R p.json > x.json && sops decrypt x.json",
    ),
    (
        "comma-separated --age",
        "sops -e --age \"$R,$R2\" p.yaml > x.yaml && SOPS_AGE_KEY_FILE=key2.txt sops -d x.yaml",
    ),
    (
        "-e -i",
        "cp p.yaml x.yaml && sops -e -i --age $R x.yaml && sops -d x.yaml",
    ),
    (
        "-e --output",
        "sops -e --age $R --output x.yaml p.yaml && sops -d x.yaml",
    ),
    (
        "encrypt then decrypt in place",
        "cp p.yaml x.yaml && sops -e -i --age $R x.yaml && sops -d -i x.yaml && cat x.yaml",
    ),
    // sops 3.11 needs --output-type (or --filename-override) to write what it read on stdin.
    (
        "decrypt from stdin",
        "sops decrypt --output-type json < e.json",
    ),
    (
        "decrypt from stdin, --input-type",
        "sops decrypt --input-type yaml --output-type yaml < e.yaml",
    ),
    (
        "decrypt from stdin, --filename-override",
        "sops decrypt --filename-override e.yaml < e.yaml",
    ),
    (
        "encrypt from stdin",
        "sops encrypt --age $R --filename-override p.yaml < p.yaml | sops decrypt --filename-override x.yaml",
    ),
    (
        "legacy --set",
        "cp e.yaml x.yaml && sops --set '[\"a\"] 5' x.yaml && sops -d x.yaml",
    ),
    (
        "set",
        "cp e.yaml x.yaml && sops set x.yaml '[\"b\"][\"c\"]' '\"new\"' && sops -d x.yaml",
    ),
    (
        "set --idempotent",
        "cp e.yaml x.yaml && sops set --idempotent x.yaml '[\"a\"]' 1 && sops -d x.yaml",
    ),
    (
        "set --value-stdin",
        "cp e.yaml x.yaml && echo '\"piped\"' | sops set --value-stdin x.yaml '[\"a\"]' && sops -d x.yaml",
    ),
    (
        "unset missing",
        "cp e.yaml x.yaml && sops unset x.yaml '[\"zz\"]'",
    ),
    (
        "unset --idempotent",
        "cp e.yaml x.yaml && sops unset --idempotent x.yaml '[\"zz\"]' && sops unset x.yaml '[\"a\"]' && sops -d x.yaml",
    ),
    ("unset without a path", "sops unset e.yaml"),
    (
        "rotate to stdout",
        "sops rotate e.yaml > x.yaml && sops -d x.yaml && cmp -s e.yaml x.yaml; echo same=$?",
    ),
    (
        "rotate -i",
        "cp e.yaml x.yaml && sops rotate -i x.yaml && sops -d x.yaml && cmp -s e.yaml x.yaml; echo same=$?",
    ),
    (
        "rotate --output",
        "sops rotate --output x.yaml e.yaml && sops -d x.yaml",
    ),
    (
        "-r -i --add-age",
        "cp e.yaml x.yaml && sops -r -i --add-age $R2 x.yaml && SOPS_AGE_KEY_FILE=key2.txt sops -d x.yaml",
    ),
    (
        "-r -i --rm-age",
        "sops -e --age \"$R,$R2\" p.yaml > x.yaml && sops -r -i --rm-age $R2 x.yaml && SOPS_AGE_KEY_FILE=key2.txt sops -d x.yaml",
    ),
    (
        "updatekeys -y",
        "printf 'creation_rules:\\n  - age: %s\\n' \"$R2\" > .sops.yaml && cp e.yaml x.yaml && sops updatekeys -y x.yaml > /dev/null; rm .sops.yaml; SOPS_AGE_KEY_FILE=key2.txt sops -d x.yaml",
    ),
    (
        "groups add -i",
        "cp e.yaml x.yaml && sops groups add -i --file x.yaml --age $R2 && sops -d x.yaml",
    ),
    (
        "groups add to stdout",
        "cp e.yaml x.yaml && sops groups add --file x.yaml --age $R2 > y.yaml && cmp -s e.yaml x.yaml; echo same=$?; sops -d y.yaml",
    ),
    (
        "exec-env string",
        "sops exec-env flat.yaml 'echo \"$x-$y\"'",
    ),
    ("exec-env status", "sops exec-env flat.yaml 'exit 3'"),
    ("exec-env nested value", "sops exec-env e.yaml 'true'"),
    (
        "exec-env --pristine",
        "sops exec-env --pristine flat.yaml 'echo \"$x:${HOME:-none}\"'",
    ),
    ("exec-file string", "sops exec-file flat.yaml 'cat {}'"),
    (
        "exec-file --no-fifo",
        "sops exec-file --no-fifo flat.yaml 'wc -l < {}'",
    ),
    (
        "exec-file --output-type",
        "sops exec-file --output-type json flat.yaml 'cat {}'",
    ),
    (
        "filestatus",
        "sops filestatus e.yaml; sops filestatus p.yaml",
    ),
    ("completion", "sops completion bash > /dev/null"),
    ("version", "sops --version | cut -d' ' -f1-2"),
];

/// Put `target` on a fresh PATH folder as `sops`.
fn sops_folder(env: &Env, name: &str, target: &Path) -> std::path::PathBuf {
    let dir = env.path(name);
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(target, dir.join("sops")).unwrap();
    dir
}

/// A second identity and its recipient.
fn second_key(env: &Env) -> String {
    ok(Command::new("age-keygen")
        .arg("-o")
        .arg(env.path("key2.txt")));
    let text = std::fs::read_to_string(env.path("key2.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .trim()
        .to_string()
}

/// Files every script reads, encrypted by sops; tampered copies.
fn prepare(env: &Env, work: &Path) {
    std::fs::create_dir(work).unwrap();
    let write = |name: &str, text: &str| std::fs::write(work.join(name), text).unwrap();
    write("p.yaml", PLAIN_YAML);
    write("p.json", PLAIN_JSON);
    let encrypt = |plain: &str, out: &str| {
        let bytes = ok(env
            .sops()
            .current_dir(work)
            .args(["-e", "--age", &env.recipient, plain]));
        std::fs::write(work.join(out), bytes).unwrap();
    };
    encrypt("p.yaml", "e.yaml");
    encrypt("p.json", "e.json");
    write("f.yaml", FLAT_YAML);
    encrypt("f.yaml", "flat.yaml");
    let e = std::fs::read_to_string(work.join("e.yaml")).unwrap();
    // A value's ciphertext changed.
    let at = e.find("a: ENC[AES256_GCM,data:").unwrap() + "a: ENC[AES256_GCM,data:".len();
    let flipped = if &e[at..=at] == "A" { "B" } else { "A" };
    write(
        "t_value.yaml",
        &format!("{}{flipped}{}", &e[..at], &e[at + 1..]),
    );
    // The MAC removed, or taken from another file.
    let without: String = e
        .lines()
        .filter(|l| !l.starts_with("    mac: "))
        .map(|l| format!("{l}\n"))
        .collect();
    write("t_nomac.yaml", &without);
    let other = std::fs::read_to_string(work.join("flat.yaml")).unwrap();
    let mac = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("    mac: "))
            .unwrap()
            .to_string()
    };
    write("t_mac.yaml", &e.replace(&mac(&e), &mac(&other)));
}

/// Run every case with `sops` from `bin`; (exit code, stdout) per case.
fn run_all(env: &Env, work: &Path, bin: &Path, r2: &str) -> Vec<(i32, String)> {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    CASES
        .iter()
        .map(|(_, script)| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(script)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", env.path("home"))
                .env("SOPS_DISABLE_VERSION_CHECK", "1")
                .env("SOPS_AGE_KEY_FILE", &env.key_file)
                .env("EDITOR", "false")
                .env("R", &env.recipient)
                .env("R2", r2)
                .current_dir(work)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
        .collect()
}

#[test]
fn sops_command_lines_behave_the_same_with_this_binary_as_sops() {
    let env = Env::new();
    let r2 = second_key(&env);
    let theirs_bin = sops_folder(&env, "bin-sops", &sops_bin());
    let ours_bin = sops_folder(&env, "bin-ours", Path::new(env!("CARGO_BIN_EXE_secrets")));
    let (work_a, work_b) = (env.path("a"), env.path("b"));
    prepare(&env, &work_a);
    // The same encrypted files on both sides.
    std::fs::create_dir(&work_b).unwrap();
    for entry in std::fs::read_dir(&work_a).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), work_b.join(entry.file_name())).unwrap();
    }
    let (theirs, ours) = std::thread::scope(|s| {
        let t = s.spawn(|| run_all(&env, &work_a, &theirs_bin, &r2));
        let o = run_all(&env, &work_b, &ours_bin, &r2);
        (t.join().unwrap(), o)
    });
    let mut differences = Vec::new();
    for (((what, script), t), o) in CASES.iter().zip(&theirs).zip(&ours) {
        if t != o {
            differences.push(format!(
                "{what}: `{script}`\n  sops:    exit {} stdout {:?}\n  secrets: exit {} stdout {:?}",
                t.0, t.1, o.0, o.1
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} cases differ:\n{}",
        differences.len(),
        CASES.len(),
        differences.join("\n")
    );
    // The cases are not vacuous: the exit codes scripts test for are among them.
    let codes: Vec<i32> = theirs.iter().map(|(c, _)| *c).collect();
    for code in [0, 1, 25, 51, 91, 100, 128, 200, 203] {
        assert!(codes.contains(&code), "no case exits {code}: {codes:?}");
    }
}

#[test]
fn our_own_command_line_takes_the_sops_forms_too() {
    let env = Env::new();
    let plain = env.write("f.yaml", FLAT_YAML);
    let enc = env.path("e.yaml");
    ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "--output"])
        .arg(&enc)
        .arg(&plain));
    // exec-env with one command string, as sops.
    let out = ok(env
        .secrets_with_key()
        .arg("exec-env")
        .arg(&enc)
        .arg("printf '%s-%s' \"$x\" \"$y\""));
    assert_eq!(String::from_utf8(out).unwrap(), "1-two");
    // rotate --stdout leaves the file alone; -i rewrites it.
    let before = std::fs::read(&enc).unwrap();
    let printed = ok(env
        .secrets_with_key()
        .args(["rotate", "--stdout"])
        .arg(&enc));
    assert_eq!(std::fs::read(&enc).unwrap(), before);
    assert_ne!(printed, before);
    ok(env.secrets_with_key().args(["rotate", "-i"]).arg(&enc));
    assert_ne!(std::fs::read(&enc).unwrap(), before);
    // unset --idempotent on a missing key writes nothing and succeeds; without it, an error.
    let now = std::fs::read(&enc).unwrap();
    ok(env
        .secrets_with_key()
        .args(["unset", "--idempotent"])
        .arg(&enc)
        .arg("[\"zz\"]"));
    assert_eq!(std::fs::read(&enc).unwrap(), now);
    run(
        env.secrets_with_key()
            .arg("unset")
            .arg(&enc)
            .arg("[\"zz\"]"),
        5,
    );
    // decrypt - reads standard input.
    let out = env
        .secrets_with_key()
        .args(["decrypt", "--input-type", "yaml", "-"])
        .stdin(std::fs::File::open(&enc).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), FLAT_YAML);
    // Completions for every shell, and one man page per command.
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = String::from_utf8(ok(env.secrets().args(["completion", shell]))).unwrap();
        assert!(script.contains("exec-env"), "{shell}");
    }
    let man = env.path("man");
    ok(env.secrets().arg("man").arg(&man));
    for page in [
        "secrets.1",
        "secrets-decrypt.1",
        "secrets-exec-env.1",
        "secrets-git-setup.1",
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    }
}
