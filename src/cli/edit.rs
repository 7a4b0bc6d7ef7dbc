//! `secrets edit`, `secrets set` and `secrets unset`: change an encrypted file in place, keeping
//! the ciphertext of every unchanged value (see `crypto::reuse`), under a lock, atomically.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{choose_format, decrypt_to_plaintext, display_name, encrypt, env, recover_key};
use crate::crypto::{self, DataKey};
use crate::document::metadata::Metadata;
use crate::document::tree::{self, PathStep};
use crate::document::{self, Document, Format, edit};
use crate::error::Error;

#[derive(clap::Args)]
pub struct EditArgs {
    /// The encrypted file to edit; a new file starts from a short template.
    file: PathBuf,
    /// The format: yaml, json, toml, dotenv, ini or binary (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

#[derive(clap::Args)]
pub struct SetArgs {
    /// The encrypted file.
    file: PathBuf,
    /// Where to set the value, e.g. '["db"]["password"]'; missing mappings are created.
    path: String,
    /// The value: JSON where it parses as JSON, else a string. Prefer --value-file or
    /// --value-stdin for secrets, so the value stays out of shell history.
    #[arg(required_unless_present_any = ["value_file", "value_stdin"], conflicts_with_all = ["value_file", "value_stdin"])]
    value: Option<String>,
    /// Read the value from this file (used as it is, trailing newline included).
    #[arg(long, value_name = "FILE", conflicts_with = "value_stdin")]
    value_file: Option<PathBuf>,
    /// Read the value from standard input.
    #[arg(long)]
    value_stdin: bool,
    /// Take the value as a string, even if it parses as JSON.
    #[arg(long)]
    string: bool,
    /// The format: yaml, json, toml, dotenv, ini (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

#[derive(clap::Args)]
pub struct UnsetArgs {
    /// The encrypted file.
    file: PathBuf,
    /// The value or subtree to remove, e.g. '["db"]["password"]'.
    path: String,
    /// The format: yaml, json, toml, dotenv, ini (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

/// The hidden helper `edit` starts: it waits until its standard input closes (when `edit` exits
/// for any reason, SIGKILL included) and then removes the plaintext folder.
#[derive(clap::Args)]
pub struct CleanupArgs {
    dir: PathBuf,
}

pub fn cleanup(args: CleanupArgs) -> Result<(), Error> {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    let _ = std::fs::remove_dir_all(&args.dir);
    Ok(())
}

/// An encrypted file read under its lock: the bytes, the parsed document, its key.
struct Locked {
    _lock: Option<std::fs::File>,
    bytes: Vec<u8>,
    doc: Box<dyn Document>,
    meta: Metadata,
    key: DataKey,
}

/// Take an advisory lock on `path` and return it with the locked file's bytes. The lock is on
/// the file itself; since writes replace the file by rename, a lock taken on a file that was
/// replaced meanwhile is dropped and taken again on the new one.
pub(super) fn lock(path: &Path) -> Result<std::fs::File, Error> {
    let file = display_name(path);
    let read_err = |source| Error::Read {
        file: file.clone(),
        source,
    };
    loop {
        let handle = std::fs::File::open(path).map_err(read_err)?;
        handle.lock().map_err(read_err)?;
        let held = handle.metadata().map_err(read_err)?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => return Ok(handle),
            Ok(_) => continue,
            Err(e) => return Err(read_err(e)),
        }
    }
}

fn open_locked(path: &Path, format: Format, identities: &[PathBuf]) -> Result<Locked, Error> {
    let file = display_name(path);
    let lock = lock(path)?;
    let bytes = super::read_input(path).map_err(|source| Error::Read {
        file: file.clone(),
        source,
    })?;
    let (doc, meta) = parse_encrypted(&bytes, format, &file)?;
    let key = recover_key(&meta, identities, &file)?;
    Ok(Locked {
        _lock: Some(lock),
        bytes,
        doc,
        meta,
        key,
    })
}

fn parse_encrypted(
    bytes: &[u8],
    format: Format,
    file: &str,
) -> Result<(Box<dyn Document>, Metadata), Error> {
    let doc = document::parse(format, bytes).map_err(|source| Error::Document {
        file: file.to_string(),
        source,
    })?;
    let meta = super::metadata_of(doc.as_ref(), file)?;
    Ok((doc, meta))
}

/// Parse an edited plaintext; it must not carry a `sops` block of its own.
pub(super) fn parse_plaintext(
    bytes: &[u8],
    format: Format,
    file: &str,
) -> Result<Box<dyn Document>, Error> {
    let doc = document::parse(format, bytes).map_err(|source| Error::Document {
        file: file.to_string(),
        source,
    })?;
    if doc.metadata().is_some() {
        return Err(Error::AlreadyEncrypted {
            file: file.to_string(),
        });
    }
    Ok(doc)
}

/// Encrypt `plaintext` against the old version, keeping every unchanged ciphertext.
pub(super) fn reencrypt(
    plaintext: &[u8],
    old: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    format: Format,
    file: &str,
) -> Result<Vec<u8>, Error> {
    let new = parse_plaintext(plaintext, format, file)?;
    let out =
        crypto::reuse::reencrypt_document(new.as_ref(), old, meta, key).map_err(|source| {
            Error::Crypto {
                file: file.to_string(),
                source,
            }
        })?;
    Ok(out.bytes)
}

/// Replace `path` atomically (an encrypted file: 0644 when new).
fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    super::write_output(bytes, Some(path), None, 0o644)
}

pub fn set(args: SetArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let file = display_name(&args.file);
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let steps = parse_steps(&args.path, &file)?;
    let raw = match (&args.value, &args.value_file, args.value_stdin) {
        (Some(v), _, _) => Zeroizing::new(v.clone()),
        (None, Some(f), _) => read_value(super::read_input(f), &display_name(f))?,
        (None, None, _) => {
            let mut buf = Vec::new();
            let res = std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf);
            read_value(res, "<stdin>")?
        }
    };
    let value = if args.string {
        edit::NewValue::string(&raw)
    } else {
        edit::NewValue::parse(&raw)
    };
    if let Some(new) = value.as_string()
        && (set_streamed(&args.file, format, identities, &file, &steps, new)?
            || set_string_in_place(&args.file, format, identities, &file, &steps, new)?)
    {
        return Ok(());
    }
    change(&args.file, format, identities, &file, |text| {
        edit::set(format, text, &steps, &value)
    })
}

/// The mapping keys of a path made of keys only (None when it goes through a list).
fn mapping_keys(steps: &[PathStep]) -> Option<Vec<String>> {
    steps
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Some(k.clone()),
            PathStep::Index(_) => None,
        })
        .collect()
}

/// The common case in a line-shaped YAML or JSON file, without a tree: see
/// [`crypto::stream::set`]. False when it does not apply (the other paths then handle it).
fn set_streamed(
    path: &Path,
    format: Format,
    identities: &[PathBuf],
    file: &str,
    steps: &[PathStep],
    new: &str,
) -> Result<bool, Error> {
    use crypto::stream::set::{Set, set_string, tail_of};
    let Some(keys) = mapping_keys(steps) else {
        return Ok(false);
    };
    if !matches!(format, Format::Yaml | Format::Json) {
        return Ok(false);
    }
    let _lock = lock(path)?;
    let bytes = fs_err::read(path).map_err(|source| Error::Read {
        file: file.to_string(),
        source,
    })?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(false);
    };
    let Some(tail) = tail_of(text, format) else {
        return Ok(false);
    };
    let Ok(meta) = Metadata::from_meta(&tail.meta) else {
        return Ok(false);
    };
    let Ok(key) = recover_key(&meta, identities, file) else {
        return Ok(false);
    };
    let now = crate::time::now_rfc3339();
    match set_string(text, &tail, &meta, &key, &keys, new, &now) {
        None => Ok(false),
        Some(Set::Unchanged) => Ok(true),
        Some(Set::Changed(rewrite)) => {
            let write_err = |source| Error::Write {
                file: file.to_string(),
                source,
            };
            let mut out = crate::store::AtomicFile::create(path, 0o644).map_err(write_err)?;
            rewrite.write_to(&mut out).map_err(write_err)?;
            out.commit().map_err(write_err)?;
            Ok(true)
        }
    }
}

/// The common case, fast: a new string for an existing encrypted string value. Its `ENC[...]`
/// text is replaced in the encrypted file (fresh IV), the MAC is recomputed from the plaintexts
/// decrypted to check the old one, and nothing else is parsed or rewritten. Returns false when
/// the case does not apply (the general path then handles it).
fn set_string_in_place(
    path: &Path,
    format: Format,
    identities: &[PathBuf],
    file: &str,
    steps: &[PathStep],
    new: &str,
) -> Result<bool, Error> {
    let Some(keys) = mapping_keys(steps) else {
        return Ok(false);
    };
    if format == Format::Binary {
        return Ok(false);
    }
    let locked = open_locked(path, format, identities)?;
    let leaves = locked.doc.leaves();
    let mut matching = leaves
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.comment && l.path == keys);
    let (Some((index, _)), None) = (matching.next(), matching.next()) else {
        return Ok(false);
    };
    let crypto_err = |source| Error::from_crypto(file, source);
    let mut decrypted =
        crypto::decrypt_with_key(locked.doc.as_ref(), &locked.meta, &locked.key, true)
            .map_err(crypto_err)?;
    let current = match &decrypted.edits[index] {
        Some(document::Replacement::Decrypted(p)) if p.kind == document::ValueType::Str => p,
        _ => return Ok(false),
    };
    if &current.bytes[..] == new.as_bytes() {
        return Ok(true); // the value is already set: nothing to write
    }
    decrypted.edits[index] = Some(document::Replacement::Decrypted(document::Plaintext {
        kind: document::ValueType::Str,
        bytes: Zeroizing::new(new.as_bytes().to_vec()),
    }));
    let mac_only = locked.meta.mac_only_encrypted;
    let mac = crypto::decrypted_mac(leaves, &decrypted.edits, mac_only).map_err(crypto_err)?;
    let cipher = crypto::ValueCipher::new(&locked.key);
    let enc = cipher.encrypt(
        new.as_bytes(),
        &crypto::aad(&keys),
        document::ValueType::Str,
    );
    let lastmodified = crate::time::now_rfc3339();
    let sealed = crypto::seal_mac(&cipher, &mac, &lastmodified).map_err(crypto_err)?;
    let meta = Metadata {
        lastmodified,
        mac: sealed,
        ..locked.meta.clone()
    };
    let mut edits: Vec<Option<document::Replacement>> = (0..leaves.len()).map(|_| None).collect();
    edits[index] = Some(document::Replacement::Encrypted(enc));
    let bytes = locked
        .doc
        .render(&mut edits, Some(&meta.to_meta()))
        .map_err(|source| Error::Document {
            file: file.to_string(),
            source,
        })?;
    write(path, &bytes)?;
    Ok(true)
}

pub fn unset(args: UnsetArgs, identities: &[PathBuf]) -> Result<(), Error> {
    let file = display_name(&args.file);
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let steps = parse_steps(&args.path, &file)?;
    change(&args.file, format, identities, &file, |text| {
        edit::unset(format, text, &steps).map(Some)
    })
}

fn read_value(res: std::io::Result<Vec<u8>>, name: &str) -> Result<Zeroizing<String>, Error> {
    let bytes = res.map_err(|source| Error::Read {
        file: name.to_string(),
        source,
    })?;
    String::from_utf8(bytes)
        .map(Zeroizing::new)
        .map_err(|_| Error::Usage(format!("{name}: the value is not UTF-8 text")))
}

pub(super) fn parse_steps(spec: &str, file: &str) -> Result<Vec<PathStep>, Error> {
    tree::parse_path(spec).map_err(|message| Error::Path {
        file: file.to_string(),
        message: format!("invalid path: {message}"),
    })
}

/// Lock, decrypt, apply `f` to the plaintext, and write the result if it changed anything.
fn change(
    path: &Path,
    format: Format,
    identities: &[PathBuf],
    file: &str,
    f: impl FnOnce(&str) -> Result<Option<String>, document::Error>,
) -> Result<(), Error> {
    if format == Format::Binary {
        return Err(Error::Usage(
            "set and unset need a structured format (yaml, json, toml, dotenv or ini)".into(),
        ));
    }
    let locked = open_locked(path, format, identities)?;
    let plaintext = decrypt_to_plaintext(
        locked.doc.as_ref(),
        &locked.meta,
        &locked.key,
        super::Verify::Mac,
        file,
    )?;
    let text = document::utf8(&plaintext).map_err(|source| Error::Document {
        file: file.to_string(),
        source,
    })?;
    let changed = f(text).map_err(|source| Error::Document {
        file: file.to_string(),
        source,
    })?;
    let Some(new_text) = changed.map(Zeroizing::new) else {
        return Ok(());
    };
    if new_text.as_bytes() == &plaintext[..] {
        return Ok(());
    }
    let bytes = reencrypt(
        new_text.as_bytes(),
        locked.doc.as_ref(),
        &locked.meta,
        &locked.key,
        format,
        file,
    )?;
    write(path, &bytes)?;
    drop(locked.bytes);
    Ok(())
}

/// Set several new values in one locked, atomic write, for `generate` (a secret and the public
/// half of its key pair). `values` gets the file's encryption rule and makes the values, so
/// nothing is generated for a file that cannot be opened. Without `force`, a path that already
/// holds a value is refused. A file that does not exist yet is created with its creation rule's
/// settings, as `edit` does. The plaintext only ever lives in memory.
pub(super) fn set_new_values(
    path: &Path,
    format: Format,
    identities: &[PathBuf],
    config_flag: Option<&Path>,
    force: bool,
    values: impl FnOnce(&crypto::Rule) -> Result<Vec<(Vec<PathStep>, edit::NewValue)>, Error>,
) -> Result<(), Error> {
    let file = display_name(path);
    let doc_err = |source| Error::Document {
        file: file.clone(),
        source,
    };
    if format == Format::Binary {
        return Err(Error::Usage(
            "generate needs a structured format (yaml, json, toml, dotenv or ini)".into(),
        ));
    }
    if !path.exists() {
        let options = encrypt::options_for_new_file(config_flag, path)?;
        let values = values(&options.rule)?;
        let mut root = tree::Node::Map(Vec::new());
        for (steps, value) in &values {
            insert_node(
                &mut root,
                steps,
                value.as_string().unwrap_or_default(),
                &file,
            )?;
        }
        let text = tree::emit(format, &root).map(Zeroizing::new);
        wipe(&mut root);
        let text = text.map_err(doc_err)?;
        let doc = parse_plaintext(text.as_bytes(), format, &file)?;
        let bytes = crypto::encrypt_document(doc.as_ref(), &options)
            .map_err(|source| Error::from_crypto(&file, source))?;
        return crate::store::create_new(path, &bytes, 0o644).map_err(|source| Error::Write {
            file: file.clone(),
            source,
        });
    }
    let locked = open_locked(path, format, identities)?;
    let rule = crypto::rule_of(&locked.meta, format).map_err(|source| Error::Crypto {
        file: file.clone(),
        source,
    })?;
    let plaintext = decrypt_to_plaintext(
        locked.doc.as_ref(),
        &locked.meta,
        &locked.key,
        super::Verify::Mac,
        &file,
    )?;
    let mut text = Zeroizing::new(document::utf8(&plaintext).map_err(doc_err)?.to_string());
    let values = values(&rule)?;
    if !force {
        let root = tree::load(format, &text).map_err(doc_err)?;
        for (steps, _) in &values {
            if tree::extract(&root, steps).is_ok() {
                return Err(Error::Usage(format!(
                    "{file}: {} already holds a value; pass --force to replace it (a rotation)",
                    tree::format_steps(steps)
                )));
            }
        }
    }
    for (steps, value) in &values {
        if let Some(next) = edit::set(format, &text, steps, value).map_err(doc_err)? {
            text = Zeroizing::new(next);
        }
    }
    if text.as_bytes() == &plaintext[..] {
        return Ok(());
    }
    let bytes = reencrypt(
        text.as_bytes(),
        locked.doc.as_ref(),
        &locked.meta,
        &locked.key,
        format,
        &file,
    )?;
    write(path, &bytes)
}

/// Overwrite the strings of a tree that held new secrets, before it is dropped.
fn wipe(node: &mut tree::Node) {
    use zeroize::Zeroize;
    match node {
        tree::Node::Str(s) => s.zeroize(),
        tree::Node::Map(entries) => entries.iter_mut().for_each(|(_, v)| wipe(v)),
        tree::Node::List(items) => items.iter_mut().for_each(wipe),
        _ => {}
    }
}

/// Put a string at `steps` (mapping keys only) in a new tree.
fn insert_node(
    root: &mut tree::Node,
    steps: &[PathStep],
    value: &str,
    file: &str,
) -> Result<(), Error> {
    let mut node = root;
    for (i, step) in steps.iter().enumerate() {
        let PathStep::Key(k) = step else {
            return Err(Error::Path {
                file: file.to_string(),
                message: "a new file has no lists: the path must name mapping keys only".into(),
            });
        };
        let tree::Node::Map(entries) = node else {
            return Err(Error::Path {
                file: file.to_string(),
                message: format!(
                    "{} is a value, not a mapping",
                    tree::format_steps(&steps[..i])
                ),
            });
        };
        let at = match entries.iter().position(|(key, _)| key == k) {
            Some(at) => at,
            None => {
                let next = if i + 1 == steps.len() {
                    tree::Node::Str(value.to_string())
                } else {
                    tree::Node::Map(Vec::new())
                };
                entries.push((k.clone(), next));
                entries.len() - 1
            }
        };
        node = &mut entries[at].1;
    }
    Ok(())
}

/// The short template a new file starts from.
fn template(format: Format) -> &'static str {
    match format {
        Format::Yaml => {
            "# A new secrets file: replace this example, save and quit.\nexample_key: example_value\n"
        }
        Format::Json => "{\n  \"example_key\": \"example_value\"\n}\n",
        Format::Toml => {
            "# A new secrets file: replace this example, save and quit.\nexample_key = \"example_value\"\n"
        }
        Format::Dotenv => {
            "# A new secrets file: replace this example, save and quit.\nEXAMPLE_KEY=example_value\n"
        }
        Format::Ini => {
            "; A new secrets file: replace this example, save and quit.\n[section]\nexample_key = example_value\n"
        }
        Format::Binary => "example\n",
    }
}

/// Split an editor command like a shell would (quotes and backslashes), without running a shell.
pub(super) fn split_command(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next()? {
                    '\n' => {}
                    c => word.push(c),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// A fresh 0700 folder for the plaintext: `$XDG_RUNTIME_DIR`, else `/dev/shm`, else the temp dir.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(d) = env::var(env::XDG_RUNTIME_DIR) {
        bases.push(d.into());
    }
    bases.push("/dev/shm".into());
    bases.push(std::env::temp_dir());
    let mut last = None;
    for base in bases.into_iter().filter(|b| b.is_dir()) {
        match tempfile::Builder::new()
            .prefix("secrets-edit-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&base)
        {
            Ok(dir) => return Ok(dir),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary folder is available")))
}

pub fn edit(
    args: EditArgs,
    identities: &[PathBuf],
    config_flag: Option<&Path>,
) -> Result<(), Error> {
    let file = display_name(&args.file);
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let exists = args.file.exists();
    // The file as it was, for "no change" and for noticing a concurrent write.
    let original = if exists {
        let bytes = super::read_input(&args.file).map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
        let (doc, meta) = parse_encrypted(&bytes, format, &file)?;
        let key = recover_key(&meta, identities, &file)?;
        let plaintext = decrypt_to_plaintext(doc.as_ref(), &meta, &key, super::Verify::Mac, &file)?;
        Some((bytes, doc, meta, key, plaintext))
    } else {
        None
    };
    let new_options = match &original {
        None => Some(encrypt::options_for_new_file(config_flag, &args.file)?),
        Some(_) => None,
    };
    let start: Zeroizing<Vec<u8>> = match &original {
        Some((.., plaintext)) => plaintext.clone(),
        None => Zeroizing::new(template(format).as_bytes().to_vec()),
    };

    let tmp_err = |source| Error::Write {
        file: "a private temporary folder".into(),
        source,
    };
    let dir = private_dir().map_err(tmp_err)?;
    // The helper removes the folder if this process dies before it can (SIGKILL included).
    let exe = std::env::current_exe().map_err(tmp_err)?;
    let _watchdog = {
        use std::os::unix::process::CommandExt;
        Command::new(exe)
            .arg("__edit-cleanup")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(tmp_err)?
    };
    let name = args
        .file
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_else(|| "secrets".into());
    let tmp = dir.path().join(name);
    crate::store::create_private_new(&tmp, &start).map_err(tmp_err)?;

    let editor = env::var(env::SOPS_EDITOR)
        .or_else(|| env::var(env::EDITOR))
        .unwrap_or_else(|| "vi".into());
    let mut argv = split_command(&editor)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| {
            Error::Usage("the editor command ($SOPS_EDITOR or $EDITOR) does not parse".into())
        })?;
    let program = argv.remove(0);
    let mut written = start.clone();
    let edited: Zeroizing<Vec<u8>> = loop {
        let status = Command::new(&program)
            .args(&argv)
            .arg(&tmp)
            .status()
            .map_err(|e| Error::Usage(format!("cannot run the editor {program:?}: {e}")))?;
        if !status.success() {
            return Err(Error::Usage(format!(
                "the editor exited with {status}; {file} was left unchanged"
            )));
        }
        let now = Zeroizing::new(super::read_input(&tmp).map_err(|source| Error::Read {
            file: "the edited temporary file".into(),
            source,
        })?);
        if now == written {
            if written == start {
                eprintln!("{file}: no changes, the file was left as it was");
                return Ok(());
            }
            // Reopened with an error and quit without a change.
            return Err(Error::Usage(format!(
                "the edit does not parse; {file} was left unchanged"
            )));
        }
        let body = strip_error_header(&now);
        if written != start && body == strip_error_header(&written) {
            // Saved again with the same error (an editor that rewrites the file on its own, or a
            // save without a fix): stop rather than reopen forever.
            return Err(Error::Usage(format!(
                "the edit still does not parse; {file} was left unchanged"
            )));
        }
        match parse_plaintext(body, format, &file) {
            Ok(_) => break Zeroizing::new(body.to_vec()),
            Err(e) => {
                let mut again = Zeroizing::new(error_header(&e.to_string()).into_bytes());
                again.extend_from_slice(body);
                crate::store::write_atomic(&tmp, &again, 0o600).map_err(tmp_err)?;
                written = again;
                eprintln!(
                    "error: {e}\nreopening the editor; quit without saving to leave {file} unchanged"
                );
            }
        }
    };
    if edited == start {
        eprintln!("{file}: no changes, the file was left as it was");
        return Ok(());
    }
    let bytes = match (&original, &new_options) {
        (Some((_, doc, meta, key, _)), _) => {
            reencrypt(&edited, doc.as_ref(), meta, key, format, &file)?
        }
        (None, Some(options)) => {
            let doc = parse_plaintext(&edited, format, &file)?;
            crypto::encrypt_document(doc.as_ref(), options).map_err(|source| Error::Crypto {
                file: file.clone(),
                source,
            })?
        }
        (None, None) => unreachable!("a new file always has options"),
    };
    drop(dir);
    match &original {
        Some((before, ..)) => {
            let _lock = lock(&args.file)?;
            let now = super::read_input(&args.file).map_err(|source| Error::Read {
                file: file.clone(),
                source,
            })?;
            if &now != before {
                let keep = conflict_path(&args.file);
                write(&keep, &bytes)?;
                return Err(Error::Usage(format!(
                    "{file} changed on disk while the editor was open; it was not overwritten. \
                     Your edit is saved, encrypted, in {}: compare the two with `secrets decrypt`",
                    keep.display()
                )));
            }
            write(&args.file, &bytes)
        }
        None => {
            crate::store::create_new(&args.file, &bytes, 0o644).map_err(|source| Error::Write {
                file: file.clone(),
                source,
            })
        }
    }
}

/// `name.conflict-<seconds>.ext` beside the file, keeping the extension (and so the format).
fn conflict_path(path: &Path) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.conflict-{secs}.{}", ext.to_string_lossy()),
        None => format!("{stem}.conflict-{secs}"),
    };
    path.with_file_name(name)
}

const HEADER_MARK: &str = "# secrets edit: ";

fn error_header(message: &str) -> String {
    format!(
        "{HEADER_MARK}{}\n{HEADER_MARK}fix the file and save (these lines are removed), or quit without saving to leave it unchanged\n",
        message.replace('\n', " ")
    )
}

fn strip_error_header(bytes: &[u8]) -> &[u8] {
    let mut rest = bytes;
    while rest.starts_with(HEADER_MARK.as_bytes()) {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => rest = &rest[i + 1..],
            None => rest = &[],
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_commands_split_like_a_shell() {
        assert_eq!(split_command("vi").unwrap(), ["vi"]);
        assert_eq!(split_command("code --wait").unwrap(), ["code", "--wait"]);
        assert_eq!(
            split_command(r#"'/opt/my editor/bin/ed' -n "a \"b\"" c\ d"#).unwrap(),
            ["/opt/my editor/bin/ed", "-n", "a \"b\"", "c d"]
        );
        assert!(split_command("vi 'unclosed").is_none());
    }

    #[test]
    fn error_headers_are_removed_again() {
        let text = format!("{}a: 1\n", error_header("invalid yaml: line 1"));
        assert_eq!(strip_error_header(text.as_bytes()), b"a: 1\n");
    }
}
