//! JSON, as sops reads it (Go `encoding/json`), with every byte of layout kept.
//!
//! A small span-reporting tokenizer of our own walks the text once; string literals with escapes
//! are decoded by `serde_json`. Typing follows sops: every number is a Go float64 (`type:float`),
//! `true`/`false` are bools, `null` stays `null`. The top level must be an object; its `sops`
//! member is the metadata. On encrypt the `sops` member is appended as the last member in the
//! file's own style (indentation unit, or minified), and removing it is the exact inverse.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use super::tree::Node;
use super::{
    Document, Edits, Error, Format, Leaf, MetaValue, Replacement, Splicer, Value, ValueType,
};
use crate::document::scalar::{go_format_float, go_parse_bool, parse_go_float};

/// Go's `encoding/json` refuses deeper nesting than this.
const MAX_DEPTH: usize = 10_000;

// ------------------------------------------------------------------------------------------------
// Tokenizer

/// A scalar token.
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    /// The number's source text and its float64 value.
    Num(&'a str, f64),
    Bool(bool),
    Null,
}

/// What the tokenizer reports, in document order.
pub(crate) trait Sink<'a> {
    /// A `{` (object) or `[` at byte `at`.
    fn begin(&mut self, object: bool, at: usize, line: usize) -> Result<(), Error>;
    /// A member key of the innermost object; `path` already ends with it.
    fn key(&mut self, key: &str, span: Range<usize>);
    /// A scalar value; `path` holds the mapping keys down to it.
    fn scalar(
        &mut self,
        value: Scalar<'a>,
        span: Range<usize>,
        line: usize,
        path: &[Cow<'a, str>],
    ) -> Result<(), Error>;
    /// The end of the innermost container; `at` is just past its closing bracket.
    fn end(&mut self, at: usize);
}

/// The keys of one object, for the duplicate check.
enum KeySet<'a> {
    Small(Vec<Cow<'a, str>>),
    Large(HashSet<Cow<'a, str>>),
}

impl<'a> KeySet<'a> {
    /// Adds the key; false if it was already there.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        match self {
            KeySet::Small(keys) => {
                if keys.contains(&key) {
                    return false;
                }
                keys.push(key);
                if keys.len() > 16 {
                    *self = KeySet::Large(std::mem::take(keys).into_iter().collect());
                }
                true
            }
            KeySet::Large(keys) => keys.insert(key),
        }
    }
}

enum Frame<'a> {
    Object(KeySet<'a>),
    Array,
}

struct Tokenizer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    path: Vec<Cow<'a, str>>,
}

impl<'a> Tokenizer<'a> {
    fn new(src: &'a str) -> Tokenizer<'a> {
        Tokenizer {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            path: Vec::new(),
        }
    }

    /// A syntax error at byte `at` (on the current line). The message never quotes the input.
    fn error_at(&self, at: usize, message: impl Into<String>) -> Error {
        let at = at.min(self.src.len());
        let (line, line_start) = if at >= self.line_start {
            (self.line, self.line_start)
        } else {
            // An earlier position (a key's start on a previous line): count again.
            let before = &self.b[..at];
            let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
            (
                line,
                before
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1),
            )
        };
        let column = self
            .src
            .get(line_start..at)
            .map_or(at - line_start, |s| s.chars().count())
            + 1;
        Error::Syntax {
            format: Format::Json,
            line,
            column,
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                _ => break,
            }
        }
    }

    /// The next byte, or an error at the end of the input.
    fn peek(&self, expected: &str) -> Result<u8, Error> {
        self.b.get(self.pos).copied().ok_or_else(|| {
            self.error_at(
                self.pos,
                format!("unexpected end of input, expected {expected}"),
            )
        })
    }

    fn run<S: Sink<'a>>(&mut self, sink: &mut S) -> Result<(), Error> {
        let mut stack: Vec<Frame<'a>> = Vec::new();
        'value: loop {
            self.skip_ws();
            let start = self.pos;
            let line = self.line;
            match self.peek("a value")? {
                open @ (b'{' | b'[') => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error_at(start, "nesting is too deep"));
                    }
                    let object = open == b'{';
                    sink.begin(object, start, line)?;
                    self.pos += 1;
                    self.skip_ws();
                    let close = if object { b'}' } else { b']' };
                    if self.b.get(self.pos) == Some(&close) {
                        self.pos += 1;
                        sink.end(self.pos);
                    } else if object {
                        stack.push(Frame::Object(KeySet::Small(Vec::new())));
                        self.member_key(&mut stack, sink)?;
                        continue 'value;
                    } else {
                        stack.push(Frame::Array);
                        continue 'value;
                    }
                }
                b'"' => {
                    let (s, span) = self.string()?;
                    sink.scalar(Scalar::Str(s), span, line, &self.path)?;
                }
                b'-' | b'0'..=b'9' => {
                    let (text, f) = self.number()?;
                    sink.scalar(Scalar::Num(text, f), start..self.pos, line, &self.path)?;
                }
                b't' | b'f' | b'n' => {
                    let scalar = self.literal()?;
                    sink.scalar(scalar, start..self.pos, line, &self.path)?;
                }
                _ => return Err(self.error_at(start, "expected a value")),
            }
            // After a complete value: close containers or go on to the next item.
            loop {
                let Some(top) = stack.last() else {
                    return Ok(());
                };
                self.skip_ws();
                let at = self.pos;
                match top {
                    Frame::Object(_) => {
                        self.path.pop();
                        match self.peek("',' or '}'")? {
                            b',' => {
                                self.pos += 1;
                                self.member_key(&mut stack, sink)?;
                                continue 'value;
                            }
                            b'}' => {
                                self.pos += 1;
                                stack.pop();
                                sink.end(self.pos);
                            }
                            _ => {
                                return Err(
                                    self.error_at(at, "expected ',' or '}' after an object member")
                                );
                            }
                        }
                    }
                    Frame::Array => match self.peek("',' or ']'")? {
                        b',' => {
                            self.pos += 1;
                            continue 'value;
                        }
                        b']' => {
                            self.pos += 1;
                            stack.pop();
                            sink.end(self.pos);
                        }
                        _ => {
                            return Err(
                                self.error_at(at, "expected ',' or ']' after an array element")
                            );
                        }
                    },
                }
            }
        }
    }

    /// A member's key and its colon; the key goes on the path.
    fn member_key<S: Sink<'a>>(
        &mut self,
        stack: &mut [Frame<'a>],
        sink: &mut S,
    ) -> Result<(), Error> {
        self.skip_ws();
        let start = self.pos;
        if self.peek("a string key")? != b'"' {
            return Err(self.error_at(start, "expected a string key"));
        }
        let (key, span) = self.string()?;
        if let Some(Frame::Object(keys)) = stack.last_mut()
            && !keys.insert(key.clone())
        {
            let mut path: Vec<String> = self.path.iter().map(|k| k.to_string()).collect();
            path.push(key.into_owned());
            return Err(self.error_at(
                start,
                format!("duplicate key {}", super::display_path(&path)),
            ));
        }
        sink.key(&key, span);
        self.path.push(key);
        self.skip_ws();
        let at = self.pos;
        if self.peek("':'")? != b':' {
            return Err(self.error_at(at, "expected ':' after an object key"));
        }
        self.pos += 1;
        Ok(())
    }

    /// A string literal at `pos`; decoded, and its span including the quotes.
    fn string(&mut self) -> Result<(Cow<'a, str>, Range<usize>), Error> {
        let start = self.pos;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // Skip ordinary bytes quickly: only quotes, backslashes and control bytes matter.
            while self
                .b
                .get(i)
                .is_some_and(|&c| c >= 0x20 && c != b'"' && c != b'\\')
            {
                i += 1;
            }
            match self.b.get(i) {
                None => return Err(self.error_at(start, "unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(&c) if c < 0x20 => {
                    return Err(
                        self.error_at(i, "control character in a string (it must be escaped)")
                    );
                }
                Some(_) => i += 1,
            }
        }
        let end = i + 1;
        self.pos = end;
        let s = if escaped {
            let decoded = serde_json::from_str::<String>(&self.src[start..end])
                .map_err(|_| self.error_at(start, "invalid escape sequence in a string"))?;
            Cow::Owned(decoded)
        } else {
            Cow::Borrowed(&self.src[start + 1..i])
        };
        Ok((s, start..end))
    }

    /// A number per RFC 8259, read as Go's ParseFloat reads it.
    fn number(&mut self) -> Result<(&'a str, f64), Error> {
        let b = self.b;
        let start = self.pos;
        let mut i = start;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        if b[i] == b'-' {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i),
            _ => return Err(self.error_at(i, "invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            let j = digits(i + 1);
            if j == i + 1 {
                return Err(self.error_at(
                    j,
                    "invalid number: expected a digit after the decimal point",
                ));
            }
            i = j;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let j = digits(i);
            if j == i {
                return Err(self.error_at(j, "invalid number: expected a digit in the exponent"));
            }
            i = j;
        }
        let text = &self.src[start..i];
        let f: f64 = text
            .parse()
            .map_err(|_| self.error_at(start, "invalid number"))?;
        if f.is_infinite() {
            // Go's ParseFloat fails with a range error here, and so does sops.
            return Err(self.error_at(start, "number out of the range of a 64-bit float"));
        }
        self.pos = i;
        Ok((text, f))
    }

    fn literal(&mut self) -> Result<Scalar<'a>, Error> {
        let rest = &self.b[self.pos..];
        let (scalar, len) = if rest.starts_with(b"true") {
            (Scalar::Bool(true), 4)
        } else if rest.starts_with(b"false") {
            (Scalar::Bool(false), 5)
        } else if rest.starts_with(b"null") {
            (Scalar::Null, 4)
        } else {
            return Err(self.error_at(self.pos, "invalid literal (expected true, false or null)"));
        };
        self.pos += len;
        Ok(scalar)
    }

    /// After the top-level value, only whitespace may follow.
    fn finish(&mut self) -> Result<(), Error> {
        self.skip_ws();
        if self.pos < self.b.len() {
            return Err(self.error_at(self.pos, "unexpected content after the top-level value"));
        }
        Ok(())
    }
}

/// Parse `src` into `sink`, as one JSON value with nothing after it.
pub(crate) fn tokenize<'a, S: Sink<'a>>(src: &'a str, sink: &mut S) -> Result<(), Error> {
    let mut t = Tokenizer::new(src);
    t.run(sink)?;
    t.finish()
}

// ------------------------------------------------------------------------------------------------
// The document

/// A top-level member: where its key and its value are.
#[derive(Clone, Debug)]
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

struct DocSink {
    depth: usize,
    leaves: Vec<Leaf>,
    spans: Vec<Range<usize>>,
    open: usize,
    close: usize,
    members: Vec<Member>,
    sops_member: Option<usize>,
}

impl DocSink {
    fn in_sops(&self) -> bool {
        self.depth >= 1
            && self
                .sops_member
                .is_some_and(|i| i + 1 == self.members.len())
    }
}

fn top_level_not_object(line: usize) -> Error {
    Error::Syntax {
        format: Format::Json,
        line,
        column: 1,
        message: "the top level must be an object".into(),
    }
}

impl<'a> Sink<'a> for DocSink {
    fn begin(&mut self, object: bool, at: usize, line: usize) -> Result<(), Error> {
        match self.depth {
            0 if !object => return Err(top_level_not_object(line)),
            0 => self.open = at,
            1 => self.members.last_mut().expect("a member").value.start = at,
            _ => {}
        }
        self.depth += 1;
        Ok(())
    }

    fn key(&mut self, key: &str, span: Range<usize>) {
        if self.depth == 1 {
            if key == "sops" {
                self.sops_member = Some(self.members.len());
            }
            self.members.push(Member {
                key: span,
                value: 0..0,
            });
        }
    }

    fn scalar(
        &mut self,
        value: Scalar<'a>,
        span: Range<usize>,
        line: usize,
        path: &[Cow<'a, str>],
    ) -> Result<(), Error> {
        if self.depth == 0 {
            return Err(top_level_not_object(line));
        }
        if self.depth == 1 {
            self.members.last_mut().expect("a member").value = span.clone();
        }
        if self.in_sops() {
            return Ok(());
        }
        let (value, spelling) = leaf_value(value);
        self.leaves.push(Leaf {
            path: path.iter().map(|k| String::from(k.as_ref())).collect(),
            value,
            spelling,
            comment: false,
            line,
        });
        self.spans.push(span);
        Ok(())
    }

    fn end(&mut self, at: usize) {
        self.depth -= 1;
        match self.depth {
            0 => self.close = at - 1,
            1 => self.members.last_mut().expect("a member").value.end = at,
            _ => {}
        }
    }
}

/// A scalar token as a leaf's value, with the spelling kept for numbers and booleans.
pub(crate) fn leaf_value(value: Scalar<'_>) -> (Value, Option<String>) {
    match value {
        Scalar::Str(s) => (Value::Str(s.into_owned()), None),
        Scalar::Num(text, f) => (Value::Float(f), Some(text.to_string())),
        Scalar::Bool(b) => (
            Value::Bool(b),
            Some(if b { "true" } else { "false" }.to_string()),
        ),
        Scalar::Null => (Value::Null, None),
    }
}

/// A JSON document: its source, its leaves and where they are, and the top-level layout.
pub struct JsonDocument {
    /// The source text: for a plaintext file, every secret in it; wiped on drop.
    source: zeroize::Zeroizing<String>,
    leaves: Vec<Leaf>,
    spans: Vec<Range<usize>>,
    /// The top-level `{` and `}`.
    open: usize,
    close: usize,
    members: Vec<Member>,
    sops_member: Option<usize>,
    metadata: Option<MetaValue>,
}

impl JsonDocument {
    pub fn parse(source: &str) -> Result<JsonDocument, Error> {
        if source.bytes().all(|c| c.is_ascii_whitespace()) {
            return Err(Error::Empty);
        }
        // Roughly one value per comma: reserving up front saves regrowing large vectors.
        let estimate = source.bytes().filter(|&c| c == b',').count() + 1;
        let mut sink = DocSink {
            depth: 0,
            leaves: Vec::with_capacity(estimate),
            spans: Vec::with_capacity(estimate),
            open: 0,
            close: 0,
            members: Vec::new(),
            sops_member: None,
        };
        tokenize(source, &mut sink)?;
        let metadata = match sink.sops_member {
            Some(i) => Some(meta_from_node(&load_value(
                &source[sink.members[i].value.clone()],
            )?)),
            None => None,
        };
        Ok(JsonDocument {
            source: zeroize::Zeroizing::new(source.to_string()),
            leaves: sink.leaves,
            spans: sink.spans,
            open: sink.open,
            close: sink.close,
            members: sink.members,
            sops_member: sink.sops_member,
            metadata,
        })
    }

    /// The file's layout, read from its first top-level member.
    fn style(&self) -> Style {
        let Some(first) = self.members.first() else {
            return Style::default();
        };
        let lead = &self.source[self.open + 1..first.key.start];
        let colon = self.source[first.key.end..first.value.start].to_string();
        match lead.rfind('\n') {
            Some(nl) => Style {
                pretty: true,
                newline: if lead[..nl].ends_with('\r') {
                    "\r\n"
                } else {
                    "\n"
                },
                indent: lead[nl + 1..].to_string(),
                lead: lead.to_string(),
                colon,
            },
            None => Style {
                pretty: false,
                newline: "\n",
                indent: String::new(),
                lead: lead.to_string(),
                colon,
            },
        }
    }

    /// The text of the `sops` member's value.
    fn meta_block(&self, meta: &MetaValue, style: &Style) -> String {
        let mut out = String::new();
        write_meta(&mut out, meta, style, 1);
        out
    }

    /// Where the `sops` member goes, and its text, when the document has none.
    fn insert_meta(&self, meta: &MetaValue) -> (Range<usize>, String) {
        let style = self.style();
        let mut text = String::new();
        match self.members.last() {
            Some(last) => {
                text.push(',');
                text.push_str(&style.lead);
                text.push_str("\"sops\"");
                text.push_str(&style.colon);
                text.push_str(&self.meta_block(meta, &style));
                (last.value.end..last.value.end, text)
            }
            None => {
                // An empty object: sops's layout (TAB-indented), closed by a newline of its own.
                text.push_str("\n\t\"sops\": ");
                text.push_str(&self.meta_block(meta, &style));
                text.push('\n');
                (self.open + 1..self.open + 1, text)
            }
        }
    }

    /// The bytes to delete to remove the `sops` member: the inverse of [`Self::insert_meta`].
    fn remove_meta(&self, i: usize) -> Range<usize> {
        let member = &self.members[i];
        if i > 0 {
            // From the end of the previous value: its comma, the newline and indentation.
            return self.members[i - 1].value.end..member.value.end;
        }
        if let Some(next) = self.members.get(1) {
            return member.key.start..next.key.start;
        }
        // The only member: the object becomes empty again.
        let rest = &self.source[member.value.end..self.close];
        let newline = if rest.starts_with("\r\n") {
            2
        } else {
            usize::from(rest.starts_with('\n'))
        };
        self.open + 1..member.value.end + newline
    }

    /// The JSON text of a decrypted value of a leaf.
    fn decrypted_text(&self, leaf: &Leaf, p: &super::Plaintext) -> Result<String, Error> {
        decrypted_text(p).map_err(|what| Error::AtPath {
            path: leaf.display_path(),
            message: format!("the decrypted value is not a valid {what}"),
        })
    }
}

/// The JSON text of a decrypted value; the error names what it is not.
pub(crate) fn decrypted_text(p: &super::Plaintext) -> Result<String, &'static str> {
    let bad = |what: &'static str| what;
    Ok(match p.kind {
        ValueType::Str | ValueType::Bytes | ValueType::Comment | ValueType::Time => {
            quote_minimal(&p.text())
        }
        ValueType::Int | ValueType::Float => {
            let text = std::str::from_utf8(&p.bytes).map_err(|_| bad("number"))?;
            if is_json_number(text) {
                text.to_string()
            } else {
                let f = parse_go_float(text)
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| bad("JSON number"))?;
                go_format_float(f)
            }
        }
        ValueType::Bool => {
            let text = std::str::from_utf8(&p.bytes).map_err(|_| bad("boolean"))?;
            let b = go_parse_bool(text).ok_or_else(|| bad("boolean"))?;
            if b { "true" } else { "false" }.to_string()
        }
    })
}

impl Document for JsonDocument {
    fn format(&self) -> Format {
        Format::Json
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
        let mut out = Vec::with_capacity(self.source.len());
        self.render_to(edits, metadata, &mut out)?;
        Ok(out)
    }

    fn render_to(
        &self,
        edits: &mut dyn Edits,
        metadata: Option<&MetaValue>,
        sink: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        let mut meta_change = match (self.sops_member, metadata) {
            (Some(i), Some(meta)) => Some((
                self.members[i].value.clone(),
                self.meta_block(meta, &self.style()),
            )),
            (Some(i), None) => Some((self.remove_meta(i), String::new())),
            (None, Some(meta)) => Some(self.insert_meta(meta)),
            (None, None) => None,
        };
        // Values stream into the output in order, so a large file's ciphertexts are never all
        // held at once; the metadata change goes in at its place.
        let mut out = Splicer::new(&self.source);
        for (i, (span, leaf)) in self.spans.iter().zip(&self.leaves).enumerate() {
            // Hand the output over in pieces: a large file is never held whole in memory.
            if out.buffered() >= 1 << 20 {
                out.drain_to(sink)?;
            }
            if meta_change
                .as_ref()
                .is_some_and(|(r, _)| r.start <= span.start)
            {
                let (range, text) = meta_change.take().expect("checked");
                out.replace(range, &text);
            }
            match edits.take(i) {
                None => {}
                Some(Replacement::Encrypted(enc)) => {
                    out.replace_parts(span.clone(), &["\"", &enc, "\""])
                }
                Some(Replacement::Decrypted(p)) => {
                    out.replace(span.clone(), &self.decrypted_text(leaf, &p)?)
                }
            }
        }
        if let Some((range, text)) = meta_change {
            out.replace(range, &text);
        }
        sink.write_all(out.finish().as_bytes())
            .map_err(Error::write)
    }
}

// ------------------------------------------------------------------------------------------------
// Writing

/// How the file is laid out: pretty (newline + indent unit) or on one line.
struct Style {
    pretty: bool,
    newline: &'static str,
    /// One level of indentation (a TAB, or N spaces).
    indent: String,
    /// The whitespace between `{` and the first key (and so before each top-level key).
    lead: String,
    /// The text between a top-level key and its value (`: `, `:`).
    colon: String,
}

impl Default for Style {
    /// sops's own layout.
    fn default() -> Style {
        Style {
            pretty: true,
            newline: "\n",
            indent: "\t".into(),
            lead: "\n\t".into(),
            colon: ": ".into(),
        }
    }
}

fn push_indent(out: &mut String, style: &Style, depth: usize) {
    out.push_str(style.newline);
    for _ in 0..depth {
        out.push_str(&style.indent);
    }
}

/// A metadata value as Go's `json.Marshal` (or `MarshalIndent`, for pretty files) writes it.
fn write_meta(out: &mut String, v: &MetaValue, style: &Style, depth: usize) {
    match v {
        MetaValue::Null => out.push_str("null"),
        MetaValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaValue::Int(n) => out.push_str(&n.to_string()),
        MetaValue::Str(s) => quote_go_into(out, s),
        MetaValue::List(items) if items.is_empty() => out.push_str("[]"),
        MetaValue::Map(items) if items.is_empty() => out.push_str("{}"),
        MetaValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if style.pretty {
                    push_indent(out, style, depth + 1);
                }
                write_meta(out, item, style, depth + 1);
            }
            if style.pretty {
                push_indent(out, style, depth);
            }
            out.push(']');
        }
        MetaValue::Map(items) => {
            out.push('{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if style.pretty {
                    push_indent(out, style, depth + 1);
                }
                quote_go_into(out, k);
                out.push_str(if style.pretty { ": " } else { ":" });
                write_meta(out, item, style, depth + 1);
            }
            if style.pretty {
                push_indent(out, style, depth);
            }
            out.push('}');
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u_escape(out: &mut String, c: u32) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 0xF) as usize] as char);
    }
}

/// A JSON string with only the escapes JSON requires: `"`, `\` and control characters.
/// Non-ASCII and `/` stay as they are.
pub fn quote_minimal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut plain = 0;
    for (i, c) in s.bytes().enumerate() {
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            c if c < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if esc.is_empty() {
            push_u_escape(&mut out, u32::from(c));
        } else {
            out.push_str(esc);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
    out
}

/// A JSON string as Go's `json.Marshal` writes it: also `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn quote_go_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => push_u_escape(out, c as u32),
            c if (c as u32) < 0x20 => push_u_escape(out, c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `s` is a number by RFC 8259's grammar.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i > start)
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i).0,
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let (j, any) = digits(i + 1);
        if !any {
            return false;
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (j, any) = digits(i);
        if !any {
            return false;
        }
        i = j;
    }
    i == b.len()
}

// ------------------------------------------------------------------------------------------------
// Trees

/// Builds a [`Node`] from the tokens.
struct NodeSink {
    /// Open containers, each with the key it will be stored under in its parent.
    stack: Vec<(Node, Option<String>)>,
    pending_key: Option<String>,
    root: Option<Node>,
}

impl NodeSink {
    fn attach(&mut self, node: Node) {
        let key = self.pending_key.take();
        match self.stack.last_mut() {
            Some((Node::Map(items), _)) => items.push((key.unwrap_or_default(), node)),
            Some((Node::List(items), _)) => items.push(node),
            _ => self.root = Some(node),
        }
    }
}

impl<'a> Sink<'a> for NodeSink {
    fn begin(&mut self, object: bool, _at: usize, _line: usize) -> Result<(), Error> {
        let node = if object {
            Node::Map(Vec::new())
        } else {
            Node::List(Vec::new())
        };
        let key = self.pending_key.take();
        self.stack.push((node, key));
        Ok(())
    }

    fn key(&mut self, key: &str, _span: Range<usize>) {
        self.pending_key = Some(key.to_string());
    }

    fn scalar(
        &mut self,
        value: Scalar<'a>,
        _span: Range<usize>,
        _line: usize,
        _path: &[Cow<'a, str>],
    ) -> Result<(), Error> {
        let node = match value {
            Scalar::Str(s) => Node::Str(s.into_owned()),
            Scalar::Num(text, f) => match text.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                false => text.parse::<i64>().map(Node::Int).unwrap_or(Node::Float(f)),
                true => Node::Float(f),
            },
            Scalar::Bool(b) => Node::Bool(b),
            Scalar::Null => Node::Null,
        };
        self.attach(node);
        Ok(())
    }

    fn end(&mut self, _at: usize) {
        let (node, key) = self.stack.pop().expect("an open container");
        self.pending_key = key;
        self.attach(node);
    }
}

/// Any JSON value as a tree (numbers: Int when an integer fits in i64, else Float).
fn load_value(text: &str) -> Result<Node, Error> {
    let mut sink = NodeSink {
        stack: Vec::new(),
        pending_key: None,
        root: None,
    };
    tokenize(text, &mut sink)?;
    Ok(sink.root.unwrap_or(Node::Null))
}

fn meta_from_node(node: &Node) -> MetaValue {
    match node {
        Node::Null => MetaValue::Null,
        Node::Bool(b) => MetaValue::Bool(*b),
        Node::Int(n) => MetaValue::Int(*n),
        Node::Float(f) => MetaValue::Str(go_format_float(*f)),
        Node::Str(s) => MetaValue::Str(s.clone()),
        Node::List(items) => MetaValue::List(items.iter().map(meta_from_node).collect()),
        Node::Map(items) => MetaValue::Map(
            items
                .iter()
                .map(|(k, v)| (k.clone(), meta_from_node(v)))
                .collect(),
        ),
    }
}

/// A plaintext JSON document as a tree; the top level must be an object.
pub fn load_tree(text: &str) -> Result<Node, Error> {
    if text.bytes().all(|c| c.is_ascii_whitespace()) {
        return Err(Error::Empty);
    }
    match load_value(text)? {
        node @ Node::Map(_) => Ok(node),
        _ => Err(top_level_not_object(1)),
    }
}

/// Write a tree as sops writes JSON: TAB-indented, Go's escaping and number format, final newline.
pub fn emit_tree(node: &Node) -> Result<String, Error> {
    let mut out = String::new();
    emit_node(&mut out, node, 0, &mut Vec::new())?;
    out.push('\n');
    Ok(out)
}

fn emit_node(
    out: &mut String,
    node: &Node,
    depth: usize,
    path: &mut Vec<String>,
) -> Result<(), Error> {
    let indent = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push('\t');
        }
    };
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::Float(f) => {
            let text = go_json_float(*f).ok_or_else(|| Error::AtPath {
                path: super::display_path(path),
                message: "infinite or NaN numbers cannot be written as JSON".into(),
            })?;
            out.push_str(&text);
        }
        Node::Str(s) => quote_go_into(out, s),
        Node::List(items) if items.is_empty() => out.push_str("[]"),
        Node::Map(items) if items.is_empty() => out.push_str("{}"),
        Node::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                emit_node(out, item, depth + 1, path)?;
            }
            indent(out, depth);
            out.push(']');
        }
        Node::Map(items) => {
            out.push('{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                quote_go_into(out, k);
                out.push_str(": ");
                path.push(k.clone());
                emit_node(out, item, depth + 1, path)?;
                path.pop();
            }
            indent(out, depth);
            out.push('}');
        }
    }
    Ok(())
}

/// Go's `json.Marshal` of a float64: `'f'` form, or `'e'` form (`1e+21`, `1e-7`) outside
/// [1e-6, 1e21).
fn go_json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        let (mantissa, exp) = e.split_once('e').expect("an exponent");
        return Some(match exp.strip_prefix('-') {
            Some(digits) => format!("{mantissa}e-{digits}"),
            None => format!("{mantissa}e+{exp}"),
        });
    }
    Some(go_format_float(f))
}

pub mod lines;

#[cfg(test)]
mod tests;
