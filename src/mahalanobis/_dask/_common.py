"""Shared pieces of the dask back end: the lazy import, input checks, row blocks and the exact
merge of per-block moments.

Moments are merged with the pairwise update of Chan, Golub & LeVeque (1979, eq. 2.1b): for two
sets with counts n_a, n_b, means m_a, m_b and co-moment matrices M_a, M_b (sums of outer
products of deviations from their own means),

    n = n_a + n_b,   d = m_b - m_a,   m = m_a + d n_b / n,
    M = M_a + M_b + d d^T n_a n_b / n,

which is exact in exact arithmetic and keeps the accuracy of a two-pass algorithm in floating
point, whatever the offset of the data. Each block's own moments come from the exact one-pass
kernel (``_linalg.moments``), so one pass over the data suffices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._linalg import moments as linalg_moments
from .._linalg import shift_fourth
from .._validation import (
    check_nan_policy,
    check_numeric_frame,
    constant_columns_error,
    is_dask,
)
from ..errors import SingularCovarianceError

#: Fan-in of the merge tree (blocks merged by one task).
FAN_IN = 8

_INSTALL = "pip install 'mahalanobis[dask]'"


def require_dask() -> Any:
    """The ``dask`` module, or an ImportError that names the extra to install."""
    try:
        import dask
        import dask.array
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"dask input needs dask and distributed: {_INSTALL}") from None
    return dask


def require_dask_dataframe() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"dask DataFrames need dask[dataframe] (and pandas): {_INSTALL}") \
            from None
    return dd


def is_dask_array(X: Any) -> bool:
    require_dask()
    import dask.array as da
    return isinstance(X, da.Array)


def is_dask_frame(X: Any) -> bool:
    if not is_dask(X):
        return False
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "map_partitions")


@dataclass
class Prepared:
    """Dask input checked and cut into row blocks.

    ``obj`` is a row-chunked dask Array with one column chunk, or a dask DataFrame of the
    selected numeric columns; ``columns`` are the DataFrame's column labels (None for arrays);
    ``offsets`` are the first row of each block when the block sizes are known, else None.
    """

    obj: Any
    kind: str
    columns: Any = None
    offsets: list[int] | None = None

    @property
    def n_features(self) -> int:
        return len(self.columns) if self.kind == "frame" else int(self.obj.shape[1])

    def blocks(self) -> list[Any]:
        """One Delayed object per block of rows (numpy array or pandas DataFrame)."""
        if self.kind == "frame":
            return list(self.obj.to_delayed())
        return list(self.obj.to_delayed()[:, 0])


def prepare(X: Any, name: str = "X", *, n_features: int | None = None,
            feature_names: Any = None) -> Prepared:
    """Check a dask Array or DataFrame: 2-D, numeric, the expected columns.

    DataFrame columns named like ``feature_names`` are selected in that order; otherwise the
    columns are taken by position. Non-numeric columns are an error raised here, before any
    computation.
    """
    require_dask()
    if is_dask_frame(X):
        if not hasattr(X, "columns"):
            raise ValueError(f"{name} is a dask Series; pass a dask DataFrame or a 2-D array.")
        cols = list(X.columns)
        if feature_names is not None:
            by_str = {str(c): c for c in cols}
            if set(feature_names) <= set(by_str):
                X = X[[by_str[n] for n in feature_names]]
                cols = list(X.columns)
        check_numeric_frame(X, name)
        if not cols:
            raise ValueError(f"{name} has no columns; pass at least one feature.")
        prep = Prepared(X, "frame", columns=cols)
    elif is_dask_array(X):
        if X.ndim != 2:
            hint = (f" Use {name}.reshape(-1, 1) for a single feature." if X.ndim == 1 else "")
            raise ValueError(f"{name} must be 2-D (n_samples, n_features); got a dask array "
                             f"with shape {X.shape}.{hint}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{name} has dtype {X.dtype}; Mahalanobis distances need real "
                             "numbers (convert with X.astype(float)).")
        if X.shape[1] == 0:
            raise ValueError(f"{name} has no columns; pass at least one feature.")
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        offsets = None
        if not any(np.isnan(c) for c in X.chunks[0]):
            offsets = [0, *np.cumsum(X.chunks[0][:-1]).astype(int).tolist()]
        prep = Prepared(X, "array", offsets=offsets)
    else:
        raise ValueError(f"{name} is a {type(X).__name__}; pass a dask Array or DataFrame.")
    if n_features is not None and prep.n_features != n_features:
        raise ValueError(f"{name} has {prep.n_features} columns but {n_features} were expected "
                         "(the dimension of the centre and scatter); pass data with matching "
                         "columns.")
    return prep


def to_float(block: Any) -> np.ndarray:
    """A block (numpy array or pandas DataFrame) as a 2-D float array."""
    if hasattr(block, "to_numpy"):
        return block.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(block, dtype=float)


def finite_rows(A: np.ndarray) -> np.ndarray:
    return np.isfinite(A).all(axis=1)


def nan_error(block: Any, bad: np.ndarray, offset: int | None, name: str = "X") -> ValueError:
    """The error for non-finite rows under nan_policy='raise' (raised inside a task)."""
    pos = np.flatnonzero(bad)
    if hasattr(block, "index"):
        labels = [block.index[i] for i in pos[:5]]
        where = f"index labels {labels}"
    elif offset is not None:
        where = f"rows {(pos[:5] + offset).tolist()}"
    else:
        where = f"rows {pos[:5].tolist()} of one block"
    more = f" and {pos.size - 5} more in that block" if pos.size > 5 else ""
    return ValueError(
        f"{name} has NaN or infinite values ({where}{more}); pass nan_policy='omit' to drop "
        "those rows, or fill them first (e.g. X.fillna(...) or X[da.isfinite(X).all(axis=1)]).")


# ---------------------------------------------------------------------------- moments
@dataclass
class Moments:
    """Count, mean, co-moment matrix, column ranges and dropped rows of a set of rows, and
    (with ``fourth``) the fourth-moment sums Ledoit-Wolf needs: ``q4 = sum ||x - mean||^4``
    and ``t = sum ||x - mean||^2 (x - mean)``. A column is constant iff ``lo == hi``."""

    n_input: int
    n: int
    mean: np.ndarray
    M2: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    dropped: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: Input rows of each block, in block order (so that row positions are known afterwards).
    sizes: tuple[int, ...] = ()
    q4: float | None = None
    t: np.ndarray | None = None

    def scatter(self, ddof: int = 1) -> np.ndarray:
        S = self.M2 / (self.n - ddof)
        return (S + S.T) / 2


def moments_of(A: np.ndarray, n_input: int | None = None,
               dropped: np.ndarray | None = None, fourth: bool = False) -> Moments:
    """Moments of the rows of a float array: one exact pass (``_linalg.moments``), which also
    tells the constant columns (their ``lo == hi`` is their value; other columns get
    ``lo = -inf``, ``hi = +inf``)."""
    n, p = A.shape
    n_input = n if n_input is None else n_input
    dropped = np.empty(0, dtype=np.int64) if dropped is None else dropped.astype(np.int64)
    if n == 0:
        return Moments(n_input, 0, np.zeros(p), np.zeros((p, p)), np.full(p, np.inf),
                       np.full(p, -np.inf), dropped, (n_input,),
                       0.0 if fourth else None, np.zeros(p) if fourth else None)
    mom = linalg_moments(A, fourth=fourth)
    lo = np.where(mom.constant, A[0], -np.inf)
    hi = np.where(mom.constant, A[0], np.inf)
    return Moments(n_input, n, mom.mean, mom.M2, lo, hi, dropped, (n_input,), mom.q4, mom.t)


def merge(a: Moments, b: Moments) -> Moments:
    """Chan, Golub & LeVeque's pairwise update of two sets of moments (b follows a), with the
    fourth-moment sums shifted to the merged mean (``_linalg.shift_fourth``)."""
    dropped = np.concatenate([a.dropped, b.dropped + a.n_input])
    n_input = a.n_input + b.n_input
    if b.n == 0 or a.n == 0:
        s = a if b.n == 0 else b
        return Moments(n_input, s.n, s.mean, s.M2, np.minimum(a.lo, b.lo),
                       np.maximum(a.hi, b.hi), dropped, a.sizes + b.sizes, s.q4, s.t)
    n = a.n + b.n
    d = b.mean - a.mean
    mean = a.mean + d * (b.n / n)
    q4 = t = None
    if a.q4 is not None and b.q4 is not None and a.t is not None and b.t is not None:
        qa, ta = shift_fourth(a.q4, a.t, a.M2, a.n, -d * (b.n / n))
        qb, tb = shift_fourth(b.q4, b.t, b.M2, b.n, d * (a.n / n))
        q4, t = qa + qb, ta + tb
    M2 = a.M2 + b.M2 + np.outer(d, d) * (a.n * (b.n / n))
    return Moments(n_input, n, mean, M2, np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi),
                   dropped, a.sizes + b.sizes, q4, t)


def merge_many(*parts: Moments) -> Moments:
    out = parts[0]
    for m in parts[1:]:
        out = merge(out, m)
    return out


def tree_merge(parts: list[Any]) -> Any:
    """A Delayed merge tree (fan-in FAN_IN) over Delayed Moments, keeping block order."""
    dask = require_dask()
    level = list(parts)
    merge_d = dask.delayed(merge_many, pure=True)
    while len(level) > 1:
        level = [merge_d(*level[i:i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
    return level[0]


def block_moments(block: Any, nan_policy: str, offset: int | None,
                  shift: np.ndarray | None = None, fourth: bool = False) -> Moments:
    """Moments of one block's finite rows (or an error under nan_policy='raise'), of
    ``x - shift`` when a shift is given (the mean then comes out shifted too)."""
    A = to_float(block)
    ok = finite_rows(A)
    n_input = A.shape[0]
    dropped = None
    if not ok.all():
        if nan_policy == "raise":
            raise nan_error(block, ~ok, offset)
        dropped = np.flatnonzero(~ok)
        A = A[ok]
    if shift is not None:
        A = A - shift
    return moments_of(A, n_input, dropped, fourth)


def check_fit_nan_policy(nan_policy: str) -> str:
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    return check_nan_policy(nan_policy)


def moments(prep: Prepared, nan_policy: str, shift: np.ndarray | None = None,
            fourth: bool = False) -> Moments:
    """Moments of all finite rows (of x - shift): one pass, merged by a tree."""
    dask = require_dask()
    blocks = prep.blocks()
    task = dask.delayed(block_moments, pure=True)
    offsets = prep.offsets or [None] * len(blocks)  # type: ignore[list-item]  # None: no offset
    parts = [task(b, nan_policy, off, shift, fourth) for b, off in zip(blocks, offsets)]
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
