//! Access review: who can open which encrypted file, how that differs from what the creation
//! rules ask for now (drift), and who could read each version in Git history.
//!
//! Everything here is keyless: it reads the recipients in each file's `sops` metadata and the
//! keys the creation rules list, and names them through the `recipients:` section of
//! `.sops.yaml` (a name for each person or machine and the keys it holds). Nothing is printed
//! here; `cli` renders the reports.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::config::{Config, CreationRule, NamedRecipient, RuleKeyGroup};
use crate::document::metadata::Metadata;
use crate::git::{self, Repo, WalkOptions};
use crate::history::{self, History, delta};

/// A key in the one spelling used for comparisons: age recipients as written, SSH public keys
/// without their comment, `pgp:FINGERPRINT` in capitals, `kms:ARN`, `hc_vault:ADDRESS/KEY`,
/// `gcp_kms:RESOURCE`, `azure_kv:VAULT/KEY`, `hckms:KEY_ID` (the form of the history's
/// recipient ids, see [`delta::group_recipients`]).
pub fn canonical_key(key: &str) -> String {
    let key = key.trim();
    if key.starts_with("ssh-") || key.starts_with("ecdsa-") || key.starts_with("sk-") {
        return key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    }
    if let Some(fp) = key.strip_prefix("pgp:") {
        return format!("pgp:{}", pgp_fingerprint(fp));
    }
    if key.starts_with("arn:aws:kms:") || key.starts_with("arn:aws-") {
        // `ARN+ROLE_ARN` names the key by its ARN; the role is how to reach it.
        let arn = key.split('+').next().unwrap_or(key);
        return format!("kms:{arn}");
    }
    if let Some(rest) = key.strip_prefix("kms:") {
        return format!("kms:{}", rest.split('+').next().unwrap_or(rest));
    }
    if key.starts_with("http://") || key.starts_with("https://") {
        if let Some((address, rest)) = key.split_once("/v1/")
            && let Some((_, name)) = rest.rsplit_once("/keys/")
        {
            return format!("hc_vault:{address}/{name}");
        }
        if let Some((vault, rest)) = key.split_once("/keys/") {
            let name = rest.split('/').next().unwrap_or(rest);
            return format!("azure_kv:{vault}/{name}");
        }
    }
    if key.starts_with("projects/") && key.contains("/cryptoKeys/") {
        return format!("gcp_kms:{key}");
    }
    let hex = pgp_fingerprint(key);
    if hex.len() >= 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return format!("pgp:{hex}");
    }
    key.to_string()
}

fn pgp_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Who a key belongs to: a name from `recipients:`, or the key itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    Named(String),
    Key(String),
}

impl Member {
    /// How the member is shown: the name, or an unnamed key shortened (`age1abcd…wxyz`).
    pub fn label(&self) -> String {
        match self {
            Member::Named(n) => n.clone(),
            Member::Key(k) => short_key(k),
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Member::Named(n) => Some(n),
            Member::Key(_) => None,
        }
    }
}

/// An unnamed key shortened for display: enough to recognise it, not a wall of base64.
pub fn short_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 24 {
        return key.to_string();
    }
    let head: String = chars[..14].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

/// The names of `recipients:`, by canonical key.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    by_key: HashMap<String, String>,
    /// Every name, in the config's order.
    pub names: Vec<String>,
}

impl Directory {
    pub fn new(recipients: &[NamedRecipient]) -> Directory {
        let mut by_key = HashMap::new();
        for r in recipients {
            for k in &r.keys {
                by_key
                    .entry(canonical_key(k))
                    .or_insert_with(|| r.name.clone());
            }
        }
        Directory {
            by_key,
            names: recipients.iter().map(|r| r.name.clone()).collect(),
        }
    }

    /// The member holding a key.
    pub fn member(&self, key: &str) -> Member {
        let canonical = canonical_key(key);
        match self.by_key.get(&canonical) {
            Some(name) => Member::Named(name.clone()),
            None => Member::Key(canonical),
        }
    }

    /// The distinct members holding these keys, names first in config order, then keys.
    pub fn members<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Vec<Member> {
        let mut out: Vec<Member> = Vec::new();
        for k in keys {
            let m = self.member(k);
            if !out.contains(&m) {
                out.push(m);
            }
        }
        self.sort(&mut out);
        out
    }

    fn sort(&self, members: &mut [Member]) {
        fn rank<'a>(names: &[String], m: &'a Member) -> (u8, usize, &'a str) {
            match m {
                Member::Named(n) => (0, names.iter().position(|x| x == n).unwrap_or(0), ""),
                Member::Key(k) => (1, 0, k.as_str()),
            }
        }
        members.sort_by(|a, b| rank(&self.names, a).cmp(&rank(&self.names, b)));
    }
}

/// The keys of a creation rule's key group, canonical.
fn rule_group_keys(group: &RuleKeyGroup) -> Vec<String> {
    // KMS recipients carry their context and profile after `|`; the key is the ARN.
    group
        .recipients
        .iter()
        .map(|k| canonical_key(k.split('|').next().unwrap_or(k)))
        .collect()
}

/// The keys of each key group of a file, canonical.
pub fn file_group_keys(meta: &Metadata) -> Vec<Vec<String>> {
    delta::group_recipients(meta)
        .into_iter()
        .map(|g| g.into_iter().map(|r| canonical_key(&r.id)).collect())
        .collect()
}

/// How many key groups it takes to open a file (sops: `shamir_threshold`, 0 meaning all).
fn groups_needed(threshold: u64, groups: usize) -> usize {
    match groups {
        0 | 1 => groups,
        n if threshold == 0 => n,
        n => (threshold as usize).min(n),
    }
}

/// One key group of a file and its members.
#[derive(Clone, Debug)]
pub struct GroupAccess {
    pub keys: Vec<String>,
    pub members: Vec<Member>,
}

/// How a file stands against its creation rule.
#[derive(Clone, Debug)]
pub enum RuleStatus {
    /// No `.sops.yaml` above the file.
    NoConfig,
    /// The config has no rule for the file.
    NoRule { config: PathBuf },
    /// The rule at `line` matches; the file's keys differ from it when `drift` says so.
    Rule {
        config: PathBuf,
        line: usize,
        drift: Option<Drift>,
    },
}

/// How a file's recipients differ from what its rule lists now.
#[derive(Clone, Debug, Default)]
pub struct Drift {
    /// Listed by the rule, missing from the file.
    pub missing: Vec<Member>,
    /// In the file, not listed by the rule.
    pub extra: Vec<Member>,
    /// The same keys, arranged in other key groups or with another threshold:
    /// (file groups, file threshold, rule groups, rule threshold).
    pub groups: Option<(usize, usize, usize, usize)>,
}

/// Who can open one file.
#[derive(Clone, Debug)]
pub struct FileAccess {
    /// As given, or relative to the folder scanned.
    pub path: String,
    pub groups: Vec<GroupAccess>,
    /// Key groups needed to open the file.
    pub needed: usize,
    pub rule: RuleStatus,
}

impl FileAccess {
    /// Whether the file's recipients differ from its rule's, or no rule covers it.
    pub fn drifted(&self) -> bool {
        match &self.rule {
            RuleStatus::NoConfig | RuleStatus::NoRule { .. } => true,
            RuleStatus::Rule { drift, .. } => drift.is_some(),
        }
    }

    /// How many of the needed groups a member holds a key in.
    pub fn groups_held(&self, member: &Member) -> usize {
        self.groups
            .iter()
            .filter(|g| g.members.contains(member))
            .count()
    }

    /// Every member of the file, in group order.
    pub fn members(&self) -> Vec<Member> {
        let mut out: Vec<Member> = Vec::new();
        for g in &self.groups {
            for m in &g.members {
                if !out.contains(m) {
                    out.push(m.clone());
                }
            }
        }
        out
    }
}

/// What a member can do with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Opens it alone.
    Opens,
    /// Holds keys in `held` of the `needed` groups: needs others (Shamir).
    Share {
        held: usize,
        needed: usize,
    },
    None,
}

impl FileAccess {
    pub fn reach(&self, member: &Member) -> Reach {
        let held = self.groups_held(member);
        if held == 0 {
            Reach::None
        } else if held >= self.needed {
            Reach::Opens
        } else {
            Reach::Share {
                held,
                needed: self.needed,
            }
        }
    }
}

/// The access report of one encrypted file, given its metadata and its config (if any).
pub fn file_access(
    path: String,
    target: &Path,
    meta: &Metadata,
    config: Option<&Config>,
) -> FileAccess {
    let directory = config
        .map(|c| Directory::new(&c.recipients))
        .unwrap_or_default();
    let keys = file_group_keys(meta);
    let groups: Vec<GroupAccess> = keys
        .iter()
        .map(|g| GroupAccess {
            keys: g.clone(),
            members: directory.members(g.iter().map(String::as_str)),
        })
        .collect();
    let needed = groups_needed(meta.shamir_threshold, groups.len());
    let rule = match config {
        None => RuleStatus::NoConfig,
        Some(c) => match c.rule_for(target) {
            Err(_) => RuleStatus::NoRule {
                config: c.path.clone(),
            },
            Ok(rule) => RuleStatus::Rule {
                config: c.path.clone(),
                line: rule.line,
                drift: drift(&keys, needed, rule, &directory),
            },
        },
    };
    FileAccess {
        path,
        groups,
        needed,
        rule,
    }
}

/// How a file's key groups differ from a rule's; `None` when they agree (same keys in the same
/// groups, in any order, and the same threshold).
fn drift(
    file: &[Vec<String>],
    needed: usize,
    rule: &CreationRule,
    dir: &Directory,
) -> Option<Drift> {
    let wanted: Vec<Vec<String>> = rule.key_groups.iter().map(rule_group_keys).collect();
    let wanted_needed = groups_needed(rule.shamir_threshold, wanted.len());
    let all_file: Vec<&String> = file.iter().flatten().collect();
    let all_rule: Vec<&String> = wanted.iter().flatten().collect();
    let missing: Vec<&str> = all_rule
        .iter()
        .filter(|k| !all_file.contains(k))
        .map(|k| k.as_str())
        .collect();
    let extra: Vec<&str> = all_file
        .iter()
        .filter(|k| !all_rule.contains(k))
        .map(|k| k.as_str())
        .collect();
    let sorted = |groups: &[Vec<String>]| {
        let mut g: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                let mut g = g.clone();
                g.sort();
                g.dedup();
                g
            })
            .collect();
        g.sort();
        g
    };
    let same_groups = sorted(file) == sorted(&wanted) && needed == wanted_needed;
    if missing.is_empty() && extra.is_empty() && same_groups {
        return None;
    }
    // A member listed on both sides (one of several keys changed) shows as the key that differs.
    let missing = dir.members(missing);
    let extra = dir.members(extra);
    Some(Drift {
        groups: (!same_groups && missing.is_empty() && extra.is_empty()).then_some((
            file.len(),
            needed,
            wanted.len(),
            wanted_needed,
        )),
        missing,
        extra,
    })
}

/// A member's access to a file over its Git history.
#[derive(Clone, Debug)]
pub struct Period {
    pub member: Member,
    /// The commit (full id) and committer time from which the member could read the file.
    pub from: (String, i64),
    /// The commit that removed the member, and its time; `None`: still a recipient at HEAD.
    pub until: Option<(String, i64)>,
}

/// A value that a removed member could read and that has not changed since.
#[derive(Clone, Debug)]
pub struct ExposedValue {
    pub key: String,
    pub member: Member,
    /// Where the member was removed.
    pub removed_in: String,
    pub removed_at: i64,
    /// Where the value last changed.
    pub changed_in: String,
    pub changed_at: i64,
}

/// Who could read a file, version by version.
#[derive(Clone, Debug)]
pub struct HistoryAccess {
    pub path: String,
    pub periods: Vec<Period>,
    pub exposed: Vec<ExposedValue>,
    /// Versions that could not be read (skipped).
    pub unreadable: usize,
}

/// Who could read each version of `path` (repository-relative), oldest first, and the values
/// readable by a since-removed member (the `stale` command's notion of exposure).
pub fn history_access(
    repo: &Repo,
    path: &str,
    dir: &Directory,
) -> Result<HistoryAccess, history::Error> {
    let history = History::load(repo, path, &WalkOptions::default())?;
    if history.versions.is_empty() {
        return Err(git::Error::NeverTracked {
            path: path.to_string(),
        }
        .into());
    }
    let mut periods: Vec<Period> = Vec::new();
    let mut open: BTreeMap<Member, usize> = BTreeMap::new();
    let mut unreadable = 0;
    // Oldest first, by committer time (the walk is newest first).
    let mut versions: Vec<_> = history.versions.iter().collect();
    versions.reverse();
    versions.sort_by_key(|v| v.commit.committer_time);
    for version in versions {
        let meta = match history.parsed(&version.blob) {
            Some(Ok(parsed)) => match &parsed.map.metadata {
                Some(meta) => meta,
                None => continue,
            },
            _ => {
                unreadable += 1;
                continue;
            }
        };
        let keys = file_group_keys(meta);
        let now = dir.members(keys.iter().flatten().map(String::as_str));
        let at = (version.commit.id.clone(), version.commit.committer_time);
        let gone: Vec<Member> = open.keys().filter(|m| !now.contains(m)).cloned().collect();
        for m in gone {
            let i = open.remove(&m).expect("open period");
            periods[i].until = Some(at.clone());
        }
        for m in now {
            if !open.contains_key(&m) {
                open.insert(m.clone(), periods.len());
                periods.push(Period {
                    member: m,
                    from: at.clone(),
                    until: None,
                });
            }
        }
    }
    let mut exposed = Vec::new();
    let changes = history.last_changes()?;
    let mut keys: Vec<&String> = changes.keys().collect();
    keys.sort();
    for key in keys {
        let change = &changes[key];
        for e in &change.exposed_to {
            exposed.push(ExposedValue {
                key: key.clone(),
                member: dir.member(&e.recipient),
                removed_in: e.removed_in.clone(),
                removed_at: e.removed_at,
                changed_in: change.commit.clone(),
                changed_at: change.time,
            });
        }
    }
    Ok(HistoryAccess {
        path: path.to_string(),
        periods,
        exposed,
        unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_in_one_spelling() {
        assert_eq!(
            canonical_key("ssh-ed25519 AAAAC3Nza alice@laptop"),
            canonical_key("ssh-ed25519 AAAAC3Nza")
        );
        assert_eq!(
            canonical_key("85D7 7543 B3D6 24B6 3CEA  9E6D BC17 301B 491B 3F21"),
            "pgp:85D77543B3D624B63CEA9E6DBC17301B491B3F21"
        );
        assert_eq!(
            canonical_key("pgp:85d77543b3d624b63cea9e6dbc17301b491b3f21"),
            "pgp:85D77543B3D624B63CEA9E6DBC17301B491B3F21"
        );
        assert_eq!(
            canonical_key("arn:aws:kms:eu-west-1:111122223333:key/abc+arn:aws:iam::1:role/x"),
            "kms:arn:aws:kms:eu-west-1:111122223333:key/abc"
        );
        assert_eq!(
            canonical_key("https://vault.example.com:8200/v1/transit/keys/prod"),
            "hc_vault:https://vault.example.com:8200/prod"
        );
        assert_eq!(canonical_key("age1abc"), "age1abc");
    }

    #[test]
    fn names_come_from_any_of_a_persons_keys() {
        let dir = Directory::new(&[
            NamedRecipient {
                name: "alice".into(),
                keys: vec!["age1alice".into(), "ssh-ed25519 AAAAalice laptop".into()],
                line: 2,
            },
            NamedRecipient {
                name: "ci".into(),
                keys: vec!["arn:aws:kms:eu-west-1:1:key/k".into()],
                line: 3,
            },
        ]);
        assert_eq!(
            dir.member("ssh-ed25519 AAAAalice"),
            Member::Named("alice".into())
        );
        assert_eq!(
            dir.member("kms:arn:aws:kms:eu-west-1:1:key/k"),
            Member::Named("ci".into())
        );
        assert_eq!(
            dir.members([
                "age1zed",
                "age1alice",
                "ssh-ed25519 AAAAalice x",
                "kms:arn:aws:kms:eu-west-1:1:key/k"
            ]),
            vec![
                Member::Named("alice".into()),
                Member::Named("ci".into()),
                Member::Key("age1zed".into())
            ]
        );
    }
}
