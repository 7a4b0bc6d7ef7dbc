//! The secret scanner: rules, the matcher, inputs (paths, stdin) and reports.
//!
//! A finding never holds the secret: it carries where it is, which rule matched, a fingerprint
//! (SHA-256 of rule id and value) and an excerpt of the line with the secret redacted.

pub mod engine;
pub mod report;
pub mod rules;
pub mod sources;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config;
use crate::document::{self, Format};

pub use engine::Engine;

/// What the redacted part of an excerpt is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Longest excerpt, in characters, on either side of the secret.
const EXCERPT_CONTEXT: usize = 40;

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

/// Scan one text and describe what was found, with no secret in the result.
pub fn scan_text(engine: &Engine, file: &str, text: &str) -> Vec<Finding> {
    let hits = engine.scan(text);
    let mut out = Vec::with_capacity(hits.len());
    let mut line = 1;
    let mut line_start = 0;
    let mut pos = 0;
    for hit in &hits {
        // Hits are in position order: count lines incrementally.
        for nl in memchr::memchr_iter(b'\n', &text.as_bytes()[pos..hit.span.start]) {
            line += 1;
            line_start = pos + nl + 1;
        }
        pos = hit.span.start;
        let line_end = memchr::memchr(b'\n', &text.as_bytes()[hit.span.start..])
            .map_or(text.len(), |i| hit.span.start + i);
        let rule = engine.rule(hit.rule);
        let secret = &text[hit.span.clone()];
        out.push(Finding {
            file: file.to_string(),
            line,
            column: text[line_start..hit.span.start].chars().count() + 1,
            rule: rule.id,
            description: rule.description.to_string(),
            fingerprint: fingerprint(rule.id, secret),
            excerpt: excerpt(text, line_start..line_end, hit.span.start, &hits),
            hint: hint_for(rule.id, file),
        });
    }
    out
}

/// The line around `at`, every hit on it replaced by `[REDACTED]`, clipped to some context.
fn excerpt(text: &str, line: std::ops::Range<usize>, at: usize, hits: &[engine::Hit]) -> String {
    let mut pieces = String::new();
    let mut cursor = line.start;
    let mut secret_at = 0;
    for h in hits {
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
    if from > 0 {
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
