use std::os::unix::fs::PermissionsExt;

use crate::util::{Env, ok, run, stderr};

#[test]
fn keygen_writes_a_private_key_file_and_prints_the_public_key_on_stderr() {
    let env = Env::new();
    let out = run(env.secrets().args(["keygen", "-o", "new.txt"]), 0);
    assert!(out.stdout.is_empty());
    let public = stderr(&out)
        .trim()
        .strip_prefix("Public key: ")
        .expect("public key on stderr")
        .to_string();
    assert!(public.starts_with("age1"));
    let path = env.path("new.txt");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("# public key: {public}\n")));
    assert!(text.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")));

    // The new identity decrypts what is encrypted for its public key.
    env.write("a.env", "A=1\n");
    let enc = ok(env.secrets().args(["encrypt", "--age", &public, "a.env"]));
    env.write("a.enc.env", enc);
    let dec = ok(env
        .secrets()
        .args(["--identity", "new.txt", "decrypt", "a.enc.env"]));
    assert_eq!(dec, b"A=1\n");
}

#[test]
fn keygen_never_overwrites_an_existing_file() {
    let env = Env::new();
    env.write("taken.txt", "keep me");
    let out = run(env.secrets().args(["keygen", "-o", "taken.txt"]), 14);
    assert!(stderr(&out).contains("taken.txt"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(env.path("taken.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn filestatus_reports_encrypted_and_plain_files_like_sops() {
    let env = Env::new();
    env.write("a.env", "A=1\n");
    assert_eq!(
        ok(env.secrets().args(["filestatus", "a.env"])),
        b"{\"encrypted\":false}\n"
    );
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "a.env"]));
    env.write("b.env", enc);
    assert_eq!(
        ok(env.secrets().args(["filestatus", "b.env"])),
        b"{\"encrypted\":true}\n"
    );
}
