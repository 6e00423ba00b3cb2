//! Which stretches of footage two videos share, and where each lies in both.
//!
//! The vPDQ rule ([`vpdq_match`](crate::vpdq_match)) says whether two videos show the same
//! footage; an investigator also needs to know *which part*: the 40 seconds of a 10-minute
//! compilation that are the execution video, and where they start in each. Matching frames
//! (within the distance, both of sufficient quality) are paired; pairs with the same time offset
//! (target time − query time, within one sampling interval) that follow each other without a
//! long gap form a segment. Each query frame is counted in one segment at most: the longest
//! segments are kept first, so a static shot that matches everywhere does not multiply them.

use vigil_phash::PdqHash;

use crate::VpdqFrame;

/// A stretch of footage found in both videos.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MatchedSegment {
    /// Start in the query video, seconds (timestamp of its first matched frame).
    pub query_start: f64,
    /// End in the query video, seconds (timestamp of its last matched frame).
    pub query_end: f64,
    /// Start in the target video, seconds.
    pub target_start: f64,
    /// End in the target video, seconds.
    pub target_end: f64,
    /// Query frames in the segment that have a partner in the target.
    pub frames: usize,
    /// Mean Hamming distance of those frames to their partners.
    pub mean_distance: f64,
}

/// What counts as matched footage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentOptions {
    /// Largest Hamming distance between two frames that match (default 31).
    pub distance: u32,
    /// Frames below this PDQ quality are ignored (default 50).
    pub min_quality: u8,
    /// Longest stretch without a matched frame inside one segment, seconds (default 3).
    pub max_gap_secs: f64,
    /// Fewest matched query frames a segment needs (default 2).
    pub min_frames: usize,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            distance: vigil_phash::MATCH_DISTANCE,
            min_quality: vigil_phash::MIN_QUALITY,
            max_gap_secs: 3.0,
            min_frames: 2,
        }
    }
}

/// A pair of matching frames: indexes into the query and target lists, and their distance.
#[derive(Debug, Clone, Copy)]
struct Pair {
    q: usize,
    t: usize,
    offset: f64,
    distance: u32,
}

/// The median spacing of consecutive frame timestamps: the sampling interval.
fn interval(frames: &[VpdqFrame]) -> f64 {
    let mut gaps: Vec<f64> = frames
        .windows(2)
        .map(|w| w[1].timestamp - w[0].timestamp)
        .filter(|g| g.is_finite() && *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

/// The segments of `query` found in `target`, by query start time. Brute force over frame
/// pairs (a one-hour video at one frame a second is 13 million comparisons, a few
/// milliseconds); for one video against a whole collection use the `HashIndex` first to find
/// which targets to compare.
pub fn vpdq_segments(
    query: &[VpdqFrame],
    target: &[VpdqFrame],
    options: &SegmentOptions,
) -> Vec<MatchedSegment> {
    let good = |frames: &[VpdqFrame]| -> Vec<(usize, PdqHash, f64)> {
        frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.quality >= options.min_quality && f.timestamp.is_finite())
            .map(|(i, f)| (i, f.hash, f.timestamp))
            .collect()
    };
    let (qs, ts) = (good(query), good(target));
    let mut pairs = Vec::new();
    for &(qi, qh, qt) in &qs {
        for &(ti, th, tt) in &ts {
            let distance = qh.distance(&th);
            if distance <= options.distance {
                pairs.push(Pair {
                    q: qi,
                    t: ti,
                    offset: tt - qt,
                    distance,
                });
            }
        }
    }
    if pairs.is_empty() {
        return Vec::new();
    }
    let tolerance = interval(query).max(interval(target)) * 1.01;
    let max_gap = options.max_gap_secs.max(tolerance);

    // Group pairs by offset (single linkage: sorted offsets split where they jump by more than
    // one sampling interval), then split each group where the query time jumps too far.
    pairs.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    let mut candidates: Vec<Vec<Pair>> = Vec::new();
    let mut group: Vec<Pair> = Vec::new();
    let flush = |group: &mut Vec<Pair>, candidates: &mut Vec<Vec<Pair>>| {
        group.sort_by(|a, b| {
            query[a.q]
                .timestamp
                .total_cmp(&query[b.q].timestamp)
                .then(a.distance.cmp(&b.distance))
        });
        let mut run: Vec<Pair> = Vec::new();
        for p in group.drain(..) {
            if let Some(last) = run.last()
                && query[p.q].timestamp - query[last.q].timestamp > max_gap
            {
                candidates.push(std::mem::take(&mut run));
            }
            run.push(p);
        }
        if !run.is_empty() {
            candidates.push(run);
        }
    };
    for p in pairs {
        if let Some(last) = group.last()
            && p.offset - last.offset > tolerance
        {
            flush(&mut group, &mut candidates);
        }
        group.push(p);
    }
    flush(&mut group, &mut candidates);

    // Longest first; each query frame belongs to one segment.
    let distinct = |run: &[Pair]| {
        let mut q: Vec<usize> = run.iter().map(|p| p.q).collect();
        q.dedup();
        q.len()
    };
    candidates.sort_by(|a, b| {
        distinct(b)
            .cmp(&distinct(a))
            .then(query[a[0].q].timestamp.total_cmp(&query[b[0].q].timestamp))
    });
    let mut used = vec![false; query.len()];
    let mut segments = Vec::new();
    for run in candidates {
        // The best partner of each still unused query frame in this run.
        let mut best: Vec<Pair> = Vec::new();
        for p in run {
            if used[p.q] {
                continue;
            }
            match best.last_mut() {
                Some(b) if b.q == p.q => {
                    if p.distance < b.distance {
                        *b = p;
                    }
                }
                _ => best.push(p),
            }
        }
        if best.len() < options.min_frames.max(1) {
            continue;
        }
        for p in &best {
            used[p.q] = true;
        }
        let q_times = best.iter().map(|p| query[p.q].timestamp);
        let t_times = best.iter().map(|p| target[p.t].timestamp);
        let min = |it: &mut dyn Iterator<Item = f64>| it.fold(f64::INFINITY, f64::min);
        let max = |it: &mut dyn Iterator<Item = f64>| it.fold(f64::NEG_INFINITY, f64::max);
        segments.push(MatchedSegment {
            query_start: min(&mut q_times.clone()),
            query_end: max(&mut q_times.clone()),
            target_start: min(&mut t_times.clone()),
            target_end: max(&mut t_times.clone()),
            frames: best.len(),
            mean_distance: best.iter().map(|p| f64::from(p.distance)).sum::<f64>()
                / best.len() as f64,
        });
    }
    segments.sort_by(|a, b| a.query_start.total_cmp(&b.query_start));
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: u64) -> PdqHash {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut b = [0u8; 32];
        for byte in &mut b {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
        PdqHash(b)
    }

    fn video(hashes: &[PdqHash]) -> Vec<VpdqFrame> {
        hashes
            .iter()
            .enumerate()
            .map(|(i, h)| VpdqFrame {
                frame: 30 * i as u64,
                quality: 100,
                hash: *h,
                timestamp: i as f64,
            })
            .collect()
    }

    #[test]
    fn an_excerpt_is_found_at_its_place_in_both() {
        // A 60 s source; the target is 30 s of other footage, then seconds 10..=29 of the
        // source, then more other footage.
        let source: Vec<PdqHash> = (0..60).map(hash).collect();
        let mut target: Vec<PdqHash> = (1000..1030).map(hash).collect();
        target.extend_from_slice(&source[10..30]);
        target.extend((2000..2010).map(hash));
        let segments = vpdq_segments(&video(&source), &video(&target), &SegmentOptions::default());
        assert_eq!(segments.len(), 1, "{segments:?}");
        let s = &segments[0];
        assert_eq!((s.query_start, s.query_end), (10.0, 29.0));
        assert_eq!((s.target_start, s.target_end), (30.0, 49.0));
        assert_eq!(s.frames, 20);
        assert_eq!(s.mean_distance, 0.0);
    }

    #[test]
    fn two_excerpts_in_another_order_and_unrelated_footage() {
        let source: Vec<PdqHash> = (0..40).map(hash).collect();
        // Target: source 30..40, then source 0..10.
        let mut target: Vec<PdqHash> = source[30..40].to_vec();
        target.extend_from_slice(&source[0..10]);
        let segments = vpdq_segments(&video(&source), &video(&target), &SegmentOptions::default());
        let spans: Vec<_> = segments
            .iter()
            .map(|s| (s.query_start, s.query_end, s.target_start, s.target_end))
            .collect();
        assert_eq!(spans, vec![(0.0, 9.0, 10.0, 19.0), (30.0, 39.0, 0.0, 9.0)]);

        let other: Vec<PdqHash> = (500..540).map(hash).collect();
        assert!(
            vpdq_segments(&video(&source), &video(&other), &SegmentOptions::default()).is_empty()
        );
        assert!(vpdq_segments(&[], &video(&other), &SegmentOptions::default()).is_empty());
    }

    #[test]
    fn a_static_shot_is_one_segment_and_low_quality_is_ignored() {
        // Ten seconds of the same picture in both: every frame matches every frame.
        let still = vec![hash(1); 10];
        let segments = vpdq_segments(&video(&still), &video(&still), &SegmentOptions::default());
        let frames: usize = segments.iter().map(|s| s.frames).sum();
        assert_eq!(frames, 10, "{segments:?}");
        let mut dull = video(&still);
        for f in &mut dull {
            f.quality = 10;
        }
        assert!(vpdq_segments(&dull, &dull, &SegmentOptions::default()).is_empty());
    }
}
