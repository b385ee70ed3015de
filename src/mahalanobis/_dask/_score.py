"""Lazy distances, p-values and outlier flags of dask collections under a fitted Metric.

The metric's factor (centre, triangular whitening matrix and, for ill-conditioned scatter, the
pieces of the refinement step) is packed into one small :class:`Scorer` that enters the task
graph once, as a single Delayed object; every block task refers to it by key. Each block is
scored by the in-memory kernel (``Metric._sq``), so results equal the in-memory ones row by
row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .._validation import check_nan_policy
from ..metric import Metric
from ._common import Prepared, finite_rows, nan_error, prepare, require_dask, to_float

_NAMES = {"distance": "distance", "d2": "d2", "pvalue": "pvalue", "outlier": "outlier"}


class Scorer:
    """The parts of a Metric that distances need (no n-sized diagnostics of a fit)."""

    def __init__(self, metric: Metric) -> None:
        self._center = np.asarray(metric._center)
        self._W = np.asarray(metric._W)
        self._W_lower = metric._W_lower
        self._rcond = metric._rcond
        self._cov = None if metric._cov is None else np.asarray(metric._cov)
        self._L = None if metric._L is None else np.asarray(metric._L)
        self._precision = None if metric._precision is None else np.asarray(metric._precision)
        self.n_features = metric.n_features

    def __dask_tokenize__(self) -> Any:
        from dask.base import tokenize
        return ("mahalanobis-scorer", tokenize(self._center, self._W, self._W_lower,
                                               self._rcond, self._cov, self._L,
                                               self._precision))

    def sq(self, A: np.ndarray) -> np.ndarray:
        """Squared distances of a checked float block, clamped at 0 (the in-memory kernel)."""
        d2 = Metric._sq(self, A)  # type: ignore[arg-type]
        return np.maximum(d2, 0.0, out=d2)


def scorer_of(metric: Metric) -> Any:
    """The metric's Scorer as one Delayed object (one key in the graph)."""
    dask = require_dask()
    return dask.delayed(Scorer(metric), pure=True)


def _transform(d2: np.ndarray, what: str, p: int, cut: float) -> np.ndarray:
    if what == "distance":
        return np.sqrt(d2, out=d2)
    if what == "pvalue":
        return stats.chi2.sf(d2, p)
    if what == "outlier":
        return d2 > cut
    return d2


def _score_rows(A: np.ndarray, scorer: Scorer, what: str, cut: float) -> np.ndarray:
    return _transform(scorer.sq(A), what, scorer.n_features, cut)


def _block_rows(block: Any, fn: Any, args: tuple, nan_policy: str, offset: int | None,
                index: int, name: str) -> Any:
    """Apply ``fn(A, *args[, index])`` to one block's rows, honouring ``nan_policy``.

    ``args`` may hold per-block lists (wrapped in :class:`PerBlock`), resolved by ``index``.
    Returns a 1-D array, or a pandas Series with the block's index for DataFrame blocks.
    """
    A = to_float(block)
    args = tuple(a.values[index] if isinstance(a, PerBlock) else a for a in args)
    if nan_policy != "propagate":
        ok = finite_rows(A)
        if not ok.all():
            if nan_policy == "raise":
                raise nan_error(block, ~ok, offset)
            A = A[ok]
            if hasattr(block, "index"):
                block = block[ok]
    out = fn(A, *args)
    if hasattr(block, "index"):
        import pandas as pd
        return pd.Series(out, index=block.index, name=name)
    return out


class PerBlock:
    """A list of per-block values passed to :func:`map_rows` (entry i goes to block i)."""

    def __init__(self, values: Any) -> None:
        self.values = list(values)


def map_rows(prep: Prepared, fn: Any, *args: Any, dtype: Any, name: str,
             nan_policy: str = "raise") -> Any:
    """Lazy per-row values ``fn(A_block, *args)``: a dask Array, or a dask Series with the
    DataFrame's index. Delayed objects in ``args`` enter the graph once."""
    if prep.kind == "frame":
        import pandas as pd
        meta = pd.Series(np.empty(0, dtype=dtype), name=name, index=prep.obj._meta.index)

        def part(block: Any, *a: Any, partition_info: Any = None) -> Any:
            i = partition_info["number"] if partition_info else 0
            return _block_rows(block, fn, a, nan_policy, None, i, name)

        return prep.obj.map_partitions(part, *args, meta=meta, align_dataframes=False)
    import dask.array as da
    arr, offsets = prep.obj, prep.offsets

    def func(block: np.ndarray, *a: Any, block_info: Any = None) -> np.ndarray:
        i = block_info[0]["chunk-location"][0] if block_info else 0
        off = offsets[i] if offsets is not None else None
        return _block_rows(block, fn, a, nan_policy, off, i, name)

    chunks = ((np.nan,) * len(arr.chunks[0]),) if nan_policy == "omit" else (arr.chunks[0],)
    return da.map_blocks(func, arr, *args, drop_axis=1, chunks=chunks, dtype=dtype,
                         meta=np.empty(0, dtype=dtype))


def score(metric: Metric, X: Any, what: str, *, alpha: float = 0.025,
          nan_policy: str = "raise") -> Any:
    """Lazy per-row scores of a dask Array (-> dask Array) or DataFrame (-> dask Series).

    ``what`` is "d2", "distance", "pvalue" or "outlier". Nothing is computed here; with
    ``nan_policy="raise"`` a row with NaN or inf raises a ValueError when the result is
    computed; ``"omit"`` drops such rows (an array result then has unknown chunk sizes);
    ``"propagate"`` gives NaN for them.
    """
    check_nan_policy(nan_policy)
    prep = prepare(X, "X", n_features=metric.n_features, feature_names=metric.feature_names)
    p = metric.n_features
    cut = float(stats.chi2.isf(alpha, p)) if what == "outlier" else 0.0
    return map_rows(prep, _score_rows, scorer_of(metric), what, cut,
                    dtype=bool if what == "outlier" else float, name=_NAMES[what],
                    nan_policy=nan_policy)


def metric_distance(metric: Metric, X: Any, squared: bool = False, *,
                    nan_policy: str = "raise") -> Any:
    """Hook behind ``Metric.distance`` for dask input: lazy D (or D^2)."""
    return score(metric, X, "d2" if squared else "distance", nan_policy=nan_policy)


def metric_pvalue(metric: Metric, X: Any, *, nan_policy: str = "raise") -> Any:
    """Hook behind ``Metric.pvalue`` for dask input: lazy chi-squared p-values."""
    return score(metric, X, "pvalue", nan_policy=nan_policy)


def metric_outliers(metric: Metric, X: Any, alpha: float = 0.025, *,
                    nan_policy: str = "raise") -> Any:
    """Hook behind ``Metric.outliers`` for dask input: lazy boolean flags, D^2 > chi2 cutoff."""
    return score(metric, X, "outlier", alpha=alpha, nan_policy=nan_policy)
