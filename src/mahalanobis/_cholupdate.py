"""Rank-one updates and downdates of a lower Cholesky factor in O(p^2), without a Python loop.

For a lower triangular ``L`` with ``A = L L^T`` and a vector ``x``,

    A + s x x^T = L (I + s w w^T) L^T,        w = L^-1 x,  s = +1 (update) or -1 (downdate).

The Cholesky factor of the identity plus a rank-one term has a closed form (Gill, Golub, Murray
& Saunders 1974, Sec. 3, the recurrence of their method C1): with sigma_0 = 1 and
sigma_j = 1 + s sum_{i<=j} w_i^2,

    Lt_jj = sqrt(sigma_j / sigma_{j-1}),   Lt_ij = s w_i w_j / sqrt(sigma_j sigma_{j-1})  (i > j),

so that ``L' = L Lt`` has columns

    L'_{:,j} = L_{:,j} sqrt(sigma_j / sigma_{j-1}) + s w_j / sqrt(sigma_j sigma_{j-1})
               * sum_{i>j} L_{:,i} w_i.

This is the same factor the LINPACK routines ``dchud`` (update) and ``dchdd`` (downdate)
produce with p plane rotations: their rotation parameters are c_j = sqrt(sigma_{j-1}/sigma_j),
s_j proportional to w_j, and the product of the rotations collapses to ``Lt``. Here the
sequential part is only the prefix sums of w_i^2 (``np.cumsum``), so one update costs a
triangular solve and a handful of whole-matrix numpy operations, vectorised over all p^2
entries. As in ``dchdd`` (Saunders' downdating, see Stewart 1979), the downdate takes
sigma_p = 1 - ||w||^2 first and builds sigma_j = sigma_p + sum_{i>j} w_i^2 from it, summing
positive terms only, so the only cancellation is the unavoidable one in 1 - ||w||^2.

A downdate fails (the result is not positive definite to working precision) when
sigma_p <= ``DOWNDATE_TOL``; the caller decides what to do (:class:`CholeskyDowndateWarning`
and a refactorisation in :mod:`mahalanobis.variants.online`).

References
----------
Gill, P. E., Golub, G. H., Murray, W. & Saunders, M. A. (1974). Methods for modifying matrix
factorizations. Mathematics of Computation 28(126), 505-535.
Dongarra, J. J., Moler, C. B., Bunch, J. R. & Stewart, G. W. (1979). LINPACK Users' Guide,
ch. 10 (dchud, dchdd). SIAM.
Stewart, G. W. (1979). The effects of rounding error on an algorithm for downdating a
Cholesky factorization. IMA Journal of Applied Mathematics 23, 203-213.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from .errors import CholeskyDowndateWarning

__all__ = ["DOWNDATE_TOL", "CholeskyDowndateWarning", "chol_downdate", "chol_update"]

#: A downdate whose sigma_p = 1 - ||L^-1 x||^2 is below this is reported as failed: the
#: downdated matrix has a condition number of order 1 / sigma_p relative to the old one.
DOWNDATE_TOL = 1e-10


def _apply(L: np.ndarray, w: np.ndarray, sigma: np.ndarray, sign: float) -> np.ndarray:
    """L' = L Lt for the closed-form factor Lt of I + sign w w^T, given sigma_0..sigma_p."""
    s_prev, s_cur = sigma[:-1], sigma[1:]
    d = np.sqrt(s_cur / s_prev)
    c = sign * w / np.sqrt(s_cur * s_prev)
    P = L * w  # P[:, i] = L[:, i] w_i
    # T[:, j] = sum_{i > j} P[:, i]: a reversed cumulative sum, shifted by one column.
    T = np.empty_like(P)
    T[:, :-1] = np.cumsum(P[:, :0:-1], axis=1)[:, ::-1]
    T[:, -1] = 0.0
    L_new = L * d
    L_new += T * c
    return L_new


def chol_update(L: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``L L^T + x x^T`` (a new array), in O(p^2)."""
    w = blas.dtrsv(L, x, lower=1)
    sigma = np.empty(w.shape[0] + 1)
    sigma[0] = 1.0
    np.cumsum(w * w, out=sigma[1:])
    sigma[1:] += 1.0
    return _apply(L, w, sigma, 1.0)


def chol_downdate(L: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of ``L L^T - x x^T``, or None when that is not positive definite.

    "Not positive definite" means 1 - ||L^-1 x||^2 <= ``DOWNDATE_TOL`` (relative to the old
    matrix, the downdate would lose all but -log10(DOWNDATE_TOL) digits).
    """
    w = blas.dtrsv(L, x, lower=1)
    w2 = w * w
    sigma_p = 1.0 - float(np.sum(w2))
    if not sigma_p > DOWNDATE_TOL:
        return None
    p = w.shape[0]
    sigma = np.empty(p + 1)
    # sigma_j = sigma_p + sum_{i>j} w_i^2, j = 0..p (positive terms only, as in dchdd).
    sigma[:p] = np.cumsum(w2[::-1])[::-1]
    sigma[p] = 0.0
    sigma += sigma_p
    return _apply(L, w, sigma, -1.0)
