//! The `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` envelope as text: the one place that
//! says whether a stored string is an encrypted value and splits it into its fields. Decryption
//! (`crypto::value`) and every reader of stored files (format adapters, history, merge driver,
//! scanner) use these functions. Imports nothing from the rest of the crate.

/// The start of every value sops 3.x writes.
pub const PREFIX: &str = "ENC[AES256_GCM,data:";

/// The start of anything that claims to be an envelope (`ENC[`), well formed or not.
pub const MARKER: &str = "ENC[";

/// What a whole file containing sops values has somewhere (a quick test before parsing it).
pub const CIPHER_MARKER: &str = "ENC[AES256_GCM,";

/// Whether a string is an sops-encrypted value (the envelope's full prefix).
pub fn is_encrypted(s: &str) -> bool {
    s.starts_with(PREFIX)
}

/// Whether a string claims to be an envelope (`ENC[...`): sops refuses to read such a value as
/// plaintext even when it is malformed, and the scanner never reports it as a secret.
pub fn claims_encryption(s: &str) -> bool {
    s.starts_with(MARKER)
}

/// Whether a stored string is an envelope closed by its `]` (history compares such strings).
pub fn is_closed_envelope(s: &str) -> bool {
    claims_encryption(s) && s.ends_with(']')
}

/// Whether a string is an encrypted comment (`ENC[...,type:comment]`).
pub fn is_encrypted_comment(s: &str) -> bool {
    is_encrypted(s) && s.ends_with(",type:comment]")
}

/// Why a string is not a well-formed envelope. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not an `ENC[AES256_GCM,...]` value at all.
    NotEncrypted,
    /// An envelope with a missing or empty field (named).
    Malformed(&'static str),
}

/// The fields of an `ENC[...]` string, as sops's regex
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` reads them (base64 has no commas,
/// so the first separators are the right ones; text after the final `]` is tolerated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub data: &'a str,
    pub iv: &'a str,
    pub tag: &'a str,
    pub kind: &'a str,
}

impl<'a> Envelope<'a> {
    pub fn parse(s: &'a str) -> Result<Envelope<'a>, ParseError> {
        let rest = s.strip_prefix(PREFIX).ok_or(if claims_encryption(s) {
            ParseError::Malformed("unsupported cipher or missing data field")
        } else {
            ParseError::NotEncrypted
        })?;
        let (data, rest) = field(rest, "iv:", "missing iv field")?;
        let (iv, rest) = field(rest, "tag:", "missing tag field")?;
        let (tag, rest) = field(rest, "type:", "missing type field")?;
        let end = rest
            .rfind(']')
            .ok_or(ParseError::Malformed("missing closing bracket"))?;
        let kind = &rest[..end];
        if data.is_empty() || iv.is_empty() || tag.is_empty() || kind.is_empty() {
            return Err(ParseError::Malformed("an empty field"));
        }
        Ok(Envelope {
            data,
            iv,
            tag,
            kind,
        })
    }
}

/// One field up to the next comma (base64 has none), and the rest after `,name`.
fn field<'a>(
    rest: &'a str,
    name: &str,
    missing: &'static str,
) -> Result<(&'a str, &'a str), ParseError> {
    let comma = rest.find(',').ok_or(ParseError::Malformed(missing))?;
    let (value, tail) = rest.split_at(comma);
    let after = tail[1..]
        .strip_prefix(name)
        .ok_or(ParseError::Malformed(missing))?;
    Ok((value, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_split_at_the_first_commas() {
        let e = Envelope::parse("ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:str]").unwrap();
        assert_eq!(
            (e.data, e.iv, e.tag, e.kind),
            ("QQ==", "SVY=", "VA==", "str")
        );
    }

    #[test]
    fn recognizers_agree_with_sops() {
        let enc = "ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:comment]";
        assert!(is_encrypted(enc) && is_encrypted_comment(enc) && is_closed_envelope(enc));
        assert!(!is_encrypted("ENC[bad]") && claims_encryption("ENC[bad]"));
        assert!(!claims_encryption("plain") && !is_closed_envelope("ENC[open"));
        assert_eq!(Envelope::parse("plain"), Err(ParseError::NotEncrypted));
        assert_eq!(
            Envelope::parse("ENC[AES128,data:x]"),
            Err(ParseError::Malformed(
                "unsupported cipher or missing data field"
            ))
        );
        assert_eq!(
            Envelope::parse("ENC[AES256_GCM,data:QQ==,iv:QQ==]"),
            Err(ParseError::Malformed("missing tag field"))
        );
    }
}
