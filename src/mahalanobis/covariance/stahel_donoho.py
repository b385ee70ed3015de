"""Stahel-Donoho location and scatter, as rrcov's ``CovSde`` (Fortran ``rlds``).

Stahel (1981), Donoho (1982): the outlyingness of a point is the largest, over directions a,
of |a^T x - med(a^T X)| / MAD(a^T X); points are weighted down by their outlyingness and the
weighted mean and covariance are the estimate. As rrcov (Maronna & Yohai 1995): directions
are the normals of hyperplanes through p random points (they include the direction that
exposes a cluster of outliers with high probability), the MAD is modified to use the
(p - 1 + floor((n+1)/2))-th and (p - 1 + floor((n+2)/2))-th order statistics (high breakdown
for every p), the weights are a smooth step W(z / c) with c = sqrt(chi2_p(0.95)), and the
scatter (weighted by w^2) is rescaled by its median distance. Directions are processed in
blocks (one matrix product and two row selections per block).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .. import _linalg
from .._linalg import single_threaded_blas
from .._progress import progress_bar
from .._scale import select_rows
from .._validation import Data, check_bool, check_fraction, check_int, check_random_state
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._mcd_fast import _random_subsets
from ._robust import affine_fit_data, exact_fit_from_scatter, sq_distances

__all__ = ["SDEResult", "stahel_donoho"]

#: rrcov's weight polynomial on (0.8, 1): W(t) = sum_k C_k t^(2k).
_W_COEF = (-19.7187928669416, 82.3045267489739, -105.4526748971229, 42.8669410150906)
#: Cap on the default number of directions (rrcov's rule exceeds it for p >= 11).
MAX_DEFAULT_DIRECTIONS = 10_000
#: Projections held at once (directions x rows).
_BLOCK = 1 << 22


class SDEResult(FitResult):
    """A fitted Stahel-Donoho estimate: a :class:`~mahalanobis.Metric` and its diagnostics.

    Attributes
    ----------
    outlyingness : ndarray of shape (n_samples,)
        The largest standardised projection |a^T x - med| / MAD over the directions used
        (rrcov ``outlyingness`` up to its Phi^-1 approximation, see Notes of
        :func:`stahel_donoho`).
    weights : ndarray of shape (n_samples,)
        W(outlyingness / c): 1 up to 0.8 c, 0 beyond c.
    raw_cov : ndarray
        sum w^2 (x - center)(x - center)^T / sum w^2, before the consistency factor.
    consistency : float
        median(d^2 w.r.t. raw_cov) / chi2_p(0.5), applied to ``cov``.
    tuning_constant : float
        c = sqrt(chi2_p(0.95)) (rrcov ``tune``).
    n_directions, n_attempts : int
        Directions used and subsets drawn (degenerate subsets give no direction).
    breakdown_point : float
        floor((n - p + 1) / 2) / n, the maximal breakdown point of affine-equivariant
        estimators, attained with the modified MAD (Tyler 1994; Zuo, Cui & He 2004).

    See Also
    --------
    stahel_donoho : The estimator that returns it.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="stahel_donoho", random_state=0)
    >>> r.n_directions, bool(r.weights[:5].max() == 0)
    (1000, True)
    """

    _fields = ("outlyingness", "weights", "raw_cov", "consistency", "tuning_constant",
               "n_directions", "n_attempts", "breakdown_point")
    _repr_fields = ("n_directions", "n_outliers")
    outlyingness: np.ndarray
    weights: np.ndarray
    raw_cov: np.ndarray
    consistency: float
    tuning_constant: float
    n_directions: int
    n_attempts: int
    breakdown_point: float

    @property
    def n_outliers(self) -> int:
        """Number of points with weight 0.

        See Also
        --------
        mahalanobis.Metric.outliers : Flag points by a chi-squared cutoff.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6
        >>> mh.fit(X, method="stahel_donoho", random_state=0).n_outliers
        9
        """
        return int(np.sum(np.asarray(self.weights) == 0))


def sde_weights(t: np.ndarray) -> np.ndarray:
    """rrcov's weight function of t = outlyingness / c: 1 for t <= 0.8, 0 for t >= 1 and a
    polynomial in t^2 between (continuous, with zero slopes at both ends)."""
    t2 = t * t
    poly = _W_COEF[0] + t2 * (_W_COEF[1] + t2 * (_W_COEF[2] + t2 * _W_COEF[3]))
    return np.where(t <= 0.8, 1.0, np.where(t >= 1.0, 0.0, poly))


def hyperplane_normals(X: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (k, p) of the hyperplanes through the p points X[idx[j]], and a mask of
    the subsets in general position (rrcov's tolerances: a difference or Gram-Schmidt norm
    below 1e-8 relative makes a subset degenerate)."""
    p = X.shape[1]
    if p == 1:
        return np.ones((idx.shape[0], 1)), np.ones(idx.shape[0], dtype=bool)
    D = X[idx[:, :-1]] - X[idx[:, -1:]]                      # (k, p-1, p)
    nrm = np.linalg.norm(D, axis=2)
    ok = np.all(nrm > 1e-15 * _unit(X), axis=1)  # rrcov's 1e-15, in the data's units
    D = D / np.where(nrm > 0, nrm, 1.0)[:, :, None]
    Q, R = np.linalg.qr(D.transpose(0, 2, 1), mode="complete")   # Q (k, p, p)
    rd = np.abs(np.diagonal(R, axis1=1, axis2=2))
    ok &= np.all(rd > 1e-8, axis=1)
    return Q[:, :, -1], ok


def _unit(X: np.ndarray) -> float:
    """The data's scale (largest |x - median|, 1 for data without spread), so that rrcov's
    absolute tolerances (1e-15) act the same whatever the units."""
    u = float(np.max(np.abs(X - np.median(X, axis=0)))) if X.size else 0.0
    return u if u > 0 and np.isfinite(u) else 1.0


def _ndtri_as(x: float) -> float:
    """Phi^-1 by Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4), rrcov's Fortran."""
    q = x if x <= 0.5 else 1.0 - x
    t = math.sqrt(-2.0 * math.log(q))
    z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / \
        (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
    return z if x > 0.5 else -z


def outlyingness(X: np.ndarray, directions: np.ndarray, *, rrcov_constant: bool = False,
                 out: np.ndarray | None = None) -> np.ndarray:
    """max over the directions (rows, unit vectors) of |a^T x - med| / MAD*, MAD* rrcov's
    modified MAD: the mean of the k1-th and k2-th smallest |a^T x - med| divided by
    Phi^-1((1 + k1/n) / 2) (by the Abramowitz-Stegun approximation with ``rrcov_constant``)."""
    n, p = X.shape
    k1 = (p - 1) + (n + 1) // 2
    k2 = (p - 1) + (n + 2) // 2
    k1c, k2c = min(k1, n), min(k2, n)
    q = (1.0 + k1 / n) / 2.0
    cc = _ndtri_as(q) if rrcov_constant else float(stats.norm.ppf(q))
    z = np.zeros(n) if out is None else out
    tiny = 1e-15 * _unit(X)  # rrcov's absolute 1e-15, taken in the data's units
    step = max(1, _BLOCK // n)
    for a in range(0, directions.shape[0], step):
        B = directions[a:a + step] @ X.T                     # (b, n) projections
        med = select_rows(B, tuple(sorted({(n - 1) // 2, n // 2})))
        m = med.mean(axis=0) if med.shape[0] == 2 else med[0]
        np.subtract(B, m[:, None], out=B)
        np.abs(B, out=B)
        ks = tuple(sorted({k1c - 1, k2c - 1}))
        o = select_rows(B, ks)
        mad = (o[0] + o[-1]) / 2.0 / cc
        mean_dev = B.mean(axis=1)
        use = mean_dev >= tiny
        reg = use & (mad >= 1e-8 * mean_dev)
        if reg.any():
            np.maximum(z, (B[reg] / mad[reg, None]).max(axis=0), out=z)
        for r in np.flatnonzero(use & ~reg):                 # MAD 0: an exact fit
            z[B[r] > 100.0 * mad[r]] = 1e15
    return z


def stahel_donoho(X: ArrayLike, *, n_directions: int | None = None, max_attempts: int | None
                  = None, tune: float = 0.95, random_state: object = None,
                  progress: bool = False, nan_policy: str = "raise") -> SDEResult:
    """Stahel-Donoho location and scatter (Stahel 1981; Donoho 1982), as rrcov ``CovSde``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data.
    n_directions : int, optional
        Directions (hyperplanes through p random points). Default as rrcov: the number of
        p-subsets that holds a clean one with probability 0.99 when half of the data are
        outliers, max(1000, ceil(log(0.01) / log(1 - 0.5^(p+1)))) -- 1000 up to p = 5, 2356
        for p = 8, 9430 for p = 10 -- but at most 10000 (rrcov's rule asks 9.7 million for
        p = 20: hours). Pass a number to use more; in high dimension prefer the MCD or an
        S-estimator, whose random subsets are refined.
    max_attempts : int, optional
        Subsets drawn at most (degenerate ones give no direction); default 2 n_directions.
    tune : float in (0, 1)
        c = sqrt(chi2_p(tune)): points with outlyingness above c get weight 0 (rrcov
        ``tune``, 0.95).
    random_state : None, int or numpy Generator
        Seeds the random subsets behind the directions; the same seed, the same result.
    progress : bool
        Show a progress bar (needs ``mahalanobis[progress]``).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    SDEResult

    Raises
    ------
    ExactFitError
        When the weighted scatter is singular (the points it rests on lie on a hyperplane).
    SingularCovarianceError
        For n <= p + 1.

    See Also
    --------
    mcd, s_estimator, mve

    Notes
    -----
    Stahel, W. A. (1981), Robuste Schaetzungen: infinitesimale Optimalitaet und Schaetzungen
    von Kovarianzmatrizen, PhD thesis, ETH Zurich; Donoho, D. L. (1982), Breakdown properties
    of multivariate location estimators, qualifying paper, Harvard; Maronna, R. A. & Yohai,
    V. J. (1995), The behavior of the Stahel-Donoho robust multivariate estimator, JASA
    90:330-341. Given rrcov's direction subsets, the outlyingness equals rrcov's to rounding
    once rrcov's Abramowitz-Stegun value of Phi^-1((1 + k1/n)/2) (error up to 4.5e-4, e.g.
    0.6746 for 0.6745) replaces the exact quantile used here; the final scatter is rescaled by
    its median distance either way (tests/test_robust_fixtures.py). Random draws cannot match
    R's: the weights agree with rrcov's where the outlyingness is clear of the cutoffs.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> X[:30] = rng.normal(8, 0.3, (30, 3))          # a tight cluster of 15% outliers
    >>> r = mh.fit(X, method="stahel_donoho", random_state=0)
    >>> r.n_directions, bool(r.weights[:30].max() == 0)
    (1000, True)
    >>> bool(np.abs(r.center).max() < 0.3)
    True
    """
    progress = check_bool(progress, "progress")
    tune = check_fraction(tune, "tune")
    data, A = affine_fit_data(X, nan_policy, "stahel_donoho")
    n, p = A.shape
    if n_directions is None:
        n_directions = min(MAX_DEFAULT_DIRECTIONS,
                           max(1000, math.ceil(math.log(0.01) / math.log(1 - 0.5 ** (p + 1)))))
    n_directions = check_int(n_directions, "n_directions", 1)
    max_attempts = 2 * n_directions if max_attempts is None else \
        check_int(max_attempts, "max_attempts", 1)
    rng = check_random_state(random_state)
    c = math.sqrt(stats.chi2.ppf(tune, p))
    med = np.median(A, axis=0)
    Z = A - med                                        # the centre only for accuracy
    # columns brought near unit scale by powers of two (exact): the outlyingness is affine
    # invariant, and its hyperplanes are then found as well whatever each column's units
    top = np.max(np.abs(Z), axis=0)
    Z = Z * 2.0 ** -np.round(np.log2(np.where(top > 0, top, 1.0)))
    z = np.zeros(n)
    used = attempts = 0
    step = max(1, min(max_attempts, _BLOCK // n))
    bar = progress_bar(progress, total=n_directions, desc="Stahel-Donoho", unit="dir")
    try:
        with single_threaded_blas():
            while used < n_directions and attempts < max_attempts:
                k = min(step, max_attempts - attempts, 2 * (n_directions - used) + 8)
                idx = _random_subsets(n, p, k, rng)
                attempts += idx.shape[0]
                dirs, ok = hyperplane_normals(Z, idx)
                dirs = dirs[ok][: n_directions - used]
                outlyingness(Z, dirs, out=z)
                used += dirs.shape[0]
                bar.update(dirs.shape[0])
                if math.comb(n, p) <= attempts:
                    break
    finally:
        bar.close()
    return _finish(A, data, z, c, used, attempts, n, p)


def _finish(A: np.ndarray, data: Data, z: np.ndarray, c: float, used: int, attempts: int,
            n: int, p: int) -> SDEResult:
    w = sde_weights(z / c)
    sw = float(w.sum())
    if sw <= 0:
        raise SingularCovarianceError(
            "every point got weight 0 in the Stahel-Donoho estimate (no direction set "
            "separates a clean half); use more n_directions or method='mcd'.")
    center = (w @ A) / sw
    E = A - center
    w2 = w * w
    raw = (E * w2[:, None]).T @ E / w2.sum()
    raw = (raw + raw.T) / 2
    try:
        d2 = sq_distances(A, center, raw, "Stahel-Donoho scatter")
    except SingularCovarianceError:
        raise exact_fit_from_scatter(A, center, raw, "Stahel-Donoho scatter",
                                     "drop the redundant variable, or use method='mrcd'."
                                     ) from None
    f = float(np.median(d2) / stats.chi2.ppf(0.5, p))
    cov = raw * f
    L = _linalg.cholesky(cov, "Stahel-Donoho scatter")
    return SDEResult._build(
        center, cov=cov, L=L, method="stahel_donoho", n_samples=n, data=data,
        outlyingness=z, weights=w, raw_cov=raw, consistency=f, tuning_constant=float(c),
        n_directions=int(used), n_attempts=int(attempts),
        breakdown_point=((n - p + 1) // 2) / n)
