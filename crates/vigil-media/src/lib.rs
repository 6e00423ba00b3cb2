//! What a captured file is and what it shows: recognising media by its bytes
//! ([`sniff`]), decoding images within limits that hostile files cannot get past
//! ([`decode_image`]), and their PDQ perceptual hashes as stored and as displayed
//! ([`image_hashes`]); videos' vPDQ ([`vpdq_hash`]), where two videos share footage
//! ([`vpdq_segments`]); and what files say about themselves: container and stream metadata
//! ([`probe`]), EXIF/XMP/IPTC ([`image_metadata`]), yt-dlp's post description ([`post_info`]),
//! what a name or `Content-Type` claimed ([`claimed_kind`]), signed Content Credentials
//! ([`content_credentials`]); and how to look at them without
//! playing them: thumbnails, keyframes, contact sheets ([`video_preview`], [`image_thumbnail`]).
//!
//! Every failure is a typed [`MediaError`] with a stable code: a file that cannot be decoded
//! stays in the store as it is; only its analysis records the error.
//!
//! ```
//! use std::io::Cursor;
//! use vigil_media::{DecodeLimits, MediaKind, decode_image, sniff};
//! // A 1×1 24-bit BMP (no checksums to get wrong).
//! let mut bmp = b"BM".to_vec();
//! for v in [58u32, 0, 54, 40, 1, 1] {
//!     bmp.extend_from_slice(&v.to_le_bytes());
//! }
//! bmp.extend_from_slice(&1u16.to_le_bytes());
//! bmp.extend_from_slice(&24u16.to_le_bytes());
//! for v in [0u32, 4, 2835, 2835, 0, 0] {
//!     bmp.extend_from_slice(&v.to_le_bytes());
//! }
//! bmp.extend_from_slice(&[10, 20, 30, 0]);
//! assert_eq!(sniff(&bmp), MediaKind::Image("bmp"));
//! let decoded = decode_image(Cursor::new(&bmp), &DecodeLimits::default())?;
//! assert_eq!((decoded.width, decoded.height, &decoded.rgb[..]), (1, 1, &[30, 20, 10][..]));
//! # Ok::<(), vigil_media::MediaError>(())
//! ```

#![deny(missing_docs)]

mod c2pa_marker;
mod credentials;
mod decode;
mod h264;
mod metadata;
mod post;
mod preview;
mod probe;
mod segments;
mod sniff;
mod video;

pub use credentials::{
    ContentCredentials, IngredientSummary, ManifestSummary, StatusEntry, content_credentials,
};
pub use decode::{DecodeLimits, DecodedImage, ImageHashes, MediaError, decode_image, image_hashes};
pub use metadata::{GpsPosition, ImageMetadata, MAX_XMP, Xmp, image_metadata, read_image_metadata};
pub use post::{MAX_INFO_JSON, PostInfo, post_info};
pub use preview::{Keyframe, PreviewOptions, VideoPreview, image_thumbnail, video_preview};
pub use probe::{MediaProbe, StreamProbe, probe};
pub use segments::{MatchedSegment, SegmentOptions, vpdq_segments};
pub use sniff::SNIFF_LEN;
pub use sniff::{MediaKind, claimed_kind, kind_mismatch, sniff};
pub use video::{VideoError, VideoLimits, VpdqFrame, VpdqMatch, VpdqReport, vpdq_hash, vpdq_match};
