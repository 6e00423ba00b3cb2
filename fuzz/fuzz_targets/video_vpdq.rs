//! Any bytes given to the video path (FFmpeg demuxing and decoding, frame conversion, PDQ) and
//! to the metadata probe and the preview (keyframes, thumbnail, contact sheet):
//! a clear error or some frames, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_media::{PreviewOptions, VideoLimits, probe, video_preview, vpdq_hash};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("input");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = VideoLimits {
        max_pixels_per_frame: 1920 * 1080,
        max_frames: 2_000,
        max_duration_secs: 600.0,
        time_limit: Some(std::time::Duration::from_secs(30)),
    };
    let _ = probe(&path);
    let _ = vpdq_hash(&path, 1.0, None, &limits);
    let _ = video_preview(&path, &PreviewOptions { limits, ..Default::default() });
});
