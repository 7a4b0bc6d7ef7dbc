//! The `sops` metadata block in YAML: read from a parsed node, written as go-yaml v3 would
//! (block style, the document's indentation step, lists indented under their key, armored keys
//! as literal blocks, `lastmodified` double-quoted).

use saphyr_parser::ScalarStyle;

use super::parse::{Kind, Node};
use super::scalar::{Resolved, block_string, double_quoted, literal_block, resolve_plain};
use crate::document::MetaValue;

/// A node as a metadata value (aliases followed).
pub fn read(nodes: &[Node], id: usize, depth: usize) -> MetaValue {
    if depth > 64 {
        return MetaValue::Null;
    }
    match &nodes[id].kind {
        Kind::Scalar(s) => {
            if s.style != ScalarStyle::Plain || s.tag.is_some() {
                return MetaValue::Str(s.value.clone());
            }
            match resolve_plain(&s.value) {
                Resolved::Null => MetaValue::Null,
                Resolved::Bool(b) => MetaValue::Bool(b),
                Resolved::Int(n) => MetaValue::Int(n),
                _ => MetaValue::Str(s.value.clone()),
            }
        }
        Kind::Seq(items) => {
            MetaValue::List(items.iter().map(|&i| read(nodes, i, depth + 1)).collect())
        }
        Kind::Map(pairs) => MetaValue::Map(
            pairs
                .iter()
                .map(|&(k, v)| {
                    let key = match read(nodes, k, depth + 1) {
                        MetaValue::Str(s) => s,
                        MetaValue::Int(n) => n.to_string(),
                        MetaValue::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, read(nodes, v, depth + 1))
                })
                .collect(),
        ),
        Kind::Alias(target) => read(nodes, *target, depth + 1),
    }
}

/// The block `sops:\n...`, every line prefixed by `base` spaces and ending with a newline.
pub fn write(meta: &MetaValue, base: usize, step: usize) -> String {
    let mut out = String::new();
    write_entry(&mut out, "sops", meta, base, base, step, false);
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Write `key: value` with the key at column `col` (the caller has already written the
/// indentation when `inline` is set). `level` is the indentation of the enclosing block
/// collection (for a mapping inside a sequence item, the dash's column), from which nested
/// blocks are indented by `step`.
fn write_entry(
    out: &mut String,
    key: &str,
    value: &MetaValue,
    col: usize,
    level: usize,
    step: usize,
    inline: bool,
) {
    if !inline {
        pad(out, col);
    }
    out.push_str(&block_string(key));
    out.push(':');
    match value {
        MetaValue::Map(items) if !items.is_empty() => {
            out.push('\n');
            for (k, v) in items {
                write_entry(out, k, v, level + step, level + step, step, false);
            }
        }
        MetaValue::List(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, level + step, step);
        }
        scalar => {
            out.push(' ');
            let block_indent = if level + step > col {
                level + step
            } else {
                col + step
            };
            write_scalar(out, key, scalar, block_indent);
            out.push('\n');
        }
    }
}

fn write_list(out: &mut String, items: &[MetaValue], col: usize, step: usize) {
    for item in items {
        pad(out, col);
        out.push_str("- ");
        match item {
            MetaValue::Map(pairs) if !pairs.is_empty() => {
                for (i, (k, v)) in pairs.iter().enumerate() {
                    write_entry(out, k, v, col + 2, col, step, i == 0);
                }
            }
            MetaValue::List(inner) if !inner.is_empty() => {
                out.push('\n');
                write_list(out, inner, col + step, step);
            }
            scalar => {
                write_scalar(out, "", scalar, col + step);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, key: &str, value: &MetaValue, block_indent: usize) {
    match value {
        MetaValue::Null => out.push_str("null"),
        MetaValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaValue::Int(n) => out.push_str(&n.to_string()),
        MetaValue::Str(s) if key == "lastmodified" => out.push_str(&double_quoted(s)),
        MetaValue::Str(s) if s.contains('\n') => match literal_block(s, block_indent, ' ', false) {
            Some((chomp, body)) => {
                out.push('|');
                if chomp != ' ' {
                    out.push(chomp);
                }
                out.push('\n');
                out.push_str(body.strip_suffix('\n').unwrap_or(&body));
            }
            None => out.push_str(&double_quoted(s)),
        },
        MetaValue::Str(s) if s.is_empty() => out.push_str("\"\""),
        MetaValue::Str(s) => out.push_str(&block_string(s)),
        MetaValue::List(_) => out.push_str("[]"),
        MetaValue::Map(_) => out.push_str("{}"),
    }
}

/// The metadata as a flow value in JSON form (valid YAML flow), for the `sops` member of a
/// top-level flow mapping: `{"age": [{"recipient": "...", "enc": "..."}], ...}`. Strings are
/// double-quoted, so [`read`] gives back the same value.
pub fn write_flow(meta: &MetaValue) -> String {
    let mut out = String::new();
    write_flow_value(&mut out, meta);
    out
}

fn write_flow_value(out: &mut String, value: &MetaValue) {
    match value {
        MetaValue::Null => out.push_str("null"),
        MetaValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaValue::Int(n) => out.push_str(&n.to_string()),
        MetaValue::Str(s) => out.push_str(&double_quoted(s)),
        MetaValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow_value(out, item);
            }
            out.push(']');
        }
        MetaValue::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&double_quoted(k));
                out.push_str(": ");
                write_flow_value(out, v);
            }
            out.push('}');
        }
    }
}
