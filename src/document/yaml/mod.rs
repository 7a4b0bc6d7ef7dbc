//! YAML, as sops reads it (go-yaml v3 typing, aliases expanded, every document of a stream),
//! written back by splicing new scalar texts into the untouched source.
//!
//! Cases where byte-exactness yields to sops compatibility:
//! * an alias whose copy holds an encrypted value is replaced by an expanded flow copy
//!   (`{"k": "ENC[...]"}`): sops encrypts each copy under its own path, so an alias to
//!   ciphertext would not decrypt. When the alias ends its line, the copy is followed by a
//!   marker comment (`<<: {...} # secrets:alias *name`) and decryption writes the alias back
//!   when the copy's values equal its anchored node's; otherwise (an alias inside a flow
//!   collection, or values that no longer match) the copy stays expanded after decryption;
//! * a top-level flow mapping (`{...}`) gets the metadata as a last member in JSON form
//!   (`"sops": {"age": [...], ...}`), on its own line when the closing brace is;
//! * a folded block scalar (`>`) is encrypted as a plain `ENC[...]` and comes back as a literal
//!   block or a quoted string; double-quoted strings come back with minimal escaping;
//! * a timestamp (`2024-01-15`) comes back in sops's RFC 3339 form (`2024-01-15T00:00:00Z`);
//! * inside flow collections, a plain scalar is encrypted as `'ENC[...]'` and a single-quoted
//!   one comes back plain when it can be;
//! * a file without a final newline gets one before the appended `sops` block;
//! * flow content left of its block's indentation (a closing `]` at its key's column), which
//!   go-yaml accepts and saphyr does not, is parsed from a copy indented where needed, with
//!   every position mapped back to the source.

pub mod lines;
mod meta;
mod parse;
mod scalar;

use std::collections::HashSet;
use std::ops::Range;

use saphyr_parser::ScalarStyle;

use self::parse::{Kind, Parsed};
use self::scalar::{
    Resolved, atoi_matches, double_quoted, literal_block, parse_float_matches, plain_safe,
    resolve_plain, single_quoted, single_safe,
};
use super::tree::Node as TreeNode;
use super::{
    Document, Edits, Error, Format, Leaf, MetaValue, Replacement, Value, ValueType, splice,
};

/// Where a leaf is in the source.
#[derive(Clone, Debug)]
enum Site {
    /// A scalar node; `alias` is the outermost alias node it was reached through (the copy).
    Scalar {
        node: usize,
        alias: Option<usize>,
        base_col: usize,
    },
    /// The `ENC[...]` text of an encrypted comment (after the `#`).
    Comment(Range<usize>),
    /// A list item `- ENC[...,type:comment]` (how sops writes a comment inside a list).
    ItemComment(usize),
}

/// Where each document's `sops` block is, or would go.
#[derive(Clone, Debug)]
struct Block {
    /// An existing block: from the start of the `sops:` line to the end of its last line.
    existing: Option<Range<usize>>,
    insert_at: usize,
    /// Column of the top-level keys.
    indent: usize,
    /// The top-level mapping is in flow style (this node): the metadata is a member of it.
    flow: Option<usize>,
}

pub struct YamlDocument {
    /// The source text: for a plaintext file, every secret in it; wiped on drop.
    source: zeroize::Zeroizing<String>,
    parsed: Parsed,
    leaves: Vec<Leaf>,
    sites: Vec<Site>,
    /// For each alias node that was expanded: the range of leaf indices of its copy.
    alias_leaves: Vec<(usize, Range<usize>)>,
    /// Expanded alias copies carrying the marker comment (written when they were encrypted).
    marked: Vec<Marked>,
    /// For each node walked directly (not through an alias): the range of its leaves.
    node_leaves: Vec<Option<Range<usize>>>,
    metadata: Option<MetaValue>,
    blocks: Vec<Block>,
    step: usize,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid {
        format: Format::Yaml,
        message: message.into(),
    }
}

/// YAML allows only printable characters (YAML 1.2, 5.1), and go-yaml, so sops, refuses a file
/// holding any other ("control characters are not allowed"); saphyr lets some through, and
/// what we would write around them may not parse again.
fn refuse_control_characters(source: &str) -> Result<(), Error> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
            || c == '\u{FEFF}'
    };
    if source.is_ascii()
        && !source
            .bytes()
            .any(|b| b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r') || b == 0x7f)
    {
        return Ok(());
    }
    match source.char_indices().find(|&(_, c)| !printable(c)) {
        None => Ok(()),
        Some((at, _)) => {
            let line = source[..at].matches('\n').count() + 1;
            let column = source[..at].rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
            Err(Error::Syntax {
                format: Format::Yaml,
                line,
                column,
                message: "control characters are not allowed".into(),
            })
        }
    }
}

/// The comment written after an alias's expanded copy when it is encrypted (`<<: {...} #
/// secrets:alias *name`), so decryption can write the alias back.
const ALIAS_MARKER: &str = " # secrets:alias *";

/// Most nodes that aliases may expand to in one file: a "billion laughs" alias bomb (aliases of
/// aliases, each doubling the size) is refused instead of filling the memory. go-yaml refuses
/// excessive aliasing too.
const MAX_ALIAS_NODES: usize = 100_000;

fn alias_bomb(line: usize) -> Error {
    invalid(format!(
        "line {line}: aliases expand to more than {MAX_ALIAS_NODES} nodes"
    ))
}

fn too_deep(line: usize) -> Error {
    invalid(format!(
        "line {line}: nesting (with aliases expanded) is deeper than {} levels",
        parse::MAX_DEPTH
    ))
}

/// An expanded alias copy that carries the marker comment.
#[derive(Clone, Debug)]
struct Marked {
    /// The copy's node.
    copy: usize,
    /// The anchored node the alias named (the last one before the copy, in its document).
    target: Option<usize>,
    /// The marker comment, from the blank before its `#` to the end of the alias name.
    marker: Range<usize>,
    /// The alias as written (`*name`).
    alias: String,
}

/// Find the expanded alias copies followed by the marker comment.
fn find_marked(source: &str, parsed: &Parsed) -> Vec<Marked> {
    if !source.contains(ALIAS_MARKER) {
        return Vec::new();
    }
    // The outermost scalar or flow collection ending at each offset.
    let mut by_end: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (id, n) in parsed.nodes.iter().enumerate() {
        let copy_like = match n.kind {
            Kind::Scalar(_) => true,
            Kind::Seq(_) | Kind::Map(_) => n.flow && source[n.start..].starts_with(['[', '{']),
            Kind::Alias(_) => false,
        };
        if copy_like {
            by_end
                .entry(n.end)
                .and_modify(|e| {
                    if parsed.nodes[*e].start > n.start {
                        *e = id
                    }
                })
                .or_insert(id);
        }
    }
    let doc_of = |at: usize| {
        parsed
            .docs
            .iter()
            .position(|d| at < d.end)
            .unwrap_or(parsed.docs.len())
    };
    let mut out = Vec::new();
    for (m, _) in source.match_indices(ALIAS_MARKER) {
        let Some(&copy) = by_end.get(&m) else {
            continue;
        };
        let name_start = m + ALIAS_MARKER.len();
        let name_end = source[name_start..]
            .find([' ', '\t', '\r', '\n'])
            .map_or(source.len(), |i| name_start + i);
        let name = &source[name_start..name_end];
        if name.is_empty() {
            continue;
        }
        let start = parsed.nodes[copy].start;
        let target = parsed
            .anchors
            .iter()
            .rev()
            .find(|(n, id)| {
                n == name
                    && parsed.nodes[*id].start < start
                    && doc_of(parsed.nodes[*id].start) == doc_of(start)
            })
            .map(|&(_, id)| id);
        out.push(Marked {
            copy,
            target,
            marker: m..name_end,
            alias: format!("*{name}"),
        });
    }
    out
}

/// A comment anchor: a node start and the path a comment just before it belongs to.
struct Point {
    start: usize,
    path: Vec<String>,
    /// For a mapping key or a sequence item: the column of the key or of the item's dash.
    item_col: Option<usize>,
}

struct Walker<'a> {
    parsed: &'a Parsed,
    leaves: Vec<Leaf>,
    sites: Vec<Site>,
    alias_leaves: Vec<(usize, Range<usize>)>,
    node_leaves: Vec<Option<Range<usize>>>,
    points: Vec<Point>,
    /// Whether to record `points` (only needed to place encrypted comments, which a file
    /// without `type:comment]` cannot have).
    want_points: bool,
    alias_stack: Vec<usize>,
    /// Nodes visited through aliases so far, against [`MAX_ALIAS_NODES`].
    alias_nodes: usize,
    /// Current recursion depth, against [`parse::MAX_DEPTH`].
    depth: usize,
}

impl<'a> Walker<'a> {
    fn walk(
        &mut self,
        id: usize,
        path: &mut Vec<String>,
        alias: Option<usize>,
        base_col: usize,
        root: bool,
    ) -> Result<(), Error> {
        let line = self.parsed.nodes[id].line;
        if alias.is_some() {
            self.alias_nodes += 1;
            if self.alias_nodes > MAX_ALIAS_NODES {
                return Err(alias_bomb(line));
            }
        }
        // Collections nest MAX_DEPTH deep, and their scalars are one level further.
        if self.depth > parse::MAX_DEPTH {
            return Err(too_deep(line));
        }
        let first = self.leaves.len();
        self.depth += 1;
        let walked = self.walk_node(id, path, alias, base_col, root);
        self.depth -= 1;
        walked?;
        if alias.is_none() {
            self.node_leaves[id] = Some(first..self.leaves.len());
        }
        Ok(())
    }

    fn walk_node(
        &mut self,
        id: usize,
        path: &mut Vec<String>,
        alias: Option<usize>,
        base_col: usize,
        root: bool,
    ) -> Result<(), Error> {
        let node = &self.parsed.nodes[id];
        if alias.is_none() && self.want_points {
            self.points.push(Point {
                start: node.start,
                path: path.clone(),
                item_col: None,
            });
        }
        match &node.kind {
            Kind::Scalar(s) => {
                let (value, spelling) = typed(s).map_err(|message| Error::AtPath {
                    path: super::display_path(path),
                    message: format!("line {}: {message}", node.line),
                })?;
                let line = match alias {
                    Some(a) => self.parsed.nodes[a].line,
                    None => node.line,
                };
                self.leaves.push(Leaf {
                    path: path.clone(),
                    value,
                    spelling,
                    comment: false,
                    line,
                });
                self.sites.push(Site::Scalar {
                    node: id,
                    alias,
                    base_col,
                });
            }
            Kind::Seq(items) => {
                for &item in items {
                    let n = &self.parsed.nodes[item];
                    let col = n.col.saturating_sub(2);
                    if alias.is_none() && !n.flow && self.want_points {
                        self.points.push(Point {
                            start: n.start,
                            path: path.clone(),
                            item_col: Some(col),
                        });
                    }
                    // sops writes a comment inside a list as an item `- ENC[...,type:comment]`.
                    if let Kind::Scalar(s) = &n.kind
                        && alias.is_none()
                        && !n.flow
                        && s.style == ScalarStyle::Plain
                        && is_comment_enc(&s.value)
                    {
                        self.leaves.push(Leaf {
                            path: path.clone(),
                            value: Value::Str(s.value.clone()),
                            spelling: None,
                            comment: true,
                            line: n.line,
                        });
                        self.sites.push(Site::ItemComment(item));
                        continue;
                    }
                    self.walk(item, path, alias, col, false)?;
                }
            }
            Kind::Map(pairs) => {
                let mut seen: HashSet<&str> = HashSet::with_capacity(pairs.len());
                for &(k, v) in pairs {
                    let key = self.key_text(k, path)?;
                    if !seen.insert(key) {
                        path.push(key.to_string());
                        return Err(Error::AtPath {
                            path: super::display_path(path),
                            message: format!("line {}: duplicate key", self.parsed.nodes[k].line),
                        });
                    }
                    if alias.is_none() && self.want_points {
                        let n = &self.parsed.nodes[k];
                        self.points.push(Point {
                            start: n.start,
                            path: path.clone(),
                            item_col: Some(n.col),
                        });
                    }
                    if root && key == "sops" {
                        continue;
                    }
                    let key_col = self.parsed.nodes[k].col;
                    path.push(key.to_string());
                    self.walk(v, path, alias, key_col, false)?;
                    path.pop();
                }
            }
            Kind::Alias(target) => {
                if self.alias_stack.contains(target) {
                    return Err(Error::AtPath {
                        path: super::display_path(path),
                        message: format!("line {}: recursive alias", node.line),
                    });
                }
                self.alias_stack.push(*target);
                let first = self.leaves.len();
                self.walk(*target, path, Some(alias.unwrap_or(id)), base_col, false)?;
                self.alias_stack.pop();
                if alias.is_none() {
                    self.alias_leaves.push((id, first..self.leaves.len()));
                }
            }
        }
        Ok(())
    }

    fn key_text(&self, k: usize, path: &[String]) -> Result<&'a str, Error> {
        let mut id = k;
        let parsed: &'a Parsed = self.parsed;
        for _ in 0..64 {
            match &parsed.nodes[id].kind {
                Kind::Scalar(s) => return Ok(s.value.as_str()),
                Kind::Alias(t) => id = *t,
                _ => break,
            }
        }
        Err(Error::AtPath {
            path: super::display_path(path),
            message: format!(
                "line {}: a mapping key must be a scalar",
                self.parsed.nodes[k].line
            ),
        })
    }
}

/// Where the tag written before a scalar's text starting at `text_start` begins, and the anchor
/// to write again when it sat between the tag and the text (`!!binary &a x`); `text_start` when
/// there is no tag there.
fn tag_start(source: &str, text_start: usize) -> (usize, &str) {
    let bytes = source.as_bytes();
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let is_token = |b: u8| !is_space(b) && !matches!(b, b'[' | b'{' | b',');
    let mut end = text_start;
    let mut anchor = "";
    // Up to two properties before the text: a tag and an anchor, in either order.
    for _ in 0..2 {
        let mut at = end;
        while at > 0 && is_space(bytes[at - 1]) {
            at -= 1;
        }
        let token_end = at;
        while at > 0 && is_token(bytes[at - 1]) {
            at -= 1;
        }
        match bytes.get(at) {
            Some(b'!') if at < token_end => return (at, anchor),
            Some(b'&') if at < token_end && anchor.is_empty() => {
                anchor = &source[at..token_end];
                end = at;
            }
            _ => return (text_start, ""),
        }
    }
    (text_start, "")
}

fn is_comment_enc(s: &str) -> bool {
    crate::document::envelope::is_encrypted_comment(s)
}

/// A scalar as sops types it, and the spelling to encrypt when Go reads it as the same value.
fn typed(s: &parse::Scalar) -> Result<(Value, Option<String>), String> {
    let text = s.value.as_str();
    let resolved = match &s.tag {
        None if s.style == ScalarStyle::Plain => resolve_plain(text),
        None => Resolved::Str,
        Some(tag) if tag.handle == "tag:yaml.org,2002:" => {
            let want = tag.suffix.as_str();
            match want {
                "int" | "float" | "bool" | "null" | "timestamp" => {
                    let r = resolve_plain(text);
                    let ok = matches!(
                        (want, &r),
                        ("int", Resolved::Int(_))
                            | ("float", Resolved::Float(_))
                            | ("bool", Resolved::Bool(_))
                            | ("null", Resolved::Null)
                            | ("timestamp", Resolved::Time(_))
                    );
                    match (want, r) {
                        (_, r) if ok => r,
                        ("float", Resolved::Int(n)) => Resolved::Float(n as f64),
                        _ => return Err(format!("the value does not read as its !!{want} tag")),
                    }
                }
                "binary" => return binary(text).map(|decoded| (Value::Str(decoded), None)),
                _ => Resolved::Str,
            }
        }
        Some(_) => Resolved::Str,
    };
    from_resolved(resolved, text)
}

/// A `!!binary` scalar's value as go-yaml, so sops, reads it: the base64 text decoded (line
/// breaks skipped, as Go's decoder does).
fn binary(text: &str) -> Result<String, String> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| "the value does not read as its !!binary tag (base64)".to_string())?;
    String::from_utf8(bytes).map_err(|_| {
        "a !!binary value that is not UTF-8 text once decoded (sops would hash raw bytes there)"
            .to_string()
    })
}

/// The value and spelling of a scalar whose text `text` resolved to `resolved`.
fn from_resolved(resolved: Resolved, text: &str) -> Result<(Value, Option<String>), String> {
    Ok(match resolved {
        Resolved::Null => (Value::Null, None),
        Resolved::Bool(b) => (Value::Bool(b), Some(text.to_string())),
        Resolved::Int(n) => (
            Value::Int(n),
            atoi_matches(text, n).then(|| text.to_string()),
        ),
        Resolved::Uint => {
            return Err(
                "an integer above 9223372036854775807 (sops cannot walk uint64 values)".into(),
            );
        }
        Resolved::Float(f) => (
            Value::Float(f),
            parse_float_matches(text, f).then(|| text.to_string()),
        ),
        Resolved::Time(t) => (Value::Time(t), None),
        Resolved::Str => (Value::Str(text.to_string()), None),
    })
}

impl YamlDocument {
    pub fn parse(source: &str) -> Result<YamlDocument, Error> {
        if source.trim().is_empty() {
            return Err(Error::Empty);
        }
        refuse_control_characters(source)?;
        let parsed = parse::parse(source)?;
        if parsed.docs.is_empty() {
            return Err(Error::Empty);
        }
        let mut walker = Walker {
            parsed: &parsed,
            leaves: Vec::new(),
            sites: Vec::new(),
            alias_leaves: Vec::new(),
            node_leaves: vec![None; parsed.nodes.len()],
            points: Vec::new(),
            want_points: source.contains("type:comment]"),
            alias_stack: Vec::new(),
            alias_nodes: 0,
            depth: 0,
        };
        let mut blocks = Vec::new();
        let mut metadata = None;
        let mut doc_points = Vec::new();
        for (index, doc) in parsed.docs.iter().enumerate() {
            let root = &parsed.nodes[doc.root];
            let Kind::Map(pairs) = &root.kind else {
                return Err(invalid(format!(
                    "document {} (line {}, column {}): the top level must be a mapping, as sops requires",
                    index + 1,
                    root.line,
                    root.col + 1
                )));
            };
            let first_point = walker.points.len();
            walker.walk(doc.root, &mut Vec::new(), None, 0, true)?;
            doc_points.push(first_point..walker.points.len());
            let mut existing = None;
            for &(k, v) in pairs {
                if root.flow {
                    if index == 0
                        && matches!(&parsed.nodes[k].kind, Kind::Scalar(s) if s.value == "sops")
                    {
                        metadata = Some(meta::read(&parsed.nodes, v, 0));
                    }
                    continue;
                }
                if matches!(&parsed.nodes[k].kind, Kind::Scalar(s) if s.value == "sops") {
                    if index == 0 {
                        metadata = Some(meta::read(&parsed.nodes, v, 0));
                    }
                    let start = source[..parsed.nodes[k].start]
                        .rfind('\n')
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    let end = subtree_end(&parsed, v);
                    let end = match source[end..].find('\n') {
                        _ if end > 0 && source.as_bytes()[end - 1] == b'\n' => end,
                        Some(i) => end + i + 1,
                        None => source.len(),
                    };
                    existing = Some(start..end);
                }
            }
            blocks.push(Block {
                existing,
                insert_at: doc.end,
                // The keys' column: a tagged or anchored root (`!tag` on its own line) starts
                // left of its keys.
                // A byte order mark is not a column.
                indent: pairs
                    .first()
                    .map_or(root.col, |&(k, _)| parsed.nodes[k].col)
                    .saturating_sub(usize::from(
                        source.starts_with('\u{feff}')
                            && pairs
                                .first()
                                .map_or(root.line, |&(k, _)| parsed.nodes[k].line)
                                == 1,
                    )),
                flow: root.flow.then_some(doc.root),
            });
        }
        let step = indent_step(&parsed).unwrap_or(4);
        let Walker {
            mut leaves,
            mut sites,
            alias_leaves,
            node_leaves,
            points,
            ..
        } = walker;
        let metadata_blocks: Vec<Range<usize>> =
            blocks.iter().filter_map(|b| b.existing.clone()).collect();
        find_comments(
            source,
            &parsed,
            &points,
            &doc_points,
            &metadata_blocks,
            &mut leaves,
            &mut sites,
        );
        let marked = find_marked(source, &parsed);
        // In a plaintext file the marker would be read as ours after encryption, and decryption
        // would put an alias where the user's value was.
        if metadata.is_none()
            && let Some(m) = marked.first()
        {
            let line = source[..m.marker.start].matches('\n').count() + 1;
            return Err(invalid(format!(
                "line {line}: a comment `# secrets:alias *...` after a value is reserved for the \
                 aliases this tool expands when it encrypts; reword the comment"
            )));
        }
        Ok(YamlDocument {
            source: zeroize::Zeroizing::new(source.to_string()),
            parsed,
            leaves,
            sites,
            alias_leaves,
            marked,
            node_leaves,
            metadata,
            blocks,
            step,
        })
    }

    fn scalar(&self, node: usize) -> &parse::Scalar {
        match &self.parsed.nodes[node].kind {
            Kind::Scalar(s) => s,
            _ => unreachable!("a leaf site is a scalar"),
        }
    }

    /// The new text of a scalar leaf for an edit.
    ///
    /// A tag would change how readers type an `ENC[...]` string (`!!binary` makes sops decode
    /// it as base64, then fail the MAC): it is left out of the encrypted file, and the layout
    /// record restores it on decryption.
    fn render_scalar(
        &self,
        node: usize,
        base_col: usize,
        edit: &Replacement,
    ) -> (Range<usize>, String) {
        let (range, text) = self.render_scalar_text(node, base_col, edit);
        match (edit, &self.scalar(node).tag) {
            (Replacement::Encrypted(_), Some(_)) => match tag_start(&self.source, range.start) {
                (start, "") => (start..range.end, text),
                (start, anchor) => (start..range.end, format!("{anchor} {text}")),
            },
            _ => (range, text),
        }
    }

    /// [`Self::render_scalar`] without the tag.
    fn render_scalar_text(
        &self,
        node: usize,
        base_col: usize,
        edit: &Replacement,
    ) -> (Range<usize>, String) {
        let n = &self.parsed.nodes[node];
        let s = self.scalar(node);
        let src = &self.source;
        // Replace a block scalar (header to end of content) by a one-line scalar.
        let inline = |text: String| -> (Range<usize>, String) {
            let b = s.block.as_ref().expect("a block scalar");
            let mut out = text;
            out.push_str(&src[b.header.end..b.header_line_end]);
            if b.content.end > b.header_line_end {
                out.push('\n');
            }
            (b.header.start..b.content.end, out)
        };
        let block_style = matches!(s.style, ScalarStyle::Literal | ScalarStyle::Folded);
        match edit {
            Replacement::Encrypted(enc) => match s.style {
                ScalarStyle::Plain if n.flow => (s.text.clone(), single_quoted(enc)),
                ScalarStyle::Plain => (s.text.clone(), enc.clone()),
                ScalarStyle::SingleQuoted => (s.text.clone(), single_quoted(enc)),
                ScalarStyle::DoubleQuoted => (s.text.clone(), double_quoted(enc)),
                ScalarStyle::Literal => {
                    let b = s.block.as_ref().expect("a block scalar");
                    if b.content.is_empty() {
                        return inline(enc.clone());
                    }
                    // Strip chomping (`|-`), so the value reads as `ENC[...]` without the line
                    // break that clip or keep chomping would add.
                    let mut text = String::from("|");
                    if let Some(d) = b.indicator {
                        text.push((b'0' + d) as char);
                    }
                    text.push('-');
                    text.push_str(&src[b.header.end..b.header_line_end]);
                    text.push('\n');
                    text.push_str(&" ".repeat(b.indent));
                    text.push_str(enc);
                    if src[..b.content.end].ends_with('\n') {
                        text.push('\n');
                    }
                    (b.header.start..b.content.end, text)
                }
                ScalarStyle::Folded => inline(enc.clone()),
            },
            Replacement::Decrypted(p) => {
                let text = p.text();
                match p.kind {
                    ValueType::Str | ValueType::Bytes | ValueType::Comment => {
                        let st = text.as_ref();
                        if block_style {
                            let b = s.block.as_ref().expect("a block scalar");
                            if let Some((chomp, body)) =
                                literal_block(st, b.indent, b.chomp, b.indicator.is_some())
                            {
                                let mut out = String::from("|");
                                if let Some(d) = b.indicator {
                                    out.push((b'0' + d) as char);
                                }
                                if chomp != ' ' {
                                    out.push(chomp);
                                }
                                out.push_str(&src[b.header.end..b.header_line_end]);
                                out.push('\n');
                                out.push_str(&body);
                                return (b.header.start..b.content.end, out);
                            }
                            return inline(double_quoted(st));
                        }
                        let written = match s.style {
                            ScalarStyle::Plain if plain_safe(st, n.flow) => st.to_string(),
                            ScalarStyle::Plain
                                if s.tag.is_some() && scalar::plain_text_safe(st, n.flow) =>
                            {
                                st.to_string()
                            }
                            ScalarStyle::Plain => {
                                if let Some(r) = self.plain_to_literal(s, base_col, st) {
                                    return r;
                                }
                                double_quoted(st)
                            }
                            ScalarStyle::SingleQuoted if n.flow && plain_safe(st, true) => {
                                st.to_string()
                            }
                            ScalarStyle::SingleQuoted if single_safe(st) => single_quoted(st),
                            _ => double_quoted(st),
                        };
                        (s.text.clone(), written)
                    }
                    _ => {
                        let t = match (p.kind, text.as_ref()) {
                            (ValueType::Float, "+Inf" | "Inf") => ".inf".to_string(),
                            (ValueType::Float, "-Inf") => "-.inf".to_string(),
                            (ValueType::Float, "NaN") => ".nan".to_string(),
                            (_, t) => t.to_string(),
                        };
                        if block_style {
                            inline(t)
                        } else {
                            (s.text.clone(), t)
                        }
                    }
                }
            }
        }
    }

    /// The `sops` member of a top-level flow mapping (`{...}`): its value replaced; or added as
    /// the last member, in JSON form, before the closing brace in the mapping's layout (on its
    /// own line with the members' indentation when the brace is on its own line, keeping an
    /// existing trailing comma); or removed, the exact inverse of adding it.
    fn flow_member(
        &self,
        root: usize,
        metadata: Option<&MetaValue>,
        changes: &mut Vec<(Range<usize>, String)>,
    ) -> Result<(), Error> {
        let src = self.source.as_str();
        let b = src.as_bytes();
        let nodes = &self.parsed.nodes;
        let node = &nodes[root];
        let Kind::Map(pairs) = &node.kind else {
            return Ok(());
        };
        let close = node.end.saturating_sub(1);
        if b.get(close) != Some(&b'}') || b.get(node.start) != Some(&b'{') {
            return Err(invalid(format!(
                "line {}: could not locate the braces of the top-level flow mapping",
                node.line
            )));
        }
        let is_sops = |k: usize| matches!(&nodes[k].kind, Kind::Scalar(s) if s.value == "sops");
        let member_end =
            |(k, v): (usize, usize)| subtree_end(&self.parsed, k).max(subtree_end(&self.parsed, v));
        let line_start = |at: usize| src[..at].rfind('\n').map_or(0, |i| i + 1);
        let skip_spaces = |mut at: usize| {
            while at < b.len() && matches!(b[at], b' ' | b'\t') {
                at += 1;
            }
            at
        };
        if let Some(i) = pairs.iter().position(|&(k, _)| is_sops(k)) {
            let (k, v) = pairs[i];
            let v_end = subtree_end(&self.parsed, v);
            if let Some(meta) = metadata {
                changes.push((nodes[v].start..v_end, meta::write_flow(meta)));
                return Ok(());
            }
            let prev_end = if i > 0 {
                member_end(pairs[i - 1])
            } else {
                node.start + 1
            };
            let k_start = nodes[k].start;
            let after = skip_spaces(v_end);
            let comma = b.get(after) == Some(&b',');
            let after_comma = if comma { after + 1 } else { after };
            let rest = skip_spaces(after_comma);
            let own_line = src[line_start(k_start)..k_start].trim().is_empty()
                && (rest == b.len() || matches!(b[rest], b'\n' | b'\r'));
            if own_line {
                // `  "sops": {...},` on its own line; without its comma, the comma added after
                // the member before it goes too.
                let end = src[rest..].find('\n').map_or(b.len(), |j| rest + j + 1);
                if !comma && i > 0 && b.get(prev_end) == Some(&b',') {
                    changes.push((prev_end..prev_end + 1, String::new()));
                }
                changes.push((line_start(k_start)..end, String::new()));
            } else if comma {
                // `, "sops": {...},` after an existing comma.
                let start = if k_start > 0 && b[k_start - 1] == b' ' {
                    k_start - 1
                } else {
                    k_start
                };
                changes.push((start..after_comma, String::new()));
            } else {
                // `a: 1, "sops": {...}}`
                changes.push((prev_end..v_end, String::new()));
            }
            return Ok(());
        }
        let Some(meta) = metadata else { return Ok(()) };
        let member = format!("\"sops\": {}", meta::write_flow(meta));
        let last = pairs.last().copied();
        let prev_end = last.map_or(node.start + 1, member_end);
        // The first thing after the last member (skipping blanks and comments): its comma, if any.
        let mut at = prev_end;
        while at < close {
            match b[at] {
                b' ' | b'\t' | b'\r' | b'\n' => at += 1,
                b'#' => at = src[at..close].find('\n').map_or(close, |j| at + j),
                _ => break,
            }
        }
        let comma = last.is_some() && at < close && b[at] == b',';
        let close_line = line_start(close);
        if close_line > prev_end && src[close_line..close].trim().is_empty() {
            let indent = match last {
                Some((k, _))
                    if src[line_start(nodes[k].start)..nodes[k].start]
                        .trim()
                        .is_empty() =>
                {
                    src[line_start(nodes[k].start)..nodes[k].start].to_string()
                }
                _ => format!("{}{}", &src[close_line..close], " ".repeat(self.step)),
            };
            let eol = if src[..close_line].ends_with("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            if !comma && last.is_some() {
                changes.push((prev_end..prev_end, ",".to_string()));
            }
            let trailing = if comma { "," } else { "" };
            changes.push((
                close_line..close_line,
                format!("{indent}{member}{trailing}{eol}"),
            ));
        } else if comma {
            changes.push((at + 1..at + 1, format!(" {member},")));
        } else if last.is_some() {
            changes.push((prev_end..prev_end, format!(", {member}")));
        } else {
            changes.push((prev_end..prev_end, member));
        }
        Ok(())
    }

    /// A plain one-line scalar in block context, alone at the end of its line, rewritten as a
    /// literal block (for a decrypted multi-line string).
    fn plain_to_literal(
        &self,
        s: &parse::Scalar,
        base_col: usize,
        value: &str,
    ) -> Option<(Range<usize>, String)> {
        if !value.contains('\n') {
            return None;
        }
        let src = &self.source;
        let rest_end = src[s.text.end..].find('\n').map(|i| s.text.end + i + 1)?;
        if !src[s.text.end..rest_end].trim().is_empty() || src[s.text.clone()].contains('\n') {
            return None;
        }
        let (chomp, body) = literal_block(value, base_col + self.step, ' ', false)?;
        let mut out = String::from("|");
        if chomp != ' ' {
            out.push(chomp);
        }
        out.push('\n');
        out.push_str(&body);
        Some((s.text.start..rest_end, out))
    }

    /// The marked alias copies to write back as their alias: (the copy's leaves, the text from
    /// the copy to the end of its marker, the alias). A copy is restored when at least one of its
    /// values was decrypted and its content equals that of its anchored node, value for value.
    fn restored(&self, edits: &[Option<Replacement>]) -> Vec<(Range<usize>, Range<usize>, String)> {
        let mut out = Vec::new();
        let mut done = 0;
        for m in &self.marked {
            let Some(target) = m.target else { continue };
            let (Some(c), Some(t)) = (
                self.node_leaves[m.copy].clone(),
                self.node_leaves[target].clone(),
            ) else {
                continue;
            };
            let start = self.parsed.nodes[m.copy].start;
            if start < done
                || c.is_empty()
                || c.len() != t.len()
                || c.end > edits.len()
                || t.end > edits.len()
            {
                continue;
            }
            if !edits[c.clone()]
                .iter()
                .any(|e| matches!(e, Some(Replacement::Decrypted(_))))
            {
                continue;
            }
            if !self.same_shape(m.copy, target, 0)
                || !c.clone().zip(t).all(|(a, b)| self.same_value(a, b, edits))
            {
                continue;
            }
            done = m.marker.end;
            out.push((c, start..m.marker.end, m.alias.clone()));
        }
        out
    }

    /// Whether two nodes have the same structure and keys (aliases followed).
    fn same_shape(&self, a: usize, b: usize, depth: usize) -> bool {
        let resolve = |mut id: usize| {
            for _ in 0..64 {
                match self.parsed.nodes[id].kind {
                    Kind::Alias(t) => id = t,
                    _ => break,
                }
            }
            id
        };
        if depth > 256 {
            return false;
        }
        let key = |id: usize| match &self.parsed.nodes[resolve(id)].kind {
            Kind::Scalar(s) => Some(s.value.as_str()),
            _ => None,
        };
        match (
            &self.parsed.nodes[resolve(a)].kind,
            &self.parsed.nodes[resolve(b)].kind,
        ) {
            (Kind::Scalar(_), Kind::Scalar(_)) => true,
            (Kind::Seq(x), Kind::Seq(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|(&i, &j)| self.same_shape(i, j, depth + 1))
            }
            (Kind::Map(x), Kind::Map(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|(&(ka, va), &(kb, vb))| {
                        key(ka).is_some()
                            && key(ka) == key(kb)
                            && self.same_shape(va, vb, depth + 1)
                    })
            }
            _ => false,
        }
    }

    /// Whether leaves `a` and `b` come out of `edits` with the same value.
    fn same_value(&self, a: usize, b: usize, edits: &[Option<Replacement>]) -> bool {
        match (&edits[a], &edits[b]) {
            (Some(Replacement::Decrypted(p)), Some(Replacement::Decrypted(q))) => {
                p.kind == q.kind && *p.bytes == *q.bytes
            }
            (None, None) => self.leaves[a].value == self.leaves[b].value,
            (Some(Replacement::Decrypted(p)), None) => plaintext_is(p, &self.leaves[b].value),
            (None, Some(Replacement::Decrypted(q))) => plaintext_is(q, &self.leaves[a].value),
            _ => false,
        }
    }

    /// An aliased subtree written out in flow style, with the edits of its copy applied.
    fn flow_copy(
        &self,
        id: usize,
        edits: &mut std::slice::Iter<'_, Option<Replacement>>,
        depth: usize,
    ) -> String {
        debug_assert!(depth < 10_000, "alias expansion too deep");
        let node = &self.parsed.nodes[id];
        match &node.kind {
            Kind::Scalar(s) => {
                let edit = edits.next().and_then(|e| e.as_ref());
                let (value, _) = typed(s).unwrap_or((Value::Str(s.value.clone()), None));
                match edit {
                    Some(Replacement::Encrypted(enc)) => double_quoted(enc),
                    Some(Replacement::Decrypted(p)) => match p.kind {
                        ValueType::Str | ValueType::Bytes | ValueType::Comment => {
                            double_quoted(&p.text())
                        }
                        _ => p.text().into_owned(),
                    },
                    None => match &value {
                        Value::Null => "null".into(),
                        Value::Str(v) => double_quoted(v),
                        _ => s.value.clone(),
                    },
                }
            }
            Kind::Seq(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|&i| self.flow_copy(i, edits, depth + 1))
                    .collect();
                format!("[{}]", parts.join(", "))
            }
            Kind::Map(pairs) => {
                let parts: Vec<String> = pairs
                    .iter()
                    .map(|&(k, v)| {
                        let key = match &self.parsed.nodes[k].kind {
                            Kind::Scalar(s) => s.value.clone(),
                            Kind::Alias(t) => match &self.parsed.nodes[*t].kind {
                                Kind::Scalar(s) => s.value.clone(),
                                _ => String::new(),
                            },
                            _ => String::new(),
                        };
                        format!(
                            "{}: {}",
                            double_quoted(&key),
                            self.flow_copy(v, edits, depth + 1)
                        )
                    })
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Kind::Alias(t) => self.flow_copy(*t, edits, depth + 1),
        }
    }
}

/// Whether a decrypted plaintext is `value` (one copy of an alias encrypted, the other not).
fn plaintext_is(p: &super::Plaintext, value: &Value) -> bool {
    let text = || std::str::from_utf8(&p.bytes).ok();
    match (p.kind, value) {
        (ValueType::Str, Value::Str(s)) | (ValueType::Time, Value::Time(s)) => {
            *p.bytes == *s.as_bytes()
        }
        (ValueType::Int, Value::Int(n)) => {
            text().and_then(crate::document::scalar::parse_int_literal) == Some(*n)
        }
        (ValueType::Bool, Value::Bool(b)) => {
            text().and_then(crate::document::scalar::go_parse_bool) == Some(*b)
        }
        (ValueType::Float, Value::Float(f)) => {
            text().and_then(crate::document::scalar::parse_go_float) == Some(*f)
        }
        _ => false,
    }
}

/// The end of a node's text, including all its descendants.
fn subtree_end(parsed: &Parsed, id: usize) -> usize {
    let n = &parsed.nodes[id];
    let mut end = n.end;
    match &n.kind {
        Kind::Seq(items) => {
            for &i in items {
                end = end.max(subtree_end(parsed, i));
            }
        }
        Kind::Map(pairs) => {
            for &(k, v) in pairs {
                end = end.max(subtree_end(parsed, k)).max(subtree_end(parsed, v));
            }
        }
        _ => {}
    }
    end
}

/// The indentation step: the first block mapping nested in a block mapping.
fn indent_step(parsed: &Parsed) -> Option<usize> {
    for n in &parsed.nodes {
        if let Kind::Map(pairs) = &n.kind {
            if n.flow {
                continue;
            }
            for &(k, v) in pairs {
                let child = &parsed.nodes[v];
                if let Kind::Map(_) = child.kind {
                    let key = &parsed.nodes[k];
                    if !child.flow && child.line > key.line && child.col > key.col {
                        return Some(child.col - key.col);
                    }
                }
            }
        }
    }
    None
}

/// Find `#ENC[...]` comments (outside every scalar) and add them as comment leaves.
fn find_comments(
    source: &str,
    parsed: &Parsed,
    points: &[Point],
    doc_points: &[Range<usize>],
    metadata_blocks: &[Range<usize>],
    leaves: &mut Vec<Leaf>,
    sites: &mut Vec<Site>,
) {
    if !source.contains("#ENC[") {
        return;
    }
    let mut taken: Vec<Range<usize>> = parsed
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            Kind::Scalar(s) => Some(s.text.clone()),
            _ => None,
        })
        .collect();
    taken.sort_by_key(|r| r.start);
    let b = source.as_bytes();
    let mut ti = 0;
    let mut i = 0;
    while i < b.len() {
        while ti < taken.len() && taken[ti].end <= i {
            ti += 1;
        }
        if ti < taken.len() && taken[ti].start <= i {
            i = taken[ti].end.max(i + 1);
            continue;
        }
        // A comment inside the `sops` block is part of the metadata, which is rewritten whole.
        if let Some(block) = metadata_blocks.iter().find(|r| r.contains(&i)) {
            i = block.end;
            continue;
        }
        if b[i] == b'#' && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r')) {
            let end = source[i..]
                .find('\n')
                .map(|k| i + k)
                .unwrap_or(source.len());
            let text_end = if end > i && b[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let text = &source[i + 1..text_end];
            if crate::document::envelope::is_encrypted(text) {
                let line_start = source[..i].rfind('\n').map(|k| k + 1).unwrap_or(0);
                let own_line = source[line_start..i].trim().is_empty();
                let doc = parsed
                    .docs
                    .iter()
                    .position(|d| i < d.end)
                    .unwrap_or(parsed.docs.len().saturating_sub(1));
                let pts = doc_points
                    .get(doc)
                    .map(|r| &points[r.clone()])
                    .unwrap_or(&[]);
                let col = source[line_start..i].chars().count();
                let deepest = |start: usize| {
                    pts.iter()
                        .filter(|p| p.start == start)
                        .max_by_key(|p| p.path.len())
                        .map(|p| p.path.clone())
                };
                let path = if own_line {
                    // A comment belongs with the next item at its indentation; a comment
                    // indented deeper than the next item trails the block above it.
                    let next = pts
                        .iter()
                        .filter(|p| p.start > i && p.item_col.is_some())
                        .min_by_key(|p| p.start);
                    match next {
                        Some(n) if n.item_col.unwrap_or(0) >= col => {
                            deepest(n.start).unwrap_or_default()
                        }
                        _ => pts
                            .iter()
                            .filter(|p| p.start < i && p.item_col.is_some_and(|c| c <= col))
                            .max_by_key(|p| p.start)
                            .map(|p| p.path.clone())
                            .unwrap_or_default(),
                    }
                } else {
                    let prev = pts.iter().filter(|p| p.start < i).map(|p| p.start).max();
                    prev.and_then(deepest).unwrap_or_default()
                };
                let line = source[..i].matches('\n').count() + 1;
                leaves.push(Leaf {
                    path,
                    value: Value::Str(text.to_string()),
                    spelling: None,
                    comment: true,
                    line,
                });
                sites.push(Site::Comment(i + 1..text_end));
            }
            i = end;
            continue;
        }
        i += 1;
    }
}

impl Document for YamlDocument {
    fn format(&self) -> Format {
        Format::Yaml
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
        // Alias copies need their leaves' edits again when an alias is expanded, so take them all.
        let edits: Vec<Option<Replacement>> =
            (0..self.leaves.len()).map(|i| edits.take(i)).collect();
        let edits = &edits[..];
        let mut changes: Vec<(Range<usize>, String)> = Vec::new();
        // Decrypted alias copies that match their anchored node are written back as the alias.
        let restored = self.restored(edits);
        let mut skip = vec![
            false;
            if restored.is_empty() {
                0
            } else {
                self.leaves.len()
            }
        ];
        for (leaves, text, alias) in &restored {
            skip[leaves.clone()].fill(true);
            changes.push((text.clone(), alias.clone()));
        }
        // A decrypted copy that stays expanded loses its marker.
        for m in &self.marked {
            let decrypted = self.node_leaves[m.copy].clone().is_some_and(|c| {
                edits.get(c).is_some_and(|e| {
                    e.iter()
                        .any(|e| matches!(e, Some(Replacement::Decrypted(_))))
                })
            });
            if decrypted && !restored.iter().any(|(_, text, _)| text.end == m.marker.end) {
                changes.push((m.marker.clone(), String::new()));
            }
        }
        for (i, (site, edit)) in self.sites.iter().zip(edits).enumerate() {
            let Some(edit) = edit else { continue };
            if skip.get(i) == Some(&true) {
                continue;
            }
            match site {
                Site::Scalar { alias: Some(_), .. } => {}
                Site::Scalar {
                    node,
                    base_col,
                    alias: None,
                } => changes.push(self.render_scalar(*node, *base_col, edit)),
                Site::ItemComment(node) => {
                    let n = &self.parsed.nodes[*node];
                    let text = match edit {
                        Replacement::Encrypted(enc) => enc.clone(),
                        Replacement::Decrypted(p) => format!("#{}", p.text().replace('\n', " ")),
                    };
                    let before = self.source[..n.start].trim_end_matches([' ', '\t']);
                    let start =
                        if matches!(edit, Replacement::Decrypted(_)) && before.ends_with('-') {
                            before.len() - 1
                        } else {
                            n.start
                        };
                    changes.push((start..n.end, text));
                }
                Site::Comment(range) => {
                    let text = match edit {
                        Replacement::Encrypted(enc) => enc.clone(),
                        Replacement::Decrypted(p) => p.text().replace('\n', " "),
                    };
                    changes.push((range.clone(), text));
                }
            }
        }
        for (alias, range) in &self.alias_leaves {
            let slice = &edits[range.start.min(edits.len())..range.end.min(edits.len())];
            if slice.iter().any(Option::is_some) {
                let Kind::Alias(target) = self.parsed.nodes[*alias].kind else {
                    continue;
                };
                let n = &self.parsed.nodes[*alias];
                if restored.iter().any(|(_, text, _)| text.contains(&n.start)) {
                    continue;
                }
                let mut text = self.flow_copy(target, &mut slice.iter(), 0);
                // Mark an encrypted copy that ends its line, so decryption can restore the alias.
                let written = &self.source[n.start..n.end];
                let line_end = self.source[n.end..]
                    .find('\n')
                    .map_or(self.source.len(), |i| n.end + i);
                let rest = self.source[n.end..line_end].trim_start_matches([' ', '\t']);
                let ends_line = rest.is_empty()
                    || rest == "\r"
                    || (rest.starts_with('#')
                        && n.end < line_end
                        && matches!(self.source.as_bytes()[n.end], b' ' | b'\t'));
                if ends_line
                    && written.len() > 1
                    && written.starts_with('*')
                    && slice
                        .iter()
                        .any(|e| matches!(e, Some(Replacement::Encrypted(_))))
                {
                    text.push_str(ALIAS_MARKER);
                    text.push_str(&written[1..]);
                }
                changes.push((n.start..n.end, text));
            }
        }
        for block in &self.blocks {
            if let Some(root) = block.flow {
                self.flow_member(root, metadata, &mut changes)?;
                continue;
            }
            let text = match metadata {
                Some(meta) => meta::write(meta, block.indent, self.step),
                None => String::new(),
            };
            match &block.existing {
                Some(range) => changes.push((range.clone(), text)),
                None if !text.is_empty() => {
                    let at = block.insert_at;
                    let lead = if at > 0 && !self.source[..at].ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    changes.push((at..at, format!("{lead}{text}")));
                }
                None => {}
            }
        }
        Ok(splice(&self.source, changes).into_bytes())
    }
}

/// A plaintext YAML document (the first of a stream) as a tree.
pub fn load_tree(source: &str) -> Result<TreeNode, Error> {
    let parsed = parse::parse(source)?;
    let doc = parsed.docs.first().ok_or(Error::Empty)?;
    let mut budget = parsed.nodes.len() + MAX_ALIAS_NODES;
    to_tree(&parsed, doc.root, 0, &mut budget)
}

/// The tree of node `id`; `budget` counts down the nodes still allowed (aliases expanded).
fn to_tree(
    parsed: &Parsed,
    id: usize,
    depth: usize,
    budget: &mut usize,
) -> Result<TreeNode, Error> {
    let node = &parsed.nodes[id];
    if depth > parse::MAX_DEPTH {
        return Err(too_deep(node.line));
    }
    *budget = budget.checked_sub(1).ok_or_else(|| alias_bomb(node.line))?;
    Ok(match &node.kind {
        Kind::Scalar(s) => match &mut typed(s)
            .map_err(|m| invalid(format!("line {}: {m}", node.line)))?
            .0
        {
            Value::Null => TreeNode::Null,
            Value::Bool(b) => TreeNode::Bool(*b),
            Value::Int(n) => TreeNode::Int(*n),
            Value::Float(f) => TreeNode::Float(*f),
            Value::Time(t) | Value::Str(t) => TreeNode::Str(std::mem::take(t)),
            Value::Bytes(b) => TreeNode::Str(String::from_utf8_lossy(b).into_owned()),
        },
        Kind::Seq(items) => TreeNode::List(
            items
                .iter()
                .map(|&i| to_tree(parsed, i, depth + 1, budget))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map(pairs) => {
            let mut out = Vec::new();
            for &(k, v) in pairs {
                let key = match &mut to_tree(parsed, k, depth + 1, budget)? {
                    TreeNode::Map(_) | TreeNode::List(_) => {
                        return Err(invalid(format!(
                            "line {}: a mapping key must be a scalar",
                            parsed.nodes[k].line
                        )));
                    }
                    TreeNode::Str(s) => std::mem::take(s),
                    other => other.scalar_text().unwrap_or_default(),
                };
                out.push((key, to_tree(parsed, v, depth + 1, budget)?));
            }
            TreeNode::Map(out)
        }
        Kind::Alias(t) => to_tree(parsed, *t, depth + 1, budget)?,
    })
}

/// Write a tree as block-style YAML with a 2-space indent.
/// Write a tree as sops writes YAML (go-yaml v3 with an indent of 4).
pub fn emit_tree(node: &TreeNode) -> String {
    emit_tree_indent(node, 4)
}

/// Write a tree as go-yaml v3 does with `best` as its indent (sops's `--indent`): a collection
/// under a key starts at the next multiple of `best` past its parent's column; one inside a list
/// item starts just past the "- ".
pub fn emit_tree_indent(node: &TreeNode, best: usize) -> String {
    let best = best.max(1);
    let mut out = String::new();
    match node {
        TreeNode::Map(items) if !items.is_empty() => emit_map(&mut out, items, 0, best),
        TreeNode::List(items) if !items.is_empty() => emit_list(&mut out, items, 0, best),
        scalar => {
            out.push_str(&emit_scalar(scalar, 0));
            out.push('\n');
        }
    }
    out
}

/// A string as go-yaml v3 writes it: plain where that reads back as the same string, and
/// quoted too where YAML 1.1 would read a boolean (`n`, `yes`, `off`...) or a base-60 number
/// (`1:20`), for older parsers.
fn go_string(s: &str) -> String {
    const OLD_BOOLS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
        "OFF",
    ];
    let base60 = {
        let t = s.trim_start_matches(['-', '+']);
        t.contains(':')
            && t.starts_with(|c: char| c.is_ascii_digit())
            && t.split(':').skip(1).all(|part| {
                let whole = part.split('.').next().unwrap_or("");
                !whole.is_empty() && whole.len() <= 2 && whole.bytes().all(|b| b.is_ascii_digit())
            })
            && t.split(':')
                .next()
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
    };
    if OLD_BOOLS.contains(&s) || base60 {
        double_quoted(s)
    } else {
        scalar::block_string(s)
    }
}

/// The column of a collection under a key of a mapping at column `indent`.
fn under_key(indent: usize, best: usize) -> usize {
    best * ((indent + best) / best)
}

fn emit_scalar(node: &TreeNode, indent: usize) -> String {
    match node {
        TreeNode::Null => "null".into(),
        TreeNode::Bool(b) => b.to_string(),
        TreeNode::Int(n) => n.to_string(),
        TreeNode::Float(f) if f.is_nan() => ".nan".into(),
        TreeNode::Float(f) if f.is_infinite() => (if *f > 0.0 { ".inf" } else { "-.inf" }).into(),
        TreeNode::Float(f) => {
            let t = crate::document::scalar::go_format_float(*f);
            if t.contains(['.', 'e']) {
                t
            } else {
                format!("{t}.0")
            }
        }
        TreeNode::Str(s) if s.contains('\n') => match literal_block(s, indent, ' ', false) {
            Some((chomp, body)) => {
                let mut out = String::from("|");
                if chomp != ' ' {
                    out.push(chomp);
                }
                out.push('\n');
                out.push_str(body.strip_suffix('\n').unwrap_or(&body));
                out
            }
            None => double_quoted(s),
        },
        TreeNode::Str(s) if s.is_empty() => "\"\"".into(),
        TreeNode::Str(s) => go_string(s),
        TreeNode::List(_) => "[]".into(),
        TreeNode::Map(_) => "{}".into(),
    }
}

fn emit_map(out: &mut String, items: &[(String, TreeNode)], indent: usize, best: usize) {
    let child = under_key(indent, best);
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.push_str(&if k.is_empty() {
            "\"\"".to_string()
        } else {
            go_string(k)
        });
        out.push(':');
        match v {
            TreeNode::Map(m) if !m.is_empty() => {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', child));
                emit_map(out, m, child, best);
            }
            TreeNode::List(l) if !l.is_empty() => {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', child));
                emit_list(out, l, child, best);
            }
            s => {
                out.push(' ');
                out.push_str(&emit_scalar(s, child));
                out.push('\n');
            }
        }
    }
}

fn emit_list(out: &mut String, items: &[TreeNode], indent: usize, best: usize) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.push_str("- ");
        match v {
            TreeNode::Map(m) if !m.is_empty() => emit_map(out, m, indent + 2, best),
            TreeNode::List(l) if !l.is_empty() => emit_list(out, l, indent + 2, best),
            s => {
                out.push_str(&emit_scalar(s, indent + 2));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests;
