//! The `ENC[...]` envelope: any string either decrypts or gives an error, never a panic; and
//! a value we encrypt decrypts back (with its type) under the same AAD only.
#![no_main]

use secrets::crypto::{DataKey, ValueCipher};
use secrets::document::ValueType;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cipher = ValueCipher::new(&DataKey::from_slice(&[9u8; 32]).unwrap());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cipher.decrypt(text, b"a:");
        let _ = secrets::crypto::value::is_encrypted(text);
    }
    // Empty values are never encrypted (sops leaves them as they are, and reads `data:` empty
    // as malformed, as we do).
    if data.is_empty() {
        return;
    }
    let enc = cipher.encrypt(data, b"k:", ValueType::Str);
    let back = cipher.decrypt(&enc, b"k:").expect("our envelope decrypts");
    assert!(back.bytes.as_slice() == data && back.kind == ValueType::Str);
    assert!(cipher.decrypt(&enc, b"j:").is_err(), "the AAD is checked");
});
