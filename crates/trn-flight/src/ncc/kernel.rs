//! The correlation kernels: `out[y][x] = sum_ij t[i][j] * I[y + i][x + j]` for every
//! placement. One scalar kernel and SIMD twins that must agree with it (up to summation
//! order); the SIMD kernels vectorise across adjacent placements of a row and keep a block
//! of accumulators in registers while walking the template.

// The kernels take the geometry as plain sizes: a struct would only rename them.
#![allow(clippy::too_many_arguments)]

use super::ImageView;

/// Which correlation kernel a search runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kernel {
    /// Portable scalar code (the reference the SIMD kernels are tested against).
    Scalar,
    /// The fastest kernel this CPU supports: AVX2+FMA (detected at run time with the
    /// `std` feature, else when compiled in), SSE2 on other x86-64, NEON on aarch64,
    /// scalar elsewhere.
    #[default]
    Auto,
}

/// The name of the kernel [`Kernel::Auto`] runs on this CPU.
#[must_use]
pub fn active_kernel() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() { "avx2+fma" } else { "sse2" }
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    {
        "neon"
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )))]
    {
        "scalar"
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// Runs the chosen kernel. Preconditions (checked by the caller): `t.len() == tw * th`,
/// `ow == window.width - tw + 1`, `oh == window.height - th + 1`, `out.len() == ow * oh`.
pub(super) fn correlate(
    kernel: Kernel,
    t: &[f32],
    tw: usize,
    th: usize,
    window: &ImageView<'_>,
    out: &mut [f32],
    ow: usize,
    oh: usize,
) {
    let ok = t.len() == tw * th
        && window.width() + 1 == ow + tw
        && window.height() + 1 == oh + th
        && out.len() == ow * oh
        && window.data().len() >= (window.height() - 1) * window.stride() + window.width();
    if !ok {
        out.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    match kernel {
        Kernel::Scalar => scalar(t, tw, th, window, out, ow),
        Kernel::Auto => {
            #[cfg(target_arch = "x86_64")]
            {
                if has_avx2_fma() {
                    // Safety: the CPU supports AVX2 and FMA (checked just above) and the
                    // size preconditions were verified at the top of this function.
                    unsafe { x86::avx2(t, tw, th, window, out, ow, oh) };
                } else {
                    // Safety: SSE2 is part of the x86-64 baseline; sizes verified above.
                    unsafe { x86::sse2(t, tw, th, window, out, ow, oh) };
                }
            }
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            {
                // Safety: NEON is enabled for this target; sizes verified above.
                unsafe { neon::neon(t, tw, th, window, out, ow, oh) };
            }
            #[cfg(not(any(
                target_arch = "x86_64",
                all(target_arch = "aarch64", target_feature = "neon")
            )))]
            {
                scalar(t, tw, th, window, out, ow);
            }
        }
    }
}

/// Reference kernel: accumulate each template tap over a whole output row.
fn scalar(t: &[f32], tw: usize, th: usize, window: &ImageView<'_>, out: &mut [f32], ow: usize) {
    for (y, orow) in out.chunks_exact_mut(ow).enumerate() {
        orow.iter_mut().for_each(|v| *v = 0.0);
        for (i, trow) in t.chunks_exact(tw).enumerate().take(th) {
            let irow = window.row(y + i);
            for (j, &tv) in trow.iter().enumerate() {
                let Some(src) = irow.get(j..j + ow) else {
                    continue;
                };
                for (o, &s) in orow.iter_mut().zip(src) {
                    *o += tv * s;
                }
            }
        }
    }
}

/// Scalar tail for the placements `x0..ow` of output row `y` (used by the SIMD kernels).
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )),
    allow(dead_code)
)]
fn scalar_tail(
    t: &[f32],
    tw: usize,
    window: &ImageView<'_>,
    orow: &mut [f32],
    y: usize,
    x0: usize,
) {
    for (x, o) in orow.iter_mut().enumerate().skip(x0) {
        let mut acc = 0.0f32;
        for (i, trow) in t.chunks_exact(tw).enumerate() {
            if let Some(src) = window.row(y + i).get(x..x + tw) {
                acc += trow.iter().zip(src).map(|(a, b)| a * b).sum::<f32>();
            }
        }
        *o = acc;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{ImageView, scalar_tail};
    use core::arch::x86_64::*;

    /// AVX2+FMA kernel. Each block computes 2 output rows x 32 placements (8 registers of
    /// 8 lanes): per template tap one broadcast feeds eight independent FMA chains, so the
    /// loop runs near one FMA per load instead of one per two loads, and eight chains hide
    /// the FMA latency. Row and column remainders are handled by overlapping the last block
    /// (recomputing a few placements) rather than by a scalar tail.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2 and FMA, and the size preconditions of
    /// [`super::correlate`] must hold.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::indexing_slicing)] // k < R and v < V: loop bounds equal the array sizes.
    pub(super) unsafe fn avx2(
        t: &[f32],
        tw: usize,
        th: usize,
        window: &ImageView<'_>,
        out: &mut [f32],
        ow: usize,
        oh: usize,
    ) {
        if ow < 8 {
            for y in 0..oh {
                if let Some(rs) = out.get_mut(y * ow..(y + 1) * ow) {
                    scalar_tail(t, tw, window, rs, y, 0);
                }
            }
            return;
        }
        let base = window.data().as_ptr();
        let stride = window.stride();
        let tp = t.as_ptr();
        let op = out.as_mut_ptr();
        // Computes rows y0..y0+R and placements x0..x0+8V. Safety: callers keep
        // x0 + 8V <= ow and y0 + R <= oh, so every image read (row <= y0 + R - 1 + th - 1,
        // column <= x0 + 8V - 1 + tw - 1) is inside the window and every store inside `out`.
        macro_rules! block {
            ($y0:expr, $x0:expr, $r:literal, $v:literal) => {{
                let mut acc = [[_mm256_setzero_ps(); $v]; $r];
                for i in 0..th {
                    let trow = tp.add(i * tw);
                    let rows: [*const f32; $r] =
                        core::array::from_fn(|k| base.add(($y0 + k + i) * stride + $x0));
                    for j in 0..tw {
                        let tv = _mm256_set1_ps(*trow.add(j));
                        for k in 0..$r {
                            for v in 0..$v {
                                acc[k][v] = _mm256_fmadd_ps(
                                    tv,
                                    _mm256_loadu_ps(rows[k].add(j + 8 * v)),
                                    acc[k][v],
                                );
                            }
                        }
                    }
                }
                for k in 0..$r {
                    for v in 0..$v {
                        _mm256_storeu_ps(op.add(($y0 + k) * ow + $x0 + 8 * v), acc[k][v]);
                    }
                }
            }};
        }
        // A narrow block with few accumulators is bound by FMA latency, not throughput:
        // split the template taps into even and odd chains and add them at the end.
        macro_rules! narrow {
            ($y0:expr, $x0:expr, $r:literal, $v:literal) => {{
                let mut even = [[_mm256_setzero_ps(); $v]; $r];
                let mut odd = [[_mm256_setzero_ps(); $v]; $r];
                for i in 0..th {
                    let trow = tp.add(i * tw);
                    let rows: [*const f32; $r] =
                        core::array::from_fn(|k| base.add(($y0 + k + i) * stride + $x0));
                    let mut j = 0;
                    while j + 1 < tw {
                        let te = _mm256_set1_ps(*trow.add(j));
                        let to = _mm256_set1_ps(*trow.add(j + 1));
                        for k in 0..$r {
                            for v in 0..$v {
                                even[k][v] = _mm256_fmadd_ps(
                                    te,
                                    _mm256_loadu_ps(rows[k].add(j + 8 * v)),
                                    even[k][v],
                                );
                                odd[k][v] = _mm256_fmadd_ps(
                                    to,
                                    _mm256_loadu_ps(rows[k].add(j + 1 + 8 * v)),
                                    odd[k][v],
                                );
                            }
                        }
                        j += 2;
                    }
                    if j < tw {
                        let te = _mm256_set1_ps(*trow.add(j));
                        for k in 0..$r {
                            for v in 0..$v {
                                even[k][v] = _mm256_fmadd_ps(
                                    te,
                                    _mm256_loadu_ps(rows[k].add(j + 8 * v)),
                                    even[k][v],
                                );
                            }
                        }
                    }
                }
                for k in 0..$r {
                    for v in 0..$v {
                        _mm256_storeu_ps(
                            op.add(($y0 + k) * ow + $x0 + 8 * v),
                            _mm256_add_ps(even[k][v], odd[k][v]),
                        );
                    }
                }
            }};
        }
        // Safety: every block call below respects the bounds stated on the macro.
        unsafe {
            let mut y = 0;
            while y < oh {
                let two = y + 2 <= oh;
                // Wide blocks, then 8-wide blocks, then one 8-wide block overlapping the
                // previous one to finish the row without a scalar tail.
                let mut x = 0;
                while x + 32 <= ow {
                    if two {
                        block!(y, x, 2, 4)
                    } else {
                        block!(y, x, 1, 4)
                    }
                    x += 32;
                }
                // The rest: 16-wide blocks (8-wide for windows narrower than that), the last
                // one overlapping its neighbour instead of a scalar tail.
                let tail = if ow >= 16 { 16 } else { 8 };
                while x < ow {
                    let x0 = x.min(ow - tail);
                    match (two, tail) {
                        (true, 16) => narrow!(y, x0, 2, 2),
                        (false, 16) => narrow!(y, x0, 1, 2),
                        (true, _) => narrow!(y, x0, 2, 1),
                        (false, _) => narrow!(y, x0, 1, 1),
                    }
                    x = x0 + tail;
                }
                y += if two { 2 } else { 1 };
            }
        }
    }

    /// SSE2 kernel (x86-64 baseline): blocks of 16 placements (4 x 4 lanes), then 4, then
    /// the scalar tail.
    ///
    /// # Safety
    ///
    /// The size preconditions of [`super::correlate`] must hold.
    pub(super) unsafe fn sse2(
        t: &[f32],
        tw: usize,
        th: usize,
        window: &ImageView<'_>,
        out: &mut [f32],
        ow: usize,
        oh: usize,
    ) {
        let base = window.data().as_ptr();
        let stride = window.stride();
        let tp = t.as_ptr();
        for y in 0..oh {
            // Safety (all pointer arithmetic): as in `avx2`, with 16- and 4-wide blocks.
            unsafe {
                let orow = out.as_mut_ptr().add(y * ow);
                let mut x = 0;
                while x + 16 <= ow {
                    let (mut a0, mut a1, mut a2, mut a3) = (
                        _mm_setzero_ps(),
                        _mm_setzero_ps(),
                        _mm_setzero_ps(),
                        _mm_setzero_ps(),
                    );
                    for i in 0..th {
                        let row = base.add((y + i) * stride + x);
                        let trow = tp.add(i * tw);
                        for j in 0..tw {
                            let tv = _mm_set1_ps(*trow.add(j));
                            let p = row.add(j);
                            a0 = _mm_add_ps(a0, _mm_mul_ps(tv, _mm_loadu_ps(p)));
                            a1 = _mm_add_ps(a1, _mm_mul_ps(tv, _mm_loadu_ps(p.add(4))));
                            a2 = _mm_add_ps(a2, _mm_mul_ps(tv, _mm_loadu_ps(p.add(8))));
                            a3 = _mm_add_ps(a3, _mm_mul_ps(tv, _mm_loadu_ps(p.add(12))));
                        }
                    }
                    _mm_storeu_ps(orow.add(x), a0);
                    _mm_storeu_ps(orow.add(x + 4), a1);
                    _mm_storeu_ps(orow.add(x + 8), a2);
                    _mm_storeu_ps(orow.add(x + 12), a3);
                    x += 16;
                }
                while x + 4 <= ow {
                    let mut a0 = _mm_setzero_ps();
                    for i in 0..th {
                        let row = base.add((y + i) * stride + x);
                        let trow = tp.add(i * tw);
                        for j in 0..tw {
                            a0 = _mm_add_ps(
                                a0,
                                _mm_mul_ps(_mm_set1_ps(*trow.add(j)), _mm_loadu_ps(row.add(j))),
                            );
                        }
                    }
                    _mm_storeu_ps(orow.add(x), a0);
                    x += 4;
                }
                if x < ow {
                    let rs = core::slice::from_raw_parts_mut(orow, ow);
                    scalar_tail(t, tw, window, rs, y, x);
                }
            }
        }
    }
}

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod neon {
    use super::{ImageView, scalar_tail};
    use core::arch::aarch64::*;

    /// NEON kernel: blocks of 16 placements (4 x 4 lanes) with fused multiply-adds, then
    /// 4, then the scalar tail.
    ///
    /// # Safety
    ///
    /// The size preconditions of [`super::correlate`] must hold.
    pub(super) unsafe fn neon(
        t: &[f32],
        tw: usize,
        th: usize,
        window: &ImageView<'_>,
        out: &mut [f32],
        ow: usize,
        oh: usize,
    ) {
        let base = window.data().as_ptr();
        let stride = window.stride();
        let tp = t.as_ptr();
        for y in 0..oh {
            // Safety (all pointer arithmetic): placement x + 15 < ow keeps every read inside
            // the window, exactly as in the x86 kernels.
            unsafe {
                let orow = out.as_mut_ptr().add(y * ow);
                let mut x = 0;
                while x + 16 <= ow {
                    let (mut a0, mut a1, mut a2, mut a3) = (
                        vdupq_n_f32(0.0),
                        vdupq_n_f32(0.0),
                        vdupq_n_f32(0.0),
                        vdupq_n_f32(0.0),
                    );
                    for i in 0..th {
                        let row = base.add((y + i) * stride + x);
                        let trow = tp.add(i * tw);
                        for j in 0..tw {
                            let tv = vdupq_n_f32(*trow.add(j));
                            let p = row.add(j);
                            a0 = vfmaq_f32(a0, tv, vld1q_f32(p));
                            a1 = vfmaq_f32(a1, tv, vld1q_f32(p.add(4)));
                            a2 = vfmaq_f32(a2, tv, vld1q_f32(p.add(8)));
                            a3 = vfmaq_f32(a3, tv, vld1q_f32(p.add(12)));
                        }
                    }
                    vst1q_f32(orow.add(x), a0);
                    vst1q_f32(orow.add(x + 4), a1);
                    vst1q_f32(orow.add(x + 8), a2);
                    vst1q_f32(orow.add(x + 12), a3);
                    x += 16;
                }
                while x + 4 <= ow {
                    let mut a0 = vdupq_n_f32(0.0);
                    for i in 0..th {
                        let row = base.add((y + i) * stride + x);
                        let trow = tp.add(i * tw);
                        for j in 0..tw {
                            a0 = vfmaq_f32(a0, vdupq_n_f32(*trow.add(j)), vld1q_f32(row.add(j)));
                        }
                    }
                    vst1q_f32(orow.add(x), a0);
                    x += 4;
                }
                if x < ow {
                    let rs = core::slice::from_raw_parts_mut(orow, ow);
                    scalar_tail(t, tw, window, rs, y, x);
                }
            }
        }
    }
}
