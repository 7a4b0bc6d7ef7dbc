//! `generate`, `check` and `list`: values from the CSPRNG written encrypted (and readable by
//! sops), typed policies in `.sops.yaml`, certificates made here (expired, valid, expiring, a
//! chain), and the CI gate.

use std::path::Path;

use crate::util::{Env, ok, run, sops_data_of_encrypted, stderr};

const DAY: i64 = 86_400;

fn now() -> i64 {
    secrets::time::now()
}

fn rules(env: &Env, extra: &str) -> String {
    let text = format!(
        "creation_rules:\n  - path_regex: secrets/\n    age: {}\n{extra}",
        env.recipient
    );
    env.write(".sops.yaml", &text);
    std::fs::create_dir_all(env.path("secrets")).unwrap();
    text
}

fn sops_json(env: &Env, file: &Path) -> serde_json::Value {
    serde_json::from_slice(&sops_data_of_encrypted(env, file)).unwrap()
}

fn generate(env: &Env, file: &str, path: &str, args: &[&str]) -> std::process::Output {
    run(
        env.secrets_with_key()
            .args(["generate", file, path])
            .args(args),
        0,
    )
}

#[test]
fn generate_creates_the_file_by_its_rule_and_sops_reads_it() {
    let env = Env::new();
    rules(
        &env,
        "secrets:\n  - key: db.password\n    type: password\n    min_length: 40\n    require: [lower, upper, digit, symbol]\n",
    );
    // No --type: the policy says password; its rules are met.
    let out = generate(&env, "secrets/app.yaml", r#"["db"]["password"]"#, &[]);
    let data = sops_json(&env, &env.path("secrets/app.yaml"));
    let pw = data["db"]["password"].as_str().unwrap().to_string();
    assert_eq!(pw.chars().count(), 40);
    assert!(pw.chars().any(|c| c.is_ascii_uppercase()) && pw.chars().any(|c| c.is_ascii_digit()));
    // Never shown: not on stdout, not on stderr, not in the file.
    assert!(out.stdout.is_empty());
    assert!(!stderr(&out).contains(&pw));
    assert!(
        !std::fs::read_to_string(env.path("secrets/app.yaml"))
            .unwrap()
            .contains(&pw)
    );

    // A second value keeps the first one's ciphertext.
    let before = std::fs::read_to_string(env.path("secrets/app.yaml")).unwrap();
    let first_line = before
        .lines()
        .find(|l| l.contains("password:"))
        .unwrap()
        .to_string();
    generate(&env, "secrets/app.yaml", r#"["api"]"#, &["--type", "token"]);
    let after = std::fs::read_to_string(env.path("secrets/app.yaml")).unwrap();
    assert!(after.contains(&first_line));
    let api = sops_json(&env, &env.path("secrets/app.yaml"))["api"].clone();
    assert_eq!(api.as_str().unwrap().len(), 32);

    // Regenerating needs --force, and is a rotation: the value changes.
    let refused = run(
        env.secrets_with_key()
            .args(["generate", "secrets/app.yaml", r#"["db"]["password"]"#]),
        2,
    );
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    generate(
        &env,
        "secrets/app.yaml",
        r#"["db"]["password"]"#,
        &["--force"],
    );
    let rotated = sops_json(&env, &env.path("secrets/app.yaml"));
    assert_ne!(rotated["db"]["password"].as_str().unwrap(), pw);
    assert_eq!(rotated["api"], api, "the other value is unchanged");

    // --show prints it.
    let shown = generate(
        &env,
        "secrets/app.yaml",
        r#"["pin"]"#,
        &["--type", "hex", "--length", "4", "--show"],
    );
    let shown = String::from_utf8(shown.stdout).unwrap();
    let data = sops_json(&env, &env.path("secrets/app.yaml"));
    assert_eq!(shown.trim(), data["pin"].as_str().unwrap());
}

#[test]
fn every_type_in_every_format_is_readable_by_sops() {
    let env = Env::new();
    rules(&env, "");
    for name in ["a.yaml", "a.json", "a.env", "a.ini", "a.toml"] {
        let file = format!("secrets/{name}");
        let key = if name.ends_with(".ini") {
            r#"["s"]["k"]"#
        } else {
            r#"["k"]"#
        };
        for kind in ["password", "token", "hex", "base64", "uuid"] {
            let path = key.replace("\"k\"", &format!("\"{kind}\""));
            generate(&env, &file, &path, &["--type", kind]);
        }
        if name.ends_with(".env") || name.ends_with(".ini") {
            // Single-line formats: a one-line age identity fits.
            generate(
                &env,
                &file,
                &key.replace("\"k\"", "\"age\""),
                &["--type", "age"],
            );
        } else {
            generate(
                &env,
                &file,
                key,
                &["--type", "ssh-ed25519", "--comment", "ci@example"],
            );
        }
        // sops has no TOML: that one is read back by our own decrypt.
        let text = if name.ends_with(".toml") {
            String::from_utf8(ok(env.secrets_with_key().args(["decrypt", &file]))).unwrap()
        } else {
            sops_json(&env, &env.path(&file)).to_string()
        };
        assert!(
            text.contains("AGE-SECRET-KEY-1") || text.contains("OPENSSH PRIVATE KEY"),
            "{name}: {text}"
        );
        assert!(!text.contains("\"k\": null"));
    }
    // Values have their shapes (YAML).
    let data = sops_json(&env, &env.path("secrets/a.yaml"));
    assert_eq!(data["uuid"].as_str().unwrap().len(), 36);
    assert_eq!(data["hex"].as_str().unwrap().len(), 64);
    // The public half is stored in clear next to the encrypted private half, and matches it.
    let file_text = std::fs::read_to_string(env.path("secrets/a.yaml")).unwrap();
    let public_line = file_text
        .lines()
        .find(|l| l.starts_with("k_unencrypted:"))
        .unwrap();
    assert!(public_line.contains("ssh-ed25519 AAAA") && public_line.contains("ci@example"));
    let private = ssh_key::PrivateKey::from_openssh(data["k"].as_str().unwrap()).unwrap();
    assert_eq!(
        private.public_key().to_openssh().unwrap(),
        data["k_unencrypted"].as_str().unwrap()
    );
}

#[test]
fn key_pairs_age_and_rsa_with_a_public_path() {
    let env = Env::new();
    rules(&env, "");
    let out = generate(
        &env,
        "secrets/k.yaml",
        r#"["age"]["identity"]"#,
        &[
            "--type",
            "age",
            "--public-path",
            r#"["age"]["recipient_unencrypted"]"#,
        ],
    );
    let recipient = String::from_utf8(out.stdout).unwrap();
    let data = sops_json(&env, &env.path("secrets/k.yaml"));
    let id: age::x25519::Identity = data["age"]["identity"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.to_public().to_string(), recipient.trim());
    assert_eq!(
        data["age"]["recipient_unencrypted"].as_str().unwrap(),
        recipient.trim()
    );

    generate(
        &env,
        "secrets/k.yaml",
        r#"["rsa"]"#,
        &["--type", "ssh-rsa", "--length", "2048"],
    );
    let data = sops_json(&env, &env.path("secrets/k.yaml"));
    let private = ssh_key::PrivateKey::from_openssh(data["rsa"].as_str().unwrap()).unwrap();
    assert_eq!(private.algorithm().as_str(), "ssh-rsa");
    assert!(
        data["rsa_unencrypted"]
            .as_str()
            .unwrap()
            .starts_with("ssh-rsa AAAA")
    );

    // A public path the file's rule would encrypt is refused.
    let bad = run(
        env.secrets_with_key().args([
            "generate",
            "secrets/k.yaml",
            r#"["x"]"#,
            "--type",
            "age",
            "--public-path",
            r#"["x_pub"]"#,
        ]),
        2,
    );
    assert!(stderr(&bad).contains("would encrypt"), "{}", stderr(&bad));
}

#[test]
fn sops_still_works_with_a_secrets_section() {
    let env = Env::new();
    let config = rules(
        &env,
        "secrets:\n  - path_regex: secrets/\n    key_regex: password$\n    type: password\n    rotate_every: 90d\n    expires: 2030-01-01\n    min_length: 12\n    require: [digit]\n  - key: tls.crt\n    type: certificate\n    warn_before: 30d\n",
    );
    env.write("secrets/plain.yaml", "db:\n  password: hunter2\n");
    let enc = ok(env
        .sops()
        .args(["--config", ".sops.yaml", "encrypt", "secrets/plain.yaml"]));
    env.write("secrets/enc.yaml", &enc);
    let data = sops_json(&env, &env.path("secrets/enc.yaml"));
    assert_eq!(data["db"]["password"], "hunter2");
    assert!(config.contains("secrets:"));
    // And our generate writes under the same config.
    generate(
        &env,
        "secrets/enc.yaml",
        r#"["db"]["password"]"#,
        &["--force"],
    );
    assert_ne!(
        sops_json(&env, &env.path("secrets/enc.yaml"))["db"]["password"],
        "hunter2"
    );
}

/// A PEM certificate (self-signed, or signed by `issuer`) valid from `from` to `until`
/// (Unix seconds, whole days).
fn cert(
    cn: &str,
    from: i64,
    until: i64,
    ca: bool,
    issuer: Option<&rcgen::Issuer<'_, rcgen::KeyPair>>,
) -> (String, rcgen::CertificateParams, rcgen::KeyPair) {
    let ymd = |t: i64| {
        let d = secrets::time::format_date(t);
        let p: Vec<&str> = d.split('-').collect();
        rcgen::date_time_ymd(
            p[0].parse().unwrap(),
            p[1].parse().unwrap(),
            p[2].parse().unwrap(),
        )
    };
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example")]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = ymd(from);
    params.not_after = ymd(until);
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = match issuer {
        Some(i) => params.signed_by(&key, i).unwrap().pem(),
        None => params.self_signed(&key).unwrap().pem(),
    };
    (pem, params, key)
}

fn set_value(env: &Env, file: &str, path: &str, value: &str) {
    let f = env.write("value.tmp", value);
    ok(env
        .secrets_with_key()
        .args(["set", file, path, "--string", "--value-file"])
        .arg(&f));
    std::fs::remove_file(f).unwrap();
}

fn check_json(env: &Env, args: &[&str], code: i32) -> serde_json::Value {
    let out = run(
        env.secrets_with_key().args(["check", "--json"]).args(args),
        code,
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn key_report<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["keys"].as_array().unwrap())
        .find(|k| k["key"] == key)
        .unwrap_or_else(|| panic!("{key} not in {report}"))
}

fn finding_rules(k: &serde_json::Value) -> Vec<String> {
    k["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn certificates_expired_valid_expiring_and_chains() {
    let env = Env::new();
    rules(
        &env,
        "secrets:\n  - key_regex: ^tls\\.\n    type: certificate\n    warn_before: 30d\n",
    );
    let t = now();
    let (expired, ..) = cert("old", t - 400 * DAY, t - 10 * DAY, false, None);
    let (valid, ..) = cert("good", t - 10 * DAY, t + 400 * DAY, false, None);
    let (expiring, ..) = cert("soon", t - 10 * DAY, t + 10 * DAY, false, None);
    // A chain: a valid leaf, then its CA, which expires soon.
    let (ca_pem, ca_params, ca_key) = cert("ca", t - 10 * DAY, t + 12 * DAY, true, None);
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let (leaf, ..) = cert("leaf", t - 10 * DAY, t + 200 * DAY, false, Some(&issuer));
    let chain = format!("{leaf}{ca_pem}");
    generate(
        &env,
        "secrets/tls.yaml",
        r#"["placeholder"]"#,
        &["--type", "token"],
    );
    for (k, v) in [
        ("expired", &expired),
        ("valid", &valid),
        ("expiring", &expiring),
        ("chain", &chain),
    ] {
        set_value(&env, "secrets/tls.yaml", &format!(r#"["tls"]["{k}"]"#), v);
    }
    set_value(
        &env,
        "secrets/tls.yaml",
        r#"["tls"]["broken"]"#,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    // A certificate under a key no policy names is detected as one.
    set_value(&env, "secrets/tls.yaml", r#"["other"]"#, &expired);

    let report = check_json(&env, &["secrets/tls.yaml"], 0);
    let k = |name: &str| key_report(&report, &format!(r#"["tls"]["{name}"]"#)).clone();
    assert_eq!(finding_rules(&k("expired")), ["certificate-expired"]);
    assert!(finding_rules(&k("valid")).is_empty());
    assert_eq!(finding_rules(&k("expiring")), ["certificate-expiring"]);
    assert_eq!(finding_rules(&k("chain")), ["certificate-expiring"]);
    assert_eq!(finding_rules(&k("broken")), ["certificate-invalid"]);
    let chain_certs = k("chain")["certificates"].as_array().unwrap().clone();
    assert_eq!(chain_certs.len(), 2);
    assert_eq!(chain_certs[0]["subject"], "CN=leaf");
    assert_eq!(chain_certs[1]["subject"], "CN=ca");
    let expiring_msg = k("chain")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        expiring_msg.contains("CN=ca") && expiring_msg.contains("certificate 2 of the chain"),
        "{expiring_msg}"
    );
    let not_after = k("valid")["certificates"][0]["not_after"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        not_after.starts_with(&secrets::time::format_date(t + 400 * DAY)),
        "{not_after}"
    );
    let other = key_report(&report, r#"["other"]"#);
    assert_eq!(
        (other["type"].as_str(), other["declared"].as_bool()),
        (Some("certificate"), Some(false))
    );
    assert_eq!(finding_rules(other), ["certificate-expired"]);
    assert_eq!(report["findings"], 5);

    // The CI gate; and no value is ever printed, in JSON or text.
    let text = run(
        env.secrets_with_key()
            .args(["check", "--fail", "secrets/tls.yaml"]),
        1,
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("certificate-expired: CN=old expired on"),
        "{text}"
    );
    let body = |pem: &str| pem.lines().nth(1).unwrap().to_string();
    for pem in [&expired, &valid, &leaf] {
        assert!(!text.contains(&body(pem)) && !report.to_string().contains(&body(pem)));
    }
}

#[test]
fn passwords_api_keys_ssh_and_age_keys_against_policies() {
    let env = Env::new();
    rules(
        &env,
        "secrets:\n  - key: db.password\n    type: password\n    min_length: 16\n    require: [upper, symbol]\n  - key: stripe\n    type: api-key\n    format: sk_live_[0-9A-Za-z]{24}\n  - key: deploy\n    type: ssh-key\n    owner: ops\n    expires: 2001-01-01\n",
    );
    generate(
        &env,
        "secrets/app.yaml",
        r#"["ok_password"]"#,
        &["--type", "password"],
    );
    set_value(
        &env,
        "secrets/app.yaml",
        r#"["db"]["password"]"#,
        "correcthorse",
    );
    set_value(&env, "secrets/app.yaml", r#"["stripe"]"#, "sk_test_123");
    set_value(
        &env,
        "secrets/app.yaml",
        r#"["deploy"]"#,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    set_value(
        &env,
        "secrets/app.yaml",
        r#"["age_key"]"#,
        "AGE-SECRET-KEY-1NOTAKEY",
    );
    let report = check_json(&env, &["--fail"], 1);
    assert_eq!(
        finding_rules(key_report(&report, r#"["db"]["password"]"#)),
        ["weak-password", "weak-password"]
    );
    assert_eq!(
        finding_rules(key_report(&report, r#"["stripe"]"#)),
        ["format-mismatch"]
    );
    assert_eq!(
        finding_rules(key_report(&report, r#"["deploy"]"#)),
        ["ssh-key-invalid", "expired"]
    );
    assert_eq!(
        finding_rules(key_report(&report, r#"["age_key"]"#)),
        ["age-key-invalid"]
    );
    assert!(finding_rules(key_report(&report, r#"["ok_password"]"#)).is_empty());
    // rotate_every needs history, which this test does not give: no rotation finding, no history.
    assert!(key_report(&report, r#"["stripe"]"#)["last_changed"].is_null());
    for secret in ["correcthorse", "sk_test_123", "AAAAB3", "NOTAKEY"] {
        assert!(!report.to_string().contains(secret), "{secret} printed");
    }
}

#[test]
fn without_a_key_check_reports_unencrypted_files_and_skips_values() {
    let env = Env::new();
    rules(&env, "");
    generate(
        &env,
        "secrets/app.yaml",
        r#"["pw"]"#,
        &["--type", "password"],
    );
    env.write("secrets/leak.yaml", "pw: hunter2\n");
    env.write("readme.yaml", "name: not a secret\n");
    let out = run(env.secrets().args(["check", "--json", "--fail"]), 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = report["files"].as_array().unwrap();
    let leak = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("leak.yaml"))
        .unwrap();
    assert_eq!(leak["findings"][0]["rule"], "unencrypted-file");
    let app = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("app.yaml"))
        .unwrap();
    assert_eq!(app["checked"], false);
    assert!(app["notice"].as_str().unwrap().contains("not checked"));
    assert!(stderr(&out).contains("could not be decrypted"));
    assert_eq!(report["findings"], 1);
    assert!(
        !files
            .iter()
            .any(|f| f["file"].as_str().unwrap().ends_with("readme.yaml"))
    );
    // Without --fail the findings are reported and the exit status is 0.
    run(env.secrets().args(["check"]), 0);
    // A path that does not exist is an input error, not a clean check.
    run(
        env.secrets().args(["check", "--fail", "secrets/nope.yaml"]),
        3,
    );
}

#[test]
fn list_shows_the_inventory_without_a_key() {
    let env = Env::new();
    rules(
        &env,
        "secrets:\n  - key: db.password\n    type: password\n    description: Main database\n    owner: team-db\n    rotate_every: 90d\n    expires: 2031-06-30\n",
    );
    generate(&env, "secrets/app.yaml", r#"["db"]["password"]"#, &[]);
    generate(
        &env,
        "secrets/app.yaml",
        r#"["deploy"]"#,
        &["--type", "ssh-ed25519"],
    );
    let out = ok(env.secrets().args(["list", "--json"]));
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let db = &rows[0];
    assert_eq!(db["key"], r#"["db"]["password"]"#);
    assert_eq!(db["type"], "password");
    assert_eq!(db["owner"], "team-db");
    assert_eq!(db["description"], "Main database");
    assert_eq!(db["expires"], "2031-06-30");
    assert_eq!(db["rotate_every"], "90d");
    assert!(db["last_changed"].is_null());
    // The clear public half is not a secret: not listed.
    assert_eq!(rows[1]["key"], r#"["deploy"]"#);
    let text = String::from_utf8(ok(env.secrets().args(["list", "secrets/app.yaml"]))).unwrap();
    assert!(
        text.starts_with("FILE") && text.contains("team-db") && text.contains("Main database"),
        "{text}"
    );
}

/// Commit everything in the test's folder with this committer date (Unix seconds).
fn commit_all(env: &Env, message: &str, when: i64) {
    for args in [&["add", "-A"][..], &["commit", "-q", "-m", message][..]] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(env.path(""))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", env.path(""))
            .env("GIT_AUTHOR_NAME", "Erin")
            .env("GIT_AUTHOR_EMAIL", "erin@example.com")
            .env("GIT_COMMITTER_NAME", "Erin")
            .env("GIT_COMMITTER_EMAIL", "erin@example.com")
            .env("GIT_AUTHOR_DATE", format!("@{when} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{when} +0000"))
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
}

#[test]
fn rotate_every_and_last_changed_come_from_git_history() {
    let env = Env::new();
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(env.path(""))
        .status()
        .unwrap();
    assert!(init.success());
    rules(&env, "secrets:\n  - key_regex: .*\n    rotate_every: 90d\n");
    generate(&env, "secrets/app.yaml", r#"["old"]"#, &["--type", "token"]);
    generate(
        &env,
        "secrets/app.yaml",
        r#"["fresh"]"#,
        &["--type", "token"],
    );
    commit_all(&env, "add secrets", now() - 200 * DAY);
    // Changing a value resets its clock; the other value keeps its ciphertext and its date.
    set_value(&env, "secrets/app.yaml", r#"["fresh"]"#, "second-value-2");
    commit_all(&env, "rotate fresh", now() - 10 * DAY);

    let report = check_json(&env, &["--fail", "secrets/app.yaml"], 1);
    let old = key_report(&report, r#"["old"]"#);
    assert_eq!(finding_rules(old), ["rotation-due"], "{report}");
    assert!(
        finding_rules(key_report(&report, r#"["fresh"]"#)).is_empty(),
        "{report}"
    );

    let out = ok(env.secrets().args(["list", "--json", "secrets/app.yaml"]));
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let summary = list.to_string();
    assert!(summary.contains("Erin"), "{summary}");
    let changed_on = |k: &str| {
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == k)
            .unwrap();
        row["last_changed"]["date"]
            .as_str()
            .unwrap_or_else(|| panic!("{row}"))[..10]
            .to_string()
    };
    let day = |days_ago: i64| secrets::time::format_date(now() - days_ago * DAY);
    assert_eq!(changed_on(r#"["old"]"#), day(200));
    assert_eq!(changed_on(r#"["fresh"]"#), day(10));
}
