"""Mahalanobis-type distances between curves: truncated FPCA and RKHS-regularised.

Curves x_1..x_n are sampled on a common grid t_1 < ... < t_T (rows of an (n, T) array). Inner
products <f, g> = int f g dt are approximated by the trapezoid rule, <f, g> ~ f^T W g with
W = diag(w) the quadrature weights, so the result does not depend on how densely or evenly the
grid samples the curves (up to quadrature error).

Covariance operator. With xbar the mean curve and C the sample covariance of the sampled curves
(divisor n - 1), the operator (Gamma f)(s) = int c(s, t) f(t) dt is discretised as C W. Its
eigenproblem C W e = lambda e is made symmetric with W^1/2: (W^1/2 C W^1/2) v = lambda v,
e = W^-1/2 v, so that the eigenfunctions are orthonormal in the quadrature inner product,
e_j^T W e_k = delta_jk (Ramsay & Silverman 2005, Sec. 8.4.2). It is computed from the thin SVD
of (X - xbar) W^1/2, never forming the T x T matrix. The principal scores of a curve are
xi_j(x) = <x - xbar, e_j>.

Distances (to the mean curve, or between two curves x, y):

* ``method="fpca"`` -- the functional Mahalanobis semi-distance of Galeano, Joseph & Lillo
  (2015, eq. 5): d_k^2(x, y) = sum_{j <= k} <x - y, e_j>^2 / lambda_j. Under a Gaussian process
  the squared distance of a new curve to the mean is about chi2_k (eigenpairs estimated;
  Galeano et al., Sec. 3), which gives the outlier cutoff.
* ``method="rkhs"`` -- the regularised distance of Berrendero, Bueno-Larraz & Cuevas (2020,
  eq. 10 and Prop. 3): M_r^2(x, y) = ||x_r - y_r||_K^2 with x_r =
  (Gamma + r I)^-1 Gamma x the closest element of the covariance's RKHS, i.e.
  M_r^2 = sum_j lambda_j / (lambda_j + r)^2 <x - y, e_j>^2, summed over all components
  with lambda_j > 0 (no truncation needed: high-order terms are damped by r). Its null law
  for a Gaussian process is a weighted sum of chi2_1 variables, sum_j lambda_j^2 /
  (lambda_j + r)^2 chi2_1, from which the outlier cutoff is simulated (a parametric
  bootstrap with the fitted eigenvalues; ``random_state`` fixes it).

Both cutoffs take the fitted eigenvalues as true and assume Gaussian curves; neither is robust
to outliers among the fitted curves (fit on clean reference curves, or on a robustly trimmed
set).

References
----------
Galeano, P., Joseph, E. & Lillo, R. E. (2015). The Mahalanobis distance for functional data
with applications to classification. Technometrics 57(2), 281-291.
Berrendero, J. R., Bueno-Larraz, B. & Cuevas, A. (2020). On Mahalanobis distance in functional
settings. Journal of Machine Learning Research 21(9), 1-33.
Ramsay, J. O. & Silverman, B. W. (2005). Functional Data Analysis, 2nd ed. Springer.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import (
    as_data,
    as_vector,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_random_state,
    check_spread,
)
from ._common import Variant, check_rows, conformal_pvalue

__all__ = ["FunctionalMetric", "trapezoid_weights"]

_METHODS = ("rkhs", "fpca")


def trapezoid_weights(grid: ArrayLike) -> np.ndarray:
    """Trapezoid-rule weights w with sum_i w_i f(t_i) ~ int f(t) dt over [t_1, t_T]."""
    t = as_vector(grid, "grid")
    if t.size < 2 or not np.all(np.diff(t) > 0):
        raise ValueError("grid must be strictly increasing with at least 2 points; sort it and "
                         "drop repeated points.")
    h = np.diff(t)
    w = np.zeros_like(t)
    w[:-1] += h / 2
    w[1:] += h / 2
    return w


class FunctionalMetric(Variant):
    """Mahalanobis-type distance for curves on a common grid (functional data).

    Parameters
    ----------
    method : {"rkhs", "fpca"}, default="rkhs"
        "rkhs": the regularised distance M_r of Berrendero et al. (2020); "fpca": the
        truncated functional principal component semi-distance of Galeano et al. (2015).
    reg : float, optional
        Relative regularisation of the "rkhs" distance: the ridge r of the module notes is
        ``reg * sum_j lambda_j``, a share of the total variance, so it does not depend on the
        units of the curves or of the grid. None means 0.01. Ignored by "fpca".
    n_components : int or float, optional
        Number of components k. For "fpca": None keeps the fewest explaining 95% of the
        variance; a float in (0, 1) is that fraction. For "rkhs": None keeps every component
        with lambda_j > 0; an int truncates.
    grid : array-like of shape (n_points,), optional
        The sampling points; None means equally spaced points on [0, 1].
    random_state : int or numpy Generator, optional
        For the simulated null distribution of the "rkhs" distance (p-values, outliers).
    n_simulations : int, default=20000
        Draws of that null distribution.
    alpha : float, optional
        Deprecated: the absolute ridge of earlier releases (curve units squared times grid
        units); pass ``reg`` (relative) instead.

    Attributes
    ----------
    mean_ : ndarray of shape (n_points,)
    eigenvalues_ : ndarray of shape (k,)
    eigenfunctions_ : ndarray of shape (k, n_points)
        Orthonormal in the quadrature inner product.
    weights_ : ndarray of shape (n_points,)
        Trapezoid quadrature weights.
    n_components_ : int
    reg_ : float or None
        The absolute ridge r used by "rkhs" (None for "fpca").
    n_features_in_ : int
        Number of grid points.

    See Also
    --------
    mahalanobis.Metric : The multivariate distance (curves as vectors, needs n > n_points).
    mahalanobis.pca : Robust principal components of multivariate data.

    Notes
    -----
    The distances, the discretisation and the outlier cutoffs are described in the module
    docstring of :mod:`mahalanobis.variants.functional`.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 50)                          # 40 curves on 50 grid points
    >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
    ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
    ...      + 0.05 * rng.standard_normal((40, 50)))
    >>> fm = mh.FunctionalMetric(method="fpca").fit(X)
    >>> fm.n_components_
    2
    >>> new = np.vstack([np.sin(2 * np.pi * t), 5 * np.sin(2 * np.pi * t)])
    >>> fm.distance(new).round(2), fm.outliers(new)
    (array([1.34, 6.33]), array([False,  True]))
    """

    _fitted_attr = "mean_"

    def __init__(self, method: str = "rkhs", reg: float | None = None,
                 n_components: int | float | None = None, grid: ArrayLike | None = None,
                 random_state: Any = None, n_simulations: int = 20_000, *,
                 alpha: float | None = None) -> None:
        if alpha is not None:
            warnings.warn("FunctionalMetric(alpha=...) (an absolute ridge) is deprecated: pass "
                          "reg=, the ridge as a share of the total variance (r = reg * "
                          "total_variance_); alpha stops working in mahalanobis 0.3.",
                          FutureWarning, stacklevel=2)
        self.method = method
        self.reg = reg
        self.alpha = alpha
        self.n_components = n_components
        self.grid = grid
        self.random_state = random_state
        self.n_simulations = n_simulations

    # ----------------------------------------------------------------- fitting
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> FunctionalMetric:
        """Fit the mean curve and the covariance operator's eigenpairs to X, the curves as rows
        (n_curves, n_points).

        Parameters
        ----------
        X : array-like of shape (n_curves, n_points)
            The curves, one per row, on the common grid (at least 3).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        FunctionalMetric
            self, fitted.

        Raises
        ------
        ValueError
            For an unknown method, a grid of the wrong length, bad ``reg`` or
            ``n_components``, or curves with no variation.

        See Also
        --------
        FunctionalMetric.transform : The principal scores of new curves.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> t = np.linspace(0, 1, 50)
        >>> X = np.random.default_rng(0).standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        >>> fm = mh.FunctionalMetric(method="fpca").fit(X)
        >>> fm.n_components_, fm.mean_.shape
        (1, (50,))
        """
        check_int(self.n_simulations, "n_simulations", 1)
        check_choice(self.method, "method", _METHODS)
        if self.random_state is not None:
            check_random_state(self.random_state)  # a bad seed fails whether used or not
        nc = self.n_components
        if nc is not None and not (isinstance(nc, (float, np.floating)) and 0 < nc < 1):
            check_int(nc, "n_components", 1, "or a fraction in (0, 1) of the variance")
        X = as_data(X, "X", min_samples=3).values
        check_spread(X)  # variances float64 can hold
        n, T = X.shape
        grid = np.linspace(0.0, 1.0, T) if self.grid is None else as_vector(self.grid, "grid")
        if grid.shape[0] != T:
            raise ValueError(f"grid has {grid.shape[0]} points but the curves have {T} "
                             "samples; pass one grid point per column.")
        w = trapezoid_weights(grid)
        self.grid_, self.weights_ = grid, w
        self._sqrt_w = np.sqrt(w)
        self.mean_ = X.mean(axis=0)
        _, s, Vt = np.linalg.svd((X - self.mean_) * self._sqrt_w, full_matrices=False)
        lam = s * s / (n - 1)
        # curves that differ only by the rounding of their mean are identical: the spread is
        # judged against the curves' magnitude, not against zero
        eps = np.finfo(float).eps
        noise = (10 * eps * float(np.max(np.abs(X)))) ** 2 * n * T
        r = int(np.sum(lam > lam[0] * max(n, T) * eps * 10)) if lam[0] > noise else 0
        if r == 0:
            raise ValueError("X: all fitted curves are identical, so the covariance "
                             "operator is zero; fit on curves that vary.")
        lam, Vt = lam[:r], Vt[:r]
        k = self._choose_k(lam)
        self.n_components_ = k
        self.eigenvalues_ = lam[:k]
        self._Vt = Vt[:k]
        self.eigenfunctions_ = Vt[:k] / self._sqrt_w
        self.total_variance_ = float(np.sum(lam))
        if self.method == "rkhs":
            if self.alpha is not None:
                self.reg_ = check_fraction(self.alpha, "alpha", low=0.0, high=np.inf)
            else:
                reg = 0.01 if self.reg is None else check_fraction(self.reg, "reg", low=0.0,
                                                                   high=np.inf)
                self.reg_ = reg * self.total_variance_
            # lam / (lam + reg)^2 without squaring (which overflows beyond scale 1e77)
            den = self.eigenvalues_ + self.reg_
            self._coef = (self.eigenvalues_ / den) / den
        else:
            self.reg_ = None  # type: ignore[assignment]  # None: no regularisation
            self._coef = 1.0 / self.eigenvalues_
        self.n_samples_, self.n_features_in_ = n, T
        self._null: np.ndarray | None = None
        return self

    def _choose_k(self, lam: np.ndarray) -> int:
        r = lam.size
        nc = self.n_components
        if nc is None:
            if self.method == "rkhs":
                return r
            nc = 0.95
        if isinstance(nc, (float, np.floating)) and 0 < nc < 1:
            frac = check_fraction(nc, "n_components")
            return int(min(r, np.searchsorted(np.cumsum(lam) / np.sum(lam), frac) + 1))
        if isinstance(nc, bool) or int(nc) != nc or nc < 1:
            raise ValueError(f"n_components must be a positive integer, a fraction in (0, 1) "
                             f"or None; got {nc!r}.")
        return int(min(int(nc), r))

    # ----------------------------------------------------------------- scores and distances
    def transform(self, X: ArrayLike, *, nan_policy: str = "raise") -> np.ndarray:
        """Principal scores <x - mean, e_j> of the curves in the rows of X, shape (n, k).

        Parameters
        ----------
        X : array-like of shape (n, n_points)
            The curves.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Curves with NaN: an error, dropped, or rows of NaN.

        Returns
        -------
        ndarray of shape (n, k)
            The scores on the k retained eigenfunctions.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for curves of the wrong length.

        See Also
        --------
        FunctionalMetric.distance : Distances from these scores.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> t = np.linspace(0, 1, 50)
        >>> X = np.random.default_rng(0).standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        >>> fm = mh.FunctionalMetric(method="fpca").fit(X)
        >>> fm.transform(X[:3]).shape
        (3, 1)
        """
        self._check_fitted()
        X = check_rows(X, "X", self.mean_.shape[0], nan_policy)
        return ((X - self.mean_) * self._sqrt_w) @ self._Vt.T

    def distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Distance of each curve (row of X) to the mean curve (D; ``squared=True`` gives D^2).

        Parameters
        ----------
        X : array-like of shape (n, n_points)
            The curves.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Curves with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The distances.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for curves of the wrong length.

        See Also
        --------
        FunctionalMetric.pvalue : p-values of the squared distances.
        FunctionalMetric.pairwise : Distances between curves.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = np.linspace(0, 1, 50)
        >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
        ...      + 0.05 * rng.standard_normal((40, 50)))
        >>> fm = mh.FunctionalMetric().fit(X)                  # the RKHS distance
        >>> fm.distance(np.vstack([np.sin(2 * np.pi * t), 5 * np.sin(2 * np.pi * t)])).round(2)
        array([1.3 , 6.15])
        """
        squared = check_bool(squared, "squared")
        xi = self.transform(X, nan_policy=nan_policy)
        d2 = (xi * xi) @ self._coef
        return d2 if squared else np.sqrt(d2)

    def pairwise(self, XA: ArrayLike, XB: ArrayLike | None = None, *, squared: bool = False,
                 nan_policy: str = "raise") -> np.ndarray:
        """Distances between every curve (row) of ``XA`` and of ``XB`` (or of ``XA``).

        Parameters
        ----------
        XA : array-like of shape (n_A, n_points)
            The first curves.
        XB : array-like of shape (n_B, n_points), optional
            The second curves; None: among the curves of XA.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Curves with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n_A, n_B)
            The distances (exactly symmetric with a zero diagonal without XB).

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for curves of the wrong length.

        See Also
        --------
        FunctionalMetric.distance : Distances to the mean curve.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = np.linspace(0, 1, 50)
        >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
        ...      + 0.05 * rng.standard_normal((40, 50)))
        >>> fm = mh.FunctionalMetric(method="fpca").fit(X)
        >>> fm.pairwise(np.vstack([np.sin(2 * np.pi * t), 5 * np.sin(2 * np.pi * t)])).round(2)
        array([[0.  , 5.01],
               [5.01, 0.  ]])
        """
        squared = check_bool(squared, "squared")
        sc = np.sqrt(self._coef)
        A = self.transform(XA, nan_policy=nan_policy) * sc
        B = A if XB is None else self.transform(XB, nan_policy=nan_policy) * sc
        D = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
        D -= 2.0 * (A @ B.T)
        np.maximum(D, 0.0, out=D)
        if XB is None:
            np.fill_diagonal(D, 0.0)
            D = (D + D.T) / 2
        return D if squared else np.sqrt(D)

    # ----------------------------------------------------------------- outliers
    def _null_sample(self) -> np.ndarray:
        if self._null is None:
            rng = check_random_state(self.random_state)
            n_sim = int(self.n_simulations)
            if n_sim < 100:
                raise ValueError(f"n_simulations must be at least 100; got {n_sim}.")
            wts = self.eigenvalues_ * self._coef  # lambda^2 / (lambda + reg_)^2
            sim = np.zeros(n_sim)
            for s in range(0, wts.size, 64):
                Z = rng.standard_normal((n_sim, min(64, wts.size - s)))
                sim += (Z * Z) @ wts[s:s + 64]
            self._null = np.sort(sim)
        return self._null

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise") -> np.ndarray:
        """Upper-tail p-values of the squared distance to the mean under a Gaussian process:
        chi2_k for "fpca"; the simulated weighted chi-squared law for "rkhs".

        Parameters
        ----------
        X : array-like of shape (n, n_points)
            The curves.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Curves with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The p-values.

        See Also
        --------
        FunctionalMetric.cutoff : The squared-distance cutoff at a level.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = np.linspace(0, 1, 50)
        >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
        ...      + 0.05 * rng.standard_normal((40, 50)))
        >>> fm = mh.FunctionalMetric(random_state=0).fit(X)
        >>> fm.pvalue(np.vstack([np.sin(2 * np.pi * t), 5 * np.sin(2 * np.pi * t)])).round(3)
        array([0.413, 0.   ])
        """
        d2 = self.distance(X, squared=True, nan_policy=nan_policy)
        if self.method == "fpca":
            return stats.chi2.sf(d2, self.n_components_)
        return conformal_pvalue(self._null_sample(), d2)

    def cutoff(self, alpha: float = 0.025) -> float:
        """Squared-distance cutoff at level alpha (see :meth:`pvalue`).

        Parameters
        ----------
        alpha : float, default 0.025
            Test level.

        Returns
        -------
        float
            The cutoff on the D^2 scale: the (1 - alpha) quantile of chi2_k ("fpca") or of the
            simulated null law ("rkhs").

        Raises
        ------
        ValueError
            Before :meth:`fit`, or when ``alpha`` is not in (0, 1).

        See Also
        --------
        FunctionalMetric.outliers : The curves beyond it.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> t = np.linspace(0, 1, 50)
        >>> rng = np.random.default_rng(0)
        >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
        ...      + 0.05 * rng.standard_normal((40, 50)))
        >>> round(mh.FunctionalMetric(method="fpca").fit(X).cutoff(0.025), 2)   # chi2_2
        7.38
        """
        alpha = check_fraction(alpha, "alpha")
        self._check_fitted()
        if self.method == "fpca":
            return float(stats.chi2.isf(alpha, self.n_components_))
        return float(np.quantile(self._null_sample(), 1.0 - alpha))

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Boolean mask of curves whose squared distance to the mean exceeds the level-alpha
        cutoff.

        Parameters
        ----------
        X : array-like of shape (n, n_points)
            The curves.
        alpha : float, default 0.025
            Test level.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Curves with NaN: an error, dropped, or never flagged.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged curve.

        See Also
        --------
        FunctionalMetric.cutoff : The cutoff used.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = np.linspace(0, 1, 50)
        >>> X = (rng.standard_normal((40, 1)) * np.sin(2 * np.pi * t)
        ...      + rng.standard_normal((40, 1)) * np.cos(2 * np.pi * t)
        ...      + 0.05 * rng.standard_normal((40, 50)))
        >>> fm = mh.FunctionalMetric(random_state=0).fit(X)
        >>> fm.outliers(np.vstack([np.sin(2 * np.pi * t), 5 * np.sin(2 * np.pi * t)]))
        array([False,  True])
        """
        return self.distance(X, squared=True, nan_policy=nan_policy) > self.cutoff(alpha)

    def __repr__(self) -> str:
        parts = [f"method={self.method!r}"]
        if hasattr(self, "mean_"):
            parts.append(f"n_points={self.mean_.shape[0]}")
            parts.append(f"n_samples={self.n_samples_}")
            parts.append(f"n_components={self.n_components_}")
            if self.reg_ is not None:
                parts.append(f"reg_={self.reg_:.4g}")
        return f"FunctionalMetric({', '.join(parts)})"
