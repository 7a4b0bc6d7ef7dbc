//! `secrets check` (types, policies, expiry, rotation; a CI gate with `--fail`) and
//! `secrets list` (the inventory, without decrypting).
//!
//! Git history (when each key last changed) comes in as a [`History`] per file, from
//! `history::last_changes` (see `history_for`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::{choose_format, display_name, env, identities, metadata_of};
use crate::config::{self, Config};
use crate::crypto::{self, keys};
use crate::document::tree::PathStep;
use crate::document::{self, Format, Replacement, Value as DocValue};
use crate::error::Error;
use crate::lifecycle::check::{self, History, KeyReport, LastChange, ListEntry};
use crate::time;
use crate::{git, history};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Files or folders (default: the current folder, `.gitignore` honoured).
    paths: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 when there is any finding (for CI).
    #[arg(long)]
    fail: bool,
    /// The format of the named files (default: from each file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// Files or folders (default: the current folder, `.gitignore` honoured).
    paths: Vec<PathBuf>,
    /// Print the inventory as JSON.
    #[arg(long)]
    json: bool,
    /// The format of the named files (default: from each file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

/// When each key of a file last changed, from Git (as `secrets stale` computes it, so
/// re-encryptions do not count), keyed as the checker names keys (`["db"]["password"]`). A file
/// outside a repository, or never committed, has no history: no `rotation-due` finding and no
/// "last changed" column. List items share their list's key: the oldest change counts.
fn history_for(file: &Path) -> History {
    let Ok(repo) = git::Repo::discover(file) else {
        return HashMap::new();
    };
    let Ok(rel) = repo.relative_path(file) else {
        return HashMap::new();
    };
    let Ok(changes) = history::last_changes(&repo, &rel) else {
        return HashMap::new();
    };
    let mut by_key: History = HashMap::new();
    for (path, change) in changes {
        let Ok(steps) = history::parse_key_path(&path) else {
            continue;
        };
        let keys: Vec<String> = steps
            .into_iter()
            .filter_map(|step| match step {
                PathStep::Key(k) => Some(k),
                PathStep::Index(_) => None,
            })
            .collect();
        let change = LastChange {
            commit: change.commit,
            author: change.author,
            time: change.time,
        };
        by_key
            .entry(document::display_path(&keys))
            .and_modify(|known| {
                if change.time < known.time {
                    *known = change.clone();
                }
            })
            .or_insert(change);
    }
    by_key
}

/// A file found for checking: encrypted (with its document), or plaintext.
enum Candidate {
    Encrypted(Box<dyn document::Document>),
    Plain(Vec<u8>),
}

/// The files to look at: those named, and the files under the folders named.
fn files(paths: &[PathBuf], config: Option<&Path>) -> Result<(Vec<PathBuf>, Vec<String>), Error> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        return Err(Error::Read {
            file: display_name(missing),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    let settings = crate::scan::sources::WalkSettings {
        no_ignore: false,
        config: config.map(Path::to_path_buf),
    };
    let (found, errors) = crate::scan::sources::collect(paths, &settings);
    let mut out: Vec<PathBuf> = found.into_iter().flatten().collect();
    // Named files are kept even when .gitignore'd; folders are walked.
    for p in paths {
        if p.is_file() && !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok((out, errors.iter().map(ToString::to_string).collect()))
}

/// Read and classify one file; None for a file that is neither sops-encrypted nor parseable.
fn classify(path: &Path, input_type: Option<&str>) -> Result<Candidate, Error> {
    let file = display_name(path);
    let bytes = fs_err::read(path).map_err(|source| Error::Read {
        file: file.clone(),
        source,
    })?;
    if memchr::memmem::find(&bytes, b"sops").is_none() {
        return Ok(Candidate::Plain(bytes));
    }
    let format = choose_format(input_type, path)?;
    // sops writes binary files as JSON.
    let parse_as = if format == Format::Binary {
        Format::Json
    } else {
        format
    };
    match document::parse(parse_as, &bytes) {
        Ok(doc) if doc.metadata().is_some() => {
            let doc = if format == Format::Binary {
                document::parse(format, &bytes)
                    .map_err(|source| Error::Document { file, source })?
            } else {
                doc
            };
            Ok(Candidate::Encrypted(doc))
        }
        _ => Ok(Candidate::Plain(bytes)),
    }
}

/// `.sops.yaml` files by path, loaded once.
struct Configs {
    explicit: Option<PathBuf>,
    loaded: HashMap<PathBuf, Arc<Config>>,
}

impl Configs {
    fn for_file(&mut self, file: &Path) -> Result<Option<Arc<Config>>, Error> {
        let Some(path) = config::find(self.explicit.as_deref(), file) else {
            return Ok(None);
        };
        if let Some(c) = self.loaded.get(&path) {
            return Ok(Some(c.clone()));
        }
        let c = Arc::new(Config::load(&path)?);
        self.loaded.insert(path, c.clone());
        Ok(Some(c))
    }
}

fn explicit_config(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| env::var(env::SOPS_CONFIG).map(PathBuf::from))
}

/// What `check` found in one file.
struct FileReport {
    file: String,
    /// None when the values were checked; else why not (no key).
    skipped: Option<String>,
    keys: Vec<KeyReport>,
    file_findings: Vec<check::Finding>,
}

impl FileReport {
    fn findings(&self) -> usize {
        self.file_findings.len() + self.keys.iter().map(|k| k.findings.len()).sum::<usize>()
    }
}

pub fn check(
    args: CheckArgs,
    identity_flags: &[PathBuf],
    config_flag: Option<&Path>,
) -> Result<u8, Error> {
    let explicit = explicit_config(config_flag);
    let (paths, walk_errors) = files(&args.paths, explicit.as_deref())?;
    if let Some(e) = walk_errors.first() {
        return Err(Error::Usage(e.clone()));
    }
    let rules = crate::scan::CreationRules::new(explicit.clone());
    let mut configs = Configs {
        explicit,
        loaded: HashMap::new(),
    };
    let found = identities::discover(identity_flags);
    let now = time::now();
    let mut reports = Vec::new();
    for path in &paths {
        let file = display_name(path);
        match classify(path, args.input_type.as_deref())? {
            Candidate::Plain(bytes) => {
                let finding = rules.check(path, &bytes, &file).map_err(|e| match e {
                    crate::scan::Error::Config { source, .. } => Error::Config(source),
                    other => Error::Usage(other.to_string()),
                })?;
                if let Some(f) = finding {
                    reports.push(FileReport {
                        file,
                        skipped: None,
                        keys: Vec::new(),
                        file_findings: vec![check::Finding {
                            rule: "unencrypted-file",
                            message: f.description,
                        }],
                    });
                }
            }
            Candidate::Encrypted(doc) => {
                let meta = metadata_of(doc.as_ref(), &file)?;
                let cfg = configs.for_file(path)?;
                let (policies, rel) = match &cfg {
                    Some(c) => (&c.policies[..], c.match_path(path)),
                    None => (&[][..], file.clone()),
                };
                let key = match keys::recover_data_key(&meta, &found.identities) {
                    Ok(k) => k,
                    Err(source) => {
                        reports.push(FileReport {
                            file,
                            skipped: Some(format!(
                                "not decrypted, so its values were not checked: {source}"
                            )),
                            keys: Vec::new(),
                            file_findings: Vec::new(),
                        });
                        continue;
                    }
                };
                let decrypted = crypto::decrypt_with_key(doc.as_ref(), &meta, &key, true)
                    .map_err(|source| Error::from_crypto(&file, source))?;
                let leaves = doc.leaves();
                let mut values = Vec::new();
                for (leaf, edit) in leaves.iter().zip(&decrypted.edits) {
                    if leaf.comment {
                        continue;
                    }
                    let (bytes, encrypted): (&[u8], bool) = match (edit, &leaf.value) {
                        (Some(Replacement::Decrypted(p)), _) => (&p.bytes, true),
                        (None, DocValue::Str(s)) => (s.as_bytes(), false),
                        _ => continue,
                    };
                    values.push(check::Value {
                        path: &leaf.path,
                        line: leaf.line,
                        bytes,
                        encrypted,
                    });
                }
                let history = history_for(path);
                reports.push(FileReport {
                    keys: check::check_values(&values, policies, &rel, now, &history),
                    file,
                    skipped: None,
                    file_findings: Vec::new(),
                });
            }
        }
    }
    let total: usize = reports.iter().map(FileReport::findings).sum();
    let out = if args.json {
        let files: Vec<_> = reports.iter().map(file_json).collect();
        let out = json!({ "files": files, "findings": total });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&out).unwrap_or_default()
        )
    } else {
        render_check(&reports, total)
    };
    super::write_output(out.as_bytes(), None, None, 0)?;
    let skipped = reports.iter().filter(|r| r.skipped.is_some()).count();
    if skipped > 0 {
        eprintln!(
            "notice: {skipped} file(s) could not be decrypted (no identity for them): their values were not checked"
        );
    }
    Ok(if args.fail && total > 0 { 1 } else { 0 })
}

fn last_change_json(c: &Option<LastChange>) -> serde_json::Value {
    match c {
        Some(c) => json!({
            "commit": c.commit,
            "author": c.author,
            "date": time::format_time(c.time),
        }),
        None => serde_json::Value::Null,
    }
}

fn file_json(r: &FileReport) -> serde_json::Value {
    let keys: Vec<_> = r
        .keys
        .iter()
        .map(|k| {
            json!({
                "key": k.key,
                "line": k.line,
                "type": k.kind.map(|t| t.name()),
                "declared": k.declared,
                "policy_line": k.policy_line,
                "certificates": k.certificates.iter().map(|c| json!({
                    "subject": c.subject,
                    "not_after": time::format_time(c.not_after),
                })).collect::<Vec<_>>(),
                "last_changed": last_change_json(&k.last_change),
                "findings": findings_json(&k.findings),
            })
        })
        .collect();
    json!({
        "file": r.file,
        "checked": r.skipped.is_none(),
        "notice": r.skipped,
        "findings": findings_json(&r.file_findings),
        "keys": keys,
    })
}

fn findings_json(f: &[check::Finding]) -> Vec<serde_json::Value> {
    f.iter()
        .map(|f| json!({ "rule": f.rule, "message": f.message }))
        .collect()
}

fn render_check(reports: &[FileReport], total: usize) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    for r in reports {
        let _ = writeln!(o, "{}", r.file);
        for f in &r.file_findings {
            let _ = writeln!(o, "  {}: {}", f.rule, f.message);
        }
        if let Some(why) = &r.skipped {
            let _ = writeln!(o, "  notice: {why}");
        }
        for k in &r.keys {
            let kind = match (k.kind, k.declared) {
                (Some(t), true) => t.name().to_string(),
                (Some(t), false) => format!("{} (detected)", t.name()),
                (None, _) => "-".to_string(),
            };
            let status = if k.findings.is_empty() {
                "ok"
            } else {
                "FINDING"
            };
            let _ = writeln!(o, "  {}  {kind}  {status}", k.key);
            for c in &k.certificates {
                let _ = writeln!(
                    o,
                    "    certificate: {}, not after {}",
                    c.subject,
                    time::format_time(c.not_after)
                );
            }
            for f in &k.findings {
                let _ = writeln!(o, "    {}: {}", f.rule, f.message);
            }
        }
    }
    let files = reports.len();
    let _ = writeln!(o, "{total} finding(s) in {files} file(s)");
    o
}

pub fn list(args: ListArgs, config_flag: Option<&Path>) -> Result<(), Error> {
    let explicit = explicit_config(config_flag);
    let (paths, walk_errors) = files(&args.paths, explicit.as_deref())?;
    if let Some(e) = walk_errors.first() {
        return Err(Error::Usage(e.clone()));
    }
    let mut configs = Configs {
        explicit,
        loaded: HashMap::new(),
    };
    let mut rows: Vec<(String, ListEntry)> = Vec::new();
    for path in &paths {
        let file = display_name(path);
        let Candidate::Encrypted(doc) = classify(path, args.input_type.as_deref())? else {
            continue;
        };
        let cfg = configs.for_file(path)?;
        let (policies, rel) = match &cfg {
            Some(c) => (&c.policies[..], c.match_path(path)),
            None => (&[][..], file.clone()),
        };
        let values: Vec<(Vec<String>, usize)> = doc
            .leaves()
            .iter()
            .filter(|l| !l.comment && matches!(&l.value, DocValue::Str(s) if crate::document::envelope::claims_encryption(s)))
            .map(|l| (l.path.clone(), l.line))
            .collect();
        let history = history_for(path);
        for e in check::list_values(&values, policies, &rel, &history) {
            rows.push((file.clone(), e));
        }
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(file, e)| {
                json!({
                    "file": file,
                    "key": e.key,
                    "line": e.line,
                    "type": e.kind.map(|t| t.name()),
                    "declared": e.declared,
                    "description": e.description,
                    "owner": e.owner,
                    "rotate_every": e.rotate_every.map(time::format_duration),
                    "last_changed": last_change_json(&e.last_change),
                    "expires": e.expires.map(time::format_date),
                })
            })
            .collect();
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(&out).unwrap_or_default()
        );
        return super::write_output(text.as_bytes(), None, None, 0);
    }
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|(file, e)| {
            [
                file.clone(),
                e.key.clone(),
                match (e.kind, e.declared) {
                    (Some(t), true) => t.name().to_string(),
                    (Some(t), false) => format!("{}?", t.name()),
                    (None, _) => "-".into(),
                },
                e.owner.clone().unwrap_or_else(|| "-".into()),
                e.last_change
                    .as_ref()
                    .map(|c| {
                        format!(
                            "{} {} {}",
                            time::format_date(c.time),
                            c.commit.get(..8).unwrap_or(&c.commit),
                            c.author
                        )
                    })
                    .unwrap_or_else(|| "-".into()),
                e.expires
                    .map(time::format_date)
                    .unwrap_or_else(|| "-".into()),
                e.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "FILE",
        "KEY",
        "TYPE",
        "OWNER",
        "LAST CHANGED",
        "EXPIRES",
        "DESCRIPTION",
    ]
    .map(String::from);
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(&table) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&table) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    super::write_output(text.as_bytes(), None, None, 0)
}
