//! Reading input and writing output: the only module that writes files.
//!
//! Every write goes to a temporary file in the target's own directory, is synced, and is renamed
//! into place, so an interrupted command leaves either the old file or the new one. On Linux the
//! temporary file has no name until just before the rename (O_TMPFILE), and a later write
//! removes the temporary files of killed processes.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use fs_err::os::unix::fs::OpenOptionsExt;

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
        recover_before_read(path)?;
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

/// Replace `path` with `bytes` atomically (see [`AtomicFile`]). An existing file keeps its owner,
/// group, permissions and extended attributes; a new one gets `new_mode` (0600 for plaintext,
/// 0644 for encrypted files).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    let mut file = AtomicFile::create(path, new_mode)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Whether the writing command was given `--force`: a read-only file is then written anyway,
/// and a failure to keep the file's owner, group or extended attributes is not an error.
static FORCE: AtomicBool = AtomicBool::new(false);

/// Set by the writing commands from their `--force` flag.
pub fn set_force(force: bool) {
    FORCE.store(force, Ordering::Relaxed);
}

fn forced() -> bool {
    FORCE.load(Ordering::Relaxed)
}

/// The most symbolic links followed before a path is called a loop (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// The real file behind `path`: every symbolic link of the last component followed (relative
/// targets are taken from the link's own folder). A path that does not exist is returned as is
/// (a new file); a link whose target does not exist, or a chain of links that loops, is an error.
pub fn resolve_target(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for hop in 0..=MAX_LINK_HOPS {
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound && hop > 0 => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "{} is a dangling symbolic link: its target {} does not exist",
                        path.display(),
                        current.display()
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", current.display()),
                ));
            }
        };
        if !meta.file_type().is_symlink() {
            return Ok(current);
        }
        let target = std::fs::read_link(&current).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot read the symbolic link {}: {e}", current.display()),
            )
        })?;
        current = match current.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        };
    }
    Err(io::Error::other(format!(
        "{} is a symbolic link loop (more than {MAX_LINK_HOPS} links followed)",
        path.display()
    )))
}

/// The folder a file is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuse, before any work, a write that cannot or should not happen: a read-only file (no
/// write bit for its owner, whoever runs the command) without `--force`, a file this user cannot
/// write, a folder this user cannot create files in.
fn check_writable(real: &Path, meta: Option<&std::fs::Metadata>) -> io::Result<()> {
    use nix::unistd::{AccessFlags, access};
    let denied = |what: String| io::Error::new(io::ErrorKind::PermissionDenied, what);
    if let Some(meta) = meta {
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                real.display()
            )));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o200 == 0 && !forced() {
            return Err(denied(format!(
                "{} is read-only (mode {mode:04o}); make it writable or pass --force",
                real.display()
            )));
        }
        // A writable file, or one with other names (rewritten in place), must be writable by
        // this user; a read-only one forced is replaced by rename.
        if (mode & 0o200 != 0 || meta.nlink() > 1) && access(real, AccessFlags::W_OK).is_err() {
            return Err(denied(format!(
                "you cannot write {} (owner uid {}, mode {mode:04o})",
                real.display(),
                meta.uid()
            )));
        }
    }
    let dir = folder_of(real);
    if access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_err() {
        return Err(denied(format!(
            "cannot create files in the folder {} (no write permission)",
            dir.display()
        )));
    }
    Ok(())
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

impl Read for Tmp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(f) => f.read(buf),
            Tmp::Named(t) => t.as_file_mut().read(buf),
        }
    }
}

impl io::Seek for Tmp {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(f) => f.seek(pos),
            Tmp::Named(t) => t.as_file_mut().seek(pos),
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

/// A file being written. `create` resolves the path to the real file (through every symbolic
/// link) and checks, before any work, that it may be written; the bytes go to a 0600 temporary
/// file in the real file's folder; [`AtomicFile::commit`] syncs it, gives it the file's owner,
/// group, permissions and extended attributes (ACLs included), and renames it over the real file,
/// so a link keeps pointing at the new content. A file with other hard links is instead
/// rewritten in place under a backup (see [`rewrite_in_place`]), so every name sees the new
/// content. Dropped without a commit, the temporary file is removed and the target is untouched.
/// Killed with SIGKILL, a process can leave a `.secrets-tmp-<pid>-*` file (on Linux only between
/// naming the file and renaming it); the next `AtomicFile` in that folder removes it.
pub struct AtomicFile {
    tmp: io::BufWriter<Tmp>,
    dir: PathBuf,
    path: PathBuf,
    mode: u32,
    existing: Option<std::fs::Metadata>,
}

impl AtomicFile {
    /// Start writing `path`. An existing file keeps its owner, group, permissions and extended
    /// attributes; a new one gets `new_mode`.
    pub fn create(path: &Path, new_mode: u32) -> io::Result<AtomicFile> {
        let path = resolve_target(path)?;
        let dir = folder_of(&path).to_path_buf();
        let existing = match std::fs::metadata(&path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        check_writable(&path, existing.as_ref())?;
        let existing = match existing {
            Some(meta) if recover_interrupted(&path, &meta)? => Some(std::fs::metadata(&path)?),
            other => other,
        };
        let mode = existing
            .as_ref()
            .map_or(new_mode, |m| m.permissions().mode() & 0o7777);
        sweep_stale_temp_files(&dir);
        #[cfg(target_os = "linux")]
        let tmp = match unnamed_in(&dir) {
            Some(file) => Tmp::Unnamed(file),
            None => Tmp::Named(named_in(&dir)?),
        };
        #[cfg(not(target_os = "linux"))]
        let tmp = Tmp::Named(named_in(&dir)?);
        Ok(AtomicFile {
            tmp: io::BufWriter::with_capacity(1 << 16, tmp),
            dir,
            path,
            mode,
            existing,
        })
    }

    /// Flush, fsync, keep the file's owner, permissions and attributes, and put the file in
    /// place: by rename, or in place for a file with other hard links.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.file().sync_all()?;
        if let Some(meta) = self.existing.as_ref().filter(|m| m.nlink() > 1) {
            let mut file = tmp;
            return rewrite_in_place(&self.path, meta, &mut file);
        }
        if let Some(meta) = &self.existing {
            keep_owner(tmp.file(), &self.path, meta)?;
        }
        tmp.file()
            .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        if self.existing.is_some() {
            keep_xattrs(tmp.file(), &self.path)?;
        }
        let tmp = match tmp {
            #[cfg(target_os = "linux")]
            Tmp::Unnamed(file) => match name_unnamed(&file, &self.dir) {
                Some(name) => {
                    fs_err::rename(&name, &self.path).inspect_err(|_| {
                        let _ = std::fs::remove_file(&name);
                    })?;
                    sync_dir(&self.dir);
                    return Ok(());
                }
                // No /proc to name it through: copy it to a named temporary file.
                None => {
                    let mut named = named_in(&self.dir)?;
                    let mut file = file;
                    io::Seek::rewind(&mut file)?;
                    io::copy(&mut file, &mut named)?;
                    named.as_file().sync_all()?;
                    if let Some(meta) = &self.existing {
                        keep_owner(named.as_file(), &self.path, meta)?;
                    }
                    named
                        .as_file()
                        .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
                    if self.existing.is_some() {
                        keep_xattrs(named.as_file(), &self.path)?;
                    }
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
        sync_dir(&self.dir);
        Ok(())
    }
}

/// Give the new file the old one's owner and group (before its permissions: a chown clears the
/// set-id bits). A failure is an error unless `--force`.
fn keep_owner(new: &std::fs::File, path: &Path, old: &std::fs::Metadata) -> io::Result<()> {
    let current = new.metadata()?;
    if current.uid() == old.uid() && current.gid() == old.gid() {
        return Ok(());
    }
    match std::os::unix::fs::fchown(new, Some(old.uid()), Some(old.gid())) {
        Ok(()) => Ok(()),
        Err(_) if forced() => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "cannot keep the owner {}:{} of {}: {e}; pass --force to write it owned by you",
                old.uid(),
                old.gid(),
                path.display()
            ),
        )),
    }
}

/// Copy the extended attributes of `path` (ACLs are `system.posix_acl_access`) onto the new
/// file. A file system without them is fine; another failure is an error unless `--force`.
fn keep_xattrs(new: &std::fs::File, path: &Path) -> io::Result<()> {
    let unsupported = |e: rustix::io::Errno| e == rustix::io::Errno::NOTSUP;
    let fail = |e: rustix::io::Errno, what: &str| -> io::Result<()> {
        if unsupported(e) || forced() {
            return Ok(());
        }
        Err(io::Error::new(
            io::Error::from(e).kind(),
            format!(
                "cannot keep the extended attribute {what} of {}: {e}; pass --force to write it without",
                path.display()
            ),
        ))
    };
    let names = match read_xattr_buf(|buf| rustix::fs::listxattr(path, buf)) {
        Ok(names) => names,
        Err(e) => return fail(e, "list"),
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(name) = std::ffi::CString::new(name) else {
            continue;
        };
        let shown = name.to_string_lossy().into_owned();
        let value = match read_xattr_buf(|buf| rustix::fs::getxattr(path, name.as_c_str(), buf)) {
            Ok(value) => value,
            Err(e) => {
                fail(e, &shown)?;
                continue;
            }
        };
        if let Err(e) = rustix::fs::fsetxattr(
            new,
            name.as_c_str(),
            &value,
            rustix::fs::XattrFlags::empty(),
        ) {
            fail(e, &shown)?;
        }
    }
    Ok(())
}

/// Call a `*xattr` function with a buffer large enough for its answer.
fn read_xattr_buf(
    call: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) if buf.len() < 1 << 20 => {
                let size = buf.len() * 4;
                buf.resize(size, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Make a rename or removal in `dir` durable. Best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The backup of a file rewritten in place: `.secrets-restore-<device>-<inode>-<pid>` in its
/// folder, holding the old content until the new one is synced.
const RESTORE_PREFIX: &str = ".secrets-restore-";

fn restore_prefix(meta: &std::fs::Metadata) -> String {
    format!("{RESTORE_PREFIX}{}-{}-", meta.dev(), meta.ino())
}

/// Rewrite a file that has other hard links in place, so every name sees the new content and
/// keeps the same inode (owner, group, mode and attributes are the inode's and do not change).
///
/// Crash-safe: the old content is first copied to a 0600 backup beside the file (written under
/// a temporary name, synced, renamed, folder synced); then the new content (already synced in
/// `new`) is copied over the file and synced; only then is the backup removed. A process killed
/// during the copy leaves the backup, and the next `secrets` command that reads or writes the
/// file puts the old content back (see [`recover_interrupted`]): every name ends with the old
/// or the new content, never a mix.
fn rewrite_in_place(path: &Path, meta: &std::fs::Metadata, new: &mut Tmp) -> io::Result<()> {
    let dir = folder_of(path);
    let backup = dir.join(format!("{}{}", restore_prefix(meta), std::process::id()));
    write_backup(path, &backup)?;
    sync_dir(dir);
    let mut target = fs_err::OpenOptions::new().write(true).open(path)?;
    io::Seek::rewind(new)?;
    let len = io::copy(new, &mut target)?;
    target.set_len(len)?;
    target.sync_all()?;
    fs_err::remove_file(&backup)?;
    sync_dir(dir);
    Ok(())
}

/// Copy the file at `path` to `backup`, synced, so that `backup` exists only once complete. On
/// Linux the copy has no name until it is (O_TMPFILE, then linked as `backup`), so a kill while
/// it is written leaves nothing; elsewhere a named temporary file is renamed.
fn write_backup(path: &Path, backup: &Path) -> io::Result<()> {
    let dir = folder_of(path);
    let mut old = fs_err::File::open(path)?;
    let named_err = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot create the backup {}: {e}", backup.display()),
        )
    };
    #[cfg(target_os = "linux")]
    if let Some(mut file) = unnamed_in(dir) {
        io::copy(&mut old, &mut file)?;
        file.sync_all()?;
        if link_unnamed(&file, backup) {
            return Ok(());
        }
        io::Seek::rewind(&mut old)?;
    }
    let mut staged = named_in(dir)?;
    io::copy(&mut old, &mut staged)?;
    staged.as_file().sync_all()?;
    staged.persist(backup).map_err(|e| named_err(e.error))?;
    Ok(())
}

/// If an in-place rewrite of this file was interrupted (a backup left by a process that no
/// longer runs), put the old content back and remove the backup. Returns whether it did.
fn recover_interrupted(path: &Path, meta: &std::fs::Metadata) -> io::Result<bool> {
    let dir = folder_of(path);
    let prefix = restore_prefix(meta);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(false);
    };
    let mut recovered = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if !process_gone(pid) {
            continue;
        }
        let backup = entry.path();
        let restore = || -> io::Result<()> {
            let mut old = fs_err::File::open(&backup)?;
            let mut target = fs_err::OpenOptions::new().write(true).open(path)?;
            let len = io::copy(&mut old, &mut target)?;
            target.set_len(len)?;
            target.sync_all()?;
            fs_err::remove_file(&backup)?;
            sync_dir(dir);
            Ok(())
        };
        restore().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "an interrupted in-place write of {} left its old content in {}, which could not be put back: {e}",
                    path.display(),
                    backup.display()
                ),
            )
        })?;
        recovered = true;
    }
    Ok(recovered)
}

/// Before reading a file: finish an interrupted in-place rewrite of it (see
/// [`recover_interrupted`]). Files with one name never need it.
pub fn recover_before_read(path: &Path) -> io::Result<()> {
    let real = resolve_target(path)?;
    match std::fs::metadata(&real) {
        Ok(meta) if meta.nlink() > 1 => recover_interrupted(&real, &meta).map(|_| ()),
        _ => Ok(()),
    }
}

/// Whether the process `pid` no longer exists.
fn process_gone(pid: i32) -> bool {
    pid > 0
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH)
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
    let name = dir.join(format!(
        "{TEMP_PREFIX}{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    link_unnamed(file, &name).then_some(name)
}

/// Give an O_TMPFILE file the name `path` (through /proc/self/fd); false if that cannot be done.
#[cfg(target_os = "linux")]
fn link_unnamed(file: &std::fs::File, path: &Path) -> bool {
    use nix::fcntl::{AT_FDCWD, AtFlags};
    use std::os::fd::AsRawFd;
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    nix::unistd::linkat(
        AT_FDCWD,
        fd_path.as_str(),
        AT_FDCWD,
        path,
        AtFlags::AT_SYMLINK_FOLLOW,
    )
    .is_ok()
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
        if process_gone(pid) && entry.file_type().is_ok_and(|t| t.is_file()) {
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

/// A private 0700 folder for plaintext (`edit`'s file, `exec-file`'s pipe or `--no-fifo` file),
/// in memory where the system allows: `$XDG_RUNTIME_DIR`, else `/dev/shm`; only where neither
/// exists, the system's temporary folder, with a warning (the plaintext may then reach a disk).
/// A watchdog process removes the folder when this process exits for any reason, SIGKILL
/// included; [`PrivateTemp::close`] removes it at once.
pub struct PrivateTemp {
    dir: tempfile::TempDir,
    in_memory: bool,
    _watchdog: std::process::Child,
}

impl PrivateTemp {
    pub fn new(prefix: &str) -> io::Result<PrivateTemp> {
        let (dir, in_memory) = private_temp_dir(prefix)?;
        let watchdog = cleanup_watchdog(dir.path())?;
        Ok(PrivateTemp {
            dir,
            in_memory,
            _watchdog: watchdog,
        })
    }

    /// False when the folder fell back to the system's temporary folder (callers warn).
    pub fn in_memory(&self) -> bool {
        self.in_memory
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remove the folder and everything in it now.
    pub fn close(self) -> io::Result<()> {
        self.dir.close()
    }
}

/// The in-memory folders tried first for a [`PrivateTemp`].
fn memory_folders() -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(d) = crate::cli::env::var(crate::cli::env::XDG_RUNTIME_DIR) {
        bases.push(d.into());
    }
    bases.push("/dev/shm".into());
    bases
}

fn private_temp_dir(prefix: &str) -> io::Result<(tempfile::TempDir, bool)> {
    let make = |base: &Path| {
        tempfile::Builder::new()
            .prefix(prefix)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)
    };
    for base in memory_folders().into_iter().filter(|b| b.is_dir()) {
        if let Ok(dir) = make(&base) {
            return Ok((dir, true));
        }
    }
    let base = std::env::temp_dir();
    make(&base).map(|dir| (dir, false)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create a private folder in {}: {e}", base.display()),
        )
    })
}

/// Start the hidden `__edit-cleanup` helper on `dir`: it waits until its standard input closes,
/// which happens when this process exits for any reason, then removes the folder. It runs in
/// its own process group, so a Ctrl-C meant for a command does not stop it first.
fn cleanup_watchdog(dir: &Path) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(std::env::current_exe()?)
        .arg("__edit-cleanup")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
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
