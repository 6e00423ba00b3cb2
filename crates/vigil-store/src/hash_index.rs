//! The near-duplicate index on disk: a snapshot of perceptual hashes in `vigil-phash`'s file
//! form, memory-mapped when opened so that ten million hashes are searchable at once, without
//! reading 400 MB first.
//!
//! The snapshot is derived data: the catalog holds every hash, and a lost or damaged snapshot is
//! rebuilt from it. Snapshots are replaced whole (written beside, flushed, renamed), so a map
//! that a running search holds keeps its file, and a crash leaves the old snapshot or the new
//! one, never a mix.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigil_phash::{HashIndex, IndexError};

/// Why a snapshot could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexFileError {
    /// Reading, writing or renaming the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a valid snapshot (rebuild it from the catalog).
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: IndexError,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IndexFileError + '_ {
    move |source| IndexFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a snapshot by mapping it into memory. `Ok(None)` when there is no file.
pub fn open_hash_index(path: &Path) -> Result<Option<HashIndex>, IndexFileError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let len = file.metadata().map_err(io_error(path))?.len();
    let index = if len == 0 {
        // An empty file cannot be mapped; it is not an index either.
        HashIndex::from_shared_bytes(Arc::new(Vec::new()))
    } else {
        // SAFETY: snapshots are never modified in place, only replaced by rename, so the
        // mapped bytes do not change while the map lives (unless someone edits the store's
        // files by hand, which the index's checks cannot detect but cannot crash on either:
        // every offset it reads was bounds-checked against the mapped length).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error(path))?;
        HashIndex::from_shared_bytes(Arc::new(map))
    };
    index.map(Some).map_err(|source| IndexFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `index` as the snapshot at `path`, replacing any previous one atomically.
pub fn save_hash_index(index: &HashIndex, path: &Path) -> Result<(), IndexFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        index.write_to(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io_error(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_phash::{PdqHash, SearchOptions};

    #[test]
    fn snapshot_round_trip_and_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index/pdq.vhix");
        assert!(open_hash_index(&path).expect("no file").is_none());
        let mut index = HashIndex::new();
        for i in 0..100u8 {
            index.add(u64::from(i), &PdqHash([i; 32]));
        }
        save_hash_index(&index, &path).expect("save");
        let opened = open_hash_index(&path).expect("open").expect("present");
        assert_eq!(opened.len(), 100);
        let found = opened.search(&PdqHash([7; 32]), &SearchOptions::default());
        assert_eq!(found.first().map(|m| (m.id, m.distance)), Some((7, 0)));
        // Replaced while the old one is mapped: both stay readable.
        index.add(100, &PdqHash([1; 32]));
        save_hash_index(&index, &path).expect("save again");
        assert_eq!(opened.len(), 100);
        assert_eq!(
            open_hash_index(&path).expect("open").map(|i| i.len()),
            Some(101)
        );
        // A damaged snapshot is reported, never trusted.
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("truncate");
        assert!(matches!(
            open_hash_index(&path),
            Err(IndexFileError::Invalid { .. })
        ));
        std::fs::write(&path, b"").expect("empty");
        assert!(matches!(
            open_hash_index(&path),
            Err(IndexFileError::Invalid { .. })
        ));
    }
}
