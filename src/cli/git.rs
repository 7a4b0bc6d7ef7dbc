//! `secrets git textconv`, `secrets git setup` and `secrets git merge-driver`: the pieces Git
//! runs so that `git diff`, `git log -p` and `git merge` understand encrypted files.
//!
//! Git is only read or configured here (`git config`, `git ls-files`, `git check-attr`,
//! `git merge-file` on temp files); history is never written.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use zeroize::Zeroizing;

use super::{display_name, env, identities};
use crate::config;
use crate::crypto::{self, DataKey, keys};
use crate::document::metadata::Metadata;
use crate::document::{self, Document, Format, tree};
use crate::drivers::attributes::{self, ATTRIBUTES};
use crate::drivers::merge::{self, Conflict, Version};
use crate::drivers::view;
use crate::error::Error;
use crate::git;

#[derive(clap::Args)]
pub struct GitArgs {
    #[command(subcommand)]
    command: GitCommand,
}

#[derive(clap::Subcommand)]
enum GitCommand {
    /// Print a key-sorted view of an encrypted file for `git diff` (Git's textconv driver).
    ///
    /// Decrypted with a key, fingerprints of the ciphertexts without one (or with
    /// SECRETS_TEXTCONV=redacted); any other file as it is. Always exits 0.
    Textconv(TextconvArgs),
    /// Write the .gitattributes block and the Git config for decrypted diffs and per-key merges.
    ///
    /// Patterns come from the creation rules' path_regex in .sops.yaml; the driver definitions go
    /// to the repository's .git/config (or ~/.gitconfig with --global), with
    /// diff.secrets.cachetextconv=false so no decrypted text is ever cached in the repository.
    /// Exit status of --check: 0 complete, 1 something is missing (listed on stdout).
    Setup(SetupArgs),
    /// Merge three versions of an encrypted file key by key (Git's merge driver).
    ///
    /// Called by Git as `secrets git merge-driver %O %A %B %L %P`; writes the result to %A.
    /// Exit status: 0 merged, 1 conflicts (markers around the conflicting keys only).
    MergeDriver(MergeDriverArgs),
    /// After resolving a merge conflict by hand: give FILE a fresh MAC.
    ///
    /// Only when every encrypted value in it is ours' or theirs' (index stages 2 and 3 of the
    /// merge in progress) and both of those authenticate; then `git add` the file.
    Resolve(ResolveArgs),
}

#[derive(clap::Args)]
pub struct ResolveArgs {
    /// The conflicted file, markers removed.
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct TextconvArgs {
    /// The file to show (Git passes a temporary copy of the blob).
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct SetupArgs {
    /// Change nothing: list what is missing, and exit 1 if anything is.
    #[arg(long, conflicts_with = "remove")]
    check: bool,
    /// Remove the .gitattributes block and the driver definitions.
    #[arg(long)]
    remove: bool,
    /// Define the drivers in the global Git config (~/.gitconfig) instead of the repository's.
    #[arg(long)]
    global: bool,
}

#[derive(clap::Args)]
pub struct MergeDriverArgs {
    /// Merge on ciphertexts only and keep ours' MAC (for Git's virtual merge bases).
    #[arg(long)]
    keyless: bool,
    /// %O: the common ancestor's version.
    base: PathBuf,
    /// %A: ours; the merged result replaces it.
    ours: PathBuf,
    /// %B: theirs.
    theirs: PathBuf,
    /// %L: the conflict marker size.
    #[arg(default_value_t = 7)]
    marker_size: usize,
    /// %P: the path of the file in the repository (chooses the format).
    path: Option<PathBuf>,
}

pub fn run(args: GitArgs, identities: &[PathBuf], config: Option<&Path>) -> Result<u8, Error> {
    match args.command {
        GitCommand::Textconv(args) => Ok(textconv(args, identities)),
        GitCommand::Setup(args) => setup(args, config),
        GitCommand::MergeDriver(args) => merge_driver(args, identities),
        GitCommand::Resolve(args) => resolve(args, identities).map(|()| 0),
    }
}

// ---------------------------------------------------------------------------------------------
// Views (textconv and `secrets diff`)

/// What a view of a file is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ViewKind {
    /// Not an encrypted file (or unreadable as one): the bytes as they are.
    Raw,
    Redacted,
    Decrypted,
}

/// A view of a file's bytes, and a note for stderr when something fell back.
pub(super) struct View {
    pub kind: ViewKind,
    pub text: Zeroizing<Vec<u8>>,
    pub note: Option<String>,
    /// Redacted because no identity decrypts the data key (the ordinary keyless case).
    pub no_key: bool,
}

/// Whether the environment asks for redacted views only.
pub(super) fn redacted_forced() -> bool {
    env::var(env::SECRETS_TEXTCONV).is_some_and(|v| v.eq_ignore_ascii_case("redacted"))
}

/// The view of `bytes` (named `name`): decrypted when `found` holds a key for it and
/// `decrypt` is set, else redacted; raw when not an encrypted document.
pub(super) fn view_of(
    name: &Path,
    bytes: &[u8],
    found: Option<&keys::Identities>,
    decrypt: bool,
) -> View {
    let raw = |note: Option<String>| View {
        kind: ViewKind::Raw,
        text: Zeroizing::new(bytes.to_vec()),
        note,
        no_key: false,
    };
    let Some(enc) = view::detect(name, bytes) else {
        return raw(None);
    };
    let file = display_name(name);
    let redacted = |note: Option<String>| match view::redacted(&enc, bytes) {
        Ok(text) => View {
            kind: ViewKind::Redacted,
            text: Zeroizing::new(text.into_bytes()),
            no_key: note.is_none() && decrypt,
            note,
        },
        Err(e) => raw(Some(format!("{file}: {e}"))),
    };
    let Some(ids) = found.filter(|_| decrypt) else {
        return redacted(None);
    };
    let key = match keys::recover_data_key(&enc.meta, ids) {
        Ok(key) => key,
        Err(_) => return redacted(None),
    };
    let mut note = None;
    let decrypted = match crypto::decrypt_with_key(enc.doc.as_ref(), &enc.meta, &key, true) {
        Ok(d) => d,
        Err(
            e @ (crypto::Error::MacMismatch
            | crypto::Error::MacUndecryptable
            | crypto::Error::NoMac),
        ) => {
            note = Some(format!("{file}: warning: {e}"));
            match crypto::decrypt_with_key(enc.doc.as_ref(), &enc.meta, &key, false) {
                Ok(d) => d,
                Err(e) => return redacted(Some(format!("{file}: {e}: showing fingerprints"))),
            }
        }
        Err(e) => return redacted(Some(format!("{file}: {e}: showing fingerprints"))),
    };
    let mut edits = decrypted.edits;
    let plaintext = match enc.doc.render(&mut edits, None) {
        Ok(p) => Zeroizing::new(p),
        Err(e) => return redacted(Some(format!("{file}: {e}: showing fingerprints"))),
    };
    match view::decrypted(&enc, &plaintext) {
        Ok(text) => {
            let mut text = text;
            if let Some(n) = &note {
                text.insert_str(0, &format!("# {n}\n"));
            }
            let out = Zeroizing::new(text.as_bytes().to_vec());
            drop(Zeroizing::new(text));
            View {
                kind: ViewKind::Decrypted,
                text: out,
                note,
                no_key: false,
            }
        }
        Err(e) => redacted(Some(format!("{file}: {e}: showing fingerprints"))),
    }
}

fn textconv(args: TextconvArgs, explicit: &[PathBuf]) -> u8 {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "secrets git textconv: {}: cannot read: {e}",
                args.file.display()
            );
            return 0;
        }
    };
    let decrypt = !redacted_forced();
    let found = decrypt.then(|| identities::discover(explicit).identities);
    let view = view_of(&args.file, &bytes, found.as_ref(), decrypt);
    if let Some(note) = &view.note {
        eprintln!("secrets git textconv: {note}");
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&view.text).and_then(|()| out.flush());
    0
}

// ---------------------------------------------------------------------------------------------
// setup

/// A command's output, or an error naming it.
fn git_output(dir: &Path, args: &[&str]) -> Result<std::process::Output, Error> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: "git".into(),
            source,
        })
}

fn git_ok(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = git_output(dir, args)?;
    if !out.status.success() {
        return Err(Error::Git(git::Error::Gix(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command Git should run: `secrets` when it is on PATH, else this binary's absolute path.
fn program() -> (String, Option<String>) {
    let on_path = std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(d.join("secrets"))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if on_path {
        return ("secrets".into(), None);
    }
    match std::env::current_exe() {
        Ok(exe) => {
            let shown = exe.display().to_string();
            let quoted = if shown
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
            {
                shown.clone()
            } else {
                format!("'{}'", shown.replace('\'', r"'\''"))
            };
            (
                quoted,
                Some(format!(
                    "`secrets` is not on PATH: the drivers run {shown}, which breaks if that binary moves"
                )),
            )
        }
        Err(_) => ("secrets".into(), None),
    }
}

/// The Git config keys and values the drivers need.
fn driver_config(program: &str) -> Vec<(&'static str, String)> {
    vec![
        ("diff.secrets.textconv", format!("{program} git textconv")),
        ("diff.secrets.cachetextconv", "false".into()),
        ("merge.secrets.name", "secrets per-key merge driver".into()),
        (
            "merge.secrets.driver",
            format!("{program} git merge-driver %O %A %B %L %P"),
        ),
        ("merge.secrets.recursive", "secrets-base".into()),
        (
            "merge.secrets-base.name",
            "secrets keyless merge for virtual merge bases".into(),
        ),
        (
            "merge.secrets-base.driver",
            format!("{program} git merge-driver --keyless %O %A %B %L %P"),
        ),
    ]
}

/// What the creation rules ask for: attribute lines, the tracked files they match, and notes.
struct Plan {
    lines: Vec<String>,
    matched: Vec<String>,
    notes: Vec<String>,
}

fn tracked_files(top: &Path) -> Result<Vec<String>, Error> {
    let out = git_ok(top, &["ls-files", "-z"])?;
    Ok(out
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// Does a glob pattern of ours match a repository path (Git's attribute rules, closely enough:
/// a pattern without a slash matches the base name at any depth)?
fn glob_matches(pattern: &str, path: &str) -> bool {
    let Ok(glob) = globset::GlobBuilder::new(pattern.trim_start_matches('/'))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
    else {
        return false;
    };
    let m = glob.compile_matcher();
    if pattern.contains('/') {
        m.is_match(path)
    } else {
        m.is_match(path.rsplit('/').next().unwrap_or(path))
    }
}

fn looks_encrypted(top: &Path, rel: &str) -> bool {
    std::fs::read(top.join(rel)).is_ok_and(|b| {
        let t = String::from_utf8_lossy(&b);
        t.contains(crate::document::envelope::CIPHER_MARKER) && t.contains("sops")
    })
}

fn plan(top: &Path, explicit_config: Option<&Path>) -> Result<Plan, Error> {
    let config_path =
        config::find(explicit_config, &top.join(".gitattributes")).ok_or_else(|| {
            Error::Config(config::Error::NotFound {
                target: top.display().to_string(),
            })
        })?;
    let cfg = config::Config::load(&config_path)?;
    let top_abs = std::fs::canonicalize(top).unwrap_or_else(|_| top.to_path_buf());
    let base = std::fs::canonicalize(cfg.base_dir()).unwrap_or_else(|_| cfg.base_dir());
    // The config's folder inside the repository (`""` or `dir/`); None when it is outside.
    let prefix = base.strip_prefix(&top_abs).ok().map(|rel| {
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.is_empty() {
            rel
        } else {
            format!("{rel}/")
        }
    });
    let tracked = tracked_files(top)?;
    // The rule each tracked file falls under (first match wins, as when encrypting).
    let rule_of = |rel: &str| {
        let m = cfg.match_path(&top_abs.join(rel));
        cfg.rules
            .iter()
            .position(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&m)))
    };
    let mut plan = Plan {
        lines: Vec::new(),
        matched: Vec::new(),
        notes: Vec::new(),
    };
    let push = |plan: &mut Plan, pattern: String| {
        let line = format!("{pattern} {ATTRIBUTES}");
        if !plan.lines.contains(&line) {
            plan.lines.push(line);
        }
    };
    for (i, rule) in cfg.rules.iter().enumerate() {
        let files: Vec<&String> = tracked
            .iter()
            .filter(|f| rule_of(f) == Some(i))
            .filter(|f| rule.path_regex.is_some() || looks_encrypted(top, f))
            .collect();
        plan.matched.extend(files.iter().map(|f| f.to_string()));
        let globs = match (&rule.path_regex, &prefix) {
            (Some(re), Some(prefix)) => attributes::globs_for_regex(re.as_str(), prefix),
            _ => None,
        };
        match globs {
            Some(globs) => {
                for g in &globs {
                    push(&mut plan, g.clone());
                }
                let missed: Vec<&&String> = files
                    .iter()
                    .filter(|f| !globs.iter().any(|g| glob_matches(g, f)))
                    .collect();
                if !missed.is_empty() {
                    plan.notes.push(format!(
                        "rule at line {}: the pattern {} misses {} tracked file(s) its path_regex matches; listing them",
                        rule.line,
                        globs.join(" "),
                        missed.len()
                    ));
                    for f in missed {
                        push(&mut plan, attributes::literal_pattern(f));
                    }
                }
            }
            None => {
                let what = match &rule.path_regex {
                    Some(re) => format!("path_regex {:?} has no glob equivalent", re.as_str()),
                    None => "a rule without path_regex matches every file".into(),
                };
                plan.notes.push(format!(
                    "rule at line {}: {what}; listing the {} tracked file(s) it covers{} (run setup again for new files)",
                    rule.line,
                    files.len(),
                    if rule.path_regex.is_none() { " that are encrypted" } else { "" },
                ));
                for f in files {
                    push(&mut plan, attributes::literal_pattern(f));
                }
            }
        }
    }
    Ok(plan)
}

fn setup(args: SetupArgs, explicit_config: Option<&Path>) -> Result<u8, Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::Read {
        file: ".".into(),
        source,
    })?;
    let repo = git::Repo::discover(&cwd)?;
    let top = repo.workdir().to_path_buf();
    let attrs_path = top.join(".gitattributes");
    let existing = match std::fs::read_to_string(&attrs_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(Error::Read {
                file: attrs_path.display().to_string(),
                source,
            });
        }
    };
    let scope = if args.global { "--global" } else { "--local" };
    if args.remove {
        if let Some(text) = &existing {
            let kept = attributes::with_block(text, None);
            if kept.is_empty() {
                std::fs::remove_file(&attrs_path).map_err(|source| Error::Write {
                    file: attrs_path.display().to_string(),
                    source,
                })?;
                eprintln!("removed .gitattributes (it held only the secrets block)");
            } else if &kept != text {
                write_file(&attrs_path, kept.as_bytes())?;
                eprintln!("removed the secrets block from .gitattributes");
            }
        }
        for section in ["diff.secrets", "merge.secrets", "merge.secrets-base"] {
            // Absent sections are fine: the result is the same.
            let _ = git_output(&top, &["config", scope, "--remove-section", section])?;
        }
        eprintln!("removed the diff.secrets and merge.secrets drivers ({scope})");
        return Ok(0);
    }
    let plan = plan(&top, explicit_config)?;
    if args.check {
        return check(&top, &plan);
    }
    let new_text = attributes::with_block(existing.as_deref().unwrap_or(""), Some(&plan.lines));
    if existing.as_deref() != Some(new_text.as_str()) {
        write_file(&attrs_path, new_text.as_bytes())?;
    }
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        ".gitattributes: {} pattern(s) covering {} tracked file(s); commit it so every clone uses the drivers",
        plan.lines.len(),
        plan.matched.len()
    );
    let (program, warning) = program();
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    for (key, value) in driver_config(&program) {
        git_ok(&top, &["config", scope, key, &value])?;
    }
    eprintln!(
        "Git config ({scope}): diff.secrets (textconv, cachetextconv=false), merge.secrets, merge.secrets-base"
    );
    eprintln!(
        "`git diff` and `git log -p` now show decrypted values when you have a key; set SECRETS_TEXTCONV=redacted to show fingerprints only. Never enable this in CI."
    );
    Ok(0)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::store::write_atomic(path, bytes, 0o644).map_err(|source| Error::Write {
        file: path.display().to_string(),
        source,
    })
}

fn check(top: &Path, plan: &Plan) -> Result<u8, Error> {
    let mut missing = Vec::new();
    if !plan.matched.is_empty() {
        let mut args = vec!["check-attr", "-z", "diff", "merge", "--"];
        args.extend(plan.matched.iter().map(String::as_str));
        let out = git_ok(top, &args)?;
        let fields: Vec<&str> = out.split('\0').collect();
        for triple in fields.chunks(3) {
            if let [path, attr, value] = triple
                && *value != "secrets"
            {
                missing.push(format!(
                    "{path}: attribute {attr}=secrets is not set (it is {value})"
                ));
            }
        }
    }
    let (program, _) = program();
    for (key, _) in driver_config(&program) {
        let out = git_output(top, &["config", "--get", key])?;
        let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if key == "diff.secrets.cachetextconv" {
            if value != "false" {
                missing.push(format!(
                    "{key} is {}: set it to false, or Git may cache decrypted text in refs/notes/textconv",
                    if value.is_empty() { "not set" } else { &value }
                ));
            }
        } else if !out.status.success() || value.is_empty() {
            missing.push(format!("{key} is not set"));
        }
    }
    let notes = git_ok(
        top,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/notes/textconv/",
        ],
    )?;
    for r in notes.lines().filter(|l| !l.is_empty()) {
        missing.push(format!(
            "{r} exists: cached textconv output (may hold decrypted values); delete it with `git update-ref -d {r}`"
        ));
    }
    let mut out = std::io::stdout().lock();
    for m in &missing {
        let _ = writeln!(out, "missing: {m}");
    }
    if missing.is_empty() {
        let _ = writeln!(
            out,
            "ok: {} file(s) covered, drivers defined, no textconv cache",
            plan.matched.len()
        );
        Ok(0)
    } else {
        Ok(1)
    }
}

// ---------------------------------------------------------------------------------------------
// merge driver

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs_err::read(path).map_err(|source| Error::Read {
        file: path.display().to_string(),
        source,
    })
}

/// Git's own line merge of the three files, into ours; 0 clean, 1 conflicts.
fn merge_file(args: &MergeDriverArgs, why: &str) -> Result<u8, Error> {
    let name = args
        .path
        .as_ref()
        .map_or_else(|| display_name(&args.ours), |p| p.display().to_string());
    eprintln!("secrets git merge-driver: {name}: {why}; falling back to a line merge");
    let size = format!("--marker-size={}", args.marker_size);
    let status = Command::new("git")
        .args([
            "merge-file",
            &size,
            "-L",
            "ours",
            "-L",
            "base",
            "-L",
            "theirs",
        ])
        .arg(&args.ours)
        .arg(&args.base)
        .arg(&args.theirs)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|source| Error::Spawn {
            program: "git".into(),
            source,
        })?;
    Ok(if status.success() { 0 } else { 1 })
}

/// The decrypted value of a unit in one side, as compact JSON, for conflict labels.
fn decrypted_unit(
    format: Format,
    version: &Version,
    key: &DataKey,
    steps: &[String],
) -> Option<Zeroizing<String>> {
    let mut decrypted =
        crypto::decrypt_with_key(version.doc.as_ref(), &version.meta, key, false).ok()?;
    let plain = Zeroizing::new(version.doc.render(&mut decrypted.edits, None).ok()?);
    let root = tree::load(format, document::utf8(&plain).ok()?).ok()?;
    let path: Vec<tree::PathStep> = steps.iter().cloned().map(tree::PathStep::Key).collect();
    let node = tree::extract(&root, &path).ok()?;
    Some(Zeroizing::new(node_json(node)))
}

fn node_json(node: &tree::Node) -> String {
    use tree::Node;
    match node {
        Node::Str(s) => serde_json::Value::String(s.clone()).to_string(),
        Node::List(items) => format!(
            "[{}]",
            items.iter().map(node_json).collect::<Vec<_>>().join(", ")
        ),
        Node::Map(items) => format!(
            "{{{}}}",
            items
                .iter()
                .map(|(k, v)| format!("{}: {}", serde_json::Value::String(k.clone()), node_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.scalar_text().unwrap_or_else(|| "null".into()),
    }
}

fn merge_driver(args: MergeDriverArgs, explicit: &[PathBuf]) -> Result<u8, Error> {
    let (base_b, ours_b, theirs_b) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    let name_path = args.path.clone().unwrap_or_else(|| args.ours.clone());
    let name = display_name(&name_path);
    let mut format = Format::from_path(&name_path);
    if format == Format::Binary {
        match view::detect(&name_path, &ours_b) {
            Some(found) => format = found.format,
            None => return merge_file(&args, "not an encrypted file in a format we merge"),
        }
    }
    let parsed = (|| {
        Ok::<_, merge::Error>((
            Version::parse(format, &base_b, "base")?,
            Version::parse(format, &ours_b, "ours")?,
            Version::parse(format, &theirs_b, "theirs")?,
        ))
    })();
    let (base, ours, theirs) = match parsed {
        Ok(v) => v,
        Err(e) => return merge_file(&args, &e.to_string()),
    };
    let merged = match merge::merge(format, &base, &ours, &theirs) {
        Ok(m) => m,
        Err(e) => return merge_file(&args, &e.to_string()),
    };
    let fail = |e: merge::Error| Error::Usage(format!("{name}: {e}"));
    let write = |bytes: &[u8]| {
        crate::store::write_atomic(&args.ours, bytes, 0o644).map_err(|source| Error::Write {
            file: display_name(&args.ours),
            source,
        })
    };
    let plain_label = |c: &Conflict, ours_side: bool| {
        let (side, present) = if ours_side {
            ("ours", c.in_ours)
        } else {
            ("theirs", c.in_theirs)
        };
        if present {
            format!("{side}: {}", c.path)
        } else {
            format!("{side}: {} deleted", c.path)
        }
    };

    // With a key: check both sides' MACs, so nothing unauthenticated gets a fresh MAC.
    let mut key: Option<DataKey> = None;
    let mut why_no_mac = "MAC not recomputed: no key".to_string();
    if args.keyless {
        why_no_mac.clear();
    } else {
        let found = identities::discover(explicit);
        match keys::recover_data_key(&ours.meta, &found.identities) {
            Ok(k) => {
                let bad =
                    [("ours", &ours), ("theirs", &theirs)]
                        .into_iter()
                        .find_map(|(side, v)| {
                            crypto::decrypt_with_key(v.doc.as_ref(), &v.meta, &k, true)
                                .err()
                                .map(|e| format!("{side}: {e}"))
                        });
                match bad {
                    None => key = Some(k),
                    Some(e) => {
                        eprintln!("secrets git merge-driver: {name}: {e}");
                        why_no_mac = "MAC not recomputed: a side does not authenticate".into()
                    }
                }
            }
            Err(e) => eprintln!("secrets git merge-driver: {name}: {e}"),
        }
    }

    let conflicts = &merged.conflicts;
    match key {
        Some(key) if conflicts.is_empty() => {
            let text = merge::finish(format, &merged.body, &merged.meta).map_err(fail)?;
            let sealed = reseal(format, &text, &merged.meta, &key, &name)?;
            write(&sealed)?;
            Ok(0)
        }
        Some(key) => {
            let text = merge::finish(format, &merged.body, &merged.meta).map_err(fail)?;
            let label = |c: &Conflict, ours_side: bool| {
                let (side, present, v) = if ours_side {
                    ("ours", c.in_ours, &ours)
                } else {
                    ("theirs", c.in_theirs, &theirs)
                };
                if !present {
                    return format!("{side}: {} deleted", c.path);
                }
                match decrypted_unit(format, v, &key, &c.steps) {
                    Some(value) => format!("{side}: {} = {}", c.path, value.as_str()),
                    None => format!("{side}: {}", c.path),
                }
            };
            let blocks =
                merge::conflict_blocks(format, &text, &ours.text, &theirs.text, conflicts, label);
            write(merge::insert_markers(&text, blocks, args.marker_size).as_bytes())?;
            report_conflicts(&name, conflicts, "");
            Ok(1)
        }
        None => {
            let text = merge::finish(format, &merged.body, &merged.meta).map_err(fail)?;
            let mut blocks = merge::conflict_blocks(
                format,
                &text,
                &ours.text,
                &theirs.text,
                conflicts,
                plain_label,
            );
            if args.keyless {
                write(merge::insert_markers(&text, blocks, args.marker_size).as_bytes())?;
                return Ok(u8::from(!conflicts.is_empty()));
            }
            if let Some(b) = merge::mac_block(
                &text,
                &ours.text,
                &theirs.text,
                &ours.meta.mac,
                &theirs.meta.mac,
                &why_no_mac,
            ) {
                blocks.push(b);
            }
            write(merge::insert_markers(&text, blocks, args.marker_size).as_bytes())?;
            report_conflicts(&name, conflicts, &why_no_mac);
            Ok(1)
        }
    }
}

fn report_conflicts(name: &str, conflicts: &[Conflict], mac: &str) {
    for c in conflicts {
        eprintln!("secrets git merge-driver: {name}: conflict at {}", c.path);
    }
    if !mac.is_empty() {
        eprintln!(
            "secrets git merge-driver: {name}: {mac}; the values merged, but the file's MAC is ours' (see the markers): merge again with a key (`git merge --abort`, then merge with SOPS_AGE_KEY_FILE set)"
        );
    }
}

/// Decrypt the merged values, and write the file with a fresh `lastmodified` and MAC; then
/// check the result decrypts and verifies.
fn reseal(
    format: Format,
    text: &str,
    meta: &Metadata,
    key: &DataKey,
    name: &str,
) -> Result<Vec<u8>, Error> {
    let doc_err = |source| Error::Document {
        file: name.to_string(),
        source,
    };
    let crypto_err = |source| Error::from_crypto(name, source);
    let doc: Box<dyn Document> = document::parse(format, text.as_bytes()).map_err(doc_err)?;
    let cipher = crypto::ValueCipher::new(key);
    let rule = crypto::rule_of(meta, format).map_err(crypto_err)?;
    let mac_only = meta.mac_only_encrypted;
    let decrypted =
        crypto::decrypt_leaves(doc.leaves(), &cipher, &rule, mac_only).map_err(crypto_err)?;
    let lastmodified = crate::time::now_rfc3339();
    let mac = crypto::seal_mac(&cipher, &decrypted.mac, &lastmodified).map_err(crypto_err)?;
    let sealed = Metadata {
        lastmodified,
        mac,
        ..meta.clone()
    };
    let mut none: Vec<Option<document::Replacement>> = Vec::new();
    let out = doc
        .render(&mut none, Some(&sealed.to_meta()))
        .map_err(doc_err)?;
    let check = document::parse(format, &out).map_err(doc_err)?;
    crypto::decrypt_with_key(check.as_ref(), &sealed, key, true).map_err(crypto_err)?;
    Ok(out)
}

/// Whether colours go to stdout: a terminal, and NO_COLOR not set.
pub(super) fn colour_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os(env::NO_COLOR).is_none_or(|v| v.is_empty())
}

fn resolve(args: ResolveArgs, explicit: &[PathBuf]) -> Result<(), Error> {
    let name = display_name(&args.file);
    let repo = git::Repo::discover(&args.file)?;
    let rel = repo.relative_path(&args.file)?;
    let top = repo.workdir().to_path_buf();
    let stage = |n: u8, side: &'static str| -> Result<Vec<u8>, Error> {
        let out = git_output(&top, &["show", &format!(":{n}:{rel}")])?;
        if !out.status.success() {
            return Err(Error::Usage(format!(
                "{name}: no merge conflict in progress for this file (no {side} version in the index)"
            )));
        }
        Ok(out.stdout)
    };
    let (ours_b, theirs_b) = (stage(2, "ours")?, stage(3, "theirs")?);
    let resolved_b = read(&args.file)?;
    let format = view::detect(&args.file, &ours_b)
        .map(|f| f.format)
        .ok_or_else(|| Error::NotEncrypted { file: name.clone() })?;
    let usage = |e: merge::Error| Error::Usage(format!("{name}: {e}"));
    if String::from_utf8_lossy(&resolved_b)
        .lines()
        .any(|l| l.starts_with("<<<<<<<") || l.starts_with(">>>>>>>"))
    {
        return Err(Error::Usage(format!(
            "{name}: conflict markers are still in the file"
        )));
    }
    let ours = Version::parse(format, &ours_b, "ours").map_err(usage)?;
    let theirs = Version::parse(format, &theirs_b, "theirs").map_err(usage)?;
    let resolved = Version::parse(format, &resolved_b, "resolved").map_err(usage)?;
    let found = identities::discover(explicit);
    let key =
        keys::recover_data_key(&ours.meta, &found.identities).map_err(|source| Error::Keys {
            file: name.clone(),
            source,
            searched: found.searched,
        })?;
    for (side, v) in [("ours", &ours), ("theirs", &theirs)] {
        crypto::decrypt_with_key(v.doc.as_ref(), &v.meta, &key, true)
            .map_err(|e| Error::from_crypto(&format!("{name} ({side})"), e))?;
    }
    if !merge::same_data_key(&resolved.meta, &ours.meta) {
        return Err(Error::Usage(format!("{name}: the data key is not ours'")));
    }
    // Every encrypted value must be one of the authenticated sides', at the same key path.
    let map = |b: &[u8]| {
        crate::history::keymap::key_map(format, b).map_err(|source| Error::Document {
            file: name.clone(),
            source,
        })
    };
    let (km_r, km_a, km_b) = (map(&resolved_b)?, map(&ours_b)?, map(&theirs_b)?);
    for e in km_r.entries.iter().filter(|e| e.is_encrypted()) {
        if km_a.get(&e.path) != Some(e.stored.as_str())
            && km_b.get(&e.path) != Some(e.stored.as_str())
        {
            return Err(Error::Usage(format!(
                "{name}: the value at {} is neither ours nor theirs; resolve by keeping one side's line, then change it with `secrets set`",
                e.path
            )));
        }
    }
    let sealed = reseal(format, &resolved.text, &resolved.meta, &key, &name)?;
    crate::store::write_atomic(&args.file, &sealed, 0o644).map_err(|source| Error::Write {
        file: name.clone(),
        source,
    })?;
    eprintln!("{name}: MAC recomputed; `git add {rel}` to mark it resolved");
    Ok(())
}
