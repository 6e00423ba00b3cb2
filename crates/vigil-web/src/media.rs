//! `GET /items/{sha256}/media`: the original bytes, for the page's image viewer and video
//! player. Only kinds a browser shows safely are served this way (raster images, video and
//! audio, recognised by their first bytes, never by a name); everything else is download-only.
//! Byte ranges are honoured so that a player can seek in a large video without fetching it all.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use vigil_core::accounts;
use vigil_media::MediaKind;

use crate::auth::SignedIn;
use crate::pages::{open_blob, visible_item};
use crate::{AppState, WebError};

/// How the page shows an item's original bytes, decided by what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playable {
    /// An `<img>`, with this type.
    Image(&'static str),
    /// A `<video>`, with this type.
    Video(&'static str),
    /// An `<audio>`, with this type.
    Audio(&'static str),
}

impl Playable {
    /// The `Content-Type` the bytes are served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Playable::Image(t) | Playable::Video(t) | Playable::Audio(t) => t,
        }
    }
}

/// What a browser can show of a sniffed kind. TIFF and HEIF are left out (browsers do not
/// decode them); so is every container a browser's `<video>` does not open (AVI, FLV, MPEG-TS):
/// their keyframes are on the page instead. Never anything that could run as a page.
pub fn playable(kind: MediaKind) -> Option<Playable> {
    Some(match kind {
        MediaKind::Image("jpeg") => Playable::Image("image/jpeg"),
        MediaKind::Image("png") => Playable::Image("image/png"),
        MediaKind::Image("gif") => Playable::Image("image/gif"),
        MediaKind::Image("webp") => Playable::Image("image/webp"),
        MediaKind::Image("bmp") => Playable::Image("image/bmp"),
        MediaKind::Image("avif") => Playable::Image("image/avif"),
        MediaKind::Video("mp4" | "mov" | "3gp") => Playable::Video("video/mp4"),
        MediaKind::Video("webm" | "mkv") => Playable::Video("video/webm"),
        MediaKind::Audio("mp3") => Playable::Audio("audio/mpeg"),
        MediaKind::Audio("ogg") => Playable::Audio("audio/ogg"),
        MediaKind::Audio("flac") => Playable::Audio("audio/flac"),
        MediaKind::Audio("wav") => Playable::Audio("audio/wav"),
        MediaKind::Audio("m4a") => Playable::Audio("audio/mp4"),
        _ => return None,
    })
}

/// What the stored bytes of `digest` are, by their first bytes.
pub(crate) async fn sniff_blob(
    state: &AppState,
    digest: &vigil_store::Sha256Digest,
) -> Result<MediaKind, WebError> {
    let mut file = tokio::fs::File::open(state.blobs.path_of(digest))
        .await
        .map_err(|e| WebError::internal(e, false))?;
    let mut head = Vec::with_capacity(vigil_media::SNIFF_LEN.max(189));
    (&mut file)
        .take(vigil_media::SNIFF_LEN.max(189) as u64)
        .read_to_end(&mut head)
        .await
        .map_err(|e| WebError::internal(e, false))?;
    Ok(vigil_media::sniff(&head))
}

/// The answer to a `Range` header for a body of `length` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range (absent, malformed, several ranges, another unit): the whole body,
    /// as RFC 9110 allows a server to answer any range request.
    Whole,
    /// Bytes `start..=end` (inclusive, as `Content-Range` counts them).
    Part {
        /// First byte.
        start: u64,
        /// Last byte, within the body.
        end: u64,
    },
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// Parses a single `bytes=` range (`a-b`, `a-`, `-n`) against a body of `length` bytes.
pub fn byte_range(header: Option<&str>, length: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || length == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start: length.saturating_sub(n),
                    end: length - 1,
                }
            }
        }
        (false, Some(start), end) => {
            if !last.trim().is_empty() && end.is_none() {
                return ByteRange::Whole;
            }
            if start >= length {
                return ByteRange::Unsatisfiable;
            }
            let end = end.map_or(length - 1, |e| e.min(length - 1));
            if end < start {
                return ByteRange::Whole;
            }
            ByteRange::Part { start, end }
        }
        _ => ByteRange::Whole,
    }
}

/// `GET /items/{sha256}/media`: the original bytes of a showable item, with its real type and
/// byte ranges; recorded once per viewing (the request that starts at the first byte).
pub async fn media(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let item = visible_item(&state, &who, &id).await?;
    let Some(kind) = playable(sniff_blob(&state, &item.sha256).await?) else {
        return Err(WebError::not_found(false));
    };
    let (mut file, length) = open_blob(&state, &item.sha256).await?;
    let range = byte_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        length,
    );
    let starts_at_zero = matches!(range, ByteRange::Whole | ByteRange::Part { start: 0, .. });
    if starts_at_zero {
        accounts::audit(
            &state.catalog,
            Some(who.user()),
            "play",
            &format!("item:{}", item.sha256.to_hex()),
            serde_json::json!({ "type": kind.content_type() }),
            who.client.ip.as_deref(),
        )
        .await?;
    }
    let (status, start, count) = match range {
        ByteRange::Whole => (StatusCode::OK, 0, length),
        ByteRange::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        ByteRange::Unsatisfiable => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{length}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(|e| WebError::internal(e, false))?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file.take(count)));
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Shown inside the page only; opened on its own it may not run anything.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{length}", start + count - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range(None, 100), ByteRange::Whole);
        assert_eq!(
            byte_range(Some("bytes=0-"), 100),
            ByteRange::Part { start: 0, end: 99 }
        );
        assert_eq!(
            byte_range(Some("bytes=10-19"), 100),
            ByteRange::Part { start: 10, end: 19 }
        );
        assert_eq!(
            byte_range(Some("bytes=90-500"), 100),
            ByteRange::Part { start: 90, end: 99 }
        );
        assert_eq!(
            byte_range(Some("bytes=-10"), 100),
            ByteRange::Part { start: 90, end: 99 }
        );
        assert_eq!(
            byte_range(Some("bytes=-500"), 100),
            ByteRange::Part { start: 0, end: 99 }
        );
        assert_eq!(
            byte_range(Some("bytes=100-"), 100),
            ByteRange::Unsatisfiable
        );
        assert_eq!(byte_range(Some("bytes=-0"), 100), ByteRange::Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=0-"), 0), ByteRange::Unsatisfiable);
    }

    #[test]
    fn odd_ranges_get_the_whole_body() {
        for odd in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=-",
            "bytes=+1-2",
            "bytes=1-x",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(byte_range(Some(odd), 100), ByteRange::Whole, "{odd}");
        }
    }

    #[test]
    fn only_what_a_browser_shows_safely_is_playable() {
        assert_eq!(
            playable(MediaKind::Image("jpeg")),
            Some(Playable::Image("image/jpeg"))
        );
        assert_eq!(
            playable(MediaKind::Video("mov")),
            Some(Playable::Video("video/mp4"))
        );
        assert_eq!(playable(MediaKind::Image("tiff")), None);
        assert_eq!(playable(MediaKind::Video("avi")), None);
        assert_eq!(playable(MediaKind::Other), None);
    }
}
