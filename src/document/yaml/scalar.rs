//! Scalars: typing as go-yaml v3 resolves them (sops reads YAML with it), and writing strings
//! back so they re-read as the same string.

use crate::time::canonical_yaml_timestamp;

/// What go-yaml v3 makes of a plain scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer that fits only Go's `uint64`, which sops cannot walk.
    Uint,
    Float(f64),
    Time(String),
    Str,
}

/// go-yaml v3 `resolve()` for an untagged plain scalar.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => match s.parse::<f64>() {
            Ok(f) if go_float_syntax(s) => Resolved::Float(f),
            _ => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => {
            if first.is_ascii_digit()
                && let Some(t) = canonical_yaml_timestamp(s)
            {
                return Resolved::Time(t);
            }
            let plain = s.replace('_', "");
            match go_parse_int(&plain) {
                IntParse::Int(n) => return Resolved::Int(n),
                IntParse::Uint => return Resolved::Uint,
                IntParse::Invalid => {}
            }
            if yaml_style_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Resolved::Float(f);
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// Go `ParseFloat` syntax for what the `.`-hint path can see: decimal digits, one point, an
/// optional exponent (Rust's parser also accepts `inf`/`nan` words, which cannot start with `.`).
fn go_float_syntax(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
}

enum IntParse {
    Int(i64),
    Uint,
    Invalid,
}

/// Go `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_int(s: &str) -> IntParse {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, d)
        } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, d)
        } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, d)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::Invalid;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::Invalid;
    };
    if neg {
        if mag <= i64::MAX as u128 + 1 {
            IntParse::Int((mag as i128).wrapping_neg() as i64)
        } else {
            IntParse::Invalid
        }
    } else if mag <= i64::MAX as u128 {
        IntParse::Int(mag as i64)
    } else if mag <= u64::MAX as u128 && s.as_bytes()[0] != b'+' {
        // ParseUint rejects a sign.
        IntParse::Uint
    } else {
        IntParse::Invalid
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.Atoi` reads `s` as `n`.
pub fn atoi_matches(s: &str, n: i64) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit()) && s.parse::<i64>() == Ok(n)
}

/// Go `strconv.ParseFloat` reads `s` as `f` (decimal forms only).
pub fn parse_float_matches(s: &str, f: f64) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && s.parse::<f64>()
            .map(|g| g.to_bits() == f.to_bits())
            .unwrap_or(false)
}

pub(crate) fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\x20'..='\x7e' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// Whether `s` written as a plain scalar reads back as the same string.
pub fn plain_safe(s: &str, flow: bool) -> bool {
    plain_text_safe(s, flow) && resolve_plain(s) == Resolved::Str && s != "<<"
}

/// Whether `s` written as a plain scalar reads back as the same text (its type aside: for a
/// scalar with an explicit `!!str` or custom tag).
pub fn plain_text_safe(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let last = s.chars().next_back().unwrap_or(first);
    if matches!(first, ' ' | '\t') || matches!(last, ' ' | '\t' | ':') {
        return false;
    }
    if s.chars().any(|c| {
        c.is_control()
            || !is_printable(c)
            || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{a0}')
    }) {
        return false;
    }
    let second = s.chars().nth(1);
    match first {
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => return false,
        '-' | '?' | ':' if (second.is_none_or(|c| c == ' ') || (flow && first != '-')) => {
            return false;
        }
        _ => {}
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    if flow && (s.contains([',', '[', ']', '{', '}']) || s.contains(':')) {
        return false;
    }
    !(s.starts_with("---") || s.starts_with("..."))
}

/// Whether `s` can be written single-quoted (one line of printable characters).
pub fn single_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(['\n', '\r'])
        && !s.starts_with([' ', '\t'])
        && !s.ends_with([' ', '\t'])
        && s.chars().all(|c| {
            c != '\u{feff}'
                && (c == '\t'
                    || (is_printable(c)
                        && !c.is_control()
                        && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')))
        })
}

pub fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A double-quoted scalar with minimal escaping; non-ASCII printable characters stay raw.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if !is_printable(c) => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04X}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08X}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string in block context where plain is wanted: plain if safe, else double-quoted.
pub fn block_string(s: &str) -> String {
    if plain_safe(s, false) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// The body of a literal block scalar for `s` at `indent`, with the chomping indicator that
/// reproduces its trailing newlines (keeping `prefer` when it works). None when `s` cannot be a
/// literal block (control characters, a leading blank line or space without an indicator, no
/// content). Returns (chomp indicator, content lines text ending with a newline).
pub fn literal_block(
    s: &str,
    indent: usize,
    prefer: char,
    has_indicator: bool,
) -> Option<(char, String)> {
    if s.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || !is_printable(c) || c == '\r')
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    if body.is_empty() || body.starts_with('\n') {
        return None;
    }
    if !has_indicator && body.starts_with([' ', '\t']) {
        return None;
    }
    // Trailing whitespace on the last line would be lost to nothing, but a last line made only of
    // spaces would be read as an empty line: refuse.
    if body
        .split('\n')
        .next_back()
        .is_some_and(|l| l.trim().is_empty())
    {
        return None;
    }
    let chomp = match (trailing, prefer) {
        (0, _) => '-',
        (1, '+') => '+',
        (1, _) => ' ',
        _ => '+',
    };
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    Some((chomp, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v3() {
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("TRUE"), Resolved::Bool(true));
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("on"), Resolved::Str);
        assert_eq!(resolve_plain("010"), Resolved::Int(8));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("-12"), Resolved::Int(-12));
        assert_eq!(resolve_plain("+5"), Resolved::Int(5));
        assert_eq!(resolve_plain("18446744073709551615"), Resolved::Uint);
        assert_eq!(resolve_plain("99999999999999999999"), Resolved::Float(1e20));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("3.0"), Resolved::Float(3.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("-.inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(f) if f.is_nan()));
        assert_eq!(
            resolve_plain("2024-01-15"),
            Resolved::Time("2024-01-15T00:00:00Z".into())
        );
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
        assert_eq!(resolve_plain("0x"), Resolved::Str);
        assert_eq!(resolve_plain("09"), Resolved::Float(9.0));
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain("inf"), Resolved::Str);
        assert_eq!(resolve_plain(".e5"), Resolved::Str);
    }

    #[test]
    fn spellings_follow_go_strconv() {
        assert!(atoi_matches("42", 42));
        assert!(atoi_matches("+5", 5));
        assert!(!atoi_matches("010", 8));
        assert!(!atoi_matches("1_000", 1000));
        assert!(parse_float_matches("1.50", 1.5));
        assert!(parse_float_matches("1e3", 1000.0));
        assert!(!parse_float_matches(".inf", f64::INFINITY));
    }

    #[test]
    fn plain_is_used_only_when_it_reads_back_the_same() {
        for s in [
            "hello",
            "a b",
            "http://x/y",
            "-x",
            "é ü",
            "a#b",
            "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",
        ] {
            assert!(plain_safe(s, false), "{s}");
        }
        for s in [
            "",
            " a",
            "a ",
            "a: b",
            "a #b",
            "- a",
            "true",
            "12",
            "1.5",
            "~",
            "2024-01-15",
            "'a",
            "a\nb",
            "*x",
            "a:",
        ] {
            assert!(!plain_safe(s, false), "{s}");
        }
        assert!(!plain_safe("a,b", true));
        assert!(plain_safe("a,b", false));
    }

    #[test]
    fn double_quoting_escapes_only_what_it_must() {
        assert_eq!(double_quoted("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(double_quoted("é"), "\"é\"");
        assert_eq!(double_quoted("\x01"), "\"\\x01\"");
    }

    #[test]
    fn literal_blocks_choose_their_chomping() {
        assert_eq!(
            literal_block("a\nb\n", 2, ' ', false).unwrap(),
            (' ', "  a\n  b\n".into())
        );
        assert_eq!(
            literal_block("a\nb", 2, ' ', false).unwrap(),
            ('-', "  a\n  b\n".into())
        );
        assert_eq!(
            literal_block("a\n\n", 2, ' ', false).unwrap(),
            ('+', "  a\n\n".into())
        );
        assert_eq!(
            literal_block("a\n\nb\n", 2, ' ', false).unwrap(),
            (' ', "  a\n\n  b\n".into())
        );
        assert!(literal_block(" a\n", 2, ' ', false).is_none());
        assert!(literal_block("\n", 2, ' ', false).is_none());
    }
}
