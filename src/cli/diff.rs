//! `secrets diff`: the decrypted, key-sorted difference between two versions of an encrypted
//! file in Git (HEAD and the working tree by default), or which keys changed without a key.

use std::io::Write;
use std::path::PathBuf;

use similar::{ChangeTag, TextDiff};

use super::git::{ViewKind, colour_stdout, redacted_forced, view_of};
use super::{display_name, identities};
use crate::error::Error;
use crate::git;

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The encrypted file.
    file: PathBuf,
    /// The old version's revision (default: HEAD).
    rev_a: Option<String>,
    /// The new version's revision (default: the working tree).
    rev_b: Option<String>,
    /// Compare HEAD with what is staged (the index).
    #[arg(long, conflicts_with_all = ["rev_a", "rev_b"])]
    staged: bool,
    /// Show fingerprints of the ciphertexts, never values (also SECRETS_TEXTCONV=redacted).
    #[arg(long)]
    redacted: bool,
    /// Exit 1 when the versions differ (as `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
    /// Number of unchanged lines shown around each change.
    #[arg(short = 'U', long, default_value_t = 3, value_name = "N")]
    unified: usize,
}

/// A version to compare: its label and bytes (None: the file does not exist there).
struct Side {
    label: String,
    bytes: Option<Vec<u8>>,
}

pub fn run(args: DiffArgs, explicit: &[PathBuf]) -> Result<u8, Error> {
    let file = display_name(&args.file);
    let repo = git::Repo::discover(&args.file)?;
    let rel = repo.relative_path(&args.file)?;
    let at = |rev: &str| -> Result<Side, Error> {
        if rev == git::STAGED {
            return Ok(Side {
                label: "staged".into(),
                bytes: repo.file_at(git::STAGED, &rel)?,
            });
        }
        if rev == "HEAD" && repo.head_commit()?.is_none() {
            return Ok(Side {
                label: "HEAD".into(),
                bytes: None,
            });
        }
        Ok(Side {
            label: rev.to_string(),
            bytes: repo.file_at(rev, &rel)?,
        })
    };
    let worktree = || -> Result<Side, Error> {
        let bytes = match std::fs::read(&args.file) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Read {
                    file: file.clone(),
                    source,
                });
            }
        };
        Ok(Side {
            label: "working tree".into(),
            bytes,
        })
    };
    let (a, b) = match (&args.rev_a, &args.rev_b, args.staged) {
        (_, _, true) => (at("HEAD")?, at(git::STAGED)?),
        (Some(ra), Some(rb), _) => (at(ra)?, at(rb)?),
        (Some(ra), None, _) => (at(ra)?, worktree()?),
        (None, _, _) => (at("HEAD")?, worktree()?),
    };

    let decrypt = !(args.redacted || redacted_forced());
    let found = decrypt.then(|| identities::discover(explicit).identities);
    let name = args.file.clone();
    let show = |side: &Side, decrypt: bool| {
        side.bytes
            .as_deref()
            .map(|bytes| view_of(&name, bytes, found.as_ref(), decrypt))
    };
    let (mut va, mut vb) = (show(&a, decrypt), show(&b, decrypt));
    // Both sides in the same view, or every line would differ.
    let kinds = (va.as_ref().map(|v| v.kind), vb.as_ref().map(|v| v.kind));
    if matches!(
        kinds,
        (Some(ViewKind::Decrypted), Some(ViewKind::Redacted))
            | (Some(ViewKind::Redacted), Some(ViewKind::Decrypted))
    ) {
        va = show(&a, false);
        vb = show(&b, false);
        eprintln!("{file}: one version cannot be decrypted: showing fingerprints for both");
    }
    for v in [&va, &vb].into_iter().flatten() {
        if let Some(note) = &v.note {
            eprintln!("{note}");
        }
    }
    if [&va, &vb].into_iter().flatten().any(|v| v.no_key) {
        eprintln!(
            "{file}: no key decrypts it: showing fingerprints of the values (a changed fingerprint is a changed value)"
        );
    }
    let text = |v: &Option<super::git::View>| {
        v.as_ref()
            .map(|v| String::from_utf8_lossy(&v.text).into_owned())
            .unwrap_or_default()
    };
    let (ta, tb) = (
        zeroize::Zeroizing::new(text(&va)),
        zeroize::Zeroizing::new(text(&vb)),
    );
    if ta == tb {
        return Ok(0);
    }
    let colour = colour_stdout();
    let paint = |code: &str, s: &str| {
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let diff = TextDiff::from_lines(ta.as_str(), tb.as_str());
    let mut out = zeroize::Zeroizing::new(String::new());
    let old_name = if a.bytes.is_some() {
        format!("a/{rel} ({})", a.label)
    } else {
        "/dev/null".into()
    };
    let new_name = if b.bytes.is_some() {
        format!("b/{rel} ({})", b.label)
    } else {
        "/dev/null".into()
    };
    out.push_str(&paint("1", &format!("--- {old_name}")));
    out.push('\n');
    out.push_str(&paint("1", &format!("+++ {new_name}")));
    out.push('\n');
    for hunk in diff
        .unified_diff()
        .context_radius(args.unified)
        .iter_hunks()
    {
        out.push_str(&paint("36", &hunk.header().to_string()));
        out.push('\n');
        for change in hunk.iter_changes() {
            let (sign, code) = match change.tag() {
                ChangeTag::Delete => ("-", Some("31")),
                ChangeTag::Insert => ("+", Some("32")),
                ChangeTag::Equal => (" ", None),
            };
            let line = format!("{sign}{}", change.value().trim_end_matches('\n'));
            match code {
                Some(code) => out.push_str(&paint(code, &line)),
                None => out.push_str(&line),
            }
            out.push('\n');
            if change.missing_newline() {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Write {
            file: "<stdout>".into(),
            source,
        })?;
    Ok(u8::from(args.exit_code))
}
