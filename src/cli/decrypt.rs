//! `secrets decrypt`.

use std::io::Write;
use std::path::PathBuf;

use super::vars::{self, Names};
use super::{
    choose_format, decrypt_to_plaintext, display_name, env, load_encrypted, recover_key,
    write_output,
};
use crate::document::{Format, tree};
use crate::error::Error;

/// `--format`: the document itself, or its values as variables.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VarsFormat {
    /// `export NAME='value'` lines, quoted for any POSIX shell.
    Shell,
    /// GitHub Actions: `::add-mask::` lines on stdout, the variables appended to $GITHUB_ENV.
    Github,
    /// GitHub Actions: only the `::add-mask::` lines, for every value at any depth, whatever
    /// its key (to mask a file decrypted with --output).
    Mask,
}

#[derive(clap::Args)]
pub struct DecryptArgs {
    /// Write a read-only file anyway, and without its owner, group or extended attributes
    /// when they cannot be kept.
    #[arg(long)]
    pub(super) force: bool,
    /// The file to decrypt, or - for standard input.
    file: PathBuf,
    /// Print only the value at this path, e.g. db.password or '["db"]["password"]' (a string raw, without newline).
    #[arg(long, value_name = "PATH")]
    extract: Option<String>,
    /// Write the result over the input file (atomically).
    #[arg(short, long, conflicts_with = "output")]
    in_place: bool,
    /// Write the result to this file (created 0600).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The input format: yaml, json, toml, dotenv, ini or binary (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
    /// The output format (default: the input's, byte for byte as it was before encryption).
    #[arg(long, value_name = "TYPE")]
    output_type: Option<String>,
    /// The name that decides the format when reading standard input.
    #[arg(long, value_name = "NAME")]
    filename_override: Option<PathBuf>,
    /// Decrypt even if the MAC does not match (the file may have been tampered with).
    #[arg(long)]
    ignore_mac: bool,
    /// Also refuse what the MAC does not authenticate: an encrypted comment that does not
    /// decrypt, a null or empty value, a plaintext value of a mac_only_encrypted file, an
    /// encrypted value under a key holding ':' (exit 18).
    #[arg(long, conflicts_with = "ignore_mac")]
    strict: bool,
    /// Print the top-level values (of --extract's mapping, if given) as variables.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["output_type", "in_place"])]
    format: Option<VarsFormat>,
    /// Same as --format github: mask every value and append the variables to $GITHUB_ENV.
    #[arg(long, conflicts_with_all = ["format", "output_type", "in_place", "output"])]
    github_env: bool,
    /// With --format: join nested keys with _ and upper-case them (db: {password} gives DB_PASSWORD).
    #[arg(long)]
    flatten: bool,
    /// Write YAML or JSON again with this many spaces of indentation (as sops's --indent), instead
    /// of the file's own bytes.
    #[arg(long, value_name = "N", conflicts_with_all = ["format", "github_env"])]
    indent: Option<usize>,
}

pub fn run(args: DecryptArgs, explicit_identities: &[PathBuf]) -> Result<(), Error> {
    if args.in_place && args.file.as_os_str() == "-" {
        return Err(Error::Usage(
            "--in-place cannot write to standard input".into(),
        ));
    }
    let file = display_name(&args.file);
    let name_for_type = args.filename_override.as_ref().unwrap_or(&args.file);
    let format = choose_format(args.input_type.as_deref(), name_for_type)?;
    let output_format = match &args.output_type {
        Some(t) => choose_format(Some(t), name_for_type)?,
        None => format,
    };
    let path = args
        .extract
        .as_deref()
        .map(crate::document::keypath::parse_steps)
        .transpose()
        .map_err(|message| Error::Path {
            file: file.clone(),
            message: format!("invalid --extract path: {message}"),
        })?;
    let vars_format = if args.github_env {
        Some(VarsFormat::Github)
    } else {
        args.format
    };
    if vars_format == Some(VarsFormat::Github) && args.output.is_some() {
        return Err(Error::Usage(
            "--format github writes to $GITHUB_ENV, not --output".into(),
        ));
    }
    let github_env = match vars_format {
        Some(VarsFormat::Github) => Some(env::var(env::GITHUB_ENV).ok_or_else(|| {
            Error::Usage(format!(
                "--github-env needs {} (the file GitHub Actions reads variables from); it is not set",
                env::GITHUB_ENV
            ))
        })?),
        _ => None,
    };
    let whole =
        vars_format.is_none() && path.is_none() && output_format == format && args.indent.is_none();
    // `--strict` checks what the MAC does not cover on the parsed document: the full path.
    if whole
        && !args.strict
        && matches!(format, Format::Yaml | Format::Json)
        && args.file.as_os_str() != "-"
        && stream_decrypt(&args, format, explicit_identities)?
    {
        return Ok(());
    }
    let (doc, meta) = load_encrypted(&args.file, format)?;
    let key = recover_key(&meta, explicit_identities, &file)?;
    let plaintext = decrypt_to_plaintext(
        doc.as_ref(),
        &meta,
        &key,
        super::Verify::from_flags(args.ignore_mac, args.strict),
        &file,
    )?;
    if let Some(vars_format) = vars_format {
        let node = load_tree(&plaintext, format, &file)?;
        let node = match path.as_deref() {
            Some(p) => tree::extract(&node, p).map_err(|message| Error::Path {
                file: file.clone(),
                message,
            })?,
            None => &node,
        };
        if vars_format == VarsFormat::Mask {
            return write_output(vars::masks(node).as_bytes(), None, None, 0o600);
        }
        let vars =
            vars::collect(node, args.flatten, Names::Shell).map_err(|message| Error::EnvVar {
                file: file.clone(),
                message,
            })?;
        return match (vars_format, github_env) {
            (VarsFormat::Github, Some(env_file)) => {
                // Masks first, so the runner knows them before any later step can print a value.
                let (masks, env_text) = vars::github(&vars);
                write_output(masks.as_bytes(), None, None, 0o600)?;
                let env_path = std::path::Path::new(&env_file);
                crate::store::append(env_path, env_text.as_bytes()).map_err(|source| Error::Write {
                    file: env_file.clone(),
                    source,
                })
            }
            _ => write_output(
                vars::shell(&vars).as_bytes(),
                None,
                args.output.as_deref(),
                0o600,
            ),
        };
    }
    let bytes = if whole {
        plaintext
    } else {
        zeroize::Zeroizing::new(convert_indent(
            &plaintext,
            (format, output_format),
            path.as_deref(),
            args.indent,
            &file,
        )?)
    };
    let in_place = args.in_place.then_some(args.file.as_path());
    write_output(&bytes, in_place, args.output.as_deref(), 0o600)?;
    // The process ends here: the document holds only ciphertexts (the plaintext is zeroized as
    // `bytes` drops), so skip freeing its many small allocations.
    std::mem::forget(doc);
    Ok(())
}

/// Decrypt line-shaped YAML or JSON as a stream (never holding the encrypted file whole),
/// writing the plaintext only once the MAC is verified. `Ok(false)` when the file is not of that
/// shape or anything fails: the full path then decrypts it, or says what is wrong.
fn stream_decrypt(
    args: &DecryptArgs,
    format: Format,
    explicit_identities: &[PathBuf],
) -> Result<bool, Error> {
    use crate::crypto::stream;
    use crate::document::metadata::Metadata;
    let recover = |meta| recover_key(meta, explicit_identities, &display_name(&args.file)).ok();
    let pieces = if format == Format::Json {
        let Some(source) = stream::open_json(&args.file) else {
            return Ok(false);
        };
        let Ok(meta) = Metadata::from_meta(&source.meta) else {
            return Ok(false);
        };
        // A layout record is applied to the whole decryption: the full path.
        if meta.layout.is_some() {
            return Ok(false);
        }
        let Some(key) = recover(&meta) else {
            return Ok(false);
        };
        stream::decrypt_json(source, &meta, &key, !args.ignore_mac)
    } else {
        let Some(source) = stream::open_yaml(&args.file) else {
            return Ok(false);
        };
        let Ok(meta) = Metadata::from_meta(&source.meta) else {
            return Ok(false);
        };
        // A layout record is applied to the whole decryption: the full path.
        if meta.layout.is_some() {
            return Ok(false);
        }
        let Some(key) = recover(&meta) else {
            return Ok(false);
        };
        stream::decrypt_yaml(source, &meta, &key, !args.ignore_mac)
    };
    let Some(pieces) = pieces else {
        return Ok(false);
    };
    let in_place = args.in_place.then_some(args.file.as_path());
    match in_place.or(args.output.as_deref()) {
        Some(target) => {
            let write_err = |source| Error::Write {
                file: display_name(target),
                source,
            };
            let mut out = crate::store::AtomicFile::create(target, 0o600).map_err(write_err)?;
            for piece in &pieces {
                out.write_all(piece).map_err(write_err)?;
            }
            out.commit().map_err(write_err)?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            pieces
                .iter()
                .try_for_each(|piece| out.write_all(piece))
                .and_then(|()| out.flush())
                .map_err(|source| Error::Write {
                    file: "<stdout>".into(),
                    source,
                })?;
        }
    }
    Ok(true)
}

/// The plaintext as a tree.
fn load_tree(plaintext: &[u8], format: Format, file: &str) -> Result<tree::Node, Error> {
    let doc_err = |source| Error::Document {
        file: file.to_string(),
        source,
    };
    let text = crate::document::utf8(plaintext).map_err(doc_err)?;
    tree::load(format, text).map_err(doc_err)
}

/// Re-read the plaintext as a tree, follow `--extract`, and write it in the output format.
pub(super) fn convert(
    plaintext: &[u8],
    from: Format,
    to: Format,
    path: Option<&[tree::PathStep]>,
    file: &str,
) -> Result<Vec<u8>, Error> {
    convert_indent(plaintext, (from, to), path, None, file)
}

/// [`convert`], with sops's `--indent` for YAML and JSON output.
fn convert_indent(
    plaintext: &[u8],
    (from, to): (Format, Format),
    path: Option<&[tree::PathStep]>,
    indent: Option<usize>,
    file: &str,
) -> Result<Vec<u8>, Error> {
    if from == Format::Binary && path.is_some() {
        return Err(Error::Usage(
            "--extract does not apply to binary files".into(),
        ));
    }
    let doc_err = |source| Error::Document {
        file: file.to_string(),
        source,
    };
    let text = crate::document::utf8(plaintext).map_err(doc_err)?;
    let root = tree::load(from, text).map_err(doc_err)?;
    let node = match path {
        Some(p) => tree::extract(&root, p).map_err(|message| Error::Path {
            file: file.to_string(),
            message,
        })?,
        None => &root,
    };
    if let (Some(_), tree::Node::Str(s)) = (path, node) {
        return Ok(s.clone().into_bytes());
    }
    if to == Format::Binary {
        return match node {
            tree::Node::Map(items) => match items.iter().find(|(k, _)| k == "data") {
                Some((_, tree::Node::Str(s))) => Ok(s.clone().into_bytes()),
                _ => Err(Error::Usage(
                    "binary output needs a top-level string \"data\"".into(),
                )),
            },
            _ => Err(Error::Usage(
                "binary output needs a top-level string \"data\"".into(),
            )),
        };
    }
    // sops's YAML indent 0 is its default (4); JSON's 0 is no indentation.
    let emitted = match indent {
        Some(0) if to == Format::Yaml => tree::emit(to, node),
        Some(n) => tree::emit_indent(to, node, n),
        None => tree::emit(to, node),
    };
    // What cannot be written in the output format is an output error (sops: "Error dumping").
    emitted.map(String::into_bytes).map_err(|e| {
        doc_err(match e {
            e @ crate::document::Error::AtPath { .. } => crate::document::Error::Unsupported {
                format: to,
                what: e.to_string(),
            },
            e => e,
        })
    })
}
