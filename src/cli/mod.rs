//! The command line: the only module that knows clap, reads the environment, or prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod access;
mod check;
mod decrypt;
mod diff;
mod edit;
mod encrypt;
pub mod env;
mod exec;
mod generate;
mod git;
mod history;
mod hook;
mod identities;
mod init;
mod keygen;
mod rekey;
mod rollback;
mod scan;
mod sops;
mod vars;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use zeroize::Zeroizing;

use crate::crypto::{self, DataKey, keys};
use crate::document::metadata::Metadata;
use crate::document::{self, Document, Format};
use crate::error::{Error, ExitStatus};

const EXIT_CODES: &str = "\
Exit status:
  0  success              8  no usable key or recipient
  2  usage error          9  a value cannot be decrypted (tampered or malformed)
  3  cannot read input   10  MAC mismatch or missing MAC
  4  cannot write output 11  invalid sops metadata
  5  invalid document    12  --extract path invalid or not found
  6  not encrypted       13  empty input
  7  already encrypted   14  key file or config already exists
                         15  .sops.yaml invalid, or no creation rule matches
                         16  a value cannot be an environment variable
                         17  Git: not a repository, no such revision, path never committed
                         18  --strict: content the MAC does not authenticate
                         19  edit --fail-unchanged: the file was not modified
exec-env, exec-file: the command's own status; 127 command not found, 126 cannot run it.";

/// Keep secrets encrypted inside the config files you commit, SOPS-compatible.
#[derive(Parser)]
#[command(name = "secrets", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// An age identity file (keys file or SSH private key), tried before the sops locations.
    #[arg(long, global = true, value_name = "FILE")]
    identity: Vec<PathBuf>,
    /// The creation-rules file to use, instead of the nearest .sops.yaml above the target file [env: SOPS_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The order key types are tried in when decrypting, comma-separated (default: age,pgp) [env: SOPS_DECRYPTION_ORDER].
    #[arg(long, global = true, value_name = "TYPES")]
    decryption_order: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set up a repository: an identity if you have none, and a .sops.yaml with a rule for it.
    Init(init::InitArgs),
    /// Generate a new age X25519 identity (the public key is printed on stderr).
    Keygen(keygen::KeygenArgs),
    /// Encrypt a YAML, JSON, TOML, dotenv, INI or binary file.
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt a file, or one value of it with --extract.
    Decrypt(decrypt::DecryptArgs),
    /// Re-encrypt files' data keys for the recipients their creation rule lists now.
    Updatekeys(rekey::UpdatekeysArgs),
    /// Give files a new data key and encrypt every value again.
    ///
    /// A recipient removed with --rm-age can still decrypt every earlier version of the file in
    /// Git history: change the secrets themselves too.
    Rotate(rekey::RotateArgs),
    /// Add or delete key groups (Shamir secret sharing), as sops's `groups`.
    Groups(rekey::GroupsArgs),
    /// Print {"encrypted":true} or {"encrypted":false}, as sops does.
    Filestatus(FilestatusArgs),
    /// Edit an encrypted file in $SOPS_EDITOR, $EDITOR or vi; unchanged values keep their ciphertext.
    Edit(edit::EditArgs),
    /// Set one value of an encrypted file, e.g. `set f.yaml '["db"]["password"]' --value-stdin`.
    Set(edit::SetArgs),
    /// Remove one value (or subtree) of an encrypted file.
    Unset(edit::UnsetArgs),
    #[command(name = "__edit-cleanup", hide = true)]
    EditCleanup(edit::CleanupArgs),
    /// Run a command with the file's top-level values added to its environment.
    ///
    /// Nothing is written to disk: this process becomes the command (exec), so its exit status
    /// and the signals sent to it are the command's.
    ExecEnv(exec::ExecEnvArgs),
    /// Run a command with {} replaced by the path of a named pipe holding the decrypted file.
    ///
    /// With --no-fifo, a 0600 file in a private 0700 folder, removed when the command exits.
    /// SIGINT, SIGTERM and SIGHUP are passed on to the command; its exit status becomes ours.
    ExecFile(exec::ExecFileArgs),
    /// Look for secrets (tokens, keys, passwords) in files, folders, standard input, the staged
    /// changes (--staged) or the Git history (--history).
    ///
    /// Exit status: 0 nothing found, 1 secrets found, 2 an error (a file could not be read).
    /// Reports never print a secret: excerpts are redacted and findings carry a fingerprint.
    Scan(scan::ScanArgs),
    /// Generate a secret (password, token, key pair...) from the OS CSPRNG straight into the encrypted file; it is never shown unless --show.
    Generate(generate::GenerateArgs),
    /// Check secrets against their types and the `secrets:` policies of .sops.yaml; --fail exits 1 on any finding (values are never printed).
    Check(check::CheckArgs),
    /// The secrets inventory, without decrypting: file, key, type, owner, last change, expiry.
    List(check::ListArgs),
    /// Show the decrypted, key-sorted difference between two versions in Git (default: HEAD and the working tree).
    Diff(diff::DiffArgs),
    /// Git integration: decrypted diffs (textconv), a per-key merge driver, and their setup.
    Git(git::GitArgs),
    /// The versions of a file in Git, newest first: which key paths changed, recipients, rotations.
    Log(history::LogArgs),
    /// A file as it was at a Git revision, decrypted (or its keyless view without a key).
    Show(history::ShowArgs),
    /// When each value last changed and by whom; flags old values and ones removed recipients could read.
    Stale(history::StaleArgs),
    /// Write the values of an earlier revision into the file as a new version (history is never rewritten).
    Rollback(rollback::RollbackArgs),
    /// Install the Git pre-commit hook that runs `secrets scan --staged`.
    Hook(hook::HookArgs),
    /// Who can read which encrypted file (named through `recipients:` in .sops.yaml), drift
    /// from the creation rules, and who could read each version in Git history (--history).
    ///
    /// Keyless. --fail exits 1 on drift (with --history: on values a removed recipient could
    /// read); --fix re-encrypts the data key of drifted files for their rule's recipients.
    Access(access::AccessArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    ///
    /// bash: `secrets completion bash > ~/.local/share/bash-completion/completions/secrets`;
    /// zsh: into a folder of your $fpath as `_secrets`; fish: `~/.config/fish/completions/secrets.fish`.
    Completion(CompletionArgs),
    /// Write the manual pages, one per command (secrets.1, secrets-encrypt.1, ...), into OUTDIR.
    Man(ManArgs),
}

#[derive(clap::Args)]
struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
    /// The command name the script completes (`sops` when called as sops).
    #[arg(long, default_value = "secrets", hide = true)]
    name: String,
}

#[derive(clap::Args)]
struct ManArgs {
    /// The folder to write the pages into (created if missing), e.g. ~/.local/share/man/man1.
    outdir: PathBuf,
}

/// Print the completion script for `shell`.
fn completion(args: CompletionArgs) -> Result<(), Error> {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, args.name, &mut script);
    write_output(&script, None, None, 0o644)
}

/// Write one roff page per command (and per subcommand of `git` and `groups`), named as man
/// expects: secrets.1, secrets-encrypt.1, secrets-git-setup.1...
fn man(args: ManArgs) -> Result<(), Error> {
    let err = |source| Error::Write {
        file: display_name(&args.outdir),
        source,
    };
    fs_err::create_dir_all(&args.outdir).map_err(err)?;
    clap_mangen::generate_to(Cli::command(), &args.outdir).map_err(err)
}

#[derive(clap::Args)]
struct FilestatusArgs {
    /// The file to check.
    file: PathBuf,
    /// The format, when the file name does not say it.
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
}

/// Keep plaintext and keys out of core dumps: the core file size limit goes to 0 (inherited by
/// the commands `exec-env` and `exec-file` run, which see the plaintext too) and this process is
/// marked not dumpable (which also keeps other processes of the same user from attaching to it
/// with ptrace, or reading its memory through /proc). Best effort: a failure is only reported.
fn disable_core_dumps() {
    use nix::sys::resource::{Resource, setrlimit};
    let done =
        setrlimit(Resource::RLIMIT_CORE, 0, 0).and_then(|()| nix::sys::prctl::set_dumpable(false));
    if let Err(errno) = done {
        eprintln!("warning: cannot disable core dumps: {errno}");
    }
}

/// Parse the arguments, run the command, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    disable_core_dumps();
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let as_sops = sops::invoked_as_sops(argv.first().map(|a| a.as_os_str()));
    if as_sops {
        // Called as `sops`: read sops's command line and answer with sops's exit codes.
        match sops::plan(argv.get(1..).unwrap_or_default()) {
            sops::Plan::Run(ours) => argv = std::iter::once("sops".into()).chain(ours).collect(),
            sops::Plan::Print(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            sops::Plan::Fail(message, code) => {
                eprintln!("{message}");
                return ExitCode::from(code);
            }
        }
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match (e.use_stderr(), as_sops) {
                (false, _) => 0,
                (true, false) => ExitStatus::Usage as u8,
                (true, true) => 1,
            });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err}");
            if let Some(hint) = err.hint() {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            ExitCode::from(if as_sops {
                sops::exit_code(&err)
            } else {
                err.exit_status() as u8
            })
        }
    }
}

/// Run the command; `Ok` holds the exit code (0, or the status of the command `exec-file` ran).
fn run(cli: Cli) -> Result<u8, Error> {
    if let Some(order) = cli
        .decryption_order
        .clone()
        .or_else(|| env::var(env::SOPS_DECRYPTION_ORDER))
    {
        keys::set_decryption_order(&order);
    }
    let done = match cli.command {
        Command::ExecEnv(args) => return exec::exec_env(args, &cli.identity),
        Command::ExecFile(args) => return exec::exec_file(args, &cli.identity),
        Command::Scan(args) => return scan::run(args, cli.config.as_deref()),
        Command::Check(args) => return check::check(args, &cli.identity, cli.config.as_deref()),
        Command::Generate(args) => generate::run(args, &cli.identity, cli.config.as_deref()),
        Command::List(args) => check::list(args, cli.config.as_deref()),
        Command::Diff(args) => return diff::run(args, &cli.identity),
        Command::Git(args) => return git::run(args, &cli.identity, cli.config.as_deref()),
        Command::Stale(args) => return history::stale(args),
        Command::Hook(args) => return hook::run(args),
        Command::Access(args) => {
            let outcome = access::run(&args, cli.config.as_deref())?;
            if args.fix && !outcome.fixable.is_empty() {
                rekey::update_files(&outcome.fixable, cli.config.as_deref(), &cli.identity)?;
                return Ok(0);
            }
            return Ok(outcome.code);
        }
        Command::Keygen(args) => keygen::run(args),
        Command::Init(args) => init::run(args),
        Command::Encrypt(args) => encrypt::run(args, cli.config.as_deref(), &cli.identity),
        Command::Decrypt(args) => decrypt::run(args, &cli.identity),
        Command::Filestatus(args) => filestatus(args),
        Command::Updatekeys(args) => rekey::updatekeys(args, cli.config.as_deref(), &cli.identity),
        Command::Rotate(args) => rekey::rotate(args, &cli.identity),
        Command::Groups(args) => rekey::groups(args, &cli.identity),
        Command::Edit(args) => edit::edit(args, &cli.identity, cli.config.as_deref()),
        Command::Set(args) => edit::set(args, &cli.identity),
        Command::Unset(args) => edit::unset(args, &cli.identity),
        Command::EditCleanup(args) => edit::cleanup(args),
        Command::Log(args) => history::log(args, &cli.identity),
        Command::Show(args) => history::show(args, &cli.identity),
        Command::Rollback(args) => rollback::rollback(args, &cli.identity),
        Command::Completion(args) => completion(args),
        Command::Man(args) => man(args),
    };
    done.map(|()| 0)
}

/// How a file is named in messages.
fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The format to read: `--input-type`, else the file name (or `--filename-override`).
fn choose_format(explicit: Option<&str>, name_for_type: &Path) -> Result<Format, Error> {
    match explicit {
        Some(t) => Format::from_name(t).ok_or_else(|| {
            Error::Usage(format!(
                "unknown type {t:?}: expected yaml, json, toml, dotenv, ini or binary"
            ))
        }),
        None if name_for_type.as_os_str() == "-" => Err(Error::Usage(
            "reading standard input needs --input-type or --filename-override".into(),
        )),
        None => Ok(Format::from_path(name_for_type)),
    }
}

/// The input size limit by default: 256 MiB. Peak memory is about 7 times the input for YAML
/// (5 for JSON), so under 2 GiB; a 128 MiB plaintext encrypts to 171 MiB, which still decrypts.
const DEFAULT_MAX_INPUT: u64 = 256 << 20;

/// The input size limit: `SECRETS_MAX_INPUT` (bytes, or with a K, M or G suffix), else the
/// default.
fn max_input() -> Result<u64, Error> {
    let Some(text) = env::var(env::SECRETS_MAX_INPUT) else {
        return Ok(DEFAULT_MAX_INPUT);
    };
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&t[..t.len() - 1], 10),
        Some(b'M') => (&t[..t.len() - 1], 20),
        Some(b'G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} must be a number of bytes, optionally with K, M or G: {text:?}",
                env::SECRETS_MAX_INPUT
            ))
        })
}

/// Read an input file (or `-`), refusing one over the size limit.
fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    let limit = max_input()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    crate::store::read_input(path, limit)
}

/// Read and parse the input file.
/// A file's bytes (wiped on drop: they may be plaintext) and the document parsed from them.
type Loaded = (Zeroizing<Vec<u8>>, Box<dyn Document>);

fn load(path: &Path, format: Format) -> Result<Loaded, Error> {
    let file = display_name(path);
    let bytes = read_input(path)
        .map(Zeroizing::new)
        .map_err(|source| Error::Read {
            file: file.clone(),
            source,
        })?;
    if format != Format::Binary && bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty { file });
    }
    let doc = document::parse(format, &bytes).map_err(|source| Error::Document { file, source })?;
    Ok((bytes, doc))
}

/// Read an encrypted file: the document and its metadata.
fn load_encrypted(path: &Path, format: Format) -> Result<(Box<dyn Document>, Metadata), Error> {
    let (_, doc) = load(path, format)?;
    let meta = metadata_of(doc.as_ref(), &display_name(path))?;
    Ok((doc, meta))
}

/// An encrypted document's metadata; an error when it has none or it is invalid.
fn metadata_of(doc: &dyn Document, file: &str) -> Result<Metadata, Error> {
    let meta = doc.metadata().ok_or_else(|| Error::NotEncrypted {
        file: file.to_string(),
    })?;
    Metadata::from_meta(meta).map_err(|source| Error::Metadata {
        file: file.to_string(),
        source,
    })
}

/// The file's data key, from the identities found where sops looks (and `--identity`).
fn recover_key(
    meta: &Metadata,
    explicit_identities: &[PathBuf],
    file: &str,
) -> Result<DataKey, Error> {
    let found = identities::discover(explicit_identities);
    keys::recover_data_key(meta, &found.identities).map_err(|source| Error::Keys {
        file: file.to_string(),
        source,
        searched: found.searched,
    })
}

/// How much of an encrypted file's integrity to check when decrypting it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// `--ignore-mac`: only each value's own authentication.
    IgnoreMac,
    /// The MAC too (the default, as sops).
    Mac,
    /// `--strict`: the MAC, and nothing in the file that neither AEAD nor the MAC covers.
    Strict,
}

impl Verify {
    fn from_flags(ignore_mac: bool, strict: bool) -> Verify {
        match (ignore_mac, strict) {
            (_, true) => Verify::Strict,
            (true, false) => Verify::IgnoreMac,
            (false, false) => Verify::Mac,
        }
    }
}

/// Decrypt every value (checking the MAC unless told not to) and write the plaintext document.
fn decrypt_to_plaintext(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    verify: Verify,
    file: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let crypto_err = |source| Error::Crypto {
        file: file.to_string(),
        source,
    };
    let mut decrypted = crypto::decrypt_with_key(doc, meta, key, verify != Verify::IgnoreMac)
        .map_err(crypto_err)?;
    if verify == Verify::Strict {
        crypto::check_strict(doc, meta, &decrypted).map_err(crypto_err)?;
    }
    let plaintext = doc
        .render(&mut decrypted.edits, None)
        .map_err(|source| Error::Document {
            file: file.to_string(),
            source,
        })?;
    Ok(Zeroizing::new(plaintext))
}

/// Read, check and decrypt an encrypted file: its plaintext, byte for byte.
fn decrypt_file(
    path: &Path,
    format: Format,
    explicit_identities: &[PathBuf],
    verify: Verify,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let file = display_name(path);
    let (doc, meta) = load_encrypted(path, format)?;
    let key = recover_key(&meta, explicit_identities, &file)?;
    decrypt_to_plaintext(doc.as_ref(), &meta, &key, verify, &file)
}

/// Write the result: in place, to `--output`, or to stdout.
fn write_output(
    bytes: &[u8],
    in_place: Option<&Path>,
    output: Option<&Path>,
    new_mode: u32,
) -> Result<(), Error> {
    let target = in_place.or(output);
    match target {
        Some(path) => {
            crate::store::write_atomic(path, bytes, new_mode).map_err(|source| Error::Write {
                file: display_name(path),
                source,
            })
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|_| out.flush())
                .map_err(|source| Error::Write {
                    file: "<stdout>".into(),
                    source,
                })
        }
    }
}

fn filestatus(args: FilestatusArgs) -> Result<(), Error> {
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let (_, doc) = load(&args.file, format)?;
    let encrypted = doc
        .metadata()
        .and_then(|m| document::metadata::Metadata::from_meta(m).ok())
        .is_some_and(|m| m.looks_encrypted());
    println!("{{\"encrypted\":{encrypted}}}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn core_dumps_are_disabled_and_the_process_not_dumpable() {
        super::disable_core_dumps();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!((soft, hard), (0, 0));
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
    }
}
