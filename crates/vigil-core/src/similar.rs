//! Near-duplicates: have we seen this picture or footage before, where first, and who has
//! re-posted it since?
//!
//! - [`NearDupIndex`]: the store's index of PDQ hashes (every catalog row of quality at least
//!   [`MIN_QUALITY`]): the snapshot at `STORE/index/pdq.vhix`, memory-mapped, plus the rows
//!   added to the catalog since, in memory. The catalog is the truth; the snapshot is a cache
//!   of it. A snapshot that is damaged, or that names rows the catalog holds with another
//!   hash, or ids the catalog never gave, is rebuilt, never trusted. When search results are
//!   resolved back to rows, ids whose row is gone (the item was re-analysed) or whose hash
//!   no longer gives the distance found are skipped: every reported match is a match of the
//!   catalog as it is.
//! - [`link_item`]: run by enrichment after an item's hashes are recorded: searches them and
//!   records [`Similarity`] links (images and video frames by PDQ distance, videos with videos
//!   by the vPDQ rule), merging clusters.
//! - [`find_similar`]: what `vigil similar` lists, for a file hashed on the fly or a stored
//!   item, at any radius.
//! - [`spread`]: the timeline of every capture of every item in an item's cluster.
//! - [`export_hash_list`], [`match_hash_list`]: hash lists shared with other organisations.
//!
//! Crash safety: links and cluster merges are written in one transaction each
//! ([`Catalog::record_similarity`]); the snapshot is replaced whole by rename. A crash between
//! recording an item's hashes and linking it leaves the item unlinked until it is analysed
//! again (links are derived data; the hashes and the bytes are intact).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use vigil_media::{
    DecodeLimits, MatchedSegment, MediaKind, SNIFF_LEN, SegmentOptions, VideoLimits, VpdqFrame,
    image_hashes, sniff, vpdq_hash, vpdq_match, vpdq_segments,
};
use vigil_phash::hashlist::{HashList, HashListEntry, format_hash_list_line, parse_hash_list};
use vigil_phash::{HashIndex, MATCH_DISTANCE, MIN_QUALITY, PdqHash, PdqHasher, SearchOptions};
use vigil_store::{
    BlobStore, Catalog, Cluster, HashListInfo, IndexedPdqRow, PdqRow, Sha256Digest, Similarity,
    SimilarityMethod, StoredCapture, StoredListEntry, now_rfc3339, open_hash_index,
    save_hash_index,
};

use crate::CoreError;

/// Share (percent) of each video's quality frames that must find a partner for two videos to
/// be the same footage: upstream vPDQ's default.
pub const VIDEO_MATCH_PERCENT: f64 = 80.0;

/// Hashes added in memory after which enrichment rewrites the snapshot, so that opening the
/// index never re-reads more than this many rows from the catalog.
pub const REWRITE_TAIL: usize = 50_000;

/// Rows read from the catalog per query while catching up or rebuilding.
const PAGE: i64 = 10_000;

/// Entries of a snapshot checked against the catalog when it is opened.
const SPOT_CHECKS: usize = 64;

/// How the index came to be as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum IndexOrigin {
    /// Loaded from the snapshot.
    Snapshot,
    /// There was no snapshot: built from the catalog in memory.
    NoSnapshot,
    /// The snapshot could not be used and was rebuilt from the catalog.
    Rebuilt {
        /// Why the old one was not used.
        reason: String,
    },
}

/// The store's near-duplicate index: snapshot plus in-memory tail (see the module docs).
pub struct NearDupIndex {
    path: PathBuf,
    index: HashIndex,
    /// Every catalog row with an id up to this, of sufficient quality, is in `index`.
    covered: i64,
    /// Hashes added since the snapshot was read or written.
    tail: usize,
    origin: IndexOrigin,
}

impl std::fmt::Debug for NearDupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearDupIndex")
            .field("path", &self.path)
            .field("len", &self.index.len())
            .field("covered", &self.covered)
            .field("tail", &self.tail)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A catalog row found by a search, with its distance to the query hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowMatch {
    /// Hamming distance to the query hash.
    pub distance: u32,
    /// The row.
    pub row: IndexedPdqRow,
}

impl NearDupIndex {
    /// Opens the index of the store whose snapshot lives at `path` (normally
    /// `StoreLayout::pdq_index`): the snapshot when it checks out against the catalog, else a
    /// rebuild (written back at once), then the catalog rows added since.
    pub async fn open(catalog: &Catalog, path: &Path) -> Result<NearDupIndex, CoreError> {
        let last_id = catalog.last_pdq_id().await?;
        let loaded = match open_hash_index(path) {
            Ok(Some(index)) => match check_snapshot(catalog, &index, last_id).await? {
                Ok(covered) => Ok((index, covered)),
                Err(reason) => Err(reason),
            },
            Ok(None) => {
                let mut index = NearDupIndex {
                    path: path.to_path_buf(),
                    index: HashIndex::new(),
                    covered: 0,
                    tail: 0,
                    origin: IndexOrigin::NoSnapshot,
                };
                index.catch_up(catalog).await?;
                return Ok(index);
            }
            // Unreadable or not a valid snapshot: the catalog can always rebuild it.
            Err(e) => Err(e.to_string()),
        };
        match loaded {
            Ok((index, covered)) => {
                let mut index = NearDupIndex {
                    path: path.to_path_buf(),
                    index,
                    covered,
                    tail: 0,
                    origin: IndexOrigin::Snapshot,
                };
                index.catch_up(catalog).await?;
                Ok(index)
            }
            Err(reason) => {
                tracing::warn!(%reason, path = %path.display(), "rebuilding the near-duplicate index");
                let mut index = NearDupIndex::rebuild(catalog, path).await?;
                index.origin = IndexOrigin::Rebuilt { reason };
                Ok(index)
            }
        }
    }

    /// Builds the index from the catalog alone and writes it as the snapshot.
    pub async fn rebuild(catalog: &Catalog, path: &Path) -> Result<NearDupIndex, CoreError> {
        let mut index = NearDupIndex {
            path: path.to_path_buf(),
            index: HashIndex::new(),
            covered: 0,
            tail: 0,
            origin: IndexOrigin::Rebuilt {
                reason: "asked for".into(),
            },
        };
        index.catch_up(catalog).await?;
        index.save()?;
        Ok(index)
    }

    /// Adds the catalog rows written since the index last looked (ids above those covered,
    /// quality at least [`MIN_QUALITY`]). Returns how many were added.
    pub async fn catch_up(&mut self, catalog: &Catalog) -> Result<usize, CoreError> {
        // Read first: every row with an id up to it is committed (ids are given under the
        // write lock, in commit order), so the pages below see all of those of quality.
        let high = catalog.last_pdq_id().await?;
        let mut added = 0;
        loop {
            let rows = catalog
                .pdq_rows_after(self.covered, MIN_QUALITY, PAGE)
                .await?;
            let Some(last) = rows.last() else { break };
            self.covered = last.id;
            let hashes: Vec<(u64, PdqHash)> = rows
                .iter()
                .map(|r| (r.id as u64, PdqHash(r.row.hash)))
                .collect();
            self.index.extend(hashes.iter().map(|(id, h)| (*id, h)));
            added += rows.len();
        }
        // Rows of low quality up to `high` are covered too: they are never indexed, and ids
        // only grow.
        self.covered = self.covered.max(high);
        self.tail += added;
        Ok(added)
    }

    /// Writes the whole index as the snapshot (atomically replacing the old one).
    pub fn save(&mut self) -> Result<(), CoreError> {
        save_hash_index(&self.index, &self.path)?;
        self.tail = 0;
        Ok(())
    }

    /// Whether enough was added in memory that the snapshot should be rewritten.
    pub fn needs_rewrite(&self) -> bool {
        self.tail >= REWRITE_TAIL || (self.origin == IndexOrigin::NoSnapshot && self.tail > 0)
    }

    /// Hashes held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no hash is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Hashes added in memory since the snapshot was read or written.
    pub fn tail_len(&self) -> usize {
        self.tail
    }

    /// How the index was opened.
    pub fn origin(&self) -> &IndexOrigin {
        &self.origin
    }

    /// The catalog rows within `radius` of each query, nearest first (one list per query).
    /// Exact: the same rows as comparing each query with every indexed catalog row.
    pub async fn search(
        &self,
        catalog: &Catalog,
        queries: &[PdqHash],
        radius: u32,
    ) -> Result<Vec<Vec<RowMatch>>, CoreError> {
        let options = SearchOptions {
            radius,
            ..Default::default()
        };
        let found = tokio::task::block_in_place(|| self.index.search_batch(queries, &options));
        let mut ids: Vec<i64> = found.iter().flatten().map(|m| m.id as i64).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows: HashMap<i64, IndexedPdqRow> = catalog
            .pdq_rows_by_ids(&ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        Ok(found
            .into_iter()
            .zip(queries)
            .map(|(matches, query)| {
                matches
                    .into_iter()
                    .filter_map(|m| {
                        let row = rows.get(&(m.id as i64))?;
                        // A row whose hash changed under the same id is not what was found.
                        (query.distance(&PdqHash(row.row.hash)) == m.distance).then(|| RowMatch {
                            distance: m.distance,
                            row: row.clone(),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}

/// Spot-checks a snapshot against the catalog: `Ok(covered id)`, or `Err(why it is stale)`.
async fn check_snapshot(
    catalog: &Catalog,
    index: &HashIndex,
    last_id: i64,
) -> Result<Result<i64, String>, CoreError> {
    let n = index.len();
    if n == 0 {
        return Ok(Ok(0));
    }
    let Some((last, _)) = index.get(n - 1) else {
        return Ok(Err("the snapshot cannot be read".into()));
    };
    if last as i64 > last_id || last > i64::MAX as u64 {
        return Ok(Err(format!(
            "the snapshot names hash row {last}, but the catalog has given ids up to {last_id} \
             (a snapshot of another catalog, or of this one before it was restored)"
        )));
    }
    let picks: Vec<usize> = (0..SPOT_CHECKS.min(n))
        .map(|k| k * (n - 1) / (SPOT_CHECKS.min(n) - 1).max(1))
        .collect();
    let mut sample = Vec::with_capacity(picks.len());
    for p in picks {
        match index.get(p) {
            Some(e) => sample.push(e),
            None => return Ok(Err("the snapshot cannot be read".into())),
        }
    }
    if sample.windows(2).any(|w| w[0].0 > w[1].0) {
        return Ok(Err("the snapshot's ids are out of order".into()));
    }
    let ids: Vec<i64> = sample.iter().map(|(id, _)| *id as i64).collect();
    let rows: HashMap<i64, [u8; 32]> = catalog
        .pdq_rows_by_ids(&ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r.row.hash))
        .collect();
    for (id, hash) in &sample {
        if let Some(h) = rows.get(&(*id as i64))
            && *h != hash.0
        {
            return Ok(Err(format!(
                "hash row {id} differs between the snapshot and the catalog"
            )));
        }
    }
    Ok(Ok(last as i64))
}

/// One hash of a query or an item, and where in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HashPlace {
    /// `stored`, `displayed` or `frame`.
    pub variant: String,
    /// Video frame number; -1 for still images.
    pub frame: i64,
    /// Seconds into the video.
    pub timestamp: Option<f64>,
}

impl HashPlace {
    fn of(row: &PdqRow) -> HashPlace {
        HashPlace {
            variant: row.variant.clone(),
            frame: row.frame,
            timestamp: row.timestamp,
        }
    }
}

/// What to look for: the hashes of an image (as stored and as displayed) or of a video's
/// frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `image` or `video`.
    pub kind: String,
    /// The hashes, as the catalog would hold them.
    pub hashes: Vec<PdqRow>,
    /// The stored item the query is, when it is one (it is left out of the results).
    pub item: Option<Sha256Digest>,
}

impl Query {
    fn is_video(&self) -> bool {
        self.kind == "video"
    }
}

/// Hashes a file that need not be in the store: PDQ of an image as stored and as displayed,
/// or vPDQ of a video at one frame a second, as enrichment would.
pub fn query_from_file(path: &Path) -> Result<Query, CoreError> {
    let io = |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let media = |code: &str, message: String| CoreError::Media {
        path: path.to_path_buf(),
        code: code.to_owned(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]).map_err(io)? {
            0 => break,
            k => n += k,
        }
    }
    match sniff(&head[..n]) {
        MediaKind::Video(_) => {
            drop(file);
            let report = vpdq_hash(path, 1.0, None, &VideoLimits::default())
                .map_err(|e| media(e.code(), e.to_string()))?;
            Ok(Query {
                kind: "video".into(),
                hashes: crate::enrich::frame_rows(&report.frames),
                item: None,
            })
        }
        _ => {
            file.rewind().map_err(io)?;
            let h = image_hashes(
                BufReader::new(file),
                &DecodeLimits::default(),
                vigil_phash::Pipeline::default(),
                &mut PdqHasher::new(),
            )
            .map_err(|e| media(e.code(), e.to_string()))?;
            let mut hashes = Vec::new();
            for (variant, (hex, quality)) in std::iter::once(("stored", &h.stored))
                .chain(h.displayed.as_ref().map(|d| ("displayed", d)))
            {
                let hash =
                    PdqHash::from_hex(hex).map_err(|e| media("unhashable", e.to_string()))?;
                hashes.push(PdqRow {
                    variant: variant.into(),
                    frame: -1,
                    timestamp: None,
                    hash: hash.0,
                    quality: *quality,
                });
            }
            Ok(Query {
                kind: "image".into(),
                hashes,
                item: None,
            })
        }
    }
}

/// The query a stored item makes: its recorded hashes.
pub async fn query_from_item(catalog: &Catalog, item: &Sha256Digest) -> Result<Query, CoreError> {
    let kind = catalog.media_kind(item).await?.ok_or_else(|| {
        CoreError::Usage(format!(
            "item {item} has not been analysed yet (run `vigil enrich`)"
        ))
    })?;
    let hashes = catalog
        .pdq_rows_of(item)
        .await?
        .into_iter()
        .map(|r| r.row)
        .collect();
    Ok(Query {
        kind,
        hashes,
        item: Some(*item),
    })
}

/// How a video query compares with a stored video by the vPDQ rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoComparison {
    /// Share of the query's quality frames with a partner in the item.
    pub query_match_percent: f64,
    /// Share of the item's quality frames with a partner in the query.
    pub item_match_percent: f64,
    /// Both shares at least [`VIDEO_MATCH_PERCENT`]: the same footage.
    pub matched: bool,
    /// Stretches of footage found in both (`query_*` times in the query, `target_*` in the
    /// item).
    pub segments: Vec<MatchedSegment>,
}

/// A capture of an item, in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureRef {
    /// Capture number.
    pub id: i64,
    /// When we captured it (RFC 3339, UTC).
    pub captured_at: String,
    /// The source as given.
    pub source: String,
    /// How it was collected.
    pub method: String,
}

/// A stored item near the query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarItem {
    /// The item.
    #[serde(with = "vigil_store::digest_hex")]
    pub sha256: Sha256Digest,
    /// Its media kind.
    pub kind: Option<String>,
    /// The smallest distance between a query hash and one of the item's.
    pub distance: u32,
    /// Which query hash that was.
    pub query_hash: HashPlace,
    /// Which hash of the item.
    pub item_hash: HashPlace,
    /// For a video query and a video item: the vPDQ comparison.
    pub video: Option<VideoComparison>,
    /// The captures that hold the item, oldest first.
    pub captures: Vec<CaptureRef>,
}

/// What [`find_similar`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarReport {
    /// `image` or `video`.
    pub kind: String,
    /// The radius searched.
    pub radius: u32,
    /// Query hashes searched (quality at least [`MIN_QUALITY`]).
    pub hashes_searched: usize,
    /// Query hashes left out for low quality.
    pub hashes_low_quality: usize,
    /// The items found, nearest first (videos: the vPDQ matches first).
    pub items: Vec<SimilarItem>,
}

/// Finds the stored items within `radius` of the query's hashes. For a video query, each
/// stored video with a frame in range is compared by the vPDQ rule at the same radius (its
/// percentages and shared segments are reported; `matched` says whether it is the same
/// footage); images and single frames are reported by distance.
pub async fn find_similar(
    catalog: &Catalog,
    index: &NearDupIndex,
    query: &Query,
    radius: u32,
) -> Result<SimilarReport, CoreError> {
    search_query(catalog, index, query, radius, true).await
}

/// [`find_similar`], with each item's captures looked up only when `with_captures` is set
/// (linking after enrichment needs none, and a much re-posted item has thousands).
async fn search_query(
    catalog: &Catalog,
    index: &NearDupIndex,
    query: &Query,
    radius: u32,
    with_captures: bool,
) -> Result<SimilarReport, CoreError> {
    let good: Vec<&PdqRow> = query
        .hashes
        .iter()
        .filter(|h| h.quality >= MIN_QUALITY)
        .collect();
    let hashes: Vec<PdqHash> = good.iter().map(|h| PdqHash(h.hash)).collect();
    let found = index.search(catalog, &hashes, radius).await?;
    let best = nearest_per_item(&good, found, query.item.as_ref());
    let mut items = Vec::with_capacity(best.len());
    for (sha, (distance, q, row)) in best {
        let kind = catalog.media_kind(&sha).await?;
        let video = if query.is_video() && kind.as_deref() == Some("video") {
            let theirs = frames_of(&catalog.pdq_rows_of(&sha).await?);
            let mine = frames(query.hashes.iter());
            let m = vpdq_match(&mine, &theirs, radius, MIN_QUALITY);
            let segments = vpdq_segments(
                &mine,
                &theirs,
                &SegmentOptions {
                    distance: radius,
                    ..Default::default()
                },
            );
            Some(VideoComparison {
                query_match_percent: m.query_match_percent,
                item_match_percent: m.target_match_percent,
                matched: m.is_match(VIDEO_MATCH_PERCENT),
                segments,
            })
        } else {
            None
        };
        items.push(SimilarItem {
            sha256: sha,
            kind,
            distance,
            query_hash: HashPlace::of(q),
            item_hash: HashPlace::of(&row.row),
            video,
            captures: if with_captures {
                capture_refs(catalog, &sha).await?
            } else {
                Vec::new()
            },
        });
    }
    items.sort_by(|a, b| {
        let matched = |i: &SimilarItem| !i.video.as_ref().is_some_and(|v| v.matched);
        (matched(a), a.distance, a.sha256).cmp(&(matched(b), b.distance, b.sha256))
    });
    Ok(SimilarReport {
        kind: query.kind.clone(),
        radius,
        hashes_searched: good.len(),
        hashes_low_quality: query.hashes.len() - good.len(),
        items,
    })
}

/// For each item found (but `exclude`), the nearest (distance, query hash, item row).
fn nearest_per_item<'q>(
    queries: &[&'q PdqRow],
    found: Vec<Vec<RowMatch>>,
    exclude: Option<&Sha256Digest>,
) -> BTreeMap<Sha256Digest, (u32, &'q PdqRow, IndexedPdqRow)> {
    let mut best: BTreeMap<Sha256Digest, (u32, &PdqRow, IndexedPdqRow)> = BTreeMap::new();
    for (q, matches) in queries.iter().zip(found) {
        for m in matches {
            if Some(&m.row.sha256) == exclude {
                continue;
            }
            let better = best
                .get(&m.row.sha256)
                .is_none_or(|(d, _, _)| m.distance < *d);
            if better {
                best.insert(m.row.sha256, (m.distance, *q, m.row));
            }
        }
    }
    best
}

fn frames<'a>(rows: impl Iterator<Item = &'a PdqRow>) -> Vec<VpdqFrame> {
    rows.filter(|r| r.variant == "frame")
        .map(|r| VpdqFrame {
            frame: r.frame.max(0) as u64,
            quality: r.quality,
            hash: PdqHash(r.hash),
            timestamp: r.timestamp.unwrap_or(f64::NAN),
        })
        .collect()
}

fn frames_of(rows: &[IndexedPdqRow]) -> Vec<VpdqFrame> {
    frames(rows.iter().map(|r| &r.row))
}

async fn capture_refs(
    catalog: &Catalog,
    item: &Sha256Digest,
) -> Result<Vec<CaptureRef>, CoreError> {
    let mut out = Vec::new();
    for id in catalog.captures_with_item(item).await? {
        if let Some(c) = catalog.capture(id).await? {
            out.push(CaptureRef {
                id: c.id,
                captured_at: c.record.captured_at,
                source: c.record.source,
                method: c.record.method,
            });
        }
    }
    out.sort_by(|a, b| (&a.captured_at, a.id).cmp(&(&b.captured_at, b.id)));
    Ok(out)
}

/// Searches an item's recorded hashes (after enrichment recorded them, with the index caught
/// up) and records a link to every near-duplicate: an image with images and video frames by
/// the smallest PDQ distance (within [`MATCH_DISTANCE`]); a video with videos by the vPDQ
/// rule (both percentages and the shared segments in the detail), and with images by PDQ.
/// Returns the links recorded.
pub async fn link_item(
    catalog: &Catalog,
    index: &NearDupIndex,
    item: &Sha256Digest,
) -> Result<Vec<Similarity>, CoreError> {
    let query = query_from_item(catalog, item).await?;
    if query.hashes.iter().all(|h| h.quality < MIN_QUALITY) {
        return Ok(Vec::new());
    }
    let report = search_query(catalog, index, &query, MATCH_DISTANCE, false).await?;
    let mut links = Vec::new();
    for found in report.items {
        if found.sha256 == *item {
            continue;
        }
        let (a_is_query, item_a, item_b) = if *item < found.sha256 {
            (true, *item, found.sha256)
        } else {
            (false, found.sha256, *item)
        };
        let orient = |mine: serde_json::Value, theirs: serde_json::Value| {
            if a_is_query {
                (mine, theirs)
            } else {
                (theirs, mine)
            }
        };
        let (method, detail) = match &found.video {
            Some(v) if !v.matched => continue,
            Some(v) => {
                let (a, b) = orient(
                    serde_json::json!(v.query_match_percent),
                    serde_json::json!(v.item_match_percent),
                );
                let segments: Vec<serde_json::Value> = v
                    .segments
                    .iter()
                    .map(|s| {
                        let (a_span, b_span) = orient(
                            serde_json::json!([s.query_start, s.query_end]),
                            serde_json::json!([s.target_start, s.target_end]),
                        );
                        serde_json::json!({
                            "a_seconds": a_span,
                            "b_seconds": b_span,
                            "frames": s.frames,
                            "mean_distance": s.mean_distance,
                        })
                    })
                    .collect();
                (
                    SimilarityMethod::Vpdq,
                    serde_json::json!({
                        "a_match_percent": a,
                        "b_match_percent": b,
                        "threshold_percent": VIDEO_MATCH_PERCENT,
                        "segments": segments,
                    }),
                )
            }
            None => {
                let (a, b) = orient(
                    serde_json::to_value(&found.query_hash).unwrap_or_default(),
                    serde_json::to_value(&found.item_hash).unwrap_or_default(),
                );
                (SimilarityMethod::Pdq, serde_json::json!({ "a": a, "b": b }))
            }
        };
        let link = Similarity {
            item_a,
            item_b,
            method,
            distance: found.distance,
            detail,
            found_at: now_rfc3339(),
        };
        catalog.record_similarity(&link).await?;
        links.push(link);
    }
    Ok(links)
}

/// Links every item that has hashes to its near-duplicates ([`link_item`] for each): for
/// stores whose items were analysed before links existed, or after the rules changed. Links
/// already recorded are kept (found again, they are updated). Returns the link writes (a
/// pair is found from both of its items, so it counts twice).
pub async fn relink_all(catalog: &Catalog, index: &NearDupIndex) -> Result<u64, CoreError> {
    let mut after = None;
    let mut links = 0;
    loop {
        let items = catalog.hashed_items_after(after.as_ref(), 500).await?;
        let Some(last) = items.last() else {
            return Ok(links);
        };
        after = Some(*last);
        for item in &items {
            links += link_item(catalog, index, item).await?.len() as u64;
        }
    }
}

/// One capture in an item's spread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadEntry {
    /// Capture number.
    pub capture_id: i64,
    /// The item of the cluster this capture holds.
    #[serde(with = "vigil_store::digest_hex")]
    pub item: Sha256Digest,
    /// When we captured it (RFC 3339, UTC): our clock, the only time we vouch for.
    pub captured_at: String,
    /// The first capture we hold of anything in the cluster. Never "the original": something
    /// older may exist that we did not capture.
    pub earliest_we_hold: bool,
    /// `"earliest we hold"` on that capture, so every reader of the JSON gets the wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'static str>,
    /// The source as given.
    pub source: String,
    /// How it was collected.
    pub method: String,
    /// `ok` or `failed`.
    pub status: String,
    /// Where it was posted: yt-dlp's `extractor_key` when the capture has an `.info.json`,
    /// else the URL's host; `file` for files.
    pub platform: String,
    /// Who posted it, as the platform says (`uploader`, else `channel`).
    pub account: Option<String>,
    /// When the platform says it was posted (`timestamp` as RFC 3339, else `upload_date` as
    /// a date): a claim we cannot check.
    pub posted_at: Option<String>,
}

/// An item's cluster and every capture of its members, earliest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// The item asked about.
    #[serde(with = "vigil_store::digest_hex")]
    pub item: Sha256Digest,
    /// Its cluster.
    pub cluster: Cluster,
    /// The captures, by `captured_at` (then capture number).
    pub captures: Vec<SpreadEntry>,
}

/// The label of the first capture of a spread: all we can say is that we hold nothing older.
pub const EARLIEST_WE_HOLD: &str = "earliest we hold";

/// Largest `.info.json` read for the spread (yt-dlp's are usually well under 1 MiB).
const INFO_JSON_LIMIT: u64 = 16 << 20;

/// The timeline of every capture of every item in `item`'s cluster.
pub async fn spread(
    catalog: &Catalog,
    blobs: &BlobStore,
    item: &Sha256Digest,
) -> Result<Spread, CoreError> {
    let cluster = catalog.cluster_of(item).await?;
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for member in &cluster.members {
        for id in catalog.captures_with_item(member).await? {
            if !seen.insert((id, *member)) {
                continue;
            }
            let Some(c) = catalog.capture(id).await? else {
                continue;
            };
            entries.push(spread_entry(blobs, member, &c));
        }
    }
    entries.sort_by(|a, b| (&a.captured_at, a.capture_id).cmp(&(&b.captured_at, b.capture_id)));
    if let Some(first) = entries.first_mut() {
        first.earliest_we_hold = true;
        first.label = Some(EARLIEST_WE_HOLD);
    }
    Ok(Spread {
        item: *item,
        cluster,
        captures: entries,
    })
}

fn spread_entry(blobs: &BlobStore, member: &Sha256Digest, c: &StoredCapture) -> SpreadEntry {
    let r = &c.record;
    let info = r
        .items
        .iter()
        .find(|i| i.role == "info-json")
        .and_then(|i| read_info_json(blobs, &i.sha256));
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    let platform = info
        .as_ref()
        .and_then(|i| text(i.get("extractor_key")))
        .or_else(|| {
            if r.kind == "file" {
                Some("file".to_owned())
            } else {
                url::Url::parse(&r.source)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
            }
        })
        .unwrap_or_else(|| r.kind.clone());
    let account = info
        .as_ref()
        .and_then(|i| text(i.get("uploader")).or_else(|| text(i.get("channel"))));
    let posted_at = info.as_ref().and_then(|i| {
        i.get("timestamp")
            .and_then(|t| t.as_f64())
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t as i64).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .or_else(|| {
                let d = text(i.get("upload_date"))?;
                (d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
            })
    });
    SpreadEntry {
        capture_id: c.id,
        item: *member,
        captured_at: r.captured_at.clone(),
        earliest_we_hold: false,
        label: None,
        source: r.source.clone(),
        method: r.method.clone(),
        status: r.status.as_str().to_owned(),
        platform,
        account,
        posted_at,
    }
}

/// A capture's yt-dlp metadata, when its blob is readable JSON of sane size.
fn read_info_json(blobs: &BlobStore, sha: &Sha256Digest) -> Option<serde_json::Value> {
    let file = blobs.open_blob(sha).ok()?;
    let mut bytes = Vec::new();
    file.take(INFO_JSON_LIMIT + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > INFO_JSON_LIMIT {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}

/// Writes every indexed hash of the collection (quality at least [`MIN_QUALITY`]) as a hash
/// list, tagged with the item's SHA-256 and the variant (`stored`, `displayed`, or
/// `frame:N` for video frames). Returns the number of hashes written.
pub async fn export_hash_list(catalog: &Catalog, out: &mut impl Write) -> Result<u64, CoreError> {
    let io = |source| CoreError::Io {
        path: PathBuf::from("<hash list>"),
        source,
    };
    writeln!(
        out,
        "# Vigil hash list: PDQ hash, then tags: item sha256, variant (frame:N = video frame N)"
    )
    .map_err(io)?;
    let mut after = 0;
    let mut n = 0;
    loop {
        let rows = catalog.pdq_rows_after(after, MIN_QUALITY, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in &rows {
            let place = if r.row.variant == "frame" {
                format!("frame:{}", r.row.frame)
            } else {
                r.row.variant.clone()
            };
            let sha = r.sha256.to_hex();
            let line = format_hash_list_line(&PdqHash(r.row.hash), &[sha.as_str(), place.as_str()]);
            writeln!(out, "{line}").map_err(io)?;
            n += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(n)
}

/// Reads a hash list's bytes and imports its good lines into the catalog under `name`
/// (bad lines are returned, not imported). `Ok((list, false))` when the name is taken: a
/// list once imported is never replaced.
pub async fn import_hash_list(
    catalog: &Catalog,
    name: &str,
    source: &str,
    bytes: &[u8],
) -> Result<(HashList, bool), CoreError> {
    let list = parse_hash_list(bytes);
    let info = HashListInfo {
        name: name.to_owned(),
        source: source.to_owned(),
        sha256: Sha256Digest::of(bytes),
        imported_at: now_rfc3339(),
        entries: list.entries.len() as u64,
        bad_lines: list.errors.len() as u64,
    };
    let entries: Vec<StoredListEntry> = list
        .entries
        .iter()
        .map(|e| StoredListEntry {
            line: e.line as u64,
            hash: e.hash.0,
            tags: e.tags.clone(),
        })
        .collect();
    let imported = catalog.import_hash_list(&info, &entries).await?;
    Ok((list, imported))
}

/// The entries of a list imported under `name`, ready for [`match_hash_list`].
pub async fn imported_hash_list(
    catalog: &Catalog,
    name: &str,
) -> Result<Vec<HashListEntry>, CoreError> {
    let entries = catalog
        .hash_list_entries(name)
        .await?
        .ok_or_else(|| CoreError::Usage(format!("no hash list imported as {name:?}")))?;
    Ok(entries
        .into_iter()
        .map(|e| HashListEntry {
            line: e.line as usize,
            hash: PdqHash(e.hash),
            tags: e.tags,
        })
        .collect())
}

/// An item hash of the collection that matches an entry of a hash list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListMatch {
    /// The entry's line in the list.
    pub line: usize,
    /// The entry's hash.
    pub list_hash: String,
    /// The entry's tags.
    pub tags: Vec<String>,
    /// The matching item.
    #[serde(with = "vigil_store::digest_hex")]
    pub sha256: Sha256Digest,
    /// Which of its hashes.
    pub item_hash: HashPlace,
    /// Hamming distance.
    pub distance: u32,
}

/// Which items of the collection match which entries of a list (within `radius`), by list
/// line, then distance.
pub async fn match_hash_list(
    catalog: &Catalog,
    index: &NearDupIndex,
    entries: &[HashListEntry],
    radius: u32,
) -> Result<Vec<ListMatch>, CoreError> {
    let mut out = Vec::new();
    for chunk in entries.chunks(4096) {
        let hashes: Vec<PdqHash> = chunk.iter().map(|e| e.hash).collect();
        let found = index.search(catalog, &hashes, radius).await?;
        for (entry, matches) in chunk.iter().zip(found) {
            for m in matches {
                out.push(ListMatch {
                    line: entry.line,
                    list_hash: entry.hash.to_hex(),
                    tags: entry.tags.clone(),
                    sha256: m.row.sha256,
                    item_hash: HashPlace::of(&m.row.row),
                    distance: m.distance,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write as _;

    use vigil_store::{CaptureItem, CaptureRecord, CaptureStatus};

    use super::*;

    fn shared() -> PathBuf {
        vigil_testdata::vectors().join("threatexchange")
    }

    struct TestStore {
        dir: tempfile::TempDir,
        catalog: Catalog,
        blobs: BlobStore,
    }

    impl TestStore {
        async fn new() -> TestStore {
            let dir = tempfile::tempdir().expect("tempdir");
            let catalog = Catalog::open_sqlite(&dir.path().join("catalog.sqlite"), true)
                .await
                .expect("catalog");
            let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
            TestStore {
                dir,
                catalog,
                blobs,
            }
        }

        fn index_path(&self) -> PathBuf {
            self.dir.path().join("index/pdq.vhix")
        }

        /// Stores files as one capture each (items with the given roles), as `vigil capture`
        /// would; returns the digests.
        async fn capture(
            &self,
            source: &str,
            at: &str,
            files: &[(&[u8], &str)],
        ) -> Vec<Sha256Digest> {
            let mut finished = Vec::new();
            for (bytes, _) in files {
                let mut staged = self.blobs.stage().expect("stage");
                staged.write_all(bytes).expect("write");
                finished.push(staged.finish().expect("finish"));
            }
            let published = self.blobs.publish(finished).expect("publish");
            let record = CaptureRecord {
                run_id: "run".into(),
                source: source.into(),
                kind: if source.starts_with("http") {
                    "url"
                } else {
                    "file"
                }
                .into(),
                method: if source.starts_with("http") {
                    "yt-dlp"
                } else {
                    "file"
                }
                .into(),
                status: CaptureStatus::Ok,
                failure: None,
                collector: "tester".into(),
                captured_at: at.into(),
                vigil_version: "0.1.0".into(),
                tools: BTreeMap::new(),
                note: None,
                tags: vec![],
                details: serde_json::json!({}),
                items: published
                    .iter()
                    .zip(files)
                    .map(|(p, (_, role))| CaptureItem {
                        sha256: p.digest,
                        size: p.size,
                        role: (*role).into(),
                        name: None,
                    })
                    .collect(),
            };
            self.catalog
                .commit_captures(&[record])
                .await
                .expect("commit");
            published.iter().map(|p| p.digest).collect()
        }

        async fn file(&self, path: &Path, at: &str) -> Sha256Digest {
            let bytes = std::fs::read(path).expect("read");
            self.capture(&path.display().to_string(), at, &[(&bytes, "file")])
                .await[0]
        }

        async fn enrich(&self) -> crate::enrich::EnrichSummary {
            crate::enrich::enrich(
                &self.catalog,
                &self.blobs,
                &crate::enrich::EnrichOptions::default(),
                &self.index_path(),
            )
            .await
            .expect("enrich")
        }
    }

    const AT: &str = "2026-11-25T10:00:00.000000Z";

    #[tokio::test(flavor = "multi_thread")]
    async fn edited_photos_are_linked_into_one_cluster() {
        let s = TestStore::new().await;
        let mods = shared().join("pdq/data/bridge-mods");
        let orig = s.file(&mods.join("aaa-orig.jpg"), AT).await;
        let mut edits = Vec::new();
        for entry in std::fs::read_dir(&mods).expect("dir") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n != "aaa-orig.jpg") {
                edits.push(s.file(&path, AT).await);
            }
        }
        let other = s
            .file(&shared().join("pdq/data/misc-images/c.png"), AT)
            .await;
        let summary = s.enrich().await;
        assert_eq!(summary.images as usize, edits.len() + 2, "{summary:?}");
        assert!(summary.similar as usize >= edits.len(), "{summary:?}");

        let links = s.catalog.similarities_of(&orig).await.expect("links");
        let linked: std::collections::BTreeSet<Sha256Digest> =
            links.iter().map(|l| l.other(&orig)).collect();
        for e in &edits {
            assert!(
                linked.contains(e),
                "edit {e} not linked to the original: {links:?}"
            );
        }
        assert!(links.iter().all(|l| l.method == SimilarityMethod::Pdq
            && l.distance <= MATCH_DISTANCE
            && l.detail["a"]["variant"].is_string()));
        let cluster = s.catalog.cluster_of(&orig).await.expect("cluster");
        assert_eq!(cluster.members.len(), edits.len() + 1);
        assert!(!cluster.members.contains(&other));
        assert!(
            s.catalog
                .similarities_of(&other)
                .await
                .expect("links")
                .is_empty()
        );
        // The snapshot was written (there was none) and serves the next search.
        assert!(s.index_path().is_file());
        let index = NearDupIndex::open(&s.catalog, &s.index_path())
            .await
            .expect("open");
        assert_eq!(index.origin(), &IndexOrigin::Snapshot);
        assert_eq!(index.tail_len(), 0);
        let query = query_from_file(&mods.join("blur-a-lot.jpg")).expect("hash");
        let report = find_similar(&s.catalog, &index, &query, MATCH_DISTANCE)
            .await
            .expect("find");
        assert!(
            report
                .items
                .iter()
                .any(|i| i.sha256 == orig && i.captures.len() == 1)
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "needs the full upstream vectors: VIGIL_VECTORS=../shared/vectors (.ci/run)"]
    async fn clips_of_the_same_footage_are_linked_and_other_footage_is_not() {
        let s = TestStore::new().await;
        let videos = shared().join("tmk/sample-videos");
        let chair_a = s.file(&videos.join("chair-20-sd-bar.mp4"), AT).await;
        let chair_b = s.file(&videos.join("chair-22-sd-grey-bar.mp4"), AT).await;
        let chair_c = s.file(&videos.join("chair-orig-22-sd-bar.mp4"), AT).await;
        // Shares its first seconds with the next one: not the same footage by the rule.
        let pattern_a = s.file(&videos.join("pattern-hd-no-bar.mp4"), AT).await;
        let pattern_b = s.file(&videos.join("pattern-longer-no-bar.mp4"), AT).await;
        let summary = s.enrich().await;
        assert_eq!(summary.videos, 5, "{summary:?}");

        let chair = s.catalog.similarities_of(&chair_a).await.expect("links");
        let mut others: Vec<Sha256Digest> = chair.iter().map(|l| l.other(&chair_a)).collect();
        others.sort();
        let mut want = vec![chair_b, chair_c];
        want.sort();
        assert_eq!(others, want, "{chair:?}");
        for l in &chair {
            assert_eq!(l.method, SimilarityMethod::Vpdq);
            let d = &l.detail;
            assert!(
                d["a_match_percent"].as_f64().expect("a") >= VIDEO_MATCH_PERCENT,
                "{d}"
            );
            assert!(
                d["b_match_percent"].as_f64().expect("b") >= VIDEO_MATCH_PERCENT,
                "{d}"
            );
            let segments = d["segments"].as_array().expect("segments");
            assert!(!segments.is_empty(), "{d}");
            assert!(
                segments[0]["a_seconds"][1].as_f64().expect("end") > 10.0,
                "{d}"
            );
            assert!(
                segments[0]["b_seconds"][1].as_f64().expect("end") > 10.0,
                "{d}"
            );
        }
        let mut all = vec![chair_a, chair_b, chair_c];
        all.sort();
        assert_eq!(
            s.catalog.cluster_of(&chair_b).await.expect("c").members,
            all
        );

        // Different (or only partly shared) footage: never linked, each alone.
        for p in [pattern_a, pattern_b] {
            assert!(
                s.catalog
                    .similarities_of(&p)
                    .await
                    .expect("links")
                    .is_empty()
            );
            assert_eq!(s.catalog.cluster_of(&p).await.expect("c").members, [p]);
        }
        // `vigil similar` still shows the partly shared footage, with its percentages.
        let index = NearDupIndex::open(&s.catalog, &s.index_path())
            .await
            .expect("open");
        let q = query_from_item(&s.catalog, &pattern_a)
            .await
            .expect("query");
        let found = find_similar(&s.catalog, &index, &q, MATCH_DISTANCE)
            .await
            .expect("find");
        let partly = found
            .items
            .iter()
            .find(|i| i.sha256 == pattern_b)
            .expect("partly shared footage listed");
        let v = partly.video.as_ref().expect("video comparison");
        assert!(!v.matched && v.query_match_percent > 0.0, "{v:?}");
    }

    /// Ids in the index that no longer name their row (re-analysed items) are skipped; rows
    /// added after the snapshot are found through the tail; a snapshot that does not match
    /// the catalog is rebuilt.
    #[tokio::test(flavor = "multi_thread")]
    async fn snapshot_round_trip_tail_and_stale_rebuild() {
        let s = TestStore::new().await;
        let mods = shared().join("pdq/data/bridge-mods");
        let orig = s.file(&mods.join("aaa-orig.jpg"), AT).await;
        s.enrich().await;
        let path = s.index_path();
        let index = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert_eq!((index.origin(), index.len()), (&IndexOrigin::Snapshot, 1));

        // Added after the snapshot: found through the tail, without rewriting it.
        let shrunk = s.file(&mods.join("shrink-a-lot.jpg"), AT).await;
        let summary = s.enrich().await;
        assert_eq!(summary.similar, 1, "{summary:?}");
        let index = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert_eq!((index.len(), index.tail_len()), (2, 1));
        let q = query_from_item(&s.catalog, &orig).await.expect("query");
        let found = find_similar(&s.catalog, &index, &q, MATCH_DISTANCE)
            .await
            .expect("find");
        assert_eq!(
            found.items.iter().map(|i| i.sha256).collect::<Vec<_>>(),
            [shrunk]
        );

        // Re-analysed with another hash: the old id names no row any more and is skipped.
        let mut a = s.catalog.analysis(&shrunk).await.expect("a").expect("some");
        a.pdq[0].hash = [0x5a; 32];
        s.catalog.record_analysis(&a).await.expect("record");
        let found = find_similar(&s.catalog, &index, &q, MATCH_DISTANCE)
            .await
            .expect("find");
        assert!(found.items.is_empty(), "{:?}", found.items);

        // A snapshot of another catalog (ids this one never gave, or other hashes) is rebuilt.
        let mut foreign = HashIndex::new();
        foreign.add(1, &PdqHash([1; 32]));
        foreign.add(999, &PdqHash([2; 32]));
        save_hash_index(&foreign, &path).expect("save");
        let index = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert!(
            matches!(index.origin(), IndexOrigin::Rebuilt { .. }),
            "{index:?}"
        );
        let mut other_hash = HashIndex::new();
        other_hash.add(1, &PdqHash([1; 32]));
        save_hash_index(&other_hash, &path).expect("save");
        let index = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert!(
            matches!(index.origin(), IndexOrigin::Rebuilt { .. }),
            "{index:?}"
        );
        // The rebuilt snapshot holds the catalog's rows as they are now.
        let reopened = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert_eq!(reopened.origin(), &IndexOrigin::Snapshot);
        assert_eq!(
            reopened.len(),
            s.catalog
                .pdq_rows_after(0, MIN_QUALITY, 100)
                .await
                .expect("rows")
                .len()
        );
        // A damaged file is rebuilt too.
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("truncate");
        let index = NearDupIndex::open(&s.catalog, &path).await.expect("open");
        assert!(
            matches!(index.origin(), IndexOrigin::Rebuilt { .. }),
            "{index:?}"
        );
        let found = find_similar(&s.catalog, &index, &q, 256)
            .await
            .expect("find");
        assert_eq!(found.items.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn spread_reads_the_platform_claims_and_marks_the_earliest_we_hold() {
        let s = TestStore::new().await;
        let mods = shared().join("pdq/data/bridge-mods");
        let orig = std::fs::read(mods.join("aaa-orig.jpg")).expect("read");
        let edit = std::fs::read(mods.join("blur-a-little.jpg")).expect("read");
        let info = serde_json::json!({
            "extractor_key": "Telegram", "uploader": "some_channel",
            "timestamp": 1_700_000_000, "upload_date": "20231114",
        })
        .to_string();
        let late = s
            .capture(
                "https://t.me/x/1",
                "2026-11-20T00:00:00.000000Z",
                &[(&orig, "media"), (info.as_bytes(), "info-json")],
            )
            .await[0];
        let early = s
            .capture(
                "/evidence/photo.jpg",
                "2026-11-01T00:00:00.000000Z",
                &[(&edit, "file")],
            )
            .await[0];
        s.enrich().await;
        let spread = spread(&s.catalog, &s.blobs, &late).await.expect("spread");
        assert_eq!(spread.cluster.members.len(), 2, "{spread:?}");
        let c = &spread.captures;
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].item, c[0].earliest_we_hold, c[0].platform.as_str()),
            (early, true, "file")
        );
        assert_eq!((c[1].item, c[1].earliest_we_hold), (late, false));
        assert_eq!(c[1].platform, "Telegram");
        assert_eq!(c[1].account.as_deref(), Some("some_channel"));
        assert_eq!(c[1].posted_at.as_deref(), Some("2023-11-14T22:13:20Z"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hash_lists_round_trip() {
        let s = TestStore::new().await;
        let mods = shared().join("pdq/data/bridge-mods");
        let orig = s.file(&mods.join("aaa-orig.jpg"), AT).await;
        s.enrich().await;
        let mut out = Vec::new();
        assert_eq!(
            export_hash_list(&s.catalog, &mut out)
                .await
                .expect("export"),
            1
        );
        let list = vigil_phash::hashlist::parse_hash_list(&out);
        assert!(list.errors.is_empty());
        assert_eq!(list.entries[0].tags, [orig.to_hex(), "stored".to_owned()]);
        let index = NearDupIndex::open(&s.catalog, &s.index_path())
            .await
            .expect("open");
        let found = match_hash_list(&s.catalog, &index, &list.entries, 0)
            .await
            .expect("match");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].sha256, found[0].distance, found[0].line),
            (orig, 0, 2)
        );

        // Imported under a name, it matches the same; the name is not taken twice.
        let (read, imported) = import_hash_list(&s.catalog, "ours", "export.txt", &out)
            .await
            .expect("import");
        assert!(imported && read.errors.is_empty());
        let (_, again) = import_hash_list(&s.catalog, "ours", "x", b"")
            .await
            .expect("import");
        assert!(!again);
        let entries = imported_hash_list(&s.catalog, "ours")
            .await
            .expect("entries");
        assert_eq!(entries, list.entries);
        assert!(imported_hash_list(&s.catalog, "theirs").await.is_err());
    }

    /// Items analysed before links existed are linked by a full relink.
    #[tokio::test(flavor = "multi_thread")]
    async fn relink_all_links_items_analysed_before_links_existed() {
        let s = TestStore::new().await;
        let mods = shared().join("pdq/data/bridge-mods");
        let orig = s.file(&mods.join("aaa-orig.jpg"), AT).await;
        let edit = s.file(&mods.join("sharpen-a-lot.jpg"), AT).await;
        s.enrich().await;
        s.catalog.close().await;
        // Forget the links, as a store migrated from before them would have none.
        {
            use sqlx::Connection;
            let url = format!("sqlite://{}", s.dir.path().join("catalog.sqlite").display());
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("connect");
            sqlx::raw_sql("DELETE FROM similarities; DELETE FROM item_clusters;")
                .execute(&mut conn)
                .await
                .expect("forget");
            conn.close().await.expect("close");
        }
        let catalog = Catalog::open_sqlite(&s.dir.path().join("catalog.sqlite"), false)
            .await
            .expect("reopen");
        assert!(
            catalog
                .similarities_of(&orig)
                .await
                .expect("links")
                .is_empty()
        );
        let index = NearDupIndex::open(&catalog, &s.index_path())
            .await
            .expect("open");
        assert_eq!(relink_all(&catalog, &index).await.expect("relink"), 2);
        let links = catalog.similarities_of(&orig).await.expect("links");
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].other(&orig), edit);
        assert_eq!(catalog.cluster_of(&edit).await.expect("c").members.len(), 2);
    }
}
