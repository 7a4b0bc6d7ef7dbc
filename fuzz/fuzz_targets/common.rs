//! What every document target checks, shared with `#[path]` (each target is its own binary).

use secrets::crypto::{self, DataKey, Rule, ValueCipher};
use secrets::document::{self, Format, Plaintext, Replacement, ValueType, tree};

/// Parse `data` as `format`; when it parses:
/// - rendering with every leaf replaced (by a ciphertext, then by a plaintext) does not panic;
/// - the tree view (used by --extract and --output-type) loads and re-emits without panicking;
/// - for a plaintext document, encrypt then decrypt gives back the same values (same MAC), and
///   its text after at most one normalisation (a second round trip is byte for byte).
pub fn check_document(format: Format, data: &[u8]) {
    let Ok(doc) = document::parse(format, data) else {
        return;
    };
    let n = doc.leaves().len();
    let enc = "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]".to_string();
    let mut edits: Vec<Option<Replacement>> = (0..n)
        .map(|_| Some(Replacement::Encrypted(enc.clone())))
        .collect();
    let _ = doc.render(&mut edits, None);
    let mut edits: Vec<Option<Replacement>> = doc
        .leaves()
        .iter()
        .enumerate()
        .map(|(i, _)| {
            Some(Replacement::Decrypted(Plaintext {
                kind: ValueType::Str,
                bytes: format!("v{i}\n\"'#:").into_bytes().into(),
            }))
        })
        .collect();
    let _ = doc.render(&mut edits, doc.metadata());
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(node) = tree::load(format, text) {
            for to in [
                Format::Yaml,
                Format::Json,
                Format::Toml,
                Format::Dotenv,
                Format::Ini,
            ] {
                let _ = tree::emit(to, &node);
            }
        }
    }
    let plain = doc.metadata().is_none()
        && doc.leaves().iter().all(|l| {
            !l.comment && !matches!(&l.value, document::Value::Str(s) if s.starts_with("ENC["))
        });
    if !plain {
        return;
    }
    let Some(back) = round_trip(format, doc.as_ref()) else {
        return;
    };
    // The values survive exactly (the MAC hashes every value as sops reads it); the spelling may
    // be normalised once (README: timestamps, escapes, folded blocks), and is then stable.
    let again = document::parse(format, &back).expect("our decrypted output parses");
    let rule = Rule::default();
    let mac = |d: &dyn document::Document| crypto::plaintext_mac(d.leaves(), &rule, false).ok();
    assert!(
        mac(doc.as_ref()) == mac(again.as_ref()),
        "a value changed in a round trip:\n{:?}\n---\n{:?}",
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&back)
    );
    let twice = round_trip(format, again.as_ref()).expect("a round trip of our output works");
    assert!(
        twice == back,
        "a second round trip changed the text:\n{}\n---\n{}",
        String::from_utf8_lossy(&back),
        String::from_utf8_lossy(&twice)
    );
}

/// Encrypt every value, render, parse that, decrypt, render: the plaintext that comes back.
/// None when encryption refuses the document (a rule it cannot apply).
fn round_trip(format: Format, doc: &dyn document::Document) -> Option<Vec<u8>> {
    let key = DataKey::from_slice(&[7u8; 32]).unwrap();
    let cipher = ValueCipher::new(&key);
    let rule = Rule::default();
    let mut encrypted = crypto::encrypt_leaves(doc.leaves(), &cipher, &rule, false).ok()?;
    // Written with a `sops` block, as encryption writes it: an encrypted file is read as one.
    let block = document::MetaValue::Map(vec![(
        "version".into(),
        document::MetaValue::Str("3.11.0".into()),
    )]);
    let enc_bytes = doc.render(&mut encrypted.edits, Some(&block)).ok()?;
    let enc_doc = document::parse(format, &enc_bytes).expect("our encrypted output parses");
    let mut decrypted = crypto::decrypt_leaves(enc_doc.leaves(), &cipher, &rule, false)
        .expect("our encrypted output decrypts");
    assert!(
        *decrypted.mac == *encrypted.mac,
        "the MAC after a round trip differs"
    );
    Some(enc_doc.render(&mut decrypted.edits, None).expect("renders"))
}
