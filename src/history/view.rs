//! The keyless structural view of an encrypted file: every key path with a short fingerprint
//! of its ciphertext (values left unencrypted are shown as stored: they are plaintext in the
//! file already), then the recipients. No `mac` or `lastmodified`: they change on every write.

use sha2::{Digest, Sha256};

use super::keymap::KeyMap;

/// A short, stable fingerprint of a stored ciphertext: equal fingerprints mean an unchanged
/// value (it tells nothing about the plaintext).
pub fn fingerprint(stored: &str) -> String {
    let digest = Sha256::digest(stored.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The view as text, one line per value. `keep` filters key paths.
pub fn redacted(map: &KeyMap, keep: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    for e in map.entries.iter().filter(|e| keep(&e.path)) {
        if e.is_encrypted() {
            out.push_str(&format!("{}: <enc {}>\n", e.path, fingerprint(&e.stored)));
        } else {
            out.push_str(&format!("{}: {}\n", e.path, e.stored));
        }
    }
    if let Some(meta) = &map.metadata {
        let recipients = super::recipients(meta);
        out.push_str(&format!("# recipients ({}):\n", recipients.len()));
        for r in recipients {
            out.push_str(&format!("#   {}\n", r.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Format;

    #[test]
    fn the_view_hides_ciphertexts_and_lists_recipients() {
        let text = "a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nb_unencrypted: 5\nsops:\n    age:\n        - recipient: age1xyz\n          enc: x\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: m\n    version: 3.11.0\n";
        let map = crate::history::keymap::key_map(Format::Yaml, text.as_bytes()).unwrap();
        let view = redacted(&map, &|_| true);
        assert!(view.starts_with("a: <enc "), "{view}");
        assert!(view.contains("b_unencrypted: 5\n"));
        assert!(view.contains("#   age1xyz\n"));
        assert!(!view.contains("AA=="));
        assert!(!view.contains("lastmodified"));
    }
}
