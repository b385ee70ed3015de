"""Checked data and its exact moments in one pass: the shared front of every one-pass fit.

``sample_moments`` reads the data without a separate finiteness scan: the co-moment pass itself
notices NaN/inf (they make its sums non-finite), and only then is the data scanned row by row
to apply ``nan_policy`` (an error naming the rows, or dropping them). Constant columns come
from the same pass. So a fit costs one pass over X, not four (finiteness, ptp, mean,
co-moments).
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from ._linalg import Moments, moments
from ._validation import SPREAD_MIN, Data, as_data, check_sample_covariance, check_spread

__all__ = ["sample_moments"]


@overload
def sample_moments(X: Any, name: str = ..., *, nan_policy: str = ..., min_samples: int = ...,
                   fourth: bool = ..., covariance: bool = ..., feature_names: Any = ...,
                   compute: Literal[True] = ...) -> tuple[Data, Moments]: ...
@overload
def sample_moments(X: Any, name: str = ..., *, nan_policy: str = ..., min_samples: int = ...,
                   fourth: bool = ..., covariance: bool = ..., feature_names: Any = ...,
                   compute: bool) -> tuple[Data, Moments | None]: ...
def sample_moments(X: Any, name: str = "X", *, nan_policy: str = "raise",
                   min_samples: int = 2, fourth: bool = False, covariance: bool = True,
                   feature_names: Any = None, compute: bool = True
                   ) -> tuple[Data, Moments | None]:
    """``(data, moments)`` of X after ``nan_policy``; with ``covariance`` (default) also the
    errors for a singular sample covariance (n <= p, constant columns). ``feature_names``:
    DataFrame columns to select (see ``as_data``). ``compute=False`` only checks the data
    (with the usual finiteness scan) and returns no moments."""
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    if not compute:
        return as_data(X, name, nan_policy=nan_policy, min_samples=min_samples,
                       feature_names=feature_names), None
    data = as_data(X, name, nan_policy=nan_policy, min_samples=min_samples,
                   feature_names=feature_names, check_finite=False)
    mom = moments(data.values, fourth=fourth)
    if not mom.finite:
        data = as_data(X, name, nan_policy=nan_policy, min_samples=min_samples,
                       feature_names=feature_names)
        mom = moments(data.values, fourth=fourth)
    var = np.diagonal(mom.M2)
    tiny = (var < data.values.shape[0] * SPREAD_MIN ** 2) & ~mom.constant
    if not mom.finite or (data.values.shape[0] > 1 and np.any(tiny)):
        check_spread(data, name)  # beyond float64's range: says which columns to rescale
    if covariance:
        check_sample_covariance(data, name, constant=mom.constant)
    return data, mom
