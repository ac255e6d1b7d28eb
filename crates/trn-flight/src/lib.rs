//! # trn-flight
//!
//! The flight core of trn: everything one descent frame needs to turn image patches and
//! 2-D/3-D correspondences into a map-relative pose, an independent altitude and a verdict
//! on the laser rangefinder, with no `std`, no allocation and no panics.
//!
//! * [`frames`]: latitude/longitude/height, Moon-centred Moon-fixed (MCMF) and the site
//!   East-North-Up frame on a sphere (f64).
//! * [`camera`]: pinhole camera with Brown-Conrady distortion, projection with Jacobians,
//!   bounded-iteration undistortion.
//! * [`p3p`]: the minimal absolute-pose solver (lambda-twist family).
//! * [`robust`]: deterministic LO-RANSAC over P3P with a hard iteration budget, Gauss-Newton
//!   refinement and a 6x6 pose covariance.
//! * [`ncc`]: zero-mean normalised cross-correlation template search with sub-pixel peaks,
//!   scalar and SIMD kernels.
//! * [`dem`]: a heightfield view of the on-board DEM; camera altitude and slant range along
//!   the boresight by ray marching.
//! * [`rangefinder`]: the rangefinder monitor (chi-square test against the predicted range).
//! * [`mapdb`]: the zero-copy parser of the `.trnmap` map database.
//! * [`interp`]: bilinear interpolation, one formula for images, DEMs and map rasters.
//! * [`view`]: [`view::ImageView`], the one image view every crate reads (strided, in
//!   someone else's memory).
//! * [`pyramid`]: frame pyramids in caller memory, levels as image views (row kernels shared
//!   with the std crates).
//! * `image` (feature `std`): the owned image of the std crates, lending an `ImageView`.
//! * [`predict`]: which landmarks the prior puts in view, at which template level, with
//!   search radii from the prior covariance.
//! * [`matching`]: one landmark's window warped through its ground plane (orthorectified on
//!   the DEM) and searched with [`ncc`].
//! * [`pipeline`]: the whole frame (predict, coarse and fine matching, robust pose,
//!   integrity, altitude, rangefinder) with a caller-provided [`pipeline::Workspace`], and
//!   a descent's frames in sequence ([`pipeline::FrameSequence`]: two caller-owned frame
//!   slots, the last fixed frame kept for tracking, velocity); trn runs the same steps with
//!   rayon and adds FFT acquisition.
//! * [`track`]: below the map's reach, the pose from the ground a frame shares with the
//!   previous fixed one (registration over altitudes, features tracked through the local
//!   terrain plane, the previous pose's and the DEM's errors carried into the covariance).
//! * [`velocity`]: the velocity between two consecutive fixed frames, from the features
//!   they share (the previous fix's error cancelled) or from their fixes.
//! * `nalgebra_interop` (feature `nalgebra`): `From`/`Into` between these types and
//!   nalgebra's, both ways and exact.
//! * [`stats`]: chi-square gates, normal and Student-t quantiles, and the one quantile rule
//!   for samples every crate of trn uses.
//!
//! Geometry is f64: a lander sees points up to ~15 km away and the minimal solver's
//! polynomial steps lose digits that f32 does not have. Image kernels are f32.
//!
//! Conventions are those of the project's DESIGN.md: the site frame is East-North-Up with its
//! origin on the reference sphere; the camera frame has +z along the optical axis, +x towards
//! increasing column and +y towards increasing row; a [`Pose`] holds the camera centre in the
//! site frame and the unit quaternion rotating camera-frame vectors into the site frame.
//!
//! Capacities are the caller's: workspaces and buffers are slices or const-generic arrays
//! handed in, and running out of room is an error, never a panic or an allocation.

#![no_std]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
// `!(x > t)` is how this crate rejects NaN together with small values; the suggested
// `partial_cmp` form hides that intent.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// Matrix formulas read best with index loops over fixed-size arrays.
#![allow(clippy::needless_range_loop)]

#[cfg(feature = "std")]
extern crate std;

pub mod camera;
pub mod crc32;
pub mod dem;
pub mod frames;
#[cfg(feature = "std")]
pub mod image;
pub mod inertial;
pub mod interp;
pub mod linalg;
pub mod mapdb;
pub mod matching;
pub(crate) mod math;
#[cfg(feature = "nalgebra")]
pub mod nalgebra_interop;
pub mod ncc;
pub mod p3p;
pub mod pipeline;
pub mod pose;
pub mod predict;
pub mod pyramid;
pub mod rangefinder;
pub mod rng;
pub mod robust;
pub mod stats;
pub mod track;
pub mod velocity;
pub mod view;

pub use linalg::{Mat3, Mat6, Quat, Vec3};
pub use pose::Pose;
