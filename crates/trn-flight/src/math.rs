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
    unary64!(sqrt, sin, cos, tan, asin, acos, atan, cbrt, exp, ln);
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
        acos, asin, atan, atan2, atan2f, atanf, cbrt, cos, cosf, exp, sin, sinf, sqrt, sqrtf, tan,
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
