//! Reading input and writing output: the only module that writes files.
//!
//! Every write goes to a temporary file in the target's own directory, is synced, and is renamed
//! into place, so an interrupted command leaves either the old file or the new one.

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
    let mut file = AtomicFile::create(path, new_mode)?;
    file.write_all(bytes)?;
    file.commit()
}

/// A file being written: a 0600 temporary file in the target's folder, renamed over the target
/// by [`AtomicFile::commit`] (after an fsync, with the target's permissions). Dropped without a
/// commit, the temporary file is removed and the target is untouched.
pub struct AtomicFile {
    tmp: io::BufWriter<tempfile::NamedTempFile>,
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
        let tmp = tempfile::Builder::new()
            .prefix(".secrets-tmp-")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        Ok(AtomicFile {
            tmp: io::BufWriter::with_capacity(1 << 16, tmp),
            path: path.to_path_buf(),
            mode,
        })
    }

    /// Flush, fsync, set the permissions and rename the file into place.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
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
