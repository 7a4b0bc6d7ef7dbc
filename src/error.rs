//! The crate's top-level error: what failed, in which file, the exit code, and a hint.
//!
//! Exit codes: [`ExitStatus`] is the one source; `--help` prints [`ExitStatus::help_table`] and a
//! test (tests/cli/exit_codes.rs) checks the table in docs/commands.md against the enum.
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

impl ExitStatus {
    /// Every status, in code order.
    pub const ALL: [ExitStatus; 21] = [
        ExitStatus::Success,
        ExitStatus::Usage,
        ExitStatus::ReadInput,
        ExitStatus::WriteOutput,
        ExitStatus::InvalidInput,
        ExitStatus::NotEncrypted,
        ExitStatus::AlreadyEncrypted,
        ExitStatus::NoKey,
        ExitStatus::BadValue,
        ExitStatus::BadMac,
        ExitStatus::BadMetadata,
        ExitStatus::BadPath,
        ExitStatus::EmptyInput,
        ExitStatus::KeyFileExists,
        ExitStatus::Config,
        ExitStatus::EnvVar,
        ExitStatus::Git,
        ExitStatus::Unauthenticated,
        ExitStatus::NotModified,
        ExitStatus::CommandNotExecutable,
        ExitStatus::CommandNotFound,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the status means, in the few words `--help` prints.
    pub fn summary(self) -> &'static str {
        match self {
            ExitStatus::Success => "success",
            ExitStatus::Usage => "usage error",
            ExitStatus::ReadInput => "cannot read input",
            ExitStatus::WriteOutput => "cannot write output",
            ExitStatus::InvalidInput => "invalid document",
            ExitStatus::NotEncrypted => "not encrypted",
            ExitStatus::AlreadyEncrypted => "already encrypted",
            ExitStatus::NoKey => "no usable key or recipient",
            ExitStatus::BadValue => "a value cannot be decrypted (tampered or malformed)",
            ExitStatus::BadMac => "MAC mismatch or missing MAC",
            ExitStatus::BadMetadata => "invalid sops metadata",
            ExitStatus::BadPath => "--extract path invalid or not found",
            ExitStatus::EmptyInput => "empty input",
            ExitStatus::KeyFileExists => "key file or config already exists",
            ExitStatus::Config => ".sops.yaml invalid, or no creation rule matches",
            ExitStatus::EnvVar => "a value cannot be an environment variable",
            ExitStatus::Git => "Git: not a repository, no such revision, path never committed",
            ExitStatus::Unauthenticated => "--strict: content the MAC does not authenticate",
            ExitStatus::NotModified => "edit --fail-unchanged: the file was not modified",
            ExitStatus::CommandNotExecutable => "exec-env, exec-file: cannot run the command",
            ExitStatus::CommandNotFound => "exec-env, exec-file: command not found",
        }
    }

    /// The `Exit status:` block of `--help`, from [`ExitStatus::ALL`]: codes below 8 on the left,
    /// 8 and above on the right; the command statuses of `exec-env`/`exec-file` on the last line.
    pub fn help_table() -> String {
        let own: Vec<ExitStatus> = Self::ALL.into_iter().filter(|s| s.code() < 100).collect();
        let (left, right): (Vec<ExitStatus>, Vec<ExitStatus>) =
            own.into_iter().partition(|s| s.code() < 8);
        let mut out = String::from("Exit status:");
        for row in 0..left.len().max(right.len()) {
            let l = left.get(row).map_or(String::new(), |s| {
                format!("{:>3}  {}", s.code(), s.summary())
            });
            let r = right.get(row).map_or(String::new(), |s| {
                format!("{:>3}  {}", s.code(), s.summary())
            });
            out.push_str(format!("\n{l:<24}{r}").trim_end());
        }
        out.push_str(&format!(
            "\nexec-env, exec-file: the command's own status; {} command not found, {} cannot run it.",
            ExitStatus::CommandNotFound.code(),
            ExitStatus::CommandNotExecutable.code()
        ));
        out
    }
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

#[cfg(test)]
mod exit_status_tests {
    use super::*;

    /// The `--help` block, as it was written by hand before the enum became its source (with the
    /// status sops mode's `edit --fail-unchanged` added since).
    const FORMER_HELP: &str = "\
Exit status:
  0  success              8  no usable key or recipient
  2  usage error          9  a value cannot be decrypted (tampered or malformed)
  3  cannot read input   10  MAC mismatch or missing MAC
  4  cannot write output 11  invalid sops metadata
  5  invalid document    12  --extract path invalid or not found
  6  not encrypted       13  empty input
  7  already encrypted   14  key file or config already exists
                         15  .sops.yaml invalid, or no creation rule matches
                         16  a value cannot be an environment variable
                         17  Git: not a repository, no such revision, path never committed
                         18  --strict: content the MAC does not authenticate
                         19  edit --fail-unchanged: the file was not modified
exec-env, exec-file: the command's own status; 127 command not found, 126 cannot run it.";

    #[test]
    fn the_help_table_comes_from_the_enum_and_keeps_its_layout() {
        assert_eq!(ExitStatus::help_table(), FORMER_HELP);
        for status in ExitStatus::ALL {
            assert!(
                FORMER_HELP.contains(&format!("{:>2}  {}", status.code(), status.summary()))
                    || status.code() > 100
            );
        }
    }
}
