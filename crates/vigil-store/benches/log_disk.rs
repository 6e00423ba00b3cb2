//! The transparency log on disk, timed with `std::time` (no harness):
//!
//! 1. appends in batches of 1,000 leaves, including building the tiles and writing them
//!    durably (temp file, fsync, rename, fsync of each touched directory) with [`LogDir`];
//! 2. inclusion proof generation at 10M leaves, reading tiles from the files of a [`LogDir`]
//!    (page cache warm), without and with a `TileCache`.
//!
//! Run with `cargo bench -p vigil-store --bench log_disk`. `BENCH_DIR` chooses where the tiles
//! are written (default: the system temp dir); the 10M-leaf tree takes about 330 MB there.

use std::hint::black_box;
use std::time::Instant;

use vigil_store::LogDir;
use vigil_tlog::{
    Hash, TileCache, TileNodes, build_tiles, inclusion_proof, leaf_hash, partial_tiles,
    verify_inclusion,
};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_le_bytes())
}

fn work_dir() -> tempfile::TempDir {
    match std::env::var_os("BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("BENCH_DIR"),
        None => tempfile::tempdir().expect("tempdir"),
    }
}

fn durable_appends() {
    const BATCH: u64 = 1_000;
    const BATCHES: u64 = 200;
    let dir = work_dir();
    let log = LogDir::open(&dir.path().join("log")).expect("open");
    let mut size = 0u64;
    let start = Instant::now();
    for b in 0..BATCHES {
        let leaves: Vec<Hash> = (0..BATCH).map(|i| leaf(b * BATCH + i)).collect();
        let update = build_tiles(size, &leaves, &log).expect("build");
        log.write_tiles(&update.tiles).expect("write");
        let keep = partial_tiles(update.tree_size);
        let gone: Vec<_> = partial_tiles(size)
            .into_iter()
            .filter(|t| !keep.contains(t))
            .collect();
        log.remove_tiles(&gone);
        size = update.tree_size;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "durable appends, batches of {BATCH}: {} leaves in {secs:.3} s = {:.0} leaves/s ({:.2} ms per batch)",
        size,
        size as f64 / secs,
        secs * 1e3 / BATCHES as f64
    );
}

fn proofs_at_10m() {
    const SIZE: u64 = 10_000_000;
    const STEP: u64 = 1 << 16;
    let dir = work_dir();
    let log = LogDir::open(&dir.path().join("log")).expect("open");
    // Building the tree is setup, not timed; tiles are written without fsync here.
    let setup = Instant::now();
    let mut size = 0u64;
    let mut root = vigil_tlog::EMPTY_ROOT;
    while size < SIZE {
        let end = (size + STEP).min(SIZE);
        let leaves: Vec<Hash> = (size..end).map(leaf).collect();
        let update = build_tiles(size, &leaves, &log).expect("build");
        for (tile, bytes) in &update.tiles {
            let path = log.tile_path(tile);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        size = end;
        root = update.root;
    }
    println!(
        "setup: tree of {SIZE} leaves written as tiles in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let mut rng = Rng(7);
    for (label, cache) in [
        ("no cache", None),
        ("TileCache(64)", Some(TileCache::new(64))),
    ] {
        const N: u64 = 2_000;
        let random: Vec<u64> = (0..N).map(|_| rng.below(SIZE)).collect();
        let recent: Vec<u64> = (0..N).map(|k| SIZE - 1 - (k % 4096)).collect();
        for (which, indices) in [("random leaf", &random), ("newest 4096 leaves", &recent)] {
            let start = Instant::now();
            for &i in indices {
                let nodes = TileNodes::new(&log, SIZE);
                let nodes = match &cache {
                    Some(c) => nodes.with_cache(c),
                    None => nodes,
                };
                black_box(inclusion_proof(i, SIZE, &nodes).expect("proof"));
            }
            let per = start.elapsed().as_secs_f64() * 1e6 / N as f64;
            println!(
                "inclusion proof at {SIZE} leaves from tile files, {which}, {label}: {per:.1} µs"
            );
        }
    }
    let proof = inclusion_proof(123_456, SIZE, &TileNodes::new(&log, SIZE)).expect("proof");
    verify_inclusion(&leaf(123_456), 123_456, SIZE, &proof, &root).expect("the proofs are right");
}

fn main() {
    durable_appends();
    proofs_at_10m();
}
