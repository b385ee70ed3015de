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
from scipy import linalg, special, stats

from .._linalg import single_threaded_blas
from .._scale import qn, qn_columns, scale_tau2
from ..errors import ExactFitError
from ._robust import points_on_hyperplane

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


def _center_and_scale(X: np.ndarray, scalefn: Callable[[np.ndarray], float]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Column medians and robust scales of X (as :func:`do_scale`), one column copy at a
    time."""
    n, p = X.shape
    if scalefn is qn and n < 5000:   # small n: all columns' Qn in one compiled call
        center = np.median(X, axis=0)
        U = X - center
        scale = qn_columns(U)
        for jz in np.flatnonzero(scale == 0):
            scale[jz] = _nonzero_quantile_scale(U[:, jz])
        return center, scale
    center, scale = np.empty(p), np.empty(p)
    for j in range(p):
        col = np.array(X[:, j])
        center[j] = np.median(col)
        col -= center[j]
        scale[j] = scalefn(col)
        if scale[j] == 0:
            scale[j] = _nonzero_quantile_scale(col)
    return center, scale


def do_scale(X: np.ndarray, scalefn: Callable[[np.ndarray], float]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Z, centre, scale): Z = (X - median) / scalefn, robustbase ``doScale`` (one new array
    of X's size)."""
    center, scale = _center_and_scale(X, scalefn)
    Z = np.subtract(X, center)
    Z /= scale
    return Z, center, scale


def _cor(Y: np.ndarray) -> np.ndarray:
    """Correlation matrix of the columns of Y, as ``np.corrcoef`` but centring Y in place
    (Y is overwritten: no copy)."""
    n = Y.shape[0]
    Y -= Y.mean(axis=0)
    C = (Y.T @ Y) / (n - 1)
    d = np.sqrt(np.diag(C))
    C /= d[:, None]
    C /= d[None, :]
    np.clip(C, -1, 1, out=C)
    return C


def _average_ranks(x: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = scipy.stats.rankdata(x)`` (average ranks of ties), with fewer
    temporaries."""
    o = np.argsort(x, kind="stable")
    s = x[o]
    edges = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1], [True])))
    del s
    out[o] = np.repeat((edges[:-1] + edges[1:] + 1) / 2.0, np.diff(edges))


def _cor_to_cov(Y: np.ndarray) -> np.ndarray:
    """Covariance of the columns of Y (``np.cov``), centring Y in place (Y is overwritten)."""
    Y -= Y.mean(axis=0)
    return (Y.T @ Y) / (Y.shape[0] - 1)


#: Rows per chunk of the row-wise products below (bounded temporaries).
_ROWS = 4096


def _row_quadratic(Z: np.ndarray, c: np.ndarray, P: np.ndarray, inv: np.ndarray,
                   out: np.ndarray | None = None) -> np.ndarray:
    """sum_k ((z - c) @ P)_k^2 * inv_k for every row z of Z, chunk by chunk."""
    n = Z.shape[0]
    out = np.empty(n) if out is None else out
    for a in range(0, n, _ROWS):
        cx = (Z[a:a + _ROWS] - c) @ P
        cx *= cx
        np.dot(cx, inv, out=out[a:a + _ROWS])
    return out


def _eigvecs(S: np.ndarray) -> np.ndarray:
    # LAPACK dsyevr, the routine behind R's eigen(symmetric = TRUE); decreasing order.
    from scipy.linalg import eigh
    return eigh(S, driver="evr")[1][:, ::-1]


def _initset(Z: np.ndarray, scalefn: Callable, P: np.ndarray, h: int,
             buf: np.ndarray | None = None) -> np.ndarray:
    """r6pack's ``initset``: h points closest to a robust centre in the eigenbasis P, scaled
    by the robust scales of the projections. ``buf``: scratch of Z's shape."""
    buf = np.empty_like(Z) if buf is None else buf
    _, lam = _center_and_scale(np.matmul(Z, P, out=buf), scalefn)
    sqrtcov = P @ (lam[:, None] * P.T)
    sqrtinvcov = P @ (P.T / lam[:, None])
    np.matmul(Z, sqrtinvcov, out=buf)
    estloc = np.array([np.median(buf[:, j]) for j in range(Z.shape[1])]) @ sqrtcov
    d = _row_quadratic(Z, estloc, P, 1.0 / lam**2, out=buf[:, 0].copy())
    return np.argsort(d, kind="stable")[:h]


def _ogk_eigvecs(Y: np.ndarray, scalefn: Callable) -> np.ndarray:
    p = Y.shape[1]
    U = np.eye(p)
    batched = scalefn is qn and Y.shape[0] < 5000
    for i in range(1, p):
        if batched:  # the Qn of all pairs (i, j < i) in one compiled call
            plus = qn_columns(Y[:, i:i + 1] + Y[:, :i])
            minus = qn_columns(Y[:, i:i + 1] - Y[:, :i])
            U[i, :i] = U[:i, i] = (plus**2 - minus**2) / 4.0
            continue
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
    b, on = points_on_hyperplane(X, a, m)
    return ExactFitError(
        f"X: {int(on.sum())} of {X.shape[0]} observations (at least h = {h}) lie on the "
        f"hyperplane a @ x = {b:.6g} with a = {np.array2string(a, precision=5)} ({what}); "
        "the MCD scatter is singular. The error's `hyperplane`, `offset` and `on_hyperplane` "
        "describe it; drop the redundant variable, or use method='mrcd' for a regularised "
        "scatter.", hyperplane=a, offset=b, on_hyperplane=on, rank=int(np.sum(s > s[0] * 1e-12)))


def subset_order(Z: np.ndarray, rows: np.ndarray, h: int | None = None,
                 work: np.ndarray | None = None) -> np.ndarray:
    """Indices of Z ordered by Mahalanobis distance w.r.t. mean and covariance of Z[rows]
    (robustbase ``classPC`` via SVD, then ``order(mahalanobisD(...))``); first h if given."""
    k, p = rows.size, Z.shape[1]
    # Z[rows], in LAPACK's order; in the scratch array `work` when given
    sub = (np.empty((k, p), order="F") if work is None or work.size < k * p
           else work.reshape(-1)[: k * p].reshape((k, p), order="F"))
    for j in range(Z.shape[1]):
        sub[:, j] = Z[rows, j]
    c = sub.mean(axis=0)
    sub -= c
    # singular values and right vectors of the centred subset from its R factor, computed
    # in place (no U or R of the subset's size)
    qr = linalg.qr(sub, mode="raw", overwrite_a=True, check_finite=False)[0][0]
    _, d, vt = np.linalg.svd(np.triu(qr[: Z.shape[1]]), full_matrices=False)
    del qr
    tol = max(sub.shape) * np.finfo(float).eps * d[0]
    if np.sum(d >= tol) < Z.shape[1]:
        raise SingularSubset(rows)
    ev = d * d / (rows.size - 1)
    dist = _row_quadratic(Z, c, vt.T, 1.0 / ev)
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
    with single_threaded_blas():   # small products: BLAS threads would only wait on each other
        return _six_starts(Z, h, scalefn, refine, scaled)


def _six_starts(Z: np.ndarray, h: int, scalefn: Callable, refine: bool, scaled: bool
                ) -> np.ndarray:
    if not scaled:
        Z = do_scale(Z, scalefn)[0]
    n, p = Z.shape
    # one scratch array of Z's size serves every start (peak memory: Z and buf)
    buf = np.tanh(Z)
    Ps = []
    Ps.append(_eigvecs(_cor(buf)))
    for j in range(p):
        _average_ranks(Z[:, j], buf[:, j])
    # average ranks: their mean is exactly (n + 1) / 2, so centring them is exact and undone
    Ps.append(_eigvecs(_cor(buf)))
    buf += (n + 1) / 2.0
    buf -= 1.0 / 3.0
    buf /= n + 1.0 / 3.0
    special.ndtri(buf, out=buf)   # stats.norm.ppf
    Ps.append(_eigvecs(_cor(buf)))
    znorm = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    ok = znorm > np.finfo(float).eps
    np.copyto(buf, Z)
    np.divide(Z, znorm[:, None], out=buf, where=ok[:, None])
    Ps.append(_eigvecs(buf.T @ buf))
    half = np.argsort(znorm, kind="stable")[: (n + 1) // 2]
    Ps.append(_eigvecs(_cor_to_cov(np.take(Z, half, axis=0, out=buf[: half.size]))))
    del znorm, ok, half
    Ps.append(_ogk_eigvecs(Z, scalefn))
    sets = np.empty((6, h), dtype=np.int32 if n < 2**31 else np.intp)
    for k, P in enumerate(Ps):
        sets[k] = _initset(Z, scalefn, P, h, buf)
        if refine:
            sets[k] = subset_order(Z, sets[k], h, buf)
    return sets
