"""Estimators of location and scatter; each returns a :class:`FitResult` (a fitted
:class:`~mahalanobis.Metric` with the estimator's diagnostics).

:func:`fit` dispatches by method name, so every estimator is reachable in one way, from the
library and from the command line.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from numpy.typing import ArrayLike

from .. import _array_api
from .._scale import mad, qn, scale_tau2, sn
from .._validation import call_with_options, check_choice, is_dask
from ._base import FitResult
from ._mcd_factors import h_alpha_n, mcd_consistency, mcd_small_sample
from ._mcd_missing import MCDMissingResult
from .em import EMResult, em
from .empirical import empirical
from .mcd import MCDResult, mcd
from .mm_estimator import MMResult, mm_estimator
from .mrcd import MRCDResult, mrcd
from .mve import MVEResult, mve
from .ogk import OGKResult, ogk
from .regularized import ModifiedCholeskyPrecision, modified_cholesky
from .s_estimator import SResult, s_estimator
from .shrinkage import RidgeCovariance, ShrunkCovariance, ledoit_wolf, oas, ridge
from .spatial_sign import SpatialSignResult, spatial_sign
from .stahel_donoho import SDEResult, stahel_donoho
from .tyler import TylerResult, tyler

__all__ = [
    "ARRAY_API_METHODS",
    "EMResult",
    "FitResult",
    "MCDMissingResult",
    "MCDResult",
    "MMResult",
    "MRCDResult",
    "MVEResult",
    "ModifiedCholeskyPrecision",
    "OGKResult",
    "RidgeCovariance",
    "SDEResult",
    "SResult",
    "ShrunkCovariance",
    "SpatialSignResult",
    "TylerResult",
    "available_methods",
    "em",
    "empirical",
    "fit",
    "get_estimator",
    "h_alpha_n",
    "ledoit_wolf",
    "mad",
    "mcd",
    "mcd_consistency",
    "mcd_small_sample",
    "mm_estimator",
    "modified_cholesky",
    "mrcd",
    "mve",
    "oas",
    "ogk",
    "qn",
    "ridge",
    "s_estimator",
    "scale_tau2",
    "sn",
    "spatial_sign",
    "stahel_donoho",
    "tyler",
]

#: Methods that take arrays of Array API libraries (PyTorch, JAX, CuPy, ...) and fit on their
#: device; the others raise a TypeError saying how to convert.
ARRAY_API_METHODS = ("empirical", "ledoit_wolf", "oas", "ridge")

# name -> "module:function"; modules are imported on first use.
_METHODS: dict[str, str] = {
    "empirical": "mahalanobis.covariance.empirical:empirical",
    "em": "mahalanobis.covariance.em:em",
    "mcd": "mahalanobis.covariance.mcd:mcd",
    "mrcd": "mahalanobis.covariance.mrcd:mrcd",
    "ledoit_wolf": "mahalanobis.covariance.shrinkage:ledoit_wolf",
    "oas": "mahalanobis.covariance.shrinkage:oas",
    "ridge": "mahalanobis.covariance.shrinkage:ridge",
    "modified_cholesky": "mahalanobis.covariance.regularized:modified_cholesky",
    "ogk": "mahalanobis.covariance.ogk:ogk",
    "mve": "mahalanobis.covariance.mve:mve",
    "s_estimator": "mahalanobis.covariance.s_estimator:s_estimator",
    "mm_estimator": "mahalanobis.covariance.mm_estimator:mm_estimator",
    "stahel_donoho": "mahalanobis.covariance.stahel_donoho:stahel_donoho",
    "tyler": "mahalanobis.covariance.tyler:tyler",
    "spatial_sign": "mahalanobis.covariance.spatial_sign:spatial_sign",
}


def available_methods() -> list[str]:
    """Names accepted by ``fit(X, method=...)``, sorted.

    Returns
    -------
    list of str
        The estimator names.

    See Also
    --------
    fit : Fit one of them.
    get_estimator : The function behind a name.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> mh.available_methods()[:4]
    ['em', 'empirical', 'ledoit_wolf', 'mcd']
    """
    return sorted(name for name, target in _METHODS.items()
                  if importlib.util.find_spec(target.split(":")[0]) is not None)


def get_estimator(method: str) -> Callable[..., FitResult]:
    """The estimator function behind ``fit(X, method=method)``, e.g. ``get_estimator("mcd")``
    is :func:`mcd` (to read its signature or docstring).

    Parameters
    ----------
    method : str
        One of :func:`available_methods`.

    Returns
    -------
    callable
        The estimator; ``get_estimator(m)(X, **options)`` is ``fit(X, method=m, **options)``
        for NumPy input.

    Raises
    ------
    ValueError
        When ``method`` is not an available method (the message lists them).

    See Also
    --------
    available_methods : The names.
    fit : Dispatch to it in one call.

    Examples
    --------
    >>> from mahalanobis.covariance import get_estimator
    >>> get_estimator("mcd").__name__
    'mcd'
    """
    check_choice(method, "method", available_methods())
    module, func = _METHODS[method].split(":")
    return getattr(importlib.import_module(module), func)


def fit(X: ArrayLike, method: str = "empirical", **options: Any) -> FitResult:
    """Estimate location and scatter of X and return the fitted metric.

    ``method`` is one of :func:`available_methods`; ``options`` go to that estimator
    (e.g. ``fit(X, method="empirical", location="median")``).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data: NumPy, pandas, a dask array or DataFrame (fitted block by block), or for
        the methods of ``ARRAY_API_METHODS`` an Array API array (fitted on its device).
    method : str, default "empirical"
        The estimator: "empirical", "mcd", "mrcd", "ledoit_wolf", "oas", "ridge",
        "modified_cholesky", "ogk", "mve", "s_estimator", "mm_estimator", "stahel_donoho",
        "tyler" or "spatial_sign".
    **options
        Keyword arguments of that estimator (``random_state``, ``support_fraction``,
        ``nan_policy``...); see ``help(get_estimator(method))``. ``nan_policy="em"`` fits
        with missing cells: for "empirical" it is :func:`em` (the maximum-likelihood mean and
        covariance), for "mcd" the MCD with EM in its C-steps.

    Returns
    -------
    FitResult
        The fitted metric with the estimator's diagnostics (e.g. :class:`MCDResult`).

    Raises
    ------
    ValueError
        For an unknown method, an option the method does not take, or bad data -- among
        them a column whose spread (max - min) is beyond 1e-150..1e150, whose variance
        float64 cannot hold (rescale it; distances do not change).
    TypeError
        For an Array API array with a method that needs NumPy input;
        :class:`~mahalanobis.ArgumentTypeError` (also a ValueError) for an option of the wrong
        type (``method=3``, ``support_fraction="0.5"``).
    SingularCovarianceError
        When the estimate is singular (:class:`ExactFitError` for the robust methods).

    See Also
    --------
    available_methods : The method names.
    mahalanobis.Metric : What the result measures distances with.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6                                   # five far outliers
    >>> r = mh.fit(X, method="mcd", random_state=0)
    >>> r.h, r.n_outliers, bool(r.outliers(X[:5]).all())
    (52, 7, True)
    """
    if method == "empirical" and options.get("nan_policy") == "em":
        method = "em"  # the classical estimate with missing cells is the EM (ML) estimate
    estimator = get_estimator(method)
    if _array_api.is_foreign(X) and method not in ARRAY_API_METHODS:
        raise _array_api.unsupported(X, "X", f"fit(X, method={method!r})")
    if is_dask(X):
        from .._dask._fit import fit as fit_dask
        return fit_dask(X, method=method, **options)  # type: ignore[return-value]
    return call_with_options(estimator, X, options, method,
                             f"; see help(mahalanobis.covariance.{estimator.__name__})")
