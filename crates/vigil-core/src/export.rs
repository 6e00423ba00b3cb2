//! `vigil export`: the evidence package a court, the ICRC or a journalist receives, checkable
//! without Vigil (format: `docs/package.md`, `vigil.package/v1`).
//!
//! A package is a BagIt bag (RFC 8493) whose payload holds the original items byte for byte,
//! the exact log leaves of their captures with a receipt each, the log's verifier key, one
//! checkpoint every receipt is proven against, earlier time-stamped checkpoints with their
//! RFC 3161 tokens and consistency proofs, the chain of custody, and a readable report.
//!
//! The package is written into a sibling folder named `.<name>.partial-<pid>` and renamed into
//! place only when complete, so a crash or a full disk never leaves something that looks like
//! a finished package. Every item is hashed while it is copied and compared with its address:
//! a damaged blob stops the export instead of being shipped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_store::{BlobStore, Catalog, LogLeaf, Sha256Digest, StoredCheckpoint, now_rfc3339};

use crate::CoreError;
use crate::log::Log;

/// The package format this version writes (`package.json` `format`, `bag-info.txt`).
pub const PACKAGE_FORMAT: &str = "vigil.package/v1";

/// Read and write in pieces this large: big enough that per-call overhead vanishes, small
/// enough to stay in cache; a multiple of [`DIRECT_ALIGN`].
const COPY_CHUNK: usize = 4 << 20;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    /// An incident: its linked items, legal qualification and history.
    Incident(i64),
    /// These items (SHA-256).
    Items(Vec<Sha256Digest>),
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions<'a> {
    /// Also ship the derived pictures (thumbnails, keyframes, contact sheets) with their
    /// derivation leaves and receipts.
    pub derived: bool,
    /// Include the linked persons' records (names, status, unit…): personal data of protected
    /// persons, so off unless asked for.
    pub persons: bool,
    /// Who exports (recorded in the package and the audit trail).
    pub actor: crate::accounts::Actor<'a>,
    /// `Source-Organization` in `bag-info.txt`.
    pub organization: String,
    /// Also print the report to `report/report.pdf` with Chromium (none of the Rust PDF
    /// writers lays out Armenian and Cyrillic text as well as a browser's print engine).
    pub pdf: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// The export's id (`External-Identifier`).
    pub export_id: String,
    /// Where the bag is.
    pub path: PathBuf,
    /// Items shipped (originals and derived).
    pub items: usize,
    /// Captures proven.
    pub captures: usize,
    /// Time-stamped checkpoints shipped.
    pub timestamps: usize,
    /// Payload files and bytes (`Payload-Oxum`).
    pub payload_files: usize,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// The size of the checkpoint every receipt is proven against.
    pub checkpoint_size: u64,
    /// The log's verifier key, to publish or compare.
    pub verifier_key: String,
}

/// One item to ship.
#[derive(Debug, Clone)]
struct PlannedItem {
    sha256: Sha256Digest,
    size: u64,
    /// For a derived item: (source item, derivation id, role).
    derived_from: Option<(Sha256Digest, i64, String)>,
}

/// Writes payload files under `data/`, hashing each on the way for the manifest.
struct Payload {
    data: PathBuf,
    manifest: Vec<(String, [u8; 32])>,
    bytes: u64,
}

impl Payload {
    fn new(bag: &Path) -> Result<Self, CoreError> {
        let data = bag.join("data");
        std::fs::create_dir_all(&data).map_err(at(&data))?;
        Ok(Payload {
            data,
            manifest: Vec::new(),
            bytes: 0,
        })
    }

    fn path(&self, rel: &str) -> Result<PathBuf, CoreError> {
        let path = self.data.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(at(parent))?;
        }
        Ok(path)
    }

    /// Writes a small file.
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), CoreError> {
        let path = self.path(rel)?;
        std::fs::write(&path, bytes).map_err(at(&path))?;
        self.manifest
            .push((rel.to_owned(), Sha256::digest(bytes).into()));
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Writes pretty JSON (a person reads these too).
    fn write_json(&mut self, rel: &str, value: &impl Serialize) -> Result<(), CoreError> {
        let mut text = serde_json::to_vec_pretty(value)
            .map_err(|e| CoreError::Usage(format!("cannot encode {rel}: {e}")))?;
        text.push(b'\n');
        self.write(rel, &text)
    }

    /// Copies stored blobs to `(rel, digest)` places, hashing each on the way; each digest
    /// must be its blob's address. Files are copied a few at a time, and within each file
    /// hashing and writing overlap (two threads, a few chunks apart), so that an export runs
    /// at the speed of the slower of the two rather than of their sum.
    fn copy_blobs(
        &mut self,
        blobs: &BlobStore,
        copies: &[(String, Sha256Digest)],
    ) -> Result<(), CoreError> {
        let targets = copies
            .iter()
            .map(|(rel, _)| self.path(rel))
            .collect::<Result<Vec<_>, _>>()?;
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4)
            .min(copies.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::with_capacity(copies.len()));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, digest)) = copies.get(i) else {
                            break;
                        };
                        let outcome = copy_one(blobs, digest, &targets[i]);
                        let failed = outcome.is_err();
                        results
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((i, outcome));
                        if failed {
                            // Stop handing out work; the others finish their file.
                            next.store(copies.len(), std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        results.sort_by_key(|(i, _)| *i);
        for (i, outcome) in results {
            let (hash, copied) = outcome?;
            self.manifest.push((copies[i].0.clone(), hash));
            self.bytes += copied;
        }
        Ok(())
    }
}

/// Alignment of direct-I/O buffers, file offsets and lengths (the page size suits every
/// Linux file system).
const DIRECT_ALIGN: usize = 4096;

/// A chunk of a file in a buffer whose data starts at an address aligned for direct I/O.
struct Chunk {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl Chunk {
    fn new() -> Self {
        let buffer = vec![0u8; COPY_CHUNK + DIRECT_ALIGN];
        let start = buffer.as_ptr().align_offset(DIRECT_ALIGN).min(DIRECT_ALIGN);
        Chunk {
            buffer,
            start,
            len: 0,
        }
    }

    /// Room for a whole chunk.
    fn space(&mut self) -> &mut [u8] {
        &mut self.buffer[self.start..self.start + COPY_CHUNK]
    }

    /// The bytes read.
    fn data(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    /// The bytes read, zero-padded to the alignment (a direct write's last block).
    fn padded(&mut self) -> &[u8] {
        let end = self.len.next_multiple_of(DIRECT_ALIGN);
        self.buffer[self.start + self.len..self.start + end].fill(0);
        &self.buffer[self.start..self.start + end]
    }
}

/// Opens `path` for writing, bypassing the page cache where the file system allows it: the
/// kernel then moves the bytes straight to the disk instead of copying them into memory
/// first, which halves the CPU an export costs. The second field says whether it does.
fn create_target(path: &Path) -> Result<(std::fs::File, bool), CoreError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(file) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            return Ok((file, true));
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(at(path))?;
    Ok((file, false))
}

/// Fills `chunk` from `source` (short only at the end of the file).
fn fill(source: &mut impl Read, chunk: &mut Chunk) -> std::io::Result<()> {
    chunk.len = 0;
    loop {
        let len = chunk.len;
        match source.read(&mut chunk.space()[len..]) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                chunk.len += n;
                if chunk.len == COPY_CHUNK {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Copies one blob to `path`, returning its SHA-256 (checked against `digest`) and size: one
/// thread reads and hashes, another writes, chunks passing between them.
fn copy_one(
    blobs: &BlobStore,
    digest: &Sha256Digest,
    path: &Path,
) -> Result<([u8; 32], u64), CoreError> {
    let mut source = blobs.open_blob(digest)?;
    let (mut target, direct) = create_target(path)?;
    let (full, filled) = std::sync::mpsc::sync_channel::<Chunk>(3);
    let (empty, recycled) = std::sync::mpsc::channel::<Chunk>();
    let (read, hasher, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<u64, std::io::Error> {
            let mut written = 0u64;
            for mut chunk in filled {
                let len = chunk.len;
                if direct {
                    // Whole blocks only; the padding is cut off below.
                    target.write_all(chunk.padded())?;
                } else {
                    target.write_all(chunk.data())?;
                }
                written += len as u64;
                let _ = empty.send(chunk);
            }
            if direct {
                target.set_len(written)?;
            }
            target.sync_all()?;
            Ok(written)
        });
        let mut hasher = Sha256::new();
        let read = (|| -> Result<(), CoreError> {
            loop {
                let mut chunk = recycled.try_recv().unwrap_or_else(|_| Chunk::new());
                fill(&mut source, &mut chunk).map_err(at(&blobs.path_of(digest)))?;
                if chunk.len == 0 {
                    return Ok(());
                }
                hasher.update(chunk.data());
                let last = chunk.len < COPY_CHUNK;
                if full.send(chunk).is_err() || last {
                    // Done, or the writer stopped (its error is reported below).
                    return Ok(());
                }
            }
        })();
        drop(full);
        (read, hasher, writer.join())
    });
    read?;
    let copied = match written {
        Ok(result) => result.map_err(at(path))?,
        Err(_) => {
            return Err(CoreError::Usage(format!(
                "writing {} stopped unexpectedly",
                path.display()
            )));
        }
    };
    let hash: [u8; 32] = hasher.finalize().into();
    if hash != digest.0 {
        return Err(CoreError::Usage(format!(
            "the stored bytes of item {} no longer match their SHA-256 (the blob store is \
             damaged; run `vigil verify`): nothing was exported",
            digest.to_hex()
        )));
    }
    Ok((hash, copied))
}

/// Names the file an I/O error happened to.
fn at(path: &Path) -> impl FnOnce(std::io::Error) -> CoreError + '_ {
    move |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file name extension an item gets in the package, from what its bytes are: only so
/// that the recipient's computer opens it with the right program.
fn extension_of(blobs: &BlobStore, digest: &Sha256Digest) -> &'static str {
    let mut head = Vec::with_capacity(256);
    if let Ok(file) = blobs.open_blob(digest) {
        let _ = file.take(256).read_to_end(&mut head);
    }
    use vigil_media::MediaKind as K;
    match vigil_media::sniff(&head) {
        K::Image("jpeg") => "jpg",
        K::Image("tiff") => "tif",
        K::Image("heif") => "heic",
        K::Image(f) | K::Video(f) | K::Audio(f) => match f {
            "mpeg-ts" => "ts",
            other => other,
        },
        K::Other => "bin",
    }
}

/// Writes the package for `scope` at `out` (which must not exist); records the export in the
/// audit trail.
pub async fn export(
    catalog: &Catalog,
    blobs: &BlobStore,
    log: &Log,
    scope: &ExportScope,
    out: &Path,
    options: &ExportOptions<'_>,
) -> Result<ExportSummary, CoreError> {
    if out.exists() {
        return Err(CoreError::Usage(format!(
            "{} already exists; a package is never written over another",
            out.display()
        )));
    }
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| CoreError::Usage(format!("{} is not a folder name", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(at(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(at(&staging))?;
    let result = write_package(catalog, blobs, log, scope, &staging, options).await;
    match result {
        Ok(mut summary) => {
            std::fs::rename(&staging, out).map_err(at(out))?;
            summary.path = out.to_path_buf();
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// The items of the scope, each once, originals first.
async fn plan_items(
    catalog: &Catalog,
    scope: &ExportScope,
    derived: bool,
) -> Result<(Vec<PlannedItem>, Vec<i64>), CoreError> {
    let originals: Vec<Sha256Digest> = match scope {
        ExportScope::Items(items) => items.clone(),
        ExportScope::Incident(id) => {
            let incident = catalog
                .incident(*id)
                .await?
                .ok_or_else(|| CoreError::Usage(format!("there is no incident #{id}")))?;
            incident
                .items
                .iter()
                .map(|i| {
                    i.parse().map_err(|_| {
                        CoreError::Usage(format!("incident #{id} links a malformed item {i:?}"))
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    let mut seen = BTreeSet::new();
    let mut planned = Vec::new();
    let mut derivations = Vec::new();
    for digest in originals {
        if !seen.insert(digest) {
            continue;
        }
        let item = catalog.item(&digest).await?.ok_or_else(|| {
            CoreError::Usage(format!(
                "there is no item {} in this store",
                digest.to_hex()
            ))
        })?;
        planned.push(PlannedItem {
            sha256: digest,
            size: item.size,
            derived_from: None,
        });
    }
    if derived {
        let sources: Vec<Sha256Digest> = planned.iter().map(|p| p.sha256).collect();
        for source in sources {
            for d in catalog.derivations_of(&source).await? {
                derivations.push(d.id);
                for out in d.record.items {
                    if seen.insert(out.sha256) {
                        planned.push(PlannedItem {
                            sha256: out.sha256,
                            size: out.size,
                            derived_from: Some((source, d.id, out.role)),
                        });
                    }
                }
            }
        }
    }
    Ok((planned, derivations))
}

/// Events of the audit trail about `subject`, oldest first.
async fn events_about(catalog: &Catalog, subject: &str) -> Result<Vec<Value>, CoreError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = catalog.audit_events(after, 1000, Some(subject)).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page.iter().map(|e| json!(e)));
        if page.len() < 1000 {
            break;
        }
    }
    Ok(out)
}

async fn write_package(
    catalog: &Catalog,
    blobs: &BlobStore,
    log: &Log,
    scope: &ExportScope,
    bag: &Path,
    options: &ExportOptions<'_>,
) -> Result<ExportSummary, CoreError> {
    let exported_at = now_rfc3339();
    let export_id = format!(
        "export-{}-{}",
        exported_at
            .replace(['-', ':'], "")
            .split('.')
            .next()
            .unwrap_or_default(),
        std::process::id()
    );
    let actor_name = options.actor.name();
    let (items, derivation_ids) = plan_items(catalog, scope, options.derived).await?;
    if items.is_empty() {
        return Err(CoreError::Usage(
            "nothing to export: the incident links no item".into(),
        ));
    }

    // Which captures hold the originals, and their leaves.
    let mut captures_of: BTreeMap<Sha256Digest, Vec<i64>> = BTreeMap::new();
    let mut capture_ids = BTreeSet::new();
    for item in items.iter().filter(|i| i.derived_from.is_none()) {
        let ids = catalog.captures_with_item(&item.sha256).await?;
        capture_ids.extend(ids.iter().copied());
        captures_of.insert(item.sha256, ids);
    }
    let mut leaves: Vec<LogLeaf> = Vec::new();
    let mut leaf_names: Vec<(String, String)> = Vec::new();
    for id in &capture_ids {
        let leaf = catalog
            .log_leaf_of_capture(*id)
            .await?
            .ok_or_else(|| CoreError::Usage(format!("capture #{id} has no log leaf")))?;
        leaves.push(leaf);
        leaf_names.push((
            format!("captures/{id}.json"),
            format!("receipts/capture-{id}.tlog-proof"),
        ));
    }
    for id in &derivation_ids {
        let leaf = catalog
            .log_leaf_of_derivation(*id)
            .await?
            .ok_or_else(|| CoreError::Usage(format!("derivation #{id} has no log leaf")))?;
        leaves.push(leaf);
        leaf_names.push((
            format!("derivations/{id}.json"),
            format!("receipts/derivation-{id}.tlog-proof"),
        ));
    }

    // The earliest time-stamped checkpoint covering each leaf: the strongest "no later than".
    let stamped: Vec<StoredCheckpoint> = catalog
        .checkpoints()
        .await?
        .into_iter()
        .filter(|c| c.timestamp_token.is_some() && c.tree_size > 0)
        .collect();
    let mut stamped_sizes = BTreeSet::new();
    for leaf in &leaves {
        if let Some(c) = stamped.iter().find(|c| c.tree_size > leaf.index) {
            stamped_sizes.insert(c.tree_size);
        }
    }
    let stamped_sizes: Vec<u64> = stamped_sizes.into_iter().collect();
    let proofs = log
        .proofs_for_export(catalog, &leaves, &stamped_sizes)
        .await?;

    let mut payload = Payload::new(bag)?;
    let mut item_entries = Vec::new();
    let mut files_of = BTreeMap::new();
    let mut copies = Vec::with_capacity(items.len());
    for item in &items {
        let hex = item.sha256.to_hex();
        let file = match item.derived_from {
            Some(_) => format!("derived/{hex}.jpg"),
            None => format!("items/{hex}.{}", extension_of(blobs, &item.sha256)),
        };
        copies.push((file.clone(), item.sha256));
        files_of.insert(item.sha256, file.clone());
        let metadata = format!("metadata/{hex}.json");
        item_entries.push(json!({
            "sha256": hex,
            "size": item.size,
            "file": file,
            "kind": catalog.analysis(&item.sha256).await?.map(|a| a.kind),
            "metadata": metadata,
            "captures": captures_of.get(&item.sha256).cloned().unwrap_or_default(),
            "derived_from": item.derived_from.as_ref().map(|(source, d, role)| json!({
                "item": source.to_hex(), "derivation": d, "role": role,
            })),
        }));
    }
    // Copying gigabytes blocks: off the async workers' queue.
    tokio::task::block_in_place(|| payload.copy_blobs(blobs, &copies))?;
    for item in &items {
        let record = item_metadata(catalog, item, &captures_of).await?;
        payload.write_json(&format!("metadata/{}.json", item.sha256.to_hex()), &record)?;
    }

    let mut capture_entries = Vec::new();
    let mut derivation_entries = Vec::new();
    for ((leaf, (leaf_file, receipt_file)), receipt) in
        leaves.iter().zip(&leaf_names).zip(&proofs.receipts)
    {
        payload.write(leaf_file, &leaf.leaf)?;
        payload.write(receipt_file, receipt.as_bytes())?;
        let entry = json!({ "leaf": leaf_file, "receipt": receipt_file, "index": leaf.index });
        match leaf.subject {
            vigil_store::LeafSubject::Capture(id) => {
                let mut e = entry;
                e["id"] = json!(id);
                capture_entries.push(e);
            }
            vigil_store::LeafSubject::Derivation(id) => {
                let mut e = entry;
                e["id"] = json!(id);
                derivation_entries.push(e);
            }
            // A package ships the leaves of its captures and derivations only.
            vigil_store::LeafSubject::Event(_) => {}
        }
    }

    let vkey = log.vkey();
    payload.write("log/verifier.vkey", format!("{vkey}\n").as_bytes())?;
    payload.write("log/checkpoint", proofs.checkpoint.signed_note.as_bytes())?;
    let mut stamped_entries = Vec::new();
    for (size, consistency) in stamped_sizes.iter().zip(&proofs.consistency) {
        let Some(c) = stamped.iter().find(|c| c.tree_size == *size) else {
            continue;
        };
        let Some(token) = &c.timestamp_token else {
            continue;
        };
        let checkpoint = format!("log/checkpoints/{size}.checkpoint");
        let timestamp = format!("log/checkpoints/{size}.tsr");
        let proof = format!("log/consistency/{size}.proof");
        payload.write(&checkpoint, c.signed_note.as_bytes())?;
        payload.write(&timestamp, token)?;
        payload.write(&proof, consistency.as_bytes())?;
        stamped_entries.push(json!({
            "size": size, "checkpoint": checkpoint, "timestamp": timestamp,
            "consistency": proof, "signed_at": c.signed_at,
        }));
    }

    let (scope_json, incident_view) = match scope {
        ExportScope::Incident(id) => (
            json!({ "incident": id }),
            Some(incident_record(catalog, *id, options.persons).await?),
        ),
        ExportScope::Items(list) => (
            json!({ "items": list.iter().map(Sha256Digest::to_hex).collect::<Vec<_>>() }),
            None,
        ),
    };
    if let Some(view) = &incident_view {
        payload.write_json("incident.json", view)?;
    }

    // The export itself goes into the audit trail before the custody record is written, so
    // the package's chain of custody ends with its own making.
    let export_subject = format!("export:{export_id}");
    options
        .actor
        .record(
            catalog,
            "export",
            &export_subject,
            json!({
                "scope": scope_json,
                "items": items.iter().map(|i| i.sha256.to_hex()).collect::<Vec<_>>(),
                "checkpoint_size": proofs.checkpoint.tree_size,
            }),
        )
        .await?;
    for item in &items {
        options
            .actor
            .record(
                catalog,
                "export",
                &format!("item:{}", item.sha256.to_hex()),
                json!({ "export": export_id }),
            )
            .await?;
    }
    let custody = custody_record(
        catalog,
        &items,
        &capture_ids,
        &derivation_ids,
        scope,
        &export_subject,
    )
    .await?;
    payload.write_json("custody.json", &custody)?;

    crate::report::write_report(
        catalog,
        blobs,
        &mut ReportFiles(&mut payload),
        &crate::report::ReportInput {
            export_id: &export_id,
            exported_at: &exported_at,
            exported_by: &actor_name,
            organization: &options.organization,
            incident: incident_view.as_ref(),
            items: &items
                .iter()
                .filter(|i| i.derived_from.is_none())
                .map(|i| {
                    (
                        i.sha256,
                        files_of.get(&i.sha256).cloned().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>(),
            captures: &capture_ids.iter().copied().collect::<Vec<_>>(),
            checkpoint: &proofs.checkpoint,
            verifier_key: &vkey,
            timestamps: stamped_entries.len(),
        },
    )
    .await?;

    if options.pdf {
        let pdf = print_report(&payload.data.join("report/index.html")).await?;
        payload.write("report/report.pdf", &pdf)?;
    }

    let package = json!({
        "format": PACKAGE_FORMAT,
        "export_id": export_id,
        "exported_at": exported_at,
        "exported_by": actor_name,
        "scope": scope_json,
        "log": {
            "origin": log.origin(),
            "verifier_key": "log/verifier.vkey",
            "checkpoint": "log/checkpoint",
            "timestamped_checkpoints": stamped_entries,
        },
        "items": item_entries,
        "captures": capture_entries,
        "derivations": derivation_entries,
        "report": "report/index.html",
    });
    payload.write_json("package.json", &package)?;

    let description = match &incident_view {
        Some(v) => v["title"].as_str().unwrap_or("an incident").to_owned(),
        None => format!("{} items", items.len()),
    };
    let summary = ExportSummary {
        export_id: export_id.clone(),
        path: bag.to_path_buf(),
        items: items.len(),
        captures: capture_ids.len(),
        timestamps: stamped_entries.len(),
        payload_files: payload.manifest.len(),
        payload_bytes: payload.bytes,
        checkpoint_size: proofs.checkpoint.tree_size,
        verifier_key: vkey,
    };
    finish_bag(
        bag,
        &payload,
        &[
            ("Source-Organization", options.organization.as_str()),
            ("Bagging-Date", exported_at.get(..10).unwrap_or_default()),
            (
                "Bag-Software-Agent",
                &format!("vigil {}", env!("CARGO_PKG_VERSION")),
            ),
            ("External-Identifier", &export_id),
            ("External-Description", &one_line(&description)),
            ("Vigil-Package-Format", PACKAGE_FORMAT),
            ("Vigil-Log-Origin", log.origin()),
        ],
    )?;
    Ok(summary)
}

/// The report printed to PDF by Chromium, offline, from a throwaway profile.
async fn print_report(html: &Path) -> Result<Vec<u8>, CoreError> {
    let chromium = vigil_capture::browser::Chromium::locate(None)
        .map_err(|why| CoreError::Usage(format!("--pdf needs Chromium: {why}")))?;
    let profile = std::env::temp_dir().join(format!(
        "vigil-report-profile-{}-{}",
        std::process::id(),
        now_rfc3339().replace([':', '.'], "")
    ));
    vigil_store::create_private_dir(&profile)?;
    let printed = chromium
        .print_pdf(html, &profile, std::time::Duration::from_secs(120))
        .await;
    let _ = std::fs::remove_dir_all(&profile);
    printed.map_err(|e| CoreError::Usage(format!("the report could not be printed to PDF: {e}")))
}

/// Lets the report add its files to the payload.
pub(crate) struct ReportFiles<'a>(&'a mut Payload);

impl ReportFiles<'_> {
    /// Writes a report file (`report/…`).
    pub(crate) fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), CoreError> {
        self.0.write(rel, bytes)
    }
}

/// A bag-info value on one line (labels and values may not contain line breaks).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// BagIt's own files: declaration, payload manifest, bag-info with the oxum, tag manifest.
fn finish_bag(bag: &Path, payload: &Payload, info: &[(&str, &str)]) -> Result<(), CoreError> {
    let declaration = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    let mut manifest = String::new();
    let mut entries: Vec<&(String, [u8; 32])> = payload.manifest.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (rel, hash) in entries {
        manifest.push_str(&format!(
            "{}  data/{}\n",
            hex::encode(hash),
            encode_path(rel)
        ));
    }
    let mut bag_info = String::new();
    for (label, value) in info {
        bag_info.push_str(&format!("{label}: {value}\n"));
    }
    bag_info.push_str(&format!(
        "Payload-Oxum: {}.{}\n",
        payload.bytes,
        payload.manifest.len()
    ));
    let mut tags = String::new();
    for (name, text) in [
        ("bagit.txt", declaration),
        ("bag-info.txt", bag_info.as_str()),
        ("manifest-sha256.txt", manifest.as_str()),
    ] {
        std::fs::write(bag.join(name), text).map_err(at(&bag.join(name)))?;
        tags.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(text.as_bytes()))
        ));
    }
    std::fs::write(bag.join("tagmanifest-sha256.txt"), tags).map_err(at(bag))?;
    sync_tree(bag)?;
    Ok(())
}

/// RFC 8493 §2.1.3: CR, LF and `%` in manifest paths are percent-encoded.
fn encode_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Flushes the bag's files and folders to disk before it is renamed into place.
fn sync_tree(dir: &Path) -> Result<(), CoreError> {
    for entry in std::fs::read_dir(dir).map_err(at(dir))? {
        let entry = entry.map_err(at(dir))?;
        let path = entry.path();
        if entry.file_type().map_err(at(&path))?.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(at(&path))?;
        }
    }
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(at(dir))?;
    Ok(())
}

/// `metadata/<sha256>.json`: what Vigil knows of one item.
async fn item_metadata(
    catalog: &Catalog,
    item: &PlannedItem,
    captures_of: &BTreeMap<Sha256Digest, Vec<i64>>,
) -> Result<Value, CoreError> {
    let metadata = catalog.metadata_of(&item.sha256).await?;
    let mut captures = Vec::new();
    for id in captures_of.get(&item.sha256).into_iter().flatten() {
        if let Some(c) = catalog.capture(*id).await? {
            let name = c.record.name_of(&item.sha256);
            captures.push(json!({
                "id": c.id, "source": c.record.source, "captured_at": c.record.captured_at,
                "collector": c.record.collector, "method": c.record.method,
                "status": c.record.status.as_str(), "name": name,
                "leaf": format!("captures/{}.json", c.id),
                "receipt": format!("receipts/capture-{}.tlog-proof", c.id),
            }));
        }
    }
    let mut similar = Vec::new();
    for link in catalog.similarities_of(&item.sha256).await? {
        similar.push(json!({
            "sha256": link.other(&item.sha256).to_hex(),
            "distance": link.distance,
            "method": link.method.as_str(),
        }));
    }
    Ok(json!({
        "sha256": item.sha256.to_hex(),
        "size": item.size,
        "derived_from": item.derived_from.as_ref().map(|(s, d, role)| json!({
            "item": s.to_hex(), "derivation": d, "role": role,
        })),
        "captures": captures,
        "analysis": catalog.analysis(&item.sha256).await?,
        "metadata": metadata.as_ref().map(|m| &m.report),
        "flags": metadata.as_ref().map(|m| &m.flags),
        "extracted_at": metadata.as_ref().map(|m| &m.extracted_at),
        "near_duplicates": similar,
        "note": "Facts Vigil read from the file and its captures. The proof of the bytes is \
                 their SHA-256, the capture leaf and its receipt; this file is a convenience.",
    }))
}

/// `incident.json`: the incident, its tags with their provisions, history and comments, and
/// its persons (records only when asked for).
async fn incident_record(catalog: &Catalog, id: i64, persons: bool) -> Result<Value, CoreError> {
    let incident = catalog
        .incident(id)
        .await?
        .ok_or_else(|| CoreError::Usage(format!("there is no incident #{id}")))?;
    let tags: Vec<_> = incident
        .tags
        .iter()
        .map(|t| crate::incidents::tag_view(t))
        .collect();
    let linked = catalog.incident_persons(id).await?;
    let mut person_records = Vec::new();
    for (person_id, role) in &linked {
        if persons {
            person_records.push(json!({
                "id": person_id, "role": role,
                "record": catalog.person(*person_id).await?,
            }));
        } else {
            person_records.push(json!({ "id": person_id, "role": role }));
        }
    }
    let mut value = json!(incident);
    value["tag_details"] = json!(tags);
    value["history"] = json!(catalog.incident_changes(id).await?);
    value["comments"] = json!(catalog.comments(id).await?);
    value["persons"] = json!(person_records);
    value["persons_included"] = json!(persons);
    Ok(value)
}

/// `custody.json`: how each item came to be held and what was done with it since.
async fn custody_record(
    catalog: &Catalog,
    items: &[PlannedItem],
    capture_ids: &BTreeSet<i64>,
    derivation_ids: &[i64],
    scope: &ExportScope,
    export_subject: &str,
) -> Result<Value, CoreError> {
    let mut captures = Vec::new();
    for id in capture_ids {
        if let Some(c) = catalog.capture(*id).await? {
            captures.push(json!({
                "id": c.id, "captured_at": c.record.captured_at, "collector": c.record.collector,
                "method": c.record.method, "kind": c.record.kind, "source": c.record.source,
                "status": c.record.status.as_str(), "run_id": c.record.run_id,
                "tools": c.record.tools, "note": c.record.note,
                "vigil_version": c.record.vigil_version,
            }));
        }
    }
    let mut derivations = Vec::new();
    for id in derivation_ids {
        if let Some(d) = catalog.derivation(*id).await? {
            derivations.push(json!({
                "id": d.id, "source": d.record.source.to_hex(), "kind": d.record.kind,
                "tool": d.record.tool, "created_at": d.record.created_at,
            }));
        }
    }
    let mut subjects: Vec<String> = items
        .iter()
        .map(|i| format!("item:{}", i.sha256.to_hex()))
        .chain(capture_ids.iter().map(|id| format!("capture:{id}")))
        .collect();
    if let ExportScope::Incident(id) = scope {
        subjects.push(format!("incident:{id}"));
    }
    subjects.push(export_subject.to_owned());
    let mut events = Vec::new();
    for subject in &subjects {
        events.extend(events_about(catalog, subject).await?);
    }
    events.sort_by_key(|e| e["id"].as_i64().unwrap_or_default());
    events.dedup_by_key(|e| e["id"].as_i64().unwrap_or_default());
    Ok(json!({
        "captures": captures,
        "derivations": derivations,
        "events": events,
        "note": "Captures and derivations are also in the transparency log (see the receipts). \
                 Events are from Vigil's audit trail, a SHA-256 hash chain: each carries the \
                 hash of the event before it in the whole trail, so they can be checked \
                 against a full audit export.",
    }))
}

/// Packs a finished bag folder into a zip file (stored, not compressed: media do not
/// compress and a zip is then as fast to write as a copy).
pub fn zip_bag(bag: &Path, zip_path: &Path) -> Result<(), CoreError> {
    use zip::write::SimpleFileOptions;
    let prefix = bag
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package")
        .to_owned();
    let file = std::fs::File::create(zip_path).map_err(at(zip_path))?;
    let mut writer = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut stack = vec![bag.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(at(&dir))? {
            let entry = entry.map_err(at(&dir))?;
            if entry.file_type().map_err(at(&entry.path()))?.is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    let zip_error = |e: zip::result::ZipError| CoreError::Usage(format!("zip: {e}"));
    for path in files {
        let rel = path
            .strip_prefix(bag)
            .map_err(|e| CoreError::Usage(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        writer
            .start_file(format!("{prefix}/{rel}"), options)
            .map_err(zip_error)?;
        std::fs::File::open(&path)
            .and_then(|mut f| std::io::copy(&mut f, &mut writer))
            .map_err(at(&path))?;
    }
    writer
        .finish()
        .map_err(zip_error)?
        .into_inner()
        .map_err(|e| CoreError::Usage(format!("zip: {e}")))?
        .sync_all()
        .map_err(at(zip_path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of writing (direct to disk, or through the page cache where the file system
    /// refuses direct I/O, as tmpfs does) give the same bytes, whatever the size.
    #[test]
    fn copies_are_exact_direct_or_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
        let shm = std::path::Path::new("/dev/shm");
        let places: Vec<PathBuf> = [
            Some(dir.path().to_path_buf()),
            shm.is_dir().then(|| shm.into()),
        ]
        .into_iter()
        .flatten()
        .collect();
        for size in [
            0usize,
            1,
            4095,
            4096,
            COPY_CHUNK - 1,
            COPY_CHUNK,
            COPY_CHUNK + 4097,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            let mut staged = blobs.stage().expect("stage");
            staged.write_all(&bytes).expect("write");
            let published = blobs
                .publish(vec![staged.finish().expect("finish")])
                .expect("publish");
            let digest = published[0].digest;
            for place in &places {
                let target = place.join(format!("vigil-copy-test-{}-{size}", std::process::id()));
                let (hash, copied) = copy_one(&blobs, &digest, &target).expect("copy");
                let back = std::fs::read(&target).expect("read back");
                let _ = std::fs::remove_file(&target);
                assert_eq!(copied, size as u64);
                assert_eq!(hash, digest.0);
                assert!(
                    back == bytes,
                    "{size} bytes copied exactly to {}",
                    place.display()
                );
            }
        }
    }

    #[test]
    fn manifest_paths_are_encoded_as_rfc_8493_says() {
        assert_eq!(encode_path("items/a%b\nc\r.jpg"), "items/a%25b%0Ac%0D.jpg");
        assert_eq!(
            one_line("Beating of\nprisoners  at  Jrakan"),
            "Beating of prisoners at Jrakan"
        );
    }
}
