//! `secrets exec-env` and `secrets exec-file`: hand decrypted values to a command without
//! leaving plaintext on disk.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::vars::{self, Names};
use super::{choose_format, decrypt_file, display_name};
use crate::document::tree;
use crate::error::Error;

#[derive(clap::Args)]
pub struct ExecEnvArgs {
    /// The encrypted file.
    file: PathBuf,
    /// The command and its arguments (after --), or one command string for `sh -c`, as sops
    /// (`exec-env f.yaml 'echo $DB_PASSWORD'`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<OsString>,
    /// Give the command only the file's variables, not this process's environment.
    #[arg(long)]
    pristine: bool,
    /// Join nested keys with _ and upper-case them (db: {password} gives DB_PASSWORD), instead
    /// of refusing nested values as sops does.
    #[arg(long)]
    flatten: bool,
    /// The input format (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
    /// Decrypt even if the MAC does not match.
    #[arg(long)]
    ignore_mac: bool,
    /// Also refuse what the MAC does not authenticate (see `decrypt --strict`).
    #[arg(long, conflicts_with = "ignore_mac")]
    strict: bool,
}

#[derive(clap::Args)]
pub struct ExecFileArgs {
    /// The encrypted file.
    file: PathBuf,
    /// The command and its arguments (after --), or one command string for `sh -c`, as sops
    /// (`exec-file f.yaml 'cat {}'`); {} is replaced by the decrypted file's path.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<OsString>,
    /// Write a 0600 file in a private 0700 folder instead of a named pipe (for commands that
    /// seek or read the file twice); it is removed when the command exits.
    #[arg(long)]
    no_fifo: bool,
    /// The name of the pipe or file inside the private folder (some commands look at the
    /// extension).
    #[arg(long, value_name = "NAME", default_value = "tmp-file")]
    filename: String,
    /// The input format (default: from the file name).
    #[arg(long, value_name = "TYPE")]
    input_type: Option<String>,
    /// The format of the file handed to the command (default: the input's, byte for byte).
    #[arg(long, value_name = "TYPE")]
    output_type: Option<String>,
    /// Decrypt even if the MAC does not match.
    #[arg(long)]
    ignore_mac: bool,
    /// Also refuse what the MAC does not authenticate (see `decrypt --strict`).
    #[arg(long, conflicts_with = "ignore_mac")]
    strict: bool,
}

/// Decrypt, then become CMD (exec) with the values in its environment. Returns only on error.
pub fn exec_env(args: ExecEnvArgs, explicit_identities: &[PathBuf]) -> Result<u8, Error> {
    let file = display_name(&args.file);
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let plaintext = decrypt_file(
        &args.file,
        format,
        explicit_identities,
        super::Verify::from_flags(args.ignore_mac, args.strict),
    )?;
    let doc_err = |source| Error::Document {
        file: file.clone(),
        source,
    };
    let text = crate::document::utf8(&plaintext).map_err(doc_err)?;
    let root = tree::load(format, text).map_err(doc_err)?;
    let vars = vars::collect(&root, args.flatten, Names::Os).map_err(|message| Error::EnvVar {
        file: file.clone(),
        message,
    })?;
    let command = shell_form(args.command);
    let (program, rest) = command.split_first().expect("clap requires CMD");
    let mut cmd = Command::new(program);
    cmd.args(rest);
    if args.pristine {
        cmd.env_clear();
    }
    for var in &vars {
        cmd.env(&var.name, var.value.as_str());
    }
    drop(root);
    drop(plaintext);
    // exec replaces this process: CMD gets our pid, our signals and our exit status.
    let source = cmd.exec();
    Err(Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })
}

/// Decrypt into a FIFO (or a private file), run CMD with `{}` replaced by its path, pass
/// signals on, clean up, and return CMD's exit status.
pub fn exec_file(args: ExecFileArgs, explicit_identities: &[PathBuf]) -> Result<u8, Error> {
    let file = display_name(&args.file);
    if args.filename.is_empty()
        || args.filename.contains('/')
        || args.filename == "."
        || args.filename == ".."
    {
        return Err(Error::Usage(
            "--filename must be a plain file name, without /".into(),
        ));
    }
    let format = choose_format(args.input_type.as_deref(), &args.file)?;
    let output_format = match &args.output_type {
        Some(t) => choose_format(Some(t), &args.file)?,
        None => format,
    };
    let plaintext = decrypt_file(
        &args.file,
        format,
        explicit_identities,
        super::Verify::from_flags(args.ignore_mac, args.strict),
    )?;
    let bytes = if output_format == format {
        plaintext
    } else {
        zeroize::Zeroizing::new(super::decrypt::convert(
            &plaintext,
            format,
            output_format,
            None,
            &file,
        )?)
    };

    // The watchdog removes the folder if this process dies before it can (SIGKILL included),
    // so a `--no-fifo` plaintext file never outlives us.
    let dir = super::private_temp("secrets-exec-").map_err(|source| Error::Write {
        file: "the temporary folder".into(),
        source,
    })?;
    let path = dir.path().join(&args.filename);
    let write_err = |source| Error::Write {
        file: path.display().to_string(),
        source,
    };
    let writer = if args.no_fifo {
        crate::store::create_new(&path, &bytes, 0o600).map_err(write_err)?;
        drop(bytes);
        None
    } else {
        crate::store::make_fifo(&path).map_err(write_err)?;
        let fifo = path.clone();
        // Blocks until CMD opens the pipe; if CMD never does, the thread ends with the process.
        Some(std::thread::spawn(move || {
            let _ = crate::store::feed_fifo(&fifo, &bytes);
        }))
    };

    let command = shell_form(args.command);
    let (program, rest) = command.split_first().expect("clap requires CMD");
    let mut cmd = Command::new(replace_placeholder(program, &path));
    cmd.args(rest.iter().map(|a| replace_placeholder(a, &path)));

    // Catch the signals before the child exists, so none is lost or kills us before cleanup.
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|source| {
            Error::Spawn {
                program: program.to_string_lossy().into_owned(),
                source,
            }
        })?;
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    let handle = signals.handle();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let forwarder = std::thread::spawn(move || {
        for signal in signals.forever() {
            if let Ok(sig) = nix::sys::signal::Signal::try_from(signal) {
                let _ = nix::sys::signal::kill(pid, sig);
            }
        }
    });
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    if writer.as_ref().is_some_and(|w| w.is_finished()) {
        let _ = writer.map(|w| w.join());
    }
    // Remove the pipe or file and its folder before reporting anything.
    dir.close().map_err(|source| Error::Write {
        file: "the temporary folder".into(),
        source,
    })?;
    let status = status.map_err(|source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
        (None, None) => 1,
    })
}

/// One command word that a shell would read differently from a program name (spaces, quotes,
/// `$`, redirections...) is a command string, run as `sh -c STRING` as sops does; a plain
/// program name or several words run as they are (no shell in between).
fn shell_form(command: Vec<OsString>) -> Vec<OsString> {
    const SHELL: &[u8] = b" \t\n;&|<>()$`\\\"'*?[]#~=%!";
    match command.as_slice() {
        [one] if one.as_bytes().iter().any(|b| SHELL.contains(b)) => {
            vec!["sh".into(), "-c".into(), one.clone()]
        }
        _ => command,
    }
}

/// An argument with every `{}` replaced by `path`.
fn replace_placeholder(arg: &OsStr, path: &Path) -> OsString {
    let bytes = arg.as_bytes();
    if !bytes.windows(2).any(|w| w == b"{}") {
        return arg.to_os_string();
    }
    let mut out = Vec::with_capacity(bytes.len() + path.as_os_str().len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"{}") {
            out.extend_from_slice(path.as_os_str().as_bytes());
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_string_runs_through_sh() {
        let words = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            shell_form(words(&["echo $A"])),
            words(&["sh", "-c", "echo $A"])
        );
        assert_eq!(
            shell_form(words(&["cat {}"])),
            words(&["sh", "-c", "cat {}"])
        );
        assert_eq!(shell_form(words(&["env"])), words(&["env"]));
        assert_eq!(shell_form(words(&["echo", "$A"])), words(&["echo", "$A"]));
    }

    #[test]
    fn placeholder_is_replaced_anywhere_in_an_argument() {
        let p = Path::new("/tmp/x/f");
        assert_eq!(replace_placeholder(OsStr::new("{}"), p), "/tmp/x/f");
        assert_eq!(
            replace_placeholder(OsStr::new("--config={}"), p),
            "--config=/tmp/x/f"
        );
        assert_eq!(replace_placeholder(OsStr::new("plain"), p), "plain");
    }
}
