//! What a photo says about itself: EXIF, XMP and IPTC metadata.
//!
//! Investigators verify footage by it: which device took the picture and when (with the UTC
//! offset the camera recorded), where (GPS), and which software touched it last — an editor's
//! name in `Software` or in the XMP history is a reason to look closer. Platforms strip most of
//! it on upload, so its absence says something too. Every tag is kept with its raw value as
//! shown by the EXIF library; the interpreted fields are conveniences over them. The parsers
//! only ever read the bytes they are given (the caller bounds how many), never follow offsets
//! outside them, and report damage as an error.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, SeekFrom};

use serde::Serialize;

/// Metadata found in an image file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageMetadata {
    /// Every EXIF field: `(IFD, tag name, value as displayed)`, in file order. IFD 0 is the
    /// image, 1 its embedded thumbnail.
    pub exif: Vec<(u16, String, String)>,
    /// Why EXIF could not be read, when it was present but damaged.
    pub exif_error: Option<String>,
    /// `Make Model`, when either is set.
    pub camera: Option<String>,
    /// The `Software` tag: firmware, or the editor that last saved the file.
    pub software: Option<String>,
    /// When the picture was taken (`DateTimeOriginal` in ISO 8601 form, followed by
    /// `OffsetTimeOriginal` when set: `2017-11-07T22:14:06+04:00`; no offset means local time
    /// of an unknown zone).
    pub taken_at: Option<String>,
    /// When the file was last changed (`DateTime`, with `OffsetTime` when set, as above).
    pub modified_at: Option<String>,
    /// Where, from the GPS tags.
    pub gps: Option<GpsPosition>,
    /// EXIF orientation 1..=8.
    pub orientation: Option<u16>,
    /// The XMP packet, when there is one.
    pub xmp: Option<Xmp>,
    /// IPTC-IIM datasets (`2:80 By-line` → values), from a JPEG's Photoshop segment.
    pub iptc: BTreeMap<String, Vec<String>>,
}

/// A position from EXIF GPS tags, in decimal degrees (north and east positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GpsPosition {
    /// Latitude, -90..=90.
    pub latitude: f64,
    /// Longitude, -180..=180.
    pub longitude: f64,
    /// Altitude in metres above sea level, when given.
    pub altitude_m: Option<f64>,
}

/// The parts of an XMP packet investigators read, and the packet itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Xmp {
    /// `xmp:CreatorTool`: the application that created the file.
    pub creator_tool: Option<String>,
    /// `stEvt:softwareAgent` of each history entry: every application that saved it.
    pub history_agents: Vec<String>,
    /// `xmp:CreateDate`.
    pub create_date: Option<String>,
    /// `xmp:ModifyDate`.
    pub modify_date: Option<String>,
    /// `photoshop:DateCreated`.
    pub date_created: Option<String>,
    /// The packet as found (at most [`MAX_XMP`] bytes, lossily decoded as UTF-8).
    pub raw: String,
}

/// Longest XMP packet kept.
pub const MAX_XMP: usize = 1 << 20;

/// Reads the EXIF, XMP and IPTC metadata in `bytes` (a whole file, or as much of its start as
/// the caller allows: EXIF in JPEG, PNG and WebP sits near the start).
pub fn image_metadata(bytes: &[u8]) -> ImageMetadata {
    let mut meta = ImageMetadata::default();
    match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(found) => read_exif(&found, &mut meta),
        // No EXIF at all is normal (platforms strip it); anything else is damage worth saying.
        Err(exif::Error::NotFound(_)) | Err(exif::Error::InvalidFormat("Unknown image format")) => {
        }
        Err(e) => meta.exif_error = Some(e.to_string()),
    }
    meta.xmp = xmp(bytes);
    meta.iptc = iptc(bytes);
    meta
}

/// Reads the part of an image file that holds its metadata, at most `limit` bytes, and
/// [`image_metadata`] of it. For a JPEG that is the segments before the image data (EXIF in
/// APP1, XMP in APP1, IPTC in APP13): a few KiB of a multi-megabyte photo. Other formats
/// (PNG and WebP may put metadata after the pixels) are read up to `limit`.
pub fn read_image_metadata(
    mut file: impl Read + Seek,
    limit: u64,
) -> std::io::Result<ImageMetadata> {
    let jpeg_end = jpeg_metadata_end(&mut file).filter(|end| *end <= limit);
    file.rewind()?;
    let mut bytes = Vec::new();
    file.take(jpeg_end.unwrap_or(limit))
        .read_to_end(&mut bytes)?;
    if jpeg_end.is_some() {
        // The segments alone, closed with an end-of-image marker so that readers looking
        // further (for EXIF that is not there) meet the end rather than a cut file.
        bytes.extend_from_slice(&[0xff, 0xd9]);
    }
    Ok(image_metadata(&bytes))
}

/// Where a JPEG's first scan starts (its metadata segments all come before), when the
/// segments up to it are well formed.
fn jpeg_metadata_end(file: &mut (impl Read + Seek)) -> Option<u64> {
    file.rewind().ok()?;
    let mut soi = [0u8; 2];
    file.read_exact(&mut soi).ok()?;
    if soi != [0xff, 0xd8] {
        return None;
    }
    let mut at = 2u64;
    for _ in 0..10_000 {
        let mut marker = [0u8; 4];
        file.read_exact(&mut marker).ok()?;
        if marker[0] != 0xff || marker[1] == 0xff {
            return None;
        }
        if marker[1] == 0xda || marker[1] == 0xd9 {
            return Some(at);
        }
        let len = u64::from(u16::from_be_bytes([marker[2], marker[3]]));
        at = at.checked_add(2 + len)?;
        file.seek(SeekFrom::Start(at)).ok()?;
    }
    None
}

fn read_exif(found: &exif::Exif, meta: &mut ImageMetadata) {
    use exif::{In, Tag, Value};
    for f in found.fields() {
        meta.exif.push((
            f.ifd_num.index(),
            f.tag.to_string(),
            f.display_value().with_unit(found).to_string(),
        ));
    }
    let text = |tag: Tag| -> Option<String> {
        let field = found.get_field(tag, In::PRIMARY)?;
        match &field.value {
            Value::Ascii(parts) => {
                let s: Vec<String> = parts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                (!s.is_empty()).then(|| s.join(" "))
            }
            _ => Some(field.display_value().to_string()),
        }
    };
    meta.camera = match (text(Tag::Make), text(Tag::Model)) {
        (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (a, b) => a.or(b),
    };
    meta.software = text(Tag::Software);
    let with_offset = |time: Tag, offset: Tag| {
        text(time).map(|t| format!("{}{}", iso_time(&t), text(offset).unwrap_or_default()))
    };
    meta.taken_at = with_offset(Tag::DateTimeOriginal, Tag::OffsetTimeOriginal);
    meta.modified_at = with_offset(Tag::DateTime, Tag::OffsetTime);
    meta.orientation = found
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    let degrees = |tag: Tag, reference: Tag, negative: &str| -> Option<f64> {
        let Value::Rational(parts) = &found.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        let part = |i: usize| parts.get(i).map(|r| r.to_f64()).filter(|v| v.is_finite());
        let value = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
        let sign = match text(reference) {
            Some(r) if r.eq_ignore_ascii_case(negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * value)
    };
    if let (Some(latitude), Some(longitude)) = (
        degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S"),
        degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W"),
    ) && latitude.abs() <= 90.0
        && longitude.abs() <= 180.0
    {
        let altitude_m = found
            .get_field(Tag::GPSAltitude, In::PRIMARY)
            .and_then(|f| match &f.value {
                Value::Rational(r) => r.first().map(|r| r.to_f64()),
                _ => None,
            })
            .filter(|v| v.is_finite())
            .map(|a| {
                let below = found
                    .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
                    .and_then(|f| f.value.get_uint(0))
                    == Some(1);
                if below { -a } else { a }
            });
        meta.gps = Some(GpsPosition {
            latitude,
            longitude,
            altitude_m,
        });
    }
}

/// EXIF's `YYYY:MM:DD HH:MM:SS` as ISO 8601 (`YYYY-MM-DDTHH:MM:SS`); anything else as written.
fn iso_time(exif: &str) -> String {
    let b = exif.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() == 19
        && digits(0..4)
        && b[4] == b':'
        && digits(5..7)
        && b[7] == b':'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
    {
        format!(
            "{}-{}-{}T{}",
            &exif[0..4],
            &exif[5..7],
            &exif[8..10],
            &exif[11..]
        )
    } else {
        exif.to_string()
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|i| i + from)
}

/// The XMP packet: from `<x:xmpmeta` to its end tag, within [`MAX_XMP`] bytes.
fn xmp(bytes: &[u8]) -> Option<Xmp> {
    let start = find(bytes, b"<x:xmpmeta", 0)?;
    let window = &bytes[start..bytes.len().min(start + MAX_XMP)];
    let end = find(window, b"</x:xmpmeta>", 0).map_or(window.len(), |e| e + b"</x:xmpmeta>".len());
    let mut raw = String::from_utf8_lossy(&window[..end]).into_owned();
    // Each invalid byte becomes a 3-byte U+FFFD: cut back to MAX_XMP bytes.
    if raw.len() > MAX_XMP {
        let mut cut = MAX_XMP;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
    }
    Some(Xmp {
        creator_tool: xmp_values(&raw, "xmp:CreatorTool").into_iter().next(),
        history_agents: xmp_values(&raw, "stEvt:softwareAgent"),
        create_date: xmp_values(&raw, "xmp:CreateDate").into_iter().next(),
        modify_date: xmp_values(&raw, "xmp:ModifyDate").into_iter().next(),
        date_created: xmp_values(&raw, "photoshop:DateCreated").into_iter().next(),
        raw,
    })
}

/// Every value of an XMP property, written as an attribute (`name="v"`) or an element
/// (`<name>v</name>`, possibly holding an `rdf:Alt`/`rdf:Seq` of `rdf:li`).
fn xmp_values(xml: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let attr = format!("{name}=\"");
    let mut at = 0;
    while let Some(i) = xml[at..].find(&attr) {
        let v = at + i + attr.len();
        let Some(len) = xml[v..].find('"') else { break };
        out.push(unescape(&xml[v..v + len]));
        at = v + len;
    }
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    at = 0;
    while let Some(i) = xml[at..].find(&open) {
        let v = at + i + open.len();
        let Some(len) = xml[v..].find(&close) else {
            break;
        };
        let inner = &xml[v..v + len];
        if inner.contains("<rdf:li") {
            let mut li = 0;
            while let Some(j) = inner[li..].find("<rdf:li") {
                let Some(gt) = inner[li + j..].find('>') else {
                    break;
                };
                let s = li + j + gt + 1;
                let Some(e) = inner[s..].find("</rdf:li>") else {
                    break;
                };
                out.push(unescape(inner[s..s + e].trim()));
                li = s + e;
            }
        } else {
            out.push(unescape(inner.trim()));
        }
        at = v + len;
    }
    out.retain(|v| !v.is_empty());
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// IPTC-IIM dataset names (record 2) investigators read.
fn iptc_name(record: u8, dataset: u8) -> String {
    let name = match (record, dataset) {
        (2, 5) => "ObjectName",
        (2, 25) => "Keywords",
        (2, 55) => "DateCreated",
        (2, 60) => "TimeCreated",
        (2, 80) => "By-line",
        (2, 85) => "By-lineTitle",
        (2, 90) => "City",
        (2, 95) => "Province-State",
        (2, 101) => "Country",
        (2, 105) => "Headline",
        (2, 110) => "Credit",
        (2, 115) => "Source",
        (2, 116) => "CopyrightNotice",
        (2, 120) => "Caption-Abstract",
        (2, 122) => "Writer-Editor",
        _ => "",
    };
    if name.is_empty() {
        format!("{record}:{dataset}")
    } else {
        format!("{record}:{dataset:02} {name}")
    }
}

/// IPTC-IIM from a JPEG's APP13 "Photoshop 3.0" segment (image resource 0x0404).
fn iptc(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return out;
    }
    let be16 = |b: &[u8], i: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *b.get(i)?,
            *b.get(i + 1)?,
        ])))
    };
    let mut pos = 2;
    // JPEG segments up to the image data.
    while pos + 4 <= bytes.len() && bytes[pos] == 0xff {
        let marker = bytes[pos + 1];
        if marker == 0xda || marker == 0xd9 {
            break;
        }
        let Some(len) = be16(bytes, pos + 2).filter(|l| *l >= 2) else {
            break;
        };
        let Some(segment) = bytes.get(pos + 4..pos + 2 + len) else {
            break;
        };
        if marker == 0xed && segment.starts_with(b"Photoshop 3.0\0") {
            let mut r = b"Photoshop 3.0\0".len();
            // 8BIM resources: signature, id, Pascal name padded to even, size, data padded.
            while r + 12 <= segment.len() && &segment[r..r + 4] == b"8BIM" {
                let Some(id) = be16(segment, r + 4) else {
                    break;
                };
                let name_len = usize::from(segment[r + 6]);
                let name_total = (1 + name_len).next_multiple_of(2);
                let size_at = r + 6 + name_total;
                let Some(size) = segment
                    .get(size_at..size_at + 4)
                    .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
                else {
                    break;
                };
                let data_at = size_at + 4;
                let Some(data) = segment.get(data_at..data_at.saturating_add(size)) else {
                    break;
                };
                if id == 0x0404 {
                    read_iim(data, &mut out);
                }
                r = data_at + size.next_multiple_of(2);
            }
        }
        pos += 2 + len;
    }
    out
}

fn read_iim(data: &[u8], out: &mut BTreeMap<String, Vec<String>>) {
    let mut i = 0;
    while i + 5 <= data.len() && data[i] == 0x1c {
        let (record, dataset) = (data[i + 1], data[i + 2]);
        let len = usize::from(u16::from_be_bytes([data[i + 3], data[i + 4]]));
        if len & 0x8000 != 0 {
            break; // extended lengths: not used for text datasets
        }
        let Some(value) = data.get(i + 5..i + 5 + len) else {
            break;
        };
        if record == 2 && dataset != 0 {
            out.entry(iptc_name(record, dataset))
                .or_default()
                .push(String::from_utf8_lossy(value).trim().to_string());
        }
        i += 5 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdq() -> String {
        format!(
            "{}/threatexchange/pdq/data/",
            vigil_testdata::vectors().display()
        )
    }

    /// Reading a JPEG's metadata segments alone gives what reading the whole file gives.
    #[test]
    fn metadata_segments_alone_equal_the_whole_file() {
        let mut files = Vec::new();
        for dir in [
            format!("{}reg-test-input/exif-rotn", pdq()),
            format!("{}misc-images", pdq()),
            format!("{}bridge-mods", pdq()),
            format!("{}../../../c2pa", pdq()),
        ] {
            for entry in std::fs::read_dir(&dir).expect("fixtures") {
                files.push(entry.expect("entry").path());
            }
        }
        let mut cut_short = 0;
        for file in files {
            let bytes = std::fs::read(&file).expect("read");
            if !bytes.starts_with(&[0xff, 0xd8]) {
                continue;
            }
            let whole = image_metadata(&bytes);
            let read = read_image_metadata(Cursor::new(&bytes), u64::MAX).expect("read");
            assert_eq!(read, whole, "{}", file.display());
            if jpeg_metadata_end(&mut Cursor::new(&bytes)).is_some() {
                cut_short += 1;
            }
        }
        assert!(cut_short >= 10, "{cut_short}");
        // A JPEG whose segments are damaged is read whole, up to the limit.
        let mut damaged =
            std::fs::read(format!("{}bridge-mods/aaa-orig.jpg", pdq())).expect("read");
        damaged[2] = 0x00;
        assert_eq!(jpeg_metadata_end(&mut Cursor::new(&damaged)), None);
        let _ = read_image_metadata(Cursor::new(&damaged), 1 << 20).expect("read");
    }

    #[test]
    fn phone_photo_exif() {
        let bytes = std::fs::read(format!("{}reg-test-input/exif-rotn/exif-rotn-6.jpg", pdq()))
            .expect("read");
        let m = image_metadata(&bytes);
        assert_eq!(m.camera.as_deref(), Some("samsung SM-G930V"));
        assert_eq!(m.software.as_deref(), Some("G930VVRS4BQI1"));
        assert_eq!(m.taken_at.as_deref(), Some("2017-11-07T22:14:06"));
        assert_eq!(m.orientation, Some(6));
        assert!(
            m.exif
                .iter()
                .any(|(ifd, name, _)| *ifd == 0 && name == "FNumber")
        );
        assert!(m.exif_error.is_none());
    }

    #[test]
    fn tags_written_by_exiftool_are_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tagged.jpg");
        std::fs::copy(format!("{}bridge-mods/square-128x128.jpg", pdq()), &path).expect("copy");
        let ok = std::process::Command::new("exiftool")
            .args([
                "-q",
                "-overwrite_original",
                "-Make=Canon",
                "-Model=Canon EOS 5D",
                "-Software=Adobe Photoshop 25.0",
                "-DateTimeOriginal=2026:02:03 04:05:06",
                "-OffsetTimeOriginal=+04:00",
                "-GPSLatitude=40.1772",
                "-GPSLatitudeRef=N",
                "-GPSLongitude=44.5035",
                "-GPSLongitudeRef=E",
                "-GPSAltitude=990",
                "-XMP-xmp:CreatorTool=Adobe Photoshop 25.0 (Windows)",
                "-IPTC:By-line=A. Photographer",
                "-IPTC:Keywords=one",
                "-IPTC:Keywords=two",
                "-IPTC:City=Yerevan",
            ])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping: exiftool unavailable (Debian: libimage-exiftool-perl)");
            return;
        }
        let m = image_metadata(&std::fs::read(&path).expect("read"));
        assert_eq!(m.camera.as_deref(), Some("Canon EOS 5D"));
        assert_eq!(m.software.as_deref(), Some("Adobe Photoshop 25.0"));
        assert_eq!(m.taken_at.as_deref(), Some("2026-02-03T04:05:06+04:00"));
        let gps = m.gps.expect("gps");
        assert!((gps.latitude - 40.1772).abs() < 1e-4 && (gps.longitude - 44.5035).abs() < 1e-4);
        assert_eq!(gps.altitude_m, Some(990.0));
        let xmp = m.xmp.expect("xmp");
        assert_eq!(
            xmp.creator_tool.as_deref(),
            Some("Adobe Photoshop 25.0 (Windows)")
        );
        assert_eq!(m.iptc["2:80 By-line"], vec!["A. Photographer"]);
        assert_eq!(m.iptc["2:25 Keywords"], vec!["one", "two"]);
        assert_eq!(m.iptc["2:90 City"], vec!["Yerevan"]);
    }

    /// Found by the `image_metadata` fuzz target: an orientation outside 1..=8 is dropped, and
    /// an XMP packet of invalid bytes (each decoded as a 3-byte U+FFFD) is cut to MAX_XMP bytes.
    #[test]
    fn out_of_range_orientation_and_oversized_xmp() {
        let photo = std::fs::read(format!("{}reg-test-input/exif-rotn/exif-rotn-6.jpg", pdq()))
            .expect("read");
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in ["0", "9"] {
            let path = dir.path().join(format!("o{bad}.jpg"));
            std::fs::write(&path, &photo).expect("write");
            let ok = std::process::Command::new("exiftool")
                .args(["-q", "-overwrite_original", "-n"])
                .arg(format!("-Orientation={bad}"))
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "exiftool (Debian libimage-exiftool-perl)");
            let m = image_metadata(&std::fs::read(&path).expect("read"));
            assert!(m.camera.is_some());
            assert_eq!(m.orientation, None, "orientation {bad}");
        }
        let mut xmp = b"<x:xmpmeta ".to_vec();
        xmp.resize(MAX_XMP + 100, 0xff);
        let m = image_metadata(&xmp);
        let raw = m.xmp.expect("xmp").raw;
        assert!(
            raw.len() <= MAX_XMP && raw.len() > MAX_XMP - 4,
            "{}",
            raw.len()
        );
    }

    #[test]
    fn stripped_and_hostile_files() {
        // A PNG with only a bare XMP packet, a JPEG with nothing, no bytes, and damage: no
        // panic, no metadata invented.
        let png = std::fs::read(format!("{}misc-images/c.png", pdq())).expect("read");
        let m = image_metadata(&png);
        assert!(m.camera.is_none() && m.gps.is_none() && m.iptc.is_empty() && m.exif.is_empty());
        assert!(
            m.xmp
                .is_some_and(|x| x.creator_tool.is_none() && x.raw.contains("XMP Core"))
        );
        let mut bare = Cursor::new(Vec::new());
        image::RgbImage::new(16, 16)
            .write_to(&mut bare, image::ImageFormat::Jpeg)
            .expect("encode");
        let m = image_metadata(bare.get_ref());
        assert!(m.exif.is_empty() && m.xmp.is_none() && m.exif_error.is_none());
        assert_eq!(image_metadata(&[]), ImageMetadata::default());
        let jpeg = std::fs::read(format!("{}reg-test-input/exif-rotn/exif-rotn-6.jpg", pdq()))
            .expect("read");
        for cut in [3, 20, 200, 2000] {
            let _ = image_metadata(&jpeg[..cut]);
        }
        let mut damaged = jpeg[..65_536].to_vec();
        for b in damaged.iter_mut().skip(30).step_by(7) {
            *b ^= 0x5a;
        }
        let _ = image_metadata(&damaged);
        // An IPTC segment whose lengths run past its end.
        let mut fake = vec![0xff, 0xd8, 0xff, 0xed, 0x00, 0x30];
        fake.extend_from_slice(b"Photoshop 3.0\0");
        fake.extend_from_slice(b"8BIM\x04\x04\x00\x00\xff\xff\xff\xff");
        fake.extend_from_slice(&[0x1c, 2, 80, 0x7f, 0xff]);
        fake.resize(60, 0);
        assert!(image_metadata(&fake).iptc.is_empty());
        // XMP values in elements and lists.
        let xml = r#"<x:xmpmeta><rdf:Description xmp:CreatorTool="A &amp; B">
            <xmpMM:History><rdf:Seq><rdf:li stEvt:softwareAgent="Editor 1"/></rdf:Seq></xmpMM:History>
            <photoshop:DateCreated>2020-01-02</photoshop:DateCreated></rdf:Description></x:xmpmeta>"#;
        let x = xmp(xml.as_bytes()).expect("xmp");
        assert_eq!(x.creator_tool.as_deref(), Some("A & B"));
        assert_eq!(x.history_agents, vec!["Editor 1"]);
        assert_eq!(x.date_created.as_deref(), Some("2020-01-02"));
    }
}
