//! A picture that claims many pixels is refused before its pixels are allocated: measured with
//! a counting allocator around `decode_image` of a real 10,000 × 10,000 PNG (a few hundred
//! kilobytes of file; before the byte limit it took `vigil capture` to 1.12 GB).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use vigil_media::{DecodeLimits, decode_image};

/// Counts the bytes allocated now and the most at once since the last [`reset_peak`].
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for `layout`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = NOW.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Most bytes allocated at once while `f` ran, above what was allocated before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = NOW.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// A `side` × `side` RGB PNG of a gradient, written a row at a time (never whole in memory).
fn png(side: u32) -> Vec<u8> {
    // The stream writer wants an owned writer: a temp file, read back once written.
    let mut file = tempfile::tempfile().expect("temp file");
    {
        let mut encoder = png::Encoder::new(file.try_clone().expect("clone"), side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .expect("header")
            .into_stream_writer()
            .expect("stream");
        let mut row = vec![0u8; side as usize * 3];
        for y in 0..side {
            row[..3].copy_from_slice(&[(y % 251) as u8, 0, 0]);
            writer.write_all(&row).expect("row");
        }
        writer.finish().expect("finish");
    }
    let mut out = Vec::new();
    std::io::Seek::rewind(&mut file).expect("rewind");
    std::io::Read::read_to_end(&mut file, &mut out).expect("read back");
    out
}

#[test]
fn a_huge_picture_is_refused_before_its_pixels_are_allocated() {
    let bomb = png(10_000);
    assert!(bomb.len() < 2 << 20, "{} bytes of PNG", bomb.len());
    let (result, peak) = peak_during(|| decode_image(Cursor::new(&bomb), &DecodeLimits::default()));
    let err = result.expect_err("refused");
    assert_eq!(err.code(), "too-large");
    assert_eq!(
        err.to_string(),
        "10000×10000 pixels (1050 MiB decoded and hashed) exceeds the limit of 512 MiB"
    );
    assert!(peak < 4 << 20, "{peak} bytes allocated before refusing");

    // The measure sees a decode that is allowed: a 2,000 × 2,000 picture allocates its 12 MB.
    let fine = png(2_000);
    let (result, peak) = peak_during(|| decode_image(Cursor::new(&fine), &DecodeLimits::default()));
    let image = result.expect("decoded");
    assert_eq!((image.width, image.height), (2_000, 2_000));
    assert!(peak >= 12_000_000, "{peak}");
}
