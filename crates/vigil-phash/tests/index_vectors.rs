//! The index against upstream's multi-index-hashing test inputs
//! (facebook/ThreatExchange `pdq/data/reg-test-input/{haystack,needles}.txt`): every needle's
//! results equal a brute-force scan of the haystack, at radii around the match threshold.

use vigil_phash::{HashIndex, IndexMatch, Kernel, PdqHash, SearchOptions};

fn data() -> String {
    format!(
        "{}/threatexchange/pdq/data/reg-test-input/",
        vigil_testdata::vectors().display()
    )
}

fn hashes(name: &str) -> Vec<PdqHash> {
    let text = std::fs::read_to_string(format!("{}{name}", data()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| PdqHash::from_hex(l).unwrap_or_else(|e| panic!("{name}: {l:?}: {e}")))
        .collect()
}

#[test]
fn needles_in_the_haystack_equal_brute_force() {
    let haystack = hashes("haystack.txt");
    let needles = hashes("needles.txt");
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    let mut index = HashIndex::new();
    index.extend(haystack.iter().enumerate().map(|(i, h)| (i as u64, h)));
    let mut found_any = 0;
    for radius in [0, 1, 16, 31, 32, 63, 64] {
        let expected: Vec<Vec<IndexMatch>> = needles
            .iter()
            .map(|n| {
                let mut m: Vec<IndexMatch> = haystack
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| h.distance(n) <= radius)
                    .map(|(i, h)| IndexMatch {
                        distance: h.distance(n),
                        id: i as u64,
                    })
                    .collect();
                m.sort_by_key(|m| m.distance);
                m
            })
            .collect();
        for kernel in [Kernel::Portable, Kernel::Auto] {
            let options = SearchOptions {
                radius,
                threads: 2,
                kernel,
            };
            assert_eq!(
                index.search_batch(&needles, &options),
                expected,
                "radius {radius}"
            );
        }
        if radius == 31 {
            found_any = expected.iter().filter(|m| !m.is_empty()).count();
        }
    }
    // Upstream's needles are near-duplicates of haystack entries (50 exact, 50 within 4 bits):
    // every one is found at 31 bits.
    assert_eq!(found_any, 100);
}
