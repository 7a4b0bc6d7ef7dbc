//! A plain tree of a decrypted document, for `--extract` and `--output-type`: ordered maps,
//! lists and typed scalars. Format preservation is the adapters' job; this is for conversion.

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

/// One step of a tree path: `["key"]` or `[0]`.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parse sops's tree-path syntax: `["db"]["password"]`, `['a'][0]`.
pub fn parse_path(spec: &str) -> Result<Vec<PathStep>, String> {
    let mut steps = Vec::new();
    let mut rest = spec.trim();
    if rest.is_empty() {
        return Err("the path is empty".into());
    }
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return Err("each path component must be in brackets, like [\"key\"] or [0]".into());
        };
        if let Some(q) = inner.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &inner[1..];
            let end = body.find(q).ok_or("a quoted key is not closed")?;
            let after = &body[end + 1..];
            let after = after
                .strip_prefix(']')
                .ok_or("a quoted key must be followed by ]")?;
            steps.push(PathStep::Key(body[..end].to_string()));
            rest = after;
        } else {
            let end = inner
                .find(']')
                .ok_or("a path component is not closed with ]")?;
            let index = inner[..end]
                .trim()
                .parse()
                .map_err(|_| "an unquoted path component must be a list index")?;
            steps.push(PathStep::Index(index));
            rest = &inner[end + 1..];
        }
    }
    Ok(steps)
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

/// Write a path in the syntax [`parse_path`] reads: each key in `"` quotes, or in `'` quotes
/// when it holds a `"`. A key holding both quotes, or a control character, cannot be written in
/// that syntax (it has no escapes, like sops's); it is shown JSON-escaped, for messages only.
pub fn format_steps(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) if k.chars().any(char::is_control) => {
                format!("[{}]", serde_json::Value::String(k.clone()))
            }
            PathStep::Key(k) if !k.contains('"') => format!("[\"{k}\"]"),
            PathStep::Key(k) if !k.contains('\'') => format!("['{k}']"),
            PathStep::Key(k) => format!("[{}]", serde_json::Value::String(k.clone())),
            PathStep::Index(i) => format!("[{i}]"),
        })
        .collect()
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
    fn formatted_paths_parse_back_to_the_same_steps() {
        for key in [
            "plain",
            "back\\slash",
            "say \"hi\"",
            "it's",
            "a-",
            "[x]",
            "é ✓",
        ] {
            let steps = vec![PathStep::Key(key.into()), PathStep::Index(3)];
            let text = format_steps(&steps);
            assert_eq!(parse_path(&text).unwrap(), steps, "{text}");
        }
    }

    #[test]
    fn paths_parse_like_sops() {
        assert_eq!(
            parse_path(r#"["db"]['pw'][2]"#).unwrap(),
            vec![
                PathStep::Key("db".into()),
                PathStep::Key("pw".into()),
                PathStep::Index(2)
            ]
        );
        assert!(parse_path("db.password").is_err());
        assert!(parse_path(r#"["open"#).is_err());
    }

    #[test]
    fn extract_names_the_missing_step_and_the_keys_beside_it() {
        let root = Node::Map(vec![(
            "db".into(),
            Node::Map(vec![("user".into(), Node::Str("u".into()))]),
        )]);
        let err = extract(&root, &parse_path(r#"["db"]["password"]"#).unwrap()).unwrap_err();
        assert_eq!(err, r#"["db"]["password"] not found; keys here: user"#);
    }
}
