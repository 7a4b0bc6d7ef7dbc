//! Checks on the rule files that the engine test (`every_rule_file_loads_and_its_examples_hold`)
//! leaves out: ids are kebab-case, every rule cites an https page, every example's match holds
//! one of the rule's prefilter keywords (so the prefilter cannot hide a true match), and the
//! files cover at least 300 provider formats (issue 16).

use regex::Regex;

use super::rules;

#[test]
fn rule_files_cite_docs_and_every_example_match_holds_a_keyword() {
    let all = rules::load_all().unwrap_or_else(|e| panic!("{e}"));
    let kebab = Regex::new(r"^[a-z0-9]+(?:-[a-z0-9]+)*$").unwrap();
    let mut failures = Vec::new();
    for rule in &all {
        if !kebab.is_match(rule.id) {
            failures.push(format!("{}: id is not kebab-case", rule.id));
        }
        if !rule.doc.starts_with("https://") {
            failures.push(format!("{}: doc is not an https URL", rule.id));
        }
        let regex = Regex::new(rule.regex).unwrap();
        for line in rule.examples {
            let Some(m) = regex.find(line) else {
                failures.push(format!("{}: regex misses example {line:?}", rule.id));
                continue;
            };
            let lower = m.as_str().to_lowercase();
            if !rule
                .anchors
                .iter()
                .any(|k| lower.contains(&k.to_lowercase()))
            {
                failures.push(format!("{}: no keyword in match {:?}", rule.id, m.as_str()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let formats = all.iter().filter(|r| r.provider != "(any)").count();
    assert!(
        formats >= 300,
        "{formats} provider formats, issue 16 asks for 300"
    );
}
