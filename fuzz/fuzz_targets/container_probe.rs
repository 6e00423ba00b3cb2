//! Any bytes given to the container probe (FFmpeg's demuxers: format, streams, tags) and to the
//! preview (key pictures, thumbnail, contact sheet) with small limits. Never panics or hangs.
//! The probe: streams in file order, sizes and rates positive and finite where given, each
//! kind's fields only on that kind, rotation in (-180, 180], every tag valid UTF-8. The preview
//! (when it succeeds, the probe does too): 1..=max_keyframes keyframes in time order, each a
//! JPEG of the size it states and at most max_side on a side, changed enough from the one
//! before, a thumbnail (present iff there are keyframes) that is one of them, and a contact
//! sheet of the size the keyframes call for.
#![no_main]

use std::collections::BTreeMap;
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vigil_media::{DecodeLimits, PreviewOptions, VideoLimits, decode_image, probe, video_preview};

const MAX_SIDE: u32 = 64;
const MAX_KEYFRAMES: usize = 4;
const COLUMNS: u32 = 3;
/// Contact sheet cell width (`CELL` in preview.rs), larger than MAX_SIDE.
const CELL: u32 = 240;

fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(&[0xff, 0xd8, 0xff]), "not a JPEG");
    let limits = DecodeLimits {
        max_pixels: 64_000_000,
        max_side: 65_535,
    };
    let image = decode_image(Cursor::new(bytes), &limits).expect("our own JPEG decodes");
    (image.width, image.height)
}

fn valid_tags(tags: &BTreeMap<String, String>) -> bool {
    // ffmpeg-next hands out FFmpeg's tag bytes as `&str` without checking them (it uses
    // `from_utf8_unchecked`): a String that is not UTF-8 here is undefined behaviour, and
    // invalid JSON in the inspect report.
    tags.iter().all(|(k, v)| {
        std::str::from_utf8(k.as_bytes()).is_ok() && std::str::from_utf8(v.as_bytes()).is_ok()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("input");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let probed = probe(&path);
    if let Ok(p) = &probed {
        assert!(!p.container.is_empty());
        assert!(
            valid_tags(&p.tags),
            "container tags that are not UTF-8: {:?}",
            p.tags
        );
        assert!(
            p.duration_secs.is_none_or(|d| d.is_finite() && d > 0.0),
            "{:?}",
            p.duration_secs
        );
        assert!(p.bit_rate.is_none_or(|b| b > 0));
        for (i, s) in p.streams.iter().enumerate() {
            assert_eq!(s.index, i, "streams in file order");
            assert!(
                valid_tags(&s.tags),
                "stream tags that are not UTF-8: {:?}",
                s.tags
            );
            let video = s.kind == "video";
            let audio = s.kind == "audio";
            assert!(video || (s.width.is_none() && s.height.is_none() && s.frame_rate.is_none()));
            assert_eq!(
                s.rotation_degrees.is_some(),
                video,
                "rotation only on video: {s:?}"
            );
            assert!(
                s.rotation_degrees.is_none_or(|r| r > -180 && r <= 180),
                "{s:?}"
            );
            assert!(
                audio || (s.sample_rate.is_none() && s.channels.is_none()),
                "{s:?}"
            );
            assert!(
                [s.width, s.height, s.sample_rate, s.channels]
                    .iter()
                    .all(|v| *v != Some(0))
            );
            for v in [s.frame_rate, s.duration_secs] {
                assert!(v.is_none_or(|v| v.is_finite() && v > 0.0), "{s:?}");
            }
            assert!(s.bit_rate.is_none_or(|b| b > 0));
        }
        serde_json::to_string(p).expect("a probe serialises (it goes into the inspect report)");
    }

    let options = PreviewOptions {
        max_side: MAX_SIDE,
        min_change: 0.08,
        max_keyframes: MAX_KEYFRAMES,
        sheet_columns: COLUMNS,
        limits: VideoLimits {
            max_pixels_per_frame: 1920 * 1080,
            max_frames: 2_000,
            max_duration_secs: 600.0,
            // Generous: libFuzzer's own -timeout catches hangs; this bounds slow inputs.
            time_limit: Some(std::time::Duration::from_secs(30)),
        },
    };
    let Ok(preview) = video_preview(&path, &options) else {
        return;
    };
    let p = probed.expect("a file that previews also probes");
    assert!(
        p.video()
            .is_some_and(|v| v.rotation_degrees == Some(preview.rotation_degrees)),
        "the preview's stream is the probe's first video stream: {p:?}, rotation {}",
        preview.rotation_degrees
    );
    let n = preview.keyframes.len();
    assert!((1..=MAX_KEYFRAMES).contains(&n), "{n} keyframes");
    assert_eq!(
        preview.thumbnail.is_some(),
        n > 0,
        "thumbnail iff keyframes"
    );
    assert!(preview.keyframes_decoded >= n as u64);
    assert!(
        preview
            .keyframes
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp),
        "time order"
    );
    let mut sizes = Vec::new();
    for k in &preview.keyframes {
        assert!(
            k.timestamp.is_finite() && k.timestamp >= 0.0,
            "{}",
            k.timestamp
        );
        assert!(
            k.change.is_finite() && k.change <= 1.0 + 1e-9,
            "change {}",
            k.change
        );
        assert!(
            k.change >= options.min_change,
            "kept with a change of {}",
            k.change
        );
        assert!(
            (1..=MAX_SIDE).contains(&k.width) && (1..=MAX_SIDE).contains(&k.height),
            "keyframe of {}×{}",
            k.width,
            k.height
        );
        assert_eq!(
            jpeg_size(&k.jpeg),
            (k.width, k.height),
            "the JPEG is the size stated"
        );
        sizes.push((k.width, k.height));
    }
    let thumb = jpeg_size(preview.thumbnail.as_deref().expect("a thumbnail"));
    assert!(
        sizes.contains(&thumb),
        "the thumbnail {thumb:?} is one of the keyframes {sizes:?}"
    );
    let sheet = jpeg_size(preview.contact_sheet.as_deref().expect("a contact sheet"));
    // Cells as tall as the tallest keyframe (all fit a cell unscaled at this MAX_SIDE), each
    // with a label band of 24 pixels.
    let rows = (n as u32).div_ceil(COLUMNS);
    let tallest = sizes.iter().map(|s| s.1).max().unwrap_or(0);
    assert_eq!(
        sheet,
        (COLUMNS * CELL, rows * (tallest + 24)),
        "contact sheet of {n} keyframes"
    );
});
