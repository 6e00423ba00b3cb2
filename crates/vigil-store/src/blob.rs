//! The content-addressed blob directory.
//!
//! Layout under the blob root:
//! ```text
//! sha256/ab/cd/abcd…(64 hex)   one file per distinct content, never modified once published
//! tmp/<session>/               staging area of one live process, guarded by tmp/<session>/lock
//! ```
//!
//! Durability protocol (see [`BlobStore::publish`]): bytes are streamed into a temp file while
//! they are hashed, the temp files are made durable, renamed to their content address, and the
//! renames are made durable. Only after `publish` returns may the catalog refer to the blobs.
//!
//! What a crash leaves behind, step by step:
//! - during staging: a temp file in a session directory whose lock is no longer held; the next
//!   [`BlobStore::open`] removes it.
//! - after a rename, before the catalog commit: a complete, correctly named blob that no catalog
//!   row refers to yet ("unreferenced"); a later capture of the same bytes adopts it and
//!   `vigil verify` lists it without counting it as damage.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use crate::digest::{Sha256Digest, StreamHasher};

/// Errors from the blob directory; each names the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct BlobError {
    /// What was being done ("create", "rename", "sync", …).
    pub action: &'static str,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> BlobError + 'a {
    move |source| BlobError {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A content-addressed directory of immutable blobs on the local file system.
///
/// Safe to use from several processes at once: each process stages into its own locked
/// session directory, and publishing is an atomic rename onto a name derived from the content.
pub struct BlobStore {
    root: PathBuf,
    /// This process's staging directory and the lock that keeps it alive; `None` when the
    /// store was opened read-only (`vigil verify`), which can then read but never write.
    session: Option<(PathBuf, File)>,
    counter: AtomicU64,
}

impl BlobStore {
    /// Opens (creating if needed) the blob directory at `root`, removes temp files left by
    /// processes that died, and starts a staging session for this process.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        let objects = root.join("sha256");
        let tmp = root.join("tmp");
        for dir in [root, &objects, &tmp] {
            create_private_dir(dir)?;
        }
        remove_stale_sessions(&tmp);
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let session = tmp.join(format!("{}-{nanos}", std::process::id()));
        create_private_dir(&session)?;
        let lock_path = session.join("lock");
        let lock = private_file(&lock_path).map_err(io_err("create", &lock_path))?;
        lock.lock().map_err(io_err("lock", &lock_path))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
            session: Some((session, lock)),
            counter: AtomicU64::new(0),
        })
    }

    /// Opens the blob directory at `root` to read only: nothing is created, removed or
    /// written, so checking a store (`vigil verify`) never changes it. Staging and
    /// publishing fail with a clear error.
    pub fn open_read_only(root: &Path) -> Result<Self, BlobError> {
        fs::read_dir(root).map_err(io_err("open", root))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
            session: None,
            counter: AtomicU64::new(0),
        })
    }

    /// This process's staging directory; an error when the store is read-only.
    fn session(&self) -> Result<&Path, BlobError> {
        match &self.session {
            Some((dir, _)) => Ok(dir),
            None => Err(BlobError {
                action: "write to",
                path: self.root.clone(),
                source: io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the store was opened read-only",
                ),
            }),
        }
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path_of(&self, digest: &Sha256Digest) -> PathBuf {
        let hex = digest.to_hex();
        self.root
            .join("sha256")
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(hex)
    }

    /// The blob directory's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when a blob with this digest has been published.
    pub fn contains(&self, digest: &Sha256Digest) -> bool {
        self.path_of(digest).is_file()
    }

    /// Opens a published blob for reading.
    pub fn open_blob(&self, digest: &Sha256Digest) -> Result<File, BlobError> {
        let path = self.path_of(digest);
        File::open(&path).map_err(io_err("open", &path))
    }

    /// Starts a new temp file that hashes what is written to it.
    pub fn stage(&self) -> Result<StagedBlob, BlobError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self.session()?.join(format!("{n}.part"));
        let file = private_file(&path).map_err(io_err("create", &path))?;
        Ok(StagedBlob {
            file: Some(file),
            path,
            hasher: StreamHasher::new(),
        })
    }

    /// Streams everything `source` yields into a new staged blob, reporting bytes to
    /// `progress`. For large sources (`size_hint` of at least [`PIPELINE_MIN`]) SHA-256 runs on
    /// a second thread while this one reads and writes, and write-back to the disk is started
    /// as the file grows, so hashing, copying and flushing overlap instead of adding up.
    pub fn ingest(
        &self,
        source: &mut dyn Read,
        size_hint: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FinishedBlob, IngestError> {
        let mut staged = self.stage().map_err(IngestError::Store)?;
        if size_hint < PIPELINE_MIN {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = read_some(source, &mut buf).map_err(IngestError::Read)?;
                if n == 0 {
                    break;
                }
                staged
                    .write_all(&buf[..n])
                    .map_err(|e| IngestError::Store(io_err("write", &staged.path)(e)))?;
                progress(n as u64);
            }
            return staged.finish().map_err(IngestError::Store);
        }
        let mut file = staged.file.take().ok_or_else(|| {
            IngestError::Store(io_err("write", &staged.path)(io::Error::other("finished")))
        })?;
        let hasher = std::mem::take(&mut staged.hasher);
        let path = staged.path.clone();
        let (copied, hasher) = std::thread::scope(|scope| {
            let (to_hash, hash_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(PIPELINE_BUFFERS);
            let (give_back, free_rx) = mpsc::sync_channel::<Vec<u8>>(PIPELINE_BUFFERS);
            let hashing = scope.spawn(move || {
                let mut hasher = hasher;
                for (buf, n) in hash_rx {
                    hasher.update(&buf[..n]);
                    if give_back.send(buf).is_err() {
                        break;
                    }
                }
                hasher
            });
            let mut spare: Vec<Vec<u8>> = (0..PIPELINE_BUFFERS).map(|_| vec![0u8; CHUNK]).collect();
            let copied = (|| -> Result<(), IngestError> {
                let mut unflushed = 0u64;
                loop {
                    let mut buf = match spare.pop() {
                        Some(b) => b,
                        None => free_rx.recv().map_err(|_| {
                            IngestError::Store(io_err("hash", &path)(io::Error::other(
                                "the hashing thread stopped",
                            )))
                        })?,
                    };
                    let n = read_some(source, &mut buf).map_err(IngestError::Read)?;
                    if n == 0 {
                        return Ok(());
                    }
                    file.write_all(&buf[..n])
                        .map_err(|e| IngestError::Store(io_err("write", &path)(e)))?;
                    progress(n as u64);
                    unflushed += n as u64;
                    if unflushed >= WRITEBACK_EVERY {
                        start_writeback(&file);
                        unflushed = 0;
                    }
                    if to_hash.send((buf, n)).is_err() {
                        return Err(IngestError::Store(io_err("hash", &path)(io::Error::other(
                            "the hashing thread stopped",
                        ))));
                    }
                }
            })();
            drop(to_hash);
            (copied, hashing.join())
        });
        copied?;
        let hasher = hasher.map_err(|_| {
            IngestError::Store(io_err("hash", &path)(io::Error::other(
                "the hashing thread panicked",
            )))
        })?;
        staged.file = Some(file);
        staged.hasher = hasher;
        staged.finish().map_err(IngestError::Store)
    }

    /// A new empty private directory inside this process's staging session, for tools that
    /// write files themselves (yt-dlp). It is on the blob store's file system and is removed
    /// with the session if the process dies; callers remove it when done.
    pub fn scratch_dir(&self) -> Result<PathBuf, BlobError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let dir = self.session()?.join(format!("scratch-{n}"));
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// Makes finished blobs durable under their content address, in one batch.
    ///
    /// Order: (1) the temp files' bytes reach the disk, (2) each is renamed onto its digest
    /// (or dropped when that content is already held), (3) the new names reach the disk.
    /// When this returns `Ok`, every returned blob survives a power cut.
    pub fn publish(&self, blobs: Vec<FinishedBlob>) -> Result<Vec<Published>, BlobError> {
        if blobs.is_empty() {
            return Ok(Vec::new());
        }
        // (1) data durable.
        if blobs.len() > 1 && syncfs(self.session()?).is_ok() {
            // one filesystem-wide flush beats one fsync per small file
        } else {
            for b in &blobs {
                b.file.sync_all().map_err(io_err("sync", &b.temp))?;
            }
        }
        // (2) rename into place.
        let mut dirs = BTreeSet::new();
        let mut out = Vec::with_capacity(blobs.len());
        for mut b in blobs {
            let dest = self.path_of(&b.digest);
            let parent = dest.parent().map(Path::to_path_buf).unwrap_or_default();
            let held = match fs::metadata(&dest) {
                Ok(m) if m.len() == b.size => true,
                Ok(m) => {
                    tracing::warn!(
                        "blob {} has {} bytes instead of {}: replacing it with the fresh copy",
                        dest.display(),
                        m.len(),
                        b.size
                    );
                    false
                }
                Err(_) => false,
            };
            if held {
                // Dropping `b` removes its temp file.
                out.push(Published {
                    digest: b.digest,
                    size: b.size,
                    newly_stored: false,
                });
                continue;
            }
            if !parent.is_dir() {
                fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
                let mut p = parent.as_path();
                while p != self.root {
                    dirs.insert(p.to_path_buf());
                    match p.parent() {
                        Some(pp) => p = pp,
                        None => break,
                    }
                }
            }
            fs::rename(&b.temp, &dest).map_err(io_err("rename", &b.temp))?;
            b.renamed = true;
            dirs.insert(parent);
            out.push(Published {
                digest: b.digest,
                size: b.size,
                newly_stored: true,
            });
        }
        // (3) names durable.
        if !dirs.is_empty() && (dirs.len() == 1 || syncfs(&self.root).is_err()) {
            for d in &dirs {
                fsync_dir(d)?;
            }
        }
        Ok(out)
    }

    /// Every published blob: its digest as named by its path, and the path.
    /// Files whose names are not digests are returned in `strays` so they can be reported.
    pub fn list(&self) -> Result<BlobListing, BlobError> {
        let mut listing = BlobListing::default();
        let objects = self.root.join("sha256");
        let mut stack = vec![(objects, 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let entries = fs::read_dir(&dir).map_err(io_err("list", &dir))?;
            for entry in entries {
                let entry = entry.map_err(io_err("list", &dir))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(io_err("stat", &path))?;
                if depth < 2 && kind.is_dir() {
                    stack.push((path, depth + 1));
                    continue;
                }
                let name = entry.file_name();
                let parsed = name.to_str().and_then(|n| n.parse::<Sha256Digest>().ok());
                match parsed {
                    Some(d) if kind.is_file() && self.path_of(&d) == path => {
                        listing.blobs.push((d, path))
                    }
                    _ => listing.strays.push(path),
                }
            }
        }
        listing.blobs.sort();
        listing.strays.sort();
        Ok(listing)
    }
}

/// The blobs found on disk by [`BlobStore::list`].
#[derive(Debug, Default)]
pub struct BlobListing {
    /// Correctly placed blobs, sorted by digest.
    pub blobs: Vec<(Sha256Digest, PathBuf)>,
    /// Files in the object tree that are not where a digest would put them.
    pub strays: Vec<PathBuf>,
}

/// A blob after [`BlobStore::publish`]: durable under its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The content's SHA-256.
    pub digest: Sha256Digest,
    /// The content's length in bytes.
    pub size: u64,
    /// False when the store already held these bytes (a duplicate).
    pub newly_stored: bool,
}

/// A temp file being written; hashes every byte that passes through.
/// Dropped without [`StagedBlob::finish`], it deletes its temp file.
pub struct StagedBlob {
    file: Option<File>,
    path: PathBuf,
    hasher: StreamHasher,
}

impl StagedBlob {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// True when nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// Ends the stream: the digest and size are now known; the bytes are not yet durable.
    pub fn finish(mut self) -> Result<FinishedBlob, BlobError> {
        let mut file = self.file.take().ok_or_else(|| BlobError {
            action: "finish",
            path: self.path.clone(),
            source: io::Error::other("already finished"),
        })?;
        file.flush().map_err(io_err("write", &self.path))?;
        let (digest, size) = std::mem::take(&mut self.hasher).finish();
        Ok(FinishedBlob {
            digest,
            size,
            temp: std::mem::take(&mut self.path),
            file,
            renamed: false,
        })
    }
}

impl Write for StagedBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob already finished"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Sources at least this large are hashed on a second thread while being copied.
pub const PIPELINE_MIN: u64 = 4 << 20;
/// Read and write size. Larger writes are slower on Linux's page cache here (1 MiB writes
/// measured 4x slower than 256 KiB ones), smaller ones cost more system calls.
const CHUNK: usize = 256 << 10;
/// Buffers in flight between the copying and the hashing thread.
const PIPELINE_BUFFERS: usize = 4;
/// Start write-back after this many new bytes, so the final fsync has little left to do.
const WRITEBACK_EVERY: u64 = 32 << 20;

/// Why [`BlobStore::ingest`] failed: the source could not be read, or the store written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the source failed.
    #[error("reading: {0}")]
    Read(io::Error),
    /// Writing the staged blob failed.
    #[error(transparent)]
    Store(BlobError),
}

fn read_some(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match source.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Asks the kernel to start writing the file's dirty pages now (Linux `sync_file_range`);
/// durability still comes from the fsync in [`BlobStore::publish`].
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is valid for the duration of the call; the call only
        // schedules I/O.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// A fully written temp file with its digest, waiting for [`BlobStore::publish`].
/// Dropped unpublished, it deletes its temp file.
pub struct FinishedBlob {
    /// SHA-256 of the bytes.
    pub digest: Sha256Digest,
    /// Number of bytes.
    pub size: u64,
    temp: PathBuf,
    file: File,
    renamed: bool,
}

impl std::fmt::Debug for FinishedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishedBlob")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish()
    }
}

impl Drop for FinishedBlob {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates a directory readable by its owner only (evidence is sensitive).
pub fn create_private_dir(dir: &Path) -> Result<(), BlobError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => Ok(()),
            Err(e) => Err(io_err("create", dir)(e)),
        }
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir).map_err(io_err("create", dir))
    }
}

/// Creates a new file readable and writable by its owner only; fails if it exists.
pub fn private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// fsync on a directory, so that renames and new entries in it survive a power cut.
pub fn fsync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

/// Flushes the whole file system that holds `path` (Linux `syncfs`): one call instead of an
/// fsync per file when a batch holds many small files.
fn syncfs(path: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = File::open(path)?;
        // SAFETY: the descriptor is valid for the duration of the call.
        let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Err(io::Error::new(io::ErrorKind::Unsupported, "no syncfs"))
    }
}

fn older_than_a_minute(path: &Path) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60)
}

fn remove_stale_sessions(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let lock_path = dir.join("lock");
        let stale = match File::open(&lock_path) {
            Ok(lock) => lock.try_lock().is_ok(),
            // No lock file: either its process died before it finished starting, or it is
            // starting right now. Only an old one is stale.
            Err(e) => e.kind() == io::ErrorKind::NotFound && older_than_a_minute(&dir),
        };
        if stale
            && dir.is_dir()
            && let Err(e) = fs::remove_dir_all(&dir)
        {
            tracing::warn!("could not remove stale temp dir {}: {e}", dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn stage(store: &BlobStore, bytes: &[u8]) -> FinishedBlob {
        let mut s = store.stage().expect("stage");
        s.write_all(bytes).expect("write");
        s.finish().expect("finish")
    }

    #[test]
    fn ingest_hashes_the_same_on_both_paths_and_reports_read_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        // Not a multiple of the chunk size, larger than the pipeline threshold.
        let bytes: Vec<u8> = (0..(PIPELINE_MIN as usize * 2 + 12_345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for hint in [0, bytes.len() as u64] {
            let mut seen = 0u64;
            let blob = store
                .ingest(&mut bytes.as_slice(), hint, &mut |n| seen += n)
                .expect("ingest");
            assert_eq!(blob.digest, Sha256Digest::of(&bytes), "size hint {hint}");
            assert_eq!((blob.size, seen), (bytes.len() as u64, bytes.len() as u64));
        }
        struct Failing(u64);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk went away"));
                }
                let n = buf.len().min(self.0 as usize);
                self.0 -= n as u64;
                Ok(n)
            }
        }
        for hint in [0, 1 << 30] {
            let got = store.ingest(&mut Failing(PIPELINE_MIN * 3), hint, &mut |_| {});
            assert!(matches!(got, Err(IngestError::Read(_))), "size hint {hint}");
        }
    }

    #[test]
    fn publish_places_bytes_at_their_digest_and_dedupes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let a = stage(&store, b"hello");
        let b = stage(&store, b"hello");
        let c = stage(&store, b"");
        let published = store.publish(vec![a, b, c]).expect("publish");
        assert_eq!(published[0].digest, Sha256Digest::of(b"hello"));
        assert!(published[0].newly_stored);
        assert!(!published[1].newly_stored, "identical bytes are one blob");
        assert_eq!(published[2].size, 0);
        let mut read = String::new();
        store
            .open_blob(&published[0].digest)
            .expect("open blob")
            .read_to_string(&mut read)
            .expect("read");
        assert_eq!(read, "hello");
        let listing = store.list().expect("list");
        assert_eq!(listing.blobs.len(), 2);
        assert!(listing.strays.is_empty());
        // no temp files remain in the session
        let leftovers: Vec<_> = fs::read_dir(store.session().expect("session"))
            .expect("read session")
            .flatten()
            .filter(|e| e.file_name() != "lock")
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn abandoned_blobs_leave_no_temp_files_and_stale_sessions_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = BlobStore::open(dir.path()).expect("open");
            let mut s = store.stage().expect("stage");
            s.write_all(b"partial").expect("write");
            std::mem::forget(s); // as if the process died mid-write
        }
        let stale_sessions = fs::read_dir(dir.path().join("tmp")).expect("tmp").count();
        assert_eq!(stale_sessions, 1);
        let store = BlobStore::open(dir.path()).expect("reopen");
        let sessions: Vec<_> = fs::read_dir(dir.path().join("tmp"))
            .expect("tmp")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(
            sessions,
            vec![store.session().expect("session").to_path_buf()]
        );
    }

    #[test]
    fn listing_reports_misplaced_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let p = store.publish(vec![stage(&store, b"x")]).expect("publish");
        let wrong = dir.path().join("sha256").join("zz");
        fs::write(&wrong, b"?").expect("write stray");
        let listing = store.list().expect("list");
        assert_eq!(listing.blobs.len(), 1);
        assert_eq!(listing.blobs[0].0, p[0].digest);
        assert_eq!(listing.strays, vec![wrong]);
    }
}
