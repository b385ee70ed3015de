"""Ledoit-Wolf, OAS and ridge of dask collections: one-pass estimators, never gathered.

Ledoit-Wolf and OAS need only the sample covariance and (Ledoit-Wolf) the fourth-moment sum
sum_k ||x_k - m||^4: each block's exact moments with their fourth-moment sums, merged by the
tree of :mod:`._common` (the sums shifted to the merged mean at each merge). Ridge with a given
``lam`` needs the covariance alone. Cross-validated ridge makes two passes: per-fold moments
(training moments of fold k = the merge of the other folds), then the held-out Gaussian
log-likelihood of every block's rows for the whole grid. The folds are given (``folds=``, a
dask array chunked like X's rows, or a numpy array) or drawn per block from ``random_state``
and the block's position, so both passes see the same assignment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_nonnegative, check_random_state
from ..covariance.shrinkage import (
    RidgeCovariance,
    ShrunkCovariance,
    _check_cv,
    _heldout_loglik,
    _ledoit_wolf_shrinkage,
    _oas_shrinkage,
    _ridge_grid,
    _ridge_result,
    _shrunk_metric,
    _spectrum,
)
from ._common import (
    Moments,
    Prepared,
    check_fit_nan_policy,
    finite_rows,
    merge_many,
    moments,
    moments_of,
    nan_error,
    prepare,
    require_dask,
    to_float,
)

__all__ = ["ledoit_wolf_dask", "oas_dask", "ridge_dask"]

_FORMULAS = ("paper", "sklearn")


def _scatter(prep: Prepared, nan_policy: str, assume_centered: bool, fourth: bool
             ) -> tuple[Moments, np.ndarray, np.ndarray, float]:
    check_fit_nan_policy(nan_policy)
    mom = moments(prep, nan_policy, fourth=fourth)
    if mom.n < (1 if assume_centered else 2):
        raise ValueError("X has too few usable rows; pass at least 2 rows of data.")
    p = mom.mean.shape[0]
    center = np.zeros(p) if assume_centered else mom.mean
    d = mom.mean - center
    S = (mom.M2 + mom.n * np.outer(d, d)) / mom.n
    q4 = 0.0
    if fourth and mom.q4 is not None and mom.t is not None:
        dd = float(d @ d)
        q4 = float(mom.q4 + 4.0 * (d @ mom.t) + 4.0 * (d @ mom.M2 @ d)
                   + 2.0 * dd * np.trace(mom.M2) + mom.n * dd * dd)
    return mom, center, (S + S.T) / 2, q4


def _fit_info(prep: Prepared, mom: Moments) -> dict[str, Any]:
    return {"n_samples": mom.n, "feature_names": prep.columns, "omitted": mom.dropped}


def ledoit_wolf_dask(X: Any, *, assume_centered: bool = False,
                     nan_policy: str = "raise") -> ShrunkCovariance:
    """:func:`mahalanobis.covariance.ledoit_wolf` of a dask Array or DataFrame, one pass."""
    prep = prepare(X, "X")
    mom, center, S, q4 = _scatter(prep, nan_policy, bool(assume_centered), True)
    shrinkage = _ledoit_wolf_shrinkage(S, q4, mom.n)
    return _shrunk_metric(None, center, S, shrinkage, "ledoit_wolf", **_fit_info(prep, mom))


def oas_dask(X: Any, *, assume_centered: bool = False, formula: str = "paper",
             nan_policy: str = "raise") -> ShrunkCovariance:
    """:func:`mahalanobis.covariance.oas` of a dask Array or DataFrame, one pass."""
    from .._validation import check_choice
    check_choice(formula, "formula", _FORMULAS)
    prep = prepare(X, "X")
    mom, center, S, _ = _scatter(prep, nan_policy, bool(assume_centered), False)
    shrinkage = _oas_shrinkage(S, mom.n, formula)
    return _shrunk_metric(None, center, S, shrinkage, "oas", **_fit_info(prep, mom))


# --------------------------------------------------------------------------- ridge
def _block_labels(n_rows: int, block: int, labels: Any, cv: int, seed: int) -> np.ndarray:
    """Fold labels of one block's rows: given, or drawn from (seed, block position)."""
    if labels is not None:
        out = np.asarray(labels)
        if out.shape != (n_rows,) or out.dtype.kind not in "iu":
            raise ValueError("folds must be integer labels chunked like X's rows; got a block "
                             f"of {out.dtype} with shape {out.shape} for {n_rows} rows.")
        return out
    return np.random.default_rng([seed, block]).integers(0, cv, size=n_rows)


def _finite_block(block: Any, labels: np.ndarray, nan_policy: str, offset: Any
                  ) -> tuple[np.ndarray, np.ndarray]:
    A = to_float(block)
    ok = finite_rows(A)
    if not ok.all():
        if nan_policy == "raise":
            raise nan_error(block, ~ok, offset)
        A, labels = A[ok], labels[ok]
    return A, labels


def _fold_moments(block: Any, labels: Any, index: int, cv: int, seed: int, nan_policy: str,
                  offset: Any) -> dict[int, Moments]:
    """Pass 1 of one block: the moments of its rows in each fold."""
    n_rows = len(block)
    lab = _block_labels(n_rows, index, labels, cv, seed)
    A, lab = _finite_block(block, lab, nan_policy, offset)
    return {int(k): moments_of(A[lab == k]) for k in np.unique(lab)}


def _merge_folds(*parts: dict[int, Moments]) -> dict[int, Moments]:
    out: dict[int, Moments] = {}
    for part in parts:
        for k, m in part.items():
            out[k] = merge_many(out[k], m) if k in out else m
    return out


def _heldout(block: Any, labels: Any, index: int, cv: int, seed: int, nan_policy: str,
             offset: Any, spectra: dict[int, Any], grid: np.ndarray) -> np.ndarray:
    """Pass 2 of one block: the held-out log-likelihood of its rows, summed, per grid value."""
    lab = _block_labels(len(block), index, labels, cv, seed)
    A, lab = _finite_block(block, lab, nan_policy, offset)
    total = np.zeros(grid.size)
    for k in np.unique(lab):
        m, e, V = spectra[int(k)]
        total += _heldout_loglik(A[lab == k], m, e, V, grid)
    return total


def _label_blocks(prep: Prepared, folds: Any) -> list[Any]:
    """One label array (or Delayed) per block of X, or Nones."""
    nblocks = len(prep.blocks())
    if folds is None:
        return [None] * nblocks
    from .._validation import is_dask
    if is_dask(folds):
        import dask.array as da
        f = folds if isinstance(folds, da.Array) else folds.to_dask_array(lengths=True)
        if f.ndim != 1 or len(f.chunks[0]) != nblocks:
            raise ValueError("folds must be a 1-D dask array chunked like X's rows "
                             f"({nblocks} blocks); rechunk it with folds.rechunk(X.chunks[0]).")
        return list(f.to_delayed())
    labels = np.asarray(folds)
    if prep.offsets is None or prep.kind != "array":
        raise ValueError("folds as a numpy array need a dask Array X with known chunk sizes; "
                         "pass folds as a dask array chunked like X instead.")
    n = int(sum(prep.obj.chunks[0]))
    if labels.shape != (n,):
        raise ValueError(f"folds must have one label per row of X ({n}); got shape "
                         f"{labels.shape}.")
    bounds = [*prep.offsets, n]
    return [labels[bounds[i]:bounds[i + 1]] for i in range(nblocks)]


def ridge_dask(X: Any, *, lam: float | None = None, lams: Any = None, cv: int = 5,
               folds: Any = None, random_state: Any = None,
               nan_policy: str = "raise") -> RidgeCovariance:
    """:func:`mahalanobis.covariance.ridge` of a dask Array or DataFrame: one pass with a given
    ``lam``, two passes (fold moments, held-out likelihood) when it is cross-validated."""
    check_fit_nan_policy(nan_policy)
    prep = prepare(X, "X")
    dask = require_dask()
    if lam is not None:
        lam = check_nonnegative(lam, "lam")
        mom = moments(prep, nan_policy)
        if mom.n < 2:
            raise ValueError("X has fewer than 2 usable rows; pass at least 2 rows of data.")
        grid = scores = None
    else:
        cv = _check_cv(cv)
        seed = int(check_random_state(random_state).integers(2**31 - 1))
        blocks = prep.blocks()
        labels = _label_blocks(prep, folds)
        offsets = prep.offsets or [None] * len(blocks)  # type: ignore[list-item]  # no offset
        task = dask.delayed(_fold_moments, pure=True)
        parts = [task(b, lab, i, cv, seed, nan_policy, off)
                 for i, (b, lab, off) in enumerate(zip(blocks, labels, offsets))]
        per_fold = dask.delayed(_merge_folds, pure=True)(*parts).compute()
        keys = sorted(per_fold)
        if len(keys) < 2:
            raise ValueError("cross-validation found fewer than two folds with rows; give lam "
                             "directly or more data.")
        mom = merge_many(*(per_fold[k] for k in keys))
        p = mom.mean.shape[0]
        S = mom.scatter(1)
        grid = _ridge_grid(S, lams)
        spectra = {}
        for k in keys:
            train = merge_many(*(per_fold[j] for j in keys if j != k))
            if train.n <= p:
                raise ValueError(f"fold {k} leaves {train.n} training rows for {p} features: "
                                 "dask input needs more training rows than features per fold "
                                 "(compute X into memory for p >= n, or use fewer folds).")
            spectra[k] = _spectrum(train.mean, train.scatter(1))
        task2 = dask.delayed(_heldout, pure=True)
        totals = [task2(b, lab, i, cv, seed, nan_policy, off, spectra, grid)
                  for i, (b, lab, off) in enumerate(zip(blocks, labels, offsets))]
        scores = np.sum(dask.compute(*totals), axis=0) / mom.n
        lam = float(grid[int(np.argmax(scores))])
    return _ridge_result(mom.mean, mom.scatter(1), float(lam), grid, scores,
                         **_fit_info(prep, mom))
