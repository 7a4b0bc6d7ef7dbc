//! Interoperability with the reference sops 3.11 binary, both ways.

use crate::util::{Env, assert_same, fixture, ok, sops_data_of_encrypted, sops_data_of_plaintext};

/// (encrypted file, plaintext file, sops encrypt flags) from fixtures/sops/MANIFEST.
fn manifest() -> Vec<(String, String, Vec<String>)> {
    std::fs::read_to_string(fixture("sops/MANIFEST"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            let enc = words.next().unwrap();
            let plain = words.next().unwrap();
            let flags = words.filter(|w| !w.starts_with('@')).collect();
            (enc, plain, flags)
        })
        .collect()
}

/// Files sops wrote decrypt with ours to the data sops decrypts them to, MAC checked.
#[test]
fn we_decrypt_every_file_sops_wrote() {
    let env = Env::new();
    let entries = manifest();
    assert!(entries.len() >= 12);
    for (enc, _plain, _) in entries {
        if enc.starts_with("shamir") {
            continue; // needs the group keys: tests/cli/groups.rs
        }
        let enc_path = fixture(&format!("sops/{enc}"));
        let ours = ok(env.secrets_with_key().arg("decrypt").arg(&enc_path));
        let sops_plain = ok(env.sops().arg("decrypt").arg(&enc_path));
        if enc.ends_with(".env") || enc.ends_with(".bin") {
            assert_same(&ours, &sops_plain, &format!("{enc}: ours vs sops decrypt"));
            continue;
        }
        let ours_file = env.write(&format!("ours-{}", enc.replace(".sops", "")), &ours);
        assert_same(
            &sops_data_of_plaintext(&env, &ours_file),
            &sops_data_of_encrypted(&env, &enc_path),
            &format!("{enc}: the data of our decryption vs sops's"),
        );
    }
}

/// Files we write decrypt with sops (MAC valid) to the data of sops's own encryption.
#[test]
fn sops_decrypts_every_file_we_write() {
    let env = Env::new();
    for (enc, plain, flags) in manifest() {
        if flags.is_empty() && enc.starts_with("maconly") {
            continue;
        }
        let plain_path = fixture(&format!("sops/{plain}"));
        let ours = ok(env
            .secrets()
            .args(["encrypt", "--age", &env.recipient])
            .args(&flags)
            .arg(&plain_path));
        let ours_path = env.write(&format!("ours-{enc}"), &ours);
        if enc.ends_with(".bin") {
            let back = ok(env.sops().arg("decrypt").arg(&ours_path));
            assert_same(
                &back,
                &std::fs::read(&plain_path).unwrap(),
                "binary: sops decrypt of ours",
            );
            continue;
        }
        let sops_enc = ok(env
            .sops()
            .args(["encrypt", "--age", &env.recipient])
            .args(&flags)
            .arg(&plain_path));
        let sops_path = env.write(&format!("theirs-{enc}"), &sops_enc);
        assert_same(
            &sops_data_of_encrypted(&env, &ours_path),
            &sops_data_of_encrypted(&env, &sops_path),
            &format!("{enc} ({flags:?}): sops decrypt of ours vs of its own"),
        );
    }
    // mac_only_encrypted: sops checks our MAC computed over encrypted values only.
    let ours = ok(env
        .secrets()
        .args([
            "encrypt",
            "--age",
            &env.recipient,
            "--encrypted-regex",
            "^(password|token)$",
            "--mac-only-encrypted",
        ])
        .arg(fixture("sops/basic.env")));
    let ours_path = env.write("maconly-ours.env", ours);
    ok(env.sops().arg("decrypt").arg(&ours_path));
}
