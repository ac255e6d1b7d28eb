//! Chi-square gates from a table, not magic thresholds.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dof_quantile_is_a_squared_normal_quantile() {
        // P(|N(0,1)| < 3.2905) = 0.999, so the 1-dof 99.9 % quantile is 3.2905^2.
        let q = chi2_quantile(1, Confidence::P999).unwrap();
        assert!((q - 3.290_527_f64 * 3.290_527).abs() < 1e-4);
        assert!(chi2_quantile(0, Confidence::P95).is_none());
        assert!(chi2_quantile(7, Confidence::P95).is_none());
    }
}
