//! The catalog: which items exist, which captures collected them, and how.
//!
//! SQLite (WAL, `synchronous=FULL`) through `sqlx`, so the same SQL layer can later serve
//! PostgreSQL. Rows are only inserted; a capture, its item links and its transparency-log leaf
//! are written in one transaction by [`Catalog::commit_captures`], after their blobs are
//! durable, so a capture exists exactly when its leaf does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use vigil_tlog::{Hash, leaf_hash};

use crate::digest::Sha256Digest;
use crate::leaf::encode_capture_leaf;

/// Errors from the catalog database.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database could not be opened, read or written.
    #[error("catalog database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("catalog schema migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The disk holding the catalog file is full (SQLite's `SQLITE_FULL`): the write was
    /// rolled back whole, so nothing of it is in the catalog.
    #[error(
        "{}: the disk is full; the write was rolled back and nothing of it is in the catalog \
         (free space, then run again)",
        path.display()
    )]
    DiskFull {
        /// The catalog file.
        path: PathBuf,
    },
    /// A row holds something this version cannot read (hand-edited or corrupt).
    #[error("catalog row {table}[{key}] is malformed: {problem}")]
    Malformed {
        /// Table of the row.
        table: &'static str,
        /// Its key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The one-time logging of a store made before the log was asked for a store whose log
    /// has begun: a capture without a leaf is then not Vigil's, and is never logged.
    #[error(
        "the transparency log already holds {leaves} leaves: captures without a leaf are \
         reported by `vigil verify`, never logged (only a store made before the log is upgraded)"
    )]
    LogStarted {
        /// Leaves in the log.
        leaves: u64,
    },
    /// The store was made before the transparency log and its captures are not logged yet:
    /// nothing new is committed until `vigil upgrade` logs them, once.
    #[error(
        "this store was made before the transparency log: its {captures} captures are not \
         logged yet; run `vigil upgrade` once to log them"
    )]
    PredatesLog {
        /// Captures waiting for their leaves.
        captures: u64,
    },
    /// The catalog was opened read-only and its schema is older than this version's.
    #[error(
        "the catalog's schema is older than this version of Vigil (migration {0} is not applied): \
         run any other vigil command on the store once to bring it up to date, then check it"
    )]
    Outdated(i64),
}

impl CatalogError {
    /// A stable code for scripts and the API.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Database(_) => "database",
            CatalogError::Migrate(_) => "migration",
            CatalogError::Malformed { .. } => "malformed",
            CatalogError::LogStarted { .. } => "log-started",
            CatalogError::PredatesLog { .. } => "predates-log",
            CatalogError::Outdated(_) => "outdated-schema",
            CatalogError::DiskFull { .. } => "disk-full",
        }
    }
}

/// `e` as [`CatalogError::DiskFull`] of `path` when SQLite (or the file system under it)
/// said the disk is full; else `e` unchanged.
fn disk_full_at(path: &Path, e: CatalogError) -> CatalogError {
    let sql = match &e {
        CatalogError::Database(e) => e,
        CatalogError::Migrate(
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
        ) => e,
        _ => return e,
    };
    let full = match sql {
        // SQLITE_FULL is 13; extended codes keep the primary code in the low byte. An I/O
        // error (10) is the disk being full when the file system says so: SQLite reports a
        // write-ahead index it cannot grow (SQLITE_IOERR_SHMSIZE) that way.
        sqlx::Error::Database(d) => match d.code().and_then(|c| c.parse::<i64>().ok()) {
            Some(c) if c & 0xff == 13 => true,
            Some(c) if c & 0xff == 10 => almost_no_space(path),
            _ => false,
        },
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    };
    if full {
        CatalogError::DiskFull {
            path: path.to_path_buf(),
        }
    } else {
        e
    }
}

/// Whether the file system holding `path` has less than 64 KiB left for us.
fn almost_no_space(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let Ok(dir) = std::ffi::CString::new(dir.unwrap_or(Path::new(".")).as_os_str().as_bytes())
        else {
            return false;
        };
        // SAFETY: `dir` is a NUL-terminated path and `st` a properly sized, zeroed buffer
        // that statvfs(3) fills in; nothing is retained after the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(dir.as_ptr(), &mut st) } != 0 {
            return false;
        }
        #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
        let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
        free < 64 << 10
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Whether a capture got what it went for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureStatus {
    /// Every byte the source offered was stored.
    Ok,
    /// The source could not be captured (or only partly); `error` says why.
    Failed,
}

impl CaptureStatus {
    /// The word stored in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureStatus::Ok => "ok",
            CaptureStatus::Failed => "failed",
        }
    }
}

impl FromStr for CaptureStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(CaptureStatus::Ok),
            "failed" => Ok(CaptureStatus::Failed),
            other => Err(format!("unknown capture status {other:?} (ok, failed)")),
        }
    }
}

/// A machine-readable code and a human explanation of why a capture failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureFailure {
    /// Stable code, e.g. `http-status`, `ssrf-refused`, `timeout`, `too-large`.
    pub code: String,
    /// What happened, for a person.
    pub message: String,
}

/// One item as it belongs to a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureItem {
    /// The item's id.
    #[serde(with = "digest_hex")]
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// What it is to the capture: `file`, `body`, `tls-chain`, `media`, `info-json`, ...
    pub role: String,
    /// The name the source gave it (a relative path, a URL file name). Display only.
    pub name: Option<String>,
}

/// Everything recorded about one act of collection of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// Identifies the `vigil capture` run this capture belonged to.
    pub run_id: String,
    /// The source exactly as given (path or URL).
    pub source: String,
    /// `file` or `url`.
    pub kind: String,
    /// How it was collected: `file`, `http`, `yt-dlp`.
    pub method: String,
    /// Outcome.
    pub status: CaptureStatus,
    /// Why it failed, when it did.
    pub failure: Option<CaptureFailure>,
    /// Who collected it.
    pub collector: String,
    /// When, by our clock: RFC 3339, UTC.
    pub captured_at: String,
    /// Version of Vigil that collected it.
    pub vigil_version: String,
    /// External tools used, name to version.
    pub tools: BTreeMap<String, String>,
    /// Free-text note from the collector.
    pub note: Option<String>,
    /// Collector's tags.
    pub tags: Vec<String>,
    /// Method-specific context (HTTP hops and headers, file metadata, ...).
    pub details: serde_json::Value,
    /// The items collected, in the order the source produced them.
    pub items: Vec<CaptureItem>,
}

impl CaptureRecord {
    /// The name this capture gave `item` (a file name, a post's media name), if any.
    pub fn name_of(&self, item: &Sha256Digest) -> Option<String> {
        self.items
            .iter()
            .find(|i| i.sha256 == *item)
            .and_then(|i| i.name.clone())
    }
}

/// A capture as stored, with its catalog id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCapture {
    /// Catalog id, increasing in commit order.
    pub id: i64,
    /// The record.
    #[serde(flatten)]
    pub record: CaptureRecord,
}

/// One row of the items table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The item's id.
    #[serde(with = "digest_hex")]
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
    /// When it was first captured.
    pub first_captured_at: String,
}

/// A row of `items` whose key is not a digest (reported by verification, never fatal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedRow {
    /// Table.
    pub table: &'static str,
    /// Key as stored.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Which captures [`Catalog::list_captures`] returns.
#[derive(Debug, Clone, Default)]
pub struct CaptureFilter {
    /// Captured at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Captured before this RFC 3339 time.
    pub until: Option<String>,
    /// Source contains this text.
    pub source_contains: Option<String>,
    /// Only this status.
    pub status: Option<CaptureStatus>,
    /// At most this many, newest first.
    pub limit: Option<i64>,
}

/// A reference from `capture_items` to an item row that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DanglingLink {
    /// The capture.
    pub capture_id: i64,
    /// Position within it.
    pub position: i64,
    /// The digest text it names.
    pub sha256: String,
}

/// One leaf of the transparency log as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLeaf {
    /// Position in the tree.
    pub index: u64,
    /// What it records: a capture, a derivation or a log event.
    pub subject: LeafSubject,
    /// The canonical record (see [`crate::encode_capture_leaf`],
    /// [`crate::encode_derivation_leaf`]).
    pub leaf: Vec<u8>,
    /// Its RFC 9162 leaf hash.
    pub leaf_hash: Hash,
}

/// What a log leaf records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafSubject {
    /// A capture, by id.
    Capture(i64),
    /// A derivation (pictures Vigil made from an item), by id.
    Derivation(i64),
    /// A log event (an audit anchor, a key rotation, a store upgrade), by id.
    Event(i64),
}

/// A checkpoint the store signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Leaves in the tree it commits to.
    pub tree_size: u64,
    /// The tree's root.
    pub root: Hash,
    /// The signed note exactly as published.
    pub signed_note: String,
    /// When it was signed (RFC 3339, UTC).
    pub signed_at: String,
    /// An RFC 3161 time-stamp response over the signed note, when a TSA was used.
    pub timestamp_token: Option<Vec<u8>>,
}

/// Handle to the catalog database.
#[derive(Clone)]
pub struct Catalog {
    pool: SqlitePool,
    /// The database file, for errors that must name it.
    path: Arc<PathBuf>,
}

impl Catalog {
    /// Opens the SQLite catalog at `path`, creating it when `create` is set, and applies
    /// pending migrations.
    pub async fn open_sqlite(path: &Path, create: bool) -> Result<Self, CatalogError> {
        let named = |e: CatalogError| disk_full_at(path, e);
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| named(e.into()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| named(e.into()))?;
        Ok(Catalog {
            pool,
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// Opens the SQLite catalog at `path` to read only: no migration runs and nothing is
    /// written, so checking a store never changes it. A catalog whose schema is older than
    /// this version's is refused ([`CatalogError::Outdated`]).
    pub async fn open_sqlite_read_only(path: &Path) -> Result<Self, CatalogError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&pool)
                .await
                .unwrap_or_default();
        let migrator = sqlx::migrate!("./migrations/sqlite");
        if let Some(m) = migrator.iter().find(|m| !applied.contains(&m.version)) {
            pool.close().await;
            return Err(CatalogError::Outdated(m.version));
        }
        Ok(Catalog {
            pool,
            path: Arc::new(path.to_path_buf()),
        })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// `e`, or [`CatalogError::DiskFull`] naming this catalog's file when that is what it is.
    pub(crate) fn named(&self, e: CatalogError) -> CatalogError {
        disk_full_at(&self.path, e)
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes captures, their items, links and log leaves in one transaction; returns their
    /// new ids in order. The caller must have published every referenced blob first.
    ///
    /// Rows go in as multi-row statements (one round trip per few hundred rows, not per row):
    /// capture ids are assigned here, after the write lock is taken, from the table's
    /// AUTOINCREMENT counter, and leaf indices likewise follow the log's end.
    pub async fn commit_captures(
        &self,
        captures: &[CaptureRecord],
    ) -> Result<Vec<i64>, CatalogError> {
        self.write_captures(captures)
            .await
            .map_err(|e| self.named(e))
    }

    async fn write_captures(&self, captures: &[CaptureRecord]) -> Result<Vec<i64>, CatalogError> {
        if captures.is_empty() {
            return Ok(Vec::new());
        }
        // BEGIN IMMEDIATE takes SQLite's write lock at once: from here the counters are ours.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last_id: i64 = sqlx::query_scalar(
            "SELECT max(coalesce((SELECT max(id) FROM captures), 0),
                        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'captures'), 0))",
        )
        .fetch_one(&mut *tx)
        .await?;
        let first_leaf: i64 =
            sqlx::query_scalar("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves")
                .fetch_one(&mut *tx)
                .await?;
        if first_leaf == 0 {
            // An empty log beside captures: a store from before the log, upgraded explicitly.
            let held: i64 = sqlx::query_scalar("SELECT count(*) FROM captures")
                .fetch_one(&mut *tx)
                .await?;
            if held > 0 {
                return Err(CatalogError::PredatesLog {
                    captures: held as u64,
                });
            }
        }
        let ids: Vec<i64> = (1..=captures.len() as i64).map(|n| last_id + n).collect();
        const ROWS: usize = 500;
        for (chunk_no, chunk) in captures.chunks(ROWS).enumerate() {
            let base = chunk_no * ROWS;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO captures (id, run_id, source, kind, method, status, error_code, error,
                     collector, captured_at, vigil_version, tools, note, tags, details) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut row, (n, c)| {
                row.push_bind(ids[base + n])
                    .push_bind(c.run_id.clone())
                    .push_bind(c.source.clone())
                    .push_bind(c.kind.clone())
                    .push_bind(c.method.clone())
                    .push_bind(c.status.as_str())
                    .push_bind(c.failure.as_ref().map(|f| f.code.clone()))
                    .push_bind(c.failure.as_ref().map(|f| f.message.clone()))
                    .push_bind(c.collector.clone())
                    .push_bind(c.captured_at.clone())
                    .push_bind(c.vigil_version.clone())
                    .push_bind(to_json(&c.tools))
                    .push_bind(c.note.clone())
                    .push_bind(to_json(&c.tags))
                    .push_bind(c.details.to_string());
            });
            q.build().execute(&mut *tx).await?;
        }
        // Items (first capture wins `first_captured_at`), links and leaves.
        let mut links = Vec::new();
        for (n, c) in captures.iter().enumerate() {
            for (position, item) in c.items.iter().enumerate() {
                links.push((ids[n], position as i64, item, c.captured_at.as_str()));
            }
        }
        for chunk in links.chunks(ROWS) {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO items (sha256, size, first_captured_at) ");
            q.push_values(chunk, |mut row, (_, _, item, at)| {
                row.push_bind(item.sha256.to_hex())
                    .push_bind(item.size as i64)
                    .push_bind(at.to_string());
            });
            q.push(" ON CONFLICT (sha256) DO NOTHING");
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO capture_items (capture_id, position, sha256, role, name) ",
            );
            q.push_values(chunk, |mut row, (id, position, item, _)| {
                row.push_bind(*id)
                    .push_bind(*position)
                    .push_bind(item.sha256.to_hex())
                    .push_bind(item.role.clone())
                    .push_bind(item.name.clone());
            });
            q.build().execute(&mut *tx).await?;
        }
        let leaves: Vec<(i64, i64, Vec<u8>)> = captures
            .iter()
            .enumerate()
            .map(|(n, c)| {
                (
                    first_leaf + n as i64,
                    ids[n],
                    encode_capture_leaf(ids[n], c),
                )
            })
            .collect();
        for chunk in leaves.chunks(ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO log_leaves (leaf_index, capture_id, leaf, leaf_hash) ",
            );
            q.push_values(chunk, |mut row, (index, id, leaf)| {
                row.push_bind(*index)
                    .push_bind(*id)
                    .push_bind(leaf.clone())
                    .push_bind(leaf_hash(leaf).0.to_vec());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Which of `digests` the catalog already holds (one query for a whole batch).
    pub async fn items_held(
        &self,
        digests: &[Sha256Digest],
    ) -> Result<std::collections::HashSet<Sha256Digest>, CatalogError> {
        let mut held = std::collections::HashSet::new();
        for chunk in digests.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT sha256 FROM items WHERE sha256 IN (");
            let mut list = q.separated(", ");
            for d in chunk {
                list.push_bind(d.to_hex());
            }
            q.push(")");
            let rows: Vec<String> = q.build_query_scalar().fetch_all(&self.pool).await?;
            for r in rows {
                if let Ok(d) = r.parse() {
                    held.insert(d);
                }
            }
        }
        Ok(held)
    }

    /// Captures matching the filter, newest first, with their items.
    pub async fn list_captures(
        &self,
        filter: &CaptureFilter,
    ) -> Result<Vec<StoredCapture>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM captures
             WHERE (?1 IS NULL OR captured_at >= ?1)
               AND (?2 IS NULL OR captured_at < ?2)
               AND (?3 IS NULL OR instr(source, ?3) > 0)
               AND (?4 IS NULL OR status = ?4)
             ORDER BY id DESC LIMIT ?5",
        )
        .bind(&filter.since)
        .bind(&filter.until)
        .bind(&filter.source_contains)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.limit.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        self.hydrate_all(rows).await
    }

    /// One capture by id.
    pub async fn capture(&self, id: i64) -> Result<Option<StoredCapture>, CatalogError> {
        let row = sqlx::query("SELECT * FROM captures WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.hydrate(row).await?)),
            None => Ok(None),
        }
    }

    /// Number of captures.
    pub async fn capture_count(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM captures")
            .fetch_one(&self.pool)
            .await?)
    }

    /// One item by digest.
    pub async fn item(&self, sha256: &Sha256Digest) -> Result<Option<ItemRecord>, CatalogError> {
        let row = sqlx::query("SELECT sha256, size, first_captured_at FROM items WHERE sha256 = ?")
            .bind(sha256.to_hex())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| item_from_row(&r)).transpose()
    }

    /// Items whose id starts with `prefix` (at most `limit`), for short ids typed by people.
    pub async fn items_with_prefix(
        &self,
        prefix: &str,
        limit: i64,
    ) -> Result<Vec<ItemRecord>, CatalogError> {
        let rows = sqlx::query(
            "SELECT sha256, size, first_captured_at FROM items
             WHERE substr(sha256, 1, length(?1)) = ?1 ORDER BY sha256 LIMIT ?2",
        )
        .bind(prefix)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Ids of the captures that include an item, oldest first.
    pub async fn captures_with_item(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT capture_id FROM capture_items WHERE sha256 = ? ORDER BY capture_id",
        )
        .bind(sha256.to_hex())
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of item rows in digest order, after `after` (keyset paging, so verification
    /// of millions of items runs in bounded memory). Malformed keys are returned apart.
    pub async fn items_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<ItemRecord>, Vec<MalformedRow>, Option<String>), CatalogError> {
        let rows = sqlx::query(
            "SELECT sha256, size, first_captured_at FROM items
             WHERE ?1 IS NULL OR sha256 > ?1 ORDER BY sha256 LIMIT ?2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        let mut last = None;
        for row in &rows {
            let key: String = row.try_get("sha256")?;
            match item_from_row(row) {
                Ok(item) => items.push(item),
                Err(CatalogError::Malformed { problem, .. }) => bad.push(MalformedRow {
                    table: "items",
                    key: key.clone(),
                    problem,
                }),
                Err(e) => return Err(e),
            }
            last = Some(key);
        }
        Ok((items, bad, last))
    }

    /// Number of item rows.
    pub async fn item_count(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM items")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Total bytes of all items.
    pub async fn item_bytes(&self) -> Result<i64, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(sum(size), 0) FROM items")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Links from captures to items that have no row in `items`.
    pub async fn dangling_links(&self) -> Result<Vec<DanglingLink>, CatalogError> {
        let rows = sqlx::query(
            "SELECT ci.capture_id, ci.position, ci.sha256 FROM capture_items ci
             LEFT JOIN items i ON i.sha256 = ci.sha256 WHERE i.sha256 IS NULL
             ORDER BY ci.capture_id, ci.position",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DanglingLink {
                    capture_id: r.try_get("capture_id")?,
                    position: r.try_get("position")?,
                    sha256: r.try_get("sha256")?,
                })
            })
            .collect()
    }

    /// A random sample of item digests (for `verify --sample`).
    pub async fn sample_item_keys(&self, n: i64) -> Result<Vec<String>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT sha256 FROM items ORDER BY random() LIMIT ?")
                .bind(n)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Item rows for the given keys (keys as stored, malformed ones reported apart).
    pub async fn items_by_keys(
        &self,
        keys: &[String],
    ) -> Result<(Vec<ItemRecord>, Vec<MalformedRow>), CatalogError> {
        let mut items = Vec::new();
        let mut bad = Vec::new();
        for key in keys {
            let row =
                sqlx::query("SELECT sha256, size, first_captured_at FROM items WHERE sha256 = ?")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(row) = row {
                match item_from_row(&row) {
                    Ok(i) => items.push(i),
                    Err(CatalogError::Malformed { problem, .. }) => bad.push(MalformedRow {
                        table: "items",
                        key: key.clone(),
                        problem,
                    }),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((items, bad))
    }

    /// Number of leaves in the log (committed captures).
    pub async fn log_size(&self) -> Result<u64, CatalogError> {
        let n: i64 = sqlx::query_scalar("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Leaves `from..` in index order, at most `limit`.
    pub async fn log_leaves(&self, from: u64, limit: u64) -> Result<Vec<LogLeaf>, CatalogError> {
        let rows = sqlx::query(
            "SELECT leaf_index, capture_id, derivation_id, event_id, leaf, leaf_hash FROM log_leaves
             WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?",
        )
        .bind(from as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(leaf_from_row).collect()
    }

    /// The leaf hashes of `from..to`, in order (for extending the tree).
    pub async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash>, CatalogError> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT leaf_index, leaf_hash FROM log_leaves
             WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
        )
        .bind(from as i64)
        .bind(to as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (n, (index, hash)) in rows.into_iter().enumerate() {
            let malformed = |problem: String| CatalogError::Malformed {
                table: "log_leaves",
                key: index.to_string(),
                problem,
            };
            if index as u64 != from + n as u64 {
                return Err(malformed(format!("expected leaf {}", from + n as u64)));
            }
            out.push(Hash::from_slice(&hash).map_err(|e| malformed(e.to_string()))?);
        }
        if (out.len() as u64) < to.saturating_sub(from) {
            return Err(CatalogError::Malformed {
                table: "log_leaves",
                key: (from + out.len() as u64).to_string(),
                problem: "leaf missing".into(),
            });
        }
        Ok(out)
    }

    /// The leaf of one capture.
    pub async fn log_leaf_of_capture(
        &self,
        capture_id: i64,
    ) -> Result<Option<LogLeaf>, CatalogError> {
        self.log_leaf_where("capture_id", capture_id).await
    }

    /// The leaf of one derivation.
    pub async fn log_leaf_of_derivation(
        &self,
        derivation_id: i64,
    ) -> Result<Option<LogLeaf>, CatalogError> {
        self.log_leaf_where("derivation_id", derivation_id).await
    }

    /// The leaf whose `column` (`capture_id` or `derivation_id`, never input) is `id`.
    async fn log_leaf_where(
        &self,
        column: &'static str,
        id: i64,
    ) -> Result<Option<LogLeaf>, CatalogError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT leaf_index, capture_id, derivation_id, event_id, leaf, leaf_hash FROM log_leaves
             WHERE {column} = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(leaf_from_row).transpose()
    }

    /// The newest signed checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, CatalogError> {
        let row = sqlx::query("SELECT * FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// Every checkpoint ever signed, smallest tree first.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM log_checkpoints ORDER BY tree_size")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// Records a signed checkpoint. Recording the same one again is a no-op; a different
    /// one for a size already signed is refused (it would contradict the log).
    pub async fn record_checkpoint(&self, c: &StoredCheckpoint) -> Result<(), CatalogError> {
        self.write_checkpoint(c).await.map_err(|e| self.named(e))
    }

    async fn write_checkpoint(&self, c: &StoredCheckpoint) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO log_checkpoints (tree_size, root_hash, signed_note, signed_at, timestamp_token)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(c.tree_size as i64)
        .bind(c.root.0.to_vec())
        .bind(&c.signed_note)
        .bind(&c.signed_at)
        .bind(&c.timestamp_token)
        .execute(&self.pool)
        .await?;
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT root_hash FROM log_checkpoints WHERE tree_size = ?")
                .bind(c.tree_size as i64)
                .fetch_one(&self.pool)
                .await?;
        if stored != c.root.0 {
            return Err(CatalogError::Malformed {
                table: "log_checkpoints",
                key: c.tree_size.to_string(),
                problem: "a checkpoint with another root is already recorded for this size".into(),
            });
        }
        Ok(())
    }

    /// Captures with ids in `after+1..`, in id order, at most `limit` (keyset paging).
    pub async fn captures_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredCapture>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM captures WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        self.hydrate_all(rows).await
    }

    async fn hydrate_all(&self, rows: Vec<SqliteRow>) -> Result<Vec<StoredCapture>, CatalogError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.hydrate(row).await?);
        }
        Ok(out)
    }

    async fn hydrate(&self, row: SqliteRow) -> Result<StoredCapture, CatalogError> {
        let id: i64 = row.try_get("id")?;
        let key = || id.to_string();
        let malformed = |problem: String| CatalogError::Malformed {
            table: "captures",
            key: key(),
            problem,
        };
        let status: String = row.try_get("status")?;
        let status = status.parse().map_err(malformed)?;
        let code: Option<String> = row.try_get("error_code")?;
        let message: Option<String> = row.try_get("error")?;
        let failure = match (code, message) {
            (None, None) => None,
            (code, message) => Some(CaptureFailure {
                code: code.unwrap_or_default(),
                message: message.unwrap_or_default(),
            }),
        };
        let tools: String = row.try_get("tools")?;
        let tags: String = row.try_get("tags")?;
        let details: String = row.try_get("details")?;
        let item_rows = sqlx::query(
            "SELECT ci.sha256, coalesce(i.size, -1) AS size, ci.role, ci.name
             FROM capture_items ci LEFT JOIN items i ON i.sha256 = ci.sha256
             WHERE ci.capture_id = ? ORDER BY ci.position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(item_rows.len());
        for r in item_rows {
            let sha: String = r.try_get("sha256")?;
            let size: i64 = r.try_get("size")?;
            items.push(CaptureItem {
                sha256: sha
                    .parse()
                    .map_err(|e| malformed(format!("item link: {e}")))?,
                size: u64::try_from(size)
                    .map_err(|_| malformed(format!("item {sha} has no row in items")))?,
                role: r.try_get("role")?,
                name: r.try_get("name")?,
            });
        }
        Ok(StoredCapture {
            id,
            record: CaptureRecord {
                run_id: row.try_get("run_id")?,
                source: row.try_get("source")?,
                kind: row.try_get("kind")?,
                method: row.try_get("method")?,
                status,
                failure,
                collector: row.try_get("collector")?,
                captured_at: row.try_get("captured_at")?,
                vigil_version: row.try_get("vigil_version")?,
                tools: serde_json::from_str(&tools)
                    .map_err(|e| malformed(format!("tools: {e}")))?,
                note: row.try_get("note")?,
                tags: serde_json::from_str(&tags).map_err(|e| malformed(format!("tags: {e}")))?,
                details: serde_json::from_str(&details)
                    .map_err(|e| malformed(format!("details: {e}")))?,
                items,
            },
        })
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising maps of strings and string lists cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Appends the capture's leaf at the end of the log, inside the capture's own transaction
/// (the capture row already written holds SQLite's write lock, so the index is ours).
pub(crate) async fn encode_and_insert_capture_leaf(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    record: &CaptureRecord,
) -> Result<(), CatalogError> {
    let leaf = encode_capture_leaf(id, record);
    let hash = leaf_hash(&leaf);
    sqlx::query(
        "INSERT INTO log_leaves (leaf_index, capture_id, leaf, leaf_hash)
         VALUES ((SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves), ?, ?, ?)",
    )
    .bind(id)
    .bind(leaf)
    .bind(hash.0.to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn leaf_from_row(row: &SqliteRow) -> Result<LogLeaf, CatalogError> {
    let index: i64 = row.try_get("leaf_index")?;
    let hash: Vec<u8> = row.try_get("leaf_hash")?;
    let capture: Option<i64> = row.try_get("capture_id")?;
    let derivation: Option<i64> = row.try_get("derivation_id")?;
    let event: Option<i64> = row.try_get("event_id")?;
    let subject = match (capture, derivation, event) {
        (Some(c), None, None) => LeafSubject::Capture(c),
        (None, Some(d), None) => LeafSubject::Derivation(d),
        (None, None, Some(e)) => LeafSubject::Event(e),
        _ => {
            return Err(CatalogError::Malformed {
                table: "log_leaves",
                key: index.to_string(),
                problem: "names not exactly one of a capture, a derivation and a log event".into(),
            });
        }
    };
    Ok(LogLeaf {
        index: index as u64,
        subject,
        leaf: row.try_get("leaf")?,
        leaf_hash: Hash::from_slice(&hash).map_err(|e| CatalogError::Malformed {
            table: "log_leaves",
            key: index.to_string(),
            problem: e.to_string(),
        })?,
    })
}

fn checkpoint_from_row(row: &SqliteRow) -> Result<StoredCheckpoint, CatalogError> {
    let size: i64 = row.try_get("tree_size")?;
    let root: Vec<u8> = row.try_get("root_hash")?;
    Ok(StoredCheckpoint {
        tree_size: size as u64,
        root: Hash::from_slice(&root).map_err(|e| CatalogError::Malformed {
            table: "log_checkpoints",
            key: size.to_string(),
            problem: e.to_string(),
        })?,
        signed_note: row.try_get("signed_note")?,
        signed_at: row.try_get("signed_at")?,
        timestamp_token: row.try_get("timestamp_token")?,
    })
}

pub(crate) fn item_from_row(row: &SqliteRow) -> Result<ItemRecord, CatalogError> {
    let key: String = row.try_get("sha256")?;
    let size: i64 = row.try_get("size")?;
    let malformed = |problem: String| CatalogError::Malformed {
        table: "items",
        key: key.clone(),
        problem,
    };
    Ok(ItemRecord {
        sha256: key.parse().map_err(|e| malformed(format!("{e}")))?,
        size: u64::try_from(size).map_err(|_| malformed(format!("negative size {size}")))?,
        first_captured_at: row.try_get("first_captured_at")?,
    })
}

/// Serde helper: digests as 64 hex digits.
pub mod digest_hex {
    use super::Sha256Digest;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the hex form.
    pub fn serialize<S: Serializer>(d: &Sha256Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_hex())
    }

    /// Reads the hex form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sha256Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: &str, bytes: &[&[u8]]) -> CaptureRecord {
        CaptureRecord {
            run_id: "run-1".into(),
            source: source.into(),
            kind: "file".into(),
            method: "file".into(),
            status: CaptureStatus::Ok,
            failure: None,
            collector: "tester".into(),
            captured_at: "2026-11-25T10:00:00.000000Z".into(),
            vigil_version: "0.1.0".into(),
            tools: BTreeMap::new(),
            note: Some("note".into()),
            tags: vec!["a".into()],
            details: serde_json::json!({"path": source}),
            items: bytes
                .iter()
                .map(|b| CaptureItem {
                    sha256: Sha256Digest::of(b),
                    size: b.len() as u64,
                    role: "file".into(),
                    name: Some("x".into()),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn large_batches_get_consecutive_ids_and_leaves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let first = cat
            .commit_captures(&[record("/first", &[b"x"])])
            .await
            .expect("commit");
        assert_eq!(first, [1]);
        let payloads: Vec<Vec<u8>> = (0..1201u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let batch: Vec<CaptureRecord> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| record(&format!("/f{i}"), &[p.as_slice(), b"x"]))
            .collect();
        let ids = cat.commit_captures(&batch).await.expect("commit");
        assert_eq!(ids, (2..=1202).collect::<Vec<i64>>());
        assert_eq!(cat.log_size().await.expect("size"), 1202);
        assert_eq!(cat.item_count().await.expect("items"), 1202);
        let leaf = cat
            .log_leaf_of_capture(1202)
            .await
            .expect("leaf")
            .expect("some");
        assert_eq!(leaf.index, 1201);
        assert_eq!(
            leaf.leaf,
            crate::encode_capture_leaf(1202, &batch[1200]),
            "the leaf is the canonical record of its own capture"
        );
        let back = cat.capture(700).await.expect("read").expect("some");
        assert_eq!(back.record, batch[698]);
        assert_eq!(cat.leaf_hashes(0, 1202).await.expect("hashes").len(), 1202);
    }

    #[tokio::test]
    async fn captures_round_trip_and_items_dedupe() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let a = record("/a", &[b"one", b"two"]);
        let b = record("/b", &[b"one"]);
        let ids = cat.commit_captures(&[a.clone(), b]).await.expect("commit");
        assert_eq!(ids.len(), 2);
        assert_eq!(cat.item_count().await.expect("count"), 2);
        let got = cat.capture(ids[0]).await.expect("get").expect("present");
        assert_eq!(got.record, a);
        let with_one = cat
            .captures_with_item(&Sha256Digest::of(b"one"))
            .await
            .expect("with");
        assert_eq!(with_one, ids);
        let listed = cat
            .list_captures(&CaptureFilter {
                source_contains: Some("/b".into()),
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, ids[1]);
        assert!(cat.dangling_links().await.expect("dangling").is_empty());
    }
}
