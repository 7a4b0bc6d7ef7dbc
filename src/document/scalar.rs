//! Number and bool spelling as Go (and so sops) writes and reads them: `strconv.FormatFloat`,
//! `ParseFloat`, `ParseInt(s, 0, 64)`, `ParseBool`. Shared by every format adapter and by the MAC
//! (which hashes the Go spelling of a value). Imports nothing from the rest of the crate.

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub fn go_format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.ParseBool`.
pub fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat` for the spellings sops and our adapters write (Go, like TOML, also
/// accepts `_` between digits: `1_000.5`).
pub fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ if s.contains('_') => underscores_between_digits(s)
            .then(|| s.replace('_', "").parse().ok())
            .flatten(),
        _ => s.parse().ok(),
    }
}

/// An integer in Go's `strconv.ParseInt(s, 0, 64)` syntax, which covers every TOML integer:
/// optional sign, `0x`/`0o`/`0b` prefixes, `_` between digits (and after a prefix).
pub fn parse_int_literal(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ => (10, body),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    if digits.contains('_') {
        let checked = if radix == 10 { digits } else { &body[1..] };
        if !underscores_between_digits(checked) {
            return None;
        }
    }
    let magnitude = u64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Every `_` sits between two alphanumerics (digits, or a base letter before the first digit).
fn underscores_between_digits(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'_'
            || (i > 0
                && i + 1 < b.len()
                && b[i - 1].is_ascii_alphanumeric()
                && b[i + 1].is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_go() {
        assert_eq!(go_format_float(3.0), "3");
        assert_eq!(go_format_float(1e21), "1000000000000000000000");
        assert_eq!(go_format_float(1e-7), "0.0000001");
        assert_eq!(go_format_float(-0.0), "-0");
        assert_eq!(go_format_float(1.5), "1.5");
        assert_eq!(
            go_format_float(12345678901234567890.0),
            "12345678901234567000"
        );
        assert_eq!(go_format_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn integer_and_float_literals_parse_like_go_base_0() {
        assert_eq!(parse_int_literal("31"), Some(31));
        assert_eq!(parse_int_literal("+31"), Some(31));
        assert_eq!(parse_int_literal("-1_000"), Some(-1000));
        assert_eq!(parse_int_literal("0x1F"), Some(31));
        assert_eq!(parse_int_literal("0xdead_beef"), Some(0xdead_beef));
        assert_eq!(parse_int_literal("0o755"), Some(0o755));
        assert_eq!(parse_int_literal("0b1101"), Some(13));
        assert_eq!(parse_int_literal("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int_literal("9223372036854775808"), None);
        for bad in ["", "_1", "1_", "1__0", "0x", "--1", "0x-1", "1.5", "abc"] {
            assert_eq!(parse_int_literal(bad), None, "{bad}");
        }
        assert_eq!(parse_go_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_go_float("1_000_"), None);
        assert!(parse_go_float("-nan").unwrap().is_nan());
    }
}
