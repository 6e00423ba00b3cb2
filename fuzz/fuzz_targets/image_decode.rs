//! Any bytes given to the image path: sniffing, metadata (EXIF, XMP, IPTC), decoding within
//! limits, PDQ as stored and as displayed. Must never panic, hang or allocate past the limits.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vigil_media::{DecodeLimits, image_hashes, image_metadata, sniff};
use vigil_phash::{PdqHasher, Pipeline};

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let _ = image_metadata(data);
    // Small limits keep each run fast; the limit checks are what is being tested.
    let limits = DecodeLimits {
        max_pixels: 4_000_000,
        max_side: 8192,
    };
    let mut hasher = PdqHasher::new();
    for pipeline in [Pipeline::FullResolution, Pipeline::CppCompatible] {
        let _ = image_hashes(Cursor::new(data), &limits, pipeline, &mut hasher);
    }
});
