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
///
/// At most `limit` bytes: a larger input is refused (`FileTooLarge`) before it is read when its
/// size is known, and as soon as the limit is passed otherwise (standard input, pipes).
pub fn read_input(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            if limit.is_multiple_of(1 << 20) {
                format!("the input is larger than the limit of {} MiB", limit >> 20)
            } else {
                format!("the input is larger than the limit of {limit} bytes")
            },
        )
    };
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin().lock().take(limit + 1).read_to_end(&mut buf)?;
    } else {
        let file = fs_err::File::open(path)?;
        let size = file.metadata()?.len();
        if size > limit {
            return Err(too_large());
        }
        buf.reserve_exact(size as usize);
        file.take(limit + 1).read_to_end(&mut buf)?;
    }
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// Replace `path` with `bytes` atomically. An existing file keeps its permissions; a new one gets
/// `new_mode` (0600 for plaintext, 0644 for encrypted files).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    let mut file = AtomicFile::create(path, new_mode)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Temporary files are named `.secrets-tmp-<pid>-<random>`: the process id lets a later write
/// tell the files of a killed process from those of one still running.
const TEMP_PREFIX: &str = ".secrets-tmp-";

/// The temporary file behind an [`AtomicFile`].
enum Tmp {
    /// Linux: a file without a name (O_TMPFILE), named only just before the rename, so that a
    /// SIGKILL while the bytes are written and synced leaves nothing behind.
    #[cfg(target_os = "linux")]
    Unnamed(std::fs::File),
    /// Elsewhere, or where the file system has no O_TMPFILE: a named 0600 file.
    Named(tempfile::NamedTempFile),
}

impl Tmp {
    fn file(&self) -> &std::fs::File {
        match self {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(f) => f,
            Tmp::Named(t) => t.as_file(),
        }
    }
}

impl Write for Tmp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(f) => f.write(buf),
            Tmp::Named(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(f) => f.flush(),
            Tmp::Named(t) => t.flush(),
        }
    }
}

/// A file being written: a 0600 temporary file in the target's folder, renamed over the target
/// by [`AtomicFile::commit`] (after an fsync, with the target's permissions). Dropped without a
/// commit, the temporary file is removed and the target is untouched. Killed with SIGKILL, a
/// process can leave a `.secrets-tmp-<pid>-*` file (on Linux only between naming the file and
/// renaming it); the next `AtomicFile` in that folder removes it.
pub struct AtomicFile {
    tmp: io::BufWriter<Tmp>,
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
    mode: u32,
}

impl AtomicFile {
    /// Start writing `path`. An existing file keeps its permissions; a new one gets `new_mode`.
    pub fn create(path: &Path, new_mode: u32) -> io::Result<AtomicFile> {
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
        let tmp = match unnamed_in(dir) {
            Some(file) => Tmp::Unnamed(file),
            None => Tmp::Named(named_in(dir)?),
        };
        #[cfg(not(target_os = "linux"))]
        let tmp = Tmp::Named(named_in(dir)?);
        Ok(AtomicFile {
            tmp: io::BufWriter::with_capacity(1 << 16, tmp),
            dir: dir.to_path_buf(),
            path: path.to_path_buf(),
            mode,
        })
    }

    /// Flush, fsync, set the permissions and rename the file into place.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.file().sync_all()?;
        tmp.file()
            .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        let tmp = match tmp {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(file) => match name_unnamed(&file, &self.dir) {
                Some(name) => {
                    return fs_err::rename(&name, &self.path).inspect_err(|_| {
                        let _ = std::fs::remove_file(&name);
                    });
                }
                // No /proc to name it through: copy it to a named temporary file.
                None => {
                    let mut named = named_in(&self.dir)?;
                    let mut file = file;
                    io::Seek::rewind(&mut file)?;
                    io::copy(&mut file, &mut named)?;
                    named.as_file().sync_all()?;
                    named
                        .as_file()
                        .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
                    named
                }
            },
            Tmp::Named(named) => named,
        };
        tmp.persist(&self.path).map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!("cannot replace {}: {}", self.path.display(), e.error),
            )
        })?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// A named 0600 temporary file in `dir`, carrying this process's id.
fn named_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a temporary file in {}: {e}", dir.display()),
            )
        })
}

/// An O_TMPFILE file in `dir` (mode 0600), or `None` where the file system has none.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_TMPFILE.bits())
        .open(dir)
        .ok()
}

/// Give an O_TMPFILE file a temporary name in `dir` (through /proc/self/fd); `None` if that
/// cannot be done.
#[cfg(target_os = "linux")]
fn name_unnamed(file: &std::fs::File, dir: &Path) -> Option<std::path::PathBuf> {
    use nix::fcntl::{AT_FDCWD, AtFlags};
    use std::os::fd::AsRawFd;
    let name = dir.join(format!(
        "{TEMP_PREFIX}{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    nix::unistd::linkat(
        AT_FDCWD,
        fd_path.as_str(),
        AT_FDCWD,
        &name,
        AtFlags::AT_SYMLINK_FOLLOW,
    )
    .ok()
    .map(|()| name)
}

/// Remove the temporary files that a killed `secrets` left in `dir` (nothing runs on SIGKILL).
/// A file is stale when the process named in it no longer exists. Best effort: errors are
/// ignored.
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
