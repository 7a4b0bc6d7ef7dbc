//! A small YAML loader that keeps line numbers, for `.sops.yaml` (errors name the line).

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A YAML node with the line it starts on.
#[derive(Clone, Debug)]
pub struct Spanned {
    pub line: usize,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub enum Node {
    /// A scalar's text, and whether it was quoted (a quoted scalar is always a string).
    Scalar(String, bool),
    List(Vec<Spanned>),
    Map(Vec<(String, Spanned)>),
}

impl Spanned {
    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// A plain scalar that is YAML null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.node, Node::Scalar(s, false) if matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Deepest nesting accepted: a creation-rules file is a few levels deep; the loader recurses.
const MAX_DEPTH: usize = 64;

/// Most nodes the loaded tree may hold, aliases expanded (an alias bomb is refused).
const MAX_NODES: usize = 100_000;

impl Spanned {
    /// Nodes in this subtree, counting up to `limit` (then stopping).
    fn size(&self, limit: usize) -> usize {
        let mut n = 1;
        match &self.node {
            Node::Scalar(..) => {}
            Node::List(items) => {
                for i in items {
                    n += i.size(limit - n.min(limit));
                    if n >= limit {
                        break;
                    }
                }
            }
            Node::Map(pairs) => {
                for (_, v) in pairs {
                    n += 1 + v.size(limit - n.min(limit));
                    if n >= limit {
                        break;
                    }
                }
            }
        }
        n
    }
}

/// Load the first document. Errors are (line, message).
pub fn load(text: &str) -> Result<Option<Spanned>, (usize, String)> {
    let mut events = Vec::new();
    let mut depth = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| (e.marker().line(), e.info().to_string()))?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((
                        span.start.line(),
                        format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        events.push((event, span.start.line()));
    }
    let mut budget = MAX_NODES;
    let mut anchors: Vec<(usize, Spanned)> = Vec::new();
    let mut at = 0;
    while at < events.len() {
        if matches!(events[at].0, Event::DocumentStart(_)) {
            at += 1;
            if at < events.len() && matches!(events[at].0, Event::DocumentEnd) {
                return Ok(None);
            }
            return build(&events, &mut at, &mut anchors, &mut budget).map(Some);
        }
        at += 1;
    }
    Ok(None)
}

fn build(
    events: &[(Event<'_>, usize)],
    at: &mut usize,
    anchors: &mut Vec<(usize, Spanned)>,
    budget: &mut usize,
) -> Result<Spanned, (usize, String)> {
    let (event, line) = &events[*at];
    let line = *line;
    *at += 1;
    let too_many = || {
        (
            line,
            format!("the file expands to more than {MAX_NODES} nodes (aliases included)"),
        )
    };
    *budget = budget.checked_sub(1).ok_or_else(too_many)?;
    let (node, anchor) = match event {
        Event::Scalar(value, style, anchor, _) => (
            Spanned {
                line,
                node: Node::Scalar(value.to_string(), *style != ScalarStyle::Plain),
            },
            *anchor,
        ),
        Event::Alias(id) => {
            let found = anchors
                .iter()
                .rev()
                .find(|(a, _)| a == id)
                .map(|(_, n)| n.clone());
            let found = found.ok_or((line, "an alias refers to an unknown anchor".into()))?;
            *budget = budget
                .checked_sub(found.size(*budget + 1))
                .ok_or_else(too_many)?;
            return Ok(found);
        }
        Event::SequenceStart(anchor, _) => {
            let mut items = Vec::new();
            while !matches!(
                events.get(*at).map(|e| &e.0),
                Some(Event::SequenceEnd) | None
            ) {
                items.push(build(events, at, anchors, budget)?);
            }
            *at += 1;
            (
                Spanned {
                    line,
                    node: Node::List(items),
                },
                *anchor,
            )
        }
        Event::MappingStart(anchor, _) => {
            let mut items: Vec<(String, Spanned)> = Vec::new();
            while !matches!(
                events.get(*at).map(|e| &e.0),
                Some(Event::MappingEnd) | None
            ) {
                let key = build(events, at, anchors, budget)?;
                let Some(name) = key.as_str().map(str::to_string) else {
                    return Err((key.line, "a mapping key must be a string".into()));
                };
                if items.iter().any(|(k, _)| *k == name) {
                    return Err((key.line, format!("duplicate key {name:?}")));
                }
                let value = build(events, at, anchors, budget)?;
                items.push((name, value));
            }
            *at += 1;
            (
                Spanned {
                    line,
                    node: Node::Map(items),
                },
                *anchor,
            )
        }
        _ => return Err((line, "unexpected YAML structure".into())),
    };
    if anchor > 0 {
        anchors.push((anchor, node.clone()));
    }
    Ok(node)
}
