"""The six deterministic starts of DetMCD, as R's robustbase computes them.

* :func:`scale_for` -- robustbase's choice of scale: Qn for n < 1000, else scaleTau2 (both
  from :mod:`mahalanobis._scale`, O(n log n)).
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
from scipy import stats

from .._scale import qn, scale_tau2
from ..errors import ExactFitError

__all__ = ["SingularSubset", "do_scale", "hyperplane_error", "scale_for", "six_starts",
           "subset_order"]


class SingularSubset(Exception):
    """An h-subset whose covariance is singular; ``rows`` are its indices."""

    def __init__(self, rows: np.ndarray) -> None:
        super().__init__("singular subset")
        self.rows = rows


def scale_for(n: int) -> Callable[[np.ndarray], float]:
    """robustbase's default ``scalefn = "hrv2012"``: Qn for n < 1000, else scaleTau2."""
    return qn if n < 1000 else scale_tau2


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
