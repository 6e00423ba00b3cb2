//! The PDQ pipeline: luminance, Jarosz (tent) filter, 64x64 decimation, quality, 16x16 DCT,
//! median threshold.
//!
//! Every floating-point step follows the reference (facebook/ThreatExchange `pdq/cpp`) in
//! precision *and* order of operations, so hashes are bit-exact with it: single-precision luma,
//! running box sums that add the entering value before subtracting the leaving one, a division
//! (not a reciprocal multiply) for each mean, DCT sums accumulated in `k` order. Rust never fuses
//! `a * b + c` into an FMA on its own, so the roundings match the reference's x86-64 build.
//!
//! What differs is the order in which independent values are computed, which does not change any
//! of them: the row pass runs [`LANES`] rows side by side so the sums vectorise, and the second
//! filter iteration only computes the 64 columns and rows that decimation keeps.

use std::sync::OnceLock;

use crate::pixels::checked_len;
use crate::{MIN_DIMENSION, PdqError, PdqHash, PdqResult, Pipeline, PixelFormat, Pixels};

/// Rows filtered side by side in the row pass.
const LANES: usize = 8;
/// The side of the downsampled image.
const SIDE: usize = 64;
/// The side the C++-compatible pipeline resizes to.
const CPP_SIDE: usize = 512;

const LUMA_R: f64 = 0.299;
const LUMA_G: f64 = 0.587;
const LUMA_B: f64 = 0.114;

type Dct16 = [[f32; 16]; 16];

/// A PDQ hasher that keeps its scratch buffers between calls.
///
/// Hashing needs two full-size `f32` copies of the image plus a few smaller buffers; a
/// `PdqHasher` allocates them once, grows them for larger images and reuses them, so a worker
/// that hashes many frames or photos does not allocate per image. Not `Sync`-shared: give each
/// thread its own.
#[derive(Debug, Default, Clone)]
pub struct PdqHasher {
    /// Luminance; later the output of the first column pass.
    luma: Vec<f32>,
    /// Output of the first row pass.
    rows1: Vec<f32>,
    /// Second row pass, only the 64 decimation columns (`rows x 64`).
    rows2: Vec<f32>,
    /// Second column pass over `rows2`.
    cols2: Vec<f32>,
    /// Running sums of a column pass, one per column.
    sums: Vec<f32>,
    /// `LANES` rows transposed (`cols x LANES`) for the row pass, in and out.
    lanes_in: Vec<f32>,
    lanes_out: Vec<f32>,
}

impl PdqHasher {
    /// A hasher with empty buffers; they grow on first use.
    pub fn new() -> PdqHasher {
        PdqHasher::default()
    }

    /// Hashes decoded pixels; see [`pdq_hash`](crate::pdq_hash).
    pub fn hash(&mut self, pixels: &Pixels<'_>, pipeline: Pipeline) -> Result<PdqResult, PdqError> {
        let (dct, quality) = self.dct_from_pixels(pixels, pipeline)?;
        Ok(PdqResult {
            hash: dct_to_bits(&dct),
            quality,
        })
    }

    /// Hashes a luminance plane; see [`pdq_hash_luma`](crate::pdq_hash_luma).
    pub fn hash_luma(
        &mut self,
        luma: &[f32],
        width: u32,
        height: u32,
    ) -> Result<PdqResult, PdqError> {
        let (dct, quality) = self.dct_from_luma(luma, width, height)?;
        Ok(PdqResult {
            hash: dct_to_bits(&dct),
            quality,
        })
    }

    /// The eight dihedral hashes of decoded pixels; see [`pdq_dihedral`](crate::pdq_dihedral).
    pub fn dihedral(
        &mut self,
        pixels: &Pixels<'_>,
        pipeline: Pipeline,
    ) -> Result<[PdqResult; 8], PdqError> {
        let (dct, quality) = self.dct_from_pixels(pixels, pipeline)?;
        Ok(dihedral_results(&dct, quality))
    }

    /// The eight dihedral hashes of a luminance plane (full resolution), in the order of
    /// [`pdq_dihedral`](crate::pdq_dihedral).
    pub fn dihedral_luma(
        &mut self,
        luma: &[f32],
        width: u32,
        height: u32,
    ) -> Result<[PdqResult; 8], PdqError> {
        let (dct, quality) = self.dct_from_luma(luma, width, height)?;
        Ok(dihedral_results(&dct, quality))
    }

    fn dct_from_luma(
        &mut self,
        luma: &[f32],
        width: u32,
        height: u32,
    ) -> Result<(Dct16, u8), PdqError> {
        let n = checked_len(width, height, 1)?;
        if luma.len() != n {
            return Err(PdqError::BufferLength {
                width,
                height,
                format: PixelFormat::LumaF32,
                expected: n,
                actual: luma.len(),
            });
        }
        check_min(width, height)?;
        grow(&mut self.luma, n);
        self.luma[..n].copy_from_slice(luma);
        Ok(self.dct_from_own_luma(height as usize, width as usize))
    }

    fn dct_from_pixels(
        &mut self,
        pixels: &Pixels<'_>,
        pipeline: Pipeline,
    ) -> Result<(Dct16, u8), PdqError> {
        let (w, h) = (pixels.width() as usize, pixels.height() as usize);
        let resize = pipeline == Pipeline::CppCompatible && (w > CPP_SIDE || h > CPP_SIDE);
        if resize {
            grow(&mut self.luma, CPP_SIDE * CPP_SIDE);
            fill_luma_resized(pixels, &mut self.luma[..CPP_SIDE * CPP_SIDE]);
            return Ok(self.dct_from_own_luma(CPP_SIDE, CPP_SIDE));
        }
        check_min(pixels.width(), pixels.height())?;
        grow(&mut self.luma, w * h);
        fill_luma(pixels, &mut self.luma[..w * h]);
        Ok(self.dct_from_own_luma(h, w))
    }

    /// Steps after luminance, on `self.luma[..rows * cols]`; both sides >= MIN_DIMENSION.
    fn dct_from_own_luma(&mut self, rows: usize, cols: usize) -> (Dct16, u8) {
        let n = rows * cols;
        grow(&mut self.rows1, n);
        grow(&mut self.rows2, rows * SIDE);
        grow(&mut self.cols2, rows * SIDE);
        grow(&mut self.sums, cols.max(SIDE));
        grow(&mut self.lanes_in, cols * LANES);
        grow(&mut self.lanes_out, cols * LANES);

        let row_window = window_size(cols);
        let col_window = window_size(rows);
        let xs = decimation_indices(cols);
        let ys = decimation_indices(rows);

        // Jarosz filter: (rows, then columns) twice, as the reference's two passes.
        let luma = &mut self.luma[..n];
        let rows1 = &mut self.rows1[..n];
        let lanes_in = &mut self.lanes_in[..cols * LANES];
        let lanes_out = &mut self.lanes_out[..cols * LANES];
        box_rows(
            luma,
            cols,
            row_window,
            lanes_in,
            lanes_out,
            |r0, lanes_out| {
                for (l, row) in rows1[r0 * cols..]
                    .chunks_exact_mut(cols)
                    .take(LANES)
                    .enumerate()
                {
                    for (o, v) in row.iter_mut().zip(lanes_out.chunks_exact(LANES)) {
                        *o = v[l];
                    }
                }
            },
        );
        box_cols(rows1, luma, cols, col_window, &mut self.sums[..cols]);

        // Second pass: only the columns, then the rows, that decimation keeps.
        let rows2 = &mut self.rows2[..rows * SIDE];
        box_rows(
            luma,
            cols,
            row_window,
            lanes_in,
            lanes_out,
            |r0, lanes_out| {
                for (l, row) in rows2[r0 * SIDE..]
                    .chunks_exact_mut(SIDE)
                    .take(LANES)
                    .enumerate()
                {
                    for (o, &x) in row.iter_mut().zip(xs.iter()) {
                        *o = lanes_out[x * LANES + l];
                    }
                }
            },
        );
        let cols2 = &mut self.cols2[..rows * SIDE];
        box_cols(rows2, cols2, SIDE, col_window, &mut self.sums[..SIDE]);

        let mut small = [[0f32; SIDE]; SIDE];
        for (out, &y) in small.iter_mut().zip(ys.iter()) {
            out.copy_from_slice(&cols2[y * SIDE..(y + 1) * SIDE]);
        }
        (dct64_to_16(&small), quality(&small))
    }
}

/// Makes `v` at least `n` long. A new buffer comes from `vec![0.0; n]` (zeroed pages from the
/// allocator, not a memset), since every use overwrites it.
fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        *v = vec![0.0; n];
    }
}

fn check_min(width: u32, height: u32) -> Result<(), PdqError> {
    if width < MIN_DIMENSION || height < MIN_DIMENSION {
        return Err(PdqError::TooSmall {
            width,
            height,
            min: MIN_DIMENSION,
        });
    }
    Ok(())
}

/// Reference luminance as PyPI `pdqhash` computes it (numpy, double precision, this order, no
/// FMA), rounded once to single precision. The C++ tool's all-`float` formula gives the same
/// value for almost every pixel, but not all, and a last-bit difference can flip a hash bit of a
/// synthetic image; `pdqhash` is the reference the vectors were generated with.
#[inline(always)]
pub(crate) fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    (f64::from(r) * LUMA_R + f64::from(g) * LUMA_G + f64::from(b) * LUMA_B) as f32
}

/// The products `v * coefficient` for every byte value, exactly as [`luma_of`] computes them,
/// so the hot loop is three loads and two additions.
struct LumaTables([[f64; 256]; 3]);

fn luma_tables() -> &'static LumaTables {
    static TABLES: OnceLock<LumaTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = [[0f64; 256]; 3];
        for (table, coefficient) in t.iter_mut().zip([LUMA_R, LUMA_G, LUMA_B]) {
            for (v, slot) in table.iter_mut().enumerate() {
                *slot = v as f64 * coefficient;
            }
        }
        LumaTables(t)
    })
}

fn fill_luma(pixels: &Pixels<'_>, out: &mut [f32]) {
    let data = pixels.data();
    let [tr, tg, tb] = &luma_tables().0;
    let luma =
        |p: &[u8]| (tr[usize::from(p[0])] + tg[usize::from(p[1])] + tb[usize::from(p[2])]) as f32;
    match pixels.format() {
        PixelFormat::Rgb8 => {
            for (o, p) in out.iter_mut().zip(data.chunks_exact(3)) {
                *o = luma(p);
            }
        }
        PixelFormat::Rgba8 => {
            for (o, p) in out.iter_mut().zip(data.chunks_exact(4)) {
                *o = luma(p);
            }
        }
        PixelFormat::Gray8 | PixelFormat::LumaF32 => {
            for (o, &p) in out.iter_mut().zip(data.iter()) {
                *o = f32::from(p);
            }
        }
    }
}

/// Nearest-neighbour resize to 512x512 fused with luminance, as the reference command-line tool
/// does through CImg: destination (x, y) reads source (floor(x*W/512), floor(y*H/512)).
fn fill_luma_resized(pixels: &Pixels<'_>, out: &mut [f32]) {
    let (w, h) = (pixels.width() as usize, pixels.height() as usize);
    let ch = pixels.format().channels();
    let data = pixels.data();
    let mut xs = [0usize; CPP_SIDE];
    for (x, sx) in xs.iter_mut().enumerate() {
        *sx = (x * w / CPP_SIDE) * ch;
    }
    for (y, out_row) in out.chunks_exact_mut(CPP_SIDE).enumerate() {
        let sy = y * h / CPP_SIDE;
        let row = &data[sy * w * ch..(sy + 1) * w * ch];
        for (o, &sx) in out_row.iter_mut().zip(xs.iter()) {
            *o = if ch >= 3 {
                luma_of(row[sx], row[sx + 1], row[sx + 2])
            } else {
                f32::from(row[sx])
            };
        }
    }
}

/// Reference window size: ceil(dim / 128), for a 64-wide output.
fn window_size(dim: usize) -> usize {
    dim.div_ceil(2 * SIDE)
}

/// Reference decimation: output i samples input floor((i + 0.5) * dim / 64), computed in double.
fn decimation_indices(dim: usize) -> [usize; SIDE] {
    let mut out = [0usize; SIDE];
    for (i, o) in out.iter_mut().enumerate() {
        *o = ((i as f64 + 0.5) * dim as f64 / SIDE as f64) as usize;
    }
    out
}

/// Phase lengths of the reference's running box filter (`box1DFloat`): accumulate without
/// writing, write while the window grows, slide at full width, write while it shrinks.
fn phases(len: usize, window: usize) -> [usize; 4] {
    let half = (window + 2) / 2;
    [half - 1, window - half + 1, len - window, half - 1]
}

/// One box pass along each row of `input` (`cols` wide), [`LANES`] rows at a time: the rows are
/// transposed into `lanes_in` so the running sums of all lanes advance together as vectors, and
/// `emit(first_row, lanes_out)` receives each block's means (`cols x LANES`).
fn box_rows(
    input: &[f32],
    cols: usize,
    window: usize,
    lanes_in: &mut [f32],
    lanes_out: &mut [f32],
    mut emit: impl FnMut(usize, &[f32]),
) {
    let [p1, p2, p3, p4] = phases(cols, window);
    for (block, rows) in input.chunks(cols * LANES).enumerate() {
        for (l, row) in rows.chunks_exact(cols).enumerate() {
            for (v, &x) in lanes_in.chunks_exact_mut(LANES).zip(row) {
                v[l] = x;
            }
        }
        // Fixed-size lanes, so each step below is one vector operation.
        let lanes: &[[f32; LANES]] = lanes_in.as_chunks().0;
        let outs: &mut [[f32; LANES]] = lanes_out.as_chunks_mut().0;
        let mut sum = [0f32; LANES];
        let mut right = lanes.iter();
        let mut left = lanes.iter();
        let mut out = outs.iter_mut();
        let mut count = 0u32;
        for r in right.by_ref().take(p1) {
            for l in 0..LANES {
                sum[l] += r[l];
            }
            count += 1;
        }
        for (r, o) in right.by_ref().take(p2).zip(out.by_ref()) {
            count += 1;
            let n = count as f32;
            for l in 0..LANES {
                sum[l] += r[l];
                o[l] = sum[l] / n;
            }
        }
        let n = count as f32;
        for ((r, y), o) in right.by_ref().take(p3).zip(left.by_ref()).zip(out.by_ref()) {
            for l in 0..LANES {
                sum[l] += r[l];
                sum[l] -= y[l];
                o[l] = sum[l] / n;
            }
        }
        for (y, o) in left.by_ref().take(p4).zip(out.by_ref()) {
            count -= 1;
            let n = count as f32;
            for l in 0..LANES {
                sum[l] -= y[l];
                o[l] = sum[l] / n;
            }
        }
        emit(block * LANES, lanes_out);
    }
}

/// One box pass down each column of `input` (`cols` wide) into `out`, all columns at once
/// (`sums` holds one running sum per column), so every step is a contiguous vector operation.
fn box_cols(input: &[f32], out: &mut [f32], cols: usize, window: usize, sums: &mut [f32]) {
    let [p1, p2, p3, p4] = phases(input.len() / cols, window);
    sums.fill(0.0);
    let mut right = input.chunks_exact(cols);
    let mut left = input.chunks_exact(cols);
    let mut out = out.chunks_exact_mut(cols);
    let mut count = 0u32;
    for r in right.by_ref().take(p1) {
        for (s, x) in sums.iter_mut().zip(r) {
            *s += x;
        }
        count += 1;
    }
    for (r, o) in right.by_ref().take(p2).zip(out.by_ref()) {
        count += 1;
        let n = count as f32;
        for ((s, x), o) in sums.iter_mut().zip(r).zip(o) {
            *s += x;
            *o = *s / n;
        }
    }
    let n = count as f32;
    for ((r, l), o) in right.by_ref().take(p3).zip(left.by_ref()).zip(out.by_ref()) {
        for (((s, x), y), o) in sums.iter_mut().zip(r).zip(l).zip(o) {
            *s += x;
            *s -= y;
            *o = *s / n;
        }
    }
    for (l, o) in left.by_ref().take(p4).zip(out.by_ref()) {
        count -= 1;
        let n = count as f32;
        for ((s, y), o) in sums.iter_mut().zip(l).zip(o) {
            *s -= y;
            *o = *s / n;
        }
    }
}

/// Reference quality: the sum of truncated, scaled neighbour differences, / 90, capped at 100.
fn quality(b: &[[f32; SIDE]; SIDE]) -> u8 {
    let step = |u: f32, v: f32| -> u64 { (((u - v) * 100.0 / 255.0) as i32).unsigned_abs().into() };
    let mut sum = 0u64;
    for (r0, r1) in b.iter().zip(b.iter().skip(1)) {
        for (&u, &v) in r0.iter().zip(r1) {
            sum += step(u, v);
        }
    }
    for row in b {
        for (&u, &v) in row.iter().zip(row.iter().skip(1)) {
            sum += step(u, v);
        }
    }
    u8::try_from((sum / 90).min(100)).unwrap_or(100)
}

/// The 16x64 DCT-II matrix without the DC row, and its transpose.
struct DctMatrix {
    d: [[f32; SIDE]; 16],
    dt: [[f32; 16]; SIDE],
}

fn dct_matrix() -> &'static DctMatrix {
    static MATRIX: OnceLock<DctMatrix> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / SIDE as f64).sqrt();
        let mut d = [[0f32; SIDE]; 16];
        let mut dt = [[0f32; 16]; SIDE];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle = (std::f64::consts::PI / 2.0 / SIDE as f64) * (i + 1) as f64;
                *v = (scale * (angle * (2 * j + 1) as f64).cos()) as f32;
                dt[j][i] = *v;
            }
        }
        DctMatrix { d, dt }
    })
}

/// B = D A Dᵀ, each sum accumulated in `k` order in single precision as the reference does;
/// the loops run over `j` innermost so each step is a vector operation.
fn dct64_to_16(a: &[[f32; SIDE]; SIDE]) -> Dct16 {
    let m = dct_matrix();
    let mut t = [[0f32; SIDE]; 16];
    for (ti, di) in t.iter_mut().zip(m.d.iter()) {
        for (&dik, ak) in di.iter().zip(a.iter()) {
            for (t, &x) in ti.iter_mut().zip(ak) {
                *t += dik * x;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (bi, ti) in b.iter_mut().zip(t.iter()) {
        for (&tik, dk) in ti.iter().zip(m.dt.iter()) {
            for (b, &x) in bi.iter_mut().zip(dk) {
                *b += tik * x;
            }
        }
    }
    b
}

/// One bit per coefficient: set where it exceeds the median (the 128th smallest value, which
/// is what the reference's Torben median returns for 256 values).
fn dct_to_bits(dct: &Dct16) -> PdqHash {
    let mut values = [0f32; 256];
    for (chunk, row) in values.chunks_exact_mut(16).zip(dct.iter()) {
        chunk.copy_from_slice(row);
    }
    let (_, &mut median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    let mut hash = PdqHash::default();
    for (i, row) in dct.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                hash.set_bit(i, j);
            }
        }
    }
    hash
}

/// The DCT of a rotated or flipped image, from the original's: transposes and sign flips of
/// coefficients (frequency `i + 1` changes sign under a flip when it is odd, i.e. `i` even).
fn dihedral_results(dct: &Dct16, quality: u8) -> [PdqResult; 8] {
    let map = |transpose: bool, negate: &dyn Fn(usize, usize) -> bool| -> PdqResult {
        let mut out = [[0f32; 16]; 16];
        for (i, row) in dct.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let v = if negate(i, j) { -v } else { v };
                if transpose {
                    out[j][i] = v;
                } else {
                    out[i][j] = v;
                }
            }
        }
        PdqResult {
            hash: dct_to_bits(&out),
            quality,
        }
    };
    [
        map(false, &|_, _| false),
        map(true, &|_, j| j & 1 == 0),
        map(false, &|i, j| (i + j) & 1 == 1),
        map(true, &|i, _| i & 1 == 0),
        map(false, &|i, _| i & 1 == 0),
        map(false, &|_, j| j & 1 == 0),
        map(true, &|_, _| false),
        map(true, &|i, j| (i + j) & 1 == 1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference filter, written as plainly as upstream's `box1DFloat`, with a stride.
    fn box1d_plain(input: &[f32], out: &mut [f32], len: usize, stride: usize, window: usize) {
        let [p1, p2, p3, p4] = phases(len, window);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0f32;
        let mut n = 0;
        for _ in 0..p1 {
            sum += input[ri];
            n += 1;
            ri += stride;
        }
        for _ in 0..p2 {
            sum += input[ri];
            n += 1;
            out[oi] = sum / n as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            out[oi] = sum / n as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p4 {
            sum -= input[li];
            n -= 1;
            out[oi] = sum / n as f32;
            li += stride;
            oi += stride;
        }
    }

    /// The whole filter and decimation as the reference runs it: 4 full passes, then sampling.
    fn plain_downsample(luma: &[f32], rows: usize, cols: usize) -> [[f32; SIDE]; SIDE] {
        let mut a = luma.to_vec();
        let mut b = vec![0f32; a.len()];
        for _ in 0..2 {
            for r in 0..rows {
                let (i, o) = (&a[r * cols..], &mut b[r * cols..]);
                box1d_plain(i, o, cols, 1, window_size(cols));
            }
            for c in 0..cols {
                box1d_plain(&b[c..], &mut a[c..], rows, cols, window_size(rows));
            }
        }
        let mut out = [[0f32; SIDE]; SIDE];
        for (row, &y) in out.iter_mut().zip(decimation_indices(rows).iter()) {
            for (o, &x) in row.iter_mut().zip(decimation_indices(cols).iter()) {
                *o = a[y * cols + x];
            }
        }
        out
    }

    fn test_luma(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| luma_of((i * 7) as u8, (i * 13 + i / cols) as u8, (i / 3) as u8))
            .collect()
    }

    #[test]
    fn fast_filter_equals_plain_reference_filter_bit_for_bit() {
        for (rows, cols) in [
            (5, 5),
            (7, 300),
            (130, 9),
            (257, 129),
            (64, 64),
            (100, 1000),
        ] {
            let luma = test_luma(rows, cols);
            let mut h = PdqHasher::new();
            h.luma.clear();
            h.luma.extend_from_slice(&luma);
            // Re-run only the downsample through the public path and compare the DCT input by
            // recomputing the DCT from the plain downsample.
            let (dct, q) = h.dct_from_own_luma(rows, cols);
            let plain = plain_downsample(&luma, rows, cols);
            assert_eq!(dct, dct64_to_16(&plain), "{rows}x{cols}");
            assert_eq!(q, quality(&plain), "{rows}x{cols}");
        }
    }

    #[test]
    fn window_and_phases() {
        assert_eq!(window_size(5), 1);
        assert_eq!(window_size(128), 1);
        assert_eq!(window_size(129), 2);
        assert_eq!(window_size(1004), 8);
        for (len, w) in [(5, 1), (1004, 8), (1600, 13), (129, 2)] {
            let [p1, p2, p3, p4] = phases(len, w);
            assert_eq!(p2 + p3 + p4, len);
            assert_eq!(p1 + p2 + p3, len);
        }
    }

    #[test]
    fn median_is_the_128th_smallest() {
        let mut dct = [[0f32; 16]; 16];
        for (k, v) in dct.iter_mut().flatten().enumerate() {
            *v = ((k * 37) % 256) as f32;
        }
        let h = dct_to_bits(&dct);
        assert_eq!(h.0.iter().map(|b| b.count_ones()).sum::<u32>(), 128);
    }
}
