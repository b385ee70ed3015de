"""Classical (empirical) location and scatter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._linalg import chunk_rows
from .._validation import Data, as_data, as_vector, constant_columns_error
from ..errors import SingularCovarianceError
from ..metric import Metric

__all__ = ["check_sample_covariance", "empirical"]

_LOCATIONS = ("mean", "median")


def _comoments(X: np.ndarray, center: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Centre and co-moment matrix sum (x - c)(x - c)^T of X, chunked with bounded memory.

    Pass 1 takes the mean (unless ``center`` is given); pass 2 accumulates the co-moments chunk
    by chunk into one p x p matrix (a BLAS syrk per chunk) together with s = sum (x - m), and
    applies the rounding correction of the "corrected two-pass" algorithm (Chan, Golub &
    LeVeque 1983): the mean becomes m + s / n and s s^T / n is subtracted, so a large common
    offset costs no accuracy. Extra memory is one chunk, whatever n.
    """
    n, p = X.shape
    rows = chunk_rows(p)
    estimated = center is None
    if estimated:
        total = np.zeros(p)
        for s in range(0, n, rows):
            total += X[s:s + rows].sum(axis=0)
        center = total / n
    acc = np.zeros((p, p))
    resid = np.zeros(p)
    buf = np.empty((min(rows, n), p))
    for s in range(0, n, rows):
        b = buf[: min(n, s + rows) - s]
        np.subtract(X[s:s + rows], center, out=b)
        acc += b.T @ b
        resid += b.sum(axis=0)
    if estimated:
        acc -= np.outer(resid, resid) / n
        center = center + resid / n
    return center, (acc + acc.T) / 2


def _two_pass_cov(X: np.ndarray, center: np.ndarray | None = None,
                  ddof: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scatter (divisor n - ddof) of X from :func:`_comoments`."""
    center, M2 = _comoments(X, center)
    return center, M2 / (X.shape[0] - ddof)


def check_sample_covariance(data: Data, name: str = "X") -> None:
    """Errors for data whose sample covariance must be singular: n <= p, constant columns."""
    n, p = data.values.shape
    if n <= p:
        raise SingularCovarianceError(
            f"{name} has {n} rows for {p} features: a sample covariance needs more rows than "
            "features (n_samples > n_features). Use method='ledoit_wolf', 'oas', 'mrcd' or "
            "'modified_cholesky', or select fewer columns.", rank=min(n - 1, p))
    const = np.flatnonzero(np.ptp(data.values, axis=0) == 0)
    if const.size:
        raise constant_columns_error(name, const, data.columns, p)


def empirical(X: Any, *, location: Any = "mean", ddof: int | None = None,
              nan_policy: str = "raise") -> Metric:
    """Classical location and scatter of X.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
    location : {"mean", "median"} or array-like of shape (p,)
        Scatter about the column means, the componentwise medians, or a given location.
    ddof : int, optional
        Divisor is n - ddof. Default: 1 when the location is estimated from X ("mean" or
        "median"), 0 when it is given (nothing was estimated).
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    Metric with ``method="empirical"`` and ``n_samples``.
    """
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=2)
    check_sample_covariance(data)
    A = data.values
    p = A.shape[1]
    if isinstance(location, str):
        if location not in _LOCATIONS:
            raise ValueError(f"location must be 'mean', 'median' or an array of length {p}; "
                             f"got {location!r}.")
        center = None if location == "mean" else np.median(A, axis=0)
        ddof = 1 if ddof is None else ddof
    else:
        center = as_vector(location, "location", p)
        ddof = 0 if ddof is None else ddof
    center, S = _two_pass_cov(A, center, ddof=ddof)
    m = Metric(center, S)
    m._set_fit_info("empirical", A.shape[0], data)
    return m
