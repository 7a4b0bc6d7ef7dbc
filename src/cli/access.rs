//! `secrets access`: who can read which encrypted file, drift from the creation rules, and who
//! could read each version in Git history. Keyless.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use super::env;
use crate::access::{
    self, Directory, ExposedValue, FileAccess, HistoryAccess, Member, Reach, RuleStatus,
};
use crate::config::{self, Config};
use crate::document::metadata::Metadata;
use crate::document::{self, Format};
use crate::error::Error;
use crate::git::Repo;
use crate::time::format_date;

#[derive(clap::Args)]
pub struct AccessArgs {
    /// Files or folders to report on (default: the files tracked by the current Git
    /// repository, or the current folder outside one).
    paths: Vec<PathBuf>,
    /// One row per person (named in the `recipients:` section of .sops.yaml) instead of per file.
    #[arg(long, value_enum, default_value = "file")]
    by: By,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Output,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Exit with status 1 when a file's recipients differ from its creation rule, or no rule
    /// matches it (with --history: when a removed recipient could read a value still in use).
    #[arg(long)]
    fail: bool,
    /// Who could read each version of the files in Git history, and which current values a
    /// since-removed recipient could read.
    #[arg(long)]
    history: bool,
    /// Only this person (a name from `recipients:`, or a key).
    #[arg(long, value_name = "NAME")]
    who: Option<String>,
    /// Re-encrypt the data key of every drifted file for the recipients its rule lists now
    /// (as `updatekeys -y`); needs a key that opens those files.
    #[arg(long, conflicts_with = "history")]
    pub fix: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum By {
    File,
    Person,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
    Md,
}

/// What `run` found: the exit code, and the drifted files a rule covers (for `--fix`).
pub struct Outcome {
    pub code: u8,
    pub fixable: Vec<PathBuf>,
}

pub fn run(args: &AccessArgs, config_flag: Option<&Path>) -> Result<Outcome, Error> {
    let output = if args.json { Output::Json } else { args.format };
    let explicit = config_flag
        .map(Path::to_path_buf)
        .or_else(|| env::var(env::SOPS_CONFIG).map(PathBuf::from));
    if args.history {
        return run_history(args, output, explicit.as_deref());
    }
    let targets = encrypted_files(&args.paths)?;
    let mut configs = Configs::new(explicit);
    let mut reports = Vec::new();
    for (shown, path, meta) in &targets {
        let config = configs.for_file(path)?;
        reports.push((
            path.clone(),
            access::file_access(shown.clone(), path, meta, config),
        ));
    }
    let names = configs.names();
    let mut text = String::new();
    let reports_only: Vec<&FileAccess> = reports.iter().map(|(_, r)| r).collect();
    match (output, args.by) {
        (Output::Json, _) => text = render_json(&reports_only, &names),
        (Output::Text, By::File) => render_files(&mut text, &reports_only, args.who.as_deref()),
        (Output::Text, By::Person) => {
            render_people(&mut text, &reports_only, &names, args.who.as_deref())
        }
        (Output::Md, By::File) => render_files_md(&mut text, &reports_only),
        (Output::Md, By::Person) => render_people_md(&mut text, &reports_only, &names),
    }
    print!("{text}");
    let drifted: Vec<&(PathBuf, FileAccess)> =
        reports.iter().filter(|(_, r)| r.drifted()).collect();
    let fixable = drifted
        .iter()
        .filter(|(_, r)| matches!(r.rule, RuleStatus::Rule { .. }))
        .map(|(p, _)| p.clone())
        .collect();
    let code = u8::from(args.fail && !drifted.is_empty());
    Ok(Outcome { code, fixable })
}

/// Configs by path, loaded once each.
struct Configs {
    explicit: Option<PathBuf>,
    loaded: HashMap<PathBuf, Config>,
}

impl Configs {
    fn new(explicit: Option<PathBuf>) -> Configs {
        Configs {
            explicit,
            loaded: HashMap::new(),
        }
    }

    fn for_file(&mut self, path: &Path) -> Result<Option<&Config>, Error> {
        let Some(found) = config::find(self.explicit.as_deref(), path) else {
            return Ok(None);
        };
        if !self.loaded.contains_key(&found) {
            let config = Config::load(&found)?;
            self.loaded.insert(found.clone(), config);
        }
        Ok(self.loaded.get(&found))
    }

    /// Every name of every config loaded, in order, once.
    fn names(&self) -> Vec<String> {
        let mut configs: Vec<&Config> = self.loaded.values().collect();
        configs.sort_by(|a, b| a.path.cmp(&b.path));
        let mut out: Vec<String> = Vec::new();
        for c in configs {
            for r in &c.recipients {
                if !out.contains(&r.name) {
                    out.push(r.name.clone());
                }
            }
        }
        out
    }
}

/// The encrypted files to report on: (name shown, path, metadata), sorted by name.
fn encrypted_files(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf, Metadata)>, Error> {
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    if paths.is_empty() {
        match Repo::discover(Path::new(".")) {
            Ok(repo) => {
                let top = repo.workdir().to_path_buf();
                let cwd = std::env::current_dir().map_err(|source| Error::Read {
                    file: ".".into(),
                    source,
                })?;
                for (rel, _) in repo.tracked_files()? {
                    let full = top.join(&rel);
                    let shown = pathdiff(&full, &cwd).unwrap_or(rel);
                    candidates.push((shown, full));
                }
            }
            Err(_) => walk(Path::new("."), &mut candidates),
        }
    } else {
        for p in paths {
            if p.is_dir() {
                walk(p, &mut candidates);
            } else {
                candidates.push((p.display().to_string(), p.clone()));
            }
        }
    }
    let explicit: Vec<&PathBuf> = paths.iter().filter(|p| !p.is_dir()).collect();
    let mut found: Vec<(String, PathBuf, Metadata)> = candidates
        .into_par_iter()
        .filter_map(|(shown, path)| {
            let named = explicit.contains(&&path);
            match read_metadata(&path) {
                Ok(Some(meta)) => Some(Ok((shown, path, meta))),
                Ok(None) if named => Some(Err(Error::NotEncrypted { file: shown })),
                Ok(None) => None,
                Err(e) if named => Some(Err(e)),
                Err(_) => None,
            }
        })
        .collect::<Result<_, _>>()?;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// `path` relative to `base` when it is below it.
fn pathdiff(path: &Path, base: &Path) -> Option<String> {
    path.strip_prefix(base)
        .ok()
        .map(|p| p.display().to_string())
}

/// Files under a folder, honouring .gitignore and skipping hidden ones.
fn walk(dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in ignore::WalkBuilder::new(dir).build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let path = entry.into_path();
            let shown = path
                .strip_prefix("./")
                .unwrap_or(&path)
                .display()
                .to_string();
            out.push((shown, path));
        }
    }
}

/// A file's sops metadata, or `None` when it is not an encrypted file.
fn read_metadata(path: &Path) -> Result<Option<Metadata>, Error> {
    let file = path.display().to_string();
    if path.file_name().is_some_and(|n| n == config::FILE_NAME) {
        return Ok(None);
    }
    let bytes = super::read_input(path).map_err(|source| Error::Read {
        file: file.clone(),
        source,
    })?;
    if memchr::memmem::find(&bytes, b"sops").is_none()
        || memchr::memmem::find(&bytes, b"mac").is_none()
    {
        return Ok(None);
    }
    let format = Format::from_path(path);
    let doc = document::parse(format, &bytes).map_err(|source| Error::Document {
        file: file.clone(),
        source,
    })?;
    let Some(meta) = doc.metadata() else {
        return Ok(None);
    };
    Metadata::from_meta(meta)
        .map(Some)
        .map_err(|source| Error::Metadata { file, source })
}

fn labels(members: &[Member]) -> String {
    if members.is_empty() {
        return "nobody".into();
    }
    members
        .iter()
        .map(Member::label)
        .collect::<Vec<_>>()
        .join(", ")
}

fn rule_text(r: &FileAccess) -> String {
    match &r.rule {
        RuleStatus::NoConfig => "no .sops.yaml".into(),
        RuleStatus::NoRule { config } => format!("no creation rule in {}", shown(config)),
        RuleStatus::Rule { config, line, .. } => {
            format!("rule {} line {line}", shown(config))
        }
    }
}

/// A config's path as shown: relative to the current folder when it is below it.
fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| pathdiff(path, &cwd))
        .unwrap_or_else(|| path.display().to_string())
}

fn drift_text(r: &FileAccess) -> Option<String> {
    match &r.rule {
        RuleStatus::NoConfig | RuleStatus::NoRule { .. } => Some("no creation rule matches".into()),
        RuleStatus::Rule { drift: None, .. } => None,
        RuleStatus::Rule { drift: Some(d), .. } => {
            let mut parts = Vec::new();
            if !d.missing.is_empty() {
                parts.push(format!("missing {}", labels(&d.missing)));
            }
            if !d.extra.is_empty() {
                parts.push(format!("extra {}", labels(&d.extra)));
            }
            if let Some((fg, fneed, rg, rneed)) = d.groups {
                parts.push(format!(
                    "key groups differ: the file needs {fneed} of {fg}, the rule {rneed} of {rg}"
                ));
            }
            Some(parts.join("; "))
        }
    }
}

/// Who can open the file alone.
fn openers(r: &FileAccess) -> Vec<Member> {
    r.members()
        .into_iter()
        .filter(|m| r.reach(m) == Reach::Opens)
        .collect()
}

fn matches_who(member: &Member, who: Option<&str>) -> bool {
    who.is_none_or(|w| {
        member.name() == Some(w)
            || member.label() == w
            || access::canonical_key(w) == member.label()
    })
}

fn render_files(out: &mut String, reports: &[&FileAccess], who: Option<&str>) {
    let mut drifted = 0;
    for r in reports {
        if who.is_some() && !r.members().iter().any(|m| matches_who(m, who)) {
            continue;
        }
        let _ = writeln!(out, "{}  ({})", r.path, rule_text(r));
        if r.groups.len() <= 1 {
            let members = r
                .groups
                .first()
                .map(|g| g.members.clone())
                .unwrap_or_default();
            let _ = writeln!(out, "  readers: {}", labels(&members));
        } else {
            let _ = writeln!(out, "  any {} of {} key groups:", r.needed, r.groups.len());
            for (i, g) in r.groups.iter().enumerate() {
                let _ = writeln!(out, "    group {}: {}", i + 1, labels(&g.members));
            }
            let _ = writeln!(out, "  alone: {}", labels(&openers(r)));
        }
        if let Some(d) = drift_text(r) {
            drifted += 1;
            let _ = writeln!(out, "  DRIFT: {d}");
        }
    }
    let files = reports.len();
    let _ = writeln!(
        out,
        "{files} encrypted file{}, {drifted} with drift",
        if files == 1 { "" } else { "s" }
    );
}

/// Every member of every report: named people first (config order), then unnamed keys.
fn all_members(reports: &[&FileAccess], names: &[String]) -> Vec<Member> {
    let mut out: Vec<Member> = names.iter().map(|n| Member::Named(n.clone())).collect();
    let mut keys: Vec<Member> = Vec::new();
    for r in reports {
        for m in r.members() {
            if matches!(m, Member::Key(_)) && !keys.contains(&m) {
                keys.push(m);
            }
        }
    }
    keys.sort();
    out.extend(keys);
    out
}

fn reach_text(reach: Reach) -> String {
    match reach {
        Reach::Opens => "opens".into(),
        Reach::Share { held, needed } => format!("share: {held} of {needed} key groups needed"),
        Reach::None => "-".into(),
    }
}

fn render_people(out: &mut String, reports: &[&FileAccess], names: &[String], who: Option<&str>) {
    let width = reports.iter().map(|r| r.path.len()).max().unwrap_or(0);
    for m in all_members(reports, names) {
        if !matches_who(&m, who) {
            continue;
        }
        let _ = writeln!(out, "{}", m.label());
        let mut any = false;
        for r in reports {
            let reach = r.reach(&m);
            if reach != Reach::None {
                any = true;
                let _ = writeln!(out, "  {:width$}  {}", r.path, reach_text(reach));
            }
        }
        if !any {
            let _ = writeln!(out, "  (no file)");
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render_files_md(out: &mut String, reports: &[&FileAccess]) {
    let _ = writeln!(out, "| file | who can open it | rule | drift |");
    let _ = writeln!(out, "|---|---|---|---|");
    for r in reports {
        let readers = if r.groups.len() <= 1 {
            labels(
                &r.groups
                    .first()
                    .map(|g| g.members.clone())
                    .unwrap_or_default(),
            )
        } else {
            let groups: Vec<String> = r
                .groups
                .iter()
                .enumerate()
                .map(|(i, g)| format!("group {}: {}", i + 1, labels(&g.members)))
                .collect();
            format!(
                "any {} of {}: {}",
                r.needed,
                r.groups.len(),
                groups.join("; ")
            )
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            md_escape(&r.path),
            md_escape(&readers),
            md_escape(&rule_text(r)),
            md_escape(&drift_text(r).unwrap_or_else(|| "none".into()))
        );
    }
}

fn render_people_md(out: &mut String, reports: &[&FileAccess], names: &[String]) {
    let members = all_members(reports, names);
    let _ = write!(out, "| file |");
    for m in &members {
        let _ = write!(out, " {} |", md_escape(&m.label()));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---|".repeat(members.len()));
    for r in reports {
        let _ = write!(out, "| `{}` |", md_escape(&r.path));
        for m in &members {
            let cell = match r.reach(m) {
                Reach::Opens => "yes".to_string(),
                Reach::Share { held, needed } => format!("{held} of {needed} groups"),
                Reach::None => String::new(),
            };
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out);
    }
}

fn member_json(m: &Member) -> serde_json::Value {
    match m {
        Member::Named(n) => json!({"name": n}),
        Member::Key(k) => json!({"key": k}),
    }
}

fn render_json(reports: &[&FileAccess], names: &[String]) -> String {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let (rule, drift) = match &r.rule {
                RuleStatus::NoConfig => (serde_json::Value::Null, json!({"no_rule": true})),
                RuleStatus::NoRule { config } => (
                    json!({"config": shown(config), "line": null}),
                    json!({"no_rule": true}),
                ),
                RuleStatus::Rule {
                    config,
                    line,
                    drift,
                } => (
                    json!({"config": shown(config), "line": line}),
                    match drift {
                        None => serde_json::Value::Null,
                        Some(d) => json!({
                            "missing": d.missing.iter().map(member_json).collect::<Vec<_>>(),
                            "extra": d.extra.iter().map(member_json).collect::<Vec<_>>(),
                            "groups_differ": d.groups.is_some(),
                        }),
                    },
                ),
            };
            json!({
                "file": r.path,
                "rule": rule,
                "groups_needed": r.needed,
                "groups": r.groups.iter().map(|g| json!({
                    "members": g.members.iter().map(member_json).collect::<Vec<_>>(),
                    "keys": g.keys,
                })).collect::<Vec<_>>(),
                "can_open_alone": openers(r).iter().map(member_json).collect::<Vec<_>>(),
                "drift": drift,
            })
        })
        .collect();
    let people: Vec<serde_json::Value> = all_members(reports, names)
        .iter()
        .map(|m| {
            let access: Vec<serde_json::Value> = reports
                .iter()
                .filter_map(|r| match r.reach(m) {
                    Reach::None => None,
                    Reach::Opens => Some(json!({"file": r.path, "opens": true})),
                    Reach::Share { held, needed } => Some(
                        json!({"file": r.path, "opens": false, "groups_held": held, "groups_needed": needed}),
                    ),
                })
                .collect();
            let mut v = member_json(m);
            v["files"] = json!(access);
            v
        })
        .collect();
    let drifted = reports.iter().filter(|r| r.drifted()).count();
    let mut text = serde_json::to_string_pretty(&json!({
        "files": files,
        "people": people,
        "drifted": drifted,
    }))
    .unwrap_or_default();
    text.push('\n');
    text
}

fn run_history(
    args: &AccessArgs,
    output: Output,
    explicit: Option<&Path>,
) -> Result<Outcome, Error> {
    let files: Vec<PathBuf> = if args.paths.is_empty() {
        encrypted_files(&[])?
            .into_iter()
            .map(|(_, p, _)| p)
            .collect()
    } else {
        let mut out = Vec::new();
        for p in &args.paths {
            if p.is_dir() {
                out.extend(
                    encrypted_files(std::slice::from_ref(p))?
                        .into_iter()
                        .map(|(_, p, _)| p),
                );
            } else {
                out.push(p.clone());
            }
        }
        out
    };
    let mut configs = Configs::new(explicit.map(Path::to_path_buf));
    let mut reports: Vec<HistoryAccess> = Vec::new();
    for file in &files {
        let repo = Repo::discover(file)?;
        let rel = repo.relative_path(file)?;
        let dir = configs
            .for_file(file)?
            .map(|c| Directory::new(&c.recipients))
            .unwrap_or_default();
        let mut report = access::history_access(&repo, &rel, &dir)?;
        if let Some(who) = args.who.as_deref() {
            report.periods.retain(|p| matches_who(&p.member, Some(who)));
            report.exposed.retain(|e| matches_who(&e.member, Some(who)));
        }
        reports.push(report);
    }
    let exposed = reports.iter().map(|r| r.exposed.len()).sum::<usize>();
    let text = match output {
        Output::Json => history_json(&reports),
        Output::Text => history_text(&reports, false),
        Output::Md => history_text(&reports, true),
    };
    print!("{text}");
    Ok(Outcome {
        code: u8::from(args.fail && exposed > 0),
        fixable: Vec::new(),
    })
}

fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

fn history_text(reports: &[HistoryAccess], md: bool) -> String {
    let mut out = String::new();
    for r in reports {
        if md {
            let _ = writeln!(out, "### `{}`\n", md_escape(&r.path));
            let _ = writeln!(out, "| who | from | until |");
            let _ = writeln!(out, "|---|---|---|");
        } else {
            let _ = writeln!(out, "{}: who could read it", r.path);
        }
        let width = r
            .periods
            .iter()
            .map(|p| p.member.label().chars().count())
            .max()
            .unwrap_or(0);
        for p in &r.periods {
            let from = format!("{} {}", short(&p.from.0), format_date(p.from.1));
            let until = match &p.until {
                Some((c, t)) => format!("{} {} (removed)", short(c), format_date(*t)),
                None => "now".into(),
            };
            if md {
                let _ = writeln!(
                    out,
                    "| {} | {from} | {until} |",
                    md_escape(&p.member.label())
                );
            } else {
                let _ = writeln!(out, "  {:width$}  {from} .. {until}", p.member.label());
            }
        }
        if r.unreadable > 0 {
            let _ = writeln!(
                out,
                "  ({} version(s) could not be read and were skipped)",
                r.unreadable
            );
        }
        if r.exposed.is_empty() {
            let _ = writeln!(
                out,
                "{}no value is readable by a removed recipient",
                if md { "\n" } else { "  " }
            );
        } else {
            exposed_text(&mut out, &r.exposed, md);
        }
        let _ = writeln!(out);
    }
    out
}

fn exposed_text(out: &mut String, exposed: &[ExposedValue], md: bool) {
    if md {
        let _ = writeln!(
            out,
            "\nValues a removed recipient could read, unchanged since:\n"
        );
        let _ = writeln!(
            out,
            "| key | readable by | removed in | value last changed |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
    } else {
        let _ = writeln!(
            out,
            "  values a removed recipient could read, unchanged since (rotate them):"
        );
    }
    for e in exposed {
        let removed = format!("{} {}", short(&e.removed_in), format_date(e.removed_at));
        let changed = format!("{} {}", short(&e.changed_in), format_date(e.changed_at));
        if md {
            let _ = writeln!(
                out,
                "| `{}` | {} | {removed} | {changed} |",
                md_escape(&e.key),
                md_escape(&e.member.label())
            );
        } else {
            let _ = writeln!(
                out,
                "    {}  {}  removed in {removed}; value last changed in {changed}",
                e.key,
                e.member.label()
            );
        }
    }
}

fn history_json(reports: &[HistoryAccess]) -> String {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "file": r.path,
                "periods": r.periods.iter().map(|p| json!({
                    "member": member_json(&p.member),
                    "from_commit": p.from.0,
                    "from_time": p.from.1,
                    "until_commit": p.until.as_ref().map(|u| &u.0),
                    "until_time": p.until.as_ref().map(|u| u.1),
                })).collect::<Vec<_>>(),
                "exposed": r.exposed.iter().map(|e| json!({
                    "key": e.key,
                    "member": member_json(&e.member),
                    "removed_in": e.removed_in,
                    "removed_at": e.removed_at,
                    "changed_in": e.changed_in,
                    "changed_at": e.changed_at,
                })).collect::<Vec<_>>(),
                "unreadable_versions": r.unreadable,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({ "files": files })).unwrap_or_default();
    text.push('\n');
    text
}
