//! Which leaves are encrypted: sops's partial-encryption rules (SOPS-FORMAT.md §1.2).

use regex::Regex;

use crate::document::metadata::RuleKind;

/// A resolved rule. The default is `unencrypted_suffix: _unencrypted`.
#[derive(Clone, Debug)]
pub enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    /// The comment-regex rules: on decrypt, a value is encrypted iff it holds an ENC[...] value.
    ByComments(RuleKind, String),
    /// The binary store: everything is encrypted and no rule is written.
    Everything,
}

/// The default suffix.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

#[derive(Debug, thiserror::Error)]
#[error("invalid {key} regular expression: {message}")]
pub struct Error {
    pub key: &'static str,
    pub message: String,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

impl Rule {
    /// Build a rule from its metadata spelling.
    pub fn from_spec(kind: &RuleKind, arg: &str) -> Result<Rule, Error> {
        let regex = |key| {
            Regex::new(arg).map_err(|e| Error {
                key,
                message: e.to_string(),
            })
        };
        Ok(match kind {
            RuleKind::UnencryptedSuffix => Rule::UnencryptedSuffix(arg.to_string()),
            RuleKind::EncryptedSuffix => Rule::EncryptedSuffix(arg.to_string()),
            RuleKind::UnencryptedRegex => Rule::UnencryptedRegex(regex("unencrypted_regex")?),
            RuleKind::EncryptedRegex => Rule::EncryptedRegex(regex("encrypted_regex")?),
            other => Rule::ByComments(other.clone(), arg.to_string()),
        })
    }

    /// The metadata spelling of this rule (None for the binary store).
    pub fn spec(&self) -> Option<(RuleKind, String)> {
        Some(match self {
            Rule::UnencryptedSuffix(s) => (RuleKind::UnencryptedSuffix, s.clone()),
            Rule::EncryptedSuffix(s) => (RuleKind::EncryptedSuffix, s.clone()),
            Rule::UnencryptedRegex(r) => (RuleKind::UnencryptedRegex, r.as_str().to_string()),
            Rule::EncryptedRegex(r) => (RuleKind::EncryptedRegex, r.as_str().to_string()),
            Rule::ByComments(kind, arg) => (kind.clone(), arg.clone()),
            Rule::Everything => return None,
        })
    }

    /// Whether the value at `path` is encrypted. None for comment rules, which depend on the
    /// comments around the value rather than its path.
    pub fn encrypts(&self, path: &[String]) -> Option<bool> {
        Some(match self {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path.iter().any(|k| r.is_match(k)),
            Rule::EncryptedRegex(r) => path.iter().any(|k| r.is_match(k)),
            Rule::ByComments(..) => return None,
            Rule::Everything => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suffix_rules_look_at_every_ancestor_key() {
        let r = Rule::default();
        assert_eq!(r.encrypts(&p(&["db", "password"])), Some(true));
        assert_eq!(r.encrypts(&p(&["db_unencrypted", "password"])), Some(false));
        let e = Rule::EncryptedSuffix("_secret".into());
        assert_eq!(e.encrypts(&p(&["api_secret", "x"])), Some(true));
        assert_eq!(e.encrypts(&p(&["api", "x"])), Some(false));
    }

    #[test]
    fn regex_rules_search_unanchored() {
        let r = Rule::from_spec(&RuleKind::EncryptedRegex, "^(data|stringData)$").unwrap();
        assert_eq!(r.encrypts(&p(&["stringData", "token"])), Some(true));
        assert_eq!(r.encrypts(&p(&["metadata", "name"])), Some(false));
        let u = Rule::from_spec(&RuleKind::UnencryptedRegex, "public").unwrap();
        assert_eq!(u.encrypts(&p(&["my_public_key"])), Some(false));
        assert!(Rule::from_spec(&RuleKind::EncryptedRegex, "(").is_err());
    }
}
