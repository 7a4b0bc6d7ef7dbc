//! Reports: text for people, JSON for tools. Neither ever holds a secret.

use std::io::{self, Write};

use super::rules::Confidence;
use super::sources::Outcome;

/// The text report: one block per finding, then a summary line.
pub fn text(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for f in &outcome.findings {
        writeln!(
            out,
            "{}:{}:{}: {} ({}, {} confidence)",
            f.file,
            f.line,
            f.column,
            f.description,
            f.rule,
            f.confidence.as_str()
        )?;
        if !f.excerpt.is_empty() {
            writeln!(out, "    {}", f.excerpt)?;
        }
        if let Some(commit) = &f.commit {
            writeln!(out, "    introduced in commit {commit}")?;
        }
        writeln!(out, "    fingerprint: {}", f.fingerprint)?;
        writeln!(out, "    hint: {}", f.hint)?;
    }
    if let Some(scope) = &outcome.scope {
        writeln!(out, "{}", scope.summary)?;
        if scope.empty {
            writeln!(out, "nothing to scan: the scan set is empty")?;
        }
    }
    let files: std::collections::BTreeSet<&str> =
        outcome.findings.iter().map(|f| f.file.as_str()).collect();
    writeln!(
        out,
        "{} finding{} in {} file{}; {} file{} scanned, {} binary file{} skipped",
        outcome.findings.len(),
        plural(outcome.findings.len()),
        files.len(),
        plural(files.len()),
        outcome.files_scanned,
        plural(outcome.files_scanned),
        outcome.binary_skipped,
        plural(outcome.binary_skipped),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The JSON report: `{"scope": {...} | null, "findings": [...], "files_scanned": N,
/// "binary_skipped": N, "bytes_scanned": N, "errors": N}`; a finding's `commit` is set by
/// history scans; `scope` (`mode`, `summary`, `refs`, `commits`, `blobs`, `empty`) by Git scans.
pub fn json(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let findings: Vec<serde_json::Value> = outcome
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "rule": f.rule,
                "confidence": f.confidence.as_str(),
                "description": f.description,
                "fingerprint": f.fingerprint,
                "excerpt": f.excerpt,
                "hint": f.hint,
                "commit": f.commit,
            })
        })
        .collect();
    let scope = outcome.scope.as_ref().map(|s| {
        serde_json::json!({
            "mode": s.mode,
            "summary": s.summary,
            "refs": s.refs,
            "commits": s.commits,
            "blobs": s.blobs,
            "empty": s.empty,
        })
    });
    let doc = serde_json::json!({
        "scope": scope,
        "findings": findings,
        "files_scanned": outcome.files_scanned,
        "bytes_scanned": outcome.bytes_scanned,
        "binary_skipped": outcome.binary_skipped,
        "errors": outcome.errors.len(),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The SARIF 2.1.0 report for code scanning: one result per finding, the rules that fired in
/// `tool.driver.rules`, the fingerprint as a partial fingerprint (GitHub uses it to follow a
/// result across commits). Paths are written as given, with `/` and without a leading `./`.
pub fn sarif(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let mut rules: Vec<(&str, &str)> = Vec::new();
    for f in &outcome.findings {
        if !rules.iter().any(|(id, _)| *id == f.rule) {
            let description = if f.rule == "unencrypted-file" {
                "File that a .sops.yaml creation rule says must be encrypted holds plaintext"
            } else {
                f.description.as_str()
            };
            rules.push((f.rule, description));
        }
    }
    rules.sort();
    let rule_objects: Vec<serde_json::Value> = rules
        .iter()
        .map(|(id, description)| {
            serde_json::json!({
                "id": id,
                "shortDescription": { "text": description },
                "defaultConfiguration": { "level": "error" },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let uri = f
                .file
                .strip_prefix("./")
                .unwrap_or(&f.file)
                .replace('\\', "/");
            let mut message = f.description.clone();
            message.push_str(". Fix: ");
            message.push_str(&f.hint);
            let mut result = serde_json::json!({
                "ruleId": f.rule,
                "ruleIndex": rules.iter().position(|(id, _)| *id == f.rule),
                "level": if f.confidence == Confidence::Low { "warning" } else { "error" },
                // SARIF's priority, 0 to 100: code scanning sorts by it.
                "rank": match f.confidence {
                    Confidence::High => 90.0,
                    Confidence::Medium => 60.0,
                    Confidence::Low => 30.0,
                },
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": { "startLine": f.line, "startColumn": f.column },
                    }
                }],
                "partialFingerprints": { "secretFingerprint/v1": f.fingerprint },
            });
            result["properties"] = serde_json::json!({ "confidence": f.confidence.as_str() });
            if let Some(commit) = &f.commit {
                result["properties"]["commit"] = serde_json::json!(commit);
            }
            result
        })
        .collect();
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "secrets",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rule_objects,
                }
            },
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
