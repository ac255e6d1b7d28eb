//! Who runs the matching loop: the [`Executor`] the pipeline is generic over, and the
//! flight build's [`Sequential`] one. trn's executor matches with rayon, offers acquisition
//! hypotheses and has a clock; the steps around it are the same.

use super::Prior;
use crate::matching::{MatchContext, MatchOutcome, MatchScratch, match_all};
use crate::predict::Prediction;
use crate::pyramid::{Pyramid, PyramidError};

/// Most acquisition hypotheses verified.
pub const MAX_HYPOTHESES: usize = 8;

/// Where acquisition puts the camera: a horizontal shift of the prior's position and the
/// sigma of the shifted prior. The coarse stage verifies each such hypothesis before the
/// fine stage trusts it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PositionHypothesis {
    /// Horizontal shift of the prior position, metres (east, north).
    pub shift_m: [f64; 2],
    /// 1-sigma per position axis of the shifted prior, metres.
    pub sigma_pos_m: f64,
}

/// What runs the matching loop, and what the flight build does not have: acquisition and
/// a clock.
pub trait Executor {
    /// Matches `preds[k]` into `out[k]` for every `k` (`out` is as long as `preds`), each
    /// exactly as [`crate::matching::match_landmark`] does.
    fn match_all(&mut self, ctx: &MatchContext<'_>, preds: &[Prediction], out: &mut [MatchOutcome]);

    /// Acquisition hypotheses for `prior`, best first, into `out`; `None` when there is no
    /// acquisition, `Some(n)` when it ran and found `n`.
    fn acquire(
        &mut self,
        _frame: &Pyramid<'_>,
        _prior: &Prior,
        _out: &mut [PositionHypothesis],
    ) -> Option<usize> {
        None
    }

    /// Builds levels 1.. of the `width x height` `frame`'s pyramid of `levels` levels into
    /// `buf`, as [`Pyramid::build`] lays them out and computes them (an executor may split
    /// the work, never change a sample). The default is [`Pyramid::build`] on this thread.
    ///
    /// # Errors
    ///
    /// As [`Pyramid::build`].
    fn build_pyramid(
        &mut self,
        frame: &[f32],
        width: usize,
        height: usize,
        levels: usize,
        buf: &mut [f32],
        tmp: &mut [f32],
    ) -> Result<(), PyramidError> {
        Pyramid::build(frame, width, height, levels, buf, tmp).map(|_| ())
    }

    /// A monotonic clock, milliseconds (for [`StageTimes`](super::StageTimes)); 0 without one.
    fn now_ms(&mut self) -> f64 {
        0.0
    }
}

/// The flight executor: one thread, one scratch, no acquisition, no clock.
#[derive(Debug)]
pub struct Sequential<'s> {
    /// The matching scratch.
    pub scratch: &'s mut MatchScratch,
}

impl Executor for Sequential<'_> {
    fn match_all(
        &mut self,
        ctx: &MatchContext<'_>,
        preds: &[Prediction],
        out: &mut [MatchOutcome],
    ) {
        match_all(preds, ctx, self.scratch, out);
    }
}
