//! Opening and creating a store: its directory, settings, blobs and catalog together.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigil_store::{BlobStore, Catalog, StoreLayout, create_private_dir};

use crate::CoreError;
use crate::config::{CONFIG_TEMPLATE, Config};
use crate::log::{Log, default_origin};

/// Where the store directory came from, so `vigil init` can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOrigin {
    /// `--store DIR` or the `VIGIL_STORE` environment variable.
    Given,
    /// The platform's data directory.
    PlatformDefault,
}

/// Picks the store directory: the one given, else the platform data dir (`…/vigil`).
pub fn locate_store(given: Option<&Path>) -> Result<(PathBuf, StoreOrigin), CoreError> {
    if let Some(dir) = given {
        return Ok((dir.to_path_buf(), StoreOrigin::Given));
    }
    dirs::data_dir()
        .map(|d| (d.join("vigil"), StoreOrigin::PlatformDefault))
        .ok_or_else(|| {
            CoreError::Usage(
                "no platform data directory; pass --store DIR or set VIGIL_STORE".into(),
            )
        })
}

/// The names in `dir`, or `None` when there is no such directory.
fn entries_of(dir: &Path) -> Option<HashSet<OsString>> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(entries.flatten().map(|e| e.file_name()).collect())
}

/// Undoes a failed [`Store::init`]: removes `dir` when it did not exist `before`, else
/// whatever was added to it. Best effort: what cannot be removed is logged.
fn remove_added(dir: &Path, before: Option<&HashSet<OsString>>) {
    let Some(before) = before else {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(
                "could not remove the half-made store {}: {e}",
                dir.display()
            );
        }
        return;
    };
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if before.contains(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if let Err(e) = removed {
            tracing::warn!(
                "could not remove {} of a half-made store: {e}",
                path.display()
            );
        }
    }
}

/// An open store.
pub struct Store {
    /// Paths.
    pub layout: StoreLayout,
    /// Effective settings from `config.toml`.
    pub config: Config,
    /// The catalog.
    pub catalog: Catalog,
    blobs: Option<Arc<BlobStore>>,
    log: Option<Arc<Log>>,
    /// Leaves and checkpoints the log had when the store was opened: a log with history never
    /// gets a new key in place of a missing one.
    log_history: u64,
    /// Opened to check, not to change ([`Store::open_read_only`]).
    read_only: bool,
}

impl Store {
    /// Creates a store at `dir` (owner-only permissions) with a new log key for `log_origin`
    /// (default: this host and a random id), and signs the empty log's first checkpoint.
    /// Returns `false` in the second field when one already existed there, which is then left
    /// untouched.
    ///
    /// A store that cannot be made whole (a full disk, most often) is removed again: what
    /// this call added to `dir` (or `dir` itself, when it made it) is deleted before the
    /// error returns, so no half-made store is left for the next `vigil init` to take for
    /// one.
    pub async fn init(dir: &Path, log_origin: Option<&str>) -> Result<(Store, bool), CoreError> {
        let layout = StoreLayout::new(dir);
        if layout.exists() {
            return Ok((Store::open(dir).await?, false));
        }
        let before = entries_of(dir);
        match Store::create(dir, layout, log_origin).await {
            Ok(store) => Ok((store, true)),
            Err(e) => {
                remove_added(dir, before.as_ref());
                Err(e)
            }
        }
    }

    async fn create(
        dir: &Path,
        layout: StoreLayout,
        log_origin: Option<&str>,
    ) -> Result<Store, CoreError> {
        create_private_dir(dir)?;
        if !layout.config().exists() {
            let path = layout.config();
            let mut f = vigil_store::private_file(&path).map_err(|e| CoreError::Io {
                path: path.clone(),
                source: e,
            })?;
            std::io::Write::write_all(&mut f, CONFIG_TEMPLATE.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| CoreError::Io { path, source: e })?;
        }
        BlobStore::open(&layout.blobs())?;
        let origin = match log_origin {
            Some(o) => o.to_owned(),
            None => default_origin()?,
        };
        Log::create_key(&layout, &origin)?;
        let catalog = Catalog::open_sqlite(&layout.catalog(), true).await?;
        let mut store = Store {
            config: Config::default(),
            layout,
            catalog,
            blobs: None,
            log: None,
            log_history: 0,
            read_only: false,
        };
        let signed = async {
            vigil_store::fsync_dir(dir)?;
            store.config = Config::load(&store.layout.config())?;
            store.log()?.publish(&store.catalog).await?;
            Ok::<_, CoreError>(())
        }
        .await;
        if let Err(e) = signed {
            // Closed before its files are removed.
            store.catalog.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// Opens an existing store.
    pub async fn open(dir: &Path) -> Result<Store, CoreError> {
        let layout = StoreLayout::new(dir);
        if !layout.exists() {
            return Err(CoreError::NoStore(dir.to_path_buf()));
        }
        let config = Config::load(&layout.config())?;
        let catalog = Catalog::open_sqlite(&layout.catalog(), false).await?;
        Store::opened(layout, config, catalog, false).await
    }

    /// Opens an existing store to check it: the catalog read-only (no migration, no write),
    /// the blob directory without a staging session, and no key made for the log. What
    /// `vigil verify` uses, so checking a store never changes it.
    pub async fn open_read_only(dir: &Path) -> Result<Store, CoreError> {
        let layout = StoreLayout::new(dir);
        if !layout.exists() {
            return Err(CoreError::NoStore(dir.to_path_buf()));
        }
        let config = Config::load(&layout.config())?;
        let catalog = Catalog::open_sqlite_read_only(&layout.catalog()).await?;
        Store::opened(layout, config, catalog, true).await
    }

    async fn opened(
        layout: StoreLayout,
        config: Config,
        catalog: Catalog,
        read_only: bool,
    ) -> Result<Store, CoreError> {
        let log_history = catalog.log_size().await?.max(
            catalog
                .latest_checkpoint()
                .await?
                .map_or(0, |c| c.tree_size),
        );
        Ok(Store {
            layout,
            config,
            catalog,
            blobs: None,
            log: None,
            log_history,
            read_only,
        })
    }

    /// The transparency log, opened on first use.
    pub fn log(&mut self) -> Result<Arc<Log>, CoreError> {
        match &self.log {
            Some(l) => Ok(l.clone()),
            None => {
                let l = Arc::new(Log::open(
                    &self.layout,
                    &self.config.log,
                    self.log_history,
                    !self.read_only,
                )?);
                self.log = Some(l.clone());
                Ok(l)
            }
        }
    }

    /// The blob store, opened on first use (this starts a staging session).
    pub fn blobs(&mut self) -> Result<Arc<BlobStore>, CoreError> {
        match &self.blobs {
            Some(b) => Ok(b.clone()),
            None => {
                let b = Arc::new(if self.read_only {
                    BlobStore::open_read_only(&self.layout.blobs())?
                } else {
                    BlobStore::open(&self.layout.blobs())?
                });
                self.blobs = Some(b.clone());
                Ok(b)
            }
        }
    }
}
