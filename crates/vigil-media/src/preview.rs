//! Looking at footage without playing it: a thumbnail, the keyframes where the picture
//! changes, and a contact sheet (a grid of them with their times), for the item page and for
//! the report that shows a court what was examined.
//!
//! Only the stream's key pictures are decoded (each decodes on its own, and encoders such as
//! x264 place one at most scene cuts), so a five-minute 1080p video is previewed in about a
//! second instead of the minutes decoding every frame takes. Of those, a keyframe is kept when
//! its picture differs from the last one kept. The cost of that speed: a change the encoder
//! found cheap to code without a key picture (a cut to a flat colour, a slow fade) is seen
//! only at the next key picture. Frames are shown as displayed: the stream's
//! rotation is applied. Images get a thumbnail of their displayed pixels.

use std::io::Cursor;
use std::path::Path;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use image::{ImageFormat, RgbImage};

use crate::video::{
    Deadline, VideoError, VideoLimits, display_rotation, first_video_stream, init_ffmpeg,
    open_decoder, open_local,
};
use crate::{DecodedImage, MediaError};

/// How to preview a video.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviewOptions {
    /// Longest side of thumbnails and keyframes, pixels (default 512).
    pub max_side: u32,
    /// How different (0..=1, mean absolute difference of a 32×32 grey version) a keyframe must
    /// be from the last one kept to be kept (default 0.08).
    pub min_change: f64,
    /// Most keyframes kept (default 48); later ones are dropped.
    pub max_keyframes: usize,
    /// Columns of the contact sheet (default 4).
    pub sheet_columns: u32,
    /// Frame size, count and duration limits, as for hashing.
    pub limits: VideoLimits,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            max_side: 512,
            min_change: 0.08,
            max_keyframes: 48,
            sheet_columns: 4,
            limits: VideoLimits::default(),
        }
    }
}

/// A kept keyframe.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyframe {
    /// Seconds from the start of the stream.
    pub timestamp: f64,
    /// How much it differs from the keyframe kept before it (1 for the first).
    pub change: f64,
    /// The picture as displayed, at most `max_side` pixels on a side, as JPEG.
    pub jpeg: Vec<u8>,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
}

/// A video's preview.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoPreview {
    /// The first kept keyframe that is not nearly blank (else the first), as JPEG.
    pub thumbnail: Option<Vec<u8>>,
    /// Keyframes where the picture changes, in time order.
    pub keyframes: Vec<Keyframe>,
    /// The keyframes in a grid with their times under each, as JPEG.
    pub contact_sheet: Option<Vec<u8>>,
    /// Key pictures decoded (kept or not).
    pub keyframes_decoded: u64,
    /// Key pictures that failed to decode.
    pub decode_errors: u64,
    /// Rotation applied, counterclockwise degrees as the stream states it.
    pub rotation_degrees: i32,
}

/// A size that fits `max_side`, keeping the aspect ratio (at least 1×1).
fn fit(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let scale = f64::from(max_side.max(1)) / f64::from(w.max(h).max(1));
    if scale >= 1.0 {
        return (w.max(1), h.max(1));
    }
    let s = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (s(w), s(h))
}

fn jpeg(image: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// A thumbnail of an image as displayed (EXIF orientation applied), at most `max_side` pixels
/// on a side, as JPEG.
pub fn image_thumbnail(image: &DecodedImage, max_side: u32) -> Result<Vec<u8>, MediaError> {
    let shown = image.displayed();
    let shown = shown.as_ref().unwrap_or(image);
    let mismatch = || MediaError::Corrupt("pixel buffer does not match its size".into());
    let (w, h) = fit(shown.width, shown.height, max_side);
    let small = if (w, h) == (shown.width, shown.height) {
        RgbImage::from_raw(w, h, shown.rgb.clone()).ok_or_else(mismatch)?
    } else {
        // A view of the pixels, not a copy: a large picture is held once (twice when turned).
        let rgb = image::ImageBuffer::<image::Rgb<u8>, &[u8]>::from_raw(
            shown.width,
            shown.height,
            &shown.rgb[..],
        )
        .ok_or_else(mismatch)?;
        image::imageops::thumbnail(&rgb, w, h)
    };
    jpeg(&small).map_err(|e| MediaError::Corrupt(format!("cannot encode the thumbnail: {e}")))
}

/// Turns a picture as the display matrix says (FFmpeg's convention: the counterclockwise
/// angle, so a stream tagged "rotate=90" is turned 90° clockwise).
fn display(image: RgbImage, rotation: i32) -> RgbImage {
    match (-rotation).rem_euclid(360) {
        45..135 => image::imageops::rotate90(&image),
        135..225 => image::imageops::rotate180(&image),
        225..315 => image::imageops::rotate270(&image),
        _ => image,
    }
}

/// Grey 32×32 signature of a picture, for change detection.
fn signature(image: &RgbImage) -> Vec<f64> {
    let small = image::imageops::resize(image, 32, 32, image::imageops::FilterType::Triangle);
    small
        .pixels()
        .map(|p| {
            (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])) / 255.0
        })
        .collect()
}

fn difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len().max(1) as f64
}

fn spread(signature: &[f64]) -> f64 {
    let n = signature.len().max(1) as f64;
    let mean = signature.iter().sum::<f64>() / n;
    (signature.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// Thumbnail, keyframes at picture changes, and contact sheet of the video at `path`.
///
/// # Errors
///
/// As [`vpdq_hash`](crate::vpdq_hash): not a video, no video stream, over the limits, or no key
/// picture decodes at all.
pub fn video_preview(path: &Path, options: &PreviewOptions) -> Result<VideoPreview, VideoError> {
    init_ffmpeg();
    let deadline = Deadline::start(&options.limits);
    let mut input = open_local(path)?;
    let stream_index = first_video_stream(&input).ok_or(VideoError::NoVideoStream)?;
    let Some(stream) = input.stream(stream_index) else {
        return Err(VideoError::NoVideoStream);
    };
    let rotation = stream
        .side_data()
        .find(|sd| sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix)
        .and_then(|sd| display_rotation(sd.data()))
        .unwrap_or(0);
    let time_base = stream.time_base();
    let start = stream.start_time();
    let mut decoder = open_decoder(stream.parameters())?;

    let mut preview = VideoPreview {
        thumbnail: None,
        keyframes: Vec::new(),
        contact_sheet: None,
        keyframes_decoded: 0,
        decode_errors: 0,
        rotation_degrees: rotation,
    };
    let mut kept: Vec<(RgbImage, Vec<f64>)> = Vec::new();
    let mut scaler: Option<scaling::Context> = None;
    let mut decoded = VideoFrame::empty();
    let mut rgb = VideoFrame::empty();
    let mut packets_read: u64 = 0;

    let mut take_frames = |decoder: &mut ffmpeg::codec::decoder::Video,
                           preview: &mut VideoPreview,
                           kept: &mut Vec<(RgbImage, Vec<f64>)>|
     -> Result<(), VideoError> {
        while decoder.receive_frame(&mut decoded).is_ok() {
            preview.keyframes_decoded += 1;
            let (w, h, fmt) = (decoded.width(), decoded.height(), decoded.format());
            if w == 0 || h == 0 || fmt == Pixel::None {
                preview.decode_errors += 1;
                continue;
            }
            if u64::from(w) * u64::from(h) > options.limits.max_pixels_per_frame {
                return Err(VideoError::TooLarge(format!("frame of {w}×{h} pixels")));
            }
            let (tw, th) = fit(w, h, options.max_side);
            let stale = scaler.as_ref().is_none_or(|s| {
                let i = s.input();
                let o = s.output();
                (i.format, i.width, i.height, o.width, o.height) != (fmt, w, h, tw, th)
            });
            if stale {
                scaler = Some(
                    scaling::Context::get(fmt, w, h, Pixel::RGB24, tw, th, scaling::Flags::AREA)
                        .map_err(|e| VideoError::Corrupt(format!("cannot convert frames: {e}")))?,
                );
            }
            let Some(s) = scaler.as_mut() else { continue };
            if s.run(&decoded, &mut rgb).is_err() {
                preview.decode_errors += 1;
                continue;
            }
            let stride = rgb.stride(0);
            let data = rgb.data(0);
            let row = tw as usize * 3;
            let mut packed = Vec::with_capacity(row * th as usize);
            for y in 0..th as usize {
                match data.get(y * stride..y * stride + row) {
                    Some(line) => packed.extend_from_slice(line),
                    None => break,
                }
            }
            let Some(image) = RgbImage::from_raw(tw, th, packed) else {
                preview.decode_errors += 1;
                continue;
            };
            let image = display(image, rotation);
            let sig = signature(&image);
            let change = kept.last().map_or(1.0, |(_, last)| difference(last, &sig));
            if change < options.min_change || kept.len() >= options.max_keyframes {
                continue;
            }
            let ts = decoded
                .timestamp()
                .or(decoded.pts())
                .map(|t| t - start.max(0))
                .map_or(0.0, |t| {
                    t as f64 * f64::from(time_base.numerator())
                        / f64::from(time_base.denominator().max(1))
                });
            let jpeg_bytes = jpeg(&image)
                .map_err(|e| VideoError::Corrupt(format!("cannot encode a keyframe: {e}")))?;
            preview.keyframes.push(Keyframe {
                timestamp: ts.max(0.0),
                change,
                jpeg: jpeg_bytes,
                width: image.width(),
                height: image.height(),
            });
            kept.push((image, sig));
        }
        Ok(())
    };

    loop {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => {
                preview.decode_errors += 1;
                if preview.decode_errors > 64 {
                    break;
                }
                continue;
            }
        }
        if packet.stream() != stream_index {
            continue;
        }
        packets_read += 1;
        deadline.check()?;
        if packets_read > options.limits.max_frames {
            return Err(VideoError::TooLarge(format!(
                "more than {} frames",
                options.limits.max_frames
            )));
        }
        if !packet.is_key() {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            preview.decode_errors += 1;
            continue;
        }
        take_frames(&mut decoder, &mut preview, &mut kept)?;
    }
    if decoder.send_eof().is_ok() {
        take_frames(&mut decoder, &mut preview, &mut kept)?;
    }
    if kept.is_empty() {
        return Err(VideoError::Corrupt(format!(
            "no key picture decoded ({} errors)",
            preview.decode_errors
        )));
    }
    // Frames come out in presentation order; keep the list in time order regardless.
    preview
        .keyframes
        .sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
    let thumb = kept
        .iter()
        .find(|(_, sig)| spread(sig) > 0.05)
        .or(kept.first())
        .map(|(image, _)| jpeg(image))
        .transpose()
        .map_err(|e| VideoError::Corrupt(format!("cannot encode the thumbnail: {e}")))?;
    preview.thumbnail = thumb;
    let mut sheet_frames: Vec<(&RgbImage, f64)> = kept
        .iter()
        .map(|(image, _)| image)
        .zip(preview.keyframes.iter().map(|k| k.timestamp))
        .collect();
    sheet_frames.sort_by(|a, b| a.1.total_cmp(&b.1));
    preview.contact_sheet = Some(
        contact_sheet(&sheet_frames, options.sheet_columns)
            .map_err(|e| VideoError::Corrupt(format!("cannot encode the contact sheet: {e}")))?,
    );
    Ok(preview)
}

/// Cell width of the contact sheet, pixels.
const CELL: u32 = 240;
/// Label band under each cell, pixels.
const LABEL: u32 = 24;

/// A grid of pictures, each with its time written under it, as JPEG.
fn contact_sheet(frames: &[(&RgbImage, f64)], columns: u32) -> Result<Vec<u8>, image::ImageError> {
    let columns = columns.clamp(1, 16);
    let n = u32::try_from(frames.len()).unwrap_or(u32::MAX).max(1);
    let rows = n.div_ceil(columns);
    let cell_h = frames
        .iter()
        .map(|(im, _)| fit(im.width(), im.height(), CELL).1)
        .max()
        .unwrap_or(CELL)
        .min(CELL * 2);
    let mut sheet = RgbImage::from_pixel(
        columns * CELL,
        rows * (cell_h + LABEL),
        image::Rgb([16, 16, 16]),
    );
    for (i, (image, ts)) in frames.iter().enumerate() {
        let i = i as u32;
        let (x0, y0) = ((i % columns) * CELL, (i / columns) * (cell_h + LABEL));
        let (w, h) = fit(image.width(), image.height(), CELL.min(cell_h));
        let small = image::imageops::thumbnail(*image, w, h);
        image::imageops::overlay(
            &mut sheet,
            &small,
            i64::from(x0 + (CELL - w) / 2),
            i64::from(y0 + (cell_h - h) / 2),
        );
        draw_text(&mut sheet, x0 + 6, y0 + cell_h + 5, &clock(*ts));
    }
    jpeg(&sheet)
}

/// Seconds as `m:ss.s` or `h:mm:ss`.
fn clock(secs: f64) -> String {
    let tenths = (secs.max(0.0) * 10.0).round() as u64;
    let (h, m, s) = (tenths / 36_000, tenths / 600 % 60, tenths % 600);
    if h > 0 {
        format!("{h}:{m:02}:{:02}", s / 10)
    } else {
        format!("{m}:{:04.1}", s as f64 / 10.0)
    }
}

/// A 3×5 pixel font for digits, `:` and `.`, one row per 3 bits (most significant first).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        ':' => [0, 2, 0, 2, 0],
        '.' => [0, 0, 0, 0, 2],
        _ => return None,
    })
}

/// Writes `text` in white at (x, y), 3× scale (9×15 pixels a character).
fn draw_text(image: &mut RgbImage, x: u32, y: u32, text: &str) {
    const SCALE: u32 = 3;
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        let cx = x + i as u32 * 4 * SCALE;
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..3u32 {
                if bits & (4 >> rx) == 0 {
                    continue;
                }
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        let (px, py) = (cx + rx * SCALE + dx, y + ry as u32 * SCALE + dy);
                        if px < image.width() && py < image.height() {
                            image.put_pixel(px, py, image::Rgb([235, 235, 235]));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn videos() -> String {
        format!(
            "{}/threatexchange/tmk/sample-videos/",
            vigil_testdata::vectors().display()
        )
    }

    fn decode(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory(jpeg).expect("jpeg").to_rgb8()
    }

    #[test]
    fn sample_clip_preview() {
        let p = video_preview(
            &Path::new(&videos()).join("chair-19-sd-bar.mp4"),
            &PreviewOptions::default(),
        )
        .expect("preview");
        assert!(p.keyframes_decoded >= 1);
        assert!(!p.keyframes.is_empty());
        assert!(
            p.keyframes
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp)
        );
        for k in &p.keyframes {
            let im = decode(&k.jpeg);
            assert_eq!((im.width(), im.height()), (k.width, k.height));
            assert!(k.width.max(k.height) <= 512);
            assert!(k.timestamp < 19.0);
        }
        let thumb = decode(p.thumbnail.as_deref().expect("thumbnail"));
        assert_eq!((thumb.width(), thumb.height()), (341, 512)); // 480×720 fitted
        let sheet = decode(p.contact_sheet.as_deref().expect("sheet"));
        assert_eq!(sheet.width(), 4 * CELL);
    }

    #[test]
    fn scene_changes_become_keyframes_and_rotation_is_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("scenes.mp4");
        let rotated = dir.path().join("rotated.mp4");
        // Three scenes of 2 s: a test pattern, a Mandelbrot set, the pattern again mirrored.
        let made = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=320x180:rate=25:duration=2")
            .args(["-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=25"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2"])
            .args([
                "-filter_complex",
                "[1:v]trim=duration=2,setpts=PTS-STARTPTS[b];[2:v]hflip[m];[0:v][b][m]concat=n=3:v=1[out]",
                "-map",
                "[out]",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
            ])
            .arg(&plain)
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new("ffmpeg")
                .args(["-loglevel", "error", "-i"])
                .arg(&plain)
                .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
                .arg(&rotated)
                .status()
                .is_ok_and(|s| s.success());
        if !made {
            eprintln!("skipping: ffmpeg CLI unavailable");
            return;
        }
        let p = video_preview(&plain, &PreviewOptions::default()).expect("preview");
        let times: Vec<f64> = p.keyframes.iter().map(|k| k.timestamp).collect();
        assert_eq!(times.len(), 3, "{times:?}");
        assert!(times[0] < 0.1 && (times[1] - 2.0).abs() < 0.1 && (times[2] - 4.0).abs() < 0.1);

        let r = video_preview(&rotated, &PreviewOptions::default()).expect("preview");
        assert_eq!(r.rotation_degrees.abs(), 90);
        let (a, b) = (decode(&p.keyframes[0].jpeg), decode(&r.keyframes[0].jpeg));
        assert_eq!((b.width(), b.height()), (a.height(), a.width()));
        // Turned the way FFmpeg's own player turns it: compare with the CLI's autorotated frame.
        let reference = dir.path().join("reference.png");
        let ok = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(&rotated)
            .args(["-frames:v", "1"])
            .arg(&reference)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok);
        let expected = image::open(&reference).expect("png").to_rgb8();
        assert_eq!(expected.dimensions(), b.dimensions());
        let diff = difference(&signature(&expected), &signature(&b));
        let wrong = difference(
            &signature(&expected),
            &signature(&image::imageops::rotate180(&b)),
        );
        assert!(
            diff < 0.05 && wrong > diff * 2.0,
            "diff {diff}, turned the other way {wrong}"
        );
    }

    #[test]
    fn image_thumbnails_and_hostile_videos() {
        let rgb: Vec<u8> = (0..800 * 600 * 3).map(|i| (i % 251) as u8).collect();
        let image = DecodedImage {
            format: "png",
            width: 800,
            height: 600,
            rgb,
            orientation: 6,
        };
        let thumb = decode(&image_thumbnail(&image, 512).expect("thumbnail"));
        // Orientation 6 shows the picture turned: portrait.
        assert_eq!((thumb.width(), thumb.height()), (384, 512));

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("junk.mp4");
        std::fs::write(&path, b"\x00\x00\x00\x18ftypmp42 not really").expect("write");
        assert!(video_preview(&path, &PreviewOptions::default()).is_err());
    }

    #[test]
    fn clock_and_font() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(75.25), "1:15.3");
        assert_eq!(clock(3725.0), "1:02:05");
        assert!("0123456789:.".chars().all(|c| glyph(c).is_some()));
        let mut im = RgbImage::new(40, 20);
        draw_text(&mut im, 0, 0, "1:2");
        assert!(im.pixels().any(|p| p[0] > 200));
        draw_text(&mut im, 39, 19, "8"); // clipped at the edge, no panic
    }
}
