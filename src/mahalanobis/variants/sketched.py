"""Random-projection (Johnson-Lindenstrauss) sketches of a regularised Mahalanobis metric.

What is approximated
--------------------
The target is the *exact* regularised Mahalanobis distance of the fitted data,

    D^2(y) = (y - m)^T (S + r I)^-1 (y - m),                                               (1)

with m the mean, S the sample covariance (divisor n - 1) and r = ``reg`` * trace(S) / p the
ridge (needed when p >= n, where S is singular). Write D(y) = ||z(y)|| with the whitening map
z(y) = (S + r I)^-1/2 (y - m). The sketch stores the k x p matrix A = G (S + r I)^-1/2 / sqrt(k),
G a random k x p matrix with independent N(0, 1) entries, and returns

    Dhat^2(y) = ||A (y - m)||^2 = ||G z(y)||^2 / k.

Guarantee (Gaussian sketch). For any fixed y (chosen independently of the sketch), G z(y) has
independent N(0, D^2(y)) entries, so Dhat^2(y) / D^2(y) follows *exactly* a chi2_k / k law.
Hence, for each such y,

    P( |Dhat^2 / D^2 - 1| > eps ) = P(chi2_k > k (1 + eps)) + P(chi2_k < k (1 - eps)) =: q(eps, k),

which the Chernoff bound of Dasgupta & Gupta (2003, Lemma 2.2) puts below
2 exp(-k (eps^2 / 2 - eps^3 / 3) / 2); the class reports the exact value
(:meth:`SketchedMetric.failure_probability`). For N query points at once, a union bound gives
failure probability at most N q, so k >= 4 ln(2 N / delta) / (eps^2 / 2 - eps^3 / 3) suffices
for all N distances within (1 +- eps) with probability 1 - delta (the JL lemma; for the
N (N - 1) / 2 pairwise distances of :meth:`transform` replace N by that number).
With ``n_sketches = s`` (odd) independent sketches and the median of their estimates, a failure
needs at least (s + 1) / 2 of them beyond the same side, so the failure probability is the
binomial tail P(Bin(s, q+) >= (s + 1) / 2) + P(Bin(s, q-) >= (s + 1) / 2), decaying
exponentially in s (the median trick; Indyk 2006).

``kind="sparse"`` uses the database-friendly projection of Achlioptas (2003): entries
sqrt(3) * {+1, 0, -1} with probabilities {1/6, 2/3, 1/6}. Dhat^2 is then still unbiased and
obeys the same exponential bound (Achlioptas 2003, Thm. 1.1) but not the exact chi2 law, so
:meth:`failure_probability` is for the Gaussian sketch only.

What is *not* approximated
--------------------------
The guarantee concerns (1), the distance in the original space under the regularised
covariance. The other common construction -- project the data to k dimensions first and
estimate a covariance there -- computes ((R v)^T (R (S + r I) R^T)^-1 (R v)), the Mahalanobis
distance *restricted to the sketch's range*. That quantity is never larger than (1) (it is the
squared norm of a projection of z) and has no (1 +- eps) guarantee relative to it; it is a
different metric, not an approximation, and is not what this class computes.

Cost. Fitting takes the thin SVD of the centred data, O(n p min(n, p)), and O(k p min(n, p))
for A. A distance costs O(k p) per point (s k p with s sketches), against O(p min(n, p)) for
the exact distance (1) from the same SVD (:meth:`SketchedMetric.exact_distance`); the sketch
pays when k s < min(n, p), i.e. for a dense metric in high dimension.

References
----------
Johnson, W. B. & Lindenstrauss, J. (1984). Extensions of Lipschitz mappings into a Hilbert
space. Contemporary Mathematics 26, 189-206.
Dasgupta, S. & Gupta, A. (2003). An elementary proof of a theorem of Johnson and
Lindenstrauss. Random Structures & Algorithms 22(1), 60-65.
Achlioptas, D. (2003). Database-friendly random projections: Johnson-Lindenstrauss with binary
coins. Journal of Computer and System Sciences 66(4), 671-687.
Indyk, P. (2006). Stable distributions, pseudorandom generators, embeddings, and data stream
computation. Journal of the ACM 53(3), 307-323.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from .._validation import (
    as_data,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_random_state,
    check_spread,
)
from ._common import SplitConformal, check_rows

__all__ = ["SketchedMetric", "chi2_failure_probability"]

_KINDS = ("gaussian", "sparse")


def chi2_failure_probability(eps: float, k: int, n_sketches: int = 1,
                             squared: bool = True) -> float:
    """Exact probability that a Gaussian sketch's estimate misses by more than a factor 1 +- eps.

    For ``squared=True`` the event is |Dhat^2 / D^2 - 1| > eps; for ``squared=False`` it is
    |Dhat / D - 1| > eps. With ``n_sketches`` > 1 the estimate is the median of independent
    sketches (exact for odd counts, an upper bound for even ones).
    """
    eps = check_fraction(eps, "eps", low=0.0, high=np.inf)
    if squared:
        hi, lo = 1.0 + eps, max(1.0 - eps, 0.0)
    else:
        hi, lo = (1.0 + eps) ** 2, max(1.0 - eps, 0.0) ** 2
    q_hi = float(stats.chi2.sf(k * hi, k))
    q_lo = float(stats.chi2.cdf(k * lo, k))
    s = int(n_sketches)
    if s == 1:
        return q_hi + q_lo
    need = (s + 1) // 2 if s % 2 else s // 2
    return float(stats.binom.sf(need - 1, s, q_hi) + stats.binom.sf(need - 1, s, q_lo))


class SketchedMetric(SplitConformal):
    """Regularised Mahalanobis distance through a Johnson-Lindenstrauss sketch (for large p).

    Parameters
    ----------
    k : int, default=100
        Rows of each sketch. The estimate Dhat^2 / D^2 is chi2_k / k distributed (Gaussian
        sketch): relative standard deviation sqrt(2 / k) for D^2, about sqrt(1 / (2k)) for D.
    n_sketches : int, default=1
        Independent sketches; the distance is the median of their estimates.
    reg : float, default=0.1
        Ridge as a fraction of the average variance: r = reg * trace(S) / p is added to the
        covariance (eq. (1) of the module notes). Must be > 0 when n <= p.
    kind : {"gaussian", "sparse"}, default="gaussian"
        N(0, 1) entries (exact chi2 guarantee) or Achlioptas' sparse {+-sqrt(3), 0} entries.
    random_state : int or numpy Generator, optional
        Seeds the sketches and the calibration split.
    calibration : float in (0, 1), default=0.25
        Fraction of the fitted points held out to calibrate :meth:`pvalue` (split conformal,
        as :class:`KernelMetric`): with p > n no parametric law of the regularised distance is
        trustworthy.

    Attributes
    ----------
    center_ : ndarray of shape (p,)
    ridge_ : float
        The absolute ridge r.
    eigenvalues_ : ndarray
        Nonzero eigenvalues of S (from the thin SVD of the centred data).
    components_ : ndarray of shape (k * n_sketches, p)
        The sketched whitening matrices A stacked.
    n_features_in_, n_samples_ : int
        Number of features p and of fitted rows n.

    See Also
    --------
    mahalanobis.covariance.ridge : The same regularised covariance, exactly (for moderate p).
    KernelMetric : The other metric with split-conformal p-values.

    Notes
    -----
    The sketch must be drawn independently of the data: ``random_state`` should not be the
    seed that generated X (identical random streams make the sketch correlate with the rows).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(42).standard_normal((100, 500))       # p > n
    >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
    >>> q = X[:3].copy()
    >>> q[2] += 3.0
    >>> sm.distance(q).round(1), sm.exact_distance(q).round(1)         # within ~10%
    (array([  10. ,    9.5,  188.6]), array([  9.8,   9.8, 184.6]))
    """

    _fitted_attr = "components_"

    def __init__(self, k: int = 100, n_sketches: int = 1, reg: float = 0.1,
                 kind: str = "gaussian", random_state: Any = None,
                 calibration: float = 0.25) -> None:
        self.k = k
        self.n_sketches = n_sketches
        self.reg = reg
        self.kind = kind
        self.random_state = random_state
        self.calibration = calibration

    def _check_params(self) -> None:
        check_fraction(self.calibration, "calibration", low=0.0, high=1.0)
        for name in ("k", "n_sketches"):
            check_int(getattr(self, name), name, 1)
        check_choice(self.kind, "kind", _KINDS)
        check_fraction(self.reg, "reg", low=0.0, high=np.inf, low_open=False)

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> SketchedMetric:
        """Fit the mean and regularised covariance of X (n, p) and draw the sketches.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The reference points (n >= 2; p may exceed n).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        SketchedMetric
            self, fitted.

        Raises
        ------
        ValueError
            For bad parameters, constant data, or ``reg=0`` with a singular covariance.

        See Also
        --------
        SketchedMetric.resketch : New sketches without refitting.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> sm.components_.shape, round(sm.ridge_, 4)
        ((200, 500), 0.1006)
        """
        self._check_params()
        A = as_data(X, "X", min_samples=2).values
        check_spread(A)  # variances float64 can hold
        n, p = A.shape
        self.center_ = A.mean(axis=0)
        _, s, Vt = np.linalg.svd(A - self.center_, full_matrices=False)
        lam = s * s / (n - 1)
        keep = lam > (lam[0] if lam.size else 0.0) * max(n, p) * np.finfo(float).eps
        lam, Vt = lam[keep], Vt[keep]
        total = float(np.sum(lam))
        # rows equal up to the rounding of their mean are the same point: the spread is
        # judged against the data's magnitude
        noise = (10 * np.finfo(float).eps * float(np.max(np.abs(A)))) ** 2 * p
        if not total > noise:
            raise ValueError("X: every row is the same point, so the covariance is zero; fit "
                             "on data that vary.")
        ridge = float(self.reg) * total / p
        if ridge == 0.0 and lam.size < p:
            raise ValueError(f"reg=0 leaves the covariance singular (rank {lam.size} of {p}); "
                             "pass reg > 0, e.g. reg=0.1.")
        self.ridge_, self.eigenvalues_, self._Vt = ridge, lam, Vt
        self.n_samples_, self.n_features_in_ = n, p
        rng = check_random_state(self.random_state)
        self.resketch(rng)
        self._calib_rows = A
        self._calib_seed = int(rng.integers(2**63 - 1))
        self._calib = None
        return self

    def resketch(self, random_state: Any = None) -> SketchedMetric:
        """Draw new sketches for the fitted mean and covariance (no refit; O(k p min(n, p))).
        Repeated resketching gives independent estimates, e.g. to check the stated bound.

        Parameters
        ----------
        random_state : int or numpy Generator, optional
            Seeds the new sketches.

        Returns
        -------
        SketchedMetric
            self, with new ``components_``.

        Raises
        ------
        ValueError
            Before :meth:`fit`.

        See Also
        --------
        SketchedMetric.error_bound : How far one sketch's estimate may be off.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> sm.resketch(random_state=1).distance(X[:2]).round(1)
        array([10.5,  9.7])
        """
        if not hasattr(self, "_Vt"):
            raise ValueError("this SketchedMetric is not fitted yet; call fit(X) first.")
        self._check_params()
        lam, Vt, ridge, p = self.eigenvalues_, self._Vt, self.ridge_, self.n_features_in_
        rng = check_random_state(random_state)
        rows = int(self.k) * int(self.n_sketches)
        if self.kind == "gaussian":
            G = rng.standard_normal((rows, p))
        else:
            G = rng.choice(np.array([-np.sqrt(3.0), 0.0, np.sqrt(3.0)]), size=(rows, p),
                           p=[1 / 6, 2 / 3, 1 / 6])
        # A = G (S + r I)^-1/2 / sqrt(k), with (S + r I)^-1/2 = V diag(f) V^T + r^-1/2 I on the
        # thin SVD: f = (lambda + r)^-1/2 - r^-1/2 (no p x p matrix is formed).
        if ridge > 0:
            f = 1.0 / np.sqrt(lam + ridge) - 1.0 / np.sqrt(ridge)
            comp = ((G @ Vt.T) * f) @ Vt
            comp += G / np.sqrt(ridge)
        else:  # n > p and no ridge: Vt is a full p x p basis
            comp = ((G @ Vt.T) / np.sqrt(lam)) @ Vt
        comp /= np.sqrt(float(self.k))
        self.components_ = comp
        return self

    def _centred(self, X: Any, nan_policy: str = "raise") -> np.ndarray:
        self._check_fitted()
        return check_rows(X, "X", self.n_features_in_, nan_policy) - self.center_

    def distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Sketched distances: the median over sketches of ||A_s (x - m)|| (``squared=True``
        gives Dhat^2). Approximates the exact regularised distance, eq. (1).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        squared : bool, default False
            Return Dhat^2 instead of Dhat.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The sketched distances.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for bad rows.

        See Also
        --------
        SketchedMetric.exact_distance : The distance being approximated.
        SketchedMetric.error_bound : The relative error at a given probability.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> sm.distance(X[:2]).round(2)
        array([9.97, 9.5 ])
        """
        squared = check_bool(squared, "squared")
        V = self._centred(X, nan_policy)
        Z = V @ self.components_.T
        s, k = int(self.n_sketches), int(self.k)
        d2 = np.einsum("isk,isk->is", Z.reshape(-1, s, k), Z.reshape(-1, s, k))
        d2 = np.median(d2, axis=1)
        return d2 if squared else np.sqrt(d2)

    def exact_distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise"
                       ) -> np.ndarray:
        """The exact regularised distance (1) from the thin SVD, O(p min(n, p)) per point:
        D^2 = ||v||^2 / r + sum_j (1 / (lambda_j + r) - 1 / r) <v, v_j>^2.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The exact regularised distances.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for bad rows.

        See Also
        --------
        SketchedMetric.distance : The sketched approximation.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> sm.exact_distance(X[:2]).round(2)
        array([9.77, 9.79])
        """
        squared = check_bool(squared, "squared")
        V = self._centred(X, nan_policy)
        P = V @ self._Vt.T
        r = self.ridge_
        if r > 0:
            d2 = np.einsum("ij,ij->i", V, V) / r + (P * P) @ (1.0 / (self.eigenvalues_ + r)
                                                            - 1.0 / r)
        else:
            d2 = (P * P) @ (1.0 / self.eigenvalues_)
        np.maximum(d2, 0.0, out=d2)
        return d2 if squared else np.sqrt(d2)

    def transform(self, X: ArrayLike, *, nan_policy: str = "raise") -> np.ndarray:
        """Sketched whitened coordinates, shape (n, k * n_sketches): Euclidean distances between
        rows approximate the regularised Mahalanobis distances between the points (one sketch
        with k * n_sketches rows; the median is not used here).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or rows of NaN.

        Returns
        -------
        ndarray of shape (n, k * n_sketches)
            The sketched coordinates.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for bad rows.

        See Also
        --------
        mahalanobis.Metric.whiten : Exact whitening for moderate p.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> mh.SketchedMetric(k=200, random_state=0).fit(X).transform(X[:3]).shape
        (3, 200)
        """
        return ((self._centred(X, nan_policy) @ self.components_.T)
                / np.sqrt(float(self.n_sketches)))

    def _fit_copy(self, rows: np.ndarray) -> SketchedMetric:
        return SketchedMetric(self.k, self.n_sketches, self.reg, self.kind, self._calib_seed,
                              self.calibration).fit(rows)

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise") -> np.ndarray:
        """Split-conformal outlier p-values of the sketched distance (see
        :meth:`KernelMetric.pvalue`): valid for points exchangeable with the fitted ones,
        whatever the dimension. The smallest possible p-value is 1 / (1 + n_cal), n_cal =
        ``calibration`` times the number of fitted rows.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            Conformal p-values.

        See Also
        --------
        SketchedMetric.outliers : The rows flagged at a level.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> q = X[:3].copy()
        >>> q[2] += 3.0
        >>> sm.pvalue(q).round(3)                 # 1 / 26 is the smallest possible here
        array([1.   , 0.5  , 0.038])
        """
        return self._conformal_pvalue(X, nan_policy)

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Boolean mask of rows with conformal p-value <= alpha.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        alpha : float, default 0.025
            Test level (no row is flagged when it is below 1 / (1 + n_cal), see
            :meth:`pvalue`).
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or never flagged.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged row.

        Raises
        ------
        ValueError
            When ``alpha`` is not in (0, 1).

        See Also
        --------
        SketchedMetric.pvalue : The p-values behind the mask.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> q = X[:3].copy()
        >>> q[2] += 3.0
        >>> sm.outliers(q, alpha=0.05)
        array([False, False,  True])
        """
        return self._conformal_outliers(X, alpha, nan_policy)

    def failure_probability(self, eps: float, *, squared: bool = False) -> float:
        """Exact probability, for one query point chosen independently of the sketch, that the
        (median) Gaussian-sketch distance misses the exact one by a factor beyond 1 +- eps.
        ``squared=False`` refers to D, ``squared=True`` to D^2.

        Parameters
        ----------
        eps : float
            Relative error.
        squared : bool, default False
            Whether ``eps`` refers to D^2 rather than D.

        Returns
        -------
        float
            P(|Dhat / D - 1| > eps) (or for D^2), from the chi2_k law of a Gaussian sketch.

        Raises
        ------
        ValueError
            For ``kind="sparse"`` (no exact law).

        See Also
        --------
        SketchedMetric.error_bound : Its inverse.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> round(sm.failure_probability(0.2), 4)
        0.0001
        """
        if self.kind != "gaussian":
            raise ValueError("failure_probability is exact for kind='gaussian' only; for "
                             "kind='sparse' use the Achlioptas (2003) bound.")
        return chi2_failure_probability(eps, int(self.k), int(self.n_sketches), squared)

    def error_bound(self, delta: float = 0.05, *, squared: bool = False) -> float:
        """The eps with failure_probability(eps) = delta: with probability 1 - delta a given
        query point's distance is within a factor (1 +- eps) of the exact one.

        Parameters
        ----------
        delta : float, default 0.05
            Failure probability.
        squared : bool, default False
            Whether the bound is for D^2 rather than D.

        Returns
        -------
        float
            The relative error eps.

        Raises
        ------
        ValueError
            When ``delta`` is not in (0, 1), or for ``kind="sparse"``.

        See Also
        --------
        SketchedMetric.failure_probability : Its inverse.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(42).standard_normal((100, 500))
        >>> sm = mh.SketchedMetric(k=200, random_state=0).fit(X)
        >>> round(sm.error_bound(0.05), 4), round(sm.error_bound(0.05, squared=True), 4)
        (0.0979, 0.1955)
        """
        delta = check_fraction(delta, "delta")
        if self.failure_probability(1e-12, squared=squared) <= delta:  # pragma: no cover
            return 0.0
        f = lambda e: self.failure_probability(e, squared=squared) - delta  # noqa: E731
        hi = 1.0
        while f(hi) > 0:
            hi *= 2.0
        return float(optimize.brentq(f, 1e-12, hi, xtol=1e-10))

    def __repr__(self) -> str:
        parts = [f"k={self.k}", f"n_sketches={self.n_sketches}", f"kind={self.kind!r}"]
        if hasattr(self, "components_"):
            parts.append(f"n_features={self.n_features_in_}")
            parts.append(f"n_samples={self.n_samples_}")
            parts.append(f"ridge={self.ridge_:.4g}")
        return f"SketchedMetric({', '.join(parts)})"
