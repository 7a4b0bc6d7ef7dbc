//! `secrets init`: an identity (if the user has none) and a `.sops.yaml` with one rule for it.

use std::path::{Path, PathBuf};

use super::env;
use crate::config;
use crate::crypto::keys::age::public_key_of;
use crate::error::Error;

#[derive(clap::Args)]
pub struct InitArgs {
    /// The folder to set up (default: the Git repository's top folder, else the current one).
    dir: Option<PathBuf>,
}

pub fn run(args: InitArgs) -> Result<(), Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::Read {
        file: ".".into(),
        source,
    })?;
    let root = args.dir.unwrap_or_else(|| git_top(&cwd).unwrap_or(cwd));
    let config_path = root.join(config::FILE_NAME);
    if config_path.exists() {
        return Err(Error::KeyFileExists {
            file: config_path.display().to_string(),
        });
    }
    let keys_path = env::var(env::SOPS_AGE_KEY_FILE).map(PathBuf::from).or_else(default_keys_file).ok_or_else(|| {
        Error::Usage("cannot tell where the keys file goes: set HOME, XDG_CONFIG_HOME or SOPS_AGE_KEY_FILE".into())
    })?;
    let keys_file = keys_path.display().to_string();
    let (public, created) = if keys_path.exists() {
        let text = std::fs::read_to_string(&keys_path).map_err(|source| Error::Read {
            file: keys_file.clone(),
            source,
        })?;
        let public = text.lines().find_map(public_key_of).ok_or_else(|| {
            Error::Usage(format!(
                "{keys_file} holds no age X25519 identity (AGE-SECRET-KEY-1...)"
            ))
        })?;
        (public, false)
    } else {
        let (text, public) = super::keygen::new_keys_file();
        if let Some(parent) = keys_path.parent() {
            crate::store::create_private_dir_all(parent).map_err(|source| Error::Write {
                file: keys_file.clone(),
                source,
            })?;
        }
        crate::store::create_private_new(&keys_path, text.as_bytes()).map_err(|source| {
            Error::Write {
                file: keys_file.clone(),
                source,
            }
        })?;
        (public, true)
    };
    let config_text = format!(
        "# Which files are encrypted, and for whom (read by `secrets` and by sops).\n\
         # Add a teammate: append their age public key to `age`, then run `secrets updatekeys --all -y`.\n\
         creation_rules:\n  - age: {public}\n"
    );
    crate::store::create_new(&config_path, config_text.as_bytes(), 0o644).map_err(|source| {
        Error::Write {
            file: config_path.display().to_string(),
            source,
        }
    })?;
    if created {
        eprintln!(
            "created an age identity in {keys_file} (mode 0600): keep it secret, back it up, never commit it"
        );
    } else {
        eprintln!("using the identity in {keys_file}");
    }
    eprintln!(
        "wrote {} with one creation rule for {public}",
        config_path.display()
    );
    eprintln!(
        "next: commit {}, then `secrets encrypt -i FILE` (or `secrets edit FILE`)",
        config::FILE_NAME
    );
    Ok(())
}

fn default_keys_file() -> Option<PathBuf> {
    let base = env::var(env::XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(|| env::var(env::HOME).map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// The nearest folder at or above `dir` holding `.git`.
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
