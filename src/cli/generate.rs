//! `secrets generate`: a new secret from the operating system's CSPRNG, written encrypted
//! straight into the file. The value travels in memory only; it is printed with `--show` only.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{choose_format, display_name, edit};
use crate::config::{self, policy::Policy};
use crate::document::edit::NewValue;
use crate::document::tree::PathStep;
use crate::error::Error;
use crate::lifecycle::check::policy_for;
use crate::lifecycle::generate::{self as gen_, GenOptions, GenType};

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The encrypted file (created from its creation rule when it does not exist).
    file: PathBuf,
    /// Where to store the value, e.g. db.password or '["db"]["password"]'.
    path: String,
    /// password, token, hex, base64, uuid, age, ssh-ed25519 or ssh-rsa (default: from the
    /// policy's type in .sops.yaml).
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// Characters (password, token), random bytes (hex, base64) or bits (ssh-rsa).
    #[arg(long, value_name = "N")]
    length: Option<usize>,
    /// The alphabet of a password or token, as classes: lower,upper,digit,symbol,alnum,hex.
    #[arg(long, value_name = "CLASSES", conflicts_with = "chars")]
    charset: Option<String>,
    /// The alphabet of a password or token, as literal characters.
    #[arg(long, value_name = "CHARS")]
    chars: Option<String>,
    /// Key pairs: where the public half goes, unencrypted (default: PATH with the file's
    /// unencrypted suffix, e.g. ["deploy"]["key_unencrypted"]).
    #[arg(long, value_name = "PATH")]
    public_path: Option<String>,
    /// SSH keys: the public key's comment.
    #[arg(long, default_value = "")]
    comment: String,
    /// Replace an existing value (this is the rotation of that secret).
    #[arg(long)]
    force: bool,
    /// Write a read-only file anyway, and without its owner, group or extended attributes
    /// when they cannot be kept (--force is the rotation).
    #[arg(long)]
    pub(super) force_write: bool,
    /// Print the new value on standard output (it is otherwise never shown).
    #[arg(long)]
    show: bool,
    /// The format: yaml, json, toml, dotenv or ini (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

/// The policy for the target, from the nearest (or given) `.sops.yaml`.
fn target_policy(
    config_flag: Option<&Path>,
    file: &Path,
    keys: &[String],
) -> Result<Option<Policy>, Error> {
    let Some(path) = config::find(config_flag, file) else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let cfg = config::Config::load(&path)?;
    let rel = cfg.match_path(file);
    Ok(policy_for(&cfg.policies, &rel, keys).cloned())
}

fn keys_of(steps: &[PathStep], file: &str) -> Result<Vec<String>, Error> {
    steps
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Ok(k.clone()),
            PathStep::Index(_) => Err(Error::Path {
                file: file.to_string(),
                message: "generate stores values under mapping keys, not list items".into(),
            }),
        })
        .collect()
}

pub fn run(
    args: GenerateArgs,
    identities: &[PathBuf],
    config_flag: Option<&Path>,
) -> Result<(), Error> {
    let file = display_name(&args.file);
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let steps = edit::parse_steps(&args.path, &file)?;
    let keys = keys_of(&steps, &file)?;
    let policy = target_policy(config_flag, &args.file, &keys)?;
    let kind = match (&args.kind, policy.as_ref().and_then(|p| p.kind)) {
        (Some(name), _) => GenType::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = GenType::ALL.iter().map(|t| t.name()).collect();
            Error::Usage(format!(
                "unknown --type {name:?}: expected {}",
                known.join(", ")
            ))
        })?,
        (None, Some(declared)) => GenType::for_policy(declared).ok_or_else(|| {
            Error::Usage(format!(
                "the policy declares type {}, which generate cannot make: pass --type",
                declared.name()
            ))
        })?,
        (None, None) => {
            return Err(Error::Usage(
                "pass --type (password, token, hex, base64, uuid, age, ssh-ed25519, ssh-rsa)"
                    .into(),
            ));
        }
    };
    if args.public_path.is_some() && !kind.is_key_pair() {
        return Err(Error::Usage(format!(
            "--public-path applies to key pairs (age, ssh-ed25519, ssh-rsa), not {}",
            kind.name()
        )));
    }
    let charset = match (&args.charset, &args.chars) {
        (Some(names), _) => Some(gen_::charset_from_names(names).map_err(Error::Usage)?),
        (None, Some(chars)) => Some(gen_::charset_from_literal(chars).map_err(Error::Usage)?),
        (None, None) => None,
    };
    let options = GenOptions {
        length: args.length,
        charset,
        comment: args.comment.clone(),
    };
    let public_steps = match &args.public_path {
        Some(p) => Some(edit::parse_steps(p, &file)?),
        None => None,
    };
    let mut shown: Option<Zeroizing<String>> = None;
    let mut public_shown: Option<String> = None;
    edit::set_new_values(
        &args.file,
        format,
        identities,
        config_flag,
        args.force,
        |rule| {
            let generated = gen_::generate(&mut rand::rngs::OsRng, kind, &options, policy.as_ref())
                .map_err(Error::Usage)?;
            let mut values = vec![(steps.clone(), NewValue::string(&generated.value))];
            if let Some(public) = generated.public {
                let public_steps = match &public_steps {
                    Some(s) => s.clone(),
                    None => default_public_steps(&steps, rule),
                };
                let public_keys = keys_of(&public_steps, &file)?;
                if rule.encrypts(&public_keys) != Some(false) {
                    return Err(Error::Usage(format!(
                        "{file}: the file's encryption rule would encrypt {}; pass --public-path with a key it leaves in clear",
                        crate::document::display_path(&public_keys)
                    )));
                }
                if public_steps == steps {
                    return Err(Error::Usage("--public-path must differ from PATH".into()));
                }
                values.push((public_steps, NewValue::string(&public)));
                public_shown = Some(public);
            }
            if args.show {
                shown = Some(generated.value);
            }
            Ok(values)
        },
    )?;
    let verb = if args.force { "rotated" } else { "generated" };
    eprintln!(
        "{file}: {verb} a new {} value at {}",
        kind.name(),
        args.path
    );
    if let Some(public) = public_shown {
        println!("{public}");
    }
    if let Some(value) = shown {
        println!("{}", value.as_str());
    }
    Ok(())
}

/// PATH with the unencrypted suffix on its last key: the file's own suffix when its rule is
/// one, else sops's default `_unencrypted`.
fn default_public_steps(steps: &[PathStep], rule: &crate::crypto::Rule) -> Vec<PathStep> {
    let suffix = match rule {
        crate::crypto::Rule::UnencryptedSuffix(s) => s.clone(),
        _ => crate::crypto::rules::DEFAULT_UNENCRYPTED_SUFFIX.to_string(),
    };
    let mut out = steps.to_vec();
    if let Some(PathStep::Key(k)) = out.last_mut() {
        k.push_str(&suffix);
    }
    out
}
