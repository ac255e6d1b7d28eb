//! Image pyramids of descent frames, in caller memory.
//!
//! Level `k + 1` keeps the samples of level `k` at even columns and rows after a separable
//! binomial low-pass `[1 4 6 4 1] / 16` (Burt & Adelson's reduce); at the borders the taps
//! that fall inside are renormalised. Keeping even samples means pixel `(j, i)` of level `k`
//! is exactly pixel `(j 2^k, i 2^k)` of level 0, so level-0 coordinates scale without a
//! half-pixel shift.
//!
//! A reduction is exposed by bands of output rows ([`reduce_band`]) so that a
//! multi-threaded caller (trn's pyramids on rayon) runs the very arithmetic the flight build
//! runs in [`Pyramid::build`]: the same frame gives the same pyramid, bit for bit, on any
//! number of threads.
//!
//! ```
//! use trn_flight::pyramid::{Pyramid, buffer_len, scratch_len};
//! let (w, h) = (64, 48);
//! let frame: Vec<f32> = (0..w * h).map(|k| (k % 7) as f32).collect();
//! let mut buf = vec![0.0; buffer_len(w, h, 4)];
//! let mut tmp = vec![0.0; scratch_len(w, h)];
//! let p = Pyramid::build(&frame, w, h, 4, &mut buf, &mut tmp).unwrap();
//! assert_eq!(p.len(), 4);
//! assert_eq!((p.level(3).unwrap().width(), p.level(3).unwrap().height()), (8, 6));
//! ```

use crate::view::ImageView;
use core::fmt;

/// Most levels a [`Pyramid`] holds.
pub const MAX_LEVELS: usize = 10;

const K: [f32; 5] = [1.0, 4.0, 6.0, 4.0, 1.0];

/// Why a pyramid could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PyramidError {
    /// A zero size, or `frame` shorter than `width * height`.
    BadFrame,
    /// More than [`MAX_LEVELS`] levels, or none.
    Levels,
    /// The level buffer is shorter than [`buffer_len`].
    BufferTooSmall,
    /// The scratch buffer is shorter than [`scratch_len`].
    ScratchTooSmall,
}

impl fmt::Display for PyramidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadFrame => "frame size is zero or the pixel slice is too short",
            Self::Levels => "pyramid level count must be within 1..=MAX_LEVELS",
            Self::BufferTooSmall => "pyramid buffer shorter than buffer_len()",
            Self::ScratchTooSmall => "pyramid scratch shorter than scratch_len()",
        })
    }
}

impl core::error::Error for PyramidError {}

/// The size of the level above a `width x height` one.
#[must_use]
pub const fn reduced_size(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// Samples levels `1..levels` of a `width x height` frame need together.
#[must_use]
pub fn buffer_len(width: usize, height: usize, levels: usize) -> usize {
    let (mut w, mut h, mut n) = (width, height, 0usize);
    for _ in 1..levels {
        (w, h) = reduced_size(w, h);
        n = n.saturating_add(w.saturating_mul(h));
    }
    n
}

/// Scratch samples [`Pyramid::build`] needs: the horizontal passes of the five input rows
/// one output row is filtered from ([`band_scratch_len`] of the frame's width).
#[must_use]
pub fn scratch_len(width: usize, _height: usize) -> usize {
    band_scratch_len(width)
}

/// Scratch samples [`reduce_band`] needs for a level `width` samples wide.
#[must_use]
pub const fn band_scratch_len(width: usize) -> usize {
    width.div_ceil(2).saturating_mul(5)
}

/// Horizontal pass of a reduction for one row: `out[j]` is the binomial mean of `row`
/// around column `2 j` (`out` holds `ceil(row.len() / 2)` samples; extra ones are left).
pub fn reduce_row(row: &[f32], out: &mut [f32]) {
    // Interior outputs per block: its inputs split into even and odd columns on the stack,
    // the filter is then five contiguous streams, which the compiler vectorises (the taps
    // at stride two, read in place, it does not).
    const BLOCK: usize = 64;
    let w = row.len();
    let n = w.div_ceil(2).min(out.len());
    // Interior samples j = 1..=(w - 3) / 2: column 2 j has two neighbours on each side.
    let interior = if w >= 5 { (w - 3) / 2 } else { 0 };
    let mut j = 1usize;
    while j + BLOCK <= interior + 1 {
        // Inputs 2 j - 2 ..= 2 (j + BLOCK - 1) + 2.
        let (Some(src), Some(dst)) = (
            row.get(2 * j - 2..2 * j + 2 * BLOCK + 1),
            out.get_mut(j..j + BLOCK),
        ) else {
            break;
        };
        let mut even = [0.0f32; BLOCK + 2];
        let mut odd = [0.0f32; BLOCK + 1];
        for ((e, o), p) in even.iter_mut().zip(odd.iter_mut()).zip(src.chunks_exact(2)) {
            if let &[x, y] = p {
                (*e, *o) = (x, y);
            }
        }
        if let (Some(last), Some(&x)) = (even.last_mut(), src.last()) {
            *last = x;
        }
        let taps = even
            .iter()
            .zip(&even[1..])
            .zip(&even[2..])
            .zip(odd.iter().zip(&odd[1..]));
        for (o, (((a, m), e), (b, d))) in dst.iter_mut().zip(taps) {
            *o = (a + e + 4.0 * (b + d) + 6.0 * m) * (1.0 / 16.0);
        }
        j += BLOCK;
    }
    // The rest of the interior: pairs (row[2 k], row[2 k + 1]) for k = j - 1 and j, and
    // row[2 j + 2], so that no tap needs a bounds check of its own.
    let (pairs, _) = row.as_chunks::<2>();
    let taps = pairs
        .iter()
        .skip(j - 1)
        .zip(pairs.iter().skip(j))
        .zip(row.iter().skip(2 * j + 2).step_by(2));
    for (o, ((&[a, b], &[m, d]), &e)) in out.iter_mut().skip(j).zip(taps) {
        *o = (a + e + 4.0 * (b + d) + 6.0 * m) * (1.0 / 16.0);
    }
    let border_from = (1 + interior).min(n);
    // The borders: taps off the row left out and the rest renormalised.
    let borders = (n > 0)
        .then_some(0)
        .into_iter()
        .chain(border_from.max(1)..n);
    for j in borders {
        let Some(o) = out.get_mut(j) else {
            break;
        };
        let c = 2 * j;
        let (mut s, mut ww) = (0.0f32, 0.0f32);
        for (t, k) in K.iter().enumerate() {
            if let Some(v) = (c + t).checked_sub(2).and_then(|cc| row.get(cc)) {
                s += k * v;
                ww += k;
            }
        }
        *o = s / ww;
    }
}

/// Vertical pass of one output row from the horizontal passes of its five input rows
/// (`None` for rows off the image, whose taps are left out and the rest renormalised).
fn reduce_column_taps(taps: [Option<&[f32]>; 5], out: &mut [f32]) {
    if let [Some(a), Some(b), Some(c), Some(d), Some(e)] = taps {
        let taps = a.iter().zip(b).zip(c).zip(d).zip(e);
        for (o, ((((a, b), c), d), e)) in out.iter_mut().zip(taps) {
            *o = (a + e + 4.0 * (b + d) + 6.0 * c) * (1.0 / 16.0);
        }
        return;
    }
    for (j, o) in out.iter_mut().enumerate() {
        let (mut s, mut ww) = (0.0f32, 0.0f32);
        for (tap, k) in taps.iter().zip(K) {
            if let Some(v) = tap.and_then(|row| row.get(j)) {
                s += k * v;
                ww += k;
            }
        }
        *o = s / ww;
    }
}

/// Output rows `first..` of the reduction of `src` into `out` (whole rows of
/// `ceil(src.width / 2)` samples, as many as it holds and the level has), with `ring` (at
/// least [`band_scratch_len`]) holding the horizontal passes of the five input rows the
/// current output row needs. Each input row's horizontal pass is made once per band and
/// used while it is still in cache, instead of a whole level's passes written out and read
/// back; bands may run on separate threads, and any split gives the same samples, bit for
/// bit, as one band over the whole level. A short `ring` leaves `out` untouched.
pub fn reduce_band(src: &ImageView<'_>, first: usize, out: &mut [f32], ring: &mut [f32]) {
    let (w, h) = (src.width(), src.height());
    let w2 = w.div_ceil(2);
    let Some(ring) = ring.get_mut(..band_scratch_len(w)) else {
        return;
    };
    if w2 == 0 {
        return;
    }
    // The input row held in each of the ring's five slots.
    let mut held = [usize::MAX; 5];
    for (k, o) in out.chunks_exact_mut(w2).enumerate() {
        let r = 2 * (first + k);
        if r >= h {
            break;
        }
        for rr in r.saturating_sub(2)..(r + 3).min(h) {
            let slot = rr % 5;
            if held.get(slot) != Some(&rr) {
                if let (Some(row), Some(dst)) = (
                    Some(src.row(rr)).filter(|r| r.len() == w),
                    ring.get_mut(slot * w2..(slot + 1) * w2),
                ) {
                    reduce_row(row, dst);
                }
                if let Some(hd) = held.get_mut(slot) {
                    *hd = rr;
                }
            }
        }
        let ring = &*ring;
        let taps: [Option<&[f32]>; 5] = core::array::from_fn(|t| {
            (r + t)
                .checked_sub(2)
                .filter(|rr| *rr < h)
                .and_then(|rr| ring.get((rr % 5) * w2..(rr % 5 + 1) * w2))
        });
        reduce_column_taps(taps, o);
    }
}

/// Level 0 of a pyramid of `levels` levels of a `width x height` `frame`, checked.
fn base_level(
    frame: &[f32],
    width: usize,
    height: usize,
    levels: usize,
) -> Result<ImageView<'_>, PyramidError> {
    if width == 0 || height == 0 || frame.len() < width.saturating_mul(height) {
        return Err(PyramidError::BadFrame);
    }
    if levels == 0 || levels > MAX_LEVELS {
        return Err(PyramidError::Levels);
    }
    let data = frame.get(..width * height).ok_or(PyramidError::BadFrame)?;
    ImageView::packed(data, width, height).map_err(|_| PyramidError::BadFrame)
}

/// Level 0 of a pyramid of `levels` levels of `frame`, checked with the length of the
/// buffer its levels `1..` go into.
fn checked_base(
    frame: &[f32],
    width: usize,
    height: usize,
    levels: usize,
    buf_len: usize,
) -> Result<ImageView<'_>, PyramidError> {
    let base = base_level(frame, width, height, levels)?;
    if buf_len < buffer_len(width, height, levels) {
        return Err(PyramidError::BufferTooSmall);
    }
    Ok(base)
}

/// Levels `1..levels` of a `width x height` `frame` into `buf`, in [`Pyramid::build`]'s
/// layout (level `k` after levels `1..k`), each passed to `reduce(source level, its
/// destination samples)` in order: the one level walk of every pyramid builder, whatever
/// runs the reduction (one band here, bands on threads in trn).
///
/// # Errors
///
/// [`PyramidError`] for a bad size or level count, or a `buf` shorter than [`buffer_len`];
/// nothing is built.
pub fn build_levels(
    frame: &[f32],
    width: usize,
    height: usize,
    levels: usize,
    buf: &mut [f32],
    mut reduce: impl FnMut(&ImageView<'_>, &mut [f32]),
) -> Result<(), PyramidError> {
    let base = checked_base(frame, width, height, levels, buf.len())?;
    // Level k (k >= 1) starts in `buf` after levels 1..k; each is reduced from the one
    // before (the frame for level 1).
    let (mut w, mut h) = (width, height);
    let mut start = 0usize;
    let mut src_start = None;
    for _ in 1..levels {
        let (w2, h2) = reduced_size(w, h);
        let (done, rest) = buf
            .split_at_mut_checked(start)
            .ok_or(PyramidError::BufferTooSmall)?;
        let dst = rest
            .get_mut(..w2 * h2)
            .ok_or(PyramidError::BufferTooSmall)?;
        let src = match src_start {
            None => base,
            Some(s) => done
                .get(s..)
                .and_then(|d| ImageView::packed(d, w, h).ok())
                .ok_or(PyramidError::BufferTooSmall)?,
        };
        reduce(&src, dst);
        src_start = Some(start);
        start += w2 * h2;
        (w, h) = (w2, h2);
    }
    Ok(())
}

/// A frame and its reductions, level 0 first; views into caller memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pyramid<'a> {
    levels: [ImageView<'a>; MAX_LEVELS],
    count: usize,
}

impl<'a> Pyramid<'a> {
    /// Builds `levels` levels of a `width x height` row-major `frame`: levels `1..` go into
    /// `buf` (at least [`buffer_len`] samples), `tmp` is scratch (at least
    /// [`scratch_len`]). Single-threaded; the same arithmetic as any caller of
    /// [`reduce_band`].
    ///
    /// # Errors
    ///
    /// [`PyramidError`] for a bad size, level count or short buffer; nothing is built.
    pub fn build(
        frame: &'a [f32],
        width: usize,
        height: usize,
        levels: usize,
        buf: &'a mut [f32],
        tmp: &mut [f32],
    ) -> Result<Self, PyramidError> {
        checked_base(frame, width, height, levels, buf.len())?;
        if tmp.len() < scratch_len(width, height) {
            return Err(PyramidError::ScratchTooSmall);
        }
        build_levels(frame, width, height, levels, buf, |src, dst| {
            reduce_band(src, 0, dst, tmp);
        })?;
        Self::view_built(frame, width, height, levels, buf)
    }

    /// The pyramid [`Pyramid::build`] wrote into `buf` for `frame`, viewed again without
    /// recomputing it: a caller that keeps the previous frame's buffers (for
    /// [`crate::track`]) sees that frame's pyramid from them.
    ///
    /// # Errors
    ///
    /// As [`Pyramid::build`] for the sizes, level count and buffer length.
    pub fn view_built(
        frame: &'a [f32],
        width: usize,
        height: usize,
        levels: usize,
        buf: &'a [f32],
    ) -> Result<Self, PyramidError> {
        let base = base_level(frame, width, height, levels)?;
        let mut p = Self::default();
        let mut prev = base;
        if let Some(first) = p.levels.first_mut() {
            *first = prev;
        }
        let mut rest = buf;
        for slot in p.levels.iter_mut().take(levels).skip(1) {
            let (w2, h2) = reduced_size(prev.width(), prev.height());
            let (dst, r) = rest
                .split_at_checked(w2 * h2)
                .ok_or(PyramidError::BufferTooSmall)?;
            rest = r;
            prev = ImageView::packed(dst, w2, h2).map_err(|_| PyramidError::BufferTooSmall)?;
            *slot = prev;
        }
        p.count = levels;
        Ok(p)
    }

    /// Levels held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there is no level (a default value).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Level `k`.
    #[must_use]
    pub fn level(&self, k: usize) -> Option<&ImageView<'a>> {
        self.levels.get(..self.count).and_then(|l| l.get(k))
    }

    /// Bilinear sample of level `k` at level-0 pixel coordinates `(u, v)`.
    #[must_use]
    #[inline]
    pub fn sample(&self, k: usize, u: f64, v: f64) -> Option<f32> {
        let s = f64::from(1u32 << k.min(31));
        self.level(k)?.bilinear(u / s, v / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    fn direct(src: &[f32], w: usize, h: usize) -> Vec<f32> {
        // The definition: renormalised separable binomial at even nodes, in f64.
        let (w2, h2) = reduced_size(w, h);
        let k = [1.0f64, 4.0, 6.0, 4.0, 1.0];
        let mut out = vec![0.0f32; w2 * h2];
        for i in 0..h2 {
            for j in 0..w2 {
                let mut hs = vec![];
                for t in 0..5 {
                    let r = (2 * i + t) as isize - 2;
                    if r < 0 || r >= h as isize {
                        continue;
                    }
                    let (mut s, mut ww) = (0.0, 0.0);
                    for u in 0..5 {
                        let c = (2 * j + u) as isize - 2;
                        if c >= 0 && c < w as isize {
                            s += k[u] * f64::from(src[r as usize * w + c as usize]);
                            ww += k[u];
                        }
                    }
                    hs.push((k[t], s / ww));
                }
                let tot: f64 = hs.iter().map(|x| x.0).sum();
                out[i * w2 + j] = (hs.iter().map(|x| x.0 * x.1).sum::<f64>() / tot) as f32;
            }
        }
        out
    }

    /// Test frames: odd and even sizes, single pixels, rows wider than a row-pass block.
    const SIZES: [(usize, usize); 8] = [
        (37, 23),
        (64, 64),
        (5, 9),
        (1, 1),
        (2, 7),
        (11, 40),
        (300, 17),
        (261, 5),
    ];

    /// A `w x h` frame of scrambled values.
    fn scrambled(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|k: usize| ((k.wrapping_mul(2_654_435_761) >> 7) % 251) as f32)
            .collect()
    }

    #[test]
    fn levels_match_the_definition() {
        for (w, h) in SIZES {
            let frame = scrambled(w, h);
            let mut buf = vec![0.0; buffer_len(w, h, 4)];
            let mut tmp = vec![0.0; scratch_len(w, h)];
            let p = Pyramid::build(&frame, w, h, 4, &mut buf, &mut tmp).unwrap();
            let mut prev: Vec<f32> = frame.clone();
            let (mut pw, mut ph) = (w, h);
            for k in 1..4 {
                let want = direct(&prev, pw, ph);
                let got = p.level(k).unwrap();
                assert_eq!((got.width(), got.height()), reduced_size(pw, ph));
                for (a, b) in got.data().iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                        "{w}x{h} level {k}"
                    );
                }
                prev = got.data().to_vec();
                (pw, ph) = (got.width(), got.height());
            }
        }
    }

    /// A built pyramid viewed again from its buffer is the same pyramid; a short buffer or
    /// a bad size is refused.
    #[test]
    fn view_built_sees_what_build_wrote() {
        for (w, h) in SIZES {
            let frame = scrambled(w, h);
            let mut buf = vec![0.0; buffer_len(w, h, 4)];
            let mut tmp = vec![0.0; scratch_len(w, h)];
            let built: Vec<(usize, usize, Vec<f32>)> = {
                let p = Pyramid::build(&frame, w, h, 4, &mut buf, &mut tmp).unwrap();
                (0..4)
                    .map(|k| {
                        let l = p.level(k).unwrap();
                        (l.width(), l.height(), l.data().to_vec())
                    })
                    .collect()
            };
            let v = Pyramid::view_built(&frame, w, h, 4, &buf).unwrap();
            assert_eq!(v.len(), 4);
            for (k, (bw, bh, data)) in built.iter().enumerate() {
                let l = v.level(k).unwrap();
                assert_eq!((l.width(), l.height()), (*bw, *bh), "{w}x{h} level {k}");
                assert_eq!(l.data(), &data[..], "{w}x{h} level {k}");
            }
            if buffer_len(w, h, 4) > 0 {
                let short = &buf[..buf.len() - 1];
                assert_eq!(
                    Pyramid::view_built(&frame, w, h, 4, short).unwrap_err(),
                    PyramidError::BufferTooSmall
                );
            }
            assert_eq!(
                Pyramid::view_built(&frame[..w * h - 1], w, h, 4, &buf).unwrap_err(),
                PyramidError::BadFrame
            );
        }
    }

    /// The blocked row pass gives, bit for bit, the filter written tap by tap, at every
    /// width (blocks, the rest of the interior and the borders).
    #[test]
    fn row_pass_equals_the_tap_by_tap_filter() {
        for w in 0..300usize {
            let row: Vec<f32> = (0..w)
                .map(|k| ((k.wrapping_mul(2_654_435_761) >> 5) % 1009) as f32 * 0.37)
                .collect();
            let mut got = vec![f32::NAN; w.div_ceil(2) + 3];
            reduce_row(&row, &mut got);
            for (j, g) in got.iter().enumerate() {
                if j >= w.div_ceil(2) {
                    assert!(g.is_nan(), "width {w}: extra sample {j} written");
                    continue;
                }
                let c = 2 * j;
                let want = match c.checked_sub(2).and_then(|s| row.get(s..s + 5)) {
                    Some(&[a, b, m, d, e]) => (a + e + 4.0 * (b + d) + 6.0 * m) * (1.0 / 16.0),
                    _ => {
                        let (mut s, mut ww) = (0.0f32, 0.0f32);
                        for (t, k) in K.iter().enumerate() {
                            if let Some(v) = (c + t).checked_sub(2).and_then(|cc| row.get(cc)) {
                                s += k * v;
                                ww += k;
                            }
                        }
                        s / ww
                    }
                };
                assert_eq!(g.to_bits(), want.to_bits(), "width {w}, sample {j}");
            }
        }
    }

    /// Bands of any height, started anywhere, give the samples of one band over the whole
    /// level bit for bit (what lets trn split a level across threads); a short
    /// ring writes nothing.
    #[test]
    fn bands_split_anywhere_equal_one_band() {
        for (w, h) in SIZES {
            let frame = scrambled(w, h);
            let src = ImageView::packed(&frame, w, h).unwrap();
            let (w2, h2) = reduced_size(w, h);
            let mut ring = vec![0.0; band_scratch_len(w)];
            let mut whole = vec![f32::NAN; w2 * h2];
            reduce_band(&src, 0, &mut whole, &mut ring);
            assert!(
                whole.iter().all(|v| v.is_finite()),
                "{w}x{h}: row left unwritten"
            );
            for rows in [1usize, 2, 3, 7] {
                let mut split = vec![f32::NAN; w2 * h2];
                for (b, band) in split.chunks_mut(rows * w2).enumerate() {
                    // A ring holding another band's rows must not leak into this one.
                    ring.fill(1e9);
                    reduce_band(&src, b * rows, band, &mut ring);
                }
                assert!(
                    split
                        .iter()
                        .zip(&whole)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{w}x{h} in bands of {rows}"
                );
            }
            let mut untouched = vec![-1.0; w2 * h2];
            reduce_band(&src, 0, &mut untouched, &mut [0.0; 4]);
            assert!(untouched.iter().all(|v| *v == -1.0));
        }
    }

    #[test]
    fn refuses_short_buffers() {
        let frame = [1.0f32; 64];
        let mut tmp = [0.0; 32];
        let mut small = [0.0; 10];
        assert_eq!(
            Pyramid::build(&frame, 8, 8, 3, &mut small, &mut tmp).err(),
            Some(PyramidError::BufferTooSmall)
        );
        let mut buf = [0.0; 40];
        assert_eq!(
            Pyramid::build(&frame, 8, 8, 3, &mut buf, &mut [0.0; 3]).err(),
            Some(PyramidError::ScratchTooSmall)
        );
        assert_eq!(
            Pyramid::build(&frame, 8, 8, 0, &mut buf, &mut tmp).err(),
            Some(PyramidError::Levels)
        );
        assert_eq!(
            Pyramid::build(&frame, 9, 8, 2, &mut buf, &mut tmp).err(),
            Some(PyramidError::BadFrame)
        );
    }

    #[test]
    fn bilinear_edges() {
        use crate::interp::bilinear;
        let d = [0.0f32, 1.0, 2.0, 3.0];
        assert_eq!(bilinear(&d, 2, 2, 2, 0.5, 0.5), Some(1.5));
        assert_eq!(bilinear(&d, 2, 2, 2, 1.0, 1.0), Some(3.0));
        assert_eq!(bilinear(&d, 2, 2, 2, 1.5, 0.0), None);
        assert_eq!(bilinear(&d, 2, 2, 2, -0.1, 0.0), None);
        assert_eq!(bilinear(&d, 2, 2, 2, 1e20, 0.5), None);
        assert_eq!(bilinear(&d, 2, 2, 2, 0.5, f64::INFINITY), None);
    }
}
