//! Key-sorted text views of an encrypted document, for diffs.
//!
//! One line per value, `key.path: value`, sorted by key path (list indices in numeric order), so
//! two versions diff value by value whatever the file's layout. Above the values, one line per
//! master key: the recipient and a short fingerprint of its wrapped data key, so a diff also
//! shows recipients added or removed and data-key rotations. `mac` and `lastmodified` never
//! appear: they change on every write and would add a hunk to every diff.
//!
//! The redacted view (no key needed) shows each encrypted value as `<enc 3f9a1c>`, the first six
//! hex digits of the SHA-256 of its `ENC[...]` text: a changed value shows as a changed line,
//! nothing about the plaintext is revealed (the ciphertext is public already).

use sha2::{Digest, Sha256};

use crate::document::metadata::{MetaValue, Metadata};
use crate::document::tree::{self, Node};
use crate::document::{self, Document, Format};
use crate::history::keymap::join_key;

/// An encrypted document found in some bytes: its format, parsed form and metadata.
pub struct Encrypted {
    pub format: Format,
    pub doc: Box<dyn Document>,
    pub meta: Metadata,
}

/// Find the encrypted document in `bytes`: the format the file name says first, then every
/// structured format in turn (Git's textconv temp files keep the base name, but a file may have
/// any name). `None`: not an encrypted document in any format we read.
pub fn detect(name: &std::path::Path, bytes: &[u8]) -> Option<Encrypted> {
    let by_name = Format::from_path(name);
    // An encrypted binary file is stored as JSON; read it as JSON (its one value is `data`).
    let first = if by_name == Format::Binary {
        Format::Json
    } else {
        by_name
    };
    let order = [
        first,
        Format::Json,
        Format::Yaml,
        Format::Toml,
        Format::Dotenv,
        Format::Ini,
    ];
    for (i, format) in order.into_iter().enumerate() {
        if i > 0 && format == first {
            continue;
        }
        let Ok(doc) = document::parse(format, bytes) else {
            continue;
        };
        let Some(meta) = doc.metadata().and_then(|m| Metadata::from_meta(m).ok()) else {
            continue;
        };
        if meta.looks_encrypted() {
            return Some(Encrypted { format, doc, meta });
        }
    }
    None
}

/// First six hex digits of the SHA-256 of `text`.
pub fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..3].iter().map(|b| format!("{b:02x}")).collect()
}

/// One step of a key path: a mapping key or a list index (numeric order).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Key(String),
    Index(usize),
}

fn printable(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => out = join_key(&out, k),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every scalar of the tree with its path, document order.
fn scalars<'a>(node: &'a Node, at: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, &'a Node)>) {
    match node {
        Node::Map(items) => {
            for (k, v) in items {
                at.push(Step::Key(k.clone()));
                scalars(v, at, out);
                at.pop();
            }
        }
        Node::List(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                scalars(v, at, out);
                at.pop();
            }
        }
        scalar => out.push((at.clone(), scalar)),
    }
}

/// The `sops` block as each format stores it: a top-level key, or flattened `sops_*` keys.
pub fn is_metadata_key(format: Format, key: &str) -> bool {
    match format {
        Format::Dotenv => key.starts_with("sops_"),
        _ => key == "sops",
    }
}

/// A value as a view shows it: plain text when that reads unambiguously, else JSON-quoted.
fn show_scalar(node: &Node) -> String {
    match node {
        Node::Null => "null".into(),
        Node::Str(s) => {
            let plain = !s.is_empty()
                && s.trim() == s
                && !s.chars().any(char::is_control)
                && !s.starts_with('"');
            if plain {
                s.clone()
            } else {
                serde_json::Value::String(s.clone()).to_string()
            }
        }
        other => other.scalar_text().unwrap_or_default(),
    }
}

/// The recipient lines: one per master key, with a fingerprint of its wrapped data key.
fn recipient_lines(meta: &Metadata, out: &mut String) {
    let grouped = meta.key_groups.len() > 1;
    for (g, group) in meta.key_groups.iter().enumerate() {
        let prefix = if grouped {
            format!("sops.key_groups[{g}].")
        } else {
            "sops.".to_string()
        };
        for key in &group.age {
            out.push_str(&format!(
                "{prefix}age: {} (data key <{}>)\n",
                key.recipient,
                fingerprint(&key.enc)
            ));
        }
        for key in &group.pgp {
            out.push_str(&format!(
                "{prefix}pgp: {} (data key <{}>)\n",
                key.fp,
                fingerprint(&key.enc)
            ));
        }
        for key in &group.kms {
            out.push_str(&format!(
                "{prefix}kms: {} (data key <{}>)\n",
                key.arn,
                fingerprint(&key.enc)
            ));
        }
        for key in &group.vault {
            out.push_str(&format!(
                "{prefix}hc_vault: {} (data key <{}>)\n",
                key.uri(),
                fingerprint(&key.enc)
            ));
        }
        for (kind, value) in &group.others {
            out.push_str(&format!(
                "{prefix}{kind}: <{}>\n",
                fingerprint(&format!("{value:?}"))
            ));
        }
    }
}

/// Sorted `path: value` lines of a tree's values (the `sops` block left out).
fn value_lines(format: Format, root: &Node, shown: impl Fn(&Node) -> String) -> String {
    let mut found = Vec::new();
    match root {
        Node::Map(items) => {
            for (k, v) in items {
                if is_metadata_key(format, k) {
                    continue;
                }
                let mut at = vec![Step::Key(k.clone())];
                scalars(v, &mut at, &mut found);
            }
        }
        other => scalars(other, &mut Vec::new(), &mut found),
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (steps, node) in found {
        out.push_str(&printable(&steps));
        out.push_str(": ");
        out.push_str(&shown(node));
        out.push('\n');
    }
    out
}

/// The redacted view of an encrypted document: values as fingerprints of their ciphertext,
/// values left in plaintext (partial encryption) as they are.
pub fn redacted(found: &Encrypted, bytes: &[u8]) -> Result<String, document::Error> {
    let text = document::utf8(bytes)?;
    let root = tree::load(found.format, text)?;
    let mut out = String::new();
    recipient_lines(&found.meta, &mut out);
    out.push_str(&value_lines(found.format, &root, |node| match node {
        Node::Str(s) if crate::document::envelope::is_encrypted(s) => {
            format!("<enc {}>", fingerprint(s))
        }
        other => show_scalar(other),
    }));
    Ok(out)
}

/// The decrypted view: the same lines with the plaintext values, from the decrypted document.
pub fn decrypted(found: &Encrypted, plaintext: &[u8]) -> Result<String, document::Error> {
    let text = document::utf8(plaintext)?;
    let root = tree::load(found.format, text)?;
    let mut out = String::new();
    recipient_lines(&found.meta, &mut out);
    out.push_str(&value_lines(found.format, &root, show_scalar));
    Ok(out)
}

/// The metadata's generic value, for callers that render a document with it.
pub fn meta_value(found: &Encrypted) -> Option<&MetaValue> {
    found.doc.metadata()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENC_A: &str = "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]";

    fn yaml() -> String {
        format!(
            "zeta: {ENC_A}\nlist:\n    - {ENC_A}\n    - x\n    - y\n    - z\n    - a\n    - b\n    - c\n    - d\n    - e\n    - f\n    - g\nalpha:\n    port: 5432\nsops:\n    age:\n        - recipient: age1xyz\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            abc\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: {ENC_A}\n    version: 3.11.0\n"
        )
    }

    #[test]
    fn redacted_view_is_key_sorted_with_fingerprints_and_no_mac() {
        let text = yaml();
        let found = detect(std::path::Path::new("git-blob-x/f.yaml"), text.as_bytes()).unwrap();
        let view = redacted(&found, text.as_bytes()).unwrap();
        let fp = fingerprint(ENC_A);
        assert!(view.starts_with("sops.age: age1xyz (data key <"), "{view}");
        let values: Vec<&str> = view.lines().skip(1).collect();
        assert_eq!(values[0], "alpha.port: 5432");
        assert_eq!(values[1], format!("list[0]: <enc {fp}>"));
        assert_eq!(values[2], "list[1]: x");
        // Numeric order of indices: [10] after [9].
        assert_eq!(values[11], "list[10]: g");
        assert_eq!(values.last().unwrap(), &format!("zeta: <enc {fp}>"));
        assert!(!view.contains("mac") && !view.contains("lastmodified"));
    }

    #[test]
    fn detection_sniffs_content_when_the_name_says_nothing() {
        let text = yaml();
        let found = detect(std::path::Path::new("blob"), text.as_bytes()).unwrap();
        assert_eq!(found.format, Format::Yaml);
        assert!(detect(std::path::Path::new("a.yaml"), b"a: 1\n").is_none());
        assert!(detect(std::path::Path::new("a.yaml"), b"\x00\xff garbage").is_none());
    }

    #[test]
    fn awkward_strings_are_quoted() {
        assert_eq!(show_scalar(&Node::Str("a b".into())), "a b");
        assert_eq!(
            show_scalar(&Node::Str("two\nlines".into())),
            "\"two\\nlines\""
        );
        assert_eq!(show_scalar(&Node::Str(" pad".into())), "\" pad\"");
        assert_eq!(show_scalar(&Node::Str(String::new())), "\"\"");
    }
}
