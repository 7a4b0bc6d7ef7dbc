//! YAML source → a node arena with exact byte ranges, from saphyr-parser's spanned events.
//!
//! saphyr's markers count characters, so every marker is converted to a byte offset. Its spans
//! include a scalar's anchor and tag, may run past a quoted scalar's closing quote, and start a
//! block scalar after its header; the exact ranges are computed here from the source text.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use crate::document::{Error, Format};

/// Deepest nesting of collections accepted. go-yaml (sops) stops at 10,000, but saphyr already
/// refuses flow collections nested deeper than this, and the tree is walked recursively (a
/// level costs a few KiB of stack in a debug build; 256 levels fit a 2 MiB thread stack). Far
/// above any real configuration file.
pub const MAX_DEPTH: usize = 256;

/// Where a block scalar's pieces are.
#[derive(Clone, Debug)]
pub struct Block {
    /// The header indicators (`|`, `>-`, `|2+`), without the rest of the header line.
    pub header: Range<usize>,
    /// The end of the header line, before its line break.
    pub header_line_end: usize,
    /// The content lines, from the start of the first line to the end of the last one (with its
    /// line break when it has one). For keep chomping (`+`), trailing blank lines are included.
    pub content: Range<usize>,
    /// The content indentation, in spaces.
    pub indent: usize,
    /// The explicit indentation indicator digit, if any.
    pub indicator: Option<u8>,
    /// `-`, `+`, or ' ' (clip).
    pub chomp: char,
}

#[derive(Clone, Debug)]
pub struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    /// Boxed, like `block`: most scalars have neither, and nodes are many.
    pub tag: Option<Box<Tag>>,
    /// The scalar's own text: a plain scalar's characters, a quoted scalar with its quotes, a
    /// block scalar from its header to the end of its content.
    pub text: Range<usize>,
    pub block: Option<Box<Block>>,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Scalar(Scalar),
    Seq(Vec<usize>),
    Map(Vec<(usize, usize)>),
    /// An alias, resolved to the anchored node.
    Alias(usize),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    /// Start of the node's own text (after anchor and tag for scalars; the first key of a block
    /// mapping; the bracket of a flow collection).
    pub start: usize,
    /// End of the node's text (for collections, the closing bracket or the end of the last child).
    pub end: usize,
    /// 1-based line and 0-based column (in characters) of `start`.
    pub line: usize,
    pub col: usize,
    /// Inside a flow collection, or a flow collection itself.
    pub flow: bool,
}

#[derive(Clone, Debug)]
pub struct Doc {
    pub root: usize,
    /// Byte offset where the document's text ends: the next `---`/`...` marker, or the end.
    pub end: usize,
}

pub struct Parsed {
    pub nodes: Vec<Node>,
    pub docs: Vec<Doc>,
    /// Anchor names and the nodes they are set on, in document order.
    pub anchors: Vec<(String, usize)>,
}

/// Character index → byte offset.
struct Offsets {
    table: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        if text.is_ascii() {
            return Offsets {
                table: None,
                len: text.len(),
            };
        }
        let mut table: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        table.push(text.len());
        Offsets {
            table: Some(table),
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }

    /// Byte offset → character index, in O(log n) (a long line would make counting quadratic).
    fn char_index(&self, byte: usize) -> usize {
        match &self.table {
            None => byte.min(self.len),
            Some(t) => t.partition_point(|&b| b < byte),
        }
    }
}

struct Collect<'a> {
    events: Vec<(Event<'a>, Span)>,
}

impl<'a> Collect<'a> {
    /// All events of `text`, from saphyr's event iterator: its state machine keeps its own stack,
    /// where `Parser::load` recurses once per nesting level and overflows the thread's stack on
    /// a few thousand levels. Collection stops one level past [`MAX_DEPTH`]; `Builder` reports it.
    fn load(text: &'a str) -> (Collect<'a>, Result<(), ScanError>) {
        let mut events = Vec::new();
        let mut depth = 0usize;
        for item in Parser::new_from_str(text) {
            match item {
                Ok((ev, span)) => {
                    match ev {
                        Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
                        Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    events.push((ev, span));
                    if depth > MAX_DEPTH {
                        break;
                    }
                }
                Err(e) => return (Collect { events }, Err(e)),
            }
        }
        (Collect { events }, Ok(()))
    }
}

fn syntax(line: usize, column: usize, message: impl Into<String>) -> Error {
    Error::Syntax {
        format: Format::Yaml,
        line,
        column,
        message: message.into(),
    }
}

fn scan_error(e: &ScanError, shift: &Shift) -> Error {
    let info = e.info();
    // Messages that quote the input are replaced: an error must never show a value's text.
    let message = if info.contains('`') || info.contains('\'') {
        "unexpected character"
    } else {
        info
    };
    let (line, col) = shift.line_col(e.marker().line(), e.marker().col());
    syntax(line, col + 1, message)
}

/// At most this many spaces are inserted to accept flow content that saphyr finds under-indented.
const MAX_SHIFTS: usize = 256;

/// Spaces inserted at line starts of a copy of the source, so saphyr accepts flow content that
/// sits left of the enclosing block's indentation (go-yaml, which sops uses, does not check
/// indentation inside flow collections, e.g. a closing `]` at its key's column). Positions
/// found in the copy are mapped back to the source.
#[derive(Default)]
struct Shift {
    /// Character positions, in the copy, of the inserted spaces (sorted).
    inserted: Vec<usize>,
    /// Per 1-based line, the number of spaces inserted at its start.
    lines: HashMap<usize, usize>,
}

impl Shift {
    /// `inserts`: character positions of line starts in `text`, one per space (sorted).
    fn new(text: &str, inserts: &[usize]) -> (Shift, String) {
        let offsets = Offsets::new(text);
        let mut copy = String::with_capacity(text.len() + inserts.len());
        let mut shift = Shift::default();
        let mut at = 0;
        for (j, &p) in inserts.iter().enumerate() {
            let byte = offsets.byte(p);
            copy.push_str(&text[at..byte]);
            copy.push(' ');
            at = byte;
            shift.inserted.push(p + j);
            *shift
                .lines
                .entry(text[..byte].matches('\n').count() + 1)
                .or_default() += 1;
        }
        copy.push_str(&text[at..]);
        (shift, copy)
    }

    /// A character index in the copy → the character index in the source.
    fn index(&self, i: usize) -> usize {
        i - self.inserted.partition_point(|&q| q < i)
    }

    fn line_col(&self, line: usize, col: usize) -> (usize, usize) {
        (
            line,
            col - col.min(self.lines.get(&line).copied().unwrap_or(0)),
        )
    }
}

/// Whether saphyr's error is an indentation it checks and go-yaml does not: under-indented
/// flow content (the error sits at the first character of its line, inside a flow collection
/// or on a closing bracket), or under-indented continuation lines of a quoted scalar (their
/// leading blanks are not part of the value). Returns the character indexes of the starts of
/// the lines to indent by one more space.
fn lenient_indentation(
    text: &str,
    e: &ScanError,
    events: &[(Event<'_>, Span)],
) -> Option<Vec<usize>> {
    let offsets = Offsets::new(text);
    let at = offsets.byte(e.marker().index());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let char_index = |byte: usize| {
        if byte <= at {
            e.marker().index() - text[byte..at].chars().count()
        } else {
            e.marker().index() + text[at..byte].chars().count()
        }
    };
    match e.info() {
        "invalid indentation in quoted scalar" => {
            let end = quoted_end(text, at)?;
            let starts: Vec<usize> = text[at..end]
                .match_indices('\n')
                .map(|(i, _)| char_index(at + i + 1))
                .collect();
            (!starts.is_empty()).then_some(starts)
        }
        "invalid indentation" | "invalid indentation in flow construct" => {
            if !text[line_start..at].bytes().all(|c| c == b' ') {
                return None;
            }
            let closing = text[at..].starts_with([']', '}']);
            // Whether a flow collection is open where the error is.
            let mut open = Vec::new();
            for (ev, span) in events {
                match ev {
                    Event::SequenceStart(..) | Event::MappingStart(..) => {
                        let own = skip_properties(text, offsets.byte(span.start.index()));
                        open.push(text[own..].starts_with(['[', '{']));
                    }
                    Event::SequenceEnd | Event::MappingEnd => {
                        open.pop();
                    }
                    _ => {}
                }
            }
            (closing || open.contains(&true)).then(|| vec![char_index(line_start)])
        }
        _ => None,
    }
}

/// Parse all documents of `text`.
pub fn parse(text: &str) -> Result<Parsed, Error> {
    let (collect, loaded) = Collect::load(text);
    let error = match loaded {
        Ok(()) => return Builder::new(text, Shift::default()).build(collect.events),
        Err(e) => e,
    };
    let Some(mut inserts) = lenient_indentation(text, &error, &collect.events) else {
        return Err(scan_error(&error, &Shift::default()));
    };
    drop(collect);
    inserts.sort_unstable();
    loop {
        let (shift, copy) = Shift::new(text, &inserts);
        let (collect, loaded) = Collect::load(&copy);
        let error = match loaded {
            Ok(()) => return Builder::new(text, shift).build(collect.events),
            Err(e) => e,
        };
        match lenient_indentation(&copy, &error, &collect.events) {
            Some(more) if inserts.len() + more.len() <= MAX_SHIFTS => {
                inserts.extend(more.into_iter().map(|i| shift.index(i)));
                inserts.sort_unstable();
            }
            _ => return Err(scan_error(&error, &shift)),
        }
    }
}

enum Open {
    Seq(usize),
    Map { node: usize, key: Option<usize> },
}

struct Builder<'t> {
    text: &'t str,
    offsets: Offsets,
    shift: Shift,
    nodes: Vec<Node>,
    docs: Vec<Doc>,
    stack: Vec<Open>,
    anchors: HashMap<usize, usize>,
    names: Vec<(String, usize)>,
    root: Option<usize>,
    /// End of the previous event, for finding block scalar headers.
    last_end: usize,
    flow_depth: usize,
    /// Byte offset of each line's start, for line numbers in O(log n).
    line_starts: Vec<usize>,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, shift: Shift) -> Builder<'t> {
        Builder {
            text,
            offsets: Offsets::new(text),
            shift,
            nodes: Vec::new(),
            docs: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            names: Vec::new(),
            root: None,
            last_end: 0,
            flow_depth: 0,
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    /// 1-based line and 0-based column (in characters) of a byte offset, as [`line_col`].
    fn line_col(&self, at: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= at);
        let start = self.line_starts[line - 1];
        (
            line,
            self.offsets.char_index(at) - self.offsets.char_index(start),
        )
    }

    fn build(mut self, events: Vec<(Event<'_>, Span)>) -> Result<Parsed, Error> {
        for (ev, span) in events {
            let start = self.offsets.byte(self.shift.index(span.start.index()));
            let end = self.offsets.byte(self.shift.index(span.end.index()));
            let (line, col) = self.shift.line_col(span.start.line(), span.start.col());
            match ev {
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    self.root = None;
                }
                Event::DocumentEnd => {
                    let root = match self.root.take() {
                        Some(r) => r,
                        None => return Err(syntax(line, col + 1, "empty document")),
                    };
                    self.docs.push(Doc { root, end: start });
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let id = self.scalar(
                        value.into_owned(),
                        style,
                        tag.map(|t| t.into_owned()),
                        start,
                        end,
                        line,
                    )?;
                    if anchor != 0 {
                        self.anchors.insert(anchor, id);
                        self.name_anchor(id);
                    }
                    self.attach(id)?;
                }
                Event::Alias(anchor) => {
                    let target = *self
                        .anchors
                        .get(&anchor)
                        .ok_or_else(|| syntax(line, col + 1, "alias to an unknown anchor"))?;
                    let id = self.push(Kind::Alias(target), start, end, line, col);
                    self.attach(id)?;
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(syntax(
                            line,
                            col + 1,
                            format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
                        ));
                    }
                    let is_map = matches!(ev, Event::MappingStart(..));
                    let own = skip_properties(self.text, start);
                    let flow = self.text[own..].starts_with(if is_map { '{' } else { '[' });
                    if flow {
                        self.flow_depth += 1;
                    }
                    let node_start = if flow { own } else { start };
                    let (line, col) = if flow {
                        self.line_col(own)
                    } else {
                        (line, col)
                    };
                    let kind = if is_map {
                        Kind::Map(Vec::new())
                    } else {
                        Kind::Seq(Vec::new())
                    };
                    let id = self.push(kind, node_start, node_start, line, col);
                    if anchor != 0 {
                        self.anchors.insert(anchor, id);
                        self.name_anchor(id);
                    }
                    self.attach(id)?;
                    self.stack.push(if is_map {
                        Open::Map {
                            node: id,
                            key: None,
                        }
                    } else {
                        Open::Seq(id)
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let id = match self.stack.pop() {
                        Some(Open::Seq(id)) | Some(Open::Map { node: id, .. }) => id,
                        None => return Err(syntax(line, col + 1, "unbalanced collection")),
                    };
                    let (open, close) = if matches!(ev, Event::MappingEnd) {
                        ('{', '}')
                    } else {
                        ('[', ']')
                    };
                    // A flow collection of its own (not an implicit `[a: 1]` pair) ends at its bracket.
                    let own_flow =
                        self.nodes[id].flow && self.text[self.nodes[id].start..].starts_with(open);
                    let node_end = if own_flow {
                        self.flow_depth = self.flow_depth.saturating_sub(1);
                        match closing_bracket(self.text, start, close) {
                            Some(at) => at + 1,
                            None if self.text[..end].ends_with(close) => end,
                            None => self.last_child_end(id),
                        }
                    } else {
                        self.last_child_end(id)
                    };
                    self.nodes[id].end = node_end;
                }
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            }
            if end > self.last_end {
                self.last_end = end;
            }
        }
        Ok(Parsed {
            nodes: self.nodes,
            docs: self.docs,
            anchors: self.names,
        })
    }

    /// Record the name of the anchor set on node `id`: the last `&name` between the previous
    /// event and the node's own text.
    fn name_anchor(&mut self, id: usize) {
        // A block collection's span may start at its properties.
        let own = skip_properties(self.text, self.nodes[id].start);
        let from = self.last_end.min(own);
        let mut name = None;
        for line in self.text[from..own].split('\n') {
            for token in line.split([' ', '\t', '\r']) {
                if token.starts_with('#') {
                    break;
                }
                if let Some(n) = token.strip_prefix('&') {
                    name = Some(n);
                }
            }
        }
        if let Some(name) = name {
            self.names.push((name.to_string(), id));
        }
    }

    fn last_child_end(&self, id: usize) -> usize {
        let n = &self.nodes[id];
        match &n.kind {
            Kind::Seq(items) => items.last().map(|&c| self.nodes[c].end).unwrap_or(n.start),
            Kind::Map(pairs) => pairs
                .last()
                .map(|&(_, v)| self.nodes[v].end)
                .unwrap_or(n.start),
            _ => n.end,
        }
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize, line: usize, col: usize) -> usize {
        let flow = self.flow_depth > 0;
        self.nodes.push(Node {
            kind,
            start,
            end,
            line,
            col,
            flow,
        });
        self.nodes.len() - 1
    }

    fn attach(&mut self, id: usize) -> Result<(), Error> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(id);
            }
            Some(Open::Seq(s)) => {
                let s = *s;
                if let Kind::Seq(items) = &mut self.nodes[s].kind {
                    items.push(id);
                }
            }
            Some(Open::Map { node, key }) => match key.take() {
                None => *key = Some(id),
                Some(k) => {
                    let node = *node;
                    if let Kind::Map(pairs) = &mut self.nodes[node].kind {
                        pairs.push((k, id));
                    }
                }
            },
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        value: String,
        style: ScalarStyle,
        tag: Option<Tag>,
        start: usize,
        end: usize,
        line: usize,
    ) -> Result<usize, Error> {
        let text = self.text;
        let (range, block) = match style {
            ScalarStyle::Plain => {
                let s = skip_properties(text, start);
                if s >= end {
                    // An empty (null) scalar: a zero-width range where it would be.
                    (start.min(end)..start.min(end), None)
                } else {
                    let e = s + text[s..end].trim_end().len();
                    (s..e, None)
                }
            }
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let s = skip_properties(text, start);
                let e = quoted_end(text, s).ok_or_else(|| {
                    let (l, c) = line_col(text, s);
                    syntax(l, c + 1, "unterminated quoted scalar")
                })?;
                (s..e, None)
            }
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let block = block_scalar(text, self.last_end, &value).ok_or_else(|| {
                    syntax(
                        line,
                        1,
                        "could not locate the block scalar's header or content",
                    )
                })?;
                (block.header.start..block.content.end, Some(block))
            }
        };
        let (line, col) = self.line_col(range.start);
        let scalar = Scalar {
            value,
            style,
            tag: tag.map(Box::new),
            text: range.clone(),
            block: block.map(Box::new),
        };
        if !check_scalar(text, &scalar) {
            return Err(syntax(
                line,
                col + 1,
                "could not locate the scalar's text exactly",
            ));
        }
        Ok(self.push(Kind::Scalar(scalar), range.start, range.end, line, col))
    }
}

/// The closing bracket of a flow collection whose end event starts at `from`: saphyr's span
/// of that event starts at a trailing comma when there is one, so blanks, commas and comments
/// are skipped.
fn closing_bracket(text: &str, from: usize, close: char) -> Option<usize> {
    let b = text.as_bytes();
    let mut at = from;
    while at < b.len() {
        match b[at] {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => at += 1,
            b'#' => at = text[at..].find('\n').map_or(b.len(), |i| at + i),
            c if c == close as u8 => return Some(at),
            _ => return None,
        }
    }
    None
}

/// 1-based line and 0-based column (in characters) of a byte offset.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, text[line_start..at].chars().count())
}

/// Skip anchors (`&a`), tags (`!t`, `!!str`, `!<...>`) and the blanks between them.
pub fn skip_properties(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    loop {
        match b.get(at) {
            Some(b'&') | Some(b'!') => {
                while at < b.len() && !matches!(b[at], b' ' | b'\t' | b'\n' | b'\r') {
                    at += 1;
                }
                while at < b.len() && matches!(b[at], b' ' | b'\t' | b'\n' | b'\r') {
                    at += 1;
                }
            }
            _ => return at,
        }
    }
}

/// The end (after the closing quote) of a quoted scalar starting at `start`.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let q = *b.get(start)?;
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Find a block scalar: its header after `from` (skipping `:`, `-`, `?`, blanks, properties and
/// comments), then its content lines by indentation.
fn block_scalar(text: &str, from: usize, value: &str) -> Option<Block> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'|' | b'>' => break,
            b'&' | b'!' => {
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b':' | b'-' | b'?' | b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            _ => return None,
        }
    }
    if i >= b.len() {
        // No header after `from` (a `|` or `>` the event's span ends before).
        return None;
    }
    let header_start = i;
    let mut j = i + 1;
    let mut indicator = None;
    let mut chomp = ' ';
    while j < b.len() {
        match b[j] {
            c @ b'1'..=b'9' if indicator.is_none() => indicator = Some(c - b'0'),
            b'-' | b'+' if chomp == ' ' => chomp = b[j] as char,
            _ => break,
        }
        j += 1;
    }
    let header = header_start..j;
    let header_line_end = text[j..].find('\n').map(|k| j + k).unwrap_or(text.len());
    let header_line_end = if header_line_end > j && b[header_line_end - 1] == b'\r' {
        header_line_end - 1
    } else {
        header_line_end
    };
    let content_start = (text[j..].find('\n').map(|k| j + k + 1)).unwrap_or(text.len());
    // Lines after the header.
    let mut lines: Vec<(usize, usize)> = Vec::new(); // (start, end incl. newline)
    let mut at = content_start;
    while at < text.len() {
        let end = text[at..]
            .find('\n')
            .map(|k| at + k + 1)
            .unwrap_or(text.len());
        lines.push((at, end));
        at = end;
    }
    let is_blank = |(s, e): (usize, usize)| text[s..e].trim_matches([' ', '\n', '\r']).is_empty();
    let indent_of = |(s, e): (usize, usize)| text[s..e].bytes().take_while(|&c| c == b' ').count();
    let indent = match indicator {
        Some(_) => {
            // The content indentation from the first non-blank line and the value's first line.
            let first = lines.iter().copied().find(|&l| !is_blank(l));
            match first {
                Some(l) => {
                    let line_text = text[l.0..l.1].trim_end_matches(['\n', '\r']);
                    let vline = value
                        .trim_start_matches('\n')
                        .split('\n')
                        .next()
                        .unwrap_or("");
                    line_text.len().checked_sub(vline.len())?
                }
                None => 0,
            }
        }
        None => lines
            .iter()
            .copied()
            .find(|&l| !is_blank(l))
            .map(indent_of)
            .unwrap_or(0),
    };
    // Content lines: blank ones, or indented at least `indent`.
    let mut last_nonblank = None;
    let mut last_any = None;
    for (k, &l) in lines.iter().enumerate() {
        if is_blank(l) {
            // A blank line with more indentation than the content is still content.
            last_any = Some(k);
            continue;
        }
        if indent == 0 || indent_of(l) < indent {
            break;
        }
        last_nonblank = Some(k);
        last_any = Some(k);
    }
    let content_end = match (chomp, last_nonblank, last_any) {
        ('+', _, Some(k)) => lines[k].1,
        (_, Some(k), _) => lines[k].1,
        _ => content_start,
    };
    let content = content_start..content_end.max(content_start);
    Some(Block {
        header,
        header_line_end,
        content,
        indent,
        indicator,
        chomp,
    })
}

/// Check that a scalar's range holds text that reads as its value (as far as cheaply possible),
/// so a wrong span never corrupts a file.
fn check_scalar(text: &str, s: &Scalar) -> bool {
    let src = &text[s.text.clone()];
    match s.style {
        ScalarStyle::Plain => {
            if !src.contains('\n') {
                return src == s.value;
            }
            let folded: Vec<&str> = src
                .split('\n')
                .map(|l| l.trim_matches([' ', '\t', '\r']))
                .collect();
            let mut out = String::new();
            let mut pending_breaks = 0;
            for (i, l) in folded.iter().enumerate() {
                if i == 0 {
                    out.push_str(l);
                    continue;
                }
                if l.is_empty() {
                    pending_breaks += 1;
                    continue;
                }
                if pending_breaks == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', pending_breaks));
                }
                pending_breaks = 0;
                out.push_str(l);
            }
            out == s.value
        }
        ScalarStyle::SingleQuoted => src.starts_with('\'') && src.ends_with('\'') && src.len() >= 2,
        ScalarStyle::DoubleQuoted => src.starts_with('"') && src.ends_with('"') && src.len() >= 2,
        ScalarStyle::Literal => {
            let Some(b) = &s.block else { return false };
            if !matches!(&text[b.header.start..b.header.start + 1], "|") {
                return false;
            }
            literal_value(&text[b.content.clone()], b.indent, b.chomp) == s.value
        }
        ScalarStyle::Folded => {
            let Some(b) = &s.block else { return false };
            &text[b.header.start..b.header.start + 1] == ">"
        }
    }
}

/// The value of a literal block scalar from its content lines.
pub fn literal_value(content: &str, indent: usize, chomp: char) -> String {
    let mut out = String::new();
    for line in content.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = body.strip_suffix('\r').unwrap_or(body);
        let spaces = body.bytes().take_while(|&c| c == b' ').count();
        out.push_str(&body[spaces.min(indent)..]);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    let trimmed = out.trim_end_matches('\n').len();
    match chomp {
        '+' => {}
        '-' => out.truncate(trimmed),
        _ => {
            if trimmed < out.len() {
                out.truncate(trimmed + 1);
            }
        }
    }
    out
}
