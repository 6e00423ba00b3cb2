//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): how the Merkle tree is cut into immutable
//! blobs, what they are called, and how to build and read them.
//!
//! A tile at level `L` holds up to 256 consecutive hashes of the tree at height `8·L`; full
//! tiles never change once written, and the right edge of the tree is covered by *partial*
//! tiles (`.p/<W>`) that are superseded as the log grows. Level-0 tiles hold leaf hashes; the
//! entries themselves go into *entry bundles* under `tile/entries/`.
//!
//! This module is pure: [`build_tiles`] returns the blobs to write and [`TileReader`] is how the
//! caller hands existing tiles back in. Storage, durability and ordering are the caller's.

use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use crate::hash::{HASH_SIZE, Hash, node_hash};
use crate::proof::{NodeId, NodeSource, SourceError, fold_right, range_nodes};

/// Tree levels per tile level: each tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile (`2^TILE_HEIGHT`).
pub const TILE_WIDTH: u16 = 256;
/// Bytes in a full tile.
const TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// Tile levels a `u64`-sized tree can reach.
const MAX_TILE_LEVEL: u8 = 63;

/// One tile (or entry bundle) of the log: its level, its index within the level, and how many
/// hashes (or entries) it holds, 256 for a full tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Tile level `L`: the tile holds hashes at tree height `8·L`.
    pub level: u8,
    /// Index `N` of the tile within its level.
    pub index: u64,
    /// Number of hashes, 1 to 256; below 256 the tile is partial.
    pub width: u16,
}

/// Why a tile path, tile or entry bundle was refused, or a tile update could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path is not a canonical C2SP tile or entry-bundle path.
    #[error("invalid tile path {0:?}")]
    InvalidPath(String),
    /// Level, width or index is out of the range the spec allows.
    #[error("invalid tile: {0}")]
    InvalidTile(String),
    /// Appending would overflow the 64-bit tree size.
    #[error("tree size would overflow")]
    TreeTooLarge,
    /// Entry bundles store entries with a 16-bit length prefix.
    #[error("entry of {0} bytes does not fit an entry bundle (max 65535)")]
    EntryTooLarge(usize),
    /// An entry bundle did not parse, or held the wrong number of entries.
    #[error("malformed entry bundle: {0}")]
    MalformedBundle(String),
    /// An existing tile could not be read back.
    #[error("reading tiles: {0}")]
    Source(#[from] SourceError),
}

impl Tile {
    /// A tile with the given coordinates, checked against the spec's ranges.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::InvalidTile(format!("level {level} > 63")));
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::InvalidTile(format!("width {width}")));
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// Whether the tile holds all 256 hashes (and so will never change).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile `(level, index)` as it exists in a tree of `tree_size` leaves: full, partial
    /// with the right width, or `None` if that tree does not reach it.
    ///
    /// Readers need this because a partial tile's name includes its width.
    pub fn at(level: u8, index: u64, tree_size: u64) -> Option<Tile> {
        let count = level_count(tree_size, level);
        let start = index.checked_mul(TILE_WIDTH.into())?;
        if start >= count {
            return None;
        }
        let width = (count - start).min(TILE_WIDTH.into()) as u16;
        Some(Tile {
            level,
            index,
            width,
        })
    }

    /// The hash tile's path, `tile/<L>/<N>[.p/<W>]`, relative to the log prefix.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// The path of the entry bundle with this index and width, `tile/entries/<N>[.p/<W>]`.
    ///
    /// Entry bundles line up with level-0 tiles; the level is ignored.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.suffix())
    }

    fn suffix(&self) -> String {
        let mut s = encode_index(self.index);
        if !self.is_full() {
            let _ = write!(s, ".p/{}", self.width);
        }
        s
    }

    /// Parses a hash tile path `tile/<L>/<N>[.p/<W>]`, accepting only the canonical spelling.
    pub fn parse_path(path: &str) -> Result<Tile, TileError> {
        let bad = || TileError::InvalidPath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let level = parse_decimal(level).ok_or_else(bad)?;
        if level > MAX_TILE_LEVEL.into() {
            return Err(bad());
        }
        let (index, width) = parse_suffix(rest).ok_or_else(bad)?;
        Ok(Tile {
            level: level as u8,
            index,
            width,
        })
    }

    /// Parses an entry bundle path `tile/entries/<N>[.p/<W>]`; the result has level 0.
    pub fn parse_entries_path(path: &str) -> Result<Tile, TileError> {
        let bad = || TileError::InvalidPath(path.to_owned());
        let rest = path.strip_prefix("tile/entries/").ok_or_else(bad)?;
        let (index, width) = parse_suffix(rest).ok_or_else(bad)?;
        Ok(Tile {
            level: 0,
            index,
            width,
        })
    }
}

/// Number of hashes at tree height `8·level` in a tree of `tree_size` leaves.
fn level_count(tree_size: u64, level: u8) -> u64 {
    tree_size
        .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// `1234067` → `x001/x234/067`: three-digit groups, all but the last prefixed with `x`.
fn encode_index(mut n: u64) -> String {
    let mut groups = Vec::with_capacity(7);
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(groups.len() * 5);
    for (i, g) in groups.iter().rev().enumerate() {
        if i > 0 {
            s.push('/');
        }
        if i + 1 < groups.len() {
            s.push('x');
        }
        let _ = write!(s, "{g:03}");
    }
    s
}

/// Parses `<N>[.p/<W>]`; `None` unless it is exactly what [`Tile::path`] would write.
fn parse_suffix(s: &str) -> Option<(u64, u16)> {
    let (index_part, width) = match s.split_once(".p/") {
        Some((i, w)) => {
            let w = parse_decimal(w)?;
            if w == 0 || w >= u64::from(TILE_WIDTH) {
                return None;
            }
            (i, w as u16)
        }
        None => (s, TILE_WIDTH),
    };
    let mut index: u64 = 0;
    let mut elems = index_part.split('/').peekable();
    while let Some(e) = elems.next() {
        let digits = if elems.peek().is_some() {
            e.strip_prefix('x')?
        } else {
            e
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let g: u64 = digits.parse().ok()?;
        index = index.checked_mul(1000)?.checked_add(g)?;
    }
    // Refuse non-canonical spellings such as `x000/067` for `067`.
    (encode_index(index) == index_part).then_some((index, width))
}

/// ASCII decimal without leading zeros (except `0` itself).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// How many tiles one level of a tree has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelTiles {
    /// Tile level.
    pub level: u8,
    /// Number of full tiles (indices `0..full`).
    pub full: u64,
    /// Width of the partial tile at index `full`, or 0 if there is none.
    pub partial_width: u16,
}

/// The tiles that make up a tree of `tree_size` leaves, level by level from 0.
///
/// A tree of 70,000 leaves has 273 full level-0 tiles and one of width 112, one full level-1
/// tile and one of width 17, and one level-2 tile of width 1.
pub fn tile_counts(tree_size: u64) -> Vec<LevelTiles> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let count = level_count(tree_size, level);
        if count == 0 {
            break;
        }
        out.push(LevelTiles {
            level,
            full: count / u64::from(TILE_WIDTH),
            partial_width: (count % u64::from(TILE_WIDTH)) as u16,
        });
    }
    out
}

/// The partial tiles a tree of `tree_size` leaves needs, one per level at most.
///
/// These are what a log must write (besides new full tiles) to publish a checkpoint at that
/// size, and what a verifier fetches to recompute its root.
pub fn partial_tiles(tree_size: u64) -> Vec<Tile> {
    tile_counts(tree_size)
        .into_iter()
        .filter(|l| l.partial_width > 0)
        .map(|l| Tile {
            level: l.level,
            index: l.full,
            width: l.partial_width,
        })
        .collect()
}

/// Where [`build_tiles`] and [`TileNodes`] read tiles that were written before.
///
/// Contract: returns the stored hashes of `tile`, at least `tile.width * 32` bytes. A reader
/// may return the full tile for a partial request (the partial tile's hashes are a prefix of
/// it), so a partial tile may be deleted once the full one is written.
pub trait TileReader {
    /// Reads one tile.
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, SourceError>;

    /// Reads several tiles; a store that can fetch in parallel overrides this.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, SourceError> {
        tiles.iter().map(|t| self.read_tile(t)).collect()
    }
}

/// An in-memory tile store keyed by tile; falls back to the full tile for a partial request.
impl<S: BuildHasher> TileReader for HashMap<Tile, Vec<u8>, S> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, SourceError> {
        let full = Tile {
            width: TILE_WIDTH,
            ..*tile
        };
        self.get(tile)
            .or_else(|| self.get(&full))
            .cloned()
            .ok_or_else(|| SourceError::Missing(tile.path()))
    }
}

/// Serves [`NodeId`]s for proof generation from the tiles of a tree of a given size.
///
/// A node at height `8·L` is read straight from a level-`L` tile; a node between tile levels
/// is the root of up to 128 consecutive hashes in one tile and is recomputed from them (the
/// tile format stores only every eighth level). Each tile is read once per batch. With a
/// [`TileCache`], each tile's interior levels are computed once and kept, so nodes of tiles
/// already seen are plain lookups.
#[derive(Debug)]
pub struct TileNodes<'a, R: ?Sized> {
    reader: &'a R,
    tree_size: u64,
    cache: Option<&'a TileCache>,
}

impl<'a, R: TileReader + ?Sized> TileNodes<'a, R> {
    /// Reads nodes of the tree of `tree_size` leaves (the latest checkpoint's size, typically:
    /// proofs for any smaller tree only need nodes that tree also has).
    pub fn new(reader: &'a R, tree_size: u64) -> Self {
        TileNodes {
            reader,
            tree_size,
            cache: None,
        }
    }

    /// Keeps the interior hashes of every tile read in `cache`, and reuses them.
    pub fn with_cache(mut self, cache: &'a TileCache) -> Self {
        self.cache = Some(cache);
        self
    }
}

/// Where a requested node lives: tile slot, height within the tile, first bottom hash.
struct Place {
    slot: usize,
    sub: u8,
    first: usize,
}

/// A tile's hashes as read, or with all interior levels computed.
enum TileHashes {
    Raw(Vec<u8>),
    Expanded(Arc<ExpandedTile>),
}

impl<R: TileReader + ?Sized> NodeSource for TileNodes<'_, R> {
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, SourceError> {
        let mut tiles: Vec<Tile> = Vec::with_capacity(4);
        let mut places = Vec::with_capacity(ids.len());
        for id in ids {
            if id.end().is_none_or(|e| e > self.tree_size) {
                return Err(SourceError::Missing(format!(
                    "node {id:?} of tree size {}",
                    self.tree_size
                )));
            }
            let level = id.level / TILE_HEIGHT;
            let sub = id.level % TILE_HEIGHT;
            let first = id.index << sub;
            let tile_index = first / u64::from(TILE_WIDTH);
            let tile = Tile::at(level, tile_index, self.tree_size)
                .ok_or_else(|| SourceError::Missing(format!("tile for {id:?}")))?;
            let slot = match tiles.iter().position(|t| *t == tile) {
                Some(i) => i,
                None => {
                    tiles.push(tile);
                    tiles.len() - 1
                }
            };
            let first = (first % u64::from(TILE_WIDTH)) as usize;
            places.push(Place { slot, sub, first });
        }
        let data = self.load(&tiles)?;
        Ok(places
            .into_iter()
            .map(|p| match &data[p.slot] {
                TileHashes::Raw(bytes) => {
                    let count = 1usize << p.sub;
                    perfect_root(&bytes[p.first * HASH_SIZE..(p.first + count) * HASH_SIZE])
                }
                TileHashes::Expanded(e) => e.node(p.sub, p.first >> p.sub),
            })
            .collect())
    }
}

impl<R: TileReader + ?Sized> TileNodes<'_, R> {
    /// Reads the tiles (those not cached), checks their length, and expands them if caching.
    fn load(&self, tiles: &[Tile]) -> Result<Vec<TileHashes>, SourceError> {
        let mut out: Vec<Option<TileHashes>> = match self.cache {
            Some(c) => tiles
                .iter()
                .map(|t| c.get(t).map(TileHashes::Expanded))
                .collect(),
            None => tiles.iter().map(|_| None).collect(),
        };
        let missing: Vec<Tile> = tiles
            .iter()
            .zip(&out)
            .filter(|(_, d)| d.is_none())
            .map(|(t, _)| *t)
            .collect();
        let mut read = self.reader.read_tiles(&missing)?.into_iter();
        if read.len() != missing.len() {
            return Err(SourceError::Corrupt("tile batch".into()));
        }
        for (tile, slot) in tiles.iter().zip(out.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            let mut bytes = read
                .next()
                .ok_or_else(|| SourceError::Corrupt("tile batch".into()))?;
            let need = usize::from(tile.width) * HASH_SIZE;
            if bytes.len() < need || bytes.len() % HASH_SIZE != 0 {
                return Err(SourceError::Corrupt(tile.path()));
            }
            bytes.truncate(need);
            *slot = Some(match self.cache {
                Some(c) => TileHashes::Expanded(c.insert(*tile, ExpandedTile::build(&bytes))),
                None => TileHashes::Raw(bytes),
            });
        }
        out.into_iter()
            .map(|d| d.ok_or_else(|| SourceError::Corrupt("tile batch".into())))
            .collect()
    }
}

/// Every level of one tile's subtree: the stored hashes, then each level above them.
struct ExpandedTile {
    /// Number of stored (bottom) hashes.
    width: usize,
    /// Levels 0..=8 concatenated; level `s` holds `width >> s` hashes.
    hashes: Vec<Hash>,
}

impl ExpandedTile {
    fn build(bytes: &[u8]) -> Self {
        let width = bytes.len() / HASH_SIZE;
        let mut hashes = Vec::with_capacity(2 * width);
        for c in bytes.chunks_exact(HASH_SIZE) {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            hashes.push(Hash(h));
        }
        let (mut start, mut count) = (0, width);
        while count > 1 {
            for j in 0..count / 2 {
                let h = node_hash(&hashes[start + 2 * j], &hashes[start + 2 * j + 1]);
                hashes.push(h);
            }
            start += count;
            count /= 2;
        }
        ExpandedTile { width, hashes }
    }

    /// The `j`-th hash at height `sub` within the tile (callers only ask for existing nodes).
    fn node(&self, sub: u8, j: usize) -> Hash {
        let start: usize = (0..sub).map(|s| self.width >> s).sum();
        self.hashes[start + j]
    }
}

/// Tiles with their interior levels computed, shared between proof requests.
///
/// A proof needs nodes between the stored levels, which cost up to 255 hashes per tile to
/// recompute; the tiles near the top of the tree are in nearly every proof, so keeping them
/// expanded makes proofs mostly lookups. Tile contents never change under a given name, so
/// entries never go stale. Holds at most `capacity` tiles (16 KiB each), evicting with the
/// CLOCK (second chance) policy: a tile used since the last sweep stays, so the upper tiles
/// and the newest leaves' tiles survive a stream of one-off lookups. Safe to share between
/// threads.
pub struct TileCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    /// Each tile with its "used since last sweep" bit.
    tiles: HashMap<Tile, (Arc<ExpandedTile>, bool)>,
    /// The clock hand's order: every cached tile once.
    queue: VecDeque<Tile>,
}

impl fmt::Debug for TileCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TileCache({}/{})", self.len(), self.capacity)
    }
}

impl TileCache {
    /// A cache holding at most `capacity` tiles (at least one).
    pub fn new(capacity: usize) -> Self {
        TileCache {
            capacity: capacity.max(1),
            inner: Mutex::new(CacheInner::default()),
        }
    }

    /// Number of tiles held.
    pub fn len(&self) -> usize {
        self.lock().tiles.len()
    }

    /// Whether no tile is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A panic while holding the lock cannot leave a half-written entry, so poisoning is
        // safe to ignore.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, tile: &Tile) -> Option<Arc<ExpandedTile>> {
        self.lock().tiles.get_mut(tile).map(|(e, used)| {
            *used = true;
            Arc::clone(e)
        })
    }

    fn insert(&self, tile: Tile, expanded: ExpandedTile) -> Arc<ExpandedTile> {
        let expanded = Arc::new(expanded);
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some((e, used)) = inner.tiles.get_mut(&tile) {
            *used = true;
            return Arc::clone(e);
        }
        // Sweep: clear used bits until an unused tile comes up (at most two rounds).
        while inner.tiles.len() >= self.capacity {
            let Some(t) = inner.queue.pop_front() else {
                break;
            };
            match inner.tiles.get_mut(&t) {
                Some((_, used)) if *used => {
                    *used = false;
                    inner.queue.push_back(t);
                }
                _ => {
                    inner.tiles.remove(&t);
                }
            }
        }
        inner.tiles.insert(tile, (Arc::clone(&expanded), false));
        inner.queue.push_back(tile);
        expanded
    }
}

/// Root of a perfect subtree whose `2^k` (k ≤ 8) bottom hashes are concatenated in `bytes`.
fn perfect_root(bytes: &[u8]) -> Hash {
    let n = bytes.len() / HASH_SIZE;
    let at = |i: usize| {
        let mut h = [0u8; HASH_SIZE];
        h.copy_from_slice(&bytes[i * HASH_SIZE..(i + 1) * HASH_SIZE]);
        Hash(h)
    };
    if n == 1 {
        return at(0);
    }
    let mut buf = [Hash::default(); TILE_WIDTH as usize / 2];
    for (i, slot) in buf.iter_mut().enumerate().take(n / 2) {
        *slot = node_hash(&at(2 * i), &at(2 * i + 1));
    }
    let mut len = n / 2;
    while len > 1 {
        for i in 0..len / 2 {
            buf[i] = node_hash(&buf[2 * i], &buf[2 * i + 1]);
        }
        len /= 2;
    }
    buf[0]
}

/// What [`build_tiles`] produced: the new tree and every tile blob to write for it.
#[derive(Debug, Clone)]
pub struct TileUpdate {
    /// Size of the tree after the append.
    pub tree_size: u64,
    /// Root hash of that tree, ready for the checkpoint.
    pub root: Hash,
    /// New full tiles and new partial tiles, each with its exact bytes. Tiles of the old tree
    /// are never rewritten under the same name (a grown partial tile gets a new width). An old
    /// partial tile at a level the append did not reach stays part of the new tree: only those
    /// in `partial_tiles(old)` but not in `partial_tiles(new)` may be deleted.
    pub tiles: Vec<(Tile, Vec<u8>)>,
}

/// Computes the tiles for appending `new_leaves` (leaf hashes) to a tree of `old_size` leaves.
///
/// Reads only the old tree's partial tiles from `reader`. Appending nothing returns no tiles
/// and the current root. Cost: one hash per new leaf for each full tile completed, plus the
/// right edge of the tree for the root.
pub fn build_tiles<R: TileReader + ?Sized>(
    old_size: u64,
    new_leaves: &[Hash],
    reader: &R,
) -> Result<TileUpdate, TileError> {
    let new_size = old_size
        .checked_add(new_leaves.len() as u64)
        .ok_or(TileError::TreeTooLarge)?;
    let mut out: Vec<(Tile, Vec<u8>)> = Vec::new();
    let mut appended: Vec<Hash> = new_leaves.to_vec();
    let mut level = 0u8;
    while !appended.is_empty() && level <= MAX_TILE_LEVEL {
        let old_count = level_count(old_size, level);
        let first_tile = old_count / u64::from(TILE_WIDTH);
        let mut buf: Vec<u8> = Vec::new();
        if let Some(old) = Tile::at(level, first_tile, old_size) {
            let bytes = reader.read_tile(&old)?;
            let need = usize::from(old.width) * HASH_SIZE;
            if bytes.len() < need {
                return Err(SourceError::Corrupt(old.path()).into());
            }
            buf.reserve(need + appended.len() * HASH_SIZE);
            buf.extend_from_slice(&bytes[..need]);
        }
        for h in &appended {
            buf.extend_from_slice(&h.0);
        }
        let mut completed = Vec::with_capacity(buf.len() / TILE_BYTES);
        for (i, chunk) in buf.chunks(TILE_BYTES).enumerate() {
            let tile = Tile {
                level,
                index: first_tile + i as u64,
                width: (chunk.len() / HASH_SIZE) as u16,
            };
            if tile.is_full() {
                completed.push(perfect_root(chunk));
            }
            out.push((tile, chunk.to_vec()));
        }
        appended = completed;
        level += 1;
    }
    let root = if new_size == old_size {
        crate::proof::tree_root(new_size, &TileNodes::new(reader, new_size))
    } else {
        let overlay = Overlay {
            new: &out,
            base: reader,
        };
        crate::proof::tree_root(new_size, &TileNodes::new(&overlay, new_size))
    }
    .map_err(|e| match e {
        crate::proof::ProofError::Source(s) => TileError::Source(s),
        other => TileError::Source(SourceError::Other(Box::new(other))),
    })?;
    Ok(TileUpdate {
        tree_size: new_size,
        root,
        tiles: out,
    })
}

/// Freshly built tiles in front of the store's existing ones.
struct Overlay<'a, R: ?Sized> {
    new: &'a [(Tile, Vec<u8>)],
    base: &'a R,
}

impl<R: TileReader + ?Sized> TileReader for Overlay<'_, R> {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, SourceError> {
        // The root only needs right-edge tiles, which sit at the end of each level's run.
        match self.new.iter().rev().find(|(t, _)| t == tile) {
            Some((_, bytes)) => Ok(bytes.clone()),
            None => self.base.read_tile(tile),
        }
    }
}

/// Encodes entries as a C2SP entry bundle: each entry prefixed by its big-endian u16 length.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle back into its entries, refusing truncated or trailing bytes.
pub fn parse_entry_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(TileError::MalformedBundle("truncated length".into()));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(TileError::MalformedBundle("truncated entry".into()));
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    if out.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::MalformedBundle(format!("{} entries", out.len())));
    }
    Ok(out)
}

/// The entry bundles to write when appending `new_entries` to a log of `old_size` entries.
///
/// `old_partial` is the bundle at the old size's right edge (empty when `old_size` is a
/// multiple of 256). Entries in the same order as the leaf hashes given to [`build_tiles`].
pub fn append_entry_bundles<E: AsRef<[u8]>>(
    old_size: u64,
    old_partial: &[u8],
    new_entries: &[E],
) -> Result<Vec<(Tile, Vec<u8>)>, TileError> {
    let old_width = (old_size % u64::from(TILE_WIDTH)) as usize;
    let existing = parse_entry_bundle(old_partial)?;
    if existing.len() != old_width {
        return Err(TileError::MalformedBundle(format!(
            "partial bundle has {} entries, expected {old_width}",
            existing.len()
        )));
    }
    old_size
        .checked_add(new_entries.len() as u64)
        .ok_or(TileError::TreeTooLarge)?;
    let all: Vec<&[u8]> = existing
        .into_iter()
        .chain(new_entries.iter().map(AsRef::as_ref))
        .collect();
    let first = old_size / u64::from(TILE_WIDTH);
    all.chunks(usize::from(TILE_WIDTH))
        .enumerate()
        .map(|(i, chunk)| {
            let tile = Tile {
                level: 0,
                index: first + i as u64,
                width: chunk.len() as u16,
            };
            Ok((tile, encode_entry_bundle(chunk)?))
        })
        .collect()
}

/// Recomputes the root of a tree of `tree_size` from its tiles alone (its right-edge tiles).
///
/// What a verifier does after fetching a checkpoint's partial tiles.
pub fn root_from_tiles<R: TileReader + ?Sized>(
    tree_size: u64,
    reader: &R,
) -> Result<Hash, SourceError> {
    if tree_size == 0 {
        return Ok(crate::hash::EMPTY_ROOT);
    }
    let mut ids = Vec::new();
    range_nodes(0, tree_size, &mut ids);
    let hashes = TileNodes::new(reader, tree_size).nodes(&ids)?;
    Ok(fold_right(&hashes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::proof::root_from_leaves;

    #[test]
    fn index_encoding() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(parse_suffix("x001/x234/067"), Some((1_234_067, 256)));
        assert_eq!(parse_suffix("x000/067"), None);
        assert_eq!(parse_suffix("67"), None);
        assert_eq!(parse_suffix("067.p/256"), None);
        assert_eq!(parse_suffix("067.p/0"), None);
        assert_eq!(parse_suffix("067.p/017"), None);
        assert_eq!(parse_suffix("067.p/17"), Some((67, 17)));
        assert_eq!(parse_suffix("x18446744073709551/615"), None);
        let max = encode_index(u64::MAX);
        assert_eq!(parse_suffix(&max), Some((u64::MAX, 256)));
        assert!(Tile::parse_path("tile/01/000").is_err());
        assert!(Tile::parse_path("tile/64/000").is_err());
        assert!(Tile::parse_path("tile/0/000/").is_err());
        assert!(Tile::parse_path("tile/entries/000").is_err());
    }

    #[test]
    fn builder_matches_reference_in_many_batch_shapes() {
        let leaves: Vec<Hash> = (0u32..70_000)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let configs = [
            (1usize, 600),
            (255, 5_000),
            (256, 5_000),
            (1000, 70_000),
            (70_000, 70_000),
        ];
        for (batch, upto) in configs {
            let leaves = &leaves[..upto];
            let mut store: HashMap<Tile, Vec<u8>> = HashMap::new();
            let mut size = 0u64;
            for chunk in leaves.chunks(batch) {
                let up = build_tiles(size, chunk, &store).expect("build");
                size = up.tree_size;
                if size % 7001 < batch as u64 {
                    assert_eq!(up.root, root_from_leaves(&leaves[..size as usize]));
                }
                store.extend(up.tiles);
            }
            assert_eq!(size, upto as u64);
            assert_eq!(
                root_from_tiles(size, &store).ok(),
                Some(root_from_leaves(leaves))
            );
            for t in partial_tiles(size) {
                assert!(store.contains_key(&t), "{t:?}");
            }
            if upto == 70_000 {
                let top = Tile {
                    level: 2,
                    index: 0,
                    width: 1,
                };
                assert_eq!(store.get(&top).map(Vec::len), Some(32));
            }
        }
    }

    #[test]
    fn cache_keeps_recently_used_tiles() {
        let t = |i| Tile::new(0, i, 2).expect("tile");
        let e = || ExpandedTile::build(&[0u8; 64]);
        let cache = TileCache::new(2);
        cache.insert(t(0), e());
        cache.insert(t(1), e());
        assert!(cache.get(&t(0)).is_some());
        cache.insert(t(2), e());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&t(0)).is_some(), "used tile survives");
        assert!(cache.get(&t(1)).is_none(), "unused tile evicted");
        let x = ExpandedTile::build(&[1u8; 128]);
        assert_eq!(x.node(2, 0), perfect_root(&[1u8; 128]));
        assert_eq!(x.node(1, 1), perfect_root(&[1u8; 64]));
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<Vec<u8>> = (0u16..300).map(|i| vec![i as u8; usize::from(i)]).collect();
        let first = append_entry_bundles(0, &[], &entries[..100]).expect("bundle");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0.entries_path(), "tile/entries/000.p/100");
        let next = append_entry_bundles(100, &first[0].1, &entries[100..]).expect("bundle");
        assert_eq!(next.len(), 2);
        assert!(next[0].0.is_full());
        let parsed = parse_entry_bundle(&next[0].1).expect("parse");
        assert_eq!(parsed.len(), 256);
        assert_eq!(parsed[255], &entries[255][..]);
        assert!(encode_entry_bundle(&[vec![0u8; 65_536]]).is_err());
        assert!(parse_entry_bundle(&[0, 5, 1]).is_err());
        assert!(append_entry_bundles(101, &first[0].1, &entries[..1]).is_err());
    }
}
