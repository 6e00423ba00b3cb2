//! Verification: does every byte the catalog speaks of still exist, unchanged?
//!
//! Every blob named by an item row is re-hashed and compared with its name and recorded
//! size; links from captures to items are checked; files in the blob tree that no row names
//! are listed apart (an interrupted capture leaves such blobs; they are not damage).

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use vigil_store::{BlobStore, Catalog, ItemRecord, Sha256Digest, StreamHasher};

use crate::CoreError;
use crate::log::{Log, LogAudit};

/// One thing wrong with the store. Each names exactly what is affected.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// The catalog names an item whose blob is gone.
    MissingBlob {
        /// Item id.
        sha256: String,
        /// Captures that include it.
        captures: Vec<i64>,
    },
    /// The blob's bytes no longer hash to its name.
    AlteredBlob {
        /// Item id (what the bytes should hash to).
        sha256: String,
        /// What they hash to now.
        actual_sha256: String,
        /// Its size now.
        actual_size: u64,
        /// Blob path.
        path: String,
        /// Captures that include it.
        captures: Vec<i64>,
    },
    /// The blob hashes correctly but the catalog records another size.
    SizeMismatch {
        /// Item id.
        sha256: String,
        /// Size in the catalog.
        catalog_size: u64,
        /// Size on disk.
        actual_size: u64,
    },
    /// A blob could not be read.
    UnreadableBlob {
        /// Item id.
        sha256: String,
        /// Why.
        error: String,
    },
    /// A catalog row that this version cannot read.
    MalformedRow {
        /// Table.
        table: String,
        /// Key as stored.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// A capture lists an item that has no row in the items table.
    DanglingLink {
        /// Capture id.
        capture_id: i64,
        /// Position in the capture.
        position: i64,
        /// The digest text it names.
        sha256: String,
    },
    /// A file in the blob tree at a place no digest maps to.
    StrayFile {
        /// Its path.
        path: String,
    },
    /// The audit trail's hash chain does not hold: an event was edited, removed or reordered.
    Audit {
        /// The event where the chain breaks.
        event: i64,
        /// What is wrong.
        detail: String,
    },
    /// The transparency log disagrees with the catalog, or with itself.
    Log {
        /// What is affected: a capture, a leaf, a checkpoint, a tile.
        subject: String,
        /// What is wrong.
        detail: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let caps = |c: &[i64]| {
            if c.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = c.iter().map(|i| format!("#{i}")).collect();
                format!(" (in capture {})", ids.join(", "))
            }
        };
        match self {
            Problem::MissingBlob { sha256, captures } => {
                write!(
                    f,
                    "MISSING   item {sha256}: its blob is gone{}",
                    caps(captures)
                )
            }
            Problem::AlteredBlob {
                sha256,
                actual_sha256,
                actual_size,
                path,
                captures,
            } => write!(
                f,
                "ALTERED   item {sha256}: {path} now hashes to {actual_sha256} ({actual_size} bytes){}",
                caps(captures)
            ),
            Problem::SizeMismatch {
                sha256,
                catalog_size,
                actual_size,
            } => write!(
                f,
                "SIZE      item {sha256}: catalog says {catalog_size} bytes, blob has {actual_size}"
            ),
            Problem::UnreadableBlob { sha256, error } => {
                write!(f, "UNREADABLE item {sha256}: {error}")
            }
            Problem::MalformedRow { table, key, detail } => {
                write!(f, "CATALOG   {table} row {key:?}: {detail}")
            }
            Problem::DanglingLink {
                capture_id,
                position,
                sha256,
            } => write!(
                f,
                "CATALOG   capture #{capture_id} item {position} names {sha256}, which is not in the items table"
            ),
            Problem::Audit { event, detail } => {
                write!(f, "AUDIT     event #{event}: {detail}")
            }
            Problem::StrayFile { path } => {
                write!(f, "STRAY     {path} is not where its name belongs")
            }
            Problem::Log { subject, detail } => write!(f, "LOG       {subject}: {detail}"),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Item rows checked.
    pub items_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Whether only a sample was checked.
    pub sampled: bool,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
    /// Intact blobs that no catalog row names (left by an interrupted capture).
    pub unreferenced_blobs: Vec<String>,
    /// The transparency log, re-derived from the catalog (its problems are in `problems`).
    pub log: Option<LogAudit>,
    /// Events in the audit trail, all re-hashed.
    pub audit_events: u64,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Progress callbacks for a verification.
pub trait VerifyObserver: Send + Sync {
    /// Total bytes that will be hashed.
    fn planned(&self, _bytes: u64) {}
    /// Bytes hashed.
    fn advanced(&self, _bytes: u64) {}
}

impl VerifyObserver for crate::capture::Quiet {}

/// Verifies the whole store, or a random sample of `sample` items. The transparency log is
/// always re-derived in full (it costs one pass over the catalog, not over the bytes).
pub async fn verify(
    catalog: &Catalog,
    blobs: &BlobStore,
    log: &Log,
    sample: Option<u64>,
    observer: &dyn VerifyObserver,
) -> Result<VerifyReport, CoreError> {
    let mut report = VerifyReport {
        sampled: sample.is_some(),
        ..Default::default()
    };
    let mut audit = log.audit(catalog).await?;
    report.problems.append(&mut audit.problems);
    let (events, breaks) = catalog.verify_audit_chain().await?;
    report.audit_events = events;
    report
        .problems
        .extend(breaks.into_iter().map(|b| Problem::Audit {
            event: b.id,
            detail: b.problem,
        }));
    report.log = Some(audit);
    if let Some(n) = sample {
        let keys = catalog.sample_item_keys(n as i64).await?;
        let (items, bad) = catalog.items_by_keys(&keys).await?;
        observer.planned(items.iter().map(|i| i.size).sum());
        record_malformed(&mut report, bad);
        for item in &items {
            check_item(catalog, blobs, item, &mut report, observer).await?;
        }
        return Ok(report);
    }
    observer.planned(catalog.item_bytes().await?.max(0) as u64);
    let listing = tokio::task::block_in_place(|| blobs.list())?;
    for stray in &listing.strays {
        report.problems.push(Problem::StrayFile {
            path: stray.to_string_lossy().into_owned(),
        });
    }
    // Merge-join the sorted blob listing with the catalog's items in digest order.
    let on_disk: Vec<Sha256Digest> = listing.blobs.into_iter().map(|(d, _)| d).collect();
    let mut disk_pos = 0usize;
    let mut after: Option<String> = None;
    loop {
        let (items, bad, last) = catalog.items_page(after.as_deref(), 5000).await?;
        record_malformed(&mut report, bad);
        for item in &items {
            while disk_pos < on_disk.len() && on_disk[disk_pos] < item.sha256 {
                report.unreferenced_blobs.push(on_disk[disk_pos].to_hex());
                disk_pos += 1;
            }
            if disk_pos < on_disk.len() && on_disk[disk_pos] == item.sha256 {
                disk_pos += 1;
            }
            check_item(catalog, blobs, item, &mut report, observer).await?;
        }
        match last {
            Some(l) => after = Some(l),
            None => break,
        }
    }
    report
        .unreferenced_blobs
        .extend(on_disk[disk_pos..].iter().map(|d| d.to_hex()));
    for link in catalog.dangling_links().await? {
        report.problems.push(Problem::DanglingLink {
            capture_id: link.capture_id,
            position: link.position,
            sha256: link.sha256,
        });
    }
    Ok(report)
}

fn record_malformed(report: &mut VerifyReport, bad: Vec<vigil_store::MalformedRow>) {
    for row in bad {
        report.problems.push(Problem::MalformedRow {
            table: row.table.to_owned(),
            key: row.key,
            detail: row.problem,
        });
    }
}

async fn check_item(
    catalog: &Catalog,
    blobs: &BlobStore,
    item: &ItemRecord,
    report: &mut VerifyReport,
    observer: &dyn VerifyObserver,
) -> Result<(), CoreError> {
    report.items_checked += 1;
    let path = blobs.path_of(&item.sha256);
    let hashed = tokio::task::block_in_place(|| hash_file(&path, observer));
    let sha256 = item.sha256.to_hex();
    match hashed {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.problems.push(Problem::MissingBlob {
                sha256,
                captures: catalog.captures_with_item(&item.sha256).await?,
            });
        }
        Err(e) => report.problems.push(Problem::UnreadableBlob {
            sha256,
            error: e.to_string(),
        }),
        Ok((actual, size)) => {
            report.bytes_checked += size;
            if actual != item.sha256 {
                report.problems.push(Problem::AlteredBlob {
                    sha256,
                    actual_sha256: actual.to_hex(),
                    actual_size: size,
                    path: path.to_string_lossy().into_owned(),
                    captures: catalog.captures_with_item(&item.sha256).await?,
                });
            } else if size != item.size {
                report.problems.push(Problem::SizeMismatch {
                    sha256,
                    catalog_size: item.size,
                    actual_size: size,
                });
            }
        }
    }
    Ok(())
}

fn hash_file(path: &Path, observer: &dyn VerifyObserver) -> std::io::Result<(Sha256Digest, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = StreamHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        observer.advanced(n as u64);
    }
    Ok(hasher.finish())
}
