//! The secret scanner: rules, the matcher, inputs (paths, stdin) and reports.
//!
//! A finding never holds the secret: it carries where it is, which rule matched, a fingerprint
//! (SHA-256 of rule id and value) and an excerpt of the line with the secret redacted.

pub mod engine;
pub mod generic;
pub mod repo;
pub mod report;
#[cfg(test)]
mod rule_files;
pub mod rules;
pub mod settings;
pub mod sources;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config;
use crate::document::{self, Format};

pub use engine::Engine;
pub use settings::{SCAN_CONFIG_FILE, ScanConfig};

/// What the redacted part of an excerpt is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Longest excerpt, in characters, on either side of the secret.
const EXCERPT_CONTEXT: usize = 40;
/// Bytes of the line on either side of a secret that the excerpt is cut from.
const EXCERPT_BYTES: usize = 512;

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file as given or found (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line and column (in characters) of the secret's start.
    pub line: usize,
    pub column: usize,
    pub rule: &'static str,
    pub description: String,
    /// Hex SHA-256 of the rule id and the secret: stable across edits that move the line.
    pub fingerprint: String,
    /// The line around the secret with every secret on it replaced by `[REDACTED]`.
    pub excerpt: String,
    /// What to do about it.
    pub hint: String,
    /// History scans: the full id of the commit that introduced the blob.
    pub commit: Option<String>,
    /// How sure the finding is.
    pub confidence: rules::Confidence,
}

/// Errors reading what to scan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Walk { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    ScanConfig { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", path.display())]
    ScanConfigAt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    #[error("{config}: {source}")]
    Config {
        config: PathBuf,
        source: config::Error,
    },
}

/// The fingerprint of a secret for a rule.
pub fn fingerprint(rule: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Inline markers that silence findings on their line (ours, and the ones gitleaks and
/// detect-secrets users already have in their code).
pub const ALLOW_MARKERS: &[&str] = &[
    "secrets:allow",
    "gitleaks:allow",
    "pragma: allowlist secret",
];

fn is_allowed(line: &[u8]) -> bool {
    ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
}

/// Scan one text and describe what was found, with no secret in the result.
pub fn scan_text(engine: &Engine, file: &str, text: &str) -> Vec<Finding> {
    scan_text_where(engine, file, text, |_| true)
}

/// Like [`scan_text`], keeping only the secrets whose byte range `keep` accepts (the staged
/// scan keeps those touching an added line); the others are still redacted in excerpts.
pub fn scan_text_where(
    engine: &Engine,
    file: &str,
    text: &str,
    keep: impl Fn(&std::ops::Range<usize>) -> bool,
) -> Vec<Finding> {
    let hits = engine.scan(text);
    let mut out = Vec::with_capacity(hits.len());
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut line_start = 0;
    let mut pos = 0;
    // The column of `pos`, counted incrementally so many hits on one long line stay linear.
    let mut col_pos = 0;
    let mut col = 1;
    // Whether the current line carries an inline allow comment (looked up once per line).
    let mut allowed_line: Option<(usize, bool)> = None;
    // Findings point at `at` (a PEM key's `-----BEGIN`, before its secret): count lines in that
    // order.
    let mut order: Vec<&engine::Hit> = hits.iter().collect();
    order.sort_by_key(|h| h.at);
    for hit in order {
        let at = hit.at;
        // Hits are in position order: count lines incrementally.
        for nl in memchr::memchr_iter(b'\n', &bytes[pos..at]) {
            line += 1;
            line_start = pos + nl + 1;
        }
        pos = at;
        if col_pos < line_start {
            col_pos = line_start;
            col = 1;
        }
        if allowed_line.map(|(start, _)| start) != Some(line_start) {
            let end =
                memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
            allowed_line = Some((line_start, is_allowed(&bytes[line_start..end])));
        }
        if allowed_line.is_some_and(|(_, allowed)| allowed) || !keep(&hit.span) {
            continue;
        }
        col += text[col_pos..at].chars().count();
        col_pos = at;
        // The excerpt looks at a bounded part of the line around the finding.
        let from = floor_char(text, at.saturating_sub(EXCERPT_BYTES).max(line_start));
        let limit = (at.max(hit.span.end) + EXCERPT_BYTES).min(text.len());
        let to = memchr::memchr(b'\n', &bytes[at..limit]).map_or(limit, |i| at + i);
        let to = ceil_char(text, to);
        let rule = engine.rule(hit.rule);
        let secret = &text[hit.span.clone()];
        out.push(Finding {
            file: file.to_string(),
            line,
            column: col,
            rule: rule.id,
            description: rule.description.to_string(),
            fingerprint: fingerprint(rule.id, secret),
            excerpt: excerpt(text, from..to, at, &hits, from > line_start),
            confidence: hit.confidence,
            hint: hint_for(rule.id, file),
            commit: None,
        });
    }
    out
}

/// The line around `at`, every hit on it replaced by `[REDACTED]`, clipped to some context.
fn excerpt(
    text: &str,
    line: std::ops::Range<usize>,
    at: usize,
    hits: &[engine::Hit],
    cut_before: bool,
) -> String {
    let mut pieces = String::new();
    let mut cursor = line.start;
    let mut secret_at = 0;
    // Only the hits that can touch this part of the line (hits are sorted by start).
    let first = hits.partition_point(|h| h.span.end <= line.start);
    for h in &hits[first..] {
        if h.span.start >= line.end {
            break;
        }
        let s = h.span.start.max(line.start);
        let e = h.span.end.min(line.end);
        if s >= e || s < cursor {
            continue;
        }
        pieces.push_str(&text[cursor..s]);
        if h.span.start == at {
            secret_at = pieces.chars().count();
        }
        pieces.push_str(REDACTED);
        cursor = e;
    }
    if cursor < line.end {
        pieces.push_str(&text[cursor..line.end]);
    }
    let chars: Vec<char> = pieces.trim_end().chars().collect();
    let from = secret_at.saturating_sub(EXCERPT_CONTEXT);
    let to = (secret_at + REDACTED.len() + EXCERPT_CONTEXT).min(chars.len());
    let mut s: String = chars[from..to.max(from)].iter().collect();
    s = s.trim_start().to_string();
    if from > 0 || cut_before {
        s.insert(0, '…');
    }
    if to < chars.len() {
        s.push('…');
    }
    // Control characters would garble a terminal.
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn hint_for(rule: &str, file: &str) -> String {
    match rule {
        "unencrypted-file" => format!("encrypt it with `secrets encrypt -i {file}`"),
        "private-key" | "age-secret-key" => {
            "move the key out of the repository (or encrypt the file with `secrets encrypt -i`), and treat it as leaked".to_string()
        }
        _ => format!(
            "revoke the credential, then keep it in an encrypted file (`secrets encrypt -i {file}`) or the environment"
        ),
    }
}

/// The default baseline file, in the folder `secrets scan` runs in.
pub const BASELINE_FILE: &str = ".secrets-baseline";

/// The fingerprints a baseline file accepts: lines `FINGERPRINT RULE`; `#` starts a comment.
pub fn parse_baseline(text: &str) -> std::collections::HashSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// A baseline accepting `findings`: sorted, one line per fingerprint, so it diffs cleanly and
/// holds no path, line number, time or secret.
pub fn render_baseline(findings: &[Finding]) -> String {
    let lines: std::collections::BTreeSet<String> = findings
        .iter()
        .map(|f| format!("{} {}", f.fingerprint, f.rule))
        .collect();
    let mut out = String::from(
        "# secrets scan baseline: accepted findings (fingerprint = SHA-256 of rule and value).\n\
         # Regenerate with `secrets scan --update-baseline`.\n",
    );
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Creation-rule awareness: the `.sops.yaml` configs met so far, by path.
#[derive(Default)]
pub struct CreationRules {
    explicit: Option<PathBuf>,
    loaded: std::sync::Mutex<
        std::collections::HashMap<PathBuf, Option<std::sync::Arc<config::Config>>>,
    >,
}

impl CreationRules {
    pub fn new(explicit: Option<PathBuf>) -> CreationRules {
        CreationRules {
            explicit,
            loaded: Default::default(),
        }
    }

    /// A finding when a creation rule with a `path_regex` matches `path` but the file holds no
    /// sops metadata (a catch-all rule only says which keys to use, not that a file is secret).
    pub fn check(&self, path: &Path, bytes: &[u8], file: &str) -> Result<Option<Finding>, Error> {
        if path.file_name().is_some_and(|n| n == ".sops.yaml") {
            return Ok(None);
        }
        let Some(cfg_path) = config::find(self.explicit.as_deref(), path) else {
            return Ok(None);
        };
        let cfg = {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            match loaded.get(&cfg_path) {
                Some(c) => c.clone(),
                None => {
                    let c = config::Config::load(&cfg_path).map_err(|source| Error::Config {
                        config: cfg_path.clone(),
                        source,
                    })?;
                    let c = Some(std::sync::Arc::new(c));
                    loaded.insert(cfg_path.clone(), c.clone());
                    c
                }
            }
        };
        let Some(cfg) = cfg else { return Ok(None) };
        let Ok(rule) = cfg.rule_for(path) else {
            return Ok(None);
        };
        if rule.path_regex.is_none() || is_sops_encrypted(path, bytes) {
            return Ok(None);
        }
        Ok(Some(Finding {
            file: file.to_string(),
            line: 1,
            column: 1,
            rule: "unencrypted-file",
            description: format!(
                "the creation rule at {}:{} says this file is encrypted, but it holds plaintext",
                cfg.path.display(),
                rule.line
            ),
            fingerprint: fingerprint("unencrypted-file", &cfg.match_path(path)),
            excerpt: String::new(),
            hint: hint_for("unencrypted-file", file),
            commit: None,
            confidence: rules::Confidence::High,
        }))
    }
}

/// Whether the bytes are a sops-encrypted document (they carry `sops` metadata).
fn is_sops_encrypted(path: &Path, bytes: &[u8]) -> bool {
    let format = match Format::from_path(path) {
        // sops writes binary files as JSON.
        Format::Binary => Format::Json,
        f => f,
    };
    document::parse(format, bytes).is_ok_and(|d| d.metadata().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a minified file (one 1 MB line) with thousands of secrets took time
    /// quadratic in the line length (HPKE test vectors: 5 MB in 16 s); it is linear now.
    #[test]
    fn many_secrets_on_one_long_line_stay_linear() {
        let mut text = String::from("[");
        for i in 0..8000u32 {
            let hex: String = (0..5)
                .map(|k| format!("{:08x}", i.wrapping_mul(2_654_435_761).rotate_left(k * 7)))
                .collect();
            text.push_str(&format!(
                "{{\"id\":{i},\"secret\":\"{hex}\",\"pad\":\"{}\"}},",
                "x".repeat(64)
            ));
        }
        text.push(']');
        let f = scan_text(&Engine::new(), "v.json", &text);
        // A few of the generated hex strings are not random enough for the generic rule.
        assert!(f.len() > 7_800, "{}", f.len());
        assert!(
            f.iter()
                .all(|f| f.line == 1 && f.excerpt.contains(REDACTED))
        );
        // Columns are exact far into the line (ASCII here: column - 1 is the byte offset).
        for f in [&f[0], &f[f.len() / 2], &f[f.len() - 1]] {
            assert!(text[..f.column - 1].ends_with("\"secret\":\""));
        }
    }

    /// Every rule file under src/scan/rules/ loads (schema, regexes, unique ids, at least one
    /// example and one counter-example per rule), and every example line gives a finding of its
    /// rule through the real engine while no counter-example does.
    #[test]
    fn every_rule_file_loads_and_its_examples_hold() {
        let rules = rules::load_all().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.len(), rules::builtin().len());
        let engine = Engine::new();
        let mut failures = Vec::new();
        for rule in &rules {
            assert!(!rule.examples.is_empty() && !rule.counter_examples.is_empty());
            for (lines, want) in [(rule.examples, true), (rule.counter_examples, false)] {
                for line in lines {
                    let found = scan_text(&engine, "example.txt", line)
                        .iter()
                        .any(|f| f.rule == rule.id);
                    if found != want {
                        let what = if want {
                            "example missed"
                        } else {
                            "counter-example found"
                        };
                        failures.push(format!("{}: {what}: {line}", rule.id));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_private_key_finding_points_at_its_begin_line() {
        let body: String = (0..4)
            .map(|i| format!("{}\n", "Qk9Xz".repeat(12) + &i.to_string().repeat(4)))
            .collect();
        let text = format!(
            "config: 1\n  key: |\n    -----BEGIN RSA PRIVATE KEY-----\n{body}    -----END RSA PRIVATE KEY-----\n"
        );
        let f = scan_text(&Engine::new(), "k.yaml", &text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].rule, f[0].line, f[0].column), ("private-key", 3, 5));
        assert_eq!(f[0].excerpt, "-----BEGIN RSA PRIVATE KEY-----");
    }

    #[test]
    fn inline_allow_markers_silence_their_line_only() {
        let text = "api_key = \"Vq8#rT2!mZ6pLwX\" # secrets:allow\n\
                    b_password = \"Wq8#rT2!mZ6pLwX\" // gitleaks:allow\n\
                    c_secret = \"Xq8#rT2!mZ6pLwX\"  # pragma: allowlist secret\n\
                    d_token = \"Yq8#rT2!mZ6pLwX\"\n";
        let f = scan_text(&Engine::new(), "f.py", text);
        assert_eq!(f.iter().map(|f| f.line).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn findings_never_hold_the_secret() {
        let secret = "Vq8#rT2!mZ6pLwX";
        let text = format!("a: 1\ndb:\n  password: \"{secret}\" # prod\n");
        let f = scan_text(&Engine::new(), "f.yaml", &text);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column), (3, 14));
        assert_eq!(f[0].excerpt, "password: \"[REDACTED]\" # prod");
        assert!(!format!("{f:?}").contains(secret));
        assert_eq!(f[0].fingerprint, fingerprint("generic-secret", secret));
    }
}
