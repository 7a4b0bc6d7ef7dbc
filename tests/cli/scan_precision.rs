//! `secrets scan` on real code: the false findings issue 16 reported stay silent, confidence
//! levels filter and show in every report format, and findings point at the secret.

use crate::util::{Env, run};

/// Lines from real code and documentation that the generic rules used to flag (issue 16).
/// None is a secret: at the default confidence (medium) nothing is reported.
const NOT_SECRETS: &str = r#"nid_key = self._lib.NID_aes_256_cbc
def strip_html_tags(s: str, l: int, tokens: ParseResults):
    capabilities = 'LOGINDISABLED AUTH=CRAM-MD5'
let g:netrw_password = g:netrw_passwd_default
let s:token = matchstr(getline('.'), '\k*')
var tokens: list<string> = split(lead, '\s\+\|\<')
git-credential-osxkeychain.o: git-credential-osxkeychain.c
passwd: elevated-privileges 4755 root/root [usr/bin/chfn]
base-passwd: no-debconf-config
libpam-runtime: uses-dpkg-database-directly usr/sbin/pam-auth-update
  pip install --index-url https://abc:xyz@example.com/simple/ mypackage
    """Ask for a password interactively."""
    password: "password\x00",
    request_token=request.resource_owner_key):
grant_type = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    Token.Name.Builtin.MusicCommand: "bold #08547A",
proxy_auth_hdr = "Proxy-Authorization"
_key = "python.xml.sax.parser"
<AuthenticationStatement AuthenticationInstant="2002-04-18T16:56:53Z">
    PWD: '/Users/maciej',
    backend: "Backend", private_key: "_DSAPrivateKey", data: bytes
ssl_key = "server.key"
"#;

#[test]
fn code_words_and_documentation_are_not_findings() {
    let env = Env::new();
    let file = env.write("real.txt", NOT_SECRETS);
    let out = run(
        env.secrets().args(["scan", "--format", "json"]).arg(&file),
        0,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v:#}");
    // The code-shaped lines are not findings at any level.
    let code: String = NOT_SECRETS
        .lines()
        .take(7)
        .map(|l| format!("{l}\n"))
        .collect();
    let file = env.write("code.txt", code);
    run(
        env.secrets()
            .args(["scan", "--min-confidence", "low"])
            .arg(&file),
        0,
    );
}

#[test]
fn min_confidence_filters_and_every_format_shows_the_level() {
    let env = Env::new();
    let text = "\
DB_PASSWORD=Vq8#rT2!mZ6pLwXe
cache_key = \"Hq7xR4mT9kLp2VwYz\"
STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc9aB3kQ
";
    let file = env.write("app.env", text);
    let levels = |level: &str| -> Vec<(String, String)> {
        let out = run(
            env.secrets()
                .args(["scan", "--format", "json", "--min-confidence", level])
                .arg(&file),
            1,
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["confidence"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |r: &str, c: &str| (r.to_string(), c.to_string());
    assert_eq!(
        levels("low"),
        [
            pair("generic-secret", "medium"),
            pair("generic-secret", "low"),
            pair("stripe-key", "high")
        ]
    );
    assert_eq!(
        levels("medium"),
        [pair("generic-secret", "medium"), pair("stripe-key", "high")]
    );
    assert_eq!(levels("high"), [pair("stripe-key", "high")]);
    // The default is medium.
    let out = run(env.secrets().arg("scan").arg(&file), 1);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("(generic-secret, medium confidence)"),
        "{shown}"
    );
    assert!(shown.contains("(stripe-key, high confidence)"), "{shown}");
    assert!(!shown.contains("low confidence"), "{shown}");
    // SARIF: the level in properties, and a rank code scanning sorts by.
    let out = run(
        env.secrets()
            .args(["scan", "--format", "sarif", "--min-confidence", "low"])
            .arg(&file),
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let got: Vec<(&str, f64, &str)> = results
        .iter()
        .map(|r| {
            (
                r["properties"]["confidence"].as_str().unwrap(),
                r["rank"].as_f64().unwrap(),
                r["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("medium", 60.0, "error"),
            ("low", 30.0, "warning"),
            ("high", 90.0, "error")
        ]
    );
    let bad = run(
        env.secrets()
            .args(["scan", "--min-confidence", "sure"])
            .arg(&file),
        2,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values: low, medium, high"));
}

#[test]
fn findings_point_at_the_secret_and_a_key_at_its_begin_line() {
    let env = Env::new();
    let body: String = (0..5)
        .map(|i| format!("    {}{i}{i}{i}{i}\n", "MIIEpAIBAAKCAQEAz9Xk".repeat(3)))
        .collect();
    let text = format!(
        "settings:\n  token: \"Hq7xR4mT9kLp2VwYz\"\n  tls:\n    -----BEGIN RSA PRIVATE KEY-----\n{body}    -----END RSA PRIVATE KEY-----\n"
    );
    let file = env.write("k.yaml", text);
    let out = run(
        env.secrets().args(["scan", "--format", "json"]).arg(&file),
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at: Vec<(u64, u64, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(at, [(2, 11, "generic-secret"), (4, 5, "private-key")]);
}
