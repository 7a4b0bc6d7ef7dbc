//! A line-at-a-time reader for the common shape of YAML files, for the streaming fast path.
//!
//! "Line-shaped" YAML is a block mapping at column 0 whose every scalar sits on one line with
//! its key (`key: value`) or its dash (`- value`, in a list of scalars under a key): plain
//! keys of `[A-Za-z_][A-Za-z0-9_./-]*` that read as strings, plain or single-line quoted values
//! (double-quoted only without escapes), comments and blank lines. Anything else (anchors,
//! aliases, tags, flow collections, block scalars, multi-line scalars, several documents,
//! tabs, `\r`, control characters, duplicate keys, encrypted comments) is reported as
//! [`NotShaped`], and callers fall back to the full parser: on the accepted shape, this reader
//! finds the same leaves, in the same order, with the same spans, as [`super::YamlDocument`].

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;

use super::scalar::{
    Resolved, double_quoted, is_printable, plain_safe, plain_text_safe, resolve_plain,
    single_quoted, single_safe,
};
use crate::document::{Document, MetaValue, Plaintext, Value, ValueType};

/// The input is not of the shape this reader handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotShaped;

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
}

/// A one-line scalar: its byte range in the line (quotes included) and its style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub range: Range<usize>,
    pub style: Style,
}

impl Site {
    /// The scalar's string content (quotes removed, `''` unescaped).
    pub fn content<'a>(&self, line: &'a str) -> std::borrow::Cow<'a, str> {
        let text = &line[self.range.clone()];
        match self.style {
            Style::Plain => text.into(),
            Style::Double => text[1..text.len() - 1].into(),
            Style::Single => {
                let inner = &text[1..text.len() - 1];
                if inner.contains('\'') {
                    inner.replace("''", "'").into()
                } else {
                    inner.into()
                }
            }
        }
    }
}

/// What a line is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// Blank, a comment, a key opening a nested block, or a value that is null: copied as is.
    Verbatim,
    /// A scalar value; its key path is [`YamlLines::path`].
    Value(Site),
    /// The top-level `sops:` key (the metadata block starts on this line).
    Meta,
}

/// Nesting deeper than this is left to the full parser.
const MAX_LEVELS: usize = 64;

/// The reader's state between lines.
pub struct YamlLines {
    /// Open block mappings: their indentation and the hashes of their keys so far.
    levels: Vec<(usize, HashSet<u64>)>,
    /// Keys from the root down to the current line's key (or the open list's key).
    path: Vec<String>,
    /// The indentation of the open list of scalars, if any.
    list: Option<usize>,
    /// The last key had no value on its line: a nested block or a null follows.
    pending: bool,
    /// The indentation step of the first nested mapping under a top-level key.
    step: Option<usize>,
    /// Whether a content line was seen.
    started: bool,
    /// Whether the document started with `---`.
    marker: bool,
    hasher: RandomState,
}

impl Default for YamlLines {
    fn default() -> Self {
        YamlLines::new()
    }
}

impl YamlLines {
    pub fn new() -> YamlLines {
        YamlLines {
            levels: vec![(0, HashSet::new())],
            path: Vec::new(),
            list: None,
            pending: false,
            step: None,
            started: false,
            marker: false,
            hasher: RandomState::new(),
        }
    }

    /// The key path of the last [`Line::Value`].
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The indentation step the metadata block is written with (as `indent_step` finds it).
    pub fn step(&self) -> Option<usize> {
        self.step
    }

    /// Whether the last [`Line::Value`] is a list item (not a mapping value).
    pub fn in_list(&self) -> bool {
        self.list.is_some()
    }

    /// Whether any content (a key) was read.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Read one line (without its `\n`).
    pub fn line(&mut self, line: &str) -> Result<Line, NotShaped> {
        if line.bytes().any(|b| b < 0x20 || b == 0x7f)
            || (!line.is_ascii()
                && line.chars().any(|c| {
                    !is_printable(c) || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
                }))
        {
            return Err(NotShaped);
        }
        let body = line.trim_start_matches(' ');
        let ind = line.len() - body.len();
        if body.is_empty() {
            return Ok(Line::Verbatim);
        }
        if body.starts_with('#') {
            // An encrypted comment is a leaf of its own.
            return if body.contains(crate::document::envelope::MARKER) {
                Err(NotShaped)
            } else {
                Ok(Line::Verbatim)
            };
        }
        if line == "---" && !self.started && !self.marker {
            // One document-start marker before the document.
            self.marker = true;
            return Ok(Line::Verbatim);
        }
        self.started = true;
        let item = body == "-" || body.starts_with("- ");
        if let Some(list_ind) = self.list {
            if item && ind == list_ind {
                return self.item(line, ind);
            }
            if ind > list_ind {
                return Err(NotShaped);
            }
            self.list = None;
        }
        if self.pending {
            self.pending = false;
            let key_ind = self.levels.last().map_or(0, |l| l.0);
            if item && ind >= key_ind {
                self.list = Some(ind);
                return self.item(line, ind);
            }
            if ind > key_ind {
                if self.levels.len() >= MAX_LEVELS {
                    return Err(NotShaped);
                }
                if self.levels.len() == 1 && self.step.is_none() {
                    self.step = Some(ind);
                }
                self.levels.push((ind, HashSet::new()));
            }
        }
        while self.levels.last().is_some_and(|l| l.0 > ind) {
            self.levels.pop();
        }
        let depth = self.levels.len() - 1;
        if self.levels[depth].0 != ind || item {
            return Err(NotShaped);
        }
        let key_len = body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
            .count();
        let key = &body[..key_len];
        let first = key.bytes().next().ok_or(NotShaped)?;
        if !(first.is_ascii_alphabetic() || first == b'_') || resolve_plain(key) != Resolved::Str {
            return Err(NotShaped);
        }
        let rest = &body[key_len..];
        let after = rest.strip_prefix(':').ok_or(NotShaped)?;
        if !(after.is_empty() || after.starts_with(' ')) {
            return Err(NotShaped);
        }
        if !self.levels[depth].1.insert(self.hasher.hash_one(key)) {
            // A duplicate key (or a hash collision): the full parser decides.
            return Err(NotShaped);
        }
        self.path.truncate(depth);
        self.path.push(key.to_string());
        if depth == 0 && key == "sops" {
            return Ok(Line::Meta);
        }
        let value_at = line.len() - after.len();
        let value = after.trim_start_matches(' ');
        if value.is_empty() || value.starts_with('#') {
            self.pending = true;
            return Ok(Line::Verbatim);
        }
        let start = line.len() - value.len();
        debug_assert!(start > value_at || value_at == line.len());
        scalar(line, start).map(Line::Value)
    }

    /// A `- value` item of the open list.
    fn item(&mut self, line: &str, ind: usize) -> Result<Line, NotShaped> {
        let after = &line[ind + 1..];
        let value = after.trim_start_matches(' ');
        if value.is_empty() {
            return Ok(Line::Verbatim);
        }
        if value.starts_with('#') {
            // A null item followed by a comment; rare enough to leave to the parser.
            return Err(NotShaped);
        }
        scalar(line, line.len() - value.len()).map(Line::Value)
    }
}

/// The one-line scalar starting at `start`, alone on the rest of its line (bar a comment).
fn scalar(line: &str, start: usize) -> Result<Site, NotShaped> {
    let text = &line[start..];
    let (end, style) = match text.as_bytes()[0] {
        b'\'' => {
            let b = text.as_bytes();
            let mut i = 1;
            loop {
                match b.get(i) {
                    None => return Err(NotShaped),
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => break,
                    Some(_) => i += 1,
                }
            }
            (i + 1, Style::Single)
        }
        b'"' => {
            let close = text[1..].find('"').ok_or(NotShaped)? + 1;
            if text[1..close].contains('\\') {
                return Err(NotShaped);
            }
            (close + 1, Style::Double)
        }
        // The common case, quickly: printable ASCII without spaces, starting with a letter or
        // a digit and not ending with `:` (as `ENC[...]` values are) is safe as it stands.
        _ if text.as_bytes()[0].is_ascii_alphanumeric()
            && !text.ends_with(':')
            && text.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            (text.len(), Style::Plain)
        }
        _ => {
            let end = text.find(" #").unwrap_or(text.len());
            let value = text[..end].trim_end_matches(' ');
            if !plain_text_safe(value, false) {
                return Err(NotShaped);
            }
            (value.len(), Style::Plain)
        }
    };
    let rest = &text[end..];
    let trimmed = rest.trim_start_matches(' ');
    if !(trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())) {
        return Err(NotShaped);
    }
    if trimmed.contains(crate::document::envelope::MARKER) {
        return Err(NotShaped);
    }
    Ok(Site {
        range: start..start + end,
        style,
    })
}

/// A scalar's value as sops types it (as the full reader types it).
pub enum Typed<'a> {
    Str(std::borrow::Cow<'a, str>),
    /// Any other type, with the spelling to encrypt when it reads back as the same value.
    Other(Value, Option<String>),
}

/// Type the scalar at `site` of `text` (the ranges of a site index `text`).
pub fn typed<'a>(text: &'a str, site: &Site) -> Result<Typed<'a>, NotShaped> {
    match site.style {
        Style::Plain => {
            let plain = &text[site.range.clone()];
            match resolve_plain(plain) {
                Resolved::Str => Ok(Typed::Str(plain.into())),
                r => super::from_resolved(r, plain)
                    .map(|(v, spelling)| Typed::Other(v, spelling))
                    .map_err(|_| NotShaped),
            }
        }
        _ => Ok(Typed::Str(site.content(text))),
    }
}

/// The text that replaces a scalar written in `style` by its `ENC[...]` string.
pub fn encrypted_text(style: Style, enc: &str) -> std::borrow::Cow<'_, str> {
    match style {
        Style::Plain => enc.into(),
        Style::Single => single_quoted(enc).into(),
        Style::Double => double_quoted(enc).into(),
    }
}

/// The text that replaces an encrypted scalar written in `style` by its plaintext, as the full
/// writer writes it; None where the full writer would change the layout (a multi-line string).
pub fn decrypted_text(style: Style, plain: &Plaintext) -> Option<String> {
    let text = plain.text();
    Some(match plain.kind {
        ValueType::Str | ValueType::Bytes | ValueType::Comment => {
            let st = text.as_ref();
            match style {
                Style::Plain if plain_safe(st, false) => st.to_string(),
                Style::Plain => return None,
                Style::Single if single_safe(st) => single_quoted(st),
                _ => double_quoted(st),
            }
        }
        _ => match (plain.kind, text.as_ref()) {
            (ValueType::Float, "+Inf" | "Inf") => ".inf".to_string(),
            (ValueType::Float, "-Inf") => "-.inf".to_string(),
            (ValueType::Float, "NaN") => ".nan".to_string(),
            (_, t) => t.to_string(),
        },
    })
}

/// The `sops` block appended to a line-shaped document.
pub fn metadata_block(meta: &MetaValue, step: Option<usize>) -> String {
    super::meta::write(meta, 0, step.unwrap_or(4))
}

/// The tail of an encrypted file from its top-level `sops:` line: the metadata, and the text
/// that stays when the block is removed (comments after it). None unless the tail holds the
/// `sops` block and nothing else but comments.
pub fn metadata_tail(tail: &str) -> Option<(MetaValue, String)> {
    let doc = super::YamlDocument::parse(tail).ok()?;
    if !doc.leaves().is_empty() || doc.blocks.len() != 1 {
        return None;
    }
    let meta = doc.metadata()?.clone();
    let rest = doc.render(&mut Vec::new(), None).ok()?;
    Some((meta, String::from_utf8(rest).ok()?))
}

/// The tail of [`metadata_tail`] with the block replaced by `meta`, as the full writer writes it
/// in a document whose indentation step is `step` (as [`YamlLines::step`] found it).
pub fn replace_metadata(tail: &str, step: Option<usize>, meta: &MetaValue) -> Option<String> {
    // A nested mapping first gives the document's step; without one, the block's own counts,
    // as it does in the whole document.
    let prefix = step.map_or(String::new(), |s| format!("_a:\n{}_b: 0\n", " ".repeat(s)));
    let src = format!("{prefix}{tail}");
    let doc = super::YamlDocument::parse(&src).ok()?;
    if doc.leaves().len() != usize::from(step.is_some()) || doc.blocks.len() != 1 {
        return None;
    }
    doc.metadata()?;
    let out = String::from_utf8(doc.render(&mut Vec::new(), Some(meta)).ok()?).ok()?;
    out.strip_prefix(&prefix).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(Vec<String>, String)>, NotShaped> {
        let mut r = YamlLines::new();
        let mut out = Vec::new();
        for line in text.split('\n') {
            if let Line::Value(site) = r.line(line)? {
                out.push((r.path().to_vec(), line[site.range].to_string()));
            }
        }
        Ok(out)
    }

    #[test]
    fn reads_nested_mappings_lists_and_comments() {
        let got = read(
            "# top\na: 1\nb:\n  c: 'x''y' # note\n  d:\n    - p\n    - \"q\"\n  e:\n  f: z\ng:\n- h\n",
        )
        .unwrap();
        let p = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (p(&["a"]), "1".into()),
                (p(&["b", "c"]), "'x''y'".into()),
                (p(&["b", "d"]), "p".into()),
                (p(&["b", "d"]), "\"q\"".into()),
                (p(&["b", "f"]), "z".into()),
                (p(&["g"]), "h".into()),
            ]
        );
    }

    #[test]
    fn unspaced_ascii_values_are_read_as_the_general_check_reads_them() {
        for value in [
            "ENC[AES256_GCM,data:Ab+/=,iv:x,tag:y,type:str]",
            "a#b",
            "x:y",
            "1,2]",
            "a'b\"c",
            "0x1F",
        ] {
            let line = format!("k: {value}");
            let site = scalar(&line, 3).unwrap();
            assert_eq!(&line[site.range], value);
            assert!(plain_text_safe(value, false), "{value}");
        }
        for value in ["x:", "[x", "*x", "#x", "&x"] {
            assert!(!plain_text_safe(value, false));
            assert_eq!(scalar(&format!("k: {value}"), 3), Err(NotShaped), "{value}");
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        for text in [
            "a: &x 1\n",
            "a: *x\n",
            "a: !!str 1\n",
            "a: [1, 2]\n",
            "a: {b: 1}\n",
            "a: |\n  x\n",
            "a: x\n  y\n",
            "---\na: 1\n---\nb: 2\n",
            "a: 1\na: 2\n",
            "a:\n\tb: 1\n",
            "a: 'x\n",
            "a: \"x\\ty\"\n",
            "- a\n",
            "a:\n  - b: 1\n",
            "\"a\": 1\n",
            "1: x\n",
            "a: x # ENC[AES256_GCM,data:x]\n",
            "#ENC[AES256_GCM,data:x,type:comment]\n",
            "a: 1\r\n",
            "a: b: c\n",
            "  a: 1\n",
        ] {
            assert_eq!(read(text), Err(NotShaped), "{text:?}");
        }
    }
}
