//! Enrichment: after capture, find out what each new item is and compute its perceptual
//! hashes, so re-posts can be found. An item that cannot be decoded keeps its bytes untouched;
//! its analysis records the error.
//!
//! Still images are hashed with PDQ (as stored, and as displayed when EXIF turns them); videos
//! with vPDQ (one PDQ hash a second, as upstream's default), keeping the frames that decode
//! from a damaged stream. Everything else is recorded as `other` or `audio` without hashes.
//!
//! Once an item's hashes are recorded, the store's near-duplicate index catches up with them
//! and they are searched ([`crate::similar::link_item`]): links to the items they match are
//! recorded and clusters merged, so "have we seen this before?" is answered as items arrive.

use std::io::{BufReader, Read, Seek};

use serde::Serialize;
use vigil_media::{
    DecodeLimits, MediaKind, SNIFF_LEN, VideoLimits, image_hashes, sniff, vpdq_hash,
};
use vigil_phash::{PdqHash, PdqHasher, Pipeline};
use vigil_store::{BlobStore, Catalog, MediaAnalysis, PdqRow, now_rfc3339};

use crate::similar::{NearDupIndex, link_item};
use crate::{CoreError, VIGIL_VERSION};

/// What an enrichment pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct EnrichSummary {
    /// Images hashed.
    pub images: u64,
    /// Videos hashed (vPDQ).
    pub videos: u64,
    /// Items recorded as neither image nor video.
    pub other: u64,
    /// Items whose analysis failed: (sha256, code, message).
    pub failed: Vec<(String, String, String)>,
    /// Near-duplicate links recorded between the items analysed and the collection.
    pub similar: u64,
}

/// Analyses every item that has none yet, then links each hashed item to its near-duplicates
/// through the index whose snapshot is at `index_path` (opened on the first hashed item;
/// its snapshot is rewritten at the end when enough was added in memory).
pub async fn enrich(
    catalog: &Catalog,
    blobs: &BlobStore,
    limits: &DecodeLimits,
    index_path: &std::path::Path,
) -> Result<EnrichSummary, CoreError> {
    let mut summary = EnrichSummary::default();
    let mut hasher = PdqHasher::new();
    let mut after: Option<String> = None;
    let mut index: Option<NearDupIndex> = None;
    loop {
        let items = catalog
            .items_without_analysis(after.as_deref(), 500)
            .await?;
        let Some(last) = items.last() else {
            break;
        };
        after = Some(last.sha256.to_hex());
        for item in items {
            let analysis =
                tokio::task::block_in_place(|| analyse(blobs, &item.sha256, limits, &mut hasher));
            match (&analysis.error_code, analysis.kind.as_str()) {
                (Some(code), _) => summary.failed.push((
                    item.sha256.to_hex(),
                    code.clone(),
                    analysis.error.clone().unwrap_or_default(),
                )),
                (None, "image") => summary.images += 1,
                (None, "video") => summary.videos += 1,
                _ => summary.other += 1,
            }
            catalog.record_analysis(&analysis).await?;
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
            summary.similar += link_item(catalog, index, &item.sha256).await?.len() as u64;
        }
    }
    if let Some(index) = &mut index
        && index.needs_rewrite()
        && let Err(e) = index.save()
    {
        // The catalog holds every hash; the next open rebuilds or catches up.
        tracing::warn!(error = %e, "could not write the near-duplicate index snapshot");
    }
    Ok(summary)
}

/// Analyses one blob.
fn analyse(
    blobs: &BlobStore,
    sha256: &vigil_store::Sha256Digest,
    limits: &DecodeLimits,
    hasher: &mut PdqHasher,
) -> MediaAnalysis {
    let mut analysis = MediaAnalysis {
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
    };
    let mut file = match blobs.open_blob(sha256) {
        Ok(f) => f,
        Err(e) => {
            analysis.error_code = Some("unreadable".into());
            analysis.error = Some(e.to_string());
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
            video(&mut analysis, &blobs.path_of(sha256));
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
fn video(analysis: &mut MediaAnalysis, path: &std::path::Path) {
    match vpdq_hash(path, 1.0, None, &VideoLimits::default()) {
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
