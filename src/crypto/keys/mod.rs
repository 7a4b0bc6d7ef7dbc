//! Master keys: wrap the data key for recipients and recover it with identities.

pub mod age;

use zeroize::Zeroizing;

use super::data_key::DataKey;
use crate::document::metadata::{AgeKey, KeyGroup, Metadata};

pub use self::age::Identities;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid age recipient {recipient:?}: {message}")]
    BadRecipient { recipient: String, message: String },
    #[error("no recipients: nobody could decrypt the file")]
    NoRecipients,
    #[error("could not encrypt the data key for {recipient}: {message}")]
    Wrap { recipient: String, message: String },
    #[error("no identity could decrypt the data key (the file is encrypted for {})", .recipients.join(", "))]
    NoMatchingIdentity { recipients: Vec<String> },
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
    let wrap_group = |secret: &[u8], recipients: &[String]| -> Result<KeyGroup, Error> {
        let age = recipients
            .iter()
            .map(|r| {
                Ok(AgeKey {
                    recipient: r.clone(),
                    enc: age::wrap(secret, r)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(KeyGroup {
            age,
            others: Vec::new(),
        })
    };
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

/// The secret one group's keys wrap: the first age key our identities open.
fn unwrap_group(group: &KeyGroup, identities: &Identities) -> Result<Zeroizing<Vec<u8>>, Error> {
    if group.age.is_empty() {
        return Err(Error::UnusableKeyTypes {
            kinds: group.others.iter().map(|(k, _)| k.clone()).collect(),
        });
    }
    group
        .age
        .iter()
        .find_map(|key| age::unwrap(&key.enc, identities))
        .ok_or_else(|| Error::NoMatchingIdentity {
            recipients: group.age.iter().map(|k| k.recipient.clone()).collect(),
        })
}
