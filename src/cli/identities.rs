//! Finding age identities exactly where sops looks, plus `--identity`, and saying where we
//! looked when none works.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::env;
use crate::crypto::keys::Identities;

/// The identities found, and a line per place searched (for the error when none works).
pub struct Found {
    pub identities: Identities,
    pub searched: Vec<String>,
}

/// Collect identities from `--identity` files and every place sops reads.
pub fn discover(explicit: &[PathBuf]) -> Found {
    let mut found = Found {
        identities: Identities::default(),
        searched: Vec::new(),
    };
    for path in explicit {
        let label = format!("--identity {}", path.display());
        found.load_file(&label, path, true);
    }
    match env::var(env::SOPS_AGE_SSH_PRIVATE_KEY_FILE) {
        Some(p) => {
            let label = format!("{} ({p})", env::SOPS_AGE_SSH_PRIVATE_KEY_FILE);
            found.load_ssh(&label, Path::new(&p));
        }
        None => found
            .searched
            .push(format!("{}: not set", env::SOPS_AGE_SSH_PRIVATE_KEY_FILE)),
    }
    let home = env::var(env::HOME).map(PathBuf::from);
    for name in ["id_ed25519", "id_rsa"] {
        if let Some(home) = &home {
            let path = home.join(".ssh").join(name);
            let label = path.display().to_string();
            if path.exists() {
                found.load_ssh(&label, &path);
            } else {
                found.searched.push(format!("{label}: not found"));
            }
        }
    }
    match env::var(env::SOPS_AGE_KEY) {
        Some(text) => found.load_text(env::SOPS_AGE_KEY, &text),
        None => found
            .searched
            .push(format!("{}: not set", env::SOPS_AGE_KEY)),
    }
    match env::var(env::SOPS_AGE_KEY_FILE) {
        Some(p) => {
            let label = format!("{} ({p})", env::SOPS_AGE_KEY_FILE);
            found.load_file(&label, Path::new(&p), false);
        }
        None => found
            .searched
            .push(format!("{}: not set", env::SOPS_AGE_KEY_FILE)),
    }
    match env::var(env::SOPS_AGE_KEY_CMD) {
        Some(cmd) => found.load_command(&cmd),
        None => found
            .searched
            .push(format!("{}: not set", env::SOPS_AGE_KEY_CMD)),
    }
    let config = env::var(env::XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")));
    if let Some(config) = config {
        let path = config.join("sops").join("age").join("keys.txt");
        let label = path.display().to_string();
        if path.exists() {
            found.load_file(&label, &path, false);
        } else {
            found.searched.push(format!("{label}: not found"));
        }
    }
    found
}

impl Found {
    fn load_text(&mut self, label: &str, text: &str) {
        match self.identities.add_keys_file(text, label) {
            Ok(n) => self.searched.push(format!(
                "{label}: {n} identit{}",
                if n == 1 { "y" } else { "ies" }
            )),
            Err(e) => self.searched.push(format!("{label}: {e}")),
        }
    }

    /// A keys file; with `allow_ssh` (for `--identity`) an SSH private key is accepted too.
    fn load_file(&mut self, label: &str, path: &Path, allow_ssh: bool) {
        match std::fs::read(path) {
            Ok(bytes) if allow_ssh && looks_like_ssh_key(&bytes) => {
                self.load_ssh_bytes(label, &bytes)
            }
            Ok(bytes) => self.load_text(label, &String::from_utf8_lossy(&bytes)),
            Err(e) => self.searched.push(format!("{label}: cannot read: {e}")),
        }
    }

    fn load_ssh(&mut self, label: &str, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => self.load_ssh_bytes(label, &bytes),
            Err(e) => self.searched.push(format!("{label}: cannot read: {e}")),
        }
    }

    fn load_ssh_bytes(&mut self, label: &str, bytes: &[u8]) {
        match self.identities.add_ssh_key(bytes, label) {
            Ok(()) => self.searched.push(format!("{label}: SSH identity")),
            Err(e) => self.searched.push(format!("{label}: {e}")),
        }
    }

    fn load_command(&mut self, cmd: &str) {
        let label = format!("{} ({cmd})", env::SOPS_AGE_KEY_CMD);
        // Split like a shell (quotes, backslashes) and run without one, as sops does.
        let Some(words) = super::edit::split_command(cmd) else {
            self.searched.push(format!("{label}: unbalanced quotes"));
            return;
        };
        let Some((program, args)) = words.split_first() else {
            return;
        };
        match Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {
                self.load_text(&label, &String::from_utf8_lossy(&out.stdout))
            }
            Ok(out) => self
                .searched
                .push(format!("{label}: exited with {}", out.status)),
            Err(e) => self.searched.push(format!("{label}: cannot run: {e}")),
        }
    }
}

fn looks_like_ssh_key(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY")
        || head.starts_with(b"-----BEGIN RSA PRIVATE KEY")
}
