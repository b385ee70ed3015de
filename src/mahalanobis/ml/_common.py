"""Helpers shared by the scikit-learn estimators: optional import, fitting a scatter by name."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _array_api
from .._validation import check_random_state
from ..errors import ArgumentTypeError
from ..metric import Metric

__all__ = ["check_array", "check_sklearn", "fit_metric", "fitted_rows", "ridge_metric",
           "shared_scatter", "validate_data"]


def check_sklearn() -> None:
    """ImportError naming the extra to install when scikit-learn is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - sklearn is installed in dev
        raise ImportError("mahalanobis.ml needs scikit-learn; install it with "
                          "`pip install mahalanobis[sklearn]`.") from exc


def _library_error(exc: ValueError, name: str) -> ValueError:
    """scikit-learn's input error in the library's words: the argument named first, what to
    do after (scikit-learn's own sentence is kept, for its estimator checks)."""
    text = " ".join(str(exc).split())
    if re.search(r"\by\b", text.split(".")[0]) and "Input X" not in text:
        name = "y"
    if "NaN" in text or "infinity" in text:
        advice = ("drop or impute the rows with missing values first (e.g. "
                  "X[np.isfinite(X).all(axis=1)]); the scikit-learn estimators take complete data")
    elif "sample(s)" in text:
        advice = "pass more rows of data"
    elif "feature(s)" in text:
        advice = "pass at least one feature column"
    elif "Expected 2D array" in text:
        advice = "pass a 2-D array (n_samples, n_features)"
    elif "could not convert" in text or "dtype" in text:
        advice = "pass numbers only (encode or drop text columns)"
    else:
        return ValueError(f"{name}: {text}")
    return ValueError(f"{name} is not usable: {text} Fix: {advice}.")


def validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn's ``validate_data`` with the library's messages: a DataFrame's
    non-numeric columns are named, and input errors name the argument and the fix."""
    from sklearn.utils import validation

    from .._validation import check_numeric_frame, is_dataframe
    if args and is_dataframe(args[0]):
        check_numeric_frame(args[0], "X")
    try:
        return validation.validate_data(estimator, *args, **kwargs)
    except ValueError as exc:
        raise _library_error(exc, "X") from None


def fitted_rows(estimator: Any, X: Any) -> np.ndarray:
    """Rows for a fitted estimator to score: scikit-learn's ``NotFittedError`` before ``fit``,
    then :func:`validate_data` against the fitted columns, as float64."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    return np.asarray(validate_data(estimator, X, reset=False, dtype=np.float64))


def check_array(array: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn's ``check_array`` with the library's messages (see :func:`validate_data`)."""
    from sklearn.utils import validation

    from .._validation import check_numeric_frame, is_dataframe
    name = kwargs.get("input_name") or "X"
    if is_dataframe(array):
        check_numeric_frame(array, name)
    try:
        return validation.check_array(array, *args, **kwargs)
    except ValueError as exc:
        raise _library_error(exc, name) from None


def _estimator_function(method: Any) -> Callable[..., Metric] | None:
    from .. import covariance
    if callable(method):
        return None
    if not isinstance(method, str) or method not in covariance.available_methods():
        raise (ValueError if isinstance(method, str) else ArgumentTypeError)(
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
    if random_state is not None and not isinstance(random_state, np.random.Generator):
        check_random_state(random_state)  # a bad seed fails whether the method uses it or not
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
