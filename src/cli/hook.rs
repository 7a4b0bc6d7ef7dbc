//! `secrets hook install`: install `hooks/pre-commit` (a plain Git hook calling
//! `secrets scan --staged`) where Git runs hooks, honouring `core.hooksPath`.

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::git::Repo;

/// The hook shipped in `hooks/pre-commit`.
const HOOK: &str = include_str!("../../hooks/pre-commit");
/// The line of the hook that names the program; installation pins this binary's path.
const BIN_LINE: &str = "secrets_bin=secrets\n";

#[derive(clap::Args)]
pub struct HookArgs {
    #[command(subcommand)]
    command: HookCommand,
}

#[derive(clap::Subcommand)]
enum HookCommand {
    /// Install the pre-commit hook that runs `secrets scan --staged` (in `core.hooksPath` when
    /// set, else `.git/hooks/`). An existing hook is never replaced without --force.
    Install {
        /// Replace an existing pre-commit hook (it is kept as `pre-commit.secrets-backup`).
        #[arg(long)]
        force: bool,
    },
}

/// Exit 0 when installed, 2 on any error (an existing hook that is not ours included).
pub fn run(args: HookArgs) -> Result<u8, Error> {
    match args.command {
        HookCommand::Install { force } => install(force),
    }
}

/// The hook's text, calling the binary that installs it (and `secrets` on PATH if that one
/// has gone).
fn hook_text() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .filter(|p| !p.contains('\''));
    match exe {
        Some(exe) => HOOK.replacen(
            BIN_LINE,
            &format!("secrets_bin='{exe}'\n[ -x \"$secrets_bin\" ] || secrets_bin=secrets\n"),
            1,
        ),
        None => HOOK.to_string(),
    }
}

fn install(force: bool) -> Result<u8, Error> {
    let repo = Repo::discover(Path::new("."))?;
    let dir = repo.hooks_dir()?;
    let path = dir.join("pre-commit");
    let text = hook_text();
    let mut stderr = std::io::stderr().lock();
    let shown = path.display().to_string();
    match fs_err::read(&path) {
        Ok(existing) if existing == text.as_bytes() => {
            let _ = writeln!(stderr, "{shown}: already installed");
            return Ok(0);
        }
        Ok(existing) => {
            if !force {
                let _ = writeln!(
                    stderr,
                    "error: {shown}: a pre-commit hook already exists; it is not replaced\n\
                     hint: call `secrets scan --staged` from that hook, or pass --force to replace it (the old one is kept as pre-commit.secrets-backup)"
                );
                return Ok(2);
            }
            let backup = dir.join("pre-commit.secrets-backup");
            crate::store::write_atomic(&backup, &existing, 0o755).map_err(|source| {
                Error::Write {
                    file: backup.display().to_string(),
                    source,
                }
            })?;
            let _ = writeln!(
                stderr,
                "{shown}: the old hook is kept as {}",
                backup.display()
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Read {
                file: shown,
                source,
            });
        }
    }
    fs_err::create_dir_all(&dir).map_err(|source| Error::Write {
        file: dir.display().to_string(),
        source,
    })?;
    crate::store::write_atomic(&path, text.as_bytes(), 0o755).map_err(|source| Error::Write {
        file: shown.clone(),
        source,
    })?;
    let _ = writeln!(
        stderr,
        "{shown}: installed; `git commit` now runs `secrets scan --staged`"
    );
    Ok(0)
}
