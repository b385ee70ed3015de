"""Functional API: :func:`distance`, :func:`pairwise`, :func:`whiten`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _array_api
from ._deprecation import renamed_parameters
from ._linalg import mean_and_cov
from ._validation import as_data, as_square_matrix, as_xp_data, check_bool, is_dask, is_dataframe
from .metric import Metric

__all__ = ["distance", "pairwise", "whiten"]


def _metric(center: Any, cov: Any, precision: Any, p: int | None = None) -> Metric:
    if (cov is None) == (precision is None):
        raise ValueError("pass exactly one of cov= (a covariance) or precision= (its inverse), "
                         "by keyword.")
    if cov is not None:
        return Metric(center, cov)
    return Metric.from_precision(center, precision)


def distance(X: ArrayLike, center: ArrayLike, cov: ArrayLike | None = None, *,
             precision: ArrayLike | None = None, squared: bool = False,
             nan_policy: str = "raise", dtype: DTypeLike | None = None) -> Any:
    """Mahalanobis distances of the rows of X to ``center``.

    Pass the scatter as ``cov=`` (covariance) or ``precision=`` (inverse covariance), by
    keyword. To reuse one scatter for many calls, build a :class:`Metric` once instead.

    Parameters
    ----------
    X : array-like of shape (n, p)
        The points: a NumPy array, a DataFrame, or an array of an Array API library
        (PyTorch, JAX, CuPy, ...), which is scored on its own device.
    center : array-like of shape (p,)
        The location m the distances are measured from.
    cov, precision : array-like of shape (p, p)
        The scatter or its inverse, exactly one of them, by keyword.
    squared : bool
        False returns D, True returns D^2.
    nan_policy : {"raise", "omit", "propagate", "marginal"}
        ``"marginal"``: each row's distance on its observed coordinates
        (see :meth:`Metric.distance`).
    dtype : {None, "float32", "float64"}
        Dtype of the computation and result; None keeps float32 Array API input in float32
        (see :meth:`Metric.distance` for the accuracy) and computes everything else in float64.

    Returns
    -------
    ndarray of shape (n,)
        D (``squared=False``) or D^2 (``squared=True``): a NumPy array, a Series carrying X's
        index when X is a DataFrame, or an array of X's library on X's device.
        A 1-D ``X`` of length p is one point and gives a float.

    Raises
    ------
    ValueError
        When neither or both of ``cov`` and ``precision`` are given, or for bad input.
    SingularCovarianceError
        When the scatter is not positive definite.

    See Also
    --------
    Metric.distance : the same with the scatter factored once for many calls.
    pairwise : distances between all pairs of rows.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> mh.distance([[1.0, 1.0], [2.0, 0.0]], [0.0, 0.0], cov=[[1.0, 0.5], [0.5, 1.0]])
    array([1.15470054, 2.30940108])
    >>> mh.distance([1.0, 1.0], [0.0, 0.0], cov=[[1.0, 0.5], [0.5, 1.0]])  # one point
    1.1547005384
    """
    squared = check_bool(squared, "squared")
    metric = _metric(center, cov, precision)
    if _is_point(X) and np.shape(X)[0] == metric.n_features:
        # one point of length p: a scalar, as scipy, MATLAB and Distances.jl (another length
        # is rejected below as 1-D data, with the reshape advice)
        x = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
        d = metric.distance(x.reshape(1, -1), squared=squared, nan_policy=nan_policy,
                            dtype=dtype)
        if np.shape(d)[0] == 0:
            raise ValueError("X is a single point with NaN or infinite values, so "
                             "nan_policy='omit' leaves nothing to measure; pass a finite point.")
        return float(d[0])
    return metric.distance(X, squared=squared, nan_policy=nan_policy, dtype=dtype)


def _is_point(X: Any) -> bool:
    """A 1-D NumPy array, list or Series (not a dask or Array API array)."""
    if is_dask(X) or _array_api.is_foreign(X) or is_dataframe(X):
        return False
    try:
        return np.ndim(X) == 1
    except ValueError:  # ragged: the data checks say so
        return False


@renamed_parameters(method="kind")
def whiten(X: ArrayLike, center: ArrayLike, cov: ArrayLike, *, kind: str = "cholesky",
           nan_policy: str = "raise", dtype: DTypeLike | None = None) -> Any:
    """Whitened coordinates of X under N(center, cov); see :meth:`Metric.whiten`.

    Parameters
    ----------
    X : array-like of shape (n, p)
        NumPy, DataFrame, or an Array API array (whitened on its own device).
    center : array-like of shape (p,)
        The location m.
    cov : array-like of shape (p, p)
        The scatter S, symmetric positive definite.
    kind : {"cholesky", "zca", "pca"}
        The whitening transform (see :meth:`Metric.whiten`).
    nan_policy : {"raise", "omit", "propagate"}
        Rows with NaN: an error (default), dropped (with a warning naming them), or NaN.
    dtype : {None, "float32", "float64"}
        As for :func:`distance`.

    Returns
    -------
    ndarray of shape (n, p)
        Z with ||z||^2 = D^2(x), in X's library and on X's device (a DataFrame for a
        DataFrame X).

    Raises
    ------
    SingularCovarianceError
        When ``cov`` is not positive definite.
    ValueError
        For an unknown ``kind`` or badly shaped input.

    See Also
    --------
    Metric.whiten : The same with the scatter factored once.
    distance : The norms of the whitened rows.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> mh.whiten([[2.0, 0.0]], [0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]])
    array([[1., 0.]])
    """
    return Metric(center, cov).whiten(X, kind=kind, nan_policy=nan_policy, dtype=dtype)


def pairwise(XA: ArrayLike, XB: ArrayLike | None = None, *, cov: ArrayLike | None = None,
             precision: ArrayLike | None = None, squared: bool = False,
             nan_policy: str = "raise", dtype: DTypeLike | None = None) -> Any:
    """All-pairs Mahalanobis distances between the rows of XA and XB (or XA with itself).

    Both sets are whitened once (one triangular multiply each); the n_A x n_B squared
    distances then come from one GEMM, ||a||^2 + ||b||^2 - 2 a.b, clamped at 0. Pairs where
    that expansion cancels badly (close points) are recomputed directly, so every entry keeps
    its relative accuracy. With XB omitted the result is exactly symmetric with a zero diagonal.

    When neither ``cov`` nor ``precision`` is given, the sample covariance of the rows of XA
    and XB together is used (as scipy's ``cdist(..., "mahalanobis")`` does).

    Parameters
    ----------
    XA : array-like of shape (n_A, p)
        The first set of points (NumPy, DataFrame, dask or Array API array).
    XB : array-like of shape (n_B, p), optional
        The second set; None gives the distances among the rows of XA.
    cov, precision : array-like of shape (p, p), optional
        The scatter or its inverse, at most one of them, by keyword; neither: the sample
        covariance of the rows of XA and XB together.
    squared : bool
        False returns D, True returns D^2.
    nan_policy : {"raise", "omit", "propagate"}
        Rows with NaN: an error (default), dropped (with a warning naming them), or NaN.
    dtype : {None, "float32", "float64"}
        As for :func:`distance`.

    Returns
    -------
    ndarray of shape (n_A, n_B)
        The distances, or a DataFrame labelled by the inputs' indexes. Dask arrays give a lazy
        dask array blocked like XA's and XB's rows (needs ``cov=`` or ``precision=``). Arrays
        of an Array API library (PyTorch, JAX, CuPy, ...) give an array of that library on
        their device (the default covariance is then accumulated there too).

    Raises
    ------
    ValueError
        When both ``cov`` and ``precision`` are given, or without either when XA and XB have
        too few rows (p or fewer) for a nonsingular sample covariance.
    SingularCovarianceError
        When the scatter is not positive definite.

    See Also
    --------
    Metric.pairwise : The same under a metric's scatter.
    distance : Distances to one centre.
    scipy.spatial.distance.cdist : SciPy's ``"mahalanobis"`` metric (same numbers).

    Examples
    --------
    >>> import mahalanobis as mh
    >>> mh.pairwise([[0.0, 0.0], [2.0, 0.0]], cov=[[4.0, 0.0], [0.0, 1.0]])
    array([[0., 1.],
           [1., 0.]])
    """
    squared = check_bool(squared, "squared")
    if is_dask(XA) or is_dask(XB):
        from ._dask._pairwise import pairwise_dask
        return pairwise_dask(XA, XB, cov=cov, precision=precision, squared=squared)
    if _array_api.is_foreign(XA, XB, cov, precision):
        return _metric_for_pairs_xp(XA, XB, cov, precision).pairwise(
            XA, XB, squared=squared, nan_policy=nan_policy, dtype=dtype)
    A = as_data(XA, "XA", nan_policy=nan_policy)
    p = A.values.shape[1]
    B = None if XB is None else as_data(XB, "XB", n_features=p, nan_policy=nan_policy)
    shift = np.zeros(p)  # the centre plays no part in pairwise distances
    if cov is None and precision is None:
        stacked = A.values if B is None else np.vstack([A.values, B.values])
        stacked = stacked[np.isfinite(stacked).all(axis=1)]
        if stacked.shape[0] <= p:
            raise _too_few_rows(stacked.shape[0], p)
        shift, S = mean_and_cov(stacked)
        metric = Metric(shift, S)
    elif cov is not None and precision is not None:
        raise ValueError("pass cov= or precision=, not both.")
    elif cov is not None:
        metric = Metric(shift, as_square_matrix(cov, "cov", p))
    else:
        metric = Metric.from_precision(shift, as_square_matrix(precision, "precision", p))
    out = metric._pairwise_data(A, B, squared)
    return out.astype(np.float32) if _array_api.check_dtype(dtype) == "float32" else out


def _too_few_rows(n: int, p: int) -> ValueError:
    return ValueError(
        f"pairwise needs cov= or precision= when XA (and XB) have {n} rows for {p} features: "
        "the sample covariance is singular. Pass cov= from a regularised estimator, e.g. "
        "mh.fit(X, method='ledoit_wolf').cov.")


def _metric_for_pairs_xp(XA: Any, XB: Any, cov: Any, precision: Any) -> Metric:
    """The metric of :func:`pairwise` for Array API input: the given scatter, or the sample
    covariance of XA and XB together accumulated on their device (float64 where it has it)."""
    if cov is not None and precision is not None:
        raise ValueError("pass cov= or precision=, not both.")
    if cov is not None or precision is not None:
        p = int(XA.shape[-1]) if hasattr(XA, "shape") else len(XA[0])
        if cov is not None:
            return Metric(np.zeros(p), cov)
        return Metric.from_precision(np.zeros(p), precision)
    A = as_xp_data(XA, "XA", nan_policy="omit").values
    p = int(A.shape[1])
    xp = _array_api.namespace(A)
    if XB is not None:
        B = as_xp_data(XB, "XB", n_features=p, nan_policy="omit").values
        if B.dtype != A.dtype:  # one common dtype: the work dtype (float64 where available)
            wd = _array_api.work_dtype(xp, _array_api.device_of(A))
            A, B = xp.astype(A, wd), xp.astype(B, wd)
        A = xp.concat([A, B], axis=0)
    if A.shape[0] <= p:
        raise _too_few_rows(int(A.shape[0]), p)
    center, M = _array_api.comoments(A, _array_api.work_dtype(xp, _array_api.device_of(A)))
    return Metric(center, M / (A.shape[0] - 1))
