//! An exact Hamming range-search index over 256-bit hashes.
//!
//! Investigators ask "have we seen this picture before?" of an archive of tens of millions of
//! frame hashes, and a missed match is a missed piece of evidence, so the answer must be the
//! same as comparing the query with every stored hash. [`HashIndex`] does exactly that
//! comparison, as fast as the hardware allows:
//!
//! - Hashes are stored transposed in blocks of 16: word `w` (32 bits) of the 16 hashes lies in
//!   one 64-byte line, so one AVX-512 instruction compares a query word with 16 hashes and
//!   `VPOPCNTD` counts the differing bits of all 16 at once.
//! - The first 96 bits are compared first. A hash more than `radius` bits away on those 96
//!   bits is more than `radius` away in all, so for radius 31 the other 160 bits are read for
//!   fewer than one block in a thousand of unrelated hashes. The pruning is a bound, not a
//!   guess: results are exactly the brute-force ones.
//! - Queries are answered in batches over cache-sized chunks of the data, two queries per pass
//!   over a block (each loaded line serves both), with the data split between threads.
//! - 40 bytes a hash (32 of hash, 8 of id). The file form ([`HashIndex::write_to`]) is the
//!   in-memory form, so [`HashIndex::from_shared_bytes`] serves a memory-mapped file without
//!   reading it; hashes added afterwards go to an in-memory segment.
//!
//! Why not multi-index hashing? Splitting hashes into 16 slots of 16 bits makes a radius-31
//! search exact with 17 probes a slot, but each slot's table costs 4 bytes or more a hash, 64
//! in all, and the budget is 48 bytes a hash including the id (see `docs/benchmarks.md` for
//! the side-by-side figures with faiss's multi-index hashing).

use std::io::{self, Write};
use std::sync::{Arc, OnceLock};

use crate::PdqHash;

/// Hashes in a block.
const LANES: usize = 16;
/// 32-bit words in a hash.
const WORDS: usize = 8;
/// Words compared before the others: 96 bits, on which unrelated hashes differ by 48 ± 5.
const PREFIX_WORDS: usize = 3;
/// Blocks scanned by every query of a batch before moving on (16,384 hashes: the prefix words
/// take 192 KiB, well inside a core's L2 cache).
const CHUNK_BLOCKS: usize = 1024;
/// 16 hashes, transposed: word `w` of lane `j` at `w * LANES + j`.
type Block = [u32; LANES * WORDS];

/// File header: magic, then version, lane count, hash count (little-endian), padded to 64.
const MAGIC: &[u8; 8] = b"VIGLHIX\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;

/// The first match distance that is no longer a match by default: hashes within
/// [`MATCH_DISTANCE`](crate::MATCH_DISTANCE) bits match.
pub const DEFAULT_RADIUS: u32 = crate::MATCH_DISTANCE;

/// A stored hash that is within the radius of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexMatch {
    /// Hamming distance between the query and the stored hash.
    pub distance: u32,
    /// The id the hash was added with.
    pub id: u64,
}

/// Why an index could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The bytes do not start like an index written by [`HashIndex::write_to`].
    #[error("not a Vigil hash index")]
    NotAnIndex,
    /// Written by a newer version of Vigil.
    #[error("hash index format version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// The header and the length disagree: a truncated or damaged file.
    #[error("the hash index is damaged: {0}")]
    Damaged(String),
}

/// Which comparison code runs. [`Kernel::Auto`] picks the fastest the CPU has; the others are
/// for tests and benchmarks that compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Kernel {
    /// AVX-512 with `VPOPCNTDQ` when the CPU has it, else the portable code.
    #[default]
    Auto,
    /// Plain Rust that the compiler vectorises (AVX2 when available); runs everywhere.
    Portable,
    /// AVX-512 `VPOPCNTD`; falls back to [`Kernel::Portable`] on CPUs without it.
    Avx512,
}

/// How to run a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// Largest Hamming distance reported (inclusive). 256 and more return every hash.
    pub radius: u32,
    /// Threads to split the data between; 0 uses every available core.
    pub threads: usize,
    /// Which comparison code runs.
    pub kernel: Kernel,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            radius: DEFAULT_RADIUS,
            threads: 0,
            kernel: Kernel::Auto,
        }
    }
}

/// Bytes shared with the index: a memory map, or any buffer kept alive as long as the index.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A run of hashes stored together; the index is a list of them.
enum Segment {
    /// Built in memory (by [`HashIndex::add`], or copied from bytes that could not be shared).
    Owned { blocks: Vec<Block>, ids: Vec<u64> },
    /// Served from shared bytes in the file format, validated when loaded.
    Shared {
        bytes: SharedBytes,
        blocks: std::ops::Range<usize>,
        ids: std::ops::Range<usize>,
    },
}

impl Segment {
    fn blocks(&self) -> &[Block] {
        match self {
            Segment::Owned { blocks, .. } => blocks,
            // Alignment and length were checked when the segment was made.
            Segment::Shared { bytes, blocks, .. } => {
                bytemuck::try_cast_slice(&(**bytes).as_ref()[blocks.clone()]).unwrap_or_default()
            }
        }
    }

    fn ids(&self) -> &[u64] {
        match self {
            Segment::Owned { ids, .. } => ids,
            Segment::Shared { bytes, ids, .. } => {
                bytemuck::try_cast_slice(&(**bytes).as_ref()[ids.clone()]).unwrap_or_default()
            }
        }
    }

    fn len(&self) -> usize {
        self.ids().len()
    }
}

/// An exact Hamming range-search index over [`PdqHash`]es, each with a caller's `u64` id
/// (an item, a video frame: the caller decides). See the [module documentation](self).
#[derive(Default)]
pub struct HashIndex {
    segments: Vec<Segment>,
}

impl std::fmt::Debug for HashIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashIndex")
            .field("len", &self.len())
            .field("segments", &self.segments.len())
            .finish()
    }
}

/// A hash as eight little-endian 32-bit words (the distance is the same over any split).
fn words(hash: &PdqHash) -> [u32; WORDS] {
    std::array::from_fn(|w| {
        let b = &hash.0[4 * w..4 * w + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    })
}

fn hash_of(words: [u32; WORDS]) -> PdqHash {
    let mut bytes = [0u8; 32];
    for (w, word) in words.iter().enumerate() {
        bytes[4 * w..4 * w + 4].copy_from_slice(&word.to_le_bytes());
    }
    PdqHash(bytes)
}

impl HashIndex {
    /// An empty index.
    pub fn new() -> HashIndex {
        HashIndex::default()
    }

    /// Number of hashes stored.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Segment::len).sum()
    }

    /// Whether no hash is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the hashes and ids take, whether owned or shared (a mapped file counts
    /// its size; the kernel pages it in on demand).
    pub fn data_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|s| std::mem::size_of_val(s.blocks()) + std::mem::size_of_val(s.ids()))
            .sum()
    }

    /// Makes room for `additional` more hashes, so that adding them does not reallocate (and
    /// memory stays at 40 bytes a hash, without the slack of a growing buffer).
    pub fn reserve(&mut self, additional: usize) {
        if !matches!(self.segments.last(), Some(Segment::Owned { .. })) {
            self.segments.push(Segment::Owned {
                blocks: Vec::new(),
                ids: Vec::new(),
            });
        }
        if let Some(Segment::Owned { blocks, ids }) = self.segments.last_mut() {
            let rows = ids.len() + additional;
            blocks.reserve(rows.div_ceil(LANES).saturating_sub(blocks.len()));
            ids.reserve(additional);
        }
    }

    /// Adds a hash with its id. Ids need not be unique: a search reports every stored hash
    /// that matches, with the id it was added with.
    pub fn add(&mut self, id: u64, hash: &PdqHash) {
        if !matches!(self.segments.last(), Some(Segment::Owned { .. })) {
            self.segments.push(Segment::Owned {
                blocks: Vec::new(),
                ids: Vec::new(),
            });
        }
        let Some(Segment::Owned { blocks, ids }) = self.segments.last_mut() else {
            return;
        };
        let lane = ids.len() % LANES;
        if lane == 0 {
            blocks.push([0; LANES * WORDS]);
        }
        if let Some(block) = blocks.last_mut() {
            for (w, word) in words(hash).into_iter().enumerate() {
                block[w * LANES + lane] = word;
            }
        }
        ids.push(id);
    }

    /// Adds many hashes.
    pub fn extend<'a>(&mut self, items: impl IntoIterator<Item = (u64, &'a PdqHash)>) {
        let items = items.into_iter();
        self.reserve(items.size_hint().0);
        for (id, hash) in items {
            self.add(id, hash);
        }
    }

    /// Every stored `(id, hash)`, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = (u64, PdqHash)> + '_ {
        self.segments.iter().flat_map(|s| {
            let blocks = s.blocks();
            s.ids().iter().enumerate().map(move |(row, &id)| {
                let block = &blocks[row / LANES];
                let lane = row % LANES;
                (
                    id,
                    hash_of(std::array::from_fn(|w| block[w * LANES + lane])),
                )
            })
        })
    }

    /// The `n`th stored `(id, hash)` in the order added, without walking the others: lets a
    /// caller spot-check a snapshot against its source (the last entry, a sample) in
    /// constant time, however large the index.
    pub fn get(&self, n: usize) -> Option<(u64, PdqHash)> {
        let mut n = n;
        for s in &self.segments {
            let ids = s.ids();
            if n < ids.len() {
                let block = s.blocks().get(n / LANES)?;
                let lane = n % LANES;
                return Some((
                    ids[n],
                    hash_of(std::array::from_fn(|w| block[w * LANES + lane])),
                ));
            }
            n -= ids.len();
        }
        None
    }

    /// The stored hashes within `options.radius` of `query`, nearest first (then in the order
    /// added).
    pub fn search(&self, query: &PdqHash, options: &SearchOptions) -> Vec<IndexMatch> {
        self.search_batch(std::slice::from_ref(query), options)
            .pop()
            .unwrap_or_default()
    }

    /// [`search`](Self::search) for many queries at once, which reads the data once per batch
    /// instead of once per query. One result list per query, in the queries' order.
    pub fn search_batch(
        &self,
        queries: &[PdqHash],
        options: &SearchOptions,
    ) -> Vec<Vec<IndexMatch>> {
        let queries: Vec<[u32; WORDS]> = queries.iter().map(words).collect();
        let mut results: Vec<Vec<IndexMatch>> = vec![Vec::new(); queries.len()];
        if queries.is_empty() {
            return results;
        }
        let scan = kernel(options.kernel);
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // Work units: runs of whole blocks, in order, about equal for every thread.
        let total_blocks: usize = self.segments.iter().map(|s| s.blocks().len()).sum();
        let per_thread = total_blocks.div_ceil(threads.max(1)).max(1);
        let mut units: Vec<Vec<(usize, std::ops::Range<usize>)>> = vec![Vec::new()];
        let mut room = per_thread;
        for (si, segment) in self.segments.iter().enumerate() {
            let mut start = 0;
            let n = segment.blocks().len();
            while start < n {
                let take = room.min(n - start);
                if let Some(unit) = units.last_mut() {
                    unit.push((si, start..start + take));
                }
                start += take;
                room -= take;
                if room == 0 {
                    units.push(Vec::new());
                    room = per_thread;
                }
            }
        }
        units.retain(|u| !u.is_empty());

        let run_unit = |unit: &[(usize, std::ops::Range<usize>)]| {
            let mut found: Vec<Vec<IndexMatch>> = vec![Vec::new(); queries.len()];
            for (si, range) in unit {
                let segment = &self.segments[*si];
                let (blocks, ids) = (segment.blocks(), segment.ids());
                let mut chunk_start = range.start;
                while chunk_start < range.end {
                    let chunk_end = (chunk_start + CHUNK_BLOCKS).min(range.end);
                    let first_row = chunk_start * LANES;
                    let rows = (chunk_end * LANES).min(ids.len()) - first_row;
                    let chunk = &blocks[chunk_start..chunk_end];
                    scan(
                        chunk,
                        rows,
                        &queries,
                        options.radius,
                        &mut |q, row, distance| {
                            found[q].push(IndexMatch {
                                distance,
                                id: ids[first_row + row],
                            });
                        },
                    );
                    chunk_start = chunk_end;
                }
            }
            found
        };
        let per_unit: Vec<Vec<Vec<IndexMatch>>> = if units.len() <= 1 {
            units.iter().map(|u| run_unit(u)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = units.iter().map(|u| scope.spawn(|| run_unit(u))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        for found in per_unit {
            for (all, some) in results.iter_mut().zip(found) {
                all.extend(some);
            }
        }
        // Stable: equal distances stay in the order added.
        for r in &mut results {
            r.sort_by_key(|m| m.distance);
        }
        results
    }

    /// Writes the index in its file form: a 64-byte header, the blocks, the ids. Readable with
    /// [`from_shared_bytes`](Self::from_shared_bytes) (any number of segments are written as
    /// one).
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let count = self.len() as u64;
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(LANES as u32).to_le_bytes());
        header[16..24].copy_from_slice(&count.to_le_bytes());
        out.write_all(&header)?;
        // Blocks, repacked when a segment ends inside a block.
        let mut pending: Block = [0; LANES * WORDS];
        let mut lane = 0;
        let mut buf = Vec::with_capacity(CHUNK_BLOCKS * LANES * WORDS * 4);
        let flush = |block: &Block, buf: &mut Vec<u8>, out: &mut dyn Write| -> io::Result<()> {
            for word in block {
                buf.extend_from_slice(&word.to_le_bytes());
            }
            if buf.len() >= CHUNK_BLOCKS * LANES * WORDS * 4 {
                out.write_all(buf)?;
                buf.clear();
            }
            Ok(())
        };
        for segment in &self.segments {
            let (blocks, n) = (segment.blocks(), segment.len());
            if lane == 0 && n % LANES == 0 {
                for block in blocks {
                    flush(block, &mut buf, out)?;
                }
                continue;
            }
            for row in 0..n {
                let block = &blocks[row / LANES];
                for w in 0..WORDS {
                    pending[w * LANES + lane] = block[w * LANES + row % LANES];
                }
                lane += 1;
                if lane == LANES {
                    flush(&pending, &mut buf, out)?;
                    pending = [0; LANES * WORDS];
                    lane = 0;
                }
            }
        }
        if lane > 0 {
            flush(&pending, &mut buf, out)?;
        }
        out.write_all(&buf)?;
        buf.clear();
        for segment in &self.segments {
            for id in segment.ids() {
                buf.extend_from_slice(&id.to_le_bytes());
                if buf.len() >= 1 << 16 {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
        }
        out.write_all(&buf)
    }

    /// An index over bytes in the file form, without copying them when they are suitably
    /// aligned (a memory map is) on a little-endian machine; otherwise they are copied.
    ///
    /// # Errors
    ///
    /// [`IndexError`] when the bytes are not an index or their length disagrees with the header.
    pub fn from_shared_bytes(bytes: SharedBytes) -> Result<HashIndex, IndexError> {
        let data = (*bytes).as_ref();
        if data.len() < HEADER_LEN || &data[..8] != MAGIC {
            return Err(IndexError::NotAnIndex);
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let version = u32_at(8);
        if version != VERSION {
            return Err(IndexError::UnsupportedVersion(version));
        }
        if u32_at(12) != LANES as u32 {
            return Err(IndexError::Damaged(format!(
                "{} hashes a block",
                u32_at(12)
            )));
        }
        let mut count_bytes = [0u8; 8];
        count_bytes.copy_from_slice(&data[16..24]);
        let count = u64::from_le_bytes(count_bytes);
        let expected = usize::try_from(count)
            .ok()
            .and_then(|n| {
                let blocks = n.div_ceil(LANES).checked_mul(LANES * WORDS * 4)?;
                HEADER_LEN
                    .checked_add(blocks)?
                    .checked_add(n.checked_mul(8)?)
            })
            .ok_or_else(|| IndexError::Damaged(format!("{count} hashes")))?;
        if data.len() != expected {
            return Err(IndexError::Damaged(format!(
                "{count} hashes need {expected} bytes, the index has {}",
                data.len()
            )));
        }
        let n = count as usize;
        let blocks = HEADER_LEN..HEADER_LEN + n.div_ceil(LANES) * LANES * WORDS * 4;
        let ids = blocks.end..expected;
        if n == 0 {
            return Ok(HashIndex::new());
        }
        let shareable = cfg!(target_endian = "little")
            && bytemuck::try_cast_slice::<u8, Block>(&data[blocks.clone()]).is_ok()
            && bytemuck::try_cast_slice::<u8, u64>(&data[ids.clone()]).is_ok();
        let segment = if shareable {
            Segment::Shared {
                bytes: Arc::clone(&bytes),
                blocks,
                ids,
            }
        } else {
            let le_u32 = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let owned_blocks = data[blocks]
                .chunks_exact(LANES * WORDS * 4)
                .map(|b| {
                    let mut block = [0u32; LANES * WORDS];
                    for (word, c) in block.iter_mut().zip(b.chunks_exact(4)) {
                        *word = le_u32(c);
                    }
                    block
                })
                .collect();
            let owned_ids = data[ids]
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    u64::from_le_bytes(b)
                })
                .collect();
            Segment::Owned {
                blocks: owned_blocks,
                ids: owned_ids,
            }
        };
        Ok(HashIndex {
            segments: vec![segment],
        })
    }
}

/// A comparison routine: calls `emit(query, row, distance)` for every query and every row of
/// `blocks` (the first `rows` of them are real) within `radius` of it; for each query in row
/// order.
type Scan = fn(&[Block], usize, &[[u32; WORDS]], u32, &mut dyn FnMut(usize, usize, u32));

fn kernel(choice: Kernel) -> Scan {
    static HAS_AVX512: OnceLock<bool> = OnceLock::new();
    let avx512 = *HAS_AVX512.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    });
    match choice {
        #[cfg(target_arch = "x86_64")]
        Kernel::Auto | Kernel::Avx512 if avx512 => scan_avx512_checked,
        _ => scan_portable_dispatch,
    }
}

/// The portable scan, compiled for AVX2 too and run that way when the CPU has it.
fn scan_portable_dispatch(
    blocks: &[Block],
    rows: usize,
    queries: &[[u32; WORDS]],
    radius: u32,
    emit: &mut dyn FnMut(usize, usize, u32),
) {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS_AVX2: OnceLock<bool> = OnceLock::new();
        if *HAS_AVX2.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
        }) {
            // SAFETY: the CPU has AVX2 and POPCNT, checked just above.
            unsafe { scan_portable_avx2(blocks, rows, queries, radius, emit) };
            return;
        }
    }
    scan_portable(blocks, rows, queries, radius, emit);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn scan_portable_avx2(
    blocks: &[Block],
    rows: usize,
    queries: &[[u32; WORDS]],
    radius: u32,
    emit: &mut dyn FnMut(usize, usize, u32),
) {
    scan_portable(blocks, rows, queries, radius, emit);
}

#[inline(always)]
fn scan_portable(
    blocks: &[Block],
    rows: usize,
    queries: &[[u32; WORDS]],
    radius: u32,
    emit: &mut dyn FnMut(usize, usize, u32),
) {
    for (qi, q) in queries.iter().enumerate() {
        for (b, block) in blocks.iter().enumerate() {
            let mut d = [0u32; LANES];
            for w in 0..PREFIX_WORDS {
                for (j, dj) in d.iter_mut().enumerate() {
                    *dj += (block[w * LANES + j] ^ q[w]).count_ones();
                }
            }
            if d.iter().all(|&x| x > radius) {
                continue;
            }
            for w in PREFIX_WORDS..WORDS {
                for (j, dj) in d.iter_mut().enumerate() {
                    *dj += (block[w * LANES + j] ^ q[w]).count_ones();
                }
            }
            for (j, &dj) in d.iter().enumerate() {
                let row = b * LANES + j;
                if row < rows && dj <= radius {
                    emit(qi, row, dj);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn scan_avx512_checked(
    blocks: &[Block],
    rows: usize,
    queries: &[[u32; WORDS]],
    radius: u32,
    emit: &mut dyn FnMut(usize, usize, u32),
) {
    // SAFETY: only chosen by `kernel` after detecting AVX-512F and VPOPCNTDQ.
    unsafe { scan_avx512(blocks, rows, queries, radius, emit) }
}

/// Two queries at a time, so each loaded line of hashes serves both.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn scan_avx512(
    blocks: &[Block],
    rows: usize,
    queries: &[[u32; WORDS]],
    radius: u32,
    emit: &mut dyn FnMut(usize, usize, u32),
) {
    use std::arch::x86_64::*;
    // Distances are at most 256, so the signed compare is exact; radii past 256 match all.
    let r = _mm512_set1_epi32(radius.min(256) as i32);
    let load = |block: &Block, w: usize| {
        // SAFETY: `w < WORDS`, so the 16 words at `w * LANES` lie inside the block.
        unsafe { _mm512_loadu_si512(block.as_ptr().add(w * LANES).cast()) }
    };
    let distance = |block: &Block, q: &[u32; WORDS], from: usize, to: usize| {
        let mut d = _mm512_setzero_si512();
        for (w, &qw) in q.iter().enumerate().take(to).skip(from) {
            let x = _mm512_xor_si512(load(block, w), _mm512_set1_epi32(qw as i32));
            d = _mm512_add_epi32(d, _mm512_popcnt_epi32(x));
        }
        d
    };
    let mut report = |qi: usize, b: usize, block: &Block, prefix: __m512i| {
        let d = _mm512_add_epi32(prefix, distance(block, &queries[qi], PREFIX_WORDS, WORDS));
        let mut mask = _mm512_cmple_epi32_mask(d, r);
        let first = b * LANES;
        if first + LANES > rows {
            let real = rows.saturating_sub(first);
            mask &= ((1u32 << real) - 1) as u16;
        }
        if mask != 0 {
            let mut lanes = [0u32; LANES];
            // SAFETY: `lanes` holds 16 u32, the 64 bytes stored.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), d) };
            while mask != 0 {
                let j = mask.trailing_zeros() as usize;
                emit(qi, first + j, lanes[j]);
                mask &= mask - 1;
            }
        }
    };
    let mut qi = 0;
    while qi + 1 < queries.len() {
        let (qa, qb) = (&queries[qi], &queries[qi + 1]);
        let a: [__m512i; PREFIX_WORDS] = std::array::from_fn(|w| _mm512_set1_epi32(qa[w] as i32));
        let bq: [__m512i; PREFIX_WORDS] = std::array::from_fn(|w| _mm512_set1_epi32(qb[w] as i32));
        for (b, block) in blocks.iter().enumerate() {
            let mut da = _mm512_setzero_si512();
            let mut db = _mm512_setzero_si512();
            for w in 0..PREFIX_WORDS {
                let v = load(block, w);
                da = _mm512_add_epi32(da, _mm512_popcnt_epi32(_mm512_xor_si512(v, a[w])));
                db = _mm512_add_epi32(db, _mm512_popcnt_epi32(_mm512_xor_si512(v, bq[w])));
            }
            let near = _mm512_cmple_epi32_mask(da, r) | _mm512_cmple_epi32_mask(db, r);
            if near == 0 {
                continue;
            }
            report(qi, b, block, da);
            report(qi + 1, b, block, db);
        }
        qi += 2;
    }
    if qi < queries.len() {
        for (b, block) in blocks.iter().enumerate() {
            let d = distance(block, &queries[qi], 0, PREFIX_WORDS);
            if _mm512_cmple_epi32_mask(d, r) != 0 {
                report(qi, b, block, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn hash(&mut self) -> PdqHash {
            let mut b = [0u8; 32];
            for c in b.chunks_exact_mut(8) {
                c.copy_from_slice(&self.next().to_le_bytes());
            }
            PdqHash(b)
        }
        /// `base` with `bits` distinct bits flipped.
        fn near(&mut self, base: &PdqHash, bits: u32) -> PdqHash {
            let mut h = *base;
            let mut flipped = 0;
            while flipped < bits {
                let bit = (self.next() % 256) as usize;
                let before = h.0[bit / 8];
                h.0[bit / 8] ^= 1 << (bit % 8);
                if h.distance(base) > flipped {
                    flipped += 1;
                } else {
                    h.0[bit / 8] = before;
                }
            }
            h
        }
    }

    fn brute(stored: &[(u64, PdqHash)], q: &PdqHash, radius: u32) -> Vec<IndexMatch> {
        let mut out: Vec<IndexMatch> = stored
            .iter()
            .filter_map(|(id, h)| {
                let distance = h.distance(q);
                (distance <= radius).then_some(IndexMatch { distance, id: *id })
            })
            .collect();
        out.sort_by_key(|m| m.distance);
        out
    }

    /// Random hashes, and clusters of near-duplicates at every distance 0..=70 of a few bases.
    fn collection(rng: &mut Rng, random: usize) -> (Vec<(u64, PdqHash)>, Vec<PdqHash>) {
        let mut stored = Vec::new();
        let mut bases = Vec::new();
        for i in 0..random {
            stored.push((i as u64 * 3 + 1, rng.hash()));
        }
        for _ in 0..8 {
            let base = rng.hash();
            for d in 0..=70 {
                let id = stored.len() as u64 * 3 + 1;
                stored.push((id, rng.near(&base, d)));
            }
            bases.push(base);
        }
        (stored, bases)
    }

    #[test]
    fn equals_brute_force_at_every_radius_with_every_kernel() {
        let mut rng = Rng(7);
        let (stored, bases) = collection(&mut rng, 3000);
        let mut index = HashIndex::new();
        index.extend(stored.iter().map(|(id, h)| (*id, h)));
        let mut queries: Vec<PdqHash> = bases.clone();
        queries.extend(bases.iter().map(|b| rng.near(b, 5)));
        queries.extend((0..20).map(|_| rng.hash()));
        queries.push(stored[17].1);
        for radius in [0, 1, 31, 32, 63, 64, 128, 256, 1000] {
            let expected: Vec<Vec<IndexMatch>> =
                queries.iter().map(|q| brute(&stored, q, radius)).collect();
            for kernel in [Kernel::Portable, Kernel::Avx512, Kernel::Auto] {
                for threads in [1, 3] {
                    let options = SearchOptions {
                        radius,
                        threads,
                        kernel,
                    };
                    let got = index.search_batch(&queries, &options);
                    assert_eq!(
                        got, expected,
                        "radius {radius} {kernel:?} {threads} threads"
                    );
                }
            }
            assert_eq!(
                index.search(
                    &queries[0],
                    &SearchOptions {
                        radius,
                        ..Default::default()
                    }
                ),
                expected[0]
            );
        }
    }

    /// Property: for random collections (any size, split between a loaded snapshot and later
    /// additions at a random point), random queries near and far, and random radii, every
    /// kernel's results equal brute force.
    #[test]
    fn random_collections_equal_brute_force() {
        let mut rng = Rng(2026);
        for case in 0..300 {
            let n = (rng.next() % 300) as usize;
            let split = if n == 0 {
                0
            } else {
                (rng.next() as usize) % (n + 1)
            };
            let base = rng.hash();
            let stored: Vec<(u64, PdqHash)> = (0..n)
                .map(|i| {
                    let h = if rng.next().is_multiple_of(3) {
                        let bits = (rng.next() % 60) as u32;
                        rng.near(&base, bits)
                    } else {
                        rng.hash()
                    };
                    (rng.next() % 1000 + i as u64, h)
                })
                .collect();
            let mut first = HashIndex::new();
            first.extend(stored[..split].iter().map(|(id, h)| (*id, h)));
            let mut bytes = Vec::new();
            first.write_to(&mut bytes).expect("write");
            let mut index = HashIndex::from_shared_bytes(Arc::new(bytes)).expect("load");
            index.extend(stored[split..].iter().map(|(id, h)| (*id, h)));
            let queries: Vec<PdqHash> = (0..(rng.next() % 7) as usize)
                .map(|_| match (rng.next() % 3, stored.is_empty()) {
                    (0, false) => {
                        let (_, h) = stored[(rng.next() as usize) % stored.len()];
                        let bits = (rng.next() % 40) as u32;
                        rng.near(&h, bits)
                    }
                    (1, _) => {
                        let bits = (rng.next() % 40) as u32;
                        rng.near(&base, bits)
                    }
                    _ => rng.hash(),
                })
                .collect();
            let radius = (rng.next() % 80) as u32;
            let expected: Vec<Vec<IndexMatch>> =
                queries.iter().map(|q| brute(&stored, q, radius)).collect();
            for kernel in [Kernel::Portable, Kernel::Auto] {
                let threads = 1 + (rng.next() % 3) as usize;
                let options = SearchOptions {
                    radius,
                    threads,
                    kernel,
                };
                assert_eq!(
                    index.search_batch(&queries, &options),
                    expected,
                    "case {case}: {n} hashes split at {split}, radius {radius}, {kernel:?}"
                );
            }
        }
    }

    #[test]
    fn partial_blocks_never_match_their_padding() {
        // Padding lanes hold zero words; a zero query must not find them.
        for n in [0usize, 1, 15, 16, 17, 33] {
            let mut index = HashIndex::new();
            let zero = PdqHash([0; 32]);
            for i in 0..n {
                index.add(i as u64, &zero);
            }
            let options = SearchOptions::default();
            assert_eq!(index.search(&zero, &options).len(), n);
            let mut bytes = Vec::new();
            index.write_to(&mut bytes).expect("write");
            let loaded = HashIndex::from_shared_bytes(Arc::new(bytes)).expect("load");
            assert_eq!(loaded.search(&zero, &options).len(), n);
        }
    }

    #[test]
    fn persistence_round_trip_and_adds_after_loading() {
        let mut rng = Rng(11);
        let (stored, bases) = collection(&mut rng, 1000);
        let (first, second) = stored.split_at(555);
        let mut index = HashIndex::new();
        index.extend(first.iter().map(|(id, h)| (*id, h)));
        let mut bytes = Vec::new();
        index.write_to(&mut bytes).expect("write");
        assert_eq!(bytes.len(), 64 + 555usize.div_ceil(16) * 512 + 555 * 8);

        let mut loaded = HashIndex::from_shared_bytes(Arc::new(bytes)).expect("load");
        assert_eq!(loaded.len(), 555);
        loaded.extend(second.iter().map(|(id, h)| (*id, h)));
        assert_eq!(loaded.len(), stored.len());
        assert_eq!(loaded.iter().collect::<Vec<_>>(), stored);
        // `get` agrees with `iter` across the shared and the owned segment.
        for n in [0, 1, 554, 555, 556, stored.len() - 1] {
            assert_eq!(loaded.get(n), Some(stored[n]), "entry {n}");
        }
        assert_eq!(loaded.get(stored.len()), None);
        let options = SearchOptions {
            radius: 40,
            ..Default::default()
        };
        for q in &bases {
            assert_eq!(loaded.search(q, &options), brute(&stored, q, 40));
        }
        // Two segments (shared, then owned, ending mid-block) write as one.
        let mut again = Vec::new();
        loaded.write_to(&mut again).expect("write");
        let reloaded = HashIndex::from_shared_bytes(Arc::new(again)).expect("load");
        assert_eq!(reloaded.iter().collect::<Vec<_>>(), stored);
        assert_eq!(reloaded.segments.len(), 1);
        // Bytes that cannot be shared as they are (misaligned) are copied.
        let mut shifted = vec![0u8];
        index.write_to(&mut shifted).expect("write");
        struct Offset(Vec<u8>);
        impl AsRef<[u8]> for Offset {
            fn as_ref(&self) -> &[u8] {
                &self.0[1..]
            }
        }
        let copied = HashIndex::from_shared_bytes(Arc::new(Offset(shifted))).expect("load");
        assert_eq!(copied.iter().collect::<Vec<_>>(), first);
    }

    #[test]
    fn damaged_files_are_refused() {
        let mut index = HashIndex::new();
        let mut rng = Rng(3);
        for i in 0..40 {
            index.add(i, &rng.hash());
        }
        let mut bytes = Vec::new();
        index.write_to(&mut bytes).expect("write");
        let load = |b: Vec<u8>| HashIndex::from_shared_bytes(Arc::new(b)).map(|i| i.len());
        assert_eq!(load(bytes.clone()).ok(), Some(40));
        assert!(matches!(load(Vec::new()), Err(IndexError::NotAnIndex)));
        assert!(matches!(load(b"PNG".to_vec()), Err(IndexError::NotAnIndex)));
        assert!(matches!(
            load(bytes[..bytes.len() - 1].to_vec()),
            Err(IndexError::Damaged(_))
        ));
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(load(extra), Err(IndexError::Damaged(_))));
        let mut huge = bytes.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(load(huge), Err(IndexError::Damaged(_))));
        let mut newer = bytes;
        newer[8] = 2;
        assert!(matches!(
            load(newer),
            Err(IndexError::UnsupportedVersion(2))
        ));
    }
}
