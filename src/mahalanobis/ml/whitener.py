"""`MahalanobisWhitener`: map X to coordinates where the Mahalanobis metric is Euclidean."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .. import _linalg
from .._deprecation import renamed_parameters
from .._validation import check_choice
from ._common import check_array, fit_metric, fitted_rows, validate_data

__all__ = ["MahalanobisWhitener"]

_KINDS = ("cholesky", "zca", "pca")


class MahalanobisWhitener(TransformerMixin, BaseEstimator):
    """Whitening transformer: Euclidean geometry after it is Mahalanobis geometry before.

    ``transform(X) = (X - m) W^T`` with ``W^T W = S^-1``, so
    ``||transform(x) - transform(y)||^2 = (x - y)^T S^-1 (x - y)``. Put it in front of any
    Euclidean estimator (``KNeighborsClassifier``, ``NearestNeighbors``, ``KMeans``,
    ``DBSCAN``) to run that estimator in the Mahalanobis metric at BLAS speed, instead of
    passing ``metric="mahalanobis"`` (a Python-level loop over pairs).

    Parameters
    ----------
    method : str or callable, default="empirical"
        Scatter estimator: a method of :func:`mahalanobis.fit` or a callable ``X -> Metric``.
        For data with constant or collinear columns use a regularised one ("ledoit_wolf",
        "oas", "ridge").
    kind : {"cholesky", "zca", "pca"}, default="cholesky"
        ``W = L^-1`` with ``S = L L^T`` (triangular; coordinate k is the standardised residual
        of feature k given features 1..k-1); ``W = S^-1/2`` (ZCA, Bell & Sejnowski 1997: the
        whitening closest to the input coordinates); or ``W = Lambda^-1/2 U^T`` (PCA
        whitening, components by decreasing variance). See Kessy, Lewin & Strimmer (2018),
        "Optimal whitening and decorrelation", The American Statistician 72, 309-314.
    method_options : dict or None, default=None
        Keyword options for the estimator.
    random_state : int, Generator or None, default=None
        Passed to randomised estimators (e.g. "mcd").

    Attributes
    ----------
    metric_ : Metric
        The fitted location and scatter.
    mean_ : ndarray of shape (p,)
        The location m subtracted before whitening.
    whitening_ : ndarray of shape (p, p)
        W, with ``transform(X) = (X - mean_) @ whitening_.T``.
    coloring_ : ndarray of shape (p, p)
        W^-1, with ``inverse_transform(Z) = Z @ coloring_.T + mean_``.

    See Also
    --------
    mahalanobis.whiten : The same transform as a function of a centre and scatter.
    Metric.whiten : The whitened coordinates under a fitted metric.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MahalanobisWhitener
    >>> X = np.random.default_rng(0).standard_normal((200, 2)) @ [[2.0, 0.0], [1.5, 0.5]]
    >>> Z = MahalanobisWhitener().fit_transform(X)
    >>> np.cov(Z.T).round(6) + 0.0                   # identity covariance after whitening
    array([[1., 0.],
           [0., 1.]])
    """

    @renamed_parameters(method="kind:cholesky|zca|pca", estimator="method",
                        estimator_options="method_options")
    def __init__(self, method: Any = "empirical", kind: str = "cholesky",
                 method_options: dict | None = None, random_state: Any = None) -> None:
        self.method = method
        self.kind = kind
        self.method_options = method_options
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MahalanobisWhitener:
        """Fit location and scatter to X. ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Training data (n >= 2).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        MahalanobisWhitener
            self, with ``metric_``, ``mean_``, ``whitening_`` and ``coloring_``.

        Raises
        ------
        ValueError
            When ``kind`` or ``method`` is unknown, or X has fewer than 2 rows or NaN/inf
            values.
        SingularCovarianceError
            When the fitted scatter is singular (use a regularised ``method``).

        See Also
        --------
        MahalanobisWhitener.transform : Whiten rows.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisWhitener
        >>> X = np.random.default_rng(0).standard_normal((200, 2)) @ [[2.0, 0.0], [1.5, 0.5]]
        >>> w = MahalanobisWhitener().fit(X)
        >>> w.whitening_.round(3)
        array([[ 0.393,  0.   ],
               [-0.325,  2.57 ]])
        """
        check_choice(self.kind, "kind", _KINDS)
        X = cast(np.ndarray, validate_data(self, X, ensure_min_samples=2, dtype=np.float64))
        self.metric_ = fit_metric(X, self.method, self.method_options, self.random_state)
        self.mean_ = np.array(self.metric_.center)
        if self.kind == "cholesky":
            L = np.asarray(self.metric_.cholesky)
            self.coloring_ = np.array(L)
            self.whitening_ = np.tril(_linalg.inverse_triangular(L, lower=True))
        else:
            lam, U = np.linalg.eigh(np.asarray(self.metric_.cov))
            lam, U = lam[::-1], U[:, ::-1]
            s = np.sqrt(lam)
            if self.kind == "pca":
                self.whitening_ = U.T / s[:, None]
                self.coloring_ = U * s[None, :]
            else:
                self.whitening_ = (U / s[None, :]) @ U.T
                self.coloring_ = (U * s[None, :]) @ U.T
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Whitened coordinates ``(X - mean_) @ whitening_.T``, shape (n, p).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, p)
            Coordinates whose Euclidean distances are the Mahalanobis distances of X.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the transformer is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisWhitener.inverse_transform : Back to the original coordinates.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisWhitener
        >>> X = np.random.default_rng(0).standard_normal((200, 2)) @ [[2.0, 0.0], [1.5, 0.5]]
        >>> w = MahalanobisWhitener().fit(X)
        >>> w.transform(X[:2]).round(3)
        array([[ 0.083, -0.27 ],
               [ 0.628, -0.416]])
        """
        X = fitted_rows(self, X)
        return (X - self.mean_) @ self.whitening_.T

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Back from whitened coordinates: ``Z @ coloring_.T + mean_``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Whitened coordinates Z.

        Returns
        -------
        ndarray of shape (n, p)
            The rows in the original coordinates.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the transformer is not fitted.
        ValueError
            When X has another number of columns.

        See Also
        --------
        MahalanobisWhitener.transform : The forward map.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisWhitener
        >>> X = np.random.default_rng(0).standard_normal((200, 2)) @ [[2.0, 0.0], [1.5, 0.5]]
        >>> w = MahalanobisWhitener().fit(X)
        >>> np.allclose(w.inverse_transform(w.transform(X)), X)
        True
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64)
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {Z.shape[1]} features, but MahalanobisWhitener is "
                             f"expecting {self.n_features_in_} features as input.")
        return Z @ self.coloring_.T + self.mean_

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Output names: the input names for "cholesky" and "zca" (one output per input
        feature), ``whitened_pc0, whitened_pc1, ...`` for "pca".

        Parameters
        ----------
        input_features : array-like of str, optional
            Input names; must equal ``feature_names_in_`` when that is set. Default: the
            fitted names, else ``x0, x1, ...``.

        Returns
        -------
        ndarray of str (object) of shape (p,)
            One name per output column.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the transformer is not fitted.
        ValueError
            When ``input_features`` has the wrong length or differs from
            ``feature_names_in_``.

        See Also
        --------
        MahalanobisWhitener.transform : The outputs they name.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisWhitener
        >>> X = np.random.default_rng(0).standard_normal((200, 2)) @ [[2.0, 0.0], [1.5, 0.5]]
        >>> w = MahalanobisWhitener().fit(X)
        >>> w.get_feature_names_out()
        array(['x0', 'x1'], dtype=object)
        >>> MahalanobisWhitener(kind="pca").fit(X).get_feature_names_out()
        array(['whitened_pc0', 'whitened_pc1'], dtype=object)
        """

        check_is_fitted(self)
        p = self.n_features_in_
        if self.kind == "pca":
            return np.asarray([f"whitened_pc{k}" for k in range(p)], dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if input_features.shape != (p,):
                raise ValueError(f"input_features should have length {p} (n_features_in_); "
                                 f"got {input_features.shape[0]}.")
            if names is not None and not np.array_equal(input_features, names):
                raise ValueError("input_features is not equal to feature_names_in_; pass the "
                                 "names the transformer was fitted with, or None.")
            return input_features
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{k}" for k in range(p)], dtype=object)
