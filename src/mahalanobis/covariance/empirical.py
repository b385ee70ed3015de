"""Classical (empirical) location and scatter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._linalg import mean_and_cov
from .._validation import as_data, as_vector, check_sample_covariance
from ._base import FitResult

__all__ = ["empirical"]

_LOCATIONS = ("mean", "median")


def empirical(X: Any, *, location: Any = "mean", ddof: int | None = None,
              nan_policy: str = "raise") -> FitResult:
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
    center, S = mean_and_cov(A, center, ddof=ddof)
    return FitResult._build(center, cov=S, method="empirical", n_samples=A.shape[0], data=data)
