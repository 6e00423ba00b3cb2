//! Throughput and latency of the log's hot paths, timed with `std::time` (no harness):
//!
//! 1. appends in batches of 1,000 entries, including leaf hashing and tile building;
//! 2. inclusion proof generation at 10M leaves, served from tiles held in a `HashMap`;
//! 3. receipt verification (parse, Ed25519 signature, inclusion proof).
//!
//! Run with `cargo bench -p vigil-tlog`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use vigil_tlog::*;

const ORIGIN: &str = "vigil.example/log";

/// splitmix64, for reproducible indices.
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

type Store = HashMap<Tile, Vec<u8>>;

/// Appends leaf hashes, dropping partial tiles once superseded (as a store may).
fn append(store: &mut Store, size: u64, leaves: &[Hash]) -> TileUpdate {
    let up = build_tiles(size, leaves, store).expect("build");
    let still_needed = partial_tiles(up.tree_size);
    for old in partial_tiles(size) {
        if !still_needed.contains(&old) {
            store.remove(&old);
        }
    }
    store.extend(up.tiles.iter().cloned());
    up
}

fn per_op(total: Duration, n: u64) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn bench_appends() {
    const BATCH: usize = 1_000;
    const TOTAL: usize = 1_000_000;
    let entry = [0x5au8; 256];
    let mut store = Store::new();
    let mut size = 0u64;
    let start = Instant::now();
    for b in 0..TOTAL / BATCH {
        let leaves: Vec<Hash> = (0..BATCH)
            .map(|i| {
                let mut e = entry;
                e[..8].copy_from_slice(&((b * BATCH + i) as u64).to_le_bytes());
                leaf_hash(&e)
            })
            .collect();
        size = append(&mut store, size, &leaves).tree_size;
    }
    let t = start.elapsed();
    println!(
        "append: {TOTAL} leaves (256-byte entries) in batches of {BATCH}: {:.2} s, {:.0} leaves/s \
         (leaf hashing + tile building + root), {:.1} µs per batch",
        t.as_secs_f64(),
        TOTAL as f64 / t.as_secs_f64(),
        per_op(t, (TOTAL / BATCH) as u64),
    );
    black_box(size);
}

fn build_big_tree(n: u64) -> (Store, Hash) {
    let mut store = Store::new();
    let mut size = 0u64;
    let mut root = EMPTY_ROOT;
    let start = Instant::now();
    while size < n {
        let batch = (n - size).min(100_000);
        let leaves: Vec<Hash> = (size..size + batch)
            .map(|i| leaf_hash(&i.to_le_bytes()))
            .collect();
        let up = append(&mut store, size, &leaves);
        size = up.tree_size;
        root = up.root;
    }
    println!(
        "setup: built {n} leaves in batches of 100,000 in {:.2} s ({} tiles)",
        start.elapsed().as_secs_f64(),
        store.len()
    );
    (store, root)
}

fn bench_proofs(store: &Store, size: u64, root: &Hash, cache: Option<&TileCache>) {
    let mut rng = Rng(7);
    let src = TileNodes::new(store, size);
    let src = match cache {
        Some(c) => src.with_cache(c),
        None => src,
    };
    let label = match cache {
        Some(_) => "with a TileCache",
        None => "rehashing within tiles",
    };
    const N: u64 = 20_000;
    let indices: Vec<u64> = (0..N).map(|_| rng.below(size)).collect();
    // Warm up caches and check correctness once.
    let p = inclusion_proof(indices[0], size, &src).expect("proof");
    verify_inclusion(
        &leaf_hash(&indices[0].to_le_bytes()),
        indices[0],
        size,
        &p,
        root,
    )
    .expect("verifies");
    let mut times = Vec::with_capacity(N as usize);
    let start = Instant::now();
    for &i in &indices {
        let t0 = Instant::now();
        black_box(inclusion_proof(i, size, &src).expect("proof"));
        times.push(t0.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    println!(
        "inclusion proof at {size} leaves, tiles in a HashMap, {label}: mean {:.1} µs, \
         p50 {:.1} µs, p99 {:.1} µs ({} hashes per proof, random leaves)",
        per_op(total, N),
        times[times.len() / 2].as_secs_f64() * 1e6,
        times[times.len() * 99 / 100].as_secs_f64() * 1e6,
        p.len()
    );

    if cache.is_some() {
        // Receipts are mostly issued right after an append: leaves in the newest tiles.
        let recent: Vec<u64> = (0..N).map(|_| size - 1 - rng.below(4_096)).collect();
        let start = Instant::now();
        for &i in &recent {
            black_box(inclusion_proof(i, size, &src).expect("proof"));
        }
        println!(
            "inclusion proof at {size} leaves, {label}, among the newest 4,096 leaves: mean {:.1} µs",
            per_op(start.elapsed(), N)
        );
    }

    let old = size / 3 + 12_345;
    let start = Instant::now();
    const M: u64 = 2_000;
    for _ in 0..M {
        black_box(consistency_proof(old, size, &src).expect("proof"));
    }
    println!(
        "consistency proof {old} -> {size}, {label}: mean {:.1} µs",
        per_op(start.elapsed(), M)
    );
}

fn bench_receipts(store: &Store, size: u64, root: &Hash) {
    let signer = Signer::from_seed(ORIGIN, &[42; 32]).expect("signer");
    let keys: Verifiers = signer.verifier().into();
    let checkpoint = Checkpoint::new(ORIGIN, size, *root)
        .expect("checkpoint")
        .sign(&[&signer])
        .expect("sign");
    let index = size / 2 + 17;
    let leaf = index.to_le_bytes();
    let src = TileNodes::new(store, size);
    let proof = inclusion_proof(index, size, &src).expect("proof");
    let proof_len = proof.len();
    let receipt = Receipt {
        extra: Some(leaf.to_vec()),
        index,
        proof,
        checkpoint,
    }
    .to_text();
    verify_receipt(receipt.as_bytes(), ORIGIN, &keys, &leaf).expect("verifies");
    const N: u64 = 5_000;
    let start = Instant::now();
    for _ in 0..N {
        black_box(verify_receipt(receipt.as_bytes(), ORIGIN, &keys, &leaf).expect("verifies"));
    }
    println!(
        "receipt verification ({} bytes, {} proof hashes): mean {:.1} µs",
        receipt.len(),
        proof_len,
        per_op(start.elapsed(), N)
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("skipping benchmarks (run with `cargo bench -p vigil-tlog`)");
        return;
    }
    bench_appends();
    let size = 10_000_000;
    let (store, root) = build_big_tree(size);
    bench_proofs(&store, size, &root, None);
    let cache = TileCache::new(4096);
    bench_proofs(&store, size, &root, Some(&cache));
    bench_receipts(&store, size, &root);
}
