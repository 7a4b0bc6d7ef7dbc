//! Kill tests: `set`, `encrypt -i`, `decrypt -i`, `rotate` and `updatekeys -y` killed with
//! SIGKILL at a random instant, 50 runs each. The file must always decrypt to the old or the new
//! content, and no plaintext may be left in the folder (but by `decrypt -i`, see its test). On
//! Linux the new content is written to an unnamed (O_TMPFILE) file that gets a name only just
//! before the rename, so a SIGKILL between those two calls can still leave a
//! `.secrets-tmp-<pid>-*` file (about 1 run in 200 here); the next write in the folder removes
//! it, which the end of each series checks. Also: `exec-file --no-fifo` killed mid-command.

#![allow(clippy::print_stderr)] // the series' figures, shown with --nocapture

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::util::{Env, ok};

const RUNS: usize = 50;
const OLD: &str = "a: 1\nsecret: Canary-old-Q7x\n";
const NEW: &str = "a: 1\nsecret: Canary-new-Q7x\n";

fn recipient_of(key_file: &Path) -> String {
    std::fs::read_to_string(key_file)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .trim()
        .to_string()
}

/// The plaintext of `f.yaml` now: its bytes if it is not encrypted, else its decryption.
fn content(env: &Env) -> String {
    let bytes = std::fs::read(env.path("f.yaml")).unwrap();
    if !bytes.windows(4).any(|w| w == b"sops") {
        return String::from_utf8(bytes).unwrap();
    }
    String::from_utf8(ok(env.secrets_with_key().args(["decrypt", "f.yaml"]))).unwrap()
}

/// Files in the folder (and in `envs/`, where the linked layouts keep the real file) other
/// than the fixed ones; checks no leftover holds plaintext (unless the command writes
/// plaintext: `decrypt -i`).
fn leftovers(env: &Env, writes_plaintext: bool) -> Vec<String> {
    let mut out = Vec::new();
    let envs = env.path("envs");
    let entries = std::fs::read_dir(env.dir.path())
        .unwrap()
        .chain(std::fs::read_dir(&envs).into_iter().flatten());
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if [
            "key.txt",
            "home",
            "f.yaml",
            ".sops.yaml",
            "envs",
            "real.yaml",
        ]
        .contains(&name.as_str())
        {
            continue;
        }
        assert!(
            name.starts_with(".secrets-tmp-"),
            "unexpected file {name} left in the folder"
        );
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            writes_plaintext || !String::from_utf8_lossy(&bytes).contains("Canary-"),
            "plaintext left in {name}"
        );
        out.push(name);
    }
    out
}

/// Run `args` on a fresh `f.yaml` (`initial`) `RUNS` times, killing it at a random instant.
fn series(env: &Env, initial: &[u8], args: &[&str], allowed: &[&str]) {
    series_of(env, initial, args, allowed, false);
}

/// How `f.yaml` reaches the file the command writes.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// `f.yaml` is the file.
    Name,
    /// `f.yaml -> envs/real.yaml`.
    Symlink,
    /// `f.yaml` and `envs/real.yaml` are hard links of one file.
    HardLink,
}

fn series_of(env: &Env, initial: &[u8], args: &[&str], allowed: &[&str], writes_plaintext: bool) {
    series_via(env, initial, args, allowed, writes_plaintext, Via::Name);
}

fn series_via(
    env: &Env,
    initial: &[u8],
    args: &[&str],
    allowed: &[&str],
    writes_plaintext: bool,
    via: Via,
) {
    let real = env.path("envs/real.yaml");
    if via != Via::Name {
        std::fs::create_dir(env.path("envs")).unwrap();
        std::fs::write(&real, initial).unwrap();
        if via == Via::Symlink {
            std::os::unix::fs::symlink("envs/real.yaml", env.path("f.yaml")).unwrap();
        } else {
            std::fs::hard_link(&real, env.path("f.yaml")).unwrap();
        }
    }
    // `std::fs::write` follows the link and keeps the inode: the layout stays as set up.
    let check_layout = || match via {
        Via::Name => {}
        Via::Symlink => {
            let link = std::fs::symlink_metadata(env.path("f.yaml")).unwrap();
            assert!(
                link.file_type().is_symlink(),
                "{args:?}: the link was replaced"
            );
        }
        Via::HardLink => {
            // The next command that reads the file finishes an interrupted rewrite.
            let _ = env
                .secrets()
                .args(["filestatus", "f.yaml"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            assert_eq!(
                std::fs::read(&real).unwrap(),
                std::fs::read(env.path("f.yaml")).unwrap(),
                "{args:?}: the hard links differ"
            );
            let nlink = std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(&real).unwrap());
            assert_eq!(nlink, 2, "{args:?}: the hard link was broken");
        }
    };
    let command = || {
        let mut cmd: Command = env.secrets_with_key();
        cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    };
    // How long an uninterrupted run takes, to spread the kills over it.
    std::fs::write(env.path("f.yaml"), initial).unwrap();
    let start = Instant::now();
    assert!(command().status().unwrap().success(), "{args:?} failed");
    let span = start.elapsed().as_micros() as u64 * 6 / 5 + 1;
    assert!(allowed.contains(&content(env).as_str()));
    let mut rng = rand::thread_rng();
    let mut killed = 0;
    let (mut changed, mut left) = (0, 0);
    for _ in 0..RUNS {
        std::fs::write(env.path("f.yaml"), initial).unwrap();
        let mut child = command().spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..span)));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        check_layout();
        let now = content(env);
        assert!(
            allowed.contains(&now.as_str()),
            "{args:?}: after a kill the file holds {now:?}"
        );
        left += leftovers(env, writes_plaintext).len();
        changed += usize::from(std::fs::read(env.path("f.yaml")).unwrap() != initial);
    }
    eprintln!(
        "{args:?}: {killed}/{RUNS} killed while running, {changed} files replaced, {left} temporary files left (span {span} us)"
    );
    assert!(
        killed > RUNS / 4,
        "{args:?}: only {killed} runs were killed"
    );
    // One more run completes and removes what the killed ones left.
    std::fs::write(env.path("f.yaml"), initial).unwrap();
    assert!(command().status().unwrap().success());
    assert_eq!(
        leftovers(env, writes_plaintext),
        Vec::<String>::new(),
        "{args:?}"
    );
}

fn encrypted(env: &Env, plain: &str) -> Vec<u8> {
    env.write("p.yaml", plain);
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "p.yaml"]));
    std::fs::remove_file(env.path("p.yaml")).unwrap();
    enc
}

#[test]
fn set_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    series(
        &env,
        &old,
        &["set", "f.yaml", "[\"secret\"]", "Canary-new-Q7x"],
        &[OLD, NEW],
    );
}

#[test]
fn set_through_a_symlink_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    let args = ["set", "f.yaml", "[\"secret\"]", "Canary-new-Q7x"];
    series_via(&env, &old, &args, &[OLD, NEW], false, Via::Symlink);
}

#[test]
fn set_through_a_hard_link_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    let args = ["set", "f.yaml", "[\"secret\"]", "Canary-new-Q7x"];
    series_via(&env, &old, &args, &[OLD, NEW], false, Via::HardLink);
}

#[test]
fn encrypt_in_place_of_a_hard_link_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let rule = format!("creation_rules:\n  - age: {}\n", env.recipient);
    env.write(".sops.yaml", rule);
    let args = ["encrypt", "-i", "f.yaml"];
    series_via(&env, OLD.as_bytes(), &args, &[OLD], false, Via::HardLink);
}

#[test]
fn encrypt_in_place_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let rule = format!("creation_rules:\n  - age: {}\n", env.recipient);
    env.write(".sops.yaml", rule);
    series(&env, OLD.as_bytes(), &["encrypt", "-i", "f.yaml"], &[OLD]);
}

#[test]
fn rotate_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    series(&env, &old, &["rotate", "f.yaml"], &[OLD]);
}

#[test]
fn updatekeys_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    let other = recipient_of(&crate::util::root().join("fixtures/keys/group1.txt"));
    let rule = format!("creation_rules:\n  - age: {},{other}\n", env.recipient);
    env.write(".sops.yaml", rule);
    series(&env, &old, &["updatekeys", "-y", "f.yaml"], &[OLD]);
}

/// `decrypt -i` writes plaintext. On Linux it goes to an unnamed (O_TMPFILE) file, so a kill
/// leaves nothing, except between naming the file and renaming it (microseconds): then a 0600
/// `.secrets-tmp-<pid>-*` file is left, and the next write in the folder removes it.
#[test]
fn decrypt_in_place_killed_at_random_leaves_old_or_new() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    series_of(&env, &old, &["decrypt", "-i", "f.yaml"], &[OLD], true);
}

/// `exec-file --no-fifo` killed with SIGKILL while its command runs: the helper it started
/// removes the private folder holding the plaintext file.
#[test]
fn exec_file_no_fifo_killed_leaves_no_plaintext_file() {
    let env = Env::new();
    let old = encrypted(&env, OLD);
    std::fs::write(env.path("f.yaml"), old).unwrap();
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = env
        .secrets_with_key()
        .env("XDG_RUNTIME_DIR", &tmp)
        .args(["exec-file", "--no-fifo", "f.yaml", "--", "sh", "-c"])
        .arg("cat {} > /dev/null; touch started; exec sleep 30")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let folder_count = || std::fs::read_dir(&tmp).unwrap().count();
    for _ in 0..200 {
        if env.path("started").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(env.path("started").exists(), "the command did not start");
    assert_eq!(
        folder_count(),
        1,
        "the private folder exists while the command runs"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    for _ in 0..200 {
        if folder_count() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        folder_count(),
        0,
        "the plaintext folder outlived the killed process"
    );
}
