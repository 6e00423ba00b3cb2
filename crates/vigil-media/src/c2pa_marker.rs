//! Whether a file can hold Content Credentials at all, found by walking its structure (JPEG
//! segments, PNG and RIFF chunks, ISO-BMFF top-level boxes) without reading its pixels.
//!
//! The `c2pa` crate reads a whole file (twice, for its XMP and its manifest) before it can
//! say "no manifest", which for a 3 MB photo is most of the cost of reading its metadata.
//! Almost every file has none, so this walk answers first and only files that may carry one
//! go to `c2pa`. It only ever says "no" after walking the whole structure cleanly: anything
//! unexpected (damage, an unknown layout, a read error, a format it does not know) says
//! "maybe", and `c2pa` decides as before — a manifest is never hidden by this shortcut.

use std::io::{Read, Seek, SeekFrom};

/// The `uuid` box type C2PA uses in ISO-BMFF files (MP4, MOV, HEIF, AVIF).
const C2PA_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];
/// The `uuid` box type of XMP in ISO-BMFF.
const XMP_UUID: [u8; 16] = [
    0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8, 0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac,
];
/// Structures walked before giving up with "maybe" (a crafted file cannot make this slow).
const MAX_STEPS: usize = 100_000;
/// Largest XMP read to look for a remote manifest reference (`dcterms:provenance`).
const MAX_XMP_READ: u64 = 4 << 20;

/// False only when the file's structure was walked to its end and holds neither an embedded
/// manifest nor an XMP reference to a remote one. Leaves the stream at an unspecified place.
pub(crate) fn may_carry_manifest(stream: &mut (impl Read + Seek)) -> bool {
    let mut head = [0u8; 12];
    if stream.rewind().is_err() || read_full(stream, &mut head).is_err() {
        return true;
    }
    let walked = if head.starts_with(&[0xff, 0xd8]) {
        jpeg(stream)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(stream)
    } else if head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        riff(stream)
    } else if &head[4..8] == b"ftyp" {
        bmff(stream)
    } else {
        None
    };
    walked.unwrap_or(true)
}

fn read_full(stream: &mut impl Read, buf: &mut [u8]) -> std::io::Result<()> {
    stream.read_exact(buf)
}

/// Reads `len` bytes (bounded) and says whether they name a remote manifest.
fn xmp_refers_to_manifest(stream: &mut impl Read, len: u64) -> Option<bool> {
    if len > MAX_XMP_READ {
        return None;
    }
    let mut xmp = vec![0u8; len as usize];
    stream.read_exact(&mut xmp).ok()?;
    Some(memchr::memmem::find(&xmp, b"provenance").is_some())
}

/// JPEG: the segments before the first scan, which is where `c2pa` itself looks (its JPEG
/// parser, `img-parts`, stops at the first SOS too). C2PA lives in APP11 (JUMBF, common
/// identifier `JP`), XMP in APP1.
fn jpeg(stream: &mut (impl Read + Seek)) -> Option<bool> {
    stream.seek(SeekFrom::Start(2)).ok()?;
    for _ in 0..MAX_STEPS {
        let mut marker = [0u8; 2];
        stream.read_exact(&mut marker).ok()?;
        if marker[0] != 0xff {
            return None;
        }
        match marker[1] {
            // Fill byte: the marker follows.
            0xff => {
                stream.seek(SeekFrom::Current(-1)).ok()?;
                continue;
            }
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => continue,
            // Start of scan (image data follows) or end of image.
            0xda | 0xd9 => return Some(false),
            _ => {}
        }
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).ok()?;
        let payload = u64::from(u16::from_be_bytes(len)).checked_sub(2)?;
        match marker[1] {
            0xeb => {
                let mut id = [0u8; 2];
                if payload >= 2 && stream.read_exact(&mut id).is_ok() && &id == b"JP" {
                    return Some(true);
                }
                // An APP11 that is not JUMBF: skip what is left of it.
                let read = if payload >= 2 { 2 } else { 0 };
                stream
                    .seek(SeekFrom::Current((payload - read) as i64))
                    .ok()?;
            }
            0xe1 => {
                if xmp_refers_to_manifest(stream, payload)? {
                    return Some(true);
                }
            }
            _ => {
                stream.seek(SeekFrom::Current(payload as i64)).ok()?;
            }
        }
    }
    None
}

/// PNG: every chunk to `IEND`. C2PA lives in `caBX`, XMP in `iTXt`.
fn png(stream: &mut (impl Read + Seek)) -> Option<bool> {
    stream.seek(SeekFrom::Start(8)).ok()?;
    for _ in 0..MAX_STEPS {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).ok()?;
        let len = u64::from(u32::from_be_bytes(header[..4].try_into().ok()?));
        match &header[4..8] {
            b"caBX" => return Some(true),
            b"IEND" => return Some(false),
            b"iTXt" => {
                if xmp_refers_to_manifest(stream, len)? {
                    return Some(true);
                }
                stream.seek(SeekFrom::Current(4)).ok()?;
            }
            _ => {
                stream.seek(SeekFrom::Current(len as i64 + 4)).ok()?;
            }
        }
    }
    None
}

/// RIFF (WebP): every chunk to the end of the RIFF body. C2PA lives in `C2PA`, XMP in `XMP `.
fn riff(stream: &mut (impl Read + Seek)) -> Option<bool> {
    let end = stream.seek(SeekFrom::End(0)).ok()?;
    stream.seek(SeekFrom::Start(12)).ok()?;
    let mut at = 12u64;
    for _ in 0..MAX_STEPS {
        if at >= end {
            return Some(false);
        }
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).ok()?;
        let len = u64::from(u32::from_le_bytes(header[4..8].try_into().ok()?));
        let is_xmp = &header[..4] == b"XMP ";
        if &header[..4] == b"C2PA" || (is_xmp && xmp_refers_to_manifest(stream, len)?) {
            return Some(true);
        }
        at = at.checked_add(8 + len + (len & 1))?;
        stream.seek(SeekFrom::Start(at)).ok()?;
    }
    None
}

/// ISO-BMFF: the top-level boxes. C2PA lives in a `uuid` box of its own type.
fn bmff(stream: &mut (impl Read + Seek)) -> Option<bool> {
    let end = stream.seek(SeekFrom::End(0)).ok()?;
    let mut at = 0u64;
    for _ in 0..MAX_STEPS {
        if at == end {
            return Some(false);
        }
        stream.seek(SeekFrom::Start(at)).ok()?;
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).ok()?;
        let mut header_len = 8u64;
        let size = match u32::from_be_bytes(header[..4].try_into().ok()?) {
            // To the end of the file.
            0 => end - at,
            1 => {
                let mut large = [0u8; 8];
                stream.read_exact(&mut large).ok()?;
                header_len = 16;
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        if size < header_len || at.checked_add(size)? > end {
            return None;
        }
        if &header[4..8] == b"uuid" {
            let mut kind = [0u8; 16];
            stream.read_exact(&mut kind).ok()?;
            if kind == C2PA_UUID {
                return Some(true);
            }
            if kind == XMP_UUID
                && xmp_refers_to_manifest(stream, size.checked_sub(header_len + 16)?)?
            {
                return Some(true);
            }
        }
        at += size;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn vectors() -> String {
        format!("{}/", vigil_testdata::vectors().display())
    }

    /// On every fixture, with and without a manifest, the walk agrees with `c2pa` itself.
    #[test]
    fn agrees_with_c2pa_on_every_fixture() {
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in [
            "c2pa",
            "threatexchange/tmk/sample-videos",
            "threatexchange/pdq/data/misc-images",
            "threatexchange/pdq/data/reg-test-input/exif-rotn",
        ] {
            for entry in std::fs::read_dir(format!("{}{dir}", vectors())).expect("fixtures") {
                files.push(entry.expect("entry").path());
            }
        }
        let mut with_manifest = 0;
        for file in files {
            let bytes = std::fs::read(&file).expect("read");
            let kind = crate::sniff(&bytes[..bytes.len().min(crate::SNIFF_LEN)]);
            let format = match kind {
                crate::MediaKind::Image(f) => format!("image/{f}"),
                crate::MediaKind::Video(_) => "video/mp4".into(),
                _ => continue,
            };
            let found = crate::credentials::read_with_c2pa(&format, Cursor::new(&bytes)).is_some();
            let maybe = may_carry_manifest(&mut Cursor::new(&bytes));
            assert!(maybe || !found, "{}: a manifest was missed", file.display());
            if found {
                with_manifest += 1;
            } else {
                // `no_manifest.jpg` still names its stripped manifest in its XMP: rightly a maybe.
                let names_one = memchr::memmem::find(&bytes, b"provenance").is_some();
                assert!(
                    !maybe
                        || names_one
                        || !matches!(kind, crate::MediaKind::Image("jpeg" | "png" | "webp")),
                    "{}: no manifest, yet the walk said maybe",
                    file.display()
                );
            }
        }
        assert_eq!(
            with_manifest, 5,
            "C, CA, CIE-sig-CA, no_alg (unreadable) and video1"
        );
    }

    #[test]
    fn damaged_and_crafted_structures_say_maybe() {
        // A JPEG cut inside a segment, a PNG chunk running past the end, a box larger than
        // the file, a box of size 0 (to the end) without C2PA, and an endless run of fill
        // bytes all end in a clear answer.
        assert!(may_carry_manifest(&mut Cursor::new(
            b"\xff\xd8\xff\xe1\x10\x00ab"
        )));
        assert!(may_carry_manifest(&mut Cursor::new(
            b"\x89PNG\r\n\x1a\n\x00\x00\x10\x00tEXtabc"
        )));
        assert!(may_carry_manifest(&mut Cursor::new(
            b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isom\xff\xff\xff\xffmdat"
        )));
        assert!(!may_carry_manifest(&mut Cursor::new(
            b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00\x00\x00\x00\x00mdat1234"
        )));
        let mut fill = b"\xff\xd8".to_vec();
        fill.extend(std::iter::repeat_n(0xffu8, 300_000));
        assert!(may_carry_manifest(&mut Cursor::new(fill)));
        assert!(may_carry_manifest(&mut Cursor::new(b"GIF89a")));
        assert!(may_carry_manifest(&mut Cursor::new(b"")));
    }
}
