//! dotenv, as sops reads it: one `KEY=value` a line, split at the first `=`, no trimming and
//! no quote handling; `#` starts a comment line; the two characters `\n` in a value stand for a
//! newline. Unlike sops we keep blank lines and plaintext comments where they are. Metadata is
//! appended as `sops_<flatkey>=<value>` lines, sorted by key.

use std::ops::Range;

use super::metadata::{flatten, unflatten};
use super::tree::Node;
use super::{
    Document, Edits, Error, Format, Leaf, MetaValue, Replacement, Splicer, Value, ValueType,
};

pub struct DotenvDocument {
    /// The source text: for a plaintext file, every secret in it; wiped on drop.
    source: zeroize::Zeroizing<String>,
    leaves: Vec<Leaf>,
    /// Where each leaf's text is: the value after `=`, or a comment's text after `#`.
    spans: Vec<Range<usize>>,
    /// Whole lines (with their newline) of the `sops_` metadata.
    metadata_lines: Vec<Range<usize>>,
    metadata: Option<MetaValue>,
}

impl DotenvDocument {
    pub fn parse(source: &str) -> Result<DotenvDocument, Error> {
        let mut leaves = Vec::new();
        let mut spans = Vec::new();
        let mut metadata_lines = Vec::new();
        let mut flat = Vec::new();
        let mut offset = 0;
        for (index, raw_line) in source.split_inclusive('\n').enumerate() {
            let line_no = index + 1;
            let start = offset;
            offset += raw_line.len();
            let line = raw_line.strip_suffix('\n').unwrap_or(raw_line);
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if crate::document::envelope::is_encrypted(comment) {
                    leaves.push(Leaf {
                        path: Vec::new(),
                        value: Value::Str(comment.to_string()),
                        spelling: None,
                        comment: true,
                        line: line_no,
                    });
                    spans.push(start + 1..start + line.len());
                }
                continue;
            }
            let Some(eq) = line.find('=') else {
                return Err(Error::Syntax {
                    format: Format::Dotenv,
                    line: line_no,
                    column: 1,
                    message: "expected KEY=value".into(),
                });
            };
            let key = &line[..eq];
            let value = &line[eq + 1..];
            if let Some(meta_key) = key.strip_prefix("sops_") {
                flat.push((meta_key.to_string(), value.to_string()));
                metadata_lines.push(start..offset);
                continue;
            }
            leaves.push(Leaf {
                path: vec![key.to_string()],
                value: Value::Str(value.replace("\\n", "\n")),
                spelling: None,
                comment: false,
                line: line_no,
            });
            spans.push(start + eq + 1..start + line.len());
        }
        let metadata = (!flat.is_empty()).then(|| unflatten(&flat));
        Ok(DotenvDocument {
            source: zeroize::Zeroizing::new(source.to_string()),
            leaves,
            spans,
            metadata_lines,
            metadata,
        })
    }
}

impl Document for DotenvDocument {
    fn format(&self) -> Format {
        Format::Dotenv
    }

    fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    fn metadata(&self) -> Option<&MetaValue> {
        self.metadata.as_ref()
    }

    fn render(
        &self,
        edits: &mut dyn Edits,
        metadata: Option<&MetaValue>,
    ) -> Result<Vec<u8>, Error> {
        // Leaves and metadata lines, in source order.
        let mut pieces: Vec<(Range<usize>, Option<usize>)> =
            self.spans.iter().cloned().zip((0..).map(Some)).collect();
        pieces.extend(self.metadata_lines.iter().map(|r| (r.clone(), None)));
        pieces.sort_by_key(|(r, _)| r.start);
        let mut out = Splicer::new(&self.source);
        for (range, leaf) in pieces {
            let Some(i) = leaf else {
                out.replace(range, "");
                continue;
            };
            match edits.take(i) {
                None => {}
                Some(Replacement::Encrypted(enc)) => out.replace(range, &enc),
                Some(Replacement::Decrypted(p))
                    if self.leaves[i].comment || p.kind == ValueType::Comment =>
                {
                    out.replace(range, &p.text())
                }
                Some(Replacement::Decrypted(p)) => {
                    out.replace(range, &p.text().replace('\n', "\\n"))
                }
            }
        }
        let mut out = out.finish();
        if let Some(meta) = metadata {
            let mut flat = flatten(meta);
            flat.sort_by(|a, b| a.0.cmp(&b.0));
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            for (k, v) in flat {
                out.push_str("sops_");
                out.push_str(&k);
                out.push('=');
                out.push_str(&v);
                out.push('\n');
            }
        }
        Ok(out.into_bytes())
    }
}

/// A plaintext dotenv document as a tree: top-level string values.
pub fn load_tree(source: &str) -> Result<Node, Error> {
    let doc = DotenvDocument::parse(source)?;
    let items = doc
        .leaves
        .iter()
        .filter(|l| !l.comment)
        .map(|l| match &l.value {
            Value::Str(s) => (l.path[0].clone(), Node::Str(s.clone())),
            _ => (l.path[0].clone(), Node::Null),
        })
        .collect();
    Ok(Node::Map(items))
}

/// Write a tree as dotenv: top-level scalars only, as sops does.
pub fn emit_tree(node: &Node) -> Result<String, Error> {
    let Node::Map(items) = node else {
        return Err(Error::Unsupported {
            format: Format::Dotenv,
            what: "only a mapping can be written as dotenv".into(),
        });
    };
    let mut out = String::new();
    for (k, v) in items {
        let text = v.scalar_text().ok_or_else(|| Error::AtPath {
            path: super::display_path(std::slice::from_ref(k)),
            message: "a nested value cannot be written as dotenv".into(),
        })?;
        out.push_str(k);
        out.push('=');
        out.push_str(&text.replace('\n', "\\n"));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
    use crate::document::metadata::Metadata;

    const SAMPLE: &str =
        "# database\nDB_PASSWORD=hunter2\n\nEMPTY=\nMULTI=a\\nb\nexport TOKEN=\"quoted\"\n";

    #[test]
    fn values_and_lines_are_read_as_sops_does() {
        let doc = DotenvDocument::parse(SAMPLE).unwrap();
        let keys: Vec<_> = doc.leaves.iter().map(|l| l.path[0].as_str()).collect();
        assert_eq!(keys, ["DB_PASSWORD", "EMPTY", "MULTI", "export TOKEN"]);
        assert!(matches!(&doc.leaves[2].value, Value::Str(s) if s == "a\nb"));
        assert!(matches!(&doc.leaves[3].value, Value::Str(s) if s == "\"quoted\""));
        let err = DotenvDocument::parse("A=1\nnot a pair\n").err().unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn encrypt_then_decrypt_gives_back_every_byte() {
        let doc = DotenvDocument::parse(SAMPLE).unwrap();
        let key = DataKey::generate();
        let cipher = ValueCipher::new(&key);
        let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false).unwrap();
        let meta = Metadata::from_meta(&crate::document::metadata::unflatten(&[
            ("lastmodified".into(), "2026-01-01T00:00:00Z".into()),
            ("mac".into(), "x".into()),
            ("version".into(), "3.11.0".into()),
        ]))
        .unwrap();
        let encrypted =
            String::from_utf8(doc.render(&mut enc.edits, Some(&meta.to_meta())).unwrap()).unwrap();
        assert!(encrypted.starts_with("# database\nDB_PASSWORD=ENC[AES256_GCM,"));
        assert!(encrypted.contains("\n\nEMPTY=\n"));
        assert!(encrypted.ends_with(
            "sops_lastmodified=2026-01-01T00:00:00Z\nsops_mac=x\nsops_version=3.11.0\n"
        ));
        let doc2 = DotenvDocument::parse(&encrypted).unwrap();
        assert!(doc2.metadata().is_some());
        let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false).unwrap();
        assert_eq!(*dec.mac, *enc.mac);
        assert_eq!(
            String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap(),
            SAMPLE
        );
    }
}
