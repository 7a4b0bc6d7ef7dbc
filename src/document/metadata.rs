//! The `sops` metadata block: a generic ordered value as adapters read and write it
//! ([`MetaValue`]), the typed model ([`Metadata`]) and the flattened form of dotenv and INI.
//!
//! Field order follows sops's Go struct (SOPS-FORMAT.md §4.1), so sops reads every field and a
//! diff against a sops-written file stays small.

use super::Error;

/// An ordered, format-neutral value: what the `sops` block holds.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<MetaValue>),
    Map(Vec<(String, MetaValue)>),
}

impl MetaValue {
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        match self {
            MetaValue::Map(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An age master key: the recipient and the armored age file wrapping the data key (or share).
#[derive(Clone, Debug, PartialEq)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
}

/// A PGP master key: the fingerprint, the armored PGP message wrapping the data key (or share)
/// and when it was wrapped (sops's `created_at`, RFC 3339).
#[derive(Clone, Debug, PartialEq)]
pub struct PgpKey {
    pub fp: String,
    pub enc: String,
    pub created_at: String,
}

/// An AWS KMS key (sops's `kms` entry).
#[derive(Clone, Debug, PartialEq)]
pub struct KmsEntry {
    pub arn: String,
    pub role: String,
    /// The encryption context, sorted by key.
    pub context: Vec<(String, String)>,
    pub created_at: String,
    pub enc: String,
    pub aws_profile: String,
}

impl KmsEntry {
    /// The key as one recipient string (see [`kms_spec`]).
    pub fn spec(&self) -> String {
        kms_spec(&self.arn, &self.role, &self.context, &self.aws_profile)
    }
}

/// How a KMS key is named between commands: `ARN[+ROLE][|context=k:v,...][|profile=NAME]`
/// (`ARN` and `ARN+ROLE` are sops's own spellings; the rest carries what a stanza holds).
pub fn kms_spec(arn: &str, role: &str, context: &[(String, String)], profile: &str) -> String {
    let mut s = arn.to_string();
    if !role.is_empty() {
        s.push('+');
        s.push_str(role);
    }
    if !context.is_empty() {
        let ctx: Vec<String> = context.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        s.push_str("|context=");
        s.push_str(&ctx.join(","));
    }
    if !profile.is_empty() {
        s.push_str("|profile=");
        s.push_str(profile);
    }
    s
}

/// A Vault/OpenBao transit key (sops's `hc_vault` entry).
#[derive(Clone, Debug, PartialEq)]
pub struct VaultKey {
    pub vault_address: String,
    pub engine_path: String,
    pub key_name: String,
    pub created_at: String,
    pub enc: String,
}

impl VaultKey {
    /// The URI the key is named by: `{vault_address}/v1/{engine_path}/keys/{key_name}`.
    pub fn uri(&self) -> String {
        format!(
            "{}/v1/{}/keys/{}",
            self.vault_address, self.engine_path, self.key_name
        )
    }
}

/// One key group: the age and PGP keys we use, plus every other master key kept verbatim so a
/// teammate's key is never dropped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    pub age: Vec<AgeKey>,
    pub pgp: Vec<PgpKey>,
    pub vault: Vec<VaultKey>,
    pub kms: Vec<KmsEntry>,
    /// `gcp_kms`, `hckms`, `azure_kv` entries (and unknown types), as read.
    pub others: Vec<(String, MetaValue)>,
}

impl KeyGroup {
    /// Every recipient we can wrap for, as named on the command line: age recipients, PGP
    /// fingerprints, Vault transit URIs, then KMS keys.
    pub fn recipients(&self) -> Vec<String> {
        self.age
            .iter()
            .map(|k| k.recipient.clone())
            .chain(self.pgp.iter().map(|k| k.fp.clone()))
            .chain(self.vault.iter().map(VaultKey::uri))
            .chain(self.kms.iter().map(KmsEntry::spec))
            .collect()
    }
}

/// Which leaves are encrypted (at most one rule; none means `unencrypted_suffix: _unencrypted`).
#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    UnencryptedSuffix,
    EncryptedSuffix,
    UnencryptedRegex,
    EncryptedRegex,
    UnencryptedCommentRegex,
    EncryptedCommentRegex,
}

impl RuleKind {
    pub const ALL: [RuleKind; 6] = [
        RuleKind::UnencryptedSuffix,
        RuleKind::EncryptedSuffix,
        RuleKind::UnencryptedRegex,
        RuleKind::EncryptedRegex,
        RuleKind::UnencryptedCommentRegex,
        RuleKind::EncryptedCommentRegex,
    ];

    pub fn key(&self) -> &'static str {
        match self {
            RuleKind::UnencryptedSuffix => "unencrypted_suffix",
            RuleKind::EncryptedSuffix => "encrypted_suffix",
            RuleKind::UnencryptedRegex => "unencrypted_regex",
            RuleKind::EncryptedRegex => "encrypted_regex",
            RuleKind::UnencryptedCommentRegex => "unencrypted_comment_regex",
            RuleKind::EncryptedCommentRegex => "encrypted_comment_regex",
        }
    }
}

/// The typed metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub key_groups: Vec<KeyGroup>,
    pub shamir_threshold: u64,
    pub lastmodified: String,
    pub mac: String,
    /// The partial-encryption rule and its argument; None writes nothing (binary store).
    pub rule: Option<(RuleKind, String)>,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// The sealed layout record (`secrets_layout`, see `crypto::layout`); sops ignores it.
    pub layout: Option<String>,
}

/// The metadata key of the sealed layout record (see `crypto::layout` and docs/lossless.md).
pub const LAYOUT_KEY: &str = "secrets_layout";

/// The version we write: the sops release whose format we follow.
pub const SOPS_VERSION: &str = "3.11.0";

const FLAT_KEY_TYPES_BEFORE_AGE: [&str; 3] = ["gcp_kms", "hckms", "azure_kv"];

impl Metadata {
    /// Read the typed metadata from the block's generic value.
    pub fn from_meta(meta: &MetaValue) -> Result<Metadata, Error> {
        let MetaValue::Map(_) = meta else {
            return Err(Error::Metadata("the sops block is not a mapping".into()));
        };
        let groups = read_flat_group(meta)?;
        let key_groups = match groups {
            Some(group) => vec![group],
            None => match meta.get("key_groups") {
                Some(MetaValue::List(items)) => {
                    items.iter().map(read_group).collect::<Result<_, _>>()?
                }
                Some(MetaValue::Null) | None => Vec::new(),
                Some(_) => return Err(Error::Metadata("key_groups is not a list".into())),
            },
        };
        let shamir_threshold = match meta.get("shamir_threshold") {
            None | Some(MetaValue::Null) => 0,
            Some(MetaValue::Int(n)) if *n >= 0 => *n as u64,
            Some(MetaValue::Str(s)) => parse_threshold(s)?,
            Some(_) => return Err(Error::Metadata("shamir_threshold is not a number".into())),
        };
        let lastmodified = string_field(meta, "lastmodified")?.unwrap_or_default();
        if !lastmodified.is_empty() {
            crate::time::aad_for_lastmodified(&lastmodified).ok_or_else(|| {
                Error::Metadata("lastmodified is not an RFC 3339 timestamp".into())
            })?;
        }
        let mac = string_field(meta, "mac")?.unwrap_or_default();
        let mut rule = None;
        for kind in RuleKind::ALL {
            if let Some(arg) = string_field(meta, kind.key())? {
                if arg.is_empty() {
                    continue;
                }
                if rule.is_some() {
                    return Err(Error::Metadata(
                        "more than one partial-encryption rule is set".into(),
                    ));
                }
                rule = Some((kind, arg));
            }
        }
        let mac_only_encrypted = match meta.get("mac_only_encrypted") {
            None | Some(MetaValue::Null) => false,
            Some(MetaValue::Bool(b)) => *b,
            Some(MetaValue::Str(s)) if s == "true" || s == "false" => s == "true",
            Some(_) => {
                return Err(Error::Metadata(
                    "mac_only_encrypted is not a boolean".into(),
                ));
            }
        };
        let version = match meta.get("version") {
            Some(MetaValue::Str(s)) => s.clone(),
            None | Some(MetaValue::Null) => String::new(),
            Some(_) => return Err(Error::Metadata("version is not a string".into())),
        };
        // A record that is not a string is ignored like one that does not authenticate.
        let layout = match meta.get(LAYOUT_KEY) {
            Some(MetaValue::Str(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            rule,
            mac_only_encrypted,
            version,
            layout,
        })
    }

    /// The generic value to write, fields in sops's order.
    pub fn to_meta(&self) -> MetaValue {
        let mut items: Vec<(String, MetaValue)> = Vec::new();
        if self.shamir_threshold != 0 {
            items.push((
                "shamir_threshold".into(),
                MetaValue::Int(self.shamir_threshold as i64),
            ));
        }
        let mut pgp = None;
        // One group is written flat, as sops does, unless it holds a key type the flat form has
        // no field for (kept verbatim from a newer sops): then as a one-group list.
        let flat_ok = self.key_groups.first().is_none_or(|g| {
            g.others
                .iter()
                .all(|(k, _)| FLAT_KEY_TYPES_BEFORE_AGE.contains(&k.as_str()))
        });
        if self.key_groups.len() > 1 || !flat_ok {
            let groups = self.key_groups.iter().map(group_to_meta).collect();
            items.push(("key_groups".into(), MetaValue::List(groups)));
        } else if let Some(group) = self.key_groups.first() {
            if !group.kms.is_empty() {
                items.push(("kms".into(), kms_list(&group.kms)));
            }
            for kind in FLAT_KEY_TYPES_BEFORE_AGE {
                if let Some((_, v)) = group.others.iter().find(|(k, _)| k == kind) {
                    items.push((kind.into(), v.clone()));
                }
            }
            if !group.vault.is_empty() {
                items.push(("hc_vault".into(), vault_list(&group.vault)));
            }
            if !group.age.is_empty() {
                items.push(("age".into(), age_list(&group.age)));
            }
            pgp = (!group.pgp.is_empty()).then(|| pgp_list(&group.pgp));
        }
        items.push((
            "lastmodified".into(),
            MetaValue::Str(self.lastmodified.clone()),
        ));
        items.push(("mac".into(), MetaValue::Str(self.mac.clone())));
        if let Some(pgp) = pgp {
            items.push(("pgp".into(), pgp));
        }
        if let Some((kind, arg)) = &self.rule {
            items.push((kind.key().into(), MetaValue::Str(arg.clone())));
        }
        if self.mac_only_encrypted {
            items.push(("mac_only_encrypted".into(), MetaValue::Bool(true)));
        }
        items.push(("version".into(), MetaValue::Str(self.version.clone())));
        if let Some(layout) = &self.layout {
            items.push((LAYOUT_KEY.into(), MetaValue::Str(layout.clone())));
        }
        MetaValue::Map(items)
    }

    /// sops's `filestatus` test: the block loads and has a version and a MAC.
    pub fn looks_encrypted(&self) -> bool {
        !self.version.is_empty() && !self.mac.is_empty()
    }
}

fn parse_threshold(s: &str) -> Result<u64, Error> {
    let bad = || Error::Metadata("shamir_threshold is not a number".into());
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let f: f64 = s.parse().map_err(|_| bad())?;
    if f >= 0.0 && f.fract() == 0.0 {
        Ok(f as u64)
    } else {
        Err(bad())
    }
}

fn string_field(meta: &MetaValue, key: &str) -> Result<Option<String>, Error> {
    match meta.get(key) {
        None | Some(MetaValue::Null) => Ok(None),
        Some(MetaValue::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::Metadata(format!("{key} is not a string"))),
    }
}

fn is_empty_list(v: &MetaValue) -> bool {
    matches!(v, MetaValue::Null) || matches!(v, MetaValue::List(l) if l.is_empty())
}

/// The flat keys (one key group), if any flat key list is non-empty.
fn read_flat_group(meta: &MetaValue) -> Result<Option<KeyGroup>, Error> {
    let mut group = KeyGroup::default();
    let mut any = false;
    if let Some(v) = meta.get("kms").filter(|v| !is_empty_list(v)) {
        any = true;
        group.kms = read_kms_list(v)?;
    }
    for kind in ["gcp_kms", "hckms", "azure_kv"] {
        if let Some(v) = meta.get(kind).filter(|v| !is_empty_list(v)) {
            any = true;
            group.others.push((kind.into(), v.clone()));
        }
    }
    if let Some(v) = meta.get("hc_vault").filter(|v| !is_empty_list(v)) {
        any = true;
        group.vault = read_vault_list(v)?;
    }
    if let Some(v) = meta.get("pgp").filter(|v| !is_empty_list(v)) {
        any = true;
        group.pgp = read_pgp_list(v)?;
    }
    if let Some(v) = meta.get("age").filter(|v| !is_empty_list(v)) {
        any = true;
        group.age = read_age_list(v)?;
    }
    Ok(any.then_some(group))
}

fn read_group(meta: &MetaValue) -> Result<KeyGroup, Error> {
    let MetaValue::Map(items) = meta else {
        return Err(Error::Metadata("a key group is not a mapping".into()));
    };
    let mut group = KeyGroup::default();
    for (k, v) in items {
        if k == "age" {
            if !is_empty_list(v) {
                group.age = read_age_list(v)?;
            }
        } else if k == "pgp" {
            if !is_empty_list(v) {
                group.pgp = read_pgp_list(v)?;
            }
        } else if k == "hc_vault" {
            if !is_empty_list(v) {
                group.vault = read_vault_list(v)?;
            }
        } else if k == "kms" {
            if !is_empty_list(v) {
                group.kms = read_kms_list(v)?;
            }
        } else if !is_empty_list(v) {
            group.others.push((k.clone(), v.clone()));
        }
    }
    Ok(group)
}

fn read_age_list(v: &MetaValue) -> Result<Vec<AgeKey>, Error> {
    let MetaValue::List(items) = v else {
        return Err(Error::Metadata("age is not a list".into()));
    };
    items
        .iter()
        .map(|item| {
            let recipient = string_field(item, "recipient")?.unwrap_or_default();
            let enc = string_field(item, "enc")?.unwrap_or_default();
            if recipient.is_empty() || enc.is_empty() {
                return Err(Error::Metadata(
                    "an age entry lacks its recipient or enc".into(),
                ));
            }
            Ok(AgeKey { recipient, enc })
        })
        .collect()
}

fn read_pgp_list(v: &MetaValue) -> Result<Vec<PgpKey>, Error> {
    let MetaValue::List(items) = v else {
        return Err(Error::Metadata("pgp is not a list".into()));
    };
    items
        .iter()
        .map(|item| {
            let fp = string_field(item, "fp")?.unwrap_or_default();
            let enc = string_field(item, "enc")?.unwrap_or_default();
            if fp.is_empty() || enc.is_empty() {
                return Err(Error::Metadata("a pgp entry lacks its fp or enc".into()));
            }
            let created_at = string_field(item, "created_at")?.unwrap_or_default();
            Ok(PgpKey {
                fp,
                enc,
                created_at,
            })
        })
        .collect()
}

fn read_kms_list(v: &MetaValue) -> Result<Vec<KmsEntry>, Error> {
    let MetaValue::List(items) = v else {
        return Err(Error::Metadata("kms is not a list".into()));
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| -> Result<String, Error> {
                Ok(string_field(item, name)?.unwrap_or_default())
            };
            let mut context = Vec::new();
            match item.get("context") {
                None | Some(MetaValue::Null) => {}
                Some(MetaValue::Map(pairs)) => {
                    for (k, v) in pairs {
                        match v {
                            MetaValue::Str(s) => context.push((k.clone(), s.clone())),
                            MetaValue::Null => context.push((k.clone(), String::new())),
                            _ => {
                                return Err(Error::Metadata(
                                    "a kms context value is not a string".into(),
                                ));
                            }
                        }
                    }
                }
                Some(_) => return Err(Error::Metadata("a kms context is not a mapping".into())),
            }
            context.sort();
            let entry = KmsEntry {
                arn: field("arn")?,
                role: field("role")?,
                context,
                created_at: field("created_at")?,
                enc: field("enc")?,
                aws_profile: field("aws_profile")?,
            };
            if entry.arn.is_empty() || entry.enc.is_empty() {
                return Err(Error::Metadata("a kms entry lacks its arn or enc".into()));
            }
            Ok(entry)
        })
        .collect()
}

/// sops's field order for a KMS key: arn, role and context when set, created_at, enc,
/// aws_profile (always).
fn kms_list(keys: &[KmsEntry]) -> MetaValue {
    MetaValue::List(
        keys.iter()
            .map(|k| {
                let mut items = vec![("arn".to_string(), MetaValue::Str(k.arn.clone()))];
                if !k.role.is_empty() {
                    items.push(("role".into(), MetaValue::Str(k.role.clone())));
                }
                if !k.context.is_empty() {
                    let ctx = k
                        .context
                        .iter()
                        .map(|(a, b)| (a.clone(), MetaValue::Str(b.clone())))
                        .collect();
                    items.push(("context".into(), MetaValue::Map(ctx)));
                }
                items.push(("created_at".into(), MetaValue::Str(k.created_at.clone())));
                items.push(("enc".into(), MetaValue::Str(k.enc.clone())));
                items.push(("aws_profile".into(), MetaValue::Str(k.aws_profile.clone())));
                MetaValue::Map(items)
            })
            .collect(),
    )
}

fn read_vault_list(v: &MetaValue) -> Result<Vec<VaultKey>, Error> {
    let MetaValue::List(items) = v else {
        return Err(Error::Metadata("hc_vault is not a list".into()));
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| -> Result<String, Error> {
                Ok(string_field(item, name)?.unwrap_or_default())
            };
            let key = VaultKey {
                vault_address: field("vault_address")?,
                engine_path: field("engine_path")?,
                key_name: field("key_name")?,
                created_at: field("created_at")?,
                enc: field("enc")?,
            };
            if key.vault_address.is_empty() || key.key_name.is_empty() || key.enc.is_empty() {
                return Err(Error::Metadata(
                    "an hc_vault entry lacks its vault_address, key_name or enc".into(),
                ));
            }
            Ok(key)
        })
        .collect()
}

/// sops's field order for a Vault key.
fn vault_list(keys: &[VaultKey]) -> MetaValue {
    MetaValue::List(
        keys.iter()
            .map(|k| {
                MetaValue::Map(vec![
                    (
                        "vault_address".into(),
                        MetaValue::Str(k.vault_address.clone()),
                    ),
                    ("engine_path".into(), MetaValue::Str(k.engine_path.clone())),
                    ("key_name".into(), MetaValue::Str(k.key_name.clone())),
                    ("created_at".into(), MetaValue::Str(k.created_at.clone())),
                    ("enc".into(), MetaValue::Str(k.enc.clone())),
                ])
            })
            .collect(),
    )
}

/// sops's field order for a PGP key: `created_at`, `enc`, `fp`.
fn pgp_list(keys: &[PgpKey]) -> MetaValue {
    MetaValue::List(
        keys.iter()
            .map(|k| {
                MetaValue::Map(vec![
                    ("created_at".into(), MetaValue::Str(k.created_at.clone())),
                    ("enc".into(), MetaValue::Str(k.enc.clone())),
                    ("fp".into(), MetaValue::Str(k.fp.clone())),
                ])
            })
            .collect(),
    )
}

fn age_list(keys: &[AgeKey]) -> MetaValue {
    MetaValue::List(
        keys.iter()
            .map(|k| {
                MetaValue::Map(vec![
                    ("recipient".into(), MetaValue::Str(k.recipient.clone())),
                    ("enc".into(), MetaValue::Str(k.enc.clone())),
                ])
            })
            .collect(),
    )
}

fn group_to_meta(group: &KeyGroup) -> MetaValue {
    let mut items = Vec::new();
    if !group.pgp.is_empty() {
        items.push(("pgp".to_string(), pgp_list(&group.pgp)));
    }
    if !group.kms.is_empty() {
        items.push(("kms".to_string(), kms_list(&group.kms)));
    }
    for kind in ["gcp_kms", "hckms", "azure_kv"] {
        if let Some((_, v)) = group.others.iter().find(|(k, _)| k == kind) {
            items.push((kind.to_string(), v.clone()));
        }
    }
    items.push(("hc_vault".into(), vault_list(&group.vault)));
    items.push(("age".into(), age_list(&group.age)));
    // Key types we do not know, kept as they were read.
    for (k, v) in &group.others {
        if !["gcp_kms", "hckms", "azure_kv"].contains(&k.as_str()) {
            items.push((k.clone(), v.clone()));
        }
    }
    MetaValue::Map(items)
}

/// Flatten for dotenv and INI: nested maps join with `__map_`, list indices with `__list_<n>`,
/// nulls dropped, booleans and numbers as strings, newlines as the two characters `\n`.
pub fn flatten(meta: &MetaValue) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let MetaValue::Map(items) = meta {
        for (k, v) in items {
            flatten_into(k.clone(), v, &mut out);
        }
    }
    out
}

fn flatten_into(prefix: String, v: &MetaValue, out: &mut Vec<(String, String)>) {
    match v {
        MetaValue::Null => {}
        MetaValue::Bool(b) => out.push((prefix, b.to_string())),
        MetaValue::Int(n) => out.push((prefix, n.to_string())),
        MetaValue::Str(s) => out.push((prefix, s.replace('\n', "\\n"))),
        MetaValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_into(format!("{prefix}__list_{i}"), item, out);
            }
        }
        MetaValue::Map(items) => {
            for (k, item) in items {
                flatten_into(format!("{prefix}__map_{k}"), item, out);
            }
        }
    }
}

/// The inverse of [`flatten`]. Typed fields (`mac_only_encrypted`, `shamir_threshold`) come back
/// as strings; [`Metadata::from_meta`] accepts both.
pub fn unflatten(pairs: &[(String, String)]) -> MetaValue {
    let mut root = MetaValue::Map(Vec::new());
    for (key, value) in pairs {
        let steps = split_flat_key(key);
        insert_flat(
            &mut root,
            &steps,
            MetaValue::Str(value.replace("\\n", "\n")),
        );
    }
    root
}

enum Step {
    Key(String),
    Index(usize),
}

fn split_flat_key(key: &str) -> Vec<Step> {
    let next_separator = |s: &str| {
        [s.find("__map_"), s.find("__list_")]
            .into_iter()
            .flatten()
            .min()
    };
    let end = next_separator(key).unwrap_or(key.len());
    let mut steps = vec![Step::Key(key[..end].to_string())];
    let mut rest = &key[end..];
    while !rest.is_empty() {
        if let Some(t) = rest.strip_prefix("__map_") {
            let end = next_separator(t).unwrap_or(t.len());
            steps.push(Step::Key(t[..end].to_string()));
            rest = &t[end..];
        } else if let Some(t) = rest.strip_prefix("__list_") {
            let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            steps.push(Step::Index(t[..end].parse().unwrap_or(0)));
            rest = &t[end..];
        } else {
            break;
        }
    }
    steps
}

fn insert_flat(node: &mut MetaValue, steps: &[Step], value: MetaValue) {
    let Some((step, rest)) = steps.split_first() else {
        *node = value;
        return;
    };
    match step {
        Step::Key(k) => {
            if !matches!(node, MetaValue::Map(_)) {
                *node = MetaValue::Map(Vec::new());
            }
            let MetaValue::Map(items) = node else {
                unreachable!()
            };
            let slot = match items.iter().position(|(key, _)| key == k) {
                Some(i) => i,
                None => {
                    items.push((k.clone(), MetaValue::Null));
                    items.len() - 1
                }
            };
            insert_flat(&mut items[slot].1, rest, value);
        }
        Step::Index(i) => {
            if !matches!(node, MetaValue::List(_)) {
                *node = MetaValue::List(Vec::new());
            }
            let MetaValue::List(items) = node else {
                unreachable!()
            };
            while items.len() <= *i {
                items.push(MetaValue::Null);
            }
            insert_flat(&mut items[*i], rest, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (metadata): a key group holding only a key type we do not know lost it
    /// on the next write (a one-group file is written flat, which had no place for it).
    #[test]
    fn unknown_key_types_survive_a_write() {
        let unknown = ("future_kms".to_string(), MetaValue::Str("arn:x".into()));
        for groups in [1, 2] {
            let meta = Metadata {
                key_groups: (0..groups)
                    .map(|_| KeyGroup {
                        age: Vec::new(),
                        pgp: vec![],
                        vault: vec![],
                        kms: vec![],
                        others: vec![unknown.clone()],
                    })
                    .collect(),
                shamir_threshold: 0,
                lastmodified: String::new(),
                mac: String::new(),
                rule: None,
                mac_only_encrypted: false,
                version: "3.11.0".into(),
                layout: None,
            };
            let back = Metadata::from_meta(&meta.to_meta()).unwrap();
            assert_eq!(back, meta, "{groups} group(s)");
        }
    }

    fn sample() -> Metadata {
        Metadata {
            key_groups: vec![KeyGroup {
                age: vec![AgeKey {
                    recipient: "age1abc".into(),
                    enc: "-----BEGIN AGE-----\nxyz\n".into(),
                }],
                pgp: vec![],
                vault: vec![],
                kms: vec![],
                others: vec![],
            }],
            shamir_threshold: 0,
            lastmodified: "2026-11-22T07:35:20Z".into(),
            mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
            rule: Some((RuleKind::UnencryptedSuffix, "_unencrypted".into())),
            mac_only_encrypted: true,
            version: SOPS_VERSION.into(),
            layout: None,
        }
    }

    #[test]
    fn flatten_then_unflatten_is_the_identity_on_metadata() {
        let meta = sample().to_meta();
        let flat = flatten(&meta);
        assert!(flat.iter().any(|(k, _)| k == "age__list_0__map_recipient"));
        assert!(
            flat.iter()
                .any(|(k, v)| k == "age__list_0__map_enc" && v.contains("\\n"))
        );
        let back = Metadata::from_meta(&unflatten(&flat)).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn nested_key_groups_flatten_with_list_and_map_steps() {
        let mut m = sample();
        m.key_groups.push(m.key_groups[0].clone());
        m.shamir_threshold = 2;
        let flat = flatten(&m.to_meta());
        assert!(
            flat.iter()
                .any(|(k, _)| k == "key_groups__list_1__map_age__list_0__map_enc")
        );
        assert_eq!(Metadata::from_meta(&unflatten(&flat)).unwrap(), m);
    }
}
