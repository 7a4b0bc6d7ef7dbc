//! Style variants of dotenv and INI files (property tests). The oracle for every generated file:
//! `encrypt` accepts it and decryption gives back every byte, or parsing refuses it cleanly with
//! a syntax error naming a line (and column); never a panic, never a changed byte.

use proptest::prelude::*;

use super::roundtrip_tests::round_trip;
use super::{Error, Format, parse};

/// Exact round trip, or a refusal that names where.
fn exact_or_clean_refusal(format: Format, text: &[u8]) -> Result<bool, TestCaseError> {
    match parse(format, text) {
        Ok(_) => {
            let back = round_trip(format, text);
            prop_assert_eq!(
                String::from_utf8_lossy(&back),
                String::from_utf8_lossy(text)
            );
            Ok(true)
        }
        Err(Error::Syntax { line, column, .. }) | Err(Error::NotUtf8 { line, column, .. }) => {
            prop_assert!(line >= 1 && column >= 1);
            Ok(false)
        }
        Err(e) => Err(TestCaseError::fail(format!("unclear refusal: {e}"))),
    }
}

fn ending() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r")]
}

fn dotenv_line() -> impl Strategy<Value = String> {
    let key = "[A-Za-z_][A-Za-z0-9_]{0,8}";
    let value = prop_oneof![
        "[a-zA-Z0-9 ./:@-]{0,16}",
        "\"[a-zA-Z0-9 #']{0,12}\"",
        "'[a-zA-Z0-9 #\"]{0,12}'",
        "[a-z]{1,6} # [a-z]{1,6}",
        "[a-z]{1,4}\\\\n[a-z]{1,4}",
        Just("${OTHER}".to_string()),
        Just("héllo ✓".to_string()),
        Just(String::new()),
    ];
    prop_oneof![
        6 => (prop_oneof![Just(""), Just("export ")], key, value)
            .prop_map(|(e, k, v)| format!("{e}{k}={v}"))
            .prop_filter("sops_ keys are metadata", |l| !l.contains("sops_")),
        2 => "# [a-zA-Z0-9 =]{0,16}",
        1 => Just(String::new()),
        // Refused by sops and by us: no `=`, an indented comment, a blank line of spaces.
        1 => prop_oneof![Just("NOEQUALS".to_string()), Just("  # indented".to_string()), Just("   ".to_string())],
    ]
}

fn ini_line() -> impl Strategy<Value = String> {
    let key = "[a-z][a-z0-9_.]{0,8}";
    let value = prop_oneof![
        "[a-zA-Z0-9 ./@-]{0,16}",
        "\"[a-zA-Z0-9 ]{0,12}\"",
        "'[a-zA-Z0-9 ]{0,12}'",
        "`[a-zA-Z0-9 ;#]{0,12}`",
        "[a-z]{1,6} ; [a-z]{1,6}",
        "[a-z]{1,6} # [a-z]{1,6}",
        Just("héllo ✓".to_string()),
        Just(String::new()),
    ];
    prop_oneof![
        6 => (key, prop_oneof![Just(" = "), Just("="), Just(": "), Just("  =  ")], value)
            .prop_map(|(k, d, v)| format!("{k}{d}{v}")),
        2 => "\\[[a-z][a-z0-9 .]{0,8}\\]( ; [a-z]{1,4})?"
            .prop_filter("the sops section is metadata", |l| !l.starts_with("[sops")),
        2 => prop_oneof!["; [a-zA-Z0-9 =]{0,16}", "# [a-zA-Z0-9 =]{0,16}", "  ; indented"],
        1 => Just(String::new()),
        // Continuations and keys without a delimiter: ini.v1 (sops) refuses both.
        1 => prop_oneof![Just("    continued".to_string()), Just("flag".to_string())],
    ]
}

fn assemble(lines: &[(String, &str)], bom: bool, final_newline: bool) -> String {
    let mut text = String::new();
    if bom {
        text.push('\u{feff}');
    }
    for (i, (line, end)) in lines.iter().enumerate() {
        text.push_str(line);
        if i + 1 < lines.len() || final_newline {
            text.push_str(end);
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dotenv_variants_round_trip_or_are_refused(
        lines in proptest::collection::vec((dotenv_line(), ending()), 1..10),
        bom in proptest::bool::weighted(0.1),
        final_newline in proptest::bool::weighted(0.7),
    ) {
        let text = assemble(&lines, bom, final_newline);
        exact_or_clean_refusal(Format::Dotenv, text.as_bytes())?;
    }

    #[test]
    fn ini_variants_round_trip_or_are_refused(
        lines in proptest::collection::vec((ini_line(), ending()), 1..12),
        bom in proptest::bool::weighted(0.1),
        final_newline in proptest::bool::weighted(0.7),
    ) {
        let text = assemble(&lines, bom, final_newline);
        exact_or_clean_refusal(Format::Ini, text.as_bytes())?;
    }

    #[test]
    fn bad_bytes_are_refused_with_a_position(prefix in "[A-Z]{1,4}=[a-z]{0,4}\n", at in 0usize..4) {
        let mut bytes = prefix.into_bytes();
        bytes.extend_from_slice(b"B=x");
        bytes.insert(bytes.len() - at.min(2), 0xff);
        for format in [Format::Dotenv, Format::Ini] {
            let refused = matches!(parse(format, &bytes), Err(Error::NotUtf8 { line: 2, .. }));
            prop_assert!(refused);
        }
    }
}
