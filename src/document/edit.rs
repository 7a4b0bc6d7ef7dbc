//! `set` and `unset` on a plaintext document, as small text edits that leave every other byte
//! where it was.
//!
//! An existing scalar is replaced through the adapter (`render` with one decrypted value, so the
//! format's own quoting applies). A new key is written as `key: value` in its parent's style, a
//! removed one loses its lines (or its member text in JSON); TOML uses `toml_edit`. Every edit is
//! checked: the result is parsed again and must hold exactly the expected tree, or the command
//! fails naming the case instead of writing something else.

use super::tree::{self, Node, PathStep};
use super::{Error, Format, Plaintext, Replacement, ValueType};
use zeroize::Zeroizing;

/// A value for `set`: the tree value, and its spelling for scalars (JSON number text kept).
pub struct NewValue {
    node: Node,
    /// The scalar's text: the string itself, or the number/bool/null as written.
    text: Option<Zeroizing<String>>,
    /// The value as compact JSON (also valid YAML flow syntax).
    json: Zeroizing<String>,
}

impl NewValue {
    /// JSON where it parses as JSON, else a string (as sops).
    pub fn parse(raw: &str) -> NewValue {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v) => {
                let text = match &v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
                    _ => Some(raw.trim().to_string()),
                };
                NewValue {
                    node: node_of(&v),
                    text: text.map(Zeroizing::new),
                    json: Zeroizing::new(v.to_string()),
                }
            }
            Err(_) => NewValue::string(raw),
        }
    }

    /// The new value when it is a string.
    pub fn as_string(&self) -> Option<&str> {
        match &self.node {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn string(raw: &str) -> NewValue {
        NewValue {
            node: Node::Str(raw.to_string()),
            text: Some(Zeroizing::new(raw.to_string())),
            json: Zeroizing::new(serde_json::Value::String(raw.to_string()).to_string()),
        }
    }
}

fn node_of(v: &serde_json::Value) -> Node {
    match v {
        serde_json::Value::Null => Node::Null,
        serde_json::Value::Bool(b) => Node::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Node::Str(s.clone()),
        serde_json::Value::Array(items) => Node::List(items.iter().map(node_of).collect()),
        serde_json::Value::Object(map) => {
            Node::Map(map.iter().map(|(k, v)| (k.clone(), node_of(v))).collect())
        }
    }
}

fn unsupported(format: Format, what: String) -> Error {
    Error::Unsupported { format, what }
}

fn at_path(steps: &[PathStep], message: impl Into<String>) -> Error {
    Error::AtPath {
        path: tree::format_steps(steps),
        message: message.into(),
    }
}

/// How the format stores a value (dotenv and INI hold strings only).
fn stored(format: Format, value: &NewValue, steps: &[PathStep]) -> Result<Node, Error> {
    match format {
        Format::Dotenv | Format::Ini => match (&value.node, &value.text) {
            (Node::Map(_) | Node::List(_), _) | (_, None) => Err(at_path(
                steps,
                format!("{format} holds only strings; a mapping or list cannot be set"),
            )),
            (Node::Null, _) => Ok(Node::Str(String::new())),
            (_, Some(text)) => Ok(Node::Str(text.to_string())),
        },
        Format::Toml if contains_null(&value.node) => Err(at_path(steps, "TOML has no null")),
        _ => Ok(value.node.clone()),
    }
}

fn contains_null(node: &Node) -> bool {
    match node {
        Node::Null => true,
        Node::List(items) => items.iter().any(contains_null),
        Node::Map(items) => items.iter().any(|(_, v)| contains_null(v)),
        _ => false,
    }
}

/// Set `value` at `steps`; missing mappings on the way are created. None when the document
/// already holds that value (nothing to write).
pub fn set(
    format: Format,
    text: &str,
    steps: &[PathStep],
    value: &NewValue,
) -> Result<Option<String>, Error> {
    let root = tree::load(format, text)?;
    let node = stored(format, value, steps)?;
    let mut expected = root.clone();
    let existed = set_node(&mut expected, steps, node.clone())?;
    if expected == root {
        return Ok(None);
    }
    let out = if existed {
        replace_existing(format, text, &root, steps, value, &node)?
    } else {
        insert_new(format, text, &root, steps, value, &node)?
    };
    verify(format, &out, &expected, steps, "set")?;
    Ok(Some(out))
}

/// Remove the value or subtree at `steps`.
pub fn unset(format: Format, text: &str, steps: &[PathStep]) -> Result<String, Error> {
    let root = tree::load(format, text)?;
    let mut expected = root.clone();
    remove_node(&mut expected, steps)?;
    let out = match format {
        Format::Toml => toml_edit_at(text, steps, None)?,
        Format::Json => json_unset(text, steps)?,
        _ => remove_lines(format, text, steps)?,
    };
    verify(format, &out, &expected, steps, "unset")?;
    Ok(out)
}

fn verify(
    format: Format,
    out: &str,
    expected: &Node,
    steps: &[PathStep],
    op: &str,
) -> Result<(), Error> {
    let mut expected = expected.clone();
    if let (Format::Ini, Node::Map(sections)) = (format, &mut expected) {
        // A section without keys holds no values: INI's tree leaves it out.
        sections.retain(|(_, v)| !matches!(v, Node::Map(items) if items.is_empty()));
    }
    match tree::load(format, out) {
        Ok(got) if got == expected => Ok(()),
        _ => Err(unsupported(
            format,
            format!(
                "{op} {}: this case cannot be written as a small edit of the file (for example a \
                 flow-style or multi-line parent); nothing was changed, use `secrets edit`",
                tree::format_steps(steps)
            ),
        )),
    }
}

/// Set the node at `steps`, creating missing mappings; true when the path existed.
fn set_node(root: &mut Node, steps: &[PathStep], value: Node) -> Result<bool, Error> {
    let mut node = root;
    for (depth, step) in steps.iter().enumerate() {
        let last = depth + 1 == steps.len();
        node = match (step, node) {
            (PathStep::Key(k), Node::Map(items)) => {
                match items.iter().position(|(key, _)| key == k) {
                    Some(i) => &mut items[i].1,
                    None => {
                        let mut fresh = value;
                        for s in steps[depth + 1..].iter().rev() {
                            match s {
                                PathStep::Key(k) => fresh = Node::Map(vec![(k.clone(), fresh)]),
                                PathStep::Index(_) => {
                                    return Err(at_path(
                                        steps,
                                        "a list index below a missing key cannot be created",
                                    ));
                                }
                            }
                        }
                        items.push((k.clone(), fresh));
                        return Ok(false);
                    }
                }
            }
            (PathStep::Index(i), Node::List(items)) => match items.get_mut(*i) {
                Some(n) => n,
                None => return Err(at_path(&steps[..=depth], "the list has no such item")),
            },
            _ => {
                return Err(at_path(
                    &steps[..=depth],
                    "the parent is not a mapping (or list, for an index)",
                ));
            }
        };
        if last {
            *node = value;
            return Ok(true);
        }
    }
    Err(at_path(steps, "the path is empty"))
}

fn remove_node(root: &mut Node, steps: &[PathStep]) -> Result<(), Error> {
    let (last, parents) = steps
        .split_last()
        .ok_or_else(|| at_path(steps, "the path is empty"))?;
    let mut node = root;
    for (depth, step) in parents.iter().enumerate() {
        node = match (step, node) {
            (PathStep::Key(k), Node::Map(items)) => items
                .iter_mut()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v)
                .ok_or_else(|| at_path(&steps[..=depth], "not found"))?,
            (PathStep::Index(i), Node::List(items)) => items
                .get_mut(*i)
                .ok_or_else(|| at_path(&steps[..=depth], "not found"))?,
            _ => return Err(at_path(&steps[..=depth], "not found")),
        };
    }
    match (last, node) {
        (PathStep::Key(k), Node::Map(items)) => {
            let i = items
                .iter()
                .position(|(key, _)| key == k)
                .ok_or_else(|| at_path(steps, "not found"))?;
            items.remove(i);
        }
        (PathStep::Index(i), Node::List(items)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => return Err(at_path(steps, "not found")),
    }
    Ok(())
}

/// The full path (keys and indices) of every scalar, in walk order.
fn scalar_paths(node: &Node, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match node {
        Node::Map(items) => {
            for (k, v) in items {
                at.push(PathStep::Key(k.clone()));
                scalar_paths(v, at, out);
                at.pop();
            }
        }
        Node::List(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                scalar_paths(v, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

fn replace_existing(
    format: Format,
    text: &str,
    root: &Node,
    steps: &[PathStep],
    value: &NewValue,
    node: &Node,
) -> Result<String, Error> {
    let old = tree::extract(root, steps).map_err(|m| at_path(steps, m))?;
    let scalar = |n: &Node| !matches!(n, Node::Map(_) | Node::List(_) | Node::Null);
    if scalar(old)
        && scalar(node)
        && let Some(out) = replace_scalar(format, text, root, steps, value, node)?
    {
        return Ok(out);
    }
    match format {
        Format::Toml => toml_edit_at(text, steps, Some(value)),
        Format::Json => json_replace(text, steps, &value.json),
        _ => Err(unsupported(
            format,
            format!(
                "set {}: replacing a mapping, a list or a null is not supported as a small edit; use `secrets edit`",
                tree::format_steps(steps)
            ),
        )),
    }
}

/// Replace one scalar through the adapter; None when the leaves cannot be matched to the tree.
fn replace_scalar(
    format: Format,
    text: &str,
    root: &Node,
    steps: &[PathStep],
    value: &NewValue,
    node: &Node,
) -> Result<Option<String>, Error> {
    let doc = super::parse(format, text.as_bytes())?;
    let mut paths = Vec::new();
    scalar_paths(root, &mut Vec::new(), &mut paths);
    let leaves: Vec<usize> = (0..doc.leaves().len())
        .filter(|&i| !doc.leaves()[i].comment)
        .collect();
    if leaves.len() != paths.len() {
        return Ok(None);
    }
    let Some(at) = paths.iter().position(|p| p == steps) else {
        return Ok(None);
    };
    let (kind, text_value) = match node {
        Node::Str(s) => (ValueType::Str, s.clone()),
        Node::Int(_) => (
            ValueType::Int,
            value.text.as_deref().cloned().unwrap_or_default(),
        ),
        Node::Float(_) => (
            ValueType::Float,
            value.text.as_deref().cloned().unwrap_or_default(),
        ),
        Node::Bool(b) => (ValueType::Bool, b.to_string()),
        _ => return Ok(None),
    };
    let mut edits: Vec<Option<Replacement>> = (0..doc.leaves().len()).map(|_| None).collect();
    edits[leaves[at]] = Some(Replacement::Decrypted(Plaintext {
        kind,
        bytes: Zeroizing::new(text_value.into_bytes()),
    }));
    let out = doc.render(&mut edits, None)?;
    Ok(Some(String::from_utf8(out).map_err(|_| {
        Error::NotUtf8 {
            offset: 0,
            line: 1,
            column: 1,
        }
    })?))
}

fn insert_new(
    format: Format,
    text: &str,
    root: &Node,
    steps: &[PathStep],
    value: &NewValue,
    node: &Node,
) -> Result<String, Error> {
    // The deepest existing mapping on the path, and the keys still missing below it.
    let mut depth = 0;
    let mut at = root;
    while depth < steps.len() {
        let next = match (&steps[depth], at) {
            (PathStep::Key(k), Node::Map(items)) => {
                items.iter().find(|(key, _)| key == k).map(|(_, v)| v)
            }
            (PathStep::Index(i), Node::List(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => {
                at = n;
                depth += 1;
            }
            None => break,
        }
    }
    let (parent, missing) = steps.split_at(depth);
    let keys: Vec<&str> = missing
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Ok(k.as_str()),
            PathStep::Index(_) => Err(at_path(steps, "a list index cannot be created")),
        })
        .collect::<Result<_, _>>()?;
    match format {
        Format::Toml => toml_edit_at(text, steps, Some(value)),
        Format::Json => json_insert(text, parent, &keys, &value.json),
        Format::Dotenv => {
            let [key] = keys.as_slice() else {
                return Err(at_path(steps, "dotenv keys are one level deep"));
            };
            let Node::Str(s) = node else {
                unreachable!("dotenv values are strings")
            };
            Ok(append_line(
                text,
                &format!("{key}={}", s.replace('\n', "\\n")),
            ))
        }
        Format::Ini => ini_insert(text, parent, &keys, node, steps),
        Format::Yaml => yaml_insert(text, parent, &keys, value, steps),
        Format::Binary => Err(unsupported(format, "set needs a structured format".into())),
    }
}

fn append_line(text: &str, line: &str) -> String {
    let mut out = String::with_capacity(text.len() + line.len() + 2);
    out.push_str(text);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// Byte offset of the start of each line (1-based line n starts at `starts[n - 1]`).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn ini_insert(
    text: &str,
    parent: &[PathStep],
    keys: &[&str],
    node: &Node,
    steps: &[PathStep],
) -> Result<String, Error> {
    let Node::Str(s) = node else {
        unreachable!("INI values are strings")
    };
    let line = |k: &str| format!("{k} = {}", s.replace('\n', "\\n"));
    match (parent, keys) {
        ([], [section, key]) => Ok(append_line(
            &append_line(text, &format!("\n[{section}]")),
            &line(key),
        )
        .replacen("\n\n\n[", "\n\n[", 1)),
        ([PathStep::Key(section)], [key]) => {
            // After the last non-blank line of the section.
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let header = lines
                .iter()
                .position(|l| l.trim() == format!("[{section}]"))
                .ok_or_else(|| at_path(steps, "the section header was not found"))?;
            let mut end = header + 1;
            for (i, l) in lines.iter().enumerate().skip(header + 1) {
                if l.trim_start().starts_with('[') {
                    break;
                }
                if !l.trim().is_empty() {
                    end = i + 1;
                }
            }
            let mut out = String::new();
            for l in &lines[..end] {
                out.push_str(l);
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line(key));
            out.push('\n');
            for l in &lines[end..] {
                out.push_str(l);
            }
            Ok(out)
        }
        _ => Err(at_path(steps, "INI paths are [section][key]")),
    }
}

/// A YAML scalar or flow value for a new key: plain when that reads back as the same string.
fn yaml_value(value: &NewValue) -> String {
    if let Node::Str(s) = &value.node {
        let plain = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./@+".contains(c))
            && !s.starts_with(['-', '.', '@'])
            && super::yaml::load_tree(&format!("k: {s}\n")).ok()
                == Some(Node::Map(vec![("k".into(), Node::Str(s.clone()))]));
        if plain {
            return s.clone();
        }
    }
    value.json.to_string()
}

fn yaml_insert(
    text: &str,
    parent: &[PathStep],
    keys: &[&str],
    value: &NewValue,
    steps: &[PathStep],
) -> Result<String, Error> {
    let key_text = |k: &str| {
        if !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            k.to_string()
        } else {
            serde_json::Value::String(k.to_string()).to_string()
        }
    };
    let block = |indent: usize, step: usize| {
        let mut out = String::new();
        for (i, k) in keys.iter().enumerate() {
            out.push_str(&" ".repeat(indent + i * step));
            out.push_str(&key_text(k));
            out.push(':');
            if i + 1 == keys.len() {
                out.push(' ');
                out.push_str(&yaml_value(value));
            }
            out.push('\n');
        }
        out
    };
    if parent.is_empty() {
        let step = detect_indent_step(text);
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&block(0, step));
        return Ok(out);
    }
    let parent_keys: Vec<&str> = parent
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Ok(k.as_str()),
            PathStep::Index(_) => Err(Error::Unsupported {
                format: Format::Yaml,
                what: format!("set {}: a new key below a list item is not supported as a small edit; use `secrets edit`", tree::format_steps(steps)),
            }),
        })
        .collect::<Result<_, _>>()?;
    let doc = super::parse(Format::Yaml, text.as_bytes())?;
    let under: Vec<&super::Leaf> = doc
        .leaves()
        .iter()
        .filter(|l| {
            !l.comment
                && l.path.len() > parent_keys.len()
                && l.path.iter().zip(&parent_keys).all(|(a, b)| a == b)
        })
        .collect();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let first = under.first().ok_or_else(|| Error::Unsupported {
        format: Format::Yaml,
        what: format!(
            "set {}: the parent mapping is empty or not a block mapping; use `secrets edit`",
            tree::format_steps(steps)
        ),
    })?;
    let child_indent = indent_of(lines[first.line - 1]);
    let last_line = under.iter().map(|l| l.line).max().unwrap_or(first.line);
    // Past the last value's continuation lines (more indented than its key, or blank).
    let mut end = last_line;
    let last_indent = indent_of(lines[last_line - 1]);
    while end < lines.len() {
        let l = lines[end];
        if l.trim().is_empty() || indent_of(l) > last_indent {
            end += 1;
        } else {
            break;
        }
    }
    while end > last_line && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut out = String::with_capacity(text.len() + 64);
    for l in &lines[..end] {
        out.push_str(l);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&block(child_indent, detect_indent_step(text)));
    for l in &lines[end..] {
        out.push_str(l);
    }
    Ok(out)
}

/// The file's indentation step (the smallest non-zero indentation of a mapping line), else 2.
fn detect_indent_step(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with(['#', '-']))
        .map(indent_of)
        .filter(|&n| n > 0)
        .min()
        .unwrap_or(2)
}

/// Remove the lines of the value at `steps` (its key line and everything indented below it).
fn remove_lines(format: Format, text: &str, steps: &[PathStep]) -> Result<String, Error> {
    let keys: Vec<&str> = steps
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Ok(k.as_str()),
            PathStep::Index(_) => Err(unsupported(
                format,
                format!("unset {}: removing a list item is not supported as a small edit; use `secrets edit`", tree::format_steps(steps)),
            )),
        })
        .collect::<Result<_, _>>()?;
    let doc = super::parse(format, text.as_bytes())?;
    let first = doc
        .leaves()
        .iter()
        .find(|l| {
            !l.comment
                && l.path.len() >= keys.len()
                && l.path.iter().zip(&keys).all(|(a, b)| a == b)
        })
        .ok_or_else(|| {
            unsupported(
                format,
                format!(
                    "unset {}: the value was not found in the file's lines; use `secrets edit`",
                    tree::format_steps(steps)
                ),
            )
        })?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let last_key = keys[keys.len() - 1];
    // The key's line: the value's line or the nearest line above it that starts with the key.
    let starts_with_key = |l: &str| {
        let t = l.trim_start();
        [
            last_key.to_string(),
            format!("\"{last_key}\""),
            format!("'{last_key}'"),
        ]
        .iter()
        .any(|k| {
            t.strip_prefix(k.as_str())
                .is_some_and(|r| r.trim_start().starts_with([':', '=']))
        })
    };
    let start = (0..first.line)
        .rev()
        .find(|&i| starts_with_key(lines[i]))
        .ok_or_else(|| {
            unsupported(
                format,
                format!(
                    "unset {}: the key's line was not found; use `secrets edit`",
                    tree::format_steps(steps)
                ),
            )
        })?;
    let key_indent = indent_of(lines[start]);
    let mut end = start + 1;
    if format == Format::Yaml {
        while end < lines.len()
            && (lines[end].trim().is_empty() || indent_of(lines[end]) > key_indent)
        {
            end += 1;
        }
        while end > start + 1 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
    }
    let starts = line_starts(text);
    let from = starts[start];
    let to = starts.get(end).copied().unwrap_or(text.len());
    Ok(format!("{}{}", &text[..from], &text[to..]))
}

/// Set (or with None remove) a TOML value with `toml_edit`, which keeps the rest of the layout.
fn toml_edit_at(text: &str, steps: &[PathStep], value: Option<&NewValue>) -> Result<String, Error> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|_| Error::Invalid {
        format: Format::Toml,
        message: "the document does not parse".into(),
    })?;
    let bad = |m: &str| at_path(steps, m);
    let (last, parents) = steps.split_last().ok_or_else(|| bad("the path is empty"))?;
    let mut item: &mut toml_edit::Item = doc.as_item_mut();
    for (depth, step) in parents.iter().enumerate() {
        if matches!(step, PathStep::Index(_)) && depth + 1 != parents.len() {
            return Err(Error::Unsupported {
                format: Format::Toml,
                what: format!(
                    "{}: only a key directly inside an array of tables can be edited as a small edit; use `secrets edit`",
                    tree::format_steps(steps)
                ),
            });
        }
        item = match step {
            PathStep::Key(k) => {
                let table = item
                    .as_table_like_mut()
                    .ok_or_else(|| bad("the parent is not a table"))?;
                if table.get(k).is_none() {
                    if value.is_none() {
                        return Err(bad("not found"));
                    }
                    table.insert(k, toml_edit::Item::Table(toml_edit::Table::new()));
                }
                table.get_mut(k).expect("inserted")
            }
            PathStep::Index(i) => match item {
                toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
                    let v = a
                        .get_mut(*i)
                        .ok_or_else(|| bad("the list has no such item"))?;
                    // Inline values below an array are edited as values.
                    return toml_set_in_value(v, &steps[parents.len()..], value)
                        .map(|_| doc.to_string());
                }
                toml_edit::Item::ArrayOfTables(a) => {
                    let t = a
                        .get_mut(*i)
                        .ok_or_else(|| bad("the list has no such item"))?;
                    toml_table_set(t, last, value, steps)?;
                    return Ok(doc.to_string());
                }
                _ => return Err(bad("the parent is not a list")),
            },
        };
    }
    let table = item
        .as_table_like_mut()
        .ok_or_else(|| bad("the parent is not a table"))?;
    let PathStep::Key(k) = last else {
        return Err(bad("a list item is not supported here"));
    };
    match value {
        None => {
            table.remove(k).ok_or_else(|| bad("not found"))?;
        }
        Some(v) => {
            let mut new = toml_value(&v.node).ok_or_else(|| bad("TOML cannot hold this value"))?;
            match table.get_mut(k) {
                Some(toml_edit::Item::Value(old)) => {
                    *new.decor_mut() = old.decor().clone();
                    *old = new;
                }
                _ => {
                    table.insert(k, toml_edit::Item::Value(new));
                }
            }
        }
    }
    Ok(doc.to_string())
}

fn toml_table_set(
    t: &mut toml_edit::Table,
    last: &PathStep,
    value: Option<&NewValue>,
    steps: &[PathStep],
) -> Result<(), Error> {
    let PathStep::Key(k) = last else {
        return Err(at_path(steps, "a list item is not supported here"));
    };
    match value {
        None => {
            t.remove(k).ok_or_else(|| at_path(steps, "not found"))?;
        }
        Some(v) => {
            let new =
                toml_value(&v.node).ok_or_else(|| at_path(steps, "TOML cannot hold this value"))?;
            t.insert(k, toml_edit::Item::Value(new));
        }
    }
    Ok(())
}

fn toml_set_in_value(
    _v: &mut toml_edit::Value,
    steps: &[PathStep],
    _value: Option<&NewValue>,
) -> Result<(), Error> {
    Err(Error::Unsupported {
        format: Format::Toml,
        what: format!(
            "{}: editing inside an inline array is not supported as a small edit; use `secrets edit`",
            tree::format_steps(steps)
        ),
    })
}

fn toml_value(node: &Node) -> Option<toml_edit::Value> {
    Some(match node {
        Node::Null => return None,
        Node::Bool(b) => (*b).into(),
        Node::Int(i) => (*i).into(),
        Node::Float(f) => (*f).into(),
        Node::Str(s) => s.as_str().into(),
        Node::List(items) => {
            let mut a = toml_edit::Array::new();
            for i in items {
                a.push(toml_value(i)?);
            }
            toml_edit::Value::Array(a)
        }
        Node::Map(items) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in items {
                t.insert(k, toml_value(v)?);
            }
            toml_edit::Value::InlineTable(t)
        }
    })
}

// --- JSON: a small scanner that finds the span of a value by path. ---

struct Scan<'a> {
    b: &'a [u8],
}

/// A member of an object (or item of an array): where its key (or value) starts, and its value.
struct Member {
    key: Option<String>,
    start: usize,
    value: std::ops::Range<usize>,
}

impl Scan<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.b.len() && self.b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    }

    fn string_end(&self, mut i: usize) -> Option<usize> {
        i += 1;
        while i < self.b.len() {
            match self.b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// End of the value starting at `i`.
    fn value_end(&self, i: usize) -> Option<usize> {
        match *self.b.get(i)? {
            b'"' => self.string_end(i),
            b'{' | b'[' => self.members(i).map(|(_, close)| close + 1),
            _ => {
                let mut j = i;
                while j < self.b.len()
                    && !matches!(self.b[j], b',' | b'}' | b']')
                    && !self.b[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// The members of the object or array at `open`, and the position of its closing bracket.
    fn members(&self, open: usize) -> Option<(Vec<Member>, usize)> {
        let object = self.b[open] == b'{';
        let close_char = if object { b'}' } else { b']' };
        let mut out = Vec::new();
        let mut i = self.ws(open + 1);
        if self.b.get(i) == Some(&close_char) {
            return Some((out, i));
        }
        loop {
            let start = i;
            let mut key = None;
            if object {
                let end = self.string_end(i)?;
                key = Some(serde_json::from_slice::<String>(&self.b[i..end]).ok()?);
                i = self.ws(end);
                if self.b.get(i) != Some(&b':') {
                    return None;
                }
                i = self.ws(i + 1);
            }
            let end = self.value_end(i)?;
            out.push(Member {
                key,
                start,
                value: i..end,
            });
            i = self.ws(end);
            match self.b.get(i)? {
                b',' => i = self.ws(i + 1),
                c if *c == close_char => return Some((out, i)),
                _ => return None,
            }
        }
    }

    /// The value span at `steps`.
    fn find(&self, steps: &[PathStep]) -> Option<std::ops::Range<usize>> {
        let mut at = self.ws(0)..self.value_end(self.ws(0))?;
        for step in steps {
            let (members, _) = self.members(at.start)?;
            let m = match step {
                PathStep::Key(k) => members.iter().rev().find(|m| m.key.as_deref() == Some(k))?,
                PathStep::Index(i) => members.get(*i)?,
            };
            at = m.value.clone();
        }
        Some(at)
    }
}

fn json_not_found(steps: &[PathStep]) -> Error {
    unsupported(
        Format::Json,
        format!(
            "{}: the value's text was not found; use `secrets edit`",
            tree::format_steps(steps)
        ),
    )
}

fn json_replace(text: &str, steps: &[PathStep], json: &str) -> Result<String, Error> {
    let scan = Scan { b: text.as_bytes() };
    let span = scan.find(steps).ok_or_else(|| json_not_found(steps))?;
    Ok(format!(
        "{}{}{}",
        &text[..span.start],
        json,
        &text[span.end..]
    ))
}

fn json_insert(
    text: &str,
    parent: &[PathStep],
    keys: &[&str],
    json: &str,
) -> Result<String, Error> {
    let scan = Scan { b: text.as_bytes() };
    let span = scan.find(parent).ok_or_else(|| json_not_found(parent))?;
    if scan.b[span.start] != b'{' {
        return Err(at_path(parent, "the parent is not an object"));
    }
    let (members, close) = scan
        .members(span.start)
        .ok_or_else(|| json_not_found(parent))?;
    let mut value = json.to_string();
    for k in keys[1..].iter().rev() {
        value = format!("{{{}: {value}}}", serde_json::Value::String(k.to_string()));
    }
    let member = format!(
        "{}: {value}",
        serde_json::Value::String(keys[0].to_string())
    );
    Ok(match members.last() {
        Some(last) => {
            // The separator before the last member, reused: ",\n    " or ", ".
            let before = if members.len() > 1 {
                let prev = &members[members.len() - 2];
                text[prev.value.end..last.start].to_string()
            } else {
                match &text[span.start + 1..last.start] {
                    "" => ", ".to_string(),
                    ws => format!(",{ws}"),
                }
            };
            format!(
                "{}{before}{member}{}",
                &text[..last.value.end],
                &text[last.value.end..]
            )
        }
        None => format!("{}{member}{}", &text[..close], &text[close..]),
    })
}

fn json_unset(text: &str, steps: &[PathStep]) -> Result<String, Error> {
    let (_, parent) = steps
        .split_last()
        .ok_or_else(|| at_path(steps, "the path is empty"))?;
    let scan = Scan { b: text.as_bytes() };
    let span = scan.find(parent).ok_or_else(|| json_not_found(steps))?;
    let (members, close) = scan
        .members(span.start)
        .ok_or_else(|| json_not_found(steps))?;
    let i = match &steps[steps.len() - 1] {
        PathStep::Key(k) => members.iter().rposition(|m| m.key.as_deref() == Some(k)),
        PathStep::Index(i) => (*i < members.len()).then_some(*i),
    }
    .ok_or_else(|| json_not_found(steps))?;
    let range = if members.len() == 1 {
        span.start + 1..close
    } else if i > 0 {
        members[i - 1].value.end..members[i].value.end
    } else {
        members[0].start..members[1].start
    };
    Ok(format!("{}{}", &text[..range.start], &text[range.end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(s: &str) -> Vec<PathStep> {
        crate::document::keypath::parse_steps(s).unwrap()
    }

    fn set_ok(format: Format, text: &str, path: &str, value: &str) -> String {
        set(format, text, &steps(path), &NewValue::parse(value))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn yaml_replaces_one_value_and_inserts_in_the_parents_style() {
        let text = "# c\ndb:\n    user: app  # who\n    password: old\nother: 1\n";
        assert_eq!(
            set_ok(Format::Yaml, text, r#"["db"]["password"]"#, "new"),
            "# c\ndb:\n    user: app  # who\n    password: new\nother: 1\n"
        );
        assert_eq!(
            set_ok(Format::Yaml, text, r#"["db"]["host"]"#, "h.example"),
            "# c\ndb:\n    user: app  # who\n    password: old\n    host: h.example\nother: 1\n"
        );
        assert_eq!(
            set_ok(Format::Yaml, text, r#"["a"]["b"]"#, "1"),
            format!("{text}a:\n    b: 1\n")
        );
        assert!(
            set(
                Format::Yaml,
                text,
                &steps(r#"["other"]"#),
                &NewValue::parse("1")
            )
            .unwrap()
            .is_none()
        );
        assert_eq!(
            unset(Format::Yaml, text, &steps(r#"["db"]["user"]"#)).unwrap(),
            "# c\ndb:\n    password: old\nother: 1\n"
        );
        assert_eq!(
            unset(Format::Yaml, text, &steps(r#"["db"]"#)).unwrap(),
            "# c\nother: 1\n"
        );
    }

    #[test]
    fn json_sets_and_unsets_members() {
        let text = "{\n  \"a\": \"x\",\n  \"b\": {\"c\": 1}\n}\n";
        assert_eq!(
            set_ok(Format::Json, text, r#"["a"]"#, "y"),
            "{\n  \"a\": \"y\",\n  \"b\": {\"c\": 1}\n}\n"
        );
        assert_eq!(
            set_ok(Format::Json, text, r#"["d"]"#, "[1,2]"),
            "{\n  \"a\": \"x\",\n  \"b\": {\"c\": 1},\n  \"d\": [1,2]\n}\n"
        );
        assert_eq!(
            set_ok(Format::Json, text, r#"["b"]["e"]"#, "true"),
            "{\n  \"a\": \"x\",\n  \"b\": {\"c\": 1, \"e\": true}\n}\n"
        );
        assert_eq!(
            unset(Format::Json, text, &steps(r#"["a"]"#)).unwrap(),
            "{\n  \"b\": {\"c\": 1}\n}\n"
        );
        assert_eq!(
            unset(Format::Json, text, &steps(r#"["b"]"#)).unwrap(),
            "{\n  \"a\": \"x\"\n}\n"
        );
    }

    #[test]
    fn toml_dotenv_and_ini_edits() {
        let toml = "# c\n[db]\nuser = \"app\" # who\n";
        assert_eq!(
            set_ok(Format::Toml, toml, r#"["db"]["user"]"#, "root"),
            "# c\n[db]\nuser = \"root\" # who\n"
        );
        assert_eq!(
            set_ok(Format::Toml, toml, r#"["db"]["port"]"#, "5432"),
            "# c\n[db]\nuser = \"app\" # who\nport = 5432\n"
        );
        assert_eq!(
            unset(Format::Toml, toml, &steps(r#"["db"]["user"]"#)).unwrap(),
            "# c\n[db]\n"
        );
        let env = "# c\nA=1\nB=two\n";
        assert_eq!(
            set_ok(Format::Dotenv, env, r#"["B"]"#, "three"),
            "# c\nA=1\nB=three\n"
        );
        assert_eq!(
            set_ok(Format::Dotenv, env, r#"["C"]"#, "x y"),
            "# c\nA=1\nB=two\nC=x y\n"
        );
        assert_eq!(
            unset(Format::Dotenv, env, &steps(r#"["A"]"#)).unwrap(),
            "# c\nB=two\n"
        );
        let ini = "[s]\na = 1\n\n[t]\nb = 2\n";
        assert_eq!(
            set_ok(Format::Ini, ini, r#"["s"]["c"]"#, "3"),
            "[s]\na = 1\nc = 3\n\n[t]\nb = 2\n"
        );
        assert_eq!(
            set_ok(Format::Ini, ini, r#"["u"]["d"]"#, "4"),
            "[s]\na = 1\n\n[t]\nb = 2\n\n[u]\nd = 4\n"
        );
        assert_eq!(
            unset(Format::Ini, ini, &steps(r#"["t"]["b"]"#)).unwrap(),
            "[s]\na = 1\n\n[t]\n"
        );
    }

    #[test]
    fn cases_that_need_a_rewrite_fail_without_changing_anything() {
        let text = "db: {user: app}\n";
        let err = set(
            Format::Yaml,
            text,
            &steps(r#"["db"]["password"]"#),
            &NewValue::parse("x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("secrets edit"), "{err}");
        assert!(!err.to_string().contains("app"));
    }
}
