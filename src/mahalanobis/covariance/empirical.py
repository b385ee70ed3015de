"""Classical (empirical) location and scatter."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _array_api
from .._sample import sample_moments
from .._validation import (
    as_vector,
    as_xp_data,
    as_xp_vector,
    check_int,
    check_sample_covariance,
)
from ._base import FitResult

__all__ = ["empirical"]

_LOCATIONS = ("mean", "median")


def empirical(X: ArrayLike, *, location: Any = "mean", ddof: int | None = None,
              nan_policy: str = "raise") -> FitResult:
    """Classical location and scatter of X.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        Also an array of an Array API library (PyTorch, JAX, CuPy, ...): the estimate is then
        accumulated on X's device in float64 where the device has it (float32 data included)
        and the result keeps its centre and factor there.
    location : {"mean", "median"} or array-like of shape (p,)
        Scatter about the column means, the componentwise medians, or a given location.
    ddof : int, optional
        Divisor is n - ddof. Default: 1 when the location is estimated from X ("mean" or
        "median"), 0 when it is given (nothing was estimated).
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    FitResult
        A Metric with ``method="empirical"`` and ``n_samples``.

    Raises
    ------
    ValueError
        For fewer than 2 rows, NaN with ``nan_policy="raise"``, or a bad ``location``.
    SingularCovarianceError
        When the sample covariance is singular (a constant column, n <= p, collinear
        columns).

    See Also
    --------
    mahalanobis.fit : ``method="empirical"`` is the default.
    mcd : A robust alternative.
    ledoit_wolf : A well-conditioned alternative when p is large.

    Notes
    -----
    One pass over X (:func:`mahalanobis._linalg.moments`): the sums are accumulated exactly,
    so the mean and the covariance are correctly rounded (R's long-double ``cov`` gives the
    same numbers) for n p^2 up to 6.7e7, and within a few units in the last place beyond; the
    same pass finds constant columns and NaN/inf.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import empirical
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> r = empirical(X)
    >>> bool(np.allclose(r.cov, np.cov(X.T))), r.n_samples
    (True, 100)
    >>> empirical(X, location="median").center.round(3)
    array([-0.193, -0.092,  0.058])
    """
    if ddof is not None:
        ddof = check_int(ddof, "ddof", 0)
    if _array_api.is_foreign(X):  # Array API input: computed on its own device
        return _empirical_xp(X, location, ddof, nan_policy)
    data, mom = sample_moments(X, "X", nan_policy=nan_policy, min_samples=2)
    A = data.values
    p = A.shape[1]
    about = None  # the co-moments' reference point: the mean unless another location is asked
    if isinstance(location, str):
        if location not in _LOCATIONS:
            raise ValueError(f"location must be 'mean', 'median' or an array of length {p}; "
                             f"got {location!r}.")
        center = mom.mean if location == "mean" else np.median(A, axis=0)
        if location == "median":
            about = center
        ddof = 1 if ddof is None else ddof
    else:
        center = about = as_vector(location, "location", p)
        ddof = 0 if ddof is None else ddof
    if A.shape[0] - ddof <= 0:
        raise ValueError(f"ddof={ddof} leaves no degrees of freedom with {A.shape[0]} rows "
                         "(the divisor is n - ddof); pass ddof < n.")
    S = mom.scatter(ddof, center=about)
    return FitResult._build(center, cov=S, method="empirical", n_samples=A.shape[0], data=data)


def _empirical_xp(X: Any, location: Any, ddof: int | None, nan_policy: str) -> FitResult:
    """:func:`empirical` of an Array API array (PyTorch, JAX, CuPy...), on its device."""
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    data = as_xp_data(X, "X", nan_policy=nan_policy, min_samples=2)
    check_sample_covariance(data)
    A = data.values
    p = A.shape[1]
    if isinstance(location, str):
        if location not in _LOCATIONS:
            raise ValueError(f"location must be 'mean', 'median' or an array of length {p}; "
                             f"got {location!r}.")
        center = None if location == "mean" else _array_api.median(A)
        ddof = 1 if ddof is None else ddof
    else:
        center = as_xp_vector(location, "location", *_array_api.context(A), p)
        ddof = 0 if ddof is None else ddof
    center, S = _array_api.mean_and_cov(A, center, ddof=ddof)
    return FitResult._build(center, cov=S, method="empirical", n_samples=A.shape[0], data=data)
