//! File helpers: owner-only directories and files, durable replacement, advisory locks.
//!
//! Every write that must survive a crash goes through [`write_durable`]: temp file, fsync,
//! rename over the target, fsync the directory. A crash leaves the old file or the new one,
//! never a torn one; the stale temp file is overwritten by the next write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// An I/O failure and the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done (`read`, `write`, `lock`, …).
    pub action: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

pub(crate) fn err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError {
        action,
        path,
        source,
    }
}

/// Creates `dir` and its parents, owner-only (0700) where created.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err("create", dir))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir).map_err(err("create", dir))
    }
}

/// Opens a file for writing, created owner-only (0600), truncating what was there.
fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// fsync on a directory, so that renames and new entries in it survive a power cut.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err("sync", dir))
}

/// Replaces `path` with `bytes` durably (temp → fsync → rename → fsync directory).
///
/// The temp name is fixed per target, so callers must hold a lock that serialises writers of
/// the same path (the witness holds its per-log lock).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = open_private(&temp, false).map_err(err("create", &temp))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(err("write", &temp))?;
    }
    fs::rename(&temp, path).map_err(err("rename", path))?;
    fsync_dir(dir)
}

/// Creates `path` with `bytes`, owner-only, only if it does not exist: written to a temp file,
/// fsynced, then hard-linked into place, so the file appears whole or not at all and a
/// concurrent creator's file wins. Returns `false` when one was already there.
pub(crate) fn create_durable(path: &Path, bytes: &[u8]) -> Result<bool, FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&temp);
    {
        let mut f = open_private(&temp, true).map_err(err("create", &temp))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(err("write", &temp))?;
    }
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => fsync_dir(dir).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(err("link", path)(e)),
    }
}

/// Reads a file of at most `limit` bytes; `None` if it does not exist.
pub(crate) fn read_bounded(path: &Path, limit: usize) -> Result<Option<Vec<u8>>, FileError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err("open", path)(e)),
    };
    let mut buf = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(err("read", path))?;
    if buf.len() > limit {
        return Err(err("read", path)(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        )));
    }
    Ok(Some(buf))
}

/// An exclusive advisory lock (`flock`) on a lock file, held until dropped: serialises
/// processes that share a directory, and threads too (each holder opens its own descriptor).
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Waits for, then holds, the lock on `path` (created if missing).
    pub(crate) fn acquire(path: &Path) -> Result<FileLock, FileError> {
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path).map_err(err("open", path))?;
        file.lock().map_err(err("lock", path))?;
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_writes_replace_and_create_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("state");
        write_durable(&p, b"one").expect("write");
        write_durable(&p, b"two").expect("write");
        assert_eq!(read_bounded(&p, 3).expect("read"), Some(b"two".to_vec()));
        assert!(read_bounded(&p, 2).is_err());
        assert_eq!(
            read_bounded(&dir.path().join("none"), 9).expect("read"),
            None
        );
        let k = dir.path().join("key");
        assert!(create_durable(&k, b"first").expect("create"));
        assert!(!create_durable(&k, b"second").expect("create"));
        assert_eq!(fs::read(&k).expect("read"), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [&p, &k] {
                let mode = fs::metadata(f).expect("meta").permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", f.display());
            }
        }
        // Only the two files: no temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 2);
    }

    #[test]
    fn a_lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("lock");
        let held = FileLock::acquire(&p).expect("lock");
        let other = File::options().write(true).open(&p).expect("open");
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
