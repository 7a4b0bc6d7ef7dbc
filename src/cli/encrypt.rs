//! `secrets encrypt`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    choose_format, decrypt_to_plaintext, display_name, env, load, load_encrypted, recover_key,
    write_output,
};
use crate::config;
use crate::crypto::{self, EncryptOptions, Rule};
use crate::document::Format;
use crate::document::metadata::RuleKind;
use crate::error::Error;

#[derive(clap::Args)]
pub struct EncryptArgs {
    /// The file to encrypt, or - for standard input.
    file: PathBuf,
    /// age recipients (age1..., ssh-ed25519 ..., ssh-rsa ...), comma-separated. Default: $SOPS_AGE_RECIPIENTS.
    #[arg(short, long, value_name = "RECIPIENTS")]
    age: Vec<String>,
    /// PGP fingerprints, comma-separated (public keys from the GnuPG keyring). Default: $SOPS_PGP_FP.
    #[arg(short, long, value_name = "FINGERPRINTS")]
    pgp: Vec<String>,
    /// Vault/OpenBao transit key URIs (https://HOST/v1/ENGINE/keys/NAME), comma-separated. Default: $SOPS_VAULT_URIS.
    #[arg(long, value_name = "URIS")]
    hc_vault_transit: Vec<String>,
    /// AWS KMS key ARNs, comma-separated, each optionally ARN+ROLE_ARN. Default: $SOPS_KMS_ARN.
    #[arg(short, long, value_name = "ARNS")]
    kms: Vec<String>,
    /// The AWS profile (shared credentials/config files) for the --kms keys.
    #[arg(long, value_name = "PROFILE")]
    aws_profile: Option<String>,
    /// The KMS encryption context, comma-separated key:value pairs, for the --kms keys.
    #[arg(long, value_name = "CONTEXT")]
    encryption_context: Option<String>,
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
    /// Write the encrypted file in this format (yaml, json, dotenv, ini, toml), converting the
    /// data first as sops does (default: the input's, its layout kept).
    #[arg(long, value_name = "TYPE", conflicts_with = "reuse")]
    output_type: Option<String>,
    /// Re-encrypt an edited plaintext against its previous encrypted version: same data key,
    /// recipients and rule, and every unchanged value keeps its exact ciphertext.
    #[arg(long, value_name = "OLD_FILE", conflicts_with_all = ["age", "pgp", "hc_vault_transit", "kms"])]
    reuse: Option<PathBuf>,
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
    /// The rule given on the command line, if any.
    fn resolve(&self) -> Result<Option<Rule>, Error> {
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
            [] => Ok(None),
            [(kind, arg)] => Rule::from_spec(kind, arg).map(Some).map_err(|e| Error::Usage(e.to_string())),
            _ => Err(Error::Usage("give at most one of --unencrypted-suffix, --encrypted-suffix, --unencrypted-regex and --encrypted-regex".into())),
        }
    }
}

/// The command line's recipients: `--age` (else `SOPS_AGE_RECIPIENTS`), then `--pgp` (else
/// `SOPS_PGP_FP`), as sops reads them.
/// The key flags of `encrypt` (and `edit` of a new file).
pub struct KeyFlags<'a> {
    pub age: &'a [String],
    pub pgp: &'a [String],
    pub vault: &'a [String],
    pub kms: &'a [String],
    pub aws_profile: Option<&'a str>,
    pub encryption_context: Option<&'a str>,
}

fn recipients(flags: &KeyFlags) -> Result<Vec<String>, Error> {
    let KeyFlags {
        age, pgp, vault, ..
    } = *flags;
    let list = |flags: &[String], var: &str| -> Vec<String> {
        let joined = if flags.is_empty() {
            env::var(var).unwrap_or_default()
        } else {
            flags.join(",")
        };
        joined
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let mut out = list(age, env::SOPS_AGE_RECIPIENTS);
    for fp in list(pgp, env::SOPS_PGP_FP) {
        let fp = crypto::keys::pgp::normalize(&fp);
        if !crypto::keys::pgp::is_fingerprint(&fp) {
            return Err(Error::Usage(format!(
                "--pgp {fp:?} is not a PGP fingerprint (40 hex digits)"
            )));
        }
        out.push(fp);
    }
    for uri in list(vault, env::SOPS_VAULT_URIS) {
        crypto::keys::vault::TransitKey::parse(&uri).map_err(Error::Usage)?;
        out.push(uri);
    }
    let context = match flags.encryption_context {
        Some(c) => crypto::keys::kms::parse_context(c).map_err(Error::Usage)?,
        None => Vec::new(),
    };
    for spec in list(flags.kms, env::SOPS_KMS_ARN) {
        let mut key = crypto::keys::kms::KmsKey::parse(&spec).map_err(Error::Usage)?;
        key.context = context.clone();
        key.aws_profile = flags.aws_profile.unwrap_or_default().to_string();
        out.push(key.spec());
    }
    Ok(out)
}

pub fn run(
    args: EncryptArgs,
    config_flag: Option<&Path>,
    identities: &[PathBuf],
) -> Result<(), Error> {
    if args.in_place && args.file.as_os_str() == "-" {
        return Err(Error::Usage(
            "--in-place cannot write to standard input".into(),
        ));
    }
    let file = display_name(&args.file);
    let name_for_type = args.filename_override.as_ref().unwrap_or(&args.file);
    let format = choose_format(args.input_type.as_deref(), name_for_type)?;
    let flag_rule = args.rule.resolve()?;
    if let Some(old) = &args.reuse {
        if flag_rule.is_some() || args.rule.mac_only_encrypted {
            return Err(Error::Usage(
                "--reuse keeps the old file's rule; it takes no rule flags".into(),
            ));
        }
        return reuse(&args, old, format, identities);
    }
    let settings = resolve_settings(
        &KeyFlags {
            age: &args.age,
            pgp: &args.pgp,
            vault: &args.hc_vault_transit,
            kms: &args.kms,
            aws_profile: args.aws_profile.as_deref(),
            encryption_context: args.encryption_context.as_deref(),
        },
        args.rule.mac_only_encrypted,
        flag_rule,
        config_flag,
        name_for_type,
    )?;
    let bytes = super::read_input(&args.file).map_err(|source| Error::Read {
        file: file.clone(),
        source,
    })?;
    let (bytes, format) = match &args.output_type {
        Some(t) if choose_format(Some(t), name_for_type)? != format => {
            // Refuse an encrypted or invalid input before converting it.
            drop(parse_plaintext(&bytes, format, &file)?);
            let to = choose_format(Some(t), name_for_type)?;
            let converted = super::decrypt::convert(&bytes, format, to, None, &file)?;
            drop(zeroize::Zeroizing::new(bytes));
            (converted, to)
        }
        _ => (bytes, format),
    };
    let bytes = zeroize::Zeroizing::new(bytes);
    // Line-shaped YAML takes the streaming path (no tree); anything else the full one.
    let fast = match format {
        Format::Yaml => crate::document::utf8(&bytes)
            .ok()
            .and_then(|text| crypto::stream::prepare_yaml(text, &settings)),
        _ => None,
    };
    let doc = match fast {
        Some(_) => None,
        None => Some(parse_plaintext(&bytes, format, &file)?),
    };
    let encrypt = |out: &mut dyn Write| match (&fast, &doc) {
        (Some(fast), _) => fast.write(out),
        (None, Some(doc)) => crypto::encrypt_document_to(doc.as_ref(), &settings, out),
        (None, None) => unreachable!("a document when there is no fast path"),
    };
    // The encrypted file goes straight to its destination as it is produced (atomically for a
    // file), so a large file is never held whole in memory.
    let in_place = args.in_place.then_some(args.file.as_path());
    match in_place.or(args.output.as_deref()) {
        Some(target) => {
            let write_err = |source| Error::Write {
                file: display_name(target),
                source,
            };
            let mut out = crate::store::AtomicFile::create(target, 0o644).map_err(write_err)?;
            encrypt(&mut out).map_err(|source| Error::from_crypto(&file, source))?;
            out.commit().map_err(write_err)?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            encrypt(&mut out).map_err(|source| Error::from_crypto(&file, source))?;
            out.flush().map_err(|source| Error::Write {
                file: "<stdout>".into(),
                source,
            })?;
        }
    }
    // The process ends here: freeing a large document's many small allocations one by one
    // would only cost time.
    std::mem::forget(doc);
    Ok(())
}

/// Parse a plaintext document read from `file`; an error when it is empty or already encrypted.
fn parse_plaintext(
    bytes: &[u8],
    format: Format,
    file: &str,
) -> Result<Box<dyn crate::document::Document>, Error> {
    if format != Format::Binary && bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty { file: file.into() });
    }
    let doc = crate::document::parse(format, bytes).map_err(|source| Error::Document {
        file: file.into(),
        source,
    })?;
    if doc.metadata().is_some() {
        return Err(Error::AlreadyEncrypted { file: file.into() });
    }
    Ok(doc)
}

/// `encrypt --reuse OLD PLAIN`: the old file as it is when nothing changed, else the plaintext
/// encrypted with the old data key, keeping every unchanged value's ciphertext.
fn reuse(
    args: &EncryptArgs,
    old: &Path,
    format: Format,
    identities: &[PathBuf],
) -> Result<(), Error> {
    let file = display_name(&args.file);
    let old_name = display_name(old);
    let old_bytes = super::read_input(old).map_err(|source| Error::Read {
        file: old_name.clone(),
        source,
    })?;
    let (old_doc, meta) = load_encrypted(old, format)?;
    let key = recover_key(&meta, identities, &old_name)?;
    let before =
        decrypt_to_plaintext(old_doc.as_ref(), &meta, &key, super::Verify::Mac, &old_name)?;
    let (plain, _) = load(&args.file, format)?;
    let bytes = if plain[..] == before[..] {
        old_bytes
    } else {
        super::edit::reencrypt(&plain, old_doc.as_ref(), &meta, &key, format, &file)?
    };
    let in_place = args.in_place.then_some(args.file.as_path());
    write_output(&bytes, in_place, args.output.as_deref(), 0o644)
}

/// The settings a new file gets from its creation rule (and SOPS_AGE_RECIPIENTS), as `edit` of
/// a file that does not exist yet uses them.
pub(super) fn options_for_new_file(
    config_flag: Option<&Path>,
    target: &Path,
) -> Result<EncryptOptions, Error> {
    let none = KeyFlags {
        age: &[],
        pgp: &[],
        vault: &[],
        kms: &[],
        aws_profile: None,
        encryption_context: None,
    };
    resolve_settings(&none, false, None, config_flag, target)
}

/// Recipients and rule: the command line (and SOPS_AGE_RECIPIENTS) first, then the creation rule
/// of the nearest `.sops.yaml` for whatever the command line leaves open.
fn resolve_settings(
    flags: &KeyFlags,
    mac_only_flag: bool,
    flag_rule: Option<Rule>,
    config_flag: Option<&Path>,
    target: &Path,
) -> Result<EncryptOptions, Error> {
    let recipients = recipients(flags)?;
    let env_config = env::var(env::SOPS_CONFIG).map(PathBuf::from);
    let config_path = config::find(config_flag.or(env_config.as_deref()), target);
    let config = config_path.map(|p| config::Config::load(&p)).transpose()?;
    let rule = match &config {
        Some(cfg) => match cfg.rule_for(target) {
            Ok(rule) => Some(rule),
            // Keys on the command line work without a rule.
            Err(_) if !recipients.is_empty() => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let (key_groups, shamir_threshold) = match (recipients.is_empty(), rule) {
        (false, _) => (vec![recipients], 0),
        (true, Some(rule)) => {
            if let Some(i) = rule.key_groups.iter().position(|g| g.recipients.is_empty()) {
                return Err(config::Error::Invalid {
                    file: config.as_ref().map(|c| c.path.display().to_string()).unwrap_or_default(),
                    line: rule.line,
                    message: format!(
                        "key group {} has only key types this tool cannot use here ({}); add an age recipient to it",
                        i + 1,
                        rule.key_groups[i].unsupported.join(", ")
                    ),
                }
                .into());
            }
            (
                rule.key_groups
                    .iter()
                    .map(|g| g.recipients.clone())
                    .collect(),
                rule.shamir_threshold,
            )
        }
        (true, None) => (vec![Vec::new()], 0),
    };
    let from_config = rule.and_then(|r| r.encryption.as_ref());
    let rule_setting = match (flag_rule, from_config) {
        (Some(r), _) => r,
        (None, Some((kind, arg))) => {
            Rule::from_spec(kind, arg).map_err(|e| Error::Usage(e.to_string()))?
        }
        (None, None) => Rule::default(),
    };
    let mac_only_encrypted = mac_only_flag || rule.is_some_and(|r| r.mac_only_encrypted);
    Ok(EncryptOptions {
        key_groups,
        shamir_threshold,
        rule: rule_setting,
        mac_only_encrypted,
    })
}
