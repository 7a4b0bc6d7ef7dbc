//! The crate's top-level error: what failed, in which file, the exit code, and a hint.
//!
//! Exit codes (also in `--help` and the README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 2 | usage error (bad flags or arguments) |
//! | 3 | the input cannot be read (missing file, permissions) |
//! | 4 | the output cannot be written |
//! | 5 | the input is not valid YAML, JSON, TOML, dotenv or INI |
//! | 6 | decrypt: the file is not encrypted |
//! | 7 | encrypt: the file is already encrypted |
//! | 8 | no usable key: no identity decrypts the data key, or no recipient to encrypt for |
//! | 9 | a value cannot be decrypted: tampered, moved, truncated or malformed `ENC[...]` |
//! | 10 | MAC mismatch or missing MAC: the file was changed after encryption |
//! | 11 | the `sops` metadata is invalid |
//! | 12 | `--extract` path is invalid or not found |
//! | 13 | the input is empty |
//! | 14 | a key file already exists (keygen never overwrites) |
//! | 15 | `.sops.yaml` is invalid, or no creation rule matches the file |
//! | 16 | a value cannot become an environment variable (bad name, nested without `--flatten`) |
//! | 17 | Git: not a repository, a revision that does not exist, a path never committed |
//! | 18 | `--strict`: the file holds something the MAC does not authenticate |
//! | 19 | `edit --fail-unchanged` (sops mode): the file was not modified |
//! | 126 | `exec-env`, `exec-file`: the command cannot be run (as a shell says) |
//! | 127 | `exec-env`, `exec-file`: the command is not found (as a shell says) |
//!
//! `exec-env` and `exec-file` otherwise exit with the command's own status (128 + N when it is
//! killed by signal N).

use std::io;

use crate::config;
use crate::crypto;
use crate::document;
use crate::git;

/// Exit codes, one per kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    Usage = 2,
    ReadInput = 3,
    WriteOutput = 4,
    InvalidInput = 5,
    NotEncrypted = 6,
    AlreadyEncrypted = 7,
    NoKey = 8,
    BadValue = 9,
    BadMac = 10,
    BadMetadata = 11,
    BadPath = 12,
    EmptyInput = 13,
    KeyFileExists = 14,
    Config = 15,
    EnvVar = 16,
    Git = 17,
    Unauthenticated = 18,
    NotModified = 19,
    CommandNotExecutable = 126,
    CommandNotFound = 127,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: io::Error },
    #[error("{file}: cannot write: {source}")]
    Write { file: String, source: io::Error },
    #[error("{file}: {source}")]
    Document {
        file: String,
        source: document::Error,
    },
    #[error("{file}: the file is not encrypted (it has no sops metadata)")]
    NotEncrypted { file: String },
    #[error("{file}: the file is already encrypted (it has sops metadata)")]
    AlreadyEncrypted { file: String },
    #[error("{file}: {source}")]
    Metadata {
        file: String,
        source: document::Error,
    },
    #[error("{file}: {source}{}", searched_list(.searched))]
    Keys {
        file: String,
        source: crypto::keys::Error,
        searched: Vec<String>,
    },
    #[error("{file}: {source}")]
    Crypto { file: String, source: crypto::Error },
    #[error("{file}: {message}")]
    Path { file: String, message: String },
    #[error("{file}: the input is empty")]
    Empty { file: String },
    #[error("{file}: already exists; it is never overwritten")]
    KeyFileExists { file: String },
    #[error(transparent)]
    Config(#[from] config::Error),
    #[error("{file}: {message}")]
    EnvVar { file: String, message: String },
    #[error(transparent)]
    Git(#[from] git::Error),
    #[error("{file}: file has not changed, exiting")]
    NotModified { file: String },
    #[error("{program}: {}", spawn_reason(.source))]
    Spawn { program: String, source: io::Error },
}

fn spawn_reason(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        "command not found".into()
    } else {
        format!("cannot run the command: {e}")
    }
}

fn searched_list(places: &[String]) -> String {
    if places.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nplaces searched for an age identity:");
    for p in places {
        out.push_str("\n  - ");
        out.push_str(p);
    }
    out
}

impl Error {
    /// A crypto failure in `file`: key problems are reported as such (exit 8), the rest as
    /// crypto errors.
    pub fn from_crypto(file: &str, source: crypto::Error) -> Error {
        let file = file.to_string();
        match source {
            crypto::Error::Keys(source) => Error::Keys {
                file,
                source,
                searched: Vec::new(),
            },
            source => Error::Crypto { file, source },
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) => ExitStatus::Usage,
            Error::Read { .. } => ExitStatus::ReadInput,
            Error::Write { .. } => ExitStatus::WriteOutput,
            Error::Document {
                source: document::Error::Empty,
                ..
            }
            | Error::Empty { .. } => ExitStatus::EmptyInput,
            Error::Document { .. } => ExitStatus::InvalidInput,
            Error::NotEncrypted { .. } => ExitStatus::NotEncrypted,
            Error::AlreadyEncrypted { .. } => ExitStatus::AlreadyEncrypted,
            Error::Metadata { .. } => ExitStatus::BadMetadata,
            Error::Keys { .. } => ExitStatus::NoKey,
            Error::Crypto { source, .. } => match source {
                crypto::Error::NoMac
                | crypto::Error::MacMismatch
                | crypto::Error::MacUndecryptable => ExitStatus::BadMac,
                crypto::Error::Unauthenticated { .. } => ExitStatus::Unauthenticated,
                crypto::Error::BadLastModified | crypto::Error::Rule(_) => ExitStatus::BadMetadata,
                crypto::Error::Keys(_) => ExitStatus::NoKey,
                crypto::Error::Document(_) => ExitStatus::InvalidInput,
                _ => ExitStatus::BadValue,
            },
            Error::Path { .. } => ExitStatus::BadPath,
            Error::KeyFileExists { .. } => ExitStatus::KeyFileExists,
            Error::Config(config::Error::Read { source, .. })
                if source.kind() != io::ErrorKind::NotFound =>
            {
                ExitStatus::ReadInput
            }
            Error::Config(_) => ExitStatus::Config,
            Error::EnvVar { .. } => ExitStatus::EnvVar,
            Error::Git(_) => ExitStatus::Git,
            Error::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                ExitStatus::CommandNotFound
            }
            Error::Spawn { .. } => ExitStatus::CommandNotExecutable,
            Error::NotModified { .. } => ExitStatus::NotModified,
        }
    }

    /// A line telling the user what to do next, where there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotEncrypted { .. } => "encrypt it first with `secrets encrypt -i FILE`".into(),
            Error::AlreadyEncrypted { .. } => "decrypt it first, or edit it with `secrets edit FILE`".into(),
            Error::Keys { source: crypto::keys::Error::NoRecipients, .. } => {
                "pass --age age1..., set SOPS_AGE_RECIPIENTS, or add a creation rule to .sops.yaml (create a key with `secrets keygen -o keys.txt`)".into()
            }
            Error::Keys { source: crypto::keys::Error::NoMatchingIdentity { .. }, .. } => {
                "point SOPS_AGE_KEY_FILE or --identity at a keys file holding one of those recipients' identities, or import the PGP secret key into GnuPG (GNUPGHOME)".into()
            }
            Error::Crypto { source: crypto::Error::MacMismatch | crypto::Error::MacUndecryptable, .. } => {
                "if you trust the file anyway, --ignore-mac decrypts it without the check".into()
            }
            Error::Document { source: document::Error::Unsupported { .. }, .. } => {
                "choose another format with --input-type or --output-type".into()
            }
            Error::Read { source, .. } if source.kind() == io::ErrorKind::NotFound => "check the file name".into(),
            Error::Read { source, .. } if source.kind() == io::ErrorKind::FileTooLarge => {
                "set SECRETS_MAX_INPUT (e.g. SECRETS_MAX_INPUT=1G) to read a larger file; memory use is several times the file's size".into()
            }
            Error::EnvVar { message, .. } if message.contains("nested value") => {
                "pass --flatten to join nested keys with _ (DB_PASSWORD), or --extract a mapping of scalars".into()
            }
            Error::EnvVar { message, .. } if message.contains("need a mapping") => {
                "point --extract at a mapping, or leave it out to use the top level".into()
            }
            Error::EnvVar { .. } => "rename the key, or use exec-file to hand the whole file to the command".into(),
            Error::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                "check the command's name and PATH".into()
            }
            Error::KeyFileExists { .. } => "keep the existing file, or move it away first".into(),
            Error::Config(config::Error::NoMatchingRule { suggestion, .. }) => {
                format!("pass --age age1... on the command line, or add a rule such as:\n{suggestion}")
            }
            _ => return None,
        })
    }
}
