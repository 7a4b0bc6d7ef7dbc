//! A line-at-a-time reader for pretty-printed JSON (`json.dump(indent=2)`,
//! `JSON.stringify(_, null, 2)`, sops's own TAB-indented output), for the streaming fast path.
//!
//! "Line-shaped" JSON is a top-level object opened by `{` alone on the first line, with one
//! member per line: `"key": scalar`, `"key": {` or `"key": [` opening a nested object or an array
//! of scalars (one per line), `"key": {}` / `"key": []`, closing brackets alone on their line
//! (each followed by its comma, if any), and blank lines. Keys are strings without escapes;
//! scalars are read by the full tokenizer (so they are typed and checked as it types them).
//! Anything else (several tokens per line outside that shape, arrays of containers, `\r`,
//! duplicate keys, content after the top-level object) is [`NotShaped`], and callers fall back to
//! the full parser: on the accepted shape, this reader finds the same leaves, in the same order,
//! with the same spans, as [`super::JsonDocument`].

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;

use super::{Scalar, Tokenizer};
use crate::document::{MetaValue, Value};

/// The input is not of the shape this reader handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotShaped;

/// What a line is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// Blank, a bracket, a key opening a container, or an empty container: copied as is.
    Verbatim,
    /// A scalar value at this byte range of the line (quotes included); its key path is
    /// [`JsonLines::path`].
    Value(Range<usize>),
    /// The top-level `"sops"` member (the metadata starts on this line).
    Meta,
}

/// Where an open container is between its members.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Just opened: a member or the closing bracket.
    First,
    /// After a member followed by a comma: another member.
    Member,
    /// After a member without a comma: the closing bracket.
    Close,
}

struct Frame {
    object: bool,
    next: Next,
    /// The hashes of the object's keys so far.
    keys: HashSet<u64>,
}

/// Nesting deeper than this is left to the full parser.
const MAX_LEVELS: usize = 64;

/// The reader's state between lines.
pub struct JsonLines {
    frames: Vec<Frame>,
    /// The keys that opened each nested container, then the last scalar member's key.
    path: Vec<String>,
    /// Whether `path` ends with a scalar member's key (dropped at the next line).
    leaf_key: bool,
    /// The top-level object was closed.
    finished: bool,
    /// The indentation of the first top-level member.
    first_indent: Option<String>,
    hasher: RandomState,
}

impl Default for JsonLines {
    fn default() -> Self {
        JsonLines::new()
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

impl JsonLines {
    pub fn new() -> JsonLines {
        JsonLines {
            frames: Vec::new(),
            path: Vec::new(),
            leaf_key: false,
            finished: false,
            first_indent: None,
            hasher: RandomState::new(),
        }
    }

    /// The key path of the last [`Line::Value`] (mapping keys only, as sops's AAD has it).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Whether the top-level object was opened and closed.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Whether the last [`Line::Value`] is an array item (not an object member).
    pub fn in_array(&self) -> bool {
        self.frames.last().is_some_and(|f| !f.object)
    }

    /// The indentation of the first top-level member (what the metadata is indented with).
    pub fn first_indent(&self) -> Option<&str> {
        self.first_indent.as_deref()
    }

    /// The number of open containers (1: inside the top-level object).
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Read one line (without its `\n`).
    pub fn line(&mut self, line: &str) -> Result<Line, NotShaped> {
        if self.leaf_key {
            self.path.pop();
            self.leaf_key = false;
        }
        if line.contains('\r') {
            return Err(NotShaped);
        }
        let body = trim_ws(line);
        let ind = line.len() - body.len();
        let body = body.trim_end_matches([' ', '\t']);
        if body.is_empty() {
            return Ok(Line::Verbatim);
        }
        if self.finished {
            return Err(NotShaped);
        }
        let Some(top) = self.frames.last_mut() else {
            if body != "{" {
                return Err(NotShaped);
            }
            self.frames.push(Frame {
                object: true,
                next: Next::First,
                keys: HashSet::new(),
            });
            return Ok(Line::Verbatim);
        };
        let close = if top.object { b'}' } else { b']' };
        if body.as_bytes()[0] == close {
            if top.next == Next::Member {
                return Err(NotShaped);
            }
            self.frames.pop();
            if self.frames.is_empty() {
                if body.len() != 1 {
                    return Err(NotShaped);
                }
                self.finished = true;
            } else {
                self.path.pop();
                self.after_member(&body[1..])?;
            }
            return Ok(Line::Verbatim);
        }
        if top.next == Next::Close {
            return Err(NotShaped);
        }
        if !top.object {
            // An array item: scalars only.
            if matches!(body.as_bytes()[0], b'{' | b'[') {
                return Err(NotShaped);
            }
            let len = scalar_len(body)?;
            self.after_member(&body[len..])?;
            return Ok(Line::Value(ind..ind + len));
        }
        // A member: `"key": value`.
        let key_end = body[1..].find('"').ok_or(NotShaped)? + 1;
        let key = &body[1..key_end];
        if !body.starts_with('"') || key.contains('\\') || key.bytes().any(|b| b < 0x20) {
            return Err(NotShaped);
        }
        let after = trim_ws(&body[key_end + 1..]);
        let after = after.strip_prefix(':').ok_or(NotShaped)?;
        let value = trim_ws(after);
        let value_at = ind + body.len() - value.len();
        if !top.keys.insert(self.hasher.hash_one(key)) {
            // A duplicate key (or a hash collision): the full parser decides.
            return Err(NotShaped);
        }
        if self.frames.len() == 1 {
            if self.first_indent.is_none() {
                self.first_indent = Some(line[..ind].to_string());
            }
            if key == "sops" {
                return Ok(Line::Meta);
            }
        }
        match value.as_bytes().first() {
            None => Err(NotShaped),
            Some(&open @ (b'{' | b'[')) => {
                let rest = trim_ws(&value[1..]);
                let close = if open == b'{' { b'}' } else { b']' };
                if rest.as_bytes().first() == Some(&close) {
                    // An empty container.
                    self.after_member(&rest[1..])?;
                    return Ok(Line::Verbatim);
                }
                if !rest.is_empty() || self.frames.len() >= MAX_LEVELS {
                    return Err(NotShaped);
                }
                self.path.push(key.to_string());
                self.frames.push(Frame {
                    object: open == b'{',
                    next: Next::First,
                    keys: HashSet::new(),
                });
                Ok(Line::Verbatim)
            }
            Some(_) => {
                let len = scalar_len(value)?;
                self.after_member(&value[len..])?;
                self.path.push(key.to_string());
                self.leaf_key = true;
                Ok(Line::Value(value_at..value_at + len))
            }
        }
    }

    /// What follows a member on its line: nothing, or its comma.
    fn after_member(&mut self, rest: &str) -> Result<(), NotShaped> {
        let top = self.frames.last_mut().ok_or(NotShaped)?;
        top.next = match trim_ws(rest) {
            "" => Next::Close,
            "," => Next::Member,
            _ => return Err(NotShaped),
        };
        Ok(())
    }
}

/// The length of the scalar at the start of `text`, checked as [`scalar`] checks it, without
/// decoding it (quickly for a string without escapes).
fn scalar_len(text: &str) -> Result<usize, NotShaped> {
    let b = text.as_bytes();
    if b.first() == Some(&b'"')
        && let Some(i) = memchr::memchr2(b'"', b'\\', &b[1..])
        && b[1 + i] == b'"'
        && b[1..1 + i].iter().all(|&c| c >= 0x20)
    {
        let len = i + 2;
        return match b.get(len) {
            Some(&c) if !is_ws(c) && c != b',' => Err(NotShaped),
            _ => Ok(len),
        };
    }
    scalar(text).map(|(len, _)| len)
}

/// The scalar at the start of `text`: its length, and its value with the spelling the full
/// reader keeps (numbers and booleans).
pub fn scalar(text: &str) -> Result<(usize, (Value, Option<String>)), NotShaped> {
    let mut t = Tokenizer::new(text);
    let value = match text.as_bytes().first() {
        Some(b'"') => Scalar::Str(t.string().map_err(|_| NotShaped)?.0),
        Some(b'-' | b'0'..=b'9') => {
            let (s, f) = t.number().map_err(|_| NotShaped)?;
            Scalar::Num(s, f)
        }
        Some(b't' | b'f' | b'n') => t.literal().map_err(|_| NotShaped)?,
        _ => return Err(NotShaped),
    };
    let len = t.pos;
    if text
        .as_bytes()
        .get(len)
        .is_some_and(|&b| !is_ws(b) && b != b',')
    {
        return Err(NotShaped);
    }
    Ok((len, super::leaf_value(value)))
}

/// The tail of an encrypted file from its top-level `"sops"` member's line (its indentation
/// included) to the end: the metadata, and the text that stays of the tail once the member is
/// removed (the closing `}` and what follows). None unless the tail is that member, the closing
/// bracket of the top-level object and whitespace.
pub fn metadata_tail(tail: &str) -> Option<(MetaValue, String)> {
    let src = format!("{{\n{tail}");
    let doc = super::JsonDocument::parse(&src).ok()?;
    if doc.members.len() != 1 || doc.sops_member != Some(0) || !doc.leaves.is_empty() {
        return None;
    }
    let meta = doc.metadata?;
    let end = doc.members[0].value.end;
    Some((meta, src[end..].to_string()))
}

/// The tail of [`metadata_tail`] with the `sops` member's value replaced by `meta`, as the full
/// writer writes it in a file whose first top-level member is indented with `first_indent`.
pub fn replace_metadata(tail: &str, first_indent: &str, meta: &MetaValue) -> Option<String> {
    use crate::document::Document;
    let prefix = format!("{{\n{first_indent}\"_\": 0,\n");
    let src = format!("{prefix}{tail}");
    let doc = super::JsonDocument::parse(&src).ok()?;
    if doc.members.len() != 2 || doc.sops_member != Some(1) || doc.leaves.len() != 1 {
        return None;
    }
    let out = doc.render(&mut Vec::new(), Some(meta)).ok()?;
    let out = String::from_utf8(out).ok()?;
    out.strip_prefix(&prefix).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(Vec<String>, String)>, NotShaped> {
        let mut r = JsonLines::new();
        let mut out = Vec::new();
        for line in text.split('\n') {
            if let Line::Value(range) = r.line(line)? {
                out.push((r.path().to_vec(), line[range].to_string()));
            }
        }
        if !r.finished() {
            return Err(NotShaped);
        }
        Ok(out)
    }

    #[test]
    fn reads_nested_objects_and_arrays() {
        let got = read(
            "{\n  \"a\": 1,\n  \"b\": {\n\t\"c\": \"x\\\"y\" ,\n    \"d\": [\n      true,\n      null\n    ],\n    \"e\": {},\n    \"f\": []\n  },\n\n  \"g\": \"h\"\n}\n",
        )
        .unwrap();
        let p = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (p(&["a"]), "1".into()),
                (p(&["b", "c"]), "\"x\\\"y\"".into()),
                (p(&["b", "d"]), "true".into()),
                (p(&["b", "d"]), "null".into()),
                (p(&["g"]), "\"h\"".into()),
            ]
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for text in [
            "{\"a\": 1}\n",
            "{\n  \"a\": 1\n  \"b\": 2\n}\n",
            "{\n  \"a\": 1,\n}\n",
            "{\n  \"a\": 1,\n  \"a\": 2\n}\n",
            "{\n  \"a\": [\n    {}\n  ]\n}\n",
            "{\n  \"a\": [1, 2]\n}\n",
            "{\n  \"a\\u0041\": 1\n}\n",
            "{\n  \"a\": 1\r\n}\n",
            "{\n  \"a\": 01\n}\n",
            "{\n  \"a\": tru\n}\n",
            "{\n  \"a\": 1\n}\n{}\n",
            "{\n  \"a\": 1\n",
            "{\n  \"a\": 1e999\n}\n",
            "[\n  1\n]\n",
            "{\n  \"a\": \"x\" \"y\"\n}\n",
        ] {
            assert_eq!(read(text), Err(NotShaped), "{text:?}");
        }
    }
}
