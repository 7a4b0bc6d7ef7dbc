//! The per-file data key: 32 random bytes, zeroized on drop, never printed.

use rand::RngCore;
use zeroize::Zeroizing;

/// The AES-256 key every value of a file is encrypted with. No `Debug`, no `Display`.
pub struct DataKey(Zeroizing<[u8; 32]>);

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
