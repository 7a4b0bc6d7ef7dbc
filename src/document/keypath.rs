//! Key paths, the one home: [`KeyPath::parse`] reads both spellings users write, sops's
//! `["db"]["password"]` / `['a'][0]` and the printed `db.password` / `servers[2].token` /
//! `"a.b".c`, everywhere a path is accepted (`--extract`, `set`, `unset`, policies, history
//! filters, rollback). Two printers: [`KeyPath::sops`] (the bracket form) and
//! [`KeyPath::dotted`] (what history and reports print). Imports nothing from the crate.

/// A parsed key path: mapping keys and list indices from the top of the document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KeyPath {
    steps: Vec<PathStep>,
}

impl KeyPath {
    /// Parse either spelling; a path starting with `[` is sops's bracket form.
    pub fn parse(spec: &str) -> Result<KeyPath, String> {
        parse_steps(spec).map(|steps| KeyPath { steps })
    }

    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    pub fn into_steps(self) -> Vec<PathStep> {
        self.steps
    }

    /// The bracket form sops reads: `["db"]["password"]`.
    pub fn sops(&self) -> String {
        format_steps(&self.steps)
    }

    /// The printed form: `db.password`, `servers[2].token`, `"a.b".c`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            match step {
                PathStep::Key(k) => out = join_key(&out, k),
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dotted())
    }
}

/// One step of a tree path: `["key"]` or `[0]`.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parse a printed key path (`db.password`, `servers[2].token`, `"a.b".c`) or a sops path
/// (`["db"]["password"]`) into tree steps.
pub fn parse_steps(spec: &str) -> Result<Vec<PathStep>, String> {
    let spec = spec.trim();
    if spec.starts_with('[') {
        return parse_brackets(spec);
    }
    if spec.is_empty() {
        return Err("the key path is empty".into());
    }
    let mut steps = Vec::new();
    let mut rest = spec;
    loop {
        // One key segment: quoted (JSON string) or plain up to `.` or `[`.
        let (key, after) = if rest.starts_with('"') {
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let key = de
                .next()
                .and_then(Result::ok)
                .ok_or("a quoted key is not closed")?;
            let used = de.byte_offset();
            (key, &rest[used..])
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("an empty key in {spec:?}"));
            }
            (rest[..end].to_string(), &rest[end..])
        };
        steps.push(PathStep::Key(key));
        rest = after;
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').ok_or("a list index is not closed with ]")?;
            let index = inner[..end]
                .trim()
                .parse()
                .map_err(|_| format!("{:?} is not a list index", &inner[..end]))?;
            steps.push(PathStep::Index(index));
            rest = &inner[end + 1..];
        }
        if rest.is_empty() {
            return Ok(steps);
        }
        rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("unexpected text in the key path {spec:?}"))?;
    }
}

/// Parse sops's tree-path syntax: `["db"]["password"]`, `['a'][0]`.
fn parse_brackets(spec: &str) -> Result<Vec<PathStep>, String> {
    let mut steps = Vec::new();
    let mut rest = spec.trim();
    if rest.is_empty() {
        return Err("the path is empty".into());
    }
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return Err("each path component must be in brackets, like [\"key\"] or [0]".into());
        };
        if let Some(q) = inner.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &inner[1..];
            let end = body.find(q).ok_or("a quoted key is not closed")?;
            let after = &body[end + 1..];
            let after = after
                .strip_prefix(']')
                .ok_or("a quoted key must be followed by ]")?;
            steps.push(PathStep::Key(body[..end].to_string()));
            rest = after;
        } else {
            let end = inner
                .find(']')
                .ok_or("a path component is not closed with ]")?;
            let index = inner[..end]
                .trim()
                .parse()
                .map_err(|_| "an unquoted path component must be a list index")?;
            steps.push(PathStep::Index(index));
            rest = &inner[end + 1..];
        }
    }
    Ok(steps)
}

/// Write a path in the syntax the bracket form of [`KeyPath::parse`] reads: each key in `"` quotes, or in `'` quotes
/// when it holds a `"`. A key holding both quotes, or a control character, cannot be written in
/// that syntax (it has no escapes, like sops's); it is shown JSON-escaped, for messages only.
pub fn format_steps(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) if k.chars().any(char::is_control) => {
                format!("[{}]", serde_json::Value::String(k.clone()))
            }
            PathStep::Key(k) if !k.contains('"') => format!("[\"{k}\"]"),
            PathStep::Key(k) if !k.contains('\'') => format!("['{k}']"),
            PathStep::Key(k) => format!("[{}]", serde_json::Value::String(k.clone())),
            PathStep::Index(i) => format!("[{i}]"),
        })
        .collect()
}

/// `parent.key`, quoting a key that would not read back as one segment.
pub fn join_key(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| {
            !matches!(
                c,
                '.' | '[' | ']' | '"' | '\'' | ' ' | '\t' | '\n' | '*' | '?'
            )
        });
    let segment = if plain {
        key.to_string()
    } else {
        serde_json::Value::String(key.into()).to_string()
    };
    if parent.is_empty() {
        segment
    } else {
        format!("{parent}.{segment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_paths_parse_back_to_the_same_steps() {
        for key in [
            "plain",
            "back\\slash",
            "say \"hi\"",
            "it's",
            "a-",
            "[x]",
            "é ✓",
        ] {
            let steps = vec![PathStep::Key(key.into()), PathStep::Index(3)];
            let text = format_steps(&steps);
            assert_eq!(parse_brackets(&text).unwrap(), steps, "{text}");
        }
    }

    #[test]
    fn paths_parse_like_sops() {
        assert_eq!(
            parse_brackets(r#"["db"]['pw'][2]"#).unwrap(),
            vec![
                PathStep::Key("db".into()),
                PathStep::Key("pw".into()),
                PathStep::Index(2)
            ]
        );
        assert!(parse_brackets("db.password").is_err());
        assert!(parse_brackets(r#"["open"#).is_err());
    }

    #[test]
    fn key_paths_parse_in_both_spellings() {
        let k = |s: &str| PathStep::Key(s.into());
        assert_eq!(
            parse_steps("db.password").unwrap(),
            [k("db"), k("password")]
        );
        assert_eq!(
            parse_steps("servers[2].token").unwrap(),
            [k("servers"), PathStep::Index(2), k("token")]
        );
        assert_eq!(parse_steps(r#""a.b".c"#).unwrap(), [k("a.b"), k("c")]);
        assert_eq!(
            parse_steps(r#"["db"]["password"]"#).unwrap(),
            [k("db"), k("password")]
        );
        assert!(parse_steps("a..b").is_err());
    }

    #[test]
    fn both_printers_read_back() {
        let path = KeyPath::parse(r#"servers[2]."a.b".token"#).unwrap();
        assert_eq!(path.dotted(), r#"servers[2]."a.b".token"#);
        assert_eq!(path.sops(), r#"["servers"][2]["a.b"]["token"]"#);
        assert_eq!(KeyPath::parse(&path.sops()).unwrap(), path);
        assert_eq!(KeyPath::parse(&path.dotted()).unwrap(), path);
    }
}
