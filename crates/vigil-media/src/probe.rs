//! What a video or audio file says about itself: container and stream metadata, read with
//! FFmpeg's libraries in-process.
//!
//! Investigators date and source footage by it: `creation_time` (when a camera or phone wrote
//! the file, or when an editor re-muxed it), `encoder` and handler names (which app last wrote
//! it), rotation, and a location tag some phones add. Every raw tag is kept as found, because
//! what matters in a given case cannot be known in advance; the few interpreted fields are
//! conveniences over them. Opening follows the same rules as [`vpdq_hash`](crate::vpdq_hash):
//! local files only, an allow-list of containers, nothing fetched.

use std::collections::BTreeMap;
use std::path::Path;

use ffmpeg::media::Type as MediaType;
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use crate::video::{VideoError, display_rotation, init_ffmpeg, open_local_headers};

/// A container and its streams, as FFmpeg reads them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaProbe {
    /// FFmpeg's name for the container (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …).
    pub container: String,
    /// Duration in seconds, when the container states one.
    pub duration_secs: Option<f64>,
    /// Overall bit rate in bits per second, when known.
    pub bit_rate: Option<i64>,
    /// Container-level tags exactly as stored (`creation_time`, `encoder`, `major_brand`,
    /// `location`, `com.apple.quicktime.*`, …).
    pub tags: BTreeMap<String, String>,
    /// Every stream, in file order.
    pub streams: Vec<StreamProbe>,
}

/// One stream of a container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamProbe {
    /// Position in the container.
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data`, `attachment` or `unknown`.
    pub kind: String,
    /// Codec name (`h264`, `hevc`, `aac`, `opus`, …).
    pub codec: String,
    /// Width in pixels (video).
    pub width: Option<u32>,
    /// Height in pixels (video).
    pub height: Option<u32>,
    /// Average frame rate (video), when the container knows it.
    pub frame_rate: Option<f64>,
    /// Rotation from the display matrix, counterclockwise degrees (video), 0 when none.
    pub rotation_degrees: Option<i32>,
    /// Samples per second (audio).
    pub sample_rate: Option<u32>,
    /// Audio channels.
    pub channels: Option<u32>,
    /// Stream duration in seconds, when stated.
    pub duration_secs: Option<f64>,
    /// Bit rate in bits per second, when stated.
    pub bit_rate: Option<i64>,
    /// Cover art or a thumbnail stored as a stream, not footage.
    pub attached_picture: bool,
    /// Stream tags exactly as stored (`handler_name`, `language`, `creation_time`, …).
    pub tags: BTreeMap<String, String>,
}

impl MediaProbe {
    /// The first tag named `key` (case-insensitive) on the container, then on any stream.
    pub fn tag(&self, key: &str) -> Option<&str> {
        fn find<'a>(tags: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
            tags.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        }
        find(&self.tags, key).or_else(|| self.streams.iter().find_map(|s| find(&s.tags, key)))
    }

    /// When the file says it was created (`creation_time`), as written.
    pub fn creation_time(&self) -> Option<&str> {
        self.tag("creation_time")
    }

    /// The software that last wrote the file, as it names itself (`encoder`).
    pub fn encoder(&self) -> Option<&str> {
        self.tag("encoder")
    }

    /// The stream handler names (`VideoHandler`, `Core Media Video`, `ISO Media file produced
    /// by Google Inc.`, …): which tool muxed each stream.
    pub fn handler_names(&self) -> Vec<&str> {
        self.streams
            .iter()
            .filter_map(|s| s.tags.get("handler_name").map(String::as_str))
            .collect()
    }

    /// An ISO 6709 location (`+40.1772+044.5035/`) that some phones store, when present.
    pub fn location(&self) -> Option<&str> {
        self.tag("location")
            .or_else(|| self.tag("com.apple.quicktime.location.ISO6709"))
    }

    /// The first stream of footage (not cover art).
    pub fn video(&self) -> Option<&StreamProbe> {
        self.streams
            .iter()
            .find(|s| s.kind == "video" && !s.attached_picture)
    }
}

/// Every entry of an FFmpeg dictionary. Tags are bytes copied from the file, not necessarily
/// UTF-8 (ffmpeg-next's own iterator assumes they are: found by the `container_probe` fuzz
/// target), so each is read as C bytes and decoded lossily.
fn tags(dict: ffmpeg::DictionaryRef<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // SAFETY: `dict` wraps a valid (possibly null, i.e. empty) `AVDictionary` for as long as
    // it lives; `av_dict_get` with an empty key and IGNORE_SUFFIX walks its entries, each
    // with NUL-terminated key and value that stay valid while the dictionary is unchanged.
    unsafe {
        let d = dict.as_ptr();
        let mut entry: *const ffmpeg::ffi::AVDictionaryEntry = std::ptr::null();
        loop {
            entry = ffmpeg::ffi::av_dict_get(
                d,
                c"".as_ptr(),
                entry,
                ffmpeg::ffi::AV_DICT_IGNORE_SUFFIX,
            );
            if entry.is_null() || (*entry).key.is_null() || (*entry).value.is_null() {
                break;
            }
            let text = |p| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
            out.insert(text((*entry).key), text((*entry).value));
        }
    }
    out
}

fn seconds(ticks: i64, tb: ffmpeg::Rational) -> Option<f64> {
    (ticks > 0 && tb.numerator() > 0 && tb.denominator() > 0)
        .then(|| ticks as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator()))
}

/// Reads the container and stream metadata of the file at `path` without decoding any frame.
///
/// # Errors
///
/// [`VideoError`] when the file cannot be read or is not a container Vigil opens. A file
/// without video (audio only) is not an error here.
pub fn probe(path: &Path) -> Result<MediaProbe, VideoError> {
    probe_with(path, false)
}

/// [`probe`], with FFmpeg's stream-info pass forced or left to the header's completeness
/// (the tests compare both).
fn probe_with(path: &Path, force_stream_info: bool) -> Result<MediaProbe, VideoError> {
    init_ffmpeg();
    let input = open_local_headers(path, force_stream_info)?;
    let container = input.format().name().to_string();
    // Without the stream-info pass the overall duration and bit rate may be unset: the
    // longest stream gives the one, the file's size over it the other.
    let longest_stream = input
        .streams()
        .filter_map(|s| seconds(s.duration(), s.time_base()))
        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))));
    let duration_secs = if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
    } else {
        longest_stream
    };
    let bit_rate = if input.bit_rate() > 0 {
        Some(input.bit_rate())
    } else {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        // An absurd duration (a crafted header) gives an estimate below one bit a second:
        // unknown, not zero (found by the `container_probe` fuzz target).
        duration_secs
            .filter(|d| *d > 0.0 && size > 0)
            .map(|d| (size as f64 * 8.0 / d).round() as i64)
            .filter(|b| *b > 0)
    };
    let mut streams = Vec::new();
    for stream in input.streams() {
        let parameters = stream.parameters();
        // SAFETY: `parameters` wraps the stream's valid `AVCodecParameters` while it lives;
        // these are plain integer fields.
        let (width, height, sample_rate, channels, stream_bit_rate) = unsafe {
            let p = parameters.as_ptr();
            (
                (*p).width,
                (*p).height,
                (*p).sample_rate,
                (*p).ch_layout.nb_channels,
                (*p).bit_rate,
            )
        };
        let positive = |v: i32| u32::try_from(v).ok().filter(|v| *v > 0);
        let kind = match parameters.medium() {
            MediaType::Video => "video",
            MediaType::Audio => "audio",
            MediaType::Subtitle => "subtitle",
            MediaType::Data => "data",
            MediaType::Attachment => "attachment",
            _ => "unknown",
        };
        let video = kind == "video";
        let rate = stream.avg_frame_rate();
        let frame_rate = (video && rate.numerator() > 0 && rate.denominator() > 0)
            .then(|| f64::from(rate.numerator()) / f64::from(rate.denominator()));
        let rotation_degrees = video.then(|| {
            stream
                .side_data()
                .find(|sd| sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix)
                .and_then(|sd| display_rotation(sd.data()))
                .unwrap_or(0)
        });
        streams.push(StreamProbe {
            index: stream.index(),
            kind: kind.to_string(),
            codec: parameters.id().name().to_string(),
            width: positive(width).filter(|_| video),
            height: positive(height).filter(|_| video),
            frame_rate,
            rotation_degrees,
            sample_rate: positive(sample_rate).filter(|_| kind == "audio"),
            channels: positive(channels).filter(|_| kind == "audio"),
            duration_secs: seconds(stream.duration(), stream.time_base()),
            bit_rate: (stream_bit_rate > 0).then_some(stream_bit_rate),
            attached_picture: stream
                .disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC),
            tags: tags(stream.metadata()),
        });
    }
    Ok(MediaProbe {
        container,
        duration_secs,
        bit_rate,
        tags: tags(input.metadata()),
        streams,
    })
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

    /// Skipping FFmpeg's stream-info pass for MP4 changes nothing a probe reports.
    #[test]
    fn header_only_probes_equal_full_ones() {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(videos())
            .expect("videos")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.push(Path::new(&videos()).join("../../../c2pa/video1.mp4"));
        files.sort();
        for file in files {
            let fast = probe_with(&file, false).expect("fast");
            let full = probe_with(&file, true).expect("full");
            let mut fast_cmp = fast.clone();
            // The overall bit rate is estimated from the size without the pass.
            if let (Some(a), Some(b)) = (fast.bit_rate, full.bit_rate) {
                assert!(
                    (a - b).abs() as f64 <= 0.02 * b as f64,
                    "{}: {a} vs {b}",
                    file.display()
                );
                fast_cmp.bit_rate = full.bit_rate;
            }
            assert_eq!(fast_cmp, full, "{}", file.display());
        }
    }

    /// A tag that is not UTF-8 (here the `ftyp` major brand) is read lossily, never passed on
    /// as a broken `String` (found by the `container_probe` fuzz target).
    #[test]
    fn tags_that_are_not_utf8_are_read_lossily() {
        let mut bytes =
            std::fs::read(Path::new(&videos()).join("chair-19-sd-bar.mp4")).expect("read");
        assert_eq!(&bytes[4..8], b"ftyp");
        bytes[8] = 0xff;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("brand.mp4");
        std::fs::write(&path, &bytes).expect("write");
        let p = probe(&path).expect("probe");
        let brand = p.tags.get("major_brand").expect("brand");
        assert!(brand.contains('\u{fffd}'), "{brand:?}");
        assert!(serde_json::to_string(&p).is_ok());
    }

    /// A movie header whose version byte says 64-bit fields where there are 32-bit ones makes
    /// FFmpeg read a duration of 2^40 s; the bit rate is then unknown, never zero.
    #[test]
    fn an_absurd_duration_gives_no_bit_rate() {
        let mut bytes =
            std::fs::read(Path::new(&videos()).join("test-padded-dimensions.mp4")).expect("read");
        let at = bytes
            .windows(4)
            .position(|w| w == b"mvhd")
            .expect("a movie header");
        bytes[at + 4] = 1;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mvhd.mp4");
        std::fs::write(&path, &bytes).expect("write");
        if let Ok(p) = probe(&path) {
            assert!(p.bit_rate.is_none_or(|b| b > 0), "{:?}", p.bit_rate);
        }
    }

    #[test]
    fn sample_clip_streams_and_tags() {
        let p = probe(&Path::new(&videos()).join("chair-19-sd-bar.mp4")).expect("probe");
        assert!(p.container.contains("mp4"), "{}", p.container);
        let v = p.video().expect("a video stream");
        assert_eq!(
            (v.codec.as_str(), v.width, v.height),
            ("h264", Some(480), Some(720))
        );
        assert_eq!(v.frame_rate, Some(30.0));
        assert_eq!(v.rotation_degrees, Some(0));
        let a = p.streams.iter().find(|s| s.kind == "audio").expect("audio");
        assert_eq!(a.codec, "aac");
        assert!(a.sample_rate.is_some() && a.channels.is_some());
        assert!((p.duration_secs.unwrap_or(0.0) - 18.8).abs() < 0.1);
        assert!(p.tags.contains_key("major_brand"), "{:?}", p.tags);
    }

    #[test]
    fn written_tags_are_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain.mp4");
        let path = dir.path().join("tagged.mp4");
        let ffmpeg = |args: &[&str], out: &Path| {
            std::process::Command::new("ffmpeg")
                .args(["-loglevel", "error"])
                .args(args)
                .arg(out)
                .status()
                .is_ok_and(|s| s.success())
        };
        // Encode, then tag while copying the stream (FFmpeg 5.1 turns a `rotate` tag into a
        // display matrix only then).
        let made = ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=160x120:rate=10:duration=1",
            ]
            .iter()
            .chain(&["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .copied()
            .collect::<Vec<_>>(),
            &plain,
        ) && ffmpeg(
            &[
                "-i",
                plain.to_str().unwrap_or_default(),
                "-c",
                "copy",
                "-metadata",
                "creation_time=2026-03-01T10:20:30.000000Z",
                "-metadata",
                "location=+40.1772+044.5035/",
                "-metadata:s:v:0",
                "handler_name=Core Media Video",
                "-metadata:s:v:0",
                "rotate=90",
            ],
            &path,
        );
        if !made {
            eprintln!("skipping: ffmpeg CLI unavailable");
            return;
        }
        let p = probe(&path).expect("probe");
        assert_eq!(p.creation_time(), Some("2026-03-01T10:20:30.000000Z"));
        assert_eq!(p.location(), Some("+40.1772+044.5035/"));
        assert_eq!(p.handler_names(), vec!["Core Media Video"]);
        assert!(
            p.encoder().is_some_and(|e| e.starts_with("Lavf")),
            "{:?}",
            p.encoder()
        );
        assert_eq!(
            p.video().and_then(|v| v.rotation_degrees).map(i32::abs),
            Some(90)
        );
    }

    #[test]
    fn hostile_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in [
            ("empty.mp4", &b""[..]),
            ("text.mp4", b"this is not a video at all"),
            (
                "playlist.m3u8",
                b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            assert!(probe(&path).is_err(), "{name}");
        }
        assert!(probe(&dir.path().join("missing.mp4")).is_err());
    }
}
