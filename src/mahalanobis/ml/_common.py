"""Helpers shared by the scikit-learn estimators: optional import, fitting a scatter by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _array_api
from ..metric import Metric

__all__ = ["check_sklearn", "fit_metric", "ridge_metric", "shared_scatter"]


def check_sklearn() -> None:
    """ImportError naming the extra to install when scikit-learn is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - sklearn is installed in dev
        raise ImportError("mahalanobis.ml needs scikit-learn; install it with "
                          "`pip install mahalanobis[sklearn]`.") from exc


def _estimator_function(method: Any) -> Callable[..., Metric] | None:
    from .. import covariance
    if callable(method):
        return None
    if not isinstance(method, str) or method not in covariance.available_methods():
        raise ValueError(
            f"method must be one of {', '.join(map(repr, covariance.available_methods()))} "
            f"(the methods of mahalanobis.fit) or a callable X -> Metric; got {method!r}.")
    return covariance.get_estimator(method)


def fit_metric(X: np.ndarray, method: Any, options: dict[str, Any] | None = None,
               random_state: Any = None, name: str = "method") -> Metric:
    """Fit a :class:`Metric` to checked data X with ``mahalanobis.fit(X, method=method)``.

    ``method`` may also be a callable ``X -> Metric``. ``random_state`` is passed on when the
    estimator takes one and ``options`` does not set it already.
    """
    options = dict(options or {})
    func = _estimator_function(method)
    if func is None:
        metric = method(X, **options)
        if not isinstance(metric, Metric):
            raise ValueError(f"{name} is a callable but returned {type(metric).__name__}; it "
                             "must return a mahalanobis.Metric (e.g. lambda X: mh.fit(X)).")
        return metric
    if random_state is not None and "random_state" not in options:
        if "random_state" in inspect.signature(func).parameters:
            options["random_state"] = random_state
    from ..covariance import fit
    return fit(X, method=method, **options)


def ridge_metric(center: np.ndarray, S: np.ndarray, reg: float) -> Metric:
    """Metric(center, S + reg * mean(diag S) * I): a ridge relative to the average variance.

    S may be an array of an Array API library: the metric is then built on its device."""
    if not _array_api.is_foreign(S):
        S = np.asarray(S, dtype=float)
    if reg > 0:
        mean_var = _array_api.trace_and_fro2(S)[0] / S.shape[0]
        S = _array_api.add_diagonal(S, reg * max(mean_var, np.finfo(float).tiny))
    return Metric(center, S)


def shared_scatter(X: np.ndarray, labels: np.ndarray, centers: np.ndarray, method: Any,
                   options: dict[str, Any] | None, random_state: Any) -> np.ndarray:
    """Pooled within-group scatter: the estimator applied to the residuals x_i - m_{g(i)}.

    For the empirical estimator this is the usual pooled covariance with divisor n - K (as in
    linear discriminant analysis); for a robust estimator it is the approach of Hubert & Van
    Driessen (2004), "Fast and robust discriminant analysis", CSDA 45, 301-320: robust group
    centres, then one robust scatter of the pooled residuals.
    """
    R = X - centers[labels]
    n, K = X.shape[0], centers.shape[0]
    if method == "empirical":
        S = R.T @ R / max(n - K, 1)
        return (S + S.T) / 2
    m = fit_metric(R, method, options, random_state)
    return np.asarray(m.cov)
