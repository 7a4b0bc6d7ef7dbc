//! A plain tree of a decrypted document, for `--extract` and `--output-type`: ordered maps,
//! lists and typed scalars. Format preservation is the adapters' job; this is for conversion.

pub use super::keypath::{PathStep, format_steps};
use super::{Error, Format};

/// A decrypted tree holds secrets: its strings are wiped on drop, and `Debug` shows the shape
/// (keys, types) but never a scalar's value.
#[derive(Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Node::Str(s) = self {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Null => f.write_str("Null"),
            Node::Bool(_) => f.write_str("Bool(<redacted>)"),
            Node::Int(_) => f.write_str("Int(<redacted>)"),
            Node::Float(_) => f.write_str("Float(<redacted>)"),
            Node::Str(_) => f.write_str("Str(<redacted>)"),
            Node::List(items) => f.debug_list().entries(items).finish(),
            Node::Map(items) => f
                .debug_map()
                .entries(items.iter().map(|(k, v)| (k, v)))
                .finish(),
        }
    }
}

impl Node {
    /// A scalar's text as a string value (as sops's exec-env and dotenv output convert it).
    pub fn scalar_text(&self) -> Option<String> {
        Some(match self {
            Node::Null => String::new(),
            Node::Bool(b) => b.to_string(),
            Node::Int(n) => n.to_string(),
            Node::Float(f) => crate::document::scalar::go_format_float(*f),
            Node::Str(s) => s.clone(),
            Node::List(_) | Node::Map(_) => return None,
        })
    }
}

/// Follow a path. On failure, the error names the step and lists the keys at the nearest level.
pub fn extract<'a>(root: &'a Node, path: &[PathStep]) -> Result<&'a Node, String> {
    let mut node = root;
    for (depth, step) in path.iter().enumerate() {
        let shown = || format_steps(&path[..=depth]);
        node = match (step, node) {
            (PathStep::Key(k), Node::Map(items)) => match items.iter().find(|(key, _)| key == k) {
                Some((_, v)) => v,
                None => {
                    let keys: Vec<_> = items.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(format!(
                        "{} not found; keys here: {}",
                        shown(),
                        keys.join(", ")
                    ));
                }
            },
            (PathStep::Index(i), Node::List(items)) => items.get(*i).ok_or_else(|| {
                format!("{} not found; the list has {} items", shown(), items.len())
            })?,
            _ => {
                return Err(format!(
                    "{} not found: the parent is not a {}",
                    shown(),
                    match step {
                        PathStep::Key(_) => "mapping",
                        PathStep::Index(_) => "list",
                    }
                ));
            }
        };
    }
    Ok(node)
}

/// Load a plaintext document as a tree.
pub fn load(format: Format, text: &str) -> Result<Node, Error> {
    match format {
        Format::Dotenv => super::dotenv::load_tree(text),
        Format::Yaml => super::yaml::load_tree(text),
        Format::Toml => super::toml::load_tree(text),
        Format::Json => super::json::load_tree(text),
        Format::Ini => super::ini::load_tree(text),
        Format::Binary => Ok(Node::Map(vec![(
            "data".into(),
            Node::Str(text.to_string()),
        )])),
    }
}

/// Write a tree in a format with an indent of `indent` spaces (sops's `--indent`) where the
/// format has one: YAML (default 4) and JSON (default a tab).
pub fn emit_indent(format: Format, node: &Node, indent: usize) -> Result<String, Error> {
    match format {
        Format::Yaml => Ok(super::yaml::emit_tree_indent(node, indent)),
        Format::Json => {
            let text = super::json::emit_tree(node)?;
            // Strings never hold a raw tab (JSON escapes it): every tab is indentation.
            Ok(text.replace('\t', &" ".repeat(indent)))
        }
        other => emit(other, node),
    }
}

/// Write a tree in a format.
pub fn emit(format: Format, node: &Node) -> Result<String, Error> {
    match format {
        Format::Dotenv => super::dotenv::emit_tree(node),
        Format::Yaml => Ok(super::yaml::emit_tree(node)),
        Format::Toml => super::toml::emit_tree(node),
        Format::Json => super::json::emit_tree(node),
        Format::Ini => super::ini::emit_tree(node),
        other => Err(Error::Unsupported {
            format: other,
            what: "conversion to this format is not implemented yet".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (key_path): a key with `\` or `"` was written JSON-escaped, which
    /// the path syntax (no escapes) reads as another key.
    #[test]
    fn extract_names_the_missing_step_and_the_keys_beside_it() {
        let root = Node::Map(vec![(
            "db".into(),
            Node::Map(vec![("user".into(), Node::Str("u".into()))]),
        )]);
        let err = extract(
            &root,
            &crate::document::keypath::parse_steps(r#"["db"]["password"]"#).unwrap(),
        )
        .unwrap_err();
        assert_eq!(err, r#"["db"]["password"] not found; keys here: user"#);
    }
}
