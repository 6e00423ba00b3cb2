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
    /// Most bytes of pixels one picture may hold at once while it is decoded and hashed
    /// (default 512 MiB; see [`pixel_bytes`]). A few hundred kilobytes of PNG can claim
    /// 10,000 × 10,000 pixels: counting megapixels alone let that take over a gigabyte.
    pub max_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 100_000_000,
            max_side: 65_535,
            max_bytes: 512 << 20,
        }
    }
}

/// Bytes a pixel takes in the RGB copy every picture is turned into.
const RGB_BYTES: u64 = 3;
/// Bytes a pixel takes in the PDQ hasher's working planes (`vigil_phash` keeps the luminance
/// and one filtered copy, as `f32`, at full resolution).
const HASH_BYTES: u64 = 8;

/// Bytes of pixels a picture of `width` × `height` holds at its peak when decoded to
/// `bytes_per_pixel` (the decoder's colour type) and hashed: while decoding, the decoder's
/// output plus its RGB copy (none when the output is already 8-bit RGB); while hashing, the
/// RGB pixels plus the hasher's planes. Thumbnails need less (RGB twice).
pub fn pixel_bytes(width: u32, height: u32, bytes_per_pixel: u8, is_rgb8: bool) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let decoding = u64::from(bytes_per_pixel) + if is_rgb8 { 0 } else { RGB_BYTES };
    pixels.saturating_mul(decoding.max(RGB_BYTES + HASH_BYTES))
}

/// `bytes` for a person, in MiB (KiB below one MiB); what is needed is rounded up and a
/// limit down, so a refusal never shows the two as equal.
fn size(bytes: u64, up: bool) -> String {
    let (unit, name) = if bytes >= 1 << 20 {
        (1 << 20, "MiB")
    } else {
        (1 << 10, "KiB")
    };
    let n = if up {
        bytes.div_ceil(unit)
    } else {
        bytes / unit
    };
    format!("{n} {name}")
}

/// A number of pixels for a person.
fn pixel_count(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} megapixels", n as f64 / 1e6)
    } else {
        format!("{n} pixels")
    }
}

/// Why an image could not be analysed. The file itself is untouched.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not an image format Vigil decodes.
    #[error("not a supported image format")]
    Unsupported,
    /// The header asks for more than the limits allow (refused before pixels are allocated).
    #[error("{}", too_large(*.width, *.height, .needed, .limit))]
    TooLarge {
        /// Claimed width (0 when the decoder refused before saying).
        width: u32,
        /// Claimed height (0 likewise).
        height: u32,
        /// What the picture would need, e.g. "1049 MiB decoded and hashed".
        needed: String,
        /// The limit that refused it, e.g. "512 MiB".
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

/// "10000×10000 pixels (1049 MiB decoded and hashed) exceeds the limit of 512 MiB", or
/// without the size when the decoder refused before reading it.
fn too_large(width: u32, height: u32, needed: &str, limit: &str) -> String {
    match (width, height, needed.is_empty()) {
        (0, _, _) | (_, 0, _) if needed.is_empty() => {
            format!("the image exceeds the limit of {limit}")
        }
        (0, _, _) | (_, 0, _) => format!("the image ({needed}) exceeds the limit of {limit}"),
        (_, _, true) => format!("{width}×{height} pixels exceeds the limit of {limit}"),
        _ => format!("{width}×{height} pixels ({needed}) exceeds the limit of {limit}"),
    }
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
    // What decoders allocate for themselves (output and working buffers) counts too.
    decoder_limits.max_alloc = Some(limits.max_bytes);
    reader.limits(decoder_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| refusal(e, (0, 0), limits))?;
    let (width, height) = decoder.dimensions();
    let refused = |needed: String, limit: String| MediaError::TooLarge {
        width,
        height,
        needed,
        limit,
    };
    if width.max(height) > limits.max_side {
        return Err(refused(
            format!("a side of {}", width.max(height)),
            format!("{} pixels a side", limits.max_side),
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(refused(pixel_count(pixels), pixel_count(limits.max_pixels)));
    }
    let color = decoder.color_type();
    let bytes = pixel_bytes(
        width,
        height,
        color.bytes_per_pixel(),
        color == image::ColorType::Rgb8,
    );
    if bytes > limits.max_bytes {
        return Err(refused(
            format!("{} decoded and hashed", size(bytes, true)),
            size(limits.max_bytes, false),
        ));
    }
    let orientation = decoder.orientation().map(Orientation::to_exif).unwrap_or(1);
    let image =
        DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, (width, height), limits))?;
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

/// An error of the `image` crate as ours; `size` is (0, 0) when the header was not read yet.
fn refusal(e: image::ImageError, (width, height): (u32, u32), limits: &DecodeLimits) -> MediaError {
    match e {
        image::ImageError::Limits(l) => {
            let (needed, limit) = match l.kind() {
                image::error::LimitErrorKind::DimensionError => {
                    (String::new(), format!("{} pixels a side", limits.max_side))
                }
                _ => (
                    "the decoder's own buffers".to_owned(),
                    size(limits.max_bytes, false),
                ),
            };
            MediaError::TooLarge {
                width,
                height,
                needed,
                limit,
            }
        }
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

    /// As [`displayed`](Self::displayed), turning these pixels rather than a copy of them
    /// (only a quarter turn needs a second buffer, and this one is freed as soon as it is made).
    fn into_displayed(self) -> DecodedImage {
        let Some(orientation) =
            Orientation::from_exif(self.orientation).filter(|o| *o != Orientation::NoTransforms)
        else {
            return self;
        };
        let (format, width, height) = (self.format, self.width, self.height);
        let Some(buffer) = image::RgbImage::from_raw(width, height, self.rgb) else {
            // Cannot happen: `decode_image` made the buffer to this size.
            return DecodedImage {
                format,
                width: 0,
                height: 0,
                rgb: Vec::new(),
                orientation: 1,
            };
        };
        let mut image = DynamicImage::ImageRgb8(buffer);
        image.apply_orientation(orientation);
        DecodedImage {
            format,
            width: image.width(),
            height: image.height(),
            rgb: image.into_rgb8().into_raw(),
            orientation: 1,
        }
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
    let (format, width, height, orientation) = (
        decoded.format,
        decoded.width,
        decoded.height,
        decoded.orientation,
    );
    let turned =
        Orientation::from_exif(orientation).is_some_and(|o| o != Orientation::NoTransforms);
    let displayed = if !turned {
        None
    } else {
        // The hasher's planes are let go before the turned copy is made, so one picture never
        // holds more than `pixel_bytes` counts (RGB and the planes, or RGB twice).
        *hasher = PdqHasher::new();
        Some(decoded.into_displayed().pdq(hasher, pipeline)?)
    };
    Ok(ImageHashes {
        format,
        width,
        height,
        orientation,
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
        // A PNG header claiming 100,000 × 100,000 pixels: refused before any allocation, by
        // the decoder itself (before it tells the size), with a message that says which limit.
        let huge = claiming(&bytes, 100_000, 100_000);
        let err = decode_image(Cursor::new(&huge), &limits).expect_err("refused");
        assert_eq!(err.code(), "too-large", "{err}");
        assert_eq!(
            err.to_string(),
            "the image exceeds the limit of 65535 pixels a side"
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
        assert_eq!(
            err.to_string(),
            "64×48 pixels (3072 pixels) exceeds the limit of 1000 pixels"
        );
    }

    /// `png` with its header claiming `width` × `height`, its CRC made right again (as a
    /// hostile file's would be: the decoder checks it before it reads the size).
    fn claiming(png: &[u8], width: u32, height: u32) -> Vec<u8> {
        let mut out = png.to_vec();
        out[16..20].copy_from_slice(&width.to_be_bytes());
        out[20..24].copy_from_slice(&height.to_be_bytes());
        // The IHDR chunk: type and data at 12..29, its CRC-32 at 29..33.
        let crc = crc32(&out[12..29]);
        out[29..33].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: a test helper, not a fast one.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn pictures_are_bounded_by_the_bytes_of_their_pixels() {
        let limits = DecodeLimits::default();
        // 100 megapixels passed the old limit (exactly at it) and took over a gigabyte: RGB
        // (300 MB) plus the hasher's planes (800 MB).
        let bytes = png(64, 48);
        let err = decode_image(Cursor::new(claiming(&bytes, 10_000, 10_000)), &limits)
            .expect_err("refused");
        assert_eq!(err.code(), "too-large");
        assert_eq!(
            err.to_string(),
            "10000×10000 pixels (1050 MiB decoded and hashed) exceeds the limit of 512 MiB"
        );
        // What each colour type costs: 8-bit RGB needs no copy; others their own bytes and
        // the RGB copy while decoding; hashing always RGB plus 8 bytes a pixel.
        assert_eq!(pixel_bytes(100, 100, 3, true), 110_000);
        assert_eq!(pixel_bytes(100, 100, 1, false), 110_000);
        assert_eq!(pixel_bytes(100, 100, 16, false), 190_000);
        // A 48-megapixel phone photo still fits; the 100-megapixel limit stays for the rest.
        assert!(pixel_bytes(8000, 6000, 3, true) <= limits.max_bytes);
        assert!(pixel_bytes(8700, 6000, 3, true) > limits.max_bytes);
        // The bound is what the caller gives.
        let roomy = DecodeLimits {
            max_bytes: 2 << 30,
            max_pixels: 10_000,
            ..limits
        };
        let err =
            decode_image(Cursor::new(claiming(&bytes, 1000, 1000)), &roomy).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "1000×1000 pixels (1.0 megapixels) exceeds the limit of 10000 pixels"
        );
        let small = DecodeLimits {
            max_bytes: 64 * 48 * 11 - 1,
            ..limits
        };
        assert_eq!(
            decode_image(Cursor::new(&bytes), &small)
                .expect_err("refused")
                .to_string(),
            "64×48 pixels (33 KiB decoded and hashed) exceeds the limit of 32 KiB"
        );
        assert!(
            decode_image(
                Cursor::new(&bytes),
                &DecodeLimits {
                    max_bytes: 64 * 48 * 11,
                    ..limits
                }
            )
            .is_ok()
        );
    }

    /// A turned picture is hashed as displayed without holding two copies and the hasher's
    /// planes at once; the hashes are those of turning a copy.
    #[test]
    fn turned_pictures_hash_as_displayed() {
        let bytes = png(96, 64);
        let decoded = decode_image(Cursor::new(&bytes), &DecodeLimits::default()).expect("png");
        let mut hasher = PdqHasher::new();
        for orientation in 1..=8 {
            let turned = DecodedImage {
                orientation,
                ..decoded.clone()
            };
            let expected = turned
                .displayed()
                .map(|d| d.pdq(&mut hasher, Pipeline::default()).expect("hash").hash);
            let shown = turned.clone().into_displayed();
            assert_eq!(shown.orientation, 1);
            let got = shown
                .pdq(&mut hasher, Pipeline::default())
                .expect("hash")
                .hash;
            match expected {
                Some(e) => assert_eq!(got, e, "orientation {orientation}"),
                None => assert_eq!(shown.rgb, decoded.rgb),
            }
        }
    }
}
