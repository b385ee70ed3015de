"""MM-estimator of location and scatter, as rrcov's ``CovMMest``.

Tatsuoka & Tyler (2000); Salibian-Barrera, Van Aelst & Willems (2006). Start from an
S-estimate (breakdown point 0.5, scale s, shape V0); then, with s held fixed, minimise
mean rho_c1(d_i / s) over centres and det-1 shapes with a second bisquare whose larger
constant c1 gives the shape (or the location) a Gaussian efficiency of 95%. The breakdown
point is the S-estimate's; the efficiency is the M-step's. The minimisation is iteratively
reweighted least squares, which lowers the loss at every step (Maronna, Martin & Yohai 2006,
Sect. 6.7); here it runs to convergence, where rrcov stops when the loss changes by less
than 1e-7 (absolute) or after 50 steps.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .._linalg import single_threaded_blas
from .._validation import check_bool, check_choice, check_fraction
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._rho import (
    bisquare_location_efficiency,
    bisquare_rho,
    bisquare_weight,
    mm_constant,
    shape_efficiency,
)
from ._robust import (
    affine_fit_data,
    sq_distances,
    sq_distances_fast,
    unit_det,
    weighted_mean_cov,
)
from .s_estimator import SResult, s_estimator

__all__ = ["MMResult", "mm_estimator"]

MAX_ITER = 1000
TOL = 1e-13


class MMResult(FitResult):
    """A fitted MM-estimate: a :class:`~mahalanobis.Metric` (``center``, ``cov`` = s^2 shape)
    and its diagnostics.

    Attributes
    ----------
    objective : float
        The M-loss mean rho_c1(d_i / s) at the estimate (at most that of the S start).
    scale : float
        s, the S-scale of the start, held fixed (rrcov's ``crit``).
    shape : ndarray
        The det-1 shape.
    weights : ndarray of shape (n_samples,)
        Final IRWLS weights (1 - (u/c1)^2)^2, u = d / s.
    tuning_constant : float
        c1 (rrcov ``c1``).
    efficiency, shape_efficiency : float
        Asymptotic Gaussian efficiencies of the location and of the shape.
    breakdown_point : float
        Of the S start (the MM keeps it).
    n_iterations : int
    converged : bool
    reverted_to_s : bool
        The M-steps did not lower the loss and the S-estimate was returned (never expected;
        rrcov's safeguard).
    initial : SResult
        The S-estimate it started from.

    See Also
    --------
    mm_estimator : The estimator that returns it.
    SResult : The S-estimate it starts from.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="mm_estimator", random_state=0)
    >>> round(r.efficiency, 2), r.initial.method, bool(r.weights[:5].max() == 0)
    (0.97, 's_estimator', True)
    """

    _fields = ("objective", "scale", "shape", "weights", "tuning_constant", "efficiency",
               "shape_efficiency", "breakdown_point", "n_iterations", "converged",
               "reverted_to_s", "initial")
    _repr_fields = ("efficiency", "scale", "objective", "n_iterations")
    objective: float
    scale: float
    shape: np.ndarray
    weights: np.ndarray
    tuning_constant: float
    efficiency: float
    shape_efficiency: float
    breakdown_point: float
    n_iterations: int
    converged: bool
    reverted_to_s: bool
    initial: SResult


def _loss(A: np.ndarray, mu: np.ndarray, V: np.ndarray, s: float, c1: float
          ) -> tuple[float, np.ndarray]:
    d = np.sqrt(sq_distances_fast(A, mu, V)[0])
    return float(np.mean(bisquare_rho(d / s, c1))), d


def mm_iterate(A: np.ndarray, mu: np.ndarray, V: np.ndarray, s: float, c1: float, *,
               max_iter: int = MAX_ITER, tol: float = TOL, rrcov_stop: bool = False
               ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int, bool]:
    """M-steps with the scale s fixed from (mu, det-1 V): w = psi(u)/u, weighted mean and
    det-1 weighted scatter. Stops when centre and shape change by less than ``tol``
    (relative); ``rrcov_stop`` reproduces rrcov 1.7-2 instead (stop when the loss falls by no
    more than ``tol`` absolute, after at most ``max_iter`` steps). Returns (mu, V, loss,
    distances, iterations, converged)."""
    L_old, d = _loss(A, mu, V, s, c1)
    for it in range(1, max_iter + 1):
        w = bisquare_weight(d / s, c1)
        m1, V1 = weighted_mean_cov(A, w, 1.0)
        try:
            V1 = unit_det(V1)
            L_new, d1 = _loss(A, m1, V1, s, c1)
        except SingularCovarianceError:
            return mu, V, L_old, d, it, False
        # the centre's change relative to its size plus the data's spread (s sqrt(V_ii), in
        # the data's units): the same stop whatever the units
        spread = s * math.sqrt(float(np.max(np.diag(V))))
        change = max(float(np.max(np.abs(m1 - mu))) / (spread + float(np.max(np.abs(mu)))),
                     float(np.max(np.abs(V1 - V))) / float(np.max(np.abs(V))))
        mu, V, d = m1, V1, d1
        if rrcov_stop:
            if L_old - L_new <= tol:
                return mu, V, L_new, d, it, True
        elif change <= tol:
            return mu, V, L_new, d, it, True
        L_old = L_new
    return mu, V, L_old, d, max_iter, False


def mm_estimator(X: ArrayLike, *, efficiency: float = 0.95, efficiency_of: str = "shape",
                 breakdown_point: float = 0.5, n_starts: int = 500, random_state: object = None,
                 progress: bool = False, nan_policy: str = "raise") -> MMResult:
    """MM-estimate of location and scatter (Tatsuoka & Tyler 2000), as rrcov ``CovMMest``.

    High breakdown point (that of its S start, 0.5 by default) and high Gaussian efficiency
    (95% by default): the robust estimator to use when the data are mostly normal.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data.
    efficiency : float in (0, 1)
        Gaussian efficiency the second bisquare is tuned for (rrcov ``eff``, 0.95).
    efficiency_of : {"shape", "location"}
        Tune the shape's efficiency (rrcov's default ``eff.shape = TRUE``) or the location's.
    breakdown_point : float in (0, 0.5]
        Of the S start (rrcov ``bdp``).
    n_starts : int
        Random subsets of the fast-S start (rrcov ``nsamp``).
    random_state : None, int or numpy Generator
        Seeds the random starts; the same seed gives the same result.
    progress : bool
        Show a progress bar for the S start (needs ``mahalanobis[progress]``).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    MMResult

    Raises
    ------
    ExactFitError, SingularCovarianceError
        As :func:`s_estimator` (exact fit; n <= p + 1).

    See Also
    --------
    s_estimator, mcd

    Notes
    -----
    Tatsuoka, K. S. & Tyler, D. E. (2000), On the uniqueness of S-functionals and
    M-functionals under nonelliptical distributions, Ann. Statist. 28:1219-1243;
    Salibian-Barrera, M., Van Aelst, S. & Willems, G. (2006), PCA based on multivariate
    MM-estimators with fast and robust bootstrap, JASA 101:1198-1211 (the constants, rrcov
    ``.csolve.bw.MM``). Started at rrcov's S estimate, rrcov's stopping rule reproduces its
    result to rounding; iterated to convergence the estimate moves by about 1e-6
    (tests/test_robust_fixtures.py).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(1)
    >>> X = rng.standard_normal((300, 4))
    >>> X[:30] += 12                                   # 10% far outliers
    >>> r = mh.fit(X, method="mm_estimator", random_state=0)
    >>> round(r.efficiency, 3), round(r.shape_efficiency, 3), r.breakdown_point
    (0.966, 0.95, 0.5)
    >>> bool(np.abs(r.center).max() < 0.25), bool(r.weights[:30].max() == 0)
    (True, True)
    """
    progress = check_bool(progress, "progress")
    efficiency = check_fraction(efficiency, "efficiency")
    check_choice(efficiency_of, "efficiency_of", ("shape", "location"))
    data, A = affine_fit_data(X, nan_policy, "mm_estimator")
    n, p = A.shape
    S = s_estimator(A, breakdown_point=breakdown_point, n_starts=n_starts,
                    random_state=random_state, progress=progress)
    c1 = mm_constant(p, efficiency, shape=efficiency_of == "shape")
    s = float(S.objective)
    mu0, V0 = np.asarray(S.center), np.asarray(S.shape)
    with single_threaded_blas():   # small products in a loop: one BLAS thread is faster
        L0, _ = _loss(A, mu0, V0, s, c1)
        mu, V, L, d, n_iter, converged = mm_iterate(A, mu0, V0, s, c1)
    reverted = L > L0
    if reverted:  # pragma: no cover - rrcov's safeguard; the M-steps lower the loss
        mu, V, L = mu0, V0, L0
        d = np.sqrt(sq_distances(A, mu, V))
    cov = s * s * V
    return MMResult._build(
        mu, cov=(cov + cov.T) / 2, method="mm_estimator", n_samples=n, data=data,
        objective=float(L), scale=s, shape=V, weights=bisquare_weight(d / s, c1),
        tuning_constant=float(c1), efficiency=float(bisquare_location_efficiency(p, c1)),
        shape_efficiency=float(shape_efficiency(p, c1)), breakdown_point=float(breakdown_point),
        n_iterations=int(n_iter), converged=bool(converged), reverted_to_s=bool(reverted),
        initial=S)
