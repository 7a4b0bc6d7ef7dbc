//! The binary store: any file that is not YAML, JSON, TOML, dotenv or INI.
//!
//! The whole file is one value, key `data` (AAD `data:`), raw bytes that need not be UTF-8.
//! Encrypted, it is sops's JSON envelope `{"data": "ENC[...]", "sops": {...}}`, TAB-indented.
//! Decrypting writes the raw bytes back.

use super::json::{JsonDocument, quote_minimal};
use super::{Document, Edits, Error, Format, Leaf, MetaValue, Replacement, Value};

pub struct BinaryDocument {
    kind: Kind,
}

enum Kind {
    /// A plaintext file: one leaf holding every byte.
    Plain(Vec<Leaf>),
    /// An encrypted file: the JSON envelope.
    Encrypted(JsonDocument),
}

impl BinaryDocument {
    /// A JSON object with a top-level `sops` member is an encrypted binary file; anything else is
    /// plaintext.
    pub fn parse(input: &[u8]) -> BinaryDocument {
        let looks_like_json = input.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
        if looks_like_json
            && let Ok(doc) = std::str::from_utf8(input)
                .map_err(|_| Error::Empty)
                .and_then(JsonDocument::parse)
            && doc.metadata().is_some()
        {
            return BinaryDocument {
                kind: Kind::Encrypted(doc),
            };
        }
        let leaf = Leaf {
            path: vec!["data".to_string()],
            value: Value::Bytes(input.to_vec()),
            spelling: None,
            comment: false,
            line: 1,
        };
        BinaryDocument {
            kind: Kind::Plain(vec![leaf]),
        }
    }
}

/// The envelope sops writes: `data`, then the metadata, TAB-indented, with a final newline.
fn envelope(data: &str, metadata: &MetaValue) -> Vec<u8> {
    let doc = JsonDocument::parse("{\n\t\"data\": \"\"\n}\n").expect("a valid template");
    let edit = Replacement::Encrypted(data.to_string());
    let mut out = doc
        .render(&mut vec![Some(edit)], Some(metadata))
        .expect("rendering the template");
    debug_assert!(out.starts_with(format!("{{\n\t\"data\": {}", quote_minimal(data)).as_bytes()));
    out.shrink_to_fit();
    out
}

impl Document for BinaryDocument {
    fn format(&self) -> Format {
        Format::Binary
    }

    fn leaves(&self) -> &[Leaf] {
        match &self.kind {
            Kind::Plain(leaves) => leaves,
            Kind::Encrypted(doc) => doc.leaves(),
        }
    }

    fn metadata(&self) -> Option<&MetaValue> {
        match &self.kind {
            Kind::Plain(_) => None,
            Kind::Encrypted(doc) => doc.metadata(),
        }
    }

    fn render(
        &self,
        edits: &mut dyn Edits,
        metadata: Option<&MetaValue>,
    ) -> Result<Vec<u8>, Error> {
        match &self.kind {
            Kind::Plain(leaves) => {
                let Value::Bytes(bytes) = &leaves[0].value else {
                    unreachable!("a plaintext binary leaf")
                };
                match (edits.take(0).as_ref(), metadata) {
                    (Some(Replacement::Encrypted(enc)), Some(meta)) => Ok(envelope(enc, meta)),
                    // An empty file is not encrypted: its value stays "".
                    (None, Some(meta)) if bytes.is_empty() => Ok(envelope("", meta)),
                    (Some(Replacement::Decrypted(p)), None) => Ok(p.bytes.to_vec()),
                    (None, None) => Ok(bytes.clone()),
                    _ => Err(Error::Invalid {
                        format: Format::Binary,
                        message: "the file's data was not encrypted".into(),
                    }),
                }
            }
            Kind::Encrypted(doc) => {
                if metadata.is_some() {
                    return doc.render(edits, metadata);
                }
                let index = doc
                    .leaves()
                    .iter()
                    .position(|l| l.path.len() == 1 && l.path[0] == "data")
                    .ok_or_else(|| Error::Invalid {
                        format: Format::Binary,
                        message: "no top-level \"data\" value".into(),
                    })?;
                match (edits.take(index).as_ref(), &doc.leaves()[index].value) {
                    (Some(Replacement::Decrypted(p)), _) => Ok(p.bytes.to_vec()),
                    (Some(Replacement::Encrypted(enc)), _) => Ok(enc.as_bytes().to_vec()),
                    (None, Value::Str(s)) => Ok(s.as_bytes().to_vec()),
                    (None, _) => Err(Error::Invalid {
                        format: Format::Binary,
                        message: "\"data\" is not a string".into(),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};

    fn meta() -> MetaValue {
        MetaValue::Map(vec![
            (
                "lastmodified".into(),
                MetaValue::Str("2026-01-01T00:00:00Z".into()),
            ),
            ("mac".into(), MetaValue::Str("ENC[x]".into())),
            ("version".into(), MetaValue::Str("3.11.0".into())),
        ])
    }

    fn round_trip(plain: &[u8]) -> Vec<u8> {
        let doc = BinaryDocument::parse(plain);
        assert!(doc.metadata().is_none());
        assert_eq!(doc.leaves().len(), 1);
        assert_eq!(doc.leaves()[0].path, ["data"]);
        let cipher = ValueCipher::new(&DataKey::generate());
        let mut enc = encrypt_leaves(doc.leaves(), &cipher, &Rule::Everything, false).unwrap();
        let encrypted = doc.render(&mut enc.edits, Some(&meta())).unwrap();
        let doc2 = BinaryDocument::parse(&encrypted);
        assert!(
            doc2.metadata().is_some(),
            "the envelope is recognised as encrypted"
        );
        let mut dec = decrypt_leaves(doc2.leaves(), &cipher, &Rule::Everything, false).unwrap();
        assert_eq!(*dec.mac, *enc.mac);
        let back = doc2.render(&mut dec.edits, None).unwrap();
        assert_eq!(back, plain);
        encrypted
    }

    #[test]
    fn non_utf8_bytes_round_trip_through_the_sops_envelope() {
        let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\xff\xfe";
        let encrypted = String::from_utf8(round_trip(png)).unwrap();
        assert!(
            encrypted.starts_with("{\n\t\"data\": \"ENC[AES256_GCM,data:"),
            "{encrypted}"
        );
        assert!(encrypted.contains(
            ",type:str]\",\n\t\"sops\": {\n\t\t\"lastmodified\": \"2026-01-01T00:00:00Z\",\n"
        ));
        assert!(
            encrypted.ends_with("\t\t\"version\": \"3.11.0\"\n\t}\n}\n"),
            "{encrypted}"
        );
    }

    #[test]
    fn an_empty_file_is_an_empty_value_not_encrypted() {
        let encrypted = String::from_utf8(round_trip(b"")).unwrap();
        assert!(
            encrypted.starts_with("{\n\t\"data\": \"\",\n\t\"sops\": {"),
            "{encrypted}"
        );
    }

    #[test]
    fn text_and_plain_json_files_are_plaintext() {
        round_trip(b"hello\nworld");
        round_trip(b"{\"a\": 1}\n");
        round_trip(b"{ not json");
    }
}
