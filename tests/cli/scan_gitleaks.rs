//! `secrets scan` reads a team's `.gitleaks.toml`: custom rules (keywords, secretGroup, entropy,
//! path), allowlists (global and per rule, regexTarget, stopwords, paths, AND), `[extend]`.

use crate::util::{Env, run};

/// A gitleaks 8 configuration as a team would have it (written for this test).
const GITLEAKS: &str = r#"title = "acme gitleaks config"

[extend]
useDefault = true
disabledRules = ["jwt"]

[[rules]]
id = "acme-deploy-key"
description = "ACME deploy key"
regex = '''(?i)acme[_-]?deploy[_-]?key\s*[:=]\s*["']?(ADK[0-9a-f]{24})'''
secretGroup = 1
entropy = 3.0
keywords = ["acme", "deploy"]
tags = ["internal"]

  [[rules.allowlists]]
  description = "the documented sample"
  regexes = ['''^ADK0123456789abcdef01234567$''']

[[rules]]
id = "acme-session"
description = "ACME session cookie"
# No keywords: the regex runs on the whole text. No secretGroup: the first group.
regex = '''sess=(S[A-Za-z0-9]{20})'''

[[rules]]
id = "acme-keystore"
description = "ACME keystore file"
path = '''(^|/)acme\.keystore$'''

[allowlist]
description = "global"
paths = ['''(^|/)fixtures/''']
stopwords = ["notasecret"]

[[allowlists]]
description = "docs lines marked sample, for one rule"
condition = "AND"
regexTarget = "line"
regexes = ['''SAMPLE''']
paths = ['''\.md$''']
targetRules = ["generic-api-key"]
"#;

fn findings(out: &[u8]) -> Vec<(String, u64, String)> {
    let v: serde_json::Value = serde_json::from_slice(out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn gitleaks_rules_allowlists_and_extend_apply() {
    let env = Env::new();
    let dir = env.path("repo");
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    env.write("repo/.gitleaks.toml", GITLEAKS);
    env.write(
        "repo/app.env",
        "ACME_DEPLOY_KEY=ADK9f3c2b1a0e8d7c6b5a4f3e2d1c\n\
         acme_deploy_key = ADK0123456789abcdef01234567\n\
         cookie: sess=SaB3dE5fG7hJ9kL1mN2pQ\n\
         DB_PASSWORD=Vq8#rT2!mZ6pLwXe\n\
         DB_PASSWORD_2=notasecretVq8#rT2!mZ\n\
         jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n",
    );
    env.write("repo/fixtures/app.env", "DB_PASSWORD=Vq8#rT2!mZ6pLwXe\n");
    env.write(
        "repo/README.md",
        "SAMPLE: DB_PASSWORD=Xq8#rT2!mZ6pLwXe\nDB_PASSWORD=Yq8#rT2!mZ6pLwXe\n",
    );
    env.write("repo/conf/acme.keystore", "binary-ish keystore\n");
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "."])
            .current_dir(&dir),
        1,
    );
    let mut got = findings(&out.stdout);
    got.sort();
    let want = [
        ("./README.md", 2, "generic-secret"),
        ("./app.env", 1, "acme-deploy-key"),
        ("./app.env", 3, "acme-session"),
        ("./app.env", 4, "generic-secret"),
        ("./conf/acme.keystore", 1, "acme-keystore"),
    ];
    let want: Vec<(String, u64, String)> = want
        .iter()
        .map(|(f, l, r)| (f.to_string(), *l, r.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn without_use_default_only_the_teams_rules_run() {
    let env = Env::new();
    let dir = env.path("repo");
    std::fs::create_dir_all(&dir).unwrap();
    env.write(
        "repo/.gitleaks.toml",
        "[[rules]]\nid = \"acme-session\"\nregex = '''sess=(S[A-Za-z0-9]{20})'''\nkeywords = [\"sess=\"]\n",
    );
    env.write(
        "repo/a.env",
        "DB_PASSWORD=Vq8#rT2!mZ6pLwXe\ncookie: sess=SaB3dE5fG7hJ9kL1mN2pQ\n",
    );
    let out = run(
        env.secrets()
            .args(["scan", "--format", "json", "a.env"])
            .current_dir(&dir),
        1,
    );
    let got = findings(&out.stdout);
    assert_eq!(got, [("a.env".to_string(), 2, "acme-session".to_string())]);
}

#[test]
fn a_bad_gitleaks_config_names_file_and_line() {
    let env = Env::new();
    let dir = env.path("repo");
    std::fs::create_dir_all(&dir).unwrap();
    env.write(
        "repo/.gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"x\"\nregex = '''(?<=a)b'''\n",
    );
    env.write("repo/a.env", "x\n");
    let out = run(env.secrets().args(["scan", "a.env"]).current_dir(&dir), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".gitleaks.toml:6: rule \"x\": invalid regex"),
        "{err}"
    );
}
