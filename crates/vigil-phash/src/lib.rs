//! Vigil's perceptual hashing: Meta's PDQ photo hash on decoded pixels, bit-exact with the
//! reference implementation (facebook/ThreatExchange `pdq/cpp`, which PyPI `pdqhash` wraps).
//!
//! Analysts match footage that has been re-encoded, resized or lightly edited as it spread; a
//! cryptographic hash cannot see that two files show the same picture, PDQ can. Hashes computed
//! here compare with those of ThreatExchange and every other PDQ implementation.
//!
//! - [`Pixels`]: a checked, borrowed view of decoded RGB, RGBA or grey pixels.
//! - [`pdq_hash`] → [`PdqResult`]: the [`PdqHash`] (256 bits) and a quality score 0..=100.
//!   [`pdq_hash_luma`] takes a luminance plane instead (the video path, vPDQ, uses it).
//! - [`pdq_dihedral`]: the hashes of the eight rotations and flips, from one pass.
//! - [`PdqHasher`]: the same functions with scratch buffers kept between calls (use it in loops).
//! - [`Pipeline`]: hash the given pixels ([`Pipeline::FullResolution`], as the Java, Python and
//!   `pdqhash` references do) or first shrink large images to 512x512 as the C++ command-line
//!   tool does ([`Pipeline::CppCompatible`]).
//! - [`PdqHash::distance`], [`MATCH_DISTANCE`], [`MIN_QUALITY`]: how to compare.
//! - [`HashIndex`]: exact range search (every stored hash within a radius) over millions of
//!   hashes, as fast as the CPU allows, and its file form.
//! - [`hashlist`]: hash lists in the plain text form of ThreatExchange/HMA tooling.
//!
//! The crate is pure: no disk, no network, no decoding (the index reads and writes through
//! `io::Write` and shared bytes the caller maps). `vigil-media` decodes files and hands the
//! pixels in.
//!
//! ```
//! use vigil_phash::{MATCH_DISTANCE, MIN_QUALITY, Pipeline, PixelFormat, Pixels, pdq_hash};
//!
//! // A 96x64 RGB picture (bands of a quadratic) and a brighter copy of it.
//! let (w, h) = (96u32, 64u32);
//! let mut image = Vec::new();
//! for y in 0..h {
//!     for x in 0..w {
//!         let v = ((x * x + 3 * y * y + 5 * x * y) / 97 % 200) as u8;
//!         image.extend([v, v / 2, v / 3]);
//!     }
//! }
//! let brighter: Vec<u8> = image.iter().map(|v| v.saturating_add(10)).collect();
//!
//! let a = pdq_hash(&Pixels::new(w, h, PixelFormat::Rgb8, &image)?, Pipeline::FullResolution)?;
//! let b = pdq_hash(&Pixels::new(w, h, PixelFormat::Rgb8, &brighter)?, Pipeline::default())?;
//! println!("{} quality {} distance {}", a.hash, a.quality, a.hash.distance(&b.hash));
//! assert!(a.quality >= MIN_QUALITY && b.quality >= MIN_QUALITY);
//! assert!(a.hash.distance(&b.hash) <= MATCH_DISTANCE);
//!
//! // Hostile input is refused, never a panic.
//! assert!(Pixels::new(4000, 4000, PixelFormat::Rgb8, &image).is_err());
//! # Ok::<(), vigil_phash::PdqError>(())
//! ```

#![deny(missing_docs)]

mod error;
mod hash;
pub mod hashlist;
pub mod index;
mod pdq;
mod pixels;

pub use error::PdqError;
pub use hash::PdqHash;
pub use index::{HashIndex, IndexError, IndexMatch, Kernel, SearchOptions};
pub use pdq::PdqHasher;
pub use pixels::{PixelFormat, Pixels};

/// Two hashes match (same picture) when their Hamming distance is at most this: the threshold
/// upstream recommends, with a low false-positive rate on real photo collections.
pub const MATCH_DISTANCE: u32 = 31;

/// Hashes with a lower quality (flat, featureless images) are too unstable to match on;
/// upstream recommends ignoring them.
pub const MIN_QUALITY: u8 = 50;

/// The shortest side PDQ hashes (the reference's `MIN_HASHABLE_DIM`); smaller images are
/// refused with [`PdqError::TooSmall`].
pub const MIN_DIMENSION: u32 = 5;

/// Which reference pipeline to reproduce. The two give slightly different hashes (a few bits)
/// for images larger than 512 pixels on a side; pick the one whose hashes you compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Pipeline {
    /// Hash the pixels as given, as the Java, Python and PyPI `pdqhash` references do.
    #[default]
    FullResolution,
    /// As the C++ `pdq-photo-hasher` tool: when a side exceeds 512, first resize to exactly
    /// 512x512 by nearest neighbour (source x = floor(x * W / 512), y likewise); smaller images
    /// are hashed as they are. Use it to compare with hashes made by that tool.
    CppCompatible,
}

/// A hash and how much to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdqResult {
    /// The 256-bit hash.
    pub hash: PdqHash,
    /// 0..=100: how much detail the image has (gradient energy of the 64x64 downsample). Below
    /// [`MIN_QUALITY`] the hash is unreliable.
    pub quality: u8,
}

/// Hashes decoded pixels with PDQ.
///
/// Allocates scratch space for each call; use a [`PdqHasher`] to hash many images. Fails on an
/// image with a side shorter than [`MIN_DIMENSION`] (after the pipeline's resize).
pub fn pdq_hash(pixels: &Pixels<'_>, pipeline: Pipeline) -> Result<PdqResult, PdqError> {
    PdqHasher::new().hash(pixels, pipeline)
}

/// Hashes a luminance plane (`width * height` values, row-major, on the 0..=255 scale of
/// `0.299 R + 0.587 G + 0.114 B`), at full resolution: for callers that already have luminance,
/// such as video frames decoded to a Y plane. To reproduce [`pdq_hash`] exactly, compute that sum
/// in `f64` and round it to `f32`, as the reference's Python wrapper does.
pub fn pdq_hash_luma(luma: &[f32], width: u32, height: u32) -> Result<PdqResult, PdqError> {
    PdqHasher::new().hash_luma(luma, width, height)
}

/// The hashes of the image and of its seven rotations and flips, from one filter pass (the DCT
/// coefficients of a rotated image are the original's, transposed and with signs flipped), so a
/// rotated or mirrored copy can be found by looking up eight hashes.
///
/// Order, as upstream's `pdqDihedralHash256esFromFloatLuma`: original, rotated 90°, 180°, 270°,
/// flipped about the x axis (mirror left-right), flipped about the y axis (upside down), flipped
/// about the main diagonal (transpose, "flip plus 1"), flipped about the anti-diagonal ("flip
/// minus 1"). All eight share the original's quality.
pub fn pdq_dihedral(pixels: &Pixels<'_>, pipeline: Pipeline) -> Result<[PdqResult; 8], PdqError> {
    PdqHasher::new().dihedral(pixels, pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 3).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn hostile_sizes_are_refused_without_panic() {
        let data = rgb(4, 4);
        let cases: [(u32, u32, &[u8], &str); 7] = [
            (0, 10, &[], "image-empty"),
            (10, 0, &[], "image-empty"),
            (4, 4, &data[1..], "buffer-length"),
            (4, 4, &[], "buffer-length"),
            (u32::MAX, u32::MAX, &data, "image-too-large"),
            (100_000, 100_000, &data, "buffer-length"),
            (3, 16, &data, "buffer-length"),
        ];
        for (w, h, d, code) in cases {
            let err = Pixels::new(w, h, PixelFormat::Rgb8, d).expect_err("refused");
            assert_eq!(err.code(), code, "{w}x{h}: {err}");
        }
        // Valid buffers, but too small to hash.
        for (w, h) in [(1, 1), (2, 3), (4, 100), (100, 4)] {
            let d = rgb(w, h);
            let px = Pixels::new(w, h, PixelFormat::Rgb8, &d).expect("valid");
            for pipeline in [Pipeline::FullResolution, Pipeline::CppCompatible] {
                let err = pdq_hash(&px, pipeline).expect_err("too small");
                assert_eq!(err.code(), "image-too-small", "{w}x{h}");
                assert!(pdq_dihedral(&px, pipeline).is_err());
            }
        }
        // Luminance: wrong length, zero size, too small.
        assert_eq!(
            pdq_hash_luma(&[0.0; 24], 5, 5).map_err(|e| e.code()),
            Err("buffer-length")
        );
        assert_eq!(
            pdq_hash_luma(&[], 0, 5).map_err(|e| e.code()),
            Err("image-empty")
        );
        assert_eq!(
            pdq_hash_luma(&[1.0; 4], 2, 2).map_err(|e| e.code()),
            Err("image-too-small")
        );
        assert_eq!(
            pdq_hash_luma(&[], u32::MAX, u32::MAX).map_err(|e| e.code()),
            Err(if usize::BITS == 64 {
                "buffer-length"
            } else {
                "image-too-large"
            })
        );
    }

    #[test]
    fn non_finite_luma_does_not_panic() {
        let luma = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -f32::MAX,
        ]
        .iter()
        .copied()
        .cycle()
        .take(7 * 9)
        .collect::<Vec<_>>();
        assert!(pdq_hash_luma(&luma, 7, 9).is_ok());
    }

    #[test]
    fn formats_agree_and_hasher_reuse_is_stateless() {
        let (w, h) = (37u32, 23u32);
        let rgb = rgb(w, h);
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 7])
            .collect();
        let a = pdq_hash(
            &Pixels::new(w, h, PixelFormat::Rgb8, &rgb).expect("ok"),
            Pipeline::default(),
        )
        .expect("hash");
        let b = pdq_hash(
            &Pixels::new(w, h, PixelFormat::Rgba8, &rgba).expect("ok"),
            Pipeline::default(),
        )
        .expect("hash");
        assert_eq!(a, b);
        let luma: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| {
                (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32
            })
            .collect();
        assert_eq!(pdq_hash_luma(&luma, w, h), Ok(a));
        let grey: Vec<u8> = rgb.iter().step_by(3).copied().collect();
        let g = pdq_hash(
            &Pixels::new(w, h, PixelFormat::Gray8, &grey).expect("ok"),
            Pipeline::default(),
        )
        .expect("hash");
        let gl: Vec<f32> = grey.iter().map(|&v| f32::from(v)).collect();
        assert_eq!(pdq_hash_luma(&gl, w, h), Ok(g));
        // Grey expanded to RGB hashes the same: the double-precision luma rounds back to g.
        let grey_rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let g3 = pdq_hash(
            &Pixels::new(w, h, PixelFormat::Rgb8, &grey_rgb).expect("ok"),
            Pipeline::default(),
        )
        .expect("hash");
        assert_eq!(g3, g);

        // A hasher used on a big image, then a small one, gives the fresh result.
        let mut hasher = PdqHasher::new();
        let big = self::rgb(700, 300);
        let big = Pixels::new(700, 300, PixelFormat::Rgb8, &big).expect("ok");
        let first = hasher.hash(&big, Pipeline::CppCompatible).expect("hash");
        let small = Pixels::new(w, h, PixelFormat::Rgb8, &rgb).expect("ok");
        assert_eq!(hasher.hash(&small, Pipeline::default()), Ok(a));
        assert_eq!(hasher.hash(&big, Pipeline::CppCompatible), Ok(first));
        assert_eq!(pdq_dihedral(&small, Pipeline::default()).expect("ok")[0], a);
    }

    #[test]
    fn cpp_pipeline_only_resizes_large_images() {
        let data = rgb(300, 200);
        let px = Pixels::new(300, 200, PixelFormat::Rgb8, &data).expect("ok");
        assert_eq!(
            pdq_hash(&px, Pipeline::CppCompatible),
            pdq_hash(&px, Pipeline::FullResolution)
        );
        // 1000x3 is too thin to hash as it is, but the C++ tool stretches it to 512x512.
        let thin = rgb(1000, 3);
        let px = Pixels::new(1000, 3, PixelFormat::Rgb8, &thin).expect("ok");
        assert!(pdq_hash(&px, Pipeline::FullResolution).is_err());
        assert!(pdq_hash(&px, Pipeline::CppCompatible).is_ok());
    }
}
