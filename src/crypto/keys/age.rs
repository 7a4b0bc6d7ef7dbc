//! age: X25519, post-quantum hybrid and SSH recipients; the only module that imports `age`.

use std::io::{Read, Write};
use std::iter;
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::Error;

/// Identities loaded from every place searched.
#[derive(Default)]
pub struct Identities {
    list: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl Identities {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Add the identities of an age keys file (`AGE-SECRET-KEY-1...` lines, `#` comments).
    pub fn add_keys_file(&mut self, text: &str, source_name: &str) -> Result<usize, Error> {
        let bad = |message: String| Error::BadIdentity {
            source_name: source_name.to_string(),
            message,
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with("age-encryption.org") || trimmed.starts_with("-----BEGIN AGE") {
            return Err(bad(
                "passphrase-encrypted identity files are not supported".into()
            ));
        }
        let file = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|_| bad("not an age identity file".into()))?;
        let ids = file
            .into_identities()
            .map_err(|_| bad("unsupported identity (plugin identities need age plugins)".into()))?;
        let n = ids.len();
        self.list.extend(ids);
        Ok(n)
    }

    /// Add an OpenSSH private key (ed25519 or RSA).
    pub fn add_ssh_key(&mut self, bytes: &[u8], source_name: &str) -> Result<(), Error> {
        let bad = |message: &str| Error::BadIdentity {
            source_name: source_name.to_string(),
            message: message.into(),
        };
        let id = age::ssh::Identity::from_buffer(bytes, Some(source_name.to_string()))
            .map_err(|_| bad("not an SSH private key"))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.list.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => {
                Err(bad("passphrase-protected SSH keys are not supported yet"))
            }
            age::ssh::Identity::Unsupported(_) => Err(bad("unsupported SSH key type")),
        }
    }
}

/// Parse one recipient: `age1...` (X25519), `age1pq1...` (hybrid), `ssh-ed25519 ...`, `ssh-rsa ...`.
pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>, Error> {
    let s = s.trim();
    let bad = |message: &str| Error::BadRecipient {
        recipient: s.to_string(),
        message: message.into(),
    };
    if s.starts_with("ssh-") {
        return age::ssh::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| bad("not a valid ssh-ed25519 or ssh-rsa public key"));
    }
    if s.starts_with("age1pq1") {
        return age::tagpq::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| bad("not a valid post-quantum age recipient"));
    }
    if s.starts_with("age1") {
        return age::x25519::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| {
                bad("not a valid age X25519 recipient (plugin recipients are not supported)")
            });
    }
    Err(bad("expected an age1... or ssh-... public key"))
}

/// Encrypt `secret` to one recipient as an ASCII-armored age file, as sops stores it.
pub fn wrap(secret: &[u8], recipient: &str) -> Result<String, Error> {
    let r = parse_recipient(recipient)?;
    let fail = |e: &dyn std::fmt::Display| Error::Wrap {
        recipient: recipient.to_string(),
        message: e.to_string(),
    };
    let encryptor = age::Encryptor::with_recipients(iter::once(r.as_ref() as &dyn age::Recipient))
        .map_err(|e| fail(&e))?;
    let mut out = Vec::with_capacity(400);
    let armored = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| fail(&e))?;
    let mut writer = encryptor.wrap_output(armored).map_err(|e| fail(&e))?;
    writer.write_all(secret).map_err(|e| fail(&e))?;
    writer
        .finish()
        .and_then(|a| a.finish())
        .map_err(|e| fail(&e))?;
    let mut text = String::from_utf8(out).map_err(|e| fail(&e))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Decrypt an armored age file with any of the identities. None if none of them can.
pub fn unwrap(enc: &str, identities: &Identities) -> Option<Zeroizing<Vec<u8>>> {
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes())).ok()?;
    let mut reader = decryptor
        .decrypt(
            identities
                .list
                .iter()
                .map(|i| i.as_ref() as &dyn age::Identity),
        )
        .ok()?;
    let mut out = Zeroizing::new(Vec::with_capacity(33));
    reader.read_to_end(&mut out).ok()?;
    Some(out)
}

/// A new X25519 identity: (the keys-file line `AGE-SECRET-KEY-1...`, the public `age1...`).
pub fn generate_identity() -> (Zeroizing<String>, String) {
    let id = age::x25519::Identity::generate();
    let secret = Zeroizing::new(id.to_string().expose_secret().to_string());
    (secret, id.to_public().to_string())
}

/// The public key of an X25519 identity line, if it is one.
pub fn public_key_of(secret_line: &str) -> Option<String> {
    age::x25519::Identity::from_str(secret_line.trim())
        .ok()
        .map(|id| id.to_public().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_unwrap_with_the_matching_identity() {
        let (secret, public) = generate_identity();
        let enc = wrap(&[9u8; 32], &public).unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        let mut ids = Identities::default();
        ids.add_keys_file(&format!("# a comment\n{}\n", *secret), "test")
            .unwrap();
        assert_eq!(&unwrap(&enc, &ids).unwrap()[..], &[9u8; 32]);
        let (other, _) = generate_identity();
        let mut wrong = Identities::default();
        wrong.add_keys_file(&other, "test").unwrap();
        assert!(unwrap(&enc, &wrong).is_none());
    }

    #[test]
    fn bad_recipients_are_rejected_by_name() {
        assert!(parse_recipient("age1nope").is_err());
        assert!(parse_recipient("ssh-ed25519 AAAA").is_err());
        assert!(parse_recipient("bob").is_err());
    }
}
