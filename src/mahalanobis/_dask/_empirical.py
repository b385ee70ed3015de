"""Classical location and scatter of a dask collection in one pass over the data."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_vector
from ..covariance._base import FitResult
from ._common import Moments, Prepared, check_fit_nan_policy, check_moments, moments, prepare


def empirical(X: Any, *, location: Any = "mean", ddof: int | None = None,
              nan_policy: str = "raise") -> FitResult:
    """Classical location and scatter of a dask Array or DataFrame in one pass.

    Same parameters and result as :func:`mahalanobis.covariance.empirical`, except that
    ``location="median"`` is not offered (it needs more than one pass): pass the medians as an
    array instead.
    """
    return fit_empirical(prepare(X, "X"), location=location, ddof=ddof,
                         nan_policy=nan_policy)[0]


def fit_empirical(prep: Prepared, *, location: Any = "mean", ddof: int | None = None,
                  nan_policy: str = "raise") -> tuple[FitResult, Moments]:
    """The empirical fit of checked input, with the merged moments (block sizes included)."""
    check_fit_nan_policy(nan_policy)
    p = prep.n_features
    given = None
    if isinstance(location, str):
        if location == "median":
            raise ValueError("location='median' is not available for dask input (it needs a "
                             "second pass); pass location=<array of p values>, e.g. from "
                             "dask.array.percentile, or use location='mean'.")
        if location != "mean":
            raise ValueError(f"location must be 'mean' or an array of length {p}; got "
                             f"{location!r}.")
        ddof = 1 if ddof is None else ddof
    else:
        given = as_vector(location, "location", p)
        ddof = 0 if ddof is None else ddof
    # about a given location, the moments of x - location (exact for nearby data)
    mom = moments(prep, nan_policy, given)
    if mom.n < 2:
        raise ValueError("X has fewer than 2 usable rows; pass at least 2 rows of data.")
    check_moments(mom, prep.columns)
    center, M2 = mom.mean, mom.M2
    if given is not None:
        center, M2 = given, M2 + mom.n * np.outer(mom.mean, mom.mean)
    S = M2 / (mom.n - ddof)
    m = FitResult._build(center, cov=(S + S.T) / 2, method="empirical", n_samples=mom.n,
                         feature_names=prep.columns, omitted=mom.dropped)
    return m, mom
