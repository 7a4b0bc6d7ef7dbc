//! Key groups with Shamir's secret sharing: three groups, any two recover the data key, with
//! files exchanged both ways with sops.

use crate::util::{Env, assert_same, fixture, ok, run, stderr};

fn group_key(i: usize) -> String {
    std::fs::read_to_string(fixture(&format!("keys/group{i}.txt"))).unwrap()
}

fn group_recipient(i: usize) -> String {
    group_key(i)
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .trim()
        .to_string()
}

fn config(env: &Env) {
    let groups: String = (1..=3)
        .map(|i| format!("      - age: [{}]\n", group_recipient(i)))
        .collect();
    env.write(
        ".sops.yaml",
        format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n{groups}"),
    );
}

#[test]
fn any_two_of_three_groups_decrypt_and_one_alone_says_what_is_missing() {
    let env = Env::new();
    config(&env);
    let plain = "USER=admin\nPASSWORD=two-of-three\n";
    env.write("app.env", plain);
    let enc = String::from_utf8(ok(env.secrets().args(["encrypt", "app.env"]))).unwrap();
    assert!(enc.contains("sops_shamir_threshold=2\n"), "{enc}");
    assert!(
        enc.contains("sops_key_groups__list_2__map_age__list_0__map_enc="),
        "{enc}"
    );
    env.write("enc.env", &enc);
    for (a, b) in [(1, 2), (1, 3), (2, 3)] {
        let keys = format!("{}{}", group_key(a), group_key(b));
        let out = ok(env
            .secrets()
            .env("SOPS_AGE_KEY", &keys)
            .args(["decrypt", "enc.env"]));
        assert_same(&out, plain.as_bytes(), &format!("groups {a} and {b}"));
        // sops reads our key groups too.
        let theirs = ok(env
            .sops()
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("SOPS_AGE_KEY", &keys)
            .args(["decrypt", "enc.env"]));
        assert_same(
            &theirs,
            plain.as_bytes(),
            &format!("sops with groups {a} and {b}"),
        );
    }
    let out = run(
        env.secrets()
            .env("SOPS_AGE_KEY", group_key(2))
            .args(["decrypt", "enc.env"]),
        8,
    );
    let err = stderr(&out);
    assert!(
        err.contains("only 1 of the 3 key groups could be decrypted, and 2 are needed"),
        "{err}"
    );
}

#[test]
fn we_decrypt_a_key_group_file_sops_wrote() {
    let env = Env::new();
    let enc = fixture("sops/shamir.sops.yaml");
    let keys = format!("{}{}", group_key(1), group_key(3));
    let ours = ok(env
        .secrets()
        .env("SOPS_AGE_KEY", &keys)
        .arg("decrypt")
        .arg(&enc));
    let text = String::from_utf8(ours).unwrap();
    assert!(text.contains("password: three-groups-two-needed"), "{text}");
}

#[test]
fn groups_add_and_delete_resplit_the_same_data_key() {
    let env = Env::new();
    let plain = "USER=admin\nPASSWORD=groups\n";
    env.write("a.env", plain);
    ok(env
        .secrets()
        .args(["encrypt", "--age", &group_recipient(1), "-i", "a.env"]));
    let values = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("sops_"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let before = std::fs::read_to_string(env.path("a.env")).unwrap();
    let g1 = group_key(1);
    ok(env.secrets().env("SOPS_AGE_KEY", &g1).args([
        "groups",
        "add",
        "--file",
        "a.env",
        "--age",
        &group_recipient(2),
    ]));
    // Two groups, both needed now: the next change needs both keys.
    let g12 = format!("{g1}{}", group_key(2));
    ok(env.secrets().env("SOPS_AGE_KEY", &g12).args([
        "groups",
        "add",
        "--file",
        "a.env",
        "--age",
        &group_recipient(3),
        "--shamir-secret-sharing-threshold",
        "2",
    ]));
    let after = std::fs::read_to_string(env.path("a.env")).unwrap();
    assert_eq!(
        values(&after),
        values(&before),
        "values must keep their ciphertexts"
    );
    assert!(after.contains("sops_shamir_threshold=2\n"), "{after}");
    let two = format!("{}{}", group_key(2), group_key(3));
    assert_same(
        &ok(env
            .secrets()
            .env("SOPS_AGE_KEY", &two)
            .args(["decrypt", "a.env"])),
        plain.as_bytes(),
        "groups 2+3",
    );
    let theirs = ok(env
        .sops()
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("SOPS_AGE_KEY", &two)
        .args(["decrypt", "a.env"]));
    assert_same(&theirs, plain.as_bytes(), "sops with groups 2+3");
    // Delete group 0: two groups remain, both needed.
    ok(env
        .secrets()
        .env("SOPS_AGE_KEY", &two)
        .args(["groups", "delete", "--file", "a.env", "0"]));
    run(
        env.secrets()
            .env("SOPS_AGE_KEY", group_key(2))
            .args(["decrypt", "a.env"]),
        8,
    );
    assert_same(
        &ok(env
            .secrets()
            .env("SOPS_AGE_KEY", &two)
            .args(["decrypt", "a.env"])),
        plain.as_bytes(),
        "after delete",
    );
    // Below the threshold is refused.
    let out = run(
        env.secrets()
            .env("SOPS_AGE_KEY", &two)
            .args(["groups", "delete", "--file", "a.env", "5"]),
        2,
    );
    assert!(stderr(&out).contains("no key group 5"), "{}", stderr(&out));
}
