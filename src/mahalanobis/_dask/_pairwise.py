"""All-pairs Mahalanobis distances of dask arrays blocked in both dimensions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._linalg import pairwise_sq, whiten_rows
from .._validation import as_square_matrix
from ..metric import Metric
from ._common import check_moments, moments, prepare, require_dask


def _whiten_block(block: np.ndarray, shift: np.ndarray, W: np.ndarray,
                  lower: bool) -> np.ndarray:
    """Rows W (x - shift), as ``Metric.pairwise`` computes them."""
    return whiten_rows(np.asarray(block, dtype=float), shift, W, lower)


def _sq_block(za: np.ndarray, zb: np.ndarray | None) -> np.ndarray:
    return pairwise_sq(za, zb)


def _known_chunks(arr: Any, name: str) -> Any:
    if any(np.isnan(c) for c in arr.chunks[0]):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() "
                         "(or build it with known lengths) before pairwise_dask.")
    return arr


def pairwise_dask(XA: Any, XB: Any = None, *, cov: Any = None, precision: Any = None,
                  squared: bool = False) -> Any:
    """All-pairs distances between the rows of dask arrays XA and XB (or XA with itself).

    The same result as :func:`mahalanobis.pairwise`, as a lazy (n_A, n_B) dask array whose
    blocks follow XA's and XB's row chunks. Each row block is whitened once (one triangular
    multiply by W with W^T W = S^-1); each output block is then the in-memory kernel on a pair
    of whitened blocks: one GEMM with the norm expansion ||a||^2 + ||b||^2 - 2 a.b, clamped at
    0, close pairs recomputed directly. Without XB only the blocks on and above the diagonal
    are computed (the others are their transposes), so the result is exactly symmetric with a
    zero diagonal.

    Parameters
    ----------
    XA, XB : dask Array of shape (n_A, p), (n_B, p)
        Rows to compare; the column chunks are merged (one chunk of p columns).
    cov, precision : array-like of shape (p, p), optional, by keyword
        The scatter, or its inverse. When both are omitted the sample covariance of the rows
        of XA and XB together is used (one extra pass over the data), as in ``mh.pairwise``.
    squared : bool
        False returns D, True returns D^2.

    Returns
    -------
    dask Array of shape (n_A, n_B), lazy.
    """
    dask = require_dask()
    import dask.array as da
    A = _known_chunks(prepare(XA, "XA").obj, "XA")
    if not hasattr(A, "chunks"):  # pragma: no cover - prepare returned a frame
        raise ValueError("XA must be a dask Array; use df.to_dask_array(lengths=True).")
    p = A.shape[1]
    B = None if XB is None else _known_chunks(prepare(XB, "XB", n_features=p).obj, "XB")
    if cov is not None and precision is not None:
        raise ValueError("pass cov= or precision=, not both.")
    if cov is None and precision is None:
        stacked = A if B is None else da.concatenate([A, B], axis=0)
        if stacked.shape[0] <= p:
            raise ValueError(
                f"pairwise_dask needs cov= or precision= when XA (and XB) have "
                f"{stacked.shape[0]} rows for {p} features: the sample covariance is singular.")
        mom = moments(prepare(stacked, "XA"), "raise")
        check_moments(mom, None, "XA")
        metric = Metric(mom.mean, mom.M2 / (mom.n - 1))
        shift: Any = dask.delayed(np.asarray(metric.center), pure=True)
    else:
        if cov is not None:
            metric = Metric(np.zeros(p), as_square_matrix(cov, "cov", p))
        else:
            metric = Metric.from_precision(np.zeros(p),
                                           as_square_matrix(precision, "precision", p))
        # A common shift does not change differences but shrinks the norms (less cancellation
        # in the expansion); mh.pairwise uses the mean of XA, and so does this.
        shift = A.mean(axis=0).to_delayed()[0]
    W = dask.delayed(np.asarray(metric._W), pure=True)
    lower = metric._W_lower
    ZA = da.map_blocks(_whiten_block, A, shift, W, lower, dtype=float)
    za = list(ZA.to_delayed()[:, 0])
    zb = za if B is None else list(da.map_blocks(_whiten_block, B, shift, W, lower,
                                                 dtype=float).to_delayed()[:, 0])
    ra = A.chunks[0]
    rb = ra if B is None else B.chunks[0]
    task = dask.delayed(_sq_block, pure=True)
    rows: list[Any] = []
    for i, a in enumerate(za):
        row = []
        for j, b in enumerate(zb):
            if B is None and j < i:
                row.append(rows[j][i].T)
                continue
            d = task(a, None) if (B is None and i == j) else task(a, b)
            row.append(da.from_delayed(d, shape=(ra[i], rb[j]), dtype=float,
                                       meta=np.empty((0, 0))))
        rows.append(row)
    out = da.block(rows)
    return out if squared else da.sqrt(out)
