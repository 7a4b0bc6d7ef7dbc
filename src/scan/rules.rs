//! The built-in rules: literal anchors for the prefilter, a regex run on a bounded window around
//! each anchor hit, and offline checks (checksums, decoding, placeholders, randomness).

use base64::Engine as _;

/// What a rule checks after its regex matched a candidate secret (`check = "..."` in a rule file).
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
    /// A password in a URL: not a placeholder, not `user:user@`, not a documentation host.
    UrlPassword,
    /// Bech32 data characters only (age secret keys).
    Bech32,
    /// An AWS key id that is not a documentation example.
    AwsKeyId,
    /// Not a placeholder, and decodes as base64 (standard or URL-safe, padded or not).
    Base64,
    /// A Google service-account key: the secret is the `private_key` of a JSON object whose
    /// `type` is `service_account` (checked on the matched text).
    JsonServiceAccount,
    /// Digits (spaces and dashes ignored) passing the Luhn checksum.
    Luhn,
    /// A user rule: not a placeholder; its entropy floor and allowlist are applied by the engine.
    User,
}

impl Check {
    /// The names a rule file may use, with their checks.
    pub const NAMES: &[(&str, Check)] = &[
        ("none", Check::None),
        ("crc32-base62", Check::Crc32Base62),
        ("jwt", Check::Jwt),
        ("not-placeholder", Check::NotPlaceholder),
        ("generic", Check::Generic),
        ("url-password", Check::UrlPassword),
        ("bech32", Check::Bech32),
        ("aws-key-id", Check::AwsKeyId),
        ("base64", Check::Base64),
        ("json-service-account", Check::JsonServiceAccount),
        ("luhn", Check::Luhn),
    ];

    fn from_name(name: &str) -> Option<Check> {
        Check::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }
}

/// How sure a finding is: a provider format with a checksum or a long fixed prefix is `high`;
/// a keyword-anchored value is `medium`, or `low` when the generic gate has doubts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "low" => Some(Confidence::Low),
            "medium" => Some(Confidence::Medium),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One rule.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    /// Who issues the credential (`(any)` for formats without a provider).
    pub provider: &'static str,
    pub description: &'static str,
    /// The provider's own page describing the format.
    pub doc: &'static str,
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
    /// A candidate with a lower Shannon entropy (bits per character) is not a finding.
    pub entropy: Option<f64>,
    pub confidence: Confidence,
    /// Lines that must produce a finding of this rule, and lines that must not.
    pub examples: &'static [&'static str],
    pub counter_examples: &'static [&'static str],
}

/// Window sizes around an anchor hit.
const BEFORE: usize = 64;
const AFTER: usize = 512;
const MULTILINE_AFTER: usize = 16384;

mod files {
    include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));
}
pub use files::RULE_FILES;

/// A mistake in a rule file, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("src/scan/rules/{file}:{line}: {message}")]
pub struct RuleFileError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The keys a rule may have.
pub const RULE_FILE_KEYS: &[&str] = &[
    "id",
    "provider",
    "description",
    "doc",
    "keywords",
    "regex",
    "entropy",
    "confidence",
    "check",
    "multiline",
    "examples",
    "counter_examples",
];

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Parse one rule file (`name` for errors). Strings are leaked: rule files are read once per
/// process.
pub fn parse_rule_file(name: &str, text: &str) -> Result<Vec<Rule>, RuleFileError> {
    let bad = |span: Option<std::ops::Range<usize>>, message: String| RuleFileError {
        file: name.to_string(),
        line: span.map_or(1, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        }),
        message,
    };
    let doc = toml_edit::Document::parse(text)
        .map_err(|e| bad(e.span(), format!("invalid TOML: {}", e.message().trim())))?;
    let mut rules = Vec::new();
    for (key, item) in doc.iter() {
        let span = doc.key(key).and_then(|k| k.span());
        let Some(tables) = item.as_array_of_tables().filter(|_| key == "rules") else {
            return Err(bad(
                span,
                format!("unknown top-level key {key:?}: write rules under `[[rules]]`"),
            ));
        };
        for table in tables.iter() {
            rules.push(parse_rule(table, &bad)?);
        }
    }
    if rules.is_empty() {
        return Err(bad(None, "no `[[rules]]` in the file".into()));
    }
    Ok(rules)
}

fn parse_rule(
    table: &toml_edit::Table,
    bad: &dyn Fn(Option<std::ops::Range<usize>>, String) -> RuleFileError,
) -> Result<Rule, RuleFileError> {
    let header = table.span();
    let key_span = |k: &str| table.key(k).and_then(|k| k.span()).or(header.clone());
    for (k, _) in table.iter() {
        if !RULE_FILE_KEYS.contains(&k) {
            return Err(bad(
                key_span(k),
                format!("unknown key {k:?} (known: {})", RULE_FILE_KEYS.join(", ")),
            ));
        }
    }
    let string = |k: &str| -> Result<Option<&str>, RuleFileError> {
        table.get(k).map_or(Ok(None), |item| {
            item.as_str()
                .map(Some)
                .ok_or_else(|| bad(key_span(k), format!("`{k}` must be a string")))
        })
    };
    let required = |k: &str| -> Result<&str, RuleFileError> {
        string(k)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| bad(header.clone(), format!("a rule needs a non-empty `{k}`")))
    };
    let strings = |k: &str| -> Result<Vec<&'static str>, RuleFileError> {
        let Some(item) = table.get(k) else {
            return Ok(Vec::new());
        };
        let list = item
            .as_array()
            .ok_or_else(|| bad(key_span(k), format!("`{k}` must be a list of strings")))?;
        list.iter()
            .map(|v| {
                v.as_str()
                    .map(leak)
                    .ok_or_else(|| bad(key_span(k), format!("`{k}` must be a list of strings")))
            })
            .collect()
    };
    let id = required("id")?;
    if !id
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        return Err(bad(
            key_span("id"),
            format!("id {id:?}: use kebab-case (a-z, 0-9, -)"),
        ));
    }
    let regex = required("regex")?;
    regex::Regex::new(regex)
        .map_err(|e| bad(key_span("regex"), format!("rule {id}: invalid regex: {e}")))?;
    let anchors = strings("keywords")?;
    if anchors.is_empty() || anchors.iter().any(|k| k.len() < 2) {
        return Err(bad(
            key_span("keywords"),
            format!(
                "rule {id}: `keywords` needs literals of 2+ characters that every match contains"
            ),
        ));
    }
    let confidence = Confidence::parse(required("confidence")?).ok_or_else(|| {
        bad(
            key_span("confidence"),
            format!("rule {id}: `confidence` is high, medium or low"),
        )
    })?;
    let check = match string("check")? {
        None => Check::NotPlaceholder,
        Some(c) => Check::from_name(c).ok_or_else(|| {
            let known: Vec<&str> = Check::NAMES.iter().map(|(n, _)| *n).collect();
            bad(
                key_span("check"),
                format!(
                    "rule {id}: unknown check {c:?} (known: {})",
                    known.join(", ")
                ),
            )
        })?,
    };
    let entropy = match table.get("entropy") {
        None => None,
        Some(item) => Some(
            item.as_float()
                .or_else(|| item.as_integer().map(|i| i as f64))
                .filter(|v| (0.0..=8.0).contains(v))
                .ok_or_else(|| {
                    bad(
                        key_span("entropy"),
                        format!("rule {id}: `entropy` is bits per character, 0 to 8"),
                    )
                })?,
        ),
    };
    let multiline = match table.get("multiline") {
        None => false,
        Some(item) => item.as_bool().ok_or_else(|| {
            bad(
                key_span("multiline"),
                format!("rule {id}: `multiline` is true or false"),
            )
        })?,
    };
    let examples = strings("examples")?;
    let counter_examples = strings("counter_examples")?;
    if examples.is_empty() || counter_examples.is_empty() {
        return Err(bad(
            header.clone(),
            format!("rule {id}: needs at least one of `examples` and of `counter_examples`"),
        ));
    }
    for k in ["provider", "description", "doc"] {
        required(k)?;
    }
    Ok(Rule {
        id: leak(id),
        provider: leak(required("provider")?),
        description: leak(required("description")?),
        doc: leak(required("doc")?),
        anchors: Box::leak(anchors.into_boxed_slice()),
        regex: leak(regex),
        before: BEFORE,
        after: if multiline { MULTILINE_AFTER } else { AFTER },
        multiline,
        check,
        entropy,
        confidence,
        examples: Box::leak(examples.into_boxed_slice()),
        counter_examples: Box::leak(counter_examples.into_boxed_slice()),
    })
}

/// Every rule of every file, or the first mistake; ids are unique across files.
pub fn load_all() -> Result<Vec<Rule>, RuleFileError> {
    let mut all: Vec<Rule> = Vec::new();
    for (name, text) in RULE_FILES {
        for rule in parse_rule_file(name, text)? {
            if let Some(other) = all.iter().find(|r| r.id == rule.id) {
                return Err(RuleFileError {
                    file: name.to_string(),
                    line: 1,
                    message: format!(
                        "rule id {:?} is also used by another rule ({})",
                        rule.id, other.description
                    ),
                });
            }
            all.push(rule);
        }
    }
    // When two rules report the same text the earlier wins: providers with a fixed format
    // first (high, then medium, then low confidence), the formats without a provider last.
    all.sort_by_key(|r| {
        (
            r.check == Check::Generic,
            r.provider == "(any)",
            std::cmp::Reverse(r.confidence),
        )
    });
    Ok(all)
}

/// The built-in rules, loaded once per process.
pub fn builtin() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| load_all().unwrap_or_else(|e| panic!("built-in rule files: {e}")))
}

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
    // One repeated character, or a long run of one (`shpat_000…`, `key-xxxx…`).
    let bytes = value.as_bytes();
    bytes.windows(2).all(|w| w[0] == w[1]) || longest_run(bytes) >= 12
}

/// The length of the longest run of one repeated byte.
fn longest_run(bytes: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for &b in bytes {
        run = if prev == Some(b) { run + 1 } else { 1 };
        prev = Some(b);
        best = best.max(run);
    }
    best
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
        if is_attribute_path(value) {
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

/// `self._lib.NID_aes_256_cbc`, `os.environ`, `config.db.password`: identifiers joined by dots.
fn is_attribute_path(value: &str) -> bool {
    let is_ident = |w: &str| {
        w.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && w.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    value.contains('.') && value.split('.').all(is_ident)
}

/// A code identifier rather than a random value: `snake_case_words`, `CONSTANT_CASE_9`,
/// `CamelCaseWords`, `_bindgen_ty_5`, `u32`-suffixed numbers.
pub(crate) fn looks_like_identifier(value: &str) -> bool {
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

/// A regex match the checks look at.
pub struct Candidate<'a> {
    /// The secret (the group `s`, `dq` or `sq`, else the whole match).
    pub value: &'a str,
    /// Whether the value was written in quotes.
    pub quoted: bool,
    /// The whole regex match.
    pub matched: &'a str,
    /// The text of the window after the match (the rest of its line for one-line rules).
    pub rest: &'a str,
    /// The user part of a URL (group `u`), if the regex has one.
    pub user: Option<&'a str>,
    /// The setting's name (group `k`) and the operator (group `op`), if the regex has them.
    pub key: Option<&'a str>,
    pub op: Option<&'a str>,
    /// The character just before the match (`&` or `?` for a query-string parameter).
    pub preceding: Option<char>,
}

/// Hosts reserved for documentation (RFC 2606, RFC 6761) and local development.
const DOC_HOSTS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "example",
    "test",
    "invalid",
    "localhost",
    "host",
    "hostname",
    "server",
    "domain",
];

/// A URL password is a finding unless it is a placeholder, equal to the user name
/// (`user:user@`, a development default) or the host is a documentation or example host.
fn url_password_ok(c: &Candidate) -> bool {
    if is_placeholder(c.value) || c.user == Some(c.value) {
        return false;
    }
    let host: String = c.matched[c.matched.len().saturating_sub(1)..]
        .chars()
        .chain(c.rest.chars())
        .take_while(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    !DOC_HOSTS
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Base64 (standard or URL-safe alphabet, with or without padding) of at least 12 bytes.
pub fn base64_ok(value: &str) -> bool {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let v = value.trim_end_matches('=');
    let decoded = STANDARD_NO_PAD
        .decode(v)
        .or_else(|_| URL_SAFE_NO_PAD.decode(v));
    decoded.is_ok_and(|d| d.len() >= 12)
}

/// The Luhn checksum over the digits of `value` (spaces and dashes ignored; 12 digits or more).
pub fn luhn_ok(value: &str) -> bool {
    let digits: Vec<u32> = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if digits.len() < 12 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A service-account JSON: the match names `"type": "service_account"` and the secret is a PEM
/// private key (as a JSON string, with `\n` escapes).
fn service_account_ok(c: &Candidate) -> bool {
    let compact: String = c.matched.chars().filter(|ch| !ch.is_whitespace()).collect();
    compact.contains("\"type\":\"service_account\"")
        && c.value.contains("PRIVATE KEY")
        && c.value.len() >= 200
        && !is_placeholder(c.value.trim_start_matches("-----BEGIN PRIVATE KEY-----"))
}

/// Whether a candidate passes its rule's offline check, and how sure the finding is.
pub fn check(rule: &Rule, c: &Candidate) -> Option<Confidence> {
    let value = c.value;
    if crate::document::envelope::claims_encryption(value) {
        return None;
    }
    if rule.entropy.is_some_and(|floor| entropy(value) < floor) {
        return None;
    }
    if rule.check == Check::Generic {
        return super::generic::assess(c).map(|conf| conf.min(rule.confidence));
    }
    let ok = match rule.check {
        Check::None => true,
        Check::Crc32Base62 => crc32_checksum_ok(value),
        Check::Jwt => jwt_ok(value),
        Check::NotPlaceholder | Check::User => !is_placeholder(value),
        Check::Generic => unreachable!("assessed above"),
        Check::UrlPassword => url_password_ok(c),
        Check::Bech32 => bech32_ok(value),
        Check::AwsKeyId => !value.contains("EXAMPLE") && !is_placeholder(value),
        Check::Base64 => !is_placeholder(value) && base64_ok(value),
        Check::JsonServiceAccount => service_account_ok(c),
        Check::Luhn => luhn_ok(value),
    };
    ok.then_some(rule.confidence)
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
    fn offline_checks() {
        assert!(luhn_ok("4539 1488 0343 6467"));
        assert!(!luhn_ok("4539 1488 0343 6468"));
        assert!(base64_ok("c2VjcmV0LXNlY3JldC1zZWNyZXQ="));
        assert!(!base64_ok("not base64!"));
    }

    #[test]
    fn rule_file_errors_name_file_and_line() {
        let cases = [
            (
                "[[rules]]\nid = \"a\"\ncolour = 1\n",
                "x.toml:3: unknown key \"colour\"",
            ),
            ("x = 1\n", "x.toml:1: unknown top-level key"),
            (
                "[[rules]]\nid = \"a\"\nprovider = \"A\"\ndescription = \"A\"\ndoc = \"d\"\nkeywords = [\"ab\"]\nregex = '('\n",
                "x.toml:7: rule a: invalid regex",
            ),
            (
                "[[rules]]\nid = \"a\"\nprovider = \"A\"\ndescription = \"A\"\ndoc = \"d\"\nkeywords = [\"ab\"]\nregex = 'ab'\nconfidence = \"high\"\nexamples = [\"ab\"]\n",
                "x.toml:1: rule a: needs at least one of `examples` and of `counter_examples`",
            ),
        ];
        for (text, want) in cases {
            let err = parse_rule_file("x.toml", text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("src/scan/rules/{want}")),
                "{text:?}: {err}"
            );
        }
    }
}
