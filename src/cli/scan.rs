//! `secrets scan`: look for secrets in files, folders and standard input.

use std::io::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::scan::{report, sources};

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files and folders to scan (`-` for standard input); the current folder when none.
    paths: Vec<PathBuf>,
    /// Also scan files that .gitignore, .ignore and .git/info/exclude leave out.
    #[arg(long)]
    no_ignore: bool,
    /// The report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ScanFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScanFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).
    Sarif,
}

/// Exit 0 when clean, 1 when something was found, 2 when a file could not be scanned.
pub fn run(args: ScanArgs, config: Option<&std::path::Path>) -> Result<u8, Error> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let settings = sources::WalkSettings {
        no_ignore: args.no_ignore,
        config: config.map(PathBuf::from),
    };
    let (files, mut errors) = sources::collect(&paths, &settings);
    let mut outcome = sources::scan(&files, &settings);
    errors.append(&mut outcome.errors);
    outcome.errors = errors;
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
