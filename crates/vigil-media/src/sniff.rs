//! Recognising media by its first bytes, never by its name: names come from the network and
//! lie; magic numbers rarely do.

use serde::Serialize;

/// What kind of media a file holds, by its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "format", rename_all = "kebab-case")]
pub enum MediaKind {
    /// A still image; the format name (`jpeg`, `png`, `webp`, `gif`, `bmp`, `tiff`, and `heif`
    /// or `avif`, which are recognised but not decoded).
    Image(&'static str),
    /// A video container (`mp4`, `mov`, `webm`, `mkv`, `avi`, `flv`, `mpeg-ts`, `3gp`).
    Video(&'static str),
    /// Audio only (`mp3`, `ogg`, `flac`, `wav`, `m4a`).
    Audio(&'static str),
    /// Anything else (HTML, JSON, text, archives…).
    Other,
}

/// Bytes [`sniff`] wants to see (fewer are fine, with less certainty).
pub const SNIFF_LEN: usize = 64;

/// Classifies a file by its first bytes (at least [`SNIFF_LEN`] when available).
pub fn sniff(head: &[u8]) -> MediaKind {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if starts(&[0xff, 0xd8, 0xff]) {
        return MediaKind::Image("jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return MediaKind::Image("png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return MediaKind::Image("gif");
    }
    if starts(b"RIFF") && at(8, b"WEBP") {
        return MediaKind::Image("webp");
    }
    if starts(b"RIFF") && at(8, b"AVI ") {
        return MediaKind::Video("avi");
    }
    if starts(b"RIFF") && at(8, b"WAVE") {
        return MediaKind::Audio("wav");
    }
    if starts(b"BM") && head.len() >= 18 {
        return MediaKind::Image("bmp");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return MediaKind::Image("tiff");
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        return match brand {
            b"M4A " | b"M4B " => MediaKind::Audio("m4a"),
            b"avif" | b"avis" => MediaKind::Image("avif"),
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis" => MediaKind::Image("heif"),
            b"qt  " => MediaKind::Video("mov"),
            b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => MediaKind::Video("3gp"),
            _ => MediaKind::Video("mp4"),
        };
    }
    if starts(&[0x1a, 0x45, 0xdf, 0xa3]) {
        // EBML: WebM and Matroska share it; the doc type says which.
        let webm = head.windows(4).any(|w| w == b"webm");
        return MediaKind::Video(if webm { "webm" } else { "mkv" });
    }
    if starts(b"FLV\x01") {
        return MediaKind::Video("flv");
    }
    if head.len() >= 189 && head[0] == 0x47 && head[188] == 0x47 {
        return MediaKind::Video("mpeg-ts");
    }
    if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        return MediaKind::Audio("mp3");
    }
    if starts(b"OggS") {
        return MediaKind::Audio("ogg");
    }
    if starts(b"fLaC") {
        return MediaKind::Audio("flac");
    }
    MediaKind::Other
}

/// What a file was said to be, by its name or the server's `Content-Type`: never trusted,
/// but recorded, because a mismatch (a "photo.jpg" that is a video, an HTML page served as an
/// image) is worth an investigator's attention.
pub fn claimed_kind(name: Option<&str>, content_type: Option<&str>) -> Option<MediaKind> {
    let by_type = content_type.and_then(|t| {
        let t = t.split(';').next()?.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => MediaKind::Image("jpeg"),
            "image/png" => MediaKind::Image("png"),
            "image/gif" => MediaKind::Image("gif"),
            "image/webp" => MediaKind::Image("webp"),
            "image/bmp" | "image/x-ms-bmp" => MediaKind::Image("bmp"),
            "image/tiff" => MediaKind::Image("tiff"),
            "image/heic" | "image/heif" => MediaKind::Image("heif"),
            "image/avif" => MediaKind::Image("avif"),
            "video/mp4" | "video/x-m4v" => MediaKind::Video("mp4"),
            "video/quicktime" => MediaKind::Video("mov"),
            "video/webm" => MediaKind::Video("webm"),
            "video/x-matroska" => MediaKind::Video("mkv"),
            "video/x-msvideo" => MediaKind::Video("avi"),
            "video/x-flv" => MediaKind::Video("flv"),
            "video/mp2t" => MediaKind::Video("mpeg-ts"),
            "video/3gpp" | "video/3gpp2" => MediaKind::Video("3gp"),
            "audio/mpeg" => MediaKind::Audio("mp3"),
            "audio/ogg" | "audio/opus" => MediaKind::Audio("ogg"),
            "audio/flac" => MediaKind::Audio("flac"),
            "audio/wav" | "audio/x-wav" => MediaKind::Audio("wav"),
            "audio/mp4" | "audio/x-m4a" => MediaKind::Audio("m4a"),
            "application/octet-stream" | "" => return None,
            _ => MediaKind::Other,
        })
    });
    let by_name = name.and_then(|n| {
        let ext = n.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jpg" | "jpeg" | "jpe" | "jfif" => MediaKind::Image("jpeg"),
            "png" => MediaKind::Image("png"),
            "gif" => MediaKind::Image("gif"),
            "webp" => MediaKind::Image("webp"),
            "bmp" => MediaKind::Image("bmp"),
            "tif" | "tiff" => MediaKind::Image("tiff"),
            "heic" | "heif" => MediaKind::Image("heif"),
            "avif" => MediaKind::Image("avif"),
            "mp4" | "m4v" => MediaKind::Video("mp4"),
            "mov" => MediaKind::Video("mov"),
            "webm" => MediaKind::Video("webm"),
            "mkv" => MediaKind::Video("mkv"),
            "avi" => MediaKind::Video("avi"),
            "flv" => MediaKind::Video("flv"),
            "ts" | "m2ts" => MediaKind::Video("mpeg-ts"),
            "3gp" | "3g2" => MediaKind::Video("3gp"),
            "mp3" => MediaKind::Audio("mp3"),
            "ogg" | "oga" | "opus" => MediaKind::Audio("ogg"),
            "flac" => MediaKind::Audio("flac"),
            "wav" => MediaKind::Audio("wav"),
            "m4a" => MediaKind::Audio("m4a"),
            _ => return None,
        })
    });
    by_type.or(by_name)
}

/// Whether what a file is and what it was said to be disagree in a way worth flagging: a
/// different kind (image, video, audio, other), or a different image format. Containers of
/// one family (MP4, MOV, 3GP, M4A are all ISO media files) are not flagged against each other.
pub fn kind_mismatch(real: MediaKind, claimed: MediaKind) -> bool {
    let family = |k: MediaKind| match k {
        MediaKind::Video("mp4" | "mov" | "3gp") | MediaKind::Audio("m4a") => "iso-bmff",
        MediaKind::Video("webm" | "mkv") => "matroska",
        MediaKind::Audio("ogg") => "ogg",
        MediaKind::Image(f) | MediaKind::Video(f) | MediaKind::Audio(f) => f,
        MediaKind::Other => "other",
    };
    family(real) != family(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_formats_are_recognised_by_content() {
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), MediaKind::Image("jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), MediaKind::Image("png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), MediaKind::Image("webp"));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypisom\0\0\x02\0"),
            MediaKind::Video("mp4")
        );
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  "), MediaKind::Video("mov"));
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm"),
            MediaKind::Video("webm")
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypheic\0\0\0\0"),
            MediaKind::Image("heif")
        );
        assert_eq!(sniff(b"<!doctype html>"), MediaKind::Other);
        assert_eq!(sniff(b""), MediaKind::Other);
        assert_eq!(
            sniff(b"BM"),
            MediaKind::Other,
            "too short for a bitmap header"
        );
    }

    #[test]
    fn claims_and_mismatches() {
        assert_eq!(
            claimed_kind(Some("IMG_1.JPG"), None),
            Some(MediaKind::Image("jpeg"))
        );
        assert_eq!(
            claimed_kind(Some("x.jpg"), Some("video/mp4; codecs=avc1")),
            Some(MediaKind::Video("mp4")),
            "the server's type first"
        );
        assert_eq!(
            claimed_kind(Some("x"), Some("application/octet-stream")),
            None
        );
        assert_eq!(
            claimed_kind(None, Some("text/html")),
            Some(MediaKind::Other)
        );
        let mp4 = MediaKind::Video("mp4");
        assert!(!kind_mismatch(mp4, MediaKind::Video("mov")));
        assert!(kind_mismatch(mp4, MediaKind::Image("jpeg")));
        assert!(kind_mismatch(
            MediaKind::Image("png"),
            MediaKind::Image("jpeg")
        ));
        assert!(kind_mismatch(MediaKind::Other, MediaKind::Image("jpeg")));
        assert!(!kind_mismatch(
            MediaKind::Image("jpeg"),
            MediaKind::Image("jpeg")
        ));
    }
}
