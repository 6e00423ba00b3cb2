//! Borrowed views of decoded pixels, checked before any work.

use crate::PdqError;

/// How the bytes of a [`Pixels`] view are laid out, row-major, no padding between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Three bytes per pixel: red, green, blue (what decoders and Pillow's `convert("RGB")` give).
    Rgb8,
    /// Four bytes per pixel: red, green, blue, alpha. Alpha is ignored, as Pillow's
    /// `convert("RGB")` drops it, so an RGBA image hashes like its RGB channels.
    Rgba8,
    /// One byte per pixel used directly as luminance; hashes exactly like the same grey
    /// expanded to RGB (`0.299g + 0.587g + 0.114g`, in double precision, rounds back to `g`).
    Gray8,
    /// One `f32` luminance value per pixel; only produced internally by
    /// [`pdq_hash_luma`](crate::pdq_hash_luma), listed so errors can name it.
    LumaF32,
}

impl PixelFormat {
    /// Values per pixel in the buffer.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 => 4,
            PixelFormat::Gray8 | PixelFormat::LumaF32 => 1,
        }
    }
}

/// A borrowed, validated view of a decoded image: the input of [`pdq_hash`](crate::pdq_hash).
///
/// Construction checks the claim (size, format) against the buffer, so hashing never reads out of
/// bounds and a hostile header cannot make us allocate for pixels that do not exist.
#[derive(Debug, Clone, Copy)]
pub struct Pixels<'a> {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: &'a [u8],
}

impl<'a> Pixels<'a> {
    /// Wraps `data` as a `width` x `height` image in `format` (row-major, tightly packed).
    ///
    /// Fails when a side is zero, when the size overflows, or when `data.len()` is not exactly
    /// `width * height * channels`. `LumaF32` is refused here (use
    /// [`pdq_hash_luma`](crate::pdq_hash_luma)).
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        data: &'a [u8],
    ) -> Result<Pixels<'a>, PdqError> {
        let expected = checked_len(width, height, format.channels())?;
        if format == PixelFormat::LumaF32 || data.len() != expected {
            return Err(PdqError::BufferLength {
                width,
                height,
                format,
                expected,
                actual: data.len(),
            });
        }
        Ok(Pixels {
            width,
            height,
            format,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Layout of [`Pixels::data`].
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The pixel bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// `width * height * channels`, refusing zero sides and overflow.
pub(crate) fn checked_len(width: u32, height: u32, channels: usize) -> Result<usize, PdqError> {
    if width == 0 || height == 0 {
        return Err(PdqError::Empty { width, height });
    }
    usize::try_from(width)
        .ok()
        .zip(usize::try_from(height).ok())
        .and_then(|(w, h)| w.checked_mul(h))
        .and_then(|n| n.checked_mul(channels))
        .ok_or(PdqError::TooLarge { width, height })
}
