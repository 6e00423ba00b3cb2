//! Where each part of a store lives inside its directory.

use std::path::{Path, PathBuf};

/// The paths of one store. Creating the directories is the caller's job (`vigil init`).
///
/// ```text
/// STORE/
///   config.toml      settings (limits, external tools)
///   catalog.sqlite   the catalog (plus -wal and -shm while open)
///   blobs/           content-addressed bytes (see `BlobStore`)
///   log/             transparency-log tiles and the latest checkpoint (see `LogDir`)
///   log.key          the log's Ed25519 signing key (owner-only)
/// ```
#[derive(Debug, Clone)]
pub struct StoreLayout {
    root: PathBuf,
}

impl StoreLayout {
    /// The layout of the store rooted at `root`.
    pub fn new(root: &Path) -> Self {
        StoreLayout {
            root: root.to_path_buf(),
        }
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings file.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The SQLite catalog.
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.sqlite")
    }

    /// The blob directory.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// The transparency log's public files.
    pub fn log(&self) -> PathBuf {
        self.root.join("log")
    }

    /// The log's signing key (C2SP signed-note private key string).
    pub fn log_key(&self) -> PathBuf {
        self.root.join("log.key")
    }

    /// Derived indexes (the near-duplicate hash index): rebuildable from the catalog, never
    /// evidence themselves.
    pub fn indexes(&self) -> PathBuf {
        self.root.join("index")
    }

    /// The near-duplicate index's snapshot of the catalog's PDQ hashes.
    pub fn pdq_index(&self) -> PathBuf {
        self.indexes().join("pdq.vhix")
    }

    /// True when a store has been initialised here.
    pub fn exists(&self) -> bool {
        self.catalog().is_file() && self.config().is_file()
    }
}
