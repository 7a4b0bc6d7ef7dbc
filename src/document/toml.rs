//! TOML. sops has no TOML store (it would treat a `.toml` file as binary), so only this tool
//! reads these files; they follow the model of the other formats: every scalar value becomes an
//! `ENC[...]` string, the metadata is a `[sops]` table appended at the end, and every other byte
//! (comments, key order, quoting, blank lines) stays as it was.
//!
//! `toml_edit` parses the source into an immutable [`toml_edit::Document`] that keeps the byte
//! span of every value; the writer splices new text into those spans and never re-serialises the
//! tree. Since only we read TOML, values keep their spelling (`1_000`, `0x1F`, `inf`, datetimes
//! as written) and encrypted strings keep their kind of quotes, so decrypting gives back the file
//! byte for byte.

use std::ops::Range;

use toml_edit::{Item, Table};

use super::tree::Node;
use super::{
    Document, Edits, Error, Format, Leaf, MetaValue, Plaintext, Replacement, Value, ValueType,
    splice,
};

pub struct TomlDocument {
    /// The source text: for a plaintext file, every secret in it; wiped on drop.
    source: zeroize::Zeroizing<String>,
    leaves: Vec<Leaf>,
    /// The source text of each leaf's value (quotes included).
    spans: Vec<Range<usize>>,
    /// Where the `sops` table sits, and whether it ends the file (then it was appended).
    metadata_ranges: Vec<Range<usize>>,
    metadata: Option<MetaValue>,
    /// The file's line ending, for an appended metadata block.
    eol: &'static str,
}

impl TomlDocument {
    pub fn parse(source: &str) -> Result<TomlDocument, Error> {
        let doc = toml_edit::Document::parse(source).map_err(|e| syntax_error(source, &e))?;
        let lines = LineIndex::new(source);
        let root = doc.as_table();
        let mut found = Vec::new();
        let mut path = Vec::new();
        for (key, item) in root.iter() {
            if key == "sops" {
                continue;
            }
            path.push(key.to_string());
            walk_item(source, item, &mut path, &mut found);
            path.pop();
        }
        found.sort_by_key(|(span, _): &(Range<usize>, Leaf)| span.start);
        let mut leaves = Vec::with_capacity(found.len());
        let mut spans = Vec::with_capacity(found.len());
        for (span, mut leaf) in found {
            leaf.line = lines.line(span.start);
            leaves.push(leaf);
            spans.push(span);
        }
        let (metadata, metadata_ranges) = match root.get("sops") {
            Some(item) => (
                Some(meta_of_item(item)),
                metadata_ranges(source, root, item),
            ),
            None => (None, Vec::new()),
        };
        let eol = match source.find('\n') {
            Some(i) if source[..i].ends_with('\r') => "\r\n",
            _ => "\n",
        };
        Ok(TomlDocument {
            source: zeroize::Zeroizing::new(source.to_string()),
            leaves,
            spans,
            metadata_ranges,
            metadata,
            eol,
        })
    }
}

impl Document for TomlDocument {
    fn format(&self) -> Format {
        Format::Toml
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
        let mut changes: Vec<(Range<usize>, String)> = Vec::new();
        for (i, (span, leaf)) in self.spans.iter().zip(&self.leaves).enumerate() {
            let raw = &self.source[span.clone()];
            let text = match &edits.take(i) {
                None => continue,
                Some(Replacement::Encrypted(enc)) => StringStyle::of(raw).encrypted(enc),
                Some(Replacement::Decrypted(p)) => decrypted_text(raw, p, leaf)?,
            };
            changes.push((span.clone(), text));
        }
        for range in &self.metadata_ranges {
            changes.push((range.clone(), String::new()));
        }
        let mut out = splice(&self.source, changes);
        if let Some(meta) = metadata {
            // One line break before the block: after a final newline it makes a blank line, and
            // after a last line without one it ends that line. Removal takes exactly it back.
            out.push_str(self.eol);
            out.push_str(&metadata_block(meta, self.eol)?);
        }
        Ok(out.into_bytes())
    }
}

fn syntax_error(source: &str, e: &toml_edit::TomlError) -> Error {
    // `message()` is built from static descriptions; the error's Display would quote the line.
    let at = e
        .span()
        .map(|s| s.start)
        .unwrap_or(source.len())
        .min(source.len());
    let (line, column) = LineIndex::new(source).line_column(source, at);
    Error::Syntax {
        format: Format::Toml,
        line,
        column,
        message: e.message().to_string(),
    }
}

/// 1-based line (and column, in characters) of byte offsets.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    fn line_column(&self, source: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let mut at = offset;
        while !source.is_char_boundary(at) {
            at -= 1;
        }
        (line, source[start..at].chars().count() + 1)
    }
}

fn walk_item(
    source: &str,
    item: &Item,
    path: &mut Vec<String>,
    out: &mut Vec<(Range<usize>, Leaf)>,
) {
    match item {
        Item::None => {}
        Item::Value(v) => walk_value(source, v, path, out),
        Item::Table(t) => walk_table(source, t, path, out),
        Item::ArrayOfTables(a) => a.iter().for_each(|t| walk_table(source, t, path, out)),
    }
}

fn walk_table(
    source: &str,
    table: &Table,
    path: &mut Vec<String>,
    out: &mut Vec<(Range<usize>, Leaf)>,
) {
    for (key, item) in table.iter() {
        path.push(key.to_string());
        walk_item(source, item, path, out);
        path.pop();
    }
}

fn walk_value(
    source: &str,
    value: &toml_edit::Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Range<usize>, Leaf)>,
) {
    use toml_edit::Value as V;
    let span = match value {
        V::Array(items) => return items.iter().for_each(|v| walk_value(source, v, path, out)),
        V::InlineTable(t) => {
            for (key, v) in t.iter() {
                path.push(key.to_string());
                walk_value(source, v, path, out);
                path.pop();
            }
            return;
        }
        _ => value.span().expect("a parsed value has a span"),
    };
    let raw = &source[span.clone()];
    let (value, spelling) = match value {
        V::String(s) => (Value::Str(s.value().clone()), None),
        V::Integer(n) => {
            let n = *n.value();
            // The ciphertext carries the spelling (`1_000`, `0x1F`), so decrypt writes it back.
            let keep = crate::document::scalar::parse_int_literal(raw) == Some(n);
            (Value::Int(n), keep.then(|| raw.to_string()))
        }
        V::Float(f) => {
            let f = *f.value();
            let same = |g: f64| {
                (g == f && g.is_sign_negative() == f.is_sign_negative())
                    || (g.is_nan() && f.is_nan())
            };
            let keep = crate::document::scalar::parse_go_float(raw).is_some_and(same);
            (Value::Float(f), keep.then(|| raw.to_string()))
        }
        V::Boolean(b) => (Value::Bool(*b.value()), Some(raw.to_string())),
        V::Datetime(_) => (Value::Time(raw.to_string()), None),
        V::Array(_) | V::InlineTable(_) => unreachable!("containers returned above"),
    };
    out.push((
        span,
        Leaf {
            path: path.clone(),
            value,
            spelling,
            comment: false,
            line: 0,
        },
    ));
}

/// How a value is written in the source; an encrypted value keeps its kind of string so that
/// decrypting can write the plaintext the same way.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StringStyle {
    Basic,
    Literal,
    /// `"""`, with the line break that followed the opening delimiter ("" if none).
    MultiBasic(&'static str),
    MultiLiteral(&'static str),
    /// Not a string (number, boolean, datetime): encrypted as a basic string.
    Other,
}

impl StringStyle {
    fn of(raw: &str) -> StringStyle {
        let newline_after = |rest: &str| {
            if rest.starts_with("\r\n") {
                "\r\n"
            } else if rest.starts_with('\n') {
                "\n"
            } else {
                ""
            }
        };
        if let Some(rest) = raw.strip_prefix("\"\"\"") {
            StringStyle::MultiBasic(newline_after(rest))
        } else if let Some(rest) = raw.strip_prefix("'''") {
            StringStyle::MultiLiteral(newline_after(rest))
        } else if raw.starts_with('"') {
            StringStyle::Basic
        } else if raw.starts_with('\'') {
            StringStyle::Literal
        } else {
            StringStyle::Other
        }
    }

    /// An `ENC[...]` value (base64 and `[],:=/+`: nothing to escape) in this style.
    fn encrypted(self, enc: &str) -> String {
        match self {
            StringStyle::Basic | StringStyle::Other => format!("\"{enc}\""),
            StringStyle::Literal => format!("'{enc}'"),
            StringStyle::MultiBasic(nl) => format!("\"\"\"{nl}{enc}\"\"\""),
            StringStyle::MultiLiteral(nl) => format!("'''{nl}{enc}'''"),
        }
    }

    /// A string value in this style; where the style cannot hold the text, the nearest style
    /// that can (a literal string, which has no escapes, falls back to a basic one).
    fn quote(self, s: &str) -> String {
        match self {
            StringStyle::Basic | StringStyle::Other => quote_basic(s),
            StringStyle::Literal if fits_literal(s) => format!("'{s}'"),
            StringStyle::Literal => quote_basic(s),
            StringStyle::MultiLiteral(nl) if fits_multi_literal(s) => {
                // A line break right after `'''` is trimmed: add one so a leading one survives.
                let nl = if nl.is_empty() && (s.starts_with('\n') || s.starts_with("\r\n")) {
                    "\n"
                } else {
                    nl
                };
                format!("'''{nl}{s}'''")
            }
            StringStyle::MultiLiteral(nl) | StringStyle::MultiBasic(nl) => quote_multi_basic(s, nl),
        }
    }
}

/// The text to write for a decrypted value, in the place of the `ENC[...]` string `raw`.
fn decrypted_text(raw: &str, p: &Plaintext, leaf: &Leaf) -> Result<String, Error> {
    let text = p.text();
    let bad = |what: &str| Error::AtPath {
        path: leaf.display_path(),
        message: format!("the decrypted value is not a valid TOML {what}"),
    };
    Ok(match p.kind {
        ValueType::Str | ValueType::Bytes | ValueType::Comment => StringStyle::of(raw).quote(&text),
        ValueType::Int | ValueType::Time => text.into_owned(),
        ValueType::Bool => match crate::document::scalar::go_parse_bool(&text) {
            Some(b) => b.to_string(),
            None => return Err(bad("boolean")),
        },
        ValueType::Float => toml_float(&text).ok_or_else(|| bad("float"))?,
    })
}

/// A float plaintext as TOML: our own ciphertexts carry the source spelling; a sops-style
/// spelling (`+Inf`, `NaN`, `3`) is adapted so it stays a TOML float.
fn toml_float(text: &str) -> Option<String> {
    Some(match text {
        "+Inf" | "Inf" => "inf".into(),
        "-Inf" => "-inf".into(),
        "NaN" => "nan".into(),
        t if t.contains(['.', 'e', 'E', 'n', 'i']) => t.into(),
        t if crate::document::scalar::parse_go_float(t).is_some() => format!("{t}.0"),
        _ => return None,
    })
}

fn is_control(c: char) -> bool {
    (c < ' ' && c != '\t') || c == '\u{7f}'
}

fn fits_literal(s: &str) -> bool {
    !s.contains('\'') && !s.chars().any(is_control)
}

fn fits_multi_literal(s: &str) -> bool {
    if s.contains("'''") {
        return false;
    }
    let b = s.as_bytes();
    s.char_indices().all(|(i, c)| match c {
        '\n' => true,
        '\r' => b.get(i + 1) == Some(&b'\n'),
        c => !is_control(c),
    })
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\u{c}' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        c => out.push_str(&format!("\\u{:04X}", c as u32)),
    }
}

/// A basic string: `"`, `\`, tab and control characters escaped, everything else as it is.
fn quote_basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || c == '\t' || is_control(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// A multi-line basic string; `nl` is the line break after the opening `"""` (or "").
/// Line breaks and tabs stay raw; a quote is escaped only where it would make a run of three.
fn quote_multi_basic(s: &str, nl: &str) -> String {
    let mut out = String::with_capacity(s.len() + 6 + nl.len());
    out.push_str("\"\"\"");
    out.push_str(nl);
    let b = s.as_bytes();
    let mut quotes_in_run = 0;
    for (i, c) in s.char_indices() {
        // A line break right after the opening delimiter would be trimmed: escape it.
        let at_start = i == 0 && nl.is_empty();
        if c == '"' {
            quotes_in_run += 1;
            if quotes_in_run == 3 {
                out.push_str("\\\"");
                quotes_in_run = 0;
            } else {
                out.push('"');
            }
            continue;
        }
        quotes_in_run = 0;
        match c {
            '\n' if !at_start => out.push('\n'),
            '\r' if !at_start && b.get(i + 1) == Some(&b'\n') => out.push('\r'),
            '\t' => out.push('\t'),
            c if c == '\\' || is_control(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push_str("\"\"\"");
    out
}

/// The `sops` item as a generic value.
fn meta_of_item(item: &Item) -> MetaValue {
    let map = |t: &Table| {
        MetaValue::Map(
            t.iter()
                .map(|(k, v)| (k.to_string(), meta_of_item(v)))
                .collect(),
        )
    };
    match item {
        Item::None => MetaValue::Null,
        Item::Value(v) => meta_of_value(v),
        Item::Table(t) => map(t),
        Item::ArrayOfTables(a) => MetaValue::List(a.iter().map(map).collect()),
    }
}

fn meta_of_value(v: &toml_edit::Value) -> MetaValue {
    use toml_edit::Value as V;
    match v {
        V::String(s) => MetaValue::Str(s.value().clone()),
        V::Integer(n) => MetaValue::Int(*n.value()),
        V::Boolean(b) => MetaValue::Bool(*b.value()),
        V::Float(f) => MetaValue::Str(crate::document::scalar::go_format_float(*f.value())),
        V::Datetime(d) => MetaValue::Str(d.value().to_string()),
        V::Array(items) => MetaValue::List(items.iter().map(meta_of_value).collect()),
        V::InlineTable(t) => MetaValue::Map(
            t.iter()
                .map(|(k, v)| (k.to_string(), meta_of_value(v)))
                .collect(),
        ),
    }
}

/// The byte ranges that hold the `sops` metadata: each `[sops...]` section from its header line
/// to the leading comments of the next other table (or the end of the file), and the lines of a
/// `sops = {...}` or dotted `sops.x = ...` value at the top level. A block that ends the file also
/// takes the one line break before it, which is what [`TomlDocument::render`] adds when appending.
fn metadata_ranges(source: &str, root: &Table, sops: &Item) -> Vec<Range<usize>> {
    let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = |at: usize| source[at..].find('\n').map_or(source.len(), |i| at + i + 1);
    let mut ranges = Vec::new();
    let mut headers = Vec::new();
    for (key, item) in root.iter() {
        collect_headers(item, key == "sops", &mut headers);
    }
    headers.sort_by_key(|h| h.start);
    for (i, h) in headers.iter().enumerate() {
        if !h.sops {
            continue;
        }
        let start = line_start(h.start);
        let end = headers[i + 1..]
            .iter()
            .find(|h| !h.sops)
            .map_or(source.len(), |h| h.lead);
        ranges.push(start..end.max(start));
    }
    let mut values = Vec::new();
    match sops {
        Item::Value(v) => values.extend(v.span()),
        Item::Table(t) if t.is_dotted() => collect_dotted_spans(t, &mut values),
        _ => {}
    }
    for span in values {
        ranges.push(line_start(span.start)..line_end(span.end.saturating_sub(1).max(span.start)));
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    if let Some(last) = merged.last_mut().filter(|last| last.end == source.len()) {
        let block = &source[last.clone()];
        let nl = if block.find('\n').is_some_and(|i| block[..i].ends_with('\r')) {
            "\r\n"
        } else {
            "\n"
        };
        if source[..last.start].ends_with(nl) {
            last.start -= nl.len();
        }
    }
    merged
}

/// A table header: where it starts, where its leading blank lines and comments start, and
/// whether it belongs to the `sops` table.
struct Header {
    start: usize,
    lead: usize,
    sops: bool,
}

fn collect_headers(item: &Item, sops: bool, out: &mut Vec<Header>) {
    let visit = |t: &Table, out: &mut Vec<Header>| {
        if let (false, false, Some(span)) = (t.is_implicit(), t.is_dotted(), t.span()) {
            let lead = t
                .decor()
                .prefix()
                .and_then(|p| p.span())
                .map_or(span.start, |p| p.start.min(span.start));
            out.push(Header {
                start: span.start,
                lead,
                sops,
            });
        }
        for (_, child) in t.iter() {
            collect_headers(child, sops, out);
        }
    };
    match item {
        Item::Table(t) => visit(t, out),
        Item::ArrayOfTables(a) => a.iter().for_each(|t| visit(t, out)),
        Item::Value(_) | Item::None => {}
    }
}

fn collect_dotted_spans(t: &Table, out: &mut Vec<Range<usize>>) {
    for (_, item) in t.iter() {
        match item {
            Item::Value(v) => out.extend(v.span()),
            Item::Table(t) if t.is_dotted() => collect_dotted_spans(t, out),
            _ => {}
        }
    }
}

/// The `[sops]` table as appended to a file: scalar fields as `key = value` lines in the given
/// order, then mappings as `[sops.<key>]` and lists of mappings as `[[sops.<key>]]` entries
/// (TOML needs a table's own keys before its sub-tables), each after a blank line.
fn metadata_block(meta: &MetaValue, eol: &str) -> Result<String, Error> {
    let MetaValue::Map(items) = meta else {
        return Err(Error::Metadata("the sops block is not a mapping".into()));
    };
    let mut out = String::new();
    write_table(&mut out, &["sops".to_string()], items, false, eol);
    Ok(out)
}

fn is_table_list(v: &MetaValue) -> bool {
    matches!(v, MetaValue::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, MetaValue::Map(_))))
}

fn write_table(
    out: &mut String,
    path: &[String],
    items: &[(String, MetaValue)],
    array: bool,
    eol: &str,
) {
    if !out.is_empty() {
        out.push_str(eol);
    }
    let dotted: Vec<String> = path.iter().map(|k| toml_key(k)).collect();
    let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
    out.push_str(&format!("{open}{}{close}{eol}", dotted.join(".")));
    for (k, v) in items {
        if matches!(v, MetaValue::Map(_) | MetaValue::Null) || is_table_list(v) {
            continue;
        }
        out.push_str(&toml_key(k));
        out.push_str(" = ");
        match v {
            MetaValue::Str(s) if s.contains('\n') => out.push_str(&quote_multi_basic(s, eol)),
            v => out.push_str(&inline_meta(v)),
        }
        out.push_str(eol);
    }
    for (k, v) in items {
        let mut sub = path.to_vec();
        sub.push(k.clone());
        match v {
            MetaValue::Map(inner) => write_table(out, &sub, inner, false, eol),
            MetaValue::List(entries) if is_table_list(v) => {
                for entry in entries {
                    if let MetaValue::Map(inner) = entry {
                        write_table(out, &sub, inner, true, eol);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A metadata value on one line (arrays and inline tables). Nulls have no TOML form: left out
/// of tables and inline tables, empty strings inside lists.
fn inline_meta(v: &MetaValue) -> String {
    match v {
        MetaValue::Null => "\"\"".into(),
        MetaValue::Bool(b) => b.to_string(),
        MetaValue::Int(n) => n.to_string(),
        MetaValue::Str(s) => quote_basic(s),
        MetaValue::List(items) => format!(
            "[{}]",
            items.iter().map(inline_meta).collect::<Vec<_>>().join(", ")
        ),
        MetaValue::Map(items) => {
            let fields: Vec<String> = items
                .iter()
                .filter(|(_, v)| !matches!(v, MetaValue::Null))
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline_meta(v)))
                .collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
    }
}

/// A key, bare when TOML allows it.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        quote_basic(k)
    }
}

/// A plaintext TOML document as a tree. Datetimes become strings (their source text).
pub fn load_tree(source: &str) -> Result<Node, Error> {
    let doc = toml_edit::Document::parse(source).map_err(|e| syntax_error(source, &e))?;
    Ok(node_of_table(doc.as_table()))
}

fn node_of_table(t: &Table) -> Node {
    Node::Map(
        t.iter()
            .filter_map(|(k, item)| node_of_item(item).map(|n| (k.to_string(), n)))
            .collect(),
    )
}

fn node_of_item(item: &Item) -> Option<Node> {
    Some(match item {
        Item::None => return None,
        Item::Value(v) => node_of_value(v),
        Item::Table(t) => node_of_table(t),
        Item::ArrayOfTables(a) => Node::List(a.iter().map(node_of_table).collect()),
    })
}

fn node_of_value(v: &toml_edit::Value) -> Node {
    use toml_edit::Value as V;
    match v {
        V::String(s) => Node::Str(s.value().clone()),
        V::Integer(n) => Node::Int(*n.value()),
        V::Float(f) => Node::Float(*f.value()),
        V::Boolean(b) => Node::Bool(*b.value()),
        V::Datetime(d) => Node::Str(d.value().to_string()),
        V::Array(items) => Node::List(items.iter().map(node_of_value).collect()),
        V::InlineTable(t) => Node::Map(
            t.iter()
                .map(|(k, v)| (k.to_string(), node_of_value(v)))
                .collect(),
        ),
    }
}

/// Write a tree as TOML: mappings as tables, lists as arrays (mappings inside them as inline
/// tables). The top level must be a mapping; null has no TOML form.
pub fn emit_tree(node: &Node) -> Result<String, Error> {
    let Node::Map(items) = node else {
        return Err(Error::Unsupported {
            format: Format::Toml,
            what: "only a mapping can be written as TOML".into(),
        });
    };
    let mut doc = toml_edit::DocumentMut::new();
    let mut path = Vec::new();
    fill_table(doc.as_table_mut(), items, &mut path)?;
    Ok(doc.to_string())
}

fn fill_table(
    table: &mut Table,
    items: &[(String, Node)],
    path: &mut Vec<String>,
) -> Result<(), Error> {
    for (k, v) in items {
        path.push(k.clone());
        let item = match v {
            Node::Map(inner) => {
                let mut t = Table::new();
                fill_table(&mut t, inner, path)?;
                // A table holding only tables needs no header of its own.
                t.set_implicit(
                    !inner.is_empty() && inner.iter().all(|(_, v)| matches!(v, Node::Map(_))),
                );
                Item::Table(t)
            }
            other => Item::Value(toml_value(other, path)?),
        };
        table.insert(k, item);
        path.pop();
    }
    Ok(())
}

fn toml_value(node: &Node, path: &mut Vec<String>) -> Result<toml_edit::Value, Error> {
    Ok(match node {
        Node::Null => {
            return Err(Error::AtPath {
                path: super::display_path(path),
                message: "null has no TOML form".into(),
            });
        }
        Node::Bool(b) => (*b).into(),
        Node::Int(n) => (*n).into(),
        Node::Float(f) => (*f).into(),
        Node::Str(s) => s.as_str().into(),
        Node::List(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(toml_value(item, path)?);
            }
            toml_edit::Value::Array(array)
        }
        Node::Map(items) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in items {
                path.push(k.clone());
                t.insert(k, toml_value(v, path)?);
                path.pop();
            }
            toml_edit::Value::InlineTable(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
    use crate::document::metadata::{AgeKey, KeyGroup, Metadata, RuleKind, SOPS_VERSION};

    const CARGO: &str = r#"# The manifest of a small tool.
[package]
name = "demo"            # the crate name
version = "0.3.1"
edition = "2021"
authors = ["Ada <ada@example.org>", 'Bob <bob@example.org>']
description = """
A demo crate with a
multi-line "description".
"""

[dependencies]
serde = { version = "1", features = ["derive"] }
tokio = { version = "1.37", default-features = false, features = ["rt", "macros"] }
regex = "1"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[profile.release]
lto = true
opt-level = 3
codegen-units = 1

[[bin]]
name = "demo"
path = "src/main.rs"

[[bin]]
name = "demo-cli"
path = 'src\cli.rs'
"#;

    const PYPROJECT: &str = r#"[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "example"
version = "1.2.0"
requires-python = ">=3.9"
dependencies = [
    "requests>=2.31",   # HTTP
    "pydantic ~= 2.0",
]
license = {text = "MIT"}

[project.optional-dependencies]
dev = ["pytest", "ruff"]

[tool.ruff]
line-length = 100
select = ["E", "F", "I"]

[tool.pytest.ini_options]
addopts = "-ra -q"
testpaths = ['tests']
"#;

    const CONFIG: &str = "# Service configuration\r\n\
title = \"TOML \\\"example\\\"\\tend\"\r\n\
big = 1_000_000\r\n\
mask = 0xDEAD_beef\r\n\
perm = 0o755\r\n\
bits = 0b1101\r\n\
neg = -17\r\n\
plus = +42\r\n\
ratio = 6.626e-34\r\n\
spread = 1_000.5\r\n\
upper = inf\r\n\
lower = -inf\r\n\
nothing = nan\r\n\
zero = -0.0\r\n\
on = true\r\n\
off = false\r\n\
empty = \"\"\r\n\
\r\n\
[owner]\r\n\
name.first = 'Tom'\r\n\
name.last = \"Preston-Werner\"\r\n\
dob = 1979-05-27T07:32:00-08:00\r\n\
local = 1979-05-27T07:32:00.999999\r\n\
day = 1979-05-27\r\n\
lunch = 12:30:00\r\n\
\r\n\
[database]\r\n\
server = \"192.168.1.1\"\r\n\
ports = [ 8000, 8001, 8002 ]\r\n\
data = [ [\"delta\", \"phi\"], [3.14] ]\r\n\
temp_targets = { cpu = 79.5, case = 72.0 }\r\n\
password_unencrypted = \"visible\"\r\n\
key = '''\r\n\
-----BEGIN KEY-----\r\n\
abc\\def\r\n\
-----END KEY-----\r\n\
'''\r\n\
note = \"\"\"no newline after the delimiter\"\"\"\r\n\
\r\n\
[[servers]]\r\n\
name = \"alpha\" # first\r\n\
ip = \"10.0.0.1\"\r\n\
\r\n\
[[servers]]\r\n\
name = \"beta\"\r\n\
roles = [{ kind = \"db\", weight = 2 }, { kind = \"cache\", weight = 1 }]\r\n\
\r\n\
[\"quoted key\".\"with.dot\"]\r\n\
value = 'x'";

    fn meta() -> MetaValue {
        Metadata {
            key_groups: vec![KeyGroup {
                age: vec![
                    AgeKey {
                        recipient: "age1first".into(),
                        enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n-----END AGE ENCRYPTED FILE-----\n".into(),
                    },
                    AgeKey {
                        recipient: "age1second".into(),
                        enc: "-----BEGIN AGE ENCRYPTED FILE-----\nZGVm\n-----END AGE ENCRYPTED FILE-----\n".into(),
                    },
                ],
                pgp: vec![],
                vault: vec![],
                kms: vec![],
                others: vec![],
            }],
            shamir_threshold: 0,
            lastmodified: "2026-01-01T00:00:00Z".into(),
            mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
            rule: Some((RuleKind::UnencryptedSuffix, "_unencrypted".into())),
            mac_only_encrypted: false,
            version: SOPS_VERSION.into(),
        }
        .to_meta()
    }

    /// Encrypt `source` with `rule`, check the result, decrypt it and return (encrypted, decrypted).
    fn round_trip(source: &str, rule: &Rule) -> (String, String) {
        let doc = TomlDocument::parse(source).unwrap();
        assert!(doc.metadata().is_none());
        let key = DataKey::generate();
        let cipher = ValueCipher::new(&key);
        let mut enc = encrypt_leaves(&doc.leaves, &cipher, rule, false).unwrap();
        let encrypted =
            String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
        let doc2 = TomlDocument::parse(&encrypted).unwrap_or_else(|e| panic!("{e}\n{encrypted}"));
        assert_eq!(
            Metadata::from_meta(doc2.metadata().unwrap())
                .unwrap()
                .to_meta(),
            meta()
        );
        assert_eq!(doc2.leaves.len(), doc.leaves.len());
        for (a, b) in doc.leaves.iter().zip(&doc2.leaves) {
            assert_eq!(a.path, b.path);
        }
        let mut dec = decrypt_leaves(&doc2.leaves, &cipher, rule, false).unwrap();
        assert_eq!(*dec.mac, *enc.mac);
        let decrypted = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
        (encrypted, decrypted)
    }

    #[test]
    fn realistic_files_come_back_byte_for_byte() {
        for sample in [
            CARGO,
            PYPROJECT,
            CONFIG,
            "",
            "# only a comment",
            "a = 1",
            "a = 1\n\n\n",
            "[t]\n",
        ] {
            let (encrypted, decrypted) = round_trip(sample, &Rule::default());
            assert_eq!(decrypted, sample, "encrypted:\n{encrypted}");
        }
    }

    /// Exception to byte-exactness: a string's escapes are re-chosen on decrypt (the value is the
    /// same; a line-ending backslash, `\u00e9` for `é` or a raw tab in a basic string are not).
    #[test]
    fn strings_with_unusual_escapes_keep_their_value_not_their_spelling() {
        let source = "folded = \"\"\"\\\n    folded \\\n    text\"\"\"\nu = \"caf\\u00e9\"\n";
        let (_, decrypted) = round_trip(source, &Rule::default());
        assert_eq!(
            decrypted,
            "folded = \"\"\"folded text\"\"\"\nu = \"café\"\n"
        );
    }

    #[test]
    fn paths_types_and_order_follow_the_source() {
        let doc = TomlDocument::parse(CONFIG).unwrap();
        let find = |path: &str| {
            doc.leaves
                .iter()
                .find(|l| l.path.join(".") == path)
                .unwrap()
        };
        assert!(matches!(&find("title").value, Value::Str(s) if s == "TOML \"example\"\tend"));
        assert!(matches!(find("mask").value, Value::Int(0xdead_beef)));
        assert_eq!(find("mask").spelling.as_deref(), Some("0xDEAD_beef"));
        assert_eq!(find("big").spelling.as_deref(), Some("1_000_000"));
        assert_eq!(find("upper").spelling.as_deref(), Some("inf"));
        assert!(matches!(find("nothing").value, Value::Float(f) if f.is_nan()));
        assert!(matches!(find("on").value, Value::Bool(true)));
        assert!(
            matches!(&find("owner.dob").value, Value::Time(t) if t == "1979-05-27T07:32:00-08:00")
        );
        assert!(matches!(&find("owner.lunch").value, Value::Time(t) if t == "12:30:00"));
        assert!(matches!(&find("owner.name.first").value, Value::Str(s) if s == "Tom"));
        assert!(matches!(&find("quoted key.with.dot.value").value, Value::Str(s) if s == "x"));
        let roles: Vec<_> = doc
            .leaves
            .iter()
            .filter(|l| l.path.first().is_some_and(|k| k == "servers"))
            .collect();
        let paths: Vec<String> = roles.iter().map(|l| l.path.join(".")).collect();
        assert_eq!(
            paths,
            [
                "servers.name",
                "servers.ip",
                "servers.name",
                "servers.roles.kind",
                "servers.roles.weight",
                "servers.roles.kind",
                "servers.roles.weight"
            ]
        );
        assert_eq!(roles[3].line, 46);
        let lines: Vec<usize> = doc.leaves.iter().map(|l| l.line).collect();
        assert!(lines.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(doc.leaves[0].line, 2);
        // Source order, not the logical order of toml_edit's tables.
        let doc = TomlDocument::parse("[a]\nx = 1\n[b]\ny = 2\n[a.c]\nz = 3\n").unwrap();
        let paths: Vec<String> = doc.leaves.iter().map(|l| l.path.join(".")).collect();
        assert_eq!(paths, ["a.x", "b.y", "a.c.z"]);
    }

    #[test]
    fn encrypted_values_keep_their_string_kind_and_the_block_is_appended() {
        let (encrypted, _) = round_trip(CONFIG, &Rule::default());
        assert!(
            encrypted.contains("\r\nbig = \"ENC[AES256_GCM,data:"),
            "{encrypted}"
        );
        assert!(encrypted.contains("\r\nname.first = 'ENC[AES256_GCM,"));
        assert!(encrypted.contains("\r\nkey = '''\r\nENC[AES256_GCM,"));
        assert!(encrypted.contains("\r\nnote = \"\"\"ENC[AES256_GCM,"));
        assert!(encrypted.contains("password_unencrypted = \"visible\"\r\n"));
        assert!(encrypted.contains("\r\nempty = \"\"\r\n"));
        assert!(encrypted.contains(",type:int]\"\r\nperm"));
        assert!(encrypted.contains(",type:time]\"\r\n"));
        // CONFIG has no final newline: the block starts on the next line, with CRLF.
        assert!(encrypted.contains("\r\nvalue = 'ENC[AES256_GCM,"));
        assert!(
            encrypted
                .contains(",type:str]'\r\n[sops]\r\nlastmodified = \"2026-01-01T00:00:00Z\"\r\n"),
            "{encrypted}"
        );
        let (encrypted, _) = round_trip(CARGO, &Rule::default());
        let tail = &encrypted[encrypted.find("\n\n[sops]\n").unwrap()..];
        assert_eq!(
            tail,
            "\n\n[sops]\nlastmodified = \"2026-01-01T00:00:00Z\"\nmac = \"ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\"\n\
             unencrypted_suffix = \"_unencrypted\"\nversion = \"3.11.0\"\n\n\
             [[sops.age]]\nrecipient = \"age1first\"\nenc = \"\"\"\n-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n-----END AGE ENCRYPTED FILE-----\n\"\"\"\n\n\
             [[sops.age]]\nrecipient = \"age1second\"\nenc = \"\"\"\n-----BEGIN AGE ENCRYPTED FILE-----\nZGVm\n-----END AGE ENCRYPTED FILE-----\n\"\"\"\n"
        );
    }

    #[test]
    fn partial_rules_and_key_groups() {
        let rule = Rule::from_spec(&RuleKind::EncryptedRegex, "^(password|key|name)$").unwrap();
        let (encrypted, decrypted) = round_trip(CONFIG, &rule);
        assert_eq!(decrypted, CONFIG);
        assert!(encrypted.contains("server = \"192.168.1.1\""));
        assert!(encrypted.contains("name.last = \"ENC["));
        // Several key groups: scalar keys before the nested age tables.
        let mut m = Metadata::from_meta(&meta()).unwrap();
        m.key_groups.push(m.key_groups[0].clone());
        m.shamir_threshold = 2;
        let block = metadata_block(&m.to_meta(), "\n").unwrap();
        assert!(
            block.starts_with("[sops]\nshamir_threshold = 2\nlastmodified ="),
            "{block}"
        );
        assert!(block.contains("\n\n[[sops.key_groups]]\nhc_vault = []\n\n[[sops.key_groups.age]]\nrecipient = \"age1first\"\n"));
        let parsed = TomlDocument::parse(&format!("a = 1\n\n{block}")).unwrap();
        assert_eq!(Metadata::from_meta(parsed.metadata().unwrap()).unwrap(), m);
        assert_eq!(
            String::from_utf8(
                parsed
                    .render(&mut Vec::<Option<Replacement>>::new(), None)
                    .unwrap()
            )
            .unwrap(),
            "a = 1\n"
        );
        // Re-encrypting replaces the block instead of adding a second one.
        let again = String::from_utf8(
            parsed
                .render(&mut Vec::<Option<Replacement>>::new(), Some(&m.to_meta()))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(again, format!("a = 1\n\n{block}"));
    }

    #[test]
    fn a_block_in_the_middle_is_removed_without_the_next_tables_comments() {
        let text = "a = 1\n\n[sops]\nversion = \"3.11.0\"\n\n[[sops.age]]\nrecipient = \"r\"\n\n# about b\n[b]\nx = 2\n";
        let doc = TomlDocument::parse(text).unwrap();
        assert_eq!(doc.leaves.len(), 2);
        assert_eq!(
            String::from_utf8(
                doc.render(&mut Vec::<Option<Replacement>>::new(), None)
                    .unwrap()
            )
            .unwrap(),
            "a = 1\n\n\n# about b\n[b]\nx = 2\n"
        );
        let doc = TomlDocument::parse("sops.version = \"1\"\nsops.mac = \"m\"\na = 1\n").unwrap();
        assert_eq!(
            doc.metadata().unwrap().get("mac"),
            Some(&MetaValue::Str("m".into()))
        );
        assert_eq!(
            String::from_utf8(
                doc.render(&mut Vec::<Option<Replacement>>::new(), None)
                    .unwrap()
            )
            .unwrap(),
            "a = 1\n"
        );
    }

    fn decrypted(raw: &str, kind: ValueType, text: &str) -> String {
        let p = Plaintext {
            kind,
            bytes: zeroize::Zeroizing::new(text.as_bytes().to_vec()),
        };
        let leaf = Leaf {
            path: vec!["k".into()],
            value: Value::Null,
            spelling: None,
            comment: false,
            line: 1,
        };
        let out = decrypted_text(raw, &p, &leaf).unwrap();
        if kind == ValueType::Str {
            let doc = TomlDocument::parse(&format!("k = {out}\n"))
                .unwrap_or_else(|e| panic!("{e}: {out}"));
            assert!(
                matches!(&doc.leaves[0].value, Value::Str(s) if s == text),
                "{raw} {text:?} -> {out}"
            );
        }
        out
    }

    #[test]
    fn decrypted_strings_are_quoted_in_the_style_of_the_encrypted_one() {
        assert_eq!(
            decrypted("\"ENC[x]\"", ValueType::Str, "a \"b\" \\ \t\u{1}é"),
            "\"a \\\"b\\\" \\\\ \\t\\u0001é\""
        );
        assert_eq!(
            decrypted("'ENC[x]'", ValueType::Str, "C:\\path"),
            "'C:\\path'"
        );
        assert_eq!(decrypted("'ENC[x]'", ValueType::Str, "it's"), "\"it's\"");
        assert_eq!(
            decrypted("'''\nENC[x]'''", ValueType::Str, "a\nb'\n"),
            "'''\na\nb'\n'''"
        );
        assert_eq!(
            decrypted("'''ENC[x]'''", ValueType::Str, "\nlead"),
            "'''\n\nlead'''"
        );
        assert_eq!(
            decrypted("'''ENC[x]'''", ValueType::Str, "x'''y"),
            "\"\"\"x'''y\"\"\""
        );
        assert_eq!(
            decrypted("\"\"\"\r\nENC[x]\"\"\"", ValueType::Str, "l1\r\nl2\r\n"),
            "\"\"\"\r\nl1\r\nl2\r\n\"\"\""
        );
        assert_eq!(
            decrypted("\"\"\"ENC[x]\"\"\"", ValueType::Str, "\nx"),
            "\"\"\"\\nx\"\"\""
        );
        assert_eq!(
            decrypted("\"\"\"ENC[x]\"\"\"", ValueType::Str, "say \"\"\"hi\"\""),
            "\"\"\"say \"\"\\\"hi\"\"\"\"\""
        );
        assert_eq!(
            decrypted("\"\"\"ENC[x]\"\"\"", ValueType::Str, "\"\"\"\"\"\""),
            "\"\"\"\"\"\\\"\"\"\\\"\"\"\""
        );
        assert_eq!(
            decrypted("\"\"\"ENC[x]\"\"\"", ValueType::Str, "a\\b\rc"),
            "\"\"\"a\\\\b\\rc\"\"\""
        );
        assert_eq!(decrypted("\"ENC[x]\"", ValueType::Bool, "True"), "true");
        assert_eq!(decrypted("\"ENC[x]\"", ValueType::Bool, "false"), "false");
        assert_eq!(decrypted("\"ENC[x]\"", ValueType::Int, "0x1F"), "0x1F");
        assert_eq!(decrypted("\"ENC[x]\"", ValueType::Float, "+Inf"), "inf");
        assert_eq!(decrypted("\"ENC[x]\"", ValueType::Float, "3"), "3.0");
        assert_eq!(
            decrypted("\"ENC[x]\"", ValueType::Float, "1_000.5"),
            "1_000.5"
        );
        assert_eq!(
            decrypted("\"ENC[x]\"", ValueType::Time, "1979-05-27"),
            "1979-05-27"
        );
    }

    #[test]
    fn syntax_errors_point_at_line_and_column_without_the_text() {
        let secret = "hunter2-secret";
        let text = format!("a = 1\n[t]\nb = \"ok\"\nc = {secret}\n");
        let Err(Error::Syntax {
            line,
            column,
            message,
            ..
        }) = TomlDocument::parse(&text)
        else {
            panic!()
        };
        assert_eq!((line, column), (4, 5));
        let shown = Error::Syntax {
            format: Format::Toml,
            line,
            column,
            message,
        }
        .to_string();
        assert!(
            !shown.contains(secret) && !shown.contains("hunter2"),
            "{shown}"
        );
        let Err(Error::Syntax { line, .. }) = TomlDocument::parse("a = 1\na = 2\n") else {
            panic!()
        };
        assert_eq!(line, 2);
        let Err(Error::Syntax { line, column, .. }) = TomlDocument::parse("a = 1\nb = 'é\n")
        else {
            panic!()
        };
        assert_eq!((line, column), (2, 7), "columns count characters");
    }

    #[test]
    fn trees_load_and_emit() {
        fn sorted(mut n: Node) -> Node {
            match &mut n {
                Node::Map(items) => {
                    let mut items = std::mem::take(items);
                    items.sort_by(|a, b| a.0.cmp(&b.0));
                    Node::Map(items.into_iter().map(|(k, v)| (k, sorted(v))).collect())
                }
                Node::List(items) => {
                    Node::List(std::mem::take(items).into_iter().map(sorted).collect())
                }
                _ => n,
            }
        }
        let tree = load_tree(CARGO).unwrap();
        let back = emit_tree(&tree).unwrap();
        assert_eq!(sorted(load_tree(&back).unwrap()), sorted(tree));
        let node = Node::Map(vec![
            ("name".into(), Node::Str("x".into())),
            (
                "db".into(),
                Node::Map(vec![
                    ("port".into(), Node::Int(5432)),
                    ("ratio".into(), Node::Float(0.5)),
                ]),
            ),
            (
                "items".into(),
                Node::List(vec![Node::Map(vec![("k".into(), Node::Bool(true))])]),
            ),
            (
                "outer".into(),
                Node::Map(vec![(
                    "inner".into(),
                    Node::Map(vec![("v".into(), Node::Float(f64::INFINITY))]),
                )]),
            ),
        ]);
        let text = emit_tree(&node).unwrap();
        assert_eq!(
            text,
            "name = \"x\"\nitems = [{ k = true }]\n\n[db]\nport = 5432\nratio = 0.5\n\n[outer.inner]\nv = inf\n"
        );
        assert_eq!(
            load_tree(&text).unwrap(),
            Node::Map(vec![
                ("name".into(), Node::Str("x".into())),
                (
                    "items".into(),
                    Node::List(vec![Node::Map(vec![("k".into(), Node::Bool(true))])])
                ),
                (
                    "db".into(),
                    Node::Map(vec![
                        ("port".into(), Node::Int(5432)),
                        ("ratio".into(), Node::Float(0.5))
                    ])
                ),
                (
                    "outer".into(),
                    Node::Map(vec![(
                        "inner".into(),
                        Node::Map(vec![("v".into(), Node::Float(f64::INFINITY))])
                    )])
                ),
            ])
        );
        let bad = Node::Map(vec![(
            "a".into(),
            Node::Map(vec![("b".into(), Node::List(vec![Node::Null]))]),
        )]);
        assert_eq!(
            emit_tree(&bad).unwrap_err().to_string(),
            "key path [\"a\"][\"b\"]: null has no TOML form"
        );
        assert!(emit_tree(&Node::List(vec![])).is_err());
    }

    /// Every `*.toml` file under 1 MB on this machine (the first 500 `find` lists; another list
    /// with `SECRETS_TOML_CORPUS="find ..."`) must decrypt to the same bytes, or, where a string's
    /// escapes were re-chosen (the documented exception), to the same values. Run with
    /// `cargo test --lib toml -- --ignored --nocapture`.
    #[test]
    #[ignore]
    #[allow(clippy::print_stdout)]
    fn every_toml_file_on_this_machine_round_trips() {
        let list = std::env::var("SECRETS_TOML_CORPUS").unwrap_or_else(|_| {
            "find / -name '*.toml' -size -1000k -not -path '/proc/*' 2>/dev/null | head -500".into()
        });
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(list)
            .output()
            .unwrap();
        let (mut exact, mut same_values, mut invalid, mut leaves) = (0, Vec::new(), 0, 0);
        let mut failed = Vec::new();
        let key = DataKey::generate();
        let cipher = ValueCipher::new(&key);
        for path in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let Ok(doc) = TomlDocument::parse(&text) else {
                invalid += 1;
                continue;
            };
            if doc.metadata().is_some() {
                continue;
            }
            leaves += doc.leaves.len();
            let result = (|| -> Result<String, String> {
                let mut enc = encrypt_leaves(&doc.leaves, &cipher, &Rule::default(), false)
                    .map_err(|e| e.to_string())?;
                let encrypted =
                    String::from_utf8(doc.render(&mut enc.edits, Some(&meta())).unwrap()).unwrap();
                let doc2 = TomlDocument::parse(&encrypted)
                    .map_err(|e| format!("encrypted file does not parse: {e}"))?;
                let mut dec = decrypt_leaves(&doc2.leaves, &cipher, &Rule::default(), false)
                    .map_err(|e| e.to_string())?;
                if *dec.mac != *enc.mac {
                    return Err("MAC differs".into());
                }
                Ok(String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap())
            })();
            match result {
                Ok(back) if back == text => exact += 1,
                Ok(back)
                    if load_tree(&back).ok() == load_tree(&text).ok()
                        && back.lines().count() <= text.lines().count() =>
                {
                    let at = back
                        .bytes()
                        .zip(text.bytes())
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    same_values.push(format!(
                        "{path}: line {}",
                        text[..at].matches('\n').count() + 1
                    ));
                }
                Ok(_) => failed.push(format!("{path}: decrypted values differ")),
                Err(e) => failed.push(format!("{path}: {e}")),
            }
        }
        println!(
            "{exact} files byte-exact, {} with the same values but re-spelled string escapes, {} failed \
             ({leaves} values); {invalid} files are not valid TOML",
            same_values.len(),
            failed.len()
        );
        for f in same_values.iter().chain(&failed) {
            println!("  {f}");
        }
        assert!(failed.is_empty());
    }
}
