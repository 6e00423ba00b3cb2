//! The one error type of this crate.

use crate::PixelFormat;

/// Why an image or a hash string was refused.
///
/// Every variant is the caller's fault (bad input); the hasher itself cannot fail once the input
/// is valid. [`PdqError::code`] gives a stable machine-readable code for logs and APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdqError {
    /// Width or height is zero: there is nothing to hash.
    #[error("image is empty ({width}x{height})")]
    Empty {
        /// Claimed width in pixels.
        width: u32,
        /// Claimed height in pixels.
        height: u32,
    },
    /// A side is shorter than [`MIN_DIMENSION`](crate::MIN_DIMENSION). The reference returns an
    /// all-zero hash with quality 0 here; we refuse instead, because that hash would "match"
    /// every other degenerate image.
    #[error("image {width}x{height} is too small for PDQ: each side needs at least {min} pixels")]
    TooSmall {
        /// Width in pixels (after any pre-resize).
        width: u32,
        /// Height in pixels (after any pre-resize).
        height: u32,
        /// The smallest side PDQ hashes.
        min: u32,
    },
    /// `width * height * bytes_per_pixel` does not fit in memory addresses.
    #[error("image dimensions {width}x{height} overflow the address space")]
    TooLarge {
        /// Claimed width in pixels.
        width: u32,
        /// Claimed height in pixels.
        height: u32,
    },
    /// The buffer length does not match the claimed size and format.
    #[error(
        "pixel buffer holds {actual} values but a {width}x{height} {format:?} image needs {expected}"
    )]
    BufferLength {
        /// Claimed width in pixels.
        width: u32,
        /// Claimed height in pixels.
        height: u32,
        /// Claimed layout.
        format: PixelFormat,
        /// Values (bytes, or floats for luminance) the claim needs.
        expected: usize,
        /// Values the buffer holds.
        actual: usize,
    },
    /// A hash string is not 64 hexadecimal digits.
    #[error("invalid PDQ hash: {reason}")]
    InvalidHex {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl PdqError {
    /// A stable, machine-readable code for this error (`"image-too-small"`, ...), for logs and
    /// API bodies that must not depend on the wording of the message.
    pub fn code(&self) -> &'static str {
        match self {
            PdqError::Empty { .. } => "image-empty",
            PdqError::TooSmall { .. } => "image-too-small",
            PdqError::TooLarge { .. } => "image-too-large",
            PdqError::BufferLength { .. } => "buffer-length",
            PdqError::InvalidHex { .. } => "invalid-hash-hex",
        }
    }
}
