"""Dask back end of the decisions layer: leverage and Hotelling's T^2 of dask collections.

Both need only the exact one-pass moments of the data (merged across blocks like the empirical
fit, see :mod:`._common`); leverage then scores every row lazily with the in-memory kernel, so
no block ever leaves its worker and the data are never gathered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metric import Metric
from ._common import check_fit_nan_policy, check_moments, moments, prepare
from ._score import map_rows, scorer_of

__all__ = ["hotelling_iv_dask", "leverage_dask", "sample_moments_dask"]


def sample_moments_dask(X: Any, name: str = "X", *, nan_policy: str = "raise",
                        feature_names: Any = None, covariance: bool = False) -> Any:
    """``(prepared input, merged moments)`` of a dask collection in one pass."""
    check_fit_nan_policy(nan_policy)
    prep = prepare(X, name, feature_names=feature_names)
    mom = moments(prep, nan_policy)
    if mom.n < 2:
        raise ValueError(f"{name} has fewer than 2 usable rows; pass at least 2 rows of data.")
    if covariance:
        check_moments(mom, prep.columns, name)
    return prep, mom


def _leverage_rows(A: np.ndarray, scorer: Any, n: int) -> np.ndarray:
    h = 1.0 / n + scorer.sq(A) / (n - 1.0)
    return np.clip(h, 1.0 / n, 1.0, out=h)


def leverage_dask(X: Any, *, nan_policy: str = "raise") -> Any:
    """Hat-matrix diagonal of a dask Array (-> lazy dask Array) or DataFrame (-> lazy dask
    Series named "leverage"): one pass for the moments, then lazy per-block scoring."""
    prep, mom = sample_moments_dask(X, "X", nan_policy=nan_policy, covariance=True)
    S = mom.M2 / (mom.n - 1)
    metric = Metric(mom.mean, (S + S.T) / 2)
    return map_rows(prep, _leverage_rows, scorer_of(metric), mom.n, dtype=float,
                    name="leverage", nan_policy=nan_policy)


def hotelling_iv_dask(X: Any, Y: Any, mu: Any, paired: bool, method: str, nan_policy: str,
                      methods: tuple[str, ...], unequal: tuple[str, ...]) -> tuple[Any, ...]:
    """Hotelling's T^2 of dask input: the moments of each sample (or of the paired
    differences X - Y, formed lazily) in one pass each; the test itself needs nothing else.
    Random projections need the rows in memory and are refused."""
    from .._validation import as_vector, check_choice, is_dask
    check_choice(method, "method", methods)
    if method == "random_projection":
        raise ValueError("method='random_projection' needs the rows in memory; compute the "
                         "dask input first (X.compute()) or use another method.")
    if Y is None and (paired or method in unequal):
        raise ValueError("paired=True needs Y, the second measurement of the same units."
                         if paired else f"method={method!r} compares two samples; pass Y.")
    if not is_dask(X) or (Y is not None and not is_dask(Y)):
        raise ValueError("pass X and Y both as dask collections (or both in memory).")
    if paired and method in unequal:
        raise ValueError(f"method={method!r} is for two independent samples; a paired test is "
                         "a one-sample test of the differences (use method='pooled').")
    prep_x = prepare(X, "X")
    names = tuple(map(str, prep_x.columns)) if prep_x.columns is not None else None
    p = prep_x.n_features
    my = None
    if paired:
        prep_y = prepare(Y, "Y", n_features=p, feature_names=names)
        if prep_x.kind != "array" or prep_y.kind != "array":
            raise ValueError("paired=True with dask input needs dask Arrays (for DataFrames "
                             "pass X - Y as one sample).")
        _, mx = sample_moments_dask(prep_x.obj - prep_y.obj, "X - Y", nan_policy=nan_policy)
    else:
        _, mx = sample_moments_dask(X, "X", nan_policy=nan_policy)
        if Y is not None:
            _, my = sample_moments_dask(Y, "Y", nan_policy=nan_policy, feature_names=names)
            if my.mean.shape[0] != p:
                raise ValueError(f"X has {p} columns but Y has {my.mean.shape[0]}; both "
                                 "samples must measure the same features.")
    mu = np.zeros(p) if mu is None else as_vector(mu, "mu", p)
    return None, None, mx, my, mu, names, p
