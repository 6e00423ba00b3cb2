//! Preview throughput (issue 6): thumbnail, keyframes and contact sheet of a video, and its
//! metadata probe, timed on one file.
//!
//!   cargo bench -p vigil-media --bench preview -- FILE.mp4     (bench/preview.sh makes the
//!   5-minute 1080p clip and runs it)

use std::time::Instant;

use vigil_media::{PreviewOptions, probe, video_preview};

fn main() -> anyhow::Result<()> {
    let Some(path) = std::env::args().skip(1).find(|a| a != "--bench") else {
        eprintln!("usage: cargo bench -p vigil-media --bench preview -- FILE");
        return Ok(());
    };
    let path = std::path::Path::new(&path);
    let start = Instant::now();
    let p = probe(path)?;
    let probe_secs = start.elapsed().as_secs_f64();
    let duration = p.duration_secs.unwrap_or(0.0);
    let start = Instant::now();
    let preview = video_preview(path, &PreviewOptions::default())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}: {duration:.1} s of video; probe {:.1} ms; preview {secs:.2} s = {:.0}× real time \
         ({} key pictures decoded, {} keyframes kept, thumbnail {} B, contact sheet {} B)",
        path.display(),
        probe_secs * 1e3,
        duration / secs,
        preview.keyframes_decoded,
        preview.keyframes.len(),
        preview.thumbnail.as_ref().map_or(0, Vec::len),
        preview.contact_sheet.as_ref().map_or(0, Vec::len),
    );
    Ok(())
}
