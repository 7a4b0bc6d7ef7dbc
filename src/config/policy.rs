//! The `secrets:` section of `.sops.yaml`: typed policies per file and key path.
//!
//! sops ignores unknown top-level keys, so the file stays valid for sops. Each entry selects
//! values by file (`path_regex`, as creation rules) and key (`key`, or `key_regex` over the
//! dotted key path `db.password`); the first entry that matches a value applies to it.
//!
//! ```yaml
//! secrets:
//!   - path_regex: ^prod/
//!     key: db.password            # or '["db"]["password"]'
//!     type: password
//!     description: Production database password
//!     owner: team-db
//!     rotate_every: 90d
//!     expires: 2027-01-01
//!     min_length: 20
//!     require: [lower, upper, digit, symbol]
//!   - key_regex: (^|\.)stripe_key$
//!     type: api-key
//!     format: ^sk_live_[0-9A-Za-z]{24}$
//!   - key_regex: tls\.crt$
//!     type: certificate
//!     warn_before: 30d
//! ```

use regex::Regex;

use super::yaml::{Node, Spanned};
use super::{ParseResult, scalar, unknown_key};
use crate::time;

/// What a secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretType {
    Password,
    ApiKey,
    Certificate,
    SshKey,
    AgeKey,
    Custom,
}

impl SecretType {
    pub const ALL: [SecretType; 6] = [
        SecretType::Password,
        SecretType::ApiKey,
        SecretType::Certificate,
        SecretType::SshKey,
        SecretType::AgeKey,
        SecretType::Custom,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecretType::Password => "password",
            SecretType::ApiKey => "api-key",
            SecretType::Certificate => "certificate",
            SecretType::SshKey => "ssh-key",
            SecretType::AgeKey => "age-key",
            SecretType::Custom => "custom",
        }
    }

    pub fn from_name(name: &str) -> Option<SecretType> {
        SecretType::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A character class a password must contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharClass {
    Lower,
    Upper,
    Digit,
    Symbol,
}

impl CharClass {
    pub const ALL: [CharClass; 4] = [
        CharClass::Lower,
        CharClass::Upper,
        CharClass::Digit,
        CharClass::Symbol,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CharClass::Lower => "lower",
            CharClass::Upper => "upper",
            CharClass::Digit => "digit",
            CharClass::Symbol => "symbol",
        }
    }

    pub fn contains(self, c: char) -> bool {
        match self {
            CharClass::Lower => c.is_lowercase(),
            CharClass::Upper => c.is_uppercase(),
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Symbol => !c.is_alphanumeric() && !c.is_whitespace(),
        }
    }
}

/// Which keys of a file a policy applies to.
#[derive(Clone, Debug)]
pub enum KeyMatch {
    /// Every key.
    Any,
    /// Exactly this key path.
    Exact(Vec<String>),
    /// The dotted key path (`db.password`) matches this regex (searched unanchored).
    Regex(Regex),
}

/// One `secrets:` entry.
#[derive(Clone, Debug)]
pub struct Policy {
    pub line: usize,
    pub path_regex: Option<Regex>,
    pub key: KeyMatch,
    pub kind: Option<SecretType>,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// Seconds a value may stay unchanged.
    pub rotate_every: Option<i64>,
    /// Unix seconds after which the secret is expired.
    pub expires: Option<i64>,
    /// Passwords: the least number of characters.
    pub min_length: Option<usize>,
    /// Passwords: classes that must each occur.
    pub require: Vec<CharClass>,
    /// API keys (and custom secrets): the whole value must match.
    pub format: Option<Regex>,
    /// Certificates: warn this many seconds before the end of validity.
    pub warn_before: Option<i64>,
}

impl Policy {
    /// Whether the policy applies to `key` (mapping keys from the root) in a file whose path,
    /// relative to the config's folder, is `rel_path`.
    pub fn matches(&self, rel_path: &str, key: &[String]) -> bool {
        self.path_regex
            .as_ref()
            .is_none_or(|r| r.is_match(rel_path))
            && match &self.key {
                KeyMatch::Any => true,
                KeyMatch::Exact(k) => k == key,
                KeyMatch::Regex(r) => r.is_match(&key.join(".")),
            }
    }
}

const POLICY_KEYS: &[&str] = &[
    "path_regex",
    "key",
    "key_regex",
    "type",
    "description",
    "owner",
    "rotate_every",
    "expires",
    "min_length",
    "require",
    "format",
    "warn_before",
];

/// Parse the `secrets:` value: a list of policies.
pub(super) fn parse_policies(value: &Spanned) -> ParseResult<Vec<Policy>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let Node::List(items) = &value.node else {
        return Err((value.line, "secrets must be a list of policies".into()));
    };
    items.iter().map(parse_policy).collect()
}

fn parse_policy(item: &Spanned) -> ParseResult<Policy> {
    let Node::Map(entries) = &item.node else {
        return Err((item.line, "a secrets policy must be a mapping".into()));
    };
    let mut p = Policy {
        line: item.line,
        path_regex: None,
        key: KeyMatch::Any,
        kind: None,
        description: None,
        owner: None,
        rotate_every: None,
        expires: None,
        min_length: None,
        require: Vec::new(),
        format: None,
        warn_before: None,
    };
    // Type-specific keys, checked against the type once it is known.
    let mut specific: Vec<(&str, usize)> = Vec::new();
    for (key, value) in entries {
        let line = value.line;
        let regex =
            |text: &str| Regex::new(text).map_err(|e| (line, format!("invalid {key}: {e}")));
        match key.as_str() {
            "path_regex" => p.path_regex = Some(regex(scalar(value, key)?)?),
            "key" | "key_regex" => {
                if !matches!(p.key, KeyMatch::Any) {
                    return Err((line, "key and key_regex cannot both be set".into()));
                }
                let text = scalar(value, key)?;
                p.key = if key == "key_regex" {
                    KeyMatch::Regex(regex(text)?)
                } else {
                    KeyMatch::Exact(parse_key(text).map_err(|m| (line, m))?)
                };
            }
            "type" => {
                let name = scalar(value, key)?;
                p.kind = Some(SecretType::from_name(name).ok_or_else(|| {
                    let known: Vec<&str> = SecretType::ALL.iter().map(|t| t.name()).collect();
                    (
                        line,
                        format!("unknown type {name:?} (known types: {})", known.join(", ")),
                    )
                })?);
            }
            "description" => p.description = Some(scalar(value, key)?.to_string()),
            "owner" => p.owner = Some(scalar(value, key)?.to_string()),
            "rotate_every" => {
                p.rotate_every = Some(positive_duration(scalar(value, key)?, key, line)?)
            }
            "expires" => {
                p.expires = Some(time::parse_date(scalar(value, key)?).map_err(|m| (line, m))?)
            }
            "min_length" => {
                specific.push((key, line));
                p.min_length = Some(
                    scalar(value, key)?
                        .parse()
                        .map_err(|_| (line, "min_length must be a whole number".to_string()))?,
                );
            }
            "require" => {
                specific.push((key, line));
                p.require = super::string_list(value, key)?
                    .iter()
                    .map(|name| {
                        CharClass::ALL
                            .into_iter()
                            .find(|c| c.name() == name)
                            .ok_or_else(|| {
                                (
                                    line,
                                    format!(
                                        "unknown character class {name:?} (known: lower, upper, digit, symbol)"
                                    ),
                                )
                            })
                    })
                    .collect::<ParseResult<_>>()?;
            }
            "format" => {
                specific.push((key, line));
                let text = scalar(value, key)?;
                // The whole value must match.
                p.format = Some(regex(&format!("^(?:{text})$"))?);
            }
            "warn_before" => {
                specific.push((key, line));
                p.warn_before = Some(positive_duration(scalar(value, key)?, key, line)?);
            }
            k => return Err((line, unknown_key(k, POLICY_KEYS))),
        }
    }
    for (key, line) in specific {
        let allowed: &[SecretType] = match key {
            "min_length" | "require" => &[SecretType::Password],
            "format" => &[SecretType::ApiKey, SecretType::Custom],
            _ => &[SecretType::Certificate],
        };
        if !p.kind.is_some_and(|k| allowed.contains(&k)) {
            let names: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
            return Err((
                line,
                format!("{key} applies to type {} only", names.join(" or ")),
            ));
        }
    }
    Ok(p)
}

fn positive_duration(text: &str, key: &str, line: usize) -> ParseResult<i64> {
    match time::parse_duration(text) {
        Ok(0) => Err((line, format!("{key} must be longer than zero"))),
        Ok(s) => Ok(s),
        Err(m) => Err((line, m)),
    }
}

/// A key path: `["db"]["password"]` or `db.password` (mapping keys only).
fn parse_key(text: &str) -> Result<Vec<String>, String> {
    use crate::document::keypath::{PathStep, parse_steps};
    let bad = || format!("invalid key {text:?}: expected db.password or [\"db\"][\"password\"]");
    let steps = parse_steps(text).map_err(|m| if text.starts_with('[') { m } else { bad() })?;
    steps
        .into_iter()
        .map(|s| match s {
            PathStep::Key(k) => Ok(k),
            PathStep::Index(_) => Err("a policy key names mapping keys only".to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, super::super::Error> {
        Config::parse(text, Path::new("/repo/.sops.yaml"))
    }

    #[test]
    fn policies_parse_with_their_types_and_rules() {
        let cfg = parse(
            "secrets:\n  - path_regex: ^prod/\n    key: db.password\n    type: password\n    description: DB\n    owner: team-db\n    rotate_every: 90d\n    expires: 2027-01-01\n    min_length: 20\n    require: [lower, digit]\n  - key_regex: token$\n    type: api-key\n    format: 'sk_[a-z]+'\n  - key: '[\"tls\"][\"crt\"]'\n    type: certificate\n    warn_before: 30d\n",
        )
        .unwrap();
        let [pw, api, cert] = &cfg.policies[..] else {
            panic!("{:?}", cfg.policies)
        };
        assert_eq!(pw.kind, Some(SecretType::Password));
        assert_eq!(pw.rotate_every, Some(90 * 86_400));
        assert_eq!(pw.expires, Some(1_798_761_600));
        assert_eq!(pw.require, [CharClass::Lower, CharClass::Digit]);
        let key = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(pw.matches("prod/a.yaml", &key(&["db", "password"])));
        assert!(!pw.matches("dev/a.yaml", &key(&["db", "password"])));
        assert!(api.matches("x.yaml", &key(&["stripe", "token"])));
        assert!(api.format.as_ref().unwrap().is_match("sk_abc"));
        assert!(
            !api.format.as_ref().unwrap().is_match("xsk_abc"),
            "anchored"
        );
        assert!(cert.matches("a", &key(&["tls", "crt"])));
        assert_eq!(cert.warn_before, Some(30 * 86_400));
        assert_eq!(cert.line, 14);
    }

    #[test]
    fn bad_policies_are_errors_naming_the_line() {
        for (text, line, needle) in [
            (
                "secrets:\n  - type: passwrd\n",
                2,
                "unknown type \"passwrd\"",
            ),
            (
                "secrets:\n  - type: password\n    rotate_every: 90\n",
                3,
                "invalid duration",
            ),
            (
                "secrets:\n  - type: password\n    expires: 2027-02-30\n",
                3,
                "invalid date",
            ),
            (
                "secrets:\n  - type: api-key\n    min_length: 3\n",
                3,
                "type password only",
            ),
            (
                "secrets:\n  - type: password\n    format: x\n",
                3,
                "api-key or custom",
            ),
            ("secrets:\n  - warn_before: 3d\n", 2, "certificate only"),
            ("secrets:\n  - key: a\n    key_regex: b\n", 3, "cannot both"),
            ("secrets:\n  - typ: password\n", 2, "unknown key \"typ\""),
            (
                "secrets:\n  - type: password\n    require: [lowr]\n",
                3,
                "character class",
            ),
            ("secrets: 3\n", 1, "must be a list"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(
                err.contains(&format!("line {line}:")) && err.contains(needle),
                "{text}: {err}"
            );
        }
    }
}
