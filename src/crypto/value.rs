//! One value: AES-256-GCM with sops's 32-byte IV, and the `ENC[AES256_GCM,...]` envelope.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use zeroize::Zeroizing;

use super::data_key::DataKey;
use crate::document::{Plaintext, ValueType};

/// AES-256-GCM with a 32-byte nonce, as sops uses it.
pub type Cipher = AesGcm<Aes256, U32>;

use crate::document::envelope::{Envelope, PREFIX, ParseError};

/// Why a value could not be decrypted. Never carries the value.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("not an ENC[AES256_GCM,...] value")]
    NotEncrypted,
    #[error("malformed ENC[...] value: {0}")]
    Malformed(&'static str),
    #[error("bad base64 in the {0} field of the ENC[...] value")]
    BadBase64(&'static str),
    #[error("unknown value type in ENC[...]")]
    UnknownType,
    #[error(
        "authentication failed: the value was tampered with, moved to another key, or encrypted with another data key"
    )]
    Authentication,
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        match e {
            ParseError::NotEncrypted => Error::NotEncrypted,
            ParseError::Malformed(what) => Error::Malformed(what),
        }
    }
}

/// A cipher ready to encrypt and decrypt many values with one data key.
pub struct ValueCipher {
    cipher: Cipher,
}

impl ValueCipher {
    pub fn new(key: &DataKey) -> ValueCipher {
        ValueCipher {
            cipher: Cipher::new_from_slice(key.as_bytes()).expect("32-byte key"),
        }
    }

    /// Encrypt `plaintext` with a fresh random IV, bound to `aad`.
    ///
    /// IVs come from `ThreadRng`, a CSPRNG (ChaCha12) seeded and periodically reseeded from the
    /// operating system, which spares a system call per value.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8], kind: ValueType) -> String {
        let mut iv = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut iv);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::<U32>::from_slice(&iv),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let (data, tag) = sealed.split_at(sealed.len() - 16);
        let kind = kind.name();
        // Exact capacity: the ENC strings are most of an encrypted file, so no slack per value.
        let len = PREFIX.len()
            + base64::encoded_len(data.len(), true).unwrap_or(0)
            + ",iv:".len()
            + 44
            + ",tag:".len()
            + 24
            + ",type:".len()
            + kind.len()
            + 1;
        let mut out = String::with_capacity(len);
        out.push_str(PREFIX);
        B64.encode_string(data, &mut out);
        out.push_str(",iv:");
        B64.encode_string(iv, &mut out);
        out.push_str(",tag:");
        B64.encode_string(tag, &mut out);
        out.push_str(",type:");
        out.push_str(kind);
        out.push(']');
        out
    }

    /// Decrypt an `ENC[...]` string bound to `aad`.
    pub fn decrypt(&self, enc: &str, aad: &[u8]) -> Result<Plaintext, Error> {
        let parts = Envelope::parse(enc)?;
        // IV and tag decode into stack buffers; the data is decrypted in place.
        let mut bytes = Zeroizing::new(
            B64.decode(parts.data)
                .map_err(|_| Error::BadBase64("data"))?,
        );
        let mut iv = [0u8; 48];
        let iv_len = B64
            .decode_slice(parts.iv, &mut iv)
            .map_err(|_| Error::BadBase64("iv"))?;
        if iv_len != 32 {
            return Err(Error::Malformed("the IV is not 32 bytes"));
        }
        let mut tag = [0u8; 24];
        let tag_len = B64
            .decode_slice(parts.tag, &mut tag)
            .map_err(|_| Error::BadBase64("tag"))?;
        if tag_len != 16 {
            return Err(Error::Malformed("the tag is not 16 bytes"));
        }
        let kind = ValueType::from_name(parts.kind).ok_or(Error::UnknownType)?;
        self.cipher
            .decrypt_in_place_detached(
                Nonce::<U32>::from_slice(&iv[..32]),
                aad,
                &mut bytes,
                aes_gcm::Tag::from_slice(&tag[..16]),
            )
            .map_err(|_| Error::Authentication)?;
        Ok(Plaintext { kind, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::envelope::is_encrypted;

    #[test]
    fn encrypt_then_decrypt_is_the_identity_and_binds_the_aad() {
        let key = DataKey::generate();
        let c = ValueCipher::new(&key);
        let enc = c.encrypt(b"hunter2", b"db:password:", ValueType::Str);
        assert!(is_encrypted(&enc));
        assert!(enc.ends_with(",type:str]"));
        let plain = c.decrypt(&enc, b"db:password:").unwrap();
        assert_eq!(&plain.bytes[..], b"hunter2");
        assert_eq!(plain.kind, ValueType::Str);
        assert_eq!(
            c.decrypt(&enc, b"db:user:").unwrap_err(),
            Error::Authentication
        );
    }

    #[test]
    fn equal_values_get_different_ciphertexts() {
        let c = ValueCipher::new(&DataKey::generate());
        assert_ne!(
            c.encrypt(b"x", b"a:", ValueType::Str),
            c.encrypt(b"x", b"a:", ValueType::Str)
        );
    }

    #[test]
    fn malformed_envelopes_are_named() {
        let c = ValueCipher::new(&DataKey::generate());
        assert_eq!(c.decrypt("plain", b"").unwrap_err(), Error::NotEncrypted);
        assert_eq!(
            c.decrypt("ENC[AES256_GCM,data:QQ==,iv:QQ==]", b"")
                .unwrap_err(),
            Error::Malformed("missing tag field")
        );
        assert_eq!(
            c.decrypt("ENC[AES256_GCM,data:!!,iv:QQ==,tag:QQ==,type:str]", b"")
                .unwrap_err(),
            Error::BadBase64("data")
        );
    }
}
