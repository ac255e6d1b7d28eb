//! A descent's frames in sequence: what carries from one frame to the next around a
//! [`FrameNavigator`]. Two frame slots, each a frame's pixels and its pyramid levels: the
//! last fixed frame stays intact in one for tracking ([`FrameNavigator::process_with_fixed`])
//! while the next frame is built in the other, and a new fix swaps their roles, so nothing
//! is copied or allocated from frame to frame. Velocity over the interval between two
//! consecutive fixes comes from the same kept frame ([`crate::velocity`]).
//!
//! The buffers are the caller's, of any type that lends its samples (`&mut [f32]` in
//! flight, `Vec<f32>` in trn): [`FrameSequence::new`] checks their sizes once.

use super::{Executor, FixStatus, FrameNavigator, FrameResult, Prior, Workspace};
use crate::camera::Camera;
use crate::linalg::Mat6;
use crate::pose::Pose;
use crate::pyramid::{MAX_LEVELS, Pyramid, buffer_len, scratch_len};
use crate::track::{FixedFrame, TrackScratch};
use crate::velocity::{self, Velocity};
use core::fmt;

/// One frame slot: a frame's pixels (row-major, the camera's size) and its pyramid levels
/// above level 0 ([`buffer_len`] samples).
#[derive(Clone, Debug)]
pub struct FrameSlot<B> {
    /// The frame's pixels.
    pub pixels: B,
    /// Its pyramid levels 1 and up.
    pub levels: B,
}

/// Why a [`FrameSequence`] could not be made: a pyramid level count it cannot build, or a
/// buffer shorter than the camera and the pyramid need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceError {
    /// The navigator's [`NavConfig::frame_levels`](super::NavConfig::frame_levels) is not
    /// within 1..=[`MAX_LEVELS`].
    LevelCount,
    /// A slot's pixels hold fewer than `width * height` samples.
    Pixels,
    /// A slot's levels hold fewer than [`buffer_len`] samples.
    Levels,
    /// The scratch holds fewer than [`scratch_len`] samples.
    Scratch,
}

impl fmt::Display for SequenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LevelCount => "frame_levels must be within 1..=pyramid::MAX_LEVELS",
            Self::Pixels => "a frame slot's pixels are shorter than the camera's frame",
            Self::Levels => "a frame slot's levels are shorter than pyramid::buffer_len()",
            Self::Scratch => "the pyramid scratch is shorter than pyramid::scratch_len()",
        })
    }
}

impl core::error::Error for SequenceError {}

/// The last fixed frame's fix, its pixels and levels being the slot not to be filled next.
#[derive(Clone, Copy, Debug)]
struct Fixed {
    pose: Pose,
    covariance: Mat6,
    time_s: f64,
    /// Whether it is the frame just before the next one (velocity needs two fixes in a row).
    just_before: bool,
}

/// A descent's frames in sequence (see the module documentation).
#[derive(Clone, Debug)]
pub struct FrameSequence<B> {
    slots: [FrameSlot<B>; 2],
    scratch: B,
    width: usize,
    height: usize,
    levels: usize,
    /// The slot the next frame goes into; the other holds the last fixed frame.
    next: usize,
    fixed: Option<Fixed>,
    velocity_scratch: TrackScratch,
}

impl<B: AsRef<[f32]> + AsMut<[f32]>> FrameSequence<B> {
    /// A sequence of `nav`'s frames (its camera's size, pyramids of its
    /// [`NavConfig::frame_levels`](super::NavConfig::frame_levels)), over two slots and a
    /// pyramid scratch of [`scratch_len`] samples. [`FrameSequence::process`] takes this
    /// navigator (or one with the same camera and levels).
    ///
    /// # Errors
    ///
    /// [`SequenceError`] naming the level count or the buffer that is too short.
    pub fn new(
        nav: &FrameNavigator<'_>,
        slots: [FrameSlot<B>; 2],
        scratch: B,
    ) -> Result<Self, SequenceError> {
        let camera: &Camera = nav.camera();
        let levels = nav.config().frame_levels;
        if levels == 0 || levels > MAX_LEVELS {
            return Err(SequenceError::LevelCount);
        }
        let (width, height) = (camera.width() as usize, camera.height() as usize);
        for s in &slots {
            if s.pixels.as_ref().len() < width * height {
                return Err(SequenceError::Pixels);
            }
            if s.levels.as_ref().len() < buffer_len(width, height, levels) {
                return Err(SequenceError::Levels);
            }
        }
        if scratch.as_ref().len() < scratch_len(width, height) {
            return Err(SequenceError::Scratch);
        }
        Ok(Self {
            slots,
            scratch,
            width,
            height,
            levels,
            next: 0,
            fixed: None,
            velocity_scratch: TrackScratch::new(),
        })
    }

    /// Where the next frame's pixels go (the camera's `width * height` samples, row-major):
    /// the slot that does not hold the last fixed frame.
    pub fn next_pixels(&mut self) -> &mut [f32] {
        let n = self.width * self.height;
        match self.slots.get_mut(self.next) {
            Some(s) => s.pixels.as_mut().get_mut(..n).unwrap_or_default(),
            None => &mut [],
        }
    }

    /// Hands in the next frame's pixel buffer whole (at least `width * height` samples),
    /// returning the one it replaces; `Err(pixels)` when it is too short.
    ///
    /// # Errors
    ///
    /// The buffer itself, when it holds fewer than the camera's samples.
    pub fn swap_next_pixels(&mut self, mut pixels: B) -> Result<B, B> {
        if pixels.as_ref().len() < self.width * self.height {
            return Err(pixels);
        }
        match self.slots.get_mut(self.next) {
            Some(s) => {
                core::mem::swap(&mut s.pixels, &mut pixels);
                Ok(pixels)
            }
            None => Err(pixels),
        }
    }

    /// A frame the caller could not hand in (a camera fault, a frame of the wrong size): the
    /// last fixed frame is kept, but the next fix's velocity does not span the gap.
    pub fn skip(&mut self) {
        self.not_just_before();
    }

    /// Forgets the last fixed frame, as at the start of a descent (the navigator has its own
    /// [`FrameNavigator::reset`]).
    pub fn reset(&mut self) {
        self.fixed = None;
    }

    /// Navigates the frame in [`FrameSequence::next_pixels`]: its pyramid built by
    /// `exec`, then [`FrameNavigator::process_with_fixed`] with the last fixed frame; on
    /// a fix, the velocity since the frame before (when that one had a fix too), and this
    /// frame becomes the one kept. A navigator whose camera or level count differs from the
    /// one the sequence was made for gives no fix.
    pub fn process<E: Executor>(
        &mut self,
        nav: &mut FrameNavigator<'_>,
        prior: &Prior,
        lrf: Option<f64>,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameResult {
        let (w, h, levels, n) = (
            self.width,
            self.height,
            self.levels,
            self.width * self.height,
        );
        let camera = nav.camera();
        if (camera.width() as usize, camera.height() as usize) != (w, h)
            || nav.config().frame_levels != levels
        {
            return self.not_navigated(prior);
        }
        let [a, b] = &mut self.slots;
        let (cur, other) = if self.next == 0 { (a, b) } else { (b, a) };
        let t0 = exec.now_ms();
        let pixels = cur.pixels.as_ref().get(..n).unwrap_or_default();
        if exec
            .build_pyramid(
                pixels,
                w,
                h,
                levels,
                cur.levels.as_mut(),
                self.scratch.as_mut(),
            )
            .is_err()
        {
            return self.not_navigated(prior);
        }
        let pyramid_ms = exec.now_ms() - t0;
        let cur: &FrameSlot<B> = cur;
        let other: &FrameSlot<B> = other;
        let Some(frame) = slot_pyramid(cur, w, h, levels) else {
            return self.not_navigated(prior);
        };
        let fixed = self.fixed.and_then(|f| {
            Some((
                FixedFrame {
                    pyramid: slot_pyramid(other, w, h, levels)?,
                    pose: f.pose,
                    covariance: f.covariance,
                    time_s: f.time_s,
                },
                f.just_before,
            ))
        });
        let mut r =
            nav.process_with_fixed(&frame, prior, lrf, fixed.as_ref().map(|f| &f.0), ws, exec);
        r.times.pyramid_ms = pyramid_ms;
        if r.status != FixStatus::Fix {
            // The last fixed frame stays for tracking; velocity needs two fixes in a row.
            self.not_just_before();
            return r;
        }
        let tv = exec.now_ms();
        if let Some((prev, true)) = &fixed {
            r.velocity = velocity_since(
                prev,
                &frame,
                &r,
                prior.time_s,
                nav,
                &mut self.velocity_scratch,
            );
        }
        r.times.velocity_ms = exec.now_ms() - tv;
        self.fixed = Some(Fixed {
            pose: r.pose,
            covariance: r.covariance,
            time_s: prior.time_s,
            just_before: true,
        });
        self.next = 1 - self.next;
        r
    }
}

impl<B> FrameSequence<B> {
    /// The last fixed frame is no longer the one just before the next frame.
    fn not_just_before(&mut self) {
        if let Some(f) = self.fixed.as_mut() {
            f.just_before = false;
        }
    }

    /// A frame the sequence could not navigate (buffers or navigator that do not fit): no
    /// fix, and the next velocity does not span it.
    fn not_navigated(&mut self, prior: &Prior) -> FrameResult {
        self.not_just_before();
        FrameResult::unsolved(prior)
    }
}

/// The pyramid built in `slot` for a `w x h` frame of `levels` levels.
fn slot_pyramid<B: AsRef<[f32]>>(
    slot: &FrameSlot<B>,
    w: usize,
    h: usize,
    levels: usize,
) -> Option<Pyramid<'_>> {
    let px = slot.pixels.as_ref().get(..w * h)?;
    Pyramid::view_built(px, w, h, levels, slot.levels.as_ref()).ok()
}

/// The velocity between the fixed frame just before (`prev`) and this frame's fix `r`: from
/// tracking (a tracked fix's own relative covariance, or features tracked between the two
/// frames) and from the difference of the fixes, the tighter of the two.
fn velocity_since(
    prev: &FixedFrame<'_>,
    frame: &Pyramid<'_>,
    r: &FrameResult,
    time_s: f64,
    nav: &FrameNavigator<'_>,
    scratch: &mut TrackScratch,
) -> Option<Velocity> {
    let tracked = match (r.tracked > 0, nav.dem()) {
        // A pose tracked from the frame before already is that tracking, with its relative
        // covariance.
        (true, _) => r.relative_covariance.and_then(|c| {
            velocity::from_tracked_fix(
                prev.pose.position,
                r.pose.position,
                &c,
                time_s - prev.time_s,
                r.inliers,
            )
        }),
        (false, Some(dem)) => velocity::track(
            prev,
            frame,
            &r.pose,
            time_s,
            nav.camera(),
            dem,
            4,
            nav.dem_sigma_m(),
            scratch,
        ),
        (false, None) => None,
    };
    let from_fixes = velocity::from_fixes(
        (
            prev.pose.position,
            FrameResult::position_sigma(&prev.covariance),
            prev.time_s,
        ),
        (r.pose.position, r.sigma_pos(), time_s),
    );
    Velocity::tighter(tracked, from_fixes)
}
