//! `.sops.yaml`: where it is, and which creation rule applies to a file.
//!
//! Read as sops 3.x reads it (first matching rule wins, `path_regex` searched unanchored in the
//! file's path relative to the config's folder), with two deliberate differences: the config is
//! found by walking up from the *file's* folder (sops walks up from the current directory), and
//! an unknown key, a bad regex or a rule without a usable key is an error naming the line
//! (sops ignores unknown keys, so a typo such as `agee:` silently yields a rule with no keys).

pub mod policy;
mod yaml;

use std::path::{Path, PathBuf};

use regex::Regex;

use crate::document::metadata::RuleKind;
use yaml::{Node, Spanned};

/// The config file's name.
pub const FILE_NAME: &str = ".sops.yaml";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: line {line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error("no {FILE_NAME} found in the folders above {target}; create one with `secrets init`")]
    NotFound { target: String },
    #[error("{file}: no creation rule matches {target}")]
    NoMatchingRule {
        file: String,
        target: String,
        suggestion: String,
    },
}

/// One `creation_rules` entry.
#[derive(Clone, Debug)]
pub struct CreationRule {
    pub line: usize,
    pub path_regex: Option<Regex>,
    /// Key groups; a rule's flat keys form one group.
    pub key_groups: Vec<RuleKeyGroup>,
    pub shamir_threshold: u64,
    pub encryption: Option<(RuleKind, String)>,
    pub mac_only_encrypted: bool,
}

impl CreationRule {
    /// Whether the rule names a key this tool can use; checked when the rule is used, not when
    /// the config is read (as sops: a config may hold rules without keys, e.g. for other tools).
    pub fn check_usable(&self, file: &str) -> Result<(), Error> {
        if self.key_groups.iter().any(|g| !g.recipients.is_empty()) {
            return Ok(());
        }
        let others: Vec<&str> = self
            .key_groups
            .iter()
            .flat_map(|g| g.unsupported.iter().map(String::as_str))
            .collect();
        let message = if others.is_empty() {
            "the rule has no keys: add `age: age1...` (or key_groups with age, pgp, kms or hc_vault entries)".to_string()
        } else {
            format!(
                "the rule only has key types this tool cannot use here ({}); add an age recipient",
                others.join(", ")
            )
        };
        Err(Error::Invalid {
            file: file.to_string(),
            line: self.line,
            message,
        })
    }
}

/// The recipients of one key group (age recipients and PGP fingerprints, as
/// [`crate::crypto::keys::Backend::of`] tells them apart), and the key types in it that this
/// tool cannot use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleKeyGroup {
    pub recipients: Vec<String>,
    pub unsupported: Vec<String>,
}

/// A loaded config.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub rules: Vec<CreationRule>,
    /// The `secrets:` section: typed policies (see [`policy`]).
    pub policies: Vec<policy::Policy>,
    /// The `recipients:` section: a name for each person or machine and the keys it holds, of
    /// any backend (sops ignores the section). Used by `secrets access` to name recipients.
    pub recipients: Vec<NamedRecipient>,
}

/// One entry of the `recipients:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedRecipient {
    pub name: String,
    /// Its keys as written: age recipients, SSH public keys, PGP fingerprints, KMS ARNs, Vault
    /// transit URIs...
    pub keys: Vec<String>,
    pub line: usize,
}

/// Find the config: `explicit` (`--config` or `SOPS_CONFIG`), else the nearest `.sops.yaml`
/// in the target's folder or above it.
pub fn find(explicit: Option<&Path>, target: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let absolute = std::path::absolute(target).ok()?;
    let mut dir = absolute.parent();
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

const RULE_KEYS: &[&str] = &[
    "path_regex",
    "age",
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hckms",
    "aws_profile",
    "key_groups",
    "shamir_threshold",
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
];
const GROUP_KEYS: &[&str] = &[
    "age",
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault",
    "hckms",
    "merge",
];
const TOP_KEYS: &[&str] = &[
    "creation_rules",
    "destination_rules",
    "stores",
    "secrets",
    "scan",
    "recipients",
];
const UNSUPPORTED_KEY_TYPES: &[&str] = &["gcp_kms", "azure_keyvault", "hckms"];

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let file = path.display().to_string();
        let invalid = |line: usize, message: String| Error::Invalid {
            file: file.clone(),
            line,
            message,
        };
        let root = yaml::load(text)
            .map_err(|(line, message)| invalid(line, format!("invalid YAML: {message}")))?;
        let mut rules = Vec::new();
        let Some(root) = root else {
            return Ok(Config {
                path: path.to_path_buf(),
                rules,
                policies: Vec::new(),
                recipients: Vec::new(),
            });
        };
        let Node::Map(top) = &root.node else {
            return Err(invalid(root.line, "the config must be a mapping".into()));
        };
        for (key, value) in top {
            if !TOP_KEYS.contains(&key.as_str()) {
                return Err(invalid(value.line, unknown_key(key, TOP_KEYS)));
            }
        }
        if let Some((_, list)) = top.iter().find(|(k, _)| k == "creation_rules") {
            let Node::List(items) = &list.node else {
                return Err(invalid(list.line, "creation_rules must be a list".into()));
            };
            for item in items {
                rules.push(parse_rule(item).map_err(|(line, message)| invalid(line, message))?);
            }
        }
        let policies = match top.iter().find(|(k, _)| k == "secrets") {
            Some((_, value)) => {
                policy::parse_policies(value).map_err(|(line, message)| invalid(line, message))?
            }
            None => Vec::new(),
        };
        let recipients = match top.iter().find(|(k, _)| k == "recipients") {
            Some((_, value)) => {
                parse_recipients(value).map_err(|(line, message)| invalid(line, message))?
            }
            None => Vec::new(),
        };
        Ok(Config {
            path: path.to_path_buf(),
            rules,
            policies,
            recipients,
        })
    }

    /// The folder `path_regex` is relative to.
    pub fn base_dir(&self) -> PathBuf {
        let absolute = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        absolute.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// The string `path_regex` is matched against: the file's absolute path with the config's
    /// folder stripped (a file outside it is matched by its absolute path), as sops does.
    pub fn match_path(&self, target: &Path) -> String {
        let absolute = std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf());
        let base = self.base_dir();
        match absolute.strip_prefix(&base) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => absolute.to_string_lossy().into_owned(),
        }
    }

    /// The first rule that matches `target`.
    pub fn rule_for(&self, target: &Path) -> Result<&CreationRule, Error> {
        let rel = self.match_path(target);
        self.rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&rel)))
            .ok_or_else(|| Error::NoMatchingRule {
                file: self.path.display().to_string(),
                target: rel.clone(),
                suggestion: format!(
                    "creation_rules:\n  - path_regex: ^{}$\n    age: age1...",
                    regex::escape(&rel)
                ),
            })
    }
}

fn unknown_key(key: &str, known: &[&str]) -> String {
    format!("unknown key {key:?} (known keys: {})", known.join(", "))
}

type ParseResult<T> = Result<T, (usize, String)>;

fn parse_rule(item: &Spanned) -> ParseResult<CreationRule> {
    let Node::Map(entries) = &item.node else {
        return Err((item.line, "a creation rule must be a mapping".into()));
    };
    let mut rule = CreationRule {
        line: item.line,
        path_regex: None,
        key_groups: Vec::new(),
        shamir_threshold: 0,
        encryption: None,
        mac_only_encrypted: false,
    };
    let mut flat = RuleKeyGroup::default();
    let mut groups = None;
    let mut flat_kms: Vec<crate::crypto::keys::kms::KmsKey> = Vec::new();
    let mut aws_profile = String::new();
    for (key, value) in entries {
        let line = value.line;
        match key.as_str() {
            "path_regex" => {
                let text = scalar(value, key)?;
                rule.path_regex =
                    Some(Regex::new(text).map_err(|e| (line, format!("invalid path_regex: {e}")))?);
            }
            "age" => flat.recipients.extend(string_list(value, key)?),
            "pgp" => flat.recipients.extend(pgp_list(value, key)?),
            "hc_vault_transit_uri" => flat.recipients.extend(vault_list(value, key)?),
            "aws_profile" => aws_profile = scalar(value, key)?.to_string(),
            "kms" => flat_kms.extend(kms_list(value, key)?),
            "key_groups" => groups = Some(parse_groups(value)?),
            "shamir_threshold" => {
                rule.shamir_threshold = scalar(value, key)?
                    .parse()
                    .map_err(|_| (line, "shamir_threshold must be a whole number".to_string()))?
            }
            "mac_only_encrypted" => {
                rule.mac_only_encrypted = match scalar(value, key)? {
                    "true" | "True" | "TRUE" => true,
                    "false" | "False" | "FALSE" => false,
                    _ => return Err((line, "mac_only_encrypted must be true or false".into())),
                }
            }
            k if UNSUPPORTED_KEY_TYPES.contains(&k) => {
                if !string_list(value, key)
                    .map(|l| l.is_empty())
                    .unwrap_or(false)
                {
                    flat.unsupported.push(k.to_string());
                }
            }
            k => {
                let Some(kind) = RuleKind::ALL.into_iter().find(|r| r.key() == k) else {
                    return Err((line, unknown_key(k, RULE_KEYS)));
                };
                let arg = scalar(value, key)?.to_string();
                if matches!(kind, RuleKind::UnencryptedRegex | RuleKind::EncryptedRegex) {
                    Regex::new(&arg).map_err(|e| (line, format!("invalid {k}: {e}")))?;
                }
                if let Some((existing, _)) = &rule.encryption {
                    return Err((
                        line,
                        format!("{k} and {} cannot both be set", existing.key()),
                    ));
                }
                rule.encryption = Some((kind, arg));
            }
        }
    }
    // A rule's aws_profile applies to its flat kms keys that name none (as sops).
    for mut k in flat_kms {
        if k.aws_profile.is_empty() {
            k.aws_profile = aws_profile.clone();
        }
        flat.recipients.push(k.spec());
    }
    rule.key_groups = match groups {
        Some(groups) => groups,
        None => vec![flat],
    };
    if rule.key_groups.len() > 1 && rule.shamir_threshold > rule.key_groups.len() as u64 {
        return Err((
            item.line,
            format!(
                "shamir_threshold {} is more than the {} key groups",
                rule.shamir_threshold,
                rule.key_groups.len()
            ),
        ));
    }
    Ok(rule)
}

fn parse_groups(value: &Spanned) -> ParseResult<Vec<RuleKeyGroup>> {
    let Node::List(items) = &value.node else {
        return Err((value.line, "key_groups must be a list".into()));
    };
    items.iter().map(parse_group).collect()
}

fn parse_group(item: &Spanned) -> ParseResult<RuleKeyGroup> {
    let Node::Map(entries) = &item.node else {
        return Err((item.line, "a key group must be a mapping".into()));
    };
    let mut group = RuleKeyGroup::default();
    for (key, value) in entries {
        match key.as_str() {
            "age" => group.recipients.extend(string_list(value, key)?),
            "pgp" => group.recipients.extend(pgp_list(value, key)?),
            "hc_vault" => group.recipients.extend(vault_list(value, key)?),
            "kms" => group
                .recipients
                .extend(kms_list(value, key)?.iter().map(|k| k.spec())),
            "merge" => {
                for merged in parse_groups(value)? {
                    group.recipients.extend(merged.recipients);
                    group.unsupported.extend(merged.unsupported);
                }
            }
            k if GROUP_KEYS.contains(&k) => group.unsupported.push(k.to_string()),
            k => return Err((value.line, unknown_key(k, GROUP_KEYS))),
        }
    }
    let mut seen = std::collections::HashSet::new();
    group.recipients.retain(|r| seen.insert(r.clone()));
    Ok(group)
}

/// `recipients:`: a mapping from a name to a key or a list of keys.
fn parse_recipients(value: &Spanned) -> ParseResult<Vec<NamedRecipient>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let Node::Map(entries) = &value.node else {
        return Err((
            value.line,
            "recipients must be a mapping from a name to its keys".into(),
        ));
    };
    let mut out: Vec<NamedRecipient> = Vec::new();
    for (name, keys) in entries {
        if out.iter().any(|r| &r.name == name) {
            return Err((keys.line, format!("recipient {name:?} is listed twice")));
        }
        let line = keys.line;
        let keys = string_list(keys, name)?;
        if keys.is_empty() {
            return Err((line, format!("recipient {name:?} has no keys")));
        }
        out.push(NamedRecipient {
            name: name.clone(),
            keys,
            line,
        });
    }
    Ok(out)
}

fn scalar<'a>(value: &'a Spanned, key: &str) -> ParseResult<&'a str> {
    value
        .as_str()
        .ok_or((value.line, format!("{key} must be a single value")))
}

/// PGP fingerprints (spaces removed, as sops does); anything else is an error naming the line.
fn pgp_list(value: &Spanned, key: &str) -> ParseResult<Vec<String>> {
    let list: Vec<String> = string_list(value, key)?
        .iter()
        .map(|f| crate::crypto::keys::pgp::normalize(f))
        .collect();
    match list
        .iter()
        .find(|f| !crate::crypto::keys::pgp::is_fingerprint(f))
    {
        Some(bad) => Err((
            value.line,
            format!("pgp entry {bad:?} is not a PGP fingerprint (40 hex digits) or key ID"),
        )),
        None => Ok(list),
    }
}

/// Vault transit URIs (`https://HOST/v1/ENGINE/keys/NAME`); anything else is an error naming
/// the line.
fn vault_list(value: &Spanned, key: &str) -> ParseResult<Vec<String>> {
    let list = string_list(value, key)?;
    for uri in &list {
        crate::crypto::keys::vault::TransitKey::parse(uri).map_err(|e| (value.line, e))?;
    }
    Ok(list)
}

/// KMS keys: `ARN[+ROLE]` strings (comma-separated or a list), or key-group objects with
/// `arn`, `role`, `context` and `aws_profile`.
fn kms_list(value: &Spanned, key: &str) -> ParseResult<Vec<crate::crypto::keys::kms::KmsKey>> {
    use crate::crypto::keys::kms::KmsKey;
    let parse = |line: usize, s: &str| KmsKey::parse(s).map_err(|e| (line, e));
    match &value.node {
        Node::List(items) => items
            .iter()
            .map(|item| match &item.node {
                Node::Map(fields) => {
                    let mut k = KmsKey::default();
                    for (name, v) in fields {
                        match name.as_str() {
                            "arn" => k.arn = scalar(v, name)?.to_string(),
                            "role" => k.role = scalar(v, name)?.to_string(),
                            "aws_profile" => k.aws_profile = scalar(v, name)?.to_string(),
                            "context" => {
                                let Node::Map(pairs) = &v.node else {
                                    return Err((v.line, "context must be a mapping".into()));
                                };
                                for (ck, cv) in pairs {
                                    k.context.push((ck.clone(), scalar(cv, ck)?.to_string()));
                                }
                                k.context.sort();
                            }
                            other => {
                                return Err((
                                    v.line,
                                    unknown_key(other, &["arn", "role", "context", "aws_profile"]),
                                ));
                            }
                        }
                    }
                    let spec = k.spec();
                    parse(item.line, &spec)
                }
                _ => parse(item.line, scalar(item, key)?),
            })
            .collect(),
        _ => string_list(value, key)?
            .iter()
            .map(|s| parse(value.line, s))
            .collect(),
    }
}

/// A comma-separated string or a list of strings.
fn string_list(value: &Spanned, key: &str) -> ParseResult<Vec<String>> {
    match &value.node {
        _ if value.is_null() => Ok(Vec::new()),
        Node::Scalar(s, _) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Node::List(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or((i.line, format!("{key} entries must be strings")))
            })
            .collect(),
        Node::Map(_) => Err((
            value.line,
            format!("{key} must be a string or a list of strings"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";

    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(text, Path::new("/repo/.sops.yaml"))
    }

    #[test]
    fn first_matching_rule_wins_and_paths_are_relative_to_the_config() {
        let cfg = parse(&format!(
            "creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    age: {R1}\n    encrypted_regex: ^(data|stringData)$\n  - age: [{R1}, {R1}]\n"
        ))
        .unwrap();
        let prod = cfg.rule_for(Path::new("/repo/prod/app.yaml")).unwrap();
        assert_eq!(prod.line, 2);
        assert_eq!(
            prod.encryption.as_ref().unwrap().0,
            RuleKind::EncryptedRegex
        );
        let other = cfg.rule_for(Path::new("/repo/dev/app.yaml")).unwrap();
        assert_eq!(other.line, 5);
        assert_eq!(other.key_groups[0].recipients.len(), 2);
    }

    #[test]
    fn typos_bad_regexes_and_keyless_rules_are_errors_with_lines() {
        let err = parse(&format!(
            "creation_rules:\n  - path_regex: x\n    agee: {R1}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 3") && err.contains("unknown key \"agee\""),
            "{err}"
        );
        let err = parse(&format!(
            "creation_rules:\n  - path_regex: '('\n    age: {R1}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 2") && err.contains("invalid path_regex"),
            "{err}"
        );
        let cfg = parse("creation_rules:\n  - path_regex: x\n    gcp_kms: projects/x\n").unwrap();
        let err = cfg.rules[0].check_usable("c").unwrap_err().to_string();
        assert!(err.contains("cannot use here (gcp_kms)"), "{err}");
        let err = parse(&format!(
            "creation_rules:\n  - age: {R1}\n    encrypted_regex: a\n    unencrypted_suffix: b\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("cannot both be set"), "{err}");
    }

    #[test]
    fn no_matching_rule_names_the_file_and_suggests_one() {
        let cfg = parse(&format!(
            "creation_rules:\n  - path_regex: ^prod/\n    age: {R1}\n"
        ))
        .unwrap();
        let err = cfg.rule_for(Path::new("/repo/dev/a.yaml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("no creation rule matches dev/a.yaml"),
            "{err}"
        );
        let Error::NoMatchingRule { suggestion, .. } = err else {
            panic!()
        };
        assert!(
            suggestion.contains("path_regex: ^dev/a\\.yaml$"),
            "{suggestion}"
        );
    }

    #[test]
    fn key_groups_with_merge_and_threshold() {
        let cfg = parse(&format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{R1}]\n      - age:\n          - {R1}\n        gcp_kms: [X]\n      - merge:\n          - age: [{R1}]\n"
        ))
        .unwrap();
        let rule = &cfg.rules[0];
        assert_eq!(rule.key_groups.len(), 3);
        assert_eq!(rule.shamir_threshold, 2);
        assert_eq!(rule.key_groups[1].unsupported, vec!["gcp_kms".to_string()]);
        assert_eq!(rule.key_groups[2].recipients, vec![R1.to_string()]);
    }
}
