//! `secrets encrypt`.

use std::path::PathBuf;

use super::{choose_format, display_name, env, load, write_output};
use crate::crypto::{self, EncryptOptions, Rule};
use crate::document::metadata::RuleKind;
use crate::error::Error;

#[derive(clap::Args)]
pub struct EncryptArgs {
    /// The file to encrypt, or - for standard input.
    file: PathBuf,
    /// age recipients (age1..., ssh-ed25519 ..., ssh-rsa ...), comma-separated. Default: $SOPS_AGE_RECIPIENTS.
    #[arg(short, long, value_name = "RECIPIENTS")]
    age: Vec<String>,
    /// Write the result over the input file (atomically).
    #[arg(short, long, conflicts_with = "output")]
    in_place: bool,
    /// Write the result to this file.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The input format: yaml, json, toml, dotenv, ini or binary (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
    /// The name that decides the format when reading standard input.
    #[arg(long, value_name = "NAME")]
    filename_override: Option<PathBuf>,
    #[command(flatten)]
    rule: RuleArgs,
}

/// sops's partial-encryption flags; at most one may be given.
#[derive(clap::Args)]
pub struct RuleArgs {
    /// Leave values whose key (or an ancestor's) ends with this suffix in plaintext [default: _unencrypted].
    #[arg(long, value_name = "SUFFIX")]
    unencrypted_suffix: Option<String>,
    /// Encrypt only values whose key (or an ancestor's) ends with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    encrypted_suffix: Option<String>,
    /// Leave values whose key (or an ancestor's) matches this regex in plaintext.
    #[arg(long, value_name = "REGEX")]
    unencrypted_regex: Option<String>,
    /// Encrypt only values whose key (or an ancestor's) matches this regex.
    #[arg(long, value_name = "REGEX")]
    encrypted_regex: Option<String>,
    /// Compute the MAC over encrypted values only, so plaintext values can be edited by hand.
    #[arg(long)]
    mac_only_encrypted: bool,
}

impl RuleArgs {
    fn resolve(&self) -> Result<Rule, Error> {
        let given: Vec<(RuleKind, &String)> = [
            (RuleKind::UnencryptedSuffix, &self.unencrypted_suffix),
            (RuleKind::EncryptedSuffix, &self.encrypted_suffix),
            (RuleKind::UnencryptedRegex, &self.unencrypted_regex),
            (RuleKind::EncryptedRegex, &self.encrypted_regex),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        match given.as_slice() {
            [] => Ok(Rule::default()),
            [(kind, arg)] => Rule::from_spec(kind, arg).map_err(|e| Error::Usage(e.to_string())),
            _ => Err(Error::Usage("give at most one of --unencrypted-suffix, --encrypted-suffix, --unencrypted-regex and --encrypted-regex".into())),
        }
    }
}

fn recipients(flags: &[String]) -> Vec<String> {
    let joined = if flags.is_empty() { env::var(env::SOPS_AGE_RECIPIENTS).unwrap_or_default() } else { flags.join(",") };
    joined.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

pub fn run(args: EncryptArgs) -> Result<(), Error> {
    if args.in_place && args.file.as_os_str() == "-" {
        return Err(Error::Usage("--in-place cannot write to standard input".into()));
    }
    let file = display_name(&args.file);
    let name_for_type = args.filename_override.as_ref().unwrap_or(&args.file);
    let format = choose_format(args.input_type.as_deref(), name_for_type)?;
    let rule = args.rule.resolve()?;
    let (_, doc) = load(&args.file, format)?;
    if doc.metadata().is_some() {
        return Err(Error::AlreadyEncrypted { file });
    }
    let recipients = recipients(&args.age);
    let options = EncryptOptions { recipients, rule, mac_only_encrypted: args.rule.mac_only_encrypted };
    let bytes = crypto::encrypt_document(doc.as_ref(), &options).map_err(|source| match source {
        crypto::Error::Keys(source) => Error::Keys { file: file.clone(), source, searched: Vec::new() },
        source => Error::Crypto { file: file.clone(), source },
    })?;
    let in_place = args.in_place.then_some(args.file.as_path());
    write_output(&bytes, in_place, args.output.as_deref(), 0o644)
}
