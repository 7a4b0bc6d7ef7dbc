//! The key map of an encrypted document, read without any key: every value's key path, in
//! document order, with its stored text (the `ENC[...]` string, or the plaintext of a value
//! left unencrypted), and the typed `sops` metadata. Because every writer of this tool keeps an
//! unchanged value's exact ciphertext, comparing two versions' key maps tells which values
//! changed, without decrypting.

use crate::document::metadata::Metadata;
use crate::document::tree::{self, Node};
use crate::document::{self, Format};

/// One value of a document: where it is and what is stored there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Printable key path: `db.password`, `servers[2].token`, `"a.b".c`.
    pub path: String,
    /// The stored text: an `ENC[...]` string, or a plaintext scalar's text (`null` for nulls).
    pub stored: String,
}

impl Entry {
    /// Whether the stored text is an encrypted value.
    pub fn is_encrypted(&self) -> bool {
        crate::document::envelope::is_closed_envelope(&self.stored)
    }
}

/// A parsed version: its values in document order and its metadata (None: not encrypted).
#[derive(Clone, Debug)]
pub struct KeyMap {
    pub entries: Vec<Entry>,
    pub metadata: Option<Metadata>,
}

impl KeyMap {
    /// The stored text at a key path.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.stored.as_str())
    }
}

/// Read a document's key map. Errors are the document's own (line and column, never content).
pub fn key_map(format: Format, bytes: &[u8]) -> Result<KeyMap, document::Error> {
    let doc = document::parse(format, bytes)?;
    let metadata = match doc.metadata() {
        Some(meta) => Some(Metadata::from_meta(meta)?),
        None => None,
    };
    let text = document::utf8(bytes)?;
    // An encrypted binary file is stored as JSON (`data` and `sops`).
    let tree_format = if format == Format::Binary {
        Format::Json
    } else {
        format
    };
    let root = tree::load(tree_format, text)?;
    let mut entries = Vec::new();
    match &root {
        Node::Map(pairs) => {
            for (key, node) in pairs {
                if is_metadata_key(format, key) {
                    continue;
                }
                walk(node, &join_key("", key), &mut entries);
            }
        }
        other => walk(other, "", &mut entries),
    }
    Ok(KeyMap { entries, metadata })
}

/// The `sops` block as each format stores it: a top-level key, or flattened `sops_*` keys.
fn is_metadata_key(format: Format, key: &str) -> bool {
    match format {
        Format::Dotenv => key.starts_with("sops_"),
        _ => key == "sops",
    }
}

fn walk(node: &Node, path: &str, out: &mut Vec<Entry>) {
    match node {
        Node::Map(pairs) => {
            for (key, child) in pairs {
                walk(child, &join_key(path, key), out);
            }
        }
        Node::List(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), out);
            }
        }
        scalar => out.push(Entry {
            path: path.to_string(),
            stored: match scalar {
                Node::Null => "null".into(),
                other => other.scalar_text().unwrap_or_default(),
            },
        }),
    }
}

/// `parent.key`, quoting a key that would not read back as one segment.
pub fn join_key(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| {
            !matches!(
                c,
                '.' | '[' | ']' | '"' | '\'' | ' ' | '\t' | '\n' | '*' | '?'
            )
        });
    let segment = if plain {
        key.to_string()
    } else {
        serde_json::Value::String(key.into()).to_string()
    };
    if parent.is_empty() {
        segment
    } else {
        format!("{parent}.{segment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "db:\n    password: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n    port: 5432\nservers:\n    - name: a\n      token: ENC[AES256_GCM,data:AQ==,iv:AA==,tag:AA==,type:str]\n\"a.b\": x\nsops:\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    version: 3.11.0\n";

    #[test]
    fn paths_name_lists_and_quote_odd_keys() {
        let map = key_map(Format::Yaml, YAML.as_bytes()).unwrap();
        let paths: Vec<&str> = map.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "db.password",
                "db.port",
                "servers[0].name",
                "servers[0].token",
                "\"a.b\""
            ]
        );
        assert!(map.entries[0].is_encrypted());
        assert_eq!(map.get("db.port"), Some("5432"));
        assert_eq!(map.metadata.unwrap().version, "3.11.0");
    }

    #[test]
    fn dotenv_metadata_is_not_a_value() {
        let env = "A=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops_version=3.11.0\nsops_mac=x\nsops_lastmodified=2026-01-01T00:00:00Z\n";
        let map = key_map(Format::Dotenv, env.as_bytes()).unwrap();
        assert_eq!(map.entries.len(), 1);
        assert_eq!(map.entries[0].path, "A");
    }

    #[test]
    fn plaintext_documents_have_no_metadata() {
        let map = key_map(Format::Json, br#"{"a": {"b": [1, null]}}"#).unwrap();
        assert!(map.metadata.is_none());
        assert_eq!(map.get("a.b[1]"), Some("null"));
    }
}
