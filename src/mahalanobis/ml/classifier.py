"""`MahalanobisClassifier` (Gaussian discriminant rule with any scatter estimator) and
`component_distances` for a fitted GaussianMixture."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._deprecation import renamed_parameters
from .._linalg import pairwise_sq
from .._validation import check_choice, check_random_state
from ..metric import Metric
from ._common import check_array, fit_metric, fitted_rows, shared_scatter, validate_data

__all__ = ["MahalanobisClassifier", "component_distances"]

_COVARIANCES = ("pooled", "per_class")


class MahalanobisClassifier(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClassifierMixin,
                            BaseEstimator):
    """Nearest class mean in the Mahalanobis metric, with Gaussian posterior probabilities.

    Class k has centre m_k and scatter S_k (``covariance="per_class"``) or one pooled scatter S
    (``covariance="pooled"``). The log posterior is, up to a constant,

        log pi_k - D_k^2(x) / 2 - log det S_k / 2,

    normalised with log-sum-exp. With a pooled scatter this is linear discriminant analysis and
    with per-class scatter quadratic discriminant analysis (Hastie, Tibshirani & Friedman 2009,
    sec. 4.3); here any estimator of :func:`mahalanobis.fit` can supply the scatter: shrinkage
    (Ledoit & Wolf 2004) for many features, MCD for robustness to mislabelled or outlying
    training points (Hubert & Van Driessen 2004). With equal priors and a pooled scatter the
    rule is exactly the nearest class mean in the Mahalanobis metric.

    Parameters
    ----------
    covariance : {"pooled", "per_class"}, default="pooled"
        One scatter for all classes (from the residuals about the class centres), or one per
        class.
    method : str or callable, default="empirical"
        Scatter estimator: a method of :func:`mahalanobis.fit` or a callable ``X -> Metric``.
        Class centres are the estimator's locations (means for "empirical", robust centres
        for "mcd").
    priors : array-like of shape (n_classes,) or None, default=None
        Class prior probabilities; None uses the class frequencies in the training data.
    method_options : dict or None, default=None
        Keyword options for the estimator.
    random_state : int, Generator or None, default=None
        Passed to randomised estimators.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    means_ : ndarray of shape (n_classes, p)
        Class centres.
    covariance_ : ndarray of shape (p, p)
        The pooled scatter (``covariance="pooled"`` only).
    covariances_ : ndarray of shape (n_classes, p, p)
        The scatter of each class (the pooled one repeated when pooled).
    metrics_ : list of Metric
        One fitted metric per class (centred at the class centre).
    priors_ : ndarray of shape (n_classes,)
    log_dets_ : ndarray of shape (n_classes,)
        log det of each class scatter.

    See Also
    --------
    MahalanobisOOD : Out-of-distribution scores from the same class-conditional Gaussians.
    component_distances : D^2 to the components of a GaussianMixture.
    sklearn.discriminant_analysis.LinearDiscriminantAnalysis : The pooled classifier with
        empirical means and scatter.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MahalanobisClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
    >>> y = np.repeat([0, 1], 50)
    >>> clf = MahalanobisClassifier().fit(X, y)
    >>> clf.predict([[0.0, 0.0], [3.0, 1.0]]), clf.score(X, y)
    (array([0, 1]), 0.9)
    """

    @renamed_parameters(estimator="method", estimator_options="method_options")
    def __init__(self, covariance: str = "pooled", method: Any = "empirical",
                 priors: ArrayLike | None = None, method_options: dict | None = None,
                 random_state: Any = None) -> None:
        self.covariance = covariance
        self.method = method
        self.priors = priors
        self.method_options = method_options
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> MahalanobisClassifier:
        """Fit class centres and scatter(s).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Training data.
        y : array-like of shape (n,)
            Class labels.

        Returns
        -------
        MahalanobisClassifier
            self, with ``classes_``, ``means_``, the scatter(s), ``metrics_`` and
            ``priors_``.

        Raises
        ------
        ValueError
            When ``covariance`` or ``method`` is unknown, ``priors`` are not one
            non-negative number per class summing to 1, y is not a classification target,
            X has NaN/inf values, or a class has too few rows for a per-class empirical
            scatter.

        See Also
        --------
        MahalanobisClassifier.predict : Classify new rows.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.classes_, clf.means_.round(2)
        (array([0, 1]), array([[-0.01,  0.18],
               [ 2.87,  1.03]]))
        """
        check_choice(self.covariance, "covariance", _COVARIANCES)
        if self.random_state is not None:
            check_random_state(self.random_state)  # a bad seed fails whether used or not
        X, y = cast("tuple[np.ndarray, np.ndarray]",
                    validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64))
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        K, p = self.classes_.shape[0], X.shape[1]
        counts = np.bincount(codes, minlength=K)
        if self.priors is None:
            self.priors_ = counts / counts.sum()
        else:
            pri = np.asarray(self.priors, dtype=float).ravel()
            if pri.shape != (K,) or np.any(pri < 0) or not np.isclose(pri.sum(), 1.0):
                raise ValueError(f"priors must be {K} non-negative numbers (one per class in "
                                 f"classes_ order) summing to 1; got {self.priors!r}.")
            self.priors_ = pri
        per_class = self.covariance == "per_class"
        if per_class and counts.min() <= p and self.method == "empirical":
            small = self.classes_[counts <= p][:5].tolist()
            raise ValueError(f"covariance='per_class' with method='empirical' needs more than "
                             f"{p} samples in every class; classes {small} have fewer. Use "
                             "covariance='pooled' or a regularised estimator "
                             "(method='ledoit_wolf').")
        fitted: list[Metric | None] = []
        means = np.empty((K, p))
        for k in range(K):
            Xk = X[codes == k]
            if self.method == "empirical" or (not per_class and counts[k] <= p):
                means[k] = Xk.mean(axis=0)
                fitted.append(None)
                if per_class:
                    fitted[k] = fit_metric(Xk, "empirical", self.method_options)
            else:
                m = fit_metric(Xk, self.method, self.method_options, self.random_state)
                means[k] = m.center
                fitted.append(m)
        self.means_ = means
        if per_class:
            self.metrics_ = [Metric(means[k], np.asarray(fitted[k].cov))  # type: ignore[union-attr]
                             for k in range(K)]
            self.covariances_ = np.stack([np.asarray(m.cov) for m in self.metrics_])
        else:
            S = shared_scatter(X, codes, means, self.method, self.method_options,
                               self.random_state)
            self.covariance_ = S
            shared = Metric(np.zeros(p), S)
            self.metrics_ = [Metric.from_cholesky(means[k], shared.cholesky) for k in range(K)]
            self.covariances_ = np.broadcast_to(S, (K, p, p))
        self.log_dets_ = np.array([m.log_det for m in self.metrics_])
        return self

    @property
    def _n_features_out(self) -> int:
        return len(self.classes_)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Squared Mahalanobis distances to every class centre, shape (n, n_classes).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, n_classes)
            D^2 of each row to each class centre (under that class's scatter).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the classifier is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisClassifier.predict : The class of the nearest centre (with priors).

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.transform(x).round(2)
        array([[0.04, 9.1 ],
               [9.7 , 0.02],
               [2.41, 2.1 ]])
        """
        X = fitted_rows(self, X)
        if self.covariance == "pooled":
            m = self.metrics_[0]
            return np.asarray(m.pairwise(X, self.means_, squared=True))
        return np.column_stack([m.distance(X, squared=True) for m in self.metrics_])

    def _joint_log_likelihood(self, X: Any) -> np.ndarray:
        d2 = self.transform(X)
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.priors_)
        jll = log_prior[None, :] - 0.5 * d2
        if self.covariance == "per_class":
            jll -= 0.5 * self.log_dets_[None, :]
        return jll

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log posterior class probabilities (Gaussian classes), shape (n, n_classes).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, n_classes)
            log P(class k | x), columns in ``classes_`` order.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the classifier is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisClassifier.predict_proba : The probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.predict_log_proba(x).round(3)
        array([[-0.011, -4.544],
               [-4.85 , -0.008],
               [-0.773, -0.619]])
        """
        jll = self._joint_log_likelihood(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Posterior class probabilities (Gaussian classes), shape (n, n_classes).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, n_classes)
            P(class k | x), rows summing to 1, columns in ``classes_`` order.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the classifier is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisClassifier.predict : The most probable class.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.predict_proba(x).round(3)
        array([[0.989, 0.011],
               [0.008, 0.992],
               [0.461, 0.539]])
        """
        return np.exp(self.predict_log_proba(X))

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Unnormalised log posteriors; for two classes the log-odds of ``classes_[1]``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n,) for two classes, else (n, n_classes)
            The log-odds of ``classes_[1]``, or the joint log-likelihoods.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the classifier is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisClassifier.predict_log_proba : The normalised version.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.decision_function(x).round(3)
        array([-4.533,  4.842,  0.155])
        """
        jll = self._joint_log_likelihood(X)
        if jll.shape[1] == 2:
            return jll[:, 1] - jll[:, 0]
        return jll

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The class of largest posterior probability.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n,)
            One label of ``classes_`` per row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the classifier is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisClassifier.predict_proba : The posteriors behind it.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
        >>> clf = MahalanobisClassifier().fit(X, np.repeat([0, 1], 50))
        >>> x = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        >>> clf.predict(x)
        array([0, 1, 1])
        """
        jll = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(jll, axis=1)]


def component_distances(gmm: Any, X: ArrayLike) -> np.ndarray:
    """Squared Mahalanobis distances of X to each component of a fitted GaussianMixture.

    Works for every ``covariance_type`` ("full", "tied", "diag", "spherical") through the
    mixture's ``precisions_cholesky_`` (one GEMM per component, no inverse), like MATLAB's
    ``gmdistribution.mahal``.

    Parameters
    ----------
    gmm : sklearn.mixture.GaussianMixture or BayesianGaussianMixture
        A fitted mixture.
    X : array-like of shape (n, p)
        Rows with the mixture's p columns.

    Returns
    -------
    ndarray of shape (n, n_components)
        D^2 of each row to each component mean, under that component's covariance.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``gmm`` is not fitted.
    ValueError
        When X has another number of columns or NaN/inf values, or the mixture's
        ``covariance_type`` is unknown.

    See Also
    --------
    MahalanobisClassifier.transform : D^2 to class centres.
    mahalanobis.distance : D to one centre.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.mixture import GaussianMixture
    >>> from mahalanobis.ml import component_distances
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_normal((50, 2)), rng.standard_normal((50, 2)) + [3, 1]])
    >>> gmm = GaussianMixture(2, random_state=0).fit(X)
    >>> component_distances(gmm, [[0.0, 0.0], [3.0, 1.0]]).round(2)
    array([[ 0.05, 12.22],
           [ 9.49,  0.  ]])
    """

    check_is_fitted(gmm, ["means_", "precisions_cholesky_"])
    X = cast(np.ndarray, check_array(X, dtype=np.float64))
    means = np.asarray(gmm.means_)
    K, p = means.shape
    if X.shape[1] != p:
        raise ValueError(f"X has {X.shape[1]} features but the mixture was fitted on {p}; "
                         "pass data with matching columns.")
    P = np.asarray(gmm.precisions_cholesky_)
    ctype = gmm.covariance_type
    out = np.empty((X.shape[0], K))
    if ctype == "full":
        for k in range(K):
            Y = (X - means[k]) @ P[k]
            out[:, k] = np.einsum("ij,ij->i", Y, Y)
    elif ctype == "tied":
        Z, C = X @ P, means @ P
        out = pairwise_sq(Z, C)
    elif ctype == "diag":
        # (x - m)^2 / var summed: expand to one GEMM.
        prec = P**2  # (K, p): 1 / variances
        out = ((X**2) @ prec.T - 2.0 * X @ (means * prec).T
               + np.sum(means**2 * prec, axis=1)[None, :])
        np.maximum(out, 0.0, out=out)
    elif ctype == "spherical":
        prec = P**2  # (K,)
        sq = (np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * X @ means.T
              + np.einsum("ij,ij->i", means, means)[None, :])
        out = np.maximum(sq, 0.0) * prec[None, :]
    else:
        raise ValueError(f"gmm.covariance_type must be 'full', 'tied', 'diag' or 'spherical'; "
                         f"got {ctype!r}.")
    return out
