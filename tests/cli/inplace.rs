//! In-place writes that respect the file (issue 20): every writer goes through symbolic links
//! (relative, absolute, chains, into another folder) to the real file and writes beside it; a
//! file with other hard links is rewritten in place (same inode, every name sees the new bytes);
//! owner, group and mode are kept (the tests run as root: the files belong to nobody:nogroup);
//! read-only files and folders are refused; dangling links and loops are clear errors; no
//! plaintext is left under any name.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Env, ok, run, stderr};

const PLAIN: &str = "a: 1\nsecret: Canary-plain-Z9\n";

/// nobody:nogroup on Debian; the numbers are what the tests check.
fn nobody() -> (u32, u32) {
    (65534, 65534)
}

/// The real file `envs/prod.yaml` (owned by nobody:nogroup, mode 0640) and its other names:
/// `rel.yaml -> envs/prod.yaml`, `abs.yaml -> /abs/.../envs/prod.yaml`, `chain.yaml -> rel.yaml`
/// and, with `hard`, the hard link `hard.yaml`.
struct Layout {
    env: Env,
    real: PathBuf,
    names: Vec<PathBuf>,
    links: Vec<PathBuf>,
    hard: bool,
}

impl Layout {
    fn new(content: &[u8], hard: bool) -> Layout {
        let env = Env::new();
        std::fs::create_dir(env.path("envs")).unwrap();
        let real = env.path("envs/prod.yaml");
        std::fs::write(&real, content).unwrap();
        std::os::unix::fs::symlink("envs/prod.yaml", env.path("rel.yaml")).unwrap();
        std::os::unix::fs::symlink(&real, env.path("abs.yaml")).unwrap();
        std::os::unix::fs::symlink("rel.yaml", env.path("chain.yaml")).unwrap();
        let links = vec![
            env.path("rel.yaml"),
            env.path("abs.yaml"),
            env.path("chain.yaml"),
        ];
        let mut names = vec![real.clone()];
        names.extend(links.iter().cloned());
        if hard {
            std::fs::hard_link(&real, env.path("hard.yaml")).unwrap();
            names.push(env.path("hard.yaml"));
        }
        let (uid, gid) = nobody();
        std::os::unix::fs::chown(&real, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Two recipients, so that `updatekeys` on a file encrypted for one has work to do.
        let other = std::fs::read_to_string(crate::util::root().join("fixtures/keys/group1.txt"))
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("# public key: ")
                    .map(|k| k.trim().to_string())
            })
            .unwrap();
        let rule = format!("creation_rules:\n  - age: {},{other}\n", env.recipient);
        env.write(".sops.yaml", rule);
        Layout {
            env,
            real,
            names,
            links,
            hard,
        }
    }

    fn ino(&self) -> u64 {
        std::fs::metadata(&self.real).unwrap().ino()
    }

    /// After a write: the same bytes under every name, links still links to the real file,
    /// owner, group and mode kept, the inode kept for a hard-linked file, nothing else left in
    /// the folders. Returns the bytes.
    fn check_after(&self, ino_before: u64) -> Vec<u8> {
        let bytes = std::fs::read(&self.real).unwrap();
        for name in &self.names {
            assert_eq!(
                std::fs::read(name).unwrap(),
                bytes,
                "{} differs from the real file",
                name.display()
            );
        }
        for link in &self.links {
            assert!(
                std::fs::symlink_metadata(link)
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{} is no longer a link",
                link.display()
            );
        }
        let meta = std::fs::metadata(&self.real).unwrap();
        assert_eq!((meta.uid(), meta.gid()), nobody(), "owner and group kept");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640, "mode kept");
        if self.hard {
            assert_eq!(meta.ino(), ino_before, "a hard-linked file keeps its inode");
            assert_eq!(meta.nlink(), 2);
        }
        for dir in [self.env.dir.path(), &self.env.path("envs")] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(
                    !name.starts_with(".secrets-"),
                    "{name} left in {}",
                    dir.display()
                );
            }
        }
        bytes
    }

    fn decrypt(&self, name: &str) -> String {
        String::from_utf8(ok(self.env.secrets_with_key().args(["decrypt", name]))).unwrap()
    }

    /// No file anywhere in the test folder holds the plaintext canary.
    fn no_plaintext(&self) {
        fn walk(dir: &Path) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    walk(&entry.path());
                } else if kind.is_file() {
                    let bytes = std::fs::read(entry.path()).unwrap();
                    assert!(
                        !String::from_utf8_lossy(&bytes).contains("Canary-"),
                        "plaintext in {}",
                        entry.path().display()
                    );
                }
            }
        }
        walk(self.env.dir.path());
    }
}

fn encrypted(plain: &str) -> Vec<u8> {
    let env = Env::new();
    env.write("p.yaml", plain);
    ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "p.yaml"]))
}

/// Run `args` (with the key) through `via`, on both layouts; check every name, then `expect`
/// on the plaintext read through `chain.yaml`.
fn through_links(
    initial: &[u8],
    args: &[&str],
    via: &str,
    setup: impl Fn(&mut Command),
    expect: impl Fn(&Layout),
) {
    for hard in [false, true] {
        let l = Layout::new(initial, hard);
        let before = l.ino();
        let mut cmd = l.env.secrets_with_key();
        setup(&mut cmd);
        // hard.yaml exists only in the hard-linked layout.
        let via = if via == "hard.yaml" && !hard {
            "rel.yaml"
        } else {
            via
        };
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "FILE" { via } else { a })
            .collect();
        ok(cmd.args(&args));
        let bytes = l.check_after(before);
        assert_ne!(bytes, initial, "{args:?} changed nothing");
        expect(&l);
    }
}

#[test]
fn encrypt_in_place_through_links_encrypts_the_target() {
    for via in ["rel.yaml", "abs.yaml", "chain.yaml", "envs/prod.yaml"] {
        through_links(
            PLAIN.as_bytes(),
            &["encrypt", "-i", "FILE"],
            via,
            |_| {},
            |l| {
                l.no_plaintext();
                assert_eq!(l.decrypt("chain.yaml"), PLAIN);
            },
        );
    }
}

#[test]
fn encrypt_in_place_of_a_hard_link_rewrites_every_name() {
    through_links(
        PLAIN.as_bytes(),
        &["encrypt", "-i", "FILE"],
        "hard.yaml",
        |_| {},
        |l| {
            l.no_plaintext();
            assert_eq!(l.decrypt("chain.yaml"), PLAIN);
        },
    );
}

#[test]
fn decrypt_in_place_through_a_link_writes_only_the_target() {
    through_links(
        &encrypted(PLAIN),
        &["decrypt", "-i", "FILE"],
        "chain.yaml",
        |_| {},
        |l| assert_eq!(std::fs::read_to_string(&l.real).unwrap(), PLAIN),
    );
}

#[test]
fn set_unset_rotate_updatekeys_groups_through_links() {
    let enc = encrypted(PLAIN);
    let cases: [(&[&str], &str); 5] = [
        (
            &["set", "FILE", "[\"secret\"]", "\"Canary-new-Z9\""],
            "a: 1\nsecret: Canary-new-Z9\n",
        ),
        (&["unset", "FILE", "[\"a\"]"], "secret: Canary-plain-Z9\n"),
        (&["rotate", "FILE"], PLAIN),
        (&["updatekeys", "-y", "FILE"], PLAIN),
        (
            &["groups", "add", "--file", "FILE", "--age", "RECIPIENT"],
            PLAIN,
        ),
    ];
    let recipient = Env::new().recipient;
    for (args, want) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "RECIPIENT" {
                    recipient.as_str()
                } else {
                    a
                }
            })
            .collect();
        for via in ["chain.yaml", "hard.yaml"] {
            through_links(
                &enc,
                &args,
                via,
                |_| {},
                |l| {
                    assert_eq!(l.decrypt("abs.yaml"), want, "{args:?}");
                    l.no_plaintext();
                },
            );
        }
    }
}

#[test]
fn edit_and_generate_through_links() {
    let enc = encrypted(PLAIN);
    let probe = Env::new();
    let ed = probe.write(
        "ed.sh",
        "#!/bin/sh\nprintf 'a: 2\\nsecret: Canary-ed-Z9\\n' > \"$1\"\n",
    );
    std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o755)).unwrap();
    through_links(
        &enc,
        &["edit", "FILE"],
        "chain.yaml",
        |c| {
            c.env("EDITOR", &ed);
        },
        |l| {
            assert_eq!(l.decrypt("rel.yaml"), "a: 2\nsecret: Canary-ed-Z9\n");
            l.no_plaintext();
        },
    );
    through_links(
        &enc,
        &["generate", "FILE", "[\"token\"]", "--type", "token"],
        "abs.yaml",
        |_| {},
        |l| {
            assert!(l.decrypt("chain.yaml").contains("token: "));
            l.no_plaintext();
        },
    );
}

#[test]
fn dangling_links_and_loops_are_clear_errors() {
    let env = Env::new();
    std::os::unix::fs::symlink("missing/f.yaml", env.path("dangling.yaml")).unwrap();
    std::os::unix::fs::symlink("loop2.yaml", env.path("loop1.yaml")).unwrap();
    std::os::unix::fs::symlink("loop1.yaml", env.path("loop2.yaml")).unwrap();
    for args in [
        vec!["encrypt", "-i", "--age", &env.recipient, "dangling.yaml"],
        vec!["set", "dangling.yaml", "[\"a\"]", "1"],
    ] {
        let out = run(env.secrets_with_key().args(&args), 3);
        assert!(
            stderr(&out).contains("dangling.yaml is a dangling symbolic link"),
            "{}",
            stderr(&out)
        );
    }
    let out = run(
        env.secrets_with_key()
            .args(["encrypt", "-i", "--age", &env.recipient, "loop1.yaml"]),
        3,
    );
    assert!(
        stderr(&out).contains("symbolic link loop"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("missing").exists());
    assert_eq!(
        std::fs::read_link(env.path("dangling.yaml")).unwrap(),
        Path::new("missing/f.yaml")
    );
}

#[test]
fn read_only_files_are_refused_unless_forced() {
    let enc = encrypted(PLAIN);
    for hard in [false, true] {
        let l = Layout::new(&enc, hard);
        std::fs::set_permissions(&l.real, std::fs::Permissions::from_mode(0o444)).unwrap();
        let before = l.ino();
        let set = |force: bool| {
            let mut cmd = l.env.secrets_with_key();
            cmd.args(["set", "rel.yaml", "[\"a\"]", "2"]);
            if force {
                cmd.arg("--force");
            }
            cmd
        };
        let out = run(&mut set(false), 4);
        assert!(
            stderr(&out).contains("read-only (mode 0444)"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--force"));
        assert_eq!(
            std::fs::read(&l.real).unwrap(),
            enc,
            "refused before any work"
        );
        ok(&mut set(true));
        let meta = std::fs::metadata(&l.real).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o444);
        assert_eq!((meta.uid(), meta.gid()), nobody());
        if hard {
            assert_eq!(meta.ino(), before);
            assert_eq!(
                std::fs::read(l.env.path("hard.yaml")).unwrap(),
                std::fs::read(&l.real).unwrap()
            );
        }
        assert_eq!(l.decrypt("chain.yaml"), "a: 2\nsecret: Canary-plain-Z9\n");
    }
}

/// A folder the user cannot write in is refused before any work. Root writes anywhere, so the
/// test drops to nobody for the command (the tests run as root here and in CI).
#[test]
fn a_folder_without_write_permission_is_refused() {
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        != 0
    {
        return;
    }
    let env = Env::new();
    let dir = env.path("locked");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("f.yaml");
    std::fs::write(&file, PLAIN).unwrap();
    let (uid, gid) = nobody();
    std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for p in [env.dir.path(), env.path("home").as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = env.secrets();
    {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    let out = run(
        cmd.args(["encrypt", "-i", "--age", &env.recipient, "locked/f.yaml"]),
        4,
    );
    assert!(
        stderr(&out).contains("cannot create files in the folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), PLAIN);
}

/// A hard-linked file whose in-place rewrite through `hard.yaml` was interrupted (a backup left
/// beside that name by a dead process) gets its old content back from the next command that
/// reads it through a name in that folder.
#[test]
fn an_interrupted_in_place_rewrite_is_rolled_back_by_the_next_read() {
    let enc = encrypted(PLAIN);
    let l = Layout::new(&enc, true);
    let meta = std::fs::metadata(&l.real).unwrap();
    let backup = l.env.path(&format!(
        ".secrets-restore-{}-{}-{}",
        meta.dev(),
        meta.ino(),
        i32::MAX
    ));
    std::fs::write(&backup, &enc).unwrap();
    // Half of the new content written over the old: what a kill mid-copy leaves.
    let mut mixed = enc.clone();
    mixed.truncate(enc.len() / 2);
    mixed.extend_from_slice(b"garbage");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&l.real)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &mixed))
        .unwrap();
    assert_eq!(l.decrypt("hard.yaml"), PLAIN);
    assert!(!backup.exists());
    assert_eq!(std::fs::read(&l.real).unwrap(), enc);
    assert_eq!(std::fs::read(l.env.path("hard.yaml")).unwrap(), enc);
}

/// An extended attribute and a POSIX ACL (the `system.posix_acl_access` attribute: owner rw,
/// user nobody rw, group r, mask rw, other r) survive a rewrite by rename.
#[test]
fn extended_attributes_and_acls_are_kept() {
    let l = Layout::new(&encrypted(PLAIN), false);
    let acl: Vec<u8> = [
        &[2u8, 0, 0, 0][..],
        &[1, 0, 6, 0, 255, 255, 255, 255],
        &[2, 0, 6, 0, 0xfe, 0xff, 0, 0],
        &[4, 0, 4, 0, 255, 255, 255, 255],
        &[0x10, 0, 6, 0, 255, 255, 255, 255],
        &[0x20, 0, 4, 0, 255, 255, 255, 255],
    ]
    .concat();
    let attrs: [(&str, &[u8]); 2] = [
        ("user.secrets-note", b"kept"),
        ("system.posix_acl_access", &acl),
    ];
    for (name, value) in attrs {
        rustix::fs::setxattr(&l.real, name, value, rustix::fs::XattrFlags::empty())
            .unwrap_or_else(|e| panic!("cannot set {name} in the test folder: {e}"));
    }
    let before = l.ino();
    ok(l.env
        .secrets_with_key()
        .args(["set", "chain.yaml", "[\"a\"]", "3"]));
    assert_ne!(
        l.ino(),
        before,
        "a file with one name is replaced by rename"
    );
    for (name, value) in attrs {
        let mut buf = vec![0u8; 256];
        let n = rustix::fs::getxattr(&l.real, name, &mut buf[..])
            .unwrap_or_else(|e| panic!("{name} lost: {e}"));
        assert_eq!(&buf[..n], value, "{name}");
    }
    assert_eq!(l.decrypt("rel.yaml"), "a: 3\nsecret: Canary-plain-Z9\n");
}

/// A user who may write a file but not give a file its owner (nobody, writing root's 0666 file
/// in a 0777 folder) is refused (exit 4) and the file is untouched; with --force the file is
/// written owned by that user.
#[test]
fn an_owner_that_cannot_be_kept_is_an_error_unless_forced() {
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        != 0
    {
        return;
    }
    let env = Env::new();
    let dir = env.path("shared");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("f.yaml");
    std::fs::write(&file, PLAIN).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    for p in [env.dir.path(), env.path("home").as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (uid, gid) = nobody();
    let encrypt = |force: bool| {
        use std::os::unix::process::CommandExt;
        let mut cmd = env.secrets();
        cmd.uid(uid).gid(gid);
        cmd.args(["encrypt", "-i", "--age", &env.recipient, "shared/f.yaml"]);
        if force {
            cmd.arg("--force");
        }
        cmd
    };
    let out = run(&mut encrypt(false), 4);
    assert!(
        stderr(&out).contains("cannot keep the owner 0:0"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), PLAIN);
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1, "nothing left beside the file");
    ok(&mut encrypt(true));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);
    assert!(!std::fs::read_to_string(&file).unwrap().contains("Canary-"));
}
