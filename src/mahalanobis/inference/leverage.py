"""Leverage: the diagonal of the hat matrix of a regression on [1, X]."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._linalg import mean_and_cov
from .._validation import as_data, check_sample_covariance
from ..metric import Metric

__all__ = ["leverage"]


def leverage(X: Any, *, nan_policy: str = "raise") -> Any:
    """Hat-matrix diagonal h_ii of the linear model with design [1, X] (intercept added).

    Computed from Mahalanobis distances, without forming the n x n hat matrix:
    h_ii = 1/n + D_i^2 / (n - 1), with D_i^2 the squared distance of row i to the column
    means under the sample covariance (divisor n - 1) — the identity behind R's
    ``hatvalues(lm(y ~ X))`` (Belsley, Kuh & Welsch 1980). Values lie in [1/n, 1]; the rule of
    thumb flags h_ii > 2 (p + 1) / n.

    Parameters
    ----------
    X : array-like or DataFrame (n, p)
        The regressors only (no intercept column).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    ndarray (n,), or a pandas Series (named "leverage") with X's index for a DataFrame.
    """
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' cannot estimate a covariance; use 'raise' or "
                         "'omit'.")
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=2)
    check_sample_covariance(data)
    A = data.values
    n = A.shape[0]
    center, S = mean_and_cov(A)
    d2 = Metric(center, S).distance(A, squared=True)
    h = 1.0 / n + d2 / (n - 1.0)
    np.clip(h, 1.0 / n, 1.0, out=h)
    if data.index is None:
        return h
    import pandas as pd
    return pd.Series(h, index=data.index, name="leverage")
