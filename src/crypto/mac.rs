//! The file MAC: SHA-512 over the plaintext of every value in walk order (SOPS-FORMAT.md §3),
//! stored encrypted with `lastmodified` as AAD, compared in constant time, never printed.

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Accumulates the MAC over values in walk order.
pub struct MacHasher {
    hasher: Sha512,
}

impl MacHasher {
    /// With `mac_only_encrypted`, sops seeds the hash with SHA-256("sops") so such a MAC always
    /// differs from a normal one.
    pub fn new(mac_only_encrypted: bool) -> MacHasher {
        let mut hasher = Sha512::new();
        if mac_only_encrypted {
            hasher.update(Sha256::digest(b"sops"));
        }
        MacHasher { hasher }
    }

    pub fn update(&mut self, plaintext: &[u8]) {
        self.hasher.update(plaintext);
    }

    /// The MAC as sops stores it before encryption: 128 upper-case hex characters.
    pub fn finish(self) -> Zeroizing<String> {
        let digest = self.hasher.finalize();
        let mut out = String::with_capacity(128);
        for b in digest {
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
        Zeroizing::new(out)
    }
}

/// Constant-time equality of the computed and the stored MAC.
pub fn macs_match(computed: &str, stored: &[u8]) -> bool {
    computed.len() == stored.len() && bool::from(computed.as_bytes().ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_upper_hex_of_sha512_over_concatenated_values() {
        let mut h = MacHasher::new(false);
        h.update(b"a");
        h.update(b"bc");
        let mac = h.finish();
        assert_eq!(mac.len(), 128);
        let expected: String = Sha512::digest(b"abc")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(*mac, expected);
    }

    #[test]
    fn mac_only_encrypted_changes_the_mac() {
        assert_ne!(
            *MacHasher::new(true).finish(),
            *MacHasher::new(false).finish()
        );
        assert!(macs_match("AB", b"AB"));
        assert!(!macs_match("AB", b"AC"));
        assert!(!macs_match("AB", b"ABC"));
    }
}
