"""`MahalanobisOutlierDetector`: any scatter estimator plus a calibrated cutoff."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from .._deprecation import renamed_parameters
from .._validation import check_bool, check_choice, check_fraction, check_int
from ._common import fit_metric, validate_data

__all__ = ["MahalanobisOutlierDetector"]

_CUTOFFS = ("auto", "chi2", "beta", "f", "hardin_rocke", "cerioli", "bootstrap")
_LEVELS = ("individual", "simultaneous")


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
    cutoff : {"auto", "chi2", "beta", "f", "hardin_rocke", "cerioli", "bootstrap"} or float, \
default="auto"
        How the D^2 cutoff is calibrated. "auto" (default) is the calibrated rule of
        :func:`mahalanobis.outliers` for ``method``: the estimate is Cerioli's (2010)
        reweighted MCD for "mcd" (weights from the Hardin-Rocke F law, not chi-squared) and
        the threshold the finite-sample law of its distances -- the Beta law of the rows in
        the estimate for outlier detection (``novelty=False``), and for ``novelty=True`` the
        law of a new point's D^2 under the same RMCD (simulated once per (n, p), seeded and
        cached, below 500 rows; Cerioli's F prediction law with m from there on; see
        :meth:`mahalanobis.Metric.new_point_law`); the exact Beta / F laws for "empirical"; a
        seeded, cached
        Monte Carlo calibration for other estimators; the metric's own prediction law for a
        callable. The other names: the asymptotic chi-squared quantile (robustbase's rule,
        which flags well above alpha of clean rows at small n); the exact Beta law of
        in-sample distances (Gnanadesikan & Kettenring 1972); the F law of a new point
        (Hotelling); the F approximation of Hardin & Rocke (2005) for MCD distances; the
        Beta cutoff of Cerioli (2010) with m the rows kept by the reweighting; or a bootstrap
        quantile of the training distances. A number is used as the D^2 cutoff itself.
    level : {"individual", "simultaneous"}, default="individual"
        ``alpha`` per row, or family-wise over the n training rows (Sidak: each row at
        1 - (1 - alpha)^(1/n)).
    novelty : bool, default=False
        As in scikit-learn's ``LocalOutlierFactor``: False judges the training rows
        (outlier detection: in-sample laws), True judges new observations (prediction laws).
        Only ``cutoff="auto"`` distinguishes the two.
    contamination : float in (0, 0.5] or None, default=None
        When set, the threshold is the ``contamination`` quantile of the training scores (the
        expected share of outliers in the training data) and ``alpha``/``cutoff`` are unused.
    method_options : dict or None, default=None
        Keyword options for the estimator (e.g. ``{"support_fraction": 0.75}`` for "mcd").
    n_boot : int, default=1000
        Bootstrap resamples for ``cutoff="bootstrap"``.
    random_state : int, Generator or None, default=None
        Seed for randomised estimators (MCD starts) and the bootstrap.
    nan_policy : {"raise", "marginal", "em"}, default="raise"
        Rows with missing cells (NaN): an error; or kept and judged on their observed
        coordinates, with the estimator fitted on the complete rows (``"marginal"``) or with
        the missing cells (``"em"``: EM for "empirical"/"em", the MCD with EM in its C-steps
        for "mcd"). A row judged on k < p coordinates is scored by its p-equivalent D^2, the
        chi2_p quantile of its chi2_k p-value, so one ``threshold_`` serves every row
        (:meth:`distance` returns the D on the observed coordinates, :meth:`n_observed` the
        counts); a row with nothing observed scores 0 and is never flagged.

    Attributes
    ----------
    metric_ : Metric
        The fitted location and scatter (``metric_.center``, ``metric_.cov``).
    location_, covariance_ : ndarray
        Shortcuts to ``metric_.center`` and ``metric_.cov``.
    threshold_ : float
        The D^2 cutoff: points with D^2 > threshold_ are outliers.
    alpha_ : float
        The level at which ``pvalue`` and ``predict`` agree: ``predict(X) == -1`` exactly when
        ``pvalue(X) < alpha_`` (alpha, after the Sidak adjustment for ``level="simultaneous"``;
        for a numeric cutoff or ``contamination``, the chi-squared tail beyond threshold_).
    reference_ : str
        The reference law of ``pvalue`` (and of the threshold), in words.
    outliers_ : OutlierResult or None
        ``cutoff="auto"`` with a named method: :func:`mahalanobis.outliers` on the training
        data (Cerioli's per-row flags: Beta for the rows in the reweighting, F for the others).
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

    See Also
    --------
    mahalanobis.fit : The scatter estimators behind ``method``.
    mahalanobis.inference.cutoff : The calibrated cutoffs behind ``cutoff``.
    MahalanobisOOD : Out-of-distribution scores for classifier features.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MahalanobisOutlierDetector
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6                                   # five outliers
    >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
    >>> round(det.threshold_, 4), det.predict(X[3:7])
    (9.3484, array([-1, -1,  1,  1]))
    """

    @renamed_parameters(estimator="method", estimator_options="method_options")
    def __init__(self, method: Any = "mcd", alpha: float = 0.025, cutoff: Any = "auto",
                 contamination: float | None = None, method_options: dict | None = None,
                 n_boot: int = 1000, random_state: Any = None, level: str = "individual",
                 novelty: bool = False, nan_policy: str = "raise") -> None:
        self.method = method
        self.alpha = alpha
        self.cutoff = cutoff
        self.level = level
        self.novelty = novelty
        self.contamination = contamination
        self.method_options = method_options
        self.n_boot = n_boot
        self.random_state = random_state
        self.nan_policy = nan_policy

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy != "raise"
        return tags

    def _validate(self, X: Any, reset: bool, **kw: Any) -> np.ndarray:
        finite = "allow-nan" if self.nan_policy != "raise" else True
        return validate_data(self, X, reset=reset, dtype=np.float64,
                             ensure_all_finite=finite, **kw)

    def _fit_missing(self, X: np.ndarray) -> Any:
        """The metric when X has missing cells (``nan_policy`` "marginal" or "em")."""
        complete = ~np.isnan(X).any(axis=1)
        if self.nan_policy == "marginal":
            return fit_metric(X[complete], self.method, self.method_options, self.random_state)
        if self.method not in ("empirical", "em", "mcd"):
            raise ValueError(f"nan_policy='em' fits with missing cells for method 'empirical', "
                             f"'em' or 'mcd', not {self.method!r}; use nan_policy='marginal' "
                             "(fit on the complete rows).")
        options = {**(self.method_options or {}), "nan_policy": "em"}
        return fit_metric(X, self.method, options, self.random_state)

    def _sq(self, X: np.ndarray) -> np.ndarray:
        """D^2 of checked rows, p-equivalent for rows with missing cells."""
        if self.nan_policy == "raise" or not np.isnan(X).any():
            return np.asarray(self.metric_.distance(X, squared=True))
        from scipy import stats
        d2, k = self.metric_.distance(X, squared=True, nan_policy="marginal",
                                      return_counts=True)
        p = X.shape[1]
        part = k < p
        d2 = np.array(d2, dtype=float)
        d2[part] = stats.chi2.isf(stats.chi2.sf(d2[part], k[part]), p)
        d2[k == 0] = 0.0  # nothing observed: nothing to judge, never flagged (as Metric)
        return d2

    def _check_params(self) -> None:
        check_bool(self.novelty, "novelty")
        if self.contamination is not None:
            check_fraction(self.contamination, "contamination", high=0.5, high_open=False)
            return
        check_fraction(self.alpha, "alpha")
        check_choice(self.level, "level", _LEVELS)
        c = self.cutoff
        if isinstance(c, Real) and not isinstance(c, bool):
            if not (np.isfinite(c) and c > 0):  # type: ignore[call-overload,operator]
                raise ValueError(f"cutoff as a number is the D^2 threshold and must be positive "
                                 f"and finite; got {c!r}.")
        elif not isinstance(c, str) or c not in _CUTOFFS:
            raise ValueError(f"cutoff must be one of {', '.join(map(repr, _CUTOFFS))} or a "
                             f"positive number (a D^2 threshold); got {c!r}.")

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MahalanobisOutlierDetector:
        """Fit the location and scatter to X and set the threshold. ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Training data (n >= 2).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        MahalanobisOutlierDetector
            self, with ``metric_``, ``threshold_`` and ``offset_``.

        Raises
        ------
        ValueError
            When a parameter is out of range (``alpha``, ``cutoff``, ``contamination``,
            ``method``), or X has fewer than 2 rows or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.predict : Flag new rows.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> det = MahalanobisOutlierDetector(method="empirical", cutoff="beta").fit(X)
        >>> det.metric_.method, round(det.threshold_, 3)
        ('empirical', 9.05)
        """
        check_int(self.n_boot, "n_boot", 1)
        self._check_params()
        check_choice(self.nan_policy, "nan_policy", ("raise", "marginal", "em"))
        X = self._validate(X, True, ensure_min_samples=2)
        n, p = X.shape
        self.outliers_ = None
        c = self.cutoff
        if self.nan_policy != "raise" and np.isnan(X).any():
            # rows with missing cells: the metric fitted with them (or on the complete rows);
            # "auto" then uses that metric's own law (see nan_policy)
            self.metric_ = self._fit_missing(X)
        elif (c == "auto" and self.contamination is None and isinstance(self.method, str)
                and not (isinstance(c, Real) and not isinstance(c, str))):
            from ..inference import outliers
            res = outliers(X, method=self.method, alpha=self.alpha, level=self.level,
                           random_state=self.random_state, **(self.method_options or {}))
            self.outliers_ = res
            self.metric_ = res.metric
        else:
            self.metric_ = fit_metric(X, self.method, self.method_options, self.random_state)
        self.location_ = np.asarray(self.metric_.center)
        self.covariance_ = np.asarray(self.metric_.cov)
        d2 = self._sq(X)
        a_row = float(-np.expm1(np.log1p(-self.alpha) / n)) if self.level == "simultaneous" \
            else float(self.alpha)
        # self._law = (kind, a, b): "chi2" scaled by a; "beta" with m = a; "f" with n = a;
        # "hr" with scale a and df2 b. pvalue() = its upper tail; threshold_ its quantile.
        if self.contamination is not None:
            # EllipticEnvelope's rule: the contamination quantile of the training scores.
            self.offset_ = float(np.percentile(-d2, 100.0 * self.contamination))
            self.threshold_ = -self.offset_
            self._law = ("chi2", 1.0, 0.0)
            return self
        if isinstance(c, Real) and not isinstance(c, str):
            self.threshold_ = float(c)
            self._law = ("chi2", 1.0, 0.0)
        elif c == "bootstrap":
            from ..inference import bootstrap_cutoff
            boot = bootstrap_cutoff(d2, alpha=a_row, n_boot=self.n_boot,
                                    random_state=self.random_state)
            self.threshold_ = float(boot.cutoff)
            self._law = ("chi2", self.threshold_ / stats.chi2.isf(a_row, p), 0.0)
        elif c == "auto":
            self._law = self._auto_law(n, p, a_row)
            self.threshold_ = _isf(self._law, a_row, p)
        else:
            from ..inference import cutoff as _cutoff
            h = None
            if c == "hardin_rocke":  # the MCD subset size
                h = getattr(self.metric_, "h", None)
            elif c == "cerioli":  # m, the number of units kept by the reweighting step
                weights = getattr(self.metric_, "weights", None)
                h = None if weights is None else int(np.sum(weights))
            self.threshold_ = float(_cutoff(p, a_row, n=n, method=c,
                                            h=None if h is None else int(h)))
            self._law = self._named_law(c, n, p, h, a_row)
        self.offset_ = -self.threshold_
        return self

    def _auto_law(self, n: int, p: int, a_row: float) -> tuple[str, Any, float]:
        res = self.outliers_
        if res is None:  # a callable method: the metric's own prediction law
            if hasattr(self.metric_, "new_point_law"):
                return ("law", self.metric_.new_point_law(), 0.0)
            return ("chi2", 1.0, 0.0)
        if res.weights is not None:  # Cerioli's RMCD, m rows in the estimate
            m = int(np.sum(res.weights))
            if self.novelty:  # the RMCD's own law of a new point (simulated below n = 500)
                return ("law", res.metric.new_point_law(), 0.0)
            if np.ndim(res.cutoff) == 0:  # small n: the simulated law of the RMCD distances
                return ("chi2", float(res.cutoff) / stats.chi2.isf(a_row, p), 0.0)
            return ("beta", float(m), 0.0)
        if self.method == "empirical":
            return ("f", float(n), 0.0) if self.novelty else ("beta", float(n), 0.0)
        # Monte Carlo calibration: a chi2 law scaled to put the cutoff at its quantile.
        cut = float(np.asarray(res.cutoff).max())
        return ("chi2", cut / stats.chi2.isf(a_row, p), 0.0)

    def _named_law(self, c: str, n: int, p: int, h: Any, a_row: float) -> tuple[str, float,
                                                                                 float]:
        if c == "beta":
            return ("beta", float(n), 0.0)
        if c == "f":
            return ("f", float(n), 0.0)
        if c == "cerioli":
            return ("beta", float(h), 0.0)
        if c == "hardin_rocke" and h is not None:
            from ..inference import hardin_rocke
            hr = hardin_rocke(n, p, int(h))
            return ("hr", hr.scale, hr.df[1])
        if c == "chi2":
            return ("chi2", 1.0, 0.0)
        # no law of its own: chi2 scaled so that its quantile is the threshold
        return ("chi2", self.threshold_ / stats.chi2.isf(a_row, p), 0.0)

    def distance(self, X: ArrayLike, squared: bool = False) -> np.ndarray:
        """Mahalanobis distances D (or D^2 with ``squared=True``) of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.
        squared : bool, default False
            Return D^2 instead of D.

        Returns
        -------
        ndarray of shape (n,)
            Distances to ``location_`` under ``covariance_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.pvalue : Their chi-squared p-values.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6                                   # five outliers
        >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
        >>> det.distance(X[3:7]).round(2)
        array([9.09, 8.11, 0.88, 1.14])
        """
        check_is_fitted(self)
        X = self._validate(X, False)
        if self.nan_policy != "raise":
            return np.asarray(self.metric_.distance(X, squared=squared, nan_policy="marginal"))
        return np.asarray(self.metric_.distance(X, squared=squared))


    def n_observed(self, X: ArrayLike) -> np.ndarray:
        """Number of coordinates each row of X is judged on (p for complete rows).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns; NaN marks a missing cell.

        Returns
        -------
        ndarray of int, shape (n,)
            The count of observed (non-NaN) cells of each row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns.

        See Also
        --------
        MahalanobisOutlierDetector.distance : The distances judged on those coordinates.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> det = MahalanobisOutlierDetector(method="empirical", nan_policy="marginal").fit(X)
        >>> det.n_observed([[0.0, np.nan, 1.0], [0.0, 0.0, 0.0]])
        array([2, 3])
        """
        check_is_fitted(self)
        X = self._validate(X, False)
        return (~np.isnan(X)).sum(axis=1)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """-D^2: higher is more normal (scikit-learn's convention).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n,)
            Minus the squared distances.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.decision_function : Shifted by the threshold.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6                                   # five outliers
        >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
        >>> det.score_samples(X[3:7]).round(2)
        array([-82.69, -65.75,  -0.78,  -1.31])
        """
        check_is_fitted(self)
        return -self._sq(self._validate(X, False))

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """``threshold_ - D^2``: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n,)
            threshold_ - D^2 of each row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.predict : Its sign as +1/-1.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6                                   # five outliers
        >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
        >>> det.decision_function(X[3:7]).round(2)
        array([-73.34, -56.4 ,   8.57,   8.04])
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> np.ndarray:
        """+1 for inliers (D^2 <= threshold_), -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of int of shape (n,)
            +1 or -1 per row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.decision_function : The margin behind it.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6                                   # five outliers
        >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
        >>> det.predict(X[3:7])
        array([-1, -1,  1,  1])
        """

        return np.where(self.decision_function(X) >= 0, 1, -1)

    def pvalue(self, X: ArrayLike) -> np.ndarray:
        """Upper-tail p-values of the rows of X under the law the threshold comes from
        (``reference_``), so that ``predict(X) == -1`` exactly when ``pvalue(X) < alpha_``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n,)
            The p-value of each row's D^2 (its p-equivalent D^2 for rows with missing cells).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisOutlierDetector.reference_ : The law, in words.
        mahalanobis.inference.pvalue : The same for any D^2 and reference law.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6                                   # five outliers
        >>> det = MahalanobisOutlierDetector(cutoff="chi2", random_state=0).fit(X)
        >>> det.pvalue(X[3:7]).round(3)
        array([0.   , 0.   , 0.854, 0.727])
        """
        check_is_fitted(self)
        return _sf(self._law, -self.score_samples(X), self.n_features_in_)

    @property
    def alpha_(self) -> float:
        """The level at which ``pvalue`` and ``predict`` agree (see the class docstring).

        See Also
        --------
        MahalanobisOutlierDetector.pvalue : The p-values compared with it.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> det = MahalanobisOutlierDetector(method="empirical", cutoff="chi2").fit(X)
        >>> round(det.alpha_, 4)
        0.025
        """
        check_is_fitted(self)
        return float(_sf(self._law, np.array(self.threshold_), self.n_features_in_))

    @property
    def reference_(self) -> str:
        """The law of ``pvalue`` and ``threshold_``, in words.

        See Also
        --------
        MahalanobisOutlierDetector.alpha_ : The level of that law at the threshold.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOutlierDetector
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> MahalanobisOutlierDetector(method="empirical", cutoff="chi2").fit(X).reference_
        'chi2(p=3)'
        """
        check_is_fitted(self)
        kind, a, _ = self._law
        p = self.n_features_in_
        if kind == "law":
            return str(getattr(a, "description", ""))
        if kind == "beta":
            return (f"in-sample Beta: (m-1)^2/m Beta(p/2, (m-p-1)/2), m={a:g}, p={p}")
        if kind == "f":
            return f"F prediction law: p(m+1)(m-1)/(m(m-p)) F(p, m-p), m={a:g}, p={p}"
        if kind == "hr":
            return f"Hardin-Rocke scaled F(p={p}, m-p+1)"
        return f"chi2(p={p})" + ("" if a == 1.0 else f" scaled by {a:.4g} (calibrated cutoff)")


def _sf(law: tuple[str, Any, float], d2: Any, p: int) -> np.ndarray:
    kind, a, b = law
    d2 = np.maximum(np.asarray(d2, dtype=float), 0.0)
    if kind == "law":  # a metric's law of a new point (Metric.new_point_law)
        return a.sf(d2)
    if kind == "beta":
        return stats.beta.sf(np.clip(d2 * a / (a - 1.0) ** 2, 0.0, 1.0), p / 2.0,
                             (a - p - 1.0) / 2.0)
    if kind == "f":
        return stats.f.sf(d2 * a * (a - p) / (p * (a + 1.0) * (a - 1.0)), p, a - p)
    if kind == "hr":
        return stats.f.sf(d2 / a, p, b)
    return stats.chi2.sf(d2 / a, p)


def _isf(law: tuple[str, Any, float], alpha: float, p: int) -> float:
    kind, a, b = law
    if kind == "law":
        return float(a.cutoff(alpha))
    if kind == "beta":
        return float((a - 1.0) ** 2 / a * stats.beta.isf(alpha, p / 2.0, (a - p - 1.0) / 2.0))
    if kind == "f":
        return float(p * (a + 1.0) * (a - 1.0) / (a * (a - p)) * stats.f.isf(alpha, p, a - p))
    if kind == "hr":
        return float(a * stats.f.isf(alpha, p, b))
    return float(a * stats.chi2.isf(alpha, p))
