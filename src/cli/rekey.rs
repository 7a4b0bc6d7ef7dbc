//! `secrets updatekeys` and `secrets rotate`: who can read a file, and its data key.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::{
    choose_format, decrypt_to_plaintext, display_name, load_encrypted, recover_key, write_output,
};
use crate::config::{self, Config};
use crate::crypto::{self, EncryptOptions, keys};
use crate::document::metadata::{KeyGroup, Metadata};
use crate::document::{self, Format};
use crate::error::Error;

#[derive(clap::Args)]
pub struct UpdatekeysArgs {
    /// Write a read-only file anyway, and without its owner, group or extended attributes
    /// when they cannot be kept.
    #[arg(long)]
    pub(super) force: bool,
    /// Encrypted files to update (or --all).
    files: Vec<PathBuf>,
    /// Every encrypted file under the config's folder that a creation rule matches.
    #[arg(long, conflicts_with = "files")]
    all: bool,
    /// Apply without asking.
    #[arg(short, long)]
    yes: bool,
    /// The format, when the file name does not say it.
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

#[derive(clap::Args)]
pub struct RotateArgs {
    /// Write a read-only file anyway, and without its owner, group or extended attributes
    /// when they cannot be kept.
    #[arg(long)]
    pub(super) force: bool,
    /// Encrypted files to rotate, in place.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write the files back in place (the default; as sops's -i).
    #[arg(short, long, conflicts_with_all = ["output", "stdout"])]
    in_place: bool,
    /// Write the rotated file here instead (one input file).
    #[arg(long, value_name = "FILE", conflicts_with = "stdout")]
    output: Option<PathBuf>,
    /// Print the rotated file on standard output instead (one input file; what `sops rotate`
    /// does without -i).
    #[arg(long)]
    stdout: bool,
    /// Also encrypt the new data key for this age recipient (first key group).
    #[arg(long, value_name = "RECIPIENT")]
    add_age: Vec<String>,
    /// Stop encrypting the new data key for this age recipient.
    #[arg(long, value_name = "RECIPIENT")]
    rm_age: Vec<String>,
    /// Also encrypt the new data key for these PGP fingerprints (comma-separated; first key group).
    #[arg(long, value_name = "FINGERPRINTS")]
    add_pgp: Vec<String>,
    /// Stop encrypting the new data key for these PGP fingerprints (comma-separated).
    #[arg(long, value_name = "FINGERPRINTS")]
    rm_pgp: Vec<String>,
    /// Also encrypt the new data key with these Vault transit keys (URIs, comma-separated).
    #[arg(long, value_name = "URIS")]
    add_hc_vault_transit: Vec<String>,
    /// Stop encrypting the new data key with these Vault transit keys.
    #[arg(long, value_name = "URIS")]
    rm_hc_vault_transit: Vec<String>,
    /// Also encrypt the new data key with these AWS KMS keys (ARN or ARN+ROLE_ARN, comma-separated).
    #[arg(long, value_name = "ARNS")]
    add_kms: Vec<String>,
    /// Stop encrypting the new data key with these AWS KMS keys (by ARN).
    #[arg(long, value_name = "ARNS")]
    rm_kms: Vec<String>,
    /// The format, when the file name does not say it.
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

/// Where the config is: `--config`, `SOPS_CONFIG`, or the nearest `.sops.yaml` above `target`.
fn config_for(config_flag: Option<&Path>, target: &Path) -> Result<Config, Error> {
    let path = config::find(config_flag, target).ok_or_else(|| config::Error::NotFound {
        target: target.display().to_string(),
    })?;
    Ok(Config::load(&path)?)
}

pub fn updatekeys(
    args: UpdatekeysArgs,
    config_flag: Option<&Path>,
    identities: &[PathBuf],
) -> Result<(), Error> {
    let files = if args.all {
        let cwd = std::env::current_dir().map_err(|source| Error::Read {
            file: ".".into(),
            source,
        })?;
        let config = config_for(config_flag, &cwd.join("-"))?;
        let found = encrypted_files_under(&config);
        eprintln!(
            "{}: {} encrypted file(s) matched by its creation rules",
            config.path.display(),
            found.len()
        );
        found
    } else if args.files.is_empty() {
        return Err(Error::Usage(
            "name the files to update, or pass --all".into(),
        ));
    } else {
        args.files.clone()
    };
    for path in &files {
        update_one(path, &args, config_flag, identities)?;
    }
    Ok(())
}

/// Update the named files without asking (`access --fix`).
pub fn update_files(
    files: &[PathBuf],
    config_flag: Option<&Path>,
    identities: &[PathBuf],
) -> Result<(), Error> {
    let args = UpdatekeysArgs {
        files: files.to_vec(),
        all: false,
        yes: true,
        input_type: None,
        force: false,
    };
    for path in files {
        update_one(path, &args, config_flag, identities)?;
    }
    Ok(())
}

/// The recipients of each group, for comparison and display.
fn recipients(groups: &[KeyGroup]) -> Vec<Vec<String>> {
    groups.iter().map(KeyGroup::recipients).collect()
}

fn update_one(
    path: &Path,
    args: &UpdatekeysArgs,
    config_flag: Option<&Path>,
    identities: &[PathBuf],
) -> Result<(), Error> {
    let file = display_name(path);
    let format = choose_format(args.input_type.as_deref(), path)?;
    let (doc, meta) = load_encrypted(path, format)?;
    let config = config_for(config_flag, path)?;
    let rule = config.rule_for(path)?;
    rule.check_usable(&config.path.display().to_string())?;
    let wanted: Vec<Vec<String>> = rule
        .key_groups
        .iter()
        .map(|g| g.recipients.clone())
        .collect();
    let threshold = match wanted.len() {
        1 => 0,
        n => (if rule.shamir_threshold == 0 {
            n as u64
        } else {
            rule.shamir_threshold
        })
        .min(n as u64),
    };
    let current = recipients(&meta.key_groups);
    let same_sets = current.len() == wanted.len()
        && current.iter().zip(&wanted).all(|(a, b)| {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort();
            b.sort();
            a == b
        });
    if same_sets && threshold == meta.shamir_threshold {
        eprintln!("{file}: already up to date");
        return Ok(());
    }
    eprintln!(
        "{file}: the keys change (rule at {} line {}):",
        config.path.display(),
        rule.line
    );
    let names = crate::access::Directory::new(&config.recipients);
    let named = |key: &String| match names.member(key) {
        crate::access::Member::Named(name) => format!("{name} ({key})"),
        crate::access::Member::Key(_) => key.clone(),
    };
    for (i, group) in wanted.iter().enumerate() {
        let before = current.get(i).cloned().unwrap_or_default();
        let label = if wanted.len() > 1 {
            format!("  group {}:", i + 1)
        } else {
            "  ".to_string()
        };
        for r in group.iter().filter(|r| !before.contains(r)) {
            eprintln!("{label} + {}", named(r));
        }
        for r in before.iter().filter(|r| !group.contains(r)) {
            eprintln!("{label} - {}", named(r));
        }
    }
    for (i, group) in current.iter().enumerate().skip(wanted.len()) {
        for r in group {
            eprintln!("  group {}: - {}", i + 1, named(r));
        }
    }
    if current
        .iter()
        .flatten()
        .any(|r| !wanted.iter().flatten().any(|w| w == r))
    {
        eprintln!(
            "note: a removed recipient can still decrypt every earlier version of {file} in Git history; run `secrets rotate` and change the secrets themselves"
        );
    }
    if !args.yes && !confirm()? {
        eprintln!("{file}: left unchanged");
        return Ok(());
    }
    let key = recover_key(&meta, identities, &file)?;
    let mut groups =
        keys::wrap_for_groups(&key, &wanted, threshold).map_err(|source| Error::Keys {
            file: file.clone(),
            source,
            searched: Vec::new(),
        })?;
    // Keys of types we cannot use (pgp, kms, ...) stay as they were, in their group.
    for (new, old) in groups.iter_mut().zip(&meta.key_groups) {
        new.others = old.others.clone();
    }
    let updated = Metadata {
        key_groups: groups,
        shamir_threshold: threshold,
        ..meta
    };
    let bytes = doc
        .render(&mut Vec::new(), Some(&updated.to_meta()))
        .map_err(|source| Error::Document {
            file: file.clone(),
            source,
        })?;
    write_output(&bytes, Some(path), None, 0o644)?;
    eprintln!("{file}: updated");
    Ok(())
}

/// Ask on the terminal; without one, the answer is no (use -y in scripts).
fn confirm() -> Result<bool, Error> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("not a terminal: pass -y to apply");
        return Ok(false);
    }
    eprint!("Apply these changes? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|source| Error::Read {
            file: "<stdin>".into(),
            source,
        })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Encrypted files below the config's folder that a creation rule matches (hidden folders,
/// `target` and `node_modules` are skipped).
fn encrypted_files_under(config: &Config) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![config.base_dir()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if kind.is_file()
                && name != config::FILE_NAME
                && config.rule_for(&path).is_ok()
                && looks_encrypted(&path)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A cheap test before parsing: the file mentions both an ENC value or a MAC and sops metadata.
fn looks_encrypted(path: &Path) -> bool {
    let Ok(bytes) = super::read_input(path) else {
        return false;
    };
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if !has(crate::document::envelope::CIPHER_MARKER.as_bytes()) || !has(b"sops") {
        return false;
    }
    let format = Format::from_path(path);
    document::parse(format, &bytes).is_ok_and(|d| d.metadata().is_some())
}

pub fn rotate(args: RotateArgs, identities: &[PathBuf]) -> Result<(), Error> {
    if (args.output.is_some() || args.stdout) && args.files.len() > 1 {
        return Err(Error::Usage(
            "--output and --stdout take one file; rotate several in place".into(),
        ));
    }
    for path in &args.files {
        rotate_one(path, &args, identities)?;
    }
    if !args.rm_age.is_empty()
        || !args.rm_pgp.is_empty()
        || !args.rm_hc_vault_transit.is_empty()
        || !args.rm_kms.is_empty()
    {
        eprintln!(
            "note: removed recipients can still decrypt every earlier version of these files in Git history; change the secrets themselves (passwords, tokens) as well"
        );
    }
    Ok(())
}

fn rotate_one(path: &Path, args: &RotateArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let file = display_name(path);
    let format = choose_format(args.input_type.as_deref(), path)?;
    let (doc, meta) = load_encrypted(path, format)?;
    refuse_other_key_types(&meta, &file, "a new data key for; rotate it with sops")?;
    let key = recover_key(&meta, identities, &file)?;
    let plaintext = decrypt_to_plaintext(doc.as_ref(), &meta, &key, super::Verify::Mac, &file)?;
    let mut groups = recipients(&meta.key_groups);
    let split = |flags: &[String]| -> Vec<String> {
        flags
            .iter()
            .flat_map(|f| f.split(','))
            .map(|f| keys::pgp::normalize(f.trim()))
            .filter(|f| !f.is_empty())
            .collect()
    };
    let (add_pgp, rm_pgp) = (split(&args.add_pgp), split(&args.rm_pgp));
    let (add_vault, rm_vault) = (
        split(&args.add_hc_vault_transit),
        split(&args.rm_hc_vault_transit),
    );
    for uri in &add_vault {
        keys::vault::TransitKey::parse(uri).map_err(Error::Usage)?;
    }
    let add_kms = split(&args.add_kms)
        .iter()
        .map(|s| keys::kms::KmsKey::parse(s).map(|k| k.spec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Usage)?;
    let rm_kms: Vec<String> = split(&args.rm_kms)
        .iter()
        .map(|s| s.split('+').next().unwrap_or_default().to_string())
        .collect();
    let kms_removed = |r: &String| {
        keys::kms::is_arn(r) && keys::kms::KmsKey::parse(r).is_ok_and(|k| rm_kms.contains(&k.arn))
    };
    if let Some(bad) = add_pgp.iter().find(|f| !keys::pgp::is_fingerprint(f)) {
        return Err(Error::Usage(format!(
            "--add-pgp {bad:?} is not a PGP fingerprint (40 hex digits)"
        )));
    }
    for r in args
        .add_age
        .iter()
        .chain(&add_pgp)
        .chain(&add_vault)
        .chain(&add_kms)
    {
        if !groups.iter().flatten().any(|g| g == r) {
            groups[0].push(r.clone());
        }
    }
    for group in &mut groups {
        group.retain(|r| {
            !args.rm_age.contains(r)
                && !rm_pgp.contains(r)
                && !rm_vault.contains(r)
                && !kms_removed(r)
        });
    }
    let plain_doc = document::parse(format, &plaintext).map_err(|source| Error::Document {
        file: file.clone(),
        source,
    })?;
    let options = EncryptOptions {
        key_groups: groups,
        shamir_threshold: meta.shamir_threshold,
        rule: crypto::rule_of(&meta, format).map_err(|source| Error::Crypto {
            file: file.clone(),
            source,
        })?,
        mac_only_encrypted: meta.mac_only_encrypted,
    };
    let key = crypto::DataKey::generate();
    let bytes = super::encrypt::checked(&plaintext, format, &file, &key, |layout, out| {
        crypto::encrypt_document_with(plain_doc.as_ref(), &options, &key, layout, out)
    })?;
    drop(plain_doc);
    if args.stdout {
        return write_output(&bytes, None, None, 0o644);
    }
    let target = match (&args.output, args.in_place) {
        (Some(output), false) => output.as_path(),
        _ => path,
    };
    write_output(&bytes, Some(target), None, 0o644)?;
    eprintln!("{file}: rotated: a new data key, every value encrypted again");
    Ok(())
}

#[derive(clap::Args)]
pub struct GroupsArgs {
    /// Write a read-only file anyway, and without its owner, group or extended attributes
    /// when they cannot be kept.
    #[arg(long)]
    pub(super) force: bool,
    #[command(subcommand)]
    action: GroupsAction,
    /// Write the file back in place (the default; as sops's -i).
    #[arg(short, long, global = true, conflicts_with = "stdout")]
    in_place: bool,
    /// Print the changed file on standard output instead (what `sops groups` does without -i).
    #[arg(long, global = true)]
    stdout: bool,
}

#[derive(clap::Subcommand)]
enum GroupsAction {
    /// Add a key group (the data key is split again across all groups), in place.
    Add {
        /// The encrypted file.
        #[arg(long)]
        file: PathBuf,
        /// The new group's age recipients.
        #[arg(long, value_name = "RECIPIENT", required_unless_present_any = ["pgp", "kms", "hc_vault_transit"])]
        age: Vec<String>,
        /// The new group's PGP fingerprints (comma-separated).
        #[arg(long, value_name = "FINGERPRINTS")]
        pgp: Vec<String>,
        /// The new group's AWS KMS keys (ARN or ARN+ROLE_ARN, comma-separated).
        #[arg(long, value_name = "ARNS")]
        kms: Vec<String>,
        /// The new group's Vault transit keys (URIs, comma-separated).
        #[arg(long, value_name = "URIS")]
        hc_vault_transit: Vec<String>,
        /// How many groups are needed to decrypt (default: all).
        #[arg(long, value_name = "N")]
        shamir_secret_sharing_threshold: Option<u64>,
    },
    /// Delete the key group at INDEX (0-based, as sops counts), in place.
    Delete {
        /// The encrypted file.
        #[arg(long)]
        file: PathBuf,
        /// The group's index.
        index: usize,
    },
}

/// `secrets groups add|delete`, as sops has them.
pub fn groups(args: GroupsArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let (path, change) = match &args.action {
        GroupsAction::Add { file, .. } | GroupsAction::Delete { file, .. } => {
            (file.as_path(), &args.action)
        }
    };
    let file = display_name(path);
    let format = Format::from_path(path);
    let (doc, meta) = load_encrypted(path, format)?;
    refuse_other_key_types(&meta, &file, "a new share for; change its groups with sops")?;
    let mut groups = recipients(&meta.key_groups);
    // A file that needs every group keeps needing every group.
    let all_needed = meta.shamir_threshold == 0 || meta.shamir_threshold as usize >= groups.len();
    let mut threshold = meta.shamir_threshold;
    match change {
        GroupsAction::Add {
            age,
            pgp,
            kms,
            hc_vault_transit,
            shamir_secret_sharing_threshold,
            ..
        } => {
            groups.push(new_group(age, pgp, kms, hc_vault_transit)?);
            threshold = match shamir_secret_sharing_threshold {
                Some(t) => *t,
                None if all_needed => groups.len() as u64,
                None => threshold,
            };
            if threshold < 2 || threshold as usize > groups.len() {
                return Err(Error::Usage(format!(
                    "{file}: a threshold of {threshold} does not fit {} key groups (it must be 2 to {})",
                    groups.len(),
                    groups.len()
                )));
            }
        }
        GroupsAction::Delete { index, .. } => {
            if *index >= groups.len() {
                return Err(Error::Usage(format!(
                    "{file}: there is no key group {index} (it has {})",
                    groups.len()
                )));
            }
            groups.remove(*index);
            if all_needed {
                threshold = groups.len() as u64;
            } else if groups.len() < threshold as usize {
                return Err(Error::Usage(format!(
                    "{file}: deleting a group would leave {} groups, fewer than the threshold of {threshold}",
                    groups.len()
                )));
            }
        }
    }
    let threshold = if groups.len() > 1 { threshold } else { 0 };
    let key = recover_key(&meta, identities, &file)?;
    let key_groups =
        keys::wrap_for_groups(&key, &groups, threshold).map_err(|source| Error::Keys {
            file: file.clone(),
            source,
            searched: Vec::new(),
        })?;
    let updated = Metadata {
        key_groups,
        shamir_threshold: threshold,
        ..meta
    };
    let bytes = doc
        .render(&mut Vec::new(), Some(&updated.to_meta()))
        .map_err(|source| Error::Document {
            file: file.clone(),
            source,
        })?;
    if args.stdout && !args.in_place {
        return write_output(&bytes, None, None, 0o644);
    }
    write_output(&bytes, Some(path), None, 0o644)?;
    eprintln!(
        "{file}: {} key group(s), {} needed to decrypt",
        groups.len(),
        threshold.max(1)
    );
    Ok(())
}

/// The recipients of a group given on the command line, each checked by its backend.
fn new_group(
    age: &[String],
    pgp: &[String],
    kms: &[String],
    vault: &[String],
) -> Result<Vec<String>, Error> {
    let split = |flags: &[String]| -> Vec<String> {
        flags
            .iter()
            .flat_map(|f| f.split(','))
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    };
    let mut out = split(age);
    for fp in split(pgp) {
        let fp = keys::pgp::normalize(&fp);
        if !keys::pgp::is_fingerprint(&fp) {
            return Err(Error::Usage(format!(
                "--pgp {fp:?} is not a PGP fingerprint (40 hex digits)"
            )));
        }
        out.push(fp);
    }
    for arn in split(kms) {
        out.push(keys::kms::KmsKey::parse(&arn).map_err(Error::Usage)?.spec());
    }
    for uri in split(vault) {
        keys::vault::TransitKey::parse(&uri).map_err(Error::Usage)?;
        out.push(uri);
    }
    Ok(out)
}

/// Commands that wrap a new secret for every key fail on keys of types this tool cannot use
/// (pgp, kms, ...): dropping them would lock a teammate out.
fn refuse_other_key_types(meta: &Metadata, file: &str, what: &str) -> Result<(), Error> {
    match meta.key_groups.iter().find(|g| !g.others.is_empty()) {
        Some(group) => {
            let kinds: Vec<&str> = group.others.iter().map(|(k, _)| k.as_str()).collect();
            Err(Error::Usage(format!(
                "{file}: it has {} keys, which this tool cannot re-encrypt {what}",
                kinds.join(", ")
            )))
        }
        None => Ok(()),
    }
}
