"""Hotelling's T^2 tests for means: one-sample, paired, two-sample (pooled and unequal
covariances) and the random-projection test of Lopes, Jacob & Wainwright (2011) for p >= n.

Notation: N_i sample sizes, xbar_i means, S_i covariances (divisor N_i - 1), d the estimated
mean (difference) minus its null value mu, M the estimated covariance matrix of the estimate:
S / n (one-sample), S_p (1/n1 + 1/n2) (pooled), St = S_1/N_1 + S_2/N_2 (unequal covariances).
Every test statistic is T^2 = d^T M^-1 d, computed by a Cholesky factor of M and a triangular
solve (never an explicit inverse), and every null distribution is T^2 ~ scale * F(df1, df2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .. import _linalg
from .._linalg import moments
from .._sample import sample_moments
from .._validation import (
    Data,
    as_vector,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_random_state,
    is_dask,
)
from ..ellipsoid import Ellipsoid

__all__ = ["HotellingResult", "SimultaneousIntervals", "hotelling_t2", "robust_t2",
           "willems_approx"]

_METHODS = ("pooled", "nel_van_der_merwe", "krishnamoorthy_yu", "yao", "johansen",
            "random_projection", "mcd")
_UNEQUAL = ("nel_van_der_merwe", "krishnamoorthy_yu", "yao", "johansen")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False, eq=False)
class SimultaneousIntervals:
    """Simultaneous confidence intervals for the p components of a mean (difference).

    Returned by :meth:`HotellingResult.simultaneous_intervals`; immutable.

    Parameters
    ----------
    estimate : ndarray of shape (p,)
        The estimated mean (difference).
    lower, upper : ndarray of shape (p,)
        The interval ends.
    level : float
        Simultaneous coverage.
    method : {"t2", "bonferroni"}
        How the multiplier was chosen.
    multiplier : ndarray of shape (p,)
        Half-width over standard error, per component.
    names : tuple of str
        The feature names.

    See Also
    --------
    HotellingResult.simultaneous_intervals : Computes them.
    HotellingResult.confidence_region : The joint confidence ellipsoid.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
    >>> mh.hotelling_t2(X).simultaneous_intervals(0.95)
    SimultaneousIntervals(level=0.95, method='t2')
      x0: 0.729419 [0.214494, 1.24434]
      x1: 0.149692 [-0.28547, 0.584855]
    """

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    method: str
    multiplier: np.ndarray
    names: tuple[str, ...]

    def to_frame(self) -> Any:
        """The intervals as a DataFrame, one row per feature.

        Returns
        -------
        pandas.DataFrame
            Columns estimate, lower, upper; index the feature names.

        See Also
        --------
        HotellingResult.to_frame : The test itself.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> mh.hotelling_t2(X).simultaneous_intervals().to_frame().round(4)
                 estimate   lower   upper
        feature
        x0         0.7294  0.2145  1.2443
        x1         0.1497 -0.2855  0.5849
        """
        import pandas as pd
        return pd.DataFrame({"estimate": self.estimate, "lower": self.lower,
                             "upper": self.upper}, index=pd.Index(self.names, name="feature"))

    def __repr__(self) -> str:
        rows = "\n".join(f"  {nm}: {e:.6g} [{lo:.6g}, {hi:.6g}]" for nm, e, lo, hi in
                         zip(self.names, self.estimate, self.lower, self.upper))
        return (f"SimultaneousIntervals(level={self.level:g}, method={self.method!r})\n{rows}")


@dataclass(frozen=True, repr=False, eq=False)
class HotellingResult:
    """Result of :func:`hotelling_t2`.

    Attributes
    ----------
    statistic : float
        Hotelling's T^2 (for ``"random_projection"``: the mean projected T^2).
    f_statistic : float
        T^2 / scale, F-distributed with ``df`` under the null.
    df : tuple (df1, df2)
    pvalue : float
        Upper-tail F probability (survival function: no underflow to 0 before ~1e-308).
    p, n, n1, n2 : int
        Dimension and sample size(s) (n for one-sample/paired, n1 and n2 for two samples).
    estimate : ndarray (p,)
        The estimated mean (one-sample), mean difference (paired) or xbar_1 - xbar_2.
    null_value : ndarray (p,)
        The hypothesised mean (difference) mu.
    method : str
        "one-sample", "paired", "pooled", one of the unequal-covariance procedures, or
        "random_projection".
    nu : float or None
        Approximate degrees of freedom of the unequal-covariance procedures.
    scale : float
        T^2 ~ scale * F(df) under the null.
    feature_names : tuple of str or None
        Names of the p features.
    projection_dim, n_projections : int or None
        ``"random_projection"``: the projected dimension k and the number of projections.
    projection_pvalues : ndarray or None
        ``"random_projection"``: the p-value of each projection.

    See Also
    --------
    hotelling_t2 : Computes it.
    mahalanobis.Ellipsoid : What :meth:`confidence_region` returns.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
    >>> mh.hotelling_t2(X)
    HotellingResult(method='one-sample', statistic=17.5084, f_statistic=8.29346, df=(2, 18),
                    pvalue=0.00280056, p=2, n=20)
    """

    statistic: float
    f_statistic: float
    df: tuple[float, float]
    pvalue: float
    p: int
    estimate: np.ndarray
    null_value: np.ndarray
    method: str
    scale: float
    n: int | None = None
    n1: int | None = None
    n2: int | None = None
    nu: float | None = None
    feature_names: tuple[str, ...] | None = None
    projection_dim: int | None = None
    n_projections: int | None = None
    projection_pvalues: np.ndarray | None = None
    _estimate_cov: np.ndarray | None = None
    _t_df: Any = None

    @property
    def mean_difference(self) -> np.ndarray:
        """Alias of ``estimate``: the mean (one-sample), the mean difference (paired) or
        xbar_1 - xbar_2 (two samples).

        See Also
        --------
        HotellingResult.simultaneous_intervals : Intervals for its components.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> mh.hotelling_t2(X).mean_difference.round(4)
        array([0.7294, 0.1497])
        """
        return self.estimate

    def _names(self) -> tuple[str, ...]:
        return self.feature_names or tuple(f"x{k}" for k in range(self.p))

    def _check_region(self, what: str) -> np.ndarray:
        if self._estimate_cov is None:
            raise ValueError(f"{what} is not available for method={self.method!r} (no "
                             "full-dimensional covariance of the estimate when p >= n).")
        return self._estimate_cov

    def critical_value(self, level: float = 0.95) -> float:
        """The T^2 quantile: scale * F_level(df1, df2).

        Parameters
        ----------
        level : float, default 0.95
            The quantile's probability (1 - test level).

        Returns
        -------
        float
            The critical value on the T^2 scale.

        Raises
        ------
        ValueError
            When ``level`` is not in (0, 1).

        See Also
        --------
        HotellingResult.confidence_region : The ellipsoid of this radius.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> round(mh.hotelling_t2(X).critical_value(0.95), 4)
        7.5041
        """
        level = check_fraction(level, "level")
        return float(self.scale * stats.f.ppf(level, *self.df))

    def confidence_region(self, level: float = 0.95) -> Ellipsoid:
        """Confidence ellipsoid {delta : (estimate - delta)^T M^-1 (estimate - delta) <= c} for
        the mean (difference), with c = scale * F_level(df): the deltas this test would not
        reject at 1 - level.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level.

        Returns
        -------
        Ellipsoid
            The region (``kind="hotelling"``).

        Raises
        ------
        ValueError
            When ``level`` is not in (0, 1), or for ``"random_projection"`` (no
            full-dimensional covariance of the estimate).

        See Also
        --------
        HotellingResult.simultaneous_intervals : Per-component intervals.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> region = mh.hotelling_t2(X).confidence_region(0.95)
        >>> region.contains([0.0, 0.0]), region.contains([1.0, 0.0])
        (False, True)
        """
        M = self._check_region("confidence_region()")
        return Ellipsoid(self.estimate, M, self.critical_value(level), level=level,
                         kind="hotelling", feature_names=self.feature_names)

    def simultaneous_intervals(self, level: float = 0.95,
                               method: str = "t2") -> SimultaneousIntervals:
        """Simultaneous intervals for the p components.

        ``"t2"``: estimate_j +/- sqrt(c M_jj), c the T^2 critical value (Scheffe-type; valid for
        all linear combinations at once). ``"bonferroni"``: estimate_j +/- t_{1-(1-level)/(2p)}
        sqrt(M_jj), with t's df n - 1 (one-sample), n1 + n2 - 2 (pooled) or Welch's per
        component (unequal covariances); shorter when only the p components matter.

        Parameters
        ----------
        level : float, default 0.95
            Simultaneous coverage.
        method : {"t2", "bonferroni"}, default "t2"
            The multiplier.

        Returns
        -------
        SimultaneousIntervals
            Estimate, lower and upper end per component.

        Raises
        ------
        ValueError
            For a bad ``level`` or ``method``, ``"bonferroni"`` for a test without a t
            reference, or ``"random_projection"``.

        See Also
        --------
        HotellingResult.confidence_region : The joint region.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> r = mh.hotelling_t2(X)
        >>> r.simultaneous_intervals(method="bonferroni").multiplier.round(4)
        array([2.4334, 2.4334])
        """
        M = self._check_region("simultaneous_intervals()")
        level = check_fraction(level, "level")
        check_choice(method, "method", ("t2", "bonferroni"))
        if method == "bonferroni" and self._t_df is None:
            raise ValueError(f"Bonferroni intervals need a t reference, which the "
                             f"{self.method!r} test does not have; use method='t2'.")
        se = np.sqrt(np.diagonal(M))
        if method == "t2":
            mult = np.full(self.p, np.sqrt(self.critical_value(level)))
        else:
            mult = np.broadcast_to(stats.t.ppf(1 - (1 - level) / (2 * self.p), self._t_df),
                                   (self.p,)).astype(float)
        half = mult * se
        return SimultaneousIntervals(estimate=self.estimate.copy(), lower=self.estimate - half,
                                     upper=self.estimate + half, level=level, method=method,
                                     multiplier=mult, names=self._names())

    def to_frame(self) -> Any:
        """One-row DataFrame: statistic, f_statistic, df1, df2, pvalue, method.

        Returns
        -------
        pandas.DataFrame
            The test in one row.

        See Also
        --------
        SimultaneousIntervals.to_frame : The intervals per feature.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((20, 2)) + [1.0, 0.0]
        >>> mh.hotelling_t2(X).to_frame().round(4)
           statistic  f_statistic  df1   df2  pvalue      method
        0    17.5084       8.2935  2.0  18.0  0.0028  one-sample
        """
        import pandas as pd
        return pd.DataFrame([{"statistic": self.statistic, "f_statistic": self.f_statistic,
                              "df1": self.df[0], "df2": self.df[1], "pvalue": self.pvalue,
                              "method": self.method}])

    def __repr__(self) -> str:
        sizes = f"n={self.n}" if self.n is not None else f"n1={self.n1}, n2={self.n2}"
        extra = "" if self.projection_dim is None else (
            f", projection_dim={self.projection_dim}, n_projections={self.n_projections}")
        return (f"HotellingResult(method={self.method!r}, statistic={self.statistic:.6g}, "
                f"f_statistic={self.f_statistic:.6g}, df=({self.df[0]:.6g}, {self.df[1]:.6g}),"
                f" pvalue={self.pvalue:.6g}, p={self.p}, {sizes}{extra})")


# --------------------------------------------------------------------------- kernels
def _chol_solve_vec(M: np.ndarray, d: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factor L of M and z = L^-1 d, so d^T M^-1 d = z^T z."""
    L = _linalg.cholesky(M, name)
    z = _linalg.solve_triangular(L, d, lower=True)
    return L, z


def _too_few(n_desc: str, p: int, need: str) -> ValueError:
    return ValueError(
        f"{n_desc} for p = {p} features: the classical Hotelling test needs {need} (otherwise "
        "the covariance is singular). Use method='random_projection' (Lopes, Jacob & "
        "Wainwright 2011), which works for any p, or select fewer features.")


def _f_null(T2: float, scale: float, df: tuple[float, float]) -> tuple[float, float]:
    F = T2 / scale
    return float(F), float(stats.f.sf(F, *df))


def _unequal(method: str, d: np.ndarray, S1: np.ndarray, S2: np.ndarray, N1: int,
             N2: int) -> tuple[float, float, float, tuple[float, float], np.ndarray]:
    """T^2 = d^T St^-1 d and its approximate null for the Behrens-Fisher problem.

    Weights 1/(N_i - 1) as in the papers' notation n_i = N_i - 1 (as R package SHT).
    Returns (T2, nu, scale, df, St).
    """
    p = d.shape[0]
    St1, St2 = S1 / N1, S2 / N2
    St = St1 + St2
    L, z = _chol_solve_vec(St, d, "the covariance of the mean difference")
    T2 = float(z @ z)
    # C_i = L^-1 St_i L^-T is similar to B_i = St_i St^-1: tr B_i = tr C_i, tr B_i^2 = ||C_i||_F^2
    C = []
    for Sti in (St1, St2):
        A = _linalg.solve_triangular(L, Sti, lower=True)
        C.append(_linalg.solve_triangular(L, A.T, lower=True))
    f = (N1 - 1.0, N2 - 1.0)
    if method == "yao":
        # Yao (1965), eq. (2.3): 1/nu = sum_i (w^T St_i w / T2)^2 / (N_i - 1), w = St^-1 d
        w = _linalg.solve_triangular(L, z, lower=True, trans=True)
        inv_nu = sum((float(w @ Sti @ w) / T2) ** 2 / fi for Sti, fi in zip((St1, St2), f))
        nu = 1.0 / inv_nu
    elif method == "nel_van_der_merwe":
        # Nel & Van der Merwe (1986), eq. (3.5): nu = (tr St^2 + tr^2 St) / sum_i (...)_i / n_i
        num = np.sum(St * St) + np.trace(St) ** 2
        den = sum((np.sum(Si * Si) + np.trace(Si) ** 2) / fi for Si, fi in zip((St1, St2), f))
        nu = num / den
    else:
        # sum_i (tr B_i^2 + tr^2 B_i) / n_i: the Krishnamoorthy-Yu (2004, eq. 2.6) denominator,
        # twice Johansen's (1980) D
        ky = sum((np.sum(Ci * Ci) + np.trace(Ci) ** 2) / fi for Ci, fi in zip(C, f))
        if method == "krishnamoorthy_yu":
            nu = (p + p * p) / ky
        else:  # Johansen (1980): T2 / q ~ F(p, nu), q = p + 2D - 6D/(p(p-1)+2), nu = p(p+2)/(3D)
            D = ky / 2.0
            q = p + 2.0 * D - 6.0 * D / (p * (p - 1.0) + 2.0)
            nu = p * (p + 2.0) / (3.0 * D)
            return T2, float(nu), float(q), (float(p), float(nu)), St
    nu = float(nu)
    if nu - p + 1 <= 0:
        raise ValueError(f"method={method!r}: the approximate degrees of freedom nu = {nu:.3g} "
                         f"leave nu - p + 1 <= 0 for p = {p}; use more observations or "
                         "method='random_projection'.")
    return T2, nu, nu * p / (nu - p + 1.0), (float(p), nu - p + 1.0), St


def _welch_df(S1: np.ndarray, S2: np.ndarray, N1: int, N2: int) -> np.ndarray:
    a, b = np.diagonal(S1) / N1, np.diagonal(S2) / N2
    return (a + b) ** 2 / (a * a / (N1 - 1) + b * b / (N2 - 1))


def _random_projection(C: np.ndarray, d: np.ndarray, factor: float, nu_s: int, k: int,
                       n_proj: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Projected T^2 statistics (Lopes, Jacob & Wainwright 2011, eq. 3).

    C: centred residual rows (sum of squares / nu_s = the covariance estimate); d: mean
    difference; T2_k = factor * (P^T d)^T (P^T S P)^-1 (P^T d) for P a p x k standard Gaussian.
    Under the null (normal data), given P: T2_k ~ k nu_s / (nu_s - k + 1) F(k, nu_s - k + 1).
    """
    p = d.shape[0]
    out = np.empty(n_proj)
    for r in range(n_proj):
        P = rng.standard_normal((p, k))
        CP = C @ P
        Sk = (CP.T @ CP) / nu_s
        _, z = _chol_solve_vec((Sk + Sk.T) / 2, P.T @ d, "the projected covariance")
        out[r] = factor * float(z @ z)
    scale = k * nu_s / (nu_s - k + 1.0)
    return out, stats.f.sf(out / scale, k, nu_s - k + 1)


def _rp_permutation(Z: np.ndarray, n1: int | None, factor: float, nu_s: int,
                    projections: list[np.ndarray], n_perm: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Projected T^2 of the data (row 0) and of ``n_perm`` re-randomisations (rows 1..),
    shape (n_perm + 1, n_projections): sign flips of Z = X - mu (one-sample, ``n1`` None) or
    relabellings of the stacked samples Z = [X; Y + mu] (two-sample). Uses the same
    projections for every re-randomisation, so the averaged statistic is compared with its
    own permutation distribution (exact under exchangeability / symmetry)."""
    n = Z.shape[0]
    if n1 is None:
        E = rng.choice(np.array([-1.0, 1.0]), size=(n_perm + 1, n))
        E[0] = 1.0
    else:
        E = np.zeros((n_perm + 1, n))
        E[0, :n1] = 1.0
        for b in range(1, n_perm + 1):
            E[b, rng.permutation(n)[:n1]] = 1.0
    out = np.empty((n_perm + 1, len(projections)))
    for r, P in enumerate(projections):
        Y = Z @ P
        G = Y.T @ Y
        if n1 is None:
            d = E @ Y / n
            S = (G[None] - n * d[:, :, None] * d[:, None, :]) / nu_s
        else:
            s1 = E @ Y
            m1, m2 = s1 / n1, (Y.sum(axis=0) - s1) / (n - n1)
            S = (G[None] - n1 * m1[:, :, None] * m1[:, None, :]
                 - (n - n1) * m2[:, :, None] * m2[:, None, :]) / nu_s
            d = m1 - m2
        sol = np.linalg.solve(S, d[:, :, None])[:, :, 0]
        out[:, r] = factor * np.einsum("bk,bk->b", d, sol)
    return out


# --------------------------------------------------------------------------- validation
def _hotelling_iv(X: Any, Y: Any, mu: Any, paired: bool, method: str, nan_policy: str) -> Any:
    check_choice(method, "method", _METHODS)
    # one pass per sample: the data's moments (which also notice NaN/inf), except for paired
    # data, whose moments are those of the differences
    dx, mx = sample_moments(X, "X", nan_policy=nan_policy, covariance=False,
                            compute=not paired)
    names = tuple(map(str, dx.columns)) if dx.columns is not None else None
    p = dx.values.shape[1]
    dy = my = None
    if Y is not None:
        names_y = None
        if names is not None and hasattr(Y, "columns") and set(map(str, Y.columns)) == set(names):
            names_y = list(dx.columns)
        dy, my = sample_moments(Y, "Y", nan_policy=nan_policy, covariance=False,
                                feature_names=names_y, compute=not paired)
        if dy.values.shape[1] != p:
            raise ValueError(f"X has {p} columns but Y has {dy.values.shape[1]}; both samples "
                             "must measure the same features.")
    if paired:
        if dy is None:
            raise ValueError("paired=True needs Y, the second measurement of the same units.")
        if dy.values.shape[0] != dx.values.shape[0]:
            raise ValueError(f"paired=True needs X and Y with the same rows; got "
                             f"{dx.values.shape[0]} and {dy.values.shape[0]} rows.")
        if method in _UNEQUAL:
            raise ValueError(f"method={method!r} is for two independent samples; a paired test "
                             "is a one-sample test of the differences (use method='pooled' or "
                             "'random_projection').")
    if dy is None and method in _UNEQUAL:
        raise ValueError(f"method={method!r} compares two samples; pass Y.")
    if method == "mcd" and dy is not None and not paired:
        raise ValueError("method='mcd' is the robust one-sample test (Willems et al. 2002); "
                         "there is no robust two-sample version (nor in rrcov). Test each "
                         "mean against mu, or use mahalanobis.group_distances(..., "
                         "method='mcd') to compare groups.")
    mu = np.zeros(p) if mu is None else as_vector(mu, "mu", p)
    if paired:  # a one-sample test of the differences
        dx = Data(values=dx.values - dy.values,  # type: ignore[union-attr]  # paired: Y given
                  index=dx.index, columns=dx.columns)
        dy, mx = None, moments(dx.values)
    return dx, dy, mx, my, mu, names, p


# --------------------------------------------------------------------------- public
def hotelling_t2(X: ArrayLike, Y: ArrayLike | None = None, *, mu: ArrayLike | None = None,
                 paired: bool = False,
                 method: str = "pooled", projection_dim: int | None = None,
                 n_projections: int = 100, pvalue_method: str = "permutation",
                 n_permutations: int = 999, random_state: Any = None,
                 nan_policy: str = "raise") -> HotellingResult:
    """Hotelling's T^2 test for a mean vector or a difference of two means.

    Parameters
    ----------
    X : array-like or DataFrame (n1, p)
        The (first) sample.
    Y : array-like or DataFrame (n2, p), optional
        Second sample. Without it: one-sample test of E[X] = mu.
    mu : array-like (p,), optional
        Null value of the mean (one-sample) or of the difference E[X] - E[Y]; default 0.
    paired : bool
        X and Y are two measurements on the same units: one-sample test of X - Y.
    method : str
        Two samples: ``"pooled"`` (equal covariances, exact under normality),
        ``"nel_van_der_merwe"``, ``"krishnamoorthy_yu"``, ``"yao"``, ``"johansen"``
        (unequal covariances; approximate F with the procedure's degrees of freedom, using
        weights 1/(N_i - 1)), or ``"random_projection"`` for any p (also one-sample/paired).
        One sample (or paired): ``"mcd"``, the robust test of Willems, Pison, Rousseeuw & Van
        Aelst (2002) with the reweighted MCD (support fraction 0.75) in place of the mean and
        covariance and their approximate F distribution (rrcov ``T2.test(method="mcd")``;
        ``random_state`` seeds the MCD).
    projection_dim, n_projections, pvalue_method, n_permutations, random_state
        ``"random_projection"`` only: projection dimension k (default floor(nu/2) with nu the
        covariance degrees of freedom, n - 1 or n1 + n2 - 2, capped at p), number of
        projections averaged, how the p-value is computed (``"permutation"``, the default, or
        ``"average"``, see Notes), the number of re-randomisations for the latter, and the
        seed.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (with a warning naming them).

    Returns
    -------
    HotellingResult
        T^2, its F transform, degrees of freedom and p-value, with confidence regions and
        simultaneous intervals.

    Raises
    ------
    ValueError
        For an unknown method, mismatched shapes (or unequal row counts with
        ``paired=True``), or too few rows for the covariance (the message suggests
        ``method="random_projection"``).

    See Also
    --------
    group_distance : Mahalanobis' D^2 between two group means.
    mahalanobis.control.T2Chart : T^2 control charts.

    Notes
    -----
    One-sample: T^2 = n d^T S^-1 d, T^2 (n - p) / (p (n - 1)) ~ F(p, n - p). Pooled:
    T^2 = n1 n2 / (n1 + n2) d^T S_p^-1 d, T^2 (n1 + n2 - p - 1) / (p (n1 + n2 - 2)) ~
    F(p, n1 + n2 - p - 1). Unequal covariances: T^2 = d^T St^-1 d, with
    T^2 (nu - p + 1)/(nu p) ~ F(p, nu - p + 1) (Yao 1965; Nel & Van der Merwe 1986;
    Krishnamoorthy & Yu 2004), or T^2 / q ~ F(p, nu) (Johansen 1980).

    Random projection (Lopes, Jacob & Wainwright 2011): for a p x k Gaussian matrix P the
    projected statistic T2_k = d^T P (P^T S P)^-1 P^T d (times n, or n1 n2/(n1 + n2)) is exactly
    k nu/(nu - k + 1) F(k, nu - k + 1) under the null, given P. To remove the dependence on one
    draw of P, ``n_projections`` projections are drawn; ``statistic`` and ``f_statistic`` are
    the averages over them and ``pvalue`` is the average of the per-projection p-values (the
    data-conditional expected p-value; ``projection_pvalues`` holds them all). Each
    per-projection p-value is exactly uniform under the null; their average is more concentrated
    around 1/2, which makes the averaged test conservative at the usual levels (rejection rate
    below alpha; with ``n_projections=1`` the test is exact). In simulations (n1 = n2 = 10,
    p = 40, 50 projections) it rejected 0 of 400 null samples at 5%: valid but very
    conservative. ``pvalue_method="permutation"`` instead compares the averaged statistic with
    its own distribution over ``n_permutations`` relabellings of the pooled samples
    (two-sample) or sign flips of X - mu (one-sample/paired; assumes symmetry about mu),
    reusing the same projections: p = (1 + #{T_b >= T}) / (1 + n_permutations), exact under
    the null without normality, at n_permutations times the cost.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 2)) + [1.0, 0.0]
    >>> Y = rng.standard_normal((25, 2))
    >>> r = mh.hotelling_t2(X)                       # one sample: E[X] = 0?
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (17.5084, 0.0028)
    >>> r = mh.hotelling_t2(X, Y, method="yao")      # two samples, unequal covariances
    >>> r.method, [round(v, 2) for v in r.df], round(r.pvalue, 3)
    ('yao', [2.0, 40.64], 0.205)
    """
    n_projections = check_int(n_projections, "n_projections", 1)
    n_permutations = check_int(n_permutations, "n_permutations", 1)
    paired = check_bool(paired, "paired")
    check_choice(pvalue_method, "pvalue_method", ("average", "permutation"))
    if projection_dim is not None:
        projection_dim = check_int(projection_dim, "projection_dim", 1)
    if random_state is not None:
        check_random_state(random_state)  # a bad seed fails whichever method uses it
    if is_dask(X) or is_dask(Y):
        from .._dask._inference import hotelling_iv_dask
        dx, dy, mx, my, mu, names, p = hotelling_iv_dask(X, Y, mu, paired, method, nan_policy,
                                                         _METHODS, _UNEQUAL)
    else:
        dx, dy, mx, my, mu, names, p = _hotelling_iv(X, Y, mu, paired, method, nan_policy)
    A = None if dx is None else dx.values   # the data (in memory) for random projections
    common: dict[str, Any] = {"p": p, "null_value": mu, "feature_names": names}

    if my is None:  # one-sample or paired
        n = mx.n
        label = "paired" if paired else "one-sample"
        m, S = mx.mean, mx.scatter()
        d = m - mu
        if method == "random_projection":
            return _rp_result(A - m, d, float(n), n - 1, projection_dim, n_projections,
                              random_state, common, estimate=m, n=n, label=label,
                              perm=(pvalue_method, n_permutations, A - mu, None))  # type: ignore[arg-type,operator]
        if method == "mcd":
            return _robust_one_sample(A, mu, random_state, common)  # type: ignore[arg-type]
        if n <= p:
            raise _too_few(f"{'paired data have' if paired else 'X has'} {n} rows", p,
                           "n > p")
        _, z = _chol_solve_vec(S, d, "the sample covariance of " +
                               ("X - Y" if paired else "X"))
        T2 = n * float(z @ z)
        scale = p * (n - 1.0) / (n - p)
        df = (float(p), float(n - p))
        F, pv = _f_null(T2, scale, df)
        return HotellingResult(statistic=T2, f_statistic=F, df=df, pvalue=pv, estimate=m,
                               method=label, scale=scale, n=n, _estimate_cov=S / n,
                               _t_df=float(n - 1), **common)

    B = None if dy is None else dy.values
    n1, n2 = mx.n, my.n
    m1, S1 = mx.mean, mx.scatter()
    m2, S2 = my.mean, my.scatter()
    d = m1 - m2 - mu
    est = m1 - m2
    sizes = {"n1": n1, "n2": n2}
    if method == "random_projection":
        C = np.vstack([A - m1, B - m2])
        return _rp_result(C, d, n1 * n2 / (n1 + n2), n1 + n2 - 2, projection_dim, n_projections,
                          random_state, common, estimate=est, label=method,
                          perm=(pvalue_method, n_permutations, np.vstack([A, B + mu]), n1),  # type: ignore[list-item,operator]
                          **sizes)
    if n1 + n2 - 2 < p:
        raise _too_few(f"X and Y have n1 + n2 - 2 = {n1 + n2 - 2} degrees of freedom", p,
                       "n1 + n2 - 2 >= p")
    if method == "pooled":
        Sp = ((n1 - 1) * S1 + (n2 - 1) * S2) / (n1 + n2 - 2)
        _, z = _chol_solve_vec(Sp, d, "the pooled covariance")
        T2 = n1 * n2 / (n1 + n2) * float(z @ z)
        scale = p * (n1 + n2 - 2.0) / (n1 + n2 - p - 1.0)
        df = (float(p), float(n1 + n2 - p - 1))
        F, pv = _f_null(T2, scale, df)
        return HotellingResult(statistic=T2, f_statistic=F, df=df, pvalue=pv, estimate=est,
                               method="pooled", scale=scale,
                               _estimate_cov=Sp * (1.0 / n1 + 1.0 / n2),
                               _t_df=float(n1 + n2 - 2), **sizes, **common)
    T2, nu, scale, df, St = _unequal(method, d, S1, S2, n1, n2)
    F, pv = _f_null(T2, scale, df)
    return HotellingResult(statistic=T2, f_statistic=F, df=df, pvalue=pv, estimate=est,
                           method=method, scale=scale, nu=nu, _estimate_cov=St,
                           _t_df=_welch_df(S1, S2, n1, n2), **sizes, **common)


def _rp_result(C: np.ndarray, d: np.ndarray, factor: float, nu_s: int, k: Any, n_proj: Any,
               random_state: Any, common: dict[str, Any], *, estimate: np.ndarray,
               label: str, perm: tuple[Any, Any, np.ndarray, int | None],
               **sizes: Any) -> HotellingResult:
    p = d.shape[0]
    if nu_s < 2:
        raise ValueError("method='random_projection' needs at least 2 covariance degrees of "
                         "freedom (n >= 3, or n1 + n2 >= 4).")
    if k is None:
        k = max(1, min(nu_s // 2, p))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(p, nu_s):
        raise ValueError(f"projection_dim must be an integer in [1, {min(p, nu_s)}] (at most p "
                         f"and the covariance degrees of freedom {nu_s}); got {k!r}.")
    if isinstance(n_proj, bool) or not isinstance(n_proj, (int, np.integer)) or n_proj < 1:
        raise ValueError(f"n_projections must be a positive integer; got {n_proj!r}.")
    pvalue_method, n_perm, Z, n1 = perm
    check_choice(pvalue_method, "pvalue_method", ("average", "permutation"))
    rng = check_random_state(random_state)
    scale = k * nu_s / (nu_s - k + 1.0)
    if pvalue_method == "average":
        t2, pv = _random_projection(C, d, factor, nu_s, int(k), int(n_proj), rng)
        p_final = float(pv.mean())
    else:
        if isinstance(n_perm, bool) or not isinstance(n_perm, (int, np.integer)) or n_perm < 1:
            raise ValueError(f"n_permutations must be a positive integer; got {n_perm!r}.")
        Ps = [rng.standard_normal((p, int(k))) for _ in range(int(n_proj))]
        T = _rp_permutation(Z, n1, factor, nu_s, Ps, int(n_perm), rng)
        t2 = T[0]
        pv = stats.f.sf(t2 / scale, k, nu_s - k + 1)
        means = T.mean(axis=1)
        p_final = float((1 + np.sum(means[1:] >= means[0] * (1 - 1e-12))) / (1 + n_perm))
    df = (float(k), float(nu_s - k + 1))
    method = "random_projection" if label in ("one-sample", "random_projection") else \
        "paired random_projection"
    return HotellingResult(statistic=float(t2.mean()), f_statistic=float((t2 / scale).mean()),
                           df=df, pvalue=p_final, estimate=estimate, method=method,
                           scale=scale, projection_dim=int(k), n_projections=int(n_proj),
                           projection_pvalues=pv, **sizes, **common)


# --------------------------------------------------------------------------- robust
def _kappa(alpha: float, p: int) -> float:
    """Asymptotic variance factor of the reweighted MCD location at the normal (Croux &
    Haesbroeck 1999; rrcov ``.kappa.s``): raw subset of the ``alpha`` fraction, reweighting
    at chi2_p(0.975)."""
    g = stats.gamma.cdf
    qa = stats.chi2.ppf(alpha, p)
    ca = g(qa / 2, p / 2 + 1)
    c2 = -ca / 2
    eff = 4 * c2 * c2 / ca
    qd = stats.chi2.ppf(0.975, p)
    c1i = g(qd / 2, p / 2 + 1)
    c2d = -c1i / 2
    c1t = g(qd / 2, p / 2)
    return float((1 + 2 * c2d / c1t) ** 2 / eff - ca * (c1t + 2 * c2d) / (c1t ** 2 * c2)
                 + c1i / c1t ** 2)


def willems_approx(p: int, n: int) -> tuple[float, float]:
    """(d, q) with T^2 ~ d F(p, q) for the reweighted-MCD T^2 under the null: the moments of
    T^2 fitted by Willems, Pison, Rousseeuw & Van Aelst (2002, Sect. 3) to simulations (E and
    Var as kappa p + exp(e1) n^e2 and 2 p kappa^2 + exp(v1) n^v2, the power laws interpolated
    in p for p >= 3 and tabulated for p = 1, 2), matched to a scaled F. As rrcov
    ``.getApprox``, q is set to n when the match gives q > n or q < 0 (it diverges as n
    grows and the law tends to kappa chi2_p).

    Examples
    --------
    >>> from mahalanobis.inference.hotelling import willems_approx
    >>> d, q = willems_approx(3, 75)
    >>> round(d, 4), round(q, 2)
    (3.674, 43.33)
    """
    kap = _kappa(0.75, p)
    limvar, limex = 2 * p * kap * kap, p * kap
    lp = math.log(p)
    la, lb = math.log(7 * p * p), math.log(10 * p * p)
    if p == 1:
        vy, ey = (6.202284, -1.731468), (2.741737, -1.403526)
    elif p == 2:
        vy, ey = (8.518773, -1.851881), (3.383723, -1.081893)
    else:
        A = np.array([[1.0, la], [1.0, lb]])
        vy = tuple(np.linalg.solve(A, [4.829586 - 2.868279 * lp, 4.261745 - 3.023672 * lp]))
        ey = tuple(np.linalg.solve(A, [1.050505 - 1.360808 * lp, 0.7280273 - 1.4685161 * lp]))
    varx = limvar + math.exp(vy[0]) / n ** (-vy[1])
    ex = limex + math.exp(ey[0]) / n ** (-ey[1])
    q = (p + 2) / (varx / ex ** 2 * p / 2 - 1) + 4
    if q > n or q < 0:
        q = float(n)
    return float(ex * (q - 2) / q), float(q)


def robust_t2(center: np.ndarray, cov: np.ndarray, n: int, mu: np.ndarray
              ) -> tuple[float, float, float, float, float]:
    """(T^2, F, d, q, p-value) of the robust one-sample test for a given MCD centre and
    scatter (rrcov ``T2.test(method = "mcd")`` given its CovMcd).

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.inference.hotelling import robust_t2
    >>> T2, F, d, q, pv = robust_t2(np.array([0.3, 0.0]), np.eye(2), 50, np.zeros(2))
    >>> round(T2, 2), round(pv, 4)
    (4.5, 0.186)
    """
    p = center.shape[0]
    _, z = _chol_solve_vec(cov, center - mu, "the MCD scatter")
    T2 = n * float(z @ z)
    d, q = willems_approx(p, n)
    return T2, T2 / d, d, q, float(stats.f.sf(T2 / d, p, q))


def _robust_one_sample(A: np.ndarray, mu: np.ndarray, random_state: Any,
                       common: dict[str, Any]) -> HotellingResult:
    from ..covariance import mcd
    n, p = A.shape
    r = mcd(A, support_fraction=0.75, random_state=random_state)
    center, cov = np.asarray(r.center), np.asarray(r.cov)
    T2, F, d, q, pv = robust_t2(center, cov, n, mu)
    return HotellingResult(statistic=T2, f_statistic=F, df=(float(p), float(q)), pvalue=pv,
                           estimate=center, method="mcd", scale=d, n=n,
                           _estimate_cov=cov / n, _t_df=None, **common)
