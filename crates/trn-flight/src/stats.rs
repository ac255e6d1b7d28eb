//! Chi-square gates from a table, not magic thresholds; normal and Student-t quantiles
//! for error bounds; and the one rule for order statistics of a sample
//! ([`sample_quantile`]) that every crate of trn uses.

use crate::math;

/// Confidence level of a chi-square gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confidence {
    /// 95 %.
    P95,
    /// 99 %.
    P99,
    /// 99.9 %.
    P999,
    /// 99.99 %.
    P9999,
}

// Upper quantiles of the chi-square distribution, rows by degrees of freedom 1..=6.
const TABLE: [[f64; 4]; 6] = [
    [3.841_459, 6.634_897, 10.827_566, 15.136_705],
    [5.991_465, 9.210_340, 13.815_511, 18.420_681],
    [7.814_728, 11.344_867, 16.266_236, 21.107_480],
    [9.487_729, 13.276_704, 18.466_827, 23.512_834],
    [11.070_498, 15.086_272, 20.515_006, 25.744_686],
    [12.591_587, 16.811_894, 22.457_744, 27.855_669],
];

/// The chi-square quantile for `dof` degrees of freedom (1..=6) at `confidence`; `None`
/// outside the table.
#[must_use]
pub fn chi2_quantile(dof: usize, confidence: Confidence) -> Option<f64> {
    let col = match confidence {
        Confidence::P95 => 0,
        Confidence::P99 => 1,
        Confidence::P999 => 2,
        Confidence::P9999 => 3,
    };
    TABLE.get(dof.checked_sub(1)?)?.get(col).copied()
}

/// The upper quantile `z` of the standard normal distribution with `P(Z > z) = p`, for
/// `0 < p < 1` (Acklam's rational approximation, relative error below 1.2e-9); NaN outside.
#[must_use]
pub fn normal_upper_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    // The lower quantile of q = 1 - p is the upper quantile of p; the tails use the same
    // series by symmetry.
    let q = 1.0 - p;
    let tail = |t: f64| {
        let r = math::sqrt(-2.0 * math::ln(t));
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if q < 0.024_25 {
        tail(q)
    } else if q > 1.0 - 0.024_25 {
        -tail(p)
    } else {
        let u = q - 0.5;
        let r = u * u;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * u
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The upper quantile `t` of Student's t distribution with `dof` degrees of freedom,
/// `P(T > t) = p`, for `0 < p < 0.5` and `dof >= 1` (Hill's algorithm 396, relative error
/// below 1e-3 from one degree of freedom up); NaN outside.
///
/// It bounds an error measured in a standard deviation that was itself estimated from
/// `dof` residuals: with few residuals the normal quantile is too optimistic.
#[must_use]
pub fn student_t_upper_quantile(dof: f64, p: f64) -> f64 {
    if !(p > 0.0 && p < 0.5 && dof >= 1.0 && dof.is_finite()) {
        return f64::NAN;
    }
    let n = dof;
    // Hill's algorithm takes the two-tailed probability.
    let pp = 2.0 * p;
    if (n - 2.0).abs() < 1e-12 {
        return math::sqrt(2.0 / (pp * (2.0 - pp)) - 2.0);
    }
    if (n - 1.0).abs() < 1e-12 {
        let h = pp * core::f64::consts::FRAC_PI_2;
        return math::cos(h) / math::sin(h);
    }
    let a = 1.0 / (n - 0.5);
    let b = 48.0 / (a * a);
    let mut c = ((20_700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
    let d = ((94.5 / (b + c) - 3.0) / b + 1.0) * math::sqrt(a * core::f64::consts::FRAC_PI_2) * n;
    let x = d * pp;
    let mut y = math::exp(2.0 / n * math::ln(x));
    if y > 0.05 + a {
        let x = normal_upper_quantile(p);
        y = x * x;
        if n < 5.0 {
            c += 0.3 * (n - 4.5) * (x + 0.6);
        }
        c += (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b;
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
        y = a * y * y;
        y = if y > 0.002 {
            math::exp(y) - 1.0
        } else {
            0.5 * y * y + y
        };
    } else {
        y = ((1.0 / (((n + 6.0) / (n * y) - 0.089 * d - 0.822) * (n + 2.0) * 3.0)
            + 0.5 / (n + 4.0))
            * y
            - 1.0)
            * (n + 1.0)
            / (n + 2.0)
            + 1.0 / y;
    }
    math::sqrt(n * y)
}

/// The index of the `p` quantile (0 <= `p` <= 1) in a sorted sample of `n`: the nearest
/// rank, `round((n - 1) p)` (so the median of an even count is the upper middle value, and
/// `p = 1` the maximum). 0 for an empty sample.
#[must_use]
pub fn quantile_index(n: usize, p: f64) -> usize {
    let k = math::round((n.max(1) - 1) as f64 * p.clamp(0.0, 1.0));
    (k as usize).min(n.saturating_sub(1))
}

/// A sample value that orders totally (NaN last), for [`sample_quantile`].
pub trait Sample: Copy {
    /// Total order (IEEE 754 `totalOrder`).
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering;
}

impl Sample for f64 {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        f64::total_cmp(self, other)
    }
}

impl Sample for f32 {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        f32::total_cmp(self, other)
    }
}

/// The `k`-th smallest value of `v` (0-based) by selection, reordering `v`; `None` when
/// `k` is out of range.
#[must_use]
pub fn kth_smallest<T: Sample>(v: &mut [T], k: usize) -> Option<T> {
    if k >= v.len() {
        return None;
    }
    let (_, x, _) = v.select_nth_unstable_by(k, T::total_cmp);
    Some(*x)
}

/// The `p` quantile of the sample `v` by [`quantile_index`], found by selection (linear
/// time; reorders `v`); `None` for an empty sample.
///
/// ```
/// use trn_flight::stats::sample_quantile;
/// let mut v = [4.0, 1.0, 3.0, 2.0];
/// assert_eq!(sample_quantile(&mut v, 0.5), Some(3.0));
/// assert_eq!(sample_quantile(&mut v, 1.0), Some(4.0));
/// assert_eq!(sample_quantile(&mut [] as &mut [f64], 0.5), None);
/// ```
#[must_use]
pub fn sample_quantile<T: Sample>(v: &mut [T], p: f64) -> Option<T> {
    kth_smallest(v, quantile_index(v.len(), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from SciPy 1.x (`norm.isf`, `t.isf`), an independent implementation.
    #[test]
    fn quantiles_match_scipy() {
        let normal = [
            (0.05, 1.644_853_626_951_472_9),
            (0.025, 1.959_963_984_540_054_5),
            (1e-3, 3.090_232_306_167_813),
            (1.0 / 6000.0, 3.587_914_672_287_933),
            (1e-6, 4.753_424_308_822_899),
            (0.975, -1.959_963_984_540_054_5),
        ];
        for (p, z) in normal {
            let got = normal_upper_quantile(p);
            assert!(
                (got - z).abs() < 1e-8 * z.abs().max(1.0),
                "z({p}) = {got}, not {z}"
            );
        }
        let t = [
            (1.0, 0.025, 12.706_204_736_174_705),
            (1.0, 1.0 / 6000.0, 1_909.859_142_569_816),
            (2.0, 0.025, 4.302_652_729_749_464),
            (2.0, 1.0 / 6000.0, 54.758_561_735_560_82),
            (3.0, 0.025, 3.182_446_305_283_708_6),
            (3.0, 1.0 / 6000.0, 18.708_877_619_099_166),
            (4.0, 0.025, 2.776_445_105_197_794_3),
            (4.0, 1.0 / 6000.0, 11.438_401_252_225_823),
            (6.0, 0.025, 2.446_911_851_144_979_4),
            (6.0, 1.0 / 6000.0, 7.314_439_979_997_458),
            (14.0, 0.025, 2.144_786_687_917_804),
            (14.0, 1.0 / 6000.0, 4.712_322_973_861_249),
            (24.0, 0.025, 2.063_898_561_628_026),
            (24.0, 1.0 / 6000.0, 4.180_825_776_769_22),
            (100.0, 0.025, 1.983_971_518_523_552),
            (100.0, 1.0 / 6000.0, 3.716_324_200_552_845),
            (1000.0, 0.025, 1.962_339_080_826_408_5),
            (1000.0, 1.0 / 6000.0, 3.600_397_444_554_651_4),
        ];
        for (n, p, want) in t {
            let got = student_t_upper_quantile(n, p);
            assert!(
                (got - want).abs() < 1e-3 * want,
                "t({n}, {p}) = {got}, not {want}"
            );
        }
        assert!(student_t_upper_quantile(0.5, 0.01).is_nan());
        assert!(student_t_upper_quantile(10.0, 0.6).is_nan());
        assert!(normal_upper_quantile(0.0).is_nan());
    }

    #[test]
    fn one_dof_quantile_is_a_squared_normal_quantile() {
        // P(|N(0,1)| < 3.2905) = 0.999, so the 1-dof 99.9 % quantile is 3.2905^2.
        let q = chi2_quantile(1, Confidence::P999).unwrap();
        assert!((q - 3.290_527_f64 * 3.290_527).abs() < 1e-4);
        assert!(chi2_quantile(0, Confidence::P95).is_none());
        assert!(chi2_quantile(7, Confidence::P95).is_none());
    }

    /// The nearest-rank rule against a sort, for every size up to 40 and the quantiles
    /// summaries use; the median index equals `n / 2`.
    #[test]
    fn sample_quantile_is_the_sorted_nearest_rank() {
        let mut rng = crate::rng::Pcg32::new(7, 1);
        for n in 1..40usize {
            let v: alloc_free::Buf = alloc_free::Buf::random(&mut rng, n);
            let mut sorted = v.clone();
            sorted.sort();
            for p in [0.0, 0.5, 0.95, 0.99, 0.995, 1.0] {
                let want = sorted.get(libm::round((n - 1) as f64 * p) as usize);
                let mut w = v.clone();
                assert_eq!(sample_quantile(w.as_mut(), p), want.copied(), "n {n} p {p}");
            }
            assert_eq!(quantile_index(n, 0.5), n / 2);
        }
    }

    mod alloc_free {
        /// A fixed buffer of up to 40 samples (the crate has no allocator in tests either).
        #[derive(Clone)]
        pub struct Buf([f64; 40], usize);
        impl Buf {
            pub fn random(rng: &mut crate::rng::Pcg32, n: usize) -> Self {
                let mut b = [0.0; 40];
                for x in b.iter_mut().take(n) {
                    *x = f64::from(rng.next_u32() % 17);
                }
                Self(b, n)
            }
            pub fn sort(&mut self) {
                self.0[..self.1].sort_unstable_by(f64::total_cmp);
            }
            pub fn get(&self, k: usize) -> Option<&f64> {
                self.0[..self.1].get(k)
            }
            pub fn as_mut(&mut self) -> &mut [f64] {
                &mut self.0[..self.1]
            }
        }
    }
}
