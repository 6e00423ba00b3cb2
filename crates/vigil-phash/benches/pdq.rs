//! PDQ throughput on one thread: a generated 1024x1024 RGB image, hashed with a reused
//! `PdqHasher` and with a fresh one per call (`pdq_hash`).
//!
//! Run: `cargo bench -p vigil-phash --bench pdq`. The peer figure comes from
//! `benches/pdqhash_peer.py` (PyPI `pdqhash`, the C++ reference) on the same bytes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vigil_phash::{PdqHasher, Pipeline, PixelFormat, Pixels, pdq_hash};

const SIDE: u32 = 1024;

/// The benchmark image, identical in `pdqhash_peer.py`: pixel = (x*7 + y*13 + c*29) % 256.
fn image() -> Vec<u8> {
    let mut v = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            for c in 0..3 {
                v.push(((x * 7 + y * 13 + c * 29) % 256) as u8);
            }
        }
    }
    v
}

/// Runs `f` for at least `min` (after a warm-up) and returns calls per second.
fn rate(min: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < min {
        f();
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() -> Result<(), vigil_phash::PdqError> {
    let data = image();
    let pixels = Pixels::new(SIDE, SIDE, PixelFormat::Rgb8, &data)?;
    let first = pdq_hash(&pixels, Pipeline::FullResolution)?;
    println!("hash {} quality {}", first.hash, first.quality);

    let min = Duration::from_secs(3);
    let mut hasher = PdqHasher::new();
    let reused = rate(min, || {
        black_box(hasher.hash(black_box(&pixels), Pipeline::FullResolution)).ok();
    });
    let fresh = rate(min, || {
        black_box(pdq_hash(black_box(&pixels), Pipeline::FullResolution)).ok();
    });
    let cpp = rate(min, || {
        black_box(hasher.hash(black_box(&pixels), Pipeline::CppCompatible)).ok();
    });
    println!("pdq 1024x1024 rgb, one thread:");
    println!(
        "  reused PdqHasher   {reused:8.1} hashes/s  ({:.3} ms)",
        1e3 / reused
    );
    println!(
        "  fresh (pdq_hash)   {fresh:8.1} hashes/s  ({:.3} ms)",
        1e3 / fresh
    );
    println!(
        "  reused, CppCompat  {cpp:8.1} hashes/s  ({:.3} ms)",
        1e3 / cpp
    );
    Ok(())
}
