//! `secrets decrypt`.

use std::path::PathBuf;

use super::{
    choose_format, decrypt_to_plaintext, display_name, load_encrypted, recover_key, write_output,
};
use crate::document::{Format, tree};
use crate::error::Error;

#[derive(clap::Args)]
pub struct DecryptArgs {
    /// The file to decrypt, or - for standard input.
    file: PathBuf,
    /// Print only the value at this path, e.g. '["db"]["password"]' (a string raw, without newline).
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
        .map(tree::parse_path)
        .transpose()
        .map_err(|message| Error::Path {
            file: file.clone(),
            message: format!("invalid --extract path: {message}"),
        })?;
    let (doc, meta) = load_encrypted(&args.file, format)?;
    let key = recover_key(&meta, explicit_identities, &file)?;
    let plaintext = decrypt_to_plaintext(doc.as_ref(), &meta, &key, !args.ignore_mac, &file)?;
    let bytes = if path.is_none() && output_format == format {
        plaintext
    } else {
        zeroize::Zeroizing::new(convert(
            &plaintext,
            format,
            output_format,
            path.as_deref(),
            &file,
        )?)
    };
    let in_place = args.in_place.then_some(args.file.as_path());
    write_output(&bytes, in_place, args.output.as_deref(), 0o600)
}

/// Re-read the plaintext as a tree, follow `--extract`, and write it in the output format.
fn convert(
    plaintext: &[u8],
    from: Format,
    to: Format,
    path: Option<&[tree::PathStep]>,
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
    tree::emit(to, node)
        .map(String::into_bytes)
        .map_err(doc_err)
}
