//! The layout record: the source spelling that the encrypted values cannot carry, kept
//! encrypted and authenticated in the `sops` metadata (`secrets_layout`).
//!
//! After encrypting, we decrypt the result in memory. When that decryption is not the source
//! byte for byte (an escape, a folded scalar, an octal integer, a missing final newline...), the
//! byte edits that turn the decryption back into the source are sealed with AES-256-GCM under
//! the file's data key, with a fixed AAD, as an `ENC[...]` string. The sealed record starts with
//! the SHA-256 of the decryption it applies to, so it is used only on exactly that decryption:
//! after `sops` (which drops metadata keys it does not know) or a hand edit changes any value or
//! any byte of layout, the record no longer matches and is ignored. See docs/lossless.md.

use similar::{Algorithm, DiffOp};
use zeroize::Zeroizing;

use super::canonical;
use super::value::ValueCipher;
use crate::document::{self, Format, ValueType};

/// The AAD the record is sealed with (no value is ever encrypted under this path: a value's
/// AAD ends with `:`).
const AAD: &[u8] = b"secrets_layout";

/// The record format's version byte.
const VERSION: u8 = 1;

/// Longest the diff may search for a minimal edit script; past it, a coarser (still exact)
/// script is produced.
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(input: &mut &[u8]) -> Option<usize> {
    let mut n: usize = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        n |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// The record's plaintext: version, SHA-256 of `decrypted`, then for each changed stretch the
/// number of bytes kept before it, the number of bytes removed, and the bytes inserted.
fn encode(decrypted: &[u8], original: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut record = Zeroizing::new(Vec::with_capacity(64));
    record.push(VERSION);
    record.extend_from_slice(&sha256(decrypted));
    let deadline = std::time::Instant::now() + DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        decrypted,
        original,
        Some(deadline),
    );
    // The changed stretches are the gaps between the equal runs (and after the last one).
    let (mut old_at, mut new_at) = (0, 0);
    let mut kept = 0;
    let mut gap =
        |record: &mut Vec<u8>, old: std::ops::Range<usize>, new: std::ops::Range<usize>| {
            if old.is_empty() && new.is_empty() {
                return;
            }
            put_varint(record, old.start - kept);
            put_varint(record, old.len());
            put_varint(record, new.len());
            record.extend_from_slice(&original[new]);
            kept = old.end;
        };
    for op in ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            gap(&mut record, old_at..old_index, new_at..new_index);
            (old_at, new_at) = (old_index + len, new_index + len);
        }
    }
    gap(&mut record, old_at..decrypted.len(), new_at..original.len());
    record
}

/// Apply a record's plaintext to `decrypted`; None when it is malformed or made for other bytes.
fn decode(record: &[u8], decrypted: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (&version, rest) = record.split_first()?;
    if version != VERSION || rest.len() < 32 {
        return None;
    }
    let (hash, mut ops) = rest.split_at(32);
    if hash != sha256(decrypted) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(decrypted.len() + ops.len()));
    let mut at = 0usize;
    while !ops.is_empty() {
        let keep = get_varint(&mut ops)?;
        let remove = get_varint(&mut ops)?;
        let insert = get_varint(&mut ops)?;
        let start = at.checked_add(keep)?;
        let end = start.checked_add(remove)?;
        out.extend_from_slice(decrypted.get(at..start)?);
        decrypted.get(start..end)?;
        out.extend_from_slice(ops.get(..insert)?);
        ops = &ops[insert..];
        at = end;
    }
    out.extend_from_slice(decrypted.get(at..)?);
    Some(out)
}

/// The sealed record turning `decrypted` back into `original` (which must differ).
pub fn seal(cipher: &ValueCipher, decrypted: &[u8], original: &[u8]) -> String {
    cipher.encrypt(&encode(decrypted, original), AAD, ValueType::Str)
}

/// The source bytes a sealed record restores from `decrypted`; None when the record does not
/// authenticate under this data key or was made for a different decryption.
pub fn open(cipher: &ValueCipher, sealed: &str, decrypted: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let plain = cipher.decrypt(sealed, AAD).ok()?;
    decode(&plain.bytes, decrypted)
}

/// The source bytes of a decrypted document: `decrypted` with the record applied, when the
/// record authenticates, was made for exactly these bytes, and the result reads as the same
/// values under the same keys; otherwise None (the decryption is used as it is).
pub fn restore(
    format: Format,
    cipher: &ValueCipher,
    sealed: &str,
    decrypted: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let restored = open(cipher, sealed, decrypted)?;
    same_values(format, decrypted, &restored).then_some(restored)
}

/// Whether two plaintexts of `format` hold the same leaves: same key paths, same values as
/// sops types and hashes them.
pub fn same_values(format: Format, a: &[u8], b: &[u8]) -> bool {
    let (Ok(a), Ok(b)) = (document::parse(format, a), document::parse(format, b)) else {
        return false;
    };
    let (a, b) = (a.leaves(), b.leaves());
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.path == y.path
                && x.comment == y.comment
                && match (canonical(&x.value), canonical(&y.value)) {
                    (Some((cx, tx)), Some((cy, ty))) => tx == ty && cx[..] == cy[..],
                    (None, None) => x.value == y.value,
                    _ => false,
                }
        })
}

/// Re-seal a record under another data key (rotate), unchanged otherwise.
pub fn reseal(old: &ValueCipher, new: &ValueCipher, sealed: &str) -> Option<String> {
    let plain = old.decrypt(sealed, AAD).ok()?;
    Some(new.encrypt(&plain.bytes, AAD, ValueType::Str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::data_key::DataKey;

    fn round(decrypted: &[u8], original: &[u8]) {
        let cipher = ValueCipher::new(&DataKey::generate());
        let sealed = seal(&cipher, decrypted, original);
        assert_eq!(open(&cipher, &sealed, decrypted).unwrap()[..], original[..]);
        // Made for other bytes: ignored.
        let mut other = decrypted.to_vec();
        other.push(b' ');
        assert!(open(&cipher, &sealed, &other).is_none());
        // Another key: ignored.
        let stranger = ValueCipher::new(&DataKey::generate());
        assert!(open(&stranger, &sealed, decrypted).is_none());
    }

    #[test]
    fn restores_the_source_spelling() {
        round(b"mode: 493\n", b"mode: 0755");
        round(b"a: \"\xc3\xa9\"\nb: 1\n", b"a: \"\\u00e9\"\nb: 1\n");
        round(b"", b"\xef\xbb\xbfa: 1\n");
        round(b"x: 1\n", b"");
        round(b"same\n", b"same\n");
    }

    #[test]
    fn varints_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 1 << 20, usize::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, n);
            assert_eq!(get_varint(&mut &buf[..]), Some(n));
        }
    }

    #[test]
    fn malformed_records_are_refused() {
        assert!(decode(&[], b"x").is_none());
        assert!(decode(&[2; 40], b"x").is_none());
        let mut record = encode(b"abc", b"abd");
        let len = record.len();
        record.truncate(len - 1);
        assert!(decode(&record, b"abc").is_none());
    }
}
