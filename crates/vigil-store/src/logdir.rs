//! Where the transparency log's public files live: C2SP tlog-tiles hash tiles and the latest
//! signed checkpoint, laid out so the directory can be served as static files.
//!
//! ```text
//! STORE/log/
//!   checkpoint          the latest signed checkpoint (C2SP tlog-checkpoint, a signed note)
//!   tile/<L>/<N>[.p/<W>] hash tiles (C2SP tlog-tiles)
//!   lock                held by the one process that is extending the log
//! ```
//!
//! Every write is temp file → fsync → rename → fsync directory, so a crash leaves either the
//! old or the new file, never a torn one. A tile's bytes are fixed by its name (full tiles
//! never change; a partial tile of another width has another name), so rewriting a tile after a
//! crash writes the same bytes again.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use vigil_tlog::{SourceError, Tile, TileReader};

use crate::blob::{BlobError, create_private_dir, fsync_dir, io_err};

/// The log directory of a store.
#[derive(Debug, Clone)]
pub struct LogDir {
    root: PathBuf,
}

/// What `log/checkpoints` holds ([`LogDir::journaled_checkpoints`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckpointJournal {
    /// Each published checkpoint as (tree size, signed note), oldest first.
    pub checkpoints: Vec<(u64, String)>,
    /// Numbers (from 1) of lines that are not a journaled checkpoint.
    pub unreadable_lines: Vec<usize>,
}

/// Held while one process extends the log (the single sequencer); released on drop.
#[derive(Debug)]
pub struct SequencerLock {
    _file: File,
}

impl LogDir {
    /// Opens (creating, owner-only) the log directory at `root`.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        create_private_dir(&root.join("tile"))?;
        Ok(LogDir {
            root: root.to_path_buf(),
        })
    }

    /// The log directory at `root` as it is, creating nothing (for checking a store
    /// read-only; a missing tile reads as an error where it is needed).
    pub fn existing(root: &Path) -> Self {
        LogDir {
            root: root.to_path_buf(),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Waits for, then holds, the sequencer lock.
    pub fn lock(&self) -> Result<SequencerLock, BlobError> {
        let path = self.root.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        file.lock().map_err(io_err("lock", &path))?;
        Ok(SequencerLock { _file: file })
    }

    /// Where a tile lives.
    pub fn tile_path(&self, tile: &Tile) -> PathBuf {
        self.root.join(tile.path())
    }

    /// Writes tiles durably; a tile already present with the same bytes is left alone.
    pub fn write_tiles(&self, tiles: &[(Tile, Vec<u8>)]) -> Result<(), BlobError> {
        let mut dirs = BTreeSet::new();
        for (tile, bytes) in tiles {
            let path = self.tile_path(tile);
            if fs::read(&path).is_ok_and(|old| &old == bytes) {
                continue;
            }
            let dir = path.parent().unwrap_or(&self.root).to_path_buf();
            if !dir.is_dir() {
                create_private_dir(&dir)?;
                // The new directory's own entry must survive too.
                if let Some(parent) = dir.parent() {
                    dirs.insert(parent.to_path_buf());
                }
            }
            write_file(&path, bytes, false)?;
            dirs.insert(dir);
        }
        for dir in dirs {
            fsync_dir(&dir)?;
        }
        Ok(())
    }

    /// Removes tiles that no tree the log publishes needs any more (superseded partial tiles).
    /// Best effort: a tile left behind is harmless.
    pub fn remove_tiles(&self, tiles: &[Tile]) {
        for tile in tiles {
            let _ = fs::remove_file(self.tile_path(tile));
        }
    }

    /// Replaces the published checkpoint, atomically and durably.
    pub fn write_checkpoint(&self, signed_note: &str) -> Result<(), BlobError> {
        write_file(&self.root.join("checkpoint"), signed_note.as_bytes(), true)?;
        fsync_dir(&self.root)
    }

    /// Appends a signed checkpoint to the journal of every checkpoint ever published
    /// (`log/checkpoints`, one line each: tree size, space, the note in hex), durably.
    /// The catalog's checkpoint rows can be deleted and the tree re-signed; the journal is a
    /// second record `vigil verify` compares them with, so a vanished checkpoint or a history
    /// that does not extend a published one is named (witnesses are the record no one with
    /// access to this machine can rewrite).
    pub fn journal_checkpoint(&self, tree_size: u64, signed_note: &str) -> Result<(), BlobError> {
        let path = self.root.join("checkpoints");
        let line = format!("{tree_size} {}\n", hex::encode(signed_note));
        let mut file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        file.write_all(line.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(io_err("append to", &path))?;
        fsync_dir(&self.root)
    }

    /// Every journaled checkpoint, oldest first; lines that do not read as one are returned
    /// apart by number, for `vigil verify` to report.
    pub fn journaled_checkpoints(&self) -> Result<CheckpointJournal, BlobError> {
        let path = self.root.join("checkpoints");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(CheckpointJournal::default());
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let mut journal = CheckpointJournal::default();
        for (n, line) in text.lines().enumerate() {
            let parsed = line.split_once(' ').and_then(|(size, note)| {
                let size = size.parse().ok()?;
                let note = hex::decode(note).ok()?;
                Some((size, String::from_utf8(note).ok()?))
            });
            match parsed {
                Some(entry) => journal.checkpoints.push(entry),
                None => journal.unreadable_lines.push(n + 1),
            }
        }
        Ok(journal)
    }

    /// The published checkpoint, if any.
    pub fn read_checkpoint(&self) -> Result<Option<String>, BlobError> {
        let path = self.root.join("checkpoint");
        match fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", &path)(e)),
        }
    }
}

/// temp → fsync → rename. `public` files are world-readable (they are meant to be served).
fn write_file(path: &Path, bytes: &[u8], public: bool) -> Result<(), BlobError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if public { 0o644 } else { 0o600 });
    }
    let mut f = opts.open(&temp).map_err(io_err("create", &temp))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io_err("write", &temp))?;
    drop(f);
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_err("rename", path)(e)
    })
}

impl TileReader for LogDir {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, SourceError> {
        let path = self.tile_path(tile);
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(SourceError::Missing(format!("tile {}", path.display())))
            }
            Err(e) => Err(SourceError::Other(Box::new(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_tlog::{TileNodes, build_tiles, inclusion_proof, leaf_hash, verify_inclusion};

    #[test]
    fn tiles_written_and_read_back_serve_proofs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = LogDir::open(&dir.path().join("log")).expect("open");
        let _lock = log.lock().expect("lock");
        let leaves: Vec<_> = (0u32..600).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let first = build_tiles(0, &leaves[..300], &log).expect("build");
        log.write_tiles(&first.tiles).expect("write");
        let second = build_tiles(300, &leaves[300..], &log).expect("build");
        log.write_tiles(&second.tiles).expect("write");
        // Writing the same tiles again (as after a crash) changes nothing.
        log.write_tiles(&second.tiles).expect("rewrite");
        let proof = inclusion_proof(450, 600, &TileNodes::new(&log, 600)).expect("proof");
        verify_inclusion(&leaves[450], 450, 600, &proof, &second.root).expect("verifies");
        assert!(log.read_checkpoint().expect("read").is_none());
        log.write_checkpoint("note\n").expect("write checkpoint");
        assert_eq!(
            log.read_checkpoint().expect("read").as_deref(),
            Some("note\n")
        );
    }
}
