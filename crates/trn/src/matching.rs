//! Fine matching over landmarks with rayon: trn-flight's [`match_landmark`] (the frame
//! resampled onto each landmark's ground through the prior pose, then searched with the
//! ZNCC kernel) on every worker, one [`MatchScratch`] each. The outcomes are in prediction
//! order and equal the flight build's single-threaded loop whatever the thread count.

use rayon::prelude::*;
use std::sync::Mutex;
use trn_flight::matching::{MatchContext, MatchOutcome, MatchScratch, match_landmark};
use trn_flight::predict::Prediction;

/// One matching scratch per rayon worker, allocated once.
#[derive(Debug)]
pub struct ParallelMatcher {
    scratches: Vec<Mutex<Box<MatchScratch>>>,
}

impl Default for ParallelMatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl ParallelMatcher {
    /// Scratch for every worker of the current rayon pool (a larger pool shares them, which
    /// is correct but contends).
    #[must_use]
    pub fn new() -> Self {
        let n = rayon::current_num_threads().max(1);
        Self {
            scratches: (0..n)
                .map(|_| Mutex::new(Box::new(MatchScratch::new())))
                .collect(),
        }
    }

    /// Matches `preds[k]` into `out[k]` (rayon over landmarks).
    pub fn match_all(
        &self,
        ctx: &MatchContext<'_>,
        preds: &[Prediction],
        out: &mut [MatchOutcome],
    ) {
        let n = self.scratches.len();
        preds.par_iter().zip(out.par_iter_mut()).for_each(|(p, o)| {
            let k = rayon::current_thread_index().unwrap_or(0) % n;
            if let Some(m) = self.scratches.get(k) {
                // A poisoned lock only means another worker panicked mid-match; the
                // scratch holds no state between landmarks.
                let mut s = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *o = match_landmark(p, ctx, &mut s);
            }
        });
    }
}
