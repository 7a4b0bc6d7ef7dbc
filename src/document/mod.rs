//! Documents: bytes in a format ↔ the leaves sops walks, without losing a byte of layout.
//!
//! Every adapter parses its source into [`Leaf`]s in sops walk order (depth first, document
//! order, all documents of a multi-document YAML file) and remembers where each leaf's text
//! sits. Crypto decides what each leaf becomes ([`Replacement`]); the adapter splices the new
//! text into the untouched source and writes the `sops` metadata block in the file's own style.

pub mod binary;
pub mod dotenv;
pub mod edit;
pub mod envelope;
pub mod ini;
pub mod json;
pub mod metadata;
pub mod scalar;
pub mod toml;
pub mod tree;
pub mod yaml;

#[cfg(test)]
mod roundtrip_tests;

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

pub use metadata::MetaValue;

/// A file format we read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// The format sops would pick for this file name (plus TOML, which sops lacks).
    pub fn from_path(path: &std::path::Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".toml") {
            Format::Toml
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// Parse a `--input-type` / `--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "toml" => Format::Toml,
            "dotenv" | "env" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scalar as sops types it.
///
/// For an encrypted file, encrypted values are `Str("ENC[...]")`.
#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A timestamp, already in sops's canonical RFC 3339 form (`2024-01-15T00:00:00Z`).
    Time(String),
    Str(String),
    /// Raw bytes (the binary store); type `str` on disk.
    Bytes(Vec<u8>),
}

/// Plaintext values are wiped when they are dropped.
impl Drop for Value {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Value::Time(s) | Value::Str(s) => s.zeroize(),
            Value::Bytes(b) => b.zeroize(),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
}

/// One value (or encrypted comment) of a document, in walk order.
#[derive(Clone)]
pub struct Leaf {
    /// Mapping keys from the document root down to this value; list indices are not part of it
    /// (this is what the AAD is made of).
    pub path: Vec<String>,
    pub value: Value,
    /// The value's source spelling, when encrypting that spelling instead of the canonical form
    /// keeps the source's text and sops still parses it to the same value (`1.50`, `TRUE`).
    /// Only set for Int, Float and Bool.
    pub spelling: Option<String>,
    /// A comment leaf. Adapters report only comments that hold an `ENC[...]` value (written by
    /// sops); plaintext comments are part of the layout and stay as they are.
    pub comment: bool,
    /// 1-based line of the value in the source, for error messages.
    pub line: usize,
}

impl Leaf {
    /// The key path as users write it: `["db"]["password"]`.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

/// `["a"]["b"]`, the sops tree-path spelling of a list of mapping keys.
pub fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        return "(top level)".to_string();
    }
    path.iter()
        .map(|k| format!("[{}]", serde_json::Value::String(k.clone())))
        .collect()
}

/// The sops value types, as written in `ENC[...,type:T]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
    Time,
    Comment,
    Bytes,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
            ValueType::Bytes => "bytes",
        }
    }

    pub fn from_name(name: &str) -> Option<ValueType> {
        Some(match name {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            "bytes" => ValueType::Bytes,
            _ => return None,
        })
    }
}

/// A decrypted value: its type and its plaintext bytes (for non-strings, the spelling to write).
pub struct Plaintext {
    pub kind: ValueType,
    pub bytes: Zeroizing<Vec<u8>>,
}

/// Shows the type only: a plaintext is never printed.
impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext({}, <redacted>)", self.kind.name())
    }
}

impl Plaintext {
    /// The plaintext as text; binary data is replaced lossily (only the binary store and
    /// `--extract` deal in raw bytes).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// What a leaf becomes when the document is written back.
pub enum Replacement {
    /// The value's new text is this `ENC[...]` string (rendered as a string of the format).
    Encrypted(String),
    /// The value was decrypted: write it as a value of its type in the format.
    Decrypted(Plaintext),
}

/// A parsed document. The adapter keeps its source and the spans of its leaves.
pub trait Document: Send + Sync {
    fn format(&self) -> Format;

    /// The leaves in sops walk order, without the `sops` metadata block.
    fn leaves(&self) -> &[Leaf];

    /// The `sops` metadata block, when the document has one (for dotenv and INI, unflattened).
    fn metadata(&self) -> Option<&MetaValue>;

    /// Write the document back: `edits.take(i)` replaces leaf `i` (None keeps its text as it
    /// is); take each leaf's edit once, in increasing leaf order, so large files can be encrypted
    /// a chunk at a time while they are written. With `metadata`, the `sops` block is written
    /// (replacing the existing one, or appended in the file's own style); without, any existing
    /// block is removed.
    fn render(&self, edits: &mut dyn Edits, metadata: Option<&MetaValue>)
    -> Result<Vec<u8>, Error>;

    /// Like [`Document::render`], handing the output to `out` as it is produced where the
    /// adapter can (JSON does), so a large file is not held in memory beside its source.
    fn render_to(
        &self,
        edits: &mut dyn Edits,
        metadata: Option<&MetaValue>,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        let bytes = self.render(edits, metadata)?;
        out.write_all(&bytes).map_err(Error::write)
    }
}

/// Where `render` gets each leaf's replacement.
pub trait Edits {
    /// The replacement of leaf `leaf`. Called at most once per leaf, in increasing order.
    fn take(&mut self, leaf: usize) -> Option<Replacement>;
}

impl Edits for Vec<Option<Replacement>> {
    fn take(&mut self, leaf: usize) -> Option<Replacement> {
        self.get_mut(leaf).and_then(Option::take)
    }
}

/// Builds an output by copying the source and replacing ranges, in increasing order, so no
/// list of replacement texts is held in memory.
pub struct Splicer<'a> {
    source: &'a str,
    at: usize,
    out: String,
}

impl<'a> Splicer<'a> {
    pub fn new(source: &'a str) -> Splicer<'a> {
        Splicer {
            source,
            at: 0,
            out: String::with_capacity(source.len()),
        }
    }

    /// Copy the source up to `range.start`, write `text`, and skip the range. Ranges must come
    /// in increasing order and not overlap; an empty range inserts.
    pub fn replace(&mut self, range: Range<usize>, text: &str) {
        debug_assert!(range.start >= self.at, "splice ranges out of order");
        self.out.push_str(&self.source[self.at..range.start]);
        self.out.push_str(text);
        self.at = range.end;
    }

    /// Like [`Splicer::replace`], with the new text given in pieces (no joined copy is made).
    pub fn replace_parts(&mut self, range: Range<usize>, parts: &[&str]) {
        debug_assert!(range.start >= self.at, "splice ranges out of order");
        self.out.push_str(&self.source[self.at..range.start]);
        for part in parts {
            self.out.push_str(part);
        }
        self.at = range.end;
    }

    /// Bytes of output held, not yet handed over.
    pub fn buffered(&self) -> usize {
        self.out.len()
    }

    /// Hand the output so far to `sink` and forget it.
    pub fn drain_to(&mut self, sink: &mut dyn std::io::Write) -> Result<(), Error> {
        sink.write_all(self.out.as_bytes()).map_err(Error::write)?;
        self.out.clear();
        Ok(())
    }

    /// Where the source has been copied up to.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Copy the rest of the source and return the output.
    pub fn finish(mut self) -> String {
        self.out.push_str(&self.source[self.at..]);
        self.out
    }
}

/// Parse `input` as `format`.
pub fn parse(format: Format, input: &[u8]) -> Result<Box<dyn Document>, Error> {
    match format {
        Format::Dotenv => Ok(Box::new(dotenv::DotenvDocument::parse(utf8(input)?)?)),
        Format::Yaml => Ok(Box::new(yaml::YamlDocument::parse(utf8(input)?)?)),
        Format::Toml => Ok(Box::new(toml::TomlDocument::parse(utf8(input)?)?)),
        Format::Json => Ok(Box::new(json::JsonDocument::parse(utf8(input)?)?)),
        Format::Ini => Ok(Box::new(ini::IniDocument::parse(utf8(input)?)?)),
        Format::Binary => Ok(Box::new(binary::BinaryDocument::parse(input))),
    }
}

/// The input as UTF-8 text, or an error.
pub fn utf8(input: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(input).map_err(|e| Error::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// Errors from reading or writing a document. Messages point at lines and key paths, never at
/// the text of a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {format}: line {line}, column {column}: {message}")]
    Syntax {
        format: Format,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid {format}: {message}")]
    Invalid { format: Format, message: String },
    #[error("not valid UTF-8 text (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("the file is empty")]
    Empty,
    #[error("{format}: {what}")]
    Unsupported { format: Format, what: String },
    #[error("key path {path}: {message}")]
    AtPath { path: String, message: String },
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    #[error("cannot write the output: {0}")]
    Write(String),
}

impl Error {
    fn write(e: std::io::Error) -> Error {
        Error::Write(e.to_string())
    }
}

/// Splice replacement texts into `source`. `edits` are (byte range, new text), in any order;
/// ranges must not overlap. Texts may be borrowed (`&str`), so large outputs need no copies.
pub fn splice<S: AsRef<str>>(source: &str, mut edits: Vec<(Range<usize>, S)>) -> String {
    if !edits.is_sorted_by_key(|(r, _)| r.start) {
        edits.sort_by_key(|(r, _)| r.start);
    }
    let removed: usize = edits.iter().map(|(r, _)| r.len()).sum();
    let added: usize = edits.iter().map(|(_, t)| t.as_ref().len()).sum();
    let mut out = String::with_capacity((source.len() + added).saturating_sub(removed));
    let mut at = 0;
    for (range, text) in edits {
        out.push_str(&source[at..range.start]);
        out.push_str(text.as_ref());
        at = range.end;
    }
    out.push_str(&source[at..]);
    out
}
