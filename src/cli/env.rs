//! Every environment variable the tool reads, with what it means. Only `cli` reads them.

/// Comma-separated age recipients to encrypt for when `--age` is not given.
pub const SOPS_AGE_RECIPIENTS: &str = "SOPS_AGE_RECIPIENTS";
/// An age identity's text (`AGE-SECRET-KEY-1...`), e.g. from a CI secret.
pub const SOPS_AGE_KEY: &str = "SOPS_AGE_KEY";
/// Path to an age keys file.
pub const SOPS_AGE_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
/// A command whose standard output is an age keys file (split like a shell, run without one).
pub const SOPS_AGE_KEY_CMD: &str = "SOPS_AGE_KEY_CMD";
/// Path to an SSH private key (ed25519 or RSA) used as an age identity.
pub const SOPS_AGE_SSH_PRIVATE_KEY_FILE: &str = "SOPS_AGE_SSH_PRIVATE_KEY_FILE";
/// The recipient being decrypted, set for `SOPS_AGE_KEY_CMD` (as sops does).
pub const SOPS_AGE_RECIPIENT: &str = "SOPS_AGE_RECIPIENT";
/// Base of the default keys file `$XDG_CONFIG_HOME/sops/age/keys.txt`.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// A config file to use instead of searching for `.sops.yaml`.
pub const SOPS_CONFIG: &str = "SOPS_CONFIG";
/// The home directory (`~/.ssh/id_ed25519`, `~/.config/sops/age/keys.txt`).
pub const HOME: &str = "HOME";

/// A variable's value, if it is set and not empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The editor for `secrets edit`, before `EDITOR` (as sops).
pub const SOPS_EDITOR: &str = "SOPS_EDITOR";
/// The editor for `secrets edit` when `SOPS_EDITOR` is not set; `vi` when neither is.
pub const EDITOR: &str = "EDITOR";
/// A private per-user runtime folder; `secrets edit` puts the plaintext there first.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// GitHub Actions: the file that `decrypt --github-env` appends variables to.
pub const GITHUB_ENV: &str = "GITHUB_ENV";
/// `redacted`: `secrets git textconv` and `secrets diff` show fingerprints, never values, even
/// when a key is at hand (for screen sharing, CI logs, pagers).
pub const SECRETS_TEXTCONV: &str = "SECRETS_TEXTCONV";
/// Set (to anything): no colours in `secrets diff` (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

/// The largest input file `secrets` reads, in bytes (a plain number, or with a K, M or G
/// suffix for KiB, MiB, GiB); default 256M.
pub const SECRETS_MAX_INPUT: &str = "SECRETS_MAX_INPUT";
/// Comma-separated PGP fingerprints to encrypt for when `--pgp` is not given.
pub const SOPS_PGP_FP: &str = "SOPS_PGP_FP";
/// Comma-separated key types in the order decryption tries them (default `age,pgp`).
pub const SOPS_DECRYPTION_ORDER: &str = "SOPS_DECRYPTION_ORDER";
/// Comma-separated Vault transit key URIs to encrypt for when `--hc-vault-transit` is not given.
pub const SOPS_VAULT_URIS: &str = "SOPS_VAULT_URIS";
/// Comma-separated AWS KMS key ARNs to encrypt for when `--kms` is not given.
pub const SOPS_KMS_ARN: &str = "SOPS_KMS_ARN";
