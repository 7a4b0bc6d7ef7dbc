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
    #[error("the file uses {groups} key groups (Shamir secret sharing), which this build cannot combine yet")]
    KeyGroups { groups: usize },
    #[error("the file has no master keys")]
    NoKeys,
    #[error("a master key decrypted to {len} bytes, not a 32-byte data key")]
    BadDataKey { len: usize },
    #[error("invalid identity in {source_name}: {message}")]
    BadIdentity { source_name: String, message: String },
}

/// Wrap the data key for every recipient, in one key group.
pub fn wrap_for_recipients(key: &DataKey, recipients: &[String]) -> Result<Vec<KeyGroup>, Error> {
    if recipients.is_empty() {
        return Err(Error::NoRecipients);
    }
    let age = recipients
        .iter()
        .map(|r| Ok(AgeKey { recipient: r.clone(), enc: age::wrap(key.as_bytes(), r)? }))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(vec![KeyGroup { age, others: Vec::new() }])
}

/// Recover the data key from the metadata with the identities at hand.
pub fn recover_data_key(meta: &Metadata, identities: &Identities) -> Result<DataKey, Error> {
    match meta.key_groups.len() {
        0 => return Err(Error::NoKeys),
        1 => {}
        groups => return Err(Error::KeyGroups { groups }),
    }
    let group = &meta.key_groups[0];
    if group.age.is_empty() {
        return Err(Error::UnusableKeyTypes { kinds: group.others.iter().map(|(k, _)| k.clone()).collect() });
    }
    for key in &group.age {
        if let Some(bytes) = age::unwrap(&key.enc, identities) {
            let bytes: Zeroizing<Vec<u8>> = bytes;
            return DataKey::from_slice(&bytes).ok_or(Error::BadDataKey { len: bytes.len() });
        }
    }
    Err(Error::NoMatchingIdentity { recipients: group.age.iter().map(|k| k.recipient.clone()).collect() })
}
