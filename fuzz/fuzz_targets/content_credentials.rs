//! Any bytes read for Content Credentials (C2PA manifest stores in JPEG, PNG, WebP, BMFF, RIFF,
//! TIFF, GIF, SVG, MP3, FLAC, ...), with the format hint chosen by the first byte (the rest is
//! the file) from the hints `vigil inspect` passes and a few more the library knows, or sniffed
//! from the bytes as `vigil inspect` does (the library prefers the container it detects in the
//! bytes; the hint decides when it detects none). Never panics; an unreadable manifest is
//! reported with its error and nothing else, a readable one with a state the library defines,
//! its report as valid JSON, every manifest labelled and the active one first.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vigil_media::{MediaKind, content_credentials, sniff};

/// The format hint for each value of the first byte (modulo the length; one more value: sniff).
/// `bash fuzz/run.sh` prefixes the seeds with the index of their type, keep the two in step.
const HINTS: &[&str] = &[
    "image/jpeg",       // 0
    "image/png",        // 1
    "image/webp",       // 2
    "video/mp4",        // 3
    "image/heic",       // 4
    "image/heif",       // 5
    "image/avif",       // 6
    "video/quicktime",  // 7
    "audio/mp4",        // 8
    "image/tiff",       // 9
    "image/gif",        // 10
    "audio/wav",        // 11
    "video/avi",        // 12
    "audio/mpeg",       // 13
    "audio/flac",       // 14
    "image/svg+xml",    // 15
    "application/c2pa", // 16
    "image/jxl",        // 17
    "image/bmp",        // 18: no handler for these two: only what the bytes say counts
    "video/webm",       // 19
];

/// The hint `vigil inspect` derives from the sniffed kind.
fn sniffed(bytes: &[u8]) -> String {
    match sniff(bytes) {
        MediaKind::Image(f) => format!("image/{f}"),
        MediaKind::Video("mov") => "video/quicktime".into(),
        MediaKind::Audio("m4a") => "audio/mp4".into(),
        MediaKind::Video(f) => format!("video/{f}"),
        MediaKind::Audio(f) => format!("audio/{f}"),
        MediaKind::Other => "application/octet-stream".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let index = usize::from(selector) % (HINTS.len() + 1);
    let hint = HINTS
        .get(index)
        .map_or_else(|| sniffed(file), |h| (*h).to_string());
    let Some(c) = content_credentials(&hint, Cursor::new(file)) else {
        return;
    };
    serde_json::to_string(&c).expect("credentials serialise (they go into the inspect report)");
    if c.validation_state == "Unreadable" {
        assert!(c.error.is_some(), "an unreadable manifest says why: {c:?}");
        assert!(c.manifests.is_empty() && c.status.is_empty() && c.passed.is_empty());
        assert!(c.report.is_none() && c.active_manifest.is_none());
        return;
    }
    assert!(
        matches!(c.validation_state.as_str(), "Trusted" | "Valid" | "Invalid"),
        "unknown validation state {:?}",
        c.validation_state
    );
    assert!(c.error.is_none(), "{c:?}");
    let report = c
        .report
        .as_deref()
        .expect("a readable manifest comes with its report");
    // The summary is read from the report: if it were not JSON the summary would be silently
    // empty.
    let parsed: serde_json::Value = serde_json::from_str(report).expect("the report is JSON");
    assert!(parsed.is_object(), "the report is a JSON object");
    assert!(
        c.manifests.iter().all(|m| m.label.is_some()),
        "every manifest has its label"
    );
    if let Some(active) = &c.active_manifest
        && c.manifests.iter().any(|m| m.label.as_ref() == Some(active))
    {
        assert_eq!(
            c.manifests[0].label.as_ref(),
            Some(active),
            "the active manifest first"
        );
    }
    // After the active one, by label.
    let rest = if c
        .manifests
        .first()
        .is_some_and(|m| m.label == c.active_manifest)
    {
        &c.manifests[1..]
    } else {
        &c.manifests[..]
    };
    assert!(
        rest.windows(2).all(|w| w[0].label <= w[1].label),
        "manifests by label"
    );
});
