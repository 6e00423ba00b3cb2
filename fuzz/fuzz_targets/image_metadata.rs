//! Any bytes read as photo metadata (EXIF, XMP, IPTC), as `vigil inspect` reads the start of an
//! image. Never panics; the result is serialisable, the XMP packet is bounded
//! by `MAX_XMP` and starts where the bytes hold `<x:xmpmeta`, every value read from EXIF comes
//! with the EXIF fields it came from, GPS positions are finite and on the globe, IPTC only
//! comes from a JPEG.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_media::{MAX_XMP, image_metadata};

/// Whether `needle` (starting with `<`) is in `haystack`. Compares only where a `<` is:
/// libFuzzer intercepts every `memcmp`, and one per byte of a 3 MB photo takes seconds.
fn contains_tag(haystack: &[u8], needle: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = haystack[at..].iter().position(|&b| b == b'<') {
        if haystack[at + i..].starts_with(needle) {
            return true;
        }
        at += i + 1;
    }
    false
}

fn non_blank(s: &Option<String>) -> bool {
    s.as_ref().is_none_or(|s| !s.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let m = image_metadata(data);
    serde_json::to_string(&m).expect("metadata serialises (it goes into the inspect report)");

    // EXIF: damaged means nothing read; the interpreted fields only come from fields read.
    if m.exif_error.is_some() {
        assert!(m.exif.is_empty(), "damaged EXIF yields no fields: {m:?}");
    }
    if m.exif.is_empty() {
        assert!(
            m.camera.is_none()
                && m.software.is_none()
                && m.taken_at.is_none()
                && m.modified_at.is_none()
                && m.gps.is_none()
                && m.orientation.is_none(),
            "interpreted EXIF without EXIF fields: {m:?}"
        );
    }
    assert!(
        m.exif.iter().all(|(ifd, _, _)| *ifd <= 1),
        "IFD 0 or 1 only: {:?}",
        m.exif
    );
    // Out-of-range orientations (0, 9, 65535) are dropped, not passed on.
    assert!(
        m.orientation.is_none_or(|o| (1..=8).contains(&o)),
        "orientation {:?}",
        m.orientation
    );
    if let Some(gps) = m.gps {
        assert!(
            gps.latitude.is_finite() && gps.latitude.abs() <= 90.0,
            "{gps:?}"
        );
        assert!(
            gps.longitude.is_finite() && gps.longitude.abs() <= 180.0,
            "{gps:?}"
        );
        assert!(gps.altitude_m.is_none_or(f64::is_finite), "{gps:?}");
    }

    // XMP: present exactly when the packet's start tag is in the bytes, and bounded: `raw` is
    // at most MAX_XMP bytes of the file, lossily decoded, cut back to MAX_XMP bytes of text.
    assert_eq!(
        m.xmp.is_some(),
        contains_tag(data, b"<x:xmpmeta"),
        "XMP found iff present"
    );
    if let Some(x) = &m.xmp {
        assert!(
            x.raw.starts_with("<x:xmpmeta"),
            "the packet starts at its tag"
        );
        assert!(
            x.raw.chars().count() <= MAX_XMP,
            "XMP over MAX_XMP: {} chars",
            x.raw.len()
        );
        assert!(
            x.raw.len() <= MAX_XMP,
            "XMP text of {} bytes",
            x.raw.len()
        );
        for value in [
            &x.creator_tool,
            &x.create_date,
            &x.modify_date,
            &x.date_created,
        ] {
            assert!(non_blank(value), "empty XMP values are dropped: {x:?}");
            assert!(value.as_ref().is_none_or(|v| v.len() <= x.raw.len()));
        }
        assert!(
            x.history_agents
                .iter()
                .all(|a| !a.is_empty() && a.len() <= x.raw.len())
        );
    }

    // IPTC: only from a JPEG's APP13 segment, record 2, each value from at most 32,767 bytes.
    if !data.starts_with(&[0xff, 0xd8]) {
        assert!(m.iptc.is_empty(), "IPTC outside a JPEG: {:?}", m.iptc);
    }
    for (key, values) in &m.iptc {
        assert!(key.starts_with("2:"), "IPTC record 2 only: {key}");
        assert!(!values.is_empty());
        assert!(values.iter().all(|v| v.chars().count() <= 0x7fff), "{key}");
    }
});
