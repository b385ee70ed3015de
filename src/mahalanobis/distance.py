"""Functional API: :func:`distance`, :func:`pairwise`, :func:`whiten`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._linalg import whiten_rows
from ._validation import as_data, as_square_matrix, is_dask
from .metric import Metric

__all__ = ["distance", "pairwise", "whiten"]

#: Pairs whose squared distance is below this fraction of ||a||^2 + ||b||^2 are recomputed as
#: ||a - b||^2 directly: there the expansion ||a||^2 + ||b||^2 - 2 a.b loses more than
#: eps / 1e-6 (about 2e-10) of relative accuracy to cancellation.
NEAR_PAIR_RTOL = 1e-6
_BLOCK = 1024


def _metric(center: Any, cov: Any, precision: Any, p: int | None = None) -> Metric:
    if (cov is None) == (precision is None):
        raise ValueError("pass exactly one of cov= (a covariance) or precision= (its inverse), "
                         "by keyword.")
    if cov is not None:
        return Metric(center, cov)
    return Metric.from_precision(center, precision)


def distance(X: Any, center: Any, cov: Any = None, *, precision: Any = None,
             squared: bool = False, nan_policy: str = "raise") -> Any:
    """Mahalanobis distances of the rows of X to ``center``.

    Pass the scatter as ``cov=`` (covariance) or ``precision=`` (inverse covariance), by
    keyword. To reuse one scatter for many calls, build a :class:`Metric` once instead.

    Returns D (``squared=False``) or D^2 (``squared=True``), shape (n,), or a Series carrying
    X's index when X is a DataFrame.
    """
    return _metric(center, cov, precision).distance(X, squared=squared, nan_policy=nan_policy)


def whiten(X: Any, center: Any, cov: Any, *, method: str = "cholesky") -> Any:
    """Whitened coordinates of X under N(center, cov); see :meth:`Metric.whiten`."""
    return Metric(center, cov).whiten(X, method=method)


def pairwise(XA: Any, XB: Any = None, *, cov: Any = None, precision: Any = None,
             squared: bool = False) -> Any:
    """All-pairs Mahalanobis distances between the rows of XA and XB (or XA with itself).

    Both sets are whitened once (one triangular multiply each); the n_A x n_B squared
    distances then come from one GEMM, ||a||^2 + ||b||^2 - 2 a.b, clamped at 0. Pairs where
    that expansion cancels badly (close points) are recomputed directly, so every entry keeps
    its relative accuracy. With XB omitted the result is exactly symmetric with a zero diagonal.

    When neither ``cov`` nor ``precision`` is given, the sample covariance of the rows of XA
    and XB together is used (as scipy's ``cdist(..., "mahalanobis")`` does).

    Returns an (n_A, n_B) array, or a DataFrame labelled by the inputs' indexes. Dask arrays
    give a lazy dask array blocked like XA's and XB's rows (needs ``cov=`` or ``precision=``).
    """
    if is_dask(XA) or is_dask(XB):
        from ._dask import pairwise_dask
        return pairwise_dask(XA, XB, cov=cov, precision=precision, squared=squared)
    A = as_data(XA, "XA")
    p = A.values.shape[1]
    B = None if XB is None else as_data(XB, "XB", n_features=p)
    if cov is None and precision is None:
        stacked = A.values if B is None else np.vstack([A.values, B.values])
        if stacked.shape[0] <= p:
            raise ValueError(
                f"pairwise needs cov= or precision= when XA (and XB) have {stacked.shape[0]} "
                f"rows for {p} features: the sample covariance is singular. Pass cov= from a "
                "regularised estimator, e.g. mh.fit(X, method='ledoit_wolf').cov.")
        from .covariance.empirical import _two_pass_cov
        shift, S = _two_pass_cov(stacked)
        metric = Metric(shift, S)
    else:
        if cov is not None and precision is not None:
            raise ValueError("pass cov= or precision=, not both.")
        shift = A.values.mean(axis=0)
        if cov is not None:
            metric = Metric(shift, as_square_matrix(cov, "cov", p))
        else:
            metric = Metric.from_precision(shift, as_square_matrix(precision, "precision", p))
    # Centring by a common shift does not change differences but shrinks the norms, and with
    # them the cancellation in the expansion.
    ZA = _whitened(metric, A.values)
    ZB = ZA if B is None else _whitened(metric, B.values)
    out = _pairwise_sq(ZA, None if B is None else ZB)
    if not squared:
        np.sqrt(out, out=out)
    if A.index is None and (B is None or B.index is None):
        return out
    import pandas as pd
    rows = A.index if A.index is not None else pd.RangeIndex(out.shape[0])
    cols = (rows if B is None else (B.index if B.index is not None
                                    else pd.RangeIndex(out.shape[1])))
    return pd.DataFrame(out, index=rows, columns=cols)


def _whitened(metric: Metric, X: np.ndarray) -> np.ndarray:
    """Rows W (x - m) as a C-ordered array (one triangular multiply)."""
    return whiten_rows(X, metric.center, metric._W, metric._W_lower)


def _pairwise_sq(ZA: np.ndarray, ZB: np.ndarray | None) -> np.ndarray:
    """Squared Euclidean distances between rows of whitened sets (ZB None: ZA with itself).

    One GEMM per block computes the whole expansion: with A = [ZA, |a|^2, 1] and
    B = [-2 ZB, 1, |b|^2], A B^T = |a|^2 + |b|^2 - 2 a.b, so no elementwise pass is needed
    for it. A block whose smallest entry is not small next to the largest norms cannot hold a
    cancellation-prone pair and skips the near-pair scan (typically every block but the
    diagonal ones of a self-distance matrix).
    """
    symmetric = ZB is None
    ZB_ = ZA if symmetric else ZB
    na, nb = ZA.shape[0], ZB_.shape[0]
    na2 = np.einsum("ij,ij->i", ZA, ZA)
    nb2 = na2 if symmetric else np.einsum("ij,ij->i", ZB_, ZB_)
    A = np.column_stack([ZA, na2, np.ones(na)])
    B = np.column_stack([-2.0 * ZB_, np.ones(nb), nb2])
    out = np.empty((na, nb))
    for i0 in range(0, na, _BLOCK):
        i1 = min(na, i0 + _BLOCK)
        na2_max = na2[i0:i1].max()
        j_start = i0 if symmetric else 0
        for j0 in range(j_start, nb, _BLOCK):
            j1 = min(nb, j0 + _BLOCK)
            blk = out[i0:i1, j0:j1]
            np.matmul(A[i0:i1], B[j0:j1].T, out=blk)
            if blk.min() < NEAR_PAIR_RTOL * (na2_max + nb2[j0:j1].max()):
                _recompute_near(blk, ZA, ZB_, na2, nb2, i0, j0)
            np.maximum(blk, 0.0, out=blk)
            if symmetric and j0 == i0:
                blk[...] = 0.5 * (blk + blk.T)
            elif symmetric:
                out[j0:j1, i0:i1] = blk.T
        if symmetric:
            d = np.arange(i0, i1)
            out[d, d] = 0.0
    return out


def _recompute_near(blk: np.ndarray, ZA: np.ndarray, ZB: np.ndarray, na2: np.ndarray,
                    nb2: np.ndarray, i0: int, j0: int) -> None:
    """Recompute as ||a - b||^2 the entries of a block where the expansion cancels."""
    i1, j1 = i0 + blk.shape[0], j0 + blk.shape[1]
    scale = na2[i0:i1, None] + nb2[None, j0:j1]
    ii, jj = np.nonzero(blk < NEAR_PAIR_RTOL * scale)
    for s in range(0, ii.size, 65536):
        a, b = ii[s:s + 65536], jj[s:s + 65536]
        d = ZA[a + i0] - ZB[b + j0]
        blk[a, b] = np.einsum("ij,ij->i", d, d)
