//! End-to-end image hashing on one thread: read a JPEG file, decode it, PDQ of its pixels as
//! stored. The files are every `.jpg`/`.jpeg` under `$VIGIL_BENCH_IMAGES`; each is hashed
//! once per round, rounds repeat for at least 5 seconds.
//!
//! Run: `VIGIL_BENCH_IMAGES=DIR cargo bench -p vigil-media --bench jpeg_files` (`bench/phash.sh`
//! runs it beside `benches/jpeg_files_peer.py`, PyPI `pdqhash` + Pillow on the same files).
//! With `VIGIL_BENCH_HASHES=FILE` it writes `name,hash,quality` lines for comparison.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use vigil_media::{DecodeLimits, decode_image};
use vigil_phash::{PdqHasher, Pipeline, PixelFormat, Pixels};

fn jpegs(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            jpegs(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("VIGIL_BENCH_IMAGES") else {
        eprintln!("set VIGIL_BENCH_IMAGES to a directory of JPEG files");
        return Ok(());
    };
    let mut files = Vec::new();
    jpegs(dir.as_ref(), &mut files)?;
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no JPEG files under {dir:?}");
    let limits = DecodeLimits::default();
    let mut hasher = PdqHasher::new();
    let mut hash_file = |path: &PathBuf| -> anyhow::Result<(String, u8)> {
        let bytes = std::fs::read(path)?;
        let image = decode_image(Cursor::new(bytes), &limits)?;
        let pixels = Pixels::new(image.width, image.height, PixelFormat::Rgb8, &image.rgb)?;
        let result = hasher.hash(&pixels, Pipeline::FullResolution)?;
        Ok((result.hash.to_hex(), result.quality))
    };

    let mut lines = String::new();
    let mut pixels = 0u64;
    for path in &files {
        let (hash, quality) = hash_file(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        lines.push_str(&format!("{name},{hash},{quality}\n"));
        let image = decode_image(Cursor::new(std::fs::read(path)?), &limits)?;
        pixels += u64::from(image.width) * u64::from(image.height);
    }
    if let Some(out) = std::env::var_os("VIGIL_BENCH_HASHES") {
        std::fs::write(out, &lines)?;
    }

    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < Duration::from_secs(5) {
        for path in &files {
            std::hint::black_box(hash_file(path)?);
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "vigil-media decode + vigil-phash, one thread: {} files ({:.1} Mpixel a round): {:.1} files/s ({:.2} ms a file)",
        files.len(),
        pixels as f64 / 1e6,
        done as f64 / secs,
        1e3 * secs / done as f64
    );
    Ok(())
}
