"""`Ellipsoid`: the region {x : (x - c)^T S^-1 (x - c) <= r2}."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from ._validation import as_square_matrix, as_vector, check_choice, check_fraction, check_int
from .metric import Metric

__all__ = ["Ellipsoid"]

_KINDS = ("chi2", "prediction", "confidence")


@dataclass(frozen=True, repr=False, eq=False)
class Ellipsoid:
    """The ellipsoid {x : D^2(x) = (x - center)^T scatter^-1 (x - center) <= r2}.

    Parameters
    ----------
    center : array-like of shape (p,)
        The centre c.
    scatter : array-like of shape (p, p)
        Symmetric positive definite shape matrix S.
    r2 : float
        Squared radius on the D^2 scale (e.g. the chi-squared quantile 5.991 for a 95% ellipse
        in p = 2).
    level : float, optional
        The probability level it was built for (informational).
    kind : str, optional
        How r2 was chosen ("chi2", "prediction", "confidence", "hotelling", ...).
    feature_names : tuple of str, optional
        Names of the p features (column labels of :meth:`to_frame`).

    Attributes
    ----------
    axes : ndarray (p, p)
        Unit vectors of the semi-axes, as columns, in the order of ``radii``.
    radii : ndarray (p,)
        Semi-axis lengths sqrt(r2 lambda_k), descending (lambda_k eigenvalues of S).
    volume, log_volume : float
        Volume pi^(p/2) / Gamma(p/2 + 1) * prod(radii), and its natural log.

    Raises
    ------
    ValueError
        When ``r2`` is not a positive finite number or the shapes do not match.
    SingularCovarianceError
        When ``scatter`` is not positive definite.

    See Also
    --------
    Ellipsoid.from_metric : The level-``level`` ellipsoid of a metric.
    Metric.ellipsoid : The same, from the metric.
    mahalanobis.plot.tolerance_ellipse : Draw it.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
    >>> e
    Ellipsoid(p=2, center=[0. 0.], r2=1, radii=[2. 1.])
    >>> e.contains([[2.0, 0.0], [0.0, 2.0]])
    array([ True, False])
    """

    center: np.ndarray
    scatter: np.ndarray
    r2: float
    level: float | None = None
    kind: str | None = None
    feature_names: tuple[str, ...] | None = None
    _metric: Metric = field(init=False, repr=False)
    _axes: np.ndarray = field(init=False, repr=False)
    _radii: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = as_vector(self.center, "center")
        S = as_square_matrix(self.scatter, "scatter", c.shape[0])
        r2 = float(self.r2)
        if not (np.isfinite(r2) and r2 > 0):
            raise ValueError(f"r2 must be a positive finite squared radius; got {self.r2!r}.")
        metric = Metric(c, S)  # checks positive definiteness with an explanatory error
        lam, U = np.linalg.eigh(S)
        lam, U = lam[::-1], U[:, ::-1]
        # sign convention: the largest entry of each axis positive (deterministic output)
        sgn = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
        U = U * np.where(sgn == 0, 1.0, sgn)
        for name, val in (("center", c), ("scatter", S)):
            val = val.copy()
            val.setflags(write=False)
            object.__setattr__(self, name, val)
        object.__setattr__(self, "r2", r2)
        object.__setattr__(self, "_metric", metric)
        radii = np.sqrt(r2 * np.clip(lam, 0.0, None))
        radii.setflags(write=False)
        U.setflags(write=False)
        object.__setattr__(self, "_axes", U)
        object.__setattr__(self, "_radii", radii)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_metric(cls, metric: Metric, level: float = 0.95, kind: str = "chi2", *,
                    n: int | None = None) -> Ellipsoid:
        """The level-``level`` ellipsoid of a metric's centre and scatter.

        kind="chi2"
            Known parameters: r2 = chi2_{level}(p) (the 95% ellipse in p = 2 is D^2 = 5.991).
        kind="prediction"
            Region for a new observation when centre and scatter are the sample mean and
            covariance of n normal points: r2 = p (n + 1)(n - 1) / (n (n - p)) F_{level}(p, n - p).
        kind="confidence"
            Confidence region for the mean: r2 = p (n - 1) / (n (n - p)) F_{level}(p, n - p).

        ``n`` defaults to ``metric.n_samples`` (set by :func:`mahalanobis.fit`).

        Parameters
        ----------
        metric : Metric
            The centre and scatter (e.g. ``mahalanobis.fit(X)``).
        level : float, default 0.95
            Probability content.
        kind : {"chi2", "prediction", "confidence"}, default "chi2"
            Which quantile gives r2 (above).
        n : int, optional
            Sample size behind the metric, for the F-based kinds; default
            ``metric.n_samples``.

        Returns
        -------
        Ellipsoid
            The region, with ``level`` and ``kind`` recorded.

        Raises
        ------
        ValueError
            When ``metric`` is not a Metric, ``level`` is not in (0, 1), ``kind`` is unknown,
            or an F-based kind has no sample size or n <= p.

        See Also
        --------
        Metric.ellipsoid : The same, as a method of the metric.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> m = mh.fit(np.random.default_rng(0).standard_normal((50, 2)))
        >>> e = mh.Ellipsoid.from_metric(m, 0.95, "prediction")
        >>> round(e.r2, 4), e.kind
        (6.6447, 'prediction')
        """
        if not isinstance(metric, Metric):
            raise ValueError("metric must be a mahalanobis.Metric (e.g. mahalanobis.fit(X)); got "
                             f"{type(metric).__name__}.")
        level = check_fraction(level, "level")
        check_choice(kind, "kind", _KINDS)
        if n is not None:
            n = check_int(n, "n", 1, "the number of points the metric was fitted to")
        p = metric.n_features
        if kind == "chi2":
            r2 = stats.chi2.ppf(level, p)
        else:
            if n is None:
                n = metric.n_samples
            if n is None:
                raise ValueError(f"kind={kind!r} needs the sample size: pass n= or build the "
                                 "metric with mahalanobis.fit(X), which records n_samples.")
            n = check_int(n, "n", p + 1, f"an F-based region needs n > p = {p}")
            q = stats.f.ppf(level, p, n - p)
            if kind == "prediction":
                r2 = p * (n + 1.0) * (n - 1.0) / (n * (n - p)) * q
            else:
                r2 = p * (n - 1.0) / (n * (n - p)) * q
        return cls(np.asarray(metric.center), np.asarray(metric.cov), float(r2), level=level,
                   kind=kind, feature_names=metric.feature_names)

    # ------------------------------------------------------------------ geometry
    @property
    def n_features(self) -> int:
        """Dimension p.

        See Also
        --------
        Ellipsoid.radii : The p semi-axis lengths.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0).n_features
        2
        """
        return int(self.center.shape[0])

    @property
    def axes(self) -> np.ndarray:
        """Unit vectors of the semi-axes, as the columns of a (p, p) array, in the order of
        :attr:`radii` (eigenvectors of the scatter; each with its largest entry positive).

        See Also
        --------
        Ellipsoid.radii : Their lengths.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Ellipsoid([0.0, 0.0], [[1.0, 0.0], [0.0, 4.0]], r2=1.0).axes
        array([[0., 1.],
               [1., 0.]])
        """
        return self._axes

    @property
    def radii(self) -> np.ndarray:
        """Semi-axis lengths sqrt(r2 lambda_k), descending (lambda_k eigenvalues of S).

        See Also
        --------
        Ellipsoid.axes : Their directions.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=4.0).radii
        array([4., 2.])
        """
        return self._radii

    @property
    def log_volume(self) -> float:
        """log of pi^(p/2) / Gamma(p/2 + 1) * prod(radii), from the scatter's log-determinant
        (finite where :attr:`volume` under- or overflows).

        See Also
        --------
        Ellipsoid.volume : The volume itself.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> round(e.log_volume, 6)   # log(2 pi)
        1.837877
        """
        p = self.n_features
        return float(0.5 * p * np.log(np.pi) - special.gammaln(p / 2.0 + 1.0)
                     + 0.5 * p * np.log(self.r2) + 0.5 * self._metric.log_det)

    @property
    def volume(self) -> float:
        """Volume pi^(p/2) / Gamma(p/2 + 1) * prod(radii).

        See Also
        --------
        Ellipsoid.log_volume : Its logarithm (use it in high dimension).

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> round(e.volume, 6)   # pi * 2 * 1
        6.283185
        """
        return float(np.exp(self.log_volume))

    def d2(self, X: ArrayLike) -> Any:
        """Squared distances (x - c)^T S^-1 (x - c) of the rows of X (D^2 = r2 on the surface).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            The points.

        Returns
        -------
        ndarray of shape (n,)
            D^2 of each row (a Series for a DataFrame X).

        Raises
        ------
        ValueError
            When X does not have p columns or holds NaN.

        See Also
        --------
        Ellipsoid.contains : Whether D^2 <= r2.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> e.d2([[2.0, 0.0], [0.0, 2.0]])
        array([1., 4.])
        """
        return self._metric.distance(X, squared=True)

    def contains(self, X: ArrayLike) -> Any:
        """Boolean mask: which rows of X satisfy D^2 <= r2 (a 1-D point gives a bool).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p) or (p,)
            The points, or one point.

        Returns
        -------
        ndarray of bool, shape (n,), or bool
            True inside or on the surface (a Series named "inside" for a DataFrame X).

        Raises
        ------
        ValueError
            When X does not have p columns or holds NaN.

        See Also
        --------
        Ellipsoid.d2 : The squared distances compared with r2.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> e.contains([[2.0, 0.0], [0.0, 2.0]])
        array([ True, False])
        >>> e.contains([1.0, 0.5])
        True
        """
        arr = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=float)
        if arr.ndim == 1:
            return bool(self.d2(arr.reshape(1, -1))[0] <= self.r2)
        d2 = self.d2(X)
        if hasattr(d2, "index"):
            return (d2 <= self.r2).rename("inside")
        return np.asarray(d2) <= self.r2

    def boundary(self, n_points: int = 200) -> np.ndarray:
        """Points on the ellipse D^2 = r2 (p = 2 only), shape (n_points, 2), closed curve
        (the last point repeats the first) traced anticlockwise from the major axis.

        Parameters
        ----------
        n_points : int, default 200
            Number of points on the curve (at least 3).

        Returns
        -------
        ndarray of shape (n_points, 2)
            The points, ready for ``plt.plot(*B.T)``.

        Raises
        ------
        ValueError
            When p != 2 or ``n_points`` < 3.

        See Also
        --------
        mahalanobis.plot.tolerance_ellipse : Draws it on matplotlib axes.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> B = e.boundary(5)
        >>> B.shape, B[0]
        ((5, 2), array([2., 0.]))
        """
        if self.n_features != 2:
            raise ValueError(f"boundary() draws ellipses in p = 2; this ellipsoid has p = "
                             f"{self.n_features}. Project first, e.g. with Ellipsoid(center[[i, "
                             "j]], scatter[np.ix_([i, j], [i, j])], r2).")
        n_points = check_int(n_points, "n_points", 3, "a closed curve needs 3 points")
        t = np.linspace(0.0, 2.0 * np.pi, n_points)
        circle = np.column_stack([np.cos(t), np.sin(t)])
        return self.center + (circle * self.radii) @ self.axes.T

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lvl = "" if self.level is None else f", level={self.level:g}"
        kind = "" if self.kind is None else f", kind={self.kind!r}"
        return (f"Ellipsoid(p={self.n_features}, center={np.array2string(self.center, precision=4)}"
                f", r2={self.r2:.6g}, radii={np.array2string(self.radii, precision=4)}"
                f"{lvl}{kind})")

    def to_frame(self) -> Any:
        """A DataFrame with one row per semi-axis: its length and direction.

        Returns
        -------
        pandas.DataFrame
            Index ``axis1..axisp``; column ``radius`` and one column per feature (the axis'
            direction).

        See Also
        --------
        Ellipsoid.radii, Ellipsoid.axes : The same numbers as arrays.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> e = mh.Ellipsoid([0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], r2=1.0)
        >>> e.to_frame()
               radius   x0   x1
        axis
        axis1     2.0  1.0  0.0
        axis2     1.0  0.0  1.0
        """
        import pandas as pd
        names = list(self.feature_names) if self.feature_names else [
            f"x{k}" for k in range(self.n_features)]
        df = pd.DataFrame(self.axes.T, columns=names)
        df.insert(0, "radius", self.radii)
        df.index = pd.Index([f"axis{k + 1}" for k in range(self.n_features)], name="axis")
        return df
