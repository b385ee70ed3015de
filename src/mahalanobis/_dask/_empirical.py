"""Classical location and scatter of a dask collection in one pass over the data."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_vector, constant_columns_error
from ..errors import SingularCovarianceError
from ..metric import Metric
from ._common import (
    Moments,
    Prepared,
    block_moments,
    check_fit_nan_policy,
    prepare,
    require_dask,
    tree_merge,
)


def moments(prep: Prepared, nan_policy: str, shift: np.ndarray | None = None) -> Moments:
    """Moments of all finite rows (of x - shift): one pass, merged by a tree."""
    dask = require_dask()
    blocks = prep.blocks()
    task = dask.delayed(block_moments, pure=True)
    offsets = prep.offsets or [None] * len(blocks)
    parts = [task(b, nan_policy, off, shift) for b, off in zip(blocks, offsets)]
    return tree_merge(parts).compute()


def check_moments(mom: Moments, columns: Any, name: str = "X") -> None:
    """The in-memory checks: more rows than features, no constant column."""
    p = mom.mean.shape[0]
    if mom.n <= p:
        raise SingularCovarianceError(
            f"{name} has {mom.n} usable rows for {p} features: a sample covariance needs more "
            "rows than features (n_samples > n_features). Use a regularised estimator on data "
            "in memory (method='ledoit_wolf', 'oas' or 'mrcd') or select fewer columns.",
            rank=max(min(mom.n - 1, p), 0))
    const = np.flatnonzero(mom.hi == mom.lo)
    if const.size:
        raise constant_columns_error(name, const, columns, p)


def empirical(X: Any, *, location: Any = "mean", ddof: int | None = None,
              nan_policy: str = "raise") -> Metric:
    """Classical location and scatter of a dask Array or DataFrame in one pass.

    Same parameters and result as :func:`mahalanobis.covariance.empirical`, except that
    ``location="median"`` is not offered (it needs more than one pass): pass the medians as an
    array instead.
    """
    return fit_empirical(prepare(X, "X"), location=location, ddof=ddof,
                         nan_policy=nan_policy)[0]


def fit_empirical(prep: Prepared, *, location: Any = "mean", ddof: int | None = None,
                  nan_policy: str = "raise") -> tuple[Metric, Moments]:
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
    m = Metric(center, (S + S.T) / 2, feature_names=prep.columns)
    m._set_fit_info("empirical", mom.n)
    m.omitted = mom.dropped
    return m, mom
