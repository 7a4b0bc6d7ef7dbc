//! Stand-in checks for the provider rule files under `src/scan/rules/` (issue 16, part B) until
//! the TOML rule loader lands: every file parses, every rule has the fixed schema, its regex
//! compiles with the `regex` crate, its examples produce a finding (regex, secret group `s`,
//! entropy floor, not a placeholder, a prefilter keyword inside the match) and its
//! counter-examples do not.

use std::collections::BTreeSet;
use std::path::PathBuf;

use regex::Regex;
use toml_edit::{DocumentMut, Item, Table};

use super::rules::{entropy, is_placeholder};

const KEYS: &[&str] = &[
    "id",
    "provider",
    "description",
    "doc",
    "keywords",
    "regex",
    "entropy",
    "confidence",
    "check",
    "multiline",
    "examples",
    "counter_examples",
];
const CONFIDENCE: &[&str] = &["high", "medium", "low"];
const CHECKS: &[&str] = &[
    "none",
    "crc32-base62",
    "jwt",
    "not-placeholder",
    "bech32",
    "base64",
    "json-service-account",
    "luhn",
];

struct FileRule {
    id: String,
    keywords: Vec<String>,
    regex: Regex,
    entropy: Option<f64>,
    examples: Vec<String>,
    counter_examples: Vec<String>,
}

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/scan/rules")
}

fn text(table: &Table, key: &str, at: &str) -> String {
    table
        .get(key)
        .and_then(Item::as_str)
        .unwrap_or_else(|| panic!("{at}: `{key}` must be a string"))
        .to_owned()
}

fn texts(table: &Table, key: &str, at: &str) -> Vec<String> {
    let array = table
        .get(key)
        .and_then(Item::as_array)
        .unwrap_or_else(|| panic!("{at}: `{key}` must be an array of strings"));
    array
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{at}: `{key}` holds a non-string"))
                .to_owned()
        })
        .collect()
}

fn parse_rule(table: &Table, at: &str) -> FileRule {
    for (key, _) in table.iter() {
        assert!(KEYS.contains(&key), "{at}: unknown key `{key}`");
    }
    let id = text(table, "id", at);
    let at = format!("{at} ({id})");
    let kebab = Regex::new(r"^[a-z0-9]+(?:-[a-z0-9]+)*$").unwrap();
    assert!(kebab.is_match(&id), "{at}: id is not kebab-case");
    for key in ["provider", "description"] {
        assert!(!text(table, key, &at).is_empty(), "{at}: empty `{key}`");
    }
    assert!(text(table, "doc", &at).starts_with("https://"), "{at}: doc is not an https URL");
    let confidence = text(table, "confidence", &at);
    assert!(CONFIDENCE.contains(&confidence.as_str()), "{at}: confidence {confidence}");
    if table.contains_key("check") {
        let check = text(table, "check", &at);
        assert!(CHECKS.contains(&check.as_str()), "{at}: unknown check {check}");
    }
    let regex = Regex::new(&text(table, "regex", &at))
        .unwrap_or_else(|e| panic!("{at}: regex does not compile: {e}"));
    assert!(
        regex.capture_names().any(|n| n == Some("s")),
        "{at}: regex has no `s` group"
    );
    let entropy = table.get("entropy").map(|v| {
        v.as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .unwrap_or_else(|| panic!("{at}: entropy is not a number"))
    });
    let keywords = texts(table, "keywords", &at);
    assert!(!keywords.is_empty(), "{at}: no keywords");
    for k in &keywords {
        assert!(k.len() >= 2, "{at}: keyword {k:?} is too short for a prefilter");
    }
    FileRule {
        id,
        keywords,
        regex,
        entropy,
        examples: texts(table, "examples", &at),
        counter_examples: texts(table, "counter_examples", &at),
    }
}

fn load() -> Vec<(String, FileRule)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(rules_dir())
        .expect("src/scan/rules/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let doc: DocumentMut = source
            .parse()
            .unwrap_or_else(|e| panic!("{name}: not TOML: {e}"));
        let rules = doc
            .get("rules")
            .and_then(Item::as_array_of_tables)
            .unwrap_or_else(|| panic!("{name}: no [[rules]]"));
        for (i, table) in rules.iter().enumerate() {
            out.push((name.clone(), parse_rule(table, &format!("{name} rule {i}"))));
        }
    }
    out
}

/// The secret of the first match that a user would see as a finding, with the whole match.
fn finding<'t>(rule: &FileRule, line: &'t str) -> Option<(&'t str, &'t str)> {
    rule.regex.captures_iter(line).find_map(|c| {
        let s = c.name("s")?.as_str();
        let floor_ok = rule.entropy.is_none_or(|floor| entropy(s) >= floor);
        (floor_ok && !is_placeholder(s)).then(|| (c.get(0).unwrap().as_str(), s))
    })
}

#[test]
fn every_rule_file_rule_is_well_formed_and_its_examples_hold() {
    let rules = load();
    let mut ids = BTreeSet::new();
    let mut failures = Vec::new();
    for (file, rule) in &rules {
        assert!(ids.insert(rule.id.clone()), "{file}: duplicate id {}", rule.id);
        assert!(!rule.examples.is_empty(), "{file}: {} has no example", rule.id);
        assert!(
            !rule.counter_examples.is_empty(),
            "{file}: {} has no counter-example",
            rule.id
        );
        for line in &rule.examples {
            match finding(rule, line) {
                None => failures.push(format!("{file}: {}: no finding in {line:?}", rule.id)),
                Some((whole, _)) => {
                    let lower = whole.to_lowercase();
                    if !rule.keywords.iter().any(|k| lower.contains(&k.to_lowercase())) {
                        failures.push(format!("{file}: {}: no keyword in match {whole:?}", rule.id));
                    }
                }
            }
        }
        for line in &rule.counter_examples {
            if finding(rule, line).is_some() {
                failures.push(format!("{file}: {}: finding in counter-example {line:?}", rule.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The 34 built-in providers plus these files: issue 16 asks for 300 formats at least.
    assert!(rules.len() >= 266, "only {} rules in src/scan/rules/", rules.len());
}
