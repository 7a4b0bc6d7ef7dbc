//! `secrets rollback`: write the values a file had at an earlier revision into the current file,
//! as a new version for the user to review and commit. History is never reset or rewritten.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::history::file_at_rev;
use super::{decrypt_to_plaintext, display_name, edit, recover_key, write_output};
use crate::document::{self, Format, tree};
use crate::error::Error;
use crate::git::{self, Repo};
use crate::history::{self, ChangeKind, keymap};

#[derive(clap::Args)]
pub struct RollbackArgs {
    /// The encrypted file, as it is now in the working tree.
    file: PathBuf,
    /// The revision whose values to restore (any `git rev-parse` spelling, or :staged).
    #[arg(long, value_name = "REV")]
    to: String,
    /// Restore only these key paths (`db.password` or '["db"]["password"]'); default: all.
    #[arg(long = "key", value_name = "PATH")]
    keys: Vec<String>,
    /// With --key: remove a key that did not exist at REV.
    #[arg(long)]
    allow_delete: bool,
    /// Print what would change, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Roll back even with uncommitted changes to the file, or when a restored value was
    /// readable by a recipient removed since REV; also writes a read-only file, and without its
    /// owner, group or extended attributes when they cannot be kept.
    #[arg(long)]
    pub(super) force: bool,
}

pub fn rollback(args: RollbackArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let file = display_name(&args.file);
    let repo = Repo::discover(&args.file)?;
    let rel = repo.relative_path(&args.file)?;
    let format = Format::from_path(&args.file);

    // 1. The rollback should be the only change to review.
    let head = repo.head_commit()?;
    let head_blob = match head {
        Some(c) => repo.blob_id_in_commit(c, &rel)?,
        None => None,
    };
    let staged = repo.staged_blob_id(&rel)?;
    let current_bytes = crate::store::recover_before_read(&args.file)
        .and_then(|()| fs_err::read(&args.file))
        .map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
    let head_bytes = head_blob.map(|b| repo.read_blob(b)).transpose()?;
    let dirty = staged != head_blob || head_bytes.as_deref() != Some(current_bytes.as_slice());
    if dirty && !args.force {
        return Err(Error::Usage(format!(
            "{file} has uncommitted changes (staged or in the working tree): commit or stash them first, \
             so the rollback is the only change to review, or pass --force"
        )));
    }

    // 2. The version at REV, decrypted with whatever key it was encrypted for.
    let (rev_bytes, rev_name) = file_at_rev(&repo, &args.to, &rel)?;
    let rev_file = format!("{rev_name} at {}", args.to);
    let rev_format = Format::from_path(Path::new(&rev_name));
    if rev_format != format {
        return Err(Error::Usage(format!(
            "{rev_file} is {}, {file} is {}: cannot roll back across formats",
            rev_format.name(),
            format.name()
        )));
    }
    let rev_doc = document::parse(format, &rev_bytes).map_err(|source| Error::Document {
        file: rev_file.clone(),
        source,
    })?;
    let rev_meta = super::metadata_of(rev_doc.as_ref(), &rev_file)?;
    let rev_key = recover_key(&rev_meta, identities, &rev_file)?;
    let rev_plain = decrypt_to_plaintext(
        rev_doc.as_ref(),
        &rev_meta,
        &rev_key,
        super::Verify::Mac,
        &rev_file,
    )?;

    // 3. The current file, under its lock.
    let _lock = edit::lock(&args.file)?;
    let bytes = crate::store::recover_before_read(&args.file)
        .and_then(|()| fs_err::read(&args.file))
        .map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
    let doc = document::parse(format, &bytes).map_err(|source| Error::Document {
        file: file.clone(),
        source,
    })?;
    let meta = super::metadata_of(doc.as_ref(), &file)?;
    let key = recover_key(&meta, identities, &file)?;
    let plain = decrypt_to_plaintext(doc.as_ref(), &meta, &key, super::Verify::Mac, &file)?;

    // 4. The target plaintext: REV's whole document, or the named keys set into today's.
    let doc_err = |file: &str| {
        let file = file.to_string();
        move |source| Error::Document { file, source }
    };
    let target: Zeroizing<Vec<u8>> = if args.keys.is_empty() {
        rev_plain.clone()
    } else {
        if format == Format::Binary {
            return Err(Error::Usage(
                "--key needs a structured format (yaml, json, toml, dotenv or ini)".into(),
            ));
        }
        let rev_text = document::utf8(&rev_plain).map_err(doc_err(&rev_file))?;
        let rev_tree = tree::load(format, rev_text).map_err(doc_err(&rev_file))?;
        let mut text = Zeroizing::new(document::utf8(&plain).map_err(doc_err(&file))?.to_string());
        for spec in &args.keys {
            let steps =
                crate::document::keypath::parse_steps(spec).map_err(|message| Error::Path {
                    file: file.clone(),
                    message: format!("invalid --key path: {message}"),
                })?;
            match tree::extract(&rev_tree, &steps) {
                Ok(node) => {
                    let json =
                        Zeroizing::new(tree::emit(Format::Json, node).map_err(doc_err(&rev_file))?);
                    let value = document::edit::NewValue::parse(&json);
                    if let Some(new) = document::edit::set(format, &text, &steps, &value)
                        .map_err(doc_err(&file))?
                    {
                        text = Zeroizing::new(new);
                    }
                }
                Err(_) if args.allow_delete => {
                    let now = tree::load(format, &text).map_err(doc_err(&file))?;
                    if tree::extract(&now, &steps).is_ok() {
                        text = Zeroizing::new(
                            document::edit::unset(format, &text, &steps).map_err(doc_err(&file))?,
                        );
                    }
                }
                Err(message) => {
                    return Err(Error::Path {
                        file: rev_file.clone(),
                        message: format!(
                            "{message} (the key did not exist at {}; --allow-delete removes it)",
                            args.to
                        ),
                    });
                }
            }
        }
        Zeroizing::new(text.as_bytes().to_vec())
    };

    // 5. What changes, per key.
    let plain_values = |bytes: &[u8], name: &str| -> Result<Vec<(String, String)>, Error> {
        if format == Format::Binary {
            return Ok(vec![(
                "data".into(),
                String::from_utf8_lossy(bytes).into_owned(),
            )]);
        }
        Ok(keymap::key_map(format, bytes)
            .map_err(doc_err(name))?
            .entries
            .into_iter()
            .map(|e| (e.path, e.stored))
            .collect())
    };
    let mut before = plain_values(&plain, &file)?;
    let mut after = plain_values(&target, &rev_file)?;
    let changes = history::delta::decrypted_changes(Some(&before), &after);
    for (_, v) in before.iter_mut().chain(after.iter_mut()) {
        zeroize::Zeroize::zeroize(v);
    }
    let short = short_rev(&repo, &args.to);
    if changes.is_empty() {
        eprintln!("{file}: already holds the values of {short}; nothing to roll back");
        return Ok(());
    }

    // 6. A restored value that a removed recipient could read must be rotated, not restored.
    let now_ids: HashSet<String> = history::recipients(&meta)
        .into_iter()
        .map(|r| r.id)
        .collect();
    let removed: Vec<String> = history::recipients(&rev_meta)
        .into_iter()
        .map(|r| r.id)
        .filter(|id| !now_ids.contains(id))
        .collect();
    let restored: Vec<&str> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Removed)
        .map(|c| c.path.as_str())
        .collect();

    let mut report = String::new();
    for c in &changes {
        let mut line = format!("  {} {}", c.kind.sign(), c.path);
        if let Some(from) = &c.from {
            line.push_str(&format!(" (from {from})"));
        }
        report.push_str(&line);
        report.push('\n');
    }
    if !removed.is_empty() && !restored.is_empty() {
        let message = format!(
            "{file}: at {short} the file was encrypted to {}, removed since; restoring {} \
             brings back values they could read. Rotate instead: set new values with \
             `secrets set` (or pass --force to restore anyway)",
            removed.join(", "),
            restored.join(", ")
        );
        if !args.force {
            eprint!("{report}");
            return Err(Error::Usage(message));
        }
        eprintln!("warning: {message}");
    }
    if args.dry_run {
        eprint!(
            "{file}: rolling back to {short} would change:\n{report}dry run: nothing written\n"
        );
        return Ok(());
    }

    // 7. Encrypt for today's recipients with today's data key; unchanged values keep their
    // ciphertext, restored ones get fresh IVs; new MAC; atomic write.
    let out = edit::reencrypt(&target, doc.as_ref(), &meta, &key, format, &file)?;
    write_output(&out, Some(&args.file), None, 0o644)?;
    let keys_note = if args.keys.is_empty() {
        "all".to_string()
    } else {
        args.keys.join(" ")
    };
    eprint!(
        "{file}: rolled back to {short}:\n{report}\
         Review with `git diff {file}`, then commit it, e.g.:\n  \
         git commit -m \"secrets: roll back {rel} to {short}\" --trailer \"Secrets-Rollback: {short} {keys_note}\" -- {file}\n"
    );
    Ok(())
}

/// The abbreviated commit id of a revision, or the revision as given.
fn short_rev(repo: &Repo, rev: &str) -> String {
    if rev == git::STAGED {
        return rev.to_string();
    }
    repo.resolve_commit(rev)
        .map(|id| id.to_string()[..7].to_string())
        .unwrap_or_else(|_| rev.to_string())
}
