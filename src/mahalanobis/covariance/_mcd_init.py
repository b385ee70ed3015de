"""Robust scales and the six deterministic starts of DetMCD, as R's robustbase computes them.

* :func:`qn_scale` -- robustbase ``Qn``: Rousseeuw & Croux (1993), the k-th order statistic of
  the pairwise distances |x_i - x_j| (i < j), k = C(floor(n/2) + 1, 2), times 2.21914 and the
  finite-sample correction.
* :func:`scale_tau2` -- robustbase ``scaleTau2`` (Maronna & Zamar 2002), one iteration.
* :func:`do_scale` -- robustbase ``doScale``: centre by column medians, divide by a robust
  scale, with robustbase's fallback for columns whose scale is zero.
* :func:`six_starts` -- robustbase ``r6pack``: the six initial h-subsets of Hubert, Rousseeuw
  & Verdonck (2012, Sect. 3.1, estimators 1-6), optionally refined by one C-step-like
  reordering by the subsets' own Mahalanobis distances.

Everything follows the R code step by step (stable orderings, R's quantile type 7, average
ranks), because the starts decide which local optimum DetMCD and MRCD reach.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special, stats

from ..errors import ExactFitError

__all__ = ["SingularSubset", "do_scale", "hyperplane_error", "qn_scale", "scale_for",
           "scale_tau2", "six_starts", "subset_order"]


class SingularSubset(Exception):
    """An h-subset whose covariance is singular; ``rows`` are its indices."""

    def __init__(self, rows: np.ndarray) -> None:
        super().__init__("singular subset")
        self.rows = rows

_QN_SMALL = (0.399356, 0.99365, 0.51321, 0.84401, 0.6122, 0.85877, 0.66993, 0.87344,
             0.72014, 0.88906, 0.75743)


def _kth_pairwise_difference(x: np.ndarray, k: int) -> float:
    """k-th smallest (1-based) of x_j - x_i over i < j for sorted x, exactly, in O(n log n)
    memory: bisection on the value with counts by searchsorted, then the few remaining
    candidate differences are enumerated."""
    n = x.size
    if n * (n - 1) // 2 <= 2_000_000:
        i, j = np.triu_indices(n, 1)
        d = x[j] - x[i]
        return float(np.partition(d, k - 1)[k - 1])
    idx = np.arange(n)

    def count_le(t: float) -> int:
        return int(np.sum(np.searchsorted(x, x + t, side="right") - idx - 1))

    lo, hi = -1.0, float(x[-1] - x[0])  # count_le(lo) < k <= count_le(hi)
    c_lo = 0
    while True:
        c_hi = count_le(hi)
        # candidates: differences in (lo, hi]
        if c_hi - c_lo <= 2_000_000 or not (hi - lo > 4 * np.spacing(max(abs(hi), 1.0))):
            a = np.maximum(np.searchsorted(x, x + lo, side="right"), idx + 1)
            b = np.searchsorted(x, x + hi, side="right")
            cand = np.concatenate([x[a[i]:b[i]] - x[i] for i in np.flatnonzero(b > a)])
            cand.sort()
            return float(cand[k - c_lo - 1])
        mid = 0.5 * (lo + hi) if lo >= 0 else 0.5 * hi
        c_mid = count_le(mid)
        if c_mid >= k:
            hi = mid
        else:
            lo, c_lo = mid, c_mid


def _qn0_r(y: np.ndarray, k: int) -> float:
    """robustbase's C ``qn0`` (Croux & Rousseeuw's O(n log n) algorithm) for sorted y of
    moderate length, including its quirk: when the weighted-high-median search ends on the
    answer, the value returned is the pairwise difference rounded to single precision
    ((float) casts in qn_sn.c); otherwise it is the exact double. Counts of the float-cast
    differences are taken directly from an n x n float32 table."""
    n = y.size
    D = (y[:, None] - y[None, :]).astype(np.float32)   # D[i, m] = (float)(y_i - y_m)
    i_all = np.arange(n)
    left = n - i_all + 1
    right = np.where(i_all <= n // 2 + 1, n, n - (i_all - (n // 2 + 1)))
    nl, nr = n * (n + 1) // 2, n * n
    knew = k + nl
    while nr - nl > n:
        ii = i_all[1:][left[1:] <= right[1:]]
        weight = right[ii] - left[ii] + 1
        work = D[ii, n - (left[ii] + weight // 2)].astype(float)
        order = np.argsort(work, kind="stable")
        cw = np.cumsum(weight[order])
        trial = work[order][int(np.argmax(2 * cw > cw[-1]))]   # weighted high median
        p = np.sum(D < trial, axis=1)
        q = n + 1 - np.sum(D > trial, axis=1)
        sump, sumq = int(p.sum()), int((q - 1).sum())
        if knew <= sump:
            right, nr = p, sump
        elif knew > sumq:
            left, nl = q, sumq
        else:
            return float(trial)
    work = np.concatenate([y[i] - y[n - np.arange(left[i], right[i] + 1)]
                           for i in range(1, n) if left[i] <= right[i]])
    knew -= nl + 1
    return float(np.partition(work, knew)[knew])


def qn_scale(x: np.ndarray, r_exact: bool = False) -> float:
    """robustbase ``Qn(x)`` with its default constant and finite-sample correction.

    ``r_exact=True`` reproduces robustbase's C code bit for bit (its result can be the exact
    order statistic rounded to single precision, a relative change of up to 6e-8); the
    default computes the exact order statistic, faster for repeated calls."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n < 2:
        return 0.0
    h = n // 2 + 1
    k = h * (h - 1) // 2
    if r_exact and n <= 3000:
        r = 2.21914 * _qn0_r(x, k)
    else:
        r = 2.21914 * _kth_pairwise_difference(x, k)
    if n <= 12:
        return r * _QN_SMALL[n - 2]
    if n % 2:
        c = (1.60188 + (-2.1284 - 5.172 / n) / n) / n + 1.0
    else:
        c = (3.67561 + (1.9654 + (6.987 - 77.0 / n) / n) / n) / n + 1.0
    return r / c


def scale_tau2(x: np.ndarray, c1: float = 4.5, c2: float = 3.0) -> float:
    """robustbase ``scaleTau2(x)`` with its defaults (consistency = TRUE, iter = 1)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    mu0 = np.median(x)
    xa = np.abs(x - mu0)
    s0 = float(np.median(xa))
    if s0 <= 0:
        return 0.0
    b = c2 * stats.norm.ppf(0.75)
    e_rho = 2.0 * ((1 - b * b) * special.ndtr(b) - b * stats.norm.pdf(b) + b * b) - 1.0
    w = np.maximum(0.0, 1.0 - (xa / (s0 * c1)) ** 2) ** 2
    mu = np.sum(x * w) / np.sum(w)
    r = np.minimum(((x - mu) / s0) ** 2, c2 * c2)
    return float(s0 * np.sqrt(np.sum(r) / (n * e_rho)))


def scale_for(n: int) -> Callable[[np.ndarray], float]:
    """robustbase's default ``scalefn = "hrv2012"``: Qn for n < 1000, else scaleTau2."""
    return qn_scale if n < 1000 else scale_tau2


def _nonzero_quantile_scale(u: np.ndarray) -> float:
    # doScale's fallback for a zero scale (u already centred by the median).
    alph = np.array([*range(10, 20), 19.75]) / 20.0
    qq = np.quantile(np.abs(u), alph)
    pos = np.flatnonzero(qq != 0)
    if pos.size:
        i = pos[0]
        return float(qq[i] / stats.norm.ppf((alph[i] + 1) / 2))
    return 1.0


def do_scale(X: np.ndarray, scalefn: Callable[[np.ndarray], float]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Z, centre, scale): Z = (X - median) / scalefn, robustbase ``doScale``."""
    center = np.median(X, axis=0)
    Z = X - center
    scale = np.array([scalefn(Z[:, j]) for j in range(X.shape[1])])
    for j in np.flatnonzero(scale == 0):
        scale[j] = _nonzero_quantile_scale(Z[:, j])
    return Z / scale, center, scale


def _cor(Y: np.ndarray) -> np.ndarray:
    return np.corrcoef(Y, rowvar=False).reshape(Y.shape[1], Y.shape[1])


def _eigvecs(S: np.ndarray) -> np.ndarray:
    # LAPACK dsyevr, the routine behind R's eigen(symmetric = TRUE); decreasing order.
    from scipy.linalg import eigh
    return eigh(S, driver="evr")[1][:, ::-1]


def _initset(Z: np.ndarray, scalefn: Callable, P: np.ndarray, h: int) -> np.ndarray:
    """r6pack's ``initset``: h points closest to a robust centre in the eigenbasis P, scaled
    by the robust scales of the projections."""
    _, _, lam = do_scale(Z @ P, scalefn)
    sqrtcov = P @ (lam[:, None] * P.T)
    sqrtinvcov = P @ (P.T / lam[:, None])
    estloc = np.median(Z @ sqrtinvcov, axis=0) @ sqrtcov
    cx = (Z - estloc) @ P
    d = np.sum((cx / lam) ** 2, axis=1)
    return np.argsort(d, kind="stable")[:h]


def _ogk_eigvecs(Y: np.ndarray, scalefn: Callable) -> np.ndarray:
    p = Y.shape[1]
    U = np.eye(p)
    for i in range(1, p):
        for j in range(i):
            U[i, j] = U[j, i] = (scalefn(Y[:, i] + Y[:, j]) ** 2
                                 - scalefn(Y[:, i] - Y[:, j]) ** 2) / 4.0
    return _eigvecs(U)


def hyperplane_error(X: np.ndarray, rows: np.ndarray, h: int, what: str) -> ExactFitError:
    """ExactFitError for a singular subset X[rows]: the hyperplane through its points."""
    sub = X[rows]
    m = sub.mean(axis=0)
    _, s, vt = np.linalg.svd(sub - m, full_matrices=False)
    a = vt[-1]
    b = float(a @ m)
    scale = max(float(np.max(np.abs(X - m))), 1.0)
    on = np.abs(X @ a - b) <= 1e-9 * scale
    return ExactFitError(
        f"X: {int(on.sum())} of {X.shape[0]} observations (at least h = {h}) lie on the "
        f"hyperplane a @ x = {b:.6g} with a = {np.array2string(a, precision=5)} ({what}); "
        "the MCD scatter is singular. The error's `hyperplane`, `offset` and `on_hyperplane` "
        "describe it; drop the redundant variable, or use method='mrcd' for a regularised "
        "scatter.", hyperplane=a, offset=b, on_hyperplane=on, rank=int(np.sum(s > s[0] * 1e-12)))


def subset_order(Z: np.ndarray, rows: np.ndarray, h: int | None = None) -> np.ndarray:
    """Indices of Z ordered by Mahalanobis distance w.r.t. mean and covariance of Z[rows]
    (robustbase ``classPC`` via SVD, then ``order(mahalanobisD(...))``); first h if given."""
    sub = Z[rows]
    c = sub.mean(axis=0)
    _, d, vt = np.linalg.svd(sub - c, full_matrices=False)
    tol = max(sub.shape) * np.finfo(float).eps * d[0]
    if np.sum(d >= tol) < Z.shape[1]:
        raise SingularSubset(rows)
    ev = d * d / (rows.size - 1)
    score = (Z - c) @ vt.T
    dist = np.sum(score * score / ev, axis=1)
    order = np.argsort(dist, kind="stable")
    return order if h is None else order[:h]


def six_starts(Z: np.ndarray, h: int, scalefn: Callable, *, refine: bool = True,
               scaled: bool = True) -> np.ndarray:
    """The six initial h-subsets of DetMCD (robustbase ``r6pack``), shape (6, h).

    Z are the data already standardised by :func:`do_scale` (``scaled=True``) or raw data
    to be standardised here (``scaled=False``). Starts: correlation of tanh(z), Spearman
    correlation, normal-scores correlation, spatial sign covariance, covariance of the
    ceil(n/2) points of smallest norm, and an OGK-type scatter (Hubert et al. 2012,
    Sect. 3.1). With ``refine`` each subset is replaced by the h points closest in its own
    Mahalanobis distance (robustbase; rrcov's MRCD skips this).
    """
    if not scaled:
        Z = do_scale(Z, scalefn)[0]
    n, p = Z.shape
    Ps = []
    Ps.append(_eigvecs(_cor(np.tanh(Z))))
    R = np.apply_along_axis(stats.rankdata, 0, Z)
    Ps.append(_eigvecs(_cor(R)))
    Ps.append(_eigvecs(_cor(stats.norm.ppf((R - 1.0 / 3.0) / (n + 1.0 / 3.0)))))
    znorm = np.sqrt(np.sum(Z * Z, axis=1))
    ok = znorm > np.finfo(float).eps
    Zn = Z.copy()
    Zn[ok] = Z[ok] / znorm[ok, None]
    Ps.append(_eigvecs(Zn.T @ Zn))
    half = np.argsort(znorm, kind="stable")[: (n + 1) // 2]
    Ps.append(_eigvecs(np.cov(Z[half], rowvar=False).reshape(p, p)))
    Ps.append(_ogk_eigvecs(Z, scalefn))
    sets = np.empty((6, h), dtype=np.intp)
    for k, P in enumerate(Ps):
        sets[k] = _initset(Z, scalefn, P, h)
        if refine:
            sets[k] = subset_order(Z, sets[k], h)
    return sets
