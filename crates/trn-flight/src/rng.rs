//! A small deterministic pseudo-random generator (PCG-XSH-RR 64/32) for RANSAC sampling.
//!
//! Flight software must replay bit for bit: the generator is seeded by the caller and has
//! no global state.

/// PCG-XSH-RR with 64-bit state and 32-bit output.
#[derive(Clone, Copy, Debug)]
pub struct Pcg32 {
    state: u64,
    inc: u64,
}

impl Pcg32 {
    const MULT: u64 = 6_364_136_223_846_793_005;

    /// A generator seeded with `seed` on stream `stream`.
    #[must_use]
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut g = Self {
            state: 0,
            inc: (stream << 1) | 1,
        };
        g.next_u32();
        g.state = g.state.wrapping_add(seed);
        g.next_u32();
        g
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(Self::MULT).wrapping_add(self.inc);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rot = (old >> 59) as u32;
        xorshifted.rotate_right(rot)
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift with rejection), or 0 when `n`
    /// is 0. Rejection happens with probability below `n / 2^32` per draw; after 16
    /// rejections in a row (for `n <= 65 536`, probability below 2^-256) the last draw is
    /// returned, so the time is bounded and the bias unobservable.
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        let mut m = u64::from(self.next_u32()) * u64::from(n);
        for _ in 0..16 {
            if (m as u32) >= threshold {
                break;
            }
            m = u64::from(self.next_u32()) * u64::from(n);
        }
        (m >> 32) as u32
    }

    /// A uniform f64 in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let hi = u64::from(self.next_u32()) << 21;
        let lo = u64::from(self.next_u32() >> 11);
        ((hi | lo) as f64) * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Box-Muller from two uniforms, the first in (0, 1] so its
    /// logarithm is finite).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        crate::math::sqrt(-2.0 * crate::math::ln(u1))
            * crate::math::cos(core::f64::consts::TAU * u2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_uniform_enough() {
        let mut a = Pcg32::new(42, 54);
        let mut b = Pcg32::new(42, 54);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            counts[x as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
        let f = a.next_f64();
        assert!((0.0..1.0).contains(&f));
        // Normal draws: mean 0, variance 1 (4 sigma bounds for 100 000 draws).
        let n = 100_000;
        let (mut s1, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = a.normal();
            assert!(x.is_finite());
            s1 += x;
            s2 += x * x;
        }
        let mean = s1 / f64::from(n);
        let var = s2 / f64::from(n) - mean * mean;
        assert!(mean.abs() < 4.0 / f64::from(n).sqrt(), "{mean}");
        assert!(
            (var - 1.0).abs() < 4.0 * (2.0 / f64::from(n)).sqrt(),
            "{var}"
        );
    }
}
