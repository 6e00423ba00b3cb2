//! Video perceptual hashing: vPDQ (facebook/ThreatExchange `vpdq`), PDQ on sampled frames.
//!
//! [`vpdq_hash`] decodes every frame of the first video stream in decoding-output
//! (presentation) order with FFmpeg, keeps frame `n` when `n % every == 0`, converts it to RGB24
//! with swscale (`SWS_AREA`, as upstream) at its native size or a given size, and hashes it with
//! PDQ's full-resolution pipeline. [`vpdq_match`] compares two such hash lists as upstream's
//! `matchTwoHashBrute` does.
//!
//! Hostile files: only a fixed list of container formats is opened (no playlists, no
//! concatenation, no image sequences), only through the `file` protocol, and frame size, frame
//! count and duration are limited ([`VideoLimits`]). Damaged streams keep the frames that decode;
//! what failed is counted in [`VpdqReport::decode_errors`].

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::h264;

use ffmpeg::codec;
use ffmpeg::format::Pixel;
use ffmpeg::media::Type as MediaType;
use ffmpeg::packet::Ref as _;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use vigil_phash::{PdqHash, PdqHasher, Pipeline, PixelFormat, Pixels};

/// Container formats (FFmpeg demuxer names) that [`vpdq_hash`] opens. Formats that open other
/// files or URLs (HLS, DASH, concat, image sequences) are not on it.
const FORMAT_WHITELIST: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,\
mpegvideo,asf,ogg,h264,hevc,m4v,ivf,mxf,gif";

/// Consecutive failed packet reads after which the rest of a file is given up.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// One hashed video frame: a line of upstream's vPDQ output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqFrame {
    /// Frame number, counted from 0 in decoding-output order.
    pub frame: u64,
    /// PDQ quality, 0..=100.
    pub quality: u8,
    /// The frame's PDQ hash.
    pub hash: PdqHash,
    /// `frame / fps`, computed in single precision as upstream does.
    pub timestamp: f64,
}

impl VpdqFrame {
    /// Upstream's line format: `frame_number,quality,pdq_hex,timestamp` with the timestamp in
    /// seconds to three decimals, e.g. `30,100,e271…055c,1.000`.
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{},{:.3}",
            self.frame,
            self.quality,
            self.hash.to_hex(),
            self.timestamp
        )
    }

    /// Parses a line of [`to_line`](Self::to_line)'s format (as in upstream's sample hash files).
    pub fn from_line(line: &str) -> Option<VpdqFrame> {
        let mut parts = line.trim().split(',');
        let frame = parts.next()?.trim().parse().ok()?;
        let quality = parts.next()?.trim().parse().ok()?;
        let hash = PdqHash::from_hex(parts.next()?.trim()).ok()?;
        let timestamp = parts.next()?.trim().parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(VpdqFrame {
            frame,
            quality,
            hash,
            timestamp,
        })
    }
}

/// How much a video may ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoLimits {
    /// Largest width × height of a decoded or output frame (default 8K: 7680 × 4320).
    pub max_pixels_per_frame: u64,
    /// Most frames decoded (default 10,000,000).
    pub max_frames: u64,
    /// Longest duration, from the container or from frames decoded (default 24 hours).
    pub max_duration_secs: f64,
    /// Longest wall-clock time the work may take (default: none). Checked between packets,
    /// so a crafted file cannot keep a job busy for ever; enrichment sets one per job.
    pub time_limit: Option<Duration>,
}

/// When work on one file must stop, from [`VideoLimits::time_limit`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    end: Option<(Instant, Duration)>,
}

impl Deadline {
    /// Starts the clock now.
    pub(crate) fn start(limits: &VideoLimits) -> Self {
        Deadline {
            end: limits.time_limit.map(|d| (Instant::now() + d, d)),
        }
    }

    /// Whether time is up.
    pub(crate) fn passed(&self) -> bool {
        self.end.is_some_and(|(end, _)| Instant::now() >= end)
    }

    /// An error once time is up.
    pub(crate) fn check(&self) -> Result<(), VideoError> {
        match self.end {
            Some((end, limit)) if Instant::now() >= end => Err(VideoError::TimedOut(limit)),
            _ => Ok(()),
        }
    }
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_pixels_per_frame: 7680 * 4320,
            max_frames: 10_000_000,
            max_duration_secs: 24.0 * 3600.0,
            time_limit: None,
        }
    }
}

/// The vPDQ hashes of a video and what was learnt decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct VpdqReport {
    /// The sampled frames' hashes, by frame number.
    pub frames: Vec<VpdqFrame>,
    /// Frame rate used for sampling and timestamps: the stream's average frame rate, or its
    /// `r_frame_rate` when that is unknown.
    pub fps: f64,
    /// Width of the video stream (before any downscale).
    pub width: u32,
    /// Height of the video stream (before any downscale).
    pub height: u32,
    /// Rotation from the stream's display matrix, counterclockwise degrees in (-180, 180]
    /// (FFmpeg's `av_display_rotation_get`, rounded), 0 when none. Frames are hashed as stored,
    /// not rotated, as upstream does.
    pub rotation_degrees: i32,
    /// Frames in the stream, in decoding-output order, sampled or not (decoded or skipped).
    pub frame_count: u64,
    /// Of those, frames not decoded at all: unsampled H.264 pictures that no other picture
    /// depends on. The sampled frames' pixels are the same either way.
    pub frames_skipped: u64,
    /// Packets that failed to read or decode and decoder errors; decoding went on past them.
    pub decode_errors: u64,
    /// Duration in seconds: the container's when it gives one, else frame count / fps.
    pub duration_secs: f64,
}

/// Why a video could not be hashed. The file itself is untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// Reading the file failed (missing, unreadable, a path FFmpeg cannot take).
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    /// Not a container format that Vigil opens.
    #[error("not a supported video container: {0}")]
    Unsupported(String),
    /// A container without a video stream (audio only, for instance).
    #[error("the file has no video stream")]
    NoVideoStream,
    /// The video stream's codec has no decoder here.
    #[error("no decoder for the video codec: {0}")]
    UnsupportedCodec(String),
    /// The video asks for more than the limits allow.
    #[error("video exceeds the limits: {0}")]
    TooLarge(String),
    /// The bytes are damaged or truncated beyond use.
    #[error("cannot decode the video: {0}")]
    Corrupt(String),
    /// Frames decoded but cannot be hashed (smaller than PDQ's minimum size).
    #[error("cannot hash the frames: {0}")]
    Hash(vigil_phash::PdqError),
    /// The work took longer than [`VideoLimits::time_limit`] and was stopped.
    #[error("stopped after the time limit of {} s", .0.as_secs_f64())]
    TimedOut(Duration),
}

impl VideoError {
    /// A stable code for the catalog and for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            VideoError::Io(_) => "io",
            VideoError::Unsupported(_) => "unsupported-format",
            VideoError::NoVideoStream => "no-video-stream",
            VideoError::UnsupportedCodec(_) => "unsupported-codec",
            VideoError::TooLarge(_) => "too-large",
            VideoError::Corrupt(_) => "corrupt",
            VideoError::Hash(_) => "unhashable",
            VideoError::TimedOut(_) => "timeout",
        }
    }
}

impl From<std::io::Error> for VideoError {
    fn from(e: std::io::Error) -> Self {
        VideoError::Io(e)
    }
}

pub(crate) fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Damaged streams make FFmpeg log per packet; errors are counted instead.
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
        let _ = ffmpeg::init();
    });
}

fn open_error(e: ffmpeg::Error) -> VideoError {
    match e {
        // Unrecognised bytes, or a format outside FORMAT_WHITELIST (EINVAL).
        ffmpeg::Error::InvalidData | ffmpeg::Error::Other { .. } => {
            VideoError::Unsupported(e.to_string())
        }
        ffmpeg::Error::Eof => VideoError::Corrupt("the file ends before its header".into()),
        other => VideoError::Corrupt(other.to_string()),
    }
}

fn too_large(what: String) -> VideoError {
    VideoError::TooLarge(what)
}

fn check_pixels(w: u32, h: u32, limits: &VideoLimits) -> Result<(), VideoError> {
    if u64::from(w) * u64::from(h) > limits.max_pixels_per_frame {
        return Err(too_large(format!(
            "frame of {w}×{h} pixels exceeds {} pixels",
            limits.max_pixels_per_frame
        )));
    }
    Ok(())
}

/// Counterclockwise rotation in degrees of a display matrix (nine 32-bit integers, FFmpeg's
/// `av_display_rotation_get`), rounded and folded into (-180, 180].
pub(crate) fn display_rotation(data: &[u8]) -> Option<i32> {
    if data.len() < 36 {
        return None;
    }
    let m = |i: usize| {
        let b = [
            data[4 * i],
            data[4 * i + 1],
            data[4 * i + 2],
            data[4 * i + 3],
        ];
        f64::from(i32::from_ne_bytes(b))
    };
    let scale0 = m(0).hypot(m(3));
    let scale1 = m(1).hypot(m(4));
    if scale0 == 0.0 || scale1 == 0.0 {
        return None;
    }
    let rotation = -(m(1) / scale1).atan2(m(0) / scale0).to_degrees();
    let mut r = rotation.round() as i32 % 360;
    if r <= -180 {
        r += 360;
    } else if r > 180 {
        r -= 360;
    }
    Some(r)
}

/// How many frames apart upstream samples: `seconds_per_hash * fps` truncated to an integer,
/// at least 1 (upstream's `static_cast<int>`; the same as rounding for whole frame rates).
fn frame_step(seconds_per_hash: f64, fps: f64) -> u64 {
    let step = seconds_per_hash * fps;
    if step.is_finite() && step >= 1.0 {
        // Truncation as upstream; values past u64 saturate.
        step as u64
    } else {
        1
    }
}

/// The vPDQ hashes of the video at `path`: every `seconds_per_hash` seconds (0: every frame),
/// frames at native size or scaled to `downscale` first (`(width, height)`).
///
/// # Errors
///
/// [`VideoError`] when the file cannot be opened as a video, has no video stream, exceeds
/// `limits`, or no frame at all decodes from a damaged stream. Damage after some frames
/// decoded is not an error: those frames are kept and [`VpdqReport::decode_errors`] counts the
/// rest.
pub fn vpdq_hash(
    path: &Path,
    seconds_per_hash: f64,
    downscale: Option<(u32, u32)>,
    limits: &VideoLimits,
) -> Result<VpdqReport, VideoError> {
    hash_video(path, seconds_per_hash, downscale, limits, true)
}

/// [`vpdq_hash`], with leaving out unsampled non-reference pictures allowed or not (the tests
/// compare both ways).
fn hash_video(
    path: &Path,
    seconds_per_hash: f64,
    downscale: Option<(u32, u32)>,
    limits: &VideoLimits,
    allow_skips: bool,
) -> Result<VpdqReport, VideoError> {
    init_ffmpeg();
    let deadline = Deadline::start(limits);
    if !seconds_per_hash.is_finite() || seconds_per_hash < 0.0 {
        return Err(VideoError::Unsupported(format!(
            "seconds_per_hash must be finite and >= 0, not {seconds_per_hash}"
        )));
    }
    let url = local_url(path)?;
    let input = open_input(&url)?;

    // The first video stream, as upstream, skipping cover art.
    let stream_index = first_video_stream(&input).ok_or(VideoError::NoVideoStream)?;
    let Some(stream) = input.stream(stream_index) else {
        return Err(VideoError::NoVideoStream);
    };
    let parameters = stream.parameters();
    let rotation_degrees = stream
        .side_data()
        .find(|sd| sd.kind() == codec::packet::side_data::Type::DisplayMatrix)
        .and_then(|sd| display_rotation(sd.data()))
        .unwrap_or(0);
    let mut rate = stream.avg_frame_rate();
    if rate.numerator() == 0 || rate.denominator() == 0 {
        rate = stream.rate();
    }
    if rate.numerator() <= 0 || rate.denominator() <= 0 {
        return Err(VideoError::Corrupt("the video has no frame rate".into()));
    }
    let fps = f64::from(rate.numerator()) / f64::from(rate.denominator());
    let stream_duration = {
        let tb = stream.time_base();
        let d = stream.duration();
        (d > 0 && tb.denominator() > 0 && tb.numerator() > 0)
            .then(|| d as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator()))
    };
    let container_duration = (input.duration() > 0)
        .then(|| input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE));
    let declared_duration = stream_duration.or(container_duration);
    if let Some(d) = declared_duration
        && d > limits.max_duration_secs
    {
        return Err(too_large(format!(
            "duration of {d:.1} s exceeds {} s",
            limits.max_duration_secs
        )));
    }
    let framing = (parameters.id() == codec::Id::H264)
        .then(|| h264::NalFraming::from_extradata(extradata(&parameters)));

    let decoder = open_decoder(parameters)?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        return Err(VideoError::Corrupt(
            "the video stream has no frame size".into(),
        ));
    }
    check_pixels(width, height, limits)?;
    let (out_w, out_h) = downscale.unwrap_or((width, height));
    if out_w == 0 || out_h == 0 {
        return Err(VideoError::Unsupported(format!(
            "downscale to {out_w}×{out_h}"
        )));
    }
    check_pixels(out_w, out_h, limits)?;

    let step = frame_step(seconds_per_hash, fps);
    let new_sampler = |plan| Sampler {
        step,
        fps,
        out_w,
        out_h,
        limits: *limits,
        deadline,
        plan,
        next_rank: 0,
        scaler: None,
        decoded: VideoFrame::empty(),
        rgb: VideoFrame::empty(),
        packed: Vec::new(),
        hasher: PdqHasher::new(),
        frames: Vec::new(),
        frame_count: 0,
        frames_decoded: 0,
        frames_skipped: 0,
        decode_errors: 0,
    };

    // Sampled H.264: a demuxing-only pass first finds the unsampled non-reference pictures,
    // which the decoding pass then leaves out. That pass proves as it goes that every frame
    // comes out where counting decoded frames would put it; if anything is off (damage,
    // timestamps that do not order the frames), it is dropped and every frame is decoded.
    // The planning pass reads the input opened above (opening costs a stream probe, a good
    // share of the time for short clips); the decoding pass then opens the file again.
    let mut input = input;
    let scanned = framing.is_some() && allow_skips && step > 1;
    let plan = match framing {
        Some(framing) if scanned => {
            plan_skips(&mut input, stream_index, framing, step, limits, &deadline)
        }
        _ => None,
    };
    let state = match &plan {
        Some(plan) => {
            let mut planned = new_sampler(Some(plan));
            match run_decoder(open_input(&url)?, stream_index, decoder, &mut planned) {
                Ok(()) => planned,
                Err(PassError::Video(e)) => return Err(e),
                Err(PassError::PlanBroken) => {
                    let mut counted = new_sampler(None);
                    let input = open_input(&url)?;
                    let Some(stream) = input.stream(stream_index) else {
                        return Err(VideoError::NoVideoStream);
                    };
                    let decoder = open_decoder(stream.parameters())?;
                    counting_pass(input, stream_index, decoder, &mut counted)?;
                    counted
                }
            }
        }
        None => {
            let mut counted = new_sampler(None);
            let input = if scanned { open_input(&url)? } else { input };
            counting_pass(input, stream_index, decoder, &mut counted)?;
            counted
        }
    };

    if state.frames_decoded == 0 {
        return Err(VideoError::Corrupt(format!(
            "no frame decoded ({} errors)",
            state.decode_errors
        )));
    }
    let duration_secs = declared_duration.unwrap_or(state.frame_count as f64 / fps);
    Ok(VpdqReport {
        frames: state.frames,
        fps,
        width,
        height,
        rotation_degrees,
        frame_count: state.frame_count,
        frames_skipped: state.frames_skipped,
        decode_errors: state.decode_errors,
        duration_secs,
    })
}

/// The `file:` URL of a regular, non-empty local file: FFmpeg is given nothing else, whatever
/// the name looks like (`http:`, `concat:`).
fn local_url(path: &Path) -> Result<String, VideoError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(VideoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() == 0 {
        return Err(VideoError::Corrupt("the file is empty".into()));
    }
    let absolute = std::fs::canonicalize(path)?;
    let Some(absolute) = absolute.to_str() else {
        return Err(VideoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path is not valid UTF-8, which FFmpeg needs",
        )));
    };
    Ok(format!("file:{absolute}"))
}

/// Opens a local file as [`vpdq_hash`] does (see [`local_url`] and [`open_input`]).
pub(crate) fn open_local(path: &Path) -> Result<ffmpeg::format::context::Input, VideoError> {
    open_input(&local_url(path)?)
}

/// Opens a local file to read its headers, for [`crate::probe`]. FFmpeg's stream-info pass
/// decodes frames to learn what a container's header may not say; the mov/mp4 demuxer reads
/// codec, size, sample rate and channels of every stream from the header itself, so for it
/// that pass (most of a probe's time, 6 to 30 ms a file) is skipped whenever the header did
/// give them all. Other containers, and MP4s whose header leaves one unknown, get the pass.
pub(crate) fn open_local_headers(
    path: &Path,
    force_stream_info: bool,
) -> Result<ffmpeg::format::context::Input, VideoError> {
    use std::ffi::CString;
    let url = CString::new(local_url(path)?).map_err(|_| {
        VideoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path holds a NUL byte",
        ))
    })?;
    let mut options = ffmpeg::Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", FORMAT_WHITELIST);
    // SAFETY: the pointer protocol of avformat_open_input / avformat_find_stream_info /
    // avformat_close_input as ffmpeg-next's own `input_with_dictionary` follows it: `context`
    // is null or a context FFmpeg allocated; on failure FFmpeg frees it (open) or we close it
    // (stream info); on success ownership passes to `Input::wrap`, which closes it on drop.
    // The options dictionary is handed over and taken back so it is freed exactly once.
    unsafe {
        let mut context = std::ptr::null_mut();
        let mut opts = options.disown();
        let opened = ffmpeg::ffi::avformat_open_input(
            &mut context,
            url.as_ptr(),
            std::ptr::null(),
            &mut opts,
        );
        ffmpeg::Dictionary::own(opts);
        if opened != 0 {
            return Err(open_error(ffmpeg::Error::from(opened)));
        }
        if force_stream_info || !header_complete(context) {
            let found = ffmpeg::ffi::avformat_find_stream_info(context, std::ptr::null_mut());
            if found < 0 {
                ffmpeg::ffi::avformat_close_input(&mut context);
                return Err(open_error(ffmpeg::Error::from(found)));
            }
        }
        Ok(ffmpeg::format::context::Input::wrap(context))
    }
}

/// Whether an opened mov/mp4 header gave every stream's codec and size or sample format.
///
/// # Safety
///
/// `context` must be a valid, opened `AVFormatContext`.
unsafe fn header_complete(context: *const ffmpeg::ffi::AVFormatContext) -> bool {
    use ffmpeg::ffi::{AVCodecID, AVMediaType};
    // SAFETY: the caller's guarantee; FFmpeg keeps `nb_streams` valid stream pointers, each
    // with its codec parameters, for the context's lifetime.
    unsafe {
        let format = (*context).iformat;
        if format.is_null() || (*context).nb_streams == 0 {
            return false;
        }
        let name = std::ffi::CStr::from_ptr((*format).name).to_bytes();
        if !name.starts_with(b"mov,") {
            return false;
        }
        (0..(*context).nb_streams as usize).all(|i| {
            let p = (**(*context).streams.add(i)).codecpar;
            if p.is_null() {
                return false;
            }
            match (*p).codec_type {
                AVMediaType::AVMEDIA_TYPE_VIDEO => {
                    (*p).codec_id != AVCodecID::AV_CODEC_ID_NONE
                        && (*p).width > 0
                        && (*p).height > 0
                }
                AVMediaType::AVMEDIA_TYPE_AUDIO => {
                    (*p).codec_id != AVCodecID::AV_CODEC_ID_NONE
                        && (*p).sample_rate > 0
                        && (*p).ch_layout.nb_channels > 0
                }
                _ => true,
            }
        })
    }
}

/// Opens `url` with the container whitelist and only the `file` protocol.
fn open_input(url: &str) -> Result<ffmpeg::format::context::Input, VideoError> {
    let mut options = ffmpeg::Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", FORMAT_WHITELIST);
    ffmpeg::format::input_with_dictionary(&url, options).map_err(open_error)
}

/// The index of the first video stream that is not cover art.
pub(crate) fn first_video_stream(input: &ffmpeg::format::context::Input) -> Option<usize> {
    input
        .streams()
        .find(|s| {
            s.parameters().medium() == MediaType::Video
                && !s
                    .disposition()
                    .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
        })
        .map(|s| s.index())
}

/// The codec extradata of a stream (for H.264 in MP4, the `avcC` record).
fn extradata(parameters: &codec::Parameters) -> &[u8] {
    // SAFETY: `parameters` wraps a valid `AVCodecParameters` for as long as it lives, and
    // FFmpeg keeps `extradata_size` bytes at `extradata` (or a null pointer) until it is freed.
    unsafe {
        let p = parameters.as_ptr();
        let (data, size) = ((*p).extradata, (*p).extradata_size);
        match usize::try_from(size) {
            Ok(size) if !data.is_null() && size > 0 => std::slice::from_raw_parts(data, size),
            _ => &[],
        }
    }
}

/// Whether FFmpeg flagged a packet to be decoded but not shown (the part of a stream that an
/// MP4 edit list cuts).
fn is_discarded(packet: &ffmpeg::Packet) -> bool {
    // SAFETY: `packet` wraps a valid `AVPacket` for as long as it lives.
    let flags = unsafe { (*packet.as_ptr()).flags };
    flags & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0
}

pub(crate) fn open_decoder(
    parameters: codec::Parameters,
) -> Result<codec::decoder::Video, VideoError> {
    let mut context = codec::context::Context::from_parameters(parameters)
        .map_err(|e| VideoError::Corrupt(e.to_string()))?;
    // Frame threads (upstream uses slice threads, which most H.264 uploads cannot use, having
    // one slice a frame): decoding is bit-exact either way; frame threading decodes several
    // frames at once, which is what makes sampled vPDQ faster than decoding alone allows.
    context.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let codec_id = context.id();
    context.decoder().video().map_err(|e| match e {
        ffmpeg::Error::DecoderNotFound => VideoError::UnsupportedCodec(format!("{codec_id:?}")),
        other => VideoError::UnsupportedCodec(format!("{codec_id:?}: {other}")),
    })
}

/// Which packets a sampled decoding pass leaves out, worked out from a demuxing-only pass.
struct SkipPlan {
    /// Per packet of the stream, in demuxing order: its presentation timestamp and whether it
    /// is left undecoded.
    packets: Vec<(Option<i64>, bool)>,
    /// Presentation timestamps of the frames that come out of the decoder, sorted: a frame's
    /// index here is its frame number.
    ranked_pts: Vec<i64>,
    /// Per frame number, whether that frame is left undecoded.
    skipped: Vec<bool>,
}

impl SkipPlan {
    fn rank(&self, pts: i64) -> Option<usize> {
        self.ranked_pts.binary_search(&pts).ok()
    }
}

/// Reads the stream's packets without decoding them and plans to leave out the non-reference
/// pictures whose frame number is not sampled. `None` when nothing can be left out safely:
/// a packet without a timestamp, two with the same, a read error, nothing to gain.
fn plan_skips(
    input: &mut ffmpeg::format::context::Input,
    stream_index: usize,
    framing: h264::NalFraming,
    step: u64,
    limits: &VideoLimits,
    deadline: &Deadline,
) -> Option<SkipPlan> {
    // (pts, shown, non-reference, IDR) per packet of the stream.
    let mut packets: Vec<(Option<i64>, bool, bool, bool)> = Vec::new();
    loop {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => return None,
        }
        if packet.stream() != stream_index {
            continue;
        }
        // Out of time: no plan; the decoding pass then stops at its first check.
        if packets.len() as u64 >= limits.max_frames || deadline.passed() {
            return None;
        }
        let shown = !is_discarded(&packet);
        let intact = !packet.flags().contains(codec::packet::Flags::CORRUPT);
        let data = packet.data().unwrap_or_default();
        let non_reference = intact && h264::is_non_reference(data, framing);
        let idr = intact && h264::is_idr(data, framing);
        if shown && packet.pts().is_none() {
            return None;
        }
        packets.push((packet.pts(), shown, non_reference, idr));
    }
    let mut ranked_pts: Vec<i64> = packets
        .iter()
        .filter(|(_, shown, _, _)| *shown)
        .filter_map(|(pts, _, _, _)| *pts)
        .collect();
    ranked_pts.sort_unstable();
    if ranked_pts.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let rank_of = |pts: Option<i64>, shown: bool| {
        pts.filter(|_| shown)
            .and_then(|p| ranked_pts.binary_search(&p).ok())
    };
    let sampled = |rank: Option<usize>| rank.is_some_and(|r| (r as u64).is_multiple_of(step));
    // Nothing after the last sampled picture of a run (in decoding order) up to the next IDR
    // picture is needed: pictures only refer to ones decoded before them, and none after an
    // IDR refers to one before it. Those packets are left out whatever they are.
    let mut tail = vec![false; packets.len()];
    let mut start = 0;
    while start < packets.len() {
        let end = (start + 1..packets.len())
            .find(|&i| packets[i].3)
            .unwrap_or(packets.len());
        let last_sampled = (start..end)
            .rev()
            .find(|&i| sampled(rank_of(packets[i].0, packets[i].1)));
        let from = last_sampled.map_or(start, |i| i + 1);
        for t in &mut tail[from..end] {
            *t = true;
        }
        start = end;
    }
    let mut skipped = vec![false; ranked_pts.len()];
    let mut planned = Vec::with_capacity(packets.len());
    for (i, (pts, shown, non_reference, _)) in packets.into_iter().enumerate() {
        let rank = rank_of(pts, shown);
        let skip = tail[i] || (non_reference && rank.is_some() && !sampled(rank));
        if skip && let Some(rank) = rank {
            skipped[rank] = true;
        }
        planned.push((pts, skip));
    }
    skipped.contains(&true).then_some(SkipPlan {
        packets: planned,
        ranked_pts,
        skipped,
    })
}

/// A pass that decodes every frame and numbers frames by counting them, as upstream does.
fn counting_pass(
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    decoder: codec::decoder::Video,
    sampler: &mut Sampler<'_>,
) -> Result<(), VideoError> {
    match run_decoder(input, stream_index, decoder, sampler) {
        Ok(()) => Ok(()),
        Err(PassError::Video(e)) => Err(e),
        // Only a plan can break, and a counting pass has none.
        Err(PassError::PlanBroken) => Err(VideoError::Corrupt("frame numbering failed".into())),
    }
}

/// Why a decoding pass stopped early.
enum PassError {
    /// The file cannot be hashed.
    Video(VideoError),
    /// Frames did not come out as the skip plan predicted.
    PlanBroken,
}

impl From<VideoError> for PassError {
    fn from(e: VideoError) -> Self {
        PassError::Video(e)
    }
}

/// Demuxes and decodes the stream, leaving out what the sampler's plan says, and hands every
/// decoded frame to the sampler.
fn run_decoder(
    mut input: ffmpeg::format::context::Input,
    stream_index: usize,
    mut decoder: codec::decoder::Video,
    state: &mut Sampler<'_>,
) -> Result<(), PassError> {
    let mut consecutive_read_errors = 0;
    let mut packet_index = 0usize;
    loop {
        // A fresh packet each time: `av_read_frame` does not release what a reused packet
        // held, so reuse leaks one buffer per packet (found by the `video_vpdq` fuzz target).
        // Dropping the packet releases it.
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => consecutive_read_errors = 0,
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => {
                if state.plan.is_some() {
                    return Err(PassError::PlanBroken);
                }
                state.decode_errors += 1;
                consecutive_read_errors += 1;
                if consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                    break;
                }
                continue;
            }
        }
        if packet.stream() != stream_index {
            continue;
        }
        state.deadline.check()?;
        if let Some(plan) = state.plan {
            let Some(&(pts, skip)) = plan.packets.get(packet_index) else {
                return Err(PassError::PlanBroken);
            };
            packet_index += 1;
            if pts != packet.pts() {
                return Err(PassError::PlanBroken);
            }
            if skip {
                state.frames_skipped += 1;
                continue;
            }
        }
        if decoder.send_packet(&packet).is_err() {
            if state.plan.is_some() {
                return Err(PassError::PlanBroken);
            }
            state.decode_errors += 1;
            continue;
        }
        state.drain(&mut decoder)?;
    }
    if decoder.send_eof().is_ok() {
        state.drain(&mut decoder)?;
    }
    if let Some(plan) = state.plan {
        state.skip_planned();
        if packet_index != plan.packets.len()
            || state.next_rank != plan.ranked_pts.len()
            || state.decode_errors > 0
        {
            return Err(PassError::PlanBroken);
        }
    }
    Ok(())
}

/// Decoding state: receives frames, samples, converts and hashes them.
struct Sampler<'a> {
    step: u64,
    fps: f64,
    out_w: u32,
    out_h: u32,
    limits: VideoLimits,
    deadline: Deadline,
    /// Packets left undecoded; frames are then numbered by their timestamps' order and checked
    /// against it.
    plan: Option<&'a SkipPlan>,
    /// With a plan: the frame number the next decoded frame must have, skipped ones aside.
    next_rank: usize,
    scaler: Option<scaling::Context>,
    decoded: VideoFrame,
    rgb: VideoFrame,
    packed: Vec<u8>,
    hasher: PdqHasher,
    frames: Vec<VpdqFrame>,
    frame_count: u64,
    frames_decoded: u64,
    frames_skipped: u64,
    decode_errors: u64,
}

impl Sampler<'_> {
    /// Moves `next_rank` past frames the plan leaves out.
    fn skip_planned(&mut self) {
        if let Some(plan) = self.plan {
            while plan.skipped.get(self.next_rank) == Some(&true) {
                self.next_rank += 1;
            }
        }
    }

    /// Receives every frame the decoder has ready.
    fn drain(&mut self, decoder: &mut codec::decoder::Video) -> Result<(), PassError> {
        loop {
            match decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(_) if self.plan.is_some() => return Err(PassError::PlanBroken),
                Err(_) => {
                    self.decode_errors += 1;
                    return Ok(());
                }
            }
            let n = match self.plan {
                None => {
                    self.frame_count += 1;
                    self.frame_count - 1
                }
                Some(plan) => {
                    self.skip_planned();
                    let rank = self.decoded.pts().and_then(|pts| plan.rank(pts));
                    if rank != Some(self.next_rank) {
                        return Err(PassError::PlanBroken);
                    }
                    self.next_rank += 1;
                    self.frame_count = plan.ranked_pts.len() as u64;
                    self.next_rank as u64 - 1
                }
            };
            self.frames_decoded += 1;
            if n >= self.limits.max_frames {
                return Err(
                    too_large(format!("more than {} frames", self.limits.max_frames)).into(),
                );
            }
            if n as f64 / self.fps > self.limits.max_duration_secs {
                return Err(
                    too_large(format!("frames past {} s", self.limits.max_duration_secs)).into(),
                );
            }
            if n.is_multiple_of(self.step) {
                self.hash_frame(n)?;
            }
        }
    }

    fn hash_frame(&mut self, n: u64) -> Result<(), VideoError> {
        let (fmt, w, h) = (
            self.decoded.format(),
            self.decoded.width(),
            self.decoded.height(),
        );
        if w == 0 || h == 0 || fmt == Pixel::None {
            self.decode_errors += 1;
            return Ok(());
        }
        check_pixels(w, h, &self.limits)?;
        let stale = self.scaler.as_ref().is_none_or(|s| {
            let i = s.input();
            i.format != fmt || i.width != w || i.height != h
        });
        if stale {
            // SWS_AREA, as upstream (`DOWNSAMPLE_METHOD`); the output size stays the stream's
            // (or the downscale) even if the frame size changes mid-stream.
            let scaler = scaling::Context::get(
                fmt,
                w,
                h,
                Pixel::RGB24,
                self.out_w,
                self.out_h,
                scaling::Flags::AREA,
            )
            .map_err(|e| VideoError::Corrupt(format!("cannot convert {fmt:?} frames: {e}")))?;
            self.scaler = Some(scaler);
        }
        let Some(scaler) = self.scaler.as_mut() else {
            return Ok(());
        };
        if scaler.run(&self.decoded, &mut self.rgb).is_err() {
            self.decode_errors += 1;
            return Ok(());
        }
        let row = self.out_w as usize * 3;
        let rows = self.out_h as usize;
        let stride = self.rgb.stride(0);
        let data = self.rgb.data(0);
        self.packed.clear();
        for y in 0..rows {
            let start = y * stride;
            match data.get(start..start + row) {
                Some(line) => self.packed.extend_from_slice(line),
                None => {
                    self.decode_errors += 1;
                    return Ok(());
                }
            }
        }
        let pixels = Pixels::new(self.out_w, self.out_h, PixelFormat::Rgb8, &self.packed)
            .map_err(VideoError::Hash)?;
        let result = self
            .hasher
            .hash(&pixels, Pipeline::FullResolution)
            .map_err(VideoError::Hash)?;
        self.frames.push(VpdqFrame {
            frame: n,
            quality: result.quality,
            hash: result.hash,
            timestamp: f64::from(n as f32 / self.fps as f32),
        });
        Ok(())
    }
}

/// How much of two videos' quality frames find a partner in the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqMatch {
    /// Share (0..=100) of the query's quality frames within the distance of some target frame.
    pub query_match_percent: f64,
    /// Share (0..=100) of the target's quality frames within the distance of some query frame.
    pub target_match_percent: f64,
}

impl VpdqMatch {
    /// Whether the videos match: both shares at least `threshold_percent` (upstream's
    /// `vpdq-match-hashes` tool and the Python `vpdq` examples use 80 for both). Requiring
    /// both sides means a short clip does not match the long video it was cut from; check
    /// [`query_match_percent`](Self::query_match_percent) alone for "the query appears in the
    /// target".
    pub fn is_match(&self, threshold_percent: f64) -> bool {
        self.query_match_percent >= threshold_percent
            && self.target_match_percent >= threshold_percent
    }
}

/// Compares two vPDQ hash lists as upstream's `matchTwoHashBrute`: frames with quality below
/// `quality` are dropped on each side; a frame counts when any frame of the other side is
/// within `distance` bits; the counts are given as percentages of each side's kept frames (0
/// when either side keeps none).
///
/// Upstream's C++ counts a pair when the distance is strictly below the tolerance; here a pair
/// within `distance` (`<=`) counts, the rule PDQ itself uses for its threshold of 31
/// ([`vigil_phash::MATCH_DISTANCE`]). Pass `distance - 1` for upstream's exact figure.
pub fn vpdq_match(
    query: &[VpdqFrame],
    target: &[VpdqFrame],
    distance: u32,
    quality: u8,
) -> VpdqMatch {
    let q: Vec<&PdqHash> = query
        .iter()
        .filter(|f| f.quality >= quality)
        .map(|f| &f.hash)
        .collect();
    let t: Vec<&PdqHash> = target
        .iter()
        .filter(|f| f.quality >= quality)
        .map(|f| &f.hash)
        .collect();
    if q.is_empty() || t.is_empty() {
        return VpdqMatch {
            query_match_percent: 0.0,
            target_match_percent: 0.0,
        };
    }
    let share = |a: &[&PdqHash], b: &[&PdqHash]| {
        let hits = a
            .iter()
            .filter(|x| b.iter().any(|y| x.distance(y) <= distance))
            .count();
        hits as f64 * 100.0 / a.len() as f64
    };
    VpdqMatch {
        query_match_percent: share(&q, &t),
        target_match_percent: share(&t, &q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_truncates_like_upstream() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
    }

    #[test]
    fn rotation_of_display_matrices() {
        let matrix = |m: [i32; 9]| m.iter().flat_map(|v| v.to_ne_bytes()).collect::<Vec<u8>>();
        let one = 1 << 16;
        assert_eq!(
            display_rotation(&matrix([one, 0, 0, 0, one, 0, 0, 0, 1 << 30])),
            Some(0)
        );
        // av_display_rotation_set(m, 90): [0, -1, 1, 0] scaled.
        assert_eq!(
            display_rotation(&matrix([0, -one, 0, one, 0, 0, 0, 0, 1 << 30])),
            Some(90)
        );
        assert_eq!(
            display_rotation(&matrix([0, one, 0, -one, 0, 0, 0, 0, 1 << 30])),
            Some(-90)
        );
        assert_eq!(display_rotation(&[0; 8]), None);
    }

    /// Leaving out unsampled non-reference pictures changes nothing in the report but the
    /// count of frames left out: on the sample clips, on a damaged copy (where the plan
    /// breaks and every frame is decoded again), and on an Annex B stream in MPEG-TS.
    #[test]
    fn skipping_non_reference_pictures_changes_no_hash() {
        let videos = vigil_testdata::vectors().join("threatexchange/tmk/sample-videos");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut paths: Vec<std::path::PathBuf> = [
            "chair-19-sd-bar",
            "doorknob-hd-no-bar",
            "test-padded-dimensions",
        ]
        .iter()
        .map(|n| videos.join(format!("{n}.mp4")))
        .collect();
        let bytes = std::fs::read(&paths[0]).expect("read");
        let mut damaged = bytes.clone();
        let from = bytes.len() / 2;
        for (i, b) in damaged[from..from + bytes.len() / 20]
            .iter_mut()
            .enumerate()
        {
            *b = (i * 7 + 13) as u8;
        }
        let damaged_path = dir.path().join("damaged.mp4");
        std::fs::write(&damaged_path, &damaged).expect("write");
        paths.push(damaged_path);
        let ts = dir.path().join("b-frames.ts");
        let made = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=320x240:rate=25:duration=4")
            .args(["-c:v", "libx264", "-bf", "3", "-pix_fmt", "yuv420p"])
            .arg(&ts)
            .status();
        match made {
            Ok(s) if s.success() => paths.push(ts),
            other => eprintln!("skipping the MPEG-TS case: ffmpeg CLI unavailable ({other:?})"),
        }
        let limits = VideoLimits::default();
        let mut skipped_somewhere = false;
        for path in &paths {
            let skipping = hash_video(path, 1.0, None, &limits, true).expect("hash");
            let counting = hash_video(path, 1.0, None, &limits, false).expect("hash");
            assert_eq!(counting.frames_skipped, 0);
            skipped_somewhere |= skipping.frames_skipped > 0;
            eprintln!(
                "{path:?}: {} of {} frames left out",
                skipping.frames_skipped, skipping.frame_count
            );
            assert_eq!(
                VpdqReport {
                    frames_skipped: 0,
                    ..skipping
                },
                counting,
                "{path:?}"
            );
        }
        assert!(skipped_somewhere);
    }

    #[test]
    fn lines_round_trip() {
        let line = "30,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,1.000";
        let f = VpdqFrame::from_line(line).expect("parses");
        assert_eq!(f.to_line(), line);
        assert!(VpdqFrame::from_line("1,2,zz,0.1").is_none());
    }
}
