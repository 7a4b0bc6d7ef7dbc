//! `secrets keygen`: a new age X25519 identity, as age-keygen writes it.

use std::io::Write;
use std::path::PathBuf;

use crate::crypto::keys::age::generate_identity;
use crate::error::Error;
use crate::time::now_rfc3339;

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Write the identity to this file (created 0600, never overwritten) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// A new identity as age-keygen writes a keys file: (the file's text, the public key).
pub(super) fn new_keys_file() -> (zeroize::Zeroizing<String>, String) {
    let (secret, public) = generate_identity();
    let text = zeroize::Zeroizing::new(format!(
        "# created: {}\n# public key: {public}\n{}\n",
        now_rfc3339(),
        *secret
    ));
    (text, public)
}

pub fn run(args: KeygenArgs) -> Result<(), Error> {
    let (text, public) = new_keys_file();
    match &args.output {
        Some(path) => {
            let file = path.display().to_string();
            crate::store::create_private_new(path, text.as_bytes()).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::KeyFileExists { file: file.clone() }
                } else {
                    Error::Write {
                        file: file.clone(),
                        source,
                    }
                }
            })?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .map_err(|source| Error::Write {
                    file: "<stdout>".into(),
                    source,
                })?;
        }
    }
    eprintln!("Public key: {public}");
    Ok(())
}
