//! Encrypt and decrypt documents: walk the leaves, choose by rule, encrypt each value under its
//! key path, and guard the whole with the MAC.

pub mod data_key;
pub mod keys;
pub mod mac;
pub mod reuse;
pub mod rules;
pub mod shamir;
pub mod stream;
pub mod value;

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::document::metadata::{Metadata, SOPS_VERSION};
use crate::document::scalar::{go_format_float, go_parse_bool, parse_go_float, parse_int_literal};
use crate::document::{Document, Edits, Format, Leaf, Plaintext, Replacement, Value, ValueType};
pub use data_key::DataKey;
pub use rules::Rule;
pub use value::ValueCipher;

/// Errors from encrypting or decrypting a document. They name key paths and lines, never values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("key path {path} (line {line}): {source}")]
    Value {
        path: String,
        line: usize,
        source: value::Error,
    },
    #[error("key path {path} (line {line}): the value should be encrypted but is plaintext")]
    ExpectedEncrypted { path: String, line: usize },
    #[error("key path {path} (line {line}): the decrypted {kind} value does not parse as one")]
    BadPlaintext {
        path: String,
        line: usize,
        kind: &'static str,
    },
    #[error("the file has no MAC")]
    NoMac,
    #[error(
        "MAC mismatch: the file was modified after it was encrypted (values, their order, or the MAC)"
    )]
    MacMismatch,
    #[error("the MAC could not be decrypted: it was tampered with, or lastmodified was changed")]
    MacUndecryptable,
    #[error("key path {path} (line {line}): {what}, so --strict refuses the file")]
    Unauthenticated {
        path: String,
        line: usize,
        what: &'static str,
    },
    #[error("lastmodified is not an RFC 3339 timestamp")]
    BadLastModified,
    #[error("the comment-based rule {0} is not supported for encryption yet")]
    CommentRule(&'static str),
    #[error(transparent)]
    Keys(#[from] keys::Error),
    #[error(transparent)]
    Document(#[from] crate::document::Error),
    #[error(transparent)]
    Rule(#[from] rules::Error),
}

/// How to encrypt a new file.
pub struct EncryptOptions {
    /// The recipients of each key group; more than one group splits the data key (Shamir).
    pub key_groups: Vec<Vec<String>>,
    /// Groups needed to recover the key (0: all of them).
    pub shamir_threshold: u64,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
}

/// The AAD of a value: its mapping keys joined with `:`, plus a trailing `:`.
pub fn aad(path: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.iter().map(|k| k.len() + 1).sum::<usize>() + 1);
    for k in path {
        out.extend_from_slice(k.as_bytes());
        out.push(b':');
    }
    if path.is_empty() {
        out.push(b':');
    }
    out
}

/// Bytes for the MAC (and for encryption): borrowed from the value where they can be.
enum Canonical<'a> {
    Borrowed(&'a [u8]),
    Owned(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for Canonical<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Canonical::Borrowed(b) => b,
            Canonical::Owned(v) => v,
        }
    }
}

/// The bytes sops hashes into the MAC for a value, and the type it encrypts it as. None for
/// what sops neither encrypts nor hashes (null, empty strings).
fn canonical(value: &Value) -> Option<(Canonical<'_>, ValueType)> {
    let owned = |s: String| Canonical::Owned(Zeroizing::new(s.into_bytes()));
    Some(match value {
        Value::Null => return None,
        Value::Str(s) if s.is_empty() => return None,
        Value::Bytes(b) if b.is_empty() => return None,
        Value::Bool(b) => (
            Canonical::Borrowed(if *b { b"True" } else { b"False" }),
            ValueType::Bool,
        ),
        Value::Int(n) => (owned(n.to_string()), ValueType::Int),
        Value::Float(f) => (owned(go_format_float(*f)), ValueType::Float),
        Value::Time(t) => (Canonical::Borrowed(t.as_bytes()), ValueType::Time),
        Value::Str(s) => (Canonical::Borrowed(s.as_bytes()), ValueType::Str),
        Value::Bytes(b) => (Canonical::Borrowed(b), ValueType::Str),
    })
}

/// The MAC bytes of a decrypted value, from its type and plaintext.
fn canonical_plaintext<'a>(plain: &'a Plaintext, leaf: &Leaf) -> Result<Canonical<'a>, Error> {
    canonical_plaintext_of(plain).ok_or_else(|| Error::BadPlaintext {
        path: leaf.display_path(),
        line: leaf.line,
        kind: plain.kind.name(),
    })
}

/// The MAC bytes of a decrypted value; None when it does not parse as its type.
fn canonical_plaintext_of(plain: &Plaintext) -> Option<Canonical<'_>> {
    let text = || std::str::from_utf8(&plain.bytes).ok();
    let owned = |s: String| Canonical::Owned(Zeroizing::new(s.into_bytes()));
    Some(match plain.kind {
        ValueType::Str | ValueType::Bytes | ValueType::Comment | ValueType::Time => {
            Canonical::Borrowed(&plain.bytes)
        }
        ValueType::Int => owned(parse_int_literal(text()?)?.to_string()),
        ValueType::Float => owned(go_format_float(parse_go_float(text()?)?)),
        ValueType::Bool => Canonical::Borrowed(if go_parse_bool(text()?)? {
            b"True"
        } else {
            b"False"
        }),
    })
}

/// What encryption of the leaves produced.
pub struct Encrypted {
    pub edits: Vec<Option<Replacement>>,
    pub mac: Zeroizing<String>,
}

/// Encrypt every leaf the rule selects, and compute the MAC over all of them.
pub fn encrypt_leaves(
    leaves: &[Leaf],
    cipher: &ValueCipher,
    rule: &Rule,
    mac_only: bool,
) -> Result<Encrypted, Error> {
    let mac = plaintext_mac(leaves, rule, mac_only)?;
    let mut lazy = LazyEncryption::new(leaves, cipher, rule);
    let edits = (0..leaves.len()).map(|i| lazy.take(i)).collect();
    Ok(Encrypted { edits, mac })
}

/// The MAC over a plaintext document's values, in walk order.
pub fn plaintext_mac(
    leaves: &[Leaf],
    rule: &Rule,
    mac_only: bool,
) -> Result<Zeroizing<String>, Error> {
    if let Rule::ByComments(kind, _) = rule {
        return Err(Error::CommentRule(kind.key()));
    }
    let mut hasher = mac::MacHasher::new(mac_only);
    for leaf in leaves.iter().filter(|l| !l.comment) {
        if let Some((bytes, _)) =
            canonical(&leaf.value).filter(|_| !mac_only || rule.encrypts(&leaf.path) == Some(true))
        {
            hasher.update(&bytes);
        }
    }
    Ok(hasher.finish())
}

/// Encrypts leaves a chunk at a time, in parallel, as `render` asks for them: the ciphertexts
/// of a large file never all sit in memory beside its output.
pub struct LazyEncryption<'a> {
    leaves: &'a [Leaf],
    cipher: &'a ValueCipher,
    rule: &'a Rule,
    chunk: std::collections::VecDeque<Option<Replacement>>,
    chunk_start: usize,
}

/// Leaves encrypted per parallel batch.
const CHUNK: usize = 8192;

impl<'a> LazyEncryption<'a> {
    pub fn new(leaves: &'a [Leaf], cipher: &'a ValueCipher, rule: &'a Rule) -> LazyEncryption<'a> {
        LazyEncryption {
            leaves,
            cipher,
            rule,
            chunk: Default::default(),
            chunk_start: 0,
        }
    }

    fn encrypt_one(&self, leaf: &Leaf) -> Option<Replacement> {
        if leaf.comment || self.rule.encrypts(&leaf.path) != Some(true) {
            return None;
        }
        let (bytes, kind) = canonical(&leaf.value)?;
        let plaintext = leaf
            .spelling
            .as_deref()
            .map(str::as_bytes)
            .unwrap_or(&bytes);
        Some(Replacement::Encrypted(self.cipher.encrypt(
            plaintext,
            &aad(&leaf.path),
            kind,
        )))
    }
}

impl Edits for LazyEncryption<'_> {
    fn take(&mut self, leaf: usize) -> Option<Replacement> {
        if leaf >= self.leaves.len() {
            return None;
        }
        if leaf < self.chunk_start || leaf >= self.chunk_start + self.chunk.len() {
            let end = (leaf + CHUNK).min(self.leaves.len());
            self.chunk = self.leaves[leaf..end]
                .par_iter()
                .map(|l| self.encrypt_one(l))
                .collect::<Vec<_>>()
                .into();
            self.chunk_start = leaf;
        }
        self.chunk[leaf - self.chunk_start].take()
    }
}

/// Decrypt every encrypted leaf, and compute the MAC over the plaintexts.
pub fn decrypt_leaves(
    leaves: &[Leaf],
    cipher: &ValueCipher,
    rule: &Rule,
    mac_only: bool,
) -> Result<Encrypted, Error> {
    let encrypted = |leaf: &Leaf| {
        let is_enc =
            matches!(&leaf.value, Value::Str(s) if crate::document::envelope::is_encrypted(s));
        rule.encrypts(&leaf.path).unwrap_or(is_enc)
    };
    let edits = leaves
        .par_iter()
        .map(|leaf| -> Result<Option<Replacement>, Error> {
            if leaf.comment {
                // A comment that does not decrypt is kept as it is (sops does the same).
                let Value::Str(enc) = &leaf.value else {
                    return Ok(None);
                };
                return Ok(cipher
                    .decrypt(enc, &aad(&leaf.path))
                    .ok()
                    .map(Replacement::Decrypted));
            }
            if !encrypted(leaf) {
                return Ok(None);
            }
            match &leaf.value {
                Value::Null => Ok(None),
                Value::Str(s) if s.is_empty() => Ok(None),
                Value::Str(enc) if crate::document::envelope::claims_encryption(enc) => cipher
                    .decrypt(enc, &aad(&leaf.path))
                    .map(|plain| Some(Replacement::Decrypted(plain)))
                    .map_err(|source| Error::Value {
                        path: leaf.display_path(),
                        line: leaf.line,
                        source,
                    }),
                _ => Err(Error::ExpectedEncrypted {
                    path: leaf.display_path(),
                    line: leaf.line,
                }),
            }
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mac = decrypted_mac(leaves, &edits, mac_only)?;
    Ok(Encrypted { edits, mac })
}

/// The MAC of a decrypted document: the plaintext of every decrypted leaf, and the value of
/// every leaf left in plaintext (unless `mac_only`), in walk order.
pub fn decrypted_mac(
    leaves: &[Leaf],
    edits: &[Option<Replacement>],
    mac_only: bool,
) -> Result<Zeroizing<String>, Error> {
    let mut hasher = mac::MacHasher::new(mac_only);
    for (leaf, edit) in leaves.iter().zip(edits) {
        if leaf.comment {
            continue;
        }
        match edit {
            Some(Replacement::Decrypted(plain)) => {
                hasher.update(&canonical_plaintext(plain, leaf)?)
            }
            _ if mac_only => {}
            _ => {
                if let Some((bytes, _)) = canonical(&leaf.value) {
                    hasher.update(&bytes);
                }
            }
        }
    }
    Ok(hasher.finish())
}

/// Encrypt a plaintext document for the recipients; returns the encrypted file's bytes.
pub fn encrypt_document(doc: &dyn Document, options: &EncryptOptions) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encrypt_document_to(doc, options, &mut out)?;
    Ok(out)
}

/// Encrypt a plaintext document, handing the encrypted file to `out` as it is written.
pub fn encrypt_document_to(
    doc: &dyn Document,
    options: &EncryptOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let key = DataKey::generate();
    let (rule, mac_only) = match doc.format() {
        Format::Binary => (Rule::Everything, false),
        _ => (options.rule.clone(), options.mac_only_encrypted),
    };
    let plaintext_mac = plaintext_mac(doc.leaves(), &rule, mac_only)?;
    let (cipher, metadata) = new_metadata(&key, options, &rule, mac_only, &plaintext_mac)?;
    let mut edits = LazyEncryption::new(doc.leaves(), &cipher, &rule);
    Ok(doc.render_to(&mut edits, Some(&metadata.to_meta()), out)?)
}

/// The metadata of a new file encrypted with `key` for `options`' recipients, its MAC sealed.
fn new_metadata(
    key: &DataKey,
    options: &EncryptOptions,
    rule: &Rule,
    mac_only: bool,
    plaintext_mac: &str,
) -> Result<(ValueCipher, Metadata), Error> {
    let key_groups = keys::wrap_for_groups(key, &options.key_groups, options.shamir_threshold)?;
    let shamir_threshold = match key_groups.len() {
        1 => 0,
        n if options.shamir_threshold == 0 => n as u64,
        _ => options.shamir_threshold,
    };
    let cipher = ValueCipher::new(key);
    let lastmodified = crate::time::now_rfc3339();
    let mac = seal_mac(&cipher, plaintext_mac, &lastmodified)?;
    let metadata = Metadata {
        key_groups,
        shamir_threshold,
        lastmodified,
        mac,
        rule: rule.spec(),
        mac_only_encrypted: mac_only,
        version: SOPS_VERSION.to_string(),
    };
    Ok((cipher, metadata))
}

/// Encrypt the MAC with `lastmodified` as AAD.
pub fn seal_mac(cipher: &ValueCipher, mac: &str, lastmodified: &str) -> Result<String, Error> {
    let aad = crate::time::aad_for_lastmodified(lastmodified).ok_or(Error::BadLastModified)?;
    Ok(cipher.encrypt(mac.as_bytes(), aad.as_bytes(), ValueType::Str))
}

/// The rule a file was encrypted with, from its metadata.
pub fn rule_of(meta: &Metadata, format: Format) -> Result<Rule, Error> {
    if format == Format::Binary {
        return Ok(Rule::Everything);
    }
    Ok(match &meta.rule {
        Some((kind, arg)) => Rule::from_spec(kind, arg)?,
        None => Rule::default(),
    })
}

/// A decrypted document, before it is written anywhere.
pub struct Decrypted {
    pub edits: Vec<Option<Replacement>>,
}

/// Decrypt the values of an encrypted document with its data key, and check the MAC unless told
/// not to.
pub fn decrypt_with_key(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    check_mac: bool,
) -> Result<Decrypted, Error> {
    let cipher = ValueCipher::new(key);
    let rule = rule_of(meta, doc.format())?;
    let mac_only = meta.mac_only_encrypted && doc.format() != Format::Binary;
    let decrypted = decrypt_leaves(doc.leaves(), &cipher, &rule, mac_only)?;
    if check_mac {
        verify_mac(&cipher, meta, &decrypted.mac)?;
    }
    Ok(Decrypted {
        edits: decrypted.edits,
    })
}

/// `--strict`: refuse a decrypted document holding anything that neither AEAD nor the MAC
/// authenticates, where that can be told from the file alone (see the README's "What the MAC
/// covers"). Call after [`decrypt_with_key`] with the MAC checked.
///
/// Refused: an `ENC[...]` comment that does not decrypt at its place (sops keeps such a comment
/// verbatim); a null or empty value (sops neither encrypts nor hashes them, so one can be added
/// or emptied unseen); a plaintext value of a `mac_only_encrypted` file (not in the MAC); an
/// encrypted value under a key holding `:` (its AAD would equal that of a nested path).
pub fn check_strict(
    doc: &dyn Document,
    meta: &Metadata,
    decrypted: &Decrypted,
) -> Result<(), Error> {
    let mac_only = meta.mac_only_encrypted && doc.format() != Format::Binary;
    for (leaf, edit) in doc.leaves().iter().zip(&decrypted.edits) {
        let decrypted = matches!(edit, Some(Replacement::Decrypted(_)));
        let what = if leaf.comment {
            (!decrypted).then_some(
                "an encrypted comment does not decrypt here (tampered, or moved from another mapping)",
            )
        } else {
            match &leaf.value {
                Value::Null => Some("a null value is neither encrypted nor covered by the MAC"),
                Value::Str(s) if s.is_empty() => {
                    Some("an empty value is neither encrypted nor covered by the MAC")
                }
                Value::Bytes(b) if b.is_empty() => {
                    Some("an empty value is neither encrypted nor covered by the MAC")
                }
                _ if !decrypted && mac_only => {
                    Some("a plaintext value of a mac_only_encrypted file is not covered by the MAC")
                }
                _ if decrypted && leaf.path.iter().any(|k| k.contains(':')) => Some(
                    "a key on the value's path holds ':', so its AAD cannot tell it from a nested key",
                ),
                _ => None,
            }
        };
        if let Some(what) = what {
            return Err(Error::Unauthenticated {
                path: leaf.display_path(),
                line: leaf.line,
                what,
            });
        }
    }
    Ok(())
}

/// Check the stored MAC against the computed one, in constant time.
pub fn verify_mac(cipher: &ValueCipher, meta: &Metadata, computed: &str) -> Result<(), Error> {
    if meta.mac.is_empty() {
        return Err(Error::NoMac);
    }
    let aad =
        crate::time::aad_for_lastmodified(&meta.lastmodified).ok_or(Error::BadLastModified)?;
    let stored = cipher
        .decrypt(&meta.mac, aad.as_bytes())
        .map_err(|_| Error::MacUndecryptable)?;
    if mac::macs_match(computed, &stored.bytes) {
        Ok(())
    } else {
        Err(Error::MacMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_joins_keys_with_a_trailing_colon() {
        assert_eq!(aad(&["db".into(), "password".into()]), b"db:password:");
        assert_eq!(aad(&[]), b":");
    }
}
