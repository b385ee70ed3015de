"""`MahalanobisOutlierDetector`: any scatter estimator plus a calibrated cutoff."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from .._deprecation import renamed_parameters
from .._validation import check_fraction, check_int
from ._common import fit_metric, validate_data

__all__ = ["MahalanobisOutlierDetector"]

_CUTOFFS = ("chi2", "beta", "f", "hardin_rocke", "cerioli", "bootstrap")


class MahalanobisOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection by the Mahalanobis distance to a (robust) location and scatter.

    A point is an outlier when its squared distance D^2 exceeds a cutoff. The cutoff is either
    a calibrated quantile (``cutoff``, at level ``alpha``) from :mod:`mahalanobis.inference` or,
    when ``contamination`` is given, the empirical quantile of the training scores, as in
    scikit-learn's ``EllipticEnvelope`` (Rousseeuw & Van Driessen 1999).

    Parameters
    ----------
    method : str or callable, default="mcd"
        The scatter estimator: a method of :func:`mahalanobis.fit` ("mcd", "empirical",
        "ledoit_wolf", "oas", "ridge", "mrcd", "modified_cholesky", ...) or a callable
        ``X -> Metric``. The robust default (the reweighted MCD, Rousseeuw 1984) keeps the
        outliers from masking themselves.
    alpha : float, default=0.025
        Significance level of the calibrated cutoff (ignored when ``contamination`` is set).
    cutoff : {"chi2", "beta", "f", "hardin_rocke", "cerioli", "bootstrap"} or float, \
default="chi2"
        How the D^2 cutoff is calibrated: the asymptotic chi-squared quantile; the exact Beta
        law of in-sample distances (Gnanadesikan & Kettenring 1972); the F law of a new point
        (Hotelling); the F approximation of Hardin & Rocke (2005) for MCD distances; the
        finite-sample reweighted-MCD cutoffs of Cerioli (2010); or a bootstrap quantile of the
        training distances. A number is used as the D^2 cutoff itself.
    contamination : float in (0, 0.5] or None, default=None
        When set, the threshold is the ``contamination`` quantile of the training scores (the
        expected share of outliers in the training data) and ``alpha``/``cutoff`` are unused.
    method_options : dict or None, default=None
        Keyword options for the estimator (e.g. ``{"support_fraction": 0.75}`` for "mcd").
    n_boot : int, default=1000
        Bootstrap resamples for ``cutoff="bootstrap"``.
    random_state : int, Generator or None, default=None
        Seed for randomised estimators (MCD starts) and the bootstrap.

    Attributes
    ----------
    metric_ : Metric
        The fitted location and scatter (``metric_.center``, ``metric_.cov``).
    location_, covariance_ : ndarray
        Shortcuts to ``metric_.center`` and ``metric_.cov``.
    threshold_ : float
        The D^2 cutoff: points with D^2 > threshold_ are outliers.
    offset_ : float
        ``-threshold_``; ``decision_function = score_samples - offset_`` (scikit-learn's
        convention: negative is an outlier).
    n_features_in_, feature_names_in_ :
        As in scikit-learn.

    References
    ----------
    Rousseeuw, P. J. & Van Driessen, K. (1999). A fast algorithm for the minimum covariance
    determinant estimator. Technometrics 41, 212-223.
    Hardin, J. & Rocke, D. M. (2005). The distribution of robust distances. JCGS 14, 928-946.
    Cerioli, A. (2010). Multivariate outlier detection with high-breakdown estimators. JASA
    105, 147-156.
    """

    @renamed_parameters(estimator="method", estimator_options="method_options")
    def __init__(self, method: Any = "mcd", alpha: float = 0.025, cutoff: Any = "chi2",
                 contamination: float | None = None, method_options: dict | None = None,
                 n_boot: int = 1000, random_state: Any = None) -> None:
        self.method = method
        self.alpha = alpha
        self.cutoff = cutoff
        self.contamination = contamination
        self.method_options = method_options
        self.n_boot = n_boot
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.contamination is not None:
            check_fraction(self.contamination, "contamination", high=0.5, high_open=False)
            return
        check_fraction(self.alpha, "alpha")
        c = self.cutoff
        if isinstance(c, Real) and not isinstance(c, bool):
            if not (np.isfinite(c) and c > 0):
                raise ValueError(f"cutoff as a number is the D^2 threshold and must be positive "
                                 f"and finite; got {c!r}.")
        elif not isinstance(c, str) or c not in _CUTOFFS:
            raise ValueError(f"cutoff must be one of {', '.join(map(repr, _CUTOFFS))} or a "
                             f"positive number (a D^2 threshold); got {c!r}.")

    def fit(self, X: Any, y: Any = None) -> MahalanobisOutlierDetector:
        """Fit the location and scatter to X and set the threshold. ``y`` is ignored."""
        check_int(self.n_boot, "n_boot", 1)
        self._check_params()
        X = validate_data(self, X, ensure_min_samples=2, dtype=np.float64)
        self.metric_ = fit_metric(X, self.method, self.method_options, self.random_state)
        self.location_ = np.asarray(self.metric_.center)
        self.covariance_ = np.asarray(self.metric_.cov)
        d2 = np.asarray(self.metric_.distance(X, squared=True))
        n, p = X.shape
        if self.contamination is not None:
            # EllipticEnvelope's rule: the contamination quantile of the training scores.
            self.offset_ = float(np.percentile(-d2, 100.0 * self.contamination))
            self.threshold_ = -self.offset_
            return self
        c = self.cutoff
        if isinstance(c, Real) and not isinstance(c, str):
            self.threshold_ = float(c)
        elif c == "bootstrap":
            from ..inference import bootstrap_cutoff
            res = bootstrap_cutoff(d2, alpha=self.alpha, n_boot=self.n_boot,
                                   random_state=self.random_state)
            self.threshold_ = float(res.cutoff)
        else:
            from ..inference import cutoff as _cutoff
            h = None
            if c == "hardin_rocke":  # the MCD subset size
                h = getattr(self.metric_, "h", None)
            elif c == "cerioli":  # m, the number of units kept by the reweighting step
                weights = getattr(self.metric_, "weights", None)
                h = None if weights is None else int(np.sum(weights))
            self.threshold_ = float(_cutoff(p, self.alpha, method=c, n=n,
                                            h=None if h is None else int(h)))
        self.offset_ = -self.threshold_
        return self

    def distance(self, X: Any, squared: bool = False) -> np.ndarray:
        """Mahalanobis distances D (or D^2 with ``squared=True``) of the rows of X."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(self.metric_.distance(X, squared=squared))

    def score_samples(self, X: Any) -> np.ndarray:
        """-D^2: higher is more normal (scikit-learn's convention)."""
        return -self.distance(X, squared=True)

    def decision_function(self, X: Any) -> np.ndarray:
        """``threshold_ - D^2``: negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers (D^2 <= threshold_), -1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def pvalue(self, X: Any) -> np.ndarray:
        """Upper-tail chi-squared p-values P(chi2_p >= D^2) of the rows of X (the asymptotic
        law whatever ``cutoff`` is; small p-values point to outliers)."""
        from scipy import stats
        return stats.chi2.sf(self.distance(X, squared=True), self.n_features_in_)
