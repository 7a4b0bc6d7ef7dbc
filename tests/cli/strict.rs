//! `--strict`: refuse what the sops MAC does not authenticate (encrypted comments that do not
//! decrypt, nulls and empty values, plaintext of mac_only_encrypted files, `:` in keys), while
//! the default stays as permissive as sops.

use crate::util::{Env, fixture, ok, run, stderr};

/// sops's basic fixture without its `empty: ""` and `nothing: null` lines, which the MAC does
/// not cover (so the file still decrypts with its MAC, and passes --strict).
fn strict_clean_sops_file(env: &Env) -> String {
    let text = std::fs::read_to_string(fixture("sops/basic.sops.yaml")).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("empty:") && !l.starts_with("nothing:"))
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("f.yaml", &text);
    text
}

/// Decrypt `f.yaml` without and with --strict: the first must succeed; the second's exit code
/// and stderr are returned.
fn lenient_ok_strict_fails(env: &Env) -> String {
    ok(env.secrets_with_key().args(["decrypt", "f.yaml"]));
    let out = run(
        env.secrets_with_key()
            .args(["decrypt", "--strict", "f.yaml"]),
        18,
    );
    assert!(out.stdout.is_empty(), "no plaintext when refused");
    stderr(&out)
}

#[test]
fn an_untouched_sops_file_passes_strict_with_the_same_output() {
    let env = Env::new();
    strict_clean_sops_file(&env);
    let plain = ok(env.secrets_with_key().args(["decrypt", "f.yaml"]));
    let strict = ok(env
        .secrets_with_key()
        .args(["decrypt", "--strict", "f.yaml"]));
    assert_eq!(plain, strict);
    assert!(
        String::from_utf8(strict)
            .unwrap()
            .contains("# Application settings")
    );
}

#[test]
fn a_tampered_encrypted_comment_decrypts_as_sops_does_but_fails_strict() {
    let env = Env::new();
    let text = strict_clean_sops_file(&env);
    // Flip one byte of the first comment's ciphertext: sops (and we, by default) keep such a
    // comment verbatim; the MAC does not cover comments.
    let at = text.find("#ENC[AES256_GCM,data:").unwrap() + "#ENC[AES256_GCM,data:".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    env.write("f.yaml", &bytes);
    let err = lenient_ok_strict_fails(&env);
    assert!(err.contains("encrypted comment"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn an_encrypted_comment_moved_to_another_mapping_fails_strict() {
    let env = Env::new();
    let text = strict_clean_sops_file(&env);
    // Move the comment that sits inside `app` (AAD `app:`) to the top level (AAD `:`).
    let inner = text
        .lines()
        .find(|l| l.trim_start().starts_with("#ENC[") && l.starts_with(' '))
        .unwrap()
        .to_string();
    let moved = text.replace(&format!("{inner}\n"), "");
    let moved = format!("{}\n{moved}", inner.trim_start());
    env.write("f.yaml", moved);
    let err = lenient_ok_strict_fails(&env);
    assert!(err.contains("encrypted comment"), "{err}");
}

#[test]
fn injected_nulls_and_empty_values_keep_the_mac_but_fail_strict() {
    for injected in ["injected: null\n", "injected: \"\"\n"] {
        let env = Env::new();
        let text = strict_clean_sops_file(&env);
        let at = text.find("sops:\n").unwrap();
        env.write(
            "f.yaml",
            format!("{}{injected}{}", &text[..at], &text[at..]),
        );
        let err = lenient_ok_strict_fails(&env);
        assert!(err.contains("[\"injected\"]"), "{err}");
        assert!(err.contains("covered by the MAC"), "{err}");
    }
}

#[test]
fn plaintext_values_of_a_mac_only_encrypted_file_fail_strict() {
    let env = Env::new();
    let text = std::fs::read_to_string(fixture("sops/maconly.sops.yaml")).unwrap();
    // A plaintext value changed by hand: the MAC (over encrypted values only) still matches.
    env.write("f.yaml", text.replace("port: 8080", "port: 9999"));
    let err = lenient_ok_strict_fails(&env);
    assert!(err.contains("mac_only_encrypted"), "{err}");
}

#[test]
fn an_encrypted_value_under_a_key_with_a_colon_fails_strict() {
    let env = Env::new();
    env.write("p.yaml", "\"a:b\": Canary-colon\n");
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "p.yaml"]));
    env.write("f.yaml", enc);
    let err = lenient_ok_strict_fails(&env);
    assert!(err.contains("[\"a:b\"]"), "{err}");
    assert!(!err.contains("Canary-colon"), "{err}");
}

#[test]
fn exec_commands_honour_strict_and_do_not_run_the_command() {
    let env = Env::new();
    let text = strict_clean_sops_file(&env);
    env.write("f.yaml", text.replace("sops:\n", "injected: null\nsops:\n"));
    for cmd in ["exec-env", "exec-file"] {
        let out = run(
            env.secrets_with_key()
                .args([cmd, "--strict", "f.yaml", "--", "touch", "ran"]),
            18,
        );
        assert!(stderr(&out).contains("--strict"), "{}", stderr(&out));
        assert!(!env.path("ran").exists(), "{cmd} ran the command");
    }
    ok(env
        .secrets_with_key()
        .args(["exec-file", "f.yaml", "--", "touch", "ran"]));
    assert!(env.path("ran").exists());
}

#[test]
fn strict_and_ignore_mac_do_not_go_together() {
    let env = Env::new();
    strict_clean_sops_file(&env);
    run(
        env.secrets_with_key()
            .args(["decrypt", "--strict", "--ignore-mac", "f.yaml"]),
        2,
    );
}
