//! What an item's bytes are, from their first bytes: the index's `kind` is a claim, and a
//! reader must see what the file is, not what the package says it is.
//!
//! The same table as Vigil's own `vigil_media::sniff` (which gave the `kind` the exporter
//! wrote: `image`, `video`, `audio` or `other`), written again here because this verifier
//! depends on none of the code that made a package; a test compares the two on every magic
//! number, so they cannot drift apart.

/// Bytes [`sniff`] is given: as many as Vigil's analysis reads (`vigil_media::SNIFF_LEN`),
/// so that both see the same bytes and say the same.
pub(crate) const SNIFF_LEN: usize = 64;

/// What the bytes are: the kind as the index names kinds, and the format when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sniffed {
    /// `image`, `video`, `audio` or `other`.
    pub(crate) kind: &'static str,
    /// `jpeg`, `mp4`… (`None` for `other`).
    pub(crate) format: Option<&'static str>,
}

const fn of(kind: &'static str, format: &'static str) -> Sniffed {
    Sniffed {
        kind,
        format: Some(format),
    }
}

const OTHER: Sniffed = Sniffed {
    kind: "other",
    format: None,
};

/// Classifies a file by its first bytes.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if starts(&[0xff, 0xd8, 0xff]) {
        return of("image", "jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return of("image", "png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return of("image", "gif");
    }
    if starts(b"RIFF") {
        if at(8, b"WEBP") {
            return of("image", "webp");
        }
        if at(8, b"AVI ") {
            return of("video", "avi");
        }
        if at(8, b"WAVE") {
            return of("audio", "wav");
        }
    }
    if starts(b"BM") && head.len() >= 18 {
        return of("image", "bmp");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return of("image", "tiff");
    }
    if at(4, b"ftyp") {
        return match head.get(8..12).unwrap_or_default() {
            b"M4A " | b"M4B " => of("audio", "m4a"),
            b"avif" | b"avis" => of("image", "avif"),
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis" => of("image", "heif"),
            b"qt  " => of("video", "mov"),
            b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => of("video", "3gp"),
            _ => of("video", "mp4"),
        };
    }
    if starts(&[0x1a, 0x45, 0xdf, 0xa3]) {
        // EBML: WebM and Matroska share it; the doc type says which.
        let webm = head.windows(4).any(|w| w == b"webm");
        return of("video", if webm { "webm" } else { "mkv" });
    }
    if starts(b"FLV\x01") {
        return of("video", "flv");
    }
    if head.len() >= 189 && head[0] == 0x47 && head[188] == 0x47 {
        return of("video", "mpeg-ts");
    }
    if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        return of("audio", "mp3");
    }
    if starts(b"OggS") {
        return of("audio", "ogg");
    }
    if starts(b"fLaC") {
        return of("audio", "flac");
    }
    OTHER
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_media::MediaKind;

    /// Vigil's sniffer, which wrote the index's `kind`, read as this module reads kinds.
    fn vigils(head: &[u8]) -> Sniffed {
        match vigil_media::sniff(head) {
            MediaKind::Image(f) => of("image", f),
            MediaKind::Video(f) => of("video", f),
            MediaKind::Audio(f) => of("audio", f),
            MediaKind::Other => OTHER,
        }
    }

    #[test]
    fn agrees_with_vigil_media_on_every_magic_number() {
        assert_eq!(SNIFF_LEN, vigil_media::SNIFF_LEN);
        let mut ts = vec![0x47u8; 1];
        ts.resize(188, 0);
        ts.push(0x47);
        let samples: Vec<Vec<u8>> = [
            &b"\xff\xd8\xff\xe0 jfif"[..],
            b"\x89PNG\r\n\x1a\n....",
            b"GIF89a..",
            b"GIF87a..",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"RIFF\0\0\0\0AVI LIST",
            b"RIFF\0\0\0\0WAVEfmt ",
            b"RIFF\0\0\0\0ABCD",
            b"BM\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            b"BM",
            b"II*\0....",
            b"MM\0*....",
            b"\0\0\0\x18ftypisom\0\0\x02\0",
            b"\0\0\0\x14ftypqt  ",
            b"\0\0\0\x14ftypM4A ",
            b"\0\0\0\x14ftypM4B ",
            b"\0\0\0\x14ftypavif",
            b"\0\0\0\x14ftypheic",
            b"\0\0\0\x14ftypmif1",
            b"\0\0\0\x14ftyp3gp5",
            b"\0\0\0\x14ftyp",
            b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm",
            b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska",
            b"FLV\x01\x05",
            &ts,
            &ts[..100],
            b"ID3\x04",
            b"\xff\xfb\x90",
            b"OggS\0",
            b"fLaC\0",
            b"<!doctype html>",
            b"%PDF-1.7",
            b"",
            b"\xff",
        ]
        .iter()
        .map(|s| s.to_vec())
        .collect();
        for head in samples {
            assert_eq!(sniff(&head), vigils(&head), "{head:?}");
        }
        // And on every two-byte start (the mp3 frame-sync rule, BM, II, MM…).
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let head = [a, b, b'*', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                assert_eq!(sniff(&head), vigils(&head), "{head:?}");
            }
        }
    }
}
