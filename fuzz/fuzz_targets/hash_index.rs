//! Any bytes parsed as a shared hash list, and loaded as a near-duplicate index snapshot (a
//! damaged or hand-edited `STORE/index/pdq.vhix`): refused with an error, or searched without a
//! panic, and written back to the same hashes and ids.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use vigil_phash::hashlist::parse_hash_list;
use vigil_phash::{HashIndex, Kernel, PdqHash, SearchOptions};

fuzz_target!(|data: &[u8]| {
    // The same bytes as a shared hash list (one hash a line, then tags).
    let _ = parse_hash_list(data);
    // The header as the fuzzer wrote it, and a valid header in front of the rest (so that
    // the search and write paths are reached, not just the header checks).
    let mut candidates = vec![data.to_vec()];
    let mut framed = b"VIGLHIX\0".to_vec();
    framed.extend_from_slice(&1u32.to_le_bytes());
    framed.extend_from_slice(&16u32.to_le_bytes());
    let body = data.len().saturating_sub(40);
    let count = (body / (32 + 8)) as u64; // about right: the check decides
    framed.extend_from_slice(&count.to_le_bytes());
    framed.resize(64, 0);
    framed.extend_from_slice(data);
    candidates.push(framed);
    for bytes in candidates {
        let Ok(index) = HashIndex::from_shared_bytes(Arc::new(bytes.clone())) else {
            continue;
        };
        let query = PdqHash(std::array::from_fn(|i| data.get(i).copied().unwrap_or(0)));
        for kernel in [Kernel::Portable, Kernel::Auto] {
            let options = SearchOptions { radius: 40, threads: 1, kernel };
            let _ = index.search(&query, &options);
        }
        let mut again = Vec::new();
        index.write_to(&mut again).expect("writing to memory");
        let reloaded = HashIndex::from_shared_bytes(Arc::new(again)).expect("written, so valid");
        assert!(index.iter().eq(reloaded.iter()), "a loaded index writes back the same hashes");
    }
});
