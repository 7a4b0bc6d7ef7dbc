//! The per-file data key: 32 random bytes, zeroized on drop, never printed.

use rand::RngCore;
use zeroize::Zeroizing;

/// The AES-256 key every value of a file is encrypted with. No `Display`; `Debug` is redacted.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// A key recovered from a master key; None unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::tree::Node;
    use crate::document::{Plaintext, ValueType};

    /// Key material and plaintext never show in `{:?}`: not the bytes, not their hex.
    #[test]
    fn debug_output_holds_no_key_or_plaintext() {
        let key = DataKey::from_slice(&[0x5a; 32]).unwrap();
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let secret = "Canary-debug-7Hq";
        let plain = Plaintext {
            kind: ValueType::Str,
            bytes: Zeroizing::new(secret.as_bytes().to_vec()),
        };
        let tree = Node::Map(vec![
            ("password".into(), Node::Str(secret.into())),
            ("port".into(), Node::Int(48_213)),
            ("list".into(), Node::List(vec![Node::Str(secret.into())])),
        ]);
        let cipher = crate::crypto::ValueCipher::new(&key);
        for shown in [
            format!("{key:?}"),
            format!("{plain:?}"),
            format!("{tree:?}"),
            format!("{tree:#?}"),
            format!("{:?}", cipher.decrypt("ENC[bad]", b"x:").err()),
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains("48213"), "{shown}");
            assert!(!shown.contains(&hex), "{shown}");
        }
        // The shape stays visible, for debugging.
        assert!(format!("{tree:?}").contains("password"));
    }
}
