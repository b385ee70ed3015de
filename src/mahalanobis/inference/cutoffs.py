"""Cutoffs and p-values for squared Mahalanobis distances D^2.

Every function here works on the *squared* distance D^2. Which reference distribution applies
depends on how the centre m and scatter S were obtained:

``"chi2"``
    m and S known (not estimated from the data): D^2 ~ chi2(p).
``"beta"``
    m and S are the sample mean and covariance (divisor n - 1) of n normal points and the point
    is one of those n (in-sample): n D^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2)
    (Gnanadesikan & Kettenring 1972; Wilks 1963). Requires n > p + 1.
``"f"``
    m and S from n normal points, and a *new* point independent of them:
    D^2 n (n - p) / (p (n + 1) (n - 1)) ~ F(p, n - p). Requires n > p.
``"hardin_rocke"``
    D^2 relative to the raw MCD estimate of an h-subset (Hardin & Rocke 2005): with the MCD
    scatter scaled by its consistency factor c_alpha (robustbase's ``.MCDcons``, *without* the
    small-sample factor ``.MCDcnp2``), (m - p + 1) D^2 / (p m) ~ F(p, m - p + 1) where m is the
    Wishart degrees of freedom of Croux & Haesbroeck (1999) times the small-sample adjustment
    exp(0.725 - 0.00663 p - 0.0780 ln n) of Hardin & Rocke (2005, eq. 3.3), fitted by them for
    the maximum-breakdown h = floor((n + p + 1)/2). See :func:`hardin_rocke`.
``"cerioli"``
    D^2 relative to the reweighted MCD (Cerioli 2010): reweighted location and covariance of the
    m units kept in the reweighting step (divisor m - 1, times the consistency factor
    c(p, 0.975)). Units used in the reweighting are judged by the scaled Beta
    (m - 1)^2 / m Beta(p/2, (m - p - 1)/2); the units left out by the scaled F
    (m^2 - 1) p / (m (m - p)) F(p, m - p). Pass m as ``h``. :func:`cutoff` and :func:`pvalue`
    return the Beta version (under the null nearly all units are in the reweighting set, so
    that is the one that sets the false-positive rate); :func:`cerioli_cutoffs` returns both
    and classifies units given their reweighting weights.

``multiplicity="bonferroni"`` uses alpha / n and ``"sidak"`` 1 - (1 - alpha)^(1/n) so that the
chance of flagging *any* of n null points is at most (exactly, for independent points) alpha.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import check_choice, check_fraction, check_int, check_nan_policy

__all__ = ["CerioliCutoffs", "HardinRocke", "cerioli_cutoffs", "cutoff", "hardin_rocke",
           "pvalue"]

_METHODS = ("chi2", "beta", "f", "hardin_rocke", "cerioli")


# --------------------------------------------------------------------------- validation
def _alpha_iv(alpha: Any, name: str = "alpha") -> float:
    return check_fraction(alpha, name, hint="Pass a level such as 0.025.")


def _method_iv(method: Any) -> str:
    return check_choice(method, "method", _METHODS)


def _params_iv(p: Any, method: str, n: Any, h: Any) -> tuple[int, int | None, int | None]:
    """Check p, n and h for a method; returns them as ints (None where not needed)."""
    p = check_int(p, "p", 1, "the number of features")
    if h is not None:
        h = check_int(h, "h", 1, "the size of the subset the estimate used")
    if method == "chi2":
        n = None if n is None else check_int(n, "n", 1, "the number of points")
        return p, n, None
    if n is None and method != "cerioli":
        raise ValueError(f"method={method!r} needs the sample size: pass n= (the number of "
                         "points the centre and scatter were estimated from).")
    if method == "beta":
        n = check_int(n, "n", p + 2, f"the Beta cutoff needs n > p + 1 = {p + 1}; with fewer "
                    "points use a regularised scatter and method='chi2' or a bootstrap cutoff")
    elif method == "f":
        n = check_int(n, "n", p + 1, f"the F cutoff needs n > p = {p}")
    elif method == "hardin_rocke":
        n = check_int(n, "n", p + 2, f"the Hardin-Rocke cutoff needs n > p + 1 = {p + 1}")
        if h is None:
            raise ValueError("method='hardin_rocke' needs h, the size of the MCD subset "
                             f"(h = (n + p + 1) // 2 = {(n + p + 1) // 2} for maximum "
                             "breakdown).")
        h = check_int(h, "h", (n + p + 1) // 2, "h must be at least (n + p + 1) // 2")
        if h > n:
            raise ValueError(f"h must be at most n = {n}; got {h}.")
    elif method == "cerioli":
        if h is None:
            raise ValueError("method='cerioli' needs h = m, the number of units kept in the "
                             "reweighting step (the sum of the reweighting weights).")
        h = check_int(h, "h", p + 2, f"the Cerioli cutoffs need m > p + 1 = {p + 1} units kept "
                    "in the reweighting")
        if n is not None:
            n = check_int(n, "n", h, "n cannot be smaller than the m = h reweighted units")
    return p, n, h


def _adjust_alpha(alpha: float, multiplicity: Any, n: int | None) -> float:
    if multiplicity is not None:
        check_choice(multiplicity, "multiplicity", ("bonferroni", "sidak"))
    if multiplicity is None:
        return alpha
    if n is None:
        raise ValueError(f"multiplicity={multiplicity!r} needs n, the number of points tested.")
    if multiplicity == "bonferroni":
        return alpha / n
    return float(-np.expm1(np.log1p(-alpha) / n))  # 1 - (1 - alpha)^(1/n), no cancellation


# --------------------------------------------------------------------------- Hardin-Rocke
@dataclass(frozen=True)
class HardinRocke:
    """Parameters of the Hardin & Rocke (2005) F approximation for MCD distances.

    ``c_alpha`` is the consistency factor (robustbase ``.MCDcons(p, h/n)``) by which the raw
    h-subset covariance is multiplied;
    ``m_asymptotic`` the Croux-Haesbroeck (1999) Wishart degrees of freedom;
    ``m`` the small-sample adjusted value used for the cutoff; ``df`` = (p, m - p + 1) and
    ``scale`` = p m / (m - p + 1), so that D^2 / scale ~ F(df).

    Parameters
    ----------
    n : int
        Number of points.
    p : int
        Number of features.
    h : int
        Size of the MCD subset.
    c_alpha : float
        The consistency factor.
    m_asymptotic : float
        Croux-Haesbroeck Wishart degrees of freedom.
    m : float
        Small-sample adjusted degrees of freedom.

    See Also
    --------
    hardin_rocke : Computes it (the usual way to build one).
    cutoff : ``method="hardin_rocke"`` gives its cutoff directly.

    Examples
    --------
    >>> from mahalanobis.inference import hardin_rocke
    >>> hr = hardin_rocke(100, 3)
    >>> hr.h, round(hr.m, 3)
    (52, 14.023)
    """

    n: int
    p: int
    h: int
    c_alpha: float
    m_asymptotic: float
    m: float

    @property
    def df(self) -> tuple[float, float]:
        """Degrees of freedom (p, m - p + 1) of the F distribution of D^2 / :attr:`scale`.

        See Also
        --------
        HardinRocke.scale : The scale factor.

        Examples
        --------
        >>> from mahalanobis.inference import hardin_rocke
        >>> p, d = hardin_rocke(100, 3).df
        >>> p, round(d, 3)
        (3.0, 12.023)
        """
        return float(self.p), self.m - self.p + 1.0

    @property
    def scale(self) -> float:
        """Scale p m / (m - p + 1): D^2 / scale ~ F(:attr:`df`).

        See Also
        --------
        HardinRocke.df : The degrees of freedom.

        Examples
        --------
        >>> from mahalanobis.inference import hardin_rocke
        >>> round(hardin_rocke(100, 3).scale, 4)
        3.4991
        """
        return self.p * self.m / (self.m - self.p + 1.0)

    def cutoff(self, alpha: float = 0.025, *, consistency_corrected: bool = True) -> float:
        """Cutoff for D^2 from the raw MCD scatter with (default) or without its consistency
        factor c_alpha (without it the distances are larger by c_alpha and so is the cutoff).

        Parameters
        ----------
        alpha : float, default 0.025
            Test level (per point).
        consistency_corrected : bool, default True
            Whether the distances come from the scatter multiplied by c_alpha.

        Returns
        -------
        float
            The cutoff on the D^2 scale.

        Raises
        ------
        ValueError
            When ``alpha`` is not in (0, 1).

        See Also
        --------
        cutoff : The same through ``method="hardin_rocke"``.

        Examples
        --------
        >>> from mahalanobis.inference import hardin_rocke
        >>> hr = hardin_rocke(100, 3)
        >>> round(hr.cutoff(0.025), 4), round(hr.cutoff(0.025, consistency_corrected=False), 4)
        (15.6444, 37.0447)
        """
        alpha = _alpha_iv(alpha)
        c = self.scale * stats.f.isf(alpha, *self.df)
        return float(c if consistency_corrected else c * self.c_alpha)


def _mcd_consistency(p: int, fraction: float) -> float:
    """robustbase ``.MCDcons``: fraction / P(chi2_{p+2} <= chi2_{p}^{-1}(fraction))."""
    if fraction >= 1.0:
        return 1.0
    q = stats.chi2.ppf(fraction, p)
    return float(fraction / stats.chi2.cdf(q, p + 2))


def hardin_rocke(n: int, p: int, h: int | None = None) -> HardinRocke:
    """Hardin & Rocke (2005) F approximation for MCD distances of n points in p dimensions.

    The asymptotic degrees of freedom follow Croux & Haesbroeck (1999, Theorem 1 for the normal
    model), as in Hardin & Rocke (2005, Sec. 3.2) with alpha = h/n the retained fraction;
    the small-sample adjustment is their eq. (3.3):
    m = m_asy exp(0.725 - 0.00663 p - 0.0780 ln n), fitted for h = floor((n + p + 1)/2).
    For other h the same adjustment is applied (an extrapolation of their fit).

    Parameters
    ----------
    n : int
        Number of points (n > p + 1).
    p : int
        Number of features.
    h : int, optional
        MCD subset size, between (n + p + 1) // 2 (the default) and n.

    Returns
    -------
    HardinRocke
        The degrees of freedom, scale and cutoffs.

    Raises
    ------
    ValueError
        When n <= p + 1, h is out of range, or the degrees of freedom come out too small.

    See Also
    --------
    cutoff : ``method="hardin_rocke"``.
    cerioli_cutoffs : Cutoffs for the reweighted MCD.

    Examples
    --------
    >>> from mahalanobis.inference import hardin_rocke
    >>> hr = hardin_rocke(100, 3)
    >>> round(hr.c_alpha, 4), round(hr.cutoff(0.025), 4)
    (2.3679, 15.6444)
    """
    p, n, h = _params_iv(p, "hardin_rocke", n,  # type: ignore[assignment]  # None only for chi2
                         (n + p + 1) // 2 if h is None else h)
    assert n is not None and h is not None
    a = h / n
    if h == n:
        c_alpha, m_asy = 1.0, n - 1.0
    else:
        q = stats.chi2.ppf(a, p)
        p2 = stats.chi2.cdf(q, p + 2)
        c_alpha = a / p2
        c3 = -0.5 * stats.chi2.cdf(q, p + 4) if p >= 2 else 0.0
        # Croux & Haesbroeck (1999), Theorem 1 under normality: c4 = 3 c3, b1 = c_a (c3 - c4)/a,
        # b2 = 1/2 + c_a/a (c3 - q/p (c2 + a/2)), c2 = -p2/2; written with c_a/a = 1/p2.
        b1 = -2.0 * c3 / p2
        b2 = 0.5 + (c3 - 0.5 * q * (a - p2) / p) / p2
        z = b1 - p * b2
        v1 = a * b1 * b1 * ((1.0 - a) * (c_alpha * q / p - 1.0) ** 2 - 1.0) \
            - 2.0 * c3 * c_alpha ** 2 * (3.0 * z * z + (p + 2.0) * b2 * (b1 + z))
        v2 = n * c_alpha ** 2 * (b1 * z * a) ** 2
        m_asy = 2.0 / (c_alpha ** 2 * (v1 / v2))
    m = m_asy * np.exp(0.725 - 0.00663 * p - 0.0780 * np.log(n))  # HR (2005) eq. (3.3)
    if m - p + 1 <= 0:
        raise ValueError(f"the Hardin-Rocke degrees of freedom m = {m:.3g} are too small for "
                         f"p = {p}; use more points or a bootstrap cutoff.")
    return HardinRocke(n=n, p=p, h=h, c_alpha=float(c_alpha), m_asymptotic=float(m_asy),
                       m=float(m))


# --------------------------------------------------------------------------- Cerioli
@dataclass(frozen=True)
class CerioliCutoffs:
    """Cerioli (2010) finite-sample cutoffs for reweighted-MCD squared distances.

    ``beta``: cutoff for units used in the reweighting, (m - 1)^2/m Beta_{1-alpha}(p/2,
    (m - p - 1)/2); ``f``: cutoff for the others, (m^2 - 1) p / (m (m - p)) F_{1-alpha}(p, m - p).
    ``alpha`` is the per-unit level after any multiplicity adjustment.

    Parameters
    ----------
    beta : float
        Cutoff for the units used in the reweighting.
    f : float
        Cutoff for the units left out.
    m : int
        Number of units kept by the reweighting step.
    p : int
        Number of features.
    alpha : float
        Per-unit level.
    n : int, optional
        Number of units (when a multiplicity adjustment was asked for).

    See Also
    --------
    cerioli_cutoffs : Computes them (the usual way to build one).

    Examples
    --------
    >>> from mahalanobis.inference import cerioli_cutoffs
    >>> cc = cerioli_cutoffs(3, 90, 0.025)
    >>> round(cc.beta, 4), round(cc.f, 4)
    (9.0164, 10.1475)
    """

    beta: float
    f: float
    m: int
    p: int
    alpha: float
    n: int | None = None

    def cutoffs(self, weights: ArrayLike) -> np.ndarray:
        """The cutoff of each unit: ``beta`` where its reweighting weight is 1, ``f`` where 0.

        Parameters
        ----------
        weights : array-like of 0/1 or bool, shape (n,)
            The reweighting weights (e.g. ``MCDResult.weights``).

        Returns
        -------
        ndarray of shape (n,)
            The cutoff of each unit.

        Raises
        ------
        ValueError
            When the weights are not 0/1.

        See Also
        --------
        CerioliCutoffs.flag : Compare D^2 with them.

        Examples
        --------
        >>> from mahalanobis.inference import cerioli_cutoffs
        >>> cerioli_cutoffs(3, 90, 0.025).cutoffs([1, 1, 0]).round(3)
        array([ 9.016,  9.016, 10.148])
        """
        w = _weights_iv(weights)
        return np.where(w, self.beta, self.f)

    def flag(self, d2: ArrayLike, weights: ArrayLike) -> np.ndarray:
        """Boolean outlier flags: D^2 above the unit's own cutoff.

        Parameters
        ----------
        d2 : array-like of shape (n,)
            Squared distances from the reweighted MCD.
        weights : array-like of 0/1 or bool, shape (n,)
            The reweighting weights.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged unit.

        Raises
        ------
        ValueError
            When the shapes differ or the weights are not 0/1.

        See Also
        --------
        CerioliCutoffs.pvalue : The matching p-values.

        Examples
        --------
        >>> from mahalanobis.inference import cerioli_cutoffs
        >>> cerioli_cutoffs(3, 90, 0.025).flag([5.0, 12.0, 12.0], [1, 1, 0])
        array([False,  True,  True])
        """
        d2 = np.asarray(d2, dtype=float)
        c = self.cutoffs(weights)
        if c.shape != d2.shape:
            raise ValueError(f"d2 has shape {d2.shape} but weights {c.shape}; pass one weight "
                             "per distance.")
        return d2 > c

    def pvalue(self, d2: ArrayLike, weights: ArrayLike) -> np.ndarray:
        """Upper-tail p-values, Beta-based for weight-1 units and F-based for the others.

        Parameters
        ----------
        d2 : array-like of shape (n,)
            Squared distances from the reweighted MCD.
        weights : array-like of 0/1 or bool, shape (n,)
            The reweighting weights.

        Returns
        -------
        ndarray of shape (n,)
            The p-values.

        Raises
        ------
        ValueError
            When the shapes differ or the weights are not 0/1.

        See Also
        --------
        CerioliCutoffs.flag : The flags at level ``alpha``.

        Examples
        --------
        >>> from mahalanobis.inference import cerioli_cutoffs
        >>> cerioli_cutoffs(3, 90, 0.025).pvalue([5.0, 12.0, 12.0], [1, 1, 0]).round(4)
        array([0.1675, 0.0054, 0.012 ])
        """
        d2 = np.asarray(d2, dtype=float)
        w = _weights_iv(weights)
        if w.shape != d2.shape:
            raise ValueError(f"d2 has shape {d2.shape} but weights {w.shape}; pass one weight "
                             "per distance.")
        m, p = self.m, self.p
        pb = stats.beta.sf(d2 * m / (m - 1.0) ** 2, p / 2.0, (m - p - 1) / 2.0)
        pf = stats.f.sf(d2 * m * (m - p) / ((m * m - 1.0) * p), p, m - p)
        return np.where(w, pb, pf)


def _weights_iv(weights: Any) -> np.ndarray:
    w = np.asarray(weights)
    if w.dtype.kind not in "biuf" or not np.isin(w, (0, 1)).all():
        raise ValueError("weights must be 0/1 (or boolean) reweighting weights, one per unit.")
    return w.astype(bool)


def cerioli_cutoffs(p: int, m: int, alpha: float = 0.025, *, n: int | None = None,
                    multiplicity: str | None = None) -> CerioliCutoffs:
    """Both Cerioli (2010) cutoffs (Beta for reweighted units, F for the others); see
    :class:`CerioliCutoffs`. ``m`` is the number of units kept by the reweighting step.

    Parameters
    ----------
    p : int
        Number of features.
    m : int
        Number of units kept by the reweighting step (m > p + 1), e.g.
        ``int(result.weights.sum())`` of an MCD fit.
    alpha : float, default 0.025
        Level per unit, or family-wise with ``multiplicity``.
    n : int, optional
        Number of units tested (needed for ``multiplicity``).
    multiplicity : {None, "bonferroni", "sidak"}
        Family-wise adjustment of alpha over n units.

    Returns
    -------
    CerioliCutoffs
        Both cutoffs, with methods to classify units by their weights.

    Raises
    ------
    ValueError
        When ``alpha`` is not in (0, 1), m <= p + 1, n < m, or ``multiplicity`` lacks n.

    See Also
    --------
    cutoff : ``method="cerioli"`` returns the Beta cutoff alone.
    hardin_rocke : The cutoff for the raw MCD.

    Examples
    --------
    >>> from mahalanobis.inference import cerioli_cutoffs
    >>> cc = cerioli_cutoffs(3, 90, 0.025, n=100, multiplicity="sidak")
    >>> round(cc.alpha, 7)
    0.0002531
    """
    alpha = _alpha_iv(alpha)
    p, n, m = _params_iv(p, "cerioli", n, m)  # type: ignore[assignment]  # None only for chi2
    assert m is not None
    a = _adjust_alpha(alpha, multiplicity, n)
    beta = (m - 1.0) ** 2 / m * stats.beta.isf(a, p / 2.0, (m - p - 1) / 2.0)
    f = (m * m - 1.0) * p / (m * (m - p)) * stats.f.isf(a, p, m - p)
    return CerioliCutoffs(beta=float(beta), f=float(f), m=m, p=p, alpha=a, n=n)


# --------------------------------------------------------------------------- public
def cutoff(p: int, alpha: float = 0.025, *, method: str = "chi2", n: int | None = None,
           h: int | None = None, multiplicity: str | None = None) -> float:
    """Cutoff c for the squared distance: points with D^2 > c are flagged at level alpha.

    Parameters
    ----------
    p : int
        Number of features.
    alpha : float in (0, 1)
        Upper-tail probability (per point, or family-wise with ``multiplicity``).
    method : {"chi2", "beta", "f", "hardin_rocke", "cerioli"}
        Reference distribution; see the module docstring for which D^2 each one is for.
    n : int, optional
        Sample size the centre and scatter came from (needed except for "chi2"; for
        "cerioli" only with ``multiplicity``), and the number of points for ``multiplicity``.
    h : int, optional
        "hardin_rocke": the MCD subset size; "cerioli": m, the number of units kept by the
        reweighting step (the Beta cutoff for those units is returned; see
        :func:`cerioli_cutoffs` for both).
    multiplicity : {None, "bonferroni", "sidak"}
        Family-wise adjustment of alpha over n points.

    Returns
    -------
    float
        The cutoff on the D^2 scale.

    Raises
    ------
    ValueError
        For an unknown method, ``alpha`` outside (0, 1), or a method's missing or too small
        ``n``/``h`` (the message says which).

    See Also
    --------
    pvalue : The matching p-values.
    cerioli_cutoffs : Both Cerioli cutoffs.
    hardin_rocke : The Hardin-Rocke parameters.

    Examples
    --------
    >>> from mahalanobis.inference import cutoff
    >>> round(cutoff(2, 0.05), 3)
    5.991
    >>> round(cutoff(3, 0.025, method="beta", n=50), 4)
    8.7476
    >>> round(cutoff(3, 0.025, multiplicity="bonferroni", n=100), 4)
    19.1879
    """
    alpha = _alpha_iv(alpha)
    method = _method_iv(method)
    p, n, h = _params_iv(p, method, n, h)
    a = _adjust_alpha(alpha, multiplicity, n)
    if method == "chi2":
        return float(stats.chi2.isf(a, p))
    if method == "beta":
        assert n is not None
        # (n - 1)^2 / n * Beta_{1-a}(p/2, (n - p - 1)/2)   (Gnanadesikan & Kettenring 1972)
        return float((n - 1.0) ** 2 / n * stats.beta.isf(a, p / 2.0, (n - p - 1) / 2.0))
    if method == "f":
        assert n is not None
        # p (n + 1)(n - 1) / (n (n - p)) F_{1-a}(p, n - p)   (prediction of a new point)
        return float(p * (n + 1.0) * (n - 1.0) / (n * (n - p)) * stats.f.isf(a, p, n - p))
    if method == "hardin_rocke":
        return hardin_rocke(n, p, h).cutoff(a)  # type: ignore[arg-type]
    assert h is not None
    return cerioli_cutoffs(p, h, a).beta


def pvalue(d2: ArrayLike, p: int, *, method: str = "chi2", n: int | None = None,
           h: int | None = None, nan_policy: str = "raise") -> Any:
    """Upper-tail p-values P(T >= D^2) matching :func:`cutoff` (same ``method``, ``n``, ``h``).

    Computed with survival functions (no 1 - cdf cancellation), so p-values far below 1e-16
    are returned accurately down to the smallest double; beyond that they are 0. Array in,
    array out (a scalar for scalar input); a pandas Series keeps its index. A negative D^2
    within rounding (above -1e-8 times the largest |D^2|, or -1e-8) counts as 0; a more
    negative one is a ValueError (it is not a squared distance). NaN D^2 is a ValueError
    unless ``nan_policy="propagate"``, which gives NaN p-values for them.

    Parameters
    ----------
    d2 : float, array-like or Series
        Squared distances.
    p : int
        Number of features.
    method : {"chi2", "beta", "f", "hardin_rocke", "cerioli"}
        Reference distribution (see :func:`cutoff`).
    n : int, optional
        Sample size the centre and scatter came from (all but "chi2").
    h : int, optional
        "hardin_rocke": the MCD subset size; "cerioli": the units kept by the reweighting.
    nan_policy : {"raise", "propagate"}
        NaN D^2: an error (default), or NaN p-values.

    Returns
    -------
    float, ndarray or Series
        The p-values, shaped like ``d2``.

    Raises
    ------
    ValueError
        For an unknown method, a method's missing or too small ``n``/``h``, NaN (unless
        ``nan_policy="propagate"``) or clearly negative D^2.

    See Also
    --------
    cutoff : The D^2 cutoffs at a level.
    mahalanobis.Metric.pvalue : Chi-squared p-values of a metric's distances.

    Examples
    --------
    >>> from mahalanobis.inference import pvalue
    >>> pvalue([1.0, 7.8, 20.0], 3).round(4)
    array([0.8013, 0.0503, 0.0002])
    >>> pvalue([7.8], 3, method="beta", n=50).round(4)
    array([0.0413])
    """
    method = _method_iv(method)
    p, n, h = _params_iv(p, method, n, h)
    check_nan_policy(nan_policy)
    index = getattr(d2, "index", None) if hasattr(d2, "to_numpy") else None
    try:
        x = np.asarray(d2.to_numpy() if index is not None else d2,  # type: ignore[union-attr]
                       dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"d2 must be an array of squared distances (numbers); got "
                         f"{type(d2).__name__}.") from None
    nan = np.isnan(x)
    if nan.any() and nan_policy != "propagate":
        raise ValueError(f"d2 has {int(nan.sum())} NaN value(s) (positions "
                         f"{np.flatnonzero(nan.ravel())[:5].tolist()}); drop them, or pass "
                         "nan_policy='propagate' to get NaN p-values for them.")
    finite = x[np.isfinite(x)]
    tol = 1e-8 * max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1e-8
    if (x < -tol).any():
        raise ValueError(f"d2 has negative value(s) (smallest {np.nanmin(x):.3g}); squared "
                         "distances are >= 0: pass D^2 (squared=True), not a difference.")
    x = np.maximum(x, 0.0)
    if method == "chi2":
        out = stats.chi2.sf(x, p)
    elif method == "beta":
        assert n is not None
        # n D^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2); D^2 > (n - 1)^2 / n is impossible
        b = np.clip(x * n / (n - 1.0) ** 2, 0.0, 1.0)
        out = stats.beta.sf(b, p / 2.0, (n - p - 1) / 2.0)
    elif method == "f":
        assert n is not None
        out = stats.f.sf(x * n * (n - p) / (p * (n + 1.0) * (n - 1.0)), p, n - p)
    elif method == "hardin_rocke":
        hr = hardin_rocke(n, p, h)  # type: ignore[arg-type]
        out = stats.f.sf(x / hr.scale, *hr.df)
    else:
        assert h is not None
        out = stats.beta.sf(np.clip(x * h / (h - 1.0) ** 2, 0, 1), p / 2.0, (h - p - 1) / 2.0)
    out = np.asarray(out, dtype=float)
    if index is not None:
        import pandas as pd
        return pd.Series(out, index=index, name="pvalue")
    return out[()] if out.ndim == 0 else out
