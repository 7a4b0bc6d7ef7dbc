//! Reports: text for people, JSON for tools. Neither ever holds a secret.

use std::io::{self, Write};

use super::sources::Outcome;

/// The text report: one block per finding, then a summary line.
pub fn text(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for f in &outcome.findings {
        writeln!(
            out,
            "{}:{}:{}: {} ({})",
            f.file, f.line, f.column, f.description, f.rule
        )?;
        if !f.excerpt.is_empty() {
            writeln!(out, "    {}", f.excerpt)?;
        }
        writeln!(out, "    fingerprint: {}", f.fingerprint)?;
        writeln!(out, "    hint: {}", f.hint)?;
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

/// The JSON report: `{"findings": [...], "files_scanned": N, "binary_skipped": N, "bytes_scanned": N}`.
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
                "description": f.description,
                "fingerprint": f.fingerprint,
                "excerpt": f.excerpt,
                "hint": f.hint,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "findings": findings,
        "files_scanned": outcome.files_scanned,
        "bytes_scanned": outcome.bytes_scanned,
        "binary_skipped": outcome.binary_skipped,
        "errors": outcome.errors.len(),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
