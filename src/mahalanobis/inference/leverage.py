"""Leverage: the diagonal of the hat matrix of a regression on [1, X]."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._sample import sample_moments
from .._validation import is_dask
from ..metric import Metric

__all__ = ["leverage"]


def leverage(X: ArrayLike, *, nan_policy: str = "raise") -> Any:
    """Hat-matrix diagonal h_ii of the linear model with design [1, X] (intercept added).

    Computed from Mahalanobis distances, without forming the n x n hat matrix:
    h_ii = 1/n + D_i^2 / (n - 1), with D_i^2 the squared distance of row i to the column
    means under the sample covariance (divisor n - 1) — the identity behind R's
    ``hatvalues(lm(y ~ X))`` (Belsley, Kuh & Welsch 1980). Values lie in [1/n, 1]; the rule of
    thumb flags h_ii > 2 (p + 1) / n.

    Two passes over X: the exact one-pass mean and covariance, then the fused distance
    kernel. Dask input gives a lazy dask array (Series for a dask DataFrame) from the same two
    passes, without bringing X into memory.

    Parameters
    ----------
    X : array-like, DataFrame or dask collection (n, p)
        The regressors only (no intercept column).
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (with a warning naming them).

    Returns
    -------
    ndarray of shape (n,)
        The leverages; a pandas Series (named "leverage") with X's index for a DataFrame.

    Raises
    ------
    ValueError
        For ``nan_policy="propagate"`` or too few rows for a covariance.
    SingularCovarianceError
        When the sample covariance of X is singular.

    See Also
    --------
    mahalanobis.distance : The squared distances it is built on.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> X[0] = [6.0, 6.0]                       # a high-leverage row
    >>> h = mh.leverage(X)
    >>> h[:3].round(4), round(float(h.sum()), 6)   # the trace is p + 1
    (array([0.5715, 0.0276, 0.028 ]), 3.0)
    """
    if is_dask(X):
        from .._dask._inference import leverage_dask
        return leverage_dask(X, nan_policy=nan_policy)
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' cannot estimate a covariance; use 'raise' or "
                         "'omit'.")
    data, mom = sample_moments(X, "X", nan_policy=nan_policy)
    A = data.values
    n = A.shape[0]
    d2 = Metric(mom.mean, mom.scatter()).distance(A, squared=True)
    h = 1.0 / n + d2 / (n - 1.0)
    np.clip(h, 1.0 / n, 1.0, out=h)
    if data.index is None:
        return h
    import pandas as pd
    return pd.Series(h, index=data.index, name="leverage")
