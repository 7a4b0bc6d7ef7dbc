//! The real-file corpus (fixtures/corpus, see its SOURCES.md), measured with three readers.
//!
//! For every file: `secrets encrypt` then `secrets decrypt` must give the same bytes (or encrypt
//! refuses cleanly: exit 5 naming line and column); sops 3.11 must decrypt our file to the same
//! data as its own encryption of the same plaintext; sops-age 4.0.2 (npm) must read our file to
//! the same data as sops's own file (where it cannot read sops's own file either, that is its
//! bug, listed in the report). Per-format counts are printed (`cargo test --test cli corpus --
//! --nocapture`) and a per-file report is written to target/corpus-report.json.

#![allow(clippy::print_stdout)] // the per-format figures, shown with --nocapture

use crate::util::{Env, root};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Refusals allowed, as a fraction of the corpus: issue 13's floor.
const MAX_REFUSED: f64 = 0.005;

/// Refusals allowed today, as a count: a ratchet (lower it as refusals go, never raise it).
/// Above the 0.5% floor: INI values continued on indented lines and keys without `=` (47 files,
/// Python's configparser style, which sops refuses too), INI keys repeated in a section (13,
/// sops keeps the last), YAML files whose top level is a list (21, as sops refuses), a comment-only
/// YAML file (nothing to encrypt), a dotenv file of bare names, JSON with a trailing comma-like
/// construct. Each is listed with its line and column when the test runs; issue 13 stays open
/// until this is at most the floor.
const MAX_REFUSED_TODAY: usize = 84;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Format {
    Yaml,
    Json,
    Toml,
    Dotenv,
    Ini,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "toml" => Format::Toml,
            "env" => Format::Dotenv,
            "ini" | "cfg" => Format::Ini,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Format::Dotenv => "env",
            f => f.name(),
        }
    }
    /// sops-age's name for the format, if it reads it.
    fn sops_age(self) -> Option<&'static str> {
        match self {
            Format::Yaml => Some("yaml"),
            Format::Json => Some("json"),
            Format::Dotenv => Some("env"),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Outcome {
    file: String,
    class: &'static str,
    detail: String,
    /// sops decrypts our file to the same data as its own: None when not checked.
    sops: Option<Result<(), String>>,
    sops_age: Option<Result<(), String>>,
    /// sops-age cannot read sops's own encryption of this file (its bug): the error.
    sops_age_own_error: Option<String>,
    ours_enc: Option<PathBuf>,
    theirs_enc: Option<PathBuf>,
}

fn corpus_files() -> Vec<(PathBuf, Format)> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("fixtures/corpus")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(f) = Format::of(&path) {
                out.push((path, f));
            }
        }
    }
    out.sort();
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root().join("fixtures/corpus"))
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Run `cmd` over the items on `threads` threads.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() {
                        break;
                    }
                    let r = f(i, &items[i]);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

fn sops_json(env: &Env, enc: &Path, format: Format) -> Result<Value, String> {
    let out = env
        .sops()
        .args([
            "decrypt",
            "--input-type",
            format.name(),
            "--output-type",
            "json",
        ])
        .arg(enc)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(first_line(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("sops printed no JSON: {e}"))
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

fn measure(env: &Env, i: usize, plain: &Path, format: Format) -> Outcome {
    let mut o = Outcome {
        file: rel(plain),
        ..Outcome::default()
    };
    let enc = env
        .secrets()
        .args([
            "encrypt",
            "--input-type",
            format.name(),
            "--age",
            &env.recipient,
        ])
        .arg(plain)
        .output()
        .unwrap();
    match enc.status.code() {
        Some(0) => {}
        Some(5) => {
            let err = first_line(&enc.stderr);
            let placed = err.contains("line ") && err.contains("column ");
            o.class = if placed {
                "refused"
            } else {
                "refused-unplaced"
            };
            o.detail = err;
            return o;
        }
        // Nothing to encrypt (only comments): a clear refusal with its own exit code.
        Some(13) => {
            o.class = "refused";
            o.detail = first_line(&enc.stderr);
            return o;
        }
        code => {
            o.class = "crashed";
            o.detail = format!("encrypt exit {code:?}: {}", first_line(&enc.stderr));
            return o;
        }
    }
    let ours = env.write(&format!("ours-{i}.{}", format.ext()), &enc.stdout);
    let dec = env
        .secrets_with_key()
        .args(["decrypt", "--input-type", format.name()])
        .arg(&ours)
        .output()
        .unwrap();
    if !dec.status.success() {
        o.class = "crashed";
        o.detail = format!(
            "decrypt exit {:?}: {}",
            dec.status.code(),
            first_line(&dec.stderr)
        );
        return o;
    }
    let original = std::fs::read(plain).unwrap();
    if dec.stdout == original {
        o.class = "exact";
    } else {
        o.class = "changed";
        o.detail = first_difference(&original, &dec.stdout);
    }
    o.ours_enc = Some(ours.clone());
    if format == Format::Toml {
        return o; // sops has no TOML store
    }
    let theirs = env
        .sops()
        .args([
            "encrypt",
            "--input-type",
            format.name(),
            "--output-type",
            format.name(),
        ])
        .args(["--age", &env.recipient])
        .arg(plain)
        .output()
        .unwrap();
    if !theirs.status.success() {
        o.sops = Some(Ok(()));
        o.detail = format!("sops refuses the plaintext: {}", first_line(&theirs.stderr));
        return o;
    }
    let theirs_path = env.write(&format!("theirs-{i}.{}", format.ext()), &theirs.stdout);
    o.sops = Some(
        match (
            sops_json(env, &ours, format),
            sops_json(env, &theirs_path, format),
        ) {
            (Ok(a), Ok(b)) if a == b => Ok(()),
            (Ok(_), Ok(_)) => Err("sops reads different data from our file".into()),
            (Err(e), _) => Err(format!("sops cannot decrypt our file: {e}")),
            (_, Err(e)) => Err(format!("sops cannot decrypt its own file: {e}")),
        },
    );
    o.theirs_enc = Some(theirs_path);
    o
}

/// Line and column of the first differing byte, and the two lines there.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let line = a[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    let start = a[..at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let snip = |s: &[u8]| {
        let end = s[start.min(s.len())..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(s.len(), |p| start + p);
        String::from_utf8_lossy(&s[start.min(s.len())..end.max(start.min(s.len()))])
            .chars()
            .take(80)
            .collect::<String>()
    };
    format!(
        "line {line} column {}: {:?} came back as {:?}",
        at - start + 1,
        snip(a),
        snip(b)
    )
}

/// sops-age over a list of (type, file) in one node process; results by file.
fn sops_age_batch(
    env: &Env,
    items: &[(&'static str, PathBuf)],
) -> BTreeMap<PathBuf, Result<Value, String>> {
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/sops-age-decrypt.mjs"))
        .arg(&env.key_file);
    for (t, f) in items {
        cmd.arg(format!("{t}:{}", f.display()));
    }
    let out = cmd
        .output()
        .expect("node is needed for the sops-age reader");
    assert!(
        out.status.success(),
        "sops-age script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut results = BTreeMap::new();
    for line in out.stdout.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap();
        let file = PathBuf::from(v["file"].as_str().unwrap());
        let r = if v["ok"] == true {
            Ok(v["data"].clone())
        } else {
            Err(v["error"].as_str().unwrap_or("").to_string())
        };
        results.insert(file, r);
    }
    results
}

fn run_sops_age(env: &Env, outcomes: &mut [Outcome], formats: &[Format], threads: usize) {
    let mut items = Vec::new();
    for (o, f) in outcomes.iter().zip(formats) {
        if let (Some(t), Some(ours), Some(theirs)) = (f.sops_age(), &o.ours_enc, &o.theirs_enc) {
            items.push((t, ours.clone()));
            items.push((t, theirs.clone()));
        }
    }
    let chunk = items.len().div_ceil(threads).max(1);
    let chunks: Vec<_> = items.chunks(chunk).collect();
    let mut results = BTreeMap::new();
    for r in par_map(&chunks, threads, |_, c| sops_age_batch(env, c)) {
        results.extend(r);
    }
    for o in outcomes.iter_mut() {
        let (Some(ours), Some(theirs)) = (&o.ours_enc, &o.theirs_enc) else {
            continue;
        };
        let (Some(a), Some(b)) = (results.get(ours), results.get(theirs)) else {
            continue;
        };
        match (a, b) {
            (_, Err(e)) => o.sops_age_own_error = Some(e.clone()),
            (Ok(a), Ok(b)) if a == b => o.sops_age = Some(Ok(())),
            (Ok(_), Ok(_)) => {
                o.sops_age = Some(Err("sops-age reads different data from our file".into()))
            }
            (Err(e), Ok(_)) => {
                o.sops_age = Some(Err(format!("sops-age cannot read our file: {e}")))
            }
        }
    }
}

#[test]
fn corpus_round_trips_and_three_readers_agree() {
    let files = corpus_files();
    assert!(
        files.len() >= 1000,
        "the corpus has only {} files",
        files.len()
    );
    let env = Env::new();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let mut outcomes = par_map(&files, threads, |i, (p, f)| measure(&env, i, p, *f));
    let formats: Vec<Format> = files.iter().map(|(_, f)| *f).collect();
    run_sops_age(&env, &mut outcomes, &formats, threads);

    let mut counts: BTreeMap<Format, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut sops_age_bugs = Vec::new();
    for (o, f) in outcomes.iter().zip(&formats) {
        let c = counts.entry(*f).or_default();
        *c.entry(o.class).or_default() += 1;
        *c.entry("total").or_default() += 1;
        if matches!(o.sops, Some(Ok(()))) {
            *c.entry("sops-agrees").or_default() += 1;
        }
        if matches!(o.sops_age, Some(Ok(()))) {
            *c.entry("sops-age-agrees").or_default() += 1;
        }
        if matches!(o.class, "changed" | "crashed" | "refused-unplaced") {
            failures.push(format!("{} {}: {}", o.class, o.file, o.detail));
        }
        if let Some(Err(e)) = &o.sops {
            failures.push(format!("sops {}: {e}", o.file));
        }
        if let Some(Err(e)) = &o.sops_age {
            failures.push(format!("sops-age {}: {e}", o.file));
        }
        if let Some(e) = &o.sops_age_own_error {
            *c.entry("sops-age-bug").or_default() += 1;
            sops_age_bugs.push(format!("{}: {e}", o.file));
        }
        report.push(json!({
            "file": o.file, "format": f.name(), "class": o.class, "detail": o.detail,
            "sops": o.sops.as_ref().map(|r| r.clone().err().unwrap_or_else(|| "agrees".into())),
            "sops_age": o.sops_age.as_ref().map(|r| r.clone().err().unwrap_or_else(|| "agrees".into())),
            "sops_age_cannot_read_sops_own_file": o.sops_age_own_error,
        }));
    }
    let report_path = root().join("target/corpus-report.json");
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();

    println!(
        "corpus: {} files; per-file report in {}",
        files.len(),
        report_path.display()
    );
    for (f, c) in &counts {
        let g = |k: &str| c.get(k).copied().unwrap_or(0);
        println!(
            "{:7} total {:4}  exact {:4}  changed {:3}  refused {:3}  crashed {:3}  sops agrees {:4}  sops-age agrees {:4}  sops-age cannot read sops's own {:3}",
            f.name(),
            g("total"),
            g("exact"),
            g("changed"),
            g("refused") + g("refused-unplaced"),
            g("crashed"),
            g("sops-agrees"),
            g("sops-age-agrees"),
            g("sops-age-bug")
        );
    }
    for b in &sops_age_bugs {
        println!("sops-age bug (cannot read sops's own file): {b}");
    }
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|o| o.class.starts_with("refused"))
        .collect();
    for o in &refused {
        println!("refused {}: {}", o.file, o.detail);
    }
    let floor = (files.len() as f64 * MAX_REFUSED).floor() as usize;
    println!(
        "refusals: {} of {} files ({:.1}%; issue 13's floor is {floor}, 0.5%)",
        refused.len(),
        files.len(),
        100.0 * refused.len() as f64 / files.len() as f64
    );
    if refused.len() > MAX_REFUSED_TODAY.max(floor) {
        failures.push(format!(
            "{} refusals, more than the {MAX_REFUSED_TODAY} of the last count",
            refused.len()
        ));
    }
    if !failures.is_empty() {
        let shown: Vec<_> = failures
            .iter()
            .take(60)
            .map(|s| s.chars().take(220).collect::<String>())
            .collect();
        panic!(
            "{} corpus failures (first {} below; all in {}):\n{}",
            failures.len(),
            shown.len(),
            report_path.display(),
            shown.join("\n")
        );
    }
}
