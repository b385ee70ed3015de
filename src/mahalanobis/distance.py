"""Functional API: :func:`distance`, :func:`pairwise`, :func:`whiten`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._deprecation import renamed_parameters
from ._linalg import mean_and_cov
from ._validation import as_data, as_square_matrix, is_dask
from .metric import Metric

__all__ = ["distance", "pairwise", "whiten"]


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


@renamed_parameters(method="kind")
def whiten(X: Any, center: Any, cov: Any, *, kind: str = "cholesky",
           nan_policy: str = "raise") -> Any:
    """Whitened coordinates of X under N(center, cov); see :meth:`Metric.whiten`."""
    return Metric(center, cov).whiten(X, kind=kind, nan_policy=nan_policy)


def pairwise(XA: Any, XB: Any = None, *, cov: Any = None, precision: Any = None,
             squared: bool = False, nan_policy: str = "raise") -> Any:
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
        from ._dask._pairwise import pairwise_dask
        return pairwise_dask(XA, XB, cov=cov, precision=precision, squared=squared)
    A = as_data(XA, "XA", nan_policy=nan_policy)
    p = A.values.shape[1]
    B = None if XB is None else as_data(XB, "XB", n_features=p, nan_policy=nan_policy)
    shift = np.zeros(p)  # the centre plays no part in pairwise distances
    if cov is None and precision is None:
        stacked = A.values if B is None else np.vstack([A.values, B.values])
        stacked = stacked[np.isfinite(stacked).all(axis=1)]
        if stacked.shape[0] <= p:
            raise ValueError(
                f"pairwise needs cov= or precision= when XA (and XB) have {stacked.shape[0]} "
                f"rows for {p} features: the sample covariance is singular. Pass cov= from a "
                "regularised estimator, e.g. mh.fit(X, method='ledoit_wolf').cov.")
        shift, S = mean_and_cov(stacked)
        metric = Metric(shift, S)
    elif cov is not None and precision is not None:
        raise ValueError("pass cov= or precision=, not both.")
    elif cov is not None:
        metric = Metric(shift, as_square_matrix(cov, "cov", p))
    else:
        metric = Metric.from_precision(shift, as_square_matrix(precision, "precision", p))
    return metric._pairwise_data(A, B, squared)
