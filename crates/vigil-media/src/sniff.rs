//! Recognising media by its first bytes, never by its name: names come from the network and
//! lie; magic numbers rarely do.

use serde::Serialize;

/// What kind of media a file holds, by its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "format", rename_all = "kebab-case")]
pub enum MediaKind {
    /// A still image; the format name (`jpeg`, `png`, `webp`, `gif`, `bmp`, `tiff`).
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
        assert_eq!(sniff(b"<!doctype html>"), MediaKind::Other);
        assert_eq!(sniff(b""), MediaKind::Other);
        assert_eq!(
            sniff(b"BM"),
            MediaKind::Other,
            "too short for a bitmap header"
        );
    }
}
