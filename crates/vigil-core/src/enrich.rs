//! Enrichment: after capture, find out what each new item is and what it says about itself,
//! compute its perceptual hashes so re-posts can be found, and make the pictures people look
//! at instead of playing a video. An item that cannot be decoded keeps its bytes untouched;
//! the job's record says why.
//!
//! Three jobs run on every captured item, each on its own thread under a time limit
//! ([`crate::jobs::run_with_limit`]), and each records how it ended
//! ([`vigil_store::JobRecord`]): a failure, a timeout or a panic on a crafted file is recorded
//! and the run goes on.
//! - `analysis`: the media kind, and PDQ hashes of still images (as stored, and as displayed
//!   when EXIF turns them) or vPDQ of videos (one PDQ hash a second, as upstream's default),
//!   keeping the frames that decode from a damaged stream. Once recorded, the store's
//!   near-duplicate index catches up and the hashes are searched
//!   ([`crate::similar::link_item`]): links and clusters are recorded as items arrive.
//! - `metadata`: what the file says about itself ([`crate::inspect`]): EXIF/XMP/IPTC, the
//!   container and its streams, Content Credentials, the post a yt-dlp `.info.json` describes,
//!   and the flags an investigator looks at twice; stored whole, every raw tag kept.
//! - `preview`: a thumbnail, and for videos keyframes where the picture changes and a contact
//!   sheet. These are *derived items*: stored as blobs and items, linked to their source by a
//!   derivation that is logged (`vigil.derivation/v1`), never added to a capture. Derived
//!   items are not themselves analysed or previewed.

use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use vigil_media::{
    DecodeLimits, MediaKind, PreviewOptions, SNIFF_LEN, VideoLimits, decode_image, image_hashes,
    image_thumbnail, sniff, video_preview, vpdq_hash,
};
use vigil_phash::{PdqHash, PdqHasher, Pipeline};
use vigil_store::{
    BlobStore, Catalog, DerivationRecord, DerivedItem, JobRecord, MediaAnalysis, PdqRow,
    Sha256Digest, StoredFlag, now_rfc3339,
};

use crate::inspect::inspect_path;
use crate::jobs::{JobFailure, run_with_limit};
use crate::similar::{NearDupIndex, link_item};
use crate::{CoreError, VIGIL_VERSION};

/// How enrichment runs.
#[derive(Debug, Clone)]
pub struct EnrichOptions {
    /// Limits on decoded images.
    pub decode_limits: DecodeLimits,
    /// Longest any one job may run on one item (default 15 minutes: vPDQ of a two-hour 1080p
    /// video takes about six here).
    pub job_time_limit: Duration,
    /// Run jobs again on items where they failed before (a timeout after raising the limit,
    /// a file a newer version can read).
    pub retry_failed: bool,
    /// Thumbnail size, keyframe selection and contact-sheet shape.
    pub preview: PreviewOptions,
}

impl Default for EnrichOptions {
    fn default() -> Self {
        EnrichOptions {
            decode_limits: DecodeLimits::default(),
            job_time_limit: Duration::from_secs(15 * 60),
            retry_failed: false,
            preview: PreviewOptions::default(),
        }
    }
}

/// A job that produced nothing on an item.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    /// The item.
    pub sha256: String,
    /// `analysis`, `metadata` or `preview`.
    pub job: &'static str,
    /// Stable code (`corrupt`, `timeout`, `panicked`, ...).
    pub code: String,
    /// What happened.
    pub message: String,
}

/// What an enrichment pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct EnrichSummary {
    /// Images hashed.
    pub images: u64,
    /// Videos hashed (vPDQ).
    pub videos: u64,
    /// Items recorded as neither image nor video.
    pub other: u64,
    /// Jobs that failed (the items' bytes are untouched).
    pub failed: Vec<FailedJob>,
    /// Near-duplicate links recorded between the items analysed and the collection.
    pub similar: u64,
    /// Metadata reports recorded.
    pub metadata: u64,
    /// Of those, reports with at least one flag.
    pub flagged: u64,
    /// Derivations recorded (and logged): one per item previewed.
    pub derivations: u64,
    /// Derived items made (thumbnails, keyframes, contact sheets).
    pub derived_items: u64,
}

/// Runs every job on every captured item it has not run on yet, then links each newly hashed
/// item to its near-duplicates through the index whose snapshot is at `index_path` (opened on
/// the first hashed item; its snapshot is rewritten at the end when enough was added).
///
/// Derivations add leaves to the log; the caller publishes a checkpoint over them
/// ([`crate::log::Log::publish`]) when [`EnrichSummary::derivations`] is not zero.
pub async fn enrich(
    catalog: &Catalog,
    blobs: &BlobStore,
    options: &EnrichOptions,
    index_path: &Path,
) -> Result<EnrichSummary, CoreError> {
    let mut summary = EnrichSummary::default();
    analysis_pass(catalog, blobs, options, index_path, &mut summary).await?;
    metadata_pass(catalog, blobs, options, &mut summary).await?;
    preview_pass(catalog, blobs, options, &mut summary).await?;
    Ok(summary)
}

/// The captured items a job has yet to run on, a page at a time (keyset paging on the
/// digest, so a pass over millions of items runs in bounded memory).
struct PendingItems {
    job: &'static str,
    retry_failed: bool,
    after: Option<String>,
}

impl PendingItems {
    fn new(job: &'static str, retry_failed: bool) -> Self {
        PendingItems {
            job,
            retry_failed,
            after: None,
        }
    }

    /// The next page; empty at the end.
    async fn next_page(
        &mut self,
        catalog: &Catalog,
    ) -> Result<Vec<vigil_store::ItemRecord>, CoreError> {
        let items = catalog
            .items_pending_job(self.job, self.retry_failed, self.after.as_deref(), 500)
            .await?;
        if let Some(last) = items.last() {
            self.after = Some(last.sha256.to_hex());
        }
        Ok(items)
    }
}

/// Records how a job ended, and counts a failure.
async fn record_job(
    catalog: &Catalog,
    summary: &mut EnrichSummary,
    sha256: &Sha256Digest,
    job: &'static str,
    seconds: f64,
    failure: Option<(String, String)>,
) -> Result<(), CoreError> {
    if let Some((code, message)) = &failure {
        summary.failed.push(FailedJob {
            sha256: sha256.to_hex(),
            job,
            code: code.clone(),
            message: message.clone(),
        });
    }
    catalog
        .record_job(&JobRecord {
            sha256: *sha256,
            job: job.into(),
            ok: failure.is_none(),
            error_code: failure.as_ref().map(|f| f.0.clone()),
            error: failure.map(|f| f.1),
            seconds,
            finished_at: now_rfc3339(),
            vigil_version: VIGIL_VERSION.to_owned(),
        })
        .await?;
    Ok(())
}

fn failure_of(e: &JobFailure) -> (String, String) {
    (e.code().to_owned(), e.to_string())
}

async fn analysis_pass(
    catalog: &Catalog,
    blobs: &BlobStore,
    options: &EnrichOptions,
    index_path: &Path,
    summary: &mut EnrichSummary,
) -> Result<(), CoreError> {
    let mut hasher = Some(PdqHasher::new());
    let mut pending = PendingItems::new("analysis", options.retry_failed);
    let mut index: Option<NearDupIndex> = None;
    loop {
        let items = pending.next_page(catalog).await?;
        if items.is_empty() {
            break;
        }
        for item in items {
            let sha = item.sha256;
            let path = blobs.path_of(&sha);
            let limits = options.decode_limits;
            let time_limit = options.job_time_limit;
            let mut job_hasher = hasher.take().unwrap_or_default();
            let (outcome, took) = tokio::task::block_in_place(|| {
                run_with_limit("analysis", time_limit, move || {
                    let a = analyse(&path, &sha, &limits, time_limit, &mut job_hasher);
                    (a, job_hasher)
                })
            });
            let analysis = match outcome {
                Ok((a, h)) => {
                    hasher = Some(h);
                    a
                }
                Err(e) => {
                    let mut a = blank_analysis(&sha);
                    a.error_code = Some(e.code().into());
                    a.error = Some(e.to_string());
                    a
                }
            };
            match (&analysis.error_code, analysis.kind.as_str()) {
                (Some(code), _) if code != "partly-decoded" => {}
                (_, "image") => summary.images += 1,
                (_, "video") => summary.videos += 1,
                _ => summary.other += 1,
            }
            catalog.record_analysis(&analysis).await?;
            let failure = match &analysis.error_code {
                Some(code) if code != "partly-decoded" => {
                    Some((code.clone(), analysis.error.clone().unwrap_or_default()))
                }
                _ => None,
            };
            record_job(
                catalog,
                summary,
                &sha,
                "analysis",
                took.as_secs_f64(),
                failure,
            )
            .await?;
            if analysis.pdq.is_empty() {
                continue;
            }
            match &mut index {
                Some(i) => {
                    i.catch_up(catalog).await?;
                }
                // Opening catches up with every recorded row, this item's included.
                None => index = Some(NearDupIndex::open(catalog, index_path).await?),
            }
            let Some(index) = &index else { continue };
            summary.similar += link_item(catalog, index, &sha).await?.len() as u64;
        }
    }
    if let Some(index) = &mut index
        && index.needs_rewrite()
        && let Err(e) = index.save()
    {
        // The catalog holds every hash; the next open rebuilds or catches up.
        tracing::warn!(error = %e, "could not write the near-duplicate index snapshot");
    }
    Ok(())
}

async fn metadata_pass(
    catalog: &Catalog,
    blobs: &BlobStore,
    options: &EnrichOptions,
    summary: &mut EnrichSummary,
) -> Result<(), CoreError> {
    let mut pending = PendingItems::new("metadata", options.retry_failed);
    loop {
        let items = pending.next_page(catalog).await?;
        if items.is_empty() {
            break;
        }
        for item in items {
            let sha = item.sha256;
            let context = catalog.capture_context(&sha).await?;
            let path = blobs.path_of(&sha);
            let (outcome, took) = tokio::task::block_in_place(|| {
                run_with_limit("metadata", options.job_time_limit, move || {
                    inspect_path(&path, &context)
                })
            });
            let failure = match outcome {
                Ok(Ok(report)) => {
                    let flags: Vec<StoredFlag> = report
                        .flags
                        .iter()
                        .map(|f| StoredFlag {
                            code: f.code.to_owned(),
                            detail: f.detail.clone(),
                        })
                        .collect();
                    let value = serde_json::to_value(&report).unwrap_or_default();
                    catalog
                        .record_metadata(&sha, &value, &flags, &now_rfc3339(), VIGIL_VERSION)
                        .await?;
                    summary.metadata += 1;
                    if !flags.is_empty() {
                        summary.flagged += 1;
                    }
                    None
                }
                Ok(Err(e)) => Some(("unreadable".to_owned(), e.to_string())),
                Err(e) => Some(failure_of(&e)),
            };
            record_job(
                catalog,
                summary,
                &sha,
                "metadata",
                took.as_secs_f64(),
                failure,
            )
            .await?;
        }
    }
    Ok(())
}

/// A picture made by the preview job, before it is stored.
struct Picture {
    role: &'static str,
    name: String,
    jpeg: Vec<u8>,
    detail: serde_json::Value,
}

/// What the preview job made of one item.
struct Preview {
    tool: &'static str,
    params: serde_json::Value,
    pictures: Vec<Picture>,
}

async fn preview_pass(
    catalog: &Catalog,
    blobs: &BlobStore,
    options: &EnrichOptions,
    summary: &mut EnrichSummary,
) -> Result<(), CoreError> {
    let mut pending = PendingItems::new("preview", options.retry_failed);
    loop {
        let items = pending.next_page(catalog).await?;
        if items.is_empty() {
            break;
        }
        for item in items {
            let sha = item.sha256;
            // A run killed between logging a derivation and recording the job: the preview
            // exists, so it is recorded rather than made (and logged) twice.
            if !catalog.derivations_of(&sha).await?.is_empty() {
                record_job(catalog, summary, &sha, "preview", 0.0, None).await?;
                continue;
            }
            let path = blobs.path_of(&sha);
            let limits = options.decode_limits;
            let mut preview_options = options.preview;
            preview_options.limits.time_limit = Some(options.job_time_limit);
            let (outcome, took) = tokio::task::block_in_place(|| {
                run_with_limit("preview", options.job_time_limit, move || {
                    preview(&path, &limits, &preview_options)
                })
            });
            let failure = match outcome {
                Ok(Ok(Some(made))) => {
                    store_derivation(catalog, blobs, &item, made, summary).await?;
                    None
                }
                Ok(Ok(None)) => None,
                Ok(Err((code, message))) => Some((code, message)),
                Err(e) => Some(failure_of(&e)),
            };
            record_job(
                catalog,
                summary,
                &sha,
                "preview",
                took.as_secs_f64(),
                failure,
            )
            .await?;
        }
    }
    Ok(())
}

/// Stores the pictures as blobs (durably), then records and logs the derivation.
async fn store_derivation(
    catalog: &Catalog,
    blobs: &BlobStore,
    source: &vigil_store::ItemRecord,
    made: Preview,
    summary: &mut EnrichSummary,
) -> Result<(), CoreError> {
    let mut finished = Vec::with_capacity(made.pictures.len());
    for picture in &made.pictures {
        finished.push(crate::capture::stage_bytes(
            blobs,
            &picture.jpeg,
            &picture.name,
        )?);
    }
    let published = tokio::task::block_in_place(|| blobs.publish(finished))?;
    let items = made
        .pictures
        .into_iter()
        .zip(published)
        .map(|(p, stored)| DerivedItem {
            sha256: stored.digest,
            size: stored.size,
            role: p.role.into(),
            name: p.name,
            detail: p.detail,
        })
        .collect::<Vec<_>>();
    summary.derived_items += items.len() as u64;
    catalog
        .commit_derivation(&DerivationRecord {
            source: source.sha256,
            source_size: source.size,
            kind: "preview".into(),
            tool: made.tool.into(),
            params: made.params,
            created_at: now_rfc3339(),
            vigil_version: VIGIL_VERSION.to_owned(),
            items,
        })
        .await?;
    summary.derivations += 1;
    Ok(())
}

/// The preview of one stored file: `None` for what has no picture (audio, documents).
fn preview(
    path: &Path,
    limits: &DecodeLimits,
    options: &PreviewOptions,
) -> Result<Option<Preview>, (String, String)> {
    let head = read_head(path).map_err(|e| ("unreadable".to_owned(), e.to_string()))?;
    match sniff(&head) {
        MediaKind::Image(_) => {
            let file =
                std::fs::File::open(path).map_err(|e| ("unreadable".to_owned(), e.to_string()))?;
            let image = decode_image(BufReader::new(file), limits)
                .map_err(|e| (e.code().to_owned(), e.to_string()))?;
            let jpeg = image_thumbnail(&image, options.max_side)
                .map_err(|e| (e.code().to_owned(), e.to_string()))?;
            Ok(Some(Preview {
                tool: "vigil-media/image_thumbnail",
                params: json!({ "max_side": options.max_side, "format": "jpeg" }),
                pictures: vec![Picture {
                    role: "thumbnail",
                    name: "thumbnail.jpg".into(),
                    jpeg,
                    detail: json!({ "source_width": image.width, "source_height": image.height }),
                }],
            }))
        }
        MediaKind::Video(_) => {
            let made =
                video_preview(path, options).map_err(|e| (e.code().to_owned(), e.to_string()))?;
            let mut pictures = Vec::new();
            if let Some(jpeg) = made.thumbnail {
                pictures.push(Picture {
                    role: "thumbnail",
                    name: "thumbnail.jpg".into(),
                    jpeg,
                    detail: json!({ "rotation_degrees": made.rotation_degrees }),
                });
            }
            for (n, k) in made.keyframes.into_iter().enumerate() {
                pictures.push(Picture {
                    role: "keyframe",
                    name: format!("keyframe-{:03}-at-{:.3}s.jpg", n + 1, k.timestamp),
                    jpeg: k.jpeg,
                    detail: json!({
                        "timestamp": k.timestamp,
                        "change": (k.change * 1000.0).round() / 1000.0,
                        "width": k.width,
                        "height": k.height,
                    }),
                });
            }
            if let Some(jpeg) = made.contact_sheet {
                pictures.push(Picture {
                    role: "contact-sheet",
                    name: "contact-sheet.jpg".into(),
                    jpeg,
                    detail: json!({ "columns": options.sheet_columns }),
                });
            }
            Ok(Some(Preview {
                tool: "vigil-media/video_preview",
                params: json!({
                    "max_side": options.max_side,
                    "min_change": options.min_change,
                    "max_keyframes": options.max_keyframes,
                    "sheet_columns": options.sheet_columns,
                    "format": "jpeg",
                    "keyframes_decoded": made.keyframes_decoded,
                    "decode_errors": made.decode_errors,
                }),
                pictures,
            }))
        }
        MediaKind::Audio(_) | MediaKind::Other => Ok(None),
    }
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(path)?
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn blank_analysis(sha256: &Sha256Digest) -> MediaAnalysis {
    MediaAnalysis {
        sha256: *sha256,
        kind: "other".into(),
        format: None,
        width: None,
        height: None,
        orientation: None,
        error_code: None,
        error: None,
        analysed_at: now_rfc3339(),
        vigil_version: VIGIL_VERSION.to_owned(),
        pdq: Vec::new(),
    }
}

/// Analyses one stored file.
fn analyse(
    path: &Path,
    sha256: &Sha256Digest,
    limits: &DecodeLimits,
    time_limit: Duration,
    hasher: &mut PdqHasher,
) -> MediaAnalysis {
    let mut analysis = blank_analysis(sha256);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            analysis.error_code = Some("unreadable".into());
            analysis.error = Some(format!("{}: {e}", path.display()));
            return analysis;
        }
    };
    let mut head = [0u8; SNIFF_LEN];
    let n = read_up_to(&mut file, &mut head);
    match sniff(&head[..n]) {
        MediaKind::Video(format) => {
            analysis.kind = "video".into();
            analysis.format = Some(format.into());
            drop(file);
            video(&mut analysis, path, time_limit);
            analysis
        }
        MediaKind::Audio(format) => {
            analysis.kind = "audio".into();
            analysis.format = Some(format.into());
            analysis
        }
        MediaKind::Other => analysis,
        MediaKind::Image(format) => {
            analysis.kind = "image".into();
            analysis.format = Some(format.into());
            if let Err(e) = file.rewind() {
                analysis.error_code = Some("unreadable".into());
                analysis.error = Some(e.to_string());
                return analysis;
            }
            match image_hashes(BufReader::new(file), limits, Pipeline::default(), hasher) {
                Ok(h) => {
                    analysis.width = Some(h.width);
                    analysis.height = Some(h.height);
                    analysis.orientation = Some(h.orientation);
                    analysis.pdq.push(pdq_row("stored", &h.stored));
                    if let Some(d) = &h.displayed {
                        analysis.pdq.push(pdq_row("displayed", d));
                    }
                }
                Err(e) => {
                    analysis.error_code = Some(e.code().into());
                    analysis.error = Some(e.to_string());
                }
            }
            analysis
        }
    }
}

/// vPDQ of a stored video, one frame a second; a stream damaged part-way keeps the frames
/// that decoded and says how much failed.
fn video(analysis: &mut MediaAnalysis, path: &Path, time_limit: Duration) {
    let limits = VideoLimits {
        time_limit: Some(time_limit),
        ..VideoLimits::default()
    };
    match vpdq_hash(path, 1.0, None, &limits) {
        Ok(report) => {
            analysis.width = Some(report.width);
            analysis.height = Some(report.height);
            analysis.pdq = frame_rows(&report.frames);
            if report.decode_errors > 0 {
                analysis.error_code = Some("partly-decoded".into());
                analysis.error = Some(format!(
                    "{} packet(s) or frame(s) failed to decode; the sampled frames among the {} that decoded are hashed",
                    report.decode_errors, report.frame_count
                ));
            }
        }
        Err(e) => {
            analysis.error_code = Some(e.code().into());
            analysis.error = Some(e.to_string());
        }
    }
}

/// The catalog rows of a video's vPDQ frames.
pub(crate) fn frame_rows(frames: &[vigil_media::VpdqFrame]) -> Vec<PdqRow> {
    frames
        .iter()
        .map(|f| PdqRow {
            variant: "frame".into(),
            frame: f.frame as i64,
            timestamp: Some(f.timestamp),
            hash: f.hash.0,
            quality: f.quality,
        })
        .collect()
}

fn pdq_row(variant: &str, (hex, quality): &(String, u8)) -> PdqRow {
    PdqRow {
        variant: variant.into(),
        frame: -1,
        timestamp: None,
        hash: PdqHash::from_hex(hex).map(|h| h.0).unwrap_or([0; 32]),
        quality: *quality,
    }
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}
