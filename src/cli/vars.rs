//! A decrypted document as environment variables: for `exec-env`, `decrypt --format shell` and
//! `decrypt --format github`. Errors name keys, never values.

use zeroize::Zeroizing;

use crate::document::tree::Node;

/// Which variable names are accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Anything the OS can carry in an environment (not empty, no `=`, no NUL), as sops allows.
    Os,
    /// Names a POSIX shell can assign: `[A-Za-z_][A-Za-z0-9_]*`.
    Shell,
}

/// A variable; the value is wiped when dropped.
pub struct Var {
    pub name: String,
    pub value: Zeroizing<String>,
}

/// The top-level values of `node` (a mapping) as variables, in document order. Scalars are
/// converted as sops converts them (`true`, `1.5`, null as empty); a nested value is an error
/// unless `flatten`, which joins the keys on the way down with `_` and upper-cases the result.
pub fn collect(node: &Node, flatten: bool, names: Names) -> Result<Vec<Var>, String> {
    let Node::Map(items) = node else {
        return Err("environment variables need a mapping of keys to values here".into());
    };
    let mut vars = Vec::with_capacity(items.len());
    for (key, value) in items {
        push(&mut vars, key.clone(), value, flatten, false)?;
    }
    for (i, var) in vars.iter().enumerate() {
        check_name(&var.name, names)?;
        if var.value.contains('\0') {
            return Err(format!(
                "the value of {} contains a NUL byte, which an environment variable cannot hold",
                var.name
            ));
        }
        if vars[..i].iter().any(|v| v.name == var.name) {
            return Err(format!("two values give the variable name {}", var.name));
        }
    }
    Ok(vars)
}

fn push(
    vars: &mut Vec<Var>,
    name: String,
    value: &Node,
    flatten: bool,
    nested: bool,
) -> Result<(), String> {
    let name = if nested { name.to_uppercase() } else { name };
    match value {
        Node::Map(items) if flatten => {
            for (k, v) in items {
                push(vars, format!("{name}_{k}"), v, flatten, true)?;
            }
        }
        Node::List(items) if flatten => {
            for (i, v) in items.iter().enumerate() {
                push(vars, format!("{name}_{i}"), v, flatten, true)?;
            }
        }
        Node::Map(_) | Node::List(_) => {
            return Err(format!(
                "key {name:?} holds a nested value, which cannot be an environment variable"
            ));
        }
        scalar => vars.push(Var {
            name,
            value: Zeroizing::new(scalar.scalar_text().unwrap_or_default()),
        }),
    }
    Ok(())
}

fn check_name(name: &str, names: Names) -> Result<(), String> {
    let ok = match names {
        Names::Os => !name.is_empty() && !name.contains(['=', '\0']),
        Names::Shell => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    };
    if ok {
        return Ok(());
    }
    Err(match names {
        Names::Os => format!(
            "key {name:?} is not a valid environment variable name (it is empty or holds '=' or NUL)"
        ),
        Names::Shell => format!(
            "key {name:?} is not a valid shell variable name (letters, digits and _, not starting with a digit)"
        ),
    })
}

/// `export NAME='value'` lines for a POSIX shell (`'` written as `'\''`).
pub fn shell(vars: &[Var]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for var in vars {
        out.push_str("export ");
        out.push_str(&var.name);
        out.push_str("='");
        out.push_str(&var.value.replace('\'', r"'\''"));
        out.push_str("'\n");
    }
    out
}

/// GitHub Actions: the `::add-mask::` commands for stdout (one per non-empty line of each value,
/// as the runner masks line by line) and the text to append to `$GITHUB_ENV`, each variable in
/// the multi-line `NAME<<DELIMITER` form with a delimiter the value does not contain.
pub fn github(vars: &[Var]) -> (Zeroizing<String>, Zeroizing<String>) {
    let mut masks = Zeroizing::new(String::new());
    let mut env_file = Zeroizing::new(String::new());
    for var in vars {
        mask_lines(&var.value, &mut masks);
        let delimiter = loop {
            let d = format!("ghadelimiter_{:032x}", rand::random::<u128>());
            if !var.value.contains(&d) {
                break d;
            }
        };
        env_file.push_str(&var.name);
        env_file.push_str("<<");
        env_file.push_str(&delimiter);
        env_file.push('\n');
        env_file.push_str(&var.value);
        env_file.push('\n');
        env_file.push_str(&delimiter);
        env_file.push('\n');
    }
    (masks, env_file)
}

/// `::add-mask::` lines for every scalar value under `node`, at any depth.
pub fn masks(node: &Node) -> Zeroizing<String> {
    fn walk(node: &Node, out: &mut String) {
        match node {
            Node::Map(items) => items.iter().for_each(|(_, v)| walk(v, out)),
            Node::List(items) => items.iter().for_each(|v| walk(v, out)),
            scalar => {
                let text = Zeroizing::new(scalar.scalar_text().unwrap_or_default());
                mask_lines(&text, out);
            }
        }
    }
    let mut out = Zeroizing::new(String::new());
    walk(node, &mut out);
    out
}

fn mask_lines(value: &str, out: &mut String) {
    for line in value.split(['\n', '\r']) {
        if !line.trim().is_empty() {
            out.push_str("::add-mask::");
            out.push_str(&escape_command_data(line));
            out.push('\n');
        }
    }
}

/// A workflow command's data, escaped as the runner unescapes it (actions/toolkit `escapeData`),
/// so the mask is exactly the value even when it holds `%`.
fn escape_command_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(items: &[(&str, Node)]) -> Node {
        Node::Map(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn pairs(vars: &[Var]) -> Vec<(String, String)> {
        vars.iter()
            .map(|v| (v.name.clone(), v.value.to_string()))
            .collect()
    }

    #[test]
    fn scalars_convert_as_sops_and_nesting_needs_flatten() {
        let root = map(&[
            ("port", Node::Int(5432)),
            ("debug", Node::Bool(true)),
            ("ratio", Node::Float(1.5)),
            ("none", Node::Null),
            (
                "db",
                map(&[
                    ("user", Node::Str("u".into())),
                    ("hosts", Node::List(vec![Node::Str("a".into())])),
                ]),
            ),
        ]);
        let err = collect(&root, false, Names::Os).err().unwrap();
        assert_eq!(
            err,
            "key \"db\" holds a nested value, which cannot be an environment variable"
        );
        let vars = collect(&root, true, Names::Shell).unwrap();
        assert_eq!(
            pairs(&vars),
            [
                ("port", "5432"),
                ("debug", "true"),
                ("ratio", "1.5"),
                ("none", ""),
                ("DB_USER", "u"),
                ("DB_HOSTS_0", "a"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn names_are_checked_without_showing_values() {
        let root = map(&[("my-key", Node::Str("s3cr3t".into()))]);
        assert!(collect(&root, false, Names::Os).is_ok());
        let err = collect(&root, false, Names::Shell).err().unwrap();
        assert!(
            err.contains("\"my-key\"") && !err.contains("s3cr3t"),
            "{err}"
        );
        let root = map(&[("a=b", Node::Str("s3cr3t".into()))]);
        assert!(collect(&root, false, Names::Os).is_err());
        let root = map(&[("1x", Node::Str("v".into()))]);
        assert!(collect(&root, false, Names::Shell).is_err());
        let root = map(&[
            ("A_B", Node::Str("1".into())),
            ("a", map(&[("b", Node::Str("2".into()))])),
        ]);
        let err = collect(&root, true, Names::Shell).err().unwrap();
        assert_eq!(err, "two values give the variable name A_B");
    }

    #[test]
    fn shell_quoting_survives_quotes_and_newlines() {
        let vars = collect(
            &map(&[("V", Node::Str("it's $HOME `x`\nline2".into()))]),
            false,
            Names::Shell,
        )
        .unwrap();
        assert_eq!(&*shell(&vars), "export V='it'\\''s $HOME `x`\nline2'\n");
    }

    #[test]
    fn github_masks_each_line_and_delimits_the_value() {
        let vars = collect(
            &map(&[("CERT", Node::Str("line 1\n100%\n".into()))]),
            false,
            Names::Shell,
        )
        .unwrap();
        let (masks, env) = github(&vars);
        assert_eq!(&*masks, "::add-mask::line 1\n::add-mask::100%25\n");
        let mut lines = env.lines();
        let head = lines.next().unwrap();
        let delimiter = head.strip_prefix("CERT<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        assert_eq!(
            env.as_str(),
            format!("CERT<<{delimiter}\nline 1\n100%\n\n{delimiter}\n")
        );
    }
}
