//! Capture runs: from sources to durable, catalogued captures.
//!
//! Producers (a file worker, and up to `url_concurrency` URL fetches) stage bytes into the
//! blob store and send [`Prepared`] captures to one committer. The committer gathers them into
//! batches and, per batch: (1) publishes every blob durably, (2) commits all catalog rows in
//! one transaction, their log leaves included, (3) reports each capture as committed, then
//! (4) signs a new log checkpoint over them ([`crate::log::Log::publish`]). A crash before (2)
//! loses only uncommitted work, leaving at most unreferenced blobs; nothing reported
//! committed is lost; a crash before (4) is completed by the next publish.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use vigil_capture::browser::{Chromium, SnapshotOptions};
use vigil_capture::files::{self, WalkEntry};
use vigil_capture::http::{self, HttpOptions};
use vigil_capture::netguard::NetPolicy;
use vigil_capture::proxy::GuardProxy;
use vigil_capture::social;
use vigil_capture::ytdlp::{MediaOptions, MediaOutcome, YtDlp};
use vigil_store::{
    BlobStore, CaptureFailure, CaptureItem, CaptureRecord, CaptureStatus, Catalog, FinishedBlob,
    StoredCapture, now_rfc3339,
};

use crate::config::Config;
use crate::log::Log;
use crate::{CoreError, VIGIL_VERSION};

/// One source to capture, with the collector's note and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSource {
    /// A path (file or folder) or an http(s) URL, as given.
    pub source: String,
    /// Free-text note.
    pub note: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// For a post found on a watched source: what the source said of it (source id, post
    /// key, text, author, claimed time, media), kept in the capture's `details.watch` and so
    /// in its log leaf; links are captured with it and never trusted for anything else.
    pub watch: Option<serde_json::Value>,
}

/// How a run captures.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    /// Who is collecting.
    pub collector: String,
    /// HTTP limits and network policy.
    pub http: HttpOptions,
    /// URLs fetched at once.
    pub url_concurrency: usize,
    /// URLs of one host fetched at once, when set: watching sets 1, so that capturing a
    /// channel's new posts is as polite as polling it (page, yt-dlp and browser included).
    pub per_host: Option<usize>,
    /// When a batch is committed.
    pub batch: BatchLimits,
    /// Media download with yt-dlp.
    pub media: MediaSettings,
}

/// Whether and how page context is gathered beyond the HTTP body: media with yt-dlp, and a
/// screenshot and MHTML snapshot of the page in Chromium.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// Run yt-dlp on social links and HTML pages.
    pub enabled: bool,
    /// Configured yt-dlp path (else PATH).
    pub yt_dlp: Option<PathBuf>,
    /// Time allowed for one yt-dlp run.
    pub timeout: Duration,
    /// Take a screenshot and MHTML snapshot of social links and HTML pages.
    pub browser: bool,
    /// Configured Chromium path (else PATH).
    pub chromium: Option<PathBuf>,
    /// Time allowed for one page snapshot, browser start included.
    pub browser_timeout: Duration,
}

/// A batch is committed when any limit is reached (or the run ends).
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Captures in a batch.
    pub max_captures: usize,
    /// Bytes staged in a batch.
    pub max_bytes: u64,
    /// Age of the oldest capture waiting.
    pub max_wait: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_captures: 1000,
            max_bytes: 256 << 20,
            max_wait: Duration::from_millis(500),
        }
    }
}

impl CaptureSettings {
    /// Settings from a store's configuration; network policy and collector from the caller.
    pub fn from_config(
        config: &Config,
        collector: String,
        policy: NetPolicy,
    ) -> Result<Self, CoreError> {
        let c = &config.capture;
        let extra_roots = match &c.ca_file {
            Some(path) => read_pem_certs(path)?,
            None => Vec::new(),
        };
        Ok(CaptureSettings {
            collector,
            http: HttpOptions {
                max_bytes: c.max_bytes,
                connect_timeout: Duration::from_secs(c.connect_timeout_secs),
                timeout: Duration::from_secs(c.timeout_secs),
                read_timeout: Duration::from_secs(c.read_timeout_secs),
                max_redirects: c.max_redirects,
                user_agent: c.user_agent.clone(),
                extra_roots,
                policy: Arc::new(policy),
            },
            url_concurrency: c.url_concurrency.max(1),
            per_host: None,
            batch: BatchLimits::default(),
            media: MediaSettings {
                enabled: true,
                yt_dlp: config.tools.yt_dlp.clone(),
                timeout: Duration::from_secs(c.media_timeout_secs),
                browser: true,
                chromium: config.tools.chromium.clone(),
                browser_timeout: Duration::from_secs(c.browser_timeout_secs),
            },
        })
    }
}

fn read_pem_certs(path: &Path) -> Result<Vec<Vec<u8>>, CoreError> {
    use rustls_pki_types::pem::PemObject;
    let io = |e: std::io::Error| CoreError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let text = std::fs::read(path).map_err(io)?;
    let certs: Result<Vec<_>, _> =
        rustls_pki_types::CertificateDer::pem_slice_iter(&text).collect();
    let certs = certs.map_err(|e| CoreError::Usage(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(CoreError::Usage(format!(
            "{}: no PEM certificates found",
            path.display()
        )));
    }
    Ok(certs.into_iter().map(|c| c.as_ref().to_vec()).collect())
}

/// Told about a run as it goes (progress bars, per-capture lines).
pub trait CaptureObserver: Send + Sync {
    /// More work became known: sources and bytes to read from disk.
    fn planned(&self, _sources: u64, _bytes: u64) {}
    /// Bytes read from disk.
    fn advanced(&self, _bytes: u64) {}
    /// A capture was committed; `already_held` when its main item was already in the store.
    fn committed(&self, _capture: &StoredCapture, _already_held: bool) {}
    /// An entry was deliberately not captured.
    fn skipped(&self, _path: &Path, _reason: &str) {}
    /// Something the collector should know.
    fn notice(&self, _message: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl CaptureObserver for Quiet {}

/// What a run did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CaptureSummary {
    /// Captures committed whose main item was new to the store.
    pub captured: u64,
    /// Captures committed whose main item the store already held.
    pub already_held: u64,
    /// Failed captures (also committed, as records of the attempt).
    pub failed: Vec<FailedSource>,
    /// Entries not captured on purpose.
    pub skipped: Vec<SkippedEntry>,
    /// Bytes newly stored.
    pub new_bytes: u64,
    /// Size of the transparency log after the run (its latest signed checkpoint).
    pub log_size: u64,
}

/// A failed source in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct FailedSource {
    /// Capture id of the failure record.
    pub capture_id: i64,
    /// The source.
    pub source: String,
    /// Stable code.
    pub code: String,
    /// Why.
    pub message: String,
}

/// An entry skipped on purpose.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedEntry {
    /// Path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A capture whose bytes are staged but not yet published or catalogued.
struct Prepared {
    record: CaptureRecord,
    blobs: Vec<(FinishedBlob, String, Option<String>)>,
}

/// Captures every source. Per-source failures are recorded as failed captures and listed in
/// the summary; an `Err` means the store itself failed (disk, database) and the run stopped.
pub async fn run(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    sources: Vec<CaptureSource>,
    settings: &CaptureSettings,
    observer: Arc<dyn CaptureObserver>,
) -> Result<CaptureSummary, CoreError> {
    let run_id = format!(
        "run-{}-{}",
        now_rfc3339().replace([':', '-', '.'], ""),
        std::process::id()
    );
    let (urls, paths): (Vec<_>, Vec<_>) = sources.into_iter().partition(|s| is_url(&s.source));
    // Room for a whole batch, so staging goes on while the previous batch is committed.
    let (tx, rx) = mpsc::channel::<Prepared>(BatchLimits::default().max_captures);
    let mut summary = CaptureSummary::default();

    let file_worker = {
        let tx = tx.clone();
        let blobs = blobs.clone();
        let observer = observer.clone();
        let collector = settings.collector.clone();
        let run_id = run_id.clone();
        tokio::task::spawn_blocking(move || {
            capture_paths(paths, &blobs, &tx, observer.as_ref(), &collector, &run_id)
        })
    };
    observer.planned(urls.len() as u64, 0);
    let media = Arc::new(if urls.is_empty() {
        PageTools::disabled("no links in this run")
    } else {
        PageTools::prepare(settings).await
    });
    if !urls.is_empty()
        && settings.media.browser
        && let Err(why) = &media.chromium
    {
        observer.notice(&format!(
            "page screenshots and MHTML snapshots skipped: {why}"
        ));
    }
    let url_worker = {
        let media = media.clone();
        let tx = tx.clone();
        let blobs = blobs.clone();
        let settings = settings.clone();
        let run_id = run_id.clone();
        let observer = observer.clone();
        let gate = HostGate::new(settings.per_host);
        tokio::spawn(async move {
            futures_util::stream::iter(urls)
                .map(|s| async {
                    let _turn = gate.enter(&s.source).await;
                    capture_url(s, &settings, &blobs, &run_id, observer.as_ref(), &media).await
                })
                .buffer_unordered(settings.url_concurrency)
                .for_each(|p| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(p).await;
                    }
                })
                .await
        })
    };
    drop(tx);
    let committed = commit_loop(
        catalog,
        &blobs,
        log,
        rx,
        settings.batch,
        observer.as_ref(),
        &mut summary,
    )
    .await;
    let skipped = file_worker
        .await
        .map_err(|e| CoreError::Usage(format!("file worker stopped: {e}")))?;
    url_worker
        .await
        .map_err(|e| CoreError::Usage(format!("URL worker stopped: {e}")))?;
    committed?;
    summary.skipped = skipped;
    Ok(summary)
}

/// True for anything written `scheme://…`: such sources go to the URL path, where schemes
/// other than http(s) are refused with a clear error instead of being looked up as files.
fn is_url(source: &str) -> bool {
    match source.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

async fn commit_loop(
    catalog: &Catalog,
    blobs: &BlobStore,
    log: &Log,
    mut rx: mpsc::Receiver<Prepared>,
    limits: BatchLimits,
    observer: &dyn CaptureObserver,
    summary: &mut CaptureSummary,
) -> Result<(), CoreError> {
    let mut batch: Vec<Prepared> = Vec::new();
    let mut batch_bytes = 0u64;
    let mut oldest: Option<Instant> = None;
    loop {
        let wait = oldest
            .map(|t| limits.max_wait.saturating_sub(t.elapsed()))
            .unwrap_or(Duration::from_secs(3600));
        let next = tokio::time::timeout(wait, rx.recv()).await;
        let closed = matches!(next, Ok(None));
        if let Ok(Some(p)) = next {
            batch_bytes += p.blobs.iter().map(|(b, _, _)| b.size).sum::<u64>();
            batch.push(p);
            oldest.get_or_insert_with(Instant::now);
        }
        let full = batch.len() >= limits.max_captures || batch_bytes >= limits.max_bytes;
        let due = oldest.is_some_and(|t| t.elapsed() >= limits.max_wait);
        if !batch.is_empty() && (full || due || closed) {
            commit_batch(
                catalog,
                blobs,
                std::mem::take(&mut batch),
                observer,
                summary,
            )
            .await?;
            let checkpoint = log.publish(catalog).await?;
            summary.log_size = checkpoint.tree_size;
            batch_bytes = 0;
            oldest = None;
        }
        if closed {
            return Ok(());
        }
    }
}

async fn commit_batch(
    catalog: &Catalog,
    blobs: &BlobStore,
    batch: Vec<Prepared>,
    observer: &dyn CaptureObserver,
    summary: &mut CaptureSummary,
) -> Result<(), CoreError> {
    // Which main items were held before this batch (for the duplicate count).
    let mains: Vec<_> = batch
        .iter()
        .filter_map(|p| p.blobs.first().map(|(b, _, _)| b.digest))
        .collect();
    let in_catalog = catalog.items_held(&mains).await?;
    let mut held_before = Vec::with_capacity(batch.len());
    let mut seen_in_batch = HashSet::new();
    for p in &batch {
        let held = match p.blobs.first() {
            Some((b, _, _)) => !seen_in_batch.insert(b.digest) || in_catalog.contains(&b.digest),
            None => false,
        };
        held_before.push(held);
    }
    let mut records = Vec::with_capacity(batch.len());
    let mut all_blobs = Vec::new();
    for p in batch {
        let mut record = p.record;
        for (blob, role, name) in p.blobs {
            record.items.push(CaptureItem {
                sha256: blob.digest,
                size: blob.size,
                role,
                name,
            });
            all_blobs.push(blob);
        }
        records.push(record);
    }
    // (1) bytes durable under their names, (2) rows committed, (3) reported.
    let published = tokio::task::block_in_place(|| blobs.publish(all_blobs))?;
    summary.new_bytes += published
        .iter()
        .filter(|p| p.newly_stored)
        .map(|p| p.size)
        .sum::<u64>();
    let ids = catalog.commit_captures(&records).await?;
    for ((id, record), held) in ids.into_iter().zip(records).zip(held_before) {
        let stored = StoredCapture { id, record };
        match (&stored.record.status, &stored.record.failure) {
            (CaptureStatus::Failed, failure) => summary.failed.push(FailedSource {
                capture_id: id,
                source: stored.record.source.clone(),
                code: failure.as_ref().map(|f| f.code.clone()).unwrap_or_default(),
                message: failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_default(),
            }),
            (CaptureStatus::Ok, _) if held => summary.already_held += 1,
            (CaptureStatus::Ok, _) => summary.captured += 1,
        }
        observer.committed(&stored, held);
    }
    Ok(())
}

/// A file received over the web (`vigil serve`), already staged while it streamed in.
#[derive(Debug)]
pub struct Upload {
    /// The staged bytes.
    pub blob: FinishedBlob,
    /// The name the browser gave (display only, never a path).
    pub file_name: Option<String>,
    /// The `Content-Type` the browser claimed.
    pub content_type: Option<String>,
}

/// Commits uploaded files as one capture (`kind` and `method` `upload`, source
/// `upload:<first name>`), with the same durability as any capture: blobs published, rows
/// and log leaf in one transaction, then a signed checkpoint.
pub async fn commit_upload(
    catalog: &Catalog,
    blobs: &BlobStore,
    log: &Log,
    uploads: Vec<Upload>,
    collector: &str,
    note: Option<String>,
    client: serde_json::Value,
) -> Result<StoredCapture, CoreError> {
    let first = uploads
        .first()
        .and_then(|u| u.file_name.clone())
        .unwrap_or_else(|| "file".into());
    let run_id = format!("upload-{}", now_rfc3339().replace([':', '-', '.'], ""));
    let mut record = base_record(
        &format!("upload:{first}"),
        "upload",
        "upload",
        collector,
        &run_id,
    );
    record.note = note;
    record.details = json!({
        "client": client,
        "files": uploads.iter().map(|u| json!({
            "name": u.file_name, "content_type": u.content_type, "size": u.blob.size,
        })).collect::<Vec<_>>(),
    });
    let prepared = Prepared {
        record,
        blobs: uploads
            .into_iter()
            .map(|u| (u.blob, "file".to_owned(), u.file_name))
            .collect(),
    };
    struct Keep(std::sync::Mutex<Option<StoredCapture>>);
    impl CaptureObserver for Keep {
        fn committed(&self, capture: &StoredCapture, _: bool) {
            if let Ok(mut slot) = self.0.lock() {
                *slot = Some(capture.clone());
            }
        }
    }
    let keep = Keep(std::sync::Mutex::new(None));
    let mut summary = CaptureSummary::default();
    commit_batch(catalog, blobs, vec![prepared], &keep, &mut summary).await?;
    log.publish(catalog).await?;
    let stored = keep.0.lock().ok().and_then(|mut s| s.take());
    stored.ok_or_else(|| CoreError::Usage("the upload was not committed".into()))
}

fn base_record(
    source: &str,
    kind: &str,
    method: &str,
    collector: &str,
    run_id: &str,
) -> CaptureRecord {
    CaptureRecord {
        run_id: run_id.to_owned(),
        source: source.to_owned(),
        kind: kind.to_owned(),
        method: method.to_owned(),
        status: CaptureStatus::Ok,
        failure: None,
        collector: collector.to_owned(),
        captured_at: now_rfc3339(),
        vigil_version: VIGIL_VERSION.to_owned(),
        tools: BTreeMap::new(),
        note: None,
        tags: Vec::new(),
        details: json!({}),
        items: Vec::new(),
    }
}

fn failed(mut record: CaptureRecord, code: &str, message: String) -> CaptureRecord {
    record.status = CaptureStatus::Failed;
    record.failure = Some(CaptureFailure {
        code: code.to_owned(),
        message,
    });
    record
}

fn capture_paths(
    sources: Vec<CaptureSource>,
    blobs: &BlobStore,
    tx: &mpsc::Sender<Prepared>,
    observer: &dyn CaptureObserver,
    collector: &str,
    run_id: &str,
) -> Vec<SkippedEntry> {
    let mut skipped = Vec::new();
    // Walk everything first, so progress knows the total.
    let expanded: Vec<(CaptureSource, Vec<WalkEntry>)> = sources
        .into_iter()
        .map(|s| {
            let entries = files::expand(Path::new(&s.source));
            (s, entries)
        })
        .collect();
    let (count, bytes) = expanded
        .iter()
        .flat_map(|(_, e)| e)
        .filter_map(|e| match e {
            WalkEntry::File { path, .. } => {
                Some(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
            }
            _ => None,
        })
        .fold((0u64, 0u64), |(c, b), len| (c + 1, b + len));
    observer.planned(count, bytes);
    for (source, entries) in expanded {
        let single = entries.len() == 1 && Path::new(&source.source).is_file();
        let origin =
            std::path::absolute(&source.source).unwrap_or_else(|_| PathBuf::from(&source.source));
        for entry in entries {
            let prepared = match entry {
                WalkEntry::Skipped { path, reason } => {
                    observer.skipped(&path, &reason);
                    skipped.push(SkippedEntry {
                        path: path.to_string_lossy().into_owned(),
                        reason,
                    });
                    continue;
                }
                WalkEntry::Failed {
                    path,
                    code,
                    message,
                } => {
                    let shown = if single || path.as_os_str().is_empty() {
                        source.source.clone()
                    } else {
                        path.to_string_lossy().into_owned()
                    };
                    let mut record = base_record(&shown, "file", "file", collector, run_id);
                    record.details = json!({ "path": path.to_string_lossy(), "origin": origin.to_string_lossy() });
                    if let Some(hex) = files::bytes_hex(path.as_os_str()) {
                        record.details["path_hex"] = json!(hex);
                    }
                    Prepared {
                        record: failed(record, code, message),
                        blobs: Vec::new(),
                    }
                }
                WalkEntry::File {
                    path,
                    relative,
                    relative_hex,
                    symlink_target,
                } => {
                    let shown = if single {
                        source.source.clone()
                    } else {
                        path.to_string_lossy().into_owned()
                    };
                    let mut record = base_record(&shown, "file", "file", collector, run_id);
                    match files::copy_into(&path, blobs, &mut |n| observer.advanced(n)) {
                        Ok((blob, facts)) => {
                            let mut details = json!({ "file": facts });
                            if !single {
                                details["origin"] = json!(origin.to_string_lossy());
                                details["relative_path"] = json!(relative);
                                if let Some(hex) = relative_hex {
                                    // The item's name is lossy text; these are its bytes.
                                    details["relative_path_hex"] = json!(hex);
                                }
                            }
                            if let Some(t) = symlink_target {
                                details["symlink_target"] = json!(t.to_string_lossy());
                                if let Some(hex) = files::bytes_hex(t.as_os_str()) {
                                    details["symlink_target_hex"] = json!(hex);
                                }
                            }
                            record.details = details;
                            Prepared {
                                record,
                                blobs: vec![(blob, "file".to_owned(), Some(relative))],
                            }
                        }
                        Err((code, message)) => Prepared {
                            record: failed(record, code, message),
                            blobs: Vec::new(),
                        },
                    }
                }
            };
            let mut prepared = prepared;
            prepared.record.note = source.note.clone();
            prepared.record.tags = source.tags.clone();
            if tx.blocking_send(prepared).is_err() {
                // The committer stopped (store failure); it reports the cause.
                return skipped;
            }
        }
    }
    skipped
}

/// yt-dlp, Chromium and the guard proxy both must use, prepared once per run.
struct PageTools {
    ytdlp: Result<YtDlp, String>,
    chromium: Result<Chromium, String>,
    proxy: Option<GuardProxy>,
    options: Option<MediaOptions>,
    /// Browsers are heavy (hundreds of MB each): one snapshot at a time per run.
    browser_slot: tokio::sync::Semaphore,
    browser_timeout: Duration,
}

impl PageTools {
    fn disabled(why: &str) -> Self {
        PageTools {
            ytdlp: Err(why.to_owned()),
            chromium: Err(why.to_owned()),
            proxy: None,
            options: None,
            browser_slot: tokio::sync::Semaphore::new(1),
            browser_timeout: Duration::ZERO,
        }
    }

    async fn prepare(settings: &CaptureSettings) -> Self {
        let m = &settings.media;
        let ytdlp = if m.enabled {
            YtDlp::locate(m.yt_dlp.as_deref()).await
        } else {
            Err("media capture is off (--no-media)".to_owned())
        };
        let chromium = if m.browser {
            Chromium::locate(m.chromium.as_deref())
        } else {
            Err("page snapshots are off (--no-browser)".to_owned())
        };
        if ytdlp.is_err() && chromium.is_err() {
            return PageTools {
                ytdlp,
                chromium,
                ..PageTools::disabled("")
            };
        }
        let proxy =
            match GuardProxy::start(settings.http.policy.clone(), settings.http.connect_timeout)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    return PageTools::disabled(&format!("could not start the guard proxy: {e}"));
                }
            };
        let options = MediaOptions {
            max_bytes: settings.http.max_bytes,
            timeout: m.timeout,
            socket_timeout: settings.http.read_timeout,
            proxy: proxy.url(),
        };
        PageTools {
            ytdlp,
            chromium,
            proxy: Some(proxy),
            options: Some(options),
            browser_slot: tokio::sync::Semaphore::new(1),
            browser_timeout: m.browser_timeout,
        }
    }
}

/// Loads `url` in Chromium (through the guard proxy) and stages a full-page screenshot and
/// an MHTML snapshot; records what happened in `details["browser"]`. A failed snapshot does
/// not fail the capture: the HTTP body is the primary evidence, the snapshot is context.
async fn capture_page_snapshot(
    url: &str,
    tools: &PageTools,
    blobs: &BlobStore,
    record: &mut CaptureRecord,
    details: &mut serde_json::Value,
    out: &mut Vec<(FinishedBlob, String, Option<String>)>,
) {
    let (chromium, proxy) = match (&tools.chromium, &tools.proxy) {
        (Ok(c), Some(p)) => (c, p),
        (Err(why), _) => {
            details["browser"] = json!({ "tool": "chromium", "outcome": "not-run", "reason": why });
            return;
        }
        (Ok(_), None) => return,
    };
    let Ok(_slot) = tools.browser_slot.acquire().await else {
        return;
    };
    let profile = match blobs.scratch_dir() {
        Ok(d) => d,
        Err(e) => {
            details["browser"] = json!({ "tool": "chromium", "outcome": "failed", "reason": format!("no scratch directory: {e}") });
            return;
        }
    };
    let options = SnapshotOptions {
        proxy: proxy.url(),
        timeout: tools.browser_timeout,
        viewport: (1280, 1024),
    };
    let result = chromium.snapshot(url, &profile, &options).await;
    if let Err(e) = std::fs::remove_dir_all(&profile) {
        tracing::warn!(
            "could not remove browser profile {}: {e}",
            profile.display()
        );
    }
    match result {
        Ok(snap) => {
            record
                .tools
                .insert("chromium".to_owned(), snap.browser_version.clone());
            record.method.push_str("+chromium");
            let mut files = Vec::new();
            for (bytes, role, name) in [
                (&snap.screenshot_png, "screenshot", "screenshot.png"),
                (&snap.mhtml, "mhtml", "page.mhtml"),
            ] {
                match stage_bytes(blobs, bytes, name) {
                    Ok(blob) => {
                        files.push(
                            json!({ "name": name, "role": role, "sha256": blob.digest.to_hex() }),
                        );
                        out.push((blob, role.to_owned(), Some(name.to_owned())));
                    }
                    Err(e) => {
                        files.push(json!({ "name": name, "role": role, "error": e.to_string() }))
                    }
                }
            }
            details["browser"] = json!({
                "tool": "chromium",
                "version": snap.browser_version,
                "outcome": "captured",
                "title": snap.title,
                "final_url": snap.final_url,
                "files": files,
                "refused": proxy.refusals(),
            });
        }
        Err(e) => {
            details["browser"] = json!({ "tool": "chromium", "outcome": "failed", "reason": e.to_string(), "refused": proxy.refusals() });
        }
    }
}

/// Runs yt-dlp on `url` and stages what it wrote; records what happened in `details`.
/// Returns an error message when the download failed.
async fn capture_media(
    url: &str,
    media: &PageTools,
    blobs: &BlobStore,
    record: &mut CaptureRecord,
    details: &mut serde_json::Value,
    out: &mut Vec<(FinishedBlob, String, Option<String>)>,
) -> Option<String> {
    let (ytdlp, options) = match (&media.ytdlp, &media.options) {
        (Ok(y), Some(o)) => (y, o),
        (Err(why), _) => {
            details["media"] = json!({ "tool": "yt-dlp", "outcome": "not-run", "reason": why });
            return None;
        }
        _ => return None,
    };
    record
        .tools
        .insert("yt-dlp".to_owned(), ytdlp.version.clone());
    record.method = "http+yt-dlp".to_owned();
    let dir = match blobs.scratch_dir() {
        Ok(d) => d,
        Err(e) => return Some(format!("no scratch directory for yt-dlp: {e}")),
    };
    let result = ytdlp.download(url, &dir, options).await;
    let refused = media
        .proxy
        .as_ref()
        .map(|p| p.refusals())
        .unwrap_or_default();
    let failure = match result {
        Err(e) => {
            details["media"] = json!({ "tool": "yt-dlp", "version": ytdlp.version, "outcome": "failed", "reason": e.to_string(), "refused": refused });
            Some(e.to_string())
        }
        Ok(download) => {
            let mut files = Vec::new();
            for f in &download.files {
                let copied =
                    tokio::task::block_in_place(|| files::copy_into(&f.path, blobs, &mut |_| {}));
                match copied {
                    Ok((blob, _)) => {
                        files.push(json!({ "name": f.name, "role": f.role, "sha256": blob.digest.to_hex() }));
                        out.push((blob, f.role.to_owned(), Some(f.name.clone())));
                    }
                    Err((_, message)) => {
                        files.push(json!({ "name": f.name, "role": f.role, "error": message }))
                    }
                }
            }
            let tail: String = {
                let chars: Vec<char> = download.stderr_tail.chars().collect();
                chars[chars.len().saturating_sub(4000)..].iter().collect()
            };
            let mut m = serde_json::to_value(&download.outcome).unwrap_or_default();
            m["tool"] = json!("yt-dlp");
            m["version"] = json!(ytdlp.version);
            m["exit_code"] = json!(download.exit_code);
            m["files"] = json!(files);
            m["stderr_tail"] = json!(tail);
            m["refused"] = json!(refused);
            details["media"] = m;
            match download.outcome {
                MediaOutcome::Failed(why) => Some(why),
                _ => None,
            }
        }
    };
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!("could not remove scratch dir {}: {e}", dir.display());
    }
    failure
}

/// At most so many fetches of one host at once ([`CaptureSettings::per_host`]).
struct HostGate {
    per_host: Option<usize>,
    hosts: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl HostGate {
    fn new(per_host: Option<usize>) -> Self {
        HostGate {
            per_host,
            hosts: Default::default(),
        }
    }

    /// Waits for a turn at `source`'s host; `None` when hosts are not limited (or the source
    /// has no host: it fails on its own).
    async fn enter(&self, source: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let limit = self.per_host?;
        let host = url::Url::parse(source)
            .ok()?
            .host_str()?
            .to_ascii_lowercase();
        let semaphore = self
            .hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(limit.max(1))))
            .clone();
        semaphore.acquire_owned().await.ok()
    }
}

async fn capture_url(
    source: CaptureSource,
    settings: &CaptureSettings,
    blobs: &BlobStore,
    run_id: &str,
    observer: &dyn CaptureObserver,
    media: &PageTools,
) -> Prepared {
    let started = Instant::now();
    let mut record = base_record(&source.source, "url", "http", &settings.collector, run_id);
    record.note = source.note.clone();
    record.tags = source.tags.clone();
    let mut details = json!({
        "requested_url": source.source,
        "user_agent": settings.http.user_agent,
    });
    if let Some(relaxed) = settings.http.policy.relaxations() {
        // The SSRF guard was relaxed (`--allow-private`): the record says so.
        details["network_guard"] = relaxed;
    }
    if let Some(watch) = &source.watch {
        details["watch"] = watch.clone();
    }
    let platform = url::Url::parse(&source.source)
        .ok()
        .and_then(|u| social::platform_of(&u));
    if let Some(p) = platform {
        details["platform"] = json!(p);
    }
    let mut blobs_out = Vec::new();
    match http::fetch(&source.source, &settings.http, blobs).await {
        Ok(fetch) => {
            let final_hop = fetch.hops.last();
            details["final_url"] = json!(fetch.final_url);
            details["http_status"] = json!(fetch.status);
            details["remote_addr"] = json!(final_hop.and_then(|h| h.remote_addr.clone()));
            details["headers"] = json!(final_hop.map(|h| h.headers.clone()).unwrap_or_default());
            details["hops"] = json!(fetch.hops);
            details["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
            let name = url::Url::parse(&fetch.final_url)
                .ok()
                .and_then(|u| {
                    u.path_segments()
                        .and_then(|mut s| s.next_back().map(str::to_owned))
                })
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "body".to_owned());
            blobs_out.push((fetch.body, "body".to_owned(), Some(name)));
            stage_chains(&fetch.tls_chains, blobs, &mut blobs_out);
            if fetch.status >= 400 {
                record = failed(
                    record,
                    "http-status",
                    format!("{} answered HTTP {}", fetch.final_url, fetch.status),
                );
            }
        }
        Err(failure) => {
            details["hops"] = json!(failure.hops);
            details["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
            stage_chains(&failure.tls_chains, blobs, &mut blobs_out);
            record = failed(record, failure.error.code(), failure.error.to_string());
        }
    }
    let page_is_html = details["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|h| h[0] == "content-type" && h[1].as_str().is_some_and(|v| v.contains("html")));
    let refused = record
        .failure
        .as_ref()
        .is_some_and(|f| f.code == "ssrf-refused" || f.code == "invalid-url");
    if !refused && (platform.is_some() || page_is_html) {
        if settings.media.enabled {
            if platform.is_some()
                && let Err(why) = &media.ytdlp
            {
                observer.notice(&format!(
                    "{}: captured the page only; media needs yt-dlp ({why})",
                    source.source
                ));
            }
            let failure = capture_media(
                &source.source,
                media,
                blobs,
                &mut record,
                &mut details,
                &mut blobs_out,
            )
            .await;
            if let (Some(why), Some(_), CaptureStatus::Ok) = (failure, platform, record.status) {
                record = failed(record, "yt-dlp", why);
            }
        }
        if settings.media.browser {
            capture_page_snapshot(
                &source.source,
                media,
                blobs,
                &mut record,
                &mut details,
                &mut blobs_out,
            )
            .await;
        }
    }
    record.details = details;
    Prepared {
        record,
        blobs: blobs_out,
    }
}

fn stage_chains(
    chains: &[Vec<u8>],
    blobs: &BlobStore,
    out: &mut Vec<(FinishedBlob, String, Option<String>)>,
) {
    for pem in chains {
        match stage_bytes(blobs, pem, "tls-chain.pem") {
            Ok(b) => out.push((b, "tls-chain".to_owned(), Some("tls-chain.pem".to_owned()))),
            Err(e) => tracing::warn!("could not keep a TLS chain: {e}"),
        }
    }
}

/// Stages bytes already in memory (small artefacts: TLS chains, screenshots, snapshots).
pub(crate) fn stage_bytes(
    blobs: &BlobStore,
    bytes: &[u8],
    name: &str,
) -> Result<FinishedBlob, vigil_store::BlobError> {
    let mut staged = blobs.stage()?;
    staged
        .write_all(bytes)
        .map_err(|e| vigil_store::BlobError {
            action: "write",
            path: PathBuf::from(name),
            source: e,
        })?;
    staged.finish()
}

/// Reads a bulk list: CSV with a header naming `url` or `path` (or `source`), and optional
/// `note` and `tags` (separated by `;` or `,`). Without such a header, the first column is the
/// source. Blank lines and lines starting with `#` are ignored.
pub fn read_source_list(text: &str) -> Result<Vec<CaptureSource>, CoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let rows = reader.records();
    let mut out = Vec::new();
    let mut columns = (0usize, None, None);
    let mut first = true;
    for row in rows {
        let row = row.map_err(|e| CoreError::Usage(format!("source list: {e}")))?;
        if first {
            first = false;
            let names: Vec<String> = row.iter().map(|f| f.to_ascii_lowercase()).collect();
            let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
            if let Some(src) = find(&["url", "path", "source", "url or path"]) {
                columns = (src, find(&["note", "notes"]), find(&["tags", "tag"]));
                continue;
            }
        }
        let get = |i: Option<usize>| i.and_then(|i| row.get(i)).filter(|s| !s.is_empty());
        let Some(source) = get(Some(columns.0)) else {
            continue;
        };
        out.push(CaptureSource {
            source: source.to_owned(),
            note: get(columns.1).map(str::to_owned),
            tags: get(columns.2)
                .map(|t| {
                    t.split([';', ','])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            watch: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_lists_with_and_without_headers() {
        let with =
            "url,note,tags\nhttps://t.me/x/1,seen in channel,pow; video\n\n# comment\n/tmp/a,,\n";
        let got = read_source_list(with).expect("parse");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].note.as_deref(), Some("seen in channel"));
        assert_eq!(got[0].tags, ["pow", "video"]);
        assert_eq!(got[1].source, "/tmp/a");
        let bare = read_source_list("https://a.example/\nhttps://b.example/\n").expect("parse");
        assert_eq!(bare.len(), 2);
        let reordered = read_source_list("tags,path\nx,/p\n").expect("parse");
        assert_eq!(reordered[0].source, "/p");
        assert_eq!(reordered[0].tags, ["x"]);
    }

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://example.org"));
        assert!(is_url("HTTP://example.org"));
        assert!(!is_url("./http:/odd"));
        assert!(!is_url("dir/a://b"));
        assert!(
            is_url("ftp://example.org"),
            "refused later as an unsupported scheme"
        );
    }
}
