//! sops mode: when this binary is called as `sops` (a symlink or a copy of that name), it
//! answers sops 3.11's command line and exits with sops's codes, so scripts written for sops
//! keep working.
//!
//! sops's command line (urfave/cli v1) is read here and rewritten into ours: the legacy form
//! `sops [flags] FILE` (`-d`, `-e`, `-r`, `--set`, or an edit when none is given) and the
//! subcommands. As in sops, flags end at the first positional argument; later arguments are
//! positional (sops warns that flags there are ignored, and so do we). Flags we do not know by
//! the name sops gives them are forwarded by name, so our commands accept them once they exist
//! (the PGP, KMS and Vault flags) and refuse them clearly until then.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::crypto;
use crate::document;
use crate::error::Error;

/// The version line `sops --version` prints: sops's, then ours.
const VERSION_LINE: &str = concat!(
    "sops 3.11.0 (secrets ",
    env!("CARGO_PKG_VERSION"),
    ", sops drop-in)"
);

/// sops's exit codes (cmd/sops/codes/codes.go in getsops/sops).
mod code {
    pub const GENERIC: u8 = 1;
    pub const COULD_NOT_READ_INPUT_FILE: u8 = 2;
    pub const COULD_NOT_WRITE_OUTPUT_FILE: u8 = 3;
    pub const ERROR_DUMPING_TREE: u8 = 4;
    pub const ERROR_READING_CONFIG: u8 = 5;
    pub const ERROR_DECRYPTING_TREE: u8 = 25;
    pub const MAC_MISMATCH: u8 = 51;
    pub const CONFIG_FILE_NOT_FOUND: u8 = 61;
    pub const INVALID_TREE_PATH_FORMAT: u8 = 91;
    pub const NEED_AT_LEAST_ONE_DOCUMENT: u8 = 92;
    pub const NO_FILE_SPECIFIED: u8 = 100;
    pub const COULD_NOT_RETRIEVE_KEY: u8 = 128;
    pub const FILE_HAS_NOT_BEEN_MODIFIED: u8 = 200;
    pub const FILE_ALREADY_ENCRYPTED: u8 = 203;
}

/// Whether argv[0] names `sops` (its file name, so `/usr/local/bin/sops` and `./sops` do).
pub fn invoked_as_sops(argv0: Option<&OsStr>) -> bool {
    argv0
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == "sops")
}

/// What a sops command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run our command line (argv without argv[0]).
    Run(Vec<OsString>),
    /// Print this text on stdout and exit 0 (`--version`).
    Print(String),
    /// Fail with this message and sops exit code, before anything runs.
    Fail(String, u8),
}

/// Whether a sops flag takes a value, and how we pass it on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
}

/// sops's flags, long name first then its short alias, with whether they take a value.
const FLAGS: &[(&str, Option<&str>, Kind)] = &[
    ("decrypt", Some("d"), Kind::Bool),
    ("encrypt", Some("e"), Kind::Bool),
    ("rotate", Some("r"), Kind::Bool),
    ("in-place", Some("i"), Kind::Bool),
    ("show-master-keys", Some("s"), Kind::Bool),
    ("ignore-mac", None, Kind::Bool),
    ("mac-only-encrypted", None, Kind::Bool),
    ("verbose", None, Kind::Bool),
    ("disable-version-check", None, Kind::Bool),
    ("check-for-updates", None, Kind::Bool),
    ("enable-local-keyservice", None, Kind::Bool),
    ("idempotent", None, Kind::Bool),
    ("value-stdin", None, Kind::Bool),
    ("yes", Some("y"), Kind::Bool),
    ("background", None, Kind::Bool),
    ("pristine", None, Kind::Bool),
    ("same-process", None, Kind::Bool),
    ("no-fifo", None, Kind::Bool),
    ("help", Some("h"), Kind::Bool),
    ("version", Some("v"), Kind::Bool),
    ("kms", Some("k"), Kind::Value),
    ("pgp", Some("p"), Kind::Value),
    ("age", Some("a"), Kind::Value),
    ("file", Some("f"), Kind::Value),
    ("aws-profile", None, Kind::Value),
    ("gcp-kms", None, Kind::Value),
    ("hckms", None, Kind::Value),
    ("azure-kv", None, Kind::Value),
    ("hc-vault-transit", None, Kind::Value),
    ("extract", None, Kind::Value),
    ("input-type", None, Kind::Value),
    ("output-type", None, Kind::Value),
    ("add-gcp-kms", None, Kind::Value),
    ("rm-gcp-kms", None, Kind::Value),
    ("add-hckms", None, Kind::Value),
    ("rm-hckms", None, Kind::Value),
    ("add-azure-kv", None, Kind::Value),
    ("rm-azure-kv", None, Kind::Value),
    ("add-kms", None, Kind::Value),
    ("rm-kms", None, Kind::Value),
    ("add-hc-vault-transit", None, Kind::Value),
    ("rm-hc-vault-transit", None, Kind::Value),
    ("add-age", None, Kind::Value),
    ("rm-age", None, Kind::Value),
    ("add-pgp", None, Kind::Value),
    ("rm-pgp", None, Kind::Value),
    ("unencrypted-suffix", None, Kind::Value),
    ("encrypted-suffix", None, Kind::Value),
    ("unencrypted-regex", None, Kind::Value),
    ("encrypted-regex", None, Kind::Value),
    ("unencrypted-comment-regex", None, Kind::Value),
    ("encrypted-comment-regex", None, Kind::Value),
    ("config", None, Kind::Value),
    ("encryption-context", None, Kind::Value),
    ("set", None, Kind::Value),
    ("shamir-secret-sharing-threshold", None, Kind::Value),
    ("indent", None, Kind::Value),
    ("output", None, Kind::Value),
    ("filename-override", None, Kind::Value),
    ("decryption-order", None, Kind::Value),
    ("keyservice", None, Kind::Value),
    ("value-file", None, Kind::Bool),
    ("user", None, Kind::Value),
    ("filename", None, Kind::Value),
    ("omit-extensions", None, Kind::Bool),
    ("recursive", None, Kind::Bool),
];

/// Flags that change nothing for us: logging, the version check, the local key service.
const IGNORED: &[&str] = &[
    "verbose",
    "disable-version-check",
    "check-for-updates",
    "enable-local-keyservice",
    "same-process",
    // The order in which key types are tried: with only age keys there is one.
    "decryption-order",
];

/// The subcommands of sops 3.11.
const SUBCOMMANDS: &[&str] = &[
    "completion",
    "exec-env",
    "exec-file",
    "publish",
    "keyservice",
    "filestatus",
    "groups",
    "updatekeys",
    "decrypt",
    "encrypt",
    "rotate",
    "edit",
    "set",
    "unset",
    "help",
    "h",
];

/// The flags each subcommand of sops 3.11 defines (besides --help and the key service flags);
/// sops refuses any other there, global ones included.
fn subcommand_flags(name: &str) -> &'static [&'static str] {
    match name {
        "decrypt" => &[
            "in-place",
            "extract",
            "output",
            "input-type",
            "output-type",
            "ignore-mac",
            "filename-override",
            "decryption-order",
        ],
        "encrypt" => &[
            "in-place",
            "output",
            "filename-override",
            "kms",
            "aws-profile",
            "gcp-kms",
            "hckms",
            "azure-kv",
            "hc-vault-transit",
            "pgp",
            "age",
            "input-type",
            "output-type",
            "unencrypted-suffix",
            "encrypted-suffix",
            "unencrypted-regex",
            "encrypted-regex",
            "unencrypted-comment-regex",
            "encrypted-comment-regex",
            "mac-only-encrypted",
            "encryption-context",
            "shamir-secret-sharing-threshold",
        ],
        "edit" => &[
            "kms",
            "aws-profile",
            "gcp-kms",
            "hckms",
            "azure-kv",
            "hc-vault-transit",
            "pgp",
            "age",
            "input-type",
            "output-type",
            "unencrypted-suffix",
            "encrypted-suffix",
            "unencrypted-regex",
            "encrypted-regex",
            "unencrypted-comment-regex",
            "encrypted-comment-regex",
            "mac-only-encrypted",
            "encryption-context",
            "shamir-secret-sharing-threshold",
            "show-master-keys",
            "ignore-mac",
            "decryption-order",
        ],
        "rotate" => &[
            "in-place",
            "output",
            "input-type",
            "output-type",
            "encryption-context",
            "add-gcp-kms",
            "rm-gcp-kms",
            "add-hckms",
            "rm-hckms",
            "add-azure-kv",
            "rm-azure-kv",
            "add-kms",
            "rm-kms",
            "add-hc-vault-transit",
            "rm-hc-vault-transit",
            "add-age",
            "rm-age",
            "add-pgp",
            "rm-pgp",
            "filename-override",
            "decryption-order",
        ],
        "set" => &[
            "input-type",
            "output-type",
            "value-file",
            "value-stdin",
            "shamir-secret-sharing-threshold",
            "ignore-mac",
            "decryption-order",
            "idempotent",
        ],
        "unset" => &[
            "input-type",
            "output-type",
            "shamir-secret-sharing-threshold",
            "ignore-mac",
            "decryption-order",
            "idempotent",
        ],
        "exec-env" => &[
            "background",
            "pristine",
            "user",
            "same-process",
            "decryption-order",
        ],
        "exec-file" => &[
            "background",
            "no-fifo",
            "user",
            "input-type",
            "output-type",
            "filename",
            "decryption-order",
        ],
        "filestatus" => &["input-type"],
        "updatekeys" => &["yes", "input-type", "shamir-secret-sharing-threshold"],
        // groups: its own subcommands (add, delete) read their flags.
        _ => &[
            "file",
            "in-place",
            "shamir-secret-sharing-threshold",
            "age",
            "pgp",
            "kms",
            "aws-profile",
            "gcp-kms",
            "hckms",
            "azure-kv",
            "hc-vault-transit",
            "encryption-context",
        ],
    }
}

/// Flags (by long name, with their values) and the positional arguments after them.
#[derive(Debug, Default)]
struct Parsed {
    flags: Vec<(&'static str, Option<OsString>)>,
    positional: Vec<OsString>,
}

impl Parsed {
    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| *n == name)
    }

    fn value(&self, name: &str) -> Option<&OsString> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_ref())
    }
}

/// Read flags the way urfave/cli v1 (Go's flag package) does: `-f`, `--flag`, `-flag value`,
/// `--flag=value`; they end at the first positional argument or `--`. With `stop_at_command`,
/// the first positional is returned as is (it may be a subcommand) and nothing after it is read.
fn parse_flags(args: &[OsString]) -> Result<(Parsed, usize), String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        let body = arg.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(OsString::from(v))),
            None => (body, None),
        };
        let Some(&(long, _, kind)) = FLAGS
            .iter()
            .find(|(l, s, _)| *l == name || *s == Some(name))
        else {
            return Err(format!("flag provided but not defined: -{name}"));
        };
        let value = match (kind, inline) {
            (Kind::Bool, v) => v,
            (Kind::Value, Some(v)) => Some(v),
            (Kind::Value, None) => {
                i += 1;
                Some(
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("flag needs an argument: -{name}"))?,
                )
            }
        };
        parsed.flags.push((long, value));
        i += 1;
    }
    Ok((parsed, i))
}

/// Turn sops's command line (without argv[0]) into ours. Like sops, and unlike our own command
/// line (which starts from the target file's folder), look for `.sops.yaml` from the current
/// folder up, unless `--config` or `SOPS_CONFIG` names one.
pub fn plan(args: &[OsString]) -> Plan {
    let mut plan = plan_args(args);
    if let Plan::Run(argv) = &mut plan
        && argv.len() > 1
        && !argv.iter().any(|a| a == "--config")
        && super::env::var(super::env::SOPS_CONFIG).is_none()
        && let Some(found) = crate::config::find(None, Path::new(".sops-drop-in-probe"))
    {
        argv.splice(1..1, ["--config".into(), found.into_os_string()]);
    }
    plan
}

fn plan_args(args: &[OsString]) -> Plan {
    let (global, next) = match parse_flags(args) {
        Ok(p) => p,
        Err(message) => return Plan::Fail(format!("Incorrect Usage. {message}"), code::GENERIC),
    };
    let command = args.get(next).map(|a| a.to_string_lossy().into_owned());
    match command {
        Some(c) if SUBCOMMANDS.contains(&c.as_str()) => {
            let rest = &args[next + 1..];
            subcommand(&c, global, rest)
        }
        _ => {
            let mut parsed = global;
            parsed.positional = args[next..].to_vec();
            legacy(parsed)
        }
    }
}

/// `sops [flags] FILE`: decrypt, encrypt, rotate, set, or edit.
fn legacy(p: Parsed) -> Plan {
    if p.has("version") {
        return Plan::Print(format!("{VERSION_LINE}\n"));
    }
    if p.has("help") {
        return Plan::Run(vec!["--help".into()]);
    }
    warn_ignored(&p.positional);
    let Some(file) = p.positional.first().cloned() else {
        return Plan::Fail("Error: no file specified".into(), code::NO_FILE_SPECIFIED);
    };
    let modes = ["encrypt", "decrypt", "rotate", "set"]
        .iter()
        .filter(|m| p.has(m))
        .count();
    if modes > 1 {
        return Plan::Fail(
            "Error: only one of --encrypt, --decrypt, --rotate or --set can be given".into(),
            code::GENERIC,
        );
    }
    if p.has("encrypt") {
        run("encrypt", &p, &[file])
    } else if p.has("decrypt") {
        run("decrypt", &p, &[file])
    } else if p.has("rotate") {
        run("rotate", &p, &[file])
    } else if let Some(set) = p.value("set") {
        let set = set.to_string_lossy();
        let Some(pos) = set.find("] ") else {
            return Plan::Fail(
                "Error: invalid set format: expected '[\"path\"] value'".into(),
                7,
            );
        };
        let (path, value) = (&set[..=pos], &set[pos + 2..]);
        run("set", &p, &[file, path.into(), value.into()])
    } else {
        run("edit", &p, &[file])
    }
}

/// sops's subcommands.
fn subcommand(name: &str, global: Parsed, rest: &[OsString]) -> Plan {
    let (mut p, next) = match parse_flags(rest) {
        Ok(p) => p,
        Err(message) => return Plan::Fail(format!("Incorrect Usage: {message}"), code::GENERIC),
    };
    const EVERYWHERE: &[&str] = &["help", "enable-local-keyservice", "keyservice"];
    if let Some((bad, _)) = p
        .flags
        .iter()
        .find(|(f, _)| !subcommand_flags(name).contains(f) && !EVERYWHERE.contains(f))
    {
        return Plan::Fail(
            format!("Incorrect Usage: flag provided but not defined: -{bad}"),
            code::GENERIC,
        );
    }
    if p.has("help") {
        return Plan::Run(vec![name.into(), "--help".into()]);
    }
    // Global flags given before the subcommand (sops reads --config and the key flags there).
    p.flags.splice(0..0, global.flags);
    p.positional = rest[next..].to_vec();
    let pos = p.positional.clone();
    let none = || Plan::Fail("Error: no file specified".into(), code::NO_FILE_SPECIFIED);
    match name {
        "help" | "h" => Plan::Run(vec!["--help".into()]),
        "completion" => {
            let shell = pos.first().cloned().unwrap_or_else(|| "bash".into());
            Plan::Run(vec![
                "completion".into(),
                shell,
                "--name".into(),
                "sops".into(),
            ])
        }
        "encrypt" | "decrypt" => {
            // No file: standard input, as sops (which reads JSON there unless told otherwise).
            let file = pos.first().cloned().unwrap_or_else(|| "-".into());
            if file == "-"
                && name == "decrypt"
                && !p.has("input-type")
                && !p.has("filename-override")
            {
                p.flags.push(("input-type", Some("json".into())));
            }
            run(name, &p, &[file])
        }
        "edit" | "filestatus" | "rotate" => match pos.first() {
            Some(f) => run(name, &p, std::slice::from_ref(f)),
            None => none(),
        },
        "updatekeys" => match pos.is_empty() {
            true => none(),
            false => run(name, &p, &pos),
        },
        "set" => {
            let needed = if p.has("value-stdin") { 2 } else { 3 };
            if pos.len() < needed {
                return Plan::Fail(
                    "Error: no file specified, or index and value are missing".into(),
                    code::NO_FILE_SPECIFIED,
                );
            }
            if p.has("value-file") {
                // sops's --value-file is a switch: the third argument is the file to read.
                p.flags.retain(|(f, _)| *f != "value-file");
                p.flags.push(("value-file", Some(pos[2].clone())));
                return run(name, &p, &pos[..2]);
            }
            run(name, &p, &pos[..needed])
        }
        "unset" => match pos.len() {
            0 | 1 => Plan::Fail(
                "Error: no file specified, or index is missing".into(),
                code::NO_FILE_SPECIFIED,
            ),
            _ => run(name, &p, &pos[..2]),
        },
        "exec-env" | "exec-file" => match pos.as_slice() {
            [file, command, ..] => {
                let mut argv = our_flags(name, &p);
                argv.extend([file.clone(), "--".into(), "sh".into(), "-c".into()]);
                argv.push(command.clone());
                Plan::Run(argv)
            }
            _ => Plan::Fail(
                "Error: missing file to decrypt, or command to run".into(),
                code::GENERIC,
            ),
        },
        "groups" => {
            let Some(action) = pos.first() else {
                return Plan::Run(vec!["groups".into(), "--help".into()]);
            };
            let (mut sub, next) = match parse_flags(&pos[1..]) {
                Ok(s) => s,
                Err(message) => {
                    return Plan::Fail(format!("Incorrect Usage: {message}"), code::GENERIC);
                }
            };
            sub.positional = pos[1 + next..].to_vec();
            let mut argv = vec!["groups".into(), action.clone()];
            if !sub.has("in-place") && !p.has("in-place") {
                argv.push("--stdout".into());
            }
            argv.extend(forward(&sub, &[]));
            if action == "delete" {
                argv.extend(sub.positional.first().cloned());
            }
            Plan::Run(argv)
        }
        _ => Plan::Fail(
            format!("sops {name} is not provided by secrets (use the real sops for it)"),
            code::GENERIC,
        ),
    }
}

/// Our command `name` with the sops flags mapped, then the positional arguments.
fn run(name: &str, p: &Parsed, positional: &[OsString]) -> Plan {
    // sops reads key paths only in its own `["a"][0]` form (our commands also take `a.b`).
    if let Some(path) = p.value("extract")
        && !path.to_string_lossy().trim_start().starts_with('[')
    {
        return Plan::Fail(
            format!(
                "Error: invalid tree path format: {:?}",
                path.to_string_lossy()
            ),
            code::INVALID_TREE_PATH_FORMAT,
        );
    }
    let mut argv = our_flags(name, p);
    argv.push("--".into());
    argv.extend(positional.iter().cloned());
    Plan::Run(argv)
}

/// Our command name and its flags for sops's parsed flags.
fn our_flags(name: &str, p: &Parsed) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![name.into()];
    // -s only changes what the editor shows; sops ignores it elsewhere.
    let mut drop: Vec<&str> = vec![
        "encrypt",
        "decrypt",
        "rotate",
        "set",
        "help",
        "version",
        "show-master-keys",
    ];
    if name != "decrypt" {
        // Our other commands keep the file's own layout (format-preserving): no re-indenting.
        drop.push("indent");
    }
    match name {
        // sops exits 200 when the file is left as it was.
        "edit" => argv.push("--fail-unchanged".into()),
        "rotate" if !p.has("in-place") && !p.has("output") => argv.push("--stdout".into()),
        // set and unset always write the file (sops's -i changes nothing there).
        "updatekeys" | "set" | "unset" => drop.push("in-place"),
        "exec-env" | "exec-file" => {
            // sops's --same-process is what we always do; input-type is read by both.
            drop.push("in-place");
        }
        _ => {}
    }
    if name == "edit" && p.has("show-master-keys") {
        eprintln!(
            "[secrets] warning: --show-master-keys is not supported in the editor; the sops metadata is not shown"
        );
    }
    argv.extend(forward(p, &drop));
    argv
}

/// The flags as our commands spell them (sops's long names), leaving out `skip` and those we
/// ignore. A comma-separated `--age` list becomes one flag per recipient.
fn forward(p: &Parsed, skip: &[&str]) -> Vec<OsString> {
    let mut out = Vec::new();
    for (name, value) in &p.flags {
        if skip.contains(name) || IGNORED.contains(name) {
            continue;
        }
        let flag = OsString::from(format!("--{name}"));
        match value {
            None => out.push(flag),
            Some(v) if matches!(*name, "age" | "add-age" | "rm-age") => {
                for r in v.to_string_lossy().split(',') {
                    let r = r.trim();
                    if !r.is_empty() {
                        out.push(flag.clone());
                        out.push(r.into());
                    }
                }
            }
            Some(v) => {
                out.push(flag);
                out.push(v.clone());
            }
        }
    }
    out
}

/// sops warns when it ignores arguments after the file; so do we.
fn warn_ignored(positional: &[OsString]) {
    if positional.len() > 1 {
        eprintln!(
            "[secrets] warning: more than one positional argument provided; only the first one is used"
        );
        if let Some(flag) = positional[1..]
            .iter()
            .find(|a| a.to_string_lossy().starts_with('-'))
        {
            eprintln!(
                "[secrets] warning: {:?} looks like a flag: flags must always be provided before the file name",
                flag.to_string_lossy()
            );
        }
    }
}

/// sops's exit code for one of our errors.
pub fn exit_code(err: &Error) -> u8 {
    use std::io::ErrorKind;
    match err {
        Error::Usage(_) => code::GENERIC,
        Error::Read { source, .. } if source.kind() == ErrorKind::NotFound => {
            code::NO_FILE_SPECIFIED
        }
        Error::Read { .. } => code::COULD_NOT_READ_INPUT_FILE,
        Error::Write { .. } => code::COULD_NOT_WRITE_OUTPUT_FILE,
        Error::Document {
            source: document::Error::Empty,
            ..
        }
        | Error::Empty { .. } => code::NEED_AT_LEAST_ONE_DOCUMENT,
        Error::Document {
            source: document::Error::Unsupported { .. },
            ..
        } => code::ERROR_DUMPING_TREE,
        // A key path that is not there (unset, set through a list): sops's "Key not found".
        Error::Document {
            source: document::Error::AtPath { .. },
            ..
        } => code::GENERIC,
        Error::Document { .. } => code::COULD_NOT_READ_INPUT_FILE,
        Error::AlreadyEncrypted { .. } => code::FILE_ALREADY_ENCRYPTED,
        Error::Keys {
            source: crypto::keys::Error::NoRecipients,
            ..
        } => code::GENERIC,
        Error::Keys { .. } => code::COULD_NOT_RETRIEVE_KEY,
        Error::Crypto { source, .. } => match source {
            // sops reports a missing MAC as a mismatch ("File has no MAC"): 51, not 52.
            crypto::Error::NoMac | crypto::Error::MacMismatch | crypto::Error::MacUndecryptable => {
                code::MAC_MISMATCH
            }
            crypto::Error::Keys(_) => code::COULD_NOT_RETRIEVE_KEY,
            crypto::Error::Document(_) => code::COULD_NOT_READ_INPUT_FILE,
            crypto::Error::Unauthenticated { .. }
            | crypto::Error::BadLastModified
            | crypto::Error::Rule(_) => code::GENERIC,
            _ => code::ERROR_DECRYPTING_TREE,
        },
        Error::Path { message, .. } if message.starts_with("invalid") => {
            code::INVALID_TREE_PATH_FORMAT
        }
        Error::Config(crate::config::Error::NotFound { .. }) => code::CONFIG_FILE_NOT_FOUND,
        Error::Config(crate::config::Error::NoMatchingRule { .. }) => code::GENERIC,
        Error::Config(_) => code::ERROR_READING_CONFIG,
        Error::NotModified { .. } => code::FILE_HAS_NOT_BEEN_MODIFIED,
        Error::Spawn { .. } => err.exit_status() as u8,
        Error::NotEncrypted { .. }
        | Error::Metadata { .. }
        | Error::Path { .. }
        | Error::KeyFileExists { .. }
        | Error::EnvVar { .. }
        | Error::Git(_) => code::GENERIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(args: &[&str]) -> Plan {
        plan_args(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn run_of(args: &[&str]) -> Vec<String> {
        match plan_of(args) {
            Plan::Run(v) => v.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn argv0_named_sops_selects_sops_mode() {
        assert!(invoked_as_sops(Some(OsStr::new("/usr/local/bin/sops"))));
        assert!(invoked_as_sops(Some(OsStr::new("./sops"))));
        assert!(!invoked_as_sops(Some(OsStr::new("secrets"))));
        assert!(!invoked_as_sops(Some(OsStr::new("sops-old"))));
        assert!(!invoked_as_sops(None));
    }

    #[test]
    fn legacy_flags_map_onto_our_commands() {
        assert_eq!(run_of(&["-d", "f.yaml"]), ["decrypt", "--", "f.yaml"]);
        assert_eq!(
            run_of(&["--decrypt", "--output-type=json", "-s", "f.yaml"]),
            ["decrypt", "--output-type", "json", "--", "f.yaml"]
        );
        assert_eq!(
            run_of(&["-e", "-i", "-a", "age1x,age1y", "f.yaml"]),
            [
                "encrypt",
                "--in-place",
                "--age",
                "age1x",
                "--age",
                "age1y",
                "--",
                "f.yaml"
            ]
        );
        assert_eq!(
            run_of(&["-r", "f.yaml"]),
            ["rotate", "--stdout", "--", "f.yaml"]
        );
        assert_eq!(
            run_of(&["-r", "-i", "f.yaml"]),
            ["rotate", "--in-place", "--", "f.yaml"]
        );
        assert_eq!(
            run_of(&["--set", "[\"a\"][0] {\"b\": 1}", "f.yaml"]),
            ["set", "--", "f.yaml", "[\"a\"][0]", "{\"b\": 1}"]
        );
        assert_eq!(
            run_of(&["f.yaml"]),
            ["edit", "--fail-unchanged", "--", "f.yaml"]
        );
    }

    #[test]
    fn flags_after_the_file_are_ignored_as_sops_does() {
        // sops edits here: -d comes after the file name.
        assert_eq!(
            run_of(&["f.yaml", "-d"]),
            ["edit", "--fail-unchanged", "--", "f.yaml"]
        );
        assert_eq!(
            run_of(&["-d", "f.yaml", "--output-type", "json"]),
            ["decrypt", "--", "f.yaml"]
        );
    }

    #[test]
    fn unknown_key_flags_are_forwarded_by_name() {
        assert_eq!(
            run_of(&["-e", "--pgp", "FP", "--kms=arn", "f.yaml"]),
            ["encrypt", "--pgp", "FP", "--kms", "arn", "--", "f.yaml"]
        );
    }

    #[test]
    fn subcommands_map_onto_ours() {
        assert_eq!(
            run_of(&["exec-env", "f.yaml", "echo $A"]),
            ["exec-env", "f.yaml", "--", "sh", "-c", "echo $A"]
        );
        assert_eq!(
            run_of(&["exec-file", "--no-fifo", "f.yaml", "cat {}"]),
            [
                "exec-file",
                "--no-fifo",
                "f.yaml",
                "--",
                "sh",
                "-c",
                "cat {}"
            ]
        );
        assert_eq!(
            run_of(&["unset", "--idempotent", "f.yaml", "[\"a\"]"]),
            ["unset", "--idempotent", "--", "f.yaml", "[\"a\"]"]
        );
        assert_eq!(
            run_of(&["set", "--value-file", "f.json", "[\"c\"]", "v.json"]),
            ["set", "--value-file", "v.json", "--", "f.json", "[\"c\"]"]
        );
        assert_eq!(
            run_of(&["updatekeys", "-y", "a.yaml", "b.yaml"]),
            ["updatekeys", "--yes", "--", "a.yaml", "b.yaml"]
        );
        assert_eq!(
            run_of(&["--config", "c.yaml", "decrypt", "f.yaml"]),
            ["decrypt", "--config", "c.yaml", "--", "f.yaml"]
        );
        assert_eq!(
            run_of(&["decrypt"]),
            ["decrypt", "--input-type", "json", "--", "-"]
        );
        assert_eq!(
            run_of(&["completion", "zsh"]),
            ["completion", "zsh", "--name", "sops"]
        );
        assert_eq!(
            run_of(&["groups", "delete", "-f", "f.yaml", "1"]),
            ["groups", "delete", "--stdout", "--file", "f.yaml", "1"]
        );
    }

    #[test]
    fn no_file_bad_flags_and_version() {
        assert!(matches!(plan_of(&["-d"]), Plan::Fail(_, 100)));
        assert!(matches!(plan_of(&[]), Plan::Fail(_, 100)));
        assert!(matches!(plan_of(&["--bogus", "f"]), Plan::Fail(_, 1)));
        assert!(matches!(plan_of(&["unset", "f"]), Plan::Fail(_, 100)));
        match plan_of(&["--version"]) {
            Plan::Print(s) => assert!(s.starts_with("sops 3.11.0 ")),
            other => panic!("{other:?}"),
        }
    }
}
