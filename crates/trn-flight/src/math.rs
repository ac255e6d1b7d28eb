// The backend offers the whole set of functions; a given build uses only some of them.
#![allow(dead_code, unused_imports)]

//! The one math backend of the crate.
//!
//! `core` has no `sqrt`, `sin` or `atan2` on stable, so every transcendental call in
//! trn-flight goes through this module: `libm` by default, the platform's libm through
//! `std` when the `std` feature is on. Nothing else in the crate calls `libm` directly,
//! so a change of backend is one file.

#[cfg(feature = "std")]
mod backend {
    extern crate std;
    macro_rules! unary64 { ($($n:ident),*) => { $( #[inline] pub fn $n(x: f64) -> f64 { x.$n() } )* } }
    macro_rules! unary32 { ($($n:ident => $m:ident),*) => { $( #[inline] pub fn $n(x: f32) -> f32 { x.$m() } )* } }
    unary64!(
        sqrt, sin, cos, tan, asin, acos, atan, exp, ln, floor, ceil, round
    );
    unary32!(sqrtf => sqrt, sinf => sin, cosf => cos, atanf => atan);
    #[inline]
    pub fn atan2(y: f64, x: f64) -> f64 {
        y.atan2(x)
    }
    #[inline]
    pub fn atan2f(y: f32, x: f32) -> f32 {
        y.atan2(x)
    }
}

#[cfg(not(feature = "std"))]
mod backend {
    pub use libm::{
        acos, asin, atan, atan2, atan2f, atanf, cbrt, ceil, cos, cosf, exp, floor, round, sin,
        sinf, sqrt, sqrtf, tan,
    };
    #[inline]
    pub fn ln(x: f64) -> f64 {
        libm::log(x)
    }
}

pub use backend::*;

/// Absolute value without `std`.
#[inline]
#[must_use]
pub fn abs(x: f64) -> f64 {
    f64::abs(x)
}

/// `sqrt(max(x, 0))`: a square root that never returns NaN for tiny negative round-off.
#[inline]
#[must_use]
pub fn sqrt_clamped(x: f64) -> f64 {
    sqrt(if x > 0.0 { x } else { 0.0 })
}

/// Cube root. The libm routine (both the `libm` crate's and the one std links here) emulates
/// `fma` in software on a baseline x86-64 target, which makes it the largest cost of a P3P
/// solve; an exponent estimate (relative error about 5e-2) refined by three Halley steps
/// (cubic convergence: the error cubes at each step) is exact to a few ulp at several times
/// its speed.
#[inline]
#[must_use]
pub fn cbrt(x: f64) -> f64 {
    let ax = f64::abs(x);
    if !(ax > 1e-300) || !ax.is_finite() {
        // Zero, subnormal, NaN and infinity: the exponent trick does not apply.
        return libm::cbrt(x);
    }
    // Dividing the biased exponent by three (with a tuned offset) gives ~5 % accuracy.
    let mut y = f64::from_bits(ax.to_bits() / 3 + 0x2a9f_7893_782d_a1ce);
    for _ in 0..3 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * ax) / (2.0 * y3 + ax);
    }
    if x < 0.0 { -y } else { y }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cbrt_matches_libm() {
        let mut x = 1e-290_f64;
        while x < 1e290 {
            for v in [x, -x, 1.7 * x, -3.3 * x] {
                let (a, b) = (super::cbrt(v), libm::cbrt(v));
                assert!(((a - b) / b).abs() < 4.0 * f64::EPSILON, "{v}: {a} vs {b}");
            }
            x *= 1.37;
        }
        assert_eq!(super::cbrt(0.0), 0.0);
        assert_eq!(super::cbrt(-27.0), -3.0);
        assert!(super::cbrt(f64::NAN).is_nan());
    }
}
