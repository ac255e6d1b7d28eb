//! [`Mat6`], the 6x6 matrix of a pose's covariance, with its algebra and the symmetric
//! positive-definite solver of the pose refinement's normal equations.

use crate::math;
use core::ops::{Add, AddAssign, Index, IndexMut, Mul};

/// A 6x6 matrix stored by rows: a pose covariance ordered (position x, y, z, rotation x, y,
/// z), its information matrix, or a Jacobian between two such parametrisations.
///
/// `m[i][j]` is row `i`, column `j`; the default is the zero matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mat6(pub [[f64; 6]; 6]);

impl Mat6 {
    /// The zero matrix.
    pub const ZERO: Self = Self([[0.0; 6]; 6]);

    /// The zero matrix.
    #[inline]
    #[must_use]
    pub const fn zeros() -> Self {
        Self::ZERO
    }

    /// The matrix with these rows.
    #[inline]
    #[must_use]
    pub const fn from_rows(rows: [[f64; 6]; 6]) -> Self {
        Self(rows)
    }

    /// The diagonal matrix with diagonal `d`.
    #[must_use]
    pub fn from_diagonal(d: [f64; 6]) -> Self {
        let mut m = Self::ZERO;
        m.add_diagonal(d);
        m
    }

    /// The covariance of a pose whose position axes each have sigma `sigma_pos` and whose
    /// attitude axes each have sigma `sigma_att`, independent.
    #[must_use]
    pub fn from_pose_sigmas(sigma_pos: f64, sigma_att: f64) -> Self {
        let (p, a) = (sigma_pos * sigma_pos, sigma_att * sigma_att);
        Self::from_diagonal([p, p, p, a, a, a])
    }

    /// The rows.
    #[inline]
    #[must_use]
    pub const fn rows(&self) -> &[[f64; 6]; 6] {
        &self.0
    }

    /// The rows, to write.
    #[inline]
    pub fn rows_mut(&mut self) -> &mut [[f64; 6]; 6] {
        &mut self.0
    }

    /// The diagonal.
    #[must_use]
    pub fn diagonal(&self) -> [f64; 6] {
        let mut d = [0.0; 6];
        for (i, (di, row)) in d.iter_mut().zip(&self.0).enumerate() {
            *di = row.get(i).copied().unwrap_or(0.0);
        }
        d
    }

    /// Adds `d` to the diagonal.
    pub fn add_diagonal(&mut self, d: [f64; 6]) {
        for (i, (row, di)) in self.0.iter_mut().zip(d).enumerate() {
            if let Some(x) = row.get_mut(i) {
                *x += di;
            }
        }
    }

    /// Column `k` (0 to 5; anything else gives the last column).
    #[must_use]
    pub fn column(&self, k: usize) -> [f64; 6] {
        let k = k.min(5);
        let mut c = [0.0; 6];
        for (ci, row) in c.iter_mut().zip(&self.0) {
            *ci = row.get(k).copied().unwrap_or(0.0);
        }
        c
    }

    /// The transpose.
    #[must_use]
    pub fn transpose(&self) -> Self {
        let mut t = Self::ZERO;
        for k in 0..6 {
            if let Some(row) = t.0.get_mut(k) {
                *row = self.column(k);
            }
        }
        t
    }

    /// `f` applied to every element.
    #[must_use]
    pub fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Self(self.0.map(|row| row.map(&f)))
    }

    /// `J C J^T` for this matrix `C`: a covariance carried through the linear map `J`.
    #[must_use]
    #[allow(clippy::indexing_slicing)] // Every index is below 6 by the loop bounds.
    pub fn sandwich(&self, j: &Self) -> Self {
        let (c, j) = (&self.0, &j.0);
        let mut out = Self::ZERO;
        for r in 0..6 {
            for s in 0..6 {
                let mut acc = 0.0;
                for a in 0..6 {
                    for b in 0..6 {
                        acc += j[r][a] * c[a][b] * j[s][b];
                    }
                }
                out.0[r][s] = acc;
            }
        }
        out
    }

    /// Adds the outer product `v v^T`: a covariance plus that of an independent error
    /// whose effect is `v` per sigma.
    pub fn add_outer(&mut self, v: &[f64; 6]) {
        for (row, a) in self.0.iter_mut().zip(v) {
            for (x, b) in row.iter_mut().zip(v) {
                *x += a * b;
            }
        }
    }

    /// Copies the upper triangle onto the lower one (a symmetric matrix accumulated on
    /// and above its diagonal).
    #[allow(clippy::indexing_slicing)] // i, k < 6 by the loop bounds.
    pub fn mirror_upper(&mut self) {
        for i in 0..6 {
            for k in 0..i {
                self.0[i][k] = self.0[k][i];
            }
        }
    }

    /// Whether every element is zero.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.0.iter().flatten().all(|x| *x == 0.0)
    }
}

impl From<[[f64; 6]; 6]> for Mat6 {
    fn from(rows: [[f64; 6]; 6]) -> Self {
        Self(rows)
    }
}

impl From<Mat6> for [[f64; 6]; 6] {
    fn from(m: Mat6) -> Self {
        m.0
    }
}

/// Row `i`.
///
/// # Panics
///
/// When `i >= 6`, as indexing an array does.
impl Index<usize> for Mat6 {
    type Output = [f64; 6];

    #[inline]
    #[allow(clippy::indexing_slicing)] // Out of range panics, as an array's index does.
    fn index(&self, i: usize) -> &[f64; 6] {
        &self.0[i]
    }
}

/// Row `i`, to write.
///
/// # Panics
///
/// When `i >= 6`, as indexing an array does.
impl IndexMut<usize> for Mat6 {
    #[inline]
    #[allow(clippy::indexing_slicing)] // Out of range panics, as an array's index does.
    fn index_mut(&mut self, i: usize) -> &mut [f64; 6] {
        &mut self.0[i]
    }
}

/// The element-wise sum.
impl Add for Mat6 {
    type Output = Self;

    fn add(mut self, o: Self) -> Self {
        self += o;
        self
    }
}

/// The element-wise sum, in place.
impl AddAssign for Mat6 {
    fn add_assign(&mut self, o: Self) {
        for (row, add) in self.0.iter_mut().zip(o.0) {
            for (x, y) in row.iter_mut().zip(add) {
                *x += y;
            }
        }
    }
}

/// Every element times `s`.
impl Mul<f64> for Mat6 {
    type Output = Self;

    fn mul(self, s: f64) -> Self {
        self.map(|x| x * s)
    }
}

/// Solves `A x = b` for a symmetric positive-definite 6x6 `A` by Cholesky factorisation.
/// Returns `None` when `A` is not numerically positive-definite.
#[must_use]
#[allow(clippy::indexing_slicing)] // Every index is a loop variable bounded by the 6x6 size.
pub fn solve_spd6(a: &Mat6, b: &[f64; 6]) -> Option<[f64; 6]> {
    let l = cholesky6(a)?;
    // Forward then back substitution; fixed bounds keep the indexing provably in range.
    let mut y = [0.0; 6];
    for i in 0..6 {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut x = [0.0; 6];
    for i in (0..6).rev() {
        let mut s = y[i];
        for k in i + 1..6 {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    Some(x)
}

/// Inverse of a symmetric positive-definite 6x6 matrix; `None` when it is not
/// numerically positive-definite.
#[must_use]
#[allow(clippy::indexing_slicing)] // Every index is a loop variable bounded by the 6x6 size.
pub fn invert_spd6(a: &Mat6) -> Option<Mat6> {
    let mut inv = Mat6::ZERO;
    for j in 0..6 {
        let mut e = [0.0; 6];
        e[j] = 1.0;
        let col = solve_spd6(a, &e)?;
        for i in 0..6 {
            inv[i][j] = col[i];
        }
    }
    // Symmetrise away round-off.
    for i in 0..6 {
        for j in 0..i {
            let m = 0.5 * (inv[i][j] + inv[j][i]);
            inv[i][j] = m;
            inv[j][i] = m;
        }
    }
    Some(inv)
}

/// Lower-triangular Cholesky factor of a symmetric positive-definite 6x6 matrix; `None`
/// when it is not numerically positive-definite.
#[allow(clippy::indexing_slicing)] // Every index is a loop variable bounded by the 6x6 size.
pub fn cholesky6(a: &Mat6) -> Option<Mat6> {
    let mut l = Mat6::ZERO;
    // Pivots below this fraction of the largest diagonal entry mean a rank-deficient system.
    let mut dmax: f64 = 0.0;
    for d in a.diagonal() {
        dmax = dmax.max(d.abs());
    }
    let tiny = dmax * 1e-14;
    for i in 0..6 {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > tiny) || !s.is_finite() {
                    return None;
                }
                l[i][i] = math::sqrt(s);
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed non-symmetric matrix with distinct entries.
    fn sample() -> Mat6 {
        let mut m = Mat6::ZERO;
        for i in 0..6 {
            for j in 0..6 {
                m[i][j] = (i * 6 + j) as f64 + 0.5 * (i as f64 - j as f64);
            }
        }
        m
    }

    #[test]
    fn diagonal_round_trip_and_pose_sigmas() {
        let d = [1.0, -2.0, 3.5, 0.25, 7.0, -0.5];
        let m = Mat6::from_diagonal(d);
        assert_eq!(m.diagonal(), d);
        for i in 0..6 {
            for j in (0..6).filter(|j| *j != i) {
                assert_eq!(m[i][j], 0.0);
            }
        }
        let c = Mat6::from_pose_sigmas(2.0, 0.1);
        assert_eq!(
            c.diagonal(),
            [4.0, 4.0, 4.0, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1]
        );
        assert_eq!(Mat6::default(), Mat6::zeros());
        assert!(Mat6::ZERO.is_zero() && !c.is_zero());
    }

    #[test]
    fn columns_transpose_and_rows() {
        let m = sample();
        let t = m.transpose();
        for i in 0..6 {
            assert_eq!(m.column(i), t[i]);
            for j in 0..6 {
                assert_eq!(t[i][j], m[j][i]);
                assert_eq!(m.rows()[i][j], m[i][j]);
            }
        }
        assert_eq!(m.column(9), m.column(5));
        assert_eq!(t.transpose(), m);
        assert_eq!(<[[f64; 6]; 6]>::from(m), m.0);
        assert_eq!(Mat6::from(m.0), m);
    }

    #[test]
    fn sum_scale_and_map_are_element_wise() {
        let (a, b) = (sample(), sample().transpose());
        let (sum, scaled, mapped) = (a + b, a * 3.0, a.map(|x| x - 1.0));
        let mut acc = a;
        acc += b;
        assert_eq!(acc, sum);
        for i in 0..6 {
            for j in 0..6 {
                assert_eq!(sum[i][j], a[i][j] + a[j][i]);
                assert_eq!(scaled[i][j], 3.0 * a[i][j]);
                assert_eq!(mapped[i][j], a[i][j] - 1.0);
            }
        }
        let mut d = a;
        d.add_diagonal([1.0; 6]);
        assert_eq!(d, a + Mat6::from_diagonal([1.0; 6]));
    }

    /// With a permutation `J` (row `r` picks axis `p(r)`), `J C J^T` is `C` with rows and
    /// columns permuted: `C[p(r)][p(s)]`.
    #[test]
    fn sandwich_by_a_permutation_permutes() {
        let c = sample();
        let p = [3, 0, 5, 1, 4, 2];
        let mut j = Mat6::ZERO;
        for (r, &pr) in p.iter().enumerate() {
            j[r][pr] = 1.0;
        }
        let out = c.sandwich(&j);
        for r in 0..6 {
            for s in 0..6 {
                assert_eq!(out[r][s], c[p[r]][p[s]]);
            }
        }
        // The identity leaves it as it is.
        assert_eq!(c.sandwich(&Mat6::from_diagonal([1.0; 6])), c);
    }

    /// With a diagonal `J = diag(d)`, `J C J^T` is `d_r C[r][s] d_s`; a symmetric `C`
    /// stays symmetric.
    #[test]
    fn sandwich_by_a_diagonal_scales() {
        let c = sample() + sample().transpose();
        let d = [2.0, -1.0, 0.5, 3.0, 0.0, -4.0];
        let out = c.sandwich(&Mat6::from_diagonal(d));
        for r in 0..6 {
            for s in 0..6 {
                assert_eq!(out[r][s], d[r] * c[r][s] * d[s]);
                assert_eq!(out[r][s], out[s][r]);
            }
        }
    }

    /// `v v^T` added twice is `2 v_i v_j`, symmetric, with the squares on the diagonal.
    #[test]
    fn add_outer_is_symmetric() {
        let v = [1.0, -2.0, 0.5, 3.0, -0.25, 4.0];
        let mut m = Mat6::ZERO;
        m.add_outer(&v);
        m.add_outer(&v);
        for i in 0..6 {
            for j in 0..6 {
                assert_eq!(m[i][j], 2.0 * v[i] * v[j]);
                assert_eq!(m[i][j], m[j][i]);
            }
        }
        assert_eq!(m.diagonal(), v.map(|x| 2.0 * x * x));
    }

    #[test]
    fn mirror_upper_copies_the_upper_triangle() {
        let mut m = sample();
        m.mirror_upper();
        let a = sample();
        for i in 0..6 {
            for j in 0..6 {
                let want = if j >= i { a[i][j] } else { a[j][i] };
                assert_eq!(m[i][j], want);
            }
        }
    }

    #[test]
    fn spd_solver_matches_known_answer() {
        // A = M^T M + I for a fixed M; x chosen, b = A x.
        let mut a = Mat6::ZERO;
        for i in 0..6 {
            for j in 0..6 {
                let mut s = 0.0;
                for k in 0..6 {
                    let mik = ((k * 7 + i * 3) % 5) as f64 - 2.0;
                    let mjk = ((k * 7 + j * 3) % 5) as f64 - 2.0;
                    s += mik * mjk;
                }
                a[i][j] = s + if i == j { 1.0 } else { 0.0 };
            }
        }
        let x = [1.0, -2.0, 3.0, 0.5, -0.25, 4.0];
        let mut b = [0.0; 6];
        for i in 0..6 {
            b[i] = (0..6).map(|j| a[i][j] * x[j]).sum();
        }
        let got = solve_spd6(&a, &b).unwrap();
        for i in 0..6 {
            assert!((got[i] - x[i]).abs() < 1e-9);
        }
        let inv = invert_spd6(&a).unwrap();
        for i in 0..6 {
            for j in 0..6 {
                let p: f64 = (0..6).map(|k| a[i][k] * inv[k][j]).sum();
                assert!((p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn singular_matrix_is_refused() {
        let mut a = Mat6::ZERO;
        a[0][0] = 1.0;
        assert!(solve_spd6(&a, &[1.0; 6]).is_none());
    }
}
