//! Decoding still images within limits, and hashing them as stored and as displayed.
//!
//! Limits are checked on the header *before* pixels are allocated, so a file that claims
//! 100,000 × 100,000 pixels, or a decompression bomb, is refused with a clear error instead of
//! exhausting memory.

use std::io::{BufRead, Seek};

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, metadata::Orientation};
use serde::Serialize;
use vigil_phash::{PdqHasher, PdqResult, Pipeline, PixelFormat, Pixels};

/// How much an image may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest width × height decoded (default 100 megapixels).
    pub max_pixels: u64,
    /// Largest width or height (default 65,535).
    pub max_side: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 100_000_000,
            max_side: 65_535,
        }
    }
}

/// Why an image could not be analysed. The file itself is untouched.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not an image format Vigil decodes.
    #[error("not a supported image format")]
    Unsupported,
    /// The header asks for more than the limits allow.
    #[error("image of {width}×{height} pixels exceeds the limit of {limit}")]
    TooLarge {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// The limit that refused it.
        limit: String,
    },
    /// The bytes are damaged or truncated.
    #[error("cannot decode the image: {0}")]
    Corrupt(String),
    /// Decoded, but too small or too flat for a perceptual hash.
    #[error("cannot hash the image: {0}")]
    Hash(vigil_phash::PdqError),
    /// Reading the file failed.
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
}

// Written out rather than `#[from]`, which would also make the cause a `source()` and print
// it twice in error chains: the message already includes it.
impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        MediaError::Io(e)
    }
}

impl From<vigil_phash::PdqError> for MediaError {
    fn from(e: vigil_phash::PdqError) -> Self {
        MediaError::Hash(e)
    }
}

impl MediaError {
    /// A stable code for the catalog and for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Unsupported => "unsupported-format",
            MediaError::TooLarge { .. } => "too-large",
            MediaError::Corrupt(_) => "corrupt",
            MediaError::Hash(_) => "unhashable",
            MediaError::Io(_) => "io",
        }
    }
}

/// A decoded image: RGB pixels exactly as stored in the file, and the EXIF orientation that
/// says how a viewer would turn them.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The format decoded (`jpeg`, `png`, …).
    pub format: &'static str,
    /// Width as stored.
    pub width: u32,
    /// Height as stored.
    pub height: u32,
    /// RGB, 3 bytes a pixel, row-major, as stored (no orientation applied).
    pub rgb: Vec<u8>,
    /// EXIF orientation 1..=8 (1: as stored).
    pub orientation: u8,
}

/// Decodes a still image (JPEG, PNG, WebP, GIF's first frame, BMP, TIFF) within `limits`.
pub fn decode_image<R: BufRead + Seek>(
    mut reader: R,
    limits: &DecodeLimits,
) -> Result<DecodedImage, MediaError> {
    if reader.fill_buf()?.starts_with(&[0xff, 0xd8, 0xff]) && !jpeg_has_end(&mut reader)? {
        // The JPEG decoder would fill the missing part with grey and hash that: a partly
        // downloaded photo must be reported, not silently hashed as something else.
        return Err(MediaError::Corrupt(
            "truncated JPEG: no end-of-image marker".into(),
        ));
    }
    let mut reader = ImageReader::new(reader).with_guessed_format()?;
    let format = match reader.format() {
        Some(image::ImageFormat::Jpeg) => "jpeg",
        Some(image::ImageFormat::Png) => "png",
        Some(image::ImageFormat::WebP) => "webp",
        Some(image::ImageFormat::Gif) => "gif",
        Some(image::ImageFormat::Bmp) => "bmp",
        Some(image::ImageFormat::Tiff) => "tiff",
        _ => return Err(MediaError::Unsupported),
    };
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // Output RGBA at 16 bits a channel is the largest a decoder allocates, plus working room.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|e| refusal(e, limits))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooLarge {
            width,
            height,
            limit: format!("{} pixels", limits.max_pixels),
        });
    }
    let orientation = decoder.orientation().map(Orientation::to_exif).unwrap_or(1);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, limits))?;
    Ok(DecodedImage {
        format,
        width: image.width(),
        height: image.height(),
        rgb: image.into_rgb8().into_raw(),
        orientation,
    })
}

/// True when the JPEG's end-of-image marker (FF D9) is within its last 64 KiB (cameras and
/// apps may append trailers after it). Leaves the reader where it was.
fn jpeg_has_end<R: BufRead + Seek>(reader: &mut R) -> Result<bool, MediaError> {
    use std::io::SeekFrom;
    let start = reader.stream_position()?;
    let len = reader.seek(SeekFrom::End(0))?;
    let tail_len = len.min(64 << 10);
    reader.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    reader.read_exact(&mut tail)?;
    reader.seek(SeekFrom::Start(start))?;
    Ok(tail.windows(2).any(|w| w == [0xff, 0xd9]))
}

fn refusal(e: image::ImageError, limits: &DecodeLimits) -> MediaError {
    match e {
        image::ImageError::Limits(l) => MediaError::TooLarge {
            width: 0,
            height: 0,
            limit: format!("{l} (at most {} pixels)", limits.max_pixels),
        },
        image::ImageError::Unsupported(u) => MediaError::Corrupt(u.to_string()),
        image::ImageError::IoError(io) => MediaError::Corrupt(io.to_string()),
        other => MediaError::Corrupt(other.to_string()),
    }
}

impl DecodedImage {
    /// The pixels as a viewer shows them (EXIF orientation applied), or `None` when that is
    /// how they are stored.
    pub fn displayed(&self) -> Option<DecodedImage> {
        let orientation = Orientation::from_exif(self.orientation)?;
        if orientation == Orientation::NoTransforms {
            return None;
        }
        let buffer = image::RgbImage::from_raw(self.width, self.height, self.rgb.clone())?;
        let mut image = DynamicImage::ImageRgb8(buffer);
        image.apply_orientation(orientation);
        Some(DecodedImage {
            format: self.format,
            width: image.width(),
            height: image.height(),
            rgb: image.into_rgb8().into_raw(),
            orientation: 1,
        })
    }

    fn pdq(&self, hasher: &mut PdqHasher, pipeline: Pipeline) -> Result<PdqResult, MediaError> {
        let pixels = Pixels::new(self.width, self.height, PixelFormat::Rgb8, &self.rgb)?;
        Ok(hasher.hash(&pixels, pipeline)?)
    }
}

/// The PDQ hashes of an image: of the pixels as stored, and, when EXIF turns them, as displayed.
/// Matching uses either, so a re-post that was rotated on upload still matches.
#[derive(Debug, Clone, Serialize)]
pub struct ImageHashes {
    /// The format decoded.
    pub format: &'static str,
    /// Width × height as stored.
    pub width: u32,
    /// Height as stored.
    pub height: u32,
    /// EXIF orientation (1: none).
    pub orientation: u8,
    /// PDQ of the stored pixels: (hex, quality).
    pub stored: (String, u8),
    /// PDQ as displayed, when the orientation is not 1.
    pub displayed: Option<(String, u8)>,
}

/// Decodes and hashes an image with PDQ (see [`ImageHashes`]).
pub fn image_hashes<R: BufRead + Seek>(
    reader: R,
    limits: &DecodeLimits,
    pipeline: Pipeline,
    hasher: &mut PdqHasher,
) -> Result<ImageHashes, MediaError> {
    let decoded = decode_image(reader, limits)?;
    let stored = decoded.pdq(hasher, pipeline)?;
    let displayed = match decoded.displayed() {
        Some(d) => Some(d.pdq(hasher, pipeline)?),
        None => None,
    };
    Ok(ImageHashes {
        format: decoded.format,
        width: decoded.width,
        height: decoded.height,
        orientation: decoded.orientation,
        stored: (stored.hash.to_hex(), stored.quality),
        displayed: displayed.map(|d| (d.hash.to_hex(), d.quality)),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn decodes_and_hashes_a_png() {
        let bytes = png(64, 48);
        let mut hasher = PdqHasher::new();
        let h = image_hashes(
            Cursor::new(&bytes),
            &DecodeLimits::default(),
            Pipeline::default(),
            &mut hasher,
        )
        .expect("hash");
        assert_eq!(
            (h.format, h.width, h.height, h.orientation),
            ("png", 64, 48, 1)
        );
        assert_eq!(h.stored.0.len(), 64);
        assert!(h.displayed.is_none());
    }

    #[test]
    fn hostile_images_get_clear_errors() {
        let limits = DecodeLimits::default();
        // Nothing, garbage, a truncated PNG.
        assert!(matches!(
            decode_image(Cursor::new(b""), &limits),
            Err(MediaError::Unsupported)
        ));
        assert!(matches!(
            decode_image(Cursor::new(b"not an image at all"), &limits),
            Err(MediaError::Unsupported)
        ));
        let bytes = png(64, 48);
        let cut = &bytes[..bytes.len() / 2];
        assert!(matches!(
            decode_image(Cursor::new(cut), &limits),
            Err(MediaError::Corrupt(_))
        ));
        // A PNG header claiming 100,000 × 100,000 pixels: refused before any allocation.
        let mut huge = bytes.clone();
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = decode_image(Cursor::new(&huge), &limits).expect_err("refused");
        assert!(
            matches!(err, MediaError::TooLarge { .. } | MediaError::Corrupt(_)),
            "{err}"
        );
        // A JPEG cut short is refused rather than hashed with grey in place of the rest.
        let mut jpeg = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            64,
            64,
            image::Rgb([9, 99, 199]),
        ))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .expect("encode");
        let jpeg = jpeg.into_inner();
        assert!(decode_image(Cursor::new(&jpeg), &limits).is_ok());
        let err = decode_image(Cursor::new(&jpeg[..jpeg.len() - 10]), &limits).expect_err("cut");
        assert!(err.to_string().contains("truncated JPEG"), "{err}");
        // A small pixel limit refuses an ordinary image.
        let tight = DecodeLimits {
            max_pixels: 1000,
            ..limits
        };
        let err = decode_image(Cursor::new(&bytes), &tight).expect_err("refused");
        assert_eq!(err.code(), "too-large", "{err}");
    }
}
