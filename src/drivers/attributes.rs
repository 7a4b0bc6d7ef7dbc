//! The `.gitattributes` block `secrets git setup` manages, and the translation of creation
//! rules' `path_regex` into Git attribute patterns.
//!
//! A `path_regex` is a regular expression searched anywhere in the path relative to the folder
//! of `.sops.yaml`; Git attributes take glob patterns. The common shapes translate exactly
//! (`\.enc\.yaml$` → `*.enc.yaml`, `^secrets/.*\.yaml$` → `secrets/**/*.yaml`,
//! `(dev|prod)\.env$` → two patterns); anything else returns `None`, and the caller lists the
//! tracked files the regex matches instead.

/// The first line of the managed block.
pub const BEGIN: &str = "# managed by secrets git setup";
/// The last line of the managed block.
pub const END: &str = "# end";
/// The attributes every managed pattern gets.
pub const ATTRIBUTES: &str = "diff=secrets merge=secrets";

/// Glob patterns (relative to `prefix`, the config's folder inside the repository, `""` or
/// `dir/`) equivalent to `regex`, or `None` when it has a shape we do not translate.
pub fn globs_for_regex(regex: &str, prefix: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for variant in expand(regex)? {
        out.push(glob_of(&variant, prefix)?);
    }
    out.dedup();
    Some(out)
}

/// Expand one top-level `(a|b|c)` group and `x?` optional characters into plain variants.
fn expand(regex: &str) -> Option<Vec<String>> {
    if let Some(open) = find_unescaped(regex, '(') {
        let close = open + regex[open..].find(')')?;
        let inner = regex[open + 1..close].trim_start_matches("?:");
        if inner.contains('(') {
            return None;
        }
        let (head, tail) = (&regex[..open], &regex[close + 1..]);
        if tail.starts_with(['?', '*', '+', '{']) {
            return None;
        }
        let mut out = Vec::new();
        for alt in inner.split('|') {
            out.extend(expand(&format!("{head}{alt}{tail}"))?);
        }
        return Some(out);
    }
    // `s?` after a literal character: with and without it.
    let bytes = regex.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b'?' && bytes[i - 1].is_ascii_alphanumeric() && !escaped(regex, i) {
            let before =
                i >= 2 && (bytes[i - 2] == b'\\' || bytes[i - 2] == b'*' || bytes[i - 2] == b'+');
            if before {
                return None;
            }
            let with = format!("{}{}", &regex[..i], &regex[i + 1..]);
            let without = format!("{}{}", &regex[..i - 1], &regex[i + 1..]);
            let mut out = expand(&with)?;
            out.extend(expand(&without)?);
            return Some(out);
        }
    }
    Some(vec![regex.to_string()])
}

fn escaped(s: &str, at: usize) -> bool {
    let backslashes = s.as_bytes()[..at]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count();
    backslashes % 2 == 1
}

fn find_unescaped(s: &str, c: char) -> Option<usize> {
    s.char_indices()
        .find(|(i, ch)| *ch == c && !escaped(s, *i))
        .map(|(i, _)| i)
}

/// One token of a translatable regex.
#[derive(Debug, PartialEq)]
enum Tok {
    Lit(char),
    /// `.*` or `.+`: anything, slashes included.
    Any,
    /// `[^/]*` or `[^/]+`: anything within one path segment.
    Segment,
}

fn tokens(body: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                if e.is_ascii_alphanumeric() {
                    return None; // \d, \w, \s...: classes
                }
                out.push(Tok::Lit(e));
            }
            '.' => match chars.peek() {
                Some('*') | Some('+') => {
                    chars.next();
                    out.push(Tok::Any);
                }
                _ => return None, // a single any-character
            },
            '[' => {
                let class: String = chars.by_ref().take_while(|c| *c != ']').collect();
                if class != "^/" {
                    return None;
                }
                match chars.next() {
                    Some('*') | Some('+') => out.push(Tok::Segment),
                    _ => return None,
                }
            }
            '*' | '+' | '?' | '{' | '}' | '|' | '(' | ')' | '^' | '$' => return None,
            c if c == '/' || c.is_alphanumeric() || "_-@%,=~ ".contains(c) => out.push(Tok::Lit(c)),
            _ => return None,
        }
    }
    Some(out)
}

fn glob_of(regex: &str, prefix: &str) -> Option<String> {
    let anchored_start = regex.starts_with('^');
    let anchored_end = regex.ends_with('$') && !escaped(regex, regex.len() - 1);
    let body = regex.trim_start_matches('^');
    let body = if anchored_end {
        &body[..body.len() - 1]
    } else {
        body
    };
    let toks = tokens(body)?;
    if toks.is_empty() {
        return None;
    }
    let mut glob = String::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Lit(c) => {
                if "*?[]\\!#".contains(*c) {
                    return None; // a glob metacharacter as a literal: keep it simple
                }
                glob.push(*c);
            }
            Tok::Segment => glob.push('*'),
            Tok::Any => {
                let at_segment_start = glob.is_empty() || glob.ends_with('/');
                let rest_has_slash = toks[i + 1..].contains(&Tok::Lit('/'));
                if at_segment_start && matches!(toks.get(i + 1), Some(Tok::Lit('/'))) {
                    // `.*/x` or `dir/.*/x`: any folders.
                    glob.push_str("**");
                } else if at_segment_start && !rest_has_slash && !glob.is_empty() {
                    // `dir/.*\.yaml`: any folders, then a name.
                    glob.push_str("**/*");
                } else if rest_has_slash || glob.contains('/') && !at_segment_start {
                    return None; // `.*` inside a segment with more path after it
                } else {
                    glob.push('*');
                }
            }
        }
        i += 1;
    }
    if !anchored_end {
        if glob.ends_with('/') {
            glob.push_str("**");
        } else {
            glob.push('*');
        }
    }
    let has_slash = glob.contains('/');
    let glob = match (anchored_start, has_slash) {
        // Unanchored regexes match anywhere: a name pattern (no slash) already matches at any
        // depth, as a substring of the name when it does not start with a wildcard.
        (false, false) if glob.starts_with('*') => glob,
        (false, false) => format!("*{glob}"),
        (false, true) if glob.starts_with("**") => glob,
        (false, true) => format!("**/{glob}"),
        (true, _) => format!("/{glob}"),
    };
    // Patterns with a slash are relative to the .gitattributes folder (the repository top):
    // put the config's folder in front.
    let glob = match glob.strip_prefix('/') {
        Some(rest) => format!("{prefix}{rest}"),
        None if prefix.is_empty() => glob,
        None if glob.starts_with("**/") => format!("{prefix}{glob}"),
        None => format!("{prefix}**/{glob}"),
    };
    // A leading slash-free pattern with a slash inside is anchored already; a bare name with a
    // prefix got `prefix**/` above.
    Some(glob)
}

/// A pattern for one tracked file: its path, with glob metacharacters escaped.
pub fn literal_pattern(path: &str) -> String {
    let mut out = String::from("/");
    for c in path.chars() {
        if "*?[]\\!# ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `.gitattributes` text with our block replaced by `lines` (appended when absent; removed
/// when `lines` is None). Lines outside the block are kept as they are.
pub fn with_block(existing: &str, lines: Option<&[String]>) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut placed = false;
    let block = |out: &mut String| {
        if let Some(lines) = lines {
            out.push_str(BEGIN);
            out.push('\n');
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str(END);
            out.push('\n');
        }
    };
    for line in existing.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if !inside && bare == BEGIN {
            inside = true;
            continue;
        }
        if inside {
            if bare == END {
                inside = false;
                if !placed {
                    block(&mut out);
                    placed = true;
                }
            }
            continue;
        }
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push('\n');
        }
    }
    if !placed && lines.is_some() {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        block(&mut out);
    }
    if lines.is_none() {
        // Removing the block leaves at most one trailing blank line.
        while out.ends_with("\n\n") {
            out.pop();
        }
        if out.trim().is_empty() {
            out.clear();
        }
    }
    out
}

/// The patterns in our block of an existing `.gitattributes`.
pub fn block_lines(existing: &str) -> Option<Vec<String>> {
    let mut lines = existing.lines();
    lines.by_ref().find(|l| *l == BEGIN)?;
    Some(
        lines
            .take_while(|l| *l != END)
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(re: &str) -> Option<Vec<String>> {
        globs_for_regex(re, "")
    }

    #[test]
    fn common_regexes_become_globs() {
        assert_eq!(g(r"\.enc\.yaml$").unwrap(), ["*.enc.yaml"]);
        assert_eq!(g(r".*\.enc\.json$").unwrap(), ["*.enc.json"]);
        assert_eq!(g(r"^secrets/.*\.yaml$").unwrap(), ["secrets/**/*.yaml"]);
        assert_eq!(g(r"^secrets/[^/]+\.yaml$").unwrap(), ["secrets/*.yaml"]);
        assert_eq!(g(r"secrets/.*\.yaml$").unwrap(), ["**/secrets/**/*.yaml"]);
        assert_eq!(g(r"^prod\.env$").unwrap(), ["prod.env"]);
        assert_eq!(g(r"\.ya?ml$").unwrap(), ["*.yaml", "*.yml"]);
        assert_eq!(g(r"(dev|prod)\.env$").unwrap(), ["*dev.env", "*prod.env"]);
        assert_eq!(g(r"^prod/").unwrap(), ["prod/**"]);
        assert_eq!(g(r"^secrets/.*$").unwrap(), ["secrets/**/*"]);
        assert_eq!(
            globs_for_regex(r"\.enc\.yaml$", "deploy/").unwrap(),
            ["deploy/**/*.enc.yaml"]
        );
        assert_eq!(
            globs_for_regex(r"^x/.*\.yaml$", "deploy/").unwrap(),
            ["deploy/x/**/*.yaml"]
        );
    }

    #[test]
    fn other_regexes_are_not_guessed() {
        for re in [
            r"\d+\.yaml$",
            r"^a.b$",
            r"(a|(b|c))",
            r"x{2}",
            r".*/.*secret.*/x",
        ] {
            assert_eq!(g(re), None, "{re}");
        }
    }

    #[test]
    fn the_block_is_replaced_in_place_and_removed_cleanly() {
        let lines = vec!["*.enc.yaml diff=secrets merge=secrets".to_string()];
        let first = with_block("*.png binary\n", Some(&lines));
        assert_eq!(
            first,
            format!("*.png binary\n\n{BEGIN}\n*.enc.yaml diff=secrets merge=secrets\n{END}\n")
        );
        let more = format!("{first}*.jpg binary\n");
        let other = vec!["x diff=secrets merge=secrets".to_string()];
        let replaced = with_block(&more, Some(&other));
        assert!(replaced.contains("*.png binary\n") && replaced.ends_with("*.jpg binary\n"));
        assert_eq!(block_lines(&replaced).unwrap(), other);
        let removed = with_block(&replaced, None);
        assert_eq!(removed, "*.png binary\n\n*.jpg binary\n");
        assert_eq!(with_block(&with_block("", Some(&lines)), None), "");
    }
}
