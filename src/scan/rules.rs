//! The built-in rules: literal anchors for the prefilter, a regex run on a bounded window around
//! each anchor hit, and offline checks (checksums, decoding, placeholders, randomness).

use base64::Engine as _;

/// What a rule checks after its regex matched a candidate secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The regex is enough.
    None,
    /// GitHub/npm style: the last 6 characters are the base62 CRC32 of the random part.
    Crc32Base62,
    /// A JWT whose header decodes to a JSON object with `alg`.
    Jwt,
    /// A value that must not be a placeholder (`${VAR}`, `changeme`, `<token>`...).
    NotPlaceholder,
    /// The generic keyword rule: not a placeholder, not code, and random enough.
    Generic,
    /// Bech32 data characters only (age secret keys).
    Bech32,
    /// An AWS key id that is not a documentation example.
    AwsKeyId,
    /// A user rule: not a placeholder; its entropy floor and allowlist are applied by the engine.
    User,
}

/// One rule.
pub struct Rule {
    pub id: &'static str,
    pub description: &'static str,
    /// Literals (matched case-insensitively) that any match contains; the prefilter looks for them.
    pub anchors: &'static [&'static str],
    /// The regex; the capture group named `s` is the secret (else the whole match).
    pub regex: &'static str,
    /// Bytes of context before an anchor hit that the regex sees (within the hit's line).
    pub before: usize,
    /// Bytes after the anchor hit; `multiline` rules may cross line ends.
    pub after: usize,
    pub multiline: bool,
    pub check: Check,
}

const fn rule(
    id: &'static str,
    description: &'static str,
    anchors: &'static [&'static str],
    regex: &'static str,
    check: Check,
) -> Rule {
    Rule {
        id,
        description,
        anchors,
        regex,
        before: 16,
        after: 256,
        multiline: false,
        check,
    }
}

/// Every built-in rule. Provider rules come first: when two rules report the same text, the
/// earlier one wins.
pub static RULES: &[Rule] = &[
    rule(
        "github-token",
        "GitHub token",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36})\b",
        Check::Crc32Base62,
    ),
    rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        &["github_pat_"],
        r"\b(?P<s>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "npm-token",
        "npm access token",
        &["npm_"],
        r"\b(?P<s>npm_[A-Za-z0-9]{36})\b",
        Check::Crc32Base62,
    ),
    rule(
        "aws-access-key-id",
        "AWS access key id",
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        Check::AwsKeyId,
    ),
    rule(
        "aws-secret-access-key",
        "AWS secret access key",
        &["aws_secret", "secretaccesskey", "secret_access_key"],
        r#"(?i)(?:aws_?secret_?access_?key|secretaccesskey)["']?\s*[:=]\s*["']?(?P<s>[A-Za-z0-9/+]{40})\b"#,
        Check::Generic,
    ),
    rule(
        "slack-token",
        "Slack token",
        &[
            "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxe.",
        ],
        r"\b(?P<s>xox(?:[abprs]|e\.xox[bp]|e)-[0-9A-Za-z-]{20,250})",
        Check::NotPlaceholder,
    ),
    rule(
        "slack-webhook",
        "Slack incoming webhook URL",
        &["hooks.slack.com/"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>T[A-Z0-9]{6,12}/[A-Z0-9]{6,12}/[A-Za-z0-9]{20,40})",
        Check::NotPlaceholder,
    ),
    rule(
        "stripe-key",
        "Stripe secret or restricted key",
        &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        r"\b(?P<s>[sr]k_(?:live|test)_[0-9A-Za-z]{24,247})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "gitlab-token",
        "GitLab token",
        &["glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-"],
        r"\b(?P<s>gl(?:pat|dt|rt|ptt|soat|cbt)-[0-9A-Za-z_-]{20,64})",
        Check::NotPlaceholder,
    ),
    rule(
        "google-api-key",
        "Google API key",
        &["AIza"],
        r"\b(?P<s>AIza[0-9A-Za-z_-]{35})",
        Check::NotPlaceholder,
    ),
    rule(
        "google-oauth-client-secret",
        "Google OAuth client secret",
        &["GOCSPX-"],
        r"\b(?P<s>GOCSPX-[0-9A-Za-z_-]{28})",
        Check::NotPlaceholder,
    ),
    rule(
        "anthropic-api-key",
        "Anthropic API key",
        &["sk-ant-"],
        r"\b(?P<s>sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,120})",
        Check::NotPlaceholder,
    ),
    rule(
        "openai-api-key",
        "OpenAI API key",
        &["T3BlbkFJ", "sk-proj-", "sk-svcacct-", "sk-admin-"],
        r"\b(?P<s>sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}))",
        Check::NotPlaceholder,
    ),
    rule(
        "sendgrid-api-key",
        "SendGrid API key",
        &["SG."],
        r"\b(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
        Check::NotPlaceholder,
    ),
    rule(
        "pypi-token",
        "PyPI upload token",
        &["pypi-AgEIcHlwaS5vcmc"],
        r"\b(?P<s>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        Check::NotPlaceholder,
    ),
    rule(
        "huggingface-token",
        "Hugging Face token",
        &["hf_"],
        r"\b(?P<s>hf_[A-Za-z]{34})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "digitalocean-token",
        "DigitalOcean token",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"\b(?P<s>do[opr]_v1_[a-f0-9]{64})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "shopify-token",
        "Shopify access token",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "docker-hub-pat",
        "Docker Hub personal access token",
        &["dckr_pat_"],
        r"\b(?P<s>dckr_pat_[A-Za-z0-9_-]{27})",
        Check::NotPlaceholder,
    ),
    rule(
        "hashicorp-vault-token",
        "HashiCorp Vault token",
        &["hvs.", "hvb."],
        r"\b(?P<s>hv[sb]\.[A-Za-z0-9_-]{90,300})",
        Check::NotPlaceholder,
    ),
    rule(
        "terraform-cloud-token",
        "Terraform Cloud token",
        &[".atlasv1."],
        r"\b(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})",
        Check::NotPlaceholder,
    ),
    rule(
        "grafana-token",
        "Grafana token",
        &["glsa_", "glc_ey"],
        r"\b(?P<s>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_eyJ[A-Za-z0-9+/=_-]{60,400})",
        Check::NotPlaceholder,
    ),
    rule(
        "linear-api-key",
        "Linear API key",
        &["lin_api_"],
        r"\b(?P<s>lin_api_[A-Za-z0-9]{40})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "postman-api-key",
        "Postman API key",
        &["PMAK-"],
        r"\b(?P<s>PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "databricks-token",
        "Databricks token",
        &["dapi"],
        r"\b(?P<s>dapi[a-f0-9]{32}(?:-\d)?)\b",
        Check::NotPlaceholder,
    ),
    rule(
        "new-relic-key",
        "New Relic API key",
        &["NRAK-"],
        r"\b(?P<s>NRAK-[A-Z0-9]{27})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "atlassian-api-token",
        "Atlassian API token",
        &["ATATT3"],
        r"\b(?P<s>ATATT3[A-Za-z0-9_=-]{180,200})",
        Check::NotPlaceholder,
    ),
    rule(
        "square-token",
        "Square access token or secret",
        &["sq0atp-", "sq0csp-", "EAAA"],
        r"\b(?P<s>sq0(?:atp|csp)-[0-9A-Za-z_-]{22,43}|EAAA[A-Za-z0-9_-]{60})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "mailgun-key",
        "Mailgun API key",
        &["key-"],
        r"\b(?P<s>key-[0-9a-f]{32})\b",
        Check::Generic,
    ),
    rule(
        "telegram-bot-token",
        "Telegram bot token",
        &[":AA"],
        r"\b(?P<s>[0-9]{8,10}:AA[0-9A-Za-z_-]{33})\b",
        Check::NotPlaceholder,
    ),
    rule(
        "discord-webhook",
        "Discord webhook URL",
        &["/api/webhooks/"],
        r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/(?P<s>[A-Za-z0-9_-]{60,70})",
        Check::NotPlaceholder,
    ),
    rule(
        "azure-storage-key",
        "Azure storage account key",
        &["AccountKey="],
        r"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
        Check::NotPlaceholder,
    ),
    Rule {
        id: "private-key",
        description: "Private key",
        anchors: &["PRIVATE KEY-----", "PRIVATE KEY BLOCK-----"],
        regex: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z-]+:[^\n]*\n\s*)*(?P<s>[A-Za-z0-9+/=\s\\n]{64,}?)\s*-----END",
        before: 48,
        after: 16384,
        multiline: true,
        check: Check::None,
    },
    rule(
        "age-secret-key",
        "age secret key",
        &["AGE-SECRET-KEY-1"],
        r"\b(?P<s>AGE-SECRET-KEY-1[0-9A-Z]{58})\b",
        Check::Bech32,
    ),
    rule(
        "jwt",
        "JSON Web Token",
        &["eyJ"],
        r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{16,})",
        Check::Jwt,
    ),
    Rule {
        id: "url-password",
        description: "Password in a URL or connection string",
        anchors: &["://"],
        regex: r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://(?P<u>[^\s:/?#@'\x22]{1,128}):(?P<s>[^\s@/'\x22]{3,256})@[A-Za-z0-9\[_-]",
        before: 40,
        after: 512,
        multiline: false,
        check: Check::NotPlaceholder,
    },
    Rule {
        id: "generic-secret",
        description: "Secret assigned to a password, secret or token setting",
        anchors: &[
            "pass",
            "pwd",
            "secret",
            "token",
            "api_key",
            "apikey",
            "api-key",
            "access_key",
            "accesskey",
            "auth",
            "credential",
            "private_key",
            "_key",
        ],
        regex: r#"(?i)(?P<k>[A-Za-z0-9_.-]*(?:pass(?:wd|word|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credentials?|private[_-]?key|_key)[A-Za-z0-9_.-]*)["']?\]?\s*(?P<op>:=|=>|[:=]|\s+=)[ \t]*(?:"(?P<dq>[^"\n]{1,300})"|'(?P<sq>[^'\n]{1,300})'|(?P<s>[^\s"'`,;\\]{1,300}))"#,
        before: 64,
        after: 360,
        multiline: false,
        check: Check::Generic,
    },
    Rule {
        id: "generic-secret",
        description: "Secret in a password, secret or token element",
        anchors: &[
            "password>",
            "secret>",
            "token>",
            "apikey>",
            "api_key>",
            "passwd>",
        ],
        regex: r"(?i)<(?P<k>[A-Za-z0-9_.:-]*(?:passw(?:or)?d|secret|token|api_?key)[A-Za-z0-9_.-]*)>(?P<dq>[^<\n]{1,300})</",
        before: 64,
        after: 360,
        multiline: false,
        check: Check::Generic,
    },
    Rule {
        id: "netrc-password",
        description: "Password in a .netrc-style `password VALUE` line",
        anchors: &["password ", "password\t", "passwd "],
        regex: r"(?i)(?:^|\s)passw(?:or)?d[ \t]+(?P<s>[^\s]{6,200})",
        before: 1,
        after: 256,
        multiline: false,
        check: Check::Generic,
    },
];

/// The base62 alphabet GitHub and npm use for the checksum.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 6-character base62 encoding of `n`, left-padded with `0`.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// GitHub and npm tokens: `prefix_` + random + 6-character base62 CRC32 of the random part.
pub fn crc32_checksum_ok(token: &str) -> bool {
    let Some((_, body)) = token.rsplit_once('_') else {
        return false;
    };
    if body.len() <= 6 {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    base62_6(crc32fast::hash(random.as_bytes())) == check.as_bytes()
}

/// A JWT whose header is base64url JSON naming an `alg`.
pub fn jwt_ok(token: &str) -> bool {
    let header = token.split('.').next().unwrap_or_default();
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("alg").cloned())
        .is_some()
}

/// Documentation examples and template syntax that are never secrets.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "your_",
        "your-",
        "yourpass",
        "<",
        ">",
        "${",
        "{{",
        "}}",
        "%(",
        "$(",
        "xxxx",
        "****",
        "....",
        "redacted",
        "dummy",
        "sample",
        "fake",
        "replace",
        "insert",
        "todo",
        "fixme",
        "notreal",
        "not-real",
        "mypassword",
        "my_password",
        "secretpassword",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "123456",
        "abcdef",
        "qwerty",
        "letmein",
        "enc[aes256_gcm",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    const EXACT: &[&str] = &[
        "password",
        "secret",
        "token",
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "pass",
        "test",
        "admin",
        "root",
        "user",
        "username",
        "default",
        "required",
        "string",
        "str",
        "bytes",
        "optional",
    ];
    if EXACT.contains(&lower.as_str()) {
        return true;
    }
    if value.starts_with('$') || value.starts_with('%') || value.starts_with('&') {
        return true;
    }
    // Template and format strings: `{name}`, `{0}`, `%s`.
    if (value.contains('{') && value.contains('}')) || value.contains("%s") {
        return true;
    }
    // One repeated character, or a run like 0123456789 / abcdefgh.
    let bytes = value.as_bytes();
    bytes.windows(2).all(|w| w[0] == w[1])
}

/// Shannon entropy, in bits per character.
pub fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for &b in value.as_bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The character classes used: lower, upper, digit, other.
fn classes(value: &str) -> usize {
    let b = value.as_bytes();
    [
        b.iter().any(u8::is_ascii_lowercase),
        b.iter().any(u8::is_ascii_uppercase),
        b.iter().any(u8::is_ascii_digit),
        b.iter().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&x| x)
    .count()
}

/// Names of settings that hold something about a secret, not the secret itself.
pub fn is_non_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    const SUFFIXES: &[&str] = &[
        "url",
        "uri",
        "file",
        "path",
        "name",
        "type",
        "id",
        "env",
        "length",
        "len",
        "hash",
        "field",
        "header",
        "prefix",
        "regex",
        "pattern",
        "policy",
        "endpoint",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "count",
        "min",
        "max",
        "size",
        "format",
        "mode",
        "version",
        "provider",
        "method",
        "strategy",
        "dir",
        "host",
        "port",
        "label",
        "key_id",
        "keyid",
        "ref",
        "arn",
        "enabled",
        "required",
        "sha256",
        "sha512",
        "digest",
        "checksum",
        "algorithm",
        "alg",
        "timeout",
        "limit",
        "scope",
        "scopes",
        "manager",
        "store",
        "source",
    ];
    let last = lower.rsplit(['_', '-', '.']).next().unwrap_or(&lower);
    SUFFIXES.contains(&last)
        || lower.ends_with("url")
        || lower.ends_with("name")
        || lower.ends_with("file")
        || lower.ends_with("path")
        || lower.contains("public")
        || lower.contains("author")
}

/// The generic rule's gate: a literal value that looks chosen at random, not code or a word.
pub fn generic_value_ok(value: &str, quoted: bool) -> bool {
    let len = value.len();
    if !(8..=200).contains(&len) || is_placeholder(value) {
        return false;
    }
    // Formats with a checksum are their own rule's call: a bad checksum is not a secret.
    const CHECKSUMMED: &[&str] = &[
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "npm_",
    ];
    if CHECKSUMMED.iter().any(|p| value.starts_with(p)) {
        return false;
    }
    if !quoted {
        // Code: function calls, attribute paths, indexing, env lookups, `a::b` paths.
        if value.starts_with(':')
            || value.ends_with(')')
            || value.contains('(')
            || value.contains('[')
            || value.contains("::")
            || looks_like_identifier(value)
        {
            return false;
        }
        let ident_path = value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
        if ident_path && value.contains('.') && !value.bytes().any(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if value.contains(' ') && classes(value) < 4 {
        return false;
    }
    // A UUID is an identifier far more often than a credential.
    if len == 36 && value.bytes().filter(|&c| c == b'-').count() == 4 {
        return false;
    }
    let h = entropy(value);
    let c = classes(value);
    let hexish = value.bytes().all(|c| c.is_ascii_hexdigit());
    if hexish {
        return len >= 20 && h >= 3.0;
    }
    (c >= 3 && h >= 2.5) || (len >= 16 && c >= 2 && h >= 3.2)
}

/// A code identifier rather than a random value: `snake_case_words`, `CONSTANT_CASE_9`,
/// `CamelCaseWords`, `_bindgen_ty_5`, `u32`-suffixed numbers.
fn looks_like_identifier(value: &str) -> bool {
    if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
    {
        return false;
    }
    let b = value.as_bytes();
    // CONSTANT_CASE or snake_case names (`WIN32_ERROR`, `nl80211_auth_type`).
    let one_case = !b.iter().any(u8::is_ascii_uppercase) || !b.iter().any(u8::is_ascii_lowercase);
    if value.contains('_') && one_case && value.split('_').all(|w| w.len() <= 12) {
        return true;
    }
    // Words joined by `_`, each letters only or a short number.
    if value.contains('_') {
        return value.split('_').all(|w| {
            w.bytes().all(|c| c.is_ascii_alphabetic())
                || (w.len() <= 3 && w.bytes().all(|c| c.is_ascii_digit()))
        });
    }
    // CamelCase words without digits, or a number with a type suffix.
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        // Random tokens switch case often; identifiers about once per word (≥ 3 letters).
        let switches = b
            .windows(2)
            .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
            .count();
        return switches * 3 <= b.len() / 2;
    }
    let trimmed =
        value.trim_end_matches(|c: char| c.is_ascii_alphanumeric() && !c.is_ascii_digit());
    trimmed.bytes().all(|c| c.is_ascii_digit()) && value.len() - trimmed.len() <= 5
}

/// Bech32 data characters (age secret keys are upper-case bech32).
pub fn bech32_ok(value: &str) -> bool {
    const CHARSET: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
    value
        .strip_prefix("AGE-SECRET-KEY-1")
        .is_some_and(|d| d.chars().all(|c| CHARSET.contains(c)))
}

/// Whether a candidate passes its rule's offline check.
pub fn check(rule: &Rule, value: &str, quoted: bool) -> bool {
    if value.starts_with("ENC[") {
        return false;
    }
    match rule.check {
        Check::None => true,
        Check::Crc32Base62 => crc32_checksum_ok(value),
        Check::Jwt => jwt_ok(value),
        Check::NotPlaceholder => !is_placeholder(value),
        Check::Generic => generic_value_ok(value, quoted),
        Check::Bech32 => bech32_ok(value),
        Check::AwsKeyId => !value.contains("EXAMPLE") && !is_placeholder(value),
        Check::User => !is_placeholder(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_token(prefix: &str, random: &str) -> String {
        let sum = base62_6(crc32fast::hash(random.as_bytes()));
        format!("{prefix}{random}{}", std::str::from_utf8(&sum).unwrap())
    }

    #[test]
    fn crc32_checksums() {
        let good = make_token("ghp_", "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0");
        assert!(crc32_checksum_ok(&good));
        let mut bad = good.clone();
        bad.replace_range(5..6, "Z");
        assert!(!crc32_checksum_ok(&bad));
        assert!(crc32_checksum_ok(&make_token(
            "npm_",
            "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0"
        )));
    }

    #[test]
    fn jwt_header_must_decode() {
        assert!(jwt_ok("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"));
        assert!(!jwt_ok("eyJub3BlIjoxfQ.eyJzdWIiOiIxIn0.sig"));
    }

    #[test]
    fn generic_gate() {
        assert!(generic_value_ok("Tr0ub4dor&3x", true));
        assert!(generic_value_ok("9f86d081884c7d659a2feaa0c55ad015", true));
        assert!(!generic_value_ok("changeme", true));
        assert!(!generic_value_ok("${DB_PASSWORD}", true));
        assert!(!generic_value_ok("settings.db.password", false));
        assert!(!generic_value_ok("get_password()", false));
        assert!(!generic_value_ok("<your-token>", true));
        assert!(!generic_value_ok(":Semi", false));
        assert!(!generic_value_ok("_bindgen_ty_5", false));
        assert!(!generic_value_ok("AcquireCredentialsHandleA", false));
        assert!(!generic_value_ok("536870912u32", false));
        assert!(!generic_value_ok("WIN32_ERROR", false));
        assert!(generic_value_ok("Xk29dkLmQ2xxPq", false));
        assert!(generic_value_ok("qWeRtZuIoPaSdFgHjK", false));
    }

    #[test]
    fn rules_compile_and_have_anchors() {
        for r in RULES {
            regex::Regex::new(r.regex).unwrap_or_else(|e| panic!("{}: {e}", r.id));
            assert!(!r.anchors.is_empty(), "{}", r.id);
        }
    }
}
