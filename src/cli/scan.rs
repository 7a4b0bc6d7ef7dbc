//! `secrets scan`: look for secrets in files, folders and standard input.

use std::io::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::scan::{self, report, sources};

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files and folders to scan (`-` for standard input); the current folder when none.
    paths: Vec<PathBuf>,
    /// Scan what `git commit` would record: the staged blobs against HEAD (the empty tree on
    /// the first commit), read from the index, never from the working tree. Only secrets on
    /// lines the staged version adds are reported.
    #[arg(long, conflicts_with_all = ["paths", "history"])]
    staged: bool,
    /// Scan every blob reachable from HEAD once, reporting the first commit and path that
    /// introduced each finding.
    #[arg(long, conflicts_with = "paths")]
    history: bool,
    /// With --history: leave out REV and its ancestors (scan REV..HEAD).
    #[arg(long, value_name = "REV", requires = "history")]
    since: Option<String>,
    /// With --history: walk every ref (branches, tags, remotes, stash) and HEAD.
    #[arg(long, requires = "history")]
    all: bool,
    /// Also scan files that .gitignore, .ignore and .git/info/exclude leave out.
    #[arg(long)]
    no_ignore: bool,
    /// Findings whose fingerprint this file lists are not reported [default: .secrets-baseline,
    /// when it exists].
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every current finding's fingerprint to the baseline file (accepting them all), and
    /// exit 0.
    #[arg(long)]
    update_baseline: bool,
    /// The report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ScanFormat,
    /// Report only findings at least this sure: `high` (provider formats with a checksum or a
    /// long fixed prefix, private keys), `medium` (keyword-anchored values that pass the
    /// code-aware gate), `low` (values the gate has doubts about).
    #[arg(long, value_enum, default_value = "medium", value_name = "LEVEL")]
    min_confidence: MinConfidence,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MinConfidence {
    Low,
    Medium,
    High,
}

impl From<MinConfidence> for scan::rules::Confidence {
    fn from(m: MinConfidence) -> Self {
        match m {
            MinConfidence::Low => scan::rules::Confidence::Low,
            MinConfidence::Medium => scan::rules::Confidence::Medium,
            MinConfidence::High => scan::rules::Confidence::High,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScanFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).
    Sarif,
}

/// Exit 0 when clean, 1 when something was found, 2 on any error (scan's own contract: a hook
/// only needs to tell "found" from "broken").
pub fn run(args: ScanArgs, config: Option<&std::path::Path>) -> Result<u8, Error> {
    match scan(args, config) {
        Ok(code) => Ok(code),
        Err(err) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err}");
            if let Some(hint) = err.hint() {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            Ok(2)
        }
    }
}

fn scan(args: ScanArgs, config: Option<&std::path::Path>) -> Result<u8, Error> {
    let mut stderr = std::io::stderr().lock();
    // Git scans read their settings and baseline at the top of the working tree.
    let (repo, top) = if args.staged || args.history {
        let repo = crate::git::Repo::discover(std::path::Path::new("."))?;
        let top = repo.workdir().to_path_buf();
        (Some(repo), top)
    } else {
        (None, PathBuf::new())
    };
    let mut scan_config = scan::ScanConfig::load(&top.join(scan::SCAN_CONFIG_FILE))
        .map_err(|e| Error::Usage(e.to_string()))?;
    let engine = scan::Engine::with_rules(scan_config.take_rules());
    let mut outcome = if let Some(repo) = &repo {
        let outcome = if args.staged {
            scan::repo::scan_staged(repo, &engine, &scan_config, config)
        } else {
            let options = crate::git::HistoryOptions {
                all: args.all,
                since: args.since.clone(),
            };
            scan::repo::scan_history(repo, &engine, &scan_config, &options)
        };
        let outcome = outcome.map_err(|e| match e {
            scan::Error::Git(g) => Error::Git(g),
            e => Error::Usage(e.to_string()),
        })?;
        if let Some(scope) = outcome.scope.as_ref().filter(|s| s.empty) {
            if scope.mode == "history" && args.since.is_none() {
                return Err(Error::Usage(format!(
                    "{}: no commit to walk ({}); nothing was scanned",
                    repo.workdir().display(),
                    scope.summary
                )));
            }
            let _ = writeln!(stderr, "warning: {}: nothing was scanned", scope.summary);
        }
        outcome
    } else {
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        let settings = sources::WalkSettings {
            no_ignore: args.no_ignore,
            config: config.map(PathBuf::from),
        };
        let (mut files, mut errors) = sources::collect(&paths, &settings);
        files.retain(|f| f.as_deref().is_none_or(|p| !scan_config.allows(p)));
        let mut outcome = sources::scan(&files, &settings, &engine);
        errors.append(&mut outcome.errors);
        outcome.errors = errors;
        outcome
    };
    drop(stderr);
    let floor = scan::rules::Confidence::from(args.min_confidence);
    outcome.findings.retain(|f| f.confidence >= floor);
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| top.join(scan::BASELINE_FILE));
    if args.update_baseline {
        let text = scan::render_baseline(&outcome.findings);
        crate::store::write_atomic(&baseline_path, text.as_bytes(), 0o644).map_err(|source| {
            Error::Write {
                file: baseline_path.display().to_string(),
                source,
            }
        })?;
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "{}: {} finding{} accepted",
            baseline_path.display(),
            outcome.findings.len(),
            if outcome.findings.len() == 1 { "" } else { "s" }
        );
        for e in &outcome.errors {
            let _ = writeln!(stderr, "error: {e}");
        }
        return Ok(if outcome.errors.is_empty() { 0 } else { 2 });
    }
    if args.baseline.is_some() || baseline_path.is_file() {
        let text = fs_err::read_to_string(&baseline_path).map_err(|source| Error::Read {
            file: baseline_path.display().to_string(),
            source,
        })?;
        let accepted = scan::parse_baseline(&text);
        outcome
            .findings
            .retain(|f| !accepted.contains(&f.fingerprint));
    }
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        ScanFormat::Text => report::text(&mut out, &outcome),
        ScanFormat::Json => report::json(&mut out, &outcome),
        ScanFormat::Sarif => report::sarif(&mut out, &outcome),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|source| Error::Write {
            file: "<stdout>".into(),
            source,
        })?;
    let mut stderr = std::io::stderr().lock();
    for e in &outcome.errors {
        let _ = writeln!(stderr, "error: {e}");
    }
    Ok(if !outcome.errors.is_empty() {
        2
    } else if outcome.findings.is_empty() {
        0
    } else {
        1
    })
}
