"""Dask back end: fitting and scoring data larger than memory, on one machine or a cluster.

Reached through the ordinary API when the input is a dask Array or DataFrame:

* ``mh.fit(X_dask, method="empirical" | "mcd", ...)`` returns an ordinary (computed)
  :class:`~mahalanobis.Metric`. The empirical fit is one pass over the data: per-block counts,
  means and co-moment matrices merged exactly by a tree of Chan-Golub-LeVeque updates. The MCD
  runs its subset search in memory on a seeded sample and then C-steps over the full data as
  distributed passes (see :mod:`._mcd`).
* ``metric.distance / pvalue / outliers(X_dask)`` return lazy dask objects (a dask Array, or a
  dask Series with the DataFrame's index); the metric's factor enters the graph once.
* :func:`pairwise_dask` for all-pairs distances of arrays blocked in both dimensions and
  :func:`outliers_dask` for the command line (large CSV/Parquet in, a result table out).

dask is imported only here, lazily; without it an ImportError names ``mahalanobis[dask]``.
"""

from __future__ import annotations

from typing import Any

from ..metric import Metric
from ._common import require_dask
from ._score import metric_distance, metric_outliers, metric_pvalue

__all__ = ["fit", "metric_distance", "metric_outliers", "metric_pvalue", "outliers_dask",
           "pairwise_dask"]

_METHODS = ("empirical", "mcd")


def fit(X: Any, method: str = "empirical", **options: Any) -> Metric:
    """Fit a metric to a dask Array or DataFrame (the hook behind ``mahalanobis.fit``).

    ``method="empirical"`` takes the options of :func:`mahalanobis.covariance.empirical`
    (``location``, ``ddof``, ``nan_policy``); ``method="mcd"`` those of
    :func:`mahalanobis._dask._mcd.mcd_dask` (the in-memory MCD options plus ``sample_size``).
    """
    require_dask()
    if method == "empirical":
        from ._empirical import empirical as estimator
    elif method == "mcd":
        from ._mcd import mcd_dask as estimator
    else:
        raise ValueError(f"method={method!r} is not available for dask input; use one of "
                         f"{', '.join(map(repr, _METHODS))}, or compute X into memory first "
                         "(X.compute()) when it fits.")
    try:
        return estimator(X, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise ValueError(f"method={method!r} does not take that option for dask input "
                             f"({exc}).") from None
        raise


def pairwise_dask(XA: Any, XB: Any = None, **kwargs: Any) -> Any:
    """All-pairs distances of dask arrays; see :func:`mahalanobis._dask._pairwise.pairwise_dask`."""
    from ._pairwise import pairwise_dask as _pw
    return _pw(XA, XB, **kwargs)


def outliers_dask(path_or_glob: Any, **kwargs: Any) -> dict[str, Any]:
    """Outliers of a large CSV/Parquet table; see :func:`mahalanobis._dask._io.outliers_dask`."""
    from ._io import outliers_dask as _od
    return _od(path_or_glob, **kwargs)
