"""Fitting dask input: the hook behind ``mahalanobis.fit`` for dask Arrays and DataFrames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._validation import call_with_options
from ..metric import Metric
from ._common import require_dask

__all__ = ["fit"]

_METHODS = ("empirical", "mcd", "ledoit_wolf", "oas", "ridge")


def fit(X: Any, method: str = "empirical", **options: Any) -> Metric:
    """Fit a metric to a dask Array or DataFrame (the hook behind ``mahalanobis.fit``).

    ``method="empirical"`` takes the options of :func:`mahalanobis.covariance.empirical`
    (``location``, ``ddof``, ``nan_policy``); ``method="mcd"`` those of
    :func:`mahalanobis._dask._mcd.mcd_dask` (the in-memory MCD options plus ``sample_size``);
    ``"ledoit_wolf"``, ``"oas"`` and ``"ridge"`` those of the in-memory estimators (one pass;
    cross-validated ridge two, see :mod:`._shrinkage`).
    """
    require_dask()
    estimator: Callable[..., Metric]
    if method == "empirical":
        from ._empirical import empirical as estimator
    elif method == "mcd":
        from ._mcd import mcd_dask as estimator
    elif method == "ledoit_wolf":
        from ._shrinkage import ledoit_wolf_dask as estimator
    elif method == "oas":
        from ._shrinkage import oas_dask as estimator
    elif method == "ridge":
        from ._shrinkage import ridge_dask as estimator
    else:
        raise ValueError(f"method={method!r} is not available for dask input; use one of "
                         f"{', '.join(map(repr, _METHODS))}, or compute X into memory first "
                         "(X.compute()) when it fits.")
    return call_with_options(estimator, X, options, method, " for dask input")
