//! Master keys: wrap the data key for recipients and recover it with identities.

//!
//! One module per backend (`age`, `pgp`); this module only dispatches. A recipient is named by
//! one string, its backend told by its shape ([`Backend::of`]); a new backend (GCP KMS, Azure
//! Key Vault, ...) is a new module plus an arm in [`Backend`], [`wrap_group`] and
//! [`unwrap_group`], not a change across commands.

pub mod age;
pub mod kms;
pub mod pgp;
pub mod vault;

use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::data_key::DataKey;
use crate::document::metadata::{AgeKey, KeyGroup, KmsEntry, Metadata, PgpKey, VaultKey};

/// The backends this tool wraps and unwraps data keys with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Age,
    Pgp,
    /// HashiCorp Vault / OpenBao transit (sops's `hc_vault`).
    Vault,
    /// AWS KMS (sops's `kms`).
    Kms,
}

impl Backend {
    /// The backend of a recipient string: PGP fingerprints are hex digits only; anything else
    /// is for age (which rejects what it does not know, by name).
    pub fn of(recipient: &str) -> Backend {
        if pgp::is_fingerprint(recipient) {
            Backend::Pgp
        } else if vault::is_uri(recipient) {
            Backend::Vault
        } else if kms::is_arn(recipient) {
            Backend::Kms
        } else {
            Backend::Age
        }
    }

    /// The name in `--decryption-order` / `SOPS_DECRYPTION_ORDER` and in metadata.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Age => "age",
            Backend::Pgp => "pgp",
            Backend::Vault => "hc_vault",
            Backend::Kms => "kms",
        }
    }
}

/// sops's default decryption order.
pub const DEFAULT_DECRYPTION_ORDER: &str = "age,pgp";

static DECRYPTION_ORDER: OnceLock<Vec<String>> = OnceLock::new();

/// Set the order key types are tried in (`--decryption-order`, `SOPS_DECRYPTION_ORDER`): a
/// comma-separated list of key type names; types left out are tried after, in file order.
/// Only the first call counts.
pub fn set_decryption_order(spec: &str) {
    let list = spec
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let _ = DECRYPTION_ORDER.set(list);
}

fn decryption_order() -> Vec<Backend> {
    let names = DECRYPTION_ORDER.get_or_init(|| {
        DEFAULT_DECRYPTION_ORDER
            .split(',')
            .map(String::from)
            .collect()
    });
    let mut order: Vec<Backend> = names
        .iter()
        .filter_map(|n| match n.as_str() {
            "age" => Some(Backend::Age),
            "pgp" => Some(Backend::Pgp),
            "hc_vault" | "hc_vault_transit" | "vault" => Some(Backend::Vault),
            "kms" | "aws_kms" => Some(Backend::Kms),
            _ => None,
        })
        .collect();
    for b in [Backend::Age, Backend::Pgp, Backend::Kms, Backend::Vault] {
        if !order.contains(&b) {
            order.push(b);
        }
    }
    order
}

pub use self::age::Identities;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid age recipient {recipient:?}: {message}")]
    BadRecipient { recipient: String, message: String },
    #[error("no recipients: nobody could decrypt the file")]
    NoRecipients,
    #[error("could not encrypt the data key for {recipient}: {message}")]
    Wrap { recipient: String, message: String },
    #[error("no key could decrypt the data key ({})", .attempts.join("; "))]
    NoMatchingIdentity { attempts: Vec<String> },
    #[error("the file's data key is wrapped only for key types this tool cannot use here ({})", .kinds.join(", "))]
    UnusableKeyTypes { kinds: Vec<String> },
    #[error("only {available} of the {groups} key groups could be decrypted, and {needed} are needed (groups that failed: {})", .failed.join("; "))]
    NotEnoughGroups {
        groups: usize,
        needed: usize,
        available: usize,
        failed: Vec<String>,
    },
    #[error(transparent)]
    Shamir(#[from] super::shamir::Error),
    #[error("the file has no master keys")]
    NoKeys,
    #[error("a master key decrypted to {len} bytes, not a 32-byte data key")]
    BadDataKey { len: usize },
    #[error("invalid identity in {source_name}: {message}")]
    BadIdentity {
        source_name: String,
        message: String,
    },
}

/// Wrap the data key for every recipient, in one key group.
pub fn wrap_for_recipients(key: &DataKey, recipients: &[String]) -> Result<Vec<KeyGroup>, Error> {
    wrap_for_groups(key, &[recipients.to_vec()], 0)
}

/// Wrap the data key for key groups: one group gets the whole key; several get one Shamir share
/// each (`threshold` 0 means all groups are needed).
pub fn wrap_for_groups(
    key: &DataKey,
    groups: &[Vec<String>],
    threshold: u64,
) -> Result<Vec<KeyGroup>, Error> {
    if groups.is_empty() || groups.iter().any(|g| g.is_empty()) {
        return Err(Error::NoRecipients);
    }
    if groups.len() == 1 {
        return Ok(vec![wrap_group(key.as_bytes(), &groups[0])?]);
    }
    let threshold = if threshold == 0 {
        groups.len()
    } else {
        threshold as usize
    };
    let shares = super::shamir::split(key.as_bytes(), groups.len(), threshold)?;
    groups
        .iter()
        .zip(&shares)
        .map(|(g, share)| wrap_group(share, g))
        .collect()
}

/// Wrap `secret` (the data key or a share) for one group's recipients, each with its backend.
fn wrap_group(secret: &[u8], recipients: &[String]) -> Result<KeyGroup, Error> {
    let mut group = KeyGroup::default();
    let created_at = crate::time::now_rfc3339();
    for r in recipients {
        match Backend::of(r) {
            Backend::Age => group.age.push(AgeKey {
                recipient: r.clone(),
                enc: age::wrap(secret, r)?,
            }),
            Backend::Pgp => {
                let fp = pgp::normalize(r);
                let enc = pgp::wrap(secret, &fp)?;
                group.pgp.push(PgpKey {
                    fp,
                    enc,
                    created_at: created_at.clone(),
                });
            }
            Backend::Vault => {
                let key = vault::TransitKey::parse(r).map_err(|message| Error::BadRecipient {
                    recipient: r.clone(),
                    message,
                })?;
                let enc = vault::wrap(secret, &key)?;
                group.vault.push(VaultKey {
                    vault_address: key.address,
                    engine_path: key.engine_path,
                    key_name: key.key_name,
                    created_at: created_at.clone(),
                    enc,
                });
            }
            Backend::Kms => {
                let key = kms::KmsKey::parse(r).map_err(|message| Error::BadRecipient {
                    recipient: r.clone(),
                    message,
                })?;
                let enc = kms::wrap(secret, &key)?;
                group.kms.push(KmsEntry {
                    arn: key.arn,
                    role: key.role,
                    context: key.context,
                    created_at: created_at.clone(),
                    enc,
                    aws_profile: key.aws_profile,
                });
            }
        }
    }
    Ok(group)
}

/// Recover the data key from the metadata with the identities at hand.
pub fn recover_data_key(meta: &Metadata, identities: &Identities) -> Result<DataKey, Error> {
    let groups = &meta.key_groups;
    if groups.is_empty() {
        return Err(Error::NoKeys);
    }
    if groups.len() == 1 {
        let bytes = unwrap_group(&groups[0], identities)?;
        return DataKey::from_slice(&bytes).ok_or(Error::BadDataKey { len: bytes.len() });
    }
    let needed = if meta.shamir_threshold == 0 {
        groups.len()
    } else {
        meta.shamir_threshold as usize
    };
    let mut shares = Vec::new();
    let mut failed = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        match unwrap_group(group, identities) {
            Ok(share) => shares.push(share),
            Err(e) => failed.push(format!("group {}: {e}", i + 1)),
        }
    }
    if shares.len() < needed {
        return Err(Error::NotEnoughGroups {
            groups: groups.len(),
            needed,
            available: shares.len(),
            failed,
        });
    }
    let bytes = super::shamir::combine(&shares)?;
    DataKey::from_slice(&bytes).ok_or(Error::BadDataKey { len: bytes.len() })
}

/// The secret one group's keys wrap: the first key that opens, trying key types in the
/// decryption order. On failure, every key tried and why it failed.
fn unwrap_group(group: &KeyGroup, identities: &Identities) -> Result<Zeroizing<Vec<u8>>, Error> {
    if group.age.is_empty()
        && group.pgp.is_empty()
        && group.vault.is_empty()
        && group.kms.is_empty()
    {
        return Err(Error::UnusableKeyTypes {
            kinds: group.others.iter().map(|(k, _)| k.clone()).collect(),
        });
    }
    let mut attempts = Vec::new();
    for backend in decryption_order() {
        match backend {
            Backend::Age => {
                for key in &group.age {
                    match age::unwrap(&key.enc, identities) {
                        Some(secret) => return Ok(secret),
                        None => {
                            attempts.push(format!("{}: no matching age identity", key.recipient))
                        }
                    }
                }
            }
            Backend::Pgp => {
                for key in &group.pgp {
                    match pgp::unwrap(&key.enc) {
                        Ok(secret) => return Ok(secret),
                        Err(why) => attempts.push(format!("PGP key {}: {why}", key.fp)),
                    }
                }
            }
            Backend::Vault => {
                for key in &group.vault {
                    let transit = vault::TransitKey {
                        address: key.vault_address.clone(),
                        engine_path: key.engine_path.clone(),
                        key_name: key.key_name.clone(),
                    };
                    match vault::unwrap(&key.enc, &transit) {
                        Ok(secret) => return Ok(secret),
                        Err(why) => attempts.push(format!("Vault key {}: {why}", key.uri())),
                    }
                }
            }
            Backend::Kms => {
                for entry in &group.kms {
                    match kms::unwrap(&entry.enc, &kms::KmsKey::of_entry(entry)) {
                        Ok(secret) => return Ok(secret),
                        Err(why) => attempts.push(format!("KMS key {}: {why}", entry.arn)),
                    }
                }
            }
        }
    }
    if !group.others.is_empty() {
        let kinds: Vec<&str> = group.others.iter().map(|(k, _)| k.as_str()).collect();
        attempts.push(format!("{} keys: not usable here", kinds.join(", ")));
    }
    Err(Error::NoMatchingIdentity { attempts })
}
