//! INI, as sops reads it (`gopkg.in/ini.v1` with its default options, non-unique sections).
//!
//! Sections are top-level maps (path `[section, key]`); keys before the first section belong to
//! `DEFAULT`. Keys and values are trimmed and every value is a string. As in ini.v1: the first `=`
//! or `:` splits a line; an inline `;`/`#` starts a comment; a value wholly in `'...'` or `"..."`
//! loses its quotes; `"""..."""` and `` `...` `` quote verbatim and may span lines; a trailing `\`
//! continues the value on the next line. Comments stay where they are; a comment holding an
//! `ENC[...]` value (sops writes `; ENC[...]`) is a comment leaf of the section it belongs to.
//! Metadata is a final `[sops]` section of flattened `key = value` lines.

use std::collections::HashSet;
use std::ops::Range;

use super::metadata::{flatten, unflatten};
use super::tree::Node;
use super::{
    Document, Edits, Error, Format, Leaf, MetaValue, Replacement, Value, ValueType, splice,
};

/// How a value is written in the source, so a new value can be written the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    /// Bare text.
    None,
    /// `'...'` or `"..."` around the whole value (ini.v1 strips them).
    Surrounded(char),
    /// `"""..."""`, possibly over several lines.
    Triple,
    /// `` `...` ``, possibly over several lines.
    Backtick,
    /// Bare text continued over lines with `\`.
    Continued,
    /// The text of an encrypted comment.
    Comment,
}

pub struct IniDocument {
    /// The source text: for a plaintext file, every secret in it; wiped on drop.
    source: zeroize::Zeroizing<String>,
    leaves: Vec<Leaf>,
    spans: Vec<Range<usize>>,
    quotes: Vec<Quote>,
    /// For each leaf, which section block (header) it is in: sections may repeat.
    blocks: Vec<usize>,
    /// The `[sops]` section: from its header to the end of its last line.
    sops_section: Option<Range<usize>>,
    metadata: Option<MetaValue>,
}

fn syntax(line: usize, column: usize, message: &str) -> Error {
    Error::Syntax {
        format: Format::Ini,
        line,
        column,
        message: message.into(),
    }
}

/// One line of the source: its start, its end without the newline, and the next line's start.
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

fn line_at(src: &str, start: usize) -> Line {
    match src[start..].find('\n') {
        Some(i) => Line {
            start,
            end: start + i,
            next: start + i + 1,
        },
        None => Line {
            start,
            end: src.len(),
            next: src.len(),
        },
    }
}

/// A value read from the source.
struct RawValue {
    value: String,
    span: Range<usize>,
    quote: Quote,
    /// Where the next line starts (after every line the value took).
    next: usize,
    /// Lines the value took beyond its first.
    extra_lines: usize,
}

/// ini.v1's `readValue`, over the text after the key's delimiter (`from`) on `line`.
fn read_value(src: &str, from: usize, line: &Line, line_no: usize) -> Result<RawValue, Error> {
    let rest = &src[from..line.end];
    let v0 = from + (rest.len() - rest.trim_start().len());
    let text = &src[v0..line.end];
    let simple = |value: &str, span: Range<usize>, quote| RawValue {
        value: value.to_string(),
        span,
        quote,
        next: line.next,
        extra_lines: 0,
    };
    if text.trim_end().is_empty() {
        return Ok(simple("", v0..v0, Quote::None));
    }
    // Go sees the line with its newline: `"""` alone on a line still opens a multi-line value.
    let go_len = text.len() + usize::from(line.next > line.end);
    let verbatim = if text.starts_with("\"\"\"") && go_len > 3 {
        Some(("\"\"\"", Quote::Triple))
    } else if text.starts_with('`') {
        Some(("`", Quote::Backtick))
    } else {
        None
    };
    if let Some((q, quote)) = verbatim {
        let inner = v0 + q.len();
        if let Some(p) = src[inner..line.end].rfind(q) {
            return Ok(simple(
                &src[inner..inner + p],
                v0..inner + p + q.len(),
                quote,
            ));
        }
        // Multi-line: the first line's rest with its newline, then whole lines up to the last
        // quote on a line.
        let mut value = src[inner..line.next].to_string();
        let mut at = line.next;
        let mut extra_lines = 0;
        loop {
            if at >= src.len() {
                return Err(syntax(
                    line_no,
                    v0 - line.start + 1,
                    "a quoted value is not closed",
                ));
            }
            let next = line_at(src, at);
            extra_lines += 1;
            let whole = &src[next.start..next.next];
            if let Some(p) = whole.rfind(q) {
                value.push_str(&whole[..p]);
                return Ok(RawValue {
                    value,
                    span: v0..next.start + p + q.len(),
                    quote,
                    next: next.next,
                    extra_lines,
                });
            }
            value.push_str(whole);
            at = next.next;
        }
    }
    let trimmed = text.trim_end();
    if let Some(head) = trimmed.strip_suffix('\\') {
        let mut value = head.to_string();
        let mut span_end = v0 + trimmed.len();
        let mut at = line.next;
        let mut extra_lines = 0;
        while at < src.len() {
            let next = line_at(src, at);
            at = next.next;
            extra_lines += 1;
            let body = &src[next.start..next.end];
            let piece = body.trim();
            if piece.is_empty() {
                break;
            }
            value.push_str(piece);
            span_end = next.start + (body.len() - body.trim_start().len()) + piece.len();
            if !value.ends_with('\\') {
                break;
            }
            value.pop();
        }
        return Ok(RawValue {
            value,
            span: v0..span_end,
            quote: Quote::Continued,
            next: at,
            extra_lines,
        });
    }
    let value = match trimmed.find(['#', ';']) {
        Some(i) => trimmed[..i].trim_end(),
        None => trimmed,
    };
    let span = v0..v0 + value.len();
    for q in ['\'', '"'] {
        if surrounded(value, q) {
            return Ok(simple(
                &value[1..value.len() - 1],
                span,
                Quote::Surrounded(q),
            ));
        }
    }
    Ok(simple(value, span, Quote::None))
}

/// ini.v1's `hasSurroundedQuote`: quotes at both ends and nowhere else.
fn surrounded(s: &str, q: char) -> bool {
    s.len() >= 2 && s.starts_with(q) && s.ends_with(q) && !s[1..s.len() - 1].contains(q)
}

/// ini.v1's `readKeyName` over a line that starts with its first non-space character: the key and
/// the offset just past its delimiter.
fn read_key(line: &str) -> Option<(String, usize)> {
    let quote = if line.starts_with("\"\"\"") && line.len() > 6 {
        Some("\"\"\"")
    } else if line.starts_with('"') {
        Some("\"")
    } else if line.starts_with('`') {
        Some("`")
    } else {
        None
    };
    if let Some(q) = quote {
        let start = q.len();
        let close = start + line[start..].find(q)?;
        let after = close + q.len();
        let delim = line[after..].find(['=', ':'])?;
        return Some((line[start..close].trim().to_string(), after + delim + 1));
    }
    let delim = line.find(['=', ':'])?;
    Some((line[..delim].trim().to_string(), delim + 1))
}

/// Whether `v` written bare after `key = ` reads back as `v`.
fn bare_ok(v: &str) -> bool {
    !v.contains(['\n', '\r', '#', ';'])
        && v.trim() == v
        && !surrounded(v, '"')
        && !surrounded(v, '\'')
        && !v.starts_with("\"\"\"")
        && !v.starts_with('`')
        && !v.ends_with('\\')
}

/// `v` written so that ini.v1 reads it back exactly (as ini.v1 itself quotes values).
fn quote_value(v: &str) -> String {
    if bare_ok(v) {
        v.to_string()
    } else if v.contains(['\n', '`']) {
        format!("\"\"\"{v}\"\"\"")
    } else if v.trim() != v && !v.contains(['"', '#', ';', '\r']) {
        format!("\"{v}\"")
    } else {
        format!("`{v}`")
    }
}

/// A quoted spelling of `v` (for a value that was quoted in the source).
fn quote_always(v: &str) -> String {
    if !v.contains(['`', '\n', '\r']) {
        format!("`{v}`")
    } else if !v.contains("\"\"\"") {
        format!("\"\"\"{v}\"\"\"")
    } else {
        quote_value(v)
    }
}

impl IniDocument {
    /// Parse INI text. A plaintext file is refused when one of its values could not be written
    /// back after decryption so that it reads the same: encrypting it would lose that value.
    pub fn parse(source: &str) -> Result<IniDocument, Error> {
        let doc = IniDocument::parse_source(source)?;
        if doc.metadata.is_none() {
            let mut own: Vec<Option<Replacement>> = doc
                .leaves
                .iter()
                .map(|leaf| match (&leaf.value, leaf.comment) {
                    (Value::Str(v), false) => Some(Replacement::Decrypted(super::Plaintext {
                        kind: ValueType::Str,
                        bytes: zeroize::Zeroizing::new(v.as_bytes().to_vec()),
                    })),
                    _ => None,
                })
                .collect();
            doc.render(&mut own, None)?;
        }
        Ok(doc)
    }

    fn parse_source(source: &str) -> Result<IniDocument, Error> {
        let mut leaves = Vec::new();
        let mut spans = Vec::new();
        let mut quotes = Vec::new();
        let mut blocks = Vec::new();
        let mut block = 0;
        let mut section = "DEFAULT".to_string();
        let mut keys: HashSet<String> = HashSet::new();
        let mut auto_count = 1;
        // Comment leaves waiting for the item they belong to (its section is their path).
        let mut pending: Vec<usize> = Vec::new();
        let mut in_sops = false;
        let mut sops_section: Option<Range<usize>> = None;
        let mut flat: Vec<(String, String)> = Vec::new();
        let mut at = if source.starts_with('\u{feff}') { 3 } else { 0 };
        let mut line_no = 0;
        while at < source.len() {
            let line = line_at(source, at);
            line_no += 1;
            at = line.next;
            let body = &source[line.start..line.end];
            let content = body.trim_start();
            let indent = body.len() - content.len();
            let column = body[..indent].chars().count() + 1;
            if content.trim_end().is_empty() {
                continue;
            }
            if content.starts_with(['#', ';']) {
                if in_sops {
                    continue;
                }
                let marks: &[char] = if content.starts_with(';') {
                    &[';', ' ']
                } else {
                    &['#', ' ']
                };
                let text = content.trim_start_matches(marks);
                let text = text.trim_end();
                if crate::document::envelope::is_encrypted(text) {
                    let start = line.start
                        + indent
                        + (content.len() - content.trim_start_matches(marks).len());
                    pending.push(leaves.len());
                    leaves.push(Leaf {
                        path: Vec::new(),
                        value: Value::Str(text.to_string()),
                        spelling: None,
                        comment: true,
                        line: line_no,
                    });
                    spans.push(start..start + text.len());
                    quotes.push(Quote::Comment);
                    blocks.push(block);
                }
                continue;
            }
            if content.starts_with('[') {
                let Some(close) = content.rfind(']') else {
                    return Err(syntax(
                        line_no,
                        column,
                        "a section header is not closed with ]",
                    ));
                };
                let name = &content[1..close];
                if name.is_empty() {
                    return Err(syntax(line_no, column, "empty section name"));
                }
                for i in pending.drain(..) {
                    leaves[i].path = vec![name.to_string()];
                }
                section = name.to_string();
                block += 1;
                keys.clear();
                auto_count = 1;
                in_sops = name == "sops";
                if in_sops {
                    sops_section = Some(line.start..line.next);
                }
                continue;
            }
            let Some((mut key, delim)) = read_key(content) else {
                return Err(syntax(
                    line_no,
                    column,
                    "expected key = value (no '=' or ':' on this line)",
                ));
            };
            if key.is_empty() {
                return Err(syntax(line_no, column, "empty key name"));
            }
            if key == "-" {
                key = format!("#{auto_count}");
                auto_count += 1;
            }
            let raw = read_value(source, line.start + indent + delim, &line, line_no)?;
            at = raw.next;
            let first_line = line_no;
            line_no += raw.extra_lines;
            if in_sops {
                flat.push((key, raw.value));
                if let Some(range) = &mut sops_section {
                    range.end = raw.next;
                }
                continue;
            }
            for i in pending.drain(..) {
                leaves[i].path = vec![section.clone()];
            }
            if !keys.insert(key.clone()) {
                let path = super::display_path(&[section.clone(), key]);
                return Err(syntax(first_line, column, &format!("duplicate key {path}")));
            }
            leaves.push(Leaf {
                path: vec![section.clone(), key],
                value: Value::Str(raw.value),
                spelling: None,
                comment: false,
                line: first_line,
            });
            spans.push(raw.span);
            quotes.push(raw.quote);
            blocks.push(block);
        }
        for i in pending.drain(..) {
            leaves[i].path = vec![section.clone()];
        }
        let metadata = sops_section.is_some().then(|| unflatten(&flat));
        Ok(IniDocument {
            source: zeroize::Zeroizing::new(source.to_string()),
            leaves,
            spans,
            quotes,
            blocks,
            sops_section,
            metadata,
        })
    }

    /// The bytes to delete to remove the `[sops]` section: the inverse of appending it.
    fn remove_sops(&self, section: &Range<usize>) -> Range<usize> {
        let src = &self.source;
        if src[section.end..].trim().is_empty() {
            // At the end: also the newline before the header (which ended the last line, or made
            // the blank line before the section).
            return section.start.saturating_sub(1)..src.len();
        }
        let start = if src[..section.start].ends_with("\n\n") {
            section.start - 1
        } else {
            section.start
        };
        start..section.end
    }
}

/// The `[sops]` section, `=` aligned as sops writes it.
fn sops_section_text(meta: &MetaValue) -> String {
    let flat = flatten(meta);
    let width = flat
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("[sops]\n");
    for (k, v) in flat {
        let pad = width - k.chars().count();
        out.push_str(&k);
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(" = ");
        out.push_str(&quote_value(&v));
        out.push('\n');
    }
    out
}

impl Document for IniDocument {
    fn format(&self) -> Format {
        Format::Ini
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
        // Each value's text once decrypted, to check it reads back the same.
        let mut decrypted: Vec<Option<zeroize::Zeroizing<String>>> = vec![None; self.leaves.len()];
        for (i, readback) in decrypted.iter_mut().enumerate() {
            let quote = self.quotes[i];
            let text = match &edits.take(i) {
                None => continue,
                Some(Replacement::Encrypted(enc)) => match quote {
                    Quote::Surrounded(q) => format!("{q}{enc}{q}"),
                    Quote::Triple => format!("\"\"\"{enc}\"\"\""),
                    Quote::Backtick => format!("`{enc}`"),
                    Quote::None | Quote::Continued | Quote::Comment => enc.clone(),
                },
                Some(Replacement::Decrypted(p)) => {
                    let v = p.text();
                    if p.kind != ValueType::Comment && quote != Quote::Comment {
                        *readback = Some(zeroize::Zeroizing::new(v.to_string()));
                    }
                    match quote {
                        _ if quote == Quote::Comment || p.kind == ValueType::Comment => {
                            v.into_owned()
                        }
                        Quote::Surrounded(q) if !v.contains([q, '#', ';', '\n', '\r']) => {
                            format!("{q}{v}{q}")
                        }
                        Quote::Triple if !v.contains("\"\"\"") => format!("\"\"\"{v}\"\"\""),
                        Quote::Backtick if !v.contains('`') => format!("`{v}`"),
                        // Text after a closing quote is not part of the value; a value that was
                        // quoted stays quoted, or that text would join it.
                        Quote::Surrounded(_) | Quote::Triple | Quote::Backtick => quote_always(&v),
                        _ => quote_value(&v),
                    }
                }
            };
            changes.push((self.spans[i].clone(), text));
        }
        if let Some(section) = &self.sops_section {
            changes.push((self.remove_sops(section), String::new()));
        }
        let mut out = splice(&self.source, changes);
        if decrypted.iter().any(Option::is_some) {
            self.check_reads_back(&out, &decrypted)?;
        }
        if let Some(meta) = metadata {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&sops_section_text(meta));
        }
        Ok(out.into_bytes())
    }
}

impl IniDocument {
    /// Some values cannot be written back in INI so that ini.v1 reads them the same (a value
    /// that needs quotes, followed on its line by text holding a quote): an error naming the key
    /// and line, never a silently different value.
    fn check_reads_back(
        &self,
        out: &str,
        decrypted: &[Option<zeroize::Zeroizing<String>>],
    ) -> Result<(), Error> {
        let again = IniDocument::parse_source(out).ok();
        let mut read = again
            .as_ref()
            .map(|d| d.leaves.iter().filter(|l| !l.comment).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter();
        for (leaf, want) in self.leaves.iter().zip(decrypted) {
            if leaf.comment {
                continue;
            }
            let got = read.next();
            let same = match (got, want) {
                (Some(got), Some(want)) => {
                    got.path == leaf.path
                        && matches!(&got.value, Value::Str(v) if v == want.as_str())
                }
                (Some(got), None) => got.path == leaf.path && got.value == leaf.value,
                (None, _) => false,
            };
            if !same {
                return Err(Error::Invalid {
                    format: Format::Ini,
                    message: format!(
                        "line {}: the value of {} cannot be written in INI so that it reads back \
                         the same (its quoting clashes with the rest of its line)",
                        leaf.line,
                        leaf.display_path()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A plaintext INI document as a tree: sections as maps of strings (`DEFAULT` when it has keys).
pub fn load_tree(source: &str) -> Result<Node, Error> {
    let doc = IniDocument::parse(source)?;
    let mut sections: Vec<(String, Node)> = Vec::new();
    let mut current_block = None;
    for (leaf, block) in doc.leaves.iter().zip(&doc.blocks) {
        let (false, Value::Str(value)) = (leaf.comment, &leaf.value) else {
            continue;
        };
        if current_block != Some(*block) {
            sections.push((leaf.path[0].clone(), Node::Map(Vec::new())));
            current_block = Some(*block);
        }
        if let Some((_, Node::Map(items))) = sections.last_mut() {
            items.push((leaf.path[1].clone(), Node::Str(value.clone())));
        }
    }
    Ok(Node::Map(sections))
}

/// Write a tree as INI: each top-level mapping a `[section]` of `key = value` lines (`DEFAULT`
/// first and without a header, as ini.v1 writes it).
pub fn emit_tree(node: &Node) -> Result<String, Error> {
    let Node::Map(sections) = node else {
        return Err(Error::Unsupported {
            format: Format::Ini,
            what: "only a mapping of sections can be written as INI".into(),
        });
    };
    let mut out = String::new();
    for (i, (name, section)) in sections.iter().enumerate() {
        let Node::Map(items) = section else {
            return Err(Error::AtPath {
                path: super::display_path(std::slice::from_ref(name)),
                message: "a top-level value must be a section (a mapping) to be written as INI"
                    .into(),
            });
        };
        if !out.is_empty() {
            out.push('\n');
        }
        if !(i == 0 && name == "DEFAULT") {
            out.push_str(&format!("[{name}]\n"));
        }
        for (k, v) in items {
            let text = v.scalar_text().ok_or_else(|| Error::AtPath {
                path: super::display_path(&[name.clone(), k.clone()]),
                message: "a nested value cannot be written as INI".into(),
            })?;
            out.push_str(k);
            out.push_str(" = ");
            out.push_str(&quote_value(&text));
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
