//! Reading input and writing output: the only module that writes files.
//!
//! Every write goes to a temporary file in the target's own directory, is synced, and is renamed
//! into place, so an interrupted command leaves either the old file or the new one. On Linux the
//! temporary file has no name until just before the rename (O_TMPFILE), and a later write
//! removes the temporary files of killed processes.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Read a file, or standard input for `-`.
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        io::stdin().lock().read_to_end(&mut buf)?;
        return Ok(buf);
    }
    fs_err::read(path)
}

/// Replace `path` with `bytes` atomically. An existing file keeps its permissions; a new one gets
/// `new_mode` (0600 for plaintext, 0644 for encrypted files).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mode = match fs_err::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_mode,
        Err(e) => return Err(e),
    };
    sweep_stale_temp_files(dir);
    #[cfg(target_os = "linux")]
    if write_unnamed(dir, path, bytes, mode)? {
        return Ok(());
    }
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a temporary file in {}: {e}", dir.display()),
            )
        })?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.persist(path).map_err(|e| {
        io::Error::new(
            e.error.kind(),
            format!("cannot replace {}: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// Linux: write into an unnamed file in `dir` (O_TMPFILE), and give it a name only to rename
/// it over `path`, so that a SIGKILL leaves a temporary file behind only in the window between
/// those two calls, not while the bytes are written and synced. `Ok(false)` when the system
/// cannot do this (no O_TMPFILE on that file system, or no /proc): the caller writes a named
/// temporary file instead.
#[cfg(target_os = "linux")]
fn write_unnamed(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    use nix::fcntl::{AT_FDCWD, AtFlags};
    use std::os::fd::AsRawFd;
    let cannot = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot write a temporary file in {}: {e}", dir.display()),
        )
    };
    let mut file = tempfile::tempfile_in(dir).map_err(cannot)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    let name = dir.join(format!(
        "{TEMP_PREFIX}{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    // Fails on a file tempfile had to create with a name and unlink (no O_TMPFILE here).
    if nix::unistd::linkat(
        AT_FDCWD,
        fd_path.as_str(),
        AT_FDCWD,
        &name,
        AtFlags::AT_SYMLINK_FOLLOW,
    )
    .is_err()
    {
        return Ok(false);
    }
    fs_err::rename(&name, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&name);
    })?;
    Ok(true)
}

/// Temporary files are named `.secrets-tmp-<pid>-<random>`: the process id lets a later write
/// tell the files of a killed process from those of one still running.
const TEMP_PREFIX: &str = ".secrets-tmp-";

/// Remove the temporary files that a killed `secrets` left in `dir` (a SIGKILL between creating
/// the temporary file and renaming it leaves it behind; nothing runs on SIGKILL). A file is
/// stale when the process named in it no longer exists. Best effort: errors are ignored.
fn sweep_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = pid > 0
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                == Err(nix::errno::Errno::ESRCH);
        if gone && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Create a new file with mode 0600; fails if it exists (key files are never overwritten).
pub fn create_private_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    create_new(path, bytes, 0o600)
}

/// Create a new file with `mode`; fails if it exists.
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Create a folder and its parents, new ones with mode 0700.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))
}

/// A new private folder (0700) in the system's temporary directory, removed when dropped.
pub fn private_temp_dir() -> io::Result<tempfile::TempDir> {
    let base = std::env::temp_dir();
    tempfile::Builder::new()
        .prefix("secrets-exec-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a private folder in {}: {e}", base.display()),
            )
        })
}

/// Create a named pipe (FIFO) readable and writable by the owner only.
pub fn make_fifo(path: &Path) -> io::Result<()> {
    use nix::sys::stat::Mode;
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR).map_err(|errno| {
        io::Error::new(
            io::Error::from(errno).kind(),
            format!("cannot create the named pipe {}: {errno}", path.display()),
        )
    })
}

/// Write `bytes` into a FIFO: blocks until a reader opens it, then writes everything.
pub fn feed_fifo(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut pipe = fs_err::OpenOptions::new().write(true).open(path)?;
    pipe.write_all(bytes)
}

/// Append to a file, creating it (0600) if needed: how GitHub Actions' `$GITHUB_ENV` is written.
pub fn append(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs_err::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_existing_permissions_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_write_removes_temp_files_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!("{TEMP_PREFIX}{}-abc", i32::MAX));
        let alive = dir
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc", std::process::id()));
        let other = dir.path().join(".secrets-tmp-notapid");
        for p in [&dead, &alive, &other] {
            std::fs::write(p, "x").unwrap();
        }
        write_atomic(&dir.path().join("f"), b"new", 0o600).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists());
    }

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        create_private_new(&path, b"k").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(create_private_new(&path, b"other").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "k");
    }
}
