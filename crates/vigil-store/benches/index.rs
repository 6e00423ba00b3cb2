//! The near-duplicate index at scale, beside faiss (bench/index.sh drives both on the same
//! files): build, save, open (memory map), and 10,000 radius-31 queries on `threads` threads.
//!
//!   cargo bench -p vigil-store --bench index -- DIR THREADS
//!
//! The page cache is dropped before the snapshot is opened when the bench may (root), so the
//! open and the first query are timed cold.
//!
//! DIR holds hashes.bin and queries.bin (32 bytes a hash, from bench/index_data.py); writes
//! DIR/vigil.txt, one line of sorted ids per query, for comparison with faiss's results.

use std::io::Write;
use std::time::Instant;

use vigil_phash::{HashIndex, PdqHash, SearchOptions};

fn read_hashes(path: &std::path::Path) -> anyhow::Result<Vec<PdqHash>> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(bytes.len() % 32 == 0, "{path:?} is not whole hashes");
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            PdqHash(h)
        })
        .collect())
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(dir), Some(threads)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo bench -p vigil-store --bench index -- DIR THREADS");
        return Ok(());
    };
    let dir = std::path::Path::new(dir);
    let threads: usize = threads.parse()?;
    let hashes = read_hashes(&dir.join("hashes.bin"))?;
    let queries = read_hashes(&dir.join("queries.bin"))?;

    let before = rss_bytes();
    let start = Instant::now();
    let mut index = HashIndex::new();
    index.extend(hashes.iter().enumerate().map(|(i, h)| (i as u64, h)));
    let build = start.elapsed().as_secs_f64();
    let memory = rss_bytes().saturating_sub(before) as f64 / hashes.len() as f64;
    drop(hashes);

    let path = dir.join("vigil.vhix");
    let start = Instant::now();
    vigil_store::save_hash_index(&index, &path)?;
    let save = start.elapsed().as_secs_f64();
    drop(index);
    // Cold open: the snapshot's pages leave the page cache first (needs root; skipped if not).
    let cold = std::fs::write("/proc/sys/vm/drop_caches", "1").is_ok();

    let start = Instant::now();
    let index = vigil_store::open_hash_index(&path)?
        .ok_or_else(|| anyhow::anyhow!("no index at {path:?}"))?;
    let open = start.elapsed().as_secs_f64();

    let options = SearchOptions {
        radius: 31,
        threads,
        ..Default::default()
    };
    let start = Instant::now();
    let first = index.search(&queries[0], &options);
    let first_query = start.elapsed().as_secs_f64();
    let cpu = || {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid timespec to write into.
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    };
    let (start, cpu_start) = (Instant::now(), cpu());
    let results = index.search_batch(&queries, &options);
    let search = start.elapsed().as_secs_f64();
    let search_cpu = cpu() - cpu_start;

    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("vigil.txt"))?);
    let mut total = 0usize;
    for found in &results {
        let mut ids: Vec<u64> = found.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        total += ids.len();
        let line: Vec<String> = ids.iter().map(u64::to_string).collect();
        writeln!(out, "{}", line.join(" "))?;
    }
    out.flush()?;
    anyhow::ensure!(
        results[0] == first,
        "the single query and the batch disagree"
    );
    println!(
        "vigil HashIndex: {} hashes, {} queries, {threads} threads: build {build:.2} s, \
         save {save:.2} s, open {:.1} ms (first query after a {} open {:.0} ms), \
         search {search:.2} s = {:.0} queries/s ({search_cpu:.2} s of CPU), {total} results, memory {memory:.1} B/hash \
         (data {:.1} B/hash)",
        index.len(),
        queries.len(),
        open * 1e3,
        if cold { "cold" } else { "warm" },
        first_query * 1e3,
        queries.len() as f64 / search,
        index.data_bytes() as f64 / index.len() as f64,
    );
    std::fs::remove_file(&path)?;
    Ok(())
}
